/* predictions.c — per-sample outputs of a model, and their HDF5 cache (predictions.h). */
#include "cascade/predictions.h"

#include "base/pool.h"
#include "kernels/kernels.h"
#include "loaders/preprocess.h"

#include <hdf5.h>
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
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot create the prediction cache", tmp);
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
        remove(tmp);
        return dc_fail(err, DC_ERR_IO, "%s: cannot write the prediction cache", path);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return dc_fail(err, DC_ERR_IO, "%s: cannot rename the prediction cache into place",
                       path);
    }
    return DC_OK;
}

static bool read_attr(hid_t f, const char *name, hid_t type, void *v)
{
    if (H5Aexists(f, name) <= 0)
        return false;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    bool ok = a >= 0 && H5Aread(a, type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

static bool read_string_attr(hid_t f, const char *name, char *dst, size_t cap)
{
    if (H5Aexists(f, name) <= 0)
        return false;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *s = NULL;
    bool ok = a >= 0 && H5Aread(a, t, &s) >= 0 && s;
    if (ok)
        snprintf(dst, cap, "%s", s);
    if (s)
        H5free_memory(s);
    H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

/* Reads a 1-D or 2-D dataset of exactly the expected element count. */
static bool read_array(hid_t f, const char *name, hid_t type, hsize_t count, void *dst)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return false;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return false;
    hid_t sp = H5Dget_space(d);
    bool ok = H5Sget_simple_extent_npoints(sp) == (hssize_t)count &&
              H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) >= 0;
    H5Sclose(sp);
    H5Dclose(d);
    return ok;
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
    int version = 0, train = 0, first = 0, count = 0, classes = 0;
    unsigned long long sum = 0;
    long long macs = 0;
    char dataset[1024] = "", arch[48] = "";
    bool ok = read_attr(f, "format_version", H5T_NATIVE_INT, &version) &&
              read_attr(f, "weights_checksum", H5T_NATIVE_ULLONG, &sum) &&
              read_string_attr(f, "dataset", dataset, sizeof dataset) &&
              read_attr(f, "train", H5T_NATIVE_INT, &train) &&
              read_attr(f, "first", H5T_NATIVE_INT, &first) &&
              read_attr(f, "count", H5T_NATIVE_INT, &count) &&
              read_string_attr(f, "arch", arch, sizeof arch) &&
              read_attr(f, "num_classes", H5T_NATIVE_INT, &classes) &&
              read_attr(f, "macs", H5T_NATIVE_LLONG, &macs);
    dc_status st = DC_OK;
    if (!ok || count < 0 || classes < 1)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (attributes)", path);
    else if (version != DC_PREDICTIONS_FORMAT)
        st = dc_fail(err, DC_ERR_MISSING, "%s: stale: cache format %d, not %d", path, version,
                     DC_PREDICTIONS_FORMAT);
    else if (sum != key->weights_checksum)
        st = dc_fail(err, DC_ERR_MISSING, "%s: stale: made from other weights", path);
    else if (strcmp(dataset, key->dataset) != 0 || (train != 0) != key->train ||
             first != key->first || count != key->count)
        st = dc_fail(err, DC_ERR_MISSING, "%s: stale: made from other data (%s, %s, samples "
                     "%d..%d)", path, dataset, train ? "train" : "test", first,
                     first + count - 1);
    else if (need_logits && H5Lexists(f, "logits", H5P_DEFAULT) <= 0)
        st = dc_fail(err, DC_ERR_MISSING, "%s: holds no logits", path);
    if (st == DC_OK)
        st = alloc_predictions(out, count, classes, need_logits, err);
    if (st == DC_OK) {
        snprintf(out->arch, sizeof out->arch, "%s", arch);
        out->macs = macs;
        hsize_t n = (hsize_t)count;
        ok = read_array(f, "label", H5T_NATIVE_INT, n, out->label) &&
             read_array(f, "pred", H5T_NATIVE_INT, n, out->pred);
        for (int k = 0; ok && k < 3; k++)
            ok = read_array(f, score_names[k], H5T_NATIVE_FLOAT, n, out->score[k]);
        if (ok && need_logits)
            ok = read_array(f, "logits", H5T_NATIVE_FLOAT, n * (hsize_t)classes, out->logits);
        for (int i = 0; ok && i < count; i++)
            ok = out->label[i] >= 0 && out->label[i] < classes && out->pred[i] >= 0 &&
                 out->pred[i] < classes;
        if (!ok) {
            dc_predictions_free(out);
            st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt prediction cache (data)", path);
        }
    }
    H5Fclose(f);
    return st;
}
