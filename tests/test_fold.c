/*
 * The constant folder (lib/fold.c) against the JIT: every op x real dtype
 * x every combination of interesting operands, computed once by a kernel
 * over arrays (which nothing folds) and once by aj_fold_op; every cast
 * pair likewise through aj_fold_cast. Exact ops must agree bit for bit
 * (any NaN matches any NaN; zeros must agree in sign), transcendental ones
 * within the op table's ulp column. Kernels run at the host's ISA and as
 * scalar code, the two widths a fold replaces.
 *
 * Then the famous edge cases one by one, and what the folder declines.
 */
#include "core.h"
#include "fold.h"
#include "ref.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef ref_env env;

enum { MAXV = 96, MAXBAD = 8 };

/* ---- values ---- */

static aj_scalar_val get(aj_dtype t, const void *p)
{
	aj_scalar_val v = {.i = 0};
	switch (t) {
	case AJ_BOOL: v.i = *(const uint8_t *)p != 0; break;
	case AJ_INT8: v.i = *(const int8_t *)p; break;
	case AJ_INT16: v.i = *(const int16_t *)p; break;
	case AJ_INT32: v.i = *(const int32_t *)p; break;
	case AJ_INT64: v.i = *(const int64_t *)p; break;
	case AJ_UINT8: v.i = *(const uint8_t *)p; break;
	case AJ_UINT16: v.i = *(const uint16_t *)p; break;
	case AJ_UINT32: v.i = *(const uint32_t *)p; break;
	case AJ_UINT64: v.i = (int64_t)*(const uint64_t *)p; break;
	case AJ_FLOAT32: v.f = *(const float *)p; break;
	default: v.f = *(const double *)p; break;
	}
	return v;
}

static void put(aj_dtype t, void *p, aj_scalar_val v)
{
	switch (t) {
	case AJ_BOOL: *(uint8_t *)p = v.i != 0; break;
	case AJ_INT8: case AJ_UINT8: *(uint8_t *)p = (uint8_t)v.i; break;
	case AJ_INT16: case AJ_UINT16: *(uint16_t *)p = (uint16_t)v.i; break;
	case AJ_INT32: case AJ_UINT32: *(uint32_t *)p = (uint32_t)v.i; break;
	case AJ_INT64: case AJ_UINT64: *(uint64_t *)p = (uint64_t)v.i; break;
	case AJ_FLOAT32: *(float *)p = (float)v.f; break;
	default: *(double *)p = v.f; break;
	}
}

/* v as dtype t stores it, read back: canonical (wrapped, float rounded). */
static aj_scalar_val canon(aj_dtype t, aj_scalar_val v)
{
	char buf[8];
	put(t, buf, v);
	return get(t, buf);
}

/* Zeros, signs, halves (rounding ties), NaN, infinities, huge, tiny and
 * subnormal values, shift counts, and every int dtype's limits. */
static const double fvals[] = {
	0.0, -0.0, 1, -1, 2, -2, 0.5, -0.5, 1.5, 2.5, -2.5, 3, -3, 7, -7,
	0.1, -0.7, 0.3, 1e-8, 100, -100, 31, 32, 63, 64, 255, 256, 88.5,
	89.5, -103, 709.7, 710, -710.4, -745,
	NAN, -NAN, INFINITY, -INFINITY, 1e300, -1e300, -1e-300, 1e-310,
	DBL_MAX, DBL_MIN, FLT_MAX, FLT_TRUE_MIN, 1e30, 3e9, -3e9, 1.9e19,
	300.5, 65535.5, 127, -128, 128, 32767, -32768, 65535, 2147483647.0,
	-2147483648.0, 4294967295.0, 0x1p63, -0x1p63, 0x1p64, 0x1p53 + 1,
};

static const int64_t ivals[] = {
	0, 1, -1, 2, -2, 3, -3, 5, 7, -7, 10, 100, -100, 31, 32, 33, 63, 64,
	100, 127, 128, 255, 256, -128, -129, 32767, 65535, INT32_MAX,
	INT32_MIN, UINT32_MAX, INT64_MAX, INT64_MIN, INT64_MIN + 1,
	/* just past a float32 tie: rounding via double would tie to even */
	(INT64_C(1) << 60) + (INT64_C(1) << 36) + 1,
	(int64_t)((UINT64_C(1) << 63) + (UINT64_C(1) << 39) + 1),
};

