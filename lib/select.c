/*
 * Selection by a boolean mask: aj_mask_select (NumPy's a[mask]),
 * aj_compress (np.compress) and, through the parser, a[m] and
 * compress(...) in aj_exec text (aj_select_axis, select.h).
 *
 * How many elements a selection keeps depends on the data, and so does the
 * shape of its result: a selection is eager. It runs the program's pending
 * work (it must see earlier writes), then two passes over one iteration
 * space, a's shape with the mask broadcast into it (stride 0 along the axes
 * it does not cover):
 *
 *   count   the mask summed per fixed chunk of loop 0, a SUM reduction
 *           into one int64 per chunk
 *   host    the exclusive prefix sum of the counts, where each chunk's
 *           elements start in the output; their total sizes the result,
 *           allocated only now
 *   write   the same loops and chunks; output 0 is a running pointer (a
 *           compress kernel, kernel.h), chunk c's starting at its offset:
 *           where the mask holds, the value is stored and the pointer
 *           advances
 *
 * Rule 1 of fusion holds in both: the mask's producer is fused into the
 * count, the mask's and the values' into the write, and neither is ever
 * materialised. The one exception is compress with axis=None of an a that
 * no view flattens (an expression, a transposed array): the condition is
 * first written into a bool array of a's shape, which masks all its axes.
 *
 * Invariants:
 * - Both passes have one loop nest. The count kernel is the write kernel
 *   with another output 0 (strides 0 in both: one accumulator, or a
 *   running pointer) and the mask summed where the write stores it: the
 *   same operands and strides, so sched gives both the same nest and
 *   run.c cuts loop 0 into the same chunks. The count kernel thus also
 *   lowers the values; LLVM deletes that dead code.
 * - Loops run in C order (aj_kcall.c_order: sched merges them but never
 *   flips or reorders), so kept elements come out in the C order of the
 *   iteration space, which is the result's C order: the axes the mask
 *   covers collapse into the one axis of kept positions.
 * - Chunks are fixed by the loop nest alone (select_chunks), never by the
 *   thread count. Chunk c writes [offset c, offset c+1) of the result; the
 *   ranges abut in chunk order, so the result is the same bytes on any
 *   number of threads.
 * - Everything is built and compiled, and the count known, before the
 *   result is allocated: an error allocates nothing and writes nothing
 *   (the pending work, once run, stays done, as after a failed aj_sync).
 * - An axis of the iteration space may be shorter than the values' or the
 *   mask's along it (compress with a short condition): the kernels then
 *   read their first elements along it, as a slice would.
 * - Nodes are never reset here (unlike aj_sync): the caller's expressions
 *   and a namespace's lazy names stay valid. The kernels' scratch lives in
 *   the program's arena until its next aj_sync.
 */
#include "cache.h"
#include "fuse.h"
#include "select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunks of loop 0: one per SELECT_CHUNK_ELEMS elements of the nest, at
 * most SELECT_MAX_CHUNKS (the per-chunk counts stay a few cache lines). */
enum { SELECT_CHUNK_ELEMS = 1 << 15, SELECT_MAX_CHUNKS = 64 };

/* A selection: node x where node mask holds, over the iteration space
 * (nd, shape). The mask covers axes [axis, axis + naxes) of the space,
 * which the result collapses into one. */
typedef struct sel {
	uint32_t x;    /* the values, broadcast into the space */
	uint32_t mask; /* bool, broadcast into the space */
	uint32_t own;  /* the mask as given, of shape shape[axis ..
			  axis + naxes) (or longer along it: see above) */
	int nd, axis, naxes;
	int64_t shape[AJ_MAX_NDIM];
} sel;

/* The kernels of one selection and its chunks. */
typedef struct passes {
	aj_group g; /* the reductions and checks x and the mask need */
	aj_kcall count, write;
	int64_t nchunk;
	int64_t *start; /* per chunk: its count, then (prefix sum) its
			   first element in the result */
	int64_t total;  /* elements kept */
} passes;

/* The parts of compress(cond, a, axis) that a selection has not. */
typedef struct comp {
	uint32_t cond; /* the condition as bools */
	int64_t n, m;  /* its length; that of the axis (flattened: a's size) */
	int axis;      /* a's axis, or AJ_ALL_AXES */
	bool copy;     /* axis=None of an a that no view flattens */
} comp;

static aj_status nomem(aj_prog *p)
{
	return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
}

