/*
 * convnext.c — torchvision's ConvNeXt-T and ConvNeXt-S (torchvision/models/convnext.py):
 * a 4x4 stride-4 conv stem with LayerNorm2d, four stages of CNBlocks with a downsampling
 * step (LayerNorm2d, 2x2 stride-2 conv) between stages, then global average pool,
 * LayerNorm2d and the classifier Linear. Every LayerNorm has eps 1e-6.
 *
 * CNBlock: x + layer_scale * Linear(4C -> C)(GELU(Linear(C -> 4C)(LayerNorm(dwconv7x7(x))))).
 * torchvision permutes to channels-last for the LayerNorm and the Linears; on our [C][H][W]
 * maps they act on each pixel's channels (dc_b_layernorm, dc_b_pixel_linear: 1x1 convs),
 * and the layer scale is folded into the second Linear. Stochastic depth is the identity
 * at inference.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

#define CONVNEXT_EPS 1e-6
#define CONVNEXT_STAGES 4

/* CNBlockConfig lists of convnext_tiny and convnext_small: stage widths and depths. */
typedef struct {
    const char *name;
    int widths[CONVNEXT_STAGES];
    int depths[CONVNEXT_STAGES];
} convnext_config;

static const convnext_config convnext_configs[] = {
    { "convnext_tiny", { 96, 192, 384, 768 }, { 3, 3, 9, 3 } },
    { "convnext_small", { 96, 192, 384, 768 }, { 3, 3, 27, 3 } },
};
#define N_CONVNEXT_CONFIGS ((int)(sizeof convnext_configs / sizeof convnext_configs[0]))

/* CNBlock under prefix p (e.g. "features.1.0") on a c-channel map. */
static int cn_block(dc_builder *b, int x, const char *p, int c)
{
    char k[80], ls[80];
    snprintf(k, sizeof k, "%s.block.0", p);
    int y = dc_b_conv(b, x, k, c, 7, 1, 3, c, true, DC_ACT_NONE);
    snprintf(k, sizeof k, "%s.block.2", p);
    y = dc_b_layernorm(b, y, k, CONVNEXT_EPS);
    snprintf(k, sizeof k, "%s.block.3", p);
    y = dc_b_pixel_linear(b, y, k, 4 * c, true, NULL, DC_ACT_GELU);
    snprintf(k, sizeof k, "%s.block.5", p);
    snprintf(ls, sizeof ls, "%s.layer_scale", p);
    y = dc_b_pixel_linear(b, y, k, c, true, ls, DC_ACT_NONE);
    return dc_b_add(b, x, y, DC_ACT_NONE);
}

dc_status dc_zoo_build_convnext(dc_builder *b, const char *arch, int num_classes)
{
    const convnext_config *cfg = NULL;
    for (int i = 0; i < N_CONVNEXT_CONFIGS; i++)
        if (strcmp(arch, convnext_configs[i].name) == 0)
            cfg = &convnext_configs[i];
    if (!cfg)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown ConvNeXt '%s'", arch);
    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv(b, x, "features.0.0", cfg->widths[0], 4, 4, 0, 1, true, DC_ACT_NONE);
    x = dc_b_layernorm(b, x, "features.0.1", CONVNEXT_EPS);
    int f = 1; /* index into torchvision's features Sequential */
    for (int s = 0; s < CONVNEXT_STAGES; s++, f++) {
        for (int i = 0; i < cfg->depths[s]; i++) {
            char p[64];
            snprintf(p, sizeof p, "features.%d.%d", f, i);
            x = cn_block(b, x, p, cfg->widths[s]);
        }
        if (s + 1 < CONVNEXT_STAGES) {
            char k[64];
            f++;
            snprintf(k, sizeof k, "features.%d.0", f);
            x = dc_b_layernorm(b, x, k, CONVNEXT_EPS);
            snprintf(k, sizeof k, "features.%d.1", f);
            x = dc_b_conv(b, x, k, cfg->widths[s + 1], 2, 2, 0, 1, true, DC_ACT_NONE);
        }
    }
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    x = dc_b_layernorm(b, x, "classifier.0", CONVNEXT_EPS);
    dc_b_linear(b, x, "classifier.2", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
