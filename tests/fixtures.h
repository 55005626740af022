/* fixtures.h — what the Check unit tests share: the runner (FX_MAIN, fx_run), files and
 * temporaries, random numbers and guarded buffers, reference scripts, the skip convention.
 * The helpers only a few tests need are beside it: fx_bytes.h (files built byte by byte),
 * fx_energy.h (fake sysfs trees), fx_table.h (two models' prediction tables). */
#ifndef DC_TEST_FIXTURES_H
#define DC_TEST_FIXTURES_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the runner ------------------------------------------------------------------------ */

/* Adds a test case named name to s and returns it, for tcase_add_test. timeout_s > 0 sets its
 * timeout in seconds; 0 keeps Check's default ($CK_DEFAULT_TIMEOUT, else 4 s). Either is
 * scaled by $CK_TIMEOUT_MULTIPLIER. */
TCase *fx_tcase(Suite *s, const char *name, int timeout_s);

/* Runs every test of s in Check's normal mode (CK_NORMAL output; forks each test unless
 * $CK_FORK=no), frees the runner and with it s, and returns the program's exit status:
 * fx_exit_status(number of tests failed). */
int fx_run(Suite *s);

/* The main of a test program: FX_MAIN(x_suite) runs the suite x_suite() makes. A program
 * that must prepare something first (environment, library state) writes its own main and
 * ends it with return fx_run(x_suite()). */
#define FX_MAIN(make_suite)              \
    int main(void)                       \
    {                                    \
        return fx_run(make_suite());     \
    }

/* ---- files and numbers ------------------------------------------------------------------ */

/* A directory tests may write into: $DUALCNN_TEST_TMP, else /tmp. */
const char *fx_tmpdir(void);

/* Writes "<tmpdir>/<name>" into buf (size n) and returns buf. */
char *fx_path(char *buf, size_t n, const char *name);

/* Deterministic pseudo-random numbers (splitmix64), independent of libc's rand(). */
typedef struct { uint64_t state; } fx_rng;
fx_rng fx_rng_seed(uint64_t seed);
uint64_t fx_rng_u64(fx_rng *r);
float fx_rng_uniform(fx_rng *r, float lo, float hi); /* in [lo, hi) */

/* Fills x[0..n) with uniform values in [lo, hi). */
void fx_fill_uniform(float *x, size_t n, fx_rng *r, float lo, float hi);

/* Output buffers that catch a kernel writing past their end: n floats followed by FX_GUARD
 * floats of FX_GUARD_VALUE. fx_buf_new fills all with FX_GUARD_VALUE, fx_buf_random the n
 * floats with uniform values in [lo, hi); free them with free. fx_buf_check fails the test,
 * naming what, when a guard float changed. */
#define FX_GUARD 16
#define FX_GUARD_VALUE (-12345.5f)
float *fx_buf_new(size_t n);
float *fx_buf_random(size_t n, fx_rng *r, float lo, float hi);
void fx_buf_check(const float *p, size_t n, const char *what);

/* Largest |a[i] - b[i]| and largest |b[i]|. */
float fx_max_abs_diff(const float *a, const float *b, size_t n);
float fx_max_abs(const float *x, size_t n);

/* Writes len bytes to path; returns 0 on success. */
int fx_write_file(const char *path, const void *data, size_t len);

/* The whole file at path, malloc'd with a NUL byte after its end (so a text file is also a
 * string); its size goes to *len unless len is NULL. The test fails when the file cannot be
 * read. The caller frees it. */
void *fx_read_file(const char *path, size_t *len);

/* The first 8191 bytes of the text file at path, as a string in a buffer that the next call
 * overwrites; NULL when the file cannot be opened (no file: no string). */
const char *fx_read_text(const char *path);

/* The path of a weight file shipped in weights/ ("<$DUALCNN_SOURCE_ROOT>/weights/<rel>",
 * rel such as "fashionmnist/resnet20.h5") into buf (size n); returns buf. The test fails
 * when DUALCNN_SOURCE_ROOT is not set (tests/meson.build sets it). */
char *fx_shipped_weights(char *buf, size_t n, const char *rel);

/* The temporaries "<prefix>*.tmp-*" that an atomic writer leaves in fx_tmpdir() when it
 * stops half-way. With remove_them, deletes them (stale ones from an earlier, killed run)
 * and returns 0; otherwise names each on stderr and returns how many there are. */
int fx_temporaries(const char *prefix, bool remove_them);

/* Seconds on the monotonic clock, and a sleep of s seconds that signals do not cut short. */
double fx_now(void);
void fx_sleep(double s);

/* ---- reference scripts ------------------------------------------------------------------ */

/* The interpreter the reference scripts run under: Debian's, with its NumPy, PIL, torchvision
 * and OpenCV packages. */
#define FX_PYTHON "/usr/bin/python3"

/* What fx_python returns when FX_PYTHON is not installed. */
#define FX_NO_PYTHON (-2)

/* The path of a file of tests/ (a reference script such as hash_reference.py) into buf (size
 * n): beside __FILE__ when that path is absolute; else, Meson compiling with paths relative to
 * the build root (two levels above a test program), under the build root when the file is
 * there, else relative to the working directory. */
char *fx_source_path(char *buf, size_t n, const char *name);

/* Writes script to "<tmpdir>/<name>" and runs FX_PYTHON on it with arg as its argument.
 * Returns the script's exit status (the scripts exit 77 when a module they import is
 * missing), FX_NO_PYTHON when FX_PYTHON is not installed (nothing is run), or -1 when it did
 * not exit normally. */
int fx_python(const char *name, const char *script, const char *arg);

/* Whether FX_PYTHON imports modules (such as "cv2, numpy"). *known caches the answer (start
 * it at -1); the first time the answer is no, fx_skip("%s", reason) says why. */
bool fx_python_has(int *known, const char *modules, const char *reason);

/* ---- skips ------------------------------------------------------------------------------ */

/* The skip convention (docs/robustness.md, "Test conventions"). A check that cannot run
 * because an optional dependency is missing calls fx_skip, which prints
 *     SKIP-REASON: <reason>
 * on stdout and marks the executable as having skipped something (in memory shared with
 * Check's forked test processes). fx_run returns fx_exit_status(failed): 1 when a test
 * failed, else 77 (meson's SKIP) when something was skipped, else 0. A check whose input
 * is missing for any other reason must fail, never skip. */
void fx_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fx_exit_status(int failed);

#endif
