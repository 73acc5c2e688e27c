/*
 * Views of expressions: (a*b)[:, ::-1], m[:, None] of a reduction m,
 * (a + b).T, reshape(x, shape). NumPy computes the expression into a new
 * array and views that; here nothing is computed at all when it can be
 * helped: the view is pushed down to the expression's arrays.
 *
 * An elementwise expression of shape S computes element j from the
 * elements j of its operands broadcast to S, so a view V of it (any
 * aj_vstep) is the same expression over V of each operand broadcast to S.
 * Pushing V down therefore rewrites the subgraph once, every node to the
 * view's shape S', and replaces each leaf by V(broadcast(leaf, S)):
 *   - an array: that view of it (arena copy, no handle);
 *   - a random leaf with a shape: the same stream read at the positions
 *     V selects (aj_rng.pos, an index operand), so its values are those
 *     of the unviewed leaf;
 *   - a take: V of the view it gathers through, and V pushed into its
 *     positions (which broadcast to the take's shape, kernel.h);
 *   - a VIEW node: V composed onto its map;
 *   - a reduction, whose result is computed before anything reads it
 *     anyway: a VIEW node over it, read through V(C-order positions);
 *   - 0-d nodes (scalars, shapeless random leaves, full reductions):
 *     kept, since they broadcast to any shape.
 * Checks (rule 3) stay with the original nodes: they test the same values.
 *
 * Only a reshape (or ravel) can fail on a leaf: broadcast or strided
 * layouts that no strides can express in the new shape. Then the whole
 * expression becomes one VIEW node, which fusion computes into a C-order
 * scratch by a kernel of its own (producer fused) and reads through the
 * view: NumPy's copy, made lazily and only for this case.
 */
#include "core.h"
#include "fuse.h"
#include "kernel.h"

#include <string.h>

typedef struct pusher {
	aj_prog *p;
	const aj_vstep *step;
	int nd;                 /* the expression's shape S */
	const int64_t *shape;
	int vnd;                /* the view's shape S' (in the arena) */
	const int64_t *vshape;
	bool copy;              /* some leaf cannot take the step */
} pusher;

/* A copy of *a in the arena; NULL out of memory (recorded). */
static aj_array *arena_array(aj_prog *p, const aj_array *a)
{
	aj_array *t = aj_arena_alloc(&p->arena, sizeof *t);
	if (!t) {
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		return NULL;
	}
	*t = *a;
	return t;
}

/* The step of a broadcast to S, in the arena. NULL when it cannot be a
 * view (u->copy set) or on error (recorded). */
static aj_array *pushed(pusher *u, const aj_array *a)
{
	aj_array b = *a, t;
	int lead = u->nd - a->ndim;
	for (int k = 0; k < u->nd; k++) {
		bool bcast = k < lead || a->shape[k - lead] != u->shape[k];
		b.shape[k] = u->shape[k];
		b.strides[k] = bcast ? 0 : a->strides[k - lead];
	}
	b.ndim = u->nd;
	aj_status s = aj_vstep_into(u->p->ctx, &b, u->step, &t);
	if (s == AJ_ERR_LAYOUT) {
		u->copy = true;
		return NULL;
	}
	if (s != AJ_OK) {
		aj_prog_error(u->p, s, "%s", aj_ctx_errmsg(u->p->ctx));
		return NULL;
	}
	return arena_array(u->p, &t);
}

/* Marks the nodes of root's subgraph that take the view: those with
 * axes, down to leaves and boundaries (reductions, views). */
static void mark(const aj_prog *p, uint32_t root, uint8_t *in)
{
	in[root] = 1;
	for (uint32_t i = root + 1; i-- > 0;) {
		const aj_node *n = &p->node[i];
		if (!in[i] || aj_is_boundary(n))
			continue;
		for (int k = 0; k < aj_ops[n->op].nin; k++)
			if (p->node[n->arg[k]].ndim > 0)
				in[n->arg[k]] = 1;
	}
}

