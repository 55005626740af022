/*
 * googlenet.c — torchvision 0.14's GoogLeNet (Inception v1, Szegedy et al., 2015) for
 * 3x224x224 ImageNet input, as run at inference (eval mode).
 *
 * Every conv is a BasicConv2d: conv (no bias) + BatchNorm (eps 1e-3) + ReLU. An Inception
 * block concatenates four branches: 1x1; 1x1 then 3x3; 1x1 then 3x3 (torchvision's
 * "5x5" branch really is 3x3); 3x3 stride-1 max pool (ceil mode) then 1x1. The auxiliary
 * classifiers aux1 and aux2 only run in training, so they are not built (and their
 * tensors are not in our weight files). When the weight file says transform_input = 1
 * (torchvision sets it for the official weights) the input is first re-normalised
 * (dc_b_transform_input).
 *
 * state_dict keys: conv{1,2,3}.{conv,bn}; inception<id>.branch1, .branch2.{0,1},
 * .branch3.{0,1}, .branch4.1, each .{conv,bn}; fc.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

/* BasicConv2d `p`: p.conv + p.bn + ReLU. */
static int basic_conv(dc_builder *b, int x, const char *p, int cout, int k, int stride,
                      int pad)
{
    char conv[80], bn[80];
    snprintf(conv, sizeof conv, "%s.conv", p);
    snprintf(bn, sizeof bn, "%s.bn", p);
    return dc_b_conv_bn(b, x, conv, bn, cout, k, stride, pad, 1, false, DC_ACT_RELU);
}

/* torchvision's Inception(in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj). */
static int inception(dc_builder *b, int x, const char *name, int ch1x1, int ch3x3red,
                     int ch3x3, int ch5x5red, int ch5x5, int pool_proj)
{
    char p[64];
    int br[4];
    snprintf(p, sizeof p, "%s.branch1", name);
    br[0] = basic_conv(b, x, p, ch1x1, 1, 1, 0);
    snprintf(p, sizeof p, "%s.branch2.0", name);
    br[1] = basic_conv(b, x, p, ch3x3red, 1, 1, 0);
    snprintf(p, sizeof p, "%s.branch2.1", name);
    br[1] = basic_conv(b, br[1], p, ch3x3, 3, 1, 1);
    snprintf(p, sizeof p, "%s.branch3.0", name);
    br[2] = basic_conv(b, x, p, ch5x5red, 1, 1, 0);
    snprintf(p, sizeof p, "%s.branch3.1", name);
    br[2] = basic_conv(b, br[2], p, ch5x5, 3, 1, 1);
    br[3] = dc_b_maxpool(b, x, 3, 1, 1, true);
    snprintf(p, sizeof p, "%s.branch4.1", name);
    br[3] = basic_conv(b, br[3], p, pool_proj, 1, 1, 0);
    return dc_b_concat(b, br, 4);
}

dc_status dc_zoo_build_googlenet(dc_builder *b, const char *arch, int num_classes)
{
    if (strcmp(arch, "googlenet") != 0)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown GoogLeNet '%s'", arch);
    b->bn_eps = 1e-3; /* BasicConv2d: nn.BatchNorm2d(out_channels, eps=0.001) */

    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_transform_input(b, x);
    x = basic_conv(b, x, "conv1", 64, 7, 2, 3);
    x = dc_b_maxpool(b, x, 3, 2, 0, true);
    x = basic_conv(b, x, "conv2", 64, 1, 1, 0);
    x = basic_conv(b, x, "conv3", 192, 3, 1, 1);
    x = dc_b_maxpool(b, x, 3, 2, 0, true);
    x = inception(b, x, "inception3a", 64, 96, 128, 16, 32, 32);
    x = inception(b, x, "inception3b", 128, 128, 192, 32, 96, 64);
    x = dc_b_maxpool(b, x, 3, 2, 0, true);
    x = inception(b, x, "inception4a", 192, 96, 208, 16, 48, 64);
    x = inception(b, x, "inception4b", 160, 112, 224, 24, 64, 64);
    x = inception(b, x, "inception4c", 128, 128, 256, 24, 64, 64);
    x = inception(b, x, "inception4d", 112, 144, 288, 32, 64, 64);
    x = inception(b, x, "inception4e", 256, 160, 320, 32, 128, 128);
    x = dc_b_maxpool(b, x, 2, 2, 0, true);
    x = inception(b, x, "inception5a", 256, 160, 320, 32, 128, 128);
    x = inception(b, x, "inception5b", 384, 192, 384, 48, 128, 128);
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE); /* dropout is the identity here */
    return dc_builder_status(b);
}
