/*
 * Every op x dtype against a scalar C reference written independently of
 * the library, on several layouts (contiguous, strided, negative steps,
 * transposed, broadcast, 0-d, empty) and for every vector ISA the host can
 * run, with lengths that leave vector tails.
 *
 * Exact ops must match bit for bit (NaN matches NaN). SLEEF functions must
 * be within 1 ULP of the correctly rounded result (long-double libm rounded
 * to the result dtype), here on special values and in a wide sweep below.
 */
#include "ref.h"

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 67 }; /* 8 vectors of 8 plus a tail of 3 */

/* One element of any dtype, as the reference sees it. */
typedef struct val {
	double f;
	int64_t i;
} val;

static bool is_float(aj_dtype t)
{
	return t == AJ_FLOAT32 || t == AJ_FLOAT64;
}

static bool is_unsigned(aj_dtype t)
{
	return t == AJ_UINT8 || t == AJ_UINT16 || t == AJ_UINT32 || t == AJ_UINT64;
}

/* Integers are kept as their 64-bit pattern: sign-extended for signed
 * dtypes, zero-extended for unsigned ones. */
static val get(aj_dtype t, const void *p)
{
	val v = {0, 0};
	switch (t) {
	case AJ_BOOL: v.i = *(const uint8_t *)p != 0; break;
	case AJ_INT8: v.i = *(const int8_t *)p; break;
	case AJ_INT16: v.i = *(const int16_t *)p; break;
	case AJ_INT32: v.i = *(const int32_t *)p; break;
	case AJ_INT64: v.i = *(const int64_t *)p; break;
	case AJ_UINT8: v.i = *(const uint8_t *)p; break;
	case AJ_UINT16: v.i = *(const uint16_t *)p; break;
	case AJ_UINT32: v.i = *(const uint32_t *)p; break;
	case AJ_UINT64: v.i = (int64_t)*(const uint64_t *)p; break;
	case AJ_FLOAT32: v.f = *(const float *)p; return v;
	default: v.f = *(const double *)p; return v;
	}
	v.f = t == AJ_UINT64 ? (double)(uint64_t)v.i : (double)v.i;
	return v;
}

static void put(aj_dtype t, void *p, val v)
{
	switch (t) {
	case AJ_BOOL: *(uint8_t *)p = v.i != 0; break;
	case AJ_INT8: case AJ_UINT8: *(uint8_t *)p = (uint8_t)v.i; break;
	case AJ_INT16: case AJ_UINT16: *(uint16_t *)p = (uint16_t)v.i; break;
	case AJ_INT32: case AJ_UINT32: *(uint32_t *)p = (uint32_t)v.i; break;
	case AJ_INT64: case AJ_UINT64: *(uint64_t *)p = (uint64_t)v.i; break;
	case AJ_FLOAT32: *(float *)p = (float)v.f; break;
	default: *(double *)p = v.f; break;
	}
}

/* Wraps x to the integer dtype t, as two's complement hardware does. */
static int64_t wrap(aj_dtype t, uint64_t x)
{
	switch (t) {
	case AJ_BOOL: return x != 0;
	case AJ_INT8: return (int8_t)(uint8_t)x;
	case AJ_INT16: return (int16_t)(uint16_t)x;
	case AJ_INT32: return (int32_t)(uint32_t)x;
	case AJ_UINT8: return (uint8_t)x;
	case AJ_UINT16: return (uint16_t)x;
	case AJ_UINT32: return (uint32_t)x;
	default: return (int64_t)x;
	}
}

static val ref_cast(val x, aj_dtype from, aj_dtype to);

static int64_t ipow(int64_t b, int64_t e, aj_dtype t)
{
	if (e < 0 && !is_unsigned(t))
		return b == 1 ? 1 : b == -1 ? (e & 1 ? -1 : 1) : 0;
	uint64_t r = 1, x = (uint64_t)b, n = (uint64_t)e;
	for (; n; n >>= 1, x *= x)
		if (n & 1)
			r *= x;
	return wrap(t, r);
}

/* The smallest and largest value of integer dtype t, as 64-bit patterns. */
static void int_range(aj_dtype t, int64_t *lo, int64_t *hi)
{
	int bits = (int)aj_dtype_size(t) * 8;
	if (is_unsigned(t)) {
		*lo = 0;
		*hi = bits == 64 ? -1 : (int64_t)((UINT64_C(1) << bits) - 1);
	} else {
		*lo = bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
		*hi = bits == 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1;
	}
}

/* Rounds to the computation's precision: float32 ops done in double and
 * rounded after each step are exactly float32 arithmetic. */
static double rnd(double x, bool f32)
{
	return f32 ? (double)(float)x : x;
}

/* NumPy's npy_divmod, step by step in the operands' precision. */
static double np_divmod(double a, double b, double *modulus, bool f32)
{
	double mod = fmod(a, b); /* exact, so no rounding needed */
	if (b == 0) {
		*modulus = mod;
		return rnd(a / b, f32);
	}
	double div = rnd(rnd(a - mod, f32) / b, f32);
	if (mod != 0) {
		if ((b < 0) != (mod < 0)) {
			mod = rnd(mod + b, f32);
			div = rnd(div - 1.0, f32);
		}
	} else {
		mod = copysign(0, b);
	}
	double fd;
	if (div != 0) {
		fd = floor(div);
		if (rnd(div - fd, f32) > 0.5)
			fd = rnd(fd + 1.0, f32);
	} else {
		fd = copysign(0, rnd(a / b, f32));
	}
	*modulus = mod;
	return fd;
}

static double np_sign(double x)
{
	return x > 0 ? 1.0 : x < 0 ? -1.0 : isnan(x) ? x : 0.0;
}

static double np_clip(double x, double lo, double hi)
{
	double m = (isnan(x) || x > lo) ? x : lo;
	return (isnan(m) || m < hi) ? m : hi;
}

static val ref_float(aj_op op, double x, double y, bool f32)
{
	val r = {0, 0};
	double m;
	switch (op) {
	case AJ_OP_NEG: r.f = -x; break;
	case AJ_OP_ABS: r.f = fabs(x); break;
	case AJ_OP_SQUARE: r.f = x * x; break;
	case AJ_OP_RECIPROCAL: r.f = 1.0 / x; break;
	case AJ_OP_SIGN: r.f = np_sign(x); break;
	case AJ_OP_REAL: case AJ_OP_CONJ: r.f = x; break;
	case AJ_OP_IMAG: r.f = 0; break;
	case AJ_OP_SQRT: r.f = f32 ? sqrtf((float)x) : sqrt(x); break;
	case AJ_OP_CBRT: r.f = cbrt(x); break;
	case AJ_OP_EXP: r.f = exp(x); break;
	case AJ_OP_EXP2: r.f = exp2(x); break;
	case AJ_OP_EXPM1: r.f = expm1(x); break;
	case AJ_OP_LOG: r.f = log(x); break;
	case AJ_OP_LOG2: r.f = log2(x); break;
	case AJ_OP_LOG10: r.f = log10(x); break;
	case AJ_OP_LOG1P: r.f = log1p(x); break;
	case AJ_OP_SIN: r.f = sin(x); break;
	case AJ_OP_COS: r.f = cos(x); break;
	case AJ_OP_TAN: r.f = tan(x); break;
	case AJ_OP_ARCSIN: r.f = asin(x); break;
	case AJ_OP_ARCCOS: r.f = acos(x); break;
	case AJ_OP_ARCTAN: r.f = atan(x); break;
	case AJ_OP_SINH: r.f = sinh(x); break;
	case AJ_OP_COSH: r.f = cosh(x); break;
	case AJ_OP_TANH: r.f = tanh(x); break;
	case AJ_OP_ARCSINH: r.f = asinh(x); break;
	case AJ_OP_ARCCOSH: r.f = acosh(x); break;
	case AJ_OP_ARCTANH: r.f = atanh(x); break;
	case AJ_OP_FLOOR: r.f = floor(x); break;
	case AJ_OP_CEIL: r.f = ceil(x); break;
	case AJ_OP_TRUNC: r.f = trunc(x); break;
	case AJ_OP_RINT: r.f = nearbyint(x); break;
	case AJ_OP_ADD: r.f = x + y; break;
	case AJ_OP_SUB: r.f = x - y; break;
	case AJ_OP_MUL: r.f = x * y; break;
	case AJ_OP_DIV: r.f = x / y; break;
	case AJ_OP_FLOORDIV: r.f = np_divmod(x, y, &m, f32); break;
	case AJ_OP_REM: np_divmod(x, y, &r.f, f32); break;
	case AJ_OP_FMOD: r.f = fmod(x, y); break;
	case AJ_OP_POW: r.f = pow(x, y); break;
	case AJ_OP_MIN: r.f = (x < y || isnan(x)) ? x : y; break;
	case AJ_OP_MAX: r.f = (x > y || isnan(x)) ? x : y; break;
	case AJ_OP_FMIN: r.f = (x < y || isnan(y)) ? x : y; break;
	case AJ_OP_FMAX: r.f = (x > y || isnan(y)) ? x : y; break;
	case AJ_OP_ARCTAN2: r.f = atan2(x, y); break;
	case AJ_OP_HYPOT: r.f = hypot(x, y); break;
	case AJ_OP_COPYSIGN: r.f = copysign(x, y); break;
	case AJ_OP_NEXTAFTER:
		r.f = f32 ? nextafterf((float)x, (float)y) : nextafter(x, y);
		break;
	case AJ_OP_EQ: r.i = x == y; break;
	case AJ_OP_NE: r.i = x != y; break;
	case AJ_OP_LT: r.i = x < y; break;
	case AJ_OP_LE: r.i = x <= y; break;
	case AJ_OP_GT: r.i = x > y; break;
	case AJ_OP_GE: r.i = x >= y; break;
	default: fail_msg("no float reference for %s", aj_op_name(op));
	}
	return r;
}

