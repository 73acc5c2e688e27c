/*
 * Tiled kernels (lib/sched.c rule 6): the two innermost loops of an
 * elementwise kernel that reads an input transposed against its outputs.
 *
 * A tiled kernel walks loops ndim-2 (rows) and ndim-1 (columns) in tiles
 * of AJ_TILE_ROWS x AJ_TILE_COLS, each in blocks of w x w (w = lanes).
 * An input of class ANY is unit-stride along the rows: a block loads w
 * vectors of it, one per column, each running down w rows, and
 * transposes them in registers into one vector per row (emit_block).
 * Each of the block's rows then runs the ordinary vector body, the
 * transposed inputs given, the others loaded as their classes say. A
 * tile's columns past its last whole block, and the rows of a range
 * past its last whole block, run the scalar body.
 *
 * Order: a block reads all its transposed inputs before it stores any
 * row, and each row reads its other inputs before storing, so an output
 * that is also an input (the identical view, alias.c case 2) is read
 * before it is written, as in the untiled nest. alias.c's serial calls
 * (cases 3), which need the nest's order, are not tiled.
 */
#include "core.h"
#include "emit.h"

#include <string.h>

/* The smaller of two i64 values. */
static LLVMValueRef smin(aj_emitter *E, LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef lt = LLVMBuildICmp(E->B, LLVMIntSLT, a, b, "");
	return LLVMBuildSelect(E->B, lt, a, b, "");
}

/* start + (the elements from start to end, down to a multiple of w). */
static LLVMValueRef whole_end(aj_emitter *E, LLVMValueRef start,
			      LLVMValueRef end, int w)
{
	LLVMValueRef n = LLVMBuildSub(E->B, end, start, "");
	LLVMValueRef mask =
	    LLVMConstInt(E->i64, ~(unsigned long long)(w - 1), 1);
	n = LLVMBuildAnd(E->B, n, mask, "");
	return LLVMBuildAdd(E->B, start, n, "");
}

static LLVMValueRef i32c(aj_emitter *E, int v)
{
	return LLVMConstInt(E->i32, (unsigned long long)v, 0);
}

static LLVMValueRef i64c(aj_emitter *E, int64_t v)
{
	return LLVMConstInt(E->i64, (unsigned long long)v, 0);
}

/* The w x w block of vectors x (w a power of two) transposed: lane l of
 * x[r] goes to lane r of x[l]. The stage of distance h swaps the
 * off-diagonal h x h blocks of every 2h x 2h block, one two-input
 * shuffle per vector (lane l of the pair's first vector is lane l - h of
 * its second where bit h of l is set; of its second, lane l + h of the
 * first where it is clear); all stages move (r, l) to (l, r). x86 gets
 * unpck, permutes and lane shuffles: 24 for 8 x 8 doubles. */
static void transpose(aj_emitter *E, LLVMValueRef *x, int w)
{
	LLVMValueRef lo[64], hi[64];
	for (int h = 1; h < w; h *= 2) {
		for (int l = 0; l < w; l++) {
			lo[l] = i32c(E, l & h ? w + l - h : l);
			hi[l] = i32c(E, l & h ? w + l : l + h);
		}
		LLVMValueRef mlo = LLVMConstVector(lo, (unsigned)w);
		LLVMValueRef mhi = LLVMConstVector(hi, (unsigned)w);
		for (int r = 0; r < w; r++) {
			if (r & h)
				continue;
			LLVMValueRef a = x[r], b = x[r + h];
			x[r] = LLVMBuildShuffleVector(E->B, a, b, mlo, "tr");
			x[r + h] =
			    LLVMBuildShuffleVector(E->B, a, b, mhi, "tr");
		}
	}
}

/* One row (operand pointers at) from column start to end, scalar. */
static void emit_row(aj_emitter *E, LLVMValueRef *at, LLVMValueRef start,
		     LLVMValueRef end, LLVMValueRef *cur)
{
	aj_emit_hoisted(E, at);
	aj_loop T;
	aj_loop_begin(E, &T, start, end, "trow");
	aj_emit_body(E, at, T.i, 1, cur);
	aj_loop_end(E, &T, 1);
}

