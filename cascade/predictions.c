/* predictions.c — per-sample outputs of a model, and their HDF5 cache (predictions.h). */
#include "cascade/predictions.h"

#include "base/pool.h"
#include "kernels/kernels.h"
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

dc_status dc_file_checksum(const char *path, uint64_t *out, dc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open", path);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis */
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 0x100000001b3ull; /* FNV prime */
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return dc_fail(err, DC_ERR_IO, "%s: read error", path);
    *out = h;
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
    p->label = malloc(m * sizeof *p->label);
    p->pred = malloc(m * sizeof *p->pred);
    bool ok = p->label && p->pred;
    for (int k = 0; k < 3; k++)
        ok = (p->score[k] = malloc(m * sizeof *p->score[k])) && ok;
    if (logits)
        ok = (p->logits = malloc(m * (size_t)classes * sizeof *p->logits)) && ok;
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
                                 void (*progress)(int done, int total, void *arg), void *arg,
                                 dc_predictions *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    dc_net_info info = dc_net_get_info(net);
    int n = dc_dataset_count(ds);
    if (limit > 0 && limit < n)
        n = limit;
    int k = info.num_classes;
    dc_status st = alloc_predictions(out, n, k, keep_logits, err);
    if (st != DC_OK)
        return st;
    snprintf(out->arch, sizeof out->arch, "%s", info.arch);
    out->macs = info.macs;
    size_t per = (size_t)info.in_c * info.in_h * info.in_w;
    float *x = malloc(per * (size_t)batch * sizeof *x);
    float *logits = malloc((size_t)k * batch * sizeof *logits);
    float *probs = malloc((size_t)k * sizeof *probs);
    dc_status *status = malloc((size_t)batch * sizeof *status);
    dc_error *errs = malloc((size_t)batch * sizeof *errs);
    if (!x || !logits || !probs || !status || !errs)
        st = dc_fail(err, DC_ERR_NOMEM, "out of memory");
    for (int at = 0; st == DC_OK && at < n; at += batch) {
        int m = n - at < batch ? n - at : batch;
        prep_batch b = { ds, &info, at, per, x, status, errs };
        dc_pool_run(dc_pool_default(), m, prep_task, &b);
        for (int j = 0; j < m && st == DC_OK; j++) {
            if (status[j] != DC_OK) {
                if (err)
                    *err = errs[j];
                st = status[j];
            }
            out->label[at + j] = dc_dataset_label(ds, at + j);
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
        if (st == DC_OK && progress)
            progress(at + m, n, arg);
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

/* Opens attribute `name` of f when it holds exactly one value of class cls; otherwise
 * fails naming the file and the attribute. Nothing is read before these checks: a file
 * whose attribute holds 100 values must not overrun the caller's one-value buffer. */
static hid_t open_scalar_attr(hid_t f, const char *path, const char *name, H5T_class_t cls,
                              const char *what, dc_status *st, dc_error *err)
{
    *st = DC_OK;
    if (H5Aexists(f, name) <= 0) {
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attribute '%s' is "
                      "missing)", path, name);
        return -1;
    }
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t sp = a < 0 ? -1 : H5Aget_space(a);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    bool ok = sp >= 0 && t >= 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
              H5Tget_class(t) == cls && (cls != H5T_STRING || H5Tis_variable_str(t) > 0);
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (!ok) {
        if (a >= 0)
            H5Aclose(a);
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attribute '%s' "
                      "must be %s)", path, name, what);
        return -1;
    }
    return a;
}

/* Reads one integer attribute into *v (memtype: NATIVE_INT, NATIVE_LLONG or NATIVE_ULLONG). */
static dc_status read_int_attr(hid_t f, const char *path, const char *name, hid_t memtype,
                               void *v, dc_error *err)
{
    dc_status st;
    hid_t a = open_scalar_attr(f, path, name, H5T_INTEGER, "one integer", &st, err);
    if (a < 0)
        return st;
    herr_t rc = H5Aread(a, memtype, v);
    H5Aclose(a);
    if (rc < 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (cannot read "
                       "attribute '%s')", path, name);
    return DC_OK;
}

/* Reads one variable-length string attribute into dst (cap bytes, longer ones refused). */
static dc_status read_string_attr(hid_t f, const char *path, const char *name, char *dst,
                                  size_t cap, dc_error *err)
{
    dc_status st;
    hid_t a = open_scalar_attr(f, path, name, H5T_STRING, "one variable-length string", &st,
                               err);
    if (a < 0)
        return st;
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *s = NULL;
    bool ok = H5Aread(a, t, &s) >= 0 && s && strlen(s) < cap;
    if (ok)
        memcpy(dst, s, strlen(s) + 1);
    if (s)
        H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    if (!ok)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attribute '%s' "
                       "cannot be read or is longer than %zu bytes)", path, name, cap - 1);
    return DC_OK;
}

/* Checks that dataset `name` exists, is of class cls, holds exactly count values and has
 * the bytes for them in the file (a dataset may declare a huge extent it never stored):
 * called for every dataset before anything is allocated. */
static dc_status check_array(hid_t f, const char *path, const char *name, H5T_class_t cls,
                             hsize_t count, dc_error *err)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' is "
                       "missing)", path, name);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (cannot open "
                       "dataset '%s')", path, name);
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    bool right_class = t >= 0 && H5Tget_class(t) == cls;
    size_t elem = t >= 0 ? H5Tget_size(t) : 0;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    hsize_t stored = H5Dget_storage_size(d);
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    if (!right_class)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' must "
                       "hold %s)", path, name, cls == H5T_INTEGER ? "integers" : "floats");
    if (n < 0 || (hsize_t)n != count)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' holds "
                       "%lld values, not %llu)", path, name, (long long)n,
                       (unsigned long long)count);
    if (elem == 0 || stored / elem < count)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (dataset '%s' "
                       "stores %llu bytes, too few for its %llu values)", path, name,
                       (unsigned long long)stored, (unsigned long long)count);
    return DC_OK;
}