/* Integer comparison in t's signedness. */
static int cmp_int(int64_t x, int64_t y, aj_dtype t)
{
	if (is_unsigned(t))
		return (uint64_t)x < (uint64_t)y ? -1 : x != y;
	return x < y ? -1 : x != y;
}

/* NumPy's integer //, % and fmod, with its zero and overflow results. */
static int64_t ref_idiv(aj_op op, int64_t a, int64_t b, aj_dtype t)
{
	if (b == 0)
		return 0;
	if (is_unsigned(t)) {
		uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
		return (int64_t)(op == AJ_OP_FLOORDIV ? ua / ub : ua % ub);
	}
	int64_t lo, hi;
	int_range(t, &lo, &hi);
	if (a == lo && b == -1)
		return op == AJ_OP_FLOORDIV ? lo : 0;
	int64_t q = a / b, r = a % b;
	if (op == AJ_OP_FMOD)
		return r;
	bool adj = r != 0 && ((r < 0) != (b < 0));
	return op == AJ_OP_FLOORDIV ? q - adj : r + (adj ? b : 0);
}

static int64_t ref_shift(aj_op op, int64_t a, int64_t b, aj_dtype t)
{
	uint64_t bits = aj_dtype_size(t) * 8, n = (uint64_t)b;
	if (!is_unsigned(t) && b < 0)
		n = UINT64_MAX; /* NumPy compares the count as unsigned */
	if (op == AJ_OP_LSHIFT)
		return n < bits ? wrap(t, (uint64_t)a << n) : 0;
	if (is_unsigned(t))
		return n < bits ? (int64_t)((uint64_t)a >> n) : 0;
	return n < bits ? a >> n : (a < 0 ? -1 : 0);
}

static val ref_int(aj_op op, int64_t x, int64_t y, aj_dtype t)
{
	val r = {0, 0};
	uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
	int c = cmp_int(x, y, t);
	bool b = t == AJ_BOOL;
	switch (op) {
	case AJ_OP_NEG: r.i = wrap(t, 0 - ux); break;
	case AJ_OP_ABS:
		r.i = b || is_unsigned(t) ? x : wrap(t, x < 0 ? 0 - ux : ux);
		break;
	case AJ_OP_SQUARE: r.i = wrap(t, ux * ux); break;
	case AJ_OP_RECIPROCAL: { /* NumPy: 1.0 / x in double, converted back */
		val q = {1.0 / (is_unsigned(t) ? (double)ux : (double)x), 0};
		r = ref_cast(q, AJ_FLOAT64, t);
		break;
	}
	case AJ_OP_SIGN:
		r.i = b ? x : (cmp_int(x, 0, t) > 0) - (!is_unsigned(t) && x < 0);
		break;
	case AJ_OP_INVERT: r.i = b ? !x : wrap(t, ~ux); break;
	case AJ_OP_REAL: case AJ_OP_CONJ: r.i = x; break;
	case AJ_OP_IMAG: r.i = 0; break;
	case AJ_OP_ADD: r.i = b ? (x | y) : wrap(t, ux + uy); break;
	case AJ_OP_SUB: r.i = wrap(t, ux - uy); break;
	case AJ_OP_MUL: r.i = b ? (x & y) : wrap(t, ux * uy); break;
	case AJ_OP_FLOORDIV: case AJ_OP_REM: case AJ_OP_FMOD:
		r.i = wrap(t, (uint64_t)ref_idiv(op, x, y, t));
		break;
	case AJ_OP_POW: r.i = ipow(x, y, t); break;
	case AJ_OP_MIN: case AJ_OP_FMIN: r.i = c < 0 ? x : y; break;
	case AJ_OP_MAX: case AJ_OP_FMAX: r.i = c > 0 ? x : y; break;
	case AJ_OP_BITAND: r.i = x & y; break;
	case AJ_OP_BITOR: r.i = x | y; break;
	case AJ_OP_BITXOR: r.i = x ^ y; break;
	case AJ_OP_LSHIFT: case AJ_OP_RSHIFT: r.i = ref_shift(op, x, y, t); break;
	case AJ_OP_EQ: r.i = c == 0; break;
	case AJ_OP_NE: r.i = c != 0; break;
	case AJ_OP_LT: r.i = c < 0; break;
	case AJ_OP_LE: r.i = c <= 0; break;
	case AJ_OP_GT: r.i = c > 0; break;
	case AJ_OP_GE: r.i = c >= 0; break;
	default: fail_msg("no int reference for %s", aj_op_name(op));
	}
	return r;
}

static bool truth(aj_dtype t, val x)
{
	return is_float(t) ? (x.f != 0 || isnan(x.f)) : x.i != 0;
}

/* isnan & co. and the logical ops, for any operand dtype. */
static val ref_bool_op(aj_op op, aj_dtype t, val x, val y)
{
	val r = {0, 0};
	bool f = is_float(t);
	switch (op) {
	case AJ_OP_ISNAN: r.i = f && isnan(x.f); break;
	case AJ_OP_ISINF: r.i = f && isinf(x.f); break;
	case AJ_OP_ISFINITE: r.i = !f || isfinite(x.f); break;
	case AJ_OP_SIGNBIT:
		r.i = f ? signbit(x.f) != 0 : (!is_unsigned(t) && t != AJ_BOOL && x.i < 0);
		break;
	case AJ_OP_LNOT: r.i = !truth(t, x); break;
	case AJ_OP_LAND: r.i = truth(t, x) && truth(t, y); break;
	case AJ_OP_LOR: r.i = truth(t, x) || truth(t, y); break;
	default: r.i = truth(t, x) != truth(t, y); break;
	}
	return r;
}

static bool is_bool_op(aj_op op)
{
	return (op >= AJ_OP_EQ && op <= AJ_OP_LXOR);
}

/* Result dtype of op on two arrays of dtype t (NumPy's, for one dtype;
 * float32 where NumPy would give float16). */
