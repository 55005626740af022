/*
 * test_threads.c — the thread pool (base/pool.c) and the units of work the runtime
 * hands to it: conv tiles (with a fused residual), linear column ranges, layer norm pixel
 * ranges and window-attention bands must assemble exactly the result of the whole-node
 * kernel (which tests/test_kernels.c checks against naive loops); and a net run on 1, 2
 * and 3 threads gives the same logits.
 */
#include <check.h>
#include <pthread.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/pool.h"
#include "fixtures.h"
#include "kernels/kernels.h"
#include "layers/net.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static float *random_buf(size_t n, fx_rng *r)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    fx_fill_uniform(p, n, r, -1.0f, 1.0f);
    return p;
}

/* Largest |a - b| relative to max(1, max |b|). */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double scale = fx_max_abs(b, n);
    return fx_max_abs_diff(a, b, n) / (scale > 1.0 ? scale : 1.0);
}

/* ---- the pool ------------------------------------------------------------ */

typedef struct {
    _Atomic int *hits;
    _Atomic int bad_thread;
    int threads;
    dc_pool *pool;
} count_ctx;

static void count_task(void *p, int task, int thread)
{
    count_ctx *c = p;
    atomic_fetch_add(&c->hits[task], 1);
    if (thread < 0 || thread >= c->threads)
        atomic_store(&c->bad_thread, 1);
}

/* A task that starts a nested run: it must run serially on the same thread. */
static void nested_task(void *p, int task, int thread)
{
    count_ctx *c = p;
    (void)thread;
    count_ctx inner = { c->hits + 100 * (task + 1), 0, c->threads, c->pool };
    dc_pool_run(c->pool, 7, count_task, &inner);
    if (inner.bad_thread)
        atomic_store(&c->bad_thread, 1);
}

START_TEST(test_pool_runs_every_task_once)
{
    static const int thread_counts[] = { 1, 2, 3, 5 };
    static const int task_counts[] = { 0, 1, 2, 3, 17, 1000 };
    enum { MAX_TASKS = 1000 };
    _Atomic int *hits = calloc(MAX_TASKS, sizeof *hits);
    for (size_t t = 0; t < NELEM(thread_counts); t++) {
        ck_assert_int_eq(dc_pool_set_default_threads(thread_counts[t]), thread_counts[t]);
        dc_pool *pool = dc_pool_default();
        ck_assert_int_eq(dc_pool_threads(pool), thread_counts[t]);
        for (int rep = 0; rep < 50; rep++) /* many jobs back to back: generations */
            for (size_t k = 0; k < NELEM(task_counts); k++) {
                int n = task_counts[k];
                for (int i = 0; i < MAX_TASKS; i++)
                    atomic_store(&hits[i], 0);
                count_ctx c = { hits, 0, thread_counts[t], pool };
                dc_pool_run(pool, n, count_task, &c);
                for (int i = 0; i < MAX_TASKS; i++)
                    ck_assert_msg(atomic_load(&hits[i]) == (i < n),
                                  "threads %d, %d tasks: task %d ran %d times",
                                  thread_counts[t], n, i, atomic_load(&hits[i]));
                ck_assert_int_eq(atomic_load(&c.bad_thread), 0);
            }
    }
    free(hits);
}
END_TEST

START_TEST(test_pool_nested_runs_serially)
{
    enum { OUTER = 5 };
    _Atomic int *hits = calloc(100 * (OUTER + 1), sizeof *hits);
    dc_pool_set_default_threads(3);
    dc_pool *pool = dc_pool_default();
    count_ctx c = { hits, 0, 1, pool }; /* nested tasks must all see thread 0 */
    dc_pool_run(pool, OUTER, nested_task, &c);
    for (int t = 0; t < OUTER; t++)
        for (int i = 0; i < 7; i++)
            ck_assert_int_eq(atomic_load(&hits[100 * (t + 1) + i]), 1);
    ck_assert_int_eq(atomic_load(&c.bad_thread), 0);
    free(hits);
}
END_TEST

/* Workers that went to sleep (spin time over) still take new jobs. */
START_TEST(test_pool_wakes_sleeping_workers)
{
    dc_pool_set_default_threads(2);
    dc_pool *pool = dc_pool_default();
    _Atomic int hits[64];
    for (int round = 0; round < 3; round++) {
        struct timespec pause = { 0, 20 * 1000 * 1000 }; /* 20 ms: past any spin */
        nanosleep(&pause, NULL);
        for (int i = 0; i < 64; i++)
            atomic_store(&hits[i], 0);
        count_ctx c = { hits, 0, 2, pool };
        dc_pool_run(pool, 64, count_task, &c);
        for (int i = 0; i < 64; i++)
            ck_assert_int_eq(atomic_load(&hits[i]), 1);
    }
}
END_TEST

/* ---- conv tiles ---------------------------------------------------------- */

static const dc_conv_shape tile_cases[] = {
    /* cin, h, w, cout, kh, kw, sh, sw, ph, pw, groups */
    { 3, 33, 35, 16, 3, 3, 1, 1, 1, 1, 1 },     /* odd map, tiles cross rows */
    { 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1 },    /* several tiles (K = 576) */
    { 256, 14, 14, 48, 3, 3, 1, 1, 1, 1, 1 },   /* K = 2304: narrow tiles */
    { 32, 17, 13, 24, 3, 3, 2, 2, 1, 1, 1 },    /* stride 2 */
    { 40, 9, 11, 36, 1, 1, 1, 1, 0, 0, 1 },     /* 1x1: no im2col, ldb = map */
    { 16, 12, 12, 32, 3, 3, 1, 1, 1, 1, 4 },    /* groups */
    { 5, 2, 3, 7, 5, 5, 1, 1, 4, 4, 1 },        /* padding wider than the image */
    { 17, 1, 1, 19, 3, 3, 1, 1, 1, 1, 1 },      /* 1x1 map */
};

/* Whole conv, then + residual and act, the reference for a fused tile. */
static void conv_reference(const dc_conv_shape *s, const float *in, const float *w,
                           const float *b, const float *res, dc_act act, float *out)
{
    float *ws = malloc((dc_conv2d_workspace_floats(s) + 1) * sizeof *ws);
    dc_conv2d(s, in, w, b, DC_ACT_NONE, out, ws);
    size_t n = (size_t)s->cout * dc_conv_out_h(s) * dc_conv_out_w(s);
    for (size_t i = 0; i < n; i++) {
        float v = out[i] + (res ? res[i] : 0.0f);
        if (act == DC_ACT_RELU)
            v = v < 0.0f ? 0.0f : v;
        out[i] = v;
    }
    free(ws);
}

