/*
 * torch_checkpoint.c — the state_dict of a torch.save file (see torch_checkpoint.h): tell
 * the format, parse its pickle, find the state_dict, check every tensor against its
 * storage, and read tensors as float32 on demand.
 */
#include "loaders/torch_checkpoint.h"
#include "loaders/readfile.h"
#include "base/alloc.h"
#include "loaders/torch_legacy.h"
#include "loaders/torch_zip.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dc_torch_checkpoint {
    char *name;
    uint8_t *file;              /* the file's bytes, when opened from a path */
    dc_torch_format format;
    dc_torch_zip *zip;
    dc_torch_legacy *legacy;
    uint8_t *pickle_bytes;      /* the zip's data.pkl */
    dc_pickle *pickle;          /* the zip's parsed data.pkl (the legacy reader owns its own) */
    dc_torch_tensor *tensors;
    int ntensors;
    char cached_key[72];        /* the zip storage read last, kept for the next tensor */
    uint8_t *cached;
};

/* The names a state_dict may be held under, as tools/export_weights.py looks for them. */
static const char *const dc_tc_wrappers[] = { "state_dict", "model", "model_state_dict" };

/* ---- small helpers ------------------------------------------------------ */

/* Copies a pickled string into buf for a message, non-printable bytes as '?'. */
static const char *dc_tc_shown(const dc_pickle_value *s, char *buf, size_t cap)
{
    size_t n = 0;
    if (dc_pickle_is_string(s))
        for (; n < s->len && n + 1 < cap; n++)
            buf[n] = s->bytes[n] >= 0x20 && s->bytes[n] < 0x7f ? (char)s->bytes[n] : '?';
    buf[n] = '\0';
    return buf;
}

/* a * b + c for non-negative values, false on passing limit. */
static bool dc_tc_muladd(int64_t a, int64_t b, int64_t c, int64_t limit, int64_t *out)
{
    if (a != 0 && b > (limit - c) / a)
        return false;
    *out = a * b + c;
    return *out <= limit;
}

static bool dc_tc_little_endian_host(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ---- the state_dict ----------------------------------------------------- */

/* The dict holding the tensors: the root, or the dict under one of dc_tc_wrappers. */
static dc_status dc_tc_find_state_dict(const dc_torch_checkpoint *c,
                                       const dc_pickle_value *root,
                                       const dc_pickle_value **out, dc_error *err)
{
    const dc_pickle_value *sd = root;
    for (size_t i = 0; root->kind == DC_PK_DICT &&
                       i < sizeof dc_tc_wrappers / sizeof dc_tc_wrappers[0]; i++) {
        const dc_pickle_value *v = dc_pickle_dict_get(root, dc_tc_wrappers[i]);
        if (v && v->kind != DC_PK_TENSOR) {
            sd = v;
            break;
        }
    }
    if (sd->kind != DC_PK_DICT || sd->count == 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: no state_dict found (expected a dict of "
                       "tensors, or a dict with one under 'state_dict', 'model' or "
                       "'model_state_dict')", c->name);
    for (size_t j = 0; j < sd->count; j++) {
        const dc_pickle_value *k = sd->items[2 * j], *v = sd->items[2 * j + 1];
        char shown[128];
        if (!dc_pickle_is_string(k))
            return dc_fail(err, DC_ERR_FORMAT, "%s: not a state_dict: key %zu is not a "
                           "string", c->name, j);
        if (v->kind != DC_PK_TENSOR)
            return dc_fail(err, DC_ERR_FORMAT, "%s: not a state_dict: entry '%s' is not a "
                           "tensor", c->name, dc_tc_shown(k, shown, sizeof shown));
    }
    *out = sd;
    return DC_OK;
}

/* Whether a key can become an HDF5 path ('.' -> '/'): printable ASCII without '/', no
 * empty part. */
static bool dc_tc_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 200 || k[0] == '.' || k[n - 1] == '.' || strstr(k, ".."))
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e || k[i] == '/')
            return false;
    return true;
}

static int dc_tc_key_cmp(const void *a, const void *b)
{
    return strcmp((*(const dc_torch_tensor *const *)a)->key,
                  (*(const dc_torch_tensor *const *)b)->key);
}

