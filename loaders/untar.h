/*
 * untar.h — unpacking a gzip'd tar archive that came from the network (`dualcnn fetch
 * cifar10`), with libarchive, into a directory of our own, refusing whatever could write
 * outside it or fill the disk.
 *
 * Accepted: regular files and directories whose names are relative and hold no "." or
 * ".." component (leading "./" is dropped: "./cifar-10-batches-bin/x" is
 * "cifar-10-batches-bin/x"). Refused, and the whole archive with them: an absolute name,
 * a ".." component, an empty name, a symbolic or hard link, a device, a FIFO or a socket,
 * the same file twice, more members than limits->max_members, more bytes in all than
 * limits->max_bytes (checked against each member's header before its data is read, and
 * against the bytes actually written). The modes, owners and times in the archive are
 * ignored: files are created 0644, directories 0755 (less the umask). Only the tar
 * formats (ustar, pax, GNU) and the gzip filter are enabled.
 */
#ifndef DC_LOADERS_UNTAR_H
#define DC_LOADERS_UNTAR_H

#include "dualcnn.h"

typedef struct {
    unsigned long long max_bytes; /* the most bytes all members may hold together */
    long max_members;             /* the most members (files and directories) */
} dc_untar_limits;

typedef struct {
    long files, dirs;             /* members written */
    unsigned long long bytes;     /* bytes written */
} dc_untar_stats;

/* Unpacks the .tar.gz at path into dest, an existing directory that only this call writes
 * to (a fresh temporary one: nothing in it may be a link). Returns DC_OK with *stats
 * filled (stats may be NULL); DC_ERR_FORMAT naming the archive and the member for a
 * refused member (see above) or a corrupt archive; DC_ERR_IO naming the file for a
 * failed write. On failure what was written stays in dest, for the caller to remove with
 * dest. */
dc_status dc_untar(const char *path, const char *dest, const dc_untar_limits *limits,
                   dc_untar_stats *stats, dc_error *err);

#endif /* DC_LOADERS_UNTAR_H */