/* The interesting values of dtype t, canonical, in v; returns how many. */
static int values(aj_dtype t, aj_scalar_val *v)
{
	int n = 0;
	if (t == AJ_BOOL) {
		v[0].i = 0;
		v[1].i = 1;
		return 2;
	}
	if (aj_is_float(t)) {
		for (size_t i = 0; i < sizeof fvals / sizeof *fvals; i++)
			v[n++] = canon(t, (aj_scalar_val){.f = fvals[i]});
		return n;
	}
	for (size_t i = 0; i < sizeof ivals / sizeof *ivals; i++)
		v[n++] = canon(t, (aj_scalar_val){.i = ivals[i]});
	int bits = aj_dtypes[t].size * 8; /* the limits and their neighbours */
	uint64_t top = UINT64_C(1) << (bits - 1);
	uint64_t lim[] = {top - 1, top, top + 1, top - 2, 2 * top - 1};
	for (size_t i = 0; i < sizeof lim / sizeof *lim; i++)
		v[n++] = canon(t, (aj_scalar_val){.i = (int64_t)lim[i]});
	return n;
}

/* ---- comparing ---- */

static bool same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* The kernel's `got` and the folder's `want` agree: see the top. */
static bool agree(aj_dtype t, aj_scalar_val got, aj_scalar_val want, int ulp)
{
	if (!aj_is_float(t))
		return got.i == want.i;
	if (isnan(got.f) || isnan(want.f))
		return isnan(got.f) && isnan(want.f);
	if (ulp == 0)
		return same_bits(got.f, want.f);
	if (got.f == 0 && want.f == 0) /* ULP distance ignores the sign */
		return signbit(got.f) == signbit(want.f);
	double d = t == AJ_FLOAT32 ? ref_ulp32((float)got.f, (float)want.f)
				   : ref_ulp64(got.f, want.f);
	return d <= ulp;
}

static void show(char *buf, size_t len, aj_dtype t, aj_scalar_val v)
{
	if (aj_is_float(t))
		snprintf(buf, len, "%.17g (%a)", v.f, v.f);
	else
		snprintf(buf, len, "%lld", (long long)v.i);
}

/* Counts a disagreement, printing the first few. */
static void report(int *bad, const char *what, int nin, const aj_dtype *in,
		   const aj_scalar_val *x, aj_dtype out, aj_scalar_val got,
		   aj_scalar_val want)
{
	if ((*bad)++ >= MAXBAD)
		return;
	char s[4][64];
	for (int i = 0; i < nin; i++)
		show(s[i], sizeof s[i], in[i], x[i]);
	show(s[3], sizeof s[3], out, want);
	char g[64];
	show(g, sizeof g, out, got);
	print_error("%s(%s%s%s%s%s): kernel %s, fold %s\n", what, s[0],
		    nin > 1 ? ", " : "", nin > 1 ? s[1] : "",
		    nin > 2 ? ", " : "", nin > 2 ? s[2] : "", g, s[3]);
}

/* ---- one op through a kernel ---- */

/* Operands: every combination of the interesting values of in[i]. */
typedef struct batch {
	int nin;
	aj_dtype in[3];
	aj_scalar_val v[3][MAXV];
	int nv[3];
	int64_t n;
	aj_array *x[3];
} batch;

/* Element k's operands: k in mixed radix, the last operand fastest. */
static void operands(const batch *B, int64_t k, aj_scalar_val *x)
{
	for (int i = B->nin; i-- > 0;) {
		x[i] = B->v[i][k % B->nv[i]];
		k /= B->nv[i];
	}
}

static void fill_batch(env *E, batch *B)
{
	B->n = 1;
	for (int i = 0; i < B->nin; i++)
		B->n *= B->nv[i];
	for (int i = 0; i < B->nin; i++)
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, B->in[i], 1, &B->n,
						&B->x[i]));
	aj_scalar_val x[3];
	for (int64_t k = 0; k < B->n; k++) {
		operands(B, k, x);
		for (int i = 0; i < B->nin; i++)
			put(B->in[i], (char *)aj_array_data(B->x[i]) +
				k * (int64_t)aj_dtypes[B->in[i]].size, x[i]);
	}
}