static aj_dtype result_dtype(aj_op op, aj_dtype t)
{
	if (is_bool_op(op))
		return AJ_BOOL;
	bool nobool = op == AJ_OP_SQUARE || op == AJ_OP_RECIPROCAL || op == AJ_OP_CONJ ||
		      (op >= AJ_OP_FLOORDIV && op <= AJ_OP_POW) ||
		      op == AJ_OP_LSHIFT || op == AJ_OP_RSHIFT;
	if (t == AJ_BOOL && nobool)
		return AJ_INT8;
	bool fl = (op >= AJ_OP_SQRT && op <= AJ_OP_RINT) || op == AJ_OP_DIV ||
		  (op >= AJ_OP_ARCTAN2 && op <= AJ_OP_NEXTAFTER);
	if (!fl || is_float(t))
		return t;
	if (op == AJ_OP_DIV || aj_dtype_size(t) > 2)
		return AJ_FLOAT64;
	return AJ_FLOAT32;
}

/* SLEEF's u10 and u05 functions; everything else is exact. */
static bool is_exact(aj_op op)
{
	return !((op >= AJ_OP_CBRT && op <= AJ_OP_ARCTANH) || op == AJ_OP_POW ||
		 op == AJ_OP_ARCTAN2 || op == AJ_OP_HYPOT);
}

/* op in long double (x87, 64-bit mantissa): rounded to double or float it
 * is the correctly rounded result but for vanishingly rare ties. */
static long double ref_long(aj_op op, long double x, long double y)
{
	switch (op) {
	case AJ_OP_CBRT: return cbrtl(x);
	case AJ_OP_EXP: return expl(x);
	case AJ_OP_EXP2: return exp2l(x);
	case AJ_OP_EXPM1: return expm1l(x);
	case AJ_OP_LOG: return logl(x);
	case AJ_OP_LOG2: return log2l(x);
	case AJ_OP_LOG10: return log10l(x);
	case AJ_OP_LOG1P: return log1pl(x);
	case AJ_OP_SIN: return sinl(x);
	case AJ_OP_COS: return cosl(x);
	case AJ_OP_TAN: return tanl(x);
	case AJ_OP_ARCSIN: return asinl(x);
	case AJ_OP_ARCCOS: return acosl(x);
	case AJ_OP_ARCTAN: return atanl(x);
	case AJ_OP_SINH: return sinhl(x);
	case AJ_OP_COSH: return coshl(x);
	case AJ_OP_TANH: return tanhl(x);
	case AJ_OP_ARCSINH: return asinhl(x);
	case AJ_OP_ARCCOSH: return acoshl(x);
	case AJ_OP_ARCTANH: return atanhl(x);
	case AJ_OP_ARCTAN2: return atan2l(x, y);
	case AJ_OP_HYPOT: return hypotl(x, y);
	default: return powl(x, y);
	}
}

/* The reference value of op at one element: inputs of dtype t. */
static val reference(aj_op op, aj_dtype t, val x, val y)
{
	if (op >= AJ_OP_ISNAN && op <= AJ_OP_LXOR)
		return ref_bool_op(op, t, x, y);
	aj_dtype rt = result_dtype(op, t);
	if (is_float(t) || is_float(rt)) {
		double a = x.f, b = y.f;
		if (rt == AJ_FLOAT32) { /* operands are float32 values */
			a = (float)a;
			b = (float)b;
		}
		if (!is_exact(op)) { /* the correctly rounded value */
			long double w = ref_long(op, a, b);
			return (val){rt == AJ_FLOAT32 ? (double)(float)w : (double)w, 0};
		}
		return ref_float(op, a, b, rt == AJ_FLOAT32);
	}
	if (t == AJ_BOOL && rt == AJ_INT8) /* bool computes as int8 */
		return ref_int(op, x.i, y.i, AJ_INT8);
	return ref_int(op, x.i, y.i, t);
}

/* Inputs: ordinary values, then specials for the dtype. */
static void fill(aj_dtype t, void *buf, int64_t n, uint64_t seed, aj_op op)
{
	static const double fspecial[] = {0.0, -0.0, 1.0, -1.0, INFINITY,
					  -INFINITY, NAN, 0.5, 1e-310, 2.0};
	int64_t lo = 0, hi = 0;
	if (!is_float(t) && t != AJ_BOOL)
		int_range(t, &lo, &hi);
	const int64_t ispecial[] = {0, 1, -1, 2, lo, hi, lo + 1, hi - 1, 3, -2};
	uint64_t st = seed;
	size_t sz = aj_dtype_size(t);
	for (int64_t k = 0; k < n; k++) {
		val v;
		bool special = (k % 7) == 3;
		if (is_float(t)) {
			v.f = special ? fspecial[(k / 7) % 10]
				      : ref_uniform(&st, op == AJ_OP_LOG ? 0.0 : -8.0, 8.0);
			if (op == AJ_OP_POW && !special)
				v.f = ref_uniform(&st, 0.1, 4.0);
		} else {
			v.i = special ? ispecial[(k / 7) % 10]
				      : (int64_t)ref_uniform(&st, -100, 100);
			if (op == AJ_OP_POW && !special)
				v.i = (int64_t)ref_uniform(&st, -3, 12);
			if ((op == AJ_OP_LSHIFT || op == AJ_OP_RSHIFT) && !special)
				v.i = (int64_t)ref_uniform(&st, -3, 8.0 * aj_dtype_size(t) + 3);
			if (t == AJ_BOOL)
				v.i = ref_rand(&st) & 1;
			v.i = wrap(t, (uint64_t)v.i);
		}
		put(t, (char *)buf + k * (int64_t)sz, v);
	}
}

static void check_elem(aj_op op, aj_dtype rt, val got, val want, const char *what,
		       int64_t k, val x, val y)
{
	bool ok;
	double ulp = 0;
	if (rt == AJ_FLOAT64)
		ok = (ulp = ref_ulp64(got.f, want.f)) <= (is_exact(op) ? 0 : 1);
	else if (rt == AJ_FLOAT32)
		ok = (ulp = ref_ulp32((float)got.f, (float)want.f)) <= (is_exact(op) ? 0 : 1);
	else
		ok = got.i == want.i;
	if (!ok && (rt == AJ_FLOAT64 || rt == AJ_FLOAT32) && !ref_exact_fp())
		return;
	if (!ok)
		fail_msg("%s: element %lld of (%.17g/%lld, %.17g/%lld): got %.17g/%lld "
			 "want %.17g/%lld (%g ulp)", what, (long long)k, x.f,
			 (long long)x.i, y.f, (long long)y.i, got.f, (long long)got.i,
			 want.f, (long long)want.i, ulp);
}

typedef ref_env env;

static const int op_nin[] = {
#define X(id, name, nin, ...) nin,
	AJ_OP_TABLE(X)
#undef X
};

static aj_expr build(aj_prog *p, aj_op op, aj_expr x, aj_expr y)
{
	return op_nin[op] == 1 ? aj_unary(p, op, x) : aj_binary(p, op, x, y);
}

/*
 * Layouts of the two inputs over a logical (R, C) iteration:
 * 0 contiguous 1-D; 1 step-2 views; 2 negative steps; 3 transposed (x is
 * the .T of a C-order (C, R) array); 4 y broadcast as a row.
 */
enum { NLAYOUT = 5, R = 5, C = 13 };

typedef struct layout {
	aj_array *x, *y, *out;
	int64_t n;
	/* element k of the iteration reads x at xi[k], y at yi[k] */
	int64_t xi[2 * R * C], yi[2 * R * C];
} layout;

static aj_array *slice1(aj_ctx *ctx, aj_array *a, int64_t start, int64_t stop,
			int64_t step)
{
	aj_slice s = {start, stop, step};
	aj_array *v = NULL;
	REF_OK_CTX(ctx, aj_view_slice(ctx, a, &s, &v));
	return v;
}

