/*
 * outfile.h — how every output file is written (NPY, PNG, CSV reports, SVG plots, threshold
 * tables, prediction caches): never half-written, and never replacing something that is not
 * a regular file. What happens depends on what is at the path:
 *
 *   nothing, or a regular file   written to "<path>.tmp-<pid>" in the same directory, then
 *                                renamed over path (an existing file keeps its mode)
 *   a symbolic link              its final target (resolved with realpath) is written as
 *                                above; the link stays a link. A dangling link is refused.
 *                                /dev/stdout, /dev/fd/N and /proc/.../fd/N are written in
 *                                place even when they lead to a regular file (`> out.txt`)
 *   a character device or FIFO   written in place, as the shell's '>' would (/dev/stdout,
 *                                /dev/null, a named pipe); refused with DC_OUT_SEEKABLE
 *   anything else                refused (a directory, a socket, a block device)
 *
 * Every error names the path and the reason (strerror: "No space left on device",
 * "Permission denied"); a failed write leaves no temporary file behind. See
 * docs/robustness.md.
 */
#ifndef DC_LOADERS_OUTFILE_H
#define DC_LOADERS_OUTFILE_H

#include "dualcnn.h"

#include <stdbool.h>
#include <stdio.h>

#define DC_OUT_SEEKABLE 1u  /* the writer seeks (HDF5): a device or FIFO is refused */
#define DC_OUT_NAME_ONLY 2u /* open no stream: the caller creates dc_outfile_name() itself */

typedef struct {
    char *path;   /* the file that will hold the output (a symlink's target) */
    char *tmp;    /* the temporary name, or NULL when writing in place */
    FILE *f;      /* open for writing (binary); NULL with DC_OUT_NAME_ONLY */
    int mode;     /* permissions to give the new file (an existing file's), or -1 */
} dc_outfile;

/* Decides how to write path (see above) and, unless DC_OUT_NAME_ONLY, opens o->f. On
 * failure o holds nothing to free. */
dc_status dc_outfile_open(dc_outfile *o, const char *path, unsigned flags, dc_error *err);

/* The name to write to: the temporary file, or the path itself when writing in place. */
const char *dc_outfile_name(const dc_outfile *o);

/* Flushes and closes o->f (fsync'ing a regular file), then renames the temporary file into
 * place. On any failure removes the temporary file and fails naming the path and the
 * reason. Frees o in every case. */
dc_status dc_outfile_commit(dc_outfile *o, dc_error *err);

/* Closes o->f and removes the temporary file; frees o. Safe on a zeroed o. */
void dc_outfile_abort(dc_outfile *o);

#endif /* DC_LOADERS_OUTFILE_H */
