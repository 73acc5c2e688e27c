/*
 * A program outside the tree, built against an installed arrjit
 * (tests/install_test.sh): y = 2*a + b over wrapped memory, then the norm
 * sqrt(sum(y**2)) from text. Exits non-zero on a wrong answer or when the
 * header and the library it loaded disagree on the version.
 */
#include <arrjit.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N 1000

static int fail(aj_ctx *ctx, const char *what)
{
	fprintf(stderr, "consumer: %s: %s\n", what, aj_ctx_errmsg(ctx));
	return 1;
}

int main(void)
{
	if (strcmp(aj_version(), AJ_VERSION_STRING) != 0) {
		fprintf(stderr, "consumer: header %s, library %s\n",
			AJ_VERSION_STRING, aj_version());
		return 1;
	}
	static double A[N], B[N], Y[N];
	double want = 0;
	for (int i = 0; i < N; i++) {
		A[i] = i * 0.5;
		B[i] = 1.0 / (i + 1);
		want += (2 * A[i] + B[i]) * (2 * A[i] + B[i]);
	}
	want = sqrt(want);

	aj_ctx *ctx;
	aj_prog *p;
	aj_names *ns;
	aj_array *a, *b, *y, *norm;
	int64_t shape[1] = {N}, one[1] = {1};
	double got = 0;
	if (aj_ctx_new(&ctx) != AJ_OK)
		return 1;
	if (aj_prog_new(ctx, &p) != AJ_OK ||
	    aj_array_wrap(ctx, A, sizeof A, 0, AJ_FLOAT64, 1, shape, NULL,
			  &a) != AJ_OK ||
	    aj_array_wrap(ctx, B, sizeof B, 0, AJ_FLOAT64, 1, shape, NULL,
			  &b) != AJ_OK ||
	    aj_array_wrap(ctx, Y, sizeof Y, 0, AJ_FLOAT64, 1, shape, NULL,
			  &y) != AJ_OK ||
	    aj_array_wrap(ctx, &got, sizeof got, 0, AJ_FLOAT64, 0, one, NULL,
			  &norm) != AJ_OK)
		return fail(ctx, "setup");
	aj_expr e = aj_add(p, aj_mul(p, aj_scalar_f64(p, 2), aj_leaf(p, a)),
			   aj_leaf(p, b));
	if (aj_assign(p, y, e) != AJ_OK || aj_sync(p) != AJ_OK)
		return fail(ctx, "y = 2*a + b");
	if (aj_names_new(p, &ns) != AJ_OK ||
	    aj_names_set_array(ns, "y", y) != AJ_OK ||
	    aj_names_set_array(ns, "norm", norm) != AJ_OK ||
	    aj_exec(ns, "norm = sqrt(sum(y**2))", NULL) != AJ_OK ||
	    aj_sync(p) != AJ_OK)
		return fail(ctx, "norm");
	for (int i = 0; i < N; i++)
		if (Y[i] != 2 * A[i] + B[i]) {
			fprintf(stderr, "consumer: y[%d] = %g\n", i, Y[i]);
			return 1;
		}
	if (fabs(got - want) > 1e-12 * want) {
		fprintf(stderr, "consumer: norm %.17g, want %.17g\n", got,
			want);
		return 1;
	}
	aj_names_free(ns);
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(y);
	aj_array_free(norm);
	aj_prog_free(p);
	aj_ctx_free(ctx);
	printf("consumer: arrjit %s, norm %.6f\n", aj_version(), got);
	return 0;
}
