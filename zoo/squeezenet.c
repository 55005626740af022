/*
 * squeezenet.c — torchvision 0.14's SqueezeNet 1.0 and 1.1: a stem conv + ReLU, eight Fire
 * modules with three MaxPool2d(3, 2, ceil_mode=True) between them (at different places in
 * the two versions), then the classifier: Dropout (identity at inference), classifier.1
 * (1x1 conv to num_classes) + ReLU, global average pool. Every conv has a bias; no BN.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

/* Fire at features.<idx>: squeeze 1x1 + ReLU, then concat(expand1x1 + ReLU, expand3x3 + ReLU). */
static int fire(dc_builder *b, int x, int idx, int squeeze, int expand)
{
    char name[48];
    snprintf(name, sizeof name, "features.%d.squeeze", idx);
    int s = dc_b_conv(b, x, name, squeeze, 1, 1, 0, 1, true, DC_ACT_RELU);
    int parts[2];
    snprintf(name, sizeof name, "features.%d.expand1x1", idx);
    parts[0] = dc_b_conv(b, s, name, expand, 1, 1, 0, 1, true, DC_ACT_RELU);
    snprintf(name, sizeof name, "features.%d.expand3x3", idx);
    parts[1] = dc_b_conv(b, s, name, expand, 3, 1, 1, 1, true, DC_ACT_RELU);
    return dc_b_concat(b, parts, 2);
}

/* One entry of `features` after the stem: a Fire (squeeze, expand planes) or a max pool. */
typedef struct {
    int squeeze; /* 0: MaxPool2d(3, 2, ceil_mode=True) */
    int expand;
} feature;

#define POOL { 0, 0 }
static const feature v1_0[] = { { 16, 64 }, { 16, 64 }, { 32, 128 }, POOL, { 32, 128 },
                                { 48, 192 }, { 48, 192 }, { 64, 256 }, POOL, { 64, 256 } };
static const feature v1_1[] = { { 16, 64 }, { 16, 64 }, POOL, { 32, 128 }, { 32, 128 },
                                POOL, { 48, 192 }, { 48, 192 }, { 64, 256 }, { 64, 256 } };
#undef POOL

dc_status dc_zoo_build_squeezenet(dc_builder *b, const char *arch, int num_classes)
{
    bool v10 = strcmp(arch, "squeezenet1_0") == 0;
    if (!v10 && strcmp(arch, "squeezenet1_1") != 0)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown SqueezeNet '%s'", arch);
    const feature *f = v10 ? v1_0 : v1_1;
    int n = v10 ? (int)(sizeof v1_0 / sizeof v1_0[0]) : (int)(sizeof v1_1 / sizeof v1_1[0]);
    int x = dc_b_input(b, 3, 224, 224);
    /* features.0: 1.0 has a 7x7/2 conv to 96, 1.1 a 3x3/2 conv to 64; no padding */
    x = dc_b_conv(b, x, "features.0", v10 ? 96 : 64, v10 ? 7 : 3, 2, 0, 1, true, DC_ACT_RELU);
    x = dc_b_maxpool(b, x, 3, 2, 0, true);  /* features.2 */
    for (int i = 0; i < n; i++) {
        int idx = 3 + i;  /* position in nn.Sequential `features` */
        x = f[i].squeeze ? fire(b, x, idx, f[i].squeeze, f[i].expand)
                         : dc_b_maxpool(b, x, 3, 2, 0, true);
    }
    x = dc_b_conv(b, x, "classifier.1", num_classes, 1, 1, 0, 1, true, DC_ACT_RELU);
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    return dc_builder_status(b);
}
