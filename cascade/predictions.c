/* predictions.c — per-sample outputs of a model, and their HDF5 cache (predictions.h). */
#include "cascade/predictions.h"
#include "base/alloc.h"

#include "base/pool.h"
#include "kernels/kernels.h"
#include "loaders/h5reader.h"
#include "loaders/outfile.h"
#include "loaders/preprocess.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const score_names[3] = { "maxp", "difference", "entropy" };

/* FNV-1a over 64-bit little-endian words (the bytes past the last whole word one at a
 * time), then splitmix64's finaliser to spread the bits. Each step, (h ^ word) * odd, is
 * a bijection of h, so changing any one word always changes the result. A word a step
 * rather than a byte: vgg11_bn's 39 MB took 80 ms byte by byte, a multiply's latency each. */
static uint64_t checksum_words(uint64_t h, const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = 0;
        for (int b = 0; b < 8; b++)
            w |= (uint64_t)p[i + b] << (8 * b);
        h = (h ^ w) * 0x100000001b3ull; /* FNV prime */
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

dc_status dc_file_checksum(const char *path, uint64_t *out, dc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open", path);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis */
    unsigned char buf[1 << 16];         /* a multiple of 8: words never straddle reads */
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        h = checksum_words(h, buf, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return dc_fail(err, DC_ERR_IO, "%s: read error", path);
    h ^= h >> 30, h *= 0xbf58476d1ce4e5b9ull; /* splitmix64's finaliser */
    h ^= h >> 27, h *= 0x94d049bb133111ebull;
    *out = h ^ (h >> 31);
    return DC_OK;
}

void dc_predictions_free(dc_predictions *p)
{
    free(p->label);
    free(p->pred);
    for (int k = 0; k < 3; k++)
        free(p->score[k]);
    free(p->logits);
    memset(p, 0, sizeof *p);
}

static dc_status alloc_predictions(dc_predictions *p, int n, int classes, bool logits,
                                   dc_error *err)
{
    size_t m = (size_t)(n > 0 ? n : 1);
    p->n = n;
    p->num_classes = classes;
    p->label = dc_malloc(m * sizeof *p->label);
    p->pred = dc_malloc(m * sizeof *p->pred);
    bool ok = p->label && p->pred;
    for (int k = 0; k < 3; k++)
        ok = (p->score[k] = dc_malloc(m * sizeof *p->score[k])) && ok;
    if (logits)
        ok = (p->logits = dc_malloc(m * (size_t)classes * sizeof *p->logits)) && ok;
    if (!ok) {
        dc_predictions_free(p);
        return dc_fail(err, DC_ERR_NOMEM, "out of memory for %d predictions", n);
    }
    return DC_OK;
}

double dc_predictions_accuracy(const dc_predictions *p)
{
    int right = 0;
    for (int i = 0; i < p->n; i++)
        right += p->pred[i] == p->label[i];
    return p->n ? (double)right / p->n : 0.0;
}

/* One batch's inputs, decoded and preprocessed on the engine's threads (samples are
 * independent: dc_dataset_image and dc_preprocess_net touch only their own sample). */
typedef struct {
    const dc_dataset *ds;
    const dc_net_info *info;
    int first;           /* dataset index of the batch's sample 0 */
    size_t per;          /* floats of one preprocessed sample */
    float *x;
    dc_status *status;   /* per sample */
    dc_error *errs;      /* per sample, read only where status != DC_OK */
} prep_batch;

static void prep_task(void *ctx, int j, int thread)
{
    (void)thread;
    const prep_batch *b = ctx;
    dc_image img = { 0 };
    dc_status st = dc_dataset_image(b->ds, b->first + j, &img, &b->errs[j]);
    if (st == DC_OK)
        st = dc_preprocess_net(&img, b->info, b->x + b->per * (size_t)j, &b->errs[j]);
    dc_image_free(&img);
    b->status[j] = st;
}

dc_status dc_predictions_compute(dc_net *net, const dc_dataset *ds, int limit, int batch,
                                 bool keep_logits,
                                 bool (*progress)(int done, int total, void *arg), void *arg,
                                 dc_predictions *out, dc_error *err)
{
    int n = dc_dataset_count(ds);
    if (limit > 0 && limit < n)
        n = limit;
    return dc_predictions_compute_range(net, ds, 0, n, batch, keep_logits, progress, arg, out,
                                        err);
}

dc_status dc_predictions_compute_range(dc_net *net, const dc_dataset *ds, int first, int n,
                                       int batch, bool keep_logits,
                                       bool (*progress)(int done, int total, void *arg),
                                       void *arg, dc_predictions *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    if (first < 0 || n < 0 || first > dc_dataset_count(ds) - n || batch < 1)
        return dc_fail(err, DC_ERR_ARG, "samples %d..%d (batch %d) are not within the %d of "
                       "the split", first, first + n - 1, batch, dc_dataset_count(ds));
    dc_net_info info = dc_net_get_info(net);
    int k = info.num_classes;
    dc_status st = alloc_predictions(out, n, k, keep_logits, err);
    if (st != DC_OK)
        return st;
    snprintf(out->arch, sizeof out->arch, "%s", info.arch);
    out->macs = info.macs;
    size_t per = (size_t)info.in_c * info.in_h * info.in_w;
    float *x = dc_malloc(per * (size_t)batch * sizeof *x);
    float *logits = dc_malloc((size_t)k * batch * sizeof *logits);
    float *probs = dc_malloc((size_t)k * sizeof *probs);
    dc_status *status = dc_malloc((size_t)batch * sizeof *status);
    dc_error *errs = dc_malloc((size_t)batch * sizeof *errs);
    if (!x || !logits || !probs || !status || !errs)
        st = dc_fail(err, DC_ERR_NOMEM, "out of memory");
    for (int at = 0; st == DC_OK && at < n; at += batch) {
        int m = n - at < batch ? n - at : batch;
        prep_batch b = { ds, &info, first + at, per, x, status, errs };
        dc_pool_run(dc_pool_default(), m, prep_task, &b);
        for (int j = 0; j < m && st == DC_OK; j++) {
            if (status[j] != DC_OK) {
                if (err)
                    *err = errs[j];
                st = status[j];
            }
            out->label[at + j] = dc_dataset_label(ds, first + at + j);
        }
        if (st == DC_OK)
            st = dc_net_forward(net, x, m, logits, err);
        for (int j = 0; j < m && st == DC_OK; j++) {
            const float *l = logits + (size_t)j * k;
            dc_softmax(l, probs, k);
            out->pred[at + j] = dc_argmax(l, k);
            for (int s = 0; s < 3; s++)
                out->score[s][at + j] = (float)dc_score((dc_score_kind)s, probs, k);
            if (keep_logits)
                memcpy(out->logits + (size_t)(at + j) * k, l, (size_t)k * sizeof *l);
        }
        if (st == DC_OK && progress && !progress(at + m, n, arg)) {
            out->n = at + m; /* asked to stop: the samples done */
            break;
        }
    }
    free(x);
    free(logits);
    free(probs);
    free(status);
    free(errs);
    if (st != DC_OK)
        dc_predictions_free(out);
    return st;
}

/* ---- the cache file ----------------------------------------------------- */

static herr_t write_attr(hid_t f, const char *name, hid_t type, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static herr_t write_string_attr(hid_t f, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    herr_t rc = write_attr(f, name, t, &value);
    H5Tclose(t);
    return rc;
}

static herr_t write_array(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
                          const void *data)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(sp);
    return rc;
}

dc_status dc_predictions_save(const char *path, const dc_predictions *p,
                              const dc_predictions_key *key, dc_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    dc_outfile out;
    dc_status st = dc_outfile_open(&out, path, DC_OUT_SEEKABLE | DC_OUT_NAME_ONLY, err);
    if (st != DC_OK)
        return st;
    errno = 0;
    hid_t f = H5Fcreate(out.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        st = dc_fail(err, DC_ERR_IO, "%s: cannot create the prediction cache %s: %s", path,
                     out.tmp, errno ? strerror(errno) : "HDF5 error");
        dc_outfile_abort(&out);
        return st;
    }
    int version = DC_PREDICTIONS_FORMAT, train = key->train;
    unsigned long long sum = key->weights_checksum;
    long long macs = p->macs;
    hsize_t n = (hsize_t)p->n, dims[2] = { (hsize_t)p->n, (hsize_t)p->num_classes };
    herr_t rc = 0;
    rc |= write_attr(f, "format_version", H5T_NATIVE_INT, &version);
    rc |= write_attr(f, "weights_checksum", H5T_NATIVE_ULLONG, &sum);
    rc |= write_string_attr(f, "dataset", key->dataset);
    rc |= write_attr(f, "train", H5T_NATIVE_INT, &train);
    rc |= write_attr(f, "first", H5T_NATIVE_INT, &key->first);
    rc |= write_attr(f, "count", H5T_NATIVE_INT, &key->count);
    rc |= write_string_attr(f, "arch", p->arch);
    rc |= write_attr(f, "num_classes", H5T_NATIVE_INT, &p->num_classes);
    rc |= write_attr(f, "macs", H5T_NATIVE_LLONG, &macs);
    rc |= write_array(f, "label", H5T_NATIVE_INT, 1, &n, p->label);
    rc |= write_array(f, "pred", H5T_NATIVE_INT, 1, &n, p->pred);
    for (int k = 0; k < 3; k++)
        rc |= write_array(f, score_names[k], H5T_NATIVE_FLOAT, 1, &n, p->score[k]);
    if (p->logits)
        rc |= write_array(f, "logits", H5T_NATIVE_FLOAT, 2, dims, p->logits);
    rc |= H5Fclose(f);
    if (rc < 0) {
        st = dc_fail(err, DC_ERR_IO, "%s: cannot write the prediction cache: %s", path,
                     errno ? strerror(errno) : "HDF5 error");
        dc_outfile_abort(&out);
        return st;
    }
    return dc_outfile_commit(&out, err);
}

/* Root attribute `name` when it holds exactly one value of class cls (INT takes UINT too);
 * otherwise fails naming the file and the attribute. */
static const dc_h5snap_item *scalar_attr(const dc_h5snap *f, const char *path, const char *name,
                                         dc_h5snap_class cls, const char *what, dc_status *st,
                                         dc_error *err)
{
    *st = DC_OK;
    const dc_h5snap_item *a = dc_h5snap_attr(f, name);
    if (!a) {
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attribute '%s' is "
                      "missing)", path, name);
        return NULL;
    }
    bool right = a->cls == cls || (cls == DC_H5SNAP_INT && a->cls == DC_H5SNAP_UINT);
    if (!right || a->count != 1) {
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attribute '%s' "
                      "must be %s)", path, name, what);
        return NULL;
    }
    return a;
}

