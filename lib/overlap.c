/*
 * Exact memory overlap of strided views, the question np.shares_memory
 * answers, by the method NumPy's mem_overlap.c documents (after
 * Ramachandran, "Use of Extended Euclidean Algorithm in Solving a System of
 * Linear Diophantine Equations with Bounded Variables", 2006).
 *
 * A byte of view a is A + sum_i s_i x_i + p, 0 <= x_i < n_i, 0 <= p <
 * itemsize. Substituting x -> n - 1 - x where a stride is negative, and for
 * every variable of b, turns "a byte of a is a byte of b" into
 *
 *     sum_k a_k x_k = c,   0 <= x_k <= u_k,   a_k >= 1,
 *
 * with one term per axis (|stride|, extent - 1), one term for the byte
 * offsets of both views (1, itemsize_a - 1 + itemsize_b - 1), and c = b's
 * highest byte - a's lowest byte. Self-overlap asks the same of the
 * differences of two index tuples, shifted to be non-negative: bounds
 * 2 (n - 1), c = sum a_k mid_k with mid_k = n_k - 1, and the solution
 * x = mid (the same element twice) excluded.
 *
 * The search fixes the term with the smallest coefficient first, trying
 * only values that leave the rest solvable: c - a_k x_k must be a multiple
 * of the gcd of the remaining coefficients (an arithmetic progression in
 * x_k, found with the extended Euclidean algorithm) and within their reach
 * (sum a_i u_i). Every node it visits is one step of max_work.
 *
 * Invariants: terms have a >= 1 and u >= 1 (others are dropped) and are
 * sorted by a descending. Arithmetic that could overflow is checked; a
 * saturated bound is used only where a true value that large gives the
 * same answer, anything else gives UNKNOWN. Nothing allocates: a problem
 * has at most both views' axes plus one byte term.
 */
#include "overlap.h"

#include "core.h"

#include <stdbool.h>

#define MAX_TERMS (2 * AJ_MAX_NDIM + 1)

typedef struct term {
	int64_t a;   /* coefficient: a stride's magnitude, or 1 for bytes */
	int64_t u;   /* 0 <= x <= u; saturated at INT64_MAX */
	int64_t mid; /* for self-overlap: x of the trivial solution */
} term;

/* What choosing x_k at level k >= 1 needs to know about the prefix, the
 * terms 0 .. k-1 still to be solved. */
typedef struct level {
	int64_t g;     /* gcd(a_k, prefix gcd): c must be a multiple */
	int64_t m;     /* prefix gcd / g: the period of feasible x_k */
	int64_t inv;   /* (a_k / g)^-1 mod m */
	int64_t reach; /* sum of a_i u_i over the prefix, saturated */
} level;

typedef struct problem {
	term t[MAX_TERMS];
	level lv[MAX_TERMS];
	int n;
	bool self;	  /* the solution x = mid does not count */
	int64_t work;	  /* nodes visited so far */
	int64_t max_work; /* < 0: no limit */
} problem;

static int64_t sat_add(int64_t x, int64_t y)
{
	int64_t r;
	return __builtin_add_overflow(x, y, &r) ? INT64_MAX : r;
}

static int64_t sat_mul(int64_t x, int64_t y)
{
	int64_t r;
	return __builtin_mul_overflow(x, y, &r) ? INT64_MAX : r;
}

static int64_t gcd(int64_t x, int64_t y)
{
	while (y) {
		int64_t r = x % y;
		x = y;
		y = r;
	}
	return x;
}

/* x + y mod m for x, y in [0, m), without forming x + y. */
static int64_t add_mod(int64_t x, int64_t y, int64_t m)
{
	return x >= m - y ? x - (m - y) : x + y;
}

/* x * y mod m for x, y in [0, m); doubling when the product overflows. */
static int64_t mul_mod(int64_t x, int64_t y, int64_t m)
{
	int64_t r;
	if (!__builtin_mul_overflow(x, y, &r))
		return r % m;
	r = 0;
	for (; y; y >>= 1) {
		if (y & 1)
			r = add_mod(r, x, m);
		x = add_mod(x, x, m);
	}
	return r;
}

/* The inverse of x modulo m >= 1, for gcd(x, m) = 1. The Bezout
 * coefficients alternate in sign and never exceed m in magnitude, so
 * s0 - q * s1 cannot overflow. */
