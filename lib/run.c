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
 * runs, so a failing call writes nothing to any output. The data-dependent
 * errors (an integer raised to a negative exponent array, a take's
 * position out of range) are found by check kernels, which run before
 * anything of the sync is written (checks_first). When what a check reads
 * is written earlier in the same sync, it cannot: the outputs written
 * before it are then snapshot first and put back if it fails
 * (guard_outputs).
 */
#include "cache.h"
#include "fuse.h"
#include "plan.h"
#include "pool.h"

#include <string.h>

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

/* Whether c gathers (a take: it may read anywhere in its array). */
static bool gathers(const aj_kcall *c)
{
	for (int i = 0; i < c->k.nval; i++)
		if (c->k.val[i].op == AJ_OP_TAKE)
			return true;
	return false;
}

static bool reads_output(const aj_kcall *c)
{
	if (gathers(c))
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

/* A tiled kernel's nontemporal blocks want every output's rows to start
 * at a multiple of the vector's bytes (jit/tile.c): its base and its
 * strides but the innermost. */
static bool rows_aligned(const aj_kcall *c)
{
	uintptr_t v = c->k.isa == AJ_ISA_AVX512 ? 64 : 32, bits = 0;
	int nd = c->k.ndim;
	for (int o = 0; o < c->k.nout; o++) {
		bits |= (uintptr_t)c->ptr[o];
		for (int d = 0; d < nd - 1; d++)
			bits |= (uintptr_t)c->strides[o * nd + d];
	}
	return (bits & (v - 1)) == 0;
}

void aj_pick_stores(aj_ctx *ctx, aj_kcall *c)
{
	int64_t min = atomic_load_explicit(&ctx->nt_bytes, memory_order_relaxed);
	c->k.nt = c->nelem && (aj_nt_fits(&c->k) || (c->k.tile && rows_aligned(c))) &&
		  !reads_output(c) && span_bytes(c) >= min;
}

/* ---- data-dependent checks first ----
 *
 * A check (an integer power's negative exponent, a take's position out
 * of range) belongs to its assignment's group and runs before that
 * group's stores. So that a failing one leaves every output of the sync
 * untouched, the checks of later groups move in front of group 0, with
 * the calls of their group they read from (the partials of a chunked
 * check, a reduction an index is computed from), when that cannot change
 * what anything computes: the calls moved write only scratch (no
 * assignment's output), read nothing an earlier group writes, and write
 * nothing an earlier group reads. Otherwise (an index array computed by
 * an earlier assignment of the same sync) the check stays where it is,
 * and guard_outputs makes its failure write nothing all the same. Calls
 * that gather (a take: it may read anywhere in its array) stay too.
 */

/* The bytes operand o of c may touch over all of c's chunks, in *r
 * ([0] <= [1]); false for an index operand (no memory). */
static bool op_span(const aj_kcall *c, int o, char *r[2])
{
	if ((uintptr_t)c->ptr[o] >= AJ_INDEX_BIAS)
		return false;
	char *lo, *hi;
	extent(c, o, &lo, &hi);
	r[0] = lo;
	r[1] = hi;
	for (int64_t t = 0; t < c->nchunk; t++) {
		ptrdiff_t d = c->chunk_ptr[t * c->k.nop + o] - c->ptr[o];
		r[0] = lo + d < r[0] ? lo + d : r[0];
		r[1] = hi + d > r[1] ? hi + d : r[1];
	}
	return true;
}

/* Whether a write of operand o of call w meets operand q of call c. */
static bool meets(const aj_kcall *w, int o, const aj_kcall *c, int q)
{
	char *a[2], *b[2];
	return op_span(w, o, a) && op_span(c, q, b) && a[0] < b[1] && b[0] < a[1];
}

/* Whether w writes memory c reads or writes (outputs count as read: a
 * reduction accumulates into its output). */
static bool writes_for(const aj_kcall *w, const aj_kcall *c)
{
	if (w->nelem == 0 || c->nelem == 0)
		return false;
	for (int o = 0; o < w->k.nout; o++)
		for (int q = 0; q < c->k.nop; q++)
			if (meets(w, o, c, q))
				return true;
	return false;
}

/* Whether call c writes some byte of array a's extent. */
static bool writes_array(const aj_kcall *c, const aj_array *a)
{
	char *r[2], *first, *last;
	for (int o = 0; c->nelem && o < c->k.nout; o++)
		if (op_span(c, o, r) && aj_array_extent(a, &first, &last) &&
		    first < r[1] && r[0] <= last)
			return true;
	return false;
}

/* Whether call c writes some byte of an assignment's output. */
static bool writes_output(const aj_prog *p, const aj_kcall *c)
{
	for (uint32_t a = 0; a < p->npending; a++)
		if (writes_array(c, p->pending[a].out))
			return true;
	return false;
}

/* Marks in move[0 .. j] the calls check j of g[i] needs, and says whether
 * they may run before g[0]. */
static bool movable(const aj_prog *p, const aj_group *g, uint32_t i, int j,
		    bool *move)
{
	const aj_kcall *c = g[i].calls;
	memset(move, 0, (size_t)(j + 1) * sizeof *move);
	move[j] = true;
	for (int m = j; m >= 0; m--) {
		for (int s = m + 1; !move[m] && s <= j; s++)
			move[m] = move[s] && writes_for(&c[m], &c[s]);
		if (!move[m])
			continue;
		if (gathers(&c[m]) || writes_output(p, &c[m]))
			return false;
		for (uint32_t e = 0; e < i; e++)
			for (int k = 0; k < g[e].ncall; k++)
				if (writes_for(&g[e].calls[k], &c[m]) ||
				    writes_for(&c[m], &g[e].calls[k]))
					return false;
	}
	return true;
}

static aj_status checks_first(aj_prog *p, aj_group *g, uint32_t ng)
{
	for (uint32_t i = 1; i < ng; i++)
		for (int j = 0; j < g[i].ncall; j++) {
			if (!g[i].calls[j].fail_if)
				continue;
			bool *move = aj_arena_alloc(&p->arena, (size_t)(j + 1));
			if (!move)
				return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
			if (!movable(p, g, i, j, move))
				continue;
			aj_kcall *to = aj_arena_alloc(&p->arena, (size_t)(g[0].ncall + j + 1) *
								 sizeof *to);
			if (!to)
				return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
			/* to: the moved calls, in order, then g[0]'s */
			int n = 0, kept = 0;
			for (int m = 0; m <= j; m++)
				if (move[m])
					to[n++] = g[i].calls[m];
			memcpy(to + n, g[0].calls, (size_t)g[0].ncall * sizeof *to);
			for (int m = 0; m < g[i].ncall; m++)
				if (m > j || !move[m])
					g[i].calls[kept++] = g[i].calls[m];
			g[0].calls = to;
			g[0].ncall = g[0].cap = g[0].ncall + n;
			g[i].ncall = kept;
			j -= n;
		}
	return AJ_OK;
}

/* ---- checks that wait: outputs snapshot, put back on failure ----
 *
 * A check that still runs after a call writing an assignment's output
 * (what it reads is computed by that call, or it is a group's and the
 * group's reduction writes an output first) would leave that write
 * behind when it fails. So the sync first copies each output that a call
 * before the last such check writes into scratch (save calls, after the
 * calls at the head of group 0 that write no output), and that check's
 * group ends with the copies back (undo calls), which run only when a
 * check fails (aj_run_calls). The copies are element by element, over the
 * output's own view: the bytes between a strided output's elements are
 * the caller's, maybe another thread's, and are never touched. Outputs
 * with the same elements are saved once; overlapping ones each keep the
 * bytes from before the sync, so restoring them in any order is exact.
 * Only syncs with such a check pay, and plans keep the calls like any
 * others.
 */

/* The group of the last check that runs after a call writing an output,
 * or -1; its index in that group in *at. */
static int64_t last_late_check(const aj_prog *p, const aj_group *g, uint32_t ng, int *at)
{
	int64_t last = -1;
	bool wrote = false;
	for (uint32_t i = 0; i < ng; i++)
		for (int j = 0; j < g[i].ncall; j++) {
			if (g[i].calls[j].fail_if && wrote)
				last = i, *at = j;
			wrote = wrote || writes_output(p, &g[i].calls[j]);
		}
	return last;
}

/* Whether a call before call `at` of group `last` writes some of a. */
static bool written_before(const aj_group *g, int64_t last, int at, const aj_array *a)
{
	for (int64_t i = 0; i <= last; i++)
		for (int j = 0; j < (i == last ? at : g[i].ncall); j++)
			if (writes_array(&g[i].calls[j], a))
				return true;
	return false;
}

static aj_status copy_resolved(aj_prog *p, aj_kcall *c, aj_array *dst, aj_array *src,
			       const char *note)
{
	aj_status s = aj_copy_call(p, c, dst, src);
	if (s != AJ_OK)
		return s;
	c->note = note;
	aj_pick_stores(p->ctx, c);
	return aj_cache_resolve(p, c);
}

static bool same_view(const aj_array *a, const aj_array *b)
{
	return a->data == b->data && a->dtype == b->dtype && a->ndim == b->ndim &&
	       !memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof *a->shape) &&
	       !memcmp(a->strides, b->strides, (size_t)a->ndim * sizeof *a->strides);
}

