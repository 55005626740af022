/*
 * test_threshold.c — the lambda search (cascade/threshold.h):
 *  - the exact search against a brute-force scan (every candidate lambda evaluated by a
 *    plain O(n) loop) on 200 random tables, n from 1 to 300, scores drawn from a small set
 *    so that ties are everywhere, all three scores, without and with post-check; and that
 *    no lambda in [0, 1] (the candidates, the midpoints between them, random values) does
 *    better than the best point, each lambda landing on the curve point that stands for it;
 *  - the grid mode against tests/threshold_reference.py, a port of the original
 *    threshold.py + utils/search.py run on the same table: identical lambda and correct
 *    count for n = 2000, 100, 1000 and 17 (the last two not multiples of 16), with and
 *    without the original's 16-chunk quirk;
 *  - cheapest-within-X-points and best-under-usage on hand-made curves; bad inputs.
 * When /usr/bin/python3 cannot import numpy the comparisons with the port are skipped.
 */
#include "cascade/threshold.h"
#include "fixtures.h"
#include "fx_table.h"

#include <check.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- random tables ------------------------------------------------------------ */

/* a small set of scores: ties between samples, with the second model's scores, with the
 * ends 0 and 1, one value just above 1 (a normalised entropy rounded up) and two at or
 * just below 0 (-0 and a rounding error), which sort before +0 */
static const float tie_values[] = { 0.0f, 0.1f, 0.25f, 0.5f, 0.5f, 0.75f, 0.9f, 1.0f,
                                    1.0f + FLT_EPSILON, -0.0f, -1e-7f };

static float draw_score(fx_rng *r, bool continuous)
{
    if (continuous)
        return fx_rng_uniform(r, 0.0f, 1.0f);
    return tie_values[fx_rng_u64(r) % (sizeof tie_values / sizeof tie_values[0])];
}

static void table_random(fx_table *t, int n, fx_rng *r, bool continuous)
{
    fx_table_init(t, n, 1000, 3000);
    for (int i = 0; i < n; i++) {
        t->label[i] = (int)(fx_rng_u64(r) % 3);
        t->p1[i] = (int)(fx_rng_u64(r) % 3);
        t->p2[i] = (int)(fx_rng_u64(r) % 3);
        for (int k = 0; k < 3; k++) {
            t->s1[k][i] = draw_score(r, continuous);
            t->s2[k][i] = draw_score(r, continuous);
        }
    }
}

/* ---- brute force -------------------------------------------------------------- */

