/* outfile.c — the one way outputs are written (see outfile.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* realpath, fileno, fsync */
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* realpath in glibc */
#endif

#include "loaders/outfile.h"
#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void outfile_free(dc_outfile *o)
{
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    o->f = NULL;
}

/* True for the links that stand for an open descriptor: /dev/stdout, /dev/fd/N,
 * /proc/self/fd/N (their target is "/proc/..." or a "pipe:[...]"-like name). */
static bool descriptor_link(const char *path)
{
    if (strncmp(path, "/dev/fd/", 8) == 0 || strncmp(path, "/proc/", 6) == 0)
        return true;
    char to[64];
    ssize_t n = readlink(path, to, sizeof to - 1);
    if (n <= 0)
        return false;
    to[n] = '\0';
    return strncmp(to, "/proc/", 6) == 0 || strncmp(to, "fd/", 3) == 0;
}

/* Resolves what is at path into o->path (and the mode to keep), or fails naming it.
 * *in_place: a device or FIFO, written directly. */
static dc_status outfile_target(dc_outfile *o, const char *path, unsigned flags,
                                bool *in_place, dc_error *err)
{
    struct stat ls, sb;
    *in_place = false;
    o->mode = -1;
    if (lstat(path, &ls) != 0) {
        if (errno != ENOENT)
            return dc_fail(err, DC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        o->path = dc_strdup(path); /* a new file */
        return o->path ? DC_OK : dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    }
    if (S_ISLNK(ls.st_mode)) {
        if (stat(path, &sb) != 0)
            return dc_fail(err, DC_ERR_IO, "%s: is a symbolic link to a missing or "
                           "unreachable file (%s); not writing through it", path,
                           strerror(errno));
        if (S_ISREG(sb.st_mode) && descriptor_link(path)) {
            /* /dev/stdout redirected to a file: renaming over that file would leave the
             * shell's descriptor on an unlinked copy; write through the name instead */
            *in_place = true;
            o->path = dc_strdup(path);
            return o->path ? DC_OK : dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
        }
        if (S_ISREG(sb.st_mode)) {
            o->path = realpath(path, NULL); /* write the target, keep the link */
            if (!o->path)
                return dc_fail(err, DC_ERR_IO, "%s: cannot resolve the symbolic link: %s",
                               path, strerror(errno));
            o->mode = (int)(sb.st_mode & 07777);
            return DC_OK;
        }
        ls = sb; /* a link to a device or FIFO is judged as what it points to */
    }
    bool special = S_ISCHR(ls.st_mode) || S_ISFIFO(ls.st_mode);
    if (S_ISREG(ls.st_mode))
        o->mode = (int)(ls.st_mode & 07777);
    else if (special && (flags & DC_OUT_SEEKABLE))
        return dc_fail(err, DC_ERR_ARG, "%s: is a %s; this output needs a regular file (and "
                       "never replaces a device)", path, S_ISFIFO(ls.st_mode) ? "FIFO"
                                                                              : "device");
    else if (special)
        *in_place = true;
    else
        return dc_fail(err, DC_ERR_ARG, "%s: is a %s, not a file; not writing over it", path,
                       S_ISDIR(ls.st_mode) ? "directory" : "socket or block device");
    o->path = dc_strdup(path);
    return o->path ? DC_OK : dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
}

/* Creates o->tmp next to o->path, exclusively (a stale temporary, or a link planted at its
 * name, is removed first, never followed). */
static dc_status outfile_create_tmp(dc_outfile *o, unsigned flags, dc_error *err)
{
    size_t cap = strlen(o->path) + 32;
    o->tmp = dc_malloc(cap);
    if (!o->tmp)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", o->path);
    snprintf(o->tmp, cap, "%s.tmp-%ld", o->path, (long)getpid());
    unlink(o->tmp);
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0666);
    if (fd < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot create %s: %s", o->path, o->tmp,
                       strerror(errno));
    if (o->mode >= 0)
        (void)fchmod(fd, (mode_t)o->mode); /* best effort: the old file's permissions */
    if (flags & DC_OUT_NAME_ONLY) {
        close(fd);
        return DC_OK;
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        return dc_fail(err, DC_ERR_IO, "%s: cannot open %s: %s", o->path, o->tmp,
                       strerror(e));
    }
    return DC_OK;
}

dc_status dc_outfile_open(dc_outfile *o, const char *path, unsigned flags, dc_error *err)
{
    memset(o, 0, sizeof *o);
    if (!path || !*path)
        return dc_fail(err, DC_ERR_ARG, "no output path given");
    bool in_place;
    dc_status st = outfile_target(o, path, flags, &in_place, err);
    if (st != DC_OK)
        return st;
    if (in_place) {
        if (!(flags & DC_OUT_NAME_ONLY) && !(o->f = fopen(o->path, "wb")))
            st = dc_fail(err, DC_ERR_IO, "%s: cannot open for writing: %s", o->path,
                         strerror(errno));
    } else {
        st = outfile_create_tmp(o, flags, err);
    }
    if (st != DC_OK)
        outfile_free(o);
    return st;
}

const char *dc_outfile_name(const dc_outfile *o)
{
    return o->tmp ? o->tmp : o->path;
}

dc_status dc_outfile_commit(dc_outfile *o, dc_error *err)
{
    int e = 0;
    if (o->f) {
        if (ferror(o->f))
            e = errno ? errno : EIO;
        if (!e && fflush(o->f) != 0)
            e = errno;
        if (!e && o->tmp && fsync(fileno(o->f)) != 0)
            e = errno;
        if (fclose(o->f) != 0 && !e)
            e = errno ? errno : EIO;
        o->f = NULL;
    }
    dc_status st = DC_OK;
    if (e)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot write: %s", o->path, strerror(e));
    else if (o->tmp && rename(o->tmp, o->path) != 0)
        st = dc_fail(err, DC_ERR_IO, "%s: cannot rename %s into place: %s", o->path, o->tmp,
                     strerror(errno));
    if (st != DC_OK && o->tmp)
        unlink(o->tmp);
    outfile_free(o);
    return st;
}

void dc_outfile_abort(dc_outfile *o)
{
    if (o->f)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    outfile_free(o);
}
