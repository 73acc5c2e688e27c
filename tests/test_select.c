/*
 * Selection by a boolean mask: aj_mask_select (NumPy's a[mask]),
 * aj_compress (np.compress), and a[m] and compress(...) in aj_exec text,
 * against results computed here by plain loops over the arrays' bytes.
 * Covers 0-d to 3-d arrays, masks over leading axes, 0-d masks, empty and
 * full selections, every dtype on every ISA the host has, strided,
 * reversed and transposed views as array and mask, expressions as array
 * and mask (fused: no temporary bytes, two kernels), the same bytes on one
 * and two threads over several chunks, pending work seen first, random
 * masks (computed twice, identically), compress with short, long and
 * non-bool conditions and axis=None, every error (nothing allocated), the
 * text language and its undo, and the generated code and cache key.
 */
#include "ref.h"

#include "cache.h"
#include "core.h"
#include "fuse.h"
#include "../jit/jit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ref_env env;

static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};

/* ---- arrays ---- */

/* A bool array, each element true with probability pct / 100. */
static aj_array *random_mask(env *E, int nd, const int64_t *shape, int pct,
			     uint64_t seed)
{
	aj_array *m;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, nd, shape, &m));
	for (int64_t k = 0; k < aj_array_size(m); k++)
		((char *)aj_array_data(m))[k] = (char)(ref_rand(&seed) % 100 < (uint64_t)pct);
	return m;
}

static aj_array *doubles(env *E, int nd, const int64_t *shape, const double *v)
{
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, nd, shape, &a));
	memcpy(aj_array_data(a), v, (size_t)aj_array_size(a) * 8);
	return a;
}

static const char *elem(const aj_array *a, const int64_t *ix)
{
	const char *p = aj_array_data(a);
	for (int d = 0; d < aj_array_ndim(a); d++)
		p += ix[d] * aj_array_strides(a)[d];
	return p;
}

/* Whether the element of dtype t at p is nonzero (NumPy's bool(x)). */
static bool truth(aj_dtype t, const char *p)
{
	double d;
	float f;
	switch (t) {
	case AJ_FLOAT32: memcpy(&f, p, 4); return f != 0;
	case AJ_FLOAT64: memcpy(&d, p, 8); return d != 0;
	default:
		for (size_t k = 0; k < aj_dtype_size(t); k++)
			if (p[k])
				return true;
		return false;
	}
}

static aj_stats stats(env *E)
{
	aj_stats s;
	aj_ctx_stats(E->ctx, &s);
	return s;
}

/* A view of a: slice s per axis, then the axes permuted by perm (if not
 * NULL). */
static aj_array *view(env *E, const aj_array *a, const aj_slice *s, const int *perm)
{
	aj_array *v, *w;
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, s, &v));
	if (!perm)
		return v;
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, v, perm, &w));
	aj_array_free(v);
	return w;
}

/* ---- the reference ---- */

/* What NumPy gives: shape, dtype and C-order bytes. */
typedef struct want {
	int nd;
	int64_t shape[AJ_MAX_NDIM];
	aj_dtype dtype;
	char *bytes; /* malloc'd */
	int64_t n;
} want;

/* The elements of a (any layout), in C order, where keep(ix) holds. */
static void collect(const aj_array *a, bool (*keep)(const int64_t *, const void *),
		    const void *arg, want *w)
{
	size_t size = aj_dtype_size(aj_array_dtype(a));
	int nd = aj_array_ndim(a);
	int64_t ix[AJ_MAX_NDIM] = {0};
	w->dtype = aj_array_dtype(a);
	w->bytes = malloc(size * (size_t)(aj_array_size(a) + 1));
	assert_non_null(w->bytes);
	w->n = 0;
	if (aj_array_size(a) == 0)
		return;
	do
		if (keep(ix, arg))
			memcpy(w->bytes + size * (size_t)w->n++, elem(a, ix), size);
	while (ref_next_index(nd, aj_array_shape(a), ix));
}

typedef struct by_mask {
	const aj_array *mask;
	int axis;
} by_mask;

static bool keep_masked(const int64_t *ix, const void *arg)
{
	const by_mask *b = arg;
	return *elem(b->mask, ix + b->axis) != 0;
}

/* NumPy's a[(slice(None),) * axis + (mask,)]. */
static want ref_select(const aj_array *a, const aj_array *mask, int axis)
{
	want w = {0};
	by_mask b = {mask, axis};
	collect(a, keep_masked, &b, &w);
	int md = aj_array_ndim(mask), nd = aj_array_ndim(a);
	int64_t kept = 0, mix[AJ_MAX_NDIM] = {0};
	if (aj_array_size(mask))
		do
			kept += *elem(mask, mix) != 0;
		while (ref_next_index(md, aj_array_shape(mask), mix));
	for (int d = 0; d < axis; d++)
		w.shape[w.nd++] = aj_array_shape(a)[d];
	w.shape[w.nd++] = kept;
	for (int d = axis + md; d < nd; d++)
		w.shape[w.nd++] = aj_array_shape(a)[d];
	return w;
}

typedef struct by_cond {
	const aj_array *cond;
	int axis; /* AJ_ALL_AXES: the flat C index */
	const int64_t *shape;
	int nd;
} by_cond;

static bool keep_cond(const int64_t *ix, const void *arg)
{
	const by_cond *b = arg;
	int64_t k = 0;
	if (b->axis == AJ_ALL_AXES)
		for (int d = 0; d < b->nd; d++)
			k = k * b->shape[d] + ix[d];
	else
		k = ix[b->axis];
	if (k >= aj_array_shape(b->cond)[0])
		return false;
	return truth(aj_array_dtype(b->cond), elem(b->cond, &k));
}

/* np.compress(cond, a, axis), axis normalised or AJ_ALL_AXES. */
static want ref_compress(const aj_array *cond, const aj_array *a, int axis)
{
	want w = {0};
	by_cond b = {cond, axis, aj_array_shape(a), aj_array_ndim(a)};
	collect(a, keep_cond, &b, &w);
	if (axis == AJ_ALL_AXES) {
		if (aj_array_ndim(a) == 0) /* a 0-d a flattens to one element */
			w.n = w.n ? 1 : 0;
		w.nd = 1;
		w.shape[0] = w.n;
		return w;
	}
	int64_t m = aj_array_shape(a)[axis], kept = 0;
	for (int64_t k = 0; k < aj_array_shape(cond)[0] && k < m; k++)
		kept += truth(aj_array_dtype(cond), elem(cond, &k));
	w.nd = aj_array_ndim(a);
	memcpy(w.shape, aj_array_shape(a), (size_t)w.nd * sizeof *w.shape);
	w.shape[axis] = kept;
	return w;
}

/* Fails unless r is C-contiguous and holds w; frees w's bytes. */
static void expect(aj_array *r, want *w, const char *what)
{
	assert_non_null(r);
	if (aj_array_dtype(r) != w->dtype || aj_array_ndim(r) != w->nd ||
	    memcmp(aj_array_shape(r), w->shape, (size_t)w->nd * sizeof *w->shape))
		fail_msg("%s: got %s ndim %d, want %s ndim %d (first extent %lld vs %lld)",
			 what, aj_dtype_name(aj_array_dtype(r)), aj_array_ndim(r),
			 aj_dtype_name(w->dtype), w->nd,
			 (long long)(aj_array_ndim(r) ? aj_array_shape(r)[0] : -1),
			 (long long)(w->nd ? w->shape[0] : -1));
	size_t size = aj_dtype_size(w->dtype);
	assert_int_equal(aj_array_size(r), w->n);
	int64_t step = (int64_t)size;
	for (int d = aj_array_ndim(r); w->n && d-- > 0;) {
		if (aj_array_shape(r)[d] > 1)
			assert_int_equal(aj_array_strides(r)[d], step);
		step *= aj_array_shape(r)[d];
	}
	if (w->n && memcmp(aj_array_data(r), w->bytes, size * (size_t)w->n)) {
		for (int64_t k = 0; k < w->n; k++)
			if (memcmp((char *)aj_array_data(r) + (size_t)k * size,
				   w->bytes + (size_t)k * size, size))
				fail_msg("%s: element %lld of %lld differs", what,
					 (long long)k, (long long)w->n);
	}
	free(w->bytes);
}

