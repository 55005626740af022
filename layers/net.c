/*
 * net.c — planning and running a net (see net.h): the forward pass is one loop over
 * the nodes in order, each node calling its kernel on the arena.
 */
#include "layers/net.h"
#include "base/alloc.h"

#include "base/pool.h"

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
    [DC_OP_WINDOW_ATTN] = "wattn", [DC_OP_FUSED] = "fused",
};

const char *dc_op_name(dc_op op)
{
    return (op >= 0 && op < DC_OP_COUNT && op_names[op]) ? op_names[op] : "?";
}

dc_net *dc_net_new(void)
{
    dc_net *net = dc_calloc(1, sizeof *net);
    if (net)
        net->output = -1;
    return net;
}

static void run_state_free(dc_run_state *rs)
{
    free(rs->arena);
    free(rs->workspace);
    free(rs->shared_cols);
    memset(rs, 0, sizeof *rs);
}

/* The arena and the shared im2col matrix of a planned net (the workspace comes with the
 * first pass, sized for the pool's threads). */
static dc_status run_state_alloc(const dc_net *net, dc_run_state *rs, dc_error *err)
{
    memset(rs, 0, sizeof *rs);
    /* without it, single-tile convs split by channels each redo their im2col */
    if (net->shared_floats)
        rs->shared_cols = dc_aligned_alloc(64, (net->shared_floats + 15) / 16 * 16 *
                                                   sizeof(float));
    size_t total = net->arena_floats;
    rs->arena = dc_aligned_alloc(64, (total ? total : 16) * sizeof(float));
    if (!rs->arena) {
        run_state_free(rs);
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot allocate %zu MB of activations",
                       net->arch, total * sizeof(float) >> 20);
    }
    return DC_OK;
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
        free(net->nodes[i].winograd);
        free(net->nodes[i].packed);
    }
    free(net->nodes);
    if (net->class_names)
        for (int i = 0; i < net->num_classes; i++)
            free(net->class_names[i]);
    free(net->class_names);
    run_state_free(&net->own);
    free(net);
}

void dc_set_threads(int n)
{
    if (n <= 0)
        return;
    dc_pool_set_default_threads(n);
}

/* OpenBLAS must not start threads of its own: the runtime splits the work and calls
 * SGEMM from its pool's threads (perf_notes.md, "Threads"). Debian's OpenMP build of
 * OpenBLAS re-reads omp_get_max_threads() of the calling thread on every call and would
 * fork an OpenMP team from inside each of our threads, so every thread that calls BLAS
 * sets its own OpenMP thread count to 1 first (a per-thread setting). */
static void blas_single_thread(void)
{
    static _Thread_local int done;
    if (!done) {
        omp_set_num_threads(1);
        openblas_set_num_threads(1);
        done = 1;
    }
}

/* ---- fusion -------------------------------------------------------------- */

/* Readers of each node (the output counts as one more). */
static int *count_readers(const dc_net *net)
{
    int *readers = dc_calloc((size_t)net->n_nodes, sizeof *readers);
    if (!readers)
        return NULL;
    for (int i = 0; i < net->n_nodes; i++)
        for (int j = 0; j < net->nodes[i].n_inputs; j++)
            readers[net->nodes[i].inputs[j]]++;
    if (net->output >= 0)
        readers[net->output]++;
    return readers;
}

/* A conv that can take the add `add` into its epilogue: dense (not depthwise), no
 * activation of its own, no residual yet, read by nothing else, same shape. */
static bool fusable_conv(const dc_net *net, const int *readers, int id, const dc_node *add)
{
    const dc_node *c = &net->nodes[id];
    return id > 0 && c->op == DC_OP_CONV && c->act == DC_ACT_NONE && !c->residual &&
           readers[id] == 1 && c->c == add->c && c->h == add->h && c->w == add->w;
}

void dc_net_fuse(dc_net *net)
{
    int *readers = count_readers(net);
    if (!readers)
        return; /* fusion is an optimisation: without memory, run unfused */
    for (int a = 1; a < net->n_nodes; a++) {
        dc_node *add = &net->nodes[a];
        if (add->op != DC_OP_ADD || add->n_inputs != 2 || add->inputs[0] == add->inputs[1])
            continue;
        /* the later of two candidate convs: the other input is then ready before it */
        int x = add->inputs[0], y = add->inputs[1];
        int conv = -1, other = -1;
        if (fusable_conv(net, readers, y, add) && (y > x || !fusable_conv(net, readers, x, add)))
            conv = y, other = x;
        else if (fusable_conv(net, readers, x, add))
            conv = x, other = y;
        if (conv < 0)
            continue;
        dc_node *c = &net->nodes[conv];
        dc_node fused = *c;
        fused.inputs = add->inputs; /* reuse the add's array of two: [conv input, other] */
        fused.inputs[0] = c->inputs[0];
        fused.inputs[1] = other;
        fused.n_inputs = 2;
        fused.residual = true;
        fused.act = add->act;
        /* its output is the add's: so is the PyTorch module it matches */
        memcpy(fused.module, add->module, sizeof fused.module);
        fused.module_act = add->module_act;
        fused.macs = c->macs + add->macs;
        /* the conv's slot keeps nothing: its parameters now belong to the fused node */
        char name[sizeof c->name];
        memcpy(name, c->name, sizeof name);
        free(c->inputs);
        memset(c, 0, sizeof *c);
        c->op = DC_OP_FUSED;
        c->fused_into = a;
        snprintf(c->name, sizeof c->name, "%s", name);
        c->c = fused.c, c->h = fused.h, c->w = fused.w;
        *add = fused;
    }
    free(readers);
}

