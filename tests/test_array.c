/*
 * Arrays and views against hand-computed indexing.
 *
 * An original array holds distinct values, BASE + its C-order position, so
 * reading an element of a view through aj_array_data() and the view's strides
 * tells which original element it is. Each case states by hand which original
 * element view index (i, j, ...) must be. The 1-D slice table was produced by
 * Python's list slicing, and the reshape and expand_dims strides by NumPy
 * 1.24. Run under ASan: every read goes through the view's own strides, so a
 * view that strays outside its buffer, or outlives it, is reported.
 */
#include "ref.h"

#include "core.h"

#include <stdlib.h>
#include <string.h>

#define BASE 1000
#define D    AJ_DEFAULT
#define BIG  INT64_MAX

static char sentinel_byte;
#define SENTINEL ((aj_array *)&sentinel_byte)

/* ---- helpers ---------------------------------------------------------- */

static aj_ctx *new_ctx(void)
{
	aj_ctx *ctx = NULL;
	assert_int_equal(aj_ctx_new(&ctx), AJ_OK);
	return ctx;
}

static int64_t count(int ndim, const int64_t *shape)
{
	int64_t n = 1;
	for (int k = 0; k < ndim; k++)
		n *= shape[k];
	return n;
}


static int64_t ravel(int ndim, const int64_t *shape, const int64_t *idx)
{
	int64_t l = 0;
	for (int k = 0; k < ndim; k++) {
		assert_in_range(idx[k], 0, shape[k] - 1);
		l = l * shape[k] + idx[k];
	}
	return l;
}

static void unravel(int ndim, const int64_t *shape, int64_t l, int64_t *idx)
{
	for (int k = ndim - 1; k >= 0; k--) {
		idx[k] = l % shape[k];
		l /= shape[k];
	}
}

/* Element idx of an int64 or int32 array, read through data and strides. */
static int64_t elem(const aj_array *a, const int64_t *idx)
{
	const char *p = aj_array_data(a);
	for (int k = 0; k < aj_array_ndim(a); k++)
		p += idx[k] * aj_array_strides(a)[k];
	if (aj_array_dtype(a) == AJ_INT32) {
		int32_t v;
		memcpy(&v, p, sizeof v);
		return v;
	}
	int64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static void check_shape(const aj_array *v, int ndim, const int64_t *shape)
{
	assert_int_equal(aj_array_ndim(v), ndim);
	for (int k = 0; k < ndim; k++)
		assert_int_equal(aj_array_shape(v)[k], shape[k]);
	assert_int_equal(aj_array_size(v), count(ndim, shape));
}

static void check_strides(const aj_array *v, int ndim, const int64_t *strides)
{
	assert_int_equal(aj_array_ndim(v), ndim);
	for (int k = 0; k < ndim; k++)
		assert_int_equal(aj_array_strides(v)[k], strides[k]);
}

/* An int64 original: values BASE + C-order position, in caller memory
 * (wrapped) or in an owned buffer. */
typedef struct orig {
	aj_ctx *ctx;
	int64_t *mem; /* the caller's buffer when wrapped, else NULL */
	aj_array *a;
	int ndim;
	int64_t shape[4];
} orig;

static orig make_orig(int ndim, const int64_t *shape, bool wrap)
{
	orig o = {.ctx = new_ctx(), .ndim = ndim};
	int64_t n = count(ndim, shape);
	memcpy(o.shape, shape, (size_t)ndim * sizeof *shape);
	if (wrap) {
		o.mem = malloc(n ? (size_t)n * 8 : 1);
		assert_non_null(o.mem);
		REF_OK_CTX(o.ctx,
			   aj_array_wrap(o.ctx, o.mem, (size_t)n * 8, 0,
					 AJ_INT64, ndim, shape, NULL, &o.a));
	} else {
		REF_OK_CTX(o.ctx,
			   aj_array_new(o.ctx, AJ_INT64, ndim, shape, &o.a));
	}
	int64_t *p = aj_array_data(o.a);
	for (int64_t l = 0; l < n; l++)
		p[l] = BASE + l;
	return o;
}

static void free_orig(orig *o)
{
	aj_array_free(o->a);
	free(o->mem);
	aj_ctx_free(o->ctx);
}

/* Which original index view index i must show, written out by hand. */
typedef void (*map_fn)(const int64_t *i, int64_t *o);

/* Checks v's shape, then that each element i is the original's map(i). */
static void check_view(const orig *o, const aj_array *v, int ndim,
		       const int64_t *shape, map_fn map)
{
	int64_t i[AJ_MAX_NDIM] = {0}, at[4];
	check_shape(v, ndim, shape);
	if (count(ndim, shape) == 0)
		return;
	do {
		map(i, at);
		assert_int_equal(elem(v, i),
				 BASE + ravel(o->ndim, o->shape, at));
	} while (ref_next_index(ndim, shape, i));
}

/* Checks that v lists the same elements as a in C order (what reshape
 * promises). */
static void check_sequence(const aj_array *a, const aj_array *v)
{
	int64_t i[AJ_MAX_NDIM] = {0}, j[AJ_MAX_NDIM] = {0};
	assert_int_equal(aj_array_size(a), aj_array_size(v));
	if (aj_array_size(a) == 0)
		return;
	do {
		assert_int_equal(elem(v, j), elem(a, i));
		ref_next_index(aj_array_ndim(v), aj_array_shape(v), j);
	} while (ref_next_index(aj_array_ndim(a), aj_array_shape(a), i));
}

/* An empty array's data stays inside its buffer (it is never read). */
static void check_empty_in_bounds(const aj_array *v)
{
	char *first, *last;
	assert_int_equal(aj_array_size(v), 0);
	assert_false(aj_array_extent(v, &first, &last));
	assert_true(v->data >= v->lo && v->data <= v->hi);
}

/* Expects status want, *out untouched, and a message naming fn. */
static void expect_fail(aj_ctx *ctx, aj_status got, aj_status want,
			aj_array **out, const char *fn)
{
	assert_int_equal(got, want);
	assert_ptr_equal(*out, SENTINEL);
	if (ctx && fn) {
		if (!strstr(aj_ctx_errmsg(ctx), fn))
			fail_msg("message \"%s\" does not name %s",
				 aj_ctx_errmsg(ctx), fn);
		aj_ctx_error(ctx, AJ_OK, "%s", "");
	}
}

/* ---- aj_array_new and aj_array_wrap ----------------------------------- */

static void test_new_basics(void **state)
{
	aj_ctx *ctx = new_ctx();
	aj_array *a, *s, *e;
	REF_OK_CTX(ctx,
		   aj_array_new(ctx, AJ_FLOAT32, 3, (int64_t[]){2, 3, 4}, &a));
	assert_int_equal(aj_array_dtype(a), AJ_FLOAT32);
	check_shape(a, 3, (int64_t[]){2, 3, 4});
	check_strides(a, 3, (int64_t[]){48, 16, 4});
	assert_false(aj_array_readonly(a));
	assert_int_equal((uintptr_t)aj_array_data(a) % 64, 0);
	for (int k = 0; k < 24; k++)
		assert_true(((float *)aj_array_data(a))[k] == 0.0f);
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT64, 0, NULL, &s));
	assert_int_equal(aj_array_size(s), 1);
	assert_int_equal(*(int64_t *)aj_array_data(s), 0);
	/* Zero extents count as one in C strides, as in NumPy's reshape. */
	REF_OK_CTX(ctx,
		   aj_array_new(ctx, AJ_FLOAT32, 3, (int64_t[]){3, 0, 2}, &e));
	check_shape(e, 3, (int64_t[]){3, 0, 2});
	check_strides(e, 3, (int64_t[]){8, 8, 4});
	check_empty_in_bounds(e);
	aj_array_free(a);
	aj_array_free(s);
	aj_array_free(e);
	aj_array_free(NULL);
	aj_ctx_free(ctx);
}

static void test_wrap_basics(void **state)
{
	aj_ctx *ctx = new_ctx();
	int64_t x[6] = {10, 11, 12, 13, 14, 15};
	int32_t y[3] = {7, 8, 9};
	aj_array *a;
	/* Negative strides from the last element: x reversed, as (2, 3). */
	REF_OK_CTX(ctx,
		   aj_array_wrap(ctx, x, sizeof x, 40, AJ_INT64, 2,
				 (int64_t[]){2, 3}, (int64_t[]){-24, -8}, &a));
	for (int64_t i = 0; i < 2; i++)
		for (int64_t j = 0; j < 3; j++)
			assert_int_equal(elem(a, (int64_t[]){i, j}),
					 x[5 - 3 * i - j]);
	assert_ptr_equal(aj_array_data(a), &x[5]);
	aj_array_free(a);
	/* Mixed signs can reach both ends of the buffer exactly. */
	REF_OK_CTX(ctx,
		   aj_array_wrap(ctx, x, sizeof x, 8, AJ_INT64, 2,
				 (int64_t[]){2, 3}, (int64_t[]){-8, 16}, &a));
	for (int64_t i = 0; i < 2; i++)
		for (int64_t j = 0; j < 3; j++)
			assert_int_equal(elem(a, (int64_t[]){i, j}),
					 x[1 - i + 2 * j]);
	aj_array_free(a);
	/* Zero strides repeat y's elements. */
	REF_OK_CTX(ctx,
		   aj_array_wrap(ctx, y, sizeof y, 0, AJ_INT32, 2,
				 (int64_t[]){4, 3}, (int64_t[]){0, 4}, &a));
	for (int64_t i = 0; i < 4; i++)
		for (int64_t j = 0; j < 3; j++)
			assert_int_equal(elem(a, (int64_t[]){i, j}), y[j]);
	aj_array_free(a);
	/* A 0-d array on the last element exactly fills the buffer's end. */
	REF_OK_CTX(ctx, aj_array_wrap(ctx, x, sizeof x, 40, AJ_INT64, 0, NULL,
				      NULL, &a));
	assert_int_equal(elem(a, NULL), 15);
	aj_array_free(a);
	/* Empty arrays need no memory at all. */
	REF_OK_CTX(ctx, aj_array_wrap(ctx, NULL, 0, 0, AJ_FLOAT64, 2,
				      (int64_t[]){0, 5}, NULL, &a));
	check_shape(a, 2, (int64_t[]){0, 5});
	check_empty_in_bounds(a);
	aj_array_free(a);
	aj_ctx_free(ctx);
}

