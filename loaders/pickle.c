/*
 * pickle.c — the minimal pickle reader of pickle.h: a stack machine over the accepted
 * opcodes only, with the three recognised callables (_codecs.encode, NumPy's _reconstruct,
 * numpy.dtype) applied by hand-written code, never looked up by name at run time.
 *
 * Every value lives in the dc_pickle's arena (a list of allocations freed together), so the
 * memo may share values and containers may be mutated after being memoised, as in Python.
 */
#include "loaders/pickle.h"
#include "loaders/readfile.h"
#include "base/alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that keep a hostile file from making us allocate much more than its own size.
 * A real CIFAR-10 batch needs about 50,000 values and 30,000 container slots. A value costs
 * about 130 bytes (190 under AddressSanitizer) for as little as one byte of file: 2^18
 * values keep that part under 35 MB (50 MB under ASan); 2^20 let a 5 MB dict of 500,000
 * int keys take 174 MB (333 MB under ASan) before it was refused. */
#define DC_PK_MAX_VALUES (1u << 18)
#define DC_PK_MAX_STACK (1u << 20)
#define DC_PK_MAX_MARKS (1u << 16)
#define DC_PK_MAX_ITEMS (1u << 22)  /* container slots over the whole file */
#define DC_PK_MAX_MEMO (1u << 22)
#define DC_PK_MAX_GLOBAL 256        /* module or name length */

/* The internal values (kind DC_PK_OTHER). */
enum {
    DC_PKI_CODECS_ENCODE = 1, /* the global _codecs.encode */
    DC_PKI_RECONSTRUCT,       /* the global numpy.core.multiarray._reconstruct */
    DC_PKI_NDARRAY,           /* the global numpy.ndarray */
    DC_PKI_DTYPE_CLASS,       /* the global numpy.dtype */
    DC_PKI_DTYPE_U1,          /* numpy.dtype('u1'), before or after its BUILD */
    DC_PKI_EMPTY_ARRAY,       /* _reconstruct's result, waiting for its BUILD */
    /* the torch profile's */
    DC_PKI_REBUILD_TENSOR,    /* the global torch._utils._rebuild_tensor_v2 */
    DC_PKI_ORDERED_DICT,      /* the global collections.OrderedDict */
    DC_PKI_STORAGE_TYPE       /* a global torch.<T>Storage; its dtype in the value's dtype */
};

/* The torch profile's bounds on nesting: a state_dict's pickle holds at most a batch of
 * 1000 key, value pairs above one MARK, and tensors nest three MARKs deep. */
#define DC_PK_TORCH_MAX_MARKS 64

struct dc_pickle {
    uint8_t *file;              /* the file's bytes when read by dc_pickle_load */
    dc_pickle_value **values;   /* every value, for freeing */
    size_t nvalues, cap_values;
    uint8_t **blobs;            /* byte strings decoded by _codecs.encode, tensor dims */
    size_t nblobs, cap_blobs;
    const dc_pickle_value **storages; /* the DC_PK_STORAGE values, in file order */
    size_t nstorages, cap_storages;
    size_t nitems;              /* container slots allocated so far */
    const dc_pickle_value *root;
};

typedef struct {
    dc_pickle *pk;
    const char *name;
    dc_pickle_profile profile;
    size_t max_stack, max_marks;
    const char *what;           /* "a CIFAR-10 pickle" or "a checkpoint", for messages */
    const uint8_t *buf;
    size_t n, pos;
    size_t op_at;               /* offset of the opcode being run */
    uint8_t op;
    dc_pickle_value **stack;
    size_t sp, cap_stack;
    size_t *marks;
    size_t nmarks, cap_marks;
    dc_pickle_value **memo;
    size_t cap_memo;
    dc_error *err;
} dc_pk_parser;

/* Values every None / True / False may share. */
static dc_pickle_value dc_pk_none = { .kind = DC_PK_NONE };
static dc_pickle_value dc_pk_true = { .kind = DC_PK_BOOL, .i = 1 };
static dc_pickle_value dc_pk_false = { .kind = DC_PK_BOOL, .i = 0 };

/* ---- opcode names, for messages ----------------------------------------- */

static const char *dc_pk_opname(uint8_t op)
{
    static const struct {
        uint8_t op;
        const char *name;
    } names[] = {
        { 0x28, "MARK" }, { 0x2e, "STOP" }, { 0x30, "POP" }, { 0x31, "POP_MARK" },
        { 0x32, "DUP" }, { 0x46, "FLOAT" }, { 0x49, "INT" }, { 0x4a, "BININT" },
        { 0x4b, "BININT1" }, { 0x4c, "LONG" }, { 0x4d, "BININT2" }, { 0x4e, "NONE" },
        { 0x50, "PERSID" }, { 0x51, "BINPERSID" }, { 0x52, "REDUCE" }, { 0x53, "STRING" },
        { 0x54, "BINSTRING" }, { 0x55, "SHORT_BINSTRING" }, { 0x56, "UNICODE" },
        { 0x58, "BINUNICODE" }, { 0x61, "APPEND" }, { 0x62, "BUILD" }, { 0x63, "GLOBAL" },
        { 0x64, "DICT" }, { 0x7d, "EMPTY_DICT" }, { 0x65, "APPENDS" }, { 0x67, "GET" },
        { 0x68, "BINGET" }, { 0x69, "INST" }, { 0x6a, "LONG_BINGET" }, { 0x6c, "LIST" },
        { 0x5d, "EMPTY_LIST" }, { 0x6f, "OBJ" }, { 0x70, "PUT" }, { 0x71, "BINPUT" },
        { 0x72, "LONG_BINPUT" }, { 0x73, "SETITEM" }, { 0x74, "TUPLE" },
        { 0x29, "EMPTY_TUPLE" }, { 0x75, "SETITEMS" }, { 0x47, "BINFLOAT" },
        { 0x80, "PROTO" }, { 0x81, "NEWOBJ" }, { 0x82, "EXT1" }, { 0x83, "EXT2" },
        { 0x84, "EXT4" }, { 0x85, "TUPLE1" }, { 0x86, "TUPLE2" }, { 0x87, "TUPLE3" },
        { 0x88, "NEWTRUE" }, { 0x89, "NEWFALSE" }, { 0x8a, "LONG1" }, { 0x8b, "LONG4" },
        { 0x42, "BINBYTES" }, { 0x43, "SHORT_BINBYTES" }, { 0x8c, "SHORT_BINUNICODE" },
        { 0x8d, "BINUNICODE8" }, { 0x8e, "BINBYTES8" }, { 0x8f, "EMPTY_SET" },
        { 0x90, "ADDITEMS" }, { 0x91, "FROZENSET" }, { 0x92, "NEWOBJ_EX" },
        { 0x93, "STACK_GLOBAL" }, { 0x94, "MEMOIZE" }, { 0x95, "FRAME" },
        { 0x96, "BYTEARRAY8" }, { 0x97, "NEXT_BUFFER" }, { 0x98, "READONLY_BUFFER" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].op == op)
            return names[i].name;
    return "unknown opcode";
}

