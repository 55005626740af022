/*
 * test_public_cascade.c — the cascade of the public API (include/dualcnn.h: dc_cascade_create,
 * dc_cascade_classify_pixels / _file, dc_cascade_get_stats, dc_cascade_free), written
 * against the public header alone, as a user would.
 *
 * Models: the shipped FashionMNIST resnet20 (first) and shufflenetv2_x0_5 (second). Inputs:
 * 28 x 28 gray pictures made here (rectangles, gradients, noise). Every answer is checked
 * against the models run directly (dc_pixels_to_input + dc_net_forward, softmax and maxp
 * computed here in double): pred1 / pred2 are their argmaxes, score1 / score2 their maxp.
 *
 * Each exit is reached on purpose: the oracle score with the true label set to the first
 * model's answer (first exit) or to another class (escalation: second exit); the memory on
 * a repeated picture (memory exit: no model runs), also as an RGB copy of a gray picture and,
 * with the invariants, a rotated copy; a dHash radius of 64 bits turns any picture into a
 * near hit. maxp at thresholds 0 (never escalates), 1 (escalates unless a model is sure to
 * the last bit) and a middle value, with and without the post-check, follows the rules of
 * docs/cascade.md. options.threads changes nothing in the results. Invalid options and
 * inputs are refused with DC_ERR_ARG and a message naming the field. (Only the PNG files
 * of test_file_input are written with an internal function, loaders/image.h.)
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualcnn.h"
#include "fixtures.h"
#include "loaders/image.h" /* dc_image_write_png, for test_file_input's files only */

enum { SIDE = 28, NPIC = 12, CLASSES = 10 };

static dc_net *first, *second;
static uint8_t pics[NPIC][SIDE * SIDE];

/* What a model says of a picture, computed here. */
typedef struct {
    int pred;
    double maxp;
} view;

static view view_of(dc_net *net, const uint8_t *pixels, int w, int h, int c)
{
    dc_net_info info = dc_net_get_info(net);
    size_t in_n = (size_t)info.in_c * info.in_h * info.in_w;
    float *x = malloc(in_n * sizeof *x), logits[CLASSES];
    ck_assert_ptr_nonnull(x);
    dc_error err;
    ck_assert_msg(dc_pixels_to_input(net, pixels, w, h, c, x, &err) == DC_OK, "%s", err.msg);
    ck_assert_msg(dc_net_forward(net, x, 1, logits, &err) == DC_OK, "%s", err.msg);
    free(x);
    view v = { 0, 0 };
    for (int k = 1; k < CLASSES; k++)
        if (logits[k] > logits[v.pred])
            v.pred = k;
    double sum = 0;
    for (int k = 0; k < CLASSES; k++)
        sum += exp((double)logits[k] - (double)logits[v.pred]);
    v.maxp = 1.0 / sum;
    return v;
}

/* Pictures with some structure, different from one another. */
static void make_pictures(void)
{
    fx_rng r = fx_rng_seed(2024);
    for (int i = 0; i < NPIC; i++) {
        int x0 = (int)(fx_rng_u64(&r) % 10), y0 = (int)(fx_rng_u64(&r) % 10);
        int x1 = x0 + 8 + (int)(fx_rng_u64(&r) % 10), y1 = y0 + 8 + (int)(fx_rng_u64(&r) % 10);
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                int v = (i % 3 == 0) ? (x * 9 + y * i) % 256 : 0;
                if (x >= x0 && x < x1 && y >= y0 && y < y1)
                    v = 120 + 10 * i;
                if (i % 4 == 1)
                    v = (v + (int)(fx_rng_u64(&r) % 64)) % 256;
                pics[i][y * SIDE + x] = (uint8_t)v;
            }
    }
}

static void setup(void)
{
    char path[1024];
    dc_error err;
    fx_shipped_weights(path, sizeof path, "fashionmnist/resnet20.h5");
    ck_assert_msg(dc_net_load(path, 1, &first, &err) == DC_OK, "%s", err.msg);
    fx_shipped_weights(path, sizeof path, "fashionmnist/shufflenetv2_x0_5.h5");
    ck_assert_msg(dc_net_load(path, 1, &second, &err) == DC_OK, "%s", err.msg);
    make_pictures();
}

static void teardown(void)
{
    dc_net_free(first);
    dc_net_free(second);
    first = second = NULL;
}

static dc_cascade *make(dc_cascade_options o)
{
    dc_cascade *c;
    dc_error err;
    ck_assert_msg(dc_cascade_create(&o, &c, &err) == DC_OK, "%s", err.msg);
    return c;
}