/* Reads one integer attribute that must lie in [lo, hi] (as an unsigned value when lo and
 * hi are both 0: the checksum). */
static dc_status read_int_attr(const dc_h5snap *f, const char *path, const char *name,
                               long long lo, long long hi, long long *v, unsigned long long *u,
                               dc_error *err)
{
    dc_status st;
    const dc_h5snap_item *a = scalar_attr(f, path, name, DC_H5SNAP_INT, "one integer", &st,
                                          err);
    if (!a)
        return st;
    if (u) {
        *u = a->cls == DC_H5SNAP_UINT ? ((const uint64_t *)a->data)[0]
                                      : (unsigned long long)((const int64_t *)a->data)[0];
        return DC_OK;
    }
    bool in_range = a->cls == DC_H5SNAP_UINT
                    ? ((const uint64_t *)a->data)[0] <= (uint64_t)hi
                    : ((const int64_t *)a->data)[0] >= lo && ((const int64_t *)a->data)[0] <= hi;
    if (!in_range)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attribute '%s' is "
                       "out of range)", path, name);
    *v = a->cls == DC_H5SNAP_UINT ? (long long)((const uint64_t *)a->data)[0]
                                  : (long long)((const int64_t *)a->data)[0];
    return DC_OK;
}

/* Reads one string attribute into dst (cap bytes, longer ones refused). */
static dc_status read_string_attr(const dc_h5snap *f, const char *path, const char *name,
                                  char *dst, size_t cap, dc_error *err)
{
    dc_status st;
    const dc_h5snap_item *a = scalar_attr(f, path, name, DC_H5SNAP_STRING, "one string", &st,
                                          err);
    if (!a)
        return st;
    const char *s = a->data;
    if (strlen(s) >= cap)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attribute '%s' "
                       "is longer than %zu bytes)", path, name, cap - 1);
    memcpy(dst, s, strlen(s) + 1);
    return DC_OK;
}