/* Fails naming the file, the opcode being run, its offset and the problem. */
static dc_status dc_pk_fail(dc_pk_parser *ps, dc_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static dc_status dc_pk_fail(dc_pk_parser *ps, dc_status code, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dc_fail(ps->err, code, "%s: pickle opcode 0x%02x (%s) at offset %zu: %s", ps->name,
                   ps->op, dc_pk_opname(ps->op), ps->op_at, what);
}

/* ---- the arena ---------------------------------------------------------- */

static bool dc_pk_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *p = dc_realloc(*arr, c * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = c;
    return true;
}

static dc_status dc_pk_nomem(dc_pk_parser *ps)
{
    return dc_pk_fail(ps, DC_ERR_NOMEM, "out of memory");
}

/* A new value of the given kind, owned by the arena; NULL (err filled) on failure. */
static dc_pickle_value *dc_pk_new(dc_pk_parser *ps, dc_pickle_kind kind, int internal)
{
    dc_pickle *pk = ps->pk;
    if (pk->nvalues >= DC_PK_MAX_VALUES) {
        dc_pk_fail(ps, DC_ERR_FORMAT, "more than %u values: not %s", DC_PK_MAX_VALUES,
                   ps->what);
        return NULL;
    }
    if (!dc_pk_grow((void **)&pk->values, &pk->cap_values, pk->nvalues + 1,
                    sizeof *pk->values)) {
        dc_pk_nomem(ps);
        return NULL;
    }
    dc_pickle_value *v = dc_calloc(1, sizeof *v);
    if (!v) {
        dc_pk_nomem(ps);
        return NULL;
    }
    v->kind = kind;
    v->internal = internal;
    pk->values[pk->nvalues++] = v;
    return v;
}

/* Stores item in slot `slot` of container v (a list, tuple or dict), growing it. */
static dc_status dc_pk_set_slot(dc_pk_parser *ps, dc_pickle_value *v, size_t slot,
                                dc_pickle_value *item)
{
    if (ps->pk->nitems >= DC_PK_MAX_ITEMS)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "more than %u container items: not %s",
                          DC_PK_MAX_ITEMS, ps->what);
    size_t before = v->cap;
    if (!dc_pk_grow((void **)&v->items, &v->cap, slot + 1, sizeof *v->items))
        return dc_pk_nomem(ps);
    ps->pk->nitems += v->cap - before;
    v->items[slot] = item;
    return DC_OK;
}

/* Appends item to a list or tuple. */
static dc_status dc_pk_add_item(dc_pk_parser *ps, dc_pickle_value *v, dc_pickle_value *item)
{
    dc_status st = dc_pk_set_slot(ps, v, v->count, item);
    if (st == DC_OK)
        v->count++;
    return st;
}

/* ---- the stack ---------------------------------------------------------- */

static dc_status dc_pk_push(dc_pk_parser *ps, dc_pickle_value *v)
{
    if (!v)
        return ps->err ? ps->err->code : DC_ERR_NOMEM;
    if (ps->sp >= ps->max_stack)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "nested too deep: more than %zu unfinished "
                          "values on the stack (not %s)", ps->max_stack, ps->what);
    if (!dc_pk_grow((void **)&ps->stack, &ps->cap_stack, ps->sp + 1, sizeof *ps->stack))
        return dc_pk_nomem(ps);
    ps->stack[ps->sp++] = v;
    return DC_OK;
}

/* Checks that the stack holds k values above the last mark (if any). */
static dc_status dc_pk_need(dc_pk_parser *ps, size_t k)
{
    size_t floor = ps->nmarks ? ps->marks[ps->nmarks - 1] : 0;
    if (ps->sp - floor < k)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "needs %zu value%s on the stack, %zu there",
                          k, k == 1 ? "" : "s", ps->sp - floor);
    return DC_OK;
}

/* Pops the last mark; *first receives the stack index of the first value above it. */
static dc_status dc_pk_pop_mark(dc_pk_parser *ps, size_t *first)
{
    if (ps->nmarks == 0)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "no MARK before it");
    *first = ps->marks[--ps->nmarks];
    return DC_OK;
}

/* ---- reading arguments -------------------------------------------------- */

static dc_status dc_pk_take(dc_pk_parser *ps, size_t k, const uint8_t **p)
{
    *p = NULL;
    if (ps->n - ps->pos < k)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "truncated: needs %zu bytes, %zu remain", k,
                          ps->n - ps->pos);
    *p = ps->buf + ps->pos;
    ps->pos += k;
    return DC_OK;
}

static uint32_t dc_pk_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads an unsigned little-endian length of width bytes (1, 2 or 4). */
static dc_status dc_pk_uarg(dc_pk_parser *ps, int width, uint32_t *out)
{
    const uint8_t *p;
    dc_status st = dc_pk_take(ps, (size_t)width, &p);
    if (st != DC_OK)
        return st;
    *out = width == 1 ? p[0] : width == 2 ? (uint32_t)(p[0] | p[1] << 8) : dc_pk_le32(p);
    return DC_OK;
}

/* Pushes a byte string (kind BYTES or TEXT) of len bytes that follow in the buffer. */
static dc_status dc_pk_string(dc_pk_parser *ps, dc_pickle_kind kind, size_t len)
{
    const uint8_t *p;
    dc_status st = dc_pk_take(ps, len, &p);
    if (st != DC_OK)
        return st;
    dc_pickle_value *v = dc_pk_new(ps, kind, 0);
    if (!v)
        return ps->err->code;
    v->bytes = p;
    v->len = len;
    return dc_pk_push(ps, v);
}

/* Reads one "name\n" line of a GLOBAL into buf. */
static dc_status dc_pk_line(dc_pk_parser *ps, char *buf, size_t cap)
{
    size_t start = ps->pos;
    while (ps->pos < ps->n && ps->buf[ps->pos] != '\n' && ps->pos - start < cap - 1)
        ps->pos++;
    if (ps->pos >= ps->n)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "truncated: the global's name has no end");
    if (ps->buf[ps->pos] != '\n')
        return dc_pk_fail(ps, DC_ERR_FORMAT, "a global's name longer than %zu bytes", cap - 1);
    size_t len = ps->pos - start;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = ps->buf[start + i];
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    buf[len] = '\0';
    ps->pos++;
    return DC_OK;
}

/* ---- helpers on values -------------------------------------------------- */

bool dc_pickle_is_string(const dc_pickle_value *v)
{
    return v && (v->kind == DC_PK_BYTES || v->kind == DC_PK_TEXT);
}

static bool dc_pk_str_eq(const dc_pickle_value *v, const char *s)
{
    size_t n = strlen(s);
    return dc_pickle_is_string(v) && v->len == n && memcmp(v->bytes, s, n) == 0;
}

