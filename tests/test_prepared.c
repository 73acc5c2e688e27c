/*
 * Prepared kernels (lib/prepared.c, arrjit.h aj_prepare): a text compiled
 * once, run with new arrays and scalars. Each test checks every result
 * against a reference computed here, and through aj_stats.replays which
 * path ran: a fast run counts one replay, a slow one none.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t replays(const ref_env *E)
{
	aj_stats s;
	aj_ctx_stats(E->ctx, &s);
	return s.replays;
}

static aj_prepared *prepare(ref_env *E, const char *text, int n, const aj_param *q)
{
	aj_prepared *k = NULL;
	REF_OK_CTX(E->ctx, aj_prepare(E->ctx, text, n, q, &k));
	return k;
}

static void run(aj_prepared *k, const aj_arg *args)
{
	aj_status s = aj_prepared_run(k, args);
	if (s != AJ_OK)
		fail_msg("aj_prepared_run: %s", aj_prepared_errmsg(k));
}

/* The seed workload: a += b*i for 1000 i, every run on the fast path,
 * bit for bit what the loop computes. */
static void test_seed(void **state)
{
	ref_env *E = *state;
	int64_t shape[2] = {3, 3};
	aj_array *a = ref_f64_array(E, 2, shape), *b = ref_f64_array(E, 2, shape);
	double want[9];
	for (int j = 0; j < 9; j++) {
		ref_f64(a)[j] = want[j] = 0.5 * j;
		ref_f64(b)[j] = j - 4;
	}
	aj_param q[3] = {{"a", a, 0}, {"b", b, 0}, {"i", NULL, AJ_FLOAT64}};
	aj_prepared *k = prepare(E, "a += b*i", 3, q);
	assert_memory_equal(ref_f64(a), want, sizeof want); /* nothing ran */
	uint64_t r0 = replays(E);
	for (int i = 0; i < 1000; i++) {
		aj_arg args[3] = {{.array = a}, {.array = b}, {.f = i}};
		run(k, args);
		for (int j = 0; j < 9; j++)
			want[j] += ref_f64(b)[j] * i;
		assert_memory_equal(ref_f64(a), want, sizeof want);
	}
	assert_int_equal(replays(E) - r0, 1000);
	aj_prepared_free(k);
	aj_array_free(a);
	aj_array_free(b);
}

/* Runs alternate between two sets of arrays and the templates are a
 * third: results land in the arrays given, the others stay as they were
 * (fails if the fast path keeps any pointer of an earlier set). */
static void test_new_arrays(void **state)
{
	ref_env *E = *state;
	int64_t shape[2] = {4, 5};
	aj_array *ta = ref_f64_array(E, 2, shape), *tb = ref_f64_array(E, 2, shape);
	aj_array *a[2], *b[2];
	double want[2][20];
	for (int s = 0; s < 2; s++) {
		a[s] = ref_f64_array(E, 2, shape);
		b[s] = ref_f64_array(E, 2, shape);
		for (int j = 0; j < 20; j++) {
			ref_f64(a[s])[j] = want[s][j] = j + 100 * s;
			ref_f64(b[s])[j] = 0.25 * j - s;
		}
	}
	memset(ref_f64(ta), 0, 20 * sizeof(double));
	memset(ref_f64(tb), 0, 20 * sizeof(double));
	aj_param q[3] = {{"a", ta, 0}, {"b", tb, 0}, {"i", NULL, AJ_INT64}};
	aj_prepared *k = prepare(E, "t = b * i\na[1:, :] = a[1:, :] + t[:-1, :]", 3, q);
	uint64_t r0 = replays(E);
	for (int i = 1; i <= 6; i++) {
		int s = i % 2;
		aj_arg args[3] = {{.array = a[s]}, {.array = b[s]}, {.i = i}};
		run(k, args);
		for (int j = 5; j < 20; j++)
			want[s][j] += ref_f64(b[s])[j - 5] * i;
		assert_memory_equal(ref_f64(a[0]), want[0], sizeof want[0]);
		assert_memory_equal(ref_f64(a[1]), want[1], sizeof want[1]);
	}
	assert_int_equal(replays(E) - r0, 6);
	for (int j = 0; j < 20; j++)
		assert_true(ref_f64(ta)[j] == 0 && ref_f64(tb)[j] == 0);
	aj_prepared_free(k);
	for (int s = 0; s < 2; s++) {
		aj_array_free(a[s]);
		aj_array_free(b[s]);
	}
	aj_array_free(ta);
	aj_array_free(tb);
}

