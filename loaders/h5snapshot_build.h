/*
 * h5snapshot_build.h — reading an HDF5 file with libhdf5 into a snapshot (h5snapshot.h).
 *
 * This is the only code that hands a weight file or a prediction cache to libhdf5 for
 * reading. It runs in the quarantined helper process (dualcnn-h5read, h5reader.h), or in
 * the caller's process for files the caller trusts. It checks every object before reading
 * it: attribute rank and count, dtype, dataspace size against the file's size, and refuses
 * virtual datasets, data in external files and sizes beyond the limits below.
 */
#ifndef DC_LOADERS_H5SNAPSHOT_BUILD_H
#define DC_LOADERS_H5SNAPSHOT_BUILD_H

#include "loaders/h5snapshot.h"

/* A root attribute holds at most this many values, and its strings this many bytes. */
#define DC_H5SNAP_MAX_ATTR_VALUES (1u << 20)
#define DC_H5SNAP_MAX_ATTR_TEXT ((size_t)16 << 20)
/* A compressed dataset may expand to at most this many times its stored bytes (deflate's
 * own ceiling is about 1032:1). */
#define DC_H5SNAP_MAX_EXPANSION 1100u
/* At most this many objects (attributes, datasets, links). */
#define DC_H5SNAP_MAX_ITEMS 1000000

/* Reads path and lays out its snapshot in a block from alloc(size, arg), which is called
 * once, with the final size, and returns 8-byte aligned memory or NULL. On success *size_out
 * is that size. max_bytes bounds the snapshot (0: no bound beyond the file's own checks).
 * On failure nothing stays allocated except what alloc returned (the caller owns it), and
 * err's message does not name the file (the caller prefixes it). */
dc_status dc_h5snap_build(const char *path, uint64_t max_bytes,
                          void *(*alloc)(size_t size, void *arg), void *arg,
                          size_t *size_out, dc_error *err);

/* As dc_h5snap_build for an HDF5 file image: the size bytes of a file, at data (libhdf5's
 * core driver; data is only read). Refused at once ("not an HDF5 file") when HDF5's
 * signature is neither at the start nor after a user block. */
dc_status dc_h5snap_build_image(const void *data, size_t size, uint64_t max_bytes,
                                void *(*alloc)(size_t size, void *arg), void *arg,
                                size_t *size_out, dc_error *err);

/* Writes a REFUSED snapshot carrying code and message into a block from alloc. */
dc_status dc_h5snap_build_refusal(dc_status code, const char *message,
                                  void *(*alloc)(size_t size, void *arg), void *arg,
                                  size_t *size_out);

#endif /* DC_LOADERS_H5SNAPSHOT_BUILD_H */