/* The block of w rows from row pointers at and w columns from j. */
static void emit_block(aj_emitter *E, LLVMValueRef *at, LLVMValueRef j,
		       LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	int w = E->lanes, nd = k->ndim;
	LLVMValueRef tr[k->nop][w], row[k->nop];
	for (int o = 0; o < k->nop; o++) {
		if (k->op_class[o] != AJ_SC_ANY)
			continue;
		LLVMValueRef st = E->stride[o * nd + nd - 1];
		LLVMValueRef off = LLVMBuildMul(E->B, j, st, "");
		LLVMValueRef p = LLVMBuildGEP2(E->B, E->i8, at[o], &off, 1, "");
		for (int c = 0; c < w; c++) {
			if (c)
				p = LLVMBuildGEP2(E->B, E->i8, p, &st, 1, "");
			tr[o][c] = aj_load_elem(E, k->op_dtype[o], w, p);
		}
		transpose(E, tr[o], w);
	}
	memcpy(row, at, (size_t)k->nop * sizeof *row);
	for (int r = 0; r < w; r++) {
		if (r)
			aj_advance(E, row, row, nd - 2, i64c(E, 1));
		for (int o = 0; o < k->nop; o++)
			E->given[o] =
			    k->op_class[o] == AJ_SC_ANY ? tr[o][r] : NULL;
		aj_emit_hoisted(E, row);
		aj_emit_body(E, row, j, w, cur);
	}
	memset(E->given, 0, (size_t)k->nop * sizeof *E->given);
}

/* The blocks of the w rows from row pointers at, columns [start, end) (a
 * multiple of w). With E->nt_cond (emit_tiled), their stores are
 * nontemporal, and the rows go one element at a time when the condition
 * fails. */
static void emit_blocks(aj_emitter *E, LLVMValueRef *at, LLVMValueRef start,
			LLVMValueRef end, LLVMValueRef *cur)
{
	LLVMBasicBlockRef nt = NULL, rows = NULL, done = NULL;
	if (E->nt_cond) {
		nt = LLVMAppendBasicBlockInContext(E->C, E->fn, "nt");
		rows = LLVMAppendBasicBlockInContext(E->C, E->fn, "unaligned");
		done = LLVMAppendBasicBlockInContext(E->C, E->fn, "blocked");
		LLVMBuildCondBr(E->B, E->nt_cond, nt, rows);
		LLVMPositionBuilderAtEnd(E->B, nt);
	}
	aj_loop J;
	E->tile_nt = E->nt_cond != NULL;
	aj_loop_begin(E, &J, start, end, "block");
	emit_block(E, at, J.i, cur);
	aj_loop_end(E, &J, E->lanes);
	E->tile_nt = false;
	if (!E->nt_cond)
		return;
	LLVMBuildBr(E->B, done);
	LLVMPositionBuilderAtEnd(E->B, rows);
	LLVMValueRef row[E->k->nop];
	aj_loop L;
	aj_loop_begin(E, &L, i64c(E, 0), i64c(E, E->lanes), "urows");
	aj_advance(E, row, at, E->k->ndim - 2, L.i);
	emit_row(E, row, start, end, cur);
	aj_loop_end(E, &L, 1);
	LLVMBuildBr(E->B, done);
	LLVMPositionBuilderAtEnd(E->B, done);
}

