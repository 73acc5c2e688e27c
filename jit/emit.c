/*
 * IR emission: a kernel description becomes one LLVM function.
 *
 *   void k(ptr %ptr, ptr %shape, ptr %strides, ptr %scalars, i64 %lo, i64 %hi)
 *
 * Loop d (0 outermost) advances each operand's base by its stride along d.
 * Loop 0 covers [lo, hi) so a caller can split it across threads.
 *
 * The innermost loop:
 * - values invariant along it (scalars, stride-0 operands, and ops on only
 *   those) are computed once in its preheader, at width 1;
 * - when every operand is CONTIG or ZERO there, a vector body handles
 *   `lanes` elements per step (explicit <lanes x T> IR, SLEEF vector calls)
 *   and a scalar tail the rest;
 * - otherwise a scalar loop reads each operand with its runtime stride.
 *
 * The same emitter produces vector and scalar code: LLVM instructions are
 * polymorphic in their type, so each op is written once for any width.
 * Registers hold bools as i1; memory holds them as i8 (0 or 1; any nonzero
 * byte reads as true).
 */
#include "alloc.h"
#include "core.h"
#include "llvm.h"

#include <llvm-c/Analysis.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct emitter {
	LLVMContextRef C;
	LLVMModuleRef M;
	LLVMBuilderRef B;
	LLVMValueRef fn;
	const aj_kdesc *k;
	int lanes;            /* width of the vector body */
	LLVMTypeRef i1, i8, i32, i64, f32, f64, ptr, vd;
	LLVMValueRef a_ptr, a_shape, a_strides, a_scalars, a_lo, a_hi;
	LLVMValueRef *shape;  /* k->ndim extents */
	LLVMValueRef *stride; /* nop x ndim byte strides */
	bool *inv;            /* value is invariant along the inner loop */
	LLVMValueRef *hoisted; /* invariant values at width 1 */
	LLVMValueRef *cur;    /* values of the body being emitted */
	LLVMValueRef *base;   /* operand base pointers at loop 0 */
} emitter;

/* ---- types and small helpers ---- */

static LLVMTypeRef elem_type(emitter *E, aj_dtype t, bool memory)
{
	if (t == AJ_BOOL)
		return memory ? E->i8 : E->i1;
	if (t == AJ_FLOAT32)
		return E->f32;
	if (t == AJ_FLOAT64)
		return E->f64;
	return LLVMIntTypeInContext(E->C, (unsigned)aj_dtypes[t].size * 8);
}

static LLVMTypeRef type_of(emitter *E, aj_dtype t, int w, bool memory)
{
	LLVMTypeRef e = elem_type(E, t, memory);
	return w == 1 ? e : LLVMVectorType(e, (unsigned)w);
}

/* Constant c in all w lanes (c itself when w == 1). */
static LLVMValueRef const_lanes(LLVMValueRef c, int w)
{
	if (w == 1)
		return c;
	LLVMValueRef e[64];
	for (int i = 0; i < w; i++)
		e[i] = c;
	return LLVMConstVector(e, (unsigned)w);
}

static LLVMValueRef const_int(LLVMTypeRef t, int64_t v, int w)
{
	return const_lanes(LLVMConstInt(t, (unsigned long long)v, 1), w);
}

static LLVMValueRef const_real(LLVMTypeRef t, double v, int w)
{
	return const_lanes(LLVMConstReal(t, v), w);
}

static LLVMValueRef splat(emitter *E, LLVMValueRef x, int w)
{
	if (w == 1)
		return x;
	LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)w);
	LLVMValueRef v = LLVMBuildInsertElement(
		E->B, LLVMGetPoison(vt), x, LLVMConstInt(E->i32, 0, 0), "");
	return LLVMBuildShuffleVector(E->B, v, LLVMGetPoison(vt),
				      LLVMConstNull(LLVMVectorType(E->i32, (unsigned)w)),
				      "splat");
}

