/*
 * The reference evaluator (refeval.h): NumPy's semantics element by
 * element. Its type rules are written here from NumPy's documentation
 * (promotion table, NEP 50, the op table's rules in arrjit.h), not taken
 * from lib/dtype.c, so that the two can disagree.
 *
 * float32 arithmetic is done in double and rounded once: for + - * / and
 * sqrt that is the correctly rounded float32 result (53 >= 2 * 24 + 2).
 */
#include "refeval.h"

#include <complex.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* the reference rounds every operation, as NumPy's C loops do (the
 * harnesses are clang's: libFuzzer) */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static char kind(aj_dtype t)
{
	switch (t) {
	case AJ_BOOL: return 'b';
	case AJ_INT8: case AJ_INT16: case AJ_INT32: case AJ_INT64: return 'i';
	case AJ_UINT8: case AJ_UINT16: case AJ_UINT32: case AJ_UINT64: return 'u';
	case AJ_FLOAT32: case AJ_FLOAT64: return 'f';
	default: return 'c';
	}
}

static int size(aj_dtype t)
{
	static const int sizes[] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 8, 16};
	return sizes[t];
}

static bool is_int(aj_dtype t)
{
	return kind(t) == 'i' || kind(t) == 'u';
}

/* Whether t holds floats: a float or a complex (two of them). */
static bool has_floats(aj_dtype t)
{
	return kind(t) == 'f' || kind(t) == 'c';
}

/* The dtype of t's parts: float32 for complex64, float64 for
 * complex128; t itself otherwise. */
static aj_dtype part(aj_dtype t)
{
	return t == AJ_COMPLEX64 ? AJ_FLOAT32 : t == AJ_COMPLEX128 ? AJ_FLOAT64 : t;
}

static aj_dtype int_of(char k, int sz)
{
	static const aj_dtype s[] = {AJ_INT8, AJ_INT16, 0, AJ_INT32, 0, 0, 0, AJ_INT64};
	static const aj_dtype u[] = {AJ_UINT8, AJ_UINT16, 0, AJ_UINT32, 0, 0, 0, AJ_UINT64};
	return k == 'i' ? s[sz - 1] : u[sz - 1];
}

/* NumPy's promote_types over bool, ints, uints, floats, complex: a
 * complex with anything is the complex of the float its parts promote
 * to with it. */
static aj_dtype promote_strong(aj_dtype a, aj_dtype b)
{
	char ka = kind(a), kb = kind(b);
	if (a == b || kb == 'b')
		return a;
	if (ka == 'b')
		return b;
	if (ka == 'c' || kb == 'c') {
		aj_dtype f = promote_strong(part(a), part(b));
		return f == AJ_FLOAT32 ? AJ_COMPLEX64 : AJ_COMPLEX128;
	}
	if (ka == kb)
		return size(a) >= size(b) ? a : b;
	if (ka == 'f' || kb == 'f') {
		aj_dtype f = ka == 'f' ? a : b, n = ka == 'f' ? b : a;
		int need = size(f) > 2 * size(n) ? size(f) : 2 * size(n);
		return need <= 4 ? AJ_FLOAT32 : AJ_FLOAT64;
	}
	aj_dtype s = ka == 'i' ? a : b, u = ka == 'i' ? b : a;
	if (size(s) > size(u))
		return s;
	return size(u) < 8 ? int_of('i', 2 * size(u)) : AJ_FLOAT64;
}

/* NEP 50: a weak int takes any non-bool dtype, a weak float any float
 * or complex, a weak complex any complex, and a float's precision
 * (float32 gives complex64); otherwise the scalar's default dtype
 * (int64, float64, complex128) promotes. */
static aj_dtype promote(aj_dtype a, bool aw, aj_dtype b, bool bw)
{
	if (aw == bw)
		return promote_strong(a, b);
	aj_dtype w = aw ? a : b, s = aw ? b : a;
	if (kind(w) == 'i')
		return kind(s) == 'b' ? AJ_INT64 : s;
	if (kind(w) == 'c')
		return kind(s) == 'c' ? s : s == AJ_FLOAT32 ? AJ_COMPLEX64 : AJ_COMPLEX128;
	return has_floats(s) ? s : AJ_FLOAT64;
}

static aj_dtype promote_nodes(const rnode *nodes, int n, const int *in,
			      bool *weak)
{
	aj_dtype t = nodes[in[0]].t;
	*weak = nodes[in[0]].weak;
	for (int k = 1; k < n; k++) {
		const rnode *x = &nodes[in[k]];
		t = promote(t, *weak, x->t, x->weak);
		*weak = *weak && x->weak;
	}
	return t;
}

/* The FLOAT rule: at least a float (a complex stays), float32 for 1- and
 * 2-byte types. */
static aj_dtype at_least_float(aj_dtype t)
{
	if (has_floats(t))
		return t;
	return size(t) <= 2 ? AJ_FLOAT32 : AJ_FLOAT64;
}

/* A comparison of uint64 with a signed int: NumPy 2 compares such pairs
 * exactly, where promotion would give float64; left out. */
