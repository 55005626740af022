/*
 * npy.c — reading and writing float32 NumPy .npy files (see npy.h for the format).
 *
 * The header is a Python dict literal. Rather than a general Python parser, this file has a
 * small recursive-descent parser for exactly what numpy.lib.format accepts: the three keys
 * 'descr' (a string), 'fortran_order' (True or False) and 'shape' (a tuple of non-negative
 * ints), in any order, with any spacing and an optional trailing comma.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno, getpid (the build defines it too) */
#endif

#include "loaders/npy.h"
#include "base/alloc.h"
#include "loaders/outfile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DC_NPY_MAGIC "\x93NUMPY"
#define DC_NPY_MAGIC_LEN 6
#define DC_NPY_MAX_HEADER (1u << 20) /* NumPy itself refuses headers over 10000 bytes */
#define DC_NPY_ALIGN 64              /* numpy.lib.format.ARRAY_ALIGN */
#define DC_NPY_GROWTH_DIGITS 21      /* numpy.lib.format.GROWTH_AXIS_MAX_DIGITS */

/* What the header says. */
typedef struct {
    char descr[32];
    bool fortran_order;
    int ndim;
    int64_t shape[DC_NPY_MAX_DIMS];
    bool has_descr, has_fortran, has_shape;
} dc_npy_header;

/* A cursor over the header text, which may contain any bytes (it is not NUL-terminated). */
typedef struct {
    const char *path;
    const char *s;
    size_t n, pos;
} dc_npy_parser;

/* ---- small helpers ------------------------------------------------------ */

static bool dc_npy_host_is_little(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static void dc_npy_swap32(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        u = (u >> 24) | ((u >> 8) & 0xff00u) | ((u << 8) & 0xff0000u) | (u << 24);
        memcpy(&x[i], &u, 4);
    }
}

/* Copies up to n bytes of s into buf (size cap) for a message, replacing anything that is
 * not printable ASCII with '?' and marking a cut with "...". */
static const char *dc_npy_printable(char *buf, size_t cap, const char *s, size_t n)
{
    size_t room = cap - 4, k = 0;
    for (size_t i = 0; i < n && k < room; i++)
        buf[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > room)
        memcpy(buf + k, "...", 4);
    else
        buf[k] = '\0';
    return buf;
}

/* Multiplies the dims; returns false when the product (or its size in bytes) overflows.
 * A zero dim makes the product 0 whatever the others are. */
static bool dc_npy_count_elems(int ndim, const int64_t *shape, size_t *count)
{
    const uint64_t limit = ((uint64_t)INT64_MAX < (uint64_t)SIZE_MAX ? (uint64_t)INT64_MAX
                                                                       : (uint64_t)SIZE_MAX) /
                           sizeof(float);
    uint64_t c = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) {
            *count = 0;
            return true;
        }
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d > limit || c > limit / d)
            return false;
        c *= d;
    }
    *count = (size_t)c;
    return true;
}

/* A name for the type code of a descr, for messages ("float64" for '<f8'). */
static const char *dc_npy_dtype_name(const char *descr)
{
    static const struct {
        const char *code, *name;
    } names[] = {
        { "f2", "float16" }, { "f4", "float32" }, { "f8", "float64" }, { "f16", "float128" },
        { "i1", "int8" },    { "i2", "int16" },   { "i4", "int32" },   { "i8", "int64" },
        { "u1", "uint8" },   { "u2", "uint16" },  { "u4", "uint32" },  { "u8", "uint64" },
        { "b1", "bool" },    { "c8", "complex64" }, { "c16", "complex128" },
        { "O", "Python objects" },
    };
    bool has_order = descr[0] != '\0' && strchr("<>|=", descr[0]) != NULL;
    const char *code = has_order ? descr + 1 : descr;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(code, names[i].code) == 0)
            return names[i].name;
    if (code[0] == 'U' || code[0] == 'S')
        return "strings";
    return "unknown type";
}