/* ---- planning ----------------------------------------------------------- */

/* One group of a conv as a conv of its own (groups 1): what Winograd runs per group. */
static dc_conv_shape group_shape(const dc_conv_shape *s)
{
    dc_conv_shape g = *s;
    g.cin = s->cin / s->groups;
    g.cout = s->cout / s->groups;
    g.groups = 1;
    return g;
}

/* Packs the weights of a conv that runs faster by dc_conv_packed (small maps, small
 * batches); without memory for them it stays on im2col + SGEMM. */
static void choose_packed(dc_node *nd, int max_batch)
{
    if (nd->packed || !dc_conv_packed_pays(&nd->conv, max_batch) || dc_small_conv_pays(&nd->conv))
        return;
    nd->packed = dc_malloc(dc_conv_packed_weight_floats(&nd->conv) * sizeof(float));
    if (nd->packed)
        dc_conv_pack_weights(&nd->conv, nd->weight, nd->packed);
}

/* Gives every stride-1 3x3 conv where Winograd pays (dc_winograd_pays_in_batch: measured
 * on this kind of machine, docs/winograd.md) its transformed weights; the others stay
 * im2col + SGEMM. Without memory for the transform a conv simply stays on im2col. */
static void choose_winograd(dc_net *net, int max_batch)
{
    for (int i = 0; i < net->n_nodes; i++) {
        dc_node *nd = &net->nodes[i];
        if (nd->op != DC_OP_CONV || !nd->weight || nd->winograd)
            continue;
        /* a grouped conv (RegNet, groups of 64-128 channels) runs group by group */
        const dc_conv_shape g = group_shape(&nd->conv);
        if (nd->conv.groups == 1 && !dc_winograd_pays_in_batch(&g, max_batch) &&
            dc_winograd2_pays(&g, max_batch)) {
            nd->winograd = dc_malloc(dc_winograd2_weight_floats(&g) * sizeof(float));
            if (nd->winograd)
                dc_winograd2_pack_weights(&g, nd->weight, nd->winograd);
            nd->winograd2 = nd->winograd != NULL;
            continue;
        }
        if (!dc_winograd_pays_in_batch(&g, max_batch)) {
            choose_packed(nd, max_batch);
            continue;
        }
        const size_t per_group = dc_winograd_weight_floats(&g);
        const size_t w_group = (size_t)g.cout * g.cin * 9;
        nd->winograd = dc_malloc(per_group * (size_t)nd->conv.groups * sizeof(float));
        for (int k = 0; nd->winograd && k < nd->conv.groups; k++)
            dc_winograd_transform_weights(&g, nd->weight + k * w_group,
                                          nd->winograd + k * per_group);
    }
}

/* Whether a conv can run as a shared im2col then output-channel blocks (run_conv_shared):
 * dense, im2col-based, and its whole map one tile. */
static bool conv_can_share_cols(const dc_node *nd)
{
    const dc_conv_shape *s = &nd->conv;
    return nd->op == DC_OP_CONV && !nd->winograd && !nd->packed && s->groups == 1 &&
           !dc_conv_is_pointwise(s) &&
           dc_conv_tile_pixels(s) >= nd->h * nd->w && !dc_small_conv_pays(s);
}

/* Floats of scratch one thread needs while it runs one task of the node, for batches of
 * up to max_batch samples. */
