/*
 * test_kernels.c — every kernel of kernels/kernels.h against a naive twin.
 *
 * The twins below are written from PyTorch's definitions (nested loops, double sums),
 * not from the optimised code; a few golden arrays computed by PyTorch 1.13 anchor the
 * twins themselves. Shapes are chosen to be awkward: odd channel counts, non-square
 * images and kernels, stride 2, padding 0/1/2, groups, kernels larger than the image.
 * Every output buffer carries a guard tail that must survive the call.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "kernels/kernels.h"
#include "kernels/simd_kernels.h"

/* ---- helpers ------------------------------------------------------------ */

/* Element loops test a condition and only then call ck_abort_msg: every passing
 * ck_assert writes its location down Check's pipe, which costs seconds over a big buffer. */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const dc_act all_acts[] = { DC_ACT_NONE, DC_ACT_RELU, DC_ACT_RELU6 };
static const char *act_name(dc_act a)
{
    return a == DC_ACT_RELU ? "relu" : a == DC_ACT_RELU6 ? "relu6" : "none";
}

/* |got - ref| <= rel * max(1, max|ref|) everywhere. */
static void check_close(const float *got, const float *ref, size_t n, double rel,
                        const char *what)
{
    double scale = fx_max_abs(ref, n);
    double tol = rel * (scale > 1.0 ? scale : 1.0);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= tol))
            ck_abort_msg("%s: index %zu: got %.9g, want %.9g (|diff| %.3g > tol %.3g)", what,
                         i, got[i], ref[i], d, tol);
    }
}

/* |got - ref| <= rel * max(1, |ref|) element by element (pooling averages). */
static void check_close_each(const float *got, const float *ref, size_t n, double rel,
                             const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)ref[i]);
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= rel * (a > 1.0 ? a : 1.0)))
            ck_abort_msg("%s: index %zu: got %.9g, want %.9g", what, i, got[i], ref[i]);
    }
}

static void check_exact(const float *got, const float *ref, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!(got[i] == ref[i] || (isnan(got[i]) && isnan(ref[i]))))
            ck_abort_msg("%s: index %zu: got %.9g, want %.9g", what, i, got[i], ref[i]);
}

/* ---- naive twins -------------------------------------------------------- */

static double naive_act(dc_act a, double v)
{
    double relu6_3 = v + 3.0 < 0.0 ? 0.0 : v + 3.0 > 6.0 ? 6.0 : v + 3.0;
    switch (a) { /* the PyTorch modules' definitions, in double */
    case DC_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case DC_ACT_SILU: return v / (1.0 + exp(-v));
    case DC_ACT_HARDSIGMOID: return relu6_3 / 6.0;
    case DC_ACT_HARDSWISH: return v * relu6_3 / 6.0;
    case DC_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    default: break;
    }
    if (a == DC_ACT_RELU || a == DC_ACT_RELU6)
        v = v < 0.0 ? 0.0 : v;
    if (a == DC_ACT_RELU6)
        v = v > 6.0 ? 6.0 : v;
    return v;
}

/* torch.nn.Conv2d output extent: floor((size + 2*pad - k) / stride) + 1. */
static int naive_conv_extent(int size, int k, int stride, int pad)
{
    return (int)floor((double)(size + 2 * pad - k) / stride) + 1;
}

/* torch.nn.Conv2d, straight from its definition:
 * out[co][y][x] = b[co] + sum_{c < cin/g, i < kh, j < kw}
 *                 w[co][c][i][j] * in_pad[g*cin/g + c][y*sh + i][x*sw + j],
 * with g = co / (cout/groups) and in_pad the input with zero borders. */
static void naive_conv(const dc_conv_shape *s, const float *in, const float *w,
                       const float *b, dc_act act, float *out)
{
    int oh = naive_conv_extent(s->h, s->kh, s->stride_h, s->pad_h);
    int ow = naive_conv_extent(s->w, s->kw, s->stride_w, s->pad_w);
    int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups;
    for (int co = 0; co < s->cout; co++) {
        int g = co / cout_g;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double acc = b ? b[co] : 0.0;
                for (int c = 0; c < cin_g; c++)
                    for (int i = 0; i < s->kh; i++)
                        for (int j = 0; j < s->kw; j++) {
                            int iy = y * s->stride_h + i - s->pad_h;
                            int ix = x * s->stride_w + j - s->pad_w;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            double wv = w[((co * cin_g + c) * s->kh + i) * s->kw + j];
                            double xv = in[((g * cin_g + c) * s->h + iy) * s->w + ix];
                            acc += wv * xv;
                        }
                out[(co * oh + y) * ow + x] = (float)naive_act(act, acc);
            }
    }
}

/* PyTorch's pooling_output_shape, transcribed. */
static int naive_pool_extent(int size, int k, int stride, int pad, bool ceil_mode)
{
    double q = (double)(size + 2 * pad - k) / stride;
    int out = (int)(ceil_mode ? ceil(q) : floor(q)) + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad)
        out--;
    return out;
}

/* torch.nn.MaxPool2d: max over the window of the -inf padded image. */
static void naive_maxpool(int c, int h, int w, int k, int s, int p, bool ceil_mode,
                          const float *in, float *out)
{
    int oh = naive_pool_extent(h, k, s, p, ceil_mode), ow = naive_pool_extent(w, k, s, p, ceil_mode);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double m = -INFINITY;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int iy = y * s - p + i, ix = x * s - p + j;
                        double v = (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                       ? -INFINITY
                                       : in[(ch * h + iy) * w + ix];
                        if (v > m)
                            m = v;
                    }
                out[(ch * oh + y) * ow + x] = (float)m;
            }
}

/* torch.nn.AvgPool2d: mean over the window; with count_include_pad the divisor counts
 * every window cell inside the padded image [-p, size + p) (not the ceil-mode overhang
 * beyond it), otherwise only the real cells. */
static void naive_avgpool(int c, int h, int w, int k, int s, int p, bool ceil_mode,
                          bool count_include_pad, const float *in, float *out)
{
    int oh = naive_pool_extent(h, k, s, p, ceil_mode), ow = naive_pool_extent(w, k, s, p, ceil_mode);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double sum = 0.0;
                int padded = 0, real = 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int iy = y * s - p + i, ix = x * s - p + j;
                        if (iy >= h + p || ix >= w + p)
                            continue; /* ceil-mode overhang */
                        padded++;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            continue; /* padding */
                        real++;
                        sum += in[(ch * h + iy) * w + ix];
                    }
                out[(ch * oh + y) * ow + x] = (float)(sum / (count_include_pad ? padded : real));
            }
}

/* torch.nn.AdaptiveAvgPool2d: bin i of n over size spans [floor(i*size/n), ceil((i+1)*size/n)). */
static void naive_adaptive(int c, int h, int w, int oh, int ow, const float *in, float *out)
{
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                int y0 = (int)floor((double)y * h / oh), y1 = (int)ceil((double)(y + 1) * h / oh);
                int x0 = (int)floor((double)x * w / ow), x1 = (int)ceil((double)(x + 1) * w / ow);
                double sum = 0.0;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        sum += in[(ch * h + iy) * w + ix];
                out[(ch * oh + y) * ow + x] = (float)(sum / ((y1 - y0) * (x1 - x0)));
            }
}

/* ---- activation --------------------------------------------------------- */

START_TEST(test_act_apply)
{
    /* 19 values: not a multiple of any vector width; both clamp edges and beyond. */
    const float src[19] = { -7.0f, -1.0f, -0.0f, 0.0f, 1e-7f, 0.5f, 1.0f, 5.999f, 6.0f,
                            6.001f, 7.0f, 100.0f, -100.0f, 3.0f, -3.0f, 2.5f, -2.5f, 6.5f,
                            -0.25f };
    for (size_t a = 0; a < NELEM(all_acts); a++) {
        float *x = fx_buf_new(19);
        float ref[19];
        memcpy(x, src, sizeof src);
        for (int i = 0; i < 19; i++)
            ref[i] = (float)naive_act(all_acts[a], src[i]);
        dc_act_apply(all_acts[a], x, 19);
        check_exact(x, ref, 19, act_name(all_acts[a]));
        fx_buf_check(x, 19, act_name(all_acts[a]));
        free(x);
    }
    /* NaN passes through, as in torch.relu / torch.nn.ReLU6 */
    float nan1[1] = { NAN }, nan2[1] = { NAN };
    dc_act_apply(DC_ACT_RELU, nan1, 1);
    dc_act_apply(DC_ACT_RELU6, nan2, 1);
    ck_assert(isnan(nan1[0]) && isnan(nan2[0]));
}
END_TEST

START_TEST(test_act_smooth)
{
    static const dc_act smooth[] = { DC_ACT_SIGMOID, DC_ACT_SILU, DC_ACT_HARDSIGMOID,
                                     DC_ACT_HARDSWISH, DC_ACT_GELU };
    enum { N = 401 };
    for (size_t a = 0; a < NELEM(smooth); a++) {
        float x[N], src[N];
        for (int i = 0; i < N; i++) /* -10 .. 10 in steps of 0.05, hitting -3 and 3 */
            src[i] = x[i] = -10.0f + 0.05f * (float)i;
        dc_act_apply(smooth[a], x, N);
        for (int i = 0; i < N; i++) {
            double want = naive_act(smooth[a], src[i]);
            if (fabs(x[i] - want) > 1e-6 * (1.0 + fabs(want)))
                ck_abort_msg("act %d at %g: %.9g, want %.9g", (int)smooth[a], (double)src[i],
                             (double)x[i], want);
        }
    }
    /* torch values: hardswish(-3) = 0, hardswish(3) = 3, hardsigmoid(0) = 0.5,
     * gelu(1) = 0.8413447, silu(1) = 0.7310586 */
    float v[5] = { -3.0f, 3.0f, 0.0f, 1.0f, 1.0f };
    dc_act_apply(DC_ACT_HARDSWISH, v, 2);
    dc_act_apply(DC_ACT_HARDSIGMOID, v + 2, 1);
    dc_act_apply(DC_ACT_GELU, v + 3, 1);
    dc_act_apply(DC_ACT_SILU, v + 4, 1);
    ck_assert_float_eq(v[0], 0.0f);
    ck_assert_float_eq(v[1], 3.0f);
    ck_assert_float_eq(v[2], 0.5f);
    ck_assert_float_eq_tol(v[3], 0.8413447f, 1e-6f);
    ck_assert_float_eq_tol(v[4], 0.7310586f, 1e-6f);
}
END_TEST

START_TEST(test_scale_shift_and_channel_scale)
{
    enum { C = 5, HW = 13 };
    fx_rng r = fx_rng_seed(21);
    float in[C * HW], scale[C], shift[C], out[C * HW];
    fx_fill_uniform(in, C * HW, &r, -4.0f, 4.0f);
    fx_fill_uniform(scale, C, &r, -2.0f, 2.0f);
    fx_fill_uniform(shift, C, &r, -1.0f, 1.0f);
    static const dc_act acts[] = { DC_ACT_NONE, DC_ACT_RELU, DC_ACT_HARDSWISH };
    for (size_t a = 0; a < NELEM(acts); a++) {
        dc_scale_shift(C, HW, scale, shift, acts[a], in, out);
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++) {
                double want = naive_act(acts[a], (double)scale[c] * in[c * HW + i] + shift[c]);
                if (fabs(out[c * HW + i] - want) > 1e-5 * (1.0 + fabs(want)))
                    ck_abort_msg("scale_shift act %d [%d][%d]: %g, want %g", (int)acts[a], c,
                                 i, (double)out[c * HW + i], want);
            }
    }
    dc_channel_scale(C, HW, scale, in, out);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < HW; i++)
            ck_assert_float_eq(out[c * HW + i], in[c * HW + i] * scale[c]);
    memcpy(out, in, sizeof in); /* in place */
    dc_channel_scale(C, HW, scale, out, out);
    ck_assert_float_eq(out[3 * HW + 7], in[3 * HW + 7] * scale[3]);
}
END_TEST

/* ---- convolution -------------------------------------------------------- */

START_TEST(test_conv_out_size)
{
    /* h and w differ everywhere so a swapped axis shows. */
    const struct { dc_conv_shape s; int oh, ow; } t[] = {
        { { 3, 32, 31, 8, 3, 3, 1, 1, 1, 1, 1 }, 32, 31 },
        { { 3, 7, 11, 8, 3, 3, 2, 2, 1, 1, 1 }, 4, 6 },
        { { 3, 7, 11, 8, 5, 5, 2, 2, 2, 2, 1 }, 4, 6 },
        { { 3, 7, 11, 8, 1, 3, 1, 2, 0, 1, 1 }, 7, 6 },
        { { 3, 7, 11, 8, 3, 1, 2, 1, 0, 0, 1 }, 3, 11 },
        { { 3, 2, 3, 8, 5, 5, 1, 1, 2, 2, 1 }, 2, 3 },  /* kernel larger than the image */
        { { 3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 1 }, 112, 112 },
        { { 3, 2, 2, 8, 5, 5, 1, 1, 0, 0, 1 }, 0, 0 },  /* too small: no output */
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        ck_assert_int_eq(dc_conv_out_h(&t[i].s), t[i].oh);
        ck_assert_int_eq(dc_conv_out_w(&t[i].s), t[i].ow);
    }
}
END_TEST

START_TEST(test_conv_workspace)
{
    dc_conv_shape pw = { 16, 7, 11, 24, 1, 1, 1, 1, 0, 0, 1 };
    ck_assert_uint_eq(dc_conv2d_workspace_floats(&pw), 0);
    pw.groups = 4;
    ck_assert_uint_eq(dc_conv2d_workspace_floats(&pw), 0);
    dc_conv_shape strided = { 16, 7, 11, 24, 1, 1, 2, 2, 0, 0, 1 };
    ck_assert_uint_eq(dc_conv2d_workspace_floats(&strided), 16u * 4 * 6);
    dc_conv_shape padded = { 16, 7, 11, 24, 1, 1, 1, 1, 1, 1, 1 };
    ck_assert_uint_eq(dc_conv2d_workspace_floats(&padded), 16u * 9 * 13);
    /* one group's im2col at a time: cin/groups rows per tap */
    dc_conv_shape grouped = { 16, 7, 11, 24, 3, 3, 2, 2, 1, 1, 4 };
    ck_assert_uint_eq(dc_conv2d_workspace_floats(&grouped), 4u * 9 * 4 * 6);
}
END_TEST

/* dc_im2col against its definition, exactly: row (c*kh + i)*kw + j, column y*ow + x holds
 * in[c][y*sh - ph + i][x*sw - pw + j], or 0 outside the image. */
START_TEST(test_im2col)
{
    const int t[][8] = { /* c, h, w, kh, kw, sh, sw, ph/pw packed below */
        { 3, 7, 11, 3, 3, 1, 1, 1 }, { 2, 7, 11, 3, 3, 2, 2, 1 }, { 2, 5, 6, 5, 5, 2, 1, 2 },
        { 5, 4, 9, 1, 3, 1, 2, 0 }, { 1, 2, 3, 5, 5, 1, 1, 2 }, { 2, 6, 5, 3, 1, 3, 1, 0 },
    };
    const int pads[][2] = { { 1, 1 }, { 1, 0 }, { 2, 1 }, { 0, 1 }, { 2, 2 }, { 1, 0 } };
    fx_rng r = fx_rng_seed(11);
    for (size_t n = 0; n < NELEM(t); n++) {
        int c = t[n][0], h = t[n][1], w = t[n][2], kh = t[n][3], kw = t[n][4];
        int sh = t[n][5], sw = t[n][6], ph = pads[n][0], pw = pads[n][1];
        int oh = naive_conv_extent(h, kh, sh, ph), ow = naive_conv_extent(w, kw, sw, pw);
        size_t rows = (size_t)c * kh * kw, cols = (size_t)oh * ow;
        float *in = fx_buf_random((size_t)c * h * w, &r, -1.0f, 1.0f);
        float *col = fx_buf_new(rows * cols);
        float *ref = malloc(rows * cols * sizeof(float));
        for (int ci = 0; ci < c; ci++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++)
                    for (int y = 0; y < oh; y++)
                        for (int x = 0; x < ow; x++) {
                            int iy = y * sh - ph + i, ix = x * sw - pw + j;
                            bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                            ref[((ci * kh + i) * kw + j) * cols + y * ow + x] =
                                inside ? in[(ci * h + iy) * w + ix] : 0.0f;
                        }
        dc_im2col(in, c, h, w, kh, kw, sh, sw, ph, pw, col);
        char what[64];
        snprintf(what, sizeof what, "im2col case %zu", n);
        check_exact(col, ref, rows * cols, what);
        fx_buf_check(col, rows * cols, what);
        free(in), free(col), free(ref);
    }
}
END_TEST

