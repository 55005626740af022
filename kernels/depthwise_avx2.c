/*
 * depthwise_avx2.c — depthwise_simd.h compiled for AVX2 + FMA (8 floats per vector).
 * Function-level target attributes, so that a build without -march=native has it too;
 * called only when dc_simd_active() says the CPU has AVX2 and FMA.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_X86_SIMD
#include "simd_avx2.h"

#define DW_RANGE_FN dc_dw_range_avx2

#include "depthwise_simd.h"

#endif