/* c = a / sum(a*b): the sum's scratch is the plan's own, read by the
 * second kernel; then a reduction large enough to run in chunks. */
static void check_reduction(ref_env *E, int64_t n, int reps)
{
	int64_t shape[1] = {n};
	aj_array *t = ref_f64_array(E, 1, shape), *tb = ref_f64_array(E, 1, shape),
		 *tc = ref_f64_array(E, 1, shape);
	aj_param q[3] = {{"c", tc, 0}, {"a", t, 0}, {"b", tb, 0}};
	aj_prepared *k = prepare(E, "c = a / sum(a*b)", 3, q);
	uint64_t r0 = replays(E), seed = 7;
	for (int r = 0; r < reps; r++) {
		aj_array *a = ref_f64_array(E, 1, shape), *b = ref_f64_array(E, 1, shape),
			 *c = ref_f64_array(E, 1, shape);
		long double sum = 0;
		for (int64_t j = 0; j < n; j++) {
			ref_f64(a)[j] = ref_uniform(&seed, 0.5, 1.5);
			ref_f64(b)[j] = ref_uniform(&seed, 0.5, 1.5);
			sum += (long double)ref_f64(a)[j] * ref_f64(b)[j];
		}
		aj_arg args[3] = {{.array = c}, {.array = a}, {.array = b}};
		run(k, args);
		for (int64_t j = 0; j < n; j++)
			assert_true(fabs(ref_f64(c)[j] - ref_f64(a)[j] / (double)sum) <=
				    1e-12 * fabs(ref_f64(a)[j] / (double)sum));
		aj_array_free(a);
		aj_array_free(b);
		aj_array_free(c);
	}
	assert_int_equal(replays(E) - r0, reps);
	aj_prepared_free(k);
	aj_array_free(t);
	aj_array_free(tb);
	aj_array_free(tc);
}

static void test_reduction(void **state)
{
	check_reduction(*state, 35, 3);
}

static void test_chunked_reduction(void **state)
{
	check_reduction(*state, (int64_t)1 << 21, 2);
}

/* A parameter where a constant would fold or reduce: a ** i (square,
 * sqrt, reciprocal for 2, 0.5, -1 as constants), a * (i + 1). */
static void test_not_folded(void **state)
{
	ref_env *E = *state;
	int64_t shape[1] = {64};
	aj_array *a = ref_f64_array(E, 1, shape), *o = ref_f64_array(E, 1, shape),
		 *o2 = ref_f64_array(E, 1, shape);
	uint64_t seed = 3;
	for (int j = 0; j < 64; j++)
		ref_f64(a)[j] = ref_uniform(&seed, 0.1, 4);
	aj_param q[4] = {{"a", a, 0}, {"o", o, 0}, {"o2", o2, 0}, {"i", NULL, AJ_FLOAT64}};
	aj_prepared *k = prepare(E, "o = a ** i\no2 = a * (i + 1)", 4, q);
	const double is[] = {2, 0.5, -1, 0, 1, 3, -2.5};
	uint64_t r0 = replays(E);
	for (size_t x = 0; x < sizeof is / sizeof is[0]; x++) {
		aj_arg args[4] = {{.array = a}, {.array = o}, {.array = o2}, {.f = is[x]}};
		run(k, args);
		for (int j = 0; j < 64; j++) {
			assert_true(ref_ulp64(ref_f64(o)[j], pow(ref_f64(a)[j], is[x])) <= 1);
			assert_true(ref_f64(o2)[j] == ref_f64(a)[j] * (is[x] + 1));
		}
	}
	assert_int_equal(replays(E) - r0, sizeof is / sizeof is[0]);
	aj_prepared_free(k);
	aj_array_free(a);
	aj_array_free(o);
	aj_array_free(o2);
}

