/*
 * The context: engine state shared by every program and thread (JIT, kernel
 * cache and disk cache, statistics, the seed and stream counter of random leaves), and its
 * error message.
 */
#include "bufpool.h"
#include "cache.h"
#include "core.h"
#include "diskcache.h"
#include "jit.h"
#include "pool.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* $AJ_NUM_THREADS when it is a number >= 1, else the CPUs we may use. */
static int default_threads(void)
{
	const char *env = getenv("AJ_NUM_THREADS");
	if (env && *env) {
		char *end;
		long n = strtol(env, &end, 10);
		if (*end == 0 && n >= 1)
			return n > 256 ? 256 : (int)n;
	}
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n >= 1 ? (int)n : 1;
}

/*
 * The last-level cache of CPU 0 from sysfs (glibc's sysconf reports the
 * whole host's L3 in some VMs), else sysconf's, else 32 MiB.
 */
static int64_t llc_bytes(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
	unsigned long v = 0;
	char unit = 0;
	if (f) {
		if (fscanf(f, "%lu%c", &v, &unit) < 1)
			v = 0;
		fclose(f);
	}
	if (v)
		return (int64_t)v << (unit == 'K' ? 10 : unit == 'M' ? 20 : 0);
	long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
	return llc > 0 ? (int64_t)llc : (int64_t)32 << 20;
}

/* $AJ_NT_BYTES when it is a number >= 1, else the last-level cache: a
 * kernel whose operands span more stores non-temporally (the
 * measurements are in run.c). */
static int64_t default_nt_bytes(void)
{
	const char *env = getenv("AJ_NT_BYTES");
	if (env && *env) {
		char *end;
		long long n = strtoll(env, &end, 10);
		if (*end == 0 && n >= 1)
			return n;
	}
	return llc_bytes();
}

/*
 * Error messages, per thread: a context shared by threads must not hand
 * one thread's message to another, or one half written while it reads.
 * A thread keeps the messages of its last NERRSLOT contexts to fail on
 * it, each named by the context's serial (unique in the process), so that
 * a new context at a freed one's address starts with none. Only failing
 * calls write here; aj_ctx_errmsg reads the caller's own.
 */
enum { NERRSLOT = 4 };

typedef struct errslot {
	uint64_t serial; /* 0: unused */
	uint64_t stamp;  /* when it was last written: the oldest goes first */
	char msg[AJ_ERRMSG_MAX];
} errslot;

static _Thread_local errslot err_slots[NERRSLOT];
static _Thread_local uint64_t err_clock;
static _Atomic uint64_t ctx_serials;

static errslot *err_slot(const aj_ctx *ctx)
{
	for (int i = 0; i < NERRSLOT; i++)
		if (err_slots[i].serial == ctx->serial)
			return &err_slots[i];
	return NULL;
}

aj_status aj_ctx_error(aj_ctx *ctx, aj_status s, const char *fmt, ...)
{
	if (!ctx)
		return s;
	char msg[AJ_ERRMSG_MAX]; /* the arguments may be the old message */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errslot *e = err_slot(ctx);
	if (!e) {
		e = &err_slots[0];
		for (int i = 1; i < NERRSLOT; i++)
			if (err_slots[i].stamp < e->stamp)
				e = &err_slots[i];
	}
	e->serial = ctx->serial;
	e->stamp = ++err_clock;
	memcpy(e->msg, msg, sizeof msg);
	return s;
}

aj_status aj_ctx_new(aj_ctx **out)
{
	if (!out)
		return AJ_ERR_ARG;
	*out = NULL;
	aj_ctx *ctx = aj_calloc(1, sizeof *ctx);
	if (!ctx)
		return AJ_ERR_NOMEM;
	ctx->cache = aj_cache_new();
	ctx->pool = aj_pool_new(default_threads());
	ctx->bufpool = aj_bufpool_new();
	if (!ctx->cache || !ctx->pool || !ctx->bufpool) {
		aj_cache_free(ctx->cache);
		aj_pool_free(ctx->pool);
		aj_bufpool_close(ctx->bufpool);
		aj_free(ctx);
		return AJ_ERR_NOMEM;
	}
	pthread_mutex_init(&ctx->jit_lock, NULL);
	ctx->serial = atomic_fetch_add(&ctx_serials, 1) + 1;
	pthread_mutex_init(&ctx->progs_lock, NULL);
	ctx->host_isa = aj_jit_host_isa();
	ctx->isa = ctx->host_isa;
	ctx->min_parallel = AJ_MIN_PARALLEL;
	ctx->nt_bytes = default_nt_bytes();
	*out = ctx;
	return AJ_OK;
}

void aj_ctx_free(aj_ctx *ctx)
{
	if (!ctx)
		return;
	aj_pool_free(ctx->pool);
	aj_bufpool_close(ctx->bufpool);
	aj_cache_free(ctx->cache);
	aj_jit_free(ctx->jit);
	aj_disk_close(ctx->disk);
	pthread_mutex_destroy(&ctx->jit_lock);
	pthread_mutex_destroy(&ctx->progs_lock);
	aj_free(ctx);
}

