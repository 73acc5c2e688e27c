/*
 * How each op lowers to LLVM IR, at any width: w == 1 is scalar code,
 * w > 1 a <w x T> vector. LLVM's instructions are polymorphic in their
 * type, so every op is written once. Operands arrive already cast to the
 * dtype the op computes in (the fusion pass inserted the casts); bools are
 * i1 here. Semantics are NumPy's, down to its x86 conversions, signed
 * zeros and division by zero.
 */
#include "core.h"
#include "emit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static LLVMValueRef intrinsic(aj_emitter *E, const char *name, LLVMTypeRef t,
			      LLVMValueRef *args, int n)
{
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	LLVMValueRef f = LLVMGetIntrinsicDeclaration(E->M, id, &t, 1);
	LLVMTypeRef fty = LLVMIntrinsicGetType(E->C, id, &t, 1);
	return LLVMBuildCall2(E->B, fty, f, args, (unsigned)n, "");
}

/* ---- values ---- */

/* The smallest signed integer of `bits` bits. */
static int64_t int_min(int bits)
{
	return bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
}

/* x86's truncating float -> int of `bits` (cvttsd2si): NaN and
 * out-of-range values give the minimum int; plain fptosi would be poison. */
static LLVMValueRef cvtt(aj_emitter *E, LLVMValueRef x, int bits, int w)
{
	LLVMTypeRef ft = LLVMTypeOf(x);
	LLVMTypeRef fe = w == 1 ? ft : LLVMGetElementType(ft);
	LLVMTypeRef it = LLVMIntTypeInContext(E->C, (unsigned)bits);
	LLVMValueRef lo = aj_ir_const_real(fe, -ldexp(1.0, bits - 1), w);
	LLVMValueRef hi = aj_ir_const_real(fe, ldexp(1.0, bits - 1), w);
	LLVMValueRef ok = LLVMBuildAnd(
		E->B, LLVMBuildFCmp(E->B, LLVMRealOGE, x, lo, ""),
		LLVMBuildFCmp(E->B, LLVMRealOLT, x, hi, ""), "");
	LLVMValueRef v = LLVMBuildFPToSI(E->B, x, w == 1 ? it : LLVMVectorType(it, (unsigned)w), "");
	return LLVMBuildSelect(E->B, ok, v, aj_ir_const_int(it, int_min(bits), w), "");
}

/*
 * float -> int as NumPy computes it on x86 (its casts are C conversions
 * compiled for x86-64): 1- and 2-byte targets truncate a 32-bit
 * conversion, uint32 a 64-bit one; uint64 converts x - 2^63 and flips the
 * top bit when x >= 2^63. (For NaN and out-of-range values NumPy itself is
 * inconsistent: its contiguous SIMD loops give other uint32 results than
 * its strided ones. arrjit gives the strided loops' answer everywhere.) So -1.0 gives 255 as uint8, 2^64-1 as uint64, and NaN the
 * minimum (or 2^(n-1) for the unsigned ones).
 */
static LLVMValueRef float_to_int(aj_emitter *E, LLVMValueRef x, aj_dtype from,
				 aj_dtype to, int w)
{
	int bits = aj_dtypes[to].size * 8;
	LLVMTypeRef t = aj_ir_type(E, to, w, false);
	if (bits < 32)
		return LLVMBuildTrunc(E->B, cvtt(E, x, 32, w), t, "");
	if (to == AJ_UINT32)
		return LLVMBuildTrunc(E->B, cvtt(E, x, 64, w), t, "");
	if (aj_is_signed(to))
		return cvtt(E, x, bits, w);
	LLVMTypeRef ft = LLVMTypeOf(x); /* uint64 */
	LLVMValueRef half = aj_ir_const_real(w == 1 ? ft : LLVMGetElementType(ft),
				       ldexp(1.0, bits - 1), w);
	LLVMValueRef big = LLVMBuildFCmp(E->B, LLVMRealOGE, x, half, "");
	LLVMValueRef hi = LLVMBuildXor(
		E->B, cvtt(E, LLVMBuildFSub(E->B, x, half, ""), bits, w),
		aj_ir_const_int(aj_ir_elem(E, to, false), int_min(bits), w), "");
	return LLVMBuildSelect(E->B, big, hi, cvtt(E, x, bits, w), "");
}

LLVMValueRef aj_emit_cast(aj_emitter *E, LLVMValueRef x, aj_dtype from,
			  aj_dtype to, int w)
{
	if (aj_is_complex(from) || aj_is_complex(to))
		return aj_cast_complex(E, x, from, to, w);
	LLVMTypeRef t = aj_ir_type(E, to, w, false);
	if (to == AJ_BOOL) /* nonzero is true; NaN is true too */
		return aj_is_float(from)
			       ? LLVMBuildFCmp(E->B, LLVMRealUNE, x,
					       LLVMConstNull(LLVMTypeOf(x)), "")
			       : LLVMBuildICmp(E->B, LLVMIntNE, x,
					       LLVMConstNull(LLVMTypeOf(x)), "");
	if (from == AJ_BOOL)
		return aj_is_float(to) ? LLVMBuildUIToFP(E->B, x, t, "")
				       : LLVMBuildZExt(E->B, x, t, "");
	if (aj_is_int(from) && aj_is_int(to))
		return LLVMBuildIntCast2(E->B, x, t, aj_is_signed(from), "");
	if (aj_is_int(from))
		return aj_is_signed(from) ? LLVMBuildSIToFP(E->B, x, t, "")
					  : LLVMBuildUIToFP(E->B, x, t, "");
	if (aj_is_float(to))
		return LLVMBuildFPCast(E->B, x, t, "");
	return float_to_int(E, x, from, to, w);
}

/* Applies a scalar function lane by lane. */
static LLVMValueRef per_lane(aj_emitter *E, LLVMValueRef f, LLVMTypeRef fty,
			     LLVMValueRef *x, int nargs, int w, LLVMTypeRef rt)
{
	LLVMValueRef r = LLVMGetPoison(rt);
	for (int l = 0; l < w; l++) {
		LLVMValueRef idx = LLVMConstInt(E->i32, (unsigned long long)l, 0);
		LLVMValueRef a[2];
		for (int j = 0; j < nargs; j++)
			a[j] = LLVMBuildExtractElement(E->B, x[j], idx, "");
		LLVMValueRef v = LLVMBuildCall2(E->B, fty, f, a, (unsigned)nargs, "");
		r = LLVMBuildInsertElement(E->B, r, v, idx, "");
	}
	return r;
}