/* The cascade at one lambda, written out plainly from the paper's rules. */
static void brute_eval(const fx_table *t, dc_score_kind kind, bool pc, double lambda,
                       int64_t *correct, int64_t *escalated)
{
    *correct = *escalated = 0;
    for (int i = 0; i < t->n; i++) {
        double a = t->s1[kind][i], b = t->s2[kind][i];
        bool esc = kind == DC_SCORE_ENTROPY ? a > lambda : a < lambda;
        int answer = t->p1[i];
        if (esc) {
            (*escalated)++;
            bool second_better = kind == DC_SCORE_ENTROPY ? b < a : b > a;
            if (!pc || second_better)
                answer = t->p2[i];
        }
        *correct += answer == t->label[i];
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 0, 1 and every distinct score of the first model in [0, 1], ascending */
static int brute_candidates(const fx_table *t, dc_score_kind kind, double *out)
{
    int m = 0;
    out[m++] = 0.0;
    out[m++] = 1.0;
    for (int i = 0; i < t->n; i++) {
        double s = t->s1[kind][i];
        if (s < 0.0 || s > 1.0)
            continue;
        bool seen = false;
        for (int j = 0; j < m && !seen; j++)
            seen = out[j] == s;
        if (!seen)
            out[m++] = s;
    }
    qsort(out, m, sizeof *out, cmp_double);
    return m;
}

static void check_against_brute(const fx_table *t, dc_score_kind kind, bool pc, fx_rng *r,
                                const char *what)
{
    dc_threshold_point *curve = NULL;
    int count = -1, best = -1;
    dc_error err = { 0 };
    ck_assert_msg(dc_threshold_curve(&t->t1, &t->t2, kind, pc, &curve, &count, &best, &err) ==
                  DC_OK, "%s: %s", what, err.msg);
    double *cand = malloc((t->n + 2) * sizeof *cand);
    int m = brute_candidates(t, kind, cand);
    ck_assert_msg(count == m, "%s: %d points, brute force has %d candidates", what, count, m);

    int bbest = -1;
    int64_t bc = 0, be = 0;
    for (int j = 0; j < m; j++) {
        int64_t c, e;
        brute_eval(t, kind, pc, cand[j], &c, &e);
        const dc_threshold_point *p = &curve[j];
        ck_assert_msg(p->lambda == cand[j], "%s: point %d lambda %.9g, expected %.9g", what,
                      j, p->lambda, cand[j]);
        ck_assert_msg(p->correct == c && p->escalated == e,
                      "%s: lambda %.9g: %lld correct / %lld escalated, brute force %lld / %lld",
                      what, cand[j], (long long)p->correct, (long long)p->escalated,
                      (long long)c, (long long)e);
        ck_assert_double_eq_tol(p->accuracy, (double)c / t->n, 1e-15);
        ck_assert_double_eq_tol(p->usage, (double)e / t->n, 1e-15);
        ck_assert_double_eq_tol(p->macs_per_image, 1000.0 + 3000.0 * e / t->n, 1e-9);
        /* best: most correct, then fewest escalations, then the smallest lambda
         * (maxp/difference) or the largest (entropy); cand is ascending */
        bool better = bbest < 0 || c > bc || (c == bc && e < be) ||
                      (c == bc && e == be && kind == DC_SCORE_ENTROPY);
        if (better) {
            bbest = j;
            bc = c;
            be = e;
        }
    }
    ck_assert_msg(best == bbest, "%s: best index %d (lambda %.9g), brute force %d (%.9g)", what,
                  best, curve[best].lambda, bbest, cand[bbest]);

    /* no lambda in [0, 1] beats the best, and every lambda lands on the curve point that
     * stands for its interval: (previous, v] for maxp/difference, [v, next) for entropy */
    for (int q = 0; q < 3 * m + 20; q++) {
        double lambda;
        if (q < m)
            lambda = cand[q];
        else if (q < 2 * m - 1)
            lambda = (cand[q - m] + cand[q - m + 1]) / 2;
        else
            lambda = fx_rng_uniform(r, 0.0f, 1.0f);
        int64_t c, e;
        brute_eval(t, kind, pc, lambda, &c, &e);
        ck_assert_msg(c <= curve[best].correct, "%s: lambda %.9g gets %lld > best %lld", what,
                      lambda, (long long)c, (long long)curve[best].correct);
        int j = 0;
        if (kind == DC_SCORE_ENTROPY) {
            j = m - 1;
            while (j > 0 && cand[j] > lambda)
                j--;
        } else {
            while (j < m - 1 && cand[j] < lambda)
                j++;
        }
        ck_assert_msg(curve[j].correct == c && curve[j].escalated == e,
                      "%s: lambda %.9g should behave as point %d (%.9g)", what, lambda, j,
                      cand[j]);
    }

    /* the grid can only do as well as the exact search, never better */
    dc_threshold_point g;
    ck_assert_int_eq(dc_threshold_grid(&t->t1, &t->t2, kind, pc, 64, true, &g, &err), DC_OK);
    ck_assert_msg(g.correct <= curve[best].correct, "%s: grid beat the exact search", what);
    free(cand);
    free(curve);
}

START_TEST(test_exact_matches_brute_force)
{
    static const uint64_t seeds[4] = { 1, 7, 2024, 0xC0FFEE };
    int tables = 0;
    for (int si = 0; si < 4; si++) {
        fx_rng r = fx_rng_seed(seeds[si]);
        for (int it = 0; it < 50; it++, tables++) {
            /* n from 1 to 300: the small ones first, then spread out */
            int n = it < 10 ? it + 1 : 1 + (int)(fx_rng_u64(&r) % 300);
            bool continuous = it % 5 == 4;
            fx_table t;
            table_random(&t, n, &r, continuous);
            for (int k = 0; k < 3; k++)
                for (int pc = 0; pc < 2; pc++) {
                    char what[96];
                    snprintf(what, sizeof what, "seed %llu table %d (n %d) %s pc %d",
                             (unsigned long long)seeds[si], it, n,
                             dc_score_name((dc_score_kind)k), pc);
                    check_against_brute(&t, (dc_score_kind)k, pc, &r, what);
                }
            fx_table_free(&t);
        }
    }
    ck_assert_int_eq(tables, 200);
}
END_TEST

/* A worked example, small enough to check by hand (maxp, no post-check):
 *   i      0    1    2    3
 *   s1    0.2  0.4  0.4  0.9
 *   c1     0    1    0    1      (first model right?)
 *   c2     1    0    1    1      (second model right?)
 * candidates 0, 0.2, 0.4, 0.9, 1: escalated {}, {}, {0}, {0,1,2}, {0,1,2,3}
 * correct    2,   2,   3,   3,   3  -> best: 3 correct with the fewest escalations,
 * i.e. lambda 0.4 (sample 0 escalated). With post-check and s2 = 0.1 everywhere the
 * second answer never wins, so every lambda gives 2 and the best is lambda 0. */
START_TEST(test_worked_example)
{
    int label[4] = { 0, 0, 0, 0 }, p1[4] = { 1, 0, 1, 0 }, p2[4] = { 0, 1, 0, 0 };
    float s1[4] = { 0.2f, 0.4f, 0.4f, 0.9f }, s2[4] = { 0.1f, 0.1f, 0.1f, 0.1f };
    dc_pred_table a = { 4, label, p1, { s1, s1, s1 }, 10 };
    dc_pred_table b = { 4, label, p2, { s2, s2, s2 }, 30 };
    dc_threshold_point *c;
    int count, best;
    dc_error err;
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_MAXP, false, &c, &count, &best, &err),
                     DC_OK);
    ck_assert_int_eq(count, 5);
    double lambdas[5] = { 0.0, (double)0.2f, (double)0.4f, (double)0.9f, 1.0 };
    int64_t correct[5] = { 2, 2, 3, 3, 3 }, esc[5] = { 0, 0, 1, 3, 4 };
    for (int j = 0; j < 5; j++) {
        ck_assert_double_eq(c[j].lambda, lambdas[j]);
        ck_assert_int_eq(c[j].correct, correct[j]);
        ck_assert_int_eq(c[j].escalated, esc[j]);
    }
    ck_assert_int_eq(best, 2);
    ck_assert_double_eq(c[best].usage, 0.25);
    ck_assert_double_eq(c[best].macs_per_image, 10 + 0.25 * 30);
    free(c);
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_MAXP, true, &c, &count, &best, &err),
                     DC_OK);
    ck_assert_int_eq(best, 0);
    ck_assert_int_eq(c[best].correct, 2);
    free(c);
    /* entropy reads the same scores the other way: escalate when s1 > lambda.
     * candidates 0, 0.2, 0.4, 0.9, 1: escalated {0,1,2,3}, {1,2,3}, {3}, {}, {}
     * correct 3, 2, 2, 2, 2 -> best lambda 0 */
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_ENTROPY, false, &c, &count, &best,
                                        &err), DC_OK);
    ck_assert_int_eq(best, 0);
    ck_assert_int_eq(c[0].correct, 3);
    ck_assert_int_eq(c[1].correct, 2);
    ck_assert_int_eq(c[1].escalated, 3);
    /* a tie at the no-escalation end: lambda 0.9 and 1 both escalate nothing; with
     * correct equal the largest lambda is reported */
    ck_assert_int_eq(c[3].escalated, 0);
    ck_assert_int_eq(c[4].escalated, 0);
    free(c);
}
END_TEST

