/*
 * pickle.h — a minimal, safe reader for the pickles of the CIFAR-10 Python version
 * (cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta).
 *
 * Those files are dicts of byte strings, ints, lists and one uint8 NumPy array, written by
 * Python 2's cPickle with protocol 2; users who re-saved them from Python 3 have protocol 2
 * or 3 files of the same structure. This reader understands exactly the opcodes such files
 * hold and refuses every other one with a message naming the opcode byte and its offset.
 * It never runs code: GLOBAL is accepted only for the five names below, and REDUCE / BUILD
 * only in the three shapes those names are used in.
 *
 * Accepted opcodes (pickletools names, byte in hex):
 *   PROTO 80 (protocol 2 or 3)   STOP 2e           MARK 28
 *   EMPTY_DICT 7d  EMPTY_LIST 5d  EMPTY_TUPLE 29   TUPLE 74  TUPLE1 85  TUPLE2 86  TUPLE3 87
 *   SETITEM 73  SETITEMS 75  APPEND 61  APPENDS 65
 *   BINPUT 71  LONG_BINPUT 72  BINGET 68  LONG_BINGET 6a
 *   BININT1 4b  BININT2 4d  BININT 4a  NONE 4e  NEWTRUE 88  NEWFALSE 89
 *   SHORT_BINSTRING 55  BINSTRING 54     (Python 2 str: read as bytes, encoding='bytes')
 *   BINUNICODE 58                        (unicode: kept as UTF-8 text)
 *   SHORT_BINBYTES 43  BINBYTES 42       (Python 3 bytes, protocol 3)
 *   GLOBAL 63  REDUCE 52  BUILD 62       (only as below)
 * Accepted globals and their only uses:
 *   _codecs.encode(text, 'latin1')                 -> bytes (Python 3 protocol 2 bytes)
 *   numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') then BUILD with the state
 *       (1, shape, dtype, fortran_order False, raw bytes)    -> a uint8 C-order array
 *       (numpy._core.multiarray._reconstruct, NumPy 2's name for it, is accepted too)
 *   numpy.dtype('u1', 0|False, 1|True) then BUILD with (3, '|', ...) -> the uint8 dtype
 * Anything else (another global, another dtype, a Fortran-order array) is refused.
 *
 * Limits: the file is read whole (at most max_bytes); every length is checked against the
 * bytes that remain; the number of values, memo entries and stack slots is bounded by the
 * file's length, so memory stays within a small multiple of the file size.
 *
 * The torch profile (DC_PICKLE_TORCH, for the data.pkl of a torch.save checkpoint; see
 * docs/convert.md) accepts all of the above and, in addition:
 *   BINPERSID 51     only on ('storage', torch.<T>Storage, key, location, numel) and the
 *                    legacy format's 6-tuple whose last item (view_metadata) is None
 *                    -> a DC_PK_STORAGE value: a reference to raw bytes held outside the
 *                    pickle (a zip record or the legacy file's tail), never read here
 *   BINFLOAT 47      (a double; training checkpoints hold learning rates and losses)
 *   LONG1 8a         of at most 8 bytes
 * and the globals
 *   torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 *       backward_hooks[, metadata])                 -> a DC_PK_TENSOR value
 *   collections.OrderedDict()                       -> an empty dict; BUILD on a dict (the
 *                                                      state_dict's _metadata) is ignored
 *   torch.FloatStorage, torch.LongStorage, ...      (only as the type in a persistent id)
 * Nothing is called: a tensor is a description (storage, offset, shape, strides), and the
 * checkpoint reader (loaders/torch_checkpoint.c) decides what it may read. Its stack is
 * bounded more tightly (DC_PICKLE_TORCH_MAX_STACK unfinished values, 64 open MARKs): a
 * state_dict never nests deeper, so a deeper pickle is refused as nested too deep.
 */
#ifndef DC_PICKLE_H
#define DC_PICKLE_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    DC_PK_NONE,
    DC_PK_BOOL,   /* i is 0 or 1 */
    DC_PK_INT,    /* i */
    DC_PK_BYTES,  /* bytes, len: a Python 2 str or Python 3 bytes (not NUL-terminated) */
    DC_PK_TEXT,   /* bytes, len: a unicode string as UTF-8 (not NUL-terminated) */
    DC_PK_LIST,   /* items[0..count) */
    DC_PK_TUPLE,  /* items[0..count) */
    DC_PK_DICT,   /* items[2*j] is key j, items[2*j + 1] its value, j < count */
    DC_PK_ARRAY,  /* a uint8 C-order NumPy array: shape[0..ndim), bytes holds len bytes */
    DC_PK_OTHER,  /* an internal value (a global, a dtype, a half-built array) */
    /* the torch profile only: */
    DC_PK_FLOAT,  /* f */
    DC_PK_STORAGE,/* a persistent id: key in bytes/len (not NUL-terminated), dtype, i = its
                   * number of elements as the pickle declares it */
    DC_PK_TENSOR  /* _rebuild_tensor_v2: items[0] the DC_PK_STORAGE, i the storage offset
                   * (elements), ndim, dims[0..ndim) the size and dims[ndim..2 ndim) the
                   * strides (elements) */
} dc_pickle_kind;