/* An int64 parameter meets int64 arrays: a = a + n*b. */
static void test_int_param(void **state)
{
	ref_env *E = *state;
	int64_t shape[1] = {10};
	aj_array *a, *b;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, shape, &a));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, shape, &b));
	int64_t *pa = aj_array_data(a), *pb = aj_array_data(b), want[10];
	for (int j = 0; j < 10; j++) {
		pa[j] = want[j] = j;
		pb[j] = 3 - j;
	}
	aj_param q[3] = {{"a", a, 0}, {"b", b, 0}, {"n", NULL, AJ_INT64}};
	aj_prepared *k = prepare(E, "a = a + n*b", 3, q);
	for (int64_t n = -3; n < 4; n++) {
		aj_arg args[3] = {{.array = a}, {.array = b}, {.i = n * 1000000007}};
		run(k, args);
		for (int j = 0; j < 10; j++)
			want[j] += n * 1000000007 * pb[j];
		assert_memory_equal(pa, want, sizeof want);
	}
	aj_prepared_free(k);
	aj_array_free(a);
	aj_array_free(b);
}

/* Another layout (a transposed view), and args that overlap (a passed as
 * b too), take the slow path: right results, no replay counted. */
static void test_slow_path(void **state)
{
	ref_env *E = *state;
	int64_t shape[2] = {3, 3};
	aj_array *a = ref_f64_array(E, 2, shape), *b = ref_f64_array(E, 2, shape), *bt;
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, b, NULL, &bt));
	double want[9];
	for (int j = 0; j < 9; j++) {
		ref_f64(a)[j] = want[j] = j;
		ref_f64(b)[j] = 10 * j;
	}
	aj_param q[3] = {{"a", a, 0}, {"b", b, 0}, {"i", NULL, AJ_FLOAT64}};
	aj_prepared *k = prepare(E, "a += b*i", 3, q);
	uint64_t r0 = replays(E);
	run(k, (aj_arg[]){{.array = a}, {.array = bt}, {.f = 2}});
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			want[r * 3 + c] += ref_f64(b)[c * 3 + r] * 2;
	assert_memory_equal(ref_f64(a), want, sizeof want);
	run(k, (aj_arg[]){{.array = a}, {.array = a}, {.f = 3}});
	for (int j = 0; j < 9; j++)
		want[j] += want[j] * 3;
	assert_memory_equal(ref_f64(a), want, sizeof want);
	assert_int_equal(replays(E) - r0, 0);
	run(k, (aj_arg[]){{.array = a}, {.array = b}, {.f = 1}}); /* fast again */
	for (int j = 0; j < 9; j++)
		want[j] += ref_f64(b)[j];
	assert_memory_equal(ref_f64(a), want, sizeof want);
	assert_int_equal(replays(E) - r0, 1);
	aj_prepared_free(k);
	aj_array_free(bt);
	aj_array_free(a);
	aj_array_free(b);
}

/* Templates that overlap each other: no fast plan, every run is right. */
static void test_overlapping_templates(void **state)
{
	ref_env *E = *state;
	int64_t shape[1] = {8}, s2[1] = {4};
	aj_array *x = ref_f64_array(E, 1, shape), *lo, *hi;
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, x, (aj_slice[]){{0, 4, 1}}, &lo));
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, x, (aj_slice[]){{2, 6, 1}}, &hi));
	aj_param q[2] = {{"a", lo, 0}, {"b", hi, 0}};
	aj_prepared *k = prepare(E, "a += b", 2, q);
	aj_array *a = ref_f64_array(E, 1, s2), *b = ref_f64_array(E, 1, s2);
	for (int j = 0; j < 4; j++) {
		ref_f64(a)[j] = j;
		ref_f64(b)[j] = 10;
	}
	uint64_t r0 = replays(E);
	run(k, (aj_arg[]){{.array = a}, {.array = b}});
	for (int j = 0; j < 4; j++)
		assert_true(ref_f64(a)[j] == j + 10);
	assert_int_equal(replays(E) - r0, 0);
	aj_prepared_free(k);
	aj_array_free(lo);
	aj_array_free(hi);
	aj_array_free(x);
	aj_array_free(a);
	aj_array_free(b);
}

