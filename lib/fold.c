/*
 * Scalar constant folding with the kernel's semantics: each function here
 * mirrors one lowering of jit/lower.c (named in its comment), so read the
 * two together when either changes.
 *
 * Invariants:
 * - Operands and results are canonical aj_scalar_val (see fold.h); integer
 *   work is done in uint64_t and wrapped to the dtype's width, so no C
 *   signed overflow, oversized shift or out-of-range float -> int
 *   conversion ever happens (the tests run under UBSan).
 * - float32 arithmetic is done in double and rounded to float once per
 *   step. For + - * / and sqrt of float operands that is float arithmetic
 *   exactly: 53 >= 2 * 24 + 2 bits make the double rounding innocuous.
 *   Formulas of several steps (npy_divmod) round after each, as the
 *   kernel computes each in float.
 * - Transcendental functions are evaluated in long double and rounded once
 *   to the result dtype: correctly rounded but for rare near-ties, so
 *   within 1 ULP of SLEEF's results, which are within 1 ULP of the correct
 *   ones. glibc's double and float functions would not do: against quad
 *   precision, glibc 2.36's cbrt is up to 3 ULP off, sinh, tanh, asinh,
 *   acosh and atanh 2, and log10f, sinhf, coshf, tanhf, asinhf, acoshf and
 *   atanhf 2 as well. (Where long double is double, this degrades to
 *   glibc's double accuracy.) The one known difference past 1 ULP is the
 *   kernel's: SLEEF's float64 sinh and cosh overflow to inf for
 *   709.78 < |x| <= 710.47, where the results are finite, as here.
 * - Nothing allocates and nothing is set up per call: this runs whenever
 *   an expression is built.
 */
#include "fold.h"

#include <math.h>

/* The transcendental functions, evaluated in long double: see above. */
static long double (*const libm1[AJ_NOP])(long double) = {
	[AJ_OP_CBRT] = cbrtl,     [AJ_OP_EXP] = expl,
	[AJ_OP_EXP2] = exp2l,     [AJ_OP_EXPM1] = expm1l,
	[AJ_OP_LOG] = logl,       [AJ_OP_LOG2] = log2l,
	[AJ_OP_LOG10] = log10l,   [AJ_OP_LOG1P] = log1pl,
	[AJ_OP_SIN] = sinl,       [AJ_OP_COS] = cosl,
	[AJ_OP_TAN] = tanl,       [AJ_OP_ARCSIN] = asinl,
	[AJ_OP_ARCCOS] = acosl,   [AJ_OP_ARCTAN] = atanl,
	[AJ_OP_SINH] = sinhl,     [AJ_OP_COSH] = coshl,
	[AJ_OP_TANH] = tanhl,     [AJ_OP_ARCSINH] = asinhl,
	[AJ_OP_ARCCOSH] = acoshl, [AJ_OP_ARCTANH] = atanhl,
};

/* C's special cases of pow (a zero or non-finite operand) have exact
 * results, which pow gives; glibc 2.36's x87 powl gets one wrong:
 * (-inf) ** -2^63 is inf there, not 0. */
static long double fpow(long double x, long double y)
{
	if (x == 0 || !isfinite(x) || !isfinite(y))
		return pow((double)x, (double)y);
	return powl(x, y);
}

static long double (*const libm2[AJ_NOP])(long double, long double) = {
	[AJ_OP_POW] = fpow,
	[AJ_OP_ARCTAN2] = atan2l,
	[AJ_OP_HYPOT] = hypotl,
};

static bool is_real(aj_dtype t)
{
	return (unsigned)t < AJ_NDTYPE && !aj_is_complex(t);
}

static int bits_of(aj_dtype t)
{
	return aj_dtypes[t].size * 8;
}

/* u cut to integer dtype t's width, canonical; bool is LLVM's i1. */
static int64_t wrap(aj_dtype t, uint64_t u)
{
	int bits = t == AJ_BOOL ? 1 : bits_of(t);
	if (bits == 64)
		return (int64_t)u;
	uint64_t mask = (UINT64_C(1) << bits) - 1;
	u &= mask;
	if (aj_is_signed(t) && (u >> (bits - 1) & 1))
		u |= ~mask;
	return (int64_t)u;
}

