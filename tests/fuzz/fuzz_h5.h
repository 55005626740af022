/*
 * fuzz_h5.h — HDF5 files built from a fuzzer's input, for the harnesses of the weight
 * loader and the prediction cache loader.
 *
 * Mutating the bytes of an HDF5 file mostly tests libhdf5's own parser, and Debian's
 * libhdf5 1.10.8 fails that test within a second (a heap-buffer-overflow under H5Aexists,
 * leaks on corrupt object headers: docs/robustness.md, "Fuzzing"). What dualcnn owns is
 * what it does with whatever a well-formed file holds: attributes and datasets of any
 * name, type class, rank and size. So the input describes such a file, written through
 * libhdf5's API and then handed to the loader. The input is a sequence of records:
 *
 *   byte  what (bit 0: 0 an attribute of the root, 1 a dataset; bits 1..7: the name,
 *         an index into the harness's name table, modulo its size)
 *   byte  type (modulo 9): int32, int64, uint64, float32, float64, int8, uint8,
 *         variable-length UTF-8 string, fixed-length string (16 bytes)
 *   byte  rank (modulo 5; 0 is a scalar), then one byte per dimension (modulo 17)
 *   the values: for numbers, count * size bytes, little-endian (missing bytes are 0);
 *         for strings, per element a length byte (modulo 32) and that many bytes
 *
 * A name given twice keeps its first record. Dataset names may hold '/' (groups are made).
 */
#ifndef DC_FUZZ_H5_H
#define DC_FUZZ_H5_H

#include <stddef.h>
#include <stdint.h>

/* Writes the file the input describes to path (see above); names has n_names entries.
 * Aborts when libhdf5 cannot create the file. */
void fuzz_h5_write(const char *path, const uint8_t *data, size_t size,
                   const char *const *names, int n_names);

#endif /* DC_FUZZ_H5_H */
