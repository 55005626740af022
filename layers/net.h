/*
 * net.h — the net as the runtime sees it (internal to the library).
 *
 * A net is a flat array of nodes in topological order: node i reads only nodes < i.
 * Every node produces one feature map of c x h x w floats per sample; the input node's
 * data is the caller's buffer, every other node's lives in the activation arena at the
 * offset the planner (arena.c) gave it. Parameters are owned by the nodes. What a node
 * computes, and how, is its op's (ops.h): this header holds what all nodes share.
 *
 * Build (builder.h) -> plan (dc_net_plan) -> run (dc_net_forward) -> free.
 */
#ifndef DC_LAYERS_NET_H
#define DC_LAYERS_NET_H

#include "dualcnn.h"
#include "layers/ops.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

/* The most arrays a node owns (window attention: qkv and proj weights and biases, the
 * position bias and the logit scale; a conv: weight, bias and one transformed copy). */
#define DC_NODE_TENSORS 6

struct dc_node {
    dc_op op;
    char name[80];        /* the state_dict prefix of its parameters, or a description */
    char module[80];      /* the PyTorch module whose output, after module_act, equals this
                             node's (a conv's folded BatchNorm, a residual block); "" when
                             none is known (see dc_b_module) */
    dc_act module_act;    /* applied to that module's output: an activation fused in here */
    int *inputs;          /* ids of the nodes read, all < this node's id */
    int n_inputs;
    int c, h, w;          /* output feature map of one sample */
    int64_t macs;         /* per sample */

    /* the op's parameters (ops.h): the member its op names */
    union {
        dc_conv_params conv;               /* DC_OP_CONV, DC_OP_DWCONV */
        dc_linear_params linear;           /* DC_OP_LINEAR */
        dc_pool_params pool;               /* DC_OP_MAXPOOL, DC_OP_AVGPOOL */
        dc_eltwise_params eltwise;         /* DC_OP_ADD, DC_OP_ACT */
        dc_slice_params slice;             /* DC_OP_SLICE */
        dc_shuffle_params shuffle;         /* DC_OP_SHUFFLE, DC_OP_CONCAT_SHUFFLE */
        dc_scale_shift_params scale_shift; /* DC_OP_SCALE_SHIFT */
        dc_se_params se;                   /* DC_OP_SE */
        dc_layernorm_params layernorm;     /* DC_OP_LAYERNORM */
        dc_wattn_params attn;              /* DC_OP_WINDOW_ATTN */
        dc_fused_params fused;             /* DC_OP_FUSED */
    };
    /* the arrays the node owns (parameters, Winograd weights; dc_node_own), freed with
     * the net: the parameter struct's pointers point into these */
    float *tensors[DC_NODE_TENSORS];
    int n_tensors;

    /* planned by dc_net_plan */
    size_t offset;        /* in floats, into the arena */
    int last_use;         /* id of the last node that reads this one */
    bool head_chunked;    /* read only inside the depth-first head (net.c: head_plan): holds
                             one chunk of samples, every chunk at the same place */
    bool in_place;        /* a concat whose inputs were written where its output lies
                             (planned at batch 1): nothing to copy */

    /* profile */
    double seconds;
    int64_t runs;
};

/* Gives node nd the array t to own (nothing when t is NULL, as in a shape-only build);
 * returns t. */
static inline float *dc_node_own(dc_node *nd, float *t)
{
    if (t) {
        assert(nd->n_tensors < DC_NODE_TENSORS);
        nd->tensors[nd->n_tensors++] = t;
    }
    return t;
}

/* What a forward pass writes: everything else in a net is read-only once planned, so one
 * net serves several threads at once, each with its own run state (dc_ctx). */
struct dc_run_state {
    float *arena;            /* activations: dc_net.arena_floats */
    float *workspace;        /* per-thread scratch: workspace_threads x workspace_floats */
    int workspace_threads;   /* threads the workspace is allocated for */
    float *shared_cols;      /* dc_net.shared_floats, or NULL */
    const float *input;      /* the caller's input during a forward pass */
    int max_threads;         /* per-call limit (dc_net_set_threads, dc_ctx_set_threads): at
                                most this many of the pool's threads run the pass's tasks,
                                which are cut for the whole pool all the same; 0: all */
};

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
    int64_t pass_macs;       /* MACs of one sample through every node (dc_net_plan) */
    size_t arena_floats;     /* planned activation memory for max_batch samples */
    size_t workspace_floats; /* per-thread scratch (im2col tiles, attention, SE), floats */
    size_t shared_floats;    /* one im2col matrix all threads share (the largest
                                single-tile conv; see run_shared in ops_conv.c), 0 for none */
    dc_run_state own;        /* the buffers of dc_net_forward; a dc_ctx has its own */
    bool profiling;
    /* depth-first head (dc_net_plan, head_plan in net.c), planned for batches of at
     * least 2 x head_chunk samples: nodes 1..head_end always run on head_chunk samples at
     * a time (their head_chunked tensors hold one chunk) before the rest of the net runs
     * on the whole batch, so that the stem's output is read from L2 by its consumers
     * instead of going to memory; 0: no head */
    int head_end;
    int head_chunk;
};

/* Number of floats of one sample's output of node id. */
static inline size_t dc_node_numel(const dc_node *nd)
{
    return (size_t)nd->c * (size_t)nd->h * (size_t)nd->w;
}

/* Plans the arena and the workspace for max_batch samples and allocates them. */
dc_status dc_net_plan(dc_net *net, int max_batch, dc_error *err);

/* Every tensor's offset in the arena is a multiple of this many floats (64 bytes). */
#define DC_ARENA_ALIGN_FLOATS 16

/* The arena planner alone (testable without a net): given n tensors with sizes (floats)
 * and lifetimes [first, last] (inclusive node ids), assigns offsets (floats, aligned to
 * DC_ARENA_ALIGN_FLOATS) so that tensors whose lifetimes overlap never overlap in memory. Returns the arena
 * size in floats. Placement: largest tensor first, lowest offset that fits. */
size_t dc_arena_plan(int n, const size_t *sizes, const int *first, const int *last,
                     size_t *offsets);

/* Rewrites the net so that a conv whose only reader is a residual add computes the add
 * in its epilogue (the add node becomes the conv, the conv node DC_OP_FUSED): one pass
 * over memory less per residual block. Idempotent; dc_net_plan calls it. */
void dc_net_fuse(dc_net *net);

/* Threads a pass of n samples is cut for on a pool of pool_threads: all of them, or 1 for
 * a pass too small to gain from splitting its nodes (net.c). The cut, not the threads that
 * run it, decides the outputs' bits (docs/threads.md). */
int dc_net_cut_threads(const dc_net *net, int n, int pool_threads);

/* Allocates an empty net (for the builder). */
dc_net *dc_net_new(void);

#endif /* DC_LAYERS_NET_H */
