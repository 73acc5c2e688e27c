/*
 * aj_exec and namespaces: programs of statements over small arrays, each
 * result compared with the same computation written in C, and every error
 * path with its line, column and the program's state afterwards (nothing
 * of the failed call pending, bindings as before).
 */
#include "ref.h"

#include "alloc.h"
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R 4
#define C 5

typedef struct fixture {
	aj_ctx *ctx;
	aj_prog *p;
	aj_names *ns;
	aj_array *a, *b; /* float64 R x C, inputs */
	aj_array *c, *d; /* float64 R x C, outputs (zero) */
	aj_array *x;	 /* float64 R x C, holds A; written in place */
	aj_array *i;	 /* int64 R x C */
	aj_array *v;	 /* float64 R, zero */
	aj_array *w;	 /* float64 R, doesn't broadcast with R x C */
	aj_array *q;	 /* float64 R x R */
	aj_array *f;	 /* float32 C */
} fixture;

/* Exact binary fractions, so sums and products below are exact. */
static double A(int r, int c)
{
	return 0.25 * (r * C + c) - 2;
}

static double B(int r, int c)
{
	return 1 + 0.5 * ((r + 2 * c) % 7);
}

static int64_t I(int r, int c)
{
	return r * C + c - 7;
}

/* ---- fixture ---- */

/* Element (r, c) of a 0-, 1- or 2-d array (missing indices ignored). */
static void *elem(aj_array *x, int r, int c)
{
	const int64_t *st = aj_array_strides(x);
	int nd = aj_array_ndim(x);
	char *p = aj_array_data(x);
	if (nd == 1)
		return p + r * st[0];
	if (nd == 2)
		return p + r * st[0] + c * st[1];
	return p;
}

static double at(aj_array *x, int r, int c)
{
	return *(double *)elem(x, r, c);
}

static aj_array *new_array(fixture *fx, aj_dtype t, int nd, int64_t n0,
			   int64_t n1)
{
	int64_t shape[2] = {n0, n1};
	aj_array *x;
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, t, nd, shape, &x));
	return x;
}

static void fill(fixture *fx)
{
	for (int r = 0; r < R; r++) {
		for (int c = 0; c < C; c++) {
			*(double *)elem(fx->a, r, c) = A(r, c);
			*(double *)elem(fx->b, r, c) = B(r, c);
			*(double *)elem(fx->x, r, c) = A(r, c);
			*(int64_t *)elem(fx->i, r, c) = I(r, c);
		}
		for (int c = 0; c < R; c++)
			*(double *)elem(fx->q, r, c) = A(r, c);
	}
}

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	REF_OK_CTX(NULL, aj_ctx_new(&fx->ctx));
	REF_OK_CTX(fx->ctx, aj_prog_new(fx->ctx, &fx->p));
	REF_OK_PROG(fx->p, aj_names_new(fx->p, &fx->ns));
	struct {
		const char *name;
		aj_array **slot;
		aj_dtype t;
		int nd;
		int64_t n0, n1;
	} in[] = {
	    {"a", &fx->a, AJ_FLOAT64, 2, R, C},
	    {"b", &fx->b, AJ_FLOAT64, 2, R, C},
	    {"c", &fx->c, AJ_FLOAT64, 2, R, C},
	    {"d", &fx->d, AJ_FLOAT64, 2, R, C},
	    {"x", &fx->x, AJ_FLOAT64, 2, R, C},
	    {"i", &fx->i, AJ_INT64, 2, R, C},
	    {"v", &fx->v, AJ_FLOAT64, 1, R, 0},
	    {"w", &fx->w, AJ_FLOAT64, 1, R, 0},
	    {"q", &fx->q, AJ_FLOAT64, 2, R, R},
	    {"f", &fx->f, AJ_FLOAT32, 1, C, 0},
	};
	for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
		*in[k].slot =
		    new_array(fx, in[k].t, in[k].nd, in[k].n0, in[k].n1);
		REF_OK_PROG(
		    fx->p, aj_names_set_array(fx->ns, in[k].name, *in[k].slot));
	}
	fill(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	aj_names_free(fx->ns);
	aj_prog_free(fx->p);
	aj_array *all[] = {fx->a, fx->b, fx->c, fx->d, fx->x,
			   fx->i, fx->v, fx->w, fx->q, fx->f};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		aj_array_free(all[k]);
	aj_ctx_free(fx->ctx);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

static void run(fixture *fx, const char *text)
{
	REF_OK_PROG(fx->p, aj_exec(fx->ns, text, NULL));
}

static void sync_ok(fixture *fx)
{
	REF_OK_PROG(fx->p, aj_sync(fx->p));
}

/* Expects x == want(r, c) exactly over R x C. */
static void check2(aj_array *x, double (*want)(int, int), const char *what)
{
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			if (at(x, r, c) != want(r, c)) {
				print_error("%s: [%d, %d] is %.17g, want "
					    "%.17g\n",
					    what, r, c, at(x, r, c),
					    want(r, c));
				fail();
			}
}

static void expect_unbound(fixture *fx, const char *name)
{
	aj_array *arr;
	aj_expr e;
	assert_int_equal(aj_names_get(fx->ns, name, &arr, &e), AJ_ERR_NAME);
}

/* The value of name (bound to an expression) computed into a new array. */
static aj_array *value_of(fixture *fx, const char *name, aj_expr e)
{
	aj_array *arr = NULL;
	int64_t shape[AJ_MAX_NDIM];
	if (name)
		REF_OK_PROG(fx->p, aj_names_get(fx->ns, name, &arr, &e));
	assert_null(arr);
	int nd = aj_expr_shape(fx->p, e, shape);
	assert_true(nd >= 0);
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, aj_expr_dtype(fx->p, e), nd,
					 shape, &arr));
	REF_OK_PROG(fx->p, aj_assign(fx->p, arr, e));
	sync_ok(fx);
	return arr;
}

/* ---- statements ---- */

static double w_ab1(int r, int c)
{
	return A(r, c) * B(r, c) + 1;
}
static double w_ab2(int r, int c)
{
	return A(r, c) * B(r, c) * 2;
}

/* Intermediates are lazy: two assignments, one sync, one kernel with two
 * outputs that reads a and b once (fusion rule 5). */
