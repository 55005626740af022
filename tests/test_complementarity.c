/*
 * test_complementarity.c — pair complementarity (cascade/complementarity.h) on hand-made
 * tables with known answers, the original complementarity.py's expression on predictions,
 * the k x k matrices, the ranking per GMAC and the CSV files.
 */
#include "cascade/complementarity.h"
#include "fixtures.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_identical_models)
{
    bool a[7] = { 1, 0, 1, 1, 0, 0, 1 };
    dc_pair_counts c = dc_pair_count(a, a, 7);
    ck_assert_int_eq(c.both, 4);
    ck_assert_int_eq(c.neither, 3);
    ck_assert_int_eq(c.only_a + c.only_b, 0);
    ck_assert_double_eq(dc_complementarity_paper(c), 0.0);
    ck_assert_double_eq(dc_complementarity_code(c), 0.0);
    ck_assert_double_eq_tol(dc_oracle_accuracy(c), 4.0 / 7, 1e-15);
}
END_TEST

START_TEST(test_disjoint_halves)
{
    /* a is right on the first half, b on the second: each covers the other fully */
    bool a[10] = { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 }, b[10] = { 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 };
    dc_pair_counts c = dc_pair_count(a, b, 10);
    ck_assert_double_eq(dc_complementarity_paper(c), 1.0);
    ck_assert_double_eq(dc_complementarity_code(c), 1.0);
    ck_assert_double_eq(dc_oracle_accuracy(c), 1.0);
}
END_TEST

START_TEST(test_always_right_and_always_wrong)
{
    /* the code's variant calls this pair perfect; the paper's |n(a) - n(b)| term sees
     * that b adds nothing */
    bool a[8], b[8];
    for (int i = 0; i < 8; i++)
        a[i] = true, b[i] = false;
    dc_pair_counts c = dc_pair_count(a, b, 8);
    ck_assert_int_eq(c.only_a, 8);
    ck_assert_double_eq(dc_complementarity_paper(c), 0.0);
    ck_assert_double_eq(dc_complementarity_code(c), 1.0);
    ck_assert_double_eq(dc_oracle_accuracy(c), 1.0);
    /* and symmetric */
    c = dc_pair_count(b, a, 8);
    ck_assert_double_eq(dc_complementarity_paper(c), 0.0);
    ck_assert_double_eq(dc_complementarity_code(c), 1.0);
}
END_TEST

/* The worked example, by hand (1 = right):
 *   i   0 1 2 3 4 5 6 7 8 9
 *   a   1 1 1 1 1 1 1 0 0 0    n(a) = 7
 *   b   1 1 1 1 0 0 0 1 1 0    n(b) = 6
 *   c   0 0 0 0 1 1 1 1 1 1    n(c) = 6
 * a,b: both {0..3} = 4, only a {4,5,6} = 3, only b {7,8} = 2, neither {9} = 1
 *      paper (9 - 4 - |7 - 6|) / 10 = 0.4 (= 2 min(3, 2) / 10), code 5/10, oracle 0.9
 * a,c: both {4,5,6} = 3, only a {0..3} = 4, only c {7,8,9} = 3
 *      paper (10 - 3 - 1) / 10 = 0.6, code 0.7, oracle 1.0
 * b,c: both {7,8} = 2, only b {0..3} = 4, only c {4,5,6,9} = 4
 *      paper (10 - 2 - 0) / 10 = 0.8, code 0.8, oracle 1.0
 * MACs 1, 2 and 3 G: per GMAC a,b 0.4/3 = 0.1333, a,c 0.6/4 = 0.15, b,c 0.8/5 = 0.16,
 * so the ranking is b,c then a,c then a,b. */
static const bool ex_a[10] = { 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 };
static const bool ex_b[10] = { 1, 1, 1, 1, 0, 0, 0, 1, 1, 0 };
static const bool ex_c[10] = { 0, 0, 0, 0, 1, 1, 1, 1, 1, 1 };