static LLVMValueRef load_i64(emitter *E, LLVMValueRef base, int idx)
{
	LLVMValueRef i = LLVMConstInt(E->i64, (unsigned long long)idx, 0);
	LLVMValueRef p = LLVMBuildGEP2(E->B, E->i64, base, &i, 1, "");
	return LLVMBuildLoad2(E->B, E->i64, p, "");
}

/* Declares (once) a function in the module. */
static LLVMValueRef declare(emitter *E, const char *name, LLVMTypeRef ret,
			    LLVMTypeRef *params, int n, LLVMTypeRef *fty)
{
	*fty = LLVMFunctionType(ret, params, (unsigned)n, 0);
	LLVMValueRef f = LLVMGetNamedFunction(E->M, name);
	if (!f)
		f = LLVMAddFunction(E->M, name, *fty);
	return f;
}

static void add_fn_attr(emitter *E, LLVMValueRef f, const char *name, uint64_t v)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
	LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
				LLVMCreateEnumAttribute(E->C, kind, v));
}

/* Pure math functions: memory(none) nounwind willreturn, so LLVM may hoist,
 * share or drop calls. */
static void mark_pure(emitter *E, LLVMValueRef f)
{
	add_fn_attr(E, f, "nounwind", 0);
	add_fn_attr(E, f, "willreturn", 0);
	add_fn_attr(E, f, "memory", 0);
}

static LLVMValueRef intrinsic(emitter *E, const char *name, LLVMTypeRef t,
			      LLVMValueRef *args, int n)
{
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	LLVMValueRef f = LLVMGetIntrinsicDeclaration(E->M, id, &t, 1);
	LLVMTypeRef fty = LLVMIntrinsicGetType(E->C, id, &t, 1);
	return LLVMBuildCall2(E->B, fty, f, args, (unsigned)n, "");
}

/* ---- loops ---- */

typedef struct loop {
	LLVMBasicBlockRef head, body, exit;
	LLVMValueRef i; /* the induction variable, a phi in head */
} loop;

/* for (i = start; i < end; i += step): leaves the builder in the body. */
static void loop_begin(emitter *E, loop *L, LLVMValueRef start,
		       LLVMValueRef end, const char *name)
{
	LLVMBasicBlockRef pre = LLVMGetInsertBlock(E->B);
	L->head = LLVMAppendBasicBlockInContext(E->C, E->fn, name);
	L->body = LLVMAppendBasicBlockInContext(E->C, E->fn, "body");
	L->exit = LLVMAppendBasicBlockInContext(E->C, E->fn, "exit");
	LLVMBuildBr(E->B, L->head);
	LLVMPositionBuilderAtEnd(E->B, L->head);
	L->i = LLVMBuildPhi(E->B, E->i64, "i");
	LLVMAddIncoming(L->i, &start, &pre, 1);
	LLVMValueRef more = LLVMBuildICmp(E->B, LLVMIntSLT, L->i, end, "");
	LLVMBuildCondBr(E->B, more, L->body, L->exit);
	LLVMPositionBuilderAtEnd(E->B, L->body);
}

static void loop_end(emitter *E, loop *L, int64_t step)
{
	LLVMValueRef next = LLVMBuildAdd(E->B, L->i,
					 LLVMConstInt(E->i64, (unsigned long long)step, 0),
					 "next");
	LLVMBasicBlockRef latch = LLVMGetInsertBlock(E->B);
	LLVMAddIncoming(L->i, &next, &latch, 1);
	LLVMBuildBr(E->B, L->head);
	LLVMPositionBuilderAtEnd(E->B, L->exit);
}

/* ---- values ---- */

/* The smallest signed integer of `bits` bits. */
static int64_t int_min(int bits)
{
	return bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
}

/* x86's truncating float -> int of `bits` (cvttsd2si): NaN and
 * out-of-range values give the minimum int; plain fptosi would be poison. */
