/*
 * Views of expressions (exprview.c): the value of view(e) must be NumPy's,
 * e computed into an array and that array viewed. The reference here is
 * exactly that: each draw assigns e to a C-order array E and view(e) to
 * out in one program, then compares out element by element with the same
 * view of E made by the aj_view_* call. Random expressions (broadcast and
 * transposed operands, reductions with and without keepdims, gathers,
 * shaped random leaves, scalars) meet random steps of every kind, and
 * views of views. Plus: m[:, None] of a reduction fused as the issue asks
 * (the producer in the reduction's pass, no other temporary), the copy a
 * reshape needs when no view can express it (its size), random leaves
 * keeping their values under a view, and the errors.
 */
#include "core.h" /* aj_vstep, to draw steps as data */
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ref_env env;

/* A new float64 array of shape, values distinct and exact in sums. */
static aj_array *filled(env *E, int nd, const int64_t *shape, uint64_t *rng)
{
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, nd, shape, &a));
	double *d = aj_array_data(a);
	for (int64_t k = 0; k < aj_array_size(a); k++)
		d[k] = (double)(int64_t)(ref_rand(rng) % 200) - 100;
	return a;
}

static aj_array *c_array_of(env *E, int nd, const int64_t *shape)
{
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, nd, shape, &a));
	return a;
}

static double at(const aj_array *a, const int64_t *idx)
{
	const char *p = aj_array_data(a);
	for (int d = 0; d < aj_array_ndim(a); d++)
		p += idx[d] * aj_array_strides(a)[d];
	double v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* ---- random expressions ---- */

typedef struct draw {
	env *E;
	uint64_t rng;
	aj_array *owned[32]; /* arrays and views to free */
	int nowned;
	char trace[128];     /* what was drawn, for messages */
} draw;

static void trace(draw *D, const char *what, int k)
{
	size_t n = strlen(D->trace);
	snprintf(D->trace + n, sizeof D->trace - n, "%s%s %d", n ? ", " : "", what, k);
}

static int64_t pick(draw *D, int64_t n)
{
	return (int64_t)(ref_rand(&D->rng) % (uint64_t)n);
}

static aj_array *own(draw *D, aj_array *a)
{
	assert_true(D->nowned < 32);
	return D->owned[D->nowned++] = a;
}

/* An operand of shape (nd, shape): C order, transposed, broadcast along
 * some axes (if bcast), or a strided slice of a bigger array. */
static aj_expr operand_of(draw *D, int nd, const int64_t *shape, bool bcast)
{
	env *E = D->E;
	int64_t s[AJ_MAX_NDIM];
	aj_array *a, *v;
	int kind = (int)pick(D, 4);
	switch (kind == 1 && !bcast ? 3 : kind) {
	case 0: /* transposed storage */
		for (int k = 0; k < nd; k++)
			s[k] = shape[nd - 1 - k];
		a = own(D, filled(E, nd, s, &D->rng));
		REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, NULL, &v));
		return aj_leaf(E->p, own(D, v));
	case 1: /* broadcast: some axes 1, maybe fewer axes */
	{
		int lead = (int)pick(D, nd + 1);
		for (int k = lead; k < nd; k++)
			s[k - lead] = pick(D, 2) ? shape[k] : 1;
		a = own(D, filled(E, nd - lead, s, &D->rng));
		return aj_leaf(E->p, a);
	}
	case 2: /* every other element of a bigger array, backwards */
	{
		aj_slice sl[AJ_MAX_NDIM];
		for (int k = 0; k < nd; k++) {
			s[k] = 2 * shape[k];
			sl[k] = (aj_slice){AJ_DEFAULT, AJ_DEFAULT, pick(D, 2) ? 2 : -2};
		}
		a = own(D, filled(E, nd, s, &D->rng));
		REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, sl, &v));
		return aj_leaf(E->p, own(D, v));
	}
	default:
		return aj_leaf(E->p, own(D, filled(E, nd, shape, &D->rng)));
	}
}