START_TEST(test_conv_tiles_assemble)
{
    const dc_conv_shape *s = &tile_cases[_i];
    fx_rng r = fx_rng_seed(500 + (uint64_t)_i);
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s), cout_g = s->cout / s->groups;
    size_t n_in = (size_t)s->cin * s->h * s->w, n_out = (size_t)s->cout * npix;
    size_t n_w = (size_t)s->cout * (s->cin / s->groups) * s->kh * s->kw;
    float *in = random_buf(n_in, &r), *w = random_buf(n_w, &r);
    float *b = random_buf((size_t)s->cout, &r), *res = random_buf(n_out, &r);
    float *ref = malloc(n_out * sizeof *ref), *out = malloc(n_out * sizeof *out);
    size_t n_ws = dc_conv2d_tile_workspace_floats(s);
    float *ws = malloc((n_ws + 1) * sizeof *ws);
    const int tile = dc_conv_tile_pixels(s);
    ck_assert_int_ge(tile, 1);
    ck_assert_int_le(tile, npix);

    /* tile widths: the runtime's, and awkward ones (1 pixel, 7, a row and a bit) */
    const int widths[] = { tile, 1, 7, dc_conv_out_w(s) + 1 };
    for (int with_res = 0; with_res < 2; with_res++) {
        dc_act act = with_res ? DC_ACT_RELU : DC_ACT_NONE;
        conv_reference(s, in, w, b, with_res ? res : NULL, act, ref);
        for (size_t k = 0; k < NELEM(widths); k++) {
            int wd = widths[k] < tile ? widths[k] : tile; /* workspace holds one tile */
            for (int co_block = 1; co_block <= cout_g; co_block = co_block * 3 + 2) {
                for (size_t i = 0; i < n_out; i++)
                    out[i] = NAN; /* a pixel no tile writes stays NaN */
                for (int g = 0; g < s->groups; g++)
                    for (int p0 = 0; p0 < npix; p0 += wd)
                        for (int c0 = 0; c0 < cout_g; c0 += co_block) {
                            int p1 = p0 + wd < npix ? p0 + wd : npix;
                            int c1 = c0 + co_block < cout_g ? c0 + co_block : cout_g;
                            dc_conv2d_tile(s, in, w, b, with_res ? res : NULL, act, out, g,
                                           p0, p1, c0, c1, ws);
                        }
                double d = rel_diff(out, ref, n_out);
                ck_assert_msg(d <= 1e-5, "case %d residual %d width %d co_block %d: %g", _i,
                              with_res, wd, co_block, d);
            }
        }
    }
    free(in), free(w), free(b), free(res), free(ref), free(out), free(ws);
}
END_TEST

/* The shared two-step conv: im2col rows in three ranges, then channel blocks from the
 * shared matrix, equal the whole conv (dense, non-1x1 cases). */
START_TEST(test_conv_shared_cols)
{
    const dc_conv_shape *s = &tile_cases[_i];
    fx_rng r = fx_rng_seed(800 + (uint64_t)_i);
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s), k = s->cin * s->kh * s->kw;
    size_t n_in = (size_t)s->cin * s->h * s->w, n_out = (size_t)s->cout * npix;
    float *in = random_buf(n_in, &r), *w = random_buf((size_t)s->cout * k, &r);
    float *b = random_buf((size_t)s->cout, &r), *res = random_buf(n_out, &r);
    float *ref = malloc(n_out * sizeof *ref), *out = malloc(n_out * sizeof *out);
    float *cols = malloc((size_t)k * npix * sizeof *cols);
    float *ws = malloc((size_t)k * DC_SKINNY_MAX_COLS * sizeof *ws);
    conv_reference(s, in, w, b, res, DC_ACT_RELU, ref);
    for (size_t i = 0; i < n_out; i++)
        out[i] = NAN;
    const int r1 = k / 3, r2 = 2 * k / 3;
    dc_im2col_rows(s, in, r2, k, cols);
    dc_im2col_rows(s, in, 0, r1, cols);
    dc_im2col_rows(s, in, r1, r2, cols);
    const int c1 = s->cout / 2;
    dc_conv2d_from_cols(s, cols, w, b, res, DC_ACT_RELU, out, 0, npix, c1, s->cout, ws);
    dc_conv2d_from_cols(s, cols, w, b, res, DC_ACT_RELU, out, 0, npix / 2, 0, c1, ws);
    dc_conv2d_from_cols(s, cols, w, b, res, DC_ACT_RELU, out, npix / 2, npix, 0, c1, ws);
    double d = rel_diff(out, ref, n_out);
    ck_assert_msg(d <= 1e-5, "case %d: %g", _i, d);
    free(in), free(w), free(b), free(res), free(ref), free(out), free(cols), free(ws);
}
END_TEST

/* Several samples as one GEMM equal each sample's conv (residual and channel block too). */
START_TEST(test_conv_samples_equal_single)
{
    const dc_conv_shape *s = &tile_cases[_i];
    fx_rng r = fx_rng_seed(700 + (uint64_t)_i);
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s), cout_g = s->cout / s->groups;
    const int samples = 3;
    size_t n_in = (size_t)s->cin * s->h * s->w, n_out = (size_t)s->cout * npix;
    size_t n_w = (size_t)s->cout * (s->cin / s->groups) * s->kh * s->kw;
    float *in = random_buf(n_in * samples, &r), *w = random_buf(n_w, &r);
    float *b = random_buf((size_t)s->cout, &r), *res = random_buf(n_out * samples, &r);
    float *ref = malloc(n_out * samples * sizeof *ref);
    float *out = malloc(n_out * samples * sizeof *out);
    float *ws = malloc(dc_conv2d_samples_workspace_floats(s, samples) * sizeof *ws);
    for (int j = 0; j < samples; j++)
        conv_reference(s, in + j * n_in, w, b, res + j * n_out, DC_ACT_RELU, ref + j * n_out);
    for (size_t i = 0; i < n_out * samples; i++)
        out[i] = NAN;
    const int half = cout_g / 2;
    for (int g = 0; g < s->groups; g++) { /* two channel blocks, the first of one sample */
        dc_conv2d_samples(s, 1, in, w, b, res, DC_ACT_RELU, out, g, 0, half, ws);
        dc_conv2d_samples(s, samples - 1, in + n_in, w, b, res + n_out, DC_ACT_RELU,
                          out + n_out, g, 0, half, ws);
        dc_conv2d_samples(s, samples, in, w, b, res, DC_ACT_RELU, out, g, half, cout_g, ws);
    }
    double d = rel_diff(out, ref, n_out * samples);
    ck_assert_msg(d <= 1e-5, "case %d: %g", _i, d);
    ck_assert_int_eq(dc_conv_samples_per_tile(s, 1), 1);
    free(in), free(w), free(b), free(res), free(ref), free(out), free(ws);
}
END_TEST

