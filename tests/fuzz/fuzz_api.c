/*
 * fuzz_api: API call sequences decoded from the input, checked against
 * the reference evaluator (refeval.h) and a reference of the views.
 *
 * The input makes up to three buffers of one dtype each, complex ones
 * included (64 elements of values with signs, extremes, NaN and
 * infinities, or mostly small ones: positions and exponents), then runs
 * commands: wrap a buffer (any shape, strides of any sign or zero,
 * offset); views (slice with steps, permute, broadcast, reshape,
 * expand_dims, flip, index); an expression tree built with the aj_*
 * builders (arithmetic, comparisons, where, casts, math (of complex
 * too), real, imag, conjugate, integer and float powers, gathers (aj_take) from arrays at
 * positions from int arrays, scalars or expressions, reductions over an
 * axis, views of expressions; Python scalars int, float and complex,
 * strong scalars of every dtype; uniform random leaves of float32,
 * float64, uint32, uint64, whose values the reference computes from
 * the header's Philox formula, the context seeded from the input) and
 * assigned to any array, so outputs
 * overlap inputs and each other; aj_sync; prepared kernels (aj_prepare
 * of "o = <expr>" over array parameters and a scalar, then runs with the
 * templates or arrays of their layout elsewhere, fast path or not);
 * boolean selection (aj_mask_select of two expressions).
 *
 * The first byte sets the context's knobs (fuzz_knobs): ISA, threads
 * on tiny kernels, non-temporal stores; the second its random seed.
 *
 * Checked, aborting on a mismatch:
 * - every view's elements sit where NumPy's rules put them (reshape: in C
 *   order, the same elements as its source), and a failed view call
 *   leaves *out untouched; wrap fails exactly when an element is outside
 *   the buffer;
 * - an expression the reference types is built, with its dtype and shape
 *   (NEP 50 promotion, complex included);
 * - a builder NumPy refuses fails with its status: aj_take of an
 *   expression or at a bad axis (AJ_ERR_ARG), with positions not of an
 *   int dtype (AJ_ERR_DTYPE), at axis=None where flattening needs a copy
 *   (AJ_ERR_LAYOUT), at a scalar position out of range (AJ_ERR_BOUNDS);
 *   aj_random of a dtype its distribution lacks (AJ_ERR_DTYPE);
 *   an integer to a negative scalar power (AJ_ERR_ARG; a Python int that
 *   does not fit the dtype, AJ_ERR_OVERFLOW);
 * - aj_assign fails exactly when NumPy would (shapes, same_kind, a
 *   read-only output), with that status, and then nothing is written; an
 *   output overlapping itself fails there or at aj_sync, which then
 *   writes nothing at all;
 * - aj_sync fails with AJ_ERR_ARG exactly when NumPy raises for the
 *   data: a take's position out of [-n, n), an integer power's negative
 *   exponent, each checked over the values the assignments before it in
 *   the sync wrote (rcheck); then nothing of the sync is written;
 * - aj_prepare fails exactly when aj_assign would; every run of a
 *   prepared kernel writes what the reference computes for its
 *   assignment with the run's arrays and scalar, and nothing else;
 * - aj_mask_select gives a's elements where the mask holds, in C order,
 *   as a new array of the reference's shape; or fails with the status
 *   NumPy's error maps to (a mask not bool or not of a's leading shape, a
 *   failing check of the data) and *out untouched; it writes nothing
 *   else;
 * - after aj_sync, every buffer byte is what the reference computes by
 *   running the assignments in order, each as if its expression were
 *   evaluated before its writes, and the guard bytes around each buffer
 *   are untouched.
 */
#include "fuzz.h"
#include "refeval.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUF 3
#define NELEM 64  /* elements per buffer */
#define MAXSZ 16  /* bytes per element, at most (complex128) */
#define NARR 12
#define MAX_ND 4
#define NPEND 8

/* What a failed call must leave in *out. */
static char untouched_view;
#define UNTOUCHED ((aj_array *)&untouched_view)

typedef struct reader {
	const uint8_t *p;
	size_t n;
} reader;

