/*
 * h5snapshot_build.c — an HDF5 file, read with libhdf5 and checked, into a snapshot
 * (h5snapshot_build.h, layout in h5snapshot.h).
 *
 * Two passes. The first walks the file: every root attribute (checked, then read: they are
 * small) and every link under the root (H5Lvisit, which does not follow soft or external
 * links); each dataset is checked (class, element size, rank, layout, external storage,
 * declared bytes against stored bytes and the file's size) but not read. The second pass
 * lays the snapshot out in one block and reads each dataset straight into its place, so a
 * tensor is copied once, from the file into the block the parent will map.
 */
#include "loaders/h5snapshot_build.h"
#include "base/alloc.h"

#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    dc_h5snap_record rec;   /* offsets are filled in by the layout */
    char *name;
    const char *note;
    void *values;           /* attributes: their data, read in the first pass */
    uint64_t value_bytes;   /* attributes and datasets: the size of their data */
    char *filter_note;      /* datasets filtered by a filter libhdf5 lacks: the note used
                             * should reading fail */
    uint64_t filter_note_off;
} pending;

typedef struct {
    hid_t file;
    uint64_t file_size, max_bytes, data_total;
    pending *items;
    int n, cap;
    haddr_t *seen;          /* addresses of the datasets listed, to spot second hard links */
    int n_seen, cap_seen;
    dc_error *err;
    dc_status st;
} builder;

static uint64_t align8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

static pending *add_item(builder *b, dc_h5snap_kind kind, const char *name, bool slash)
{
    if (b->n >= DC_H5SNAP_MAX_ITEMS) {
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "more than %d HDF5 objects", DC_H5SNAP_MAX_ITEMS);
        return NULL;
    }
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 256;
        pending *p = dc_realloc(b->items, (size_t)cap * sizeof *p);
        if (!p) {
            b->st = dc_fail(b->err, DC_ERR_NOMEM, "out of memory listing the HDF5 objects");
            return NULL;
        }
        b->items = p;
        b->cap = cap;
    }
    size_t len = strlen(name);
    char *copy = dc_malloc(len + 2);
    if (!copy) {
        b->st = dc_fail(b->err, DC_ERR_NOMEM, "out of memory listing the HDF5 objects");
        return NULL;
    }
    copy[0] = '/'; /* datasets and links: the path from the root; attributes: the name */
    memcpy(copy + (slash ? 1 : 0), name, len + 1);
    pending *p = &b->items[b->n++];
    memset(p, 0, sizeof *p);
    p->rec.kind = kind;
    p->rec.cls = DC_H5SNAP_OTHER;
    p->rec.count = 1;
    p->name = copy;
    p->note = "";
    return p;
}

/* Class and element size of type t, in snapshot terms. */
static void classify(hid_t t, pending *p)
{
    size_t size = H5Tget_size(t);
    p->rec.elem_size = size > 64 ? 64 : (uint32_t)size;
    switch (H5Tget_class(t)) {
    case H5T_INTEGER:
        p->rec.cls = H5Tget_sign(t) == H5T_SGN_NONE ? DC_H5SNAP_UINT : DC_H5SNAP_INT;
        if (size < 1 || size > 8)
            p->rec.cls = DC_H5SNAP_OTHER;
        break;
    case H5T_FLOAT:
        p->rec.cls = size >= 2 && size <= 8 ? DC_H5SNAP_FLOAT : DC_H5SNAP_OTHER;
        break;
    case H5T_STRING:
        p->rec.cls = DC_H5SNAP_STRING;
        break;
    default:
        p->rec.cls = DC_H5SNAP_OTHER;
        break;
    }
}

