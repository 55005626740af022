/*
 * weights.c — the HDF5 weight file reader (see weights.h and docs/weights-format.md).
 *
 * The file is read by dc_h5_read_file (loaders/h5reader.h): in a quarantined helper process
 * by default, which hands back a checked snapshot of every root attribute and dataset. This
 * file only interprets that snapshot: which attributes a weight file needs, and whether
 * each tensor the architecture asks for is there, float32, of the right shape and finite.
 * Every failure is a dc_error that names the file and, where there is one, the tensor.
 */
#include "loaders/weights.h"
#include "base/alloc.h"

#include "loaders/h5reader.h"
#include "loaders/h5snapshot.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dc_weights {
    char path[1024];
    dc_h5snap *snap;
    dc_weights_attrs attrs;
    bool *used;         /* per snapshot item: read by dc_weights_read */
};

/* ---- attributes --------------------------------------------------------- */

static const dc_h5snap_item *root_attr(dc_weights *w, const char *name, bool required,
                                       dc_error *err, dc_status *st)
{
    *st = DC_OK;
    const dc_h5snap_item *it = dc_h5snap_attr(w->snap, name);
    if (!it && required)
        *st = dc_fail(err, DC_ERR_MISSING, "%s: root attribute '%s' is missing "
                      "(not a dualcnn weight file? see docs/weights-format.md)", w->path, name);
    return it;
}

/* Reads a numeric attribute of exactly count values into int or float dst. An integer
 * attribute stored as a float (format_version 1.9) is refused rather than truncated. */
static dc_status read_numeric_attr(dc_weights *w, const char *name, bool want_int, int count,
                                   void *dst, dc_error *err)
{
    dc_status st;
    const dc_h5snap_item *it = root_attr(w, name, true, err, &st);
    if (!it)
        return st;
    bool is_int = it->cls == DC_H5SNAP_INT || it->cls == DC_H5SNAP_UINT;
    if ((!is_int && (want_int || it->cls != DC_H5SNAP_FLOAT)) || it->count != (uint64_t)count)
        return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s' must be %d %s%s", w->path,
                       name, count, want_int ? "integer" : "number", count == 1 ? "" : "s");
    for (int i = 0; i < count; i++) {
        double v;
        if (it->cls == DC_H5SNAP_INT)
            v = (double)((const int64_t *)it->data)[i];
        else if (it->cls == DC_H5SNAP_UINT)
            v = (double)((const uint64_t *)it->data)[i];
        else if (it->elem_size <= 4)
            v = ((const float *)it->data)[i];
        else
            v = ((const double *)it->data)[i];
        if (want_int) {
            if (v < -2147483648.0 || v > 2147483647.0)
                return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s'[%d] = %.0f is out of "
                               "range", w->path, name, i, v);
            ((int *)dst)[i] = (int)v;
        } else {
            if (!isfinite((float)v))
                return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s'[%d] is %g; it must be "
                               "a finite number", w->path, name, i, v);
            ((float *)dst)[i] = (float)v;
        }
    }
    return DC_OK;
}

/* Reads string attribute(s): a scalar or 1-D array of strings. Returns malloc'ed strings
 * in *out (count in *n). */
static dc_status read_string_attr(dc_weights *w, const char *name, bool required,
                                  char ***out, int *n_out, dc_error *err)
{
    *out = NULL;
    *n_out = 0;
    dc_status st;
    const dc_h5snap_item *it = root_attr(w, name, required, err, &st);
    if (!it)
        return st;
    if (it->cls != DC_H5SNAP_STRING || it->count < 1 || it->count > 100000)
        return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s' must be text", w->path, name);
    int n = (int)it->count;
    char **strs = dc_calloc((size_t)n, sizeof *strs);
    if (!strs)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory reading '%s'", w->path, name);
    const char *p = it->data;
    for (int i = 0; i < n; i++, p += strlen(p) + 1)
        if (!(strs[i] = dc_strdup(p))) {
            for (int k = 0; k < i; k++)
                free(strs[k]);
            free(strs);
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory reading '%s'", w->path, name);
        }
    *out = strs;
    *n_out = n;
    return DC_OK;
}

