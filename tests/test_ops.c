/*
 * Every op x dtype against a scalar C reference written independently of
 * the library, on several layouts (contiguous, strided, negative steps,
 * transposed, broadcast, 0-d, empty) and for every vector ISA the host can
 * run, with lengths that leave vector tails.
 *
 * Exact ops must match bit for bit (NaN matches NaN). SLEEF functions must
 * be within 1 ULP of glibc's libm on these inputs (float32: of libm's double
 * result rounded to float), and, in the wide sweep, within 1 ULP of the
 * correctly rounded result.
 */
#include "ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 67 }; /* 8 vectors of 8 plus a tail of 3 */

/* One element of any dtype, as the reference sees it. */
typedef struct val {
	double f;
	int64_t i;
} val;

static val get(aj_dtype t, const void *p)
{
	val v = {0, 0};
	switch (t) {
	case AJ_BOOL: v.i = *(const uint8_t *)p != 0; v.f = (double)v.i; break;
	case AJ_INT32: v.i = *(const int32_t *)p; v.f = (double)v.i; break;
	case AJ_INT64: v.i = *(const int64_t *)p; v.f = (double)v.i; break;
	case AJ_FLOAT32: v.f = *(const float *)p; break;
	default: v.f = *(const double *)p; break;
	}
	return v;
}

static void put(aj_dtype t, void *p, val v)
{
	switch (t) {
	case AJ_BOOL: *(uint8_t *)p = v.i != 0; break;
	case AJ_INT32: *(int32_t *)p = (int32_t)(uint32_t)v.i; break;
	case AJ_INT64: *(int64_t *)p = v.i; break;
	case AJ_FLOAT32: *(float *)p = (float)v.f; break;
	default: *(double *)p = v.f; break;
	}
}

/* Wraps x to the integer dtype t, as two's complement hardware does. */
static int64_t wrap(aj_dtype t, uint64_t x)
{
	if (t == AJ_INT32)
		return (int32_t)(uint32_t)x;
	if (t == AJ_BOOL)
		return x != 0;
	return (int64_t)x;
}

static int64_t ipow(int64_t b, int64_t e, aj_dtype t)
{
	if (e < 0)
		return b == 1 ? 1 : b == -1 ? (e & 1 ? -1 : 1) : 0;
	uint64_t r = 1, x = (uint64_t)b;
	for (; e; e >>= 1, x *= x)
		if (e & 1)
			r *= x;
	return wrap(t, r);
}

static double fmin_np(double a, double b)
{
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == b) /* -0.0 vs 0.0: llvm.minimum orders -0 below +0 */
		return signbit(a) ? a : b;
	return a < b ? a : b;
}

static double fmax_np(double a, double b)
{
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == b)
		return signbit(a) ? b : a;
	return a > b ? a : b;
}

static val ref_float(aj_op op, double x, double y, bool f32)
{
	val r = {0, 0};
	switch (op) {
	case AJ_OP_NEG: r.f = -x; break;
	case AJ_OP_ABS: r.f = fabs(x); break;
	case AJ_OP_SQRT: r.f = f32 ? sqrtf((float)x) : sqrt(x); break;
	case AJ_OP_EXP: r.f = exp(x); break;
	case AJ_OP_LOG: r.f = log(x); break;
	case AJ_OP_SIN: r.f = sin(x); break;
	case AJ_OP_COS: r.f = cos(x); break;
	case AJ_OP_TANH: r.f = tanh(x); break;
	case AJ_OP_ADD: r.f = x + y; break;
	case AJ_OP_SUB: r.f = x - y; break;
	case AJ_OP_MUL: r.f = x * y; break;
	case AJ_OP_DIV: r.f = x / y; break;
	case AJ_OP_POW: r.f = pow(x, y); break;
	case AJ_OP_MIN: r.f = fmin_np(x, y); break;
	case AJ_OP_MAX: r.f = fmax_np(x, y); break;
	case AJ_OP_EQ: r.i = x == y; break;
	case AJ_OP_NE: r.i = x != y; break;
	case AJ_OP_LT: r.i = x < y; break;
	case AJ_OP_LE: r.i = x <= y; break;
	case AJ_OP_GT: r.i = x > y; break;
	case AJ_OP_GE: r.i = x >= y; break;
	default: fail_msg("no float reference for %s", aj_op_name(op));
	}
	return r;
}

