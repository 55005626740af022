/* untar.c — a .tar.gz from the network unpacked into a directory of our own (see
 * untar.h). */
#include "loaders/untar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DC_UNTAR_NAME_MAX 1024 /* longer member names are refused */

/* One unpacking: the archive, where it goes, what was written. */
typedef struct {
    struct archive *a;
    const char *path;         /* the archive, for messages */
    const char *dest;
    const dc_untar_limits *lim;
    dc_untar_stats st;
} untar;

/* What a member's name becomes: its path under dest in rel, or *skip for the archive's
 * own root ("./"). Refuses absolute names, empty ones and "." or ".." components. */
static dc_status member_name(const untar *u, const char *name, char *rel, bool *skip,
                             dc_error *err)
{
    *skip = false;
    if (!name || !*name)
        return dc_fail(err, DC_ERR_FORMAT, "%s: a member has no name: refused", u->path);
    if (name[0] == '/')
        return dc_fail(err, DC_ERR_FORMAT, "%s: member '%s' has an absolute name: refused "
                       "(nothing is written outside the destination)", u->path, name);
    const char *s = name;
    while (s[0] == '.' && s[1] == '/') { /* "./", "././" */
        s += 2;
        while (*s == '/')
            s++;
    }
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/') /* a directory's trailing '/' */
        n--;
    if (n == 0 || (n == 1 && s[0] == '.')) {
        *skip = true;
        return DC_OK;
    }
    if (n >= DC_UNTAR_NAME_MAX)
        return dc_fail(err, DC_ERR_FORMAT, "%s: a member name of %zu bytes: refused", u->path,
                       n);
    memcpy(rel, s, n);
    rel[n] = '\0';
    for (const char *c = rel; *c;) {
        size_t len = strcspn(c, "/");
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return dc_fail(err, DC_ERR_FORMAT, "%s: member '%s' has an empty, '.' or '..' "
                           "component: refused (nothing is written outside the "
                           "destination)", u->path, name);
        c += len;
        if (*c == '/')
            c++;
    }
    return DC_OK;
}

/* libarchive's message, never NULL. */
static const char *why(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "unknown libarchive error";
}

/* The kind of member a type is, for messages. */
static const char *type_name(struct archive_entry *e)
{
    if (archive_entry_hardlink(e))
        return "a hard link";
    switch (archive_entry_filetype(e)) {
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "of an unknown type";
    }
}

/* Creates the directories of rel under dest, up to and including rel itself (dir_too) or
 * its parent; an existing one must be a directory. */
static dc_status make_parents(const untar *u, const char *rel, bool dir_too, dc_error *err)
{
    char p[4096 + DC_UNTAR_NAME_MAX];
    size_t base = (size_t)snprintf(p, sizeof p, "%s/", u->dest);
    if (base + strlen(rel) >= sizeof p)
        return dc_fail(err, DC_ERR_IO, "%s: path too long", u->dest);
    strcpy(p + base, rel);
    for (char *s = p + base;; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        if (end && !dir_too)
            break;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0) {
            int e = errno;
            struct stat sb;
            if (e != EEXIST)
                return dc_fail(err, DC_ERR_IO, "%s: cannot create: %s", p, strerror(e));
            if (lstat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                return dc_fail(err, DC_ERR_FORMAT, "%s: member '%s': %s is a file, not a "
                               "directory: refused", u->path, rel, p);
        }
        if (end)
            break;
        *s = c;
    }
    return DC_OK;
}

