/*
 * inception_v3.c — torchvision 0.14's Inception3 (Szegedy et al., 2016) for 3x299x299
 * ImageNet input, as run at inference (eval mode).
 *
 * Every conv is a BasicConv2d: conv (no bias) + BatchNorm (eps 1e-3) + ReLU, some with
 * 1x7, 7x1, 1x3 or 3x1 kernels. Stem: five convs and two 3x3 stride-2 max pools
 * (299 -> 35), then blocks A (Mixed_5b-d), B (6a, 35 -> 17), C (6b-e), D (7a, 17 -> 8) and
 * E (7b, 7c), global average pooling and fc. The pooling branches of A, C and E are
 * F.avg_pool2d(3, 1, 1), which counts the zero padding in the divisor. The auxiliary
 * classifier AuxLogits only runs in training, so it is not built (and its tensors are not
 * in our weight files). When the weight file says transform_input = 1 (torchvision sets it
 * for the official weights) the input is first re-normalised (dc_b_transform_input).
 *
 * state_dict keys: <block>.<branch>.{conv,bn} (Conv2d_1a_3x3.conv, Mixed_5b.branch1x1.bn,
 * ...), fc.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

/* BasicConv2d <block>.<branch> (block may be empty): kh x kw conv + BN + ReLU. */
static int bconv(dc_builder *b, int x, const char *block, const char *branch, int cout,
                 int kh, int kw, int stride, int pad_h, int pad_w)
{
    char conv[80], bn[80];
    const char *dot = *block ? "." : "";
    snprintf(conv, sizeof conv, "%s%s%s.conv", block, dot, branch);
    snprintf(bn, sizeof bn, "%s%s%s.bn", block, dot, branch);
    return dc_b_conv_bn_rect(b, x, conv, bn, cout, kh, kw, stride, pad_h, pad_w,
                             DC_ACT_RELU);
}

/* a square BasicConv2d */
static int sconv(dc_builder *b, int x, const char *block, const char *branch, int cout,
                 int k, int stride, int pad)
{
    return bconv(b, x, block, branch, cout, k, k, stride, pad, pad);
}

static int avgpool_3x3(dc_builder *b, int x)
{
    return dc_b_avgpool(b, x, 3, 1, 1, false, true);
}

static int inception_a(dc_builder *b, int x, const char *p, int pool_features)
{
    int br[4];
    br[0] = sconv(b, x, p, "branch1x1", 64, 1, 1, 0);
    br[1] = sconv(b, x, p, "branch5x5_1", 48, 1, 1, 0);
    br[1] = sconv(b, br[1], p, "branch5x5_2", 64, 5, 1, 2);
    br[2] = sconv(b, x, p, "branch3x3dbl_1", 64, 1, 1, 0);
    br[2] = sconv(b, br[2], p, "branch3x3dbl_2", 96, 3, 1, 1);
    br[2] = sconv(b, br[2], p, "branch3x3dbl_3", 96, 3, 1, 1);
    br[3] = sconv(b, avgpool_3x3(b, x), p, "branch_pool", pool_features, 1, 1, 0);
    return dc_b_concat(b, br, 4);
}

static int inception_b(dc_builder *b, int x, const char *p)
{
    int br[3];
    br[0] = sconv(b, x, p, "branch3x3", 384, 3, 2, 0);
    br[1] = sconv(b, x, p, "branch3x3dbl_1", 64, 1, 1, 0);
    br[1] = sconv(b, br[1], p, "branch3x3dbl_2", 96, 3, 1, 1);
    br[1] = sconv(b, br[1], p, "branch3x3dbl_3", 96, 3, 2, 0);
    br[2] = dc_b_maxpool(b, x, 3, 2, 0, false);
    return dc_b_concat(b, br, 3);
}

static int inception_c(dc_builder *b, int x, const char *p, int c7)
{
    int br[4];
    br[0] = sconv(b, x, p, "branch1x1", 192, 1, 1, 0);
    br[1] = sconv(b, x, p, "branch7x7_1", c7, 1, 1, 0);
    br[1] = bconv(b, br[1], p, "branch7x7_2", c7, 1, 7, 1, 0, 3);
    br[1] = bconv(b, br[1], p, "branch7x7_3", 192, 7, 1, 1, 3, 0);
    br[2] = sconv(b, x, p, "branch7x7dbl_1", c7, 1, 1, 0);
    br[2] = bconv(b, br[2], p, "branch7x7dbl_2", c7, 7, 1, 1, 3, 0);
    br[2] = bconv(b, br[2], p, "branch7x7dbl_3", c7, 1, 7, 1, 0, 3);
    br[2] = bconv(b, br[2], p, "branch7x7dbl_4", c7, 7, 1, 1, 3, 0);
    br[2] = bconv(b, br[2], p, "branch7x7dbl_5", 192, 1, 7, 1, 0, 3);
    br[3] = sconv(b, avgpool_3x3(b, x), p, "branch_pool", 192, 1, 1, 0);
    return dc_b_concat(b, br, 4);
}