/* Golden values from torch.nn.functional.conv2d(x, w, b, stride=(2,1), padding=(1,2),
 * groups=2) on x [1][4][4][5] = (arange % 7) - 3, w [4][2][2][3] = (arange % 5) - 2. */
static const float gold_conv_b[4] = { 0.5f, -1.0f, 2.0f, 0.25f };
static const float gold_conv_out[84] = {
    3.5f, -4.5f, 9.5f, -4.5f, -4.5f, 0.5f, 1.5f, 2.5f, 0.5f, -9.5f, -12.5f, 12.5f, 3.5f,
    7.5f, -2.5f, 0.5f, 7.5f, 4.5f, 1.5f, -3.5f, -4.5f, 2.0f, -1.0f, 2.0f, 6.0f, 3.0f, -1.0f,
    -3.0f, 0.0f, 5.0f, -4.0f, 4.0f, -9.0f, -14.0f, 0.0f, 1.0f, -7.0f, -7.0f, -3.0f, 1.0f,
    3.0f, 0.0f, 4.0f, 8.0f, -2.0f, 9.0f, -1.0f, -6.0f, 0.0f, 4.0f, -4.0f, -6.0f, -6.0f, 1.0f,
    11.0f, -9.0f, -1.0f, -3.0f, 9.0f, -2.0f, 8.0f, 5.0f, 4.0f, -1.75f, -7.75f, -2.75f, 7.25f,
    -3.75f, 6.25f, 2.25f, 0.25f, 8.25f, 10.25f, 9.25f, 1.25f, -2.75f, 5.25f, 7.25f, 5.25f,
    -7.75f, -4.75f, -1.75f, 0.25f, 0.25f,
};

START_TEST(test_conv_golden)
{
    const dc_conv_shape s = { 4, 4, 5, 4, 2, 3, 2, 1, 1, 2, 2 };
    float in[80], w[48];
    for (int i = 0; i < 80; i++)
        in[i] = (float)(i % 7 - 3);
    for (int i = 0; i < 48; i++)
        w[i] = (float)(i % 5 - 2);
    ck_assert_int_eq(dc_conv_out_h(&s), 3);
    ck_assert_int_eq(dc_conv_out_w(&s), 7);

    float ref[84];
    naive_conv(&s, in, w, gold_conv_b, DC_ACT_NONE, ref);
    check_exact(ref, gold_conv_out, 84, "naive twin vs torch");

    float *ws = fx_buf_new(dc_conv2d_workspace_floats(&s));
    float *out = fx_buf_new(84);
    dc_conv2d(&s, in, w, gold_conv_b, DC_ACT_NONE, out, ws);
    check_close(out, gold_conv_out, 84, 1e-6, "dc_conv2d vs torch");
    fx_buf_check(out, 84, "conv out");
    fx_buf_check(ws, dc_conv2d_workspace_floats(&s), "conv workspace");
    free(ws), free(out);
}
END_TEST

/* cin, h, w, cout, kh, kw, stride_h, stride_w, pad_h, pad_w, groups */
static const dc_conv_shape conv_cases[] = {
    { 3, 7, 11, 5, 3, 3, 1, 1, 1, 1, 1 },      /* plain 3x3, non-square image */
    { 3, 7, 11, 13, 3, 3, 2, 2, 1, 1, 1 },     /* stride 2 */
    { 5, 9, 6, 17, 3, 3, 2, 2, 0, 0, 1 },      /* pad 0, stride 2 */
    { 5, 8, 9, 7, 5, 5, 1, 1, 2, 2, 1 },       /* 5x5 pad 2 */
    { 5, 8, 9, 7, 5, 5, 2, 2, 2, 2, 1 },       /* 5x5 stride 2 pad 2 */
    { 4, 7, 11, 6, 1, 3, 1, 1, 0, 1, 2 },      /* 1x3, groups 2 */
    { 4, 7, 11, 8, 3, 1, 1, 2, 1, 0, 4 },      /* 3x1, stride (1,2), groups 4 */
    { 8, 6, 10, 12, 3, 3, 2, 1, 2, 1, 4 },     /* groups 4, stride (2,1), pad (2,1) */
    { 6, 5, 7, 9, 2, 4, 1, 3, 0, 2, 3 },       /* even kernel 2x4, groups 3 */
    { 13, 7, 11, 17, 1, 1, 1, 1, 0, 0, 1 },    /* 1x1 fast path */
    { 16, 5, 7, 12, 1, 1, 1, 1, 0, 0, 4 },     /* 1x1 fast path, groups 4 */
    { 13, 7, 11, 17, 1, 1, 2, 2, 0, 0, 1 },    /* 1x1 stride 2: im2col */
    { 3, 5, 69, 4, 3, 3, 2, 2, 1, 1, 1 },      /* stride 2, rows of 35: 16 + 16 + 3 */
    { 2, 4, 37, 3, 1, 1, 2, 2, 0, 0, 1 },      /* 1x1 stride 2, rows of 19, odd width */
    { 2, 5, 34, 3, 3, 3, 2, 2, 0, 0, 1 },      /* stride 2, rows of exactly 16, pad 0 */
    { 13, 7, 11, 9, 1, 1, 1, 1, 1, 1, 1 },     /* 1x1 padded: im2col */
    { 3, 2, 3, 5, 5, 5, 1, 1, 2, 2, 1 },       /* kernel larger than the image */
    { 3, 3, 2, 4, 7, 5, 2, 1, 3, 2, 1 },       /* kernel larger, every axis different */
    { 13, 7, 11, 13, 3, 3, 1, 1, 1, 1, 13 },   /* depthwise through dc_conv2d */
    { 17, 9, 9, 17, 3, 3, 2, 2, 1, 1, 17 },    /* depthwise stride 2 */
    { 6, 5, 5, 12, 3, 3, 1, 1, 1, 1, 6 },      /* groups == cin, channel multiplier 2 */
    { 1, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1 },       /* 1x1 image */
    { 2, 1, 9, 3, 3, 3, 1, 2, 1, 1, 1 },       /* single-row image */
    { 3, 32, 40, 16, 3, 3, 1, 1, 1, 1, 1 },    /* big enough for threaded im2col */
    { 8, 64, 64, 16, 3, 3, 1, 1, 1, 1, 1 },    /* threaded im2col and epilogue */
    { 24, 40, 40, 48, 1, 1, 1, 1, 0, 0, 2 },   /* threaded epilogue, 1x1 path */
};

START_TEST(test_conv_random)
{
    const dc_conv_shape *s = &conv_cases[_i];
    fx_rng r = fx_rng_seed(100 + (uint64_t)_i);
    int oh = naive_conv_extent(s->h, s->kh, s->stride_h, s->pad_h);
    int ow = naive_conv_extent(s->w, s->kw, s->stride_w, s->pad_w);
    ck_assert_int_eq(dc_conv_out_h(s), oh);
    ck_assert_int_eq(dc_conv_out_w(s), ow);
    size_t n_in = (size_t)s->cin * s->h * s->w;
    size_t n_w = (size_t)s->cout * (s->cin / s->groups) * s->kh * s->kw;
    size_t n_out = (size_t)s->cout * oh * ow;
    size_t n_ws = dc_conv2d_workspace_floats(s);
    bool pointwise = s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 &&
                     s->pad_h == 0 && s->pad_w == 0;
    ck_assert(pointwise == (n_ws == 0));

    float *in = fx_buf_random(n_in, &r, -2.0f, 2.0f);
    float *w = fx_buf_random(n_w, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *ref = malloc(n_out * sizeof(float));
    for (size_t a = 0; a < NELEM(all_acts); a++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            /* the fast path must not touch the workspace at all: hand it NULL */
            float *ws = n_ws ? fx_buf_new(n_ws) : NULL;
            float *out = fx_buf_new(n_out);
            naive_conv(s, in, w, bias, all_acts[a], ref);
            dc_conv2d(s, in, w, bias, all_acts[a], out, ws);
            char what[96];
            snprintf(what, sizeof what, "conv case %d act %s bias %d", _i, act_name(all_acts[a]),
                     with_bias);
            check_close(out, ref, n_out, 1e-4, what);
            fx_buf_check(out, n_out, what);
            if (ws)
                fx_buf_check(ws, n_ws, what);
            free(ws), free(out);
        }
    free(in), free(w), free(b), free(ref);
}
END_TEST

/* ---- convs on packed weights (kernels/conv_packed.c, gemm_packed.c) ---------- */

/* Every register block of the packed GEMM (1 to 4 vectors of 16 pixels, and more than 4 in
 * groups: 5x5 to 16x16 outputs), cout not a multiple of the block's rows, pixel counts not
 * a multiple of 16, 1x1 convs (a copy, not im2col, or the input itself), strides, padding
 * wider than the image, a 1x1 map. */
static const dc_conv_shape packed_cases[] = {
    { 7, 4, 4, 5, 1, 1, 1, 1, 0, 0, 1 },        /* 16 pixels: 1 vector, R 16 */
    { 13, 7, 7, 29, 1, 1, 1, 1, 0, 0, 1 },      /* 49 pixels: 4 vectors, R 6 */
    { 9, 5, 5, 17, 3, 3, 1, 1, 1, 1, 1 },       /* 25 pixels: 2 vectors, R 12 */
    { 5, 14, 14, 19, 3, 3, 2, 2, 1, 1, 1 },     /* stride 2 to 7x7 */
    { 11, 6, 7, 9, 3, 3, 1, 1, 1, 1, 1 },       /* 42 pixels: 3 vectors, R 8 */
    { 6, 14, 14, 13, 1, 1, 1, 1, 0, 0, 1 },     /* 196 pixels: 13 vectors in groups */
    { 3, 16, 16, 7, 3, 3, 1, 1, 1, 1, 1 },      /* 256 pixels, the largest */
    { 4, 1, 1, 33, 3, 3, 1, 1, 2, 2, 1 },       /* padding wider than the image: 3x3 out */
    /* 3x3 convs on small maps with many terms: vgg16_bn's 4x4 (the skinny GEMM took them
     * before) and, as a kernel case, 2x2 (which the skinny GEMM keeps in the nets) */
    { 37, 4, 4, 35, 3, 3, 1, 1, 1, 1, 1 },      /* 16 pixels, 333 terms, R 16 */
    { 70, 2, 2, 21, 3, 3, 1, 1, 1, 1, 1 },      /* 4 pixels, 630 terms */
    { 2, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1 },        /* a 1x1 map */
    /* 1 to 4 pixels run down the rows (gemm_packed.c, product_down_rows): 3 and 2
     * pixels, an odd number of terms */
    { 9, 1, 3, 18, 3, 3, 1, 1, 1, 1, 1 },       /* 1x3 out, 81 terms, R 16 + 2 rows */
    { 5, 2, 1, 33, 1, 1, 1, 1, 0, 0, 1 },       /* 2x1 out, 5 terms */
    { 8, 9, 11, 10, 5, 5, 2, 2, 2, 2, 1 },      /* 5x5 stride 2: 5x6 out */
    /* 1x1 on whole vectors of pixels: the input read in place, whole blocks of rows
     * written straight to out, the partial last block (and ranges off the block bounds)
     * through the scratch block */
    { 19, 4, 4, 40, 1, 1, 1, 1, 0, 0, 1 },      /* R 16: two whole blocks and 8 rows */
    { 7, 8, 8, 37, 1, 1, 1, 1, 0, 0, 1 },       /* R 6: six whole blocks and 1 row */
    { 5, 16, 16, 13, 1, 1, 1, 1, 0, 0, 1 },     /* 256 pixels in groups, R 6 */
    { 3, 32, 32, 14, 1, 1, 1, 1, 0, 0, 1 },     /* 1024 pixels: the largest 1x1 */
    /* wider 1x1 maps whose input fits DC_CONV_PACKED_WIDE_POINTWISE_FLOATS (batches under
     * 8): resnet50's 56x56 from 64 channels (with 37 out), a 112x112 from 16 */
    { 64, 56, 56, 37, 1, 1, 1, 1, 0, 0, 1 },    /* 3136 pixels, 200704 input floats */
    { 16, 112, 112, 5, 1, 1, 1, 1, 0, 0, 1 },   /* 12544 pixels */
    /* deeper: run in tiles of pixels (dc_conv_packed_l2_tile), here of 496 */
    { 132, 48, 48, 21, 1, 1, 1, 1, 0, 0, 1 },   /* 2304 pixels, 304128 input floats */
    /* strided convs on maps over 256 pixels: the same, each tile with its own im2col;
     * tiles of 176 and 432 pixels, the last ones shorter (maps of 289 and 600 pixels) */
    { 80, 34, 34, 19, 3, 3, 2, 2, 1, 1, 1 },    /* 17x17 out, depth 720 */
    { 300, 39, 59, 17, 1, 1, 2, 2, 0, 0, 1 },   /* 1x1 stride 2: 20x30 out, depth 300 */
};

/* Which 1x1 convs on maps wider than 32x32 take the packed GEMM: read in place, at batches
 * under 8; whole when the input is at most 1 MiB (DC_CONV_PACKED_WIDE_POINTWISE_FLOATS),
 * else in tiles of whole vectors of pixels whose columns fit DC_CONV_PACKED_L2_TILE_FLOATS. */
START_TEST(test_conv_packed_wide_pointwise_rule)
{
    const dc_conv_shape fits = { 64, 56, 56, 256, 1, 1, 1, 1, 0, 0, 1 };   /* 784 KiB */
    const dc_conv_shape deep = { 256, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1 };   /* 3 MiB */
    const dc_conv_shape deepest = { 4096, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1 };
    const dc_conv_shape ragged = { 64, 55, 55, 256, 1, 1, 1, 1, 0, 0, 1 };   /* 3025 pixels */
    const dc_conv_shape strided = { 16, 112, 112, 64, 1, 1, 2, 2, 0, 0, 1 };
    const dc_conv_shape small = { 512, 28, 28, 64, 1, 1, 1, 1, 0, 0, 1 };  /* 784 pixels */
    ck_assert(dc_conv_packed_applies(&fits));
    ck_assert(dc_conv_packed_pays(&fits, 1) && dc_conv_packed_pays(&fits, 7));
    ck_assert(!dc_conv_packed_pays(&fits, 8));
    ck_assert_int_eq(dc_conv_packed_l2_tile(&fits), 0); /* read whole */
    ck_assert(dc_conv_packed_applies(&deep));
    ck_assert(dc_conv_packed_pays(&deep, 1) && dc_conv_packed_pays(&deep, 7));
    ck_assert(!dc_conv_packed_pays(&deep, 8));
    /* 65536 floats / 256 rows: 256 pixels, 16 vectors */
    ck_assert_int_eq(dc_conv_packed_l2_tile(&deep), 256);
    ck_assert_int_eq(dc_conv_packed_l2_tile(&deepest), 4 * DC_PACKED_LANES); /* at least */
    ck_assert_int_eq(dc_conv_packed_l2_tile(&small), 0); /* up to 32x32: the small-map rule */
    ck_assert(!dc_conv_packed_applies(&ragged));
    ck_assert(dc_conv_packed_applies(&strided)); /* by tiles; too shallow to pay */
    ck_assert(!dc_conv_packed_pays(&strided, 1));
    ck_assert_int_eq(dc_conv_packed_l2_tile(&ragged), 0);
    /* strided convs on maps over 256 pixels: by tiles whose im2col fits
     * DC_CONV_PACKED_STRIDED_TILE_FLOATS (resnet50's 3x3 stride-2 conv to 28x28, depth
     * 1152: 7 vectors; its 1x1 stride-2 one, depth 256: 32), at least 4 vectors
     * (inception_v3's 288 -> 384 conv, depth 2592) */
    const dc_conv_shape s2 = { 128, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1 };
    const dc_conv_shape s2_1x1 = { 256, 56, 56, 512, 1, 1, 2, 2, 0, 0, 1 };
    const dc_conv_shape s2_small = { 256, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1 }; /* 196 out */
    const dc_conv_shape s2_grouped = { 128, 56, 56, 128, 3, 3, 2, 2, 1, 1, 32 };
    const dc_conv_shape s2_deep = { 288, 35, 35, 384, 3, 3, 2, 2, 0, 0, 1 };
    ck_assert_int_eq(dc_conv_packed_l2_tile(&s2), 112);
    ck_assert_int_eq(dc_conv_packed_l2_tile(&s2_1x1), 512);
    ck_assert_int_eq(dc_conv_packed_l2_tile(&s2_deep), 4 * DC_PACKED_LANES);
    ck_assert(dc_conv_packed_pays(&s2, 1) && !dc_conv_packed_pays(&s2, 8));
    ck_assert(dc_conv_packed_pays(&s2_1x1, 1));
    ck_assert_int_eq(dc_conv_packed_l2_tile(&s2_small), 0); /* whole: the small-map rule */
    ck_assert_int_eq(dc_conv_packed_l2_tile(&s2_grouped), 0);
    ck_assert(!dc_conv_packed_applies(&s2_grouped));
}
END_TEST

/* The packed GEMM with its epilogue against a double-precision twin, for 1 to 6 columns
 * (1 to 4 run down the rows of a 16-row block, 5 and 6 across the columns), odd and even
 * depths, every fused act, with and without bias and residual: only the block's rows, and
 * only its first `cols` columns of each, are compared. */
START_TEST(test_gemm_packed_few_columns)
{
    const int cols = 1 + _i % 6, k = _i / 6 ? 37 : 64, m = 21, R = 16;
    fx_rng r = fx_rng_seed(900 + (uint64_t)_i);
    const size_t ld = DC_PACKED_LANES; /* b and c rows: one vector */
    float *a = fx_buf_random((size_t)m * k, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)k * ld, &r, -2.0f, 2.0f);
    float *bias = fx_buf_random((size_t)R * 2, &r, -1.0f, 1.0f);
    float *res = fx_buf_random((size_t)R * 2 * ld, &r, -1.0f, 1.0f);
    float *ap = fx_buf_new(dc_packed_floats(m, k, R));
    dc_pack_a(m, k, R, a, k, ap);
    for (int block = 0; block < 2; block++) /* rows 0-15, then 16-20 and padding */
        for (size_t act = 0; act < NELEM(all_acts); act++)
            for (int variant = 0; variant < 3; variant++) { /* plain, bias, bias + res */
                float *c = fx_buf_new((size_t)R * ld);
                const float *bb = variant ? bias + block * R : NULL;
                const float *rr = variant == 2 ? res + (size_t)block * R * ld : NULL;
                if (variant == 0 && all_acts[act] == DC_ACT_NONE)
                    dc_gemm_packed_block(R, block, k, cols, ap, b, ld, c, ld);
                else
                    dc_gemm_packed_block_act(R, block, k, cols, ap, b, ld, c, ld, bb, rr, ld,
                                             all_acts[act]);
                for (int i = 0; i < R && block * R + i < m; i++)
                    for (int q = 0; q < cols; q++) {
                        double want = 0.0;
                        for (int j = 0; j < k; j++)
                            want += (double)a[(size_t)(block * R + i) * k + j] *
                                    b[(size_t)j * ld + q];
                        want += (bb ? bb[i] : 0.0) + (rr ? rr[(size_t)i * ld + q] : 0.0);
                        want = naive_act(all_acts[act], want);
                        const double got = c[(size_t)i * ld + q];
                        if (fabs(got - want) > 1e-4 * (1.0 + fabs(want)))
                            ck_abort_msg("%d columns, depth %d, block %d, act %s, variant "
                                         "%d: c[%d][%d] = %g, want %g", cols, k, block,
                                         act_name(all_acts[act]), variant, i, q, got, want);
                    }
                fx_buf_check(c, (size_t)R * ld, "packed product");
                free(c);
            }
    free(a), free(b), free(bias), free(res), free(ap);
}
END_TEST

