/*
 * mobilenetv3.c — torchvision 0.14's MobileNetV3 (mobilenet_v3_small, mobilenet_v3_large;
 * width 1.0, no reduced tail, no dilation) for 3x224x224 ImageNet input.
 *
 * Stem: 3x3 stride-2 conv + BN + Hardswish. Each inverted residual block of the config
 * table (Tables 1 and 2 of Howard et al., 2019): expand 1x1 + BN + act (omitted when the
 * expanded width equals the input width), depthwise kxk + BN + act, squeeze-and-excitation
 * (ReLU, then a Hardsigmoid gate) where the table says so, project 1x1 + BN; a residual
 * add when the stride is 1 and the width does not change. act is ReLU or Hardswish per
 * row. Then a 1x1 conv to 6x the last width + BN + Hardswish, global average pooling and
 * the classifier Linear - Hardswish - Dropout - Linear. Every BatchNorm has eps 1e-3.
 *
 * state_dict keys: features.0.{0,1}; features.i.block.j.{0,1} for the convs of block i,
 * features.i.block.j.fc{1,2} for its SE; features.<last>.{0,1}; classifier.{0,3}.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

/* One row of the config table: input, kernel, expanded and output widths, SE, Hardswish
 * (else ReLU), stride. */
typedef struct {
    int cin, k, exp, cout;
    bool se, hs;
    int stride;
} bneck;

static const bneck large[] = {
    { 16, 3, 16, 16, false, false, 1 },    { 16, 3, 64, 24, false, false, 2 },
    { 24, 3, 72, 24, false, false, 1 },    { 24, 5, 72, 40, true, false, 2 },
    { 40, 5, 120, 40, true, false, 1 },    { 40, 5, 120, 40, true, false, 1 },
    { 40, 3, 240, 80, false, true, 2 },    { 80, 3, 200, 80, false, true, 1 },
    { 80, 3, 184, 80, false, true, 1 },    { 80, 3, 184, 80, false, true, 1 },
    { 80, 3, 480, 112, true, true, 1 },    { 112, 3, 672, 112, true, true, 1 },
    { 112, 5, 672, 160, true, true, 2 },   { 160, 5, 960, 160, true, true, 1 },
    { 160, 5, 960, 160, true, true, 1 },
};

static const bneck small[] = {
    { 16, 3, 16, 16, true, false, 2 },     { 16, 3, 72, 24, false, false, 2 },
    { 24, 3, 88, 24, false, false, 1 },    { 24, 5, 96, 40, true, true, 2 },
    { 40, 5, 240, 40, true, true, 1 },     { 40, 5, 240, 40, true, true, 1 },
    { 40, 5, 120, 48, true, true, 1 },     { 48, 5, 144, 48, true, true, 1 },
    { 48, 5, 288, 96, true, true, 2 },     { 96, 5, 576, 96, true, true, 1 },
    { 96, 5, 576, 96, true, true, 1 },
};

/* Conv2dNormActivation features.<idx>.block.<j>: conv .0, BatchNorm .1. */
static int block_conv(dc_builder *b, int x, int idx, int j, int cout, int k, int stride,
                      int groups, dc_act act)
{
    char conv[64], bn[64];
    snprintf(conv, sizeof conv, "features.%d.block.%d.0", idx, j);
    snprintf(bn, sizeof bn, "features.%d.block.%d.1", idx, j);
    return dc_b_conv_bn(b, x, conv, bn, cout, k, stride, k / 2, groups, false, act);
}

static int inverted_residual(dc_builder *b, int x, int idx, const bneck *c)
{
    dc_act act = c->hs ? DC_ACT_HARDSWISH : DC_ACT_RELU;
    int cin = dc_zoo_round_channels(c->cin), exp = dc_zoo_round_channels(c->exp);
    int cout = dc_zoo_round_channels(c->cout);
    int j = 0, y = x;
    if (exp != cin)
        y = block_conv(b, y, idx, j++, exp, 1, 1, 1, act);
    y = block_conv(b, y, idx, j++, exp, c->k, c->stride, exp, act);
    if (c->se) {
        char fc1[64], fc2[64];
        snprintf(fc1, sizeof fc1, "features.%d.block.%d.fc1", idx, j);
        snprintf(fc2, sizeof fc2, "features.%d.block.%d.fc2", idx, j);
        y = dc_b_se(b, y, fc1, fc2, dc_zoo_round_channels(exp / 4), DC_ACT_RELU,
                    DC_ACT_HARDSIGMOID);
        j++;
    }
    y = block_conv(b, y, idx, j, cout, 1, 1, 1, DC_ACT_NONE);
    if (c->stride == 1 && cin == cout) {
        char block[32]; /* InvertedResidual features.<idx>: its output is x + block(x) */
        snprintf(block, sizeof block, "features.%d", idx);
        y = dc_b_module(b, dc_b_add(b, x, y, DC_ACT_NONE), block);
    }
    return y;
}

dc_status dc_zoo_build_mobilenetv3(dc_builder *b, const char *arch, int num_classes)
{
    const bneck *rows;
    int n, last_channel;
    if (strcmp(arch, "mobilenet_v3_large") == 0) {
        rows = large;
        n = (int)(sizeof large / sizeof large[0]);
        last_channel = dc_zoo_round_channels(1280);
    } else if (strcmp(arch, "mobilenet_v3_small") == 0) {
        rows = small;
        n = (int)(sizeof small / sizeof small[0]);
        last_channel = dc_zoo_round_channels(1024);
    } else {
        return dc_builder_fail(b, DC_ERR_ARG, "unknown MobileNetV3 '%s'", arch);
    }
    b->bn_eps = 1e-3; /* norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01) */

    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv_bn(b, x, "features.0.0", "features.0.1", dc_zoo_round_channels(rows[0].cin), 3,
                     2, 1, 1, false, DC_ACT_HARDSWISH);
    for (int i = 0; i < n; i++)
        x = inverted_residual(b, x, i + 1, &rows[i]);
    int last_conv = 6 * dc_zoo_round_channels(rows[n - 1].cout);
    char conv[32], bn[32];
    snprintf(conv, sizeof conv, "features.%d.0", n + 1);
    snprintf(bn, sizeof bn, "features.%d.1", n + 1);
    x = dc_b_conv_bn(b, x, conv, bn, last_conv, 1, 1, 0, 1, false, DC_ACT_HARDSWISH);
    x = dc_b_module(b, dc_b_adaptive_avgpool(b, x, 1, 1), "avgpool");
    x = dc_b_linear(b, x, "classifier.0", last_channel, DC_ACT_HARDSWISH);
    dc_b_linear(b, x, "classifier.3", num_classes, DC_ACT_NONE); /* .2 is Dropout */
    return dc_builder_status(b);
}
