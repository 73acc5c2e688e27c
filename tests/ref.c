/* Helpers shared by the tests; see ref.h. */
#include "ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t ref_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

double ref_uniform(uint64_t *state, double lo, double hi)
{
	double u = (double)(ref_rand(state) >> 11) * 0x1.0p-53;
	return lo + (hi - lo) * u;
}

/* Maps a double to an integer line where adjacent doubles differ by 1. */
static int64_t ordered64(double x)
{
	int64_t i;
	memcpy(&i, &x, sizeof i);
	return i < 0 ? INT64_MIN - i : i;
}

static int32_t ordered32(float x)
{
	int32_t i;
	memcpy(&i, &x, sizeof i);
	return i < 0 ? INT32_MIN - i : i;
}

/* The difference is taken in integers: near 2^62 doubles are 1024 apart,
 * so converting first would hide (or inflate) small distances. */
double ref_ulp64(double got, double want)
{
	if (isnan(got) || isnan(want))
		return isnan(got) && isnan(want) ? 0 : 1e300;
	int64_t a = ordered64(got), b = ordered64(want);
	return (double)(a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a);
}

double ref_ulp32(float got, float want)
{
	if (isnan(got) || isnan(want))
		return isnan(got) && isnan(want) ? 0 : 1e300;
	int64_t a = ordered32(got), b = ordered32(want);
	return (double)(a > b ? a - b : b - a);
}

void ref_ok_ctx(aj_ctx *ctx, aj_status s, const char *what, const char *file, int line)
{
	if (s != AJ_OK) {
		print_error("%s:%d: %s failed (%d): %s\n", file, line, what, (int)s,
			    ctx ? aj_ctx_errmsg(ctx) : "");
		_fail(file, line);
	}
}

void ref_ok_prog(aj_prog *p, aj_status s, const char *what, const char *file, int line)
{
	if (s != AJ_OK) {
		print_error("%s:%d: %s failed (%d): %s\n", file, line, what, (int)s,
			    p ? aj_prog_errmsg(p) : "");
		_fail(file, line);
	}
}

int ref_env_setup(void **state)
{
	ref_env *E = calloc(1, sizeof *E);
	if (!E || aj_ctx_new(&E->ctx) != AJ_OK ||
	    aj_prog_new(E->ctx, &E->p) != AJ_OK)
		return -1;
	*state = E;
	return 0;
}

int ref_env_teardown(void **state)
{
	ref_env *E = *state;
	aj_prog_free(E->p);
	aj_ctx_free(E->ctx);
	free(E);
	return 0;
}

aj_expr ref_parse1(aj_prog *p, const char *text, aj_array *a)
{
	const char *names[] = {"a"};
	aj_expr vals[] = {aj_leaf(p, a)}, e;
	REF_OK_PROG(p, aj_parse(p, text, 1, names, vals, &e));
	return e;
}

aj_array *ref_eval1(ref_env *E, const char *text, aj_array *a)
{
	aj_prog *p = E->p;
	aj_expr e = ref_parse1(p, text, a);
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(p, e, shape);
	aj_array *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, aj_expr_dtype(p, e), nd, shape, &o));
	REF_OK_PROG(p, aj_assign(p, o, e));
	REF_OK_PROG(p, aj_sync(p));
	return o;
}

bool ref_next_index(int ndim, const int64_t *shape, int64_t *idx)
{
	for (int k = ndim - 1; k >= 0; k--) {
		if (++idx[k] < shape[k])
			return true;
		idx[k] = 0;
	}
	return false;
}
