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

#include <stdint.h>
#include <string.h>

/* G: row j evaluates the filter polynomial g0 + g1 x + g2 x^2 at the point a_j of 0, 1, -1,
 * 1/2, -2, divided by prod_{l != j} (a_j - a_l); the last row takes its leading coefficient
 * (the point at infinity). */
const double wg_g[WG_T][3] = {
    { 1.0, 0.0, 0.0 },
    { 1.0 / 3, 1.0 / 3, 1.0 / 3 },
    { -1.0 / 3, 1.0 / 3, -1.0 / 3 },
    { -16.0 / 15, -8.0 / 15, -4.0 / 15 },
    { 1.0 / 15, -2.0 / 15, 4.0 / 15 },
    { 0.0, 0.0, 1.0 },
};

#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <xmmintrin.h>
#endif

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

/* On AVX-512 machines GCC vectorises for 256-bit registers unless told otherwise
 * (-mprefer-vector-width=256 is its default there); the passes below, loops over many
 * slots, run a third faster on 512 (one thread, 128 slots: the input transform 18 -> 11
 * cycles per slot, the output transform 8.5 -> 5.4). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
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

/* Column x of a row w wide, 0 outside it (the conv's zero padding). */
static inline float column_at(const float *row, int w, int x)
{
    return x >= 0 && x < w ? row[x] : 0.0f;
}

#if defined(__SSE2__)
/* Columns x .. x + 3 of a row w wide, 0 outside it: one load inside the row, built one
 * column at a time where the four straddle its edge. (Read straight from the row: copying
 * the row into a padded buffer first made every load wait for the copy's stores.) */
static inline __m128 columns4(const float *row, int w, int x)
{
    if (x >= 0 && x + 4 <= w)
        return _mm_loadu_ps(row + x);
    return _mm_setr_ps(column_at(row, w, x), column_at(row, w, x + 1),
                       column_at(row, w, x + 2), column_at(row, w, x + 3));
}
#endif

