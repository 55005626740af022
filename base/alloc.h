/*
 * alloc.h — every allocation the library makes goes through these wrappers, so that a test
 * can make the k-th one fail and check the error path (tests/test_alloc_failure.c), as
 * SQLite does with sqlite3_malloc. They behave exactly like the C library's functions;
 * memory from them is released with free().
 *
 * Allocations made inside other libraries (libhdf5, libpng, OpenBLAS) are not counted.
 */
#ifndef DC_BASE_ALLOC_H
#define DC_BASE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *dc_malloc(size_t n);
void *dc_calloc(size_t count, size_t size);
void *dc_realloc(void *p, size_t n);
void *dc_aligned_alloc(size_t alignment, size_t n); /* n is rounded up to the alignment */
char *dc_strdup(const char *s);

/* Test hook. After this call the next `k` allocations succeed and the (k+1)-th fails (and,
 * when persistent, every one after it too); k < 0 turns failures off. Process-wide. */
void dc_alloc_fail_after(long k, bool persistent);

/* Allocations requested since the last dc_alloc_fail_after call, and how many of them
 * were made to fail. */
long dc_alloc_requests(void);
long dc_alloc_failures(void);

#endif /* DC_BASE_ALLOC_H */
