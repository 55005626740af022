/*
 * weights.c — the HDF5 weight file reader (see weights.h and docs/weights-format.md).
 *
 * HDF5 prints its own error stack to stderr by default; we switch that off and turn every
 * failure into a dc_error that names the file and, where there is one, the tensor.
 */
#include "loaders/weights.h"

#include <hdf5.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dc_weights {
    char path[1024];
    hid_t file;
    dc_weights_attrs attrs;
    char **tensors;     /* every dataset in the file, as "/a/b/c" */
    bool *used;
    int n_tensors, cap_tensors;
};

/* ---- attributes --------------------------------------------------------- */

static hid_t open_root_attr(dc_weights *w, const char *name, bool required, dc_error *err,
                            dc_status *st)
{
    *st = DC_OK;
    htri_t exists = H5Aexists(w->file, name);
    if (exists <= 0) {
        if (required)
            *st = dc_fail(err, DC_ERR_MISSING, "%s: root attribute '%s' is missing "
                          "(not a dualcnn weight file? see docs/weights-format.md)",
                          w->path, name);
        return -1;
    }
    hid_t a = H5Aopen(w->file, name, H5P_DEFAULT);
    if (a < 0)
        *st = dc_fail(err, DC_ERR_FORMAT, "%s: cannot open attribute '%s'", w->path, name);
    return a;
}

static hssize_t attr_npoints(hid_t a)
{
    hid_t sp = H5Aget_space(a);
    hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    return n;
}

/* Reads a numeric attribute of exactly count values, converting to int or float. */
static dc_status read_numeric_attr(dc_weights *w, const char *name, hid_t memtype,
                                   int count, void *dst, dc_error *err)
{
    dc_status st;
    hid_t a = open_root_attr(w, name, true, err, &st);
    if (a < 0)
        return st;
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    hssize_t n = attr_npoints(a);
    /* an integer attribute stored as a float (format_version 1.9) would be truncated by
     * the conversion: refuse it rather than read 1 */
    bool want_int = H5Tequal(memtype, H5T_NATIVE_INT) > 0;
    if ((cls != H5T_INTEGER && (want_int || cls != H5T_FLOAT)) || n != count) {
        H5Aclose(a);
        return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s' must be %d %s%s", w->path,
                       name, count, want_int ? "integer" : "number", count == 1 ? "" : "s");
    }
    herr_t rc = H5Aread(a, memtype, dst);
    H5Aclose(a);
    if (rc < 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: cannot read attribute '%s'", w->path, name);
    for (int i = 0; !want_int && i < count; i++)
        if (!isfinite(((const float *)dst)[i]))
            return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s'[%d] is %g; it must be a "
                           "finite number", w->path, name, i, (double)((const float *)dst)[i]);
    return DC_OK;
}

/* Reads string attribute(s): a scalar or 1-D array of variable- or fixed-length strings.
 * Returns malloc'ed strings in *out (count in *n). */
