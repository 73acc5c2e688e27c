/*
 * One context, eight threads at once: each compiles new kernels, hits
 * kernels others compiled, runs large kernels on the shared pool, builds
 * and frees programs, namespaces, owned arrays and prepared kernels, while
 * one of them keeps changing the context's thread count; threads failing
 * on one context at once, each reading its own message. Every result is
 * checked exactly (the values are small integers, so no rounding enters).
 * The TSan build runs this file (make test, AJ_SANITIZE=thread).
 *
 * cmocka's asserts belong to the main thread: workers count what went
 * wrong and keep the first message.
 */
#define _POSIX_C_SOURCE 200809L
#include "ref.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NWORKER = 8, ROUNDS = 30, N = 20000, NKIND = 6 };

typedef struct worker {
	aj_ctx *ctx;
	int id;
	int bad;
	char why[400];
} worker;

typedef struct state {
	aj_prog *p;
	aj_names *ns;
	aj_array *a, *b, *c, *s;
	double *A, *B, *C, S;
	aj_prepared *k;
} state;

static void wrong(worker *w, const char *what, const char *msg)
{
	if (w->bad++ == 0)
		snprintf(w->why, sizeof w->why, "worker %d: %s: %s", w->id, what,
			 msg ? msg : "");
}

/* The program and the namespace over a, b, c and s; false on failure. */
static bool open_prog(worker *w, state *st)
{
	if (aj_prog_new(w->ctx, &st->p) != AJ_OK) {
		wrong(w, "aj_prog_new", aj_ctx_errmsg(w->ctx));
		return false;
	}
	if (aj_names_new(st->p, &st->ns) != AJ_OK ||
	    aj_names_set_array(st->ns, "a", st->a) != AJ_OK ||
	    aj_names_set_array(st->ns, "b", st->b) != AJ_OK ||
	    aj_names_set_array(st->ns, "c", st->c) != AJ_OK ||
	    aj_names_set_array(st->ns, "s", st->s) != AJ_OK) {
		wrong(w, "names", aj_prog_errmsg(st->p));
		return false;
	}
	return true;
}

static void close_prog(state *st)
{
	aj_names_free(st->ns);
	aj_prog_free(st->p);
	st->ns = NULL;
	st->p = NULL;
}

static bool exec(worker *w, state *st, const char *text)
{
	if (aj_exec(st->ns, text, NULL) != AJ_OK || aj_sync(st->p) != AJ_OK) {
		wrong(w, text, aj_prog_errmsg(st->p));
		return false;
	}
	return true;
}

static void expect_c(worker *w, const state *st, const char *what,
		     double (*f)(double a, double b, int arg), int arg)
{
	for (int k = 0; k < N; k++)
		if (st->C[k] != f(st->A[k], st->B[k], arg)) {
			char msg[96];
			snprintf(msg, sizeof msg, "c[%d] = %g, want %g", k, st->C[k],
				 f(st->A[k], st->B[k], arg));
			wrong(w, what, msg);
			return;
		}
}

static double axpb(double a, double b, int r)
{
	return a * r + b;
}

static double plus(double a, double b, int r)
{
	return a + b;
}

/* Structure number m: six steps, each +a, -b or *2 as m's digits in base
 * 3 say; the same m gives the same kernel on every thread. */
static double chain(double a, double b, int m)
{
	double x = a;
	for (int i = 0; i < 6; i++, m /= 3)
		x = m % 3 == 0 ? x + a : m % 3 == 1 ? x - b : x * 2;
	return x;
}

static void chain_text(char *buf, size_t n, int m)
{
	int len = snprintf(buf, n, "c = ");
	for (int i = 0; i < 6; i++)
		len += snprintf(buf + len, n - (size_t)len, "(");
	len += snprintf(buf + len, n - (size_t)len, "a");
	for (int i = 0; i < 6; i++, m /= 3)
		len += snprintf(buf + len, n - (size_t)len, "%s)",
				m % 3 == 0 ? " + a" : m % 3 == 1 ? " - b" : " * 2");
}