static bool mixed_64(const rnode *nodes, const int *in)
{
	const rnode *a = &nodes[in[0]], *b = &nodes[in[1]];
	return (!a->weak && !b->weak) &&
	       ((a->t == AJ_UINT64 && kind(b->t) == 'i') ||
		(b->t == AJ_UINT64 && kind(a->t) == 'i'));
}

int rtype(const rnode *nodes, aj_op op, int n, const int *in, aj_dtype t)
{
	bool weak;
	if (op == AJ_OP_WHERE) {
		if (nodes[in[0]].weak)
			return -1;
		in++, n--;
	}
	aj_dtype p = promote_nodes(nodes, n, in, &weak);
	bool cx = kind(p) == 'c'; /* out of scope for complex: -1 */
	if (weak && op != AJ_OP_WHERE)
		return -1;
	if (op == AJ_OP_WHERE && nodes[in[0]].weak && nodes[in[1]].weak)
		return -1;
	switch (op) {
	case AJ_OP_ADD: case AJ_OP_MUL: case AJ_OP_WHERE:
		return p;
	case AJ_OP_MIN: case AJ_OP_MAX:
		return cx ? -1 : (int)p;
	case AJ_OP_SUB: case AJ_OP_NEG:
		return kind(p) == 'b' ? -1 : (int)p;
	case AJ_OP_ABS: /* the REAL rule: a complex's is its parts' float */
		return kind(p) == 'b' ? -1 : (int)part(p);
	case AJ_OP_REAL: case AJ_OP_IMAG:
		return part(p);
	case AJ_OP_CONJ: /* NOBOOL */
		return kind(p) == 'b' ? AJ_INT8 : (int)p;
	case AJ_OP_FLOORDIV: case AJ_OP_REM:
		return is_int(p) ? (int)p : -1;
	case AJ_OP_POW: /* bool ** bool computes in int8, as NumPy's loops */
		return cx ? -1 : kind(p) == 'b' ? AJ_INT8 : (int)p;
	case AJ_OP_DIV: /* true division of ints is float64 */
		return has_floats(p) ? (int)p : AJ_FLOAT64;
	case AJ_OP_SQRT: case AJ_OP_EXP: case AJ_OP_SIN: case AJ_OP_LOG:
		return at_least_float(p);
	case AJ_OP_EQ: case AJ_OP_NE: case AJ_OP_LT: case AJ_OP_LE:
	case AJ_OP_GT: case AJ_OP_GE:
		return mixed_64(nodes, in) ? -1 : AJ_BOOL;
	case AJ_OP_CAST:
		return t;
	case AJ_OP_RMIN: case AJ_OP_RMAX:
		return cx ? -1 : (int)p;
	case AJ_OP_ANY: case AJ_OP_ALL:
		return AJ_BOOL;
	case AJ_OP_SUM:
		if (cx)
			return -1;
		if (kind(p) == 'b')
			return AJ_INT64;
		if (is_int(p))
			return kind(p) == 'u' ? AJ_UINT64 : AJ_INT64;
		return p;
	default:
		return -1;
	}
}

bool rshape(const rnode *nodes, int n, const int *in, int *nd, int64_t *shape)
{
	*nd = 0;
	for (int k = 0; k < n; k++)
		if (nodes[in[k]].ndim > *nd)
			*nd = nodes[in[k]].ndim;
	for (int d = 0; d < *nd; d++)
		shape[d] = 1;
	for (int k = 0; k < n; k++) {
		const rnode *x = &nodes[in[k]];
		for (int d = 0; d < x->ndim; d++) {
			int64_t *s = &shape[*nd - x->ndim + d];
			if (x->shape[d] == *s || x->shape[d] == 1)
				continue;
			if (*s != 1)
				return false;
			*s = x->shape[d];
		}
	}
	return true;
}

/* ---- values ---- */

/* x's low bits as a value of int dtype t (bool: nonzero). */
static int64_t wrap(uint64_t x, aj_dtype t)
{
	switch (t) {
	case AJ_BOOL: return x != 0;
	case AJ_INT8: return (int8_t)x;
	case AJ_INT16: return (int16_t)x;
	case AJ_INT32: return (int32_t)x;
	case AJ_UINT8: return (uint8_t)x;
	case AJ_UINT16: return (uint16_t)x;
	case AJ_UINT32: return (uint32_t)x;
	default: return (int64_t)x;
	}
}

static double as_double(rval v, aj_dtype t)
{
	if (has_floats(t))
		return v.f;
	return t == AJ_UINT64 ? (double)(uint64_t)v.i : (double)v.i;
}

static rval undef(void)
{
	return (rval){.st = R_UNDEF};
}

/* Float to int dtype t: truncation where the result fits, else
 * undefined (NumPy leaves it to the C cast). */