static dc_status read_string_attr(dc_weights *w, const char *name, bool required,
                                  char ***out, int *n_out, dc_error *err)
{
    *out = NULL;
    *n_out = 0;
    dc_status st;
    hid_t a = open_root_attr(w, name, required, err, &st);
    if (a < 0)
        return st;
    hid_t ft = H5Aget_type(a);
    hssize_t n = attr_npoints(a);
    if (H5Tget_class(ft) != H5T_STRING || n < 1 || n > 100000) {
        H5Tclose(ft);
        H5Aclose(a);
        return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s' must be text", w->path, name);
    }
    char **strs = calloc((size_t)n, sizeof *strs);
    if (!strs) {
        H5Tclose(ft);
        H5Aclose(a);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory reading '%s'", w->path, name);
    }
    herr_t rc;
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (H5Tis_variable_str(ft) > 0) {
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char **tmp = calloc((size_t)n, sizeof *tmp);
        rc = tmp ? H5Aread(a, mt, tmp) : -1;
        for (hssize_t i = 0; rc >= 0 && i < n; i++)
            strs[i] = strdup(tmp[i] ? tmp[i] : "");
        if (rc >= 0) {
            hid_t sp = H5Aget_space(a);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
            H5Sclose(sp);
        } else if (tmp) {
            /* a read that failed part way may have converted some strings already: tmp
             * was zeroed, so whatever is not NULL belongs to HDF5's allocator */
            for (hssize_t i = 0; i < n; i++)
                if (tmp[i])
                    H5free_memory(tmp[i]);
        }
        free(tmp);
    } else {
        size_t len = H5Tget_size(ft);
        if (len == 0 || len > ((size_t)16 << 20) / (size_t)n) { /* 16 MiB of text at most */
            H5Tclose(mt);
            H5Tclose(ft);
            H5Aclose(a);
            free(strs);
            return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s' holds %lld strings of %zu "
                           "bytes: too large", w->path, name, (long long)n, len);
        }
        H5Tset_size(mt, len + 1);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* ASCII to UTF-8 is no conversion HDF5 makes */
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        char *buf = calloc((size_t)n, len + 1);
        rc = buf ? H5Aread(a, mt, buf) : -1;
        for (hssize_t i = 0; rc >= 0 && i < n; i++)
            strs[i] = strdup(buf + (size_t)i * (len + 1));
        free(buf);
    }
    H5Tclose(mt);
    H5Tclose(ft);
    H5Aclose(a);
    for (hssize_t i = 0; rc >= 0 && i < n; i++)
        if (!strs[i])
            rc = -1;
    if (rc < 0) {
        for (hssize_t i = 0; i < n; i++)
            free(strs[i]);
        free(strs);
        return dc_fail(err, DC_ERR_FORMAT, "%s: cannot read attribute '%s'", w->path, name);
    }
    *out = strs;
    *n_out = (int)n;
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
    char **s;
    int n;
    dc_status st = read_string_attr(w, name, required, &s, &n, err);
    if (st != DC_OK || n == 0)
        return st;
    if (n != 1 || strlen(s[0]) >= cap) {
        free_strings(s, n);
        return dc_fail(err, DC_ERR_FORMAT, "%s: attribute '%s' must be one string shorter "
                       "than %zu characters", w->path, name, cap);
    }
    strcpy(dst, s[0]);
    free_strings(s, n);
    return DC_OK;
}