/* Two keys that are the same once 'module.' is removed. */
static dc_status dc_tc_check_unique(dc_torch_checkpoint *c, dc_error *err)
{
    const dc_torch_tensor **sorted = dc_malloc((size_t)c->ntensors * sizeof *sorted);
    if (!sorted)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", c->name);
    for (int i = 0; i < c->ntensors; i++)
        sorted[i] = &c->tensors[i];
    qsort(sorted, (size_t)c->ntensors, sizeof *sorted, dc_tc_key_cmp);
    dc_status st = DC_OK;
    for (int i = 1; i < c->ntensors && st == DC_OK; i++)
        if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: two entries become '%s' once the 'module.' "
                         "prefix is removed", c->name, sorted[i]->key);
    free(sorted);
    return st;
}

/* Fills t from the tensor value v under key k, and checks it against its storage. */
static dc_status dc_tc_tensor(dc_torch_checkpoint *c, const dc_pickle_value *k,
                              const dc_pickle_value *v, dc_torch_tensor *t, dc_error *err)
{
    const char *raw = (const char *)k->bytes;
    size_t len = k->len;
    if (len >= 7 && memcmp(raw, "module.", 7) == 0) {
        raw += 7;
        len -= 7;
    }
    char shown[128];
    if (!(t->key = dc_malloc(len + 1)))
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", c->name);
    memcpy(t->key, raw, len);
    t->key[len] = '\0';
    if (memchr(raw, '\0', len) || !dc_tc_key_ok(t->key))
        return dc_fail(err, DC_ERR_FORMAT, "%s: tensor key '%s' cannot name a weight file "
                       "tensor (printable ASCII without '/' or empty parts)", c->name,
                       dc_tc_shown(k, shown, sizeof shown));

    const dc_pickle_value *s = v->items[0];
    snprintf(t->storage, sizeof t->storage, "%.*s", (int)s->len, (const char *)s->bytes);
    t->storage_numel = s->i;
    t->dtype = s->dtype;
    if (t->dtype != DC_PK_DT_FLOAT32 && t->dtype != DC_PK_DT_INT64)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: tensor '%s' is %s (torch.%s): only "
                       "float32 tensors (and int64 integer buffers) are read; save the model "
                       "after model.float()", c->name, t->key, dc_pickle_dtype_name(t->dtype),
                       dc_pickle_dtype_storage_name(t->dtype));
    t->ndim = v->ndim;
    t->offset = v->i;
    t->numel = 1;
    int64_t last = t->offset; /* the last element the view reads */
    const int64_t limit = (int64_t)1 << 50;
    bool ok = true;
    for (int d = 0; d < t->ndim; d++) {
        t->shape[d] = v->dims[d];
        t->stride[d] = v->dims[t->ndim + d];
        ok = ok && dc_tc_muladd(t->numel, t->shape[d], 0, limit, &t->numel);
        if (ok && t->shape[d] > 0)
            ok = dc_tc_muladd(t->shape[d] - 1, t->stride[d], last, limit, &last);
    }
    if (!ok)
        return dc_fail(err, DC_ERR_FORMAT, "%s: tensor '%s' declares a size or strides "
                       "beyond 2^50 elements", c->name, t->key);
    if (t->numel > 0 && last >= t->storage_numel)
        return dc_fail(err, DC_ERR_FORMAT, "%s: tensor '%s' reads element %lld of storage "
                       "'%s', which holds %lld: a storage shorter than the tensor", c->name,
                       t->key, (long long)last, t->storage, (long long)t->storage_numel);
    if (t->numel > t->storage_numel)
        return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: tensor '%s' has %lld elements in a "
                       "storage of %lld (overlapping strides, as expand() makes): not "
                       "supported", c->name, t->key, (long long)t->numel,
                       (long long)t->storage_numel);
    uint64_t nbytes = (uint64_t)t->storage_numel * dc_pickle_dtype_size(t->dtype);
    if (c->format == DC_TORCH_ZIP)
        return dc_torch_zip_check_storage(c->zip, t->storage, nbytes, err);
    const uint8_t *data;
    return dc_torch_legacy_storage(c->legacy, t->storage, nbytes, &data, err);
}

