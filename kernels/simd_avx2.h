/*
 * simd_avx2.h — the vector macros of the kernel templates (see depthwise_simd.h)
 * for AVX2 + FMA (8 floats per vector).
 * Included only by the *_avx2.c files, inside #ifdef DC_HAVE_X86_SIMD.
 */
#ifndef DC_KERNELS_SIMD_AVX2_H
#define DC_KERNELS_SIMD_AVX2_H

#include <immintrin.h>

#define DW_TARGET __attribute__((target("avx2,fma")))
#define DW_VLEN 8
typedef __m256 dw_vec;
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VKEEP(v) __asm__("" : "+x"(v)) /* see simd_avx512.h */
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VDIV(a, b) _mm256_div_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VWHERE_LE(v, c, a, b) _mm256_blendv_ps((b), (a), _mm256_cmp_ps((v), (c), _CMP_LE_OQ))
#define VWHERE_GE(v, c, a, b) _mm256_blendv_ps((b), (a), _mm256_cmp_ps((v), (c), _CMP_GE_OQ))
/* lane i enabled when a <= i < b (maskload/maskstore test each lane's sign bit) */
#define DW_LANE_MASK(a, b)                                                                   \
    _mm256_and_si256(                                                                        \
        _mm256_cmpgt_epi32(_mm256_set1_epi32(b), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), \
        _mm256_cmpgt_epi32(_mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8), _mm256_set1_epi32(a)))
#define VLOAD_LANES(p, a, b) _mm256_maskload_ps((p), DW_LANE_MASK((a), (b)))
#define VSTORE_LANES(p, v, n) _mm256_maskstore_ps((p), DW_LANE_MASK(0, (n)), (v))
/* shuffle_ps picks within 128-bit lanes; permute4x64 then orders the 64-bit pairs */
#define DW_DEINTERLEAVE(lo, hi, even, odd)                                                   \
    do {                                                                                     \
        const __m256 lo_ = (lo), hi_ = (hi);                                                 \
        const __m256 e_ = _mm256_shuffle_ps(lo_, hi_, _MM_SHUFFLE(2, 0, 2, 0));              \
        const __m256 o_ = _mm256_shuffle_ps(lo_, hi_, _MM_SHUFFLE(3, 1, 3, 1));              \
        (even) = _mm256_castpd_ps(                                                           \
            _mm256_permute4x64_pd(_mm256_castps_pd(e_), _MM_SHUFFLE(3, 1, 2, 0)));           \
        (odd) = _mm256_castpd_ps(                                                            \
            _mm256_permute4x64_pd(_mm256_castps_pd(o_), _MM_SHUFFLE(3, 1, 2, 0)));           \
    } while (0)
#endif
