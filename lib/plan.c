/*
 * Plans: what an aj_sync ran, remembered so that the same work runs again
 * at the cost of the kernels alone.
 *
 * A loop that builds the same expression over the same arrays with new
 * scalars (`a += b*i` for a million i) would fuse, schedule, check overlap
 * and look its kernels up a million times, all to rebuild the same calls.
 * Instead, before the pipeline runs, the pending work is written down as
 * a signature: every node of the program (op, dtypes, shape, operands)
 * and every assignment, with each array as its address and layout, but
 * with no scalar value. Work with an equal signature fuses into the same
 * calls, but for the values of scalar slots (fusion rule 1: a kernel's
 * structure never depends on them, fuse.c), so a plan keeps those calls
 * and, per slot, the node field it came from (aj_slot_src). Replaying a
 * plan reads those fields anew from the program's nodes, then runs the
 * calls.
 *
 * Why an equal signature means equal calls: fusion, scheduling, the
 * overlap decisions (alias.c) and the kernel keys are functions of the
 * nodes, the shapes, the arrays' addresses and layouts (a take's and a
 * view's included), and the context's ISA, accuracy and non-temporal
 * store threshold (run.c), all of which the signature holds. A node it
 * does not know gets no plan: its work always takes the pipeline.
 *
 * Intermediate results live in the program's arena, reset at every sync;
 * a plan owns copies of those buffers instead. Fusion notes each one
 * (aj_plan_note_scratch), and a call pointer into one is moved into the
 * plan's own. A pointer into the arena that is in no noted buffer would
 * dangle: such work gets no plan (a bug elsewhere, kept harmless).
 *
 * Work gets a plan the second time its signature is seen, so one-off
 * syncs pay no copy; a program keeps NPLAN plans, most recent first.
 */
#include "plan.h"

#include <string.h>

/* A plan keeps its intermediates for as long as the program lives, so
 * work whose intermediates pass PLAN_MAX_SCRATCH bytes gets none: its
 * kernels take so long that fusing again costs nothing next to them. */
enum { NPLAN = 8, NSEEN = 16, SCRATCH_ALIGN = 64, PLAN_MAX_SCRATCH = 16 << 20 };

typedef struct region {
	char *lo; /* a noted buffer: [lo, lo + n) */
	size_t n;
} region;

typedef struct aj_plan {
	size_t nsig;      /* words in sig */
	uint64_t *sig;
	aj_kcall *calls;  /* scalars rebound on each replay */
	int ncall;
	uint32_t ngroup;
	uint64_t temp_bytes;
	char *scratch;    /* the intermediates (aj_aligned_alloc), or NULL */
	uint64_t serial;  /* unique in its program: names it in aj_plan_ref */
} aj_plan;

struct aj_plans {
	aj_plan *plan[NPLAN];  /* most recently used first */
	int nplan;
	uint64_t seen[NSEEN];  /* hashes of recent work without a plan */
	int next_seen;
	uint32_t *stamp;       /* per node: gen if the pending work reads it */
	uint32_t nstamp, gen;
	uint64_t *sig;         /* the pending work's, while it runs */
	size_t nsig, capsig;
	bool sig_ok;           /* sig holds the pending work */
	region *region;        /* noted since the last aj_plan_run */
	size_t nregion, capregion;
	aj_plan *ran;          /* what the last aj_plan_run replayed, or NULL */
	uint64_t serials;      /* plans made so far */
};

aj_plans *aj_plans_new(void)
{
	return aj_calloc(1, sizeof(aj_plans));
}

static void plan_free(aj_plan *pl)
{
	if (!pl)
		return;
	aj_free(pl->scratch);
	aj_free(pl); /* one block with the rest */
}

void aj_plans_free(aj_plans *ps)
{
	if (!ps)
		return;
	for (int i = 0; i < ps->nplan; i++)
		plan_free(ps->plan[i]);
	aj_free(ps->sig);
	aj_free(ps->stamp);
	aj_free(ps->region);
	aj_free(ps);
}

