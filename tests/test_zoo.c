/*
 * test_zoo.c — the registry and the shapes of the 19 CIFAR-10 architectures, checked
 * against numbers published upstream (chenyaofo/pytorch-cifar-models README: exact
 * trainable parameters and MAdds at 1x3x32x32), not against anything this code computed.
 */
#include "dualcnn.h"
#include "fixtures.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    long long params;  /* "exact params" */
    double mmacs;      /* README MAdds in millions, 2 decimals */
} published;

/* RepVGG runs fused (one 3x3 conv per block), so its MACs are the deploy form's, which
 * docs/ and the zoo notes give as 440.17 / 766.19 / 1665.09 M; its parameters are counted
 * as stored in the (train-form) checkpoint. */
static const published cifar[] = {
    { "resnet20", 272474, 40.81 },           { "resnet32", 466906, 69.12 },
    { "resnet44", 661338, 97.44 },           { "resnet56", 855770, 125.75 },
    { "vgg11_bn", 9756426, 153.29 },         { "vgg13_bn", 9941322, 228.79 },
    { "vgg16_bn", 15253578, 313.73 },        { "vgg19_bn", 20565834, 398.66 },
    { "mobilenetv2_x0_5", 700490, 27.97 },   { "mobilenetv2_x0_75", 1368234, 59.31 },
    { "mobilenetv2_x1_0", 2236682, 87.98 },  { "mobilenetv2_x1_4", 4333706, 170.07 },
    { "shufflenetv2_x0_5", 352042, 10.90 },  { "shufflenetv2_x1_0", 1263854, 45.00 },
    { "shufflenetv2_x1_5", 2488874, 94.26 }, { "shufflenetv2_x2_0", 5365486, 187.81 },
    { "repvgg_a0", 7840874, 440.17 },        { "repvgg_a1", 12824202, 766.19 },
    { "repvgg_a2", 26815690, 1665.09 },
};
#define N_CIFAR ((int)(sizeof cifar / sizeof cifar[0]))

START_TEST(test_params_and_macs_match_published)
{
    const published *p = &cifar[_i];
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_build_shape_only(p->name, 10, &net, &err) == DC_OK, "%s: %s",
                  p->name, err.msg);
    dc_net_info info = dc_net_get_info(net);
    ck_assert_msg(info.params == p->params, "%s: %lld params, published %lld", p->name,
                  (long long)info.params, p->params);
    double mmacs = (double)info.macs * 1e-6;
    ck_assert_msg(fabs(mmacs - p->mmacs) < 0.005 + 1e-9, "%s: %.4f MMACs, published %.2f",
                  p->name, mmacs, p->mmacs);
    ck_assert_int_eq(info.in_c, 3);
    ck_assert_int_eq(info.in_h, 32);
    ck_assert_int_eq(info.num_classes, 10);
    dc_net_free(net);
}
END_TEST

START_TEST(test_registry_has_59_names_once)
{
    ck_assert_int_eq(dc_zoo_count(), 59);
    int cifar10 = 0, imagenet = 0;
    for (int i = 0; i < dc_zoo_count(); i++) {
        const dc_zoo_entry *e = dc_zoo_at(i);
        ck_assert_ptr_eq(dc_zoo_find(e->name), e);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(dc_zoo_at(j)->name, e->name);
        cifar10 += strcmp(e->dataset, "cifar10") == 0;
        imagenet += strcmp(e->dataset, "imagenet") == 0;
        ck_assert_msg(strncmp(e->weights_url, "https://", 8) == 0, "%s url", e->name);
    }
    ck_assert_int_eq(cifar10, 19);
    ck_assert_int_eq(imagenet, 40);
    ck_assert_ptr_null(dc_zoo_find("resnet21"));
    ck_assert_ptr_null(dc_zoo_at(59));
}
END_TEST

START_TEST(test_imagenet_preprocessing_from_torchvision)
{
    /* torchvision 0.14 IMAGENET1K_V1 transforms: a few distinctive entries */
    const dc_zoo_entry *e = dc_zoo_find("inception_v3");
    ck_assert_int_eq(e->in_h, 299);
    ck_assert_int_eq(e->resize, 342);
    e = dc_zoo_find("swin_v2_t");
    ck_assert_int_eq(e->in_h, 256);
    ck_assert_int_eq(e->resize, 260);
    ck_assert_int_eq(e->bicubic, 1);
    e = dc_zoo_find("resnet50");
    ck_assert_int_eq(e->resize, 256);
    ck_assert_int_eq(e->bicubic, 0);
}
END_TEST

START_TEST(test_unknown_archs_fail_clearly)
{
    dc_net *net;
    dc_error err;
    ck_assert_int_eq(dc_net_build_shape_only("resnet21", 10, &net, &err), DC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "resnet21"));
    ck_assert_ptr_null(net);
}
END_TEST

