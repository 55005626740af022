/*
 * test_alloc_failure.c — allocation-failure injection, as SQLite tests itself (issue 14,
 * point 6). Every allocation of the library goes through base/alloc.h; for each path below
 * the test counts the allocations of a clean run (n), then reruns the path n times with the
 * k-th allocation failing, k = 0 .. n-1, once with that one failure ("one-shot") and once
 * with every allocation from the k-th on failing ("persistent"). Each run must end with a
 * clean error (a status and a message) or, where the code has a fallback (a net that
 * cannot allocate Winograd's transformed weights uses im2col), with the same answer as the
 * clean run up to float rounding; never a crash. Leaks are caught by LeakSanitizer in the
 * sanitizer build, which runs this test too (.ci/run).
 *
 * Paths: loading a net (the shipped FashionMNIST resnet20, HDF5 read in process and in
 * quarantine, from its file and from its bytes in memory), a forward pass on a net loaded
 * beforehand (the per-thread workspaces are allocated on first use), a cascade run (two
 * nets, the dHash memory, a batch of images), the public cascade (dc_cascade_create with a
 * memory and contexts limited to 2 threads, then images through it), and the prediction
 * cache (save, then load).
 */
#include "base/alloc.h"
#include "base/pool.h"
#include "cascade/cascade.h"
#include "cascade/predictions.h"
#include "fixtures.h"
#include "loaders/h5reader.h"

#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char resnet20[1024], shufflenet[1024];

static void find_weights(void)
{
    fx_shipped_weights(resnet20, sizeof resnet20, "fashionmnist/resnet20.h5");
    fx_shipped_weights(shufflenet, sizeof shufflenet, "fashionmnist/shufflenetv2_x0_5.h5");
}

/* A path under test: runs once, returns its status (err filled on failure) and, on
 * success, an answer to compare with the clean run's. */
typedef dc_status (*path_fn)(void *ctx, double *answer, dc_error *err);

/* Runs fn with no failure (counting its allocations), then with each one failing. */
static void inject_everywhere(const char *name, path_fn fn, void *ctx)
{
    dc_error err = { 0 };
    double clean = 0;
    dc_alloc_fail_after(LONG_MAX, false);
    ck_assert_msg(fn(ctx, &clean, &err) == DC_OK, "%s: clean run failed: %s", name, err.msg);
    long n = dc_alloc_requests();
    ck_assert_msg(n > 0, "%s: no allocation went through base/alloc.h", name);
    long failed_runs = 0;
    for (int persistent = 0; persistent < 2; persistent++)
        for (long k = 0; k < n; k++) {
            double answer = -1;
            memset(&err, 0, sizeof err);
            dc_alloc_fail_after(k, persistent);
            dc_status st = fn(ctx, &answer, &err);
            long injected = dc_alloc_failures();
            dc_alloc_fail_after(-1, false);
            if (st != DC_OK) {
                failed_runs++;
                ck_assert_msg(err.msg[0] != '\0', "%s, allocation %ld%s: status %s without "
                              "a message", name, k, persistent ? " on" : "",
                              dc_status_name(st));
            } else {
                /* a fallback may take another algorithm (im2col for Winograd, say): the
                 * same answer up to float rounding */
                ck_assert_msg(fabs(answer - clean) <= 1e-4 * fmax(1.0, fabs(clean)),
                              "%s, allocation %ld%s failed (%ld injected) "
                              "but the run succeeded with a different answer (%g, not %g)",
                              name, k, persistent ? " on" : "", injected, answer, clean);
            }
        }
    /* a persistent failure from the first allocation on must fail the path */
    ck_assert_msg(failed_runs > 0, "%s: no injected failure made the path fail", name);
    printf("%s: %ld allocations, %ld of %ld injected runs failed cleanly\n", name, n,
           failed_runs, 2 * n);
}

/* ---- loading a net ------------------------------------------------------ */

static dc_status load_net(void *ctx, double *answer, dc_error *err)
{
    dc_net *net = NULL;
    dc_status st = dc_net_load(ctx, 2, &net, err);
    if (st == DC_OK) {
        *answer = (double)dc_net_get_info(net).params;
        dc_net_free(net);
    }
    return st;
}

START_TEST(test_load_in_process)
{
    find_weights();
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    inject_everywhere("load resnet20 (in process)", load_net, resnet20);
}
END_TEST

START_TEST(test_load_in_quarantine)
{
    find_weights();
    dc_h5_set_reader_mode(DC_H5_READER_QUARANTINE);
    inject_everywhere("load resnet20 (quarantine)", load_net, resnet20);
}
END_TEST

