/*
 * Passes between the DAG and the JIT: fusion of one assignment into a kernel
 * call (fuse.c), the aliasing check of its output (fuse.c), and the loop
 * nest over its iteration space (sched.c).
 */
#ifndef AJ_FUSE_H
#define AJ_FUSE_H

#include "core.h"
#include "kernel.h"

/* One group of pending assignments lowered together (fuse.c, rule 5). */
typedef struct aj_group {
	int nassign;     /* assignments it covers, from the first given */
	const char *why; /* why the group ends there */
	aj_kcall *calls; /* to run in order (scratch in p's arena) */
	int ncall, cap;
	int64_t temp_bytes; /* scratch its calls use for intermediates */
} aj_group;

/* The bits of scalar v in a slot of dtype t (float32 narrowed; a complex
 * scalar takes two slots, each a component). */
uint64_t aj_slot_bits(aj_dtype t, aj_scalar_val v);

/* Work per element of call c, in simple streaming elements (run.c). */
int64_t aj_call_cost(const aj_kcall *c);

/* Sets c->k.nt: whether call c (scheduled, its operands placed) stores
 * its output non-temporally (run.c). */
void aj_pick_stores(aj_ctx *ctx, aj_kcall *c);

/* Lowers the longest group that starts at as[0] of the nas pending
 * assignments as[] into kernel calls. */
aj_status aj_fuse(aj_prog *p, const aj_assignment *as, int nas, aj_group *g);

/*
 * The write kernel of a selection (select.c): node x into out in sequence
 * where bool node mask is true (a compress kernel, kernel.h), over the
 * iteration space (nd, shape), into which both broadcast; an axis of the
 * space shorter than theirs reads their first elements along it. out
 * stands for the output: x's dtype, strides 0. The calls of the reductions
 * and checks x and mask need go to g, to run before it.
 */
aj_status aj_fuse_select(aj_prog *p, uint32_t x, uint32_t mask, int nd,
			 const int64_t *shape, aj_array *out, aj_group *g,
			 aj_kcall *write);

/* Fuses p's pending assignments into groups *g[0 .. *ng) (in p's
 * arena) and resolves their kernels, running nothing (run.c): aj_run's
 * steps before the calls, which prepared kernels share. */
aj_status aj_run_build(aj_prog *p, aj_group **g, uint32_t *ng);

/* Runs calls[0 .. n) in order (run.c), each split across threads as it
 * allows; the first whose check (fail_if) is true fails with its message,
 * after running the undo calls after it if the snapshots were taken.
 * *saved (NULL: false) says whether they were before these calls, and
 * gets whether they were by the end or the failure. */
aj_status aj_run_calls(aj_prog *p, const aj_kcall *calls, int n, bool *saved);

/*
 * Fills call's loop nest from the full iteration space: ndim axes of extent
 * shape[d], strides[o*ndim + d] for each of call->k.nop operands, whose
 * base pointers are in call->ptr. Sets k.ndim, k.op_class, shape, strides,
 * nelem, and may move call->ptr (flipped axes).
 */
/* A C-order scratch array in p's arena, counted as temporary bytes. */
aj_array *aj_scratch(aj_prog *p, aj_dtype t, int nd, const int64_t *shape);

/* An index operand (kernel.h) over (nd, shape): C-order positions within
 * the axes set in axes, stride 0 along the others. In p's arena. */
aj_array *aj_index_operand(aj_prog *p, int nd, const int64_t *shape,
			   uint32_t axes);

/* c = the call copying src into dst (same shape). */
aj_status aj_copy_call(aj_prog *p, aj_kcall *c, aj_array *dst, aj_array *src);

/* Whether a and b's byte extents meet (cheap), and whether they share a
 * byte, exactly unless that takes too long (then true). */
bool aj_may_overlap(const aj_array *a, const aj_array *b);
bool aj_overlaps(const aj_array *a, const aj_array *b);

/* Appends to calls (room for c's inputs + 3) the elementwise call c with
 * its outputs' overlap with its inputs resolved (alias.c): as is, serial
 * in order or reversed, or with copies of the overlapping part of inputs
 * run first and c in pieces. opnd: c's operands, outputs first;
 * gathered: per operand, the array a take reads through it, or NULL. */
aj_status aj_resolve_overlap(aj_prog *p, aj_kcall *c, const aj_array *const *opnd,
			     const aj_array *const *gathered, aj_kcall *calls,
			     int *ncall);

aj_status aj_sched(aj_arena *arena, aj_kcall *call, int ndim,
		   const int64_t *shape, const int64_t *strides);
/* sched.c's rule 6: sets c->k.tile from c's loop nest, classes and flags. */
void aj_sched_tile(aj_kcall *c);

#endif
