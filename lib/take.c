/*
 * Gathers: aj_take builds an AJ_OP_TAKE node, NumPy's take(a, idx, axis)
 * with mode='raise' (and a[idx] in text, parse.c).
 *
 * Invariants, as for every builder: a node's operands broadcast into its
 * shape aligned on the right, and its operands precede it. The positions
 * fill the middle axes of the result, a.shape[:axis] + idx.shape +
 * a.shape[axis+1:], so the take's operand is idx with as many trailing
 * length-1 axes as a has after axis: a view of idx (aj_expand_trailing,
 * exprview.c), which copies nothing. Fusion then reads the take
 * as a load from its view (aj_gather) displaced per element; the gathered
 * values are never held in memory.
 *
 * Each take of an array of positions carries a check node, any(position
 * outside [-n, n)) over idx as given, which fusion runs before the kernels
 * that write the assignment (rule 3), so no kernel reads outside a and a
 * failed take writes nothing. A scalar position is checked here.
 *
 * The array taken from must be a leaf (an array or a view): an expression
 * is refused rather than materialised, since a temporary for it would have
 * to live until aj_sync with no owner; the caller assigns it to an array.
 */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A copy of a in p's arena, which lives as long as the nodes. */
static aj_array *arena_copy(aj_prog *p, const aj_array *a)
{
	aj_array *v = aj_arena_alloc(&p->arena, sizeof *v);
	if (v)
		*v = *a;
	return v;
}

