/*
 * net.c — planning and running a net (see net.h): the forward pass is one loop over
 * the nodes in order, each node calling its kernel on the arena.
 */
#include "layers/net.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const op_names[DC_OP_COUNT] = {
    [DC_OP_INPUT] = "input",     [DC_OP_CONV] = "conv",
    [DC_OP_DWCONV] = "dwconv",   [DC_OP_LINEAR] = "linear",
    [DC_OP_MAXPOOL] = "maxpool", [DC_OP_AVGPOOL] = "avgpool",
    [DC_OP_ADAPTIVE_AVGPOOL] = "adaptive_avgpool",
    [DC_OP_ADD] = "add",         [DC_OP_CONCAT] = "concat",
    [DC_OP_SLICE] = "slice",     [DC_OP_SHUFFLE] = "shuffle",
    [DC_OP_ACT] = "act",
    [DC_OP_SCALE_SHIFT] = "bn",  [DC_OP_SE] = "se",
    [DC_OP_LAYERNORM] = "ln",    [DC_OP_PATCH_MERGE] = "merge",
    [DC_OP_WINDOW_ATTN] = "wattn",
};

const char *dc_op_name(dc_op op)
{
    return (op >= 0 && op < DC_OP_COUNT && op_names[op]) ? op_names[op] : "?";
}

dc_net *dc_net_new(void)
{
    dc_net *net = calloc(1, sizeof *net);
    if (net)
        net->output = -1;
    return net;
}

void dc_net_free(dc_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_nodes; i++) {
        free(net->nodes[i].inputs);
        free(net->nodes[i].weight);
        free(net->nodes[i].bias);
        free(net->nodes[i].weight2);
        free(net->nodes[i].bias2);
        free(net->nodes[i].pos_bias);
        free(net->nodes[i].logit_scale);
    }
    free(net->nodes);
    if (net->class_names)
        for (int i = 0; i < net->num_classes; i++)
            free(net->class_names[i]);
    free(net->class_names);
    free(net->arena);
    free(net->workspace);
    free(net);
}

void dc_set_threads(int n)
{
    if (n <= 0)
        return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

/* ---- planning ----------------------------------------------------------- */

/* Floats of the shared scratch a node needs while it runs (one sample at a time). */
static size_t node_workspace_floats(const dc_node *nd)
{
    switch (nd->op) {
    case DC_OP_CONV:
        return dc_conv2d_workspace_floats(&nd->conv);
    case DC_OP_SE:
        return 2 * (size_t)nd->c + (size_t)nd->squeeze;
    case DC_OP_WINDOW_ATTN:
        return dc_window_attention_workspace_floats(&nd->attn);
    default:
        return 0;
    }
}

dc_status dc_net_plan(dc_net *net, int max_batch, dc_error *err)
{
    int n = net->n_nodes;
    if (n < 2 || net->nodes[0].op != DC_OP_INPUT)
        return dc_fail(err, DC_ERR_ARG, "%s: a net needs an input node and one more",
                       net->arch);
    if (max_batch < 1)
        return dc_fail(err, DC_ERR_ARG, "max batch %d must be at least 1", max_batch);
    if (net->output < 0)
        net->output = n - 1;

    size_t *sizes = calloc((size_t)n, sizeof *sizes);
    size_t *offsets = calloc((size_t)n, sizeof *offsets);
    int *first = calloc((size_t)n, sizeof *first);
    int *last = calloc((size_t)n, sizeof *last);
    if (!sizes || !offsets || !first || !last) {
        free(sizes), free(offsets), free(first), free(last);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory planning", net->arch);
    }
    size_t ws = 0;
    for (int i = 0; i < n; i++) {
        dc_node *nd = &net->nodes[i];
        first[i] = last[i] = nd->last_use = i;
        for (int j = 0; j < nd->n_inputs; j++) {
            dc_node *src = &net->nodes[nd->inputs[j]];
            if (src->last_use < i)
                src->last_use = i;
        }
        size_t need = node_workspace_floats(nd);
        if (need > ws)
            ws = need;
    }
    net->nodes[net->output].last_use = n; /* the logits outlive the loop */
    for (int i = 0; i < n; i++) {
        last[i] = net->nodes[i].last_use;
        /* the input lives in the caller's buffer, not in the arena */
        sizes[i] = i == 0 ? 0 : dc_node_numel(&net->nodes[i]) * (size_t)max_batch;
    }
    size_t total = dc_arena_plan(n, sizes, first, last, offsets);
    for (int i = 0; i < n; i++)
        net->nodes[i].offset = offsets[i];
    free(sizes), free(offsets), free(first), free(last);
    if (total == (size_t)-1)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory planning", net->arch);

    free(net->arena);
    free(net->workspace);
    net->arena = aligned_alloc(64, (total ? total : 16) * sizeof(float));
    net->workspace = aligned_alloc(64, ((ws + 15) / 16 * 16 + 16) * sizeof(float));
    if (!net->arena || !net->workspace)
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot allocate %zu MB of activations",
                       net->arch, total * sizeof(float) >> 20);
    net->arena_floats = total;
    net->workspace_floats = ws;
    net->max_batch = max_batch;
    return DC_OK;
}