/* Records status s of a failed call on the context with its message
 * (copied: the context's buffer may be rewritten meanwhile). */
static aj_status ctx_failed(aj_prog *p, aj_status s)
{
	char msg[AJ_ERRMSG_MAX];
	snprintf(msg, sizeof msg, "%s", aj_ctx_errmsg(p->ctx));
	return aj_prog_error(p, s, "%s", msg);
}

static uint32_t index_of(const aj_prog *p, aj_expr e)
{
	return e.id - p->id_base - 1;
}

/* ---- the two passes ---- */

/* What stands for the result while the kernels are built: dtype t over
 * (nd, shape), strides 0 (a running pointer, kernel.h), no memory yet. */
static aj_array *placeholder(aj_prog *p, aj_dtype t, int nd, const int64_t *shape)
{
	aj_array *a = aj_arena_alloc(&p->arena, sizeof *a);
	if (!a)
		return NULL;
	memset(a, 0, sizeof *a);
	a->ctx = p->ctx;
	a->dtype = t;
	a->ndim = nd;
	memcpy(a->shape, shape, (size_t)nd * sizeof *shape);
	return a;
}

/* c = the count kernel of write kernel w: output 0 an int64 accumulator
 * (strides 0, as w's), the mask as int64 summed into it. */
static aj_status count_kernel(aj_prog *p, const aj_kcall *w, aj_kcall *c)
{
	const aj_kdesc *k = &w->k;
	aj_kval *val = aj_arena_alloc(&p->arena, (size_t)(k->nval + 1) * sizeof *val);
	uint32_t *out_val = aj_arena_alloc(&p->arena, sizeof *out_val);
	uint8_t *op_dtype = aj_arena_alloc(&p->arena, (size_t)k->nop);
	char **ptr = aj_arena_alloc(&p->arena, (size_t)k->nop * sizeof *ptr);
	if (!val || !out_val || !op_dtype || !ptr)
		return nomem(p);
	memcpy(val, k->val, (size_t)k->nval * sizeof *val);
	val[k->nval] = (aj_kval){.op = AJ_OP_CAST, .dtype = AJ_INT64, .arg = {k->mask}};
	*out_val = (uint32_t)k->nval;
	memcpy(op_dtype, k->op_dtype, (size_t)k->nop);
	op_dtype[0] = AJ_INT64;
	memcpy(ptr, w->ptr, (size_t)k->nop * sizeof *ptr);
	*c = *w;
	c->k.red = AJ_OP_SUM;
	c->k.compress = 0;
	c->k.mask = 0;
	c->k.val = val;
	c->k.nval = k->nval + 1;
	c->k.out_val = out_val;
	c->k.op_dtype = op_dtype;
	c->ptr = ptr;
	return AJ_OK;
}

/* The chunks of loop 0 of call c: a function of its loop nest alone. */
static int64_t select_chunks(const aj_kcall *c)
{
	int64_t n = c->nelem / SELECT_CHUNK_ELEMS;
	if (n > SELECT_MAX_CHUNKS)
		n = SELECT_MAX_CHUNKS;
	if (n > c->shape[0])
		n = c->shape[0];
	return n < 1 ? 1 : n;
}

/* c runs as nchunk chunks of loop 0 (run.c), chunk i with output 0 at
 * out[i] and c's other operand pointers. */
static aj_status chunk_outputs(aj_prog *p, aj_kcall *c, int64_t nchunk,
			       char *const *out)
{
	int nop = c->k.nop;
	if (!c->chunk_ptr) {
		c->chunk_ptr = aj_arena_alloc(&p->arena,
					      (size_t)(nchunk * nop) * sizeof(char *));
		if (!c->chunk_ptr)
			return nomem(p);
		for (int64_t i = 0; i < nchunk; i++)
			memcpy(c->chunk_ptr + i * nop, c->ptr, (size_t)nop * sizeof(char *));
		c->nchunk = nchunk;
	}
	for (int64_t i = 0; i < nchunk; i++)
		c->chunk_ptr[i * nop] = out[i];
	c->ptr[0] = out[0]; /* what one chunk runs with (run.c) */
	return AJ_OK;
}

/* Builds and compiles the passes of node x where bool node mask holds
 * over (nd, shape), the write pass only if write. */
