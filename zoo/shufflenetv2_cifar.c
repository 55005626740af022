/*
 * shufflenetv2_cifar.c — chenyaofo's CIFAR ShuffleNetV2 (x0_5, x1_0, x1_5, x2_0): the
 * torchvision network with a stride-1 stem and no max pool. A stride-2 block runs two
 * branches on the whole input and concatenates them; a stride-1 block splits the channels
 * in halves and transforms only the second. Every block ends with a channel shuffle of 2
 * groups.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

/* branch2: 1x1 + BN + ReLU, depthwise 3x3 + BN, 1x1 + BN + ReLU (keys .0/.1, .3/.4, .5/.6) */
static int branch2(dc_builder *b, int x, const char *p, int bf, int stride)
{
    char c[64], n[64];
    snprintf(c, sizeof c, "%s.branch2.0", p);
    snprintf(n, sizeof n, "%s.branch2.1", p);
    int y = dc_b_conv_bn(b, x, c, n, bf, 1, 1, 0, 1, false, DC_ACT_RELU);
    snprintf(c, sizeof c, "%s.branch2.3", p);
    snprintf(n, sizeof n, "%s.branch2.4", p);
    y = dc_b_conv_bn(b, y, c, n, bf, 3, stride, 1, bf, false, DC_ACT_NONE);
    snprintf(c, sizeof c, "%s.branch2.5", p);
    snprintf(n, sizeof n, "%s.branch2.6", p);
    return dc_b_conv_bn(b, y, c, n, bf, 1, 1, 0, 1, false, DC_ACT_RELU);
}

/* branch1 (stride-2 blocks only): depthwise 3x3 + BN, 1x1 + BN + ReLU (.0/.1, .2/.3) */
static int branch1(dc_builder *b, int x, const char *p, int cin, int bf)
{
    char c[64], n[64];
    snprintf(c, sizeof c, "%s.branch1.0", p);
    snprintf(n, sizeof n, "%s.branch1.1", p);
    int y = dc_b_conv_bn(b, x, c, n, cin, 3, 2, 1, cin, false, DC_ACT_NONE);
    snprintf(c, sizeof c, "%s.branch1.2", p);
    snprintf(n, sizeof n, "%s.branch1.3", p);
    return dc_b_conv_bn(b, y, c, n, bf, 1, 1, 0, 1, false, DC_ACT_RELU);
}

static int shuffle_block(dc_builder *b, int x, const char *p, int cin, int cout, int stride)
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

dc_status dc_zoo_build_shufflenetv2_cifar(dc_builder *b, const char *arch, int num_classes)
{
    /* stage2, stage3, stage4, conv5 widths */
    static const int w05[4] = { 48, 96, 192, 1024 }, w10[4] = { 116, 232, 464, 1024 },
                     w15[4] = { 176, 352, 704, 1024 }, w20[4] = { 244, 488, 976, 2048 };
    const int *w = strcmp(arch, "shufflenetv2_x0_5") == 0   ? w05
                   : strcmp(arch, "shufflenetv2_x1_0") == 0 ? w10
                   : strcmp(arch, "shufflenetv2_x1_5") == 0 ? w15
                   : strcmp(arch, "shufflenetv2_x2_0") == 0 ? w20 : NULL;
    if (!w)
        return dc_fail(&b->err, b->status = DC_ERR_ARG, "unknown CIFAR ShuffleNetV2 '%s'",
                       arch);
    static const int repeats[3] = { 4, 8, 4 };
    int x = dc_b_input(b, 3, 32, 32);
    x = dc_b_conv_bn(b, x, "conv1.0", "conv1.1", 24, 3, 1, 1, 1, false, DC_ACT_RELU);
    int cin = 24;
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < repeats[s]; i++) {
            char p[32];
            snprintf(p, sizeof p, "stage%d.%d", s + 2, i);
            x = shuffle_block(b, x, p, cin, w[s], i == 0 ? 2 : 1);
            cin = w[s];
        }
    }
    x = dc_b_conv_bn(b, x, "conv5.0", "conv5.1", w[3], 1, 1, 0, 1, false, DC_ACT_RELU);
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