static val ref_int(aj_op op, int64_t x, int64_t y, aj_dtype t)
{
	val r = {0, 0};
	uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
	switch (op) {
	case AJ_OP_NEG: r.i = wrap(t, 0 - ux); break;
	case AJ_OP_ABS: r.i = t == AJ_BOOL ? x : wrap(t, x < 0 ? 0 - ux : ux); break;
	case AJ_OP_ADD: r.i = t == AJ_BOOL ? (x | y) : wrap(t, ux + uy); break;
	case AJ_OP_SUB: r.i = wrap(t, ux - uy); break;
	case AJ_OP_MUL: r.i = t == AJ_BOOL ? (x & y) : wrap(t, ux * uy); break;
	case AJ_OP_POW: r.i = ipow(x, y, t); break;
	case AJ_OP_MIN: r.i = x < y ? x : y; break;
	case AJ_OP_MAX: r.i = x > y ? x : y; break;
	case AJ_OP_EQ: r.i = x == y; break;
	case AJ_OP_NE: r.i = x != y; break;
	case AJ_OP_LT: r.i = x < y; break;
	case AJ_OP_LE: r.i = x <= y; break;
	case AJ_OP_GT: r.i = x > y; break;
	case AJ_OP_GE: r.i = x >= y; break;
	default: fail_msg("no int reference for %s", aj_op_name(op));
	}
	return r;
}

/* Result dtype of op on two arrays of dtype t (NumPy's, for one dtype). */
static aj_dtype result_dtype(aj_op op, aj_dtype t)
{
	switch (op) {
	case AJ_OP_EQ: case AJ_OP_NE: case AJ_OP_LT:
	case AJ_OP_LE: case AJ_OP_GT: case AJ_OP_GE:
		return AJ_BOOL;
	case AJ_OP_DIV:
		return t == AJ_FLOAT32 ? AJ_FLOAT32 : AJ_FLOAT64;
	case AJ_OP_SQRT: case AJ_OP_EXP: case AJ_OP_LOG:
	case AJ_OP_SIN: case AJ_OP_COS: case AJ_OP_TANH:
		return t == AJ_FLOAT64 || t == AJ_INT32 || t == AJ_INT64 ? AJ_FLOAT64
									  : AJ_FLOAT32;
	default:
		return t;
	}
}

static bool is_exact(aj_op op)
{
	return op != AJ_OP_EXP && op != AJ_OP_LOG && op != AJ_OP_SIN &&
	       op != AJ_OP_COS && op != AJ_OP_TANH && op != AJ_OP_POW;
}

/* The reference value of op at one element: inputs of dtype t. */
static val reference(aj_op op, aj_dtype t, val x, val y)
{
	aj_dtype rt = result_dtype(op, t);
	bool ft = t == AJ_FLOAT32 || t == AJ_FLOAT64;
	if (ft || rt == AJ_FLOAT32 || rt == AJ_FLOAT64) {
		double a = x.f, b = y.f;
		if (rt == AJ_FLOAT32) { /* operands are float32 values */
			a = (float)a;
			b = (float)b;
		}
		return ref_float(op, a, b, rt == AJ_FLOAT32);
	}
	return ref_int(op, x.i, y.i, t);
}