static void free_batch(batch *B)
{
	for (int i = 0; i < B->nin; i++)
		aj_array_free(B->x[i]);
}

/* The dtype the folder is asked for: op's result when it computes in in. */
static aj_dtype fold_out(aj_op op, aj_dtype in)
{
	aj_opkind k = aj_ops[op].kind;
	bool test = k == AJ_KIND_CMP || k == AJ_KIND_PRED || k == AJ_KIND_LOGIC;
	return test ? AJ_BOOL : in;
}

/* Ops the folder must fold wherever the builder computes them in the
 * operands' dtype; it may decline ops added to the table after it. */
static bool must_fold(aj_op op)
{
	return (op >= AJ_OP_NEG && op <= AJ_OP_INVERT) ||
	       (op >= AJ_OP_SQRT && op <= AJ_OP_NEXTAFTER) ||
	       (op >= AJ_OP_BITAND && op <= AJ_OP_CLIP);
}

/* Builds op over B's arrays; AJ_EXPR_NONE when the builder refuses it or
 * computes it in another dtype than B's (NumPy's float functions of ints,
 * int8 arithmetic of bools), which this test leaves to test_ops. */
static aj_expr build(env *E, aj_op op, const batch *B)
{
	aj_prog *p = E->p;
	aj_expr args[3];
	for (int i = 0; i < B->nin; i++)
		args[i] = aj_leaf(p, B->x[i]);
	aj_expr e = aj_apply(p, op, B->nin, args);
	if (e.id && aj_expr_dtype(p, e) == fold_out(op, B->in[B->nin - 1]))
		return e;
	aj_sync(p); /* takes the builder's error, forgets the nodes */
	return AJ_EXPR_NONE;
}

/* Runs e into a fresh array of its dtype. */
static aj_array *run(env *E, aj_expr e, int64_t n)
{
	aj_array *o;
	aj_dtype t = aj_expr_dtype(E->p, e);
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &o));
	REF_OK_PROG(E->p, aj_assign(E->p, o, e));
	REF_OK_PROG(E->p, aj_sync(E->p));
	return o;
}

/* Folds every element of B and compares; how many disagree, or -1 when
 * the folder declines op. */
static int compare(aj_op op, const batch *B, const aj_array *o)
{
	aj_dtype in = B->in[B->nin - 1], out = aj_array_dtype(o);
	int ulp = aj_is_float(out) ? aj_ops[op].ulp : 0, bad = 0;
	aj_scalar_val x[3], want;
	char what[64];
	snprintf(what, sizeof what, "%s %s", aj_op_name(op), aj_dtype_name(in));
	for (int64_t k = 0; k < B->n; k++) {
		operands(B, k, x);
		aj_scalar_val got = get(out, (const char *)aj_array_data(o) +
					k * aj_dtypes[out].size);
		if (!aj_fold_op(op, in, out, x, &want)) {
			if (must_fold(op))
				fail_msg("%s: not folded", what);
			return -1;
		}
		if (!agree(out, got, want, ulp))
			report(&bad, what, B->nin, B->in, x, out, got, want);
	}
	return bad;
}

/* The operands of op computing in t. A signed int to a negative array
 * power is an error at aj_sync (NumPy's), so such exponents are left to
 * test_int_edges. */
static void setup_batch(aj_op op, aj_dtype t, batch *B)
{
	memset(B, 0, sizeof *B);
	B->nin = aj_ops[op].nin;
	for (int i = 0; i < B->nin; i++) {
		bool cond = aj_ops[op].kind == AJ_KIND_SELECT && i == 0;
		B->in[i] = cond ? AJ_BOOL : t;
		B->nv[i] = values(B->in[i], B->v[i]);
	}
	if (op != AJ_OP_POW || !aj_is_signed(t))
		return;
	int n = 0;
	for (int j = 0; j < B->nv[1]; j++)
		if (B->v[1][j].i >= 0)
			B->v[1][n++] = B->v[1][j];
	B->nv[1] = n;
}

/* Totals of a run. */
typedef struct tally {
	int ran;      /* (op, dtype) pairs compared */
	int declined; /* of those, left to the kernel by the folder */
	int bad;      /* pairs with disagreements */
} tally;

