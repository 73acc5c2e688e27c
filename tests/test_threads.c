/*
 * Threads: the pool runs every task exactly once under concurrent callers
 * and after fork; results, reductions included, are the same bits on any
 * thread count; small calls never go to the pool.
 */
#define _POSIX_C_SOURCE 200809L
#include "ref.h"

#include "pool.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef ref_env env;

/* ---- the pool alone ---- */

typedef struct hits {
	_Atomic int *count;
	int64_t n;
} hits;

static void hit(void *arg, int64_t t)
{
	hits *h = arg;
	atomic_fetch_add(&h->count[t], 1);
}

/* Runs ntask tasks on pool; true when each ran exactly once. */
static bool run_once_each(aj_pool *pool, int64_t ntask)
{
	hits h = {calloc((size_t)ntask, sizeof(_Atomic int)), ntask};
	aj_pool_run(pool, ntask, hit, &h);
	bool ok = true;
	for (int64_t t = 0; t < ntask; t++)
		ok = ok && h.count[t] == 1;
	free(h.count);
	return ok;
}

static void test_pool_each_task_once(void **state)
{
	static const int64_t ntasks[] = {1, 2, 3, 7, 64, 1000, 100000};
	for (int nt = 1; nt <= 5; nt++) {
		aj_pool *pool = aj_pool_new(nt);
		assert_non_null(pool);
		assert_int_equal(aj_pool_threads(pool), nt);
		for (size_t i = 0; i < sizeof ntasks / sizeof *ntasks; i++)
			for (int rep = 0; rep < 20; rep++)
				assert_true(run_once_each(pool, ntasks[i]));
		aj_pool_free(pool);
	}
	aj_pool *pool = aj_pool_new(1);
	aj_pool_set_threads(pool, 1000);
	assert_int_equal(aj_pool_threads(pool), 256);
	aj_pool_set_threads(pool, -3);
	assert_int_equal(aj_pool_threads(pool), 1);
	aj_pool_free(pool);
}

static void *caller(void *arg)
{
	aj_pool *pool = arg;
	for (int rep = 0; rep < 300; rep++)
		if (!run_once_each(pool, 1 + rep % 37))
			return (void *)1;
	return NULL;
}

/* Several threads run on one pool at once: each either gets the pool or
 * runs alone, and none waits forever or loses a task. */
static void test_pool_concurrent_callers(void **state)
{
	aj_pool *pool = aj_pool_new(3);
	pthread_t th[6];
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&th[i], NULL, caller, pool), 0);
	for (int i = 0; i < 6; i++) {
		void *r;
		pthread_join(th[i], &r);
		assert_null(r);
	}
	aj_pool_free(pool);
}

/* A child of fork() has no workers: its runs take the calling thread. */
static void test_pool_after_fork(void **state)
{
	aj_pool *pool = aj_pool_new(4);
	assert_true(run_once_each(pool, 100)); /* workers started */
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		hits h = {calloc(50, sizeof(_Atomic int)), 50};
		int used = aj_pool_run(pool, 50, hit, &h);
		bool ok = used == 1;
		for (int t = 0; t < 50; t++)
			ok = ok && h.count[t] == 1;
		_exit(ok ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(run_once_each(pool, 100));
	aj_pool_free(pool);
}

/* ---- thread counts through the API ---- */

static void test_thread_count_setting(void **state)
{
	setenv("AJ_NUM_THREADS", "3", 1);
	aj_ctx *ctx;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	assert_int_equal(aj_ctx_threads(ctx), 3);
	aj_ctx_free(ctx);
	setenv("AJ_NUM_THREADS", "lots", 1);
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	int dflt = aj_ctx_threads(ctx);
	assert_true(dflt >= 1);
	unsetenv("AJ_NUM_THREADS");
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, 7));
	assert_int_equal(aj_ctx_threads(ctx), 7);
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, 0));
	assert_int_equal(aj_ctx_threads(ctx), dflt);
	assert_int_equal(aj_ctx_set_threads(NULL, 2), AJ_ERR_ARG);
	aj_ctx_free(ctx);
}

static aj_array *random_matrix(env *E, aj_dtype t, int64_t rows, int64_t cols,
			       uint64_t seed)
{
	int64_t shape[2] = {rows, cols};
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 2, shape, &a));
	int64_t n = rows * cols * (t == AJ_COMPLEX128 || t == AJ_COMPLEX64 ? 2 : 1);
	for (int64_t i = 0; i < n; i++) {
		double v = ref_uniform(&seed, -1, 1) * (i % 7 == 0 ? 1e6 : 1);
		if (t == AJ_FLOAT32 || t == AJ_COMPLEX64)
			((float *)aj_array_data(a))[i] = (float)v;
		else
			((double *)aj_array_data(a))[i] = v;
	}
	return a;
}