void aj_plan_note_scratch(aj_prog *p, char *data, size_t n)
{
	aj_plans *ps = p->plans;
	if (ps->nregion == ps->capregion) {
		size_t cap = ps->capregion ? 2 * ps->capregion : 16;
		region *r = aj_realloc(ps->region, cap * sizeof *r);
		if (!r) { /* the signature is dropped: no plan for this work */
			ps->sig_ok = false;
			return;
		}
		ps->region = r;
		ps->capregion = cap;
	}
	ps->region[ps->nregion++] = (region){data, n};
}

/* ---- the signature ---- */

static bool put(aj_plans *ps, uint64_t w)
{
	if (ps->nsig == ps->capsig) {
		size_t cap = ps->capsig ? 2 * ps->capsig : 256;
		uint64_t *s = aj_realloc(ps->sig, cap * sizeof *s);
		if (!s)
			return false;
		ps->sig = s;
		ps->capsig = cap;
	}
	ps->sig[ps->nsig++] = w;
	return true;
}

static bool put_array(aj_plans *ps, const aj_array *a)
{
	bool ok = put(ps, (uint64_t)(uintptr_t)a->data) &&
		  put(ps, (uint64_t)a->dtype | (uint64_t)a->ndim << 8);
	for (int k = 0; ok && k < a->ndim; k++)
		ok = put(ps, (uint64_t)a->shape[k]) && put(ps, (uint64_t)a->strides[k]);
	return ok;
}

/* A take's positions are a node; its message follows from the rest. */
static bool put_take(aj_plans *ps, const aj_gather *g)
{
	return put_array(ps, g->src) && put_array(ps, g->view) && put(ps, (uint64_t)g->n) &&
	       put(ps, (uint64_t)g->stride) && put(ps, (uint64_t)g->axis << 32 | g->check);
}

/* What of node n beyond op, dtypes, operands and shape decides its
 * calls; false if a plan cannot replay it. */
static bool put_extra(aj_plans *ps, const aj_node *n)
{
	const aj_op_info *op = &aj_ops[n->op];
	if (op->kind == AJ_KIND_REDUCE)
		return put(ps, (uint64_t)n->u.red.axes | (uint64_t)n->u.red.keepdims << 32);
	if (n->op == AJ_OP_POW)
		return put(ps, n->u.check);
	if (op->kind != AJ_KIND_LEAF || n->op == AJ_OP_SCALAR || n->op == AJ_OP_PARAM)
		return true; /* a parameter's index is its arg[0] */
	if (n->op == AJ_OP_ARRAY)
		return put_array(ps, n->u.array);
	if (n->op == AJ_OP_VIEW) /* an index operand, no memory */
		return put_array(ps, n->u.view);
	if (n->op == AJ_OP_TAKE)
		return put_take(ps, n->u.take);
	if (!aj_is_random((aj_op)n->op))
		return false;
	/* first: a slot or none; pos: an index operand, or none */
	return put(ps, n->u.rng->first != 0) && put(ps, n->u.rng->pos != NULL) &&
	       (!n->u.rng->pos || put_array(ps, n->u.rng->pos));
}

static bool put_node(aj_plans *ps, const aj_node *n)
{
	bool ok = put(ps, (uint64_t)n->op | (uint64_t)n->dtype << 8 |
			      (uint64_t)n->weak << 16 | (uint64_t)n->ndim << 24 |
			      (uint64_t)n->arg[0] << 32) &&
		  put(ps, (uint64_t)n->arg[1] | (uint64_t)n->arg[2] << 32);
	for (int k = 0; ok && k < n->ndim; k++)
		ok = put(ps, (uint64_t)n->shape[k]);
	return ok && put_extra(ps, n);
}

static uint64_t hash_words(const uint64_t *w, size_t n)
{
	uint64_t h = n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * 0x9E3779B97F4A7C15ull ^ h >> 29;
	return h;
}

/* Stamps the nodes p's pending work reads with a new ps->gen. Only they
 * count: the others may be garbage an undone aj_exec left, reading arrays
 * it has freed. */
