/*
 * fuzz_common.c — the temporary directory of the harnesses and what several share
 * (fuzz_common.h).
 */
#include "fuzz_common.h"

#include "loaders/weights.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[4096];
static pid_t owner;

/* Removes path and, when it is a directory, everything under it. */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[4096 + 256];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void cleanup(void)
{
    if (tmpdir[0] && getpid() == owner)
        remove_tree(tmpdir);
}

const char *fuzz_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/dcfuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "fuzz: cannot create %s: %s\n", tmpdir, strerror(errno));
            abort();
        }
        owner = getpid();
        atexit(cleanup);
    }
    return tmpdir;
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t n)
{
    static char path[4096 + 256];
    const char *slash = strchr(name, '/');
    if (slash) {
        snprintf(path, sizeof path, "%s/%.*s", fuzz_tmpdir(), (int)(slash - name), name);
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "fuzz: cannot create %s: %s\n", path, strerror(errno));
            abort();
        }
    }
    snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
    return path;
}

void fuzz_remove(const char *name)
{
    char path[4096 + 256];
    snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), name);
    if (unlink(path) != 0)
        rmdir(path);
}

fuzz_split fuzz_split_input(const uint8_t *data, size_t size)
{
    fuzz_split s = { 0, data, data, 0, 0 };
    if (size < 3)
        return s;
    s.flags = data[0];
    size_t na = (size_t)data[1] | (size_t)data[2] << 8;
    size -= 3;
    data += 3;
    if (na > size)
        na = size;
    s.a = data;
    s.na = na;
    s.b = data + na;
    s.nb = size - na;
    return s;
}

dc_status fuzz_result(dc_status st, const dc_error *err)
{
    static int expect_ok = -1;
    if (expect_ok < 0) {
        const char *e = getenv("DC_FUZZ_EXPECT_OK");
        expect_ok = e && strcmp(e, "1") == 0;
    }
    if (st != DC_OK && expect_ok) {
        fprintf(stderr, "fuzz: a seed failed to parse: %s\n", err->msg);
        abort();
    }
    return st;
}

void fuzz_weights_read_model(dc_weights *w, dc_error *err)
{
    float conv[2 * 1 * 3 * 3], bias[3];
    const int64_t conv_shape[] = { 2, 1, 3, 3 }, bias_shape[] = { 3 };
    if (fuzz_result(dc_weights_read(w, "conv.weight", 4, conv_shape, conv, err), err) == DC_OK)
        for (int i = 0; i < 18; i++)
            if (!isfinite(conv[i]))
                abort();
    if (fuzz_result(dc_weights_read(w, "fc.bias", 1, bias_shape, bias, err), err) == DC_OK)
        for (int i = 0; i < 3; i++)
            if (!isfinite(bias[i]))
                abort();
    (void)fuzz_result(dc_weights_check_all_used(w, err), err);
    dc_weights_close(w);
}