/* a < b in t's signedness (bool compares unsigned, as i1). */
static bool less(aj_dtype t, int64_t a, int64_t b)
{
	return aj_is_signed(t) ? a < b : (uint64_t)a < (uint64_t)b;
}

static double round_to(aj_dtype t, double v)
{
	return t == AJ_FLOAT32 ? (double)(float)v : v;
}

/* Nonzero is true; so is NaN, as != is unordered. */
static bool truth(aj_dtype t, aj_scalar_val x)
{
	return aj_is_float(t) ? x.f != 0 : x.i != 0;
}

/* ---- casts ---- */

/* x86's truncating conversion to `bits` (cvtt): NaN and out-of-range
 * values give the minimum int. */
static int64_t cvtt(double x, int bits)
{
	double lim = (double)(UINT64_C(1) << (bits - 1));
	if (x >= -lim && x < lim)
		return (int64_t)x;
	return (int64_t)(UINT64_C(0) - (UINT64_C(1) << (bits - 1)));
}

/* float_to_int: 1- and 2-byte targets truncate a 32-bit conversion,
 * uint32 a 64-bit one; uint64 converts x - 2^63 when x >= 2^63 (exact in
 * float too, where it matters) and flips the top bit. */
static int64_t float_to_int(double x, aj_dtype to)
{
	int bits = bits_of(to);
	if (bits < 32)
		return wrap(to, (uint64_t)cvtt(x, 32));
	if (to == AJ_UINT32)
		return wrap(to, (uint64_t)cvtt(x, 64));
	if (aj_is_signed(to) || !(x >= 0x1p63))
		return cvtt(x, bits);
	return (int64_t)((uint64_t)cvtt(x - 0x1p63, 64) ^ (UINT64_C(1) << 63));
}

/* One rounding, straight to the target (int64 -> double -> float could
 * round twice). */
static double int_to_float(aj_dtype from, aj_dtype to, int64_t i)
{
	if (aj_is_signed(from))
		return to == AJ_FLOAT32 ? (double)(float)i : (double)i;
	uint64_t u = (uint64_t)i;
	return to == AJ_FLOAT32 ? (double)(float)u : (double)u;
}

/* aj_emit_cast */
bool aj_fold_cast(aj_dtype from, aj_dtype to, aj_scalar_val x,
		  aj_scalar_val *r)
{
	if (!is_real(from) || !is_real(to))
		return false;
	if (to == AJ_BOOL)
		r->i = truth(from, x);
	else if (aj_is_float(to))
		r->f = aj_is_float(from) ? round_to(to, x.f)
					 : int_to_float(from, to, x.i);
	else if (aj_is_float(from))
		r->i = float_to_int(x.f, to);
	else
		r->i = wrap(to, (uint64_t)x.i);
	return true;
}

/* ---- floats ---- */

/* lower_sign: NaN stays NaN, -0.0 gives 0.0. */
static double fsign(double a)
{
	return a > 0 ? 1 : a < 0 ? -1 : isnan(a) ? a : 0;
}

static bool float_unary(aj_op op, double a, double *v)
{
	switch (op) {
	case AJ_OP_NEG: *v = -a; break;
	case AJ_OP_ABS: *v = fabs(a); break;
	case AJ_OP_SQUARE: *v = a * a; break;
	case AJ_OP_RECIPROCAL: *v = 1 / a; break;
	case AJ_OP_SIGN: *v = fsign(a); break;
	case AJ_OP_SQRT: *v = sqrt(a); break;
	case AJ_OP_FLOOR: *v = floor(a); break;
	case AJ_OP_CEIL: *v = ceil(a); break;
	case AJ_OP_TRUNC: *v = trunc(a); break;
	case AJ_OP_RINT: *v = nearbyint(a); break; /* half to even */
	default: return false; /* invert, or not folded */
	}
	return true;
}

/*
 * lower_fdiv, NumPy's npy_divmod: mod = fmod(a, b) moved to b's sign;
 * div = (a - mod) / b, floored and snapped to the nearest integer; a zero
 * quotient or remainder carries the right sign; b == 0 gives a / b and
 * fmod's NaN. Each step rounds to t as the kernel's float ops do. The
 * comparisons are C's, which are the kernel's: != unordered, the rest
 * ordered.
 */