static void make_layout(env *E, int kind, aj_dtype rt,
			aj_array *bx, aj_array *by, layout *L)
{
	aj_ctx *ctx = E->ctx;
	int64_t n = 2 * R * C;
	L->n = kind == 0 ? n : R * C;
	int64_t shape2[2] = {R, C}, shape1[1] = {L->n};
	if (kind == 0) {
		REF_OK_CTX(ctx, aj_view_reshape(ctx, bx, 1, &n, &L->x));
		REF_OK_CTX(ctx, aj_view_reshape(ctx, by, 1, &n, &L->y));
		for (int64_t k = 0; k < n; k++)
			L->xi[k] = L->yi[k] = k;
	} else if (kind == 1 || kind == 2) {
		bool neg = kind == 2;
		L->x = neg ? slice1(ctx, bx, AJ_DEFAULT, AJ_DEFAULT, -2)
			   : slice1(ctx, bx, 1, AJ_DEFAULT, 2);
		L->y = slice1(ctx, by, 0, AJ_DEFAULT, 2);
		for (int64_t k = 0; k < L->n; k++) {
			L->xi[k] = neg ? n - 1 - 2 * k : 1 + 2 * k;
			L->yi[k] = 2 * k;
		}
	} else {
		int64_t cr[2] = {C, R}, row[1] = {C};
		aj_array *xs, *xv;
		aj_slice s = {0, R * C, 1};
		REF_OK_CTX(ctx, aj_view_slice(ctx, bx, &s, &xs));
		REF_OK_CTX(ctx, aj_view_reshape(ctx, xs, 2, kind == 3 ? cr : shape2, &xv));
		if (kind == 3)
			REF_OK_CTX(ctx, aj_view_permute(ctx, xv, NULL, &L->x));
		else
			REF_OK_CTX(ctx, aj_view_reshape(ctx, xs, 2, shape2, &L->x));
		aj_array *ys = slice1(ctx, by, 0, kind == 3 ? R * C : C, 1);
		REF_OK_CTX(ctx, aj_view_reshape(ctx, ys, kind == 3 ? 2 : 1,
						kind == 3 ? shape2 : row, &L->y));
		aj_array_free(xs);
		aj_array_free(xv);
		aj_array_free(ys);
		for (int64_t k = 0; k < R * C; k++) {
			int64_t i = k / C, j = k % C;
			L->xi[k] = kind == 3 ? j * R + i : k;
			L->yi[k] = kind == 3 ? k : j;
		}
	}
	int nd = kind >= 3 ? 2 : 1;
	REF_OK_CTX(ctx, aj_array_new(ctx, rt, nd, nd == 2 ? shape2 : shape1, &L->out));
}

static void free_layout(layout *L)
{
	aj_array_free(L->x);
	aj_array_free(L->y);
	aj_array_free(L->out);
}

/* The ops NumPy defines for two arrays of dtype t (arrjit refuses the
 * rest, tested below). */
static bool op_allowed(aj_op op, aj_dtype t)
{
	if (t == AJ_COMPLEX64 || t == AJ_COMPLEX128)
		return false;
	if (t == AJ_BOOL && (op == AJ_OP_NEG || op == AJ_OP_SUB || op == AJ_OP_SIGN))
		return false;
	bool bits = op == AJ_OP_INVERT || (op >= AJ_OP_BITAND && op <= AJ_OP_RSHIFT);
	return !(bits && is_float(t));
}

static void run_case(env *E, aj_op op, aj_dtype t, int kind)
{
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = 2 * R * C;
	aj_array *bx, *by;
	REF_OK_CTX(ctx, aj_array_new(ctx, t, 1, &n, &bx));
	REF_OK_CTX(ctx, aj_array_new(ctx, t, 1, &n, &by));
	fill(t, aj_array_data(bx), n, 11 + (uint64_t)op, op);
	fill(t, aj_array_data(by), n, 977 + (uint64_t)kind, op);
	if (op == AJ_OP_POW && !is_float(t)) /* negative: an error, below */
		for (int64_t k = 0; k < n; k++) {
			val v = get(t, (char *)aj_array_data(by) + k * (int64_t)aj_dtype_size(t));
			v.i = v.i < 0 ? (int64_t)((uint64_t)v.i & 7) : v.i;
			put(t, (char *)aj_array_data(by) + k * (int64_t)aj_dtype_size(t), v);
		}
	aj_dtype rt = result_dtype(op, t);
	layout L;
	make_layout(E, kind, rt, bx, by, &L);
	aj_expr e = build(p, op, aj_leaf(p, L.x), aj_leaf(p, L.y));
	assert_int_equal(aj_expr_dtype(p, e), rt);
	REF_OK_PROG(p, aj_assign(p, L.out, e));
	REF_OK_PROG(p, aj_sync(p));
	char what[96];
	snprintf(what, sizeof what, "%s %s layout %d isa %d", aj_op_name(op),
		 aj_dtype_name(t), kind, (int)aj_ctx_isa(ctx));
	size_t sz = aj_dtype_size(t), rsz = aj_dtype_size(rt);
	const char *xd = aj_array_data(bx), *yd = aj_array_data(by);
	const char *od = aj_array_data(L.out);
	for (int64_t k = 0; k < L.n; k++) {
		val x = get(t, xd + L.xi[k] * (int64_t)sz);
		val y = get(t, yd + L.yi[k] * (int64_t)sz);
		check_elem(op, rt, get(rt, od + k * (int64_t)rsz),
			   reference(op, t, x, y), what, k, x, y);
	}
	free_layout(&L);
	aj_array_free(bx);
	aj_array_free(by);
}

/* Every op and dtype on each layout; layouts other than contiguous only
 * for the host ISA (they exercise the scheduler and the strided path, which
 * do not depend on the ISA). */
static void all_ops(env *E, bool all_layouts)
{
	for (int op = AJ_OP_NEG; op < AJ_NOP; op++) {
		if (op_nin[op] == 3 || op >= AJ_OP_SUM || op == AJ_OP_COMPLEX)
			continue; /* where, clip, reductions, complex results:
				     tests of their own (and conformance) */
		for (int t = 0; t < AJ_NDTYPE; t++) {
			if (!op_allowed(op, t))
				continue;
			for (int kind = 0; kind < (all_layouts ? NLAYOUT : 1); kind++)
				run_case(E, op, t, kind);
		}
	}
}

static void test_ops_each_isa(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	for (size_t i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(E->ctx, isas[i]) != AJ_OK)
			continue; /* the host lacks it */
		all_ops(E, isas[i] == host);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

/* Ops NumPy rejects are rejected here too, with AJ_ERR_DTYPE: -b and
 * b - b on bools, bitwise ops and shifts on floats. */
static void test_rejections(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 4;
	aj_array *b, *f, *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 1, &n, &b));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &f));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 1, &n, &o));
	struct { aj_op op; aj_array *a; } bad[] = {
		{AJ_OP_NEG, b}, {AJ_OP_SUB, b}, {AJ_OP_SIGN, b}, {AJ_OP_INVERT, f},
		{AJ_OP_BITAND, f}, {AJ_OP_LSHIFT, f}, {AJ_OP_RSHIFT, f},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		aj_expr e = build(p, bad[i].op, aj_leaf(p, bad[i].a), aj_leaf(p, bad[i].a));
		assert_int_equal(e.id, 0);
		assert_int_equal(aj_assign(p, o, e), AJ_ERR_DTYPE);
	}
	/* bool ** bool, bool // bool, bool >> bool compute as int8, as in NumPy */
	assert_int_equal(aj_expr_dtype(p, build(p, AJ_OP_RSHIFT, aj_leaf(p, b), aj_leaf(p, b))), AJ_INT8);
	assert_int_equal(aj_expr_dtype(p, build(p, AJ_OP_POW, aj_leaf(p, b), aj_leaf(p, b))), AJ_INT8);
	assert_int_equal(aj_expr_dtype(p, build(p, AJ_OP_FLOORDIV, aj_leaf(p, b), aj_leaf(p, b))), AJ_INT8);
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(b);
	aj_array_free(f);
	aj_array_free(o);
}

