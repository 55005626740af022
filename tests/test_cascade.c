/*
 * test_cascade.c — the cascade (cascade/cascade.h: dc_cascade_init, dc_cascade_classify,
 * dc_cascade_free) checked decision by decision against an independent recomputation.
 *
 * How: two runnable nets with random weights (dc_net_build_random, 10 classes; their output
 * layer scaled down so that the scores spread instead of sitting at 1) and 16 raw images
 * with some structure (gradients, rectangles, noise; 32x32 RGB and 28x28 gray, the latter
 * resized by the preprocessing). For each image the test preprocesses it
 * (dc_preprocess_net, what the cascade calls), runs each net alone (dc_net_forward, n = 1)
 * and computes softmax and the three scores itself, in double. From those it derives, with
 * the rules of DESIGN.md "Semantics to keep" and docs/cascade.md, what every
 * dc_sample_result must hold: escalated (maxp/difference: score < threshold; entropy:
 * score > threshold; oracle: first model wrong), pred and exit (post-check: the second's
 * answer only when its score is strictly better; the oracle always takes the second's),
 * pred1/pred2, score1/score2 (-1 and NaN when a model did not run), MACs (from
 * dc_net_get_info). Nothing the cascade computed is used as an expected value, except
 * that a memory hit must return what the cascade answered the first time (the memory's
 * contract).
 *
 * Covered: every score x post-check on/off x thresholds taken between recomputed scores
 * (so that both sides occur, asserted) and at 0 and 1, in streaming (n = 1) and batched
 * (n = 6, the last batch partial) mode, for a pair sharing its preprocessed input (the
 * second reuses the first's rows) and a pair with different preprocessing (CIFAR-10 then
 * ImageNet); single-model mode; the memory (dHash and invariants: repeats, rotated copies,
 * in-batch duplicates, which docs/cascade.md says cannot hit each other); argument errors.
 * A row whose score lies within 1e-6 of the threshold (or of the other model's score, for
 * the post-check), or whose top-2 logits nearly tie, is skipped and counted; at least 95%
 * of the rows must be checked.
 */
#include "cascade/cascade.h"
#include "fixtures.h"
#include "layers/net.h"
#include "loaders/preprocess.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NIMG = 16, BATCH = 6, CLASSES = 10 };

#define SCORE_EPS 1e-6 /* a score this close to the threshold is not checked */
#define SCORE_TOL 1e-5 /* reported score vs recomputed (float vs double softmax) */

/* ---- the independent recomputation --------------------------------------- */

/* One net's view of one image, computed by the test. */
typedef struct {
    int pred;                      /* argmax of the logits (first on ties) */
    bool pred_sure;                /* top-1 logit clearly above top-2 */
    double score[DC_SCORE_COUNT];  /* maxp, difference, entropy; the oracle reports maxp */
} model_view;

typedef struct {
    dc_net *first, *second;
    int64_t macs1, macs2;
    dc_image img[NIMG];
    const dc_image *raw[NIMG];
    int labels[NIMG];
    model_view v1[NIMG], v2[NIMG];
} world;

/* softmax in double, then the paper's scores, with the test's own code */
static model_view view_of_logits(const float *logits, int k)
{
    model_view v = { 0 };
    int top = 0;
    for (int i = 1; i < k; i++)
        if (logits[i] > logits[top])
            top = i;
    double next = -INFINITY; /* second largest logit */
    for (int i = 0; i < k; i++)
        if (i != top && logits[i] > next)
            next = logits[i];
    v.pred = top;
    v.pred_sure = (double)logits[top] - next > 1e-4 * (1.0 + fabs((double)logits[top]));
    double p[CLASSES], sum = 0.0;
    for (int i = 0; i < k; i++)
        sum += p[i] = exp((double)logits[i] - (double)logits[top]);
    double p1 = 0.0, p2 = 0.0, h = 0.0;
    for (int i = 0; i < k; i++) {
        p[i] /= sum;
        if (p[i] > p1) {
            p2 = p1;
            p1 = p[i];
        } else if (p[i] > p2) {
            p2 = p[i];
        }
        if (p[i] > 0.0)
            h -= p[i] * log(p[i]);
    }
    v.score[DC_SCORE_MAXP] = p1;
    v.score[DC_SCORE_DIFFERENCE] = p1 - p2;
    v.score[DC_SCORE_ENTROPY] = h / log((double)k);
    v.score[DC_SCORE_ORACLE] = p1;
    return v;
}

/* The logits of one image, preprocessed as the cascade does it, the net run alone (n = 1) */
static void logits_of(dc_net *net, const dc_image *img, float *logits)
{
    dc_net_info info = dc_net_get_info(net);
    ck_assert_int_eq(info.num_classes, CLASSES);
    float *in = malloc((size_t)info.in_c * info.in_h * info.in_w * sizeof *in);
    ck_assert_ptr_nonnull(in);
    dc_error err = { 0 };
    ck_assert_msg(dc_preprocess_net(img, &info, in, &err) == DC_OK, "%s", err.msg);
    ck_assert_msg(dc_net_forward(net, in, 1, logits, &err) == DC_OK, "%s", err.msg);
    free(in);
}

