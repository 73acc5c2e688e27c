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
 *   and a scalar tail the rest; an elementwise kernel with operands of
 *   other strides copies blocks of them through stack buffers around that
 *   body (emit_buffered) when it has work enough to pay for the copies; a
 *   reduction gathers them lane by lane when it calls vector math
 *   (vectorizable);
 * - otherwise a scalar loop reads each operand with its runtime stride.
 * - a kernel storing output 0 non-temporally (k->nt, kernel.h) peels a
 *   scalar head up to output 0's first cache line boundary, so that the
 *   vector body's stores are aligned movnt of whole lines, and ends with
 *   an sfence (emit_nt_inner).
 *
 * A tiled kernel (sched.c rule 6: an input read transposed) runs its two
 * innermost loops together instead, in tiles of blocks transposed in
 * registers (jit/tile.c).
 *
 * A compress kernel (kernel.h) stores output 0 at a running pointer, kept
 * in an alloca: the vector body with llvm.masked.compressstore (AVX-512's
 * vcompress; LLVM scalarises it for AVX2), advancing by the popcount of
 * the mask's lanes, the tail with a branch per element. A mask invariant
 * along the inner loop keeps or skips whole vectors, stored plainly.
 *
 * The same aj_emitter produces vector and scalar code: LLVM instructions are
 * polymorphic in their type, so each op is written once for any width.
 * Registers hold bools as i1; memory holds them as i8 (0 or 1; any nonzero
 * byte reads as true).
 */
#include "alloc.h"
#include "core.h"
#include "emit.h"

#include <llvm-c/Analysis.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- types and small helpers ---- */

static LLVMTypeRef cx_type(aj_emitter *E, LLVMTypeRef part)
{
	LLVMTypeRef parts[2] = {part, part};
	return LLVMStructTypeInContext(E->C, parts, 2, 0);
}

LLVMTypeRef aj_ir_elem(aj_emitter *E, aj_dtype t, bool memory)
{
	if (aj_is_complex(t))
		return cx_type(E, aj_ir_elem(E, aj_part_dtype(t), memory));
	if (t == AJ_BOOL)
		return memory ? E->i8 : E->i1;
	if (t == AJ_FLOAT32)
		return E->f32;
	if (t == AJ_FLOAT64)
		return E->f64;
	return LLVMIntTypeInContext(E->C, (unsigned)aj_dtypes[t].size * 8);
}

LLVMTypeRef aj_ir_type(aj_emitter *E, aj_dtype t, int w, bool memory)
{
	if (aj_is_complex(t) && w > 1)
		return cx_type(E, aj_ir_type(E, aj_part_dtype(t), w, memory));
	LLVMTypeRef e = aj_ir_elem(E, t, memory);
	return w == 1 ? e : LLVMVectorType(e, (unsigned)w);
}

LLVMValueRef aj_cx(aj_emitter *E, LLVMValueRef re, LLVMValueRef im)
{
	LLVMValueRef z = LLVMGetPoison(cx_type(E, LLVMTypeOf(re)));
	z = LLVMBuildInsertValue(E->B, z, re, 0, "");
	return LLVMBuildInsertValue(E->B, z, im, 1, "");
}

LLVMValueRef aj_cx_re(aj_emitter *E, LLVMValueRef z)
{
	return LLVMBuildExtractValue(E->B, z, 0, "re");
}

LLVMValueRef aj_cx_im(aj_emitter *E, LLVMValueRef z)
{
	return LLVMBuildExtractValue(E->B, z, 1, "im");
}

LLVMValueRef aj_ir_lane0(aj_emitter *E, LLVMValueRef v)
{
	if (aj_ir_is_cx(v))
		return aj_cx(E, aj_ir_lane0(E, aj_cx_re(E, v)), aj_ir_lane0(E, aj_cx_im(E, v)));
	if (LLVMGetTypeKind(LLVMTypeOf(v)) != LLVMVectorTypeKind)
		return v;
	return LLVMBuildExtractElement(E->B, v, LLVMConstInt(E->i32, 0, 0), "");
}

bool aj_ir_is_cx(LLVMValueRef v)
{
	return LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMStructTypeKind;
}

LLVMValueRef aj_ir_select(aj_emitter *E, LLVMValueRef c, LLVMValueRef a,
			  LLVMValueRef b)
{
	if (!aj_ir_is_cx(a))
		return LLVMBuildSelect(E->B, c, a, b, "");
	return aj_cx(E, LLVMBuildSelect(E->B, c, aj_cx_re(E, a), aj_cx_re(E, b), ""),
		     LLVMBuildSelect(E->B, c, aj_cx_im(E, a), aj_cx_im(E, b), ""));
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

LLVMValueRef aj_ir_const_int(LLVMTypeRef t, int64_t v, int w)
{
	return const_lanes(LLVMConstInt(t, (unsigned long long)v, 1), w);
}

LLVMValueRef aj_ir_const_real(LLVMTypeRef t, double v, int w)
{
	return const_lanes(LLVMConstReal(t, v), w);
}

LLVMValueRef aj_ir_splat(aj_emitter *E, LLVMValueRef x, int w)
{
	if (w == 1)
		return x;
	if (aj_ir_is_cx(x))
		return aj_cx(E, aj_ir_splat(E, aj_cx_re(E, x), w),
			     aj_ir_splat(E, aj_cx_im(E, x), w));
	LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)w);
	LLVMValueRef v = LLVMBuildInsertElement(
		E->B, LLVMGetPoison(vt), x, LLVMConstInt(E->i32, 0, 0), "");
	return LLVMBuildShuffleVector(E->B, v, LLVMGetPoison(vt),
				      LLVMConstNull(LLVMVectorType(E->i32, (unsigned)w)),
				      "splat");
}

static LLVMValueRef load_i64(aj_emitter *E, LLVMValueRef base, int idx)
{
	LLVMValueRef i = LLVMConstInt(E->i64, (unsigned long long)idx, 0);
	LLVMValueRef p = LLVMBuildGEP2(E->B, E->i64, base, &i, 1, "");
	return LLVMBuildLoad2(E->B, E->i64, p, "");
}

void aj_ir_fn_attr(aj_emitter *E, LLVMValueRef f, const char *name, uint64_t v)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
	LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
				LLVMCreateEnumAttribute(E->C, kind, v));
}

LLVMValueRef aj_ir_declare(aj_emitter *E, const char *name, LLVMTypeRef ret,
			   LLVMTypeRef *params, int n, LLVMTypeRef *fty)
{
	*fty = LLVMFunctionType(ret, params, (unsigned)n, 0);
	LLVMValueRef f = LLVMGetNamedFunction(E->M, name);
	if (!f)
		f = LLVMAddFunction(E->M, name, *fty);
	return f;
}

void aj_ir_mark_pure(aj_emitter *E, LLVMValueRef f)
{
	aj_ir_fn_attr(E, f, "nounwind", 0);
	aj_ir_fn_attr(E, f, "willreturn", 0);
	aj_ir_fn_attr(E, f, "memory", 0);
}

/* ---- loops ---- */

