/*
 * Fusion: one pending assignment `out = e` becomes a short list of kernel
 * calls, all built before any runs.
 *
 * Rule 1: elementwise work never materialises. Every elementwise node
 * reachable from e is computed inside one loop nest, element by element.
 * Leaves become loads (arrays) or runtime parameters (scalars), so a
 * kernel's structure does not depend on data, shapes or scalar values.
 *
 * Rule 3: an integer power with an array exponent carries a check,
 * any(exponent < 0), lowered like a reduction before the kernels that
 * write the assignment's output; if it is true the assignment fails there,
 * as NumPy raises, and its output is never written. A take carries one
 * too, any(position out of range), which also keeps every kernel that
 * gathers from reading outside its array.
 *
 * Rule 2: a reduction ends a loop nest. Its producer (the elementwise
 * subgraph below it) is fused into the reduction's own kernel, which reads
 * each input once and accumulates into a scratch result of the reduced
 * shape; kernels above read that result as an ordinary array leaf. A
 * reduction runs as: fill the result with the op's identity, accumulate,
 * and for mean divide by the count, as NumPy does.
 *
 * Rule 4: a large reduction whose outermost loop is reduced runs in chunks
 * of that loop fixed by the loop nest alone, never by the thread count:
 * chunk c accumulates into partial result c, and a second reduction
 * combines the partials in chunk order. Threads share the chunks, and the
 * result is the same bits on any number of them.
 *
 * Lowering walks the nodes of one loop nest in index order (operands first)
 * and emits SSA values: each op's operands are cast to the dtype it computes
 * in (aj_operand_dtype: NumPy's loop selection), and identical values are shared (CSE by
 * hash-consing). The output is operand 0; inputs follow, one per distinct
 * view.
 *
 * Aliasing rule: out may be an input only as the identical view (same
 * address, dtype size and strides on every axis that varies): then each
 * element is read before it is written at the same index, so the in-place
 * kernel equals NumPy's result. Any other overlap is refused for now.
 * Scratch results never overlap anything.
 */
#include "fuse.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { NONE = UINT32_MAX };

typedef struct lower {
	aj_prog *p;
	aj_kcall *call;
	aj_kval *val;
	int nval;
	uint32_t *cse;      /* hash slots holding value index + 1 */
	uint32_t cse_mask;
	const aj_array **opnd; /* outputs 0 .. nout-1, then inputs */
	const aj_array **gathered; /* per operand: the array a take reads
				      through it, or NULL */
	int nop, nout;
	uint32_t *node_val; /* value of each node, NONE if unreachable */
	aj_array **result;  /* for reductions: their result, as consumers see it */
} lower;

static uint32_t hash_val(const aj_kval *v)
{
	uint64_t h = v->op | (uint64_t)v->dtype << 8;
	for (int i = 0; i < 3; i++)
		h = (h ^ v->arg[i]) * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> 32);
}

/* Appends v, or returns the identical value already there. */
static uint32_t emit(lower *L, aj_op op, aj_dtype t, uint32_t a, uint32_t b,
		     uint32_t c)
{
	aj_kval v = {.op = (uint8_t)op, .dtype = (uint8_t)t, .arg = {a, b, c}};
	uint32_t i = hash_val(&v) & L->cse_mask;
	for (;; i = (i + 1) & L->cse_mask) {
		uint32_t s = L->cse[i];
		if (s == 0)
			break;
		if (memcmp(&L->val[s - 1], &v, sizeof v) == 0)
			return s - 1;
	}
	L->val[L->nval] = v;
	L->cse[i] = (uint32_t)++L->nval;
	return (uint32_t)L->nval - 1;
}

static uint32_t as(lower *L, uint32_t v, aj_dtype t)
{
	if (L->val[v].dtype == t)
		return v;
	return emit(L, AJ_OP_CAST, t, v, 0, 0);
}

static bool same_view(const aj_array *a, const aj_array *b)
{
	return a == b || (a->dtype == b->dtype && aj_same_elements(a, b));
}

static uint32_t operand(lower *L, const aj_array *a)
{
	int o = L->nout;
	while (o < L->nop && !same_view(L->opnd[o], a))
		o++;
	if (o == L->nop)
		L->opnd[L->nop++] = a;
	return (uint32_t)o;
}

/* The bits of v in a scalar slot of dtype t (float32 narrowed). A complex
 * scalar takes two slots, real and imaginary part, each holding a value of
 * the component dtype. */
static uint64_t slot_bits(aj_dtype t, aj_scalar_val v)
{
	uint64_t slot = 0;
	if (t == AJ_FLOAT32 || t == AJ_COMPLEX64) {
		float f = (float)v.f;
		memcpy(&slot, &f, sizeof f);
	} else {
		memcpy(&slot, &v, sizeof v);
	}
	return slot;
}

static uint32_t lower_take(lower *L, const aj_node *n);

