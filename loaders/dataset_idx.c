/*
 * dataset_idx.c — FashionMNIST in IDX files, gzip'd or plain, read whole into memory.
 *
 * An IDX file is a big-endian header — two zero bytes, a type byte (0x08: unsigned byte),
 * the number of dimensions — then each dimension as a 32-bit big-endian count, then the
 * data. Images: magic 0x00000803, dimensions N x rows x cols; labels: magic 0x00000801,
 * dimension N. Gzip'd files are inflated member by member with zlib; where libdeflate was
 * found at build time (DC_HAVE_LIBDEFLATE) a whole split is first tried with it, faster,
 * and zlib takes over whenever that does not succeed (dc_idx_inflate_whole).
 */
#include "loaders/dataset.h"
#include "base/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#ifdef DC_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define DC_IDX_IMAGES_MAGIC 0x00000803u
#define DC_IDX_LABELS_MAGIC 0x00000801u
#define DC_IDX_CLASSES 10
#define DC_IDX_MAX_SIDE 4096
#define DC_IDX_MAX_COUNT 10000000
#define DC_IDX_CHUNK ((size_t)16 << 20)
/* The most pixel bytes an IDX file may announce (FashionMNIST's training split holds 47 MB):
 * a gzip bomb whose header claims 2 million images is refused before it is inflated. */
#define DC_IDX_MAX_BYTES ((uint64_t)1 << 30)

static const char *const dc_idx_names[DC_IDX_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
};

/* An open IDX file, plain or gzip'd. zlib's gzread would skip anything after the last
 * gzip member silently, so the gzip members are inflated here, and any bytes after them
 * that do not start another member are an error. */
typedef struct {
    FILE *fp;
    const char *path;
    bool gz;              /* the file starts with the gzip magic 1f 8b */
    bool zinit;           /* zs is initialised */
    bool member_done;     /* the current gzip member ended (Z_STREAM_END) */
    bool garbage;         /* bytes that are not gzip follow the last member */
    int zerr;             /* inflate's error, or Z_OK */
    int io_errno;         /* a read error's errno, or 0 */
    uint8_t head[16];     /* the header as read (magic and dimensions) */
    size_t head_bytes;
    z_stream zs;
    uint8_t in[1 << 14];
} dc_idx_file;

/* Refills the input buffer when it is empty; returns false at the end of the file. */
static bool dc_idx_fill(dc_idx_file *f)
{
    if (f->zs.avail_in > 0)
        return true;
    size_t n = fread(f->in, 1, sizeof f->in, f->fp);
    if (n == 0 && ferror(f->fp))
        f->io_errno = errno ? errno : EIO;
    f->zs.next_in = f->in;
    f->zs.avail_in = (uInt)n;
    return n > 0;
}

/* Inflates up to n bytes into buf; returns how many arrived. */
static size_t dc_idx_inflate(dc_idx_file *f, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n && f->zerr == Z_OK && !f->garbage && !f->io_errno) {
        if (f->member_done) { /* another member, or the end; anything else is garbage */
            if (!dc_idx_fill(f))
                break;
            if (f->zs.avail_in < 2 && f->zs.next_in[0] == 0x1f) {
                f->in[0] = 0x1f; /* the magic may straddle two reads */
                size_t more = fread(f->in + 1, 1, sizeof f->in - 1, f->fp);
                f->zs.next_in = f->in;
                f->zs.avail_in = (uInt)(1 + more);
            }
            if (f->zs.avail_in < 2 || f->zs.next_in[0] != 0x1f || f->zs.next_in[1] != 0x8b) {
                f->garbage = true;
                break;
            }
            inflateReset(&f->zs);
            f->member_done = false;
        }
        if (!dc_idx_fill(f)) {
            f->zerr = Z_BUF_ERROR; /* the file ends inside a member */
            break;
        }
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
        f->zs.next_out = buf + got;
        f->zs.avail_out = (uInt)want;
        int r = inflate(&f->zs, Z_NO_FLUSH);
        got += want - f->zs.avail_out;
        if (r == Z_STREAM_END)
            f->member_done = true;
        else if (r != Z_OK && !(r == Z_BUF_ERROR && f->zs.avail_in == 0))
            f->zerr = r;
    }
    return got;
}

/* Reads up to n bytes into buf; returns how many arrived (fewer at the end of the file or
 * on an error, which dc_idx_short then tells). */
