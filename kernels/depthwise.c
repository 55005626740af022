/*
 * depthwise.c — depthwise 2-D convolution of one sample, torch.nn.Conv2d with
 * groups == in_channels == out_channels (dilation 1):
 *   out[c][oy][ox] = act(bias[c] + sum_{ki, kj} weight[c][0][ki][kj]
 *                                  * in[c][oy*sh - ph + ki][ox*sw - pw + kj]),
 * zero outside the image. Single-threaded: a runtime splits the channels into ranges and
 * calls dc_depthwise_conv2d_range from its own threads.
 *
 * On AVX-512, small maps (stride 1 up to 16x16, stride 2 with output rows up to 16) run
 * depthwise_small_avx512.c, which reads the planes in place with masked loads.
 * Other square 3x3/5x5/7x7 kernels with stride 1 or 2 run the vector code of
 * depthwise_simd.h (AVX-512 or AVX2 on x86-64, NEON on AArch64, chosen once by
 * dc_simd_active());
 * everything else, and every shape on other CPUs or under DC_FORCE_PORTABLE=1, runs the portable loops below: 3x3 pad-1
 * convs with stride 1 or 2 (MobileNet, ShuffleNet) through a path whose interior has no
 * bounds checks, the rest tap by tap over clipped column intervals.
 */
#include "kernels.h"

#include "epilogue.h"
#include "simd_kernels.h"

/* Sum of one output pixel whose window starts at input (iy0, ix0), taps outside the
 * image skipped. Used on borders and where the window is clipped. */
static float dw_pixel(const float *plane, int h, int w, const float *k, int kh, int kw,
                      int iy0, int ix0)
{
    float acc = 0.0f;
    for (int ki = 0; ki < kh; ki++) {
        const int iy = iy0 + ki;
        if (iy < 0 || iy >= h)
            continue;
        for (int kj = 0; kj < kw; kj++) {
            const int ix = ix0 + kj;
            if (ix >= 0 && ix < w)
                acc += k[ki * kw + kj] * plane[(size_t)iy * w + ix];
        }
    }
    return acc;
}

/* Interior range [*lo, *hi) of outputs along one axis whose 3-tap window (pad 1) lies
 * inside [0, size): o*stride - 1 >= 0 and o*stride + 1 <= size - 1. */
static void dw3_interior(int size, int stride, int n, int *lo, int *hi)
{
    int a = n < 1 ? n : 1;
    int b = size >= 2 ? (size - 2) / stride + 1 : 0;
    if (b > n)
        b = n;
    if (b < a)
        b = a;
    *lo = a;
    *hi = b;
}

/* 3x3, pad 1, stride 1 or 2, one channel. */
static void dw3x3_channel(const float *restrict plane, int h, int w, int stride,
                          const float *restrict k, float bias, dc_act act,
                          float *restrict out, int oh, int ow)
{
    int y0, y1, x0, x1;
    dw3_interior(h, stride, oh, &y0, &y1);
    dw3_interior(w, stride, ow, &x0, &x1);
    const float k0 = k[0], k1 = k[1], k2 = k[2];
    const float k3 = k[3], k4 = k[4], k5 = k[5];
    const float k6 = k[6], k7 = k[7], k8 = k[8];

    for (int oy = 0; oy < oh; oy++) {
        float *restrict o = out + (size_t)oy * ow;
        const int iy0 = oy * stride - 1;
        if (oy < y0 || oy >= y1) {
            for (int ox = 0; ox < ow; ox++)
                o[ox] = bias + dw_pixel(plane, h, w, k, 3, 3, iy0, ox * stride - 1);
            dc_bias_act_row(o, (size_t)ow, 0.0f, act);
            continue;
        }
        for (int ox = 0; ox < x0; ox++)
            o[ox] = bias + dw_pixel(plane, h, w, k, 3, 3, iy0, ox * stride - 1);

        const float *restrict r0 = plane + (size_t)iy0 * w;
        const float *restrict r1 = r0 + w;
        const float *restrict r2 = r1 + w;
        if (stride == 1) {
            /* ix = ox - 1 */
            for (int ox = x0; ox < x1; ox++)
                o[ox] = bias
                      + k0 * r0[ox - 1] + k1 * r0[ox] + k2 * r0[ox + 1]
                      + k3 * r1[ox - 1] + k4 * r1[ox] + k5 * r1[ox + 1]
                      + k6 * r2[ox - 1] + k7 * r2[ox] + k8 * r2[ox + 1];
        } else {
            /* ix = 2*ox - 1 */
            for (int ox = x0; ox < x1; ox++) {
                const int ix = 2 * ox - 1;
                o[ox] = bias
                      + k0 * r0[ix] + k1 * r0[ix + 1] + k2 * r0[ix + 2]
                      + k3 * r1[ix] + k4 * r1[ix + 1] + k5 * r1[ix + 2]
                      + k6 * r2[ix] + k7 * r2[ix + 1] + k8 * r2[ix + 2];
            }
        }

        for (int ox = x1; ox < ow; ox++)
            o[ox] = bias + dw_pixel(plane, h, w, k, 3, 3, iy0, ox * stride - 1);
        dc_bias_act_row(o, (size_t)ow, 0.0f, act);
    }
}