#define DC_PICKLE_MAX_DIMS 4
#define DC_PICKLE_MAX_TENSOR_DIMS 8
#define DC_PICKLE_TORCH_MAX_STACK 16384

/* Which pickles a parse accepts (see above). */
typedef enum {
    DC_PICKLE_CIFAR = 0, /* the CIFAR-10 Python batches */
    DC_PICKLE_TORCH      /* torch.save's pickles */
} dc_pickle_profile;

/* The element types of torch's storage classes (torch.<Name>Storage). */
typedef enum {
    DC_PK_DT_NONE = 0,
    DC_PK_DT_FLOAT32,  /* FloatStorage */
    DC_PK_DT_FLOAT64,  /* DoubleStorage */
    DC_PK_DT_FLOAT16,  /* HalfStorage */
    DC_PK_DT_BFLOAT16, /* BFloat16Storage */
    DC_PK_DT_INT64,    /* LongStorage */
    DC_PK_DT_INT32,    /* IntStorage */
    DC_PK_DT_INT16,    /* ShortStorage */
    DC_PK_DT_INT8,     /* CharStorage */
    DC_PK_DT_UINT8,    /* ByteStorage */
    DC_PK_DT_BOOL,     /* BoolStorage */
    DC_PK_DT_COMPLEX64,
    DC_PK_DT_COMPLEX128,
    DC_PK_DT_QUANTIZED /* QInt8Storage, QUInt8Storage, QInt32Storage, ... */
} dc_pickle_dtype;

/* The storage class name ("FloatStorage") and dtype name ("float32") of a dtype, and its
 * element size in bytes (0 for DC_PK_DT_NONE). */
const char *dc_pickle_dtype_storage_name(dc_pickle_dtype dt);
const char *dc_pickle_dtype_name(dc_pickle_dtype dt);
size_t dc_pickle_dtype_size(dc_pickle_dtype dt);

typedef struct dc_pickle_value dc_pickle_value;
struct dc_pickle_value {
    dc_pickle_kind kind;
    int64_t i;
    const uint8_t *bytes;
    size_t len;
    dc_pickle_value **items;
    size_t count;
    int ndim;
    int64_t shape[DC_PICKLE_MAX_DIMS];
    int internal;           /* for DC_PK_OTHER: which internal value (see pickle.c) */
    size_t cap;             /* allocated slots of items */
    size_t *index;          /* for DC_PK_DICT: open-addressing hash of key slots (j + 1, 0 =
                             * empty), so that setting n items costs O(n), not O(n^2) */
    size_t index_cap;       /* slots of index: 0 or a power of two above 2 * count */
    double f;               /* DC_PK_FLOAT */
    dc_pickle_dtype dtype;  /* DC_PK_STORAGE */
    const int64_t *dims;    /* DC_PK_TENSOR: size then strides, 2 * ndim values */
};

/* A parsed pickle: owns every value reachable from its root. */
typedef struct dc_pickle dc_pickle;

/* Parses the n bytes of buf (not copied: buf must outlive the result) into *out.
 * name is used in messages (a file name). Returns DC_OK; DC_ERR_FORMAT for a truncated or
 * malformed pickle or a refused opcode, global or argument (the message names the opcode
 * byte and offset); DC_ERR_NOMEM. On failure *out is NULL. Free with dc_pickle_free. */
dc_status dc_pickle_parse(const uint8_t *buf, size_t n, const char *name, dc_pickle **out,
                          dc_error *err);

/* Parses one pickle of the given profile that starts at buf and may be followed by other
 * bytes (torch's legacy format is several pickles and raw data in a row): *used (when not
 * NULL) receives the offset just past its STOP. Otherwise as dc_pickle_parse, which is
 * this with the CIFAR profile (and ignores what follows the STOP). */
dc_status dc_pickle_parse_profile(const uint8_t *buf, size_t n, const char *name,
                                  dc_pickle_profile profile, size_t *used, dc_pickle **out,
                                  dc_error *err);

/* Every DC_PK_STORAGE value the pickle made (one per persistent id, in file order): *n
 * receives the count. */
const dc_pickle_value *const *dc_pickle_storages(const dc_pickle *p, size_t *n);

/* Reads the file at path (at most max_bytes long, else DC_ERR_FORMAT) and parses it.
 * Returns as dc_pickle_parse, and DC_ERR_IO when the file cannot be read. */
dc_status dc_pickle_load(const char *path, size_t max_bytes, dc_pickle **out, dc_error *err);

/* The value the pickle's STOP returned. */
const dc_pickle_value *dc_pickle_root(const dc_pickle *p);

/* Frees the pickle and all its values. p may be NULL. */
void dc_pickle_free(dc_pickle *p);

/* In a DC_PK_DICT, the value whose key is the byte string or text equal to key (a C
 * string); NULL when absent or when d is not a dict. */
const dc_pickle_value *dc_pickle_dict_get(const dc_pickle_value *d, const char *key);

/* Whether v is a byte string or text (DC_PK_BYTES or DC_PK_TEXT). */
bool dc_pickle_is_string(const dc_pickle_value *v);

#endif /* DC_PICKLE_H */