/* a[mask] (leaves) through aj_mask_select against the reference. */
static void check_select(env *E, const aj_array *a, const aj_array *mask,
			 const char *what)
{
	aj_prog *p = E->p;
	aj_array *r = NULL;
	REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, a), aj_leaf(p, mask), &r));
	want w = ref_select(a, mask, 0);
	expect(r, &w, what);
	aj_array_free(r);
}

static void check_compress(env *E, const aj_array *cond, const aj_array *a,
			   int axis, const char *what)
{
	aj_prog *p = E->p;
	aj_array *r = NULL;
	REF_OK_PROG(p, aj_compress(p, aj_leaf(p, cond), aj_leaf(p, a), axis, &r));
	int nd = aj_array_ndim(a);
	want w = ref_compress(cond, a, axis == AJ_ALL_AXES || axis >= 0 ? axis : axis + nd);
	expect(r, &w, what);
	aj_array_free(r);
}

/* ---- shapes ---- */

/* 1-d to 3-d arrays, masks over all their axes or the leading ones,
 * lengths that are no multiple of any vector width. */
static void test_shapes(void **state)
{
	env *E = *state;
	static const struct {
		int nd, md;
		int64_t shape[3];
	} cases[] = {
	    {1, 1, {37}}, {1, 1, {1}}, {1, 1, {64}}, {2, 2, {7, 9}}, {2, 1, {7, 9}},
	    {2, 1, {1, 13}}, {2, 2, {13, 1}}, {3, 3, {4, 5, 6}}, {3, 2, {4, 5, 6}},
	    {3, 1, {4, 5, 6}}, {3, 1, {3, 1, 7}}, {3, 2, {2, 3, 33}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
		for (int pct = 0; pct <= 100; pct += 25) {
			aj_array *a = ref_filled(E, AJ_FLOAT64, cases[c].nd, cases[c].shape);
			aj_array *m = random_mask(E, cases[c].md, cases[c].shape, pct, c + 1);
			char what[64];
			snprintf(what, sizeof what, "case %zu, %d%% true", c, pct);
			check_select(E, a, m, what);
			aj_array_free(a);
			aj_array_free(m);
		}
}

/* NumPy's a[True] and a[False]: a new leading axis of length 1 or 0. */
static void test_zero_d(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {3, 4};
	aj_array *a = ref_filled(E, AJ_INT32, 2, sa), *s = ref_filled(E, AJ_INT64, 0, NULL);
	for (int t = 0; t < 2; t++) {
		aj_array *r = NULL;
		REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, a), aj_scalar_bool(p, t), &r));
		assert_int_equal(aj_array_ndim(r), 3);
		assert_int_equal(aj_array_shape(r)[0], t);
		assert_int_equal(aj_array_shape(r)[1], 3);
		assert_int_equal(aj_array_shape(r)[2], 4);
		if (t)
			assert_memory_equal(aj_array_data(r), aj_array_data(a), 12 * 4);
		aj_array_free(r);
		/* a 0-d array with a 0-d mask: shape (1,) or (0,) */
		REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, s), aj_scalar_bool(p, t), &r));
		assert_int_equal(aj_array_ndim(r), 1);
		assert_int_equal(aj_array_shape(r)[0], t);
		if (t)
			assert_int_equal(*(int64_t *)aj_array_data(r), -1000);
		aj_array_free(r);
	}
	/* a 0-d mask from an expression of a 0-d array */
	aj_array *r = NULL;
	aj_expr pos = aj_binary(p, AJ_OP_LT, aj_leaf(p, s), aj_scalar_i64(p, 0));
	REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, a), pos, &r));
	assert_int_equal(aj_array_shape(r)[0], 1);
	aj_array_free(r);
	aj_array_free(a);
	aj_array_free(s);
}

/* Nothing kept, everything kept, and empty arrays: a (3, 0) keeps its
 * mask's count along the new axis though it has no elements. */
static void test_empty_and_full(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {6, 5}, s30[2] = {3, 0}, s05[2] = {0, 5}, n3 = 3, n0 = 0;
	aj_array *a = ref_filled(E, AJ_FLOAT32, 2, sa);
	aj_array *none = random_mask(E, 2, sa, 0, 1), *all = random_mask(E, 2, sa, 100, 1);
	aj_array *r = NULL;
	REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, a), aj_leaf(p, none), &r));
	assert_int_equal(aj_array_ndim(r), 1);
	assert_int_equal(aj_array_shape(r)[0], 0);
	aj_array_free(r);
	REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, a), aj_leaf(p, all), &r));
	assert_int_equal(aj_array_shape(r)[0], 30);
	assert_memory_equal(aj_array_data(r), aj_array_data(a), 30 * 4);
	aj_array_free(r);
	aj_array *e30 = ref_filled(E, AJ_FLOAT64, 2, s30), *e05 = ref_filled(E, AJ_FLOAT64, 2, s05);
	aj_array *m3 = random_mask(E, 1, &n3, 100, 2), *m0 = random_mask(E, 1, &n0, 50, 2);
	((char *)aj_array_data(m3))[1] = 0;
	REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, e30), aj_leaf(p, m3), &r));
	assert_int_equal(aj_array_ndim(r), 2);
	assert_int_equal(aj_array_shape(r)[0], 2);
	assert_int_equal(aj_array_shape(r)[1], 0);
	aj_array_free(r);
	REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, e05), aj_leaf(p, m0), &r));
	assert_int_equal(aj_array_shape(r)[0], 0);
	assert_int_equal(aj_array_shape(r)[1], 5);
	aj_array_free(r);
	aj_array_free(a);
	aj_array_free(none);
	aj_array_free(all);
	aj_array_free(e30);
	aj_array_free(e05);
	aj_array_free(m3);
	aj_array_free(m0);
}

/* ---- dtypes, ISAs, layouts ---- */

/* Every dtype on every ISA the host has: lengths around the vector
 * widths (vector body and tail), a mask per element (compressed lanes)
 * and per row (whole vectors kept or skipped). */
static void test_dtypes_each_isa(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const int64_t lens[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 130};
	int tried = 0;
	for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
		if (aj_ctx_set_isa(E->ctx, isas[i]) != AJ_OK)
			continue;
		tried++;
		for (int t = 0; t < AJ_NDTYPE; t++)
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
				int64_t n = lens[l], s2[2] = {5, lens[l]};
				char what[96];
				snprintf(what, sizeof what, "isa %d %s n %lld", (int)isas[i],
					 aj_dtype_name((aj_dtype)t), (long long)n);
				aj_array *a = ref_filled(E, (aj_dtype)t, 1, &n);
				aj_array *m = random_mask(E, 1, &n, 50, n + (uint64_t)t);
				check_select(E, a, m, what);
				aj_array *b = ref_filled(E, (aj_dtype)t, 2, s2);
				aj_array *rows = random_mask(E, 1, s2, 60, n);
				check_select(E, b, rows, what);
				aj_array_free(a);
				aj_array_free(m);
				aj_array_free(b);
				aj_array_free(rows);
			}
	}
	assert_true(tried >= 2);
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