/* for (i = start; i < end; i += step): leaves the builder in the body. */
void aj_loop_begin(aj_emitter *E, aj_loop *L, LLVMValueRef start,
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

void aj_loop_end(aj_emitter *E, aj_loop *L, int64_t step)
{
	LLVMValueRef next = LLVMBuildAdd(E->B, L->i,
					 LLVMConstInt(E->i64, (unsigned long long)step, 0),
					 "next");
	LLVMBasicBlockRef latch = LLVMGetInsertBlock(E->B);
	LLVMAddIncoming(L->i, &next, &latch, 1);
	LLVMBuildBr(E->B, L->head);
	LLVMPositionBuilderAtEnd(E->B, L->exit);
}
/* ---- memory ---- */

/* Lanes 0, 2, 4, ... (odd: 1, 3, 5, ...) of a 2w-lane vector. */
static LLVMValueRef deinterleave(aj_emitter *E, LLVMValueRef v, int w, int odd)
{
	LLVMValueRef idx[64];
	for (int i = 0; i < w; i++)
		idx[i] = LLVMConstInt(E->i32, (unsigned long long)(2 * i + odd), 0);
	return LLVMBuildShuffleVector(E->B, v, LLVMGetPoison(LLVMTypeOf(v)),
				      LLVMConstVector(idx, (unsigned)w), "");
}

static LLVMValueRef interleave(aj_emitter *E, LLVMValueRef re, LLVMValueRef im, int w)
{
	LLVMValueRef idx[128];
	for (int i = 0; i < 2 * w; i++)
		idx[i] = LLVMConstInt(E->i32, (unsigned long long)(i / 2 + (i % 2) * w), 0);
	return LLVMBuildShuffleVector(E->B, re, im, LLVMConstVector(idx, (unsigned)(2 * w)), "");
}

/* Address of the imaginary part of the complex at p. */
static LLVMValueRef im_addr(aj_emitter *E, aj_dtype t, LLVMValueRef p)
{
	LLVMValueRef half = LLVMConstInt(E->i64, (unsigned long long)aj_dtypes[t].size / 2, 0);
	return LLVMBuildGEP2(E->B, E->i8, p, &half, 1, "");
}

static LLVMValueRef load_part(aj_emitter *E, LLVMTypeRef t, LLVMValueRef p)
{
	LLVMValueRef v = LLVMBuildLoad2(E->B, t, p, "");
	LLVMSetAlignment(v, 1);
	return v;
}

/* w complex values from p: re, im interleaved in memory. */
static LLVMValueRef load_complex(aj_emitter *E, aj_dtype t, int w, LLVMValueRef p)
{
	LLVMTypeRef part = aj_ir_elem(E, aj_part_dtype(t), true);
	if (w == 1)
		return aj_cx(E, load_part(E, part, p), load_part(E, part, im_addr(E, t, p)));
	LLVMValueRef v = load_part(E, LLVMVectorType(part, (unsigned)(2 * w)), p);
	return aj_cx(E, deinterleave(E, v, w, 0), deinterleave(E, v, w, 1));
}

static void store_complex(aj_emitter *E, aj_dtype t, LLVMValueRef z,
			  LLVMValueRef p, int w)
{
	LLVMValueRef re = aj_cx_re(E, z), im = aj_cx_im(E, z);
	if (w == 1) {
		LLVMSetAlignment(LLVMBuildStore(E->B, re, p), 1);
		LLVMSetAlignment(LLVMBuildStore(E->B, im, im_addr(E, t, p)), 1);
		return;
	}
	LLVMSetAlignment(LLVMBuildStore(E->B, interleave(E, re, im, w), p), 1);
}

LLVMValueRef aj_load_elem(aj_emitter *E, aj_dtype t, int w, LLVMValueRef p)
{
	if (aj_is_complex(t))
		return load_complex(E, t, w, p);
	LLVMValueRef v = LLVMBuildLoad2(E->B, aj_ir_type(E, t, w, true), p, "");
	LLVMSetAlignment(v, 1); /* NumPy allows unaligned arrays */
	if (t == AJ_BOOL)
		v = LLVMBuildICmp(E->B, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
	return v;
}

static void store_elem(aj_emitter *E, aj_dtype t, LLVMValueRef v, LLVMValueRef p,
		       int w)
{
	if (aj_is_complex(t)) {
		store_complex(E, t, v, p, w);
		return;
	}
	if (t == AJ_BOOL)
		v = LLVMBuildZExt(E->B, v, aj_ir_type(E, t, w, true), "");
	LLVMSetAlignment(LLVMBuildStore(E->B, v, p), 1);
}

/* A scalar parameter; a complex one has its parts in two slots. */
static LLVMValueRef scalar_slot(aj_emitter *E, const aj_kval *v)
{
	LLVMValueRef i = LLVMConstInt(E->i64, 8 * (unsigned long long)v->arg[0], 0);
	LLVMValueRef p = LLVMBuildGEP2(E->B, E->i8, E->a_scalars, &i, 1, "");
	if (!aj_is_complex(v->dtype))
		return aj_load_elem(E, v->dtype, 1, p);
	LLVMTypeRef part = aj_ir_elem(E, aj_part_dtype(v->dtype), false);
	LLVMValueRef eight = LLVMConstInt(E->i64, 8, 0);
	return aj_cx(E, load_part(E, part, p),
		     load_part(E, part, LLVMBuildGEP2(E->B, E->i8, p, &eight, 1, "")));
}

/* Address of element i of operand o in the inner loop; of the lowest of
 * elements i .. i + w - 1 for a vector of w. */
static LLVMValueRef vec_addr(aj_emitter *E, int o, LLVMValueRef base,
			     LLVMValueRef i, int w)
{
	const aj_kdesc *k = E->k;
	LLVMTypeRef et = aj_ir_elem(E, k->op_dtype[o], true);
	if (E->cls[o] == AJ_SC_CONTIG)
		return LLVMBuildGEP2(E->B, et, base, &i, 1, "");
	if (E->cls[o] == AJ_SC_RCONTIG) {
		LLVMValueRef last = LLVMBuildAdd(E->B, i, LLVMConstInt(E->i64,
					(unsigned long long)(w - 1), 0), "");
		LLVMValueRef neg = LLVMBuildNeg(E->B, last, "");
		return LLVMBuildGEP2(E->B, et, base, &neg, 1, "");
	}
	LLVMValueRef off = LLVMBuildMul(E->B, i, E->stride[o * k->ndim + k->ndim - 1], "");
	return LLVMBuildGEP2(E->B, E->i8, base, &off, 1, "");
}

static LLVMValueRef elem_addr(aj_emitter *E, int o, LLVMValueRef base,
			      LLVMValueRef i)
{
	return vec_addr(E, o, base, i, 1);
}

/* v's w lanes in reverse order (each part of a complex). */
static LLVMValueRef reverse_lanes(aj_emitter *E, LLVMValueRef v, int w)
{
	if (w == 1)
		return v;
	if (LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMStructTypeKind)
		return aj_cx(E, reverse_lanes(E, aj_cx_re(E, v), w),
			     reverse_lanes(E, aj_cx_im(E, v), w));
	LLVMValueRef mask[64];
	for (int l = 0; l < w; l++)
		mask[l] = LLVMConstInt(E->i32, (unsigned long long)(w - 1 - l), 0);
	return LLVMBuildShuffleVector(E->B, v, LLVMGetPoison(LLVMTypeOf(v)),
				      LLVMConstVector(mask, (unsigned)w), "rev");
}

static LLVMValueRef gather_lanes(aj_emitter *E, aj_dtype t, LLVMValueRef p, int w);
static void scatter_lanes(aj_emitter *E, aj_dtype t, LLVMValueRef v, LLVMValueRef p,
			  int w);

/* Lane l's byte offset from operand o's element at hand, w lanes on: l
 * inner strides (a runtime value). */
static LLVMValueRef lane_offsets(aj_emitter *E, int o, int w)
{
	LLVMValueRef iota[64];
	for (int l = 0; l < w; l++)
		iota[l] = LLVMConstInt(E->i64, (unsigned long long)l, 0);
	LLVMValueRef s = E->stride[o * E->k->ndim + E->k->ndim - 1];
	return LLVMBuildMul(E->B, aj_ir_splat(E, s, w), LLVMConstVector(iota, (unsigned)w), "");
}

/* The addresses (<w x ptr>) of elements i .. i + w - 1 of an operand of
 * class ANY: gathered and scattered lane by lane. */
static LLVMValueRef lane_addrs(aj_emitter *E, int o, LLVMValueRef base,
			       LLVMValueRef i, int w)
{
	LLVMValueRef off = lane_offsets(E, o, w);
	return LLVMBuildGEP2(E->B, E->i8, vec_addr(E, o, base, i, 1), &off, 1, "lanes");
}

/* An emission-only stride class (emit_pairs): ANY whose stride is 2
 * elements at run time, a vector of which is the even lanes of one of
 * twice its width. */
enum { SC_PAIR = AJ_SC_RCONTIG + 1 };

/* Elements i .. i + w - 1 of operand o, as dtype t (its own, or a
 * reduction's accumulator). */
static LLVMValueRef load_op(aj_emitter *E, int o, aj_dtype t, LLVMValueRef base,
			    LLVMValueRef i, int w)
{
	if (w > 1 && E->cls[o] == SC_PAIR) {
		LLVMValueRef even[64], v = aj_load_elem(E, t, 2 * w, vec_addr(E, o, base, i, 1));
		for (int l = 0; l < w; l++)
			even[l] = LLVMConstInt(E->i32, (unsigned long long)(2 * l), 0);
		return LLVMBuildShuffleVector(E->B, v, LLVMGetUndef(LLVMTypeOf(v)),
					      LLVMConstVector(even, (unsigned)w), "");
	}
	if (w > 1 && E->cls[o] == AJ_SC_ANY)
		return gather_lanes(E, t, lane_addrs(E, o, base, i, w), w);
	LLVMValueRef v = aj_load_elem(E, t, w, vec_addr(E, o, base, i, w));
	return E->cls[o] == AJ_SC_RCONTIG ? reverse_lanes(E, v, w) : v;
}

/* The bytes of a vector store of w elements of output o if it may be
 * nontemporal (tile.c): a plain vector of 16 bytes or more (not a
 * complex's interleaved parts, not bools widened from i1); else 0. */
int aj_nt_bytes(const aj_kdesc *k, int o, int w)
{
	aj_dtype t = (aj_dtype)k->op_dtype[o];
	int bytes = w * (int)aj_dtypes[t].size;
	return o < k->nout && !aj_is_complex(t) && t != AJ_BOOL && bytes >= 16
		       ? bytes
		       : 0;
}

enum { LINE = 64 }; /* bytes of a cache line */

/* Stores vector v at p, aligned to bytes, past the caches. */
static void store_nt(aj_emitter *E, LLVMValueRef v, LLVMValueRef p, int bytes)
{
	LLVMValueRef st = LLVMBuildStore(E->B, v, p);
	LLVMSetAlignment(st, (unsigned)bytes);
	LLVMMetadataRef one = LLVMValueAsMetadata(LLVMConstInt(E->i32, 1, 0));
	unsigned kind = LLVMGetMDKindIDInContext(E->C, "nontemporal", 11);
	LLVMMetadataRef node = LLVMMDNodeInContext2(E->C, &one, 1);
	LLVMSetMetadata(st, kind, LLVMMetadataAsValue(E->C, node));
}

static void store_op(aj_emitter *E, int o, LLVMValueRef v, LLVMValueRef base,
		     LLVMValueRef i, int w)
{
	aj_dtype t = E->k->op_dtype[o];
	int nt = w > 1 && E->tile_nt ? aj_nt_bytes(E->k, o, w) : 0;
	if (nt) {
		store_nt(E, v, vec_addr(E, o, base, i, w), nt);
		return;
	}
	if (w > 1 && E->cls[o] == AJ_SC_ANY) {
		scatter_lanes(E, t, v, lane_addrs(E, o, base, i, w), w);
		return;
	}
	if (E->cls[o] == AJ_SC_RCONTIG)
		v = reverse_lanes(E, v, w);
	if (o == 0 && w > 1 && E->nt_body) /* aligned to a line, not more */
		store_nt(E, v, vec_addr(E, o, base, i, w),
			 w * (int)aj_dtypes[t].size < LINE ? w * (int)aj_dtypes[t].size : LINE);
	else
		store_elem(E, t, v, vec_addr(E, o, base, i, w), w);
}

/* Marks the values invariant along the inner loop. */
static void fill_invariant(aj_emitter *E)
{
	const aj_kdesc *k = E->k;
	for (int i = 0; i < k->nval; i++) {
		const aj_kval *v = &k->val[i];
		if (v->op == AJ_OP_SCALAR) {
			E->inv[i] = true;
		} else if (v->op == AJ_OP_ARRAY || v->op == AJ_OP_INDEX) {
			E->inv[i] = k->op_class[v->arg[0]] == AJ_SC_ZERO;
		} else if (v->op == AJ_OP_TAKE) {
			E->inv[i] = k->op_class[v->arg[0]] == AJ_SC_ZERO &&
				    E->inv[v->arg[1]];
		} else {
			E->inv[i] = true;
			for (int j = 0; j < aj_kval_nin(v); j++)
				E->inv[i] = E->inv[i] && E->inv[v->arg[j]];
		}
	}
}

/* The position an index operand's address p stands for (kernel.h). */
static LLVMValueRef index_at(aj_emitter *E, LLVMValueRef p)
{
	return LLVMBuildSub(E->B, LLVMBuildPtrToInt(E->B, p, E->i64, ""),
			    LLVMConstInt(E->i64, AJ_INDEX_BIAS, 0), "pos");
}

/* Positions of w elements from i of index operand o: consecutive when it
 * is CONTIG, descending when RCONTIG (the vector body needs one of those
 * or ZERO, which is hoisted). */
static LLVMValueRef index_values(aj_emitter *E, int o, LLVMValueRef base,
				 LLVMValueRef i, int w)
{
	LLVMValueRef first = index_at(E, elem_addr(E, o, base, i));
	if (w == 1)
		return first;
	LLVMValueRef iota[64];
	bool down = E->cls[o] == AJ_SC_RCONTIG;
	for (int l = 0; l < w; l++)
		iota[l] = LLVMConstInt(E->i64, (unsigned long long)(down ? -l : l), 1);
	return LLVMBuildAdd(E->B, aj_ir_splat(E, first, w),
			    LLVMConstVector(iota, (unsigned)w), "");
}

/* ---- gathers ---- */

/* Address p displaced by byte offset off (a scalar). */
static LLVMValueRef displaced(aj_emitter *E, LLVMValueRef p, LLVMValueRef off)
{
	return LLVMBuildGEP2(E->B, E->i8, p, &off, 1, "");
}

/* w elements of dtype t from the lane addresses p (<w x ptr>): one masked
 * gather per part, every lane on; x86 has no alignment needs for it. */
static LLVMValueRef gather_lanes(aj_emitter *E, aj_dtype t, LLVMValueRef p,
				 int w)
{
	if (aj_is_complex(t)) {
		LLVMValueRef half = aj_ir_const_int(E->i64, aj_dtypes[t].size / 2, w);
		LLVMValueRef pim = LLVMBuildGEP2(E->B, E->i8, p, &half, 1, "");
		aj_dtype part = aj_part_dtype(t);
		return aj_cx(E, gather_lanes(E, part, p, w), gather_lanes(E, part, pim, w));
	}
	LLVMTypeRef vt = aj_ir_type(E, t, w, true);
	LLVMTypeRef over[2] = {vt, LLVMTypeOf(p)};
	unsigned id = LLVMLookupIntrinsicID("llvm.masked.gather", 18);
	LLVMValueRef args[4] = {p, LLVMConstInt(E->i32, 1, 0),
				aj_ir_const_int(E->i1, 1, w), LLVMGetPoison(vt)};
	LLVMValueRef v = LLVMBuildCall2(E->B, LLVMIntrinsicGetType(E->C, id, over, 2),
					LLVMGetIntrinsicDeclaration(E->M, id, over, 2),
					args, 4, "gather");
	if (t == AJ_BOOL)
		v = LLVMBuildICmp(E->B, LLVMIntNE, v, LLVMConstNull(vt), "");
	return v;
}

/* Stores w elements of dtype t to the lane addresses p (<w x ptr>): one
 * masked scatter per part, every lane on. */
static void scatter_lanes(aj_emitter *E, aj_dtype t, LLVMValueRef v, LLVMValueRef p,
			  int w)
{
	if (aj_is_complex(t)) {
		LLVMValueRef half = aj_ir_const_int(E->i64, aj_dtypes[t].size / 2, w);
		LLVMValueRef pim = LLVMBuildGEP2(E->B, E->i8, p, &half, 1, "");
		aj_dtype part = aj_part_dtype(t);
		scatter_lanes(E, part, aj_cx_re(E, v), p, w);
		scatter_lanes(E, part, aj_cx_im(E, v), pim, w);
		return;
	}
	LLVMTypeRef vt = aj_ir_type(E, t, w, true);
	if (t == AJ_BOOL)
		v = LLVMBuildZExt(E->B, v, vt, "");
	LLVMTypeRef over[2] = {vt, LLVMTypeOf(p)};
	unsigned id = LLVMLookupIntrinsicID("llvm.masked.scatter", 19);
	LLVMValueRef args[4] = {v, p, LLVMConstInt(E->i32, 1, 0), aj_ir_const_int(E->i1, 1, w)};
	LLVMBuildCall2(E->B, LLVMIntrinsicGetType(E->C, id, over, 2),
		       LLVMGetIntrinsicDeclaration(E->M, id, over, 2), args, 4, "");
}

/*
 * A take's w elements from inner index i (kernel.h): where operand o's
 * elements are, each displaced by its byte offset. One offset for all
 * lanes (an invariant one, or w == 1) is one displaced load, contiguous
 * when o is; otherwise each lane has its address and they are gathered.
 */
static LLVMValueRef take_values(aj_emitter *E, const aj_kval *v,
				LLVMValueRef base, LLVMValueRef i, int w)
{
	int o = (int)v->arg[0];
	bool down = E->cls[o] == AJ_SC_RCONTIG;
	if (w == 1 || E->inv[v->arg[1]]) { /* a vector load, as load_op's */
		LLVMValueRef off = w == 1 ? E->cur[v->arg[1]] : E->hoisted[v->arg[1]];
		LLVMValueRef x = aj_load_elem(E, v->dtype, w,
					   displaced(E, vec_addr(E, o, base, i, w), off));
		return down ? reverse_lanes(E, x, w) : x;
	}
	LLVMValueRef at = elem_addr(E, o, base, i);
	LLVMValueRef off = E->cur[v->arg[1]];
	if (E->cls[o] == AJ_SC_CONTIG || down) { /* lane l: l elements
							    on, or back */
		LLVMValueRef step[64];
		int64_t size = aj_dtypes[v->dtype].size;
		for (int l = 0; l < w; l++)
			step[l] = LLVMConstInt(E->i64, (unsigned long long)
					       ((down ? -l : l) * size), 1);
		off = LLVMBuildAdd(E->B, off, LLVMConstVector(step, (unsigned)w), "");
	}
	LLVMValueRef lanes = LLVMBuildGEP2(E->B, E->i8, at, &off, 1, "lanes");
	return gather_lanes(E, v->dtype, lanes, w);
}

/* Computes the invariant values at width 1, in the inner preheader. */
void aj_emit_hoisted(aj_emitter *E, LLVMValueRef *base)
{
	const aj_kdesc *k = E->k;
	for (int i = 0; i < k->nval; i++) {
		const aj_kval *v = &k->val[i];
		if (!E->inv[i])
			continue;
		if (v->op == AJ_OP_SCALAR)
			E->hoisted[i] = scalar_slot(E, v);
		else if (v->op == AJ_OP_ARRAY)
			E->hoisted[i] = aj_load_elem(E, v->dtype, 1, base[v->arg[0]]);
		else if (v->op == AJ_OP_INDEX)
			E->hoisted[i] = index_at(E, base[v->arg[0]]);
		else if (v->op == AJ_OP_TAKE)
			E->hoisted[i] = aj_load_elem(E, v->dtype, 1,
						  displaced(E, base[v->arg[0]],
							    E->hoisted[v->arg[1]]));
		else {
			E->cur = E->hoisted;
			E->hoisted[i] = aj_lower(E, v, 1);
		}
	}
}

static void set_host_attrs(aj_emitter *E, LLVMValueRef fn);

/* The kernel's value at inner index i, at width w (loads and ops). */
static LLVMValueRef emit_values(aj_emitter *E, LLVMValueRef *base, LLVMValueRef i,
				int w, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	E->cur = cur;
	for (int j = 0; j < k->nval; j++) {
		const aj_kval *v = &k->val[j];
		if (E->inv[j])
			cur[j] = aj_ir_splat(E, E->hoisted[j], w);
		else if (v->op == AJ_OP_ARRAY && E->given[v->arg[0]])
			cur[j] = E->given[v->arg[0]];
		else if (v->op == AJ_OP_ARRAY)
			cur[j] = load_op(E, (int)v->arg[0], v->dtype, base[v->arg[0]], i, w);
		else if (v->op == AJ_OP_INDEX)
			cur[j] = index_values(E, (int)v->arg[0], base[v->arg[0]], i, w);
		else if (v->op == AJ_OP_TAKE)
			cur[j] = take_values(E, v, base[v->arg[0]], i, w);
		else
			cur[j] = aj_lower(E, v, w);
	}
	return cur[k->out_val[0]];
}

static bool is_arg(const aj_kdesc *k)
{
	return k->red == AJ_OP_ARGMIN || k->red == AJ_OP_ARGMAX;
}

/* argmin/argmax: (best, pos) and (v, i) combined into *best, *pos. */
static void arg_step(aj_emitter *E, LLVMValueRef *best, LLVMValueRef *pos,
		     LLVMValueRef v, LLVMValueRef i)
{
	LLVMValueRef take = aj_arg_takes(E, (aj_op)E->k->red, E->k->op_dtype[1],
					 *best, *pos, v, i);
	*best = aj_ir_select(E, take, v, *best);
	*pos = LLVMBuildSelect(E->B, take, i, *pos, "");
}

/* One step of argmin/argmax whose outputs vary along the inner loop. */
static void emit_arg_body(aj_emitter *E, LLVMValueRef *base, LLVMValueRef i,
			  int w, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	LLVMValueRef pos_v = emit_values(E, base, i, w, cur);
	LLVMValueRef v = cur[k->out_val[1]];
	LLVMValueRef pos = load_op(E, 0, AJ_INT64, base[0], i, w);
	LLVMValueRef best = load_op(E, 1, k->op_dtype[1], base[1], i, w);
	arg_step(E, &best, &pos, v, pos_v);
	store_op(E, 0, pos, base[0], i, w);
	store_op(E, 1, best, base[1], i, w);
}

/* llvm.masked.compressstore of the lanes of v (dtype t, w lanes) where m
 * holds, to consecutive elements from p. A complex lane is two parts in
 * memory, each kept or dropped with its lane. */
static void compress_store(aj_emitter *E, aj_dtype t, LLVMValueRef v,
			   LLVMValueRef m, LLVMValueRef p, int w)
{
	if (aj_is_complex(t)) {
		LLVMValueRef idx[128];
		for (int l = 0; l < 2 * w; l++)
			idx[l] = LLVMConstInt(E->i32, (unsigned long long)(l / 2), 0);
		LLVMValueRef m2 = LLVMBuildShuffleVector(E->B, m, LLVMGetPoison(LLVMTypeOf(m)),
							 LLVMConstVector(idx, (unsigned)(2 * w)), "");
		compress_store(E, aj_part_dtype(t),
			       interleave(E, aj_cx_re(E, v), aj_cx_im(E, v), w), m2, p, 2 * w);
		return;
	}
	if (t == AJ_BOOL)
		v = LLVMBuildZExt(E->B, v, aj_ir_type(E, t, w, true), "");
	LLVMTypeRef vt = LLVMTypeOf(v);
	unsigned id = LLVMLookupIntrinsicID("llvm.masked.compressstore", 25);
	LLVMValueRef args[3] = {v, p, m};
	LLVMBuildCall2(E->B, LLVMIntrinsicGetType(E->C, id, &vt, 1),
		       LLVMGetIntrinsicDeclaration(E->M, id, &vt, 1), args, 3, "");
}

/* The running pointer moved n elements (an i64) of output 0 on. */
static void advance_wp(aj_emitter *E, LLVMValueRef at, LLVMValueRef n)
{
	LLVMValueRef size = LLVMConstInt(E->i64, (unsigned long long)aj_dtypes[E->k->op_dtype[0]].size, 0);
	LLVMValueRef off = LLVMBuildMul(E->B, n, size, "");
	LLVMBuildStore(E->B, LLVMBuildGEP2(E->B, E->i8, at, &off, 1, "wp"), E->wp);
}

/*
 * A compress kernel's store of the w values v: those where the mask holds
 * go to the running pointer, which moves past them. One condition for all
 * w (a scalar, or a mask invariant along the inner loop) is a branch
 * around plain stores; lanes with their own conditions are compressed.
 */
static void emit_compress(aj_emitter *E, LLVMValueRef v, int w)
{
	const aj_kdesc *k = E->k;
	aj_dtype t = k->op_dtype[0];
	LLVMValueRef at = LLVMBuildLoad2(E->B, E->ptr, E->wp, "at");
	if (w > 1 && !E->inv[k->mask]) {
		LLVMValueRef m = E->cur[k->mask];
		compress_store(E, t, v, m, at, w);
		LLVMTypeRef iw = LLVMIntTypeInContext(E->C, (unsigned)w);
		LLVMValueRef n = aj_ir_call1(E, "llvm.ctpop", LLVMBuildBitCast(E->B, m, iw, ""));
		advance_wp(E, at, LLVMBuildZExt(E->B, n, E->i64, ""));
		return;
	}
	LLVMValueRef keep = w == 1 ? E->cur[k->mask] : E->hoisted[k->mask];
	LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(E->C, E->fn, "keep");
	LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(E->C, E->fn, "kept");
	LLVMBuildCondBr(E->B, keep, yes, next);
	LLVMPositionBuilderAtEnd(E->B, yes);
	store_elem(E, t, v, at, w);
	advance_wp(E, at, LLVMConstInt(E->i64, (unsigned long long)w, 0));
	LLVMBuildBr(E->B, next);
	LLVMPositionBuilderAtEnd(E->B, next);
}

/* One step of the inner loop at width w: loads, values, stores. */
void aj_emit_body(aj_emitter *E, LLVMValueRef *base, LLVMValueRef i, int w,
		      LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	E->row_i = i;
	if (is_arg(k)) {
		emit_arg_body(E, base, i, w, cur);
		return;
	}
	LLVMValueRef v = emit_values(E, base, i, w, cur);
	if (k->compress) {
		emit_compress(E, v, w);
		return;
	}
	if (k->red != AJ_NOP) { /* accumulate: out = out op v */
		v = aj_combine(E, (aj_op)k->red, k->op_dtype[0],
			       load_op(E, 0, k->op_dtype[0], base[0], i, w), v);
		store_op(E, 0, v, base[0], i, w);
		return;
	}
	/* every value is loaded and computed before the first store, so an
	 * output that is also an input (the identical view) is read first */
	for (int o = 0; o < k->nout; o++)
		store_op(E, o, cur[k->out_val[o]], base[o], i, w);
}

/* ---- reductions along the inner loop ---- */

/*
 * When the inner loop is reduced (the output is the same element for all
 * of it), the row accumulates in registers: UNROLL accumulators of w lanes
 * read UNROLL * w elements a step. Steps group into blocks of BLOCK_STEPS.
 * Float sums push each block's total onto a binary cascade (pairwise
 * summation over blocks, like NumPy's pairwise sum, in a fixed order that
 * depends only on element indices); other reductions are exact in any
 * order and just combine. The row's total is reduced across lanes by
 * halving, the scalar tail added, and the result combined into the output
 * element once. Accumulators live in entry-block allocas that SROA turns
 * into registers.
 */
enum { UNROLL = 4, BLOCK_STEPS = 16, CASCADE = 64 };

typedef struct racc {
	LLVMTypeRef vt;
	LLVMValueRef acc[UNROLL], grand, stack, count, tail;
	LLVMValueRef id;   /* identity at width w */
	int w;
	bool cascade;
} racc;

LLVMValueRef aj_entry_alloca(aj_emitter *E, LLVMTypeRef t, const char *name)
{
	LLVMBuilderRef b = LLVMCreateBuilderInContext(E->C);
	LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(E->fn);
	LLVMValueRef first = LLVMGetFirstInstruction(entry);
	if (first)
		LLVMPositionBuilderBefore(b, first);
	else
		LLVMPositionBuilderAtEnd(b, entry);
	LLVMValueRef a = LLVMBuildAlloca(b, t, name);
	LLVMDisposeBuilder(b);
	return a;
}

/* The identity of reduction red in dtype t, in w lanes (as fill_kernel in
 * fuse.c fills the output). */
static LLVMValueRef identity(aj_emitter *E, aj_op red, aj_dtype t, int w)
{
	aj_scalar_val v = aj_red_identity(red, t);
	LLVMTypeRef et = aj_ir_elem(E, aj_part_dtype(t), false);
	if (aj_is_complex(t))
		return aj_cx(E, aj_ir_const_real(et, v.f, w),
			     aj_ir_const_real(et, aj_red_identity_im(red, t), w));
	return aj_is_float(t) ? aj_ir_const_real(et, v.f, w)
			      : aj_ir_const_int(et, v.i, w);
}

static LLVMValueRef combine(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	return aj_combine(E, (aj_op)E->k->red, E->k->op_dtype[0], a, b);
}

/* acc = acc op v, through its alloca. */
static void accumulate(aj_emitter *E, LLVMTypeRef t, LLVMValueRef acc, LLVMValueRef v)
{
	LLVMBuildStore(E->B, combine(E, LLVMBuildLoad2(E->B, t, acc, ""), v), acc);
}

/* Pushes a block total: onto the cascade, or into the grand total. While
 * the count's low bit is set, merge with the entry of that level. */
static void push_block(aj_emitter *E, racc *R, LLVMValueRef v)
{
	if (!R->cascade) {
		accumulate(E, R->vt, R->grand, v);
		return;
	}
	LLVMValueRef c0 = LLVMBuildLoad2(E->B, E->i64, R->count, "");
	LLVMBasicBlockRef pre = LLVMGetInsertBlock(E->B);
	LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(E->C, E->fn, "casc");
	LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(E->C, E->fn, "merge");
	LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(E->C, E->fn, "pushed");
	LLVMBuildBr(E->B, head);
	LLVMPositionBuilderAtEnd(E->B, head);
	LLVMValueRef j = LLVMBuildPhi(E->B, E->i64, "lvl"), c = LLVMBuildPhi(E->B, E->i64, "c"),
		     x = LLVMBuildPhi(E->B, R->vt, "blk");
	LLVMValueRef odd = LLVMBuildTrunc(E->B, c, E->i1, "");
	LLVMBuildCondBr(E->B, odd, body, done);
	LLVMPositionBuilderAtEnd(E->B, body);
	LLVMValueRef idx[2] = {LLVMConstInt(E->i64, 0, 0), j};
	LLVMValueRef slot = LLVMBuildGEP2(E->B, LLVMGetAllocatedType(R->stack), R->stack, idx, 2, "");
	LLVMValueRef x2 = combine(E, LLVMBuildLoad2(E->B, R->vt, slot, ""), x);
	LLVMValueRef j2 = LLVMBuildAdd(E->B, j, LLVMConstInt(E->i64, 1, 0), "");
	LLVMValueRef c2 = LLVMBuildLShr(E->B, c, LLVMConstInt(E->i64, 1, 0), "");
	LLVMBuildBr(E->B, head);
	LLVMValueRef zero = LLVMConstInt(E->i64, 0, 0);
	LLVMBasicBlockRef from[2] = {pre, body};
	LLVMValueRef js[2] = {zero, j2}, cs[2] = {c0, c2}, xs[2] = {v, x2};
	LLVMAddIncoming(j, js, from, 2);
	LLVMAddIncoming(c, cs, from, 2);
	LLVMAddIncoming(x, xs, from, 2);
	LLVMPositionBuilderAtEnd(E->B, done);
	idx[1] = j;
	LLVMBuildStore(E->B, x, LLVMBuildGEP2(E->B, LLVMGetAllocatedType(R->stack), R->stack, idx, 2, ""));
	LLVMBuildStore(E->B, LLVMBuildAdd(E->B, c0, LLVMConstInt(E->i64, 1, 0), ""), R->count);
}

/* The cascade's levels still held, plus last: level j holds 2^j blocks,
 * so the walk stops at the count's highest set bit. */
static LLVMValueRef cascade_total(aj_emitter *E, racc *R, LLVMValueRef last)
{
	LLVMValueRef tot = aj_entry_alloca(E, R->vt, "tot");
	LLVMBuildStore(E->B, last, tot);
	LLVMValueRef count = LLVMBuildLoad2(E->B, E->i64, R->count, "");
	LLVMTypeRef params[2] = {E->i64, E->i1};
	LLVMValueRef args[2] = {count, LLVMConstInt(E->i1, 0, 0)};
	unsigned ctlz = LLVMLookupIntrinsicID("llvm.ctlz", 9);
	LLVMValueRef clz = LLVMBuildCall2(E->B, LLVMFunctionType(E->i64, params, 2, 0),
		LLVMGetIntrinsicDeclaration(E->M, ctlz, &E->i64, 1), args, 2, "");
	LLVMValueRef levels = LLVMBuildSub(E->B, LLVMConstInt(E->i64, 64, 0), clz, "");
	aj_loop L;
	aj_loop_begin(E, &L, LLVMConstInt(E->i64, 0, 0), levels, "levels");
	LLVMValueRef bit = LLVMBuildTrunc(E->B, LLVMBuildLShr(E->B, count, L.i, ""), E->i1, "");
	LLVMBasicBlockRef take = LLVMAppendBasicBlockInContext(E->C, E->fn, "take");
	LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(E->C, E->fn, "skip");
	LLVMBuildCondBr(E->B, bit, take, next);
	LLVMPositionBuilderAtEnd(E->B, take);
	LLVMValueRef idx[2] = {LLVMConstInt(E->i64, 0, 0), L.i};
	LLVMValueRef slot = LLVMBuildGEP2(E->B, LLVMGetAllocatedType(R->stack), R->stack, idx, 2, "");
	/* older blocks on the left, as in the pushes */
	LLVMBuildStore(E->B, combine(E, LLVMBuildLoad2(E->B, R->vt, slot, ""),
				     LLVMBuildLoad2(E->B, R->vt, tot, "")), tot);
	LLVMBuildBr(E->B, next);
	LLVMPositionBuilderAtEnd(E->B, next);
	aj_loop_end(E, &L, 1);
	return LLVMBuildLoad2(E->B, R->vt, tot, "");
}

/* nsteps steps from element first: the accumulators' combined total. */
static LLVMValueRef block_steps(aj_emitter *E, racc *R, LLVMValueRef *base,
				LLVMValueRef first, LLVMValueRef nsteps,
				LLVMValueRef *cur)
{
	for (int u = 0; u < UNROLL; u++)
		LLVMBuildStore(E->B, R->id, R->acc[u]);
	/* the loop counts elements: the loads' addresses then need no
	 * multiply a step (LLVM's strength reduction is off, target.c) */
	LLVMValueRef step = LLVMConstInt(E->i64, (unsigned long long)(UNROLL * R->w), 0);
	aj_loop S;
	aj_loop_begin(E, &S, first, LLVMBuildAdd(E->B, first, LLVMBuildMul(E->B, nsteps, step, ""), ""),
		      "steps");
	for (int u = 0; u < UNROLL; u++) {
		LLVMValueRef i = LLVMBuildAdd(E->B, S.i, LLVMConstInt(E->i64, (unsigned long long)(u * R->w), 0), "");
		accumulate(E, R->vt, R->acc[u], emit_values(E, base, i, R->w, cur));
	}
	aj_loop_end(E, &S, UNROLL * R->w);
	LLVMValueRef a[UNROLL];
	for (int u = 0; u < UNROLL; u++)
		a[u] = LLVMBuildLoad2(E->B, R->vt, R->acc[u], "");
	return combine(E, combine(E, a[0], a[1]), combine(E, a[2], a[3]));
}


/* The w lanes of v reduced to one by halving: (a + b) of the halves. */
static LLVMValueRef horizontal(aj_emitter *E, LLVMValueRef v, int w)
{
	for (; w > 1; w /= 2)
		v = combine(E, aj_ir_lanes(E, v, 0, w / 2), aj_ir_lanes(E, v, w / 2, w / 2));
	return aj_ir_lane0(E, v);
}

static bool inputs_contiguous(const aj_kdesc *k)
{
	for (int o = k->nout; o < k->nop; o++)
		if (k->op_class[o] == AJ_SC_ANY)
			return false;
	return true;
}

static void emit_reduce_inner(aj_emitter *E, LLVMValueRef *base,
			      LLVMValueRef start, LLVMValueRef end, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	aj_dtype t = k->op_dtype[0];
	racc R = {.w = E->lanes > 1 && inputs_contiguous(k) ? E->lanes : 1};
	R.cascade = aj_is_float(t) && (k->red == AJ_OP_SUM || k->red == AJ_OP_MEAN);
	R.vt = aj_ir_type(E, t, R.w, false);
	for (int u = 0; u < UNROLL; u++)
		R.acc[u] = aj_entry_alloca(E, R.vt, "acc");
	R.grand = aj_entry_alloca(E, R.vt, "grand");
	R.tail = aj_entry_alloca(E, aj_ir_type(E, t, 1, false), "row");
	if (R.cascade) {
		R.stack = aj_entry_alloca(E, LLVMArrayType2(R.vt, CASCADE), "cascade");
		R.count = aj_entry_alloca(E, E->i64, "count");
		LLVMBuildStore(E->B, LLVMConstInt(E->i64, 0, 0), R.count);
	}
	aj_emit_hoisted(E, base);
	R.id = identity(E, (aj_op)E->k->red, t, R.w);
	LLVMBuildStore(E->B, R.id, R.grand);
	int64_t step = UNROLL * R.w;
	LLVMValueRef n = LLVMBuildSub(E->B, end, start, "");
	LLVMValueRef nsteps = LLVMBuildSDiv(E->B, n, LLVMConstInt(E->i64, (unsigned long long)step, 0), "");
	LLVMValueRef bsteps = LLVMConstInt(E->i64, BLOCK_STEPS, 0);
	LLVMValueRef nblocks = LLVMBuildSDiv(E->B, nsteps, bsteps, "");
	aj_loop B;
	aj_loop_begin(E, &B, LLVMConstInt(E->i64, 0, 0), nblocks, "blocks");
	LLVMValueRef first = LLVMBuildAdd(E->B, start, LLVMBuildMul(E->B, B.i,
		LLVMConstInt(E->i64, (unsigned long long)(step * BLOCK_STEPS), 0), ""), "");
	push_block(E, &R, block_steps(E, &R, base, first, bsteps, cur));
	aj_loop_end(E, &B, 1);
	first = LLVMBuildAdd(E->B, start, LLVMBuildMul(E->B, nblocks,
		LLVMConstInt(E->i64, (unsigned long long)(step * BLOCK_STEPS), 0), ""), "");
	LLVMValueRef rest = LLVMBuildSub(E->B, nsteps, LLVMBuildMul(E->B, nblocks, bsteps, ""), "");
	LLVMValueRef last = block_steps(E, &R, base, first, rest, cur);
	LLVMValueRef total = R.cascade ? cascade_total(E, &R, last)
				       : combine(E, LLVMBuildLoad2(E->B, R.vt, R.grand, ""), last);
	LLVMBuildStore(E->B, horizontal(E, total, R.w), R.tail);
	aj_loop T;
	LLVMValueRef tail_start = LLVMBuildAdd(E->B, start, LLVMBuildMul(E->B, nsteps,
		LLVMConstInt(E->i64, (unsigned long long)step, 0), ""), "");
	aj_loop_begin(E, &T, tail_start, end, "tail");
	accumulate(E, aj_ir_type(E, t, 1, false), R.tail, emit_values(E, base, T.i, 1, cur));
	aj_loop_end(E, &T, 1);
	LLVMValueRef row = LLVMBuildLoad2(E->B, aj_ir_type(E, t, 1, false), R.tail, "");
	store_elem(E, t, combine(E, aj_load_elem(E, t, 1, base[0]), row), base[0], 1);
}

/*
 * argmin/argmax along the inner loop, whose outputs are one element: one
 * (extreme, position) pair per lane, w elements a step, then the lanes by
 * halving, the scalar tail, and the stored pair. Ties go to the smaller
 * position at every step, so the order of visits does not matter.
 */
static void emit_arg_inner(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
			   LLVMValueRef end, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	aj_dtype t = k->op_dtype[1];
	int w = E->lanes > 1 && inputs_contiguous(k) ? E->lanes : 1;
	LLVMValueRef bacc = aj_entry_alloca(E, aj_ir_type(E, t, w, false), "best");
	LLVMValueRef pacc = aj_entry_alloca(E, aj_ir_type(E, AJ_INT64, w, false), "pos");
	aj_emit_hoisted(E, base);
	LLVMBuildStore(E->B, identity(E, aj_arg_extreme((aj_op)k->red), t, w), bacc);
	LLVMBuildStore(E->B, aj_ir_const_int(E->i64, INT64_MAX, w), pacc);
	LLVMValueRef n = LLVMBuildSub(E->B, end, start, "");
	LLVMValueRef nv = LLVMBuildAnd(E->B, n, LLVMConstInt(E->i64, ~(unsigned long long)(w - 1), 1), "");
	LLVMValueRef vend = LLVMBuildAdd(E->B, start, nv, "");
	aj_loop L;
	aj_loop_begin(E, &L, start, vend, "argvec");
	LLVMValueRef pos_v = emit_values(E, base, L.i, w, cur);
	LLVMValueRef best = LLVMBuildLoad2(E->B, aj_ir_type(E, t, w, false), bacc, "");
	LLVMValueRef pos = LLVMBuildLoad2(E->B, aj_ir_type(E, AJ_INT64, w, false), pacc, "");
	arg_step(E, &best, &pos, cur[k->out_val[1]], pos_v);
	LLVMBuildStore(E->B, best, bacc);
	LLVMBuildStore(E->B, pos, pacc);
	aj_loop_end(E, &L, w);
	best = LLVMBuildLoad2(E->B, aj_ir_type(E, t, w, false), bacc, "");
	pos = LLVMBuildLoad2(E->B, aj_ir_type(E, AJ_INT64, w, false), pacc, "");
	for (int h = w; h > 1; h /= 2) {
		LLVMValueRef b1 = aj_ir_lanes(E, best, 0, h / 2), p1 = aj_ir_lanes(E, pos, 0, h / 2);
		arg_step(E, &b1, &p1, aj_ir_lanes(E, best, h / 2, h / 2),
			 aj_ir_lanes(E, pos, h / 2, h / 2));
		best = b1;
		pos = p1;
	}
	LLVMValueRef b1 = aj_entry_alloca(E, aj_ir_type(E, t, 1, false), "best1");
	LLVMValueRef p1 = aj_entry_alloca(E, E->i64, "pos1");
	LLVMBuildStore(E->B, aj_ir_lane0(E, best), b1);
	LLVMBuildStore(E->B, aj_ir_lane0(E, pos), p1);
	aj_loop T;
	aj_loop_begin(E, &T, vend, end, "argtail");
	pos_v = emit_values(E, base, T.i, 1, cur);
	best = LLVMBuildLoad2(E->B, aj_ir_type(E, t, 1, false), b1, "");
	pos = LLVMBuildLoad2(E->B, E->i64, p1, "");
	arg_step(E, &best, &pos, cur[k->out_val[1]], pos_v);
	LLVMBuildStore(E->B, best, b1);
	LLVMBuildStore(E->B, pos, p1);
	aj_loop_end(E, &T, 1);
	/* with the pair stored by earlier calls or outer iterations */
	LLVMValueRef sb = aj_load_elem(E, t, 1, base[1]), sp = aj_load_elem(E, AJ_INT64, 1, base[0]);
	arg_step(E, &sb, &sp, LLVMBuildLoad2(E->B, aj_ir_type(E, t, 1, false), b1, ""),
		 LLVMBuildLoad2(E->B, E->i64, p1, ""));
	store_elem(E, AJ_INT64, sp, base[0], 1);
	store_elem(E, t, sb, base[1], 1);
}

/* What the choice of inner loop (vectorizable, buffered) looks at. */
typedef struct strided_use {
	int nstrided;  /* operands of class ANY */
	int nops;      /* values that compute (not loads, scalars or casts) */
	bool math;     /* a vector math call */
	bool one_by_one; /* a position or take reads an ANY operand, which
			    only the scalar loop does */
} strided_use;

static strided_use scan_strided(const aj_kdesc *k)
{
	strided_use u = {0};
	for (int o = 0; o < k->nop; o++)
		u.nstrided += k->op_class[o] == AJ_SC_ANY;
	for (int i = 0; i < k->nval; i++) {
		const aj_kval *v = &k->val[i];
		aj_opkind kind = aj_ops[v->op].kind;
		u.math |= aj_ops[v->op].sleef[0] != 0;
		u.nops += kind != AJ_KIND_LEAF && kind != AJ_KIND_CAST;
		u.one_by_one |= (v->op == AJ_OP_INDEX || v->op == AJ_OP_TAKE) &&
				k->op_class[v->arg[0]] == AJ_SC_ANY;
	}
	return u;
}

/*
 * The vector body gathers and scatters the operands of class ANY. Here
 * (AMD Zen 5) a gather of 8 doubles costs about 40 cycles, and one built
 * from 8 scalar loads more: a strided -a ran 9x slower vectorised than in
 * the scalar loop. So only kernels that call a vector math function,
 * where SLEEF's vector call saves more than the gathers cost (exp of a
 * strided array: 2x faster), take the vector body with strided operands.
 * (Elementwise kernels copy them through buffers instead: buffered.)
 */
static bool vectorizable(const strided_use *u)
{
	return !u->one_by_one && (!u->nstrided || u->math);
}

/*
 * Strided operands of an elementwise kernel, buffered: the inner loop
 * runs in blocks of BUF elements. A block first copies each strided
 * input's elements into a contiguous buffer on the stack (one scalar load
 * and store each), runs the vector body over the block reading them there
 * and writing strided outputs into buffers too, then copies those out.
 * Reads move earlier and writes later than in the scalar loop, never the
 * reverse, so the overlap decisions (alias.c), which need each element
 * read before it is written, still hold. Here a gather of 8 doubles costs
 * ~40 cycles; a scalar copy is ~1 per element. Not for a reduction, which
 * reads its output too.
 */
enum { BUF = 256 };

/* Measured (arrjit-bench --quick): vector math, two strided inputs added,
 * sqrt(a**2 + b**2) gain; a copy or one op on one strided array
 * (a.T.copy(), -a[::2]) is faster in the scalar loop. */
static bool buffered(const aj_kdesc *k, const strided_use *u)
{
	return k->red == AJ_NOP && !k->compress && u->nstrided && !u->one_by_one &&
	       (u->math || u->nops >= 2 || u->nstrided >= 2);
}

/* Copies m elements, from first on, of strided operand o (at base)
 * into buffer buf, or back out of it. */
static void copy_block(aj_emitter *E, int o, LLVMValueRef base, LLVMValueRef first,
		       LLVMValueRef m, LLVMValueRef buf, bool in)
{
	int64_t size = aj_dtypes[E->k->op_dtype[o]].size;
	LLVMTypeRef t = LLVMIntTypeInContext(E->C, (unsigned)(8 * size));
	aj_loop L;
	aj_loop_begin(E, &L, LLVMConstInt(E->i64, 0, 0), m, "copy");
	LLVMValueRef sp = vec_addr(E, o, base, LLVMBuildAdd(E->B, first, L.i, ""), 1);
	LLVMValueRef bp = LLVMBuildGEP2(E->B, t, buf, &L.i, 1, "");
	LLVMValueRef v = LLVMBuildLoad2(E->B, t, in ? sp : bp, "");
	LLVMSetAlignment(v, 1);
	LLVMSetAlignment(LLVMBuildStore(E->B, v, in ? bp : sp), 1);
	aj_loop_end(E, &L, 1);
}

/* The body over [start, end): E->lanes at a time up to vend, a whole
 * number of vectors past start, then one at a time. */
static void vec_then_tail(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
			  LLVMValueRef vend, LLVMValueRef end, LLVMValueRef *cur)
{
	aj_loop V, T;
	E->row_end = end;
	aj_loop_begin(E, &V, start, vend, "vec");
	aj_emit_body(E, base, V.i, E->lanes, cur);
	aj_loop_end(E, &V, E->lanes);
	aj_loop_begin(E, &T, vend, end, "tail");
	aj_emit_body(E, base, T.i, 1, cur);
	aj_loop_end(E, &T, 1);
	E->row_end = NULL;
}

/*
 * Strided inputs whose stride is 2 elements at run time (a[::2], every
 * other column), read straight in the vector body instead of through
 * buffers: a vector of w is the even lanes of 2 w contiguous elements
 * (SC_PAIR), the way a C compiler vectorises a[2*i]. Taken when every
 * strided operand is such an input of a real dtype; the vectors stop
 * short of the last element, so that none reads the element after it
 * (which may lie past the array), and the scalar loop does the rest.
 * Measured (arrjit-bench --quick --threads 1, strided_add): the buffers'
 * copies cost ~1.3x a C loop; a vectorised copy into the buffers was
 * slower still from memory (the C loop of both: 0.72 ms scalar copies,
 * 1.11 ms vector ones, 1e6 elements). Returns the block the buffered
 * loop must branch to when done, with the builder at its start, or NULL
 * when the kernel cannot take this path.
 */
static LLVMBasicBlockRef emit_pairs(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
				    LLVMValueRef end, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	int w = E->lanes, nd = k->ndim;
	LLVMValueRef ok = LLVMConstInt(E->i1, 1, 0);
	for (int o = 0; o < k->nop; o++) {
		aj_dtype t = k->op_dtype[o];
		if (k->op_class[o] != AJ_SC_ANY)
			continue;
		if (o < k->nout || aj_is_complex(t) || t == AJ_BOOL || w * 2 > 64)
			return NULL;
		LLVMValueRef two = LLVMConstInt(E->i64, (unsigned long long)(2 * aj_dtypes[t].size), 0);
		ok = LLVMBuildAnd(E->B, ok, LLVMBuildICmp(E->B, LLVMIntEQ, E->stride[o * nd + nd - 1],
							  two, ""), "");
	}
	LLVMBasicBlockRef pairs = LLVMAppendBasicBlockInContext(E->C, E->fn, "pairs");
	LLVMBasicBlockRef other = LLVMAppendBasicBlockInContext(E->C, E->fn, "buffered");
	LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(E->C, E->fn, "strided");
	LLVMBuildCondBr(E->B, ok, pairs, other);
	LLVMPositionBuilderAtEnd(E->B, pairs);
	for (int o = 0; o < k->nop; o++)
		if (k->op_class[o] == AJ_SC_ANY)
			E->cls[o] = SC_PAIR;
	LLVMValueRef n = LLVMBuildSub(E->B, end, start, "");
	LLVMValueRef nv = LLVMBuildSelect(
		E->B, LLVMBuildICmp(E->B, LLVMIntSGT, n, LLVMConstInt(E->i64, 0, 0), ""),
		LLVMBuildAnd(E->B, LLVMBuildSub(E->B, n, LLVMConstInt(E->i64, 1, 0), ""),
			     LLVMConstInt(E->i64, ~(unsigned long long)(w - 1), 1), ""),
		LLVMConstInt(E->i64, 0, 0), "");
	vec_then_tail(E, base, start, LLVMBuildAdd(E->B, start, nv, "vend"), end, cur);
	memcpy(E->cls, k->op_class, (size_t)k->nop);
	LLVMBuildBr(E->B, done);
	LLVMPositionBuilderAtEnd(E->B, other);
	return done;
}

static void emit_buffered(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
			  LLVMValueRef end, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	LLVMValueRef buf[k->nop], inner[k->nop];
	for (int o = 0; o < k->nop; o++) {
		int64_t size = aj_dtypes[k->op_dtype[o]].size;
		buf[o] = k->op_class[o] != AJ_SC_ANY ? NULL
			 : aj_entry_alloca(E, LLVMArrayType2(LLVMIntTypeInContext(
					       E->C, (unsigned)(8 * size)), BUF), "buf");
		if (buf[o]) /* whole lines: no vector access splits one */
			LLVMSetAlignment(buf[o], 64);
	}
	aj_emit_hoisted(E, base);
	LLVMBasicBlockRef done = emit_pairs(E, base, start, end, cur);
	aj_loop B;
	aj_loop_begin(E, &B, start, end, "block");
	LLVMValueRef left = LLVMBuildSub(E->B, end, B.i, "");
	LLVMValueRef full = LLVMConstInt(E->i64, BUF, 0);
	LLVMValueRef m = LLVMBuildSelect(E->B, LLVMBuildICmp(E->B, LLVMIntSLT, left, full, ""),
					 left, full, "m");
	for (int o = k->nout; o < k->nop; o++)
		if (buf[o])
			copy_block(E, o, base[o], B.i, m, buf[o], true);
	for (int o = 0; o < k->nop; o++)
		inner[o] = buf[o] ? buf[o] : vec_addr(E, o, base[o], B.i, 1);
	for (int o = 0; o < k->nop; o++)
		E->cls[o] = buf[o] ? AJ_SC_CONTIG : k->op_class[o];
	LLVMValueRef nv = LLVMBuildAnd(
		E->B, m, LLVMConstInt(E->i64, ~(unsigned long long)(E->lanes - 1), 1), "");
	vec_then_tail(E, inner, LLVMConstInt(E->i64, 0, 0), nv, m, cur);
	memcpy(E->cls, k->op_class, (size_t)k->nop);
	for (int o = 0; o < k->nout; o++)
		if (buf[o])
			copy_block(E, o, base[o], B.i, m, buf[o], false);
	aj_loop_end(E, &B, BUF);
	if (done) {
		LLVMBuildBr(E->B, done);
		LLVMPositionBuilderAtEnd(E->B, done);
	}
}

/*
 * The inner loop of a kernel storing output 0 non-temporally (E->nt): a
 * scalar head with normal stores up to the first element on a cache line
 * boundary, the vector body from there over whole lines (and whole
 * vectors, which may be longer) with aligned non-temporal stores, the
 * scalar tail. So every line a movnt writes is
 * written whole by movnts (a partly written line leaves the
 * write-combining buffer as a slow partial write), on AVX2 too, whose
 * vector is half a line. An output not aligned to its element size never
 * reaches a boundary: it all takes the head.
 */
static void emit_nt_inner(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
			  LLVMValueRef end, LLVMValueRef *cur)
{
	LLVMBuilderRef B = E->B;
	int64_t size = aj_dtypes[E->k->op_dtype[0]].size;
	LLVMValueRef zero = LLVMConstInt(E->i64, 0, 0);
	LLVMValueRef lmask = LLVMConstInt(E->i64, LINE - 1, 0);
	LLVMValueRef emask = LLVMConstInt(E->i64, (unsigned long long)(size - 1), 0);
	LLVMValueRef n = LLVMBuildSub(B, end, start, "");
	LLVMValueRef at = LLVMBuildPtrToInt(B, elem_addr(E, 0, base[0], start), E->i64, "");
	/* head = (bytes to the next line boundary) / size, at most n */
	LLVMValueRef gap = LLVMBuildAnd(B, LLVMBuildNeg(B, at, ""), lmask, "");
	LLVMValueRef head = LLVMBuildUDiv(B, gap, LLVMConstInt(E->i64, (unsigned long long)size, 0), "");
	LLVMValueRef odd = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildAnd(B, at, emask, ""), zero, "");
	head = LLVMBuildSelect(B, odd, n, head, "");
	head = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, head, n, ""), head, n, "head");
	LLVMValueRef hend = LLVMBuildAdd(B, start, head, "hend");
	/* the body's count: whole lines and whole vectors (an AVX2 vector
	 * is half a line) */
	int64_t step = LINE / size > E->lanes ? LINE / size : E->lanes;
	LLVMValueRef lines = LLVMConstInt(E->i64, ~(unsigned long long)(step - 1), 1);
	aj_loop H, V, T;
	E->row_end = end;
	aj_loop_begin(E, &H, start, hend, "head");
	aj_emit_body(E, base, H.i, 1, cur);
	aj_loop_end(E, &H, 1);
	LLVMValueRef nv = LLVMBuildAnd(B, LLVMBuildSub(B, end, hend, ""), lines, "");
	LLVMValueRef vend = LLVMBuildAdd(B, hend, nv, "vend");
	E->nt_body = true;
	aj_loop_begin(E, &V, hend, vend, "ntvec");
	aj_emit_body(E, base, V.i, E->lanes, cur);
	aj_loop_end(E, &V, E->lanes);
	E->nt_body = false;
	aj_loop_begin(E, &T, vend, end, "tail");
	aj_emit_body(E, base, T.i, 1, cur);
	aj_loop_end(E, &T, 1);
	E->row_end = NULL;
}

