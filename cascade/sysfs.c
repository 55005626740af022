/* sysfs.c — reading one-value sysfs files for the energy sources (cascade/sysfs.h). */
#include "cascade/sysfs.h"
#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *dc_sysfs_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = dc_malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

const char *dc_sysfs_root(const char *env, const char *fallback)
{
    const char *r = getenv(env);
    return r && *r ? r : fallback;
}

dc_status dc_sysfs_fail_unreadable(dc_error *err, const char *who, const char *path, int e)
{
    bool denied = e == EACCES || e == EPERM;
    return dc_fail(err, DC_ERR_IO, "%s unreadable: %s: %s%s", who, path, strerror(e),
                   denied ? " (try running as root, or chmod a+r the file)" : "");
}

dc_status dc_sysfs_read_text(const char *who, const char *path, char *buf, size_t cap,
                             dc_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dc_sysfs_fail_unreadable(err, who, path, errno);
    size_t len = 0;
    for (;;) {
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            return dc_sysfs_fail_unreadable(err, who, path, e);
        }
        if (k == 0 || (len += (size_t)k) == cap - 1)
            break;
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    return DC_OK;
}

dc_status dc_sysfs_read_u64(const char *who, const char *path, uint64_t *v, dc_error *err)
{
    char buf[64];
    dc_status st = dc_sysfs_read_text(who, path, buf, sizeof buf, err);
    if (st != DC_OK)
        return st;
    char *end = NULL;
    errno = 0;
    unsigned long long x = buf[0] >= '0' && buf[0] <= '9' ? strtoull(buf, &end, 10) : 0;
    if (!end || *end || errno)
        return dc_fail(err, DC_ERR_FORMAT, "%s unreadable: %s: not an unsigned number ('%s')",
                       who, path, buf);
    *v = (uint64_t)x;
    return DC_OK;
}

dc_status dc_sysfs_read_i64(const char *who, const char *path, int64_t *v, dc_error *err)
{
    char buf[64];
    dc_status st = dc_sysfs_read_text(who, path, buf, sizeof buf, err);
    if (st != DC_OK)
        return st;
    char *end = NULL;
    errno = 0;
    const char *digits = buf[0] == '-' ? buf + 1 : buf;
    long long x = digits[0] >= '0' && digits[0] <= '9' ? strtoll(buf, &end, 10) : 0;
    if (!end || *end || errno)
        return dc_fail(err, DC_ERR_FORMAT, "%s unreadable: %s: not a number ('%s')", who,
                       path, buf);
    *v = (int64_t)x;
    return DC_OK;
}