/* Strided, reversed and transposed views, as the array and as the mask,
 * and as both. */
static void test_layouts(void **state)
{
	env *E = *state;
	int64_t sa[2] = {14, 18};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *m = random_mask(E, 2, sa, 40, 9);
	aj_slice all[2] = {AJ_ALL, AJ_ALL}, step[2] = {{1, 13, 2}, {0, 18, 3}};
	aj_slice back[2] = {{AJ_DEFAULT, AJ_DEFAULT, -1}, {AJ_DEFAULT, AJ_DEFAULT, -2}};
	aj_slice cut[2] = {{0, 14, 1}, {0, 14, 1}};
	int tr[2] = {1, 0};
	/* views of shape (6, 6), (14, 9), (14, 14) and its transpose */
	aj_array *va[4] = {view(E, a, step, NULL), view(E, a, back, NULL),
			   view(E, a, cut, tr), view(E, a, all, NULL)};
	aj_array *vm[4] = {view(E, m, step, NULL), view(E, m, back, NULL),
			   view(E, m, cut, tr), view(E, m, all, NULL)};
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) {
			if (memcmp(aj_array_shape(va[i]), aj_array_shape(vm[j]), 16))
				continue;
			char what[32];
			snprintf(what, sizeof what, "view %d by view %d", i, j);
			check_select(E, va[i], vm[j], what);
		}
	/* a transposed (14, 14) by the row mask of a reversed view */
	int64_t n14 = 14;
	aj_array *rows = random_mask(E, 1, &n14, 50, 3), *rrows;
	aj_slice rev = {AJ_DEFAULT, AJ_DEFAULT, -1};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, rows, &rev, &rrows));
	check_select(E, va[2], rrows, "transposed by reversed rows");
	for (int i = 0; i < 4; i++) {
		aj_array_free(va[i]);
		aj_array_free(vm[i]);
	}
	aj_array_free(rows);
	aj_array_free(rrows);
	aj_array_free(a);
	aj_array_free(m);
}

/* ---- fusion ---- */

/* a*2 + 1 where (a > 0) & (b < 1): two kernels (count, write), no
 * temporary bytes, nothing pending, and the values computed in place. */
static void test_expressions_fused(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {23, 41};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *b = ref_filled(E, AJ_FLOAT64, 2, sa);
	const double *av = aj_array_data(a), *bv = aj_array_data(b);
	double *bw = aj_array_data(b);
	for (int k = 0; k < 23 * 41; k++)
		bw[k] = (double)((k * 7) % 5) * 0.5;
	aj_expr la = aj_leaf(p, a), lb = aj_leaf(p, b);
	aj_expr x = aj_add(p, aj_mul(p, la, aj_scalar_f64(p, 2)), aj_scalar_f64(p, 1));
	aj_expr m = aj_binary(p, AJ_OP_BITAND, aj_binary(p, AJ_OP_GT, la, aj_scalar_f64(p, 0)),
			      aj_binary(p, AJ_OP_LT, lb, aj_scalar_f64(p, 1)));
	aj_stats s0 = stats(E);
	aj_array *r = NULL;
	REF_OK_PROG(p, aj_mask_select(p, x, m, &r));
	aj_stats s1 = stats(E);
	assert_int_equal(s1.temp_bytes, s0.temp_bytes);
	assert_int_equal(s1.kernels_run - s0.kernels_run, 2);
	int64_t n = 0;
	for (int k = 0; k < 23 * 41; k++)
		if (av[k] > 0 && bv[k] < 1) {
			assert_true(n < aj_array_size(r));
			assert_true(((double *)aj_array_data(r))[n++] == av[k] * 2 + 1);
		}
	assert_int_equal(aj_array_size(r), n);
	assert_true(n > 10 && n < 23 * 41);
	aj_array_free(r);
	/* the same kernels again: found in the cache, none compiled */
	REF_OK_PROG(p, aj_mask_select(p, x, m, &r));
	assert_int_equal(stats(E).kernels_compiled, s1.kernels_compiled);
	aj_array_free(r);
	/* the handles are still valid: no sync happened */
	REF_OK_PROG(p, aj_assign(p, a, aj_mul(p, x, aj_scalar_f64(p, 0))));
	REF_OK_PROG(p, aj_sync(p));
	assert_true(av[5] == 0);
	aj_array_free(a);
	aj_array_free(b);
}

/* A reduction inside the values and the mask runs first (its scratch is
 * the only temporary); a take's range check fails before anything is
 * allocated. */
static void test_reductions_and_checks(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {9, 10}, n5 = 5;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa);
	const double *av = aj_array_data(a);
	aj_expr la = aj_leaf(p, a);
	int axis1 = 1;
	aj_expr mean = aj_reduce(p, AJ_OP_MEAN, la, 1, &axis1, true);
	aj_expr x = aj_sub(p, la, mean);
	aj_expr m = aj_binary(p, AJ_OP_GT, x, aj_scalar_f64(p, 0));
	aj_stats s0 = stats(E);
	aj_array *r = NULL;
	REF_OK_PROG(p, aj_mask_select(p, x, m, &r));
	assert_int_equal(stats(E).temp_bytes - s0.temp_bytes, 9 * 8);
	int64_t n = 0;
	for (int i = 0; i < 9; i++) {
		double mu = 0;
		for (int j = 0; j < 10; j++)
			mu += av[i * 10 + j];
		mu /= 10;
		for (int j = 0; j < 10; j++)
			if (av[i * 10 + j] - mu > 0)
				assert_true(fabs(((double *)aj_array_data(r))[n++] -
						 (av[i * 10 + j] - mu)) < 1e-12);
	}
	assert_int_equal(aj_array_size(r), n);
	aj_array_free(r);
	/* positions out of range: the take's check fails, nothing allocated */
	static const int64_t bad[5] = {0, 1, 2, 3, 12};
	aj_array *idx;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, &n5, &idx));
	memcpy(aj_array_data(idx), bad, sizeof bad);
	aj_expr t = aj_take(p, la, aj_leaf(p, idx), 1);
	aj_array *sentinel = (aj_array *)&n5;
	r = sentinel;
	assert_int_equal(aj_mask_select(p, t, aj_binary(p, AJ_OP_GT, t, aj_scalar_f64(p, 0)), &r),
			 AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "index out of bounds for axis 1 with size 10"));
	assert_ptr_equal(r, sentinel);
	aj_array_free(idx);
	aj_array_free(a);
}

/* ---- threads and chunks ---- */

/* Large selections run in fixed chunks: on 2 threads they split (the
 * count and the write each a parallel run) and give the same bytes as on
 * 1, and as the reference. A mask over every axis comes from an
 * expression, m & (a != 0). */