static const char *arena_printf(aj_prog *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *arena_printf(aj_prog *p, const char *fmt, ...)
{
	char buf[AJ_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char *s = aj_arena_alloc(&p->arena, strlen(buf) + 1);
	if (s)
		strcpy(s, buf);
	return s;
}

/*
 * aj_expand_trailing (core.h): a view of e, reshaped with t trailing
 * length-1 axes, which any layout expresses (exprview.c: pushed down to
 * e's arrays; 0-d nodes, which broadcast anywhere, are shared; checks stay
 * with the originals, they test the same values).
 */
aj_expr aj_expand_trailing(aj_prog *p, aj_expr e, int t)
{
	const aj_node *n = aj_prog_node(p, e);
	if (!n || t == 0 || n->ndim == 0)
		return n ? e : AJ_EXPR_NONE;
	if (n->ndim + t > AJ_MAX_NDIM) {
		aj_prog_error(p, AJ_ERR_SHAPE, "result has more than %d "
			      "dimensions", AJ_MAX_NDIM);
		return AJ_EXPR_NONE;
	}
	int64_t shape[AJ_MAX_NDIM];
	memcpy(shape, n->shape, (size_t)n->ndim * sizeof *shape);
	for (int k = 0; k < t; k++)
		shape[n->ndim + k] = 1;
	return aj_view_expr(p, e, &(aj_vstep){.kind = AJ_V_RESHAPE,
			    .ndim = n->ndim + t, .shape = shape});
}

/* any(idx < -n | idx >= n), in int64 (uint64 as is): NumPy's mode='raise'
 * bounds. */
static aj_expr range_check(aj_prog *p, aj_expr idx, aj_dtype t, int64_t n)
{
	aj_expr i = t == AJ_INT64 || t == AJ_UINT64 ? idx : aj_cast(p, idx, AJ_INT64);
	aj_expr bad = aj_binary(p, AJ_OP_GE, i, aj_scalar_i64(p, n));
	if (aj_is_signed(t))
		bad = aj_binary(p, AJ_OP_LOR, bad,
				aj_binary(p, AJ_OP_LT, i, aj_scalar_i64(p, -n)));
	return aj_reduce(p, AJ_OP_ANY, bad, 0, NULL, false);
}

/* Whether scalar position v (of integer dtype t) lies in [-n, n). */
static bool scalar_in_range(aj_dtype t, aj_scalar_val v, int64_t n)
{
	if (t == AJ_UINT64)
		return (uint64_t)v.i < (uint64_t)n;
	return v.i >= -n && v.i < n;
}

/* a flattened in C order, as a view in the arena (NumPy's axis=None). */
static const aj_array *flattened(aj_prog *p, const aj_array *a)
{
	if (a->ndim == 1)
		return a;
	aj_array *h;
	if (aj_view_ravel(p->ctx, a, &h) != AJ_OK) {
		aj_prog_error(p, AJ_ERR_LAYOUT, "take with axis=None: the "
			      "flattened array would be a copy (%s); take along "
			      "an axis, or from a copy", aj_ctx_errmsg(p->ctx));
		return NULL;
	}
	aj_array *v = arena_copy(p, h);
	aj_array_free(h);
	if (!v)
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	return v;
}

/* The operands of a take, checked: src (flattened for AJ_ALL_AXES) and
 * the axis, normalised; false with the error recorded. */
static bool take_args(aj_prog *p, const aj_node *an, const aj_node *in,
		      int *axis, const aj_array **src)
{
	if (an->op != AJ_OP_ARRAY) {
		aj_prog_error(p, AJ_ERR_ARG, "take: the array taken from must be "
			      "an array (aj_leaf, perhaps of a view), not an "
			      "expression; assign the expression to an array first");
		return false;
	}
	if (!aj_is_int(in->dtype)) {
		aj_prog_error(p, AJ_ERR_DTYPE, "take: indices must be of an integer "
			      "dtype, not %s%s", aj_dtypes[in->dtype].name,
			      in->dtype == AJ_BOOL ? " (boolean mask selection is "
			      "aj_mask_select)" : "");
		return false;
	}
	*src = an->u.array;
	if (*axis == AJ_ALL_AXES) {
		*axis = 0;
		return (*src = flattened(p, *src)) != NULL;
	}
	int nd = (*src)->ndim;
	if (*axis < -nd || *axis >= nd) {
		aj_prog_error(p, AJ_ERR_ARG, "take: axis %d is out of bounds for "
			      "array of dimension %d", *axis, nd);
		return false;
	}
	*axis += *axis < 0 ? nd : 0;
	return true;
}

/* The error when a position is out of range. */
static const char *range_message(aj_prog *p, int axis, bool flat, int64_t n)
{
	char where[64];
	snprintf(where, sizeof where, flat ? "the flattened array" : "axis %d", axis);
	if (n == 0)
		return arena_printf(p, "cannot do a non-empty take from an empty "
				    "axis (%s has size 0)", where);
	return arena_printf(p, "index out of bounds for %s with size %lld: "
			    "indices must lie in [-%lld, %lld)", where,
			    (long long)n, (long long)n, (long long)n);
}

/* The gather of node n: src over shape (nd, the result's), stride 0
 * along the positions' ni axes from axis. */
static aj_gather *gather_of(aj_prog *p, const aj_array *src, int axis, int ni,
			    int nd, const int64_t *shape)
{
	aj_gather *g = aj_arena_alloc(&p->arena, sizeof *g);
	aj_array *v = arena_copy(p, src);
	if (!g || !v)
		return NULL;
	for (int d = 0; d < nd; d++) {
		bool pos = d >= axis && d < axis + ni;
		int sd = d < axis ? d : d - ni + 1;
		v->shape[d] = shape[d];
		v->strides[d] = pos ? 0 : src->strides[sd];
	}
	v->ndim = nd;
	v->readonly = true;
	*g = (aj_gather){.src = src, .view = v, .n = src->shape[axis],
			 .stride = src->strides[axis], .axis = axis};
	return g;
}

/* The error for scalar position v out of range. */
static void scalar_error(aj_prog *p, aj_dtype t, aj_scalar_val v, int axis,
			 bool flat, int64_t n)
{
	char val[32], where[32] = "";
	snprintf(val, sizeof val, t == AJ_UINT64 ? "%llu" : "%lld",
		 (unsigned long long)v.i);
	if (!flat)
		snprintf(where, sizeof where, "axis %d with ", axis);
	aj_prog_error(p, AJ_ERR_BOUNDS, "take: index %s is out of bounds for "
		      "%ssize %lld", val, where, (long long)n);
}

aj_expr aj_take(aj_prog *p, aj_expr a, aj_expr idx, int axis)
{
	if (!p)
		return AJ_EXPR_NONE;
	const aj_node *an = aj_prog_node(p, a), *in = an ? aj_prog_node(p, idx) : NULL;
	const aj_array *src;
	bool flat = axis == AJ_ALL_AXES;
	if (!in || !take_args(p, an, in, &axis, &src))
		return AJ_EXPR_NONE;
	aj_dtype it = in->dtype;
	bool scalar = in->op == AJ_OP_SCALAR;
	int ni = in->ndim, nd = src->ndim - 1 + ni;
	int64_t n = src->shape[axis];
	if (nd > AJ_MAX_NDIM) {
		aj_prog_error(p, AJ_ERR_SHAPE, "result has more than %d "
			      "dimensions", AJ_MAX_NDIM);
		return AJ_EXPR_NONE;
	}
	if (scalar && !scalar_in_range(it, in->u.scalar, n)) {
		scalar_error(p, it, in->u.scalar, axis, flat, n);
		return AJ_EXPR_NONE;
	}
	int64_t *shape = aj_arena_alloc(&p->arena, (size_t)(nd ? nd : 1) * 8);
	aj_gather *g = NULL;
	if (shape) {
		memcpy(shape, src->shape, (size_t)axis * sizeof *shape);
		if (ni) /* a scalar has no shape array */
			memcpy(shape + axis, in->shape, (size_t)ni * sizeof *shape);
		memcpy(shape + axis + ni, src->shape + axis + 1,
		       (size_t)(src->ndim - axis - 1) * sizeof *shape);
		g = gather_of(p, src, axis, ni, nd, shape);
	}
	if (!g || !(g->msg = range_message(p, axis, flat, n))) {
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		return AJ_EXPR_NONE;
	}
	/* NumPy's take checks a position as it copies an element: an empty
	 * result checks none (np.take(zeros((0, 3)), [5], axis=1)) */
	bool checked = !scalar && !aj_shape_empty(nd, shape);
	/* builders from here on may move p->node: in and an are stale */
	aj_expr check = checked ? range_check(p, idx, it, n) : AJ_EXPR_NONE;
	aj_expr pos = aj_expand_trailing(p, idx, src->ndim - 1 - axis);
	if (pos.id == AJ_EXPR_NONE.id || (checked && check.id == AJ_EXPR_NONE.id))
		return AJ_EXPR_NONE;
	g->check = checked ? check.id - p->id_base - 1 : 0;
	aj_node node = {.op = AJ_OP_TAKE, .dtype = (uint8_t)src->dtype,
			.ndim = (uint8_t)nd, .shape = shape};
	node.arg[0] = pos.id - p->id_base - 1;
	node.u.take = g;
	return aj_prog_push(p, &node);
}