/* Lanes [from, from + n) of vector x (of each part, for complex). */
LLVMValueRef aj_ir_lanes(aj_emitter *E, LLVMValueRef x, int from, int n)
{
	if (aj_ir_is_cx(x))
		return aj_cx(E, aj_ir_lanes(E, aj_cx_re(E, x), from, n),
			     aj_ir_lanes(E, aj_cx_im(E, x), from, n));
	LLVMValueRef idx[64];
	for (int i = 0; i < n; i++)
		idx[i] = LLVMConstInt(E->i32, (unsigned long long)(from + i), 0);
	return LLVMBuildShuffleVector(E->B, x, LLVMGetPoison(LLVMTypeOf(x)),
				      LLVMConstVector(idx, (unsigned)n), "");
}

static LLVMValueRef concat(aj_emitter *E, LLVMValueRef a, LLVMValueRef b, int n)
{
	LLVMValueRef idx[64];
	for (int i = 0; i < 2 * n; i++)
		idx[i] = LLVMConstInt(E->i32, (unsigned long long)i, 0);
	return LLVMBuildShuffleVector(E->B, a, b, LLVMConstVector(idx, (unsigned)(2 * n)), "");
}

/* The low and high halves of the w lanes of x[0 .. nargs-1]. */
static void halves(aj_emitter *E, LLVMValueRef *x, int nargs, int w, LLVMValueRef *lo,
		   LLVMValueRef *hi)
{
	for (int j = 0; j < nargs; j++) {
		lo[j] = aj_ir_lanes(E, x[j], 0, w / 2);
		hi[j] = aj_ir_lanes(E, x[j], w / 2, w / 2);
	}
}

/* A SLEEF call at width w; where SLEEF has no function that wide (16 x f64
 * on AVX-512), two calls on the halves; lane by lane only as a last
 * resort. */
LLVMValueRef aj_emit_sleef(aj_emitter *E, aj_op op, aj_dtype t, int w,
			   LLVMValueRef *x)
{
	char name[64];
	int nargs = aj_ops[op].nin;
	if (w > 1 && !aj_sleef_name(op, t, w, E->k->isa, E->k->fast, name, sizeof name) &&
	    w % 2 == 0) {
		LLVMValueRef lo[2], hi[2];
		halves(E, x, nargs, w, lo, hi);
		return concat(E, aj_emit_sleef(E, op, t, w / 2, lo),
			      aj_emit_sleef(E, op, t, w / 2, hi), w / 2);
	}
	int fw = aj_sleef_name(op, t, w, E->k->isa, E->k->fast, name, sizeof name) ? w : 1;
	if (fw == 1)
		aj_sleef_name(op, t, 1, E->k->isa, E->k->fast, name, sizeof name);
	LLVMTypeRef ft = aj_ir_type(E, t, fw, false), params[2] = {ft, ft}, fty;
	LLVMValueRef f = aj_ir_declare(E, name, ft, params, nargs, &fty);
	aj_ir_mark_pure(E, f);
	if (fw == w)
		return LLVMBuildCall2(E->B, fty, f, x, (unsigned)nargs, "");
	return per_lane(E, f, fty, x, nargs, w, aj_ir_type(E, t, w, false));
}

/*
 * Integer power by squaring, as an internal function per type: wraps like
 * NumPy. For signed types a negative exponent gives 1/b**-e truncated (1,
 * -1 or 0); NumPy raises there instead.
 */
static LLVMValueRef ipow_fn(aj_emitter *E, aj_dtype dt, LLVMTypeRef *fty)
{
	char name[32];
	LLVMTypeRef t = aj_ir_elem(E, dt, false);
	snprintf(name, sizeof name, "aj_ipow_%s", aj_dtypes[dt].name);
	LLVMTypeRef params[2] = {t, t};
	LLVMValueRef f = LLVMGetNamedFunction(E->M, name);
	*fty = LLVMFunctionType(t, params, 2, 0);
	if (f)
		return f;
	f = LLVMAddFunction(E->M, name, *fty);
	LLVMSetLinkage(f, LLVMInternalLinkage);
	aj_ir_mark_pure(E, f);
	LLVMBuilderRef b = LLVMCreateBuilderInContext(E->C);
	LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(E->C, f, "entry"),
			  neg = LLVMAppendBasicBlockInContext(E->C, f, "neg"),
			  head = LLVMAppendBasicBlockInContext(E->C, f, "head"),
			  body = LLVMAppendBasicBlockInContext(E->C, f, "body"),
			  done = LLVMAppendBasicBlockInContext(E->C, f, "done");
	LLVMValueRef base = LLVMGetParam(f, 0), e = LLVMGetParam(f, 1);
	LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
	LLVMPositionBuilderAtEnd(b, entry);
	LLVMValueRef isneg = aj_is_signed(dt) ? LLVMBuildICmp(b, LLVMIntSLT, e, zero, "")
					      : LLVMConstInt(E->i1, 0, 0);
	LLVMBuildCondBr(b, isneg, neg, head);
	/* b == 1: 1; b == -1: +-1 by parity; otherwise 0 */
	LLVMPositionBuilderAtEnd(b, neg);
	LLVMValueRef odd = LLVMBuildTrunc(b, e, E->i1, "");
	LLVMValueRef m1 = LLVMBuildSelect(b, odd, LLVMConstAllOnes(t), one, "");
	LLVMValueRef r = LLVMBuildSelect(
		b, LLVMBuildICmp(b, LLVMIntEQ, base, one, ""), one,
		LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, base,
						 LLVMConstAllOnes(t), ""),
				m1, zero, ""), "");
	LLVMBuildRet(b, r);
	LLVMPositionBuilderAtEnd(b, head);
	LLVMValueRef acc = LLVMBuildPhi(b, t, "acc"), x = LLVMBuildPhi(b, t, "x"),
		     n = LLVMBuildPhi(b, t, "n");
	LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntNE, n, zero, ""), body, done);
	LLVMPositionBuilderAtEnd(b, body);
	LLVMValueRef bit = LLVMBuildTrunc(b, n, E->i1, "");
	LLVMValueRef acc2 = LLVMBuildSelect(b, bit, LLVMBuildMul(b, acc, x, ""), acc, "");
	LLVMValueRef x2 = LLVMBuildMul(b, x, x, "");
	LLVMValueRef n2 = LLVMBuildLShr(b, n, one, "");
	LLVMBuildBr(b, head);
	LLVMValueRef ia[2] = {one, acc2}, ix[2] = {base, x2}, in[2] = {e, n2};
	LLVMBasicBlockRef from[2] = {entry, body};
	LLVMAddIncoming(acc, ia, from, 2);
	LLVMAddIncoming(x, ix, from, 2);
	LLVMAddIncoming(n, in, from, 2);
	LLVMPositionBuilderAtEnd(b, done);
	LLVMBuildRet(b, acc);
	LLVMDisposeBuilder(b);
	return f;
}

