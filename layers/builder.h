/*
 * builder.h — how zoo/ describes an architecture: one call per layer, in forward order.
 *
 * Each dc_b_* call appends a node reading earlier nodes and returns its id. Parameters
 * are read from the weight file by their state_dict names as the node is added, checked
 * for shape, and transformed for inference (BatchNorm folded into the conv before it,
 * RepVGG branches fused). In a shape-only build (no weight file) parameters are not
 * allocated, but shapes, MACs and parameter counts are the same.
 *
 * Errors are sticky (one check at the end instead of one per layer): the first failing
 * call records its message in the builder; it and every later call return -1 and do
 * nothing. dc_builder_status() reports it; dc_builder_fail() records one of the caller's.
 *
 *     int x = dc_b_input(b, 3, 32, 32);
 *     x = dc_b_conv_bn(b, x, "conv1", "bn1", 16, 3, 1, 1, 1, false, DC_ACT_RELU);
 *     ...
 *     x = dc_b_linear(b, x, "fc", num_classes, DC_ACT_NONE);
 *     return dc_builder_status(b);
 */
#ifndef DC_LAYERS_BUILDER_H
#define DC_LAYERS_BUILDER_H

#include "layers/net.h"

/* Where a build's parameters come from: a weight file (loaders/net_load.c wraps
 * loaders/weights.c in one), kept abstract so that the layers need nothing above them. */
typedef struct {
    void *ctx;
    const char *path;     /* for messages: the file */
    /* Reads the tensor for state_dict key into dst, checking dtype and shape; dst NULL
     * checks only. */
    dc_status (*read)(void *ctx, const char *key, int ndim, const int64_t *shape, float *dst,
                      dc_error *err);
} dc_tensor_source;

/* torch.nn.BatchNorm2d's default eps, what dc_builder.bn_eps starts at */
#define DC_BN_EPS_DEFAULT 1e-5

typedef struct {
    dc_net *net;
    const dc_tensor_source *weights; /* NULL for a shape-only or random build */
    bool random;          /* no file: allocate parameters and fill them from rng */
    uint64_t rng;
    dc_status status;     /* sticky: the first error */
    dc_error err;
    /* eps of every BatchNorm read from here on (dc_b_conv_bn, dc_b_bn, the RepVGG
     * fusion). Starts at DC_BN_EPS_DEFAULT (0 is read as that default too); a family
     * whose BatchNorm2d uses another eps sets it before adding layers (MobileNetV3,
     * GoogLeNet's and Inception v3's BasicConv2d: 1e-3). */
    double bn_eps;
    /* torchvision's transform_input (GoogLeNet, Inception v3): set from the weight file's
     * attribute before the build; dc_b_transform_input() then adds the input affine map.
     * transform_input_supported is set by dc_b_transform_input(), so that the loader can
     * reject a file asking for it on an architecture that has no such step. */
    bool transform_input;
    bool transform_input_supported;
} dc_builder;

/* The name of a state_dict key under a prefix: "<prefix>.<leaf>" (or leaf alone when the
 * prefix is empty). Returns a pointer to a static buffer of the builder's thread. */
const char *dc_b_key(const char *prefix, const char *leaf);

int dc_b_input(dc_builder *b, int c, int h, int w);

/* torch.nn.Conv2d named `name` (reads name.weight, and name.bias when has_bias), then act.
 * A conv with groups == cin == cout becomes a depthwise node. */
int dc_b_conv(dc_builder *b, int in, const char *name, int cout, int k, int stride, int pad,
              int groups, bool has_bias, dc_act act);

/* Conv2d `conv` followed by BatchNorm2d `bn` (eval mode, eps b->bn_eps) and act, folded
 * into one conv at load: w' = w * t, b' = (b - mean) * t + beta, t = gamma/sqrt(var+eps). */
int dc_b_conv_bn(dc_builder *b, int in, const char *conv, const char *bn, int cout, int k,
                 int stride, int pad, int groups, bool conv_has_bias, dc_act act);

/* dc_b_conv_bn for a kh x kw kernel with padding (pad_h, pad_w), no bias, groups 1
 * (Inception v3's 1x7, 7x1, 1x3 and 3x1 convs). */
int dc_b_conv_bn_rect(dc_builder *b, int in, const char *conv, const char *bn, int cout,
                      int kh, int kw, int stride, int pad_h, int pad_w, dc_act act);

/* A train-form RepVGGBlock under prefix (rbr_dense 3x3+BN, rbr_1x1 1x1+BN, and when
 * has_identity a bare BN), fused at load into one 3x3 conv with bias, then ReLU. */
int dc_b_repvgg_block(dc_builder *b, int in, const char *prefix, int cout, int stride,
                      bool has_identity);

/* BatchNorm2d `bn` (eval mode) on its own, where no conv precedes it to fold into
 * (DenseNet's BN-ReLU-conv order), then act. */
int dc_b_bn(dc_builder *b, int in, const char *bn, dc_act act);