/*
 * A kernel whose one output is a random value of its dtype, positions
 * running along the contiguous inner loop (H = random(), rows of a shaped
 * leaf): a row is one call of aj_rt_draw straight into the output, with
 * no buffer between the draws and the stores (`out = random()` over 1e6
 * float64 on one thread: 0.58 ns a value through the buffer, see
 * bench/RESULTS.md session 10). Not when output 0 stores non-temporally:
 * aj_rt_draw's stores go through the caches.
 */
static bool fills_with_draws(const aj_emitter *E)
{
	const aj_kdesc *k = E->k;
	if (k->red != AJ_NOP || k->compress || k->nout != 1 || E->nt ||
	    E->cls[0] != AJ_SC_CONTIG)
		return false;
	const aj_kval *v = &k->val[k->out_val[0]];
	return aj_is_random((aj_op)v->op) && v->dtype == k->op_dtype[0] &&
	       aj_random_ascending(E, v->arg[0]);
}

static void emit_draw_row(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
			  LLVMValueRef end)
{
	const aj_kdesc *k = E->k;
	const aj_kval *v = &k->val[k->out_val[0]], *pos = &k->val[v->arg[0]];
	aj_emit_hoisted(E, base);
	LLVMValueRef first = NULL;
	if (pos->op == AJ_OP_ADD) { /* positions from a leaf's first */
		first = E->hoisted[pos->arg[1]];
		pos = &k->val[pos->arg[0]];
	}
	int o = (int)pos->arg[0];
	LLVMValueRef k0 = index_values(E, o, base[o], start, 1);
	if (first)
		k0 = LLVMBuildAdd(E->B, k0, first, "");
	aj_emit_draw_call(E, v, elem_addr(E, 0, base[0], start), LLVMConstNull(E->ptr), k0,
			  LLVMBuildSub(E->B, end, start, ""), E->hoisted[v->arg[1]],
			  E->hoisted[v->arg[2]]);
}

