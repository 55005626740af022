/*
 * threshold.h — choosing the cascade's threshold lambda (the paper's threshold.py and
 * utils/search.py) from a table of both models' outputs on a labelled split.
 *
 * The math. For sample i let s1_i be the first model's score, c1_i = [pred1_i == label_i]
 * and chosen_i the cascade's answer once the second model has run:
 *     chosen_i = pred2_i                                     without post-check,
 *     chosen_i = pred2_i if the second's score is strictly better, else pred1_i
 *                (better: s2 > s1 for maxp/difference, s2 < s1 for entropy).
 * Let c2_i = [chosen_i == label_i]. The escalated set is
 *     E(lambda) = { i : s1_i < lambda }   for maxp and difference,
 *     E(lambda) = { i : s1_i > lambda }   for entropy,
 * and then
 *     correct(lambda) = sum_{i not in E} c1_i + sum_{i in E} c2_i
 *                     = sum_i c1_i + sum_{i in E} (c2_i - c1_i),
 *     accuracy = correct / n,  usage = |E| / n,  MACs per image = macs1 + usage * macs2.
 * E(lambda) only changes where lambda crosses a score, so the distinct values of s1 in
 * [0, 1] together with the two ends 0 and 1 reach every set E that a lambda in [0, 1] can
 * give: for maxp/difference lambda = v stands for the interval (previous value, v], for
 * entropy lambda = v for [v, next value). Sorting s1 once (a radix sort on the float's
 * bits, O(n); any O(n log n) sort would do) and walking the candidates in ascending order
 * with a running sum of (c2_i - c1_i) evaluates all of them: O(n) after the sort, where
 * the original's grid costs O(n * grid) and can miss the optimum between grid values.
 */
#ifndef DC_CASCADE_THRESHOLD_H
#define DC_CASCADE_THRESHOLD_H

#include "cascade/scores.h"
#include "dualcnn.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {                /* one model's outputs on n samples (borrowed arrays) */
    int n;
    const int *label, *pred;    /* pred = argmax of the logits */
    const float *score[3];      /* maxp, difference, normalised entropy (DC_SCORE_MAXP..) */
    int64_t macs;               /* per image */
} dc_pred_table;

typedef struct {
    double lambda;
    double accuracy;            /* correct / n */
    double usage;               /* escalated / n: the share of inputs the second model sees */
    double macs_per_image;      /* macs1 + usage * macs2 */
    int64_t correct, escalated;
} dc_threshold_point;

/* The exact search. Evaluates every candidate lambda (0, 1 and each distinct first-model
 * score in [0, 1]) for the score kind (maxp, difference or entropy; not the oracle) with or
 * without post-check. *curve receives the whole curve, *count points sorted by lambda
 * (malloc'ed; the caller frees it), *best the index of the best point: the highest
 * accuracy, ties broken toward the fewest escalations, then the smallest lambda for
 * maxp/difference and the largest for entropy (the lambdas that give the same set).
 * Both tables must have the same n >= 1 and the same labels; a NaN score is refused.
 * On failure *curve is NULL. */
dc_status dc_threshold_curve(const dc_pred_table *first, const dc_pred_table *second,
                             dc_score_kind kind, bool postcheck, dc_threshold_point **curve,
                             int *count, int *best, dc_error *err);

/* The original grid search: lambda takes the n_values values of np.linspace(0, 1, n_values)
 * (i * (1 / (n_values - 1)), the last one exactly 1) and *best receives the point the
 * original picks with pandas' idxmax, i.e. the FIRST maximum of the correct count: for
 * maxp/difference the smallest lambda among ties, for entropy (whose frame the original
 * reverses first) the largest.
 * original_quirks: the original split the grid over 16 processes in chunks of
 * n_values / 16 (integer division), so the last n_values % 16 values are never evaluated
 * (none for the default 2000; with fewer than 16 values nothing is, and DC_ERR_ARG is
 * returned). With original_quirks false every value is evaluated.
 * n_values >= 2 (DC_ERR_ARG otherwise). Same table rules as dc_threshold_curve. */
dc_status dc_threshold_grid(const dc_pred_table *first, const dc_pred_table *second,
                            dc_score_kind kind, bool postcheck, int n_values,
                            bool original_quirks, dc_threshold_point *best, dc_error *err);

/* On a curve of dc_threshold_curve: the cheapest point (fewest escalations) whose accuracy
 * is at most max_loss_points accuracy points (0.5 = half a point) below the curve's best;
 * among equal costs the more accurate, then the lambda dc_threshold_curve's own rule
 * prefers (smallest when usage grows with lambda, largest when it falls). -1 when the curve
 * is empty or max_loss_points is negative. */
int dc_threshold_cheapest_within(const dc_threshold_point *curve, int count,
                                 double max_loss_points);

/* On a curve: the most accurate point whose usage is at most max_usage (a share in [0, 1]);
 * ties toward fewer escalations, then as above. -1 when no point qualifies. */
int dc_threshold_best_under_usage(const dc_threshold_point *curve, int count,
                                  double max_usage);

/* Writes both tables as text, the input of tests/threshold_reference.py (the Python port of
 * the original search) and bench/threshold_compare.py:
 *     # dualcnn threshold table 1
 *     n macs1 macs2
 *     label pred1 pred2 maxp1 difference1 entropy1 maxp2 difference2 entropy2   (n lines)
 * scores as %.9g, which reads back as the same float32. Atomic (temporary name, rename). */
dc_status dc_threshold_write_table(const char *path, const dc_pred_table *first,
                                   const dc_pred_table *second, dc_error *err);

#endif /* DC_CASCADE_THRESHOLD_H */