/* Random nets are overconfident (logits hundreds apart for shufflenetv2_x0_5 and
 * resnet20), which would leave nearly every maxp at 1 and every entropy at 0. This scales
 * the output layer (weights and bias, through the net's internals, layers/net.h) so that
 * the logits of the images spread over about 6 on average. */
static void temper(dc_net *net, const dc_image *img, int n)
{
    dc_node *out = &net->nodes[net->output];
    dc_linear_params *fc = &out->linear;
    ck_assert_msg(out->op == DC_OP_LINEAR && fc->weight && fc->bias, "%s ends in a %s, "
                  "not a linear layer", net->arch, dc_op_name(out->op));
    double spread = 0.0;
    for (int i = 0; i < n; i++) {
        float l[CLASSES], lo = INFINITY, hi = -INFINITY;
        logits_of(net, &img[i], l);
        for (int k = 0; k < CLASSES; k++) {
            lo = l[k] < lo ? l[k] : lo;
            hi = l[k] > hi ? l[k] : hi;
        }
        spread += (double)hi - lo;
    }
    ck_assert_msg(spread > 0.0 && isfinite(spread), "%s: logits spread %g", net->arch, spread);
    float s = (float)(6.0 * n / spread);
    for (size_t i = 0; i < (size_t)CLASSES * fc->in_features; i++)
        fc->weight[i] *= s;
    for (int k = 0; k < CLASSES; k++)
        fc->bias[k] *= s;
}

/* An image with some structure (so that the nets and the hashes tell images apart): a
 * colour gradient, a few flat rectangles and a little noise. */