/* Inputs: ordinary values, then specials for the dtype. */
static void fill(aj_dtype t, void *buf, int64_t n, uint64_t seed, aj_op op)
{
	static const double fspecial[] = {0.0, -0.0, 1.0, -1.0, INFINITY,
					  -INFINITY, NAN, 0.5, 1e-310, 2.0};
	static const int64_t ispecial[] = {0, 1, -1, 2, INT32_MAX, INT32_MIN,
					   INT64_MAX, INT64_MIN, 3, -2};
	uint64_t st = seed;
	size_t sz = aj_dtype_size(t);
	for (int64_t k = 0; k < n; k++) {
		val v;
		bool special = (k % 7) == 3;
		if (t == AJ_FLOAT32 || t == AJ_FLOAT64) {
			v.f = special ? fspecial[(k / 7) % 10]
				      : ref_uniform(&st, op == AJ_OP_LOG ? 0.0 : -8.0, 8.0);
			if (op == AJ_OP_POW && !special)
				v.f = ref_uniform(&st, 0.1, 4.0);
		} else {
			v.i = special ? ispecial[(k / 7) % 10]
				      : (int64_t)ref_uniform(&st, -100, 100);
			if (op == AJ_OP_POW && !special)
				v.i = (int64_t)ref_uniform(&st, -3, 12);
			if (t == AJ_BOOL)
				v.i = ref_rand(&st) & 1;
		}
		put(t, (char *)buf + k * (int64_t)sz, v);
	}
}

static void check_elem(aj_op op, aj_dtype rt, val got, val want, const char *what,
		       int64_t k)
{
	bool ok;
	double ulp = 0;
	if (rt == AJ_FLOAT64)
		ok = (ulp = ref_ulp64(got.f, want.f)) <= (is_exact(op) ? 0 : 1);
	else if (rt == AJ_FLOAT32)
		ok = (ulp = ref_ulp32((float)got.f, (float)want.f)) <= (is_exact(op) ? 0 : 1);
	else
		ok = got.i == want.i;
	if (!ok)
		fail_msg("%s: element %lld: got %.17g/%lld want %.17g/%lld (%g ulp)",
			 what, (long long)k, got.f, (long long)got.i, want.f,
			 (long long)want.i, ulp);
}

typedef ref_env env;

static const int op_nin[] = {
#define X(id, name, nin, ...) nin,
	AJ_OP_TABLE(X)
#undef X
};

static aj_expr build(aj_prog *p, aj_op op, aj_expr x, aj_expr y)
{
	return op_nin[op] == 1 ? aj_unary(p, op, x) : aj_binary(p, op, x, y);
}

/*
 * Layouts of the two inputs over a logical (R, C) iteration:
 * 0 contiguous 1-D; 1 step-2 views; 2 negative steps; 3 transposed (x is
 * the .T of a C-order (C, R) array); 4 y broadcast as a row.
 */
enum { NLAYOUT = 5, R = 5, C = 13 };

typedef struct layout {
	aj_array *x, *y, *out;
	int64_t n;
	/* element k of the iteration reads x at xi[k], y at yi[k] */
	int64_t xi[2 * R * C], yi[2 * R * C];
} layout;

static aj_array *slice1(aj_ctx *ctx, aj_array *a, int64_t start, int64_t stop,
			int64_t step)
{
	aj_slice s = {start, stop, step};
	aj_array *v = NULL;
	REF_OK_CTX(ctx, aj_view_slice(ctx, a, &s, &v));
	return v;
}

