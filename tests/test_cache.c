/*
 * The kernel cache: keyed by structure, never by data, shapes or scalar
 * values. The seed loop `a += b*i` over a million i compiles one kernel,
 * gives the exact answer, and keeps memory flat.
 */
#include "ref.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss * 4;
}

static void seed_step(aj_prog *p, aj_array *a, aj_array *b, int64_t i)
{
	aj_expr e = aj_add(p, aj_leaf(p, a),
			   aj_mul(p, aj_leaf(p, b), aj_scalar_f64(p, (double)i)));
	REF_OK_PROG(p, aj_assign(p, a, e));
	REF_OK_PROG(p, aj_sync(p));
}

static void test_seed_loop(void **state)
{
	aj_ctx *ctx;
	aj_prog *p;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	REF_OK_CTX(ctx, aj_prog_new(ctx, &p));
	double A[9], B[9], want[9];
	for (int k = 0; k < 9; k++) {
		A[k] = want[k] = 0.25 * k;
		B[k] = 1.0 + k;
	}
	int64_t shape[2] = {3, 3};
	aj_array *a, *b;
	REF_OK_CTX(ctx, aj_array_wrap(ctx, A, sizeof A, 0, AJ_FLOAT64, 2, shape, NULL, &a));
	REF_OK_CTX(ctx, aj_array_wrap(ctx, B, sizeof B, 0, AJ_FLOAT64, 2, shape, NULL, &b));
	enum { WARM = 20000, ITERS = 1000000 };
	long rss0 = 0;
	for (int64_t i = 0; i < ITERS; i++) {
		if (i == WARM)
			rss0 = rss_kb();
		seed_step(p, a, b, i);
		for (int k = 0; k < 9; k++)
			want[k] += B[k] * (double)i;
	}
	long rss1 = rss_kb();
	for (int k = 0; k < 9; k++)
		assert_true(A[k] == want[k]);
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	assert_int_equal(st.kernels_compiled, 1);
	assert_int_equal(st.kernels_run, ITERS);
	assert_int_equal(st.cache_hits, ITERS - 1);
	assert_true(st.compile_ns > 0);
	/* nothing is allocated per iteration once warm */
	print_message("rss after warm-up %ld kB, after %d iterations %ld kB\n",
		      rss0, ITERS, rss1);
	assert_true(rss1 - rss0 < 1024);
	aj_array_free(a);
	aj_array_free(b);
	aj_prog_free(p);
	aj_ctx_free(ctx);
}

/* Different sizes, scalar values and programs share a kernel; a different
 * dtype, op, stride class or ISA does not. */
static void test_key_structure(void **state)
{
	aj_ctx *ctx;
	aj_prog *p, *q;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	REF_OK_CTX(ctx, aj_prog_new(ctx, &p));
	REF_OK_CTX(ctx, aj_prog_new(ctx, &q));
	aj_array *a[4], *f32;
	int64_t sizes[4] = {1, 7, 1000, 4099};
	for (int i = 0; i < 4; i++)
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &sizes[i], &a[i]));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &sizes[2], &f32));
	for (int i = 0; i < 4; i++) {
		aj_prog *pp = i % 2 ? q : p;
		REF_OK_PROG(pp, aj_assign(pp, a[i], aj_mul(pp, aj_leaf(pp, a[i]),
							    aj_scalar_f64(pp, i))));
		REF_OK_PROG(pp, aj_sync(pp));
	}
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	assert_int_equal(st.kernels_compiled, 1);
	/* dtype changes the key */
	REF_OK_PROG(p, aj_assign(p, f32, aj_mul(p, aj_leaf(p, f32), aj_scalar_f64(p, 2))));
	REF_OK_PROG(p, aj_sync(p));
	/* op changes the key */
	REF_OK_PROG(p, aj_assign(p, a[2], aj_add(p, aj_leaf(p, a[2]), aj_scalar_f64(p, 2))));
	REF_OK_PROG(p, aj_sync(p));
	/* stride class changes the key */
	aj_slice s = {0, AJ_DEFAULT, 2};
	aj_array *v;
	REF_OK_CTX(ctx, aj_view_slice(ctx, a[2], &s, &v));
	REF_OK_PROG(p, aj_assign(p, v, aj_add(p, aj_leaf(p, v), aj_scalar_f64(p, 2))));
	REF_OK_PROG(p, aj_sync(p));
	aj_ctx_stats(ctx, &st);
	assert_int_equal(st.kernels_compiled, 4);
	/* the ISA is part of the key */
	if (aj_ctx_set_isa(ctx, AJ_ISA_SCALAR) == AJ_OK) {
		REF_OK_PROG(p, aj_assign(p, a[2], aj_add(p, aj_leaf(p, a[2]), aj_scalar_f64(p, 2))));
		REF_OK_PROG(p, aj_sync(p));
		aj_ctx_stats(ctx, &st);
		assert_int_equal(st.kernels_compiled, 5);
	}
	aj_array_free(v);
	for (int i = 0; i < 4; i++)
		aj_array_free(a[i]);
	aj_array_free(f32);
	aj_prog_free(p);
	aj_prog_free(q);
	aj_ctx_free(ctx);
}

