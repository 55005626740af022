/*
 * h5reader.c — reading an HDF5 file in quarantine, or in process (h5reader.h).
 */
#define _GNU_SOURCE /* memfd_create */
#include "loaders/h5reader.h"
#include "base/alloc.h"

#include "loaders/h5snapshot_build.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define HELPER_NAME "dualcnn-h5read"

static _Atomic int reader_mode = DC_H5_READER_DEFAULT;

void dc_h5_set_reader_mode(dc_h5_reader_mode mode)
{
    atomic_store(&reader_mode, (int)mode);
}

dc_h5_reader_mode dc_h5_reader_mode_in_use(void)
{
    int m = atomic_load(&reader_mode);
    if (m != DC_H5_READER_DEFAULT)
        return (dc_h5_reader_mode)m;
    const char *env = getenv("DUALCNN_H5_READER");
    return env && strcmp(env, "in-process") == 0 ? DC_H5_READER_IN_PROCESS
                                                : DC_H5_READER_QUARANTINE;
}

/* The largest snapshot: $DUALCNN_H5_MAX_BYTES, else 2 GiB (the largest weight file of the
 * zoo, vgg19_bn's, holds 550 MB; a cache of 50,000 samples x 1000 logits 200 MB). */
static uint64_t max_snapshot_bytes(void)
{
    const char *env = getenv("DUALCNN_H5_MAX_BYTES");
    char *end;
    unsigned long long v = env ? strtoull(env, &end, 10) : 0;
    return env && *env && !*end && v > 0 ? (uint64_t)v : (uint64_t)2 << 30;
}

/* ---- in process --------------------------------------------------------- */

static void *heap_alloc(size_t size, void *arg)
{
    void **slot = arg;
    free(*slot);
    *slot = dc_malloc(size ? size : 1); /* malloc's alignment is at least 8 */
    return *slot;
}

static void heap_release(void *block, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    free(block);
}

/* Reads the file at path (data == NULL), or the file image data[0..bytes), with libhdf5
 * here; messages name it `name`. */
static dc_status read_in_process(const char *path, const void *data, size_t bytes,
                                 const char *name, dc_h5snap **out, dc_error *err)
{
    void *block = NULL;
    size_t size = 0;
    dc_status st = data ? dc_h5snap_build_image(data, bytes, max_snapshot_bytes(), heap_alloc,
                                                &block, &size, err)
                        : dc_h5snap_build(path, max_snapshot_bytes(), heap_alloc, &block,
                                          &size, err);
    if (st != DC_OK) {
        free(block);
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return dc_fail(err, st, "%s: %s", name, msg);
    }
    st = dc_h5snap_parse(name, block, size, heap_release, NULL, out, err);
    if (st != DC_OK)
        free(block);
    return st;
}

/* ---- in quarantine ------------------------------------------------------ */

static bool executable(const char *p)
{
    return p && *p && access(p, X_OK) == 0;
}

/* Finds the helper (see h5reader.h for the order); false when there is none. */
static bool find_helper(char *buf, size_t cap)
{
    const char *env = getenv("DUALCNN_H5_HELPER");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return executable(buf);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            if ((size_t)snprintf(buf, cap, "%s/%s", self, HELPER_NAME) < cap && executable(buf))
                return true;
        }
    }
#ifdef DC_H5_HELPER_INSTALLED
    snprintf(buf, cap, "%s", DC_H5_HELPER_INSTALLED);
    if (executable(buf))
        return true;
#endif
#ifdef DC_H5_HELPER_BUILT
    snprintf(buf, cap, "%s", DC_H5_HELPER_BUILT);
    if (executable(buf))
        return true;
#endif
    return false;
}

/* Seconds the helper may take for a file of `bytes`: $DUALCNN_H5_TIMEOUT, else 5 plus 1
 * per 100 MiB. 0: none. */
static double time_limit(uint64_t bytes)
{
    const char *env = getenv("DUALCNN_H5_TIMEOUT");
    if (env && *env) {
        char *end;
        double v = strtod(env, &end);
        if (!*end && v >= 0)
            return v;
    }
    return 5.0 + (double)bytes / (1 << 20) / 100.0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Waits for pid up to limit seconds (0: forever); kills it after. Returns the wait status,
 * or -1 when it was killed for time (or could not be waited for). */
static int wait_helper(pid_t pid, double limit, bool *timed_out)
{
    *timed_out = false;
    double deadline = now_s() + limit;
    long nap_ns = 100000; /* 0.1 ms, doubling to 10 ms */
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, limit > 0 ? WNOHANG : 0);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (r == 0 && now_s() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            *timed_out = true;
            return -1;
        }
        if (r == 0) {
            struct timespec t = { 0, nap_ns };
            nanosleep(&t, NULL);
            if (nap_ns < 10000000)
                nap_ns *= 2;
        }
    }
}

static int anonymous_file(void)
{
#ifdef MFD_CLOEXEC
    int mfd = memfd_create("dualcnn-h5snapshot", MFD_CLOEXEC);
    if (mfd >= 0 || errno != ENOSYS)
        return mfd;
#endif
    FILE *t = tmpfile(); /* unlinked already */
    if (!t)
        return -1;
    int fd = fcntl(fileno(t), F_DUPFD_CLOEXEC, 0);
    fclose(t);
    return fd;
}

static void unmap_release(void *block, size_t size, void *arg)
{
    (void)arg;
    munmap(block, size);
}

/* What the helper reads: the file at `path`, named `name` in messages; with data_fd >= 0,
 * the file image in that anonymous file instead (dc_h5_read_memory), which the helper gets
 * as its descriptor IMAGE_FD. */
