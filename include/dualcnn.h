/*
 * dualcnn.h — the public C API of dualcnn.
 *
 * A worked example (error handling shortened):
 *
 *     dc_error err;
 *     dc_net *net;
 *     if (dc_net_load("weights/fashionmnist/resnet20.h5", 8, &net, &err) != DC_OK) {
 *         fprintf(stderr, "%s\n", err.msg);       // names the file and the problem
 *         return 1;
 *     }
 *     dc_net_info info = dc_net_get_info(net);   // input C,H,W, classes, MACs ...
 *     float *x = malloc(info.in_c * info.in_h * info.in_w * sizeof(float));
 *     float *logits = malloc(info.num_classes * sizeof(float));
 *     if (dc_image_file_to_input(net, "cat.png", x, &err) != DC_OK ||  // decode + the
 *         dc_net_forward(net, x, 1, logits, &err) != DC_OK)             // model's transforms
 *         fprintf(stderr, "%s\n", err.msg);
 *     dc_net_free(net);
 *
 * (examples/classify.c is this example in full; it is built against the installed library
 * by tests/install/test_install.sh.)
 *
 * Conventions (one for the whole library):
 *  - A function that can fail returns dc_status; DC_OK is 0. On failure it fills the
 *    caller's dc_error with a message naming the file, tensor or flag at fault.
 *  - Whoever calls *_load / *_init calls the matching *_free.
 *  - Tensors are float32, row-major, NCHW.
 */
#ifndef DUALCNN_H
#define DUALCNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------ */

#define DUALCNN_VERSION_MAJOR 0
#define DUALCNN_VERSION_MINOR 1
#define DUALCNN_VERSION_PATCH 0
#define DUALCNN_VERSION_STRING "0.1.0"

/* The version of the library linked in ("0.1.0"), which may differ from the header's
 * DUALCNN_VERSION_STRING when a program runs against a newer shared library. */
const char *dc_version(void);

/* ---- errors ------------------------------------------------------------- */

typedef enum {
    DC_OK = 0,
    DC_ERR_IO,          /* a file could not be opened, read or written */
    DC_ERR_FORMAT,      /* a file is not in the expected format, or is truncated */
    DC_ERR_SHAPE,       /* a tensor has the wrong shape */
    DC_ERR_MISSING,     /* a tensor or attribute is absent */
    DC_ERR_ARG,         /* a bad argument or flag */
    DC_ERR_NOMEM,       /* an allocation failed */
    DC_ERR_UNSUPPORTED  /* a known but not implemented feature (e.g. an architecture) */
} dc_status;

typedef struct {
    dc_status code;
    char msg[512];
} dc_error;

