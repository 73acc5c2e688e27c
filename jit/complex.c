/*
 * Complex lowering: every op on complex64 / complex128 values, at any
 * width. A value is a struct {re, im} of two component values (emit.h).
 *
 * Arithmetic, comparisons, tests, min/max, sign and casts are inline IR
 * with NumPy's formulas (its loops for multiply, divide, square,
 * reciprocal; its lexicographic order with NaN rules), so they vectorise.
 * The transcendental functions call, lane by lane, the C functions NumPy
 * itself calls: glibc's cexp, clog, csqrt and the trig family, and for
 * the functions NumPy defines by its own formulas (exp2, expm1, log2,
 * log10, log1p, power) the runtime helpers of jit/runtime.c. SLEEF has
 * no complex functions.
 */
#include "core.h"
#include "emit.h"
#include "runtime.h"

#include <math.h>
#include <stdio.h>

static LLVMValueRef fcmp(aj_emitter *E, LLVMRealPredicate p, LLVMValueRef a,
			 LLVMValueRef b)
{
	return LLVMBuildFCmp(E->B, p, a, b, "");
}

static LLVMValueRef and_(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildAnd(E->B, a, b, "");
}

static LLVMValueRef or_(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildOr(E->B, a, b, "");
}

static LLVMValueRef add(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildFAdd(E->B, a, b, "");
}

static LLVMValueRef sub(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildFSub(E->B, a, b, "");
}

static LLVMValueRef mul(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildFMul(E->B, a, b, "");
}

static LLVMValueRef div_(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildFDiv(E->B, a, b, "");
}

static LLVMValueRef sel(aj_emitter *E, LLVMValueRef c, LLVMValueRef a,
			LLVMValueRef b)
{
	return LLVMBuildSelect(E->B, c, a, b, "");
}

static LLVMValueRef fabs_(aj_emitter *E, LLVMValueRef x)
{
	return aj_ir_call1(E, "llvm.fabs", x);
}

static LLVMValueRef isnan_(aj_emitter *E, LLVMValueRef x)
{
	return fcmp(E, LLVMRealUNO, x, x);
}

static LLVMValueRef isinf_(aj_emitter *E, LLVMValueRef x, int w)
{
	return fcmp(E, LLVMRealOEQ, fabs_(E, x), aj_ir_fconst(x, INFINITY, w));
}

/* ---- arithmetic, NumPy's formulas (no FMA contraction: LLVM does not
 * contract without fast-math flags) ---- */

static LLVMValueRef cmul(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef ar = aj_cx_re(E, a), ai = aj_cx_im(E, a);
	LLVMValueRef br = aj_cx_re(E, b), bi = aj_cx_im(E, b);
	return aj_cx(E, sub(E, mul(E, ar, br), mul(E, ai, bi)),
		     add(E, mul(E, ar, bi), mul(E, ai, br)));
}

/*
 * Smith's division, as NumPy's complex divide: scale by the larger part of
 * the divisor; a zero divisor gives the parts divided by |0| (inf or
 * NaN).
 */
static LLVMValueRef cdiv(aj_emitter *E, LLVMValueRef a, LLVMValueRef b, int w)
{
	LLVMValueRef ar = aj_cx_re(E, a), ai = aj_cx_im(E, a);
	LLVMValueRef br = aj_cx_re(E, b), bi = aj_cx_im(E, b);
	LLVMValueRef abr = fabs_(E, br), abi = fabs_(E, bi);
	LLVMValueRef one = aj_ir_fconst(br, 1, w), zero = LLVMConstNull(LLVMTypeOf(br));
	/* |br| >= |bi| */
	LLVMValueRef rat1 = div_(E, bi, br);
	LLVMValueRef scl1 = div_(E, one, add(E, br, mul(E, bi, rat1)));
	LLVMValueRef re1 = mul(E, add(E, ar, mul(E, ai, rat1)), scl1);
	LLVMValueRef im1 = mul(E, sub(E, ai, mul(E, ar, rat1)), scl1);
	/* |br| < |bi| */
	LLVMValueRef rat2 = div_(E, br, bi);
	LLVMValueRef scl2 = div_(E, one, add(E, bi, mul(E, br, rat2)));
	LLVMValueRef re2 = mul(E, add(E, mul(E, ar, rat2), ai), scl2);
	LLVMValueRef im2 = mul(E, sub(E, mul(E, ai, rat2), ar), scl2);
	/* b == 0 */
	LLVMValueRef re0 = div_(E, ar, abr), im0 = div_(E, ai, abr);
	LLVMValueRef big = fcmp(E, LLVMRealOGE, abr, abi);
	LLVMValueRef zer = and_(E, fcmp(E, LLVMRealOEQ, abr, zero),
				fcmp(E, LLVMRealOEQ, abi, zero));
	return aj_cx(E, sel(E, big, sel(E, zer, re0, re1), re2),
		     sel(E, big, sel(E, zer, im0, im1), im2));
}