static void test_threads_same_bytes(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	static const struct {
		int nd, md;
		int64_t shape[2];
		aj_dtype t;
	} cases[] = {
	    {1, 1, {300001}, AJ_FLOAT64}, {2, 2, {1001, 301}, AJ_INT16},
	    {2, 1, {1003, 257}, AJ_COMPLEX64}, {2, 1, {2, 200003}, AJ_UINT8},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		aj_dtype t = cases[c].t;
		aj_array *a = ref_filled(E, t, cases[c].nd, cases[c].shape);
		aj_array *m = random_mask(E, cases[c].md, cases[c].shape, 30, 77 + c);
		bool expr = cases[c].md == cases[c].nd;
		aj_array *r[2] = {NULL, NULL};
		for (int th = 1; th <= 2; th++) {
			REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, th));
			aj_stats s0 = stats(E);
			aj_expr mk = aj_leaf(p, m);
			if (expr)
				mk = aj_binary(p, AJ_OP_LAND, mk,
					       aj_binary(p, AJ_OP_NE, aj_leaf(p, a),
							 aj_scalar_i64(p, 0)));
			REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, a), mk, &r[th - 1]));
			if (th == 2)
				assert_true(stats(E).parallel_runs >= s0.parallel_runs + 2);
			else
				assert_int_equal(stats(E).parallel_runs, s0.parallel_runs);
		}
		assert_int_equal(aj_array_size(r[0]), aj_array_size(r[1]));
		assert_memory_equal(aj_array_data(r[0]), aj_array_data(r[1]),
				    (size_t)aj_array_size(r[0]) * aj_dtype_size(t));
		char *mv = aj_array_data(m); /* the mask the expression computes */
		for (int64_t k = 0; expr && k < aj_array_size(m); k++)
			mv[k] = (char)(mv[k] && truth(t, (char *)aj_array_data(a) +
						      k * (int64_t)aj_dtype_size(t)));
		want w = ref_select(a, m, 0);
		expect(r[0], &w, "threads");
		aj_array_free(r[0]);
		aj_array_free(r[1]);
		aj_array_free(a);
		aj_array_free(m);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 0));
}

/* ---- pending work, random masks ---- */

/* The selection runs the pending assignments first and sees their writes;
 * they do not run again at the next sync. */
static void test_pending_seen(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 40;
	aj_array *a = ref_filled(E, AJ_INT64, 1, &n), *m;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 1, &n, &m));
	aj_expr la = aj_leaf(p, a);
	/* a = 1000 - a (all positive now but the last 12), m = a > 700 */
	REF_OK_PROG(p, aj_assign(p, a, aj_sub(p, aj_scalar_i64(p, 1000), la)));
	REF_OK_PROG(p, aj_assign(p, m, aj_binary(p, AJ_OP_GT, la, aj_scalar_i64(p, 700))));
	aj_array *r = NULL;
	REF_OK_PROG(p, aj_mask_select(p, la, aj_leaf(p, m), &r));
	int64_t k = 0;
	for (int64_t i = 0; i < n; i++) {
		int64_t v = 1000 - (i * 37 - 1000);
		if (v > 700)
			assert_int_equal(((int64_t *)aj_array_data(r))[k++], v);
	}
	assert_int_equal(aj_array_size(r), k);
	aj_array_free(r);
	REF_OK_PROG(p, aj_sync(p));
	assert_int_equal(((int64_t *)aj_array_data(a))[0], 2000);
	aj_array_free(a);
	aj_array_free(m);
}

/* A random mask is computed in both passes: the same values each time,
 * so the selection equals one by the same mask stored first. A shaped
 * leaf, and a shapeless one (one value per element of the array) in a
 * mask over every axis; over fewer axes a shapeless one is refused, as it
 * would differ along the others. */
static void test_random_mask(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {301, 257};
	aj_array *a = ref_filled(E, AJ_FLOAT32, 2, sa), *m;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 2, sa, &m));
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 2));
	for (int shapeless = 0; shapeless < 2; shapeless++) {
		aj_expr la = aj_leaf(p, a);
		aj_expr u = aj_random_at(p, AJ_DIST_UNIFORM, AJ_FLOAT64, shapeless ? 0 : 2,
					 sa, 5, 0);
		aj_expr mk = aj_binary(p, AJ_OP_LT, u, aj_scalar_f64(p, 0.3));
		if (shapeless) /* the shape of a, and always true */
			mk = aj_binary(p, AJ_OP_LAND, mk,
				       aj_binary(p, AJ_OP_GT, la, aj_scalar_f64(p, -1e9)));
		aj_array *r = NULL;
		REF_OK_PROG(p, aj_mask_select(p, la, mk, &r));
		aj_expr u2 = aj_random_at(p, AJ_DIST_UNIFORM, AJ_FLOAT64, 2, sa, 5, 0);
		REF_OK_PROG(p, aj_assign(p, m, aj_binary(p, AJ_OP_LT, u2, aj_scalar_f64(p, 0.3))));
		REF_OK_PROG(p, aj_sync(p));
		want w = ref_select(a, m, 0);
		assert_true(w.n > 20000 && w.n < 26000);
		expect(r, &w, shapeless ? "shapeless random mask" : "random mask");
		aj_array_free(r);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 0));
	int64_t n = 301;
	aj_array *rows = random_mask(E, 1, &n, 50, 1), *r = (aj_array *)&n;
	aj_expr coin = aj_binary(p, AJ_OP_LT, aj_random(p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL),
				 aj_scalar_f64(p, 0.5));
	assert_int_equal(aj_mask_select(p, aj_leaf(p, a), coin, &r), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "boolean index: a shapeless random() "
			       "or normal() in the mask draws a value per element"));
	coin = aj_binary(p, AJ_OP_LAND, aj_leaf(p, rows),
			 aj_binary(p, AJ_OP_LT, aj_random(p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL),
				   aj_scalar_f64(p, 0.5)));
	assert_int_equal(aj_mask_select(p, aj_leaf(p, a), coin, &r), AJ_ERR_ARG);
	assert_int_equal(aj_compress(p, coin, aj_leaf(p, a), 0, &r), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "compress: a shapeless random()"));
	assert_ptr_equal(r, (aj_array *)&n);
	/* under a reduction it is an array like any other */
	aj_expr mean = aj_reduce(p, AJ_OP_MEAN, aj_random(p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL),
				 0, NULL, false);
	r = NULL;
	REF_OK_PROG(p, aj_mask_select(p, aj_leaf(p, a), aj_binary(p, AJ_OP_LT, mean,
								 aj_scalar_f64(p, 2)), &r));
	assert_int_equal(aj_array_shape(r)[0], 1);
	aj_array_free(r);
	aj_array_free(rows);
	aj_array_free(a);
	aj_array_free(m);
}

/* ---- compress ---- */

static void test_compress(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[3] = {4, 6, 5}, n3 = 3, n5 = 5, n9 = 9, n120 = 120, n0 = 0;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 3, sa);
	aj_array *c3 = random_mask(E, 1, &n3, 50, 1), *c5 = random_mask(E, 1, &n5, 60, 2);
	aj_array *c120 = random_mask(E, 1, &n120, 40, 3), *c0 = random_mask(E, 1, &n0, 0, 0);
	((char *)aj_array_data(c3))[0] = 1;
	check_compress(E, c3, a, 0, "short, axis 0");
	check_compress(E, c3, a, 1, "short, axis 1");
	check_compress(E, c5, a, 2, "exact, axis 2");
	check_compress(E, c5, a, -1, "exact, axis -1");
	check_compress(E, c5, a, -2, "short, axis -2");
	check_compress(E, c0, a, 1, "empty condition");
	check_compress(E, c120, a, AJ_ALL_AXES, "axis None, exact");
	check_compress(E, c3, a, AJ_ALL_AXES, "axis None, short");
	/* longer than the axis, false past its end: as NumPy, allowed */
	aj_array *c9 = random_mask(E, 1, &n9, 70, 4);
	memset((char *)aj_array_data(c9) + 6, 0, 3);
	check_compress(E, c9, a, 1, "long, false past the end");
	/* conditions of other dtypes: nonzero is true, -0.0 is not, NaN is */
	static const double dv[5] = {0.0, -0.0, NAN, 0.5, -2};
	aj_array *cd = doubles(E, 1, &n5, dv), *ci = ref_filled(E, AJ_INT8, 1, &n5);
	((int8_t *)aj_array_data(ci))[2] = 0;
	check_compress(E, cd, a, 2, "float condition");
	check_compress(E, ci, a, 2, "int8 condition");
	aj_array *r = NULL;
	REF_OK_PROG(p, aj_compress(p, aj_leaf(p, cd), aj_leaf(p, a), 2, &r));
	assert_int_equal(aj_array_shape(r)[2], 3);
	aj_array_free(r);
	/* a 1-d array, and a 0-d one (axis=None flattens it to one element) */
	aj_array *v = ref_filled(E, AJ_INT32, 1, &n9), *s = ref_filled(E, AJ_INT32, 0, NULL);
	check_compress(E, c5, v, 0, "1-d, short");
	check_compress(E, c5, v, AJ_ALL_AXES, "1-d, axis None");
	memset(aj_array_data(c3), 0, 3);
	((char *)aj_array_data(c3))[0] = 1;
	check_compress(E, c3, s, AJ_ALL_AXES, "0-d, axis None");
	((char *)aj_array_data(c3))[1] = 1; /* NumPy: index 1 out of bounds */
	aj_array *r0 = NULL;
	assert_int_equal(aj_compress(p, aj_leaf(p, c3), aj_leaf(p, s), AJ_ALL_AXES, &r0),
			 AJ_ERR_BOUNDS);
	assert_null(r0);
	aj_array_free(a);
	aj_array_free(c3);
	aj_array_free(c5);
	aj_array_free(c9);
	aj_array_free(c120);
	aj_array_free(c0);
	aj_array_free(cd);
	aj_array_free(ci);
	aj_array_free(v);
	aj_array_free(s);
}

