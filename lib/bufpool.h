/*
 * Reused buffers for the arrays arrjit allocates (bufpool.c).
 */
#ifndef AJ_BUFPOOL_H
#define AJ_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct aj_bufpool aj_bufpool;

/* A pool with one reference, its context's; NULL if out of memory. */
aj_bufpool *aj_bufpool_new(void);
/* Drops the context's reference: idle buffers are freed now, buffers
 * still in use when they come back. */
void aj_bufpool_close(aj_bufpool *bp);

/*
 * A 64-byte aligned buffer of at least n bytes, *cap of them, contents
 * unspecified; NULL if out of memory. *reused tells whether it was an
 * idle one. Buffers of AJ_BUFPOOL_MIN bytes or more belong to the pool
 * (and hold a reference to it) until aj_bufpool_put; smaller ones are
 * plain allocations, freed with aj_free.
 */
void *aj_bufpool_get(aj_bufpool *bp, size_t n, size_t *cap, bool *reused);
void aj_bufpool_put(aj_bufpool *bp, void *mem, size_t cap);

/* Whether a buffer of n bytes comes from the pool. */
bool aj_bufpool_pooled(size_t n);

/* Buffers handed out again from idle ones, since the pool began. */
uint64_t aj_bufpool_reused(const aj_bufpool *bp);

#endif
