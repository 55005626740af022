/*
 * ops.c — the op table (ops.h): for each op but the conv (ops_conv.c), what one task of
 * it computes and how the node is cut into tasks, then its entry; dc_ops[] at the end
 * lists the entries by op.
 */
#include "layers/net.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

/* ---- shared by the ops -------------------------------------------------------------- */

const float *dc_op_data(const dc_op_job *job, int id)
{
    const dc_node *src = &job->net->nodes[id];
    const float *base = id == 0 ? job->rs->input : job->rs->arena + src->offset;
    return base + (size_t)(src->head_chunked ? 0 : job->first) * dc_node_numel(src);
}

float *dc_op_out(const dc_op_job *job)
{
    const size_t first = job->nd->head_chunked ? 0 : (size_t)job->first;
    return job->rs->arena + job->nd->offset + first * dc_node_numel(job->nd);
}

void dc_split_range(int total, int parts, int i, int *begin, int *end)
{
    *begin = (int)((int64_t)total * i / parts);
    *end = (int)((int64_t)total * (i + 1) / parts);
}

int dc_op_parts(int items, int n, int threads, size_t work)
{
    if (threads <= 1 || work < DC_PARALLEL_MIN)
        return 1;
    int want = (2 * threads + n - 1) / n;
    if (want < 1)
        want = 1;
    return want < items ? want : items;
}

/* Debian's OpenMP build of OpenBLAS re-reads omp_get_max_threads() of the calling thread
 * on every call and would fork an OpenMP team from inside each of our threads, so every
 * thread that calls BLAS sets its own OpenMP thread count to 1 first (a per-thread
 * setting; docs/threads.md). */
void dc_blas_single_thread(void)
{
    static _Thread_local int done;
    if (!done) {
        omp_set_num_threads(1);
        openblas_set_num_threads(1);
        done = 1;
    }
}

float *dc_op_thread_workspace(const dc_op_job *job, int thread)
{
    return job->rs->workspace + (size_t)thread * job->net->workspace_floats;
}

static void op_task(void *ctx, int task, int thread)
{
    const dc_op_job *job = ctx;
    dc_blas_single_thread();
    float *scratch = dc_op_thread_workspace(job, thread);
    dc_ops[job->nd->op]->task(job, task, scratch);
}

void dc_op_run_tasks(dc_op_job *job, dc_pool *pool, int tasks)
{
    dc_pool_run_on(pool, job->rs->max_threads, tasks, op_task, job);
}

/* What task `task` of a per-sample op works on: part `part` of one sample, whose first
 * input is `in` (shaped as src) and output `out`. */
typedef struct {
    int part;
    const dc_node *src;
    const float *in;
    float *out;
} sample_io;

static sample_io sample_io_at(const dc_op_job *job, int task)
{
    const dc_node *nd = job->nd, *src = &job->net->nodes[nd->inputs[0]];
    const int sample = task / job->parts;
    sample_io io = { task % job->parts, src,
                     dc_op_data(job, nd->inputs[0]) + sample * dc_node_numel(src),
                     dc_op_out(job) + sample * dc_node_numel(nd) };
    return io;
}

/* Channels [*c0, *c1) of part io->part. */
static void part_channels(const dc_op_job *job, const sample_io *io, int *c0, int *c1)
{
    dc_split_range(job->nd->c, job->parts, io->part, c0, c1);
}

/* What task `task` of a per-channel op (pooling, affine) works on: `count` channels from
 * channel c0 of one sample, in and out pointing at channel c0 of its input and output. */
typedef struct {
    int c0, count;
    const dc_node *src;
    const float *in;
    float *out;
} channel_part;

static channel_part channel_part_at(const dc_op_job *job, int task)
{
    const sample_io io = sample_io_at(job, task);
    int c0, c1;
    part_channels(job, &io, &c0, &c1);
    const size_t in_plane = (size_t)io.src->h * io.src->w;
    const size_t out_plane = (size_t)job->nd->h * job->nd->w;
    channel_part cp = { c0, c1 - c0, io.src, io.in + c0 * in_plane, io.out + c0 * out_plane };
    return cp;
}

/* The usual splits: one task per sample; or ranges of channels, about two tasks a thread
 * for work worth splitting (floats read and written). */
static void run_per_sample(dc_op_job *job, dc_pool *pool)
{
    dc_op_run_tasks(job, pool, job->n);
}