static bool mark(const aj_prog *p, aj_plans *ps)
{
	if (ps->nstamp < p->nnode) {
		uint32_t *s = aj_realloc(ps->stamp, p->nnode * sizeof *s);
		if (!s)
			return false;
		memset(s + ps->nstamp, 0, (p->nnode - ps->nstamp) * sizeof *s);
		ps->stamp = s;
		ps->nstamp = p->nnode;
	}
	if (++ps->gen == 0) { /* wrapped: no stale stamp may match */
		memset(ps->stamp, 0, ps->nstamp * sizeof *ps->stamp);
		ps->gen = 1;
	}
	uint32_t gen = ps->gen, *st = ps->stamp;
	for (uint32_t i = 0; i < p->npending; i++)
		st[p->pending[i].node] = gen;
	for (uint32_t i = p->nnode; i-- > 0;) {
		const aj_node *n = &p->node[i];
		if (st[i] != gen)
			continue;
		for (int k = 0; k < aj_ops[n->op].nin; k++)
			st[n->arg[k]] = gen;
		uint32_t check = aj_node_check(n);
		if (check)
			st[check] = gen;
	}
	return true;
}

/* ps->sig = the signature of p's pending work; false if it has none. */
static bool sign(aj_prog *p, aj_plans *ps)
{
	ps->nsig = 0;
	bool ok = mark(p, ps) &&
		  put(ps, (uint64_t)atomic_load_explicit(&p->ctx->isa,
							 memory_order_relaxed) |
			      (uint64_t)atomic_load_explicit(&p->ctx->fast,
							     memory_order_relaxed) << 32) &&
		  put(ps, (uint64_t)atomic_load_explicit(&p->ctx->nt_bytes,
							 memory_order_relaxed)) &&
		  put(ps, (uint64_t)p->nnode << 32 | p->npending);
	for (uint32_t i = 0; ok && i < p->nnode; i++)
		if (ps->stamp[i] == ps->gen)
			ok = put(ps, i) && put_node(ps, &p->node[i]);
	for (uint32_t i = 0; ok && i < p->npending; i++)
		ok = put(ps, p->pending[i].node) && put_array(ps, p->pending[i].out);
	return ok;
}

/* ---- replaying ---- */

/* The plan whose signature is ps's, moved to the front. Compared word by
 * word, not hashed: a hash is a chain of multiplies over every word,
 * slower than the comparison that must follow it anyway. */
static aj_plan *find(aj_plans *ps)
{
	for (int i = 0; i < ps->nplan; i++) {
		aj_plan *pl = ps->plan[i];
		if (pl->nsig != ps->nsig ||
		    memcmp(pl->sig, ps->sig, ps->nsig * sizeof *ps->sig))
			continue;
		memmove(ps->plan + 1, ps->plan, (size_t)i * sizeof *ps->plan);
		ps->plan[0] = pl;
		return pl;
	}
	return NULL;
}

/* The bits slot src of dtype t holds for p's nodes now. */
static uint64_t slot_now(const aj_prog *p, aj_slot_src src, aj_dtype t)
{
	const aj_node *n = &p->node[src.node];
	switch ((aj_slot_what)src.what) {
	case AJ_SLOT_REAL:
		return aj_slot_bits(t, n->u.scalar);
	case AJ_SLOT_IMAG:
		return aj_slot_bits(t, (aj_scalar_val){.f = n->im});
	case AJ_SLOT_SEED:
		return n->u.rng->seed;
	case AJ_SLOT_STREAM:
		return n->u.rng->stream;
	case AJ_SLOT_FIRST:
		return n->u.rng->first;
	case AJ_SLOT_CONST:
		break;
	}
	return 0; /* not reached: constants are never read again */
}

/* Runs pl's calls, counted as a replay. */
static aj_status run_plan(aj_prog *p, const aj_plan *pl)
{
	aj_counts *n = &p->counts;
	aj_count(&n->replays, 1);
	aj_count(&n->cache_hits, (uint64_t)pl->ncall);
	aj_count(&n->groups, pl->ngroup);
	if (pl->temp_bytes)
		aj_count(&n->temp_bytes, pl->temp_bytes);
	return aj_run_calls(p, pl->calls, pl->ncall, NULL);
}

