/*
 * The kernel cache: canonical keys, the context's shared table, and each
 * program's lock-free memo of recent kernels.
 *
 * A key is the kernel description serialised field by field: ISA, loop
 * depth, operand dtypes and stride classes, output values, the compress
 * flag and mask value, scalar dtypes and the SSA values. Shapes, strides,
 * pointers and scalar values are arguments of the call, never part of the
 * key, so `a += b*i` over a million values of i and any array size finds
 * one kernel.
 */
#include "cache.h"
#include "jit.h"

#include <string.h>
#include <time.h>

typedef struct entry {
	struct entry *next;
	uint64_t hash;
	size_t len;
	aj_kernel_fn fn;
	unsigned char key[];
} entry;

struct aj_cache {
	pthread_mutex_t lock;
	entry **slot;
	size_t nslot, nentry;
};

enum { MEMO_SIZE = 8 };

struct aj_memo {
	unsigned next; /* round-robin victim */
	struct {
		unsigned char *key;
		size_t len;
		aj_kernel_fn fn;
	} e[MEMO_SIZE];
};

static void put(unsigned char **w, const void *src, size_t n)
{
	memcpy(*w, src, n);
	*w += n;
}

aj_status aj_key_of(const aj_kdesc *k, aj_arena *arena, aj_key *out)
{
	int32_t head[10] = {k->isa, k->ndim, k->nop, k->nout, k->nscalar, k->nval,
			    k->red, k->compress, (int32_t)k->mask, 1};
	size_t len = sizeof head + 2 * (size_t)k->nop + 4 * (size_t)k->nout +
		     (size_t)k->nscalar + (size_t)k->nval * sizeof(aj_kval);
	unsigned char *b = aj_arena_alloc(arena, len + 8), *w = b;
	if (!b)
		return AJ_ERR_NOMEM;
	put(&w, head, sizeof head);
	put(&w, k->op_dtype, (size_t)k->nop);
	put(&w, k->op_class, (size_t)k->nop);
	put(&w, k->out_val, 4 * (size_t)k->nout);
	put(&w, k->scalar_dtype, (size_t)k->nscalar);
	put(&w, k->val, (size_t)k->nval * sizeof(aj_kval));
	memset(w, 0, 8); /* pad for the word-wise hash */
	uint64_t h = 0x243F6A8885A308D3ull ^ len;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x;
		memcpy(&x, b + i, 8);
		h = (h ^ x) * 0x9E3779B97F4A7C15ull;
		h ^= h >> 29;
	}
	*out = (aj_key){b, len, h};
	return AJ_OK;
}