/* ---- the header parser -------------------------------------------------- */

/* Fails with a message naming the file, what was expected and where. */
static dc_status dc_npy_syntax_error(const dc_npy_parser *p, const char *expected,
                                     dc_error *err)
{
    char shown[96];
    dc_npy_printable(shown, sizeof shown, p->s, p->n);
    return dc_fail(err, DC_ERR_FORMAT,
                   "%s: NPY header is not a valid dict literal: expected %s at offset %zu "
                   "of header \"%s\"", p->path, expected, p->pos, shown);
}

static void dc_npy_skip_space(dc_npy_parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

/* Consumes c (after optional spaces) when it is next; returns whether it was. */
static bool dc_npy_accept(dc_npy_parser *p, char c)
{
    dc_npy_skip_space(p);
    if (p->pos < p->n && p->s[p->pos] == c) {
        p->pos++;
        return true;
    }
    return false;
}

/* Parses a quoted string ('...' or "...", no escapes) into buf (size cap). */
static dc_status dc_npy_parse_string(dc_npy_parser *p, char *buf, size_t cap, dc_error *err)
{
    dc_npy_skip_space(p);
    if (p->pos >= p->n || (p->s[p->pos] != '\'' && p->s[p->pos] != '"'))
        return dc_npy_syntax_error(p, "a quoted string", err);
    char quote = p->s[p->pos++];
    size_t start = p->pos;
    while (p->pos < p->n && p->s[p->pos] != quote) {
        if (p->s[p->pos] == '\\' || p->s[p->pos] == '\n')
            return dc_npy_syntax_error(p, "a plain string (escapes are not supported)", err);
        p->pos++;
    }
    if (p->pos >= p->n)
        return dc_npy_syntax_error(p, "a closing quote", err);
    size_t len = p->pos - start;
    p->pos++;
    if (len >= cap) {
        p->pos = start;
        return dc_npy_syntax_error(p, "a short string", err);
    }
    memcpy(buf, p->s + start, len);
    buf[len] = '\0';
    return DC_OK;
}

/* Parses True or False. */
static dc_status dc_npy_parse_bool(dc_npy_parser *p, bool *out, dc_error *err)
{
    dc_npy_skip_space(p);
    const char *rest = p->s + p->pos;
    size_t left = p->n - p->pos;
    if (left >= 4 && memcmp(rest, "True", 4) == 0) {
        *out = true;
        p->pos += 4;
    } else if (left >= 5 && memcmp(rest, "False", 5) == 0) {
        *out = false;
        p->pos += 5;
    } else {
        return dc_npy_syntax_error(p, "True or False", err);
    }
    return DC_OK;
}

/* Parses a non-negative decimal integer (Python 2 files may add an 'L'). */
static dc_status dc_npy_parse_dim(dc_npy_parser *p, int64_t *out, dc_error *err)
{
    dc_npy_skip_space(p);
    if (p->pos < p->n && p->s[p->pos] == '-')
        return dc_fail(err, DC_ERR_FORMAT, "%s: NPY shape has a negative dimension at offset "
                       "%zu of the header", p->path, p->pos);
    if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return dc_npy_syntax_error(p, "a dimension (a non-negative integer)", err);
    int64_t v = 0;
    while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        int digit = p->s[p->pos] - '0';
        if (v > (INT64_MAX - digit) / 10)
            return dc_fail(err, DC_ERR_FORMAT, "%s: NPY shape has a dimension too large "
                           "for 64 bits at offset %zu of the header", p->path, p->pos);
        v = v * 10 + digit;
        p->pos++;
    }
    if (p->pos < p->n && p->s[p->pos] == 'L')
        p->pos++;
    *out = v;
    return DC_OK;
}

/* Parses a tuple of dims: "()", "(3,)", "(2, 3)", "(2, 3,)". A single dim without its
 * comma, "(3)", is an int in Python, not a tuple, and NumPy refuses it; so do we. */
