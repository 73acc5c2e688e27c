/*
 * x ** y for the lanes of x (fpow.h): the kernel's vpow, checked (below).
 * For an exponent y the same for every lane, when y is an integer with
 * |y| <= AJ_POWI_MAX, binary powering instead, each product in
 * double-double (a value as hi + lo, the products' errors kept
 * exactly with FMA: Dekker's product as in Joldes, Muller and Popescu,
 * "Tight and rigorous error bounds for basic building blocks of
 * double-word arithmetic", 2017, error <= 5u^2 per product). Within 2
 * log2 |y| products the error stays below 100u^2, so the rounded hi + lo
 * is within 0.5 ULP + 2^-90 relative: as accurate as the pow row promises
 * (1 ULP), at a fraction of SLEEF pow's work. Every intermediate lies
 * between 1 and |x|^|y|, so when that lies in [2^-960, 2^960] no part
 * under- or overflows; a vector with a lane outside (0, inf, NaN, huge or
 * tiny results) takes vpow instead, which knows its special cases.
 * float32 powers in double, whose error is far below float32's half ULP,
 * with no special case (double's range holds any float32 power). Other
 * exponents take vpow for every lane.
 *
 * vpow (SLEEF's or libmvec's) overflows to inf a little early, for
 * results near the largest double (pow(DBL_MAX, 1)): an inf from finite
 * operands redoes the vector with libm's pow, as the kernels' inline pow
 * does (jit/lower.c, libm_fallback).
 *
 * CMake compiles this file for AVX-512 and for AVX2 with FMA, with
 * -ffp-contract=off: a contraction the source does not ask for would
 * break the double-double sums. The target's macros choose the width and
 * the few instructions GCC's vector extensions do not reach.
 */
#include "fpow.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
enum { W = 8 }; /* float64 lanes; float32 has 2 W */
typedef __m512d vec64;
typedef __m512 vec32;
typedef aj_vpow_f64x8 vpow64;
typedef aj_vpow_f32x16 vpow32;
#define POW64 aj_rt_pow_f64x8
#define POW32 aj_rt_pow_f32x16
#define POWI64 aj_rt_powi_f64x8
#define POWI32 aj_rt_powi_f32x16
#define FMA(a, b, c) ((vf64)_mm512_fmadd_pd((__m512d)(a), (__m512d)(b), (__m512d)(c)))
#define ANY(m) (_mm512_test_epi64_mask((__m512i)(m), (__m512i)(m)) != 0)
#elif defined(__AVX2__)
enum { W = 4 };
typedef __m256d vec64;
typedef __m256 vec32;
typedef aj_vpow_f64x4 vpow64;
typedef aj_vpow_f32x8 vpow32;
#define POW64 aj_rt_pow_f64x4
#define POW32 aj_rt_pow_f32x8
#define POWI64 aj_rt_powi_f64x4
#define POWI32 aj_rt_powi_f32x8
#define FMA(a, b, c) ((vf64)_mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c)))
#define ANY(m) (_mm256_movemask_pd((__m256d)(m)) != 0)
#else
#error "fpow.c is built for AVX-512 or AVX2 (CMakeLists.txt)"
#endif

typedef double vf64 __attribute__((vector_size(8 * W)));
typedef int64_t vi64 __attribute__((vector_size(8 * W)));
typedef float vf32 __attribute__((vector_size(8 * W)));   /* 2 W lanes */
typedef float vf32h __attribute__((vector_size(4 * W)));  /* W lanes */
typedef int32_t vi32 __attribute__((vector_size(8 * W)));

#define INLINE static inline __attribute__((always_inline))

typedef struct dd {
	vf64 hi, lo;
} dd;

/* a * a in double-double: dd_mul(a, a) with its two cross terms as one,
 * 2 a.hi a.lo (doubling is exact). */
INLINE dd dd_sqr(dd a)
{
	vf64 p = a.hi * a.hi;
	vf64 e = FMA(a.hi, a.hi, -p);
	e = FMA(a.hi + a.hi, a.lo, e);
	vf64 h = p + e;
	return (dd){h, e - (h - p)};
}

/* a * b in double-double (DWTimesDW with FMA). */
INLINE dd dd_mul(dd a, dd b)
{
	vf64 p = a.hi * b.hi;
	vf64 e = FMA(a.hi, b.hi, -p);
	e = FMA(a.hi, b.lo, e);
	e = FMA(a.lo, b.hi, e);
	vf64 h = p + e;
	return (dd){h, e - (h - p)};
}

INLINE vf64 vabs(vf64 x)
{
	return (vf64)((vi64)x & INT64_MAX);
}

/* n = y as an integer in [-AJ_POWI_MAX, AJ_POWI_MAX], if it is one. */
static int integer_exponent(double y, int *n)
{
	if (!(fabs(y) <= AJ_POWI_MAX) || y != trunc(y))
		return 0;
	*n = (int)y;
	return 1;
}

/*
 * Whether every lane's power lies well inside the range, so that vpow
 * cannot overflow early: |y| (|e| + 1) < 1000, e the unbiased exponent of
 * x (subnormals and 0: -1023; inf and NaN: 1024; a NaN y fails), puts
 * |x ** y| below 2^1000. Then vpow's result needs no check, and the call
 * is a jump: checking after it would keep x and y across it, in a frame
 * GCC realigns for them (10% of a SLEEF pow's time, measured).
 */