static bool same_bits(const aj_array *x, const aj_array *y)
{
	size_t n = (size_t)aj_array_size(x) * aj_dtype_size(aj_array_dtype(x));
	return aj_array_size(x) == aj_array_size(y) &&
	       memcmp(aj_array_data(x), aj_array_data(y), n) == 0;
}

/*
 * Each expression gives the same bits on 1, 2, 3, 5 and 8 threads. The
 * inputs are large enough that the reductions run in chunks and the
 * elementwise work on the pool; values of mixed magnitude make a float sum
 * depend on its order, so a change of order would show.
 */
static void check_thread_independent(env *E, aj_array *a, const char *const *texts,
				     size_t ntext)
{
	static const int counts[] = {2, 3, 5, 8};
	aj_stats s0, s1;
	for (size_t i = 0; i < ntext; i++) {
		REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 1));
		aj_array *want = ref_eval1(E, texts[i], a);
		for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
			REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, counts[k]));
			aj_ctx_stats(E->ctx, &s0);
			aj_array *got = ref_eval1(E, texts[i], a);
			aj_ctx_stats(E->ctx, &s1);
			if (!same_bits(want, got))
				fail_msg("%s: %d threads differ from 1", texts[i], counts[k]);
			assert_true(s1.parallel_runs > s0.parallel_runs);
			aj_array_free(got);
		}
		aj_array_free(want);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 0));
}

static void test_reductions_thread_independent(void **state)
{
	static const char *const real[] = {
		"sum(a)", "mean(a)", "sum(a, axis=0)", "sum(a, axis=1)",
		"sum(a*a, axis=0)",
		"prod(a*1e-7 + 1)", "min(a)", "max(a, axis=0)", "argmin(a)",
		"argmax(a, axis=0)", "any(a > 0.999)", "sqrt(sum(a**2))",
		"exp(a*1e-6) * 2 + a",
	};
	static const char *const views[] = {"sum(a)", "sum(a, axis=1)", "argmax(a, axis=0)"};
	static const char *const cplx[] = {
		"sum(a)", "mean(a, axis=0)", "prod(a*1e-7 + 1)", "argmax(a)",
		"sum(a*conj(a))",
	};
	env *E = *state;
	static const aj_dtype reals[] = {AJ_FLOAT64, AJ_FLOAT32};
	for (int i = 0; i < 2; i++) {
		aj_array *a = random_matrix(E, reals[i], 1500, 700, 11 + (uint64_t)i);
		check_thread_independent(E, a, real, sizeof real / sizeof *real);
		/* a.T and a[::2, ::-3] */
		aj_array *v[2];
		aj_slice sl[2] = {{AJ_DEFAULT, AJ_DEFAULT, 2}, {AJ_DEFAULT, AJ_DEFAULT, -3}};
		REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, NULL, &v[0]));
		REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, sl, &v[1]));
		for (int k = 0; k < 2; k++) {
			check_thread_independent(E, v[k], views, sizeof views / sizeof *views);
			aj_array_free(v[k]);
		}
		aj_array_free(a);
	}
	/* wide: the combination of the partials is large itself */
	static const char *const wide[] = {"sum(a, axis=0)", "argmin(a, axis=0)",
					   "mean(a*2, axis=0)"};
	aj_array *w = random_matrix(E, AJ_FLOAT64, 600, 3000, 5);
	check_thread_independent(E, w, wide, sizeof wide / sizeof *wide);
	aj_array_free(w);
	aj_array *c = random_matrix(E, AJ_COMPLEX128, 800, 400, 3);
	check_thread_independent(E, c, cplx, sizeof cplx / sizeof *cplx);
	aj_array_free(c);
}

/* Small calls stay on the calling thread; the results still agree. */
static void test_small_calls_stay_home(void **state)
{
	env *E = *state;
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 4));
	aj_array *a = random_matrix(E, AJ_FLOAT64, 3, 3, 1);
	aj_stats s0, s1;
	aj_ctx_stats(E->ctx, &s0);
	for (int i = 0; i < 100; i++) {
		aj_array *o = ref_eval1(E, i % 2 ? "a*2 + 1" : "sum(a, axis=0)", a);
		aj_array_free(o);
	}
	aj_ctx_stats(E->ctx, &s1);
	assert_int_equal(s1.parallel_runs, s0.parallel_runs);
	assert_true(s1.kernels_run > s0.kernels_run);
	aj_array_free(a);
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 0));
}