/* The dataset `name` when it is of class cls (INT takes UINT too) and holds exactly count
 * values; otherwise fails naming the file and the dataset. The snapshot has checked that
 * the file stores the bytes it declares. */
static const dc_h5snap_item *check_array(const dc_h5snap *f, const char *path, const char *name,
                                         dc_h5snap_class cls, uint64_t count, dc_status *st,
                                         dc_error *err)
{
    char h5path[64];
    snprintf(h5path, sizeof h5path, "/%s", name);
    const dc_h5snap_item *d = dc_h5snap_find(f, h5path, NULL);
    *st = DC_OK;
    if (!d || d->kind != DC_H5SNAP_DATASET) {
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' is "
                      "missing)", path, name);
        return NULL;
    }
    if (!(d->cls == cls || (cls == DC_H5SNAP_INT && d->cls == DC_H5SNAP_UINT))) {
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' must "
                      "hold %s)", path, name, cls == DC_H5SNAP_INT ? "integers" : "floats");
        return NULL;
    }
    if (d->unreadable) {
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' is %s)",
                      path, name, d->note);
        return NULL;
    }
    if (d->count != count) {
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' holds "
                      "%llu values, not %llu)", path, name, (unsigned long long)d->count,
                      (unsigned long long)count);
        return NULL;
    }
    return d;
}

