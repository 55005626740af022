/*
 * dataset_cifar.c — CIFAR-10, binary or Python version, read whole into memory.
 *
 * Binary (cifar-10-batches-bin/): data_batch_1.bin .. data_batch_5.bin and test_batch.bin,
 * each a sequence of 3073-byte records: one label byte, then 3072 pixel bytes as three
 * 32x32 planes (R, G, B), rows top to bottom. batches.meta.txt names the classes, one a line.
 * Python (cifar-10-batches-py/): data_batch_1 .. data_batch_5 and test_batch, each a pickled
 * dict with b'data' (a uint8 array of N x 3072, the same planes) and b'labels' (a list of N
 * ints); batches.meta is a dict whose b'label_names' lists the classes. Pickles are read
 * by pickle.c, which accepts only what these files contain.
 * Images are stored interleaved (HWC), as every dc_image is.
 */
#include "loaders/dataset.h"
#include "base/alloc.h"
#include "loaders/pickle.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DC_CIFAR_SIDE 32
#define DC_CIFAR_PIXELS (3 * DC_CIFAR_SIDE * DC_CIFAR_SIDE) /* 3072 */
#define DC_CIFAR_RECORD (1 + DC_CIFAR_PIXELS)              /* 3073 */
#define DC_CIFAR_CLASSES 10
#define DC_CIFAR_FILE_RECORDS 10000                        /* in each real batch file */
#define DC_CIFAR_MAX_RECORDS (1 << 20)                     /* per file, a sanity bound */
#define DC_CIFAR_MAX_PICKLE ((size_t)256 << 20)

static const char *const dc_cifar_names[DC_CIFAR_CLASSES] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
};

/* Makes room in ds for n more samples. */
static dc_status dc_cifar_grow(dc_dataset *ds, size_t n, const char *path, dc_error *err)
{
    size_t total = (size_t)ds->count + n;
    if (total > (size_t)DC_CIFAR_MAX_RECORDS * 8)
        return dc_fail(err, DC_ERR_FORMAT, "%s: too many records", path);
    uint8_t *px = dc_realloc(ds->pixels, total * DC_CIFAR_PIXELS);
    if (!px)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    ds->pixels = px;
    int *lb = dc_realloc(ds->labels, total * sizeof *lb);
    if (!lb)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    ds->labels = lb;
    return DC_OK;
}

/* Appends one sample: planes holds the R, G and B planes, converted here to HWC. */
static void dc_cifar_append(dc_dataset *ds, const uint8_t *planes, int label)
{
    const size_t plane = DC_CIFAR_SIDE * DC_CIFAR_SIDE;
    uint8_t *dst = ds->pixels + (size_t)ds->count * DC_CIFAR_PIXELS;
    for (size_t i = 0; i < plane; i++)
        for (size_t k = 0; k < 3; k++)
            dst[i * 3 + k] = planes[k * plane + i];
    ds->labels[ds->count++] = label;
}

/* ---- class names -------------------------------------------------------- */

/* batches.meta.txt: the class names, one a line; blank lines and surrounding spaces are
 * ignored. Absent: the standard names. */
static dc_status dc_cifar_meta_txt(dc_dataset *ds, const char *dir, dc_error *err)
{
    char *path = dc_dataset_join(dir, "batches.meta.txt");
    if (!path)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        free(path);
        return dc_dataset_set_classes(ds, dc_cifar_names, DC_CIFAR_CLASSES, err);
    }
    char names[DC_CIFAR_CLASSES][128];
    const char *ptrs[DC_CIFAR_CLASSES];
    char line[256];
    int n = 0;
    dc_status st = DC_OK;
    while (st == DC_OK && fgets(line, sizeof line, f)) {
        char *s = line, *e = line + strlen(line);
        while (*s && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (*s == '\0')
            continue;
        if (n == DC_CIFAR_CLASSES || strlen(s) >= sizeof names[0]) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: expected %d class names, one a line",
                         path, DC_CIFAR_CLASSES);
        } else {
            ptrs[n] = strcpy(names[n], s);
            n++;
        }
    }
    if (st == DC_OK && ferror(f))
        st = dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    if (st == DC_OK && n != DC_CIFAR_CLASSES)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: %d class names, %d expected", path, n,
                     DC_CIFAR_CLASSES);
    fclose(f);
    free(path);
    return st == DC_OK ? dc_dataset_set_classes(ds, ptrs, DC_CIFAR_CLASSES, err) : st;
}

