/*
 * simd_neon.h — the vector macros of the kernel templates (see depthwise_simd.h) for
 * AArch64 Advanced SIMD (NEON, 4 floats per vector). NEON is part of the AArch64 base
 * instruction set, so no target attribute is needed. Included only by the *_neon.c
 * files, inside #ifdef DC_HAVE_NEON_SIMD.
 *
 * NEON has no masked loads and stores: VLOAD_LANES and VSTORE_LANES go through a
 * 4-float array on the stack (only at row ends). VMAX and VMIN keep the x86 operand
 * order of the templates (a > b ? a : b, so NaN in b passes through, as the scalar
 * epilogue does) with a compare and a bit select, not vmaxq_f32 (which returns NaN
 * when either operand is NaN).
 */
#ifndef DC_KERNELS_SIMD_NEON_H
#define DC_KERNELS_SIMD_NEON_H

#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#define DW_TARGET
#define DW_VLEN 4
typedef float32x4_t dw_vec;
#define VLOAD(p) vld1q_f32(p)
#define VSTORE(p, v) vst1q_f32((p), (v))
#define VSET1(x) vdupq_n_f32(x)
#define VFMA(a, b, c) vfmaq_f32((c), (a), (b))
#define VADD(a, b) vaddq_f32((a), (b))
#define VSUB(a, b) vsubq_f32((a), (b))
#define VKEEP(v) __asm__("" : "+w"(v)) /* see simd_avx512.h */
#define VMUL(a, b) vmulq_f32((a), (b))
#define VDIV(a, b) vdivq_f32((a), (b))
#define VMAX(a, b) dw_neon_max((a), (b))
#define VMIN(a, b) dw_neon_min((a), (b))
#define VWHERE_LE(v, c, a, b) vbslq_f32(vcleq_f32((v), (c)), (a), (b))
#define VWHERE_GE(v, c, a, b) vbslq_f32(vcgeq_f32((v), (c)), (a), (b))
#define VLOAD_LANES(p, a, b) dw_neon_load_lanes((p), (a), (b))
#define VSTORE_LANES(p, v, n) dw_neon_store_first((p), (v), (n))
/* uzp1 / uzp2: the even and the odd lanes of the 8 floats lo then hi */
#define DW_DEINTERLEAVE(lo, hi, even, odd)                                                   \
    do {                                                                                     \
        const float32x4_t lo_ = (lo), hi_ = (hi);                                            \
        (even) = vuzp1q_f32(lo_, hi_);                                                       \
        (odd) = vuzp2q_f32(lo_, hi_);                                                        \
    } while (0)

/* a > b ? a : b lane-wise (NaN in either: b) */
static inline __attribute__((always_inline)) float32x4_t dw_neon_max(float32x4_t a,
                                                                     float32x4_t b)
{
    return vbslq_f32(vcgtq_f32(a, b), a, b);
}

/* a < b ? a : b lane-wise (NaN in either: b) */
static inline __attribute__((always_inline)) float32x4_t dw_neon_min(float32x4_t a,
                                                                     float32x4_t b)
{
    return vbslq_f32(vcltq_f32(a, b), a, b);
}

/* Lanes [a, b) from p[a..b), the others 0; reads only those floats (p itself may lie
 * outside the row, so addresses are formed without pointer arithmetic on p). */
static inline __attribute__((always_inline)) float32x4_t dw_neon_load_lanes(const float *p,
                                                                            int a, int b)
{
    float t[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    for (int i = a; i < b; i++)
        t[i] = *(const float *)((uintptr_t)p + (uintptr_t)i * sizeof(float));
    return vld1q_f32(t);
}

/* Stores lanes [0, n) of v (n <= 4). */
static inline __attribute__((always_inline)) void dw_neon_store_first(float *p,
                                                                      float32x4_t v, int n)
{
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, (size_t)n * sizeof(float));
}
#endif