/* The innermost loop over [start, end). */
static void emit_inner(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
		       LLVMValueRef end, LLVMValueRef *cur)
{
	if (E->k->red != AJ_NOP && E->k->op_class[0] == AJ_SC_ZERO) {
		if (is_arg(E->k))
			emit_arg_inner(E, base, start, end, cur);
		else
			emit_reduce_inner(E, base, start, end, cur);
		return;
	}
	if (fills_with_draws(E)) {
		emit_draw_row(E, base, start, end);
		return;
	}
	strided_use u = scan_strided(E->k);
	if (E->lanes > 1 && buffered(E->k, &u)) {
		emit_buffered(E, base, start, end, cur);
		return;
	}
	aj_emit_hoisted(E, base);
	if (E->nt && E->lanes > 1 && vectorizable(&u)) {
		emit_nt_inner(E, base, start, end, cur);
		return;
	}
	if (E->lanes > 1 && vectorizable(&u)) {
		LLVMValueRef n = LLVMBuildSub(E->B, end, start, "");
		LLVMValueRef nv = LLVMBuildAnd(
			E->B, n, LLVMConstInt(E->i64, ~(unsigned long long)(E->lanes - 1), 1), "");
		vec_then_tail(E, base, start, LLVMBuildAdd(E->B, start, nv, "vend"), end, cur);
		return;
	}
	aj_loop T;
	E->row_end = end;
	aj_loop_begin(E, &T, start, end, "tail");
	aj_emit_body(E, base, T.i, 1, cur);
	aj_loop_end(E, &T, 1);
	E->row_end = NULL;
}

