/*
 * epilogue.h — internal to kernels/: the fused "+ bias, then activation" pass that closes
 * conv, depthwise and linear.
 */
#ifndef DC_KERNELS_EPILOGUE_H
#define DC_KERNELS_EPILOGUE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

/* e^x for -80 <= x <= 0 (x below -80 is taken as -80) in arithmetic that the compiler
 * vectorises, where libm's expf is a call per element: x = n ln2 + r with |r| <= ln2/2
 * (ln2 split in two, Cody and Waite), e^r by Cephes' expf polynomial, 2^n through the
 * exponent bits. n is rounded by adding 1.5 * 2^23, which leaves it in the low mantissa
 * bits: no float-to-int conversion, which GCC will not vectorise after a branch. Every
 * result is a normal float (no denormal stalls). Relative error about 1e-7. */
static inline float dc_exp_nonpos(float x)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23 */
    x = x < -80.0f ? -80.0f : x;
    const float m = x * 1.44269504088896341f + shifter;
    const float n = m - shifter; /* round(x / ln2), in [-115, 0] */
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &m, sizeof bits);
    bits = (bits - 0x4B400000 + 127) * (1 << 23); /* 2^n: n + 127 in the exponent */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* torch.nn.GELU (exact form) x/2 * (1 + erf(x/sqrt 2)), with erf from Abramowitz and
 * Stegun 7.1.26 (|error| <= 1.5e-7), the formula PyTorch's own vectorised CPU erf uses:
 * erf(a) = 1 - q, q = t (a1 + t (a2 + ... + t a5)) e^(-a^2), t = 1 / (1 + p a), a >= 0.
 * For x < 0, 1 + erf(x/sqrt 2) = q is used as is, without cancellation; q is taken as 0
 * once a^2 > 80 (q < 1e-35). */
static inline float dc_gelu(float x)
{
    const float a = fabsf(x) * 0.70710678118654752f;
    const float t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    float q = poly * t * dc_exp_nonpos(-a * a);
    q = a * a > 80.0f ? 0.0f : q;
    return 0.5f * x * (x < 0.0f ? q : 2.0f - q);
}

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
        return dc_gelu(v);
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
    case DC_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            x[i] = dc_gelu(x[i] + bias);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            x[i] = dc_act_smooth(act, x[i] + bias);
        break;
    }
}

/* x[i] = act(x[i] + bias + res[i]): the epilogue of a conv fused with the residual add
 * that follows it (torchvision's BasicBlock: out += identity; relu(out)). */
static inline void dc_bias_residual_act_row(float *restrict x, const float *restrict res,
                                            size_t n, float bias, dc_act act)
{
    for (size_t i = 0; i < n; i++)
        x[i] += bias + res[i];
    dc_bias_act_row(x, n, 0.0f, act);
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
    case DC_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            x[i] = dc_gelu(x[i] + bias[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            x[i] = dc_act_smooth(act, x[i] + bias[i]);
        break;
    }
}

#endif /* DC_KERNELS_EPILOGUE_H */
