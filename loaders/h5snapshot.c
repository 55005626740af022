/*
 * h5snapshot.c — checking and reading a snapshot of an HDF5 file (h5snapshot.h).
 *
 * The block comes from another process that read a file we do not trust with a library we
 * do not trust, so it is parsed like any other untrusted input: every offset and length is
 * checked against the block before it is followed, every name must end inside the block,
 * and every record's data size must match its class, element size and shape.
 */
#include "loaders/h5snapshot.h"
#include "base/alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dc_h5snap {
    char path[1024];
    const unsigned char *block;
    size_t size;
    void (*release)(void *block, size_t size, void *arg);
    void *release_arg;
    int n;
    dc_h5snap_item *items;
    struct named { const char *name; int index; } *by_name; /* datasets and links, sorted by
                                                             * name, for dc_h5snap_find */
    int n_by_name;
};

uint64_t dc_h5snap_value_bytes(dc_h5snap_class cls, uint32_t elem_size, uint64_t count)
{
    uint64_t per;
    switch (cls) {
    case DC_H5SNAP_INT:
    case DC_H5SNAP_UINT:
        per = 8;
        break;
    case DC_H5SNAP_FLOAT:
        per = elem_size <= 4 ? 4 : 8;
        break;
    default:
        return 0;
    }
    return count > UINT64_MAX / per ? 0 : count * per;
}

/* The NUL-terminated string at off, or NULL when off is outside the block or the string
 * does not end inside it. */
static const char *string_at(const dc_h5snap *s, uint64_t off)
{
    if (off < sizeof(dc_h5snap_header) || off >= s->size)
        return NULL;
    const char *p = (const char *)s->block + off;
    return memchr(p, '\0', s->size - off) ? p : NULL;
}

static dc_status bad(const dc_h5snap *s, dc_error *err, uint32_t i, const char *what)
{
    return dc_fail(err, DC_ERR_FORMAT, "%s: the HDF5 reader's snapshot is malformed (item %u: "
                   "%s); damaged or hostile HDF5 file?", s->path, i, what);
}

/* Checks record i and fills item i from it. */
static dc_status parse_record(dc_h5snap *s, uint32_t i, const dc_h5snap_record *r,
                              dc_error *err)
{
    dc_h5snap_item *it = &s->items[i];
    if (r->kind < DC_H5SNAP_ATTR || r->kind > DC_H5SNAP_LINK)
        return bad(s, err, i, "unknown kind");
    if (r->cls < DC_H5SNAP_INT || r->cls > DC_H5SNAP_OTHER)
        return bad(s, err, i, "unknown class");
    if (r->ndim > DC_H5SNAP_MAX_DIMS)
        return bad(s, err, i, "too many dimensions");
    uint64_t count = 1;
    for (uint32_t d = 0; d < r->ndim; d++) {
        if (r->dims[d] && count > UINT64_MAX / r->dims[d])
            return bad(s, err, i, "shape overflows");
        count *= r->dims[d];
    }
    if (count != r->count)
        return bad(s, err, i, "count is not the product of the shape");
    it->name = string_at(s, r->name_off);
    it->note = string_at(s, r->note_off);
    if (!it->name || !it->note || !it->name[0])
        return bad(s, err, i, "name outside the snapshot");
    it->kind = (dc_h5snap_kind)r->kind;
    it->cls = (dc_h5snap_class)r->cls;
    it->elem_size = r->elem_size;
    it->ndim = (int)r->ndim;
    memcpy(it->dims, r->dims, sizeof it->dims);
    it->count = count;
    it->data = NULL;
    it->data_bytes = 0;
    it->unreadable = (r->flags & DC_H5SNAP_UNREADABLE) != 0;
    if (r->flags & ~DC_H5SNAP_UNREADABLE)
        return bad(s, err, i, "unknown flags");
    if (it->unreadable && (it->kind != DC_H5SNAP_DATASET || !it->note[0]))
        return bad(s, err, i, "an unreadable item that is no dataset or says not why");
    bool has_data = it->kind != DC_H5SNAP_LINK && it->cls != DC_H5SNAP_OTHER && !it->unreadable;
    if (!has_data)
        return r->data_bytes == 0 ? DC_OK : bad(s, err, i, "data where none belongs");
    if (r->data_off % 8 || r->data_off < sizeof(dc_h5snap_header) || r->data_off > s->size ||
        r->data_bytes > s->size - r->data_off)
        return bad(s, err, i, "data outside the snapshot");
    const char *data = (const char *)s->block + r->data_off;
    if (it->cls == DC_H5SNAP_STRING) {
        /* exactly count strings, the last one ending at the end of the data */
        uint64_t nuls = 0;
        for (uint64_t b = 0; b < r->data_bytes; b++)
            nuls += data[b] == '\0';
        if (nuls != count || (count && data[r->data_bytes - 1] != '\0'))
            return bad(s, err, i, "string data does not hold its strings");
    } else if (r->data_bytes != dc_h5snap_value_bytes(it->cls, it->elem_size, count) ||
               (count && !r->data_bytes)) {
        return bad(s, err, i, "data size does not match the shape");
    }
    it->data = data;
    it->data_bytes = r->data_bytes;
    return DC_OK;
}

static int by_name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

