/*
 * Plans: the kernel calls an aj_sync ran, remembered so that the same
 * pending work runs again without fusing, scheduling or looking kernels
 * up (plan.c).
 */
#ifndef AJ_PLAN_H
#define AJ_PLAN_H

#include "fuse.h"

aj_plans *aj_plans_new(void);
void aj_plans_free(aj_plans *ps);

/*
 * Runs p's pending work through a remembered plan if one matches it:
 * *ran is then true and the result is the run's status. Else *ran is
 * false, nothing ran, and aj_plan_keep may remember what the full
 * pipeline builds for that work.
 */
aj_status aj_plan_run(aj_prog *p, bool *ran);

/* Remembers the ng groups g the pipeline built and resolved for p's
 * pending work (after an aj_plan_run that did not run). Best effort: out
 * of memory or work a plan cannot replay keeps nothing. */
void aj_plan_keep(aj_prog *p, const aj_group *g, uint32_t ng);

/* Notes that fusion allocated n bytes at data in p's arena for an
 * intermediate result, which a remembered plan must own instead. */
void aj_plan_note_scratch(aj_prog *p, char *data, size_t n);

/* How many plans p keeps, and whether any of their calls points into p's
 * arena (for tests: never). */
int aj_plans_count(const aj_prog *p, bool *in_arena);

#endif
