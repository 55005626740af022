/*
 * winograd_transform.c — the input and output transforms of Winograd F(4x4, 3x3) over
 * planes of tile slots (see winograd_transform.h for the layout, docs/winograd.md for the
 * algebra). The matrices come from the Toom-Cook construction with interpolation points
 * 0, 1, -1, 1/2, -2 and infinity:
 *
 *   B^T = [ 1 -3/2  -2  3/2   1  0 ]        A^T = [ 1  1  1   1    1  0 ]
 *         [ 0  -1  1/2  5/2   1  0 ]              [ 0  1 -1  1/2  -2  0 ]
 *         [ 0   1 -5/2  1/2   1  0 ]              [ 0  1  1  1/4   4  0 ]
 *         [ 0  -2   -1    2   1  0 ]              [ 0  1 -1  1/8  -8  1 ]
 *         [ 0  1/2  -1 -1/2   1  0 ]
 *         [ 0   1 -3/2   -2 3/2  1 ]
 *
 * rather than Lavin & Gray's 0, 1, -1, 2, -2: same cost, and about half the rounding
 * error. (How the points drive the error: Barabasz et al., "Error analysis and improving
 * the accuracy of Winograd convolution for deep neural networks", ACM TOMS 2020. We picked
 * this set among six simulated in numpy, fp32 against float64; docs/winograd.md.) Measured
 * with bench/winograd_bench against a double direct conv: at most 4.6e-6 of max|out| over
 * the zoo's shapes (1.1e-5 with 0, +-1, +-2, 2.1x more on average; im2col + SGEMM: 9e-7).
 *
 * Each 2-D transform is two 1-D passes (columns, then rows), each a loop over the tile
 * slots with the matrix written out term by term (6 inputs, 6 or 4 outputs per slot),
 * which the compiler vectorises across slots.
 */
#include "winograd_transform.h"

#include <string.h>

#include "epilogue.h"

/* The loops below read and write several planes of one buffer through pointers the
 * compiler cannot prove disjoint (more than GCC's 10 run-time alias checks), so they say
 * so: without this they stay scalar. */
#if defined(__clang__)
#define WG_NO_ALIAS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define WG_NO_ALIAS _Pragma("GCC ivdep")
#else
#define WG_NO_ALIAS
#endif

/* Without -march=native (a portable build) GCC and clang on x86-64 compile each of the
 * loops below three times, for AVX-512, AVX2 and the baseline, and pick one at load time
 * from CPUID (an ifunc); with -march=native the one native version is built. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__AVX512F__) && \
    defined(__has_attribute)
#if __has_attribute(target_clones)
#define WG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef WG_CLONES
#define WG_CLONES
#endif

/* ---- gather --------------------------------------------------------------- */

size_t wg_gather_scratch_floats(int n)
{
    return (size_t)WG_M * n + 2;
}

WG_CLONES void wg_gather_patches(const wg_band *b, const float *plane, float *d, size_t stride,
                       float *line)
{
    const int len = WG_M * b->n + 2; /* input columns the band's patches cover */
    const int x0 = WG_M * b->tx0 - b->pad_w;
    for (int r = 0; r < WG_T; r++) {
        const int iy = WG_M * b->ty - b->pad_h + r;
        float *restrict dr = d + (size_t)r * WG_T * stride;
        if (iy < 0 || iy >= b->h) {
            for (int c = 0; c < WG_T; c++)
                memset(dr + c * stride, 0, (size_t)b->n * sizeof(float));
            continue;
        }
        const float *src = plane + (size_t)iy * b->w;
        const float *restrict row;
        if (x0 >= 0 && x0 + len <= b->w) {
            row = src + x0; /* interior: read the image directly */
        } else {
            int lo = x0 < 0 ? -x0 : 0;                  /* first column inside */
            int hi = b->w - x0 < len ? b->w - x0 : len; /* one past the last */
            if (hi < lo)
                hi = lo;
            memset(line, 0, (size_t)lo * sizeof(float));
            memcpy(line + lo, src + x0 + lo, (size_t)(hi - lo) * sizeof(float));
            memset(line + hi, 0, (size_t)(len - hi) * sizeof(float));
            row = line;
        }
        float *d0 = dr, *d1 = dr + stride, *d2 = dr + 2 * stride;
        float *d3 = dr + 3 * stride, *d4 = dr + 4 * stride, *d5 = dr + 5 * stride;
        WG_NO_ALIAS
        for (int k = 0; k < b->n; k++) {
            const float *x = row + WG_M * k; /* patches overlap: columns 4k .. 4k + 5 */
            d0[k] = x[0];
            d1[k] = x[1];
            d2[k] = x[2];
            d3[k] = x[3];
            d4[k] = x[4];
            d5[k] = x[5];
        }
    }
}

/* ---- input transform ------------------------------------------------------ */

