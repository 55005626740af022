/*
 * test_winograd.c — the Winograd F(4x4, 3x3) kernel (kernels/winograd.c) against a naive
 * twin: torch.nn.Conv2d's definition as nested loops summed in double.
 *
 * Tolerance. Winograd rounds in its transforms as well as in the sums, so it is not bitwise
 * equal to a direct conv; for F(4x4) the error stays within a few fp32 ulps of the largest
 * output. We require |got - want| <= 2e-5 * max(1, max|want|) over each output; measured
 * errors on these shapes are a few 1e-7 of max|want| (up to 2e-6 absolute on outputs near
 * 9), and bench/winograd_bench reports 1e-6 .. 8e-6 at cin up to 512.
 * Shapes are awkward on purpose: 1x1 to 13x13 maps, odd sizes, pad 0/1/2, padding wider than
 * the image, channel counts 1, 3, 17, partial tile and channel ranges. Every buffer carries a
 * guard tail that must survive, and pixels outside a call's range must stay untouched.
 */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "kernels/kernels.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define TOLERANCE 2e-5

/* ---- buffers ------------------------------------------------------------ */

static void check_close(const float *got, const double *want, size_t n, const char *what)
{
    double scale = 1.0;
    for (size_t i = 0; i < n; i++)
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= TOLERANCE * scale))
            ck_abort_msg("%s: index %zu: got %.9g, want %.9g (|diff| %.3g > %.3g)", what, i,
                         got[i], want[i], d, TOLERANCE * scale);
    }
}

/* b is the whole call's result and a the same outputs computed in pieces (ranges of tiles,
 * of channels, two steps). F(4x4)'s products run on OpenBLAS's SGEMM, whose kernels may sum
 * a narrower matrix in another order: its AVX-512 kernels give the same bits here, its
 * AVX2 "Haswell" ones (OPENBLAS_CORETYPE=Haswell) differ in the last bits of the sums
 * (up to 2e-6 of the largest output after the output transform's cancellations;
 * docs/threads.md). A piece put in the wrong place is off by the outputs' own size, so
 * 1e-5 of the largest output still catches every misplaced tile or channel. */
static float outputs_scale(const float *b, size_t n)
{
    float scale = 1.0f;
    for (size_t i = 0; i < n; i++)
        scale = fabsf(b[i]) > scale ? fabsf(b[i]) : scale;
    return scale;
}

static bool same_sums(float a, float b, float scale)
{
    return fabsf(a - b) <= 1e-5f * scale;
}

static void check_same_sums(const float *a, const float *b, size_t n, const char *what)
{
    const float scale = outputs_scale(b, n);
    for (size_t i = 0; i < n; i++)
        if (!same_sums(a[i], b[i], scale))
            ck_abort_msg("%s: output %zu = %.9g, whole call %.9g", what, i, a[i], b[i]);
}

/* ---- the naive twin ----------------------------------------------------- */

static int twin_out(int size, int pad)
{
    return size + 2 * pad - 3 + 1; /* torch.nn.Conv2d, kernel 3, stride 1 */
}

static double twin_act(dc_act a, double v)
{
    double relu6_3 = fmin(fmax(v + 3.0, 0.0), 6.0);
    switch (a) { /* the PyTorch modules' definitions */
    case DC_ACT_RELU: return fmax(v, 0.0);
    case DC_ACT_RELU6: return fmin(fmax(v, 0.0), 6.0);
    case DC_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case DC_ACT_SILU: return v / (1.0 + exp(-v));
    case DC_ACT_HARDSIGMOID: return relu6_3 / 6.0;
    case DC_ACT_HARDSWISH: return v * relu6_3 / 6.0;
    case DC_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    default: return v;
    }
}

/* out[co][y][x] = act(b[co] + sum_{ci, i, j} w[co][ci][i][j] * in[ci][y+i-ph][x+j-pw]),
 * zero outside the image, in double. */
static void twin_conv(const dc_conv_shape *s, const float *in, const float *w,
                      const float *b, dc_act act, double *out)
{
    int oh = twin_out(s->h, s->pad_h), ow = twin_out(s->w, s->pad_w);
    for (int co = 0; co < s->cout; co++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double acc = b ? b[co] : 0.0;
                for (int ci = 0; ci < s->cin; ci++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int iy = y + i - s->pad_h, ix = x + j - s->pad_w;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            acc += (double)w[((size_t)(co * s->cin + ci) * 3 + i) * 3 + j] *
                                   in[((size_t)ci * s->h + iy) * s->w + ix];
                        }
                out[((size_t)co * oh + y) * ow + x] = twin_act(act, acc);
            }
}

/* ---- applies / geometry ------------------------------------------------- */

static dc_conv_shape conv3x3(int cin, int h, int w, int cout, int pad_h, int pad_w)
{
    dc_conv_shape s = { cin, h, w, cout, 3, 3, 1, 1, pad_h, pad_w, 1 };
    return s;
}

START_TEST(test_applies)
{
    dc_conv_shape ok = conv3x3(64, 56, 56, 64, 1, 1);
    ck_assert(dc_winograd_applies(&ok));
    dc_conv_shape pad0 = conv3x3(3, 5, 7, 17, 0, 0), pad2 = conv3x3(3, 1, 1, 1, 2, 2);
    dc_conv_shape mixed = conv3x3(3, 5, 7, 17, 0, 2);
    ck_assert(dc_winograd_applies(&pad0) && dc_winograd_applies(&pad2));
    ck_assert(dc_winograd_applies(&mixed));

    dc_conv_shape refuse[] = {
        { 64, 56, 56, 64, 3, 3, 2, 2, 1, 1, 1 },  /* stride 2 */
        { 64, 56, 56, 64, 3, 3, 1, 2, 1, 1, 1 },  /* stride 2 along w only */
        { 64, 56, 56, 64, 5, 5, 1, 1, 2, 2, 1 },  /* 5x5 */
        { 64, 56, 56, 64, 3, 1, 1, 1, 1, 0, 1 },  /* 3x1 */
        { 64, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1 },  /* 1x1 */
        { 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 2 },  /* groups 2 */
        { 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 64 }, /* depthwise */
        { 64, 56, 56, 64, 3, 3, 1, 1, 3, 3, 1 },  /* pad 3 */
        { 4, 1, 1, 4, 3, 3, 1, 1, 0, 0, 1 },      /* empty output */
    };
    for (size_t i = 0; i < NELEM(refuse); i++) {
        ck_assert_msg(!dc_winograd_applies(&refuse[i]), "applies to refused shape %zu", i);
        ck_assert_msg(!dc_winograd_pays(&refuse[i]), "pays on refused shape %zu", i);
    }
}
END_TEST