static void test_intermediates(void **state)
{
	fixture *fx = *state;
	aj_stats before, after;
	run(fx, "t = a*b; c = t + 1; d = t*2");
	assert_int_equal(fx->p->npending, 2);
	aj_array *arr = fx->a;
	aj_expr t;
	REF_OK_PROG(fx->p, aj_names_get(fx->ns, "t", &arr, &t));
	assert_null(arr);
	assert_int_equal(aj_expr_shape(fx->p, t, NULL), 2);
	aj_ctx_stats(fx->ctx, &before);
	sync_ok(fx);
	aj_ctx_stats(fx->ctx, &after);
	assert_int_equal(after.kernels_run - before.kernels_run, 1);
	check2(fx->c, w_ab1, "c");
	check2(fx->d, w_ab2, "d");
}

/* Python's floor division and modulo, which NumPy's follow. */
static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t pymod(int64_t a, int64_t b)
{
	int64_t r = a % b;
	return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

static double pyfmod(double a, double b)
{
	double r = fmod(a, b);
	return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

static double w_aug(int r, int c)
{
	double x = A(r, c);
	x += 1;
	x -= B(r, c);
	x *= 3;
	x /= 2;
	x = floor(x);
	x = pyfmod(x, 5);
	return x * x;
}

static void test_augmented_float(void **state)
{
	fixture *fx = *state;
	run(fx, "x += 1\nx -= b\nx *= 3\nx /= 2\nx //= 1\nx %= 5\nx **= 2");
	assert_int_equal(fx->p->npending, 7);
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(ref_ulp64(at(fx->x, r, c), w_aug(r, c)) <=
				    1);
}

static int64_t w_iaug(int r, int c)
{
	int64_t x = I(r, c);
	x += 3;
	x *= 2;
	x = floordiv(x, 3);
	x = pymod(x, 7);
	x -= 1;
	x = x * x * x;
	x &= 12;
	x |= 1;
	x ^= 5;
	x <<= 2;
	return x >> 1;
}

static void test_augmented_int(void **state)
{
	fixture *fx = *state;
	run(fx, "i += 3; i *= 2; i //= 3; i %= 7; i -= 1; i **= 3; i &= 12; "
		"i |= 1; i ^= 5; i <<= 2; i >>= 1");
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_int_equal(*(int64_t *)elem(fx->i, r, c),
					 w_iaug(r, c));
	/* On a name bound to an expression, op= rebinds it. */
	run(fx, "t = a; t *= 2; t -= 1; c = t");
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->c, r, c) == 2 * A(r, c) - 1);
}

/* ---- subscripts ---- */

/* A subscripted read: its shape and, per output index, A's element. */
typedef struct read_case {
	const char *text;
	int nd;
	int64_t shape[3];
	/* the expected value at output index (i, j, k) */
	double (*want)(int i, int j, int k);
} read_case;

#define W(name, expr)                                                          \
	static double name(int i, int j, int k)                                \
	{                                                                      \
		(void)i, (void)j, (void)k;                                     \
		return expr;                                                   \
	}
W(r_rows_rev, A(i + 1, 4 - j))
W(r_neg, A(i + 1, j + 1))
W(r_step2, A(3 - 2 * i, 4 - 2 * j))
W(r_row2, A(2, i))
W(r_last_row, A(3, i + 1))
W(r_col0, A(i, 0))
W(r_none_first, A(j, 3))
W(r_none_mid, A(i, k))
W(r_t, A(j, i))
W(r_t_sliced, A(j + 1, i))
W(r_all, A(i, j))
W(r_diff, A(i + 1, j) - A(i, j))
W(r_sum_even, A(i, 0) + A(i, 2) + A(i, 4))
W(r_ab_slices, A(i + 2, j) * B(i, 4 - j))
#undef W

static const read_case read_cases[] = {
    {"a[1:, ::-1]", 2, {3, 5}, r_rows_rev},
    {"a[-3:-1, 1:4]", 2, {2, 3}, r_neg},
    {"a[::-2, -1::-2]", 2, {2, 3}, r_step2},
    {"a[2]", 1, {5}, r_row2},
    {"a[-1, 1:]", 1, {4}, r_last_row},
    {"a[..., 0]", 1, {4}, r_col0},
    {"a[None, :, 3]", 2, {1, 4}, r_none_first},
    {"a[:, None]", 3, {4, 1, 5}, r_none_mid},
    {"a.T", 2, {5, 4}, r_t},
    {"a[1:3].T", 2, {5, 2}, r_t_sliced},
    {"a.T[0]", 1, {4}, r_col0},
    {"a[...]", 2, {4, 5}, r_all},
    {"a[:]", 2, {4, 5}, r_all},
    {"a[2, ...]", 1, {5}, r_row2},
    {"a[2,]", 1, {5}, r_row2},
    {"a[+2, -5:]", 1, {5}, r_row2},
    {"a[1:] - a[:-1]", 2, {3, 5}, r_diff},
    {"sum(a[:, ::2], axis=1)", 1, {4}, r_sum_even},
    {"a[2:] * b[:2, ::-1]", 2, {2, 5}, r_ab_slices},
    {"a[:, 10:]", 2, {4, 0}, r_all},
    {"a[3:1]", 2, {0, 5}, r_all},
};

static void check_read(fixture *fx, const read_case *rc)
{
	char text[64];
	int64_t shape[AJ_MAX_NDIM];
	snprintf(text, sizeof text, "y = %s", rc->text);
	run(fx, text);
	aj_array *y = value_of(fx, "y", AJ_EXPR_NONE);
	int nd = aj_array_ndim(y);
	memcpy(shape, aj_array_shape(y), nd * sizeof *shape);
	if (nd != rc->nd || memcmp(shape, rc->shape, nd * sizeof *shape) != 0) {
		print_error("%s: ndim %d, shape[0] %lld\n", rc->text, nd,
			    (long long)shape[0]);
		fail();
	}
	int64_t n0 = nd > 0 ? shape[0] : 1, n1 = nd > 1 ? shape[1] : 1,
		n2 = nd > 2 ? shape[2] : 1;
	const int64_t *st = aj_array_strides(y);
	for (int i = 0; i < n0; i++)
		for (int j = 0; j < n1; j++)
			for (int k = 0; k < n2; k++) {
				char *p = aj_array_data(y);
				p += (nd > 0 ? i * st[0] : 0) +
				     (nd > 1 ? j * st[1] : 0) +
				     (nd > 2 ? k * st[2] : 0);
				double got = *(double *)p;
				if (got != rc->want(i, j, k)) {
					print_error("%s: [%d, %d, %d] is %g, "
						    "want %g\n",
						    rc->text, i, j, k, got,
						    rc->want(i, j, k));
					fail();
				}
			}
	aj_array_free(y);
}

static void test_subscript_reads(void **state)
{
	fixture *fx = *state;
	for (size_t k = 0; k < sizeof read_cases / sizeof read_cases[0]; k++)
		check_read(fx, &read_cases[k]);
}

