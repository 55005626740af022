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
 *    caller's dc_error (err may be NULL) with a message naming the file, tensor or flag at
 *    fault, and leaves its outputs empty (*out = NULL).
 *  - Whoever calls *_load / *_create calls the matching *_free; *_free accepts NULL.
 *    Strings a function returns are owned by the object they came from (or are static).
 *  - Tensors are float32, row-major, NCHW. Images are uint8, row-major, HWC.
 *  - Threads: an object (dc_net, dc_ctx, dc_cascade) is used by one thread at a time
 *    unless its section says otherwise. Several threads share one model through contexts
 *    (dc_ctx) or cascades (each cascade has its own contexts). Functions without an object
 *    (dc_version, dc_status_name, the zoo, dc_exit_name, dc_score_name) may be called from
 *    any thread; dc_set_threads may not run while a forward pass does.
 *
 * The sections: version, errors, nets, contexts, inputs, the cascade, looking inside a net,
 * threads, the model zoo. Examples built against the installed library: examples/classify.c
 * (one model, one image), examples/shared_model.c (threads sharing a model),
 * examples/cascade_folder.c (the cascade over a folder of images).
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
    DC_ERR_UNSUPPORTED  /* a known but not implemented feature (e.g. an HDF5 soft link) */
} dc_status;

typedef struct {
    dc_status code;
    char msg[512];
} dc_error;