static void free_strings(char **s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* Copies a one-string attribute into a fixed buffer. */
static dc_status read_text_attr(dc_weights *w, const char *name, bool required, char *dst,
                                size_t cap, dc_error *err)
{
    dc_status st;
    const dc_h5snap_item *it = root_attr(w, name, required, err, &st);
    if (!it)
        return st;
    if (it->cls != DC_H5SNAP_STRING || it->count != 1 || strlen(it->data) >= cap)
        return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s' must be one string shorter "
                       "than %zu characters", w->path, name, cap);
    strcpy(dst, it->data);
    return DC_OK;
}

static dc_status read_attrs(dc_weights *w, dc_error *err)
{
    dc_weights_attrs *a = &w->attrs;
    dc_status st;
    if ((st = read_numeric_attr(w, "format_version", true, 1, &a->format_version, err)) != DC_OK)
        return st;
    if (a->format_version != DC_WEIGHTS_FORMAT_VERSION)
        return dc_fail(err, DC_ERR_FORMAT, "%s: format_version %d is not supported (this "
                       "dualcnn reads version %d)", w->path, a->format_version,
                       DC_WEIGHTS_FORMAT_VERSION);
    if ((st = read_text_attr(w, "arch", true, a->arch, sizeof a->arch, err)) != DC_OK ||
        (st = read_text_attr(w, "dataset", true, a->dataset, sizeof a->dataset, err)) != DC_OK ||
        (st = read_numeric_attr(w, "num_classes", true, 1, &a->num_classes, err)) != DC_OK ||
        (st = read_numeric_attr(w, "input_size", true, 3, a->input_size, err)) != DC_OK ||
        (st = read_numeric_attr(w, "mean", false, 3, a->mean, err)) != DC_OK ||
        (st = read_numeric_attr(w, "std", false, 3, a->std, err)) != DC_OK ||
        (st = read_text_attr(w, "source", false, a->source, sizeof a->source, err)) != DC_OK ||
        (st = read_string_attr(w, "class_names", false, &a->class_names, &a->n_class_names,
                               err)) != DC_OK)
        return st;
    /* names that end up in messages and paths: plain ASCII, no control bytes */
    for (const char *c = a->arch; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return dc_fail(err, DC_ERR_FORMAT, "%s: attribute 'arch' must be printable ASCII",
                           w->path);
    for (const char *c = a->dataset; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return dc_fail(err, DC_ERR_FORMAT, "%s: attribute 'dataset' must be printable "
                           "ASCII", w->path);
    if (dc_h5snap_attr(w->snap, "transform_input") &&
        (st = read_numeric_attr(w, "transform_input", true, 1, &a->transform_input,
                                err)) != DC_OK)
        return st;
    if (a->transform_input != 0 && a->transform_input != 1)
        return dc_fail(err, DC_ERR_FORMAT, "%s: root attribute 'transform_input' must be 0 "
                       "or 1, not %d", w->path, a->transform_input);
    if (a->num_classes < 1 || a->num_classes > 100000)
        return dc_fail(err, DC_ERR_FORMAT, "%s: num_classes %d is out of range", w->path,
                       a->num_classes);
    for (int i = 0; i < 3; i++) {
        if (a->input_size[i] < 1 || a->input_size[i] > 8192)
            return dc_fail(err, DC_ERR_FORMAT, "%s: input_size[%d] = %d is out of range",
                           w->path, i, a->input_size[i]);
        if (!(a->std[i] > 0.0f))
            return dc_fail(err, DC_ERR_FORMAT, "%s: std[%d] must be positive", w->path, i);
    }
    if (a->class_names && a->n_class_names != a->num_classes)
        return dc_fail(err, DC_ERR_FORMAT, "%s: %d class_names for %d classes", w->path,
                       a->n_class_names, a->num_classes);
    return DC_OK;
}

/* ---- public ------------------------------------------------------------- */

/* Reads the snapshot of the file `name` (data == NULL) or of the file image data[0..size)
 * named `name`, then its attributes. */
static dc_status open_snapshot(const char *name, const void *data, size_t size,
                               dc_weights **out, dc_error *err)
{
    dc_weights *w = dc_calloc(1, sizeof *w);
    if (!w)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", name);
    snprintf(w->path, sizeof w->path, "%s", name);
    dc_status st = data ? dc_h5_read_memory(data, size, name, &w->snap, err)
                        : dc_h5_read_file(name, &w->snap, err);
    if (st == DC_OK &&
        !(w->used = dc_calloc((size_t)dc_h5snap_count(w->snap) + 1, sizeof *w->used)))
        st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", name);
    if (st == DC_OK)
        st = read_attrs(w, err);
    if (st != DC_OK) {
        dc_weights_close(w);
        return st;
    }
    *out = w;
    return DC_OK;
}

dc_status dc_weights_open(const char *path, dc_weights **out, dc_error *err)
{
    *out = NULL;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open weight file", path);
    unsigned char magic[8] = { 0 };
    size_t got = fread(magic, 1, sizeof magic, probe);
    fclose(probe);
    /* HDF5's signature; a file with a user block has it further on, which the reader
     * finds, so only a file too short for it is refused here */
    if (got < sizeof magic)
        return dc_fail(err, DC_ERR_FORMAT, "%s: not an HDF5 file (expected a dualcnn weight "
                       "file, see tools/export_weights.py)", path);

    return open_snapshot(path, NULL, 0, out, err);
}

dc_status dc_weights_open_memory(const void *data, size_t size, const char *name,
                                 dc_weights **out, dc_error *err)
{
    *out = NULL;
    if (!name)
        name = "<memory>";
    if (!data || size == 0)
        return dc_fail(err, DC_ERR_ARG, "%s: no bytes to read (%s)", name,
                       data ? "size 0" : "NULL data");
    if (size < 8)
        return dc_fail(err, DC_ERR_FORMAT, "%s: not an HDF5 file image (%zu bytes; expected "
                       "a dualcnn weight file, see tools/export_weights.py)", name, size);
    return open_snapshot(name, data, size, out, err);
}

void dc_weights_close(dc_weights *w)
{
    if (!w)
        return;
    dc_h5snap_free(w->snap);
    free_strings(w->attrs.class_names, w->attrs.n_class_names);
    free(w->used);
    free(w);
}

const dc_weights_attrs *dc_weights_get_attrs(const dc_weights *w)
{
    return &w->attrs;
}

const char *dc_weights_path(const dc_weights *w)
{
    return w->path;
}

/* What h5path is when it is no stored dataset: "a soft link", "under a soft link", ...
 * (the snapshot lists links without following them); NULL when nothing is there. */
static const char *link_kind(const dc_h5snap *snap, const char *h5path)
{
    const dc_h5snap_item *it = dc_h5snap_find(snap, h5path, NULL);
    if (it)
        return it->kind == DC_H5SNAP_LINK ? it->note : NULL;
    char part[256];
    for (const char *p = strchr(h5path + 1, '/'); p; p = strchr(p + 1, '/')) {
        size_t len = (size_t)(p - h5path);
        if (len >= sizeof part)
            return NULL;
        memcpy(part, h5path, len);
        part[len] = '\0';
        it = dc_h5snap_find(snap, part, NULL);
        if (it && it->kind == DC_H5SNAP_LINK)
            return strstr(it->note, "soft") ? "under a soft link"
                   : strstr(it->note, "external") ? "under an external link"
                   : "under a link";
    }
    return NULL;
}

static void format_shape(char *buf, size_t cap, int ndim, const uint64_t *du,
                         const int64_t *di)
{
    size_t at = 0;
    buf[0] = '\0';
    at += (size_t)snprintf(buf + at, cap - at, "[");
    for (int i = 0; i < ndim && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? ", " : "",
                               du ? (long long)du[i] : (long long)di[i]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

dc_status dc_weights_read(dc_weights *w, const char *key, int ndim, const int64_t *shape,
                          float *dst, dc_error *err)
{
    char h5path[256];
    size_t len = strlen(key);
    if (len + 2 > sizeof h5path)
        return dc_fail(err, DC_ERR_ARG, "%s: tensor name too long: %s", w->path, key);
    h5path[0] = '/';
    for (size_t i = 0; i <= len; i++)
        h5path[i + 1] = key[i] == '.' ? '/' : key[i];

    int idx;
    const dc_h5snap_item *it = dc_h5snap_find(w->snap, h5path, &idx);
    if (!it || it->kind != DC_H5SNAP_DATASET) {
        const char *link = link_kind(w->snap, h5path);
        if (link)
            return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: tensor '%s' (%s) is %s, not a "
                           "stored dataset (links are not supported: store the tensor itself)",
                           w->path, key, h5path, link);
        return dc_fail(err, DC_ERR_MISSING, "%s: tensor '%s' (%s) is missing for arch %s",
                       w->path, key, h5path, w->attrs.arch);
    }
    if (it->unreadable)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: tensor '%s' (%s) is %s", w->path, key,
                       h5path, it->note);
    if (it->cls != DC_H5SNAP_FLOAT || it->elem_size != 4) {
        const char *what = it->cls == DC_H5SNAP_FLOAT
                           ? (it->elem_size == 8 ? "float64" : "float16 or other float")
                           : it->cls == DC_H5SNAP_INT || it->cls == DC_H5SNAP_UINT
                           ? "an integer type" : "not a number";
        return dc_fail(err, DC_ERR_FORMAT, "%s: tensor '%s' has dtype %s; expected float32",
                       w->path, key, what);
    }
    bool ok = it->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = (int64_t)it->dims[i] == shape[i];
    if (!ok) {
        char got[160], want[160];
        format_shape(got, sizeof got, it->ndim, it->dims, NULL);
        format_shape(want, sizeof want, ndim, NULL, shape);
        return dc_fail(err, DC_ERR_SHAPE, "%s: tensor '%s' has shape %s; arch %s expects %s",
                       w->path, key, got, w->attrs.arch, want);
    }
    const float *src = it->data;
    for (uint64_t i = 0; i < it->count; i++)
        if (!isfinite(src[i]))
            return dc_fail(err, DC_ERR_FORMAT, "%s: tensor '%s' holds %g at index %llu; "
                           "weights must be finite", w->path, key, (double)src[i],
                           (unsigned long long)i);
    if (dst && it->count)
        memcpy(dst, src, (size_t)it->count * sizeof *dst);
    w->used[idx] = true;
    return DC_OK;
}

dc_status dc_weights_check_all_used(const dc_weights *w, dc_error *err)
{
    int n = dc_h5snap_count(w->snap);
    for (int i = 0; i < n; i++) {
        const dc_h5snap_item *it = dc_h5snap_item_at(w->snap, i);
        if (w->used[i] || it->kind != DC_H5SNAP_DATASET)
            continue;
        /* num_batches_tracked is dropped by the exporter but harmless if present */
        const char *leaf = strrchr(it->name, '/');
        if (leaf && strcmp(leaf, "/num_batches_tracked") == 0)
            continue;
        return dc_fail(err, DC_ERR_FORMAT, "%s: unexpected tensor %s for arch %s (a file "
                       "for another architecture or width?)", w->path, it->name, w->attrs.arch);
    }
    return DC_OK;
}
