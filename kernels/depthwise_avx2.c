/*
 * depthwise_avx2.c — depthwise_simd.h compiled for AVX2 + FMA (8 floats per vector).
 * Function-level target attributes, so that a build without -march=native has it too;
 * called only when dc_simd_active() says the CPU has AVX2 and FMA.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_X86_SIMD
#include <immintrin.h>

#define DW_TARGET __attribute__((target("avx2,fma")))
#define DW_VLEN 8
typedef __m256 dw_vec;
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VDIV(a, b) _mm256_div_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VWHERE_LE(v, c, a, b) _mm256_blendv_ps((b), (a), _mm256_cmp_ps((v), (c), _CMP_LE_OQ))
#define VWHERE_GE(v, c, a, b) _mm256_blendv_ps((b), (a), _mm256_cmp_ps((v), (c), _CMP_GE_OQ))
#define DW_RANGE_FN dc_dw_range_avx2

#include "depthwise_simd.h"

#endif
