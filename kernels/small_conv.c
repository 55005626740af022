/*
 * small_conv.c — dense 2-D convolution (torch.nn.Conv2d, groups 1, dilation 1) by direct
 * loops over a range of output channels, for convs with few input channels (the stems):
 *   out[co][oy][ox] = act(bias[co] + sum_{ci,ki,kj} w[co][ci][ki][kj]
 *                                    * in[ci][oy*sh - ph + ki][ox*sw - pw + kj]),
 * zero outside the image. im2col + SGEMM (conv.c) writes and reads a cin*kh*kw-row copy
 * of the input; with cin = 3 the GEMM is short and that copy is a large part of the cost.
 * Single-threaded. The stems' shapes run the vector code of small_conv_simd.h (AVX-512 or
 * AVX2 on x86-64, NEON on AArch64); every other
 * shape, and every shape on other CPUs or under DC_FORCE_PORTABLE=1, the loops below.
 */
#include "kernels.h"

#include "epilogue.h"
#include "simd_kernels.h"

/* One output channel: start at bias, add each tap (ci, ki, kj) of each output row over
 * the clipped column interval where it meets the image, then the activation. */
static void sc_portable_channel(const dc_conv_shape *s, const float *in, const float *w,
                                float bias, dc_act act, float *restrict o, int oh, int ow)
{
    const int h = s->h, wd = s->w, sw = s->stride_w;
    const size_t npix = (size_t)oh * ow;
    for (size_t i = 0; i < npix; i++)
        o[i] = bias;
    for (int ci = 0; ci < s->cin; ci++) {
        const float *plane = in + (size_t)ci * h * wd;
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                const float kv = w[((size_t)ci * s->kh + ki) * s->kw + kj];
                const int xoff = kj - s->pad_w;
                const int ox0 = xoff >= 0 ? 0 : (-xoff + sw - 1) / sw;
                int ox1 = wd - 1 - xoff < 0 ? 0 : (wd - 1 - xoff) / sw + 1;
                if (ox1 > ow)
                    ox1 = ow;
                for (int oy = 0; oy < oh; oy++) {
                    const int iy = oy * s->stride_h - s->pad_h + ki;
                    if (iy < 0 || iy >= h)
                        continue;
                    const float *restrict row = plane + (size_t)iy * wd;
                    float *restrict orow = o + (size_t)oy * ow;
                    for (int ox = ox0; ox < ox1; ox++)
                        orow[ox] += kv * row[ox * sw + xoff];
                }
            }
    }
    dc_bias_act_row(o, npix, 0.0f, act);
}

/* Whether the vector code takes this groups-1 shape (3x3 stride 1 or 2, 7x7 stride 2, on
 * a vector level, a band of one row within the staging buffer; narrow rows run in flat
 * mode). For the stems (cin <= 4) it pays, measured with bench/depthwise_bench --stems
 * (one thread, GFLOP/s, im2col + SGEMM vs direct with AVX-512 / AVX2): 3x3 s1 at 32x32
 * (cout 16, 64, 32) 62/76/89 vs 134/157/147 and 98/107/102; 3x3 s2 at 224 (cout 16, 32,
 * 24) 44/51/51 vs 95/106/113 and 83/91/90; 7x7 s2 at 224 (cout 64) 94 vs 173 and 123. The
 * patchify 4x4 s4 at 224 (cout 96, 128) does not pay: 108/103 vs 100/102 and 77/80 (a GEMM
 * with K = 48 and no overlap between windows, so im2col is a cheap copy). Dense convs of
 * more input channels are left to im2col + SGEMM. NEON (AArch64) follows the same rule,
 * unmeasured: no ARM hardware here, and qemu-user timings mean nothing. */
static bool sc_vector_takes(const dc_conv_shape *s)
{
    const dc_simd_level level = dc_simd_active();
    if (level == DC_SIMD_PORTABLE || s->groups != 1 || s->kh != s->kw ||
        s->stride_h != s->stride_w || s->pad_h < 0 || s->pad_w < 0)
        return false;
    const int k = s->kh, st = s->stride_h;
    if (!((k == 3 && (st == 1 || st == 2)) || (k == 7 && st == 2)))
        return false;
    const int ow = dc_conv_out_w(s), halo = (k - 1) / st;
    if (dc_conv_out_h(s) < 1 || ow < 1)
        return false;
    return (long)s->cin * st * st * (1 + halo) * (ow + halo) <=
           DC_SC_STAGE_FLOATS - DC_SC_STAGE_SLACK;
}

/* A grouped conv runs group by group: one group is a dense conv of few channels, whose
 * GEMM (cin/groups * 9 deep, cout/groups rows) is too small for im2col to pay for itself.
 * One thread, batch 1, all groups of a conv, direct against im2col + SGEMM (OpenBLAS's
 * AVX2 kernels), AMD Zen 5: ResNeXt's 4-channel groups, 128x56x56 in 32 groups, 0.54
 * against 1.45-1.78 ms, its 8-channel ones on 28x28 0.25-0.29 against 1.04-1.18; RegNet's
 * stride-2 convs to 56x56 and 28x28 of 8 to 24 channels a group 1.3-2.9x faster
 * (48x112x112 in 6 groups 0.27 against 0.77-0.89 ms, 168x56x56 in 7 groups 0.60 against
 * 1.01-1.13). At 48 channels a group about even (192x56x56 in 4 groups 1.24 against 1.32
 * ms), hence the bound; 3x3 only (the zoo has no other grouped dense kernels). */
enum { SC_GROUP_MAX_CIN = DC_SMALL_CONV_GROUP_MAX_CIN };

bool dc_small_conv_pays(const dc_conv_shape *s)
{
    if (s->groups == 1)
        return s->cin <= 4 && sc_vector_takes(s);
    if (s->groups < 1 || s->cin % s->groups || s->cout % s->groups)
        return false;
    const dc_conv_shape g = dc_conv_group_shape(s);
    return g.cin <= SC_GROUP_MAX_CIN && g.cout >= 4 && g.kh == 3 && sc_vector_takes(&g);
}

void dc_small_conv2d_range(const dc_conv_shape *s, const float *in, const float *weight,
                           const float *bias, dc_act act, float *out, int co_begin,
                           int co_end)
{
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    if (co_begin >= co_end || oh == 0 || ow == 0)
        return;
#ifdef DC_HAVE_X86_SIMD
    switch (dc_simd_active()) {
    case DC_SIMD_AVX512:
        if (dc_sc_range_avx512(s, in, weight, bias, act, out, co_begin, co_end))
            return;
        break;
    case DC_SIMD_AVX2:
        if (dc_sc_range_avx2(s, in, weight, bias, act, out, co_begin, co_end))
            return;
        break;
    default:
        break;
    }
#elif defined(DC_HAVE_NEON_SIMD)
    if (dc_simd_active() == DC_SIMD_NEON &&
        dc_sc_range_neon(s, in, weight, bias, act, out, co_begin, co_end))
        return;
#endif
    const size_t taps = (size_t)s->cin * s->kh * s->kw, npix = (size_t)oh * ow;
    for (int co = co_begin; co < co_end; co++)
        sc_portable_channel(s, in, weight + (size_t)co * taps, bias ? bias[co] : 0.0f, act,
                            out + (size_t)co * npix, oh, ow);
}