/* Loop d and everything inside it. */
static void emit_nest(aj_emitter *E, int d, LLVMValueRef *base, LLVMValueRef *cur);

void aj_advance(aj_emitter *E, LLVMValueRef *to, LLVMValueRef *p, int d, LLVMValueRef n)
{
	const aj_kdesc *k = E->k;
	for (int o = 0; o < k->nop; o++) {
		LLVMValueRef off = LLVMBuildMul(E->B, n, E->stride[o * k->ndim + d], "");
		to[o] = LLVMBuildGEP2(E->B, E->i8, p[o], &off, 1, "");
	}
}

/*
 * A reduction over the rows of a matrix (sum(a, axis=0) of C order: the
 * output a contiguous row, the same for every row of loop ndim-2) reads
 * ROWS rows at a time: out[j] op= (x0[j] op x1[j]) op (x2[j] op x3[j]).
 * One load and store of the output per ROWS inputs instead of per input,
 * and ROWS input streams in flight: 5000 x 5000 float64 ran at half the
 * speed of sum(a) and sum(a, axis=1) over the same array, and now at
 * 0.9-1.0 of it (RESULTS.md). The order is fixed by the shape alone. Taken when every input is contiguous along the inner
 * loop (so nothing varies per row but the pointers) and, at run time,
 * when output 0 does not move along loop ndim-2.
 */
