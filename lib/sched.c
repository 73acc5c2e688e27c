/*
 * The loop nest for one kernel call. Rules, applied in order:
 *
 *  1. Axes of extent 1 are dropped; an axis of extent 0 empties the call.
 *  2. An axis along which output 0 runs backwards is flipped for every
 *     operand (each base moves to that axis's last element): elementwise
 *     work does not care about order, and the output then streams forward.
 *  3. Axes are ordered by output 0's |stride|, largest outermost, so the
 *     innermost loop runs along its smallest stride. Ties keep C order. A
 *     reduction's output has stride 0 along the reduced axes, so there the
 *     largest |stride| of any operand orders instead: the inputs stream,
 *     and sum(axis=0) of a C-order matrix adds contiguous rows.
 *  4. Adjacent axes merge when, for every operand, the outer stride equals
 *     the inner stride times the inner extent.
 *  5. The innermost stride of each operand gets its class: itemsize is
 *     CONTIG, minus itemsize RCONTIG, 0 is ZERO, anything else ANY. A nest
 *     of one element is made CONTIG throughout.
 *
 *  6. Tiling: an elementwise call whose inputs disagree with its outputs
 *     on the fastest axis (a + a.T) reads such an input one element per
 *     cache line along the inner loop. When each operand of class ANY is
 *     an input of a 4- or 8-byte real or integer dtype that is unit-stride
 *     (+itemsize) along loop ndim-2, every output is CONTIG and no value
 *     reads positions (index, take, random), the kernel is marked tile:
 *     it walks loops ndim-2 and ndim-1 in tiles and transposes those
 *     inputs in registers (jit/tile.c). Not for a serial call
 *     (alias.c): tiles change the order in which elements are visited.
 *     The rule looks at classes and strides alone, like rule 5, so it is
 *     decided again whenever alias.c changes them (aj_sched_tile).
 *
 * A call marked c_order (a compress kernel: its output is written in the
 * order its elements are visited, kernel.h) skips rules 2 and 3: its
 * loops stay in C order. Merging (rule 4) keeps that order. (Its output's
 * strides are 0, which rules 2 and 3 would leave in C order today; the
 * flag makes that a rule rather than a coincidence of their keys.)
 */
#include "fuse.h"

#include <stdlib.h>
#include <string.h>

typedef struct axis {
	int64_t n;
	int64_t key; /* |stride| of output 0, for ordering */
	int src;     /* original axis */
	bool flip;   /* rule 2 reverses it */
} axis;

/* Rule 3's key of axis d. */
static int64_t order_key(const aj_kcall *call, int ndim, const int64_t *strides,
			 int d)
{
	int64_t key = llabs(strides[d]);
	if (call->k.red != AJ_NOP)
		for (int o = 1; o < call->k.nop; o++)
			if (llabs(strides[o * ndim + d]) > key)
				key = llabs(strides[o * ndim + d]);
	return key;
}

/* Insertion sort, stable, by key descending (rule 3). */
static void order_axes(axis *ax, int nd)
{
	for (int i = 1; i < nd; i++) {
		axis t = ax[i];
		int j = i;
		for (; j > 0 && ax[j - 1].key < t.key; j--)
			ax[j] = ax[j - 1];
		ax[j] = t;
	}
}

static bool mergeable(const int64_t *st, int nop, int nd, int outer, int inner,
		      int64_t ninner)
{
	for (int o = 0; o < nop; o++)
		if (st[o * nd + outer] != st[o * nd + inner] * ninner)
			return false;
	return true;
}