START_TEST(test_bad_inputs)
{
    int label[2] = { 0, 1 }, other[2] = { 0, 2 }, p[2] = { 0, 1 };
    float s[2] = { 0.5f, 0.7f }, bad[2] = { 0.5f, NAN };
    dc_pred_table a = { 2, label, p, { s, s, s }, 1 };
    dc_pred_table b = a;
    dc_threshold_point *c = (dc_threshold_point *)&a;
    dc_threshold_point g;
    int count, best;
    dc_error err = { 0 };
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_ORACLE, false, &c, &count, &best,
                                        &err), DC_ERR_ARG);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(err.msg, "oracle"));
    b.n = 1;
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_MAXP, false, &c, &count, &best, &err),
                     DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "2 samples"));
    b = a;
    b.label = other;
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_MAXP, false, &c, &count, &best, &err),
                     DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "sample 1"));
    b = a;
    b.score[DC_SCORE_DIFFERENCE] = bad;
    /* the second model's scores matter only with post-check */
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_DIFFERENCE, false, &c, &count, &best,
                                        &err), DC_OK);
    free(c);
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_DIFFERENCE, true, &c, &count, &best,
                                        &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "NaN"));
    a.n = b.n = 0;
    ck_assert_int_eq(dc_threshold_curve(&a, &b, DC_SCORE_MAXP, false, &c, &count, &best, &err),
                     DC_ERR_ARG);
    a.n = b.n = 2;
    b.score[DC_SCORE_DIFFERENCE] = s;
    ck_assert_int_eq(dc_threshold_grid(&a, &b, DC_SCORE_MAXP, false, 1, false, &g, &err),
                     DC_ERR_ARG);
    ck_assert_int_eq(dc_threshold_grid(&a, &b, DC_SCORE_MAXP, false, 15, true, &g, &err),
                     DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "16"));
    ck_assert_int_eq(dc_threshold_grid(&a, &b, DC_SCORE_MAXP, false, 15, false, &g, &err),
                     DC_OK);
}
END_TEST