static rval float_to_int(double f, aj_dtype t)
{
	double x = trunc(f);
	if (isnan(x))
		return undef();
	if (kind(t) == 'u') {
		double hi = t == AJ_UINT64 ? 18446744073709551616.0
					   : ldexp(1, 8 * size(t));
		if (x < 0 || x >= hi)
			return undef();
		return (rval){.i = (int64_t)(uint64_t)x};
	}
	double lim = ldexp(1, 8 * size(t) - 1);
	if (x < -lim || x >= lim)
		return undef();
	return (rval){.i = (int64_t)x};
}

/* A complex to a real dtype keeps the real part (NumPy warns). */
rval rconvert(rval v, aj_dtype from, aj_dtype to)
{
	rval r;
	aj_dtype pf = part(from), pt = part(to);
	if (v.st == R_UNDEF)
		return v;
	if (!has_floats(from)) {
		if (!has_floats(to))
			r = (rval){.i = wrap((uint64_t)v.i, to)};
		else if (pt == AJ_FLOAT32)
			r = (rval){.f = from == AJ_UINT64 ? (float)(uint64_t)v.i
							  : (float)v.i};
		else
			r = (rval){.f = as_double(v, from)};
	} else if (kind(to) == 'b') {
		r = (rval){.i = v.f != 0 || v.im != 0}; /* NaN is true */
	} else if (!has_floats(to)) {
		r = float_to_int(v.f, to);
	} else {
		r = (rval){.f = pt == AJ_FLOAT32 ? (float)v.f : v.f};
		if (kind(to) == 'c')
			r.im = pt == AJ_FLOAT32 ? (float)v.im : v.im;
	}
	if (v.st == R_APPROX && r.st != R_UNDEF) {
		if (!has_floats(to))
			return undef();
		r.st = R_APPROX;
		r.tol = v.tol;
		r.ulp = v.ulp + (pt == AJ_FLOAT32 && pf == AJ_FLOAT64);
		if (pf == AJ_FLOAT32 && pt == AJ_FLOAT64) {
			/* float32 ULPs, as a distance in float64 */
			float a = fabsf((float)v.f);
			r.tol += v.ulp * (double)(nextafterf(a, INFINITY) - a);
			r.ulp = 0;
		}
	}
	return r;
}

rval rload(aj_dtype t, const char *p)
{
	rval v = {0};
	float f[2];
	double d[2];
	switch (t) {
	case AJ_FLOAT32: memcpy(f, p, 4); v.f = f[0]; break;
	case AJ_FLOAT64: memcpy(&v.f, p, 8); break;
	case AJ_COMPLEX64: memcpy(f, p, 8); v.f = f[0], v.im = f[1]; break;
	case AJ_COMPLEX128: memcpy(d, p, 16); v.f = d[0], v.im = d[1]; break;
	case AJ_BOOL: v.i = *p != 0; break;
	default: {
		uint64_t x = 0;
		memcpy(&x, p, (size_t)size(t)); /* little-endian */
		v.i = wrap(x, t);
	}
	}
	return v;
}

void rstore(aj_dtype t, char *p, rval v)
{
	if (t == AJ_FLOAT32) {
		float f = (float)v.f;
		memcpy(p, &f, 4);
	} else if (t == AJ_FLOAT64) {
		memcpy(p, &v.f, 8);
	} else if (t == AJ_COMPLEX64) {
		float f[2] = {(float)v.f, (float)v.im};
		memcpy(p, f, 8);
	} else if (t == AJ_COMPLEX128) {
		double d[2] = {v.f, v.im};
		memcpy(p, d, 16);
	} else {
		memcpy(p, &v.i, (size_t)size(t));
	}
}

/* Distance in representable values between two floats of dtype t. */
static double ulps(aj_dtype t, double a, double b)
{
	int64_t x, y;
	if (t == AJ_FLOAT32) {
		float fa = (float)a, fb = (float)b;
		int32_t ia, ib;
		memcpy(&ia, &fa, 4);
		memcpy(&ib, &fb, 4);
		x = ia < 0 ? INT32_MIN - (int64_t)ia : ia;
		y = ib < 0 ? INT32_MIN - (int64_t)ib : ib;
	} else {
		memcpy(&x, &a, 8);
		memcpy(&y, &b, 8);
		x = x < 0 ? INT64_MIN - x : x;
		y = y < 0 ? INT64_MIN - y : y;
	}
	/* in integers: as doubles, float64's keys near 2^62 round to 512 */
	return (double)(x > y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x);
}

/* Whether float got (of dtype t) agrees with want, w's state and bounds. */
static bool agree_float(aj_dtype t, double got, double want, rval w)
{
	if (isnan(got) || isnan(want))
		return isnan(got) && isnan(want);
	if (w.st == R_EXACT)
		return got == want && signbit(got) == signbit(want);
	return got == want || fabs(got - want) <= w.tol ||
	       ulps(t, got, want) <= w.ulp;
}

bool ragree(aj_dtype t, const char *p, rval want)
{
	if (want.st == R_UNDEF)
		return true;
	rval got = rload(t, p);
	if (kind(t) == 'c')
		return agree_float(part(t), got.f, want.f, want) &&
		       agree_float(part(t), got.im, want.im, want);
	if (kind(t) != 'f')
		return got.i == want.i;
	return agree_float(t, got.f, want.f, want);
}

