/*
 * regnet.c — torchvision's RegNetX and RegNetY (torchvision/models/regnet.py): a 3x3
 * stride-2 stem of 32 channels, four stages of ResBottleneckBlocks (1x1, grouped 3x3 with
 * stride on the first block of a stage, [SE for RegNetY], 1x1; projection shortcut where
 * the shape changes), global average pool, fc. The per-stage widths, depths and group
 * widths come from BlockParams.from_init_params, recomputed here from the published
 * (depth, w_0, w_a, w_m, group_width) of each model.
 */
#include "zoo/zoo.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define REGNET_STAGES_MAX 8
#define REGNET_STEM_WIDTH 32

/* The arguments of BlockParams.from_init_params in torchvision's regnet_* functions
 * (bottleneck multiplier 1.0 in all of them). */
typedef struct {
    const char *name;
    int depth, w_0;
    double w_a, w_m;
    int group_width;
    double se_ratio; /* 0: RegNetX (no SE) */
} regnet_config;

static const regnet_config regnet_configs[] = {
    { "regnet_x_400mf", 22, 24, 24.48, 2.54, 16, 0.0 },
    { "regnet_x_800mf", 16, 56, 35.73, 2.28, 16, 0.0 },
    { "regnet_x_1_6gf", 18, 80, 34.01, 2.25, 24, 0.0 },
    { "regnet_x_3_2gf", 25, 88, 26.31, 2.25, 48, 0.0 },
    { "regnet_x_8gf", 23, 80, 49.56, 2.88, 120, 0.0 },
    { "regnet_x_16gf", 22, 216, 55.59, 2.1, 128, 0.0 },
    { "regnet_y_400mf", 16, 48, 27.89, 2.09, 8, 0.25 },
    { "regnet_y_800mf", 14, 56, 38.84, 2.4, 16, 0.25 },
    { "regnet_y_1_6gf", 27, 48, 20.71, 2.65, 24, 0.25 },
    { "regnet_y_3_2gf", 21, 80, 42.63, 2.66, 24, 0.25 },
    { "regnet_y_8gf", 17, 192, 76.82, 2.19, 56, 0.25 },
};
#define N_REGNET_CONFIGS ((int)(sizeof regnet_configs / sizeof regnet_configs[0]))

typedef struct {
    int n_stages;
    int depths[REGNET_STAGES_MAX];
    int widths[REGNET_STAGES_MAX];
    int group_widths[REGNET_STAGES_MAX];
} regnet_stages;

/* torchvision's _make_divisible(v, divisor) with min_value = divisor: the nearest
 * multiple of divisor, at least divisor, never more than 10% below v. */
static int make_divisible(double v, int divisor)
{
    int r = (int)(v + divisor / 2.0) / divisor * divisor;
    if (r < divisor)
        r = divisor;
    if (r < 0.9 * v)
        r += divisor;
    return r;
}

/* BlockParams.from_init_params, in float32 as torch computes it: block i has width
 * round(w_0 * w_m^round(log((i * w_a + w_0) / w_0) / log(w_m)) / 8) * 8; runs of equal
 * widths make the stages. rintf rounds half to even like torch.round, which matters:
 * regnet_x_1_6gf hits 80 * 2.25 / 8 = 22.5 exactly. Then
 * _adjust_widths_groups_compatibilty: group width = min(group_width, stage width), stage
 * width rounded to a multiple of it. Returns false if there are too many stages. */
static bool regnet_stages_compute(const regnet_config *cfg, regnet_stages *out)
{
    memset(out, 0, sizeof *out);
    const float w_a = (float)cfg->w_a, w_0 = (float)cfg->w_0, w_m = (float)cfg->w_m;
    const float log_w_m = (float)log(cfg->w_m);
    int prev = 0;
    for (int i = 0; i < cfg->depth; i++) {
        float width_cont = (float)i * w_a + w_0;
        float capacity = rintf(logf(width_cont / w_0) / log_w_m);
        int width = (int)(rintf(w_0 * powf(w_m, capacity) / 8.0f) * 8.0f);
        if (width != prev) {
            if (out->n_stages == REGNET_STAGES_MAX)
                return false;
            out->widths[out->n_stages++] = width;
            prev = width;
        }
        out->depths[out->n_stages - 1]++;
    }
    for (int s = 0; s < out->n_stages; s++) {
        int w = out->widths[s];
        int g = cfg->group_width < w ? cfg->group_width : w;
        out->group_widths[s] = g;
        out->widths[s] = make_divisible(w, g);
    }
    return true;
}