/* ---- the grid against the Python port of the original -------------------------- */

static bool have_numpy(void)
{
    static int known = -1;
    return fx_python_has(&known, "numpy", "test_threshold: " FX_PYTHON " cannot import numpy "
                         "(python3-numpy): comparisons with the original's port skipped");
}

/* Runs the port on the table and compares its 6 answers with dc_threshold_grid's. */
static void compare_with_port(const fx_table *t, const char *file, int n_values, bool quirks,
                              bool literal)
{
    char path[PATH_MAX], script[PATH_MAX], cmd[3 * PATH_MAX];
    fx_path(path, sizeof path, file);
    dc_error err = { 0 };
    ck_assert_msg(dc_threshold_write_table(path, &t->t1, &t->t2, &err) == DC_OK, "%s",
                  err.msg);
    fx_source_path(script, sizeof script, "threshold_reference.py");
    snprintf(cmd, sizeof cmd, FX_PYTHON " '%s' '%s' %d%s%s", script, path, n_values,
             quirks ? "" : " --no-quirks", literal ? " --literal" : "");
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int lines = 0;
    char name[32];
    int pc;
    double lambda;
    long long correct, usage;
    while (fscanf(p, "%31s %d %lf %lld %lld", name, &pc, &lambda, &correct, &usage) == 5) {
        dc_score_kind kind;
        ck_assert(dc_score_parse(name, &kind));
        dc_threshold_point g;
        ck_assert_msg(dc_threshold_grid(&t->t1, &t->t2, kind, pc, n_values, quirks, &g, &err) ==
                      DC_OK, "%s", err.msg);
        ck_assert_msg(g.lambda == lambda && g.correct == correct && g.escalated == usage,
                      "n_values %d%s, %s post-check %d: C lambda %.17g (%lld correct, %lld "
                      "escalated), original %.17g (%lld, %lld)", n_values,
                      quirks ? "" : " without quirks", name, pc, g.lambda,
                      (long long)g.correct, (long long)g.escalated, lambda, correct, usage);
        ck_assert_double_eq(g.accuracy, (double)correct / t->n);
        lines++;
    }
    int rc = pclose(p);
    ck_assert_msg(rc == 0 && lines == 6, "%s: exit %d after %d lines", cmd, rc, lines);
}

/* Scores like a real classifier's, plus values exactly on the grid of n = 17 (k / 16)
 * and the ends, where >= against > matters. */
static void table_realistic(fx_table *t, int n, uint64_t seed)
{
    fx_rng r = fx_rng_seed(seed);
    fx_table_init(t, n, 1000, 3000);
    static const float on_grid[] = { 0.0f, 0.25f, 0.3125f, 0.5f, 0.6875f, 1.0f };
    for (int i = 0; i < n; i++) {
        t->label[i] = (int)(fx_rng_u64(&r) % 10);
        for (int m = 0; m < 2; m++) {
            bool right = fx_rng_uniform(&r, 0, 1) < (m ? 0.85f : 0.8f);
            int *pred = m ? t->p2 : t->p1;
            float **s = m ? t->s2 : t->s1;
            pred[i] = right ? t->label[i] : (t->label[i] + 1 + (int)(fx_rng_u64(&r) % 9)) % 10;
            for (int k = 0; k < 3; k++) {
                float u = fx_rng_uniform(&r, 0, 1);
                float conf = right ? 1.0f - 0.7f * u * u : 0.1f + 0.8f * u;
                s[k][i] = k == DC_SCORE_ENTROPY ? 1.0f - conf : conf;
                if (fx_rng_u64(&r) % 10 == 0)
                    s[k][i] = on_grid[fx_rng_u64(&r) % 6];
            }
        }
    }
}