static aj_status build(aj_prog *p, uint32_t x, uint32_t mask, int nd,
		       const int64_t *shape, bool write, passes *ps)
{
	memset(ps, 0, sizeof *ps);
	aj_array *out = placeholder(p, (aj_dtype)p->node[x].dtype, nd, shape);
	if (!out)
		return nomem(p);
	aj_status s = aj_fuse_select(p, x, mask, nd, shape, out, &ps->g, &ps->write);
	aj_count(&p->counts.temp_bytes, (uint64_t)ps->g.temp_bytes);
	if (s == AJ_OK)
		s = count_kernel(p, &ps->write, &ps->count);
	if (s != AJ_OK)
		return s;
	ps->nchunk = select_chunks(&ps->write);
	ps->start = aj_arena_alloc(&p->arena, (size_t)ps->nchunk * sizeof *ps->start);
	char **acc = aj_arena_alloc(&p->arena, (size_t)ps->nchunk * sizeof *acc);
	if (!ps->start || !acc)
		return nomem(p);
	for (int64_t i = 0; i < ps->nchunk; i++) {
		ps->start[i] = 0;
		acc[i] = (char *)&ps->start[i];
	}
	s = chunk_outputs(p, &ps->count, ps->nchunk, acc);
	for (int j = 0; s == AJ_OK && j < ps->g.ncall; j++)
		s = aj_cache_resolve(p, &ps->g.calls[j]);
	if (s == AJ_OK)
		s = aj_cache_resolve(p, &ps->count);
	if (s == AJ_OK && write)
		s = aj_cache_resolve(p, &ps->write);
	return s;
}

/* Runs what the passes need, then the count: start[] becomes the chunks'
 * offsets in the result, total the elements kept. */
static aj_status count(aj_prog *p, passes *ps)
{
	aj_status s = aj_run_calls(p, ps->g.calls, ps->g.ncall, NULL);
	if (s == AJ_OK)
		s = aj_run_calls(p, &ps->count, 1, NULL);
	if (s != AJ_OK)
		return s;
	int64_t sum = 0;
	for (int64_t i = 0; i < ps->nchunk; i++) {
		int64_t n = ps->start[i];
		ps->start[i] = sum;
		sum += n;
	}
	ps->total = sum;
	return AJ_OK;
}

/* Runs the write pass (after count) into dst, room for total elements. */
static aj_status write_to(aj_prog *p, passes *ps, char *dst)
{
	aj_kcall *w = &ps->write;
	int64_t size = aj_dtypes[w->k.op_dtype[0]].size;
	char **at = aj_arena_alloc(&p->arena, (size_t)ps->nchunk * sizeof *at);
	if (!at)
		return nomem(p);
	for (int64_t i = 0; i < ps->nchunk; i++)
		at[i] = dst + ps->start[i] * size;
	aj_status s = chunk_outputs(p, w, ps->nchunk, at);
	return s == AJ_OK ? aj_run_calls(p, w, 1, NULL) : s;
}

/* *n = how many elements of bool node mask hold over (nd, shape). */
static aj_status count_only(aj_prog *p, uint32_t mask, int nd,
			    const int64_t *shape, int64_t *n)
{
	passes ps;
	aj_status s = build(p, mask, mask, nd, shape, false, &ps);
	if (s == AJ_OK)
		s = count(p, &ps);
	*n = ps.total;
	return s;
}

/* Runs selection s into a new array *out. */
static aj_status run_selection(aj_prog *p, const sel *s, aj_array **out)
{
	passes ps;
	aj_status st = build(p, s->x, s->mask, s->nd, s->shape, true, &ps);
	if (st == AJ_OK)
		st = count(p, &ps);
	if (st != AJ_OK)
		return st;
	/* each position the mask keeps is one element of each other axis,
	 * unless those have none: then the mask is counted alone */
	int64_t other = 1, kept, shape[AJ_MAX_NDIM];
	int nd = 0;
	for (int d = 0; d < s->nd; d++)
		if (d < s->axis || d >= s->axis + s->naxes)
			other *= s->shape[d];
	if (other && ps.total % other) { /* the mask varied where it may not */
		fprintf(stderr, "%s:%d: selection kept %lld elements, no multiple "
			"of %lld\n", __FILE__, __LINE__, (long long)ps.total,
			(long long)other);
		abort();
	}
	if (other)
		kept = ps.total / other;
	else if ((st = count_only(p, s->own, s->naxes, s->shape + s->axis, &kept)) != AJ_OK)
		return st;
	for (int d = 0; d < s->axis; d++)
		shape[nd++] = s->shape[d];
	shape[nd++] = kept;
	for (int d = s->axis + s->naxes; d < s->nd; d++)
		shape[nd++] = s->shape[d];
	aj_array *r;
	st = aj_array_new_uninit(p->ctx, (aj_dtype)p->node[s->x].dtype, nd, shape, &r);
	if (st != AJ_OK)
		return ctx_failed(p, st);
	if (ps.total && (st = write_to(p, &ps, aj_array_data(r))) != AJ_OK) {
		aj_array_free(r);
		return st;
	}
	*out = r;
	return AJ_OK;
}