/* NumPy's reciprocal: 1/z scaled by the larger part. */
static LLVMValueRef crecip(aj_emitter *E, LLVMValueRef z, int w)
{
	LLVMValueRef zr = aj_cx_re(E, z), zi = aj_cx_im(E, z);
	LLVMValueRef one = aj_ir_fconst(zr, 1, w);
	LLVMValueRef r1 = div_(E, zi, zr), d1 = add(E, zr, mul(E, zi, r1));
	LLVMValueRef r2 = div_(E, zr, zi), d2 = add(E, mul(E, zr, r2), zi);
	LLVMValueRef small = fcmp(E, LLVMRealOLE, fabs_(E, zi), fabs_(E, zr));
	return aj_cx(E, sel(E, small, div_(E, one, d1), div_(E, r2, d2)),
		     sel(E, small, LLVMBuildFNeg(E->B, div_(E, r1, d1), ""),
			 LLVMBuildFNeg(E->B, div_(E, one, d2), "")));
}

static LLVMValueRef cabs_(aj_emitter *E, LLVMValueRef z, aj_dtype t, int w)
{
	LLVMValueRef x[2] = {aj_cx_re(E, z), aj_cx_im(E, z)};
	return aj_emit_sleef(E, AJ_OP_HYPOT, aj_part_dtype(t), w, x);
}

/*
 * sign(z) = z / |z| as NumPy 2 defines it (NumPy 1.x gave the sign of the
 * real part): 0 for 0; for an infinite part, the unit in its direction;
 * NaN + NaN j when |z| is NaN or both parts are infinite.
 */
static LLVMValueRef csign(aj_emitter *E, LLVMValueRef z, aj_dtype t, int w)
{
	LLVMValueRef zr = aj_cx_re(E, z), zi = aj_cx_im(E, z);
	LLVMValueRef a = cabs_(E, z, t, w);
	LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(zr)), nan = aj_ir_fconst(zr, NAN, w);
	LLVMValueRef one = aj_ir_fconst(zr, 1, w), mone = aj_ir_fconst(zr, -1, w);
	LLVMValueRef re = div_(E, zr, a), im = div_(E, zi, a);
	LLVMValueRef azero = fcmp(E, LLVMRealOEQ, a, zero);
	re = sel(E, azero, zero, re);
	im = sel(E, azero, zero, im);
	LLVMValueRef rinf = isinf_(E, zr, w), iinf = isinf_(E, zi, w);
	LLVMValueRef rs = sel(E, fcmp(E, LLVMRealOGT, zr, zero), one, mone);
	LLVMValueRef is = sel(E, fcmp(E, LLVMRealOGT, zi, zero), one, mone);
	LLVMValueRef ainf = isinf_(E, a, w);
	re = sel(E, ainf, sel(E, rinf, sel(E, iinf, nan, rs), zero), re);
	im = sel(E, ainf, sel(E, rinf, sel(E, iinf, nan, zero), is), im);
	LLVMValueRef anan = isnan_(E, a);
	return aj_cx(E, sel(E, anan, nan, re), sel(E, anan, nan, im));
}

/* ---- order: NumPy's lexicographic comparisons ---- */

/*
 * x < y: (xr < yr and neither imaginary part is NaN) or (xr == yr and
 * xi < yi); likewise <=, >, >=. == and != compare both parts.
 */
