/*
 * pool.h — the engine's thread pool: one set of worker threads for the whole process,
 * started once, that runs "task" loops (parallel for) for the net runtime.
 *
 * Why our own pool (and not OpenMP or OpenBLAS threads): at batch 1 the parallel work is
 * inside a node (output-channel blocks x pixel tiles of one conv), each thread calling
 * single-threaded SGEMM on its own tile. One pool, no thread start-up per layer, and a wait
 * policy we control: an idle worker spins briefly (a node usually follows within
 * microseconds), then sleeps on a condition variable, so a busy machine is not slowed by
 * threads spinning for nothing (the OMP_WAIT_POLICY problem).
 *
 *     dc_pool *pool = dc_pool_default();
 *     dc_pool_run(pool, n_tasks, fn, ctx);   // fn(ctx, task, thread) for every task
 *
 * Tasks are handed out dynamically (an atomic counter): a thread that finishes early takes
 * the next task, so a descheduled thread costs only its current task. The caller takes part
 * as thread 0 and returns when every task has finished. A dc_pool_run from inside a task
 * runs its tasks serially on the calling thread (no nested parallelism), and so does one
 * from a second thread while another owns the workers (several dc_ctx passes at once).
 */
#ifndef DC_BASE_POOL_H
#define DC_BASE_POOL_H

typedef struct dc_pool dc_pool;

/* Runs task `task` (0 <= task < n_tasks) on pool thread `thread` (0 <= thread < threads). */
typedef void (*dc_pool_fn)(void *ctx, int task, int thread);

/* The process-wide pool, created on first use with dc_pool_set_default_threads()'s count
 * (default: dc_default_thread_count()). Never NULL: if worker threads cannot be started
 * the pool runs everything on the caller (and says so once on stderr). */
dc_pool *dc_pool_default(void);

/* Sets the thread count of the default pool (n >= 1; the caller counts as one thread).
 * Restarts the workers if the pool exists with another count. Not thread-safe against a
 * concurrent dc_pool_run on the default pool. Returns the count now in effect. */
int dc_pool_set_default_threads(int n);

/* Threads of a pool (the caller included), >= 1. */
int dc_pool_threads(const dc_pool *pool);

/* Runs fn for every task in [0, n_tasks) and returns when all have finished. n_tasks <= 0
 * does nothing. One dc_pool_run at a time per pool (callers serialise). */
void dc_pool_run(dc_pool *pool, int n_tasks, dc_pool_fn fn, void *ctx);

/* dc_pool_run on at most max_threads threads: only threads 0 .. max_threads - 1 (the caller
 * and the first workers) claim tasks, so fn sees thread < max_threads. max_threads <= 0 or
 * above dc_pool_threads(pool) means all of them. Which thread runs a task changes nothing
 * but the time: the tasks are the caller's. */
void dc_pool_run_on(dc_pool *pool, int max_threads, int n_tasks, dc_pool_fn fn, void *ctx);

/* CPUs this process may run on (its affinity mask), at least 1. */
int dc_cpu_count(void);

/* The default pool's thread count when none is set: $OMP_NUM_THREADS when it holds a
 * positive count (the variable users of OpenMP programs already set), else
 * dc_cpu_count(). */
int dc_default_thread_count(void);

#endif /* DC_BASE_POOL_H */
