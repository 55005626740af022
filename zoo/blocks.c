/*
 * blocks.c — pieces more than one family file builds with: torchvision's channel rounding
 * and the ShuffleNetV2 network body (chenyaofo's CIFAR version and torchvision's ImageNet
 * one differ only in the stem).
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

int dc_zoo_round_channels(double v)
{
    int r = (int)(v + 4.0) / 8 * 8;
    if (r < 8)
        r = 8;
    return r >= 0.9 * v ? r : r + 8;
}

/* ---- ShuffleNetV2 ---------------------------------------------------------------------- */

/* "<p>.<leaf>" into buf */
static const char *key(char *buf, size_t n, const char *p, const char *leaf)
{
    snprintf(buf, n, "%s.%s", p, leaf);
    return buf;
}

/* branch2: 1x1 + BN + ReLU, depthwise 3x3 (stride) + BN, 1x1 + BN + ReLU
 * (keys .0/.1, .3/.4, .5/.6). */
static int branch2(dc_builder *b, int x, const char *p, int bf, int stride)
{
    char c[64], n[64];
    int y = dc_b_conv_bn(b, x, key(c, sizeof c, p, "branch2.0"), key(n, sizeof n, p, "branch2.1"),
                         bf, 1, 1, 0, 1, false, DC_ACT_RELU);
    y = dc_b_conv_bn(b, y, key(c, sizeof c, p, "branch2.3"), key(n, sizeof n, p, "branch2.4"), bf,
                     3, stride, 1, bf, false, DC_ACT_NONE);
    return dc_b_conv_bn(b, y, key(c, sizeof c, p, "branch2.5"), key(n, sizeof n, p, "branch2.6"),
                        bf, 1, 1, 0, 1, false, DC_ACT_RELU);
}

/* branch1 (stride-2 blocks only): depthwise 3x3/2 + BN, 1x1 + BN + ReLU (.0/.1, .2/.3). */
static int branch1(dc_builder *b, int x, const char *p, int cin, int bf)
{
    char c[64], n[64];
    int y = dc_b_conv_bn(b, x, key(c, sizeof c, p, "branch1.0"), key(n, sizeof n, p, "branch1.1"),
                         cin, 3, 2, 1, cin, false, DC_ACT_NONE);
    return dc_b_conv_bn(b, y, key(c, sizeof c, p, "branch1.2"), key(n, sizeof n, p, "branch1.3"),
                        bf, 1, 1, 0, 1, false, DC_ACT_RELU);
}

/* InvertedResidual(cin, cout, stride): a stride-2 block runs branch1 and branch2 on the
 * whole input and concatenates them; a stride-1 block splits the channels in halves
 * (x.chunk(2)) and transforms only the second. Then channel_shuffle(out, 2). */
static int inverted_residual(dc_builder *b, int x, const char *p, int cin, int cout, int stride)
{
    int bf = cout / 2;
    int parts[2];
    if (stride == 2) {
        parts[0] = branch1(b, x, p, cin, bf);
        parts[1] = branch2(b, x, p, bf, 2);
    } else {
        parts[0] = x; /* its first bf channels: x.chunk(2)[0], read in place */
        parts[1] = branch2(b, dc_b_slice(b, x, bf, bf), p, bf, 1);
    }
    return dc_b_concat_shuffle(b, parts, 2, bf); /* channel_shuffle(torch.cat(parts, 1), 2) */
}

const int *dc_zoo_shufflenetv2_widths(const char *arch)
{
    /* stages_out_channels[1..4]: stage2, stage3, stage4, conv5 (the stem is always 24) */
    static const int w05[4] = { 48, 96, 192, 1024 }, w10[4] = { 116, 232, 464, 1024 },
                     w15[4] = { 176, 352, 704, 1024 }, w20[4] = { 244, 488, 976, 2048 };
    const char *m = strrchr(arch, '_') ? strrchr(arch, '_') - 2 : arch; /* "x0_5" */
    if (m < arch)
        return NULL;
    return strcmp(m, "x0_5") == 0   ? w05
           : strcmp(m, "x1_0") == 0 ? w10
           : strcmp(m, "x1_5") == 0 ? w15
           : strcmp(m, "x2_0") == 0 ? w20 : NULL;
}

int dc_zoo_shufflenetv2_body(dc_builder *b, int x, const int widths[4], int num_classes)
{
    static const int repeats[3] = { 4, 8, 4 };
    int cin = 24;
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < repeats[s]; i++) {
            char p[32];
            snprintf(p, sizeof p, "stage%d.%d", s + 2, i);
            x = inverted_residual(b, x, p, cin, widths[s], i == 0 ? 2 : 1);
            cin = widths[s];
        }
    }
    x = dc_b_conv_bn(b, x, "conv5.0", "conv5.1", widths[3], 1, 1, 0, 1, false, DC_ACT_RELU);
    x = dc_b_adaptive_avgpool(b, x, 1, 1); /* x.mean([2, 3]) */
    return dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE);
}
