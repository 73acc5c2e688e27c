/*
 * A program of several outputs in text, run by aj_exec:
 *   t = a*b; c = t + 1; d = sum(t, axis=0)
 * t is bound to no array, so it is a lazy intermediate with no buffer;
 * c and d are bound to the caller's arrays and get the results. The
 * statements run in order at aj_sync, fused where their loops allow.
 */
#include <arrjit.h>

#include <stdio.h>

#define ROWS 100
#define COLS 8

int main(void)
{
	static double A[ROWS][COLS], B[ROWS][COLS], C[ROWS][COLS], D[COLS];
	for (int i = 0; i < ROWS; i++)
		for (int j = 0; j < COLS; j++) {
			A[i][j] = i + j;
			B[i][j] = j - 3;
		}
	int64_t shape[2] = {ROWS, COLS}, dshape[1] = {COLS};
	aj_ctx *ctx;
	aj_prog *p;
	aj_names *ns;
	aj_array *a, *b, *c, *d;
	if (aj_ctx_new(&ctx) != AJ_OK)
		return 1;
	if (aj_prog_new(ctx, &p) != AJ_OK || aj_names_new(p, &ns) != AJ_OK ||
	    aj_array_wrap(ctx, A, sizeof A, 0, AJ_FLOAT64, 2, shape, NULL,
			  &a) != AJ_OK ||
	    aj_array_wrap(ctx, B, sizeof B, 0, AJ_FLOAT64, 2, shape, NULL,
			  &b) != AJ_OK ||
	    aj_array_wrap(ctx, C, sizeof C, 0, AJ_FLOAT64, 2, shape, NULL,
			  &c) != AJ_OK ||
	    aj_array_wrap(ctx, D, sizeof D, 0, AJ_FLOAT64, 1, dshape, NULL,
			  &d) != AJ_OK) {
		fprintf(stderr, "setup: %s\n", aj_ctx_errmsg(ctx));
		return 1;
	}
	/* Bind the names the text uses; then run it and sync. */
	if (aj_names_set_array(ns, "a", a) != AJ_OK ||
	    aj_names_set_array(ns, "b", b) != AJ_OK ||
	    aj_names_set_array(ns, "c", c) != AJ_OK ||
	    aj_names_set_array(ns, "d", d) != AJ_OK ||
	    aj_exec(ns, "t = a*b; c = t + 1; d = sum(t, axis=0)", NULL) !=
		AJ_OK ||
	    aj_sync(p) != AJ_OK) {
		fprintf(stderr, "exec: %s\n", aj_prog_errmsg(p));
		return 1;
	}
	for (int j = 0; j < COLS; j++) {
		double sum = 0; /* exact: small integers */
		for (int i = 0; i < ROWS; i++) {
			double t = A[i][j] * B[i][j];
			sum += t;
			if (C[i][j] != t + 1) {
				fprintf(stderr, "c[%d, %d] = %g, want %g\n", i,
					j, C[i][j], t + 1);
				return 1;
			}
		}
		if (D[j] != sum) {
			fprintf(stderr, "d[%d] = %g, want %g\n", j, D[j], sum);
			return 1;
		}
	}
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	printf("c and d correct: %llu loop nest(s), %llu kernel(s) run\n",
	       (unsigned long long)st.groups,
	       (unsigned long long)st.kernels_run);

	aj_names_free(ns);
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(c);
	aj_array_free(d);
	aj_prog_free(p);
	aj_ctx_free(ctx);
	return 0;
}
