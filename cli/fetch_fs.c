/*
 * fetch_fs.c — the directory work of `dualcnn fetch` (see fetch.h): rm -r of its own
 * temporary directories, and a file copy for --from DIR (mkdir -p is check.h's).
 */
#define _XOPEN_SOURCE 700 /* nftw and its FTW_ flags */
#include "cli/fetch.h"
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* nftw keeps no user pointer: the first failure of one cli_remove_tree call. */
static char remove_failed[512];

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    int r = type == FTW_DP ? rmdir(path) : unlink(path);
    if (r != 0 && errno != ENOENT && !remove_failed[0])
        snprintf(remove_failed, sizeof remove_failed, "%s: cannot remove: %s", path,
                 strerror(errno));
    return 0; /* go on: remove what can be removed */
}

dc_status cli_remove_tree(const char *path, dc_error *err)
{
    remove_failed[0] = '\0';
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? DC_OK
                               : dc_fail(err, DC_ERR_IO, "%s: %s", path, strerror(errno));
    if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 &&
        !remove_failed[0])
        snprintf(remove_failed, sizeof remove_failed, "%s: cannot remove: %s", path,
                 strerror(errno));
    return remove_failed[0] ? dc_fail(err, DC_ERR_IO, "%s", remove_failed) : DC_OK;
}

dc_status cli_copy_file(const char *src, const char *dst, dc_error *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0) {
        dc_status st = dc_fail(err, DC_ERR_IO, "%s: cannot create: %s", dst, strerror(errno));
        close(in);
        return st;
    }
    dc_status st = DC_OK;
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = dc_fail(err, DC_ERR_IO, "%s: cannot read: %s", src, strerror(errno));
        if (n <= 0)
            break;
        for (ssize_t done = 0; st == DC_OK && done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                st = dc_fail(err, DC_ERR_IO, "%s: write failed: %s", dst,
                             w < 0 ? strerror(errno) : "no progress");
            else
                done += w;
        }
        if (st != DC_OK)
            break;
    }
    close(in);
    if (close(out) != 0 && st == DC_OK)
        st = dc_fail(err, DC_ERR_IO, "%s: write failed: %s", dst, strerror(errno));
    if (st != DC_OK)
        unlink(dst);
    return st;
}