/* Reads a dataset checked by check_array. */
static bool read_array(hid_t f, const char *name, hid_t type, void *dst)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return false;
    bool ok = H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) >= 0;
    H5Dclose(d);
    return ok;
}

/* The key attributes of a cache file. */
typedef struct {
    int version, train, first, count, classes;
    unsigned long long sum;
    long long macs;
    char dataset[1024], arch[48];
} cache_attrs;

static dc_status read_cache_attrs(hid_t f, const char *path, cache_attrs *c, dc_error *err)
{
    dc_status st;
    if ((st = read_int_attr(f, path, "format_version", H5T_NATIVE_INT, &c->version, err)) ||
        (st = read_int_attr(f, path, "weights_checksum", H5T_NATIVE_ULLONG, &c->sum, err)) ||
        (st = read_string_attr(f, path, "dataset", c->dataset, sizeof c->dataset, err)) ||
        (st = read_int_attr(f, path, "train", H5T_NATIVE_INT, &c->train, err)) ||
        (st = read_int_attr(f, path, "first", H5T_NATIVE_INT, &c->first, err)) ||
        (st = read_int_attr(f, path, "count", H5T_NATIVE_INT, &c->count, err)) ||
        (st = read_string_attr(f, path, "arch", c->arch, sizeof c->arch, err)) ||
        (st = read_int_attr(f, path, "num_classes", H5T_NATIVE_INT, &c->classes, err)) ||
        (st = read_int_attr(f, path, "macs", H5T_NATIVE_LLONG, &c->macs, err)))
        return st;
    if (c->count < 0 || c->first < 0 || c->macs < 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (negative count, "
                       "first or macs)", path);
    if (c->classes < 1 || c->classes > DC_PREDICTIONS_MAX_CLASSES)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (num_classes %d is "
                       "outside 1..%d)", path, c->classes, DC_PREDICTIONS_MAX_CLASSES);
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

/* Checks every dataset's class and size, then allocates and reads them. */
static dc_status read_cache_data(hid_t f, const char *path, const cache_attrs *c,
                                 bool need_logits, dc_predictions *out, dc_error *err)
{
    hsize_t n = (hsize_t)c->count;
    dc_status st;
    if ((st = check_array(f, path, "label", H5T_INTEGER, n, err)) ||
        (st = check_array(f, path, "pred", H5T_INTEGER, n, err)))
        return st;
    for (int k = 0; k < 3; k++)
        if ((st = check_array(f, path, score_names[k], H5T_FLOAT, n, err)))
            return st;
    if (need_logits &&
        (st = check_array(f, path, "logits", H5T_FLOAT, n * (hsize_t)c->classes, err)))
        return st;
    if ((st = alloc_predictions(out, c->count, c->classes, need_logits, err)))
        return st;
    snprintf(out->arch, sizeof out->arch, "%s", c->arch);
    out->macs = c->macs;
    bool ok = read_array(f, "label", H5T_NATIVE_INT, out->label) &&
              read_array(f, "pred", H5T_NATIVE_INT, out->pred);
    for (int k = 0; ok && k < 3; k++)
        ok = read_array(f, score_names[k], H5T_NATIVE_FLOAT, out->score[k]);
    if (ok && need_logits)
        ok = read_array(f, "logits", H5T_NATIVE_FLOAT, out->logits);
    st = ok ? check_values(path, out, err)
            : dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (data cannot be "
                      "read)", path);
    if (st != DC_OK)
        dc_predictions_free(out);
    return st;
}

/* DC_ERR_MISSING when the file's key differs from key (it is stale) or it lacks the logits
 * asked for. */
static dc_status check_key(hid_t f, const char *path, const cache_attrs *c,
                           const dc_predictions_key *key, bool need_logits, dc_error *err)
{
    if (c->version != DC_PREDICTIONS_FORMAT)
        return dc_fail(err, DC_ERR_MISSING, "%s: stale: cache format %d, not %d", path,
                       c->version, DC_PREDICTIONS_FORMAT);
    if (c->sum != key->weights_checksum)
        return dc_fail(err, DC_ERR_MISSING, "%s: stale: made from other weights", path);
    if (strcmp(c->dataset, key->dataset) != 0 || (c->train != 0) != key->train ||
        c->first != key->first || c->count != key->count)
        return dc_fail(err, DC_ERR_MISSING, "%s: stale: made from other data (%s, %s, "
                       "samples %d..%lld)", path, c->dataset, c->train ? "train" : "test",
                       c->first, (long long)c->first + c->count - 1);
    if (need_logits && H5Lexists(f, "logits", H5P_DEFAULT) <= 0)
        return dc_fail(err, DC_ERR_MISSING, "%s: holds no logits", path);
    return DC_OK;
}

dc_status dc_predictions_load(const char *path, const dc_predictions_key *key,
                              bool need_logits, dc_predictions *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, F_OK) != 0)
        return dc_fail(err, DC_ERR_MISSING, "%s: no cache yet", path);
    if (H5Fis_hdf5(path) <= 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (not HDF5)", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache", path);
    cache_attrs c = { 0 };
    dc_status st = read_cache_attrs(f, path, &c, err);
    if (st == DC_OK)
        st = check_key(f, path, &c, key, need_logits, err);
    if (st == DC_OK)
        st = read_cache_data(f, path, &c, need_logits, out, err);
    H5Fclose(f);
    return st;
}
