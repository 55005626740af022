/*
 * gemm_packed.c — C = A B where A (a conv's weights, or Winograd's transformed weights) is
 * packed once at load and B has few columns (the pixels of a small map at batch 1).
 *
 * Why not SGEMM: OpenBLAS packs A into its own layout on every call. For a conv on a 14x14
 * or 7x7 map, A (up to megabytes) is read, written packed and read again for a product of
 * only 49 to 196 columns, and streaming A is most of the cost. Packed at load in the order
 * the kernel reads it, A streams from memory once per pass:
 *
 *   packed A [m / R blocks][k][R rows]          (rows past m are zero)
 *
 * For one block of R rows the kernel keeps R x NV vectors of 16 columns of C in registers
 * (at most 24 accumulators: 16 x 1, 12 x 2, 8 x 3, 6 x 4; more columns run in groups of
 * NV vectors; dc_packed_rows picks R for a column count) and, for each of the k
 * terms, loads NV vectors of B's row and broadcasts R values of A: B stays in L1/L2 while
 * A streams.
 *
 * Written with GCC/Clang vector extensions (16 floats: one AVX-512 register, two AVX2,
 * four SSE/NEON), as kernels/gemm_skinny.c.
 */
#include "kernels.h"

#include <stdint.h>
#include <string.h>

/* acc += w * b as one fused multiply-add (C11 mode forbids the contraction by default);
 * callers' tolerances cover the different rounding. */
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif

enum { LANES = DC_PACKED_LANES, MAX_VECS = 4 };

typedef float v16 __attribute__((vector_size(64)));

#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v))
#define STORE16(p, v) memcpy((p), &(v), sizeof(v))

/* How far ahead of the term being multiplied product() asks for A's bytes. A streams from
 * memory (F(2x2)'s U: 16.8 MB for a 512-channel conv), and the hardware prefetcher alone
 * kept one thread at about 6 GB/s of it, half of what a plain read of one stream draws on
 * this VM (11-12 GB/s). Asked for 4 KiB ahead, resnet18 at batch 1 on one thread went from
 * 32.3 to 28.1 ms, its three 512x7x7 convs from 10.0 to 6.9 ms (1 KiB ahead: 7.5 ms; 8 KiB:
 * 6.8 ms; 16 KiB: 7.4 ms; the same into L1 or L2 only; non-temporal: no gain). The address
 * is formed as an integer: it may lie past A's end, where a prefetch does nothing. */
#define PREFETCH_AHEAD_BYTES 4096
#define PREFETCH(p) __builtin_prefetch((const void *)((uintptr_t)(p) + PREFETCH_AHEAD_BYTES), 0, 3)

int dc_packed_rows(int cols)
{
    switch ((cols + LANES - 1) / LANES) {
    case 1: return 16;
    case 2: return 12;
    case 3: return 8;
    default: return 6;
    }
}

size_t dc_packed_floats(int m, int k, int rows)
{
    return (size_t)((m + rows - 1) / rows) * rows * (size_t)k;
}

void dc_pack_a(int m, int k, int rows, const float *a, int lda, float *ap)
{
    memset(ap, 0, dc_packed_floats(m, k, rows) * sizeof(float));
    for (int i = 0; i < m; i++) {
        float *blk = ap + (size_t)(i / rows) * rows * k;
        for (int j = 0; j < k; j++)
            blk[(size_t)j * rows + i % rows] = a[(size_t)i * lda + j];
    }
}

typedef int v16i __attribute__((vector_size(64)));

/* What the stores of a block apply (dc_gemm_packed_block_act); NULL: nothing. */
typedef struct {
    const float *bias; /* the block's rows, or NULL */
    const float *res;  /* [R][ldr] at the block's first column, or NULL */
    size_t ldr;
    dc_act act;        /* DC_ACT_NONE, RELU or RELU6 */
} epilogue;

bool dc_packed_act_fuses(dc_act act)
{
    return act == DC_ACT_NONE || act == DC_ACT_RELU || act == DC_ACT_RELU6;
}

/* *acc + (bias + res), or *acc + bias, then ReLU / ReLU6, as epilogue.h's row loops
 * compute it (v < 0 ? 0 : v, then v > 6 ? 6 : v: NaN passes). In place: a vector passed
 * or returned by value would change the calling convention of a build without AVX-512
 * (GCC's -Wpsabi). */