static bool dc_pk_is_int(const dc_pickle_value *v, int64_t want)
{
    return v && (v->kind == DC_PK_INT || v->kind == DC_PK_BOOL) && v->i == want;
}

static bool dc_pk_is_internal(const dc_pickle_value *v, int which)
{
    return v && v->kind == DC_PK_OTHER && v->internal == which;
}

static bool dc_pk_keys_equal(const dc_pickle_value *a, const dc_pickle_value *b)
{
    if (dc_pickle_is_string(a) && dc_pickle_is_string(b))
        return a->kind == b->kind && a->len == b->len &&
               (a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
    if ((a->kind == DC_PK_INT || a->kind == DC_PK_BOOL) &&
        (b->kind == DC_PK_INT || b->kind == DC_PK_BOOL))
        return a->i == b->i;
    return a->kind == DC_PK_NONE && b->kind == DC_PK_NONE;
}

const dc_pickle_value *dc_pickle_dict_get(const dc_pickle_value *d, const char *key)
{
    if (!d || d->kind != DC_PK_DICT)
        return NULL;
    for (size_t j = 0; j < d->count; j++)
        if (dc_pk_str_eq(d->items[2 * j], key))
            return d->items[2 * j + 1];
    return NULL;
}

/* A hash of a dict key consistent with dc_pk_keys_equal (True and 1 hash alike). */
static size_t dc_pk_key_hash(const dc_pickle_value *k)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    if (dc_pickle_is_string(k)) {
        h ^= (uint64_t)k->kind;
        for (size_t i = 0; i < k->len; i++)
            h = (h ^ k->bytes[i]) * 0x100000001b3ull;
    } else if (k->kind == DC_PK_INT || k->kind == DC_PK_BOOL) {
        h = (uint64_t)k->i * 0x9e3779b97f4a7c15ull;
        h ^= h >> 31;
    }
    return (size_t)h;
}

/* The index slot where key is, or the empty slot where it would go. */
static size_t dc_pk_index_find(const dc_pickle_value *d, const dc_pickle_value *key)
{
    size_t mask = d->index_cap - 1, at = dc_pk_key_hash(key) & mask;
    while (d->index[at] && !dc_pk_keys_equal(d->items[2 * (d->index[at] - 1)], key))
        at = (at + 1) & mask;
    return at;
}

/* Grows d's index so that it holds count + 1 keys at most half full. */
static bool dc_pk_index_reserve(dc_pickle_value *d)
{
    if (2 * (d->count + 1) <= d->index_cap)
        return true;
    size_t cap = d->index_cap ? 2 * d->index_cap : 16;
    while (cap < 2 * (d->count + 1))
        cap *= 2;
    size_t *idx = dc_calloc(cap, sizeof *idx);
    if (!idx)
        return false;
    free(d->index);
    d->index = idx;
    d->index_cap = cap;
    for (size_t j = 0; j < d->count; j++)
        d->index[dc_pk_index_find(d, d->items[2 * j])] = j + 1;
    return true;
}

/* d[key] = value, replacing an equal key as Python does. Keys must be strings, ints or
 * None (what a dict of plain data holds). The dict's hash index keeps this O(1). */
static dc_status dc_pk_setitem(dc_pk_parser *ps, dc_pickle_value *d, dc_pickle_value *key,
                               dc_pickle_value *value)
{
    if (d->kind != DC_PK_DICT)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "sets an item of something that is not a dict");
    if (!dc_pickle_is_string(key) && key->kind != DC_PK_INT && key->kind != DC_PK_BOOL &&
        key->kind != DC_PK_NONE)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "a dict key that is not a string or an int");
    if (!dc_pk_index_reserve(d))
        return dc_pk_nomem(ps);
    size_t at = dc_pk_index_find(d, key);
    if (d->index[at]) {
        d->items[2 * (d->index[at] - 1) + 1] = value;
        return DC_OK;
    }
    dc_status st = dc_pk_set_slot(ps, d, 2 * d->count, key);
    if (st == DC_OK)
        st = dc_pk_set_slot(ps, d, 2 * d->count + 1, value);
    if (st == DC_OK)
        d->index[at] = ++d->count;
    return st;
}

/* ---- the recognised callables ------------------------------------------- */

/* _codecs.encode(text, 'latin1'): the UTF-8 text's code points, each below 256, as bytes. */
static dc_status dc_pk_latin1(dc_pk_parser *ps, const dc_pickle_value *args,
                              dc_pickle_value **out)
{
    if (args->count != 2 || args->items[0]->kind != DC_PK_TEXT ||
        !dc_pk_str_eq(args->items[1], "latin1"))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_codecs.encode is accepted only as "
                          "encode(text, 'latin1')");
    const dc_pickle_value *t = args->items[0];
    dc_pickle *pk = ps->pk;
    if (!dc_pk_grow((void **)&pk->blobs, &pk->cap_blobs, pk->nblobs + 1, sizeof *pk->blobs))
        return dc_pk_nomem(ps);
    uint8_t *bytes = dc_malloc(t->len ? t->len : 1);
    if (!bytes)
        return dc_pk_nomem(ps);
    pk->blobs[pk->nblobs++] = bytes;
    size_t k = 0;
    for (size_t i = 0; i < t->len; i++) {
        uint8_t c = t->bytes[i];
        if (c < 0x80) {
            bytes[k++] = c;
        } else if ((c == 0xc2 || c == 0xc3) && i + 1 < t->len &&
                   (t->bytes[i + 1] & 0xc0) == 0x80) {
            bytes[k++] = (uint8_t)(((c & 0x03) << 6) | (t->bytes[i + 1] & 0x3f));
            i++;
        } else {
            return dc_pk_fail(ps, DC_ERR_FORMAT, "text to encode as latin1 has a character "
                              "above U+00FF or bad UTF-8 at byte %zu", i);
        }
    }
    dc_pickle_value *v = dc_pk_new(ps, DC_PK_BYTES, 0);
    if (!v)
        return ps->err->code;
    v->bytes = bytes;
    v->len = k;
    *out = v;
    return DC_OK;
}

/* numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'): an empty array. */
static dc_status dc_pk_reconstruct(dc_pk_parser *ps, const dc_pickle_value *args,
                                   dc_pickle_value **out)
{
    if (args->count != 3 || !dc_pk_is_internal(args->items[0], DC_PKI_NDARRAY) ||
        args->items[1]->kind != DC_PK_TUPLE || args->items[1]->count != 1 ||
        !dc_pk_is_int(args->items[1]->items[0], 0) || !dc_pk_str_eq(args->items[2], "b"))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_reconstruct is accepted only as "
                          "_reconstruct(numpy.ndarray, (0,), b'b')");
    *out = dc_pk_new(ps, DC_PK_OTHER, DC_PKI_EMPTY_ARRAY);
    return *out ? DC_OK : ps->err->code;
}