aj_status aj_sched(aj_arena *arena, aj_kcall *call, int ndim,
		   const int64_t *shape, const int64_t *strides)
{
	int nop = call->k.nop;
	axis ax[AJ_MAX_NDIM];
	int nd = 0;
	call->nelem = 1;
	for (int d = 0; d < ndim; d++) {
		if (shape[d] == 0)
			call->nelem = 0;
		if (shape[d] <= 1)
			continue; /* rule 1 */
		bool flip = strides[d] < 0 && !call->c_order; /* rule 2 */
		if (flip)
			for (int o = 0; o < nop; o++)
				call->ptr[o] += (shape[d] - 1) * strides[o * ndim + d];
		ax[nd++] = (axis){shape[d], order_key(call, ndim, strides, d), d, flip};
	}
	if (!call->c_order)
		order_axes(ax, nd);

	int cap = nd ? nd : 1;
	int64_t *sh = aj_arena_alloc(arena, (size_t)cap * 8);
	int64_t *st = aj_arena_alloc(arena, (size_t)(cap * nop) * 8);
	uint8_t *cls = aj_arena_alloc(arena, (size_t)nop);
	if (!sh || !st || !cls)
		return AJ_ERR_NOMEM;
	for (int k = 0; k < nd; k++) {
		sh[k] = ax[k].n;
		for (int o = 0; o < nop; o++) {
			int64_t s = strides[o * ndim + ax[k].src];
			st[o * cap + k] = ax[k].flip ? -s : s;
		}
	}
	/* rule 4: merge in place, walking from the innermost axis out */
	int m = nd;
	for (int k = nd - 2; k >= 0; k--) {
		if (!mergeable(st, nop, cap, k, k + 1, sh[k + 1]))
			continue;
		sh[k] *= sh[k + 1];
		for (int o = 0; o < nop; o++)
			st[o * cap + k] = st[o * cap + k + 1];
		memmove(&sh[k + 1], &sh[k + 2], (size_t)(m - k - 2) * 8);
		for (int o = 0; o < nop; o++)
			memmove(&st[o * cap + k + 1], &st[o * cap + k + 2],
				(size_t)(m - k - 2) * 8);
		m--;
	}
	if (m == 0) { /* one element */
		m = 1;
		sh[0] = 1;
		for (int o = 0; o < nop; o++)
			st[o * cap] = 0;
	}
	/* compact the strides to nop x m */
	for (int o = 0; o < nop; o++)
		memmove(&st[o * m], &st[o * cap], (size_t)m * 8);
	for (int o = 0; o < nop; o++) { /* rule 5 */
		int64_t s = st[o * m + m - 1];
		int64_t size = aj_dtypes[call->k.op_dtype[o]].size;
		if (sh[m - 1] == 1)
			st[o * m + m - 1] = s = size;
		cls[o] = aj_stride_class(s, size);
	}
	call->k.ndim = m;
	call->k.op_class = cls;
	call->shape = sh;
	call->strides = st;
	if (call->nelem)
		for (int k = 0; k < m; k++)
			call->nelem *= sh[k];
	aj_sched_tile(call);
	return AJ_OK;
}

/* Whether operand o of c may be read transposed (rule 6). */
static bool transposable(const aj_kcall *c, int o)
{
	aj_dtype t = (aj_dtype)c->k.op_dtype[o];
	int nd = c->k.ndim;
	int64_t size = aj_dtypes[t].size;
	return o >= c->k.nout && (size == 4 || size == 8) && !aj_is_complex(t) &&
	       t != AJ_BOOL && c->strides[o * nd + nd - 2] == size;
}

void aj_sched_tile(aj_kcall *c)
{
	const aj_kdesc *k = &c->k;
	c->k.tile = 0;
	if (k->ndim < 2 || k->red != AJ_NOP || k->compress || c->c_order ||
	    c->serial || c->nchunk || k->isa == AJ_ISA_SCALAR)
		return;
	for (int i = 0; i < k->nval; i++)
		if (k->val[i].op == AJ_OP_INDEX || k->val[i].op == AJ_OP_TAKE)
			return;
	int ntrans = 0;
	for (int o = 0; o < k->nop; o++) {
		if (o < k->nout && k->op_class[o] != AJ_SC_CONTIG)
			return;
		if (k->op_class[o] != AJ_SC_ANY)
			continue;
		if (!transposable(c, o))
			return;
		ntrans++;
	}
	c->k.tile = ntrans > 0;
}
