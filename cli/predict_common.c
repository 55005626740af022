/* predict_common.c — predictions from the cache or from the model (see predict.h). */
#include "cli/check.h"
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/predict.h"
#include "cli/progress.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_VALSET = PREDICT_OPT_FIRST, OPT_DATASET, OPT_WEIGHTS_DIR, OPT_LIMIT, OPT_SKIP,
    OPT_CACHE, OPT_BATCH, OPT_THREADS, OPT_TRAIN, OPT_QUIET
};

const cli_opt predict_shared_opts[] = {
    { OPT_VALSET, "-v --valset -f --dataset-root", CLI_VALUE },
    { OPT_DATASET, "-D --dataset", CLI_VALUE },
    { OPT_WEIGHTS_DIR, "--weights-dir", CLI_VALUE },
    { OPT_LIMIT, "--limit", CLI_VALUE },
    { OPT_SKIP, "--skip", CLI_VALUE },
    { OPT_CACHE, "--cache-dir --cache", CLI_VALUE },
    { OPT_BATCH, "--batch", CLI_VALUE },
    { OPT_THREADS, "--threads", CLI_VALUE },
    { OPT_TRAIN, "-t --train", CLI_FLAG },
    { OPT_QUIET, "-q --quiet", CLI_FLAG },
    { 0, NULL, CLI_FLAG },
};

bool predict_apply_option(predict_opts *o, int id, const char *value)
{
    switch (id) {
    case OPT_VALSET: o->path = value; break;
    case OPT_DATASET: o->dataset = value; break;
    case OPT_WEIGHTS_DIR: o->weights_dir = value; break;
    case OPT_LIMIT: o->limit_s = value; break;
    case OPT_SKIP: o->skip_s = value; break;
    case OPT_CACHE: o->cache_dir = value; break;
    case OPT_BATCH: o->batch_s = value; break;
    case OPT_THREADS: o->threads_s = value; break;
    case OPT_TRAIN: o->train = true; break;
    case OPT_QUIET: o->quiet = true; break;
    default: return false;
    }
    return true;
}

