/*
 * simd_kernels.h — internal to kernels/: the per-instruction-set entry points behind
 * dc_depthwise_conv2d_range and dc_small_conv2d_range. Each is compiled in its own file
 * (x86: with function-level target attributes; AArch64: NEON, part of the base
 * instruction set) and called only after dc_simd_active() said the CPU has that
 * instruction set. Only the files of the target's architecture are compiled
 * (kernels/meson.build); the others would compile to nothing anyway. Each returns false, having written nothing, when it does
 * not handle the shape; the caller then runs the portable path.
 */
#ifndef DC_KERNELS_SIMD_KERNELS_H
#define DC_KERNELS_SIMD_KERNELS_H

#include "kernels.h"

/* Floats of stack the small-conv vector code stages a band of input rows in (all input
 * channels, s*s phase planes each); a shape whose single-row band does not fit is
 * declined. */
#define DC_SC_STAGE_FLOATS 12288
/* ... of which this many stay zero after the last plane: the flat mode's loads run past
 * its end (two vectors and the halo at most). */
#define DC_SC_STAGE_SLACK 128

/* Floats of stack small_conv_wino_simd.h transforms a band of input rows into (24 KiB),
 * and whether it takes s on vectors of vlen floats (groups 1, 3x3, stride 1, padded input
 * rows of at least one vector, one tile's transformed rows within those floats). */
#define DC_SW_V_FLOATS 6144
bool dc_sw_shape_fits(const dc_conv_shape *s, int vlen);

#if defined(__x86_64__) || defined(__i386__)
#define DC_HAVE_X86_SIMD 1

bool dc_dw_range_avx512(const dc_conv_shape *s, const float *in, const float *weight,
                        const float *bias, dc_act act, float *out, int c_begin, int c_end);
bool dc_dw_range_avx2(const dc_conv_shape *s, const float *in, const float *weight,
                      const float *bias, dc_act act, float *out, int c_begin, int c_end);

/* Depthwise convs on small maps, read in place (depthwise_small_avx512.c): stride 1 with
 * same padding on maps up to 16x16, stride 2 with output rows of at most 16.
 * dc_dw_small_applies says whether a shape is one of them. */
bool dc_dw_small_applies(const dc_conv_shape *s);
bool dc_dw_small_avx512(const dc_conv_shape *s, const float *in, const float *weight,
                        const float *bias, dc_act act, float *out, int c_begin, int c_end);

bool dc_sc_range_avx512(const dc_conv_shape *s, const float *in, const float *weight,
                        const float *bias, dc_act act, float *out, int co_begin, int co_end);
bool dc_sc_range_avx2(const dc_conv_shape *s, const float *in, const float *weight,
                      const float *bias, dc_act act, float *out, int co_begin, int co_end);
bool dc_sw_range_avx512(const dc_conv_shape *s, const float *in, const float *u,
                        const float *bias, dc_act act, float *out, int co_begin, int co_end);
bool dc_sw_range_avx2(const dc_conv_shape *s, const float *in, const float *u,
                      const float *bias, dc_act act, float *out, int co_begin, int co_end);
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define DC_HAVE_NEON_SIMD 1

bool dc_dw_range_neon(const dc_conv_shape *s, const float *in, const float *weight,
                      const float *bias, dc_act act, float *out, int c_begin, int c_end);
bool dc_sc_range_neon(const dc_conv_shape *s, const float *in, const float *weight,
                      const float *bias, dc_act act, float *out, int co_begin, int co_end);
bool dc_sw_range_neon(const dc_conv_shape *s, const float *in, const float *u,
                      const float *bias, dc_act act, float *out, int co_begin, int co_end);
#endif

#endif /* DC_KERNELS_SIMD_KERNELS_H */