/* Winograd with the fused residual, over two tile ranges and two channel blocks, equals the
 * whole conv + residual, then ReLU (to Winograd's rounding: docs/winograd.md). */
static const dc_conv_shape winograd_cases[] = {
    { 3, 33, 35, 16, 3, 3, 1, 1, 1, 1, 1 },     /* odd map: clipped edge tiles */
    { 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1 },
    { 17, 1, 1, 19, 3, 3, 1, 1, 1, 1, 1 },      /* 1x1 map */
    { 16, 9, 6, 8, 3, 3, 1, 1, 0, 2, 1 },       /* uneven padding */
};

START_TEST(test_winograd_residual)
{
    const dc_conv_shape *s = &winograd_cases[_i];
    ck_assert(dc_winograd_applies(s));
    fx_rng r = fx_rng_seed(900 + (uint64_t)_i);
    const int npix = dc_conv_out_h(s) * dc_conv_out_w(s), tiles = dc_winograd_tiles(s);
    size_t n_in = (size_t)s->cin * s->h * s->w, n_out = (size_t)s->cout * npix;
    size_t n_w = (size_t)s->cout * s->cin * 9;
    float *in = random_buf(n_in, &r), *w = random_buf(n_w, &r);
    float *b = random_buf((size_t)s->cout, &r), *res = random_buf(n_out, &r);
    float *ref = malloc(n_out * sizeof *ref), *out = malloc(n_out * sizeof *out);
    float *u = malloc(dc_winograd_weight_floats(s) * sizeof *u);
    float *ws = malloc(dc_winograd_workspace_floats(s, tiles) * sizeof *ws);
    dc_winograd_transform_weights(s, w, u);
    conv_reference(s, in, w, b, res, DC_ACT_RELU, ref);
    for (size_t i = 0; i < n_out; i++)
        out[i] = NAN;
    const int tmid = tiles / 2, cmid = s->cout / 2;
    dc_winograd_conv2d_residual(s, in, u, b, res, DC_ACT_RELU, out, 0, tmid, 0, cmid, ws);
    dc_winograd_conv2d_residual(s, in, u, b, res, DC_ACT_RELU, out, tmid, tiles, 0, cmid, ws);
    dc_winograd_conv2d_residual(s, in, u, b, res, DC_ACT_RELU, out, 0, tiles, cmid, s->cout,
                                ws);
    double d = rel_diff(out, ref, n_out);
    ck_assert_msg(d <= 2e-5, "case %d: %g", _i, d);
    free(in), free(w), free(b), free(res), free(ref), free(out), free(u), free(ws);
}
END_TEST

/* The skinny GEMM against a plain triple loop in double: every column count up to the
 * limit, row counts not a multiple of 4, k with and without a tail past 16. */
START_TEST(test_gemm_skinny)
{
    fx_rng r = fx_rng_seed(77);
    const int ks[] = { 1, 15, 16, 17, 100 };
    for (size_t kt = 0; kt < NELEM(ks); kt++)
        for (int n = 1; n <= DC_SKINNY_MAX_COLS; n++) {
            const int m = 7, k = ks[kt], lda = k + 3, ldc = n + 2;
            float *a = random_buf((size_t)m * lda, &r), *b = random_buf((size_t)k * n, &r);
            float *bt = malloc((size_t)k * n * sizeof *bt);
            float *c = malloc((size_t)m * ldc * sizeof *c);
            for (int i = 0; i < m * ldc; i++)
                c[i] = NAN;
            dc_transpose(k, n, b, n, bt);
            dc_gemm_skinny(m, n, k, a, lda, bt, c, ldc);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double ref = 0.0;
                    for (int t = 0; t < k; t++)
                        ref += (double)a[i * lda + t] * b[t * n + j];
                    ck_assert_msg(fabs(c[i * ldc + j] - ref) <= 1e-5 * (1.0 + fabs(ref)),
                                  "m %d n %d k %d: C[%d][%d] = %g, want %g", m, n, k, i, j,
                                  c[i * ldc + j], ref);
                }
                for (int j = n; j < ldc; j++) /* the padding between rows is not written */
                    ck_assert(isnan(c[i * ldc + j]));
            }
            free(a), free(b), free(bt), free(c);
        }
}
END_TEST

/* ---- linear, layer norm, attention ranges -------------------------------- */

START_TEST(test_linear_ranges)
{
    fx_rng r = fx_rng_seed(42);
    const int n_cases[][3] = { { 1, 37, 23 }, { 5, 64, 100 }, { 3, 9, 1 } };
    for (size_t k = 0; k < NELEM(n_cases); k++) {
        int n = n_cases[k][0], fin = n_cases[k][1], fout = n_cases[k][2];
        float *x = random_buf((size_t)n * fin, &r), *w = random_buf((size_t)fin * fout, &r);
        float *b = random_buf((size_t)fout, &r);
        float *ref = malloc((size_t)n * fout * sizeof *ref);
        float *out = malloc((size_t)n * fout * sizeof *out);
        dc_linear(n, fin, fout, x, w, b, DC_ACT_RELU, ref);
        for (int step = 1; step <= fout; step = step * 2 + 1) {
            for (int i = 0; i < n * fout; i++)
                out[i] = NAN;
            for (int o0 = 0; o0 < fout; o0 += step)
                dc_linear_range(n, fin, fout, o0, o0 + step < fout ? o0 + step : fout, x, w,
                                b, DC_ACT_RELU, out);
            ck_assert_msg(rel_diff(out, ref, (size_t)n * fout) <= 1e-5,
                          "linear %d x %d -> %d, step %d", n, fin, fout, step);
        }
        free(x), free(w), free(b), free(ref), free(out);
    }
}
END_TEST