#if defined(__AVX__)
/* _MM_TRANSPOSE4_PS in each 128-bit lane of v[0..3]. */
static inline void transpose4x4_lanes(__m256 *v)
{
    const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    v[0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    v[1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    v[2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    v[3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
}
#endif

#if defined(__AVX512F__)
/* Bit i set where column x + i (i < n <= 16) lies in a row w wide: the mask of a load of
 * columns x .. x + n - 1 whose lanes outside the row read nothing and are 0. */
static inline unsigned columns_inside(int w, long x, int n)
{
    const long lo = x < 0 ? (-x < n ? -x : n) : 0;
    const long hi = w - x < n ? (w - x > 0 ? w - x : 0) : n;
    return ((1u << hi) - 1u) & ~((1u << lo) - 1u);
}

/* p + n floats, formed without pointer arithmetic (p + n may lie outside the array: the
 * masked loads read only lanes inside it). */
static inline const float *wg_shift(const float *p, long n)
{
    return (const float *)((uintptr_t)p + (uintptr_t)(n * (long)sizeof(float)));
}
#endif

/* The column masks of a band: lanes[i] says which of the columns x0 + 4i .. x0 + 4i + 3
 * lie in the row, computed once for the band's six rows. With AVX-512VL each load is then
 * one masked load, with no bounds check or branch; elsewhere (lanes unused) columns4. */
enum { WG_BAND_LANES = 64 }; /* tiles of a band taken at once: lanes[0 .. 64] */
#if defined(__AVX512F__) && defined(__AVX512VL__)
typedef __mmask8 wg_lanes;

static inline wg_lanes lanes4(int w, int x)
{
    return (wg_lanes)columns_inside(w, x, 4);
}
#else
typedef unsigned char wg_lanes;

static inline wg_lanes lanes4(int w, int x)
{
    (void)w, (void)x;
    return 0;
}
#endif

#if defined(__SSE2__)
/* Columns x0 + 4i .. + 3 of the row, 0 outside it, lanes[i] their mask. */
static inline __m128 band_columns(const float *row, int w, int x0, const wg_lanes *lanes, int i)
{
#if defined(__AVX512F__) && defined(__AVX512VL__)
    (void)w;
    return _mm_maskz_loadu_ps(lanes[i], wg_shift(row, (long)x0 + 4L * i));
#else
    (void)lanes;
    return columns4(row, w, x0 + 4 * i);
#endif
}
#endif

/* d[c * stride + k] = column x0 + 4k + c of the row, for c < 6 and k < n: row r of the
 * 6x6 patches of n consecutive tiles. Four tiles at a time, their 16 columns are a 4x4
 * transpose (columns 0..3 of each patch) plus columns 0 and 1 of the next four (columns 4
 * and 5: patches overlap by two). */
static void gather_row(const float *row, int w, int x0, int n, const wg_lanes *lanes, float *d,
                       size_t stride)
{
    (void)lanes; /* read by band_columns only (SSE) */
    float *restrict d0 = d, *restrict d1 = d + stride, *restrict d2 = d + 2 * stride;
    float *restrict d3 = d + 3 * stride, *restrict d4 = d + 4 * stride;
    float *restrict d5 = d + 5 * stride;
    int k = 0;
#if defined(__AVX__)
    /* eight tiles at a time: the same shuffles in the two 128-bit lanes of a ymm, tiles
     * k .. k + 3 in the low lane and k + 4 .. k + 7 in the high one */
    for (; k + 8 <= n; k += 8) {
        __m256 v[5];
        for (int j = 0; j < 5; j++)
            v[j] = _mm256_set_m128(band_columns(row, w, x0, lanes, k + 4 + j),
                                   band_columns(row, w, x0, lanes, k + j));
        const __m256 lo12 = _mm256_unpacklo_ps(v[1], v[2]);
        const __m256 lo34 = _mm256_unpacklo_ps(v[3], v[4]);
        _mm256_storeu_ps(d4 + k, _mm256_shuffle_ps(lo12, lo34, _MM_SHUFFLE(1, 0, 1, 0)));
        _mm256_storeu_ps(d5 + k, _mm256_shuffle_ps(lo12, lo34, _MM_SHUFFLE(3, 2, 3, 2)));
        transpose4x4_lanes(v);
        _mm256_storeu_ps(d0 + k, v[0]);
        _mm256_storeu_ps(d1 + k, v[1]);
        _mm256_storeu_ps(d2 + k, v[2]);
        _mm256_storeu_ps(d3 + k, v[3]);
    }
#endif
#if defined(__SSE2__)
    for (; k + 4 <= n; k += 4) {
        __m128 v0 = band_columns(row, w, x0, lanes, k);
        __m128 v1 = band_columns(row, w, x0, lanes, k + 1);
        __m128 v2 = band_columns(row, w, x0, lanes, k + 2);
        __m128 v3 = band_columns(row, w, x0, lanes, k + 3);
        const __m128 v4 = band_columns(row, w, x0, lanes, k + 4);
        const __m128 lo12 = _mm_unpacklo_ps(v1, v2), lo34 = _mm_unpacklo_ps(v3, v4);
        _mm_storeu_ps(d4 + k, _mm_movelh_ps(lo12, lo34)); /* v1[0] v2[0] v3[0] v4[0] */
        _mm_storeu_ps(d5 + k, _mm_movehl_ps(lo34, lo12)); /* v1[1] v2[1] v3[1] v4[1] */
        _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
        _mm_storeu_ps(d0 + k, v0);
        _mm_storeu_ps(d1 + k, v1);
        _mm_storeu_ps(d2 + k, v2);
        _mm_storeu_ps(d3 + k, v3);
    }
#endif
    for (; k < n; k++) {
        const int x = x0 + WG_M * k;
        if (x >= 0 && x + WG_T <= w) { /* inside the row: no bounds to check */
            d0[k] = row[x], d1[k] = row[x + 1], d2[k] = row[x + 2];
            d3[k] = row[x + 3], d4[k] = row[x + 4], d5[k] = row[x + 5];
            continue;
        }
        d0[k] = column_at(row, w, x);
        d1[k] = column_at(row, w, x + 1);
        d2[k] = column_at(row, w, x + 2);
        d3[k] = column_at(row, w, x + 3);
        d4[k] = column_at(row, w, x + 4);
        d5[k] = column_at(row, w, x + 5);
    }
}

#if defined(__AVX512F__)
/* Which of the columns x .. x + 15 lie in a row w wide. */
static inline __mmask16 lanes16(int w, long x)
{
    return (__mmask16)columns_inside(w, x, 16);
}

/* The permute index of a 4x4 transpose of a register's four quarters: lane 4c + i takes
 * lane 4i + c (patch columns of four tiles in the gather, pixel rows of four tiles in the
 * scatter). */
static inline __m512i transpose_quarters(void)
{
    return _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
}

/* Lanes 8 .. 15 of v (AVX-512F only: no AVX512DQ extract). */
static inline __m256 upper8(__m512 v)
{
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

/* wg_gather_patches for the band's first n - n % 4 tiles, eight (then four) at a time,
 * with AVX-512: the 34 columns of eight patches are three masked loads (their masks,
 * which also give the padding, computed once for the six rows), and column c of tile i is
 * source lane 4i + c, so one two-source permute makes columns c and c + 1 of all eight.
 * Returns the tiles done. (The 4x4 transposes of gather_row spent a shuffle per column;
 * alone, per tile and channel: 32x32 maps 14.8 -> 10.1 cycles, 16x16 maps 25 -> 16.4.) */
static int gather_band16(const wg_band *b, const float *plane, int x0, int n, float *d,
                        size_t stride)
{
    const __m512i pick01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28,
                                             1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i pick23 = _mm512_add_epi32(pick01, _mm512_set1_epi32(2));
    const __m512i pick45 = _mm512_add_epi32(pick01, _mm512_set1_epi32(4));
    const __m512i last = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        const long x = (long)x0 + WG_M * k;
        const __mmask16 m0 = lanes16(b->w, x), m1 = lanes16(b->w, x + 16);
        const __mmask16 m2 = lanes16(b->w, x + 32);
        for (int r = 0; r < WG_T; r++) {
            const int iy = WG_M * b->ty - b->pad_h + r;
            const __mmask16 in = iy >= 0 && iy < b->h ? 0xFFFF : 0; /* else a padding row */
            const float *row = wg_shift(plane, (long)iy * b->w + x);
            const __m512 lo = _mm512_maskz_loadu_ps(m0 & in, row);
            const __m512 hi = _mm512_maskz_loadu_ps(m1 & in, wg_shift(row, 16));
            const __m512 next = _mm512_maskz_loadu_ps(m2 & in, wg_shift(row, 32));
            const __m512 v01 = _mm512_permutex2var_ps(lo, pick01, hi);
            const __m512 v23 = _mm512_permutex2var_ps(lo, pick23, hi);
            __m512 v45 = _mm512_permutex2var_ps(lo, pick45, hi); /* tile 7: from next */
            v45 = _mm512_mask_permutexvar_ps(v45, (__mmask16)0x8080, last, next);
            float *dr = d + (size_t)r * WG_T * stride + k;
            _mm256_storeu_ps(dr, _mm512_castps512_ps256(v01));
            _mm256_storeu_ps(dr + stride, upper8(v01));
            _mm256_storeu_ps(dr + 2 * stride, _mm512_castps512_ps256(v23));
            _mm256_storeu_ps(dr + 3 * stride, upper8(v23));
            _mm256_storeu_ps(dr + 4 * stride, _mm512_castps512_ps256(v45));
            _mm256_storeu_ps(dr + 5 * stride, upper8(v45));
        }
    }
    /* four tiles (16x16 maps): 18 columns; one permute gives columns 0-3 of the four, a
     * quarter each, another columns 4 and 5 */
    const __m512i pick0123 = transpose_quarters();
    const __m512i pick4545 = _mm512_setr_epi32(4, 8, 12, 16, 5, 9, 13, 17,
                                               0, 0, 0, 0, 0, 0, 0, 0);
    for (; k + 4 <= n; k += 4) {
        const long x = (long)x0 + WG_M * k;
        const __mmask16 m0 = lanes16(b->w, x), m1 = lanes16(b->w, x + 16) & 0x3;
        for (int r = 0; r < WG_T; r++) {
            const int iy = WG_M * b->ty - b->pad_h + r;
            const __mmask16 in = iy >= 0 && iy < b->h ? 0xFFFF : 0;
            const float *row = wg_shift(plane, (long)iy * b->w + x);
            const __m512 lo = _mm512_maskz_loadu_ps(m0 & in, row);
            const __m512 hi = _mm512_maskz_loadu_ps(m1 & in, wg_shift(row, 16));
            const __m512 v03 = _mm512_permutexvar_ps(pick0123, lo);
            const __m512 v45 = _mm512_permutex2var_ps(lo, pick4545, hi);
            float *dr = d + (size_t)r * WG_T * stride + k;
            _mm_storeu_ps(dr, _mm512_castps512_ps128(v03));
            _mm_storeu_ps(dr + stride, _mm512_extractf32x4_ps(v03, 1));
            _mm_storeu_ps(dr + 2 * stride, _mm512_extractf32x4_ps(v03, 2));
            _mm_storeu_ps(dr + 3 * stride, _mm512_extractf32x4_ps(v03, 3));
            _mm_storeu_ps(dr + 4 * stride, _mm512_castps512_ps128(v45));
            _mm_storeu_ps(dr + 5 * stride, _mm512_extractf32x4_ps(v45, 1));
        }
    }
    return k;
}
#endif

WG_CLONES void wg_gather_patches(const wg_band *b, const float *plane, float *d, size_t stride)
{
#if defined(__AVX512F__)
    const int done = gather_band16(b, plane, WG_M * b->tx0 - b->pad_w, b->n, d, stride);
    if (done == b->n)
        return;
    wg_band rest = *b; /* the last n % 4 tiles as before */
    rest.tx0 += done, rest.n -= done;
    b = &rest, d += done;
#endif
    for (int k0 = 0; k0 < b->n; k0 += WG_BAND_LANES) { /* 64 tiles at a time */
        const int n = b->n - k0 < WG_BAND_LANES ? b->n - k0 : WG_BAND_LANES;
        const int x0 = WG_M * (b->tx0 + k0) - b->pad_w;
        wg_lanes lanes[WG_BAND_LANES + 1];
        for (int i = 0; i <= n; i++)
            lanes[i] = lanes4(b->w, x0 + 4 * i);
        for (int r = 0; r < WG_T; r++) {
            const int iy = WG_M * b->ty - b->pad_h + r;
            float *dr = d + (size_t)r * WG_T * stride + k0;
            if (iy < 0 || iy >= b->h) { /* a padding row: a few floats, no library call */
                for (int c = 0; c < WG_T; c++)
                    for (int k = 0; k < n; k++)
                        dr[c * stride + k] = 0.0f;
                continue;
            }
            gather_row(plane + (size_t)iy * b->w, b->w, x0, n, lanes, dr, stride);
        }
    }
}

/* d[(r * 6 + c) * stride + k] = tiles[k]'s patch at (r, c), for n tiles that need not be
 * neighbours (maps of fewer than 4 tiles a row: their bands are too short for
 * gather_row's four). Four tiles at a time: each tile's patch row is two loads (columns
 * 0-3 and 4-7, of which 4 and 5 are kept), the first four a 4x4 transpose; then tile by
 * tile. */
WG_CLONES void wg_gather_tiles(const wg_tile *tiles, int n, int h, int w, float *d,
                               size_t stride)
{
    int k = 0;
#if defined(__SSE2__)
    for (; k + 4 <= n; k += 4) {
        const wg_tile *q = tiles + k;
        wg_lanes lanes[4][2]; /* each tile's column masks, once for its six rows */
        for (int i = 0; i < 4; i++) {
            lanes[i][0] = lanes4(w, q[i].ix0);
            lanes[i][1] = lanes4(w, q[i].ix0 + 4);
        }
        for (int r = 0; r < WG_T; r++) {
            __m128 a[4], b[4];
            for (int i = 0; i < 4; i++) {
                const int iy = q[i].iy0 + r;
                if (iy < 0 || iy >= h) {
                    a[i] = b[i] = _mm_setzero_ps();
                    continue;
                }
                const float *row = q[i].plane + (size_t)iy * w;
                a[i] = band_columns(row, w, q[i].ix0, lanes[i], 0);
                b[i] = band_columns(row, w, q[i].ix0, lanes[i], 1);
            }
            float *dr = d + (size_t)r * WG_T * stride + k;
            const __m128 lo01 = _mm_unpacklo_ps(b[0], b[1]), lo23 = _mm_unpacklo_ps(b[2], b[3]);
            _mm_storeu_ps(dr + 4 * stride, _mm_movelh_ps(lo01, lo23)); /* column 4 */
            _mm_storeu_ps(dr + 5 * stride, _mm_movehl_ps(lo23, lo01)); /* column 5 */
            _MM_TRANSPOSE4_PS(a[0], a[1], a[2], a[3]);
            for (int c = 0; c < 4; c++)
                _mm_storeu_ps(dr + (size_t)c * stride, a[c]);
        }
    }
#endif
    for (; k < n; k++)
        for (int r = 0; r < WG_T; r++) {
            const int iy = tiles[k].iy0 + r;
            const float *row = iy >= 0 && iy < h ? tiles[k].plane + (size_t)iy * w : NULL;
            for (int c = 0; c < WG_T; c++)
                d[(size_t)(r * WG_T + c) * stride + k] =
                    row ? column_at(row, w, tiles[k].ix0 + c) : 0.0f;
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

#if defined(__SSE2__)
/* act(v) for ReLU and ReLU6 as dc_bias_act_row computes them (v < 0 ? 0 : v, then
 * v > 6 ? 6 : v; NaN passes), any other act left to it. */
static inline __m128 relu_family(__m128 v, dc_act act)
{
    if (act == DC_ACT_RELU || act == DC_ACT_RELU6)
        v = _mm_max_ps(_mm_setzero_ps(), v);
    if (act == DC_ACT_RELU6)
        v = _mm_min_ps(_mm_set1_ps(6.0f), v);
    return v;
}
#endif

/* The epilogue acts the scatter applies in registers, as it writes. */
static bool fused_act(dc_act act)
{
    return act == DC_ACT_NONE || act == DC_ACT_RELU || act == DC_ACT_RELU6;
}

/* row[4k + j] = act(y_j[k] + res[4k + j] + bias) for j < 4, k < n (res may be NULL; act
 * one of fused_act's), in the order dc_bias_residual_act_row adds: (y + res) + bias. Four
 * tiles at a time as a 4x4 transpose, each result stored once: a later pass over the row
 * would wait on these stores (the order of the old row pass, (y + res) + bias, is kept);
 * then tile by tile. Returns the number of tiles written: n, or 0 without SSE. */
static int scatter_row(const float *y0, const float *y1, const float *y2, const float *y3,
                       int n, const float *res, float bias, dc_act act, float *row)
{
    int k = 0;
#if defined(__AVX__)
    /* eight tiles at a time, as gather_row: tile k + i in the low lane of t[i], tile
     * k + 4 + i in the high one */
    const __m256 vb8 = _mm256_set1_ps(bias), zero8 = _mm256_setzero_ps();
    for (; k + 8 <= n; k += 8) {
        __m256 t[4] = { _mm256_loadu_ps(y0 + k), _mm256_loadu_ps(y1 + k),
                        _mm256_loadu_ps(y2 + k), _mm256_loadu_ps(y3 + k) };
        transpose4x4_lanes(t);
        for (int i = 0; i < 4; i++) {
            const int xl = WG_M * (k + i), xh = WG_M * (k + 4 + i);
            __m256 v = res ? _mm256_add_ps(t[i], _mm256_loadu2_m128(res + xh, res + xl)) : t[i];
            v = _mm256_add_ps(v, vb8);
            if (act == DC_ACT_RELU || act == DC_ACT_RELU6)
                v = _mm256_max_ps(zero8, v);
            if (act == DC_ACT_RELU6)
                v = _mm256_min_ps(_mm256_set1_ps(6.0f), v);
            _mm_storeu_ps(row + xl, _mm256_castps256_ps128(v));
            _mm_storeu_ps(row + xh, _mm256_extractf128_ps(v, 1));
        }
    }
#endif
#if defined(__SSE2__)
    const __m128 vb = _mm_set1_ps(bias);
    for (; k + 4 <= n; k += 4) {
        __m128 r0 = _mm_loadu_ps(y0 + k), r1 = _mm_loadu_ps(y1 + k);
        __m128 r2 = _mm_loadu_ps(y2 + k), r3 = _mm_loadu_ps(y3 + k);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        __m128 t[4] = { r0, r1, r2, r3 };
        for (int i = 0; i < 4; i++) {
            const int x = WG_M * (k + i);
            __m128 v = res ? _mm_add_ps(t[i], _mm_loadu_ps(res + x)) : t[i];
            _mm_storeu_ps(row + x, relu_family(_mm_add_ps(v, vb), act));
        }
    }
    for (; k < n; k++) { /* small maps: one or two tiles a row */
        const int x = WG_M * k;
        __m128 v = _mm_setr_ps(y0[k], y1[k], y2[k], y3[k]);
        v = res ? _mm_add_ps(v, _mm_loadu_ps(res + x)) : v;
        _mm_storeu_ps(row + x, relu_family(_mm_add_ps(v, vb), act));
    }
#else
    (void)y0, (void)y1, (void)y2, (void)y3, (void)n, (void)res, (void)bias, (void)act,
        (void)row;
#endif
    return k;
}

#if defined(__AVX512F__)
/* act(v + bias) on sixteen lanes, as relu_family (NaN passes). */
static inline __m512 bias_act16(__m512 v, __m512 bias, dc_act act)
{
    v = _mm512_add_ps(v, bias);
    if (act == DC_ACT_RELU || act == DC_ACT_RELU6)
        v = _mm512_max_ps(_mm512_setzero_ps(), v);
    if (act == DC_ACT_RELU6)
        v = _mm512_min_ps(_mm512_set1_ps(6.0f), v);
    return v;
}

/* a[0..7] in the low half, b[0..7] in the high one. */
static inline __m512 pair8(const float *a, const float *b)
{
    const __m512d lo = _mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(a)));
    return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_loadu_ps(b)), 1));
}

/* scatter_row for the band's first `full` whole tiles but the last full % 4, for all its
 * output rows, with AVX-512 (act one of fused_act's). Eight tiles a row: y0 | y1 and
 * y2 | y3 in two registers, and the row's 32 pixels (pixel 4i + j is y_j[i]) two permutes
 * of them; four tiles: y0 .. y3 as the quarters of one register, one permute. Returns the
 * tiles done. (scatter_row's 4x4 transposes spent a shuffle per pixel column.) */
static int scatter_band16(const wg_band *b, const float *y, size_t stride, float bias,
                          const float *res_plane, dc_act act, float *out_plane, int full)
{
    const __m512i put_lo = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25,
                                             2, 10, 18, 26, 3, 11, 19, 27);
    const __m512i put_hi = _mm512_add_epi32(put_lo, _mm512_set1_epi32(4));
    const __m512i put4 = transpose_quarters();
    const __m512 vb = _mm512_set1_ps(bias);
    const int rows = b->oh - WG_M * b->ty < WG_M ? b->oh - WG_M * b->ty : WG_M;
    int k = 0;
    for (; k + 8 <= full; k += 8)
        for (int a = 0; a < rows; a++) {
            const float *ya = y + (size_t)a * WG_M * stride + k;
            const __m512 lo = pair8(ya, ya + stride);
            const __m512 hi = pair8(ya + 2 * stride, ya + 3 * stride);
            const size_t at = (size_t)(WG_M * b->ty + a) * b->ow + WG_M * (b->tx0 + k);
            __m512 v0 = _mm512_permutex2var_ps(lo, put_lo, hi);
            __m512 v1 = _mm512_permutex2var_ps(lo, put_hi, hi);
            if (res_plane) { /* (y + res) + bias, as dc_bias_residual_act_row */
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(res_plane + at));
                v1 = _mm512_add_ps(v1, _mm512_loadu_ps(res_plane + at + 16));
            }
            _mm512_storeu_ps(out_plane + at, bias_act16(v0, vb, act));
            _mm512_storeu_ps(out_plane + at + 16, bias_act16(v1, vb, act));
        }
    for (; k + 4 <= full; k += 4)
        for (int a = 0; a < rows; a++) {
            const float *ya = y + (size_t)a * WG_M * stride + k;
            __m512 q = _mm512_castps128_ps512(_mm_loadu_ps(ya));
            q = _mm512_insertf32x4(q, _mm_loadu_ps(ya + stride), 1);
            q = _mm512_insertf32x4(q, _mm_loadu_ps(ya + 2 * stride), 2);
            q = _mm512_insertf32x4(q, _mm_loadu_ps(ya + 3 * stride), 3);
            q = _mm512_permutexvar_ps(put4, q);
            const size_t at = (size_t)(WG_M * b->ty + a) * b->ow + WG_M * (b->tx0 + k);
            if (res_plane)
                q = _mm512_add_ps(q, _mm512_loadu_ps(res_plane + at));
            _mm512_storeu_ps(out_plane + at, bias_act16(q, vb, act));
        }
    return k;
}
#endif