static size_t node_workspace_floats(const dc_node *nd, int max_batch)
{
    switch (nd->op) {
    case DC_OP_CONV: {
        if (nd->winograd2)
            return dc_winograd2_workspace_floats(&nd->conv);
        if (nd->packed)
            return dc_conv_packed_workspace_floats(&nd->conv);
        if (nd->winograd) {
            const dc_conv_shape g = group_shape(&nd->conv);
            return dc_winograd_workspace_floats(&g, dc_winograd_tiles(&g));
        }
        size_t tile = dc_conv2d_tile_workspace_floats(&nd->conv);
        int samples = dc_conv_samples_per_tile(&nd->conv, max_batch);
        size_t batched = samples > 1 ? dc_conv2d_samples_workspace_floats(&nd->conv, samples) : 0;
        return tile > batched ? tile : batched;
    }
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
    dc_net_fuse(net);
    choose_winograd(net, max_batch);

    size_t *sizes = dc_calloc((size_t)n, sizeof *sizes);
    size_t *offsets = dc_calloc((size_t)n, sizeof *offsets);
    int *first = dc_calloc((size_t)n, sizeof *first);
    int *last = dc_calloc((size_t)n, sizeof *last);
    if (!sizes || !offsets || !first || !last) {
        free(sizes), free(offsets), free(first), free(last);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory planning", net->arch);
    }
    size_t ws = 0, shared = 0;
    for (int i = 0; i < n; i++) {
        dc_node *nd = &net->nodes[i];
        if (conv_can_share_cols(nd)) {
            size_t need = (size_t)nd->conv.cin * nd->conv.kh * nd->conv.kw * nd->h * nd->w;
            shared = need > shared ? need : shared;
        }
        first[i] = last[i] = nd->last_use = i;
        for (int j = 0; j < nd->n_inputs; j++) {
            dc_node *src = &net->nodes[nd->inputs[j]];
            if (src->last_use < i)
                src->last_use = i;
        }
        size_t need = node_workspace_floats(nd, max_batch);
        if (need > ws)
            ws = need;
    }
    net->nodes[net->output].last_use = n; /* the logits outlive the loop */
    for (int i = 0; i < n; i++) {
        last[i] = net->nodes[i].last_use;
        /* the input lives in the caller's buffer, fused nodes nowhere */
        bool stored = i > 0 && net->nodes[i].op != DC_OP_FUSED;
        sizes[i] = stored ? dc_node_numel(&net->nodes[i]) * (size_t)max_batch : 0;
    }
    size_t total = dc_arena_plan(n, sizes, first, last, offsets);
    for (int i = 0; i < n; i++)
        net->nodes[i].offset = offsets[i];
    free(sizes), free(offsets), free(first), free(last);
    if (total == (size_t)-1)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory planning", net->arch);

    run_state_free(&net->own);
    net->shared_floats = shared;
    net->workspace_floats = (ws + 15) / 16 * 16 + 16; /* per thread, 64-byte aligned */
    net->arena_floats = total;
    dc_status st = run_state_alloc(net, &net->own, err);
    if (st != DC_OK)
        return st;
    net->max_batch = max_batch;
    return DC_OK;
}

/* Makes sure every thread of the pool has its scratch; allocates only when the thread
 * count grew since the last pass. */
static dc_status ensure_workspace(const dc_net *net, dc_run_state *rs, int threads,
                                  dc_error *err)
{
    if (rs->workspace && rs->workspace_threads >= threads)
        return DC_OK;
    free(rs->workspace);
    rs->workspace = dc_aligned_alloc(64, net->workspace_floats * (size_t)threads * sizeof(float));
    rs->workspace_threads = rs->workspace ? threads : 0;
    if (!rs->workspace)
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot allocate %zu MB of scratch for %d "
                       "threads", net->arch,
                       net->workspace_floats * (size_t)threads * sizeof(float) >> 20, threads);
    return DC_OK;
}

/* ---- running ------------------------------------------------------------ */

static const float *node_data(const dc_net *net, const dc_run_state *rs, int id)
{
    return id == 0 ? rs->input : rs->arena + net->nodes[id].offset;
}

double dc_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*
 * How a node's work is shared among threads. A node over n samples becomes
 * n * parts tasks; task t is part (t % parts) of sample (t / parts) — except for the ops
 * that treat the batch as one (linear, add, act), whose parts span all samples. What a
 * part is depends on the op: for a conv, one (group, pixel tile, output-channel block);
 * for channel-wise ops, a range of channels; for window attention, a range of bands.
 * Small nodes are one task: a hand-off costs about a microsecond.
 */
typedef struct {
    const dc_net *net;
    dc_run_state *rs; /* the pass's buffers: the net's own or a dc_ctx's */
    const dc_node *nd;
    int n;            /* samples */
    int parts;        /* tasks per sample (or in all, for batch-wide ops) */
    /* conv: */
    int tile, ptiles, co_blocks, co_block;
    int samples;      /* > 1: each task takes this many samples as one GEMM (small maps) */
} node_job;

/* Work below this many floats touched (or MACs / 8 for convs) runs as one task. */
#define DC_PARALLEL_MIN 16384

/* [begin, end) of part i when `total` items are split into `parts` near-equal ranges. */
static void split_range(int total, int parts, int i, int *begin, int *end)
{
    *begin = (int)((int64_t)total * i / parts);
    *end = (int)((int64_t)total * (i + 1) / parts);
}

/* How many parts (at most `items`) give each of `threads` threads about two tasks,
 * given that the batch already supplies n. */
static int parts_for(int items, int n, int threads, size_t work)
{
    if (threads <= 1 || work < DC_PARALLEL_MIN)
        return 1;
    int want = (2 * threads + n - 1) / n;
    if (want < 1)
        want = 1;
    return want < items ? want : items;
}

/* Squeeze-and-excitation of one sample (torchvision.ops.SqueezeExcitation): the channel
 * means go through two 1x1 convs (fc1 with act, fc2 with the gate), and each channel of
 * the input is scaled by its gate. */
static void run_se(const dc_node *nd, const float *in, float *out, float *scratch)
{
    float *pooled = scratch, *hidden = pooled + nd->c, *gate = hidden + nd->squeeze;
    dc_adaptive_avgpool2d(nd->c, nd->h, nd->w, 1, 1, in, pooled);
    dc_linear(1, nd->c, nd->squeeze, pooled, nd->weight, nd->bias, nd->act, hidden);
    dc_linear(1, nd->squeeze, nd->c, hidden, nd->weight2, nd->bias2, nd->gate, gate);
    dc_channel_scale(nd->c, nd->h * nd->w, gate, in, out);
}

/* The input, the residual (NULL when none) and the output of sample `sample` of a conv. */
typedef struct {
    const float *in, *res;
    float *out;
} conv_io;

static conv_io conv_io_at(const node_job *job, int sample)
{
    const dc_node *nd = job->nd;
    const size_t in_numel = (size_t)nd->conv.cin * nd->conv.h * nd->conv.w;
    const size_t out_numel = dc_node_numel(nd);
    conv_io io = { node_data(job->net, job->rs, nd->inputs[0]) + sample * in_numel, NULL,
                   job->rs->arena + nd->offset + sample * out_numel };
    if (nd->residual)
        io.res = node_data(job->net, job->rs, nd->inputs[1]) + sample * out_numel;
    return io;
}

