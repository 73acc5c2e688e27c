/*
 * Outputs that share memory with inputs: NumPy's result, as if every input
 * had been read before any output was written, at the least cost.
 *
 * The question is asked of one elementwise kernel call after the loop nest
 * is scheduled (sched.c), for each output against each input:
 *
 *  1. Disjoint: byte extents apart, or the exact test (overlap.c) finds no
 *     byte both views touch (a[::2] = a[1::2]). Nothing to do.
 *  2. Identical view: element i is read before it is written at the same
 *     index (a = a*2 + 1). Nothing to do.
 *  3. The same strides on every loop, so the input is the output shifted
 *     by d bytes (a[1:] = a[:-1] + 1), and the output's addresses grow (or
 *     shrink) with the iteration order. Reading ahead of the writes (d >= 0
 *     for growing addresses) is safe in that order; reading behind them is
 *     safe in the reverse order, which is the same loop nest with every
 *     loop flipped. A vector step reads all its lanes before it stores
 *     any, so it is as safe as the scalar order. Either way the call runs
 *     on the caller alone, loop 0 in order: threads would run chunks out
 *     of order.
 *  4. Otherwise (a transpose, a reversal, a broadcast of the output's own
 *     elements, a layout that is not monotone): the part of the input the
 *     outputs can touch is copied to a temporary first. That part is a
 *     range of loop 0, found by bisection with the exact test, so
 *     a[:, 0] = a[0, :] copies one element, not a row. The call then runs
 *     in up to three pieces of loop 0: before the range (reading the
 *     input), the range (reading the copy), after it (the input again).
 *
 * An input that needs the forward order and one that needs the reverse
 * cannot both have it: the second is copied. An output whose elements
 * overlap each other is an error, as in NumPy.
 *
 *  5. An input a take reads through (a gather) whose array an output
 *     overlaps: element i reads elements other than i, some perhaps
 *     written already, even through the identical view (a[:] = a[r]). The
 *     bytes the array spans are copied first and the take reads the copy:
 *     the same strides from a rebased pointer, so the kernel is the same.
 */
#include "fuse.h"
#include "overlap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Steps the exact test may take per question: a few milliseconds at most,
 * and only for views that really interleave. UNKNOWN counts as overlap. */
enum { MAX_WORK = 1 << 16 };

bool aj_may_overlap(const aj_array *a, const aj_array *b)
{
	char *alo, *ahi, *blo, *bhi;
	return aj_array_extent(a, &alo, &ahi) && aj_array_extent(b, &blo, &bhi) &&
	       alo <= bhi && blo <= ahi;
}

bool aj_overlaps(const aj_array *a, const aj_array *b)
{
	return aj_may_overlap(a, b) && aj_views_overlap(a, b, MAX_WORK) != AJ_OVERLAP_NO;
}

typedef enum need { FREE, FORWARD, REVERSE, COPY } need;

/* +1 if output o's addresses grow with the loop nest's order (each loop's
 * stride at least the span of the loops inside it), -1 if they shrink,
 * 0 otherwise. */
static int direction(const aj_kcall *c, int o)
{
	int nd = c->k.ndim, dir = 0;
	const int64_t *st = c->strides + o * nd;
	int64_t span = aj_dtypes[c->k.op_dtype[o]].size;
	for (int d = nd; d-- > 0;) {
		int sign = st[d] > 0 ? 1 : st[d] < 0 ? -1 : 0;
		if (c->shape[d] == 1)
			continue;
		if (!sign || (dir && sign != dir) || llabs(st[d]) < span)
			return 0;
		dir = sign;
		span = llabs(st[d]) * (c->shape[d] - 1) + span;
	}
	return dir ? dir : 1;
}

/* Rule 3 of the header for output k and input o, which share memory. */
static need order_need(const aj_kcall *c, int k, int o)
{
	int nd = c->k.ndim;
	if (memcmp(c->strides + k * nd, c->strides + o * nd, (size_t)nd * 8))
		return COPY;
	int dir = direction(c, k);
	int64_t wk = aj_dtypes[c->k.op_dtype[k]].size;
	int64_t wi = aj_dtypes[c->k.op_dtype[o]].size;
	int64_t d = (int64_t)((intptr_t)c->ptr[o] - (intptr_t)c->ptr[k]);
	bool up = d >= 0, down = d <= wk - wi; /* safe orders of addresses */
	if (dir > 0)
		return up ? FORWARD : down ? REVERSE : COPY;
	if (dir < 0)
		return down ? FORWARD : up ? REVERSE : COPY;
	return COPY;
}