/* The measured rule (kernels/winograd.c): the zoo's shapes on either side of it. */
START_TEST(test_pays)
{
    const struct { dc_conv_shape s; bool pays; } t[] = {
        { conv3x3(64, 56, 56, 64, 1, 1), true },     /* resnet, 196 tiles */
        { conv3x3(256, 14, 14, 256, 1, 1), false },  /* 16 tiles, U 9.4 MB from memory */
        { conv3x3(128, 28, 28, 128, 1, 1), true },   /* 49 tiles */
        { conv3x3(64, 8, 8, 64, 1, 1), true },       /* 4 tiles, U 0.6 MB */
        { conv3x3(384, 8, 8, 384, 1, 1), false },    /* repvgg: 4 tiles, U 21 MB */
        { conv3x3(64, 112, 112, 128, 1, 1), true },  /* widening, many tiles */
        { conv3x3(512, 7, 7, 512, 1, 1), false },    /* 4 tiles, U 38 MB */
        { conv3x3(128, 7, 7, 32, 1, 1), true },      /* densenet, 4 tiles */
        { conv3x3(16, 32, 32, 16, 1, 1), true },     /* resnet20 */
        { conv3x3(3, 224, 224, 64, 1, 1), false },   /* first conv: cin 3 */
        { conv3x3(3, 32, 32, 16, 1, 1), false },
        { conv3x3(512, 4, 4, 512, 1, 1), false },    /* one tile */
        { conv3x3(512, 2, 2, 512, 1, 1), false },
        { conv3x3(128, 8, 8, 256, 1, 1), false },    /* 4 tiles, U 4.7 MB */
        { conv3x3(8, 56, 56, 8, 1, 1), false },      /* cin below 16 */
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        ck_assert_msg(dc_winograd_pays(&t[i].s) == t[i].pays, "shape %zu: pays %d", i,
                      (int)t[i].pays);
        /* below a batch of 8 the batch rule is the same rule */
        ck_assert(dc_winograd_pays_in_batch(&t[i].s, 1) == t[i].pays);
    }
    /* in a batch, tile blocks span samples: 4-tile maps with wide channels pay, and so
     * does a single tile of 16 pixels, but not one of 4 (test_pays_across_samples) */
    const dc_conv_shape wide = conv3x3(256, 8, 8, 256, 1, 1), one = conv3x3(512, 2, 2, 512, 1, 1);
    ck_assert(!dc_winograd_pays_in_batch(&wide, 7) && dc_winograd_pays_in_batch(&wide, 8));
    ck_assert(!dc_winograd_pays_in_batch(&one, 64));
}
END_TEST

START_TEST(test_tiles_and_sizes)
{
    const struct { dc_conv_shape s; int tiles; } t[] = {
        { conv3x3(1, 13, 13, 1, 1, 1), 16 },  /* 13x13 out: 4 x 4 tiles */
        { conv3x3(1, 5, 7, 1, 1, 1), 4 },     /* 5x7 out */
        { conv3x3(1, 5, 7, 1, 0, 0), 2 },     /* 3x5 out */
        { conv3x3(1, 1, 1, 1, 1, 1), 1 },     /* 1x1 out */
        { conv3x3(1, 1, 1, 1, 2, 2), 1 },     /* 3x3 out */
        { conv3x3(1, 56, 56, 1, 1, 1), 196 }, /* 14 x 14 */
        { conv3x3(1, 8, 9, 1, 0, 2), 6 },     /* 6x11 out: 2 x 3 */
    };
    for (size_t i = 0; i < NELEM(t); i++)
        ck_assert_int_eq(dc_winograd_tiles(&t[i].s), t[i].tiles);

    dc_conv_shape s = conv3x3(17, 13, 13, 3, 1, 1);
    ck_assert_uint_eq(dc_winograd_weight_floats(&s), 36u * 17 * 3);
    /* fewer tiles per call never need more scratch */
    ck_assert_uint_le(dc_winograd_workspace_floats(&s, 1),
                      dc_winograd_workspace_floats(&s, 16));
}
END_TEST

/* ---- against the twin --------------------------------------------------- */

static const dc_conv_shape cases[] = {
    { 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1 },     /* 1x1 map */
    { 3, 1, 1, 17, 3, 3, 1, 1, 2, 2, 1 },    /* padding wider than the image */
    { 3, 2, 3, 1, 3, 3, 1, 1, 1, 1, 1 },     /* 2x3 */
    { 17, 2, 3, 3, 3, 3, 1, 1, 2, 1, 1 },    /* 2x3, pad 2/1 */
    { 3, 5, 7, 17, 3, 3, 1, 1, 1, 1, 1 },    /* 5x7 */
    { 17, 5, 7, 3, 3, 3, 1, 1, 0, 0, 1 },    /* 5x7 pad 0: 3x5 out */
    { 1, 5, 7, 3, 3, 3, 1, 1, 2, 2, 1 },     /* 5x7 pad 2: 7x9 out */
    { 17, 13, 13, 17, 3, 3, 1, 1, 1, 1, 1 }, /* 13x13 */
    { 3, 13, 13, 1, 3, 3, 1, 1, 0, 2, 1 },   /* 13x13, pad 0 rows, 2 columns */
    { 16, 9, 10, 32, 3, 3, 1, 1, 1, 1, 1 },  /* even counts, 9x10 */
    { 5, 3, 40, 6, 3, 3, 1, 1, 1, 0, 1 },    /* a wide map: one tile row of 10 tiles */
    { 2, 36, 3, 2, 3, 3, 1, 1, 1, 1, 1 },    /* a tall map */
    /* maps whose output width is a multiple of 4, as in the zoo: the last patch ends
     * exactly one column (pad 1), two (pad 2) or zero columns (pad 0) past the image */
    { 5, 8, 8, 7, 3, 3, 1, 1, 1, 1, 1 },     /* 8x8 pad 1 */
    { 3, 7, 12, 4, 3, 3, 1, 1, 1, 1, 1 },    /* 7x12 pad 1 */
    { 4, 10, 14, 3, 3, 3, 1, 1, 0, 0, 1 },   /* 10x14 pad 0: 8x12 out */
    { 3, 6, 6, 5, 3, 3, 1, 1, 2, 2, 1 },     /* 6x6 pad 2: 8x8 out */
    { 3, 56, 56, 8, 3, 3, 1, 1, 1, 1, 1 },   /* 56x56: 196 tiles */
    { 40, 14, 14, 48, 3, 3, 1, 1, 1, 1, 1 }, /* densenet's 14x14: 3 packed blocks of 16 */
};