static size_t dc_idx_read_some(dc_idx_file *f, uint8_t *buf, size_t n)
{
    if (f->gz)
        return dc_idx_inflate(f, buf, n);
    size_t got = n ? fread(buf, 1, n, f->fp) : 0;
    if (got < n && ferror(f->fp))
        f->io_errno = errno ? errno : EIO;
    return got;
}

/* The error for a read that stopped after `got` of the `n` bytes of `what`. */
static dc_status dc_idx_short(dc_idx_file *f, size_t n, size_t got, const char *what,
                              dc_error *err)
{
    if (f->io_errno)
        return dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", f->path, strerror(f->io_errno));
    if (f->garbage)
        return dc_fail(err, DC_ERR_FORMAT, "%s: bytes that are not gzip data follow the "
                       "gzip stream", f->path);
    if (f->zerr != Z_OK && f->zerr != Z_BUF_ERROR)
        return dc_fail(err, DC_ERR_FORMAT, "%s: corrupt gzip data: %s", f->path,
                       f->zs.msg ? f->zs.msg : "zlib error");
    return dc_fail(err, DC_ERR_FORMAT, "%s: truncated: %zu bytes of %s expected, %zu found%s",
                   f->path, n, what, got,
                   f->zerr == Z_BUF_ERROR ? " (the gzip stream ends early)" : "");
}

#ifdef DC_HAVE_LIBDEFLATE
/* The gzip'd file f inflated whole by libdeflate: 2.8x faster than zlib's inflate here
 * (FashionMNIST's 26 MB of training images, 0.25 -> 0.09 s; resnet56's `dualcnn predict`
 * on one batch of the training split, 0.55 -> 0.37 s). It answers only success: every
 * member whole with its CRC and length right, one after the other to the end of the file,
 * inflating to f's header (as zlib read it) and exactly n bytes of data, which *out then
 * holds. Anything else (corrupt, truncated, trailing bytes, a file changed since, no
 * memory, several members: their last one's length is not the whole) returns false and
 * leaves the reading to zlib, which tells precisely what is wrong. */
static bool dc_idx_inflate_whole(const dc_idx_file *f, size_t n, uint8_t **out)
{
    FILE *fp = fopen(f->path, "rb");
    if (!fp)
        return false;
    long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    const size_t want = f->head_bytes + n;
    uint8_t *in = NULL, *buf = NULL;
    bool ok = size >= 18 && (uint64_t)size <= DC_IDX_MAX_BYTES &&
              fseek(fp, 0, SEEK_SET) == 0 && (in = dc_malloc((size_t)size)) &&
              fread(in, 1, (size_t)size, fp) == (size_t)size;
    fclose(fp);
    /* The buffer is sized from the header only where the file agrees: the last member's
     * length field (ISIZE, mod 2^32) gives the same size, and deflate's largest ratio
     * (1032:1) allows it. A header that lies then costs no more than with zlib. */
    const uint8_t *isize = ok ? in + size - 4 : NULL;
    ok = ok && ((uint32_t)isize[0] | (uint32_t)isize[1] << 8 | (uint32_t)isize[2] << 16 |
                (uint32_t)isize[3] << 24) == (uint32_t)want &&
         want / 1032 <= (size_t)size && (buf = dc_malloc(want ? want : 1));
    struct libdeflate_decompressor *d = ok ? libdeflate_alloc_decompressor() : NULL;
    size_t at = 0, made = 0; /* compressed bytes used, bytes inflated */
    ok = d != NULL;
    while (ok && at < (size_t)size) { /* one gzip member a turn */
        size_t used, got;
        ok = size - at >= 2 && in[at] == 0x1f && in[at + 1] == 0x8b &&
             libdeflate_gzip_decompress_ex(d, in + at, (size_t)size - at, buf + made,
                                           want - made, &used, &got) == LIBDEFLATE_SUCCESS;
        at += ok ? used : 0;
        made += ok ? got : 0;
    }
    if (d)
        libdeflate_free_decompressor(d);
    free(in);
    ok = ok && made == want && memcmp(buf, f->head, f->head_bytes) == 0;
    if (!ok) {
        free(buf);
        return false;
    }
    memmove(buf, buf + f->head_bytes, n);
    *out = buf;
    return true;
}
#endif

/* Reads n bytes of data, growing the buffer as they arrive (so a header that lies about
 * the size cannot make us allocate much more than the file holds), and, when they are the
 * whole of the data (last), checks that nothing follows them. */