/* axis=None: a view flattens a C-order array (nothing temporary); a
 * transposed array or an expression takes the condition written into a
 * bool array of a's size first (its bytes are temporary). */
static void test_compress_flattened(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {7, 11}, n = 60, n80 = 80;
	aj_array *a = ref_filled(E, AJ_INT16, 2, sa), *c = random_mask(E, 1, &n, 50, 5), *at;
	aj_array *c80 = random_mask(E, 1, &n80, 50, 6);
	memset((char *)aj_array_data(c80) + 77, 0, 3);
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, NULL, &at));
	aj_stats s0 = stats(E);
	check_compress(E, c, a, AJ_ALL_AXES, "C order");
	aj_stats s1 = stats(E);
	assert_int_equal(s1.temp_bytes, s0.temp_bytes);
	check_compress(E, c, at, AJ_ALL_AXES, "transposed");
	check_compress(E, c80, at, AJ_ALL_AXES, "transposed, long");
	assert_int_equal(stats(E).temp_bytes - s1.temp_bytes, 2 * 77);
	/* an expression: (a * 3)[flat] where c holds */
	aj_array *r = NULL;
	aj_expr x = aj_mul(p, aj_leaf(p, a), aj_scalar_i64(p, 3));
	REF_OK_PROG(p, aj_compress(p, aj_leaf(p, c), x, AJ_ALL_AXES, &r));
	const int16_t *av = aj_array_data(a);
	const char *cv = aj_array_data(c);
	int64_t k = 0;
	for (int i = 0; i < n; i++)
		if (cv[i])
			assert_int_equal(((int16_t *)aj_array_data(r))[k++], (int16_t)(av[i] * 3));
	assert_int_equal(aj_array_size(r), k);
	aj_array_free(r);
	aj_array_free(a);
	aj_array_free(at);
	aj_array_free(c);
	aj_array_free(c80);
}

/* ---- errors ---- */

/* Each error: its status and message, *out untouched, nothing pending
 * lost, and the program usable after. */
static void test_errors(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {3, 4}, n2 = 2, n3 = 3, n6 = 6;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *m2 = random_mask(E, 1, &n2, 50, 1);
	aj_array *m34 = random_mask(E, 2, sa, 50, 2), *i3 = ref_filled(E, AJ_INT32, 1, &n3);
	aj_array *c6 = random_mask(E, 1, &n6, 0, 0);
	((char *)aj_array_data(c6))[4] = 1; /* true past the end of axis 0 */
	aj_array dummy, *sentinel = &dummy, *r = sentinel;
	aj_expr la = aj_leaf(p, a);
	assert_int_equal(aj_mask_select(p, la, aj_leaf(p, m2), &r), AJ_ERR_SHAPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "boolean index did not match indexed "
			       "array along dimension 0; dimension is 3 but corresponding "
			       "boolean dimension is 2 (array shape (3, 4), mask shape (2,))"));
	int64_t s343[3] = {3, 4, 3};
	aj_array *m343 = random_mask(E, 3, s343, 50, 3);
	assert_int_equal(aj_mask_select(p, la, aj_leaf(p, m343), &r), AJ_ERR_SHAPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "too many indices for array: array is "
			       "2-dimensional, but 3 were indexed"));
	aj_expr t34 = aj_leaf(p, m34);
	assert_int_equal(aj_mask_select(p, la, aj_cast(p, t34, AJ_INT8), &r), AJ_ERR_DTYPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "must be of dtype bool, not int8"));
	assert_int_equal(aj_compress(p, t34, la, 0, &r), AJ_ERR_SHAPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "condition must be a 1-d array, not 2-d"));
	assert_int_equal(aj_compress(p, aj_leaf(p, c6), la, 0, &r), AJ_ERR_BOUNDS);
	assert_non_null(strstr(aj_prog_errmsg(p), "index out of bounds for axis 0 with "
			       "size 3: the condition, of length 6, is true past its end"));
	assert_int_equal(aj_compress(p, aj_leaf(p, c6), la, AJ_ALL_AXES, &r), AJ_OK);
	aj_array_free(r);
	r = sentinel;
	assert_int_equal(aj_compress(p, aj_leaf(p, i3), la, 2, &r), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "axis 2 is out of bounds for array of "
			       "dimension 2"));
	assert_int_equal(aj_compress(p, aj_leaf(p, i3), la, -3, &r), AJ_ERR_ARG);
	/* NULLs, failed builds, stale handles, an earlier builder's error */
	assert_int_equal(aj_mask_select(NULL, la, t34, &r), AJ_ERR_ARG);
	assert_int_equal(aj_compress(NULL, t34, la, 0, &r), AJ_ERR_ARG);
	assert_int_equal(aj_mask_select(p, la, t34, NULL), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "aj_mask_select: out is NULL"));
	assert_int_equal(aj_compress(p, aj_leaf(p, i3), la, 0, NULL), AJ_ERR_ARG);
	assert_int_equal(aj_mask_select(p, AJ_EXPR_NONE, t34, &r), AJ_ERR_ARG);
	assert_int_equal(aj_compress(p, aj_leaf(p, i3), AJ_EXPR_NONE, 0, &r), AJ_ERR_ARG);
	aj_expr bad = aj_add(p, la, aj_leaf(p, m2)); /* shapes do not broadcast */
	assert_int_equal(bad.id, AJ_EXPR_NONE.id);
	assert_int_equal(aj_mask_select(p, la, t34, &r), AJ_ERR_SHAPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "broadcast"));
	REF_OK_PROG(p, aj_sync(p));
	assert_int_equal(aj_mask_select(p, la, t34, &r), AJ_ERR_STALE);
	assert_ptr_equal(r, sentinel);
	/* a failed selection leaves pending work pending */
	la = aj_leaf(p, a);
	REF_OK_PROG(p, aj_assign(p, a, aj_add(p, la, aj_scalar_f64(p, 1))));
	assert_int_equal(aj_mask_select(p, la, aj_leaf(p, m2), &r), AJ_ERR_SHAPE);
	assert_ptr_equal(r, sentinel);
	REF_OK_PROG(p, aj_sync(p));
	assert_true(((double *)aj_array_data(a))[0] == -39);
	/* and the program works after all that */
	check_select(E, a, m34, "after errors");
	aj_array_free(a);
	aj_array_free(m2);
	aj_array_free(m34);
	aj_array_free(m343);
	aj_array_free(i3);
	aj_array_free(c6);
}