static aj_expr operand(draw *D, int nd, const int64_t *shape)
{
	return operand_of(D, nd, shape, true);
}

/* An expression of shape (nd, shape) exercising one kind of leaf or
 * boundary, combined with another operand. */
static aj_expr expression(draw *D, int nd, const int64_t *shape)
{
	aj_prog *p = D->E->p;
	aj_expr x = operand_of(D, nd, shape, false), y; /* e has x's shape */
	int64_t s[AJ_MAX_NDIM + 1];
	int kind = (int)pick(D, 6);
	trace(D, "expression", kind);
	switch (kind) {
	case 0: { /* a reduction over a new axis, keepdims or not */
		int ax = (int)pick(D, nd + 1);
		for (int k = 0, j = 0; k <= nd; k++)
			s[k] = k == ax ? 3 : shape[j++];
		y = aj_reduce(p, pick(D, 2) ? AJ_OP_SUM : AJ_OP_RMAX,
			      operand_of(D, nd + 1, s, false), 1, &ax, false);
		break;
	}
	case 1: { /* keepdims: reduce an axis of length 1 in the result */
		int ax = (int)pick(D, nd);
		memcpy(s, shape, (size_t)nd * sizeof *s);
		int64_t n = s[ax];
		s[ax] = 4;
		y = aj_reduce(p, AJ_OP_SUM, operand_of(D, nd, s, false), 1, &ax, true);
		if (n != 1) /* broadcast it back along the axis */
			y = aj_add(p, y, aj_scalar_f64(p, 0.5));
		break;
	}
	case 2: { /* a gather along axis 0 of positions computed here */
		int64_t m = shape[0] + 2;
		aj_array *a;
		memcpy(s, shape, (size_t)nd * sizeof *s);
		s[0] = m;
		a = own(D, filled(D->E, nd, s, &D->rng));
		aj_expr pos = aj_cast(p, aj_random(p, AJ_DIST_UNIFORM, AJ_UINT32, 1, shape),
				      AJ_INT64);
		pos = aj_binary(p, AJ_OP_REM, pos, aj_scalar_i64(p, m));
		y = aj_take(p, aj_leaf(p, a), pos, 0);
		break;
	}
	case 3: /* a random leaf with a shape, made exact in float64 sums */
		y = aj_binary(p, AJ_OP_FLOORDIV,
			      aj_random(p, AJ_DIST_UNIFORM, AJ_FLOAT64, nd, shape),
			      aj_scalar_f64(p, 0.125));
		break;
	case 4: /* scalars and a shapeless random leaf kept as they are */
		y = aj_mul(p, aj_scalar_f64(p, 3),
			   aj_binary(p, AJ_OP_LT, aj_random(p, AJ_DIST_UNIFORM,
							    AJ_FLOAT64, 0, NULL),
				     aj_scalar_f64(p, 2)));
		break;
	default: /* an elementwise chain */
		y = aj_where(p, aj_binary(p, AJ_OP_GT, x, aj_scalar_f64(p, 0)),
			     operand(D, nd, shape), aj_scalar_f64(p, -1));
		break;
	}
	return aj_add(p, aj_mul(p, x, aj_scalar_f64(p, 2)), y);
}

/* ---- random steps ---- */

/* A random step of an expression of shape (nd, shape), valid or not;
 * its buffers are static (one step at a time). */