enum { ROWS = 4 };

static bool rows_at_once(const aj_kdesc *k, int d)
{
	if (k->red == AJ_NOP || is_arg(k) || k->compress || d != k->ndim - 2 ||
	    k->op_class[0] != AJ_SC_CONTIG)
		return false;
	for (int o = k->nout; o < k->nop; o++)
		if (k->op_class[o] != AJ_SC_CONTIG)
			return false;
	return true;
}

/* Columns [0, n) of ROWS rows (pointers rows[q]) into output 0, at width
 * w from i in steps of w. */
static void rows_body(aj_emitter *E, int nop, LLVMValueRef rows[ROWS][nop],
		      LLVMValueRef i, int w, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	aj_op red = (aj_op)k->red;
	aj_dtype t = k->op_dtype[0];
	LLVMValueRef v[ROWS];
	for (int q = 0; q < ROWS; q++)
		v[q] = emit_values(E, rows[q], i, w, cur);
	for (int h = 1; h < ROWS; h *= 2)
		for (int q = 0; q + h < ROWS; q += 2 * h)
			v[q] = aj_combine(E, red, t, v[q], v[q + h]);
	LLVMValueRef acc = load_op(E, 0, t, rows[0][0], i, w);
	store_op(E, 0, aj_combine(E, red, t, acc, v[0]), rows[0][0], i, w);
}

