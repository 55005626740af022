/*
 * weights_write.h — writing dualcnn's HDF5 weight files (format version 1,
 * docs/weights-format.md), the same tensors and attributes, with the same HDF5 types, as
 * tools/weights_h5.py's write_weights: float32 datasets at the key's path ('.' -> '/'),
 * int32 and float32 attributes, text as variable-length UTF-8 strings.
 *
 * The file is written under a temporary name next to its path (loaders/outfile.h) and only
 * renamed into place by dc_weights_writer_commit, so a caller can check the finished file
 * (load it as a net) before it replaces anything.
 */
#ifndef DC_LOADERS_WEIGHTS_WRITE_H
#define DC_LOADERS_WEIGHTS_WRITE_H

#include "dualcnn.h"

#include <stdint.h>

/* The root attributes. */
typedef struct {
    const char *arch, *dataset;
    int num_classes;
    int input_size[3];            /* C, H, W */
    float mean[3], std[3];
    const char *const *class_names; /* num_classes names, or NULL for none */
    const char *source;
    int transform_input;          /* 0 or 1, or -1 for no such attribute */
} dc_weights_meta;

typedef struct dc_weights_writer dc_weights_writer;

/* Creates the temporary file for path. Fails naming path when it cannot be written (a
 * directory, a device, no permission). */
dc_status dc_weights_writer_open(const char *path, dc_weights_writer **out, dc_error *err);

/* Writes one tensor: state_dict key (e.g. "layer1.0.conv1.weight"), ndim (0 to 8) and its
 * shape, numel floats in C order. */
dc_status dc_weights_writer_add(dc_weights_writer *w, const char *key, int ndim,
                                const int64_t *shape, const float *data, dc_error *err);

/* Writes the root attributes and closes the HDF5 file, which stays under its temporary
 * name (dc_weights_writer_tmp_path) until commit. */
dc_status dc_weights_writer_finish(dc_weights_writer *w, const dc_weights_meta *meta,
                                   dc_error *err);

/* The temporary file's name. */
const char *dc_weights_writer_tmp_path(const dc_weights_writer *w);

/* After finish: renames the file into place. Frees w in every case. */
dc_status dc_weights_writer_commit(dc_weights_writer *w, dc_error *err);

/* Removes the temporary file and frees w. w may be NULL. */
void dc_weights_writer_abort(dc_weights_writer *w);

#endif /* DC_LOADERS_WEIGHTS_WRITE_H */
