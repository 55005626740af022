/*
 * swin.c — torchvision's Swin Transformers V1 (swin_t, swin_s) and V2 (swin_v2_t,
 * swin_v2_s), torchvision/models/swin_transformer.py: a 4x4 stride-4 patch embedding conv
 * with LayerNorm, four stages of Swin blocks with PatchMerging between stages, then
 * LayerNorm, global average pool and the head Linear. Every LayerNorm has eps 1e-5.
 *
 * A block alternates unshifted and shifted windows (shift window/2 on odd blocks; the
 * attention kernel drops the shift where the window covers the whole map):
 *   V1 (SwinTransformerBlock):   x = x + attn(norm1(x));  x = x + mlp(norm2(x))
 *   V2 (SwinTransformerBlockV2): x = x + norm1(attn(x));  x = x + norm2(mlp(x))
 * with mlp = Linear(C -> 4C), GELU, Linear(4C -> C). PatchMerging (V1) is gather, LayerNorm
 * over 4C, Linear 4C -> 2C without bias; PatchMergingV2 applies the Linear before a
 * LayerNorm over 2C. torchvision keeps the maps channels-last; ours stay [C][H][W] and the
 * LayerNorms and Linears act on each pixel's channels (see builder.h). Dropout and
 * stochastic depth are the identity at inference.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

#define SWIN_EPS 1e-5
#define SWIN_STAGES 4
#define SWIN_EMBED 96 /* embed_dim of the T and S models */

typedef struct {
    const char *name;
    bool v2;
    int size;   /* input crop: 224 (V1), 256 (V2) */
    int window; /* 7 (V1), 8 (V2) */
    int depths[SWIN_STAGES];
    int heads[SWIN_STAGES];
} swin_config;

static const swin_config swin_configs[] = {
    { "swin_t", false, 224, 7, { 2, 2, 6, 2 }, { 3, 6, 12, 24 } },
    { "swin_s", false, 224, 7, { 2, 2, 18, 2 }, { 3, 6, 12, 24 } },
    { "swin_v2_t", true, 256, 8, { 2, 2, 6, 2 }, { 3, 6, 12, 24 } },
    { "swin_v2_s", true, 256, 8, { 2, 2, 18, 2 }, { 3, 6, 12, 24 } },
};
#define N_SWIN_CONFIGS ((int)(sizeof swin_configs / sizeof swin_configs[0]))

/* The MLP of a block under prefix p: mlp.0 (C -> 4C, GELU) and mlp.3 (4C -> C). */
static int swin_mlp(dc_builder *b, int x, const char *p, int c)
{
    char k[80];
    snprintf(k, sizeof k, "%s.mlp.0", p);
    x = dc_b_pixel_linear(b, x, k, 4 * c, true, NULL, DC_ACT_GELU);
    snprintf(k, sizeof k, "%s.mlp.3", p);
    return dc_b_pixel_linear(b, x, k, c, true, NULL, DC_ACT_NONE);
}

/* Swin block under prefix p (e.g. "features.1.0") on a c-channel map. */
static int swin_block(dc_builder *b, int x, const char *p, int c, int heads, int window,
                      int shift, bool v2)
{
    char attn[80], n1[80], n2[80];
    snprintf(attn, sizeof attn, "%s.attn", p);
    snprintf(n1, sizeof n1, "%s.norm1", p);
    snprintf(n2, sizeof n2, "%s.norm2", p);
    int y;
    if (!v2) {
        y = dc_b_layernorm(b, x, n1, SWIN_EPS);
        y = dc_b_window_attention(b, y, attn, heads, window, shift, false);
        x = dc_b_add(b, x, y, DC_ACT_NONE);
        y = dc_b_layernorm(b, x, n2, SWIN_EPS);
        y = swin_mlp(b, y, p, c);
    } else {
        y = dc_b_window_attention(b, x, attn, heads, window, shift, true);
        y = dc_b_layernorm(b, y, n1, SWIN_EPS);
        x = dc_b_add(b, x, y, DC_ACT_NONE);
        y = swin_mlp(b, x, p, c);
        y = dc_b_layernorm(b, y, n2, SWIN_EPS);
    }
    return dc_b_add(b, x, y, DC_ACT_NONE);
}

/* PatchMerging (V1) or PatchMergingV2 under prefix p on a c-channel map. */
static int patch_merging(dc_builder *b, int x, const char *p, int c, bool v2)
{
    char norm[80], red[80];
    snprintf(norm, sizeof norm, "%s.norm", p);
    snprintf(red, sizeof red, "%s.reduction", p);
    x = dc_b_patch_merge(b, x);
    if (!v2) {
        x = dc_b_layernorm(b, x, norm, SWIN_EPS);
        return dc_b_pixel_linear(b, x, red, 2 * c, false, NULL, DC_ACT_NONE);
    }
    x = dc_b_pixel_linear(b, x, red, 2 * c, false, NULL, DC_ACT_NONE);
    return dc_b_layernorm(b, x, norm, SWIN_EPS);
}

static dc_status build_swin(dc_builder *b, const char *arch, int num_classes, bool v2)
{
    const swin_config *cfg = NULL;
    for (int i = 0; i < N_SWIN_CONFIGS; i++)
        if (strcmp(arch, swin_configs[i].name) == 0 && swin_configs[i].v2 == v2)
            cfg = &swin_configs[i];
    if (!cfg)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown Swin %s'%s'", v2 ? "V2 " : "", arch);
    int x = dc_b_input(b, 3, cfg->size, cfg->size);
    x = dc_b_conv(b, x, "features.0.0", SWIN_EMBED, 4, 4, 0, 1, true, DC_ACT_NONE);
    x = dc_b_layernorm(b, x, "features.0.2", SWIN_EPS);
    int c = SWIN_EMBED, f = 1; /* f: index into torchvision's features Sequential */
    for (int s = 0; s < SWIN_STAGES; s++, f++) {
        for (int i = 0; i < cfg->depths[s]; i++) {
            char p[64];
            snprintf(p, sizeof p, "features.%d.%d", f, i);
            x = swin_block(b, x, p, c, cfg->heads[s], cfg->window,
                           i % 2 ? cfg->window / 2 : 0, v2);
        }
        if (s + 1 < SWIN_STAGES) {
            char p[64];
            snprintf(p, sizeof p, "features.%d", ++f);
            x = patch_merging(b, x, p, c, v2);
            c *= 2;
        }
    }
    x = dc_b_layernorm(b, x, "norm", SWIN_EPS);
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "head", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}

dc_status dc_zoo_build_swin(dc_builder *b, const char *arch, int num_classes)
{
    return build_swin(b, arch, num_classes, false);
}

dc_status dc_zoo_build_swin_v2(dc_builder *b, const char *arch, int num_classes)
{
    return build_swin(b, arch, num_classes, true);
}
