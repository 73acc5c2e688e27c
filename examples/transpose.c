/*
 * A transposed add, out = a + a.T, into a buffer of the caller's. a.T is a
 * view (aj_view_permute: strides swapped, no copy); the kernel walks a in
 * tiles so that both a and a.T are read along cache lines
 * (`arrjit-dump --stage fused` marks such a kernel "tiled").
 */
#include <arrjit.h>

#include <stdio.h>
#include <stdlib.h>

#define N 1000

int main(void)
{
	double *A = malloc(N * N * sizeof *A),
	       *OUT = malloc(N * N * sizeof *OUT);
	if (!A || !OUT)
		return 1;
	for (int i = 0; i < N * N; i++)
		A[i] = i % 1013;

	int64_t shape[2] = {N, N};
	aj_ctx *ctx;
	aj_prog *p;
	aj_array *a, *at, *out;
	if (aj_ctx_new(&ctx) != AJ_OK)
		return 1;
	/* perm NULL reverses the axes: NumPy's a.T. */
	if (aj_prog_new(ctx, &p) != AJ_OK ||
	    aj_array_wrap(ctx, A, N * N * sizeof *A, 0, AJ_FLOAT64, 2, shape,
			  NULL, &a) != AJ_OK ||
	    aj_view_permute(ctx, a, NULL, &at) != AJ_OK ||
	    aj_array_wrap(ctx, OUT, N * N * sizeof *OUT, 0, AJ_FLOAT64, 2,
			  shape, NULL, &out) != AJ_OK) {
		fprintf(stderr, "setup: %s\n", aj_ctx_errmsg(ctx));
		return 1;
	}
	if (aj_assign(p, out, aj_add(p, aj_leaf(p, a), aj_leaf(p, at))) !=
		AJ_OK ||
	    aj_sync(p) != AJ_OK) {
		fprintf(stderr, "a + a.T: %s\n", aj_prog_errmsg(p));
		return 1;
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (OUT[i * N + j] != A[i * N + j] + A[j * N + i]) {
				fprintf(stderr, "out[%d, %d] = %g, want %g\n",
					i, j, OUT[i * N + j],
					A[i * N + j] + A[j * N + i]);
				return 1;
			}
	printf("a + a.T: %d x %d, correct\n", N, N);

	aj_array_free(a);
	aj_array_free(at);
	aj_array_free(out);
	aj_prog_free(p);
	aj_ctx_free(ctx);
	free(A);
	free(OUT);
	return 0;
}
