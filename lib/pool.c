/*
 * The thread pool (pool.h). One word holds a run: its generation, its task
 * count and the next unclaimed task. Threads claim tasks by compare-and-
 * swap on that word, so a claim names its run and a thread that wakes late
 * can never take a task of the next run: the caller publishes run g + 1
 * only after every task of g has finished, and by then no claim of g can
 * succeed (the word shows g with next == ntask, or has moved on).
 *
 * The job's function and argument are written before the word is
 * published (release) and read after a successful claim (acquire).
 *
 * Sleeping: a worker spins briefly, then sleeps on `wake`. The caller
 * stores the word and then reads `sleeping`; a worker increments
 * `sleeping` and then reads the word (all sequentially consistent), so
 * either the caller sees a sleeper and broadcasts under the lock, or the
 * worker sees the new run and stays awake.
 */
#include "pool.h"

#include "alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

enum { FIELD = 21, SPIN = 4000, MAX_WORKERS = 255 };

#define MASK (((uint64_t)1 << FIELD) - 1)
#define NTASK(w) ((int64_t)((w) >> FIELD & MASK))
#define NEXT(w) ((int64_t)((w)&MASK))
#define GEN(w) ((w) >> (2 * FIELD))

typedef struct worker {
	aj_pool *pool;
	int index; /* 0 .. MAX_WORKERS - 1 */
	pthread_t thread;
} worker;

struct aj_pool {
	_Atomic int nthreads;     /* wanted, caller included */
	int nworkers;             /* started (under busy) */
	pid_t pid;                /* the process that owns the workers */
	pthread_mutex_t busy;     /* held by the caller of a run */
	pthread_mutex_t lock;     /* sleep and wake handshakes */
	pthread_cond_t wake, finished;
	_Atomic uint64_t word;    /* gen | ntask | next, FIELD bits each */
	_Atomic int64_t done;     /* tasks of this run finished */
	_Atomic int sleeping;     /* workers waiting on wake */
	_Atomic int run_workers;  /* workers that may claim in this run */
	_Atomic bool stop;
	aj_task_fn fn;            /* of this run */
	void *arg;
	worker workers[MAX_WORKERS];
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* The next task of the run in the word, or -1 when there is none left. */
static int64_t claim(aj_pool *p, int64_t *ntask)
{
	uint64_t w = atomic_load(&p->word);
	while (NEXT(w) < NTASK(w))
		if (atomic_compare_exchange_weak(&p->word, &w, w + 1)) {
			*ntask = NTASK(w);
			return NEXT(w);
		}
	return -1;
}

/* Runs tasks until none is left to claim. */
static void work(aj_pool *p)
{
	int64_t t, n;
	while ((t = claim(p, &n)) >= 0) {
		p->fn(p->arg, t);
		if (atomic_fetch_add(&p->done, 1) + 1 == n) {
			pthread_mutex_lock(&p->lock);
			pthread_cond_signal(&p->finished);
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static bool has_work(aj_pool *p, int index)
{
	uint64_t w = atomic_load(&p->word);
	return NEXT(w) < NTASK(w) && index < atomic_load(&p->run_workers);
}

/* Returns when this worker has something to claim or must stop. */
static void park(aj_pool *p, int index)
{
	for (int i = 0; i < SPIN; i++) {
		if (has_work(p, index) || atomic_load(&p->stop))
			return;
		relax();
	}
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->sleeping, 1);
	while (!has_work(p, index) && !atomic_load(&p->stop))
		pthread_cond_wait(&p->wake, &p->lock);
	atomic_fetch_sub(&p->sleeping, 1);
	pthread_mutex_unlock(&p->lock);
}

static void *worker_main(void *arg)
{
	worker *me = arg;
	aj_pool *p = me->pool;
	for (;;) {
		park(p, me->index);
		if (atomic_load(&p->stop))
			return NULL;
		work(p);
	}
}

aj_pool *aj_pool_new(int nthreads)
{
	aj_pool *p = aj_calloc(1, sizeof *p);
	if (!p)
		return NULL;
	atomic_init(&p->nthreads, nthreads < 1 ? 1 : nthreads);
	p->pid = getpid();
	pthread_mutex_init(&p->busy, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->finished, NULL);
	return p;
}

void aj_pool_free(aj_pool *p)
{
	if (!p)
		return;
	if (p->pid == getpid()) {
		pthread_mutex_lock(&p->lock);
		atomic_store(&p->stop, true);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
		for (int i = 0; i < p->nworkers; i++)
			pthread_join(p->workers[i].thread, NULL);
	}
	pthread_mutex_destroy(&p->busy);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->finished);
	aj_free(p);
}

int aj_pool_threads(const aj_pool *p)
{
	return atomic_load(&((aj_pool *)p)->nthreads);
}

void aj_pool_set_threads(aj_pool *p, int nthreads)
{
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > MAX_WORKERS + 1)
		nthreads = MAX_WORKERS + 1;
	atomic_store(&p->nthreads, nthreads);
}

/* Starts workers up to want; a thread that cannot start is done without. */
static int start_workers(aj_pool *p, int want)
{
	while (p->nworkers < want) {
		worker *w = &p->workers[p->nworkers];
		w->pool = p;
		w->index = p->nworkers;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			break;
		p->nworkers++;
	}
	return p->nworkers < want ? p->nworkers : want;
}

static int run_serial(int64_t ntask, aj_task_fn fn, void *arg)
{
	for (int64_t t = 0; t < ntask; t++)
		fn(arg, t);
	return 1;
}

int aj_pool_run(aj_pool *p, int64_t ntask, aj_task_fn fn, void *arg)
{
	int want = atomic_load(&p->nthreads) - 1;
	if (want > ntask - 1)
		want = (int)(ntask - 1);
	if (want <= 0 || p->pid != getpid() || pthread_mutex_trylock(&p->busy))
		return run_serial(ntask, fn, arg);
	int nw = start_workers(p, want);
	if (nw == 0) {
		pthread_mutex_unlock(&p->busy);
		return run_serial(ntask, fn, arg);
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store(&p->done, 0);
	atomic_store(&p->run_workers, nw);
	uint64_t gen = GEN(atomic_load(&p->word)) + 1;
	atomic_store(&p->word, gen << (2 * FIELD) | (uint64_t)ntask << FIELD);
	if (atomic_load(&p->sleeping) > 0) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	work(p);
	for (int i = 0; i < SPIN && atomic_load(&p->done) < ntask; i++)
		relax();
	if (atomic_load(&p->done) < ntask) {
		pthread_mutex_lock(&p->lock);
		while (atomic_load(&p->done) < ntask)
			pthread_cond_wait(&p->finished, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&p->busy);
	return nw + 1;
}
