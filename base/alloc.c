/* alloc.c — the allocation wrappers and their failure hook (alloc.h). */
#include "base/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long countdown = -1; /* allocations left before failing; < 0: never fail */
static atomic_long requests, failures;
static atomic_bool persistent_failure;

void dc_alloc_fail_after(long k, bool persistent)
{
    atomic_store(&requests, 0);
    atomic_store(&failures, 0);
    atomic_store(&persistent_failure, persistent);
    atomic_store(&countdown, k < 0 ? -1 : k);
}

long dc_alloc_requests(void)
{
    return atomic_load(&requests);
}

long dc_alloc_failures(void)
{
    return atomic_load(&failures);
}

/* True when this allocation is to fail. The counter goes k, k-1, ..., 0: the call that
 * finds 0 fails and leaves -1 behind (off again), or 0 again when failures persist. */
static bool injected_failure(void)
{
    if (atomic_load_explicit(&countdown, memory_order_relaxed) < 0)
        return false;
    atomic_fetch_add(&requests, 1);
    long left = atomic_fetch_sub(&countdown, 1);
    if (left != 0)
        return false;
    if (atomic_load(&persistent_failure))
        atomic_store(&countdown, 0);
    atomic_fetch_add(&failures, 1);
    return true;
}

void *dc_malloc(size_t n)
{
    return injected_failure() ? NULL : malloc(n);
}

void *dc_calloc(size_t count, size_t size)
{
    return injected_failure() ? NULL : calloc(count, size);
}

void *dc_realloc(void *p, size_t n)
{
    return injected_failure() ? NULL : realloc(p, n);
}

void *dc_aligned_alloc(size_t alignment, size_t n)
{
    if (injected_failure())
        return NULL;
    size_t rounded = (n + alignment - 1) / alignment * alignment; /* C11 7.22.3.1 */
    return aligned_alloc(alignment, rounded ? rounded : alignment);
}

char *dc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dc_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