/* Fills err (when not NULL) with code and a printf-style message; returns code. Any
 * thread. */
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
 * Every tensor is checked for presence, dtype and shape; the first bad one is named.
 * The file is read by libhdf5 in a separate helper process (dualcnn-h5read, installed in
 * libexec; docs/robustness.md "HDF5 in quarantine"), so a hostile file cannot crash the
 * caller; DUALCNN_H5_READER=in-process reads trusted files in this process instead.
 * Errors: DC_ERR_IO (cannot open; no helper), DC_ERR_FORMAT (not a weight file, damaged),
 * DC_ERR_MISSING / DC_ERR_SHAPE (a tensor), DC_ERR_UNSUPPORTED, DC_ERR_NOMEM. The caller
 * frees *out with dc_net_free. Any thread; in the in-process mode one load at a time
 * (Debian's libhdf5 is built without thread safety). */
dc_status dc_net_load(const char *path, int max_batch, dc_net **out, dc_error *err);

/* As dc_net_load for the bytes of a weight file already in memory (size bytes at data: an
 * HDF5 file image, e.g. embedded in the program or received over a network). The bytes
 * get the same protection as a file: they are copied into an anonymous memory file that
 * the quarantined helper reads (or libhdf5 here, under DUALCNN_H5_READER=in-process, the
 * same setting as for files). Messages name the model "<memory>". data is only read and
 * may be freed when this returns. Errors as dc_net_load, and DC_ERR_ARG for NULL data or
 * size 0; truncated or garbage bytes give DC_ERR_FORMAT. Threads: as dc_net_load. */
dc_status dc_net_load_memory(const void *data, size_t size, int max_batch, dc_net **out,
                             dc_error *err);

/* Builds an architecture without weights (all parameters zero): shapes, MACs and params
 * only, for `dualcnn models` and tests. num_classes <= 0 means the architecture's default.
 * Such a net cannot run (dc_net_forward and dc_ctx_create return DC_ERR_ARG). Errors:
 * DC_ERR_ARG (unknown name), DC_ERR_NOMEM. */
dc_status dc_net_build_shape_only(const char *arch, int num_classes, dc_net **out, dc_error *err);

/* Builds a runnable net with random parameters (seeded), for benchmarks and tests that
 * need no weight file. The input normalisation is the zoo entry's. Errors as
 * dc_net_build_shape_only. */
dc_status dc_net_build_random(const char *arch, int num_classes, uint64_t seed, int max_batch,
                              dc_net **out, dc_error *err);

/* Frees the net, its weights and its buffers. net may be NULL. No context or cascade made
 * from it may be used afterwards. */
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
 * of memory. Free it with dc_ctx_free. Errors: DC_ERR_ARG (a shape-only net),
 * DC_ERR_NOMEM. Any thread (the net is only read). */
dc_status dc_ctx_create(const dc_net *net, dc_ctx **out, dc_error *err);

/* As dc_net_forward (same arguments, errors and outputs), on the context's buffers. One
 * thread at a time per context; any number of contexts of one net at once. */
dc_status dc_ctx_forward(dc_ctx *ctx, const float *in, int n, float *out, dc_error *err);

/* How many threads each later dc_ctx_forward of this context may use: n >= 1 limits a pass
 * to the caller plus n - 1 of the pool's workers; 0 (the default) lets it use all of the
 * pool (dc_set_threads); n above the pool's count is the pool's count. The outputs are the
 * same bit for bit at every n: a pass is always cut into the same tasks (for the pool's
 * count), n only says how many threads take them (docs/threads.md). The process-wide
 * dc_set_threads is untouched. Returns DC_OK, or DC_ERR_ARG for n < 0. */
dc_status dc_ctx_set_threads(dc_ctx *ctx, int n, dc_error *err);

/* Frees the context. ctx may be NULL. */
void dc_ctx_free(dc_ctx *ctx);

/* ---- inputs: from an image to a model's input ----------------------------- */

/* Decodes the PNG or JPEG file at path and turns it into net's input exactly as the
 * model's training code did (Pillow's resize and torchvision's transforms: the resize, the
 * crop, the normalisation of the weight file): out receives C x H x W floats (see
 * dc_net_get_info). Fails naming the file when it cannot be read or decoded (DC_ERR_IO,
 * DC_ERR_FORMAT, DC_ERR_UNSUPPORTED, DC_ERR_NOMEM). Any thread (the net is only read). */
dc_status dc_image_file_to_input(const dc_net *net, const char *path, float *out,
                                 dc_error *err);

/* As dc_image_file_to_input for pixels already decoded: width x height pixels of
 * `channels` uint8 values each (1: gray, 3: RGB), row-major, channels interleaved (pixel
 * (x, y) channel k at pixels[(y * width + x) * channels + k]), before any resize or
 * normalisation. A gray image is copied to the three channels of an RGB model. Returns
 * DC_OK, DC_ERR_ARG (a bad size or channel count, NULL pixels), DC_ERR_NOMEM. */
dc_status dc_pixels_to_input(const dc_net *net, const uint8_t *pixels, int width, int height,
                             int channels, float *out, dc_error *err);

/* ---- running a net ------------------------------------------------------- */

/* What the net is (arch, input size, classes, cost). Strings are owned by the net. */
dc_net_info dc_net_get_info(const dc_net *net);

/* Class name i from the weight file, or NULL when the file had none (or i is out of
 * range). Owned by the net. */
const char *dc_net_class_name(const dc_net *net, int i);

/* Runs n samples (1 <= n <= max_batch) through the net: in is n x C x H x W, out receives
 * n x num_classes logits. Allocates nothing (except its per-thread scratch on the first
 * pass, or the first after the thread count grew: DC_ERR_NOMEM). Writes the net's own
 * buffers: one thread at a time per net (use contexts for more). Returns DC_ERR_ARG for a
 * bad n or a shape-only net. */
dc_status dc_net_forward(dc_net *net, const float *in, int n, float *out, dc_error *err);

/* dc_ctx_set_threads for the net's own passes (dc_net_forward, dc_net_forward_observed):
 * at most n threads each (0: all of the pool's), outputs the same bit for bit at every n.
 * Returns DC_OK, or DC_ERR_ARG for n < 0. */
dc_status dc_net_set_threads(dc_net *net, int n, dc_error *err);

/* Per-node profile of the last forward passes (enabled when profile != 0): prints one line
 * per node (name, op, output shape, time, MACs, GFLOP/s) to the stream. Profiling writes
 * the net: not while contexts of it run. */
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

/* Node id (0 <= id < dc_net_get_info(net).num_nodes; any other id is a programming
 * error). */
dc_node_info dc_net_node_info(const dc_net *net, int id);

/* Called by dc_net_forward_observed after each node that has an output: out holds n
 * samples of c x h x w floats, valid only during the call. A failure stops the pass and is
 * returned by it. */
typedef dc_status (*dc_node_observer)(void *ctx, int id, const float *out, int n,
                                      dc_error *err);

/* dc_net_forward, calling observe (when not NULL) after every node, the input included, in
 * order. Returns what dc_net_forward returns, or the first failure of observe. A net
 * planned for large batches may run its first nodes on a few samples at a time in buffers
 * of that size (a depth-first head, docs/architecture.md); an observed pass then gathers
 * those nodes' outputs in buffers of n samples it allocates, and observes them once the
 * last chunk has run, still in order. */
dc_status dc_net_forward_observed(dc_net *net, const float *in, int n, float *out,
                                  dc_node_observer observe, void *ctx, dc_error *err);

/* Seconds on a monotonic clock (for timing; the origin is arbitrary). */
double dc_now_seconds(void);

/* Number of threads of the process-wide pool that runs every forward pass (0 = leave the
 * default: $OMP_NUM_THREADS, else the CPUs this process may use). It also sets how passes
 * are cut into tasks, so outputs may differ in the last bits between two counts (summation
 * order; docs/threads.md); a per-call limit (dc_ctx_set_threads, dc_net_set_threads, the
 * cascade's threads) never changes them. Not while a forward pass runs in another thread. */
void dc_set_threads(int n);

/* ---- the cascade: two models and a memory ---------------------------------
 *
 * The paper's method (docs/cascade.md): a raw image is looked up in a memory of
 * perceptual hashes (a hit answers with no CNN); otherwise the first model classifies it,
 * and when its confidence score fails the threshold test the second model runs too
 * (optionally keeping its answer only when its score is better: the post-check); the
 * answer is remembered. examples/cascade_folder.c runs one over a folder of images:
 *
 *     dc_cascade_options o = { .first = small, .second = big, .score = DC_SCORE_MAXP,
 *                              .threshold = 0.7, .memory = DC_MEMORY_DHASH };
 *     dc_cascade *c;
 *     dc_cascade_result r;
 *     if (dc_cascade_create(&o, &c, &err) == DC_OK &&
 *         dc_cascade_classify_file(c, "shoe.png", -1, &r, &err) == DC_OK)
 *         printf("class %d from %s\n", r.pred, dc_exit_name(r.exit));
 *     dc_cascade_free(c);
 */

/* How sure a model is, from softmax(logits); every score lies in [0, 1]. */
typedef enum {
    DC_SCORE_MAXP = 0,   /* top-1 probability; escalate when below the threshold */
    DC_SCORE_DIFFERENCE, /* top-1 minus top-2 probability; escalate when below */
    DC_SCORE_ENTROPY,    /* -sum p ln p / ln(classes); escalate when ABOVE */
    DC_SCORE_ORACLE,     /* escalate exactly when the first model is wrong: needs the true
                            label of each input (an upper bound, not a deployable mode) */
    DC_SCORE_COUNT       /* the number of scores */
} dc_score_kind;

/* "maxp", "difference", "entropy", "oracle"; "?" for anything else. Static strings. */
const char *dc_score_name(dc_score_kind k);

/* Which part of the cascade gave an answer. */
typedef enum {
    DC_EXIT_MEMORY = 0, /* a repeated input: the memory's stored answer, no CNN ran */
    DC_EXIT_FIRST,      /* the first model's answer (the second did not run, or did and the
                           post-check kept the first's) */
    DC_EXIT_SECOND,     /* the second model's answer */
    DC_EXIT_COUNT       /* the number of exits */
} dc_exit;

/* "memory", "first", "second"; "?" for anything else. Static strings. */
const char *dc_exit_name(dc_exit e);

/* The memory's perceptual hash, of the raw image (before any resize or normalisation). */
typedef enum {
    DC_MEMORY_OFF = 0,    /* no memory */
    DC_MEMORY_DHASH,      /* dHash (64 bits): exact duplicates */
    DC_MEMORY_INVARIANTS  /* complex moment invariants: rotated and mirrored copies hit too */
} dc_memory_mode;

/* A cascade's settings. Zero-initialise, then set first (and second). */
typedef struct {
    const dc_net *first;    /* required: runs on every input the memory does not answer */
    const dc_net *second;   /* NULL: the first model alone (with the memory, if any) */
    dc_score_kind score;    /* the confidence score of the threshold test */
    double threshold;       /* in [0, 1] (any value for the oracle) */
    int postcheck;          /* non-zero: after escalating, keep the second model's answer
                               only when its score is strictly better than the first's */
    dc_memory_mode memory;
    double memory_radius;   /* 0 (the paper): keys match exactly; > 0: the nearest stored
                               key within this distance matches too: Hamming bits for dHash
                               (at most 64), the difference of the keys' values for the
                               invariants. Each lookup then scans the memory. */
    size_t memory_capacity; /* 0: unbounded; else at most this many entries, the least
                               recently used dropped first */
    int threads;            /* threads each forward pass may use, as dc_ctx_set_threads:
                               0 all of the pool's, n >= 1 at most n */
} dc_cascade_options;

/* What the cascade answered for one input. */
typedef struct {
    int pred;               /* the answer: a class index of the models */
    dc_exit exit;           /* which part gave it */
    int escalated;          /* 1 when the second model ran */
    int pred1, pred2;       /* each model's own argmax; -1 where it did not run */
    double score1, score2;  /* each model's score (options.score; maxp for the oracle);
                               NaN where it did not run */
    int64_t macs;           /* multiply-accumulates spent on this input */
    double seconds;         /* time from the hash to the answer (decoding a file excluded) */
} dc_cascade_result;

/* Counts since dc_cascade_create. */
typedef struct {
    int64_t inputs;                 /* inputs classified */
    int64_t exits[DC_EXIT_COUNT];   /* of which answered by the memory, first, second */
    int64_t escalated;              /* inputs the second model ran on */
    int64_t memory_near_hits;       /* memory answers matched within the radius, not
                                       exactly */
    int64_t memory_evictions;       /* entries dropped for the capacity */
    int64_t memory_entries;         /* entries held now */
} dc_cascade_stats;

typedef struct dc_cascade dc_cascade;

/* Makes a cascade of options' models, with its own memory (empty) and its own contexts
 * for the models (dc_ctx: the nets are only read, so several cascades, one per thread, can
 * share two loaded nets, and the nets stay usable with dc_net_forward). The nets stay the
 * caller's and must outlive the cascade; options is copied. Errors: DC_ERR_ARG naming what
 * is wrong (no first model, models with different class counts, a threshold outside
 * [0, 1], an unknown score or memory, a bad radius or thread count, a shape-only net),
 * DC_ERR_NOMEM. Free with dc_cascade_free. Any thread. */
dc_status dc_cascade_create(const dc_cascade_options *options, dc_cascade **out,
                            dc_error *err);

/* Classifies the PNG or JPEG file at path (decoded as RGB) and fills *result. label is the
 * input's true class, or -1 when unknown (anything else is DC_ERR_ARG); only the oracle
 * score needs it (DC_ERR_ARG without it) and nothing else uses it. The memory is updated (the answer stored under the
 * image's key). Errors: those of dc_image_file_to_input for the file, DC_ERR_ARG,
 * DC_ERR_NOMEM. One thread at a time per cascade. */
dc_status dc_cascade_classify_file(dc_cascade *cascade, const char *path, int label,
                                   dc_cascade_result *result, dc_error *err);

/* As dc_cascade_classify_file for decoded pixels, laid out as dc_pixels_to_input's
 * (uint8, HWC, 1 or 3 channels). The memory keys the pixels themselves, so the same
 * picture as a gray and as an RGB image (R = G = B) gets the same key. */
dc_status dc_cascade_classify_pixels(dc_cascade *cascade, const uint8_t *pixels, int width,
                                     int height, int channels, int label,
                                     dc_cascade_result *result, dc_error *err);

/* The counts so far. */
dc_cascade_stats dc_cascade_get_stats(const dc_cascade *cascade);

/* Frees the cascade, its memory and its contexts (not the nets). cascade may be NULL. */
void dc_cascade_free(dc_cascade *cascade);

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
} dc_zoo_entry;

/* The architectures dualcnn builds: entries 0 .. dc_zoo_count() - 1, static data (any
 * thread, never freed). dc_zoo_at returns NULL for i out of range. */
int dc_zoo_count(void);
const dc_zoo_entry *dc_zoo_at(int i);
const dc_zoo_entry *dc_zoo_find(const char *name); /* NULL when unknown */

#ifdef __cplusplus
}
#endif
#endif /* DUALCNN_H */