static LLVMValueRef lower_fpow(aj_emitter *E, aj_dtype t, int w, LLVMValueRef *x,
			       LLVMValueRef y);

static LLVMValueRef emit_pow(aj_emitter *E, aj_dtype t, int w, LLVMValueRef *x)
{
	if (aj_is_float(t))
		return lower_fpow(E, t, w, x, NULL);
	LLVMTypeRef fty;
	LLVMValueRef f = ipow_fn(E, t, &fty);
	if (w == 1)
		return LLVMBuildCall2(E->B, fty, f, x, 2, "");
	return per_lane(E, f, fty, x, 2, w, aj_ir_type(E, t, w, false));
}

/* NumPy's minimum is (a < b || isnan(a)) ? a : b, maximum likewise with
 * >: NaN propagates, and between equal values (-0.0, 0.0) b wins. */
static LLVMValueRef emit_minmax(aj_emitter *E, aj_op op, aj_dtype t,
				LLVMValueRef *x)
{
	bool min = op == AJ_OP_MIN;
	if (t == AJ_BOOL)
		return min ? LLVMBuildAnd(E->B, x[0], x[1], "")
			   : LLVMBuildOr(E->B, x[0], x[1], "");
	if (aj_is_int(t)) {
		const char *name = aj_is_signed(t) ? (min ? "llvm.smin" : "llvm.smax")
						   : (min ? "llvm.umin" : "llvm.umax");
		return intrinsic(E, name, LLVMTypeOf(x[0]), x, 2);
	}
	LLVMValueRef pick = LLVMBuildOr(
		E->B,
		LLVMBuildFCmp(E->B, min ? LLVMRealOLT : LLVMRealOGT, x[0], x[1], ""),
		LLVMBuildFCmp(E->B, LLVMRealUNO, x[0], x[0], ""), "");
	return LLVMBuildSelect(E->B, pick, x[0], x[1], "");
}

LLVMValueRef aj_arg_takes(aj_emitter *E, aj_op red, aj_dtype t, LLVMValueRef best,
			  LLVMValueRef pos, LLVMValueRef v, LLVMValueRef i)
{
	if (aj_is_complex(t))
		return aj_arg_takes_complex(E, red, best, pos, v, i);
	bool max = red == AJ_OP_ARGMAX;
	LLVMValueRef first = LLVMBuildICmp(E->B, LLVMIntSLT, i, pos, "");
	if (!aj_is_float(t)) {
		bool s = aj_is_signed(t);
		LLVMIntPredicate p = max ? (s ? LLVMIntSGT : LLVMIntUGT)
					 : (s ? LLVMIntSLT : LLVMIntULT);
		LLVMValueRef better = LLVMBuildICmp(E->B, p, v, best, "");
		LLVMValueRef eq = LLVMBuildICmp(E->B, LLVMIntEQ, v, best, "");
		return LLVMBuildOr(E->B, better, LLVMBuildAnd(E->B, eq, first, ""), "");
	}
	LLVMValueRef vn = LLVMBuildFCmp(E->B, LLVMRealUNO, v, v, "");
	LLVMValueRef bn = LLVMBuildFCmp(E->B, LLVMRealUNO, best, best, "");
	LLVMValueRef better = LLVMBuildFCmp(E->B, max ? LLVMRealOGT : LLVMRealOLT, v, best, "");
	LLVMValueRef eq = LLVMBuildOr(E->B, LLVMBuildFCmp(E->B, LLVMRealOEQ, v, best, ""),
				      LLVMBuildAnd(E->B, vn, bn, ""), "");
	LLVMValueRef nan = LLVMBuildAnd(E->B, vn, LLVMBuildNot(E->B, bn, ""), "");
	return LLVMBuildOr(E->B, LLVMBuildOr(E->B, nan, better, ""),
			   LLVMBuildAnd(E->B, eq, first, ""), "");
}

static LLVMValueRef emit_cmp(aj_emitter *E, aj_op op, aj_dtype t, LLVMValueRef *x)
{
	static const LLVMRealPredicate fp[] = {
		LLVMRealOEQ, LLVMRealUNE, LLVMRealOLT,
		LLVMRealOLE, LLVMRealOGT, LLVMRealOGE};
	static const LLVMIntPredicate sp[] = {LLVMIntEQ,  LLVMIntNE,  LLVMIntSLT,
					      LLVMIntSLE, LLVMIntSGT, LLVMIntSGE};
	static const LLVMIntPredicate up[] = {LLVMIntEQ,  LLVMIntNE,  LLVMIntULT,
					      LLVMIntULE, LLVMIntUGT, LLVMIntUGE};
	int i = op - AJ_OP_EQ;
	if (aj_is_float(t))
		return LLVMBuildFCmp(E->B, fp[i], x[0], x[1], "");
	return LLVMBuildICmp(E->B, aj_is_signed(t) ? sp[i] : up[i], x[0], x[1], "");
}

/* ---- small idioms ---- */

LLVMValueRef aj_ir_fconst(LLVMValueRef like, double v, int w)
{
	LLVMTypeRef t = LLVMTypeOf(like);
	return aj_ir_const_real(w == 1 ? t : LLVMGetElementType(t), v, w);
}

static LLVMValueRef iconst(LLVMValueRef like, int64_t v, int w)
{
	LLVMTypeRef t = LLVMTypeOf(like);
	return aj_ir_const_int(w == 1 ? t : LLVMGetElementType(t), v, w);
}

static LLVMValueRef sel(aj_emitter *E, LLVMValueRef c, LLVMValueRef a,
			LLVMValueRef b)
{
	return LLVMBuildSelect(E->B, c, a, b, "");
}

static LLVMValueRef fcmp(aj_emitter *E, LLVMRealPredicate p, LLVMValueRef a,
			 LLVMValueRef b)
{
	return LLVMBuildFCmp(E->B, p, a, b, "");
}

