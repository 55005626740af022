/*
 * pool.c — the thread pool of pool.h.
 *
 * A job is (fn, ctx, n_tasks). Tasks are claimed with one 64-bit word, generation << 32 |
 * next task, advanced by compare-and-swap: a claim can only succeed for the job that is
 * current, so a worker that wakes late never runs a task of a job already finished. The
 * job's fields are written before its generation is published and are rewritten only
 * after every task of it has finished (done == n_tasks), so a thread holding a claim
 * always reads its own job.
 *
 * Waiting: an idle worker spins (with the CPU's pause hint) for DC_POOL_SPIN_US, then
 * sleeps on a condition variable; the caller wakes sleepers only when there are any.
 * The sleeper count is raised under the lock before the generation is re-checked, and the
 * caller publishes the generation before reading the count (both sequentially consistent),
 * so a wake-up is never lost.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "base/pool.h"
#include "base/alloc.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax(void) { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax(void) { __asm__ __volatile__("yield"); }
#else
static inline void cpu_relax(void) {}
#endif

/* How long an idle worker spins before it sleeps, in microseconds (the environment
 * variable DUALCNN_SPIN_US overrides it; 0 sleeps at once). Between the nodes of one
 * forward pass the next job comes within microseconds; between inputs of a cascade
 * run, after decoding and preprocessing: usually within a fraction of a millisecond. */
#define DC_POOL_SPIN_US 300

struct dc_pool {
    int threads;              /* the caller included */
    int started;              /* worker threads running (threads - 1, or 0 after a failure) */
    pthread_t *workers;
    long spin_ns;

    dc_pool_fn fn;            /* the current job */
    void *ctx;
    _Atomic int max_threads;  /* threads 0 .. max_threads - 1 may claim its tasks */
    uint32_t last_gen;        /* the caller's copy of the latest generation */
    _Atomic int n_tasks;
    _Atomic uint64_t claim;   /* generation << 32 | next task */
    _Atomic int done;         /* tasks of the current job finished */
    _Atomic uint32_t gen;     /* the latest published generation */
    _Atomic int stop;
    _Atomic int sleepers;
    _Atomic int busy;         /* a caller owns the workers (dc_pool_run from two threads) */
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

typedef struct {
    dc_pool *pool;
    int thread;
} worker_arg;

/* Set on worker threads and on the caller while it runs tasks: a dc_pool_run from there
 * runs serially. */
static _Thread_local int inside_pool;

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int dc_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int dc_default_thread_count(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    if (env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (end != env && (*end == '\0' || *end == ',') && n > 0 && n <= 4096)
            return (int)n;
    }
    return dc_cpu_count();
}

/* Claims and runs tasks of the current job until none is left (or none is for this
 * thread: a job limited to fewer threads). The job's n_tasks and max_threads read after
 * its claim word are its own: they are written before that word is published, and
 * rewritten only once every task of it is done, after which the claim below fails. */
static void run_tasks(dc_pool *pool, int thread)
{
    for (;;) {
        uint64_t word = atomic_load_explicit(&pool->claim, memory_order_acquire);
        uint32_t next = (uint32_t)word;
        if ((int)next >= atomic_load_explicit(&pool->n_tasks, memory_order_acquire) ||
            thread >= atomic_load_explicit(&pool->max_threads, memory_order_acquire))
            return;
        if (!atomic_compare_exchange_weak_explicit(&pool->claim, &word, word + 1,
                                                   memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        pool->fn(pool->ctx, (int)next, thread);
        atomic_fetch_add_explicit(&pool->done, 1, memory_order_release);
    }
}

/* Waits until a generation other than `seen` is published (returns 1) or the pool stops
 * (returns 0): spins for spin_ns, then sleeps. */
static int wait_for_job(dc_pool *pool, uint32_t seen)
{
    long deadline = now_ns() + pool->spin_ns;
    for (unsigned spins = 1;; spins++) {
        if (atomic_load(&pool->stop))
            return 0;
        if (atomic_load(&pool->gen) != seen)
            return 1;
        cpu_relax();
        if (spins % 256 == 0 && now_ns() > deadline)
            break;
    }
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add(&pool->sleepers, 1);
    while (atomic_load(&pool->gen) == seen && !atomic_load(&pool->stop))
        pthread_cond_wait(&pool->wake, &pool->lock);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->lock);
    return !atomic_load(&pool->stop);
}

static void *worker_main(void *p)
{
    worker_arg arg = *(worker_arg *)p;
    free(p);
    inside_pool = 1;
    uint32_t seen = atomic_load(&arg.pool->gen);
    while (wait_for_job(arg.pool, seen)) {
        seen = atomic_load(&arg.pool->gen);
        run_tasks(arg.pool, arg.thread);
    }
    return NULL;
}

static void pool_stop(dc_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->started; i++)
        pthread_join(pool->workers[i], NULL);
    pool->started = 0;
    atomic_store(&pool->stop, 0);
}

/* Starts threads - 1 workers; on failure keeps those started (or none) and says so. */
static void pool_start(dc_pool *pool, int threads)
{
    pool->threads = threads;
    pool->started = 0;
    free(pool->workers);
    pool->workers = threads > 1 ? dc_calloc((size_t)threads - 1, sizeof *pool->workers) : NULL;
    for (int i = 0; pool->workers && i < threads - 1; i++) {
        worker_arg *arg = dc_malloc(sizeof *arg);
        if (!arg)
            break;
        *arg = (worker_arg){ pool, i + 1 };
        if (pthread_create(&pool->workers[i], NULL, worker_main, arg) != 0) {
            free(arg);
            break;
        }
        pool->started++;
    }
    if (pool->started < threads - 1) {
        fprintf(stderr, "dualcnn: could only start %d of %d threads; running on %d\n",
                pool->started + 1, threads, pool->started + 1);
        pool->threads = pool->started + 1;
    }
}

static dc_pool default_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};
static int default_threads;   /* requested; 0 = not set (CPU count) */
static int default_ready;

