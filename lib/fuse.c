/*
 * Fusion: one pending assignment `out = e` becomes a short list of kernel
 * calls, all built before any runs.
 *
 * Rule 1: elementwise work never materialises. Every elementwise node
 * reachable from e is computed inside one loop nest, element by element.
 * Leaves become loads (arrays), runtime parameters (scalars) or random
 * numbers computed in place (seed and stream runtime parameters), so a
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
#include "plan.h"

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
	int nd;             /* the iteration space: where a shapeless random */
	const int64_t *shape; /* leaf draws its values */
	const aj_array *positions; /* C-order positions over it, once needed */
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
uint64_t aj_slot_bits(aj_dtype t, aj_scalar_val v)
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

/* A new scalar slot of dtype t holding bits, field what of node n
 * (plan.c reads it again when it replays the call). */
static uint32_t new_slot(lower *L, aj_dtype t, uint64_t bits, aj_slot_what what,
			 const aj_node *n)
{
	aj_kcall *c = L->call;
	int s = c->k.nscalar++;
	c->k.scalar_dtype[s] = (uint8_t)t;
	c->scalars[s] = bits;
	c->slot_src[s] = (aj_slot_src){(uint32_t)(n - L->p->node), (uint8_t)what};
	return (uint32_t)s;
}

/* The value of a new slot (new_slot) of dtype t, not complex. */
static uint32_t slot_value(lower *L, aj_dtype t, uint64_t bits,
			   aj_slot_what what, const aj_node *n)
{
	return emit(L, AJ_OP_SCALAR, t, new_slot(L, t, bits, what, n), 0, 0);
}

static uint32_t all_axes(int nd)
{
	return nd == 32 ? UINT32_MAX : (UINT32_C(1) << nd) - 1;
}

/*
 * A random leaf (arrjit.h, aj_random): Philox of the element's position k,
 * the C-order index within the leaf's own shape or, for a shapeless leaf,
 * within the iteration space; an index operand carries it (kernel.h), so
 * k is the element's own whatever the loop nest becomes. Seed and stream
 * are scalar slots of the leaf's own: runtime parameters, so the kernel
 * is the same for every seed and stream, and no value of one leaf is
 * shared with another by CSE. Out of memory, the error is recorded and a
 * stand-in returned.
 */
static uint32_t lower_random(lower *L, const aj_node *n)
{
	const aj_rng *r = n->u.rng;
	const aj_array *pos = r->pos ? r->pos
			      : n->ndim ? aj_index_operand(L->p, n->ndim, n->shape,
							all_axes(n->ndim))
			      : L->positions;
	if (!pos && !n->ndim)
		pos = L->positions = aj_index_operand(L->p, L->nd, L->shape,
						   all_axes(L->nd));
	if (!pos) { /* lower_kernel returns the error after the walk */
		aj_prog_error(L->p, AJ_ERR_NOMEM, "out of memory");
		return slot_value(L, (aj_dtype)n->dtype, 0, AJ_SLOT_CONST, n);
	}
	uint32_t k = emit(L, AJ_OP_INDEX, AJ_UINT64, operand(L, pos), 0, 0);
	if (r->first)
		k = emit(L, AJ_OP_ADD, AJ_UINT64, k,
			 slot_value(L, AJ_UINT64, r->first, AJ_SLOT_FIRST, n), 0);
	uint32_t seed = slot_value(L, AJ_UINT64, r->seed, AJ_SLOT_SEED, n);
	uint32_t stream = slot_value(L, AJ_UINT64, r->stream, AJ_SLOT_STREAM, n);
	return emit(L, n->op, n->dtype, k, seed, stream);
}
static uint32_t lower_take(lower *L, const aj_node *n);

static uint32_t lower_leaf(lower *L, const aj_node *n)
{
	if (aj_is_random((aj_op)n->op))
		return lower_random(L, n);
	if (n->op == AJ_OP_TAKE)
		return lower_take(L, n);
	if (n->op == AJ_OP_ARRAY)
		return emit(L, AJ_OP_ARRAY, n->dtype, operand(L, n->u.array), 0, 0);
	/* a complex scalar's value reads two slots, real and imaginary */
	uint32_t s = new_slot(L, n->dtype, aj_slot_bits(n->dtype, n->u.scalar),
			      AJ_SLOT_REAL, n);
	if (aj_is_complex(n->dtype))
		new_slot(L, n->dtype, aj_slot_bits(n->dtype, (aj_scalar_val){.f = n->im}),
			 AJ_SLOT_IMAG, n);
	return emit(L, AJ_OP_SCALAR, n->dtype, s, 0, 0);
}

/* An int64 runtime parameter of value v, fixed by the shapes of the
 * nodes of L's nest (plan.c replays it as it is). */
