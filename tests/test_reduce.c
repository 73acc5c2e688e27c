/*
 * Fused reductions: results against C loops, accuracy (pairwise-grade
 * float sums), NumPy's dtypes and errors, the kernels a reduction becomes,
 * and that no temporary of input size is allocated.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef ref_env env;

static double eval0(env *E, const char *text, aj_array *a)
{
	aj_array *o = ref_eval1(E, text, a);
	double r = aj_array_dtype(o) == AJ_FLOAT32 ? *(float *)aj_array_data(o)
						   : *(double *)aj_array_data(o);
	aj_array_free(o);
	return r;
}

/* 20 million float32 ones sum to exactly 2e7 (a single float32
 * accumulator stalls at 2^24), on every ISA. */
static void test_sum_accuracy(void **state)
{
	env *E = *state;
	int64_t n = 20000000;
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT32, 1, &n, &a));
	float *x = aj_array_data(a);
	for (int64_t i = 0; i < n; i++)
		x[i] = 1.0f;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(E->ctx, isas[i]) != AJ_OK)
			continue;
		assert_true(eval0(E, "sum(a)", a) == 2e7);
		assert_true(eval0(E, "mean(a)", a) == 1.0);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	/* random values: as close to the exact sum as pairwise summation */
	uint64_t st = 5;
	double exact = 0;
	for (int64_t i = 0; i < n; i++) {
		x[i] = (float)ref_uniform(&st, 0, 1);
		exact += x[i];
	}
	double got = eval0(E, "sum(a)", a);
	print_message("sum of 2e7 uniform float32: %.3f, exact %.3f\n", got, exact);
	assert_true(fabs(got - exact) <= 8); /* float32 ulp at 1e7 is 1 */
	aj_array_free(a);
}

/* sum, max and prod along each axis of a 3-D array, against C loops. */
static void test_axes_against_loops(void **state)
{
	env *E = *state;
	enum { A = 3, B = 5, C = 37 };
	int64_t shape[3] = {A, B, C};
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT32, 3, shape, &a));
	int32_t *x = aj_array_data(a);
	uint64_t st = 9;
	for (int i = 0; i < A * B * C; i++)
		x[i] = (int32_t)ref_uniform(&st, -50, 50);
	static const char *exprs[3] = {"sum(a, axis=0)", "max(a, axis=1)",
				       "prod(a % 3 + 1, axis=-1)"};
	for (int ax = 0; ax < 3; ax++) {
		aj_array *o = ref_eval1(E, exprs[ax], a);
		assert_int_equal(aj_array_ndim(o), 2);
		assert_int_equal(aj_array_dtype(o), ax == 1 ? AJ_INT32 : AJ_INT64);
		const int64_t *os = aj_array_shape(o);
		for (int64_t i = 0; i < os[0]; i++) {
			for (int64_t j = 0; j < os[1]; j++) {
				int64_t want = ax == 0 ? 0 : ax == 1 ? INT32_MIN : 1;
				for (int k = 0; k < shape[ax]; k++) {
					int i0 = ax == 0 ? k : (int)i;
					int i1 = ax == 1 ? k : ax == 0 ? (int)i : (int)j;
					int i2 = ax == 2 ? k : (int)j;
					int64_t v = x[(i0 * B + i1) * C + i2];
					if (ax == 0)
						want += v;
					else if (ax == 1)
						want = v > want ? v : want;
					else /* Python's %: the divisor's sign */
						want *= (v % 3 + 3) % 3 + 1;
				}
				int64_t got = ax == 1 ? ((int32_t *)aj_array_data(o))[i * os[1] + j]
						      : ((int64_t *)aj_array_data(o))[i * os[1] + j];
				assert_int_equal(got, want);
			}
		}
		aj_array_free(o);
	}
	aj_array_free(a);
}