/* The shape of dataspace sp into p; false (with b->st set) for a rank we do not take. */
static bool read_shape(builder *b, hid_t sp, pending *p, const char *what)
{
    H5S_class_t kind = H5Sget_simple_extent_type(sp);
    if (kind == H5S_NULL) {
        p->rec.ndim = 1;
        p->rec.dims[0] = 0;
        p->rec.count = 0;
        return true;
    }
    if (kind != H5S_SCALAR && kind != H5S_SIMPLE) {
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "%s '%s' has a dataspace that cannot be read",
                        what, p->name);
        return false;
    }
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[H5S_MAX_RANK];
    if (nd < 0 || nd > DC_H5SNAP_MAX_DIMS || H5Sget_simple_extent_dims(sp, dims, NULL) != nd) {
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "%s '%s' has %d dimensions (at most %d are "
                        "read)", what, p->name, nd, DC_H5SNAP_MAX_DIMS);
        return false;
    }
    uint64_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (dims[i] && count > UINT64_MAX / dims[i]) {
            b->st = dc_fail(b->err, DC_ERR_FORMAT, "%s '%s' declares a shape whose size "
                            "overflows", what, p->name);
            return false;
        }
        count *= dims[i];
        p->rec.dims[i] = dims[i];
    }
    p->rec.ndim = (uint32_t)nd;
    p->rec.count = count;
    return true;
}

/* ---- root attributes ---------------------------------------------------- */

/* Reads the strings of attribute a (count values of file type ft) into one block of
 * NUL-terminated strings. */
static bool read_attr_strings(builder *b, hid_t a, hid_t ft, pending *p)
{
    size_t n = (size_t)p->rec.count;
    hid_t mt = H5Tcopy(H5T_C_S1);
    bool ok = false;
    char *text = NULL;
    size_t used = 0;
    if (H5Tis_variable_str(ft) > 0) {
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char **tmp = dc_calloc(n ? n : 1, sizeof *tmp);
        ok = tmp && H5Aread(a, mt, tmp) >= 0;
        size_t total = 0;
        for (size_t i = 0; ok && i < n; i++) {
            total += (tmp[i] ? strlen(tmp[i]) : 0) + 1;
            ok = total <= DC_H5SNAP_MAX_ATTR_TEXT;
        }
        if (ok && !(text = dc_malloc(total ? total : 1)))
            ok = false;
        for (size_t i = 0; ok && i < n; i++) {
            size_t len = tmp[i] ? strlen(tmp[i]) : 0;
            memcpy(text + used, tmp[i] ? tmp[i] : "", len + 1);
            used += len + 1;
        }
        /* whatever is not NULL belongs to libhdf5, also after a read that failed part way */
        for (size_t i = 0; tmp && i < n; i++)
            if (tmp[i])
                H5free_memory(tmp[i]);
        free(tmp);
    } else {
        size_t len = H5Tget_size(ft);
        ok = len > 0 && n > 0 && len <= DC_H5SNAP_MAX_ATTR_TEXT / n;
        H5Tset_size(mt, len + 1);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* ASCII to UTF-8 is no conversion libhdf5 makes */
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        char *buf = ok ? dc_calloc(n, len + 1) : NULL;
        ok = buf && H5Aread(a, mt, buf) >= 0 && (text = dc_malloc(n * (len + 1)));
        for (size_t i = 0; ok && i < n; i++) {
            const char *s = buf + i * (len + 1);
            size_t l = strnlen(s, len);
            memcpy(text + used, s, l);
            text[used + l] = '\0';
            used += l + 1;
        }
        free(buf);
    }
    H5Tclose(mt);
    if (!ok) {
        free(text);
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "cannot read the text of attribute '%s' (at "
                        "most %zu bytes are read)", p->name, DC_H5SNAP_MAX_ATTR_TEXT);
        return false;
    }
    p->values = text;
    p->value_bytes = used;
    return true;
}

