/*
 * The driver: runs a program's pending assignments through the pipeline.
 *
 *   pending assignments (out = expr DAG)
 *        |  fuse     kernels per assignment: one loop nest per reduction and
 *        |           one for the rest; SSA values, casts, CSE      (fuse.c)
 *        |  alias    refuse unsupported overlap of out and inputs  (fuse.c)
 *        |  sched    drop, flip, order and merge loops; stride classes (sched.c)
 *        |  key      canonical bytes of the kernel description     (cache.c)
 *        |  resolve  program memo -> context cache -> JIT compile   (cache.c, jit/)
 *        v  call     the kernel over the loop nest
 *
 * Every assignment is fused, checked and compiled before the first kernel
 * runs, so a failing call writes nothing to any output. The one exception
 * is a data-dependent error (an integer raised to a negative exponent
 * array): its check runs with its assignment, before that assignment's
 * output is written; assignments before it in the same sync have run, as
 * NumPy statements would have.
 */
#include "cache.h"
#include "fuse.h"

aj_status aj_run(aj_prog *p)
{
	uint32_t n = p->npending;
	if (n == 0)
		return AJ_OK;
	aj_kcall **calls = aj_arena_alloc(&p->arena, n * sizeof *calls);
	int *ncall = aj_arena_alloc(&p->arena, n * sizeof *ncall);
	if (!calls || !ncall)
		return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		aj_status s = aj_fuse(p, &p->pending[i], &calls[i], &ncall[i]);
		for (int j = 0; s == AJ_OK && j < ncall[i]; j++)
			s = aj_cache_resolve(p, &calls[i][j]);
		if (s != AJ_OK)
			return s;
	}
	for (uint32_t i = 0; i < n; i++) {
		for (int j = 0; j < ncall[i]; j++) {
			aj_kcall *c = &calls[i][j];
			if (c->nelem == 0)
				continue;
			c->fn(c->ptr, c->shape, c->strides, c->scalars, 0, c->shape[0]);
			atomic_fetch_add_explicit(&p->ctx->kernels_run, 1,
						  memory_order_relaxed);
			if (c->fail_if && *c->fail_if)
				return aj_prog_error(p, AJ_ERR_ARG, "%s", c->fail_msg);
		}
	}
	return AJ_OK;
}
