/*
 * lib/overlap.c against brute force and against NumPy's answers.
 *
 * The differential tests draw thousands of small random views (any stride
 * sign, zero strides, itemsizes 1 to 16) into one shared buffer, mark every
 * byte of every element by enumeration, and demand the exact same answer
 * from aj_views_overlap and aj_self_overlap with no work limit; with a
 * small limit the answer must be that one or UNKNOWN. Counters check that
 * the draws really produce both answers, including the hard NO where the
 * byte extents interleave and only the search can tell.
 *
 * The named cases are NumPy slicing idioms (what np.shares_memory says of
 * them), its documented hard instance for max_work, and views near 2^62
 * bytes whose answer is known by hand. Views are built as bare aj_array
 * headers; only the small ones are ever within the buffer, and nothing
 * reads memory through them.
 */
#include "core.h"
#include "overlap.h"
#include "ref.h"

#include <string.h>

#define NO	AJ_OVERLAP_NO
#define YES	AJ_OVERLAP_YES
#define UNKNOWN AJ_OVERLAP_UNKNOWN
#define P62	((int64_t)1 << 62)

enum { BUF = 1024, SMALL_ROOM = 256, NPAIRS = 20000, NDEEP = 3000 };

static _Alignas(16) char buf[BUF];

/* buf + off as an integer sum: huge offsets describe memory that does not
 * exist, which pointer arithmetic may not do. */
static char *at(int64_t off)
{
	return (char *)((uintptr_t)buf + (uintptr_t)off);
}

static aj_array mk(aj_dtype t, int64_t off, int ndim, const int64_t *shape,
		   const int64_t *strides)
{
	aj_array v;
	memset(&v, 0, sizeof v);
	v.data = at(off);
	v.lo = buf;
	v.hi = buf + BUF;
	v.dtype = t;
	v.ndim = ndim;
	for (int k = 0; k < ndim; k++) {
		v.shape[k] = shape[k];
		v.strides[k] = strides[k];
	}
	return v;
}

static aj_array mk1(aj_dtype t, int64_t off, int64_t n, int64_t stride)
{
	return mk(t, off, 1, &n, &stride);
}

static aj_array mk2(aj_dtype t, int64_t off, int64_t n0, int64_t n1, int64_t s0,
		    int64_t s1)
{
	return mk(t, off, 2, (int64_t[]){n0, n1}, (int64_t[]){s0, s1});
}

/* ---- brute force ---- */


/* Adds 1 to count[byte - buf] for each element of v holding the byte. */
static void mark(const aj_array *v, int *count)
{
	int64_t idx[AJ_MAX_NDIM] = {0};
	for (int k = 0; k < v->ndim; k++)
		if (v->shape[k] == 0)
			return;
	int64_t base = v->data - buf, size = aj_dtypes[v->dtype].size;
	do {
		int64_t off = base;
		for (int k = 0; k < v->ndim; k++)
			off += idx[k] * v->strides[k];
		assert_in_range(off, 0, BUF - size);
		for (int64_t j = 0; j < size; j++)
			count[off + j]++;
	} while (ref_next_index(v->ndim, v->shape, idx));
}

static aj_overlap brute_pair(const aj_array *a, const aj_array *b)
{
	int ca[BUF] = {0}, cb[BUF] = {0};
	mark(a, ca);
	mark(b, cb);
	for (int i = 0; i < BUF; i++)
		if (ca[i] && cb[i])
			return YES;
	return NO;
}

static aj_overlap brute_self(const aj_array *a)
{
	int c[BUF] = {0};
	mark(a, c);
	for (int i = 0; i < BUF; i++)
		if (c[i] > 1)
			return YES;
	return NO;
}

/* Lowest and highest byte offsets of non-empty v from buf, by the
 * elements at the corners. */
static void span(const aj_array *v, int64_t *lo, int64_t *hi)
{
	*lo = *hi = v->data - buf;
	for (int k = 0; k < v->ndim; k++) {
		int64_t e = (v->shape[k] - 1) * v->strides[k];
		*(e < 0 ? lo : hi) += e;
	}
	*hi += aj_dtypes[v->dtype].size - 1;
}

static bool empty(const aj_array *v)
{
	for (int k = 0; k < v->ndim; k++)
		if (v->shape[k] == 0)
			return true;
	return false;
}