static void test_wrap_errors(void **state)
{
	aj_ctx *ctx = new_ctx();
	int64_t x[6] = {0};
	aj_array *out = SENTINEL;
	const char *fn = "aj_array_wrap";
	int64_t s6[] = {6};
	expect_fail(NULL,
		    aj_array_wrap(NULL, x, 48, 0, AJ_INT64, 1, s6, NULL, &out),
		    AJ_ERR_ARG, &out, NULL);
	assert_int_equal(
	    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 1, s6, NULL, NULL),
	    AJ_ERR_ARG);
	expect_fail(
	    ctx, aj_array_wrap(ctx, x, 48, 0, (aj_dtype)99, 1, s6, NULL, &out),
	    AJ_ERR_DTYPE, &out, fn);
	expect_fail(
	    ctx, aj_array_wrap(ctx, x, 48, 0, (aj_dtype)-1, 1, s6, NULL, &out),
	    AJ_ERR_DTYPE, &out, fn);
	int64_t ones[33];
	for (int k = 0; k < 33; k++)
		ones[k] = 1;
	expect_fail(
	    ctx, aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 33, ones, NULL, &out),
	    AJ_ERR_SHAPE, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, -1, s6, NULL, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 1, NULL, NULL, &out),
		    AJ_ERR_ARG, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 2,
				  (int64_t[]){-1, 3}, NULL, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 2,
				  (int64_t[]){1LL << 40, 1LL << 40},
				  (int64_t[]){0, 0}, &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	/* Elements fit int64 but bytes do not; a zero extent does not excuse
	 * the others (NumPy's rule). */
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 2,
				  (int64_t[]){1LL << 31, 1LL << 31},
				  (int64_t[]){0, 0}, &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, NULL, 0, 0, AJ_INT64, 3,
				  (int64_t[]){1LL << 40, 1LL << 40, 0}, NULL,
				  &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 1, (int64_t[]){3},
				  (int64_t[]){INT64_MAX / 2}, &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	expect_fail(
	    ctx,
	    aj_array_wrap(ctx, x, SIZE_MAX, 0, AJ_INT64, 1, s6, NULL, &out),
	    AJ_ERR_OVERFLOW, &out, fn);
	aj_ctx_free(ctx);
}

