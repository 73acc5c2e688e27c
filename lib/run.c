/*
 * The driver: runs a program's pending assignments through the pipeline.
 *
 *   pending assignments (out = expr DAG)
 *        |  fuse     groups of assignments sharing an iteration space: one
 *        |           loop nest per reduction and one with an output per
 *        |           assignment; SSA values, casts, CSE; large reductions
 *        |           in fixed chunks                           (fuse.c)
 *        |  alias    order hazards end a group; refuse unsupported
 *        |           overlap of an output and its inputs       (fuse.c)
 *        |  sched    drop, flip, order and merge loops; stride classes (sched.c)
 *        |  key      canonical bytes of the kernel description     (cache.c)
 *        |  resolve  program memo -> context cache -> JIT compile   (cache.c, jit/)
 *        v  call     the kernel over the loop nest, split across the
 *                    context's threads when it is large        (pool.c)
 *
 * Every assignment is fused, checked and compiled before the first kernel
 * runs, so a failing call writes nothing to any output. The one exception
 * is a data-dependent error (an integer raised to a negative exponent
 * array): its check runs with its assignment's group, which it starts,
 * before that assignment's output is written; assignments before it in
 * the same sync have run, as NumPy statements would have.
 */
#include "cache.h"
#include "fuse.h"
#include "plan.h"
#include "pool.h"

/*
 * Splitting: a call runs on several threads when its work, counted in
 * simple streaming elements (element_cost), reaches ctx->min_parallel
 * (AJ_MIN_PARALLEL unless set): below that, waking a thread costs more
 * than it saves. It runs as up to OVERSPLIT tasks per thread, so that a
 * thread slowed by others on a shared machine leaves its share to the
 * rest. A one-loop nest splits at multiples of ALIGN_ELEMS, so that no two
 * tasks write one cache line; a tiled two-loop nest (sched.c rule 6) at
 * multiples of AJ_TILE_ROWS when each thread gets some, so that rows left
 * over from whole blocks (run by the scalar body) are only at the end.
 * A reduction over loop 0 splits only into the fixed chunks fuse.c gave
 * it (rule 4), chunk per task, on any thread count; without them it runs
 * on the caller alone.
 */
enum { OVERSPLIT = 4, ALIGN_ELEMS = 64, MATH_COST = 7 };

/* Work per element in simple elements: a transcendental function (SLEEF
 * or libm) costs about MATH_COST more (`arrjit-bench --crossover`). A
 * plan's calls (plan.c) keep it, not the kernel's body. */
int64_t aj_call_cost(const aj_kcall *c)
{
	if (c->cost)
		return c->cost;
	int64_t cost = 1;
	for (int i = 0; i < c->k.nval; i++)
		if (aj_ops[c->k.val[i].op].sleef[0])
			cost += MATH_COST;
	return cost;
}

typedef struct split {
	const aj_kcall *c;
	int64_t ntask, align;
} split;

static void run_task(void *arg, int64_t t)
{
	const split *s = arg;
	const aj_kcall *c = s->c;
	int64_t n0 = c->shape[0];
	int64_t lo = aj_chunk_bound(n0, s->ntask, t, s->align);
	int64_t hi = aj_chunk_bound(n0, s->ntask, t + 1, s->align);
	char *const *ptr = c->nchunk ? c->chunk_ptr + t * c->k.nop : c->ptr;
	if (lo < hi)
		c->fn(ptr, c->shape, c->strides, c->scalars, lo, hi);
}

/* Runs call c: on the caller alone, or as tasks on the pool. */
static void run_call(aj_prog *p, const aj_kcall *c)
{
	aj_ctx *ctx = p->ctx;
	int nthreads = aj_pool_threads(ctx->pool);
	split s = {.c = c, .ntask = c->nchunk, .align = c->k.ndim == 1 ? ALIGN_ELEMS : 1};
	if (c->k.tile && c->k.ndim == 2 &&
	    c->shape[0] >= (int64_t)nthreads * AJ_TILE_ROWS)
		s.align = AJ_TILE_ROWS;
	int64_t min = atomic_load_explicit(&ctx->min_parallel, memory_order_relaxed);
	if (!s.ntask && !aj_reduces_loop0(c) && !c->serial && nthreads > 1 &&
	    c->nelem * (1 + MATH_COST) >= min && c->nelem * aj_call_cost(c) >= min) {
		s.ntask = c->shape[0] / s.align;
		if (s.ntask > (int64_t)nthreads * OVERSPLIT)
			s.ntask = (int64_t)nthreads * OVERSPLIT;
	}
	if (s.ntask <= 1) {
		c->fn(c->ptr, c->shape, c->strides, c->scalars, 0, c->shape[0]);
		return;
	}
	if (aj_pool_run(ctx->pool, s.ntask, run_task, &s) > 1)
		aj_count(&p->counts.parallel_runs, 1);
}