static void make_layout(env *E, int kind, aj_dtype rt,
			aj_array *bx, aj_array *by, layout *L)
{
	aj_ctx *ctx = E->ctx;
	int64_t n = 2 * R * C;
	L->n = kind == 0 ? n : R * C;
	int64_t shape2[2] = {R, C}, shape1[1] = {L->n};
	if (kind == 0) {
		REF_OK_CTX(ctx, aj_view_reshape(ctx, bx, 1, &n, &L->x));
		REF_OK_CTX(ctx, aj_view_reshape(ctx, by, 1, &n, &L->y));
		for (int64_t k = 0; k < n; k++)
			L->xi[k] = L->yi[k] = k;
	} else if (kind == 1 || kind == 2) {
		bool neg = kind == 2;
		L->x = neg ? slice1(ctx, bx, AJ_DEFAULT, AJ_DEFAULT, -2)
			   : slice1(ctx, bx, 1, AJ_DEFAULT, 2);
		L->y = slice1(ctx, by, 0, AJ_DEFAULT, 2);
		for (int64_t k = 0; k < L->n; k++) {
			L->xi[k] = neg ? n - 1 - 2 * k : 1 + 2 * k;
			L->yi[k] = 2 * k;
		}
	} else {
		int64_t cr[2] = {C, R}, row[1] = {C};
		aj_array *xs, *xv;
		aj_slice s = {0, R * C, 1};
		REF_OK_CTX(ctx, aj_view_slice(ctx, bx, &s, &xs));
		REF_OK_CTX(ctx, aj_view_reshape(ctx, xs, 2, kind == 3 ? cr : shape2, &xv));
		if (kind == 3)
			REF_OK_CTX(ctx, aj_view_permute(ctx, xv, NULL, &L->x));
		else
			REF_OK_CTX(ctx, aj_view_reshape(ctx, xs, 2, shape2, &L->x));
		aj_array *ys = slice1(ctx, by, 0, kind == 3 ? R * C : C, 1);
		REF_OK_CTX(ctx, aj_view_reshape(ctx, ys, kind == 3 ? 2 : 1,
						kind == 3 ? shape2 : row, &L->y));
		aj_array_free(xs);
		aj_array_free(xv);
		aj_array_free(ys);
		for (int64_t k = 0; k < R * C; k++) {
			int64_t i = k / C, j = k % C;
			L->xi[k] = kind == 3 ? j * R + i : k;
			L->yi[k] = kind == 3 ? k : j;
		}
	}
	int nd = kind >= 3 ? 2 : 1;
	REF_OK_CTX(ctx, aj_array_new(ctx, rt, nd, nd == 2 ? shape2 : shape1, &L->out));
}

static void free_layout(layout *L)
{
	aj_array_free(L->x);
	aj_array_free(L->y);
	aj_array_free(L->out);
}

static bool op_allowed(aj_op op, aj_dtype t)
{
	if (t == AJ_BOOL && (op == AJ_OP_NEG || op == AJ_OP_SUB || op == AJ_OP_POW))
		return false;
	return true;
}

static void run_case(env *E, aj_op op, aj_dtype t, int kind)
{
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = 2 * R * C;
	aj_array *bx, *by;
	REF_OK_CTX(ctx, aj_array_new(ctx, t, 1, &n, &bx));
	REF_OK_CTX(ctx, aj_array_new(ctx, t, 1, &n, &by));
	fill(t, aj_array_data(bx), n, 11 + (uint64_t)op, op);
	fill(t, aj_array_data(by), n, 977 + (uint64_t)kind, op);
	aj_dtype rt = result_dtype(op, t);
	layout L;
	make_layout(E, kind, rt, bx, by, &L);
	aj_expr e = build(p, op, aj_leaf(p, L.x), aj_leaf(p, L.y));
	assert_int_equal(aj_expr_dtype(p, e), rt);
	REF_OK_PROG(p, aj_assign(p, L.out, e));
	REF_OK_PROG(p, aj_sync(p));
	char what[96];
	snprintf(what, sizeof what, "%s %s layout %d isa %d", aj_op_name(op),
		 aj_dtype_name(t), kind, (int)aj_ctx_isa(ctx));
	size_t sz = aj_dtype_size(t), rsz = aj_dtype_size(rt);
	const char *xd = aj_array_data(bx), *yd = aj_array_data(by);
	const char *od = aj_array_data(L.out);
	for (int64_t k = 0; k < L.n; k++) {
		val x = get(t, xd + L.xi[k] * (int64_t)sz);
		val y = get(t, yd + L.yi[k] * (int64_t)sz);
		check_elem(op, rt, get(rt, od + k * (int64_t)rsz),
			   reference(op, t, x, y), what, k);
	}
	free_layout(&L);
	aj_array_free(bx);
	aj_array_free(by);
}

static void all_ops(env *E)
{
	for (int op = AJ_OP_NEG; op < AJ_NOP; op++) {
		if (op == AJ_OP_WHERE)
			continue;
		for (int t = 0; t < AJ_NDTYPE; t++) {
			if (!op_allowed(op, t))
				continue;
			for (int kind = 0; kind < NLAYOUT; kind++)
				run_case(E, op, t, kind);
		}
	}
}


