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
	int ncall;
} aj_group;

/* Lowers the longest group that starts at as[0] of the nas pending
 * assignments as[] into kernel calls. */
aj_status aj_fuse(aj_prog *p, const aj_assignment *as, int nas, aj_group *g);

/*
 * Fills call's loop nest from the full iteration space: ndim axes of extent
 * shape[d], strides[o*ndim + d] for each of call->k.nop operands, whose
 * base pointers are in call->ptr. Sets k.ndim, k.op_class, shape, strides,
 * nelem, and may move call->ptr (flipped axes).
 */
aj_status aj_sched(aj_arena *arena, aj_kcall *call, int ndim,
		   const int64_t *shape, const int64_t *strides);

#endif