WG_CLONES void wg_scatter_tiles(const wg_band *b, const float *y, size_t stride, float bias,
                                const float *res_plane, dc_act act, float *out_plane)
{
    const int x0 = WG_M * b->tx0;
    const int count = b->ow - x0 < WG_M * b->n ? b->ow - x0 : WG_M * b->n;
    const int full = count / WG_M; /* tiles lying wholly inside the output */
    int first = 0; /* tiles finished for every row */
#if defined(__AVX512F__)
    if (fused_act(act))
        first = scatter_band16(b, y, stride, bias, res_plane, act, out_plane, full);
#endif
    for (int a = 0; a < WG_M; a++) {
        const int oy = WG_M * b->ty + a;
        if (oy >= b->oh)
            break;
        const float *y0 = y + (size_t)a * WG_M * stride, *y1 = y0 + stride;
        const float *y2 = y1 + stride, *y3 = y2 + stride;
        float *restrict row = out_plane + (size_t)oy * b->ow + x0;
        const float *res = res_plane ? res_plane + (size_t)oy * b->ow + x0 : NULL;
        /* pixels [0, done) are finished in registers; the rest (an unfused act, the
         * clipped edge tile) is written, then given residual, bias and act in a pass */
        int done = WG_M * first;
        if (fused_act(act))
            done += WG_M * scatter_row(y0 + first, y1 + first, y2 + first, y3 + first,
                                       full - first, res ? res + done : NULL, bias, act,
                                       row + done);
        for (int x = done; x < count; x++)
            row[x] = y0[(size_t)(x % WG_M) * stride + x / WG_M];
        if (res)
            for (int x = done; x < count; x++)
                row[x] += res[x];
        dc_bias_act_row(row + done, (size_t)(count - done), bias, act);
    }
}