static void test_ops_each_isa(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	for (size_t i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(E->ctx, isas[i]) != AJ_OK)
			continue; /* the host lacks it */
		all_ops(E);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

/* Bool ops NumPy rejects are rejected here too, with AJ_ERR_DTYPE. */
static void test_bool_rejections(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 4;
	aj_array *b, *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 1, &n, &b));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 1, &n, &o));
	aj_op bad[] = {AJ_OP_NEG, AJ_OP_SUB, AJ_OP_POW};
	for (int i = 0; i < 3; i++) {
		aj_expr e = build(p, bad[i], aj_leaf(p, b), aj_leaf(p, b));
		assert_int_equal(e.id, 0);
		assert_int_equal(aj_assign(p, o, e), AJ_ERR_DTYPE);
	}
	aj_array_free(b);
	aj_array_free(o);
}

/* where(c, x, y) with c of every dtype (truthiness) and promoted branches. */
static void test_where(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = N;
	for (int ct = 0; ct < AJ_NDTYPE; ct++) {
		aj_array *c, *x, *y, *o;
		REF_OK_CTX(ctx, aj_array_new(ctx, ct, 1, &n, &c));
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT32, 1, &n, &x));
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &n, &y));
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &o));
		fill(ct, aj_array_data(c), n, 5, AJ_OP_ADD);
		fill(AJ_INT32, aj_array_data(x), n, 6, AJ_OP_ADD);
		fill(AJ_FLOAT32, aj_array_data(y), n, 7, AJ_OP_ADD);
		aj_expr e = aj_where(p, aj_leaf(p, c), aj_leaf(p, x), aj_leaf(p, y));
		assert_int_equal(aj_expr_dtype(p, e), AJ_FLOAT64); /* i32 + f32 */
		REF_OK_PROG(p, aj_assign(p, o, e));
		REF_OK_PROG(p, aj_sync(p));
		for (int64_t k = 0; k < n; k++) {
			val cv = get(ct, (char *)aj_array_data(c) + k * (int64_t)aj_dtype_size(ct));
			bool truth = (ct == AJ_FLOAT32 || ct == AJ_FLOAT64) ? (cv.f != 0 || isnan(cv.f))
									  : cv.i != 0;
			double want = truth ? (double)((int32_t *)aj_array_data(x))[k]
					    : (double)((float *)aj_array_data(y))[k];
			double got = ((double *)aj_array_data(o))[k];
			assert_true(got == want || (isnan(got) && isnan(want)));
		}
		aj_array_free(c);
		aj_array_free(x);
		aj_array_free(y);
		aj_array_free(o);
	}
}

/* NumPy's promotion table and NEP 50 weak scalars. */
static void test_promotion(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = 3;
	aj_array *a[AJ_NDTYPE];
	for (int t = 0; t < AJ_NDTYPE; t++)
		REF_OK_CTX(ctx, aj_array_new(ctx, t, 1, &n, &a[t]));
	/* rows: bool int32 int64 float32 float64, as NumPy prints them */
	static const aj_dtype table[5][5] = {
		{AJ_BOOL, AJ_INT32, AJ_INT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_INT32, AJ_INT32, AJ_INT64, AJ_FLOAT64, AJ_FLOAT64},
		{AJ_INT64, AJ_INT64, AJ_INT64, AJ_FLOAT64, AJ_FLOAT64},
		{AJ_FLOAT32, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64},
	};
	for (int x = 0; x < 5; x++)
		for (int y = 0; y < 5; y++)
			assert_int_equal(aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[x]),
							       aj_leaf(p, a[y]))),
					 table[x][y]);
	/* weak: an int scalar keeps int32; a float scalar keeps float32 */
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, a[AJ_INT32]), aj_scalar_i64(p, 3))), AJ_INT32);
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, a[AJ_FLOAT32]), aj_scalar_f64(p, 2.5))), AJ_FLOAT32);
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, a[AJ_INT32]), aj_scalar_f64(p, 2.5))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[AJ_BOOL]), aj_scalar_i64(p, 1))), AJ_INT64);
	assert_int_equal(aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[AJ_FLOAT32]), aj_scalar(p, AJ_FLOAT64, 1))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_div(p, aj_leaf(p, a[AJ_INT32]), aj_leaf(p, a[AJ_INT32]))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_unary(p, AJ_OP_SQRT, aj_leaf(p, a[AJ_INT32]))), AJ_FLOAT64);
	/* a Python int too large for int32 is an error, as in NEP 50 */
	aj_expr bad = aj_add(p, aj_leaf(p, a[AJ_INT32]), aj_scalar_i64(p, 3000000000));
	assert_int_equal(bad.id, 0);
	assert_int_equal(aj_assign(p, a[AJ_INT32], bad), AJ_ERR_OVERFLOW);
	REF_OK_PROG(p, aj_sync(p));
	for (int t = 0; t < AJ_NDTYPE; t++)
		aj_array_free(a[t]);
}