static uint32_t lower_leaf(lower *L, const aj_node *n)
{
	aj_kcall *c = L->call;
	if (n->op == AJ_OP_TAKE)
		return lower_take(L, n);
	if (n->op == AJ_OP_ARRAY)
		return emit(L, AJ_OP_ARRAY, n->dtype, operand(L, n->u.array), 0, 0);
	int s = c->k.nscalar++;
	c->k.scalar_dtype[s] = n->dtype;
	c->scalars[s] = slot_bits(n->dtype, n->u.scalar);
	if (aj_is_complex(n->dtype)) {
		c->k.scalar_dtype[c->k.nscalar++] = n->dtype;
		c->scalars[s + 1] = slot_bits(n->dtype, (aj_scalar_val){.f = n->im});
	}
	return emit(L, AJ_OP_SCALAR, n->dtype, (uint32_t)s, 0, 0);
}

/* An int64 runtime parameter of value v. */
static uint32_t param_i64(lower *L, int64_t v)
{
	aj_kcall *c = L->call;
	int s = c->k.nscalar++;
	c->k.scalar_dtype[s] = AJ_INT64;
	c->scalars[s] = slot_bits(AJ_INT64, (aj_scalar_val){.i = v});
	return emit(L, AJ_OP_SCALAR, AJ_INT64, (uint32_t)s, 0, 0);
}

/*
 * A take reads its view (an operand marked gathered, for the aliasing
 * rule) at each element's address plus a byte offset: the position in
 * int64, wrapped if negative (where(i < 0, i + n, i), signed positions
 * only), times the stride. n and the stride are runtime parameters, so the
 * kernel does not depend on a's shape; the check (rule 3) has already
 * kept every position in range.
 */
static uint32_t lower_take(lower *L, const aj_node *n)
{
	const aj_gather *g = n->u.take;
	uint32_t o = operand(L, g->view);
	L->gathered[o] = g->src;
	uint32_t i = as(L, L->node_val[n->arg[0]], AJ_INT64);
	if (aj_is_signed(L->p->node[n->arg[0]].dtype)) {
		uint32_t neg = emit(L, AJ_OP_LT, AJ_BOOL, i, param_i64(L, 0), 0);
		uint32_t up = emit(L, AJ_OP_ADD, AJ_INT64, i, param_i64(L, g->n), 0);
		i = emit(L, AJ_OP_WHERE, AJ_INT64, neg, up, i);
	}
	uint32_t off = emit(L, AJ_OP_MUL, AJ_INT64, i, param_i64(L, g->stride), 0);
	return emit(L, AJ_OP_TAKE, n->dtype, o, off, 0);
}

static uint32_t lower_node(lower *L, const aj_node *n)
{
	const aj_node *node = L->p->node, *arg[3];
	uint32_t v[3] = {0, 0, 0};
	switch (aj_ops[n->op].kind) {
	case AJ_KIND_LEAF:
		return lower_leaf(L, n);
	case AJ_KIND_REDUCE: /* computed by its own kernel before this one */
		return emit(L, AJ_OP_ARRAY, n->dtype, operand(L, L->result[n - node]), 0, 0);
	case AJ_KIND_CAST:
		return as(L, L->node_val[n->arg[0]], n->dtype);
	default: /* elementwise: operands cast to what the op computes in */
		for (int i = 0; i < aj_ops[n->op].nin; i++)
			arg[i] = &node[n->arg[i]];
		for (int i = 0; i < aj_ops[n->op].nin; i++)
			v[i] = as(L, L->node_val[n->arg[i]], aj_operand_dtype(n, arg, i));
		return emit(L, n->op, n->dtype, v[0], v[1], v[2]);
	}
}

/* Marks the nodes of the roots' loop nest (stopping at reductions, which
 * are leaves here) with 0 and the rest up to top with NONE; returns how
 * many. */
static uint32_t mark(aj_prog *p, const uint32_t *root, int nroot, uint32_t top,
		     uint32_t *node_val)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i <= top; i++)
		node_val[i] = NONE;
	for (int r = 0; r < nroot; r++)
		node_val[root[r]] = 0;
	for (uint32_t i = top + 1; i-- > 0;) {
		if (node_val[i] == NONE)
			continue;
		n++;
		const aj_node *nd = &p->node[i];
		if (aj_ops[nd->op].kind == AJ_KIND_REDUCE)
			continue;
		for (int k = 0; k < aj_ops[nd->op].nin; k++)
			node_val[nd->arg[k]] = 0;
	}
	return n;
}

static bool alloc_lower(lower *L, aj_arena *A, const uint32_t *root, int nroot,
			uint32_t top)
{
	L->node_val = aj_arena_alloc(A, (top + 1) * sizeof(uint32_t));
	if (!L->node_val)
		return false;
	uint32_t nreach = mark(L->p, root, nroot, top, L->node_val);
	/* each node adds at most 1 value plus 3 casts, a take 9 (lower_take);
	 * plus the output casts */
	uint32_t cap = 9 * nreach + (uint32_t)nroot + 2, slots = 16;
	while (slots < 2 * cap)
		slots *= 2;
	aj_kcall *c = L->call;
	L->val = aj_arena_alloc(A, cap * sizeof *L->val);
	L->cse = aj_arena_alloc(A, slots * sizeof *L->cse);
	size_t nopnd = nreach + (uint32_t)nroot + 3;
	L->opnd = aj_arena_alloc(A, nopnd * sizeof *L->opnd);
	L->gathered = aj_arena_alloc(A, nopnd * sizeof *L->gathered);
	c->k.scalar_dtype = aj_arena_alloc(A, 3 * nreach); /* complex 2, take 3 */
	c->scalars = aj_arena_alloc(A, 3 * nreach * sizeof *c->scalars);
	if (!L->val || !L->cse || !L->opnd || !L->gathered || !c->k.scalar_dtype ||
	    !c->scalars)
		return false;
	memset(L->gathered, 0, nopnd * sizeof *L->gathered);
	memset(L->cse, 0, slots * sizeof *L->cse);
	L->cse_mask = slots - 1;
	return true;
}