/* Input o of call c over iterations [a, b) of loop 0, as a view; like
 * gives its dtype and buffer. With squash, the loops along which it does
 * not move get extent 1 (the shape of its copy). */
static void sub_view(const aj_kcall *c, int o, const aj_array *like, int64_t a,
		     int64_t b, bool squash, aj_array *v)
{
	int nd = c->k.ndim;
	*v = *like;
	v->ndim = nd;
	v->data = c->ptr[o] + a * c->strides[o * nd];
	for (int d = 0; d < nd; d++) {
		v->strides[d] = c->strides[o * nd + d];
		v->shape[d] = squash && !v->strides[d] ? 1 : c->shape[d];
	}
	v->shape[0] = squash && !v->strides[0] ? 1 : b - a;
}

/* Whether input o over [a, b) of loop 0 may share a byte with an output
 * in the mask outs. */
static bool range_hits(const aj_kcall *c, int o, const aj_array *const *opnd,
		       uint32_t outs, int64_t a, int64_t b)
{
	if (a >= b)
		return false;
	aj_array v;
	sub_view(c, o, opnd[o], a, b, false, &v);
	for (int k = 0; k < c->k.nout; k++)
		if ((outs >> k & 1) && aj_overlaps(&v, opnd[k]))
			return true;
	return false;
}

/* The smallest [*lo, *hi) of loop 0 outside which input o shares no byte
 * with the outputs outs (which it does somewhere). */
static void hit_range(const aj_kcall *c, int o, const aj_array *const *opnd,
		      uint32_t outs, int64_t *lo, int64_t *hi)
{
	int64_t n = c->shape[0], a = 0, b = n;
	while (b - a > 1) { /* [0, a) misses, [0, b) hits */
		int64_t m = a + (b - a) / 2;
		*(range_hits(c, o, opnd, outs, 0, m) ? &b : &a) = m;
	}
	*lo = a;
	for (b = n; b - a > 1;) { /* [a, n) hits, [b, n) misses */
		int64_t m = a + (b - a) / 2;
		*(range_hits(c, o, opnd, outs, m, n) ? &a : &b) = m;
	}
	*hi = b;
}

/* Flips every loop of c for every operand: the reverse order. */
static void reverse(aj_kcall *c)
{
	int nd = c->k.ndim;
	for (int o = 0; o < c->k.nop; o++) {
		int64_t *st = c->strides + o * nd;
		for (int d = 0; d < nd; d++) {
			c->ptr[o] += (c->shape[d] - 1) * st[d];
			st[d] = -st[d];
		}
		int64_t size = aj_dtypes[c->k.op_dtype[o]].size;
		if (c->shape[nd - 1] > 1) /* sched.c's rule 5 */
			c->k.op_class[o] = (uint8_t)aj_stride_class(st[nd - 1], size);
	}
}

/* Loop 0 iterations [a, b) of c as a call of its own, written to *piece. */
static aj_status cut(aj_prog *p, const aj_kcall *c, int64_t a, int64_t b,
		     aj_kcall *piece)
{
	int nd = c->k.ndim, nop = c->k.nop;
	*piece = *c;
	piece->shape = aj_arena_alloc(&p->arena, (size_t)nd * 8);
	piece->ptr = aj_arena_alloc(&p->arena, (size_t)nop * sizeof *piece->ptr);
	piece->strides = aj_arena_alloc(&p->arena, (size_t)(nd * nop) * 8);
	if (!piece->shape || !piece->ptr || !piece->strides)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memcpy(piece->shape, c->shape, (size_t)nd * 8);
	memcpy(piece->strides, c->strides, (size_t)(nd * nop) * 8);
	piece->shape[0] = b - a;
	piece->nelem = c->shape[0] ? c->nelem / c->shape[0] * (b - a) : 0;
	for (int o = 0; o < nop; o++)
		piece->ptr[o] = c->ptr[o] + a * c->strides[o * nd];
	return AJ_OK;
}