static int64_t inverse_mod(int64_t x, int64_t m)
{
	int64_t r0 = m, r1 = x % m, s0 = 0, s1 = 1;
	while (r1) {
		int64_t q = r0 / r1, r2 = r0 - q * r1, s2 = s0 - q * s1;
		r0 = r1, r1 = r2;
		s0 = s1, s1 = s2;
	}
	return s0 < 0 ? s0 + m : s0;
}

/* ---- the search ---- */

/* Level 0: x_0 is c / a_0 or nothing. */
static aj_overlap solve_last(const problem *p, int64_t c, bool trivial)
{
	const term *t = &p->t[0];
	if (c % t->a || c / t->a > t->u)
		return AJ_OVERLAP_NO;
	return trivial && c / t->a == t->mid ? AJ_OVERLAP_NO : AJ_OVERLAP_YES;
}

/* The smallest x >= lo with x = r mod m, or INT64_MAX if it overflows
 * (larger than any bound, so the caller's loop is empty either way). */
static int64_t first_at_least(int64_t lo, int64_t r, int64_t m)
{
	int64_t d = r - lo % m, x;
	if (d < 0)
		d += m;
	return __builtin_add_overflow(lo, d, &x) ? INT64_MAX : x;
}

/* Whether terms 0 .. k sum to c (0 <= c); trivial: every x fixed so far
 * is its mid, in a self-overlap problem. */
static aj_overlap search(problem *p, int k, int64_t c, bool trivial)
{
	if (p->max_work >= 0 && ++p->work > p->max_work)
		return AJ_OVERLAP_UNKNOWN;
	if (k == 0)
		return solve_last(p, c, trivial);
	const term *t = &p->t[k];
	const level *l = &p->lv[k];
	if (c % l->g)
		return AJ_OVERLAP_NO;
	/* the prefix needs 0 <= c - a x <= reach */
	int64_t lo = 0, hi = c / t->a < t->u ? c / t->a : t->u;
	if (c > l->reach) {
		int64_t over = c - l->reach;
		lo = over / t->a + (over % t->a != 0);
	}
	int64_t r = mul_mod(c / l->g % l->m, l->inv, l->m);
	for (int64_t x = first_at_least(lo, r, l->m); x <= hi;) {
		aj_overlap res =
		    search(p, k - 1, c - t->a * x, trivial && x == t->mid);
		if (res != AJ_OVERLAP_NO)
			return res;
		if (__builtin_add_overflow(x, l->m, &x))
			break;
	}
	return AJ_OVERLAP_NO;
}

/* Fills the levels from the sorted terms. */
static void prepare(problem *p)
{
	int64_t pg = 0, reach = 0;
	for (int k = 1; k < p->n; k++) {
		const term *prev = &p->t[k - 1];
		pg = gcd(prev->a, pg);
		reach = sat_add(reach, sat_mul(prev->a, prev->u));
		level *l = &p->lv[k];
		l->g = gcd(p->t[k].a, pg);
		l->m = pg / l->g;
		l->inv = inverse_mod(p->t[k].a / l->g, l->m);
		l->reach = reach;
	}
}

/* Whether the terms sum to c, excluding x = mid when p->self. */
static aj_overlap solve(problem *p, int64_t c)
{
	if (p->n == 0)
		return c == 0 && !p->self ? AJ_OVERLAP_YES : AJ_OVERLAP_NO;
	prepare(p);
	return search(p, p->n - 1, c, p->self);
}

/* ---- building problems ---- */

static void add_term(problem *p, int64_t a, int64_t u, int64_t mid)
{
	if (u > 0)
		p->t[p->n++] = (term){a, u, mid};
}

/* Insertion sort by coefficient, largest first: n is at most 65. */
static void sort_terms(problem *p)
{
	for (int i = 1; i < p->n; i++) {
		term t = p->t[i];
		int j = i;
		for (; j > 0 && p->t[j - 1].a < t.a; j--)
			p->t[j] = p->t[j - 1];
		p->t[j] = t;
	}
}

/* Merges terms of equal coefficient, which act as one with the summed
 * bound; this keeps the search from enumerating both. Sorted input. */
static void merge_terms(problem *p)
{
	int n = 0;
	for (int i = 0; i < p->n; i++) {
		if (n > 0 && p->t[n - 1].a == p->t[i].a)
			p->t[n - 1].u = sat_add(p->t[n - 1].u, p->t[i].u);
		else
			p->t[n++] = p->t[i];
	}
	p->n = n;
}