static aj_status replay(aj_prog *p, aj_plan *pl)
{
	for (int j = 0; j < pl->ncall; j++) {
		aj_kcall *c = &pl->calls[j];
		for (int s = 0; c->slot_src && s < c->k.nscalar; s++)
			if (c->slot_src[s].what != AJ_SLOT_CONST)
				c->scalars[s] = slot_now(p, c->slot_src[s],
							 (aj_dtype)c->k.scalar_dtype[s]);
	}
	return run_plan(p, pl);
}

aj_status aj_plan_run(aj_prog *p, bool *ran)
{
	aj_plans *ps = p->plans;
	*ran = false;
	ps->nregion = 0;
	ps->sig_ok = sign(p, ps);
	aj_plan *pl = ps->sig_ok ? find(ps) : NULL;
	ps->ran = pl;
	if (!pl)
		return AJ_OK;
	*ran = true;
	return replay(p, pl);
}

/* ---- plans named by the text that made their work (program.c) ---- */

bool aj_plan_replayed(const aj_prog *p, aj_plan_ref *r)
{
	const aj_plan *pl = p->plans->ran;
	if (!pl)
		return false;
	for (int j = 0; j < pl->ncall; j++)
		for (int s = 0; pl->calls[j].slot_src && s < pl->calls[j].k.nscalar; s++) {
			aj_slot_what w = (aj_slot_what)pl->calls[j].slot_src[s].what;
			if (w != AJ_SLOT_CONST && w != AJ_SLOT_REAL && w != AJ_SLOT_IMAG)
				return false;
		}
	*r = (aj_plan_ref){p->plans->ran, pl->serial};
	return true;
}

bool aj_plan_alive(const aj_prog *p, aj_plan_ref r)
{
	const aj_plans *ps = p->plans;
	for (int i = 0; i < ps->nplan; i++)
		if (ps->plan[i] == r.pl && r.pl->serial == r.serial)
			return true;
	return false;
}

size_t aj_plan_slots(aj_plan_ref r, uint64_t *bits)
{
	size_t n = 0;
	for (int j = 0; j < r.pl->ncall; j++) {
		const aj_kcall *c = &r.pl->calls[j];
		if (bits)
			memcpy(bits + n, c->scalars, (size_t)c->k.nscalar * sizeof *bits);
		n += (size_t)c->k.nscalar;
	}
	return n;
}

aj_status aj_plan_rerun(aj_prog *p, aj_plan_ref r, const uint64_t *bits)
{
	size_t n = 0;
	for (int j = 0; j < r.pl->ncall; j++) {
		aj_kcall *c = &r.pl->calls[j];
		memcpy(c->scalars, bits + n, (size_t)c->k.nscalar * sizeof *bits);
		n += (size_t)c->k.nscalar;
	}
	return run_plan(p, r.pl);
}

int aj_plans_count(const aj_prog *p, bool *in_arena)
{
	const aj_plans *ps = p->plans;
	*in_arena = false;
	for (int i = 0; i < ps->nplan; i++)
		for (int j = 0; j < ps->plan[i]->ncall; j++) {
			const aj_kcall *c = &ps->plan[i]->calls[j];
			for (int o = 0; o < c->k.nop; o++)
				*in_arena |= aj_arena_owns(&p->arena, c->ptr[o]);
			for (int64_t k = 0; k < c->nchunk * c->k.nop; k++)
				*in_arena |= aj_arena_owns(&p->arena, c->chunk_ptr[k]);
			*in_arena |= c->fail_if && aj_arena_owns(&p->arena, c->fail_if);
		}
	return ps->nplan;
}

/* ---- keeping ---- */

/* Bytes of a plan's block: the plan, the signature, the calls and their
 * arrays, each 16-byte aligned (fill_block lays them out the same way). */
typedef struct layout {
	size_t bytes;	 /* the block */
	size_t scratch;	 /* the intermediates, each SCRATCH_ALIGN-aligned */
} layout;

static size_t up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

/* Carves n bytes from *at (a cursor into the block, or NULL to count). */
static void *carve(char **at, size_t *used, size_t n)
{
	void *r = *at ? *at + *used : NULL;
	*used += up(n, 16);
	return r;
}