/* NumPy's result dtypes and shapes, keepdims, and its errors. */
static void test_dtypes_shapes_errors(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t shape[3] = {2, 0, 3};
	aj_array *u8, *b, *e, *i16;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_UINT8, 3, shape + 0, &e));
	shape[1] = 4;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_UINT8, 3, shape, &u8));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 3, shape, &b));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT16, 3, shape, &i16));
	assert_int_equal(aj_expr_dtype(p, ref_parse1(p, "sum(a)", u8)), AJ_UINT64);
	assert_int_equal(aj_expr_dtype(p, ref_parse1(p, "sum(a)", b)), AJ_INT64);
	assert_int_equal(aj_expr_dtype(p, ref_parse1(p, "prod(a)", i16)), AJ_INT64);
	assert_int_equal(aj_expr_dtype(p, ref_parse1(p, "mean(a)", i16)), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, ref_parse1(p, "max(a)", i16)), AJ_INT16);
	assert_int_equal(aj_expr_dtype(p, ref_parse1(p, "any(a, 0)", i16)), AJ_BOOL);
	int64_t s[3];
	assert_int_equal(aj_expr_shape(p, ref_parse1(p, "sum(a, axis=(0, 2), keepdims=True)", u8), s), 3);
	assert_true(s[0] == 1 && s[1] == 4 && s[2] == 1);
	assert_int_equal(aj_expr_shape(p, ref_parse1(p, "sum(a, axis=-2)", u8), s), 2);
	assert_true(s[0] == 2 && s[1] == 3);
	REF_OK_PROG(p, aj_sync(p));
	/* min of nothing has no identity; sum of nothing is 0 */
	aj_expr x = aj_leaf(p, e);
	assert_int_equal(aj_reduce(p, AJ_OP_RMIN, x, 0, NULL, false).id, 0);
	assert_int_equal(aj_sync(p), AJ_ERR_SHAPE);
	assert_true(eval0(E, "float64(sum(a))", e) == 0);
	/* bad axes: repeated, out of range; not a reduction */
	int bad[2] = {0, 0};
	assert_int_equal(aj_reduce(p, AJ_OP_SUM, aj_leaf(p, u8), 2, bad, false).id, 0);
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	bad[0] = 3;
	assert_int_equal(aj_reduce(p, AJ_OP_SUM, aj_leaf(p, u8), 1, bad, false).id, 0);
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	assert_int_equal(aj_reduce(p, AJ_OP_ADD, aj_leaf(p, u8), 0, NULL, false).id, 0);
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	const char *names[] = {"a"};
	aj_expr vals[] = {aj_leaf(p, u8)}, out;
	assert_int_equal(aj_parse(p, "sum(a, axis=)", 1, names, vals, &out), AJ_ERR_PARSE);
	assert_int_equal(aj_parse(p, "sum(a, keepdims=3)", 1, names, vals, &out), AJ_ERR_PARSE);
	assert_int_equal(aj_parse(p, "sum(a, 1, 2)", 1, names, vals, &out), AJ_ERR_PARSE);
	REF_OK_PROG(p, aj_sync(p));
	aj_array *arrays[] = {u8, b, e, i16};
	for (int i = 0; i < 4; i++)
		aj_array_free(arrays[i]);
}

/* sqrt(sum(a**2)) reads a once: a reduction kernel with the square fused
 * in, and an 8-byte scratch result; no temporary of input size. axis=0 of
 * a C-order matrix accumulates contiguous rows (vectorised), axis=1 in
 * registers. */
static void test_fused_no_temporaries(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 1000000;
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &a));
	double *x = aj_array_data(a), want = 0;
	for (int64_t i = 0; i < n; i++) {
		x[i] = 1e-3 * (double)(i % 1000);
		want += x[i] * x[i];
	}
	aj_stats s0, s1;
	aj_ctx_stats(E->ctx, &s0);
	double got = eval0(E, "sqrt(sum(a**2))", a);
	aj_ctx_stats(E->ctx, &s1);
	assert_true(fabs(got - sqrt(want)) <= 1e-12 * sqrt(want));
	/* the result and at most 64 chunk partials: nothing of input size */
	assert_true(s1.temp_bytes - s0.temp_bytes <= 8 * 65);
	/* fill, fill partials, sum in chunks, combine, sqrt */
	assert_int_equal(s1.kernels_run - s0.kernels_run, 5);
	char *t;
	REF_OK_PROG(p, aj_dump(p, ref_parse1(p, "sum(a**2)", a), AJ_STAGE_FUSED, &t));
	assert_non_null(strstr(t, "reducing (sum)"));
	assert_non_null(strstr(t, "square")); /* a**2 strength-reduced */
	assert_null(strstr(t, "power"));
	aj_string_free(t);
	int64_t m[2] = {64, 1000};
	aj_array *b;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 2, m, &b));
	REF_OK_PROG(p, aj_dump(p, ref_parse1(p, "sum(a, axis=0)", b), AJ_STAGE_FUSED, &t));
	assert_non_null(strstr(t, "out0 float64 contig")); /* rows, vectorised */
	aj_string_free(t);
	REF_OK_PROG(p, aj_dump(p, ref_parse1(p, "sum(a, axis=1)", b), AJ_STAGE_FUSED, &t));
	assert_non_null(strstr(t, "out0 float64 bcast")); /* registers */
	aj_string_free(t);
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(a);
	aj_array_free(b);
}

/*
 * A column read across cache lines counts a line's worth of work per
 * element (fuse.c, rule 4): sum(a[:, 0]) over 4096 rows of 8 doubles
 * (64-byte stride) runs in fixed chunks, 4095 rows in one; either gives
 * the same bits on 1 and 2 threads, within rounding of the plain sum.
 */