/* numpy.dtype('u1', 0, 1): the uint8 dtype (False/True in Python 3's pickles). */
static dc_status dc_pk_dtype(dc_pk_parser *ps, const dc_pickle_value *args,
                             dc_pickle_value **out)
{
    if (args->count != 3 || !dc_pickle_is_string(args->items[0]) ||
        !dc_pk_is_int(args->items[1], 0) || !dc_pk_is_int(args->items[2], 1))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "numpy.dtype is accepted only as "
                          "dtype(name, False, True)");
    const dc_pickle_value *name = args->items[0];
    if (!dc_pk_str_eq(name, "u1")) {
        char shown[24];
        size_t n = name->len < sizeof shown - 1 ? name->len : sizeof shown - 1;
        for (size_t i = 0; i < n; i++)
            shown[i] = (name->bytes[i] >= 0x20 && name->bytes[i] < 0x7f) ? (char)name->bytes[i]
                                                                         : '?';
        shown[n] = '\0';
        return dc_pk_fail(ps, DC_ERR_UNSUPPORTED, "dtype '%s' is not supported (uint8 'u1' "
                          "only)", shown);
    }
    *out = dc_pk_new(ps, DC_PK_OTHER, DC_PKI_DTYPE_U1);
    return *out ? DC_OK : ps->err->code;
}

/* ---- the torch profile ------------------------------------------------- */

static const struct {
    const char *storage;  /* the class name after "torch." */
    const char *name;
    size_t size;
} dc_pk_dtypes[] = {
    [DC_PK_DT_NONE] = { "", "none", 0 },
    [DC_PK_DT_FLOAT32] = { "FloatStorage", "float32", 4 },
    [DC_PK_DT_FLOAT64] = { "DoubleStorage", "float64", 8 },
    [DC_PK_DT_FLOAT16] = { "HalfStorage", "float16", 2 },
    [DC_PK_DT_BFLOAT16] = { "BFloat16Storage", "bfloat16", 2 },
    [DC_PK_DT_INT64] = { "LongStorage", "int64", 8 },
    [DC_PK_DT_INT32] = { "IntStorage", "int32", 4 },
    [DC_PK_DT_INT16] = { "ShortStorage", "int16", 2 },
    [DC_PK_DT_INT8] = { "CharStorage", "int8", 1 },
    [DC_PK_DT_UINT8] = { "ByteStorage", "uint8", 1 },
    [DC_PK_DT_BOOL] = { "BoolStorage", "bool", 1 },
    [DC_PK_DT_COMPLEX64] = { "ComplexFloatStorage", "complex64", 8 },
    [DC_PK_DT_COMPLEX128] = { "ComplexDoubleStorage", "complex128", 16 },
    [DC_PK_DT_QUANTIZED] = { "QInt8Storage", "a quantized type", 1 },
};

const char *dc_pickle_dtype_storage_name(dc_pickle_dtype dt)
{
    return (unsigned)dt < sizeof dc_pk_dtypes / sizeof dc_pk_dtypes[0]
               ? dc_pk_dtypes[dt].storage : "";
}

const char *dc_pickle_dtype_name(dc_pickle_dtype dt)
{
    return (unsigned)dt < sizeof dc_pk_dtypes / sizeof dc_pk_dtypes[0]
               ? dc_pk_dtypes[dt].name : "unknown";
}

size_t dc_pickle_dtype_size(dc_pickle_dtype dt)
{
    return (unsigned)dt < sizeof dc_pk_dtypes / sizeof dc_pk_dtypes[0]
               ? dc_pk_dtypes[dt].size : 0;
}

/* The dtype of a storage class name ("FloatStorage"), DC_PK_DT_NONE when unknown. The
 * quantized ones are known only to be refused later with a clear message. */
static dc_pickle_dtype dc_pk_storage_dtype(const char *name)
{
    for (size_t i = 1; i < sizeof dc_pk_dtypes / sizeof dc_pk_dtypes[0]; i++)
        if (strcmp(name, dc_pk_dtypes[i].storage) == 0)
            return (dc_pickle_dtype)i;
    static const char *const quantized[] = { "QUInt8Storage", "QInt32Storage",
                                             "QUInt4x2Storage", "QUInt2x4Storage" };
    for (size_t i = 0; i < sizeof quantized / sizeof quantized[0]; i++)
        if (strcmp(name, quantized[i]) == 0)
            return DC_PK_DT_QUANTIZED;
    return DC_PK_DT_NONE;
}

/* Whether v is a non-negative int no larger than max. */
static bool dc_pk_is_count(const dc_pickle_value *v, int64_t max)
{
    return v && v->kind == DC_PK_INT && v->i >= 0 && v->i <= max;
}

/* A storage key names a zip record (<prefix>/data/<key>): digits, letters, '_' only, so
 * that no key can reach another record. */
static bool dc_pk_storage_key_ok(const dc_pickle_value *v)
{
    if (!dc_pickle_is_string(v) || v->len == 0 || v->len > 64)
        return false;
    for (size_t i = 0; i < v->len; i++) {
        uint8_t c = v->bytes[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_'))
            return false;
    }
    return true;
}

/* BINPERSID: ('storage', torch.<T>Storage, key, location, numel) as torch.save's zip format
 * writes it, or the legacy format's ('storage', type, key, location, numel, None). */
static dc_status dc_pk_persid(dc_pk_parser *ps)
{
    dc_status st = dc_pk_need(ps, 1);
    if (st != DC_OK)
        return st;
    const dc_pickle_value *pid = ps->stack[--ps->sp];
    if (pid->kind != DC_PK_TUPLE || (pid->count != 5 && pid->count != 6) ||
        !dc_pk_str_eq(pid->items[0], "storage"))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "a persistent id that is not ('storage', type, "
                          "key, location, numel)");
    const dc_pickle_value *type = pid->items[1], *key = pid->items[2], *loc = pid->items[3];
    if (!dc_pk_is_internal(type, DC_PKI_STORAGE_TYPE))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "a persistent id whose type is not a torch "
                          "storage class");
    if (!dc_pk_storage_key_ok(key))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "a storage key that is not 1 to 64 letters, "
                          "digits or '_'");
    if (!dc_pickle_is_string(loc))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "a storage location that is not a string");
    /* 2^50 elements: more than any file we could read, small enough that numel times an
     * element size never overflows */
    if (!dc_pk_is_count(pid->items[4], (int64_t)1 << 50))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "storage '%.*s' declares %lld elements: not a "
                          "valid size", (int)key->len, (const char *)key->bytes,
                          pid->items[4]->kind == DC_PK_INT ? (long long)pid->items[4]->i : -1LL);
    if (pid->count == 6 && pid->items[5]->kind != DC_PK_NONE)
        return dc_pk_fail(ps, DC_ERR_UNSUPPORTED, "storage '%.*s' is a view of another "
                          "storage (view_metadata of torch < 0.4 files): not supported",
                          (int)key->len, (const char *)key->bytes);
    dc_pickle_value *v = dc_pk_new(ps, DC_PK_STORAGE, 0);
    if (!v)
        return ps->err->code;
    v->bytes = key->bytes;
    v->len = key->len;
    v->dtype = type->dtype;
    v->i = pid->items[4]->i;
    dc_pickle *pk = ps->pk;
    if (!dc_pk_grow((void **)&pk->storages, &pk->cap_storages, pk->nstorages + 1,
                    sizeof *pk->storages))
        return dc_pk_nomem(ps);
    pk->storages[pk->nstorages++] = v;
    return dc_pk_push(ps, v);
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
 * [, metadata]): a tensor's description; requires_grad, the hooks (an empty OrderedDict in
 * every file torch writes) and the metadata dict do not matter for inference. */