/* ---- entry points ---- */

/* Runs p's pending assignments, as aj_sync does (on failure they are
 * dropped), but keeps the nodes: the selection's operands, and lazy names
 * of a namespace, stay valid. */
static aj_status run_pending(aj_prog *p)
{
	if (p->npending == 0)
		return AJ_OK;
	aj_status s = aj_run(p);
	p->npending = 0;
	p->nrun++;
	return s;
}

/* A call's status once it recorded any failure in p, taken out of p as
 * aj_sync does (the message stays in aj_prog_errmsg). */
static aj_status finish(aj_prog *p, aj_status s)
{
	if (s == AJ_OK)
		return AJ_OK;
	aj_status e = aj_prog_take_error(p);
	return e != AJ_OK ? e : s;
}

/* What every entry checks first: a result pointer, and no builder error
 * pending (reported here, as aj_sync would). */
static aj_status entry(aj_prog *p, const char *fn, aj_array **out)
{
	p->nselect++;
	if (!out)
		return aj_prog_error(p, AJ_ERR_ARG, "%s: out is NULL", fn);
	return p->err;
}

/*
 * Whether node root reads, in its own loop nest (not under a reduction), a
 * shapeless random leaf: 0-d, it draws one value per element of the nest
 * (arrjit.h, aj_random). In a mask that covers only some axes of the
 * iteration space it would differ along the others, where the mask must
 * not (the kept positions would not be rows of the result); such masks
 * are refused. -1 out of memory (recorded).
 */
static int draws_per_element(aj_prog *p, uint32_t root)
{
	uint8_t *reach = aj_arena_alloc(&p->arena, root + 1);
	if (!reach)
		return nomem(p), -1;
	memset(reach, 0, root + 1);
	reach[root] = 1;
	for (uint32_t i = root + 1; i-- > 0;) {
		const aj_node *n = &p->node[i];
		if (!reach[i] || aj_ops[n->op].kind == AJ_KIND_REDUCE)
			continue;
		if (aj_is_random((aj_op)n->op) && n->ndim == 0)
			return 1;
		for (int k = 0; k < aj_ops[n->op].nin; k++)
			reach[n->arg[k]] = 1;
	}
	return 0;
}

/* The error for a mask (fn's) that draws per element but does not cover
 * every axis; p->err if draws_per_element failed. */
static aj_status partial_random(aj_prog *p, const char *fn, int r)
{
	if (r < 0)
		return p->err;
	return aj_prog_error(p, AJ_ERR_ARG, "%s: a shapeless random() or normal() "
			     "in the mask draws a value per element of the array, "
			     "but the mask covers only some of its axes; give it "
			     "the mask's shape (shape=...)", fn);
}

/* s = a where mask holds, the mask covering a's axes from axis on
 * (aj_select_axis), with NumPy's checks and messages. */
