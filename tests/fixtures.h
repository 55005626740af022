/* fixtures.h — helpers shared by the Check unit tests. */
#ifndef DC_TEST_FIXTURES_H
#define DC_TEST_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

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

/* Largest |a[i] - b[i]| and largest |b[i]|. */
float fx_max_abs_diff(const float *a, const float *b, size_t n);
float fx_max_abs(const float *x, size_t n);

/* Writes len bytes to path; returns 0 on success. */
int fx_write_file(const char *path, const void *data, size_t len);

/* The skip convention (docs/robustness.md, "Test conventions"). A check that cannot run
 * because an optional dependency is missing calls fx_skip, which prints
 *     SKIP-REASON: <reason>
 * on stdout and marks the executable as having skipped something (in memory shared with
 * Check's forked test processes). main returns fx_exit_status(failed): 1 when a test
 * failed, else 77 (meson's SKIP) when something was skipped, else 0. A check whose input
 * is missing for any other reason must fail, never skip. */
void fx_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fx_exit_status(int failed);

#endif