/* Output channels [*co0, *co1) of channel block cb when `total` are split in job's blocks. */
static void co_block_range(const node_job *job, int cb, int total, int *co0, int *co1)
{
    *co0 = cb * job->co_block;
    *co1 = *co0 + job->co_block < total ? *co0 + job->co_block : total;
}

/* Splits `total` output channels into at most `want` blocks (one when want < 2) of at least
 * min_rows rows each: sets job->co_block and job->co_blocks. */
static void split_channels(node_job *job, int total, int want, int min_rows)
{
    const int max_blocks = total / min_rows > 1 ? total / min_rows : 1;
    const int blocks = want < 1 ? 1 : want < max_blocks ? want : max_blocks;
    job->co_block = (total + blocks - 1) / blocks;
    job->co_blocks = (total + job->co_block - 1) / job->co_block;
}

/* Conv task over several samples at once: (sample block, group, output-channel block). */
static void conv_samples_task(const node_job *job, int task, float *scratch)
{
    const dc_node *nd = job->nd;
    const dc_conv_shape *s = &nd->conv;
    const int per_block = s->groups * job->co_blocks;
    const int first = task / per_block * job->samples;
    const int count = first + job->samples <= job->n ? job->samples : job->n - first;
    const int cb = task % per_block % job->co_blocks, g = task % per_block / job->co_blocks;
    int co0, co1;
    co_block_range(job, cb, s->cout / s->groups, &co0, &co1);
    const conv_io io = conv_io_at(job, first);
    dc_conv2d_samples(s, count, io.in, nd->weight, nd->bias, io.res, nd->act, io.out, g, co0,
                      co1, scratch);
}

/* Winograd conv task: (sample, range of 4x4 output tiles, output-channel block). */
static void winograd_task(const node_job *job, int task, float *scratch)
{
    const dc_node *nd = job->nd;
    const dc_conv_shape *s = &nd->conv, g = group_shape(s);
    const int per_group = job->ptiles * job->co_blocks;
    const int per_sample = s->groups * per_group;
    const int sample = task / per_sample, grp = task % per_sample / per_group;
    const int tp = task % per_group / job->co_blocks, cb = task % job->co_blocks;
    int t0, t1, co0, co1;
    split_range(dc_winograd_tiles(&g), job->ptiles, tp, &t0, &t1);
    co_block_range(job, cb, g.cout, &co0, &co1);
    const conv_io io = conv_io_at(job, sample);
    const size_t in_off = (size_t)grp * g.cin * s->h * s->w;   /* the group's channels */
    const size_t out_off = (size_t)grp * g.cout * nd->h * nd->w;
    dc_winograd_conv2d_residual(&g, io.in + in_off,
                                nd->winograd + grp * dc_winograd_weight_floats(&g),
                                nd->bias ? nd->bias + grp * g.cout : NULL,
                                io.res ? io.res + out_off : NULL, nd->act, io.out + out_off,
                                t0, t1, co0, co1, scratch);
}

/* Plans a Winograd conv: whole samples when the batch gives every thread one, else one
 * task per thread: the sample's tiles in ranges of at least 16 tiles (a range re-reads all
 * of U: docs/winograd.md), then output-channel blocks (each repeats the input transform).
 * No more tasks than threads: each split costs work. Returns the number of tasks. */
static int plan_winograd(node_job *job, int threads)
{
    const dc_conv_shape *conv = &job->nd->conv, g = group_shape(conv), *s = &g;
    const int tiles = dc_winograd_tiles(s);
    const int units = job->n * conv->groups;              /* (sample, group) pairs */
    const int want = (threads + units - 1) / units;        /* tasks per pair wanted */
    job->ptiles = 1;
    int more = 1; /* channel blocks wanted once the tiles are split */
    if (threads > 1 && want > 1) {
        int by_tiles = tiles / 16 > 1 ? tiles / 16 : 1;
        job->ptiles = want < by_tiles ? want : by_tiles;
        more = (want + job->ptiles - 1) / job->ptiles;
    }
    split_channels(job, s->cout, more, 32); /* at least 32 rows a block */
    return units * job->ptiles * job->co_blocks;
}

/* Winograd F(2x2) conv task: (sample, output-channel block); every task transforms the
 * sample's input itself (a small cost next to streaming its block of U). */
static void winograd2_task(const node_job *job, int task, float *scratch)
{
    const dc_node *nd = job->nd;
    int co0, co1;
    co_block_range(job, task % job->co_blocks, nd->conv.cout, &co0, &co1);
    const conv_io io = conv_io_at(job, task / job->co_blocks);
    dc_winograd2_conv2d(&nd->conv, io.in, nd->winograd, nd->bias, io.res, nd->act, io.out,
                        co0, co1, scratch);
}

/* Packed-weight conv task: (sample, output-channel block); every task makes its own
 * im2col (small next to streaming its block of the weights). */
static void packed_task(const node_job *job, int task, float *scratch)
{
    const dc_node *nd = job->nd;
    int co0, co1;
    co_block_range(job, task % job->co_blocks, nd->conv.cout, &co0, &co1);
    const conv_io io = conv_io_at(job, task / job->co_blocks);
    dc_conv_packed(&nd->conv, io.in, nd->packed, nd->bias, io.res, nd->act, io.out, co0, co1,
                   scratch);
}

