/* scores.c — the paper's confidence scores and decisions (see scores.h). */
#include "cascade/scores.h"

#include <math.h>
#include <string.h>

static const char *const names[DC_SCORE_COUNT] = { "maxp", "difference", "entropy", "oracle" };

const char *dc_score_name(dc_score_kind k)
{
    return k >= 0 && k < DC_SCORE_COUNT ? names[k] : "?";
}

bool dc_score_parse(const char *s, dc_score_kind *k)
{
    for (int i = 0; i < DC_SCORE_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *k = (dc_score_kind)i;
            return true;
        }
    if (strcmp(s, "truth") == 0) { /* the original CLI's name for the oracle */
        *k = DC_SCORE_ORACLE;
        return true;
    }
    return false;
}

int dc_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* top-1 minus top-2: the largest value minus the largest of the others (0 on a tie) */
static double top_difference(const float *p, int n)
{
    int top = dc_argmax(p, n);
    float second = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != top && p[i] > second)
            second = p[i];
    return n > 1 ? (double)p[top] - (double)second : (double)p[top];
}

/* Shannon entropy in nats over ln(n): 0 for a one-hot, 1 for the uniform distribution */
static double normalised_entropy(const float *p, int n)
{
    if (n < 2)
        return 0.0;
    double h = 0.0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0.0f)
            h -= (double)p[i] * log((double)p[i]);
    return h / log((double)n);
}

double dc_score(dc_score_kind k, const float *probs, int n)
{
    switch (k) {
    case DC_SCORE_DIFFERENCE:
        return top_difference(probs, n);
    case DC_SCORE_ENTROPY:
        return normalised_entropy(probs, n);
    case DC_SCORE_MAXP:
    case DC_SCORE_ORACLE:
    case DC_SCORE_COUNT:
        break;
    }
    return probs[dc_argmax(probs, n)];
}

bool dc_score_escalates(dc_score_kind k, double score, double threshold)
{
    return k == DC_SCORE_ENTROPY ? score > threshold : score < threshold;
}

bool dc_score_second_wins(dc_score_kind k, double first, double second)
{
    return k == DC_SCORE_ENTROPY ? second < first : second > first;
}