static LLVMValueRef ccmp(aj_emitter *E, aj_op op, LLVMValueRef x, LLVMValueRef y)
{
	LLVMValueRef xr = aj_cx_re(E, x), xi = aj_cx_im(E, x);
	LLVMValueRef yr = aj_cx_re(E, y), yi = aj_cx_im(E, y);
	if (op == AJ_OP_EQ)
		return and_(E, fcmp(E, LLVMRealOEQ, xr, yr), fcmp(E, LLVMRealOEQ, xi, yi));
	if (op == AJ_OP_NE)
		return or_(E, fcmp(E, LLVMRealUNE, xr, yr), fcmp(E, LLVMRealUNE, xi, yi));
	bool less = op == AJ_OP_LT || op == AJ_OP_LE;
	bool eq = op == AJ_OP_LE || op == AJ_OP_GE;
	LLVMValueRef ordered = fcmp(E, LLVMRealORD, xi, yi);
	LLVMValueRef first = and_(E, fcmp(E, less ? LLVMRealOLT : LLVMRealOGT, xr, yr), ordered);
	LLVMRealPredicate second = less ? (eq ? LLVMRealOLE : LLVMRealOLT)
					: (eq ? LLVMRealOGE : LLVMRealOGT);
	return or_(E, first, and_(E, fcmp(E, LLVMRealOEQ, xr, yr), fcmp(E, second, xi, yi)));
}

/* NumPy's sort order (PyArray_CGT): by real part, ties by imaginary part,
 * with no special case for NaN; clip uses it. */
static LLVMValueRef sort_gt(aj_emitter *E, LLVMValueRef x, LLVMValueRef y)
{
	LLVMValueRef xr = aj_cx_re(E, x), yr = aj_cx_re(E, y);
	return sel(E, fcmp(E, LLVMRealOEQ, xr, yr),
		   fcmp(E, LLVMRealOGT, aj_cx_im(E, x), aj_cx_im(E, y)),
		   fcmp(E, LLVMRealOGT, xr, yr));
}

static LLVMValueRef cisnan(aj_emitter *E, LLVMValueRef z)
{
	return or_(E, isnan_(E, aj_cx_re(E, z)), isnan_(E, aj_cx_im(E, z)));
}

/*
 * maximum(a, b) = a if a has a NaN part or a >= b, else b (minimum with
 * <=): NaN propagates. fmax(a, b) = a if b has a NaN part or a >= b: NaN
 * is ignored unless both have one.
 */
static LLVMValueRef cminmax(aj_emitter *E, aj_op op, LLVMValueRef a, LLVMValueRef b)
{
	bool max = op == AJ_OP_MAX || op == AJ_OP_FMAX;
	bool nan_ignoring = op == AJ_OP_FMIN || op == AJ_OP_FMAX;
	LLVMValueRef order = ccmp(E, max ? AJ_OP_GE : AJ_OP_LE, a, b);
	LLVMValueRef pick = or_(E, cisnan(E, nan_ignoring ? b : a), order);
	return aj_ir_select(E, pick, a, b);
}

/* ---- functions: lane by lane through C ---- */

/*
 * Calls the C function name(z[, z2]) on each lane. The C ABI of complex
 * arguments on x86-64: a double complex travels as two doubles and
 * returns as {double, double}; a float complex as one <2 x float>.
 */
static LLVMValueRef cx_call(aj_emitter *E, const char *name, aj_dtype t, int w,
			    LLVMValueRef *z, int nargs)
{
	bool f32 = t == AJ_COMPLEX64;
	LLVMTypeRef v2 = LLVMVectorType(E->f32, 2), d2[2] = {E->f64, E->f64};
	LLVMTypeRef params[4], fty;
	int np = 0;
	for (int j = 0; j < nargs; j++) {
		params[np++] = f32 ? v2 : E->f64;
		if (!f32)
			params[np++] = E->f64;
	}
	LLVMTypeRef ret = f32 ? v2 : LLVMStructTypeInContext(E->C, d2, 2, 0);
	LLVMValueRef f = aj_ir_declare(E, name, ret, params, np, &fty);
	aj_ir_mark_pure(E, f);
	LLVMTypeRef part = aj_ir_type(E, aj_part_dtype(t), w, false);
	LLVMValueRef re = LLVMGetPoison(part), im = LLVMGetPoison(part);
	for (int l = 0; l < w; l++) {
		LLVMValueRef lane = LLVMConstInt(E->i32, (unsigned long long)l, 0);
		LLVMValueRef args[4];
		np = 0;
		for (int j = 0; j < nargs; j++) {
			LLVMValueRef r = aj_cx_re(E, z[j]), i = aj_cx_im(E, z[j]);
			if (w > 1) {
				r = LLVMBuildExtractElement(E->B, r, lane, "");
				i = LLVMBuildExtractElement(E->B, i, lane, "");
			}
			if (f32) {
				LLVMValueRef p = LLVMGetPoison(v2);
				p = LLVMBuildInsertElement(E->B, p, r, LLVMConstInt(E->i32, 0, 0), "");
				args[np++] = LLVMBuildInsertElement(E->B, p, i, LLVMConstInt(E->i32, 1, 0), "");
			} else {
				args[np++] = r;
				args[np++] = i;
			}
		}
		LLVMValueRef v = LLVMBuildCall2(E->B, fty, f, args, (unsigned)np, "");
		LLVMValueRef vr = f32 ? LLVMBuildExtractElement(E->B, v, LLVMConstInt(E->i32, 0, 0), "")
				      : LLVMBuildExtractValue(E->B, v, 0, "");
		LLVMValueRef vi = f32 ? LLVMBuildExtractElement(E->B, v, LLVMConstInt(E->i32, 1, 0), "")
				      : LLVMBuildExtractValue(E->B, v, 1, "");
		if (w == 1)
			return aj_cx(E, vr, vi);
		re = LLVMBuildInsertElement(E->B, re, vr, lane, "");
		im = LLVMBuildInsertElement(E->B, im, vi, lane, "");
	}
	return aj_cx(E, re, im);
}