/* Any kernel, stride and padding, one channel: each output row starts at bias and
 * receives one tap at a time. For tap (ki, kj) the valid ox form one interval
 * [ox0, ox1) (ox*sw - pw + kj inside [0, w)), so the inner loop has no checks. */
static void dw_general_channel(const float *restrict plane, const dc_conv_shape *s,
                               const float *restrict k, float bias, dc_act act,
                               float *restrict out, int oh, int ow)
{
    const int h = s->h, w = s->w, sw = s->stride_w;
    for (int oy = 0; oy < oh; oy++) {
        float *restrict o = out + (size_t)oy * ow;
        for (int ox = 0; ox < ow; ox++)
            o[ox] = bias;
        for (int ki = 0; ki < s->kh; ki++) {
            const int iy = oy * s->stride_h - s->pad_h + ki;
            if (iy < 0 || iy >= h)
                continue;
            const float *restrict row = plane + (size_t)iy * w;
            for (int kj = 0; kj < s->kw; kj++) {
                const int xoff = kj - s->pad_w;
                const int ox0 = xoff >= 0 ? 0 : (-xoff + sw - 1) / sw;
                int ox1 = w - 1 - xoff < 0 ? 0 : (w - 1 - xoff) / sw + 1;
                if (ox1 > ow)
                    ox1 = ow;
                const float kv = k[ki * s->kw + kj];
                if (sw == 1) {
                    for (int ox = ox0; ox < ox1; ox++)
                        o[ox] += kv * row[ox + xoff];
                } else {
                    for (int ox = ox0; ox < ox1; ox++)
                        o[ox] += kv * row[ox * sw + xoff];
                }
            }
        }
        dc_bias_act_row(o, (size_t)ow, 0.0f, act);
    }
}

/* The portable path (the reference, and the fallback on CPUs without the vector code):
 * channel by channel, 3x3 pad-1 stride-1/2 through dw3x3_channel, the rest through
 * dw_general_channel. */
static void dw_portable_range(const dc_conv_shape *s, const float *in, const float *weight,
                              const float *bias, dc_act act, float *out, int c_begin,
                              int c_end)
{
    const int oh = dc_conv_out_h(s);
    const int ow = dc_conv_out_w(s);
    const size_t plane_in = (size_t)s->h * s->w;
    const size_t plane_out = (size_t)oh * ow;
    const size_t taps = (size_t)s->kh * s->kw;
    const bool fast3 = s->kh == 3 && s->kw == 3 && s->pad_h == 1 && s->pad_w == 1 &&
                       s->stride_h == s->stride_w && (s->stride_h == 1 || s->stride_h == 2);

    for (int ch = c_begin; ch < c_end; ch++) {
        const float *plane = in + (size_t)ch * plane_in;
        const float *k = weight + (size_t)ch * taps;
        float *o = out + (size_t)ch * plane_out;
        const float b = bias ? bias[ch] : 0.0f;
        if (fast3)
            dw3x3_channel(plane, s->h, s->w, s->stride_h, k, b, act, o, oh, ow);
        else
            dw_general_channel(plane, s, k, b, act, o, oh, ow);
    }
}

