/*
 * test_scores.c — the score functions on hand-made probability tables, and the cascade's
 * two decisions (escalate? keep the second answer?) over a table of cases.
 */
#include "cascade/scores.h"
#include "fixtures.h"
#include "kernels/kernels.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

START_TEST(test_maxp_and_difference)
{
    float p[4] = { 0.1f, 0.6f, 0.25f, 0.05f };
    ck_assert_double_eq_tol(dc_score(DC_SCORE_MAXP, p, 4), 0.6, 1e-7);
    ck_assert_double_eq_tol(dc_score(DC_SCORE_DIFFERENCE, p, 4), 0.35, 1e-7);
    ck_assert_int_eq(dc_argmax(p, 4), 1);
    /* a tie at the top: difference 0, argmax the first of the tied (torch.argmax) */
    float tie[3] = { 0.4f, 0.2f, 0.4f };
    ck_assert_double_eq(dc_score(DC_SCORE_DIFFERENCE, tie, 3), 0.0);
    ck_assert_double_eq_tol(dc_score(DC_SCORE_MAXP, tie, 3), 0.4, 1e-7);
    ck_assert_int_eq(dc_argmax(tie, 3), 0);
    /* a tie for second place does not matter */
    float tie2[3] = { 0.5f, 0.25f, 0.25f };
    ck_assert_double_eq_tol(dc_score(DC_SCORE_DIFFERENCE, tie2, 3), 0.25, 1e-7);
    /* the oracle has no score of its own: it reports maxp */
    ck_assert_double_eq_tol(dc_score(DC_SCORE_ORACLE, p, 4), 0.6, 1e-7);
}
END_TEST

START_TEST(test_entropy_normalised_by_class_count)
{
    float uniform6[6], onehot[6] = { 0, 0, 1, 0, 0, 0 }, uniform10[10];
    for (int i = 0; i < 6; i++)
        uniform6[i] = 1.0f / 6;
    for (int i = 0; i < 10; i++)
        uniform10[i] = 0.1f;
    ck_assert_double_eq_tol(dc_score(DC_SCORE_ENTROPY, uniform6, 6), 1.0, 1e-6);
    ck_assert_double_eq_tol(dc_score(DC_SCORE_ENTROPY, uniform10, 10), 1.0, 1e-6);
    ck_assert_double_eq(dc_score(DC_SCORE_ENTROPY, onehot, 6), 0.0);
    /* two classes at 1/2 among 6: ln 2 / ln 6 */
    float half[6] = { 0.5f, 0.5f, 0, 0, 0, 0 };
    ck_assert_double_eq_tol(dc_score(DC_SCORE_ENTROPY, half, 6), log(2.0) / log(6.0), 1e-7);
    /* 6 classes: (0.5, 0.3, 0.1, 0.05, 0.03, 0.02), computed by hand:
     * -(0.5 ln .5 + .3 ln .3 + .1 ln .1 + .05 ln .05 + .03 ln .03 + .02 ln .02) = 1.3376... */
    float p[6] = { 0.5f, 0.3f, 0.1f, 0.05f, 0.03f, 0.02f };
    double h = -(0.5 * log(0.5) + 0.3 * log(0.3) + 0.1 * log(0.1) + 0.05 * log(0.05) +
                 0.03 * log(0.03) + 0.02 * log(0.02));
    ck_assert_double_eq_tol(h, 1.2713, 1e-4);
    ck_assert_double_eq_tol(dc_score(DC_SCORE_ENTROPY, p, 6), h / log(6.0), 1e-6);
}
END_TEST

START_TEST(test_scores_of_softmax_logits)
{
    /* logits (2, 1, 0): softmax = e^2, e, 1 over their sum */
    float logits[3] = { 2.0f, 1.0f, 0.0f }, p[3];
    dc_softmax(logits, p, 3);
    double z = exp(2.0) + exp(1.0) + 1.0;
    ck_assert_double_eq_tol(dc_score(DC_SCORE_MAXP, p, 3), exp(2.0) / z, 1e-6);
    ck_assert_double_eq_tol(dc_score(DC_SCORE_DIFFERENCE, p, 3), (exp(2.0) - exp(1.0)) / z,
                            1e-6);
}
END_TEST

