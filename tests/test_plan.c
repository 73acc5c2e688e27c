/*
 * Plans (lib/plan.c): a sync whose work equals an earlier one's (same
 * nodes, arrays and layouts) replays that sync's kernel calls with the
 * scalars read anew. Each test repeats some work, checks every result
 * against a reference, and checks through aj_stats.replays that the
 * repeats were replayed, or, where the work differs or a plan cannot
 * hold it, that they were not.
 */
#include "plan.h"
#include "ref.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static aj_stats stats(const ref_env *E)
{
	aj_stats s;
	aj_ctx_stats(E->ctx, &s);
	return s;
}

static void assign_sync(ref_env *E, aj_array *out, aj_expr e)
{
	REF_OK_PROG(E->p, aj_assign(E->p, out, e));
	REF_OK_PROG(E->p, aj_sync(E->p));
}

static void exec_sync(ref_env *E, aj_names *ns, const char *text)
{
	REF_OK_PROG(E->p, aj_exec(ns, text, NULL));
	REF_OK_PROG(E->p, aj_sync(E->p));
}

/* a += b*i for i = 0..N-1: the first sync fuses, the second keeps a
 * plan, the rest replay it, each with its own i. */
static void test_scalar_rebound(void **state)
{
	ref_env *E = *state;
	aj_prog *p = E->p;
	enum { N = 100 };
	int64_t shape[2] = {3, 3};
	aj_array *a = ref_f64_array(E, 2, shape), *b = ref_f64_array(E, 2, shape);
	double want[9];
	for (int k = 0; k < 9; k++) {
		ref_f64(a)[k] = want[k] = 0.5 * k;
		ref_f64(b)[k] = k - 4;
	}
	aj_stats s0 = stats(E);
	for (int i = 0; i < N; i++) {
		aj_expr e = aj_add(p, aj_leaf(p, a), aj_mul(p, aj_leaf(p, b),
							    aj_scalar_f64(p, i)));
		assign_sync(E, a, e);
		for (int k = 0; k < 9; k++)
			want[k] += ref_f64(b)[k] * i;
		assert_memory_equal(ref_f64(a), want, sizeof want);
	}
	aj_stats s1 = stats(E);
	assert_int_equal(s1.replays - s0.replays, N - 2);
	assert_int_equal(s1.kernels_run - s0.kernels_run, N);
	assert_int_equal(s1.cache_hits - s0.cache_hits, N - 1);
	aj_array_free(a);
	aj_array_free(b);
}

/* Both parts of a complex scalar, and a float32 one, are read anew. */
static void test_complex_and_float32(void **state)
{
	ref_env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 5;
	aj_array *z, *w, *f, *g;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_COMPLEX128, 1, &n, &z));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_COMPLEX128, 1, &n, &w));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT32, 1, &n, &f));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT32, 1, &n, &g));
	double complex *zv = aj_array_data(z), *wv = aj_array_data(w);
	float *fv = aj_array_data(f), *gv = aj_array_data(g);
	for (int k = 0; k < n; k++) {
		wv[k] = k + 1 - 2 * k * I;
		gv[k] = 1.5f * (float)k;
	}
	aj_stats s0 = stats(E);
	for (int i = 0; i < 6; i++) {
		assign_sync(E, z, aj_mul(p, aj_leaf(p, w), aj_scalar_c128(p, i, -3.0 * i)));
		assign_sync(E, f, aj_add(p, aj_leaf(p, g), aj_scalar(p, AJ_FLOAT32, 0.25 * i)));
		for (int k = 0; k < n; k++) {
			assert_true(zv[k] == wv[k] * (i - 3.0 * i * I));
			assert_true(fv[k] == gv[k] + 0.25f * (float)i);
		}
	}
	assert_int_equal(stats(E).replays - s0.replays, 2 * (6 - 2));
	aj_array_free(z);
	aj_array_free(w);
	aj_array_free(f);
	aj_array_free(g);
}

/* The program's plans, none pointing into its arena. */
static int plans(const ref_env *E)
{
	bool in_arena;
	int n = aj_plans_count(E->p, &in_arena);
	assert_false(in_arena);
	return n;
}

/* Intermediates (a reduction's result, rule 4's partials and their
 * chunk pointers) are the plan's own buffers, refilled on every replay. */