static LLVMValueRef icmp(aj_emitter *E, LLVMIntPredicate p, LLVMValueRef a,
			 LLVMValueRef b)
{
	return LLVMBuildICmp(E->B, p, a, b, "");
}

static LLVMValueRef isnan_(aj_emitter *E, LLVMValueRef x)
{
	return fcmp(E, LLVMRealUNO, x, x);
}

LLVMValueRef aj_ir_phi2(aj_emitter *E, LLVMValueRef a, LLVMBasicBlockRef fa,
			LLVMValueRef b, LLVMBasicBlockRef fb, const char *name)
{
	LLVMValueRef phi = LLVMBuildPhi(E->B, LLVMTypeOf(a), name);
	LLVMValueRef in[2] = {a, b};
	LLVMBasicBlockRef from[2] = {fa, fb};
	LLVMAddIncoming(phi, in, from, 2);
	return phi;
}

LLVMValueRef aj_ir_call1(aj_emitter *E, const char *name, LLVMValueRef x)
{
	return intrinsic(E, name, LLVMTypeOf(x), &x, 1);
}

static LLVMValueRef copysign_(aj_emitter *E, LLVMValueRef mag, LLVMValueRef sgn)
{
	LLVMValueRef a[2] = {mag, sgn};
	return intrinsic(E, "llvm.copysign", LLVMTypeOf(mag), a, 2);
}

/* ---- unary ---- */

static LLVMValueRef lower_reciprocal(aj_emitter *E, aj_dtype t, int w,
				     LLVMValueRef x)
{
	if (aj_is_float(t))
		return LLVMBuildFDiv(E->B, aj_ir_fconst(x, 1, w), x, "");
	if (t == AJ_BOOL)
		return x;
	/* NumPy computes 1.0 / x in double and converts back, so 0 gives
	 * inf converted: the minimum int (0 for narrow types) */
	LLVMValueRef d = aj_emit_cast(E, x, t, AJ_FLOAT64, w);
	d = LLVMBuildFDiv(E->B, aj_ir_fconst(d, 1, w), d, "");
	return aj_emit_cast(E, d, AJ_FLOAT64, t, w);
}

/* sign: -1, 0 or 1; NaN stays NaN and -0.0 gives 0.0, as NumPy's. */
static LLVMValueRef lower_sign(aj_emitter *E, aj_dtype t, int w, LLVMValueRef x)
{
	LLVMValueRef z = LLVMConstNull(LLVMTypeOf(x));
	if (aj_is_float(t))
		return sel(E, fcmp(E, LLVMRealOGT, x, z), aj_ir_fconst(x, 1, w),
			   sel(E, fcmp(E, LLVMRealOLT, x, z), aj_ir_fconst(x, -1, w),
			       sel(E, isnan_(E, x), x, z)));
	if (t == AJ_BOOL)
		return x;
	LLVMTypeRef ty = LLVMTypeOf(x);
	LLVMValueRef pos = LLVMBuildZExt(E->B, icmp(E, aj_is_signed(t) ? LLVMIntSGT : LLVMIntUGT, x, z), ty, "");
	if (!aj_is_signed(t))
		return pos;
	return LLVMBuildSub(E->B, pos, LLVMBuildZExt(E->B, icmp(E, LLVMIntSLT, x, z), ty, ""), "");
}

static LLVMValueRef lower_unary(aj_emitter *E, aj_op op, aj_dtype t, int w,
				LLVMValueRef *x)
{
	bool f = aj_is_float(t);
	switch (op) {
	case AJ_OP_NEG:
		return f ? LLVMBuildFNeg(E->B, x[0], "") : LLVMBuildNeg(E->B, x[0], "");
	case AJ_OP_ABS:
		if (t == AJ_BOOL || aj_is_unsigned(t))
			return x[0];
		if (f)
			return aj_ir_call1(E, "llvm.fabs", x[0]);
		x[1] = LLVMConstInt(E->i1, 0, 0); /* INT_MIN stays INT_MIN */
		return intrinsic(E, "llvm.abs", LLVMTypeOf(x[0]), x, 2);
	case AJ_OP_SQUARE:
		return f ? LLVMBuildFMul(E->B, x[0], x[0], "")
			 : LLVMBuildMul(E->B, x[0], x[0], "");
	case AJ_OP_RECIPROCAL:
		return lower_reciprocal(E, t, w, x[0]);
	case AJ_OP_SIGN:
		return lower_sign(E, t, w, x[0]);
	case AJ_OP_REAL: /* of a real operand: itself, imag 0, conj itself */
	case AJ_OP_CONJ:
		return x[0];
	case AJ_OP_IMAG:
		return LLVMConstNull(LLVMTypeOf(x[0]));
	default: /* AJ_OP_INVERT: ~x, logical not for bool */
		return LLVMBuildXor(E->B, x[0], LLVMConstAllOnes(LLVMTypeOf(x[0])), "");
	}
}

static LLVMValueRef libm_fallback(aj_emitter *E, aj_op op, aj_dtype t, int w,
				  LLVMValueRef *x, LLVMValueRef r, LLVMValueRef bad);

/* inf from a finite input: where a function that stays finite overflowed. */
static LLVMValueRef overflowed(aj_emitter *E, LLVMValueRef r, LLVMValueRef x, int w)
{
	LLVMValueRef inf = aj_ir_fconst(r, INFINITY, w);
	return LLVMBuildAnd(E->B, fcmp(E, LLVMRealOEQ, aj_ir_call1(E, "llvm.fabs", r), inf),
			    fcmp(E, LLVMRealOLT, aj_ir_call1(E, "llvm.fabs", x), inf), "");
}

/*
 * log1p, arcsinh and arccosh are finite for every finite input where they
 * are defined; SLEEF 3.5's overflow to inf for huge ones (|x| beyond
 * 1.3e154 for arcsinh and arccosh in float64, -1.5e21 in float32,
 * log1p(DBL_MAX)). There arcsinh(x) = sign(x) log(2|x|) and arccosh(x) =
 * log(2x) exactly to working precision, so SLEEF's log keeps 1 ULP; what
 * still overflows (|x| > max/2) and log1p go to libm.
 */
