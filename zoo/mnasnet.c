/*
 * mnasnet.c — torchvision 0.14's MNASNet B1 (mnasnet0_5, mnasnet0_75, mnasnet1_0,
 * mnasnet1_3: width multiplier alpha 0.5, 0.75, 1.0, 1.3) for 3x224x224 ImageNet input.
 *
 * Stem: 3x3 stride-2 conv + BN + ReLU, depthwise 3x3 + BN + ReLU, 1x1 conv + BN (no act).
 * Six stacks of inverted residuals (expand 1x1 + BN + ReLU, depthwise kxk + BN + ReLU,
 * project 1x1 + BN; a residual add when the stride is 1 and the width does not change),
 * then 1x1 conv to 1280 + BN + ReLU, global average pooling, Dropout and a Linear. The
 * widths are torchvision's _get_depths(alpha); BatchNorm eps is torch's default 1e-5.
 *
 * state_dict keys: layers.{0,1,3,4,6,7} (stem), layers.8 ... layers.13 (stacks: layers.S.R
 * .layers.{0,1,3,4,6,7}), layers.{14,15} (last conv), classifier.1.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

static int inverted_residual(dc_builder *b, int x, const char *p, int cin, int cout, int k,
                             int stride, int expansion)
{
    char conv[3][64], bn[3][64];
    static const int conv_idx[3] = { 0, 3, 6 };
    for (int i = 0; i < 3; i++) {
        snprintf(conv[i], sizeof conv[i], "%s.layers.%d", p, conv_idx[i]);
        snprintf(bn[i], sizeof bn[i], "%s.layers.%d", p, conv_idx[i] + 1);
    }
    int mid = cin * expansion;
    int y = dc_b_conv_bn(b, x, conv[0], bn[0], mid, 1, 1, 0, 1, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, conv[1], bn[1], mid, k, stride, k / 2, mid, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, conv[2], bn[2], cout, 1, 1, 0, 1, false, DC_ACT_NONE);
    if (stride == 1 && cin == cout)
        y = dc_b_add(b, x, y, DC_ACT_NONE);
    return y;
}

dc_status dc_zoo_build_mnasnet(dc_builder *b, const char *arch, int num_classes)
{
    double alpha = strcmp(arch, "mnasnet0_5") == 0    ? 0.5
                   : strcmp(arch, "mnasnet0_75") == 0 ? 0.75
                   : strcmp(arch, "mnasnet1_0") == 0  ? 1.0
                   : strcmp(arch, "mnasnet1_3") == 0  ? 1.3 : 0.0;
    if (alpha == 0.0)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown MNASNet '%s'", arch);
    static const int base[8] = { 32, 16, 24, 40, 80, 96, 192, 320 };
    int d[8];
    for (int i = 0; i < 8; i++)
        d[i] = dc_zoo_round_channels(base[i] * alpha);
    /* stacks: output depth index, kernel, stride of the first repeat, expansion, repeats */
    static const int stacks[6][5] = { { 2, 3, 2, 3, 3 }, { 3, 5, 2, 3, 3 }, { 4, 5, 2, 6, 3 },
                                      { 5, 3, 1, 6, 2 }, { 6, 5, 2, 6, 4 }, { 7, 3, 1, 6, 1 } };

    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv_bn(b, x, "layers.0", "layers.1", d[0], 3, 2, 1, 1, false, DC_ACT_RELU);
    x = dc_b_conv_bn(b, x, "layers.3", "layers.4", d[0], 3, 1, 1, d[0], false, DC_ACT_RELU);
    x = dc_b_conv_bn(b, x, "layers.6", "layers.7", d[1], 1, 1, 0, 1, false, DC_ACT_NONE);
    int cin = d[1];
    for (int s = 0; s < 6; s++) {
        int cout = d[stacks[s][0]];
        for (int r = 0; r < stacks[s][4]; r++) {
            char p[32];
            snprintf(p, sizeof p, "layers.%d.%d", 8 + s, r);
            x = inverted_residual(b, x, p, cin, cout, stacks[s][1], r == 0 ? stacks[s][2] : 1,
                                  stacks[s][3]);
            cin = cout;
        }
    }
    x = dc_b_conv_bn(b, x, "layers.14", "layers.15", 1280, 1, 1, 0, 1, false, DC_ACT_RELU);
    x = dc_b_adaptive_avgpool(b, x, 1, 1); /* x.mean([2, 3]) */
    dc_b_linear(b, x, "classifier.1", num_classes, DC_ACT_NONE); /* .0 is Dropout */
    return dc_builder_status(b);
}
