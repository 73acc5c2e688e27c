/*
 * Fused random initialisation: x = 10 + 2*normal() and u = 2*random() - 1
 * fill caller buffers in one kernel each; the random numbers are computed
 * inside the kernel (counter-based Philox), never stored on their own.
 * Each value depends only on (seed, stream, position), so the same seed
 * gives the same bits, on any number of threads.
 */
#include <arrjit.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000000

/* Fills X and U from seed. A shapeless random leaf (ndim 0) draws one
 * value per element of the output it is assigned to. */
static aj_status fill(aj_ctx *ctx, aj_array *x, aj_array *u, uint64_t seed)
{
	aj_prog *p;
	aj_status s = aj_ctx_set_seed(ctx, seed);
	if (s != AJ_OK || (s = aj_prog_new(ctx, &p)) != AJ_OK)
		return s;
	aj_expr nrm = aj_random(p, AJ_DIST_NORMAL, AJ_FLOAT64, 0, NULL);
	aj_expr uni = aj_random(p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL);
	s = aj_assign(p, x,
		      aj_add(p, aj_scalar_f64(p, 10),
			     aj_mul(p, aj_scalar_f64(p, 2), nrm)));
	if (s == AJ_OK)
		s = aj_assign(p, u,
			      aj_sub(p, aj_mul(p, aj_scalar_f64(p, 2), uni),
				     aj_scalar_f64(p, 1)));
	if (s == AJ_OK)
		s = aj_sync(p);
	if (s != AJ_OK)
		fprintf(stderr, "fill: %s\n", aj_prog_errmsg(p));
	aj_prog_free(p);
	return s;
}

int main(void)
{
	double *X = malloc(N * sizeof *X), *U = malloc(N * sizeof *U);
	double *X2 = malloc(N * sizeof *X2);
	if (!X || !U || !X2)
		return 1;
	int64_t n = N;
	aj_ctx *ctx;
	aj_array *x, *u;
	if (aj_ctx_new(&ctx) != AJ_OK)
		return 1;
	if (aj_array_wrap(ctx, X, N * sizeof *X, 0, AJ_FLOAT64, 1, &n, NULL,
			  &x) != AJ_OK ||
	    aj_array_wrap(ctx, U, N * sizeof *U, 0, AJ_FLOAT64, 1, &n, NULL,
			  &u) != AJ_OK ||
	    fill(ctx, x, u, 42) != AJ_OK)
		return 1;

	/* Sample moments: mean 10 and sd 2, mean 0 and range [-1, 1). With a
	 * million values the bounds are many standard errors wide. */
	double sx = 0, sxx = 0, su = 0;
	for (int i = 0; i < N; i++) {
		sx += X[i];
		sxx += X[i] * X[i];
		su += U[i];
		if (!(U[i] >= -1 && U[i] < 1)) {
			fprintf(stderr, "u[%d] = %g out of [-1, 1)\n", i, U[i]);
			return 1;
		}
	}
	double mean = sx / N, sd = sqrt(sxx / N - mean * mean);
	printf("normal: mean %.4f sd %.4f; uniform: mean %.4f\n", mean, sd,
	       su / N);
	if (fabs(mean - 10) > 0.02 || fabs(sd - 2) > 0.02 ||
	    fabs(su / N) > 0.01)
		return 1;

	/* Same seed, same numbers. */
	memcpy(X2, X, N * sizeof *X);
	if (fill(ctx, x, u, 42) != AJ_OK)
		return 1;
	if (memcmp(X, X2, N * sizeof *X) != 0) {
		fprintf(stderr, "seed 42 twice gave different numbers\n");
		return 1;
	}

	aj_array_free(x);
	aj_array_free(u);
	aj_ctx_free(ctx);
	free(X);
	free(U);
	free(X2);
	return 0;
}