static dc_status dc_pk_rebuild_tensor(dc_pk_parser *ps, const dc_pickle_value *args,
                                      dc_pickle_value **out)
{
    if (args->count != 6 && args->count != 7)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_rebuild_tensor_v2 with %zu arguments (6 or 7 "
                          "expected)", args->count);
    dc_pickle_value *const *a = args->items;
    if (a[0]->kind != DC_PK_STORAGE)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_rebuild_tensor_v2 of something that is not a "
                          "storage");
    if (!dc_pk_is_count(a[1], (int64_t)1 << 50))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_rebuild_tensor_v2: the storage offset is not "
                          "an int in [0, 2^50]");
    const dc_pickle_value *size = a[2], *stride = a[3];
    if (size->kind != DC_PK_TUPLE || stride->kind != DC_PK_TUPLE ||
        size->count != stride->count || size->count > DC_PICKLE_MAX_TENSOR_DIMS)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_rebuild_tensor_v2: size and stride must be "
                          "tuples of the same length, at most %d", DC_PICKLE_MAX_TENSOR_DIMS);
    if (a[4]->kind != DC_PK_BOOL && a[4]->kind != DC_PK_INT)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_rebuild_tensor_v2: requires_grad is not a bool");
    if (a[5]->kind != DC_PK_DICT || (args->count == 7 && a[6]->kind != DC_PK_DICT))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "_rebuild_tensor_v2: backward_hooks and "
                          "metadata must be dicts");
    size_t nd = size->count;
    dc_pickle *pk = ps->pk;
    if (!dc_pk_grow((void **)&pk->blobs, &pk->cap_blobs, pk->nblobs + 1, sizeof *pk->blobs))
        return dc_pk_nomem(ps);
    int64_t *dims = dc_malloc((2 * nd + 1) * sizeof *dims);
    if (!dims)
        return dc_pk_nomem(ps);
    pk->blobs[pk->nblobs++] = (uint8_t *)dims;
    for (size_t d = 0; d < nd; d++) {
        /* 2^40 per dimension: checked again against the storage by the caller */
        if (!dc_pk_is_count(size->items[d], (int64_t)1 << 40) ||
            !dc_pk_is_count(stride->items[d], (int64_t)1 << 40))
            return dc_pk_fail(ps, DC_ERR_FORMAT, "_rebuild_tensor_v2: size or stride %zu is "
                              "not an int in [0, 2^40]", d);
        dims[d] = size->items[d]->i;
        dims[nd + d] = stride->items[d]->i;
    }
    dc_pickle_value *t = dc_pk_new(ps, DC_PK_TENSOR, 0);
    if (!t)
        return ps->err->code;
    dc_status st = dc_pk_add_item(ps, t, a[0]);
    if (st != DC_OK)
        return st;
    t->i = a[1]->i;
    t->ndim = (int)nd;
    t->dims = dims;
    *out = t;
    return DC_OK;
}

static dc_status dc_pk_reduce(dc_pk_parser *ps)
{
    dc_status st = dc_pk_need(ps, 2);
    if (st != DC_OK)
        return st;
    dc_pickle_value *args = ps->stack[--ps->sp];
    dc_pickle_value *fn = ps->stack[--ps->sp];
    if (args->kind != DC_PK_TUPLE)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "arguments that are not a tuple");
    dc_pickle_value *v = NULL;
    if (dc_pk_is_internal(fn, DC_PKI_CODECS_ENCODE))
        st = dc_pk_latin1(ps, args, &v);
    else if (dc_pk_is_internal(fn, DC_PKI_RECONSTRUCT))
        st = dc_pk_reconstruct(ps, args, &v);
    else if (dc_pk_is_internal(fn, DC_PKI_DTYPE_CLASS))
        st = dc_pk_dtype(ps, args, &v);
    else if (dc_pk_is_internal(fn, DC_PKI_REBUILD_TENSOR))
        st = dc_pk_rebuild_tensor(ps, args, &v);
    else if (dc_pk_is_internal(fn, DC_PKI_ORDERED_DICT)) {
        if (args->count != 0)
            return dc_pk_fail(ps, DC_ERR_FORMAT, "OrderedDict is accepted only as "
                              "OrderedDict()");
        v = dc_pk_new(ps, DC_PK_DICT, 0);
        st = v ? DC_OK : ps->err->code;
    } else
        return dc_pk_fail(ps, DC_ERR_FORMAT, "calls something other than %s",
                          ps->profile == DC_PICKLE_TORCH
                              ? "_rebuild_tensor_v2, OrderedDict, _codecs.encode, numpy's "
                                "_reconstruct or numpy.dtype"
                              : "_codecs.encode, numpy's _reconstruct or numpy.dtype");
    return st == DC_OK ? dc_pk_push(ps, v) : st;
}