/* Self-overlap: does some element of a share bytes with another? Exact for
 * strides that nest (each at least the extent of the smaller ones). */
static bool self_overlaps(const aj_array *a)
{
	int64_t ext[AJ_MAX_NDIM], n = 0;
	for (int d = 0; d < a->ndim; d++) {
		if (a->shape[d] == 0)
			return false;
		if (a->shape[d] > 1)
			ext[n++] = d;
	}
	/* sort the varying axes by |stride| ascending */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && llabs(a->strides[ext[j]]) <
				     llabs(a->strides[ext[j - 1]]); j--) {
			int64_t t = ext[j];
			ext[j] = ext[j - 1];
			ext[j - 1] = t;
		}
	int64_t span = aj_dtypes[a->dtype].size;
	for (int i = 0; i < n; i++) {
		int64_t s = llabs(a->strides[ext[i]]);
		if (s < span)
			return true;
		span = s * (a->shape[ext[i]] - 1) + span;
	}
	return false;
}

/* Whether a and b may share a byte (their byte ranges meet). */
static bool may_overlap(const aj_array *a, const aj_array *b)
{
	char *alo, *ahi, *blo, *bhi;
	return aj_array_extent(a, &alo, &ahi) && aj_array_extent(b, &blo, &bhi) &&
	       alo <= bhi && blo <= ahi;
}

/* The aliasing rule for an elementwise kernel's operands (outputs first):
 * no output overlaps itself, and an input that shares memory with an
 * output is that output's identical view. Checking each output against
 * every input of the group is exact: rule 5 already keeps a member from
 * reading an earlier output, and lets it write an earlier input only as
 * the identical view. */
static aj_status check_alias(aj_prog *p, const aj_array *const *opnd, int nop,
			     int nout)
{
	for (int k = 0; k < nout; k++) {
		if (self_overlaps(opnd[k]))
			return aj_prog_error(p, AJ_ERR_OVERLAP, "output elements "
					     "overlap each other in memory");
		for (int o = nout; o < nop; o++)
			if (may_overlap(opnd[k], opnd[o]) &&
			    !aj_same_elements(opnd[k], opnd[o]))
				return aj_prog_error(p, AJ_ERR_OVERLAP,
						     "output partially overlaps "
						     "an input (another view of "
						     "the same memory): not "
						     "supported yet");
	}
	return AJ_OK;
}

/* The aliasing rule for gathers: an output may not overlap an array a
 * take reads, even as the identical view, since element i reads
 * elements other than i, some perhaps written already. (NumPy copies
 * the input first; aj_exec does too, program.c.) */
static aj_status check_gathers(aj_prog *p, const aj_array *const *opnd,
			       const aj_array *const *gathered, int nop, int nout)
{
	for (int k = 0; k < nout; k++)
		for (int o = nout; o < nop; o++)
			if (gathered[o] && may_overlap(opnd[k], gathered[o]))
				return aj_prog_error(p, AJ_ERR_OVERLAP,
						     "output overlaps an array "
						     "it gathers from (take or "
						     "a[idx]): not supported; "
						     "gather from a copy");
	return AJ_OK;
}

/*
 * The loop nest of call over an iteration space of nd axes (shape): each
 * operand broadcasts into it, so broadcast axes (and, for a reduction's
 * output, the reduced axes) get stride 0.
 */
static aj_status fill_strides(aj_prog *p, aj_kcall *c, const aj_array *const *opnd,
			      int nop, int nd, const int64_t *shape)
{
	int64_t *st = aj_arena_alloc(&p->arena, (size_t)(nop * (nd ? nd : 1)) * 8);
	c->ptr = aj_arena_alloc(&p->arena, (size_t)nop * sizeof *c->ptr);
	c->k.op_dtype = aj_arena_alloc(&p->arena, (size_t)nop);
	if (!st || !c->ptr || !c->k.op_dtype)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	for (int o = 0; o < nop; o++) {
		const aj_array *a = opnd[o];
		int lead = nd - a->ndim;
		for (int d = 0; d < nd; d++) {
			int ad = d - lead;
			bool bcast = ad < 0 || (a->shape[ad] == 1 && shape[d] != 1);
			st[o * nd + d] = bcast ? 0 : a->strides[ad];
		}
		c->ptr[o] = a->data;
		c->k.op_dtype[o] = a->dtype;
	}
	c->k.nop = nop;
	if (aj_sched(&p->arena, c, nd, shape, st) != AJ_OK)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	return AJ_OK;
}