static aj_vstep random_step(draw *D, int nd, const int64_t *shape)
{
	static aj_slice sl[AJ_MAX_NDIM];
	static int perm[AJ_MAX_NDIM];
	static int64_t ns[AJ_MAX_NDIM];
	aj_vstep s = {.kind = (aj_vkind)pick(D, AJ_V_RAVEL + 1)};
	int64_t size = 1;
	for (int k = 0; k < nd; k++)
		size *= shape[k];
	s.axis = nd ? (int)pick(D, 2 * nd) - nd : 0;
	s.axis2 = nd ? (int)pick(D, 2 * nd) - nd : 0;
	switch (s.kind) {
	case AJ_V_SLICE:
		for (int k = 0; k < nd; k++) {
			int64_t step = pick(D, 3) + 1;
			sl[k] = pick(D, 2) ? (aj_slice){pick(D, shape[k] + 1), AJ_DEFAULT, step}
				: (aj_slice){AJ_DEFAULT, pick(D, shape[k] + 1) - 1, -step};
		}
		s.slice = sl;
		break;
	case AJ_V_INDEX:
		s.axis = nd ? (int)pick(D, nd) : 0;
		s.i = nd && shape[s.axis] ? pick(D, shape[s.axis]) : 0;
		break;
	case AJ_V_PERMUTE:
		for (int k = 0; k < nd; k++)
			perm[k] = k;
		for (int k = nd - 1; k > 0; k--) {
			int j = (int)pick(D, k + 1), t = perm[k];
			perm[k] = perm[j];
			perm[j] = t;
		}
		s.perm = pick(D, 3) ? perm : NULL;
		break;
	case AJ_V_RESHAPE: /* split or merge some adjacent axes, or flatten */
		s.ndim = 0;
		if (pick(D, 3) == 0) {
			ns[s.ndim++] = size;
		} else {
			for (int k = 0; k < nd; k++) {
				if (k + 1 < nd && pick(D, 2)) {
					ns[s.ndim++] = shape[k] * shape[k + 1];
					k++;
				} else if (shape[k] % 2 == 0 && shape[k] > 2 &&
					   s.ndim + 2 <= AJ_MAX_NDIM) {
					ns[s.ndim++] = 2;
					ns[s.ndim++] = -1;
				} else {
					ns[s.ndim++] = shape[k];
				}
			}
		}
		s.shape = ns;
		break;
	case AJ_V_BROADCAST:
		s.ndim = nd + 1;
		ns[0] = 2;
		for (int k = 0; k < nd; k++)
			ns[k + 1] = shape[k];
		s.shape = ns;
		break;
	case AJ_V_SQUEEZE:
		if (pick(D, 2))
			s.axis = AJ_ALL_AXES;
		break;
	case AJ_V_FLIP:
		if (pick(D, 2))
			s.axis = AJ_ALL_AXES;
		break;
	case AJ_V_DIAGONAL:
		s.i = pick(D, 5) - 2;
		break;
	default:
		break;
	}
	return s;
}

static aj_expr expr_step(aj_prog *p, aj_expr e, const aj_vstep *s)
{
	switch (s->kind) {
	case AJ_V_SLICE: return aj_expr_slice(p, e, s->slice);
	case AJ_V_INDEX: return aj_expr_index(p, e, s->axis, s->i);
	case AJ_V_PERMUTE: return aj_expr_permute(p, e, s->perm);
	case AJ_V_RESHAPE: return aj_expr_reshape(p, e, s->ndim, s->shape);
	case AJ_V_BROADCAST: return aj_expr_broadcast(p, e, s->ndim, s->shape);
	case AJ_V_EXPAND_DIMS: return aj_expr_expand_dims(p, e, s->axis);
	case AJ_V_FLIP: return aj_expr_flip(p, e, s->axis);
	case AJ_V_SQUEEZE: return aj_expr_squeeze(p, e, s->axis);
	case AJ_V_MOVEAXIS: return aj_expr_moveaxis(p, e, s->axis, s->axis2);
	case AJ_V_DIAGONAL: return aj_expr_diagonal(p, e, s->i, s->axis, s->axis2);
	case AJ_V_RAVEL: return aj_expr_ravel(p, e);
	}
	return AJ_EXPR_NONE;
}