START_TEST(test_layernorm_ranges)
{
    fx_rng r = fx_rng_seed(43);
    const int c = 24, hw = 150; /* more than two blocks of 64 pixels */
    float *in = random_buf((size_t)c * hw, &r), *g = random_buf((size_t)c, &r);
    float *bt = random_buf((size_t)c, &r);
    float *ref = malloc((size_t)c * hw * sizeof *ref), *out = malloc((size_t)c * hw * sizeof *out);
    dc_layernorm_channels(c, hw, g, bt, 1e-6f, in, ref);
    const int cuts[] = { 0, 1, 63, 64, 100, 149, 150 };
    for (size_t i = 0; i < (size_t)c * hw; i++)
        out[i] = NAN;
    for (size_t k = 0; k + 1 < NELEM(cuts); k++)
        dc_layernorm_channels_range(c, hw, cuts[k], cuts[k + 1], g, bt, 1e-6f, in, out);
    ck_assert(rel_diff(out, ref, (size_t)c * hw) == 0.0);
    free(in), free(g), free(bt), free(ref), free(out);
}
END_TEST

START_TEST(test_attention_bands)
{
    fx_rng r = fx_rng_seed(44);
    /* 13 x 10 map, window 4: 4 bands of padded rows, shifted (masked windows) */
    dc_wattn_shape s = { .c = 8, .h = 13, .w = 10, .heads = 2, .window = 4, .shift = 2 };
    const int C = s.c, N = s.window * s.window, bands = dc_window_attention_bands(&s);
    ck_assert_int_eq(bands, 4);
    size_t n = (size_t)C * s.h * s.w;
    float *in = random_buf(n, &r), *qkv_w = random_buf((size_t)3 * C * C, &r);
    float *qkv_b = random_buf((size_t)3 * C, &r), *proj_w = random_buf((size_t)C * C, &r);
    float *proj_b = random_buf((size_t)C, &r);
    float *pos = random_buf((size_t)s.heads * N * N, &r);
    float *ws = malloc(dc_window_attention_workspace_floats(&s) * sizeof *ws);
    float *packed = malloc(dc_wattn_packed_floats(&s) * sizeof *packed);
    float *ref = malloc(n * sizeof *ref), *out = malloc(n * sizeof *out);
    dc_wattn_pack(&s, qkv_w, qkv_b, proj_w, proj_b, pos, packed);
    dc_window_attention(&s, in, packed, NULL, ref, ws);
    for (size_t i = 0; i < n; i++)
        out[i] = NAN;
    for (int b = bands - 1; b >= 0; b--) /* any order: bands are independent */
        dc_window_attention_range(&s, in, packed, NULL, out, b, b + 1, ws);
    ck_assert(rel_diff(out, ref, n) == 0.0);
    free(in), free(qkv_w), free(qkv_b), free(proj_w), free(proj_b), free(pos), free(ws);
    free(packed), free(ref), free(out);
}
END_TEST

/* ---- whole nets on several thread counts --------------------------------- */

/* A pass too small to gain from splitting is cut for one thread (layers/net.c): the
 * shufflenetv2_x0_5 of the demo (10.9 MMACs) at batch 1, not at batch 2, and not resnet20
 * (41 MMACs). */
START_TEST(test_small_pass_cut_for_one_thread)
{
    dc_net *small, *big;
    dc_error err;
    ck_assert_msg(dc_net_build_random("shufflenetv2_x0_5", 10, 7, 2, &small, &err) == DC_OK,
                  "%s", err.msg);
    ck_assert_msg(dc_net_build_random("resnet20", 10, 7, 1, &big, &err) == DC_OK, "%s",
                  err.msg);
    ck_assert_int_eq(dc_net_cut_threads(small, 1, 4), 1);
    ck_assert_int_eq(dc_net_cut_threads(small, 2, 4), 4);
    ck_assert_int_eq(dc_net_cut_threads(big, 1, 4), 4);
    ck_assert_int_eq(dc_net_cut_threads(big, 1, 1), 1);
    dc_net_free(small);
    dc_net_free(big);
}
END_TEST

START_TEST(test_net_same_on_any_thread_count)
{
    /* Winograd, fused residuals, depthwise; at batch 9 and 1 thread, small maps run
     * several samples per GEMM; planned for batches under 8, repvgg_a0's 8x8 convs of
     * 96-192 channels run Winograd F(2x2) and its stride-2 convs dc_conv_packed, split
     * by output-channel blocks; at batch 1, mobilenetv2_x0_5's 1x1 convs of 16 to 80
     * output channels split by pixels (plan_packed_columns), and resnet20's Winograd
     * F(4x4) convs on inputs of at most 64 channels, which share no V between the
     * threads (ops_conv.c: can_share_input): the 32-channel 16x16 ones whole on one
     * thread, the 64-channel 8x8 ones in two blocks of output channels (vgg11_bn's
     * 128-channel 16x16 ones share V at batch 1) */
    static const struct { const char *arch; int batch; bool packed; } cases[] = {
        { "resnet20", 9, false },  { "mobilenetv2_x0_5", 9, false },
        { "shufflenetv2_x0_5", 9, false }, { "vgg11_bn", 9, false },
        { "repvgg_a0", 3, true },  { "mobilenetv2_x0_5", 1, true },
        { "resnet20", 1, false },
    };
    const char *arch = cases[_i].arch;
    const int batch = cases[_i].batch;
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_build_random(arch, 10, 7, batch, &net, &err) == DC_OK, "%s", err.msg);
    if (cases[_i].packed) { /* the packed-weight paths are what this case is for */
        int f2 = 0, packed = 0;
        for (int i = 0; i < net->n_nodes; i++) {
            const dc_node *nd = &net->nodes[i];
            if (nd->op == DC_OP_CONV)
                f2 += nd->conv.winograd2, packed += nd->conv.packed != NULL;
        }
        ck_assert_msg(f2 > 0 || batch == 1, "%s at batch %d: no conv runs Winograd F(2x2)",
                      arch, batch);
        ck_assert_msg(packed > 0, "%s at batch %d: no conv runs on packed weights", arch,
                      batch);
    }
    dc_net_info info = dc_net_get_info(net);
    size_t n_in = (size_t)batch * info.in_c * info.in_h * info.in_w;
    size_t n_out = (size_t)batch * info.num_classes;
    fx_rng r = fx_rng_seed(9);
    float *x = random_buf(n_in, &r);
    float *ref = malloc(n_out * sizeof *ref), *out = malloc(n_out * sizeof *out);
    /* reference: one sample at a time on one thread */
    dc_set_threads(1);
    const size_t in_one = n_in / batch;
    for (int j = 0; j < batch; j++)
        ck_assert(dc_net_forward(net, x + j * in_one, 1, ref + j * info.num_classes, &err) ==
                  DC_OK);
    ck_assert(dc_net_forward(net, x, batch, out, &err) == DC_OK);
    ck_assert_msg(rel_diff(out, ref, n_out) <= 1e-5, "%s: batch on one thread: %g", arch,
                  rel_diff(out, ref, n_out));
    for (int threads = 2; threads <= 3; threads++) {
        dc_set_threads(threads);
        for (int n = 1; n <= batch; n += batch > 1 ? batch / 2 : 1) {
            ck_assert(dc_net_forward(net, x, n, out, &err) == DC_OK);
            double d = rel_diff(out, ref, (size_t)n * info.num_classes);
            ck_assert_msg(d <= 1e-5, "%s: %d threads, batch %d: %g", arch, threads, n, d);
        }
    }
    dc_set_threads(1);
    free(x), free(ref), free(out);
    dc_net_free(net);
}
END_TEST

