/*
 * eltwise.c — element-wise addition with a fused activation (the residual "x + f(x)" of
 * ResNet and MobileNetV2, torch.add then ReLU) and ShuffleNet's channel shuffle
 * (torchvision.models.shufflenetv2.channel_shuffle).
 */
#include "kernels.h"

#include <string.h>

#include "epilogue.h"

/* out may alias a or b: each element is read before it is written, at the same index. */
void dc_add(const float *a, const float *b, float *out, size_t n, dc_act act)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
    dc_act_apply(act, out, n);
}

/* 16 floats, copied as one unit: a fixed-size memcpy the compiler turns into a vector
 * load and store. */
typedef struct {
    float f[16];
} shuffle_chunk;

void dc_shuffle_group(int groups, int g, int per_group, int hw, const float *src,
                      float *out)
{
    if (hw % 16 == 0) { /* planes of whole chunks (the CIFAR-10 maps, 4x4 to 32x32): a
                           library memcpy per plane cost more than the copy (shufflenet's
                           192 planes of 4x4: 0.40 -> 0.12 us) */
        const int chunks = hw / 16;
        for (int j = 0; j < per_group; j++) {
            const float *from = src + (size_t)j * hw;
            float *to = out + (size_t)(j * groups + g) * hw;
            for (int i = 0; i < chunks; i++)
                memcpy(to + 16 * i, from + 16 * i, sizeof(shuffle_chunk));
        }
        return;
    }
    const size_t bytes = (size_t)hw * sizeof(float);
    for (int j = 0; j < per_group; j++)
        memcpy(out + (size_t)(j * groups + g) * hw, src + (size_t)j * hw, bytes);
}

/* x.view(groups, c/groups, hw).transpose(0, 1): out channel j*groups + g is in channel
 * g*(c/groups) + j; each channel moves as one contiguous block of hw floats. */
void dc_channel_shuffle(int c, int hw, int groups, const float *in, float *out)
{
    const int per_group = c / groups;
    for (int g = 0; g < groups; g++)
        dc_shuffle_group(groups, g, per_group, hw, in + (size_t)g * per_group * hw, out);
}

void dc_scale_shift(int c, int hw, const float *scale, const float *shift, dc_act act,
                    const float *in, float *out)
{
    for (int k = 0; k < c; k++) {
        const float *src = in + (size_t)k * hw;
        float *dst = out + (size_t)k * hw;
        for (int i = 0; i < hw; i++)
            dst[i] = scale[k] * src[i];
        dc_bias_act_row(dst, (size_t)hw, shift[k], act);
    }
}

void dc_channel_scale(int c, int hw, const float *gate, const float *in, float *out)
{
    for (int k = 0; k < c; k++) {
        const float *src = in + (size_t)k * hw;
        float *dst = out + (size_t)k * hw;
        for (int i = 0; i < hw; i++)
            dst[i] = src[i] * gate[k];
    }
}