static size_t call_bytes(const aj_kcall *c)
{
	size_t nop = (size_t)c->k.nop, nd = (size_t)c->k.ndim, ns = (size_t)c->k.nscalar;
	size_t n = up(nop * sizeof(char *), 16) + up(nd * 8, 16) + up(nop * nd * 8, 16) +
		   up(ns * 8, 16) + up(ns, 16) + up(ns * sizeof(aj_slot_src), 16) +
		   up((size_t)c->nchunk * nop * sizeof(char *), 16);
	if (c->fail_if)
		n += up(strlen(c->fail_msg) + 1, 16);
	return n;
}

/* Where pointer x into the pipeline's memory lives in the plan's: x
 * itself outside the arena; false if it is in the arena but in no noted
 * buffer. */
static bool relocate(const aj_prog *p, const aj_plans *ps, const size_t *off,
		     char *scratch, char *x, char **to)
{
	for (size_t r = 0; r < ps->nregion; r++) {
		const region *g = &ps->region[r];
		if (x >= g->lo && x < g->lo + g->n) {
			*to = scratch + off[r] + (x - g->lo);
			return true;
		}
	}
	*to = x;
	return !aj_arena_owns(&p->arena, x);
}

static bool copy_call(const aj_prog *p, const aj_plans *ps, const size_t *off,
		      aj_plan *pl, const aj_kcall *c, aj_kcall *d, char **at,
		      size_t *used)
{
	size_t nop = (size_t)c->k.nop, nd = (size_t)c->k.ndim, ns = (size_t)c->k.nscalar;
	*d = *c;
	d->cost = aj_call_cost(c);
	/* what only the pipeline reads: the kernel's body and key */
	d->k.val = NULL;
	d->k.op_class = NULL;
	d->k.out_val = NULL;
	d->k.op_dtype = NULL;
	d->note = NULL;
	d->ptr = carve(at, used, nop * sizeof(char *));
	d->shape = carve(at, used, nd * 8);
	d->strides = carve(at, used, nop * nd * 8);
	d->scalars = carve(at, used, ns * 8);
	d->k.scalar_dtype = carve(at, used, ns);
	d->slot_src = c->slot_src ? carve(at, used, ns * sizeof(aj_slot_src)) : NULL;
	if (!c->slot_src)
		carve(at, used, ns * sizeof(aj_slot_src));
	d->chunk_ptr = carve(at, used, (size_t)c->nchunk * nop * sizeof(char *));
	memcpy(d->shape, c->shape, nd * 8);
	memcpy(d->strides, c->strides, nop * nd * 8);
	memcpy(d->scalars, c->scalars, ns * 8);
	memcpy(d->k.scalar_dtype, c->k.scalar_dtype, ns);
	if (d->slot_src)
		memcpy(d->slot_src, c->slot_src, ns * sizeof(aj_slot_src));
	bool ok = true;
	for (size_t o = 0; o < nop; o++)
		ok &= relocate(p, ps, off, pl->scratch, c->ptr[o], &d->ptr[o]);
	for (size_t i = 0; i < (size_t)c->nchunk * nop; i++)
		ok &= relocate(p, ps, off, pl->scratch, c->chunk_ptr[i], &d->chunk_ptr[i]);
	if (c->fail_if) {
		char *f;
		ok &= relocate(p, ps, off, pl->scratch, (char *)c->fail_if, &f);
		d->fail_if = (const uint8_t *)f;
		size_t len = strlen(c->fail_msg) + 1;
		d->fail_msg = memcpy(carve(at, used, len), c->fail_msg, len);
	}
	return ok;
}

/* The plan of groups g[0 .. ng) for the signature in ps; NULL if out of
 * memory or if a call points into the arena outside a noted buffer. */