bool rsame_kind(aj_dtype from, aj_dtype to)
{
	static const char order[] = "buifc";
	if (kind(from) == kind(to))
		return true;
	return strchr(order, kind(from)) < strchr(order, kind(to));
}

/* ---- evaluation ---- */

static bool truth(rval v, aj_dtype t)
{
	return has_floats(t) ? v.f != 0 || v.im != 0 : v.i != 0; /* NaN: true */
}


static rval of_float(aj_dtype t, double f)
{
	return (rval){.f = t == AJ_FLOAT32 ? (float)f : f};
}

/* x rounded to float dtype t: float32 arithmetic done in double and
 * rounded at each operation is float32's own (see the top). */
static double rd(aj_dtype t, double x)
{
	return t == AJ_FLOAT32 ? (float)x : x;
}

/* NumPy's complex division (Smith's), every operation rounded to the
 * parts' dtype f. */
static rval cdiv(aj_dtype f, double ar, double ai, double br, double bi)
{
	double rat, scl;
	if (fabs(br) >= fabs(bi)) {
		if (br == 0 && bi == 0) /* complex inf or NaN */
			return (rval){.f = rd(f, ar / fabs(br)), .im = rd(f, ai / fabs(br))};
		rat = rd(f, bi / br);
		scl = rd(f, 1.0 / rd(f, br + rd(f, bi * rat)));
		return (rval){.f = rd(f, rd(f, ar + rd(f, ai * rat)) * scl),
			      .im = rd(f, rd(f, ai - rd(f, ar * rat)) * scl)};
	}
	rat = rd(f, br / bi);
	scl = rd(f, 1.0 / rd(f, bi + rd(f, br * rat)));
	return (rval){.f = rd(f, rd(f, rd(f, ar * rat) + ai) * scl),
		      .im = rd(f, rd(f, rd(f, ai * rat) - ar) * scl)};
}

/* NumPy's complex loops: + - * as (a + bi)(c + di) = (ac - bd) +
 * (ad + bc)i, / by cdiv, no FMA; the header calls them exact. */
static rval carith(aj_op op, aj_dtype t, rval a, rval b)
{
	aj_dtype f = part(t);
	double ar = a.f, ai = a.im, br = b.f, bi = b.im;
	switch (op) {
	case AJ_OP_ADD: return (rval){.f = rd(f, ar + br), .im = rd(f, ai + bi)};
	case AJ_OP_SUB: return (rval){.f = rd(f, ar - br), .im = rd(f, ai - bi)};
	case AJ_OP_MUL:
		return (rval){.f = rd(f, rd(f, ar * br) - rd(f, ai * bi)),
			      .im = rd(f, rd(f, ar * bi) + rd(f, ai * br))};
	default: return cdiv(f, ar, ai, br, bi);
	}
}

/* NumPy's complex comparisons: lexicographic, the real parts first,
 * which decide only if neither imaginary part is NaN. */
static rval ccompare(aj_op op, rval a, rval b)
{
	double xr = a.f, xi = a.im, yr = b.f, yi = b.im;
	bool ok = !isnan(xi) && !isnan(yi), r;
	switch (op) {
	case AJ_OP_EQ: r = xr == yr && xi == yi; break;
	case AJ_OP_NE: r = xr != yr || xi != yi; break;
	case AJ_OP_LT: r = (xr < yr && ok) || (xr == yr && xi < yi); break;
	case AJ_OP_LE: r = (xr < yr && ok) || (xr == yr && xi <= yi); break;
	case AJ_OP_GT: r = (xr > yr && ok) || (xr == yr && xi > yi); break;
	default: r = (xr > yr && ok) || (xr == yr && xi >= yi); break;
	}
	return (rval){.i = r};
}

/* real, imag, absolute of a complex a, of float dtype t; absolute is
 * hypot, within the op table's 1 ULP plus 1. */
static rval cpart(aj_op op, aj_dtype t, rval a)
{
	if (op == AJ_OP_REAL)
		return (rval){.f = a.f};
	if (op == AJ_OP_IMAG)
		return (rval){.f = a.im};
	rval r = of_float(t, t == AJ_FLOAT32 ? hypot(a.f, a.im)
					     : (double)hypotl(a.f, a.im));
	r.st = R_APPROX;
	r.ulp = 2;
	return r;
}

static rval int_div(aj_op op, aj_dtype t, int64_t a, int64_t b)
{
	if (b == 0)
		return (rval){.i = 0}; /* NumPy: 0, with a warning */
	if (kind(t) == 'u') {
		uint64_t x = (uint64_t)a, y = (uint64_t)b;
		return (rval){.i = (int64_t)(op == AJ_OP_FLOORDIV ? x / y : x % y)};
	}
	if (b == -1) /* INT_MIN // -1 wraps to INT_MIN */
		return (rval){.i = op == AJ_OP_FLOORDIV ? wrap(-(uint64_t)a, t) : 0};
	int64_t q = a / b, r = a % b;
	if (r != 0 && (r < 0) != (b < 0))
		q--, r += b;
	return (rval){.i = op == AJ_OP_FLOORDIV ? q : r};
}

