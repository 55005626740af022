/*
 * shufflenetv2_cifar.c — chenyaofo's CIFAR ShuffleNetV2 (x0_5, x1_0, x1_5, x2_0): the
 * torchvision network with a stride-1 stem and no max pool. A stride-2 block runs two
 * branches on the whole input and concatenates them; a stride-1 block splits the channels
 * in halves and transforms only the second. Every block ends with a channel shuffle of 2
 * groups.
 */
#include "zoo/zoo.h"

dc_status dc_zoo_build_shufflenetv2_cifar(dc_builder *b, const char *arch, int num_classes)
{
    const int *w = dc_zoo_shufflenetv2_widths(arch);
    if (!w)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown CIFAR ShuffleNetV2 '%s'", arch);
    int x = dc_b_input(b, 3, 32, 32);
    x = dc_b_conv_bn(b, x, "conv1.0", "conv1.1", 24, 3, 1, 1, 1, false, DC_ACT_RELU);
    dc_zoo_shufflenetv2_body(b, x, w, num_classes);
    return dc_builder_status(b);
}
