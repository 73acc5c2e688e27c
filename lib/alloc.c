/*
 * The one allocation point of the library, and the scratch arena.
 */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint64_t fail_countdown; /* test hook; 0 = never fail */
static _Atomic int64_t live;            /* blocks handed out, not freed */
static _Atomic uint64_t calls;          /* allocations asked for */

void aj_alloc_fail_after(uint64_t n)
{
	atomic_store(&fail_countdown, n);
}

static int should_fail(void)
{
	atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	if (n == 0)
		return 0;
	return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

uint64_t aj_alloc_calls(void)
{
	return atomic_load(&calls);
}

int64_t aj_alloc_live(void)
{
	return atomic_load(&live);
}

static void *counted(void *p)
{
	if (p)
		atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
	return p;
}

void *aj_malloc(size_t n)
{
	return should_fail() ? NULL : counted(malloc(n ? n : 1));
}

void *aj_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : counted(calloc(n ? n : 1, size ? size : 1));
}

void *aj_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	void *q = realloc(p, n ? n : 1);
	return p ? q : counted(q);
}

void *aj_aligned_alloc(size_t align, size_t n)
{
	void *p = NULL;
	if (should_fail() || posix_memalign(&p, align, n ? n : 1) != 0)
		return NULL;
	return counted(p);
}

void aj_free(void *p)
{
	if (p)
		atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
	free(p);
}

char *aj_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = aj_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

struct aj_chunk {
	aj_chunk *next;
	size_t size; /* usable bytes in data */
	size_t used;
	_Alignas(16) unsigned char data[];
};

enum { CHUNK_MIN = 16384 };

void *aj_arena_alloc(aj_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	aj_chunk *c = a->head;
	if (c && c->size - c->used >= n) {
		void *p = c->data + c->used;
		c->used += n;
		return p;
	}
	size_t size = CHUNK_MIN;
	if (c && c->size * 2 > size)
		size = c->size * 2;
	if (size < n)
		size = n;
	c = aj_malloc(sizeof(aj_chunk) + size);
	if (!c)
		return NULL;
	c->next = a->head;
	c->size = size;
	c->used = n;
	a->head = c;
	return c->data;
}

/* Keeps only the newest (largest) chunk, so a steady workload stops
 * allocating after its first round. */
void aj_arena_reset(aj_arena *a)
{
	aj_chunk *c = a->head;
	if (!c)
		return;
	aj_chunk *rest = c->next;
	while (rest) {
		aj_chunk *n = rest->next;
		aj_free(rest);
		rest = n;
	}
	c->next = NULL;
	c->used = 0;
}

bool aj_arena_owns(const aj_arena *a, const void *x)
{
	const unsigned char *y = x;
	for (const aj_chunk *c = a->head; c; c = c->next)
		if (y >= c->data && y < c->data + c->size)
			return true;
	return false;
}

void aj_arena_free(aj_arena *a)
{
	aj_arena_reset(a);
	aj_free(a->head);
	a->head = NULL;
}
