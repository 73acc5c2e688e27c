/*
 * In-place update in a hot loop: a += b*i for i = 0 .. 99999, over the
 * caller's own memory. The first call compiles one fused kernel; the
 * rest reuse it, most by replaying the remembered calls (aj_stats.replays).
 * Shown twice: the lazy API
 * (build, assign, sync each iteration) and a prepared kernel (compile the
 * text once, then run it with new scalars).
 */
#include <arrjit.h>

#include <stdio.h>

#define ROWS  3
#define COLS  4
#define ITERS 100000

static int check(const char *api, const double *a, const double *a0,
		 const double *b)
{
	/* sum of i over the loop; every value here is an exact integer. */
	double isum = (double)ITERS * (ITERS - 1) / 2;
	for (int j = 0; j < ROWS * COLS; j++)
		if (a[j] != a0[j] + b[j] * isum) {
			fprintf(stderr, "%s: a[%d] = %.17g, want %.17g\n", api,
				j, a[j], a0[j] + b[j] * isum);
			return 1;
		}
	return 0;
}

int main(void)
{
	double A[ROWS * COLS], A0[ROWS * COLS], B[ROWS * COLS];
	for (int j = 0; j < ROWS * COLS; j++) {
		A[j] = A0[j] = j;
		B[j] = j % 5 - 2;
	}
	int64_t shape[2] = {ROWS, COLS};
	aj_ctx *ctx;
	aj_prog *p;
	aj_array *a, *b;
	if (aj_ctx_new(&ctx) != AJ_OK)
		return 1;
	/* Wrap the buffers: no copy; NULL strides mean C order. */
	if (aj_prog_new(ctx, &p) != AJ_OK ||
	    aj_array_wrap(ctx, A, sizeof A, 0, AJ_FLOAT64, 2, shape, NULL,
			  &a) != AJ_OK ||
	    aj_array_wrap(ctx, B, sizeof B, 0, AJ_FLOAT64, 2, shape, NULL,
			  &b) != AJ_OK) {
		fprintf(stderr, "setup: %s\n", aj_ctx_errmsg(ctx));
		return 1;
	}

	/* 1. Lazy API. Builders record errors in p; assign and sync report. */
	for (int i = 0; i < ITERS; i++) {
		aj_expr e =
		    aj_add(p, aj_leaf(p, a),
			   aj_mul(p, aj_leaf(p, b), aj_scalar_f64(p, i)));
		if (aj_assign(p, a, e) != AJ_OK || aj_sync(p) != AJ_OK) {
			fprintf(stderr, "lazy: %s\n", aj_prog_errmsg(p));
			return 1;
		}
	}
	if (check("lazy", A, A0, B))
		return 1;
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	printf("lazy: %d iterations, %llu kernel(s) compiled, %llu replays\n",
	       ITERS, (unsigned long long)st.kernels_compiled,
	       (unsigned long long)st.replays);

	/* 2. Prepared kernel: a and b are array parameters (these arrays are
	 * the layout templates), i a float64 scalar parameter. */
	for (int j = 0; j < ROWS * COLS; j++)
		A[j] = A0[j];
	aj_param params[3] = {
	    {"a", a, 0}, {"b", b, 0}, {"i", NULL, AJ_FLOAT64}};
	aj_prepared *k;
	if (aj_prepare(ctx, "a += b*i", 3, params, &k) != AJ_OK) {
		fprintf(stderr, "prepare: %s\n", aj_ctx_errmsg(ctx));
		return 1;
	}
	for (int i = 0; i < ITERS; i++) {
		aj_arg args[3] = {{.array = a}, {.array = b}, {.f = i}};
		if (aj_prepared_run(k, args) != AJ_OK) {
			fprintf(stderr, "run: %s\n", aj_prepared_errmsg(k));
			return 1;
		}
	}
	if (check("prepared", A, A0, B))
		return 1;
	printf("prepared: %d runs, same result\n", ITERS);

	aj_prepared_free(k);
	aj_array_free(a);
	aj_array_free(b);
	aj_prog_free(p);
	aj_ctx_free(ctx);
	return 0;
}
