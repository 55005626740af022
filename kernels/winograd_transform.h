/*
 * winograd_transform.h — internal to kernels/: the input and output transforms of Winograd
 * F(4x4, 3x3) over one "band" of tiles, i.e. n consecutive tiles of one tile row of one
 * channel. kernels/winograd.c drives them around the 36 GEMMs; docs/winograd.md explains
 * the matrices.
 *
 * Both transforms keep the n tiles side by side in the innermost dimension, so every
 * arithmetic loop runs over k = 0..n-1 with unit stride and vectorises (16 tiles per
 * AVX-512 register). The 6x6 input patches overlap by 2 columns: the band's input rows are
 * split into 4 "phase planes" (column x = 4k + p goes to plane p, index k), after which the
 * 6 columns of tile k are planes 0..3 at k and planes 0..1 at k + 1, all unit-stride loads.
 */
#ifndef DC_KERNELS_WINOGRAD_TRANSFORM_H
#define DC_KERNELS_WINOGRAD_TRANSFORM_H

#include <stddef.h>

#include "kernels.h"

/* Tile and patch sizes of F(4x4, 3x3). */
enum { WG_M = 4, WG_T = 6, WG_POS = WG_T * WG_T };

/* Scratch floats the two band transforms need for bands of at most n tiles. */
size_t wg_band_scratch_floats(int n);

/* Geometry of one band: tiles (ty, tx0 .. tx0 + n - 1) of a [h][w] plane padded by
 * (pad_h, pad_w); the output plane is [oh][ow]. */
typedef struct {
    int h, w, pad_h, pad_w;
    int oh, ow;
    int ty, tx0, n;
} wg_band;

/* Input transform V = B^T d B (Lavin & Gray eq. 8) of the band's n tiles of one input
 * channel plane [h][w], zero outside the image:
 *   v[p * pos_stride + k] = V_k[p / 6][p % 6]   for p < 36, k < n. */
void wg_input_band(const wg_band *b, const float *plane, float *v, size_t pos_stride,
                   float *scratch);

/* Output transform Y = A^T M A of the band's n tiles of one output channel, reading
 *   m[p * pos_stride + k] = M_k[p / 6][p % 6],
 * and writing act(Y + bias) into out_plane [oh][ow], only where the 4x4 tile lies inside
 * the output (edge tiles are clipped). */
void wg_output_band(const wg_band *b, const float *m, size_t pos_stride, float bias,
                    dc_act act, float *out_plane, float *scratch);

#endif /* DC_KERNELS_WINOGRAD_TRANSFORM_H */