/* BUILD on the empty array: state (1, shape, dtype, fortran, raw), the version optional. */
static dc_status dc_pk_build_array(dc_pk_parser *ps, dc_pickle_value *a,
                                   const dc_pickle_value *state)
{
    if (state->kind != DC_PK_TUPLE || (state->count != 5 && state->count != 4))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "an array state that is not (version, shape, "
                          "dtype, fortran_order, data)");
    dc_pickle_value *const *s = state->items + (state->count == 5 ? 1 : 0);
    if (state->count == 5 && !dc_pk_is_int(state->items[0], 1))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "an array state of unknown version");
    const dc_pickle_value *shape = s[0], *dtype = s[1], *fortran = s[2], *raw = s[3];
    if (!dc_pk_is_internal(dtype, DC_PKI_DTYPE_U1))
        return dc_pk_fail(ps, DC_ERR_UNSUPPORTED, "an array whose dtype is not uint8");
    if (!(fortran->kind == DC_PK_BOOL || fortran->kind == DC_PK_INT))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "an array state whose fortran_order is not a bool");
    if (fortran->i != 0)
        return dc_pk_fail(ps, DC_ERR_UNSUPPORTED, "a Fortran-order array (C order only)");
    if (raw->kind != DC_PK_BYTES)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "an array state whose data is not a byte string");
    if (shape->kind != DC_PK_TUPLE || shape->count > DC_PICKLE_MAX_DIMS)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "an array shape that is not a tuple of at most %d "
                          "ints", DC_PICKLE_MAX_DIMS);
    uint64_t count = 1;
    for (size_t d = 0; d < shape->count; d++) {
        const dc_pickle_value *dim = shape->items[d];
        if (dim->kind != DC_PK_INT || dim->i < 0 || dim->i > (int64_t)1 << 40)
            return dc_pk_fail(ps, DC_ERR_FORMAT, "array dimension %zu is not a valid size", d);
        count = dim->i == 0 || count == 0 ? 0 : count * (uint64_t)dim->i;
        if (count > ((uint64_t)1 << 40))
            return dc_pk_fail(ps, DC_ERR_FORMAT, "an array too large to be real");
        a->shape[d] = dim->i;
    }
    if (count != raw->len)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "the array's shape holds %llu bytes but its data "
                          "has %zu", (unsigned long long)count, raw->len);
    a->kind = DC_PK_ARRAY;
    a->internal = 0;
    a->ndim = (int)shape->count;
    a->bytes = raw->bytes;
    a->len = raw->len;
    return DC_OK;
}

static dc_status dc_pk_build(dc_pk_parser *ps)
{
    dc_status st = dc_pk_need(ps, 2);
    if (st != DC_OK)
        return st;
    dc_pickle_value *state = ps->stack[--ps->sp];
    dc_pickle_value *obj = ps->stack[ps->sp - 1];
    if (dc_pk_is_internal(obj, DC_PKI_EMPTY_ARRAY))
        return dc_pk_build_array(ps, obj, state);
    if (dc_pk_is_internal(obj, DC_PKI_DTYPE_U1)) {
        /* (3, '|', None, None, None, -1, -1, 0): only the byte order matters, and for a
         * one-byte type every order means the same. */
        if (state->kind != DC_PK_TUPLE || state->count < 2 ||
            state->items[0]->kind != DC_PK_INT || !dc_pickle_is_string(state->items[1]) ||
            state->items[1]->len != 1 || !strchr("|<>=", state->items[1]->bytes[0]))
            return dc_pk_fail(ps, DC_ERR_FORMAT, "a dtype state that is not (version, "
                              "byteorder, ...)");
        return DC_OK;
    }
    if (ps->profile == DC_PICKLE_TORCH && obj->kind == DC_PK_DICT) {
        /* an OrderedDict's attributes (a state_dict's _metadata: versions of its modules) */
        if (state->kind != DC_PK_DICT && state->kind != DC_PK_NONE)
            return dc_pk_fail(ps, DC_ERR_FORMAT, "builds a dict from a state that is not a "
                              "dict");
        return DC_OK;
    }
    return dc_pk_fail(ps, DC_ERR_FORMAT, "builds something other than %s",
                      ps->profile == DC_PICKLE_TORCH ? "an OrderedDict, a NumPy array or dtype"
                                                     : "a NumPy array or dtype");
}

/* GLOBAL: only the five names of pickle.h, as internal values. */
static dc_status dc_pk_global(dc_pk_parser *ps)
{
    static const struct {
        const char *module, *name;
        int which;
    } known[] = {
        { "_codecs", "encode", DC_PKI_CODECS_ENCODE },
        { "numpy.core.multiarray", "_reconstruct", DC_PKI_RECONSTRUCT },
        { "numpy._core.multiarray", "_reconstruct", DC_PKI_RECONSTRUCT },
        { "numpy", "ndarray", DC_PKI_NDARRAY },
        { "numpy", "dtype", DC_PKI_DTYPE_CLASS },
    };
    char module[DC_PK_MAX_GLOBAL], name[DC_PK_MAX_GLOBAL];
    dc_status st = dc_pk_line(ps, module, sizeof module);
    if (st == DC_OK)
        st = dc_pk_line(ps, name, sizeof name);
    if (st != DC_OK)
        return st;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(module, known[i].module) == 0 && strcmp(name, known[i].name) == 0)
            return dc_pk_push(ps, dc_pk_new(ps, DC_PK_OTHER, known[i].which));
    if (ps->profile == DC_PICKLE_TORCH) {
        if (strcmp(module, "torch._utils") == 0 && strcmp(name, "_rebuild_tensor_v2") == 0)
            return dc_pk_push(ps, dc_pk_new(ps, DC_PK_OTHER, DC_PKI_REBUILD_TENSOR));
        if (strcmp(module, "collections") == 0 && strcmp(name, "OrderedDict") == 0)
            return dc_pk_push(ps, dc_pk_new(ps, DC_PK_OTHER, DC_PKI_ORDERED_DICT));
        dc_pickle_dtype dt = strcmp(module, "torch") == 0 ? dc_pk_storage_dtype(name)
                                                          : DC_PK_DT_NONE;
        if (dt != DC_PK_DT_NONE) {
            dc_pickle_value *v = dc_pk_new(ps, DC_PK_OTHER, DC_PKI_STORAGE_TYPE);
            if (v)
                v->dtype = dt;
            return dc_pk_push(ps, v);
        }
        return dc_pk_fail(ps, DC_ERR_FORMAT, "refuses the global %s.%s (a checkpoint may "
                          "name only torch._utils._rebuild_tensor_v2, collections.OrderedDict "
                          "and torch's storage classes; nothing is ever called)", module, name);
    }
    return dc_pk_fail(ps, DC_ERR_FORMAT, "refuses the global %s.%s (only _codecs.encode, "
                      "numpy's _reconstruct, numpy.ndarray and numpy.dtype are accepted)",
                      module, name);
}

/* ---- containers --------------------------------------------------------- */

/* Pops the values above index first into a new tuple. */
static dc_status dc_pk_tuple_from(dc_pk_parser *ps, size_t first)
{
    dc_pickle_value *t = dc_pk_new(ps, DC_PK_TUPLE, 0);
    if (!t)
        return ps->err->code;
    for (size_t i = first; i < ps->sp; i++) {
        dc_status st = dc_pk_add_item(ps, t, ps->stack[i]);
        if (st != DC_OK)
            return st;
    }
    ps->sp = first;
    return dc_pk_push(ps, t);
}

/* APPEND / APPENDS: the values above index first go to the list just below them. */
static dc_status dc_pk_append_from(dc_pk_parser *ps, size_t first)
{
    if (first == 0 || (ps->nmarks && ps->marks[ps->nmarks - 1] >= first))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "no list to append to");
    dc_pickle_value *list = ps->stack[first - 1];
    if (list->kind != DC_PK_LIST)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "appends to something that is not a list");
    for (size_t i = first; i < ps->sp; i++) {
        dc_status st = dc_pk_add_item(ps, list, ps->stack[i]);
        if (st != DC_OK)
            return st;
    }
    ps->sp = first;
    return DC_OK;
}