static void run_by_channels(dc_op_job *job, dc_pool *pool)
{
    const dc_node *nd = job->nd, *src = &job->net->nodes[nd->inputs[0]];
    const size_t work = dc_node_numel(src) + dc_node_numel(nd);
    job->parts = dc_op_parts(nd->c, job->n, job->threads, work * (size_t)job->n);
    dc_op_run_tasks(job, pool, job->n * job->parts);
}

/* ---- input, fused: nothing to run ------------------------------------------------------ */

static const dc_op_def op_input = { .name = "input" };
static const dc_op_def op_fused = { .name = "fused" };

/* ---- depthwise conv: ranges of channels, split by MACs ------------------------------- */

static void dwconv_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_conv_params *p = &job->nd->conv;
    sample_io io = sample_io_at(job, task);
    int c0, c1;
    part_channels(job, &io, &c0, &c1);
    dc_depthwise_conv2d_range(&p->shape, io.in, p->weight, p->bias, p->act, io.out, c0, c1);
}

static void dwconv_run(dc_op_job *job, dc_pool *pool)
{
    const dc_node *nd = job->nd;
    job->parts = dc_op_parts(nd->c, job->n, job->threads,
                             (size_t)nd->macs * (size_t)job->n);
    dc_op_run_tasks(job, pool, job->n * job->parts);
}

static const dc_op_def op_dwconv = { .name = "dwconv", .run = dwconv_run, .task = dwconv_task };

/* ---- linear: blocks of output features, all samples at once --------------------------- */

static void linear_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    const dc_linear_params *p = &nd->linear;
    int o0, o1;
    dc_split_range(nd->c, job->parts, task, &o0, &o1);
    dc_linear_range(job->n, p->in_features, nd->c, o0, o1, dc_op_data(job, nd->inputs[0]),
                    p->weight, p->bias, p->act, dc_op_out(job));
}

static void linear_run(dc_op_job *job, dc_pool *pool)
{
    const dc_node *nd = job->nd;
    job->parts = dc_op_parts(nd->c / 16 > 1 ? nd->c / 16 : 1, 1, job->threads,
                             (size_t)nd->linear.in_features * nd->c);
    dc_op_run_tasks(job, pool, job->parts);
}

static const dc_op_def op_linear = { .name = "linear", .run = linear_run, .task = linear_task };

/* ---- pooling: ranges of channels ----------------------------------------------------- */

static void maxpool_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_pool_params *p = &job->nd->pool;
    const channel_part cp = channel_part_at(job, task);
    dc_maxpool2d(cp.count, cp.src->h, cp.src->w, p->k, p->stride, p->pad, p->ceil_mode, cp.in,
                 cp.out);
}

static const dc_op_def op_maxpool = { .name = "maxpool", .run = run_by_channels,
                                      .task = maxpool_task };

static void avgpool_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_pool_params *p = &job->nd->pool;
    const channel_part cp = channel_part_at(job, task);
    dc_avgpool2d(cp.count, cp.src->h, cp.src->w, p->k, p->stride, p->pad, p->ceil_mode,
                 p->count_include_pad, cp.in, cp.out);
}

static const dc_op_def op_avgpool = { .name = "avgpool", .run = run_by_channels,
                                      .task = avgpool_task };

static void adaptive_avgpool_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    const channel_part cp = channel_part_at(job, task);
    dc_adaptive_avgpool2d(cp.count, cp.src->h, cp.src->w, nd->h, nd->w, cp.in, cp.out);
}

static const dc_op_def op_adaptive_avgpool = { .name = "adaptive_avgpool",
                                               .run = run_by_channels,
                                               .task = adaptive_avgpool_task };

/* ---- add, act: slices of the flat batch ---------------------------------------------- */

/* [*i0, *i1): task's slice of the n samples' output floats. */
static void flat_range(const dc_op_job *job, int task, size_t *i0, size_t *i1)
{
    const size_t total = dc_node_numel(job->nd) * (size_t)job->n;
    *i0 = total * (size_t)task / (size_t)job->parts;
    *i1 = total * (size_t)(task + 1) / (size_t)job->parts;
}

static void run_flat(dc_op_job *job, dc_pool *pool)
{
    const int threads = job->threads;
    job->parts = dc_op_parts(threads * 2, 1, threads, dc_node_numel(job->nd) * (size_t)job->n);
    dc_op_run_tasks(job, pool, job->parts);
}

static void add_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    size_t i0, i1;
    flat_range(job, task, &i0, &i1);
    dc_add(dc_op_data(job, nd->inputs[0]) + i0, dc_op_data(job, nd->inputs[1]) + i0,
           dc_op_out(job) + i0, i1 - i0, nd->eltwise.act);
}