/* A subscripted assignment into x (which starts as A), against the same
 * update of a C copy. */
typedef struct write_case {
	const char *text;
	void (*apply)(double x[R][C]);
} write_case;

static void w_zero_cols(double x[R][C])
{
	for (int r = 1; r < R; r++)
		for (int c = 0; c < C; c += 2)
			x[r][c] = 0;
}
static void w_row_from_b(double x[R][C])
{
	for (int c = 0; c < C; c++)
		x[0][c] = B(1, c);
}
static void w_last_col(double x[R][C])
{
	for (int r = 0; r < R; r++)
		x[r][C - 1] += 10;
}
static void w_rev_col(double x[R][C])
{
	for (int r = 0; r < R; r++)
		x[R - 1 - r][1] = A(r, 0);
}
/* NumPy copies an overlapping right-hand side first. */
static void w_shift(double x[R][C])
{
	for (int r = R - 1; r > 0; r--)
		for (int c = 0; c < C; c++)
			x[r][c] = x[r - 1][c];
}
static void w_mirror(double x[R][C])
{
	double old[R][C];
	memcpy(old, x, sizeof old);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			x[r][c] = old[r][C - 1 - c];
}
static void w_none_target(double x[R][C])
{
	x[2][1] = x[2][2] = 7;
}
static void w_tt(double x[R][C])
{
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			x[r][c] += 1;
}
static void w_all3(double x[R][C])
{
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			x[r][c] = 3;
}
static void w_rowsum(double x[R][C])
{
	for (int r = 0; r < R; r++) {
		double s = 0;
		for (int c = 0; c < C; c++)
			s += x[r][c];
		x[r][0] = s;
	}
}

static const write_case write_cases[] = {
    {"x[1:, ::2] = 0", w_zero_cols},
    {"x[0] = b[1]", w_row_from_b},
    {"x[..., -1] += 10", w_last_col},
    {"x[::-1, 1] = a[:, 0]", w_rev_col},
    {"x[1:] = x[:-1]", w_shift},
    {"x[:, ::-1] = x", w_mirror},
    {"x[2:3, None, 1:3] = 7", w_none_target},
    {"x = x.T.T + 1", w_tt},
    {"x[:] = 3", w_all3},
    {"x[:, 0] = sum(x, axis=1)", w_rowsum},
};

static void test_subscript_writes(void **state)
{
	fixture *fx = *state;
	for (size_t k = 0; k < sizeof write_cases / sizeof write_cases[0];
	     k++) {
		double want[R][C];
		fill(fx);
		for (int r = 0; r < R; r++)
			for (int c = 0; c < C; c++)
				want[r][c] = A(r, c);
		write_cases[k].apply(want);
		run(fx, write_cases[k].text);
		sync_ok(fx);
		for (int r = 0; r < R; r++)
			for (int c = 0; c < C; c++)
				if (at(fx->x, r, c) != want[r][c]) {
					print_error("%s: [%d, %d] is %g, want "
						    "%g\n",
						    write_cases[k].text, r, c,
						    at(fx->x, r, c),
						    want[r][c]);
					fail();
				}
	}
}

/* q = q.T on a square array: the copy makes it a true transpose. */
static void test_transpose_in_place(void **state)
{
	fixture *fx = *state;
	run(fx, "q = q.T");
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < R; c++)
			assert_true(at(fx->q, r, c) == A(c, r));
}

/* ---- order of assignments ---- */

static double w_inc2(int r, int c)
{
	return (A(r, c) + 1) * 2;
}
static double w_inc(int r, int c)
{
	return A(r, c) + 1;
}

/* A statement reads the value earlier statements assigned. */
static void test_reads_see_assignments(void **state)
{
	fixture *fx = *state;
	run(fx, "x = x + 1; d = x * 2");
	/* in place: no temporary was needed */
	assert_int_equal(fx->p->npending, 2);
	sync_ok(fx);
	check2(fx->x, w_inc, "x");
	check2(fx->d, w_inc2, "d");

	fill(fx);
	run(fx, "x[1:] = 0; d = x + 1");
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->d, r, c) == (r ? 1 : A(r, c) + 1));
}

static double w_2a1(int r, int c)
{
	return 2 * A(r, c) + 1;
}
static double w_6a(int r, int c)
{
	return 6 * A(r, c);
}

/* A lazy value keeps the value it had when it was bound. */
static void test_lazy_values_kept(void **state)
{
	fixture *fx = *state;
	run(fx, "t = x * 2; x = 0; c = t + 1");
	sync_ok(fx);
	check2(fx->c, w_2a1, "c");
	for (int r = 0; r < R; r++)
		assert_true(at(fx->x, r, 0) == 0);

	fill(fx);
	run(fx, "t = x[0] + 0; x[0] = 5; c = x + t");
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->c, r, c) ==
				    A(0, c) + (r ? A(r, c) : 5));

	fill(fx);
	run(fx, "t = x * 3; u = t; x = 1; c = t + u");
	sync_ok(fx);
	check2(fx->c, w_6a, "c");

	/* across calls, before a sync */
	fill(fx);
	run(fx, "t = x * 3");
	run(fx, "x = 0");
	run(fx, "c = t * 2");
	sync_ok(fx);
	check2(fx->c, w_6a, "c");

	/* the last value too */
	fill(fx);
	aj_expr last;
	REF_OK_PROG(fx->p, aj_exec(fx->ns, "x + 1; x[2] = -1", &last));
	REF_OK_PROG(fx->p, aj_assign(fx->p, fx->c, last));
	sync_ok(fx);
	check2(fx->c, w_inc, "last");
}

/* ---- reductions, last values, scalars ---- */

static void test_reductions(void **state)
{
	fixture *fx = *state;
	run(fx, "s = sum(a*b, axis=1); v = s * 2\n"
		"m = mean(a, axis=0, keepdims=True); c = a - m");
	sync_ok(fx);
	for (int r = 0; r < R; r++) {
		double s = 0;
		for (int c = 0; c < C; c++)
			s += A(r, c) * B(r, c);
		assert_true(at(fx->v, r, 0) == 2 * s);
	}
	for (int c = 0; c < C; c++) {
		double m = 0;
		for (int r = 0; r < R; r++)
			m += A(r, c);
		for (int r = 0; r < R; r++)
			assert_true(at(fx->c, r, c) == A(r, c) - m / R);
	}
}

static double w_ab_2(int r, int c)
{
	return (A(r, c) + B(r, c)) * 2;
}
static double w_apb(int r, int c)
{
	return A(r, c) + B(r, c);
}