static uint32_t param_i64(lower *L, int64_t v)
{
	return slot_value(L, AJ_INT64, aj_slot_bits(AJ_INT64, (aj_scalar_val){.i = v}),
			  AJ_SLOT_CONST, L->p->node);
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
	if (L->result[n - node]) /* a reduction or hoisted (rule 6): computed
				    by its own kernel before this one */
		return emit(L, AJ_OP_ARRAY, n->dtype, operand(L, L->result[n - node]), 0, 0);
	switch (aj_ops[n->op].kind) {
	case AJ_KIND_LEAF:
		return lower_leaf(L, n);
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

/* Marks the nodes of the roots' loop nest (stopping at reductions and
 * hoisted nodes, which are leaves here) with 0 and the rest up to top with
 * NONE; returns how many. */
static uint32_t mark(aj_prog *p, const uint32_t *root, int nroot, uint32_t top,
		     uint32_t *node_val, aj_array *const *result)
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
		if (result[i])
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
	uint32_t nreach = mark(L->p, root, nroot, top, L->node_val, L->result);
	/* each node adds at most 1 value plus 3 casts, a random leaf 6 (its
	 * position, first index, sum, seed, stream, value), a take 9
	 * (lower_take); plus the output casts */
	uint32_t cap = 9 * nreach + (uint32_t)nroot + 2, slots = 16;
	while (slots < 2 * cap)
		slots *= 2;
	aj_kcall *c = L->call;
	L->val = aj_arena_alloc(A, cap * sizeof *L->val);
	L->cse = aj_arena_alloc(A, slots * sizeof *L->cse);
	size_t nopnd = nreach + (uint32_t)nroot + 3;
	L->opnd = aj_arena_alloc(A, nopnd * sizeof *L->opnd);
	L->gathered = aj_arena_alloc(A, nopnd * sizeof *L->gathered);
	c->k.scalar_dtype = aj_arena_alloc(A, 3 * nreach); /* complex 2, random 3, take 3 */
	c->scalars = aj_arena_alloc(A, 3 * nreach * sizeof *c->scalars);
	c->slot_src = aj_arena_alloc(A, 3 * nreach * sizeof *c->slot_src);
	if (!L->val || !L->cse || !L->opnd || !L->gathered || !c->k.scalar_dtype ||
	    !c->scalars || !c->slot_src)
		return false;
	memset(L->gathered, 0, nopnd * sizeof *L->gathered);
	memset(L->cse, 0, slots * sizeof *L->cse);
	L->cse_mask = slots - 1;
	return true;
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
 * and best the extreme so far; for a compress kernel (n = 1, kernel.h)
 * out[0] gets root[0] in sequence where node mask is true. */
typedef struct outputs {
	int n;
	const uint32_t *root;
	aj_array *const *out;
	aj_array *best;
	const aj_array *index;
	bool compress;
	uint32_t mask; /* for compress: a bool node */
} outputs;

/*
 * The kernel computing the roots into the outputs over the iteration
 * space (nd, shape); red is AJ_NOP, or the reduction whose accumulator
 * out[0] is. If opnd, *opnd gets its operands, outputs first, and
 * *gathered per operand the array a take reads through it, or NULL.
 */
static aj_status lower_kernel(aj_prog *p, const outputs *os, int nd,
			      const int64_t *shape, aj_op red, aj_array **result,
			      aj_kcall *call, const aj_array ***opnd,
			      const aj_array ***gathered)
{
	memset(call, 0, sizeof *call);
	call->k.isa = (aj_isa)atomic_load_explicit(&p->ctx->isa, memory_order_relaxed);
	call->k.fast = atomic_load_explicit(&p->ctx->fast, memory_order_relaxed);
	call->k.red = (uint8_t)red;
	call->c_order = os->compress;
	lower L = {.p = p, .call = call, .result = result, .nd = nd, .shape = shape};
	int nroot = os->n + os->compress;
	uint32_t top = 0, *root = aj_arena_alloc(&p->arena, (size_t)nroot * sizeof *root);
	if (!root)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memcpy(root, os->root, (size_t)os->n * sizeof *root);
	if (os->compress)
		root[os->n] = os->mask;
	for (int k = 0; k < nroot; k++)
		top = root[k] > top ? root[k] : top;
	if (!alloc_lower(&L, &p->arena, root, nroot, top))
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	for (int k = 0; k < os->n; k++)
		L.opnd[L.nop++] = os->out[k];
	if (os->best)
		L.opnd[L.nop++] = os->best;
	L.nout = L.nop;
	for (uint32_t i = 0; i <= top; i++)
		if (L.node_val[i] != NONE)
			L.node_val[i] = lower_node(&L, &p->node[i]);
	if (p->err != AJ_OK)
		return p->err;
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
	if (os->compress) {
		call->k.compress = 1;
		call->k.mask = as(&L, L.node_val[os->mask], AJ_BOOL);
	}
	call->k.val = L.val;
	call->k.nval = L.nval;
	call->k.out_val = out_val;
	if (opnd) {
		*opnd = L.opnd;
		*gathered = L.gathered;
	}
	return fill_strides(p, call, L.opnd, L.nop, nd, shape);
}

/* ---- reductions ---- */

/* A C-order scratch array in the arena, counted in p->scratch_bytes. */
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
	p->scratch_bytes += (uint64_t)(n * size);
	aj_plan_note_scratch(p, a->data, (size_t)(n ? n : 1) * (size_t)size);
	a->ctx = p->ctx;
	a->dtype = t;
	a->ndim = nd;
	a->lo = a->data;
	a->hi = a->data + (n ? n : 1) * size;
	return a;
}

aj_array *aj_scratch(aj_prog *p, aj_dtype t, int nd, const int64_t *shape)
{
	return scratch(p, t, nd, shape);
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
	c->k.fast = atomic_load_explicit(&p->ctx->fast, memory_order_relaxed);
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

aj_status aj_copy_call(aj_prog *p, aj_kcall *c, aj_array *dst, aj_array *src)
{
	aj_kval v = {.op = AJ_OP_ARRAY, .dtype = (uint8_t)src->dtype, .arg = {1}};
	aj_array *opnd[2] = {dst, src};
	return hand_kernel(p, c, &(hand){.val = &v, .nval = 1, .opnd = opnd, .nop = 2,
					 .nout = 1, .red = AJ_NOP});
}

/* res = identity of op (a complex one in two slots). */
static aj_status fill_kernel(aj_prog *p, aj_kcall *c, aj_array *res, aj_op op)
{
	aj_dtype t = res->dtype;
	aj_kval v = {.op = AJ_OP_SCALAR, .dtype = (uint8_t)t};
	uint64_t slot[2] = {aj_slot_bits(t, aj_red_identity(op, t)),
			    aj_slot_bits(t, (aj_scalar_val){.f = aj_red_identity_im(op, t)})};
	uint8_t st[2] = {(uint8_t)t, (uint8_t)t};
	aj_status s = hand_kernel(p, c, &(hand){.val = &v, .nval = 1, .opnd = &res,
						.nop = 1, .nout = 1, .slot = slot,
						.slot_t = st, .nslot = aj_is_complex(t) ? 2 : 1,
						.red = AJ_NOP});
	c->note = "a reduction's identity, before it accumulates";
	return s;
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
	uint64_t slot = aj_slot_bits(AJ_FLOAT64, (aj_scalar_val){.f = (double)count});
	uint8_t st = AJ_FLOAT64;
	aj_array *opnd[2] = {res, res};
	aj_status s = hand_kernel(p, c, &(hand){.val = v, .nval = nval, .opnd = opnd,
						.nop = 2, .nout = 1, .slot = &slot,
						.slot_t = &st, .nslot = 1, .red = AJ_NOP});
	c->note = "mean: the sum divided by the count";
	return s;
}

/* ---- rule 4: reductions in fixed chunks ---- */

/*
 * Chunks of a reduction call c whose result has nres elements: 1 (no
 * split) below RED_SPLIT_MIN elements of work, else one per
 * RED_CHUNK_ELEMS up to RED_MAX_CHUNKS (at least 2), no more than loop 0
 * has iterations, and no more than keep the partials under 1/8 of the
 * input's elements.
 *
 * Work counts an element once, or, when an input's inner stride crosses
 * cache lines, the elements' worth of a line per element (8 doubles),
 * and the split then starts at RED_STRIDED_MIN. sum(a[:, 0]) pays a
 * line, and from memory a miss, per element; measured, back to back on
 * 2 threads: 5000 rows of 5000 doubles 5.5 us whole, 2.6 us in 2 chunks;
 * 2000 rows of 2000 (in the L3) 1.0 us whole, 1.8 us in 2 chunks. All
 * of it is fixed by the loop nest (shape, strides, dtypes), never by the
 * thread count.
 */
enum { RED_SPLIT_MIN = 1 << 17, RED_STRIDED_MIN = 1 << 15, RED_CHUNK_ELEMS = 1 << 15,
       RED_MAX_CHUNKS = 64, LINE_BYTES = 64 };

/* c's elements weighted by the cache lines its inputs' inner strides
 * cross per element; *strided whether any does. */
static int64_t reduction_work(const aj_kcall *c, bool *strided)
{
	int nd = c->k.ndim;
	int64_t per = 1;
	for (int o = c->k.nout; o < c->k.nop && nd > 0; o++) {
		int64_t st = llabs(c->strides[o * nd + nd - 1]);
		int64_t size = aj_dtypes[c->k.op_dtype[o]].size;
		if (c->k.op_class[o] == AJ_SC_ANY && st >= LINE_BYTES && LINE_BYTES / size > per)
			per = LINE_BYTES / size;
	}
	*strided = per > 1;
	return c->nelem * per;
}

static int64_t reduction_chunks(const aj_kcall *c, int64_t nres)
{
	bool strided;
	int64_t work = reduction_work(c, &strided);
	if (work < (strided ? RED_STRIDED_MIN : RED_SPLIT_MIN) || !aj_reduces_loop0(c))
		return 1;
	int64_t n = work / RED_CHUNK_ELEMS < 2 ? 2 : work / RED_CHUNK_ELEMS;
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
	aj_status s = hand_kernel(p, c, &(hand){.val = v, .nval = nout, .opnd = opnd,
						.nop = 2 * nout, .nout = nout,
						.iter = nout, .red = red});
	c->note = "combines the fixed chunks' partial results in chunk order";
	return s;
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
	if (!red->note)
		red->note = "reduction: its loop nest ends here, its producer fused in";
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
 * Positions within axes of shape, as an index operand (kernel.h): C-order
 * steps over those axes, 0 along the others. With every axis that is the
 * flat C-order index, NumPy's argmax(axis=None).
 */
aj_array *aj_index_operand(aj_prog *p, int nd, const int64_t *shape,
			   uint32_t axes)
{
	aj_array *a = aj_arena_alloc(&p->arena, sizeof *a);
	if (!a)
		return NULL;
	memset(a, 0, sizeof *a);
	int64_t step = 1;
	for (int k = nd; k-- > 0;) {
		bool in = axes >> k & 1;
		a->shape[k] = shape[k];
		a->strides[k] = in ? step : 0;
		step *= in ? shape[k] : 1;
	}
	a->ctx = p->ctx;
	a->data = a->lo = a->hi = (char *)AJ_INDEX_BIAS;
	a->dtype = AJ_INT8;
	a->ndim = nd;
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
		      .index = aj_index_operand(p, x->ndim, x->shape, axes)};
	if (!os.best || !os.index)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	aj_kcall red;
	aj_status s = fill_kernel(p, &calls[(*ncall)++], res, op);
	if (s == AJ_OK)
		s = fill_kernel(p, &calls[(*ncall)++], os.best, aj_arg_extreme(op));
	if (s == AJ_OK)
		s = lower_kernel(p, &os, x->ndim, x->shape, op, result, &red, NULL, NULL);
	if (s == AJ_OK)
		s = add_reduction_call(p, &red, &os, op, calls, ncall);
	return s;
}

/* Room in g for n more calls. */
static aj_status reserve(aj_prog *p, aj_group *g, int n)
{
	if (g->ncall + n <= g->cap)
		return AJ_OK;
	int cap = 2 * g->cap > g->ncall + n ? 2 * g->cap : g->ncall + n;
	aj_kcall *c = aj_arena_alloc(&p->arena, (size_t)cap * sizeof *c);
	if (!c)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	if (g->ncall)
		memcpy(c, g->calls, (size_t)g->ncall * sizeof *c);
	g->calls = c;
	g->cap = cap;
	return AJ_OK;
}

/* ---- rule 6: work invariant along a broadcast axis ---- */

/*
 * Rule 6: a costly subexpression (a SLEEF or libm function, a power) with
 * fewer than half the elements of the loop nest it is in varies along
 * fewer axes than the nest: in sin(x**2) * y with x of shape (n,) and y of
 * (m, n), computing it in the nest computes each value m times. It is
 * computed once instead, by a kernel of its own into a scratch array of
 * its shape, and the nest reads that. Not when it is invariant along the
 * nest's last axis (the code generator hoists it out of the inner loop
 * already), nor in a nest under HOIST_MIN elements (a kernel call costs
 * more than the work).
 */
enum { HOIST_MIN = 4096 };

static int64_t elements(int nd, const int64_t *shape)
{
	int64_t n = 1;
	for (int k = 0; k < nd; k++)
		n *= shape[k];
	return n;
}

/* Hoists what rule 6 picks in the nest of the roots over (nd, shape):
 * kernels appended to g, result[] set for the hoisted nodes. */
static aj_status hoist(aj_prog *p, const uint32_t *root, int nroot, int nd,
		       const int64_t *shape, aj_array **result, aj_group *g)
{
	int64_t total = elements(nd, shape);
	if (total < HOIST_MIN)
		return AJ_OK;
	uint32_t top = 0;
	for (int r = 0; r < nroot; r++)
		top = root[r] > top ? root[r] : top;
	/* bit 1: in the nest; bit 2: a costly node at or below, in the nest;
	 * bit 4: a shapeless random leaf at or below, which draws per element
	 * of the nest and so is never invariant */
	uint8_t *f = aj_arena_alloc(&p->arena, top + 1);
	if (!f)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memset(f, 0, top + 1);
	for (uint32_t i = 0; i <= top; i++) {
		const aj_node *n = &p->node[i];
		if (result[i] || aj_is_boundary(n))
			continue;
		if (aj_ops[n->op].kind == AJ_KIND_LEAF) {
			f[i] = (n->op == AJ_OP_RANDOM || n->op == AJ_OP_NORMAL) &&
			       !n->ndim ? 4 : 0;
			continue;
		}
		f[i] = aj_ops[n->op].sleef[0] ? 2 : 0;
		for (int k = 0; k < aj_ops[n->op].nin; k++)
			f[i] |= f[n->arg[k]] & 6;
	}
	for (int r = 0; r < nroot; r++)
		f[root[r]] |= 1;
	for (uint32_t i = top + 1; i-- > 0;) {
		const aj_node *n = &p->node[i];
		if (!(f[i] & 1) || !(f[i] & 2))
			continue;
		int64_t count = elements(n->ndim, n->shape);
		bool inner = n->ndim && nd && shape[nd - 1] > 1 && /* axes align right */
			     n->shape[n->ndim - 1] == shape[nd - 1];
		if (2 * count > total || !inner || (f[i] & 4)) {
			for (int k = 0; k < aj_ops[n->op].nin; k++)
				f[n->arg[k]] |= 1;
			continue;
		}
		aj_array *t = scratch(p, n->dtype, n->ndim, n->shape);
		if (!t)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		aj_status s = reserve(p, g, 1);
		outputs os = {.n = 1, .root = &i, .out = &t};
		if (s == AJ_OK)
			s = lower_kernel(p, &os, n->ndim, n->shape, AJ_NOP, result,
					 &g->calls[g->ncall++], NULL, NULL);
		if (s != AJ_OK)
			return s;
		g->calls[g->ncall - 1].note = "hoisted: invariant along a "
					      "broadcast axis of its consumer";
		result[i] = t;
	}
	return AJ_OK;
}

/* The calls of reduction node r: fill, accumulate, maybe divide; sets
 * result[r] to what consumers read. */
static aj_status lower_reduction(aj_prog *p, uint32_t r, aj_array **result,
				 aj_group *g)
{
	const aj_node *x = &p->node[p->node[r].arg[0]];
	aj_status s = hoist(p, &p->node[r].arg[0], 1, x->ndim, x->shape, result, g);
	if (s == AJ_OK)
		s = reserve(p, g, 6); /* argmin's 2 fills, 2 of partials, the
					 chunked pass and the combination */
	if (s != AJ_OK)
		return s;
	aj_kcall *calls = g->calls;
	int *ncall = &g->ncall;
	const aj_node *n = &p->node[r];
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
	s = fill_kernel(p, &calls[(*ncall)++], res, op);
	if (s == AJ_OK)
		s = lower_kernel(p, &os, x->ndim, x->shape, op, result, &red, NULL, NULL);
	if (s == AJ_OK)
		s = add_reduction_call(p, &red, &os, op, calls, ncall);
	if (s == AJ_OK && op == AJ_OP_MEAN)
		s = mean_kernel(p, &calls[(*ncall)++], res, count);
	return s;
}

/*
 * A view of a node that could not be pushed down to arrays (exprview.c):
 * the node's value in C order (a reduction's result, or else computed by
 * a kernel of its own into a scratch, the producer fused; a view of a
 * view, ravel(reshape(a.T, (3, 8)).T), copies the inner one's strided
 * result), read through the node's map; sets result[v].
 */
static aj_status lower_view(aj_prog *p, uint32_t v, aj_array **result, aj_group *g)
{
	uint32_t x = p->node[v].arg[0];
	const aj_node *xn = &p->node[x];
	aj_array *src = result[x];
	if (!src || !aj_array_is_c_contiguous(src)) {
		aj_array *t = scratch(p, xn->dtype, xn->ndim, xn->shape);
		if (!t)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		aj_status s = src ? AJ_OK : hoist(p, &x, 1, xn->ndim, xn->shape, result, g);
		if (s == AJ_OK)
			s = reserve(p, g, 1);
		outputs os = {.n = 1, .root = &x, .out = &t};
		aj_kcall *c = &g->calls[g->ncall];
		if (s == AJ_OK)
			s = src ? aj_copy_call(p, c, t, src)
				: lower_kernel(p, &os, xn->ndim, xn->shape, AJ_NOP,
					       result, c, NULL, NULL);
		if (s != AJ_OK)
			return s;
		g->ncall++;
		c->note = "copy: a reshape no view of its inputs can express";
		src = t;
	}
	const aj_array *map = p->node[v].u.view;
	aj_array *r = aj_arena_alloc(&p->arena, sizeof *r);
	if (!r)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	int64_t size = aj_dtypes[src->dtype].size;
	*r = *src;
	r->ndim = map->ndim;
	bool empty = false;
	for (int k = 0; k < map->ndim; k++) {
		r->shape[k] = map->shape[k];
		r->strides[k] = map->strides[k] * size;
		empty |= map->shape[k] == 0;
	}
	if (!empty)
		r->data += (int64_t)((uintptr_t)map->data - AJ_INDEX_BIAS) * size;
	r->readonly = true;
	result[v] = r;
	return AJ_OK;
}

enum { NEEDED = 1, CHECK = 2, DEAD = 4 };

/* Marks the reductions the roots need, in index order (operands first),
 * NEEDED, or CHECK for the checks of integer powers and takes (which come
 * before the node they check, so the walk reaches them). The dead roots,
 * whose stores a later member overwrites, need only their checks: NumPy
 * raises for them all the same. need has top + 1 entries. */
static void find_reductions(aj_prog *p, const uint32_t *root, int nroot,
			    const uint32_t *dead, int ndead, uint32_t top,
			    uint8_t *need)
{
	memset(need, 0, top + 1);
	for (int r = 0; r < ndead; r++)
		need[dead[r]] = DEAD;
	for (int r = 0; r < nroot; r++)
		need[root[r]] = NEEDED;
	for (uint32_t i = top + 1; i-- > 0;) {
		if (!need[i])
			continue;
		const aj_node *nd = &p->node[i];
		for (int k = 0; k < aj_ops[nd->op].nin; k++)
			if (need[i] != DEAD || !need[nd->arg[k]])
				need[nd->arg[k]] = need[i] == DEAD ? DEAD : NEEDED;
		if (aj_node_check(nd))
			need[aj_node_check(nd)] = CHECK;
	}
	for (uint32_t i = 0; i <= top; i++)
		need[i] = need[i] == DEAD ? 0 : need[i];
}

/* ---- rule 5: groups of assignments ---- */

/*
 * Rule 5: consecutive pending assignments share one loop nest, each with
 * its output, while they have the same iteration space (output shape) and
 * running them element by element together equals running them one after
 * another. In the fused loop every member reads all its inputs at index i
 * before any member writes index i, and reductions run before the loop.
 * So a member may not read (in its loop or under a reduction) what an
 * earlier member writes: it would see the old values. Except that a read
 * in its loop of the identical view (same elements and dtype) is
 * forwarded the writer's value (forward_values), and costs nothing: no
 * load, no split. A member may not
 * write what an earlier member reads in its loop, or another member's
 * output, unless it is the identical view (then index i is read before it
 * is written, and the later store wins, as in sequence: the earlier store
 * is dropped). An assignment
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
		uint8_t f = aj_is_boundary(nd) ? BELOW : flag[i];
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

/* Writing out disturbs one of r's reads in the loop: a read of the
 * identical view is not disturbed (it happens at the same index, before
 * the write), unless through a take. */
static bool disturbs(const aj_array *out, const reads *r)
{
	for (int i = 0; i < r->n; i++)
		if ((r->how[i] & NEST) && aj_overlaps(out, r->arr[i]) &&
		    ((r->how[i] & GATHER) || !aj_same_elements(out, r->arr[i])))
			return true;
	return false;
}

static bool same_shape(const aj_array *a, const aj_array *b)
{
	return a->ndim == b->ndim &&
	       !memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]);
}