static dc_status dc_tc_collect(dc_torch_checkpoint *c, const dc_pickle *pk, dc_error *err)
{
    const dc_pickle_value *sd = NULL;
    dc_status st = dc_tc_find_state_dict(c, dc_pickle_root(pk), &sd, err);
    if (st != DC_OK)
        return st;
    if (sd->count > (size_t)1 << 20)
        return dc_fail(err, DC_ERR_FORMAT, "%s: a state_dict of %zu tensors", c->name,
                       sd->count);
    c->tensors = dc_calloc(sd->count, sizeof *c->tensors);
    if (!c->tensors)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", c->name);
    for (size_t j = 0; j < sd->count && st == DC_OK; j++) {
        st = dc_tc_tensor(c, sd->items[2 * j], sd->items[2 * j + 1], &c->tensors[j], err);
        c->ntensors = (int)j + 1;
    }
    return st == DC_OK ? dc_tc_check_unique(c, err) : st;
}

/* ---- opening ------------------------------------------------------------ */

static bool dc_tc_is_zip(const uint8_t *buf, size_t n)
{
    return n >= 4 && buf[0] == 'P' && buf[1] == 'K' &&
           ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6));
}

static dc_status dc_tc_open_zip(dc_torch_checkpoint *c, const uint8_t *buf, size_t n,
                                const dc_pickle **pk, dc_error *err)
{
    size_t len;
    dc_status st = dc_torch_zip_open(buf, n, c->name, &c->zip, err);
    if (st == DC_OK)
        st = dc_torch_zip_read_pickle(c->zip, DC_TORCH_MAX_PICKLE, &c->pickle_bytes, &len,
                                      err);
    if (st != DC_OK)
        return st;
    char where[320];
    snprintf(where, sizeof where, "%s: %s/data.pkl", c->name, dc_torch_zip_prefix(c->zip));
    st = dc_pickle_parse_profile(c->pickle_bytes, len, where, DC_PICKLE_TORCH, NULL,
                                 &c->pickle, err);
    *pk = c->pickle;
    return st;
}

dc_status dc_torch_checkpoint_open_buffer(const uint8_t *buf, size_t n, const char *name,
                                          dc_torch_checkpoint **out, dc_error *err)
{
    *out = NULL;
    dc_torch_checkpoint *c = dc_calloc(1, sizeof *c);
    if (!c || !(c->name = dc_strdup(name))) {
        free(c);
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", name);
    }
    dc_status st;
    const dc_pickle *pk = NULL;
    if (dc_tc_is_zip(buf, n)) {
        c->format = DC_TORCH_ZIP;
        st = dc_tc_open_zip(c, buf, n, &pk, err);
    } else if (dc_torch_legacy_detect(buf, n)) {
        c->format = DC_TORCH_LEGACY;
        st = dc_torch_legacy_open(buf, n, c->name, &c->legacy, err);
        if (st == DC_OK)
            pk = dc_torch_legacy_pickle(c->legacy);
    } else if (n >= 262 && memcmp(buf + 257, "ustar", 5) == 0) {
        st = dc_fail(err, DC_ERR_UNSUPPORTED, "%s: a tar archive: the tar format of torch < "
                     "0.4 is not read (load and re-save it with a newer torch)", name);
    } else {
        st = dc_fail(err, DC_ERR_FORMAT, "%s: not a PyTorch checkpoint: neither a zip archive "
                     "(torch.save since torch 1.6) nor the legacy format's magic number%s",
                     name, n == 0 ? " (the file is empty)" : "");
    }
    if (st == DC_OK)
        st = dc_tc_collect(c, pk, err);
    if (st != DC_OK) {
        dc_torch_checkpoint_free(c);
        return st;
    }
    *out = c;
    return DC_OK;
}

dc_status dc_torch_checkpoint_open(const char *path, dc_torch_checkpoint **out, dc_error *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t n;
    dc_status st = dc_read_whole_file(path, DC_TORCH_MAX_FILE, NULL, &buf, &n, err);
    if (st != DC_OK)
        return st;
    st = dc_torch_checkpoint_open_buffer(buf ? buf : (const uint8_t *)"", n, path, out, err);
    if (st != DC_OK) {
        free(buf);
        return st;
    }
    (*out)->file = buf;
    return DC_OK;
}

void dc_torch_checkpoint_free(dc_torch_checkpoint *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->ntensors; i++)
        free(c->tensors[i].key);
    free(c->tensors);
    free(c->cached);
    dc_pickle_free(c->pickle);
    free(c->pickle_bytes);
    dc_torch_zip_close(c->zip);
    dc_torch_legacy_close(c->legacy);
    free(c->file);
    free(c->name);
    free(c);
}