static aj_status array_step(aj_ctx *c, const aj_array *a, const aj_vstep *s,
			    aj_array **out)
{
	switch (s->kind) {
	case AJ_V_SLICE: return aj_view_slice(c, a, s->slice, out);
	case AJ_V_INDEX: return aj_view_index(c, a, s->axis, s->i, out);
	case AJ_V_PERMUTE: return aj_view_permute(c, a, s->perm, out);
	case AJ_V_RESHAPE: return aj_view_reshape(c, a, s->ndim, s->shape, out);
	case AJ_V_BROADCAST: return aj_view_broadcast(c, a, s->ndim, s->shape, out);
	case AJ_V_EXPAND_DIMS: return aj_view_expand_dims(c, a, s->axis, out);
	case AJ_V_FLIP: return aj_view_flip(c, a, s->axis, out);
	case AJ_V_SQUEEZE: return aj_view_squeeze(c, a, s->axis, out);
	case AJ_V_MOVEAXIS: return aj_view_moveaxis(c, a, s->axis, s->axis2, out);
	case AJ_V_DIAGONAL: return aj_view_diagonal(c, a, s->i, s->axis, s->axis2, out);
	case AJ_V_RAVEL: return aj_view_ravel(c, a, out);
	}
	return AJ_ERR_ARG;
}

/* Counts of what the draws did, printed, and checked to cover the cases. */
typedef struct tally {
	int ok, refused, copied;
} tally;

/* A C-order copy of a, made by the pending program (so it sees earlier
 * assignments), owned by D. */
static aj_array *c_copy(draw *D, const aj_array *a)
{
	aj_array *c;
	REF_OK_CTX(D->E->ctx, aj_array_new(D->E->ctx, AJ_FLOAT64, aj_array_ndim(a),
					   aj_array_shape(a), &c));
	REF_OK_PROG(D->E->p, aj_assign(D->E->p, c, aj_leaf(D->E->p, a)));
	return own(D, c);
}

/*
 * One draw: e, up to three steps, each checked against the same step of
 * the reference (same status, same shape); where the array's view would
 * need a copy (a reshape of a broadcast), the reference copies first, as
 * NumPy does. Then out = view(e) against the view of E, element by
 * element.
 */
static void one_draw(env *E, uint64_t seed, tally *t)
{
	draw D = {.E = E, .rng = seed};
	aj_prog *p = E->p;
	int nd = 1 + (int)pick(&D, 3);
	int64_t shape[AJ_MAX_NDIM], vs[AJ_MAX_NDIM];
	for (int k = 0; k < nd; k++)
		shape[k] = 1 + pick(&D, 4);
	aj_expr e = expression(&D, nd, shape), v = e;
	aj_array *cur = own(&D, c_array_of(E, nd, shape)), *out;
	REF_OK_PROG(p, aj_assign(p, cur, e));
	int nstep = 1 + (int)pick(&D, 3);
	bool refused = false;
	for (int k = 0; k < nstep && !refused; k++) {
		int vnd = aj_expr_shape(p, v, vs);
		aj_vstep s = random_step(&D, vnd, vs);
		trace(&D, "step", (int)s.kind);
		aj_array *next;
		aj_status want = array_step(E->ctx, cur, &s, &next);
		if (want == AJ_ERR_LAYOUT) { /* only a view of a broadcast */
			want = array_step(E->ctx, c_copy(&D, cur), &s, &next);
			t->copied++;
		}
		aj_expr w = expr_step(p, v, &s);
		if (want != AJ_OK) {
			aj_status got = aj_prog_take_error(p);
			if (w.id != AJ_EXPR_NONE.id || got != want)
				fail_msg("seed %llu step %d kind %d: the array view "
					 "fails with %d (%s), the expression's "
					 "gives %d", (unsigned long long)seed, k,
					 (int)s.kind, (int)want,
					 aj_ctx_errmsg(E->ctx), (int)got);
			t->refused++;
			refused = true;
			break;
		}
		if (w.id == AJ_EXPR_NONE.id)
			fail_msg("seed %llu step %d kind %d: %s", (unsigned long long)seed,
				 k, (int)s.kind, aj_prog_errmsg(p));
		cur = own(&D, next);
		v = w;
		int wnd = aj_expr_shape(p, v, vs);
		if (wnd != aj_array_ndim(cur) ||
		    memcmp(vs, aj_array_shape(cur), (size_t)wnd * sizeof *vs))
			fail_msg("seed %llu step %d kind %d: the expression's "
				 "view has %d axes, first %lld; the array's %d, "
				 "first %lld", (unsigned long long)seed, k,
				 (int)s.kind, wnd, (long long)vs[0],
				 aj_array_ndim(cur), (long long)aj_array_shape(cur)[0]);
	}
	if (!refused) {
		int vnd = aj_expr_shape(p, v, vs);
		out = own(&D, c_array_of(E, vnd, vs));
		REF_OK_PROG(p, aj_assign(p, out, v));
	}
	REF_OK_PROG(p, aj_sync(p));
	int64_t idx[AJ_MAX_NDIM] = {0};
	if (!refused && aj_array_size(out) > 0)
		do {
			double g = at(out, idx), w = at(cur, idx);
			if (g != w)
				fail_msg("seed %llu (%s): element [%lld, ...]: got "
					 "%g, want %g", (unsigned long long)seed,
					 D.trace, (long long)idx[0], g, w);
		} while (ref_next_index(aj_array_ndim(out), vs, idx));
	t->ok += !refused;
	for (int k = D.nowned; k-- > 0;)
		aj_array_free(D.owned[k]);
}

