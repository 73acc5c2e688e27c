/*
 * The complex functions kernels call, lane by lane. NumPy computes exp,
 * log, sqrt and the trig and hyperbolic families of complex numbers with
 * the C library's (glibc's) functions, so these are those functions; exp2,
 * expm1, log2, log10, log1p and power NumPy defines by formulas of its own
 * (umath's funcs.inc and npymath's npy_cpow), reproduced here operation
 * for operation so results match to the bit where NumPy's inputs to libm
 * match.
 */
#include "runtime.h"
#include "fpow.h"
#include "philox.h"

#include <complex.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* glibc defines CMPLX and CMPLXF only for GCC >= 4.7 by version number;
 * clang (the fuzz build) has the same builtin. */
#if !defined(CMPLX) && defined(__clang__)
#define CMPLX(x, y) __builtin_complex((double)(x), (double)(y))
#define CMPLXF(x, y) __builtin_complex((float)(x), (float)(y))
#endif

/* NumPy's constants (npy_math.h). */
#define LOGE2 0.693147180559945309417232121458176568
#define LOG2E 1.442695040888963407359924681001892137
#define LOG10E 0.434294481903251827651128918916605082

/* The part-by-part products NumPy's cmul and cdiv use (Annex G's
 * infinity recovery would give other results than NumPy's). */
#define DEFINE_HELPERS(T, C, F, SUF)                                          \
	static C cmul##SUF(C a, C b)                                          \
	{                                                                     \
		T ar = creal##F(a), ai = cimag##F(a);                         \
		T br = creal##F(b), bi = cimag##F(b);                         \
		return CMPLX##SUF(ar * br - ai * bi, ar * bi + ai * br);      \
	}                                                                     \
	static C cdiv##SUF(C a, C b)                                          \
	{                                                                     \
		T ar = creal##F(a), ai = cimag##F(a);                         \
		T br = creal##F(b), bi = cimag##F(b);                         \
		T abr = fabs##F(br), abi = fabs##F(bi);                       \
		if (abr >= abi) {                                             \
			if (abr == 0 && abi == 0)                             \
				return CMPLX##SUF(ar / abr, ai / abi);        \
			T rat = bi / br, scl = (T)1 / (br + bi * rat);        \
			return CMPLX##SUF((ar + ai * rat) * scl,              \
					  (ai - ar * rat) * scl);             \
		}                                                             \
		T rat = br / bi, scl = (T)1 / (bi + br * rat);                \
		return CMPLX##SUF((ar * rat + ai) * scl, (ai * rat - ar) * scl); \
	}                                                                     \
	C aj_rt_cexp2##F(C z)                                                 \
	{                                                                     \
		return cexp##F(CMPLX##SUF(creal##F(z) * (T)LOGE2,             \
					  cimag##F(z) * (T)LOGE2));           \
	}                                                                     \
	C aj_rt_cexpm1##F(C z)                                                \
	{                                                                     \
		T x = creal##F(z), y = cimag##F(z), a = sin##F(y / 2);        \
		return CMPLX##SUF(expm1##F(x) * cos##F(y) - 2 * a * a,        \
				  exp##F(x) * sin##F(y));                     \
	}                                                                     \
	C aj_rt_clog2##F(C z)                                                 \
	{                                                                     \
		C l = clog##F(z);                                             \
		return CMPLX##SUF(creal##F(l) * (T)LOG2E, cimag##F(l) * (T)LOG2E); \
	}                                                                     \
	C aj_rt_clog10##F(C z)                                                \
	{                                                                     \
		C l = clog##F(z);                                             \
		return CMPLX##SUF(creal##F(l) * (T)LOG10E,                    \
				  cimag##F(l) * (T)LOG10E);                   \
	}                                                                     \
	C aj_rt_clog1p##F(C z)                                                \
	{                                                                     \
		T x = creal##F(z) + 1, y = cimag##F(z);                       \
		return CMPLX##SUF(log##F(hypot##F(x, y)), atan2##F(y, x));    \
	}                                                                     \
	/* npy_cpow: 1 for a zero exponent; 0 or NaN for a zero base;     \
	 * integer exponents below 100 in magnitude by repeated products; \
	 * else cpow. */                                                      \
	C aj_rt_cpow##F(C a, C b)                                             \
	{                                                                     \
		T ar = creal##F(a), ai = cimag##F(a);                         \
		T br = creal##F(b), bi = cimag##F(b);                         \
		if (br == 0 && bi == 0)                                       \
			return CMPLX##SUF(1, 0);                              \
		if (ar == 0 && ai == 0)                                       \
			return br > 0 && bi == 0 ? CMPLX##SUF(0, 0)         \
						 : CMPLX##SUF(NAN, NAN);     \
		if (bi == 0 && br > -100 && br < 100 && br == (long)br) {     \
			long n = (long)br;                                    \
			if (n == 1)                                           \
				return a;                                     \
			if (n == 2)                                           \
				return cmul##SUF(a, a);                       \
			if (n == 3)                                           \
				return cmul##SUF(a, cmul##SUF(a, a));         \
			C acc = CMPLX##SUF(1, 0), p = a;                      \
			for (long m = n < 0 ? -n : n; m; m >>= 1) {           \
				if (m & 1)                                    \
					acc = cmul##SUF(acc, p);              \
				if (m > 1)                                    \
					p = cmul##SUF(p, p);                  \
			}                                                     \
			return n < 0 ? cdiv##SUF(CMPLX##SUF(1, 0), acc) : acc; \
		}                                                             \
		return cpow##F(a, b);                                         \
	}

