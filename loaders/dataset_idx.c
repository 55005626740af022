/*
 * dataset_idx.c — FashionMNIST in IDX files, gzip'd or plain, read whole into memory.
 *
 * An IDX file is a big-endian header — two zero bytes, a type byte (0x08: unsigned byte),
 * the number of dimensions — then each dimension as a 32-bit big-endian count, then the
 * data. Images: magic 0x00000803, dimensions N x rows x cols; labels: magic 0x00000801,
 * dimension N. zlib's gzread reads both gzip'd and plain files, so one path serves both.
 */
#include "loaders/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define DC_IDX_IMAGES_MAGIC 0x00000803u
#define DC_IDX_LABELS_MAGIC 0x00000801u
#define DC_IDX_CLASSES 10
#define DC_IDX_MAX_SIDE 4096
#define DC_IDX_MAX_COUNT 10000000
#define DC_IDX_CHUNK ((size_t)16 << 20)

static const char *const dc_idx_names[DC_IDX_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
};

/* An open IDX file. */
typedef struct {
    gzFile gz;
    const char *path;
} dc_idx_file;

/* Reads up to n bytes into buf; returns how many arrived (fewer at the end of the file or
 * on an error, which gzerror then tells). */
static size_t dc_idx_read_some(dc_idx_file *f, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
        int r = gzread(f->gz, buf + got, (unsigned)want);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* The error for a read that stopped after `got` of the `n` bytes of `what`. */
static dc_status dc_idx_short(dc_idx_file *f, size_t n, size_t got, const char *what,
                              dc_error *err)
{
    int zerr = Z_OK;
    const char *zmsg = gzerror(f->gz, &zerr);
    /* zlib's messages start with the path: drop it, ours names the file already */
    size_t plen = strlen(f->path);
    if (zmsg && strncmp(zmsg, f->path, plen) == 0 && strncmp(zmsg + plen, ": ", 2) == 0)
        zmsg += plen + 2;
    if (zerr == Z_ERRNO)
        return dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", f->path, strerror(errno));
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt gzip data: %s", f->path,
                       zmsg ? zmsg : "zlib error");
    return dc_fail(err, DC_ERR_FORMAT, "%s: truncated: %zu bytes of %s expected, %zu found%s",
                   f->path, n, what, got,
                   zerr == Z_BUF_ERROR ? " (the gzip stream ends early)" : "");
}

/* Reads n bytes of data, growing the buffer as they arrive (so a header that lies about
 * the size cannot make us allocate much more than the file holds), and checks that nothing
 * follows them. */
