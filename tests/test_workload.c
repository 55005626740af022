/*
 * test_workload.c — duplicates, rotations and shuffling: counts, shares, determinism for a
 * seed, and the image transforms against hand-placed pixels.
 */
#include "cascade/workload.h"
#include "fixtures.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static dc_work_item *build(int n, double dup, double rot, uint64_t seed, bool shuffle,
                           int *count)
{
    dc_workload_opts o = { .duplicates = dup, .rotations = rot, .seed = seed,
                           .shuffle = shuffle };
    dc_work_item *items;
    dc_error err;
    ck_assert_msg(dc_workload_build(n, &o, &items, count, &err) == DC_OK, "%s", err.msg);
    return items;
}

START_TEST(test_duplicate_counts)
{
    struct { double r; int n, expected; } cases[] = {
        { 0.0, 1000, 1000 }, { 1.0, 1000, 2000 }, { 0.5, 1000, 1500 }, { 2.25, 1000, 3250 },
        { 0.3333, 10, 13 },  { 1.0, 0, 0 },       { 0.999, 7, 13 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int count;
        dc_work_item *a = build(cases[c].n, cases[c].r, 0.0, 42, true, &count);
        ck_assert_msg(count == cases[c].expected, "R=%g N=%d: %d", cases[c].r, cases[c].n,
                      count);
        /* every original sample appears once as an original */
        int *seen = calloc((size_t)cases[c].n + 1, sizeof *seen);
        int dups = 0;
        for (int i = 0; i < count; i++) {
            ck_assert(a[i].index >= 0 && a[i].index < cases[c].n);
            if (a[i].duplicate)
                dups++;
            else
                seen[a[i].index]++;
        }
        for (int i = 0; i < cases[c].n; i++)
            ck_assert_int_eq(seen[i], 1);
        ck_assert_int_eq(dups, count - cases[c].n);
        free(seen);
        free(a);
    }
}
END_TEST

START_TEST(test_fractional_sample_has_no_repeats)
{
    int count;
    dc_work_item *a = build(500, 0.6, 0.0, 7, false, &count);
    ck_assert_int_eq(count, 800);
    int times[500] = { 0 };
    for (int i = 500; i < count; i++) {
        ck_assert(a[i].duplicate); /* no shuffle: duplicates follow the originals */
        times[a[i].index]++;
    }
    for (int i = 0; i < 500; i++) {
        ck_assert_int_le(times[i], 1);
        ck_assert_int_eq(a[i].index, i);
    }
    free(a);
}
END_TEST

START_TEST(test_rotation_share)
{
    int count;
    dc_work_item *a = build(20000, 1.0, 0.5, 42, true, &count);
    int rotated = 0, per[DC_XF_COUNT] = { 0 };
    for (int i = 0; i < count; i++) {
        if (!a[i].duplicate)
            ck_assert_int_eq(a[i].xf, DC_XF_NONE); /* originals are never rotated */
        else if (a[i].xf != DC_XF_NONE)
            rotated++;
        per[a[i].xf]++;
    }
    /* 20000 duplicates, p = 0.5: 10000 expected, sd 71; 5 sd = 355 */
    ck_assert_int_lt(abs(rotated - 10000), 355);
    for (int k = 1; k < DC_XF_COUNT; k++) /* each of the 4 ops ~2500, sd 43 */
        ck_assert_int_lt(abs(per[k] - 2500), 250);
    free(a);
    a = build(1000, 1.0, 0.0, 42, true, &count);
    for (int i = 0; i < count; i++)
        ck_assert_int_eq(a[i].xf, DC_XF_NONE);
    free(a);
    a = build(1000, 1.0, 1.0, 42, true, &count);
    for (int i = 0; i < count; i++)
        ck_assert(a[i].duplicate == (a[i].xf != DC_XF_NONE));
    free(a);
}
END_TEST

START_TEST(test_same_seed_same_stream_other_seed_other_stream)
{
    int c1, c2, c3;
    dc_work_item *a = build(3000, 1.5, 0.5, 42, true, &c1);
    dc_work_item *b = build(3000, 1.5, 0.5, 42, true, &c2);
    dc_work_item *c = build(3000, 1.5, 0.5, 43, true, &c3);
    ck_assert_int_eq(c1, c2);
    ck_assert_mem_eq(a, b, (size_t)c1 * sizeof *a);
    ck_assert(memcmp(a, c, (size_t)c1 * sizeof *a) != 0);
    /* shuffled: the originals are not simply first */
    int first_half_dups = 0;
    for (int i = 0; i < 3000; i++)
        first_half_dups += a[i].duplicate;
    ck_assert_int_gt(first_half_dups, 1000);
    free(a), free(b), free(c);
}
END_TEST

START_TEST(test_bad_ratios_are_refused)
{
    dc_workload_opts o = { .duplicates = -0.5, .rotations = 0.0, .seed = 1 };
    dc_work_item *items;
    int count;
    dc_error err;
    ck_assert_int_eq(dc_workload_build(10, &o, &items, &count, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "--duplicates"));
    o.duplicates = 1.0;
    o.rotations = 1.5;
    ck_assert_int_eq(dc_workload_build(10, &o, &items, &count, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "--rotations"));
}
END_TEST

START_TEST(test_transforms_move_pixels_like_opencv)
{
    /* a 3 wide x 2 tall gray image:   1 2 3
     *                                 4 5 6 */
    uint8_t px[6] = { 1, 2, 3, 4, 5, 6 };
    dc_image src = { .w = 3, .h = 2, .c = 1, .data = px };
    struct { dc_transform xf; int w, h; uint8_t want[6]; } cases[] = {
        /* cv2.rotate(ROTATE_90_COUNTERCLOCKWISE) = np.rot90(a, 1): 3 6 / 2 5 / 1 4 */
        { DC_XF_ROT90_CCW, 2, 3, { 3, 6, 2, 5, 1, 4 } },
        /* ROTATE_90_CLOCKWISE = np.rot90(a, -1): 4 1 / 5 2 / 6 3 */
        { DC_XF_ROT90_CW, 2, 3, { 4, 1, 5, 2, 6, 3 } },
        { DC_XF_ROT180, 3, 2, { 6, 5, 4, 3, 2, 1 } },
        /* cv2.flip(a, 0): upside down */
        { DC_XF_FLIP_UD, 3, 2, { 4, 5, 6, 1, 2, 3 } },
        { DC_XF_NONE, 3, 2, { 1, 2, 3, 4, 5, 6 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_image dst;
        dc_error err;
        ck_assert_int_eq(dc_image_transform(&src, cases[i].xf, &dst, &err), DC_OK);
        ck_assert_int_eq(dst.w, cases[i].w);
        ck_assert_int_eq(dst.h, cases[i].h);
        ck_assert_mem_eq(dst.data, cases[i].want, 6);
        free(dst.data);
    }
    /* RGB channels move together */
    uint8_t rgb[6] = { 10, 11, 12, 20, 21, 22 }; /* 2 wide x 1 tall */
    dc_image s2 = { .w = 2, .h = 1, .c = 3, .data = rgb }, d2;
    dc_error err;
    ck_assert_int_eq(dc_image_transform(&s2, DC_XF_ROT180, &d2, &err), DC_OK);
    uint8_t want[6] = { 20, 21, 22, 10, 11, 12 };
    ck_assert_mem_eq(d2.data, want, 6);
    free(d2.data);
}
END_TEST

START_TEST(test_rng_below_is_uniform_and_in_range)
{
    dc_rng r;
    dc_rng_seed(&r, 1);
    int counts[7] = { 0 };
    for (int i = 0; i < 70000; i++) {
        uint64_t v = dc_rng_below(&r, 7);
        ck_assert_uint_lt(v, 7);
        counts[v]++;
    }
    for (int k = 0; k < 7; k++) /* 10000 each, sd 93 */
        ck_assert_int_lt(abs(counts[k] - 10000), 500);
}
END_TEST

static Suite *workload_suite(void)
{
    Suite *s = suite_create("workload");
    TCase *tc = fx_tcase(s, "workload", 0);
    tcase_add_test(tc, test_duplicate_counts);
    tcase_add_test(tc, test_fractional_sample_has_no_repeats);
    tcase_add_test(tc, test_rotation_share);
    tcase_add_test(tc, test_same_seed_same_stream_other_seed_other_stream);
    tcase_add_test(tc, test_bad_ratios_are_refused);
    tcase_add_test(tc, test_transforms_move_pixels_like_opencv);
    tcase_add_test(tc, test_rng_below_is_uniform_and_in_range);
    return s;
}

FX_MAIN(workload_suite)