START_TEST(test_grid_matches_original)
{
    if (!have_numpy())
        return;
    fx_table t;
    table_realistic(&t, 400, 99);
    /* the literal port of search.py (a Python loop per threshold and sample) */
    compare_with_port(&t, "thr_table_400.txt", 2000, true, true);
    compare_with_port(&t, "thr_table_400.txt", 100, true, true);
    compare_with_port(&t, "thr_table_400.txt", 1000, true, true);
    compare_with_port(&t, "thr_table_400.txt", 17, true, true);
    /* every value evaluated */
    compare_with_port(&t, "thr_table_400.txt", 1000, false, false);
    compare_with_port(&t, "thr_table_400.txt", 17, false, false);
    fx_table_free(&t);
    /* a bigger table through the vectorised port */
    table_realistic(&t, 5000, 5);
    compare_with_port(&t, "thr_table_5000.txt", 2000, true, false);
    compare_with_port(&t, "thr_table_5000.txt", 1000, true, false);
    fx_table_free(&t);
}
END_TEST

/* The quirk is real: when escalating everything below 1 is best (the second model always
 * right, the first always wrong), the original with n = 17 never tries lambda = 1 (the
 * 17th value is dropped): every lambda in (0.2, 15/16] escalates only the sample scored
 * 0.2, so it keeps the first of them, 0.25, with 1 right; without the quirk lambda 1 gets
 * all 4. */
START_TEST(test_grid_quirk_drops_the_tail)
{
    fx_table t;
    fx_table_init(&t, 4, 1000, 3000);
    float s[4] = { 0.95f, 0.97f, 0.99f, 0.2f };
    for (int i = 0; i < 4; i++) {
        t.label[i] = 1;
        t.p1[i] = 0;
        t.p2[i] = 1;
        for (int k = 0; k < 3; k++) {
            t.s1[k][i] = s[i];
            t.s2[k][i] = 0.5f;
        }
    }
    dc_threshold_point g;
    dc_error err;
    ck_assert_int_eq(dc_threshold_grid(&t.t1, &t.t2, DC_SCORE_MAXP, false, 17, true, &g, &err),
                     DC_OK);
    ck_assert_double_eq(g.lambda, 0.25);
    ck_assert_int_eq(g.correct, 1);
    ck_assert_int_eq(dc_threshold_grid(&t.t1, &t.t2, DC_SCORE_MAXP, false, 17, false, &g, &err),
                     DC_OK);
    ck_assert_double_eq(g.lambda, 1.0);
    ck_assert_int_eq(g.correct, 4);
    /* np.linspace sets the last value to exactly 1: 49 * (1 / 49) alone would be
     * 0.9999999999999999 */
    ck_assert_int_eq(dc_threshold_grid(&t.t1, &t.t2, DC_SCORE_MAXP, false, 50, false, &g, &err),
                     DC_OK);
    ck_assert_double_eq(g.lambda, 1.0);
    ck_assert_int_eq(g.correct, 4);
    /* 32 values: a multiple of 16, nothing dropped */
    ck_assert_int_eq(dc_threshold_grid(&t.t1, &t.t2, DC_SCORE_MAXP, false, 32, true, &g, &err),
                     DC_OK);
    ck_assert_double_eq(g.lambda, 1.0);
    /* entropy: the largest lambda among the maxima (the reversed frame's first) */
    ck_assert_int_eq(dc_threshold_grid(&t.t1, &t.t2, DC_SCORE_ENTROPY, false, 17, true, &g,
                                       &err), DC_OK);
    /* entropy escalates when s1 > lambda: every lambda below 0.2 (0, 1/16, 2/16, 3/16)
     * escalates all four, 4 correct; the largest of those tied lambdas wins */
    ck_assert_int_eq(g.correct, 4);
    ck_assert_double_eq(g.lambda, 3.0 / 16.0);
    if (have_numpy()) {
        compare_with_port(&t, "thr_quirk.txt", 17, true, true);
        compare_with_port(&t, "thr_quirk.txt", 50, false, true);
    }
    fx_table_free(&t);
}
END_TEST

/* ---- choosing on a curve ------------------------------------------------------ */

static dc_threshold_point pt(double lambda, int64_t correct, int64_t escalated, int n)
{
    dc_threshold_point p = { lambda, (double)correct / n, (double)escalated / n, 0, correct,
                             escalated };
    return p;
}