static dc_image make_image(int w, int h, int c, fx_rng *r)
{
    dc_image img = { w, h, c, malloc((size_t)w * h * c) };
    ck_assert_ptr_nonnull(img.data);
    double base[3], dx[3], dy[3];
    for (int k = 0; k < 3; k++) {
        base[k] = fx_rng_uniform(r, 0, 255);
        dx[k] = fx_rng_uniform(r, -6, 6);
        dy[k] = fx_rng_uniform(r, -6, 6);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                double v = base[k] + dx[k] * (x - w / 2) + dy[k] * (y - h / 2) +
                           fx_rng_uniform(r, -12, 12);
                img.data[((size_t)y * w + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    for (int n = 0; n < 3; n++) {
        int x0 = (int)(fx_rng_u64(r) % (uint64_t)w), y0 = (int)(fx_rng_u64(r) % (uint64_t)h);
        int x1 = x0 + 3 + (int)(fx_rng_u64(r) % 12), y1 = y0 + 3 + (int)(fx_rng_u64(r) % 12);
        uint8_t colour[3];
        for (int k = 0; k < 3; k++)
            colour[k] = (uint8_t)(fx_rng_u64(r) >> 56);
        for (int y = y0; y < y1 && y < h; y++)
            for (int x = x0; x < x1 && x < w; x++)
                for (int k = 0; k < c; k++)
                    img.data[((size_t)y * w + x) * c + k] = colour[k];
    }
    return img;
}

/* dst(x', y') = src(y', h - 1 - x'): a 90-degree rotation, written here independently */
static dc_image rotate90(const dc_image *src)
{
    dc_image dst = { src->h, src->w, src->c, malloc((size_t)src->w * src->h * src->c) };
    ck_assert_ptr_nonnull(dst.data);
    for (int y = 0; y < dst.h; y++)
        for (int x = 0; x < dst.w; x++)
            memcpy(dst.data + ((size_t)y * dst.w + x) * dst.c,
                   src->data + ((size_t)(src->h - 1 - x) * src->w + y) * src->c,
                   (size_t)src->c);
    return dst;
}

static dc_net *build(const char *arch, uint64_t seed)
{
    dc_net *net = NULL;
    dc_error err = { 0 };
    dc_status st = dc_net_build_random(arch, CLASSES, seed, BATCH, &net, &err);
    ck_assert_msg(st == DC_OK, "%s: %s", arch, err.msg);
    return net;
}

/* Builds the two nets and the images, and recomputes what each net says about each. The
 * labels make the first model right on the even images and wrong on the odd ones (for the
 * oracle). */
static world *world_make(const char *arch1, uint64_t seed1, const char *arch2, uint64_t seed2)
{
    world *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->first = build(arch1, seed1);
    w->second = build(arch2, seed2);
    w->macs1 = dc_net_get_info(w->first).macs;
    w->macs2 = dc_net_get_info(w->second).macs;
    ck_assert(w->macs1 > 0 && w->macs2 > 0);
    fx_rng r = fx_rng_seed(2024);
    for (int i = 0; i < NIMG; i++) {
        w->img[i] = i % 3 == 2 ? make_image(28, 28, 1, &r) : make_image(32, 32, 3, &r);
        w->raw[i] = &w->img[i];
    }
    temper(w->first, w->img, NIMG);
    temper(w->second, w->img, NIMG);
    for (int i = 0; i < NIMG; i++) {
        float l[CLASSES];
        logits_of(w->first, &w->img[i], l);
        w->v1[i] = view_of_logits(l, CLASSES);
        logits_of(w->second, &w->img[i], l);
        w->v2[i] = view_of_logits(l, CLASSES);
        w->labels[i] = i % 2 ? (w->v1[i].pred + 1 + i % 7) % CLASSES : w->v1[i].pred;
    }
    return w;
}

static void world_free(world *w)
{
    for (int i = 0; i < NIMG; i++)
        dc_image_free(&w->img[i]);
    dc_net_free(w->first);
    dc_net_free(w->second);
    free(w);
}

/* ---- the expected decision ----------------------------------------------- */

typedef struct {
    bool skip;      /* too close to call */
    bool escalated;
    int pred;
    dc_exit exit;
} decision;

static decision decide(const world *w, const dc_cascade_config *cfg, int i, int label)
{
    const model_view *a = &w->v1[i], *b = &w->v2[i];
    decision d = { .pred = a->pred, .exit = DC_EXIT_FIRST };
    dc_score_kind k = cfg->score;
    double s1 = a->score[k], s2 = b->score[k];
    if (!a->pred_sure)
        d.skip = true;
    if (!cfg->second)
        return d;
    if (k == DC_SCORE_ORACLE)
        d.escalated = a->pred != label;
    else if (fabs(s1 - cfg->threshold) <= SCORE_EPS)
        d.skip = true;
    else
        d.escalated = k == DC_SCORE_ENTROPY ? s1 > cfg->threshold : s1 < cfg->threshold;
    if (!d.escalated)
        return d;
    if (!b->pred_sure)
        d.skip = true;
    bool take_second = true;
    if (cfg->postcheck && k != DC_SCORE_ORACLE) {
        if (fabs(s1 - s2) <= SCORE_EPS)
            d.skip = true;
        take_second = k == DC_SCORE_ENTROPY ? s2 < s1 : s2 > s1;
    }
    if (take_second) {
        d.pred = b->pred;
        d.exit = DC_EXIT_SECOND;
    }
    return d;
}

typedef struct {
    int rows, checked, skipped;
    int escalated, kept_first;   /* non-escalated rows */
    int second_won, second_lost; /* escalated rows, post-check on */
} tally;

static bool close_to(double got, double want)
{
    return fabs(got - want) <= SCORE_TOL;
}

/* Checks the result of image i (given label) under cfg; where names the run. */
static void check_row(const world *w, const dc_cascade_config *cfg, int i, int label,
                      const dc_sample_result *r, const char *where, tally *t)
{
    decision d = decide(w, cfg, i, label);
    t->rows++;
    if (d.skip) {
        t->skipped++;
        return;
    }
    t->checked++;
    const model_view *a = &w->v1[i], *b = &w->v2[i];
    dc_score_kind k = cfg->score;
    ck_assert_msg(r->label == label, "%s, image %d: label %d, given %d", where, i, r->label,
                  label);
    ck_assert_msg(r->escalated == d.escalated,
                  "%s, image %d: escalated %d, expected %d (first score %.9f, threshold %.9f, "
                  "first pred %d, label %d)", where, i, r->escalated, d.escalated, a->score[k],
                  cfg->threshold, a->pred, label);
    ck_assert_msg(r->pred1 == a->pred, "%s, image %d: pred1 %d, first model says %d", where, i,
                  r->pred1, a->pred);
    ck_assert_msg(close_to(r->score1, a->score[k]), "%s, image %d: score1 %.9f, recomputed %.9f",
                  where, i, r->score1, a->score[k]);
    if (d.escalated) {
        ck_assert_msg(r->pred2 == b->pred, "%s, image %d: pred2 %d, second model says %d",
                      where, i, r->pred2, b->pred);
        ck_assert_msg(close_to(r->score2, b->score[k]),
                      "%s, image %d: score2 %.9f, recomputed %.9f", where, i, r->score2,
                      b->score[k]);
    } else {
        ck_assert_msg(r->pred2 == -1 && isnan(r->score2),
                      "%s, image %d: not escalated, yet pred2 %d and score2 %g (expected -1, "
                      "NaN)", where, i, r->pred2, r->score2);
    }
    ck_assert_msg(r->pred == d.pred && r->exit == d.exit,
                  "%s, image %d: answer %d from %s, expected %d from %s (scores %.9f -> %.9f, "
                  "preds %d -> %d)", where, i, r->pred, dc_exit_name(r->exit), d.pred,
                  dc_exit_name(d.exit), a->score[k], b->score[k], a->pred, b->pred);
    int64_t macs = w->macs1 + (d.escalated ? w->macs2 : 0);
    ck_assert_msg(r->macs == macs, "%s, image %d: %lld MACs, expected %lld (first %lld, "
                  "second %lld, escalated %d)", where, i, (long long)r->macs, (long long)macs,
                  (long long)w->macs1, (long long)w->macs2, d.escalated);
    ck_assert_msg(isfinite(r->seconds) && r->seconds >= 0.0, "%s, image %d: %g s", where, i,
                  r->seconds);
    if (!d.escalated)
        t->kept_first++;
    else if (cfg->postcheck && k != DC_SCORE_ORACLE)
        *(d.exit == DC_EXIT_SECOND ? &t->second_won : &t->second_lost) += 1;
    t->escalated += d.escalated;
}

/* Runs every image through a fresh cascade under cfg, n images per call, and checks each
 * result; labels NULL means the world's labels. */
static void run_and_check(const world *w, const dc_cascade_config *cfg, int n,
                          const int *labels, tally *t)
{
    char where[160];
    snprintf(where, sizeof where, "%s, threshold %.9f, post-check %s, %s, n = %d",
             dc_score_name(cfg->score), cfg->threshold, cfg->postcheck ? "on" : "off",
             cfg->second ? "two models" : "one model", n);
    dc_cascade *c = NULL;
    dc_error err = { 0 };
    ck_assert_msg(dc_cascade_init(cfg, BATCH, &c, &err) == DC_OK, "%s: %s", where, err.msg);
    if (!labels)
        labels = w->labels;
    dc_sample_result res[BATCH];
    for (int at = 0; at < NIMG; at += n) {
        int m = NIMG - at < n ? NIMG - at : n;
        for (int j = 0; j < m; j++) /* garbage in the results: the cascade must fill all */
            memset(&res[j], 0x5a, sizeof res[j]);
        dc_status st = dc_cascade_classify(c, w->raw + at, labels + at, m, res, &err);
        ck_assert_msg(st == DC_OK, "%s: %s", where, err.msg);
        for (int j = 0; j < m; j++)
            check_row(w, cfg, at + j, labels[at + j], &res[j], where, t);
    }
    dc_cascade_free(c);
}

/* Thresholds between two neighbouring recomputed first-model scores, near the quartiles
 * and the median, so that images lie on both sides; then 0 and 1. */
static int pick_thresholds(const world *w, dc_score_kind k, double *out)
{
    double s[NIMG];
    for (int i = 0; i < NIMG; i++)
        s[i] = w->v1[i].score[k];
    for (int i = 1; i < NIMG; i++) /* insertion sort */
        for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
            double x = s[j];
            s[j] = s[j - 1];
            s[j - 1] = x;
        }
    int n = 0;
    const int at[3] = { NIMG / 4, NIMG / 2, 3 * NIMG / 4 };
    for (int q = 0; q < 3; q++) {
        int j = at[q];
        while (j < NIMG - 1 && s[j] - s[j - 1] <= 4 * SCORE_EPS)
            j++;
        ck_assert_msg(s[j] - s[j - 1] > 4 * SCORE_EPS, "%s: the recomputed scores of the "
                      "first model do not spread (%.9f .. %.9f): no threshold splits them",
                      dc_score_name(k), s[0], s[NIMG - 1]);
        out[n++] = (s[j - 1] + s[j]) / 2;
    }
    out[n++] = 0.0;
    out[n++] = 1.0;
    return n;
}

/* Whether run (threshold index ti, post-check p, batched or streaming) is in the matrix:
 * the three splitting thresholds batched, the median one streaming too (the decisions do
 * not depend on the mode, the bookkeeping does), 0 and 1 batched once each; the oracle
 * (one threshold, ignored) both ways. Kept small: the sanitizer build runs it too. */
static bool in_matrix(dc_score_kind k, int ti, int p, bool batched)
{
    if (k == DC_SCORE_ORACLE || ti == 1)
        return true;
    if (ti < 3)
        return batched;
    return batched && p == ti - 3;
}

/* Every score x post-check x threshold, streaming and batched (in_matrix), on a world. */
static void check_all_decisions(const world *w, const char *pair)
{
    int rows = 0, checked = 0, skipped = 0;
    for (int k = 0; k < DC_SCORE_COUNT; k++) {
        double thr[5];
        int nthr = k == DC_SCORE_ORACLE ? (thr[0] = 0.5, 1) : pick_thresholds(w, k, thr);
        tally kind = { 0 };
        for (int p = 0; p < 2; p++)
            for (int ti = 0; ti < nthr; ti++)
                for (int mode = 0; mode < 2; mode++) {
                    if (!in_matrix((dc_score_kind)k, ti, p, mode))
                        continue;
                    dc_cascade_config cfg = { .first = w->first, .second = w->second,
                                              .score = (dc_score_kind)k,
                                              .threshold = thr[ti], .postcheck = p };
                    tally t = { 0 };
                    run_and_check(w, &cfg, mode ? BATCH : 1, NULL, &t);
                    /* thresholds taken between scores (and the oracle with its labels)
                     * must put images on both sides */
                    if (k == DC_SCORE_ORACLE || ti < 3)
                        ck_assert_msg(t.escalated > 0 && t.kept_first > 0,
                                      "%s, %s threshold %.9f: %d escalated, %d not: the "
                                      "threshold should split the images", pair,
                                      dc_score_name(k), thr[ti], t.escalated, t.kept_first);
                    kind.rows += t.rows;
                    kind.checked += t.checked;
                    kind.skipped += t.skipped;
                    kind.second_won += t.second_won;
                    kind.second_lost += t.second_lost;
                }
        if (k != DC_SCORE_ORACLE) /* the post-check must have gone both ways */
            ck_assert_msg(kind.second_won > 0 && kind.second_lost > 0,
                          "%s, %s: the post-check kept the second answer %d times and the "
                          "first %d times; both should occur", pair, dc_score_name(k),
                          kind.second_won, kind.second_lost);
        rows += kind.rows;
        checked += kind.checked;
        skipped += kind.skipped;
    }
    fprintf(stderr, "test_cascade: %s: %d rows, %d checked, %d skipped (too close to call)\n",
            pair, rows, checked, skipped);
    ck_assert_msg(checked >= rows * 95 / 100, "%s: only %d of %d rows checked", pair, checked,
                  rows);
}

/* ---- the tests ------------------------------------------------------------ */

/* Two CIFAR-10 nets: same input, so the second reuses the first's preprocessed rows (moved
 * to the front of the batch in batched mode). */
START_TEST(test_decisions_shared_input)
{
    world *w = world_make("shufflenetv2_x0_5", 11, "resnet20", 23);
    check_all_decisions(w, "shufflenetv2_x0_5 -> resnet20");
    world_free(w);
}
END_TEST

/* A CIFAR-10 net then an ImageNet one: each preprocesses the raw images its own way. */
START_TEST(test_decisions_own_input)
{
    world *w = world_make("shufflenetv2_x0_5", 11, "mobilenet_v3_small", 23);
    dc_net_info i2 = dc_net_get_info(w->second);
    ck_assert_msg(dc_preprocess_is_imagenet(&i2), "mobilenet_v3_small should get the ImageNet "
                  "preprocessing");
    double thr[5];
    int nthr = pick_thresholds(w, DC_SCORE_DIFFERENCE, thr);
    ck_assert_int_ge(nthr, 3);
    tally t = { 0 };
    dc_cascade_config cfg = { .first = w->first, .second = w->second,
                              .score = DC_SCORE_DIFFERENCE, .threshold = thr[1] };
    run_and_check(w, &cfg, 1, NULL, &t);
    cfg.postcheck = true;
    run_and_check(w, &cfg, BATCH, NULL, &t);
    cfg.score = DC_SCORE_ORACLE;
    run_and_check(w, &cfg, BATCH, NULL, &t);
    ck_assert_msg(t.escalated > 0 && t.kept_first > 0, "%d escalated, %d not", t.escalated,
                  t.kept_first);
    ck_assert_msg(t.checked >= t.rows * 95 / 100, "only %d of %d rows checked", t.checked,
                  t.rows);
    world_free(w);
}
END_TEST

/* No second model: nothing escalates, whatever the score and threshold; the oracle needs
 * no labels then. */
START_TEST(test_single_model)
{
    world *w = world_make("shufflenetv2_x0_5", 11, "resnet20", 23);
    int unknown[NIMG];
    for (int i = 0; i < NIMG; i++)
        unknown[i] = -1;
    tally t = { 0 };
    for (int k = 0; k < DC_SCORE_COUNT; k++)
        for (int mode = 0; mode < 2; mode++) {
            /* thresholds at which two models would escalate every image */
            dc_cascade_config cfg = { .first = w->first, .score = (dc_score_kind)k,
                                      .threshold = k == DC_SCORE_ENTROPY ? 0.0 : 1.0,
                                      .postcheck = mode };
            run_and_check(w, &cfg, mode ? BATCH : 1, mode ? w->labels : unknown, &t);
        }
    ck_assert_int_eq(t.escalated, 0);
    ck_assert_int_eq(t.rows, DC_SCORE_COUNT * 2 * NIMG);
    ck_assert_msg(t.checked >= t.rows * 95 / 100, "only %d of %d rows checked", t.checked,
                  t.rows);
    world_free(w);
}
END_TEST

/* ---- the memory --------------------------------------------------------------- */

/* A hit: the stored answer, no CNN, nothing but the label. */
static void check_hit(const dc_sample_result *r, int want, int label, const char *where, int i)
{
    ck_assert_msg(r->exit == DC_EXIT_MEMORY, "%s, image %d: answered by %s, expected a memory "
                  "hit", where, i, dc_exit_name(r->exit));
    ck_assert_msg(r->pred == want, "%s, image %d: the memory answered %d, but %d was the "
                  "cascade's answer the first time", where, i, r->pred, want);
    ck_assert_msg(r->macs == 0 && r->pred1 == -1 && r->pred2 == -1 && !r->escalated &&
                  isnan(r->score1) && isnan(r->score2),
                  "%s, image %d: a memory hit ran a CNN (%lld MACs, pred1 %d, pred2 %d, "
                  "escalated %d, scores %g %g)", where, i, (long long)r->macs, r->pred1,
                  r->pred2, r->escalated, r->score1, r->score2);
    ck_assert_int_eq(r->label, label);
}

/* Feeds the images, then the same images again (copies in new buffers), then (invariants)
 * their 90-degree rotations: the first pass is checked against the recomputation, the
 * later ones must all hit with the first pass's answers. Batched mode also puts an image
 * and its duplicate in one batch: both miss (docs/cascade.md: duplicates inside one batch
 * cannot hit each other) and both get the recomputed answer. */
static void check_memory(dc_hash_kind hash)
{
    world *w = world_make("shufflenetv2_x0_5", 11, "resnet20", 23);
    double thr[5];
    pick_thresholds(w, DC_SCORE_MAXP, thr);
    dc_cascade_config cfg = { .first = w->first, .second = w->second,
                              .score = DC_SCORE_MAXP, .threshold = thr[1] };
    /* the stored answer must differ from the first model's on some images, so that a
     * memory returning anything but the cascade's answer shows */
    int differ = 0;
    for (int i = 0; i < NIMG; i++) {
        decision d = decide(w, &cfg, i, w->labels[i]);
        differ += !d.skip && d.pred != w->v1[i].pred;
    }
    ck_assert_msg(differ > 0, "no image where the cascade's answer differs from the first "
                  "model's: the memory test would not see a wrong stored label");

    /* the images must have distinct keys (else a first pass could hit) */
    dc_error err = { 0 };
    dc_memory *probe = NULL;
    ck_assert_msg(dc_memory_init(hash, 0, &probe, &err) == DC_OK, "%s", err.msg);
    uint64_t key[NIMG];
    for (int i = 0; i < NIMG; i++) {
        ck_assert_msg(dc_memory_key(probe, w->raw[i], &key[i], &err) == DC_OK, "%s", err.msg);
        for (int j = 0; j < i; j++)
            ck_assert_msg(key[i] != key[j], "fixture: images %d and %d share the %s key", j, i,
                          dc_hash_kind_name(hash));
    }
    dc_memory_free(probe);

    dc_image copy[NIMG], rot[NIMG];
    const dc_image *copies[NIMG], *rots[NIMG];
    for (int i = 0; i < NIMG; i++) {
        size_t bytes = (size_t)w->img[i].w * w->img[i].h * w->img[i].c;
        copy[i] = w->img[i];
        copy[i].data = malloc(bytes);
        ck_assert_ptr_nonnull(copy[i].data);
        memcpy(copy[i].data, w->img[i].data, bytes);
        copies[i] = &copy[i];
        rot[i] = rotate90(&w->img[i]);
        rots[i] = &rot[i];
    }
    int passes = hash == DC_HASH_INVARIANTS ? 3 : 2;
    const dc_image *const *pass_images[3] = { w->raw, copies, rots };

    for (int mode = 0; mode < 2; mode++) {
        int n = mode ? BATCH : 1;
        char where[128];
        dc_memory *mem = NULL;
        dc_cascade *c = NULL;
        ck_assert_msg(dc_memory_init(hash, 0, &mem, &err) == DC_OK, "%s", err.msg);
        cfg.memory = mem;
        ck_assert_msg(dc_cascade_init(&cfg, BATCH, &c, &err) == DC_OK, "%s", err.msg);
        int answer[NIMG];
        dc_sample_result res[BATCH];
        tally t = { 0 };
        for (int pass = 0; pass < passes; pass++) {
            snprintf(where, sizeof where, "%s memory, n = %d, pass %d (%s)",
                     dc_hash_kind_name(hash), n, pass + 1,
                     pass == 0 ? "first sight" : pass == 1 ? "repeats" : "rotated copies");
            for (int at = 0; at < NIMG; at += n) {
                int m = NIMG - at < n ? NIMG - at : n;
                ck_assert_msg(dc_cascade_classify(c, pass_images[pass] + at, w->labels + at, m,
                                                  res, &err) == DC_OK, "%s: %s", where,
                              err.msg);
                for (int j = 0; j < m; j++) {
                    int i = at + j;
                    if (pass == 0) {
                        check_row(w, &cfg, i, w->labels[i], &res[j], where, &t);
                        ck_assert_msg(res[j].exit != DC_EXIT_MEMORY, "%s, image %d: a memory "
                                      "hit on first sight", where, i);
                        answer[i] = res[j].pred;
                    } else {
                        check_hit(&res[j], answer[i], w->labels[i], where, i);
                    }
                }
            }
        }
        ck_assert_msg(t.checked >= t.rows * 95 / 100, "only %d of %d rows checked", t.checked,
                      t.rows);
        dc_memory_stats s = dc_memory_get_stats(mem);
        ck_assert_uint_eq(s.lookups, (uint64_t)passes * NIMG);
        ck_assert_uint_eq(s.hits, (uint64_t)(passes - 1) * NIMG);
        ck_assert_uint_eq(dc_memory_size(mem), NIMG);

        /* one batch holding images and their duplicates, on a fresh memory: all miss,
         * each gets its recomputed answer; the next batch hits */
        if (mode) {
            dc_memory *fresh = NULL;
            dc_cascade *c2 = NULL;
            ck_assert_msg(dc_memory_init(hash, 0, &fresh, &err) == DC_OK, "%s", err.msg);
            cfg.memory = fresh;
            ck_assert_msg(dc_cascade_init(&cfg, BATCH, &c2, &err) == DC_OK, "%s", err.msg);
            const int pick[BATCH] = { 0, 1, 2, 0, 4, 1 }; /* 0 and 1 twice */
            const dc_image *batch[BATCH];
            int labels[BATCH];
            for (int j = 0; j < BATCH; j++) {
                batch[j] = j == 3 || j == 5 ? copies[pick[j]] : w->raw[pick[j]];
                labels[j] = w->labels[pick[j]];
            }
            snprintf(where, sizeof where, "%s memory, a batch with duplicates",
                     dc_hash_kind_name(hash));
            ck_assert_msg(dc_cascade_classify(c2, batch, labels, BATCH, res, &err) == DC_OK,
                          "%s", err.msg);
            tally t2 = { 0 };
            for (int j = 0; j < BATCH; j++) {
                ck_assert_msg(res[j].exit != DC_EXIT_MEMORY, "%s: sample %d (image %d) hit",
                              where, j, pick[j]);
                check_row(w, &cfg, pick[j], labels[j], &res[j], where, &t2);
            }
            ck_assert_uint_eq(dc_memory_size(fresh), 4);
            int stored[BATCH];
            for (int j = 0; j < BATCH; j++)
                stored[j] = res[j].pred;
            snprintf(where, sizeof where, "%s memory, the batch with duplicates again",
                     dc_hash_kind_name(hash));
            ck_assert_msg(dc_cascade_classify(c2, batch, labels, BATCH, res, &err) == DC_OK,
                          "%s", err.msg);
            for (int j = 0; j < BATCH; j++)
                check_hit(&res[j], stored[j], labels[j], where, pick[j]);
            dc_cascade_free(c2);
            dc_memory_free(fresh);
            cfg.memory = mem;
        }
        dc_cascade_free(c);
        dc_memory_free(mem);
    }
    for (int i = 0; i < NIMG; i++) {
        dc_image_free(&copy[i]);
        dc_image_free(&rot[i]);
    }
    world_free(w);
}

START_TEST(test_memory_dhash)
{
    check_memory(DC_HASH_DHASH);
}
END_TEST

START_TEST(test_memory_invariants)
{
    check_memory(DC_HASH_INVARIANTS);
}
END_TEST

/* ---- errors ----------------------------------------------------------------- */

/* init must fail with code and a message containing each of the words */
static void init_fails(const dc_cascade_config *cfg, int max_batch, dc_status code,
                       const char *what, const char *word1, const char *word2)
{
    dc_cascade *c = (dc_cascade *)&c; /* must be reset to NULL */
    dc_error err = { 0 };
    dc_status st = dc_cascade_init(cfg, max_batch, &c, &err);
    ck_assert_msg(st == code, "%s: status %d (%s), expected %d", what, st, err.msg, code);
    ck_assert_msg(c == NULL, "%s: *out not reset", what);
    ck_assert_msg(err.code == code, "%s: err.code %d, returned %d", what, err.code, st);
    ck_assert_msg(err.msg[0] != '\0', "%s: no message", what);
    ck_assert_msg(strstr(err.msg, word1) && (!word2 || strstr(err.msg, word2)),
                  "%s: the message '%s' should name '%s'%s%s", what, err.msg, word1,
                  word2 ? " and " : "", word2 ? word2 : "");
}

START_TEST(test_errors)
{
    dc_net *a = build("shufflenetv2_x0_5", 1), *b = build("resnet20", 2), *six = NULL;
    dc_error err = { 0 };
    ck_assert_msg(dc_net_build_random("resnet20", 6, 3, BATCH, &six, &err) == DC_OK, "%s",
                  err.msg);
    dc_cascade_config cfg = { .first = a, .second = b, .score = DC_SCORE_MAXP,
                              .threshold = 0.5 };

    dc_cascade_config bad = cfg;
    bad.second = six;
    init_fails(&bad, BATCH, DC_ERR_ARG, "10 vs 6 classes", "classes", "6");
    bad.first = NULL;
    init_fails(&bad, BATCH, DC_ERR_ARG, "no first model", "first model", NULL);
    init_fails(&cfg, 0, DC_ERR_ARG, "max_batch 0", "batch", NULL);
    init_fails(&cfg, BATCH + 1, DC_ERR_ARG, "max_batch above the nets' plan", "planned", NULL);
    const double thresholds[] = { -0.25, 1.5, NAN };
    for (int i = 0; i < 3; i++) {
        bad = cfg;
        bad.threshold = thresholds[i];
        init_fails(&bad, BATCH, DC_ERR_ARG, "threshold out of [0, 1]", "threshold", NULL);
    }

    /* the oracle has no threshold; it needs labels only with a second model */
    dc_cascade *c = NULL;
    dc_cascade_config oracle = cfg;
    oracle.score = DC_SCORE_ORACLE;
    oracle.threshold = NAN;
    ck_assert_msg(dc_cascade_init(&oracle, BATCH, &c, &err) == DC_OK, "%s", err.msg);
    fx_rng r = fx_rng_seed(7);
    dc_image img[BATCH + 1];
    const dc_image *raw[BATCH + 1];
    int labels[BATCH + 1];
    for (int i = 0; i <= BATCH; i++) {
        img[i] = make_image(32, 32, 3, &r);
        raw[i] = &img[i];
        labels[i] = i % CLASSES;
    }
    dc_sample_result res[BATCH + 1];
    labels[2] = -1;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(dc_cascade_classify(c, raw, labels, 3, res, &err), DC_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "labels"), "the oracle without labels: '%s'", err.msg);
    dc_cascade_free(c);
    oracle.second = NULL;
    ck_assert_msg(dc_cascade_init(&oracle, BATCH, &c, &err) == DC_OK, "%s", err.msg);
    ck_assert_msg(dc_cascade_classify(c, raw, labels, 3, res, &err) == DC_OK, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        ck_assert(!res[i].escalated && res[i].exit == DC_EXIT_FIRST);
    dc_cascade_free(c);
    labels[2] = 2;

    /* batch sizes out of 1..max_batch */
    ck_assert_msg(dc_cascade_init(&cfg, BATCH, &c, &err) == DC_OK, "%s", err.msg);
    const int sizes[] = { 0, -1, BATCH + 1 };
    for (int i = 0; i < 3; i++) {
        memset(&err, 0, sizeof err);
        ck_assert_int_eq(dc_cascade_classify(c, raw, labels, sizes[i], res, &err), DC_ERR_ARG);
        char want[32], range[32];
        snprintf(want, sizeof want, "batch of %d", sizes[i]);
        snprintf(range, sizeof range, "1..%d", BATCH);
        ck_assert_msg(strstr(err.msg, want) && strstr(err.msg, range),
                      "n = %d: the message '%s' should name the batch and 1..%d", sizes[i],
                      err.msg, BATCH);
    }
    /* an image the preprocessing refuses (4 channels): an error, not a crash */
    dc_image four = { 32, 32, 4, img[0].data };
    const dc_image *bad_raw[1] = { &four };
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(dc_cascade_classify(c, bad_raw, labels, 1, res, &err), DC_ERR_ARG);
    ck_assert_msg(err.msg[0] != '\0', "a 4-channel image: no message");
    dc_cascade_free(c);
    dc_cascade_free(NULL);

    for (int i = 0; i <= BATCH; i++)
        dc_image_free(&img[i]);
    dc_net_free(a);
    dc_net_free(b);
    dc_net_free(six);
}
END_TEST

static Suite *cascade_suite(void)
{
    Suite *s = suite_create("cascade");
    TCase *tc = fx_tcase(s, "cascade", 240);
    tcase_add_test(tc, test_decisions_shared_input);
    tcase_add_test(tc, test_decisions_own_input);
    tcase_add_test(tc, test_single_model);
    tcase_add_test(tc, test_memory_dhash);
    tcase_add_test(tc, test_memory_invariants);
    tcase_add_test(tc, test_errors);
    return s;
}

FX_MAIN(cascade_suite)