static void expect_prepare_error(ref_env *E, const char *text, int n,
				 const aj_param *q, aj_status want, const char *msg)
{
	aj_prepared *k = (aj_prepared *)1;
	aj_status s = aj_prepare(E->ctx, text, n, q, &k);
	if (s != want)
		fail_msg("'%s': status %d, not %d", text, (int)s, (int)want);
	assert_null(k);
	if (!strstr(aj_ctx_errmsg(E->ctx), msg))
		fail_msg("message '%s' lacks '%s'", aj_ctx_errmsg(E->ctx), msg);
}

/* An integer parameter as a position: out = a[j] gathers a[j] on the fast
 * path for each j, negative ones from the end, and a j out of range fails
 * the run before anything is written (the take's range check runs with
 * the plan). */
static void test_position_param(void **state)
{
	ref_env *E = *state;
	int64_t n = 10, one = 1;
	aj_array *a = ref_f64_array(E, 1, &n), *out = ref_f64_array(E, 1, &one);
	for (int j = 0; j < n; j++)
		ref_f64(a)[j] = 100 + j;
	aj_param q[3] = {{"a", a, 0}, {"out", out, 0}, {"j", NULL, AJ_INT64}};
	aj_prepared *k = prepare(E, "out[:] = a[j] * 2", 3, q);
	uint64_t r0 = replays(E);
	for (int64_t j = -10; j < 10; j++) {
		aj_arg args[3] = {{.array = a}, {.array = out}, {.i = j}};
		run(k, args);
		assert_true(ref_f64(out)[0] == 2 * (100 + (j < 0 ? j + n : j)));
	}
	assert_int_equal(replays(E) - r0, 20);
	ref_f64(out)[0] = -1;
	for (int64_t j = -11; j <= 10; j += 21) {
		aj_arg args[3] = {{.array = a}, {.array = out}, {.i = j}};
		assert_int_not_equal(aj_prepared_run(k, args), AJ_OK);
		assert_non_null(strstr(aj_prepared_errmsg(k), "out of bounds"));
		assert_true(ref_f64(out)[0] == -1);
	}
	aj_prepared_free(k);
	aj_array_free(a);
	aj_array_free(out);
}

/* Positions computed by the text's first statement and checked by its
 * second: the check waits for the first, whose write is put back when
 * it fails, on the fast path too, with new arrays each run. */
static void test_waiting_check(void **state)
{
	ref_env *E = *state;
	int64_t n = 10, four = 4;
	aj_array *a = ref_f64_array(E, 1, &n), *out = ref_f64_array(E, 1, &four);
	aj_array *pos[2];
	for (int j = 0; j < n; j++)
		ref_f64(a)[j] = 100 + j;
	for (int v = 0; v < 2; v++)
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, &four, &pos[v]));
	aj_param q[3] = {{"a", a, 0}, {"out", out, 0}, {"pos", pos[0], 0}};
	aj_prepared *k = prepare(E, "pos[:] = pos * 2\nout[:] = a[pos]", 3, q);
	uint64_t r0 = replays(E);
	for (int r = 0; r < 6; r++) {
		int64_t *ps = aj_array_data(pos[r % 2]);
		for (int j = 0; j < 4; j++) {
			ps[j] = r % 3 == 2 ? 3 + j : j; /* 3 + j: 12 is out of range */
			ref_f64(out)[j] = -1;
		}
		aj_arg args[3] = {{.array = a}, {.array = out}, {.array = pos[r % 2]}};
		if (r % 3 != 2) {
			run(k, args);
			for (int j = 0; j < 4; j++)
				assert_true(ps[j] == 2 * j && ref_f64(out)[j] == 100 + 2 * j);
			continue;
		}
		assert_int_equal(aj_prepared_run(k, args), AJ_ERR_ARG);
		assert_non_null(strstr(aj_prepared_errmsg(k), "out of bounds"));
		for (int j = 0; j < 4; j++)
			assert_true(ps[j] == 3 + j && ref_f64(out)[j] == -1);
	}
	assert_int_equal(replays(E) - r0, 6);
	aj_prepared_free(k);
	aj_array_free(a);
	aj_array_free(out);
	aj_array_free(pos[0]);
	aj_array_free(pos[1]);
}

