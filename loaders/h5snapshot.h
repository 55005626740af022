/*
 * h5snapshot.h — an HDF5 file as a flat, validated block of memory (docs/robustness.md,
 * "HDF5 in quarantine").
 *
 * libhdf5 is not safe against damaged or hostile files: a flipped byte can make it crash,
 * loop or overrun the heap. So dualcnn never reads a weight file or a prediction cache
 * with libhdf5 in its own process (unless told the file is trusted). A helper process
 * (dualcnn-h5read, see h5reader.h) opens the file, checks every object it touches, and
 * writes everything the loaders need into a *snapshot*: one block of shared memory laid out
 * as below. The parent maps it and reads it with dc_h5snap_parse(), which trusts nothing in
 * it either: every offset, length and count is checked against the block's size.
 *
 * Layout (native byte order and alignment; producer and consumer are the same build):
 *
 *     header       magic "DCH5SNP1", total size, status, item count, offsets
 *     items[]      one record per root attribute, dataset or link: kind, class, element
 *                  size in the file, shape, and the offsets of its name and data
 *     names, data  NUL-terminated names; values 8-byte aligned:
 *                    integers  int64 (signed) or uint64 (unsigned), one per value
 *                    floats    float32 when the file's element has <= 4 bytes, else double
 *                    strings   count NUL-terminated UTF-8 strings, back to back
 *                    other     no data (the class says what it is, for the message)
 *
 * A snapshot with status DC_H5SNAP_REFUSED holds only a message: the file was read but
 * breaks a rule (a virtual dataset, an external link to data, a dataset larger than the
 * file), and the message says which, naming the object.
 */
#ifndef DC_LOADERS_H5SNAPSHOT_H
#define DC_LOADERS_H5SNAPSHOT_H

#include "dualcnn.h"

#include <stddef.h>
#include <stdint.h>

#define DC_H5SNAP_MAX_DIMS 8

typedef enum {
    DC_H5SNAP_ATTR = 1,     /* an attribute of the root group */
    DC_H5SNAP_DATASET = 2,  /* a dataset, named by its path from the root ("/a/b/c") */
    DC_H5SNAP_LINK = 3      /* a name that is not a stored dataset: soft, external or
                             * user-defined link, or a second hard link; note says which */
} dc_h5snap_kind;

typedef enum {
    DC_H5SNAP_INT = 1,      /* data: int64 */
    DC_H5SNAP_UINT = 2,     /* data: uint64 */
    DC_H5SNAP_FLOAT = 3,    /* data: float32 (elem_size <= 4) or double (elem_size 8) */
    DC_H5SNAP_STRING = 4,   /* data: count NUL-terminated strings */
    DC_H5SNAP_OTHER = 5     /* compound, enum, opaque, ...: no data */
} dc_h5snap_class;

typedef enum {
    DC_H5SNAP_OK = 0,
    DC_H5SNAP_REFUSED = 1
} dc_h5snap_status;

/* One item of a parsed snapshot. Pointers point into the snapshot's block. */
typedef struct {
    dc_h5snap_kind kind;
    dc_h5snap_class cls;
    uint32_t elem_size;           /* bytes per value in the file (0 for a link) */
    int ndim;                     /* 0: a scalar */
    uint64_t dims[DC_H5SNAP_MAX_DIMS];
    uint64_t count;               /* product of dims, 1 for a scalar */
    const char *name;
    const void *data;             /* see the layout above; NULL for OTHER and links */
    uint64_t data_bytes;
    const char *note;             /* links: "a soft link", ...; unreadable datasets: why
                                   * ("compressed with HDF5 filter 32000 (lzf), ..."); or "" */
    int unreadable;               /* a dataset whose values could not be decoded: data NULL */
} dc_h5snap_item;

typedef struct dc_h5snap dc_h5snap;

/* Checks and indexes the snapshot in block (size bytes). On success *out refers to block,
 * which must outlive it; release(block, size, arg) is called by dc_h5snap_free (NULL: the
 * caller keeps ownership). path names the HDF5 file in messages. A refused snapshot is
 * returned as DC_ERR_FORMAT or DC_ERR_UNSUPPORTED with its message. */
dc_status dc_h5snap_parse(const char *path, const void *block, size_t size,
                          void (*release)(void *block, size_t size, void *arg),
                          void *release_arg, dc_h5snap **out, dc_error *err);

void dc_h5snap_free(dc_h5snap *s);

const char *dc_h5snap_path(const dc_h5snap *s);
int dc_h5snap_count(const dc_h5snap *s);
const dc_h5snap_item *dc_h5snap_item_at(const dc_h5snap *s, int i);

/* The root attribute called name, or NULL. */
const dc_h5snap_item *dc_h5snap_attr(const dc_h5snap *s, const char *name);

/* The dataset or link at h5path ("/layer1/0/conv1/weight"), or NULL. *index (when given)
 * receives its index for dc_h5snap_item_at. */
const dc_h5snap_item *dc_h5snap_find(const dc_h5snap *s, const char *h5path, int *index);

/* The i-th string of a STRING item (i < count). */
const char *dc_h5snap_string(const dc_h5snap_item *it, uint64_t i);

/* "float32", "float64", "int64", "uint8", "string", ... for messages. */
const char *dc_h5snap_type_name(const dc_h5snap_item *it, char *buf, size_t cap);

/* ---- the producer side (h5snapshot_write.c) ------------------------------ */

/* The on-disk layout, shared by the writer and the parser. */
#define DC_H5SNAP_MAGIC "DCH5SNP1"

typedef struct {
    char magic[8];
    uint64_t total_bytes;
    uint32_t status;              /* dc_h5snap_status */
    uint32_t code;                /* REFUSED: the dc_status to report */
    uint32_t n_items;
    uint32_t reserved;
    uint64_t items_off;           /* dc_h5snap_record[n_items] */
    uint64_t message_off;         /* REFUSED: the message; 0 otherwise */
} dc_h5snap_header;

/* record flags */
#define DC_H5SNAP_UNREADABLE 1u   /* a dataset whose data libhdf5 could not decode (a filter
                                   * it lacks): no data, note says why */

typedef struct {
    uint32_t kind, cls, elem_size, ndim;
    uint32_t flags, reserved;
    uint64_t dims[DC_H5SNAP_MAX_DIMS];
    uint64_t count;
    uint64_t name_off, note_off;  /* NUL-terminated */
    uint64_t data_off, data_bytes;
} dc_h5snap_record;

/* Bytes of data a record of class cls, element size elem_size and count values carries
 * (strings excluded: their size is their text). 0 on overflow or for OTHER. */
uint64_t dc_h5snap_value_bytes(dc_h5snap_class cls, uint32_t elem_size, uint64_t count);

#endif /* DC_LOADERS_H5SNAPSHOT_H */