static dc_cascade_result classify(dc_cascade *c, const uint8_t *pixels, int w, int h, int ch,
                                  int label)
{
    dc_cascade_result r;
    dc_error err;
    ck_assert_msg(dc_cascade_classify_pixels(c, pixels, w, h, ch, label, &r, &err) == DC_OK,
                  "%s", err.msg);
    return r;
}

/* ---- the exits ------------------------------------------------------------ */

START_TEST(test_oracle_reaches_first_and_second)
{
    dc_cascade *c = make((dc_cascade_options){ .first = first, .second = second,
                                               .score = DC_SCORE_ORACLE });
    for (int i = 0; i < NPIC; i++) {
        view v1 = view_of(first, pics[i], SIDE, SIDE, 1);
        view v2 = view_of(second, pics[i], SIDE, SIDE, 1);
        /* the first model right: it answers alone */
        dc_cascade_result r = classify(c, pics[i], SIDE, SIDE, 1, v1.pred);
        ck_assert_int_eq(r.exit, DC_EXIT_FIRST);
        ck_assert_int_eq(r.escalated, 0);
        ck_assert_int_eq(r.pred, v1.pred);
        ck_assert_int_eq(r.pred1, v1.pred);
        ck_assert_int_eq(r.pred2, -1);
        ck_assert(isnan(r.score2));
        ck_assert_msg(fabs(r.score1 - v1.maxp) < 1e-5, "score1 %g, maxp %g", r.score1,
                      v1.maxp);
        ck_assert_int_eq(r.macs, dc_net_get_info(first).macs);
        /* wrong: the second model answers */
        r = classify(c, pics[i], SIDE, SIDE, 1, (v1.pred + 1) % CLASSES);
        ck_assert_int_eq(r.exit, DC_EXIT_SECOND);
        ck_assert_int_eq(r.escalated, 1);
        ck_assert_int_eq(r.pred, v2.pred);
        ck_assert_int_eq(r.pred2, v2.pred);
        ck_assert_msg(fabs(r.score2 - v2.maxp) < 1e-5, "score2 %g, maxp %g", r.score2,
                      v2.maxp);
        ck_assert_int_eq(r.macs, dc_net_get_info(first).macs + dc_net_get_info(second).macs);
        ck_assert(r.seconds > 0);
    }
    dc_cascade_stats s = dc_cascade_get_stats(c);
    ck_assert_int_eq(s.inputs, 2 * NPIC);
    ck_assert_int_eq(s.exits[DC_EXIT_FIRST], NPIC);
    ck_assert_int_eq(s.exits[DC_EXIT_SECOND], NPIC);
    ck_assert_int_eq(s.escalated, NPIC);
    ck_assert_int_eq(s.memory_entries, 0);
    dc_cascade_free(c);
}
END_TEST

/* maxp against thresholds, with and without the post-check (docs/cascade.md). */
START_TEST(test_threshold_and_postcheck)
{
    const double thresholds[] = { 0.0, 0.6, 0.9, 1.0 };
    int escalations = 0, kept_first = 0;
    for (int postcheck = 0; postcheck < 2; postcheck++)
        for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++) {
            dc_cascade *c = make((dc_cascade_options){ .first = first, .second = second,
                                                       .score = DC_SCORE_MAXP,
                                                       .threshold = thresholds[t],
                                                       .postcheck = postcheck });
            for (int i = 0; i < NPIC; i++) {
                dc_cascade_result r = classify(c, pics[i], SIDE, SIDE, 1, -1);
                view v1 = view_of(first, pics[i], SIDE, SIDE, 1);
                ck_assert_int_eq(r.pred1, v1.pred);
                bool escalate = r.score1 < thresholds[t];
                ck_assert_int_eq(r.escalated, escalate);
                if (fabs(r.score1 - thresholds[t]) > 1e-6)
                    ck_assert_int_eq(escalate, v1.maxp < thresholds[t]);
                if (!escalate) {
                    ck_assert_int_eq(r.exit, DC_EXIT_FIRST);
                    ck_assert_int_eq(r.pred, v1.pred);
                    continue;
                }
                escalations++;
                view v2 = view_of(second, pics[i], SIDE, SIDE, 1);
                ck_assert_int_eq(r.pred2, v2.pred);
                bool second_wins = !postcheck || r.score2 > r.score1;
                ck_assert_int_eq(r.exit, second_wins ? DC_EXIT_SECOND : DC_EXIT_FIRST);
                ck_assert_int_eq(r.pred, second_wins ? v2.pred : v1.pred);
                kept_first += !second_wins;
            }
            dc_cascade_free(c);
        }
    ck_assert_msg(escalations > 0, "no picture escalated at any threshold");
    printf("threshold_and_postcheck: %d escalations, %d kept the first's answer\n",
           escalations, kept_first);
}
END_TEST