/* NumPy's integer power: a ** b by repeated squaring, wrapping as a
 * multiplication does; b >= 0 (NumPy raises for a negative exponent,
 * which rcheck reports before this runs). */
static rval int_pow(aj_dtype t, int64_t a, int64_t b)
{
	if (kind(t) == 'i' && b < 0)
		return undef();
	uint64_t r = 1, x = (uint64_t)a, e = (uint64_t)b;
	for (; e; e >>= 1, x *= x)
		if (e & 1)
			r *= x;
	return (rval){.i = wrap(r, t)};
}

/* Float power, C's pow: the op table's 1 ULP plus 1 for the
 * reference's own rounding. */
static rval float_pow(aj_dtype t, double x, double y)
{
	rval r = t == AJ_FLOAT32 ? of_float(t, pow(x, y))
				 : of_float(t, (double)powl(x, y));
	r.st = R_APPROX;
	r.ulp = 2;
	return r;
}

static rval arith(aj_op op, aj_dtype t, rval a, rval b)
{
	if (kind(t) == 'c')
		return carith(op, t, a, b);
	if (kind(t) == 'b') { /* bool + is or, * is and */
		int64_t x = a.i != 0, y = b.i != 0;
		return (rval){.i = op == AJ_OP_ADD   ? (x | y)
				   : op == AJ_OP_MUL ? (x & y)
				   : op == AJ_OP_MAX ? (x | y)
						     : (x & y)};
	}
	if (kind(t) != 'f') {
		uint64_t x = (uint64_t)a.i, y = (uint64_t)b.i;
		bool lt = kind(t) == 'u' ? x < y : a.i < b.i;
		switch (op) {
		case AJ_OP_ADD: return (rval){.i = wrap(x + y, t)};
		case AJ_OP_SUB: return (rval){.i = wrap(x - y, t)};
		case AJ_OP_MUL: return (rval){.i = wrap(x * y, t)};
		case AJ_OP_MIN: return lt ? a : b;
		case AJ_OP_MAX: return lt ? b : a;
		case AJ_OP_POW: return int_pow(t, a.i, b.i);
		default: return int_div(op, t, a.i, b.i);
		}
	}
	double x = a.f, y = b.f;
	switch (op) {
	case AJ_OP_ADD: return of_float(t, x + y);
	case AJ_OP_SUB: return of_float(t, x - y);
	case AJ_OP_MUL: return of_float(t, x * y);
	case AJ_OP_DIV: return of_float(t, x / y);
	case AJ_OP_POW: return float_pow(t, x, y);
	default: /* minimum, maximum: NaN propagates; -0 vs 0 either way */
		if (isnan(x) || isnan(y))
			return of_float(t, NAN);
		if (x == y && signbit(x) != signbit(y))
			return undef();
		return (op == AJ_OP_MIN) == (x < y) ? a : b;
	}
}

static rval compare(aj_op op, aj_dtype t, rval a, rval b)
{
	int c; /* -1, 0, 1; 2 unordered */
	if (kind(t) == 'c')
		return ccompare(op, a, b);
	if (kind(t) == 'f')
		c = isnan(a.f) || isnan(b.f) ? 2 : (a.f > b.f) - (a.f < b.f);
	else if (t == AJ_UINT64)
		c = ((uint64_t)a.i > (uint64_t)b.i) - ((uint64_t)a.i < (uint64_t)b.i);
	else
		c = (a.i > b.i) - (a.i < b.i);
	bool r;
	switch (op) {
	case AJ_OP_EQ: r = c == 0; break;
	case AJ_OP_NE: r = c != 0; break;
	case AJ_OP_LT: r = c == -1; break;
	case AJ_OP_LE: r = c == -1 || c == 0; break;
	case AJ_OP_GT: r = c == 1; break;
	default: r = c == 1 || c == 0; break;
	}
	return (rval){.i = r};
}

/* negative, conjugate, sqrt, exp, sin, log of a complex a of dtype t:
 * the math functions are glibc's, as NumPy's (npy_cexp is cexp, ...);
 * the op table says equal bit for bit. */
static rval cunary(aj_op op, aj_dtype t, rval a)
{
	if (op == AJ_OP_NEG || op == AJ_OP_CONJ)
		return (rval){.f = op == AJ_OP_NEG ? -a.f : a.f, .im = -a.im};
	if (t == AJ_COMPLEX64) { /* a complex is an array of its two parts */
		float parts[2] = {(float)a.f, (float)a.im};
		float complex z;
		memcpy(&z, parts, sizeof z);
		z = op == AJ_OP_SQRT ? csqrtf(z) : op == AJ_OP_EXP ? cexpf(z)
		  : op == AJ_OP_SIN ? csinf(z) : clogf(z);
		return (rval){.f = crealf(z), .im = cimagf(z)};
	}
	double parts[2] = {a.f, a.im};
	double complex z;
	memcpy(&z, parts, sizeof z);
	z = op == AJ_OP_SQRT ? csqrt(z) : op == AJ_OP_EXP ? cexp(z)
	  : op == AJ_OP_SIN ? csin(z) : clog(z);
	return (rval){.f = creal(z), .im = cimag(z)};
}