bool predict_options_valid(const char *cmd, predict_opts *o)
{
    int threads = 0;
    if (!o->path) {
        cli_usage_error(cmd, "-v/--valset (the dataset) is required");
        return false;
    }
    if ((o->limit_s && !cli_parse_int(cmd, "--limit", o->limit_s, 1, 1 << 30, &o->limit)) ||
        (o->skip_s && !cli_parse_int(cmd, "--skip", o->skip_s, 0, 1 << 30, &o->skip)) ||
        (o->batch_s && !cli_parse_int(cmd, "--batch", o->batch_s, 1, 4096, &o->batch)) ||
        (o->threads_s && !cli_parse_int(cmd, "--threads", o->threads_s, 1, 1024, &threads)))
        return false;
    dc_set_threads(threads);
    return true;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Called after each batch: draws the progress; stops the work once SIGINT or SIGTERM has
 * arrived (cli/interrupt.h). */
static bool after_batch(int done, int total, void *arg)
{
    cli_progress *p = arg;
    (void)total;
    cli_progress_update(p, done);
    return !cli_interrupted();
}

const char *predict_cache_dir(const char *given, char *buf, size_t cap)
{
    const char *dir = given && *given ? given : getenv("DUALCNN_CACHE");
    if (dir && *dir) {
        snprintf(buf, cap, "%s", dir);
        return buf;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/') /* the XDG spec: a relative path is to be ignored */
        snprintf(buf, cap, "%s/dualcnn", xdg);
    else if (home && home[0] == '/')
        snprintf(buf, cap, "%s/.cache/dualcnn", home);
    else
        return NULL;
    return buf;
}

dc_status predict_check(const predict_opts *o, const char *flag, const char *model,
                        const char *weights, dc_error *err)
{
    char wpath[1024];
    dc_status st = cli_resolve_weights(flag, model, weights, o->weights_dir, o->dataset, wpath,
                                       sizeof wpath, err);
    return st == DC_OK ? cli_check_input("-v", o->path, err) : st;
}

static const char *data_kind(const char *d)
{
    if (!d)
        return NULL;
    return strcmp(d, "cifar10") == 0 || strcmp(d, "fashionmnist") == 0 ||
                   strcmp(d, "imagenet") == 0 || strcmp(d, "intel") == 0
               ? d
               : NULL; /* another name is only a weights subfolder */
}

/* The split's part of a cache key (the dataset's real path, the samples after --skip and
 * --limit) for the options it was last found for: a command that looks up several models'
 * caches (complementarity, threshold, sweep) opens and decodes the dataset once, not once
 * per model (6 inflations of FashionMNIST's 26 MB of training images: 1.2 of the demo's
 * complementarity command's 1.3 s). */
static struct {
    bool set;
    char path[1024], kind[32];
    bool train;
    int skip, limit;
    char dataset[sizeof(((dc_predictions_key *)0)->dataset)];
    int count;
} last_split;

static bool same_split(const predict_opts *o)
{
    const char *kind = data_kind(o->dataset);
    return last_split.set && strcmp(last_split.path, o->path) == 0 &&
           strcmp(last_split.kind, kind ? kind : "") == 0 && last_split.train == o->train &&
           last_split.skip == o->skip && last_split.limit == o->limit;
}

static void remember_split(const predict_opts *o, const predict_target *t)
{
    const char *kind = data_kind(o->dataset);
    if (strlen(o->path) >= sizeof last_split.path)
        return;
    snprintf(last_split.path, sizeof last_split.path, "%s", o->path);
    snprintf(last_split.kind, sizeof last_split.kind, "%s", kind ? kind : "");
    last_split.train = o->train;
    last_split.skip = o->skip;
    last_split.limit = o->limit;
    memcpy(last_split.dataset, t->key.dataset, sizeof last_split.dataset);
    last_split.count = t->key.count;
    last_split.set = true;
}

dc_status predict_locate(const predict_opts *o, const char *model, const char *weights,
                         predict_target *t, dc_dataset **ds_out, dc_error *err)
{
    memset(t, 0, sizeof *t);
    if (ds_out)
        *ds_out = NULL;
    dc_status st = cli_resolve_weights(weights ? "-w" : "-m", model, weights, o->weights_dir,
                                       o->dataset, t->wpath, sizeof t->wpath, err);
    if (st != DC_OK)
        return st;
    t->key.train = o->train;
    t->key.first = o->skip;
    st = dc_file_checksum(t->wpath, &t->key.weights_checksum, err);
    if (st != DC_OK)
        return st;
    dc_dataset *ds = NULL;
    if (!ds_out && same_split(o)) { /* the key only, and this split was read already */
        memcpy(t->key.dataset, last_split.dataset, sizeof t->key.dataset);
        t->key.count = last_split.count;
    } else {
        /* --skip + --limit samples are all a prediction reads (0: the whole split) */
        int want = o->limit > 0 && o->skip <= INT_MAX - o->limit ? o->skip + o->limit : 0;
        st = dc_dataset_open_first(o->path, data_kind(o->dataset), o->train, want, &ds, err);
        if (st != DC_OK)
            return st;
        if (o->skip > 0 && (st = dc_dataset_keep(ds, o->skip, 0, err)) != DC_OK) {
            dc_dataset_close(ds);
            return st;
        }
        char *real = realpath(dc_dataset_root(ds), NULL);
        snprintf(t->key.dataset, sizeof t->key.dataset, "%s", real ? real : dc_dataset_root(ds));
        free(real);
        t->key.count = dc_dataset_count(ds);
        if (o->limit > 0 && o->limit < t->key.count)
            t->key.count = o->limit;
        remember_split(o, t);
    }

    const char *dir = o->no_cache ? NULL : predict_cache_dir(o->cache_dir, t->dir, sizeof t->dir);
    if (!dir) {
        t->dir[0] = '\0'; /* nowhere to cache */
        dir = "";
    }
    snprintf(t->cpath, sizeof t->cpath, "%s/%s-%016llx-%s-%08llx-%d+%d.h5", dir,
             model ? model : "model", (unsigned long long)t->key.weights_checksum,
             o->train ? "train" : "test",
             (unsigned long long)(fnv1a(t->key.dataset) & 0xffffffffull), t->key.first,
             t->key.count);
    if (ds_out)
        *ds_out = ds;
    else
        dc_dataset_close(ds);
    return DC_OK;
}

dc_status predict_load_cached(const predict_opts *o, const predict_target *t,
                              dc_predictions *out)
{
    if (o->no_cache || !t->dir[0])
        return DC_ERR_MISSING;
    dc_error why;
    dc_status st = dc_predictions_load(t->cpath, &t->key, o->logits, out, &why);
    if (st == DC_OK && !o->quiet)
        fprintf(stderr, "%s: predictions from the cache %s\n", out->arch, t->cpath);
    if (st == DC_ERR_FORMAT)
        fprintf(stderr, "dualcnn: %s; recomputing\n", why.msg);
    return st;
}

void predict_store(const predict_opts *o, const predict_target *t, const dc_predictions *p)
{
    if (o->no_cache || p->n != t->key.count) /* never a partial one */
        return;
    dc_error werr;
    if (!t->dir[0])
        fprintf(stderr, "dualcnn: no cache dir (neither --cache-dir, $DUALCNN_CACHE, "
                        "$XDG_CACHE_HOME nor $HOME): not caching\n");
    else if (cli_make_dirs(t->dir, &werr) != DC_OK)
        fprintf(stderr, "dualcnn: %s; not caching\n", werr.msg);
    else if (dc_predictions_save(t->cpath, p, &t->key, &werr) != DC_OK)
        fprintf(stderr, "dualcnn: %s; not caching\n", werr.msg);
    else if (!o->quiet)
        fprintf(stderr, "%s: predictions cached in %s\n", p->arch, t->cpath);
}

dc_status predict_load_net(const predict_opts *o, const char *model, const predict_target *t,
                           const dc_dataset *ds, dc_net **net, dc_error *err)
{
    int batch = o->batch > 0 ? o->batch : 64;
    dc_status st = dc_net_load(t->wpath, batch, net, err);
    if (st != DC_OK)
        return st;
    dc_net_info info = dc_net_get_info(*net);
    if (model && strcmp(model, info.arch) != 0)
        st = dc_fail(err, DC_ERR_ARG, "%s holds %s, not %s", t->wpath, info.arch, model);
    else if (info.num_classes != dc_dataset_num_classes(ds))
        st = dc_fail(err, DC_ERR_ARG, "%s has %d classes but %s has %d", o->path,
                     dc_dataset_num_classes(ds), t->wpath, info.num_classes);
    if (st != DC_OK) {
        dc_net_free(*net);
        *net = NULL;
    }
    return st;
}

dc_status predict_get(const predict_opts *o, const char *model, const char *weights,
                      dc_predictions *out, dc_error *err)
{
    predict_target t;
    dc_dataset *ds;
    /* the key first (the dataset read at most once per command), the samples only when
     * the cache cannot answer */
    dc_status st = predict_locate(o, model, weights, &t, NULL, err);
    if (st != DC_OK)
        return st;
    if (predict_load_cached(o, &t, out) == DC_OK)
        return DC_OK;
    st = predict_locate(o, model, weights, &t, &ds, err);
    if (st != DC_OK)
        return st;
    dc_net *net;
    st = predict_load_net(o, model, &t, ds, &net, err);
    if (st == DC_OK) {
        cli_progress bar;
        cli_progress_start(&bar, dc_net_get_info(net).arch, "samples", t.key.count, o->quiet);
        st = dc_predictions_compute(net, ds, t.key.count, o->batch > 0 ? o->batch : 64,
                                    o->logits, after_batch, &bar, out, err);
        cli_progress_finish(&bar);
        dc_net_free(net);
    }
    dc_dataset_close(ds);
    if (st == DC_OK)
        predict_store(o, &t, out);
    return st;
}