/* One 1-D pass of B^T over nq slots: out[j * os] = sum_x B^T[j][x] in[x * is]. */
WG_CLONES static void input_pass(const float *in, size_t is, float *out, size_t os, int nq)
{
    const float *d0 = in, *d1 = in + is, *d2 = in + 2 * is;
    const float *d3 = in + 3 * is, *d4 = in + 4 * is, *d5 = in + 5 * is;
    float *o0 = out, *o1 = out + os, *o2 = out + 2 * os;
    float *o3 = out + 3 * os, *o4 = out + 4 * os, *o5 = out + 5 * os;
    WG_NO_ALIAS
    for (int q = 0; q < nq; q++) {
        float x0 = d0[q], x1 = d1[q], x2 = d2[q], x3 = d3[q], x4 = d4[q], x5 = d5[q];
        o0[q] = x0 - 1.5f * x1 - 2.0f * x2 + 1.5f * x3 + x4;
        o1[q] = -x1 + 0.5f * x2 + 2.5f * x3 + x4;
        o2[q] = x1 - 2.5f * x2 + 0.5f * x3 + x4;
        o3[q] = -2.0f * x1 - x2 + 2.0f * x3 + x4;
        o4[q] = 0.5f * x1 - x2 - 0.5f * x3 + x4;
        o5[q] = x1 - 1.5f * x2 - 2.0f * x3 + 1.5f * x4 + x5;
    }
}

void wg_input_transform(const float *d, int nq, float *v, size_t v_stride, float *tmp)
{
    const size_t s = (size_t)nq;
    /* columns: tmp[j][c] = sum_r B^T[j][r] d[r][c] */
    for (int c = 0; c < WG_T; c++)
        input_pass(d + c * s, WG_T * s, tmp + c * s, WG_T * s, nq);
    /* rows: v[j][i] = sum_c B^T[i][c] tmp[j][c] */
    for (int j = 0; j < WG_T; j++)
        input_pass(tmp + j * WG_T * s, s, v + j * WG_T * v_stride, v_stride, nq);
}

/* ---- output transform ----------------------------------------------------- */

/* One 1-D pass of A^T over nq slots: out[a * os] = sum_x A^T[a][x] in[x * is]. */
WG_CLONES static void output_pass(const float *in, size_t is, float *out, size_t os, int nq)
{
    const float *m0 = in, *m1 = in + is, *m2 = in + 2 * is;
    const float *m3 = in + 3 * is, *m4 = in + 4 * is, *m5 = in + 5 * is;
    float *o0 = out, *o1 = out + os, *o2 = out + 2 * os, *o3 = out + 3 * os;
    WG_NO_ALIAS
    for (int q = 0; q < nq; q++) {
        float s12 = m1[q] + m2[q], d12 = m1[q] - m2[q];
        o0[q] = m0[q] + s12 + m3[q] + m4[q];
        o1[q] = d12 + 0.5f * m3[q] - 2.0f * m4[q];
        o2[q] = s12 + 0.25f * m3[q] + 4.0f * m4[q];
        o3[q] = d12 + 0.125f * m3[q] - 8.0f * m4[q] + m5[q];
    }
}

void wg_output_transform(const float *m, size_t m_stride, int nq, float *y, float *tmp)
{
    const size_t s = (size_t)nq;
    /* columns: tmp[a][i] = sum_j A^T[a][j] M[j][i] */
    for (int i = 0; i < WG_T; i++)
        output_pass(m + i * m_stride, WG_T * m_stride, tmp + i * s, WG_T * s, nq);
    /* rows: y[a][b] = sum_i A^T[b][i] tmp[a][i] */
    for (int a = 0; a < WG_M; a++)
        output_pass(tmp + a * WG_T * s, s, y + a * WG_M * s, s, nq);
}

WG_CLONES void wg_scatter_tiles(const wg_band *b, const float *y, size_t stride, float bias,
                                const float *res_plane, dc_act act, float *out_plane)
{
    const int x0 = WG_M * b->tx0;
    const int count = b->ow - x0 < WG_M * b->n ? b->ow - x0 : WG_M * b->n;
    const int full = count / WG_M; /* tiles lying wholly inside the output */
    for (int a = 0; a < WG_M; a++) {
        const int oy = WG_M * b->ty + a;
        if (oy >= b->oh)
            break;
        const float *y0 = y + (size_t)a * WG_M * stride, *y1 = y0 + stride;
        const float *y2 = y1 + stride, *y3 = y2 + stride;
        float *restrict row = out_plane + (size_t)oy * b->ow + x0;
        WG_NO_ALIAS
        for (int k = 0; k < full; k++) {
            row[4 * k] = y0[k];
            row[4 * k + 1] = y1[k];
            row[4 * k + 2] = y2[k];
            row[4 * k + 3] = y3[k];
        }
        for (int x = WG_M * full; x < count; x++) /* the clipped edge tile */
            row[x] = y0[(size_t)(x % WG_M) * stride + x / WG_M];
        if (res_plane) {
            const float *restrict res = res_plane + (size_t)oy * b->ow + x0;
            for (int x = 0; x < count; x++)
                row[x] += res[x];
        }
        dc_bias_act_row(row, (size_t)count, bias, act);
    }
}