/* Weak scalars compute in the array's dtype: float32 * 0.1 rounds 0.1 to
 * float32 first, as NumPy 2 does. */
static void test_weak_scalar_values(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = N;
	aj_array *a, *o, *i32, *oi;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &n, &a));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &n, &o));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT32, 1, &n, &i32));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT32, 1, &n, &oi));
	fill(AJ_FLOAT32, aj_array_data(a), n, 3, AJ_OP_ADD);
	fill(AJ_INT32, aj_array_data(i32), n, 4, AJ_OP_ADD);
	REF_OK_PROG(p, aj_assign(p, o, aj_mul(p, aj_leaf(p, a), aj_scalar_f64(p, 0.1))));
	REF_OK_PROG(p, aj_assign(p, oi, aj_mul(p, aj_leaf(p, i32), aj_scalar_i64(p, 100000))));
	REF_OK_PROG(p, aj_sync(p));
	for (int64_t k = 0; k < n; k++) {
		float x = ((float *)aj_array_data(a))[k], want = x * 0.1f;
		float got = ((float *)aj_array_data(o))[k];
		assert_true(ref_ulp32(got, want) == 0);
		int32_t xi = ((int32_t *)aj_array_data(i32))[k];
		int32_t wi = (int32_t)((uint32_t)xi * 100000u);
		assert_int_equal(((int32_t *)aj_array_data(oi))[k], wi);
	}
	aj_array_free(a);
	aj_array_free(o);
	aj_array_free(i32);
	aj_array_free(oi);
}

/* astype: every pair, NumPy's results for NaN, inf and out-of-range. */
static void test_casts(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = N;
	for (int from = 0; from < AJ_NDTYPE; from++) {
		for (int to = 0; to < AJ_NDTYPE; to++) {
			aj_array *a, *o;
			REF_OK_CTX(ctx, aj_array_new(ctx, from, 1, &n, &a));
			REF_OK_CTX(ctx, aj_array_new(ctx, to, 1, &n, &o));
			fill(from, aj_array_data(a), n, 21, AJ_OP_ADD);
			if (from == AJ_FLOAT64) /* out of every int range */
				((double *)aj_array_data(a))[1] = 1e300;
			REF_OK_PROG(p, aj_assign(p, o, aj_cast(p, aj_leaf(p, a), to)));
			REF_OK_PROG(p, aj_sync(p));
			for (int64_t k = 0; k < n; k++) {
				val x = get(from, (char *)aj_array_data(a) + k * (int64_t)aj_dtype_size(from));
				val got = get(to, (char *)aj_array_data(o) + k * (int64_t)aj_dtype_size(to));
				bool fl = from == AJ_FLOAT32 || from == AJ_FLOAT64;
				val want = x;
				if (to == AJ_BOOL)
					want.i = fl ? (x.f != 0 || isnan(x.f)) : x.i != 0;
				else if (to == AJ_INT32 && fl)
					want.i = (x.f >= -0x1p31 && x.f < 0x1p31) ? (int64_t)x.f : INT32_MIN;
				else if (to == AJ_INT64 && fl)
					want.i = (x.f >= -0x1p63 && x.f < 0x1p63) ? (int64_t)x.f : INT64_MIN;
				else if (to == AJ_INT32)
					want.i = wrap(AJ_INT32, (uint64_t)x.i);
				else if (to == AJ_FLOAT32)
					want.f = fl ? (float)x.f : (float)x.i;
				else if (to == AJ_FLOAT64)
					want.f = fl ? x.f : (double)x.i;
				if (to == AJ_FLOAT32 || to == AJ_FLOAT64)
					assert_true(ref_ulp64(got.f, want.f) == 0);
				else
					assert_int_equal(got.i, want.i);
			}
			aj_array_free(a);
			aj_array_free(o);
		}
	}
}

