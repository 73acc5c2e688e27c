/*
 * The kernel cache: canonical keys, the context's shared table, and each
 * program's lock-free memo of recent kernels.
 *
 * A key is the kernel description serialised field by field: ISA, loop
 * depth, operand dtypes and stride classes, output values, the compress
 * flag and mask value, the tile flag (sched.c rule 6), the non-temporal
 * store flag, scalar dtypes and the SSA values. Shapes, strides, pointers
 * and scalar values are arguments of the call, never part of the key, so
 * `a += b*i` over a million values of i and any array size finds one
 * kernel (two with the store flag, chosen per call from the bytes its
 * operands span, run.c).
 *
 * A miss in memory is looked up on disk (diskcache.c) before it is
 * compiled, and a compiled kernel is stored there. A kernel is named
 * aj_k<hash of its key>, the same in every process, which is what lets an
 * object from another process link here. Should two keys of one context
 * share a hash, the later one gets a name of its own and skips the disk.
 */
#include "cache.h"
#include "diskcache.h"
#include "jit.h"

#include <inttypes.h>
#include <stdio.h>
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
	int32_t head[13] = {k->isa, k->ndim, k->nop, k->nout, k->nscalar,
			    k->nval, k->red, k->compress, (int32_t)k->mask,
			    k->fast, 1, k->tile, k->nt};
	size_t len = sizeof head + 2 * (size_t)k->nop + 4 * (size_t)k->nout +
		     (size_t)k->nscalar + (size_t)k->nval * sizeof(aj_kval);
	unsigned char *b = aj_arena_alloc(arena, len), *w = b;
	if (!b)
		return AJ_ERR_NOMEM;
	put(&w, head, sizeof head);
	put(&w, k->op_dtype, (size_t)k->nop);
	put(&w, k->op_class, (size_t)k->nop);
	put(&w, k->out_val, 4 * (size_t)k->nout);
	put(&w, k->scalar_dtype, (size_t)k->nscalar);
	put(&w, k->val, (size_t)k->nval * sizeof(aj_kval));
	*out = (aj_key){b, len, aj_hash64(b, len, 0)};
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

/* Caller holds c->lock. Whether a kernel of another key than the one
 * table_find missed has this hash (then their names would clash). */
static bool hash_taken(aj_cache *c, uint64_t hash)
{
	for (entry *e = c->slot[hash & (c->nslot - 1)]; e; e = e->next)
		if (e->hash == hash)
			return true;
	return false;
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

/* The disk cache for a context whose JIT was just made; its identity
 * comes from the JIT. */
static aj_disk *open_disk(void)
{
	char *id = aj_jit_host_id();
	aj_disk *d = id ? aj_disk_open(id) : NULL;
	aj_free(id);
	return d;
}

/* The kernel for key from disk, if there and it links. */
static bool load(aj_ctx *ctx, const aj_key *key, const char *name,
		 aj_kernel_fn *fn)
{
	unsigned char *file;
	const unsigned char *obj;
	size_t len;
	char err[AJ_ERRMSG_MAX];
	uint64_t t0 = now_ns();
	if (!aj_disk_get(ctx->disk, key->bytes, key->len, &file, &obj, &len))
		return false;
	bool ok = aj_jit_load(ctx->jit, obj, len, name, fn, err, sizeof err) == AJ_OK;
	aj_free(file);
	if (ok) {
		atomic_fetch_add(&ctx->disk_hits, 1);
		atomic_fetch_add(&ctx->disk_load_ns, now_ns() - t0);
	}
	return ok;
}

/* Loads or compiles the kernel (caller holds the JIT lock); a compiled
 * one goes to disk. A disk that fails only costs the compile. */
static aj_status build(aj_ctx *ctx, const aj_kdesc *k, const aj_key *key,
		       aj_kernel_fn *fn, char *err, size_t errlen)
{
	char name[48];
	pthread_mutex_lock(&ctx->cache->lock);
	bool taken = hash_taken(ctx->cache, key->hash);
	size_t n = ctx->cache->nentry;
	pthread_mutex_unlock(&ctx->cache->lock);
	bool disk = ctx->disk && !taken;
	if (taken)
		snprintf(name, sizeof name, "aj_k%016" PRIx64 "_%zu", key->hash, n);
	else
		snprintf(name, sizeof name, "aj_k%016" PRIx64, key->hash);
	if (disk && load(ctx, key, name, fn))
		return AJ_OK;
	aj_blob obj = {NULL, 0};
	uint64_t t0 = now_ns();
	aj_status s = aj_jit_compile(ctx->jit, k, name, fn, disk ? &obj : NULL,
				     err, errlen);
	atomic_fetch_add(&ctx->compile_ns, now_ns() - t0);
	if (s == AJ_OK)
		atomic_fetch_add(&ctx->kernels_compiled, 1);
	if (s == AJ_OK && obj.bytes &&
	    aj_disk_put(ctx->disk, key->bytes, key->len, obj.bytes, obj.len))
		atomic_fetch_add(&ctx->disk_writes, 1);
	aj_free(obj.bytes);
	return s;
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
	if (!*fn && !ctx->jit) {
		s = aj_jit_new(&ctx->jit, err, sizeof err);
		if (s == AJ_OK)
			ctx->disk = open_disk();
	}
	if (!*fn && s == AJ_OK) {
		s = build(ctx, k, key, fn, err, sizeof err);
		if (s == AJ_OK) {
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
