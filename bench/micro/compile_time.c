/*
 * The compile time of one statement's kernel: a fresh context per run
 * (aj_stats.compile_ns), after a warm-up kernel of its own so that LLVM's
 * first-use costs stay out; min and median of the runs. Run it with
 * AJ_CACHE=off, or the disk cache answers from the second run on.
 * a, b: float64 of shape N (M = 0) or N x M; out: the same, or OUTN
 * elements when OUTN is set (for a[::2] statements).
 *
 *   gcc -O2 -Iinclude bench/micro/compile_time.c -Lbuild/lib -larrjit \
 *       -Wl,-rpath,$PWD/build/lib -o /tmp/ct
 *   AJ_CACHE=off /tmp/ct 4000 4000 'out = a + a.T' 9
 *   AJ_CACHE=off OUTN=1000000 /tmp/ct 2000000 0 'out = (a[::2]+1)**50' 9
 */
#include "arrjit.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

/* One run: the statement's compile time in ms, or -1 on failure. */
static double one(int ndim, const int64_t *shape, const int64_t *oshape, const char *stmt)
{
	aj_ctx *c;
	aj_array *a = NULL, *b = NULL, *o = NULL;
	aj_prog *p = NULL;
	aj_names *ns = NULL;
	double ms = -1;
	if (aj_ctx_new(&c))
		return -1;
	aj_ctx_set_threads(c, 1);
	if (aj_array_new(c, AJ_FLOAT64, ndim, shape, &a) ||
	    aj_array_new(c, AJ_FLOAT64, ndim, shape, &b) ||
	    aj_array_new(c, AJ_FLOAT64, ndim, oshape, &o) || aj_prog_new(c, &p) ||
	    aj_names_new(p, &ns) || aj_names_set_array(ns, "a", a) ||
	    aj_names_set_array(ns, "b", b) || aj_names_set_array(ns, "out", o))
		goto done;
	if (aj_exec(ns, "out[...] = -out", NULL) || aj_sync(p)) /* warm-up */
		goto done;
	aj_stats s0, s1;
	aj_ctx_stats(c, &s0);
	if (aj_exec(ns, stmt, NULL) || aj_sync(p)) {
		fprintf(stderr, "%s\n", aj_prog_errmsg(p));
		goto done;
	}
	aj_ctx_stats(c, &s1);
	ms = (double)(s1.compile_ns - s0.compile_ns) / 1e6;
done:
	aj_names_free(ns);
	aj_prog_free(p);
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(o);
	aj_ctx_free(c);
	return ms;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s N M STATEMENT [RUNS]\n", argv[0]);
		return 2;
	}
	int64_t shape[2] = {atoll(argv[1]), atoll(argv[2])};
	int64_t oshape[2] = {getenv("OUTN") ? atoll(getenv("OUTN")) : shape[0], shape[1]};
	int ndim = shape[1] ? 2 : 1, runs = argc > 4 ? atoi(argv[4]) : 9;
	double t[64];
	if (runs < 1 || runs > 64)
		return 2;
	for (int r = 0; r < runs; r++)
		if ((t[r] = one(ndim, shape, oshape, argv[3])) < 0)
			return 1;
	qsort(t, (size_t)runs, sizeof *t, cmp);
	printf("%-40s min %.2f med %.2f ms\n", argv[3], t[0], t[runs / 2]);
	return 0;
}