static dc_status dc_idx_read_data(dc_idx_file *f, size_t n, const char *what, uint8_t **out,
                                  dc_error *err)
{
    *out = NULL;
    uint8_t *buf = NULL;
    size_t have = 0;
    dc_status st = DC_OK;
    while (st == DC_OK && have < n) {
        size_t step = n - have < DC_IDX_CHUNK ? n - have : DC_IDX_CHUNK;
        uint8_t *p = realloc(buf, have + step);
        if (!p) {
            st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", f->path);
            break;
        }
        buf = p;
        size_t got = dc_idx_read_some(f, buf + have, step);
        have += got;
        if (got < step)
            st = dc_idx_short(f, n, have, what, err);
    }
    /* one more read: finds trailing bytes, and makes zlib check the gzip trailer (CRC) */
    uint8_t extra;
    int r = st == DC_OK ? gzread(f->gz, &extra, 1) : 0;
    if (r > 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: trailing data after the %zu bytes of %s the "
                     "header announces", f->path, n, what);
    else if (r < 0)
        st = dc_idx_short(f, n, n, what, err);
    if (st != DC_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return DC_OK;
}

/* Opens path and checks its magic; dims receives the ndims dimensions. */
static dc_status dc_idx_open(dc_idx_file *f, const char *path, uint32_t magic, int ndims,
                             uint32_t *dims, dc_error *err)
{
    f->path = path;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, 1 << 17);
    uint8_t head[4 + 4 * 3];
    size_t need = 4 + 4 * (size_t)ndims, got = dc_idx_read_some(f, head, need);
    if (got < need)
        return dc_idx_short(f, need, got, "header", err);
    uint32_t found = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
                     (uint32_t)head[2] << 8 | head[3];
    if (found != magic)
        return dc_fail(err, DC_ERR_FORMAT, "%s: bad IDX magic 0x%08x (0x%08x expected for %s)",
                       path, found, magic, ndims == 3 ? "images" : "labels");
    for (int i = 0; i < ndims; i++) {
        const uint8_t *p = head + 4 + 4 * i;
        dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    return DC_OK;
}

static void dc_idx_close(dc_idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* "<dir>/<name>" or "<dir>/<name>.gz", whichever exists (plain first); NULL if neither. */
static char *dc_idx_locate(const char *dir, const char *name)
{
    char *plain = dc_dataset_join(dir, name);
    if (!plain || dc_dataset_is_file(plain))
        return plain;
    size_t n = strlen(plain);
    char *gz = realloc(plain, n + 4);
    if (!gz) {
        free(plain);
        return NULL;
    }
    memcpy(gz + n, ".gz", 4);
    if (dc_dataset_is_file(gz))
        return gz;
    free(gz);
    return NULL;
}

/* Finds the split's two files in dir, dir/FashionMNIST/raw or dir/raw. */
static dc_status dc_idx_find(const char *dir, bool train, char **images, char **labels,
                             dc_error *err)
{
    static const char *const subdirs[] = { ".", "FashionMNIST/raw", "raw" };
    const char *split = train ? "train" : "t10k";
    char iname[64], lname[64];
    snprintf(iname, sizeof iname, "%s-images-idx3-ubyte", split);
    snprintf(lname, sizeof lname, "%s-labels-idx1-ubyte", split);
    *images = *labels = NULL;
    for (size_t s = 0; s < sizeof subdirs / sizeof subdirs[0]; s++) {
        char *d = strcmp(subdirs[s], ".") == 0 ? strdup(dir) : dc_dataset_join(dir, subdirs[s]);
        if (!d)
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
        *images = dc_idx_locate(d, iname);
        if (*images) {
            *labels = dc_idx_locate(d, lname);
            dc_status st = DC_OK;
            if (!*labels) {
                st = dc_fail(err, DC_ERR_IO, "%s: has %s but no %s[.gz]", d, iname, lname);
                free(*images);
                *images = NULL;
            }
            free(d);
            return st;
        }
        free(d);
    }
    return dc_fail(err, DC_ERR_IO, "%s: no %s[.gz] (FashionMNIST %s images)", dir, iname,
                   train ? "training" : "test");
}

dc_status dc_dataset_read_idx(dc_dataset *ds, const char *dir, bool train, dc_error *err)
{
    char *ipath, *lpath;
    dc_status st = dc_idx_find(dir, train, &ipath, &lpath, err);
    if (st != DC_OK)
        return st;
    ds->root = strdup(dir);
    if (!ds->root)
        st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", dir);
    if (st == DC_OK)
        st = dc_dataset_set_classes(ds, dc_idx_names, DC_IDX_CLASSES, err);

    dc_idx_file fi = { 0 }, fl = { 0 };
    uint32_t idims[3] = { 0 }, ldims[1] = { 0 };
    if (st == DC_OK)
        st = dc_idx_open(&fi, ipath, DC_IDX_IMAGES_MAGIC, 3, idims, err);
    if (st == DC_OK && (idims[0] > DC_IDX_MAX_COUNT || idims[1] < 1 || idims[2] < 1 ||
                        idims[1] > DC_IDX_MAX_SIDE || idims[2] > DC_IDX_MAX_SIDE))
        st = dc_fail(err, DC_ERR_FORMAT, "%s: unlikely image dimensions %u x %u x %u", ipath,
                     idims[0], idims[1], idims[2]);
    if (st == DC_OK)
        st = dc_idx_open(&fl, lpath, DC_IDX_LABELS_MAGIC, 1, ldims, err);
    if (st == DC_OK && ldims[0] != idims[0])
        st = dc_fail(err, DC_ERR_FORMAT, "%s: %u labels but %s holds %u images", lpath,
                     ldims[0], ipath, idims[0]);
    uint8_t *lab = NULL;
    if (st == DC_OK)
        st = dc_idx_read_data(&fi, (size_t)idims[0] * idims[1] * idims[2], "pixels",
                              &ds->pixels, err);
    if (st == DC_OK)
        st = dc_idx_read_data(&fl, ldims[0], "labels", &lab, err);
    if (st == DC_OK && !(ds->labels = malloc(sizeof *ds->labels * (idims[0] ? idims[0] : 1))))
        st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", lpath);
    for (uint32_t i = 0; st == DC_OK && i < ldims[0]; i++) {
        if (lab[i] >= DC_IDX_CLASSES)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: label %u of sample %u is not in 0..%d", lpath,
                         lab[i], i, DC_IDX_CLASSES - 1);
        else
            ds->labels[i] = lab[i];
    }
    if (st == DC_OK) {
        ds->count = (int)idims[0];
        ds->h = (int)idims[1];
        ds->w = (int)idims[2];
        ds->c = 1;
    }
    free(lab);
    dc_idx_close(&fi);
    dc_idx_close(&fl);
    free(ipath);
    free(lpath);
    return st;
}