static void check_last(fixture *fx, const char *text, double (*want)(int, int))
{
	aj_expr last;
	REF_OK_PROG(fx->p, aj_exec(fx->ns, text, &last));
	aj_array *y = value_of(fx, NULL, last);
	check2(y, want, text);
	aj_array_free(y);
}

static void test_last_value(void **state)
{
	fixture *fx = *state;
	aj_expr last = {12345};
	check_last(fx, "t = a + b\nt * 2\n", w_ab_2);
	check_last(fx, "(a +\n b)", w_apb);
	check_last(fx, "t = a\r\n\r\nt + 1\r\n", w_inc);
	check_last(fx, "a + 1; c = b", w_inc);
	REF_OK_PROG(fx->p, aj_exec(fx->ns, "c = a", &last));
	assert_int_equal(last.id, AJ_EXPR_NONE.id);
	last.id = 12345;
	REF_OK_PROG(fx->p, aj_exec(fx->ns, "", &last));
	assert_int_equal(last.id, AJ_EXPR_NONE.id);
	REF_OK_PROG(fx->p, aj_exec(fx->ns, " ;\n\n ; ;", &last));
	assert_int_equal(last.id, AJ_EXPR_NONE.id);
	REF_OK_PROG(fx->p, aj_exec(fx->ns, "1 + 2", &last));
	assert_int_equal(aj_expr_dtype(fx->p, last), AJ_INT64);
	assert_int_equal(aj_expr_shape(fx->p, last, NULL), 0);
	sync_ok(fx);
}

static double w_scalars(int r, int c)
{
	return A(r, c) * 2.5 + 3;
}

static void test_scalars_and_names(void **state)
{
	fixture *fx = *state;
	aj_array *arr;
	aj_expr e, last;
	REF_OK_PROG(fx->p, aj_names_set_f64(fx->ns, "s", 2.5));
	REF_OK_PROG(fx->p, aj_names_set_i64(fx->ns, "k", 3));
	run(fx, "c = a * s + k");
	sync_ok(fx);
	check2(fx->c, w_scalars, "c");
	/* weak scalars: float32 stays float32 */
	REF_OK_PROG(fx->p, aj_exec(fx->ns, "f * s + k", &last));
	assert_int_equal(aj_expr_dtype(fx->p, last), AJ_FLOAT32);
	REF_OK_PROG(fx->p, aj_names_get(fx->ns, "s", &arr, &e));
	assert_null(arr);
	assert_int_equal(aj_expr_dtype(fx->p, e), AJ_FLOAT64);
	REF_OK_PROG(fx->p, aj_names_get(fx->ns, "k", NULL, &e));
	assert_int_equal(aj_expr_dtype(fx->p, e), AJ_INT64);
	REF_OK_PROG(fx->p, aj_names_get(fx->ns, "a", &arr, &e));
	assert_ptr_equal(arr, fx->a);
	assert_int_equal(e.id, AJ_EXPR_NONE.id);
	/* a scalar name rebinds like any other non-array name */
	run(fx, "s += 1; c = a * s");
	sync_ok(fx);
	assert_true(at(fx->c, 1, 1) == A(1, 1) * 3.5);
	/* function names stay callable when bound as names */
	run(fx, "exp = a; c = exp(exp)");
	sync_ok(fx);
	assert_true(ref_ulp64(at(fx->c, 2, 3), exp(A(2, 3))) <= 1);
}

static void test_names_api_errors(void **state)
{
	fixture *fx = *state;
	aj_names *ns = fx->ns; /* non-NULL: aj_names_new must clear it */
	aj_array *arr = fx->a;
	aj_expr e = {12345};
	assert_int_equal(aj_names_new(NULL, &ns), AJ_ERR_ARG);
	assert_null(ns);
	assert_int_equal(aj_names_new(fx->p, NULL), AJ_ERR_ARG);
	assert_int_equal(aj_names_set_f64(fx->ns, "1x", 1), AJ_ERR_ARG);
	assert_int_equal(aj_names_set_f64(fx->ns, "a-b", 1), AJ_ERR_ARG);
	assert_int_equal(aj_names_set_i64(fx->ns, "True", 1), AJ_ERR_ARG);
	assert_int_equal(aj_names_set_i64(fx->ns, "", 1), AJ_ERR_ARG);
	assert_int_equal(aj_names_set_i64(fx->ns, NULL, 1), AJ_ERR_ARG);
	assert_int_equal(aj_names_set_array(fx->ns, "z", NULL), AJ_ERR_ARG);
	assert_int_equal(aj_names_set_f64(NULL, "z", 1), AJ_ERR_ARG);
	assert_int_equal(aj_names_get(fx->ns, "nosuch", &arr, &e), AJ_ERR_NAME);
	assert_null(arr);
	assert_int_equal(e.id, AJ_EXPR_NONE.id);
	assert_non_null(strstr(aj_prog_errmsg(fx->p), "nosuch"));
	assert_int_equal(aj_names_get(fx->ns, NULL, &arr, &e), AJ_ERR_ARG);
	assert_int_equal(aj_names_get(NULL, "a", &arr, &e), AJ_ERR_ARG);
	assert_int_equal(aj_exec(NULL, "a", &e), AJ_ERR_ARG);
	assert_int_equal(aj_exec(fx->ns, NULL, &e), AJ_ERR_ARG);
	aj_names_free(NULL);
	/* an earlier builder error is reported first, as aj_assign does */
	assert_int_equal(aj_leaf(fx->p, NULL).id, AJ_EXPR_NONE.id);
	assert_int_equal(aj_exec(fx->ns, "c = a", NULL), AJ_ERR_ARG);
	run(fx, "c = a");
	sync_ok(fx);
}

/* ---- errors ---- */

