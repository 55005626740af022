/*
 * test_report.c — the run report's metrics against scikit-learn's documented example, the
 * latency quantiles, and the CSV writers (atomic, append, quoting).
 */
#include "cascade/csv.h"
#include "cascade/report.h"
#include "fixtures.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dc_sample_result sample(int label, int pred, dc_exit exit, double ms)
{
    dc_sample_result s = { .label = label, .pred = pred, .exit = exit, .seconds = ms * 1e-3,
                           .escalated = exit == DC_EXIT_SECOND, .macs = 100 };
    return s;
}

START_TEST(test_matches_sklearn_documented_example)
{
    /* scikit-learn's classification_report docstring:
     * y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1]
     *   class 0: precision 0.50 recall 1.00 f1 0.67 support 1
     *   class 1: 0.00 0.00 0.00 1;  class 2: 1.00 0.67 0.80 3
     *   accuracy 0.60; macro avg 0.50 0.56 0.49; weighted avg 0.70 0.60 0.61 */
    dc_report r;
    dc_error err;
    ck_assert_int_eq(dc_report_init(&r, 3, &err), DC_OK);
    int t[5] = { 0, 1, 2, 2, 2 }, p[5] = { 0, 0, 2, 2, 1 };
    for (int i = 0; i < 5; i++) {
        dc_sample_result s = sample(t[i], p[i], DC_EXIT_FIRST, 1.0);
        ck_assert_int_eq(dc_report_add(&r, &s, &err), DC_OK);
    }
    double pr, rc, f1;
    int64_t sup;
    dc_report_class_metrics(&r, 0, &pr, &rc, &f1, &sup);
    ck_assert_double_eq_tol(pr, 0.5, 1e-12);
    ck_assert_double_eq_tol(rc, 1.0, 1e-12);
    ck_assert_double_eq_tol(f1, 2.0 / 3, 1e-12);
    ck_assert_int_eq(sup, 1);
    dc_report_class_metrics(&r, 1, &pr, &rc, &f1, &sup);
    ck_assert_double_eq(pr, 0.0);
    ck_assert_double_eq(f1, 0.0);
    dc_report_class_metrics(&r, 2, &pr, &rc, &f1, &sup);
    ck_assert_double_eq_tol(rc, 2.0 / 3, 1e-12);
    ck_assert_double_eq_tol(f1, 0.8, 1e-12);
    ck_assert_int_eq(sup, 3);
    dc_report_summary s = dc_report_summarise(&r);
    ck_assert_double_eq_tol(s.accuracy, 0.6, 1e-12);
    ck_assert_double_eq_tol(s.macro_precision, 0.5, 1e-12);
    ck_assert_double_eq_tol(s.macro_recall, (1 + 0 + 2.0 / 3) / 3, 1e-12); /* 0.56 */
    ck_assert_double_eq_tol(s.macro_f1, (2.0 / 3 + 0.8) / 3, 1e-12);       /* 0.49 */
    ck_assert_double_eq_tol(s.weighted_precision, 0.7, 1e-12);
    ck_assert_double_eq_tol(s.weighted_recall, 0.6, 1e-12);
    ck_assert_double_eq_tol(s.weighted_f1, (2.0 / 3 + 3 * 0.8) / 5, 1e-12); /* 0.61 */

    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    const char *names[3] = { "class 0", "class 1", "class 2" };
    dc_report_print_classes(&r, names, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "class 2     1.0000     0.6667     0.8000          3"));
    ck_assert_ptr_nonnull(strstr(buf, "accuracy                           0.6000          5"));
    ck_assert_ptr_nonnull(strstr(buf, "macro avg     0.5000     0.5556     0.4889          5"));
    free(buf);
    dc_report_free(&r);
}
END_TEST