/* op computing in t, kernel against folder, unless the builder makes no
 * such node. */
static void diff_op(env *E, aj_op op, aj_dtype t, tally *T)
{
	batch B;
	setup_batch(op, t, &B);
	fill_batch(E, &B);
	aj_expr e = build(E, op, &B);
	if (e.id) {
		aj_array *o = run(E, e, B.n);
		int bad = compare(op, &B, o);
		aj_array_free(o);
		T->ran++;
		T->declined += bad < 0;
		T->bad += bad > 0;
		if (bad > 0)
			print_error("%s %s: %d of %lld elements disagree\n",
				    aj_op_name(op), aj_dtype_name(t), bad,
				    (long long)B.n);
	}
	free_batch(&B);
}

static void diff_cast(env *E, aj_dtype from, aj_dtype to, tally *T)
{
	batch B = {.nin = 1, .in = {from}};
	B.nv[0] = values(from, B.v[0]);
	fill_batch(E, &B);
	aj_array *o = run(E, aj_cast(E->p, aj_leaf(E->p, B.x[0]), to), B.n);
	int bad = 0;
	char what[64];
	snprintf(what, sizeof what, "astype %s -> %s", aj_dtype_name(from),
		 aj_dtype_name(to));
	for (int64_t k = 0; k < B.n; k++) {
		aj_scalar_val got = get(to, (const char *)aj_array_data(o) +
					k * aj_dtypes[to].size);
		aj_scalar_val want;
		assert_true(aj_fold_cast(from, to, B.v[0][k], &want));
		if (!agree(to, got, want, 0))
			report(&bad, what, 1, &from, &B.v[0][k], to, got, want);
	}
	aj_array_free(o);
	free_batch(&B);
	T->bad += bad > 0;
	if (bad)
		print_error("%s: %d of %lld elements disagree\n", what, bad,
			    (long long)B.n);
}

static bool is_real(aj_dtype t)
{
	return !aj_is_complex(t);
}

/* Every elementwise op and cast at the context's current ISA, or only
 * those computing in or converting from float dtypes. */
static tally diff_all(env *E, bool floats)
{
	tally T = {0, 0, 0};
	for (int op = 0; op < AJ_NOP; op++) {
		aj_opkind k = aj_ops[op].kind;
		if (k == AJ_KIND_LEAF || k == AJ_KIND_CAST ||
		    k == AJ_KIND_REDUCE)
			continue;
		for (int t = 0; t < AJ_NDTYPE; t++)
			if (is_real(t) && (!floats || aj_is_float(t)))
				diff_op(E, op, t, &T);
	}
	for (int from = 0; from < AJ_NDTYPE; from++)
		for (int to = 0; to < AJ_NDTYPE; to++)
			if (is_real(from) && is_real(to) &&
			    (!floats || aj_is_float(from)))
				diff_cast(E, from, to, &T);
	return T;
}

/*
 * At the host's ISA, then as scalar code for the float ops: vector and
 * scalar kernels call different SLEEF functions, while integer ops and
 * casts are the same LLVM instructions at any width (and nearly all of
 * the time here is compiling kernels).
 */
static void test_against_kernels(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const aj_isa isas[] = {AJ_ISA_HOST, AJ_ISA_SCALAR};
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, isas[i]));
		aj_stats s0, s1;
		aj_ctx_stats(E->ctx, &s0);
		tally T = diff_all(E, i == 1);
		aj_ctx_stats(E->ctx, &s1);
		print_message("ISA %d: %d (op, dtype) pairs, %d left to the "
			      "kernel, %d disagreeing; %.1f s compiling\n",
			      (int)aj_ctx_isa(E->ctx), T.ran, T.declined, T.bad,
			      (double)(s1.compile_ns - s0.compile_ns) * 1e-9);
		assert_true(T.ran >= (i ? 100 : 300)); /* not all refused */
		bad += T.bad;
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	if (ref_exact_fp())
		assert_int_equal(bad, 0);
}