/* Plans a conv on packed weights (Winograd F(2x2) or dc_conv_packed), `rows` output
 * channels a packed block: output-channel blocks of whole packed blocks (so none is
 * computed twice), about two per thread when the batch does not supply them. */
static int plan_packed(node_job *job, int threads, int rows)
{
    const int cout = job->nd->conv.cout;
    const int blocks = (cout + rows - 1) / rows;
    int want = threads > 1 ? (2 * threads + job->n - 1) / job->n : 1;
    want = want < blocks ? want : blocks;
    const int per = (blocks + want - 1) / want; /* U blocks per task */
    job->co_block = per * rows;
    job->co_blocks = (cout + job->co_block - 1) / job->co_block;
    return job->n * job->co_blocks;
}

/* Direct conv task for a stem (3 input channels): (sample, output-channel block). */
static void small_conv_task(const node_job *job, int task)
{
    const dc_node *nd = job->nd;
    const dc_conv_shape *s = &nd->conv;
    int co0, co1;
    co_block_range(job, task % job->co_blocks, s->cout, &co0, &co1);
    const conv_io io = conv_io_at(job, task / job->co_blocks);
    dc_small_conv2d_range(s, io.in, nd->weight, nd->bias, nd->act, io.out, co0, co1);
}

/* Whether a conv node runs the direct stem kernel (measured faster than im2col + SGEMM
 * for 3-channel 3x3 and 7x7 stems: kernels/small_conv.c). */
static bool uses_small_conv(const dc_node *nd)
{
    return !nd->winograd && !nd->residual && nd->conv.groups == 1 &&
           dc_small_conv_pays(&nd->conv);
}

/* Conv task: (sample, group, pixel tile, output-channel block). */
static void conv_task(const node_job *job, int task, float *scratch)
{
    const dc_node *nd = job->nd;
    const dc_conv_shape *s = &nd->conv;
    if (nd->winograd2) {
        winograd2_task(job, task, scratch);
        return;
    }
    if (nd->packed) {
        packed_task(job, task, scratch);
        return;
    }
    if (nd->winograd) {
        winograd_task(job, task, scratch);
        return;
    }
    if (uses_small_conv(nd)) {
        small_conv_task(job, task);
        return;
    }
    if (job->samples > 1) {
        conv_samples_task(job, task, scratch);
        return;
    }
    const int per_sample = s->groups * job->ptiles * job->co_blocks;
    const int sample = task / per_sample;
    int rest = task % per_sample;
    const int cb = rest % job->co_blocks;
    rest /= job->co_blocks;
    const int pt = rest % job->ptiles;
    const int g = rest / job->ptiles;

    const int npix = nd->h * nd->w;
    const int p0 = pt * job->tile, p1 = p0 + job->tile < npix ? p0 + job->tile : npix;
    int co0, co1;
    co_block_range(job, cb, s->cout / s->groups, &co0, &co1);
    const conv_io io = conv_io_at(job, sample);
    dc_conv2d_tile(s, io.in, nd->weight, nd->bias, io.res, nd->act, io.out, g, p0, p1, co0,
                   co1, scratch);
}

/* Plans a conv's tiles: pixel tiles from the kernel's cache rule, or for small maps in a
 * batch, blocks of samples as one GEMM (as many as the kernel asks for, fewer when that
 * would leave threads without two blocks each); output channels split further only when
 * samples x groups x tiles leave threads idle (each block then redoes its tile's im2col,
 * which is cheap next to the GEMM). Returns the number of tasks. */
static int plan_conv(node_job *job, int threads)
{
    const dc_conv_shape *s = &job->nd->conv;
    const int npix = job->nd->h * job->nd->w, cout_g = s->cout / s->groups;
    job->tile = dc_conv_tile_pixels(s);
    job->ptiles = (npix + job->tile - 1) / job->tile;
    job->samples = dc_conv_samples_per_tile(s, job->n);
    if (job->samples > 1) {
        int balanced = job->n / (2 * threads);
        if (balanced < job->samples)
            job->samples = balanced > 1 ? balanced : 1;
    }
    const int blocks = (job->n + job->samples - 1) / job->samples;
    const int have = (job->samples > 1 ? blocks : job->n) * s->groups * job->ptiles;
    const bool idle = threads > 1 && have < 2 * threads &&
                      (size_t)job->nd->macs > 8 * DC_PARALLEL_MIN;
    split_channels(job, cout_g, idle ? (2 * threads + have - 1) / have : 1, 16);
    if (job->samples > 1)
        return blocks * s->groups * job->co_blocks;
    job->parts = s->groups * job->ptiles * job->co_blocks;
    return job->n * job->parts;
}

