/*
 * Shared helpers for the cmocka tests: deterministic random data, ULP
 * distances, and small wrappers that turn aj_status failures into test
 * failures with the library's message.
 */
#ifndef AJ_TEST_REF_H
#define AJ_TEST_REF_H

#include "arrjit.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* xorshift64*: the same sequence on every machine. */
uint64_t ref_rand(uint64_t *state);
/* Uniform in [lo, hi). */
double ref_uniform(uint64_t *state, double lo, double hi);

/* Distance in units in the last place between two doubles (floats); NaN vs
 * NaN is 0, NaN vs number is huge. */
double ref_ulp64(double got, double want);
double ref_ulp32(float got, float want);

/* Advances idx over shape in C order; false after the last index. */
bool ref_next_index(int ndim, const int64_t *shape, int64_t *idx);

/* False under valgrind, whose emulation of the FPU is not exact (x87 at
 * 64 bits, FMA as two roundings, 64-bit integer to float through
 * double): tests skip comparing floating-point results to the last bit
 * there, and still run the code (`make valgrind` is for memory errors). */
bool ref_exact_fp(void);
/* True under valgrind, whose CPU (its CPUID) is not the host's: tests of
 * the code generated for this host skip themselves there. */
bool ref_valgrind(void);

/* A context and a program: the fixture most tests share. */
typedef struct ref_env {
	aj_ctx *ctx;
	aj_prog *p;
} ref_env;
int ref_env_setup(void **state);
int ref_env_teardown(void **state);

/* text parsed with one name, a, bound to array a; fails the test on a
 * parse error. */
aj_expr ref_parse1(aj_prog *p, const char *text, aj_array *a);
/* text over a evaluated into a new array of its shape and dtype. */
aj_array *ref_eval1(ref_env *E, const char *text, aj_array *a);

/* Element k of a C-order fill of dtype t, written at p: distinct per
 * element, with signs, NaN-free (ints k*37 - 1000 wrapped, floats
 * k*1.25 - 40, bool k % 3 == 1). */
void ref_fill_value(aj_dtype t, char *p, int64_t k);
/* A new C-order array of dtype t filled so. */
aj_array *ref_filled(ref_env *E, aj_dtype t, int nd, const int64_t *shape);

/* A new C-order float64 array (contents unset), and its data. */
aj_array *ref_f64_array(ref_env *E, int nd, const int64_t *shape);
double *ref_f64(const aj_array *a);

/* Fails the test with ctx's or p's message unless s == AJ_OK. */
#define REF_OK_CTX(ctx, call) ref_ok_ctx((ctx), (call), #call, __FILE__, __LINE__)
#define REF_OK_PROG(p, call) ref_ok_prog((p), (call), #call, __FILE__, __LINE__)
void ref_ok_ctx(aj_ctx *ctx, aj_status s, const char *what, const char *file, int line);
void ref_ok_prog(aj_prog *p, aj_status s, const char *what, const char *file, int line);

#endif