static void round_of(worker *w, state *st, int r)
{
	char text[160];
	int kind = (w->id + r) % NKIND;
	for (int k = 0; k < N; k++) {
		st->A[k] = (w->id * 7 + k + r) % 1000 - 500;
		st->B[k] = (k * 3 + r) % 200;
	}
	switch (kind) {
	case 0: /* one structure, new literals: the cache and the text path */
		snprintf(text, sizeof text, "c = a * %d + b", r);
		if (exec(w, st, text))
			expect_c(w, st, text, axpb, r);
		break;
	case 1: { /* structures 0..80: compiled by whichever thread is first */
		int m = (r * NWORKER + w->id) % 81;
		chain_text(text, sizeof text, m);
		if (exec(w, st, text))
			expect_c(w, st, text, chain, m);
		break;
	}
	case 2: { /* a reduction in chunks on the pool */
		if (!exec(w, st, "s = sum(a * 2 + b)"))
			break;
		double want = 0;
		for (int k = 0; k < N; k++)
			want += st->A[k] * 2 + st->B[k];
		if (st->S != want)
			wrong(w, "sum", "wrong sum");
		break;
	}
	case 3: { /* an owned array from the buffer pool, freed again */
		aj_array *t;
		int64_t n = N;
		if (aj_array_new(w->ctx, AJ_FLOAT64, 1, &n, &t) != AJ_OK) {
			wrong(w, "aj_array_new", aj_ctx_errmsg(w->ctx));
			break;
		}
		aj_expr e = aj_add(st->p, aj_leaf(st->p, st->a), aj_leaf(st->p, st->b));
		if (aj_assign(st->p, t, e) != AJ_OK || aj_sync(st->p) != AJ_OK)
			wrong(w, "owned", aj_prog_errmsg(st->p));
		else {
			memcpy(st->C, aj_array_data(t), sizeof(double) * N);
			expect_c(w, st, "owned a + b", plus, 0);
		}
		aj_array_free(t);
		break;
	}
	case 4: { /* a prepared kernel */
		aj_arg args[] = {{.array = st->a}, {.array = st->b},
				 {.array = st->c}, {.f = r}};
		if (aj_prepared_run(st->k, args) != AJ_OK)
			wrong(w, "prepared", aj_prepared_errmsg(st->k));
		else
			expect_c(w, st, "prepared", axpb, r);
		break;
	}
	default: { /* a view: c = a[::-1] * 2 */
		aj_array *v;
		if (aj_view_flip(w->ctx, st->a, 0, &v) != AJ_OK) {
			wrong(w, "flip", aj_ctx_errmsg(w->ctx));
			break;
		}
		aj_expr e = aj_mul(st->p, aj_leaf(st->p, v), aj_scalar_f64(st->p, 2));
		if (aj_assign(st->p, st->c, e) != AJ_OK || aj_sync(st->p) != AJ_OK)
			wrong(w, "flip", aj_prog_errmsg(st->p));
		else
			for (int k = 0; k < N; k++)
				if (st->C[k] != st->A[N - 1 - k] * 2) {
					wrong(w, "flip", "wrong value");
					break;
				}
		aj_array_free(v);
		break;
	}
	}
}

static void *work(void *arg)
{
	worker *w = arg;
	state st = {0};
	int64_t n = N;
	st.A = malloc(sizeof(double) * N);
	st.B = malloc(sizeof(double) * N);
	st.C = malloc(sizeof(double) * N);
	if (!st.A || !st.B || !st.C ||
	    aj_array_wrap(w->ctx, st.A, sizeof(double) * N, 0, AJ_FLOAT64, 1, &n,
			  NULL, &st.a) != AJ_OK ||
	    aj_array_wrap(w->ctx, st.B, sizeof(double) * N, 0, AJ_FLOAT64, 1, &n,
			  NULL, &st.b) != AJ_OK ||
	    aj_array_wrap(w->ctx, st.C, sizeof(double) * N, 0, AJ_FLOAT64, 1, &n,
			  NULL, &st.c) != AJ_OK ||
	    aj_array_wrap(w->ctx, &st.S, sizeof st.S, 0, AJ_FLOAT64, 0, NULL, NULL,
			  &st.s) != AJ_OK) {
		wrong(w, "setup", aj_ctx_errmsg(w->ctx));
		goto out;
	}
	aj_param params[] = {{"a", st.a, AJ_FLOAT64}, {"b", st.b, AJ_FLOAT64},
			     {"c", st.c, AJ_FLOAT64}, {"r", NULL, AJ_FLOAT64}};
	if (aj_prepare(w->ctx, "c = a * r + b", 4, params, &st.k) != AJ_OK) {
		wrong(w, "aj_prepare", aj_ctx_errmsg(w->ctx));
		goto out;
	}
	if (!open_prog(w, &st))
		goto out;
	for (int r = 0; r < ROUNDS && !w->bad; r++) {
		round_of(w, &st, r);
		if (w->id == 0)
			aj_ctx_set_threads(w->ctx, 1 + r % 3);
		if (r % 4 == w->id % 4) { /* programs come and go */
			close_prog(&st);
			if (!open_prog(w, &st))
				break;
		}
		aj_stats stats;
		aj_ctx_stats(w->ctx, &stats);
	}
out:
	if (st.p)
		close_prog(&st);
	aj_prepared_free(st.k);
	aj_array_free(st.a);
	aj_array_free(st.b);
	aj_array_free(st.c);
	aj_array_free(st.s);
	free(st.A);
	free(st.B);
	free(st.C);
	return NULL;
}

