/*
 * builder.c — appending nodes to a net and loading their parameters (see builder.h).
 */
#include "layers/builder.h"
#include "base/alloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dc_b_key(const char *prefix, const char *leaf)
{
    static _Thread_local char buf[256];
    if (prefix && *prefix)
        snprintf(buf, sizeof buf, "%s.%s", prefix, leaf);
    else
        snprintf(buf, sizeof buf, "%s", leaf);
    return buf;
}

dc_status dc_builder_status(const dc_builder *b)
{
    return b->status;
}

/* Records a failure unless one is recorded already (the first error is the one reported). */
static void fail_v(dc_builder *b, dc_status code, const char *fmt, va_list ap)
{
    if (b->status != DC_OK)
        return;
    vsnprintf(b->err.msg, sizeof b->err.msg, fmt, ap);
    b->err.code = code;
    b->status = code;
}

dc_status dc_builder_fail(dc_builder *b, dc_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(b, code, fmt, ap);
    va_end(ap);
    return b->status;
}

/* dc_builder_fail for the dc_b_* functions: returns -1, their "no node". */
static int b_fail(dc_builder *b, dc_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(b, code, fmt, ap);
    va_end(ap);
    return -1;
}

static bool valid_input(dc_builder *b, int id)
{
    if (b->status != DC_OK)
        return false;
    if (id < 0 || id >= b->net->n_nodes) {
        b_fail(b, DC_ERR_ARG, "%s: internal: node reads node %d of %d", b->net->arch, id,
               b->net->n_nodes);
        return false;
    }
    return true;
}

/* Appends a node of op reading ins (checked by the caller), its output c x h x w; returns it
 * or NULL (error set). Pointers into b->net->nodes taken before may no longer be valid. */
