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

#include <complex.h>
#include <math.h>
#include <stddef.h>

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

/* Complex ops and their functions; the glibc ones are C99's. */
static const struct {
	aj_op op;
	const char *name;
} complex_fn[] = {
	{AJ_OP_SQRT, "csqrt"},     {AJ_OP_EXP, "cexp"},
	{AJ_OP_LOG, "clog"},       {AJ_OP_SIN, "csin"},
	{AJ_OP_COS, "ccos"},       {AJ_OP_TAN, "ctan"},
	{AJ_OP_ARCSIN, "casin"},   {AJ_OP_ARCCOS, "cacos"},
	{AJ_OP_ARCTAN, "catan"},   {AJ_OP_SINH, "csinh"},
	{AJ_OP_COSH, "ccosh"},     {AJ_OP_TANH, "ctanh"},
	{AJ_OP_ARCSINH, "casinh"}, {AJ_OP_ARCCOSH, "cacosh"},
	{AJ_OP_ARCTANH, "catanh"}, {AJ_OP_EXP2, "aj_rt_cexp2"},
	{AJ_OP_EXPM1, "aj_rt_cexpm1"}, {AJ_OP_LOG2, "aj_rt_clog2"},
	{AJ_OP_LOG10, "aj_rt_clog10"}, {AJ_OP_LOG1P, "aj_rt_clog1p"},
	{AJ_OP_POW, "aj_rt_cpow"},
};

const char *aj_runtime_complex_name(aj_op op)
{
	for (size_t i = 0; i < sizeof complex_fn / sizeof complex_fn[0]; i++)
		if (complex_fn[i].op == op)
			return complex_fn[i].name;
	return NULL;
}

#define SYM(fn) {#fn, (void *)fn}, {#fn "f", (void *)fn##f}
const aj_runtime_sym aj_runtime_syms[] = {
	SYM(csqrt), SYM(cexp), SYM(clog), SYM(csin), SYM(ccos), SYM(ctan),
	SYM(casin), SYM(cacos), SYM(catan), SYM(csinh), SYM(ccosh),
	SYM(ctanh), SYM(casinh), SYM(cacosh), SYM(catanh),
	SYM(aj_rt_cexp2), SYM(aj_rt_cexpm1), SYM(aj_rt_clog2),
	SYM(aj_rt_clog10), SYM(aj_rt_clog1p), SYM(aj_rt_cpow),
};
const int aj_nruntime_syms = sizeof aj_runtime_syms / sizeof aj_runtime_syms[0];