const char *aj_ctx_errmsg(const aj_ctx *ctx)
{
	if (!ctx)
		return "NULL context";
	const errslot *e = err_slot(ctx);
	return e ? e->msg : "";
}

aj_status aj_ctx_set_isa(aj_ctx *ctx, aj_isa isa)
{
	if (!ctx)
		return AJ_ERR_ARG;
	if (isa == AJ_ISA_HOST)
		isa = ctx->host_isa;
	bool ok = isa == AJ_ISA_SCALAR ||
		  (isa == AJ_ISA_AVX2 && ctx->host_isa >= AJ_ISA_AVX2) ||
		  (isa == AJ_ISA_AVX512 && ctx->host_isa == AJ_ISA_AVX512);
	if (!ok)
		return aj_ctx_error(ctx, AJ_ERR_ARG,
				    "this CPU cannot run the requested ISA (%d)",
				    (int)isa);
	atomic_store(&ctx->isa, isa);
	return AJ_OK;
}

aj_isa aj_ctx_isa(const aj_ctx *ctx)
{
	return ctx ? (aj_isa)atomic_load(&ctx->isa) : AJ_ISA_SCALAR;
}

aj_status aj_ctx_set_accuracy(aj_ctx *ctx, aj_accuracy acc)
{
	if (!ctx)
		return AJ_ERR_ARG;
	if (acc != AJ_ACCURACY_ULP1 && acc != AJ_ACCURACY_FAST)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "aj_ctx_set_accuracy: bad "
				    "accuracy %d", (int)acc);
	atomic_store(&ctx->fast, acc == AJ_ACCURACY_FAST);
	return AJ_OK;
}

aj_accuracy aj_ctx_accuracy(const aj_ctx *ctx)
{
	return ctx && atomic_load(&ctx->fast) ? AJ_ACCURACY_FAST : AJ_ACCURACY_ULP1;
}

aj_status aj_ctx_set_threads(aj_ctx *ctx, int n)
{
	if (!ctx)
		return AJ_ERR_ARG;
	aj_pool_set_threads(ctx->pool, n <= 0 ? default_threads() : n);
	return AJ_OK;
}

aj_status aj_ctx_set_min_parallel(aj_ctx *ctx, int64_t nelem)
{
	if (!ctx)
		return AJ_ERR_ARG;
	atomic_store(&ctx->min_parallel, nelem > 0 ? nelem : AJ_MIN_PARALLEL);
	return AJ_OK;
}

aj_status aj_ctx_set_nt_bytes(aj_ctx *ctx, int64_t bytes)
{
	if (!ctx)
		return AJ_ERR_ARG;
	atomic_store(&ctx->nt_bytes, bytes > 0 ? bytes : default_nt_bytes());
	return AJ_OK;
}

aj_status aj_ctx_set_seed(aj_ctx *ctx, uint64_t seed)
{
	if (!ctx)
		return AJ_ERR_ARG;
	atomic_store(&ctx->seed, seed);
	atomic_store(&ctx->stream, 0);
	return AJ_OK;
}

int aj_ctx_threads(const aj_ctx *ctx)
{
	return ctx ? aj_pool_threads(ctx->pool) : 0;
}

static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void aj_counts_add(aj_counts *to, const aj_counts *from)
{
	aj_count(&to->cache_hits, get(&from->cache_hits));
	aj_count(&to->kernels_run, get(&from->kernels_run));
	aj_count(&to->temp_bytes, get(&from->temp_bytes));
	aj_count(&to->parallel_runs, get(&from->parallel_runs));
	aj_count(&to->groups, get(&from->groups));
	aj_count(&to->replays, get(&from->replays));
	aj_count(&to->texts_unparsed, get(&from->texts_unparsed));
}

void aj_ctx_stats(const aj_ctx *ctx, aj_stats *out)
{
	if (!ctx || !out)
		return;
	aj_ctx *c = (aj_ctx *)ctx; /* the lock changes, the statistics do not */
	aj_counts sum = {0};
	pthread_mutex_lock(&c->progs_lock);
	aj_counts_add(&sum, &c->retired);
	for (const aj_prog *p = c->progs; p; p = p->next)
		aj_counts_add(&sum, &p->counts);
	pthread_mutex_unlock(&c->progs_lock);
	out->kernels_compiled = atomic_load(&ctx->kernels_compiled);
	out->cache_hits = sum.cache_hits;
	out->kernels_run = sum.kernels_run;
	out->compile_ns = atomic_load(&ctx->compile_ns);
	out->temp_bytes = sum.temp_bytes;
	out->parallel_runs = sum.parallel_runs;
	out->groups = sum.groups;
	out->replays = sum.replays;
	out->texts_unparsed = sum.texts_unparsed;
	out->buffers_reused = aj_bufpool_reused(ctx->bufpool);
	out->disk_hits = atomic_load(&ctx->disk_hits);
	out->disk_writes = atomic_load(&ctx->disk_writes);
	out->disk_load_ns = atomic_load(&ctx->disk_load_ns);
}
