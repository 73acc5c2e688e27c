/*
 * Reused buffers for the arrays arrjit allocates.
 *
 * Fresh memory costs more than the kernels that fill it: an 80 MB result
 * in fresh 4 KiB pages takes ~20,000 page faults at ~3 us each, several
 * times the ~10 ms the fused loop needs. So buffers of AJ_BUFPOOL_MIN
 * bytes or more come from a pool per context: a freed one waits idle and
 * is handed out again for a request between half its size and its size.
 * Fresh ones of HUGE bytes or more are 2 MiB aligned and advised with
 * MADV_HUGEPAGE (transparent huge pages are in "madvise" mode on Debian),
 * so even a first touch faults once per 2 MiB, not per 4 KiB.
 *
 * Idle buffers are bounded: at most NIDLE of them and IDLE_BYTES in all;
 * past that the oldest is freed. A buffer outlives its context if its
 * array does: the pool is reference-counted (the context's reference and
 * one per buffer handed out) and frees itself after both are gone.
 */
#include "bufpool.h"

#include "alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

enum {
	NIDLE = 16,
	PAGE = 4096,
};
#define AJ_BUFPOOL_MIN ((size_t)64 << 10)
#define HUGE	       ((size_t)2 << 20)
#define IDLE_BYTES     ((size_t)512 << 20)

typedef struct idle {
	void *mem;
	size_t cap;
} idle;

struct aj_bufpool {
	pthread_mutex_t lock;   /* guards the rest but refs and reused */
	_Atomic int64_t refs;
	_Atomic uint64_t reused;
	bool closed;
	idle idle[NIDLE];       /* oldest first */
	int nidle;
	size_t idle_bytes;
};

bool aj_bufpool_pooled(size_t n)
{
	return n >= AJ_BUFPOOL_MIN;
}

aj_bufpool *aj_bufpool_new(void)
{
	aj_bufpool *bp = aj_calloc(1, sizeof *bp);
	if (!bp)
		return NULL;
	pthread_mutex_init(&bp->lock, NULL);
	atomic_init(&bp->refs, 1);
	return bp;
}

static void unref(aj_bufpool *bp)
{
	if (atomic_fetch_sub(&bp->refs, 1) != 1)
		return;
	for (int i = 0; i < bp->nidle; i++)
		aj_free(bp->idle[i].mem);
	pthread_mutex_destroy(&bp->lock);
	aj_free(bp);
}

void aj_bufpool_close(aj_bufpool *bp)
{
	if (!bp)
		return;
	pthread_mutex_lock(&bp->lock);
	bp->closed = true;
	for (int i = 0; i < bp->nidle; i++)
		aj_free(bp->idle[i].mem);
	bp->nidle = 0;
	bp->idle_bytes = 0;
	pthread_mutex_unlock(&bp->lock);
	unref(bp);
}

/* Takes the idle buffer that fits n best (the smallest of at least n
 * bytes and at most 2n), or returns NULL. Under the lock. */
static void *take_idle(aj_bufpool *bp, size_t n, size_t *cap)
{
	int best = -1;
	for (int i = 0; i < bp->nidle; i++) {
		size_t c = bp->idle[i].cap;
		if (c >= n && c / 2 <= n && (best < 0 || c < bp->idle[best].cap))
			best = i;
	}
	if (best < 0)
		return NULL;
	void *mem = bp->idle[best].mem;
	*cap = bp->idle[best].cap;
	bp->idle_bytes -= *cap;
	memmove(bp->idle + best, bp->idle + best + 1,
		(size_t)(bp->nidle - best - 1) * sizeof *bp->idle);
	bp->nidle--;
	return mem;
}

/* A fresh buffer of at least n bytes: huge pages advised from HUGE on. */
static void *fresh(size_t n, size_t *cap)
{
	if (n < HUGE) {
		*cap = (n + PAGE - 1) / PAGE * PAGE;
		return aj_aligned_alloc(64, *cap);
	}
	*cap = (n + HUGE - 1) / HUGE * HUGE;
	void *mem = aj_aligned_alloc(HUGE, *cap);
	if (mem) /* advice only: a kernel without THP just ignores it */
		madvise(mem, *cap, MADV_HUGEPAGE);
	return mem;
}

void *aj_bufpool_get(aj_bufpool *bp, size_t n, size_t *cap, bool *reused)
{
	*reused = false;
	if (!aj_bufpool_pooled(n)) {
		*cap = n;
		return aj_aligned_alloc(64, n);
	}
	pthread_mutex_lock(&bp->lock);
	void *mem = take_idle(bp, n, cap);
	pthread_mutex_unlock(&bp->lock);
	if (mem) {
		*reused = true;
		atomic_fetch_add_explicit(&bp->reused, 1, memory_order_relaxed);
	} else if (!(mem = fresh(n, cap))) {
		return NULL;
	}
	atomic_fetch_add(&bp->refs, 1);
	return mem;
}

void aj_bufpool_put(aj_bufpool *bp, void *mem, size_t cap)
{
	pthread_mutex_lock(&bp->lock);
	if (bp->closed || cap > IDLE_BYTES) {
		aj_free(mem);
	} else {
		while (bp->nidle == NIDLE || bp->idle_bytes + cap > IDLE_BYTES) {
			bp->idle_bytes -= bp->idle[0].cap;
			aj_free(bp->idle[0].mem);
			memmove(bp->idle, bp->idle + 1, (size_t)--bp->nidle * sizeof *bp->idle);
		}
		bp->idle[bp->nidle++] = (idle){mem, cap};
		bp->idle_bytes += cap;
	}
	pthread_mutex_unlock(&bp->lock);
	unref(bp);
}

uint64_t aj_bufpool_reused(const aj_bufpool *bp)
{
	return atomic_load_explicit(&bp->reused, memory_order_relaxed);
}