/* ---- random views ---- */

static int64_t pick(uint64_t *st, int64_t n)
{
	return (int64_t)(ref_rand(st) % (uint64_t)n);
}

static const aj_dtype sized[] = {AJ_INT8, AJ_INT16, AJ_INT32, AJ_INT64,
				 AJ_COMPLEX128};

/* Moves v (shape and strides set) to a random place within buf[0, room);
 * false if it does not fit. */
static bool place(uint64_t *st, aj_array *v, int64_t room)
{
	v->data = buf;
	if (empty(v)) {
		v->data = at(pick(st, room));
		return true;
	}
	int64_t lo, hi;
	span(v, &lo, &hi);
	if (hi - lo >= room)
		return false;
	v->data = at(-lo + pick(st, room - (hi - lo)));
	return true;
}

/* A random view of ndim in [mindim, maxdim], extents 0 .. maxext (0
 * rarely), strides small multiples (negative, zero) of a random unit. */
static aj_array random_view(uint64_t *st, int mindim, int maxdim, int maxext,
			    int64_t room)
{
	static const int64_t units[] = {1, 2, 3, 4, 5, 6, 8, 12, 16, 24};
	for (;;) {
		aj_dtype t = sized[pick(st, 5)];
		int nd = mindim + (int)pick(st, maxdim - mindim + 1);
		int64_t shape[AJ_MAX_NDIM], strides[AJ_MAX_NDIM];
		for (int k = 0; k < nd; k++) {
			shape[k] = pick(st, maxext + 1);
			if (shape[k] == 0 && pick(st, 4))
				shape[k] = 1 + pick(st, maxext);
			int64_t unit = pick(st, 3) ? units[pick(st, 10)]
						   : aj_dtypes[t].size;
			strides[k] = unit * (pick(st, 7) - 3);
		}
		aj_array v = mk(t, 0, nd, shape, strides);
		if (place(st, &v, room))
			return v;
	}
}

/* A view related to a, as slicing makes them: its axes permuted, moved by
 * a few bytes, maybe another itemsize; a fresh random view if that leaves
 * the room. */
static aj_array related_view(uint64_t *st, const aj_array *a, int64_t room)
{
	aj_array b = *a;
	for (int k = b.ndim - 1; k > 0; k--) {
		int j = (int)pick(st, k + 1);
		int64_t sh = b.shape[k], sd = b.strides[k];
		b.shape[k] = b.shape[j], b.strides[k] = b.strides[j];
		b.shape[j] = sh, b.strides[j] = sd;
	}
	if (pick(st, 2))
		b.dtype = sized[pick(st, 5)];
	int64_t off = (a->data - buf) + pick(st, 33) - 16, lo, hi;
	b.data = at(off);
	if (!empty(&b)) {
		span(&b, &lo, &hi);
		if (lo >= 0 && hi < room)
			return b;
	} else if (off >= 0 && off < room) {
		return b;
	}
	return random_view(st, 0, 3, 5, room);
}

/* Whether the byte extents of a and b intersect (both non-empty). */
static bool extents_meet(const aj_array *a, const aj_array *b)
{
	int64_t alo, ahi, blo, bhi;
	span(a, &alo, &ahi);
	span(b, &blo, &bhi);
	return alo <= bhi && blo <= ahi;
}

typedef struct tally {
	int yes, no, hard_no, self_yes, self_no, unknown_limited;
} tally;

/* Checks one pair (and each view alone) against brute force, with and
 * without a work limit. */
static void check_pair(uint64_t *st, const aj_array *a, const aj_array *b,
		       tally *t)
{
	aj_overlap want = brute_pair(a, b);
	assert_int_equal(aj_views_overlap(a, b, -1), want);
	assert_int_equal(aj_views_overlap(b, a, -1), want);
	aj_overlap lim = aj_views_overlap(a, b, pick(st, 8));
	assert_true(lim == want || lim == UNKNOWN);
	t->unknown_limited += lim == UNKNOWN;
	if (want == YES)
		t->yes++;
	else if (!empty(a) && !empty(b) && extents_meet(a, b))
		t->hard_no++;
	else
		t->no++;
	aj_overlap self = brute_self(a);
	assert_int_equal(aj_self_overlap(a, -1), self);
	lim = aj_self_overlap(a, pick(st, 8));
	assert_true(lim == self || lim == UNKNOWN);
	*(self == YES ? &t->self_yes : &t->self_no) += 1;
}