static dc_status dc_idx_read_data(dc_idx_file *f, size_t n, bool last, const char *what,
                                  uint8_t **out, dc_error *err)
{
    *out = NULL;
#ifdef DC_HAVE_LIBDEFLATE
    if (f->gz && last && dc_idx_inflate_whole(f, n, out))
        return DC_OK;
#endif
    uint8_t *buf = NULL;
    size_t have = 0;
    dc_status st = DC_OK;
    while (st == DC_OK && have < n) {
        size_t step = n - have < DC_IDX_CHUNK ? n - have : DC_IDX_CHUNK;
        uint8_t *p = dc_realloc(buf, have + step);
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
    /* one more read: finds trailing bytes (and garbage after the gzip stream), and makes
     * zlib check the gzip trailer (CRC) */
    uint8_t extra;
    size_t r = st == DC_OK && last ? dc_idx_read_some(f, &extra, 1) : 0;
    if (r > 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: trailing data after the %zu bytes of %s the "
                     "header announces", f->path, n, what);
    else if (st == DC_OK && last && (f->io_errno || f->garbage || f->zerr != Z_OK))
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
    f->fp = fopen(path, "rb");
    if (!f->fp)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int c0 = getc(f->fp), c1 = getc(f->fp);
    f->gz = c0 == 0x1f && c1 == 0x8b;
    rewind(f->fp);
    if (f->gz) {
        if (inflateInit2(&f->zs, 15 + 16) != Z_OK) /* 16: a gzip wrapper */
            return dc_fail(err, DC_ERR_NOMEM, "%s: cannot start zlib", path);
        f->zinit = true;
    }
    uint8_t *head = f->head;
    size_t need = 4 + 4 * (size_t)ndims, got = dc_idx_read_some(f, head, need);
    if (got < need)
        return dc_idx_short(f, need, got, "header", err);
    f->head_bytes = need;
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
    if (f->zinit)
        inflateEnd(&f->zs);
    if (f->fp)
        fclose(f->fp);
    f->fp = NULL;
    f->zinit = false;
}

/* "<dir>/<name>" or "<dir>/<name>.gz", whichever exists (plain first); NULL if neither. */
static char *dc_idx_locate(const char *dir, const char *name)
{
    char *plain = dc_dataset_join(dir, name);
    if (!plain || dc_dataset_is_file(plain))
        return plain;
    size_t n = strlen(plain);
    char *gz = dc_realloc(plain, n + 4);
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
        char *d = strcmp(subdirs[s], ".") == 0 ? dc_strdup(dir) : dc_dataset_join(dir, subdirs[s]);
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
    ds->root = dc_strdup(dir);
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
    if (st == DC_OK && (uint64_t)idims[0] * idims[1] * idims[2] > DC_IDX_MAX_BYTES)
        st = dc_fail(err, DC_ERR_UNSUPPORTED, "%s: the header announces %u images of %u x %u "
                     "pixels, %llu bytes: over the limit of %llu bytes", ipath, idims[0],
                     idims[1], idims[2],
                     (unsigned long long)idims[0] * idims[1] * idims[2],
                     (unsigned long long)DC_IDX_MAX_BYTES);
    if (st == DC_OK && idims[0] == 0)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: holds no images (an empty split)", ipath);
    if (st == DC_OK)
        st = dc_idx_open(&fl, lpath, DC_IDX_LABELS_MAGIC, 1, ldims, err);
    if (st == DC_OK && ldims[0] != idims[0])
        st = dc_fail(err, DC_ERR_FORMAT, "%s: %u labels but %s holds %u images", lpath,
                     ldims[0], ipath, idims[0]);
    /* the first `keep` samples: all of them, or what the caller asked for */
    uint32_t keep = ds->want > 0 && (uint32_t)ds->want < idims[0] ? (uint32_t)ds->want : idims[0];
    bool all = keep == idims[0];
    uint8_t *lab = NULL;
    if (st == DC_OK)
        st = dc_idx_read_data(&fi, (size_t)keep * idims[1] * idims[2], all, "pixels",
                              &ds->pixels, err);
    if (st == DC_OK)
        st = dc_idx_read_data(&fl, keep, all, "labels", &lab, err);
    if (st == DC_OK && !(ds->labels = dc_malloc(sizeof *ds->labels * (keep ? keep : 1))))
        st = dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", lpath);
    for (uint32_t i = 0; st == DC_OK && i < keep; i++) {
        if (lab[i] >= DC_IDX_CLASSES)
            st = dc_fail(err, DC_ERR_FORMAT, "%s: label %u of sample %u is not in 0..%d", lpath,
                         lab[i], i, DC_IDX_CLASSES - 1);
        else
            ds->labels[i] = lab[i];
    }
    if (st == DC_OK) {
        ds->count = (int)keep;
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