/* In a child after fork, a context evaluates large kernels on the calling
 * thread, correctly. */
static void test_eval_after_fork(void **state)
{
	env *E = *state;
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 3));
	aj_array *a = random_matrix(E, AJ_FLOAT64, 1000, 300, 9);
	aj_array *want = ref_eval1(E, "sum(a, axis=0) * 3", a);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		aj_array *got = ref_eval1(E, "sum(a, axis=0) * 3", a);
		bool same = same_bits(want, got);
		aj_array_free(got); /* all, for valgrind's leak check of the child */
		aj_array_free(want);
		aj_array_free(a);
		_exit(same ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: %s %d", WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	aj_array_free(want);
	aj_array_free(a);
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 0));
}


/* Forks while another thread compiles kernel after kernel on its own
 * context: each child compiles a new kernel on a new context, within
 * a minute (a lock of LLVM's held across the fork would hang it; the
 * fork waits for compiles under way instead, jit/target.c). */
static _Atomic bool compiling;
/* The loop's objects, where a child (which has no such thread) can
 * still reach them: valgrind would call them lost. */
static aj_ctx *loop_ctx;
static aj_prog *loop_p;
static aj_array *loop_a;
static double loop_x[64];

static void *compile_loop(void *arg)
{
	if (aj_ctx_new(&loop_ctx) != AJ_OK)
		return NULL;
	if (aj_prog_new(loop_ctx, &loop_p) != AJ_OK) {
		aj_ctx_free(loop_ctx);
		return NULL;
	}
	int64_t n = 64;
	aj_array_wrap(loop_ctx, loop_x, sizeof loop_x, 0, AJ_FLOAT64, 1, &n, NULL, &loop_a);
	for (int i = 0; atomic_load(&compiling); i++) {
		/* a new structure each time: i's bits pick the ops */
		aj_expr e = aj_leaf(loop_p, loop_a);
		for (int b = 0; b < 12; b++)
			e = (i >> b) & 1 ? aj_mul(loop_p, e, aj_leaf(loop_p, loop_a))
					 : aj_add(loop_p, e, aj_scalar_f64(loop_p, b));
		aj_assign(loop_p, loop_a, e);
		aj_sync(loop_p);
	}
	aj_array_free(loop_a);
	aj_prog_free(loop_p);
	aj_ctx_free(loop_ctx);
	return NULL;
}

static void test_fork_while_compiling(void **state)
{
	atomic_store(&compiling, true);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, compile_loop, NULL), 0);
	for (int f = 0; f < 8; f++) {
		nanosleep(&(struct timespec){0, 7000000}, NULL);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alarm(60);
			aj_ctx *ctx;
			aj_prog *p;
			double x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
			int64_t n = 8;
			aj_array *a;
			if (aj_ctx_new(&ctx) || aj_prog_new(ctx, &p) ||
			    aj_array_wrap(ctx, x, sizeof x, 0, AJ_FLOAT64, 1, &n, NULL, &a))
				_exit(2);
			aj_expr e = aj_unary(p, AJ_OP_SQRT, aj_mul(p, aj_leaf(p, a),
								  aj_scalar_f64(p, f + 1.0)));
			if (aj_assign(p, a, e) || aj_sync(p))
				_exit(3);
			bool ok = x[3] == sqrt(4.0 * (f + 1));
			aj_array_free(a);
			aj_prog_free(p);
			aj_ctx_free(ctx);
			_exit(ok ? 0 : 4);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("child %d: %s %d", f, WIFEXITED(status) ? "exit" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	atomic_store(&compiling, false);
	pthread_join(t, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_each_task_once),
		cmocka_unit_test(test_pool_concurrent_callers),
		cmocka_unit_test(test_pool_after_fork),
		cmocka_unit_test(test_thread_count_setting),
		cmocka_unit_test_setup_teardown(test_reductions_thread_independent,
						ref_env_setup, ref_env_teardown),
		cmocka_unit_test_setup_teardown(test_small_calls_stay_home,
						ref_env_setup, ref_env_teardown),
		cmocka_unit_test_setup_teardown(test_eval_after_fork,
						ref_env_setup, ref_env_teardown),
		cmocka_unit_test(test_fork_while_compiling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
