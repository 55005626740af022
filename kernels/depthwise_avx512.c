/*
 * depthwise_avx512.c — depthwise_simd.h compiled for AVX-512F (16 floats per vector).
 * Function-level target attributes, so that a build without -march=native has it too;
 * called only when dc_simd_active() says the CPU has AVX-512F.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_X86_SIMD
#include "simd_avx512.h"

#define DW_RANGE_FN dc_dw_range_avx512

#include "depthwise_simd.h"

#endif