static const struct error_case {
	const char *text;
	aj_status status;
	int line, column;
	const char *frag;
} error_cases[] = {
    {"c = a + 1\na + b = 1", AJ_ERR_PARSE, 2, 1,
     "cannot assign to an expression"},
    {"c = 1\n1 = a", AJ_ERR_PARSE, 2, 1, "cannot assign to an expression"},
    {"c = a; a.T = b", AJ_ERR_PARSE, 1, 8, "cannot assign to an expression"},
    {"True = 1", AJ_ERR_PARSE, 1, 1, "cannot assign to True"},
    {"c = a\nc = zz + 1", AJ_ERR_NAME, 2, 5, "unknown name 'zz'"},
    {"c = a; z += 1", AJ_ERR_NAME, 1, 8, "unknown name 'z'"},
    {"z[0] = 1", AJ_ERR_NAME, 1, 1, "unknown name 'z'"},
    {"c = foo(a)", AJ_ERR_NAME, 1, 5, "unknown function 'foo'"},
    {"t = a + 1; t[0] = 1", AJ_ERR_PARSE, 1, 13,
     "a subscript of an expression cannot be assigned to ('t' is not an "
     "array)"},
    {"t = a + 1; c = t[0, 0, 0]", AJ_ERR_BOUNDS, 1, 17, "too many indices"},
    {"c = exp(a).U", AJ_ERR_PARSE, 1, 12, "expected 'T' after '.'"},
    {"c = a[0, 1, 2]", AJ_ERR_BOUNDS, 1, 6,
     "too many indices for array: array is 2-dimensional, but 3 were "
     "indexed"},
    {"c = a[1:2:3:4]", AJ_ERR_PARSE, 1, 12,
     "expected ',' or ']' to close '[' at line 1, column 6, found ':'"},
    {"c = a[1.5]", AJ_ERR_DTYPE, 1, 7,
     "only integers, slices (':'), '...', None and integer or boolean "
     "arrays are valid indices, not an array of float64"},
    {"c = a[q]", AJ_ERR_DTYPE, 1, 7, "not an array of float64"},
    {"c = a[zz]", AJ_ERR_NAME, 1, 7, "unknown name 'zz'"},
    {"c = a[-]", AJ_ERR_PARSE, 1, 8, "expected an operand, found ']'"},
    {"c = a[::0]", AJ_ERR_PARSE, 1, 9, "slice step cannot be zero"},
    {"c[..., ...] = 1", AJ_ERR_PARSE, 1, 8, "a single ellipsis"},
    {"c = a[]", AJ_ERR_PARSE, 1, 7, "expected an integer"},
    {"c = a[1", AJ_ERR_PARSE, 1, 8, "found end of program"},
    {"c = a[4]", AJ_ERR_BOUNDS, 1, 7,
     "index 4 is out of bounds for axis 0 with size 4"},
    {"c = a[0, -6]", AJ_ERR_BOUNDS, 1, 10, "index -6 is out of bounds"},
    {"c = a.x", AJ_ERR_PARSE, 1, 7, "expected 'T' after '.'"},
    {"c = a\nd = b\nc = zz * 2", AJ_ERR_NAME, 3, 5, "unknown name 'zz'"},
    {"c = a + 1\nc = a + w", AJ_ERR_SHAPE, 2, 7, "broadcast"},
    {"c = a[0:2, 0:3]", AJ_ERR_SHAPE, 1, 3, "cannot assign shape (2, 3)"},
    {"c = a; i /= 2", AJ_ERR_DTYPE, 1, 10, "same_kind"},
    {"c = sum(a, axis=5)", AJ_ERR_ARG, 1, 5, "out of bounds"},
    {"c = a b", AJ_ERR_PARSE, 1, 7,
     "expected an operator or end of statement, found 'b'"},
    {"c = ", AJ_ERR_PARSE, 1, 5, "expected an operand, found end of program"},
    {"c = a +\nd = 1", AJ_ERR_PARSE, 1, 8, "found end of line"},
    {"c = a $ b", AJ_ERR_PARSE, 1, 7, "unexpected character '$'"},
    {"c = a;;\n  d = (a;", AJ_ERR_PARSE, 2, 9, "to close '(' at line 2"},
    {"s = 1; s[0] = 2", AJ_ERR_PARSE, 1, 9, "subscript of an expression"},
};

static double w_a5(int r, int c)
{
	return A(r, c) + 5;
}

/* Runs text expecting the error; then checks that nothing of it stayed:
 * the caller's own pending work (d = a + 5) is all that runs, and the
 * names it bound are unbound again. */
static void check_error(fixture *fx, const struct error_case *ec)
{
	char prefix[48];
	aj_expr last = {12345};
	fill(fx);
	memset(aj_array_data(fx->c), 0, R * C * sizeof(double));
	REF_OK_PROG(fx->p, aj_assign(fx->p, fx->d,
				     aj_add(fx->p, aj_leaf(fx->p, fx->a),
					    aj_scalar_f64(fx->p, 5))));
	aj_status s = aj_exec(fx->ns, ec->text, &last);
	const char *msg = aj_prog_errmsg(fx->p);
	snprintf(prefix, sizeof prefix, "line %d, column %d: ", ec->line,
		 ec->column);
	if (s != ec->status || last.id != AJ_EXPR_NONE.id ||
	    strncmp(msg, prefix, strlen(prefix)) != 0 ||
	    strstr(msg, ec->frag) == NULL) {
		print_error("'%s': status %d, message '%s'; want status %d, "
			    "message '%s...%s...'\n",
			    ec->text, (int)s, msg, (int)ec->status, prefix,
			    ec->frag);
		fail();
	}
	assert_int_equal(fx->p->npending, 1);
	expect_unbound(fx, "t");
	sync_ok(fx);
	check2(fx->d, w_a5, "d");
}

static void test_errors(void **state)
{
	fixture *fx = *state;
	for (size_t k = 0; k < sizeof error_cases / sizeof error_cases[0]; k++)
		check_error(fx, &error_cases[k]);
}

static void test_nesting_and_length(void **state)
{
	fixture *fx = *state;
	/* 300 parentheses from column 5 of line 2: the 258th is one level
	 * too deep */
	size_t n = 300;
	char *text = malloc(2 * n + 16);
	assert_non_null(text);
	char *s = text + sprintf(text, "c = a\nc = ");
	memset(s, '(', n);
	s[n] = 'a';
	memset(s + n + 1, ')', n);
	s[2 * n + 1] = '\0';
	assert_int_equal(aj_exec(fx->ns, text, NULL), AJ_ERR_PARSE);
	assert_non_null(strstr(aj_prog_errmsg(fx->p),
			       "line 2, column 262: expression nested too "
			       "deeply"));
	assert_int_equal(fx->p->npending, 0);
	free(text);
	/* Statements take constant stack: 10000 of them. */
	text = malloc(10000 * 7 + 1);
	assert_non_null(text);
	for (int k = 0; k < 10000; k++)
		memcpy(text + 7 * k, "x += 1\n", 7);
	text[70000] = '\0';
	run(fx, text);
	sync_ok(fx);
	assert_true(at(fx->x, 1, 2) == A(1, 2) + 10000);
	free(text);
}

/* Names bound to expressions go stale with the sync, like any aj_expr;
 * rebinding one is fine. */
