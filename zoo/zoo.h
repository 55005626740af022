/*
 * zoo.h — the architectures (internal). Each family file builds its members from layers
 * through the builder; zoo.c maps names to builders and holds the registry of all 59.
 */
#ifndef DC_ZOO_H
#define DC_ZOO_H

#include "layers/builder.h"

/* Builds architecture `arch` for num_classes outputs, reading parameters through b.
 * Returns dc_builder_status(b). */
typedef dc_status (*dc_zoo_build_fn)(dc_builder *b, const char *arch, int num_classes);

/* The builder of architecture arch (every architecture of the registry has one), or NULL
 * when the zoo has no such name. */
dc_zoo_build_fn dc_zoo_builder(const char *arch);

/* CIFAR-10 families (chenyaofo/pytorch-cifar-models), one file each. */
dc_status dc_zoo_build_resnet_cifar(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_vgg_cifar(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_mobilenetv2_cifar(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_shufflenetv2_cifar(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_repvgg_cifar(dc_builder *b, const char *arch, int num_classes);

/* Shared pieces (blocks.c). */

/* torchvision's _make_divisible(v, 8), which is also MNASNet's _round_to_multiple_of(v, 8,
 * 0.9): the nearest multiple of 8, at least 8, one step up when that loses more than 10%. */
int dc_zoo_round_channels(double v);

/* The stage2..4 and conv5 widths of a ShuffleNetV2 named "..._x0_5" ("_x1_0", "_x1_5",
 * "_x2_0"), or NULL. */
const int *dc_zoo_shufflenetv2_widths(const char *arch);

/* ShuffleNetV2 after its stem (x: 24 channels): stage2..stage4 of 4, 8, 4 InvertedResidual
 * blocks, conv5 (1x1 + BN + ReLU), the mean over H and W, fc. Returns the logits node. */
int dc_zoo_shufflenetv2_body(dc_builder *b, int x, const int widths[4], int num_classes);

/* ImageNet families (torchvision 0.14), one file each. */
dc_status dc_zoo_build_resnet_imagenet(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_squeezenet(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_mobilenetv3(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_mnasnet(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_shufflenetv2_imagenet(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_densenet(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_googlenet(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_inception_v3(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_regnet(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_convnext(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_swin(dc_builder *b, const char *arch, int num_classes);
dc_status dc_zoo_build_swin_v2(dc_builder *b, const char *arch, int num_classes);

#endif /* DC_ZOO_H */