/* The bytes of a weight file, read whole by the test. */
typedef struct {
    unsigned char *data;
    size_t size;
} file_bytes;

static dc_status load_net_from_memory(void *ctx, double *answer, dc_error *err)
{
    const file_bytes *b = ctx;
    dc_net *net = NULL;
    dc_status st = dc_net_load_memory(b->data, b->size, 2, &net, err);
    if (st == DC_OK) {
        *answer = (double)dc_net_get_info(net).params;
        dc_net_free(net);
    }
    return st;
}

START_TEST(test_load_from_memory)
{
    find_weights();
    file_bytes b = { 0 };
    b.data = fx_read_file(resnet20, &b.size);
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    inject_everywhere("load resnet20 from memory (in process)", load_net_from_memory, &b);
    dc_h5_set_reader_mode(DC_H5_READER_QUARANTINE);
    inject_everywhere("load resnet20 from memory (quarantine)", load_net_from_memory, &b);
    free(b.data);
}
END_TEST

/* ---- a forward pass ----------------------------------------------------- */

/* Loads the net and runs its first forward pass (the per-thread workspaces are allocated
 * then, so a pass on a net that already ran allocates nothing). */
typedef struct {
    float x[2 * 3 * 32 * 32], y[2 * 10]; /* resnet20 on 32x32 RGB (FashionMNIST resized) */
} forward_ctx;

static dc_status load_and_forward(void *ctx, double *answer, dc_error *err)
{
    forward_ctx *f = ctx;
    dc_net *net = NULL;
    dc_status st = dc_net_load(resnet20, 2, &net, err);
    if (st == DC_OK)
        st = dc_net_forward(net, f->x, 2, f->y, err);
    if (st == DC_OK)
        *answer = (double)f->y[3] + (double)f->y[17];
    dc_net_free(net);
    return st;
}

START_TEST(test_forward)
{
    find_weights();
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    dc_pool_set_default_threads(2);
    forward_ctx *f = calloc(1, sizeof *f);
    fx_rng r = fx_rng_seed(5);
    fx_fill_uniform(f->x, sizeof f->x / sizeof f->x[0], &r, -1, 1);
    inject_everywhere("load + forward resnet20 (2 threads)", load_and_forward, f);
    free(f);
}
END_TEST

/* ---- a cascade run ------------------------------------------------------ */

typedef struct {
    dc_net *first, *second;
    dc_image img[4];
    const dc_image *raw[4];
    int labels[4];
} cascade_ctx;

static dc_status cascade_run(void *ctx, double *answer, dc_error *err)
{
    cascade_ctx *c = ctx;
    dc_memory *memory = NULL;
    dc_cascade *cascade = NULL;
    dc_status st = dc_memory_init(DC_HASH_DHASH, 16, &memory, err);
    dc_cascade_config cfg = { .first = c->first, .second = c->second,
                              .score = DC_SCORE_MAXP, .threshold = 0.99, .postcheck = true,
                              .memory = memory };
    if (st == DC_OK)
        st = dc_cascade_init(&cfg, 4, &cascade, err);
    dc_sample_result res[4];
    /* twice: the second batch hits the memory */
    for (int round = 0; st == DC_OK && round < 2; round++)
        st = dc_cascade_classify(cascade, c->raw, c->labels, 4, res, err);
    if (st == DC_OK) {
        *answer = 0;
        for (int i = 0; i < 4; i++)
            *answer = 10 * *answer + res[i].pred;
    }
    dc_cascade_free(cascade);
    dc_memory_free(memory);
    return st;
}

START_TEST(test_cascade)
{
    find_weights();
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    cascade_ctx *c = calloc(1, sizeof *c);
    dc_error err;
    ck_assert_msg(dc_net_load(resnet20, 4, &c->first, &err) == DC_OK, "%s", err.msg);
    ck_assert_msg(dc_net_load(shufflenet, 4, &c->second, &err) == DC_OK, "%s", err.msg);
    fx_rng r = fx_rng_seed(9);
    for (int i = 0; i < 4; i++) {
        c->img[i] = (dc_image){ .w = 28, .h = 28, .c = 1, .data = malloc(28 * 28) };
        for (int p = 0; p < 28 * 28; p++)
            c->img[i].data[p] = (uint8_t)(fx_rng_u64(&r) >> 56);
        c->raw[i] = &c->img[i];
        c->labels[i] = i;
    }
    inject_everywhere("cascade resnet20 -> shufflenetv2_x0_5 + dhash", cascade_run, c);
    for (int i = 0; i < 4; i++)
        free(c->img[i].data);
    dc_net_free(c->first);
    dc_net_free(c->second);
    free(c);
}
END_TEST