/* Each outcome must make up a fair share, or the test tests too little. */
static void check_tally(const tally *t, int n, const char *what)
{
	print_message("%s: %d pairs: %d overlap, %d apart, %d apart with "
		      "interleaved extents; %d self-overlap, %d not; %d "
		      "UNKNOWN under a small max_work\n",
		      what, n, t->yes, t->no, t->hard_no, t->self_yes,
		      t->self_no, t->unknown_limited);
	assert_true(t->yes > n / 20);
	assert_true(t->no > n / 20);
	assert_true(t->hard_no > n / 20);
	assert_true(t->self_yes > n / 20);
	assert_true(t->self_no > n / 20);
	assert_true(t->unknown_limited > 0);
}

static void test_random_small(void **state)
{
	uint64_t st = 0x0123456789ABCDEFull;
	tally t = {0};
	for (int i = 0; i < NPAIRS; i++) {
		aj_array a = random_view(&st, 0, 3, 5, SMALL_ROOM);
		aj_array b = pick(&st, 3)
				 ? random_view(&st, 0, 3, 5, SMALL_ROOM)
				 : related_view(&st, &a, SMALL_ROOM);
		check_pair(&st, &a, &b, &t);
	}
	check_tally(&t, NPAIRS, "ndim 0-3");
}

/* More axes make a deeper search. */
static void test_random_deep(void **state)
{
	uint64_t st = 0xFEEDFACECAFEBEEFull;
	tally t = {0};
	for (int i = 0; i < NDEEP; i++) {
		aj_array a = random_view(&st, 3, 6, 3, BUF);
		aj_array b = pick(&st, 2) ? random_view(&st, 3, 6, 3, BUF)
					  : related_view(&st, &a, BUF);
		check_pair(&st, &a, &b, &t);
	}
	check_tally(&t, NDEEP, "ndim 3-6");
}

/* ---- NumPy's idioms ---- */

/* a = np.arange(10.0) and its slices. */
static void test_slices(void **state)
{
	aj_array a = mk1(AJ_FLOAT64, 0, 10, 8);
	aj_array tail = mk1(AJ_FLOAT64, 8, 9, 8);
	aj_array head = mk1(AJ_FLOAT64, 0, 9, 8);
	aj_array even = mk1(AJ_FLOAT64, 0, 5, 16);
	aj_array odd = mk1(AJ_FLOAT64, 8, 5, 16);
	aj_array even2 = mk1(AJ_FLOAT64, 16, 4, 16);
	aj_array rev = mk1(AJ_FLOAT64, 72, 10, -8);
	aj_array rev_odd = mk1(AJ_FLOAT64, 72, 5, -16);
	assert_int_equal(aj_views_overlap(&tail, &head, -1), YES);
	assert_int_equal(aj_views_overlap(&even, &odd, -1), NO);
	/* the extents interleave: only the search tells them apart */
	assert_int_equal(aj_views_overlap(&even, &odd, 0), UNKNOWN);
	assert_int_equal(aj_views_overlap(&even, &even2, -1), YES);
	assert_int_equal(aj_views_overlap(&rev, &a, -1), YES);
	assert_int_equal(aj_views_overlap(&rev_odd, &odd, -1), YES);
	assert_int_equal(aj_views_overlap(&rev_odd, &even, -1), NO);
	aj_array first = mk1(AJ_FLOAT64, 0, 5, 8);
	aj_array last = mk1(AJ_FLOAT64, 40, 5, 8);
	assert_int_equal(aj_views_overlap(&first, &last, 0), NO);
	aj_array none = mk1(AJ_FLOAT64, 0, 0, 8);
	assert_int_equal(aj_views_overlap(&none, &a, -1), NO);
	assert_int_equal(aj_self_overlap(&none, -1), NO);
	assert_int_equal(aj_self_overlap(&rev, -1), NO);
	/* int8 bytes viewed as int32 straddle neighbours */
	aj_array bytes1 = mk1(AJ_INT8, 3, 1, 1), word = mk1(AJ_INT32, 0, 1, 4);
	assert_int_equal(aj_views_overlap(&bytes1, &word, -1), YES);
	bytes1.data = at(4);
	assert_int_equal(aj_views_overlap(&bytes1, &word, -1), NO);
}