static void test_wrap_bounds(void **state)
{
	aj_ctx *ctx = new_ctx();
	int64_t x[6] = {0};
	aj_array *out = SENTINEL;
	const char *fn = "aj_array_wrap";
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 1, (int64_t[]){7},
				  NULL, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 8, AJ_INT64, 1, (int64_t[]){6},
				  NULL, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	/* The last element would straddle the end by one byte. */
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 47, 0, AJ_INT64, 1, (int64_t[]){6},
				  NULL, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, -8, AJ_INT64, 1, (int64_t[]){1},
				  NULL, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 0, AJ_INT64, 1, (int64_t[]){2},
				  (int64_t[]){-8}, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 8, AJ_INT64, 2, (int64_t[]){2, 3},
				  (int64_t[]){-16, 16}, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	/* Even an empty array's offset must lie within the buffer. */
	expect_fail(ctx,
		    aj_array_wrap(ctx, x, 48, 49, AJ_INT64, 1, (int64_t[]){0},
				  NULL, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	expect_fail(ctx,
		    aj_array_wrap(ctx, NULL, 0, 0, AJ_INT64, 1, (int64_t[]){2},
				  NULL, &out),
		    AJ_ERR_ARG, &out, fn);
	aj_ctx_free(ctx);
}

static void test_new_errors(void **state)
{
	aj_ctx *ctx = new_ctx();
	aj_array *out = SENTINEL;
	const char *fn = "aj_array_new";
	int64_t s[] = {2, 3};
	expect_fail(NULL, aj_array_new(NULL, AJ_INT64, 2, s, &out), AJ_ERR_ARG,
		    &out, NULL);
	assert_int_equal(aj_array_new(ctx, AJ_INT64, 2, s, NULL), AJ_ERR_ARG);
	expect_fail(ctx, aj_array_new(ctx, AJ_NDTYPE, 2, s, &out), AJ_ERR_DTYPE,
		    &out, fn);
	expect_fail(ctx, aj_array_new(ctx, AJ_INT64, 33, s, &out), AJ_ERR_SHAPE,
		    &out, fn);
	expect_fail(ctx,
		    aj_array_new(ctx, AJ_INT64, 2, (int64_t[]){2, -3}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(ctx,
		    aj_array_new(ctx, AJ_INT64, 2,
				 (int64_t[]){1LL << 40, 1LL << 40}, &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	/* 2^49 bytes fits int64 but is refused rather than attempted. */
	expect_fail(ctx,
		    aj_array_new(ctx, AJ_FLOAT64, 2,
				 (int64_t[]){1LL << 30, 1LL << 16}, &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	/* Each of the three allocations fails in turn, leaking nothing. */
	for (uint64_t n = 1; n <= 3; n++) {
		aj_alloc_fail_after(n);
		expect_fail(ctx, aj_array_new(ctx, AJ_INT64, 2, s, &out),
			    AJ_ERR_NOMEM, &out, NULL);
		aj_alloc_fail_after(0);
	}
	aj_ctx_free(ctx);
}

/* ---- slices ----------------------------------------------------------- */

/* range(n)[start:stop:step] as Python computes it. */
typedef struct slice_case {
	int64_t n, start, stop, step, len, idx[7];
} slice_case;

static const slice_case slice_table[] = {
    {0, D, D, 1, 0, {0}},
    {0, D, D, -1, 0, {0}},
    {0, 1, D, 1, 0, {0}},
    {0, D, 3, 1, 0, {0}},
    {0, 1, 4, 2, 0, {0}},
    {0, -1, D, -1, 0, {0}},
    {0, -2, D, -2, 0, {0}},
    {0, D, -3, 1, 0, {0}},
    {0, -100, 100, 1, 0, {0}},
    {0, 100, -100, -1, 0, {0}},
    {0, 3, 1, 1, 0, {0}},
    {0, 3, 1, -1, 0, {0}},
    {0, 0, D, 3, 0, {0}},
    {0, D, D, -3, 0, {0}},
    {0, -3, -1, 1, 0, {0}},
    {0, 5, D, 1, 0, {0}},
    {0, D, 0, -1, 0, {0}},
    {0, 6, -8, -2, 0, {0}},
    {0, D, D, 9, 0, {0}},
    {0, 2, 2, 1, 0, {0}},
    {0, -8, 2, 1, 0, {0}},
    {0, 7, D, -1, 0, {0}},
    {0, D, D, D, 0, {0}},
    {0, 1, D, D, 0, {0}},
    {0, D, BIG, 1, 0, {0}},
    {0, -BIG, D, 1, 0, {0}},
    {0, D, D, BIG, 0, {0}},
    {0, D, D, -BIG, 0, {0}},
    {0, BIG, -BIG, -1, 0, {0}},
    {1, D, D, 1, 1, {0}},
    {1, D, D, -1, 1, {0}},
    {1, 1, D, 1, 0, {0}},
    {1, D, 3, 1, 1, {0}},
    {1, 1, 4, 2, 0, {0}},
    {1, -1, D, -1, 1, {0}},
    {1, -2, D, -2, 0, {0}},
    {1, D, -3, 1, 0, {0}},
    {1, -100, 100, 1, 1, {0}},
    {1, 100, -100, -1, 1, {0}},
    {1, 3, 1, 1, 0, {0}},
    {1, 3, 1, -1, 0, {0}},
    {1, 0, D, 3, 1, {0}},
    {1, D, D, -3, 1, {0}},
    {1, -3, -1, 1, 0, {0}},
    {1, 5, D, 1, 0, {0}},
    {1, D, 0, -1, 0, {0}},
    {1, 6, -8, -2, 1, {0}},
    {1, D, D, 9, 1, {0}},
    {1, 2, 2, 1, 0, {0}},
    {1, -8, 2, 1, 1, {0}},
    {1, 7, D, -1, 1, {0}},
    {1, D, D, D, 1, {0}},
    {1, 1, D, D, 0, {0}},
    {1, D, BIG, 1, 1, {0}},
    {1, -BIG, D, 1, 1, {0}},
    {1, D, D, BIG, 1, {0}},
    {1, D, D, -BIG, 1, {0}},
    {1, BIG, -BIG, -1, 1, {0}},
    {2, D, D, 1, 2, {0, 1}},
    {2, D, D, -1, 2, {1, 0}},
    {2, 1, D, 1, 1, {1}},
    {2, D, 3, 1, 2, {0, 1}},
    {2, 1, 4, 2, 1, {1}},
    {2, -1, D, -1, 2, {1, 0}},
    {2, -2, D, -2, 1, {0}},
    {2, D, -3, 1, 0, {0}},
    {2, -100, 100, 1, 2, {0, 1}},
    {2, 100, -100, -1, 2, {1, 0}},
    {2, 3, 1, 1, 0, {0}},
    {2, 3, 1, -1, 0, {0}},
    {2, 0, D, 3, 1, {0}},
    {2, D, D, -3, 1, {1}},
    {2, -3, -1, 1, 1, {0}},
    {2, 5, D, 1, 0, {0}},
    {2, D, 0, -1, 1, {1}},
    {2, 6, -8, -2, 1, {1}},
    {2, D, D, 9, 1, {0}},
    {2, 2, 2, 1, 0, {0}},
    {2, -8, 2, 1, 2, {0, 1}},
    {2, 7, D, -1, 2, {1, 0}},
    {2, D, D, D, 2, {0, 1}},
    {2, 1, D, D, 1, {1}},
    {2, D, BIG, 1, 2, {0, 1}},
    {2, -BIG, D, 1, 2, {0, 1}},
    {2, D, D, BIG, 1, {0}},
    {2, D, D, -BIG, 1, {1}},
    {2, BIG, -BIG, -1, 2, {1, 0}},
    {5, D, D, 1, 5, {0, 1, 2, 3, 4}},
    {5, D, D, -1, 5, {4, 3, 2, 1, 0}},
    {5, 1, D, 1, 4, {1, 2, 3, 4}},
    {5, D, 3, 1, 3, {0, 1, 2}},
    {5, 1, 4, 2, 2, {1, 3}},
    {5, -1, D, -1, 5, {4, 3, 2, 1, 0}},
    {5, -2, D, -2, 2, {3, 1}},
    {5, D, -3, 1, 2, {0, 1}},
    {5, -100, 100, 1, 5, {0, 1, 2, 3, 4}},
    {5, 100, -100, -1, 5, {4, 3, 2, 1, 0}},
    {5, 3, 1, 1, 0, {0}},
    {5, 3, 1, -1, 2, {3, 2}},
    {5, 0, D, 3, 2, {0, 3}},
    {5, D, D, -3, 2, {4, 1}},
    {5, -3, -1, 1, 2, {2, 3}},
    {5, 5, D, 1, 0, {0}},
    {5, D, 0, -1, 4, {4, 3, 2, 1}},
    {5, 6, -8, -2, 3, {4, 2, 0}},
    {5, D, D, 9, 1, {0}},
    {5, 2, 2, 1, 0, {0}},
    {5, -8, 2, 1, 2, {0, 1}},
    {5, 7, D, -1, 5, {4, 3, 2, 1, 0}},
    {5, D, D, D, 5, {0, 1, 2, 3, 4}},
    {5, 1, D, D, 4, {1, 2, 3, 4}},
    {5, D, BIG, 1, 5, {0, 1, 2, 3, 4}},
    {5, -BIG, D, 1, 5, {0, 1, 2, 3, 4}},
    {5, D, D, BIG, 1, {0}},
    {5, D, D, -BIG, 1, {4}},
    {5, BIG, -BIG, -1, 5, {4, 3, 2, 1, 0}},
    {7, D, D, 1, 7, {0, 1, 2, 3, 4, 5, 6}},
    {7, D, D, -1, 7, {6, 5, 4, 3, 2, 1, 0}},
    {7, 1, D, 1, 6, {1, 2, 3, 4, 5, 6}},
    {7, D, 3, 1, 3, {0, 1, 2}},
    {7, 1, 4, 2, 2, {1, 3}},
    {7, -1, D, -1, 7, {6, 5, 4, 3, 2, 1, 0}},
    {7, -2, D, -2, 3, {5, 3, 1}},
    {7, D, -3, 1, 4, {0, 1, 2, 3}},
    {7, -100, 100, 1, 7, {0, 1, 2, 3, 4, 5, 6}},
    {7, 100, -100, -1, 7, {6, 5, 4, 3, 2, 1, 0}},
    {7, 3, 1, 1, 0, {0}},
    {7, 3, 1, -1, 2, {3, 2}},
    {7, 0, D, 3, 3, {0, 3, 6}},
    {7, D, D, -3, 3, {6, 3, 0}},
    {7, -3, -1, 1, 2, {4, 5}},
    {7, 5, D, 1, 2, {5, 6}},
    {7, D, 0, -1, 6, {6, 5, 4, 3, 2, 1}},
    {7, 6, -8, -2, 4, {6, 4, 2, 0}},
    {7, D, D, 9, 1, {0}},
    {7, 2, 2, 1, 0, {0}},
    {7, -8, 2, 1, 2, {0, 1}},
    {7, 7, D, -1, 7, {6, 5, 4, 3, 2, 1, 0}},
    {7, D, D, D, 7, {0, 1, 2, 3, 4, 5, 6}},
    {7, 1, D, D, 6, {1, 2, 3, 4, 5, 6}},
    {7, D, BIG, 1, 7, {0, 1, 2, 3, 4, 5, 6}},
    {7, -BIG, D, 1, 7, {0, 1, 2, 3, 4, 5, 6}},
    {7, D, D, BIG, 1, {0}},
    {7, D, D, -BIG, 1, {6}},
    {7, BIG, -BIG, -1, 7, {6, 5, 4, 3, 2, 1, 0}},
};
#define NSLICE ((int)(sizeof slice_table / sizeof slice_table[0]))

static aj_slice slice_of(const slice_case *c)
{
	return (aj_slice){c->start, c->stop, c->step};
}

static void test_slice_table(void **state)
{
	for (int c = 0; c < NSLICE; c++) {
		const slice_case *sc = &slice_table[c];
		orig o = make_orig(1, &sc->n, c % 2);
		aj_array *v;
		aj_slice s = slice_of(sc);
		REF_OK_CTX(o.ctx, aj_view_slice(o.ctx, o.a, &s, &v));
		check_shape(v, 1, &sc->len);
		for (int64_t i = 0; i < sc->len; i++)
			assert_int_equal(elem(v, &i), BASE + sc->idx[i]);
		int64_t step = sc->step == D ? 1 : sc->step;
		if (sc->len >= 2)
			assert_int_equal(aj_array_strides(v)[0], 8 * step);
		if (sc->len == 0)
			check_empty_in_bounds(v);
		aj_array_free(v);
		free_orig(&o);
	}
}

/* A random table row for an axis of length n. */
static const slice_case *pick_slice(uint64_t *rng, int64_t n)
{
	for (;;) {
		const slice_case *c = &slice_table[ref_rand(rng) % NSLICE];
		if (c->n == n)
			return c;
	}
}

/* The rows the current random case used per axis; cur2[d] NULL: whole. */
static const slice_case *cur1[4], *cur2[4];
static int cur_ndim;

/* A slice of a slice: axis d of the original at cur1's cur2's index. */
static void map_two_slices(const int64_t *i, int64_t *o)
{
	for (int d = 0; d < cur_ndim; d++)
		o[d] = cur1[d]->idx[cur2[d] ? cur2[d]->idx[i[d]] : i[d]];
}

static bool in_table(int64_t n)
{
	return n == 0 || n == 1 || n == 2 || n == 5 || n == 7;
}

/* Picks a random shape and two rounds of table slices for it. */
static void pick_case(uint64_t *rng, bool allow_empty, int64_t *shape,
		      aj_slice *s1, aj_slice *s2, int64_t *fin)
{
	static const int64_t lens[] = {1, 2, 5, 7, 5, 7, 0};
	cur_ndim = 1 + (int)(ref_rand(rng) % 4);
	for (int d = 0; d < cur_ndim; d++) {
		shape[d] = lens[ref_rand(rng) % (allow_empty ? 7 : 6)];
		cur1[d] = pick_slice(rng, shape[d]);
		s1[d] = slice_of(cur1[d]);
		cur2[d] = in_table(cur1[d]->len) ? pick_slice(rng, cur1[d]->len)
						 : NULL;
		s2[d] = cur2[d] ? slice_of(cur2[d]) : AJ_ALL;
		fin[d] = cur2[d] ? cur2[d]->len : cur1[d]->len;
	}
}

/* Random shapes from 1-D to 4-D over lengths 0, 1, 2, 5 and 7, each axis
 * sliced by a table row, then sliced again; the expected element composes
 * the two rows' index lists. */
static void test_slice_random(void **state)
{
	uint64_t rng = 12345;
	for (int iter = 0; iter < 300; iter++) {
		int64_t shape[4], fin[4];
		aj_slice s1[4], s2[4];
		pick_case(&rng, iter % 5 == 0, shape, s1, s2, fin);
		orig o = make_orig(cur_ndim, shape, iter % 2);
		aj_array *v1, *v2;
		REF_OK_CTX(o.ctx, aj_view_slice(o.ctx, o.a, s1, &v1));
		REF_OK_CTX(o.ctx, aj_view_slice(o.ctx, v1, s2, &v2));
		check_view(&o, v2, cur_ndim, fin, map_two_slices);
		aj_array_free(v1);
		aj_array_free(v2);
		free_orig(&o);
	}
}

static void map_slice_a(const int64_t *i, int64_t *o)
{
	o[0] = 1 + 2 * i[0];
	o[1] = 4 - i[1];
	o[2] = 4 - 2 * i[2];
}

static void map_slice_b(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = 3 + i[1];
	o[2] = i[2];
}

static void test_slice_hand(void **state)
{
	orig o = make_orig(3, (int64_t[]){4, 5, 6}, true);
	aj_array *v, *out = SENTINEL;
	/* a[1:4:2, ::-1, -2:-7:-2] */
	REF_OK_CTX(o.ctx,
		   aj_view_slice(
		       o.ctx, o.a,
		       (aj_slice[]){{1, 4, 2}, {D, D, -1}, {-2, -7, -2}}, &v));
	check_view(&o, v, 3, (int64_t[]){2, 5, 3}, map_slice_a);
	check_strides(v, 3, (int64_t[]){480, -48, -16});
	aj_array_free(v);
	/* a[-10:10, 3:100, -100:2] clamps to a[0:4, 3:5, 0:2] */
	REF_OK_CTX(
	    o.ctx,
	    aj_view_slice(o.ctx, o.a,
			  (aj_slice[]){{-10, 10, 1}, {3, 100, D}, {-100, 2, 1}},
			  &v));
	check_view(&o, v, 3, (int64_t[]){4, 2, 2}, map_slice_b);
	aj_array_free(v);
	expect_fail(o.ctx,
		    aj_view_slice(o.ctx, o.a,
				  (aj_slice[]){AJ_ALL, {0, 3, 0}, AJ_ALL},
				  &out),
		    AJ_ERR_ARG, &out, "aj_view_slice");
	expect_fail(o.ctx, aj_view_slice(o.ctx, o.a, NULL, &out), AJ_ERR_ARG,
		    &out, "aj_view_slice");
	free_orig(&o);
}

/* ---- index, permute --------------------------------------------------- */

static void map_index_mid(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = 4;
	o[2] = i[1];
}

static void map_index_last(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = i[1];
	o[2] = 0;
}

static void test_index(void **state)
{
	orig o = make_orig(3, (int64_t[]){4, 5, 6}, false);
	aj_array *v, *w, *out = SENTINEL;
	const char *fn = "aj_view_index";
	REF_OK_CTX(o.ctx, aj_view_index(o.ctx, o.a, 1, -1, &v));
	check_view(&o, v, 2, (int64_t[]){4, 6}, map_index_mid);
	/* Indexing down to a 0-d array: a[:, 4, :][3, 5] = a[3, 4, 5]. */
	REF_OK_CTX(o.ctx, aj_view_index(o.ctx, v, 0, 3, &w));
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_index(o.ctx, w, 0, 5, &v));
	aj_array_free(w);
	check_shape(v, 0, NULL);
	assert_int_equal(elem(v, NULL), BASE + (3 * 5 + 4) * 6 + 5);
	expect_fail(o.ctx, aj_view_index(o.ctx, v, 0, 0, &out), AJ_ERR_ARG,
		    &out, fn);
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_index(o.ctx, o.a, -1, 0, &v));
	check_view(&o, v, 2, (int64_t[]){4, 5}, map_index_last);
	aj_array_free(v);
	expect_fail(o.ctx, aj_view_index(o.ctx, o.a, 1, 5, &out), AJ_ERR_BOUNDS,
		    &out, fn);
	expect_fail(o.ctx, aj_view_index(o.ctx, o.a, 1, -6, &out),
		    AJ_ERR_BOUNDS, &out, fn);
	expect_fail(o.ctx, aj_view_index(o.ctx, o.a, 3, 0, &out), AJ_ERR_ARG,
		    &out, fn);
	expect_fail(o.ctx, aj_view_index(o.ctx, o.a, -4, 0, &out), AJ_ERR_ARG,
		    &out, fn);
	free_orig(&o);
}

static void map_perm_201(const int64_t *i, int64_t *o)
{
	o[0] = i[1];
	o[1] = i[2];
	o[2] = i[0];
}

static void map_reverse4(const int64_t *i, int64_t *o)
{
	o[0] = i[3];
	o[1] = i[2];
	o[2] = i[1];
	o[3] = i[0];
}

static void test_permute(void **state)
{
	orig o = make_orig(3, (int64_t[]){2, 3, 4}, true);
	orig q = make_orig(4, (int64_t[]){2, 1, 3, 2}, false);
	aj_array *v, *out = SENTINEL;
	const char *fn = "aj_view_permute";
	REF_OK_CTX(o.ctx, aj_view_permute(o.ctx, o.a, (int[]){2, 0, 1}, &v));
	check_view(&o, v, 3, (int64_t[]){4, 2, 3}, map_perm_201);
	check_strides(v, 3, (int64_t[]){8, 96, 32});
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_permute(o.ctx, o.a, (int[]){-1, 0, 1}, &v));
	check_view(&o, v, 3, (int64_t[]){4, 2, 3}, map_perm_201);
	aj_array_free(v);
	REF_OK_CTX(q.ctx, aj_view_permute(q.ctx, q.a, NULL, &v));
	check_view(&q, v, 4, (int64_t[]){2, 3, 1, 2}, map_reverse4);
	aj_array_free(v);
	expect_fail(o.ctx, aj_view_permute(o.ctx, o.a, (int[]){0, 0, 1}, &out),
		    AJ_ERR_ARG, &out, fn);
	expect_fail(o.ctx, aj_view_permute(o.ctx, o.a, (int[]){0, 1, 3}, &out),
		    AJ_ERR_ARG, &out, fn);
	expect_fail(o.ctx, aj_view_permute(o.ctx, o.a, (int[]){0, 1, -4}, &out),
		    AJ_ERR_ARG, &out, fn);
	free_orig(&o);
	free_orig(&q);
}

/* ---- reshape ---------------------------------------------------------- */

/* One reshape of a view of an original, with NumPy's strides for it
 * (strides[0] == 0 with layout set: AJ_ERR_LAYOUT). */
typedef struct reshape_case {
	int ndim;
	int64_t shape[5];
	bool layout;
	int64_t strides[5];
} reshape_case;

static void check_reshapes(aj_ctx *ctx, const aj_array *a,
			   const reshape_case *rc, int n)
{
	for (int c = 0; c < n; c++) {
		aj_array *v, *out = SENTINEL;
		aj_status st = aj_view_reshape(ctx, a, rc[c].ndim, rc[c].shape,
					       rc[c].layout ? &out : &v);
		if (rc[c].layout) {
			expect_fail(ctx, st, AJ_ERR_LAYOUT, &out,
				    "aj_view_reshape");
			continue;
		}
		REF_OK_CTX(ctx, st);
		assert_int_equal(aj_array_ndim(v), rc[c].ndim);
		for (int k = 0; k < rc[c].ndim; k++)
			if (rc[c].shape[k] != -1)
				assert_int_equal(aj_array_shape(v)[k],
						 rc[c].shape[k]);
		check_strides(v, rc[c].ndim, rc[c].strides);
		check_sequence(a, v);
		aj_array_free(v);
	}
}

static void test_reshape_strided(void **state)
{
	orig o = make_orig(2, (int64_t[]){4, 6}, true);
	aj_array *every2, *first3;
	/* a[:, ::2] has strides (48, 16): the rows still merge. */
	static const reshape_case every2_cases[] = {
	    {3, {2, 2, 3}, false, {96, 48, 16}},
	    {1, {12}, false, {16}},
	    {3, {4, 3, 1}, false, {48, 16, 16}},
	    {4, {1, 4, 1, 3}, false, {192, 48, 48, 16}},
	    {4, {2, 2, 3, 1}, false, {96, 48, 16, 16}},
	    {2, {3, 4}, false, {64, 16}},
	};
	/* a[:, :3] has strides (48, 8): the rows do not. */
	static const reshape_case first3_cases[] = {
	    {3, {2, 2, 3}, false, {96, 48, 8}},
	    {1, {12}, true, {0}},
	    {3, {4, 3, 1}, false, {48, 8, 8}},
	    {4, {1, 4, 1, 3}, false, {192, 48, 24, 8}},
	    {2, {3, 4}, true, {0}},
	};
	REF_OK_CTX(o.ctx,
		   aj_view_slice(o.ctx, o.a, (aj_slice[]){AJ_ALL, {D, D, 2}},
				 &every2));
	REF_OK_CTX(o.ctx,
		   aj_view_slice(o.ctx, o.a, (aj_slice[]){AJ_ALL, {D, 3, 1}},
				 &first3));
	check_reshapes(o.ctx, every2, every2_cases, 6);
	check_reshapes(o.ctx, first3, first3_cases, 5);
	aj_array_free(every2);
	aj_array_free(first3);
	free_orig(&o);
}

static void test_reshape_transposed(void **state)
{
	orig o = make_orig(2, (int64_t[]){3, 4}, false);
	orig p = make_orig(3, (int64_t[]){2, 3, 4}, true);
	aj_array *t, *r;
	/* a.T has shape (4, 3) and strides (8, 32). */
	static const reshape_case t_cases[] = {
	    {3, {2, 2, 3}, false, {16, 8, 32}},
	    {1, {12}, true, {0}},
	    {3, {4, 1, 3}, false, {8, 96, 32}},
	    {2, {4, 3}, false, {8, 32}},
	    {2, {3, 4}, true, {0}},
	    {2, {4, -1}, false, {8, 32}},
	};
	/* p[:, ::2, ::-1] has shape (2, 2, 4) and strides (96, 64, -8). */
	static const reshape_case r_cases[] = {
	    {2, {4, 4}, true, {0}},
	    {2, {2, 8}, true, {0}},
	    {4, {2, 2, 2, 2}, false, {96, 64, -16, -8}},
	    {1, {16}, true, {0}},
	};
	/* Contiguous arrays take C strides. */
	static const reshape_case c_cases[] = {
	    {2, {4, -1}, false, {48, 8}},
	    {1, {-1}, false, {8}},
	    {2, {2, 12}, false, {96, 8}},
	    {3, {1, 24, 1}, false, {192, 8, 8}},
	    {5, {2, 1, 3, 2, 2}, false, {96, 96, 32, 16, 8}},
	};
	REF_OK_CTX(o.ctx, aj_view_permute(o.ctx, o.a, NULL, &t));
	check_reshapes(o.ctx, t, t_cases, 6);
	REF_OK_CTX(p.ctx, aj_view_slice(
			      p.ctx, p.a,
			      (aj_slice[]){AJ_ALL, {D, D, 2}, {D, D, -1}}, &r));
	check_strides(r, 3, (int64_t[]){96, 64, -8});
	check_reshapes(p.ctx, r, r_cases, 4);
	check_reshapes(p.ctx, p.a, c_cases, 5);
	aj_array_free(t);
	aj_array_free(r);
	free_orig(&o);
	free_orig(&p);
}

static void test_reshape_special(void **state)
{
	orig o = make_orig(2, (int64_t[]){4, 6}, true);
	aj_array *z, *v, *one;
	/* a[:, 6:] is empty and reshapes freely, with C strides. */
	static const reshape_case z_cases[] = {
	    {1, {0}, false, {8}},
	    {3, {2, 0, 7}, false, {56, 56, 8}},
	    {2, {0, 3}, false, {24, 8}},
	};
	REF_OK_CTX(o.ctx, aj_view_slice(o.ctx, o.a,
					(aj_slice[]){AJ_ALL, {6, D, 1}}, &z));
	check_shape(z, 2, (int64_t[]){4, 0});
	check_reshapes(o.ctx, z, z_cases, 3);
	REF_OK_CTX(o.ctx, aj_view_reshape(o.ctx, z, 2, (int64_t[]){2, 0}, &v));
	check_empty_in_bounds(v);
	aj_array_free(v);
	/* A single element: 0-d and back, any number of length-1 axes. */
	REF_OK_CTX(o.ctx,
		   aj_view_slice(o.ctx, o.a, (aj_slice[]){{2, 3, 1}, {5, 6, 1}},
				 &one));
	REF_OK_CTX(o.ctx, aj_view_reshape(o.ctx, one, 0, NULL, &v));
	assert_int_equal(elem(v, NULL), BASE + 2 * 6 + 5);
	aj_array_free(v);
	REF_OK_CTX(o.ctx,
		   aj_view_reshape(o.ctx, one, 3, (int64_t[]){1, 1, -1}, &v));
	check_strides(v, 3, (int64_t[]){8, 8, 8});
	aj_array_free(v);
	aj_array_free(one);
	aj_array_free(z);
	free_orig(&o);
}

static void test_reshape_errors(void **state)
{
	orig o = make_orig(2, (int64_t[]){4, 6}, false);
	aj_array *z, *out = SENTINEL;
	const char *fn = "aj_view_reshape";
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, o.a, 2, (int64_t[]){5, 5}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, o.a, 2, (int64_t[]){5, -1}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, o.a, 2, (int64_t[]){-1, -1}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, o.a, 2, (int64_t[]){-2, -12}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, o.a, 33, (int64_t[33]){24}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx, aj_view_reshape(o.ctx, o.a, -1, NULL, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx, aj_view_reshape(o.ctx, o.a, 2, NULL, &out),
		    AJ_ERR_ARG, &out, fn);
	REF_OK_CTX(o.ctx, aj_view_slice(o.ctx, o.a,
					(aj_slice[]){{4, D, 1}, AJ_ALL}, &z));
	/* NumPy cannot infer -1 beside a zero, and checks bytes as for new. */
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, z, 2, (int64_t[]){0, -1}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, z, 3,
				    (int64_t[]){0, 1LL << 40, 1LL << 40}, &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	aj_array_free(z);
	free_orig(&o);
}

/* ---- broadcast, expand_dims ------------------------------------------- */

static void map_bcast(const int64_t *i, int64_t *o)
{
	o[0] = i[1];
	o[1] = 0;
}

static void map_bcast_row(const int64_t *i, int64_t *o)
{
	o[0] = i[1];
}

static void test_broadcast(void **state)
{
	orig o = make_orig(2, (int64_t[]){3, 1}, true);
	orig r = make_orig(1, (int64_t[]){4}, false);
	aj_array *v, *w, *out = SENTINEL;
	REF_OK_CTX(o.ctx,
		   aj_view_broadcast(o.ctx, o.a, 3, (int64_t[]){2, 3, 4}, &v));
	check_view(&o, v, 3, (int64_t[]){2, 3, 4}, map_bcast);
	check_strides(v, 3, (int64_t[]){0, 8, 0});
	assert_true(aj_array_readonly(v));
	assert_false(aj_array_readonly(o.a));
	/* Views of a read-only view stay read-only. */
	REF_OK_CTX(o.ctx, aj_view_index(o.ctx, v, 0, 1, &w));
	assert_true(aj_array_readonly(w));
	aj_array_free(w);
	REF_OK_CTX(o.ctx,
		   aj_view_reshape(o.ctx, v, 4, (int64_t[]){2, 3, 2, 2}, &w));
	check_strides(w, 4, (int64_t[]){0, 8, 0, 0});
	assert_true(aj_array_readonly(w));
	check_sequence(v, w);
	aj_array_free(w);
	expect_fail(o.ctx,
		    aj_view_reshape(o.ctx, v, 2, (int64_t[]){6, 4}, &out),
		    AJ_ERR_LAYOUT, &out, "aj_view_reshape");
	aj_array_free(v);
	REF_OK_CTX(r.ctx,
		   aj_view_broadcast(r.ctx, r.a, 2, (int64_t[]){3, 4}, &v));
	check_view(&r, v, 2, (int64_t[]){3, 4}, map_bcast_row);
	aj_array_free(v);
	REF_OK_CTX(o.ctx,
		   aj_view_broadcast(o.ctx, o.a, 2, (int64_t[]){3, 0}, &v));
	check_empty_in_bounds(v);
	aj_array_free(v);
	free_orig(&o);
	free_orig(&r);
}

static void test_broadcast_errors(void **state)
{
	orig o = make_orig(2, (int64_t[]){3, 1}, true);
	aj_array *z, *out = SENTINEL;
	const char *fn = "aj_view_broadcast";
	expect_fail(o.ctx,
		    aj_view_broadcast(o.ctx, o.a, 2, (int64_t[]){4, 1}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_broadcast(o.ctx, o.a, 1, (int64_t[]){3}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_broadcast(o.ctx, o.a, 2, (int64_t[]){3, -1}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_broadcast(o.ctx, o.a, 33, (int64_t[33]){3}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	expect_fail(o.ctx,
		    aj_view_broadcast(o.ctx, o.a, 3,
				      (int64_t[]){1LL << 40, 1LL << 40, 1},
				      &out),
		    AJ_ERR_OVERFLOW, &out, fn);
	/* An empty axis does not broadcast to length 1. */
	REF_OK_CTX(o.ctx, aj_view_slice(o.ctx, o.a,
					(aj_slice[]){{3, D, 1}, AJ_ALL}, &z));
	expect_fail(o.ctx,
		    aj_view_broadcast(o.ctx, z, 2, (int64_t[]){1, 1}, &out),
		    AJ_ERR_SHAPE, &out, fn);
	aj_array_free(z);
	free_orig(&o);
}

static void map_expand1(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = i[2];
	o[2] = i[3];
}

/* Inserts a length-1 axis at each of axes and checks NumPy's strides. */
static void check_expands(aj_ctx *ctx, const aj_array *a, const int *axes,
			  const int64_t (*strides)[4], int n)
{
	for (int c = 0; c < n; c++) {
		aj_array *v;
		REF_OK_CTX(ctx, aj_view_expand_dims(ctx, a, axes[c], &v));
		check_strides(v, 4, strides[c]);
		check_sequence(a, v);
		aj_array_free(v);
	}
}

static void test_expand_dims(void **state)
{
	orig o = make_orig(3, (int64_t[]){2, 3, 4}, true);
	aj_array *v, *t, *out = SENTINEL;
	static const int axes[] = {0, 1, 3, -1, -4};
	static const int64_t c_strides[][4] = {
	    {192, 96, 32, 8}, {96, 96, 32, 8},	{96, 32, 8, 8},
	    {96, 32, 8, 8},   {192, 96, 32, 8},
	};
	static const int t_axes[] = {0, 2, -1};
	static const int64_t t_strides[][4] = {
	    {32, 8, 32, 96}, {8, 32, 192, 96}, {8, 32, 96, 96}};
	check_expands(o.ctx, o.a, axes, c_strides, 5);
	REF_OK_CTX(o.ctx, aj_view_permute(o.ctx, o.a, NULL, &t));
	check_expands(o.ctx, t, t_axes, t_strides, 3);
	REF_OK_CTX(o.ctx, aj_view_expand_dims(o.ctx, o.a, 1, &v));
	check_view(&o, v, 4, (int64_t[]){2, 1, 3, 4}, map_expand1);
	aj_array_free(v);
	expect_fail(o.ctx, aj_view_expand_dims(o.ctx, o.a, 4, &out), AJ_ERR_ARG,
		    &out, "aj_view_expand_dims");
	expect_fail(o.ctx, aj_view_expand_dims(o.ctx, o.a, -5, &out),
		    AJ_ERR_ARG, &out, "aj_view_expand_dims");
	aj_array_free(t);
	free_orig(&o);
}

/* Grows a scalar to AJ_MAX_NDIM length-1 axes, one past is refused. */
static void test_expand_to_max(void **state)
{
	aj_ctx *ctx = new_ctx();
	aj_array *a, *v, *out = SENTINEL;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT64, 0, NULL, &a));
	for (int k = 0; k < AJ_MAX_NDIM; k++) {
		REF_OK_CTX(ctx,
			   aj_view_expand_dims(ctx, a, k % 2 ? -1 : 0, &v));
		aj_array_free(a);
		a = v;
	}
	assert_int_equal(aj_array_ndim(a), AJ_MAX_NDIM);
	assert_int_equal(aj_array_size(a), 1);
	expect_fail(ctx, aj_view_expand_dims(ctx, a, 0, &out), AJ_ERR_SHAPE,
		    &out, "aj_view_expand_dims");
	aj_array_free(a);
	aj_ctx_free(ctx);
}

/* ---- flip, squeeze, moveaxis, diagonal, ravel ------------------------- */

/* a is (2, 3, 4) in these maps. */
static void map_flip1(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = 2 - i[1];
	o[2] = i[2];
}

static void map_flip_last(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = i[1];
	o[2] = 3 - i[2];
}

static void map_flip_all(const int64_t *i, int64_t *o)
{
	o[0] = 1 - i[0];
	o[1] = 2 - i[1];
	o[2] = 3 - i[2];
}

static void test_flip(void **state)
{
	orig o = make_orig(3, (int64_t[]){2, 3, 4}, true);
	aj_array *v, *w, *out = SENTINEL;
	const int64_t shape[] = {2, 3, 4};
	const char *fn = "aj_view_flip";
	REF_OK_CTX(o.ctx, aj_view_flip(o.ctx, o.a, 1, &v));
	check_view(&o, v, 3, shape, map_flip1);
	check_strides(v, 3, (int64_t[]){96, -32, 8});
	assert_ptr_equal(aj_array_data(v), (char *)o.mem + 2 * 32);
	/* Flipping back gives a's own data and strides. */
	REF_OK_CTX(o.ctx, aj_view_flip(o.ctx, v, -2, &w));
	check_strides(w, 3, (int64_t[]){96, 32, 8});
	assert_ptr_equal(aj_array_data(w), o.mem);
	aj_array_free(w);
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_flip(o.ctx, o.a, -1, &v));
	check_view(&o, v, 3, shape, map_flip_last);
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_flip(o.ctx, o.a, AJ_ALL_AXES, &v));
	check_view(&o, v, 3, shape, map_flip_all);
	check_strides(v, 3, (int64_t[]){-96, -32, -8});
	assert_ptr_equal(aj_array_data(v), o.mem + 23);
	assert_false(aj_array_readonly(v));
	aj_array_free(v);
	expect_fail(o.ctx, aj_view_flip(o.ctx, o.a, 3, &out), AJ_ERR_ARG, &out,
		    fn);
	expect_fail(o.ctx, aj_view_flip(o.ctx, o.a, -4, &out), AJ_ERR_ARG, &out,
		    fn);
	expect_fail(o.ctx, aj_view_flip(o.ctx, o.a, INT32_MAX, &out),
		    AJ_ERR_ARG, &out, fn);
	free_orig(&o);
}

/* a is (1, 3, 1, 2) in these maps. */
static void map_squeeze_all(const int64_t *i, int64_t *o)
{
	o[0] = 0;
	o[1] = i[0];
	o[2] = 0;
	o[3] = i[1];
}

static void map_squeeze0(const int64_t *i, int64_t *o)
{
	o[0] = 0;
	o[1] = i[0];
	o[2] = i[1];
	o[3] = i[2];
}

static void map_squeeze2(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = i[1];
	o[2] = 0;
	o[3] = i[2];
}

static void test_squeeze(void **state)
{
	orig o = make_orig(4, (int64_t[]){1, 3, 1, 2}, true);
	orig q = make_orig(2, (int64_t[]){3, 1}, false);
	aj_array *v, *b, *out = SENTINEL;
	const char *fn = "aj_view_squeeze";
	REF_OK_CTX(o.ctx, aj_view_squeeze(o.ctx, o.a, AJ_ALL_AXES, &v));
	check_view(&o, v, 2, (int64_t[]){3, 2}, map_squeeze_all);
	check_strides(v, 2, (int64_t[]){16, 8});
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_squeeze(o.ctx, o.a, 0, &v));
	check_view(&o, v, 3, (int64_t[]){3, 1, 2}, map_squeeze0);
	check_strides(v, 3, (int64_t[]){16, 16, 8});
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_squeeze(o.ctx, o.a, -2, &v));
	check_view(&o, v, 3, (int64_t[]){1, 3, 2}, map_squeeze2);
	check_strides(v, 3, (int64_t[]){48, 16, 8});
	/* No length-1 axis left: the same shape and strides. */
	REF_OK_CTX(o.ctx, aj_view_squeeze(o.ctx, v, 0, &b));
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_squeeze(o.ctx, b, AJ_ALL_AXES, &v));
	check_strides(v, 2, (int64_t[]){16, 8});
	check_sequence(b, v);
	aj_array_free(v);
	aj_array_free(b);
	expect_fail(o.ctx, aj_view_squeeze(o.ctx, o.a, 1, &out), AJ_ERR_SHAPE,
		    &out, fn);
	expect_fail(o.ctx, aj_view_squeeze(o.ctx, o.a, -1, &out), AJ_ERR_SHAPE,
		    &out, fn);
	expect_fail(o.ctx, aj_view_squeeze(o.ctx, o.a, 4, &out), AJ_ERR_ARG,
		    &out, fn);
	expect_fail(o.ctx, aj_view_squeeze(o.ctx, o.a, -5, &out), AJ_ERR_ARG,
		    &out, fn);
	/* A broadcast stays read-only; its stride-0 axes go. */
	REF_OK_CTX(q.ctx,
		   aj_view_broadcast(q.ctx, q.a, 3, (int64_t[]){1, 3, 1}, &b));
	REF_OK_CTX(q.ctx, aj_view_squeeze(q.ctx, b, AJ_ALL_AXES, &v));
	check_shape(v, 1, (int64_t[]){3});
	check_strides(v, 1, (int64_t[]){8});
	assert_true(aj_array_readonly(v));
	assert_int_equal(elem(v, (int64_t[]){2}), BASE + 2);
	aj_array_free(v);
	aj_array_free(b);
	free_orig(&o);
	free_orig(&q);
}

/* a is (2, 3, 4) in these maps. */
static void map_move_first_last(const int64_t *i, int64_t *o)
{
	o[0] = i[2];
	o[1] = i[0];
	o[2] = i[1];
}

static void map_move_last_first(const int64_t *i, int64_t *o)
{
	o[0] = i[1];
	o[1] = i[2];
	o[2] = i[0];
}

static void map_move_0_1(const int64_t *i, int64_t *o)
{
	o[0] = i[1];
	o[1] = i[0];
	o[2] = i[2];
}

static void map_same3(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = i[1];
	o[2] = i[2];
}

static void test_moveaxis(void **state)
{
	orig o = make_orig(3, (int64_t[]){2, 3, 4}, false);
	aj_array *v, *out = SENTINEL;
	const char *fn = "aj_view_moveaxis";
	REF_OK_CTX(o.ctx, aj_view_moveaxis(o.ctx, o.a, 0, -1, &v));
	check_view(&o, v, 3, (int64_t[]){3, 4, 2}, map_move_first_last);
	check_strides(v, 3, (int64_t[]){32, 8, 96});
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_moveaxis(o.ctx, o.a, -1, 0, &v));
	check_view(&o, v, 3, (int64_t[]){4, 2, 3}, map_move_last_first);
	check_strides(v, 3, (int64_t[]){8, 96, 32});
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_moveaxis(o.ctx, o.a, 0, 1, &v));
	check_view(&o, v, 3, (int64_t[]){3, 2, 4}, map_move_0_1);
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_moveaxis(o.ctx, o.a, 1, -2, &v));
	check_view(&o, v, 3, (int64_t[]){2, 3, 4}, map_same3);
	check_strides(v, 3, (int64_t[]){96, 32, 8});
	aj_array_free(v);
	expect_fail(o.ctx, aj_view_moveaxis(o.ctx, o.a, 3, 0, &out), AJ_ERR_ARG,
		    &out, fn);
	expect_fail(o.ctx, aj_view_moveaxis(o.ctx, o.a, 0, -4, &out),
		    AJ_ERR_ARG, &out, fn);
	free_orig(&o);
}