static void test_stale_names(void **state)
{
	fixture *fx = *state;
	run(fx, "t = a * 2");
	sync_ok(fx);
	assert_int_equal(aj_exec(fx->ns, "c = t", NULL), AJ_ERR_STALE);
	assert_non_null(
	    strstr(aj_prog_errmsg(fx->p), "line 1, column 5: name 't'"));
	run(fx, "t = a * 3; c = t");
	sync_ok(fx);
	assert_true(at(fx->c, 3, 4) == 3 * A(3, 4));
}

/* Views and temporaries outlive the calls that made them until the sync;
 * many rounds of both must neither leak nor free early (under ASan). */
static void test_views_across_syncs(void **state)
{
	fixture *fx = *state;
	for (int k = 0; k < 50; k++) {
		run(fx, "t = x[-1] * 1; x[1:] = x[:-1]; x[0] = t");
		run(fx, "c = x.T.T");
		sync_ok(fx);
	}
	/* 50 rotations of 4 rows bring row r back to itself after 48 */
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->c, r, c) == A((r + 2) % R, c));
}

/* Failing the nth allocation of a program: an error or success, never a
 * half-done state; once it succeeds, the values are right. */
static void test_out_of_memory(void **state)
{
	fixture *fx = *state;
	const char *text = "t = x * 2; x[1:] = x[:-1]; c = t + x[0]; u = c";
	for (uint64_t n = 1; n < 400; n++) {
		fill(fx);
		aj_alloc_fail_after(n);
		aj_status s = aj_exec(fx->ns, text, NULL);
		aj_alloc_fail_after(0);
		if (s == AJ_OK)
			break;
		assert_int_equal(s, AJ_ERR_NOMEM);
		assert_int_equal(fx->p->npending, 0);
		expect_unbound(fx, "t");
		expect_unbound(fx, "u");
		sync_ok(fx);
		assert_true(at(fx->x, 1, 0) == A(1, 0));
		assert_true(n < 399);
	}
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->c, r, c) == 2 * A(r, c) + A(0, c));
}

/* ---- groups (fusion rule 5), through aj_assign ---- */

static aj_expr L(fixture *fx, aj_array *a)
{
	return aj_leaf(fx->p, a);
}

/* Runs what is pending; returns the kernels it took. */
static uint64_t kernels_of_sync(fixture *fx)
{
	aj_stats s0, s1;
	aj_ctx_stats(fx->ctx, &s0);
	sync_ok(fx);
	aj_ctx_stats(fx->ctx, &s1);
	return s1.kernels_run - s0.kernels_run;
}

/* The fused dump of what is pending contains want. */
static void dump_has(fixture *fx, const char *want)
{
	char *t;
	REF_OK_PROG(fx->p, aj_dump(fx->p, AJ_EXPR_NONE, AJ_STAGE_FUSED, &t));
	if (!strstr(t, want))
		fail_msg("dump lacks '%s':\n%s", want, t);
	aj_string_free(t);
}

static double w_atb(int r, int c)
{
	return A(r, c) * B(r, c);
}
static double w_b(int r, int c)
{
	return B(r, c);
}
static double w_2a(int r, int c)
{
	return 2 * A(r, c);
}
static double w_b1(int r, int c)
{
	return B(r, c) + 1;
}

static double w_a1x2(int r, int c)
{
	return (A(r, c) + 1) * 2;
}

/* Assignments over one iteration space share a kernel, one output each;
 * the results are those of running them one after another. */
static void test_groups_fuse(void **state)
{
	fixture *fx = *state;
	aj_prog *p = fx->p;
	/* two outputs from the same inputs */
	REF_OK_PROG(p, aj_assign(p, fx->c, aj_add(p, L(fx, fx->a), L(fx, fx->b))));
	REF_OK_PROG(p, aj_assign(p, fx->d, aj_mul(p, L(fx, fx->a), L(fx, fx->b))));
	dump_has(fx, "group 0: out0..out1, 1 kernel, 0 bytes of temporaries; ends: end of the pending work");
	assert_int_equal(kernels_of_sync(fx), 1);
	check2(fx->c, w_apb, "c");
	check2(fx->d, w_atb, "d");
	/* a later member overwrites, at the same index, what an earlier one
	 * read: that read comes first */
	REF_OK_PROG(p, aj_assign(p, fx->c, aj_mul(p, L(fx, fx->x), aj_scalar_f64(p, 2))));
	REF_OK_PROG(p, aj_assign(p, fx->x, aj_add(p, L(fx, fx->b), aj_scalar_f64(p, 1))));
	assert_int_equal(kernels_of_sync(fx), 1);
	check2(fx->c, w_2a, "c");
	check2(fx->x, w_b1, "x");
	/* the same output twice: the later value stays, the first is never
	 * stored */
	REF_OK_PROG(p, aj_assign(p, fx->d, L(fx, fx->a)));
	REF_OK_PROG(p, aj_assign(p, fx->d, L(fx, fx->b)));
	dump_has(fx, "out0 <- ");
	assert_int_equal(kernels_of_sync(fx), 1);
	check2(fx->d, w_b, "d");
	/* d reads c where c = a + 1 writes it: forwarded the value a + 1 in
	 * the same loop; then c written again and read again */
	REF_OK_PROG(p, aj_assign(p, fx->c, aj_add(p, L(fx, fx->a), aj_scalar_f64(p, 1))));
	REF_OK_PROG(p, aj_assign(p, fx->d, aj_mul(p, L(fx, fx->c), aj_scalar_f64(p, 2))));
	REF_OK_PROG(p, aj_assign(p, fx->c, aj_mul(p, L(fx, fx->c), L(fx, fx->d))));
	REF_OK_PROG(p, aj_assign(p, fx->x, aj_sub(p, L(fx, fx->c), L(fx, fx->x))));
	dump_has(fx, "group 0: out0..out3, 1 kernel, 0 bytes of temporaries; ends: end of the pending work");
	assert_int_equal(kernels_of_sync(fx), 1);
	check2(fx->d, w_a1x2, "d");
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++) {
			double cv = (A(r, c) + 1) * w_a1x2(r, c);
			assert_true(at(fx->c, r, c) == cv);
			assert_true(at(fx->x, r, c) == cv - (B(r, c) + 1));
		}
}

/* Where running together would differ from running in order, the group
 * ends, and the dump says why. */
