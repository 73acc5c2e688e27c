/*
 * A tiny persistent thread team for the hand loops and the STREAM
 * reference: the harness's own, so that the yardstick runs on as many
 * threads as arrjit without borrowing arrjit's pool.
 *
 * team_run splits [0, n) into one contiguous chunk per member (multiples of
 * grain, the last takes the rest) and runs fn on every chunk at once; the
 * caller is member 0. Members wait spinning for a moment, then sleep.
 */
#ifndef AJ_BENCH_TEAM_H
#define AJ_BENCH_TEAM_H

#include <stdint.h>

typedef struct team team;

/* fn(arg, lo, hi, part): part is the chunk's index, 0 .. team_size - 1. */
typedef void team_fn(void *arg, int64_t lo, int64_t hi, int part);

/* A team of n threads, the caller included; NULL if a thread cannot start. */
team *team_new(int n);
void team_free(team *t);
int team_size(const team *t);
/* Runs fn over [0, n) split as above; returns when every chunk is done.
 * nparts caps the chunks (1 runs fn once on the caller), 0 means all. */
void team_run(team *t, team_fn *fn, void *arg, int64_t n, int64_t grain,
	      int nparts);

#endif