/* ResBottleneckBlock under prefix p: relu(proj(x) + f(x)), f = a (1x1 + BN + ReLU),
 * b (3x3 grouped, stride, + BN + ReLU), [se: SqueezeExcitation with ReLU and Sigmoid,
 * squeeze = round(se_ratio * cin)], c (1x1 + BN). */
static int res_bottleneck_block(dc_builder *b, int x, const char *p, int cin, int cout,
                                int stride, int group_width, double se_ratio)
{
    char k1[80], k2[80];
    int groups = cout / group_width; /* bottleneck width = cout (multiplier 1.0) */
    snprintf(k1, sizeof k1, "%s.f.a.0", p);
    snprintf(k2, sizeof k2, "%s.f.a.1", p);
    int y = dc_b_conv_bn(b, x, k1, k2, cout, 1, 1, 0, 1, false, DC_ACT_RELU);
    snprintf(k1, sizeof k1, "%s.f.b.0", p);
    snprintf(k2, sizeof k2, "%s.f.b.1", p);
    y = dc_b_conv_bn(b, y, k1, k2, cout, 3, stride, 1, groups, false, DC_ACT_RELU);
    if (se_ratio > 0.0) {
        snprintf(k1, sizeof k1, "%s.f.se.fc1", p);
        snprintf(k2, sizeof k2, "%s.f.se.fc2", p);
        y = dc_b_se(b, y, k1, k2, (int)rint(se_ratio * cin), DC_ACT_RELU, DC_ACT_SIGMOID);
    }
    snprintf(k1, sizeof k1, "%s.f.c.0", p);
    snprintf(k2, sizeof k2, "%s.f.c.1", p);
    y = dc_b_conv_bn(b, y, k1, k2, cout, 1, 1, 0, 1, false, DC_ACT_NONE);
    int shortcut = x;
    if (cin != cout || stride != 1) {
        snprintf(k1, sizeof k1, "%s.proj.0", p);
        snprintf(k2, sizeof k2, "%s.proj.1", p);
        shortcut = dc_b_conv_bn(b, x, k1, k2, cout, 1, stride, 0, 1, false, DC_ACT_NONE);
    }
    return dc_b_add(b, shortcut, y, DC_ACT_RELU);
}

dc_status dc_zoo_build_regnet(dc_builder *b, const char *arch, int num_classes)
{
    const regnet_config *cfg = NULL;
    for (int i = 0; i < N_REGNET_CONFIGS; i++)
        if (strcmp(arch, regnet_configs[i].name) == 0)
            cfg = &regnet_configs[i];
    regnet_stages st;
    if (!cfg || !regnet_stages_compute(cfg, &st))
        return dc_builder_fail(b, DC_ERR_ARG, "unknown RegNet '%s'", arch);
    int x = dc_b_input(b, 3, 224, 224);
    x = dc_b_conv_bn(b, x, "stem.0", "stem.1", REGNET_STEM_WIDTH, 3, 2, 1, 1, false,
                     DC_ACT_RELU);
    int cin = REGNET_STEM_WIDTH;
    for (int s = 0; s < st.n_stages; s++) {
        for (int i = 0; i < st.depths[s]; i++) {
            char p[64];
            snprintf(p, sizeof p, "trunk_output.block%d.block%d-%d", s + 1, s + 1, i);
            x = res_bottleneck_block(b, x, p, cin, st.widths[s], i == 0 ? 2 : 1,
                                     st.group_widths[s], cfg->se_ratio);
            cin = st.widths[s];
        }
    }
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