INLINE int tame64(vf64 x, vf64 y)
{
	vi64 e = (((vi64)x >> 52) & 0x7ff) - 1023, s = e >> 63;
	vi64 big = ((e ^ s) - s + 1) | 0x4330000000000000; /* 2^52 + |e| + 1 */
	vi64 ok = vabs(y) * ((vf64)big - 0x1p52) < 1000;
	return !ANY(~ok);
}

/* vpow(x, y); libm's pow for the vector when that has an inf from finite
 * x and y. Apart, so that checked64's common path has no frame. */
static __attribute__((noinline)) vf64 checked64_slow(vf64 x, vf64 y, vpow64 *vpow)
{
	vf64 r = (vf64)vpow((vec64)x, (vec64)y);
	vi64 bad = (vabs(r) == INFINITY) & (vabs(x) < INFINITY) & (vabs(y) < INFINITY);
	if (ANY(bad))
		for (int i = 0; i < W; i++)
			r[i] = pow(x[i], y[i]);
	return r;
}

/* vpow(x, y), checked unless tame64. */
INLINE vf64 checked64(vf64 x, vf64 y, vpow64 *vpow)
{
	if (tame64(x, y))
		return (vf64)vpow((vec64)x, (vec64)y);
	return checked64_slow(x, y, vpow);
}

vec64 POW64(vec64 x, vec64 y, vpow64 *vpow)
{
	return (vec64)checked64((vf64)x, (vf64)y, vpow);
}

vec64 POWI64(vec64 x_, double y, vpow64 *vpow)
{
	vf64 zero = {0}, x = (vf64)x_, ys = zero + y;
	int n;
	if (integer_exponent(y, &n)) {
		unsigned m = n < 0 ? -(unsigned)n : (unsigned)n;
		dd r = {zero + 1, zero}, b = {x, zero};
		for (; m; m >>= 1) {
			if (m & 1)
				r = dd_mul(r, b);
			if (m > 1)
				b = dd_sqr(b);
		}
		vf64 a = vabs(r.hi);
		vi64 ok = (a >= 0x1p-960) & (a <= 0x1p960);
		if (!ANY(~ok)) {
			if (n >= 0)
				return (vec64)(r.hi + r.lo);
			vf64 q = 1 / r.hi; /* 1 / (hi + lo), one Newton step */
			vf64 e = FMA(-q, r.hi, zero + 1);
			e = FMA(-q, r.lo, e);
			return (vec64)FMA(q, e, q);
		}
	}
	return (vec64)checked64(x, ys, vpow);
}

/* x^m, x^-m for m > 0 when neg, plainly in double: W lanes of float32. */
static vf32h power_f32(vf32h x, unsigned m, int neg)
{
	vf64 r = (vf64){0} + 1, b = __builtin_convertvector(x, vf64);
	for (; m; m >>= 1) {
		if (m & 1)
			r = r * b;
		if (m > 1)
			b = b * b;
	}
	return __builtin_convertvector(neg ? 1 / r : r, vf32h);
}

/*
 * The float32 functions for vector type V of N lanes (V32 of vector
 * extensions): POW, vpow checked as checked64 does; POWI, powering in
 * double, W lanes at a time, for an integer exponent, else POW.
 */
#define DEFINE_POW32(POW, POWI, V, V32, VI32, N, VPOW)                        \
	V POW(V x_, V y_, VPOW *vpow)                                         \
	{                                                                     \
		V32 x = (V32)x_, y = (V32)y_, r = (V32)vpow(x_, y_);          \
		VI32 bad = (((VI32)r & INT32_MAX) == 0x7f800000) &            \
			   (((VI32)x & INT32_MAX) < 0x7f800000) &             \
			   (((VI32)y & INT32_MAX) < 0x7f800000);              \
		int any = 0;                                                  \
		for (int i = 0; i < N; i++)                                   \
			any |= bad[i];                                        \
		if (any)                                                      \
			for (int i = 0; i < N; i++)                           \
				r[i] = powf(x[i], y[i]);                      \
		return (V)r;                                                  \
	}                                                                     \
	V POWI(V x_, float y, VPOW *vpow)                                     \
	{                                                                     \
		int n;                                                        \
		if (!integer_exponent(y, &n))                                 \
			return POW(x_, (V)((V32){0} + y), vpow);              \
		unsigned m = n < 0 ? -(unsigned)n : (unsigned)n;              \
		vf32h h[N / W];                                               \
		memcpy(h, &x_, sizeof h);                                     \
		for (int k = 0; k < N / W; k++)                               \
			h[k] = power_f32(h[k], m, n < 0);                     \
		memcpy(&x_, h, sizeof x_);                                    \
		return x_;                                                    \
	}

DEFINE_POW32(POW32, POWI32, vec32, vf32, vi32, 2 * W, vpow32)
#if !defined(__AVX512F__)
typedef int32_t vi32h __attribute__((vector_size(4 * W)));
DEFINE_POW32(aj_rt_pow_f32x4, aj_rt_powi_f32x4, __m128, vf32h, vi32h, W, aj_vpow_f32x4)
#endif