static dc_status dc_npy_parse_shape(dc_npy_parser *p, dc_npy_header *h, dc_error *err)
{
    dc_status st;
    if (!dc_npy_accept(p, '('))
        return dc_npy_syntax_error(p, "'(' opening the shape tuple", err);
    h->ndim = 0;
    if (dc_npy_accept(p, ')'))
        return DC_OK;
    for (;;) {
        if (h->ndim == DC_NPY_MAX_DIMS)
            return dc_fail(err, DC_ERR_FORMAT, "%s: NPY shape has more than %d dimensions",
                           p->path, DC_NPY_MAX_DIMS);
        if ((st = dc_npy_parse_dim(p, &h->shape[h->ndim], err)) != DC_OK)
            return st;
        h->ndim++;
        bool comma = dc_npy_accept(p, ',');
        if (dc_npy_accept(p, ')')) {
            if (h->ndim == 1 && !comma)
                return dc_fail(err, DC_ERR_FORMAT, "%s: NPY shape (%" PRId64 ") is not a "
                               "tuple (a 1-D shape is written (%" PRId64 ",))", p->path,
                               h->shape[0], h->shape[0]);
            return DC_OK;
        }
        if (!comma)
            return dc_npy_syntax_error(p, "',' or ')' in the shape tuple", err);
    }
}

/* Parses the value of one key into h. */
static dc_status dc_npy_parse_value(dc_npy_parser *p, const char *key, dc_npy_header *h,
                                    dc_error *err)
{
    bool *seen;
    if (strcmp(key, "descr") == 0)
        seen = &h->has_descr;
    else if (strcmp(key, "fortran_order") == 0)
        seen = &h->has_fortran;
    else if (strcmp(key, "shape") == 0)
        seen = &h->has_shape;
    else
        return dc_fail(err, DC_ERR_FORMAT, "%s: NPY header has an unexpected key '%s' (only "
                       "'descr', 'fortran_order' and 'shape' are allowed)", p->path, key);
    if (*seen)
        return dc_fail(err, DC_ERR_FORMAT, "%s: NPY header has the key '%s' twice", p->path,
                       key);
    *seen = true;

    if (seen == &h->has_fortran)
        return dc_npy_parse_bool(p, &h->fortran_order, err);
    if (seen == &h->has_shape)
        return dc_npy_parse_shape(p, h, err);
    dc_npy_skip_space(p);
    if (p->pos < p->n && p->s[p->pos] == '[')
        return dc_fail(err, DC_ERR_FORMAT, "%s: NPY file holds a structured array (descr is "
                       "a list of fields); dualcnn needs a plain float32 '<f4' array",
                       p->path);
    return dc_npy_parse_string(p, h->descr, sizeof h->descr, err);
}

/* Parses the whole header text into h: a dict, then only whitespace. */
static dc_status dc_npy_parse_header(const char *path, const char *text, size_t n,
                                     dc_npy_header *h, dc_error *err)
{
    dc_npy_parser p = { path, text, n, 0 };
    dc_status st;
    memset(h, 0, sizeof *h);
    if (!dc_npy_accept(&p, '{'))
        return dc_npy_syntax_error(&p, "'{' (the header must be a dict)", err);
    while (!dc_npy_accept(&p, '}')) {
        char key[32];
        if ((st = dc_npy_parse_string(&p, key, sizeof key, err)) != DC_OK)
            return st;
        if (!dc_npy_accept(&p, ':'))
            return dc_npy_syntax_error(&p, "':' after a key", err);
        if ((st = dc_npy_parse_value(&p, key, h, err)) != DC_OK)
            return st;
        if (!dc_npy_accept(&p, ',')) {
            if (dc_npy_accept(&p, '}'))
                break;
            return dc_npy_syntax_error(&p, "',' or '}' after a value", err);
        }
    }
    dc_npy_skip_space(&p);
    if (p.pos != p.n)
        return dc_npy_syntax_error(&p, "only padding after the closing '}'", err);
    const char *missing = !h->has_descr ? "descr" : !h->has_fortran ? "fortran_order"
                        : !h->has_shape ? "shape" : NULL;
    if (missing)
        return dc_fail(err, DC_ERR_FORMAT, "%s: NPY header lacks the key '%s'", path, missing);
    return DC_OK;
}