static aj_plan *capture(const aj_prog *p, const aj_plans *ps, const aj_group *g,
			uint32_t ng)
{
	int ncall = 0;
	size_t used = 0, scratch = 0;
	char *none = NULL;
	carve(&none, &used, sizeof(aj_plan));
	carve(&none, &used, ps->nsig * 8);
	carve(&none, &used, ps->nregion * sizeof(size_t));
	for (uint32_t i = 0; i < ng; i++) {
		ncall += g[i].ncall;
		for (int j = 0; j < g[i].ncall; j++)
			used += call_bytes(&g[i].calls[j]);
	}
	carve(&none, &used, (size_t)ncall * sizeof(aj_kcall));
	for (size_t r = 0; r < ps->nregion; r++)
		scratch += up(ps->region[r].n, SCRATCH_ALIGN);
	if (scratch > PLAN_MAX_SCRATCH)
		return NULL;
	char *block = aj_malloc(used);
	if (!block)
		return NULL;
	size_t at = 0;
	aj_plan *pl = carve(&block, &at, sizeof *pl);
	*pl = (aj_plan){.nsig = ps->nsig, .ncall = ncall, .ngroup = ng};
	pl->sig = carve(&block, &at, ps->nsig * 8);
	if (ps->nsig) /* none for a prepared kernel's */
		memcpy(pl->sig, ps->sig, ps->nsig * 8);
	size_t *off = carve(&block, &at, ps->nregion * sizeof *off);
	pl->calls = carve(&block, &at, (size_t)ncall * sizeof(aj_kcall));
	for (size_t r = 0, o = 0; r < ps->nregion; o += up(ps->region[r++].n, SCRATCH_ALIGN))
		off[r] = o;
	pl->scratch = scratch ? aj_aligned_alloc(SCRATCH_ALIGN, scratch) : NULL;
	bool ok = !scratch || pl->scratch;
	for (uint32_t i = 0, k = 0; ok && i < ng; i++) {
		pl->temp_bytes += (uint64_t)g[i].temp_bytes;
		for (int j = 0; ok && j < g[i].ncall; j++)
			ok = copy_call(p, ps, off, pl, &g[i].calls[j], &pl->calls[k++],
				       &block, &at);
	}
	if (!ok) {
		plan_free(pl);
		return NULL;
	}
	return pl;
}

/* Whether the signature in ps was seen before without a plan; if not,
 * remembers it. */
static bool seen_before(aj_plans *ps)
{
	uint64_t h = hash_words(ps->sig, ps->nsig);
	for (int i = 0; i < NSEEN; i++)
		if (ps->seen[i] == h)
			return true;
	ps->seen[ps->next_seen] = h;
	ps->next_seen = (ps->next_seen + 1) % NSEEN;
	return false;
}

void aj_plan_keep(aj_prog *p, const aj_group *g, uint32_t ng)
{
	aj_plans *ps = p->plans;
	if (!ps->sig_ok || !seen_before(ps))
		return;
	aj_plan *pl = capture(p, ps, g, ng);
	if (!pl)
		return;
	pl->serial = ++ps->serials;
	if (ps->nplan == NPLAN)
		plan_free(ps->plan[--ps->nplan]);
	memmove(ps->plan + 1, ps->plan, (size_t)ps->nplan * sizeof *ps->plan);
	ps->plan[0] = pl;
	ps->nplan++;
}

/* ---- prepared kernels ---- */

/*
 * A prepared kernel's plan (aj_prepare) is captured as any plan is, with
 * no signature, then made relocatable: a call pointer inside array
 * parameter j's template (its byte extent) is rewritten on every run to
 * that parameter's data plus its offset from the template's, and a slot
 * whose source is a parameter node (AJ_OP_PARAM) is set to the value
 * given. Scratch pointers are the plan's own already; what else lies
 * outside the arena (index operands, the namespace's temporaries) stays.
 * The offsets stay right because the run path admits only arrays of the
 * template's layout, pairwise disjoint as the templates are, so every
 * decision that depended on addresses (overlap, alias.c) holds again.
 */
typedef struct reloc {
	char **at;    /* a call pointer of the plan */
	uint32_t param;
	int64_t off;  /* bytes from the parameter's data */
} reloc;

typedef struct pslot {
	uint64_t *at; /* a call's scalar slot */
	uint32_t param;
} pslot;