static void emit_rows(aj_emitter *E, int d, LLVMValueRef *base, LLVMValueRef start,
		      LLVMValueRef end, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	LLVMValueRef ncol = E->shape[d + 1], zero = LLVMConstInt(E->i64, 0, 0);
	LLVMValueRef n4 = LLVMBuildAnd(E->B, LLVMBuildSub(E->B, end, start, ""),
				       LLVMConstInt(E->i64, ~(unsigned long long)(ROWS - 1), 1), "");
	LLVMValueRef end4 = LLVMBuildAdd(E->B, start, n4, "rows4");
	LLVMValueRef nv = LLVMBuildAnd(
		E->B, ncol, LLVMConstInt(E->i64, ~(unsigned long long)(E->lanes - 1), 1), "");
	LLVMValueRef rows[ROWS][k->nop];
	aj_loop R, V, T, L;
	aj_loop_begin(E, &R, start, end4, "rows");
	for (int q = 0; q < ROWS; q++)
		aj_advance(E, rows[q], base, d,
			   LLVMBuildAdd(E->B, R.i, LLVMConstInt(E->i64, (unsigned)q, 0), ""));
	aj_emit_hoisted(E, rows[0]);
	aj_loop_begin(E, &V, zero, nv, "rvec");
	rows_body(E, k->nop, rows, V.i, E->lanes, cur);
	aj_loop_end(E, &V, E->lanes);
	aj_loop_begin(E, &T, nv, ncol, "rtail");
	rows_body(E, k->nop, rows, T.i, 1, cur);
	aj_loop_end(E, &T, 1);
	aj_loop_end(E, &R, ROWS);
	aj_loop_begin(E, &L, end4, end, "row");
	LLVMValueRef inner[k->nop];
	aj_advance(E, inner, base, d, L.i);
	emit_nest(E, d + 1, inner, cur);
	aj_loop_end(E, &L, 1);
}