/* What leaf node n reads, seen through the view: the array, index
 * operand or map (see the top); NULL for nodes that only take a new
 * shape, or when out of memory or the step needs a copy. */
static const aj_array *leaf_view(pusher *u, const aj_node *n, bool *leaf)
{
	aj_prog *p = u->p;
	*leaf = true;
	if (n->op == AJ_OP_ARRAY)
		return pushed(u, n->u.array);
	if (n->op == AJ_OP_TAKE)
		return pushed(u, n->u.take->view);
	if (n->op == AJ_OP_VIEW)
		return pushed(u, n->u.view);
	if (aj_is_random((aj_op)n->op) || aj_ops[n->op].kind == AJ_KIND_REDUCE) {
		const aj_array *pos = aj_is_random((aj_op)n->op) ? n->u.rng->pos : NULL;
		if (!pos)
			pos = aj_index_operand(p, n->ndim, n->shape, UINT32_MAX);
		if (!pos) {
			aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
			return NULL;
		}
		return pushed(u, pos);
	}
	*leaf = false;
	return NULL;
}

bool aj_view_is_reshape(const aj_prog *p, const aj_node *v)
{
	const aj_node *x = &p->node[v->arg[0]];
	const aj_array *m = v->u.view;
	int64_t n = 1, size = 1;
	for (int k = 0; k < x->ndim; k++)
		size *= x->shape[k];
	for (int k = 0; k < m->ndim; k++)
		n *= m->shape[k];
	return aj_ops[x->op].kind != AJ_KIND_REDUCE && n == size && n > 0 &&
	       (uintptr_t)m->data == AJ_INDEX_BIAS && aj_array_is_c_contiguous(m);
}

/* A VIEW node that the step has made a plain reshape of its operand x
 * (the map C order from 0): x reshaped, pushed into x, where it may need
 * no copy (reshape(ravel(a.T), (4, 6)) is a.T again, and fusion refines a
 * nest into a shape that splits x's axes, rule 7). Its index + 1, or 0
 * with the error recorded. */
static uint32_t unviewed(pusher *u, uint32_t x, const aj_array *map)
{
	aj_vstep s = {.kind = AJ_V_RESHAPE, .fn = u->step->fn, .ndim = map->ndim,
		      .shape = map->shape};
	aj_prog *p = u->p;
	aj_expr e = aj_view_expr(p, (aj_expr){p->id_base + x + 1}, &s);
	return e.id == AJ_EXPR_NONE.id ? 0 : e.id - p->id_base;
}

/* The rewritten node i: n with the view's shape, its operands renamed by
 * to[] (new index + 1, 0 for a kept 0-d operand) and its leaf seen
 * through v. Returns its index + 1, or 0 with the error recorded. */
static uint32_t push_node(pusher *u, uint32_t i, const aj_array *v,
			  const uint32_t *to)
{
	aj_prog *p = u->p;
	aj_node n = p->node[i];
	n.ndim = (uint8_t)u->vnd;
	n.shape = u->vshape;
	n.weak = 0;
	if (aj_ops[n.op].kind == AJ_KIND_REDUCE) { /* read through a VIEW */
		n = (aj_node){.op = AJ_OP_VIEW, .dtype = n.dtype,
			      .ndim = n.ndim, .shape = n.shape, .arg = {i}};
		n.u.view = v;
	} else if (n.op == AJ_OP_ARRAY) {
		n.u.array = v;
	} else if (n.op == AJ_OP_VIEW) {
		n.u.view = v;
	} else if (n.op == AJ_OP_TAKE) {
		aj_gather *g = aj_arena_alloc(&p->arena, sizeof *g);
		if (!g)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory"), 0;
		*g = *n.u.take;
		g->view = v;
		n.u.take = g;
	} else if (aj_is_random((aj_op)n.op)) {
		aj_rng *r = aj_arena_alloc(&p->arena, sizeof *r);
		if (!r)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory"), 0;
		*r = *n.u.rng;
		r->pos = v;
		n.u.rng = r;
	}
	for (int k = 0; k < aj_ops[n.op].nin && n.op != AJ_OP_VIEW; k++)
		if (to[n.arg[k]]) /* a view's operand is not rewritten */
			n.arg[k] = to[n.arg[k]] - 1;
	aj_expr e = aj_prog_push(p, &n);
	return e.id == AJ_EXPR_NONE.id ? 0 : p->nnode;
}

