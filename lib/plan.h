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

/*
 * A plan named so that a later call can ask whether it is still kept
 * (program.c remembers which plan a text's work replayed, and runs it
 * again without parsing the text). aj_plan_replayed: the plan the last
 * aj_plan_run replayed, if its scalar slots are constants or scalar
 * nodes' values (no random draws, whose streams move on). aj_plan_slots
 * copies its slot values into bits (if not NULL) and returns how many;
 * aj_plan_rerun sets them from bits and runs its calls, as a replay.
 */
typedef struct aj_plan_ref {
	struct aj_plan *pl;
	uint64_t serial;
} aj_plan_ref;
bool aj_plan_replayed(const aj_prog *p, aj_plan_ref *r);
bool aj_plan_alive(const aj_prog *p, aj_plan_ref r);
size_t aj_plan_slots(aj_plan_ref r, uint64_t *bits);
aj_status aj_plan_rerun(aj_prog *p, aj_plan_ref r, const uint64_t *bits);

/* How many plans p keeps, and whether any of their calls points into p's
 * arena (for tests: never). */
int aj_plans_count(const aj_prog *p, bool *in_arena);

/*
 * Prepared kernels (plan.c, aj_prepare): a plan whose calls run on new
 * arrays and scalar parameters. aj_plan_begin starts noting scratch
 * before aj_run_build; aj_pplan_new then captures the groups it built,
 * tmpl[j] being array parameter j's template (NULL for a scalar one).
 * NULL if out of memory or if the work cannot be replayed so (random
 * draws, intermediates past the plan limit, memory it cannot place).
 */
typedef struct aj_pplan aj_pplan;
void aj_plan_begin(aj_prog *p);
aj_pplan *aj_pplan_new(aj_prog *p, const aj_group *g, uint32_t ng, int nparam,
		       const aj_array *const *tmpl);
void aj_pplan_free(aj_pplan *pp);
/* Runs pp with array parameter j at data[j], scalar parameter j's slot
 * bits bits[j]; counted as a replay. */
aj_status aj_pplan_run(aj_prog *p, aj_pplan *pp, char *const *data,
		       const uint64_t *bits);

#endif
