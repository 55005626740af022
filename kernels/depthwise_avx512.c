/*
 * depthwise_avx512.c — depthwise_simd.h compiled for AVX-512F (16 floats per vector).
 * Function-level target attributes, so that a build without -march=native has it too;
 * called only when dc_simd_active() says the CPU has AVX-512F.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_X86_SIMD
#include <immintrin.h>

#define DW_TARGET __attribute__((target("avx512f")))
#define DW_VLEN 16
typedef __m512 dw_vec;
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VDIV(a, b) _mm512_div_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VWHERE_LE(v, c, a, b) \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((v), (c), _CMP_LE_OQ), (b), (a))
#define VWHERE_GE(v, c, a, b) \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((v), (c), _CMP_GE_OQ), (b), (a))
#define DW_RANGE_FN dc_dw_range_avx512

#include "depthwise_simd.h"

#endif
