/* fx_energy.h — what the energy tests share (tests/test_energy.c, test_energy_sources.c):
 * fake sysfs trees built under the test directory, and the cascade/energy.h calls a test
 * expects to succeed. Every helper fails the calling test (Check) when it cannot do its job. */
#ifndef DC_TEST_FX_ENERGY_H
#define DC_TEST_FX_ENERGY_H

#include "cascade/energy.h"

/* The size of every path buffer the helpers write. */
#define FX_PATH_SIZE 600

/* printf into buf (FX_PATH_SIZE bytes), failing the test when the text does not fit. */
char *fx_pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes "<tmpdir>/<prefix>-<name>-<pid>" empty (removing what an earlier run left) and
 * writes its path into root (FX_PATH_SIZE bytes). */
void fx_tree_make(char *root, const char *prefix, const char *name);

/* Removes the tree at root, links not followed; a missing tree is no error. */
void fx_tree_remove(const char *root);

/* mkdir of the path fmt makes, mode 0755. */
void fx_tree_mkdirf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes text to dir/file atomically, as sysfs shows a value: a new file ".<file>.new"
 * renamed over the old one, so a reader never sees half a value. */
void fx_tree_put(const char *dir, const char *file, const char *text);
void fx_tree_putf(const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* dc_energy_open_with(kind, opts), which must succeed; kind NULL is "auto". */
dc_energy *fx_energy_open_ok(const char *kind, const dc_energy_opts *opts);
/* dc_energy_start, dc_energy_poll and dc_energy_read, which must succeed; the joules read. */
void fx_energy_start_ok(dc_energy *e);
void fx_energy_poll_ok(dc_energy *e);
double fx_energy_read_ok(dc_energy *e);

#endif
