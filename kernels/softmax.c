/*
 * softmax.c — softmax over a vector of logits, torch.softmax(x, dim=-1):
 *   p[i] = exp(x[i] - m) / sum_j exp(x[j] - m),  m = max_j x[j].
 * Subtracting m changes nothing mathematically but keeps every exp() in (0, 1], so
 * logits like 1000 do not overflow; the normaliser is summed in double.
 */
#include "kernels.h"

#include <math.h>

void dc_softmax(const float *logits, float *probs, int n)
{
    if (n <= 0)
        return;
    float m = logits[0];
    for (int i = 1; i < n; i++)
        if (logits[i] > m)
            m = logits[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        const float e = expf(logits[i] - m);
        probs[i] = e;
        sum += e;
    }
    /* sum >= 1: the max's own term is exp(0) */
    const double inv = 1.0 / sum;
    for (int i = 0; i < n; i++)
        probs[i] = (float)(probs[i] * inv);
}
