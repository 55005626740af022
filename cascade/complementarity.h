/*
 * complementarity.h — how well two models cover each other's mistakes (the paper's
 * complementarity and the original complementarity.py), for choosing the cascade's pair.
 *
 * For models a and b on N labelled samples let x = n(only a right), y = n(only b right),
 * both = n(both right), neither = n(both wrong). Then
 *   paper's complementarity  (n(a or b right) - n(both right) - |n(a right) - n(b right)|) / N
 *                           = (x + y - |x - y|) / N = 2 min(x, y) / N,
 *   the code's variant       (x + y) / N: the share exactly one of the two gets right
 *                           (complementarity.py counts (a right or b right) and a != b);
 *   oracle accuracy          (x + y + both) / N: the share at least one gets right, what a
 *                           cascade that always escalated the right samples would reach.
 * The paper's value punishes lopsided pairs: a model that is always right next to one that
 * is always wrong has the code's variant 1 but the paper's 0.
 */
#ifndef DC_CASCADE_COMPLEMENTARITY_H
#define DC_CASCADE_COMPLEMENTARITY_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t only_a, only_b, both, neither;
} dc_pair_counts;

/* Counts the four cases over n samples; a[i], b[i]: whether each model got sample i right. */
dc_pair_counts dc_pair_count(const bool *a, const bool *b, int n);

/* The three numbers above from counts (0 when the counts are all 0). */
double dc_complementarity_paper(dc_pair_counts c);
double dc_complementarity_code(dc_pair_counts c);
double dc_oracle_accuracy(dc_pair_counts c);

/* k x k matrices (row-major, k*k doubles each, caller-allocated; either may be NULL) of the
 * paper's value and of the code's variant for k models' correctness vectors correct[0..k)
 * of n samples each. Both are symmetric with a zero diagonal. k >= 1, n >= 1. */
dc_status dc_complementarity_matrix(const bool *const *correct, int k, int n, double *paper,
                                    double *code, dc_error *err);

typedef struct {
    int a, b;                  /* model indices, a < b */
    double paper, code, oracle;
    double gmacs;              /* (macs_a + macs_b) / 1e9 */
    double per_gmac;           /* paper / gmacs */
} dc_complementarity_pair;

/* Every pair a < b (k (k - 1) / 2 of them), ranked by the paper's complementarity per
 * combined GMACs, highest first (ties: the higher paper value, then the lower indices).
 * macs[i] > 0 is model i's per-image MACs. *pairs is malloc'ed (NULL when k < 2); the
 * caller frees it. */
dc_status dc_complementarity_rank(const bool *const *correct, const int64_t *macs, int k,
                                  int n, dc_complementarity_pair **pairs, int *count,
                                  dc_error *err);

/* Writes a k x k matrix as CSV: a header "model,<name 0>,...,<name k-1>", then one row per
 * model starting with its name, values as %.4f (the original wrote the same numbers without
 * the row labels). Atomic (cascade/csv.h). */
dc_status dc_complementarity_write_csv(const char *path, const char *const *names, int k,
                                       const double *matrix, dc_error *err);

/* Writes the ranking as CSV: rank,model_a,model_b,complementarity,code_variant,
 * oracle_accuracy,gmacs,per_gmac. Atomic. */
dc_status dc_complementarity_write_ranking_csv(const char *path, const char *const *names,
                                               const dc_complementarity_pair *pairs,
                                               int count, dc_error *err);

#endif /* DC_CASCADE_COMPLEMENTARITY_H */