static herr_t visit_attr(hid_t loc, const char *name, const H5A_info_t *info, void *arg)
{
    (void)info;
    builder *b = arg;
    pending *p = add_item(b, DC_H5SNAP_ATTR, name, false);
    if (!p)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t sp = a < 0 ? -1 : H5Aget_space(a);
    bool ok = a >= 0 && t >= 0 && sp >= 0;
    if (!ok)
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "cannot open attribute '%s'", name);
    if (ok) {
        classify(t, p);
        ok = read_shape(b, sp, p, "attribute");
    }
    if (ok && p->rec.count > DC_H5SNAP_MAX_ATTR_VALUES) {
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "attribute '%s' holds %llu values (at most %u "
                        "are read)", name, (unsigned long long)p->rec.count,
                        DC_H5SNAP_MAX_ATTR_VALUES);
        ok = false;
    }
    if (ok && p->rec.cls == DC_H5SNAP_STRING) {
        ok = read_attr_strings(b, a, t, p);
    } else if (ok && p->rec.cls != DC_H5SNAP_OTHER) {
        p->value_bytes = dc_h5snap_value_bytes(p->rec.cls, p->rec.elem_size, p->rec.count);
        hid_t mt = p->rec.cls == DC_H5SNAP_INT ? H5T_NATIVE_INT64
                   : p->rec.cls == DC_H5SNAP_UINT ? H5T_NATIVE_UINT64
                   : p->rec.elem_size <= 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
        p->values = dc_malloc(p->value_bytes ? p->value_bytes : 1);
        ok = p->values && (p->rec.count == 0 || H5Aread(a, mt, p->values) >= 0);
        if (!ok)
            b->st = dc_fail(b->err, DC_ERR_FORMAT, "cannot read attribute '%s'", name);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return ok ? 0 : -1;
}

/* ---- datasets and links ------------------------------------------------- */

/* "HDF5 filter 32000 (lzf)" when ds is filtered by a filter this libhdf5 lacks. */
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

/* Checks dataset ds (listed as p) before anything of it is read. */
static bool check_dataset(builder *b, hid_t ds, pending *p)
{
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds), pl = H5Dget_create_plist(ds);
    bool ok = t >= 0 && sp >= 0 && pl >= 0;
    if (!ok)
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "cannot open dataset '%s'", p->name);
    if (ok) {
        classify(t, p);
        if (p->rec.cls == DC_H5SNAP_STRING)
            p->rec.cls = DC_H5SNAP_OTHER; /* no loader reads text datasets */
        ok = read_shape(b, sp, p, "dataset");
    }
    if (ok && H5Pget_layout(pl) == H5D_VIRTUAL) {
        b->st = dc_fail(b->err, DC_ERR_UNSUPPORTED, "dataset '%s' is a virtual dataset (its "
                        "data lives in other datasets or files): not supported", p->name);
        ok = false;
    }
    if (ok && H5Pget_external_count(pl) != 0) {
        b->st = dc_fail(b->err, DC_ERR_UNSUPPORTED, "dataset '%s' keeps its data in an "
                        "external file: not supported", p->name);
        ok = false;
    }
    if (ok && p->rec.cls != DC_H5SNAP_OTHER) {
        /* the bytes the values take in the file, against what is stored and the file's size:
         * a dataset may declare a huge extent that was never written */
        uint64_t declared = p->rec.elem_size ? p->rec.count * p->rec.elem_size : 0;
        bool overflow = p->rec.elem_size && p->rec.count > UINT64_MAX / p->rec.elem_size;
        hsize_t stored = H5Dget_storage_size(ds);
        int filters = H5Pget_nfilters(pl);
        uint64_t room = filters > 0 ? stored * (uint64_t)DC_H5SNAP_MAX_EXPANSION : stored;
        if (overflow || (declared > 0 && (stored > b->file_size || declared > room))) {
            b->st = dc_fail(b->err, DC_ERR_FORMAT, "dataset '%s' declares %llu values of %u "
                            "bytes but the file stores %llu bytes for it (the file has %llu): "
                            "truncated or corrupt", p->name, (unsigned long long)p->rec.count,
                            p->rec.elem_size, (unsigned long long)stored,
                            (unsigned long long)b->file_size);
            ok = false;
        }
        p->value_bytes = dc_h5snap_value_bytes(p->rec.cls, p->rec.elem_size, p->rec.count);
    }
    if (ok && b->max_bytes && p->value_bytes > b->max_bytes - b->data_total) {
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "dataset '%s' would take the snapshot past its "
                        "limit of %llu bytes (DUALCNN_H5_MAX_BYTES)", p->name,
                        (unsigned long long)b->max_bytes);
        ok = false;
    }
    char filter[80];
    if (ok && p->value_bytes && missing_filter(ds, filter, sizeof filter)) {
        char note[200];
        snprintf(note, sizeof note, "compressed with %s, which this HDF5 library cannot "
                 "decode (re-save it uncompressed or with gzip)", filter);
        if (!(p->filter_note = dc_strdup(note))) {
            b->st = dc_fail(b->err, DC_ERR_NOMEM, "out of memory listing the HDF5 objects");
            ok = false;
        }
    }
    if (ok)
        b->data_total += p->value_bytes;
    if (pl >= 0)
        H5Pclose(pl);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return ok;
}