/* clip(x, lo, hi) with array bounds, NaNs in every position. */
static void test_clip(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t n = N;
	for (int t = 0; t < AJ_NDTYPE; t++) {
		if (!op_allowed(AJ_OP_ADD, t))
			continue;
		aj_array *x, *lo, *hi, *o;
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &x));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &lo));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &hi));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &o));
		fill(t, aj_array_data(x), n, 1, AJ_OP_ADD);
		fill(t, aj_array_data(lo), n, 2, AJ_OP_ADD);
		fill(t, aj_array_data(hi), n, 3, AJ_OP_ADD);
		aj_expr args[3] = {aj_leaf(p, x), aj_leaf(p, lo), aj_leaf(p, hi)};
		REF_OK_PROG(p, aj_assign(p, o, aj_apply(p, AJ_OP_CLIP, 3, args)));
		REF_OK_PROG(p, aj_sync(p));
		size_t sz = aj_dtype_size(t);
		for (int64_t k = 0; k < n; k++) {
			val xv = get(t, (char *)aj_array_data(x) + k * (int64_t)sz);
			val lv = get(t, (char *)aj_array_data(lo) + k * (int64_t)sz);
			val hv = get(t, (char *)aj_array_data(hi) + k * (int64_t)sz);
			val got = get(t, (char *)aj_array_data(o) + k * (int64_t)sz), want;
			if (is_float(t)) {
				want.f = np_clip(xv.f, lv.f, hv.f);
				assert_true(ref_ulp64(got.f, want.f) == 0);
			} else {
				val m = cmp_int(xv.i, lv.i, t) > 0 ? xv : lv;
				want = cmp_int(m.i, hv.i, t) < 0 ? m : hv;
				if (t == AJ_BOOL)
					want.i = (xv.i | lv.i) & hv.i;
				assert_int_equal(got.i, want.i);
			}
		}
		aj_array_free(x);
		aj_array_free(lo);
		aj_array_free(hi);
		aj_array_free(o);
	}
}

/* where(c, x, y) with c of every dtype (truthiness) and promoted branches. */
static void test_where(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = N;
	for (int ct = 0; ct < AJ_NDTYPE; ct++) {
		if (!op_allowed(AJ_OP_ADD, ct))
			continue;
		aj_array *c, *x, *y, *o;
		REF_OK_CTX(ctx, aj_array_new(ctx, ct, 1, &n, &c));
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT32, 1, &n, &x));
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &n, &y));
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &o));
		fill(ct, aj_array_data(c), n, 5, AJ_OP_ADD);
		fill(AJ_INT32, aj_array_data(x), n, 6, AJ_OP_ADD);
		fill(AJ_FLOAT32, aj_array_data(y), n, 7, AJ_OP_ADD);
		aj_expr e = aj_where(p, aj_leaf(p, c), aj_leaf(p, x), aj_leaf(p, y));
		assert_int_equal(aj_expr_dtype(p, e), AJ_FLOAT64); /* i32 + f32 */
		REF_OK_PROG(p, aj_assign(p, o, e));
		REF_OK_PROG(p, aj_sync(p));
		for (int64_t k = 0; k < n; k++) {
			val cv = get(ct, (char *)aj_array_data(c) + k * (int64_t)aj_dtype_size(ct));
			bool truth = is_float(ct) ? (cv.f != 0 || isnan(cv.f))
									  : cv.i != 0;
			double want = truth ? (double)((int32_t *)aj_array_data(x))[k]
					    : (double)((float *)aj_array_data(y))[k];
			double got = ((double *)aj_array_data(o))[k];
			assert_true(got == want || (isnan(got) && isnan(want)));
		}
		aj_array_free(c);
		aj_array_free(x);
		aj_array_free(y);
		aj_array_free(o);
	}
}

/* NumPy's promotion table and NEP 50 weak scalars. */
static void test_promotion(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = 3;
	aj_array *a[AJ_NDTYPE];
	for (int t = 0; t < AJ_NDTYPE; t++)
		REF_OK_CTX(ctx, aj_array_new(ctx, t, 1, &n, &a[t]));
	/* np.result_type for every pair of real dtypes, printed by NumPy
	 * 1.24 (rows and columns in enum order, bool .. float64) */
	static const aj_dtype table[11][11] = {
		{AJ_BOOL, AJ_INT8, AJ_INT16, AJ_INT32, AJ_INT64, AJ_UINT8, AJ_UINT16, AJ_UINT32, AJ_UINT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_INT8, AJ_INT8, AJ_INT16, AJ_INT32, AJ_INT64, AJ_INT16, AJ_INT32, AJ_INT64, AJ_FLOAT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_INT16, AJ_INT16, AJ_INT16, AJ_INT32, AJ_INT64, AJ_INT16, AJ_INT32, AJ_INT64, AJ_FLOAT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_INT32, AJ_INT32, AJ_INT32, AJ_INT32, AJ_INT64, AJ_INT32, AJ_INT32, AJ_INT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64},
		{AJ_INT64, AJ_INT64, AJ_INT64, AJ_INT64, AJ_INT64, AJ_INT64, AJ_INT64, AJ_INT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64},
		{AJ_UINT8, AJ_INT16, AJ_INT16, AJ_INT32, AJ_INT64, AJ_UINT8, AJ_UINT16, AJ_UINT32, AJ_UINT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_UINT16, AJ_INT32, AJ_INT32, AJ_INT32, AJ_INT64, AJ_UINT16, AJ_UINT16, AJ_UINT32, AJ_UINT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_UINT32, AJ_INT64, AJ_INT64, AJ_INT64, AJ_INT64, AJ_UINT32, AJ_UINT32, AJ_UINT32, AJ_UINT64, AJ_FLOAT64, AJ_FLOAT64},
		{AJ_UINT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_UINT64, AJ_UINT64, AJ_UINT64, AJ_UINT64, AJ_FLOAT64, AJ_FLOAT64},
		{AJ_FLOAT32, AJ_FLOAT32, AJ_FLOAT32, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT32, AJ_FLOAT32, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT32, AJ_FLOAT64},
		{AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64},
	};
	for (int x = 0; x < 11; x++)
		for (int y = 0; y < 11; y++) {
			aj_dtype got = aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[x]),
							      aj_leaf(p, a[y])));
			if (got != table[x][y])
				fail_msg("%s + %s gives %s, NumPy %s", aj_dtype_name(x),
					 aj_dtype_name(y), aj_dtype_name(got),
					 aj_dtype_name(table[x][y]));
		}
	/* weak: an int scalar keeps int32; a float scalar keeps float32 */
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, a[AJ_INT32]), aj_scalar_i64(p, 3))), AJ_INT32);
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, a[AJ_FLOAT32]), aj_scalar_f64(p, 2.5))), AJ_FLOAT32);
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, a[AJ_INT32]), aj_scalar_f64(p, 2.5))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[AJ_BOOL]), aj_scalar_i64(p, 1))), AJ_INT64);
	assert_int_equal(aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[AJ_FLOAT32]), aj_scalar(p, AJ_FLOAT64, 1))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_div(p, aj_leaf(p, a[AJ_INT32]), aj_leaf(p, a[AJ_INT32]))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_unary(p, AJ_OP_SQRT, aj_leaf(p, a[AJ_INT32]))), AJ_FLOAT64);
	/* weak ints keep small and unsigned ints; a float scalar makes ints
	 * float64 */
	assert_int_equal(aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[AJ_UINT8]), aj_scalar_i64(p, 100))), AJ_UINT8);
	assert_int_equal(aj_expr_dtype(p, aj_add(p, aj_leaf(p, a[AJ_INT8]), aj_scalar_f64(p, 2.5))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_unary(p, AJ_OP_SQRT, aj_leaf(p, a[AJ_INT16]))), AJ_FLOAT32);
	assert_int_equal(aj_expr_dtype(p, aj_div(p, aj_leaf(p, a[AJ_INT8]), aj_leaf(p, a[AJ_INT8]))), AJ_FLOAT64);
	/* a Python int out of the array's range is an error, as in NEP 50 */
	assert_int_equal(aj_add(p, aj_leaf(p, a[AJ_UINT8]), aj_scalar_i64(p, -1)).id, 0);
	assert_int_equal(aj_sync(p), AJ_ERR_OVERFLOW);
	aj_expr bad = aj_add(p, aj_leaf(p, a[AJ_INT32]), aj_scalar_i64(p, 3000000000));
	assert_int_equal(bad.id, 0);
	assert_int_equal(aj_assign(p, a[AJ_INT32], bad), AJ_ERR_OVERFLOW);
	REF_OK_PROG(p, aj_sync(p));
	for (int t = 0; t < AJ_NDTYPE; t++)
		aj_array_free(a[t]);
}