static void test_random_views(void **state)
{
	env *E = *state;
	tally t = {0, 0, 0};
	for (uint64_t seed = 1; seed <= 3000; seed++)
		one_draw(E, seed * 0x9E3779B97F4A7C15ull, &t);
	print_message("views of expressions: %d compared, %d refused as the "
		      "array view is, %d reshapes of broadcasts copied\n",
		      t.ok, t.refused, t.copied);
	assert_true(t.ok > 1500);
	assert_true(t.refused > 50);
	assert_true(t.copied > 20);
}

/* ---- the example and the copy ---- */


/* m = max(a*b, axis=1); r = a - m[:, None]: the reduction's pass computes
 * a*b (never stored), the only temporary is m, and r is one more kernel. */
static void test_row_max(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	uint64_t rng = 7;
	int64_t sh[2] = {300, 257};
	aj_array *a = filled(E, 2, sh, &rng), *b = filled(E, 2, sh, &rng);
	aj_array *r = c_array_of(E, 2, sh);
	aj_names *ns;
	aj_stats s0, s1;
	REF_OK_PROG(p, aj_names_new(p, &ns));
	REF_OK_PROG(p, aj_names_set_array(ns, "a", a));
	REF_OK_PROG(p, aj_names_set_array(ns, "b", b));
	REF_OK_PROG(p, aj_names_set_array(ns, "r", r));
	aj_ctx_stats(E->ctx, &s0);
	REF_OK_PROG(p, aj_exec(ns, "m = max(a*b, axis=1); r = a - m[:, None]", NULL));
	REF_OK_PROG(p, aj_sync(p));
	aj_ctx_stats(E->ctx, &s1);
	const double *pa = aj_array_data(a), *pb = aj_array_data(b);
	const double *pr = aj_array_data(r);
	for (int64_t i = 0; i < sh[0]; i++) {
		double m = -1e300;
		for (int64_t j = 0; j < sh[1]; j++)
			m = pa[i * sh[1] + j] * pb[i * sh[1] + j] > m
				? pa[i * sh[1] + j] * pb[i * sh[1] + j] : m;
		for (int64_t j = 0; j < sh[1]; j++)
			assert_true(pr[i * sh[1] + j] == pa[i * sh[1] + j] - m);
	}
	/* fill, the reduction pass, the subtraction */
	assert_int_equal(s1.kernels_run - s0.kernels_run, 3);
	assert_int_equal(s1.temp_bytes - s0.temp_bytes, sh[0] * 8);
	aj_names_free(ns);
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(r);
}

