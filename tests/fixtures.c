#include "fixtures.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *fx_tmpdir(void)
{
    const char *d = getenv("DUALCNN_TEST_TMP");
    return (d && *d) ? d : "/tmp";
}

char *fx_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", fx_tmpdir(), name);
    return buf;
}

fx_rng fx_rng_seed(uint64_t seed)
{
    fx_rng r = { seed };
    return r;
}

uint64_t fx_rng_u64(fx_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float fx_rng_uniform(fx_rng *r, float lo, float hi)
{
    double u = (double)(fx_rng_u64(r) >> 11) / 9007199254740992.0; /* [0,1) */
    return (float)(lo + (hi - lo) * u);
}

void fx_fill_uniform(float *x, size_t n, fx_rng *r, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = fx_rng_uniform(r, lo, hi);
}

float *fx_buf_new(size_t n)
{
    float *p = malloc((n + FX_GUARD) * sizeof(float));
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n + FX_GUARD; i++)
        p[i] = FX_GUARD_VALUE;
    return p;
}

float *fx_buf_random(size_t n, fx_rng *r, float lo, float hi)
{
    float *p = fx_buf_new(n);
    fx_fill_uniform(p, n, r, lo, hi);
    return p;
}

void fx_buf_check(const float *p, size_t n, const char *what)
{
    for (size_t i = n; i < n + FX_GUARD; i++)
        if (p[i] != FX_GUARD_VALUE)
            ck_abort_msg("%s: wrote past the end (index %zu of %zu)", what, i, n);
}

float fx_max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

float fx_max_abs(const float *x, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) > m)
            m = fabsf(x[i]);
    return m;
}

int fx_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

void *fx_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    ck_assert_msg(size >= 0, "cannot tell the size of %s", path);
    unsigned char *buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)size;
    return buf;
}

const char *fx_read_text(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

char *fx_shipped_weights(char *buf, size_t n, const char *rel)
{
    const char *root = getenv("DUALCNN_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "DUALCNN_SOURCE_ROOT is not set (tests/meson.build sets it)");
    snprintf(buf, n, "%s/weights/%s", root, rel);
    return buf;
}

int fx_temporaries(const char *prefix, bool remove_them)
{
    DIR *d = opendir(fx_tmpdir());
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    size_t len = strlen(prefix);
    int found = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, len) == 0 && strstr(e->d_name, ".tmp-")) {
            char path[1024];
            fx_path(path, sizeof path, e->d_name);
            if (remove_them) {
                remove(path);
            } else {
                fprintf(stderr, "temporary file left: %s\n", path);
                found++;
            }
        }
    closedir(d);
    return found;
}

double fx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fx_sleep(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

char *fx_source_path(char *buf, size_t n, const char *name)
{
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    const char *dir = dirname(src);
    if (dir[0] == '/') {
        snprintf(buf, n, "%s/%s", dir, name);
        return buf;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *root = dirname(dirname(exe));
        snprintf(buf, n, "%s/%s/%s", root, dir, name);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

int fx_python(const char *name, const char *script, const char *arg)
{
    if (access(FX_PYTHON, X_OK) != 0)
        return FX_NO_PYTHON;
    char spath[512], cmd[1400];
    fx_path(spath, sizeof spath, name);
    ck_assert_int_eq(fx_write_file(spath, script, strlen(script)), 0);
    snprintf(cmd, sizeof cmd, FX_PYTHON " '%s' '%s'", spath, arg);
    int rc = system(cmd);
    return (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
}

bool fx_python_has(int *known, const char *modules, const char *reason)
{
    if (*known < 0) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, FX_PYTHON " -c 'import %s' >/dev/null 2>&1", modules);
        *known = system(cmd) == 0;
        if (!*known)
            fx_skip("%s", reason);
    }
    return *known == 1;
}

/* Set by fx_skip in any process; shared with the processes Check forks, because it is
 * mapped before main runs. */
static volatile int *fx_skipped;

__attribute__((constructor)) static void fx_skip_init(void)
{
    void *p = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("fixtures: mmap");
        abort();
    }
    fx_skipped = p;
}

void fx_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("SKIP-REASON: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
    *fx_skipped = 1;
}

int fx_exit_status(int failed)
{
    if (failed)
        return EXIT_FAILURE;
    return *fx_skipped ? 77 : EXIT_SUCCESS;
}

TCase *fx_tcase(Suite *s, const char *name, int timeout_s)
{
    TCase *tc = tcase_create(name);
    if (timeout_s > 0)
        tcase_set_timeout(tc, timeout_s);
    suite_add_tcase(s, tc);
    return tc;
}

int fx_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return fx_exit_status(failed);
}
