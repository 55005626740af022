/*
 * densenet.c — torchvision's DenseNet-BC (torchvision/models/densenet.py): a 7x7 stride-2
 * stem conv + BN + ReLU + 3x3 max pool, four dense blocks separated by transitions
 * (BN-ReLU-1x1 conv halving the width, 2x2 average pool), a final BN, ReLU, global average
 * pool and the classifier. Each dense layer is BN-ReLU-1x1 conv (bn_size * growth
 * channels) then BN-ReLU-3x3 conv (growth channels) on the concatenation of all earlier
 * features of its block, so its BatchNorms have no conv before them to fold into.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

#define DENSENET_BN_SIZE 4

/* The arguments of _densenet() in torchvision's densenet* functions. */
typedef struct {
    const char *name;
    int growth_rate;
    int block_config[4]; /* dense layers per block */
    int num_init_features;
} densenet_config;

static const densenet_config densenet_configs[] = {
    { "densenet121", 32, { 6, 12, 24, 16 }, 64 },
    { "densenet161", 48, { 6, 12, 36, 24 }, 96 },
    { "densenet169", 32, { 6, 12, 32, 32 }, 64 },
    { "densenet201", 32, { 6, 12, 48, 32 }, 64 },
};
#define N_DENSENET_CONFIGS ((int)(sizeof densenet_configs / sizeof densenet_configs[0]))

/* _DenseLayer under prefix p: conv2(relu2(norm2(conv1(relu1(norm1(x)))))), growth
 * channels out. norm2 follows conv1 directly, so it is folded into conv1's weights and
 * relu2 into its epilogue (one pass over the 1x1 conv's output fewer); norm1 acts on the
 * concatenation before a conv and stays a node. */
static int dense_layer(dc_builder *b, int x, const char *p, int growth_rate)
{
    char k[80], k2[80];
    snprintf(k, sizeof k, "%s.norm1", p);
    int y = dc_b_bn(b, x, k, DC_ACT_RELU);
    snprintf(k, sizeof k, "%s.conv1", p);
    snprintf(k2, sizeof k2, "%s.norm2", p);
    y = dc_b_conv_bn(b, y, k, k2, DENSENET_BN_SIZE * growth_rate, 1, 1, 0, 1, false,
                     DC_ACT_RELU);
    snprintf(k, sizeof k, "%s.conv2", p);
    return dc_b_conv(b, y, k, growth_rate, 3, 1, 1, 1, false, DC_ACT_NONE);
}

/* _DenseBlock number `block`: torch.cat([x, f1, f2, ...], 1), built as one concat per
 * layer of the running concatenation and the new features (the same channel order). */
static int dense_block(dc_builder *b, int x, int block, int n_layers, int growth_rate)
{
    for (int i = 0; i < n_layers; i++) {
        char p[64];
        snprintf(p, sizeof p, "features.denseblock%d.denselayer%d", block, i + 1);
        int parts[2] = { x, dense_layer(b, x, p, growth_rate) };
        x = dc_b_concat(b, parts, 2);
    }
    return x;
}

/* _Transition number `block`: pool(conv(relu(norm(x)))), cout channels, 2x2 avg pool. */
static int transition(dc_builder *b, int x, int block, int cout)
{
    char k[64];
    snprintf(k, sizeof k, "features.transition%d.norm", block);
    x = dc_b_bn(b, x, k, DC_ACT_RELU);
    snprintf(k, sizeof k, "features.transition%d.conv", block);
    x = dc_b_conv(b, x, k, cout, 1, 1, 0, 1, false, DC_ACT_NONE);
    return dc_b_avgpool(b, x, 2, 2, 0, false, true);
}

dc_status dc_zoo_build_densenet(dc_builder *b, const char *arch, int num_classes)
{
    const densenet_config *cfg = NULL;
    for (int i = 0; i < N_DENSENET_CONFIGS; i++)
        if (strcmp(arch, densenet_configs[i].name) == 0)
            cfg = &densenet_configs[i];
    if (!cfg)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown DenseNet '%s'", arch);
    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv_bn(b, x, "features.conv0", "features.norm0", cfg->num_init_features, 7, 2,
                     3, 1, false, DC_ACT_RELU);
    x = dc_b_maxpool(b, x, 3, 2, 1, false);
    int features = cfg->num_init_features;
    for (int block = 1; block <= 4; block++) {
        int n_layers = cfg->block_config[block - 1];
        x = dense_block(b, x, block, n_layers, cfg->growth_rate);
        features += n_layers * cfg->growth_rate;
        if (block < 4) {
            features /= 2;
            x = transition(b, x, block, features);
        }
    }
    /* features.norm5, then forward()'s F.relu */
    x = dc_b_bn(b, x, "features.norm5", DC_ACT_RELU);
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "classifier", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