/* What a kernel writes: node root[k] into out[k] for k < n; for argmin
 * and argmax (n = 1) out[0] gets the positions (from index, see kernel.h)
 * and best the extreme so far. */
typedef struct outputs {
	int n;
	const uint32_t *root;
	aj_array *const *out;
	aj_array *best;
	const aj_array *index;
} outputs;

/*
 * The kernel computing the roots into the outputs over the iteration
 * space (nd, shape); red is AJ_NOP, or the reduction whose accumulator
 * out[0] is.
 */
static aj_status lower_kernel(aj_prog *p, const outputs *os, int nd,
			      const int64_t *shape, aj_op red, aj_array **result,
			      aj_kcall *call)
{
	memset(call, 0, sizeof *call);
	call->k.isa = (aj_isa)atomic_load_explicit(&p->ctx->isa, memory_order_relaxed);
	call->k.red = (uint8_t)red;
	lower L = {.p = p, .call = call, .result = result};
	uint32_t top = 0;
	for (int k = 0; k < os->n; k++)
		top = os->root[k] > top ? os->root[k] : top;
	if (!alloc_lower(&L, &p->arena, os->root, os->n, top))
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	for (int k = 0; k < os->n; k++)
		L.opnd[L.nop++] = os->out[k];
	if (os->best)
		L.opnd[L.nop++] = os->best;
	L.nout = L.nop;
	for (uint32_t i = 0; i <= top; i++)
		if (L.node_val[i] != NONE)
			L.node_val[i] = lower_node(&L, &p->node[i]);
	uint32_t *out_val = aj_arena_alloc(&p->arena, (size_t)(os->n + 1) * sizeof *out_val);
	if (!out_val)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	call->k.nout = L.nout;
	if (os->best) {
		out_val[0] = emit(&L, AJ_OP_INDEX, AJ_INT64, operand(&L, os->index), 0, 0);
		out_val[1] = as(&L, L.node_val[os->root[0]], os->best->dtype);
	} else {
		for (int k = 0; k < os->n; k++)
			out_val[k] = as(&L, L.node_val[os->root[k]], os->out[k]->dtype);
	}
	call->k.val = L.val;
	call->k.nval = L.nval;
	call->k.out_val = out_val;
	if (red == AJ_NOP) {
		aj_status s = check_gathers(p, L.opnd, L.gathered, L.nop, L.nout);
		if (s == AJ_OK)
			s = check_alias(p, L.opnd, L.nop, L.nout);
		if (s != AJ_OK)
			return s;
	}
	return fill_strides(p, call, L.opnd, L.nop, nd, shape);
}

/* ---- reductions ---- */

/* A C-order scratch array in the arena. */
static aj_array *scratch(aj_prog *p, aj_dtype t, int nd, const int64_t *shape)
{
	aj_array *a = aj_arena_alloc(&p->arena, sizeof *a);
	if (!a)
		return NULL;
	memset(a, 0, offsetof(aj_array, shape));
	int64_t n = 1, size = aj_dtypes[t].size;
	for (int k = nd; k-- > 0;) {
		a->shape[k] = shape[k];
		a->strides[k] = n * size;
		n *= shape[k];
	}
	a->data = aj_arena_alloc(&p->arena, (size_t)(n ? n : 1) * (size_t)size);
	if (!a->data)
		return NULL;
	atomic_fetch_add_explicit(&p->ctx->temp_bytes, (uint64_t)(n * size),
				  memory_order_relaxed);
	a->ctx = p->ctx;
	a->dtype = t;
	a->ndim = nd;
	a->lo = a->data;
	a->hi = a->data + (n ? n : 1) * size;
	return a;
}

/* The same memory seen with the reduced axes dropped (keepdims false). */
static aj_array *squeezed(aj_prog *p, const aj_array *a, uint32_t axes)
{
	aj_array *v = aj_arena_alloc(&p->arena, sizeof *v);
	if (!v)
		return NULL;
	*v = *a;
	v->ndim = 0;
	for (int k = 0; k < a->ndim; k++) {
		if (axes >> k & 1)
			continue;
		v->shape[v->ndim] = a->shape[k];
		v->strides[v->ndim++] = a->strides[k];
	}
	return v;
}


/* A kernel written by hand: values val[0 .. nval) over operands opnd, of
 * which the first nout are outputs, output k storing value nval - nout +
 * k; scalar slots; the iteration space of opnd[iter]; red as in aj_kdesc. */
typedef struct hand {
	const aj_kval *val;
	int nval;
	aj_array *const *opnd;
	int nop, nout, iter;
	const uint64_t *slot;
	const uint8_t *slot_t;
	int nslot;
	aj_op red;
} hand;