dc_status dc_h5snap_parse(const char *path, const void *block, size_t size,
                          void (*release)(void *block, size_t size, void *arg),
                          void *release_arg, dc_h5snap **out, dc_error *err)
{
    *out = NULL;
    dc_h5snap *s = dc_calloc(1, sizeof *s);
    if (!s)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->block = block;
    s->size = size;
    dc_h5snap_header h;
    dc_status st = DC_OK;
    if (size < sizeof h || ((uintptr_t)block % 8) != 0) {
        st = dc_fail(err, DC_ERR_FORMAT, "%s: the HDF5 reader returned no snapshot (%zu bytes)",
                     path, size);
        goto fail;
    }
    memcpy(&h, block, sizeof h);
    if (memcmp(h.magic, DC_H5SNAP_MAGIC, 8) != 0 || h.total_bytes != size) {
        st = dc_fail(err, DC_ERR_FORMAT, "%s: the HDF5 reader's snapshot is malformed (header); "
                     "damaged or hostile HDF5 file?", path);
        goto fail;
    }
    if (h.status != DC_H5SNAP_OK) {
        const char *msg = h.status == DC_H5SNAP_REFUSED ? string_at(s, h.message_off) : NULL;
        /* the message was written by our own helper but is still bounded and printable */
        char clean[600];
        size_t k = 0;
        for (; msg && msg[k] && k + 1 < sizeof clean; k++)
            clean[k] = (msg[k] >= 0x20 && msg[k] < 0x7f) || (unsigned char)msg[k] >= 0x80
                       ? msg[k] : '?';
        clean[k] = '\0';
        dc_status code = h.code >= DC_ERR_IO && h.code <= DC_ERR_UNSUPPORTED
                         ? (dc_status)h.code : DC_ERR_FORMAT;
        st = dc_fail(err, msg ? code : DC_ERR_FORMAT, "%s: %s", path,
                     msg ? clean : "the HDF5 reader's snapshot is malformed (status)");
        goto fail;
    }
    uint64_t max_items = (size - sizeof h) / sizeof(dc_h5snap_record);
    if (h.n_items > max_items || h.items_off % 8 || h.items_off < sizeof h ||
        h.items_off > size || (uint64_t)h.n_items * sizeof(dc_h5snap_record) > size - h.items_off) {
        st = dc_fail(err, DC_ERR_FORMAT, "%s: the HDF5 reader's snapshot is malformed (item "
                     "table); damaged or hostile HDF5 file?", path);
        goto fail;
    }
    s->n = (int)h.n_items;
    s->items = dc_calloc(h.n_items ? h.n_items : 1, sizeof *s->items);
    s->by_name = dc_calloc(h.n_items ? h.n_items : 1, sizeof *s->by_name);
    if (!s->items || !s->by_name) {
        st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for %u HDF5 objects", path,
                     h.n_items);
        goto fail;
    }
    const unsigned char *recs = (const unsigned char *)block + h.items_off;
    for (uint32_t i = 0; i < h.n_items; i++) {
        dc_h5snap_record r;
        memcpy(&r, recs + (size_t)i * sizeof r, sizeof r);
        if ((st = parse_record(s, i, &r, err)) != DC_OK)
            goto fail;
        if (s->items[i].kind != DC_H5SNAP_ATTR)
            s->by_name[s->n_by_name++] = (struct named){ s->items[i].name, (int)i };
    }
    qsort(s->by_name, (size_t)s->n_by_name, sizeof *s->by_name, by_name_cmp);
    for (int i = 1; i < s->n_by_name; i++)
        if (strcmp(s->by_name[i - 1].name, s->by_name[i].name) == 0) {
            st = bad(s, err, (uint32_t)s->by_name[i].index, "a name given twice");
            goto fail;
        }
    s->release = release;
    s->release_arg = release_arg;
    *out = s;
    return DC_OK;
fail:
    s->release = NULL; /* the caller keeps the block on failure */
    dc_h5snap_free(s);
    return st;
}

void dc_h5snap_free(dc_h5snap *s)
{
    if (!s)
        return;
    if (s->release)
        s->release((void *)s->block, s->size, s->release_arg);
    free(s->items);
    free(s->by_name);
    free(s);
}

const char *dc_h5snap_path(const dc_h5snap *s)
{
    return s->path;
}

int dc_h5snap_count(const dc_h5snap *s)
{
    return s->n;
}

const dc_h5snap_item *dc_h5snap_item_at(const dc_h5snap *s, int i)
{
    return i >= 0 && i < s->n ? &s->items[i] : NULL;
}

const dc_h5snap_item *dc_h5snap_attr(const dc_h5snap *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (s->items[i].kind == DC_H5SNAP_ATTR && strcmp(s->items[i].name, name) == 0)
            return &s->items[i];
    return NULL;
}

const dc_h5snap_item *dc_h5snap_find(const dc_h5snap *s, const char *h5path, int *index)
{
    int lo = 0, hi = s->n_by_name - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(h5path, s->by_name[mid].name);
        if (c == 0) {
            if (index)
                *index = s->by_name[mid].index;
            return &s->items[s->by_name[mid].index];
        }
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *dc_h5snap_string(const dc_h5snap_item *it, uint64_t i)
{
    if (it->cls != DC_H5SNAP_STRING || i >= it->count)
        return NULL;
    const char *p = it->data;
    for (uint64_t k = 0; k < i; k++)
        p += strlen(p) + 1;
    return p;
}

const char *dc_h5snap_type_name(const dc_h5snap_item *it, char *buf, size_t cap)
{
    switch (it->cls) {
    case DC_H5SNAP_INT:
        snprintf(buf, cap, "int%u", 8 * it->elem_size);
        break;
    case DC_H5SNAP_UINT:
        snprintf(buf, cap, "uint%u", 8 * it->elem_size);
        break;
    case DC_H5SNAP_FLOAT:
        snprintf(buf, cap, "float%u", 8 * it->elem_size);
        break;
    case DC_H5SNAP_STRING:
        snprintf(buf, cap, "string");
        break;
    default:
        snprintf(buf, cap, "a type that is not a number");
        break;
    }
    return buf;
}