static dc_node *push_node(dc_builder *b, dc_op op, const char *name, const int *ins, int n_ins,
                          int c, int h, int w)
{
    assert(dc_ops[op] && dc_ops[op]->name); /* every op has a table entry (ops.c) */
    dc_net *net = b->net;
    if (net->n_nodes == net->cap_nodes) {
        int cap = net->cap_nodes ? 2 * net->cap_nodes : 64;
        dc_node *nodes = dc_realloc(net->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            b_fail(b, DC_ERR_NOMEM, "out of memory building %s", net->arch);
            return NULL;
        }
        net->nodes = nodes;
        net->cap_nodes = cap;
    }
    dc_node *nd = &net->nodes[net->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    snprintf(nd->name, sizeof nd->name, "%s", name ? name : "");
    if (n_ins > 0) {
        nd->inputs = dc_malloc((size_t)n_ins * sizeof *nd->inputs);
        if (!nd->inputs) {
            b_fail(b, DC_ERR_NOMEM, "out of memory building %s", net->arch);
            return NULL;
        }
        memcpy(nd->inputs, ins, (size_t)n_ins * sizeof *ins);
    }
    nd->n_inputs = n_ins;
    nd->c = c;
    nd->h = h;
    nd->w = w;
    net->n_nodes++;
    return nd;
}

/* push_node for a shape-preserving op (activation, BatchNorm, add, LayerNorm, ...): checks
 * the inputs, and the output has the shape of ins[0]. */
static dc_node *push_like(dc_builder *b, dc_op op, const char *name, const int *ins, int n_ins)
{
    for (int i = 0; i < n_ins; i++)
        if (!valid_input(b, ins[i]))
            return NULL;
    const dc_node *src = &b->net->nodes[ins[0]];
    return push_node(b, op, name, ins, n_ins, src->c, src->h, src->w);
}

static int node_id(const dc_builder *b, const dc_node *nd)
{
    return (int)(nd - b->net->nodes);
}

/* Allocates count floats for a parameter, or returns NULL in a shape-only build. The
 * caller frees it (node_param: the node does). */
static float *alloc_param(dc_builder *b, size_t count, bool *ok)
{
    *ok = true;
    if (!b->weights && !b->random)
        return NULL;
    float *p = dc_calloc(count ? count : 1, sizeof *p);
    if (!p) {
        b_fail(b, DC_ERR_NOMEM, "out of memory for the parameters of %s", b->net->arch);
        *ok = false;
    }
    return p;
}

/* alloc_param for a parameter of node nd, which owns it from here on. */
static float *node_param(dc_builder *b, dc_node *nd, size_t count, bool *ok)
{
    return dc_node_own(nd, alloc_param(b, count, ok));
}

/* splitmix64: a small, well-mixed generator for random builds */
static double next_uniform(dc_builder *b)
{
    uint64_t z = (b->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Random parameters for benchmarks and tests: weights uniform in +-sqrt(6/fan_in) (He
 * et al.'s bound for ReLU nets, so the signal neither vanishes nor explodes with depth),
 * BatchNorm scales and variances in [0.5, 1.5), everything else in +-0.1. */
static void fill_random(dc_builder *b, const char *key, int ndim, const int64_t *shape,
                        float *dst, size_t n)
{
    double lo = -0.1, hi = 0.1;
    if (ndim >= 2) {
        int64_t fan_in = 1;
        for (int i = 1; i < ndim; i++)
            fan_in *= shape[i];
        hi = sqrt(6.0 / (double)fan_in);
        lo = -hi;
    } else if (ends_with(key, "running_var") || (ends_with(key, "weight"))) {
        lo = 0.5;
        hi = 1.5;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)(lo + (hi - lo) * next_uniform(b));
}

/* Reads tensor `key` of the given shape into dst (skipped in a shape-only build) and
 * counts it as trainable parameters unless it is a running statistic. */
static bool read_tensor(dc_builder *b, const char *key, int ndim, const int64_t *shape,
                        float *dst, bool trainable)
{
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= shape[i];
    if (trainable)
        b->net->params += numel;
    if (b->random && dst) {
        fill_random(b, key, ndim, shape, dst, (size_t)numel);
        return true;
    }
    if (!b->weights)
        return true;
    dc_status st = b->weights->read(b->weights->ctx, key, ndim, shape, dst, &b->err);
    if (st != DC_OK) {
        b->status = st;
        return false;
    }
    return true;
}

int dc_b_input(dc_builder *b, int c, int h, int w)
{
    if (b->status != DC_OK)
        return -1;
    if (b->net->n_nodes != 0)
        return b_fail(b, DC_ERR_ARG, "%s: internal: input must be the first node",
                      b->net->arch);
    return push_node(b, DC_OP_INPUT, "input", NULL, 0, c, h, w) ? 0 : -1;
}

/* ---- convolutions ------------------------------------------------------- */

/* Records the PyTorch module whose output, after act, is node nd's. */
static void set_module(dc_node *nd, const char *module, dc_act act)
{
    snprintf(nd->module, sizeof nd->module, "%s", module ? module : "");
    nd->module_act = act;
}

int dc_b_module(dc_builder *b, int id, const char *module)
{
    if (!valid_input(b, id))
        return -1;
    set_module(&b->net->nodes[id], module, DC_ACT_NONE);
    return id;
}

/* Appends a kh x kw conv node with allocated (not yet filled) weight and bias. */
static dc_node *push_conv_rect(dc_builder *b, int in, const char *name, int cout, int kh,
                               int kw, int stride, int pad_h, int pad_w, int groups,
                               dc_act act)
{
    if (!valid_input(b, in))
        return NULL;
    const dc_node *src = &b->net->nodes[in];
    if (groups < 1 || src->c % groups || cout % groups) {
        b_fail(b, DC_ERR_ARG, "%s: conv %s: %d in / %d out channels not divisible by %d "
               "groups", b->net->arch, name, src->c, cout, groups);
        return NULL;
    }
    dc_conv_shape s = { .cin = src->c, .h = src->h, .w = src->w, .cout = cout, .kh = kh,
                        .kw = kw, .stride_h = stride, .stride_w = stride, .pad_h = pad_h,
                        .pad_w = pad_w, .groups = groups };
    int oh = dc_conv_out_h(&s), ow = dc_conv_out_w(&s);
    if (oh < 1 || ow < 1) {
        b_fail(b, DC_ERR_SHAPE, "%s: conv %s: input %dx%d too small for kernel %dx%d",
               b->net->arch, name, src->h, src->w, kh, kw);
        return NULL;
    }
    bool depthwise = groups == s.cin && groups == cout && groups > 1;
    dc_node *nd = push_node(b, depthwise ? DC_OP_DWCONV : DC_OP_CONV, name, &in, 1, cout, oh,
                            ow);
    if (!nd)
        return NULL;
    nd->macs = (int64_t)oh * ow * cout * (s.cin / groups) * kh * kw;
    dc_conv_params *p = &nd->conv;
    p->shape = s;
    p->act = act;
    bool ok1, ok2;
    p->weight = node_param(b, nd, (size_t)cout * (s.cin / groups) * kh * kw, &ok1);
    p->bias = node_param(b, nd, (size_t)cout, &ok2);
    return ok1 && ok2 ? nd : NULL;
}

static dc_node *push_conv(dc_builder *b, int in, const char *name, int cout, int k,
                          int stride, int pad, int groups, dc_act act)
{
    return push_conv_rect(b, in, name, cout, k, k, stride, pad, pad, groups, act);
}

/* Reads a conv's weight [cout][cin/g][k][k] (and bias) into the node. */
static bool read_conv_params(dc_builder *b, dc_node *nd, const char *name, bool has_bias)
{
    const dc_conv_shape *s = &nd->conv.shape;
    int64_t wshape[4] = { s->cout, s->cin / s->groups, s->kh, s->kw };
    if (!read_tensor(b, dc_b_key(name, "weight"), 4, wshape, nd->conv.weight, true))
        return false;
    int64_t bshape[1] = { s->cout };
    return !has_bias ||
           read_tensor(b, dc_b_key(name, "bias"), 1, bshape, nd->conv.bias, true);
}

/* Reads BatchNorm2d `bn` over c channels and returns its per-channel affine map
 * y = scale*x + shift (eval mode); scale/shift hold c doubles each. */
static bool read_bn(dc_builder *b, const char *bn, int c, double *scale, double *shift)
{
    int64_t shape[1] = { c };
    bool fill = b->weights || b->random;
    float *buf = fill ? dc_malloc(4 * (size_t)c * sizeof *buf) : NULL;
    if (fill && !buf) {
        b_fail(b, DC_ERR_NOMEM, "out of memory reading %s", bn);
        return false;
    }
    float *gamma = buf, *beta = buf ? buf + c : NULL;
    float *mean = buf ? buf + 2 * c : NULL, *var = buf ? buf + 3 * c : NULL;
    bool ok = read_tensor(b, dc_b_key(bn, "weight"), 1, shape, gamma, true) &&
              read_tensor(b, dc_b_key(bn, "bias"), 1, shape, beta, true) &&
              read_tensor(b, dc_b_key(bn, "running_mean"), 1, shape, mean, false) &&
              read_tensor(b, dc_b_key(bn, "running_var"), 1, shape, var, false);
    double eps = b->bn_eps > 0.0 ? b->bn_eps : DC_BN_EPS_DEFAULT;
    if (ok && buf) {
        for (int i = 0; i < c; i++) {
            if (!(var[i] >= 0.0f)) {
                /* the message reads var[i]: build it before buf is freed */
                b_fail(b, DC_ERR_FORMAT, "%s: %s.running_var[%d] = %g is negative or NaN",
                       b->weights ? b->weights->path : b->net->arch, bn, i,
                       (double)var[i]);
                free(buf);
                return false;
            }
            scale[i] = gamma[i] / sqrt((double)var[i] + eps);
            shift[i] = beta[i] - mean[i] * scale[i];
        }
    }
    free(buf);
    return ok;
}

int dc_b_conv(dc_builder *b, int in, const char *name, int cout, int k, int stride, int pad,
              int groups, bool has_bias, dc_act act)
{
    dc_node *nd = push_conv(b, in, name, cout, k, stride, pad, groups, act);
    if (!nd || !read_conv_params(b, nd, name, has_bias))
        return -1;
    set_module(nd, name, act);
    return node_id(b, nd);
}

/* Reads the conv's parameters and BatchNorm `bn`, and folds the BN into the conv. */
static int fold_conv_bn(dc_builder *b, dc_node *nd, const char *conv, const char *bn,
                        bool conv_has_bias)
{
    if (!nd || !read_conv_params(b, nd, conv, conv_has_bias))
        return -1;
    dc_conv_params *p = &nd->conv;
    int cout = p->shape.cout;
    double *scale = dc_malloc(2 * (size_t)cout * sizeof *scale);
    if (!scale)
        return b_fail(b, DC_ERR_NOMEM, "out of memory reading %s", bn);
    double *shift = scale + cout;
    if (!read_bn(b, bn, cout, scale, shift)) {
        free(scale);
        return -1;
    }
    if (p->weight) {
        /* fold: BN(conv(x) + b) = scale*(W*x) + (scale*b + shift) */
        size_t per_out = (size_t)(p->shape.cin / p->shape.groups) * p->shape.kh * p->shape.kw;
        for (int o = 0; o < cout; o++) {
            for (size_t j = 0; j < per_out; j++)
                p->weight[o * per_out + j] = (float)(p->weight[o * per_out + j] * scale[o]);
            p->bias[o] = (float)(p->bias[o] * scale[o] + shift[o]);
        }
    }
    free(scale);
    set_module(nd, bn, p->act);
    return node_id(b, nd);
}

int dc_b_conv_bn(dc_builder *b, int in, const char *conv, const char *bn, int cout, int k,
                 int stride, int pad, int groups, bool conv_has_bias, dc_act act)
{
    dc_node *nd = push_conv(b, in, conv, cout, k, stride, pad, groups, act);
    return fold_conv_bn(b, nd, conv, bn, conv_has_bias);
}

int dc_b_conv_bn_rect(dc_builder *b, int in, const char *conv, const char *bn, int cout,
                      int kh, int kw, int stride, int pad_h, int pad_w, dc_act act)
{
    dc_node *nd = push_conv_rect(b, in, conv, cout, kh, kw, stride, pad_h, pad_w, 1, act);
    return fold_conv_bn(b, nd, conv, bn, false);
}

/* Adds scale[o] * kernel (a kh x kw kernel per (o, i) pair) into the centre of the node's
 * 3x3 weights, and shift into its bias. src is [cout][cin][kh][kw] with kh = kw = 1 or 3,
 * or NULL for the identity kernel (1 at [o][o] centre). */
static void add_branch(dc_node *nd, const float *src, int ksrc, const double *scale,
                       const double *shift)
{
    dc_conv_params *p = &nd->conv;
    int cout = p->shape.cout, cin = p->shape.cin;
    for (int o = 0; o < cout; o++) {
        for (int i = 0; i < cin; i++) {
            float *dst = p->weight + ((size_t)o * cin + i) * 9;
            if (!src) {
                if (i == o)
                    dst[4] += (float)scale[o];
            } else if (ksrc == 1) {
                dst[4] += (float)(src[(size_t)o * cin + i] * scale[o]);
            } else {
                const float *k = src + ((size_t)o * cin + i) * 9;
                for (int t = 0; t < 9; t++)
                    dst[t] += (float)(k[t] * scale[o]);
            }
        }
        p->bias[o] += (float)shift[o];
    }
}

int dc_b_repvgg_block(dc_builder *b, int in, const char *prefix, int cout, int stride,
                      bool has_identity)
{
    char dense[96], one[96], dense_bn[96], one_bn[96], id[96];
    snprintf(dense, sizeof dense, "%s.rbr_dense.conv", prefix);
    snprintf(dense_bn, sizeof dense_bn, "%s.rbr_dense.bn", prefix);
    snprintf(one, sizeof one, "%s.rbr_1x1.conv", prefix);
    snprintf(one_bn, sizeof one_bn, "%s.rbr_1x1.bn", prefix);
    snprintf(id, sizeof id, "%s.rbr_identity", prefix);

    dc_node *nd = push_conv(b, in, prefix, cout, 3, stride, 1, 1, DC_ACT_RELU);
    if (!nd)
        return -1;
    set_module(nd, prefix, DC_ACT_NONE); /* RepVGGBlock's output: relu(dense + 1x1 + id) */
    int cin = nd->conv.shape.cin;
    if (has_identity && (cin != cout || stride != 1))
        return b_fail(b, DC_ERR_ARG, "%s: %s: identity branch needs in == out, stride 1",
                      b->net->arch, prefix);
    /* The MACs and params of the train form are what the checkpoints and chenyaofo's
     * README count; the node runs the cheaper fused form, so report what it runs. */
    bool ok;
    float *k3 = alloc_param(b, (size_t)cout * cin * 9, &ok);
    float *k1 = ok ? alloc_param(b, (size_t)cout * cin, &ok) : NULL;
    double *scale = dc_malloc(2 * (size_t)cout * sizeof *scale);
    if (!ok || !scale) {
        free(k3);
        free(k1);
        free(scale);
        return b_fail(b, DC_ERR_NOMEM, "out of memory at %s", prefix);
    }
    double *shift = scale + cout;
    int64_t s3[4] = { cout, cin, 3, 3 }, s1[4] = { cout, cin, 1, 1 };
    bool good = read_tensor(b, dc_b_key(dense, "weight"), 4, s3, k3, true) &&
                read_bn(b, dense_bn, cout, scale, shift);
    if (good && nd->conv.weight)
        add_branch(nd, k3, 3, scale, shift);
    good = good && read_tensor(b, dc_b_key(one, "weight"), 4, s1, k1, true) &&
           read_bn(b, one_bn, cout, scale, shift);
    if (good && nd->conv.weight)
        add_branch(nd, k1, 1, scale, shift);
    if (good && has_identity) {
        good = read_bn(b, id, cout, scale, shift);
        if (good && nd->conv.weight)
            add_branch(nd, NULL, 0, scale, shift);
    }
    free(k3);
    free(k1);
    free(scale);
    return good ? node_id(b, nd) : -1;
}

int dc_b_bn(dc_builder *b, int in, const char *bn, dc_act act)
{
    dc_node *nd = push_like(b, DC_OP_SCALE_SHIFT, bn, &in, 1);
    if (!nd)
        return -1;
    set_module(nd, bn, act);
    dc_scale_shift_params *p = &nd->scale_shift;
    p->act = act;
    int c = nd->c;
    bool ok1, ok2;
    p->scale = node_param(b, nd, (size_t)c, &ok1);
    p->shift = node_param(b, nd, (size_t)c, &ok2);
    double *scale = dc_malloc(2 * (size_t)c * sizeof *scale);
    if (!ok1 || !ok2 || !scale) {
        free(scale);
        return b_fail(b, DC_ERR_NOMEM, "out of memory at %s", bn);
    }
    double *shift = scale + c;
    bool ok = read_bn(b, bn, c, scale, shift);
    for (int i = 0; ok && p->scale && i < c; i++) {
        p->scale[i] = (float)scale[i];
        p->shift[i] = (float)shift[i];
    }
    free(scale);
    return ok ? node_id(b, nd) : -1;
}

int dc_b_transform_input(dc_builder *b, int in)
{
    static const double mean[3] = { 0.485, 0.456, 0.406 }, std[3] = { 0.229, 0.224, 0.225 };
    if (!valid_input(b, in))
        return -1;
    b->transform_input_supported = true;
    if (!b->transform_input)
        return in;
    if (b->net->nodes[in].c != 3)
        return b_fail(b, DC_ERR_SHAPE, "%s: transform_input needs 3 input channels, not %d",
                      b->net->arch, b->net->nodes[in].c);
    dc_node *nd = push_like(b, DC_OP_SCALE_SHIFT, "transform_input", &in, 1);
    if (!nd)
        return -1;
    dc_scale_shift_params *p = &nd->scale_shift;
    p->act = DC_ACT_NONE;
    /* fixed constants, not parameters: nothing is read from the file or counted */
    bool ok1, ok2;
    p->scale = node_param(b, nd, 3, &ok1);
    p->shift = node_param(b, nd, 3, &ok2);
    if (!ok1 || !ok2)
        return -1;
    for (int i = 0; p->scale && i < 3; i++) {
        /* the same float32 arithmetic as torchvision: x * (std / 0.5) + (mean - 0.5) / 0.5 */
        p->scale[i] = (float)(std[i] / 0.5);
        p->shift[i] = (float)((mean[i] - 0.5) / 0.5);
    }
    return node_id(b, nd);
}

int dc_b_se(dc_builder *b, int in, const char *fc1, const char *fc2, int squeeze, dc_act act,
            dc_act gate)
{
    dc_node *nd = push_like(b, DC_OP_SE, fc1, &in, 1);
    if (!nd)
        return -1;
    int c = nd->c;
    nd->macs = 2 * (int64_t)c * squeeze; /* the two 1x1 convs on a 1x1 map */
    dc_se_params *p = &nd->se;
    p->act = act;
    p->gate = gate;
    p->squeeze = squeeze;
    bool ok[4];
    p->fc1_weight = node_param(b, nd, (size_t)squeeze * c, &ok[0]);
    p->fc1_bias = node_param(b, nd, (size_t)squeeze, &ok[1]);
    p->fc2_weight = node_param(b, nd, (size_t)c * squeeze, &ok[2]);
    p->fc2_bias = node_param(b, nd, (size_t)c, &ok[3]);
    if (!ok[0] || !ok[1] || !ok[2] || !ok[3])
        return -1;
    int64_t w1[4] = { squeeze, c, 1, 1 }, b1[1] = { squeeze }, w2[4] = { c, squeeze, 1, 1 },
            b2[1] = { c };
    if (!read_tensor(b, dc_b_key(fc1, "weight"), 4, w1, p->fc1_weight, true) ||
        !read_tensor(b, dc_b_key(fc1, "bias"), 1, b1, p->fc1_bias, true) ||
        !read_tensor(b, dc_b_key(fc2, "weight"), 4, w2, p->fc2_weight, true) ||
        !read_tensor(b, dc_b_key(fc2, "bias"), 1, b2, p->fc2_bias, true))
        return -1;
    /* torchvision's SqueezeExcitation: the module holding fc1 and fc2 */
    size_t len = strlen(fc1);
    if (len > 4 && strcmp(fc1 + len - 4, ".fc1") == 0) {
        char parent[80];
        snprintf(parent, sizeof parent, "%.*s", (int)(len - 4), fc1);
        set_module(nd, parent, DC_ACT_NONE);
    }
    return node_id(b, nd);
}

/* ---- other layers ------------------------------------------------------- */

int dc_b_linear(dc_builder *b, int in, const char *name, int out_features, dc_act act)
{
    if (!valid_input(b, in))
        return -1;
    int in_features = (int)dc_node_numel(&b->net->nodes[in]);
    dc_node *nd = push_node(b, DC_OP_LINEAR, name, &in, 1, out_features, 1, 1);
    if (!nd)
        return -1;
    nd->macs = (int64_t)in_features * out_features;
    set_module(nd, name, act);
    dc_linear_params *p = &nd->linear;
    p->in_features = in_features;
    p->act = act;
    bool ok1, ok2;
    p->weight = node_param(b, nd, (size_t)in_features * out_features, &ok1);
    p->bias = node_param(b, nd, (size_t)out_features, &ok2);
    if (!ok1 || !ok2)
        return -1;
    int64_t ws[2] = { out_features, in_features }, bs[1] = { out_features };
    if (!read_tensor(b, dc_b_key(name, "weight"), 2, ws, p->weight, true) ||
        !read_tensor(b, dc_b_key(name, "bias"), 1, bs, p->bias, true))
        return -1;
    return node_id(b, nd);
}

static int push_pool(dc_builder *b, dc_op op, int in, int k, int stride, int pad,
                     bool ceil_mode, bool count_include_pad)
{
    if (!valid_input(b, in))
        return -1;
    const dc_node *src = &b->net->nodes[in];
    int oh = dc_pool_out_size(src->h, k, stride, pad, ceil_mode);
    int ow = dc_pool_out_size(src->w, k, stride, pad, ceil_mode);
    if (oh < 1 || ow < 1 || 2 * pad > k)
        return b_fail(b, DC_ERR_SHAPE, "%s: pool k=%d s=%d p=%d on %dx%d gives no output",
                      b->net->arch, k, stride, pad, src->h, src->w);
    dc_node *nd = push_node(b, op, op == DC_OP_MAXPOOL ? "maxpool" : "avgpool", &in, 1,
                            src->c, oh, ow);
    if (!nd)
        return -1;
    nd->pool = (dc_pool_params){ .k = k, .stride = stride, .pad = pad, .ceil_mode = ceil_mode,
                                 .count_include_pad = count_include_pad };
    return node_id(b, nd);
}

int dc_b_maxpool(dc_builder *b, int in, int k, int stride, int pad, bool ceil_mode)
{
    return push_pool(b, DC_OP_MAXPOOL, in, k, stride, pad, ceil_mode, false);
}

int dc_b_avgpool(dc_builder *b, int in, int k, int stride, int pad, bool ceil_mode,
                 bool count_include_pad)
{
    return push_pool(b, DC_OP_AVGPOOL, in, k, stride, pad, ceil_mode, count_include_pad);
}

int dc_b_adaptive_avgpool(dc_builder *b, int in, int oh, int ow)
{
    if (!valid_input(b, in))
        return -1;
    dc_node *nd = push_node(b, DC_OP_ADAPTIVE_AVGPOOL, "avgpool", &in, 1, b->net->nodes[in].c,
                            oh, ow);
    return nd ? node_id(b, nd) : -1;
}

int dc_b_add(dc_builder *b, int x, int y, dc_act act)
{
    if (!valid_input(b, x) || !valid_input(b, y))
        return -1;
    const dc_node *a = &b->net->nodes[x], *c = &b->net->nodes[y];
    if (a->c != c->c || a->h != c->h || a->w != c->w)
        return b_fail(b, DC_ERR_SHAPE, "%s: add of %dx%dx%d (%s) and %dx%dx%d (%s)",
                      b->net->arch, a->c, a->h, a->w, a->name, c->c, c->h, c->w, c->name);
    int ins[2] = { x, y };
    dc_node *nd = push_like(b, DC_OP_ADD, "add", ins, 2);
    if (!nd)
        return -1;
    nd->eltwise.act = act;
    return node_id(b, nd);
}

int dc_b_concat(dc_builder *b, const int *ins, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++) {
        if (!valid_input(b, ins[i]))
            return -1;
        const dc_node *s = &b->net->nodes[ins[i]], *f = &b->net->nodes[ins[0]];
        if (s->h != f->h || s->w != f->w)
            return b_fail(b, DC_ERR_SHAPE, "%s: concat of %dx%d and %dx%d maps",
                          b->net->arch, f->h, f->w, s->h, s->w);
        c += s->c;
    }
    if (n < 1)
        return b_fail(b, DC_ERR_ARG, "%s: concat of nothing", b->net->arch);
    const dc_node *f = &b->net->nodes[ins[0]];
    dc_node *nd = push_node(b, DC_OP_CONCAT, "concat", ins, n, c, f->h, f->w);
    return nd ? node_id(b, nd) : -1;
}

int dc_b_slice(dc_builder *b, int in, int begin, int count)
{
    if (!valid_input(b, in))
        return -1;
    const dc_node *s = &b->net->nodes[in];
    if (begin < 0 || count < 1 || begin + count > s->c)
        return b_fail(b, DC_ERR_ARG, "%s: slice [%d, %d) of %d channels", b->net->arch,
                      begin, begin + count, s->c);
    dc_node *nd = push_node(b, DC_OP_SLICE, "slice", &in, 1, count, s->h, s->w);
    if (!nd)
        return -1;
    nd->slice.begin = begin;
    return node_id(b, nd);
}

int dc_b_shuffle(dc_builder *b, int in, int groups)
{
    if (!valid_input(b, in))
        return -1;
    const dc_node *s = &b->net->nodes[in];
    if (groups < 1 || s->c % groups)
        return b_fail(b, DC_ERR_ARG, "%s: shuffle of %d channels in %d groups",
                      b->net->arch, s->c, groups);
    dc_node *nd = push_like(b, DC_OP_SHUFFLE, "shuffle", &in, 1);
    if (!nd)
        return -1;
    nd->shuffle.groups = groups;
    return node_id(b, nd);
}

int dc_b_concat_shuffle(dc_builder *b, const int *ins, int n, int per)
{
    if (n < 1 || per < 1)
        return b_fail(b, DC_ERR_ARG, "%s: concat-shuffle of %d inputs of %d channels",
                      b->net->arch, n, per);
    for (int i = 0; i < n; i++) {
        if (!valid_input(b, ins[i]))
            return -1;
        const dc_node *s = &b->net->nodes[ins[i]], *f = &b->net->nodes[ins[0]];
        if (s->h != f->h || s->w != f->w || s->c < per)
            return b_fail(b, DC_ERR_SHAPE, "%s: concat-shuffle of the first %d channels of "
                          "%dx%dx%d and %dx%dx%d", b->net->arch, per, f->c, f->h, f->w, s->c,
                          s->h, s->w);
    }
    const dc_node *f = &b->net->nodes[ins[0]];
    dc_node *nd = push_node(b, DC_OP_CONCAT_SHUFFLE, "concat_shuffle", ins, n, n * per, f->h,
                            f->w);
    if (!nd)
        return -1;
    nd->shuffle.groups = n;
    return node_id(b, nd);
}

int dc_b_act(dc_builder *b, int in, dc_act act)
{
    dc_node *nd = push_like(b, DC_OP_ACT, "act", &in, 1);
    if (!nd)
        return -1;
    nd->eltwise.act = act;
    return node_id(b, nd);
}

/* ---- transformers (ConvNeXt, Swin) -------------------------------------- */

int dc_b_layernorm(dc_builder *b, int in, const char *name, double eps)
{
    dc_node *nd = push_like(b, DC_OP_LAYERNORM, name, &in, 1);
    if (!nd)
        return -1;
    dc_layernorm_params *p = &nd->layernorm;
    p->eps = (float)eps;
    int c = nd->c;
    bool ok1, ok2;
    p->gamma = node_param(b, nd, (size_t)c, &ok1);
    p->beta = node_param(b, nd, (size_t)c, &ok2);
    if (!ok1 || !ok2)
        return -1;
    int64_t shape[1] = { c };
    if (!read_tensor(b, dc_b_key(name, "weight"), 1, shape, p->gamma, true) ||
        !read_tensor(b, dc_b_key(name, "bias"), 1, shape, p->beta, true))
        return -1;
    set_module(nd, name, DC_ACT_NONE);
    return node_id(b, nd);
}

int dc_b_pixel_linear(dc_builder *b, int in, const char *name, int cout, bool has_bias,
                      const char *layer_scale, dc_act act)
{
    dc_node *nd = push_conv(b, in, name, cout, 1, 1, 0, 1, act);
    if (!nd)
        return -1;
    dc_conv_params *p = &nd->conv;
    int cin = p->shape.cin;
    int64_t ws[2] = { cout, cin }, bs[1] = { cout }, ls[3] = { cout, 1, 1 };
    if (!read_tensor(b, dc_b_key(name, "weight"), 2, ws, p->weight, true) ||
        (has_bias && !read_tensor(b, dc_b_key(name, "bias"), 1, bs, p->bias, true)))
        return -1;
    if (!layer_scale) {
        set_module(nd, name, act);
        return node_id(b, nd);
    }
    bool ok;
    float *scale = alloc_param(b, (size_t)cout, &ok);
    if (!ok)
        return -1;
    if (!read_tensor(b, layer_scale, 3, ls, scale, true)) {
        free(scale);
        return -1;
    }
    /* fold: scale * (W x + b) = (scale W) x + scale b, row by row */
    for (int o = 0; scale && o < cout; o++) {
        for (int i = 0; i < cin; i++)
            p->weight[(size_t)o * cin + i] *= scale[o];
        p->bias[o] *= scale[o];
    }
    free(scale);
    return node_id(b, nd);
}

int dc_b_patch_merge(dc_builder *b, int in)
{
    if (!valid_input(b, in))
        return -1;
    const dc_node *src = &b->net->nodes[in];
    dc_node *nd = push_node(b, DC_OP_PATCH_MERGE, "patch_merge", &in, 1, 4 * src->c,
                            (src->h + 1) / 2, (src->w + 1) / 2);
    return nd ? node_id(b, nd) : -1;
}

/* A buffer of the state_dict that the builder computes itself (Swin's relative position
 * index and coordinate table): not a parameter, and when a file is read its copy must
 * hold the same values, within tol. Where got is not NULL, the file's values are stored
 * there (want's, without a file). */
static bool check_buffer(dc_builder *b, const char *key, int ndim, const int64_t *shape,
                         const float *want, size_t n, double tol, float *got)
{
    if (!b->weights) {
        if (got)
            memcpy(got, want, n * sizeof *got);
        return true;
    }
    float *buf = got ? got : dc_malloc(n * sizeof *buf);
    if (!buf) {
        b_fail(b, DC_ERR_NOMEM, "out of memory reading %s", key);
        return false;
    }
    bool ok = read_tensor(b, key, ndim, shape, buf, false);
    for (size_t i = 0; ok && i < n; i++)
        if (!(fabs((double)buf[i] - (double)want[i]) <= tol)) {
            b_fail(b, DC_ERR_FORMAT, "%s: %s[%zu] = %g, but torchvision's %s has %g",
                   b->weights->path, key, i, (double)buf[i], b->net->arch,
                   (double)want[i]);
            ok = false;
        }
    if (!got)
        free(buf);
    return ok;
}

/* torchvision's relative_position_index of a ws x ws window, as floats: for tokens
 * a = (ya, xa) and c = (yc, xc), (ya - yc + ws - 1) * (2 ws - 1) + (xa - xc + ws - 1). */
static void relative_position_index(int ws, float *index)
{
    int n = ws * ws;
    for (int a = 0; a < n; a++)
        for (int c = 0; c < n; c++)
            index[(size_t)a * n + c] =
                (float)((a / ws - c / ws + ws - 1) * (2 * ws - 1) + (a % ws - c % ws + ws - 1));
}

/* ShiftedWindowAttentionV2's relative_coords_table [2ws-1][2ws-1][2], in float32 as torch
 * computes it: d / (ws - 1) * 8, then sign(v) * log2(|v| + 1) / 3. */
static void relative_coords_table(int ws, float *table)
{
    int t = 2 * ws - 1;
    for (int i = 0; i < t; i++)
        for (int j = 0; j < t; j++)
            for (int k = 0; k < 2; k++) {
                float v = (float)((k == 0 ? i : j) - (ws - 1)) / (float)(ws - 1) * 8.0f;
                float r = log2f(fabsf(v) + 1.0f) / 3.0f;
                table[((size_t)i * t + j) * 2 + k] = v > 0.0f ? r : v < 0.0f ? -r : 0.0f;
            }
}

#define SWIN_V2_CPB_HIDDEN 512 /* cpb_mlp's hidden width in torchvision */

/* Swin V2's continuous position bias: the cpb_mlp (Linear(2, 512) + ReLU + Linear(512,
 * heads), no bias) on each entry of the coordinate table, giving table [T][heads]. */
static bool swin_v2_cpb(dc_builder *b, const char *prefix, int ws, int heads, float *table)
{
    int t = (2 * ws - 1) * (2 * ws - 1), hid = SWIN_V2_CPB_HIDDEN;
    char key[160];
    bool ok;
    float *coords = dc_malloc((size_t)t * 2 * sizeof *coords);
    float *want = dc_malloc((size_t)t * 2 * sizeof *want);
    float *w0 = alloc_param(b, (size_t)hid * 2, &ok);
    float *b0 = ok ? alloc_param(b, (size_t)hid, &ok) : NULL;
    float *w2 = ok ? alloc_param(b, (size_t)heads * hid, &ok) : NULL;
    if (!coords || !want || !ok) {
        free(coords), free(want), free(w0), free(b0), free(w2);
        b_fail(b, DC_ERR_NOMEM, "out of memory at %s", prefix);
        return false;
    }
    relative_coords_table(ws, want);
    int64_t cs[4] = { 1, 2 * ws - 1, 2 * ws - 1, 2 }, s0[2] = { hid, 2 }, s1[1] = { hid },
            s2[2] = { heads, hid };
    snprintf(key, sizeof key, "%s.relative_coords_table", prefix);
    ok = check_buffer(b, key, 4, cs, want, (size_t)t * 2, 1e-6, coords);
    snprintf(key, sizeof key, "%s.cpb_mlp.0.weight", prefix);
    ok = ok && read_tensor(b, key, 2, s0, w0, true);
    snprintf(key, sizeof key, "%s.cpb_mlp.0.bias", prefix);
    ok = ok && read_tensor(b, key, 1, s1, b0, true);
    snprintf(key, sizeof key, "%s.cpb_mlp.2.weight", prefix);
    ok = ok && read_tensor(b, key, 2, s2, w2, true);
    for (int e = 0; ok && table && e < t; e++) {
        double hidden[SWIN_V2_CPB_HIDDEN];
        for (int k = 0; k < hid; k++) {
            double v = b0[k] + (double)w0[2 * k] * coords[2 * e] +
                       (double)w0[2 * k + 1] * coords[2 * e + 1];
            hidden[k] = v > 0.0 ? v : 0.0;
        }
        for (int h = 0; h < heads; h++) {
            double acc = 0.0;
            for (int k = 0; k < hid; k++)
                acc += (double)w2[(size_t)h * hid + k] * hidden[k];
            table[(size_t)e * heads + h] = (float)acc;
        }
    }
    free(coords), free(want), free(w0), free(b0), free(w2);
    return ok;
}

int dc_b_window_attention(dc_builder *b, int in, const char *prefix, int heads, int window,
                          int shift, bool v2)
{
    if (!valid_input(b, in))
        return -1;
    const dc_node *src = &b->net->nodes[in];
    int c = src->c, h = src->h, w = src->w;
    if (heads < 1 || c % heads || window < 2 || shift < 0 || shift >= window)
        return b_fail(b, DC_ERR_ARG, "%s: %s: %d channels, %d heads, window %d, shift %d",
                      b->net->arch, prefix, c, heads, window, shift);
    dc_node *nd = push_like(b, DC_OP_WINDOW_ATTN, prefix, &in, 1);
    if (!nd)
        return -1;
    set_module(nd, prefix, DC_ACT_NONE);
    dc_wattn_params *p = &nd->attn;
    p->shape = (dc_wattn_shape){ .c = c, .h = h, .w = w, .heads = heads, .window = window,
                                 .shift = shift, .cosine = v2 };
    nd->macs = dc_window_attention_macs(&p->shape);
    int n = window * window, t = (2 * window - 1) * (2 * window - 1);
    /* read as the file has them, then packed for the kernel (dc_wattn_pack) */
    bool ok[9] = { true, true, true, true, true, true, true, true, true };
    float *qkv_w = alloc_param(b, (size_t)3 * c * c, &ok[0]);
    float *qkv_b = alloc_param(b, (size_t)3 * c, &ok[1]);
    float *proj_w = alloc_param(b, (size_t)c * c, &ok[2]);
    float *proj_b = alloc_param(b, (size_t)c, &ok[3]);
    float *pos_bias = alloc_param(b, (size_t)heads * n * n, &ok[4]);
    if (v2)
        p->logit_scale = node_param(b, nd, (size_t)heads, &ok[5]);
    float *table = alloc_param(b, (size_t)t * heads, &ok[6]);
    p->packed = node_param(b, nd, dc_wattn_packed_floats(&p->shape), &ok[7]);
    float *index = dc_malloc((size_t)n * n * sizeof *index);
    ok[8] = index != NULL;
    bool good = true;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        good = good && ok[i];
    if (!good) {
        free(qkv_w), free(qkv_b), free(proj_w), free(proj_b), free(pos_bias);
        free(table), free(index);
        return b_fail(b, DC_ERR_NOMEM, "out of memory at %s", prefix);
    }
    char key[160];
    int64_t wq[2] = { 3 * c, c }, bq[1] = { 3 * c }, wp[2] = { c, c }, bp[1] = { c },
            tb[2] = { t, heads }, ix[1] = { (int64_t)n * n }, ls[3] = { heads, 1, 1 };
    snprintf(key, sizeof key, "%s.qkv.weight", prefix);
    good = read_tensor(b, key, 2, wq, qkv_w, true);
    snprintf(key, sizeof key, "%s.qkv.bias", prefix);
    good = good && read_tensor(b, key, 1, bq, qkv_b, true);
    snprintf(key, sizeof key, "%s.proj.weight", prefix);
    good = good && read_tensor(b, key, 2, wp, proj_w, true);
    snprintf(key, sizeof key, "%s.proj.bias", prefix);
    good = good && read_tensor(b, key, 1, bp, proj_b, true);
    relative_position_index(window, index);
    snprintf(key, sizeof key, "%s.relative_position_index", prefix);
    good = good && check_buffer(b, key, 1, ix, index, (size_t)n * n, 0.0, NULL);
    if (!v2) {
        snprintf(key, sizeof key, "%s.relative_position_bias_table", prefix);
        good = good && read_tensor(b, key, 2, tb, table, true);
    } else {
        good = good && swin_v2_cpb(b, prefix, window, heads, table);
        snprintf(key, sizeof key, "%s.logit_scale", prefix);
        good = good && read_tensor(b, key, 3, ls, p->logit_scale, true);
    }
    if (good && p->packed) {
        /* pos_bias[h][a][c] = table[index[a][c]][h], V2 through 16 * sigmoid */
        for (int hh = 0; hh < heads; hh++)
            for (int e = 0; e < n * n; e++) {
                double v = table[(size_t)index[e] * heads + hh];
                pos_bias[(size_t)hh * n * n + e] = v2 ? (float)(16.0 / (1.0 + exp(-v))) : (float)v;
            }
        if (v2) {
            /* torch.clamp(logit_scale, max=log(100)).exp(); the k third of the qkv bias is
             * zeroed at every forward */
            for (int hh = 0; hh < heads; hh++) {
                float s = p->logit_scale[hh], cap = (float)log(100.0);
                p->logit_scale[hh] = expf(s < cap ? s : cap);
            }
            memset(qkv_b + c, 0, (size_t)c * sizeof *qkv_b);
        }
        dc_wattn_pack(&p->shape, qkv_w, qkv_b, proj_w, proj_b, pos_bias, p->packed);
    }
    free(qkv_w), free(qkv_b), free(proj_w), free(proj_b), free(pos_bias);
    free(table), free(index);
    return good ? node_id(b, nd) : -1;
}