static void test_strided_column_chunks(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	for (int64_t rows = 4095; rows <= 4096; rows++) {
		int64_t m[2] = {rows, 8};
		aj_array *a;
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 2, m, &a));
		double *x = aj_array_data(a), want = 0;
		for (int64_t i = 0; i < rows * 8; i++)
			x[i] = 1.0 / (double)(1 + i % 97);
		for (int64_t r = 0; r < rows; r++)
			want += x[r * 8];
		char *t;
		REF_OK_PROG(p, aj_dump(p, ref_parse1(p, "sum(a[:, 0])", a), AJ_STAGE_FUSED, &t));
		bool chunked = strstr(t, "in chunk order") != NULL;
		aj_string_free(t);
		REF_OK_PROG(p, aj_sync(p));
		assert_true(chunked == (rows == 4096));
		double got[2];
		for (int th = 1; th <= 2; th++) {
			REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, th));
			got[th - 1] = eval0(E, "sum(a[:, 0])", a);
		}
		assert_memory_equal(&got[0], &got[1], sizeof got[0]);
		assert_true(fabs(got[0] - want) <= 1e-12 * want);
		aj_array_free(a);
	}
}

/*
 * A reduction over the rows of a C-order matrix reads 4 rows at a time
 * (emit.c, emit_rows): sum, max, min and mean over axis 0 for row counts
 * around multiples of 4 and odd widths, in float64, float32 and int32,
 * against plain loops (values small integers, so every order is exact),
 * on every ISA; and the kernel's IR has the rows' path.
 */
static void test_rows_at_once(void **state)
{
	env *E = *state;
	static const int64_t shapes[][2] = {{1, 5}, {3, 17}, {4, 8}, {5, 1}, {7, 13},
					    {8, 33}, {9, 64}, {33, 7}};
	static const char *const texts[] = {"sum(a, axis=0)", "max(a, axis=0)",
					    "min(a, axis=0)", "mean(a, axis=0)"};
	static const aj_dtype types[] = {AJ_FLOAT64, AJ_FLOAT32, AJ_INT32};
	aj_isa isas[] = {AJ_ISA_AVX2, AJ_ISA_AVX512}, keep = aj_ctx_isa(E->ctx);
	for (size_t ii = 0; ii < 2; ii++) {
		if (aj_ctx_set_isa(E->ctx, isas[ii]) != AJ_OK)
			continue;
		for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
			for (size_t ti = 0; ti < 3; ti++) {
				int64_t r = shapes[si][0], c = shapes[si][1];
				aj_array *a;
				REF_OK_CTX(E->ctx, aj_array_new(E->ctx, types[ti], 2, shapes[si], &a));
				for (int64_t k = 0; k < r * c; k++) {
					int v = (int)((k * 7919) % 23) - 11;
					if (types[ti] == AJ_FLOAT64)
						((double *)aj_array_data(a))[k] = v;
					else if (types[ti] == AJ_FLOAT32)
						((float *)aj_array_data(a))[k] = (float)v;
					else
						((int32_t *)aj_array_data(a))[k] = v;
				}
				for (size_t xi = 0; xi < 4; xi++) {
					aj_array *o = ref_eval1(E, texts[xi], a);
					for (int64_t j = 0; j < c; j++) {
						double want = xi == 1 ? -1e9 : xi == 2 ? 1e9 : 0;
						for (int64_t i = 0; i < r; i++) {
							int v = (int)(((i * c + j) * 7919) % 23) - 11;
							want = xi == 1 ? fmax(want, v)
							       : xi == 2 ? fmin(want, v) : want + v;
						}
						if (xi == 3)
							want /= (double)r;
						aj_dtype ot = aj_array_dtype(o);
						const char *p = (const char *)aj_array_data(o) +
								j * aj_array_strides(o)[0];
						double got = ot == AJ_FLOAT64 ? *(const double *)p
							     : ot == AJ_FLOAT32 ? *(const float *)p
							     : ot == AJ_INT64 ? (double)*(const int64_t *)p
									      : (double)*(const int32_t *)p;
						double tol = ot == AJ_FLOAT32 ? 1e-6 * fabs(want) : 1e-12 * fabs(want);
						if (fabs(got - want) > tol)
							fail_msg("%s %s %lldx%lld col %lld: %g, want %g",
								 texts[xi], aj_dtype_name(types[ti]),
								 (long long)r, (long long)c, (long long)j,
								 got, want);
					}
					aj_array_free(o);
				}
				if (si == 7 && ti == 0) {
					char *t;
					REF_OK_PROG(E->p, aj_dump(E->p, ref_parse1(E->p, texts[0], a),
								  AJ_STAGE_IR, &t));
					bool rows = strstr(t, "byrows:") != NULL;
					aj_string_free(t);
					REF_OK_PROG(E->p, aj_sync(E->p));
					assert_true(rows);
				}
				aj_array_free(a);
			}
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, keep));
}