/* Copies the integers of d (checked by check_array) into dst; one that does not fit an int
 * becomes -1, which check_values refuses. */
static void copy_ints(const dc_h5snap_item *d, int *dst)
{
    for (uint64_t i = 0; i < d->count; i++) {
        long long v = d->cls == DC_H5SNAP_UINT
                      ? (((const uint64_t *)d->data)[i] > INT32_MAX ? -1
                         : (long long)((const uint64_t *)d->data)[i])
                      : (long long)((const int64_t *)d->data)[i];
        dst[i] = v < INT32_MIN || v > INT32_MAX ? -1 : (int)v;
    }
}

/* Copies the floats of d into dst (doubles narrowed). */
static void copy_floats(const dc_h5snap_item *d, float *dst)
{
    for (uint64_t i = 0; i < d->count; i++)
        dst[i] = d->elem_size <= 4 ? ((const float *)d->data)[i]
                                   : (float)((const double *)d->data)[i];
}

/* The key attributes of a cache file. */
typedef struct {
    long long version, train, first, count, classes;
    unsigned long long sum;
    long long macs;
    char dataset[1024], arch[48];
} cache_attrs;

static dc_status read_cache_attrs(const dc_h5snap *f, const char *path, cache_attrs *c,
                                  dc_error *err)
{
    dc_status st;
    if ((st = read_int_attr(f, path, "format_version", INT32_MIN, INT32_MAX, &c->version, NULL,
                            err)) ||
        (st = read_int_attr(f, path, "weights_checksum", 0, 0, NULL, &c->sum, err)) ||
        (st = read_string_attr(f, path, "dataset", c->dataset, sizeof c->dataset, err)) ||
        (st = read_int_attr(f, path, "train", INT32_MIN, INT32_MAX, &c->train, NULL, err)) ||
        (st = read_int_attr(f, path, "first", 0, INT32_MAX, &c->first, NULL, err)) ||
        (st = read_int_attr(f, path, "count", 0, INT32_MAX, &c->count, NULL, err)) ||
        (st = read_string_attr(f, path, "arch", c->arch, sizeof c->arch, err)) ||
        (st = read_int_attr(f, path, "num_classes", 1, DC_PREDICTIONS_MAX_CLASSES, &c->classes,
                            NULL, err)) ||
        (st = read_int_attr(f, path, "macs", 0, INT64_MAX, &c->macs, NULL, err)))
        return st;
    return DC_OK;
}

/* Rounding may carry a normalised entropy a hair past 1 */
#define DC_SCORE_SLACK 1e-5f

/* Checks every value read: labels and predictions in 0..classes-1, scores in [0, 1] (give
 * or take DC_SCORE_SLACK; NaN refused), logits finite. */
static dc_status check_values(const char *path, const dc_predictions *p, dc_error *err)
{
    for (int i = 0; i < p->n; i++) {
        if (p->label[i] < 0 || p->label[i] >= p->num_classes || p->pred[i] < 0 ||
            p->pred[i] >= p->num_classes)
            return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (sample %d: "
                           "label %d or prediction %d is not a class of %d)", path, i,
                           p->label[i], p->pred[i], p->num_classes);
        for (int k = 0; k < 3; k++)
            if (!(p->score[k][i] >= -DC_SCORE_SLACK &&
                  p->score[k][i] <= 1.0f + DC_SCORE_SLACK))
                return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (sample %d: "
                               "%s score %g is not in [0, 1])", path, i, score_names[k],
                               (double)p->score[k][i]);
    }
    size_t nl = p->logits ? (size_t)p->n * (size_t)p->num_classes : 0;
    for (size_t i = 0; i < nl; i++)
        if (!isfinite(p->logits[i]))
            return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (logit %zu is "
                           "%g)", path, i, (double)p->logits[i]);
    return DC_OK;
}