static aj_status hand_kernel(aj_prog *p, aj_kcall *c, const hand *h)
{
	memset(c, 0, sizeof *c);
	c->k.isa = (aj_isa)atomic_load_explicit(&p->ctx->isa, memory_order_relaxed);
	c->k.red = (uint8_t)h->red;
	aj_kval *v = aj_arena_alloc(&p->arena, (size_t)h->nval * sizeof *v);
	uint32_t *out_val = aj_arena_alloc(&p->arena, (size_t)h->nout * sizeof *out_val);
	c->scalars = aj_arena_alloc(&p->arena, 8 * (size_t)(h->nslot ? h->nslot : 1));
	c->k.scalar_dtype = aj_arena_alloc(&p->arena, (size_t)(h->nslot ? h->nslot : 1));
	if (!v || !out_val || !c->scalars || !c->k.scalar_dtype)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memcpy(v, h->val, (size_t)h->nval * sizeof *v);
	if (h->nslot) {
		memcpy(c->scalars, h->slot, 8 * (size_t)h->nslot);
		memcpy(c->k.scalar_dtype, h->slot_t, (size_t)h->nslot);
	}
	for (int k = 0; k < h->nout; k++)
		out_val[k] = (uint32_t)(h->nval - h->nout + k);
	c->k.val = v;
	c->k.nval = h->nval;
	c->k.nout = h->nout;
	c->k.out_val = out_val;
	c->k.nscalar = h->nslot;
	const aj_array *it = h->opnd[h->iter];
	return fill_strides(p, c, (const aj_array *const *)h->opnd, h->nop,
			    it->ndim, it->shape);
}

/* res = identity of op (a complex one in two slots). */
static aj_status fill_kernel(aj_prog *p, aj_kcall *c, aj_array *res, aj_op op)
{
	aj_dtype t = res->dtype;
	aj_kval v = {.op = AJ_OP_SCALAR, .dtype = (uint8_t)t};
	uint64_t slot[2] = {slot_bits(t, aj_red_identity(op, t)),
			    slot_bits(t, (aj_scalar_val){.f = aj_red_identity_im(op, t)})};
	uint8_t st[2] = {(uint8_t)t, (uint8_t)t};
	return hand_kernel(p, c, &(hand){.val = &v, .nval = 1, .opnd = &res, .nop = 1,
					 .nout = 1, .slot = slot, .slot_t = st,
					 .nslot = aj_is_complex(t) ? 2 : 1, .red = AJ_NOP});
}

/* res = res / count, NumPy's mean: count is a Python int, so weak. */
static aj_status mean_kernel(aj_prog *p, aj_kcall *c, aj_array *res, int64_t count)
{
	aj_dtype t = res->dtype;
	aj_kval v[4] = {
		{.op = AJ_OP_ARRAY, .dtype = (uint8_t)t, .arg = {1}},
		{.op = AJ_OP_SCALAR, .dtype = AJ_FLOAT64, .arg = {0}},
	};
	int nval = 2;
	if (t != AJ_FLOAT64) /* count as t, as a weak Python int would be */
		v[nval++] = (aj_kval){.op = AJ_OP_CAST, .dtype = (uint8_t)t, .arg = {1}};
	uint32_t divisor = (uint32_t)nval - 1;
	v[nval++] = (aj_kval){.op = AJ_OP_DIV, .dtype = (uint8_t)t, .arg = {0, divisor}};
	uint64_t slot = slot_bits(AJ_FLOAT64, (aj_scalar_val){.f = (double)count});
	uint8_t st = AJ_FLOAT64;
	aj_array *opnd[2] = {res, res};
	return hand_kernel(p, c, &(hand){.val = v, .nval = nval, .opnd = opnd, .nop = 2,
					 .nout = 1, .slot = &slot, .slot_t = &st,
					 .nslot = 1, .red = AJ_NOP});
}

/* ---- rule 4: reductions in fixed chunks ---- */

/*
 * Chunks of a reduction call c whose result has nres elements: 1 (no
 * split) below RED_SPLIT_MIN elements, else one per RED_CHUNK_ELEMS up to
 * RED_MAX_CHUNKS, no more than loop 0 has iterations, and no more than
 * keep the partials under 1/8 of the input's elements.
 */
enum { RED_SPLIT_MIN = 1 << 17, RED_CHUNK_ELEMS = 1 << 15, RED_MAX_CHUNKS = 64 };

static int64_t reduction_chunks(const aj_kcall *c, int64_t nres)
{
	if (c->nelem < RED_SPLIT_MIN || !aj_reduces_loop0(c))
		return 1;
	int64_t n = c->nelem / RED_CHUNK_ELEMS;
	if (n > RED_MAX_CHUNKS)
		n = RED_MAX_CHUNKS;
	if (n > c->shape[0])
		n = c->shape[0];
	if (n > c->nelem / (8 * nres))
		n = c->nelem / (8 * nres);
	return n < 1 ? 1 : n;
}

/* A C-order scratch of nchunk partial results shaped like res. */
static aj_array *partials(aj_prog *p, const aj_array *res, int64_t nchunk)
{
	int64_t shape[AJ_MAX_NDIM + 1] = {nchunk};
	memcpy(shape + 1, res->shape, (size_t)res->ndim * sizeof *shape);
	return res->ndim < AJ_MAX_NDIM ? scratch(p, res->dtype, res->ndim + 1, shape)
				       : NULL;
}

/* Chunk c of call writes outputs k to part[k] + c partial results on:
 * the per-chunk operand pointers. */
