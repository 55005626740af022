/*
 * epilogue.h — internal to kernels/: the fused "+ bias, then activation" pass that closes
 * conv, depthwise and linear, and the work threshold below which loops stay serial.
 */
#ifndef DC_KERNELS_EPILOGUE_H
#define DC_KERNELS_EPILOGUE_H

#include <math.h>
#include <stddef.h>

#include "kernels.h"

/* Loops touching fewer elements than this run on one thread: forking the OpenMP team
 * costs more than it saves on such small work. */
#define DC_OMP_MIN_WORK 32768

/* The activations beyond ReLU and ReLU6, one value at a time (they are rarer, and their
 * exp/erf dominate anyway). Formulas as the PyTorch modules define them. */
static inline float dc_act_smooth(dc_act act, float v)
{
    switch (act) {
    case DC_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-v));
    case DC_ACT_SILU:
        return v / (1.0f + expf(-v));
    case DC_ACT_HARDSIGMOID:
        return v <= -3.0f ? 0.0f : v >= 3.0f ? 1.0f : v / 6.0f + 0.5f;
    case DC_ACT_HARDSWISH:
        return v <= -3.0f ? 0.0f : v >= 3.0f ? v : v * (v + 3.0f) / 6.0f;
    case DC_ACT_GELU:
        return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    default:
        return v;
    }
}

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
        if (bias != 0.0f)
            for (size_t i = 0; i < n; i++)
                x[i] += bias;
        break;
    default:
        for (size_t i = 0; i < n; i++)
            x[i] = dc_act_smooth(act, x[i] + bias);
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
        for (size_t i = 0; i < n; i++)
            x[i] += bias[i];
        break;
    default:
        for (size_t i = 0; i < n; i++)
            x[i] = dc_act_smooth(act, x[i] + bias[i]);
        break;
    }
}

#endif /* DC_KERNELS_EPILOGUE_H */