static void test_reductions(void **state)
{
	ref_env *E = *state;
	enum { N = 1 << 20 };
	int64_t n = N, n4 = 4;
	aj_array *a = ref_f64_array(E, 1, &n), *c = ref_f64_array(E, 1, &n4);
	aj_array *s = ref_f64_array(E, 0, NULL), *q = ref_f64_array(E, 1, &n4);
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "a", a));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "c", c));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "s", s));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "q", q));
	double first[5];
	aj_stats s0 = stats(E);
	for (int it = 0; it < 5; it++) {
		for (int64_t k = 0; k < N; k++)
			ref_f64(a)[k] = (double)((k * 7 + it) % 13) - 6.5;
		exec_sync(E, ns, "s = sum(a)\nt = sum(a[:4] * 2); c = a[:4] / t");
		long double sum = 0, t = 0;
		for (int64_t k = 0; k < N; k++)
			sum += ref_f64(a)[k];
		for (int k = 0; k < 4; k++)
			t += 2 * ref_f64(a)[k];
		assert_true(fabs(ref_f64(s)[0] - (double)sum) <= 1e-9 * fabsl(sum) + 1e-9);
		for (int k = 0; k < 4; k++)
			assert_true(fabs(ref_f64(c)[k] - ref_f64(a)[k] / (double)t) <=
				    1e-15 * fabs(ref_f64(a)[k] / (double)t));
		first[it] = ref_f64(s)[0];
	}
	aj_stats s1 = stats(E);
	assert_int_equal(s1.replays - s0.replays, 3);
	assert_int_equal(plans(E), 1);
	/* each sync counts its temporaries, replayed or not: the chunked sum's
	 * partials and t's 8 bytes, the same every time */
	assert_int_equal((s1.temp_bytes - s0.temp_bytes) % 5, 0);
	assert_true(s1.temp_bytes - s0.temp_bytes >= 5 * 8);
	/* the same data through a program without plans: the same bits */
	aj_prog *p2;
	REF_OK_CTX(E->ctx, aj_prog_new(E->ctx, &p2));
	for (int64_t k = 0; k < N; k++)
		ref_f64(a)[k] = (double)((k * 7 + 4) % 13) - 6.5;
	REF_OK_PROG(p2, aj_assign(p2, q, aj_reduce(p2, AJ_OP_SUM, aj_leaf(p2, a), 0,
						  NULL, false)));
	REF_OK_PROG(p2, aj_sync(p2));
	assert_true(ref_f64(q)[0] == first[4]);
	aj_prog_free(p2);
	aj_names_free(ns);
	aj_array_free(a);
	aj_array_free(c);
	aj_array_free(s);
	aj_array_free(q);
}

/* A large intermediate (m, 64 KiB) between statements that keep the
 * arena busy: the plan's copy of it, not the arena's bytes, which later
 * syncs reuse or free. */
static void test_large_intermediate(void **state)
{
	ref_env *E = *state;
	enum { R = 8192, C = 3 };
	int64_t shape[2] = {R, C};
	aj_array *a = ref_f64_array(E, 2, shape), *c = ref_f64_array(E, 2, shape);
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "a", a));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "c", c));
	aj_stats s0 = stats(E);
	for (int it = 0; it < 5; it++) {
		for (int k = 0; k < R * C; k++)
			ref_f64(a)[k] = (k * 5 + it) % 11;
		exec_sync(E, ns, "m = max(a, axis=1); c = a - m[:, None]");
		exec_sync(E, ns, "c += 0 * a");
		for (int r = 0; r < R; r++) {
			double m = ref_f64(a)[r * C];
			for (int k = 1; k < C; k++)
				m = fmax(m, ref_f64(a)[r * C + k]);
			for (int k = 0; k < C; k++)
				assert_true(ref_f64(c)[r * C + k] == ref_f64(a)[r * C + k] - m);
		}
	}
	assert_int_equal(stats(E).replays - s0.replays, 2 * (5 - 2));
	assert_int_equal(plans(E), 2);
	/* intermediates past 16 MiB: no plan holds them, every sync fuses */
	int64_t big[2] = {((int64_t)1 << 21) + 1024, 2};
	aj_array *b = ref_f64_array(E, 2, big), *bm = ref_f64_array(E, 2, big);
	memset(aj_array_data(b), 0, (size_t)big[0] * 2 * 8);
	REF_OK_PROG(E->p, aj_names_set_array(ns, "b", b));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "bm", bm));
	aj_stats s1 = stats(E);
	for (int it = 0; it < 3; it++)
		exec_sync(E, ns, "m = max(b, axis=1); bm = b - m[:, None]");
	assert_int_equal(stats(E).replays - s1.replays, 0);
	assert_int_equal(plans(E), 2);
	aj_array_free(b);
	aj_array_free(bm);
	aj_names_free(ns);
	aj_array_free(a);
	aj_array_free(c);
}