/* One task of a node (see node_job). */
static void node_task(void *ctx, int task, int thread)
{
    const node_job *job = ctx;
    const dc_net *net = job->net;
    dc_run_state *rs = job->rs;
    const dc_node *nd = job->nd;
    blas_single_thread();
    float *scratch = rs->workspace + (size_t)thread * net->workspace_floats;
    if (nd->op == DC_OP_CONV) {
        conv_task(job, task, scratch);
        return;
    }

    const int sample = task / job->parts, part = task % job->parts;
    const dc_node *src = nd->n_inputs > 0 ? &net->nodes[nd->inputs[0]] : NULL;
    const size_t in_numel = src ? dc_node_numel(src) : 0, out_numel = dc_node_numel(nd);
    const float *in = src ? node_data(net, rs, nd->inputs[0]) + sample * in_numel : NULL;
    float *out = rs->arena + nd->offset + sample * out_numel;
    const size_t in_plane = src ? (size_t)src->h * src->w : 0;
    const size_t out_plane = (size_t)nd->h * nd->w;
    int c0, c1; /* this part's channels, for the channel-wise ops */
    split_range(nd->c, job->parts, part, &c0, &c1);

    switch (nd->op) {
    case DC_OP_INPUT:
    case DC_OP_CONV:
    case DC_OP_FUSED:
    case DC_OP_COUNT:
        break;
    case DC_OP_DWCONV:
        dc_depthwise_conv2d_range(&nd->conv, in, nd->weight, nd->bias, nd->act, out, c0, c1);
        break;
    case DC_OP_LINEAR: { /* parts over output features, all samples at once */
        int o0, o1;
        split_range(nd->c, job->parts, task, &o0, &o1);
        dc_linear_range(job->n, nd->in_features, nd->c, o0, o1, node_data(net, rs, nd->inputs[0]),
                        nd->weight, nd->bias, nd->act, rs->arena + nd->offset);
        break;
    }
    case DC_OP_MAXPOOL:
        dc_maxpool2d(c1 - c0, src->h, src->w, nd->k, nd->stride, nd->pad, nd->ceil_mode,
                     in + c0 * in_plane, out + c0 * out_plane);
        break;
    case DC_OP_AVGPOOL:
        dc_avgpool2d(c1 - c0, src->h, src->w, nd->k, nd->stride, nd->pad, nd->ceil_mode,
                     nd->count_include_pad, in + c0 * in_plane, out + c0 * out_plane);
        break;
    case DC_OP_ADAPTIVE_AVGPOOL:
        dc_adaptive_avgpool2d(c1 - c0, src->h, src->w, nd->h, nd->w, in + c0 * in_plane,
                              out + c0 * out_plane);
        break;
    case DC_OP_ADD:
    case DC_OP_ACT: { /* parts over the whole batch, flat */
        const size_t total = out_numel * (size_t)job->n;
        const size_t i0 = total * (size_t)task / (size_t)job->parts;
        const size_t i1 = total * (size_t)(task + 1) / (size_t)job->parts;
        const float *a = node_data(net, rs, nd->inputs[0]);
        float *o = rs->arena + nd->offset;
        if (nd->op == DC_OP_ADD) {
            dc_add(a + i0, node_data(net, rs, nd->inputs[1]) + i0, o + i0, i1 - i0, nd->act);
        } else {
            memcpy(o + i0, a + i0, (i1 - i0) * sizeof(float));
            dc_act_apply(nd->act, o + i0, i1 - i0);
        }
        break;
    }
    case DC_OP_CONCAT: {
        float *dst = out;
        for (int j = 0; j < nd->n_inputs; j++) {
            size_t m = dc_node_numel(&net->nodes[nd->inputs[j]]);
            memcpy(dst, node_data(net, rs, nd->inputs[j]) + sample * m, m * sizeof(float));
            dst += m;
        }
        break;
    }
    case DC_OP_SLICE:
        memcpy(out, in + (size_t)nd->begin * out_plane, out_numel * sizeof(float));
        break;
    case DC_OP_SHUFFLE:
        dc_channel_shuffle(nd->c, (int)out_plane, nd->groups, in, out);
        break;
    case DC_OP_SCALE_SHIFT:
        dc_scale_shift(c1 - c0, (int)out_plane, nd->weight + c0, nd->bias + c0, nd->act,
                       in + c0 * in_plane, out + c0 * out_plane);
        break;
    case DC_OP_SE:
        run_se(nd, in, out, scratch);
        break;
    case DC_OP_LAYERNORM: { /* parts over pixels: a pixel's channels are normalised together */
        int p0, p1;
        split_range((int)out_plane, job->parts, part, &p0, &p1);
        dc_layernorm_channels_range(nd->c, (int)out_plane, p0, p1, nd->weight, nd->bias,
                                    nd->eps, in, out);
        break;
    }
    case DC_OP_PATCH_MERGE:
        dc_patch_merge(src->c, src->h, src->w, in, out);
        break;
    case DC_OP_WINDOW_ATTN: {
        int b0, b1;
        split_range(dc_window_attention_bands(&nd->attn), job->parts, part, &b0, &b1);
        dc_window_attention_range(&nd->attn, in, nd->weight, nd->bias, nd->weight2,
                                  nd->bias2, nd->pos_bias, nd->logit_scale, out, b0, b1,
                                  scratch);
        break;
    }
    }
}

/* Step 1 of run_conv_shared: rows of the sample's im2col matrix. */
static void shared_cols_task(void *ctx, int task, int thread)
{
    (void)thread;
    const node_job *job = ctx;
    const dc_conv_shape *s = &job->nd->conv;
    int r0, r1;
    split_range(s->cin * s->kh * s->kw, job->parts, task, &r0, &r1);
    dc_im2col_rows(s, node_data(job->net, job->rs, job->nd->inputs[0]), r0, r1,
                   job->rs->shared_cols);
}