/* Runs out = e and returns the kernels run and temporary bytes used. */
static void run_counted(env *E, aj_array *out, aj_expr e, uint64_t *kernels,
			uint64_t *temp)
{
	aj_stats s0, s1;
	aj_ctx_stats(E->ctx, &s0);
	REF_OK_PROG(E->p, aj_assign(E->p, out, e));
	REF_OK_PROG(E->p, aj_sync(E->p));
	aj_ctx_stats(E->ctx, &s1);
	*kernels = s1.kernels_run - s0.kernels_run;
	*temp = s1.temp_bytes - s0.temp_bytes;
}

/*
 * A reshape of a transposed operand, which no view expresses:
 * - into a shape whose axes and the operand's refine to a common shape
 *   ((24,) and (4, 6); (2, 12) and (4, 6) refine to (2, 2, 6)), the copy
 *   is fused into the consumer (rule 7): one kernel, no temporary;
 * - into one with no common refinement ((3, 8) and (4, 6)), one kernel
 *   computes the expression (producer fused) into a scratch of its size,
 *   read through the reshape;
 * - a reshape a view expresses copies nothing.
 */
static void test_reshape_copy(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	uint64_t rng = 11, kernels, temp;
	int64_t sh[2] = {6, 4}, flat = 24, half[2] = {2, 12}, odd[2] = {3, 8};
	aj_array *a = filled(E, 2, sh, &rng), *at_, *o = c_array_of(E, 1, &flat);
	aj_array *o2 = c_array_of(E, 2, half), *o3 = c_array_of(E, 2, odd);
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, NULL, &at_));
	const double *pa = aj_array_data(a);
	/* a.T is (4, 6): its C-order element k is a[k % 6, k / 6] */
#define AT(k) pa[((k) % 6) * 4 + (k) / 6]
	aj_expr x = aj_add(p, aj_leaf(p, at_), aj_scalar_f64(p, 1));
	run_counted(E, o, aj_mul(p, aj_expr_ravel(p, x), aj_scalar_f64(p, 2)),
		    &kernels, &temp);
	const double *po = aj_array_data(o);
	for (int64_t k = 0; k < flat; k++)
		assert_true(po[k] == 2 * (AT(k) + 1));
	assert_int_equal(kernels, 1);
	assert_int_equal(temp, 0);
	x = aj_add(p, aj_leaf(p, at_), aj_scalar_f64(p, 1));
	run_counted(E, o2, aj_expr_reshape(p, x, 2, half), &kernels, &temp);
	const double *p2 = aj_array_data(o2);
	for (int64_t k = 0; k < flat; k++)
		assert_true(p2[k] == AT(k) + 1);
	assert_int_equal(kernels, 1);
	assert_int_equal(temp, 0);
	x = aj_add(p, aj_leaf(p, at_), aj_scalar_f64(p, 1));
	run_counted(E, o3, aj_expr_reshape(p, x, 2, odd), &kernels, &temp);
	const double *p3 = aj_array_data(o3);
	for (int64_t k = 0; k < flat; k++)
		assert_true(p3[k] == AT(k) + 1);
	assert_int_equal(kernels, 2);
	assert_int_equal(temp, flat * 8);
#undef AT
	/* a C-order operand: a view, nothing copied */
	run_counted(E, o2, aj_expr_reshape(p, aj_add(p, aj_leaf(p, a),
						     aj_scalar_f64(p, 1)), 2, half),
		    &kernels, &temp);
	assert_int_equal(kernels, 1);
	assert_int_equal(temp, 0);
	for (int64_t k = 0; k < flat; k++)
		assert_true(p2[k] == pa[k] + 1);
	aj_array_free(at_);
	aj_array_free(a);
	aj_array_free(o);
	aj_array_free(o2);
	aj_array_free(o3);
}

/* A view selects among a random leaf's values: random((3, 4))[::-1, 1:]
 * holds the same numbers as the leaf, reordered. */
