/*
 * scores.h — how sure a model is, and what the cascade does about it (the paper's score
 * functions, utils/score_functions.py, and its threshold test and post-check,
 * utils/workload.py). Every score is computed on softmax(logits) and lies in [0, 1].
 */
#ifndef DC_CASCADE_SCORES_H
#define DC_CASCADE_SCORES_H

#include "dualcnn.h"

#include <stdbool.h>

/* dc_score_kind and dc_score_name are public: include/dualcnn.h. */

/* Parses "maxp", "difference", "entropy", "oracle" (also the original's "truth"). */
bool dc_score_parse(const char *s, dc_score_kind *k);

/* Index of the largest of n values (the first one on ties, as torch.argmax). */
int dc_argmax(const float *x, int n);

/* The score of n probabilities (a softmax output). maxp and difference for the oracle,
 * which has no score of its own, report maxp. Entropy is normalised by ln(n) of the
 * model's own class count (the original normalised only in its threshold search). */
double dc_score(dc_score_kind k, const float *probs, int n);

/* The threshold test: true when the first model's answer is not trusted and the second
 * model must run. maxp/difference: score < threshold; entropy: score > threshold. The
 * oracle is not a threshold test: the caller escalates when the answer is wrong. */
bool dc_score_escalates(dc_score_kind k, double score, double threshold);

/* Post-check: after escalation, keep the second model's answer only when its score is
 * strictly better (higher for maxp/difference, lower for entropy); ties keep the first. */
bool dc_score_second_wins(dc_score_kind k, double first, double second);

#endif /* DC_CASCADE_SCORES_H */
