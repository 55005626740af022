/*
 * small_conv_avx2.c — small_conv_simd.h and small_conv_wino_simd.h compiled for AVX2 + FMA.
 * Function-level target attributes, so that a build without -march=native has it too;
 * called only when dc_simd_active() says the CPU has it.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_X86_SIMD
#include "simd_avx2.h"

#define SC_RANGE_FN dc_sc_range_avx2
#define SW_RANGE_FN dc_sw_range_avx2

#include "small_conv_simd.h"
#include "small_conv_wino_simd.h"

#endif