static LLVMValueRef lower_finite_math(aj_emitter *E, aj_op op, aj_dtype t,
				      int w, LLVMValueRef *x)
{
	LLVMValueRef r = aj_emit_sleef(E, op, t, w, x);
	if (op != AJ_OP_LOG1P) {
		LLVMValueRef ax = aj_ir_call1(E, "llvm.fabs", x[0]);
		LLVMValueRef two = LLVMBuildFMul(E->B, ax, aj_ir_fconst(ax, 2, w), "");
		LLVMValueRef lg = aj_emit_sleef(E, AJ_OP_LOG, t, w, &two);
		lg = op == AJ_OP_ARCSINH ? copysign_(E, lg, x[0]) : lg;
		r = sel(E, overflowed(E, r, x[0], w), lg, r);
	}
	return libm_fallback(E, op, t, w, x, r, overflowed(E, r, x[0], w));
}

/* float32 sinh and cosh compute in float64: SLEEF's float32 versions
 * overflow from |x| > 88.5, short of float32's limit near 89.4. */
static LLVMValueRef lower_math(aj_emitter *E, aj_op op, aj_dtype t, int w,
			       LLVMValueRef *x)
{
	LLVMValueRef r;
	switch (op) {
	case AJ_OP_SQRT: return aj_ir_call1(E, "llvm.sqrt", x[0]);
	case AJ_OP_FLOOR: return aj_ir_call1(E, "llvm.floor", x[0]);
	case AJ_OP_CEIL: return aj_ir_call1(E, "llvm.ceil", x[0]);
	case AJ_OP_TRUNC: return aj_ir_call1(E, "llvm.trunc", x[0]);
	case AJ_OP_RINT: return aj_ir_call1(E, "llvm.rint", x[0]); /* half to even */
	case AJ_OP_SINH:
	case AJ_OP_COSH:
		if (t == AJ_FLOAT32) { /* in float64: see above */
			LLVMValueRef d = LLVMBuildFPExt(E->B, x[0], aj_ir_type(E, AJ_FLOAT64, w, false), "");
			return LLVMBuildFPTrunc(E->B, aj_emit_sleef(E, op, AJ_FLOAT64, w, &d),
						LLVMTypeOf(x[0]), "");
		}
		/* float64: SLEEF's overflow from |x| > 709.78, libm's only
		 * past 710.47; an inf from a finite input goes to libm */
		r = aj_emit_sleef(E, op, t, w, x);
		return libm_fallback(E, op, t, w, x, r, overflowed(E, r, x[0], w));
	case AJ_OP_LOG1P:
	case AJ_OP_ARCSINH:
	case AJ_OP_ARCCOSH:
		return lower_finite_math(E, op, t, w, x);
	default:
		return aj_emit_sleef(E, op, t, w, x);
	}
}

/* ---- binary ---- */

/* C's function fname (of float dtype t: f for float32), declared. */
static LLVMValueRef libm_fn(aj_emitter *E, const char *fname, aj_dtype t, int nargs,
			    LLVMTypeRef *fty)
{
	LLVMTypeRef et = aj_ir_type(E, t, 1, false), params[2] = {et, et};
	LLVMValueRef f = aj_ir_declare(E, fname, et, params, nargs, fty);
	aj_ir_mark_pure(E, f);
	return f;
}

/* C's function f (libm_fn's) over the w lanes of x: the vectors through
 * the stack to runtime.c's aj_rt_lanes<nargs>_<t>, which calls f for each
 * lane: one call where a call per lane would cost the compile a
 * millisecond or more. */
static LLVMValueRef libm_lanes(aj_emitter *E, LLVMValueRef f, aj_dtype t, int w,
			       LLVMValueRef *x, int nargs, LLVMTypeRef vt)
{
	char name[32];
	snprintf(name, sizeof name, "aj_rt_lanes%d_%s", nargs, t == AJ_FLOAT32 ? "f32" : "f64");
	LLVMValueRef args[5] = {f};
	for (int j = 0; j < nargs; j++) {
		args[1 + j] = aj_entry_alloca(E, vt, "lanes");
		LLVMBuildStore(E->B, x[j], args[1 + j]);
	}
	LLVMValueRef r = args[1 + nargs] = aj_entry_alloca(E, vt, "lanes");
	args[2 + nargs] = LLVMConstInt(E->i64, (unsigned long long)w, 0);
	LLVMTypeRef params[5] = {E->ptr, E->ptr, E->ptr, E->ptr, E->i64}, fty;
	params[2 + nargs] = E->i64;
	LLVMValueRef h = aj_ir_declare(E, name, LLVMVoidTypeInContext(E->C), params,
				       3 + nargs, &fty);
	aj_ir_fn_attr(E, h, "nounwind", 0);
	LLVMBuildCall2(E->B, fty, h, args, (unsigned)(3 + nargs), "");
	return LLVMBuildLoad2(E->B, vt, r, "");
}

/*
 * Redoes r = op(x) with libm, for every lane, when any lane of `bad` is set:
 * a branch ordinary data never takes, for the few inputs where SLEEF 3.5
 * departs from C's functions. libm's name is the op's SLEEF family (the
 * op table's "fmod", "pow_u10", "log1p_u10": fmod, pow, log1p), with an
 * f for float32.
 */
static LLVMValueRef libm_fallback(aj_emitter *E, aj_op op, aj_dtype t, int w,
				  LLVMValueRef *x, LLVMValueRef r, LLVMValueRef bad)
{
	int nargs = aj_ops[op].nin;
	if (w > 1)
		bad = intrinsic(E, "llvm.vector.reduce.or", LLVMTypeOf(bad), &bad, 1);
	LLVMBasicBlockRef fast = LLVMGetInsertBlock(E->B);
	LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(E->C, E->fn, "libm");
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(E->C, E->fn, "join");
	LLVMBuildCondBr(E->B, bad, slow, join);
	LLVMPositionBuilderAtEnd(E->B, slow);
	const char *fam = aj_ops[op].sleef;
	char fname[32];
	snprintf(fname, sizeof fname, "%.*s%s", (int)strcspn(fam, "_"), fam,
		 t == AJ_FLOAT32 ? "f" : "");
	LLVMTypeRef fty;
	LLVMValueRef f = libm_fn(E, fname, t, nargs, &fty);
	LLVMValueRef exact = w == 1 ? LLVMBuildCall2(E->B, fty, f, x, (unsigned)nargs, "")
				    : libm_lanes(E, f, t, w, x, nargs, LLVMTypeOf(r));
	LLVMBuildBr(E->B, join);
	LLVMPositionBuilderAtEnd(E->B, join);
	return aj_ir_phi2(E, r, fast, exact, slow, fname);
}

