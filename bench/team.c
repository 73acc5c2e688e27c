/*
 * The harness's thread team (see team.h). One job at a time: the caller
 * publishes it and bumps gen; each member runs its chunk and counts itself
 * done; the caller waits for the count. Chunk bounds depend only on n,
 * grain and the number of parts, never on timing.
 */
#define _POSIX_C_SOURCE 200809L

#include "team.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { SPIN = 1 << 16 }; /* polls of gen before a member sleeps */

struct team {
	int n;
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_uint gen;  /* bumped once per job; members run on a change */
	atomic_int ndone; /* members (not the caller) done with this job */
	bool quit;
	team_fn *fn;
	void *arg;
	int64_t len, grain;
	int nparts;
};

typedef struct member {
	team *t;
	int part;
} member;

/* Chunk part of nparts over [0, t->len), in multiples of t->grain. */
static void run_chunk(team *t, int part)
{
	if (part >= t->nparts)
		return;
	int64_t units = (t->len + t->grain - 1) / t->grain;
	int64_t lo = units * part / t->nparts * t->grain;
	int64_t hi = units * (part + 1) / t->nparts * t->grain;
	if (hi > t->len)
		hi = t->len;
	if (lo < hi)
		t->fn(t->arg, lo, hi, part);
}

/* Waits until gen differs from seen; returns the new value. */
static unsigned wait_job(team *t, unsigned seen)
{
	for (int k = 0; k < SPIN; k++) {
		unsigned g = atomic_load(&t->gen);
		if (g != seen)
			return g;
	}
	pthread_mutex_lock(&t->mu);
	while (atomic_load(&t->gen) == seen)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	return atomic_load(&t->gen);
}

static void *member_main(void *p)
{
	member *m = p;
	team *t = m->t;
	unsigned seen = 0;
	for (;;) {
		seen = wait_job(t, seen);
		if (t->quit)
			break;
		run_chunk(t, m->part);
		atomic_fetch_add(&t->ndone, 1);
	}
	free(m);
	return NULL;
}

static void publish(team *t)
{
	pthread_mutex_lock(&t->mu);
	atomic_store(&t->ndone, 0);
	atomic_fetch_add(&t->gen, 1);
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

team *team_new(int n)
{
	team *t = calloc(1, sizeof *t);
	if (!t || !(t->th = calloc((size_t)n, sizeof *t->th))) {
		free(t);
		return NULL;
	}
	t->n = 1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	for (int k = 1; k < n; k++) {
		member *m = malloc(sizeof *m);
		if (!m)
			break;
		*m = (member){t, k};
		if (pthread_create(&t->th[k], NULL, member_main, m)) {
			free(m);
			break;
		}
		t->n++;
	}
	if (t->n < n) {
		team_free(t);
		return NULL;
	}
	return t;
}

void team_free(team *t)
{
	if (!t)
		return;
	t->quit = true;
	publish(t);
	for (int k = 1; k < t->n; k++)
		pthread_join(t->th[k], NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t->th);
	free(t);
}

int team_size(const team *t)
{
	return t->n;
}

void team_run(team *t, team_fn *fn, void *arg, int64_t n, int64_t grain,
	      int nparts)
{
	t->fn = fn;
	t->arg = arg;
	t->len = n;
	t->grain = grain > 0 ? grain : 1;
	t->nparts = nparts > 0 && nparts < t->n ? nparts : t->n;
	if (t->n == 1 || t->nparts == 1) {
		run_chunk(t, 0);
		return;
	}
	publish(t);
	run_chunk(t, 0);
	while (atomic_load(&t->ndone) < t->n - 1)
		sched_yield();
}