START_TEST(test_worked_example)
{
    dc_pair_counts ab = dc_pair_count(ex_a, ex_b, 10);
    ck_assert_int_eq(ab.both, 4);
    ck_assert_int_eq(ab.only_a, 3);
    ck_assert_int_eq(ab.only_b, 2);
    ck_assert_int_eq(ab.neither, 1);
    ck_assert_double_eq_tol(dc_complementarity_paper(ab), 0.4, 1e-15);
    ck_assert_double_eq_tol(dc_complementarity_code(ab), 0.5, 1e-15);
    ck_assert_double_eq_tol(dc_oracle_accuracy(ab), 0.9, 1e-15);

    const bool *v[3] = { ex_a, ex_b, ex_c };
    double paper[9], code[9];
    dc_error err;
    ck_assert_int_eq(dc_complementarity_matrix(v, 3, 10, paper, code, &err), DC_OK);
    const double want_paper[9] = { 0, 0.4, 0.6, 0.4, 0, 0.8, 0.6, 0.8, 0 };
    const double want_code[9] = { 0, 0.5, 0.7, 0.5, 0, 0.8, 0.7, 0.8, 0 };
    for (int i = 0; i < 9; i++) {
        ck_assert_double_eq_tol(paper[i], want_paper[i], 1e-15);
        ck_assert_double_eq_tol(code[i], want_code[i], 1e-15);
    }
    /* one matrix alone */
    double only[9] = { -1, -1, -1, -1, -1, -1, -1, -1, -1 };
    ck_assert_int_eq(dc_complementarity_matrix(v, 3, 10, NULL, only, &err), DC_OK);
    ck_assert_double_eq_tol(only[5], 0.8, 1e-15);

    const int64_t macs[3] = { 1000000000, 2000000000, 3000000000 };
    dc_complementarity_pair *pairs;
    int count;
    ck_assert_int_eq(dc_complementarity_rank(v, macs, 3, 10, &pairs, &count, &err), DC_OK);
    ck_assert_int_eq(count, 3);
    ck_assert_int_eq(pairs[0].a, 1);
    ck_assert_int_eq(pairs[0].b, 2);
    ck_assert_double_eq_tol(pairs[0].per_gmac, 0.16, 1e-12);
    ck_assert_double_eq_tol(pairs[0].gmacs, 5.0, 1e-12);
    ck_assert_int_eq(pairs[1].a, 0);
    ck_assert_int_eq(pairs[1].b, 2);
    ck_assert_double_eq_tol(pairs[1].per_gmac, 0.15, 1e-12);
    ck_assert_double_eq_tol(pairs[1].oracle, 1.0, 1e-15);
    ck_assert_int_eq(pairs[2].a, 0);
    ck_assert_int_eq(pairs[2].b, 1);
    ck_assert_double_eq_tol(pairs[2].per_gmac, 0.4 / 3, 1e-12);
    ck_assert_double_eq_tol(pairs[2].oracle, 0.9, 1e-15);
    ck_assert_double_eq_tol(pairs[2].code, 0.5, 1e-15);

    /* CSV files: labelled rows and columns, %.4f, written atomically */
    const char *names[3] = { "a", "b", "c" };
    char path[512];
    fx_temporaries("compl_", true);
    fx_path(path, sizeof path, "compl_matrix.csv");
    ck_assert_int_eq(dc_complementarity_write_csv(path, names, 3, paper, &err), DC_OK);
    ck_assert_str_eq(fx_read_text(path), "model,a,b,c\n"
                                     "a,0.0000,0.4000,0.6000\n"
                                     "b,0.4000,0.0000,0.8000\n"
                                     "c,0.6000,0.8000,0.0000\n");
    fx_path(path, sizeof path, "compl_ranking.csv");
    ck_assert_int_eq(dc_complementarity_write_ranking_csv(path, names, pairs, count, &err),
                     DC_OK);
    ck_assert_str_eq(fx_read_text(path),
                     "rank,model_a,model_b,complementarity,code_variant,oracle_accuracy,gmacs,"
                     "per_gmac\n"
                     "1,b,c,0.8000,0.8000,1.0000,5.000000,0.1600\n"
                     "2,a,c,0.6000,0.7000,1.0000,4.000000,0.1500\n"
                     "3,a,b,0.4000,0.5000,0.9000,3.000000,0.1333\n");
    ck_assert_int_eq(fx_temporaries("compl_", false), 0);
    free(pairs);

    /* cheaper models change the order: a,b at 0.4 / 0.3 GMACs comes first */
    const int64_t cheap[3] = { 100000000, 200000000, 3000000000 };
    ck_assert_int_eq(dc_complementarity_rank(v, cheap, 3, 10, &pairs, &count, &err), DC_OK);
    ck_assert_int_eq(pairs[0].a, 0);
    ck_assert_int_eq(pairs[0].b, 1);
    free(pairs);
}
END_TEST