static const dc_op_def op_add = { .name = "add", .run = run_flat, .task = add_task };

static void act_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    size_t i0, i1;
    flat_range(job, task, &i0, &i1);
    float *o = dc_op_out(job) + i0;
    memcpy(o, dc_op_data(job, job->nd->inputs[0]) + i0, (i1 - i0) * sizeof(float));
    dc_act_apply(job->nd->eltwise.act, o, i1 - i0);
}

static const dc_op_def op_act = { .name = "act", .run = run_flat, .task = act_task };

/* ---- data movement: one task per sample ---------------------------------------------- */

static void concat_task(const dc_op_job *job, int sample, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    if (nd->in_place) /* its inputs were written where it lies (dc_net_plan) */
        return;
    float *dst = dc_op_out(job) + sample * dc_node_numel(nd);
    for (int j = 0; j < nd->n_inputs; j++) {
        size_t m = dc_node_numel(&job->net->nodes[nd->inputs[j]]);
        memcpy(dst, dc_op_data(job, nd->inputs[j]) + sample * m, m * sizeof(float));
        dst += m;
    }
}

static const dc_op_def op_concat = { .name = "concat", .run = run_per_sample,
                                     .task = concat_task };

/* channel_shuffle(cat(first nd->c / n channels of each input), n): channel j of input i
 * goes to output channel j * n + i, each plane copied once (slice, concat and shuffle
 * copied it three times). */
static void concat_shuffle_task(const dc_op_job *job, int sample, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    const int n = nd->n_inputs;
    float *dst = dc_op_out(job) + sample * dc_node_numel(nd);
    for (int i = 0; i < n; i++) {
        const size_t m = dc_node_numel(&job->net->nodes[nd->inputs[i]]); /* one sample */
        dc_shuffle_group(n, i, nd->c / n, nd->h * nd->w,
                         dc_op_data(job, nd->inputs[i]) + sample * m, dst);
    }
}

static const dc_op_def op_concat_shuffle = { .name = "concat_shuffle", .run = run_per_sample,
                                             .task = concat_shuffle_task };

static void slice_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    sample_io io = sample_io_at(job, task);
    const size_t plane = (size_t)nd->h * nd->w;
    memcpy(io.out, io.in + (size_t)nd->slice.begin * plane, dc_node_numel(nd) * sizeof(float));
}

static const dc_op_def op_slice = { .name = "slice", .run = run_per_sample,
                                    .task = slice_task };

static void shuffle_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    sample_io io = sample_io_at(job, task);
    dc_channel_shuffle(nd->c, nd->h * nd->w, nd->shuffle.groups, io.in, io.out);
}

static const dc_op_def op_shuffle = { .name = "shuffle", .run = run_per_sample,
                                      .task = shuffle_task };

static void patch_merge_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    sample_io io = sample_io_at(job, task);
    dc_patch_merge(io.src->c, io.src->h, io.src->w, io.in, io.out);
}

static const dc_op_def op_patch_merge = { .name = "merge", .run = run_per_sample,
                                          .task = patch_merge_task };

/* ---- per-channel affine (a BatchNorm alone): ranges of channels ----------------------- */

static void scale_shift_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_scale_shift_params *p = &job->nd->scale_shift;
    const channel_part cp = channel_part_at(job, task);
    dc_scale_shift(cp.count, job->nd->h * job->nd->w, p->scale + cp.c0, p->shift + cp.c0,
                   p->act, cp.in, cp.out);
}

static const dc_op_def op_scale_shift = { .name = "bn", .run = run_by_channels,
                                          .task = scale_shift_task };

/* ---- squeeze-and-excitation: one task per sample -------------------------------------- */

/* torchvision.ops.SqueezeExcitation on one sample: the channel means go through two 1x1
 * convs (fc1 with act, fc2 with the gate), and each channel of the input is scaled by its
 * gate. scratch: the means [c], fc1's output [squeeze], the gates [c]. */
static void se_task(const dc_op_job *job, int task, float *scratch)
{
    const dc_node *nd = job->nd;
    const dc_se_params *p = &nd->se;
    sample_io io = sample_io_at(job, task);
    float *pooled = scratch, *hidden = pooled + nd->c, *gate = hidden + p->squeeze;
    dc_adaptive_avgpool2d(nd->c, nd->h, nd->w, 1, 1, io.in, pooled);
    dc_linear(1, nd->c, p->squeeze, pooled, p->fc1_weight, p->fc1_bias, p->act, hidden);
    dc_linear(1, p->squeeze, nd->c, hidden, p->fc2_weight, p->fc2_bias, p->gate, gate);
    dc_channel_scale(nd->c, nd->h * nd->w, gate, io.in, io.out);
}