/* Writes the data of the current member, a regular file, to dest/rel. */
static dc_status write_file(untar *u, const char *rel, dc_error *err)
{
    char p[4096 + DC_UNTAR_NAME_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s/%s", u->dest, rel) >= sizeof p)
        return dc_fail(err, DC_ERR_IO, "%s: path too long", u->dest);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST
                   ? dc_fail(err, DC_ERR_FORMAT, "%s: member '%s' appears twice: refused",
                             u->path, rel)
                   : dc_fail(err, DC_ERR_IO, "%s: cannot create: %s", p, strerror(errno));
    dc_status st = DC_OK;
    char buf[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(u->a, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: member '%s': %s", u->path, rel,
                         why(u->a));
            break;
        }
        if ((unsigned long long)n > u->lim->max_bytes - u->st.bytes) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: member '%s' takes the archive past %llu "
                         "bytes unpacked: refused", u->path, rel, u->lim->max_bytes);
            break;
        }
        u->st.bytes += (unsigned long long)n;
        for (la_ssize_t done = 0; st == DC_OK && done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                st = dc_fail(err, DC_ERR_IO, "%s: write failed: %s", p,
                             w < 0 ? strerror(errno) : "no progress");
            else
                done += w;
        }
        if (st != DC_OK)
            break;
    }
    if (close(fd) != 0 && st == DC_OK)
        st = dc_fail(err, DC_ERR_IO, "%s: write failed: %s", p, strerror(errno));
    if (st == DC_OK)
        u->st.files++;
    return st;
}

/* Checks and writes the member e. */
static dc_status one_member(untar *u, struct archive_entry *e, dc_error *err)
{
    const char *name = archive_entry_pathname(e);
    char rel[DC_UNTAR_NAME_MAX];
    bool skip;
    dc_status st = member_name(u, name, rel, &skip, err);
    if (st != DC_OK)
        return st;
    mode_t type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e) || archive_entry_symlink(e) ||
        (type != AE_IFREG && type != AE_IFDIR))
        return dc_fail(err, DC_ERR_FORMAT, "%s: member '%s' is %s: refused (only files and "
                       "directories are unpacked)", u->path, name, type_name(e));
    if (skip)
        return type == AE_IFDIR ? DC_OK
                                : dc_fail(err, DC_ERR_FORMAT, "%s: a file member named '%s': "
                                          "refused", u->path, name);
    if (u->st.files + u->st.dirs >= u->lim->max_members)
        return dc_fail(err, DC_ERR_FORMAT, "%s: more than %ld members: refused", u->path,
                       u->lim->max_members);
    if (type == AE_IFDIR) {
        st = make_parents(u, rel, true, err);
        if (st == DC_OK)
            u->st.dirs++;
        return st;
    }
    if (archive_entry_size_is_set(e) &&
        (unsigned long long)archive_entry_size(e) > u->lim->max_bytes - u->st.bytes)
        return dc_fail(err, DC_ERR_FORMAT, "%s: member '%s' of %lld bytes takes the archive "
                       "past %llu bytes unpacked: refused", u->path, rel,
                       (long long)archive_entry_size(e), u->lim->max_bytes);
    st = make_parents(u, rel, false, err);
    return st == DC_OK ? write_file(u, rel, err) : st;
}

dc_status dc_untar(const char *path, const char *dest, const dc_untar_limits *limits,
                   dc_untar_stats *stats, dc_error *err)
{
    untar u = { .path = path, .dest = dest, .lim = limits };
    if (stats)
        *stats = u.st;
    u.a = archive_read_new();
    if (!u.a)
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot start libarchive", path);
    archive_read_support_filter_gzip(u.a);
    archive_read_support_format_tar(u.a);
    dc_status st = DC_OK;
    if (archive_read_open_filename(u.a, path, 65536) != ARCHIVE_OK)
        st = dc_fail(err, DC_ERR_FORMAT, "%s: not a gzip'd tar archive: %s", path,
                     why(u.a));
    while (st == DC_OK) {
        struct archive_entry *e;
        int r = archive_read_next_header(u.a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            st = dc_fail(err, DC_ERR_FORMAT, "%s: corrupt archive: %s", path,
                         why(u.a));
            break;
        }
        st = one_member(&u, e, err);
    }
    archive_read_free(u.a);
    if (stats)
        *stats = u.st;
    return st;
}