/* Refuses anything but a C-order little-endian float32 array. */
static dc_status dc_npy_check_header(const char *path, const dc_npy_header *h, dc_error *err)
{
    if (strcmp(h->descr, "<f4") != 0) {
        char shown[40];
        dc_npy_printable(shown, sizeof shown, h->descr, strlen(h->descr));
        bool big = h->descr[0] == '>';
        return dc_fail(err, DC_ERR_FORMAT, "%s: dtype '%s' (%s%s); dualcnn infer needs float32 "
                       "'<f4' (convert with x.astype('<f4'))", path, shown,
                       big ? "big-endian " : "", dc_npy_dtype_name(h->descr));
    }
    if (h->fortran_order)
        return dc_fail(err, DC_ERR_FORMAT, "%s: fortran_order is True; dualcnn needs a "
                       "C-order array (save np.ascontiguousarray(x))", path);
    return DC_OK;
}

/* ---- reading ------------------------------------------------------------ */

/* Reads exactly n bytes; returns how many were read before end of file. */
static size_t dc_npy_read_bytes(FILE *f, void *buf, size_t n)
{
    return n ? fread(buf, 1, n, f) : 0;
}

static dc_status dc_npy_read_error(const char *path, const char *what, dc_error *err)
{
    return dc_fail(err, DC_ERR_IO, "%s: cannot read the %s: %s", path, what,
                   errno ? strerror(errno) : "read error");
}

/* Reads the magic, version and header length; on success *header_len is the length of the
 * header text and *prefix_len the bytes before it. */