/* The comparison can fail: a last-place difference, a zero's sign. */
static void test_agree_is_strict(void **state)
{
	aj_scalar_val one = {.f = 1}, next = {.f = nextafter(1, 2)};
	aj_scalar_val pz = {.f = 0.0}, nz = {.f = -0.0}, nan = {.f = NAN};
	assert_false(agree(AJ_FLOAT64, one, next, 0));
	assert_true(agree(AJ_FLOAT64, one, next, 1));
	assert_false(agree(AJ_FLOAT64, pz, nz, 0));
	assert_false(agree(AJ_FLOAT64, pz, nz, 1));
	assert_false(agree(AJ_FLOAT64, nan, one, 1));
	assert_true(agree(AJ_FLOAT64, nan, (aj_scalar_val){.f = -NAN}, 0));
	aj_scalar_val f1 = {.f = 1}, f2 = {.f = nextafterf(1, 2)};
	assert_false(agree(AJ_FLOAT32, f1, f2, 0));
	assert_false(agree(AJ_INT8, (aj_scalar_val){.i = -56},
			   (aj_scalar_val){.i = 200}, 0));
}

/* ---- direct checks ---- */

static aj_scalar_val fold2(aj_op op, aj_dtype t, aj_scalar_val a,
			   aj_scalar_val b)
{
	aj_scalar_val x[2] = {a, b}, r;
	assert_true(aj_fold_op(op, t, fold_out(op, t), x, &r));
	return r;
}

static int64_t ifold(aj_op op, aj_dtype t, int64_t a, int64_t b)
{
	return fold2(op, t, (aj_scalar_val){.i = a}, (aj_scalar_val){.i = b}).i;
}

static double ffold(aj_op op, aj_dtype t, double a, double b)
{
	return fold2(op, t, (aj_scalar_val){.f = a}, (aj_scalar_val){.f = b}).f;
}

static aj_scalar_val cast(aj_dtype from, aj_dtype to, aj_scalar_val x)
{
	aj_scalar_val r;
	assert_true(aj_fold_cast(from, to, x, &r));
	return r;
}

static int64_t fcast(aj_dtype to, double x)
{
	return cast(AJ_FLOAT64, to, (aj_scalar_val){.f = x}).i;
}

