/* threshold.c — the exact lambda search and the original's grid (see threshold.h). */
#include "cascade/threshold.h"
#include "base/alloc.h"

#include "loaders/outfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One sample as the search sees it: the first model's score and what escalating it changes
 * in the correct count, gain = c2 - c1 in {-1, 0, +1}. */
typedef struct {
    float s;
    int32_t gain;
} sample;

/* The tables sorted by the first model's score, with the count the first model alone gets
 * right. */
typedef struct {
    sample *v;
    int n;
    int64_t correct1;
    int64_t total_gain;
    bool up;      /* maxp/difference: escalate below lambda; entropy: above */
} sorted_table;

/* A float's bits as an unsigned key in the same order (NaN excluded): flip every bit of a
 * negative number, only the sign bit of a positive one. */
static uint32_t sort_key(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (b & 0x80000000u) ? ~b : b | 0x80000000u;
}

/* Sorts v by score: a stable LSD radix sort, 4 passes of 8 bits (O(n), about ten times
 * faster than qsort at 50,000 samples). tmp holds n samples. */
static void sort_samples(sample *v, sample *tmp, int n)
{
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = { 0 };
        for (int i = 0; i < n; i++)
            count[((sort_key(v[i].s) >> shift) & 0xFF) + 1]++;
        if (count[((sort_key(v[0].s) >> shift) & 0xFF) + 1] == (size_t)n)
            continue; /* every key has this digit: nothing moves */
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (int i = 0; i < n; i++)
            tmp[count[(sort_key(v[i].s) >> shift) & 0xFF]++] = v[i];
        memcpy(v, tmp, (size_t)n * sizeof *v);
    }
}

static dc_status check_tables(const dc_pred_table *t1, const dc_pred_table *t2,
                              dc_score_kind kind, bool postcheck, dc_error *err)
{
    if (kind != DC_SCORE_MAXP && kind != DC_SCORE_DIFFERENCE && kind != DC_SCORE_ENTROPY)
        return dc_fail(err, DC_ERR_ARG, "threshold search: score '%s' has no threshold "
                       "(use maxp, difference or entropy)", dc_score_name(kind));
    if (!t1 || !t2)
        return dc_fail(err, DC_ERR_ARG, "threshold search: a prediction table is missing");
    if (t1->n < 1)
        return dc_fail(err, DC_ERR_ARG, "threshold search: no samples");
    if (t1->n != t2->n)
        return dc_fail(err, DC_ERR_ARG, "threshold search: the first model has %d samples, "
                       "the second %d", t1->n, t2->n);
    if (!t1->label || !t1->pred || !t1->score[kind] || !t2->label || !t2->pred ||
        (postcheck && !t2->score[kind]))
        return dc_fail(err, DC_ERR_ARG, "threshold search: a table lacks labels, "
                       "predictions or %s scores", dc_score_name(kind));
    for (int i = 0; i < t1->n; i++) {
        if (t1->label[i] != t2->label[i])
            return dc_fail(err, DC_ERR_ARG, "threshold search: sample %d is labelled %d for "
                           "the first model and %d for the second", i, t1->label[i],
                           t2->label[i]);
        if (isnan(t1->score[kind][i]) || (postcheck && isnan(t2->score[kind][i])))
            return dc_fail(err, DC_ERR_ARG, "threshold search: the %s score of sample %d "
                           "is NaN", dc_score_name(kind), i);
    }
    return DC_OK;
}

static dc_status sort_tables(const dc_pred_table *t1, const dc_pred_table *t2,
                             dc_score_kind kind, bool postcheck, sorted_table *st,
                             dc_error *err)
{
    dc_status rc = check_tables(t1, t2, kind, postcheck, err);
    if (rc != DC_OK)
        return rc;
    int n = t1->n;
    st->v = dc_malloc((size_t)n * sizeof *st->v);
    sample *tmp = dc_malloc((size_t)n * sizeof *tmp);
    if (!st->v || !tmp) {
        free(st->v);
        free(tmp);
        return dc_fail(err, DC_ERR_NOMEM, "threshold search: out of memory (%d samples)", n);
    }
    st->n = n;
    st->up = kind != DC_SCORE_ENTROPY;
    st->correct1 = 0;
    st->total_gain = 0;
    const float *s1 = t1->score[kind], *s2 = t2->score[kind];
    for (int i = 0; i < n; i++) {
        int c1 = t1->pred[i] == t1->label[i];
        int chosen = t2->pred[i];
        if (postcheck && !dc_score_second_wins(kind, s1[i], s2[i]))
            chosen = t1->pred[i];
        int c2 = chosen == t1->label[i];
        st->v[i].s = s1[i];
        st->v[i].gain = (int32_t)(c2 - c1);
        st->correct1 += c1;
        st->total_gain += c2 - c1;
    }
    sort_samples(st->v, tmp, n);
    free(tmp);
    return DC_OK;
}