static const dc_act acts[] = { DC_ACT_NONE, DC_ACT_RELU, DC_ACT_RELU6, DC_ACT_SIGMOID,
                               DC_ACT_SILU, DC_ACT_HARDSIGMOID, DC_ACT_HARDSWISH,
                               DC_ACT_GELU };

START_TEST(test_against_twin)
{
    const dc_conv_shape *s = &cases[_i];
    ck_assert(dc_winograd_applies(s));
    const int oh = twin_out(s->h, s->pad_h), ow = twin_out(s->w, s->pad_w);
    ck_assert_int_eq(dc_conv_out_h(s), oh);
    ck_assert_int_eq(dc_conv_out_w(s), ow);
    const size_t n_in = (size_t)s->cin * s->h * s->w, n_out = (size_t)s->cout * oh * ow;
    const size_t n_w = (size_t)s->cout * s->cin * 9, n_u = dc_winograd_weight_floats(s);
    const int tiles = dc_winograd_tiles(s);
    const size_t n_ws = dc_winograd_workspace_floats(s, tiles);

    fx_rng r = fx_rng_seed(100 + (uint64_t)_i);
    float *in = fx_buf_random(n_in, &r, -1.0f, 1.0f);
    float *w = fx_buf_random(n_w, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(n_u);
    double *want = malloc(n_out * sizeof(double));
    dc_winograd_transform_weights(s, w, u);
    fx_buf_check(u, n_u, "u");

    for (size_t a = 0; a < NELEM(acts); a++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            float *out = fx_buf_new(n_out), *ws = fx_buf_new(n_ws);
            char what[96];
            snprintf(what, sizeof what, "case %d act %d bias %d", _i, (int)acts[a], with_bias);
            twin_conv(s, in, w, bias, acts[a], want);
            dc_winograd_conv2d(s, in, u, bias, acts[a], out, 0, tiles, 0, s->cout, ws);
            check_close(out, want, n_out, what);
            fx_buf_check(out, n_out, what);
            fx_buf_check(ws, n_ws, what);
            free(out), free(ws);
        }
    /* in two steps, as threads share V (one block of tiles): input channels, then output
     * channels, in uneven ranges, give the whole call's numbers (check_same_sums) */
    ck_assert(dc_winograd_one_block(s));
    float *whole = fx_buf_new(n_out), *two = fx_buf_new(n_out), *ws = fx_buf_new(n_ws);
    const size_t n_v = dc_winograd_input_floats(s);
    float *v = fx_buf_new(n_v);
    dc_winograd_conv2d_residual(s, in, u, b, NULL, DC_ACT_RELU, whole, 0, tiles, 0, s->cout,
                                ws);
    const int icut[4] = { 0, s->cin / 2, s->cin / 2 + (s->cin > 1), s->cin };
    const int ocut[4] = { 0, s->cout / 3, s->cout / 3 + (s->cout > 2), s->cout };
    for (int k = 0; k < 3; k++)
        dc_winograd_transform_input(s, in, icut[k], icut[k + 1], v, ws);
    fx_buf_check(v, n_v, "V");
    for (int k = 0; k < 3; k++)
        dc_winograd_conv2d_from_input(s, v, u, NULL, b, NULL, DC_ACT_RELU, two, ocut[k],
                                      ocut[k + 1], ws);
    char two_steps[64];
    snprintf(two_steps, sizeof two_steps, "case %d: two steps", _i);
    check_same_sums(two, whole, n_out, two_steps);
    fx_buf_check(ws, n_ws, "ws");
    /* the second step on packed U: whole blocks of its rows on the packed GEMM, ranges off
     * a block's edge (ocut) on SGEMM; both against the twin */
    const size_t n_up = dc_winograd_packed_floats(s);
    float *up = fx_buf_new(n_up);
    dc_winograd_pack_u(s, u, up);
    const int rows = dc_winograd_packed_rows(s);
    const int bcut[3] = { 0, rows < s->cout ? rows : s->cout, s->cout };
    twin_conv(s, in, w, b, DC_ACT_RELU, want);
    for (int pass = 0; pass < 2; pass++) {
        float *packed_out = fx_buf_new(n_out);
        for (int k = 0; k < (pass ? 3 : 2); k++) {
            const int c0 = pass ? ocut[k] : bcut[k], c1 = pass ? ocut[k + 1] : bcut[k + 1];
            dc_winograd_conv2d_from_input(s, v, u, up, b, NULL, DC_ACT_RELU, packed_out, c0,
                                          c1, ws);
        }
        snprintf(two_steps, sizeof two_steps, "case %d: two steps, packed U, %s", _i,
                 pass ? "uneven ranges" : "whole blocks");
        check_close(packed_out, want, n_out, two_steps);
        fx_buf_check(ws, n_ws, two_steps);
        free(packed_out);
    }
    free(up);
    free(whole), free(two), free(ws), free(v);
    free(in), free(w), free(b), free(u), free(want);
}
END_TEST

/* The epilogue's clamps are reached: outputs far above 6 and below 0. */
START_TEST(test_act_clamps)
{
    const dc_conv_shape s = conv3x3(13, 7, 11, 17, 1, 1);
    fx_rng r = fx_rng_seed(7);
    const size_t n_out = 17u * 7 * 11, n_u = dc_winograd_weight_floats(&s);
    float *in = fx_buf_random(13u * 7 * 11, &r, 0.0f, 2.0f);
    float *w = fx_buf_random(17u * 13 * 9, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(n_u), *out = fx_buf_new(n_out);
    float *ws = fx_buf_new(dc_winograd_workspace_floats(&s, dc_winograd_tiles(&s)));
    double *want = malloc(n_out * sizeof(double));
    dc_winograd_transform_weights(&s, w, u);
    twin_conv(&s, in, w, NULL, DC_ACT_NONE, want);
    int above6 = 0, below0 = 0;
    for (size_t i = 0; i < n_out; i++)
        above6 += want[i] > 6.5, below0 += want[i] < -0.5;
    ck_assert_msg(above6 > 10 && below0 > 10, "test data do not reach the clamps");
    for (size_t a = 1; a <= 2; a++) { /* relu, relu6 */
        twin_conv(&s, in, w, NULL, acts[a], want);
        dc_winograd_conv2d(&s, in, u, NULL, acts[a], out, 0, dc_winograd_tiles(&s), 0, 17, ws);
        check_close(out, want, n_out, a == 1 ? "relu" : "relu6");
    }
    free(in), free(w), free(u), free(out), free(ws), free(want);
}
END_TEST

/* ---- partial ranges ----------------------------------------------------- */

/* True when output pixel (y, x) lies in a tile of [t0, t1) of a map with tiles_x per row. */
static bool pixel_in_tiles(int y, int x, int tiles_x, int t0, int t1)
{
    int t = (y / 4) * tiles_x + x / 4;
    return t >= t0 && t < t1;
}

static const dc_conv_shape range_cases[] = {
    { 17, 13, 13, 17, 3, 3, 1, 1, 1, 1, 1 }, /* 16 tiles */
    { 3, 5, 7, 5, 3, 3, 1, 1, 2, 2, 1 },     /* 7x9 out: 2 x 3 tiles */
    { 8, 30, 21, 24, 3, 3, 1, 1, 1, 0, 1 },  /* 30x19 out: 8 x 5 tiles */
    { 6, 28, 28, 10, 3, 3, 1, 1, 1, 1, 1 },  /* 28x28: 7 x 7 tiles */
};

/* Splits tiles and output channels into uneven ranges (a range may cut a tile row); each
 * call writes exactly its tiles' pixels of its channels, with a workspace sized for its own
 * range only, and together the calls give exactly what one whole call gives. */
START_TEST(test_ranges_assemble)
{
    const dc_conv_shape *s = &range_cases[_i];
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    const int tiles = dc_winograd_tiles(s), tiles_x = (ow + 3) / 4;
    const size_t plane = (size_t)oh * ow, n_out = (size_t)s->cout * plane;
    const size_t n_u = dc_winograd_weight_floats(s);
    fx_rng r = fx_rng_seed(31 + (uint64_t)_i);
    float *in = fx_buf_random((size_t)s->cin * s->h * s->w, &r, -1.0f, 1.0f);
    float *w = fx_buf_random((size_t)s->cout * s->cin * 9, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(n_u), *whole = fx_buf_new(n_out), *parts = fx_buf_new(n_out);
    dc_winograd_transform_weights(s, w, u);
    float *ws = fx_buf_new(dc_winograd_workspace_floats(s, tiles));
    dc_winograd_conv2d(s, in, u, b, DC_ACT_RELU, whole, 0, tiles, 0, s->cout, ws);
    free(ws);

    /* tile cuts at 0, 1, tiles/2 + 1, tiles; channel cuts at 0, 1, cout/3 + 1, cout */
    const float scale = outputs_scale(whole, n_out);
    const int tcut[] = { 0, 1, tiles / 2 + 1 < tiles ? tiles / 2 + 1 : tiles, tiles };
    const int ccut[] = { 0, 1, s->cout / 3 + 1 < s->cout ? s->cout / 3 + 1 : s->cout,
                         s->cout };
    for (int ti = 0; ti < 3; ti++)
        for (int cj = 0; cj < 3; cj++) {
            const int t0 = tcut[ti], t1 = tcut[ti + 1], c0 = ccut[cj], c1 = ccut[cj + 1];
            if (t0 == t1 || c0 == c1)
                continue;
            float *before = malloc(n_out * sizeof(float));
            memcpy(before, parts, n_out * sizeof(float));
            size_t n_ws = dc_winograd_workspace_floats(s, t1 - t0);
            ws = fx_buf_new(n_ws);
            dc_winograd_conv2d(s, in, u, b, DC_ACT_RELU, parts, t0, t1, c0, c1, ws);
            fx_buf_check(ws, n_ws, "range workspace");
            for (int co = 0; co < s->cout; co++)
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++) {
                        size_t i = co * plane + (size_t)y * ow + x;
                        bool mine = co >= c0 && co < c1 && pixel_in_tiles(y, x, tiles_x, t0, t1);
                        if (mine && !same_sums(parts[i], whole[i], scale))
                            ck_abort_msg("tiles [%d,%d) ch [%d,%d): (%d,%d,%d) = %.9g, whole "
                                         "call %.9g", t0, t1, c0, c1, co, y, x, parts[i],
                                         whole[i]);
                        if (!mine && parts[i] != before[i])
                            ck_abort_msg("tiles [%d,%d) ch [%d,%d) wrote (%d,%d,%d) outside "
                                         "its range", t0, t1, c0, c1, co, y, x);
                    }
            free(ws), free(before);
        }
    for (size_t i = 0; i < n_out; i++)
        if (parts[i] == FX_GUARD_VALUE)
            ck_abort_msg("index %zu written by no range", i);
    fx_buf_check(parts, n_out, "parts");
    free(in), free(w), free(b), free(u), free(whole), free(parts);
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

typedef struct {
    const dc_conv_shape *s;
    const float *in, *u, *b;
    float *out, *ws;
    int t0, t1;
} range_job;

static void *run_range(void *arg)
{
    range_job *j = arg;
    dc_winograd_conv2d(j->s, j->in, j->u, j->b, DC_ACT_RELU6, j->out, j->t0, j->t1, 0,
                       j->s->cout, j->ws);
    return NULL;
}

/* The contract the runtime relies on: several threads at once, each on its own tile range
 * with its own workspace, give exactly the single-call output (no hidden shared state). */
START_TEST(test_concurrent_ranges)
{
    const dc_conv_shape s = conv3x3(24, 29, 31, 40, 1, 1); /* 8 x 8 tiles */
    const int tiles = dc_winograd_tiles(&s), nthreads = 3;
    const size_t n_out = 40u * 29 * 31;
    fx_rng r = fx_rng_seed(77);
    float *in = fx_buf_random(24u * 29 * 31, &r, -1.0f, 1.0f);
    float *w = fx_buf_random(40u * 24 * 9, &r, -1.0f, 1.0f);
    float *b = fx_buf_random(40, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(dc_winograd_weight_floats(&s));
    float *whole = fx_buf_new(n_out), *parts = fx_buf_new(n_out);
    dc_winograd_transform_weights(&s, w, u);
    openblas_set_num_threads(1);
    float *ws = fx_buf_new(dc_winograd_workspace_floats(&s, tiles));
    dc_winograd_conv2d(&s, in, u, b, DC_ACT_RELU6, whole, 0, tiles, 0, s.cout, ws);
    free(ws);

    pthread_t th[3];
    range_job job[3];
    for (int i = 0; i < nthreads; i++) {
        int t0 = tiles * i / nthreads, t1 = tiles * (i + 1) / nthreads;
        job[i] = (range_job){ &s, in, u, b, parts, fx_buf_new(dc_winograd_workspace_floats(&s,
                              t1 - t0)), t0, t1 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_range, &job[i]), 0);
    }
    for (int i = 0; i < nthreads; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        free(job[i].ws);
    }
    check_same_sums(parts, whole, n_out, "threads over tile ranges");
    fx_buf_check(parts, n_out, "parts");
    free(in), free(w), free(b), free(u), free(whole), free(parts);
}
END_TEST

/* Each of n samples of out ([n][cout][oh][ow]) against the twin: the conv with bias, +
 * res, then act; `label` names the case in a failure. */
static void check_samples(const dc_conv_shape *s, int n, const float *in, const float *w,
                          const float *b, const float *res, dc_act act, const float *out,
                          const char *label)
{
    const size_t in_one = (size_t)s->cin * s->h * s->w;
    const size_t out_one = (size_t)s->cout * dc_conv_out_h(s) * dc_conv_out_w(s);
    double *want = malloc(out_one * sizeof(double));
    for (int k = 0; k < n; k++) {
        twin_conv(s, in + k * in_one, w, b, DC_ACT_NONE, want);
        for (size_t i = 0; i < out_one; i++)
            want[i] = twin_act(act, want[i] + res[k * out_one + i]);
        char what[96];
        snprintf(what, sizeof what, "%s sample %d", label, k);
        check_close(out + k * out_one, want, out_one, what);
    }
    free(want);
}

/* ---- tile ranges across the samples of a batch ---------------------------- */

/* dc_winograd_conv2d_samples on 3 samples, with a residual: ranges of the batch's tiles
 * cut at 0, 1, one tile into sample 1, the last tile of sample 1 and the end, so that
 * ranges (and the kernel's blocks, cut small by the range's workspace) span sample
 * boundaries; each sample against the twin (bias, then + residual, then act). Every
 * shape of `cases`: 1x1 maps, padding wider than the image, clipped tiles, odd channels. */
START_TEST(test_samples_against_twin)
{
    const dc_conv_shape *s = &cases[_i];
    enum { N = 3 };
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s), tiles = dc_winograd_tiles(s);
    const size_t in_one = (size_t)s->cin * s->h * s->w, out_one = (size_t)s->cout * oh * ow;
    const size_t n_u = dc_winograd_weight_floats(s);
    fx_rng r = fx_rng_seed(500 + (uint64_t)_i);
    float *in = fx_buf_random(N * in_one, &r, -1.0f, 1.0f);
    float *res = fx_buf_random(N * out_one, &r, -1.0f, 1.0f);
    float *w = fx_buf_random((size_t)s->cout * s->cin * 9, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(n_u), *out = fx_buf_new(N * out_one);
    dc_winograd_transform_weights(s, w, u);

    const int cut[] = { 0, 1, tiles + 1 < 2 * tiles ? tiles + 1 : tiles,
                        2 * tiles - 1 > tiles ? 2 * tiles - 1 : 2 * tiles, N * tiles };
    for (int k = 0; k < 4; k++) {
        if (cut[k] >= cut[k + 1])
            continue;
        const size_t n_ws = dc_winograd_workspace_floats(s, cut[k + 1] - cut[k]);
        float *ws = fx_buf_new(n_ws);
        dc_winograd_conv2d_samples(s, in, u, b, res, DC_ACT_HARDSWISH, out, cut[k],
                                   cut[k + 1], 0, s->cout, ws);
        fx_buf_check(ws, n_ws, "range workspace");
        free(ws);
    }
    char what[64];
    snprintf(what, sizeof what, "case %d", _i);
    check_samples(s, N, in, w, b, res, DC_ACT_HARDSWISH, out, what);
    fx_buf_check(out, N * out_one, "batch output");
    free(in), free(res), free(w), free(b), free(u), free(out);
}
END_TEST

/* dc_winograd_conv2d_samples_packed (products on U packed for gemm_packed.c) on 3
 * samples, its ranges cut at 0, 1, 17 tiles, 17 + 33 and the end: ranges of 1 tile, of
 * tile counts not a multiple of 16 up to and past what one register block takes (the
 * SGEMM fallback), each with a workspace sized for itself only (ASan sees any write past
 * it). Each sample against the twin. Every shape of `cases`. */
START_TEST(test_samples_packed_against_twin)
{
    const dc_conv_shape *s = &cases[_i];
    enum { N = 3 };
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s), total = N * dc_winograd_tiles(s);
    const size_t in_one = (size_t)s->cin * s->h * s->w, out_one = (size_t)s->cout * oh * ow;
    fx_rng r = fx_rng_seed(700 + (uint64_t)_i);
    float *in = fx_buf_random(N * in_one, &r, -1.0f, 1.0f);
    float *res = fx_buf_random(N * out_one, &r, -1.0f, 1.0f);
    float *w = fx_buf_random((size_t)s->cout * s->cin * 9, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(dc_winograd_weight_floats(s));
    float *up = fx_buf_new(dc_winograd_packed_floats(s)), *out = fx_buf_new(N * out_one);
    dc_winograd_transform_weights(s, w, u);
    dc_winograd_pack_u(s, u, up);
    fx_buf_check(up, dc_winograd_packed_floats(s), "packed u");
    int cut[5] = { 0, 1, 17, 50, total };
    for (int k = 1; k < 5; k++)
        cut[k] = cut[k] < total ? cut[k] : total;
    for (int k = 0; k < 4; k++) {
        if (cut[k] >= cut[k + 1])
            continue;
        const size_t n_ws = dc_winograd_workspace_floats(s, cut[k + 1] - cut[k]);
        float *ws = fx_buf_new(n_ws);
        dc_winograd_conv2d_samples_packed(s, in, u, up, b, res, DC_ACT_RELU, out, cut[k],
                                          cut[k + 1], 0, s->cout, ws);
        fx_buf_check(ws, n_ws, "range workspace");
        free(ws);
    }
    fx_buf_check(out, N * out_one, "batch output");
    char what[64];
    snprintf(what, sizeof what, "packed case %d", _i);
    check_samples(s, N, in, w, b, res, DC_ACT_RELU, out, what);
    /* by ranges of output channels, as the runtime splits a sample for threads: whole
     * blocks of the packed rows on the packed GEMM, then ranges off a block's edge (on
     * SGEMM), every tile of the batch */
    const int rows = dc_winograd_packed_rows(s);
    const int ccut[2][3] = { { 0, rows < s->cout ? rows : s->cout, s->cout },
                             { 0, s->cout / 3, s->cout } };
    const size_t n_ws = dc_winograd_workspace_floats(s, total);
    float *ws = fx_buf_new(n_ws);
    for (int pass = 0; pass < 2; pass++) {
        memset(out, 0, N * out_one * sizeof *out);
        for (int k = 0; k < 2; k++)
            dc_winograd_conv2d_samples_packed(s, in, u, up, b, res, DC_ACT_RELU, out, 0, total,
                                              ccut[pass][k], ccut[pass][k + 1], ws);
        snprintf(what, sizeof what, "packed case %d, %s", _i,
                 pass ? "uneven channel ranges" : "channel blocks");
        check_samples(s, N, in, w, b, res, DC_ACT_RELU, out, what);
        fx_buf_check(ws, n_ws, what);
    }
    free(ws);
    free(in), free(res), free(w), free(b), free(u), free(up), free(out);
}
END_TEST

/* In a batch the rule takes every map whose tiles cover 8 pixels or more on average,
 * a 4x4 map's single tile included; not 2x2 or 1x1 maps, nor cin below 16. */
START_TEST(test_pays_across_samples)
{
    const struct { dc_conv_shape s; bool pays; } t[] = {
        { conv3x3(512, 4, 4, 512, 1, 1), true },   /* vgg: one tile of 16 pixels */
        { conv3x3(256, 4, 4, 512, 1, 1), true },
        { conv3x3(512, 7, 7, 512, 1, 1), true },   /* 4 tiles, 49 pixels */
        { conv3x3(512, 2, 2, 512, 1, 1), false },  /* one tile of 4 pixels */
        { conv3x3(64, 1, 1, 64, 1, 1), false },
        { conv3x3(8, 32, 32, 8, 1, 1), false },    /* cin below 16 */
        { conv3x3(16, 32, 32, 16, 1, 1), true },
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        ck_assert_msg(dc_winograd_pays_in_batch(&t[i].s, DC_WINOGRAD_BATCH) == t[i].pays,
                      "shape %zu", i);
        ck_assert(dc_winograd_pays_in_batch(&t[i].s, 1) == dc_winograd_pays(&t[i].s));
    }
}
END_TEST

/* ---- accuracy on realistic data ----------------------------------------- */

/* A deep channel sum as in VGG's and ResNet's last stages: cin 512, weights at Kaiming
 * scale (uniform with variance 2 / (9 cin)), inputs as after a ReLU. Winograd's extra
 * rounding must stay far below the engine's parity tolerance of 1e-4 * max(1, max|logit|)
 * on a single layer: we require 1e-5 relative to the largest output. */
START_TEST(test_error_realistic)
{
    const dc_conv_shape s = conv3x3(512, 14, 14, 8, 1, 1);
    const size_t n_out = 8u * 14 * 14, n_w = 8u * 512 * 9;
    fx_rng r = fx_rng_seed(2024);
    const float a = (float)sqrt(3.0 * 2.0 / (9.0 * 512)); /* uniform(-a, a): var 2/fan_in */
    float *in = fx_buf_random(512u * 14 * 14, &r, 0.0f, 2.0f);
    float *w = fx_buf_random(n_w, &r, -a, a);
    float *u = fx_buf_new(dc_winograd_weight_floats(&s)), *out = fx_buf_new(n_out);
    float *ws = fx_buf_new(dc_winograd_workspace_floats(&s, dc_winograd_tiles(&s)));
    double *want = malloc(n_out * sizeof(double));
    dc_winograd_transform_weights(&s, w, u);
    dc_winograd_conv2d(&s, in, u, NULL, DC_ACT_NONE, out, 0, dc_winograd_tiles(&s), 0, 8, ws);
    twin_conv(&s, in, w, NULL, DC_ACT_NONE, want);
    /* comparisons, not fmax: GCC 12's vectoriser crashes (internal compiler error in
     * vect_transform_reduction) on these two fmax reductions for aarch64 */
    double err = 0.0, scale = 0.0;
    for (size_t i = 0; i < n_out; i++) {
        const double e = fabs(out[i] - want[i]), m = fabs(want[i]);
        if (e > err)
            err = e;
        if (m > scale)
            scale = m;
    }
    ck_assert_msg(scale > 0.5, "outputs too small to mean anything (%g)", scale);
    ck_assert_msg(err <= 1e-5 * scale, "max error %.3g, max |out| %.3g", err, scale);
    free(in), free(w), free(u), free(out), free(ws), free(want);
}
END_TEST

/* ---- F(2x2, 3x3) on packed weights (kernels/winograd2.c) ---------------- */

/* Awkward shapes for the F(2x2) kernel: every register block (1 to 4 vectors of tiles:
 * R = 16, 12, 8, 6 rows), cout not a multiple of R, odd maps (a clipped last tile), pad
 * 0/1/2, padding wider than the image, 1x1 maps, cin 1 and odd. */
static const dc_conv_shape cases2[] = {
    { 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1 },      /* 1x1 map, 1 tile */
    { 3, 1, 1, 17, 3, 3, 1, 1, 2, 2, 1 },     /* padding wider than the image: 3x3 out */
    { 5, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1 },     /* 7x7: 16 tiles, R 16, cout 2 blocks + 1 */
    { 16, 14, 14, 29, 3, 3, 1, 1, 1, 1, 1 },  /* 14x14: 49 tiles, 4 vectors, R 6 */
    { 7, 11, 9, 13, 3, 3, 1, 1, 1, 1, 1 },    /* 11x9: 6 x 5 tiles, 2 vectors, R 12 */
    { 9, 10, 13, 19, 3, 3, 1, 1, 1, 2, 1 },   /* 10x15 out: 5 x 8 = 40 tiles, 3 vectors */
    { 17, 16, 16, 7, 3, 3, 1, 1, 1, 1, 1 },   /* 16x16: 64 tiles, the largest */
    { 4, 9, 9, 5, 3, 3, 1, 1, 0, 0, 1 },      /* pad 0: 7x7 out */
    { 3, 4, 4, 40, 3, 3, 1, 1, 1, 1, 1 },     /* 4x4: 4 tiles */
    { 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1 },      /* 2x2: 1 tile */
    { 1, 13, 3, 2, 3, 3, 1, 1, 2, 0, 1 },     /* tall: 15x1 out */
    /* more output rows than one group of blocks runs together (winograd2.c's
     * group_blocks: 256 rows a group for one vector of columns, 60 for four) */
    { 5, 4, 4, 300, 3, 3, 1, 1, 1, 1, 1 },    /* 4x4: 2 groups alone, 5 in a batch */
    { 6, 2, 2, 131, 3, 3, 1, 1, 1, 1, 1 },    /* 2x2: a partial last group in a batch */
};

/* Against the twin for every activation, with and without bias and a residual; the
 * output channels in uneven ranges (not on block bounds) assemble the whole call exactly,
 * and each range writes only its channels. */
START_TEST(test_f2_against_twin)
{
    const dc_conv_shape *s = &cases2[_i];
    ck_assert(dc_winograd2_applies(s));
    const int oh = twin_out(s->h, s->pad_h), ow = twin_out(s->w, s->pad_w);
    ck_assert_int_eq(dc_winograd2_tiles(s), ((oh + 1) / 2) * ((ow + 1) / 2));
    const size_t plane = (size_t)oh * ow, n_out = (size_t)s->cout * plane;
    const size_t n_u = dc_winograd2_weight_floats(s, 1), n_ws = dc_winograd2_workspace_floats(s, 1);
    ck_assert_uint_ge(n_u, (size_t)16 * s->cout * s->cin);
    fx_rng r = fx_rng_seed(500 + (uint64_t)_i);
    float *in = fx_buf_random((size_t)s->cin * s->h * s->w, &r, -1.0f, 1.0f);
    float *w = fx_buf_random((size_t)s->cout * s->cin * 9, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *res = fx_buf_random(n_out, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(n_u);
    double *want = malloc(n_out * sizeof(double));
    dc_winograd2_pack_weights(s, 1, w, u);
    fx_buf_check(u, n_u, "u");
    for (size_t a = 0; a < NELEM(acts); a++)
        for (int variant = 0; variant < 3; variant++) { /* plain, bias, bias + residual */
            const float *bias = variant ? b : NULL, *resid = variant == 2 ? res : NULL;
            float *out = fx_buf_new(n_out), *ws = fx_buf_new(n_ws);
            char what[96];
            snprintf(what, sizeof what, "f2 case %d act %d variant %d", _i, (int)acts[a],
                     variant);
            twin_conv(s, in, w, bias, DC_ACT_NONE, want);
            for (size_t i = 0; i < n_out; i++)
                want[i] = twin_act(acts[a], want[i] + (resid ? resid[i] : 0.0));
            dc_winograd2_conv2d(s, 1, 1, in, u, bias, resid, acts[a], out, 0, s->cout, ws);
            check_close(out, want, n_out, what);
            fx_buf_check(out, n_out, what);
            fx_buf_check(ws, n_ws, what);
            free(out), free(ws);
        }
    /* uneven channel ranges, each with its own workspace */
    float *whole = fx_buf_new(n_out), *parts = fx_buf_new(n_out), *ws = fx_buf_new(n_ws);
    dc_winograd2_conv2d(s, 1, 1, in, u, b, res, DC_ACT_RELU, whole, 0, s->cout, ws);
    int cut[4] = { 0, s->cout / 3, s->cout / 3 + (s->cout > 2), s->cout };
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n_out; i++)
            parts[i] = (int)(i / plane) >= cut[k] && (int)(i / plane) < cut[k + 1]
                           ? FX_GUARD_VALUE : parts[i];
        dc_winograd2_conv2d(s, 1, 1, in, u, b, res, DC_ACT_RELU, parts, cut[k], cut[k + 1], ws);
        for (size_t i = (size_t)cut[k + 1] * plane; i < n_out; i++)
            ck_assert_msg(parts[i] == FX_GUARD_VALUE, "range [%d, %d) wrote channel %zu", cut[k],
                          cut[k + 1], i / plane);
    }
    ck_assert_msg(memcmp(whole, parts, n_out * sizeof(float)) == 0,
                  "channel ranges differ from one whole call");
    fx_buf_check(ws, n_ws, "ws");
    /* in two steps, as threads share V: input channels in uneven ranges, then output
     * channels in uneven ranges, give the whole call's bits */
    const size_t n_v = dc_winograd2_input_floats(s, 1);
    float *v = fx_buf_new(n_v), *two = fx_buf_new(n_out);
    float *scratch = fx_buf_new(dc_winograd2_input_scratch_floats(s));
    const int icut[4] = { 0, s->cin / 2, s->cin / 2 + (s->cin > 1), s->cin };
    for (int k = 0; k < 3; k++)
        dc_winograd2_transform_input(s, 1, 1, in, icut[k], icut[k + 1], v, scratch);
    fx_buf_check(v, n_v, "V");
    fx_buf_check(scratch, dc_winograd2_input_scratch_floats(s), "input scratch");
    for (int k = 0; k < 3; k++)
        dc_winograd2_conv2d_from_input(s, 1, 1, v, u, b, res, DC_ACT_RELU, two, cut[k], cut[k + 1],
                                       ws);
    ck_assert_msg(memcmp(whole, two, n_out * sizeof(float)) == 0,
                  "two steps differ from one whole call");
    fx_buf_check(ws, n_ws, "ws");
    free(v), free(two), free(scratch);
    free(whole), free(parts), free(ws);
    free(in), free(w), free(b), free(res), free(u), free(want);
}
END_TEST

/* As test_error_realistic, for F(2x2): cin 512 on a 7x7 map, Kaiming-scale weights. */
START_TEST(test_f2_error_realistic)
{
    const dc_conv_shape s = conv3x3(512, 7, 7, 20, 1, 1);
    const size_t n_out = 20u * 7 * 7, n_w = 20u * 512 * 9;
    fx_rng r = fx_rng_seed(2025);
    const float a = (float)sqrt(3.0 * 2.0 / (9.0 * 512));
    float *in = fx_buf_random(512u * 7 * 7, &r, 0.0f, 2.0f);
    float *w = fx_buf_random(n_w, &r, -a, a);
    float *u = fx_buf_new(dc_winograd2_weight_floats(&s, 1)), *out = fx_buf_new(n_out);
    float *ws = fx_buf_new(dc_winograd2_workspace_floats(&s, 1));
    double *want = malloc(n_out * sizeof(double));
    dc_winograd2_pack_weights(&s, 1, w, u);
    dc_winograd2_conv2d(&s, 1, 1, in, u, NULL, NULL, DC_ACT_NONE, out, 0, 20, ws);
    twin_conv(&s, in, w, NULL, DC_ACT_NONE, want);
    double err = 0.0, scale = 0.0;
    for (size_t i = 0; i < n_out; i++) {
        const double e = fabs(out[i] - want[i]), m = fabs(want[i]);
        if (e > err)
            err = e;
        if (m > scale)
            scale = m;
    }
    ck_assert_msg(scale > 0.5, "outputs too small to mean anything (%g)", scale);
    ck_assert_msg(err <= 1e-5 * scale, "max error %.3g, max |out| %.3g", err, scale);
    free(in), free(w), free(u), free(out), free(ws), free(want);
}
END_TEST

/* F(2x2) over blocks of samples (a batch): every shape of cases2 with the block size the
 * batch rule gives for 64 samples (64 / tiles, at least 1), run on 5 samples (a partial
 * block) with bias and residual, each sample against the twin; output channels in two
 * uneven ranges; the two steps give the same bits. */
START_TEST(test_f2_samples_against_twin)
{
    const dc_conv_shape *s = &cases2[_i];
    enum { N = 5 };
    const int samples = dc_winograd2_samples(s, 64);
    ck_assert_int_ge(samples, 1);
    ck_assert_int_le(samples * dc_winograd2_tiles(s), 64 > dc_winograd2_tiles(s) ? 64 :
                                                      dc_winograd2_tiles(s));
    const int n = N < samples ? N : samples;
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    const size_t in_one = (size_t)s->cin * s->h * s->w, out_one = (size_t)s->cout * oh * ow;
    const size_t n_u = dc_winograd2_weight_floats(s, samples);
    const size_t n_ws = dc_winograd2_workspace_floats(s, samples);
    fx_rng r = fx_rng_seed(900 + (uint64_t)_i);
    float *in = fx_buf_random(n * in_one, &r, -1.0f, 1.0f);
    float *res = fx_buf_random(n * out_one, &r, -1.0f, 1.0f);
    float *w = fx_buf_random((size_t)s->cout * s->cin * 9, &r, -1.0f, 1.0f);
    float *b = fx_buf_random((size_t)s->cout, &r, -1.0f, 1.0f);
    float *u = fx_buf_new(n_u), *out = fx_buf_new(n * out_one), *ws = fx_buf_new(n_ws);
    dc_winograd2_pack_weights(s, samples, w, u);
    fx_buf_check(u, n_u, "u");
    const int cut = s->cout / 3 + (s->cout > 2);
    dc_winograd2_conv2d(s, samples, n, in, u, b, res, DC_ACT_RELU6, out, 0, cut, ws);
    dc_winograd2_conv2d(s, samples, n, in, u, b, res, DC_ACT_RELU6, out, cut, s->cout, ws);
    fx_buf_check(ws, n_ws, "ws");
    fx_buf_check(out, n * out_one, "out");
    char what[64];
    snprintf(what, sizeof what, "f2 case %d, %d samples a block,", _i, samples);
    check_samples(s, n, in, w, b, res, DC_ACT_RELU6, out, what);
    float *v = fx_buf_new(dc_winograd2_input_floats(s, samples)), *two = fx_buf_new(n * out_one);
    float *scratch = fx_buf_new(dc_winograd2_input_scratch_floats(s));
    dc_winograd2_transform_input(s, samples, n, in, 0, s->cin / 2, v, scratch);
    dc_winograd2_transform_input(s, samples, n, in, s->cin / 2, s->cin, v, scratch);
    dc_winograd2_conv2d_from_input(s, samples, n, v, u, b, res, DC_ACT_RELU6, two, 0, s->cout,
                                   ws);
    ck_assert_msg(memcmp(out, two, n * out_one * sizeof(float)) == 0,
                  "case %d: two steps differ from one whole call", _i);
    free(in), free(res), free(w), free(b), free(u), free(out), free(ws);
    free(v), free(two), free(scratch);
}
END_TEST

/* In a batch F(2x2) takes the maps F(4x4) leaves whose tiles cover 3 or 4 pixels: 2x2
 * maps, not 1x1 ones; 64 columns a product. */
START_TEST(test_f2_pays_in_batch)
{
    const dc_conv_shape two = conv3x3(512, 2, 2, 512, 1, 1), one = conv3x3(512, 1, 1, 512, 1, 1);
    ck_assert(dc_winograd2_pays(&two, 64) && !dc_winograd_pays_in_batch(&two, 64));
    ck_assert(!dc_winograd2_pays(&two, 1));        /* 1 tile: below 16 at small batches */
    ck_assert(!dc_winograd2_pays(&one, 64));
    ck_assert_int_eq(dc_winograd2_samples(&two, 64), 64);
    ck_assert_int_eq(dc_winograd2_samples(&two, 9), 9);
    ck_assert_int_eq(dc_winograd2_samples(&two, 7), 1);  /* below DC_WINOGRAD_BATCH */
    const dc_conv_shape sixteen = conv3x3(64, 8, 8, 64, 1, 1); /* 16 tiles */
    ck_assert_int_eq(dc_winograd2_samples(&sixteen, 64), 4);
}
END_TEST

START_TEST(test_f2_applies)
{
    dc_conv_shape s = conv3x3(64, 16, 16, 64, 1, 1);
    ck_assert(dc_winograd2_applies(&s));   /* 64 tiles */
    s.h = s.w = 17;
    ck_assert(!dc_winograd2_applies(&s));  /* 81 tiles */
    s = conv3x3(64, 14, 14, 64, 1, 1);
    s.stride_h = s.stride_w = 2;
    ck_assert(!dc_winograd2_applies(&s));
    s = conv3x3(64, 14, 14, 64, 1, 1);
    s.groups = 2;
    ck_assert(!dc_winograd2_applies(&s));
    s = conv3x3(64, 14, 14, 64, 3, 3);
    ck_assert(!dc_winograd2_applies(&s));
}
END_TEST

static Suite *winograd_suite(void)
{
    Suite *s = suite_create("winograd");
    TCase *t = fx_tcase(s, "shape", 0);
    tcase_add_test(t, test_applies);
    tcase_add_test(t, test_pays);
    tcase_add_test(t, test_tiles_and_sizes);

    t = fx_tcase(s, "twin", 0);
    tcase_add_loop_test(t, test_against_twin, 0, (int)NELEM(cases));
    tcase_add_test(t, test_act_clamps);
    tcase_add_loop_test(t, test_ranges_assemble, 0, (int)NELEM(range_cases));
    tcase_add_test(t, test_error_realistic);
    tcase_add_test(t, test_concurrent_ranges);
    tcase_add_loop_test(t, test_samples_against_twin, 0, (int)NELEM(cases));
    tcase_add_loop_test(t, test_samples_packed_against_twin, 0, (int)NELEM(cases));
    tcase_add_test(t, test_pays_across_samples);

    t = fx_tcase(s, "f2x2", 0);
    tcase_add_test(t, test_f2_applies);
    tcase_add_loop_test(t, test_f2_samples_against_twin, 0, (int)NELEM(cases2));
    tcase_add_test(t, test_f2_pays_in_batch);
    tcase_add_loop_test(t, test_f2_against_twin, 0, (int)NELEM(cases2));
    tcase_add_test(t, test_f2_error_realistic);
    return s;
}

FX_MAIN(winograd_suite)