static double fdivmod(aj_op op, aj_dtype t, double a, double b)
{
	double mod = fmod(a, b); /* exact */
	double quot = round_to(t, a / b);
	bool adj = mod != 0 && ((b < 0) != (mod < 0));
	if (b == 0)
		return op == AJ_OP_REM ? mod : quot;
	if (op == AJ_OP_REM && mod == 0)
		return copysign(0, b);
	if (op == AJ_OP_REM)
		return adj ? round_to(t, mod + b) : mod;
	double div = round_to(t, round_to(t, a - mod) / b);
	if (adj)
		div = round_to(t, div - 1);
	double fl = floor(div);
	if (round_to(t, div - fl) > 0.5)
		fl = round_to(t, fl + 1);
	return div != 0 ? fl : copysign(0, quot);
}

static bool float_binary(aj_op op, aj_dtype t, double a, double b, double *v)
{
	switch (op) {
	case AJ_OP_ADD: *v = a + b; break;
	case AJ_OP_SUB: *v = a - b; break;
	case AJ_OP_MUL: *v = a * b; break;
	case AJ_OP_DIV: *v = a / b; break;
	case AJ_OP_FLOORDIV:
	case AJ_OP_REM: *v = fdivmod(op, t, a, b); break;
	case AJ_OP_FMOD: *v = fmod(a, b); break;
	/* emit_minmax and lower_fminmax: which NaN wins, and b on ties */
	case AJ_OP_MIN: *v = a < b || isnan(a) ? a : b; break;
	case AJ_OP_MAX: *v = a > b || isnan(a) ? a : b; break;
	case AJ_OP_FMIN: *v = a < b || isnan(b) ? a : b; break;
	case AJ_OP_FMAX: *v = a > b || isnan(b) ? a : b; break;
	case AJ_OP_COPYSIGN: *v = copysign(a, b); break;
	case AJ_OP_NEXTAFTER: /* the step is float's */
		*v = t == AJ_FLOAT32 ? nextafterf((float)a, (float)b)
				     : nextafter(a, b);
		break;
	default: return false; /* bitwise ops and shifts */
	}
	return true;
}

/* lower_clip: MIN(MAX(x, lo), hi), NaN in x propagating. */
static double fclip(double x, double lo, double hi)
{
	double m = isnan(x) || x > lo ? x : lo;
	return isnan(m) || m < hi ? m : hi;
}

static bool fold_float(aj_op op, aj_dtype t, const aj_scalar_val *x,
		       aj_scalar_val *r)
{
	double a = x[0].f, v;
	long double l;
	if (libm1[op] || libm2[op]) {
		l = libm1[op] ? libm1[op](a) : libm2[op](a, x[1].f);
		r->f = t == AJ_FLOAT32 ? (double)(float)l : (double)l;
		return true;
	}
	if (op == AJ_OP_CLIP)
		v = fclip(a, x[1].f, x[2].f);
	else if (!(aj_ops[op].nin == 1 ? float_unary(op, a, &v)
				       : float_binary(op, t, a, x[1].f, &v)))
		return false;
	r->f = round_to(t, v);
	return true;
}

/* ---- integers ---- */

/* lower_idiv: a zero divisor gives 0, MIN // -1 wraps to MIN, floor
 * division and Python's % adjust the truncated results when the signs
 * differ. */
static int64_t idiv(aj_op op, aj_dtype t, int64_t a, int64_t b)
{
	uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
	if (b == 0)
		return 0;
	if (!aj_is_signed(t))
		return (int64_t)(op == AJ_OP_FLOORDIV ? ua / ub : ua % ub);
	if (b == -1) /* C's INT64_MIN / -1 is undefined */
		return op == AJ_OP_FLOORDIV ? wrap(t, 0 - (uint64_t)a) : 0;
	int64_t q = a / b, m = a % b;
	bool adj = m != 0 && (m < 0) != (b < 0);
	if (op == AJ_OP_FLOORDIV)
		return q - adj;
	return op == AJ_OP_REM && adj ? m + b : m;
}

/* ipow_fn: squaring, wrapping; a signed negative exponent gives
 * 1 / b ** -e truncated (1, -1 or 0). */
