/*
 * mobilenetv2_cifar.c — chenyaofo's CIFAR MobileNetV2 (x0_5, x0_75, x1_0, x1_4): the
 * torchvision network with stride 1 in the stem and in the second setting row, so a
 * 32x32 input ends at 4x4. Inverted residual blocks: expand 1x1 + BN + ReLU6 (omitted
 * when t = 1), depthwise 3x3 + BN + ReLU6, project 1x1 + BN; a residual add when the
 * stride is 1 and the width does not change.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

static int inverted_residual(dc_builder *b, int x, int idx, int cin, int cout, int stride,
                             int t)
{
    char k1[48], k2[48], k3[48], k4[48], k5[48], k6[48];
    int hidden = cin * t;
    int y = x;
    if (t != 1) {
        snprintf(k1, sizeof k1, "features.%d.conv.0.0", idx);
        snprintf(k2, sizeof k2, "features.%d.conv.0.1", idx);
        snprintf(k3, sizeof k3, "features.%d.conv.1.0", idx);
        snprintf(k4, sizeof k4, "features.%d.conv.1.1", idx);
        snprintf(k5, sizeof k5, "features.%d.conv.2", idx);
        snprintf(k6, sizeof k6, "features.%d.conv.3", idx);
        y = dc_b_conv_bn(b, y, k1, k2, hidden, 1, 1, 0, 1, false, DC_ACT_RELU6);
    } else { /* no expand step: the indices shift down by one */
        snprintf(k3, sizeof k3, "features.%d.conv.0.0", idx);
        snprintf(k4, sizeof k4, "features.%d.conv.0.1", idx);
        snprintf(k5, sizeof k5, "features.%d.conv.1", idx);
        snprintf(k6, sizeof k6, "features.%d.conv.2", idx);
    }
    y = dc_b_conv_bn(b, y, k3, k4, hidden, 3, stride, 1, hidden, false, DC_ACT_RELU6);
    y = dc_b_conv_bn(b, y, k5, k6, cout, 1, 1, 0, 1, false, DC_ACT_NONE);
    if (stride == 1 && cin == cout)
        y = dc_b_add(b, x, y, DC_ACT_NONE);
    return y;
}

dc_status dc_zoo_build_mobilenetv2_cifar(dc_builder *b, const char *arch, int num_classes)
{
    double width = strcmp(arch, "mobilenetv2_x0_5") == 0    ? 0.5
                   : strcmp(arch, "mobilenetv2_x0_75") == 0 ? 0.75
                   : strcmp(arch, "mobilenetv2_x1_0") == 0  ? 1.0
                   : strcmp(arch, "mobilenetv2_x1_4") == 0  ? 1.4 : 0.0;
    if (width == 0.0)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown CIFAR MobileNetV2 '%s'", arch);
    /* (t, c, n, s): expansion, width, repeats, stride of the first repeat */
    static const int settings[7][4] = { { 1, 16, 1, 1 },  { 6, 24, 2, 1 },  { 6, 32, 3, 2 },
                                        { 6, 64, 4, 2 },  { 6, 96, 3, 1 },  { 6, 160, 3, 2 },
                                        { 6, 320, 1, 1 } };
    int cin = dc_zoo_round_channels(32 * width);
    int last = dc_zoo_round_channels(1280 * (width > 1.0 ? width : 1.0));
    int x = dc_b_input(b, 3, 32, 32);
    x = dc_b_conv_bn(b, x, "features.0.0", "features.0.1", cin, 3, 1, 1, 1, false,
                     DC_ACT_RELU6);
    int idx = 1;
    for (int r = 0; r < 7; r++) {
        int cout = dc_zoo_round_channels(settings[r][1] * width);
        for (int i = 0; i < settings[r][2]; i++) {
            x = inverted_residual(b, x, idx++, cin, cout, i == 0 ? settings[r][3] : 1,
                                  settings[r][0]);
            cin = cout;
        }
    }
    char conv[32], bn[32];
    snprintf(conv, sizeof conv, "features.%d.0", idx);
    snprintf(bn, sizeof bn, "features.%d.1", idx);
    x = dc_b_conv_bn(b, x, conv, bn, last, 1, 1, 0, 1, false, DC_ACT_RELU6);
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "classifier.1", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
