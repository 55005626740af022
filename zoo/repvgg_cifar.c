/*
 * repvgg_cifar.c — chenyaofo's CIFAR RepVGG (a0, a1, a2). The checkpoints hold the
 * training form (a 3x3 conv + BN, a 1x1 conv + BN and, where shapes allow, a bare BN
 * branch, summed, then ReLU); the builder fuses each block into the single 3x3 conv it is
 * equivalent to at inference (Ding et al., "RepVGG", CVPR 2021, section 3.3).
 * Stages of 1, 2, 4, 14, 1 blocks; stride 1 in the first two (CIFAR), 2 in the others.
 */
#include "zoo/zoo.h"

#include <stdio.h>
#include <string.h>

dc_status dc_zoo_build_repvgg_cifar(dc_builder *b, const char *arch, int num_classes)
{
    /* width multipliers a = [a1, a2, a3, a4] */
    static const double a0[4] = { 0.75, 0.75, 0.75, 2.5 }, a1[4] = { 1, 1, 1, 2.5 },
                        a2[4] = { 1.5, 1.5, 1.5, 2.75 };
    const double *a = strcmp(arch, "repvgg_a0") == 0   ? a0
                      : strcmp(arch, "repvgg_a1") == 0 ? a1
                      : strcmp(arch, "repvgg_a2") == 0 ? a2 : NULL;
    if (!a)
        return dc_builder_fail(b, DC_ERR_ARG, "unknown CIFAR RepVGG '%s'", arch);
    static const int blocks[4] = { 2, 4, 14, 1 }, strides[4] = { 1, 2, 2, 2 };
    static const int base[4] = { 64, 128, 256, 512 };
    int w0 = (int)(64 * a[0]) < 64 ? (int)(64 * a[0]) : 64;
    int x = dc_b_input(b, 3, 32, 32);
    x = dc_b_repvgg_block(b, x, "stage0", w0, 1, false);
    int cin = w0;
    for (int s = 0; s < 4; s++) {
        int cout = (int)(base[s] * a[s]);
        for (int i = 0; i < blocks[s]; i++) {
            char p[32];
            snprintf(p, sizeof p, "stage%d.%d", s + 1, i);
            int stride = i == 0 ? strides[s] : 1;
            x = dc_b_repvgg_block(b, x, p, cout, stride, cin == cout && stride == 1);
            cin = cout;
        }
    }
    x = dc_b_adaptive_avgpool(b, x, 1, 1);
    dc_b_linear(b, x, "linear", num_classes, DC_ACT_NONE);
    return dc_builder_status(b);
}