static LLVMValueRef isfinite_(aj_emitter *E, LLVMValueRef x, int w)
{
	return fcmp(E, LLVMRealOLT, aj_ir_call1(E, "llvm.fabs", x), aj_ir_fconst(x, INFINITY, w));
}

/* C's fmod, exact. SLEEF's returns NaN when x / y overflows
 * (fmod(1e308, 1e-308)): NaN from finite x and nonzero y goes to libm. */
static LLVMValueRef lower_fmod(aj_emitter *E, aj_dtype t, int w, LLVMValueRef *x)
{
	LLVMValueRef r = aj_emit_sleef(E, AJ_OP_FMOD, t, w, x);
	LLVMValueRef z = LLVMConstNull(LLVMTypeOf(x[0]));
	LLVMValueRef bad = LLVMBuildAnd(E->B, isnan_(E, r), LLVMBuildAnd(E->B,
		isfinite_(E, x[0], w), fcmp(E, LLVMRealONE, x[1], z), ""), "");
	return libm_fallback(E, AJ_OP_FMOD, t, w, x, r, bad);
}

/* ---- float powers ----
 *
 * Vector lanes go to lib/fpow.c, one call where the same code written
 * into the kernel cost its compile milliseconds: aj_rt_pow_<t>x<w> for an
 * exponent per lane, aj_rt_powi_<t>x<w> for one the same for every
 * element (a scalar: `(a+1)**50`; integers by powering in double-double),
 * each given the kernel's pow at its width (SLEEF's or, in the fast
 * accuracy mode, libmvec's). Widths with no such function split in
 * halves; a scalar, and what is left, is pow itself (below).
 */

/* Whether lib/fpow.c has the functions for w lanes of t in a kernel of isa. */
static bool has_fpow(aj_dtype t, int w, aj_isa isa)
{
	int bits = w * (int)aj_dtypes[t].size * 8;
	return (bits == 512 && isa == AJ_ISA_AVX512) || (bits == 256 && isa >= AJ_ISA_AVX2) ||
	       (bits == 128 && t == AJ_FLOAT32 && isa >= AJ_ISA_AVX2);
}

/* pow, within 1 ULP, inline. SLEEF's overflows to inf a little early, for
 * results near the largest double (pow(DBL_MAX, 1)): an inf from finite
 * operands goes to libm. */
static LLVMValueRef inline_fpow(aj_emitter *E, aj_dtype t, int w, LLVMValueRef *x)
{
	LLVMValueRef r = aj_emit_sleef(E, AJ_OP_POW, t, w, x);
	LLVMValueRef bad = LLVMBuildAnd(E->B,
		fcmp(E, LLVMRealOEQ, aj_ir_call1(E, "llvm.fabs", r), aj_ir_fconst(r, INFINITY, w)),
		LLVMBuildAnd(E->B, isfinite_(E, x[0], w), isfinite_(E, x[1], w), ""), "");
	return libm_fallback(E, AJ_OP_POW, t, w, x, r, bad);
}

/* x[0] ** x[1] for the w float lanes of t; y, when not NULL, is the
 * exponent as a scalar (x[1] its splat). */
static LLVMValueRef lower_fpow(aj_emitter *E, aj_dtype t, int w, LLVMValueRef *x,
			       LLVMValueRef y)
{
	if (!has_fpow(t, w, E->k->isa)) {
		if (w % 2 || w * (int)aj_dtypes[t].size * 8 <= 128)
			return inline_fpow(E, t, w, x);
		LLVMValueRef lo[2], hi[2];
		halves(E, x, 2, w, lo, hi);
		return concat(E, lower_fpow(E, t, w / 2, lo, y), lower_fpow(E, t, w / 2, hi, y),
			      w / 2);
	}
	char name[32], vname[64];
	snprintf(name, sizeof name, "aj_rt_pow%s_f%dx%d", y ? "i" : "",
		 t == AJ_FLOAT32 ? 32 : 64, w);
	aj_sleef_name(AJ_OP_POW, t, w, E->k->isa, E->k->fast, vname, sizeof vname);
	LLVMTypeRef vt = LLVMTypeOf(x[0]), vparams[2] = {vt, vt}, vfty;
	LLVMValueRef vpow = aj_ir_declare(E, vname, vt, vparams, 2, &vfty);
	aj_ir_mark_pure(E, vpow);
	LLVMTypeRef params[3] = {vt, y ? LLVMTypeOf(y) : vt, E->ptr}, fty;
	LLVMValueRef f = aj_ir_declare(E, name, vt, params, 3, &fty);
	aj_ir_mark_pure(E, f);
	LLVMValueRef args[3] = {x[0], y ? y : x[1], vpow};
	return LLVMBuildCall2(E->B, fty, f, args, 3, "pow");
}

/*
 * NumPy's integer //, % and fmod: a zero divisor gives 0; MIN // -1 wraps
 * to MIN and MIN % -1 is 0. x86 traps on both, so the divisor is made safe
 * (1) first; floor division and Python's % then adjust the truncated
 * results when the signs differ.
 */
static LLVMValueRef lower_idiv(aj_emitter *E, aj_op op, aj_dtype t, int w,
			       LLVMValueRef a, LLVMValueRef b)
{
	bool s = aj_is_signed(t);
	LLVMValueRef z = LLVMConstNull(LLVMTypeOf(a));
	LLVMValueRef zero = icmp(E, LLVMIntEQ, b, z), bad = zero;
	if (s) {
		int bits = aj_dtypes[t].size * 8;
		LLVMValueRef min = iconst(a, bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1)), w);
		bad = LLVMBuildOr(E->B, zero, LLVMBuildAnd(E->B, icmp(E, LLVMIntEQ, a, min),
			icmp(E, LLVMIntEQ, b, iconst(a, -1, w)), ""), "");
	}
	LLVMValueRef d = sel(E, bad, iconst(a, 1, w), b);
	LLVMValueRef r = s ? LLVMBuildSRem(E->B, a, d, "") : LLVMBuildURem(E->B, a, d, "");
	LLVMValueRef v;
	/* signs differ and the division was inexact */
	LLVMValueRef adj = s ? LLVMBuildAnd(E->B, icmp(E, LLVMIntNE, r, z),
		icmp(E, LLVMIntSLT, LLVMBuildXor(E->B, r, d, ""), z), "") : NULL;
	if (op == AJ_OP_FLOORDIV) {
		v = s ? LLVMBuildSDiv(E->B, a, d, "") : LLVMBuildUDiv(E->B, a, d, "");
		if (s)
			v = LLVMBuildSub(E->B, v, LLVMBuildZExt(E->B, adj, LLVMTypeOf(a), ""), "");
	} else {
		v = r;
		if (s && op == AJ_OP_REM)
			v = sel(E, adj, LLVMBuildAdd(E->B, r, d, ""), r);
	}
	return sel(E, zero, z, v);
}