START_TEST(test_memory_hits_repeats)
{
    dc_cascade *c = make((dc_cascade_options){ .first = first, .second = second,
                                               .score = DC_SCORE_MAXP, .threshold = 0.9,
                                               .memory = DC_MEMORY_DHASH });
    dc_cascade_result answer[NPIC];
    for (int i = 0; i < NPIC; i++) {
        answer[i] = classify(c, pics[i], SIDE, SIDE, 1, -1);
        ck_assert_int_ne(answer[i].exit, DC_EXIT_MEMORY);
    }
    /* the same pictures again, and as RGB (R = G = B): the memory answers, no model runs */
    uint8_t rgb[SIDE * SIDE * 3];
    for (int i = 0; i < NPIC; i++) {
        for (int p = 0; p < SIDE * SIDE; p++)
            rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = pics[i][p];
        for (int as_rgb = 0; as_rgb < 2; as_rgb++) {
            dc_cascade_result r = as_rgb ? classify(c, rgb, SIDE, SIDE, 3, -1)
                                         : classify(c, pics[i], SIDE, SIDE, 1, -1);
            ck_assert_int_eq(r.exit, DC_EXIT_MEMORY);
            ck_assert_int_eq(r.pred, answer[i].pred);
            ck_assert_int_eq(r.pred1, -1);
            ck_assert_int_eq(r.pred2, -1);
            ck_assert_int_eq(r.escalated, 0);
            ck_assert_int_eq(r.macs, 0);
        }
    }
    dc_cascade_stats s = dc_cascade_get_stats(c);
    ck_assert_int_eq(s.inputs, 3 * NPIC);
    ck_assert_int_eq(s.exits[DC_EXIT_MEMORY], 2 * NPIC);
    ck_assert_int_eq(s.memory_entries, NPIC);
    ck_assert_int_eq(s.memory_near_hits, 0);
    dc_cascade_free(c);
}
END_TEST

/* The invariants memory answers a rotated copy; a one-entry memory forgets. */
START_TEST(test_memory_invariants_and_capacity)
{
    dc_cascade *c = make((dc_cascade_options){ .first = first, .score = DC_SCORE_MAXP,
                                               .memory = DC_MEMORY_INVARIANTS,
                                               .memory_capacity = 1 });
    uint8_t rot[SIDE * SIDE]; /* pics[0] turned by 90 degrees */
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            rot[x * SIDE + (SIDE - 1 - y)] = pics[0][y * SIDE + x];
    dc_cascade_result a = classify(c, pics[0], SIDE, SIDE, 1, -1);
    ck_assert_int_eq(a.exit, DC_EXIT_FIRST);
    dc_cascade_result r = classify(c, rot, SIDE, SIDE, 1, -1);
    ck_assert_int_eq(r.exit, DC_EXIT_MEMORY);
    ck_assert_int_eq(r.pred, a.pred);
    classify(c, pics[1], SIDE, SIDE, 1, -1); /* evicts pics[0] */
    r = classify(c, pics[0], SIDE, SIDE, 1, -1);
    ck_assert_int_eq(r.exit, DC_EXIT_FIRST);
    dc_cascade_stats s = dc_cascade_get_stats(c);
    ck_assert_int_eq(s.memory_entries, 1);
    ck_assert_int_eq(s.memory_evictions, 2);
    dc_cascade_free(c);
}
END_TEST

/* A radius of 64 bits makes every dHash key near every other: the second picture is
 * answered by the first one's entry. Radius 0 (the default) does not. */
START_TEST(test_memory_radius)
{
    for (int radius = 0; radius <= 64; radius += 64) {
        dc_cascade *c = make((dc_cascade_options){ .first = first, .score = DC_SCORE_MAXP,
                                                   .memory = DC_MEMORY_DHASH,
                                                   .memory_radius = radius });
        dc_cascade_result a = classify(c, pics[0], SIDE, SIDE, 1, -1);
        dc_cascade_result b = classify(c, pics[5], SIDE, SIDE, 1, -1);
        ck_assert_int_eq(b.exit, radius ? DC_EXIT_MEMORY : DC_EXIT_FIRST);
        if (radius)
            ck_assert_int_eq(b.pred, a.pred);
        ck_assert_int_eq(dc_cascade_get_stats(c).memory_near_hits, radius ? 1 : 0);
        dc_cascade_free(c);
    }
}
END_TEST