/* A reduction's scratch result feeds an elementwise expression and another
 * reduction (max(a - mean(a, axis=1, keepdims=True)) ...). */
static void test_nested(void **state)
{
	env *E = *state;
	int64_t shape[2] = {4, 9};
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 2, shape, &a));
	double *x = aj_array_data(a);
	for (int i = 0; i < 36; i++)
		x[i] = (i * 7) % 11;
	aj_array *o = ref_eval1(E, "max(a - mean(a, axis=1, keepdims=True), axis=1)", a);
	for (int i = 0; i < 4; i++) {
		double mean = 0, mx = -INFINITY;
		for (int j = 0; j < 9; j++)
			mean += x[i * 9 + j];
		mean /= 9;
		for (int j = 0; j < 9; j++)
			mx = fmax(mx, x[i * 9 + j] - mean);
		assert_true(fabs(((double *)aj_array_data(o))[i] - mx) < 1e-12);
	}
	aj_array_free(o);
	aj_array_free(a);
}

static int64_t eval_i64(env *E, const char *text, aj_array *a, int64_t at)
{
	aj_array *o = ref_eval1(E, text, a);
	assert_int_equal(aj_array_dtype(o), AJ_INT64);
	int64_t r = ((int64_t *)aj_array_data(o))[at];
	aj_array_free(o);
	return r;
}

/* argmin/argmax: the first extreme wins on every ISA and in every loop
 * order (flipped, transposed, vector lanes, tails); NaN is extreme; one
 * axis or none; NumPy's errors for empty input and several axes. */
static void test_argmin_argmax(void **state)
{
	env *E = *state;
	int64_t shape[2] = {7, 301};
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 2, shape, &a));
	double *x = aj_array_data(a);
	for (int64_t i = 0; i < 7 * 301; i++)
		x[i] = (double)(i % 5); /* many ties at 4 and 0 */
	aj_array *flip, *both, *t;
	aj_slice rev = {AJ_DEFAULT, AJ_DEFAULT, -1}, s1[2] = {AJ_ALL, rev}, s2[2] = {rev, rev};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, s1, &flip));
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, s2, &both));
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, NULL, &t));
	aj_isa host = aj_ctx_isa(E->ctx);
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	for (int k = 0; k < 3; k++) {
		if (aj_ctx_set_isa(E->ctx, isas[k]) != AJ_OK)
			continue;
		assert_int_equal(eval_i64(E, "argmax(a)", a, 0), 4);
		assert_int_equal(eval_i64(E, "argmax(a)", flip, 0), 1);
		assert_int_equal(eval_i64(E, "argmax(a, axis=0)", a, 1), 3);
		assert_int_equal(eval_i64(E, "argmax(a, axis=1)", t, 1), 3);
		assert_int_equal(eval_i64(E, "argmin(a, axis=1)", a, 2), 3);
		assert_int_equal(eval_i64(E, "argmax(a)", t, 0), 4);
		x[1000] = NAN;
		x[1500] = NAN;
		assert_int_equal(eval_i64(E, "argmin(a)", a, 0), 1000);
		assert_int_equal(eval_i64(E, "argmax(a)", both, 0), 7 * 301 - 1 - 1500);
		assert_int_equal(eval_i64(E, "argmax(-a, axis=1)", a, 3), 1000 - 3 * 301);
		x[1000] = x[1500] = 1;
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	aj_prog *p = E->p;
	const char *names[] = {"a"};
	aj_expr vals[] = {aj_leaf(p, a)}, e;
	assert_int_equal(aj_parse(p, "argmax(a, axis=(0, 1))", 1, names, vals, &e), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "one axis"));
	aj_array *empty;
	int64_t zero[2] = {3, 0};
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT32, 2, zero, &empty));
	vals[0] = aj_leaf(p, empty);
	assert_int_equal(aj_parse(p, "argmin(a, axis=1)", 1, names, vals, &e), AJ_ERR_SHAPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "empty sequence"));
	aj_sync(p);
	aj_array_free(empty);
	aj_array_free(flip);
	aj_array_free(both);
	aj_array_free(t);
	aj_array_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_accuracy),
		cmocka_unit_test(test_axes_against_loops),
		cmocka_unit_test(test_dtypes_shapes_errors),
		cmocka_unit_test(test_fused_no_temporaries),
		cmocka_unit_test(test_strided_column_chunks),
		cmocka_unit_test(test_rows_at_once),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_argmin_argmax),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