static bool is_empty(const aj_array *v)
{
	for (int k = 0; k < v->ndim; k++)
		if (v->shape[k] == 0)
			return true;
	return false;
}

/* Offsets from v->data of v's lowest byte (*lo) and the distance from it
 * to v's highest byte (*len); false on int64 overflow. Non-empty v. */
static bool fill_span(const aj_array *v, int64_t *lo, int64_t *len)
{
	*lo = 0;
	*len = aj_dtypes[v->dtype].size - 1;
	for (int k = 0; k < v->ndim; k++) {
		int64_t s = v->strides[k], e;
		if (v->shape[k] == 1 || s == 0)
			continue;
		if (s == INT64_MIN ||
		    !aj_mul_ok(v->shape[k] - 1, s < 0 ? -s : s, &e))
			return false;
		if (!aj_add_ok(*len, e, len))
			return false;
		if (s < 0 && !aj_add_ok(*lo, -e, lo))
			return false;
	}
	return true;
}

/* *d = address b - address a; false if it does not fit int64. */
static bool fill_gap(const char *a, const char *b, int64_t *d)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
	uintptr_t g = y >= x ? y - x : x - y;
	if (g > (uintptr_t)INT64_MAX)
		return false;
	*d = y >= x ? (int64_t)g : -(int64_t)g;
	return true;
}

/* One term per axis of v that moves: |stride| with bound scale * (n - 1),
 * saturated (a bound past c / a never binds). fill_span succeeded on v. */
static void add_axes(problem *p, const aj_array *v, int64_t scale)
{
	for (int k = 0; k < v->ndim; k++) {
		int64_t s = v->strides[k], n1 = v->shape[k] - 1;
		if (s != 0 && n1 > 0)
			add_term(p, s < 0 ? -s : s, sat_mul(scale, n1), n1);
	}
}

/* ---- the two questions ---- */

/* Byte ranges that miss each other need no search: [lo, lo + len] for a
 * and b, relative to a->data. */
aj_overlap aj_views_overlap(const aj_array *a, const aj_array *b,
			    int64_t max_work)
{
	if (is_empty(a) || is_empty(b))
		return AJ_OVERLAP_NO;
	int64_t alo, alen, blo, blen, d, ahi, bhi, c;
	if (!fill_span(a, &alo, &alen) || !fill_span(b, &blo, &blen) ||
	    !fill_gap(a->data, b->data, &d) || !aj_add_ok(blo, d, &blo) ||
	    !aj_add_ok(alo, alen, &ahi) || !aj_add_ok(blo, blen, &bhi))
		return AJ_OVERLAP_UNKNOWN;
	if (bhi < alo || ahi < blo)
		return AJ_OVERLAP_NO;
	if (__builtin_sub_overflow(bhi, alo, &c))
		return AJ_OVERLAP_UNKNOWN;
	problem p = {.n = 0, .self = false, .max_work = max_work};
	add_axes(&p, a, 1);
	add_axes(&p, b, 1);
	add_term(&p, 1,
		 aj_dtypes[a->dtype].size - 1 + aj_dtypes[b->dtype].size - 1,
		 0);
	sort_terms(&p);
	merge_terms(&p);
	return solve(&p, c);
}

/* Two axes that move by the same |stride|, or one that moves by less than
 * an element, overlap at once: step forward on one and back on the other,
 * or one step on the short axis. Equal terms cannot be merged here as they
 * are for two views, since merging hides which of them differs from its
 * mid. */
aj_overlap aj_self_overlap(const aj_array *a, int64_t max_work)
{
	if (is_empty(a))
		return AJ_OVERLAP_NO;
	int64_t lo, len, size = aj_dtypes[a->dtype].size;
	if (!fill_span(a, &lo, &len))
		return AJ_OVERLAP_UNKNOWN;
	problem p = {.n = 0, .self = true, .max_work = max_work};
	for (int k = 0; k < a->ndim; k++) {
		int64_t s = a->strides[k];
		if (a->shape[k] > 1 && (s < 0 ? -s : s) < size)
			return AJ_OVERLAP_YES;
	}
	add_axes(&p, a, 2);
	add_term(&p, 1, 2 * (size - 1), size - 1);
	sort_terms(&p);
	for (int i = 1; i < p.n; i++)
		if (p.t[i - 1].a == p.t[i].a)
			return AJ_OVERLAP_YES;
	/* sum a_k mid_k is the distance from lowest to highest byte */
	return solve(&p, len);
}