static void run_workers(aj_ctx *ctx, int nworker, void *(*fn)(void *))
{
	pthread_t t[NWORKER];
	worker w[NWORKER];
	for (int i = 0; i < nworker; i++) {
		w[i] = (worker){.ctx = ctx, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, fn, &w[i]), 0);
	}
	for (int i = 0; i < nworker; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < nworker; i++)
		if (w[i].bad)
			fail_msg("%s (%d failures)", w[i].why, w[i].bad);
}

/*
 * Eight threads, then the same work on one thread: the second pass
 * compiles nothing, so each structure was compiled once and kept, however
 * the threads raced for it.
 */
static void test_eight_threads_one_context(void **state)
{
	aj_ctx *ctx;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	REF_OK_CTX(ctx, aj_ctx_set_min_parallel(ctx, 4096));
	run_workers(ctx, NWORKER, work);
	aj_stats s0, s1;
	aj_ctx_stats(ctx, &s0);
	assert_true(s0.parallel_runs > 0);
	assert_true(s0.kernels_compiled > 40);
	run_workers(ctx, NWORKER, work);
	aj_ctx_stats(ctx, &s1);
	assert_int_equal(s1.kernels_compiled, s0.kernels_compiled);
	assert_true(s1.kernels_run > s0.kernels_run);
	aj_ctx_free(ctx);
}

/* Threads failing on one context at once each read their own message:
 * the shape it names is the one that thread passed. */
static void *fail_often(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < 3000; i++) {
		int64_t shape[2] = {w->id + 1, -(i + 1)};
		aj_array *a = NULL;
		char want[64];
		snprintf(want, sizeof want, "(%d, %d)", w->id + 1, -(i + 1));
		if (aj_array_new(w->ctx, AJ_FLOAT64, 2, shape, &a) == AJ_OK || a)
			wrong(w, "aj_array_new", "a negative extent was taken");
		else if (!strstr(aj_ctx_errmsg(w->ctx), want))
			wrong(w, want, aj_ctx_errmsg(w->ctx));
	}
	return NULL;
}

static void test_messages_per_thread(void **state)
{
	aj_ctx *ctx;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	run_workers(ctx, NWORKER, fail_often);
	/* none failed on this thread; a new context, even at the freed one's
	 * address, has no message */
	assert_string_equal(aj_ctx_errmsg(ctx), "");
	aj_array *a;
	assert_int_equal(aj_array_new(ctx, AJ_FLOAT64, 1, (int64_t[]){-1}, &a), AJ_ERR_SHAPE);
	assert_non_null(strstr(aj_ctx_errmsg(ctx), "negative"));
	aj_ctx_free(ctx);
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	assert_string_equal(aj_ctx_errmsg(ctx), "");
	/* five contexts failing on one thread: the oldest message goes */
	aj_ctx *c[5];
	for (int i = 0; i < 5; i++) {
		REF_OK_CTX(NULL, aj_ctx_new(&c[i]));
		assert_int_equal(aj_array_new(c[i], AJ_FLOAT64, 1, (int64_t[]){-1 - i}, &a),
				 AJ_ERR_SHAPE);
	}
	assert_string_equal(aj_ctx_errmsg(c[0]), "");
	for (int i = 1; i < 5; i++) {
		char want[32];
		snprintf(want, sizeof want, "(%d,)", -1 - i);
		assert_non_null(strstr(aj_ctx_errmsg(c[i]), want));
		aj_ctx_free(c[i]);
	}
	aj_ctx_free(c[0]);
	aj_ctx_free(ctx);
}