/* Step 2: one block of output channels from the shared matrix. */
static void shared_gemm_task(void *ctx, int task, int thread)
{
    const node_job *job = ctx;
    const dc_node *nd = job->nd;
    blas_single_thread();
    int co0, co1;
    co_block_range(job, task, nd->c, &co0, &co1);
    const conv_io io = conv_io_at(job, 0);
    dc_conv2d_from_cols(&nd->conv, job->rs->shared_cols, nd->weight, nd->bias, io.res,
                        nd->act, io.out, 0, nd->h * nd->w, co0, co1,
                        job->rs->workspace + (size_t)thread * job->net->workspace_floats);
}

/* A single-tile conv of one sample on several threads: the threads first build its im2col
 * matrix together, then each takes blocks of output channels from it, so no block redoes
 * the im2col (the alternative when channel blocks are needed: plan_conv). */
static void run_conv_shared(const dc_net *net, dc_run_state *rs, const dc_node *nd,
                            int threads, dc_pool *pool)
{
    node_job job = { .net = net, .rs = rs, .nd = nd, .n = 1 };
    const int k = nd->conv.cin * nd->conv.kh * nd->conv.kw;
    job.parts = 2 * threads < k ? 2 * threads : k;
    dc_pool_run_on(pool, rs->max_threads, job.parts, shared_cols_task, &job);
    split_channels(&job, nd->c, 2 * threads, 16);
    dc_pool_run_on(pool, rs->max_threads, job.co_blocks, shared_gemm_task, &job);
}

/* Runs node id for n samples on the pool. The node is cut for all of the pool's threads
 * even when rs->max_threads lets fewer run it: a per-call limit changes who runs the
 * tasks, never the tasks, so the outputs are the same bit for bit (docs/threads.md). */
static void run_node(const dc_net *net, dc_run_state *rs, int id, int n, dc_pool *pool)
{
    const dc_node *nd = &net->nodes[id];
    const int threads = dc_pool_threads(pool);
    const size_t numel = dc_node_numel(nd);
    node_job job = { .net = net, .rs = rs, .nd = nd, .n = n, .parts = 1 };
    int tasks;

    switch (nd->op) {
    case DC_OP_INPUT:
    case DC_OP_FUSED:
    case DC_OP_COUNT:
        return;
    case DC_OP_CONV:
        if (nd->winograd2) {
            tasks = plan_packed(&job, threads, dc_winograd2_rows(&nd->conv));
        } else if (nd->packed) {
            tasks = plan_packed(&job, threads, dc_conv_packed_rows(&nd->conv));
        } else if (nd->winograd) {
            tasks = plan_winograd(&job, threads);
        } else if (uses_small_conv(nd)) {
            /* output-channel blocks of at least 8 (the kernel's register block) */
            split_channels(&job, nd->conv.cout, threads > 1 ? (2 * threads + n - 1) / n : 1, 8);
            tasks = n * job.co_blocks;
        } else {
            tasks = plan_conv(&job, threads);
            if (n == 1 && job.co_blocks > 1 && rs->shared_cols && conv_can_share_cols(nd)) {
                run_conv_shared(net, rs, nd, threads, pool);
                return;
            }
        }
        break;
    case DC_OP_LINEAR:
        job.parts = parts_for(nd->c / 16 > 1 ? nd->c / 16 : 1, 1, threads,
                              (size_t)nd->in_features * nd->c);
        tasks = job.parts;
        break;
    case DC_OP_ADD:
    case DC_OP_ACT:
        job.parts = parts_for(threads * 2, 1, threads, numel * (size_t)n);
        tasks = job.parts;
        break;
    case DC_OP_DWCONV:
    case DC_OP_MAXPOOL:
    case DC_OP_AVGPOOL:
    case DC_OP_ADAPTIVE_AVGPOOL:
    case DC_OP_SCALE_SHIFT: {
        const dc_node *src = &net->nodes[nd->inputs[0]];
        size_t work = (size_t)src->c * src->h * src->w + numel;
        if (nd->op == DC_OP_DWCONV)
            work = (size_t)nd->macs;
        job.parts = parts_for(nd->c, n, threads, work * (size_t)n);
        tasks = n * job.parts;
        break;
    }
    case DC_OP_LAYERNORM:
        job.parts = parts_for(nd->h * nd->w, n, threads, numel * (size_t)n * 4);
        tasks = n * job.parts;
        break;
    case DC_OP_WINDOW_ATTN:
        job.parts = parts_for(dc_window_attention_bands(&nd->attn), n, threads,
                              (size_t)nd->macs * (size_t)n);
        tasks = n * job.parts;
        break;
    default: /* one task per sample */
        tasks = n;
        break;
    }
    dc_pool_run_on(pool, rs->max_threads, tasks, node_task, &job);
}

/* One forward pass of net over n samples, writing only rs (and, when profiling, the
 * net's own per-node counters: profile is the net itself then); observe, when not NULL,
 * sees each node's output as soon as it is computed (dc_net_forward_observed). */