/* The key text of arrjit-dump's KEY stage does not change with shapes. */
static void test_key_dump_shape_independent(void **state)
{
	aj_ctx *ctx;
	aj_prog *p;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	REF_OK_CTX(ctx, aj_prog_new(ctx, &p));
	int64_t n1 = 10, n2 = 12345;
	aj_array *a1, *a2;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n1, &a1));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n2, &a2));
	char *k1, *k2, *k3;
	REF_OK_PROG(p, aj_dump(p, aj_unary(p, AJ_OP_EXP, aj_leaf(p, a1)), AJ_STAGE_KEY, &k1));
	REF_OK_PROG(p, aj_dump(p, aj_unary(p, AJ_OP_EXP, aj_leaf(p, a2)), AJ_STAGE_KEY, &k2));
	REF_OK_PROG(p, aj_dump(p, aj_unary(p, AJ_OP_SIN, aj_leaf(p, a2)), AJ_STAGE_KEY, &k3));
	assert_string_equal(k1, k2);
	assert_string_not_equal(k1, k3);
	aj_string_free(k1);
	aj_string_free(k2);
	aj_string_free(k3);
	aj_array_free(a1);
	aj_array_free(a2);
	aj_prog_free(p);
	aj_ctx_free(ctx);
}

enum { NTHREAD = 4, TITER = 3000, TN = 37 };

typedef struct worker {
	aj_ctx *ctx;
	int id;
	int bad; /* elements that differed from the C result */
} worker;

/* One of three kernel structures, chosen by i: every thread shares them. */
static void *work(void *arg)
{
	worker *w = arg;
	aj_prog *p;
	if (aj_prog_new(w->ctx, &p) != AJ_OK) {
		w->bad = -1;
		return NULL;
	}
	double x[TN], y[TN];
	int64_t n = TN;
	aj_array *a, *o;
	aj_array_wrap(w->ctx, x, sizeof x, 0, AJ_FLOAT64, 1, &n, NULL, &a);
	aj_array_wrap(w->ctx, y, sizeof y, 0, AJ_FLOAT64, 1, &n, NULL, &o);
	for (int i = 0; i < TITER; i++) {
		for (int k = 0; k < TN; k++)
			x[k] = w->id + k + 0.5 * i;
		aj_expr e = aj_leaf(p, a), s = aj_scalar_f64(p, i);
		int kind = (i + w->id) % 3;
		e = kind == 0 ? aj_add(p, e, s) : kind == 1 ? aj_mul(p, e, s)
							  : aj_sub(p, e, s);
		if (aj_assign(p, o, e) != AJ_OK || aj_sync(p) != AJ_OK) {
			w->bad = -1;
			break;
		}
		for (int k = 0; k < TN; k++) {
			double want = kind == 0 ? x[k] + i : kind == 1 ? x[k] * i : x[k] - i;
			w->bad += y[k] != want;
		}
	}
	aj_array_free(a);
	aj_array_free(o);
	aj_prog_free(p);
	return NULL;
}

/* One context, several threads with their own programs: correct results,
 * and each structure compiled exactly once. */
static void test_threads_share_cache(void **state)
{
	aj_ctx *ctx;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	pthread_t t[NTHREAD];
	worker w[NTHREAD];
	for (int i = 0; i < NTHREAD; i++) {
		w[i] = (worker){ctx, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < NTHREAD; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	assert_int_equal(st.kernels_compiled, 3);
	assert_int_equal(st.kernels_run, NTHREAD * TITER);
	aj_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_loop),
		cmocka_unit_test(test_key_structure),
		cmocka_unit_test(test_key_dump_shape_independent),
		cmocka_unit_test(test_threads_share_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
