/*
 * All allocation goes through here, so a test can fail the Nth allocation.
 *
 * Two lifetimes: heap objects owned by a context or array (aj_malloc/aj_free)
 * and per-sync scratch in an arena that is reset, not freed, after each
 * aj_sync() so the steady state allocates nothing.
 */
#ifndef AJ_ALLOC_H
#define AJ_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *aj_malloc(size_t n);
void *aj_calloc(size_t n, size_t size);
void *aj_realloc(void *p, size_t n);
void *aj_aligned_alloc(size_t align, size_t n); /* free with aj_free */
void aj_free(void *p);
char *aj_strdup(const char *s);

/* Test hooks: the nth allocation from now fails (0 disables); the
 * allocations asked for so far; the blocks handed out and not yet freed. */
void aj_alloc_fail_after(uint64_t n);
uint64_t aj_alloc_calls(void);
int64_t aj_alloc_live(void);

/* Overflow-checked arithmetic on sizes; return 0 on overflow. */
static inline int aj_mul_ok(int64_t a, int64_t b, int64_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}
static inline int aj_add_ok(int64_t a, int64_t b, int64_t *r)
{
	return !__builtin_add_overflow(a, b, r);
}

/* A bump allocator in chunks; reset keeps the largest chunk for reuse. */
typedef struct aj_chunk aj_chunk;
typedef struct aj_arena {
	aj_chunk *head; /* current chunk, most recent first */
} aj_arena;

/* 16-byte aligned; NULL on out of memory. */
void *aj_arena_alloc(aj_arena *a, size_t n);
void aj_arena_reset(aj_arena *a);
/* Whether x points into memory a handed out (or may hand out). */
bool aj_arena_owns(const aj_arena *a, const void *x);
void aj_arena_free(aj_arena *a);

#endif