/* ---- the public cascade ------------------------------------------------- */

/* dc_cascade_create (memory, contexts) and six images through it: four new ones (as
 * pixels) and two repeats. */
static dc_status public_cascade_run(void *ctx, double *answer, dc_error *err)
{
    cascade_ctx *c = ctx;
    dc_cascade_options o = { .first = c->first, .second = c->second,
                             .score = DC_SCORE_MAXP, .threshold = 0.99, .postcheck = 1,
                             .memory = DC_MEMORY_INVARIANTS, .memory_capacity = 8,
                             .threads = 2 };
    dc_cascade *cascade = NULL;
    dc_status st = dc_cascade_create(&o, &cascade, err);
    *answer = 0;
    for (int i = 0; st == DC_OK && i < 6; i++) {
        dc_cascade_result r;
        const dc_image *img = c->raw[i % 4];
        st = dc_cascade_classify_pixels(cascade, img->data, img->w, img->h, img->c, -1, &r,
                                        err);
        *answer = 10 * *answer + r.pred;
    }
    dc_cascade_free(cascade);
    return st;
}

START_TEST(test_public_cascade)
{
    find_weights();
    dc_h5_set_reader_mode(DC_H5_READER_IN_PROCESS);
    dc_pool_set_default_threads(3);
    cascade_ctx *c = calloc(1, sizeof *c);
    dc_error err;
    ck_assert_msg(dc_net_load(resnet20, 1, &c->first, &err) == DC_OK, "%s", err.msg);
    ck_assert_msg(dc_net_load(shufflenet, 1, &c->second, &err) == DC_OK, "%s", err.msg);
    fx_rng r = fx_rng_seed(13);
    for (int i = 0; i < 4; i++) {
        c->img[i] = (dc_image){ .w = 28, .h = 28, .c = 1, .data = malloc(28 * 28) };
        for (int p = 0; p < 28 * 28; p++)
            c->img[i].data[p] = (uint8_t)(fx_rng_u64(&r) >> 56);
        c->raw[i] = &c->img[i];
    }
    inject_everywhere("public cascade resnet20 -> shufflenetv2_x0_5 + invariants",
                      public_cascade_run, c);
    for (int i = 0; i < 4; i++)
        free(c->img[i].data);
    dc_net_free(c->first);
    dc_net_free(c->second);
    free(c);
}
END_TEST

/* ---- the prediction cache ----------------------------------------------- */

static dc_status cache_round_trip(void *ctx, double *answer, dc_error *err)
{
    const char *path = ctx;
    int label[5] = { 0, 1, 2, 3, 4 }, pred[5] = { 0, 1, 1, 3, 2 };
    float s[3][5] = { { .9f, .8f, .7f, .6f, .5f }, { .5f, .4f, .3f, .2f, .1f },
                      { .1f, .2f, .3f, .4f, .5f } };
    float logits[5 * 5] = { 0 };
    dc_predictions p = { .n = 5, .num_classes = 5, .macs = 77, .label = label, .pred = pred,
                         .score = { s[0], s[1], s[2] }, .logits = logits };
    snprintf(p.arch, sizeof p.arch, "resnet20");
    dc_predictions_key key = { .weights_checksum = 42, .count = 5 };
    snprintf(key.dataset, sizeof key.dataset, "/data");
    dc_status st = dc_predictions_save(path, &p, &key, err);
    dc_predictions back = { 0 };
    if (st == DC_OK)
        st = dc_predictions_load(path, &key, true, &back, err);
    if (st == DC_OK) {
        *answer = back.pred[2] + 10.0 * back.label[4] + (double)back.score[0][1];
        dc_predictions_free(&back);
    }
    return st;
}

START_TEST(test_cache)
{
    char path[512];
    fx_path(path, sizeof path, "alloc_cache.h5");
    for (int mode = 0; mode < 2; mode++) {
        dc_h5_set_reader_mode(mode ? DC_H5_READER_QUARANTINE : DC_H5_READER_IN_PROCESS);
        inject_everywhere(mode ? "cache (quarantine)" : "cache (in process)", cache_round_trip,
                          path);
    }
}
END_TEST

static Suite *alloc_failure_suite(void)
{
    Suite *s = suite_create("alloc_failure");
    TCase *tc = fx_tcase(s, "alloc_failure", 240);
    tcase_add_test(tc, test_load_in_process);
    tcase_add_test(tc, test_load_in_quarantine);
    tcase_add_test(tc, test_load_from_memory);
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_cascade);
    tcase_add_test(tc, test_public_cascade);
    tcase_add_test(tc, test_cache);
    return s;
}

FX_MAIN(alloc_failure_suite)
