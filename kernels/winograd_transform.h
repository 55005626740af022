/*
 * winograd_transform.h — internal to kernels/: the input and output transforms of Winograd
 * F(4x4, 3x3). kernels/winograd.c drives them around the 36 GEMMs; docs/winograd.md
 * explains the matrices.
 *
 * Layout. A "tile slot" q numbers the (channel, tile) pairs of a block of nb tiles,
 * q = channel * nb + (tile - first tile of the block): exactly the column order of one
 * position's GEMM operand V[p] [cin][nb] (and of its result M[p] [cout][nb]). Patches and
 * transformed tiles are stored as 36 planes indexed by q, plane (row * 6 + column) of the
 * 6x6 matrix, so each transform is a loop over q with unit stride that vectorises, however
 * few tiles a map has (a 7x7 map has 4 tiles, but cin * 4 slots).
 *
 * Steps: wg_gather_patches (input rows -> 36 planes, zero outside the image),
 * wg_input_transform (V = B^T d B), ... GEMMs ..., wg_output_transform (Y = A^T M A, 16
 * planes), wg_scatter_tiles (16 planes -> output rows, clipped, + bias, act).
 */
#ifndef DC_KERNELS_WINOGRAD_TRANSFORM_H
#define DC_KERNELS_WINOGRAD_TRANSFORM_H

#include <stddef.h>

#include "kernels.h"

/* Tile and patch sizes of F(4x4, 3x3). */
enum { WG_M = 4, WG_T = 6, WG_POS = WG_T * WG_T };

/* G of F(4, 3), the filter's transform (the matrices: winograd_transform.c): U = G g G^T
 * in two dimensions (winograd.c), G g down one column (small_conv_wino.c). */
extern const double wg_g[WG_T][3];

/* A band: the n consecutive tiles (ty, tx0 .. tx0 + n - 1) of one tile row, of a [h][w]
 * input plane padded by (pad_h, pad_w) whose output plane is [oh][ow]. */
typedef struct {
    int h, w, pad_h, pad_w;
    int oh, ow;
    int ty, tx0, n;
} wg_band;

/* d[(r * 6 + c) * stride + k] = plane[4 ty - pad_h + r][4 (tx0 + k) - pad_w + c] (0 outside
 * the image) for r, c < 6 and k < n: the 6x6 input patches of the band's tiles. */
void wg_gather_patches(const wg_band *b, const float *plane, float *d, size_t stride);

/* One tile for wg_gather_tiles: its input plane and the input row and column of its
 * patch's top-left corner (negative inside the padding); for wg_scatter_tile_list its
 * output plane and output pixel. */
typedef struct {
    const float *plane;
    int iy0, ix0;
} wg_tile;

/* As wg_gather_patches for n tiles anywhere (of [h][w] planes): d[(r * 6 + c) * stride + k]
 * is tiles[k]'s patch at (r, c), 0 outside the image. */
void wg_gather_tiles(const wg_tile *tiles, int n, int h, int w, float *d, size_t stride);

/* As wg_scatter_tiles for n tiles anywhere: tiles[k].plane is the output plane of tile k
 * and (iy0, ix0) its top-left output pixel in the [oh][ow] map; res_planes (NULL: none)
 * the residual plane of each. */
void wg_scatter_tile_list(const wg_tile *tiles, const float *const *res_planes, int n,
                          int oh, int ow, const float *y, size_t stride, float bias,
                          dc_act act);

/* v[p * v_stride + q] = (B^T d_q B)[p / 6][p % 6] for q < nq, from d as above (stride nq);
 * tmp holds 36 nq floats. */
void wg_input_transform(const float *d, int nq, float *v, size_t v_stride, float *tmp);

/* y[(a * 4 + b) * nq + q] = (A^T M_q A)[a][b] for q < nq, where
 * M_q[p / 6][p % 6] = m[p * m_stride + q]; tmp holds 24 nq floats. */
void wg_output_transform(const float *m, size_t m_stride, int nq, float *y, float *tmp);

/* Writes act(y + bias + res) of the band's n tiles (y[(a * 4 + b) * stride + k]) into
 * out_plane [oh][ow], only where a tile lies inside the output (edge tiles are clipped);
 * res_plane is a map shaped like out_plane (a fused residual add) or NULL. */
void wg_scatter_tiles(const wg_band *b, const float *y, size_t stride, float bias,
                      const float *res_plane, dc_act act, float *out_plane);

#endif /* DC_KERNELS_WINOGRAD_TRANSFORM_H */