static void test_random_leaf_view(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sh[2] = {3, 4}, vs[2] = {3, 3};
	aj_array *all = c_array_of(E, 2, sh), *part = c_array_of(E, 2, vs);
	aj_expr r = aj_random(p, AJ_DIST_UNIFORM, AJ_FLOAT64, 2, sh);
	aj_slice s[2] = {{AJ_DEFAULT, AJ_DEFAULT, -1}, {1, AJ_DEFAULT, 1}};
	REF_OK_PROG(p, aj_assign(p, all, r));
	REF_OK_PROG(p, aj_assign(p, part, aj_expr_slice(p, r, s)));
	REF_OK_PROG(p, aj_sync(p));
	const double *pa = aj_array_data(all), *pp = aj_array_data(part);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			assert_true(pp[i * 3 + j] == pa[(2 - i) * 4 + j + 1]);
	assert_true(pa[0] != pa[1]);
	aj_array_free(all);
	aj_array_free(part);
}

/* Errors are the aj_view_* call's, named for the aj_expr_* one, and leave
 * the program usable. */
static void test_errors(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sh[2] = {3, 4}, bad[1] = {5};
	uint64_t rng = 3;
	aj_array *a = filled(E, 2, sh, &rng);
	aj_expr x = aj_add(p, aj_leaf(p, a), aj_scalar_f64(p, 1));
	static const struct {
		aj_status s;
		const char *frag;
	} want[] = {
	    {AJ_ERR_ARG, "aj_expr_flip: axis 2 out of range"},
	    {AJ_ERR_SHAPE, "aj_expr_reshape: cannot reshape array of size 12 into shape (5,)"},
	    {AJ_ERR_BOUNDS, "aj_expr_index: index 3 out of range"},
	    {AJ_ERR_ARG, "aj_expr_slice: step 0"},
	    {AJ_ERR_SHAPE, "aj_expr_squeeze: cannot squeeze axis 0"},
	    {AJ_ERR_ARG, "aj_expr_permute: axis 1 repeated"},
	    {AJ_ERR_ARG, "unknown expression"},
	};
	aj_slice zero[2] = {AJ_ALL, {0, 2, 0}};
	/* each call's error is reported when taken; rebuild one at a time */
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		aj_expr e;
		aj_prog_free(p);
		REF_OK_CTX(E->ctx, aj_prog_new(E->ctx, &E->p));
		p = E->p;
		x = aj_add(p, aj_leaf(p, a), aj_scalar_f64(p, 1));
		switch (k) {
		case 0: e = aj_expr_flip(p, x, 2); break;
		case 1: e = aj_expr_reshape(p, x, 1, bad); break;
		case 2: e = aj_expr_index(p, x, 0, 3); break;
		case 3: e = aj_expr_slice(p, x, zero); break;
		case 4: e = aj_expr_squeeze(p, x, 0); break;
		case 5: e = aj_expr_permute(p, x, (const int[]){1, 1}); break;
		default: e = aj_expr_ravel(p, (aj_expr){999999}); break;
		}
		assert_int_equal(e.id, AJ_EXPR_NONE.id);
		aj_array *o = c_array_of(E, 2, sh);
		assert_int_equal(aj_assign(p, o, e), want[k].s);
		if (!strstr(aj_prog_errmsg(p), want[k].frag))
			fail_msg("case %zu: '%s', want '%s'", k, aj_prog_errmsg(p),
				 want[k].frag);
		/* still usable */
		REF_OK_PROG(p, aj_assign(p, o, aj_expr_flip(p, x, 0)));
		REF_OK_PROG(p, aj_sync(p));
		assert_true(((double *)aj_array_data(o))[0] ==
			    ((double *)aj_array_data(a))[8] + 1);
		aj_array_free(o);
	}
	assert_int_equal(aj_expr_flip(NULL, x, 0).id, AJ_EXPR_NONE.id);
	aj_array_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ref_env_setup, ref_env_teardown)
	    T(test_random_views),
	    T(test_row_max),
	    T(test_reshape_copy),
	    T(test_random_leaf_view),
	    T(test_errors),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
