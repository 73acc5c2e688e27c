/*
 * The norm sqrt(sum(a**2)) of a million values, with no temporary: the
 * square is fused into the reduction, so a is read once and no array of
 * squares exists. The only scratch (aj_stats.temp_bytes) is the partial
 * sums of the fixed chunks the reduction is cut into: a few hundred bytes
 * where an array of squares would take 8 MB.
 */
#include <arrjit.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000000

int main(void)
{
	double *A = malloc(N * sizeof *A), norm = 0, want = 0;
	if (!A)
		return 1;
	for (int i = 0; i < N; i++) {
		A[i] = sin(i * 0.001);
		want += A[i] * A[i];
	}
	want = sqrt(want);

	int64_t n = N;
	aj_ctx *ctx;
	aj_prog *p;
	aj_array *a, *out;
	if (aj_ctx_new(&ctx) != AJ_OK)
		return 1;
	/* The result is a 0-d array over one double of ours. */
	if (aj_prog_new(ctx, &p) != AJ_OK ||
	    aj_array_wrap(ctx, A, N * sizeof *A, 0, AJ_FLOAT64, 1, &n, NULL,
			  &a) != AJ_OK ||
	    aj_array_wrap(ctx, &norm, sizeof norm, 0, AJ_FLOAT64, 0, NULL, NULL,
			  &out) != AJ_OK) {
		fprintf(stderr, "setup: %s\n", aj_ctx_errmsg(ctx));
		return 1;
	}
	/* sum over every axis (naxis 0), not keeping them. */
	aj_expr sq =
	    aj_binary(p, AJ_OP_POW, aj_leaf(p, a), aj_scalar_i64(p, 2));
	aj_expr e = aj_unary(p, AJ_OP_SQRT,
			     aj_reduce(p, AJ_OP_SUM, sq, 0, NULL, false));
	if (aj_assign(p, out, e) != AJ_OK || aj_sync(p) != AJ_OK) {
		fprintf(stderr, "norm: %s\n", aj_prog_errmsg(p));
		return 1;
	}
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	printf("norm = %.15g (loop: %.15g), temporary bytes: %llu\n", norm,
	       want, (unsigned long long)st.temp_bytes);
	/* arrjit's sum is pairwise, the loop's sequential: close, not equal. */
	if (fabs(norm - want) > 1e-12 * want || st.temp_bytes > 4096)
		return 1;

	aj_array_free(a);
	aj_array_free(out);
	aj_prog_free(p);
	aj_ctx_free(ctx);
	free(A);
	return 0;
}