/* Single-model mode: never escalates, whatever the score says. */
START_TEST(test_single_model)
{
    dc_cascade *c = make((dc_cascade_options){ .first = first, .score = DC_SCORE_MAXP,
                                               .threshold = 1.0 });
    for (int i = 0; i < NPIC; i++) {
        dc_cascade_result r = classify(c, pics[i], SIDE, SIDE, 1, -1);
        ck_assert_int_eq(r.exit, DC_EXIT_FIRST);
        ck_assert_int_eq(r.pred, view_of(first, pics[i], SIDE, SIDE, 1).pred);
    }
    dc_cascade_free(c);
}
END_TEST

/* options.threads: the same answers and scores, bit for bit, at 1, 2 and all threads. */
START_TEST(test_threads_change_nothing)
{
    dc_set_threads(2);
    dc_cascade_result ref[NPIC];
    for (int threads = 0; threads <= 2; threads++) {
        dc_cascade *c = make((dc_cascade_options){ .first = first, .second = second,
                                                   .score = DC_SCORE_ENTROPY,
                                                   .threshold = 0.2, .threads = threads });
        for (int i = 0; i < NPIC; i++) {
            dc_cascade_result r = classify(c, pics[i], SIDE, SIDE, 1, -1);
            if (threads == 0) {
                ref[i] = r;
                continue;
            }
            ck_assert_int_eq(r.pred, ref[i].pred);
            ck_assert_int_eq(r.exit, ref[i].exit);
            ck_assert(memcmp(&r.score1, &ref[i].score1, sizeof r.score1) == 0);
            ck_assert(memcmp(&r.score2, &ref[i].score2, sizeof r.score2) == 0);
        }
        dc_cascade_free(c);
    }
}
END_TEST

/* A file: the same answer, scores and key as its pixels (the loader gives RGB, which the
 * memory keys as the gray picture); a missing file is named. */
START_TEST(test_file_input)
{
    char path[1024];
    fx_path(path, sizeof path, "public_cascade.png");
    dc_image img = { .w = SIDE, .h = SIDE, .c = 1, .data = pics[3] };
    dc_error err = { 0 };
    ck_assert_msg(dc_image_write_png(path, &img, &err) == DC_OK, "%s", err.msg);
    dc_cascade_options o = { .first = first, .second = second, .score = DC_SCORE_MAXP,
                             .threshold = 0.95, .memory = DC_MEMORY_DHASH };
    dc_cascade *by_file = make(o), *by_pixels = make(o);
    dc_cascade_result f, p = classify(by_pixels, pics[3], SIDE, SIDE, 1, -1);
    ck_assert_msg(dc_cascade_classify_file(by_file, path, -1, &f, &err) == DC_OK, "%s",
                  err.msg);
    ck_assert_int_eq(f.pred, p.pred);
    ck_assert_int_eq(f.exit, p.exit);
    ck_assert(memcmp(&f.score1, &p.score1, sizeof f.score1) == 0);
    ck_assert(memcmp(&f.score2, &p.score2, sizeof f.score2) == 0);
    /* the file again, then its pixels: both from the memory */
    ck_assert(dc_cascade_classify_file(by_file, path, -1, &f, &err) == DC_OK);
    ck_assert_int_eq(f.exit, DC_EXIT_MEMORY);
    ck_assert_int_eq(classify(by_file, pics[3], SIDE, SIDE, 1, -1).exit, DC_EXIT_MEMORY);
    remove(path);
    ck_assert_int_eq(dc_cascade_classify_file(by_file, path, -1, &f, &err), DC_ERR_IO);
    ck_assert_msg(strstr(err.msg, "public_cascade.png"), "%s", err.msg);
    ck_assert_int_eq(dc_cascade_get_stats(by_file).inputs, 3);
    dc_cascade_free(by_file);
    dc_cascade_free(by_pixels);
}
END_TEST

/* ---- what is refused -------------------------------------------------------- */

static void expect_refused(dc_cascade_options o, const char *needle)
{
    dc_cascade *c = (dc_cascade *)1;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_cascade_create(&o, &c, &err), DC_ERR_ARG);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err.msg, needle), "'%s' does not mention '%s'", err.msg, needle);
}

