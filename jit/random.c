/*
 * Random values in the kernel (arrjit.h, aj_random): calls to aj_rt_draw
 * (lib/philox.c), which computes runs of Philox4x32-10 values in C
 * compiled with the library, several sets of blocks in flight. The IR
 * holds no Philox: a kernel compiles as fast as one without random
 * values (with the rounds inline, `out = a + random()` took ~26 ms, most
 * of it LLVM's instruction selection; bench/RESULTS.md, session 10).
 *
 * Positions that run consecutively along the inner loop (an index operand
 * addressed CONTIG: the usual case) are read from a buffer of up to RUN
 * values per random value of the kernel, refilled whenever a step's
 * positions fall outside it, with as many as are left in the row. The
 * buffer's first position and count live in allocas that SROA makes
 * registers. Other positions (hoisted values, transposed outputs) ask for
 * their lanes one call a step. A kernel storing a random value alone
 * (H = random()) skips the buffer: one call a row fills the output
 * (emit.c emit_draw_row).
 *
 * Values depend only on (seed, stream, position), so every path gives the
 * same bits: the vector body, the tail, strided loops, hoisted values.
 */
#include "core.h"
#include "emit.h"
#include "philox.h"

#include <stdio.h>
#include <stdlib.h>

enum { RUN = 256 }; /* values a buffer holds */

/* What aj_rt_draw makes for random value v (its dist and dtype were
 * checked when the leaf was built). */
static int32_t draw_kind(const aj_kval *v)
{
	aj_dist d = v->op == AJ_OP_NORMAL ? AJ_DIST_NORMAL : AJ_DIST_UNIFORM;
#define X(name, kind_dist, kind_dtype, shares, size)        \
	if (d == (kind_dist) && v->dtype == (kind_dtype)) \
		return AJ_DRAW_##name;
	AJ_DRAW_KINDS(X)
#undef X
	fprintf(stderr, "%s:%d: a random value of no draw kind\n", __FILE__, __LINE__);
	abort();
}

/* Whether positions value p gives consecutive ascending lanes: an index
 * operand addressed CONTIG, or one plus an invariant (a leaf's first). */
bool aj_random_ascending(const aj_emitter *E, uint32_t p)
{
	const aj_kval *v = &E->k->val[p];
	if (v->op == AJ_OP_ADD && E->inv[v->arg[1]] && !E->inv[v->arg[0]])
		v = &E->k->val[p = v->arg[0]];
	return v->op == AJ_OP_INDEX && !E->inv[p] && E->cls[v->arg[0]] == AJ_SC_CONTIG;
}

/* An alloca of t in the entry block, holding init from the start. */
static LLVMValueRef entry_var(aj_emitter *E, LLVMTypeRef t, const char *name,
			      LLVMValueRef init)
{
	LLVMValueRef a = aj_entry_alloca(E, t, name);
	LLVMBuilderRef b = LLVMCreateBuilderInContext(E->C);
	LLVMValueRef next = LLVMGetNextInstruction(a);
	if (next)
		LLVMPositionBuilderBefore(b, next);
	else
		LLVMPositionBuilderAtEnd(b, LLVMGetInstructionParent(a));
	LLVMBuildStore(b, init, a);
	LLVMDisposeBuilder(b);
	return a;
}

void aj_emit_draw_call(aj_emitter *E, const aj_kval *v, LLVMValueRef out, LLVMValueRef pos,
		       LLVMValueRef k0, LLVMValueRef n, LLVMValueRef seed, LLVMValueRef stream)
{
	LLVMTypeRef params[7] = {E->ptr, E->ptr, E->i64, E->i64, E->i64, E->i64, E->i32};
	LLVMTypeRef fty;
	LLVMValueRef f = aj_ir_declare(E, "aj_rt_draw", LLVMVoidTypeInContext(E->C), params, 7,
				       &fty);
	aj_ir_fn_attr(E, f, "nounwind", 0);
	LLVMValueRef args[7] = {out, pos, k0, n, seed, stream,
				LLVMConstInt(E->i32, (unsigned long long)draw_kind(v), 0)};
	LLVMBuildCall2(E->B, fty, f, args, 7, "");
}

/*
 * The w values of consecutive positions k0 .. k0 + w - 1 from value id's
 * buffer, refilled from k0 when they are not all in it: with the rest of
 * the row (E->row_end - E->row_i values, at most RUN) where the loop
 * knows it, else with w.
 */
