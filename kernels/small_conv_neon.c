/*
 * small_conv_neon.c — small_conv_simd.h and small_conv_wino_simd.h compiled for AArch64
 * NEON (4 floats per vector), the mirror of small_conv_avx2.c / small_conv_avx512.c;
 * called when dc_simd_active() says DC_SIMD_NEON.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_NEON_SIMD
#include "simd_neon.h"

#define SC_RANGE_FN dc_sc_range_neon
#define SW_RANGE_FN dc_sw_range_neon

#include "small_conv_simd.h"
#include "small_conv_wino_simd.h"

#endif
