/*
 * small_conv_wino.c — a 3x3 stride-1 dense conv of few input channels by Winograd F(4, 3)
 * down the columns (small_conv_wino_simd.h explains the method): the rule that says where
 * it pays, the weight transform made at load, and the entry point, whose plain C loops
 * below are the vector code's twin (tests, and CPUs without a vector level).
 *
 * Where it pays. One group of ResNeXt's and RegNet's grouped 3x3 convs, which the runtime
 * hands to the direct kernel group by group (dc_small_conv_pays). One thread, AVX-512, AMD
 * Zen 5, a group alone (transformed weights ready) against small_conv_simd.h's direct
 * loops: 4 channels on 56x56 (ResNeXt's first stage) 1.9x faster; 8, 16, 24 and 32
 * channels on 28x28 1.5-1.7x; 16 on 56x56 1.55x; 4 to 32 channels on 14x14 (one masked
 * vector a row) 1.25-1.4x. 2 channels only 1.08x and 1 channel slower (0.91x): the
 * transforms then cost as much as the multiplications saved. Groups of 48 and 56
 * channels on 14x14, in their nets against the F(2x2) they ran before: regnet_x_3_2gf's
 * 1.6x, regnet_y_8gf's 1.4x (ops_conv.c, choose_direct). The 3-channel stems only in a
 * depth-first head (layers/net.c: head_plan), where their output stays in L2: alone a
 * CIFAR-10 stem is 1.3x faster too, but in a network without a head its 256 KiB of output
 * per image goes to memory, whose bandwidth then sets its time (vgg16_bn, batch 64: 0.027
 * against 0.022 ms an image; in the head 0.0157 against 0.0194; docs/winograd.md).
 */
#include "kernels.h"

#include "epilogue.h"
#include "simd_kernels.h"
#include "winograd_transform.h"

enum {
    SW_MIN_CIN = 2,  /* below: the transforms cost more than the multiplications saved */
    SW_MAX_CIN = 64, /* measured to 56 (regnet_y_8gf); wider groups do not fit the band */
    SW_RULE_VLEN = 16 /* the rule holds for the widest vector (AVX-512): rows of 14 or more
                         (14 columns: one masked vector); narrower ones stay in the direct
                         kernel's flat mode, which this kernel does not have */
};

bool dc_sw_shape_fits(const dc_conv_shape *s, int vlen)
{
    return s->groups == 1 && s->kh == 3 && s->kw == 3 && s->stride_h == 1 &&
           s->stride_w == 1 && s->pad_h >= 0 && s->pad_w >= 0 && s->cin >= 1 &&
           s->cout >= 1 && dc_conv_out_h(s) >= 1 && dc_conv_out_w(s) + 2 >= vlen &&
           (size_t)s->cin * WG_T * ((size_t)dc_conv_out_w(s) + 2) <= DC_SW_V_FLOATS;
}

bool dc_small_conv_wino_pays(const dc_conv_shape *s)
{
    return dc_simd_active() != DC_SIMD_PORTABLE && s->cin >= SW_MIN_CIN &&
           s->cin <= SW_MAX_CIN && dc_sw_shape_fits(s, SW_RULE_VLEN);
}

size_t dc_small_conv_wino_weight_floats(const dc_conv_shape *s)
{
    return (size_t)s->cin * 3 * WG_T * (size_t)s->cout;
}

void dc_small_conv_wino_weights(const dc_conv_shape *s, const float *weight, float *u)
{
    const size_t cs = (size_t)s->cout;
    for (int co = 0; co < s->cout; co++)
        for (int ci = 0; ci < s->cin; ci++) {
            const float *k = weight + ((size_t)co * s->cin + ci) * 9; /* [ky][kx] */
            for (int kx = 0; kx < 3; kx++)
                for (int j = 0; j < WG_T; j++)
                    u[(((size_t)ci * 3 + kx) * WG_T + j) * cs + co] =
                        (float)(wg_g[j][0] * k[kx] + wg_g[j][1] * k[3 + kx] +
                                wg_g[j][2] * k[6 + kx]);
        }
}