typedef struct {
    dc_score_kind kind;
    double score, threshold;
    bool escalates;
} escalation_case;

static const escalation_case escalation_cases[] = {
    { DC_SCORE_MAXP, 0.50, 0.60, true },          { DC_SCORE_MAXP, 0.60, 0.60, false },
    { DC_SCORE_MAXP, 0.90, 0.60, false },         { DC_SCORE_DIFFERENCE, 0.10, 0.8724, true },
    { DC_SCORE_DIFFERENCE, 0.8724, 0.8724, false }, { DC_SCORE_DIFFERENCE, 0.99, 0.8724, false },
    { DC_SCORE_ENTROPY, 0.30, 0.20, true },       { DC_SCORE_ENTROPY, 0.20, 0.20, false },
    { DC_SCORE_ENTROPY, 0.05, 0.20, false },      { DC_SCORE_MAXP, 0.0, 0.0, false },
    { DC_SCORE_MAXP, 1.0, 1.0, false },           { DC_SCORE_ENTROPY, 1.0, 1.0, false },
    { DC_SCORE_ENTROPY, 0.0, 0.0, false },        { DC_SCORE_DIFFERENCE, 0.999, 1.0, true },
};

START_TEST(test_escalation_table)
{
    const escalation_case *c = &escalation_cases[_i];
    ck_assert_msg(dc_score_escalates(c->kind, c->score, c->threshold) == c->escalates,
                  "%s score %g threshold %g", dc_score_name(c->kind), c->score, c->threshold);
}
END_TEST

typedef struct {
    dc_score_kind kind;
    double first, second;
    bool second_wins;
} postcheck_case;

static const postcheck_case postcheck_cases[] = {
    { DC_SCORE_MAXP, 0.5, 0.7, true },        { DC_SCORE_MAXP, 0.7, 0.5, false },
    { DC_SCORE_MAXP, 0.6, 0.6, false },       { DC_SCORE_DIFFERENCE, 0.1, 0.3, true },
    { DC_SCORE_DIFFERENCE, 0.3, 0.3, false }, { DC_SCORE_ENTROPY, 0.5, 0.2, true },
    { DC_SCORE_ENTROPY, 0.2, 0.5, false },    { DC_SCORE_ENTROPY, 0.4, 0.4, false },
};

START_TEST(test_postcheck_table)
{
    const postcheck_case *c = &postcheck_cases[_i];
    ck_assert_msg(dc_score_second_wins(c->kind, c->first, c->second) == c->second_wins,
                  "%s first %g second %g", dc_score_name(c->kind), c->first, c->second);
}
END_TEST

START_TEST(test_parse_names)
{
    dc_score_kind k;
    ck_assert(dc_score_parse("maxp", &k) && k == DC_SCORE_MAXP);
    ck_assert(dc_score_parse("difference", &k) && k == DC_SCORE_DIFFERENCE);
    ck_assert(dc_score_parse("entropy", &k) && k == DC_SCORE_ENTROPY);
    ck_assert(dc_score_parse("oracle", &k) && k == DC_SCORE_ORACLE);
    ck_assert(dc_score_parse("truth", &k) && k == DC_SCORE_ORACLE);
    ck_assert(!dc_score_parse("max", &k));
    ck_assert(!dc_score_parse("", &k));
}
END_TEST

static Suite *scores_suite(void)
{
    Suite *s = suite_create("scores");
    TCase *tc = fx_tcase(s, "scores", 0);
    tcase_add_test(tc, test_maxp_and_difference);
    tcase_add_test(tc, test_entropy_normalised_by_class_count);
    tcase_add_test(tc, test_scores_of_softmax_logits);
    tcase_add_loop_test(tc, test_escalation_table, 0,
                        (int)(sizeof escalation_cases / sizeof escalation_cases[0]));
    tcase_add_loop_test(tc, test_postcheck_table, 0,
                        (int)(sizeof postcheck_cases / sizeof postcheck_cases[0]));
    tcase_add_test(tc, test_parse_names);
    return s;
}

FX_MAIN(scores_suite)