/* a = np.zeros((3, 4)) and a.T, rows, columns. */
static void test_transpose(void **state)
{
	aj_array a = mk2(AJ_FLOAT64, 0, 3, 4, 32, 8);
	aj_array at_ = mk2(AJ_FLOAT64, 0, 4, 3, 8, 32);
	assert_int_equal(aj_views_overlap(&a, &at_, -1), YES);
	assert_int_equal(aj_self_overlap(&a, -1), NO);
	assert_int_equal(aj_self_overlap(&at_, -1), NO);
	aj_array col0 = mk1(AJ_FLOAT64, 0, 3, 32);
	aj_array col1 = mk1(AJ_FLOAT64, 8, 3, 32);
	aj_array row1 = mk1(AJ_FLOAT64, 32, 4, 8);
	aj_array row1_tail = mk1(AJ_FLOAT64, 40, 3, 8);
	assert_int_equal(aj_views_overlap(&col0, &col1, -1), NO);
	assert_int_equal(aj_views_overlap(&row1, &col0, -1), YES);
	assert_int_equal(aj_views_overlap(&row1_tail, &col0, -1), NO);
	aj_array evencols = mk2(AJ_FLOAT64, 0, 3, 2, 32, 16);
	aj_array oddcols_t = mk2(AJ_FLOAT64, 8, 2, 3, 16, 32);
	assert_int_equal(aj_views_overlap(&evencols, &oddcols_t, -1), NO);
}

/* z = np.zeros(6, complex128), z.real, z.imag, and complex64 too. */
static void test_complex_parts(void **state)
{
	aj_array z = mk1(AJ_COMPLEX128, 0, 6, 16);
	aj_array re = mk1(AJ_FLOAT64, 0, 6, 16), im = mk1(AJ_FLOAT64, 8, 6, 16);
	assert_int_equal(aj_views_overlap(&re, &im, -1), NO);
	assert_int_equal(aj_views_overlap(&z, &re, -1), YES);
	assert_int_equal(aj_views_overlap(&z, &im, -1), YES);
	assert_int_equal(aj_self_overlap(&z, -1), NO);
	assert_int_equal(aj_self_overlap(&im, -1), NO);
	aj_array z2 = mk2(AJ_COMPLEX64, 0, 3, 4, 32, 8);
	aj_array re2 = mk2(AJ_FLOAT32, 0, 3, 4, 32, 8);
	aj_array im2t = mk2(AJ_FLOAT32, 4, 4, 3, 8, 32);
	assert_int_equal(aj_views_overlap(&re2, &im2t, -1), NO);
	assert_int_equal(aj_views_overlap(&z2, &im2t, -1), YES);
	/* a float64 view of the whole buffer sees both parts */
	aj_array flat = mk1(AJ_FLOAT64, 0, 12, 8);
	assert_int_equal(aj_views_overlap(&flat, &im, -1), YES);
}

/* broadcast_to and as_strided views, each answer worked out by hand. */
static void test_self(void **state)
{
	aj_array bcast = mk2(AJ_FLOAT64, 0, 3, 4, 0, 8);
	assert_int_equal(aj_self_overlap(&bcast, -1), YES);
	assert_int_equal(aj_self_overlap(&bcast, 0), YES);
	aj_array one = mk2(AJ_FLOAT64, 0, 1, 4, 0, 8);
	assert_int_equal(aj_self_overlap(&one, -1), NO);
	aj_array windows = mk2(AJ_INT8, 0, 8, 3, 1, 1);
	assert_int_equal(aj_self_overlap(&windows, -1), YES);
	aj_array blocks = mk2(AJ_INT8, 0, 3, 3, 3, 1);
	assert_int_equal(aj_self_overlap(&blocks, -1), NO);
	/* element (i, j) at 2i + 3j: 0 3 2 5 4 7 distinct; (0,2) = (3,0) */
	aj_array s23 = mk2(AJ_INT8, 0, 3, 2, 2, 3);
	assert_int_equal(aj_self_overlap(&s23, -1), NO);
	s23.shape[0] = 4, s23.shape[1] = 3;
	assert_int_equal(aj_self_overlap(&s23, -1), YES);
	/* 8-byte elements at 16i + 24j: gaps of at least 8 until (0,2)=(3,0) */
	aj_array w = mk2(AJ_FLOAT64, 0, 4, 2, 16, 24);
	assert_int_equal(aj_self_overlap(&w, -1), NO);
	w.shape[1] = 3;
	assert_int_equal(aj_self_overlap(&w, -1), YES);
	aj_array half = mk1(AJ_FLOAT64, 0, 2, -4);
	assert_int_equal(aj_self_overlap(&half, -1), YES);
	aj_array scalar = mk(AJ_COMPLEX128, 0, 0, NULL, NULL);
	assert_int_equal(aj_self_overlap(&scalar, -1), NO);
	assert_int_equal(aj_views_overlap(&scalar, &scalar, -1), YES);
}

