/*
 * ops.h — the operations a node can be (internal to the library): each op's parameters,
 * and the table that says how the runtime plans and runs it.
 *
 * An op lives in three places, each once:
 *  - here: its value of dc_op and its parameter struct (one member of dc_node's union,
 *    net.h, names it);
 *  - its table entry, a dc_op_def next to the functions it names (ops.c; the conv in
 *    ops_conv.c), listed in dc_ops[] by its dc_op;
 *  - its dc_b_* call in builder.c, which checks the input, reads the parameters by their
 *    state_dict names and pushes the node.
 * The runtime (net.c) knows no op by name: it looks each node's entry up in dc_ops[] (the
 * one exception is dc_net_fuse, a rewrite of conv + add). docs/architecture.md, "Adding an
 * operation", walks through one.
 */
#ifndef DC_LAYERS_OPS_H
#define DC_LAYERS_OPS_H

#include "base/pool.h"
#include "kernels/kernels.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    DC_OP_INPUT = 0,
    DC_OP_CONV,          /* dense or grouped conv (im2col + SGEMM), bias and act fused */
    DC_OP_DWCONV,        /* depthwise conv, direct loops */
    DC_OP_LINEAR,        /* reads its input flattened (c*h*w features) */
    DC_OP_MAXPOOL,
    DC_OP_AVGPOOL,
    DC_OP_ADAPTIVE_AVGPOOL, /* output size: the node's h x w */
    DC_OP_ADD,           /* element-wise sum of two inputs, then act */
    DC_OP_CONCAT,        /* along channels, inputs in order */
    DC_OP_SLICE,         /* channels [begin, begin + c) of the input */
    DC_OP_SHUFFLE,       /* ShuffleNet channel shuffle */
    DC_OP_CONCAT_SHUFFLE, /* concat of n equal inputs, then channel shuffle in n groups */
    DC_OP_ACT,           /* a standalone activation */
    DC_OP_SCALE_SHIFT,   /* a BatchNorm no conv precedes: per-channel affine, then act */
    DC_OP_SE,            /* squeeze-and-excitation: x * gate(fc2(act(fc1(mean(x))))) */
    DC_OP_LAYERNORM,     /* LayerNorm across the channels of each pixel (ConvNeXt, Swin) */
    DC_OP_PATCH_MERGE,   /* Swin's PatchMerging gather: 2x2 neighbours -> 4x channels */
    DC_OP_WINDOW_ATTN,   /* Swin's shifted-window self-attention, qkv and proj included */
    DC_OP_FUSED,         /* done by a later node it was fused into (dc_net_fuse): no work */
    DC_OP_COUNT
} dc_op;

/* ---- parameters, one struct per op -------------------------------------------------
 * Parameter arrays belong to the node (dc_node.tensors, freed with the net); the pointers
 * here point into them and are NULL in a shape-only net. Ops without a struct here
 * (input, concat, adaptive average pool, patch merge) need nothing but their shapes. */

/* DC_OP_CONV, DC_OP_DWCONV: torch.nn.Conv2d, weight [cout][cin/groups][kh][kw], bias [cout]
 * (a folded BatchNorm's, or zeros), then act. */
typedef struct {
    dc_conv_shape shape;
    dc_act act;
    bool residual;       /* DC_OP_CONV: inputs[1] is added before act (dc_net_fuse) */
    float *weight, *bias;
    /* set by dc_net_plan (ops_conv.c, conv_prepare) when the conv runs on weights
     * transformed at load; all NULL: im2col + SGEMM */
    float *winograd;     /* Winograd: the transformed weights of F(4x4,3x3)
                            (dc_winograd_transform_weights) or, when winograd2, of
                            F(2x2,3x3) (dc_winograd2_pack_weights) */
    bool winograd2;      /* the F(2x2,3x3) kernel (kernels/winograd2.c) */
    int w2_samples;      /* winograd2: samples one product takes (dc_winograd2_samples) */
    float *winograd_packed; /* F(4x4) in batches: U packed for gemm_packed.c, or NULL */
    float *packed;       /* dc_conv_packed (a small map at small batches): the weights
                            packed for kernels/gemm_packed.c */
    bool direct;         /* dc_small_conv2d_range (no transform): a stem, or a grouped
                            conv of few channels a group, group by group (or, with
                            direct_wino, of up to 64) */
    float *direct_wino;  /* direct and grouped, where dc_small_conv_wino_pays: each
                            group's weights for dc_small_conv_wino_range, else NULL */
} dc_conv_params;

/* DC_OP_LINEAR: torch.nn.Linear on the flattened input, weight [c][in_features], then act. */
typedef struct {
    int in_features;
    dc_act act;
    float *weight, *bias;
} dc_linear_params;

/* DC_OP_MAXPOOL, DC_OP_AVGPOOL: torch.nn.MaxPool2d / AvgPool2d (square windows). */
typedef struct {
    int k, stride, pad;
    bool ceil_mode;
    bool count_include_pad;  /* DC_OP_AVGPOOL */
} dc_pool_params;

/* DC_OP_ADD, DC_OP_ACT: the activation applied to the sum, or to the input. */
typedef struct {
    dc_act act;
} dc_eltwise_params;

/* DC_OP_SLICE: the first channel taken (the node's c says how many). */
typedef struct {
    int begin;
} dc_slice_params;

/* DC_OP_SHUFFLE: torchvision's channel_shuffle(x, groups). DC_OP_CONCAT_SHUFFLE: the
 * same of the concat of `groups` inputs of equal width. */
typedef struct {
    int groups;
} dc_shuffle_params;

