/*
 * h5reader.h — how weight files and prediction caches are read: in quarantine by default
 * (docs/robustness.md, "HDF5 in quarantine").
 *
 * dc_h5_read_file() (and dc_h5_read_memory(), for a file image in memory) spawns the
 * helper executable dualcnn-h5read (posix_spawn, never a bare fork: the library runs inside
 * multithreaded programs), which reads the file with libhdf5, checks it, and writes a
 * snapshot (h5snapshot.h) into an anonymous shared-memory file that the caller then maps. If the helper dies by a signal, exits with an error or runs past the
 * time limit, the file is reported as "damaged or hostile HDF5 file" and nothing of it is
 * used. The helper is found, in this order, at
 *   $DUALCNN_H5_HELPER, next to the running program (/proc/self/exe), in the install's
 *   libexec directory, in the build directory it was built in.
 * The in-process mode (dc_h5_set_reader_mode, or DUALCNN_H5_READER=in-process) reads with
 * libhdf5 in the caller's process: for files the caller trusts, and for builds without the
 * helper. Other settings: DUALCNN_H5_TIMEOUT (seconds; default 5 plus 1 per 100 MiB of file,
 * 0 = none), DUALCNN_H5_MAX_BYTES (the largest snapshot, default 2 GiB).
 */
#ifndef DC_LOADERS_H5READER_H
#define DC_LOADERS_H5READER_H

#include "dualcnn.h"
#include "loaders/h5snapshot.h"

typedef enum {
    DC_H5_READER_DEFAULT = 0,  /* $DUALCNN_H5_READER, else quarantine */
    DC_H5_READER_QUARANTINE,
    DC_H5_READER_IN_PROCESS
} dc_h5_reader_mode;

/* Sets the mode for the whole process (DEFAULT: back to the environment's choice). */
void dc_h5_set_reader_mode(dc_h5_reader_mode mode);

/* The mode dc_h5_read_file will use now. */
dc_h5_reader_mode dc_h5_reader_mode_in_use(void);

/* Reads the HDF5 file at path into a snapshot (free with dc_h5snap_free). Messages name the
 * file; a file the helper could not survive gives DC_ERR_FORMAT and
 * "PATH: damaged or hostile HDF5 file (...)". */
dc_status dc_h5_read_file(const char *path, dc_h5snap **out, dc_error *err);

/* As dc_h5_read_file for an HDF5 file image of size bytes at data (the bytes of a file,
 * already in memory), with the same protection: in quarantine the bytes are copied into an
 * anonymous file (memfd) that the helper gets as a descriptor (`--image-fd`) and hands to
 * libhdf5's core driver, so libhdf5 never parses them in the caller's process; in process
 * (the same mode setting as for files) the core driver reads them here. Messages name the
 * image `name` ("<memory>" when NULL). data is only read and may be freed once this
 * returns. Returns DC_ERR_ARG for NULL data or size 0, else as dc_h5_read_file. */
dc_status dc_h5_read_memory(const void *data, size_t size, const char *name,
                            dc_h5snap **out, dc_error *err);

#endif /* DC_LOADERS_H5READER_H */