/* batches.meta (a pickle): its b'label_names'. Absent: the standard names. */
static dc_status dc_cifar_meta_py(dc_dataset *ds, const char *dir, dc_error *err)
{
    char *path = dc_dataset_join(dir, "batches.meta");
    if (!path)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
    if (!dc_dataset_is_file(path)) {
        free(path);
        return dc_dataset_set_classes(ds, dc_cifar_names, DC_CIFAR_CLASSES, err);
    }
    dc_pickle *pk;
    dc_status st = dc_pickle_load(path, DC_CIFAR_MAX_PICKLE, &pk, err);
    if (st != DC_OK) {
        free(path);
        return st;
    }
    const dc_pickle_value *names = dc_pickle_dict_get(dc_pickle_root(pk), "label_names");
    char buf[DC_CIFAR_CLASSES][128];
    const char *ptrs[DC_CIFAR_CLASSES];
    if (!names || names->kind != DC_PK_LIST || names->count != DC_CIFAR_CLASSES) {
        st = dc_fail(err, DC_ERR_FORMAT, "%s: no label_names list of %d names", path,
                     DC_CIFAR_CLASSES);
    } else {
        for (int i = 0; st == DC_OK && i < DC_CIFAR_CLASSES; i++) {
            const dc_pickle_value *s = names->items[i];
            if (!dc_pickle_is_string(s) || s->len == 0 || s->len >= sizeof buf[0] ||
                memchr(s->bytes, '\0', s->len)) {
                st = dc_fail(err, DC_ERR_FORMAT, "%s: label_names[%d] is not a short string",
                             path, i);
                break;
            }
            memcpy(buf[i], s->bytes, s->len);
            buf[i][s->len] = '\0';
            ptrs[i] = buf[i];
        }
    }
    dc_pickle_free(pk);
    free(path);
    return st == DC_OK ? dc_dataset_set_classes(ds, ptrs, DC_CIFAR_CLASSES, err) : st;
}

/* ---- batch files -------------------------------------------------------- */

/* A batch must be a regular file: a directory opens fine and reports a size of
 * LONG_MAX bytes, which made a confusing message. */
static dc_status dc_cifar_check_file(const char *path, dc_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return dc_fail(err, DC_ERR_FORMAT, "%s: is a directory, not a CIFAR-10 batch file",
                       path);
    if (!S_ISREG(sb.st_mode))
        return dc_fail(err, DC_ERR_FORMAT, "%s: is not a regular file (a device or FIFO?), "
                       "not a CIFAR-10 batch file", path);
    return DC_OK;
}

/* One binary batch file. */
static dc_status dc_cifar_read_bin(dc_dataset *ds, const char *path, dc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    dc_status st = DC_OK;
    long size = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    else if (size == 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: empty file (records of %d bytes expected)", path,
                     DC_CIFAR_RECORD);
    else if (size % DC_CIFAR_RECORD != 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: truncated or corrupt: %ld bytes found, not a "
                     "whole number of %d-byte records (a CIFAR-10 batch file holds %d records, "
                     "%ld bytes)", path, size, DC_CIFAR_RECORD, DC_CIFAR_FILE_RECORDS,
                     (long)DC_CIFAR_FILE_RECORDS * DC_CIFAR_RECORD);
    else if (size / DC_CIFAR_RECORD > DC_CIFAR_MAX_RECORDS)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: %ld bytes: too large for a CIFAR-10 batch", path,
                     size);
    size_t n = st == DC_OK ? (size_t)size / DC_CIFAR_RECORD : 0;
    if (ds->want > 0 && n > (size_t)(ds->want - ds->count))
        n = (size_t)(ds->want - ds->count); /* only what the caller asked for */
    if (st == DC_OK)
        st = dc_cifar_grow(ds, n, path, err);
    uint8_t rec[DC_CIFAR_RECORD];
    for (size_t r = 0; st == DC_OK && r < n; r++) {
        if (fread(rec, 1, sizeof rec, f) != sizeof rec)
            st = ferror(f) ? dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", path,
                                     strerror(errno))
                           : dc_fail(err, DC_ERR_FORMAT, "%s: truncated at record %zu", path, r);
        else if (rec[0] >= ds->num_classes)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: record %zu has label %d (0..%d expected): "
                         "corrupt file", path, r, rec[0], ds->num_classes - 1);
        else
            dc_cifar_append(ds, rec + 1, rec[0]);
    }
    fclose(f);
    return st;
}