/* ---- running ------------------------------------------------------------ */

static const float *node_data(const dc_net *net, int id)
{
    return id == 0 ? net->input : net->arena + net->nodes[id].offset;
}

double dc_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Squeeze-and-excitation of one sample (torchvision.ops.SqueezeExcitation): the channel
 * means go through two 1x1 convs (fc1 with act, fc2 with the gate), and each channel of
 * the input is scaled by its gate. Scratch: the net's workspace. */
static void run_se(dc_net *net, const dc_node *nd, const float *in, float *out)
{
    float *pooled = net->workspace, *hidden = pooled + nd->c, *gate = hidden + nd->squeeze;
    dc_adaptive_avgpool2d(nd->c, nd->h, nd->w, 1, 1, in, pooled);
    dc_linear(1, nd->c, nd->squeeze, pooled, nd->weight, nd->bias, nd->act, hidden);
    dc_linear(1, nd->squeeze, nd->c, hidden, nd->weight2, nd->bias2, nd->gate, gate);
    dc_channel_scale(nd->c, nd->h * nd->w, gate, in, out);
}

/* Runs node id for n samples. Every op reads its inputs sample by sample: sample s of
 * node k starts at node_data(k) + s * numel(k). */
static void run_node(dc_net *net, int id, int n)
{
    dc_node *nd = &net->nodes[id];
    float *out = net->arena + nd->offset;
    size_t out_numel = dc_node_numel(nd);
    const dc_node *src = nd->n_inputs > 0 ? &net->nodes[nd->inputs[0]] : NULL;
    const float *in = src ? node_data(net, nd->inputs[0]) : NULL;
    size_t in_numel = src ? dc_node_numel(src) : 0;

    switch (nd->op) {
    case DC_OP_INPUT:
    case DC_OP_COUNT:
        break;
    case DC_OP_CONV:
        for (int s = 0; s < n; s++)
            dc_conv2d(&nd->conv, in + s * in_numel, nd->weight, nd->bias, nd->act,
                      out + s * out_numel, net->workspace);
        break;
    case DC_OP_DWCONV:
        for (int s = 0; s < n; s++)
            dc_depthwise_conv2d(&nd->conv, in + s * in_numel, nd->weight, nd->bias,
                                nd->act, out + s * out_numel);
        break;
    case DC_OP_LINEAR:
        dc_linear(n, nd->in_features, nd->c, in, nd->weight, nd->bias, nd->act, out);
        break;
    case DC_OP_MAXPOOL:
        for (int s = 0; s < n; s++)
            dc_maxpool2d(src->c, src->h, src->w, nd->k, nd->stride, nd->pad, nd->ceil_mode,
                         in + s * in_numel, out + s * out_numel);
        break;
    case DC_OP_AVGPOOL:
        for (int s = 0; s < n; s++)
            dc_avgpool2d(src->c, src->h, src->w, nd->k, nd->stride, nd->pad, nd->ceil_mode,
                         nd->count_include_pad, in + s * in_numel, out + s * out_numel);
        break;
    case DC_OP_ADAPTIVE_AVGPOOL:
        for (int s = 0; s < n; s++)
            dc_adaptive_avgpool2d(src->c, src->h, src->w, nd->h, nd->w, in + s * in_numel,
                                  out + s * out_numel);
        break;
    case DC_OP_ADD:
        dc_add(in, node_data(net, nd->inputs[1]), out, out_numel * (size_t)n, nd->act);
        break;
    case DC_OP_CONCAT:
        for (int s = 0; s < n; s++) {
            float *dst = out + s * out_numel;
            for (int j = 0; j < nd->n_inputs; j++) {
                size_t m = dc_node_numel(&net->nodes[nd->inputs[j]]);
                memcpy(dst, node_data(net, nd->inputs[j]) + s * m, m * sizeof(float));
                dst += m;
            }
        }
        break;
    case DC_OP_SLICE:
        for (int s = 0; s < n; s++)
            memcpy(out + s * out_numel,
                   in + s * in_numel + (size_t)nd->begin * nd->h * nd->w,
                   out_numel * sizeof(float));
        break;
    case DC_OP_SHUFFLE:
        for (int s = 0; s < n; s++)
            dc_channel_shuffle(nd->c, nd->h * nd->w, nd->groups, in + s * in_numel,
                               out + s * out_numel);
        break;
    case DC_OP_ACT:
        memcpy(out, in, out_numel * (size_t)n * sizeof(float));
        dc_act_apply(nd->act, out, out_numel * (size_t)n);
        break;
    case DC_OP_SCALE_SHIFT:
        for (int s = 0; s < n; s++)
            dc_scale_shift(nd->c, nd->h * nd->w, nd->weight, nd->bias, nd->act,
                           in + s * in_numel, out + s * out_numel);
        break;
    case DC_OP_SE:
        for (int s = 0; s < n; s++)
            run_se(net, nd, in + s * in_numel, out + s * out_numel);
        break;
    case DC_OP_LAYERNORM:
        for (int s = 0; s < n; s++)
            dc_layernorm_channels(nd->c, nd->h * nd->w, nd->weight, nd->bias, nd->eps,
                                  in + s * in_numel, out + s * out_numel);
        break;
    case DC_OP_PATCH_MERGE:
        for (int s = 0; s < n; s++)
            dc_patch_merge(src->c, src->h, src->w, in + s * in_numel, out + s * out_numel);
        break;
    case DC_OP_WINDOW_ATTN:
        for (int s = 0; s < n; s++)
            dc_window_attention(&nd->attn, in + s * in_numel, nd->weight, nd->bias,
                                nd->weight2, nd->bias2, nd->pos_bias, nd->logit_scale,
                                out + s * out_numel, net->workspace);
        break;
    }
}

