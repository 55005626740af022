/* fx_bytes.h — files the unit tests build byte by byte (pickles, PyTorch checkpoints, IDX):
 * a growing buffer, and the pickle strings they all write. */
#ifndef DC_TEST_FX_BYTES_H
#define DC_TEST_FX_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* b[0..n) holds the bytes (cap allocated); start from { 0 }, free(b) when done. */
typedef struct {
    uint8_t *b;
    size_t n, cap;
} fx_bytes;

/* Appends n bytes of p (the test fails when memory runs out). */
void fx_put(fx_bytes *o, const void *p, size_t n);
void fx_put1(fx_bytes *o, uint8_t c);
void fx_put_le32(fx_bytes *o, uint32_t v);
void fx_put_le64(fx_bytes *o, uint64_t v);
/* Appends the characters of s, without its NUL. */
void fx_put_str(fx_bytes *o, const char *s);

/* Appends a string literal, embedded NUL bytes included. */
#define FX_PUTL(o, lit) fx_put((o), (lit), sizeof(lit) - 1)

/* A Python 2 str of n bytes, as cPickle writes it: SHORT_BINSTRING ('U', one length byte)
 * below 256 bytes, else BINSTRING ('T', a little-endian 32-bit length). */
void fx_py2_str(fx_bytes *o, const void *s, size_t n);
void fx_py2_cstr(fx_bytes *o, const char *s);

#endif