/* One tile of wg_scatter_tile_list, clipped to the map, through the row epilogue. */
static void scatter_one_tile(const wg_tile *t, const float *res_plane, int oh, int ow,
                             const float *y, size_t stride, float bias, dc_act act)
{
    float *plane = (float *)t->plane;
    const int cols = ow - t->ix0 < WG_M ? ow - t->ix0 : WG_M;
    for (int a = 0; a < WG_M && t->iy0 + a < oh; a++) {
        const size_t at = (size_t)(t->iy0 + a) * ow + t->ix0;
        float *row = plane + at;
        for (int x = 0; x < cols; x++)
            row[x] = y[(size_t)(a * WG_M + x) * stride];
        if (res_plane) /* (y + res) + bias, as wg_scatter_tiles */
            for (int x = 0; x < cols; x++)
                row[x] += res_plane[at + (size_t)x];
        dc_bias_act_row(row, (size_t)cols, bias, act);
    }
}

/* As wg_scatter_tiles for n tiles anywhere, tiles[k].plane being the output plane and
 * (iy0, ix0) the tile's top-left output pixel; res_planes[k] (or NULL) its residual plane.
 * Four whole tiles at a time as a 4x4 transpose per output row, each result stored once,
 * as scatter_row; a group with a tile clipped by the map's edge (or an act the stores do
 * not apply) tile by tile. */