/* Checks a read-only diagonal of n elements of a (3, 4) original, element
 * i being a[row0 + i, col0 + i]. */
static void check_diag(const aj_array *v, int64_t n, int64_t row0, int64_t col0)
{
	check_shape(v, 1, &n);
	assert_true(aj_array_readonly(v));
	if (n == 0) {
		check_empty_in_bounds(v);
		return;
	}
	check_strides(v, 1, (int64_t[]){40});
	for (int64_t i = 0; i < n; i++)
		assert_int_equal(elem(v, &i), BASE + (row0 + i) * 4 + col0 + i);
}

static void test_diagonal_2d(void **state)
{
	orig o = make_orig(2, (int64_t[]){3, 4}, true);
	/* offset, axis1, axis2, then NumPy's length and first element */
	static const struct {
		int64_t offset;
		int axis1, axis2;
		int64_t n, row0, col0;
	} cases[] = {
	    {0, 0, 1, 3, 0, 0},
	    {1, 0, 1, 3, 0, 1},
	    {3, 0, 1, 1, 0, 3},
	    {4, 0, 1, 0, 0, 0},
	    {-1, 0, 1, 2, 1, 0},
	    {-2, 0, 1, 1, 2, 0},
	    {-3, 0, 1, 0, 0, 0},
	    {INT64_MAX, 0, 1, 0, 0, 0},
	    {INT64_MIN, 0, 1, 0, 0, 0},
	    {1, 1, 0, 2, 1, 0},
	    {-1, -1, -2, 3, 0, 1},
	    {-3, 1, 0, 1, 0, 3},
	    {INT64_MIN + 1, -1, 0, 0, 0, 0},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		aj_array *v;
		REF_OK_CTX(o.ctx, aj_view_diagonal(o.ctx, o.a, cases[c].offset,
						   cases[c].axis1,
						   cases[c].axis2, &v));
		check_diag(v, cases[c].n, cases[c].row0, cases[c].col0);
		aj_array_free(v);
	}
	assert_false(aj_array_readonly(o.a));
	free_orig(&o);
}