/* Fills err (when not NULL) with code and a printf-style message; returns code. */
dc_status dc_fail(dc_error *err, dc_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A short name for a status ("I/O error", "bad format", ...). Never NULL. */
const char *dc_status_name(dc_status code);

/* ---- nets --------------------------------------------------------------- */

typedef struct dc_net dc_net;

typedef struct {
    const char *arch;        /* one of the names of dc_zoo_*; owned by the net */
    const char *dataset;     /* from the weight file's attributes */
    int in_c, in_h, in_w;    /* input size of one sample */
    int num_classes;
    float mean[3], std[3];   /* input normalisation the model was trained with */
    int resize;              /* ImageNet preprocessing: the shorter side is resized to this
                                before the centre crop (0: the image is resized straight
                                to in_h x in_w) */
    int bicubic;             /* 1: that resize is bicubic, else bilinear */
    int64_t macs;            /* multiply-accumulates of conv and linear layers, one sample */
    int64_t params;          /* trainable parameters as stored (before BatchNorm folding) */
    int num_nodes;
    int max_batch;           /* the largest n dc_net_forward accepts */
    size_t arena_bytes;      /* activation memory planned for max_batch samples */
} dc_net_info;

/* Loads the HDF5 weight file at path (format of docs/weights-format.md), builds the
 * architecture named by its "arch" attribute and plans memory for up to max_batch samples.
 * Every tensor is checked for presence, dtype and shape; the first bad one is named. */
dc_status dc_net_load(const char *path, int max_batch, dc_net **out, dc_error *err);

/* Builds an architecture without weights (all parameters zero): shapes, MACs and params
 * only, for `dualcnn models` and tests. num_classes <= 0 means the architecture's default. */
dc_status dc_net_build_shape_only(const char *arch, int num_classes, dc_net **out, dc_error *err);

/* Builds a runnable net with random parameters (seeded), for benchmarks and tests that
 * need no weight file. The input normalisation is the zoo entry's. */
dc_status dc_net_build_random(const char *arch, int num_classes, uint64_t seed, int max_batch,
                              dc_net **out, dc_error *err);

void dc_net_free(dc_net *net);

/* ---- contexts: several threads on one model ------------------------------ */

/* dc_net_forward writes the net's own activations and scratch, so one dc_net serves one
 * thread at a time. A context holds those buffers apart from the model: N threads, each
 * with its own context, run one loaded model at once with one copy of the weights (as
 * ncnn's Extractor or an ONNX Runtime Run). A context is used by one thread at a time and
 * must not outlive its net; the net must not be used with dc_net_set_profiling while
 * contexts run. The threads share the process's thread pool: a pass that finds it busy
 * runs on its caller's thread alone. The outputs equal dc_net_forward's, bit for bit. */
typedef struct dc_ctx dc_ctx;

/* Makes a context for net (planned for its max batch): about dc_net_get_info's arena_bytes
 * of memory. Free it with dc_ctx_free. */
dc_status dc_ctx_create(const dc_net *net, dc_ctx **out, dc_error *err);

/* As dc_net_forward, on the context's buffers. */
dc_status dc_ctx_forward(dc_ctx *ctx, const float *in, int n, float *out, dc_error *err);

void dc_ctx_free(dc_ctx *ctx);

/* Decodes the PNG or JPEG file at path and turns it into net's input exactly as the
 * model's training code did (Pillow's resize and torchvision's transforms: the resize, the
 * crop, the normalisation of the weight file): out receives C x H x W floats (see
 * dc_net_get_info). Fails naming the file when it cannot be read or decoded. */
dc_status dc_image_file_to_input(const dc_net *net, const char *path, float *out,
                                 dc_error *err);

dc_net_info dc_net_get_info(const dc_net *net);

/* Class name i from the weight file, or NULL when the file had none. */
const char *dc_net_class_name(const dc_net *net, int i);

/* Runs n samples (1 <= n <= max_batch) through the net: in is n x C x H x W, out receives
 * n x num_classes logits. Allocates nothing. Returns DC_ERR_ARG for a bad n. */
dc_status dc_net_forward(dc_net *net, const float *in, int n, float *out, dc_error *err);

/* Per-node profile of the last forward passes (enabled when profile != 0): prints one line
 * per node (name, op, output shape, time, MACs, GFLOP/s) to the stream. */
void dc_net_set_profiling(dc_net *net, int profile);
void dc_net_print_profile(const dc_net *net, void *file /* FILE* */);

/* ---- looking inside a net ------------------------------------------------ */

/* One node of a net (nodes run in id order, 0 being the input). Strings are owned by the
 * net. */
typedef struct {
    const char *name;          /* the state_dict prefix of its parameters, or its op */
    const char *op;            /* "conv", "add", "linear", ... "conv+add" for a conv that
                                  adds a residual in its epilogue; "fused": see fused_into */
    const char *module;        /* the PyTorch module whose output, after module_act, equals
                                  this node's output ("layer1.0.bn1", "layer1.0"); "" when
                                  none is known */
    const char *module_act;    /* "" or the activation fused into this node after that
                                  module ("relu", "relu6", "hardswish", ...) */
    int c, h, w;               /* output of one sample */
    int64_t macs;              /* per sample */
    int n_inputs;
    const int *inputs;         /* ids of the nodes it reads */
    int fused_into;            /* -1, or the node that computes this one's work in its
                                  epilogue (a conv fused into the residual add after it):
                                  then this node has no output of its own */
} dc_node_info;

/* Node id (0 <= id < dc_net_get_info(net).num_nodes). */
dc_node_info dc_net_node_info(const dc_net *net, int id);

/* Called by dc_net_forward_observed after each node that has an output: out holds n
 * samples of c x h x w floats, valid only during the call. A failure stops the pass and is
 * returned by it. */
typedef dc_status (*dc_node_observer)(void *ctx, int id, const float *out, int n,
                                      dc_error *err);

/* dc_net_forward, calling observe after every node (the input included) in order. */
dc_status dc_net_forward_observed(dc_net *net, const float *in, int n, float *out,
                                  dc_node_observer observe, void *ctx, dc_error *err);

/* Seconds on a monotonic clock (for timing; the origin is arbitrary). */
double dc_now_seconds(void);

/* Number of threads used by the kernels and OpenBLAS (0 = leave the default). */
void dc_set_threads(int n);

/* ---- the model zoo ------------------------------------------------------ */

typedef struct {
    const char *name;         /* e.g. "resnet20", "swin_v2_t" */
    const char *family;       /* "resnet", "vgg", ... */
    const char *dataset;      /* "cifar10" or "imagenet": what the official weights are for */
    int in_c, in_h, in_w;     /* input size the official weights expect */
    int resize;               /* ImageNet: shorter side resized to this before the crop; 0 = none */
    int bicubic;              /* ImageNet: 1 when the resize is bicubic, else bilinear */
    float mean[3], std[3];
    int num_classes;
    const char *weights_url;  /* official pretrained weights */
    int implemented;          /* 0 while the architecture is listed but not built yet */
} dc_zoo_entry;

int dc_zoo_count(void);
const dc_zoo_entry *dc_zoo_at(int i);
const dc_zoo_entry *dc_zoo_find(const char *name); /* NULL when unknown */

#ifdef __cplusplus
}
#endif
#endif /* DUALCNN_H */