/* A unary op of a of dtype t; of a complex: cunary (real, imag,
 * absolute: cpart). */
static rval unary(aj_op op, aj_dtype t, rval a)
{
	if (op == AJ_OP_REAL || (op == AJ_OP_CONJ && kind(t) != 'c'))
		return a;
	if (op == AJ_OP_IMAG)
		return (rval){.i = 0, .f = 0};
	if (kind(t) == 'c')
		return cunary(op, t, a);
	if (kind(t) != 'f') {
		bool neg = kind(t) == 'i' && a.i < 0;
		if (op == AJ_OP_NEG)
			return (rval){.i = wrap(-(uint64_t)a.i, t)};
		return (rval){.i = neg ? wrap(-(uint64_t)a.i, t) : a.i};
	}
	bool f32 = t == AJ_FLOAT32;
	rval r;
	switch (op) {
	case AJ_OP_NEG: return of_float(t, -a.f);
	case AJ_OP_ABS: return of_float(t, fabs(a.f));
	case AJ_OP_SQRT: return of_float(t, sqrt(a.f));
	case AJ_OP_EXP: r = f32 ? of_float(t, exp(a.f)) : of_float(t, (double)expl(a.f)); break;
	case AJ_OP_SIN: r = f32 ? of_float(t, sin(a.f)) : of_float(t, (double)sinl(a.f)); break;
	default: r = f32 ? of_float(t, log(a.f)) : of_float(t, (double)logl(a.f)); break;
	}
	/* the op table's 1 ULP, plus 1 for the reference's own rounding */
	r.st = R_APPROX;
	r.ulp = 2;
	return r;
}

/* The index of operand x of a node of shape nd, broadcast. */
static void operand_index(const rnode *x, int nd, const int64_t *idx, int64_t *xi)
{
	for (int d = 0; d < x->ndim; d++)
		xi[d] = x->shape[d] == 1 ? 0 : idx[nd - x->ndim + d];
}

static rval operand(const rnode *nodes, const rnode *n, int k, const int64_t *idx)
{
	int64_t xi[AJ_MAX_NDIM];
	operand_index(&nodes[n->in[k]], n->ndim, idx, xi);
	return reval(nodes, n->in[k], xi);
}

static rval sum_float(aj_dtype t, const long double *x, int64_t n)
{
	long double acc = 0, mag = 0;
	bool nan = false, pinf = false, ninf = false;
	for (int64_t k = 0; k < n; k++) {
		nan |= isnan(x[k]);
		pinf |= isinf(x[k]) && x[k] > 0;
		ninf |= isinf(x[k]) && x[k] < 0;
		acc += x[k];
		mag += fabsl(x[k]);
	}
	if (nan || (pinf && ninf))
		return (rval){.f = NAN};
	if (pinf || ninf)
		return (rval){.f = pinf ? INFINITY : -INFINITY};
	double max = t == AJ_FLOAT32 ? FLT_MAX : DBL_MAX;
	double eps = t == AJ_FLOAT32 ? FLT_EPSILON : DBL_EPSILON;
	if (mag > max / 2)
		return undef(); /* partial sums may overflow, or not */
	rval r = of_float(t, (double)acc);
	r.st = R_APPROX;
	r.tol = (double)((n + 1) * mag) * eps;
	r.ulp = 1;
	return r;
}

/* min and max of x[0..n), n >= 1, of dtype t: NaN propagates; a zero
 * result with both signs present is either. */
static rval extreme(aj_op op, aj_dtype t, const rval *x, int64_t n)
{
	rval r = x[0];
	bool pos0 = false, neg0 = false;
	for (int64_t k = 0; k < n; k++) {
		if (kind(t) == 'f' && (isnan(x[k].f) || isnan(r.f))) {
			r = of_float(t, NAN);
			continue;
		}
		rval c = compare(AJ_OP_LT, t, x[k], r);
		if (op == AJ_OP_RMIN ? c.i : compare(AJ_OP_GT, t, x[k], r).i)
			r = x[k];
		pos0 |= kind(t) == 'f' && x[k].f == 0 && !signbit(x[k].f);
		neg0 |= kind(t) == 'f' && x[k].f == 0 && signbit(x[k].f);
	}
	if (kind(t) == 'f' && r.f == 0 && pos0 && neg0)
		return undef();
	return r;
}