/* a is (2, 3, 4) in these maps; the diagonal is the last axis. */
static void map_diag_02(const int64_t *i, int64_t *o)
{
	o[0] = i[1];
	o[1] = i[0];
	o[2] = i[1];
}

static void map_diag_20_off1(const int64_t *i, int64_t *o)
{
	o[0] = i[1] + 1;
	o[1] = i[0];
	o[2] = i[1];
}

static void map_diag_12_below(const int64_t *i, int64_t *o)
{
	o[0] = i[0];
	o[1] = i[1] + 1;
	o[2] = i[1];
}

static void test_diagonal_3d(void **state)
{
	orig o = make_orig(3, (int64_t[]){2, 3, 4}, false);
	aj_array *v, *z, *out = SENTINEL;
	const char *fn = "aj_view_diagonal";
	REF_OK_CTX(o.ctx, aj_view_diagonal(o.ctx, o.a, 0, 0, 2, &v));
	check_view(&o, v, 2, (int64_t[]){3, 2}, map_diag_02);
	check_strides(v, 2, (int64_t[]){32, 104});
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_diagonal(o.ctx, o.a, 1, 2, 0, &v));
	check_view(&o, v, 2, (int64_t[]){3, 1}, map_diag_20_off1);
	aj_array_free(v);
	REF_OK_CTX(o.ctx, aj_view_diagonal(o.ctx, o.a, -1, 1, -1, &v));
	check_view(&o, v, 2, (int64_t[]){2, 2}, map_diag_12_below);
	aj_array_free(v);
	/* An empty other axis empties the view, whatever the offset. */
	REF_OK_CTX(o.ctx,
		   aj_view_slice(o.ctx, o.a,
				 (aj_slice[]){AJ_ALL, {3, D, 1}, AJ_ALL}, &z));
	REF_OK_CTX(o.ctx, aj_view_diagonal(o.ctx, z, 1, 0, 2, &v));
	check_shape(v, 2, (int64_t[]){0, 2});
	check_empty_in_bounds(v);
	aj_array_free(v);
	aj_array_free(z);
	expect_fail(o.ctx, aj_view_diagonal(o.ctx, o.a, 0, 1, 1, &out),
		    AJ_ERR_ARG, &out, fn);
	expect_fail(o.ctx, aj_view_diagonal(o.ctx, o.a, 0, 2, -1, &out),
		    AJ_ERR_ARG, &out, fn);
	expect_fail(o.ctx, aj_view_diagonal(o.ctx, o.a, 0, 3, 1, &out),
		    AJ_ERR_ARG, &out, fn);
	expect_fail(o.ctx, aj_view_diagonal(o.ctx, o.a, 0, 0, -4, &out),
		    AJ_ERR_ARG, &out, fn);
	REF_OK_CTX(o.ctx, aj_view_index(o.ctx, o.a, 0, 1, &z));
	REF_OK_CTX(o.ctx, aj_view_index(o.ctx, z, 0, 1, &v));
	expect_fail(o.ctx, aj_view_diagonal(o.ctx, v, 0, 0, 1, &out),
		    AJ_ERR_SHAPE, &out, fn);
	aj_array_free(v);
	aj_array_free(z);
	free_orig(&o);
}

