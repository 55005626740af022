/*
 * weights.h — reading dualcnn's HDF5 weight files (format version 1, docs/weights-format.md).
 *
 * A file holds one float32 dataset per state_dict tensor, at the key's path with '.' -> '/',
 * and root attributes describing the model. Reading is strict, like PyTorch's
 * load_state_dict(strict=True): every tensor the architecture expects must be present
 * with dtype float32 and the expected shape, and dc_weights_check_all_used() reports a
 * tensor the architecture did not ask for.
 */
#ifndef DC_LOADERS_WEIGHTS_H
#define DC_LOADERS_WEIGHTS_H

#include "dualcnn.h"

#include <stddef.h>
#include <stdint.h>

#define DC_WEIGHTS_FORMAT_VERSION 1

typedef struct {
    int format_version;
    char arch[48];
    char dataset[48];
    int num_classes;
    int input_size[3];     /* C, H, W */
    float mean[3], std[3];
    char **class_names;    /* n_class_names strings (owned by dc_weights), or NULL */
    int n_class_names;
    char source[256];
    int transform_input;   /* optional, 0 or 1 (0 when absent): GoogLeNet's and Inception
                            * v3's input re-normalisation, see docs/weights-format.md */
} dc_weights_attrs;

typedef struct dc_weights dc_weights;

/* Opens path and reads its root attributes (all required except class_names, source and
 * transform_input). Fails with a message naming the file when it does not exist, is not HDF5, is
 * truncated, or an attribute is missing or malformed. Close with dc_weights_close. */
dc_status dc_weights_open(const char *path, dc_weights **out, dc_error *err);

/* As dc_weights_open for the bytes of a weight file already in memory (an HDF5 file image
 * of size bytes; read through dc_h5_read_memory, in quarantine by default). Messages and
 * dc_weights_path name it `name` ("<memory>" when NULL). data may be freed on return. */
dc_status dc_weights_open_memory(const void *data, size_t size, const char *name,
                                 dc_weights **out, dc_error *err);

void dc_weights_close(dc_weights *w);

const dc_weights_attrs *dc_weights_get_attrs(const dc_weights *w);
const char *dc_weights_path(const dc_weights *w);

/* Reads the tensor for state_dict key (e.g. "layer1.0.conv1.weight") into dst, checking
 * that it exists, is float32 and has exactly the given shape. */
dc_status dc_weights_read(dc_weights *w, const char *key, int ndim, const int64_t *shape,
                          float *dst, dc_error *err);

/* After a model is built: fails naming the first tensor of the file that was never read
 * (a file for a different architecture or width). */
dc_status dc_weights_check_all_used(const dc_weights *w, dc_error *err);

#endif /* DC_LOADERS_WEIGHTS_H */