static LLVMValueRef cfunc(aj_emitter *E, aj_op op, aj_dtype t, int w,
			  LLVMValueRef *x)
{
	char name[32];
	const char *base = aj_runtime_complex_name(op);
	snprintf(name, sizeof name, "%s%s", base, t == AJ_COMPLEX64 ? "f" : "");
	return cx_call(E, name, t, w, x, aj_ops[op].nin);
}

static LLVMValueRef crint(aj_emitter *E, LLVMValueRef z)
{
	return aj_cx(E, aj_ir_call1(E, "llvm.rint", aj_cx_re(E, z)),
		     aj_ir_call1(E, "llvm.rint", aj_cx_im(E, z)));
}

static LLVMValueRef lower_unary(aj_emitter *E, aj_op op, aj_dtype t, int w,
				LLVMValueRef z)
{
	LLVMValueRef zr = aj_cx_re(E, z), zi = aj_cx_im(E, z);
	switch (op) {
	case AJ_OP_NEG:
		return aj_cx(E, LLVMBuildFNeg(E->B, zr, ""), LLVMBuildFNeg(E->B, zi, ""));
	case AJ_OP_CONJ:
		return aj_cx(E, zr, LLVMBuildFNeg(E->B, zi, ""));
	case AJ_OP_REAL:
		return zr;
	case AJ_OP_IMAG:
		return zi;
	case AJ_OP_ABS:
		return cabs_(E, z, t, w);
	case AJ_OP_SQUARE:
		return cmul(E, z, z);
	case AJ_OP_RECIPROCAL:
		return crecip(E, z, w);
	case AJ_OP_SIGN:
		return csign(E, z, t, w);
	case AJ_OP_RINT:
		return crint(E, z);
	default:
		return cfunc(E, op, t, w, &z);
	}
}

static LLVMValueRef cpred(aj_emitter *E, aj_op op, LLVMValueRef z, int w)
{
	LLVMValueRef zr = aj_cx_re(E, z), zi = aj_cx_im(E, z);
	if (op == AJ_OP_ISNAN)
		return cisnan(E, z);
	if (op == AJ_OP_ISINF)
		return or_(E, isinf_(E, zr, w), isinf_(E, zi, w));
	/* isfinite: both parts below inf in magnitude (NaN is not) */
	LLVMValueRef inf = aj_ir_fconst(zr, INFINITY, w);
	return and_(E, fcmp(E, LLVMRealOLT, fabs_(E, zr), inf),
		    fcmp(E, LLVMRealOLT, fabs_(E, zi), inf));
}