/* A random input of one sample for net (seeded) and two outputs' room, for the tests that
 * run one net against another planned with a path turned off. */
static dc_net_info one_sample_buffers(const dc_net *net, uint64_t seed, float **x, float **ref,
                                      float **out)
{
    const dc_net_info info = dc_net_get_info(net);
    fx_rng r = fx_rng_seed(seed);
    *x = random_buf((size_t)info.in_c * info.in_h * info.in_w, &r);
    *ref = malloc((size_t)info.num_classes * sizeof **ref);
    *out = malloc((size_t)info.num_classes * sizeof **out);
    return info;
}

/* The net arch built twice at max_batch from the same seed: as planned, and with the
 * path that the environment variable off_var (read at plan time) turns off. */
static void build_with_and_without(const char *arch, uint64_t seed, int max_batch,
                                   const char *off_var, dc_net **net, dc_net **plain)
{
    dc_error err;
    ck_assert_msg(dc_net_build_random(arch, 10, seed, max_batch, net, &err) == DC_OK, "%s",
                  err.msg);
    setenv(off_var, "0", 1);
    dc_status st = dc_net_build_random(arch, 10, seed, max_batch, plain, &err);
    unsetenv(off_var);
    ck_assert_msg(st == DC_OK, "%s", err.msg);
}

/* Grouped convs on Winograd F(2x2) (ops_conv.c: grouped_winograd2_pays; each task one
 * group of one sample) against the same net planned without F(2x2) (F(4x4) and im2col):
 * regnet_x_3_2gf's 3x3 convs of 48-channel groups on 14x14 and 7x7 maps, planned with
 * DC_GROUP_WINO=0 (else its 14x14 ones run F(4, 3) down the columns; groups of 32
 * channels or fewer run the direct kernel), on one thread and cut for two and three. */
START_TEST(test_grouped_f2_matches_other_paths)
{
    const char *arch = "regnet_x_3_2gf";
    dc_net *net, *plain;
    dc_error err;
    /* its 14x14 convs' groups would run F(4, 3) down the columns (choose_direct) */
    setenv("DC_GROUP_WINO", "0", 1);
    build_with_and_without(arch, 11, 1, "DC_WINOGRAD2", &net, &plain); /* dc_winograd2_pays */
    unsetenv("DC_GROUP_WINO");
    int grouped_f2 = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const dc_node *nd = &net->nodes[i], *pd = &plain->nodes[i];
        if (nd->op == DC_OP_CONV && nd->conv.shape.groups > 1 && nd->conv.winograd2) {
            grouped_f2++;
            ck_assert(!pd->conv.winograd2); /* the reference runs another path */
        }
    }
    ck_assert_msg(grouped_f2 >= 2, "%s: %d grouped convs on F(2x2)", arch, grouped_f2);
    float *x, *ref, *out;
    const dc_net_info info = one_sample_buffers(net, 21, &x, &ref, &out);
    dc_set_threads(1);
    ck_assert(dc_net_forward(plain, x, 1, ref, &err) == DC_OK);
    for (int threads = 1; threads <= 3; threads++) {
        dc_set_threads(threads);
        ck_assert(dc_net_forward(net, x, 1, out, &err) == DC_OK);
        double d = rel_diff(out, ref, (size_t)info.num_classes);
        ck_assert_msg(d <= 1e-5, "%s: %d threads: %g", arch, threads, d);
    }
    dc_set_threads(1);
    free(x), free(ref), free(out);
    dc_net_free(net);
    dc_net_free(plain);
}
END_TEST

/* net against plain (the same net planned with the path that off_var turns off), two
 * samples of seeded input: one sample on two threads, two on three, two on one (every
 * combination of 1-3 threads and 1-2 samples took resnext50_32x4d's 224x224 nets 44 s in
 * the sanitizer build at -O0). Frees both nets. */
static void check_against_plain(const char *arch, const char *off_var, uint64_t seed,
                                dc_net *net, dc_net *plain)
{
    dc_error err;
    const dc_net_info info = dc_net_get_info(net);
    const size_t in_one = (size_t)info.in_c * info.in_h * info.in_w;
    fx_rng r = fx_rng_seed(seed);
    float *x = random_buf(2 * in_one, &r);
    float *ref = malloc(2 * (size_t)info.num_classes * sizeof *ref);
    float *out = malloc(2 * (size_t)info.num_classes * sizeof *out);
    dc_set_threads(1);
    ck_assert(dc_net_forward(plain, x, 2, ref, &err) == DC_OK);
    static const struct { int threads, samples; } runs[] = { { 2, 1 }, { 3, 2 }, { 1, 2 } };
    /* the sanitizer build (CI's time) leaves out the one-thread run: the release build
     * runs it, and the cut for threads is what the sanitizers have to watch */
#if defined(__SANITIZE_ADDRESS__)
    const size_t n_runs = 2;
#else
    const size_t n_runs = NELEM(runs);
#endif
    for (size_t k = 0; k < n_runs; k++) {
        const int threads = runs[k].threads, n = runs[k].samples;
        dc_set_threads(threads);
        ck_assert(dc_net_forward(net, x, n, out, &err) == DC_OK);
        double d = rel_diff(out, ref, (size_t)n * info.num_classes);
        /* the two paths sum each output in another order, and these random nets' logits
         * (several hundred) cancel: the reference alone moves by up to 4e-6 from one
         * thread count to another. A misplaced group, tile, block or bias is off by the
         * logits' own size. */
        ck_assert_msg(d <= 1e-4, "%s (%s=0): %d threads, batch %d: %g", arch, off_var,
                      threads, n, d);
    }
    dc_set_threads(1);
    free(x), free(ref), free(out);
    dc_net_free(net);
    dc_net_free(plain);
}

