/*
 * Out of memory at every allocation of a representative workload: a
 * context, wrapped, owned and viewed arrays, fused kernels (transcendental,
 * transposed and tiled, reductions, where), a namespace running text, a
 * prepared kernel, a take whose check waits for its positions, a
 * selection, random numbers, a dump, and a .npy round trip. For each n, the nth allocation fails: the workload must stop with
 * AJ_ERR_NOMEM, write nothing to an output whose sync failed, and give
 * back every block it took. Then n + 1, until the workload runs through.
 */
#define _POSIX_C_SOURCE 200809L
#include "ref.h"

#include "alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { R = 200, C = 190 }; /* over the parallel threshold */

typedef struct run {
	aj_status status; /* the first failure */
	int step;         /* where, for the message */
	bool wrote;       /* an output changed by a failed sync */
	char msg[256];
} run;

typedef struct bufs {
	double a[R * C], b[R * C], o[R * C], snap[R * C];
} bufs;

/* Runs p's pending work; on failure, checks that o did not change. */
static aj_status sync_checked(aj_prog *p, bufs *m, run *r)
{
	memcpy(m->snap, m->o, sizeof m->o);
	aj_status s = aj_sync(p);
	if (s != AJ_OK && memcmp(m->snap, m->o, sizeof m->o) != 0)
		r->wrote = true;
	return s;
}

#define STEP(call, errmsg)                                                     \
	do {                                                                   \
		r->step = __LINE__;                                            \
		if ((r->status = (call)) != AJ_OK) {                           \
			snprintf(r->msg, sizeof r->msg, "%s", (errmsg));       \
			goto out;                                              \
		}                                                              \
	} while (0)

static void workload(bufs *m, const char *npy, run *r)
{
	aj_ctx *ctx = NULL;
	aj_prog *p = NULL;
	aj_names *ns = NULL;
	aj_prepared *k = NULL;
	aj_array *a = NULL, *b = NULL, *o = NULL, *t = NULL, *at = NULL;
	aj_array *sel = NULL, *back = NULL, *ix = NULL;
	char *text = NULL;
	int64_t shape[2] = {R, C}, tshape[2] = {C, R};
	size_t bytes = sizeof m->a;
	*r = (run){0};

	r->step = __LINE__;
	if ((r->status = aj_ctx_new(&ctx)) != AJ_OK) {
		snprintf(r->msg, sizeof r->msg, "aj_ctx_new");
		return;
	}
	const char *cm = aj_ctx_errmsg(ctx);
	STEP(aj_array_wrap(ctx, m->a, bytes, 0, AJ_FLOAT64, 2, shape, NULL, &a), cm);
	STEP(aj_array_wrap(ctx, m->b, bytes, 0, AJ_FLOAT64, 2, shape, NULL, &b), cm);
	STEP(aj_array_wrap(ctx, m->o, bytes, 0, AJ_FLOAT64, 2, shape, NULL, &o), cm);
	STEP(aj_array_new(ctx, AJ_FLOAT64, 2, tshape, &t), cm);
	STEP(aj_view_permute(ctx, t, NULL, &at), cm);
	STEP(aj_prog_new(ctx, &p), cm);
	const char *pm = aj_prog_errmsg(p);

	/* exp(a) * b + t.T: vector math and a tiled transpose */
	aj_expr e = aj_add(p, aj_mul(p, aj_unary(p, AJ_OP_EXP, aj_leaf(p, a)),
				     aj_leaf(p, b)),
			   aj_leaf(p, at));
	STEP(aj_assign(p, o, e), pm);
	STEP(sync_checked(p, m, r), pm);
	/* o = where(a > 0.5, a, 0) + sum(a * b, axis=0) */
	int ax0 = 0;
	aj_expr x = aj_leaf(p, a);
	e = aj_add(p, aj_where(p, aj_binary(p, AJ_OP_GT, x, aj_scalar_f64(p, 0.5)), x,
			       aj_scalar_f64(p, 0)),
		   aj_reduce(p, AJ_OP_SUM, aj_mul(p, x, aj_leaf(p, b)), 1, &ax0, false));
	STEP(aj_assign(p, o, e), pm);
	STEP(sync_checked(p, m, r), pm);

	/* text: temporaries, views, a reduction, in place */
	STEP(aj_names_new(p, &ns), pm);
	STEP(aj_names_set_array(ns, "a", a), pm);
	STEP(aj_names_set_array(ns, "b", b), pm);
	STEP(aj_names_set_array(ns, "o", o), pm);
	STEP(aj_names_set_f64(ns, "k", 3), pm);
	STEP(aj_exec(ns, "u = a * k; o = u + b[::-1] - max(u, axis=1)[:, None]; "
			 "o[1:] = o[:-1]", NULL), pm);
	STEP(sync_checked(p, m, r), pm);

	/* a prepared kernel, fast path */
	aj_param params[] = {{"a", a, AJ_FLOAT64}, {"o", o, AJ_FLOAT64},
			     {"r", NULL, AJ_FLOAT64}};
	STEP(aj_prepare(ctx, "o = sqrt(a) * r + o", 3, params, &k), cm);
	aj_arg args[] = {{.array = a}, {.array = o}, {.f = 2}};
	memcpy(m->snap, m->o, sizeof m->o);
	r->step = __LINE__;
	if ((r->status = aj_prepared_run(k, args)) != AJ_OK) {
		r->wrote = memcmp(m->snap, m->o, sizeof m->o) != 0;
		snprintf(r->msg, sizeof r->msg, "%s", aj_prepared_errmsg(k));
		goto out;
	}

	/* positions computed by the sync that checks them: their check waits,
	 * so the sync snapshots them first */
	int64_t cols = C;
	STEP(aj_array_new(ctx, AJ_INT64, 1, &cols, &ix), cm);
	STEP(aj_assign(p, ix, aj_scalar_i64(p, 1)), pm);
	STEP(aj_assign(p, ix, aj_mul(p, aj_leaf(p, ix), aj_scalar_i64(p, 2))), pm);
	STEP(aj_assign(p, o, aj_add(p, aj_leaf(p, o), aj_take(p, aj_leaf(p, a),
							       aj_leaf(p, ix), 1))),
	     pm);
	STEP(sync_checked(p, m, r), pm);

	/* a selection, random numbers, a dump */
	x = aj_leaf(p, a);
	STEP(aj_mask_select(p, x, aj_binary(p, AJ_OP_GT, x, aj_scalar_f64(p, 0.7)),
			    &sel),
	     pm);
	STEP(aj_assign(p, o, aj_random(p, AJ_DIST_UNIFORM, AJ_FLOAT64, 2, shape)), pm);
	STEP(sync_checked(p, m, r), pm);
	STEP(aj_dump(p, aj_add(p, aj_leaf(p, a), aj_leaf(p, b)), AJ_STAGE_OPT, &text),
	     pm);

	/* .npy out and back */
	STEP(aj_npy_save(ctx, npy, o), cm);
	STEP(aj_npy_load(ctx, npy, &back), cm);
	if (memcmp(aj_array_data(back), m->o, bytes) != 0)
		r->status = AJ_ERR_IO, snprintf(r->msg, sizeof r->msg, "npy round trip");
out:
	aj_string_free(text);
	aj_array_free(back);
	aj_array_free(sel);
	aj_array_free(ix);
	aj_prepared_free(k);
	aj_names_free(ns);
	aj_prog_free(p);
	aj_array_free(at);
	aj_array_free(t);
	aj_array_free(o);
	aj_array_free(b);
	aj_array_free(a);
	aj_ctx_free(ctx);
}