/* 0-d arrays, scalar-only expressions and empty arrays. */
static void test_zero_d_and_empty(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_array *s, *o, *e, *eo;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 0, NULL, &s));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 0, NULL, &o));
	*(double *)aj_array_data(s) = 2.0;
	REF_OK_PROG(p, aj_assign(p, o, aj_add(p, aj_unary(p, AJ_OP_EXP, aj_leaf(p, s)),
					       aj_scalar_i64(p, 1))));
	REF_OK_PROG(p, aj_sync(p));
	assert_true(ref_ulp64(*(double *)aj_array_data(o), exp(2.0) + 1) <= 1);
	REF_OK_PROG(p, aj_assign(p, o, aj_mul(p, aj_scalar_f64(p, 3), aj_scalar_f64(p, 0.5))));
	REF_OK_PROG(p, aj_sync(p));
	assert_true(*(double *)aj_array_data(o) == 1.5);
	int64_t zero[2] = {0, 5};
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, zero, &e));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, zero, &eo));
	REF_OK_PROG(p, aj_assign(p, eo, aj_add(p, aj_leaf(p, e), aj_scalar_f64(p, 1))));
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(s);
	aj_array_free(o);
	aj_array_free(e);
	aj_array_free(eo);
}

/* An outer product through broadcasting, and an output that is itself a
 * negative-step, transposed view. */
static void test_broadcast_outer(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	enum { M = 7, K = 11 };
	double col[M], row[K], out[K * M];
	for (int i = 0; i < M; i++)
		col[i] = i + 1;
	for (int j = 0; j < K; j++)
		row[j] = 0.5 * j;
	int64_t cs[2] = {M, 1}, rs[1] = {K}, os[2] = {K, M};
	aj_array *c, *r, *o, *ot, *of;
	REF_OK_CTX(ctx, aj_array_wrap(ctx, col, sizeof col, 0, AJ_FLOAT64, 2, cs, NULL, &c));
	REF_OK_CTX(ctx, aj_array_wrap(ctx, row, sizeof row, 0, AJ_FLOAT64, 1, rs, NULL, &r));
	REF_OK_CTX(ctx, aj_array_wrap(ctx, out, sizeof out, 0, AJ_FLOAT64, 2, os, NULL, &o));
	REF_OK_CTX(ctx, aj_view_permute(ctx, o, NULL, &ot)); /* (M, K) */
	aj_slice flip[2] = {{AJ_DEFAULT, AJ_DEFAULT, -1}, AJ_ALL};
	REF_OK_CTX(ctx, aj_view_slice(ctx, ot, flip, &of));
	REF_OK_PROG(p, aj_assign(p, of, aj_mul(p, aj_leaf(p, c), aj_leaf(p, r))));
	REF_OK_PROG(p, aj_sync(p));
	/* of[i, j] = ot[M-1-i, j] = out[j, M-1-i] = col[i] * row[j] */
	for (int i = 0; i < M; i++)
		for (int j = 0; j < K; j++)
			assert_true(out[j * M + (M - 1 - i)] == col[i] * row[j]);
	aj_array_free(c);
	aj_array_free(r);
	aj_array_free(o);
	aj_array_free(ot);
	aj_array_free(of);
}

/* Inputs for the accuracy sweep: each function over its useful domain. */
static double sweep_input(aj_op op, bool f32, uint64_t *st, bool second)
{
	double u = ref_uniform(st, 0, 1);
	switch (op) {
	case AJ_OP_EXP: return f32 ? -87 + 175 * u : -700 + 1409 * u;
	case AJ_OP_LOG: return exp2(f32 ? -125 + 250 * u : -1020 + 2040 * u);
	case AJ_OP_SIN:
	case AJ_OP_COS: return u < 0.5 ? -10 + 40 * u : -1e4 + 2e4 * u;
	case AJ_OP_TANH: return -20 + 40 * u;
	case AJ_OP_POW: return second ? -20 + 40 * u : 100 * u;
	default: return u;
	}
}