/* Grouped convs on the direct kernel, group by group (ops_conv.c: choose_direct; a task
 * one group's output-channel block of one sample) against the same net planned with them
 * on im2col + SGEMM or Winograd (DC_DIRECT_GROUPS=0): regnet_y_400mf's 8-channel groups
 * (the stride-2 conv to 56x56, the 28x28 and 14x14 convs) and resnext50_32x4d's 4- to
 * 16-channel groups (whose stride-1 convs of 28x28 and 56x56 run F(4, 3) down the
 * columns, choose_direct_wino); then regnet_y_400mf's stride-1 convs by F(4, 3) against
 * the direct loops (DC_GROUP_WINO=0), and regnet_x_3_2gf's 48-channel groups on 14x14 the
 * same way against F(2x2) (check_against_plain). */
static const struct {
    const char *arch, *off_var;
    bool wino; /* the reference is the direct loops, not im2col + SGEMM or Winograd */
} direct_group_cases[] = {
    { "regnet_y_400mf", "DC_DIRECT_GROUPS", false },
    { "resnext50_32x4d", "DC_DIRECT_GROUPS", false },
    { "regnet_y_400mf", "DC_GROUP_WINO", true },
    { "regnet_x_3_2gf", "DC_GROUP_WINO", false }, /* 48-channel groups: vs F(2x2) */
};

START_TEST(test_grouped_direct_matches_other_paths)
{
    const char *arch = direct_group_cases[_i].arch;
    const bool wino = direct_group_cases[_i].wino;
    dc_net *net, *plain;
    /* choose_direct, choose_direct_wino */
    build_with_and_without(arch, 13, 2, direct_group_cases[_i].off_var, &net, &plain);
    int taken = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const dc_node *nd = &net->nodes[i], *pd = &plain->nodes[i];
        if (nd->op != DC_OP_CONV || nd->conv.shape.groups == 1)
            continue;
        if (wino && nd->conv.direct_wino) {
            taken++;
            ck_assert(pd->conv.direct && !pd->conv.direct_wino); /* the direct loops */
        } else if (!wino && nd->conv.direct) {
            taken++;
            ck_assert(!pd->conv.direct); /* the reference runs another path */
        }
    }
    ck_assert_msg(taken >= 2 || dc_simd_active() == DC_SIMD_PORTABLE,
                  "%s: %d grouped convs on the path under test", arch, taken);
    check_against_plain(arch, direct_group_cases[_i].off_var, 23, net, plain);
}
END_TEST

/* Grouped convs on the packed GEMM, group by group (ops_conv.c: choose_packed; a task one
 * group of one sample, or a tile of pixels of one), against the same net with every conv
 * on im2col + SGEMM or Winograd (DC_PACKED=0): regnet_x_8gf's stride-2 convs of
 * 120-channel groups to 28x28 (by L2 tiles), 14x14 and 7x7 (whole), on one to three
 * threads (check_against_plain). */
START_TEST(test_grouped_packed_matches_sgemm)
{
    const char *arch = "regnet_x_8gf";
    dc_net *net, *plain;
    build_with_and_without(arch, 17, 2, "DC_PACKED", &net, &plain); /* dc_conv_packed_pays */
    int grouped = 0, tiled = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const dc_node *nd = &net->nodes[i], *pd = &plain->nodes[i];
        if (nd->op != DC_OP_CONV || nd->conv.shape.groups == 1 || !nd->conv.packed)
            continue;
        grouped++;
        const dc_conv_shape g = dc_conv_group_shape(&nd->conv.shape);
        tiled += dc_conv_packed_l2_tile(&g) > 0;
        ck_assert(!pd->conv.packed); /* the reference runs another path */
    }
    ck_assert_msg(grouped == 3 && tiled == 1, "%s: %d grouped convs packed, %d tiled", arch,
                  grouped, tiled);
    check_against_plain(arch, "DC_PACKED", 29, net, plain);
}
END_TEST

/* Winograd F(4x4) on packed U at small batches (ops_conv.c: conv_prepare packs U for maps
 * of fewer than 49 tiles; plan_winograd cuts the output channels in whole packed blocks;
 * runs_whole keeps convs of fewer than 64 output channels on one thread at batch 1)
 * against the same net with F(4x4)'s products on SGEMM (DC_WG_PACKED=0): densenet121's
 * 128 -> 32 convs on 14x14 maps, on one to three threads (check_against_plain). */
START_TEST(test_winograd_packed_u_matches_sgemm)
{
    const char *arch = "densenet121";
    dc_net *net, *plain;
    build_with_and_without(arch, 19, 2, "DC_WG_PACKED", &net, &plain);
    int packed = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const dc_node *nd = &net->nodes[i], *pd = &plain->nodes[i];
        if (nd->op != DC_OP_CONV || !nd->conv.winograd_packed)
            continue;
        packed++;
        ck_assert(pd->conv.winograd && !pd->conv.winograd_packed);
    }
    ck_assert_msg(packed >= 2, "%s: %d convs on packed U", arch, packed);
    check_against_plain(arch, "DC_WG_PACKED", 31, net, plain);
}
END_TEST

/* The depth-first head (net.c: head_plan): the stem and its readers run on chunks of
 * samples, their own tensors holding one chunk, the rest of the net on the whole batch.
 * Against the same net without it (DC_HEAD=0), five samples in chunks of two (2, 2, 1:
 * the last one short), on one and two threads: resnet20's stem is read by a conv and by
 * the residual add fused into the next conv, mobilenetv2_x0_5's by a depthwise conv.
 * First with the same kernels (DC_GROUP_WINO=0 keeps the stem on the direct loops): a
 * chunk that read or wrote another chunk's samples, or a head tensor that shared memory
 * with another, is off by the logits' own size. Then as planned by default, where the
 * stem inside the head runs F(4, 3) down the columns (ops_conv.c: runs_direct_wino),
 * within the parity tests' 1e-4 of the direct stem (F(4, 3) rounds differently). */
static const char *const head_archs[] = { "resnet20", "mobilenetv2_x0_5" };

static void check_head_against(dc_net *net, dc_net *plain, const char *what, double tol)
{
    enum { SAMPLES = 5 };
    dc_error err;
    const dc_net_info info = dc_net_get_info(net);
    const size_t in_one = (size_t)info.in_c * info.in_h * info.in_w;
    const size_t logits = (size_t)SAMPLES * info.num_classes;
    fx_rng r = fx_rng_seed(31);
    float *x = random_buf(SAMPLES * in_one, &r);
    float *ref = malloc(logits * sizeof *ref), *out = malloc(logits * sizeof *out);
    dc_set_threads(1);
    ck_assert(dc_net_forward(plain, x, SAMPLES, ref, &err) == DC_OK);
    for (int threads = 1; threads <= 2; threads++) {
        dc_set_threads(threads);
        ck_assert(dc_net_forward(net, x, SAMPLES, out, &err) == DC_OK);
        double d = rel_diff(out, ref, logits);
        ck_assert_msg(d <= tol, "%s, %s: %d threads: %g", info.arch, what, threads, d);
    }
    dc_set_threads(1);
    free(x), free(ref), free(out);
}

