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
 * A uniform value takes a share of a block (2 of 64 bits, 4 of 32), so
 * neighbours share a Philox: lanes of consecutive positions whose first
 * starts a block run the rounds once per block on full registers and
 * interleave the shares (emit.c widens such kernels to m registers);
 * any other lanes each compute their own block and pick their share.
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

/*
 * Uniform values per Philox block (arrjit.h): 2 of 64 bits (float64,
 * uint64), 4 of 32 (float32, uint32); a normal value takes a block of its
 * own. Element k comes from the block of counter k & -m, its share k % m.
 */
static int per_block(const aj_kval *v)
{
	if (v->op == AJ_OP_NORMAL)
		return 1;
	return aj_dtypes[v->dtype].size == 8 ? 2 : 4;
}

/* Element k's value from its block's words x, at k's share (64-bit lanes
 * k % m, m = per_block), for any lanes. */
static LLVMValueRef share(aj_emitter *E, const aj_kval *v, LLVMValueRef k,
			  LLVMValueRef *x, int m, int w)
{
	LLVMValueRef q = LLVMBuildAnd(E->B, k, aj_ir_const_int(E->i64, m - 1, w), "");
	LLVMValueRef odd = LLVMBuildTrunc(E->B, q, lanes_type(E->i1, w), "");
	if (m == 2) {
		LLVMValueRef lo = LLVMBuildSelect(E->B, odd, x[2], x[0], "");
		LLVMValueRef hi = LLVMBuildSelect(E->B, odd, x[3], x[1], "");
		LLVMValueRef bits = join64(E, lo, hi, w);
		return v->dtype == AJ_UINT64 ? bits : unit(E, bits, v->dtype, 0, w);
	}
	LLVMValueRef two = LLVMBuildICmp(E->B, LLVMIntUGE, q, aj_ir_const_int(E->i64, 2, w), "");
	LLVMValueRef word = LLVMBuildSelect(
		E->B, two, LLVMBuildSelect(E->B, odd, x[3], x[2], ""),
		LLVMBuildSelect(E->B, odd, x[1], x[0], ""), "");
	return v->dtype == AJ_UINT32 ? word : unit(E, word, v->dtype, 0, w);
}

/* Element k's value for any lanes: each computes its own block. */
static LLVMValueRef own_blocks(aj_emitter *E, const aj_kval *v, LLVMValueRef *x, int m,
			       int w)
{
	LLVMValueRef word[4];
	philox(E, LLVMBuildAnd(E->B, x[0], aj_ir_const_int(E->i64, -m, w), ""), x[1], x[2], w,
	       word);
	return share(E, v, x[0], word, m, w);
}

/*
 * The w values of lanes k0 .. k0 + w - 1, k0 a multiple of m: Philox of
 * w / m blocks, whose shares interleave into the lanes (lane m j + q is
 * share q of block j), so each block costs one Philox instead of m.
 */
static LLVMValueRef consecutive_shares(aj_emitter *E, const aj_kval *v,
				       LLVMValueRef k0, LLVMValueRef *x, int m, int w)
{
	int nb = w / m;
	LLVMValueRef step[64], mask[64], word[4];
	for (int j = 0; j < nb; j++)
		step[j] = LLVMConstInt(E->i64, (unsigned long long)(m * j), 0);
	LLVMValueRef ctr = LLVMBuildAdd(E->B, aj_ir_splat(E, k0, nb),
					LLVMConstVector(step, (unsigned)nb), "");
	philox(E, ctr, aj_ir_lanes(E, x[1], 0, nb), aj_ir_lanes(E, x[2], 0, nb), nb, word);
	for (int l = 0; l < w; l++)
		mask[l] = LLVMConstInt(E->i32, (unsigned long long)(l % m * nb + l / m), 0);
	LLVMValueRef all;
	if (m == 2) {
		LLVMValueRef a = join64(E, word[0], word[1], nb);
		LLVMValueRef b = join64(E, word[2], word[3], nb);
		all = LLVMBuildShuffleVector(E->B, a, b, LLVMConstVector(mask, (unsigned)w), "");
	} else {
		LLVMValueRef cat[2 * 16];
		for (int l = 0; l < 2 * nb; l++)
			cat[l] = LLVMConstInt(E->i32, (unsigned long long)l, 0);
		LLVMValueRef c = LLVMConstVector(cat, (unsigned)(2 * nb));
		LLVMValueRef a = LLVMBuildShuffleVector(E->B, word[0], word[1], c, "");
		LLVMValueRef b = LLVMBuildShuffleVector(E->B, word[2], word[3], c, "");
		all = LLVMBuildShuffleVector(E->B, a, b, LLVMConstVector(mask, (unsigned)w), "");
	}
	bool raw = v->dtype == AJ_UINT32 || v->dtype == AJ_UINT64;
	return raw ? all : unit(E, all, v->dtype, 0, w);
}

/* Whether positions value p gives consecutive ascending lanes: an index
 * operand addressed CONTIG, or one plus an invariant (a leaf's first). */
static bool ascending(const aj_emitter *E, uint32_t p)
{
	const aj_kval *v = &E->k->val[p];
	if (v->op == AJ_OP_ADD && E->inv[v->arg[1]] && !E->inv[v->arg[0]])
		v = &E->k->val[p = v->arg[0]];
	return v->op == AJ_OP_INDEX && !E->inv[p] && E->cls[v->arg[0]] == AJ_SC_CONTIG;
}

/*
 * A uniform value of consecutive lanes: when the first lane starts a
 * block (always, for rows of even length from an aligned start), the
 * blocks' shares interleave; otherwise each lane takes its own block.
 */
static LLVMValueRef uniform_lanes(aj_emitter *E, const aj_kval *v, LLVMValueRef *x,
				  int m, int w)
{
	LLVMValueRef k0 = LLVMBuildExtractElement(E->B, x[0], LLVMConstInt(E->i32, 0, 0), "k0");
	LLVMValueRef aligned = LLVMBuildICmp(
		E->B, LLVMIntEQ, LLVMBuildAnd(E->B, k0, LLVMConstInt(E->i64, (unsigned)m - 1, 0), ""),
		LLVMConstInt(E->i64, 0, 0), "");
	LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(E->C, E->fn, "blocks");
	LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(E->C, E->fn, "lanes");
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(E->C, E->fn, "drawn");
	LLVMBuildCondBr(E->B, aligned, fast, slow);
	LLVMPositionBuilderAtEnd(E->B, fast);
	LLVMValueRef a = consecutive_shares(E, v, k0, x, m, w);
	LLVMBasicBlockRef from_fast = LLVMGetInsertBlock(E->B);
	LLVMBuildBr(E->B, join);
	LLVMPositionBuilderAtEnd(E->B, slow);
	LLVMValueRef b = own_blocks(E, v, x, m, w);
	LLVMBasicBlockRef from_slow = LLVMGetInsertBlock(E->B);
	LLVMBuildBr(E->B, join);
	LLVMPositionBuilderAtEnd(E->B, join);
	return aj_ir_phi2(E, a, from_fast, b, from_slow, "draw");
}

LLVMValueRef aj_lower_random(aj_emitter *E, const aj_kval *v, int w,
			     LLVMValueRef *x)
{
	LLVMValueRef word[4];
	int m = per_block(v);
	if (v->op == AJ_OP_NORMAL) {
		philox(E, x[0], x[1], x[2], w, word);
		return normal(E, word, v->dtype, w);
	}
	if (w >= 2 * m && w % m == 0 && ascending(E, v->arg[0]))
		return uniform_lanes(E, v, x, m, w);
	return own_blocks(E, v, x, m, w);
}