/* ---- text ---- */

typedef struct names_fx {
	aj_names *ns;
	aj_array *a, *b, *m, *c, *rows;
} names_fx;

static void names_setup(env *E, names_fx *fx)
{
	int64_t sa[2] = {6, 7}, n7 = 7, n6 = 6;
	fx->a = ref_filled(E, AJ_FLOAT64, 2, sa);
	fx->b = ref_filled(E, AJ_FLOAT64, 2, sa);
	double *bv = aj_array_data(fx->b);
	for (int k = 0; k < 42; k++)
		bv[k] = (double)((k * 5) % 7) / 3;
	fx->m = random_mask(E, 2, sa, 50, 11);
	fx->c = random_mask(E, 1, &n7, 50, 12);
	fx->rows = random_mask(E, 1, &n6, 50, 13);
	REF_OK_PROG(E->p, aj_names_new(E->p, &fx->ns));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "a", fx->a));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "b", fx->b));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "m", fx->m));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "c", fx->c));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "r", fx->rows));
}

static void names_teardown(names_fx *fx)
{
	aj_names_free(fx->ns);
	aj_array_free(fx->a);
	aj_array_free(fx->b);
	aj_array_free(fx->m);
	aj_array_free(fx->c);
	aj_array_free(fx->rows);
}

/* The value of text's last expression statement, in a new array. */
static aj_array *exec_value(env *E, names_fx *fx, const char *text)
{
	aj_expr last;
	aj_status s = aj_exec(fx->ns, text, &last);
	if (s != AJ_OK)
		fail_msg("'%s': %s", text, aj_prog_errmsg(E->p));
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(E->p, last, shape);
	aj_array *out;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, aj_expr_dtype(E->p, last), nd, shape, &out));
	REF_OK_PROG(E->p, aj_assign(E->p, out, last));
	REF_OK_PROG(E->p, aj_sync(E->p));
	return out;
}

static void check_text(env *E, names_fx *fx, const char *text, want w)
{
	aj_array *r = exec_value(E, fx, text);
	expect(r, &w, text);
	aj_array_free(r);
}

/* The expected value of an elementwise function of a and b where keep
 * holds, as a 1-d float64 array. */
static want by_fn(const names_fx *fx, bool (*keep)(double, double, int64_t),
		  double (*f)(double, double))
{
	const double *av = aj_array_data(fx->a), *bv = aj_array_data(fx->b);
	want w = {.nd = 1, .dtype = AJ_FLOAT64, .bytes = malloc(42 * 8)};
	for (int64_t k = 0; k < 42; k++)
		if (keep(av[k], bv[k], k))
			((double *)w.bytes)[w.n++] = f(av[k], bv[k]);
	w.shape[0] = w.n;
	return w;
}

static bool a_pos(double a, double b, int64_t k) { return a > 0; }
static bool a_gt_b(double a, double b, int64_t k) { return a - b > 0; }
static double a_minus_b(double a, double b) { return a - b; }
static bool a_pos_b_lt1(double a, double b, int64_t k) { return a > 0 && b < 1; }
static double twice(double a, double b) { return a * 2; }
static double just_a(double a, double b) { return a; }

static void test_text(void **state)
{
	env *E = *state;
	names_fx fx;
	names_setup(E, &fx);
	aj_stats s0 = stats(E);
	check_text(E, &fx, "x = a[a > 0] * 2; x", by_fn(&fx, a_pos, twice));
	check_text(E, &fx, "a[(a > 0) & (b < 1)]", by_fn(&fx, a_pos_b_lt1, just_a));
	/* a name bound to an expression, masked by an expression of itself:
	 * still lazy, nothing materialised */
	check_text(E, &fx, "t = a - b; t[t > 0]", by_fn(&fx, a_gt_b, a_minus_b));
	assert_int_equal(stats(E).temp_bytes, s0.temp_bytes);
	check_text(E, &fx, "a[m]", ref_select(fx.a, fx.m, 0));
	check_text(E, &fx, "a[r]", ref_select(fx.a, fx.rows, 0));
	check_text(E, &fx, "a[:, c]", ref_select(fx.a, fx.c, 1));
	check_text(E, &fx, "a[..., c]", ref_select(fx.a, fx.c, 1));
	aj_slice odd[2] = {AJ_ALL, {AJ_DEFAULT, AJ_DEFAULT, 2}};
	aj_array *half = view(E, fx.a, odd, NULL);
	check_text(E, &fx, "a[r, ::2]", ref_select(half, fx.rows, 0));
	aj_array_free(half);
	check_text(E, &fx, "compress(c, a, axis=1)", ref_compress(fx.c, fx.a, 1));
	check_text(E, &fx, "compress(r, a, 0)", ref_compress(fx.rows, fx.a, 0));
	check_text(E, &fx, "compress(c, a)", ref_compress(fx.c, fx.a, AJ_ALL_AXES));
	check_text(E, &fx, "compress(c, a, axis=None)", ref_compress(fx.c, fx.a, AJ_ALL_AXES));
	names_teardown(&fx);
}

/* Subscripts around a mask: a[0, c] indexes first, a[1:][r[1:]] slices. */
static void test_text_views(void **state)
{
	env *E = *state;
	names_fx fx;
	names_setup(E, &fx);
	aj_array *row0, *tail, *rtail;
	REF_OK_CTX(E->ctx, aj_view_index(E->ctx, fx.a, 0, 0, &row0));
	aj_slice from1[2] = {{1, AJ_DEFAULT, 1}, AJ_ALL};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, fx.a, from1, &tail));
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, fx.rows, from1, &rtail));
	check_text(E, &fx, "a[0, c]", ref_select(row0, fx.c, 0));
	check_text(E, &fx, "a[1:][r[1:]]", ref_select(tail, rtail, 0));
	aj_array *at;
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, fx.a, NULL, &at));
	check_text(E, &fx, "a.T[c]", ref_select(at, fx.c, 0));
	aj_array *fl;
	REF_OK_CTX(E->ctx, aj_view_flip(E->ctx, fx.a, AJ_ALL_AXES, &fl));
	check_text(E, &fx, "flip(a)[r]", ref_select(fl, fx.rows, 0));
	aj_array_free(fl);
	aj_array_free(at);
	aj_array_free(row0);
	aj_array_free(tail);
	aj_array_free(rtail);
	names_teardown(&fx);
}

/* A selection in text sees the writes of the statements before it. */
static void test_text_pending(void **state)
{
	env *E = *state;
	names_fx fx;
	names_setup(E, &fx);
	aj_array *r = exec_value(E, &fx, "a[:, 0] = 100\nq = a[a > 99]\nq + 1");
	assert_int_equal(aj_array_ndim(r), 1);
	assert_int_equal(aj_array_shape(r)[0], 6);
	for (int k = 0; k < 6; k++)
		assert_true(((double *)aj_array_data(r))[k] == 101);
	aj_array_free(r);
	names_teardown(&fx);
}