static inline __attribute__((always_inline)) void finish(v16 *acc, const epilogue *ep, int r,
                                                         size_t col)
{
    v16 v = *acc;
    const float bias = ep->bias ? ep->bias[r] : 0.0f;
    if (ep->res) {
        v16 res;
        LOAD16(res, ep->res + (size_t)r * ep->ldr + col);
        v = v + (bias + res);
    } else if (bias != 0.0f || ep->act != DC_ACT_NONE) {
        v = v + bias;
    }
    const v16 zero = { 0 }, six = zero + 6.0f;
    if (ep->act == DC_ACT_RELU || ep->act == DC_ACT_RELU6)
        v = (v16)((v16i)v & ~(v < zero));
    if (ep->act == DC_ACT_RELU6) {
        const v16i over = v > six;
        v = (v16)(((v16i)v & ~over) | ((v16i)six & over));
    }
    *acc = v;
}

/* c[r][q] = sum_j a[j][r] b[j][q] for r < R, q < 16 NV, through ep's epilogue if any. R
 * and NV are constants at every call (block_product), so the accumulators stay in
 * registers. */
static inline __attribute__((always_inline)) void
product(int R, int NV, int k, const float *restrict a, const float *restrict b, size_t ldb,
        float *restrict c, size_t ldc, const epilogue *ep)
{
    v16 acc[16][MAX_VECS];
#pragma GCC unroll 16
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++)
            acc[r][q] = (v16){ 0 };
    for (int j = 0; j < k; j++) {
        v16 bv[MAX_VECS];
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++)
            LOAD16(bv[q], b + (size_t)j * ldb + (size_t)q * LANES);
        const float *aj = a + (size_t)j * R;
        PREFETCH(aj); /* once per line of A when R = 16, a few times when R < 16 */
#pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            const float w = aj[r];
#pragma GCC unroll 4
            for (int q = 0; q < NV; q++)
                acc[r][q] += w * bv[q];
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++) {
            if (ep)
                finish(&acc[r][q], ep, r, (size_t)q * LANES);
            STORE16(c + (size_t)r * ldc + (size_t)q * LANES, acc[r][q]);
        }
}

/* Columns up to which a block of 16 rows runs product_down_rows instead of product(). */
enum { DOWN_ROWS_MAX_COLS = DC_PACKED_DOWN_ROWS_MAX_COLS, DOWN_ROWS_R = LANES };

/* The epilogue of one element, in the order finish() applies it to a vector. */
static inline float finish_one(float v, const epilogue *ep, int r, size_t col)
{
    const float bias = ep->bias ? ep->bias[r] : 0.0f;
    if (ep->res)
        v = v + (bias + ep->res[(size_t)r * ep->ldr + col]);
    else if (bias != 0.0f || ep->act != DC_ACT_NONE)
        v = v + bias;
    if (ep->act == DC_ACT_RELU || ep->act == DC_ACT_RELU6)
        v = v < 0.0f ? 0.0f : v;
    if (ep->act == DC_ACT_RELU6)
        v = v > 6.0f ? 6.0f : v;
    return v;
}

/* c[r][q] = sum_j a[j][r] b[j][q] for the 16 rows of a block and NC <= 4 columns (a 2x2
 * map at batch 1, a one-tile Winograd product of one sample): product() would fill 16 lanes
 * with 1 to 4 columns and spend 16 multiply-adds on each line of A, so here the vectors run
 * down the rows instead. A block's 16 rows of term j are one line of packed A as it lies,
 * multiplied by B's NC values of row j, broadcast: NC accumulators, every lane useful,
 * and A read as one stream (vgg16_bn's 512x2x2 convs, 9.4 MB of weights each: 0.89 -> 0.4
 * ms; the skinny GEMM's four row streams read 10-17 GB/s of them). Even and odd terms go
 * to two sets of accumulators, so that the sums' latency never waits on memory that came.
 * Writes exactly NC columns of c. */
static inline __attribute__((always_inline)) void
product_down_rows(int NC, int k, const float *restrict a, const float *restrict b, size_t ldb,
                  float *restrict c, size_t ldc, const epilogue *ep)
{
    v16 acc[2][DOWN_ROWS_MAX_COLS];
#pragma GCC unroll 4
    for (int q = 0; q < NC; q++)
        acc[0][q] = acc[1][q] = (v16){ 0 };
    int j = 0;
    for (; j + 2 <= k; j += 2) {
        const float *aj = a + (size_t)j * DOWN_ROWS_R;
        PREFETCH(aj);
        PREFETCH(aj + DOWN_ROWS_R);
        v16 a0, a1;
        LOAD16(a0, aj);
        LOAD16(a1, aj + DOWN_ROWS_R);
#pragma GCC unroll 4
        for (int q = 0; q < NC; q++) {
            acc[0][q] += a0 * b[(size_t)j * ldb + q];
            acc[1][q] += a1 * b[(size_t)(j + 1) * ldb + q];
        }
    }
    if (j < k) {
        v16 a0;
        LOAD16(a0, a + (size_t)j * DOWN_ROWS_R);
#pragma GCC unroll 4
        for (int q = 0; q < NC; q++)
            acc[0][q] += a0 * b[(size_t)j * ldb + q];
    }
    float sums[DOWN_ROWS_MAX_COLS][DOWN_ROWS_R];
#pragma GCC unroll 4
    for (int q = 0; q < NC; q++) {
        const v16 v = acc[0][q] + acc[1][q];
        STORE16(sums[q], v);
    }
    for (int r = 0; r < DOWN_ROWS_R; r++)
        for (int q = 0; q < NC; q++)
            c[(size_t)r * ldc + q] = ep ? finish_one(sums[q][r], ep, r, (size_t)q) : sums[q][r];
}

