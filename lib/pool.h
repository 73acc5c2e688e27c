/*
 * A persistent pool of worker threads, one per context, that runs the
 * tasks of one parallel loop at a time. The caller is one of the threads:
 * a pool of n runs on the caller plus n - 1 workers, created on the first
 * parallel run, parked on a condition variable between runs after a short
 * spin.
 *
 * Rules that keep it from deadlocking or racing:
 * - One run at a time. A caller that finds the pool busy (another thread
 *   of the process is running a parallel loop on this context) runs its
 *   tasks itself, serially: it never waits for the pool.
 * - After fork() the child has none of the parent's workers; a pool used in
 *   a child runs every task on the calling thread.
 * - Tasks never call back into the pool.
 */
#ifndef AJ_POOL_H
#define AJ_POOL_H

#include <stdint.h>

typedef struct aj_pool aj_pool;

/* The least work, in simple streaming elements, for a kernel to run on
 * several threads, by default: the crossover measured by
 * `arrjit-bench --crossover` (bench/RESULTS.md). */
#define AJ_MIN_PARALLEL ((int64_t)1 << 15)

/* The most tasks one run may have. */
#define AJ_POOL_MAX_TASKS ((int64_t)1 << 20)

typedef void (*aj_task_fn)(void *arg, int64_t task);

/* A pool of nthreads threads (caller included), >= 1. NULL when out of
 * memory. No thread starts until the first run that needs it. */
aj_pool *aj_pool_new(int nthreads);
/* Stops and joins the workers. No run may be in progress. */
void aj_pool_free(aj_pool *pool);
int aj_pool_threads(const aj_pool *pool);
/* Sets the threads of later runs (clamped to 1 .. 256); safe while other
 * threads run. */
void aj_pool_set_threads(aj_pool *pool, int nthreads);

/*
 * Runs fn(arg, t) for every t in [0, ntask) (ntask <= AJ_POOL_MAX_TASKS),
 * each exactly once, on the pool's threads, and returns when all are done.
 * Which thread runs a task, and in what order, is unspecified. Returns the
 * number of threads the tasks were offered to (1: the caller ran them all).
 */
int aj_pool_run(aj_pool *pool, int64_t ntask, aj_task_fn fn, void *arg);

#endif