static aj_status guard_outputs(aj_prog *p, aj_group *g, uint32_t ng)
{
	int at = 0;
	int64_t last = last_late_check(p, g, ng, &at);
	if (last < 0)
		return AJ_OK;
	uint32_t nas = p->npending;
	aj_kcall *save = aj_arena_alloc(&p->arena, (size_t)nas * sizeof *save);
	aj_kcall *undo = aj_arena_alloc(&p->arena, (size_t)nas * sizeof *undo);
	if (!save || !undo)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	int n = 0;
	uint64_t bytes0 = p->scratch_bytes;
	for (uint32_t a = 0; a < nas; a++) {
		aj_array *out = p->pending[a].out;
		bool again = aj_array_size(out) == 0 || !written_before(g, last, at, out);
		for (uint32_t b = 0; !again && b < a; b++)
			again = same_view(p->pending[b].out, out);
		if (again)
			continue;
		aj_array *tmp = aj_scratch(p, out->dtype, out->ndim, out->shape);
		if (!tmp)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		aj_status s = copy_resolved(p, &save[n], tmp, out,
					    "snapshot of an output, for a check that runs "
					    "after it is written");
		if (s == AJ_OK)
			s = copy_resolved(p, &undo[n], out, tmp,
					  "undo: puts the output back if a check fails");
		if (s != AJ_OK)
			return s;
		save[n].save = true;
		undo[n++].undo = true;
	}
	g[0].temp_bytes += (int64_t)(p->scratch_bytes - bytes0);
	/* g[0]: its calls that write no output, the saves, the rest */
	int head = 0;
	while (head < g[0].ncall && !writes_output(p, &g[0].calls[head]))
		head++;
	aj_kcall *c0 = aj_arena_alloc(&p->arena, (size_t)(g[0].ncall + n) * sizeof *c0);
	if (!c0)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memcpy(c0, g[0].calls, (size_t)head * sizeof *c0);
	memcpy(c0 + head, save, (size_t)n * sizeof *c0);
	memcpy(c0 + head + n, g[0].calls + head, (size_t)(g[0].ncall - head) * sizeof *c0);
	g[0].calls = c0;
	g[0].ncall = g[0].cap = g[0].ncall + n;
	/* g[last]: its calls, then the undos */
	aj_kcall *cl = aj_arena_alloc(&p->arena, (size_t)(g[last].ncall + n) * sizeof *cl);
	if (!cl)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memcpy(cl, g[last].calls, (size_t)g[last].ncall * sizeof *cl);
	memcpy(cl + g[last].ncall, undo, (size_t)n * sizeof *cl);
	g[last].calls = cl;
	g[last].ncall = g[last].cap = g[last].ncall + n;
	return AJ_OK;
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
	aj_status s = checks_first(p, g, ng);
	if (s == AJ_OK)
		s = guard_outputs(p, g, ng);
	if (s != AJ_OK)
		return s;
	*out = g;
	*nout = ng;
	return AJ_OK;
}