/* The original's expression on predictions, (a == y or b == y) and a != b, is the code's
 * variant; the paper's formula is 2 min(x, y) / N. Random tables, 4 classes. */
START_TEST(test_random_tables_against_definitions)
{
    fx_rng r = fx_rng_seed(11);
    enum { K = 5, N = 257 };
    int label[N], pred[K][N];
    bool right[K][N];
    const bool *v[K];
    for (int i = 0; i < N; i++)
        label[i] = (int)(fx_rng_u64(&r) % 4);
    for (int m = 0; m < K; m++) {
        for (int i = 0; i < N; i++) {
            pred[m][i] = (int)(fx_rng_u64(&r) % 4);
            right[m][i] = pred[m][i] == label[i];
        }
        v[m] = right[m];
    }
    double paper[K * K], code[K * K];
    dc_error err;
    ck_assert_int_eq(dc_complementarity_matrix(v, K, N, paper, code, &err), DC_OK);
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            int volume = 0, x = 0, y = 0;
            for (int i = 0; i < N; i++) {
                volume += (pred[a][i] == label[i] || pred[b][i] == label[i]) &&
                          pred[a][i] != pred[b][i];
                x += right[a][i] && !right[b][i];
                y += right[b][i] && !right[a][i];
            }
            ck_assert_double_eq_tol(code[a * K + b], (double)volume / N, 1e-15);
            ck_assert_double_eq_tol(paper[a * K + b], 2.0 * (x < y ? x : y) / N, 1e-15);
            ck_assert_double_eq(paper[a * K + b], paper[b * K + a]);
        }
}
END_TEST

START_TEST(test_bad_inputs_and_quoting)
{
    const bool *v[2] = { ex_a, NULL };
    double m[4];
    dc_error err = { 0 };
    ck_assert_int_eq(dc_complementarity_matrix(v, 2, 10, m, m, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "model 1"));
    ck_assert_int_eq(dc_complementarity_matrix(v, 0, 10, m, m, &err), DC_ERR_ARG);
    v[1] = ex_b;
    const int64_t macs[2] = { 5, 0 };
    dc_complementarity_pair *pairs = (dc_complementarity_pair *)m;
    int count = -1;
    ck_assert_int_eq(dc_complementarity_rank(v, macs, 2, 10, &pairs, &count, &err), DC_ERR_ARG);
    ck_assert_ptr_null(pairs);
    ck_assert_int_eq(count, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "MACs"));
    /* one model: no pairs */
    ck_assert_int_eq(dc_complementarity_rank(v, macs, 1, 10, &pairs, &count, &err), DC_OK);
    ck_assert_int_eq(count, 0);
    ck_assert_ptr_null(pairs);
    /* a name with a comma is quoted */
    const char *names[2] = { "x,1", "y" };
    double mm[4] = { 0, 0.12345, 0.12345, 0 };
    char path[512];
    fx_path(path, sizeof path, "compl_quoted.csv");
    ck_assert_int_eq(dc_complementarity_write_csv(path, names, 2, mm, &err), DC_OK);
    ck_assert_str_eq(fx_read_text(path),
                     "model,\"x,1\",y\n\"x,1\",0.0000,0.1235\ny,0.1235,0.0000\n");
    /* an unwritable place fails cleanly */
    ck_assert_int_eq(dc_complementarity_write_csv("/nonexistent-dir/m.csv", names, 2, mm, &err),
                     DC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/m.csv"));
}
END_TEST

static Suite *complementarity_suite(void)
{
    Suite *s = suite_create("complementarity");
    TCase *tc = fx_tcase(s, "core", 0);
    tcase_add_test(tc, test_identical_models);
    tcase_add_test(tc, test_disjoint_halves);
    tcase_add_test(tc, test_always_right_and_always_wrong);
    tcase_add_test(tc, test_worked_example);
    tcase_add_test(tc, test_random_tables_against_definitions);
    tcase_add_test(tc, test_bad_inputs_and_quoting);
    return s;
}

FX_MAIN(complementarity_suite)