static int64_t ipow(aj_dtype t, int64_t b, int64_t e)
{
	if (aj_is_signed(t) && e < 0)
		return b == 1 ? 1 : b == -1 ? (e & 1 ? -1 : 1) : 0;
	uint64_t acc = 1, x = (uint64_t)b;
	for (uint64_t n = (uint64_t)e; n; n >>= 1, x *= x)
		if (n & 1)
			acc *= x;
	return wrap(t, acc);
}

/* lower_shift: a count outside [0, bits), read as unsigned, gives 0, or
 * -1 for a negative number shifted right. */
static int64_t shift(aj_op op, aj_dtype t, int64_t a, int64_t b)
{
	uint64_t n = (uint64_t)b, u = (uint64_t)a;
	bool ok = n < (uint64_t)bits_of(t);
	if (op == AJ_OP_LSHIFT)
		return ok ? wrap(t, u << n) : 0;
	if (!ok)
		return aj_is_signed(t) && a < 0 ? -1 : 0;
	/* arithmetic shift written with logical ones */
	return (int64_t)(aj_is_signed(t) && a < 0 ? ~(~u >> n) : u >> n);
}

/* lower_reciprocal: 1.0 / x in double, converted back. */
static int64_t ireciprocal(aj_dtype t, int64_t a)
{
	double d = aj_is_signed(t) ? (double)a : (double)(uint64_t)a;
	return float_to_int(1 / d, t);
}

static int64_t imin(aj_dtype t, int64_t a, int64_t b)
{
	return less(t, a, b) ? a : b;
}

static int64_t imax(aj_dtype t, int64_t a, int64_t b)
{
	return less(t, b, a) ? a : b;
}

static bool fold_int(aj_op op, aj_dtype t, const aj_scalar_val *x,
		     aj_scalar_val *r)
{
	int64_t a = x[0].i, b = aj_ops[op].nin > 1 ? x[1].i : 0;
	uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
	bool s = aj_is_signed(t);
	switch (op) {
	case AJ_OP_NEG: r->i = wrap(t, 0 - ua); break;
	case AJ_OP_ABS: r->i = s && a < 0 ? wrap(t, 0 - ua) : a; break;
	case AJ_OP_SQUARE: r->i = wrap(t, ua * ua); break;
	case AJ_OP_RECIPROCAL: r->i = ireciprocal(t, a); break;
	case AJ_OP_SIGN: r->i = less(t, 0, a) - (s && a < 0); break;
	case AJ_OP_INVERT: r->i = wrap(t, ~ua); break;
	case AJ_OP_ADD: r->i = wrap(t, ua + ub); break;
	case AJ_OP_SUB: r->i = wrap(t, ua - ub); break;
	case AJ_OP_MUL: r->i = wrap(t, ua * ub); break;
	case AJ_OP_FLOORDIV:
	case AJ_OP_REM:
	case AJ_OP_FMOD: r->i = idiv(op, t, a, b); break;
	case AJ_OP_POW: r->i = ipow(t, a, b); break;
	case AJ_OP_MIN:
	case AJ_OP_FMIN: r->i = imin(t, a, b); break;
	case AJ_OP_MAX:
	case AJ_OP_FMAX: r->i = imax(t, a, b); break;
	case AJ_OP_BITAND: r->i = a & b; break;
	case AJ_OP_BITOR: r->i = a | b; break;
	case AJ_OP_BITXOR: r->i = a ^ b; break;
	case AJ_OP_LSHIFT:
	case AJ_OP_RSHIFT: r->i = shift(op, t, a, b); break;
	case AJ_OP_CLIP: r->i = imin(t, imax(t, a, b), x[2].i); break;
	default: return false; /* float functions, true division, ... */
	}
	return true;
}

/* The kernel's i1 arithmetic, where the builder keeps bool: + is or, * is
 * and, minimum is and, maximum is or. */