/* DC_OP_SCALE_SHIFT: out = act(scale[c] * x + shift[c]), an eval-mode BatchNorm2d. */
typedef struct {
    dc_act act;
    float *scale, *shift;
} dc_scale_shift_params;

/* DC_OP_SE: torchvision.ops.SqueezeExcitation; fc1 [squeeze][c] then act, fc2 [c][squeeze]
 * then gate (sigmoid, hardsigmoid). */
typedef struct {
    int squeeze;
    dc_act act, gate;
    float *fc1_weight, *fc1_bias, *fc2_weight, *fc2_bias;
} dc_se_params;

/* DC_OP_LAYERNORM: torch.nn.LayerNorm(c, eps) across the channels of each pixel. */
typedef struct {
    float eps;
    float *gamma, *beta;
} dc_layernorm_params;

/* DC_OP_WINDOW_ATTN: the qkv and proj linears with their biases and the position bias,
 * packed by dc_wattn_pack at load, and logit_scale [heads] (V2 only; NULL for V1), as
 * dc_window_attention takes them. */
typedef struct {
    dc_wattn_shape shape;
    float *packed, *logit_scale;
} dc_wattn_params;

/* DC_OP_FUSED: the node that does this one's work. */
typedef struct {
    int into;
} dc_fused_params;

/* ---- the op table ------------------------------------------------------------------ */

typedef struct dc_node dc_node;
typedef struct dc_run_state dc_run_state;
typedef struct dc_op_job dc_op_job;

/*
 * One op's entry: everything the runtime does with a node of that op. A NULL function
 * means "nothing to do" for that step. The table is read-only and shared by all nets.
 */
typedef struct {
    const char *name;    /* in profiles, dumps and `dualcnn bench --layers` */
    /* Plan time, after fusion, once per node: transforms parameters for the runtime (the
     * conv: Winograd weights where they pay at batch max_batch). May allocate; a failed
     * allocation leaves the node on its plain path. */
    void (*prepare)(dc_node *nd, int max_batch);
    /* Floats of per-thread scratch one task needs for up to max_batch samples. */
    size_t (*workspace_floats)(const dc_node *nd, int max_batch);
    /* Floats of one scratch matrix that all threads share while the node runs. */
    size_t (*shared_floats)(const dc_node *nd);
    /* Cuts the node's work for job->n samples into tasks and runs them on the pool,
     * normally with dc_op_run_tasks. NULL: the node computes nothing (input, fused). */
    void (*run)(dc_op_job *job, dc_pool *pool);
    /* One task, on a pool thread, with that thread's scratch (workspace_floats floats). */
    void (*task)(const dc_op_job *job, int task, float *scratch);
} dc_op_def;

/* The table, indexed by dc_op; every op has an entry. */
extern const dc_op_def *const dc_ops[DC_OP_COUNT];

/* The entry of op (programming error: op out of range). */
const dc_op_def *dc_op_def_of(dc_op op);

/* The op's name, "?" when op is out of range. */
const char *dc_op_name(dc_op op);

/* How a conv or depthwise node runs at a batch of `batch`, in a few words ("Winograd
 * F(4x4)", "im2col + SGEMM", ...), as planned (ops_conv.c): for `bench --layers`. */
const char *dc_conv_method(const dc_node *nd, int batch);

/* ---- for the ops' run and task functions ---------------------------------------------
 * How a node's work is shared among threads: a node over n samples becomes n * parts
 * tasks, task t being part (t % parts) of sample (t / parts), except for the ops that
 * treat the batch as one (linear, add, act), whose parts span all samples. What a part is
 * depends on the op (a range of channels, pixels, bands; the conv's own split: ops_conv.c).
 * Small nodes are one task: a hand-off costs about a microsecond. docs/threads.md has the
 * table of splits.
 */
struct dc_op_job {
    const struct dc_net *net;
    dc_run_state *rs;      /* the pass's buffers: the net's own or a dc_ctx's */
    const dc_node *nd;
    int n;                 /* samples */
    int first;             /* the pass's sample that is this job's sample 0 (a depth-first
                              head's chunk, net.c); dc_op_data and dc_op_out start there */
    int parts;             /* tasks per sample (or in all, for batch-wide ops) */
    int threads;           /* threads the node is cut for (dc_net_cut_threads) */
};

/* Work below this many floats touched (or MACs / 8 for convs) runs as one task. */
#define DC_PARALLEL_MIN 16384

/* The data of node id for the job's samples (id 0: the caller's input). */
const float *dc_op_data(const dc_op_job *job, int id);

/* The node's own output, the job's samples. */
float *dc_op_out(const dc_op_job *job);

/* [begin, end) of part i when `total` items are split into `parts` near-equal ranges. */
void dc_split_range(int total, int parts, int i, int *begin, int *end);

/* How many parts (at most `items`) give each of `threads` threads about two tasks, given
 * that the batch already supplies n; 1 when the work (floats or MACs) is too small. */
int dc_op_parts(int items, int n, int threads, size_t work);

/* The scratch of thread `thread` for this pass (dc_net.workspace_floats floats): what a
 * task gets, and what an op's own pool jobs hand their tasks. */
float *dc_op_thread_workspace(const dc_op_job *job, int thread);

/* Runs tasks [0, tasks) of job on the pool, on at most job->rs->max_threads of its threads
 * (0: all): each calls the node's task function. */
void dc_op_run_tasks(dc_op_job *job, dc_pool *pool, int tasks);

/* OpenBLAS must not start threads of its own (docs/threads.md): every thread that calls
 * BLAS calls this first. */
void dc_blas_single_thread(void);

/* The conv's entry (ops_conv.c). */
extern const dc_op_def dc_op_conv;

#endif /* DC_LAYERS_OPS_H */