/* Contexts made and freed by many threads at once, each used briefly. */
static void *ctx_churn(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < 3 && !w->bad; i++) {
		aj_ctx *ctx;
		if (aj_ctx_new(&ctx) != AJ_OK) {
			wrong(w, "aj_ctx_new", "failed");
			break;
		}
		aj_ctx_set_min_parallel(ctx, 1024);
		aj_prog *p;
		double x[4096];
		int64_t n = 4096;
		aj_array *a;
		for (int k = 0; k < n; k++)
			x[k] = k;
		if (aj_prog_new(ctx, &p) != AJ_OK ||
		    aj_array_wrap(ctx, x, sizeof x, 0, AJ_FLOAT64, 1, &n, NULL, &a) != AJ_OK) {
			wrong(w, "churn setup", aj_ctx_errmsg(ctx));
			aj_ctx_free(ctx);
			break;
		}
		aj_expr e = aj_add(p, aj_leaf(p, a), aj_scalar_f64(p, 1));
		if (aj_assign(p, a, e) != AJ_OK || aj_sync(p) != AJ_OK)
			wrong(w, "churn", aj_prog_errmsg(p));
		for (int k = 0; k < n && !w->bad; k++)
			if (x[k] != k + 1)
				wrong(w, "churn", "wrong value");
		aj_array_free(a);
		aj_prog_free(p);
		aj_ctx_free(ctx);
	}
	return NULL;
}

static void test_contexts_come_and_go(void **state)
{
	pthread_t t[NWORKER];
	worker w[NWORKER];
	for (int i = 0; i < NWORKER; i++) {
		w[i] = (worker){.id = i};
		assert_int_equal(pthread_create(&t[i], NULL, ctx_churn, &w[i]), 0);
	}
	for (int i = 0; i < NWORKER; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NWORKER; i++)
		if (w[i].bad)
			fail_msg("%s", w[i].why);
}


/* The caller's own threads keep every CPU busy while large kernels run
 * on the pool: they still finish, with the right values. */
static _Atomic bool spinning;

static void *spin(void *arg)
{
	volatile uint64_t n = 0;
	while (atomic_load_explicit(&spinning, memory_order_relaxed))
		n++;
	return NULL;
}

static void test_busy_host_threads(void **state)
{
	enum { NSPIN = 6, M = 1 << 18 };
	aj_ctx *ctx;
	aj_prog *p;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, 4));
	REF_OK_CTX(ctx, aj_prog_new(ctx, &p));
	double *x = malloc(sizeof(double) * M);
	assert_non_null(x);
	for (int k = 0; k < M; k++)
		x[k] = k;
	int64_t n = M;
	aj_array *a;
	REF_OK_CTX(ctx, aj_array_wrap(ctx, x, sizeof(double) * M, 0, AJ_FLOAT64, 1, &n, NULL, &a));
	atomic_store(&spinning, true);
	pthread_t t[NSPIN];
	for (int i = 0; i < NSPIN; i++)
		assert_int_equal(pthread_create(&t[i], NULL, spin, NULL), 0);
	aj_stats s0, s1;
	aj_ctx_stats(ctx, &s0);
	for (int r = 0; r < 20; r++) {
		REF_OK_PROG(p, aj_assign(p, a, aj_add(p, aj_leaf(p, a), aj_scalar_f64(p, 1))));
		REF_OK_PROG(p, aj_sync(p));
	}
	aj_ctx_stats(ctx, &s1);
	atomic_store(&spinning, false);
	for (int i = 0; i < NSPIN; i++)
		pthread_join(t[i], NULL);
	assert_true(s1.parallel_runs >= s0.parallel_runs + 20);
	for (int k = 0; k < M; k++)
		if (x[k] != k + 20)
			fail_msg("x[%d] = %g", k, x[k]);
	aj_array_free(a);
	aj_prog_free(p);
	aj_ctx_free(ctx);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eight_threads_one_context),
		cmocka_unit_test(test_messages_per_thread),
		cmocka_unit_test(test_contexts_come_and_go),
		cmocka_unit_test(test_busy_host_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