/* SETITEM / SETITEMS: the key, value pairs above index first go to the dict below them. */
static dc_status dc_pk_setitems_from(dc_pk_parser *ps, size_t first)
{
    if (first == 0 || (ps->nmarks && ps->marks[ps->nmarks - 1] >= first))
        return dc_pk_fail(ps, DC_ERR_FORMAT, "no dict to set items of");
    if ((ps->sp - first) % 2 != 0)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "an odd number of values for key, value pairs");
    dc_pickle_value *d = ps->stack[first - 1];
    for (size_t i = first; i < ps->sp; i += 2) {
        dc_status st = dc_pk_setitem(ps, d, ps->stack[i], ps->stack[i + 1]);
        if (st != DC_OK)
            return st;
    }
    ps->sp = first;
    return DC_OK;
}

/* ---- the memo ----------------------------------------------------------- */

static dc_status dc_pk_put(dc_pk_parser *ps, uint32_t idx)
{
    dc_status st = dc_pk_need(ps, 1);
    if (st != DC_OK)
        return st;
    if (idx >= DC_PK_MAX_MEMO)
        return dc_pk_fail(ps, DC_ERR_FORMAT, "memo index %u is out of range", idx);
    size_t old = ps->cap_memo;
    if (!dc_pk_grow((void **)&ps->memo, &ps->cap_memo, (size_t)idx + 1, sizeof *ps->memo))
        return dc_pk_nomem(ps);
    memset(ps->memo + old, 0, (ps->cap_memo - old) * sizeof *ps->memo);
    ps->memo[idx] = ps->stack[ps->sp - 1];
    return DC_OK;
}

static dc_status dc_pk_get(dc_pk_parser *ps, uint32_t idx)
{
    if (idx >= ps->cap_memo || !ps->memo[idx])
        return dc_pk_fail(ps, DC_ERR_FORMAT, "memo index %u was never stored", idx);
    return dc_pk_push(ps, ps->memo[idx]);
}

/* ---- the machine -------------------------------------------------------- */

static dc_status dc_pk_int(dc_pk_parser *ps, int64_t i)
{
    dc_pickle_value *v = dc_pk_new(ps, DC_PK_INT, 0);
    if (!v)
        return ps->err->code;
    v->i = i;
    return dc_pk_push(ps, v);
}

/* BINFLOAT: 8 bytes, big-endian. */
static dc_status dc_pk_binfloat(dc_pk_parser *ps)
{
    const uint8_t *p;
    dc_status st = dc_pk_take(ps, 8, &p);
    if (st != DC_OK)
        return st;
    uint64_t bits = 0;
    for (int k = 0; k < 8; k++)
        bits = bits << 8 | p[k];
    dc_pickle_value *v = dc_pk_new(ps, DC_PK_FLOAT, 0);
    if (!v)
        return ps->err->code;
    memcpy(&v->f, &bits, sizeof v->f);
    return dc_pk_push(ps, v);
}

/* LONG1: a length byte, then that many bytes of a little-endian two's complement int; only
 * ints that fit in 64 bits are accepted. */
static dc_status dc_pk_long1(dc_pk_parser *ps)
{
    uint32_t n;
    const uint8_t *p;
    dc_status st = dc_pk_uarg(ps, 1, &n);
    if (st == DC_OK)
        st = dc_pk_take(ps, n, &p);
    if (st != DC_OK)
        return st;
    if (n > 8)
        return dc_pk_fail(ps, DC_ERR_UNSUPPORTED, "an int of %u bytes (at most 8 are read)",
                          n);
    uint64_t u = 0;
    for (uint32_t k = 0; k < n; k++)
        u |= (uint64_t)p[k] << (8 * k);
    if (n > 0 && n < 8 && (p[n - 1] & 0x80))
        u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    int64_t i;
    memcpy(&i, &u, sizeof i);
    return dc_pk_int(ps, i);
}