/* Vectors of columns one call of product() takes for R rows: R x NV <= 24 accumulators. */
static int max_vectors(int R)
{
    return R >= 16 ? 1 : R >= 12 ? 2 : R >= 8 ? 3 : MAX_VECS;
}

int dc_packed_max_cols(int rows)
{
    return LANES * max_vectors(rows);
}

/* One block of R rows times nv <= max_vectors(R) vectors of columns; inlined into both
 * entry points, so that ep is NULL, or not, at compile time. */
static inline __attribute__((always_inline)) void
block_product(int R, int nv, int k, const float *a, const float *b, size_t ldb, float *c,
              size_t ldc, const epilogue *ep)
{
    switch (R * 8 + nv) {
    case 16 * 8 + 1: product(16, 1, k, a, b, ldb, c, ldc, ep); break;
    case 12 * 8 + 1: product(12, 1, k, a, b, ldb, c, ldc, ep); break;
    case 12 * 8 + 2: product(12, 2, k, a, b, ldb, c, ldc, ep); break;
    case 8 * 8 + 1: product(8, 1, k, a, b, ldb, c, ldc, ep); break;
    case 8 * 8 + 2: product(8, 2, k, a, b, ldb, c, ldc, ep); break;
    case 8 * 8 + 3: product(8, 3, k, a, b, ldb, c, ldc, ep); break;
    case 6 * 8 + 1: product(6, 1, k, a, b, ldb, c, ldc, ep); break;
    case 6 * 8 + 2: product(6, 2, k, a, b, ldb, c, ldc, ep); break;
    case 6 * 8 + 3: product(6, 3, k, a, b, ldb, c, ldc, ep); break;
    default: product(6, 4, k, a, b, ldb, c, ldc, ep); break;
    }
}

static inline __attribute__((always_inline)) void
packed_block(int rows, int block, int k, int cols, const float *ap, const float *b, size_t ldb,
             float *c, size_t ldc, const epilogue *ep)
{
    const float *a = ap + (size_t)block * rows * k;
    if (rows == DOWN_ROWS_R && cols >= 1 && cols <= DOWN_ROWS_MAX_COLS) {
        switch (cols) {
        case 1: product_down_rows(1, k, a, b, ldb, c, ldc, ep); break;
        case 2: product_down_rows(2, k, a, b, ldb, c, ldc, ep); break;
        case 3: product_down_rows(3, k, a, b, ldb, c, ldc, ep); break;
        default: product_down_rows(4, k, a, b, ldb, c, ldc, ep); break;
        }
        return;
    }
    const int vecs = (cols + LANES - 1) / LANES, most = max_vectors(rows);
    const int groups = (vecs + most - 1) / most; /* as even as possible */
    for (int g = 0, v0 = 0; g < groups; g++) {
        const int v1 = vecs * (g + 1) / groups;
        epilogue at; /* the group's columns of the residual */
        if (ep) {
            at = *ep;
            at.res = ep->res ? ep->res + (size_t)v0 * LANES : NULL;
        }
        block_product(rows, v1 - v0, k, a, b + (size_t)v0 * LANES, ldb,
                      c + (size_t)v0 * LANES, ldc, ep ? &at : NULL);
        v0 = v1;
    }
}

void dc_gemm_packed_block(int rows, int block, int k, int cols, const float *ap,
                          const float *b, size_t ldb, float *c, size_t ldc)
{
    packed_block(rows, block, k, cols, ap, b, ldb, c, ldc, NULL);
}

void dc_gemm_packed_block_act(int rows, int block, int k, int cols, const float *ap,
                              const float *b, size_t ldb, float *c, size_t ldc,
                              const float *bias, const float *res, size_t ldr, dc_act act)
{
    const epilogue ep = { bias, res, ldr, act };
    packed_block(rows, block, k, cols, ap, b, ldb, c, ldc, &ep);
}