/*
 * Stores: a kernel writes output 0 with non-temporal stores (aj_kdesc.nt,
 * kernel.h) when the emitter can (aj_nt_fits) and the memory its operands
 * span, each array counted once, is at least ctx->nt_bytes (default: the
 * last-level cache). Normal stores read each line of the output before
 * writing it (read-for-ownership) and keep it in the caches: when the
 * operands fit there, a kernel run again, or the next one reading the
 * output, finds them in the cache; when they do not, every line comes
 * from memory, and that read is traffic a non-temporal store saves (a
 * copy moves two thirds of the bytes).
 *
 * Measured with 2 threads on a Zen 5 with 32 MiB of L3 shared with other
 * guests, non-temporal time over normal. The same statement repeated,
 * its operands left in the cache: out = a*2 1.3-2.0 at a 16-20 MiB span,
 * ~1.0 at 24-40 MiB, 0.8-0.9 from 32-48 MiB on; the outer product (its
 * span is the output) 1.6 at 16 MiB, 0.9-1.1 at 24-40 MiB, 0.65-0.9 from
 * 48 MiB on; 2*a + 3*b and a*b + c*d - e gain (0.85-0.9) from 18-36 MiB
 * on. With 96 MiB of other writes between runs (the operands evicted):
 * both about even at 16-24 MiB, ahead (0.8-0.95) from 32 MiB on.
 * arrjit-bench --quick (a 30.5 MiB span, the other sides run between):
 * outer 1.0 and scale 1.1 on a quiet machine, 0.8-0.97 under other
 * guests' load; its 45-92 MiB spans (axpy2, mix5, where_add) 0.8-0.85.
 * The crossover moves with the cache's state and the other guests' load
 * around the size of the cache.
 *
 * Not when an input overlaps the output (in place, `a *= 2`: its lines
 * are in the cache already, read by the same kernel, so there is no
 * read to save), nor with a take, which may read anywhere in the array
 * taken from. The choice is the call's, made here once: a plan (whose
 * signature holds the threshold) or prepared kernel replays it on arrays
 * of the same sizes and layouts, disjoint as these were; the emitted head
 * re-aligns at every new address.
 */

/* The bytes operand o of call c spans: [*lo, *hi). */
static void extent(const aj_kcall *c, int o, char **lo, char **hi)
{
	int nd = c->k.ndim;
	*lo = *hi = c->ptr[o];
	for (int d = 0; d < nd; d++) {
		int64_t span = (c->shape[d] - 1) * c->strides[o * nd + d];
		*(span < 0 ? lo : hi) += span;
	}
	*hi += aj_dtypes[c->k.op_dtype[o]].size;
}

static bool reads_output(const aj_kcall *c)
{
	for (int i = 0; i < c->k.nval; i++)
		if (c->k.val[i].op == AJ_OP_TAKE)
			return true;
	char *lo, *hi, *ilo, *ihi;
	extent(c, 0, &lo, &hi);
	for (int o = c->k.nout; o < c->k.nop; o++) {
		extent(c, o, &ilo, &ihi);
		if (ilo < hi && lo < ihi)
			return true;
	}
	return false;
}

/* The bytes call c's operands span, an operand at the address of an
 * earlier one counted once, index operands (no memory) not at all. */
static int64_t span_bytes(const aj_kcall *c)
{
	int64_t sum = 0;
	for (int o = 0; o < c->k.nop; o++) {
		bool again = (uintptr_t)c->ptr[o] >= AJ_INDEX_BIAS;
		for (int q = 0; q < o; q++)
			again |= c->ptr[q] == c->ptr[o];
		char *lo, *hi;
		extent(c, o, &lo, &hi);
		sum += again ? 0 : hi - lo;
	}
	return sum;
}

void aj_pick_stores(aj_ctx *ctx, aj_kcall *c)
{
	int64_t min = atomic_load_explicit(&ctx->nt_bytes, memory_order_relaxed);
	c->k.nt = c->nelem && (aj_nt_fits(&c->k) || c->k.tile) && !reads_output(c) &&
		  span_bytes(c) >= min;
}

aj_status aj_run_build(aj_prog *p, aj_group **out, uint32_t *nout)
{
	uint32_t n = p->npending;
	aj_group *g = aj_arena_alloc(&p->arena, (n ? n : 1) * sizeof *g);
	if (!g)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	uint32_t ng = 0;
	for (uint32_t i = 0; i < n; i += (uint32_t)g[ng++].nassign) {
		aj_status s = aj_fuse(p, &p->pending[i], (int)(n - i), &g[ng]);
		for (int j = 0; s == AJ_OK && j < g[ng].ncall; j++) {
			aj_pick_stores(p->ctx, &g[ng].calls[j]);
			s = aj_cache_resolve(p, &g[ng].calls[j]);
		}
		if (s != AJ_OK)
			return s;
	}
	*out = g;
	*nout = ng;
	return AJ_OK;
}

aj_status aj_run(aj_prog *p)
{
	if (p->npending == 0)
		return AJ_OK;
	bool ran;
	aj_status s = aj_plan_run(p, &ran);
	if (ran)
		return s;
	aj_group *g;
	uint32_t ng;
	s = aj_run_build(p, &g, &ng);
	if (s != AJ_OK)
		return s;
	aj_plan_keep(p, g, ng);
	aj_count(&p->counts.groups, ng);
	for (uint32_t i = 0; i < ng; i++)
		aj_count(&p->counts.temp_bytes, (uint64_t)g[i].temp_bytes);
	for (uint32_t i = 0; i < ng; i++) {
		s = aj_run_calls(p, g[i].calls, g[i].ncall);
		if (s != AJ_OK)
			return s;
	}
	return AJ_OK;
}

aj_status aj_run_calls(aj_prog *p, const aj_kcall *calls, int n)
{
	for (int j = 0; j < n; j++) {
		const aj_kcall *c = &calls[j];
		if (c->nelem == 0)
			continue;
		run_call(p, c);
		aj_count(&p->counts.kernels_run, 1);
		if (c->fail_if && *c->fail_if)
			return aj_prog_error(p, AJ_ERR_ARG, "%s", c->fail_msg);
	}
	return AJ_OK;
}