static LLVMValueRef cvtt(emitter *E, LLVMValueRef x, int bits, int w)
{
	LLVMTypeRef ft = LLVMTypeOf(x);
	LLVMTypeRef fe = w == 1 ? ft : LLVMGetElementType(ft);
	LLVMTypeRef it = LLVMIntTypeInContext(E->C, (unsigned)bits);
	LLVMValueRef lo = const_real(fe, -ldexp(1.0, bits - 1), w);
	LLVMValueRef hi = const_real(fe, ldexp(1.0, bits - 1), w);
	LLVMValueRef ok = LLVMBuildAnd(
		E->B, LLVMBuildFCmp(E->B, LLVMRealOGE, x, lo, ""),
		LLVMBuildFCmp(E->B, LLVMRealOLT, x, hi, ""), "");
	LLVMValueRef v = LLVMBuildFPToSI(E->B, x, w == 1 ? it : LLVMVectorType(it, (unsigned)w), "");
	return LLVMBuildSelect(E->B, ok, v, const_int(it, int_min(bits), w), "");
}

/*
 * float -> int as NumPy computes it on x86 (its casts are C conversions
 * compiled for x86-64): 1- and 2-byte targets truncate a 32-bit
 * conversion; uint32/uint64 convert x - 2^(n-1) and flip the top bit when
 * x >= 2^(n-1). So -1.0 gives 255 as uint8, 2^64-1 as uint64, and NaN the
 * minimum (or 2^(n-1) for the unsigned ones).
 */
static LLVMValueRef float_to_int(emitter *E, LLVMValueRef x, aj_dtype to, int w)
{
	int bits = aj_dtypes[to].size * 8;
	LLVMTypeRef t = type_of(E, to, w, false);
	if (bits < 32)
		return LLVMBuildTrunc(E->B, cvtt(E, x, 32, w), t, "");
	if (aj_is_signed(to))
		return cvtt(E, x, bits, w);
	LLVMTypeRef ft = LLVMTypeOf(x);
	LLVMValueRef half = const_real(w == 1 ? ft : LLVMGetElementType(ft),
				       ldexp(1.0, bits - 1), w);
	LLVMValueRef big = LLVMBuildFCmp(E->B, LLVMRealOGE, x, half, "");
	LLVMValueRef hi = LLVMBuildXor(
		E->B, cvtt(E, LLVMBuildFSub(E->B, x, half, ""), bits, w),
		const_int(elem_type(E, to, false), int_min(bits), w), "");
	return LLVMBuildSelect(E->B, big, hi, cvtt(E, x, bits, w), "");
}

static LLVMValueRef emit_cast(emitter *E, LLVMValueRef x, aj_dtype from,
			      aj_dtype to, int w)
{
	LLVMTypeRef t = type_of(E, to, w, false);
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
	return float_to_int(E, x, to, w);
}