/* Ravels a, expecting a 1-D view of stride want_stride listing a's
 * elements in C order. */
static void check_ravel(aj_ctx *ctx, const aj_array *a, int64_t want_stride)
{
	aj_array *v;
	REF_OK_CTX(ctx, aj_view_ravel(ctx, a, &v));
	check_shape(v, 1, (int64_t[]){aj_array_size(a)});
	check_strides(v, 1, &want_stride);
	assert_int_equal(aj_array_readonly(v), aj_array_readonly(a));
	check_sequence(a, v);
	aj_array_free(v);
}

/* Expects AJ_ERR_LAYOUT and a message that says why. */
static void check_ravel_refused(aj_ctx *ctx, const aj_array *a)
{
	aj_array *out = SENTINEL;
	aj_status st = aj_view_ravel(ctx, a, &out);
	if (!strstr(aj_ctx_errmsg(ctx), "without a copy"))
		fail_msg("message \"%s\" does not say a copy is needed",
			 aj_ctx_errmsg(ctx));
	expect_fail(ctx, st, AJ_ERR_LAYOUT, &out, "aj_view_ravel");
}

static void test_ravel(void **state)
{
	orig o = make_orig(2, (int64_t[]){4, 6}, true);
	orig one = make_orig(1, (int64_t[]){1}, false);
	aj_array *v, *w;
	aj_ctx *ctx = o.ctx;
	check_ravel(ctx, o.a, 8);
	/* One stride steps through a[:, ::2], a[1:, ::2], a[:, 1:2] (its
	 * length-1 axis aside), a[::-1, ::-1] and a[2:3, ::-3]. */
	static const aj_slice viewable[][2] = {
	    {AJ_ALL, {D, D, 2}},     {{1, D, 1}, {D, D, 2}},
	    {AJ_ALL, {1, 2, 1}},     {{D, D, -1}, {D, D, -1}},
	    {{2, 3, 1}, {D, D, -3}},
	};
	static const int64_t strides[] = {16, 16, 48, -8, -24};
	for (int c = 0; c < 5; c++) {
		REF_OK_CTX(ctx, aj_view_slice(ctx, o.a, viewable[c], &v));
		check_ravel(ctx, v, strides[c]);
		aj_array_free(v);
	}
	/* Uneven: a[:, :3], a.T, a[::2, ::-1]. */
	static const aj_slice refused[][2] = {
	    {AJ_ALL, {D, 3, 1}},
	    {{D, D, 2}, {D, D, -1}},
	};
	for (int c = 0; c < 2; c++) {
		REF_OK_CTX(ctx, aj_view_slice(ctx, o.a, refused[c], &v));
		check_ravel_refused(ctx, v);
		aj_array_free(v);
	}
	REF_OK_CTX(ctx, aj_view_permute(ctx, o.a, NULL, &v));
	check_ravel_refused(ctx, v);
	aj_array_free(v);
	/* Empty arrays always ravel, with the itemsize as stride. */
	REF_OK_CTX(
	    ctx, aj_view_slice(ctx, o.a, (aj_slice[]){AJ_ALL, {6, D, 1}}, &w));
	REF_OK_CTX(ctx, aj_view_permute(ctx, w, NULL, &v));
	check_ravel(ctx, v, 8);
	aj_array_free(v);
	aj_array_free(w);
	/* A 0-d array gives shape (1,); one broadcast element stride 0. */
	REF_OK_CTX(ctx, aj_view_index(ctx, o.a, 1, -1, &w));
	REF_OK_CTX(ctx, aj_view_index(ctx, w, 0, 2, &v));
	aj_array_free(w);
	check_ravel(ctx, v, 8);
	aj_array_free(v);
	REF_OK_CTX(one.ctx,
		   aj_view_broadcast(one.ctx, one.a, 2, (int64_t[]){2, 3}, &v));
	check_ravel(one.ctx, v, 0);
	aj_array_free(v);
	free_orig(&one);
	free_orig(&o);
}