/* Runs one opcode; *stop is set by STOP. */
static dc_status dc_pk_step(dc_pk_parser *ps, bool *stop)
{
    ps->op_at = ps->pos;
    ps->op = ps->buf[ps->pos++];
    uint32_t u = 0;
    size_t first = 0;
    dc_status st;
    switch (ps->op) {
    case 0x80: /* PROTO */
        if ((st = dc_pk_uarg(ps, 1, &u)) != DC_OK)
            return st;
        if (u != 2 && u != 3)
            return dc_pk_fail(ps, DC_ERR_UNSUPPORTED, "protocol %u (only 2 and 3, as %s)", u,
                              ps->profile == DC_PICKLE_TORCH
                                  ? "torch.save writes by default"
                                  : "the CIFAR-10 files use");
        return DC_OK;
    case 0x2e: /* STOP */
        if ((st = dc_pk_need(ps, 1)) != DC_OK)
            return st;
        if (ps->nmarks)
            return dc_pk_fail(ps, DC_ERR_FORMAT, "a MARK was never closed");
        ps->pk->root = ps->stack[ps->sp - 1];
        *stop = true;
        return DC_OK;
    case 0x28: /* MARK */
        if (ps->nmarks >= ps->max_marks)
            return dc_pk_fail(ps, DC_ERR_FORMAT, "nested too deep: more than %zu open MARKs "
                              "(not %s)", ps->max_marks, ps->what);
        if (!dc_pk_grow((void **)&ps->marks, &ps->cap_marks, ps->nmarks + 1, sizeof *ps->marks))
            return dc_pk_nomem(ps);
        ps->marks[ps->nmarks++] = ps->sp;
        return DC_OK;
    case 0x7d: /* EMPTY_DICT */
        return dc_pk_push(ps, dc_pk_new(ps, DC_PK_DICT, 0));
    case 0x5d: /* EMPTY_LIST */
        return dc_pk_push(ps, dc_pk_new(ps, DC_PK_LIST, 0));
    case 0x29: /* EMPTY_TUPLE */
        return dc_pk_tuple_from(ps, ps->sp);
    case 0x74: /* TUPLE */
        if ((st = dc_pk_pop_mark(ps, &first)) != DC_OK)
            return st;
        return dc_pk_tuple_from(ps, first);
    case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
        if ((st = dc_pk_need(ps, ps->op - 0x84u)) != DC_OK)
            return st;
        return dc_pk_tuple_from(ps, ps->sp - (ps->op - 0x84u));
    case 0x61: /* APPEND */
        if ((st = dc_pk_need(ps, 1)) != DC_OK)
            return st;
        return dc_pk_append_from(ps, ps->sp - 1);
    case 0x65: /* APPENDS */
        if ((st = dc_pk_pop_mark(ps, &first)) != DC_OK)
            return st;
        return dc_pk_append_from(ps, first);
    case 0x73: /* SETITEM */
        if ((st = dc_pk_need(ps, 2)) != DC_OK)
            return st;
        return dc_pk_setitems_from(ps, ps->sp - 2);
    case 0x75: /* SETITEMS */
        if ((st = dc_pk_pop_mark(ps, &first)) != DC_OK)
            return st;
        return dc_pk_setitems_from(ps, first);
    case 0x71: /* BINPUT */
    case 0x72: /* LONG_BINPUT */
        if ((st = dc_pk_uarg(ps, ps->op == 0x71 ? 1 : 4, &u)) != DC_OK)
            return st;
        return dc_pk_put(ps, u);
    case 0x68: /* BINGET */
    case 0x6a: /* LONG_BINGET */
        if ((st = dc_pk_uarg(ps, ps->op == 0x68 ? 1 : 4, &u)) != DC_OK)
            return st;
        return dc_pk_get(ps, u);
    case 0x4b: /* BININT1 */
    case 0x4d: /* BININT2 */
        if ((st = dc_pk_uarg(ps, ps->op == 0x4b ? 1 : 2, &u)) != DC_OK)
            return st;
        return dc_pk_int(ps, u);
    case 0x4a: /* BININT: signed */
        if ((st = dc_pk_uarg(ps, 4, &u)) != DC_OK)
            return st;
        return dc_pk_int(ps, u >= 0x80000000u ? (int64_t)u - 0x100000000ll : (int64_t)u);
    case 0x4e: /* NONE */
        return dc_pk_push(ps, &dc_pk_none);
    case 0x88: /* NEWTRUE */
        return dc_pk_push(ps, &dc_pk_true);
    case 0x89: /* NEWFALSE */
        return dc_pk_push(ps, &dc_pk_false);
    case 0x55: /* SHORT_BINSTRING */
    case 0x43: /* SHORT_BINBYTES */
        if ((st = dc_pk_uarg(ps, 1, &u)) != DC_OK)
            return st;
        return dc_pk_string(ps, DC_PK_BYTES, u);
    case 0x54: /* BINSTRING: a signed length */
        if ((st = dc_pk_uarg(ps, 4, &u)) != DC_OK)
            return st;
        if (u >= 0x80000000u)
            return dc_pk_fail(ps, DC_ERR_FORMAT, "a negative string length");
        return dc_pk_string(ps, DC_PK_BYTES, u);
    case 0x42: /* BINBYTES */
        if ((st = dc_pk_uarg(ps, 4, &u)) != DC_OK)
            return st;
        return dc_pk_string(ps, DC_PK_BYTES, u);
    case 0x58: /* BINUNICODE */
        if ((st = dc_pk_uarg(ps, 4, &u)) != DC_OK)
            return st;
        return dc_pk_string(ps, DC_PK_TEXT, u);
    case 0x63: /* GLOBAL */
        return dc_pk_global(ps);
    case 0x52: /* REDUCE */
        return dc_pk_reduce(ps);
    case 0x62: /* BUILD */
        return dc_pk_build(ps);
    case 0x51: /* BINPERSID */
        if (ps->profile != DC_PICKLE_TORCH)
            break;
        return dc_pk_persid(ps);
    case 0x47: /* BINFLOAT: a big-endian IEEE double */
        if (ps->profile != DC_PICKLE_TORCH)
            break;
        return dc_pk_binfloat(ps);
    case 0x8a: /* LONG1: a little-endian two's complement int of n bytes */
        if (ps->profile != DC_PICKLE_TORCH)
            break;
        return dc_pk_long1(ps);
    default:
        break;
    }
    return dc_pk_fail(ps, DC_ERR_FORMAT, "opcode not accepted (only the opcodes of %s are "
                      "read)", ps->profile == DC_PICKLE_TORCH ? "torch.save's checkpoints"
                                                               : "the CIFAR-10 Python files");
}

dc_status dc_pickle_parse(const uint8_t *buf, size_t n, const char *name, dc_pickle **out,
                          dc_error *err)
{
    return dc_pickle_parse_profile(buf, n, name, DC_PICKLE_CIFAR, NULL, out, err);
}

dc_status dc_pickle_parse_profile(const uint8_t *buf, size_t n, const char *name,
                                  dc_pickle_profile profile, size_t *used, dc_pickle **out,
                                  dc_error *err)
{
    *out = NULL;
    dc_error local;
    if (!err)
        err = &local;
    dc_pickle *pk = dc_calloc(1, sizeof *pk);
    if (!pk)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", name);
    bool torch = profile == DC_PICKLE_TORCH;
    dc_pk_parser ps = { .pk = pk, .name = name, .buf = buf, .n = n, .err = err,
                        .profile = profile,
                        .max_stack = torch ? DC_PICKLE_TORCH_MAX_STACK : DC_PK_MAX_STACK,
                        .max_marks = torch ? DC_PK_TORCH_MAX_MARKS : DC_PK_MAX_MARKS,
                        .what = torch ? "a checkpoint" : "a CIFAR-10 pickle" };
    dc_status st = DC_OK;
    bool stop = false;
    while (st == DC_OK && !stop) {
        if (ps.pos >= n) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: pickle truncated: ends at offset %zu "
                         "without STOP", name, n);
            break;
        }
        st = dc_pk_step(&ps, &stop);
    }
    free(ps.stack);
    free(ps.marks);
    free(ps.memo);
    if (st == DC_OK && pk->root->kind == DC_PK_OTHER) {
        st = dc_fail(err, DC_ERR_FORMAT, "%s: pickle returns an unfinished value (a global, "
                     "a dtype or a NumPy array without its state)", name);
    }
    if (st == DC_OK && used)
        *used = ps.pos;
    if (st != DC_OK) {
        dc_pickle_free(pk);
        return st;
    }
    *out = pk;
    return DC_OK;
}

dc_status dc_pickle_load(const char *path, size_t max_bytes, dc_pickle **out, dc_error *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    dc_status st = dc_read_whole_file(path, max_bytes, "not a CIFAR-10 pickle", &buf, &len, err);
    if (st == DC_OK)
        st = dc_pickle_parse(buf ? buf : (const uint8_t *)"", len, path, out, err);
    if (st != DC_OK) {
        free(buf);
        return st;
    }
    (*out)->file = buf;
    return DC_OK;
}

const dc_pickle_value *const *dc_pickle_storages(const dc_pickle *p, size_t *n)
{
    *n = p->nstorages;
    return p->storages;
}

const dc_pickle_value *dc_pickle_root(const dc_pickle *p)
{
    return p->root;
}

void dc_pickle_free(dc_pickle *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nvalues; i++) {
        free(p->values[i]->items);
        free(p->values[i]->index);
        free(p->values[i]);
    }
    free(p->values);
    for (size_t i = 0; i < p->nblobs; i++)
        free(p->blobs[i]);
    free(p->blobs);
    free(p->storages);
    free(p->file);
    free(p);
}
