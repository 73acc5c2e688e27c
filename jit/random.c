/*
 * Random numbers in the kernel (arrjit.h, aj_random): Philox4x32-10 (Salmon,
 * Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3",
 * SC11; the Random123 reference) of each element's counter, and the
 * distributions made from its four 32-bit words, as IR of any width.
 *
 * The words live in 64-bit lanes (one element per lane, as the position
 * that feeds them): each 32 x 32 -> 64-bit product is a zext of the low
 * word and a mul, which x86 selects as one vpmuludq, and the product's two
 * halves are the next words without any shuffle (philox_round). The key
 * schedule is the same for every element, so LLVM hoists it out of the
 * loop: with AVX-512 a uniform value costs about 7.5 instructions.
 *
 * Normal values call SLEEF's log and cos at the kernel's vector width even
 * for a single element (the scalar tail, strided loops, hoisted values):
 * SLEEF's scalar functions round differently for about 1 value in 3000,
 * and a value must not depend on the path that computed it.
 */
#include "core.h"
#include "emit.h"

#include <math.h>

/* Philox4x32's multipliers and Weyl key increments (Random123). */
#define PHILOX_M0 INT64_C(0xD2511F53)
#define PHILOX_M1 INT64_C(0xCD9E8D57)
#define PHILOX_W0 INT64_C(0x9E3779B9)
#define PHILOX_W1 INT64_C(0xBB67AE85)
#define PHILOX_ROUNDS 10

static LLVMTypeRef lanes_type(LLVMTypeRef elem, int w)
{
	return w == 1 ? elem : LLVMVectorType(elem, (unsigned)w);
}

static LLVMValueRef low32(aj_emitter *E, LLVMValueRef x, int w)
{
	return LLVMBuildTrunc(E->B, x, lanes_type(E->i32, w), "");
}

static LLVMValueRef shr32(aj_emitter *E, LLVMValueRef x, int w)
{
	return LLVMBuildLShr(E->B, x, aj_ir_const_int(E->i64, 32, w), "");
}

/* lo | hi << 32 in 64-bit lanes. */
static LLVMValueRef join64(aj_emitter *E, LLVMValueRef lo, LLVMValueRef hi, int w)
{
	LLVMTypeRef t = lanes_type(E->i64, w);
	LLVMValueRef h = LLVMBuildShl(E->B, LLVMBuildZExt(E->B, hi, t, ""),
				      aj_ir_const_int(E->i64, 32, w), "");
	return LLVMBuildOr(E->B, LLVMBuildZExt(E->B, lo, t, ""), h, "");
}

/* The 64-bit product of the low word of x's lanes and constant m: zext of
 * the word and a mul, which is vpmuludq. */
static LLVMValueRef mul_wide(aj_emitter *E, LLVMValueRef x, int64_t m, int w)
{
	LLVMValueRef lo = LLVMBuildZExt(E->B, low32(E, x, w), lanes_type(E->i64, w), "");
	return LLVMBuildMul(E->B, lo, aj_ir_const_int(E->i64, m, w), "");
}

static LLVMValueRef xor3(aj_emitter *E, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
	return LLVMBuildXor(E->B, LLVMBuildXor(E->B, a, b, ""), c, "");
}

/*
 * One Philox4x32 round of counter c under key (k0, k1), in place. Each
 * word is the low half of a 64-bit lane and its high half is left as
 * whatever it is: only products (which take the low word) and the final
 * truncation read the words, so a round is two vpmuludq, two shifts and
 * two three-way xors, with no masking or lane shuffles.
 */
static void philox_round(aj_emitter *E, LLVMValueRef *c, LLVMValueRef k0,
			 LLVMValueRef k1, int w)
{
	LLVMValueRef p0 = mul_wide(E, c[0], PHILOX_M0, w);
	LLVMValueRef p1 = mul_wide(E, c[2], PHILOX_M1, w);
	c[0] = xor3(E, shr32(E, p1, w), c[1], k0);
	c[1] = p1;
	c[2] = xor3(E, shr32(E, p0, w), c[3], k1);
	c[3] = p0;
}

/* Philox4x32-10 of counter (k, stream) with key seed, 64-bit lanes split
 * low word first: the four 32-bit words into x. */
