/*
 * simd_avx512.h — the vector macros of the kernel templates (see depthwise_simd.h)
 * for AVX-512F (16 floats per vector).
 * Included only by the *_avx512.c files, inside #ifdef DC_HAVE_X86_SIMD.
 */
#ifndef DC_KERNELS_SIMD_AVX512_H
#define DC_KERNELS_SIMD_AVX512_H

#include <immintrin.h>

#define DW_TARGET __attribute__((target("avx512f")))
#define DW_VLEN 16
typedef __m512 dw_vec;
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
/* Keeps v in a register: GCC would otherwise fold a loaded vector into every FMA that
 * uses it, one load per FMA where one load can serve them all. */
#define VKEEP(v) __asm__("" : "+v"(v))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VDIV(a, b) _mm512_div_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VWHERE_LE(v, c, a, b) \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((v), (c), _CMP_LE_OQ), (b), (a))
#define VWHERE_GE(v, c, a, b) \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((v), (c), _CMP_GE_OQ), (b), (a))
#define VLOAD_LANES(p, a, b) \
    _mm512_maskz_loadu_ps((__mmask16)(((1u << (b)) - 1u) & ~((1u << (a)) - 1u)), (p))
#define VSTORE_LANES(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (v))
#define DW_DEINTERLEAVE(lo, hi, even, odd)                                                   \
    do {                                                                                     \
        const __m512 lo_ = (lo), hi_ = (hi);                                                 \
        (even) = _mm512_permutex2var_ps(                                                     \
            lo_, _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0), \
            hi_);                                                                            \
        (odd) = _mm512_permutex2var_ps(                                                      \
            lo_, _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1), \
            hi_);                                                                            \
    } while (0)
#endif