static dc_status dc_npy_read_preamble(FILE *f, const char *path, uint32_t *header_len,
                                      size_t *prefix_len, dc_error *err)
{
    unsigned char pre[12];
    errno = 0;
    size_t got = dc_npy_read_bytes(f, pre, 8);
    if (ferror(f))
        return dc_npy_read_error(path, "NPY preamble", err);
    if (got == 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: not an NPY file (the file is empty)", path);
    size_t cmp = got < DC_NPY_MAGIC_LEN ? got : DC_NPY_MAGIC_LEN;
    if (memcmp(pre, DC_NPY_MAGIC, cmp) != 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: not an NPY file (bad magic: it does not "
                       "start with \\x93NUMPY)", path);
    if (got < 8)
        return dc_fail(err, DC_ERR_FORMAT, "%s: truncated NPY preamble (%zu bytes)", path, got);
    int major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return dc_fail(err, DC_ERR_FORMAT, "%s: unsupported NPY format version %d.%d "
                       "(dualcnn reads 1.0, 2.0 and 3.0)", path, major, minor);
    size_t len_bytes = major == 1 ? 2 : 4;
    got = dc_npy_read_bytes(f, pre + 8, len_bytes);
    if (ferror(f))
        return dc_npy_read_error(path, "NPY preamble", err);
    if (got < len_bytes)
        return dc_fail(err, DC_ERR_FORMAT, "%s: truncated NPY preamble (no header length)",
                       path);
    *header_len = major == 1 ? (uint32_t)pre[8] | (uint32_t)pre[9] << 8
                             : (uint32_t)pre[8] | (uint32_t)pre[9] << 8 |
                               (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    *prefix_len = 8 + len_bytes;
    if (*header_len > DC_NPY_MAX_HEADER)
        return dc_fail(err, DC_ERR_FORMAT, "%s: NPY header length %" PRIu32 " is implausibly "
                       "large (limit %u)", path, *header_len, DC_NPY_MAX_HEADER);
    return DC_OK;
}

/* Reads and parses the header text that follows the preamble. */
static dc_status dc_npy_read_header(FILE *f, const char *path, uint32_t len, dc_npy_header *h,
                                    dc_error *err)
{
    char *text = dc_malloc(len ? len : 1);
    if (!text)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for the NPY header", path);
    errno = 0;
    size_t got = dc_npy_read_bytes(f, text, len);
    dc_status st;
    if (ferror(f))
        st = dc_npy_read_error(path, "NPY header", err);
    else if (got < len)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: truncated NPY header: expected %" PRIu32
                     " bytes, found %zu", path, len, got);
    else
        st = dc_npy_parse_header(path, text, len, h, err);
    free(text);
    return st;
}

/* Reads count floats of data that start at byte offset data_off of the file. */
static dc_status dc_npy_read_data(FILE *f, const char *path, size_t data_off, size_t count,
                                  float **out, dc_error *err)
{
    size_t need = count * sizeof(float);
    struct stat sb;
    *out = NULL;
    if (count == 0)
        return DC_OK;
    /* Refuse a short regular file before allocating what its header asks for. */
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) {
        uint64_t size = (uint64_t)sb.st_size;
        uint64_t have = size > data_off ? size - data_off : 0;
        if (have < need)
            return dc_fail(err, DC_ERR_FORMAT, "%s: truncated: expected %zu bytes of data, "
                           "found %" PRIu64, path, need, have);
    }
    /* A pipe's size is unknown: grow the buffer with what actually arrives (doubling from
     * 1 MiB), so a header claiming 96 GB costs only the bytes sent. */
    bool regular = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode);
    size_t cap = regular || need < ((size_t)1 << 20) ? need : (size_t)1 << 20;
    float *data = dc_malloc(cap);
    if (!data)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for %zu bytes of data", path,
                       need);
    errno = 0;
    size_t got = dc_npy_read_bytes(f, data, cap);
    while (got == cap && cap < need && !ferror(f)) {
        size_t grow = cap > need / 2 ? need : 2 * cap;
        float *more = dc_realloc(data, grow);
        if (!more) {
            free(data);
            return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory for %zu bytes of data",
                           path, grow);
        }
        data = more;
        got += dc_npy_read_bytes(f, (char *)data + cap, grow - cap);
        cap = grow;
    }
    if (ferror(f) || got < need) {
        dc_status st = ferror(f) ? dc_npy_read_error(path, "NPY data", err)
                                 : dc_fail(err, DC_ERR_FORMAT, "%s: truncated: expected %zu "
                                           "bytes of data, found %zu", path, need, got);
        free(data);
        return st;
    }
    if (!dc_npy_host_is_little())
        dc_npy_swap32(data, count);
    *out = data;
    return DC_OK;
}

static dc_status dc_npy_read_file(FILE *f, const char *path, dc_npy *out, dc_error *err)
{
    uint32_t header_len = 0;
    size_t prefix_len = 0, count = 0;
    dc_npy_header h;
    dc_status st;
    if ((st = dc_npy_read_preamble(f, path, &header_len, &prefix_len, err)) != DC_OK)
        return st;
    if ((st = dc_npy_read_header(f, path, header_len, &h, err)) != DC_OK)
        return st;
    if ((st = dc_npy_check_header(path, &h, err)) != DC_OK)
        return st;
    if (!dc_npy_count_elems(h.ndim, h.shape, &count))
        return dc_fail(err, DC_ERR_FORMAT, "%s: NPY shape is too large (the number of "
                       "elements overflows)", path);
    st = dc_npy_read_data(f, path, prefix_len + header_len, count, &out->data, err);
    if (st != DC_OK)
        return st;
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof h.shape);
    out->count = count;
    return DC_OK;
}

dc_status dc_npy_read_f32(const char *path, dc_npy *out, dc_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    dc_status st = dc_npy_read_file(f, path, out, err);
    fclose(f);
    if (st != DC_OK)
        memset(out, 0, sizeof *out);
    return st;
}

