/*
 * predict.h — getting a model's predictions on a dataset split for `predict`, `threshold`
 * and `complementarity`: from the cache when it is valid, else by running the model (and
 * filling the cache).
 */
#ifndef DC_CLI_PREDICT_H
#define DC_CLI_PREDICT_H

#include "cascade/predictions.h"
#include "loaders/dataset.h"
#include "cli/argparse.h"

#include <stdbool.h>

typedef struct {
    const char *weights_dir;   /* default weight files: <dir>/<dataset>/<arch>.h5 */
    const char *dataset;       /* -D: data kind and weights subfolder, or NULL */
    const char *path;          /* -v: the dataset */
    bool train;                /* -t */
    int skip;                  /* leave out the first N samples of the split */
    int limit;                 /* then the first N samples, 0 = all */
    const char *cache_dir;     /* --cache-dir; default: predict_cache_dir */
    bool no_cache;
    int batch;
    bool quiet;
    bool logits;
    /* as given, checked by predict_options_valid */
    const char *limit_s, *skip_s, *batch_s, *threads_s;
} predict_opts;

/* The options predict, threshold and complementarity share, as a table for their
 * cli_spec (cli/argparse.h): -v/--valset (-f/--dataset-root), -D/--dataset, -t/--train,
 * --weights-dir, --skip, --limit, --cache-dir (--cache), --batch, --threads, -q/--quiet.
 * Their ids start at PREDICT_OPT_FIRST; a command's own ids stay below it. */
#define PREDICT_OPT_FIRST 100
extern const cli_opt predict_shared_opts[];

/* Applies option id (one of predict_shared_opts) with its value to o; false when id is
 * not one of them. */
bool predict_apply_option(predict_opts *o, int id, const char *value);

/* Checks the shared options after parsing (numbers in range, a dataset given) and sets the
 * threads; prints the problem and returns false on a usage error. */
bool predict_options_valid(const char *cmd, predict_opts *o);

/* The prediction cache's folder: given (--cache-dir) when not NULL, else $DUALCNN_CACHE,
 * else $XDG_CACHE_HOME/dualcnn (an absolute $XDG_CACHE_HOME only, as the XDG spec says),
 * else $HOME/.cache/dualcnn; written into buf. NULL when none of them is set (then
 * nothing is cached). */
const char *predict_cache_dir(const char *given, char *buf, size_t cap);

/* Checks, before any compute, that model (named by `flag` in messages) is known and its
 * weight file (weights, or the default one) readable, and that the dataset -v exists. */
dc_status predict_check(const predict_opts *o, const char *flag, const char *model,
                        const char *weights, dc_error *err);

/* Predictions of model (an architecture name, may be NULL when weights is given) with
 * weights (a file, or NULL for the default). Prints where they came from on stderr unless
 * quiet, and a progress line (cli/progress.h) while the model runs. The cache file goes in
 * predict_cache_dir, created when missing. Once SIGINT or SIGTERM has arrived
 * (cli_interrupted(), when the command installed cli/interrupt.h's handler) the model stops
 * after its current batch: out then holds the samples done so far (out->n fewer than the
 * split's) and nothing is cached. */
dc_status predict_get(const predict_opts *o, const char *model, const char *weights,
                      dc_predictions *out, dc_error *err);

/* Where model's predictions live: its weight file, the cache key and the cache file. */
typedef struct {
    char wpath[1024];
    char dir[1024];            /* the cache dir */
    char cpath[2200];          /* the cache file */
    dc_predictions_key key;    /* key.count: the samples to predict */
} predict_target;

/* Resolves model's target (as predict_get does) and opens the dataset (narrowed to --skip;
 * *ds receives it when ds is not NULL, the caller closes it). */
dc_status predict_locate(const predict_opts *o, const char *model, const char *weights,
                         predict_target *t, dc_dataset **ds, dc_error *err);

/* The cached predictions of t when valid (DC_OK; says so unless quiet); a corrupt cache is
 * reported as such. DC_ERR_MISSING (or another status) when they must be computed. */
dc_status predict_load_cached(const predict_opts *o, const predict_target *t,
                              dc_predictions *out);

/* Loads t's net, planned for o's batch, checking that it is model and fits ds's classes. */
dc_status predict_load_net(const predict_opts *o, const char *model, const predict_target *t,
                           const dc_dataset *ds, dc_net **net, dc_error *err);

/* Caches p (all of t's samples; a partial one is never cached) and says so unless quiet. */
void predict_store(const predict_opts *o, const predict_target *t, const dc_predictions *p);

#endif /* DC_CLI_PREDICT_H */
