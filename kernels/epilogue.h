/*
 * epilogue.h — internal to kernels/: the fused "+ bias, then activation" pass that closes
 * conv, depthwise and linear, and the work threshold below which loops stay serial.
 */
#ifndef DC_KERNELS_EPILOGUE_H
#define DC_KERNELS_EPILOGUE_H

#include <stddef.h>

#include "kernels.h"

/* Loops touching fewer elements than this run on one thread: forking the OpenMP team
 * costs more than it saves on such small work. */
#define DC_OMP_MIN_WORK 32768

/* x[i] = act(x[i] + bias) for i in [0, n): one pass over a row of one channel.
 * The switch sits outside the loops so each loop vectorises. NaN passes through, as in
 * torch.relu and torch.nn.ReLU6. */
static inline void dc_bias_act_row(float *restrict x, size_t n, float bias, dc_act act)
{
    switch (act) {
    case DC_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + bias;
            x[i] = v < 0.0f ? 0.0f : v;
        }
        break;
    case DC_ACT_RELU6:
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + bias;
            v = v < 0.0f ? 0.0f : v;
            x[i] = v > 6.0f ? 6.0f : v;
        }
        break;
    case DC_ACT_NONE:
    default:
        if (bias != 0.0f)
            for (size_t i = 0; i < n; i++)
                x[i] += bias;
        break;
    }
}

/* x[i] = act(x[i] + bias[i]) for i in [0, n): a row of torch.nn.Linear's output, where
 * the bias varies along the row. */
static inline void dc_bias_vec_act_row(float *restrict x, const float *restrict bias,
                                       size_t n, dc_act act)
{
    switch (act) {
    case DC_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + bias[i];
            x[i] = v < 0.0f ? 0.0f : v;
        }
        break;
    case DC_ACT_RELU6:
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + bias[i];
            v = v < 0.0f ? 0.0f : v;
            x[i] = v > 6.0f ? 6.0f : v;
        }
        break;
    case DC_ACT_NONE:
    default:
        for (size_t i = 0; i < n; i++)
            x[i] += bias[i];
        break;
    }
}

#endif /* DC_KERNELS_EPILOGUE_H */