/* Views of empty and 0-d arrays, and the argument checks they share. */
static void test_more_views_edges(void **state)
{
	orig o = make_orig(3, (int64_t[]){3, 0, 2}, true);
	aj_array *v, *out = SENTINEL;
	aj_ctx *ctx = o.ctx;
	REF_OK_CTX(ctx, aj_view_flip(ctx, o.a, AJ_ALL_AXES, &v));
	check_empty_in_bounds(v);
	assert_ptr_equal(aj_array_data(v), aj_array_data(o.a));
	aj_array_free(v);
	REF_OK_CTX(ctx, aj_view_moveaxis(ctx, o.a, 1, 0, &v));
	check_empty_in_bounds(v);
	aj_array_free(v);
	REF_OK_CTX(ctx, aj_view_diagonal(ctx, o.a, -1, 2, 0, &v));
	check_shape(v, 2, (int64_t[]){0, 1});
	check_empty_in_bounds(v);
	aj_array_free(v);
	expect_fail(ctx, aj_view_squeeze(ctx, o.a, 1, &out), AJ_ERR_SHAPE, &out,
		    "aj_view_squeeze");
	free_orig(&o);
	/* 0-d: flip and squeeze of every axis are no-ops, one axis is out of
	 * range. */
	aj_ctx *c0 = new_ctx();
	aj_array *s;
	REF_OK_CTX(c0, aj_array_new(c0, AJ_INT64, 0, NULL, &s));
	*(int64_t *)aj_array_data(s) = 7;
	REF_OK_CTX(c0, aj_view_flip(c0, s, AJ_ALL_AXES, &v));
	assert_int_equal(elem(v, NULL), 7);
	aj_array_free(v);
	REF_OK_CTX(c0, aj_view_squeeze(c0, s, AJ_ALL_AXES, &v));
	check_shape(v, 0, NULL);
	aj_array_free(v);
	expect_fail(c0, aj_view_flip(c0, s, 0, &out), AJ_ERR_ARG, &out,
		    "aj_view_flip");
	expect_fail(c0, aj_view_squeeze(c0, s, -1, &out), AJ_ERR_ARG, &out,
		    "aj_view_squeeze");
	expect_fail(c0, aj_view_moveaxis(c0, s, 0, 0, &out), AJ_ERR_ARG, &out,
		    "aj_view_moveaxis");
	expect_fail(c0, aj_view_diagonal(c0, s, 0, 0, 1, &out), AJ_ERR_SHAPE,
		    &out, "aj_view_diagonal");
	aj_array_free(s);
	aj_ctx_free(c0);
}

static void test_more_views_null_args(void **state)
{
	orig o = make_orig(2, (int64_t[]){2, 3}, false);
	aj_array *out = SENTINEL;
	aj_ctx *ctx = o.ctx;
	expect_fail(NULL, aj_view_flip(NULL, o.a, 0, &out), AJ_ERR_ARG, &out,
		    NULL);
	expect_fail(ctx, aj_view_flip(ctx, NULL, 0, &out), AJ_ERR_ARG, &out,
		    "aj_view_flip");
	assert_int_equal(aj_view_flip(ctx, o.a, 0, NULL), AJ_ERR_ARG);
	expect_fail(NULL, aj_view_squeeze(NULL, o.a, 0, &out), AJ_ERR_ARG, &out,
		    NULL);
	expect_fail(ctx, aj_view_squeeze(ctx, NULL, 0, &out), AJ_ERR_ARG, &out,
		    "aj_view_squeeze");
	assert_int_equal(aj_view_squeeze(ctx, o.a, AJ_ALL_AXES, NULL),
			 AJ_ERR_ARG);
	expect_fail(NULL, aj_view_moveaxis(NULL, o.a, 0, 1, &out), AJ_ERR_ARG,
		    &out, NULL);
	expect_fail(ctx, aj_view_moveaxis(ctx, NULL, 0, 1, &out), AJ_ERR_ARG,
		    &out, "aj_view_moveaxis");
	assert_int_equal(aj_view_moveaxis(ctx, o.a, 0, 1, NULL), AJ_ERR_ARG);
	expect_fail(NULL, aj_view_diagonal(NULL, o.a, 0, 0, 1, &out),
		    AJ_ERR_ARG, &out, NULL);
	expect_fail(ctx, aj_view_diagonal(ctx, NULL, 0, 0, 1, &out), AJ_ERR_ARG,
		    &out, "aj_view_diagonal");
	assert_int_equal(aj_view_diagonal(ctx, o.a, 0, 0, 1, NULL), AJ_ERR_ARG);
	expect_fail(NULL, aj_view_ravel(NULL, o.a, &out), AJ_ERR_ARG, &out,
		    NULL);
	expect_fail(ctx, aj_view_ravel(ctx, NULL, &out), AJ_ERR_ARG, &out,
		    "aj_view_ravel");
	assert_int_equal(aj_view_ravel(ctx, o.a, NULL), AJ_ERR_ARG);
	/* A failed handle allocation leaves *out alone and leaks nothing. */
	aj_alloc_fail_after(1);
	expect_fail(ctx, aj_view_diagonal(ctx, o.a, 0, 0, 1, &out),
		    AJ_ERR_NOMEM, &out, NULL);
	aj_alloc_fail_after(1);
	expect_fail(ctx, aj_view_ravel(ctx, o.a, &out), AJ_ERR_NOMEM, &out,
		    NULL);
	aj_alloc_fail_after(0);
	free_orig(&o);
}

/* ---- chains, lifetimes, extents, common errors ------------------------ */

/* a (3, 4, 5) -> .T (5, 4, 3) -> [::-2, 1:3, :] (3, 2, 3) -> index axis 1
 * at -1 (3, 3) -> expand_dims 1 (3, 1, 3) -> broadcast (2, 3, 4, 3). */
static void map_chain(const int64_t *i, int64_t *o)
{
	o[0] = i[3];
	o[1] = 2;
	o[2] = 4 - 2 * i[1];
}

/* a (3, 4, 5) -> reshape (12, 5) -> [::3] (4, 5) -> reshape (2, 2, 5). */
static void map_chain_reshape(const int64_t *i, int64_t *o)
{
	int64_t row = 3 * (2 * i[0] + i[1]);
	unravel(3, (int64_t[]){3, 4, 5}, row * 5 + i[2], o);
}

static void test_chain(void **state)
{
	orig o = make_orig(3, (int64_t[]){3, 4, 5}, true);
	aj_array *v[5], *out = SENTINEL;
	aj_ctx *ctx = o.ctx;
	REF_OK_CTX(ctx, aj_view_permute(ctx, o.a, NULL, &v[0]));
	REF_OK_CTX(ctx,
		   aj_view_slice(ctx, v[0],
				 (aj_slice[]){{D, D, -2}, {1, 3, 1}, AJ_ALL},
				 &v[1]));
	REF_OK_CTX(ctx, aj_view_index(ctx, v[1], 1, -1, &v[2]));
	REF_OK_CTX(ctx, aj_view_expand_dims(ctx, v[2], 1, &v[3]));
	REF_OK_CTX(ctx, aj_view_broadcast(ctx, v[3], 4, (int64_t[]){2, 3, 4, 3},
					  &v[4]));
	check_view(&o, v[4], 4, (int64_t[]){2, 3, 4, 3}, map_chain);
	expect_fail(ctx,
		    aj_view_reshape(ctx, v[4], 2, (int64_t[]){6, 12}, &out),
		    AJ_ERR_LAYOUT, &out, "aj_view_reshape");
	for (int k = 0; k < 5; k++)
		aj_array_free(v[k]);
	REF_OK_CTX(ctx,
		   aj_view_reshape(ctx, o.a, 2, (int64_t[]){12, 5}, &v[0]));
	REF_OK_CTX(ctx, aj_view_slice(ctx, v[0],
				      (aj_slice[]){{D, D, 3}, AJ_ALL}, &v[1]));
	REF_OK_CTX(ctx,
		   aj_view_reshape(ctx, v[1], 3, (int64_t[]){2, 2, 5}, &v[2]));
	check_strides(v[2], 3, (int64_t[]){240, 120, 8});
	check_view(&o, v[2], 3, (int64_t[]){2, 2, 5}, map_chain_reshape);
	for (int k = 0; k < 3; k++)
		aj_array_free(v[k]);
	free_orig(&o);
}