static unsigned u8(reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

/* In [lo, lo + n). */
static int pick(reader *r, int lo, int n)
{
	return lo + (int)(u8(r) % (unsigned)n);
}

#define GUARD 256 /* bytes of 0xa5 either side of a buffer's elements */

typedef struct buffer {
	aj_dtype t;
	char *base;		/* GUARD bytes, mem, GUARD bytes */
	char *mem;		/* the library's */
	char sim[NELEM * MAXSZ];	/* the reference's */
	uint8_t st[NELEM];	/* enum rstate per element of sim */
	rval want[NELEM];	/* R_APPROX elements: value and tolerance */
} buffer;

typedef struct array {
	aj_array *a;
	int buf;
	bool ro;
	rleaf l; /* the reference's layout; l.base is the buffer's sim */
} array;

typedef struct pending {
	bool overlap; /* its output overlaps itself: aj_sync must fail */
	int out;
	int root;
	rnode nodes[RMAX_NODES];
} pending;

typedef struct state {
	reader r;
	aj_prog *p;
	buffer buf[NBUF];
	int nbuf;
	array arr[NARR];
	int narr;
	pending pend[NPEND];
	int npend;
	uint64_t seed, nstream; /* aj_random: the context's seed, streams
				   taken since it was set */
	/* the tree being built */
	rnode nodes[RMAX_NODES];
	aj_expr ex[RMAX_NODES];
	int nnodes;
} state;

static const aj_dtype dtypes[] = {
    AJ_BOOL,   AJ_INT8,	  AJ_INT16,   AJ_INT32,	    AJ_INT64,
    AJ_UINT8,  AJ_UINT16, AJ_UINT32,  AJ_UINT64,    AJ_FLOAT32,
    AJ_FLOAT64, AJ_COMPLEX64, AJ_COMPLEX128};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

static const double specials[] = {
    0, -0.0, 1, -1, 0.5, 3, -2.5, 7, __builtin_nan(""), __builtin_inf(),
    -__builtin_inf(), 1e300, 4.9e-324, 16777217, -1e10, 127.75};
#define NSPECIAL 16

static int64_t elem_size(aj_dtype t)
{
	return (int64_t)aj_dtype_size(t);
}

/* With FUZZ_TRACE set, the decoded program on stderr (to read a crash). */
static void trace(const char *fmt, ...)
{
	static int on = -1;
	if (on < 0)
		on = getenv("FUZZ_TRACE") != NULL;
	if (!on)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void trace_layout(const char *what, int k, const rleaf *l)
{
	trace("%s -> arr%d off %lld shape (", what, k, (long long)l->off);
	for (int d = 0; d < l->ndim; d++)
		trace("%lld,", (long long)l->shape[d]);
	trace(") strides (");
	for (int d = 0; d < l->ndim; d++)
		trace("%lld,", (long long)l->strides[d]);
	trace(")\n");
}

/* ---- buffers ---- */

static bool is_float(aj_dtype t)
{
	return t == AJ_FLOAT32 || t == AJ_FLOAT64;
}

static bool is_complex(aj_dtype t)
{
	return t == AJ_COMPLEX64 || t == AJ_COMPLEX128;
}

static bool is_int(aj_dtype t)
{
	return t >= AJ_INT8 && t <= AJ_UINT64;
}

/* A random value of dtype t (a complex: its real part); if small,
 * mostly in [-6, 6] (positions for a take, exponents; floats in steps of
 * 0.5), a few of them not. */
static rval random_value(aj_dtype t, uint64_t *seed, bool small)
{
	uint64_t x = *seed;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	*seed = x;
	int64_t tiny = (int64_t)((x >> 8) % 25) - 12;
	bool fl = is_float(t) || is_complex(t);
	rval v;
	if (small && (x >> 40) % 16 != 0)
		v = fl ? rconvert((rval){.f = (double)tiny / 2}, AJ_FLOAT64, t)
		       : rconvert((rval){.i = tiny / 2}, AJ_INT64, t);
	else if (x % 3 == 0)
		v = rconvert((rval){.f = specials[(x >> 8) % NSPECIAL]}, AJ_FLOAT64, t);
	else if (fl)
		v = rconvert((rval){.f = (double)(int64_t)(x >> 20) / 4096.0 /
					 (double)(1 << (x % 31))},
			     AJ_FLOAT64, t);
	else
		v = rconvert((rval){.i = (int64_t)(x >> 3) >> (x % 64)}, AJ_INT64, t);
	if (v.st != R_EXACT) /* NaN to an int: any value will do */
		v = (rval){.i = 1};
	return v;
}

static void fill_buffer(buffer *b, uint64_t seed, bool small)
{
	for (int k = 0; k < NELEM; k++) {
		rval v = random_value(b->t, &seed, small);
		if (is_complex(b->t))
			v.im = random_value(b->t, &seed, small).f;
		rstore(b->t, b->sim + k * elem_size(b->t), v);
	}
	memcpy(b->mem, b->sim, NELEM * elem_size(b->t));
	memset(b->st, R_EXACT, sizeof b->st);
}

static int64_t nelem(int nd, const int64_t *shape)
{
	int64_t n = 1;
	for (int d = 0; d < nd; d++)
		n *= shape[d];
	return n;
}

/* Element offset (in elements) of C-order element k of layout l. */
static int64_t elem_at(const rleaf *l, int64_t k, int64_t sz)
{
	int64_t at = l->off;
	for (int d = l->ndim - 1; d >= 0; d--) {
		at += (k % l->shape[d]) * l->strides[d];
		k /= l->shape[d];
	}
	return at / sz;
}

/* ---- arrays and views ---- */

/* Checks that the library's view v has l's elements, then records it. */
static void add_array(state *S, aj_array *v, int buf, bool ro, const rleaf *l)
{
	buffer *b = &S->buf[buf];
	int64_t sz = elem_size(b->t), n = nelem(l->ndim, l->shape);
	check(aj_array_ndim(v) == l->ndim &&
		      memcmp(aj_array_shape(v), l->shape, 8 * (size_t)l->ndim) == 0,
	      "view of ndim %d, reference %d (or shapes differ)",
	      aj_array_ndim(v), l->ndim);
	for (int64_t k = 0; k < n; k++)
		check(fuzz_elem(v, k) == b->mem + elem_at(l, k, sz) * sz,
		      "element %lld of a view is at byte %lld, reference %lld",
		      (long long)k, (long long)(fuzz_elem(v, k) - b->mem),
		      (long long)(elem_at(l, k, sz) * sz));
	check(aj_array_readonly(v) == ro, "read-only flag %d, reference %d",
	      aj_array_readonly(v), ro);
	trace_layout("array", S->narr, l);
	array *a = &S->arr[S->narr++];
	*a = (array){v, buf, ro, *l};
	a->l.base = b->sim;
	a->l.st = b->st;
}

/* A view call's result: on success the reference layout l must match; on
 * failure *out is untouched and ok_fail says failing was allowed. */
static void view_done(state *S, aj_status st, aj_array *v, const array *src,
		      bool ro, const rleaf *l, bool ok_fail, const char *what)
{
	if (st != AJ_OK) {
		check(v == UNTOUCHED, "%s failed, wrote *out", what);
		check(ok_fail, "%s failed: %s", what, aj_ctx_errmsg(fuzz_ctx()));
		return;
	}
	check(!ok_fail || l != NULL, "%s succeeded where it must fail", what);
	add_array(S, v, src->buf, ro, l);
}

static void cmd_wrap(state *S)
{
	int bi = pick(&S->r, 0, S->nbuf);
	buffer *b = &S->buf[bi];
	int64_t sz = elem_size(b->t);
	rleaf l = {.ndim = pick(&S->r, 0, MAX_ND)};
	bool c_order = u8(&S->r) & 1;
	int64_t lo = 0, hi = 0, stride = sz;
	l.off = pick(&S->r, 0, NELEM) * sz;
	for (int d = l.ndim - 1; d >= 0; d--) {
		l.shape[d] = pick(&S->r, 0, 5);
		l.strides[d] = c_order ? stride : pick(&S->r, -4, 9) * sz;
		stride *= l.shape[d];
	}
	bool empty = nelem(l.ndim, l.shape) == 0;
	for (int d = 0; d < l.ndim; d++) {
		int64_t ext = (l.shape[d] - 1) * l.strides[d];
		*(ext < 0 ? &lo : &hi) += ext;
	}
	bool inside = l.off + lo >= 0 && l.off + hi + sz <= NELEM * sz;
	aj_array *v = UNTOUCHED;
	aj_status st = aj_array_wrap(fuzz_ctx(), b->mem, NELEM * sz, l.off, b->t,
				     l.ndim, l.shape, c_order ? NULL : l.strides,
				     &v);
	if (st != AJ_OK) {
		check(v == UNTOUCHED, "failed wrap wrote *out");
		check(!inside && (empty || st == AJ_ERR_BOUNDS),
		      "wrap failed (%d): %s", st, aj_ctx_errmsg(fuzz_ctx()));
		return;
	}
	check(inside || empty, "wrap of elements outside the buffer succeeded");
	add_array(S, v, bi, false, &l);
}

/* Python's slice.indices for one axis: *start and the length. */
static int64_t slice_axis(int64_t n, aj_slice s, int64_t *start)
{
	int64_t b = s.start, e = s.stop, k = s.step;
	if (b == AJ_DEFAULT)
		b = k > 0 ? 0 : n - 1;
	else if (b < 0 && (b += n) < 0)
		b = k > 0 ? 0 : -1;
	else if (b >= n)
		b = k > 0 ? n : n - 1;
	if (e == AJ_DEFAULT)
		e = k > 0 ? n : -1;
	else if (e < 0 && (e += n) < 0)
		e = k > 0 ? 0 : -1;
	else if (e >= n)
		e = k > 0 ? n : n - 1;
	*start = b;
	if (k > 0)
		return e > b ? (e - b + k - 1) / k : 0;
	return b > e ? (b - e - k - 1) / -k : 0;
}

static int64_t slice_bound(reader *r)
{
	int v = pick(r, -7, 16);
	return v == 8 ? AJ_DEFAULT : v;
}

static void cmd_slice(state *S, const array *src)
{
	aj_slice s[AJ_MAX_NDIM];
	rleaf l = src->l;
	for (int d = 0; d < l.ndim; d++) {
		int step = pick(&S->r, -3, 6);
		s[d] = (aj_slice){slice_bound(&S->r), slice_bound(&S->r),
				  step >= 0 ? step + 1 : step};
		int64_t start;
		l.shape[d] = slice_axis(src->l.shape[d], s[d], &start);
		if (l.shape[d] > 0)
			l.off += start * l.strides[d];
		l.strides[d] *= s[d].step;
	}
	aj_array *v = UNTOUCHED;
	aj_status st = aj_view_slice(fuzz_ctx(), src->a, s, &v);
	check(st == AJ_OK, "slice failed: %s", aj_ctx_errmsg(fuzz_ctx()));
	add_array(S, v, src->buf, src->ro, &l);
}

static void cmd_permute(state *S, const array *src)
{
	int perm[AJ_MAX_NDIM], nd = src->l.ndim;
	bool reverse = u8(&S->r) & 1;
	for (int d = 0; d < nd; d++)
		perm[d] = reverse ? nd - 1 - d : d;
	for (int d = nd - 1; d > 0 && !reverse; d--) {
		int j = pick(&S->r, 0, d + 1), t = perm[d];
		perm[d] = perm[j], perm[j] = t;
	}
	rleaf l = src->l;
	for (int d = 0; d < nd; d++) {
		l.shape[d] = src->l.shape[perm[d]];
		l.strides[d] = src->l.strides[perm[d]];
	}
	aj_array *v = UNTOUCHED;
	aj_status st = aj_view_permute(fuzz_ctx(), src->a, reverse ? NULL : perm, &v);
	check(st == AJ_OK, "permute failed: %s", aj_ctx_errmsg(fuzz_ctx()));
	add_array(S, v, src->buf, src->ro, &l);
}

static void cmd_broadcast(state *S, const array *src)
{
	rleaf l = src->l;
	int extra = pick(&S->r, 0, 2);
	bool ok = true;
	int64_t asked[AJ_MAX_NDIM];
	if (l.ndim + extra > MAX_ND)
		extra = 0;
	l.ndim += extra;
	for (int d = l.ndim - 1; d >= 0; d--) {
		int sd = d - extra;
		int64_t want = pick(&S->r, 0, 4);
		if (sd >= 0 && src->l.shape[sd] != 1 && (u8(&S->r) & 3))
			want = src->l.shape[sd]; /* mostly the compatible size */
		asked[d] = want;
		if (sd < 0) {
			l.shape[d] = want, l.strides[d] = 0;
		} else if (src->l.shape[sd] == 1) {
			l.shape[d] = want, l.strides[d] = want == 1 ? src->l.strides[sd] : 0;
		} else {
			ok = ok && want == src->l.shape[sd];
			l.shape[d] = src->l.shape[sd], l.strides[d] = src->l.strides[sd];
		}
	}
	aj_array *v = UNTOUCHED;
	aj_status st = aj_view_broadcast(fuzz_ctx(), src->a, l.ndim, asked, &v);
	if (!ok) {
		check(st == AJ_ERR_SHAPE && v == UNTOUCHED,
		      "broadcast to an incompatible shape gave %d", st);
		return;
	}
	check(st == AJ_OK, "broadcast failed: %s", aj_ctx_errmsg(fuzz_ctx()));
	add_array(S, v, src->buf, true, &l);
}

static bool c_contiguous(const rleaf *l, int64_t sz)
{
	int64_t want = sz;
	for (int d = l->ndim - 1; d >= 0; d--) {
		if (l->shape[d] != 1 && l->strides[d] != want)
			return false;
		want *= l->shape[d];
	}
	return true;
}

/* Reshape: the reference has no layout rule, only that element k in C
 * order is the source's element k, and that a C-contiguous source always
 * reshapes. */
static void cmd_reshape(state *S, const array *src)
{
	int64_t n = nelem(src->l.ndim, src->l.shape), shape[3];
	int nd = pick(&S->r, 1, 3), unknown = pick(&S->r, -1, 4);
	int64_t rest = n;
	for (int d = 0; d < nd - 1; d++) {
		int64_t f = pick(&S->r, 1, 4);
		shape[d] = rest % f == 0 ? f : 1;
		rest = shape[d] ? rest / shape[d] : rest;
	}
	shape[nd - 1] = rest;
	if (unknown >= 0 && unknown < nd && n > 0)
		shape[unknown] = -1;
	aj_array *v = UNTOUCHED;
	buffer *b = &S->buf[src->buf];
	int64_t sz = elem_size(b->t);
	aj_status st = aj_view_reshape(fuzz_ctx(), src->a, nd, shape, &v);
	if (st != AJ_OK) {
		check(v == UNTOUCHED && st == AJ_ERR_LAYOUT &&
			      !c_contiguous(&src->l, sz),
		      "reshape failed (%d): %s", st, aj_ctx_errmsg(fuzz_ctx()));
		return;
	}
	rleaf l = {.ndim = aj_array_ndim(v)};
	check(nelem(l.ndim, aj_array_shape(v)) == n, "reshape changed the size");
	memcpy(l.shape, aj_array_shape(v), 8 * (size_t)l.ndim);
	memcpy(l.strides, aj_array_strides(v), 8 * (size_t)l.ndim);
	l.off = (char *)aj_array_data(v) - b->mem;
	for (int64_t k = 0; k < n; k++)
		check(elem_at(&l, k, sz) == elem_at(&src->l, k, sz),
		      "reshape: element %lld is not the source's", (long long)k);
	add_array(S, v, src->buf, src->ro, &l);
}

static void cmd_axis_view(state *S, const array *src)
{
	rleaf l = src->l;
	int nd = l.ndim, kind = pick(&S->r, 0, 3);
	aj_array *v = UNTOUCHED;
	aj_status st;
	if (kind == 0 && nd < MAX_ND) { /* expand_dims */
		int axis = pick(&S->r, -nd - 1, 2 * nd + 2), a = axis < 0 ? axis + nd + 1 : axis;
		memmove(l.shape + a + 1, l.shape + a, 8 * (size_t)(nd - a));
		memmove(l.strides + a + 1, l.strides + a, 8 * (size_t)(nd - a));
		l.shape[a] = 1, l.strides[a] = 0, l.ndim++;
		st = aj_view_expand_dims(fuzz_ctx(), src->a, axis, &v);
		view_done(S, st, v, src, src->ro, &l, false, "expand_dims");
	} else if (kind == 1 && nd > 0) { /* flip one axis or all */
		int axis = pick(&S->r, -nd, 2 * nd + 1);
		for (int d = 0; d < nd; d++) {
			if (axis != nd && d != (axis + nd) % nd)
				continue;
			if (l.shape[d] > 0)
				l.off += (l.shape[d] - 1) * l.strides[d];
			l.strides[d] = -l.strides[d];
		}
		st = aj_view_flip(fuzz_ctx(), src->a, axis == nd ? AJ_ALL_AXES : axis, &v);
		view_done(S, st, v, src, src->ro, &l, false, "flip");
	} else if (kind == 2 && nd > 0) { /* index, in range or not */
		int axis = pick(&S->r, 0, nd);
		int64_t n = l.shape[axis], i = pick(&S->r, -5, 11);
		bool ok = i >= -n && i < n;
		l.off += (i < 0 ? i + n : i) * l.strides[axis];
		memmove(l.shape + axis, l.shape + axis + 1, 8 * (size_t)(nd - axis - 1));
		memmove(l.strides + axis, l.strides + axis + 1, 8 * (size_t)(nd - axis - 1));
		l.ndim--;
		st = aj_view_index(fuzz_ctx(), src->a, axis, i, &v);
		view_done(S, st, v, src, src->ro, ok ? &l : NULL, !ok, "index");
	}
}

static void cmd_view(state *S)
{
	if (S->narr == 0 || S->narr == NARR)
		return;
	const array *src = &S->arr[pick(&S->r, 0, S->narr)];
	switch (pick(&S->r, 0, 5)) {
	case 0: cmd_slice(S, src); break;
	case 1: cmd_permute(S, src); break;
	case 2: cmd_broadcast(S, src); break;
	case 3: cmd_reshape(S, src); break;
	default: cmd_axis_view(S, src); break;
	}
}

/* ---- expressions ---- */

static int new_node(state *S, rnode n, aj_expr e)
{
	check(S->nnodes < RMAX_NODES, "the tree outgrew RMAX_NODES");
	check(e.id != AJ_EXPR_NONE.id, "building %s failed: %s",
	      n.kind == RK_OP ? aj_op_name(n.op) : "a leaf", aj_prog_errmsg(S->p));
	check(aj_expr_dtype(S->p, e) == n.t, "%s has dtype %s, reference %s",
	      n.kind == RK_OP ? aj_op_name(n.op) : "a leaf",
	      aj_dtype_name(aj_expr_dtype(S->p, e)), aj_dtype_name(n.t));
	int64_t shape[AJ_MAX_NDIM];
	check(aj_expr_shape(S->p, e, shape) == n.ndim &&
		      memcmp(shape, n.shape, 8 * (size_t)n.ndim) == 0,
	      "%s: shape differs from the reference's",
	      n.kind == RK_OP ? aj_op_name(n.op) : "a leaf");
	trace("  n%d = %s %s in (%d %d %d) v %g axis %d keep %d\n", S->nnodes,
	      n.kind == RK_OP ? aj_op_name(n.op) : n.kind == RK_LEAF ? "leaf"
	      : n.kind == RK_RANDOM ? "random" : "scalar",
	      aj_dtype_name(n.t), n.in[0], n.in[1], n.in[2], n.v, n.axis, n.keep);
	S->nodes[S->nnodes] = n;
	S->ex[S->nnodes] = e;
	return S->nnodes++;
}

static int leaf_of(state *S, const array *a)
{
	rnode n = {.kind = RK_LEAF, .t = S->buf[a->buf].t, .leaf = a->l,
		   .ndim = a->l.ndim};
	memcpy(n.shape, a->l.shape, sizeof n.shape);
	return new_node(S, n, aj_leaf(S->p, a->a));
}

/* A builder that had to fail did, with one of the statuses in want (a
 * bit each); the error is taken from the program (aj_assign returns
 * it), so that the rest of the tree builds. */
static void build_failed(state *S, aj_expr e, unsigned want, const char *what)
{
	check(e.id == AJ_EXPR_NONE.id, "%s built where it must fail (%#x)",
	      what, want);
	aj_status st = aj_assign(S->p, S->arr[0].a, AJ_EXPR_NONE);
	check(st != AJ_OK && (want >> st & 1), "%s failed with %d, not one "
	      "of %#x: %s", what, st, want, aj_prog_errmsg(S->p));
	trace("  %s failed: %d\n", what, st);
}

/* A uniform random leaf, of an array's shape (or another), with the
 * next stream; other dtypes than float32, float64, uint32, uint64 and
 * the normal distribution of ints fail (AJ_ERR_DTYPE). */
static int build_random(state *S)
{
	static const aj_dtype ok[] = {AJ_FLOAT32, AJ_FLOAT64, AJ_UINT32, AJ_UINT64};
	rnode n = {.kind = RK_RANDOM, .t = ok[pick(&S->r, 0, 4)], .seed = S->seed};
	if (S->narr > 0 && (u8(&S->r) & 1))
		n.ndim = S->arr[pick(&S->r, 0, S->narr)].l.ndim;
	if (n.ndim == 0)
		n.ndim = pick(&S->r, 1, 3);
	for (int d = 0; d < n.ndim; d++)
		n.shape[d] = pick(&S->r, 1, 4);
	if (S->narr > 0 && (u8(&S->r) & 1)) {
		const array *a = &S->arr[pick(&S->r, 0, S->narr)];
		if (a->l.ndim > 0)
			n.ndim = a->l.ndim;
		memcpy(n.shape, a->l.shape, sizeof n.shape);
	}
	if (nelem(n.ndim, n.shape) == 0) /* a shapeless leaf draws per element */
		n.shape[0] = 1;
	static const struct {
		aj_dist dist;
		aj_dtype t;
	} bad[] = {{AJ_DIST_UNIFORM, AJ_INT8},	 {AJ_DIST_UNIFORM, AJ_BOOL},
		   {AJ_DIST_UNIFORM, AJ_COMPLEX128}, {AJ_DIST_NORMAL, AJ_UINT32},
		   {AJ_DIST_NORMAL, AJ_INT64}};
	if (pick(&S->r, 0, 16) == 0) {
		int k = pick(&S->r, 0, 5);
		build_failed(S, aj_random(S->p, bad[k].dist, bad[k].t, n.ndim, n.shape),
			     1u << AJ_ERR_DTYPE, "random");
	}
	n.stream = S->nstream++;
	return new_node(S, n, aj_random(S->p, AJ_DIST_UNIFORM, n.t, n.ndim, n.shape));
}

static int build_leaf(state *S)
{
	int c = pick(&S->r, 0, 10);
	rnode n;
	if (c < 5 && S->narr > 0)
		return leaf_of(S, &S->arr[pick(&S->r, 0, S->narr)]);
	if (c == 9)
		return build_random(S);
	if (c == 5) {
		n = (rnode){.kind = RK_WEAK_INT, .t = AJ_INT64, .weak = true,
			    .v = pick(&S->r, 0, 101)};
		return new_node(S, n, aj_scalar_i64(S->p, (int64_t)n.v));
	}
	if (c == 6) {
		n = (rnode){.kind = RK_WEAK_FLOAT, .t = AJ_FLOAT64, .weak = true,
			    .v = specials[pick(&S->r, 0, NSPECIAL)]};
		return new_node(S, n, aj_scalar_f64(S->p, n.v));
	}
	if (c == 7) {
		n = (rnode){.kind = RK_WEAK_COMPLEX, .t = AJ_COMPLEX128, .weak = true,
			    .v = specials[pick(&S->r, 0, NSPECIAL)],
			    .vi = specials[pick(&S->r, 0, NSPECIAL)]};
		return new_node(S, n, aj_scalar_c128(S->p, n.v, n.vi));
	}
	n = (rnode){.kind = RK_STRONG, .t = dtypes[pick(&S->r, 0, NDTYPES)]};
	n.v = n.t >= AJ_FLOAT32 ? specials[pick(&S->r, 0, NSPECIAL)]
				: pick(&S->r, 0, 100);
	if (!is_complex(n.t))
		return new_node(S, n, aj_scalar(S->p, n.t, n.v));
	n.vi = specials[pick(&S->r, 0, NSPECIAL)];
	return new_node(S, n, aj_scalar_complex(S->p, n.t, n.v, n.vi));
}

static const aj_op unary_ops[] = {AJ_OP_NEG,  AJ_OP_ABS, AJ_OP_SQRT,
				  AJ_OP_CAST, AJ_OP_EXP, AJ_OP_SIN,
				  AJ_OP_LOG,  AJ_OP_REAL, AJ_OP_IMAG,
				  AJ_OP_CONJ};
#define NUNARY ((int)(sizeof unary_ops / sizeof unary_ops[0]))
static const aj_op binary_ops[] = {
    AJ_OP_ADD,	    AJ_OP_SUB, AJ_OP_MUL, AJ_OP_DIV, AJ_OP_FLOORDIV,
    AJ_OP_REM,	    AJ_OP_MIN, AJ_OP_MAX, AJ_OP_EQ,  AJ_OP_NE,
    AJ_OP_LT,	    AJ_OP_LE,  AJ_OP_GT,  AJ_OP_GE};

static int build(state *S, int depth, bool root);

/* op over in[0..nin): the node, or in[0] alone when the reference leaves
 * the op out of scope (or its shapes do not broadcast). */
static int build_op(state *S, aj_op op, int nin, const int *in, bool root,
		    aj_dtype cast)
{
	rnode n = {.kind = RK_OP, .op = op, .nin = nin, .cast = cast};
	memcpy(n.in, in, sizeof n.in);
	int t = rtype(S->nodes, op, nin, in, cast);
	n.inexact = ((op == AJ_OP_EXP || op == AJ_OP_SIN || op == AJ_OP_LOG) &&
		     !(t >= 0 && is_complex((aj_dtype)t))) ||
		    (op == AJ_OP_POW && t >= 0 && is_float((aj_dtype)t)) ||
		    (op == AJ_OP_ABS && is_complex(S->nodes[in[0]].t));
	if (t < 0 || (n.inexact && !root) ||
	    !rshape(S->nodes, nin, in, &n.ndim, n.shape))
		return in[0];
	n.t = (aj_dtype)t;
	aj_expr a[3];
	for (int k = 0; k < nin; k++)
		a[k] = S->ex[in[k]];
	aj_expr e = op == AJ_OP_CAST ? aj_cast(S->p, a[0], cast)
				     : aj_apply(S->p, op, nin, a);
	return new_node(S, n, e);
}

/* A reduction over one axis of x; min and max not over an empty one
 * (NumPy refuses it). */
static int build_reduce(state *S, int x, bool root)
{
	static const aj_op ops[] = {AJ_OP_SUM, AJ_OP_RMIN, AJ_OP_RMAX,
				    AJ_OP_ANY, AJ_OP_ALL};
	const rnode *xn = &S->nodes[x];
	aj_op op = ops[pick(&S->r, 0, 5)];
	if (xn->ndim == 0 || xn->weak)
		return x;
	rnode n = {.kind = RK_OP, .op = op, .nin = 1, .in = {x},
		   .axis = pick(&S->r, 0, xn->ndim), .keep = u8(&S->r) & 1};
	int t = rtype(S->nodes, op, 1, &x, 0);
	n.inexact = op == AJ_OP_SUM && t >= AJ_FLOAT32;
	if (t < 0 || (n.inexact && !root) || xn->shape[n.axis] > 64 ||
	    ((op == AJ_OP_RMIN || op == AJ_OP_RMAX) && xn->shape[n.axis] == 0))
		return x;
	n.t = (aj_dtype)t;
	for (int d = 0; d < xn->ndim; d++)
		if (d != n.axis || n.keep)
			n.shape[n.ndim++] = d == n.axis ? 1 : xn->shape[d];
	int axis = u8(&S->r) & 1 ? n.axis - xn->ndim : n.axis;
	return new_node(S, n, aj_reduce(S->p, op, S->ex[x], 1, &axis, n.keep));
}

/* A view of expression x: slice, permute, flip or expand_dims, mapped
 * back to x's index by vbase and vmat. */
static int build_view(state *S, int x)
{
	rnode n = S->nodes[x];
	if (n.weak || n.ndim > RMAX_VND)
		return x;
	int nd = n.ndim, kind = pick(&S->r, 0, 4);
	n = (rnode){.kind = RK_OP, .op = AJ_OP_VIEW, .nin = 1, .in = {x},
		    .t = n.t, .ndim = nd};
	memcpy(n.shape, S->nodes[x].shape, sizeof n.shape);
	const int64_t *xs = S->nodes[x].shape;
	aj_expr e;
	if (kind == 0 && nd > 0) {
		aj_slice s[AJ_MAX_NDIM];
		for (int d = 0; d < nd; d++) {
			int step = pick(&S->r, -3, 6);
			s[d] = (aj_slice){slice_bound(&S->r), slice_bound(&S->r),
					  step >= 0 ? step + 1 : step};
			n.shape[d] = slice_axis(xs[d], s[d], &n.vbase[d]);
			n.vbase[d] = n.shape[d] > 0 ? n.vbase[d] : 0;
			n.vmat[d][d] = s[d].step;
		}
		e = aj_expr_slice(S->p, S->ex[x], s);
	} else if (kind == 1 && nd > 0) {
		int perm[AJ_MAX_NDIM];
		for (int d = 0; d < nd; d++)
			perm[d] = d;
		for (int d = nd - 1; d > 0; d--) {
			int j = pick(&S->r, 0, d + 1), t = perm[d];
			perm[d] = perm[j], perm[j] = t;
		}
		for (int k = 0; k < nd; k++) {
			n.shape[k] = xs[perm[k]];
			n.vmat[perm[k]][k] = 1;
		}
		e = aj_expr_permute(S->p, S->ex[x], perm);
	} else if (kind == 2 && nd > 0) {
		int a = pick(&S->r, 0, nd);
		for (int d = 0; d < nd; d++)
			n.vmat[d][d] = d == a ? -1 : 1;
		n.vbase[a] = xs[a] > 0 ? xs[a] - 1 : 0;
		e = aj_expr_flip(S->p, S->ex[x], u8(&S->r) & 1 ? a - nd : a);
	} else if (nd < RMAX_VND) {
		int a = pick(&S->r, 0, nd + 1);
		n.ndim = nd + 1;
		for (int d = 0; d <= nd; d++)
			n.shape[d] = d < a ? xs[d] : d == a ? 1 : xs[d - 1];
		for (int j = 0; j < nd; j++)
			n.vmat[j][j < a ? j : j + 1] = 1;
		e = aj_expr_expand_dims(S->p, S->ex[x], a);
	} else {
		return x;
	}
	return new_node(S, n, e);
}

/* ---- gathers and powers: errors at build time and in the data ---- */

static bool is_scalar(const rnode *n)
{
	return n->kind == RK_WEAK_INT || n->kind == RK_WEAK_FLOAT ||
	       n->kind == RK_WEAK_COMPLEX || n->kind == RK_STRONG;
}

/* Whether node k reads an array: if not, the library folds it into a
 * scalar, and checks it when it is built. */
static bool reads_array(const rnode *nodes, int k)
{
	const rnode *n = &nodes[k];
	if (n->kind == RK_LEAF || n->kind == RK_RANDOM ||
	    (n->kind == RK_OP && n->op == AJ_OP_TAKE))
		return true;
	for (int j = 0; n->kind == RK_OP && j < n->nin; j++)
		if (reads_array(nodes, n->in[j]))
			return true;
	return false;
}

/* An int scalar v in [lo, lo + n): a Python int, or a strong scalar of
 * an int dtype (|v| if unsigned). */
static int int_scalar(state *S, int lo, int n)
{
	int v = pick(&S->r, lo, n);
	if (u8(&S->r) & 1) {
		rnode w = {.kind = RK_WEAK_INT, .t = AJ_INT64, .weak = true, .v = v};
		return new_node(S, w, aj_scalar_i64(S->p, v));
	}
	rnode c = {.kind = RK_STRONG, .t = dtypes[pick(&S->r, 1, 8)]};
	c.v = c.t >= AJ_UINT8 && v < 0 ? -v : v;
	return new_node(S, c, aj_scalar(S->p, c.t, c.v));
}


/* l flattened in C order as one strided axis, if a view can do that
 * (ravel's rule: one stride steps through the axes longer than 1). */
static bool flatten(const rleaf *l, rleaf *flat)
{
	int64_t next = 0;
	bool first = true;
	*flat = *l;
	flat->ndim = 1;
	flat->shape[0] = nelem(l->ndim, l->shape);
	flat->strides[0] = 0;
	for (int d = l->ndim - 1; d >= 0 && flat->shape[0] > 0; d--) {
		if (l->shape[d] == 1)
			continue;
		if (!first && l->strides[d] != next)
			return false;
		if (first)
			flat->strides[0] = l->strides[d];
		first = false;
		next = l->strides[d] * l->shape[d];
	}
	return true;
}

/* The positions of a take: mostly an integer array's, or a scalar (its
 * range checked at build time), or any expression. */
static int take_positions(state *S, int depth)
{
	int c = pick(&S->r, 0, 8), ints[NARR], n = 0;
	for (int k = 0; k < S->narr; k++)
		if (is_int(S->buf[S->arr[k].buf].t))
			ints[n++] = k;
	if (c < 4 && n > 0)
		return leaf_of(S, &S->arr[ints[pick(&S->r, 0, n)]]);
	if (c < 6)
		return int_scalar(S, -9, 18);
	return build(S, depth + 1, false);
}

/* NumPy's take(x, i, axis) with mode='raise': build-time errors (x not
 * an array, i not of an int dtype, a bad axis, axis=None where ravel
 * needs a copy, a scalar position out of range) fail here; positions in
 * an array are checked by rcheck at aj_sync. */
static int build_take(state *S, int depth)
{
	if (S->narr == 0)
		return build_leaf(S);
	int x = leaf_of(S, &S->arr[pick(&S->r, 0, S->narr)]);
	if (pick(&S->r, 0, 8) == 0)
		x = build(S, depth + 1, false);
	int i = take_positions(S, depth);
	const rnode *xn = &S->nodes[x], *in = &S->nodes[i];
	int nd = xn->ndim, c = pick(&S->r, 0, 2 * nd + 2), axis = c - nd;
	bool none = c == 2 * nd, ok_axis = c < 2 * nd;
	if (c == 2 * nd + 1)
		axis = u8(&S->r) & 1 ? nd : -nd - 1;
	if (!is_scalar(in) && !reads_array(S->nodes, i))
		return x; /* folded to a scalar: checked at build time */
	if (xn->kind == RK_OP && (xn->op == AJ_OP_VIEW || xn->op == AJ_OP_CAST))
		return x; /* may well be an array leaf for the library */
	rnode n = {.kind = RK_OP, .op = AJ_OP_TAKE, .nin = 1, .in = {i},
		   .t = xn->t, .leaf = xn->leaf, .axis = axis < 0 ? axis + nd : axis};
	unsigned want = 0;
	if (xn->kind != RK_LEAF)
		want |= 1u << AJ_ERR_ARG;
	if (!is_int(in->t))
		want |= 1u << AJ_ERR_DTYPE;
	if (xn->kind == RK_LEAF && none && !flatten(&xn->leaf, &n.leaf))
		want |= 1u << AJ_ERR_LAYOUT;
	if (!none && !ok_axis)
		want |= 1u << AJ_ERR_ARG;
	if (none)
		n.axis = 0;
	if (!want && is_scalar(in) &&
	    !rin_range(reval(S->nodes, i, NULL), in->t, n.leaf.shape[n.axis]))
		want |= 1u << AJ_ERR_BOUNDS;
	aj_expr e;
	if (want) {
		e = aj_take(S->p, S->ex[x], S->ex[i], none ? AJ_ALL_AXES : axis);
		build_failed(S, e, want, "take");
		return x;
	}
	n.ndim = n.leaf.ndim - 1 + in->ndim;
	for (int d = 0; d < n.ndim; d++)
		n.shape[d] = d < n.axis ? n.leaf.shape[d]
			     : d < n.axis + in->ndim ? in->shape[d - n.axis]
						     : n.leaf.shape[d - in->ndim + 1];
	e = aj_take(S->p, S->ex[x], S->ex[i], none ? AJ_ALL_AXES : axis);
	return new_node(S, n, e);
}

/* x ** e. Integer powers: a negative scalar exponent fails here, one in
 * an array at aj_sync (rcheck). Float powers only with an exponent of
 * an array, which meets pow itself (scalar ones become square, sqrt,
 * products, each with its own bound). */
static int build_pow(state *S, int depth, bool root)
{
	int in[3];
	in[0] = build(S, depth + 1, false);
	in[1] = u8(&S->r) & 1 ? int_scalar(S, -3, 16) : build(S, depth + 1, false);
	const rnode *e = &S->nodes[in[1]];
	int t = rtype(S->nodes, AJ_OP_POW, 2, in, 0), nd;
	int64_t shape[AJ_MAX_NDIM];
	if (t < 0 || !rshape(S->nodes, 2, in, &nd, shape))
		return in[0];
	if (!is_scalar(e) && !reads_array(S->nodes, in[1]))
		return in[0]; /* folded: checked at build time, or not */
	if (is_float((aj_dtype)t) && is_scalar(e))
		return in[0];
	/* NEP 50: a Python int must fit the dtype it meets; then NumPy's
	 * loop raises for each element, so for none of an empty result */
	bool fits = !e->weak || t < AJ_UINT8;
	if (!is_float((aj_dtype)t) && is_scalar(e) && e->v < 0 &&
	    !(fits && nelem(nd, shape) == 0)) {
		aj_expr a[2] = {S->ex[in[0]], S->ex[in[1]]};
		build_failed(S, aj_apply(S->p, AJ_OP_POW, 2, a),
			     1u << (fits ? AJ_ERR_ARG : AJ_ERR_OVERFLOW), "power");
		return in[0];
	}
	return build_op(S, AJ_OP_POW, 2, in, root, 0);
}

static int build(state *S, int depth, bool root)
{
	int c = pick(&S->r, 0, 11), in[3];
	if (depth >= 3 || S->nnodes + 4 > RMAX_NODES || c < 2)
		return build_leaf(S);
	if (c == 2) {
		aj_op op = unary_ops[pick(&S->r, 0, NUNARY)];
		aj_dtype t = dtypes[pick(&S->r, 0, NDTYPES)];
		in[0] = build(S, depth + 1, false);
		return build_op(S, op, 1, in, root, t);
	}
	if (c == 3) {
		in[0] = build(S, depth + 1, false);
		in[1] = build(S, depth + 1, false);
		in[2] = build(S, depth + 1, false);
		return build_op(S, AJ_OP_WHERE, 3, in, root, 0);
	}
	if (c == 4)
		return build_reduce(S, build(S, depth + 1, false), root);
	if (c == 5)
		return build_view(S, build(S, depth + 1, false));
	if (c == 6)
		return build_take(S, depth);
	if (c == 7)
		return build_pow(S, depth, root);
	in[0] = build(S, depth + 1, false);
	in[1] = build(S, depth + 1, false);
	return build_op(S, binary_ops[pick(&S->r, 0, 14)], 2, in, root, 0);
}

/* ---- assignments ---- */

static bool broadcasts_to(const rnode *e, const rleaf *out)
{
	if (e->ndim > out->ndim)
		return false;
	for (int d = 0; d < e->ndim; d++) {
		int64_t o = out->shape[out->ndim - e->ndim + d];
		if (e->shape[d] != o && e->shape[d] != 1)
			return false;
	}
	return true;
}

static bool self_overlap(const array *o, int64_t sz)
{
	static uint8_t seen[NELEM];
	memset(seen, 0, sizeof seen);
	int64_t n = nelem(o->l.ndim, o->l.shape);
	for (int64_t k = 0; k < n; k++)
		if (seen[elem_at(&o->l, k, sz)]++)
			return true;
	return false;
}

static void cmd_assign(state *S)
{
	if (S->narr == 0 || S->npend == NPEND)
		return;
	const array *o = &S->arr[pick(&S->r, 0, S->narr)];
	S->nnodes = 0;
	int root = build(S, 0, true);
	const rnode *e = &S->nodes[root];
	if (e->weak)
		return; /* Python scalars into arrays: NumPy checks values */
	buffer *b = &S->buf[o->buf];
	bool shape_ok = broadcasts_to(e, &o->l), kind_ok = rsame_kind(e->t, b->t);
	bool overlap = self_overlap(o, elem_size(b->t));
	aj_status st = aj_assign(S->p, o->a, S->ex[root]);
	trace("assign arr%d = n%d: %d\n", (int)(o - S->arr), root, st);
	/* a self-overlapping output may be found at aj_sync instead */
	if (shape_ok && kind_ok && !o->ro && (!overlap || st == AJ_OK)) {
		check(st == AJ_OK, "aj_assign failed: %s", aj_prog_errmsg(S->p));
		pending *pd = &S->pend[S->npend++];
		pd->overlap = overlap;
		pd->out = (int)(o - S->arr);
		pd->root = root;
		memcpy(pd->nodes, S->nodes, sizeof pd->nodes);
		return;
	}
	check(st != AJ_OK, "aj_assign succeeded: shape %d, same_kind %d, "
			   "read-only %d, self-overlap %d",
	      shape_ok, kind_ok, o->ro, overlap);
	check((!shape_ok && st == AJ_ERR_SHAPE) ||
		      (!kind_ok && st == AJ_ERR_DTYPE) ||
		      (o->ro && st == AJ_ERR_READONLY) ||
		      (overlap && st == AJ_ERR_OVERLAP),
	      "aj_assign gave %d: %s (shape %d, same_kind %d, read-only %d, "
	      "self-overlap %d)",
	      st, aj_prog_errmsg(S->p), shape_ok, kind_ok, o->ro, overlap);
}

/* Runs pd on the reference's buffers: every value first, then the
 * writes. */
static void simulate_into(state *S, const array *o, const rnode *nodes, int root)
{
	buffer *b = &S->buf[o->buf];
	const rnode *e = &nodes[root];
	int64_t sz = elem_size(b->t), n = nelem(o->l.ndim, o->l.shape);
	static rval vals[NELEM];
	int64_t idx[AJ_MAX_NDIM], ei[AJ_MAX_NDIM];
	for (int64_t k = 0; k < n; k++) {
		for (int d = o->l.ndim - 1, j = (int)k; d >= 0; d--) {
			idx[d] = j % o->l.shape[d];
			j /= (int)o->l.shape[d];
		}
		for (int d = 0; d < e->ndim; d++)
			ei[d] = e->shape[d] == 1 ? 0 : idx[o->l.ndim - e->ndim + d];
		vals[k] = rconvert(reval(nodes, root, ei), e->t, b->t);
	}
	for (int64_t k = 0; k < n; k++) {
		int64_t at = elem_at(&o->l, k, sz);
		rstore(b->t, b->sim + at * sz, vals[k]);
		b->st[at] = (uint8_t)vals[k].st;
		b->want[at] = vals[k];
	}
}

static void simulate(state *S, const pending *pd)
{
	simulate_into(S, &S->arr[pd->out], pd->nodes, pd->root);
}

static void compare_buffers(state *S)
{
	for (int bi = 0; bi < S->nbuf; bi++) {
		buffer *b = &S->buf[bi];
		int64_t sz = elem_size(b->t);
		for (int k = 0; k < NELEM; k++) {
			rval want = b->st[k] == R_EXACT ? rload(b->t, b->sim + k * sz)
							: b->want[k];
			want.st = b->st[k];
			rval got = rload(b->t, b->mem + k * sz);
			check(ragree(b->t, b->mem + k * sz, want),
			      "buffer %d (%s) element %d: got %.17g%+.17gj / %lld, "
			      "reference %.17g%+.17gj / %lld",
			      bi, aj_dtype_name(b->t), k, got.f, got.im,
			      (long long)got.i, want.f, want.im, (long long)want.i);
		}
		int64_t used = NELEM * sz;
		for (int64_t k = 0; k < 2 * GUARD + NELEM * MAXSZ - used; k++)
			check((unsigned char)b->base[k < GUARD ? k : used + k] == 0xa5,
			      "buffer %d: a write outside its elements", bi);
		/* from here on the library's values are the reference's */
		memcpy(b->sim, b->mem, sizeof b->sim);
		memset(b->st, R_EXACT, sizeof b->st);
	}
}

/* The reference runs the assignments in order, each checked (rcheck)
 * against the values the ones before it wrote; if one fails, or an
 * output overlaps itself, aj_sync fails and writes nothing at all. */
static void cmd_sync(state *S)
{
	static struct {
		char sim[NELEM * MAXSZ];
		uint8_t st[NELEM];
		rval want[NELEM];
	} saved[NBUF];
	for (int bi = 0; bi < S->nbuf; bi++) {
		memcpy(saved[bi].sim, S->buf[bi].sim, sizeof saved[bi].sim);
		memcpy(saved[bi].st, S->buf[bi].st, sizeof saved[bi].st);
		memcpy(saved[bi].want, S->buf[bi].want, sizeof saved[bi].want);
	}
	bool overlap = false;
	enum rcheck verdict = RC_OK;
	for (int k = 0; k < S->npend; k++)
		overlap = overlap || S->pend[k].overlap;
	for (int k = 0; k < S->npend && verdict != RC_FAIL; k++) {
		enum rcheck c = rcheck(S->pend[k].nodes, S->pend[k].root);
		verdict = c > verdict ? c : verdict;
		if (verdict != RC_FAIL)
			simulate(S, &S->pend[k]);
	}
	aj_status st = aj_sync(S->p);
	trace("sync: %d (overlap %d, checks %d)\n", st, overlap, verdict);
	if (overlap)
		check(st == AJ_ERR_OVERLAP || (verdict != RC_OK && st == AJ_ERR_ARG),
		      "aj_sync of an output that overlaps itself gave %d: %s",
		      st, aj_prog_errmsg(S->p));
	else if (verdict == RC_FAIL)
		check(st == AJ_ERR_ARG, "aj_sync of a position out of range or a "
		      "negative integer exponent gave %d: %s", st,
		      aj_prog_errmsg(S->p));
	else
		check(st == AJ_OK || (verdict == RC_UNKNOWN && st == AJ_ERR_ARG),
		      "aj_sync failed: %s", aj_prog_errmsg(S->p));
	for (int bi = 0; bi < S->nbuf && st != AJ_OK; bi++) {
		memcpy(S->buf[bi].sim, saved[bi].sim, sizeof saved[bi].sim);
		memcpy(S->buf[bi].st, saved[bi].st, sizeof saved[bi].st);
		memcpy(S->buf[bi].want, saved[bi].want, sizeof saved[bi].want);
	}
	S->npend = 0;
	compare_buffers(S);
}

/* ---- selection ---- */

/* The reference's a[mask] against out: the elements of a at the
 * positions where mask holds, in C order, each followed by a's trailing
 * axes. Unless a mask element is undefined (then any count will do). */
static void check_selected(state *S, int a, int m, const aj_array *out)
{
	const rnode *an = &S->nodes[a], *mn = &S->nodes[m];
	int64_t idx[AJ_MAX_NDIM], npos = nelem(mn->ndim, mn->shape);
	int64_t inner = nelem(an->ndim - mn->ndim, an->shape + mn->ndim), count = 0;
	for (int64_t q = 0; q < npos; q++) {
		int64_t j = q;
		for (int d = mn->ndim - 1; d >= 0; d--)
			idx[d] = j % mn->shape[d], j /= mn->shape[d];
		rval v = reval(S->nodes, m, idx);
		if (v.st != R_EXACT)
			return;
		count += v.i != 0;
	}
	check(aj_array_dtype(out) == an->t && aj_array_ndim(out) == an->ndim - mn->ndim + 1 &&
		      aj_array_shape(out)[0] == count &&
		      memcmp(aj_array_shape(out) + 1, an->shape + mn->ndim,
			     8 * (size_t)(an->ndim - mn->ndim)) == 0,
	      "aj_mask_select: dtype %s, ndim %d, %lld kept; reference %s, %lld",
	      aj_dtype_name(aj_array_dtype(out)), aj_array_ndim(out),
	      (long long)(aj_array_ndim(out) ? aj_array_shape(out)[0] : -1),
	      aj_dtype_name(an->t), (long long)count);
	int64_t r = 0;
	for (int64_t q = 0; q < npos; q++) {
		int64_t j = q;
		for (int d = mn->ndim - 1; d >= 0; d--)
			idx[d] = j % mn->shape[d], j /= mn->shape[d];
		if (!reval(S->nodes, m, idx).i)
			continue;
		for (int64_t e = 0; e < inner; e++, r++) {
			int64_t k = e;
			for (int d = an->ndim - 1; d >= mn->ndim; d--)
				idx[d] = k % an->shape[d], k /= an->shape[d];
			rval want = reval(S->nodes, a, idx), got = rload(an->t, fuzz_elem(out, r));
			check(ragree(an->t, fuzz_elem(out, r), want),
			      "aj_mask_select: element %lld: got %.17g%+.17gj / %lld, "
			      "reference %.17g%+.17gj / %lld (state %d, ulp %d)", (long long)r, got.f,
			      got.im, (long long)got.i, want.f, want.im, (long long)want.i, want.st, want.ulp);
		}
	}
}

/*
 * aj_mask_select(a, mask) of two expressions, after a sync: mask of
 * dtype bool (else AJ_ERR_DTYPE) and of a's leading shape (else
 * AJ_ERR_SHAPE); a failing check of the data (a take, a power) is
 * AJ_ERR_ARG; on error *out is untouched.
 */
static void cmd_select(state *S)
{
	if (S->narr == 0)
		return;
	cmd_sync(S);
	S->nnodes = 0;
	int a = build(S, 0, true), m = build(S, 1, false);
	if (S->nodes[m].t != AJ_BOOL && (u8(&S->r) & 3) != 3) {
		rnode z = {.kind = RK_WEAK_INT, .t = AJ_INT64, .weak = true};
		int in[3] = {m, new_node(S, z, aj_scalar_i64(S->p, 0))};
		m = build_op(S, AJ_OP_NE, 2, in, false, 0);
	}
	const rnode *an = &S->nodes[a], *mn = &S->nodes[m];
	if (an->weak || mn->weak)
		return;
	unsigned want = 0;
	if (mn->t != AJ_BOOL)
		want |= 1u << AJ_ERR_DTYPE;
	if (mn->ndim > an->ndim ||
	    memcmp(mn->shape, an->shape, 8 * (size_t)mn->ndim) != 0)
		want |= 1u << AJ_ERR_SHAPE;
	enum rcheck c = rcheck(S->nodes, a), cm = rcheck(S->nodes, m);
	c = cm > c ? cm : c;
	if (c == RC_FAIL)
		want |= 1u << AJ_ERR_ARG;
	aj_array *out = UNTOUCHED;
	aj_status st = aj_mask_select(S->p, S->ex[a], S->ex[m], &out);
	trace("mask_select n%d [n%d]: %d\n", a, m, st);
	if (st != AJ_OK) {
		check(out == UNTOUCHED, "a failed aj_mask_select wrote *out");
		check((want >> st & 1) || (c == RC_UNKNOWN && st == AJ_ERR_ARG),
		      "aj_mask_select failed with %d (%#x): %s", st, want,
		      aj_prog_errmsg(S->p));
		return;
	}
	check(want == 0, "aj_mask_select succeeded where it must fail (%#x)", want);
	check_selected(S, a, m, out);
	aj_array_free(out);
	compare_buffers(S); /* it writes nothing else */
}

/* ---- prepared kernels ---- */

/*
 * aj_prepare of "o = <expr>" over array parameters o, a, b and a scalar
 * s (int64 or float64, weak), the expression of + - * / // %, minimum,
 * maximum, < ==, where, number literals; then runs with the templates or
 * with arrays of their layout elsewhere (another buffer of the dtype, or
 * a fresh handle), and a new s each time. Each run is an assignment
 * checked as aj_assign's; prepare fails exactly when aj_assign would.
 */
typedef struct prep {
	int which[RMAX_NODES];	     /* the parameter of a leaf: 0 o, 1 a, 2 b,
					3 s; -1 for others */
	const char *lit[RMAX_NODES]; /* a literal's text */
	bool sfloat;		     /* s is a float64 */
} prep;

static int prep_node(state *S, prep *P, rnode n, int which, const char *lit)
{
	check(S->nnodes < RMAX_NODES, "the prepared tree outgrew RMAX_NODES");
	P->which[S->nnodes] = which;
	P->lit[S->nnodes] = lit;
	S->nodes[S->nnodes] = n;
	return S->nnodes++;
}

static int prep_leaf(state *S, prep *P, const array *a, int which)
{
	rnode n = {.kind = RK_LEAF, .t = S->buf[a->buf].t, .leaf = a->l,
		   .ndim = a->l.ndim};
	memcpy(n.shape, a->l.shape, sizeof n.shape);
	return prep_node(S, P, n, which, NULL);
}

static int prep_tree(state *S, prep *P, int depth, const array *const *arg)
{
	static const char *const ints[] = {"0", "1", "2", "3", "7", "9"};
	static const char *const floats[] = {"0.5", "2.5", "7.0", "0.25"};
	static const double fv[] = {0.5, 2.5, 7.0, 0.25};
	static const aj_op ops[] = {AJ_OP_ADD, AJ_OP_SUB, AJ_OP_MUL, AJ_OP_DIV,
				    AJ_OP_FLOORDIV, AJ_OP_REM, AJ_OP_MIN,
				    AJ_OP_MAX, AJ_OP_LT, AJ_OP_EQ};
	int c = pick(&S->r, 0, depth >= 2 ? 5 : 10), in[3], k;
	if (c < 3)
		return prep_leaf(S, P, arg[c], c);
	if (c == 3) {
		rnode n = {.kind = P->sfloat ? RK_WEAK_FLOAT : RK_WEAK_INT,
			   .t = P->sfloat ? AJ_FLOAT64 : AJ_INT64, .weak = true};
		return prep_node(S, P, n, 3, NULL);
	}
	if (c == 4) {
		bool fl = u8(&S->r) & 1;
		k = pick(&S->r, 0, fl ? 4 : 6);
		rnode n = {.kind = fl ? RK_WEAK_FLOAT : RK_WEAK_INT,
			   .t = fl ? AJ_FLOAT64 : AJ_INT64, .weak = true,
			   .v = fl ? fv[k] : atoi(ints[k])};
		return prep_node(S, P, n, -1, fl ? floats[k] : ints[k]);
	}
	aj_op op = c < 9 ? ops[pick(&S->r, 0, 10)] : AJ_OP_WHERE;
	int nin = op == AJ_OP_WHERE ? 3 : 2;
	for (k = 0; k < nin; k++)
		in[k] = prep_tree(S, P, depth + 1, arg);
	rnode n = {.kind = RK_OP, .op = op, .nin = nin};
	memcpy(n.in, in, sizeof n.in);
	int t = rtype(S->nodes, op, nin, in, 0);
	if (t < 0 || !rshape(S->nodes, nin, in, &n.ndim, n.shape))
		return in[0];
	n.t = (aj_dtype)t;
	n.weak = S->nodes[in[0]].weak && S->nodes[in[1]].weak &&
		 (nin == 2 || S->nodes[in[2]].weak);
	return prep_node(S, P, n, -1, NULL);
}

static void prep_text(const state *S, const prep *P, int k, char *buf, size_t cap)
{
	static const char *const names[] = {"o", "a", "b", "s"};
	const rnode *n = &S->nodes[k];
	size_t len = strlen(buf);
	const char *sym = NULL, *fn = NULL;
	if (n->kind != RK_OP) {
		snprintf(buf + len, cap - len, "%s", P->which[k] >= 0 ? names[P->which[k]]
								       : P->lit[k]);
		return;
	}
	switch (n->op) {
	case AJ_OP_ADD: sym = " + "; break;
	case AJ_OP_SUB: sym = " - "; break;
	case AJ_OP_MUL: sym = " * "; break;
	case AJ_OP_DIV: sym = " / "; break;
	case AJ_OP_FLOORDIV: sym = " // "; break;
	case AJ_OP_REM: sym = " % "; break;
	case AJ_OP_LT: sym = " < "; break;
	case AJ_OP_EQ: sym = " == "; break;
	case AJ_OP_MIN: fn = "minimum"; break;
	case AJ_OP_MAX: fn = "maximum"; break;
	default: fn = "where"; break;
	}
	snprintf(buf + len, cap - len, "%s", fn ? fn : "");
	for (int j = 0; j < n->nin; j++) {
		len = strlen(buf);
		snprintf(buf + len, cap - len, "%s", j == 0 ? "(" : sym ? sym : ", ");
		prep_text(S, P, n->in[j], buf, cap);
	}
	len = strlen(buf);
	snprintf(buf + len, cap - len, ")");
}

/* An array of a's layout: on another buffer of its dtype, or a new
 * handle on a's; the caller frees tw->a. */
static void twin(state *S, const array *a, array *tw)
{
	buffer *b = &S->buf[a->buf];
	int bi = a->buf;
	for (int k = 0; k < S->nbuf; k++)
		if (k != a->buf && S->buf[k].t == b->t && (u8(&S->r) & 1))
			bi = k;
	int64_t sz = elem_size(b->t);
	*tw = (array){NULL, bi, false, a->l};
	tw->l.base = S->buf[bi].sim;
	tw->l.st = S->buf[bi].st;
	aj_status st = aj_array_wrap(fuzz_ctx(), S->buf[bi].mem, NELEM * sz,
				     a->l.off, b->t, a->l.ndim, a->l.shape,
				     a->l.strides, &tw->a);
	check(st == AJ_OK, "wrap of a twin: %s", aj_ctx_errmsg(fuzz_ctx()));
}

/* One run of k with o, a, b (or twins of them) and a new s. */
static void prep_run(state *S, prep *P, aj_prepared *k, const array *const *tmpl,
		     int root, const char *text)
{
	array tw[3];
	const array *use[3];
	for (int j = 0; j < 3; j++) {
		use[j] = tmpl[j];
		if (u8(&S->r) & 1) {
			twin(S, tmpl[j], &tw[j]);
			use[j] = &tw[j];
		}
	}
	aj_arg args[4] = {{.array = use[0]->a}, {.array = use[1]->a},
			  {.array = use[2]->a}};
	double v = P->sfloat ? specials[pick(&S->r, 0, NSPECIAL)] : pick(&S->r, 0, 21);
	if (P->sfloat)
		args[3].f = v;
	else
		args[3].i = (int64_t)v;
	for (int n = 0; n < S->nnodes; n++) {
		int w = P->which[n];
		if (w >= 0 && w < 3)
			S->nodes[n].leaf = use[w]->l;
		if (w == 3)
			S->nodes[n].v = v;
	}
	aj_status st = aj_prepared_run(k, args);
	trace("prepared run (s %g): %d\n", v, st);
	check(st == AJ_OK, "aj_prepared_run of '%s' failed: %s", text,
	      aj_prepared_errmsg(k));
	simulate_into(S, use[0], S->nodes, root);
	compare_buffers(S);
	for (int j = 0; j < 3; j++)
		if (use[j] == &tw[j])
			aj_array_free(tw[j].a);
}

static void cmd_prepared(state *S)
{
	if (S->narr == 0)
		return;
	cmd_sync(S); /* the runs write at once: the pending work first */
	const array *tmpl[3];
	for (int j = 0; j < 3; j++)
		tmpl[j] = &S->arr[pick(&S->r, 0, S->narr)];
	const array *o = tmpl[0];
	prep P = {.sfloat = u8(&S->r) & 1};
	S->nnodes = 0;
	int root = prep_tree(S, &P, 0, tmpl);
	const rnode *e = &S->nodes[root];
	if (o->ro || self_overlap(o, elem_size(S->buf[o->buf].t)) || e->weak)
		return;
	char text[2048] = "o = ";
	prep_text(S, &P, root, text, sizeof text);
	aj_param params[4] = {{"o", o->a, 0}, {"a", tmpl[1]->a, 0},
			      {"b", tmpl[2]->a, 0},
			      {"s", NULL, P.sfloat ? AJ_FLOAT64 : AJ_INT64}};
	aj_prepared *k = NULL;
	aj_status st = aj_prepare(fuzz_ctx(), text, 4, params, &k);
	trace("prepare '%s': %d\n", text, st);
	if (!broadcasts_to(e, &o->l) || !rsame_kind(e->t, S->buf[o->buf].t)) {
		check(st != AJ_OK && k == NULL, "aj_prepare of '%s' must fail", text);
		return;
	}
	check(st == AJ_OK && k != NULL, "aj_prepare of '%s' failed: %s", text,
	      aj_ctx_errmsg(fuzz_ctx()));
	for (int r = pick(&S->r, 1, 3); r > 0; r--)
		prep_run(S, &P, k, tmpl, root, text);
	aj_prepared_free(k);
}

/* ---- driver ---- */

static void setup(state *S)
{
	S->nbuf = pick(&S->r, 1, NBUF);
	for (int k = 0; k < S->nbuf; k++) {
		buffer *b = &S->buf[k];
		b->t = dtypes[pick(&S->r, 0, NDTYPES)];
		trace("buffer %d %s\n", k, aj_dtype_name(b->t));
		b->base = aligned_alloc(64, 2 * GUARD + NELEM * MAXSZ);
		memset(b->base, 0xa5, 2 * GUARD + NELEM * MAXSZ);
		b->mem = b->base + GUARD;
		unsigned c = u8(&S->r);
		fill_buffer(b, 0x9e3779b97f4a7c15u * ((c >> 1) + 1), c & 1);
		/* the whole buffer, 1-d, to start with */
		rleaf l = {.ndim = 1, .shape = {NELEM}, .strides = {elem_size(b->t)}};
		aj_array *v;
		aj_status st = aj_array_wrap(fuzz_ctx(), b->mem, NELEM * MAXSZ, 0,
					     b->t, 1, l.shape, NULL, &v);
		check(st == AJ_OK, "wrap: %s", aj_ctx_errmsg(fuzz_ctx()));
		add_array(S, v, k, false, &l);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static state S;
	memset(&S, 0, sizeof S);
	S.r = (reader){data, size};
	check(aj_prog_new(fuzz_ctx(), &S.p) == AJ_OK, "aj_prog_new");
	fuzz_knobs(u8(&S.r));
	S.seed = u8(&S.r) * 0x9e3779b97f4a7c15u;
	check(aj_ctx_set_seed(fuzz_ctx(), S.seed) == AJ_OK, "aj_ctx_set_seed");
	setup(&S);
	for (int steps = 0; steps < 32 && S.r.n > 0; steps++) {
		switch (pick(&S.r, 0, 8)) {
		case 0: if (S.narr < NARR) cmd_wrap(&S); break;
		case 1: case 2: cmd_view(&S); break;
		case 3: case 4: cmd_assign(&S); break;
		case 5: cmd_sync(&S); break;
		case 6: cmd_prepared(&S); break;
		default: cmd_select(&S); break;
		}
	}
	cmd_sync(&S);
	aj_prog_free(S.p);
	for (int k = 0; k < S.narr; k++)
		aj_array_free(S.arr[k].a);
	for (int k = 0; k < S.nbuf; k++)
		free(S.buf[k].base);
	return 0;
}
