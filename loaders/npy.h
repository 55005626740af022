/*
 * npy.h — NumPy .npy files of float32 arrays (the format of `dualcnn infer --in/--out`).
 *
 * The format (numpy.lib.format): the magic "\x93NUMPY", a major and minor version byte,
 * a little-endian header length (2 bytes in version 1.0, 4 bytes in 2.0 and 3.0), then
 * the header, a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a final '\n', then the raw array data in C order.
 *
 * Reading accepts versions 1.0, 2.0 and 3.0, dtype '<f4' only, C order only, rank 0..8
 * (rank 0, shape (), is a single value). Bytes after the data are ignored.
 * Writing always produces version 1.0, byte for byte what NumPy 1.24 writes for the same
 * array (header padded so that data starts at a multiple of 64 bytes).
 */
#ifndef DC_NPY_H
#define DC_NPY_H

#include "dualcnn.h"

#include <stddef.h>
#include <stdint.h>

#define DC_NPY_MAX_DIMS 8

/* An array read from an .npy file. count is the product of shape[0..ndim) (1 for rank 0);
 * data holds count floats in C order, or is NULL when count is 0. */
typedef struct {
    int ndim;
    int64_t shape[DC_NPY_MAX_DIMS];
    float *data;
    size_t count;
} dc_npy;

/* Reads the .npy file at path into out (overwritten; its old contents are not freed).
 * Returns DC_OK, DC_ERR_IO when the file cannot be opened or read, DC_ERR_FORMAT when it is
 * not a float32 C-order .npy file or is truncated, DC_ERR_NOMEM; err names the file and the
 * problem. On failure out is left empty (data NULL). The caller frees with dc_npy_free. */
dc_status dc_npy_read_f32(const char *path, dc_npy *out, dc_error *err);

/* Writes ndim (0..8) dimensions of shape and the product-of-shape floats of data (C order)
 * as a version 1.0 .npy file. data may be NULL when the product is 0. The file is written
 * to "<path>.tmp-<pid>" and renamed, so a failure never leaves a partial file at path.
 * Returns DC_OK, DC_ERR_ARG for a bad ndim or shape, DC_ERR_IO. */
dc_status dc_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                           dc_error *err);

/* Frees the data of a, and empties it. a may be NULL; calling it twice is harmless. */
void dc_npy_free(dc_npy *a);

#endif /* DC_NPY_H */