/* The tiles of rows [start, end) of loop ndim-2 by all of loop ndim-1. */
static void emit_tiles(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
		       LLVMValueRef end, LLVMValueRef *cur)
{
	const aj_kdesc *k = E->k;
	int w = E->lanes, nd = k->ndim;
	LLVMValueRef ncol = E->shape[nd - 1], zero = i64c(E, 0);
	LLVMValueRef at[k->nop], row[k->nop];
	aj_loop R, C, I, L;
	aj_loop_begin(E, &R, start, end, "rtile");
	LLVMValueRef rows = i64c(E, AJ_TILE_ROWS), cols = i64c(E, AJ_TILE_COLS);
	LLVMValueRef rend = smin(E, LLVMBuildAdd(E->B, R.i, rows, ""), end);
	LLVMValueRef rwhole = whole_end(E, R.i, rend, w);
	aj_loop_begin(E, &C, zero, ncol, "ctile");
	LLVMValueRef cend = smin(E, LLVMBuildAdd(E->B, C.i, cols, ""), ncol);
	LLVMValueRef cwhole = whole_end(E, C.i, cend, w);
	aj_loop_begin(E, &I, R.i, rwhole, "brows");
	aj_advance(E, at, base, nd - 2, I.i);
	emit_blocks(E, at, C.i, cwhole, cur);
	aj_loop_begin(E, &L, zero, i64c(E, w), "bcols");
	aj_advance(E, row, at, nd - 2, L.i);
	emit_row(E, row, cwhole, cend, cur);
	aj_loop_end(E, &L, 1);
	aj_loop_end(E, &I, w);
	aj_loop_begin(E, &L, rwhole, rend, "lrows");
	aj_advance(E, row, base, nd - 2, L.i);
	emit_row(E, row, C.i, cend, cur);
	aj_loop_end(E, &L, 1);
	aj_loop_end(E, &C, AJ_TILE_COLS);
	aj_loop_end(E, &R, AJ_TILE_ROWS);
}

/*
 * Nontemporal stores: a tiled kernel's outputs are written whole lines
 * at a time, so when the call is too large to stay in the caches (k->nt,
 * chosen per call from the bytes its operands span, run.c), the blocks'
 * vector stores skip the caches and the line's read for ownership.
 * Measured, 4000 x 4000 float64 on 2 threads (AVX-512), against arrjit's
 * own `out = a` in the same run: a + a.T 57% -> 71%, a.T.copy() 77% ->
 * 92%. They need aligned addresses: each such output's base and row
 * stride a multiple of its vector's bytes (the columns of blocks are,
 * from 0). The call asks for them only then (run.c), so the kernel has
 * the nontemporal blocks alone; as a prepared kernel's arrays may sit
 * anywhere, it checks again at run time and goes row by row, element by
 * element, when they do not hold (correct, slower; never for the call
 * that chose it). One copy of the blocks: 2-3 ms less to compile than
 * the cached blocks beside them. An sfence orders the stores before
 * whatever follows the kernel (another thread's reads after the pool's
 * hand-over).
 */

/* Whether the outputs are aligned for the nontemporal tiles. */
static LLVMValueRef nt_applies(aj_emitter *E, LLVMValueRef *base)
{
	const aj_kdesc *k = E->k;
	int nd = k->ndim;
	LLVMValueRef bad = i64c(E, 0);
	for (int o = 0; o < k->nout; o++) {
		int nb = aj_nt_bytes(k, o, E->lanes);
		if (!nb)
			continue;
		LLVMValueRef at = LLVMBuildPtrToInt(E->B, base[o], E->i64, "");
		at = LLVMBuildOr(E->B, at, E->stride[o * nd + nd - 2], "");
		at = LLVMBuildAnd(E->B, at, i64c(E, nb - 1), "");
		bad = LLVMBuildOr(E->B, bad, at, "");
	}
	return LLVMBuildICmp(E->B, LLVMIntEQ, bad, i64c(E, 0), "nt");
}

/* The tiles, with nontemporal stores where they apply. */
void aj_emit_tiled(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
		   LLVMValueRef end, LLVMValueRef *cur)
{
	bool any = false;
	for (int o = 0; o < E->k->nout && E->k->nt; o++)
		any |= aj_nt_bytes(E->k, o, E->lanes) != 0;
	E->nt_cond = any ? nt_applies(E, base) : NULL;
	emit_tiles(E, base, start, end, cur);
	if (any)
		aj_emit_sfence(E);
	E->nt_cond = NULL;
}