/* any, all, min, max, sum over one axis. */
static rval reduce(const rnode *nodes, const rnode *n, const int64_t *idx)
{
	const rnode *x = &nodes[n->in[0]];
	int64_t xi[AJ_MAX_NDIM], len = x->shape[n->axis];
	long double vals[64];
	rval acc = {.i = n->op == AJ_OP_ALL}, all[64];
	for (int d = 0, j = 0; d < x->ndim; d++)
		if (d == n->axis)
			j += n->keep;
		else
			xi[d] = idx[j++];
	for (int64_t k = 0; k < len; k++) {
		xi[n->axis] = k;
		rval v = reval(nodes, n->in[0], xi);
		if (n->op == AJ_OP_ANY || n->op == AJ_OP_ALL) {
			if (v.st != R_EXACT)
				return undef();
			acc.i = n->op == AJ_OP_ANY ? acc.i || truth(v, x->t)
						   : acc.i && truth(v, x->t);
			continue;
		}
		v = rconvert(v, x->t, n->t);
		if (v.st != R_EXACT)
			return undef();
		all[k] = v;
		if (kind(n->t) == 'f')
			vals[k] = v.f;
		else
			acc.i = wrap((uint64_t)acc.i + (uint64_t)v.i, n->t);
	}
	if (n->op == AJ_OP_RMIN || n->op == AJ_OP_RMAX)
		return extreme(n->op, n->t, all, len);
	if (n->op != AJ_OP_SUM)
		return acc;
	return kind(n->t) == 'f' ? sum_float(n->t, vals, len) : acc;
}

/* Philox4x32-10 (Salmon et al., SC11) as Random123's philox4x32: the
 * four words of counter ctr under key (k0, k1). Its known answer: 0 under
 * key 0 gives 6627e8d5 e169c58d bc57ac4c 9b00dbd8. */
static void philox(uint32_t ctr[4], uint32_t k0, uint32_t k1)
{
	for (int r = 0; r < 10; r++) {
		if (r > 0)
			k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
		uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
		uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
		uint32_t c[4] = {(uint32_t)(p1 >> 32) ^ ctr[1] ^ k0, (uint32_t)p1,
				 (uint32_t)(p0 >> 32) ^ ctr[3] ^ k1, (uint32_t)p0};
		memcpy(ctr, c, sizeof c);
	}
}

/* Element k (C order) of a uniform random leaf of dtype t, as arrjit.h
 * defines it (aj_dist): its share of the block of counter k rounded down
 * to a multiple of the shares per block. */
static rval random_at(aj_dtype t, uint64_t seed, uint64_t stream, uint64_t k)
{
	bool wide = t == AJ_FLOAT64 || t == AJ_UINT64;
	uint64_t c = k - k % (wide ? 2 : 4);
	uint32_t x[4] = {(uint32_t)c, (uint32_t)(c >> 32), (uint32_t)stream,
			 (uint32_t)(stream >> 32)};
	philox(x, (uint32_t)seed, (uint32_t)(seed >> 32));
	if (wide) {
		uint64_t y = k % 2 ? x[2] | (uint64_t)x[3] << 32 : x[0] | (uint64_t)x[1] << 32;
		return t == AJ_UINT64 ? (rval){.i = (int64_t)y}
				      : (rval){.f = ldexp((double)(y >> 11), -53)};
	}
	uint32_t z = x[k % 4];
	return t == AJ_UINT32 ? (rval){.i = z} : (rval){.f = ldexp((double)(z >> 8), -24)};
}

/* Element idx of leaf l, of dtype t. */
static rval load_leaf(aj_dtype t, const rleaf *l, const int64_t *idx)
{
	int64_t at = l->off;
	for (int d = 0; d < l->ndim; d++)
		at += idx[d] * l->strides[d];
	rval v = rload(t, l->base + at);
	v.st = l->st[at / size(t)] == R_EXACT ? R_EXACT : R_UNDEF;
	return v;
}

bool rin_range(rval v, aj_dtype t, int64_t n)
{
	if (t == AJ_UINT64)
		return (uint64_t)v.i < (uint64_t)n;
	return v.i >= -n && v.i < n;
}

/* NumPy's take: the result's axes are leaf's before axis, the
 * positions', then leaf's after it. */
static rval take(const rnode *nodes, const rnode *n, const int64_t *idx)
{
	const rnode *x = &nodes[n->in[0]];
	const rleaf *l = &n->leaf;
	int64_t xi[AJ_MAX_NDIM], li[AJ_MAX_NDIM], len = l->shape[n->axis];
	for (int d = 0; d < x->ndim; d++)
		xi[d] = idx[n->axis + d];
	rval p = reval(nodes, n->in[0], xi);
	if (p.st != R_EXACT || !rin_range(p, x->t, len))
		return undef(); /* rcheck has said whether NumPy raises */
	for (int d = 0; d < l->ndim; d++)
		if (d != n->axis)
			li[d] = d < n->axis ? idx[d] : idx[d - 1 + x->ndim];
	li[n->axis] = x->t != AJ_UINT64 && p.i < 0 ? p.i + len : p.i;
	return load_leaf(n->t, l, li);
}