aj_cache *aj_cache_new(void)
{
	aj_cache *c = aj_calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->nslot = 64;
	c->slot = aj_calloc(c->nslot, sizeof *c->slot);
	if (!c->slot) {
		aj_free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void aj_cache_free(aj_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslot; i++)
		for (entry *e = c->slot[i], *n; e; e = n) {
			n = e->next;
			aj_free(e);
		}
	aj_free(c->slot);
	pthread_mutex_destroy(&c->lock);
	aj_free(c);
}

/* Caller holds c->lock. */
static aj_kernel_fn table_find(aj_cache *c, const aj_key *k)
{
	for (entry *e = c->slot[k->hash & (c->nslot - 1)]; e; e = e->next)
		if (e->hash == k->hash && e->len == k->len &&
		    !memcmp(e->key, k->bytes, k->len))
			return e->fn;
	return NULL;
}

/* Caller holds c->lock. Doubles the table when it is full. */
static aj_status table_add(aj_cache *c, const aj_key *k, aj_kernel_fn fn)
{
	if (c->nentry >= c->nslot) {
		size_t n = 2 * c->nslot;
		entry **s = aj_calloc(n, sizeof *s);
		if (!s)
			return AJ_ERR_NOMEM;
		for (size_t i = 0; i < c->nslot; i++)
			for (entry *e = c->slot[i], *nx; e; e = nx) {
				nx = e->next;
				e->next = s[e->hash & (n - 1)];
				s[e->hash & (n - 1)] = e;
			}
		aj_free(c->slot);
		c->slot = s;
		c->nslot = n;
	}
	entry *e = aj_malloc(sizeof *e + k->len);
	if (!e)
		return AJ_ERR_NOMEM;
	e->hash = k->hash;
	e->len = k->len;
	e->fn = fn;
	memcpy(e->key, k->bytes, k->len);
	e->next = c->slot[k->hash & (c->nslot - 1)];
	c->slot[k->hash & (c->nslot - 1)] = e;
	c->nentry++;
	return AJ_OK;
}

aj_memo *aj_memo_new(void)
{
	return aj_calloc(1, sizeof(aj_memo));
}

void aj_memo_free(aj_memo *m)
{
	if (!m)
		return;
	for (int i = 0; i < MEMO_SIZE; i++)
		aj_free(m->e[i].key);
	aj_free(m);
}

static aj_kernel_fn memo_find(const aj_memo *m, const aj_key *k)
{
	for (int i = 0; i < MEMO_SIZE; i++)
		if (m->e[i].len == k->len && !memcmp(m->e[i].key, k->bytes, k->len))
			return m->e[i].fn;
	return NULL;
}

/* A failed insert only costs a later lookup in the shared table. */
static void memo_add(aj_memo *m, const aj_key *k, aj_kernel_fn fn)
{
	unsigned char *key = aj_malloc(k->len);
	if (!key)
		return;
	memcpy(key, k->bytes, k->len);
	unsigned i = m->next++ % MEMO_SIZE;
	aj_free(m->e[i].key);
	m->e[i].key = key;
	m->e[i].len = k->len;
	m->e[i].fn = fn;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Builds the kernel under the context's JIT lock, unless another thread already
 * has. Compiles are serialised per context: LLVM work is the slow part and
 * a second compile of the same key would be wasted. */
static aj_status compile(aj_prog *p, const aj_kdesc *k, const aj_key *key,
			 aj_kernel_fn *fn)
{
	aj_ctx *ctx = p->ctx;
	char err[AJ_ERRMSG_MAX] = "";
	aj_status s = AJ_OK;
	pthread_mutex_lock(&ctx->jit_lock);
	pthread_mutex_lock(&ctx->cache->lock);
	*fn = table_find(ctx->cache, key);
	pthread_mutex_unlock(&ctx->cache->lock);
	if (!*fn && !ctx->jit)
		s = aj_jit_new(&ctx->jit, err, sizeof err);
	if (!*fn && s == AJ_OK) {
		uint64_t t0 = now_ns();
		s = aj_jit_compile(ctx->jit, k, fn, err, sizeof err);
		atomic_fetch_add(&ctx->compile_ns, now_ns() - t0);
		if (s == AJ_OK) {
			atomic_fetch_add(&ctx->kernels_compiled, 1);
			pthread_mutex_lock(&ctx->cache->lock);
			s = table_add(ctx->cache, key, *fn);
			pthread_mutex_unlock(&ctx->cache->lock);
		}
	} else if (*fn) {
		aj_count(&p->counts.cache_hits, 1);
	}
	pthread_mutex_unlock(&ctx->jit_lock);
	if (s != AJ_OK)
		return aj_prog_error(p, s, "%s", err[0] ? err : "out of memory");
	return AJ_OK;
}

aj_status aj_cache_resolve(aj_prog *p, aj_kcall *call)
{
	aj_key key;
	if (aj_key_of(&call->k, &p->arena, &key) != AJ_OK)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	if ((call->fn = memo_find(p->memo, &key))) {
		aj_count(&p->counts.cache_hits, 1);
		return AJ_OK;
	}
	aj_cache *c = p->ctx->cache;
	pthread_mutex_lock(&c->lock);
	call->fn = table_find(c, &key);
	pthread_mutex_unlock(&c->lock);
	if (call->fn)
		aj_count(&p->counts.cache_hits, 1);
	else if (compile(p, &call->k, &key, &call->fn) != AJ_OK)
		return p->err;
	memo_add(p->memo, &key, call->fn);
	return AJ_OK;
}