static void test_errors(void **state)
{
	ref_env *E = *state;
	int64_t shape[1] = {4}, one[1] = {1};
	aj_array *a = ref_f64_array(E, 1, shape), *b = ref_f64_array(E, 1, shape), *ro, *small;
	small = ref_f64_array(E, 1, one);
	REF_OK_CTX(E->ctx, aj_view_broadcast(E->ctx, small, 1, shape, &ro));
	for (int j = 0; j < 4; j++)
		ref_f64(a)[j] = ref_f64(b)[j] = j;
	ref_f64(small)[0] = 5;
	aj_param q[3] = {{"a", a, 0}, {"b", b, 0}, {"i", NULL, AJ_FLOAT64}};
	aj_param q32[3] = {{"a", a, 0}, {"b", b, 0}, {"i", NULL, AJ_FLOAT32}};
	aj_param ro_q[2] = {{"a", ro, 0}, {"b", b, 0}};
	expect_prepare_error(E, "a += b*i", 3, q32, AJ_ERR_ARG, "float64 or int64");
	expect_prepare_error(E, "a += b*z", 3, q, AJ_ERR_NAME, "z");
	expect_prepare_error(E, "a += b\na * i", 3, q, AJ_ERR_ARG, "expression");
	expect_prepare_error(E, "a += b", 2, ro_q, AJ_ERR_READONLY, "read-only");
	expect_prepare_error(E, "a += b", 3, (aj_param[]){{"a", a, 0}, {"a", b, 0}, {"i", NULL, AJ_INT64}},
			     AJ_ERR_ARG, "twice");
	expect_prepare_error(E, "c = a[b > 1]", 2, q, AJ_ERR_ARG, "selection");

	aj_prepared *k = prepare(E, "a += b*i", 3, q);
	assert_int_equal(aj_prepared_run(k, NULL), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prepared_errmsg(k), "NULL args"));
	assert_int_equal(aj_prepared_run(k, (aj_arg[]){{.array = a}, {.array = NULL}, {.f = 1}}),
			 AJ_ERR_ARG);
	assert_non_null(strstr(aj_prepared_errmsg(k), "'b'"));
	/* a read-only output: the slow path reports it, nothing written */
	assert_int_equal(aj_prepared_run(k, (aj_arg[]){{.array = ro}, {.array = b}, {.f = 1}}),
			 AJ_ERR_READONLY);
	assert_non_null(strstr(aj_prepared_errmsg(k), "read-only"));
	assert_true(ref_f64(small)[0] == 5);
	for (int j = 0; j < 4; j++)
		assert_true(ref_f64(a)[j] == j && ref_f64(b)[j] == j);
	aj_prepared_free(k);
	aj_prepared_free(NULL);
	aj_array_free(ro);
	aj_array_free(small);
	aj_array_free(a);
	aj_array_free(b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ref_env_setup, ref_env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_seed),
		T(test_new_arrays),
		T(test_reduction),
		T(test_chunked_reduction),
		T(test_not_folded),
		T(test_int_param),
		T(test_slow_path),
		T(test_overlapping_templates),
		T(test_position_param),
		T(test_waiting_check),
		T(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