static aj_status chunk_pointers(aj_prog *p, aj_kcall *call, const outputs *os,
				aj_array *const *part, int64_t nchunk)
{
	int nop = call->k.nop;
	call->chunk_ptr = aj_arena_alloc(&p->arena, (size_t)(nchunk * nop) * sizeof(char *));
	if (!call->chunk_ptr)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	const aj_array *out[2] = {os->out[0], os->best};
	for (int64_t c = 0; c < nchunk; c++) {
		char **ptr = call->chunk_ptr + c * nop;
		memcpy(ptr, call->ptr, (size_t)nop * sizeof *ptr);
		for (int k = 0; k < call->k.nout; k++)
			ptr[k] = part[k]->data + c * part[k]->strides[0] +
				 (call->ptr[k] - out[k]->data);
	}
	call->nchunk = nchunk;
	return AJ_OK;
}

/* The reduction red of the partials part[] (axis 0) into the outputs. */
static aj_status combine_kernel(aj_prog *p, aj_kcall *c, aj_op red,
				const outputs *os, aj_array *const *part)
{
	int nout = os->best ? 2 : 1;
	aj_array *opnd[4] = {os->out[0], os->best};
	aj_kval v[2];
	for (int k = 0; k < nout; k++) {
		opnd[nout + k] = part[k];
		v[k] = (aj_kval){.op = AJ_OP_ARRAY, .dtype = (uint8_t)part[k]->dtype,
				 .arg = {(uint32_t)(nout + k)}};
	}
	return hand_kernel(p, c, &(hand){.val = v, .nval = nout, .opnd = opnd,
					 .nop = 2 * nout, .nout = nout, .iter = nout,
					 .red = red});
}

/*
 * Appends reduction call red (built, not yet appended) to calls, split
 * into fixed chunks when rule 4 applies: fill the partials, the chunked
 * call, the combination.
 */
static aj_status add_reduction_call(aj_prog *p, aj_kcall *red, const outputs *os,
				    aj_op op, aj_kcall *calls, int *ncall)
{
	int64_t nres = 1;
	for (int k = 0; k < os->out[0]->ndim; k++)
		nres *= os->out[0]->shape[k];
	int64_t nchunk = reduction_chunks(red, nres);
	if (nchunk == 1) {
		calls[(*ncall)++] = *red;
		return AJ_OK;
	}
	aj_array *part[2] = {partials(p, os->out[0], nchunk),
			     os->best ? partials(p, os->best, nchunk) : NULL};
	if (!part[0] || (os->best && !part[1]))
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	aj_status s = fill_kernel(p, &calls[(*ncall)++], part[0], op);
	if (s == AJ_OK && os->best)
		s = fill_kernel(p, &calls[(*ncall)++], part[1], aj_arg_extreme(op));
	if (s == AJ_OK)
		s = chunk_pointers(p, red, os, part, nchunk);
	if (s != AJ_OK)
		return s;
	calls[(*ncall)++] = *red;
	return combine_kernel(p, &calls[(*ncall)++], op, os, part);
}

/*
 * Positions within the reduced axes of x, as an index operand (kernel.h):
 * C-order steps over the reduced axes, 0 along the others. With every axis
 * reduced that is the flat C-order index, NumPy's argmax(axis=None).
 */
static aj_array *index_operand(aj_prog *p, const aj_node *x, uint32_t axes)
{
	aj_array *a = aj_arena_alloc(&p->arena, sizeof *a);
	if (!a)
		return NULL;
	memset(a, 0, sizeof *a);
	int64_t step = 1;
	for (int k = x->ndim; k-- > 0;) {
		bool red = axes >> k & 1;
		a->shape[k] = x->shape[k];
		a->strides[k] = red ? step : 0;
		step *= red ? x->shape[k] : 1;
	}
	a->ctx = p->ctx;
	a->data = a->lo = a->hi = (char *)AJ_INDEX_BIAS;
	a->dtype = AJ_INT8;
	a->ndim = x->ndim;
	return a;
}

/*
 * argmin, argmax: fill the positions and the extremes, then one pass that
 * keeps, per output element, the extreme and its position (the first
 * one: ties go to the smaller position, whatever order the loops run in).
 */
static aj_status lower_arg(aj_prog *p, uint32_t r, aj_array *res,
			   const int64_t *kshape, uint32_t axes,
			   aj_array **result, aj_kcall *calls, int *ncall)
{
	const aj_node *n = &p->node[r], *x = &p->node[n->arg[0]];
	aj_op op = (aj_op)n->op;
	outputs os = {.n = 1, .root = &n->arg[0], .out = &res,
		      .best = scratch(p, x->dtype, x->ndim, kshape),
		      .index = index_operand(p, x, axes)};
	if (!os.best || !os.index)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	aj_kcall red;
	aj_status s = fill_kernel(p, &calls[(*ncall)++], res, op);
	if (s == AJ_OK)
		s = fill_kernel(p, &calls[(*ncall)++], os.best, aj_arg_extreme(op));
	if (s == AJ_OK)
		s = lower_kernel(p, &os, x->ndim, x->shape, op, result, &red);
	if (s == AJ_OK)
		s = add_reduction_call(p, &red, &os, op, calls, ncall);
	return s;
}