/* (B^T d)_j for the 6 inputs d of one column of a tile (winograd_transform.c's B^T). */
static void sw_input_column(const float d[6], float v[6])
{
    v[0] = d[0] - 1.5f * d[1] - 2.0f * d[2] + 1.5f * d[3] + d[4];
    v[1] = -d[1] + 0.5f * d[2] + 2.5f * d[3] + d[4];
    v[2] = d[1] - 2.5f * d[2] + 0.5f * d[3] + d[4];
    v[3] = -2.0f * d[1] - d[2] + 2.0f * d[3] + d[4];
    v[4] = 0.5f * d[1] - d[2] - 0.5f * d[3] + d[4];
    v[5] = d[1] - 1.5f * d[2] - 2.0f * d[3] + 1.5f * d[4] + d[5];
}

/* The method in plain C, one output channel, tile and column at a time. */
static void sw_portable(const dc_conv_shape *s, const float *in, const float *u,
                        const float *bias, dc_act act, float *out, int co_begin, int co_end)
{
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    const size_t cs = (size_t)s->cout, oplane = (size_t)oh * ow;
    for (int co = co_begin; co < co_end; co++) {
        float *o = out + (size_t)co * oplane;
        for (int oy0 = 0; oy0 < oh; oy0 += 4)
            for (int x = 0; x < ow; x++) {
                float m[6] = { 0.0f, bias ? bias[co] : 0.0f, 0.0f, 0.0f, 0.0f, 0.0f };
                for (int ci = 0; ci < s->cin; ci++)
                    for (int kx = 0; kx < 3; kx++) {
                        const int ix = x + kx - s->pad_w;
                        float d[6], v[6];
                        for (int i = 0; i < 6; i++) {
                            const int iy = oy0 + i - s->pad_h;
                            d[i] = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w
                                       ? in[((size_t)ci * s->h + iy) * s->w + ix]
                                       : 0.0f;
                        }
                        sw_input_column(d, v);
                        for (int j = 0; j < 6; j++)
                            m[j] += u[(((size_t)ci * 3 + kx) * 6 + j) * cs + co] * v[j];
                    }
                /* A^T: [1 1 1 1 1 0], [0 1 -1 1/2 -2 0], [0 1 1 1/4 4 0], [0 1 -1 1/8 -8 1] */
                const float y[4] = {
                    m[0] + m[1] + m[2] + m[3] + m[4],
                    m[1] - m[2] + 0.5f * m[3] - 2.0f * m[4],
                    m[1] + m[2] + 0.25f * m[3] + 4.0f * m[4],
                    m[1] - m[2] + 0.125f * m[3] - 8.0f * m[4] + m[5],
                };
                for (int r = 0; r < 4 && oy0 + r < oh; r++)
                    o[(size_t)(oy0 + r) * ow + x] = y[r];
            }
        dc_bias_act_row(o, oplane, 0.0f, act);
    }
}

void dc_small_conv_wino_range(const dc_conv_shape *s, const float *in, const float *u,
                              const float *bias, dc_act act, float *out, int co_begin,
                              int co_end)
{
    if (co_begin >= co_end || dc_conv_out_h(s) <= 0 || dc_conv_out_w(s) <= 0)
        return;
#ifdef DC_HAVE_X86_SIMD
    switch (dc_simd_active()) {
    case DC_SIMD_AVX512:
        if (dc_sw_range_avx512(s, in, u, bias, act, out, co_begin, co_end))
            return;
        break;
    case DC_SIMD_AVX2:
        if (dc_sw_range_avx2(s, in, u, bias, act, out, co_begin, co_end))
            return;
        break;
    default:
        break;
    }
#elif defined(DC_HAVE_NEON_SIMD)
    if (dc_simd_active() == DC_SIMD_NEON &&
        dc_sw_range_neon(s, in, u, bias, act, out, co_begin, co_end))
        return;
#endif
    sw_portable(s, in, u, bias, act, out, co_begin, co_end);
}