static herr_t visit_link(hid_t group, const char *name, const H5L_info_t *info, void *arg)
{
    builder *b = arg;
    if (info->type != H5L_TYPE_HARD) {
        pending *p = add_item(b, DC_H5SNAP_LINK, name, true);
        if (!p)
            return -1;
        p->note = info->type == H5L_TYPE_SOFT ? "a soft link"
                  : info->type == H5L_TYPE_EXTERNAL ? "an external link" : "a user-defined link";
        return 0;
    }
    H5O_info_t oi;
    if (H5Oget_info_by_name(group, name, &oi, H5P_DEFAULT) < 0) {
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "cannot read the object at '/%s'", name);
        return -1;
    }
    if (oi.type != H5O_TYPE_DATASET)
        return 0; /* groups are walked into by H5Lvisit; named datatypes hold no data */
    for (int i = 0; i < b->n_seen; i++)
        if (b->seen[i] == oi.addr) {
            pending *p = add_item(b, DC_H5SNAP_LINK, name, true);
            if (p)
                p->note = "a second name (hard link) of a dataset stored under another name";
            return p ? 0 : -1;
        }
    if (b->n_seen == b->cap_seen) {
        int cap = b->cap_seen ? 2 * b->cap_seen : 256;
        haddr_t *s = dc_realloc(b->seen, (size_t)cap * sizeof *s);
        if (!s) {
            b->st = dc_fail(b->err, DC_ERR_NOMEM, "out of memory listing the HDF5 objects");
            return -1;
        }
        b->seen = s;
        b->cap_seen = cap;
    }
    b->seen[b->n_seen++] = oi.addr;
    pending *p = add_item(b, DC_H5SNAP_DATASET, name, true);
    if (!p)
        return -1;
    hid_t ds = H5Dopen2(group, name, H5P_DEFAULT);
    if (ds < 0) {
        b->st = dc_fail(b->err, DC_ERR_FORMAT, "cannot open dataset '%s'", p->name);
        return -1;
    }
    bool ok = check_dataset(b, ds, p);
    H5Dclose(ds);
    return ok ? 0 : -1;
}

/* ---- the second pass: layout and data ------------------------------------ */

/* Reads dataset p into dst. DC_ERR_UNSUPPORTED: it is filtered by a filter libhdf5 lacks
 * (p->filter_note says which), and it is marked unreadable rather than failing the file. */
static dc_status read_dataset(builder *b, const pending *p, void *dst)
{
    if (p->rec.count == 0)
        return DC_OK;
    hid_t ds = H5Dopen2(b->file, p->name, H5P_DEFAULT);
    if (ds < 0)
        return dc_fail(b->err, DC_ERR_FORMAT, "cannot open dataset '%s'", p->name);
    hid_t mt = p->rec.cls == DC_H5SNAP_INT ? H5T_NATIVE_INT64
               : p->rec.cls == DC_H5SNAP_UINT ? H5T_NATIVE_UINT64
               : p->rec.elem_size <= 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
    dc_status st = DC_OK;
    if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
        /* an optional filter (h5py's LZF) skips chunks it could not shrink, so a dataset
         * with an unavailable filter may still read: blame the filter only on failure */
        st = p->filter_note ? DC_ERR_UNSUPPORTED
                            : dc_fail(b->err, DC_ERR_FORMAT, "cannot read dataset '%s' "
                                      "(truncated or corrupt file?)", p->name);
    }
    H5Dclose(ds);
    return st;
}