static void philox(aj_emitter *E, LLVMValueRef k, LLVMValueRef seed,
		   LLVMValueRef stream, int w, LLVMValueRef *x)
{
	LLVMValueRef c[4] = {k, shr32(E, k, w), stream, shr32(E, stream, w)};
	LLVMValueRef k0 = seed, k1 = shr32(E, seed, w);
	for (int r = 0; r < PHILOX_ROUNDS; r++) {
		if (r > 0) { /* the low words add mod 2^32 */
			k0 = LLVMBuildAdd(E->B, k0, aj_ir_const_int(E->i64, PHILOX_W0, w), "");
			k1 = LLVMBuildAdd(E->B, k1, aj_ir_const_int(E->i64, PHILOX_W1, w), "");
		}
		philox_round(E, c, k0, k1, w);
	}
	for (int i = 0; i < 4; i++)
		x[i] = low32(E, c[i], w);
}

/*
 * (m + add) * 2^-bits as float dtype t, with m the top `bits` bits of the
 * integer lanes x (53 of 64 for float64, 24 of 32 for float32): exact, so
 * uniform in [0, 1) for add 0 and in (0, 1] for add 1.
 */
static LLVMValueRef unit(aj_emitter *E, LLVMValueRef x, aj_dtype t, int add, int w)
{
	bool f64 = t == AJ_FLOAT64;
	LLVMTypeRef it = f64 ? E->i64 : E->i32;
	int bits = f64 ? 53 : 24;
	LLVMValueRef m = LLVMBuildLShr(E->B, x, aj_ir_const_int(it, f64 ? 11 : 8, w), "");
	if (add)
		m = LLVMBuildAdd(E->B, m, aj_ir_const_int(it, add, w), "");
	LLVMTypeRef ft = aj_ir_type(E, t, w, false);
	LLVMValueRef f = LLVMBuildUIToFP(E->B, m, ft, "");
	return LLVMBuildFMul(E->B, f, aj_ir_fconst(f, ldexp(1, -bits), w), "");
}

/* SLEEF's op of x (float dtype t) at the kernel's vector width, whatever w. */
static LLVMValueRef vector_math(aj_emitter *E, aj_op op, aj_dtype t, int w,
				LLVMValueRef x)
{
	if (w > 1 || E->lanes == 1)
		return aj_emit_sleef(E, op, t, w, &x);
	LLVMValueRef v = aj_ir_splat(E, x, E->lanes);
	v = aj_emit_sleef(E, op, t, E->lanes, &v);
	return LLVMBuildExtractElement(E->B, v, LLVMConstInt(E->i32, 0, 0), "");
}

/* Box-Muller from the words x: sqrt(-2 log u1) cos(2 pi u2), u1 in (0, 1]. */
static LLVMValueRef normal(aj_emitter *E, const LLVMValueRef *x, aj_dtype t, int w)
{
	bool f64 = t == AJ_FLOAT64;
	LLVMValueRef u1 = unit(E, f64 ? join64(E, x[0], x[1], w) : x[0], t, 1, w);
	LLVMValueRef u2 = unit(E, f64 ? join64(E, x[2], x[3], w) : x[2], t, 0, w);
	LLVMValueRef lg = vector_math(E, AJ_OP_LOG, t, w, u1);
	LLVMValueRef r = aj_ir_call1(E, "llvm.sqrt",
				     LLVMBuildFMul(E->B, lg, aj_ir_fconst(lg, -2, w), ""));
	double two_pi = 2 * M_PI; /* rounded to float32 for float32 */
	LLVMValueRef a = LLVMBuildFMul(E->B, u2, aj_ir_fconst(u2, two_pi, w), "");
	return LLVMBuildFMul(E->B, r, vector_math(E, AJ_OP_COS, t, w, a), "");
}

LLVMValueRef aj_lower_random(aj_emitter *E, const aj_kval *v, int w,
			     LLVMValueRef *x)
{
	LLVMValueRef word[4];
	aj_dtype t = v->dtype;
	philox(E, x[0], x[1], x[2], w, word);
	if (v->op == AJ_OP_NORMAL)
		return normal(E, word, t, w);
	switch (t) {
	case AJ_UINT32:
		return word[0];
	case AJ_UINT64:
		return join64(E, word[0], word[1], w);
	case AJ_FLOAT32:
		return unit(E, word[0], t, 0, w);
	default:
		return unit(E, join64(E, word[0], word[1], w), t, 0, w);
	}
}