static void emit_nest(aj_emitter *E, int d, LLVMValueRef *base, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	LLVMValueRef start = d == 0 ? E->a_lo : LLVMConstInt(E->i64, 0, 0);
	LLVMValueRef end = d == 0 ? E->a_hi : E->shape[d];
	if (d == k->ndim - 1) {
		emit_inner(E, base, start, end, cur);
		return;
	}
	if (k->tile && E->lanes > 1 && d == k->ndim - 2) {
		aj_emit_tiled(E, base, start, end, cur);
		return;
	}
	LLVMBasicBlockRef done = NULL;
	if (E->lanes > 1 && rows_at_once(k, d)) {
		LLVMValueRef fixed = LLVMBuildICmp(E->B, LLVMIntEQ, E->stride[d],
						   LLVMConstInt(E->i64, 0, 0), "");
		LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(E->C, E->fn, "byrows");
		LLVMBasicBlockRef no = LLVMAppendBasicBlockInContext(E->C, E->fn, "byrow");
		done = LLVMAppendBasicBlockInContext(E->C, E->fn, "rowsdone");
		LLVMBuildCondBr(E->B, fixed, yes, no);
		LLVMPositionBuilderAtEnd(E->B, yes);
		emit_rows(E, d, base, start, end, cur);
		LLVMBuildBr(E->B, done);
		LLVMPositionBuilderAtEnd(E->B, no);
	}
	aj_loop L;
	aj_loop_begin(E, &L, start, end, "outer");
	LLVMValueRef inner[k->nop];
	aj_advance(E, inner, base, d, L.i);
	emit_nest(E, d + 1, inner, cur);
	aj_loop_end(E, &L, 1);
	if (done) {
		LLVMBuildBr(E->B, done);
		LLVMPositionBuilderAtEnd(E->B, done);
	}
}

/* The size of one register lane of dtype t: a complex is two vectors of
 * its parts. */
static int lane_bytes(aj_dtype t)
{
	return aj_dtypes[t].size / (aj_is_complex(t) ? 2 : 1);
}

/* Widest element among operands and values decides the lanes: one vector
 * register of it (4 x f64 on AVX2, 8 on AVX-512). */
static int pick_lanes(const aj_kdesc *k)
{
	int bytes = k->isa == AJ_ISA_AVX512 ? 64 : k->isa == AJ_ISA_AVX2 ? 32 : 0;
	int widest = 1;
	for (int i = 0; i < k->nval; i++)
		if (lane_bytes(k->val[i].dtype) > widest)
			widest = lane_bytes(k->val[i].dtype);
	for (int o = 0; o < k->nop; o++)
		if (lane_bytes(k->op_dtype[o]) > widest)
			widest = lane_bytes(k->op_dtype[o]);
	return bytes ? bytes / widest : 1;
}

static void set_host_attrs(aj_emitter *E, LLVMValueRef fn)
{
	char *cpu = LLVMGetHostCPUName(), *feat = LLVMGetHostCPUFeatures();
	LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", cpu);
	LLVMAddTargetDependentFunctionAttr(fn, "target-features", feat);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(feat);
	aj_ir_fn_attr(E, fn, "nounwind", 0);
}

void aj_emit_sfence(aj_emitter *E)
{
	unsigned id = LLVMLookupIntrinsicID("llvm.x86.sse.sfence", 19);
	LLVMValueRef f = LLVMGetIntrinsicDeclaration(E->M, id, NULL, 0);
	LLVMTypeRef fty = LLVMIntrinsicGetType(E->C, id, NULL, 0);
	LLVMBuildCall2(E->B, fty, f, NULL, 0, "");
}

static void emit_function(aj_emitter *E, const char *name)
{
	const aj_kdesc *k = E->k;
	LLVMTypeRef params[6] = {E->ptr, E->ptr, E->ptr, E->ptr, E->i64, E->i64};
	LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(E->C), params, 6, 0);
	E->fn = LLVMAddFunction(E->M, name, fty);
	set_host_attrs(E, E->fn);
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
	if (k->compress) { /* output 0's strides are 0: base[0] is the start */
		E->wp = aj_entry_alloca(E, E->ptr, "wp");
		LLVMBuildStore(E->B, base[0], E->wp);
	}
	fill_invariant(E);
	emit_nest(E, 0, base, E->cur);
	if (E->nt) /* non-temporal stores are weakly ordered: make them
		      visible before whatever the caller does next */
		aj_emit_sfence(E);
	LLVMBuildRetVoid(E->B);
}

aj_status aj_emit_kernel(LLVMContextRef c, const aj_kdesc *k, const char *name,
			 LLVMModuleRef *out, char *err, size_t errlen)
{
	aj_emitter E = {.C = c, .k = k};
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
	E.nt = k->nt && aj_nt_fits(k);
	/* per-value tables on the heap: expressions may have many thousands */
	size_t nv = (size_t)k->nval, ns = (size_t)(k->nop * k->ndim);
	E.shape = aj_calloc((size_t)k->ndim, sizeof *E.shape);
	E.stride = aj_calloc(ns, sizeof *E.stride);
	E.hoisted = aj_calloc(nv, sizeof *E.hoisted);
	E.cur = aj_calloc(nv, sizeof *E.cur);
	E.base = aj_calloc((size_t)k->nop, sizeof *E.base);
	E.inv = aj_calloc(nv, sizeof *E.inv);
	E.cls = aj_malloc((size_t)k->nop);
	E.given = aj_calloc((size_t)k->nop, sizeof *E.given);
	E.draw_buf = aj_calloc(3 * nv, sizeof *E.draw_buf); /* and draw_at, draw_n */
	if (E.draw_buf) {
		E.draw_at = E.draw_buf + nv;
		E.draw_n = E.draw_buf + 2 * nv;
	}
	bool ok = E.shape && E.stride && E.hoisted && E.cur && E.base &&
		  E.inv && E.cls && E.given && E.draw_buf;
	if (ok)
		memcpy(E.cls, k->op_class, (size_t)k->nop);
	if (ok)
		emit_function(&E, name);
	aj_free(E.shape);
	aj_free(E.stride);
	aj_free(E.hoisted);
	aj_free(E.cur);
	aj_free(E.base);
	aj_free(E.inv);
	aj_free(E.cls);
	aj_free(E.given);
	aj_free(E.draw_buf);
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