void dc_npy_free(dc_npy *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- writing ------------------------------------------------------------ */

/* Builds the whole version 1.0 preamble and header as NumPy 1.24 writes it
 * (numpy.lib.format._write_array_header and _wrap_header) into buf; returns its length. */
static size_t dc_npy_build_header(int ndim, const int64_t *shape, char *buf, size_t cap)
{
    char dict[400];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %" PRId64 : "%" PRId64,
                      shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0) {
        /* spare room so the first axis can grow in place */
        int digits = snprintf(NULL, 0, "%" PRId64, shape[0]);
        for (int i = digits; i < DC_NPY_GROWTH_DIGITS; i++)
            dict[n++] = ' ';
    }
    size_t hlen = (size_t)n + 1;                                   /* + '\n' */
    size_t pad = DC_NPY_ALIGN - ((DC_NPY_MAGIC_LEN + 2 + 2 + hlen) % DC_NPY_ALIGN);
    size_t total = DC_NPY_MAGIC_LEN + 4 + (size_t)n + pad + 1;
    if (total > cap)
        return 0;
    size_t stored = hlen + pad;                                    /* < 65536 by cap */
    memcpy(buf, DC_NPY_MAGIC, DC_NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(stored & 0xff);
    buf[9] = (char)(stored >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

/* Writes count floats as little-endian bytes, in chunks. */
static bool dc_npy_write_data(FILE *f, const float *data, size_t count)
{
    float chunk[4096];
    bool swap = !dc_npy_host_is_little();
    for (size_t i = 0; i < count;) {
        size_t k = count - i < 4096 ? count - i : 4096;
        memcpy(chunk, data + i, k * sizeof(float));
        if (swap)
            dc_npy_swap32(chunk, k);
        if (fwrite(chunk, sizeof(float), k, f) != k)
            return false;
        i += k;
    }
    return true;
}

/* Checks the arguments of dc_npy_write_f32 and counts the elements. */
static dc_status dc_npy_check_write_args(const char *path, const float *data, int ndim,
                                         const int64_t *shape, size_t *count, dc_error *err)
{
    if (ndim < 0 || ndim > DC_NPY_MAX_DIMS)
        return dc_fail(err, DC_ERR_ARG, "%s: cannot write %d dimensions to NPY (0..%d)",
                       path, ndim, DC_NPY_MAX_DIMS);
    if (ndim > 0 && !shape)
        return dc_fail(err, DC_ERR_ARG, "%s: no shape given for NPY", path);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return dc_fail(err, DC_ERR_ARG, "%s: NPY dimension %d is negative (%" PRId64 ")",
                           path, i, shape[i]);
    if (!dc_npy_count_elems(ndim, shape, count))
        return dc_fail(err, DC_ERR_ARG, "%s: NPY shape is too large", path);
    if (*count > 0 && !data)
        return dc_fail(err, DC_ERR_ARG, "%s: no data given for NPY", path);
    return DC_OK;
}

dc_status dc_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                           dc_error *err)
{
    size_t count = 0;
    dc_status st = dc_npy_check_write_args(path, data, ndim, shape, &count, err);
    if (st != DC_OK)
        return st;
    char header[1024];
    size_t header_len = dc_npy_build_header(ndim, shape, header, sizeof header);
    if (header_len == 0)
        return dc_fail(err, DC_ERR_ARG, "%s: NPY header would be too long", path);

    dc_outfile out;
    if ((st = dc_outfile_open(&out, path, 0, err)) != DC_OK)
        return st;
    errno = 0;
    if (fwrite(header, 1, header_len, out.f) != header_len ||
        !dc_npy_write_data(out.f, data, count)) {
        st = dc_fail(err, DC_ERR_IO, "%s: cannot write: %s", path,
                     errno ? strerror(errno) : "write error");
        dc_outfile_abort(&out);
        return st;
    }
    return dc_outfile_commit(&out, err);
}