/* A node of shape S' reading 0-d root (an identity cast broadcasts). */
static aj_expr widened(aj_prog *p, uint32_t root, int vnd, const int64_t *vshape)
{
	aj_node n = {.op = AJ_OP_CAST, .dtype = p->node[root].dtype,
		     .ndim = (uint8_t)vnd, .shape = vshape, .arg = {root}};
	return aj_prog_push(p, &n);
}

/* The whole expression computed first, then read through map (see the
 * top). */
static aj_expr copied(aj_prog *p, uint32_t root, const aj_array *map)
{
	aj_node n = {.op = AJ_OP_VIEW, .dtype = p->node[root].dtype,
		     .ndim = (uint8_t)map->ndim, .shape = map->shape,
		     .arg = {root}};
	n.u.view = map;
	return aj_prog_push(p, &n);
}

/* The step of the C-order positions of (nd, shape), in the arena: the
 * view's shape, and its map should the expression be copied; NULL with
 * the step's error recorded. */
static const aj_array *positions_viewed(aj_prog *p, const aj_vstep *step, int nd,
					const int64_t *shape)
{
	aj_array *pos = aj_index_operand(p, nd, shape, UINT32_MAX), t;
	if (!pos) {
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		return NULL;
	}
	aj_status s = aj_vstep_into(p->ctx, pos, step, &t);
	if (s != AJ_OK) {
		aj_prog_error(p, s, "%s", aj_ctx_errmsg(p->ctx));
		return NULL;
	}
	return arena_array(p, &t);
}

/* An array leaf viewed by a step that needs no copy (a[:, 0], a.T): a
 * leaf of the array's view, as push_node makes it, without the position
 * map. False, with *out untouched, when the step needs a copy. */
static bool leaf_viewed(aj_prog *p, const aj_node *r, const aj_vstep *step,
			aj_expr *out)
{
	aj_array t;
	aj_status s = aj_vstep_into(p->ctx, r->u.array, step, &t);
	if (s == AJ_ERR_LAYOUT)
		return false;
	*out = AJ_EXPR_NONE;
	if (s != AJ_OK) {
		aj_prog_error(p, s, "%s", aj_ctx_errmsg(p->ctx));
		return true;
	}
	aj_array *v = arena_array(p, &t);
	if (!v)
		return true;
	aj_node n = *r;
	n.ndim = (uint8_t)v->ndim;
	n.shape = v->shape;
	n.weak = 0;
	n.u.array = v;
	*out = aj_prog_push(p, &n);
	return true;
}