/* Observed passes of a net with a head and of the same net without one: the observer of
 * the plain net keeps a copy of every output, that of the head's net compares with it. */
typedef struct {
    const dc_net *net;
    float **outs; /* per node id: the plain net's output */
    int calls;
    double worst;
} observed_pair;

static dc_status observe_pair(void *ctx, int id, const float *out, int n, dc_error *err)
{
    observed_pair *op = ctx;
    (void)err;
    const size_t size = dc_node_numel(&op->net->nodes[id]) * (size_t)n;
    op->calls++;
    if (!op->outs[id]) {
        op->outs[id] = malloc(size * sizeof(float));
        memcpy(op->outs[id], out, size * sizeof(float));
    } else {
        const double d = rel_diff(out, op->outs[id], size);
        op->worst = d > op->worst ? d : op->worst;
    }
    return DC_OK;
}

static void check_observed_head(dc_net *net, dc_net *plain)
{
    enum { SAMPLES = 5 };
    dc_error err;
    const dc_net_info info = dc_net_get_info(net);
    fx_rng r = fx_rng_seed(5);
    float *x = random_buf((size_t)SAMPLES * info.in_c * info.in_h * info.in_w, &r);
    float *out = malloc((size_t)SAMPLES * info.num_classes * sizeof *out);
    observed_pair op = { .net = plain, .outs = calloc((size_t)info.num_nodes, sizeof(float *)) };
    dc_set_threads(1);
    ck_assert(dc_net_forward_observed(plain, x, SAMPLES, out, observe_pair, &op, &err) == DC_OK);
    const int plain_calls = op.calls;
    op.calls = 0;
    op.net = net;
    ck_assert_msg(dc_net_forward_observed(net, x, SAMPLES, out, observe_pair, &op, &err) ==
                      DC_OK, "%s", err.msg);
    ck_assert_int_eq(op.calls, plain_calls);
    ck_assert_msg(op.worst <= 1e-5, "%s: observed outputs with a head differ by %g",
                  info.arch, op.worst);
    ck_assert_int_gt(net->head_end, 0); /* still planned with its head */
    for (int i = 0; i < info.num_nodes; i++)
        free(op.outs[i]);
    free(op.outs), free(x), free(out);
}

START_TEST(test_depth_first_head_matches_whole_batch)
{
    const char *arch = head_archs[_i];
    enum { SAMPLES = 5 };
    dc_error err;
    dc_net *net, *plain, *wino;
    setenv("DC_HEAD_CHUNK_KIB", "1", 1); /* one sample's stem output is more: chunk 1 */
    ck_assert_msg(dc_net_build_random(arch, 10, 29, SAMPLES, &net, &err) == DC_OK, "%s",
                  err.msg);
    const int one_sample_chunk = net->head_chunk;
    dc_net_free(net);
    /* two samples' worth of the stem's output a chunk */
    ck_assert_msg(dc_net_build_random(arch, 10, 29, 1, &net, &err) == DC_OK, "%s", err.msg);
    const size_t stem_kib = dc_node_numel(&net->nodes[1]) * sizeof(float) / 1024;
    dc_net_free(net);
    char kib[32];
    snprintf(kib, sizeof kib, "%zu", 2 * stem_kib);
    setenv("DC_HEAD_CHUNK_KIB", kib, 1);
    setenv("DC_GROUP_WINO", "0", 1);
    build_with_and_without(arch, 29, SAMPLES, "DC_HEAD", &net, &plain);
    unsetenv("DC_GROUP_WINO");
    ck_assert_msg(dc_net_build_random(arch, 10, 29, SAMPLES, &wino, &err) == DC_OK, "%s",
                  err.msg);
    unsetenv("DC_HEAD_CHUNK_KIB");
    ck_assert_int_eq(one_sample_chunk, 1);
    ck_assert_int_eq(net->head_chunk, 2);
    ck_assert_msg(net->head_end >= 2, "%s: head ends at node %d", arch, net->head_end);
    ck_assert_int_eq(plain->head_end, 0);
    ck_assert_msg(net->nodes[1].head_chunked && !plain->nodes[1].head_chunked,
                  "%s: the stem's output holds one chunk in the head only", arch);
    check_head_against(net, plain, "same kernels", 1e-5);
    if (dc_simd_active() != DC_SIMD_PORTABLE) { /* the portable path runs im2col */
        ck_assert_str_eq(dc_conv_method(&net->nodes[1], SAMPLES), "direct stem kernel");
        ck_assert_str_eq(dc_conv_method(&wino->nodes[1], SAMPLES),
                         "F(4, 3) stem, depth-first head");
        ck_assert_str_eq(dc_conv_method(&plain->nodes[1], SAMPLES), "direct stem kernel");
    }
    check_head_against(wino, plain, "F(4, 3) stem", 1e-4);
    /* an observed pass sees every node's output for all the samples, which a head's
     * tensors of one chunk do not hold: run_head gathers them; each observed output
     * equals the plain net's, node by node */
    check_observed_head(net, plain);
    dc_net_free(net);
    dc_net_free(plain);
    dc_net_free(wino);
}
END_TEST

/* Concatenations planned in place at batch 1 (net.c: plan_concats_in_place; the concat's
 * inputs written where it lies, the concat copying nothing) against the same net with
 * each concat a copy (DC_CONCAT_IN_PLACE=0): the same kernels on the same data, so the
 * same bits, on one thread and two. DenseNet's nested running concatenation, GoogLeNet's
 * and SqueezeNet's branches; a plan for two samples copies. */
static const char *const in_place_archs[] = { "densenet121", "googlenet", "squeezenet1_1" };

