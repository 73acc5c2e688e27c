/* Helpers shared by the tests; see ref.h. */
#include "ref.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define REF_VALGRIND_H 1
#endif
#endif

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

void ref_fill_value(aj_dtype t, char *p, int64_t k)
{
	double d = (double)k * 1.25 - 40;
	float f = (float)d;
	int64_t i = k * 37 - 1000;
	int8_t i8 = (int8_t)i;
	int16_t i16 = (int16_t)i;
	int32_t i32 = (int32_t)i;
	switch (t) {
	case AJ_BOOL: *p = (char)(k % 3 == 1); break;
	case AJ_FLOAT32: memcpy(p, &f, 4); break;
	case AJ_FLOAT64: memcpy(p, &d, 8); break;
	case AJ_COMPLEX64: {
		float z[2] = {f, (float)-k};
		memcpy(p, z, 8);
		break;
	}
	case AJ_COMPLEX128: {
		double z[2] = {d, (double)-k * 0.5};
		memcpy(p, z, 16);
		break;
	}
	default:
		switch (aj_dtype_size(t)) {
		case 1: memcpy(p, &i8, 1); break;
		case 2: memcpy(p, &i16, 2); break;
		case 4: memcpy(p, &i32, 4); break;
		default: memcpy(p, &i, 8); break;
		}
	}
}

aj_array *ref_filled(ref_env *E, aj_dtype t, int nd, const int64_t *shape)
{
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, nd, shape, &a));
	char *d = aj_array_data(a);
	for (int64_t k = 0; k < aj_array_size(a); k++)
		ref_fill_value(t, d + k * (int64_t)aj_dtype_size(t), k);
	return a;
}

aj_array *ref_f64_array(ref_env *E, int nd, const int64_t *shape)
{
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, nd, shape, &a));
	return a;
}

double *ref_f64(const aj_array *a)
{
	return aj_array_data(a);
}

bool ref_valgrind(void)
{
#ifdef REF_VALGRIND_H
	return RUNNING_ON_VALGRIND;
#else
	return false;
#endif
}

bool ref_exact_fp(void)
{
	return !ref_valgrind();
}