rval reval(const rnode *nodes, int k, const int64_t *idx)
{
	const rnode *n = &nodes[k];
	switch (n->kind) {
	case RK_LEAF: return load_leaf(n->t, &n->leaf, idx);
	case RK_WEAK_INT: return (rval){.i = (int64_t)n->v};
	case RK_WEAK_FLOAT: return (rval){.f = n->v};
	case RK_WEAK_COMPLEX: return (rval){.f = n->v, .im = n->vi};
	case RK_RANDOM: {
		uint64_t at = 0;
		for (int d = 0; d < n->ndim; d++)
			at = at * (uint64_t)n->shape[d] + (uint64_t)idx[d];
		return random_at(n->t, n->seed, n->stream, at);
	}
	case RK_STRONG:
		return rconvert((rval){.f = n->v, .im = n->vi}, AJ_COMPLEX128, n->t);
	case RK_OP: break;
	}
	if (n->op >= AJ_OP_SUM)
		return reduce(nodes, n, idx);
	if (n->op == AJ_OP_TAKE)
		return take(nodes, n, idx);
	if (n->op == AJ_OP_VIEW) {
		int64_t xi[RMAX_VND];
		for (int j = 0; j < nodes[n->in[0]].ndim; j++) {
			xi[j] = n->vbase[j];
			for (int k = 0; k < n->ndim; k++)
				xi[j] += n->vmat[j][k] * idx[k];
		}
		return reval(nodes, n->in[0], xi);
	}
	rval a[3];
	for (int j = 0; j < n->nin; j++) {
		a[j] = operand(nodes, n, j, idx);
		if (a[j].st != R_EXACT && !(n->op == AJ_OP_WHERE && j > 0))
			return undef();
	}
	const rnode *x = &nodes[n->in[0]];
	switch (n->op) {
	case AJ_OP_CAST: return rconvert(a[0], x->t, n->t);
	case AJ_OP_WHERE: {
		int j = truth(a[0], x->t) ? 1 : 2;
		return rconvert(a[j], nodes[n->in[j]].t, n->t);
	}
	case AJ_OP_EQ: case AJ_OP_NE: case AJ_OP_LT: case AJ_OP_LE:
	case AJ_OP_GT: case AJ_OP_GE: {
		bool weak;
		aj_dtype p = promote_nodes(nodes, 2, n->in, &weak);
		return compare(n->op, p, rconvert(a[0], x->t, p),
			       rconvert(a[1], nodes[n->in[1]].t, p));
	}
	case AJ_OP_REAL: case AJ_OP_IMAG: case AJ_OP_ABS:
		if (kind(x->t) == 'c') /* the parts of the complex as is */
			return cpart(n->op, n->t, a[0]);
		break;
	default: break;
	}
	for (int j = 0; j < n->nin; j++) {
		a[j] = rconvert(a[j], nodes[n->in[j]].t, n->t);
		if (a[j].st != R_EXACT)
			return undef();
	}
	return n->nin == 1 ? unary(n->op, n->t, a[0])
			   : arith(n->op, n->t, a[0], a[1]);
}

/* The verdict over every element of node k: a position (take) out of
 * [-n, n), or else a negative exponent, fails. */
static enum rcheck check_elems(const rnode *nodes, int k, bool take, int64_t n)
{
	const rnode *x = &nodes[k];
	int64_t idx[AJ_MAX_NDIM], total = 1;
	enum rcheck r = RC_OK;
	for (int d = 0; d < x->ndim; d++)
		total *= x->shape[d];
	for (int64_t e = 0; e < total; e++) {
		int64_t j = e;
		for (int d = x->ndim - 1; d >= 0; d--) {
			idx[d] = j % x->shape[d];
			j /= x->shape[d];
		}
		rval v = reval(nodes, k, idx);
		if (v.st != R_EXACT)
			r = RC_UNKNOWN;
		else if (take ? !rin_range(v, x->t, n) : v.i < 0)
			return RC_FAIL;
	}
	return r;
}

static enum rcheck worse(enum rcheck a, enum rcheck b)
{
	return a > b ? a : b;
}

static enum rcheck check_node(const rnode *nodes, int k, uint8_t *seen)
{
	const rnode *n = &nodes[k];
	enum rcheck r = RC_OK;
	if (seen[k]++ || n->kind != RK_OP)
		return RC_OK;
	for (int j = 0; j < n->nin; j++)
		r = worse(r, check_node(nodes, n->in[j], seen));
	int64_t size = 1; /* NumPy checks as its loops copy: an empty result, none */
	for (int d = 0; d < n->ndim; d++)
		size *= n->shape[d];
	if (size == 0)
		return r;
	if (n->op == AJ_OP_TAKE)
		r = worse(r, check_elems(nodes, n->in[0], true,
					 n->leaf.shape[n->axis]));
	if (n->op == AJ_OP_POW && is_int(n->t) && kind(nodes[n->in[1]].t) == 'i')
		r = worse(r, check_elems(nodes, n->in[1], false, 0));
	return r;
}

enum rcheck rcheck(const rnode *nodes, int root)
{
	uint8_t seen[RMAX_NODES] = {0};
	return check_node(nodes, root, seen);
}