/* Weak scalars compute in the array's dtype: float32 * 0.1 rounds 0.1 to
 * float32 first, as NumPy 2 does. */
static void test_weak_scalar_values(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = N;
	aj_array *a, *o, *i32, *oi;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &n, &a));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &n, &o));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT32, 1, &n, &i32));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT32, 1, &n, &oi));
	fill(AJ_FLOAT32, aj_array_data(a), n, 3, AJ_OP_ADD);
	fill(AJ_INT32, aj_array_data(i32), n, 4, AJ_OP_ADD);
	REF_OK_PROG(p, aj_assign(p, o, aj_mul(p, aj_leaf(p, a), aj_scalar_f64(p, 0.1))));
	REF_OK_PROG(p, aj_assign(p, oi, aj_mul(p, aj_leaf(p, i32), aj_scalar_i64(p, 100000))));
	REF_OK_PROG(p, aj_sync(p));
	for (int64_t k = 0; k < n; k++) {
		float x = ((float *)aj_array_data(a))[k], want = x * 0.1f;
		float got = ((float *)aj_array_data(o))[k];
		assert_true(ref_ulp32(got, want) == 0);
		int32_t xi = ((int32_t *)aj_array_data(i32))[k];
		int32_t wi = (int32_t)((uint32_t)xi * 100000u);
		assert_int_equal(((int32_t *)aj_array_data(oi))[k], wi);
	}
	aj_array_free(a);
	aj_array_free(o);
	aj_array_free(i32);
	aj_array_free(oi);
}

/* x86's cvttsd2si to `bits`: out of range and NaN give the minimum. */
static int64_t cvtt_ref(double x, int bits)
{
	double lim = ldexp(1.0, bits - 1);
	if (x >= -lim && x < lim)
		return (int64_t)x;
	return bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
}

/* NumPy's astype on x86, written out per case. */
static val ref_cast(val x, aj_dtype from, aj_dtype to)
{
	val r = {0, 0};
	int bits = (int)aj_dtype_size(to) * 8;
	if (to == AJ_BOOL) {
		r.i = is_float(from) ? (x.f != 0 || isnan(x.f)) : x.i != 0;
	} else if (to == AJ_FLOAT32) { /* one rounding, straight to float */
		r.f = is_float(from) ? (float)x.f
		      : is_unsigned(from) ? (float)(uint64_t)x.i : (float)x.i;
	} else if (to == AJ_FLOAT64) {
		r.f = is_float(from) ? x.f
		      : is_unsigned(from) ? (double)(uint64_t)x.i : (double)x.i;
	} else if (!is_float(from)) {
		r.i = wrap(to, (uint64_t)x.i);
	} else if (bits < 32) {
		r.i = wrap(to, (uint64_t)cvtt_ref(x.f, 32));
	} else if (to == AJ_UINT32) {
		r.i = wrap(to, (uint64_t)cvtt_ref(x.f, 64));
	} else if (!is_unsigned(to)) {
		r.i = cvtt_ref(x.f, bits);
	} else {
		double half = ldexp(1.0, bits - 1);
		uint64_t top = UINT64_C(1) << (bits - 1);
		r.i = x.f >= half ? (int64_t)((uint64_t)cvtt_ref(x.f - half, bits) ^ top)
				  : cvtt_ref(x.f, bits);
		r.i = wrap(to, (uint64_t)r.i);
	}
	return r;
}

/* astype: every pair of real dtypes, NumPy's results for NaN, inf and
 * out-of-range values. */
static void test_casts(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t n = N;
	for (int from = 0; from < AJ_NDTYPE; from++) {
		for (int to = 0; to < AJ_NDTYPE; to++) {
			if (!op_allowed(AJ_OP_ADD, from) || !op_allowed(AJ_OP_ADD, to))
				continue;
			aj_array *a, *o;
			REF_OK_CTX(ctx, aj_array_new(ctx, from, 1, &n, &a));
			REF_OK_CTX(ctx, aj_array_new(ctx, to, 1, &n, &o));
			fill(from, aj_array_data(a), n, 21, AJ_OP_ADD);
			if (is_float(from)) { /* beyond every int range */
				val big[] = {{1e30, 0}, {-1e30, 0}, {3e9, 0},
					     {-3e9, 0}, {1.9e19, 0}, {300.5, 0}};
				for (int k = 0; k < 6; k++)
					put(from, (char *)aj_array_data(a) + (k + 1) * (int64_t)aj_dtype_size(from), big[k]);
			}
			REF_OK_PROG(p, aj_assign(p, o, aj_cast(p, aj_leaf(p, a), to)));
			REF_OK_PROG(p, aj_sync(p));
			for (int64_t k = 0; k < n; k++) {
				val x = get(from, (char *)aj_array_data(a) + k * (int64_t)aj_dtype_size(from));
				val got = get(to, (char *)aj_array_data(o) + k * (int64_t)aj_dtype_size(to));
				val want = ref_cast(x, from, to);
				if (is_float(to) ? ref_ulp64(got.f, want.f) != 0 : got.i != want.i)
					fail_msg("astype %s -> %s element %lld: x %.17g/%lld got "
						 "%.17g/%lld want %.17g/%lld", aj_dtype_name(from),
						 aj_dtype_name(to), (long long)k, x.f, (long long)x.i,
						 got.f, (long long)got.i, want.f, (long long)want.i);
			}
			aj_array_free(a);
			aj_array_free(o);
		}
	}
}

/* Complex arrays exist (views, .npy) but kernels refuse them, clearly. */
/* Complex: NumPy's promotion of weak complex scalars, its refusals, and
 * a few values (every op and layout is in the conformance suite). */
static void test_complex(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 4;
	aj_array *z, *o, *f32, *i8;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_COMPLEX128, 1, &n, &z));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &o));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT32, 1, &n, &f32));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT8, 1, &n, &i8));
	aj_expr j = aj_scalar_c128(p, 0, 1);
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, f32), j)), AJ_COMPLEX64);
	assert_int_equal(aj_expr_dtype(p, aj_mul(p, aj_leaf(p, i8), j)), AJ_COMPLEX128);
	assert_int_equal(aj_expr_dtype(p, aj_unary(p, AJ_OP_ABS, aj_leaf(p, z))), AJ_FLOAT64);
	assert_int_equal(aj_expr_dtype(p, aj_binary(p, AJ_OP_COMPLEX, aj_leaf(p, f32),
						     aj_leaf(p, f32))), AJ_COMPLEX64);
	/* NumPy has no complex floor, fmod or bitwise ops */
	assert_int_equal(aj_unary(p, AJ_OP_FLOOR, aj_leaf(p, z)).id, 0);
	assert_int_equal(aj_sync(p), AJ_ERR_DTYPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "complex"));
	assert_int_equal(aj_binary(p, AJ_OP_FMOD, aj_leaf(p, z), aj_scalar_c128(p, 0, 1)).id, 0);
	assert_int_equal(aj_sync(p), AJ_ERR_DTYPE);
	/* complex into float only by an explicit cast */
	assert_int_equal(aj_assign(p, o, aj_leaf(p, z)), AJ_ERR_DTYPE);
	double *zd = aj_array_data(z);
	for (int k = 0; k < 4; k++) {
		zd[2 * k] = k + 1;
		zd[2 * k + 1] = -k;
	}
	/* (1+2j) * z + conj(z) / 2j, then its real part and abs */
	aj_expr w = aj_add(p, aj_mul(p, aj_scalar_c128(p, 1, 2), aj_leaf(p, z)),
			   aj_binary(p, AJ_OP_DIV, aj_unary(p, AJ_OP_CONJ, aj_leaf(p, z)),
				     aj_scalar_c128(p, 0, 2)));
	REF_OK_PROG(p, aj_assign(p, o, aj_unary(p, AJ_OP_REAL, w)));
	REF_OK_PROG(p, aj_sync(p));
	for (int k = 0; k < 4; k++) {
		double complex x = CMPLX(k + 1, -k);
		double complex want = CMPLX(1, 2) * x + conj(x) / CMPLX(0, 2);
		assert_true(ref_ulp64(((double *)aj_array_data(o))[k], creal(want)) <= 1);
	}
	REF_OK_PROG(p, aj_assign(p, o, aj_unary(p, AJ_OP_ABS, aj_leaf(p, z))));
	REF_OK_PROG(p, aj_sync(p));
	for (int k = 0; k < 4; k++)
		assert_true(ref_ulp64(((double *)aj_array_data(o))[k],
				      hypot(k + 1, k)) <= 1);
	aj_array_free(z);
	aj_array_free(o);
	aj_array_free(f32);
	aj_array_free(i8);
}