static const struct text_error {
	const char *text;
	aj_status status;
	const char *frag;
} text_errors[] = {
    {"a[c]", AJ_ERR_SHAPE, "line 1, column 3: boolean index did not match indexed "
     "array along dimension 0; dimension is 6 but corresponding boolean dimension is 7"},
    {"a[:, r]", AJ_ERR_SHAPE, "along dimension 1; dimension is 7 but corresponding "
     "boolean dimension is 6"},
    {"a[m, 0]", AJ_ERR_PARSE, "line 1, column 3: a boolean index that is not 1-d "
     "must be the only index"},
    {"a[a]", AJ_ERR_DTYPE, "integer or boolean arrays are valid indices, not an "
     "array of float64"},
    {"a[c] = 1", AJ_ERR_PARSE, "assignment through an index array"},
    {"compress(c, a, axis=2)", AJ_ERR_ARG, "line 1, column 1: compress: axis 2 is "
     "out of bounds for array of dimension 2"},
    {"compress(m, a)", AJ_ERR_SHAPE, "condition must be a 1-d array, not 2-d"},
    {"compress(c a)", AJ_ERR_PARSE, "expected ',' and the array"},
    {"compress(c, a, axis=)", AJ_ERR_PARSE, "expected an axis number"},
    {"compress(L, a, 1)", AJ_ERR_BOUNDS, "index out of bounds for axis 1 with size 7"},
};

static void test_text_errors(void **state)
{
	env *E = *state;
	names_fx fx;
	names_setup(E, &fx);
	int64_t n9 = 9;
	aj_array *l = random_mask(E, 1, &n9, 0, 0);
	((char *)aj_array_data(l))[8] = 1;
	REF_OK_PROG(E->p, aj_names_set_array(fx.ns, "L", l));
	for (size_t k = 0; k < sizeof text_errors / sizeof *text_errors; k++) {
		const struct text_error *te = &text_errors[k];
		aj_expr last;
		aj_status s = aj_exec(fx.ns, te->text, &last);
		if (s != te->status || !strstr(aj_prog_errmsg(E->p), te->frag))
			fail_msg("'%s': status %d, message '%s'; want %d, '%s'", te->text,
				 (int)s, aj_prog_errmsg(E->p), (int)te->status, te->frag);
		assert_int_equal(last.id, AJ_EXPR_NONE.id);
	}
	names_teardown(&fx);
	aj_array_free(l);
}

/* A Python scalar selected from: NumPy ravels it to one element (its
 * node has no shape array; copying from it was undefined behaviour:
 * tests/fuzz/regress/parse). */
static void test_scalar_operand(void **state)
{
	env *E = *state;
	aj_array *r = NULL, *c;
	bool cond[2] = {true, true};
	int64_t n = 1;
	REF_OK_CTX(E->ctx, aj_array_wrap(E->ctx, cond, sizeof cond, 0, AJ_BOOL,
					 1, &n, NULL, &c));
	REF_OK_PROG(E->p, aj_compress(E->p, aj_leaf(E->p, c),
				      aj_scalar_f64(E->p, 2.5), AJ_ALL_AXES, &r));
	assert_int_equal(aj_array_ndim(r), 1);
	assert_int_equal(aj_array_shape(r)[0], 1);
	assert_true(*(double *)aj_array_data(r) == 2.5);
	aj_array_free(r);
	aj_array_free(c);
	/* true past the one element: NumPy's index error */
	n = 2;
	REF_OK_CTX(E->ctx, aj_array_wrap(E->ctx, cond, sizeof cond, 0, AJ_BOOL,
					 1, &n, NULL, &c));
	r = NULL;
	assert_int_equal(aj_compress(E->p, aj_leaf(E->p, c), aj_scalar_i64(E->p, 2),
				     AJ_ALL_AXES, &r),
			 AJ_ERR_BOUNDS);
	assert_null(r);
	aj_array_free(c);
	/* a 0-d mask: NumPy's x[True] */
	REF_OK_PROG(E->p, aj_mask_select(E->p, aj_scalar_f64(E->p, 2.5),
					 aj_scalar_bool(E->p, true), &r));
	assert_int_equal(aj_array_ndim(r), 1);
	assert_int_equal(aj_array_shape(r)[0], 1);
	assert_true(*(double *)aj_array_data(r) == 2.5);
	aj_array_free(r);
}

/* aj_parse has no namespace to own a selection's array. */
static void test_parse_refuses(void **state)
{
	env *E = *state;
	int64_t n = 5;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 1, &n);
	const char *names[] = {"x"};
	aj_expr vals[] = {aj_leaf(E->p, a)}, e;
	assert_int_equal(aj_parse(E->p, "compress(x > 0, x)", 1, names, vals, &e),
			 AJ_ERR_PARSE);
	assert_non_null(strstr(aj_prog_errmsg(E->p), "column 1: compress() makes a new "
			       "array: it needs a program's namespace (aj_exec)"));
	/* nor a boolean index (this aborted: tests/fuzz/regress/parse) */
	vals[0] = aj_leaf(E->p, a);
	assert_int_equal(aj_parse(E->p, "x[x > 0] > 2", 1, names, vals, &e),
			 AJ_ERR_PARSE);
	assert_non_null(strstr(aj_prog_errmsg(E->p), "column 3: a boolean index "
			       "makes a new array: it needs a program's namespace"));
	aj_array_free(a);
}

/* The value bound to name, in a new array. */
static aj_array *name_value(env *E, names_fx *fx, const char *name)
{
	aj_array *arr;
	aj_expr e;
	REF_OK_PROG(E->p, aj_names_get(fx->ns, name, &arr, &e));
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(E->p, e, shape);
	aj_array *out;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, aj_expr_dtype(E->p, e), nd, shape, &out));
	REF_OK_PROG(E->p, aj_assign(E->p, out, e));
	REF_OK_PROG(E->p, aj_sync(E->p));
	return out;
}

/* A selection runs the pending work when parsed, which no later error
 * can undo: the statements before it stay done, exactly once, with their
 * bindings; those after it (and its own) are undone. */
static void test_text_undo(void **state)
{
	env *E = *state;
	names_fx fx;
	names_setup(E, &fx);
	int64_t n9 = 9;
	aj_array *l = random_mask(E, 1, &n9, 0, 0);
	((char *)aj_array_data(l))[8] = 1;
	REF_OK_PROG(E->p, aj_names_set_array(fx.ns, "L", l));
	double old[42];
	const double *av = aj_array_data(fx.a);
	memcpy(old, av, sizeof old);
	/* an error after the selection */
	aj_expr last;
	assert_int_equal(aj_exec(fx.ns, "t = a * 3\na += 1\nq = b[b > 1]\nu = 1\nq +",
				 &last), AJ_ERR_PARSE);
	for (int k = 0; k < 42; k++)
		assert_true(av[k] == old[k] + 1); /* ran, not pending */
	aj_array *t = name_value(E, &fx, "t"); /* a * 3 from before a += 1 */
	for (int k = 0; k < 42; k++)
		assert_true(((double *)aj_array_data(t))[k] == old[k] * 3);
	aj_array_free(t);
	assert_true(av[0] == old[0] + 1); /* that sync did not run it again */
	aj_array *arr;
	aj_expr e;
	assert_int_equal(aj_names_get(fx.ns, "q", &arr, &e), AJ_ERR_NAME);
	assert_int_equal(aj_names_get(fx.ns, "u", &arr, &e), AJ_ERR_NAME);
	/* an error in the selection itself, after it ran the pending work */
	assert_int_equal(aj_exec(fx.ns, "a += 1\nq = compress(L, a, 1)", &last), AJ_ERR_BOUNDS);
	REF_OK_PROG(E->p, aj_sync(E->p));
	assert_true(av[0] == old[0] + 2);
	assert_int_equal(aj_names_get(fx.ns, "q", &arr, &e), AJ_ERR_NAME);
	/* without an error: work after the selection is pending as usual */
	aj_array *r = exec_value(E, &fx, "a += 1; q = a[a > -100]; a += 1; q");
	assert_true(((double *)aj_array_data(r))[0] == old[0] + 3);
	assert_true(av[0] == old[0] + 4);
	aj_array_free(r);
	names_teardown(&fx);
	aj_array_free(l);
}

