/*
 * readfile.h — a whole (small) file into memory, with a size limit checked as the bytes
 * arrive: the pickle reader and the checkpoint reader take their files this way.
 */
#ifndef DC_LOADERS_READFILE_H
#define DC_LOADERS_READFILE_H

#include "dualcnn.h"

#include <stddef.h>
#include <stdint.h>

/* Reads the file at path into *buf (dc_malloc'ed; the caller frees; NULL for an empty
 * file) and its size into *n. More than max bytes is DC_ERR_FORMAT: "PATH: larger than
 * MAX bytes" followed by ": <what>" when what is not NULL ("not a CIFAR-10 pickle").
 * DC_ERR_IO naming the file when it cannot be opened or read; DC_ERR_NOMEM. */
dc_status dc_read_whole_file(const char *path, size_t max, const char *what, uint8_t **buf,
                             size_t *n, dc_error *err);

#endif /* DC_LOADERS_READFILE_H */