/* Lays the items out in a block from alloc and fills it. */
static dc_status write_snapshot(builder *b, void *(*alloc)(size_t, void *), void *arg,
                                size_t *size_out)
{
    uint64_t at = align8(sizeof(dc_h5snap_header));
    uint64_t items_off = at;
    at += (uint64_t)b->n * sizeof(dc_h5snap_record);
    for (int i = 0; i < b->n; i++) {
        pending *p = &b->items[i];
        p->rec.name_off = at;
        at += strlen(p->name) + 1;
        p->rec.note_off = at;
        at += strlen(p->note) + 1;
        if (p->filter_note) {
            p->filter_note_off = at;
            at += strlen(p->filter_note) + 1;
        }
    }
    for (int i = 0; i < b->n; i++) {
        pending *p = &b->items[i];
        at = align8(at);
        p->rec.data_off = at;
        p->rec.data_bytes = p->value_bytes;
        at += p->value_bytes;
    }
    at = align8(at);
    if (at > SIZE_MAX || (b->max_bytes && at > b->max_bytes + ((uint64_t)64 << 20)))
        return dc_fail(b->err, DC_ERR_FORMAT, "the snapshot would take %llu bytes",
                       (unsigned long long)at);
    unsigned char *block = alloc((size_t)at, arg);
    if (!block)
        return dc_fail(b->err, DC_ERR_NOMEM, "cannot allocate %llu bytes for the tensors",
                       (unsigned long long)at);
    dc_h5snap_header h = { .total_bytes = at, .status = DC_H5SNAP_OK,
                           .n_items = (uint32_t)b->n, .items_off = items_off };
    memcpy(h.magic, DC_H5SNAP_MAGIC, 8);
    memcpy(block, &h, sizeof h);
    for (int i = 0; i < b->n; i++) {
        pending *p = &b->items[i];
        memcpy(block + items_off + (size_t)i * sizeof p->rec, &p->rec, sizeof p->rec);
        memcpy(block + p->rec.name_off, p->name, strlen(p->name) + 1);
        memcpy(block + p->rec.note_off, p->note, strlen(p->note) + 1);
        if (p->filter_note)
            memcpy(block + p->filter_note_off, p->filter_note, strlen(p->filter_note) + 1);
        void *dst = block + p->rec.data_off;
        if (p->values) {
            memcpy(dst, p->values, p->value_bytes);
        } else if (p->rec.kind == DC_H5SNAP_DATASET && p->value_bytes) {
            dc_status st = read_dataset(b, p, dst);
            if (st == DC_ERR_UNSUPPORTED) {
                /* the loader says so if it needs this dataset */
                p->rec.flags |= DC_H5SNAP_UNREADABLE;
                p->rec.note_off = p->filter_note_off;
                p->rec.data_bytes = 0;
                memcpy(block + items_off + (size_t)i * sizeof p->rec, &p->rec, sizeof p->rec);
            } else if (st != DC_OK) {
                return st;
            }
        }
    }
    *size_out = (size_t)at;
    return DC_OK;
}

