/*
 * gemm_skinny.c — C = A B for a "skinny" B: few columns (a conv on a 4x4 or 2x2 map at
 * batch 1, where the GEMM has N = 16 or 4 columns).
 *
 * OpenBLAS packs A into its own layout on every call; with N this small, packing A (the
 * conv's weights, often megabytes) costs more than the multiplication, and repvgg_a2's
 * 1408x3456 x 3456x16 product ran at 52 GFLOP/s. Here A is read once, in place: each output
 * is a dot product of a row of A with a column of B, taken as a row of B^T ([n][k], made
 * by the caller), 16 floats at a time; 4 rows of A x 4 columns of B share their loads in
 * 16 vector accumulators, so A streams from memory once and B^T stays in L2. Each row of
 * A is prefetched 1 KB ahead: four sequential streams alone are too few for the hardware
 * prefetchers of an AMD Zen 5 core, which then read them at 6-9 GB/s; with the software
 * prefetches, 13-14 GB/s (a 512 x 4608 A, 9.4 MB, read from memory).
 *
 * Written with GCC/Clang vector extensions (16 floats): one AVX-512 register, two AVX2
 * registers, four NEON ones; the compiler picks the instructions of the target.
 */
#include "kernels.h"

#include <string.h>

typedef float v16 __attribute__((vector_size(64)));

/* Vectors are never passed to or returned from functions: without AVX-512 in the build
 * that would change the calling convention (GCC's -Wpsabi). */
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v))

/* How far ahead of its loads each row of A is prefetched, in floats (1 KB). */
#define SKINNY_PREFETCH_FLOATS 256

static inline float hsum16(const v16 *v)
{
    float s = 0.0f;
    for (int l = 0; l < 16; l++)
        s += (*v)[l];
    return s;
}

/* C[i][j] for rows [i0, i0 + ri) and columns [j0, j0 + cj), ri, cj <= 4. */
static void skinny_block(int ri, int cj, int k, const float *a, int lda, const float *bt,
                         float *c, int ldc)
{
    v16 acc[4][4];
    memset(acc, 0, sizeof acc);
    const float *ar[4], *br[4];
    for (int r = 0; r < 4; r++)
        ar[r] = a + (size_t)(r < ri ? r : 0) * lda; /* rows past ri repeat row 0, unused */
    for (int q = 0; q < 4; q++)
        br[q] = bt + (size_t)(q < cj ? q : 0) * k;
    int kk = 0;
    for (; kk + 16 <= k; kk += 16) {
        v16 a0, a1, a2, a3;
        LOAD16(a0, ar[0] + kk);
        LOAD16(a1, ar[1] + kk);
        LOAD16(a2, ar[2] + kk);
        LOAD16(a3, ar[3] + kk);
        for (int r = 0; r < 4; r++)
            __builtin_prefetch(ar[r] + kk + SKINNY_PREFETCH_FLOATS, 0, 3);
        for (int q = 0; q < 4; q++) {
            v16 b;
            LOAD16(b, br[q] + kk);
            acc[0][q] += a0 * b;
            acc[1][q] += a1 * b;
            acc[2][q] += a2 * b;
            acc[3][q] += a3 * b;
        }
    }
    for (int r = 0; r < ri; r++)
        for (int q = 0; q < cj; q++) {
            float s = hsum16(&acc[r][q]);
            for (int t = kk; t < k; t++)
                s += ar[r][t] * br[q][t];
            c[(size_t)r * ldc + q] = s;
        }
}

void dc_gemm_skinny(int m, int n, int k, const float *a, int lda, const float *bt, float *c,
                    int ldc)
{
    for (int i = 0; i < m; i += 4) {
        const int ri = m - i < 4 ? m - i : 4;
        for (int j = 0; j < n; j += 4)
            skinny_block(ri, n - j < 4 ? n - j : 4, k, a + (size_t)i * lda, lda,
                         bt + (size_t)j * k, c + (size_t)i * ldc + j, ldc);
    }
}

void dc_transpose(int rows, int cols, const float *src, int ld_src, float *dst)
{
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < cols; q++)
            dst[(size_t)q * rows + r] = src[(size_t)r * ld_src + q];
}