/* Checks every dataset's class and size, then allocates and copies them. */
static dc_status read_cache_data(const dc_h5snap *f, const char *path, const cache_attrs *c,
                                 bool need_logits, dc_predictions *out, dc_error *err)
{
    uint64_t n = (uint64_t)c->count;
    dc_status st;
    const dc_h5snap_item *label, *pred, *score[3], *logits = NULL;
    if (!(label = check_array(f, path, "label", DC_H5SNAP_INT, n, &st, err)) ||
        !(pred = check_array(f, path, "pred", DC_H5SNAP_INT, n, &st, err)))
        return st;
    for (int k = 0; k < 3; k++)
        if (!(score[k] = check_array(f, path, score_names[k], DC_H5SNAP_FLOAT, n, &st, err)))
            return st;
    if (need_logits && !(logits = check_array(f, path, "logits", DC_H5SNAP_FLOAT,
                                              n * (uint64_t)c->classes, &st, err)))
        return st;
    if ((st = alloc_predictions(out, (int)c->count, (int)c->classes, need_logits, err)))
        return st;
    snprintf(out->arch, sizeof out->arch, "%s", c->arch);
    out->macs = c->macs;
    copy_ints(label, out->label);
    copy_ints(pred, out->pred);
    for (int k = 0; k < 3; k++)
        copy_floats(score[k], out->score[k]);
    if (logits)
        copy_floats(logits, out->logits);
    st = check_values(path, out, err);
    if (st != DC_OK)
        dc_predictions_free(out);
    return st;
}

/* DC_ERR_MISSING when the file's key differs from key (it is stale) or it lacks the logits
 * asked for. */
static dc_status check_key(const dc_h5snap *f, const char *path, const cache_attrs *c,
                           const dc_predictions_key *key, bool need_logits, dc_error *err)
{
    if (c->version != DC_PREDICTIONS_FORMAT)
        return dc_fail(err, DC_ERR_MISSING, "%s: stale: cache format %lld, not %d", path,
                       c->version, DC_PREDICTIONS_FORMAT);
    if (c->sum != key->weights_checksum)
        return dc_fail(err, DC_ERR_MISSING, "%s: stale: made from other weights", path);
    if (strcmp(c->dataset, key->dataset) != 0 || (c->train != 0) != key->train ||
        c->first != key->first || c->count != key->count)
        return dc_fail(err, DC_ERR_MISSING, "%s: stale: made from other data (%s, %s, "
                       "samples %lld..%lld)", path, c->dataset, c->train ? "train" : "test",
                       c->first, c->first + c->count - 1);
    if (need_logits && !dc_h5snap_find(f, "/logits", NULL))
        return dc_fail(err, DC_ERR_MISSING, "%s: holds no logits", path);
    return DC_OK;
}

dc_status dc_predictions_load(const char *path, const dc_predictions_key *key,
                              bool need_logits, dc_predictions *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    if (access(path, F_OK) != 0)
        return dc_fail(err, DC_ERR_MISSING, "%s: no cache yet", path);
    dc_h5snap *f;
    dc_status st = dc_h5_read_file(path, &f, err);
    if (st == DC_ERR_IO || st == DC_ERR_NOMEM)
        return st; /* the reader could not run: the file may be fine */
    if (st != DC_OK) {
        /* the reader names the file; say what the file was meant to be */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        const char *rest = strncmp(msg, path, strlen(path)) == 0 ? msg + strlen(path) : msg;
        if (rest[0] == ':' && rest[1] == ' ')
            rest += 2;
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (%s)", path, rest);
    }
    cache_attrs c = { 0 };
    st = read_cache_attrs(f, path, &c, err);
    if (st == DC_OK)
        st = check_key(f, path, &c, key, need_logits, err);
    if (st == DC_OK)
        st = read_cache_data(f, path, &c, need_logits, out, err);
    dc_h5snap_free(f);
    return st;
}