static aj_status mask_sel(aj_prog *p, aj_expr a, aj_expr mask, int axis, sel *s)
{
	const aj_node *an = aj_prog_node(p, a), *mn = an ? aj_prog_node(p, mask) : NULL;
	if (!mn)
		return p->err;
	char sa[AJ_ERRMSG_MAX / 4], sm[AJ_ERRMSG_MAX / 4];
	int nd = an->ndim, md = mn->ndim;
	aj_shape_text(sa, sizeof sa, nd, an->shape);
	aj_shape_text(sm, sizeof sm, md, mn->shape);
	if (mn->dtype != AJ_BOOL)
		return aj_prog_error(p, AJ_ERR_DTYPE, "boolean index: the mask must "
				     "be of dtype bool, not %s (positions are "
				     "aj_take's)", aj_dtypes[mn->dtype].name);
	if (axis + md > nd)
		return aj_prog_error(p, AJ_ERR_SHAPE, "too many indices for array: "
				     "array is %d-dimensional, but %d were indexed "
				     "(array shape %s, mask shape %s)", nd, axis + md,
				     sa, sm);
	for (int k = 0; k < md; k++)
		if (mn->shape[k] != an->shape[axis + k])
			return aj_prog_error(p, AJ_ERR_SHAPE, "boolean index did not "
					     "match indexed array along dimension %d; "
					     "dimension is %lld but corresponding "
					     "boolean dimension is %lld (array shape "
					     "%s, mask shape %s)", axis + k,
					     (long long)an->shape[axis + k],
					     (long long)mn->shape[k], sa, sm);
	if (nd - md + 1 > AJ_MAX_NDIM)
		return aj_prog_error(p, AJ_ERR_SHAPE, "boolean index: the result "
				     "would have more than %d dimensions", AJ_MAX_NDIM);
	int r = md < nd ? draws_per_element(p, index_of(p, mask)) : 0;
	if (r)
		return partial_random(p, "boolean index", r);
	*s = (sel){.x = index_of(p, a), .own = index_of(p, mask), .nd = nd,
		   .axis = axis, .naxes = md};
	if (nd > 0) /* a scalar's node has no shape array at all */
		memcpy(s->shape, an->shape, (size_t)nd * sizeof *s->shape);
	/* builders from here on may move p->node: an and mn are stale */
	aj_expr m = aj_expand_trailing(p, mask, nd - axis - md);
	if (m.id == AJ_EXPR_NONE.id)
		return p->err;
	s->mask = index_of(p, m);
	return AJ_OK;
}

aj_status aj_select_axis(aj_prog *p, aj_expr a, aj_expr mask, int axis,
			 aj_array **out)
{
	if (!p)
		return AJ_ERR_ARG;
	sel s;
	aj_status st = entry(p, "aj_mask_select", out);
	if (st == AJ_OK)
		st = mask_sel(p, a, mask, axis, &s);
	if (st == AJ_OK)
		st = run_pending(p);
	if (st == AJ_OK)
		st = run_selection(p, &s, out);
	return finish(p, st);
}

aj_status aj_mask_select(aj_prog *p, aj_expr a, aj_expr mask, aj_array **out)
{
	return aj_select_axis(p, a, mask, 0, out);
}

/* ---- compress ---- */

/*
 * For axis=None: a flattened in C order, s over (a's size,). a itself
 * when it has at most one axis (0-d: it broadcasts into (1,)); a view
 * when a is an array that one flattens (aj_view_ravel; kept in the arena,
 * as take.c's); otherwise c->copy, s over all of a's axes.
 */
static aj_status flatten(aj_prog *p, const aj_node *an, sel *s, comp *c)
{
	s->axis = 0;
	if (an->ndim <= 1) {
		s->nd = 1;
		s->shape[0] = an->ndim ? an->shape[0] : 1;
		return AJ_OK;
	}
	aj_array *h;
	if (an->op != AJ_OP_ARRAY || aj_view_ravel(p->ctx, an->u.array, &h) != AJ_OK) {
		c->copy = true;
		s->naxes = s->nd;
		return AJ_OK;
	}
	aj_array *v = aj_arena_alloc(&p->arena, sizeof *v);
	if (v)
		*v = *h;
	aj_array_free(h);
	if (!v)
		return nomem(p);
	aj_expr leaf = aj_leaf(p, v);
	if (leaf.id == AJ_EXPR_NONE.id)
		return p->err;
	s->x = index_of(p, leaf);
	s->nd = 1;
	s->shape[0] = v->shape[0];
	return AJ_OK;
}