static void fill(bufs *m)
{
	for (int i = 0; i < R * C; i++) {
		m->a[i] = (i % 97) / 97.0;
		m->b[i] = (i % 13) - 6;
		m->o[i] = i;
	}
}

static void test_every_allocation_fails_cleanly(void **state)
{
	bufs *m = malloc(sizeof *m);
	assert_non_null(m);
	char npy[] = "/tmp/aj-nomem-XXXXXX";
	int fd = mkstemp(npy);
	assert_true(fd >= 0);
	close(fd);
	run r;

	/* Once through, for whatever is made once per process; again, for
	 * the values and the number of allocations of a full run. */
	fill(m);
	workload(m, npy, &r);
	fill(m);
	uint64_t calls = aj_alloc_calls();
	workload(m, npy, &r);
	calls = aj_alloc_calls() - calls;
	if (r.status != AJ_OK)
		fail_msg("line %d: %s", r.step, r.msg);
	double *want = malloc(sizeof m->o);
	assert_non_null(want);
	memcpy(want, m->o, sizeof m->o);
	int64_t live = aj_alloc_live();

	/* A failure the library absorbs (a cache entry it does without)
	 * must still give the full run's values. */
	int nomem = 0, absorbed = 0;
	for (uint64_t n = 1; n <= calls; n++) {
		fill(m);
		aj_alloc_fail_after(n);
		workload(m, npy, &r);
		aj_alloc_fail_after(0);
		if (aj_alloc_live() != live)
			fail_msg("n = %llu (line %d): %lld blocks not freed",
				 (unsigned long long)n, r.step,
				 (long long)(aj_alloc_live() - live));
		if (r.wrote)
			fail_msg("n = %llu (line %d): a failed sync wrote its output",
				 (unsigned long long)n, r.step);
		if (r.status == AJ_OK) {
			if (memcmp(want, m->o, sizeof m->o) != 0)
				fail_msg("n = %llu: ran through with other values",
					 (unsigned long long)n);
			absorbed++;
		} else if (r.status != AJ_ERR_NOMEM) {
			fail_msg("n = %llu (line %d): status %d, not AJ_ERR_NOMEM: %s",
				 (unsigned long long)n, r.step, (int)r.status, r.msg);
		} else {
			nomem++;
		}
	}
	printf("# %llu allocation points: %d failed cleanly, %d absorbed\n",
	       (unsigned long long)calls, nomem, absorbed);
	assert_true(nomem > 0);
	free(want);
	unlink(npy);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_allocation_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