/*
 * NumPy's float // and % (npy_divmod): mod = fmod(a, b) moved to b's sign;
 * div = (a - mod) / b, floored and snapped to the nearest integer; a zero
 * quotient or remainder carries the right sign; b == 0 gives a / b and
 * fmod's NaN.
 */
static LLVMValueRef lower_fdiv(aj_emitter *E, aj_op op, aj_dtype t, int w,
			       LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef ab[2] = {a, b}, z = LLVMConstNull(LLVMTypeOf(a));
	LLVMValueRef mod = lower_fmod(E, t, w, ab);
	LLVMValueRef bzero = fcmp(E, LLVMRealOEQ, b, z);
	LLVMValueRef adj = LLVMBuildAnd(E->B, fcmp(E, LLVMRealUNE, mod, z),
		LLVMBuildXor(E->B, fcmp(E, LLVMRealOLT, b, z),
			     fcmp(E, LLVMRealOLT, mod, z), ""), "");
	LLVMValueRef quot = LLVMBuildFDiv(E->B, a, b, "");
	if (op == AJ_OP_REM) {
		LLVMValueRef m = sel(E, adj, LLVMBuildFAdd(E->B, mod, b, ""), mod);
		m = sel(E, fcmp(E, LLVMRealOEQ, mod, z), copysign_(E, z, b), m);
		return sel(E, bzero, mod, m);
	}
	LLVMValueRef div = LLVMBuildFDiv(E->B, LLVMBuildFSub(E->B, a, mod, ""), b, "");
	div = sel(E, adj, LLVMBuildFSub(E->B, div, aj_ir_fconst(a, 1, w), ""), div);
	LLVMValueRef fl = aj_ir_call1(E, "llvm.floor", div);
	fl = sel(E, fcmp(E, LLVMRealOGT, LLVMBuildFSub(E->B, div, fl, ""), aj_ir_fconst(a, 0.5, w)),
		 LLVMBuildFAdd(E->B, fl, aj_ir_fconst(a, 1, w), ""), fl);
	fl = sel(E, fcmp(E, LLVMRealUNE, div, z), fl, copysign_(E, z, quot));
	return sel(E, bzero, quot, fl);
}

/* NumPy's fmin: (a < b || isnan(b)) ? a : b, fmax with >: NaN is ignored
 * unless both are NaN. */
static LLVMValueRef lower_fminmax(aj_emitter *E, aj_op op, aj_dtype t,
				  LLVMValueRef *x)
{
	if (!aj_is_float(t))
		return emit_minmax(E, op == AJ_OP_FMIN ? AJ_OP_MIN : AJ_OP_MAX, t, x);
	LLVMValueRef pick = LLVMBuildOr(
		E->B, fcmp(E, op == AJ_OP_FMIN ? LLVMRealOLT : LLVMRealOGT, x[0], x[1]),
		isnan_(E, x[1]), "");
	return sel(E, pick, x[0], x[1]);
}

/* NumPy's shifts: a count outside [0, bits) gives 0, or -1 for a negative
 * number shifted right; LLVM would give poison. */
static LLVMValueRef lower_shift(aj_emitter *E, aj_op op, aj_dtype t, int w,
				LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef z = LLVMConstNull(LLVMTypeOf(a));
	LLVMValueRef ok = icmp(E, LLVMIntULT, b, iconst(a, aj_dtypes[t].size * 8, w));
	LLVMValueRef c = sel(E, ok, b, z);
	if (op == AJ_OP_LSHIFT)
		return sel(E, ok, LLVMBuildShl(E->B, a, c, ""), z);
	if (!aj_is_signed(t))
		return sel(E, ok, LLVMBuildLShr(E->B, a, c, ""), z);
	LLVMValueRef out = sel(E, icmp(E, LLVMIntSLT, a, z), iconst(a, -1, w), z);
	return sel(E, ok, LLVMBuildAShr(E->B, a, c, ""), out);
}

static LLVMValueRef lower_binary(aj_emitter *E, aj_op op, aj_dtype t, int w,
				 LLVMValueRef *x)
{
	bool f = aj_is_float(t), b = t == AJ_BOOL;
	switch (op) {
	case AJ_OP_ADD:
		return f ? LLVMBuildFAdd(E->B, x[0], x[1], "")
		       : b ? LLVMBuildOr(E->B, x[0], x[1], "")
			   : LLVMBuildAdd(E->B, x[0], x[1], "");
	case AJ_OP_SUB:
		return f ? LLVMBuildFSub(E->B, x[0], x[1], "")
			 : LLVMBuildSub(E->B, x[0], x[1], "");
	case AJ_OP_MUL:
		return f ? LLVMBuildFMul(E->B, x[0], x[1], "")
		       : b ? LLVMBuildAnd(E->B, x[0], x[1], "")
			   : LLVMBuildMul(E->B, x[0], x[1], "");
	case AJ_OP_DIV:
		return LLVMBuildFDiv(E->B, x[0], x[1], "");
	case AJ_OP_FLOORDIV:
	case AJ_OP_REM:
		return f ? lower_fdiv(E, op, t, w, x[0], x[1])
			 : lower_idiv(E, op, t, w, x[0], x[1]);
	case AJ_OP_FMOD:
		return f ? lower_fmod(E, t, w, x) : lower_idiv(E, op, t, w, x[0], x[1]);
	case AJ_OP_POW:
		return emit_pow(E, t, w, x);
	case AJ_OP_MIN:
	case AJ_OP_MAX:
		return emit_minmax(E, op, t, x);
	case AJ_OP_FMIN:
	case AJ_OP_FMAX:
		return lower_fminmax(E, op, t, x);
	case AJ_OP_COPYSIGN:
		return copysign_(E, x[0], x[1]);
	case AJ_OP_BITAND:
		return LLVMBuildAnd(E->B, x[0], x[1], "");
	case AJ_OP_BITOR:
		return LLVMBuildOr(E->B, x[0], x[1], "");
	case AJ_OP_BITXOR:
		return LLVMBuildXor(E->B, x[0], x[1], "");
	case AJ_OP_LSHIFT:
	case AJ_OP_RSHIFT:
		return lower_shift(E, op, t, w, x[0], x[1]);
	default: /* arctan2, hypot, nextafter */
		return aj_emit_sleef(E, op, t, w, x);
	}
}