static void test_int_edges(void **state)
{
	assert_true(ifold(AJ_OP_FLOORDIV, AJ_INT64, INT64_MIN, -1) ==
		    INT64_MIN);
	assert_true(ifold(AJ_OP_REM, AJ_INT64, INT64_MIN, -1) == 0);
	assert_true(ifold(AJ_OP_FLOORDIV, AJ_INT8, -128, -1) == -128);
	assert_true(ifold(AJ_OP_FLOORDIV, AJ_INT32, 7, 0) == 0);
	assert_true(ifold(AJ_OP_REM, AJ_UINT8, 7, 0) == 0);
	assert_true(ifold(AJ_OP_ADD, AJ_INT8, 100, 100) == -56);
	assert_true(ifold(AJ_OP_ADD, AJ_UINT8, 200, 100) == 44);
	assert_true(ifold(AJ_OP_MUL, AJ_INT64, INT64_MAX, 2) == -2);
	assert_true(ifold(AJ_OP_REM, AJ_INT64, 7, -2) == -1);
	assert_true(ifold(AJ_OP_REM, AJ_INT64, -7, 2) == 1);
	assert_true(ifold(AJ_OP_FLOORDIV, AJ_INT64, -7, 2) == -4);
	assert_true(ifold(AJ_OP_FMOD, AJ_INT64, -7, 2) == -1);
	assert_true(ifold(AJ_OP_LSHIFT, AJ_INT64, 1, 64) == 0);
	assert_true(ifold(AJ_OP_LSHIFT, AJ_INT64, 1, 63) == INT64_MIN);
	assert_true(ifold(AJ_OP_LSHIFT, AJ_INT8, 1, 7) == -128);
	assert_true(ifold(AJ_OP_RSHIFT, AJ_INT64, -8, 100) == -1);
	assert_true(ifold(AJ_OP_RSHIFT, AJ_INT64, -8, 1) == -4);
	assert_true(ifold(AJ_OP_RSHIFT, AJ_INT64, 8, -1) == 0);
	assert_true(ifold(AJ_OP_RSHIFT, AJ_UINT8, 255, 8) == 0);
	assert_true(ifold(AJ_OP_POW, AJ_INT8, 2, 7) == -128);
	assert_true(ifold(AJ_OP_POW, AJ_UINT64, 3, 40) ==
		    (int64_t)UINT64_C(12157665459056928801));
	assert_true(ifold(AJ_OP_POW, AJ_UINT64, 3, 41) ==
		    (int64_t)UINT64_C(18026252303461234787)); /* wrapped */
	/* negative exponents: the kernel's truncated 1 / b ** -e */
	assert_true(ifold(AJ_OP_POW, AJ_INT64, 2, -1) == 0);
	assert_true(ifold(AJ_OP_POW, AJ_INT64, -1, -3) == -1);
	assert_true(ifold(AJ_OP_POW, AJ_INT64, -1, -4) == 1);
	assert_true(ifold(AJ_OP_POW, AJ_INT16, 1, INT16_MIN) == 1);
	assert_true(ifold(AJ_OP_MIN, AJ_UINT64, -1, 1) == 1);
	assert_true(ifold(AJ_OP_MAX, AJ_INT64, -1, 1) == 1);
	aj_scalar_val x = {.i = INT8_MIN}, r;
	assert_true(aj_fold_op(AJ_OP_ABS, AJ_INT8, AJ_INT8, &x, &r));
	assert_true(r.i == INT8_MIN);
	assert_true(aj_fold_op(AJ_OP_RECIPROCAL, AJ_INT8, AJ_INT8,
			       &(aj_scalar_val){.i = 0}, &r) && r.i == 0);
	assert_true(aj_fold_op(AJ_OP_RECIPROCAL, AJ_INT64, AJ_INT64,
			       &(aj_scalar_val){.i = 0}, &r));
	assert_true(r.i == INT64_MIN);
	assert_true(aj_fold_op(AJ_OP_SIGNBIT, AJ_INT32, AJ_BOOL,
			       &(aj_scalar_val){.i = -5}, &r) && r.i == 1);
	assert_true(aj_fold_op(AJ_OP_ISFINITE, AJ_UINT64, AJ_BOOL,
			       &(aj_scalar_val){.i = -1}, &r) && r.i == 1);
	assert_true(ifold(AJ_OP_LT, AJ_UINT64, 1, -1) == 1);
	assert_true(ifold(AJ_OP_LT, AJ_INT64, 1, -1) == 0);
	assert_true(ifold(AJ_OP_ADD, AJ_BOOL, 1, 1) == 1); /* or */
	assert_true(ifold(AJ_OP_MUL, AJ_BOOL, 1, 0) == 0); /* and */
}