struct aj_pplan {
	aj_plan *plan;
	reloc *reloc;
	pslot *slot;
	int nreloc, nslot;
};

void aj_plan_begin(aj_prog *p)
{
	p->plans->nregion = 0;
	p->plans->sig_ok = true;
}

/* Notes pointer *at in reloc if it lies in an array parameter's template. */
static void classify(aj_pplan *pp, int nparam, const aj_array *const *tmpl, char **at)
{
	for (int j = 0; j < nparam; j++) {
		char *lo, *hi;
		if (tmpl[j] && aj_array_extent(tmpl[j], &lo, &hi) && *at >= lo && *at <= hi) {
			pp->reloc[pp->nreloc++] = (reloc){at, (uint32_t)j, *at - tmpl[j]->data};
			return;
		}
	}
}

/* Fills pp's relocations and parameter slots from its plan's calls;
 * false if a call cannot be replayed with new parameters. */
static bool fill_pplan(const aj_prog *p, aj_pplan *pp, int nparam,
		       const aj_array *const *tmpl)
{
	for (int i = 0; i < pp->plan->ncall; i++) {
		aj_kcall *c = &pp->plan->calls[i];
		for (int o = 0; o < c->k.nop; o++)
			classify(pp, nparam, tmpl, &c->ptr[o]);
		for (int64_t k = 0; k < c->nchunk * c->k.nop; k++)
			classify(pp, nparam, tmpl, &c->chunk_ptr[k]);
		if (c->fail_if) {
			int n = pp->nreloc;
			char *f = (char *)c->fail_if;
			classify(pp, nparam, tmpl, &f);
			if (pp->nreloc != n) /* checks write scratch, never a param */
				return false;
		}
		for (int s = 0; c->slot_src && s < c->k.nscalar; s++) {
			aj_slot_src src = c->slot_src[s];
			if (src.what == AJ_SLOT_SEED || src.what == AJ_SLOT_STREAM ||
			    src.what == AJ_SLOT_FIRST)
				return false; /* random draws: new ones per run */
			const aj_node *n = &p->node[src.node];
			if (src.what == AJ_SLOT_REAL && n->op == AJ_OP_PARAM)
				pp->slot[pp->nslot++] = (pslot){&c->scalars[s], n->arg[0]};
		}
	}
	return true;
}

aj_pplan *aj_pplan_new(aj_prog *p, const aj_group *g, uint32_t ng, int nparam,
		       const aj_array *const *tmpl)
{
	aj_plans *ps = p->plans;
	if (!ps->sig_ok)
		return NULL;
	ps->nsig = 0;
	aj_pplan *pp = aj_calloc(1, sizeof *pp);
	if (!pp)
		return NULL;
	pp->plan = capture(p, ps, g, ng);
	size_t nptr = 0, nslot = 0;
	for (int i = 0; pp->plan && i < pp->plan->ncall; i++) {
		const aj_kcall *c = &pp->plan->calls[i];
		nptr += (size_t)c->k.nop * (size_t)(1 + c->nchunk) + 1;
		nslot += (size_t)c->k.nscalar;
	}
	pp->reloc = aj_malloc((nptr + 1) * sizeof *pp->reloc);
	pp->slot = aj_malloc((nslot + 1) * sizeof *pp->slot);
	if (!pp->plan || !pp->reloc || !pp->slot || !fill_pplan(p, pp, nparam, tmpl)) {
		aj_pplan_free(pp);
		return NULL;
	}
	return pp;
}

void aj_pplan_free(aj_pplan *pp)
{
	if (!pp)
		return;
	plan_free(pp->plan);
	aj_free(pp->reloc);
	aj_free(pp->slot);
	aj_free(pp);
}

aj_status aj_pplan_run(aj_prog *p, aj_pplan *pp, char *const *data,
		       const uint64_t *bits)
{
	for (int i = 0; i < pp->nreloc; i++)
		*pp->reloc[i].at = data[pp->reloc[i].param] + pp->reloc[i].off;
	for (int i = 0; i < pp->nslot; i++)
		*pp->slot[i].at = bits[pp->slot[i].param];
	return run_plan(p, pp->plan);
}