static void test_groups_split(void **state)
{
	fixture *fx = *state;
	aj_prog *p = fx->p;
	/* d reads c, which the earlier member writes, at other indices */
	aj_array *cr;
	aj_slice flip[2] = {{AJ_DEFAULT, AJ_DEFAULT, -1}, {AJ_DEFAULT, AJ_DEFAULT, -1}};
	REF_OK_CTX(fx->ctx, aj_view_slice(fx->ctx, fx->c, flip, &cr));
	REF_OK_PROG(p, aj_assign(p, fx->c, aj_add(p, L(fx, fx->a), aj_scalar_f64(p, 1))));
	REF_OK_PROG(p, aj_assign(p, fx->d, aj_mul(p, L(fx, cr), aj_scalar_f64(p, 2))));
	dump_has(fx, "group 0: out0..out0, 1 kernel, 0 bytes of temporaries; ends: overlap: reads an earlier output");
	assert_int_equal(kernels_of_sync(fx), 2);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->d, r, c) == w_a1x2(R - 1 - r, C - 1 - c));
	aj_array_free(cr);
	/* ... also when it reads c under a reduction: d = c + sum(c) */
	REF_OK_PROG(p, aj_assign(p, fx->c, L(fx, fx->a)));
	REF_OK_PROG(p, aj_assign(p, fx->d, aj_add(p, L(fx, fx->c),
		aj_reduce(p, AJ_OP_SUM, L(fx, fx->c), 0, NULL, false))));
	sync_ok(fx);
	double sum = 0;
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			sum += A(r, c);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->d, r, c) == A(r, c) + sum);
	/* x[::-1] written after c = x * 2 read x at other indices */
	aj_array *xr;
	aj_slice rev[2] = {{AJ_DEFAULT, AJ_DEFAULT, -1}, AJ_ALL};
	REF_OK_CTX(fx->ctx, aj_view_slice(fx->ctx, fx->x, rev, &xr));
	REF_OK_PROG(p, aj_assign(p, fx->c, aj_mul(p, L(fx, fx->x), aj_scalar_f64(p, 2))));
	REF_OK_PROG(p, aj_assign(p, xr, L(fx, fx->b)));
	dump_has(fx, "ends: overlap: writes an earlier input");
	assert_int_equal(kernels_of_sync(fx), 2);
	check2(fx->c, w_2a, "c");
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->x, R - 1 - r, c) == B(r, c));
	aj_array_free(xr);
	/* another shape */
	REF_OK_PROG(p, aj_assign(p, fx->c, L(fx, fx->a)));
	REF_OK_PROG(p, aj_assign(p, fx->v, aj_reduce(p, AJ_OP_SUM, L(fx, fx->a), 1,
						       (int[]){1}, false)));
	dump_has(fx, "ends: shape change");
	sync_ok(fx);
}

/* A reduction splits a group only where it must: s = sum(a*b); c = a / s
 * is two passes over the data (a*b fused into the sum, then the divide),
 * plus the one-element fill of the sum; s alone is a temporary. */
static void test_reduction_boundary(void **state)
{
	fixture *fx = *state;
	aj_stats s0, s1;
	aj_ctx_stats(fx->ctx, &s0);
	run(fx, "s = sum(a*b); c = a / s");
	dump_has(fx, "(reduction: its loop nest ends here, its producer fused in)");
	assert_int_equal(kernels_of_sync(fx), 3);
	aj_ctx_stats(fx->ctx, &s1);
	assert_int_equal(s1.temp_bytes - s0.temp_bytes, 8);
	double sum = 0;
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			sum += A(r, c) * B(r, c);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(fabs(at(fx->c, r, c) - A(r, c) / sum) <=
				    1e-15 * fabs(A(r, c) / sum));
}

/* Rule 6: a costly value invariant along a broadcast axis is computed
 * once per element of its own shape, in a kernel of its own; the nest
 * reads it. The values are those of the unhoisted expression. */
static void test_hoisting(void **state)
{
	fixture *fx = *state;
	aj_prog *p = fx->p;
	enum { M = 64, N = 256 };
	int64_t n = N, mn[2] = {M, N}, m1[2] = {M, 1};
	aj_array *x, *y, *r, *s, *t, *col;
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, 1, &n, &x));
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, 2, mn, &y));
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, 2, mn, &r));
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, 1, &n, &s));
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, 1, &n, &t));
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, 2, m1, &col));
	double *xd = aj_array_data(x), *yd = aj_array_data(y), *rd = aj_array_data(r);
	double *sd = aj_array_data(s), *td = aj_array_data(t), *cd = aj_array_data(col);
	uint64_t st = 3;
	for (int j = 0; j < N; j++)
		xd[j] = ref_uniform(&st, -2, 2);
	for (int i = 0; i < M * N; i++)
		yd[i] = ref_uniform(&st, -2, 2);
	for (int i = 0; i < M; i++)
		cd[i] = ref_uniform(&st, -2, 2);
	/* the reference: sin(x**2) alone, in its own nest */
	REF_OK_PROG(p, aj_assign(p, s, aj_unary(p, AJ_OP_SIN, aj_unary(p, AJ_OP_SQUARE,
									 L(fx, x)))));
	sync_ok(fx);
	aj_stats s0, s1;
	aj_ctx_stats(fx->ctx, &s0);
	aj_expr sx = aj_unary(p, AJ_OP_SIN, aj_unary(p, AJ_OP_SQUARE, L(fx, x)));
	REF_OK_PROG(p, aj_assign(p, r, aj_mul(p, sx, L(fx, y))));
	dump_has(fx, "hoisted: invariant along a broadcast axis");
	sync_ok(fx);
	aj_ctx_stats(fx->ctx, &s1);
	assert_int_equal(s1.kernels_run - s0.kernels_run, 2);
	assert_int_equal(s1.temp_bytes - s0.temp_bytes, N * 8);
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++)
			assert_true(rd[i * N + j] == sd[j] * yd[i * N + j]);
	/* under a reduction: t = sum(exp(x) * y, axis=0) hoists exp(x) */
	aj_expr e = aj_mul(p, aj_unary(p, AJ_OP_EXP, L(fx, x)), L(fx, y));
	REF_OK_PROG(p, aj_assign(p, t, aj_reduce(p, AJ_OP_SUM, e, 1, (int[]){0}, false)));
	dump_has(fx, "hoisted");
	REF_OK_PROG(p, aj_assign(p, s, aj_unary(p, AJ_OP_EXP, L(fx, x))));
	sync_ok(fx);
	for (int j = 0; j < N; j++) {
		double want = 0;
		for (int i = 0; i < M; i++)
			want += sd[j] * yd[i * N + j];
		assert_true(fabs(td[j] - want) <= 1e-12 * M * fabs(sd[j]) * 4);
	}
	/* invariant along the last axis: the code generator's business */
	aj_ctx_stats(fx->ctx, &s0);
	REF_OK_PROG(p, aj_assign(p, r, aj_mul(p, aj_unary(p, AJ_OP_SIN, L(fx, col)),
					      L(fx, y))));
	sync_ok(fx);
	aj_ctx_stats(fx->ctx, &s1);
	assert_int_equal(s1.kernels_run - s0.kernels_run, 1);
	aj_array *all[] = {x, y, r, s, t, col};
	for (int k = 0; k < 6; k++)
		aj_array_free(all[k]);
}

