/*
 * net.h — the net as the runtime sees it (internal to the library).
 *
 * A net is a flat array of nodes in topological order: node i reads only nodes < i.
 * Every node produces one feature map of c x h x w floats per sample; the input node's
 * data is the caller's buffer, every other node's lives in the activation arena at the
 * offset the planner (arena.c) gave it. Parameters are owned by the nodes.
 *
 * Build (builder.h) -> plan (dc_net_plan) -> run (dc_net_forward) -> free.
 */
#ifndef DC_LAYERS_NET_H
#define DC_LAYERS_NET_H

#include "dualcnn.h"
#include "kernels/kernels.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    DC_OP_INPUT = 0,
    DC_OP_CONV,          /* dense or grouped conv (im2col + SGEMM), bias and act fused */
    DC_OP_DWCONV,        /* depthwise conv, direct loops */
    DC_OP_LINEAR,        /* reads its input flattened (c*h*w features) */
    DC_OP_MAXPOOL,
    DC_OP_AVGPOOL,
    DC_OP_ADAPTIVE_AVGPOOL,
    DC_OP_ADD,           /* element-wise sum of two inputs, then act */
    DC_OP_CONCAT,        /* along channels, inputs in order */
    DC_OP_SLICE,         /* channels [begin, begin + c) of the input */
    DC_OP_SHUFFLE,       /* ShuffleNet channel shuffle */
    DC_OP_ACT,           /* a standalone activation */
    DC_OP_SCALE_SHIFT,   /* a BatchNorm no conv precedes: per-channel affine, then act */
    DC_OP_SE,            /* squeeze-and-excitation: x * gate(fc2(act(fc1(mean(x))))) */
    DC_OP_LAYERNORM,     /* LayerNorm across the channels of each pixel (ConvNeXt, Swin) */
    DC_OP_PATCH_MERGE,   /* Swin's PatchMerging gather: 2x2 neighbours -> 4x channels */
    DC_OP_WINDOW_ATTN,   /* Swin's shifted-window self-attention, qkv and proj included */
    DC_OP_FUSED,         /* done by a later node it was fused into (dc_net_fuse): no work */
    DC_OP_COUNT
} dc_op;

const char *dc_op_name(dc_op op);

typedef struct {
    dc_op op;
    char name[80];        /* the state_dict prefix of its parameters, or a description */
    char module[80];      /* the PyTorch module whose output, after module_act, equals this
                             node's (a conv's folded BatchNorm, a residual block); "" when
                             none is known (see dc_b_module) */
    dc_act module_act;    /* applied to that module's output: an activation fused in here */
    int fused_into;       /* DC_OP_FUSED: the node that does this one's work */
    int *inputs;          /* ids of the nodes read, all < this node's id */
    int n_inputs;
    int c, h, w;          /* output feature map of one sample */
    dc_act act;           /* fused epilogue activation */

    /* parameters (owned); NULL in a shape-only net */
    float *weight, *bias;
    float *weight2, *bias2;  /* DC_OP_SE: fc2 (weight, bias: fc1) */
    int squeeze;             /* DC_OP_SE: fc1's output channels */
    dc_act gate;             /* DC_OP_SE: the gate's activation (sigmoid, hardsigmoid) */
    dc_conv_shape conv;   /* DC_OP_CONV, DC_OP_DWCONV */
    bool residual;        /* DC_OP_CONV: inputs[1] is added before act (a fused add) */
    float *winograd;      /* DC_OP_CONV run by Winograd: its transformed weights (owned),
                             set by dc_net_plan, of F(4x4,3x3) (dc_winograd_transform_weights)
                             or, when winograd2, of F(2x2,3x3) (dc_winograd2_pack_weights) */
    bool winograd2;       /* the F(2x2,3x3) kernel (kernels/winograd2.c) */
    float *packed;        /* DC_OP_CONV run by dc_conv_packed (a small map at small batches):
                             its weights packed for kernels/gemm_packed.c (owned) */
    int in_features;      /* DC_OP_LINEAR */

    /* pooling */
    int k, stride, pad;
    bool ceil_mode, count_include_pad;

    int begin;            /* DC_OP_SLICE: first channel */
    int groups;           /* DC_OP_SHUFFLE */

    float eps;            /* DC_OP_LAYERNORM (weight: gamma, bias: beta) */
    /* DC_OP_WINDOW_ATTN: weight/bias the qkv linear, weight2/bias2 the proj linear, plus
     * pos_bias [heads][N][N] and (V2) logit_scale [heads], both owned */
    dc_wattn_shape attn;
    float *pos_bias, *logit_scale;

    int64_t macs;         /* per sample */

    /* planned by dc_net_plan */
    size_t offset;        /* in floats, into the arena */
    int last_use;         /* id of the last node that reads this one */

    /* profile */
    double seconds;
    int64_t runs;
} dc_node;

/* What a forward pass writes: everything else in a net is read-only once planned, so one
 * net serves several threads at once, each with its own run state (dc_ctx). */
typedef struct {
    float *arena;            /* activations: dc_net.arena_floats */
    float *workspace;        /* per-thread scratch: workspace_threads x workspace_floats */
    int workspace_threads;   /* threads the workspace is allocated for */
    float *shared_cols;      /* dc_net.shared_floats, or NULL */
    const float *input;      /* the caller's input during a forward pass */
    int max_threads;         /* per-call limit (dc_net_set_threads, dc_ctx_set_threads): at
                                most this many of the pool's threads run the pass's tasks,
                                which are cut for the whole pool all the same; 0: all */
} dc_run_state;

struct dc_net {
    dc_node *nodes;
    int n_nodes, cap_nodes;
    int output;              /* id of the node whose data are the logits */

    char arch[48];
    char dataset[48];
    int num_classes;
    int in_c, in_h, in_w;
    float mean[3], std[3];
    int resize, bicubic;     /* the ImageNet resize of the architecture (dc_net_info) */
    char **class_names;      /* num_classes strings or NULL */
    int64_t params;
    bool shape_only;

    int max_batch;
    size_t arena_floats;     /* planned activation memory for max_batch samples */
    size_t workspace_floats; /* per-thread scratch (im2col tiles, attention, SE), floats */
    size_t shared_floats;    /* one im2col matrix all threads share (the largest
                                single-tile conv; see run_conv_shared), 0 for none */
    dc_run_state own;        /* the buffers of dc_net_forward; a dc_ctx has its own */
    bool profiling;
};

/* Number of floats of one sample's output of node id. */
static inline size_t dc_node_numel(const dc_node *nd)
{
    return (size_t)nd->c * (size_t)nd->h * (size_t)nd->w;
}

/* Plans the arena and the workspace for max_batch samples and allocates them. */
dc_status dc_net_plan(dc_net *net, int max_batch, dc_error *err);

/* The arena planner alone (testable without a net): given n tensors with sizes (floats)
 * and lifetimes [first, last] (inclusive node ids), assigns offsets (floats, aligned to
 * 16) so that tensors whose lifetimes overlap never overlap in memory. Returns the arena
 * size in floats. Placement: largest tensor first, lowest offset that fits. */
size_t dc_arena_plan(int n, const size_t *sizes, const int *first, const int *last,
                     size_t *offsets);

/* Rewrites the net so that a conv whose only reader is a residual add computes the add
 * in its epilogue (the add node becomes the conv, the conv node DC_OP_FUSED): one pass
 * over memory less per residual block. Idempotent; dc_net_plan calls it. */
void dc_net_fuse(dc_net *net);

/* Allocates an empty net (for the builder). */
dc_net *dc_net_new(void);

#endif /* DC_LAYERS_NET_H */