static void test_float_edges(void **state)
{
	assert_true(ffold(AJ_OP_FLOORDIV, AJ_FLOAT64, -7, 2) == -4);
	assert_true(ffold(AJ_OP_REM, AJ_FLOAT64, -7, 2) == 1);
	assert_true(ffold(AJ_OP_REM, AJ_FLOAT64, 7, -2) == -1);
	assert_true(ffold(AJ_OP_FMOD, AJ_FLOAT64, -7, 2) == -1);
	assert_true(same_bits(ffold(AJ_OP_REM, AJ_FLOAT64, -4, 2), 0.0));
	assert_true(same_bits(ffold(AJ_OP_REM, AJ_FLOAT64, 4, -2), -0.0));
	assert_true(same_bits(ffold(AJ_OP_FLOORDIV, AJ_FLOAT64, -0.5, 2), -1));
	assert_true(same_bits(ffold(AJ_OP_FLOORDIV, AJ_FLOAT64, 0, -2), -0.0));
	assert_true(isinf(ffold(AJ_OP_FLOORDIV, AJ_FLOAT64, 1, 0)));
	assert_true(isnan(ffold(AJ_OP_REM, AJ_FLOAT64, 1, 0)));
	/* minimum: NaN propagates, b wins a tie; fmin ignores NaN */
	assert_true(same_bits(ffold(AJ_OP_MIN, AJ_FLOAT64, 0.0, -0.0), -0.0));
	assert_true(same_bits(ffold(AJ_OP_MAX, AJ_FLOAT64, -0.0, 0.0), 0.0));
	assert_true(isnan(ffold(AJ_OP_MAX, AJ_FLOAT64, 1, NAN)));
	assert_true(ffold(AJ_OP_FMIN, AJ_FLOAT64, NAN, 1) == 1);
	/* != is unordered, the other comparisons ordered */
	aj_scalar_val nan = {.f = NAN};
	assert_true(fold2(AJ_OP_NE, AJ_FLOAT64, nan, nan).i == 1);
	assert_true(fold2(AJ_OP_EQ, AJ_FLOAT64, nan, nan).i == 0);
	assert_true(fold2(AJ_OP_GE, AJ_FLOAT64, nan, nan).i == 0);
	aj_scalar_val x = {.f = 2.5}, r;
	assert_true(aj_fold_op(AJ_OP_RINT, AJ_FLOAT64, AJ_FLOAT64, &x, &r));
	assert_true(r.f == 2);
	x.f = -0.5;
	assert_true(aj_fold_op(AJ_OP_RINT, AJ_FLOAT64, AJ_FLOAT64, &x, &r) &&
		    same_bits(r.f, -0.0));
	x.f = -0.0;
	assert_true(aj_fold_op(AJ_OP_SIGN, AJ_FLOAT64, AJ_FLOAT64, &x, &r) &&
		    same_bits(r.f, 0.0));
	/* float32 rounds each result to float */
	assert_true(ffold(AJ_OP_DIV, AJ_FLOAT32, 1, 3) == (double)(1.0f / 3));
	assert_true(ffold(AJ_OP_ADD, AJ_FLOAT32, 1, 0x1p-30) == 1);
	assert_true(ffold(AJ_OP_NEXTAFTER, AJ_FLOAT32, 1, 2) ==
		    (double)nextafterf(1, 2));
	/* cos(1 + 1): a chain of folds, within cos's ULP */
	aj_scalar_val one = {.f = 1};
	aj_scalar_val two = fold2(AJ_OP_ADD, AJ_FLOAT64, one, one);
	assert_true(aj_fold_op(AJ_OP_COS, AJ_FLOAT64, AJ_FLOAT64, &two, &r));
	assert_true(ref_ulp64(r.f, cos(2.0)) <= 1);
}

static void test_cast_edges(void **state)
{
	assert_true(fcast(AJ_UINT8, -1.0) == 255);
	assert_true(fcast(AJ_UINT32, -1.0) == UINT32_MAX);
	assert_true(fcast(AJ_UINT64, -1.0) == -1); /* 2^64 - 1 */
	assert_true(fcast(AJ_INT8, 300.5) == 44);
	assert_true(fcast(AJ_INT32, 3e9) == INT32_MIN);
	assert_true(fcast(AJ_INT64, NAN) == INT64_MIN);
	assert_true(fcast(AJ_INT64, -INFINITY) == INT64_MIN);
	assert_true(fcast(AJ_INT16, NAN) == 0); /* INT32_MIN, truncated */
	assert_true(fcast(AJ_UINT64, 0x1p63) == INT64_MIN); /* bit pattern */
	assert_true(fcast(AJ_UINT64, 1.8e19) ==
		    (int64_t)UINT64_C(18000000000000000000));
	assert_true(fcast(AJ_UINT64, 1.9e19) == 0); /* past 2^64 */
	assert_true(fcast(AJ_UINT64, NAN) == INT64_MIN);
	assert_true(fcast(AJ_BOOL, NAN) == 1);
	assert_true(fcast(AJ_BOOL, -0.0) == 0);
	aj_scalar_val u = {.i = -1}; /* uint64 max */
	assert_true(cast(AJ_UINT64, AJ_FLOAT32, u).f == 0x1p64);
	assert_true(cast(AJ_UINT64, AJ_INT8, u).i == -1);
	assert_true(cast(AJ_INT8, AJ_UINT16, u).i == 65535);
	aj_scalar_val odd = {.i = (1 << 24) + 1}; /* a tie, to even */
	assert_true(cast(AJ_INT64, AJ_FLOAT32, odd).f == 0x1p24);
	/* one rounding: via double, 2^60 + 2^36 + 1 would tie to 2^60 */
	int64_t i = (INT64_C(1) << 60) + (INT64_C(1) << 36) + 1;
	assert_true(cast(AJ_INT64, AJ_FLOAT32, (aj_scalar_val){.i = i}).f ==
			    0x1p60 + 0x1p37 ||
		    !ref_exact_fp());
	aj_scalar_val huge = {.f = 1e300};
	assert_true(cast(AJ_FLOAT64, AJ_FLOAT32, huge).f == INFINITY);
}