/* ---- texts run again without parsing (program.c) ---- */

static uint64_t unparsed(fixture *fx)
{
	aj_stats st;
	aj_ctx_stats(fx->ctx, &st);
	return st.texts_unparsed;
}

/* Runs text and syncs; whether it ran unparsed. */
static bool run_sync(fixture *fx, const char *text)
{
	uint64_t n = unparsed(fx);
	run(fx, text);
	sync_ok(fx);
	return unparsed(fx) == n + 1;
}

/* Every element of x equals k * B(r, c) + add. */
static void check_b(aj_array *x, double k, double add)
{
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(x, r, c) == k * B(r, c) + add);
}

/* A text whose sync replayed a plan runs unparsed from then on, each
 * run with the values parsing gives: in place, and two texts sharing one
 * plan (the same work but for their literals) in turn. */
static void test_unparsed_values(void **state)
{
	fixture *fx = *state;
	int skipped = 0;
	for (int k = 1; k <= 6; k++) {
		skipped += run_sync(fx, "x[:] = x + 1");
		for (int r = 0; r < R; r++)
			for (int c = 0; c < C; c++)
				assert_true(at(fx->x, r, c) == A(r, c) + k);
	}
	assert_int_equal(skipped, 3); /* plan kept at 2, replayed at 3 */
	skipped = 0;
	for (int k = 0; k < 6; k++) {
		skipped += run_sync(fx, "c = b * 2");
		check_b(fx->c, 2, 0);
		skipped += run_sync(fx, "c = b * 3");
		check_b(fx->c, 3, 0);
	}
	assert_int_equal(skipped, 8); /* one plan, kept at the 2nd sync */
}

/* Other work built between a deferred text and its sync runs after it;
 * a binding changed before the sync leaves the text reading the old one,
 * and the next run the new one; numbers rebound take their new value. */
static void test_unparsed_order(void **state)
{
	fixture *fx = *state;
	while (!run_sync(fx, "c = b * 2"))
		;
	uint64_t n = unparsed(fx);
	run(fx, "c = b * 2");
	assert_int_equal(unparsed(fx), n + 1); /* deferred */
	aj_expr twice = aj_mul(fx->p, aj_leaf(fx->p, fx->c), aj_scalar_f64(fx->p, 2));
	REF_OK_PROG(fx->p, aj_assign(fx->p, fx->d, twice));
	sync_ok(fx);
	check_b(fx->d, 4, 0);
	run(fx, "c = b * 2"); /* deferred again, then b rebound */
	REF_OK_PROG(fx->p, aj_names_set_array(fx->ns, "b", fx->a));
	sync_ok(fx);
	check_b(fx->c, 2, 0);
	assert_false(run_sync(fx, "c = b * 2"));
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->c, r, c) == 2 * A(r, c));
	REF_OK_PROG(fx->p, aj_names_set_array(fx->ns, "b", fx->b));
	REF_OK_PROG(fx->p, aj_names_set_f64(fx->ns, "s", 1.5));
	for (int k = 0; k < 4; k++)
		run_sync(fx, "c = b * s");
	check_b(fx->c, 1.5, 0);
	REF_OK_PROG(fx->p, aj_names_set_f64(fx->ns, "s", 2.5));
	assert_false(run_sync(fx, "c = b * s"));
	check_b(fx->c, 2.5, 0);
}

/* Never unparsed: a text reading a lazy name (stale after the sync), one
 * drawing random numbers (new ones every time), one asking for its last
 * value. A namespace freed with a deferred text before the sync (which
 * it must outlive) leaves no dangling state: the sync runs without it and
 * the program goes on. */
static void test_unparsed_never(void **state)
{
	fixture *fx = *state;
	run(fx, "t = a * 2");
	sync_ok(fx);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(aj_exec(fx->ns, "c = t", NULL), AJ_ERR_STALE);
		sync_ok(fx);
	}
	double before = at(fx->c, 1, 1);
	for (int k = 0; k < 4; k++) {
		assert_false(run_sync(fx, "c = random()"));
		assert_true(at(fx->c, 1, 1) != before);
		before = at(fx->c, 1, 1);
	}
	for (int k = 0; k < 4; k++) {
		aj_expr last;
		uint64_t n = unparsed(fx);
		REF_OK_PROG(fx->p, aj_exec(fx->ns, "d = b * 2", &last));
		sync_ok(fx);
		assert_int_equal(unparsed(fx), n);
	}
	aj_names *ns2;
	REF_OK_PROG(fx->p, aj_names_new(fx->p, &ns2));
	REF_OK_PROG(fx->p, aj_names_set_array(ns2, "y", fx->x));
	uint64_t n = unparsed(fx);
	for (int k = 0; k < 4; k++) {
		REF_OK_PROG(fx->p, aj_exec(ns2, "y[:] = y + 1", NULL));
		sync_ok(fx);
	}
	assert_true(unparsed(fx) > n);
	n = unparsed(fx);
	REF_OK_PROG(fx->p, aj_exec(ns2, "y[:] = y + 1", NULL));
	assert_int_equal(unparsed(fx), n + 1);
	aj_names_free(ns2);
	sync_ok(fx);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			assert_true(at(fx->x, r, c) == A(r, c) + 4);
	run(fx, "x[:] = x + 1");
	sync_ok(fx);
	assert_true(at(fx->x, 2, 3) == A(2, 3) + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_intermediates),
	    T(test_augmented_float),
	    T(test_augmented_int),
	    T(test_subscript_reads),
	    T(test_subscript_writes),
	    T(test_transpose_in_place),
	    T(test_reads_see_assignments),
	    T(test_lazy_values_kept),
	    T(test_reductions),
	    T(test_reduction_boundary),
	    T(test_last_value),
	    T(test_scalars_and_names),
	    T(test_names_api_errors),
	    T(test_errors),
	    T(test_nesting_and_length),
	    T(test_stale_names),
	    T(test_views_across_syncs),
	    T(test_out_of_memory),
	    T(test_groups_fuse),
	    T(test_hoisting),
	    T(test_groups_split),
	    T(test_unparsed_values),
	    T(test_unparsed_order),
	    T(test_unparsed_never),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
