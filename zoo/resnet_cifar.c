/*
 * resnet_cifar.c — chenyaofo's CifarResNet (resnet20/32/44/56): depth 6n+2, three stages
 * of n BasicBlocks with 16, 32, 64 channels; projection shortcut (1x1 conv + BN) where
 * the shape changes (torchvision's "option B"), global average pool, fc.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

/* BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
static int basic_block(dc_builder *b, int x, const char *p, int cin, int cout, int stride)
{
    char c1[64], b1[64], c2[64], b2[64];
    snprintf(c1, sizeof c1, "%s.conv1", p);
    snprintf(b1, sizeof b1, "%s.bn1", p);
    snprintf(c2, sizeof c2, "%s.conv2", p);
    snprintf(b2, sizeof b2, "%s.bn2", p);
    int y = dc_b_conv_bn(b, x, c1, b1, cout, 3, stride, 1, 1, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, c2, b2, cout, 3, 1, 1, 1, false, DC_ACT_NONE);
    int shortcut = x;
    if (stride != 1 || cin != cout) {
        char d0[64], d1[64];
        snprintf(d0, sizeof d0, "%s.downsample.0", p);
        snprintf(d1, sizeof d1, "%s.downsample.1", p);
        shortcut = dc_b_conv_bn(b, x, d0, d1, cout, 1, stride, 0, 1, false, DC_ACT_NONE);
    }
    return dc_b_module(b, dc_b_add(b, y, shortcut, DC_ACT_RELU), p); /* the block's output */
}

dc_status dc_zoo_build_resnet_cifar(dc_builder *b, const char *arch, int num_classes)
{
    int depth = 0;
    if (sscanf(arch, "resnet%d", &depth) != 1 || (depth - 2) % 6 != 0 || depth < 8)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown CIFAR ResNet '%s'", arch);
    int n = (depth - 2) / 6;
    int x = dc_b_input(b, 3, 32, 32);
    x = dc_b_conv_bn(b, x, "conv1", "bn1", 16, 3, 1, 1, 1, false, DC_ACT_RELU);
    int cin = 16;
    static const int widths[3] = { 16, 32, 64 };
    for (int stage = 0; stage < 3; stage++) {
        for (int i = 0; i < n; i++) {
            char p[32];
            snprintf(p, sizeof p, "layer%d.%d", stage + 1, i);
            int stride = (stage > 0 && i == 0) ? 2 : 1;
            x = basic_block(b, x, p, cin, widths[stage], stride);
            cin = widths[stage];
        }
    }
    x = dc_b_module(b, dc_b_adaptive_avgpool(b, x, 1, 1), "avgpool");
    dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