static LLVMValueRef from_run(aj_emitter *E, const aj_kval *v, uint32_t id, int w,
			     LLVMValueRef k0, LLVMValueRef seed, LLVMValueRef stream)
{
	LLVMValueRef zero = LLVMConstInt(E->i64, 0, 0);
	LLVMValueRef wide = LLVMConstInt(E->i64, (unsigned long long)w, 0);
	if (!E->draw_buf[id]) {
		E->draw_buf[id] = aj_entry_alloca(E, LLVMArrayType2(E->i64, RUN), "run");
		LLVMSetAlignment(E->draw_buf[id], 64);
		E->draw_at[id] = entry_var(E, E->i64, "run_at", zero);
		E->draw_n[id] = entry_var(E, E->i64, "run_n", zero);
	}
	LLVMValueRef at = LLVMBuildLoad2(E->B, E->i64, E->draw_at[id], "");
	LLVMValueRef n = LLVMBuildLoad2(E->B, E->i64, E->draw_n[id], "");
	LLVMValueRef d = LLVMBuildSub(E->B, k0, at, "");
	LLVMValueRef ok = LLVMBuildAnd(
		E->B, LLVMBuildICmp(E->B, LLVMIntSGE, d, zero, ""),
		LLVMBuildICmp(E->B, LLVMIntSLE, d, LLVMBuildSub(E->B, n, wide, ""), ""), "");
	LLVMBasicBlockRef from = LLVMGetInsertBlock(E->B);
	LLVMBasicBlockRef fill = LLVMAppendBasicBlockInContext(E->C, E->fn, "refill");
	LLVMBasicBlockRef have = LLVMAppendBasicBlockInContext(E->C, E->fn, "drawn");
	LLVMBuildCondBr(E->B, ok, have, fill);
	LLVMPositionBuilderAtEnd(E->B, fill);
	LLVMValueRef cnt = wide;
	if (E->row_end) {
		LLVMValueRef left = LLVMBuildSub(E->B, E->row_end, E->row_i, "");
		LLVMValueRef run = LLVMConstInt(E->i64, RUN, 0);
		cnt = LLVMBuildSelect(E->B, LLVMBuildICmp(E->B, LLVMIntSLT, left, run, ""), left,
				      run, "");
	}
	aj_emit_draw_call(E, v, E->draw_buf[id], LLVMConstNull(E->ptr), k0, cnt, seed, stream);
	LLVMBuildStore(E->B, k0, E->draw_at[id]);
	LLVMBuildStore(E->B, cnt, E->draw_n[id]);
	LLVMBuildBr(E->B, have);
	LLVMPositionBuilderAtEnd(E->B, have);
	LLVMValueRef off = aj_ir_phi2(E, d, from, zero, fill, "run_off");
	LLVMTypeRef et = aj_ir_type(E, v->dtype, 1, true);
	LLVMValueRef p = LLVMBuildGEP2(E->B, et, E->draw_buf[id], &off, 1, "");
	return aj_load_elem(E, v->dtype, w, p);
}

/* The w values of positions x (any lanes), by one call: the positions
 * stored to a scratch array, the values read back from another. */
static LLVMValueRef from_lanes(aj_emitter *E, const aj_kval *v, int w, LLVMValueRef x,
			       LLVMValueRef seed, LLVMValueRef stream)
{
	if (!E->draw_pos) {
		E->draw_pos = aj_entry_alloca(E, LLVMArrayType2(E->i64, 64), "draw_pos");
		E->draw_out = aj_entry_alloca(E, LLVMArrayType2(E->i64, 64), "draw_out");
	}
	LLVMSetAlignment(LLVMBuildStore(E->B, x, E->draw_pos), 8);
	aj_emit_draw_call(E, v, E->draw_out, E->draw_pos, LLVMConstInt(E->i64, 0, 0),
		  LLVMConstInt(E->i64, (unsigned long long)w, 0), seed, stream);
	return aj_load_elem(E, v->dtype, w, E->draw_out);
}

LLVMValueRef aj_lower_random(aj_emitter *E, const aj_kval *v, int w, LLVMValueRef *x)
{
	LLVMValueRef seed = aj_ir_lane0(E, x[1]), stream = aj_ir_lane0(E, x[2]);
	if (aj_random_ascending(E, v->arg[0]))
		return from_run(E, v, (uint32_t)(v - E->k->val), w, aj_ir_lane0(E, x[0]), seed, stream);
	return from_lanes(E, v, w, x[0], seed, stream);
}