/* The last of as[0 .. g) whose output is x's elements with x's dtype, or
 * -1: the member whose value forward_values gives a read of x. */
static int latest_writer(const aj_assignment *as, int g, const aj_array *x)
{
	int w = g;
	while (w-- > 0 && !(as[w].out->dtype == x->dtype && aj_same_elements(as[w].out, x)))
		;
	return w;
}

/* The hazard that keeps as[g] (same shape as as[0]) out of the group
 * as[0 .. g), given the reads r[0 .. g]; or NULL. */
static const char *hazard(const aj_assignment *as, const reads *r, int g)
{
	const aj_array *out = as[g].out;
	if (r[g].checked)
		return "checked integer power or take";
	for (int i = 0; i < r[g].n; i++) {
		/* after the last member that writes it as the identical view,
		 * a read in the loop is forwarded that member's value */
		const aj_array *x = r[g].arr[i];
		int w = r[g].how[i] == NEST ? latest_writer(as, g, x) : -1;
		for (int k = w + 1; k < g; k++)
			if (aj_overlaps(as[k].out, x))
				return "overlap: reads an earlier output";
	}
	for (int k = 0; k < g; k++) {
		if (disturbs(out, &r[k]))
			return "overlap: writes an earlier input";
		if (!aj_same_elements(out, as[k].out) && aj_overlaps(out, as[k].out))
			return "overlap: outputs overlap";
	}
	return NULL;
}