typedef struct {
    const char *path, *name;
    int data_fd;
    uint64_t bytes;
} h5_source;

#define IMAGE_FD 4 /* the helper's descriptor of a file image (3: the snapshot) */

static dc_status read_in_quarantine(const h5_source *src, dc_h5snap **out, dc_error *err)
{
    const char *path = src->name; /* in messages */
    char helper[PATH_MAX];
    if (!find_helper(helper, sizeof helper)) {
        const char *env = getenv("DUALCNN_H5_HELPER");
        if (env && *env)
            return dc_fail(err, DC_ERR_IO, "%s: the HDF5 reader helper named by "
                           "DUALCNN_H5_HELPER (%s) is not an executable file", path, env);
        return dc_fail(err, DC_ERR_IO, "%s: cannot find the HDF5 reader helper '" HELPER_NAME
                       "' next to this program (set DUALCNN_H5_HELPER to its path, or "
                       "DUALCNN_H5_READER=in-process to read trusted files in this process)",
                       path);
    }
    /* a missing file is reported here, not as a helper failure */
    if (src->data_fd < 0 && access(src->path, R_OK) != 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    int fd = anonymous_file();
    if (fd < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot create the shared memory for the HDF5 "
                       "reader (%s)", path, strerror(errno));
    char max_bytes[32];
    snprintf(max_bytes, sizeof max_bytes, "%llu", (unsigned long long)max_snapshot_bytes());
    char *argv_file[] = { helper, "--snapshot-fd", "3", "--max-bytes", max_bytes, "--",
                          (char *)src->path, NULL };
    char *argv_image[] = { helper, "--snapshot-fd", "3", "--max-bytes", max_bytes,
                           "--image-fd", "4", NULL };
    char **argv = src->data_fd >= 0 ? argv_image : argv_file;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 3);
    if (src->data_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, src->data_fd, IMAGE_FD);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    /* the helper starts with no signal blocked and the default actions, whatever the
     * calling thread had */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, helper, &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(fd);
        return dc_fail(err, DC_ERR_IO, "%s: cannot start the HDF5 reader helper %s (%s)", path,
                       helper, strerror(rc));
    }
    double limit = time_limit(src->bytes);
    bool timed_out;
    int status = wait_helper(pid, limit, &timed_out);
    if (timed_out) {
        close(fd);
        return dc_fail(err, DC_ERR_FORMAT, "%s: damaged or hostile HDF5 file (the HDF5 library "
                       "did not finish reading it in %.0f s; DUALCNN_H5_TIMEOUT sets the limit)",
                       path, limit);
    }
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        close(fd);
        if (status != -1 && WIFSIGNALED(status))
            return dc_fail(err, DC_ERR_FORMAT, "%s: damaged or hostile HDF5 file (the HDF5 "
                           "library crashed reading it: signal %d)", path, WTERMSIG(status));
        return dc_fail(err, DC_ERR_FORMAT, "%s: damaged or hostile HDF5 file (the HDF5 "
                       "library crashed reading it: the reader exited with status %d)", path,
                       status == -1 ? -1 : WEXITSTATUS(status));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0) {
        close(fd);
        return dc_fail(err, DC_ERR_FORMAT, "%s: the HDF5 reader helper returned nothing", path);
    }
    size_t size = (size_t)sb.st_size;
    void *block = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd); /* the mapping keeps the memory */
    if (block == MAP_FAILED)
        return dc_fail(err, DC_ERR_NOMEM, "%s: cannot map the HDF5 reader's %zu bytes (%s)",
                       path, size, strerror(errno));
    dc_status st = dc_h5snap_parse(path, block, size, unmap_release, NULL, out, err);
    if (st != DC_OK)
        munmap(block, size);
    return st;
}

dc_status dc_h5_read_file(const char *path, dc_h5snap **out, dc_error *err)
{
    *out = NULL;
    if (dc_h5_reader_mode_in_use() == DC_H5_READER_IN_PROCESS)
        return read_in_process(path, NULL, 0, path, out, err);
    struct stat sb;
    h5_source src = { path, path, -1, stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0 };
    return read_in_quarantine(&src, out, err);
}

/* ---- an HDF5 file image in memory ---------------------------------------- */

/* Copies size bytes into a new anonymous file (memfd), its descriptor at 10 or above (so
 * that the helper's dup2 to IMAGE_FD never finds it already there); -1 and errno on
 * failure. */
static int file_of_bytes(const void *data, size_t size)
{
    int fd = anonymous_file();
    if (fd < 0)
        return -1;
    if (fd < 10) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
        int saved = errno;
        close(fd);
        if (high < 0) {
            errno = saved;
            return -1;
        }
        fd = high;
    }
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, (const char *)data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = n < 0 ? errno : EIO;
            close(fd);
            errno = saved;
            return -1;
        }
        done += (size_t)n;
    }
    return fd;
}

dc_status dc_h5_read_memory(const void *data, size_t size, const char *name,
                            dc_h5snap **out, dc_error *err)
{
    *out = NULL;
    if (!name)
        name = "<memory>";
    if (!data || size == 0)
        return dc_fail(err, DC_ERR_ARG, "%s: no bytes to read (%s)", name,
                       data ? "size 0" : "NULL data");
    if (dc_h5_reader_mode_in_use() == DC_H5_READER_IN_PROCESS)
        return read_in_process(NULL, data, size, name, out, err);
    int fd = file_of_bytes(data, size);
    if (fd < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot copy the %zu bytes into an anonymous file "
                       "for the HDF5 reader (%s)", name, size, strerror(errno));
    h5_source src = { NULL, name, fd, (uint64_t)size };
    dc_status st = read_in_quarantine(&src, out, err);
    close(fd);
    return st;
}