/* Maps of at most DW_TINY_PIXELS output pixels (ShuffleNet's and MobileNet's 4x4 and 2x2
 * stages) take dw_tiny_map_range: along a 4-wide row neither the vector code nor the
 * portable loops get going (96x4x4 3x3: 7.8 and 4.0 GFLOP/s). */
#define DW_TINY_PIXELS 16
#define DW_TINY_INPUT 64  /* input pixels it stages (a 5x5 or 8x8 input) */
#define DW_TINY_TAPS 49   /* up to 7x7 kernels */
#define DW_TINY_BLOCK 32  /* channels per block: the three buffers below are 18 KiB */

static bool dw_is_tiny(const dc_conv_shape *s)
{
    return dc_conv_out_h(s) * dc_conv_out_w(s) <= DW_TINY_PIXELS &&
           s->h * s->w <= DW_TINY_INPUT && s->kh * s->kw <= DW_TINY_TAPS;
}

/* Depthwise conv on a tiny map, channels [c_begin, c_end): a block of channels is turned
 * pixel-major (x[q][c]) so that every tap is one multiply-add across the block's channels,
 * contiguous and vectorised, then turned back. Same sums in the same order as the portable
 * loops (bias, then the taps row by row), so the same rounding. */
static void dw_tiny_map_range(const dc_conv_shape *s, const float *in, const float *weight,
                              const float *bias, dc_act act, float *out, int c_begin,
                              int c_end)
{
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s), hw = s->h * s->w;
    const int taps = s->kh * s->kw, opix = oh * ow;
    float x[DW_TINY_INPUT][DW_TINY_BLOCK], wt[DW_TINY_TAPS][DW_TINY_BLOCK];
    float acc[DW_TINY_PIXELS][DW_TINY_BLOCK];
    for (int c0 = c_begin; c0 < c_end; c0 += DW_TINY_BLOCK) {
        const int nc = c_end - c0 < DW_TINY_BLOCK ? c_end - c0 : DW_TINY_BLOCK;
        for (int c = 0; c < nc; c++) {
            for (int q = 0; q < hw; q++)
                x[q][c] = in[(size_t)(c0 + c) * hw + q];
            for (int t = 0; t < taps; t++)
                wt[t][c] = weight[(size_t)(c0 + c) * taps + t];
        }
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float *restrict a = acc[oy * ow + ox];
                for (int c = 0; c < nc; c++)
                    a[c] = bias ? bias[c0 + c] : 0.0f;
                for (int ki = 0; ki < s->kh; ki++) {
                    const int iy = oy * s->stride_h - s->pad_h + ki;
                    if (iy < 0 || iy >= s->h)
                        continue;
                    for (int kj = 0; kj < s->kw; kj++) {
                        const int ix = ox * s->stride_w - s->pad_w + kj;
                        if (ix < 0 || ix >= s->w)
                            continue;
                        const float *restrict xv = x[iy * s->w + ix];
                        const float *restrict wv = wt[ki * s->kw + kj];
                        for (int c = 0; c < nc; c++)
                            a[c] += wv[c] * xv[c];
                    }
                }
            }
        for (int c = 0; c < nc; c++) {
            float *o = out + (size_t)(c0 + c) * opix;
            for (int p = 0; p < opix; p++)
                o[p] = acc[p][c];
            dc_bias_act_row(o, (size_t)opix, 0.0f, act);
        }
    }
}