static int inception_d(dc_builder *b, int x, const char *p)
{
    int br[3];
    br[0] = sconv(b, x, p, "branch3x3_1", 192, 1, 1, 0);
    br[0] = sconv(b, br[0], p, "branch3x3_2", 320, 3, 2, 0);
    br[1] = sconv(b, x, p, "branch7x7x3_1", 192, 1, 1, 0);
    br[1] = bconv(b, br[1], p, "branch7x7x3_2", 192, 1, 7, 1, 0, 3);
    br[1] = bconv(b, br[1], p, "branch7x7x3_3", 192, 7, 1, 1, 3, 0);
    br[1] = sconv(b, br[1], p, "branch7x7x3_4", 192, 3, 2, 0);
    br[2] = dc_b_maxpool(b, x, 3, 2, 0, false);
    return dc_b_concat(b, br, 3);
}

/* torchvision concatenates the 1x3 / 3x1 pairs first and then the four branches; one
 * concat of the six maps in the same order gives the same channels. */
static int inception_e(dc_builder *b, int x, const char *p)
{
    int br[6];
    br[0] = sconv(b, x, p, "branch1x1", 320, 1, 1, 0);
    int t = sconv(b, x, p, "branch3x3_1", 384, 1, 1, 0);
    br[1] = bconv(b, t, p, "branch3x3_2a", 384, 1, 3, 1, 0, 1);
    br[2] = bconv(b, t, p, "branch3x3_2b", 384, 3, 1, 1, 1, 0);
    t = sconv(b, x, p, "branch3x3dbl_1", 448, 1, 1, 0);
    t = sconv(b, t, p, "branch3x3dbl_2", 384, 3, 1, 1);
    br[3] = bconv(b, t, p, "branch3x3dbl_3a", 384, 1, 3, 1, 0, 1);
    br[4] = bconv(b, t, p, "branch3x3dbl_3b", 384, 3, 1, 1, 1, 0);
    br[5] = sconv(b, avgpool_3x3(b, x), p, "branch_pool", 192, 1, 1, 0);
    return dc_b_concat(b, br, 6);
}

dc_status dc_zoo_build_inception_v3(dc_builder *b, const char *arch, int num_classes)
{
    if (strcmp(arch, "inception_v3") != 0)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown Inception v3 '%s'", arch);
    b->bn_eps = 1e-3; /* BasicConv2d: nn.BatchNorm2d(out_channels, eps=0.001) */

    int x = dc_b_input(b, 3, 299, 299);
    x = dc_b_transform_input(b, x);
    x = sconv(b, x, "", "Conv2d_1a_3x3", 32, 3, 2, 0);
    x = sconv(b, x, "", "Conv2d_2a_3x3", 32, 3, 1, 0);
    x = sconv(b, x, "", "Conv2d_2b_3x3", 64, 3, 1, 1);
    x = dc_b_maxpool(b, x, 3, 2, 0, false);
    x = sconv(b, x, "", "Conv2d_3b_1x1", 80, 1, 1, 0);
    x = sconv(b, x, "", "Conv2d_4a_3x3", 192, 3, 1, 0);
    x = dc_b_maxpool(b, x, 3, 2, 0, false);
    x = inception_a(b, x, "Mixed_5b", 32);
    x = inception_a(b, x, "Mixed_5c", 64);
    x = inception_a(b, x, "Mixed_5d", 64);
    x = inception_b(b, x, "Mixed_6a");
    x = inception_c(b, x, "Mixed_6b", 128);
    x = inception_c(b, x, "Mixed_6c", 160);
    x = inception_c(b, x, "Mixed_6d", 160);
    x = inception_c(b, x, "Mixed_6e", 192);
    x = inception_d(b, x, "Mixed_7a");
    x = inception_e(b, x, "Mixed_7b");
    x = inception_e(b, x, "Mixed_7c");
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE); /* dropout is the identity here */
    return dc_builder_status(b);
}
