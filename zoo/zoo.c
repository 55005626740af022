/*
 * zoo.c — the registry of the 59 architectures: what each expects as input, where its
 * official weights live, and which function builds it.
 *
 * CIFAR-10 entries: chenyaofo/pytorch-cifar-models (zoo facts in docs/), 3x32x32 input,
 * mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010) as their training logs record.
 * ImageNet entries: torchvision 0.14's IMAGENET1K_V1 weights; resize and crop sizes and the
 * interpolation were read from each weight enum's transforms() (bilinear unless noted).
 */
#include "zoo/zoo.h"

#include <string.h>

typedef struct {
    dc_zoo_entry entry;
    dc_zoo_build_fn build;
} zoo_row;

#define CIFAR_URL "https://github.com/chenyaofo/pytorch-cifar-models/releases/download/"
#define CIFAR(name, family, file, fn)                                                  \
    { { name, family, "cifar10", 3, 32, 32, 0, 0, { 0.4914f, 0.4822f, 0.4465f },      \
        { 0.2023f, 0.1994f, 0.2010f }, 10, CIFAR_URL file }, fn }
#define IMAGENET(name, family, crop, resize, bicubic, url, fn)                         \
    { { name, family, "imagenet", 3, crop, crop, resize, bicubic,                     \
        { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f }, 1000, url }, fn }