/* Where the portable 3x3 path beats the vector code at the given level
 * (bench/depthwise_bench, one thread): stride 2 on wide maps, where the vector code's
 * de-interleaving copy of 4 input floats per output costs more than the 9 multiply-adds
 * it feeds. AVX-512: 112x112 input 19.6 vs 17.4 GFLOP/s, 56x56 16.4 vs 24.8 (vector
 * wins from there down); AVX2: 56x56 16.4 vs 14.5, 32x32 10.7 vs 12.9. NEON takes AVX2's
 * threshold: not measured on ARM hardware (qemu-user timings mean nothing). */
static bool dw_portable_is_faster(const dc_conv_shape *s, dc_simd_level level)
{
    const int min_ow = level == DC_SIMD_AVX512 ? 48 : 24;
    return s->kh == 3 && s->kw == 3 && s->stride_h == 2 && s->stride_w == 2 &&
           s->pad_h == 1 && s->pad_w == 1 && dc_conv_out_w(s) >= min_ow;
}

/* The level to run s under, given the active one. On AVX-512, stride-1 rows of 12 to 15
 * outputs with 5x5 and 7x7 kernels run faster as two 8-wide AVX2 vectors per row (row mode,
 * loads shared by 8 rows) than in AVX-512's flat mode (bench/depthwise_bench, 14x14:
 * mnasnet 480 ch 5x5 41.9 vs 38.0 GFLOP/s, convnext 384 ch 7x7 49.4 vs 42.7); 3x3
 * kernels, 7x7 maps and stride 2 stay faster with AVX-512 (30.6 vs 27.7, 27.9 vs 18.9;
 * mnasnet 240 ch 28x28 5x5 stride 2: 35.6 vs 29.6). */
static dc_simd_level dw_level_for(const dc_conv_shape *s, dc_simd_level active)
{
    if (dw_portable_is_faster(s, active))
        return DC_SIMD_PORTABLE;
    const int ow = dc_conv_out_w(s);
    if (active == DC_SIMD_AVX512 && s->kh >= 5 && s->stride_w == 1 && ow >= 12 && ow < 16 &&
        dc_simd_supported(DC_SIMD_AVX2))
        return DC_SIMD_AVX2;
    return active;
}

void dc_depthwise_conv2d_range(const dc_conv_shape *s, const float *in,
                               const float *weight, const float *bias, dc_act act,
                               float *out, int c_begin, int c_end)
{
    if (c_begin >= c_end || dc_conv_out_h(s) == 0 || dc_conv_out_w(s) == 0)
        return;
#ifdef DC_HAVE_X86_SIMD
    /* small maps on AVX-512: read in place, no staging (depthwise_small_avx512.c) */
    if (dc_simd_active() == DC_SIMD_AVX512 &&
        dc_dw_small_avx512(s, in, weight, bias, act, out, c_begin, c_end))
        return;
#endif
    if (dw_is_tiny(s)) {
        dw_tiny_map_range(s, in, weight, bias, act, out, c_begin, c_end);
        return;
    }
#ifdef DC_HAVE_X86_SIMD
    switch (dw_level_for(s, dc_simd_active())) {
    case DC_SIMD_AVX512:
        if (dc_dw_range_avx512(s, in, weight, bias, act, out, c_begin, c_end))
            return;
        break;
    case DC_SIMD_AVX2:
        if (dc_dw_range_avx2(s, in, weight, bias, act, out, c_begin, c_end))
            return;
        break;
    default:
        break;
    }
#elif defined(DC_HAVE_NEON_SIMD)
    if (dw_level_for(s, dc_simd_active()) == DC_SIMD_NEON &&
        dc_dw_range_neon(s, in, weight, bias, act, out, c_begin, c_end))
        return;
#endif
    dw_portable_range(s, in, weight, bias, act, out, c_begin, c_end);
}

void dc_depthwise_conv2d(const dc_conv_shape *s, const float *in, const float *weight,
                         const float *bias, dc_act act, float *out)
{
    dc_depthwise_conv2d_range(s, in, weight, bias, act, out, 0, s->cin);
}