/* A 1x1 stride-1 conv on whole vectors of pixels, which dc_conv_packed reads in place. */
static bool pointwise_case(const dc_conv_shape *s)
{
    const int oh = naive_conv_extent(s->h, s->kh, s->stride_h, s->pad_h);
    const int ow = naive_conv_extent(s->w, s->kw, s->stride_w, s->pad_w);
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 0 &&
           s->pad_w == 0 && (oh * ow) % DC_PACKED_LANES == 0;
}

START_TEST(test_conv_packed_random)
{
    const dc_conv_shape *s = &packed_cases[_i];
    ck_assert(dc_conv_packed_applies(s));
    fx_rng r = fx_rng_seed(300 + (uint64_t)_i);
    const int oh = naive_conv_extent(s->h, s->kh, s->stride_h, s->pad_h);
    const int ow = naive_conv_extent(s->w, s->kw, s->stride_w, s->pad_w);
    const size_t plane = (size_t)oh * ow, n_out = (size_t)s->cout * plane;
    const size_t n_w = (size_t)s->cout * s->cin * s->kh * s->kw;
    const size_t n_p = dc_conv_packed_weight_floats(s), n_ws = dc_conv_packed_workspace_floats(s);
    float *in = fx_buf_random((size_t)s->cin * s->h * s->w, &r, -2.0f, 2.0f);
    float *w = fx_buf_random(n_w, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *res = fx_buf_random(n_out, &r, -1.0f, 1.0f);
    float *packed = fx_buf_new(n_p), *ref = malloc(n_out * sizeof(float));
    dc_conv_pack_weights(s, w, packed);
    fx_buf_check(packed, n_p, "packed weights");
    for (size_t a = 0; a < NELEM(all_acts); a++)
        for (int variant = 0; variant < 3; variant++) { /* plain, bias, bias + residual */
            const float *bias = variant ? b : NULL, *resid = variant == 2 ? res : NULL;
            float *out = fx_buf_new(n_out), *ws = fx_buf_new(n_ws);
            naive_conv(s, in, w, bias, DC_ACT_NONE, ref);
            for (size_t i = 0; i < n_out; i++)
                ref[i] = (float)naive_act(all_acts[a], ref[i] + (resid ? resid[i] : 0.0));
            dc_conv_packed(s, in, packed, bias, resid, all_acts[a], out, 0, s->cout, ws);
            char what[96];
            snprintf(what, sizeof what, "packed case %d act %s variant %d", _i,
                     act_name(all_acts[a]), variant);
            check_close(out, ref, n_out, 1e-4, what);
            fx_buf_check(out, n_out, what);
            fx_buf_check(ws, n_ws, what);
            free(out), free(ws);
        }
    /* output channels in uneven ranges (off the block bounds) give the whole call's bits,
     * and a range writes nothing outside its channels */
    float *whole = fx_buf_new(n_out), *parts = fx_buf_new(n_out), *ws = fx_buf_new(n_ws);
    dc_conv_packed(s, in, packed, b, res, DC_ACT_RELU, whole, 0, s->cout, ws);
    const int cut[4] = { 0, s->cout / 3, s->cout / 3 + (s->cout > 2), s->cout };
    for (int k = 0; k < 3; k++) {
        dc_conv_packed(s, in, packed, b, res, DC_ACT_RELU, parts, cut[k], cut[k + 1], ws);
        for (size_t i = (size_t)cut[k + 1] * plane; i < n_out; i++)
            if (parts[i] != FX_GUARD_VALUE)
                ck_abort_msg("case %d: range [%d, %d) wrote channel %zu", _i, cut[k],
                             cut[k + 1], i / plane);
    }
    check_exact(parts, whole, n_out, "channel ranges against one whole call");
    /* in two steps, as threads share the im2col matrix: its rows in uneven ranges, then
     * the output channels, give the whole call's bits (not for a strided conv taken by
     * tiles, whose workspace holds a tile's matrix, not the map's) */
    const bool strided_tiles = dc_conv_packed_l2_tile(s) > 0 && !dc_conv_packed_in_place(s);
    const size_t n_col = strided_tiles ? 1 : dc_conv_packed_input_floats(s);
    const int k_rows = s->cin * s->kh * s->kw;
    float *col = fx_buf_new(n_col), *two = fx_buf_new(n_out);
    const int rcut[4] = { 0, k_rows / 2, k_rows / 2 + (k_rows > 1), k_rows };
    if (!strided_tiles) {
        for (int k = 0; k < 3; k++)
            dc_conv_packed_make_input(s, in, rcut[k], rcut[k + 1], col);
        fx_buf_check(col, n_col, "im2col matrix");
        for (int k = 0; k < 3; k++)
            dc_conv_packed_from_input(s, col, packed, b, res, DC_ACT_RELU, two, cut[k],
                                      cut[k + 1], ws);
        check_exact(two, whole, n_out, "two steps against one whole call");
    }
    /* a 1x1 conv read in place, split by pixels too (as threads split one with few
     * output channels): pieces of whole vectors, the last to the map's end, in every
     * channel range, give the whole call's bits */
    ck_assert(dc_conv_packed_in_place(s) == pointwise_case(s));
    if (dc_conv_packed_in_place(s)) {
        float *cols = fx_buf_new(n_out);
        const int vectors = (int)plane / DC_PACKED_LANES;
        const int pcut[4] = { 0, vectors / 3 * DC_PACKED_LANES,
                              (vectors / 3 + (vectors > 1)) * DC_PACKED_LANES, (int)plane };
        for (int k = 0; k < 3; k++)
            for (int q = 0; q < 3; q++)
                dc_conv_packed_columns(s, in, packed, b, res, DC_ACT_RELU, cols, cut[k],
                                       cut[k + 1], pcut[q], pcut[q + 1], ws);
        check_exact(cols, whole, n_out, "pixel ranges against one whole call");
        free(cols);
    }
    /* as the runtime runs a deep 1x1 or a strided conv: its tiles, each with every output
     * channel */
    const int tile = dc_conv_packed_l2_tile(s);
    if (tile > 0) {
        ck_assert_int_eq(tile % DC_PACKED_LANES, 0);
        const size_t budget = dc_conv_packed_in_place(s) ? DC_CONV_PACKED_L2_TILE_FLOATS
                                                         : DC_CONV_PACKED_STRIDED_TILE_FLOATS;
        ck_assert(tile == 4 * DC_PACKED_LANES || (size_t)tile * k_rows <= budget);
        float *tiled = fx_buf_new(n_out);
        for (int p0 = 0; p0 < (int)plane; p0 += tile)
            dc_conv_packed_columns(s, in, packed, b, res, DC_ACT_RELU, tiled, 0, s->cout, p0,
                                   p0 + tile < (int)plane ? p0 + tile : (int)plane, ws);
        check_exact(tiled, whole, n_out, "L2 tiles against one whole call");
        fx_buf_check(ws, n_ws, "workspace of the L2 tiles");
        free(tiled);
    }
    free(col), free(two);
    free(whole), free(parts), free(ws);
    free(in), free(w), free(b), free(res), free(packed), free(ref);
}
END_TEST

/* The epilogue really clamps: a conv whose outputs run far past 6 and below 0. */
START_TEST(test_conv_act_saturates)
{
    const dc_conv_shape s = { 13, 7, 11, 17, 3, 3, 1, 1, 1, 1, 1 };
    fx_rng r = fx_rng_seed(7);
    size_t n_out = 17u * 7 * 11;
    float *in = fx_buf_random(13u * 7 * 11, &r, 0.0f, 2.0f);
    float *w = fx_buf_random(17u * 13 * 9, &r, -1.0f, 1.0f);
    float *ws = fx_buf_new(dc_conv2d_workspace_floats(&s));
    float *out = fx_buf_new(n_out), *ref = fx_buf_new(n_out);
    int above6 = 0, below0 = 0;
    naive_conv(&s, in, w, NULL, DC_ACT_NONE, ref);
    for (size_t i = 0; i < n_out; i++) {
        above6 += ref[i] > 6.5f;
        below0 += ref[i] < -0.5f;
    }
    ck_assert_msg(above6 > 10 && below0 > 10, "test data do not exercise the clamps");
    for (size_t a = 1; a < NELEM(all_acts); a++) {
        naive_conv(&s, in, w, NULL, all_acts[a], ref);
        dc_conv2d(&s, in, w, NULL, all_acts[a], out, ws);
        check_close(out, ref, n_out, 1e-4, act_name(all_acts[a]));
    }
    free(in), free(w), free(ws), free(out), free(ref);
}
END_TEST

/* ---- depthwise ---------------------------------------------------------- */

/* c, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w */
static const int dw_cases[][9] = {
    /* 3x3 pad 1 stride 1 (fast path), images from 1x1 upwards */
    { 13, 7, 11, 3, 3, 1, 1, 1, 1 }, { 5, 1, 1, 3, 3, 1, 1, 1, 1 }, { 5, 2, 2, 3, 3, 1, 1, 1, 1 },
    { 3, 3, 3, 3, 3, 1, 1, 1, 1 },   { 17, 4, 5, 3, 3, 1, 1, 1, 1 }, { 3, 2, 9, 3, 3, 1, 1, 1, 1 },
    { 3, 9, 2, 3, 3, 1, 1, 1, 1 },
    /* 3x3 pad 1 stride 2 (fast path), odd and even extents */
    { 13, 7, 11, 3, 3, 2, 2, 1, 1 }, { 5, 8, 8, 3, 3, 2, 2, 1, 1 }, { 3, 1, 1, 3, 3, 2, 2, 1, 1 },
    { 3, 2, 3, 3, 3, 2, 2, 1, 1 },   { 3, 3, 2, 3, 3, 2, 2, 1, 1 }, { 17, 6, 9, 3, 3, 2, 2, 1, 1 },
    { 5, 4, 4, 3, 3, 2, 2, 1, 1 },
    /* general path */
    { 5, 8, 9, 5, 5, 1, 1, 2, 2 },   { 5, 8, 9, 5, 5, 2, 2, 2, 2 },  { 3, 7, 11, 3, 3, 1, 1, 0, 0 },
    { 3, 7, 11, 3, 3, 2, 2, 0, 0 },  { 3, 7, 11, 3, 3, 1, 1, 2, 2 },  { 4, 7, 11, 1, 3, 1, 1, 0, 1 },
    { 4, 7, 11, 3, 1, 2, 1, 1, 0 },  { 3, 3, 4, 7, 7, 1, 1, 3, 3 },  { 3, 10, 11, 3, 3, 3, 3, 1, 1 },
    { 3, 7, 11, 3, 3, 1, 2, 1, 1 },  { 3, 7, 11, 3, 3, 2, 1, 1, 1 },  { 3, 7, 11, 3, 3, 1, 1, 1, 0 },
    { 3, 7, 11, 3, 3, 1, 1, 0, 1 },  { 2, 2, 3, 5, 5, 1, 1, 2, 2 },  { 3, 6, 5, 2, 2, 2, 2, 1, 0 },
    /* big enough for the threaded channel loop */
    { 32, 56, 56, 3, 3, 1, 1, 1, 1 }, { 32, 56, 56, 3, 3, 2, 2, 1, 1 }, { 24, 28, 30, 5, 5, 2, 2, 2, 2 },
};

/* Every activation, for the kernels whose epilogue handles them all. */
static const dc_act every_act[] = { DC_ACT_NONE, DC_ACT_RELU, DC_ACT_RELU6, DC_ACT_SIGMOID,
                                    DC_ACT_SILU, DC_ACT_HARDSIGMOID, DC_ACT_HARDSWISH,
                                    DC_ACT_GELU };

/* The vector levels a test runs under: each one this CPU has (dc_simd_force), so the
 * portable path, AVX2 and AVX-512 are all checked on an AVX-512 machine, the portable
 * path and NEON on AArch64 (tools/cross-arm64.sh runs them under qemu-user). */
static const dc_simd_level all_levels[] = { DC_SIMD_PORTABLE, DC_SIMD_AVX2, DC_SIMD_AVX512,
                                            DC_SIMD_NEON };
static const char *level_name(dc_simd_level l)
{
    return l == DC_SIMD_AVX512 ? "avx512"
         : l == DC_SIMD_AVX2   ? "avx2"
         : l == DC_SIMD_NEON   ? "neon"
                               : "portable";
}

/* Runs dc_depthwise_conv2d on s under every level, act and bias/NULL, against naive_conv. */
static void check_depthwise_shape(const dc_conv_shape *s, uint64_t seed, const char *label)
{
    fx_rng r = fx_rng_seed(seed);
    int oh = naive_conv_extent(s->h, s->kh, s->stride_h, s->pad_h);
    int ow = naive_conv_extent(s->w, s->kw, s->stride_w, s->pad_w);
    ck_assert_int_eq(dc_conv_out_h(s), oh);
    ck_assert_int_eq(dc_conv_out_w(s), ow);
    size_t n_out = (size_t)s->cout * oh * ow;
    float *in = fx_buf_random((size_t)s->cin * s->h * s->w, &r, -2.0f, 2.0f);
    float *w = fx_buf_random((size_t)s->cout * s->kh * s->kw, &r, -1.5f, 1.5f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *ref = malloc((n_out ? n_out : 1) * sizeof(float));
    const dc_simd_level before = dc_simd_active();
    for (size_t a = 0; a < NELEM(every_act); a++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            naive_conv(s, in, w, bias, every_act[a], ref);
            for (size_t l = 0; l < NELEM(all_levels); l++) {
                if (!dc_simd_force(all_levels[l]))
                    continue;
                float *out = fx_buf_new(n_out);
                dc_depthwise_conv2d(s, in, w, bias, every_act[a], out);
                char what[160];
                snprintf(what, sizeof what, "depthwise %s %s act %d bias %d", label,
                         level_name(all_levels[l]), (int)every_act[a], with_bias);
                check_close(out, ref, n_out, 1e-4, what);
                fx_buf_check(out, n_out, what);
                free(out);
            }
        }
    dc_simd_force(before);
    free(in), free(w), free(b), free(ref);
}

START_TEST(test_depthwise_random)
{
    const int *t = dw_cases[_i];
    const dc_conv_shape s = { t[0], t[1], t[2], t[0], t[3], t[4], t[5], t[6], t[7], t[8], t[0] };
    char label[32];
    snprintf(label, sizeof label, "case %d", _i);
    check_depthwise_shape(&s, 200 + (uint64_t)_i, label);
}
END_TEST

/* The vector kernels' shapes (square k in {3, 5, 7}, stride 1 and 2) over awkward maps:
 * 1x1, 2x3, 5x7, 17x13, maps wide enough for the row mode (one and several vectors, a
 * partial last vector), padding k/2, 0 and wider than the image, channel counts 1, 3, 17.
 * The loop index enumerates kernel x stride x map x padding. */
static const int dw_maps[][2] = { { 1, 1 }, { 2, 3 }, { 5, 7 }, { 17, 13 }, { 13, 40 },
                                  { 9, 70 }, { 4, 33 } };
enum { DW_PADS = 3 };

START_TEST(test_depthwise_vector_shapes)
{
    static const int ks[] = { 3, 5, 7 }, channels[] = { 1, 3, 17 };
    int i = _i;
    const int pad_kind = i % DW_PADS;
    i /= DW_PADS;
    const int *map = dw_maps[i % (int)NELEM(dw_maps)];
    i /= (int)NELEM(dw_maps);
    const int stride = 1 + i % 2;
    const int k = ks[i / 2];
    const int pad = pad_kind == 0 ? k / 2 : pad_kind == 1 ? 0 : k + 1;
    const int c = channels[_i % 3];
    if (map[0] + 2 * pad < k || map[1] + 2 * pad < k)
        return; /* torch.nn.Conv2d rejects a kernel larger than the padded image */
    const dc_conv_shape s = { c, map[0], map[1], c, k, k, stride, stride, pad, pad, c };
    char label[64];
    snprintf(label, sizeof label, "c%d %dx%d k%d s%d p%d", c, map[0], map[1], k, stride, pad);
    check_depthwise_shape(&s, 900 + (uint64_t)_i, label);
}
END_TEST

/* Maps tall enough for several bands of staged rows, one too wide for the staging scratch
 * (the vector path declines it and the portable path runs), and unequal paddings. */
static const dc_conv_shape dw_big_cases[] = {
    { 2, 130, 120, 2, 3, 3, 1, 1, 1, 1, 2 },
    { 2, 130, 120, 2, 7, 7, 2, 2, 3, 3, 2 },
    { 3, 61, 112, 3, 5, 5, 2, 2, 2, 2, 3 },
    { 1, 3, 2100, 1, 7, 7, 1, 1, 3, 3, 1 },
    { 3, 9, 20, 3, 5, 5, 1, 1, 1, 3, 3 },
    { 3, 20, 9, 3, 3, 3, 2, 2, 0, 1, 3 },
};

START_TEST(test_depthwise_big)
{
    char label[32];
    snprintf(label, sizeof label, "big case %d", _i);
    check_depthwise_shape(&dw_big_cases[_i], 700 + (uint64_t)_i, label);
}
END_TEST

/* Disjoint channel ranges assemble exactly the whole call's output, and a range call
 * writes only its own channels. */
START_TEST(test_depthwise_ranges)
{
    static const dc_conv_shape shapes[] = {
        { 17, 13, 21, 17, 3, 3, 1, 1, 1, 1, 17 },
        { 17, 12, 40, 17, 5, 5, 2, 2, 2, 2, 17 },
        { 17, 7, 7, 17, 7, 7, 1, 1, 3, 3, 17 },
        { 17, 9, 11, 17, 2, 4, 1, 2, 1, 0, 17 }, /* portable-only shape */
    };
    static const int cuts[][2] = { { 0, 17 }, { 1, 16 }, { 5, 6 }, { 8, 8 } };
    fx_rng r = fx_rng_seed(31);
    const dc_simd_level before = dc_simd_active();
    for (size_t si = 0; si < NELEM(shapes); si++) {
        const dc_conv_shape *s = &shapes[si];
        const int c = s->cin;
        size_t plane = (size_t)dc_conv_out_h(s) * dc_conv_out_w(s), n_out = c * plane;
        float *in = fx_buf_random((size_t)c * s->h * s->w, &r, -2.0f, 2.0f);
        float *w = fx_buf_random((size_t)c * s->kh * s->kw, &r, -1.0f, 1.0f);
        float *b = fx_buf_random((size_t)c, &r, -1.0f, 1.0f);
        for (size_t l = 0; l < NELEM(all_levels); l++) {
            if (!dc_simd_force(all_levels[l]))
                continue;
            float *whole = fx_buf_new(n_out);
            dc_depthwise_conv2d(s, in, w, b, DC_ACT_HARDSWISH, whole);
            for (size_t ci = 0; ci < NELEM(cuts); ci++) {
                const int a = cuts[ci][0], z = cuts[ci][1];
                char what[96];
                snprintf(what, sizeof what, "ranges shape %zu %s cut %d/%d", si,
                         level_name(all_levels[l]), a, z);
                float *part = fx_buf_new(n_out);
                dc_depthwise_conv2d_range(s, in, w, b, DC_ACT_HARDSWISH, part, a, z);
                for (size_t i = 0; i < n_out; i++) {
                    const int ch = (int)(i / plane);
                    const bool mine = ch >= a && ch < z;
                    if (mine ? part[i] != whole[i] : part[i] != FX_GUARD_VALUE)
                        ck_abort_msg("%s: index %zu (channel %d) is %g", what, i, ch,
                                     (double)part[i]);
                }
                dc_depthwise_conv2d_range(s, in, w, b, DC_ACT_HARDSWISH, part, 0, a);
                dc_depthwise_conv2d_range(s, in, w, b, DC_ACT_HARDSWISH, part, z, c);
                check_exact(part, whole, n_out, what);
                fx_buf_check(part, n_out, what);
                free(part);
            }
            free(whole);
        }
        free(in), free(w), free(b);
    }
    dc_simd_force(before);
}
END_TEST

/* The small-map kernel of AVX-512 (kernels/depthwise_small_avx512.c): every shape here is
 * checked against the naive conv on every level, and on x86 each is asserted to be taken
 * by that kernel, or declined, as listed. Stride 1 at the 16x16 limit and past it, 7x7
 * kernels at their 10x10 limit, planes that are not whole vectors; stride 2 with one row a
 * vector (rows up to 16 outputs, the 32-column window full) and two (rows up to 8, an odd
 * number of rows), padding 0 and wider than the kernel, channel ranges. */
static const struct {
    int c, h, w, k, s, pad;
    bool small;
} dw_small_cases[] = {
    { 3, 8, 8, 3, 1, 1, true },    { 5, 16, 16, 3, 1, 1, true },  { 3, 16, 17, 3, 1, 1, false },
    { 17, 4, 4, 3, 1, 1, true },   { 2, 1, 1, 5, 1, 2, true },    { 3, 9, 13, 5, 1, 2, true },
    { 3, 7, 7, 7, 1, 3, true },    { 3, 10, 10, 7, 1, 3, true },  { 3, 11, 10, 7, 1, 3, false },
    { 3, 8, 8, 3, 1, 0, false },   { 3, 32, 32, 3, 2, 1, true },  { 3, 31, 31, 3, 2, 1, true },
    { 3, 33, 33, 3, 2, 1, false }, { 5, 16, 16, 3, 2, 1, true },  { 5, 15, 15, 3, 2, 1, true },
    { 5, 13, 9, 3, 2, 1, true },   { 4, 8, 8, 3, 2, 1, true },    { 3, 28, 28, 5, 2, 2, true },
    { 3, 14, 14, 5, 2, 2, true },  { 3, 32, 32, 5, 2, 2, false }, { 3, 9, 9, 7, 2, 3, true },
    { 3, 6, 6, 3, 2, 0, true },    { 3, 5, 5, 3, 2, 2, true },    { 3, 2, 3, 3, 2, 4, true },
    { 3, 40, 16, 3, 2, 1, true },
    /* channels in lockstep (planes of 1, 2 and 4 vectors: 8, 4 and 2 channels at a time),
     * whole groups and a group with leftover channels */
    { 16, 4, 4, 3, 1, 1, true },   { 9, 5, 5, 5, 1, 2, true },    { 11, 8, 8, 3, 1, 1, true },
    { 13, 7, 7, 7, 1, 3, true },   { 9, 3, 5, 3, 1, 1, true },    { 19, 8, 8, 3, 2, 1, true },
    { 10, 16, 16, 3, 2, 1, true }, { 9, 7, 7, 5, 2, 2, true },    { 17, 3, 3, 3, 2, 1, true },
    /* rows of exactly 16 moved in registers: 3x3, 5x5 and 7x7, heights not a multiple of
     * the group of rows */
    { 3, 13, 16, 3, 1, 1, true },  { 4, 9, 16, 5, 1, 2, true },   { 3, 6, 16, 7, 1, 3, true },
    /* 14x14 planes held in registers (3x3, 5x5) */
    { 5, 14, 14, 3, 1, 1, true },  { 3, 14, 14, 5, 1, 2, true },
};

START_TEST(test_depthwise_small_maps)
{
    const int *t = &dw_small_cases[_i].c;
    const dc_conv_shape s = { t[0], t[1], t[2], t[0], t[3], t[3], t[4], t[4], t[5], t[5], t[0] };
    char label[64];
    snprintf(label, sizeof label, "small c%d %dx%d k%d s%d p%d", t[0], t[1], t[2], t[3], t[4],
             t[5]);
#ifdef DC_HAVE_X86_SIMD
    ck_assert_msg(dc_dw_small_applies(&s) == dw_small_cases[_i].small,
                  "%s: the small-map kernel should %s it", label,
                  dw_small_cases[_i].small ? "take" : "decline");
#endif
    check_depthwise_shape(&s, 1300 + (uint64_t)_i, label);
    /* a range call writes its channels only, the same values as the whole call */
    fx_rng r = fx_rng_seed(1400 + (uint64_t)_i);
    const size_t n_in = (size_t)s.cin * s.h * s.w;
    const size_t plane = (size_t)dc_conv_out_h(&s) * dc_conv_out_w(&s), n_out = s.cout * plane;
    float *in = fx_buf_random(n_in, &r, -2.0f, 2.0f);
    float *w = fx_buf_random((size_t)s.cout * s.kh * s.kw, &r, -1.5f, 1.5f);
    float *whole = fx_buf_new(n_out), *part = fx_buf_new(n_out);
    dc_depthwise_conv2d(&s, in, w, NULL, DC_ACT_RELU6, whole);
    for (size_t i = 0; i < n_out; i++)
        part[i] = -7.0f;
    dc_depthwise_conv2d_range(&s, in, w, NULL, DC_ACT_RELU6, part, 1, s.cout);
    for (size_t i = 0; i < n_out; i++)
        if (part[i] != (i < plane ? -7.0f : whole[i]))
            ck_abort_msg("%s: range [1, %d) wrote %g at %zu", label, s.cout, (double)part[i], i);
    fx_buf_check(part, n_out, label);
    free(in), free(w), free(whole), free(part);
}
END_TEST

/* NaN in the input reaches the outputs whose window holds it, through ReLU and ReLU6
 * as in torch (max and min must not swallow it), on every level. */
START_TEST(test_depthwise_nan)
{
    const dc_conv_shape s = { 2, 6, 20, 2, 3, 3, 1, 1, 1, 1, 2 };
    float in[2 * 6 * 20], w[18], out[2 * 6 * 20];
    for (int i = 0; i < 2 * 6 * 20; i++)
        in[i] = 0.25f;
    for (int i = 0; i < 18; i++)
        w[i] = 1.0f;
    in[20 * 2 + 5] = NAN; /* channel 0, row 2, column 5 */
    const dc_simd_level before = dc_simd_active();
    for (size_t l = 0; l < NELEM(all_levels); l++) {
        if (!dc_simd_force(all_levels[l]))
            continue;
        for (size_t a = 0; a < NELEM(all_acts); a++) {
            dc_depthwise_conv2d(&s, in, w, NULL, all_acts[a], out);
            for (int y = 0; y < 6; y++)
                for (int x = 0; x < 20; x++) {
                    const bool hit = y >= 1 && y <= 3 && x >= 4 && x <= 6;
                    if (hit != (bool)isnan(out[y * 20 + x]) || isnan(out[120 + y * 20 + x]))
                        ck_abort_msg("%s act %s: NaN at (%d, %d) is %g",
                                     level_name(all_levels[l]), act_name(all_acts[a]), y, x,
                                     (double)out[y * 20 + x]);
                }
        }
    }
    dc_simd_force(before);
}
END_TEST

/* The level in force at first use: the best the CPU has, or the portable path when the
 * test runs with DC_FORCE_PORTABLE=1 (the other tests restore it after forcing levels). */
START_TEST(test_simd_env)
{
    const char *force = getenv("DC_FORCE_PORTABLE");
    dc_simd_level want = DC_SIMD_PORTABLE;
    if (!(force && strcmp(force, "1") == 0))
        want = dc_simd_supported(DC_SIMD_AVX512) ? DC_SIMD_AVX512
             : dc_simd_supported(DC_SIMD_AVX2)   ? DC_SIMD_AVX2
             : dc_simd_supported(DC_SIMD_NEON)   ? DC_SIMD_NEON
                                                 : DC_SIMD_PORTABLE;
    ck_assert_int_eq(dc_simd_active(), want);
}
END_TEST

/* dc_simd_force switches levels; a level the CPU lacks is refused. x86-64 never has
 * NEON, AArch64 always has it and never AVX2 or AVX-512. */
START_TEST(test_simd_levels)
{
    ck_assert(dc_simd_supported(DC_SIMD_PORTABLE));
#if defined(__x86_64__) || defined(__i386__)
    ck_assert(!dc_simd_supported(DC_SIMD_NEON));
#elif defined(__aarch64__)
    ck_assert(dc_simd_supported(DC_SIMD_NEON));
    ck_assert(!dc_simd_supported(DC_SIMD_AVX2));
    ck_assert(!dc_simd_supported(DC_SIMD_AVX512));
#endif
    for (size_t l = 1; l < NELEM(all_levels); l++) {
        ck_assert(dc_simd_force(DC_SIMD_PORTABLE));
        ck_assert_int_eq(dc_simd_active(), DC_SIMD_PORTABLE);
        if (dc_simd_supported(all_levels[l])) {
            ck_assert(dc_simd_force(all_levels[l]));
            ck_assert_int_eq(dc_simd_active(), all_levels[l]);
        } else {
            ck_assert(!dc_simd_force(all_levels[l]));
            ck_assert_int_eq(dc_simd_active(), DC_SIMD_PORTABLE);
        }
    }
    ck_assert(dc_simd_force(DC_SIMD_PORTABLE));
}
END_TEST

/* ---- small dense convs (stems) ------------------------------------------ */

/* A small-conv entry point: dc_small_conv2d_range (k the weights) or
 * dc_small_conv_wino_range (k the transformed weights). */
typedef void (*small_conv_fn)(const dc_conv_shape *s, const float *in, const float *k,
                              const float *bias, dc_act act, float *out, int co_begin,
                              int co_end);

/* dc_small_conv2d_range, or with wino dc_small_conv_wino_range on weights from
 * dc_small_conv_wino_weights, over all output channels against naive_conv, every level,
 * act and bias/NULL; then disjoint output-channel ranges against the whole call, exactly. */
static void check_small_conv_shape(const dc_conv_shape *s, uint64_t seed, const char *label,
                                   bool wino)
{
    fx_rng r = fx_rng_seed(seed);
    const int oh = naive_conv_extent(s->h, s->kh, s->stride_h, s->pad_h);
    const int ow = naive_conv_extent(s->w, s->kw, s->stride_w, s->pad_w);
    const size_t plane = (size_t)oh * ow, n_out = (size_t)s->cout * plane;
    float *in = fx_buf_random((size_t)s->cin * s->h * s->w, &r, -2.0f, 2.0f);
    float *w = fx_buf_random((size_t)s->cout * s->cin * s->kh * s->kw, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *u = NULL;
    if (wino) {
        u = fx_buf_new(dc_small_conv_wino_weight_floats(s));
        dc_small_conv_wino_weights(s, w, u);
        fx_buf_check(u, dc_small_conv_wino_weight_floats(s), "wino weights");
    }
    const small_conv_fn run = wino ? dc_small_conv_wino_range : dc_small_conv2d_range;
    const float *k = wino ? u : w;
    const char *path = wino ? "wino conv" : "small conv";
    /* direct loops: sums in another order than naive_conv's; 1-D F(4, 3) with these
     * points: a few ulps of the largest output more */
    const double tol = wino ? 1e-5 : 1e-4;
    float *ref = malloc(n_out * sizeof(float));
    const dc_simd_level before = dc_simd_active();
    for (size_t a = 0; a < NELEM(every_act); a++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            naive_conv(s, in, w, bias, every_act[a], ref);
            for (size_t l = 0; l < NELEM(all_levels); l++) {
                if (!dc_simd_force(all_levels[l]))
                    continue;
                float *out = fx_buf_new(n_out);
                run(s, in, k, bias, every_act[a], out, 0, s->cout);
                char what[160];
                snprintf(what, sizeof what, "%s %s %s act %d bias %d", path, label,
                         level_name(all_levels[l]), (int)every_act[a], with_bias);
                check_close(out, ref, n_out, tol, what);
                fx_buf_check(out, n_out, what);
                free(out);
            }
        }
    const int a = s->cout / 3, z = s->cout - s->cout / 4; /* three uneven ranges */
    for (size_t l = 0; l < NELEM(all_levels); l++) {
        if (!dc_simd_force(all_levels[l]))
            continue;
        char what[160];
        snprintf(what, sizeof what, "%s ranges %s %s", path, label, level_name(all_levels[l]));
        float *whole = fx_buf_new(n_out), *part = fx_buf_new(n_out);
        run(s, in, k, b, DC_ACT_RELU6, whole, 0, s->cout);
        run(s, in, k, b, DC_ACT_RELU6, part, a, z);
        for (size_t i = 0; i < n_out; i++) {
            const int co = (int)(i / plane);
            const bool mine = co >= a && co < z;
            if (mine ? part[i] != whole[i] : part[i] != FX_GUARD_VALUE)
                ck_abort_msg("%s: index %zu (channel %d) is %g", what, i, co, (double)part[i]);
        }
        run(s, in, k, b, DC_ACT_RELU6, part, 0, a);
        run(s, in, k, b, DC_ACT_RELU6, part, z, s->cout);
        check_exact(part, whole, n_out, what);
        fx_buf_check(part, n_out, what);
        free(whole), free(part);
    }
    dc_simd_force(before);
    free(in), free(w), free(b), free(u), free(ref);
}

/* cin, h, w, cout, kh, kw, stride_h, stride_w, pad_h, pad_w, groups */
static const dc_conv_shape small_conv_cases[] = {
    { 3, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1 },   /* CIFAR stem */
    { 3, 33, 37, 17, 3, 3, 2, 2, 1, 1, 1 },   /* stride 2, odd sizes, cout 17 */
    { 3, 40, 45, 24, 7, 7, 2, 2, 3, 3, 1 },   /* ResNet-like 7x7 stride 2 */
    { 3, 28, 68, 20, 4, 4, 4, 4, 0, 0, 1 },   /* patchify 4x4 stride 4 */
    { 1, 20, 40, 3, 3, 3, 1, 1, 1, 1, 1 },    /* cin 1, cout 3 */
    { 4, 9, 70, 9, 3, 3, 2, 2, 1, 1, 1 },     /* cin 4 */
    { 3, 17, 13, 17, 3, 3, 1, 1, 4, 4, 1 },   /* padding wider than the kernel's reach */
    { 3, 224, 50, 8, 3, 3, 2, 2, 1, 1, 1 },   /* several bands of staged rows */
    { 3, 5, 7, 5, 3, 3, 1, 1, 1, 1, 1 },      /* rows shorter than a vector: flat mode */
    { 3, 2, 3, 4, 7, 7, 2, 2, 3, 3, 1 },      /* padding wider than the image */
    { 3, 1, 1, 5, 3, 3, 1, 1, 1, 1, 1 },      /* 1x1 image */
    { 2, 30, 40, 6, 5, 5, 1, 1, 2, 2, 1 },    /* 5x5: no vector instance, plain C */
    { 3, 4, 1500, 4, 7, 7, 2, 2, 3, 3, 1 },   /* too wide to stage: plain C */
    { 3, 19, 23, 6, 3, 3, 2, 1, 1, 0, 1 },    /* unequal strides and pads: plain C */
    /* one group of a grouped conv (ResNeXt, RegNet), as the runtime hands it over */
    { 4, 23, 57, 4, 3, 3, 1, 1, 1, 1, 1 },    /* 4 channels: the half register block */
    { 8, 14, 14, 12, 3, 3, 1, 1, 1, 1, 1 },   /* 14-wide rows: flat mode; 8 + 4 */
    { 24, 29, 31, 22, 3, 3, 2, 2, 1, 1, 1 },  /* stride 2, odd sizes, 8 + 8 + 4 + 2 */
    { 16, 9, 11, 7, 3, 3, 1, 1, 1, 1, 1 },    /* 11-wide rows: flat, rows on AVX2; 4 + 3 */
    { 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1 },      /* a 7x7 map: flat mode */
    { 24, 14, 14, 20, 3, 3, 2, 2, 1, 1, 1 },  /* stride 2 to 7x7, flat: 8 + 8 + 4 */
    { 32, 14, 14, 13, 3, 3, 1, 1, 1, 1, 1 },  /* 32 channels, flat: 8 + 4 + 1 */
    { 4, 70, 12, 9, 3, 3, 1, 1, 1, 1, 1 },    /* tall and narrow: flat mode in bands */
};

START_TEST(test_small_conv_random)
{
    char label[32];
    snprintf(label, sizeof label, "case %d", _i);
    check_small_conv_shape(&small_conv_cases[_i], 1300 + (uint64_t)_i, label, false);
}
END_TEST

/* ---- F(4, 3) down the columns (small_conv_wino.c) ------------------------- */

/* cin, h, w, cout, kh, kw, stride_h, stride_w, pad_h, pad_w, groups */
static const dc_conv_shape small_conv_wino_cases[] = {
    { 4, 56, 56, 4, 3, 3, 1, 1, 1, 1, 1 },    /* ResNeXt's first stage: a 4-channel block */
    { 8, 28, 28, 8, 3, 3, 1, 1, 1, 1, 1 },    /* its second: 28 = one vector + a shifted one */
    { 3, 17, 19, 11, 3, 3, 1, 1, 1, 1, 1 },   /* 17 rows (a tile of 1), 8 + 1 + 1 + 1 */
    { 24, 30, 33, 13, 3, 3, 1, 1, 1, 1, 1 },  /* two vectors, then shifted back; 8 + 4 + 1 */
    { 2, 5, 40, 6, 3, 3, 1, 1, 2, 2, 1 },     /* padding 2: tiles of padding only */
    { 5, 1, 20, 7, 3, 3, 1, 1, 1, 1, 1 },     /* a one-row image */
    { 4, 64, 64, 20, 3, 3, 1, 1, 0, 0, 1 },   /* no padding: 62 rows */
    { 1, 40, 298, 3, 3, 3, 1, 1, 1, 1, 1 },   /* rows of 300: bands of 3 tiles */
    { 16, 14, 14, 12, 3, 3, 1, 1, 1, 1, 1 },  /* 14 columns: one masked vector (AVX-512) */
    { 56, 14, 14, 10, 3, 3, 1, 1, 1, 1, 1 },  /* regnet_y_8gf's 56 channels a group */
    { 8, 13, 15, 9, 3, 3, 1, 1, 1, 1, 1 },    /* 15 columns, 13 rows */
    { 3, 40, 7, 5, 3, 3, 1, 1, 1, 1, 1 },     /* rows shorter than a vector: plain C */
    { 24, 6, 48, 3, 3, 3, 1, 1, 1, 1, 1 },    /* a tile over the band's floats: plain C */
    { 3, 3, 18, 4, 3, 3, 1, 1, 4, 4, 1 },     /* padding wider than the image */
};

START_TEST(test_small_conv_wino_random)
{
    char label[32];
    snprintf(label, sizeof label, "case %d", _i);
    check_small_conv_shape(&small_conv_wino_cases[_i], 1400 + (uint64_t)_i, label, true);
}
END_TEST

/* The measured rule: 2 to 64 channels a group, rows of 14 or more, a vector level. */
START_TEST(test_small_conv_wino_pays)
{
    const dc_conv_shape resnext = { 4, 56, 56, 4, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape regnet = { 24, 28, 28, 24, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape one_channel = { 1, 32, 32, 24, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape group32 = { 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape group48 = { 48, 14, 14, 48, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape wide_groups = { 120, 14, 14, 120, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape map14 = { 16, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape map7 = { 16, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape strided = { 8, 56, 56, 8, 3, 3, 2, 2, 1, 1, 1 };
    const dc_simd_level before = dc_simd_active();
    dc_simd_force(DC_SIMD_PORTABLE);
    ck_assert(!dc_small_conv_wino_pays(&resnext));
    for (size_t l = 0; l < NELEM(all_levels); l++) {
        if (all_levels[l] == DC_SIMD_PORTABLE || !dc_simd_force(all_levels[l]))
            continue;
        ck_assert(dc_small_conv_wino_pays(&resnext));
        ck_assert(dc_small_conv_wino_pays(&regnet));
        ck_assert(!dc_small_conv_wino_pays(&one_channel));
        ck_assert(dc_small_conv_wino_pays(&group32));
        ck_assert(dc_small_conv_wino_pays(&group48));
        ck_assert(!dc_small_conv_wino_pays(&wide_groups));
        ck_assert(dc_small_conv_wino_pays(&map14));
        ck_assert(!dc_small_conv_wino_pays(&map7));
        ck_assert(!dc_small_conv_wino_pays(&strided));
    }
    dc_simd_force(before);
}
END_TEST

/* The measured rule: the 3x3 and 7x7 stems pay on a vector level, the patchify stem, many
 * input channels and the portable level do not; grouped 3x3 convs pay where a group has at
 * most 32 input channels, on maps of any width. */
START_TEST(test_small_conv_pays)
{
    const dc_conv_shape mobilenet = { 3, 224, 224, 32, 3, 3, 2, 2, 1, 1, 1 };
    const dc_conv_shape cifar = { 3, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1 };
    const dc_conv_shape resnet = { 3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 1 };
    const dc_conv_shape patchify = { 3, 224, 224, 96, 4, 4, 4, 4, 0, 0, 1 };
    const dc_conv_shape wide_cin = { 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1 };
    /* grouped: ResNeXt's 4-channel groups, RegNet's 8-channel groups on 14x14 and 7x7
     * maps (flat mode) and its 56-channel ones (too deep a group), a 1x1 */
    const dc_conv_shape resnext = { 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 32 };
    const dc_conv_shape regnet14 = { 208, 14, 14, 208, 3, 3, 1, 1, 1, 1, 26 };
    const dc_conv_shape deep_groups = { 224, 112, 112, 224, 3, 3, 2, 2, 1, 1, 4 };
    const dc_conv_shape map7 = { 440, 7, 7, 440, 3, 3, 1, 1, 1, 1, 55 };
    const dc_conv_shape pointwise_groups = { 64, 28, 28, 64, 1, 1, 1, 1, 0, 0, 4 };
    const dc_simd_level before = dc_simd_active();
    ck_assert(dc_simd_force(DC_SIMD_PORTABLE));
    ck_assert(!dc_small_conv_pays(&mobilenet));
    ck_assert(!dc_small_conv_pays(&resnext));
    for (size_t l = 1; l < NELEM(all_levels); l++) {
        if (!dc_simd_force(all_levels[l]))
            continue;
        ck_assert(dc_small_conv_pays(&mobilenet));
        ck_assert(dc_small_conv_pays(&cifar));
        ck_assert(dc_small_conv_pays(&resnet));
        ck_assert(!dc_small_conv_pays(&patchify));
        ck_assert(!dc_small_conv_pays(&wide_cin));
        ck_assert(dc_small_conv_pays(&resnext));
        ck_assert(dc_small_conv_pays(&regnet14));
        ck_assert(!dc_small_conv_pays(&deep_groups));
        ck_assert(dc_small_conv_pays(&map7)); /* flat mode */
        ck_assert(!dc_small_conv_pays(&pointwise_groups));
    }
    dc_simd_force(before);
}
END_TEST

/* ---- the range kernels from several threads at once ---------------------- */

typedef struct {
    const dc_conv_shape *s;
    const float *in, *w, *b;
    float *out;
    int begin, end;
    bool small; /* dc_small_conv2d_range, else dc_depthwise_conv2d_range */
} range_job;

static void *range_job_run(void *arg)
{
    const range_job *j = arg;
    for (int rep = 0; rep < 20; rep++) { /* long enough for the threads to overlap */
        if (j->small)
            dc_small_conv2d_range(j->s, j->in, j->w, j->b, DC_ACT_RELU, j->out, j->begin,
                                  j->end);
        else
            dc_depthwise_conv2d_range(j->s, j->in, j->w, j->b, DC_ACT_RELU, j->out,
                                      j->begin, j->end);
    }
    return NULL;
}

/* Four threads on disjoint channel ranges, concurrently, give exactly the one-call output:
 * the kernels keep no shared state but the level chosen at first use. */
START_TEST(test_ranges_threads)
{
    const dc_conv_shape dw = { 37, 30, 33, 37, 5, 5, 2, 2, 2, 2, 37 };
    const dc_conv_shape stem = { 3, 40, 48, 37, 3, 3, 2, 2, 1, 1, 1 };
    fx_rng r = fx_rng_seed(77);
    for (int small = 0; small < 2; small++) {
        const dc_conv_shape *s = small ? &stem : &dw;
        const size_t n_in = (size_t)s->cin * s->h * s->w;
        const size_t n_w = (size_t)s->cout * (s->cin / s->groups) * s->kh * s->kw;
        const size_t n_out = (size_t)s->cout * dc_conv_out_h(s) * dc_conv_out_w(s);
        float *in = fx_buf_random(n_in, &r, -1.0f, 1.0f), *w = fx_buf_random(n_w, &r, -1.0f, 1.0f);
        float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
        float *whole = fx_buf_new(n_out), *part = fx_buf_new(n_out);
        if (small)
            dc_small_conv2d_range(s, in, w, b, DC_ACT_RELU, whole, 0, s->cout);
        else
            dc_depthwise_conv2d(s, in, w, b, DC_ACT_RELU, whole);
        static const int cuts[5] = { 0, 9, 10, 26, 37 };
        range_job jobs[4];
        pthread_t tid[4];
        for (int t = 0; t < 4; t++) {
            jobs[t] = (range_job){ s, in, w, b, part, cuts[t], cuts[t + 1], small != 0 };
            ck_assert_int_eq(pthread_create(&tid[t], NULL, range_job_run, &jobs[t]), 0);
        }
        for (int t = 0; t < 4; t++)
            ck_assert_int_eq(pthread_join(tid[t], NULL), 0);
        check_exact(part, whole, n_out, small ? "threads, small conv" : "threads, depthwise");
        fx_buf_check(part, n_out, "threads");
        free(in), free(w), free(b), free(whole), free(part);
    }
}
END_TEST

/* ---- linear ------------------------------------------------------------- */

START_TEST(test_linear_golden)
{
    /* w is [out][in]: y = x . w^T. A kernel reading w as [in][out] fails here. */
    const float x[2] = { 1.0f, 2.0f };
    const float w[6] = { 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f };
    const float b[3] = { 0.5f, -0.5f, -10.0f };
    float y[3];
    dc_linear(1, 2, 3, x, w, b, DC_ACT_NONE, y);
    ck_assert_float_eq(y[0], 1.5f);
    ck_assert_float_eq(y[1], 1.5f);
    ck_assert_float_eq(y[2], -7.0f);
    dc_linear(1, 2, 3, x, w, b, DC_ACT_RELU, y);
    ck_assert_float_eq(y[2], 0.0f);
}
END_TEST

/* n, in_features, out_features */
static const int linear_cases[][3] = {
    { 1, 17, 13 }, { 3, 17, 13 }, { 5, 64, 10 }, { 2, 1, 3 }, { 1, 1280, 10 }, { 4, 5, 1 },
    { 7, 100, 33 },
};

START_TEST(test_linear_random)
{
    int n = linear_cases[_i][0], nin = linear_cases[_i][1], nout = linear_cases[_i][2];
    fx_rng r = fx_rng_seed(300 + (uint64_t)_i);
    float *x = fx_buf_random((size_t)n * nin, &r, -2.0f, 2.0f);
    float *w = fx_buf_random((size_t)nout * nin, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)nout, &r, -1.0f, 1.0f);
    float *ref = malloc((size_t)n * nout * sizeof(float));
    for (size_t a = 0; a < NELEM(all_acts); a++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            for (int s = 0; s < n; s++)
                for (int o = 0; o < nout; o++) {
                    double acc = with_bias ? b[o] : 0.0;
                    for (int i = 0; i < nin; i++)
                        acc += (double)x[s * nin + i] * w[o * nin + i];
                    ref[s * nout + o] = (float)naive_act(all_acts[a], acc);
                }
            float *y = fx_buf_new((size_t)n * nout);
            dc_linear(n, nin, nout, x, w, with_bias ? b : NULL, all_acts[a], y);
            char what[96];
            snprintf(what, sizeof what, "linear case %d act %s bias %d", _i,
                     act_name(all_acts[a]), with_bias);
            check_close(y, ref, (size_t)n * nout, 1e-4, what);
            fx_buf_check(y, (size_t)n * nout, what);
            free(y);
        }
    free(x), free(w), free(b), free(ref);
}
END_TEST

/* ---- pooling ------------------------------------------------------------ */

START_TEST(test_pool_out_size)
{
    /* size, k, stride, pad, ceil, expected: each checked against torch.nn.MaxPool2d 1.13 */
    const int t[][6] = {
        { 112, 3, 2, 0, 1, 56 }, { 55, 3, 2, 0, 1, 27 }, { 13, 3, 2, 0, 1, 6 },
        { 6, 3, 2, 1, 1, 4 },    { 6, 3, 2, 1, 0, 3 },   { 7, 2, 2, 0, 1, 4 },
        { 7, 2, 2, 0, 0, 3 },    { 9, 3, 2, 1, 1, 5 },   { 10, 4, 3, 2, 1, 4 },
        { 1, 3, 2, 1, 1, 1 },    { 2, 2, 2, 1, 1, 2 },   { 4, 3, 3, 1, 1, 2 },
        { 11, 5, 4, 2, 1, 4 },   { 14, 3, 2, 1, 1, 8 },  { 15, 3, 2, 1, 1, 8 },
        { 112, 3, 2, 1, 0, 56 }, { 32, 2, 2, 0, 0, 16 }, { 3, 3, 2, 0, 1, 1 },
        { 4, 3, 2, 0, 1, 2 },    { 2, 3, 2, 0, 1, 1 },   /* window hangs off the right */
        /* the last window would start in the right padding: dropped */
        { 5, 3, 3, 1, 1, 2 },    { 8, 3, 3, 1, 1, 3 },   { 3, 2, 2, 1, 1, 2 },
        { 2, 3, 3, 1, 1, 1 },
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        int got = dc_pool_out_size(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4] != 0);
        ck_assert_msg(got == t[i][5], "size %d k %d s %d pad %d ceil %d: got %d, torch %d",
                      t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], got, t[i][5]);
        ck_assert_int_eq(naive_pool_extent(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4] != 0),
                         t[i][5]);
    }
}
END_TEST

/* Golden values from torch 1.13 on one [1][1][5][6] image, p = ((arange(30)*7) % 11) - 13
 * (all negative: zero padding instead of -inf would change the max pools). */
static const float gold_max_k3s2p1c[12] = { -4, -3, -3, -11, -4, -3, -4, -4, -3, -3, -4, -6 };
static const float gold_max_k2s2p1c[12] = { -13, -6, -3, -11, -4, -3, -5, -4, -8, -3, -4, -6 };
static const float gold_avg_k3s3p1c_incl[6] = { -3.44444442f, -5.11111116f, -4.0f,
                                                -5.44444466f, -7.77777767f, -3.0f };
static const float gold_avg_k3s3p1c_excl[6] = { -7.75f, -7.66666651f, -12.0f,
                                                -8.16666698f, -7.77777767f, -6.0f };
static const float gold_avg_k2s2p1c_incl[12] = { -3.25f, -4.0f, -2.5f, -2.75f, -2.5f, -8.25f,
                                                  -8.0f, -4.25f, -4.5f, -6.75f, -9.25f, -3.5f };
static const float gold_avg_k3s2p0c_incl[6] = { -8.0f, -7.44444466f, -9.16666698f,
                                                -7.11111116f, -7.77777767f, -7.66666651f };
static const float gold_adaptive_3x4[12] = { -7.75f, -9.0f, -6.0f, -10.0f, -8.0f, -8.33333302f,
                                             -9.0f, -9.33333302f, -8.25f, -6.75f, -9.25f,
                                             -7.75f };
static const float gold_adaptive_7x4[28] = {
    -9.5f, -8.0f, -5.0f, -9.0f, -7.75f, -9.0f, -6.0f, -10.0f, -7.0f, -8.25f, -8.0f, -9.25f,
    -8.0f, -6.5f, -9.0f, -7.5f, -9.0f, -7.5f, -10.0f, -8.5f, -8.25f, -6.75f, -9.25f, -7.75f,
    -6.5f, -5.0f, -7.5f, -6.0f,
};

START_TEST(test_pool_golden)
{
    float in[30], out[32], ref[32];
    for (int i = 0; i < 30; i++)
        in[i] = (float)((i * 7) % 11 - 13);
    const struct {
        const char *what;
        int k, s, p, ceil, avg, incl, n;
        const float *gold;
    } t[] = {
        { "MaxPool2d(3,2,1,ceil)", 3, 2, 1, 1, 0, 0, 12, gold_max_k3s2p1c },
        { "MaxPool2d(2,2,1,ceil)", 2, 2, 1, 1, 0, 0, 12, gold_max_k2s2p1c },
        { "AvgPool2d(3,3,1,ceil,incl)", 3, 3, 1, 1, 1, 1, 6, gold_avg_k3s3p1c_incl },
        { "AvgPool2d(3,3,1,ceil,excl)", 3, 3, 1, 1, 1, 0, 6, gold_avg_k3s3p1c_excl },
        { "AvgPool2d(2,2,1,ceil,incl)", 2, 2, 1, 1, 1, 1, 12, gold_avg_k2s2p1c_incl },
        { "AvgPool2d(3,2,0,ceil,incl)", 3, 2, 0, 1, 1, 1, 6, gold_avg_k3s2p0c_incl },
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        int oh = dc_pool_out_size(5, t[i].k, t[i].s, t[i].p, t[i].ceil);
        int ow = dc_pool_out_size(6, t[i].k, t[i].s, t[i].p, t[i].ceil);
        ck_assert_int_eq(oh * ow, t[i].n);
        if (t[i].avg) {
            naive_avgpool(1, 5, 6, t[i].k, t[i].s, t[i].p, t[i].ceil, t[i].incl, in, ref);
            dc_avgpool2d(1, 5, 6, t[i].k, t[i].s, t[i].p, t[i].ceil, t[i].incl, in, out);
            check_close_each(ref, t[i].gold, (size_t)t[i].n, 1e-6, t[i].what);
            check_close_each(out, t[i].gold, (size_t)t[i].n, 1e-6, t[i].what);
        } else {
            naive_maxpool(1, 5, 6, t[i].k, t[i].s, t[i].p, t[i].ceil, in, ref);
            dc_maxpool2d(1, 5, 6, t[i].k, t[i].s, t[i].p, t[i].ceil, in, out);
            check_exact(ref, t[i].gold, (size_t)t[i].n, t[i].what);
            check_exact(out, t[i].gold, (size_t)t[i].n, t[i].what);
        }
    }
    naive_adaptive(1, 5, 6, 3, 4, in, ref);
    dc_adaptive_avgpool2d(1, 5, 6, 3, 4, in, out);
    check_close_each(ref, gold_adaptive_3x4, 12, 1e-6, "naive AdaptiveAvgPool2d((3,4))");
    check_close_each(out, gold_adaptive_3x4, 12, 1e-6, "AdaptiveAvgPool2d((3,4))");
    naive_adaptive(1, 5, 6, 7, 4, in, ref);
    dc_adaptive_avgpool2d(1, 5, 6, 7, 4, in, out);
    check_close_each(ref, gold_adaptive_7x4, 28, 1e-6, "naive AdaptiveAvgPool2d((7,4))");
    check_close_each(out, gold_adaptive_7x4, 28, 1e-6, "AdaptiveAvgPool2d((7,4))");
}
END_TEST

/* A NaN wins every window it is in, as in torch.nn.MaxPool2d (torch 1.13 outputs). */
START_TEST(test_maxpool_nan)
{
    float in[20], out[20];
    for (int i = 0; i < 20; i++)
        in[i] = (float)i;
    in[1 * 5 + 1] = NAN;
    const float want_k2[6] = { NAN, 8, 9, 16, 18, 19 };
    dc_maxpool2d(1, 4, 5, 2, 2, 0, true, in, out);
    check_exact(out, want_k2, 6, "MaxPool2d(2,2,ceil) with NaN");
    const float want_k3[20] = { NAN, NAN, NAN, 9,  9,  NAN, NAN, NAN, 14, 14,
                                NAN, NAN, NAN, 19, 19, 16,  17,  18,  19, 19 };
    dc_maxpool2d(1, 4, 5, 3, 1, 1, false, in, out);
    check_exact(out, want_k3, 20, "MaxPool2d(3,1,1) with NaN");
    /* an even map takes the row-list path: the NaN at (1, 1) wins the first window only */
    const float want_even[4] = { NAN, 8, 16, 18 };
    for (int i = 0; i < 16; i++)
        in[i] = (float)(i / 4 * 5 + i % 4); /* the first 4 columns of the 4x5 map above */
    in[1 * 4 + 1] = NAN;
    dc_maxpool2d(1, 4, 4, 2, 2, 0, false, in, out);
    check_exact(out, want_even, 4, "MaxPool2d(2,2) on an even map with NaN");
}
END_TEST

/* c, h, w, k, stride, pad, ceil_mode */
static const int pool_cases[][7] = {
    { 3, 7, 11, 3, 2, 1, 1 },  { 3, 7, 11, 3, 2, 1, 0 },  { 5, 6, 6, 3, 2, 1, 1 },
    { 5, 5, 8, 3, 3, 1, 1 },   /* drop rule on h: last window would start in the padding */
    { 13, 13, 13, 3, 2, 0, 1 }, { 4, 8, 9, 2, 2, 0, 0 },  { 4, 8, 9, 2, 2, 1, 1 },
    { 3, 9, 7, 5, 3, 2, 1 },   { 3, 9, 7, 5, 3, 2, 0 },   { 2, 2, 3, 3, 2, 0, 1 },
    { 3, 1, 1, 3, 2, 1, 1 },   { 3, 8, 3, 3, 3, 1, 1 },   { 17, 12, 10, 4, 3, 2, 1 },
    { 16, 64, 64, 3, 2, 1, 0 }, /* threaded */
    { 16, 56, 57, 3, 2, 1, 1 }, /* threaded, ceil */
    /* stride 1 (pool.c's staged-plane path): Inception's and GoogLeNet's 3x3 pools, 5x5,
     * 2x2 without padding, a 1x1 map; then a padded plane too large for that path */
    { 3, 35, 35, 3, 1, 1, 0 }, { 5, 14, 14, 3, 1, 1, 1 }, { 2, 7, 9, 5, 1, 2, 0 },
    { 3, 6, 5, 2, 1, 0, 1 },   { 2, 9, 9, 3, 1, 0, 0 },   { 2, 1, 1, 3, 1, 1, 0 },
    { 1, 70, 66, 3, 1, 1, 0 },
    /* GoogLeNet's stride-2 ceil pool on 28x28; rows wider than the row path's buffer */
    { 4, 28, 28, 3, 2, 0, 1 }, { 1, 3, 2100, 3, 2, 1, 0 }, { 1, 4, 2100, 3, 1, 1, 0 },
    /* one row: a plane the stride-1 path takes, a row wider than the row path's */
    { 1, 1, 3000, 1, 1, 0, 0 }, { 2, 1, 3000, 3, 1, 1, 0 },
    /* MaxPool2d(2, 2) on even maps (pool.c's row-list path), 2x2 maps to 32x32 */
    { 7, 2, 2, 2, 2, 0, 0 },   { 5, 4, 4, 2, 2, 0, 1 },   { 3, 6, 10, 2, 2, 0, 0 },
    { 9, 32, 32, 2, 2, 0, 0 },
};

START_TEST(test_maxpool_random)
{
    const int *t = pool_cases[_i];
    int c = t[0], h = t[1], w = t[2], k = t[3], s = t[4], p = t[5];
    bool ceil_mode = t[6] != 0;
    int oh = naive_pool_extent(h, k, s, p, ceil_mode), ow = naive_pool_extent(w, k, s, p, ceil_mode);
    ck_assert_int_eq(dc_pool_out_size(h, k, s, p, ceil_mode), oh);
    ck_assert_int_eq(dc_pool_out_size(w, k, s, p, ceil_mode), ow);
    size_t n_in = (size_t)c * h * w, n_out = (size_t)c * oh * ow;
    fx_rng r = fx_rng_seed(400 + (uint64_t)_i);
    float *ref = malloc(n_out * sizeof(float));
    /* mixed signs, then all negative: padding must behave as -inf, not 0 */
    const float ranges[2][2] = { { -1.0f, 1.0f }, { -5.0f, -1.0f } };
    for (int rg = 0; rg < 2; rg++) {
        float *in = fx_buf_random(n_in, &r, ranges[rg][0], ranges[rg][1]);
        float *out = fx_buf_new(n_out);
        naive_maxpool(c, h, w, k, s, p, ceil_mode, in, ref);
        dc_maxpool2d(c, h, w, k, s, p, ceil_mode, in, out);
        char what[64];
        snprintf(what, sizeof what, "maxpool case %d range %d", _i, rg);
        check_exact(out, ref, n_out, what);
        fx_buf_check(out, n_out, what);
        free(in), free(out);
    }
    free(ref);
}
END_TEST

START_TEST(test_avgpool_random)
{
    const int *t = pool_cases[_i];
    int c = t[0], h = t[1], w = t[2], k = t[3], s = t[4], p = t[5];
    bool ceil_mode = t[6] != 0;
    int oh = naive_pool_extent(h, k, s, p, ceil_mode), ow = naive_pool_extent(w, k, s, p, ceil_mode);
    size_t n_in = (size_t)c * h * w, n_out = (size_t)c * oh * ow;
    fx_rng r = fx_rng_seed(500 + (uint64_t)_i);
    /* all positive, so a wrong divisor cannot hide in a near-zero mean */
    float *in = fx_buf_random(n_in, &r, 0.5f, 2.0f);
    float *ref = malloc(n_out * sizeof(float));
    for (int incl = 0; incl < 2; incl++) {
        float *out = fx_buf_new(n_out);
        naive_avgpool(c, h, w, k, s, p, ceil_mode, incl, in, ref);
        dc_avgpool2d(c, h, w, k, s, p, ceil_mode, incl, in, out);
        char what[64];
        snprintf(what, sizeof what, "avgpool case %d count_include_pad %d", _i, incl);
        check_close_each(out, ref, n_out, 1e-6, what);
        fx_buf_check(out, n_out, what);
        free(out);
    }
    free(in), free(ref);
}
END_TEST

/* c, h, w, oh, ow */
static const int adaptive_cases[][5] = {
    { 3, 7, 11, 3, 5 }, { 5, 7, 7, 1, 1 },  { 5, 7, 7, 7, 7 },  /* identity */
    { 3, 3, 5, 5, 7 },  /* more bins than cells: bins overlap */
    { 13, 6, 9, 4, 4 }, { 2, 1, 1, 2, 3 },  { 16, 56, 56, 1, 1 }, /* global, threaded */
    { 17, 10, 13, 3, 2 },
    /* global: cells a whole number of 8-cell chunks, none, and some left over; channels
     * in fours and a remainder */
    { 9, 4, 4, 1, 1 },  { 6, 1, 1, 1, 1 },  { 7, 3, 5, 1, 1 },
};

START_TEST(test_adaptive_random)
{
    const int *t = adaptive_cases[_i];
    int c = t[0], h = t[1], w = t[2], oh = t[3], ow = t[4];
    size_t n_in = (size_t)c * h * w, n_out = (size_t)c * oh * ow;
    fx_rng r = fx_rng_seed(600 + (uint64_t)_i);
    float *in = fx_buf_random(n_in, &r, 0.5f, 2.0f);
    float *ref = malloc(n_out * sizeof(float));
    float *out = fx_buf_new(n_out);
    naive_adaptive(c, h, w, oh, ow, in, ref);
    dc_adaptive_avgpool2d(c, h, w, oh, ow, in, out);
    char what[64];
    snprintf(what, sizeof what, "adaptive case %d", _i);
    check_close_each(out, ref, n_out, 1e-6, what);
    fx_buf_check(out, n_out, what);
    if (oh == h && ow == w)
        check_close_each(out, in, n_in, 1e-7, "adaptive identity");
    free(in), free(ref), free(out);
}
END_TEST

/* ---- element-wise ------------------------------------------------------- */

START_TEST(test_add)
{
    const size_t sizes[] = { 1, 7, 8, 37, 1000, 200003 /* threaded */ };
    fx_rng r = fx_rng_seed(700);
    for (size_t si = 0; si < NELEM(sizes); si++)
        for (size_t ai = 0; ai < NELEM(all_acts); ai++) {
            size_t n = sizes[si];
            dc_act act = all_acts[ai];
            float *a = fx_buf_random(n, &r, -8.0f, 8.0f), *b = fx_buf_random(n, &r, -8.0f, 8.0f);
            float *ref = fx_buf_new(n), *out = fx_buf_new(n);
            for (size_t i = 0; i < n; i++)
                ref[i] = (float)naive_act(act, (double)(a[i] + b[i]));
            char what[64];
            snprintf(what, sizeof what, "add n %zu act %s", n, act_name(act));
            dc_add(a, b, out, n, act);
            check_exact(out, ref, n, what);
            fx_buf_check(out, n, what);
            /* out aliasing either input */
            float *a2 = fx_buf_new(n), *b2 = fx_buf_new(n);
            memcpy(a2, a, n * sizeof(float));
            memcpy(b2, b, n * sizeof(float));
            dc_add(a2, b, a2, n, act);
            check_exact(a2, ref, n, "add, out == a");
            dc_add(a, b2, b2, n, act);
            check_exact(b2, ref, n, "add, out == b");
            fx_buf_check(a2, n, what);
            fx_buf_check(b2, n, what);
            free(a), free(b), free(ref), free(out), free(a2), free(b2);
        }
}
END_TEST

START_TEST(test_channel_shuffle_golden)
{
    /* torch: x.view(1, g, c/g, 1, 1).transpose(1, 2).flatten(1) on channels 0..5 */
    const float in[6] = { 0, 1, 2, 3, 4, 5 };
    const float want2[6] = { 0, 3, 1, 4, 2, 5 }, want3[6] = { 0, 2, 4, 1, 3, 5 };
    float out[6];
    dc_channel_shuffle(6, 1, 2, in, out);
    check_exact(out, want2, 6, "shuffle c 6 groups 2");
    dc_channel_shuffle(6, 1, 3, in, out);
    check_exact(out, want3, 6, "shuffle c 6 groups 3");
}
END_TEST

START_TEST(test_channel_shuffle_random)
{
    /* c, hw, groups; planes of whole 16-float chunks (16, 64) take the chunked copy */
    const int t[][3] = { { 12, 5, 3 }, { 8, 1, 2 }, { 6, 7, 1 }, { 16, 9, 4 }, { 116, 3, 2 },
                         { 10, 13, 5 }, { 6, 16, 2 }, { 12, 64, 3 }, { 4, 48, 2 } };
    fx_rng r = fx_rng_seed(800);
    for (size_t i = 0; i < NELEM(t); i++) {
        int c = t[i][0], hw = t[i][1], g = t[i][2], cpg = c / g;
        size_t n = (size_t)c * hw;
        float *in = fx_buf_random(n, &r, -1.0f, 1.0f), *out = fx_buf_new(n);
        float *ref = fx_buf_new(n), *back = fx_buf_new(n);
        /* in viewed as [g][cpg][hw]; out as [cpg][g][hw] with out[j][gi] = in[gi][j] */
        for (int gi = 0; gi < g; gi++)
            for (int j = 0; j < cpg; j++)
                for (int p = 0; p < hw; p++)
                    ref[((size_t)j * g + gi) * hw + p] = in[((size_t)gi * cpg + j) * hw + p];
        dc_channel_shuffle(c, hw, g, in, out);
        check_exact(out, ref, n, "channel shuffle");
        fx_buf_check(out, n, "channel shuffle");
        /* shuffling with c/g groups undoes a shuffle with g groups */
        dc_channel_shuffle(c, hw, cpg, out, back);
        check_exact(back, in, n, "channel shuffle inverse");
        free(in), free(out), free(ref), free(back);
    }
}
END_TEST

/* ---- softmax ------------------------------------------------------------ */

static void naive_softmax(const float *x, double *p, int n)
{
    double m = x[0], sum = 0.0;
    for (int i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (int i = 0; i < n; i++)
        sum += p[i] = exp((double)x[i] - m);
    for (int i = 0; i < n; i++)
        p[i] /= sum;
}

START_TEST(test_softmax_random)
{
    const int sizes[] = { 1, 2, 10, 100, 1000 };
    fx_rng r = fx_rng_seed(900);
    for (size_t si = 0; si < NELEM(sizes); si++) {
        int n = sizes[si];
        float *x = fx_buf_random((size_t)n, &r, -30.0f, 30.0f), *p = fx_buf_new((size_t)n);
        double *ref = malloc((size_t)n * sizeof(double));
        naive_softmax(x, ref, n);
        dc_softmax(x, p, n);
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            if (!(fabs(p[i] - ref[i]) <= 1e-6 * (ref[i] > 1e-3 ? ref[i] : 1e-3)))
                ck_abort_msg("softmax n %d index %d: got %.9g want %.9g", n, i, p[i], ref[i]);
            sum += p[i];
        }
        ck_assert_msg(fabs(sum - 1.0) < 1e-5, "softmax n %d sums to %.9g", n, sum);
        fx_buf_check(p, (size_t)n, "softmax");
        free(x), free(p), free(ref);
    }
}
END_TEST

START_TEST(test_softmax_stable)
{
    /* exp(1000) overflows float: without the max subtraction these are NaN */
    const float big[2] = { 1000.0f, 1001.0f };
    float p[3];
    dc_softmax(big, p, 2);
    ck_assert_msg(fabs(p[0] - 0.268941421) < 1e-6 && fabs(p[1] - 0.731058579) < 1e-6,
                  "softmax(1000, 1001) = (%g, %g)", p[0], p[1]);
    /* torch.softmax([1000, 1001, 999.5]) */
    const float three[3] = { 1000.0f, 1001.0f, 999.5f };
    const float gold[3] = { 0.231223896f, 0.628531694f, 0.14024438f };
    dc_softmax(three, p, 3);
    check_close_each(p, gold, 3, 1e-6, "softmax vs torch");
    /* all logits very negative: exp underflows to 0 without the shift */
    const float small[3] = { -1000.0f, -1001.0f, -1000.0f };
    dc_softmax(small, p, 3);
    ck_assert(fabs(p[0] - p[2]) < 1e-7 && p[0] > p[1] && fabs(p[0] + p[1] + p[2] - 1.0) < 1e-6);
    const float one[1] = { 88.0f };
    dc_softmax(one, p, 1);
    ck_assert_float_eq(p[0], 1.0f);
}
END_TEST

/* ---- GELU ---------------------------------------------------------------- */

START_TEST(test_gelu_dense)
{
    /* the vectorised erf (Abramowitz-Stegun 7.1.26) and exp against libm's erf in double,
     * densely over [-12, 12], then far out */
    enum { N = 24001 };
    float *x = fx_buf_new(N), *src = fx_buf_new(N);
    for (int i = 0; i < N; i++)
        src[i] = x[i] = -12.0f + 0.001f * (float)i;
    dc_act_apply(DC_ACT_GELU, x, N);
    for (int i = 0; i < N; i++) {
        double want = naive_act(DC_ACT_GELU, src[i]);
        if (!(fabs(x[i] - want) <= 1e-6 * (1.0 + fabs(want))))
            ck_abort_msg("gelu(%.9g) = %.9g, want %.9g", (double)src[i], (double)x[i], want);
    }
    fx_buf_check(x, N, "gelu");
    float far[6] = { -1e30f, -100.0f, -13.0f, 100.0f, 1e30f, 0.0f };
    const float want[6] = { 0.0f, 0.0f, 0.0f, 100.0f, 1e30f, 0.0f };
    dc_act_apply(DC_ACT_GELU, far, 6);
    check_close_each(far, want, 6, 1e-7, "gelu far out");
    free(x), free(src);
}
END_TEST

/* ---- layer norm and patch merging ---------------------------------------- */

/* torch.nn.LayerNorm(c) on each pixel's channels, in double: mean, then the biased
 * variance of the deviations. */
static void naive_layernorm(int c, int hw, const float *g, const float *b, double eps,
                            const float *in, float *out)
{
    for (int p = 0; p < hw; p++) {
        double mean = 0.0, var = 0.0;
        for (int k = 0; k < c; k++)
            mean += in[(size_t)k * hw + p];
        mean /= c;
        for (int k = 0; k < c; k++) {
            double d = in[(size_t)k * hw + p] - mean;
            var += d * d;
        }
        var /= c;
        for (int k = 0; k < c; k++)
            out[(size_t)k * hw + p] =
                (float)((in[(size_t)k * hw + p] - mean) / sqrt(var + eps) * g[k] + b[k]);
    }
}

/* c, hw: one channel, single pixels, blocks of 64 crossed, the threaded path */
static const int ln_cases[][2] = { { 1, 5 }, { 3, 1 }, { 7, 63 }, { 17, 130 }, { 96, 49 },
                                   { 768, 1 }, { 33, 3137 }, { 4, 64 } };

START_TEST(test_layernorm_random)
{
    int c = ln_cases[_i][0], hw = ln_cases[_i][1];
    size_t n = (size_t)c * hw;
    fx_rng r = fx_rng_seed(1000 + (uint64_t)_i);
    /* a large common offset: a one-pass E[x^2] - E[x]^2 would lose the variance */
    float *in = fx_buf_random(n, &r, 49.0f, 51.0f);
    float *g = fx_buf_random((size_t)c, &r, 0.5f, 1.5f);
    float *b = fx_buf_random((size_t)c, &r, -1.0f, 1.0f);
    const double eps[2] = { 1e-6, 1e-5 };
    for (int e = 0; e < 2; e++) {
        float *ref = fx_buf_new(n), *out = fx_buf_new(n), *alias = fx_buf_new(n);
        naive_layernorm(c, hw, g, b, (float)eps[e], in, ref);
        char what[64];
        snprintf(what, sizeof what, "layernorm c %d hw %d eps %g", c, hw, eps[e]);
        dc_layernorm_channels(c, hw, g, b, (float)eps[e], in, out);
        check_close(out, ref, n, 2e-5, what);
        fx_buf_check(out, n, what);
        memcpy(alias, in, n * sizeof(float));
        dc_layernorm_channels(c, hw, g, b, (float)eps[e], alias, alias);
        check_close(alias, ref, n, 2e-5, "layernorm in place");
        fx_buf_check(alias, n, what);
        free(ref), free(out), free(alias);
    }
    free(in), free(g), free(b);
}
END_TEST

START_TEST(test_layernorm_golden)
{
    /* torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (3,), w, b, 1e-6) permuted back,
     * x = [[[1, 2]], [[3, -4]], [[5, 6]]] (3 channels, one row of 2 pixels), w = (1, 2, 0.5),
     * b = (0, 0.1, -1): torch 1.13 */
    const float in[6] = { 1, 2, 3, -4, 5, 6 }, g[3] = { 1.0f, 2.0f, 0.5f },
                b[3] = { 0.0f, 0.1f, -1.0f };
    const float want[6] = { -1.22474456f, 0.162221432f, 0.100000121f, -2.49554253f,
                            -0.387627602f, -0.432225049f };
    float out[6];
    dc_layernorm_channels(3, 2, g, b, 1e-6f, in, out);
    check_close_each(out, want, 6, 1e-6, "layernorm vs torch");
}
END_TEST

/* torchvision's _patch_merging_pad on [c][h][w]: zero-pad to even sizes, then
 * x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2], x3 = x[1::2, 1::2]. */
static void naive_patch_merge(int c, int h, int w, const float *in, float *out)
{
    int oh = (h + h % 2) / 2, ow = (w + w % 2) / 2;
    const int dy[4] = { 0, 1, 0, 1 }, dx[4] = { 0, 0, 1, 1 };
    for (int q = 0; q < 4; q++)
        for (int k = 0; k < c; k++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    int iy = 2 * y + dy[q], ix = 2 * x + dx[q];
                    out[(((size_t)q * c + k) * oh + y) * ow + x] =
                        iy < h && ix < w ? in[((size_t)k * h + iy) * w + ix] : 0.0f;
                }
}

START_TEST(test_patch_merge)
{
    const int t[][3] = { { 3, 4, 6 }, { 2, 5, 7 }, { 1, 1, 1 }, { 4, 3, 2 }, { 5, 2, 9 },
                         { 96, 56, 56 } };
    fx_rng r = fx_rng_seed(1100);
    for (size_t i = 0; i < NELEM(t); i++) {
        int c = t[i][0], h = t[i][1], w = t[i][2];
        size_t n_in = (size_t)c * h * w, n_out = (size_t)4 * c * ((h + 1) / 2) * ((w + 1) / 2);
        float *in = fx_buf_random(n_in, &r, -1.0f, 1.0f), *out = fx_buf_new(n_out);
        float *ref = fx_buf_new(n_out);
        naive_patch_merge(c, h, w, in, ref);
        dc_patch_merge(c, h, w, in, out);
        char what[64];
        snprintf(what, sizeof what, "patch merge %dx%dx%d", c, h, w);
        check_exact(out, ref, n_out, what);
        fx_buf_check(out, n_out, what);
        free(in), free(out), free(ref);
    }
}
END_TEST

/* ---- window attention ---------------------------------------------------- */

/* Python's index of a slice bound v (NONE: the end) on an axis of length n: negative
 * counts from the end, and -0 is 0. */
#define NONE_BOUND 0x7fffffff
static int py_bound(int v, int n)
{
    return v == NONE_BOUND ? n : v < 0 ? n + v : v;
}

/* torchvision's shifted_window_attention, literally, on [c][h][w], in double: pad, roll,
 * partition, qkv, (cosine or scaled) logits, + bias, + the mask built from its slices,
 * softmax, @ v, proj, reverse, roll back, crop. */
static void naive_window_attention(const dc_wattn_shape *s, const float *in,
                                   const float *qkv_w, const float *qkv_b,
                                   const float *proj_w, const float *proj_b,
                                   const float *pos_bias, const float *logit_scale,
                                   float *out)
{
    int C = s->c, H = s->h, W = s->w, ws = s->window, nh = s->heads, hd = C / nh;
    int N = ws * ws;
    int pH = H + (ws - H % ws) % ws, pW = W + (ws - W % ws) % ws;
    int sh = ws >= pH ? 0 : s->shift, sw = ws >= pW ? 0 : s->shift;
    /* padded channels-last map, rolled by -shift */
    double *xr = calloc((size_t)pH * pW * C, sizeof *xr);
    double *yr = calloc((size_t)pH * pW * C, sizeof *yr);
    int *label = calloc((size_t)pH * pW, sizeof *label);
    double *qkv = malloc((size_t)N * 3 * C * sizeof *qkv);
    double *o = malloc((size_t)N * C * sizeof *o);
    double *a = malloc((size_t)N * sizeof *a);
    for (int y = 0; y < pH; y++)
        for (int x = 0; x < pW; x++) {
            int yo = (y + sh) % pH, xo = (x + sw) % pW;
            for (int k = 0; k < C; k++)
                xr[((size_t)y * pW + x) * C + k] =
                    yo < H && xo < W ? in[((size_t)k * H + yo) * W + xo] : 0.0;
        }
    /* attn_mask: count over h_slices x w_slices */
    int hs[3][2] = { { 0, -ws }, { -ws, -sh }, { -sh, NONE_BOUND } };
    int wsl[3][2] = { { 0, -ws }, { -ws, -sw }, { -sw, NONE_BOUND } };
    int count = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++, count++)
            for (int y = py_bound(hs[i][0], pH); y < py_bound(hs[i][1], pH); y++)
                for (int x = py_bound(wsl[j][0], pW); x < py_bound(wsl[j][1], pW); x++)
                    label[y * pW + x] = count;
    for (int wy = 0; wy < pH / ws; wy++)
        for (int wx = 0; wx < pW / ws; wx++) {
#define TOK(n) ((size_t)(wy * ws + (n) / ws) * pW + wx * ws + (n) % ws)
            for (int n = 0; n < N; n++)
                for (int j = 0; j < 3 * C; j++) {
                    double acc = qkv_b ? qkv_b[j] : 0.0;
                    for (int k = 0; k < C; k++)
                        acc += xr[TOK(n) * C + k] * qkv_w[(size_t)j * C + k];
                    qkv[(size_t)n * 3 * C + j] = acc;
                }
            for (int h = 0; h < nh; h++) {
                if (s->cosine)
                    for (int n = 0; n < N; n++)
                        for (int part = 0; part < 2; part++) {
                            double *v = qkv + (size_t)n * 3 * C + part * C + h * hd, ss = 0;
                            for (int d = 0; d < hd; d++)
                                ss += v[d] * v[d];
                            double norm = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12;
                            for (int d = 0; d < hd; d++)
                                v[d] /= norm;
                        }
                for (int n = 0; n < N; n++) {
                    double m = -INFINITY, sum = 0.0;
                    for (int t = 0; t < N; t++) {
                        double dot = 0.0;
                        for (int d = 0; d < hd; d++)
                            dot += qkv[(size_t)n * 3 * C + h * hd + d] *
                                   qkv[(size_t)t * 3 * C + C + h * hd + d];
                        dot *= s->cosine ? logit_scale[h] : 1.0 / sqrt((double)hd);
                        dot += pos_bias[((size_t)h * N + n) * N + t];
                        if (sh + sw > 0 && label[TOK(n)] != label[TOK(t)])
                            dot += -100.0;
                        a[t] = dot;
                        m = dot > m ? dot : m;
                    }
                    for (int t = 0; t < N; t++)
                        sum += a[t] = exp(a[t] - m);
                    for (int d = 0; d < hd; d++) {
                        double acc = 0.0;
                        for (int t = 0; t < N; t++)
                            acc += a[t] / sum * qkv[(size_t)t * 3 * C + 2 * C + h * hd + d];
                        o[(size_t)n * C + h * hd + d] = acc;
                    }
                }
            }
            for (int n = 0; n < N; n++)
                for (int j = 0; j < C; j++) {
                    double acc = proj_b ? proj_b[j] : 0.0;
                    for (int k = 0; k < C; k++)
                        acc += o[(size_t)n * C + k] * proj_w[(size_t)j * C + k];
                    yr[TOK(n) * C + j] = acc;
                }
#undef TOK
        }
    /* roll back by +shift and crop */
    for (int y = 0; y < pH; y++)
        for (int x = 0; x < pW; x++) {
            int yo = (y + sh) % pH, xo = (x + sw) % pW;
            if (yo < H && xo < W)
                for (int k = 0; k < C; k++)
                    out[((size_t)k * H + yo) * W + xo] = (float)yr[((size_t)y * pW + x) * C + k];
        }
    free(xr), free(yr), free(label), free(qkv), free(o), free(a);
}

/* c, h, w, heads, window, shift, cosine, biases */
static const int wattn_cases[][8] = {
    { 6, 7, 7, 2, 7, 3, 0, 1 },    /* the window covers the map: no shift */
    { 8, 14, 14, 2, 7, 3, 0, 1 },  /* shifted, 2 x 2 windows */
    { 9, 14, 7, 3, 7, 0, 0, 1 },   /* unshifted */
    { 6, 9, 11, 3, 4, 2, 0, 1 },   /* padding to 12 x 12, shifted */
    { 4, 5, 13, 1, 4, 2, 0, 0 },   /* 8 x 16 padded, one head, no biases */
    { 6, 3, 10, 2, 4, 2, 0, 1 },   /* shifted along w only (4 >= padded h) */
    { 8, 16, 16, 2, 8, 4, 1, 1 },  /* V2 cosine, shifted */
    { 12, 10, 6, 3, 3, 1, 1, 1 },  /* V2, odd window, padded rows, shifted */
    { 8, 8, 8, 4, 8, 4, 1, 0 },    /* V2, the window covers the map */
    /* the models' sizes: window_head's products (attention.c) in rows of four and one,
     * blocks of 64 columns, a window's columns past its tokens spilling into the next's */
    { 64, 16, 16, 2, 8, 4, 1, 1 }, /* V2: 64 tokens (one block, no spill), heads of 32 */
    { 96, 14, 14, 3, 7, 3, 0, 1 }, /* V1: 49 tokens (key rows 48 + 1), heads of 32 */
    { 32, 9, 9, 2, 9, 0, 0, 1 },   /* 81 tokens (two column blocks), heads of 16 */
    { 128, 8, 8, 2, 8, 0, 1, 0 },  /* heads of 64, no biases */
    { 48, 7, 7, 2, 7, 3, 0, 1 },   /* heads of 24 */
};

START_TEST(test_window_attention_random)
{
    const int *t = wattn_cases[_i];
    dc_wattn_shape s = { .c = t[0], .h = t[1], .w = t[2], .heads = t[3], .window = t[4],
                         .shift = t[5], .cosine = t[6] != 0 };
    bool biases = t[7] != 0;
    int C = s.c, N = s.window * s.window;
    size_t n = (size_t)C * s.h * s.w;
    fx_rng r = fx_rng_seed(1200 + (uint64_t)_i);
    float *in = fx_buf_random(n, &r, -2.0f, 2.0f);
    float *qkv_w = fx_buf_random((size_t)3 * C * C, &r, -0.5f, 0.5f);
    float *qkv_b = fx_buf_random((size_t)3 * C, &r, -0.5f, 0.5f);
    float *proj_w = fx_buf_random((size_t)C * C, &r, -0.5f, 0.5f);
    float *proj_b = fx_buf_random((size_t)C, &r, -0.5f, 0.5f);
    float *pos = fx_buf_random((size_t)s.heads * N * N, &r, -2.0f, 2.0f);
    float *scale = fx_buf_random((size_t)s.heads, &r, 1.0f, 20.0f);
    size_t n_ws = dc_window_attention_workspace_floats(&s);
    size_t n_packed = dc_wattn_packed_floats(&s);
    float *ws = fx_buf_new(n_ws), *out = fx_buf_new(n), *ref = fx_buf_new(n);
    float *packed = fx_buf_new(n_packed);
    naive_window_attention(&s, in, qkv_w, biases ? qkv_b : NULL, proj_w,
                           biases ? proj_b : NULL, pos, scale, ref);
    dc_wattn_pack(&s, qkv_w, biases ? qkv_b : NULL, proj_w, biases ? proj_b : NULL, pos,
                  packed);
    fx_buf_check(packed, n_packed, "packed window attention weights");
    dc_window_attention(&s, in, packed, scale, out, ws);
    char what[96];
    snprintf(what, sizeof what, "window attention case %d (%dx%dx%d heads %d ws %d shift %d%s)",
             _i, C, s.h, s.w, s.heads, s.window, s.shift, s.cosine ? " cosine" : "");
    check_close(out, ref, n, 2e-5, what);
    fx_buf_check(out, n, what);
    fx_buf_check(ws, n_ws, "window attention workspace");
    free(in), free(qkv_w), free(qkv_b), free(proj_w), free(proj_b), free(pos), free(scale);
    free(ws), free(packed), free(out), free(ref);
}
END_TEST

START_TEST(test_window_attention_geometry)
{
    int ph, pw, sh, sw;
    dc_wattn_shape s = { .c = 96, .h = 56, .w = 56, .heads = 3, .window = 7, .shift = 3 };
    dc_wattn_geometry(&s, &ph, &pw, &sh, &sw);
    ck_assert(ph == 56 && pw == 56 && sh == 3 && sw == 3);
    s.h = s.w = 7; /* Swin-T's last stage: the window covers the map */
    dc_wattn_geometry(&s, &ph, &pw, &sh, &sw);
    ck_assert(ph == 7 && pw == 7 && sh == 0 && sw == 0);
    s.h = 9;
    s.w = 3;
    dc_wattn_geometry(&s, &ph, &pw, &sh, &sw);
    ck_assert(ph == 14 && pw == 7 && sh == 3 && sw == 0);
    /* Swin-T stage 1: qkv 3136*96*288 + proj 3136*96*96 + 2 * 3136*49*96 */
    s.h = s.w = 56;
    ck_assert_int_eq(dc_window_attention_macs(&s), 3136LL * (4 * 96 * 96 + 2 * 49 * 96));
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *t;

    t = fx_tcase(s, "activation", 0);
    tcase_add_test(t, test_act_apply);
    tcase_add_test(t, test_act_smooth);
    tcase_add_test(t, test_scale_shift_and_channel_scale);

    t = fx_tcase(s, "conv", 0);
    tcase_add_test(t, test_conv_out_size);
    tcase_add_test(t, test_conv_workspace);
    tcase_add_test(t, test_im2col);
    tcase_add_test(t, test_conv_golden);
    tcase_add_loop_test(t, test_conv_random, 0, (int)NELEM(conv_cases));
    tcase_add_loop_test(t, test_conv_packed_random, 0, (int)NELEM(packed_cases));
    tcase_add_test(t, test_conv_packed_wide_pointwise_rule);
    tcase_add_loop_test(t, test_gemm_packed_few_columns, 0, 12);
    tcase_add_test(t, test_conv_act_saturates);

    t = fx_tcase(s, "depthwise", 0);
    tcase_add_test(t, test_simd_env);
    tcase_add_loop_test(t, test_depthwise_random, 0, (int)NELEM(dw_cases));
    tcase_add_loop_test(t, test_depthwise_vector_shapes, 0,
                        3 * 2 * (int)NELEM(dw_maps) * DW_PADS);
    tcase_add_loop_test(t, test_depthwise_big, 0, (int)NELEM(dw_big_cases));
    tcase_add_test(t, test_depthwise_ranges);
    tcase_add_loop_test(t, test_depthwise_small_maps, 0, (int)NELEM(dw_small_cases));
    tcase_add_test(t, test_depthwise_nan);
    tcase_add_test(t, test_simd_levels);

    t = fx_tcase(s, "small_conv", 0);
    tcase_add_loop_test(t, test_small_conv_random, 0, (int)NELEM(small_conv_cases));
    tcase_add_test(t, test_small_conv_pays);
    tcase_add_loop_test(t, test_small_conv_wino_random, 0, (int)NELEM(small_conv_wino_cases));
    tcase_add_test(t, test_small_conv_wino_pays);
    tcase_add_test(t, test_ranges_threads);

    t = fx_tcase(s, "linear", 0);
    tcase_add_test(t, test_linear_golden);
    tcase_add_loop_test(t, test_linear_random, 0, (int)NELEM(linear_cases));

    t = fx_tcase(s, "pool", 0);
    tcase_add_test(t, test_pool_out_size);
    tcase_add_test(t, test_pool_golden);
    tcase_add_test(t, test_maxpool_nan);
    tcase_add_loop_test(t, test_maxpool_random, 0, (int)NELEM(pool_cases));
    tcase_add_loop_test(t, test_avgpool_random, 0, (int)NELEM(pool_cases));
    tcase_add_loop_test(t, test_adaptive_random, 0, (int)NELEM(adaptive_cases));

    t = fx_tcase(s, "eltwise", 0);
    tcase_add_test(t, test_add);
    tcase_add_test(t, test_channel_shuffle_golden);
    tcase_add_test(t, test_channel_shuffle_random);

    t = fx_tcase(s, "gelu", 0);
    tcase_add_test(t, test_gelu_dense);

    t = fx_tcase(s, "layernorm", 0);
    tcase_add_loop_test(t, test_layernorm_random, 0, (int)NELEM(ln_cases));
    tcase_add_test(t, test_layernorm_golden);
    tcase_add_test(t, test_patch_merge);

    t = fx_tcase(s, "attention", 0);
    tcase_add_test(t, test_window_attention_geometry);
    tcase_add_loop_test(t, test_window_attention_random, 0, (int)NELEM(wattn_cases));

    t = fx_tcase(s, "softmax", 0);
    tcase_add_test(t, test_softmax_random);
    tcase_add_test(t, test_softmax_stable);

    return s;
}

FX_MAIN(kernels_suite)