/* Runs the undo calls among calls[0 .. n) (guard_outputs). */
static void undo(aj_prog *p, const aj_kcall *calls, int n)
{
	for (int j = n; j-- > 0;)
		if (calls[j].undo && calls[j].nelem) {
			run_call(p, &calls[j]);
			aj_count(&p->counts.kernels_run, 1);
		}
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
	/* a check of group 0 may fail before its snapshots are taken: then
	 * nothing is written, and there is nothing to put back */
	bool saved = false;
	for (uint32_t i = 0; i < ng; i++) {
		s = aj_run_calls(p, g[i].calls, g[i].ncall, &saved);
		if (s != AJ_OK) {
			for (uint32_t k = ng; saved && k-- > i + 1;)
				undo(p, g[k].calls, g[k].ncall);
			return s;
		}
	}
	return AJ_OK;
}

aj_status aj_run_calls(aj_prog *p, const aj_kcall *calls, int n, bool *saved)
{
	bool none = false;
	if (!saved)
		saved = &none;
	for (int j = 0; j < n; j++) {
		const aj_kcall *c = &calls[j];
		if (c->nelem == 0 || c->undo)
			continue;
		run_call(p, c);
		aj_count(&p->counts.kernels_run, 1);
		*saved = *saved || c->save;
		if (c->fail_if && *c->fail_if) {
			if (*saved)
				undo(p, calls + j + 1, n - j - 1);
			return aj_prog_error(p, AJ_ERR_ARG, "%s", c->fail_msg);
		}
	}
	return AJ_OK;
}
