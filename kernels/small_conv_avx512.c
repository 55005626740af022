/*
 * small_conv_avx512.c — small_conv_simd.h and small_conv_wino_simd.h compiled for AVX-512F.
 * Function-level target attributes, so that a build without -march=native has it too;
 * called only when dc_simd_active() says the CPU has it.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_X86_SIMD
#include "simd_avx512.h"

#define SC_RANGE_FN dc_sc_range_avx512
#define SW_RANGE_FN dc_sw_range_avx512

#include "small_conv_simd.h"
#include "small_conv_wino_simd.h"

#endif