/* Appends a copy of n (pointers into p->node go stale): its index, or
 * NONE out of memory (recorded in p). */
static uint32_t add_node(aj_prog *p, const aj_node *n)
{
	aj_expr e = aj_prog_push(p, n);
	return e.id == AJ_EXPR_NONE.id ? NONE : p->nnode - 1;
}

/*
 * Forwarding: a member that reads, in its loop, an earlier member's output
 * as the identical view (same elements, same dtype) reads that member's
 * value instead of memory, so a = a*2; b = a + 1 stays one loop: b is
 * computed from a*2 at each index, where a load would see the old a. The
 * member is rewritten into new nodes (the pending DAG is untouched: a
 * member that ends up in the next group reads memory as before). Reads
 * under a reduction stay reads, and keep their hazard. flag: scratch of
 * as[g].node + 1 entries.
 */
static aj_status forward_values(aj_prog *p, aj_assignment *as, int g, uint8_t *flag)
{
	uint32_t root = as[g].node;
	uint32_t *to = aj_arena_alloc(&p->arena, (root + 1) * sizeof *to);
	uint32_t val[MAX_GROUP];
	if (!to)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memset(flag, 0, root + 1);
	flag[root] = 1;
	for (uint32_t i = root + 1; i-- > 0;) {
		const aj_node *nd = &p->node[i];
		if (flag[i] && !aj_is_boundary(nd))
			for (int k = 0; k < aj_ops[nd->op].nin; k++)
				flag[nd->arg[k]] = 1;
	}
	for (int k = 0; k < g; k++)
		val[k] = NONE;
	for (uint32_t i = 0; i <= root; i++) {
		to[i] = i;
		if (!flag[i])
			continue;
		aj_node n = p->node[i];
		int w = n.op == AJ_OP_ARRAY ? latest_writer(as, g, n.u.array) : -1;
		if (w >= 0) {
			if (val[w] == NONE) { /* the value as stored */
				const aj_node *r = &p->node[as[w].node];
				aj_node cast = {.op = AJ_OP_CAST, .dtype = n.dtype,
						.ndim = r->ndim, .shape = r->shape,
						.arg = {as[w].node}};
				val[w] = r->dtype == n.dtype && !r->weak
					 ? as[w].node : add_node(p, &cast);
			}
			to[i] = val[w];
		} else if (n.op != AJ_OP_ARRAY && !aj_is_boundary(&n)) {
			bool moved = false;
			for (int k = 0; k < aj_ops[n.op].nin; k++) {
				moved |= to[n.arg[k]] != n.arg[k];
				n.arg[k] = to[n.arg[k]];
			}
			if (moved)
				to[i] = add_node(p, &n);
		}
		if (to[i] == NONE)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	}
	as[g].node = to[root];
	return AJ_OK;
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

/* ---- rule 7: a reshape's copy fused into its consumer ---- */

/*
 * Rule 7: a reshape no view can express (reshape(a.T, -1), a VIEW node,
 * exprview.c) would be computed into a scratch first. When the loop nest
 * can instead run over a common refinement R of the output's shape and
 * the reshaped expressions' (shapes whose C-order suffix products form
 * one chain of divisors: (4, 6) and (24,) refine to (4, 6); (4, 6) and
 * (3, 8) have none), every axis of R is a piece of one axis of each, and
 * splitting an axis is always a view: the outputs are split into R, the
 * members' expressions pushed into R, and the reshapes vanish; the copy
 * is fused into its consumer, no scratch.
 */

/* Adds the suffix products of (nd, shape) to the sorted set prod[0 .. *n). */
static void add_products(int nd, const int64_t *shape, int64_t *prod, int *n)
{
	int64_t q = 1;
	for (int k = nd; k-- > 0;) {
		q *= shape[k];
		int i = 0;
		while (i < *n && prod[i] < q)
			i++;
		if (i < *n && prod[i] == q)
			continue;
		memmove(prod + i + 1, prod + i, (size_t)(*n - i) * sizeof *prod);
		prod[i] = q;
		(*n)++;
	}
}

/* The reshape VIEW nodes the roots' nest reads (outside reductions and
 * other views) add their operands' shapes to prod; false if one cannot
 * take part (not a plain reshape, or not of the nest's shape), or there
 * is none. */
static bool reshapes_in_nest(aj_prog *p, const uint32_t *root, int n, uint32_t top,
			     const aj_array *o, int64_t *prod, int *nprod)
{
	uint8_t *in = aj_arena_alloc(&p->arena, top + 1);
	if (!in)
		return false;
	memset(in, 0, top + 1);
	for (int k = 0; k < n; k++)
		in[root[k]] = 1;
	bool any = false;
	for (uint32_t i = top + 1; i-- > 0;) {
		const aj_node *nd = &p->node[i];
		if (!in[i] || aj_ops[nd->op].kind == AJ_KIND_REDUCE)
			continue;
		if (nd->op == AJ_OP_VIEW) {
			const aj_node *x = &p->node[nd->arg[0]];
			if (aj_ops[x->op].kind == AJ_KIND_REDUCE)
				continue; /* read through the view, no copy */
			if (!aj_view_is_reshape(p, nd) || nd->ndim != o->ndim ||
			    memcmp(nd->shape, o->shape, (size_t)o->ndim * 8) ||
			    2 * AJ_MAX_NDIM - *nprod < x->ndim)
				return false;
			add_products(x->ndim, x->shape, prod, nprod);
			any = true;
			continue;
		}
		for (int k = 0; k < aj_ops[nd->op].nin; k++)
			in[nd->arg[k]] = 1;
	}
	return any;
}

/* Rule 7 for the group's roots and outputs, rewritten in place when R
 * exists (else left as they are, to copy). */
static aj_status refine(aj_prog *p, uint32_t *root, aj_array **out, int n,
			uint32_t *top)
{
	int64_t prod[2 * AJ_MAX_NDIM], shape[AJ_MAX_NDIM];
	int nprod = 0, nd = 0;
	add_products(out[0]->ndim, out[0]->shape, prod, &nprod);
	if (elements(out[0]->ndim, out[0]->shape) == 0 ||
	    !reshapes_in_nest(p, root, n, *top, out[0], prod, &nprod))
		return AJ_OK;
	for (int i = 1; i < nprod; i++)
		if (prod[i] % prod[i - 1])
			return AJ_OK; /* no common refinement */
	if (nprod > AJ_MAX_NDIM)
		return AJ_OK;
	for (int i = nprod; i-- > 0;)
		shape[nd++] = i ? prod[i] / prod[i - 1] : prod[0];
	aj_vstep split = {.kind = AJ_V_RESHAPE, .ndim = nd, .shape = shape};
	for (int k = 0; k < n; k++) {
		aj_array *v = aj_arena_alloc(&p->arena, sizeof *v);
		if (!v)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		if (aj_vstep_into(p->ctx, out[k], &split, v) != AJ_OK)
			return AJ_OK; /* cannot happen: splits are views */
		aj_expr e = aj_view_expr(p, (aj_expr){p->id_base + root[k] + 1}, &split);
		if (e.id == AJ_EXPR_NONE.id)
			return p->err;
		out[k] = v;
		root[k] = e.id - p->id_base - 1;
		*top = root[k] > *top ? root[k] : *top;
	}
	return AJ_OK;
}

/* Appends to g the calls of the reductions, checks and views that the
 * roots need, each once, in index order (operands first); result[] (top +
 * 1 entries) gets what consumers read. */
static aj_status lower_needed(aj_prog *p, const uint32_t *root, int n,
			      const uint32_t *dead, int ndead, uint32_t top,
			      aj_array **result, aj_group *g)
{
	uint8_t *need = aj_arena_alloc(&p->arena, top + 1);
	if (!need)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	find_reductions(p, root, n, dead, ndead, top, need);
	aj_status s = reserve(p, g, 4);
	for (uint32_t i = 0; s == AJ_OK && i <= top; i++) {
		if (need[i] && p->node[i].op == AJ_OP_VIEW)
			s = lower_view(p, i, result, g);
		if (!need[i] || aj_ops[p->node[i].op].kind != AJ_KIND_REDUCE)
			continue;
		s = lower_reduction(p, i, result, g);
		if (s != AJ_OK)
			return s;
		if (need[i] == CHECK) { /* nonzero: the check failed */
			aj_kcall *c = &g->calls[g->ncall - 1];
			c->fail_if = (const uint8_t *)result[i]->data;
			c->fail_msg = check_message(p, i, top);
		}
	}
	return s;
}

/* Lowers the group as[0 .. n) into g's calls: the reductions its members
 * need (each once), then one kernel with an output per member. */
static aj_status lower_group(aj_prog *p, const aj_assignment *as, int n, aj_group *g)
{
	uint32_t root[MAX_GROUP], dead[MAX_GROUP], top = 0;
	aj_array *out[MAX_GROUP];
	int nout = 0, ndead = 0;
	for (int k = 0; k < n; k++) {
		int later = k + 1; /* a store a later member's overwrites is dead */
		while (later < n && !aj_same_elements(as[later].out, as[k].out))
			later++;
		if (later < n) { /* but its checks still run */
			dead[ndead++] = as[k].node;
			top = as[k].node > top ? as[k].node : top;
			continue;
		}
		root[nout] = as[k].node;
		out[nout] = as[k].out;
		top = root[nout] > top ? root[nout] : top;
		nout++;
	}
	n = nout;
	aj_status s = refine(p, root, out, n, &top);
	if (s != AJ_OK)
		return s;
	aj_array **result = aj_arena_alloc(&p->arena, (top + 1) * sizeof *result);
	if (!result)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memset(result, 0, (top + 1) * sizeof *result);
	s = lower_needed(p, root, n, dead, ndead, top, result, g);
	/* a reduction at a root is copied out by this elementwise kernel */
	outputs os = {.n = n, .root = root, .out = out};
	aj_kcall main;
	const aj_array **opnd, **gathered;
	if (s == AJ_OK)
		s = hoist(p, root, n, out[0]->ndim, out[0]->shape, result, g);
	if (s == AJ_OK)
		s = lower_kernel(p, &os, out[0]->ndim, out[0]->shape, AJ_NOP,
				 result, &main, &opnd, &gathered);
	/* room for a copy per input and three pieces (alias.c) */
	if (s == AJ_OK)
		s = reserve(p, g, main.k.nop + 3);
	if (s != AJ_OK)
		return s;
	return aj_resolve_overlap(p, &main, opnd, gathered, g->calls, &g->ncall);
}

aj_status aj_fuse(aj_prog *p, const aj_assignment *pending, int nas, aj_group *g)
{
	memset(g, 0, sizeof *g);
	g->why = "end of the pending work";
	int n = 1, m = nas < MAX_GROUP + 1 ? nas : MAX_GROUP + 1;
	const aj_assignment *group = pending;
	if (nas > 1) { /* a lone assignment needs no reads: no hazard */
		/* members are rewritten by forwarding: a copy */
		aj_assignment *as = aj_arena_alloc(&p->arena, (size_t)m * sizeof *as);
		if (!as)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		memcpy(as, pending, (size_t)m * sizeof *as);
		group = as;
		uint32_t top = 0;
		for (int k = 0; k < m; k++)
			top = as[k].node > top ? as[k].node : top;
		reads *r = aj_arena_alloc(&p->arena, (MAX_GROUP + 1) * sizeof *r);
		uint8_t *flag = aj_arena_alloc(&p->arena, top + 1);
		if (!r || !flag)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		aj_status s = fill_reads(p, as[0].node, flag, &r[0]);
		for (; s == AJ_OK && n < nas; n++) {
			const char *why = n == MAX_GROUP ? "group full"
				: !same_shape(as[n].out, as[0].out) ? "shape change" : NULL;
			if (!why && (s = fill_reads(p, as[n].node, flag, &r[n])) == AJ_OK &&
			    !(why = hazard(as, r, n)))
				s = forward_values(p, as, n, flag);
			if (why) {
				g->why = why;
				break;
			}
		}
		if (s != AJ_OK)
			return s;
	}
	g->nassign = n;
	uint64_t before = p->scratch_bytes;
	aj_status s = lower_group(p, group, n, g);
	g->temp_bytes = (int64_t)(p->scratch_bytes - before);
	return s;
}

aj_status aj_fuse_select(aj_prog *p, uint32_t x, uint32_t mask, int nd,
			 const int64_t *shape, aj_array *out, aj_group *g,
			 aj_kcall *write)
{
	memset(g, 0, sizeof *g);
	g->why = "selection";
	uint32_t root[2] = {x, mask}, top = x > mask ? x : mask;
	aj_array **result = aj_arena_alloc(&p->arena, (top + 1) * sizeof *result);
	if (!result)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memset(result, 0, (top + 1) * sizeof *result);
	uint64_t before = p->scratch_bytes;
	aj_status s = lower_needed(p, root, 2, NULL, 0, top, result, g);
	outputs os = {.n = 1, .root = &x, .out = &out, .compress = true, .mask = mask};
	if (s == AJ_OK)
		s = lower_kernel(p, &os, nd, shape, AJ_NOP, result, write, NULL, NULL);
	g->temp_bytes = (int64_t)(p->scratch_bytes - before);
	return s;
}