#define CMPLXD CMPLX
DEFINE_HELPERS(double, double complex, , D)
DEFINE_HELPERS(float, float complex, f, F)

/* Complex ops and the functions computing them (complex128; complex64's
 * add an f): the one list both the lowering and the JIT's symbols use. */
#define COMPLEX_FUNCTIONS(X)                                                  \
	X(SQRT, csqrt) X(EXP, cexp) X(LOG, clog) X(SIN, csin) X(COS, ccos)    \
	X(TAN, ctan) X(ARCSIN, casin) X(ARCCOS, cacos) X(ARCTAN, catan)       \
	X(SINH, csinh) X(COSH, ccosh) X(TANH, ctanh) X(ARCSINH, casinh)       \
	X(ARCCOSH, cacosh) X(ARCTANH, catanh) X(EXP2, aj_rt_cexp2)            \
	X(EXPM1, aj_rt_cexpm1) X(LOG2, aj_rt_clog2) X(LOG10, aj_rt_clog10)    \
	X(LOG1P, aj_rt_clog1p) X(POW, aj_rt_cpow)

const char *aj_runtime_complex_name(aj_op op)
{
	switch (op) {
#define X(id, fn)         \
	case AJ_OP_##id: \
		return #fn;
		COMPLEX_FUNCTIONS(X)
#undef X
	default:
		return NULL;
	}
}

/*
 * C's function f over the lanes of a vector, for the few inputs where
 * SLEEF departs from C's functions (lower.c's libm_fallback): r[i] =
 * f(x[i]) or f(x[i], y[i]) for i < n, the vectors passed through memory,
 * so that a kernel makes one call there where a call per lane would cost
 * its compile a millisecond or more.
 */
#define DEFINE_LANES(T, SUF)                                                  \
	static void aj_rt_lanes1_##SUF(T (*f)(T), const T *x, T *r, int64_t n) \
	{                                                                     \
		for (int64_t i = 0; i < n; i++)                               \
			r[i] = f(x[i]);                                       \
	}                                                                     \
	static void aj_rt_lanes2_##SUF(T (*f)(T, T), const T *x, const T *y,  \
				       T *r, int64_t n)                       \
	{                                                                     \
		for (int64_t i = 0; i < n; i++)                               \
			r[i] = f(x[i], y[i]);                                 \
	}
DEFINE_LANES(double, f64)
DEFINE_LANES(float, f32)
#undef DEFINE_LANES

const aj_runtime_sym aj_runtime_syms[] = {
#define X(id, fn) {#fn, (void *)fn}, {#fn "f", (void *)fn##f},
	COMPLEX_FUNCTIONS(X)
#undef X
	{"aj_rt_lanes1_f64", (void *)aj_rt_lanes1_f64},
	{"aj_rt_lanes2_f64", (void *)aj_rt_lanes2_f64},
	{"aj_rt_lanes1_f32", (void *)aj_rt_lanes1_f32},
	{"aj_rt_lanes2_f32", (void *)aj_rt_lanes2_f32},
	{"aj_rt_draw", (void *)aj_rt_draw}, /* random values (jit/random.c) */
	/* float powers (lib/fpow.c) */
#define X(w) {"aj_rt_pow_f" #w, (void *)aj_rt_pow_f##w}, {"aj_rt_powi_f" #w, (void *)aj_rt_powi_f##w},
	X(64x8) X(32x16) X(64x4) X(32x8) X(32x4)
#undef X
};
const int aj_nruntime_syms = sizeof aj_runtime_syms / sizeof aj_runtime_syms[0];