START_TEST(test_bad_options)
{
    dc_error err;
    expect_refused((dc_cascade_options){ .second = second }, "options.first");
    expect_refused((dc_cascade_options){ .first = first, .threshold = 1.5 },
                   "options.threshold");
    expect_refused((dc_cascade_options){ .first = first, .threshold = NAN },
                   "options.threshold");
    expect_refused((dc_cascade_options){ .first = first, .score = (dc_score_kind)9 },
                   "options.score");
    expect_refused((dc_cascade_options){ .first = first, .memory = (dc_memory_mode)7 },
                   "options.memory");
    expect_refused((dc_cascade_options){ .first = first, .memory_radius = 2 },
                   "options.memory_radius");
    expect_refused((dc_cascade_options){ .first = first, .memory_capacity = 8 },
                   "options.memory_capacity");
    expect_refused((dc_cascade_options){ .first = first, .memory = DC_MEMORY_DHASH,
                                         .memory_radius = 65 }, "radius 65");
    expect_refused((dc_cascade_options){ .first = first, .memory = DC_MEMORY_INVARIANTS,
                                         .memory_radius = -1 }, "radius -1");
    expect_refused((dc_cascade_options){ .first = first, .threads = -1 }, "options.threads");
    /* models that disagree on the classes; a net that cannot run */
    dc_net *six, *shape;
    ck_assert(dc_net_build_random("resnet20", 6, 1, 1, &six, &err) == DC_OK);
    expect_refused((dc_cascade_options){ .first = first, .second = six }, "classes");
    ck_assert(dc_net_build_shape_only("resnet20", 10, &shape, &err) == DC_OK);
    expect_refused((dc_cascade_options){ .first = shape }, "shape-only");
    dc_net_free(six);
    dc_net_free(shape);
    /* the oracle needs no threshold */
    dc_cascade *c = make((dc_cascade_options){ .first = first, .second = second,
                                               .score = DC_SCORE_ORACLE, .threshold = 7 });
    dc_cascade_free(c);
    dc_cascade_free(NULL);
}
END_TEST

START_TEST(test_bad_inputs)
{
    dc_cascade *c = make((dc_cascade_options){ .first = first, .second = second,
                                               .score = DC_SCORE_ORACLE });
    dc_cascade_result r;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_cascade_classify_pixels(c, pics[0], SIDE, SIDE, 1, -1, &r, &err),
                     DC_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "oracle"), "%s", err.msg);
    ck_assert_int_eq(dc_cascade_classify_pixels(c, pics[0], SIDE, SIDE, 1, 10, &r, &err),
                     DC_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "label 10"), "%s", err.msg);
    ck_assert_int_eq(dc_cascade_classify_pixels(c, pics[0], SIDE, SIDE, 2, 0, &r, &err),
                     DC_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "2 channels"), "%s", err.msg);
    ck_assert_int_eq(dc_cascade_classify_pixels(c, pics[0], 0, SIDE, 1, 0, &r, &err),
                     DC_ERR_ARG);
    ck_assert_int_eq(dc_cascade_classify_pixels(c, NULL, SIDE, SIDE, 1, 0, &r, &err),
                     DC_ERR_ARG);
    ck_assert_int_eq(dc_cascade_get_stats(c).inputs, 0);
    /* the same refusals from dc_pixels_to_input */
    float x[3 * 32 * 32];
    ck_assert_int_eq(dc_pixels_to_input(first, pics[0], SIDE, -3, 1, x, &err), DC_ERR_ARG);
    ck_assert_int_eq(dc_pixels_to_input(first, pics[0], SIDE, SIDE, 4, x, &err), DC_ERR_ARG);
    dc_cascade_free(c);
}
END_TEST

static Suite *public_cascade_suite(void)
{
    Suite *s = suite_create("public_cascade");
    TCase *t = fx_tcase(s, "cascade", 240);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_oracle_reaches_first_and_second);
    tcase_add_test(t, test_threshold_and_postcheck);
    tcase_add_test(t, test_memory_hits_repeats);
    tcase_add_test(t, test_memory_invariants_and_capacity);
    tcase_add_test(t, test_memory_radius);
    tcase_add_test(t, test_single_model);
    tcase_add_test(t, test_threads_change_nothing);
    tcase_add_test(t, test_file_input);
    tcase_add_test(t, test_bad_options);
    tcase_add_test(t, test_bad_inputs);
    return s;
}

FX_MAIN(public_cascade_suite)