dc_status dc_net_forward(dc_net *net, const float *in, int n, float *out, dc_error *err)
{
    if (net->shape_only)
        return dc_fail(err, DC_ERR_ARG, "%s: a shape-only net cannot run", net->arch);
    if (n < 1 || n > net->max_batch)
        return dc_fail(err, DC_ERR_ARG, "%s: batch of %d samples; this net was planned "
                       "for 1..%d", net->arch, n, net->max_batch);
    net->input = in;
    for (int i = 1; i < net->n_nodes; i++) {
        double t0 = net->profiling ? dc_now_seconds() : 0.0;
        run_node(net, i, n);
        if (net->profiling) {
            net->nodes[i].seconds += dc_now_seconds() - t0;
            net->nodes[i].runs += n;
        }
    }
    const dc_node *o = &net->nodes[net->output];
    memcpy(out, net->arena + o->offset, dc_node_numel(o) * (size_t)n * sizeof(float));
    net->input = NULL;
    return DC_OK;
}

/* ---- information -------------------------------------------------------- */

dc_net_info dc_net_get_info(const dc_net *net)
{
    dc_net_info info = { 0 };
    info.arch = net->arch;
    info.dataset = net->dataset;
    info.in_c = net->in_c;
    info.in_h = net->in_h;
    info.in_w = net->in_w;
    info.num_classes = net->num_classes;
    memcpy(info.mean, net->mean, sizeof info.mean);
    memcpy(info.std, net->std, sizeof info.std);
    for (int i = 0; i < net->n_nodes; i++)
        info.macs += net->nodes[i].macs;
    info.params = net->params;
    info.num_nodes = net->n_nodes;
    info.max_batch = net->max_batch;
    info.arena_bytes = net->arena_floats * sizeof(float);
    return info;
}

const char *dc_net_class_name(const dc_net *net, int i)
{
    if (!net->class_names || i < 0 || i >= net->num_classes)
        return NULL;
    return net->class_names[i];
}

void dc_net_set_profiling(dc_net *net, int profile)
{
    net->profiling = profile != 0;
    for (int i = 0; i < net->n_nodes; i++) {
        net->nodes[i].seconds = 0.0;
        net->nodes[i].runs = 0;
    }
}

void dc_net_print_profile(const dc_net *net, void *file)
{
    FILE *f = file;
    double total = 0.0;
    for (int i = 1; i < net->n_nodes; i++)
        total += net->nodes[i].seconds;
    fprintf(f, "%4s  %-34s %-8s %-16s %10s %9s %8s %6s\n", "id", "node", "op", "output",
            "ms/sample", "MMACs", "GFLOP/s", "share");
    for (int i = 1; i < net->n_nodes; i++) {
        const dc_node *nd = &net->nodes[i];
        double per = nd->runs ? nd->seconds / (double)nd->runs : 0.0;
        double gflops = per > 0 ? 2.0 * (double)nd->macs / per * 1e-9 : 0.0;
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", nd->c, nd->h, nd->w);
        fprintf(f, "%4d  %-34.34s %-8s %-16s %10.4f %9.3f %8.2f %5.1f%%\n", i, nd->name,
                dc_op_name(nd->op), shape, per * 1e3, (double)nd->macs * 1e-6, gflops,
                total > 0 ? 100.0 * nd->seconds / total : 0.0);
    }
    int64_t macs = dc_net_get_info(net).macs;
    int64_t runs = net->n_nodes > 1 ? net->nodes[1].runs : 0;
    double per = runs ? total / (double)runs : 0.0;
    fprintf(f, "total: %.4f ms/sample, %.3f MMACs, %.2f GFLOP/s\n", per * 1e3,
            (double)macs * 1e-6, per > 0 ? 2.0 * (double)macs / per * 1e-9 : 0.0);
}