/* Applies a scalar function lane by lane. */
static LLVMValueRef per_lane(emitter *E, LLVMValueRef f, LLVMTypeRef fty,
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

/* A SLEEF call at width w, or lane by lane when SLEEF lacks that width. */
static LLVMValueRef emit_sleef(emitter *E, aj_op op, aj_dtype t, int w,
			       LLVMValueRef *x)
{
	char name[64];
	int nargs = aj_ops[op].nin;
	int fw = aj_sleef_name(op, t, w, E->k->isa, name, sizeof name) ? w : 1;
	if (fw == 1)
		aj_sleef_name(op, t, 1, E->k->isa, name, sizeof name);
	LLVMTypeRef ft = type_of(E, t, fw, false), params[2] = {ft, ft}, fty;
	LLVMValueRef f = declare(E, name, ft, params, nargs, &fty);
	mark_pure(E, f);
	if (fw == w)
		return LLVMBuildCall2(E->B, fty, f, x, (unsigned)nargs, "");
	return per_lane(E, f, fty, x, nargs, w, type_of(E, t, w, false));
}

/*
 * Integer power by squaring, as an internal function per type: wraps like
 * NumPy. For signed types a negative exponent gives 1/b**-e truncated (1,
 * -1 or 0); NumPy raises there instead.
 */
static LLVMValueRef ipow_fn(emitter *E, aj_dtype dt, LLVMTypeRef *fty)
{
	char name[32];
	LLVMTypeRef t = elem_type(E, dt, false);
	snprintf(name, sizeof name, "aj_ipow_%s", aj_dtypes[dt].name);
	LLVMTypeRef params[2] = {t, t};
	LLVMValueRef f = LLVMGetNamedFunction(E->M, name);
	*fty = LLVMFunctionType(t, params, 2, 0);
	if (f)
		return f;
	f = LLVMAddFunction(E->M, name, *fty);
	LLVMSetLinkage(f, LLVMInternalLinkage);
	mark_pure(E, f);
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

static LLVMValueRef emit_pow(emitter *E, aj_dtype t, int w, LLVMValueRef *x)
{
	if (aj_is_float(t))
		return emit_sleef(E, AJ_OP_POW, t, w, x);
	LLVMTypeRef fty;
	LLVMValueRef f = ipow_fn(E, t, &fty);
	if (w == 1)
		return LLVMBuildCall2(E->B, fty, f, x, 2, "");
	return per_lane(E, f, fty, x, 2, w, type_of(E, t, w, false));
}

/* NumPy's minimum is (a < b || isnan(a)) ? a : b, maximum likewise with
 * >: NaN propagates, and between equal values (-0.0, 0.0) b wins. */
static LLVMValueRef emit_minmax(emitter *E, aj_op op, aj_dtype t,
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

static LLVMValueRef emit_cmp(emitter *E, aj_op op, aj_dtype t, LLVMValueRef *x)
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

static LLVMValueRef emit_arith(emitter *E, aj_op op, aj_dtype t,
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
	case AJ_OP_NEG:
		return f ? LLVMBuildFNeg(E->B, x[0], "")
			 : LLVMBuildNeg(E->B, x[0], "");
	case AJ_OP_ABS:
		if (b || aj_is_unsigned(t))
			return x[0];
		if (f)
			return intrinsic(E, "llvm.fabs", LLVMTypeOf(x[0]), x, 1);
		x[1] = LLVMConstInt(E->i1, 0, 0); /* INT_MIN stays INT_MIN */
		return intrinsic(E, "llvm.abs", LLVMTypeOf(x[0]), x, 2);
	default:
		return NULL;
	}
}

/* Value v at width w from the values already in E->cur. */
static LLVMValueRef emit_op(emitter *E, const aj_kval *v, int w)
{
	aj_op op = v->op;
	aj_dtype t = v->dtype;
	LLVMValueRef x[3];
	for (int i = 0; i < aj_ops[op].nin; i++)
		x[i] = E->cur[v->arg[i]];
	switch (aj_ops[op].kind) {
	case AJ_KIND_CAST:
		return emit_cast(E, x[0], E->k->val[v->arg[0]].dtype, t, w);
	case AJ_KIND_MATH:
		if (op == AJ_OP_SQRT)
			return intrinsic(E, "llvm.sqrt", LLVMTypeOf(x[0]), x, 1);
		return emit_sleef(E, op, t, w, x);
	case AJ_KIND_CMP:
		return emit_cmp(E, op, E->k->val[v->arg[0]].dtype, x);
	case AJ_KIND_SELECT:
		return LLVMBuildSelect(E->B, x[0], x[1], x[2], "");
	default:
		break;
	}
	if (op == AJ_OP_POW)
		return emit_pow(E, t, w, x);
	if (op == AJ_OP_MIN || op == AJ_OP_MAX)
		return emit_minmax(E, op, t, x);
	return emit_arith(E, op, t, x);
}

/* ---- memory ---- */

static LLVMValueRef load_elem(emitter *E, aj_dtype t, int w, LLVMValueRef p)
{
	LLVMValueRef v = LLVMBuildLoad2(E->B, type_of(E, t, w, true), p, "");
	LLVMSetAlignment(v, 1); /* NumPy allows unaligned arrays */
	if (t == AJ_BOOL)
		v = LLVMBuildICmp(E->B, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
	return v;
}

static void store_elem(emitter *E, aj_dtype t, LLVMValueRef v, LLVMValueRef p,
		       int w)
{
	if (t == AJ_BOOL)
		v = LLVMBuildZExt(E->B, v, type_of(E, t, w, true), "");
	LLVMSetAlignment(LLVMBuildStore(E->B, v, p), 1);
}

static LLVMValueRef scalar_slot(emitter *E, const aj_kval *v)
{
	LLVMValueRef i = LLVMConstInt(E->i64, 8 * (unsigned long long)v->arg[0], 0);
	LLVMValueRef p = LLVMBuildGEP2(E->B, E->i8, E->a_scalars, &i, 1, "");
	return load_elem(E, v->dtype, 1, p);
}

/* Address of element i of operand o in the inner loop. */
static LLVMValueRef elem_addr(emitter *E, int o, LLVMValueRef base,
			      LLVMValueRef i)
{
	const aj_kdesc *k = E->k;
	if (k->op_class[o] == AJ_SC_CONTIG)
		return LLVMBuildGEP2(E->B, elem_type(E, k->op_dtype[o], true),
				     base, &i, 1, "");
	LLVMValueRef off = LLVMBuildMul(E->B, i, E->stride[o * k->ndim + k->ndim - 1], "");
	return LLVMBuildGEP2(E->B, E->i8, base, &off, 1, "");
}

/* Marks the values invariant along the inner loop. */
static void fill_invariant(emitter *E)
{
	const aj_kdesc *k = E->k;
	for (int i = 0; i < k->nval; i++) {
		const aj_kval *v = &k->val[i];
		if (v->op == AJ_OP_SCALAR) {
			E->inv[i] = true;
		} else if (v->op == AJ_OP_ARRAY) {
			E->inv[i] = k->op_class[v->arg[0]] == AJ_SC_ZERO;
		} else {
			E->inv[i] = true;
			for (int j = 0; j < aj_ops[v->op].nin; j++)
				E->inv[i] = E->inv[i] && E->inv[v->arg[j]];
		}
	}
}

/* Computes the invariant values at width 1, in the inner preheader. */
static void emit_hoisted(emitter *E, LLVMValueRef *base)
{
	const aj_kdesc *k = E->k;
	for (int i = 0; i < k->nval; i++) {
		const aj_kval *v = &k->val[i];
		if (!E->inv[i])
			continue;
		if (v->op == AJ_OP_SCALAR)
			E->hoisted[i] = scalar_slot(E, v);
		else if (v->op == AJ_OP_ARRAY)
			E->hoisted[i] = load_elem(E, v->dtype, 1, base[v->arg[0]]);
		else {
			E->cur = E->hoisted;
			E->hoisted[i] = emit_op(E, v, 1);
		}
	}
}

/* One step of the inner loop at width w: loads, values, stores. */
static void emit_body(emitter *E, LLVMValueRef *base, LLVMValueRef i, int w,
		      LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	E->cur = cur;
	for (int j = 0; j < k->nval; j++) {
		const aj_kval *v = &k->val[j];
		if (E->inv[j])
			cur[j] = splat(E, E->hoisted[j], w);
		else if (v->op == AJ_OP_ARRAY)
			cur[j] = load_elem(E, v->dtype, w,
					   elem_addr(E, (int)v->arg[0],
						     base[v->arg[0]], i));
		else
			cur[j] = emit_op(E, v, w);
	}
	for (int o = 0; o < k->nout; o++)
		store_elem(E, k->op_dtype[o], cur[k->out_val[o]],
			   elem_addr(E, o, base[o], i), w);
}

static bool vectorizable(const aj_kdesc *k)
{
	for (int o = 0; o < k->nop; o++)
		if (k->op_class[o] == AJ_SC_ANY)
			return false;
	return true;
}

/* The innermost loop over [start, end). */
static void emit_inner(emitter *E, LLVMValueRef *base, LLVMValueRef start,
		       LLVMValueRef end, LLVMValueRef *cur)
{
	emit_hoisted(E, base);
	LLVMValueRef tail_start = start;
	if (E->lanes > 1 && vectorizable(E->k)) {
		LLVMValueRef n = LLVMBuildSub(E->B, end, start, "");
		LLVMValueRef nv = LLVMBuildAnd(
			E->B, n, LLVMConstInt(E->i64, ~(unsigned long long)(E->lanes - 1), 1), "");
		tail_start = LLVMBuildAdd(E->B, start, nv, "vend");
		loop L;
		loop_begin(E, &L, start, tail_start, "vec");
		emit_body(E, base, L.i, E->lanes, cur);
		loop_end(E, &L, E->lanes);
	}
	loop T;
	loop_begin(E, &T, tail_start, end, "tail");
	emit_body(E, base, T.i, 1, cur);
	loop_end(E, &T, 1);
}

/* Loop d and everything inside it. */
static void emit_nest(emitter *E, int d, LLVMValueRef *base, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	LLVMValueRef start = d == 0 ? E->a_lo : LLVMConstInt(E->i64, 0, 0);
	LLVMValueRef end = d == 0 ? E->a_hi : E->shape[d];
	if (d == k->ndim - 1) {
		emit_inner(E, base, start, end, cur);
		return;
	}
	loop L;
	loop_begin(E, &L, start, end, "outer");
	LLVMValueRef inner[k->nop];
	for (int o = 0; o < k->nop; o++) {
		LLVMValueRef off = LLVMBuildMul(E->B, L.i, E->stride[o * k->ndim + d], "");
		inner[o] = LLVMBuildGEP2(E->B, E->i8, base[o], &off, 1, "");
	}
	emit_nest(E, d + 1, inner, cur);
	loop_end(E, &L, 1);
}

/* Widest element among operands and values decides the lanes: one vector
 * register of it (4 x f64 on AVX2, 8 on AVX-512). */
static int pick_lanes(const aj_kdesc *k)
{
	int bytes = k->isa == AJ_ISA_AVX512 ? 64 : k->isa == AJ_ISA_AVX2 ? 32 : 0;
	int widest = 1;
	for (int i = 0; i < k->nval; i++)
		if (aj_dtypes[k->val[i].dtype].size > widest)
			widest = aj_dtypes[k->val[i].dtype].size;
	for (int o = 0; o < k->nop; o++)
		if (aj_dtypes[k->op_dtype[o]].size > widest)
			widest = aj_dtypes[k->op_dtype[o]].size;
	return bytes ? bytes / widest : 1;
}

static void set_host_attrs(emitter *E)
{
	char *cpu = LLVMGetHostCPUName(), *feat = LLVMGetHostCPUFeatures();
	LLVMAddTargetDependentFunctionAttr(E->fn, "target-cpu", cpu);
	LLVMAddTargetDependentFunctionAttr(E->fn, "target-features", feat);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(feat);
	add_fn_attr(E, E->fn, "nounwind", 0);
}

static void emit_function(emitter *E, const char *name)
{
	const aj_kdesc *k = E->k;
	LLVMTypeRef params[6] = {E->ptr, E->ptr, E->ptr, E->ptr, E->i64, E->i64};
	LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(E->C), params, 6, 0);
	E->fn = LLVMAddFunction(E->M, name, fty);
	set_host_attrs(E);
	E->a_ptr = LLVMGetParam(E->fn, 0);
	E->a_shape = LLVMGetParam(E->fn, 1);
	E->a_strides = LLVMGetParam(E->fn, 2);
	E->a_scalars = LLVMGetParam(E->fn, 3);
	E->a_lo = LLVMGetParam(E->fn, 4);
	E->a_hi = LLVMGetParam(E->fn, 5);
	LLVMPositionBuilderAtEnd(E->B, LLVMAppendBasicBlockInContext(E->C, E->fn, "entry"));
	LLVMValueRef *base = E->base;
	for (int d = 0; d < k->ndim; d++)
		E->shape[d] = load_i64(E, E->a_shape, d);
	for (int s = 0; s < k->nop * k->ndim; s++)
		E->stride[s] = load_i64(E, E->a_strides, s);
	for (int o = 0; o < k->nop; o++) {
		LLVMValueRef i = LLVMConstInt(E->i64, (unsigned long long)o, 0);
		LLVMValueRef p = LLVMBuildGEP2(E->B, E->ptr, E->a_ptr, &i, 1, "");
		base[o] = LLVMBuildLoad2(E->B, E->ptr, p, "base");
		/* loop 0 starts at lo */
		LLVMValueRef off = LLVMBuildMul(E->B, E->a_lo, E->stride[o * k->ndim], "");
		if (k->ndim > 1)
			base[o] = LLVMBuildGEP2(E->B, E->i8, base[o], &off, 1, "");
	}
	if (k->ndim > 1) { /* the outer loop now runs over [0, hi - lo) */
		E->a_hi = LLVMBuildSub(E->B, E->a_hi, E->a_lo, "");
		E->a_lo = LLVMConstInt(E->i64, 0, 0);
	}
	fill_invariant(E);
	emit_nest(E, 0, base, E->cur);
	LLVMBuildRetVoid(E->B);
}

aj_status aj_emit_kernel(LLVMContextRef c, const aj_kdesc *k, const char *name,
			 LLVMModuleRef *out, char *err, size_t errlen)
{
	emitter E = {.C = c, .k = k};
	E.M = LLVMModuleCreateWithNameInContext(name, c);
	E.B = LLVMCreateBuilderInContext(c);
	E.i1 = LLVMInt1TypeInContext(c);
	E.i8 = LLVMInt8TypeInContext(c);
	E.i32 = LLVMInt32TypeInContext(c);
	E.i64 = LLVMInt64TypeInContext(c);
	E.f32 = LLVMFloatTypeInContext(c);
	E.f64 = LLVMDoubleTypeInContext(c);
	E.ptr = LLVMPointerTypeInContext(c, 0);
	E.lanes = pick_lanes(k);
	/* per-value tables on the heap: expressions may have many thousands */
	size_t nv = (size_t)k->nval, ns = (size_t)(k->nop * k->ndim);
	E.shape = aj_calloc((size_t)k->ndim, sizeof *E.shape);
	E.stride = aj_calloc(ns, sizeof *E.stride);
	E.hoisted = aj_calloc(nv, sizeof *E.hoisted);
	E.cur = aj_calloc(nv, sizeof *E.cur);
	E.base = aj_calloc((size_t)k->nop, sizeof *E.base);
	E.inv = aj_calloc(nv, sizeof *E.inv);
	bool ok = E.shape && E.stride && E.hoisted && E.cur && E.base && E.inv;
	if (ok)
		emit_function(&E, name);
	aj_free(E.shape);
	aj_free(E.stride);
	aj_free(E.hoisted);
	aj_free(E.cur);
	aj_free(E.base);
	aj_free(E.inv);
	LLVMDisposeBuilder(E.B);
	if (!ok) {
		snprintf(err, errlen, "out of memory");
		LLVMDisposeModule(E.M);
		return AJ_ERR_NOMEM;
	}
	char *msg = NULL;
	if (LLVMVerifyModule(E.M, LLVMReturnStatusAction, &msg)) {
		snprintf(err, errlen, "generated IR does not verify: %s", msg);
		LLVMDisposeMessage(msg);
		LLVMDisposeModule(E.M);
		return AJ_ERR_JIT;
	}
	LLVMDisposeMessage(msg);
	*out = E.M;
	return AJ_OK;
}