START_TEST(test_usage_memory_macs_and_latency)
{
    dc_report r;
    dc_error err;
    ck_assert_int_eq(dc_report_init(&r, 2, &err), DC_OK);
    /* 25 warm-up samples of 100 ms that must not count, then 1..2000 ms */
    for (int i = 0; i < DC_REPORT_WARMUP; i++) {
        dc_sample_result s = sample(0, 0, DC_EXIT_FIRST, 100.0);
        dc_report_add(&r, &s, &err);
    }
    for (int i = 1; i <= 2000; i++) {
        dc_exit e = i % 4 == 0 ? DC_EXIT_MEMORY : i % 4 == 1 ? DC_EXIT_SECOND : DC_EXIT_FIRST;
        dc_sample_result s = sample(1, i % 8 == 0 ? 0 : 1, e, (double)i);
        if (e == DC_EXIT_MEMORY)
            s.macs = 0;
        ck_assert_int_eq(dc_report_add(&r, &s, &err), DC_OK);
    }
    dc_report_summary s = dc_report_summarise(&r);
    ck_assert_int_eq(r.n, 2025);
    ck_assert_int_eq(r.exits[DC_EXIT_MEMORY], 500);
    ck_assert_int_eq(r.memory_wrong, 250); /* i % 8 == 0 are memory answers, all wrong */
    ck_assert_double_eq_tol(s.usage, 500.0 / 2025, 1e-12);
    ck_assert_double_eq_tol(s.memory_hit_rate, 500.0 / 2025, 1e-12);
    ck_assert_double_eq_tol(s.macs_per_image, 100.0 * 1525 / 2025, 1e-9);
    ck_assert_double_eq_tol(s.mean_ms, 1000.5, 1e-6);
    /* numpy.percentile(range(1, 2001), 95) = 1900.05; 99 -> 1980.01 */
    ck_assert_double_eq_tol(s.p95_ms, 1900.05, 1e-6);
    ck_assert_double_eq_tol(s.p99_ms, 1980.01, 1e-6);
    dc_report_free(&r);
}
END_TEST

START_TEST(test_latency_needs_more_than_warmup)
{
    dc_report r;
    dc_error err;
    dc_report_init(&r, 2, &err);
    for (int i = 0; i < DC_REPORT_WARMUP; i++) {
        dc_sample_result s = sample(0, 0, DC_EXIT_FIRST, 1.0);
        dc_report_add(&r, &s, &err);
    }
    ck_assert(isnan(dc_report_summarise(&r).mean_ms));
    dc_report_free(&r);
    double v[4] = { 1, 2, 3, 4 };
    ck_assert_double_eq_tol(dc_quantile(v, 4, 0.5), 2.5, 1e-12);
    ck_assert_double_eq_tol(dc_quantile(v, 4, 1.0), 4.0, 1e-12);
    ck_assert(isnan(dc_quantile(v, 0, 0.5)));
}
END_TEST

/* The stage times: means after the warm-up, their sum as the time per input, the printed
 * breakdown; none before the warm-up is over. */
START_TEST(test_stage_breakdown)
{
    dc_report r;
    dc_error err;
    ck_assert_int_eq(dc_report_init(&r, 2, &err), DC_OK);
    for (int i = 0; i < DC_REPORT_WARMUP + 100; i++) {
        dc_sample_result s = sample(0, 0, DC_EXIT_FIRST, 1.0);
        double scale = i < DC_REPORT_WARMUP ? 1000.0 : 1.0; /* warm-up: must not count */
        for (int k = 0; k < DC_STAGE_COUNT; k++)
            s.stage[k] = scale * 1e-3 * (k + 1) * (i % 2 ? 0.5 : 1.5); /* mean (k + 1) ms */
        s.stage[DC_STAGE_HASH] = 0.0;
        ck_assert_int_eq(dc_report_add(&r, &s, &err), DC_OK);
        if (i == DC_REPORT_WARMUP - 1) {
            dc_report_summary early = dc_report_summarise(&r);
            ck_assert(isnan(early.input_ms) && isnan(early.stage_ms[DC_STAGE_DECODE]));
        }
    }
    dc_report_summary s = dc_report_summarise(&r);
    double sum = 0.0;
    for (int k = 0; k < DC_STAGE_COUNT; k++) {
        double want = k == DC_STAGE_HASH ? 0.0 : (double)(k + 1);
        ck_assert_double_eq_tol(s.stage_ms[k], want, 1e-9);
        sum += s.stage_ms[k];
    }
    ck_assert_double_eq_tol(s.input_ms, 18.0, 1e-9); /* 1 + 2 + 0 + 4 + 5 + 6 */
    ck_assert_double_eq_tol(s.input_ms, sum, 1e-12);
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    dc_report_print_stages(&r, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "Time per input (ms, after 25 warm-up inputs): 18.000"));
    ck_assert_ptr_nonnull(strstr(buf, "  decode            1.000    5.6%"));
    ck_assert_ptr_nonnull(strstr(buf, "  hash (memory)     0.000    0.0%"));
    ck_assert_ptr_nonnull(strstr(buf, "  bookkeeping       6.000   33.3%"));
    free(buf);
    ck_assert_str_eq(dc_stage_name(DC_STAGE_MODEL2), "model2");
    ck_assert_str_eq(dc_stage_name(DC_STAGE_COUNT), "?");
    dc_report_free(&r);
}
END_TEST