/* Walks the opened file into a snapshot (both passes), then closes it. */
static dc_status build_from(builder *b, void *(*alloc)(size_t size, void *arg), void *arg,
                            size_t *size_out)
{
    dc_error *err = b->err;
    b->st = DC_OK;
    if (H5Aiterate2(b->file, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, visit_attr, b) < 0 &&
        b->st == DC_OK)
        b->st = dc_fail(err, DC_ERR_FORMAT, "cannot list the root attributes (truncated or "
                        "corrupt file?)");
    if (b->st == DC_OK && H5Lvisit(b->file, H5_INDEX_NAME, H5_ITER_INC, visit_link, b) < 0 &&
        b->st == DC_OK)
        b->st = dc_fail(err, DC_ERR_FORMAT, "cannot list the datasets (truncated or corrupt "
                        "file?)");
    if (b->st == DC_OK)
        b->st = write_snapshot(b, alloc, arg, size_out);
    for (int i = 0; i < b->n; i++) {
        free(b->items[i].name);
        free(b->items[i].values);
        free(b->items[i].filter_note);
    }
    free(b->items);
    free(b->seen);
    H5Fclose(b->file);
    return b->st;
}

dc_status dc_h5snap_build(const char *path, uint64_t max_bytes,
                          void *(*alloc)(size_t size, void *arg), void *arg,
                          size_t *size_out, dc_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return dc_fail(err, DC_ERR_IO, "cannot open the file");
    if (!S_ISREG(sb.st_mode))
        return dc_fail(err, DC_ERR_FORMAT, "not a regular file");
    if (H5Fis_hdf5(path) <= 0)
        return dc_fail(err, DC_ERR_FORMAT, "not an HDF5 file");
    builder b = { .file_size = (uint64_t)sb.st_size, .max_bytes = max_bytes, .err = err };
    b.file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (b.file < 0)
        return dc_fail(err, DC_ERR_FORMAT, "cannot open as HDF5 (truncated or corrupt file?)");
    return build_from(&b, alloc, arg, size_out);
}

/* Whether data starts with HDF5's signature, at offset 0 or after a user block (512, 1024,
 * 2048, ... bytes), where libhdf5 looks for it. */
static bool has_hdf5_signature(const unsigned char *data, size_t size)
{
    static const unsigned char sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
    for (size_t at = 0; at + sizeof sig <= size; at = at ? 2 * at : 512)
        if (memcmp(data + at, sig, sizeof sig) == 0)
            return true;
    return false;
}

dc_status dc_h5snap_build_image(const void *data, size_t size, uint64_t max_bytes,
                                void *(*alloc)(size_t size, void *arg), void *arg,
                                size_t *size_out, dc_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!data || !has_hdf5_signature(data, size))
        return dc_fail(err, DC_ERR_FORMAT, "not an HDF5 file");
    /* the core driver reads a file image: libhdf5 copies it (the caller's bytes are never
     * written), and no backing file is written back */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0 ||
        H5Pset_file_image(fapl, (void *)data, size) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return dc_fail(err, DC_ERR_NOMEM, "cannot hand libhdf5 the %zu-byte file image",
                       size);
    }
    builder b = { .file_size = (uint64_t)size, .max_bytes = max_bytes, .err = err };
    b.file = H5Fopen("dualcnn-file-image", H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (b.file < 0)
        return dc_fail(err, DC_ERR_FORMAT, "cannot open as HDF5 (truncated or corrupt file?)");
    return build_from(&b, alloc, arg, size_out);
}

dc_status dc_h5snap_build_refusal(dc_status code, const char *message,
                                  void *(*alloc)(size_t size, void *arg), void *arg,
                                  size_t *size_out)
{
    size_t len = strnlen(message, 4096);
    uint64_t msg_off = align8(sizeof(dc_h5snap_header));
    size_t total = (size_t)align8(msg_off + len + 1);
    unsigned char *block = alloc(total, arg);
    if (!block)
        return DC_ERR_NOMEM;
    memset(block, 0, total);
    dc_h5snap_header h = { .total_bytes = total, .status = DC_H5SNAP_REFUSED,
                           .code = (uint32_t)code, .message_off = msg_off };
    memcpy(h.magic, DC_H5SNAP_MAGIC, 8);
    memcpy(block, &h, sizeof h);
    memcpy(block + msg_off, message, len);
    *size_out = total;
    return DC_OK;
}
