/*
 * depthwise_neon.c — depthwise_simd.h compiled for AArch64 NEON (4 floats per vector),
 * the mirror of depthwise_avx2.c / depthwise_avx512.c; called when dc_simd_active() says
 * DC_SIMD_NEON (every AArch64 CPU, unless DC_FORCE_PORTABLE=1).
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_NEON_SIMD
#include "simd_neon.h"

#define DW_RANGE_FN dc_dw_range_neon

#include "depthwise_simd.h"

#endif