static bool fold_bool(aj_op op, const aj_scalar_val *x, aj_scalar_val *r)
{
	int64_t a = x[0].i, b = aj_ops[op].nin > 1 ? x[1].i : 0;
	switch (op) {
	case AJ_OP_ABS: r->i = a; break;
	case AJ_OP_INVERT: r->i = !a; break;
	case AJ_OP_ADD:
	case AJ_OP_MAX:
	case AJ_OP_FMAX:
	case AJ_OP_BITOR: r->i = a | b; break;
	case AJ_OP_MUL:
	case AJ_OP_MIN:
	case AJ_OP_FMIN:
	case AJ_OP_BITAND: r->i = a & b; break;
	case AJ_OP_BITXOR: r->i = a ^ b; break;
	case AJ_OP_CLIP: r->i = (a | b) & x[2].i; break;
	/* -b, b - b, sign(b) are refused; the rest compute in int8 or float */
	default: return false;
	}
	return true;
}

/* ---- tests and logic ---- */

/* emit_cmp: C's float comparisons are the kernel's predicates (ordered,
 * but unordered !=); ints compare in their signedness. */
static bool fold_cmp(aj_op op, aj_dtype t, aj_scalar_val x, aj_scalar_val y)
{
	bool f = aj_is_float(t);
	bool lt = f ? x.f < y.f : less(t, x.i, y.i);
	bool gt = f ? x.f > y.f : less(t, y.i, x.i);
	bool eq = f ? x.f == y.f : x.i == y.i;
	switch (op) {
	case AJ_OP_EQ: return eq;
	case AJ_OP_NE: return !eq;
	case AJ_OP_LT: return lt;
	case AJ_OP_LE: return lt || eq;
	case AJ_OP_GT: return gt;
	default: return gt || eq;
	}
}

/* lower_pred: ints are finite, never NaN or inf; signbit is the sign bit
 * itself (-0.0 and -NaN count, negative signed ints too). */
static bool fold_pred(aj_op op, aj_dtype t, aj_scalar_val x)
{
	if (!aj_is_float(t))
		return op == AJ_OP_ISFINITE ||
		       (op == AJ_OP_SIGNBIT && aj_is_signed(t) && x.i < 0);
	switch (op) {
	case AJ_OP_ISNAN: return isnan(x.f);
	case AJ_OP_ISINF: return isinf(x.f);
	case AJ_OP_ISFINITE: return isfinite(x.f);
	default: return signbit(x.f) != 0;
	}
}

static bool fold_logic(aj_op op, aj_dtype t, const aj_scalar_val *x)
{
	bool a = truth(t, x[0]), b = op != AJ_OP_LNOT && truth(t, x[1]);
	switch (op) {
	case AJ_OP_LNOT: return !a;
	case AJ_OP_LAND: return a && b;
	case AJ_OP_LOR: return a || b;
	default: return a != b;
	}
}

/* aj_lower's dispatch. */
bool aj_fold_op(aj_op op, aj_dtype in, aj_dtype out, const aj_scalar_val *x,
		aj_scalar_val *r)
{
	if ((unsigned)op >= AJ_NOP || !is_real(in) || !is_real(out))
		return false;
	aj_opkind kind = aj_ops[op].kind;
	bool test = kind == AJ_KIND_CMP || kind == AJ_KIND_PRED ||
		    kind == AJ_KIND_LOGIC;
	if (test ? out != AJ_BOOL : in != out)
		return false;
	if (op == AJ_OP_REAL || op == AJ_OP_CONJ || op == AJ_OP_IMAG) {
		/* of a real: itself, or zero */
		*r = op == AJ_OP_IMAG ? (aj_scalar_val){.i = 0} : x[0];
		return in != AJ_BOOL || op != AJ_OP_CONJ;
	}
	switch (kind) {
	case AJ_KIND_UNARY:
	case AJ_KIND_MATH:
	case AJ_KIND_BINARY:
	case AJ_KIND_CLIP:
		return aj_is_float(in) ? fold_float(op, in, x, r)
		       : in == AJ_BOOL ? fold_bool(op, x, r)
				       : fold_int(op, in, x, r);
	case AJ_KIND_CMP: r->i = fold_cmp(op, in, x[0], x[1]); return true;
	case AJ_KIND_PRED: r->i = fold_pred(op, in, x[0]); return true;
	case AJ_KIND_LOGIC: r->i = fold_logic(op, in, x); return true;
	case AJ_KIND_SELECT: *r = x[0].i ? x[1] : x[2]; return true;
	default: return false; /* leaves, casts (aj_fold_cast), reductions */
	}
}