START_TEST(test_num_classes_changes_only_the_head)
{
    dc_net *a, *b;
    dc_error err;
    ck_assert_int_eq(dc_net_build_shape_only("resnet20", 10, &a, &err), DC_OK);
    ck_assert_int_eq(dc_net_build_shape_only("resnet20", 6, &b, &err), DC_OK);
    dc_net_info ia = dc_net_get_info(a), ib = dc_net_get_info(b);
    ck_assert_int_eq(ib.num_classes, 6);
    /* fc: 64 inputs; 4 fewer classes = 4 * (64 + 1) parameters, 4 * 64 MACs */
    ck_assert_int_eq(ia.params - ib.params, 4 * 65);
    ck_assert_int_eq(ia.macs - ib.macs, 4 * 64);
    dc_net_free(a);
    dc_net_free(b);
}
END_TEST

/* torchvision 0.14's parameter counts of the 40 ImageNet architectures, from Debian's
 * python3-torchvision: sum(p.numel() for p in torchvision.models.get_model(name).parameters())
 * with the default 1000 classes; googlenet and inception_v3 with aux_logits=False (their
 * auxiliary classifiers, 6380 k and 3327 k parameters, only run in training and are not
 * built here). Buffers such as Swin's relative_position_index are not parameters. */
static const struct {
    const char *name;
    long long params;
    int size; /* input side */
} torchvision_params[] = {
    { "resnet18", 11689512, 224 },           { "resnet34", 21797672, 224 },
    { "resnet50", 25557032, 224 },           { "resnet101", 44549160, 224 },
    { "resnext50_32x4d", 25028904, 224 },    { "squeezenet1_0", 1248424, 224 },
    { "squeezenet1_1", 1235496, 224 },       { "shufflenet_v2_x0_5", 1366792, 224 },
    { "shufflenet_v2_x1_0", 2278604, 224 },  { "shufflenet_v2_x1_5", 3503624, 224 },
    { "shufflenet_v2_x2_0", 7393996, 224 },  { "regnet_x_400mf", 5495976, 224 },
    { "regnet_x_800mf", 7259656, 224 },      { "regnet_x_1_6gf", 9190136, 224 },
    { "regnet_x_3_2gf", 15296552, 224 },     { "regnet_x_8gf", 39572648, 224 },
    { "regnet_x_16gf", 54278536, 224 },      { "regnet_y_400mf", 4344144, 224 },
    { "regnet_y_800mf", 6432512, 224 },      { "regnet_y_1_6gf", 11202430, 224 },
    { "regnet_y_3_2gf", 19436338, 224 },     { "regnet_y_8gf", 39381472, 224 },
    { "densenet121", 7978856, 224 },         { "densenet161", 28681000, 224 },
    { "densenet169", 14149480, 224 },        { "densenet201", 20013928, 224 },
    { "mobilenet_v3_small", 2542856, 224 },  { "mobilenet_v3_large", 5483032, 224 },
    { "mnasnet0_5", 2218512, 224 },          { "mnasnet0_75", 3170208, 224 },
    { "mnasnet1_0", 4383312, 224 },          { "mnasnet1_3", 6282256, 224 },
    { "googlenet", 6624904, 224 },           { "inception_v3", 23834568, 299 },
    { "convnext_tiny", 28589128, 224 },      { "convnext_small", 50223688, 224 },
    { "swin_t", 28288354, 224 },             { "swin_s", 49606258, 224 },
    { "swin_v2_t", 28351570, 256 },          { "swin_v2_s", 49737442, 256 },
};
#define N_TORCHVISION ((int)(sizeof torchvision_params / sizeof torchvision_params[0]))

START_TEST(test_imagenet_params_match_torchvision)
{
    const char *name = torchvision_params[_i].name;
    long long want = torchvision_params[_i].params;
    dc_net *net;
    dc_error err;
    ck_assert_msg(dc_net_build_shape_only(name, 1000, &net, &err) == DC_OK, "%s: %s", name,
                  err.msg);
    dc_net_info info = dc_net_get_info(net);
    ck_assert_msg(info.params == want, "%s: %lld params, torchvision %lld", name,
                  (long long)info.params, want);
    ck_assert_int_eq(info.in_h, torchvision_params[_i].size);
    ck_assert_int_eq(info.num_classes, 1000);
    dc_net_free(net);
}
END_TEST

static Suite *zoo_suite(void)
{
    Suite *s = suite_create("zoo");
    TCase *tc = fx_tcase(s, "zoo", 120);
    tcase_add_loop_test(tc, test_params_and_macs_match_published, 0, N_CIFAR);
    tcase_add_test(tc, test_registry_has_59_names_once);
    tcase_add_test(tc, test_imagenet_preprocessing_from_torchvision);
    tcase_add_test(tc, test_unknown_archs_fail_clearly);
    tcase_add_test(tc, test_num_classes_changes_only_the_head);
    tcase_add_loop_test(tc, test_imagenet_params_match_torchvision, 0, N_TORCHVISION);
    return s;
}

FX_MAIN(zoo_suite)