WG_CLONES void wg_scatter_tile_list(const wg_tile *tiles, const float *const *res_planes,
                                    int n, int oh, int ow, const float *y, size_t stride,
                                    float bias, dc_act act)
{
    int k = 0;
#if defined(__SSE2__)
    const __m128 vb = _mm_set1_ps(bias);
    for (; k + 4 <= n; k += 4) {
        bool whole = fused_act(act); /* all four inside the map, an act the stores apply */
        for (int i = 0; i < 4; i++)
            whole = whole && tiles[k + i].iy0 + WG_M <= oh && tiles[k + i].ix0 + WG_M <= ow;
        if (!whole) {
            for (int i = 0; i < 4; i++)
                scatter_one_tile(&tiles[k + i], res_planes ? res_planes[k + i] : NULL, oh, ow,
                                 y + k + i, stride, bias, act);
            continue;
        }
        for (int a = 0; a < WG_M; a++) {
            const float *ya = y + (size_t)a * WG_M * stride + k;
            __m128 r0 = _mm_loadu_ps(ya), r1 = _mm_loadu_ps(ya + stride);
            __m128 r2 = _mm_loadu_ps(ya + 2 * stride), r3 = _mm_loadu_ps(ya + 3 * stride);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            const __m128 t[4] = { r0, r1, r2, r3 };
            for (int i = 0; i < 4; i++) {
                const size_t at = (size_t)(tiles[k + i].iy0 + a) * ow + tiles[k + i].ix0;
                const float *res = res_planes ? res_planes[k + i] : NULL;
                const __m128 v = res ? _mm_add_ps(t[i], _mm_loadu_ps(res + at)) : t[i];
                _mm_storeu_ps((float *)tiles[k + i].plane + at,
                              relu_family(_mm_add_ps(v, vb), act));
            }
        }
    }
#endif
    for (; k < n; k++)
        scatter_one_tile(&tiles[k], res_planes ? res_planes[k] : NULL, oh, ow, y + k, stride,
                         bias, act);
}
