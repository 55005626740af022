/*
 * resnet_imagenet.c — torchvision 0.14's ResNet (resnet18/34/50/101) and ResNeXt
 * (resnext50_32x4d): conv1 7x7/2 + bn1 + ReLU, max pool 3/2, four stages layer1..layer4 of
 * 64, 128, 256, 512 planes (stride 2 from layer2 on), global average pool, fc.
 * BasicBlock for 18/34; Bottleneck (torchvision's "V1.5": stride on the 3x3 conv2) for the
 * others. A block's shortcut is downsample.0 (1x1 conv) + downsample.1 (BN) where the shape
 * changes.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    bool bottleneck;
    int blocks[4];       /* blocks in layer1..layer4 */
    int groups;          /* of the Bottleneck's 3x3 conv */
    int width_per_group; /* base_width in torchvision */
} resnet_spec;

static const resnet_spec specs[] = {
    { "resnet18", false, { 2, 2, 2, 2 }, 1, 64 },
    { "resnet34", false, { 3, 4, 6, 3 }, 1, 64 },
    { "resnet50", true, { 3, 4, 6, 3 }, 1, 64 },
    { "resnet101", true, { 3, 4, 23, 3 }, 1, 64 },
    { "resnext50_32x4d", true, { 3, 4, 6, 3 }, 32, 4 },
};

/* "<p>.<leaf>" into buf */
static const char *key(char *buf, size_t n, const char *p, const char *leaf)
{
    snprintf(buf, n, "%s.%s", p, leaf);
    return buf;
}

/* The shortcut: x itself, or downsample.0 (1x1 conv, stride) + downsample.1 (BN). */
static int shortcut(dc_builder *b, int x, const char *p, int cin, int cout, int stride)
{
    if (stride == 1 && cin == cout)
        return x;
    char c[64], n[64];
    return dc_b_conv_bn(b, x, key(c, sizeof c, p, "downsample.0"),
                        key(n, sizeof n, p, "downsample.1"), cout, 1, stride, 0, 1, false,
                        DC_ACT_NONE);
}

/* BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 3x3 convs. */
static int basic_block(dc_builder *b, int x, const char *p, int cin, int planes, int stride)
{
    char c[64], n[64];
    int y = dc_b_conv_bn(b, x, key(c, sizeof c, p, "conv1"), key(n, sizeof n, p, "bn1"), planes,
                         3, stride, 1, 1, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, key(c, sizeof c, p, "conv2"), key(n, sizeof n, p, "bn2"), planes, 3,
                     1, 1, 1, false, DC_ACT_NONE);
    return dc_b_module(b, dc_b_add(b, y, shortcut(b, x, p, cin, planes, stride), DC_ACT_RELU), p);
}

/* Bottleneck: 1x1 to width, grouped 3x3 (stride), 1x1 to planes * 4, add, ReLU, with
 * width = planes * width_per_group / 64 * groups. */
static int bottleneck(dc_builder *b, int x, const char *p, int cin, int planes, int stride,
                      const resnet_spec *s)
{
    char c[64], n[64];
    int width = planes * s->width_per_group / 64 * s->groups;
    int cout = planes * 4;
    int y = dc_b_conv_bn(b, x, key(c, sizeof c, p, "conv1"), key(n, sizeof n, p, "bn1"), width,
                         1, 1, 0, 1, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, key(c, sizeof c, p, "conv2"), key(n, sizeof n, p, "bn2"), width, 3,
                     stride, 1, s->groups, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, key(c, sizeof c, p, "conv3"), key(n, sizeof n, p, "bn3"), cout, 1,
                     1, 0, 1, false, DC_ACT_NONE);
    return dc_b_module(b, dc_b_add(b, y, shortcut(b, x, p, cin, cout, stride), DC_ACT_RELU), p);
}

dc_status dc_zoo_build_resnet_imagenet(dc_builder *b, const char *arch, int num_classes)
{
    const resnet_spec *s = NULL;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(arch, specs[i].name) == 0)
            s = &specs[i];
    if (!s)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown ImageNet ResNet '%s'", arch);
    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv_bn(b, x, "conv1", "bn1", 64, 7, 2, 3, 1, false, DC_ACT_RELU);
    x = dc_b_module(b, dc_b_maxpool(b, x, 3, 2, 1, false), "maxpool");
    int cin = 64;
    for (int stage = 0; stage < 4; stage++) {
        int planes = 64 << stage;
        for (int i = 0; i < s->blocks[stage]; i++) {
            char p[32];
            snprintf(p, sizeof p, "layer%d.%d", stage + 1, i);
            int stride = (stage > 0 && i == 0) ? 2 : 1;
            if (s->bottleneck) {
                x = bottleneck(b, x, p, cin, planes, stride, s);
                cin = planes * 4;
            } else {
                x = basic_block(b, x, p, cin, planes, stride);
                cin = planes;
            }
        }
    }
    x = dc_b_module(b, dc_b_adaptive_avgpool(b, x, 1, 1), "avgpool");
    dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
