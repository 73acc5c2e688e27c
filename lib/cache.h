/*
 * Kernel cache, keyed by the canonical bytes of a kernel description
 * (ops, dtypes, loop depth, stride classes, ISA), never by data, shape or
 * scalar values.
 *
 * Two levels: a small per-program memo (no locking, compared by bytes) in
 * front of the context's shared table (hashed, under a lock).
 */
#ifndef AJ_CACHE_H
#define AJ_CACHE_H

#include "core.h"
#include "kernel.h"

typedef struct aj_key {
	const unsigned char *bytes;
	size_t len;
	uint64_t hash;
} aj_key;

/* Serialises k into the arena. */
aj_status aj_key_of(const aj_kdesc *k, aj_arena *arena, aj_key *out);

aj_cache *aj_cache_new(void);
void aj_cache_free(aj_cache *c);

/* Finds or compiles the kernel for call->k, filling call->fn. */
aj_status aj_cache_resolve(aj_prog *p, aj_kcall *call);

aj_memo *aj_memo_new(void);
void aj_memo_free(aj_memo *m);

#endif