/* The calls of reduction node r: fill, accumulate, maybe divide; sets
 * result[r] to what consumers read. */
static aj_status lower_reduction(aj_prog *p, uint32_t r, aj_array **result,
				 aj_kcall *calls, int *ncall)
{
	const aj_node *n = &p->node[r], *x = &p->node[n->arg[0]];
	uint32_t axes = x->ndim ? n->u.red.axes : 0;
	int64_t kshape[AJ_MAX_NDIM], count = 1;
	for (int k = 0; k < x->ndim; k++) {
		kshape[k] = axes >> k & 1 ? 1 : x->shape[k];
		count *= axes >> k & 1 ? x->shape[k] : 1;
	}
	aj_array *res = scratch(p, n->dtype, x->ndim, kshape);
	result[r] = res && !n->u.red.keepdims ? squeezed(p, res, axes) : res;
	if (!result[r])
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	aj_op op = (aj_op)n->op;
	if (aj_ops[op].rule == AJ_RULE_INDEX)
		return lower_arg(p, r, res, kshape, axes, result, calls, ncall);
	outputs os = {.n = 1, .root = &n->arg[0], .out = &res};
	aj_kcall red;
	aj_status s = fill_kernel(p, &calls[(*ncall)++], res, op);
	if (s == AJ_OK)
		s = lower_kernel(p, &os, x->ndim, x->shape, op, result, &red);
	if (s == AJ_OK)
		s = add_reduction_call(p, &red, &os, op, calls, ncall);
	if (s == AJ_OK && op == AJ_OP_MEAN)
		s = mean_kernel(p, &calls[(*ncall)++], res, count);
	return s;
}

enum { NEEDED = 1, CHECK = 2 };

/* The reductions the roots need, in index order (operands first), marked
 * NEEDED, or CHECK for the checks of integer powers (which come before
 * their pow node, so the walk reaches them). need has top + 1 entries. */
static uint32_t find_reductions(aj_prog *p, const uint32_t *root, int nroot,
				uint32_t top, uint8_t *need)
{
	uint32_t n = 0;
	memset(need, 0, top + 1);
	for (int r = 0; r < nroot; r++)
		need[root[r]] = NEEDED;
	for (uint32_t i = top + 1; i-- > 0;) {
		if (!need[i])
			continue;
		const aj_node *nd = &p->node[i];
		n += aj_ops[nd->op].kind == AJ_KIND_REDUCE;
		for (int k = 0; k < aj_ops[nd->op].nin; k++)
			need[nd->arg[k]] = NEEDED;
		if (aj_node_check(nd))
			need[aj_node_check(nd)] = CHECK;
	}
	return n;
}

/* ---- rule 5: groups of assignments ---- */

/*
 * Rule 5: consecutive pending assignments share one loop nest, each with
 * its output, while they have the same iteration space (output shape) and
 * running them element by element together equals running them one after
 * another. In the fused loop every member reads all its inputs at index i
 * before any member writes index i, and reductions run before the loop.
 * So a member may not read (in its loop or under a reduction) what an
 * earlier member writes: it would see the old values. A member may not
 * write what an earlier member reads in its loop, or another member's
 * output, unless it is the identical view (then index i is read before it
 * is written, and the later store wins, as in sequence). An assignment
 * with a checked integer power starts a group: its check must run before
 * anything of its group is written.
 */
enum { NEST = 1, BELOW = 2, GATHER = 4, MAX_GROUP = 16 };

/* The arrays an assignment reads: in its loop nest (NEST) or under a
 * reduction or check (BELOW), and whether through a take (GATHER: not
 * element for element). */
typedef struct reads {
	const aj_array **arr;
	uint8_t *how;
	int n;
	bool checked; /* has an integer power's or a take's check */
} reads;

/* Fills r for root; flag is scratch of root + 1 entries. */
static aj_status fill_reads(aj_prog *p, uint32_t root, uint8_t *flag, reads *r)
{
	memset(flag, 0, root + 1);
	memset(r, 0, sizeof *r);
	flag[root] = NEST;
	int nleaf = 0;
	for (uint32_t i = root + 1; i-- > 0;) {
		const aj_node *nd = &p->node[i];
		if (!flag[i])
			continue;
		nleaf += aj_node_array(nd) != NULL;
		uint8_t f = aj_ops[nd->op].kind == AJ_KIND_REDUCE ? BELOW : flag[i];
		for (int k = 0; k < aj_ops[nd->op].nin; k++)
			flag[nd->arg[k]] |= f;
		if (aj_node_check(nd)) {
			flag[aj_node_check(nd)] |= BELOW;
			r->checked = true;
		}
	}
	r->arr = aj_arena_alloc(&p->arena, (size_t)(nleaf ? nleaf : 1) * sizeof *r->arr);
	r->how = aj_arena_alloc(&p->arena, (size_t)(nleaf ? nleaf : 1));
	if (!r->arr || !r->how)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i <= root; i++)
		if (flag[i] && aj_node_array(&p->node[i])) {
			bool take = p->node[i].op == AJ_OP_TAKE;
			r->arr[r->n] = aj_node_array(&p->node[i]);
			r->how[r->n++] = flag[i] | (take ? GATHER : 0);
		}
	return AJ_OK;
}