START_TEST(test_csv_write_append_and_refuse)
{
    char path[512];
    fx_path(path, sizeof path, "report_test.csv");
    remove(path);
    dc_csv *c;
    dc_error err;
    ck_assert_int_eq(dc_csv_open(path, "a,b", true, &c, &err), DC_OK);
    ck_assert_int_eq(dc_csv_row(c, &err, "%d,%s", 1, "x"), DC_OK);
    ck_assert_ptr_null(fx_read_text(path)); /* nothing at path before the commit */
    ck_assert_int_eq(dc_csv_commit(c, &err), DC_OK);
    ck_assert_str_eq(fx_read_text(path), "a,b\n1,x\n");
    ck_assert_int_eq(dc_csv_open(path, "a,b", true, &c, &err), DC_OK);
    dc_csv_row(c, &err, "%d,%s", 2, "y");
    ck_assert_int_eq(dc_csv_commit(c, &err), DC_OK);
    ck_assert_str_eq(fx_read_text(path), "a,b\n1,x\n2,y\n");
    /* an aborted write leaves the old file and no temporary behind */
    ck_assert_int_eq(dc_csv_open(path, "a,b", true, &c, &err), DC_OK);
    dc_csv_row(c, &err, "3,z");
    dc_csv_abort(c);
    ck_assert_str_eq(fx_read_text(path), "a,b\n1,x\n2,y\n");
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
    /* other columns: refused, file untouched */
    ck_assert_int_eq(dc_csv_open(path, "a,x", true, &c, &err), DC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_eq(dc_csv_open(path, "a", true, &c, &err), DC_ERR_FORMAT);
    ck_assert_int_eq(dc_csv_open(path, "a,bc", true, &c, &err), DC_ERR_FORMAT);
    ck_assert_str_eq(fx_read_text(path), "a,b\n1,x\n2,y\n");
    /* columns added at the end: the old rows get empty fields for them */
    ck_assert_int_eq(dc_csv_open(path, "a,b,c,d", true, &c, &err), DC_OK);
    dc_csv_row(c, &err, "3,z,5,6");
    ck_assert_int_eq(dc_csv_commit(c, &err), DC_OK);
    ck_assert_str_eq(fx_read_text(path), "a,b,c,d\n1,x,,\n2,y,,\n3,z,5,6\n");
    /* not append: replaced */
    ck_assert_int_eq(dc_csv_open(path, "q", false, &c, &err), DC_OK);
    ck_assert_int_eq(dc_csv_commit(c, &err), DC_OK);
    ck_assert_str_eq(fx_read_text(path), "q\n");
    /* a directory that does not exist */
    ck_assert_int_eq(dc_csv_open("/nonexistent-dir/x.csv", "a", false, &c, &err), DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/x.csv"));
}
END_TEST

START_TEST(test_csv_quoting)
{
    char buf[64];
    ck_assert_str_eq(dc_csv_field("plain", buf, sizeof buf), "plain");
    ck_assert_str_eq(dc_csv_field("a,b", buf, sizeof buf), "\"a,b\"");
    ck_assert_str_eq(dc_csv_field("say \"hi\"", buf, sizeof buf), "\"say \"\"hi\"\"\"");
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = fx_tcase(s, "report", 0);
    tcase_add_test(tc, test_matches_sklearn_documented_example);
    tcase_add_test(tc, test_usage_memory_macs_and_latency);
    tcase_add_test(tc, test_latency_needs_more_than_warmup);
    tcase_add_test(tc, test_stage_breakdown);
    tcase_add_test(tc, test_csv_write_append_and_refuse);
    tcase_add_test(tc, test_csv_quoting);
    return s;
}

FX_MAIN(report_suite)
