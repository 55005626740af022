/*
 * sysfs.h — the small text files of Linux sysfs that the energy sources read (one value per
 * file), with errors that name the file. For cascade/energy_*.c only.
 *
 * Each source passes `who` ("hwmon", "INA3221", "perf"), which starts every message:
 *     "hwmon unreadable: /sys/class/hwmon/hwmon2/energy1_input: Permission denied (...)"
 */
#ifndef DC_CASCADE_SYSFS_H
#define DC_CASCADE_SYSFS_H

#include "dualcnn.h"

#include <stddef.h>
#include <stdint.h>

/* "dir/name" in new memory (dc_malloc; the caller frees); NULL when out of memory. */
char *dc_sysfs_join(const char *dir, const char *name);

/* The value of environment variable env when set and not empty, else fallback. */
const char *dc_sysfs_root(const char *env, const char *fallback);

/* Fails with DC_ERR_IO: "<who> unreadable: <path>: <strerror(e)>", with how to fix a
 * permission error. Returns DC_ERR_IO. */
dc_status dc_sysfs_fail_unreadable(dc_error *err, const char *who, const char *path, int e);

/* Reads the whole small file at path into buf (cap bytes, NUL-terminated, trailing white
 * space trimmed). DC_ERR_IO naming the file when it cannot be opened or read (a directory
 * in its place, a dangling link, a file removed). */
dc_status dc_sysfs_read_text(const char *who, const char *path, char *buf, size_t cap,
                             dc_error *err);

/* Reads a file holding one unsigned decimal number. DC_ERR_FORMAT naming the file and the
 * text for anything else; errors of dc_sysfs_read_text. */
dc_status dc_sysfs_read_u64(const char *who, const char *path, uint64_t *v, dc_error *err);

/* Reads a file holding one decimal integer, maybe negative (a current). As above. */
dc_status dc_sysfs_read_i64(const char *who, const char *path, int64_t *v, dc_error *err);

#endif /* DC_CASCADE_SYSFS_H */