/* 0-d arrays, scalar-only expressions and empty arrays. */
static void test_zero_d_and_empty(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_array *s, *o, *e, *eo;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 0, NULL, &s));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 0, NULL, &o));
	*(double *)aj_array_data(s) = 2.0;
	REF_OK_PROG(p, aj_assign(p, o, aj_add(p, aj_unary(p, AJ_OP_EXP, aj_leaf(p, s)),
					       aj_scalar_i64(p, 1))));
	REF_OK_PROG(p, aj_sync(p));
	assert_true(ref_ulp64(*(double *)aj_array_data(o), exp(2.0) + 1) <= 1);
	REF_OK_PROG(p, aj_assign(p, o, aj_mul(p, aj_scalar_f64(p, 3), aj_scalar_f64(p, 0.5))));
	REF_OK_PROG(p, aj_sync(p));
	assert_true(*(double *)aj_array_data(o) == 1.5);
	int64_t zero[2] = {0, 5};
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, zero, &e));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, zero, &eo));
	REF_OK_PROG(p, aj_assign(p, eo, aj_add(p, aj_leaf(p, e), aj_scalar_f64(p, 1))));
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(s);
	aj_array_free(o);
	aj_array_free(e);
	aj_array_free(eo);
}

/* Broadcasting works whichever operand has more axes: (5,) + (4, 5) and
 * (4, 5) + (5,), and a chain growing the rank twice. */
static void test_broadcast_either_side(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t s1[1] = {5}, s2[2] = {4, 5}, s3[3] = {3, 1, 5}, shape[3];
	aj_array *a, *b, *c;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, s1, &a));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 2, s2, &b));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 3, s3, &c));
	assert_int_equal(aj_expr_shape(p, aj_add(p, aj_leaf(p, a), aj_leaf(p, b)), shape), 2);
	assert_true(shape[0] == 4 && shape[1] == 5);
	assert_int_equal(aj_expr_shape(p, aj_add(p, aj_leaf(p, b), aj_leaf(p, a)), shape), 2);
	assert_true(shape[0] == 4 && shape[1] == 5);
	aj_expr abc = aj_add(p, aj_add(p, aj_leaf(p, a), aj_leaf(p, b)), aj_leaf(p, c));
	assert_int_equal(aj_expr_shape(p, abc, shape), 3);
	assert_true(shape[0] == 3 && shape[1] == 4 && shape[2] == 5);
	aj_expr w = aj_where(p, aj_binary(p, AJ_OP_GT, aj_leaf(p, a), aj_scalar_f64(p, 0)),
			     aj_leaf(p, c), aj_leaf(p, b));
	assert_int_equal(aj_expr_shape(p, w, shape), 3);
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(c);
}

/* An outer product through broadcasting, and an output that is itself a
 * negative-step, transposed view. */
static void test_broadcast_outer(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	enum { M = 7, K = 11 };
	double col[M], row[K], out[K * M];
	for (int i = 0; i < M; i++)
		col[i] = i + 1;
	for (int j = 0; j < K; j++)
		row[j] = 0.5 * j;
	int64_t cs[2] = {M, 1}, rs[1] = {K}, os[2] = {K, M};
	aj_array *c, *r, *o, *ot, *of;
	REF_OK_CTX(ctx, aj_array_wrap(ctx, col, sizeof col, 0, AJ_FLOAT64, 2, cs, NULL, &c));
	REF_OK_CTX(ctx, aj_array_wrap(ctx, row, sizeof row, 0, AJ_FLOAT64, 1, rs, NULL, &r));
	REF_OK_CTX(ctx, aj_array_wrap(ctx, out, sizeof out, 0, AJ_FLOAT64, 2, os, NULL, &o));
	REF_OK_CTX(ctx, aj_view_permute(ctx, o, NULL, &ot)); /* (M, K) */
	aj_slice flip[2] = {{AJ_DEFAULT, AJ_DEFAULT, -1}, AJ_ALL};
	REF_OK_CTX(ctx, aj_view_slice(ctx, ot, flip, &of));
	REF_OK_PROG(p, aj_assign(p, of, aj_mul(p, aj_leaf(p, c), aj_leaf(p, r))));
	REF_OK_PROG(p, aj_sync(p));
	/* of[i, j] = ot[M-1-i, j] = out[j, M-1-i] = col[i] * row[j] */
	for (int i = 0; i < M; i++)
		for (int j = 0; j < K; j++)
			assert_true(out[j * M + (M - 1 - i)] == col[i] * row[j]);
	aj_array_free(c);
	aj_array_free(r);
	aj_array_free(o);
	aj_array_free(ot);
	aj_array_free(of);
}

/* Inputs for the accuracy sweep: each function over its useful domain. */
static double sweep_input(aj_op op, bool f32, uint64_t *st, bool second)
{
	double u = ref_uniform(st, 0, 1);
	double wide = exp2(f32 ? -100 + 200 * u : -1000 + 2000 * u);
	double sign = ref_uniform(st, 0, 1) < 0.5 ? -1 : 1;
	switch (op) {
	case AJ_OP_EXP: return f32 ? -87 + 175 * u : -700 + 1409 * u;
	case AJ_OP_EXP2: return f32 ? -125 + 252 * u : -1020 + 2043 * u;
	case AJ_OP_EXPM1: return f32 ? -20 + 108 * u : -40 + 749 * u;
	case AJ_OP_LOG: case AJ_OP_LOG2: case AJ_OP_LOG10:
	case AJ_OP_ARCCOSH: return 1 + wide;
	case AJ_OP_LOG1P: return u < 0.5 ? -0.999 + 3.998 * u : wide;
	case AJ_OP_SIN: case AJ_OP_COS:
	case AJ_OP_TAN: return u < 0.5 ? -10 + 40 * u : -1e4 + 2e4 * u;
	case AJ_OP_ARCSIN: case AJ_OP_ARCCOS:
	case AJ_OP_ARCTANH: return -1 + 2 * u;
	case AJ_OP_SINH: case AJ_OP_COSH: return f32 ? -89 + 178 * u : -709 + 1418 * u;
	case AJ_OP_TANH: return -20 + 40 * u;
	case AJ_OP_POW: return second ? -20 + 40 * u : 100 * u;
	default: return sign * wide; /* cbrt, arctan, arcsinh, arctan2, hypot */
	}
}

/* Fills x and y with sweep inputs for op and runs op on them into o. */
static void sweep_run(env *E, aj_op op, aj_dtype t, aj_array *x, aj_array *y,
		      aj_array *o, int64_t n)
{
	uint64_t st = 99 + (uint64_t)op;
	size_t sz = aj_dtype_size(t);
	for (int64_t k = 0; k < n; k++) {
		val a = {sweep_input(op, t == AJ_FLOAT32, &st, false), 0};
		val b = {sweep_input(op, t == AJ_FLOAT32, &st, true), 0};
		put(t, (char *)aj_array_data(x) + k * (int64_t)sz, a);
		put(t, (char *)aj_array_data(y) + k * (int64_t)sz, b);
	}
	aj_prog *p = E->p;
	REF_OK_PROG(p, aj_assign(p, o, build(p, op, aj_leaf(p, x), aj_leaf(p, y))));
	REF_OK_PROG(p, aj_sync(p));
}

/*
 * Worst error of each SLEEF-backed function over 100k inputs on the host's
 * vector path: within 1 ULP of the correctly rounded result (the bound the
 * op table documents), for float64 and float32. The distance from glibc's
 * own double functions is printed too (glibc's tanh is itself 2 ULP off).
 */
