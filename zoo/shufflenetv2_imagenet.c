/*
 * shufflenetv2_imagenet.c — torchvision 0.14's ShuffleNetV2 (shufflenet_v2_x0_5 .. x2_0):
 * conv1 (3x3/2 + BN + ReLU, keys conv1.0/conv1.1) to 24 channels, MaxPool2d(3, 2, 1),
 * stage2..stage4 of 4, 8, 4 InvertedResidual blocks, conv5 (1x1 + BN + ReLU), mean over
 * H and W, fc. A stride-2 block runs branch1 and branch2 on the whole input and
 * concatenates them; a stride-1 block splits the channels in halves (x.chunk(2)) and
 * transforms only the second. Every block ends with channel_shuffle(out, 2).
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

/* "<p>.<leaf>" into buf */
static const char *key(char *buf, size_t n, const char *p, const char *leaf)
{
    snprintf(buf, n, "%s.%s", p, leaf);
    return buf;
}

/* branch2: 1x1 + BN + ReLU, depthwise 3x3 (stride) + BN, 1x1 + BN + ReLU
 * (keys .0/.1, .3/.4, .5/.6). */
static int branch2(dc_builder *b, int x, const char *p, int bf, int stride)
{
    char c[64], n[64];
    int y = dc_b_conv_bn(b, x, key(c, sizeof c, p, "branch2.0"), key(n, sizeof n, p, "branch2.1"),
                         bf, 1, 1, 0, 1, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, key(c, sizeof c, p, "branch2.3"), key(n, sizeof n, p, "branch2.4"), bf,
                     3, stride, 1, bf, false, DC_ACT_NONE);
    return dc_b_conv_bn(b, y, key(c, sizeof c, p, "branch2.5"), key(n, sizeof n, p, "branch2.6"),
                        bf, 1, 1, 0, 1, false, DC_ACT_RELU);
}

/* branch1 (stride-2 blocks only): depthwise 3x3/2 + BN, 1x1 + BN + ReLU (.0/.1, .2/.3). */
static int branch1(dc_builder *b, int x, const char *p, int cin, int bf)
{
    char c[64], n[64];
    int y = dc_b_conv_bn(b, x, key(c, sizeof c, p, "branch1.0"), key(n, sizeof n, p, "branch1.1"),
                         cin, 3, 2, 1, cin, false, DC_ACT_NONE);
    return dc_b_conv_bn(b, y, key(c, sizeof c, p, "branch1.2"), key(n, sizeof n, p, "branch1.3"),
                        bf, 1, 1, 0, 1, false, DC_ACT_RELU);
}

/* InvertedResidual(cin, cout, stride) */
static int inverted_residual(dc_builder *b, int x, const char *p, int cin, int cout, int stride)
{
    int bf = cout / 2;
    int parts[2];
    if (stride == 2) {
        parts[0] = branch1(b, x, p, cin, bf);
        parts[1] = branch2(b, x, p, bf, 2);
    } else {
        parts[0] = dc_b_slice(b, x, 0, bf);
        parts[1] = branch2(b, dc_b_slice(b, x, bf, bf), p, bf, 1);
    }
    return dc_b_shuffle(b, dc_b_concat(b, parts, 2), 2);
}

dc_status dc_zoo_build_shufflenetv2_imagenet(dc_builder *b, const char *arch, int num_classes)
{
    /* stages_out_channels[1..4]: stage2, stage3, stage4, conv5 (the stem is always 24) */
    static const int w05[4] = { 48, 96, 192, 1024 }, w10[4] = { 116, 232, 464, 1024 },
                     w15[4] = { 176, 352, 704, 1024 }, w20[4] = { 244, 488, 976, 2048 };
    const int *w = strcmp(arch, "shufflenet_v2_x0_5") == 0   ? w05
                   : strcmp(arch, "shufflenet_v2_x1_0") == 0 ? w10
                   : strcmp(arch, "shufflenet_v2_x1_5") == 0 ? w15
                   : strcmp(arch, "shufflenet_v2_x2_0") == 0 ? w20 : NULL;
    if (!w)
        return dc_fail(&b->err, b->status = DC_ERR_ARG, "unknown ImageNet ShuffleNetV2 '%s'",
                       arch);
    static const int repeats[3] = { 4, 8, 4 };
    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv_bn(b, x, "conv1.0", "conv1.1", 24, 3, 2, 1, 1, false, DC_ACT_RELU);
    x = dc_b_maxpool(b, x, 3, 2, 1, false);
    int cin = 24;
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < repeats[s]; i++) {
            char p[32];
            snprintf(p, sizeof p, "stage%d.%d", s + 2, i);
            x = inverted_residual(b, x, p, cin, w[s], i == 0 ? 2 : 1);
            cin = w[s];
        }
    }
    x = dc_b_conv_bn(b, x, "conv5.0", "conv5.1", w[3], 1, 1, 0, 1, false, DC_ACT_RELU);
    x = dc_b_adaptive_avgpool(b, x, 1, 1);  /* x.mean([2, 3]) */
    dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