/* NumPy's mem_overlap.c hard instance: int8 views that do not overlap but
 * take a long search to show it. */
static void test_max_work(void **state)
{
	aj_array a = mk(AJ_INT8, 0, 3, (int64_t[]){1049, 1049, 1049},
			(int64_t[]){36674, 61119, 85569});
	aj_array b = mk(AJ_INT8, 64023025, 3, (int64_t[]){1049, 1049, 1},
			(int64_t[]){12223, 12224, 1});
	assert_int_equal(aj_views_overlap(&a, &b, 1000), UNKNOWN);
	assert_int_not_equal(aj_views_overlap(&a, &b, 200000), YES);
	/* a broadcast view is YES at once; a sliced one is cheap */
	aj_array c = mk2(AJ_INT8, 0, 1000, 1000, 1000, 1);
	aj_array d = mk2(AJ_INT8, 500, 1000, 500, 1000, 1);
	assert_int_equal(aj_views_overlap(&c, &d, 100), YES);
	assert_int_equal(aj_self_overlap(&c, 100), NO);
}

/* Enough for every answer test_huge knows: a search that lost its pruning
 * fails there instead of hanging. */
enum { WORK = 1000 };

/* Views near 2^62 bytes, answers by hand; arithmetic there must not wrap
 * into a wrong answer. */