/* torchvision's GoogLeNet/Inception3 _transform_input, when b->transform_input is set:
 * x_c' = x_c * (std_c / 0.5) + (mean_c - 0.5) / 0.5 with the ImageNet mean (0.485, 0.456,
 * 0.406) and std (0.229, 0.224, 0.225), as a per-channel affine node (no parameters read
 * or counted). Returns `in` unchanged when the flag is off. Marks the builder as
 * supporting transform_input. */
int dc_b_transform_input(dc_builder *b, int in);

/* torchvision.ops.SqueezeExcitation with its 1x1 convs `fc1` (channels -> squeeze, bias,
 * then act) and `fc2` (squeeze -> channels, bias, then gate): out = x * gate per channel. */
int dc_b_se(dc_builder *b, int in, const char *fc1, const char *fc2, int squeeze, dc_act act,
            dc_act gate);

/* torch.nn.Linear `name` on the flattened input, then act. */
int dc_b_linear(dc_builder *b, int in, const char *name, int out_features, dc_act act);

int dc_b_maxpool(dc_builder *b, int in, int k, int stride, int pad, bool ceil_mode);
int dc_b_avgpool(dc_builder *b, int in, int k, int stride, int pad, bool ceil_mode,
                 bool count_include_pad);
int dc_b_adaptive_avgpool(dc_builder *b, int in, int oh, int ow);

int dc_b_add(dc_builder *b, int x, int y, dc_act act);
int dc_b_concat(dc_builder *b, const int *ins, int n);
int dc_b_slice(dc_builder *b, int in, int begin, int count);
int dc_b_shuffle(dc_builder *b, int in, int groups);
/* channel_shuffle(torch.cat(x, 1), n) in one pass, where x are the first `per` channels
 * of each of the n inputs (maps of one size): output channel j * n + i is channel j of
 * input i. ShuffleNetV2's block ends; a stride-1 block passes its input whole, so that
 * the x.chunk(2)[0] slice costs no copy. */
int dc_b_concat_shuffle(dc_builder *b, const int *ins, int n, int per);
int dc_b_act(dc_builder *b, int in, dc_act act);

/* ---- transformers (ConvNeXt, Swin) ----
 * Feature maps stay [C][H][W]: torchvision's channels-last LayerNorms and Linears act on
 * the channels of each pixel, which is what these nodes do on our layout. */

/* torch.nn.LayerNorm(C, eps) `name` (weight, bias [C]) across the channels of each pixel:
 * ConvNeXt's LayerNorm2d (eps 1e-6) and the LayerNorms of ConvNeXt blocks and of Swin. */
int dc_b_layernorm(dc_builder *b, int in, const char *name, double eps);

/* torch.nn.Linear `name` (weight [cout][C], bias [cout] when has_bias) applied at every
 * pixel, as a 1x1 conv node, then act. layer_scale: NULL, or the key of a [cout][1][1]
 * per-channel factor on the output (ConvNeXt's layer_scale), folded into the weight and
 * bias at load. */
int dc_b_pixel_linear(dc_builder *b, int in, const char *name, int cout, bool has_bias,
                      const char *layer_scale, dc_act act);

/* Swin's PatchMerging gather: [C][H][W] -> [4C][ceil(H/2)][ceil(W/2)] (dc_patch_merge);
 * the LayerNorm and the reduction Linear are separate nodes. */
int dc_b_patch_merge(dc_builder *b, int in);

/* Swin's ShiftedWindowAttention (v2 false) or ShiftedWindowAttentionV2 (v2 true) under
 * prefix (e.g. "features.1.0.attn"): reads qkv.{weight,bias}, proj.{weight,bias}; V1
 * relative_position_bias_table; V2 logit_scale and cpb_mlp.{0.weight,0.bias,2.weight},
 * whose position bias 16*sigmoid(cpb_mlp(table)) is computed here once. The buffers
 * relative_position_index (and V2's relative_coords_table) are computed here too; a
 * file's copies must agree and are not counted as parameters. shift: the block's nominal
 * shift (window/2 on odd blocks). */
int dc_b_window_attention(dc_builder *b, int in, const char *prefix, int heads, int window,
                          int shift, bool v2);

/* Names the PyTorch module whose output equals node id's output exactly (a residual
 * block's, a pooling layer's), for `dualcnn infer --dump` and tools/compare_layers.py.
 * The builder names what it knows by itself: a conv's module (its BatchNorm's when one is
 * folded in, with the fused activation applied after it), a linear, a BatchNorm, a
 * LayerNorm, a squeeze-excitation, a window attention, a RepVGG block. Returns id. */
int dc_b_module(dc_builder *b, int id, const char *module);

/* DC_OK, or the first error recorded. */
dc_status dc_builder_status(const dc_builder *b);

/* Records a failure found by the caller (a zoo family that does not know arch, say) with
 * a printf-style message, unless an earlier one is recorded: the first error is the one
 * reported, and every later dc_b_* call does nothing. Returns dc_builder_status(b).
 *
 *     if (depth < 8)
 *         return dc_builder_fail(b, DC_ERR_ARG, "unknown CIFAR ResNet '%s'", arch);
 */
dc_status dc_builder_fail(dc_builder *b, dc_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif /* DC_LAYERS_BUILDER_H */