static const zoo_row zoo_rows[] = {
    CIFAR("resnet20", "resnet", "resnet/cifar10_resnet20-4118986f.pt", dc_zoo_build_resnet_cifar),
    CIFAR("resnet32", "resnet", "resnet/cifar10_resnet32-ef93fc4d.pt", dc_zoo_build_resnet_cifar),
    CIFAR("resnet44", "resnet", "resnet/cifar10_resnet44-2a3cabcb.pt", dc_zoo_build_resnet_cifar),
    CIFAR("resnet56", "resnet", "resnet/cifar10_resnet56-187c023a.pt", dc_zoo_build_resnet_cifar),
    CIFAR("vgg11_bn", "vgg", "vgg/cifar10_vgg11_bn-eaeebf42.pt", dc_zoo_build_vgg_cifar),
    CIFAR("vgg13_bn", "vgg", "vgg/cifar10_vgg13_bn-c01e4a43.pt", dc_zoo_build_vgg_cifar),
    CIFAR("vgg16_bn", "vgg", "vgg/cifar10_vgg16_bn-6ee7ea24.pt", dc_zoo_build_vgg_cifar),
    CIFAR("vgg19_bn", "vgg", "vgg/cifar10_vgg19_bn-57191229.pt", dc_zoo_build_vgg_cifar),
    CIFAR("mobilenetv2_x0_5", "mobilenetv2", "mobilenetv2/cifar10_mobilenetv2_x0_5-ca14ced9.pt",
          dc_zoo_build_mobilenetv2_cifar),
    CIFAR("mobilenetv2_x0_75", "mobilenetv2", "mobilenetv2/cifar10_mobilenetv2_x0_75-a53c314e.pt",
          dc_zoo_build_mobilenetv2_cifar),
    CIFAR("mobilenetv2_x1_0", "mobilenetv2", "mobilenetv2/cifar10_mobilenetv2_x1_0-fe6a5b48.pt",
          dc_zoo_build_mobilenetv2_cifar),
    CIFAR("mobilenetv2_x1_4", "mobilenetv2", "mobilenetv2/cifar10_mobilenetv2_x1_4-3bbbd6e2.pt",
          dc_zoo_build_mobilenetv2_cifar),
    CIFAR("shufflenetv2_x0_5", "shufflenetv2",
          "shufflenetv2/cifar10_shufflenetv2_x0_5-1308b4e9.pt", dc_zoo_build_shufflenetv2_cifar),
    CIFAR("shufflenetv2_x1_0", "shufflenetv2",
          "shufflenetv2/cifar10_shufflenetv2_x1_0-98807be3.pt", dc_zoo_build_shufflenetv2_cifar),
    CIFAR("shufflenetv2_x1_5", "shufflenetv2",
          "shufflenetv2/cifar10_shufflenetv2_x1_5-296694dd.pt", dc_zoo_build_shufflenetv2_cifar),
    CIFAR("shufflenetv2_x2_0", "shufflenetv2",
          "shufflenetv2/cifar10_shufflenetv2_x2_0-ec31611c.pt", dc_zoo_build_shufflenetv2_cifar),
    CIFAR("repvgg_a0", "repvgg", "repvgg/cifar10_repvgg_a0-ef08a50e.pt", dc_zoo_build_repvgg_cifar),
    CIFAR("repvgg_a1", "repvgg", "repvgg/cifar10_repvgg_a1-38d2431b.pt", dc_zoo_build_repvgg_cifar),
    CIFAR("repvgg_a2", "repvgg", "repvgg/cifar10_repvgg_a2-09488915.pt", dc_zoo_build_repvgg_cifar),
    /* ImageNet (torchvision) */
    IMAGENET("convnext_small", "convnext", 224, 230, 0,
             "https://download.pytorch.org/models/convnext_small-0c510722.pth",
             dc_zoo_build_convnext),
    IMAGENET("convnext_tiny", "convnext", 224, 236, 0,
             "https://download.pytorch.org/models/convnext_tiny-983f1562.pth",
             dc_zoo_build_convnext),
    IMAGENET("densenet121", "densenet", 224, 256, 0,
             "https://download.pytorch.org/models/densenet121-a639ec97.pth",
             dc_zoo_build_densenet),
    IMAGENET("densenet161", "densenet", 224, 256, 0,
             "https://download.pytorch.org/models/densenet161-8d451a50.pth",
             dc_zoo_build_densenet),
    IMAGENET("densenet169", "densenet", 224, 256, 0,
             "https://download.pytorch.org/models/densenet169-b2777c0a.pth",
             dc_zoo_build_densenet),
    IMAGENET("densenet201", "densenet", 224, 256, 0,
             "https://download.pytorch.org/models/densenet201-c1103571.pth",
             dc_zoo_build_densenet),
    IMAGENET("googlenet", "googlenet", 224, 256, 0,
             "https://download.pytorch.org/models/googlenet-1378be20.pth",
             dc_zoo_build_googlenet),
    IMAGENET("inception_v3", "inception", 299, 342, 0,
             "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
             dc_zoo_build_inception_v3),
    IMAGENET("mnasnet0_5", "mnasnet", 224, 256, 0,
             "https://download.pytorch.org/models/mnasnet0.5_top1_67.823-3ffadce67e.pth",
             dc_zoo_build_mnasnet),
    IMAGENET("mnasnet0_75", "mnasnet", 224, 232, 0,
             "https://download.pytorch.org/models/mnasnet0_75-7090bc5f.pth",
             dc_zoo_build_mnasnet),
    IMAGENET("mnasnet1_0", "mnasnet", 224, 256, 0,
             "https://download.pytorch.org/models/mnasnet1.0_top1_73.512-f206786ef8.pth",
             dc_zoo_build_mnasnet),
    IMAGENET("mnasnet1_3", "mnasnet", 224, 232, 0,
             "https://download.pytorch.org/models/mnasnet1_3-a4c69d6f.pth",
             dc_zoo_build_mnasnet),
    IMAGENET("mobilenet_v3_small", "mobilenetv3", 224, 256, 0,
             "https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth",
             dc_zoo_build_mobilenetv3),
    IMAGENET("mobilenet_v3_large", "mobilenetv3", 224, 256, 0,
             "https://download.pytorch.org/models/mobilenet_v3_large-8738ca79.pth",
             dc_zoo_build_mobilenetv3),
    IMAGENET("regnet_x_400mf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_x_400mf-adf1edd5.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_x_800mf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_x_800mf-ad17e45c.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_x_1_6gf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_x_1_6gf-e3633e7f.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_x_3_2gf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_x_3_2gf-f342aeae.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_x_8gf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_x_8gf-03ceed89.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_x_16gf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_x_16gf-2007eb11.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_y_400mf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_y_400mf-c65dace8.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_y_800mf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_y_800mf-1b27b58c.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_y_1_6gf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_y_1_6gf-b11a554e.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_y_3_2gf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_y_3_2gf-b5a9779c.pth",
             dc_zoo_build_regnet),
    IMAGENET("regnet_y_8gf", "regnet", 224, 256, 0,
             "https://download.pytorch.org/models/regnet_y_8gf-d0d0e4a8.pth",
             dc_zoo_build_regnet),
    IMAGENET("resnext50_32x4d", "resnet", 224, 256, 0,
             "https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth",
             dc_zoo_build_resnet_imagenet),
    IMAGENET("resnet18", "resnet", 224, 256, 0,
             "https://download.pytorch.org/models/resnet18-f37072fd.pth",
             dc_zoo_build_resnet_imagenet),
    IMAGENET("resnet34", "resnet", 224, 256, 0,
             "https://download.pytorch.org/models/resnet34-b627a593.pth",
             dc_zoo_build_resnet_imagenet),
    IMAGENET("resnet50", "resnet", 224, 256, 0,
             "https://download.pytorch.org/models/resnet50-0676ba61.pth",
             dc_zoo_build_resnet_imagenet),
    IMAGENET("resnet101", "resnet", 224, 256, 0,
             "https://download.pytorch.org/models/resnet101-63fe2227.pth",
             dc_zoo_build_resnet_imagenet),
    IMAGENET("shufflenet_v2_x0_5", "shufflenetv2", 224, 256, 0,
             "https://download.pytorch.org/models/shufflenetv2_x0.5-f707e7126e.pth",
             dc_zoo_build_shufflenetv2_imagenet),
    IMAGENET("shufflenet_v2_x1_0", "shufflenetv2", 224, 256, 0,
             "https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth",
             dc_zoo_build_shufflenetv2_imagenet),
    IMAGENET("shufflenet_v2_x1_5", "shufflenetv2", 224, 232, 0,
             "https://download.pytorch.org/models/shufflenetv2_x1_5-3c479a10.pth",
             dc_zoo_build_shufflenetv2_imagenet),
    IMAGENET("shufflenet_v2_x2_0", "shufflenetv2", 224, 232, 0,
             "https://download.pytorch.org/models/shufflenetv2_x2_0-8be3c8ee.pth",
             dc_zoo_build_shufflenetv2_imagenet),
    IMAGENET("squeezenet1_0", "squeezenet", 224, 256, 0,
             "https://download.pytorch.org/models/squeezenet1_0-b66bff10.pth",
             dc_zoo_build_squeezenet),
    IMAGENET("squeezenet1_1", "squeezenet", 224, 256, 0,
             "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
             dc_zoo_build_squeezenet),
    IMAGENET("swin_t", "swin", 224, 232, 1,
             "https://download.pytorch.org/models/swin_t-704ceda3.pth",
             dc_zoo_build_swin),
    IMAGENET("swin_s", "swin", 224, 246, 1,
             "https://download.pytorch.org/models/swin_s-5e29d889.pth",
             dc_zoo_build_swin),
    IMAGENET("swin_v2_t", "swin_v2", 256, 260, 1,
             "https://download.pytorch.org/models/swin_v2_t-b137f0e2.pth",
             dc_zoo_build_swin_v2),
    IMAGENET("swin_v2_s", "swin_v2", 256, 260, 1,
             "https://download.pytorch.org/models/swin_v2_s-637d8ceb.pth",
             dc_zoo_build_swin_v2),
};

#define ZOO_COUNT ((int)(sizeof zoo_rows / sizeof zoo_rows[0]))

int dc_zoo_count(void)
{
    return ZOO_COUNT;
}

const dc_zoo_entry *dc_zoo_at(int i)
{
    return i >= 0 && i < ZOO_COUNT ? &zoo_rows[i].entry : NULL;
}

static const zoo_row *find_row(const char *name)
{
    for (int i = 0; name && i < ZOO_COUNT; i++)
        if (strcmp(zoo_rows[i].entry.name, name) == 0)
            return &zoo_rows[i];
    return NULL;
}

const dc_zoo_entry *dc_zoo_find(const char *name)
{
    const zoo_row *r = find_row(name);
    return r ? &r->entry : NULL;
}

dc_zoo_build_fn dc_zoo_builder(const char *arch)
{
    const zoo_row *r = find_row(arch);
    return r ? r->build : NULL;
}