static void test_math_ulp(void **state)
{
	env *E = *state;
	static const aj_op ops[] = {
		AJ_OP_CBRT, AJ_OP_EXP, AJ_OP_EXP2, AJ_OP_EXPM1, AJ_OP_LOG,
		AJ_OP_LOG2, AJ_OP_LOG10, AJ_OP_LOG1P, AJ_OP_SIN, AJ_OP_COS,
		AJ_OP_TAN, AJ_OP_ARCSIN, AJ_OP_ARCCOS, AJ_OP_ARCTAN, AJ_OP_SINH,
		AJ_OP_COSH, AJ_OP_TANH, AJ_OP_ARCSINH, AJ_OP_ARCCOSH,
		AJ_OP_ARCTANH, AJ_OP_POW, AJ_OP_ARCTAN2, AJ_OP_HYPOT};
	int64_t n = 100003;
	for (int f = 0; f < 2; f++) {
		aj_dtype t = f ? AJ_FLOAT32 : AJ_FLOAT64;
		size_t sz = aj_dtype_size(t);
		aj_array *x, *y, *o;
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &x));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &y));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &o));
		for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
			sweep_run(E, ops[i], t, x, y, o, n);
			double worst = 0, worst_libm = 0;
			for (int64_t k = 0; k < n; k++) {
				size_t off = (size_t)k * sz;
				val a = get(t, (char *)aj_array_data(x) + off);
				val b = get(t, (char *)aj_array_data(y) + off);
				val got = get(t, (char *)aj_array_data(o) + off);
				long double w = ref_long(ops[i], a.f, b.f);
				val libm = ref_float(ops[i], a.f, b.f, f);
				double u = f ? ref_ulp32((float)got.f, (float)w)
					     : ref_ulp64(got.f, (double)w);
				double ul = f ? ref_ulp32((float)got.f, (float)libm.f)
					      : ref_ulp64(got.f, libm.f);
				worst = u > worst ? u : worst;
				worst_libm = ul > worst_libm ? ul : worst_libm;
			}
			print_message("%-6s %-7s worst %.0f ulp (%.0f from glibc's "
				      "double function) over %lld inputs\n",
				      aj_op_name(ops[i]), aj_dtype_name(t), worst,
				      worst_libm, (long long)n);
			assert_true(worst <= 1 || !ref_exact_fp());
		}
		aj_array_free(x);
		aj_array_free(y);
		aj_array_free(o);
	}
}

/*
 * x ** e with e a scalar: integers 16 < |e| <= 1024 take the double-double
 * powering (lib/fpow.c), as do all exponents given through a prepared
 * kernel's parameter; other ones take pow. Each ISA (fpow.c has an
 * AVX-512 and an AVX2 build; scalar kernels take pow). Within 1 ULP of the correctly
 * rounded result (long double powl) for float64 and float32, over inputs
 * of every magnitude whose powers stay finite, under- and overflow, and
 * the special values (signed zeros and infinities, NaN, subnormals), whose
 * signs must match too.
 */
static double pow_input(uint64_t *st, int e, bool f32, int64_t k)
{
	static const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1, -1,
					 1.7976931348623157e308, 2.2250738585072014e-308,
					 4.9e-324, 2, 0.5, 1.0000001, 0.9999999, -10, 1e-10,
					 /* ** 1.5 just below DBL_MAX: SLEEF's
					    vector pow gives inf (libm's redo) */
					 3.1852513365224309e+205};
	if (k < (int64_t)(sizeof special / sizeof *special))
		return special[k];
	double u = ref_uniform(st, 0, 1), sign = ref_uniform(st, 0, 1) < 0.5 ? -1 : 1;
	double span = (f32 ? 126.0 : 1020.0) / (e ? abs(e) : 1); /* finite powers */
	if (k % 4 == 0)
		span *= 1.2; /* some past the range */
	return sign * exp2((2 * u - 1) * span);
}

static void check_pow(env *E, aj_dtype t, aj_array *x, aj_array *o, double e, const char *how)
{
	bool f32 = t == AJ_FLOAT32;
	double worst = 0;
	for (int64_t k = 0; k < aj_array_size(x); k++) {
		double a = f32 ? ((float *)aj_array_data(x))[k] : ((double *)aj_array_data(x))[k];
		double got = f32 ? ((float *)aj_array_data(o))[k] : ((double *)aj_array_data(o))[k];
		long double w = powl(a, e);
		double u = f32 ? ref_ulp32((float)got, (float)w) : ref_ulp64(got, (double)w);
		double c = pow(a, e); /* signs from C's pow: valgrind's powl lacks them */
		bool sign_ok = c != 0 && !isinf(c) ? true : signbit(got) == signbit(c);
		if ((u > 1 && ref_exact_fp()) || !sign_ok) /* valgrind's FMA rounds twice */
			fail_msg("%s %s: %.17g ** %g = %.17g, not %.17Lg (%.0f ulp)", how,
				 aj_dtype_name(t), a, e, got, w, u);
		worst = u > worst ? u : worst;
	}
	(void)E;
}

static void pow_scalar_exponent(env *E);

static void test_pow_scalar_exponent(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const aj_isa isas[] = {AJ_ISA_AVX512, AJ_ISA_AVX2, AJ_ISA_SCALAR};
	for (size_t i = 0; i < sizeof isas / sizeof *isas; i++)
		if (aj_ctx_set_isa(E->ctx, isas[i]) == AJ_OK)
			pow_scalar_exponent(E);
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

static void pow_scalar_exponent(env *E)
{
	static const int literal[] = {17, 50, 51, 127, 500, 1000, 1024, -17, -50, -1024, 1025};
	static const double param[] = {0, 1, 2, 3, -1, -2, 7, 64, 2.5, -0.5, 2000, 1.5};
	int64_t n = 4099;
	uint64_t st = 5;
	for (int f = 0; f < 2; f++) {
		aj_dtype t = f ? AJ_FLOAT32 : AJ_FLOAT64;
		aj_array *x, *o;
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &x));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &o));
		for (size_t i = 0; i < sizeof literal / sizeof *literal; i++) {
			for (int64_t k = 0; k < n; k++) {
				double v = pow_input(&st, literal[i], f, k);
				if (f)
					((float *)aj_array_data(x))[k] = (float)v;
				else
					((double *)aj_array_data(x))[k] = v;
			}
			aj_prog *p = E->p;
			REF_OK_PROG(p, aj_assign(p, o, aj_binary(p, AJ_OP_POW, aj_leaf(p, x),
								 aj_scalar_f64(p, literal[i]))));
			REF_OK_PROG(p, aj_sync(p));
			check_pow(E, t, x, o, literal[i], "literal");
		}
		aj_param q[3] = {{"x", x, 0}, {"o", o, 0}, {"e", NULL, AJ_FLOAT64}};
		aj_prepared *k = NULL;
		REF_OK_CTX(E->ctx, aj_prepare(E->ctx, "o[:] = x ** e", 3, q, &k));
		for (size_t i = 0; i < sizeof param / sizeof *param; i++) {
			for (int64_t j = 0; j < n; j++) {
				double v = pow_input(&st, (int)param[i], f, j);
				if (f)
					((float *)aj_array_data(x))[j] = (float)v;
				else
					((double *)aj_array_data(x))[j] = v;
			}
			aj_arg args[3] = {{.array = x}, {.array = o}, {.f = param[i]}};
			REF_OK_CTX(E->ctx, aj_prepared_run(k, args));
			check_pow(E, t, x, o, param[i], "parameter");
		}
		aj_prepared_free(k);
		aj_array_free(x);
		aj_array_free(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_each_isa),
		cmocka_unit_test(test_math_ulp),
		cmocka_unit_test(test_pow_scalar_exponent),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_promotion),
		cmocka_unit_test(test_weak_scalar_values),
		cmocka_unit_test(test_casts),
		cmocka_unit_test(test_complex),
		cmocka_unit_test(test_zero_d_and_empty),
		cmocka_unit_test(test_broadcast_outer),
		cmocka_unit_test(test_broadcast_either_side),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