/* The note of a call reading copies of [lo, hi) of loop 0, bytes in all. */
static const char *copy_note(aj_prog *p, const char *was, int64_t lo, int64_t hi,
			     int64_t bytes)
{
	char *s = aj_arena_alloc(&p->arena, 256);
	if (s)
		snprintf(s, 256, "%s%sreads a copy of loop 0 [%lld, %lld) of the "
			 "inputs an output overlaps (%lld bytes)", was ? was : "",
			 was ? "; " : "", (long long)lo, (long long)hi,
			 (long long)bytes);
	return s;
}

/* Lays the C-order scratch array a out again, its second-last axis
 * innermost: the copy of an input a tiled kernel reads transposed
 * (sched.c rule 6) stays transposed, so the piece reading it has the same
 * rule-6 decision, and kernel, as the others. */
static void rows_inner(aj_array *a)
{
	int nd = a->ndim;
	int64_t size = aj_dtypes[a->dtype].size, at = size * a->shape[nd - 2];
	a->strides[nd - 2] = size;
	for (int d = nd; d-- > 0;)
		if (d != nd - 2) {
			a->strides[d] = at;
			at *= a->shape[d];
		}
}

/* The copies and the pieces of loop 0, for the inputs marked COPY. */
static aj_status copy_inputs(aj_prog *p, aj_kcall *c, const aj_array *const *opnd,
			     const need *nd_of, const uint32_t *outs_of,
			     aj_kcall *calls, int *ncall)
{
	int nd = c->k.ndim, nop = c->k.nop;
	int64_t lo = c->shape[0], hi = 0, bytes = 0;
	for (int o = c->k.nout; o < nop; o++) {
		if (nd_of[o] != COPY)
			continue;
		int64_t a, b;
		hit_range(c, o, opnd, outs_of[o], &a, &b);
		lo = a < lo ? a : lo;
		hi = b > hi ? b : hi;
	}
	aj_kcall mid;
	aj_status s = cut(p, c, lo, hi, &mid);
	for (int o = c->k.nout; s == AJ_OK && o < nop; o++) {
		if (nd_of[o] != COPY)
			continue;
		aj_array *src = aj_arena_alloc(&p->arena, sizeof *src), *tmp;
		if (!src)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		sub_view(c, o, opnd[o], lo, hi, true, src);
		tmp = aj_scratch(p, src->dtype, nd, src->shape);
		if (!tmp)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		if (c->k.tile && c->k.op_class[o] == AJ_SC_ANY)
			rows_inner(tmp);
		/* the copy runs along the input's strides' signs, so that its
		 * inner stride has the class the kernel was made for */
		for (int d = 0; d < nd; d++) {
			if (src->strides[d] < 0) {
				tmp->data += (tmp->shape[d] - 1) * tmp->strides[d];
				tmp->strides[d] = -tmp->strides[d];
			}
			mid.strides[o * nd + d] = src->strides[d] ? tmp->strides[d] : 0;
		}
		s = aj_copy_call(p, &calls[(*ncall)++], tmp, src);
		mid.ptr[o] = tmp->data;
		int64_t n = aj_dtypes[tmp->dtype].size;
		for (int d = 0; d < nd; d++)
			n *= tmp->shape[d];
		bytes += n;
	}
	mid.note = copy_note(p, c->note, lo, hi, bytes);
	aj_kcall after;
	if (s == AJ_OK && lo > 0 && (s = cut(p, c, 0, lo, &calls[*ncall])) == AJ_OK)
		calls[(*ncall)++].note = mid.note;
	calls[(*ncall)++] = mid;
	if (s == AJ_OK && hi < c->shape[0] &&
	    (s = cut(p, c, hi, c->shape[0], &after)) == AJ_OK) {
		after.note = mid.note;
		calls[(*ncall)++] = after;
	}
	return s;
}

/* Case 5: operand o of c, through which a take reads src, reads a copy
 * of src's bytes made by a call appended to calls. */