/* Walks lambdas in ascending order over the sorted samples, keeping the escalated count
 * and the gain of the escalated set up to date. */
typedef struct {
    const sorted_table *t;
    int pos;          /* samples [0, pos) lie below (maxp) or at/below (entropy) lambda */
    int64_t gain;     /* sum of gain over [0, pos) */
} walker;

static void walker_point(walker *w, double lambda, const dc_pred_table *t1,
                         const dc_pred_table *t2, dc_threshold_point *p)
{
    const sorted_table *t = w->t;
    if (t->up) { /* E = { s < lambda } = [0, pos) */
        while (w->pos < t->n && t->v[w->pos].s < lambda)
            w->gain += t->v[w->pos++].gain;
    } else {     /* E = { s > lambda } = [pos, n) */
        while (w->pos < t->n && t->v[w->pos].s <= lambda)
            w->gain += t->v[w->pos++].gain;
    }
    int64_t esc = t->up ? w->pos : t->n - w->pos;
    int64_t gain = t->up ? w->gain : t->total_gain - w->gain;
    p->lambda = lambda;
    p->correct = t->correct1 + gain;
    p->escalated = esc;
    p->accuracy = (double)p->correct / t->n;
    p->usage = (double)esc / t->n;
    p->macs_per_image = (double)t1->macs + p->usage * (double)t2->macs;
}

/* true when a is preferred to b: more correct, then fewer escalations, then the lambda
 * closer to the no-escalation end (smaller when usage grows with lambda). */
static bool point_better(const dc_threshold_point *a, const dc_threshold_point *b, bool up)
{
    if (a->correct != b->correct)
        return a->correct > b->correct;
    if (a->escalated != b->escalated)
        return a->escalated < b->escalated;
    return up ? a->lambda < b->lambda : a->lambda > b->lambda;
}

dc_status dc_threshold_curve(const dc_pred_table *first, const dc_pred_table *second,
                             dc_score_kind kind, bool postcheck, dc_threshold_point **curve,
                             int *count, int *best, dc_error *err)
{
    *curve = NULL;
    *count = 0;
    *best = -1;
    sorted_table t;
    dc_status rc = sort_tables(first, second, kind, postcheck, &t, err);
    if (rc != DC_OK)
        return rc;
    /* candidates: 0, the distinct scores inside (0, 1), 1 — at most n + 2 */
    dc_threshold_point *pts = dc_malloc(((size_t)t.n + 2) * sizeof *pts);
    if (!pts) {
        free(t.v);
        return dc_fail(err, DC_ERR_NOMEM, "threshold search: out of memory (%d samples)", t.n);
    }
    walker w = { &t, 0, 0 };
    int m = 0;
    walker_point(&w, 0.0, first, second, &pts[m++]);
    for (int i = 0; i < t.n; i++) {
        double s = t.v[i].s;
        if (s > 0.0 && s < 1.0 && s > pts[m - 1].lambda)
            walker_point(&w, s, first, second, &pts[m++]);
    }
    walker_point(&w, 1.0, first, second, &pts[m++]);
    free(t.v);

    int b = 0;
    for (int j = 1; j < m; j++)
        if (point_better(&pts[j], &pts[b], t.up))
            b = j;
    *curve = pts;
    *count = m;
    *best = b;
    return DC_OK;
}