/* s and c for compress(cond, a, axis), checked as NumPy does. */
static aj_status compress_sel(aj_prog *p, aj_expr cond, aj_expr a, int axis,
			      sel *s, comp *c)
{
	const aj_node *cn = aj_prog_node(p, cond), *an = cn ? aj_prog_node(p, a) : NULL;
	if (!an)
		return p->err;
	int nd = an->ndim;
	if (cn->ndim != 1)
		return aj_prog_error(p, AJ_ERR_SHAPE, "compress: condition must be "
				     "a 1-d array, not %d-d", cn->ndim);
	if (axis != AJ_ALL_AXES && (axis < -nd || axis >= nd))
		return aj_prog_error(p, AJ_ERR_ARG, "compress: axis %d is out of "
				     "bounds for array of dimension %d", axis, nd);
	bool is_bool = cn->dtype == AJ_BOOL;
	*c = (comp){.n = cn->shape[0], .axis = axis};
	*s = (sel){.x = index_of(p, a), .nd = nd, .naxes = 1};
	if (nd > 0) /* a scalar's node has no shape array at all */
		memcpy(s->shape, an->shape, (size_t)nd * sizeof *s->shape);
	if (axis != AJ_ALL_AXES)
		s->axis = axis + (axis < 0 ? nd : 0);
	/* builders (flatten's leaf, after it reads an; the cast) may move
	 * p->node: cn and an are stale after this */
	aj_status st = axis == AJ_ALL_AXES ? flatten(p, an, s, c) : AJ_OK;
	if (st != AJ_OK)
		return st;
	c->m = 1;
	for (int d = s->axis; d < s->axis + s->naxes; d++)
		c->m *= s->shape[d];
	aj_expr b = is_bool ? cond : aj_cast(p, cond, AJ_BOOL); /* nonzero */
	if (b.id == AJ_EXPR_NONE.id)
		return p->err;
	c->cond = index_of(p, b);
	if (c->copy) /* the mask comes later (copy_cond) */
		return AJ_OK;
	int r = s->nd > 1 ? draws_per_element(p, c->cond) : 0;
	if (r)
		return partial_random(p, "compress", r);
	if (c->n < c->m)
		s->shape[s->axis] = c->n; /* NumPy: the rest is false */
	s->own = c->cond;
	aj_expr m = aj_expand_trailing(p, b, s->nd - 1 - s->axis);
	if (m.id == AJ_EXPR_NONE.id)
		return p->err;
	s->mask = index_of(p, m);
	return AJ_OK;
}

/* NumPy's compress takes the positions where the condition holds: one at
 * or past the axis's length (a condition longer than it) is out of
 * bounds, though false entries there are not. */
static aj_status check_tail(aj_prog *p, const comp *c)
{
	int64_t all, in;
	aj_status s = count_only(p, c->cond, 1, &c->n, &all);
	if (s == AJ_OK)
		s = count_only(p, c->cond, 1, &c->m, &in);
	if (s != AJ_OK || all == in)
		return s;
	char where[48] = "the flattened array";
	if (c->axis != AJ_ALL_AXES)
		snprintf(where, sizeof where, "axis %d", c->axis);
	return aj_prog_error(p, AJ_ERR_BOUNDS, "compress: index out of bounds "
			     "for %s with size %lld: the condition, of length "
			     "%lld, is true past its end", where, (long long)c->m,
			     (long long)c->n);
}

/*
 * c->copy (flatten): *z = the condition's first values, as many as a has
 * elements, the rest false, as a bool array of a's shape, written by a
 * selection of the condition where True holds; it becomes the mask over
 * all of a's axes. Its bytes count as temporary.
 */
static aj_status copy_cond(aj_prog *p, const comp *c, sel *s, aj_array **z)
{
	aj_status st = aj_array_new(p->ctx, AJ_BOOL, s->nd, s->shape, z);
	if (st != AJ_OK)
		return ctx_failed(p, st);
	int64_t n = c->n < c->m ? c->n : c->m;
	aj_expr yes = aj_scalar_bool(p, true);
	if (yes.id == AJ_EXPR_NONE.id)
		return p->err;
	passes ps;
	st = build(p, c->cond, index_of(p, yes), 1, &n, true, &ps);
	if (st == AJ_OK)
		st = count(p, &ps);
	if (st == AJ_OK && ps.total)
		st = write_to(p, &ps, aj_array_data(*z));
	if (st != AJ_OK)
		return st;
	aj_count(&p->counts.temp_bytes, (uint64_t)c->m);
	aj_expr leaf = aj_leaf(p, *z);
	if (leaf.id == AJ_EXPR_NONE.id)
		return p->err;
	s->mask = s->own = index_of(p, leaf);
	return AJ_OK;
}

aj_status aj_compress(aj_prog *p, aj_expr cond, aj_expr a, int axis,
		      aj_array **out)
{
	if (!p)
		return AJ_ERR_ARG;
	sel s;
	comp c = {.copy = false};
	aj_array *z = NULL;
	aj_status st = entry(p, "aj_compress", out);
	if (st == AJ_OK)
		st = compress_sel(p, cond, a, axis, &s, &c);
	if (st == AJ_OK)
		st = run_pending(p);
	if (st == AJ_OK && c.n > c.m)
		st = check_tail(p, &c);
	if (st == AJ_OK && c.copy)
		st = copy_cond(p, &c, &s, &z);
	if (st == AJ_OK)
		st = run_selection(p, &s, out);
	aj_array_free(z);
	return finish(p, st);
}