/* op in long double (x87, 64-bit mantissa): rounded to double or float it
 * is the correctly rounded result but for vanishingly rare ties. */
static long double ref_long(aj_op op, long double x, long double y)
{
	switch (op) {
	case AJ_OP_EXP: return expl(x);
	case AJ_OP_LOG: return logl(x);
	case AJ_OP_SIN: return sinl(x);
	case AJ_OP_COS: return cosl(x);
	case AJ_OP_TANH: return tanhl(x);
	default: return powl(x, y);
	}
}

/* Fills x and y with sweep inputs for op and runs op on them into o. */
static void sweep_run(env *E, aj_op op, aj_dtype t, aj_array *x, aj_array *y,
		      aj_array *o, int64_t n)
{
	uint64_t st = 99 + (uint64_t)op;
	size_t sz = aj_dtype_size(t);
	for (int64_t k = 0; k < n; k++) {
		val a = {sweep_input(op, t == AJ_FLOAT32, &st, false), 0};
		val b = {sweep_input(op, t == AJ_FLOAT32, &st, true), 0};
		put(t, (char *)aj_array_data(x) + k * (int64_t)sz, a);
		put(t, (char *)aj_array_data(y) + k * (int64_t)sz, b);
	}
	aj_prog *p = E->p;
	REF_OK_PROG(p, aj_assign(p, o, build(p, op, aj_leaf(p, x), aj_leaf(p, y))));
	REF_OK_PROG(p, aj_sync(p));
}

/*
 * Worst error of each SLEEF-backed function over 200k inputs on the host's
 * vector path: within 1 ULP of the correctly rounded result (the bound the
 * op table documents), for float64 and float32. The distance from glibc's
 * own double functions is printed too (glibc's tanh is itself 2 ULP off).
 */
static void test_math_ulp(void **state)
{
	env *E = *state;
	static const aj_op ops[] = {AJ_OP_EXP, AJ_OP_LOG, AJ_OP_SIN, AJ_OP_COS,
				    AJ_OP_TANH, AJ_OP_POW};
	int64_t n = 200003;
	for (int f = 0; f < 2; f++) {
		aj_dtype t = f ? AJ_FLOAT32 : AJ_FLOAT64;
		size_t sz = aj_dtype_size(t);
		aj_array *x, *y, *o;
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &x));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &y));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &o));
		for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
			sweep_run(E, ops[i], t, x, y, o, n);
			double worst = 0, worst_libm = 0;
			for (int64_t k = 0; k < n; k++) {
				size_t off = (size_t)k * sz;
				val a = get(t, (char *)aj_array_data(x) + off);
				val b = get(t, (char *)aj_array_data(y) + off);
				val got = get(t, (char *)aj_array_data(o) + off);
				long double w = ref_long(ops[i], a.f, b.f);
				val libm = ref_float(ops[i], a.f, b.f, f);
				double u = f ? ref_ulp32((float)got.f, (float)w)
					     : ref_ulp64(got.f, (double)w);
				double ul = f ? ref_ulp32((float)got.f, (float)libm.f)
					      : ref_ulp64(got.f, libm.f);
				worst = u > worst ? u : worst;
				worst_libm = ul > worst_libm ? ul : worst_libm;
			}
			print_message("%-6s %-7s worst %.0f ulp (%.0f from glibc's "
				      "double function) over %lld inputs\n",
				      aj_op_name(ops[i]), aj_dtype_name(t), worst,
				      worst_libm, (long long)n);
			assert_true(worst <= 1);
		}
		aj_array_free(x);
		aj_array_free(y);
		aj_array_free(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_each_isa),
		cmocka_unit_test(test_math_ulp),
		cmocka_unit_test(test_bool_rejections),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_promotion),
		cmocka_unit_test(test_weak_scalar_values),
		cmocka_unit_test(test_casts),
		cmocka_unit_test(test_zero_d_and_empty),
		cmocka_unit_test(test_broadcast_outer),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