/* Overlap decisions (alias.c) replay: a serial reversed shift, a serial
 * forward one, and a copy of the input (a reversal). */
static void test_overlap(void **state)
{
	ref_env *E = *state;
	enum { N = 1000 };
	int64_t n = N;
	aj_array *a = ref_f64_array(E, 1, &n);
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "a", a));
	double want[N], was[N];
	for (int k = 0; k < N; k++)
		ref_f64(a)[k] = want[k] = k % 17;
	aj_stats s0 = stats(E);
	for (int it = 0; it < 4; it++) {
		exec_sync(E, ns, "a[1:] = a[:-1] + 1");
		for (int k = N - 1; k > 0; k--)
			want[k] = want[k - 1] + 1;
		exec_sync(E, ns, "a[:-1] = a[1:] * 0.5");
		for (int k = 0; k < N - 1; k++)
			want[k] = want[k + 1] * 0.5;
		exec_sync(E, ns, "a[:] = a[::-1] - 2");
		memcpy(was, want, sizeof was);
		for (int k = 0; k < N; k++)
			want[k] = was[N - 1 - k] - 2;
		assert_memory_equal(ref_f64(a), want, sizeof want);
	}
	assert_int_equal(stats(E).replays - s0.replays, 3 * (4 - 2));
	assert_int_equal(plans(E), 3);
	aj_names_free(ns);
	aj_array_free(a);
}

/* Each evaluation of a random leaf draws a new stream, replayed or not:
 * the values equal those of programs that never replay. */
static void test_random_streams(void **state)
{
	ref_env *E = *state;
	enum { N = 257, RUNS = 6 };
	int64_t n = N;
	aj_ctx *ctx2;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx2));
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, 42));
	REF_OK_CTX(ctx2, aj_ctx_set_seed(ctx2, 42));
	aj_array *h = ref_f64_array(E, 1, &n), *h2 = ref_f64_array(E, 1, &n);
	double prev[N];
	aj_stats s0 = stats(E);
	for (int it = 0; it < RUNS; it++) {
		assign_sync(E, h, aj_random(E->p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL));
		aj_prog *p2;
		REF_OK_CTX(ctx2, aj_prog_new(ctx2, &p2));
		REF_OK_PROG(p2, aj_assign(p2, h2, aj_random(p2, AJ_DIST_UNIFORM,
							   AJ_FLOAT64, 0, NULL)));
		REF_OK_PROG(p2, aj_sync(p2));
		aj_prog_free(p2);
		assert_memory_equal(ref_f64(h), ref_f64(h2), sizeof prev);
		if (it)
			assert_memory_not_equal(ref_f64(h), prev, sizeof prev);
		memcpy(prev, ref_f64(h), sizeof prev);
	}
	assert_int_equal(stats(E).replays - s0.replays, RUNS - 2);
	aj_array_free(h);
	aj_array_free(h2);
	aj_ctx_free(ctx2);
}

/* Same address, another layout; another array of the same layout; each
 * its own plan, never another's. */
static void test_layouts_and_arrays(void **state)
{
	ref_env *E = *state;
	aj_prog *p = E->p;
	int64_t shape[2] = {4, 4};
	aj_array *a = ref_f64_array(E, 2, shape), *b = ref_f64_array(E, 2, shape);
	aj_array *out = ref_f64_array(E, 2, shape), *at;
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, NULL, &at));
	for (int k = 0; k < 16; k++) {
		ref_f64(a)[k] = k;
		ref_f64(b)[k] = 100 + k;
	}
	aj_array *in[3] = {a, at, b};
	aj_stats s0 = stats(E);
	for (int it = 0; it < 4; it++)
		for (int v = 0; v < 3; v++) {
			assign_sync(E, out, aj_mul(p, aj_leaf(p, in[v]), aj_scalar_f64(p, it)));
			for (int r = 0; r < 4; r++)
				for (int c = 0; c < 4; c++) {
					int k = v == 1 ? c * 4 + r : r * 4 + c;
					double x = (v == 2 ? ref_f64(b) : ref_f64(a))[k];
					assert_true(ref_f64(out)[r * 4 + c] == x * it);
				}
		}
	assert_int_equal(stats(E).replays - s0.replays, 3 * (4 - 2));
	aj_array_free(at);
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(out);
}