static dc_status read_attrs(dc_weights *w, dc_error *err)
{
    dc_weights_attrs *a = &w->attrs;
    dc_status st;
    if ((st = read_numeric_attr(w, "format_version", H5T_NATIVE_INT, 1, &a->format_version,
                                err)) != DC_OK)
        return st;
    if (a->format_version != DC_WEIGHTS_FORMAT_VERSION)
        return dc_fail(err, DC_ERR_FORMAT, "%s: format_version %d is not supported (this "
                       "dualcnn reads version %d)", w->path, a->format_version,
                       DC_WEIGHTS_FORMAT_VERSION);
    if ((st = read_text_attr(w, "arch", true, a->arch, sizeof a->arch, err)) != DC_OK ||
        (st = read_text_attr(w, "dataset", true, a->dataset, sizeof a->dataset, err)) != DC_OK ||
        (st = read_numeric_attr(w, "num_classes", H5T_NATIVE_INT, 1, &a->num_classes,
                                err)) != DC_OK ||
        (st = read_numeric_attr(w, "input_size", H5T_NATIVE_INT, 3, a->input_size,
                                err)) != DC_OK ||
        (st = read_numeric_attr(w, "mean", H5T_NATIVE_FLOAT, 3, a->mean, err)) != DC_OK ||
        (st = read_numeric_attr(w, "std", H5T_NATIVE_FLOAT, 3, a->std, err)) != DC_OK ||
        (st = read_text_attr(w, "source", false, a->source, sizeof a->source, err)) != DC_OK ||
        (st = read_string_attr(w, "class_names", false, &a->class_names, &a->n_class_names,
                               err)) != DC_OK)
        return st;
    if (H5Aexists(w->file, "transform_input") > 0 &&
        (st = read_numeric_attr(w, "transform_input", H5T_NATIVE_INT, 1, &a->transform_input,
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

/* ---- the tensor list ---------------------------------------------------- */

static herr_t collect_dataset(hid_t obj, const char *name, const H5O_info_t *info, void *ud)
{
    (void)obj;
    dc_weights *w = ud;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    if (w->n_tensors == w->cap_tensors) {
        int cap = w->cap_tensors ? 2 * w->cap_tensors : 256;
        char **t = realloc(w->tensors, (size_t)cap * sizeof *t);
        bool *u = realloc(w->used, (size_t)cap * sizeof *u);
        if (t)
            w->tensors = t;
        if (u)
            w->used = u;
        if (!t || !u)
            return -1;
        w->cap_tensors = cap;
    }
    size_t len = strlen(name);
    char *s = malloc(len + 2);
    if (!s)
        return -1;
    s[0] = '/';
    memcpy(s + 1, name, len + 1);
    w->tensors[w->n_tensors] = s;
    w->used[w->n_tensors] = false;
    w->n_tensors++;
    return 0;
}

static int find_tensor(const dc_weights *w, const char *h5path)
{
    for (int i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i], h5path) == 0)
            return i;
    return -1;
}

/* ---- public ------------------------------------------------------------- */

dc_status dc_weights_open(const char *path, dc_weights **out, dc_error *err)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open weight file", path);
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: not an HDF5 file (expected a dualcnn weight "
                       "file, see tools/export_weights.py)", path);

    dc_weights *w = calloc(1, sizeof *w);
    if (!w)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    w->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (w->file < 0) {
        free(w);
        return dc_fail(err, DC_ERR_FORMAT, "%s: cannot open as HDF5 (truncated or corrupt "
                       "file?)", path);
    }
    dc_status st = read_attrs(w, err);
    if (st == DC_OK &&
        H5Ovisit(w->file, H5_INDEX_NAME, H5_ITER_NATIVE, collect_dataset, w) < 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: cannot list the tensors (truncated or corrupt "
                     "file?)", path);
    if (st != DC_OK) {
        dc_weights_close(w);
        return st;
    }
    *out = w;
    return DC_OK;
}

void dc_weights_close(dc_weights *w)
{
    if (!w)
        return;
    if (w->file >= 0)
        H5Fclose(w->file);
    free_strings(w->attrs.class_names, w->attrs.n_class_names);
    free_strings(w->tensors, w->n_tensors);
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

/* "a soft link" (or another kind) when h5path names a link that is not a hard link to a
 * dataset (H5Ovisit lists objects, not the links to them); NULL when there is no such link.
 * Every parent group is checked first, as H5Lexists requires. */
static const char *link_kind(hid_t file, const char *h5path)
{
    char part[256];
    for (const char *p = strchr(h5path + 1, '/');; p = strchr(p + 1, '/')) {
        size_t len = p ? (size_t)(p - h5path) : strlen(h5path);
        if (len >= sizeof part)
            return NULL;
        memcpy(part, h5path, len);
        part[len] = '\0';
        if (H5Lexists(file, part, H5P_DEFAULT) <= 0)
            return NULL;
        H5L_info_t li;
        if (H5Lget_info(file, part, &li, H5P_DEFAULT) < 0)
            return NULL;
        if (li.type == H5L_TYPE_SOFT)
            return p ? "under a soft link" : "a soft link";
        if (li.type == H5L_TYPE_EXTERNAL)
            return p ? "under an external link" : "an external link";
        if (li.type != H5L_TYPE_HARD)
            return "a user-defined link";
        if (!p) {
            H5O_info_t oi;
            bool dataset = H5Oget_info_by_name(file, part, &oi, H5P_DEFAULT) >= 0 &&
                           oi.type == H5O_TYPE_DATASET;
            return dataset ? "a second name (hard link) of a tensor stored under another name"
                           : "a group or another object";
        }
    }
}

/* True when ds is filtered by a filter this HDF5 library lacks; names it in buf
 * ("filter 32000 (lzf)"). */
static bool missing_filter(hid_t ds, char *buf, size_t cap)
{
    hid_t pl = H5Dget_create_plist(ds);
    if (pl < 0)
        return false;
    bool missing = false;
    int n = H5Pget_nfilters(pl);
    for (int i = 0; i < n && !missing; i++) {
        unsigned flags = 0, cd[8];
        size_t ncd = 8;
        char name[48] = "";
        H5Z_filter_t id = H5Pget_filter2(pl, (unsigned)i, &flags, &ncd, cd, sizeof name, name,
                                         NULL);
        if (id >= 0 && H5Zfilter_avail(id) <= 0) {
            missing = true;
            name[sizeof name - 1] = '\0';
            for (char *c = name; *c; c++)
                if (*c < 0x20 || *c > 0x7e)
                    *c = '?';
            snprintf(buf, cap, "HDF5 filter %d%s%s%s", (int)id, name[0] ? " (" : "", name,
                     name[0] ? ")" : "");
        }
    }
    H5Pclose(pl);
    return missing;
}

static void format_shape(char *buf, size_t cap, int ndim, const hsize_t *d64,
                         const int64_t *di)
{
    size_t at = 0;
    buf[0] = '\0';
    at += (size_t)snprintf(buf + at, cap - at, "[");
    for (int i = 0; i < ndim && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? ", " : "",
                               d64 ? (long long)d64[i] : (long long)di[i]);
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

    int idx = find_tensor(w, h5path);
    if (idx < 0) {
        const char *link = link_kind(w->file, h5path);
        if (link)
            return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: tensor '%s' (%s) is %s, not a "
                           "stored dataset (links are not supported: store the tensor itself)",
                           w->path, key, h5path, link);
        return dc_fail(err, DC_ERR_MISSING, "%s: tensor '%s' (%s) is missing for arch %s",
                       w->path, key, h5path, w->attrs.arch);
    }
    hid_t ds = H5Dopen2(w->file, h5path, H5P_DEFAULT);
    if (ds < 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: cannot open tensor '%s'", w->path, key);

    dc_status st = DC_OK;
    hid_t t = H5Dget_type(ds);
    if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 4) {
        const char *what = H5Tget_class(t) == H5T_FLOAT ? (H5Tget_size(t) == 8 ? "float64"
                                                           : "float16 or other float")
                           : H5Tget_class(t) == H5T_INTEGER ? "an integer type" : "not a number";
        st = dc_fail(err, DC_ERR_FORMAT, "%s: tensor '%s' has dtype %s; expected float32",
                     w->path, key, what);
    }
    H5Tclose(t);

    if (st == DC_OK) {
        hid_t sp = H5Dget_space(ds);
        int nd = H5Sget_simple_extent_ndims(sp);
        hsize_t dims[16] = { 0 };
        bool ok = nd == ndim && nd <= 16 && H5Sget_simple_extent_dims(sp, dims, NULL) == nd;
        for (int i = 0; ok && i < nd; i++)
            ok = (int64_t)dims[i] == shape[i];
        H5Sclose(sp);
        if (!ok) {
            char got[160], want[160];
            format_shape(got, sizeof got, nd < 0 ? 0 : (nd > 16 ? 16 : nd), dims, NULL);
            format_shape(want, sizeof want, ndim, NULL, shape);
            st = dc_fail(err, DC_ERR_SHAPE, "%s: tensor '%s' has shape %s; arch %s expects %s",
                         w->path, key, got, w->attrs.arch, want);
        }
    }
    if (st == DC_OK && dst &&
        H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
        /* an optional filter (h5py's LZF) skips chunks it could not shrink, so a tensor
         * with an unavailable filter may still read: blame the filter only on failure */
        char filter[80];
        if (missing_filter(ds, filter, sizeof filter))
            st = dc_fail(err, DC_ERR_UNSUPPORTED, "%s: tensor '%s' is compressed with %s, "
                         "which this HDF5 library cannot decode (re-save it uncompressed or "
                         "with gzip)", w->path, key, filter);
        else
            st = dc_fail(err, DC_ERR_FORMAT, "%s: cannot read tensor '%s' (truncated or "
                         "corrupt file?)", w->path, key);
    }
    if (st == DC_OK && dst) {
        size_t count = 1;
        for (int i = 0; i < ndim; i++)
            count *= (size_t)shape[i];
        for (size_t i = 0; i < count; i++)
            if (!isfinite(dst[i])) {
                st = dc_fail(err, DC_ERR_FORMAT, "%s: tensor '%s' holds %g at index %zu; "
                             "weights must be finite", w->path, key, (double)dst[i], i);
                break;
            }
    }
    H5Dclose(ds);
    if (st == DC_OK)
        w->used[idx] = true;
    return st;
}

dc_status dc_weights_check_all_used(const dc_weights *w, dc_error *err)
{
    for (int i = 0; i < w->n_tensors; i++) {
        if (w->used[i])
            continue;
        const char *p = w->tensors[i];
        /* num_batches_tracked is dropped by the exporter but harmless if present */
        const char *leaf = strrchr(p, '/');
        if (leaf && strcmp(leaf, "/num_batches_tracked") == 0)
            continue;
        return dc_fail(err, DC_ERR_FORMAT, "%s: unexpected tensor %s for arch %s (a file "
                       "for another architecture or width?)", w->path, p, w->attrs.arch);
    }
    return DC_OK;
}