static size_t se_workspace_floats(const dc_node *nd, int max_batch)
{
    (void)max_batch;
    return 2 * (size_t)nd->c + (size_t)nd->se.squeeze;
}

static const dc_op_def op_se = { .name = "se", .workspace_floats = se_workspace_floats,
                                 .run = run_per_sample, .task = se_task };

/* ---- layer norm: ranges of pixels (a pixel's channels are normalised together) ------- */

static void layernorm_task(const dc_op_job *job, int task, float *scratch)
{
    (void)scratch;
    const dc_node *nd = job->nd;
    const dc_layernorm_params *p = &nd->layernorm;
    sample_io io = sample_io_at(job, task);
    const int plane = nd->h * nd->w;
    int p0, p1;
    dc_split_range(plane, job->parts, io.part, &p0, &p1);
    dc_layernorm_channels_range(nd->c, plane, p0, p1, p->gamma, p->beta, p->eps, io.in, io.out);
}

static void layernorm_run(dc_op_job *job, dc_pool *pool)
{
    const dc_node *nd = job->nd;
    job->parts = dc_op_parts(nd->h * nd->w, job->n, job->threads,
                             dc_node_numel(nd) * (size_t)job->n * 4);
    dc_op_run_tasks(job, pool, job->n * job->parts);
}

static const dc_op_def op_layernorm = { .name = "ln", .run = layernorm_run,
                                        .task = layernorm_task };

/* ---- window attention: ranges of bands (rows of windows) ----------------------------- */

static void wattn_task(const dc_op_job *job, int task, float *scratch)
{
    const dc_wattn_params *p = &job->nd->attn;
    sample_io io = sample_io_at(job, task);
    int b0, b1;
    dc_split_range(dc_window_attention_bands(&p->shape), job->parts, io.part, &b0, &b1);
    dc_window_attention_range(&p->shape, io.in, p->packed, p->logit_scale, io.out, b0, b1,
                              scratch);
}

static void wattn_run(dc_op_job *job, dc_pool *pool)
{
    const dc_node *nd = job->nd;
    job->parts = dc_op_parts(dc_window_attention_bands(&nd->attn.shape), job->n,
                             job->threads, (size_t)nd->macs * (size_t)job->n);
    dc_op_run_tasks(job, pool, job->n * job->parts);
}

static size_t wattn_workspace_floats(const dc_node *nd, int max_batch)
{
    (void)max_batch;
    return dc_window_attention_workspace_floats(&nd->attn.shape);
}

static const dc_op_def op_wattn = { .name = "wattn", .workspace_floats = wattn_workspace_floats,
                                    .run = wattn_run, .task = wattn_task };

/* ---- the table ---------------------------------------------------------------------- */

const dc_op_def *const dc_ops[DC_OP_COUNT] = {
    [DC_OP_INPUT] = &op_input,
    [DC_OP_CONV] = &dc_op_conv,
    [DC_OP_DWCONV] = &op_dwconv,
    [DC_OP_LINEAR] = &op_linear,
    [DC_OP_MAXPOOL] = &op_maxpool,
    [DC_OP_AVGPOOL] = &op_avgpool,
    [DC_OP_ADAPTIVE_AVGPOOL] = &op_adaptive_avgpool,
    [DC_OP_ADD] = &op_add,
    [DC_OP_CONCAT] = &op_concat,
    [DC_OP_SLICE] = &op_slice,
    [DC_OP_SHUFFLE] = &op_shuffle,
    [DC_OP_CONCAT_SHUFFLE] = &op_concat_shuffle,
    [DC_OP_ACT] = &op_act,
    [DC_OP_SCALE_SHIFT] = &op_scale_shift,
    [DC_OP_SE] = &op_se,
    [DC_OP_LAYERNORM] = &op_layernorm,
    [DC_OP_PATCH_MERGE] = &op_patch_merge,
    [DC_OP_WINDOW_ATTN] = &op_wattn,
    [DC_OP_FUSED] = &op_fused,
};

const dc_op_def *dc_op_def_of(dc_op op)
{
    assert(op >= 0 && op < DC_OP_COUNT && dc_ops[op]);
    return dc_ops[op];
}

const char *dc_op_name(dc_op op)
{
    return op >= 0 && op < DC_OP_COUNT && dc_ops[op] ? dc_ops[op]->name : "?";
}