START_TEST(test_cheapest_and_budget_on_maxp_curve)
{
    /* usage grows with lambda (maxp/difference) */
    dc_threshold_point c[6] = { pt(0.0, 90, 0, 100),  pt(0.2, 92, 10, 100),
                                pt(0.4, 95, 20, 100), pt(0.6, 96, 30, 100),
                                pt(0.8, 96, 40, 100), pt(1.0, 94, 50, 100) };
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 6, 0.0), 3);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 6, 0.5), 3);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 6, 1.0), 2); /* 95 >= 96 - 1 */
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 6, 1.5), 2);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 6, 4.0), 1);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 6, 6.0), 0);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 6, -1.0), -1);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 0, 1.0), -1);
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 6, 0.0), 0);
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 6, 0.25), 2);
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 6, 0.3), 3);  /* exactly on budget */
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 6, 1.0), 3);  /* 96 at 30 before 40 */
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 6, -0.1), -1);
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 6, NAN), -1);
    /* equal cost and accuracy (the same escalated set): the smallest lambda */
    dc_threshold_point d[3] = { pt(0.0, 90, 0, 100), pt(0.3, 90, 0, 100), pt(1.0, 80, 10, 100) };
    ck_assert_int_eq(dc_threshold_cheapest_within(d, 3, 0.0), 0);
    ck_assert_int_eq(dc_threshold_best_under_usage(d, 3, 0.0), 0);
}
END_TEST

START_TEST(test_cheapest_and_budget_on_entropy_curve)
{
    /* usage falls as lambda grows (entropy) */
    dc_threshold_point c[5] = { pt(0.0, 93, 50, 100), pt(0.3, 95, 30, 100),
                                pt(0.6, 95, 10, 100), pt(0.9, 91, 0, 100),
                                pt(1.0, 91, 0, 100) };
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 5, 0.0), 2);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 5, 3.9), 2);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 5, 4.0), 4); /* ties: the largest */
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 5, 0.0), 4);
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 5, 0.1), 2);
    ck_assert_int_eq(dc_threshold_best_under_usage(c, 5, 0.5), 2);
}
END_TEST

START_TEST(test_cheapest_within_rounding)
{
    /* 93.0% and 92.5% of 1000: 0.93 - 0.005 is not exactly 0.925 in binary */
    dc_threshold_point c[3] = { pt(0.1, 900, 0, 1000), pt(0.5, 925, 100, 1000),
                                pt(0.9, 930, 300, 1000) };
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 3, 0.5), 1);
    ck_assert_int_eq(dc_threshold_cheapest_within(c, 3, 0.49), 2);
    /* 0.51 - 0.1 > 0.41 in binary */
    dc_threshold_point e[2] = { pt(0.1, 41, 0, 100), pt(0.9, 51, 60, 100) };
    ck_assert_int_eq(dc_threshold_cheapest_within(e, 2, 10.0), 0);
    /* on a real curve: within 0 points is the best point itself */
    fx_table t;
    fx_rng r = fx_rng_seed(3);
    table_random(&t, 200, &r, true);
    for (int k = 0; k < 3; k++) {
        dc_threshold_point *curve;
        int count, best;
        dc_error err;
        ck_assert_int_eq(dc_threshold_curve(&t.t1, &t.t2, (dc_score_kind)k, true, &curve, &count,
                                            &best, &err), DC_OK);
        ck_assert_int_eq(dc_threshold_cheapest_within(curve, count, 0.0), best);
        ck_assert_int_eq(dc_threshold_best_under_usage(curve, count, 1.0), best);
        free(curve);
    }
    fx_table_free(&t);
}
END_TEST

static Suite *threshold_suite(void)
{
    Suite *s = suite_create("threshold");
    TCase *tc = fx_tcase(s, "core", 240);
    tcase_add_test(tc, test_exact_matches_brute_force);
    tcase_add_test(tc, test_worked_example);
    tcase_add_test(tc, test_bad_inputs);
    tcase_add_test(tc, test_grid_matches_original);
    tcase_add_test(tc, test_grid_quirk_drops_the_tail);
    tcase_add_test(tc, test_cheapest_and_budget_on_maxp_curve);
    tcase_add_test(tc, test_cheapest_and_budget_on_entropy_curve);
    tcase_add_test(tc, test_cheapest_within_rounding);
    return s;
}

FX_MAIN(threshold_suite)