dc_status dc_threshold_grid(const dc_pred_table *first, const dc_pred_table *second,
                            dc_score_kind kind, bool postcheck, int n_values,
                            bool original_quirks, dc_threshold_point *best, dc_error *err)
{
    if (n_values < 2)
        return dc_fail(err, DC_ERR_ARG, "threshold grid: -n must be at least 2 (got %d)",
                       n_values);
    /* threshold.py: 16 processes, each given threshold_params[i*step:(i+1)*step] with
     * step = n // 16, so only the first 16 * (n // 16) values are ever evaluated */
    int evaluated = original_quirks ? 16 * (n_values / 16) : n_values;
    if (evaluated == 0)
        return dc_fail(err, DC_ERR_ARG, "threshold grid: with the original's split over 16 "
                       "processes, %d values evaluate no threshold at all (use 16 or more)",
                       n_values);
    sorted_table t;
    dc_status rc = sort_tables(first, second, kind, postcheck, &t, err);
    if (rc != DC_OK)
        return rc;
    /* np.linspace(0, 1, n): i * (1 / (n - 1)), the last value set to exactly 1 */
    double step = 1.0 / (double)(n_values - 1);
    walker w = { &t, 0, 0 };
    dc_threshold_point p, top = { 0 };
    for (int i = 0; i < evaluated; i++) {
        double lambda = i == n_values - 1 ? 1.0 : (double)i * step;
        walker_point(&w, lambda, first, second, &p);
        /* idxmax takes the first maximum; the entropy frame is reversed, so there the
         * last maximum in ascending lambda wins */
        if (i == 0 || p.correct > top.correct || (!t.up && p.correct == top.correct))
            top = p;
    }
    free(t.v);
    *best = top;
    return DC_OK;
}

/* true when usage grows with lambda along the curve (maxp/difference), false when it
 * falls (entropy) */
static bool curve_up(const dc_threshold_point *curve, int count)
{
    return curve[0].escalated <= curve[count - 1].escalated;
}

int dc_threshold_cheapest_within(const dc_threshold_point *curve, int count,
                                 double max_loss_points)
{
    if (!curve || count < 1 || !(max_loss_points >= 0))
        return -1;
    double top = curve[0].accuracy;
    for (int j = 1; j < count; j++)
        if (curve[j].accuracy > top)
            top = curve[j].accuracy;
    /* accuracies are ratios of integers: allow for the rounding of the subtraction */
    double floor_acc = top - max_loss_points / 100.0 - 1e-12;
    bool up = curve_up(curve, count);
    int pick = -1;
    for (int j = 0; j < count; j++) {
        if (curve[j].accuracy < floor_acc)
            continue;
        if (pick < 0) {
            pick = j;
            continue;
        }
        const dc_threshold_point *a = &curve[j], *b = &curve[pick];
        if (a->escalated != b->escalated ? a->escalated < b->escalated
            : a->accuracy != b->accuracy ? a->accuracy > b->accuracy
            : up ? a->lambda < b->lambda : a->lambda > b->lambda)
            pick = j;
    }
    return pick;
}

int dc_threshold_best_under_usage(const dc_threshold_point *curve, int count,
                                  double max_usage)
{
    if (!curve || count < 1 || !(max_usage >= 0))
        return -1;
    bool up = curve_up(curve, count);
    int pick = -1;
    for (int j = 0; j < count; j++) {
        /* escalated / n is correctly rounded, like max_usage: no slack needed */
        if (curve[j].usage > max_usage)
            continue;
        const dc_threshold_point *a = &curve[j];
        if (pick < 0) {
            pick = j;
            continue;
        }
        const dc_threshold_point *b = &curve[pick];
        if (a->accuracy != b->accuracy ? a->accuracy > b->accuracy
            : a->escalated != b->escalated ? a->escalated < b->escalated
            : up ? a->lambda < b->lambda : a->lambda > b->lambda)
            pick = j;
    }
    return pick;
}

dc_status dc_threshold_write_table(const char *path, const dc_pred_table *first,
                                   const dc_pred_table *second, dc_error *err)
{
    for (int k = 0; k < 3; k++)
        if (!first || !second || !first->score[k] || !second->score[k])
            return dc_fail(err, DC_ERR_ARG, "%s: a table lacks its %s scores", path,
                           dc_score_name((dc_score_kind)k));
    dc_status rc = check_tables(first, second, DC_SCORE_MAXP, false, err);
    if (rc != DC_OK)
        return rc;
    dc_outfile out;
    if ((rc = dc_outfile_open(&out, path, 0, err)) != DC_OK)
        return rc;
    FILE *f = out.f;
    fprintf(f, "# dualcnn threshold table 1\n%d %lld %lld\n", first->n,
            (long long)first->macs, (long long)second->macs);
    for (int i = 0; i < first->n; i++)
        fprintf(f, "%d %d %d %.9g %.9g %.9g %.9g %.9g %.9g\n", first->label[i],
                first->pred[i], second->pred[i], first->score[0][i], first->score[1][i],
                first->score[2][i], second->score[0][i], second->score[1][i],
                second->score[2][i]);
    return dc_outfile_commit(&out, err);
}