LLVMValueRef aj_lower_complex(aj_emitter *E, const aj_kval *v, int w,
			      LLVMValueRef *x)
{
	aj_op op = v->op;
	aj_dtype t = v->dtype, t0 = E->k->val[v->arg[0]].dtype;
	switch (aj_ops[op].kind) {
	case AJ_KIND_UNARY:
	case AJ_KIND_MATH:
		return lower_unary(E, op, t0, w, x[0]);
	case AJ_KIND_CMP:
		return ccmp(E, op, x[0], x[1]);
	case AJ_KIND_PRED:
		return cpred(E, op, x[0], w);
	case AJ_KIND_CLIP: { /* NumPy's _NPY_CLIP for complex, in its sort
				order: m = x if x has a NaN part or x > lo,
				else lo; then m if NaN or m < hi, else hi */
		LLVMValueRef m = aj_ir_select(E, or_(E, cisnan(E, x[0]),
			sort_gt(E, x[0], x[1])), x[0], x[1]);
		return aj_ir_select(E, or_(E, cisnan(E, m), sort_gt(E, x[2], m)), m, x[2]);
	}
	default: /* binary */
		break;
	}
	switch (op) {
	case AJ_OP_COMPLEX:
		return aj_cx(E, x[0], x[1]);
	case AJ_OP_ADD:
		return aj_cx(E, add(E, aj_cx_re(E, x[0]), aj_cx_re(E, x[1])),
			     add(E, aj_cx_im(E, x[0]), aj_cx_im(E, x[1])));
	case AJ_OP_SUB:
		return aj_cx(E, sub(E, aj_cx_re(E, x[0]), aj_cx_re(E, x[1])),
			     sub(E, aj_cx_im(E, x[0]), aj_cx_im(E, x[1])));
	case AJ_OP_MUL:
		return cmul(E, x[0], x[1]);
	case AJ_OP_DIV:
		return cdiv(E, x[0], x[1], w);
	case AJ_OP_MIN:
	case AJ_OP_MAX:
	case AJ_OP_FMIN:
	case AJ_OP_FMAX:
		return cminmax(E, op, x[0], x[1]);
	default: /* power */
		return cfunc(E, op, t, w, x);
	}
}

/*
 * Casts as NumPy's: complex to bool is "either part nonzero" (NaN counts);
 * complex to a real dtype takes the real part (NumPy warns and drops the
 * imaginary one); a real becomes (x, 0).
 */
LLVMValueRef aj_cast_complex(aj_emitter *E, LLVMValueRef x, aj_dtype from,
			     aj_dtype to, int w)
{
	if (aj_is_complex(from) && aj_is_complex(to)) {
		LLVMTypeRef pt = aj_ir_type(E, aj_part_dtype(to), w, false);
		return aj_cx(E, LLVMBuildFPCast(E->B, aj_cx_re(E, x), pt, ""),
			     LLVMBuildFPCast(E->B, aj_cx_im(E, x), pt, ""));
	}
	if (aj_is_complex(from) && to == AJ_BOOL) {
		LLVMValueRef zr = aj_cx_re(E, x), zero = LLVMConstNull(LLVMTypeOf(zr));
		return or_(E, fcmp(E, LLVMRealUNE, zr, zero),
			   fcmp(E, LLVMRealUNE, aj_cx_im(E, x), zero));
	}
	if (aj_is_complex(from))
		return aj_emit_cast(E, aj_cx_re(E, x), aj_part_dtype(from), to, w);
	LLVMValueRef re = aj_emit_cast(E, x, from, aj_part_dtype(to), w);
	return aj_cx(E, re, LLVMConstNull(LLVMTypeOf(re)));
}

/* NumPy's complex argmax: the first NaN, else the first maximum in sort
 * order (argmin likewise). */
LLVMValueRef aj_arg_takes_complex(aj_emitter *E, aj_op red, LLVMValueRef best,
				  LLVMValueRef pos, LLVMValueRef v, LLVMValueRef i)
{
	LLVMValueRef vn = cisnan(E, v), bn = cisnan(E, best);
	LLVMValueRef better = red == AJ_OP_ARGMAX ? sort_gt(E, v, best) : sort_gt(E, best, v);
	better = and_(E, better, LLVMBuildNot(E->B, or_(E, vn, bn), ""));
	LLVMValueRef eq = or_(E, ccmp(E, AJ_OP_EQ, v, best), and_(E, vn, bn));
	LLVMValueRef nan = and_(E, vn, LLVMBuildNot(E->B, bn, ""));
	LLVMValueRef first = LLVMBuildICmp(E->B, LLVMIntSLT, i, pos, "");
	return or_(E, or_(E, nan, better), and_(E, eq, first));
}

LLVMValueRef aj_combine_complex(aj_emitter *E, aj_op red, aj_dtype t,
				LLVMValueRef acc, LLVMValueRef v)
{
	(void)t;
	switch (red) {
	case AJ_OP_PROD:
		return cmul(E, acc, v);
	case AJ_OP_RMIN:
		return cminmax(E, AJ_OP_MIN, acc, v);
	case AJ_OP_RMAX:
		return cminmax(E, AJ_OP_MAX, acc, v);
	default: /* sum, mean */
		return aj_cx(E, add(E, aj_cx_re(E, acc), aj_cx_re(E, v)),
			     add(E, aj_cx_im(E, acc), aj_cx_im(E, v)));
	}
}