/* Declined: the kernel computes these (or nothing does). */
static void test_declines(void **state)
{
	aj_scalar_val x[3] = {{.f = 1}, {.f = 2}, {.f = 3}}, r;
	assert_false(aj_fold_op(AJ_OP_ADD, AJ_COMPLEX128, AJ_COMPLEX128, x,
				&r));
	assert_false(aj_fold_op(AJ_OP_SUM, AJ_FLOAT64, AJ_FLOAT64, x, &r));
	assert_false(aj_fold_op(AJ_OP_ARRAY, AJ_FLOAT64, AJ_FLOAT64, x, &r));
	assert_false(aj_fold_op(AJ_OP_CAST, AJ_FLOAT64, AJ_FLOAT32, x, &r));
	assert_false(aj_fold_op(AJ_OP_SIN, AJ_INT64, AJ_INT64, x, &r));
	assert_false(aj_fold_op(AJ_OP_DIV, AJ_INT64, AJ_INT64, x, &r));
	assert_false(aj_fold_op(AJ_OP_BITAND, AJ_FLOAT64, AJ_FLOAT64, x, &r));
	assert_false(aj_fold_op(AJ_OP_ADD, AJ_FLOAT64, AJ_FLOAT32, x, &r));
	assert_false(aj_fold_op(AJ_OP_EQ, AJ_FLOAT64, AJ_INT8, x, &r));
	assert_false(aj_fold_op(AJ_OP_NEG, AJ_BOOL, AJ_BOOL, x, &r));
	assert_false(aj_fold_op(AJ_NOP, AJ_FLOAT64, AJ_FLOAT64, x, &r));
	assert_false(aj_fold_cast(AJ_FLOAT64, AJ_COMPLEX64, x[0], &r));
	assert_false(aj_fold_cast(AJ_NDTYPE, AJ_FLOAT64, x[0], &r));
}

/* The builder folds through the folder: cos(1 + 1) is one scalar node,
 * float32(2.5) a strong float32 scalar, 2 ** -1 an error (NumPy's), and
 * Python ints that int64 would wrap stay in the kernel. */
static void test_builder_folds(void **state)
{
	ref_env *E = *state;
	aj_prog *p = E->p;
	aj_expr e;
	char *text;
	assert_int_equal(aj_parse(p, "cos(1 + 1) + float32(2.5)", 0, NULL, NULL, &e),
			 AJ_OK);
	assert_int_equal(aj_dump(p, e, AJ_STAGE_DAG, &text), AJ_OK);
	assert_null(strstr(text, "cos"));
	assert_null(strstr(text, "astype"));
	assert_non_null(strstr(text, "scalar 2.0838531634528574 : float64"));
	aj_string_free(text);
	assert_int_equal(aj_parse(p, "2 ** -1", 0, NULL, NULL, &e), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "negative integer powers"));
	/* folded at once, not by a trillion multiplications */
	assert_int_equal(aj_parse(p, "(-1) ** 1000000000001", 0, NULL, NULL, &e), AJ_OK);
	assert_int_equal(aj_dump(p, e, AJ_STAGE_DAG, &text), AJ_OK);
	assert_non_null(strstr(text, "scalar -1 : int64 (weak)"));
	aj_string_free(text);
	assert_int_equal(aj_parse(p, "4611686018427387904 * 4", 0, NULL, NULL, &e),
			 AJ_OK);
	assert_int_equal(aj_dump(p, e, AJ_STAGE_DAG, &text), AJ_OK);
	assert_non_null(strstr(text, "multiply"));
	aj_string_free(text);
	aj_sync(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree_is_strict),
		cmocka_unit_test(test_int_edges),
		cmocka_unit_test(test_float_edges),
		cmocka_unit_test(test_cast_edges),
		cmocka_unit_test(test_declines),
		cmocka_unit_test(test_builder_folds),
		cmocka_unit_test(test_against_kernels),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
