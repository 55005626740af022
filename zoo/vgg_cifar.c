/*
 * vgg_cifar.c — chenyaofo's CIFAR VGG with BatchNorm (vgg11_bn/13_bn/16_bn/19_bn):
 * `features` is a Sequential of (conv 3x3 with bias, BN, ReLU) triples and 2x2 max pools
 * taking 32x32 to 1x1; the classifier is Linear 512-512, ReLU, Dropout, Linear 512-512,
 * ReLU, Dropout, Linear 512-classes (dropout is the identity at inference).
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

#define M (-1) /* a max pool in a configuration list */

static const int cfg_a[] = { 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M, 0 };
static const int cfg_b[] = { 64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M, 0 };
static const int cfg_d[] = { 64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M,
                             512, 512, 512, M, 0 };
static const int cfg_e[] = { 64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512,
                             512, M, 512, 512, 512, 512, M, 0 };

dc_status dc_zoo_build_vgg_cifar(dc_builder *b, const char *arch, int num_classes)
{
    const int *cfg = strcmp(arch, "vgg11_bn") == 0 ? cfg_a
                     : strcmp(arch, "vgg13_bn") == 0 ? cfg_b
                     : strcmp(arch, "vgg16_bn") == 0 ? cfg_d
                     : strcmp(arch, "vgg19_bn") == 0 ? cfg_e : NULL;
    if (!cfg)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown CIFAR VGG '%s'", arch);
    int x = dc_b_input(b, 3, 32, 32);
    int index = 0; /* position in the `features` Sequential: conv, bn, relu or pool */
    for (const int *v = cfg; *v; v++) {
        if (*v == M) {
            x = dc_b_maxpool(b, x, 2, 2, 0, false);
            index += 1;
        } else {
            char conv[32], bn[32];
            snprintf(conv, sizeof conv, "features.%d", index);
            snprintf(bn, sizeof bn, "features.%d", index + 1);
            x = dc_b_conv_bn(b, x, conv, bn, *v, 3, 1, 1, 1, true, DC_ACT_RELU);
            index += 3;
        }
    }
    x = dc_b_linear(b, x, "classifier.0", 512, DC_ACT_RELU);
    x = dc_b_linear(b, x, "classifier.3", 512, DC_ACT_RELU);
    dc_b_linear(b, x, "classifier.6", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