aj_expr aj_view_expr(aj_prog *p, aj_expr e, const aj_vstep *step)
{
	const aj_node *r = p ? aj_prog_node(p, e) : NULL;
	if (!r)
		return AJ_EXPR_NONE;
	aj_expr viewed;
	if (r->op == AJ_OP_ARRAY && r->ndim > 0 && leaf_viewed(p, r, step, &viewed))
		return viewed;
	uint32_t root = (uint32_t)(r - p->node);
	pusher u = {.p = p, .step = step, .nd = r->ndim, .shape = r->shape};
	const aj_array *map = positions_viewed(p, step, r->ndim, r->shape);
	if (!map)
		return AJ_EXPR_NONE;
	u.vnd = map->ndim;
	u.vshape = map->shape;
	if (r->ndim == 0) /* nothing to push into: broadcast, or as it is */
		return u.vnd ? widened(p, root, u.vnd, u.vshape) : e;
	uint8_t *in = aj_arena_alloc(&p->arena, root + 1);
	const aj_array **v = aj_arena_alloc(&p->arena, (root + 1) * sizeof *v);
	uint32_t *to = aj_arena_alloc(&p->arena, (root + 1) * sizeof *to);
	if (!in || !v || !to) {
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		return AJ_EXPR_NONE;
	}
	memset(in, 0, root + 1);
	memset(to, 0, (root + 1) * sizeof *to);
	mark(p, root, in);
	/* every leaf first, so that a copy is decided before any node exists */
	for (uint32_t i = 0; i <= root; i++) {
		bool leaf = false;
		v[i] = in[i] ? leaf_view(&u, &p->node[i], &leaf) : NULL;
		if (in[i] && leaf && !v[i] && !u.copy)
			return AJ_EXPR_NONE;
	}
	if (u.copy)
		return copied(p, root, map);
	for (uint32_t i = 0; i <= root; i++) {
		if (!in[i])
			continue;
		const aj_node *n = &p->node[i];
		if (n->op == AJ_OP_VIEW &&
		    aj_view_is_reshape(p, &(aj_node){.op = AJ_OP_VIEW, .arg = {n->arg[0]},
						     .u.view = v[i]}))
			to[i] = unviewed(&u, n->arg[0], v[i]);
		else
			to[i] = push_node(&u, i, v[i], to);
		if (!to[i])
			return AJ_EXPR_NONE;
	}
	return (aj_expr){p->id_base + to[root]};
}

/* ---- the public calls: one step each ---- */

aj_expr aj_expr_slice(aj_prog *p, aj_expr e, const aj_slice *s)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_SLICE,
			    .fn = "aj_expr_slice", .slice = s});
}

aj_expr aj_expr_index(aj_prog *p, aj_expr e, int axis, int64_t i)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_INDEX,
			    .fn = "aj_expr_index", .axis = axis, .i = i});
}

aj_expr aj_expr_permute(aj_prog *p, aj_expr e, const int *perm)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_PERMUTE,
			    .fn = "aj_expr_permute", .perm = perm});
}

aj_expr aj_expr_reshape(aj_prog *p, aj_expr e, int ndim, const int64_t *shape)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_RESHAPE,
			    .fn = "aj_expr_reshape", .ndim = ndim, .shape = shape});
}

aj_expr aj_expr_broadcast(aj_prog *p, aj_expr e, int ndim, const int64_t *shape)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_BROADCAST,
			    .fn = "aj_expr_broadcast", .ndim = ndim, .shape = shape});
}

aj_expr aj_expr_expand_dims(aj_prog *p, aj_expr e, int axis)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_EXPAND_DIMS,
			    .fn = "aj_expr_expand_dims", .axis = axis});
}

aj_expr aj_expr_flip(aj_prog *p, aj_expr e, int axis)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_FLIP,
			    .fn = "aj_expr_flip", .axis = axis});
}

aj_expr aj_expr_squeeze(aj_prog *p, aj_expr e, int axis)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_SQUEEZE,
			    .fn = "aj_expr_squeeze", .axis = axis});
}

aj_expr aj_expr_moveaxis(aj_prog *p, aj_expr e, int src, int dst)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_MOVEAXIS,
			    .fn = "aj_expr_moveaxis", .axis = src, .axis2 = dst});
}

aj_expr aj_expr_diagonal(aj_prog *p, aj_expr e, int64_t offset, int axis1,
			 int axis2)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_DIAGONAL,
			    .fn = "aj_expr_diagonal", .i = offset, .axis = axis1,
			    .axis2 = axis2});
}

aj_expr aj_expr_ravel(aj_prog *p, aj_expr e)
{
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_RAVEL,
			    .fn = "aj_expr_ravel"});
}
