/*
 * The eager baseline: each workload evaluated one operation at a time, the
 * way NumPy runs an expression, on one thread. Every operation writes a
 * fresh temporary from malloc, freed as soon as nothing reads it; the last
 * one is the result, returned to the caller, who frees it after the next
 * run (as rebinding a NumPy name does). In-place workloads write t->out
 * and return NULL. Compiled like handloops.c; transcendental operations
 * use the same SLEEF vectors as the *_sleef hand loops, and a workload of
 * a single operation runs its hand loop on one thread into a new buffer.
 *
 * The arguments are the hand loops' (handloops.h): the task, and n, the
 * length of the range the hand loop would split.
 */
#ifndef AJ_BENCH_EAGER_H
#define AJ_BENCH_EAGER_H

#include "handloops.h"

typedef void *eg_fn(hl_task *t, int64_t n);

eg_fn eg_seed, eg_add1, eg_shift_back, eg_shift_fwd, eg_scale,
    eg_scale_inplace, eg_axpy2, eg_mix5, eg_strided_add, eg_where_add,
    eg_hypot, eg_exp_mix, eg_exp_mix_f32, eg_tanh, eg_poly, eg_pow50,
    eg_logexp, eg_where, eg_outer, eg_add_transpose, eg_transpose_copy,
    eg_sum_axis0, eg_sum_axis1, eg_sum_row0, eg_sum_col0, eg_norm,
    eg_random;

#endif