/* Writing out disturbs one of the reads r of kind how; with same_index,
 * a read of the identical view is not disturbed (it happens at the same
 * index, before the write), unless through a take. */
static bool disturbs(const aj_array *out, const reads *r, uint8_t how,
		     bool same_index)
{
	for (int i = 0; i < r->n; i++)
		if ((r->how[i] & how) && may_overlap(out, r->arr[i]) &&
		    !(same_index && !(r->how[i] & GATHER) &&
		      aj_same_elements(out, r->arr[i])))
			return true;
	return false;
}

static bool same_shape(const aj_array *a, const aj_array *b)
{
	return a->ndim == b->ndim &&
	       !memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]);
}

/* The hazard that keeps as[g] (same shape as as[0]) out of the group
 * as[0 .. g), given the reads r[0 .. g]; or NULL. */
static const char *hazard(const aj_assignment *as, const reads *r, int g)
{
	const aj_array *out = as[g].out;
	if (r[g].checked)
		return "checked integer power or take";
	for (int k = 0; k < g; k++) {
		if (disturbs(as[k].out, &r[g], NEST | BELOW, false))
			return "overlap: reads an earlier output";
		if (disturbs(out, &r[k], NEST, true))
			return "overlap: writes an earlier input";
		if (may_overlap(out, as[k].out) && !aj_same_elements(out, as[k].out))
			return "overlap: outputs overlap";
	}
	return NULL;
}

/* The error of check node c: that of the node among (c, top] carrying
 * it. */
static const char *check_message(const aj_prog *p, uint32_t c, uint32_t top)
{
	for (uint32_t i = c + 1; i <= top; i++) {
		const aj_node *n = &p->node[i];
		if (aj_node_check(n) == c)
			return n->op == AJ_OP_TAKE ? n->u.take->msg
				: "Integers to negative integer powers are not allowed";
	}
	return "check failed";
}

/* Lowers the group as[0 .. n) into g's calls: the reductions its members
 * need (each once), then one kernel with an output per member. */
static aj_status lower_group(aj_prog *p, const aj_assignment *as, int n, aj_group *g)
{
	uint32_t root[MAX_GROUP], top = 0;
	aj_array *out[MAX_GROUP];
	for (int k = 0; k < n; k++) {
		root[k] = as[k].node;
		out[k] = as[k].out;
		top = root[k] > top ? root[k] : top;
	}
	uint8_t *need = aj_arena_alloc(&p->arena, top + 1);
	aj_array **result = aj_arena_alloc(&p->arena, (top + 1) * sizeof *result);
	if (!need || !result)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	uint32_t nred = find_reductions(p, root, n, top, need);
	/* at most 6 per reduction: argmin's 2 fills, 2 of partials, the
	 * chunked pass and the combination */
	g->calls = aj_arena_alloc(&p->arena, (6 * nred + 1) * sizeof *g->calls);
	if (!g->calls)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i <= top; i++) {
		if (!need[i] || aj_ops[p->node[i].op].kind != AJ_KIND_REDUCE)
			continue;
		aj_status s = lower_reduction(p, i, result, g->calls, &g->ncall);
		if (s != AJ_OK)
			return s;
		if (need[i] == CHECK) { /* nonzero: the check failed */
			aj_kcall *c = &g->calls[g->ncall - 1];
			c->fail_if = (const uint8_t *)result[i]->data;
			c->fail_msg = check_message(p, i, top);
		}
	}
	/* a reduction at a root is copied out by this elementwise kernel */
	outputs os = {.n = n, .root = root, .out = out};
	return lower_kernel(p, &os, out[0]->ndim, out[0]->shape, AJ_NOP, result,
			    &g->calls[g->ncall++]);
}

aj_status aj_fuse(aj_prog *p, const aj_assignment *as, int nas, aj_group *g)
{
	memset(g, 0, sizeof *g);
	g->why = "end of the pending work";
	int n = 1;
	if (nas > 1) { /* a lone assignment needs no reads: no hazard */
		uint32_t top = 0;
		for (int k = 0; k < nas && k <= MAX_GROUP; k++)
			top = as[k].node > top ? as[k].node : top;
		reads *r = aj_arena_alloc(&p->arena, (MAX_GROUP + 1) * sizeof *r);
		uint8_t *flag = aj_arena_alloc(&p->arena, top + 1);
		if (!r || !flag)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		aj_status s = fill_reads(p, as[0].node, flag, &r[0]);
		for (; s == AJ_OK && n < nas; n++) {
			const char *why = n == MAX_GROUP ? "group full"
				: !same_shape(as[n].out, as[0].out) ? "shape change" : NULL;
			if (!why && (s = fill_reads(p, as[n].node, flag, &r[n])) == AJ_OK)
				why = hazard(as, r, n);
			if (why) {
				g->why = why;
				break;
			}
		}
		if (s != AJ_OK)
			return s;
	}
	g->nassign = n;
	return lower_group(p, as, n, g);
}