static void default_pool_init(int threads)
{
    const char *spin = getenv("DUALCNN_SPIN_US");
    long us = spin && *spin ? strtol(spin, NULL, 10) : DC_POOL_SPIN_US;
    default_pool.spin_ns = (us < 0 ? 0 : us) * 1000L;
    pool_start(&default_pool, threads);
    default_ready = 1;
}

dc_pool *dc_pool_default(void)
{
    if (!default_ready)
        default_pool_init(default_threads > 0 ? default_threads : dc_default_thread_count());
    return &default_pool;
}

int dc_pool_set_default_threads(int n)
{
    if (n < 1)
        n = 1;
    default_threads = n;
    if (default_ready && default_pool.threads != n) {
        pool_stop(&default_pool);
        pool_start(&default_pool, n);
    } else if (!default_ready) {
        default_pool_init(n);
    }
    return default_pool.threads;
}

int dc_pool_threads(const dc_pool *pool)
{
    return pool->threads;
}

void dc_pool_run(dc_pool *pool, int n_tasks, dc_pool_fn fn, void *ctx)
{
    dc_pool_run_on(pool, 0, n_tasks, fn, ctx);
}

void dc_pool_run_on(dc_pool *pool, int max_threads, int n_tasks, dc_pool_fn fn, void *ctx)
{
    if (n_tasks <= 0)
        return;
    if (max_threads <= 0 || max_threads > pool->threads)
        max_threads = pool->threads;
    int idle = 0;
    /* serially on the caller's thread: no workers, one task or one thread allowed, a run
     * from inside a task, or another thread owns the workers now (several dc_ctx passes
     * at once) */
    if (pool->started == 0 || n_tasks == 1 || max_threads == 1 || inside_pool ||
        !atomic_compare_exchange_strong(&pool->busy, &idle, 1)) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->max_threads, max_threads, memory_order_relaxed);
    atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->n_tasks, n_tasks, memory_order_relaxed);
    uint32_t gen = ++pool->last_gen;
    atomic_store_explicit(&pool->claim, (uint64_t)gen << 32, memory_order_release);
    atomic_store(&pool->gen, gen);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }

    inside_pool = 1;
    run_tasks(pool, 0);
    inside_pool = 0;
    /* every task is claimed; wait for those still running on other threads */
    for (unsigned spins = 1;
         atomic_load_explicit(&pool->done, memory_order_acquire) < n_tasks; spins++) {
        cpu_relax();
        if (spins % 4096 == 0)
            sched_yield(); /* a worker holding a task may share our core */
    }
    atomic_store(&pool->busy, 0);
}