/* ---- the generated code and the cache key ---- */

/* A compress kernel by hand: operand 1 (dtype t) where operand 2 (bool,
 * of class mclass) holds. */
typedef struct kfx {
	aj_kval val[2];
	uint8_t op_dtype[3], op_class[3], scalar_dtype[1];
	uint32_t out_val[1];
	aj_kdesc k;
} kfx;

static void kernel_by_hand(kfx *f, aj_isa isa, aj_dtype t, aj_sclass mclass)
{
	memset(f, 0, sizeof *f);
	f->val[0] = (aj_kval){.op = AJ_OP_ARRAY, .dtype = (uint8_t)t, .arg = {1}};
	f->val[1] = (aj_kval){.op = AJ_OP_ARRAY, .dtype = AJ_BOOL, .arg = {2}};
	f->op_dtype[0] = f->op_dtype[1] = (uint8_t)t;
	f->op_dtype[2] = AJ_BOOL;
	f->op_class[0] = AJ_SC_ZERO;
	f->op_class[1] = AJ_SC_CONTIG;
	f->op_class[2] = (uint8_t)mclass;
	f->k = (aj_kdesc){.isa = isa, .red = AJ_NOP, .ndim = 1, .nval = 2, .val = f->val,
			  .nop = 3, .nout = 1, .op_dtype = f->op_dtype,
			  .op_class = f->op_class, .out_val = f->out_val,
			  .scalar_dtype = f->scalar_dtype, .compress = 1, .mask = 1};
}

static char *kernel_text(const aj_kdesc *k, aj_stage stage)
{
	char *text = NULL, err[AJ_ERRMSG_MAX];
	if (aj_jit_text(k, stage, &text, err, sizeof err) != AJ_OK)
		fail_msg("aj_jit_text: %s", err);
	return text;
}

static void expect_in(const char *text, const char *what, bool in)
{
	if (!strstr(text, what) == in)
		fail_msg("expected \"%s\" %sin:\n%s", what, in ? "" : "not ", text);
}

/* Lanes with their own mask bits: llvm.masked.compressstore and a
 * popcount; complex values compress their parts in pairs; a mask
 * invariant along the loop keeps whole vectors by a branch. On a host
 * with AVX-512 (VL) it is vcompresspd, even at AVX2's width; without,
 * LLVM scalarises it. */
static void test_vector_code(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	bool avx512 = aj_ctx_set_isa(E->ctx, AJ_ISA_AVX512) == AJ_OK;
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	static const struct {
		aj_isa isa;
		aj_dtype t;
		const char *store, *pop;
	} want[] = {
	    {AJ_ISA_AVX2, AJ_FLOAT64, "@llvm.masked.compressstore.v4f64(", "@llvm.ctpop.i4("},
	    {AJ_ISA_AVX2, AJ_INT8, "@llvm.masked.compressstore.v32i8(", "@llvm.ctpop.i32("},
	    {AJ_ISA_AVX2, AJ_COMPLEX128, "@llvm.masked.compressstore.v8f64(", "@llvm.ctpop.i4("},
	    {AJ_ISA_AVX512, AJ_FLOAT32, "@llvm.masked.compressstore.v16f32(", "@llvm.ctpop.i16("},
	};
	kfx f;
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		kernel_by_hand(&f, want[i].isa, want[i].t, AJ_SC_CONTIG);
		char *ir = kernel_text(&f.k, AJ_STAGE_IR);
		expect_in(ir, want[i].store, true);
		expect_in(ir, want[i].pop, true);
		aj_string_free(ir);
	}
	kernel_by_hand(&f, AJ_ISA_AVX2, AJ_FLOAT64, AJ_SC_ZERO);
	char *ir = kernel_text(&f.k, AJ_STAGE_IR);
	expect_in(ir, "compressstore", false);
	expect_in(ir, "store <4 x double>", true);
	aj_string_free(ir);
	kernel_by_hand(&f, AJ_ISA_AVX2, AJ_FLOAT64, AJ_SC_CONTIG);
	char *as = kernel_text(&f.k, AJ_STAGE_ASM);
	expect_in(as, "vcompresspd", avx512);
	expect_in(as, "popcnt", true);
	aj_string_free(as);
}

/* The compress flag and the mask value are in the key: a kernel that
 * stores by position, or selects by another value, never shares code. */
static void test_cache_key(void **state)
{
	kfx f;
	kernel_by_hand(&f, AJ_ISA_AVX2, AJ_FLOAT64, AJ_SC_CONTIG);
	aj_arena arena = {0};
	aj_key k1, k2, k3;
	assert_int_equal(aj_key_of(&f.k, &arena, &k1), AJ_OK);
	f.k.mask = 0;
	assert_int_equal(aj_key_of(&f.k, &arena, &k2), AJ_OK);
	f.k.compress = 0;
	assert_int_equal(aj_key_of(&f.k, &arena, &k3), AJ_OK);
	assert_true(k1.len != k2.len || memcmp(k1.bytes, k2.bytes, k1.len));
	assert_true(k2.len != k3.len || memcmp(k2.bytes, k3.bytes, k2.len));
	aj_arena_free(&arena);
}

/* sched.c with c_order: no flip of a negative stride, no reordering by
 * stride, merges still; without it, both happen. */
static void test_sched_c_order(void **state)
{
	int64_t shape[3] = {3, 4, 5}, strides[3] = {-8, 40, 480}; /* no merges */
	char buf[64], *ptr[1];
	uint8_t dt[1] = {AJ_FLOAT64};
	aj_arena arena = {0};
	for (int keep = 0; keep < 2; keep++) {
		aj_kcall c = {.k = {.nop = 1, .op_dtype = dt, .red = AJ_NOP}, .ptr = ptr,
			      .c_order = keep};
		ptr[0] = buf + 32;
		assert_int_equal(aj_sched(&arena, &c, 3, shape, strides), AJ_OK);
		assert_int_equal(c.k.ndim, 3);
		assert_int_equal(c.nelem, 60);
		for (int d = 0; d < 3; d++) {
			int src = keep ? d : 2 - d; /* else by |stride|, largest out */
			assert_int_equal(c.shape[d], shape[src]);
			assert_int_equal(c.strides[d], keep || src ? strides[src] : 8);
		}
		/* a flip moves the base to the axis's last element */
		assert_ptr_equal(ptr[0], keep ? buf + 32 : buf + 16);
	}
	/* C-order strides merge either way: one loop */
	int64_t cs[3] = {160, 40, 8};
	aj_kcall c = {.k = {.nop = 1, .op_dtype = dt, .red = AJ_NOP}, .ptr = ptr,
		      .c_order = true};
	assert_int_equal(aj_sched(&arena, &c, 3, shape, cs), AJ_OK);
	assert_int_equal(c.k.ndim, 1);
	assert_int_equal(c.shape[0], 60);
	aj_arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ref_env_setup, ref_env_teardown)
	    T(test_shapes),
	    T(test_zero_d),
	    T(test_empty_and_full),
	    T(test_dtypes_each_isa),
	    T(test_layouts),
	    T(test_expressions_fused),
	    T(test_reductions_and_checks),
	    T(test_threads_same_bytes),
	    T(test_pending_seen),
	    T(test_random_mask),
	    T(test_compress),
	    T(test_compress_flattened),
	    T(test_errors),
	    T(test_text),
	    T(test_text_views),
	    T(test_text_pending),
	    T(test_text_errors),
	    T(test_parse_refuses),
	    T(test_scalar_operand),
	    T(test_text_undo),
	    T(test_vector_code),
	    T(test_cache_key),
	    T(test_sched_c_order),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