static aj_status copy_gathered(aj_prog *p, aj_kcall *c, int o, const aj_array *src,
			       aj_kcall *calls, int *ncall)
{
	char *first, *last;
	aj_array *bytes = aj_arena_alloc(&p->arena, sizeof *bytes);
	if (!bytes || !aj_array_extent(src, &first, &last))
		return bytes ? AJ_OK : aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	int64_t n = last - first + 1;
	*bytes = (aj_array){.ctx = p->ctx, .data = first, .lo = first,
			    .hi = last + 1, .dtype = AJ_UINT8, .ndim = 1,
			    .shape = {n}, .strides = {1}};
	aj_array *tmp = aj_scratch(p, AJ_UINT8, 1, &n);
	if (!tmp)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	aj_status s = aj_copy_call(p, &calls[*ncall], tmp, bytes);
	if (s != AJ_OK)
		return s;
	calls[(*ncall)++].note = "copy of an array an output overlaps, for "
				 "the take that reads it";
	c->ptr[o] = tmp->data + (c->ptr[o] - first);
	return AJ_OK;
}

static aj_status resolve(aj_prog *p, aj_kcall *c, const aj_array *const *opnd,
			 const aj_array *const *gathered, aj_kcall *calls,
			 int *ncall)
{
	int nop = c->k.nop, nout = c->k.nout;
	need order = FREE;
	bool meet = false;
	bool *done = aj_arena_alloc(&p->arena, (size_t)nop);
	if (!done)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	memset(done, 0, (size_t)nop);
	for (int k = 0; k < nout; k++) {
		if (aj_self_overlap(opnd[k], MAX_WORK) != AJ_OVERLAP_NO)
			return aj_prog_error(p, AJ_ERR_OVERLAP, "output elements "
					     "overlap each other in memory");
		for (int o = nout; o < nop; o++) {
			if (done[o] || !gathered[o] || !aj_overlaps(opnd[k], gathered[o]))
				continue;
			aj_status s = copy_gathered(p, c, o, gathered[o], calls, ncall);
			if (s != AJ_OK)
				return s;
			done[o] = true;
		}
		for (int o = nout; o < nop && !meet; o++)
			meet = !done[o] && aj_may_overlap(opnd[k], opnd[o]);
	}
	if (!meet) { /* the common case: nothing to decide */
		calls[(*ncall)++] = *c;
		return AJ_OK;
	}
	need *nd_of = aj_arena_alloc(&p->arena, (size_t)nop * sizeof *nd_of);
	uint32_t *outs_of = aj_arena_alloc(&p->arena, (size_t)nop * sizeof *outs_of);
	if (!nd_of || !outs_of)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	bool copy = false;
	for (int o = nout; o < nop; o++) {
		nd_of[o] = FREE;
		outs_of[o] = 0;
		for (int k = 0; k < nout && !done[o]; k++) {
			if (!aj_may_overlap(opnd[k], opnd[o]) ||
			    aj_same_elements(opnd[k], opnd[o]) ||
			    !aj_overlaps(opnd[k], opnd[o]))
				continue;
			need n = order_need(c, k, o);
			outs_of[o] |= 1u << k;
			if (nd_of[o] == FREE || n == COPY)
				nd_of[o] = n;
			else if (nd_of[o] != n)
				nd_of[o] = COPY;
		}
		if (nd_of[o] == FORWARD || nd_of[o] == REVERSE) {
			if (order == FREE)
				order = nd_of[o];
			else if (order != nd_of[o])
				nd_of[o] = COPY;
		}
		copy |= nd_of[o] == COPY;
	}
	if (order == REVERSE)
		reverse(c);
	if (order != FREE) {
		c->serial = true;
		c->note = order == REVERSE
			? "serial, loops reversed: an output overlaps an input "
			  "it reads behind it"
			: "serial: an output overlaps an input it reads ahead of it";
	}
	if (!copy) {
		calls[(*ncall)++] = *c;
		return AJ_OK;
	}
	return copy_inputs(p, c, opnd, nd_of, outs_of, calls, ncall);
}

/* Tiling (sched.c rule 6) is decided again for the calls made here: a
 * serial call runs untiled, and a copy changes its reader's strides. */
aj_status aj_resolve_overlap(aj_prog *p, aj_kcall *c, const aj_array *const *opnd,
			     const aj_array *const *gathered, aj_kcall *calls,
			     int *ncall)
{
	int first = *ncall;
	aj_status s = resolve(p, c, opnd, gathered, calls, ncall);
	for (int j = first; s == AJ_OK && j < *ncall; j++)
		aj_sched_tile(&calls[j]);
	return s;
}