dc_torch_format dc_torch_checkpoint_format(const dc_torch_checkpoint *c)
{
    return c->format;
}

int dc_torch_checkpoint_count(const dc_torch_checkpoint *c)
{
    return c->ntensors;
}

const dc_torch_tensor *dc_torch_checkpoint_tensor(const dc_torch_checkpoint *c, int i)
{
    return i >= 0 && i < c->ntensors ? &c->tensors[i] : NULL;
}

/* ---- reading ------------------------------------------------------------ */

/* The storage's bytes: a pointer into the legacy file, or the zip record (kept until a
 * tensor of another storage is read: a state_dict's views of one storage come together). */
static dc_status dc_tc_storage(dc_torch_checkpoint *c, const dc_torch_tensor *t,
                               const uint8_t **data, dc_error *err)
{
    uint64_t nbytes = (uint64_t)t->storage_numel * dc_pickle_dtype_size(t->dtype);
    if (c->format == DC_TORCH_LEGACY)
        return dc_torch_legacy_storage(c->legacy, t->storage, nbytes, data, err);
    if (!c->cached || strcmp(c->cached_key, t->storage) != 0) {
        free(c->cached);
        c->cached = NULL;
        dc_status st = dc_torch_zip_read_storage(c->zip, t->storage, nbytes, &c->cached, err);
        if (st != DC_OK)
            return st;
        snprintf(c->cached_key, sizeof c->cached_key, "%s", t->storage);
    }
    *data = c->cached;
    return DC_OK;
}

/* Element e of a little-endian storage as float32; false for an int64 that float32 cannot
 * hold exactly. */
static bool dc_tc_element(const uint8_t *data, dc_pickle_dtype dt, int64_t e, float *out)
{
    if (dt == DC_PK_DT_FLOAT32) {
        const uint8_t *p = data + 4 * (size_t)e;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        memcpy(out, &u, sizeof *out);
        return true;
    }
    const uint8_t *p = data + 8 * (size_t)e;
    uint64_t u = 0;
    for (int b = 7; b >= 0; b--)
        u = u << 8 | p[b];
    int64_t v;
    memcpy(&v, &u, sizeof v);
    if (v <= -(1 << 24) || v >= (1 << 24))
        return false;
    *out = (float)v;
    return true;
}

dc_status dc_torch_checkpoint_read_f32(dc_torch_checkpoint *c, int i, float *dst,
                                       dc_error *err)
{
    const dc_torch_tensor *t = dc_torch_checkpoint_tensor(c, i);
    if (!t)
        return dc_fail(err, DC_ERR_ARG, "%s: no tensor %d", c->name, i);
    if (t->numel == 0)
        return DC_OK;
    const uint8_t *data;
    dc_status st = dc_tc_storage(c, t, &data, err);
    if (st != DC_OK)
        return st;
    /* contiguous float32 on a little-endian machine: one copy */
    bool contiguous = true;
    int64_t want = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != want)
            contiguous = false;
        want *= t->shape[d];
    }
    if (contiguous && t->dtype == DC_PK_DT_FLOAT32 && dc_tc_little_endian_host()) {
        memcpy(dst, data + 4 * (size_t)t->offset, 4 * (size_t)t->numel);
        return DC_OK;
    }
    /* otherwise element by element, the index running over the shape in C order */
    int64_t idx[DC_PICKLE_MAX_TENSOR_DIMS] = { 0 };
    int64_t at = t->offset;
    for (int64_t e = 0; e < t->numel; e++) {
        if (!dc_tc_element(data, t->dtype, at, &dst[e]))
            return dc_fail(err, DC_ERR_UNSUPPORTED, "%s: tensor '%s' holds an integer of "
                           "magnitude 2^24 or more at index %lld, which float32 cannot hold "
                           "exactly", c->name, t->key, (long long)e);
        for (int d = t->ndim - 1; d >= 0; d--) {
            at += t->stride[d];
            if (++idx[d] < t->shape[d])
                break;
            at -= t->stride[d] * t->shape[d];
            idx[d] = 0;
        }
    }
    return DC_OK;
}