/* ---- tests and logic ---- */

/* isnan, isinf, isfinite, signbit of x, whose dtype is t. */
static LLVMValueRef lower_pred(aj_emitter *E, aj_op op, aj_dtype t, int w,
			       LLVMValueRef x)
{
	LLVMTypeRef bt = aj_ir_type(E, AJ_BOOL, w, false);
	if (!aj_is_float(t)) {
		bool neg = op == AJ_OP_SIGNBIT && aj_is_signed(t);
		if (neg)
			return icmp(E, LLVMIntSLT, x, LLVMConstNull(LLVMTypeOf(x)));
		return op == AJ_OP_ISFINITE ? LLVMConstAllOnes(bt) : LLVMConstNull(bt);
	}
	LLVMValueRef inf = aj_ir_fconst(x, INFINITY, w);
	switch (op) {
	case AJ_OP_ISNAN:
		return isnan_(E, x);
	case AJ_OP_ISINF:
		return fcmp(E, LLVMRealOEQ, aj_ir_call1(E, "llvm.fabs", x), inf);
	case AJ_OP_ISFINITE:
		return fcmp(E, LLVMRealOLT, aj_ir_call1(E, "llvm.fabs", x), inf);
	default: { /* signbit: the sign bit itself, so -0.0 and -NaN count */
		LLVMTypeRef it = aj_ir_type(E, t == AJ_FLOAT32 ? AJ_INT32 : AJ_INT64, w, false);
		LLVMValueRef bits = LLVMBuildBitCast(E->B, x, it, "");
		return icmp(E, LLVMIntSLT, bits, LLVMConstNull(it));
	}
	}
}

static LLVMValueRef lower_logic(aj_emitter *E, aj_op op, LLVMValueRef *x)
{
	switch (op) {
	case AJ_OP_LNOT: return LLVMBuildNot(E->B, x[0], "");
	case AJ_OP_LAND: return LLVMBuildAnd(E->B, x[0], x[1], "");
	case AJ_OP_LOR: return LLVMBuildOr(E->B, x[0], x[1], "");
	default: return LLVMBuildXor(E->B, x[0], x[1], "");
	}
}

/* NumPy's clip: MIN(MAX(x, lo), hi) with MAX(a, b) = isnan(a) ? a :
 * (a > b ? a : b), MIN likewise: a NaN in x propagates. */
static LLVMValueRef lower_clip(aj_emitter *E, aj_dtype t, LLVMValueRef *x)
{
	if (!aj_is_float(t)) {
		LLVMValueRef lo[2] = {x[0], x[1]};
		LLVMValueRef hi[2] = {emit_minmax(E, AJ_OP_MAX, t, lo), x[2]};
		return emit_minmax(E, AJ_OP_MIN, t, hi);
	}
	LLVMValueRef m = sel(E, LLVMBuildOr(E->B, isnan_(E, x[0]),
		fcmp(E, LLVMRealOGT, x[0], x[1]), ""), x[0], x[1]);
	return sel(E, LLVMBuildOr(E->B, isnan_(E, m), fcmp(E, LLVMRealOLT, m, x[2]), ""),
		   m, x[2]);
}

/* Value v at width w from the values already in E->cur. */
LLVMValueRef aj_lower(aj_emitter *E, const aj_kval *v, int w)
{
	aj_op op = v->op;
	aj_dtype t = v->dtype, t0 = E->k->val[v->arg[0]].dtype;
	LLVMValueRef x[3];
	for (int i = 0; i < aj_kval_nin(v); i++)
		x[i] = E->cur[v->arg[i]];
	if (aj_is_random(op))
		return aj_lower_random(E, v, w, x);
	aj_opkind kind = aj_ops[op].kind;
	if (op == AJ_OP_POW && aj_is_float(t) && w > 1 && E->inv[v->arg[1]] && E->hoisted[v->arg[1]])
		return lower_fpow(E, t, w, x, E->hoisted[v->arg[1]]);
	bool cx = aj_is_complex(t) || (aj_ops[op].nin && aj_is_complex(t0));
	if (cx && kind != AJ_KIND_CAST && kind != AJ_KIND_SELECT)
		return aj_lower_complex(E, v, w, x);
	switch (kind) {
	case AJ_KIND_CAST: return aj_emit_cast(E, x[0], t0, t, w);
	case AJ_KIND_UNARY: return lower_unary(E, op, t, w, x);
	case AJ_KIND_MATH: return lower_math(E, op, t, w, x);
	case AJ_KIND_BINARY: return lower_binary(E, op, t, w, x);
	case AJ_KIND_CMP: return emit_cmp(E, op, t0, x);
	case AJ_KIND_PRED: return lower_pred(E, op, t0, w, x[0]);
	case AJ_KIND_LOGIC: return lower_logic(E, op, x);
	case AJ_KIND_SELECT: return aj_ir_select(E, x[0], x[1], x[2]);
	case AJ_KIND_CLIP: return lower_clip(E, t, x);
	default: return NULL; /* leaves are loads, emitted by emit.c */
	}
}

LLVMValueRef aj_combine(aj_emitter *E, aj_op red, aj_dtype t, LLVMValueRef acc,
			LLVMValueRef v)
{
	LLVMValueRef x[2] = {acc, v};
	if (aj_is_complex(t))
		return aj_combine_complex(E, red, t, acc, v);
	switch (red) {
	case AJ_OP_PROD: return lower_binary(E, AJ_OP_MUL, t, 0, x);
	case AJ_OP_RMIN: return emit_minmax(E, AJ_OP_MIN, t, x);
	case AJ_OP_RMAX: return emit_minmax(E, AJ_OP_MAX, t, x);
	case AJ_OP_ANY: return LLVMBuildOr(E->B, acc, v, "");
	case AJ_OP_ALL: return LLVMBuildAnd(E->B, acc, v, "");
	default: return lower_binary(E, AJ_OP_ADD, t, 0, x); /* sum, mean */
	}
}
