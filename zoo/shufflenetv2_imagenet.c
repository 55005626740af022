/*
 * shufflenetv2_imagenet.c — torchvision 0.14's ShuffleNetV2 (shufflenet_v2_x0_5 .. x2_0):
 * conv1 (3x3/2 + BN + ReLU, keys conv1.0/conv1.1) to 24 channels, MaxPool2d(3, 2, 1),
 * stage2..stage4 of 4, 8, 4 InvertedResidual blocks, conv5 (1x1 + BN + ReLU), mean over
 * H and W, fc. A stride-2 block runs branch1 and branch2 on the whole input and
 * concatenates them; a stride-1 block splits the channels in halves (x.chunk(2)) and
 * transforms only the second. Every block ends with channel_shuffle(out, 2).
 */
#include "zoo/zoo.h"

dc_status dc_zoo_build_shufflenetv2_imagenet(dc_builder *b, const char *arch, int num_classes)
{
    const int *w = dc_zoo_shufflenetv2_widths(arch);
    if (!w)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown ImageNet ShuffleNetV2 '%s'", arch);
    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv_bn(b, x, "conv1.0", "conv1.1", 24, 3, 2, 1, 1, false, DC_ACT_RELU);
    x = dc_b_maxpool(b, x, 3, 2, 1, false);
    dc_zoo_shufflenetv2_body(b, x, w, num_classes);
    return dc_builder_status(b);
}