/* Views keep owned memory alive after their parent is freed. */
static void test_lifetime(void **state)
{
	aj_ctx *ctx = new_ctx();
	aj_array *a, *v, *t;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_INT64, 2, (int64_t[]){3, 4}, &a));
	for (int64_t l = 0; l < 12; l++)
		((int64_t *)aj_array_data(a))[l] = l;
	REF_OK_CTX(ctx, aj_view_slice(ctx, a,
				      (aj_slice[]){{1, D, 1}, {D, D, -1}}, &v));
	REF_OK_CTX(ctx, aj_view_permute(ctx, v, NULL, &t));
	aj_array_free(a);
	for (int64_t i = 0; i < 2; i++)
		for (int64_t j = 0; j < 4; j++)
			assert_int_equal(elem(v, (int64_t[]){i, j}),
					 (1 + i) * 4 + 3 - j);
	*(int64_t *)aj_array_data(v) = 99;
	aj_array_free(v);
	assert_int_equal(elem(t, (int64_t[]){0, 0}), 99);
	assert_int_equal(elem(t, (int64_t[]){3, 1}), 8);
	aj_array_free(t);
	aj_ctx_free(ctx);
}

static void test_extent(void **state)
{
	orig o = make_orig(2, (int64_t[]){3, 4}, true);
	aj_array *v;
	char *first, *last, *p = (char *)o.mem;
	assert_true(aj_array_extent(o.a, &first, &last));
	assert_ptr_equal(first, p);
	assert_ptr_equal(last, p + 95);
	/* a[::-1, 1::2]: rows 2..0, columns 1 and 3. */
	REF_OK_CTX(
	    o.ctx,
	    aj_view_slice(o.ctx, o.a, (aj_slice[]){{D, D, -1}, {1, D, 2}}, &v));
	assert_true(aj_array_extent(v, &first, &last));
	assert_ptr_equal(first, p + 8);
	assert_ptr_equal(last, p + (2 * 4 + 3) * 8 + 7);
	aj_array_free(v);
	free_orig(&o);
}

/* Views of an empty array never point outside its buffer. */
static void test_empty_views(void **state)
{
	orig o = make_orig(3, (int64_t[]){3, 0, 2}, true);
	aj_array *v[5];
	aj_ctx *ctx = o.ctx;
	REF_OK_CTX(ctx,
		   aj_view_slice(ctx, o.a,
				 (aj_slice[]){{2, D, 1}, AJ_ALL, {D, D, -1}},
				 &v[0]));
	REF_OK_CTX(ctx, aj_view_index(ctx, o.a, 0, -1, &v[1]));
	REF_OK_CTX(ctx, aj_view_permute(ctx, o.a, NULL, &v[2]));
	REF_OK_CTX(ctx,
		   aj_view_reshape(ctx, v[0], 2, (int64_t[]){0, 5}, &v[3]));
	REF_OK_CTX(
	    ctx, aj_view_broadcast(ctx, v[1], 3, (int64_t[]){4, 0, 2}, &v[4]));
	for (int k = 0; k < 5; k++) {
		check_empty_in_bounds(v[k]);
		aj_array_free(v[k]);
	}
	aj_array *out = SENTINEL;
	expect_fail(ctx, aj_view_index(ctx, o.a, 1, 0, &out), AJ_ERR_BOUNDS,
		    &out, "aj_view_index");
	free_orig(&o);
}

static void test_view_null_args(void **state)
{
	orig o = make_orig(2, (int64_t[]){2, 3}, false);
	aj_array *out = SENTINEL;
	aj_ctx *ctx = o.ctx;
	aj_slice s[] = {AJ_ALL, AJ_ALL};
	int64_t sh[] = {3, 2};
	expect_fail(NULL, aj_view_slice(NULL, o.a, s, &out), AJ_ERR_ARG, &out,
		    NULL);
	expect_fail(ctx, aj_view_slice(ctx, NULL, s, &out), AJ_ERR_ARG, &out,
		    "aj_view_slice");
	assert_int_equal(aj_view_slice(ctx, o.a, s, NULL), AJ_ERR_ARG);
	expect_fail(ctx, aj_view_index(ctx, NULL, 0, 0, &out), AJ_ERR_ARG, &out,
		    "aj_view_index");
	expect_fail(ctx, aj_view_permute(ctx, NULL, NULL, &out), AJ_ERR_ARG,
		    &out, "aj_view_permute");
	expect_fail(ctx, aj_view_reshape(ctx, NULL, 2, sh, &out), AJ_ERR_ARG,
		    &out, "aj_view_reshape");
	expect_fail(ctx, aj_view_broadcast(ctx, NULL, 2, sh, &out), AJ_ERR_ARG,
		    &out, "aj_view_broadcast");
	expect_fail(ctx, aj_view_expand_dims(ctx, NULL, 0, &out), AJ_ERR_ARG,
		    &out, "aj_view_expand_dims");
	expect_fail(NULL, aj_view_expand_dims(NULL, o.a, 0, &out), AJ_ERR_ARG,
		    &out, NULL);
	assert_int_equal(aj_view_reshape(ctx, o.a, 2, sh, NULL), AJ_ERR_ARG);
	free_orig(&o);
}

/* A failed handle allocation leaves *out alone and leaks nothing. */
static void test_view_nomem(void **state)
{
	orig o = make_orig(2, (int64_t[]){2, 3}, false);
	aj_array *out = SENTINEL;
	aj_alloc_fail_after(1);
	expect_fail(o.ctx, aj_view_permute(o.ctx, o.a, NULL, &out),
		    AJ_ERR_NOMEM, &out, NULL);
	aj_alloc_fail_after(1);
	expect_fail(o.ctx, aj_view_expand_dims(o.ctx, o.a, 0, &out),
		    AJ_ERR_NOMEM, &out, NULL);
	aj_alloc_fail_after(0);
	free_orig(&o);
}

/* Buffers of 64 KiB or more are reused after their array is freed (zeroed
 * again for aj_array_new), within a factor of two of the request; from 2
 * MiB on they are 2 MiB aligned (huge pages advised); small ones are
 * never pooled; an array may outlive its context. */
static void test_buffer_pool(void **state)
{
	(void)state;
	aj_ctx *ctx;
	REF_OK_CTX(NULL, aj_ctx_new(&ctx));
	aj_stats s0, s1;
	aj_ctx_stats(ctx, &s0);
	int64_t n = 1 << 17; /* 1 MiB of float64 */
	aj_array *a, *b, *c, *small;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &a));
	void *mem = aj_array_data(a);
	memset(mem, 0xab, (size_t)n * 8);
	aj_array_free(a);
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &b));
	assert_ptr_equal(aj_array_data(b), mem);
	for (int64_t k = 0; k < n; k++)
		assert_true(((double *)aj_array_data(b))[k] == 0);
	aj_ctx_stats(ctx, &s1);
	assert_int_equal(s1.buffers_reused - s0.buffers_reused, 1);
	/* a request under half an idle buffer's size takes fresh memory */
	int64_t quarter = n / 4;
	aj_array_free(b);
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &quarter, &c));
	assert_ptr_not_equal(aj_array_data(c), mem);
	aj_array_free(c);
	aj_ctx_stats(ctx, &s0);
	assert_int_equal(s0.buffers_reused, s1.buffers_reused);
	/* small arrays are plain allocations */
	int64_t few = 100;
	for (int k = 0; k < 3; k++) {
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &few, &small));
		aj_array_free(small);
	}
	aj_ctx_stats(ctx, &s1);
	assert_int_equal(s1.buffers_reused, s0.buffers_reused);
	/* huge: 2 MiB aligned */
	int64_t big = 3 << 19; /* 12 MiB */
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &big, &a));
	assert_int_equal((uintptr_t)aj_array_data(a) % (2 << 20), 0);
	/* a view keeps the buffer; the array outlives its context */
	aj_array *v;
	aj_slice half = {0, big / 2, 1};
	REF_OK_CTX(ctx, aj_view_slice(ctx, a, &half, &v));
	aj_array_free(a);
	aj_ctx_free(ctx);
	((double *)aj_array_data(v))[big / 2 - 1] = 1;
	aj_array_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_basics),
	    cmocka_unit_test(test_wrap_basics),
	    cmocka_unit_test(test_wrap_errors),
	    cmocka_unit_test(test_wrap_bounds),
	    cmocka_unit_test(test_new_errors),
	    cmocka_unit_test(test_slice_table),
	    cmocka_unit_test(test_slice_random),
	    cmocka_unit_test(test_slice_hand),
	    cmocka_unit_test(test_index),
	    cmocka_unit_test(test_permute),
	    cmocka_unit_test(test_reshape_strided),
	    cmocka_unit_test(test_reshape_transposed),
	    cmocka_unit_test(test_reshape_special),
	    cmocka_unit_test(test_reshape_errors),
	    cmocka_unit_test(test_broadcast),
	    cmocka_unit_test(test_broadcast_errors),
	    cmocka_unit_test(test_expand_dims),
	    cmocka_unit_test(test_expand_to_max),
	    cmocka_unit_test(test_flip),
	    cmocka_unit_test(test_squeeze),
	    cmocka_unit_test(test_moveaxis),
	    cmocka_unit_test(test_diagonal_2d),
	    cmocka_unit_test(test_diagonal_3d),
	    cmocka_unit_test(test_ravel),
	    cmocka_unit_test(test_more_views_edges),
	    cmocka_unit_test(test_more_views_null_args),
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_lifetime),
	    cmocka_unit_test(test_extent),
	    cmocka_unit_test(test_empty_views),
	    cmocka_unit_test(test_view_null_args),
	    cmocka_unit_test(test_view_nomem),
	    cmocka_unit_test(test_buffer_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