START_TEST(test_concat_in_place_matches_copies)
{
    const char *arch = in_place_archs[_i];
    dc_net *net, *copies, *batch2;
    dc_error err;
    ck_assert_msg(dc_net_build_random(arch, 10, 12, 1, &net, &err) == DC_OK, "%s", err.msg);
    ck_assert_msg(dc_net_build_random(arch, 10, 12, 2, &batch2, &err) == DC_OK, "%s",
                  err.msg);
    setenv("DC_CONCAT_IN_PLACE", "0", 1); /* read at plan time */
    dc_status st = dc_net_build_random(arch, 10, 12, 1, &copies, &err);
    unsetenv("DC_CONCAT_IN_PLACE");
    ck_assert_msg(st == DC_OK, "%s", err.msg);
    int concats = 0, in_place = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        if (net->nodes[i].op != DC_OP_CONCAT)
            continue;
        concats++;
        in_place += net->nodes[i].in_place;
        ck_assert(!copies->nodes[i].in_place && !batch2->nodes[i].in_place);
    }
    ck_assert_msg(concats > 0 && in_place == concats, "%s: %d of %d concats in place", arch,
                  in_place, concats);
    float *x, *ref, *out;
    const dc_net_info info = one_sample_buffers(net, 22, &x, &ref, &out);
    for (int threads = 1; threads <= 2; threads++) {
        dc_set_threads(threads);
        ck_assert(dc_net_forward(copies, x, 1, ref, &err) == DC_OK);
        ck_assert(dc_net_forward(net, x, 1, out, &err) == DC_OK);
        ck_assert_msg(memcmp(out, ref, (size_t)info.num_classes * sizeof *out) == 0,
                      "%s: %d threads: in place %g vs copies %g (rel diff %g)", arch,
                      threads, out[0], ref[0], rel_diff(out, ref, (size_t)info.num_classes));
    }
    dc_set_threads(1);
    free(x), free(ref), free(out);
    dc_net_free(net);
    dc_net_free(copies);
    dc_net_free(batch2);
}
END_TEST

/* ---- one net, several threads, a dc_ctx each ---------------------------- */

typedef struct {
    dc_ctx *ctx;
    const float *x;
    float *y;
    size_t in_one, out_one;
    int first, step, n, batch;
    dc_status st;
} ctx_job;

static void *ctx_thread(void *arg)
{
    ctx_job *j = arg;
    dc_error err;
    for (int i = j->first; i < j->n && j->st == DC_OK; i += j->step)
        j->st = dc_ctx_forward(j->ctx, j->x + (size_t)i * j->batch * j->in_one, j->batch,
                               j->y + (size_t)i * j->batch * j->out_one, &err);
    return NULL;
}

/* Four threads share one net (one context each) while the pool has two workers: every
 * output equals dc_net_forward's, bit for bit, and the net's own buffers stay usable. */
START_TEST(test_contexts_share_one_net)
{
    static const char *archs[] = { "resnet20", "mobilenetv2_x0_5" };
    const char *arch = archs[_i];
    enum { JOBS = 12, BATCH = 2, THREADS = 4 };
    dc_set_threads(2);
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_build_random(arch, 10, 3, BATCH, &net, &err) == DC_OK, "%s", err.msg);
    dc_net_info info = dc_net_get_info(net);
    size_t in_one = (size_t)info.in_c * info.in_h * info.in_w, out_one = info.num_classes;
    fx_rng r = fx_rng_seed(21);
    float *x = random_buf(in_one * JOBS * BATCH, &r);
    float *ref = malloc(out_one * JOBS * BATCH * sizeof *ref);
    float *y = calloc(out_one * JOBS * BATCH, sizeof *y);
    for (int i = 0; i < JOBS; i++)
        ck_assert(dc_net_forward(net, x + (size_t)i * BATCH * in_one, BATCH,
                                 ref + (size_t)i * BATCH * out_one, &err) == DC_OK);
    ctx_job jobs[THREADS];
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (ctx_job){ .x = x, .y = y, .in_one = in_one, .out_one = out_one,
                             .first = t, .step = THREADS, .n = JOBS, .batch = BATCH };
        ck_assert(dc_ctx_create(net, &jobs[t].ctx, &err) == DC_OK);
    }
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&tid[t], NULL, ctx_thread, &jobs[t]), 0);
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tid[t], NULL);
        ck_assert_int_eq(jobs[t].st, DC_OK);
        dc_ctx_free(jobs[t].ctx);
    }
    ck_assert_msg(memcmp(y, ref, out_one * JOBS * BATCH * sizeof *y) == 0,
                  "%s: outputs of the contexts differ from dc_net_forward's", arch);
    /* a batch too large for the plan is refused, as by dc_net_forward */
    dc_ctx *c;
    ck_assert(dc_ctx_create(net, &c, &err) == DC_OK);
    ck_assert_int_eq(dc_ctx_forward(c, x, BATCH + 1, y, &err), DC_ERR_ARG);
    dc_ctx_free(c);
    dc_set_threads(1);
    free(x), free(ref), free(y);
    dc_net_free(net);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *t = fx_tcase(s, "pool", 0);
    tcase_add_test(t, test_pool_runs_every_task_once);
    tcase_add_test(t, test_pool_nested_runs_serially);
    tcase_add_test(t, test_pool_wakes_sleeping_workers);
    t = fx_tcase(s, "units", 0);
    tcase_add_loop_test(t, test_conv_tiles_assemble, 0, (int)NELEM(tile_cases));
    tcase_add_loop_test(t, test_conv_samples_equal_single, 0, (int)NELEM(tile_cases));
    /* the dense cases: all but the grouped one (index 5) */
    tcase_add_loop_test(t, test_conv_shared_cols, 0, 5);
    tcase_add_loop_test(t, test_conv_shared_cols, 6, (int)NELEM(tile_cases));
    tcase_add_loop_test(t, test_winograd_residual, 0, (int)NELEM(winograd_cases));
    tcase_add_test(t, test_gemm_skinny);
    tcase_add_test(t, test_linear_ranges);
    tcase_add_test(t, test_layernorm_ranges);
    tcase_add_test(t, test_attention_bands);
    tcase_add_loop_test(t, test_contexts_share_one_net, 0, 2);
    t = fx_tcase(s, "nets", 240);
    tcase_add_loop_test(t, test_net_same_on_any_thread_count, 0, 7);
    tcase_add_test(t, test_small_pass_cut_for_one_thread);
    tcase_add_test(t, test_grouped_f2_matches_other_paths);
    tcase_add_loop_test(t, test_depth_first_head_matches_whole_batch, 0,
                        (int)NELEM(head_archs));
    tcase_add_test(t, test_grouped_packed_matches_sgemm);
    tcase_add_test(t, test_winograd_packed_u_matches_sgemm);
    tcase_add_loop_test(t, test_grouped_direct_matches_other_paths, 0,
                        (int)NELEM(direct_group_cases));
    tcase_add_loop_test(t, test_concat_in_place_matches_copies, 0,
                        (int)(sizeof in_place_archs / sizeof in_place_archs[0]));
    return s;
}

FX_MAIN(threads_suite)