static dc_status forward_in(const dc_net *net, dc_run_state *rs, dc_net *profile,
                            const float *in, int n, float *out, dc_node_observer observe,
                            void *ctx, dc_error *err)
{
    if (net->shape_only)
        return dc_fail(err, DC_ERR_ARG, "%s: a shape-only net cannot run", net->arch);
    if (n < 1 || n > net->max_batch)
        return dc_fail(err, DC_ERR_ARG, "%s: batch of %d samples; this net was planned "
                       "for 1..%d", net->arch, n, net->max_batch);
    blas_single_thread();
    dc_pool *pool = dc_pool_default();
    int runners = dc_pool_threads(pool); /* thread ids the tasks may see */
    if (rs->max_threads > 0 && rs->max_threads < runners)
        runners = rs->max_threads;
    dc_status st = ensure_workspace(net, rs, runners, err);
    if (st != DC_OK)
        return st;
    rs->input = in;
    if (observe)
        st = observe(ctx, 0, in, n, err);
    for (int i = 1; i < net->n_nodes && st == DC_OK; i++) {
        double t0 = profile ? dc_now_seconds() : 0.0;
        run_node(net, rs, i, n, pool);
        if (profile) {
            profile->nodes[i].seconds += dc_now_seconds() - t0;
            profile->nodes[i].runs += n;
        }
        if (observe && net->nodes[i].op != DC_OP_FUSED)
            st = observe(ctx, i, node_data(net, rs, i), n, err);
    }
    const dc_node *o = &net->nodes[net->output];
    if (st == DC_OK)
        memcpy(out, rs->arena + o->offset, dc_node_numel(o) * (size_t)n * sizeof(float));
    rs->input = NULL;
    return st;
}

dc_status dc_net_forward(dc_net *net, const float *in, int n, float *out, dc_error *err)
{
    return forward_in(net, &net->own, net->profiling ? net : NULL, in, n, out, NULL, NULL,
                      err);
}

dc_status dc_net_forward_observed(dc_net *net, const float *in, int n, float *out,
                                  dc_node_observer observe, void *ctx, dc_error *err)
{
    return forward_in(net, &net->own, net->profiling ? net : NULL, in, n, out, observe, ctx,
                      err);
}

/* ---- contexts: one net, several threads ---------------------------------- */

struct dc_ctx {
    const dc_net *net;
    dc_run_state rs;
};

dc_status dc_ctx_create(const dc_net *net, dc_ctx **out, dc_error *err)
{
    *out = NULL;
    if (net->shape_only)
        return dc_fail(err, DC_ERR_ARG, "%s: a shape-only net cannot run", net->arch);
    dc_ctx *c = dc_calloc(1, sizeof *c);
    if (!c)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", net->arch);
    c->net = net;
    dc_status st = run_state_alloc(net, &c->rs, err);
    if (st != DC_OK) {
        free(c);
        return st;
    }
    *out = c;
    return DC_OK;
}

dc_status dc_ctx_forward(dc_ctx *ctx, const float *in, int n, float *out, dc_error *err)
{
    return forward_in(ctx->net, &ctx->rs, NULL, in, n, out, NULL, NULL, err);
}

/* The per-call thread limit of a run state (dc_net_set_threads, dc_ctx_set_threads). */
static dc_status set_max_threads(dc_run_state *rs, const char *arch, int n, dc_error *err)
{
    if (n < 0)
        return dc_fail(err, DC_ERR_ARG, "%s: %d threads per pass; the count must be 0 (all "
                       "of the pool's) or more", arch, n);
    rs->max_threads = n;
    return DC_OK;
}

dc_status dc_ctx_set_threads(dc_ctx *ctx, int n, dc_error *err)
{
    return set_max_threads(&ctx->rs, ctx->net->arch, n, err);
}

dc_status dc_net_set_threads(dc_net *net, int n, dc_error *err)
{
    return set_max_threads(&net->own, net->arch, n, err);
}

void dc_ctx_free(dc_ctx *ctx)
{
    if (!ctx)
        return;
    run_state_free(&ctx->rs);
    free(ctx);
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
    info.resize = net->resize;
    info.bicubic = net->bicubic;
    for (int i = 0; i < net->n_nodes; i++)
        info.macs += net->nodes[i].macs;
    info.params = net->params;
    info.num_nodes = net->n_nodes;
    info.max_batch = net->max_batch;
    info.arena_bytes = net->arena_floats * sizeof(float);
    return info;
}

static const char *act_name(dc_act act)
{
    static const char *const names[] = {
        [DC_ACT_NONE] = "", [DC_ACT_RELU] = "relu", [DC_ACT_RELU6] = "relu6",
        [DC_ACT_SIGMOID] = "sigmoid", [DC_ACT_SILU] = "silu",
        [DC_ACT_HARDSIGMOID] = "hardsigmoid", [DC_ACT_HARDSWISH] = "hardswish",
        [DC_ACT_GELU] = "gelu",
    };
    return act >= 0 && (size_t)act < sizeof names / sizeof names[0] && names[act] ? names[act]
                                                                                  : "?";
}

dc_node_info dc_net_node_info(const dc_net *net, int id)
{
    const dc_node *nd = &net->nodes[id];
    dc_node_info info = {
        .name = nd->name, .op = nd->residual ? "conv+add" : dc_op_name(nd->op),
        .module = nd->module,
        .module_act = act_name(nd->module_act), .c = nd->c, .h = nd->h, .w = nd->w,
        .macs = nd->macs, .n_inputs = nd->n_inputs, .inputs = nd->inputs,
        .fused_into = nd->op == DC_OP_FUSED ? nd->fused_into : -1,
    };
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
        if (nd->op == DC_OP_FUSED)
            continue; /* its work is in the node it was fused into */
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