static void test_huge(void **state)
{
	/* bytes {0, 2^62} against {1, 2^62} and {2, 2^62 + 1} */
	aj_array a = mk1(AJ_INT8, 0, 2, P62);
	aj_array b = mk1(AJ_INT8, 1, 2, P62 - 1);
	assert_int_equal(aj_views_overlap(&a, &b, WORK), YES);
	b.data = at(2);
	assert_int_equal(aj_views_overlap(&a, &b, WORK), NO);
	/* bytes {2^62, 2^62 + 1, 0, 1} from a negative stride */
	aj_array n = mk1(AJ_INT16, P62, 2, -P62);
	aj_array one = mk1(AJ_INT8, 1, 1, 1);
	assert_int_equal(aj_views_overlap(&n, &one, WORK), YES);
	one.data = at(2);
	assert_int_equal(aj_views_overlap(&n, &one, WORK), NO);
	/* {0, 2^62} against {2^62 - 1, 2^63 - 1}: the reach overflows */
	aj_array far = mk1(AJ_INT8, P62 - 1, 2, P62);
	assert_int_equal(aj_views_overlap(&a, &far, WORK), NO);
	far.data = at(P62), far.strides[0] = P62 - 1;
	assert_int_equal(aj_views_overlap(&a, &far, WORK), YES);
	/* int16 at 0, 2^61, 2^62, 2^62 + 2^61 against int8 at B and
	 * B + 2^62 - 1: the strides sum past 2^63 */
	aj_array q = mk2(AJ_INT16, 0, 2, 2, P62, P62 / 2);
	aj_array p = mk1(AJ_INT8, P62 / 2 + 2, 2, P62 - 1);
	assert_int_equal(aj_views_overlap(&q, &p, WORK), YES);
	p.data = at(P62 / 2 + 3);
	assert_int_equal(aj_views_overlap(&q, &p, WORK), NO);
	/* equal strides merge into a term whose a * u passes 2^63 */
	aj_array w = mk1(AJ_INT16, 0, 2, P62), v = mk1(AJ_INT8, 1, 2, P62);
	assert_int_equal(aj_views_overlap(&w, &v, WORK), YES);
	v.data = at(2);
	assert_int_equal(aj_views_overlap(&w, &v, WORK), NO);
	/* bytes {0, S} against 1, 6, 11, ..., S + 35: S = 7 * 2^60 + 4 is 1
	 * mod 5, so only element (S - 1) / 5 hits; the residue arithmetic is
	 * modulo S, which is past 2^62 (sums of two residues wrap) and not a
	 * power of two */
	int64_t big_s = 7 * (P62 / 4) + 4;
	aj_array ends = mk1(AJ_INT8, 0, 2, big_s);
	aj_array fives = mk1(AJ_INT8, 1, (big_s - 1) / 5 + 8, 5);
	assert_int_equal(aj_views_overlap(&ends, &fives, WORK), YES);
	fives.data = at(2);
	assert_int_equal(aj_views_overlap(&ends, &fives, WORK), NO);
	fives.data = at(1), fives.shape[0] = (big_s - 1) / 5;
	assert_int_equal(aj_views_overlap(&ends, &fives, WORK), NO);
	/* 2^62 + 2 bytes in two rows 2^61 apart: the doubled bound of the
	 * self-overlap problem passes 2^63 */
	aj_array rows = mk2(AJ_INT8, 0, P62 + 2, 2, 1, P62 / 2);
	assert_int_equal(aj_self_overlap(&rows, WORK), YES);
	/* 2^60 bytes 3 apart: 3 * 2^59 is one, 3 * 2^59 + 1 is not */
	aj_array three = mk1(AJ_INT8, 0, P62 / 4, 3);
	one.data = at(3 * (P62 / 8) + 1);
	assert_int_equal(aj_views_overlap(&three, &one, WORK), NO);
	one.data = at(3 * (P62 / 8));
	assert_int_equal(aj_views_overlap(&three, &one, WORK), YES);
	/* 3i + 2^61 j never meets itself; 4i + 2^61 j at i = 2^59 */
	aj_array s = mk2(AJ_INT8, 0, P62 / 4, 2, 3, P62 / 2);
	assert_int_equal(aj_self_overlap(&s, WORK), NO);
	s.strides[0] = 4;
	assert_int_equal(aj_self_overlap(&s, WORK), YES);
	/* 2^59 int64 contiguous, and its second half */
	aj_array big = mk1(AJ_INT64, 0, P62 / 8, 8);
	aj_array half = mk1(AJ_INT64, P62 / 2, P62 / 16, 8);
	assert_int_equal(aj_self_overlap(&big, WORK), NO);
	assert_int_equal(aj_views_overlap(&big, &half, WORK), YES);
	half.data = at(P62 / 2 + 4), half.dtype = AJ_INT32;
	assert_int_equal(aj_views_overlap(&big, &half, WORK), YES);
}

/* Extents past int64: 0, 2^62, 2^63, 3 * 2^62 are distinct bytes, so a
 * correct answer is YES against itself and NO for self-overlap. */
static void test_overflow(void **state)
{
	aj_array a = mk1(AJ_INT8, 0, 4, P62);
	assert_int_not_equal(aj_views_overlap(&a, &a, -1), NO);
	assert_int_not_equal(aj_self_overlap(&a, -1), YES);
	aj_array m = mk1(AJ_INT8, 0, 2, INT64_MIN);
	assert_int_not_equal(aj_views_overlap(&m, &m, -1), NO);
	assert_int_not_equal(aj_self_overlap(&m, -1), YES);
	aj_array lone = mk1(AJ_INT8, 0, 1, INT64_MIN);
	assert_int_equal(aj_self_overlap(&lone, -1), NO);
	assert_int_equal(aj_views_overlap(&lone, &lone, -1), YES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slices),
	    cmocka_unit_test(test_transpose),
	    cmocka_unit_test(test_complex_parts),
	    cmocka_unit_test(test_self),
	    cmocka_unit_test(test_max_work),
	    cmocka_unit_test(test_huge),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_random_small),
	    cmocka_unit_test(test_random_deep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