/* A check (an integer power's any(exponent < 0)) runs on every replay:
 * once it fails, the output is left as it was. */
static void test_check_replayed(void **state)
{
	ref_env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 8;
	aj_array *x, *e, *out;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, &n, &x));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, &n, &e));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, &n, &out));
	int64_t *xv = aj_array_data(x), *ev = aj_array_data(e), *ov = aj_array_data(out);
	for (int k = 0; k < n; k++) {
		xv[k] = k - 3;
		ev[k] = k % 3;
	}
	aj_stats s0 = stats(E);
	for (int it = 0; it < 4; it++) {
		if (it == 3)
			ev[5] = -1;
		REF_OK_PROG(p, aj_assign(p, out, aj_binary(p, AJ_OP_POW, aj_leaf(p, x),
							    aj_leaf(p, e))));
		aj_status s = aj_sync(p);
		if (it < 3) {
			assert_int_equal(s, AJ_OK);
			for (int k = 0; k < n; k++)
				ov[k] = -ov[k]; /* so that a write would show */
		} else {
			assert_int_not_equal(s, AJ_OK);
		}
	}
	for (int k = 0; k < n; k++) {
		int64_t want = 1;
		for (int j = 0; j < (k % 3); j++)
			want *= xv[k];
		assert_int_equal(ov[k], -want);
	}
	assert_int_equal(stats(E).replays - s0.replays, 2);
	aj_array_free(x);
	aj_array_free(e);
	aj_array_free(out);
}

/* Another ISA is another signature. A take replays: its range check too,
 * which fails before anything is written. */
static void test_not_replayed(void **state)
{
	ref_env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 64, ni = 5;
	aj_array *a = ref_f64_array(E, 1, &n), *out = ref_f64_array(E, 1, &n), *o5 = ref_f64_array(E, 1, &ni);
	aj_array *idx;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, &ni, &idx));
	for (int k = 0; k < n; k++)
		ref_f64(a)[k] = 0.01 * k;
	for (int k = 0; k < ni; k++)
		((int64_t *)aj_array_data(idx))[k] = 7 * k - 3;
	aj_stats s0 = stats(E);
	for (int it = 0; it < 3; it++)
		assign_sync(E, out, aj_unary(p, AJ_OP_EXP, aj_leaf(p, a)));
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, AJ_ISA_SCALAR));
	assign_sync(E, out, aj_unary(p, AJ_OP_EXP, aj_leaf(p, a)));
	aj_stats s1 = stats(E);
	assert_int_equal(s1.replays - s0.replays, 1);
	assert_int_equal(s1.kernels_compiled - s0.kernels_compiled, 2);
	for (int k = 0; k < n; k++)
		assert_true(ref_ulp64(ref_f64(out)[k], exp(ref_f64(a)[k])) <= 1);
	int64_t *iv = aj_array_data(idx);
	for (int it = 0; it < 5; it++) {
		if (it == 4)
			iv[2] = n;
		REF_OK_PROG(p, aj_assign(p, o5, aj_take(p, aj_leaf(p, a), aj_leaf(p, idx), 0)));
		aj_status s = aj_sync(p);
		assert_int_equal(s, it < 4 ? AJ_OK : AJ_ERR_ARG);
		for (int k = 0; k < ni; k++) {
			int64_t i = 7 * k - 3;
			assert_true(ref_f64(o5)[k] == ref_f64(a)[i < 0 ? i + n : i]);
		}
	}
	assert_int_equal(stats(E).replays - s1.replays, 3);
	assert_int_equal(plans(E), 2);
	aj_array_free(a);
	aj_array_free(out);
	aj_array_free(o5);
	aj_array_free(idx);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ref_env_setup, ref_env_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_scalar_rebound),  T(test_complex_and_float32),
	    T(test_reductions),      T(test_large_intermediate),
	    T(test_overlap),
	    T(test_random_streams),  T(test_layouts_and_arrays),
	    T(test_check_replayed),  T(test_not_replayed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