/* One Python (pickled) batch file. */
static dc_status dc_cifar_read_py(dc_dataset *ds, const char *path, dc_error *err)
{
    dc_pickle *pk;
    dc_status st = dc_pickle_load(path, DC_CIFAR_MAX_PICKLE, &pk, err);
    if (st != DC_OK)
        return st;
    const dc_pickle_value *root = dc_pickle_root(pk);
    const dc_pickle_value *data = dc_pickle_dict_get(root, "data");
    const dc_pickle_value *labels = dc_pickle_dict_get(root, "labels");
    if (root->kind != DC_PK_DICT)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: the pickle is not a dict", path);
    else if (!data || data->kind != DC_PK_ARRAY)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: no b'data' array", path);
    else if (data->ndim != 2 || data->shape[1] != DC_CIFAR_PIXELS)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: b'data' is not an N x %d array", path,
                     DC_CIFAR_PIXELS);
    else if (data->shape[0] > DC_CIFAR_MAX_RECORDS)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: b'data' has too many rows", path);
    else if (!labels || labels->kind != DC_PK_LIST)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: no b'labels' list", path);
    else if (labels->count != (size_t)data->shape[0])
        st = dc_fail(err, DC_ERR_FORMAT, "%s: %zu labels for %lld images", path, labels->count,
                     (long long)data->shape[0]);
    size_t n = st == DC_OK ? labels->count : 0;
    if (ds->want > 0 && n > (size_t)(ds->want - ds->count))
        n = (size_t)(ds->want - ds->count);
    if (st == DC_OK)
        st = dc_cifar_grow(ds, n, path, err);
    for (size_t r = 0; st == DC_OK && r < n; r++) {
        const dc_pickle_value *l = labels->items[r];
        if (l->kind != DC_PK_INT || l->i < 0 || l->i >= ds->num_classes)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: labels[%zu] is not an int in 0..%d", path, r,
                         ds->num_classes - 1);
        else
            dc_cifar_append(ds, data->bytes + r * DC_CIFAR_PIXELS, (int)l->i);
    }
    dc_pickle_free(pk);
    return st;
}

/* ---- the reader --------------------------------------------------------- */

/* Finds the batches directory under (or at) dir; *binary tells which version it is. */
static dc_status dc_cifar_find(const char *dir, char **found, bool *binary, dc_error *err)
{
    static const struct {
        const char *sub, *probe;
        bool binary;
    } tries[] = {
        { "cifar-10-batches-bin", NULL, true },
        { "cifar-10-batches-py", NULL, false },
        { NULL, "test_batch.bin", true },
        { NULL, "data_batch_1.bin", true },
        { NULL, "test_batch", false },
        { NULL, "data_batch_1", false },
    };
    *found = NULL;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        char *p = dc_dataset_join(dir, tries[i].sub ? tries[i].sub : tries[i].probe);
        if (!p)
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
        bool hit = tries[i].sub ? dc_dataset_is_dir(p) : dc_dataset_is_file(p);
        if (hit) {
            *binary = tries[i].binary;
            if (tries[i].sub) {
                *found = p;
            } else {
                free(p);
                *found = dc_strdup(dir);
            }
            return *found ? DC_OK : dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
        }
        free(p);
    }
    return dc_fail(err, DC_ERR_IO, "%s: no CIFAR-10 here: neither cifar-10-batches-bin/ nor "
                   "cifar-10-batches-py/ nor batch files", dir);
}

dc_status dc_dataset_read_cifar(dc_dataset *ds, const char *dir, bool train, dc_error *err)
{
    bool binary = false;
    dc_status st = dc_cifar_find(dir, &ds->root, &binary, err);
    if (st != DC_OK)
        return st;
    ds->w = ds->h = DC_CIFAR_SIDE;
    ds->c = 3;
    st = binary ? dc_cifar_meta_txt(ds, ds->root, err) : dc_cifar_meta_py(ds, ds->root, err);
    int files = train ? 5 : 1;
    for (int i = 0; st == DC_OK && i < files && (ds->want <= 0 || ds->count < ds->want); i++) {
        char name[32];
        if (train)
            snprintf(name, sizeof name, "data_batch_%d%s", i + 1, binary ? ".bin" : "");
        else
            snprintf(name, sizeof name, "test_batch%s", binary ? ".bin" : "");
        char *path = dc_dataset_join(ds->root, name);
        if (!path)
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", ds->root);
        int before = ds->count;
        st = dc_cifar_check_file(path, err);
        if (st == DC_OK)
            st = binary ? dc_cifar_read_bin(ds, path, err) : dc_cifar_read_py(ds, path, err);
        if (st == DC_OK && ds->count == before) /* accuracy would be nan, exit status 0 */
            st = dc_fail(err, DC_ERR_FORMAT, "%s: holds no images (an empty batch)", path);
        free(path);
    }
    return st;
}
