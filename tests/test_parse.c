/*
 * aj_parse: expression text evaluated over small arrays and compared with
 * the same computation written in C, plus the dtypes literals get and the
 * errors (status, column, message) bad text gets.
 *
 * Each case is a row in a table; a row's reference is a small C function of
 * one element of every input.
 */
#include "ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Odd, so vector loops have a tail. */
#define N 37

/* One element of every input, named as in the expressions. */
typedef struct row {
	double a, b, c; /* float64 */
	int64_t i;	/* int64 */
	bool m;		/* bool */
	float f;	/* float32 */
} row;

enum { IN_A, IN_B, IN_C, IN_I, IN_M, IN_F, IN_D, NIN };
static const char *const names[NIN] = {"a", "b", "c", "i", "m", "f", "d"};

typedef struct fixture {
	aj_ctx *ctx;
	aj_prog *p;
	aj_array *in[NIN]; /* d has 5 elements, so it broadcasts with nothing */
	aj_array *out;	   /* float64[N] */
	row rows[N];
} fixture;

/* ---- fixture ---- */

static void fill_rows(row *r)
{
	uint64_t seed = 42;
	for (int k = 0; k < N; k++) {
		r[k].a = ref_uniform(&seed, 0.5, 2);
		/* Some equal pairs, so == and != see both answers. */
		r[k].b = k % 5 == 0 ? r[k].a : ref_uniform(&seed, 1, 3);
		r[k].c = ref_uniform(&seed, -1, 1);
		r[k].i = (int64_t)(ref_rand(&seed) % 101) - 50;
		r[k].m = ref_rand(&seed) & 1;
		r[k].f = (float)ref_uniform(&seed, -4, 4);
	}
}

static void copy_in(fixture *fx)
{
	double *a = aj_array_data(fx->in[IN_A]);
	double *b = aj_array_data(fx->in[IN_B]);
	double *c = aj_array_data(fx->in[IN_C]);
	int64_t *i = aj_array_data(fx->in[IN_I]);
	bool *m = aj_array_data(fx->in[IN_M]);
	float *f = aj_array_data(fx->in[IN_F]);
	for (int k = 0; k < N; k++) {
		a[k] = fx->rows[k].a;
		b[k] = fx->rows[k].b;
		c[k] = fx->rows[k].c;
		i[k] = fx->rows[k].i;
		m[k] = fx->rows[k].m;
		f[k] = fx->rows[k].f;
	}
}

static int setup(void **state)
{
	static const aj_dtype dtype[NIN] = {AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64,
					    AJ_INT64,	AJ_BOOL,    AJ_FLOAT32,
					    AJ_FLOAT64};
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	REF_OK_CTX(NULL, aj_ctx_new(&fx->ctx));
	REF_OK_CTX(fx->ctx, aj_prog_new(fx->ctx, &fx->p));
	int64_t n = N, nd = 5;
	for (int k = 0; k < NIN; k++)
		REF_OK_CTX(fx->ctx,
			   aj_array_new(fx->ctx, dtype[k], 1,
					k == IN_D ? &nd : &n, &fx->in[k]));
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, 1, &n, &fx->out));
	fill_rows(fx->rows);
	copy_in(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	aj_prog_free(fx->p);
	for (int k = 0; k < NIN; k++)
		aj_array_free(fx->in[k]);
	aj_array_free(fx->out);
	aj_ctx_free(fx->ctx);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

/* Parses text with every input bound to its name. */
static aj_status parse(fixture *fx, const char *text, aj_expr *e)
{
	aj_expr values[NIN];
	for (int k = 0; k < NIN; k++)
		values[k] = aj_leaf(fx->p, fx->in[k]);
	return aj_parse(fx->p, text, NIN, names, values, e);
}

/* Evaluates text into fx->out; returns its elements. */
static const double *eval(fixture *fx, const char *text)
{
	aj_expr e;
	REF_OK_PROG(fx->p, parse(fx, text, &e));
	REF_OK_PROG(fx->p, aj_assign(fx->p, fx->out, e));
	REF_OK_PROG(fx->p, aj_sync(fx->p));
	return aj_array_data(fx->out);
}

typedef double (*ref_fn)(const row *r);

/* Checks fx->out against want, element by element, within ulp. */
static void check(fixture *fx, const char *text, const double *got, ref_fn want,
		  double ulp)
{
	for (int k = 0; k < N; k++) {
		double w = want(&fx->rows[k]);
		if (ref_ulp64(got[k], w) > ulp) {
			print_error("'%s' [%d]: got %.17g, want %.17g\n", text,
				    k, got[k], w);
			fail();
		}
	}
}

/* ---- values ---- */

/* clang-format off */
static double r_neg_sq(const row *r) { return -pow(r->a, 2); }
static double r_sub_left(const row *r) { return (r->a - r->b) - r->c; }
static double r_div_mul(const row *r) { return (r->a / r->b) * r->c; }
static double r_pow_right(const row *r) { return 512.0; }
static double r_pow_right_int(const row *r) { return (double)(512 + r->i); }
static double r_pow_neg(const row *r) { return pow(r->a, -r->b); }
static double r_sum_prod(const row *r) { return r->a + r->b * r->c; }
static double r_paren(const row *r) { return (r->a + r->b) * r->c; }
static double r_neg_mul(const row *r) { return -r->a * r->b; }
static double r_mul_neg(const row *r) { return r->a * -r->b; }
static double r_plus(const row *r) { return -r->a; }
static double r_a(const row *r) { return r->a; }
static double r_pow_mul(const row *r) { return pow(r->a, 2) * r->b; }
static double r_int_arith(const row *r) { return (double)(r->i * 3 - 1); }
static double r_lit_dot_e(const row *r) { return r->a * 1.e5; }
static double r_lit_dot(const row *r) { return .5 + r->a; }
static double r_lit_exp(const row *r) { return 1e-3 * r->a; }
static double r_lit_exp_plus(const row *r) { return 2.5E+2 - r->a; }
static double r_lit_int(const row *r) { return r->a * 2; }
static double r_true(const row *r) { return r->a + 1; }
static double r_lt(const row *r) { return r->a < r->b; }
static double r_le(const row *r) { return r->a <= r->b; }
static double r_gt(const row *r) { return r->a > r->c; }
static double r_ge(const row *r) { return r->a >= r->b; }
static double r_eq(const row *r) { return r->a == r->b; }
static double r_ne(const row *r) { return r->a != r->b; }
static double r_cmp_prec(const row *r) { return r->b + 1 > r->a * 2; }
static double r_where_m(const row *r) { return r->m ? r->a : r->b; }
static double r_where_lt(const row *r) { return r->a < r->b ? r->a : r->b; }
static double r_b(const row *r) { return r->b; }
static double r_sqrt(const row *r) { return sqrt(r->a); }
static double r_exp(const row *r) { return exp(r->c); }
static double r_log(const row *r) { return log(r->a); }
static double r_sin(const row *r) { return sin(r->c); }
static double r_cos(const row *r) { return cos(r->c); }
static double r_tanh(const row *r) { return tanh(r->c); }
static double r_abs(const row *r) { return fabs(r->c); }
static double r_pow(const row *r) { return pow(r->a, r->b); }
static double r_min(const row *r) { return fmin(r->a, r->c); }
static double r_max(const row *r) { return fmax(r->a, r->c); }
static double r_div(const row *r) { return r->a / r->b; }
static double r_add(const row *r) { return r->a + r->b; }
static double r_sub(const row *r) { return r->a - r->b; }
static double r_mul(const row *r) { return r->a * r->b; }
static double r_f32(const row *r) { return (double)(float)r->a; }
static double r_i64(const row *r) { return (double)(int64_t)(r->a * 3); }
static double r_i32(const row *r) { return (double)(int32_t)(r->c * 100); }
static double r_bool(const row *r) { return r->c != 0; }
static double r_f64(const row *r) { return (double)r->i / 2; }
static double r_f32_mix(const row *r) { return (double)(r->f * 2.5f); }
/* clang-format on */

static const struct value_case {
	const char *text;
	ref_fn want;
	double ulp; /* 1 where SLEEF or FMA contraction may round differently */
} value_cases[] = {
    /* precedence and associativity */
    {"-a**2", r_neg_sq, 1},
    {"a-b-c", r_sub_left, 0},
    {"a/b*c", r_div_mul, 0},
    {"2.0**3**2", r_pow_right, 0},
    {"2**3**2 + i", r_pow_right_int, 0},
    {"a**-b", r_pow_neg, 2},
    {"a + b*c", r_sum_prod, 1},
    {"(a + b) * c", r_paren, 0},
    {"-a*b", r_neg_mul, 0},
    {"a * -b", r_mul_neg, 0},
    {"+-a", r_plus, 0},
    {"- -a", r_a, 0},
    {"a**2*b", r_pow_mul, 1},
    {"i*3 - 1", r_int_arith, 0},
    /* literals */
    {"a * 1.e5", r_lit_dot_e, 0},
    {".5 + a", r_lit_dot, 0},
    {"1e-3*a", r_lit_exp, 0},
    {"2.5E+2 - a", r_lit_exp_plus, 0},
    {"a * 2", r_lit_int, 0},
    {"a + True", r_true, 0},
    {"False + a", r_a, 0},
    /* comparisons */
    {"a < b", r_lt, 0},
    {"a <= b", r_le, 0},
    {"a > c", r_gt, 0},
    {"a >= b", r_ge, 0},
    {"a == b", r_eq, 0},
    {"a != b", r_ne, 0},
    {"b + 1 > a * 2", r_cmp_prec, 0},
    /* where */
    {"where(m, a, b)", r_where_m, 0},
    {"where(a < b, a, b)", r_where_lt, 0},
    {"where(True, a, b)", r_a, 0},
    {"where(False, a, b)", r_b, 0},
    /* calls by NumPy name and numexpr alias */
    {"sqrt(a)", r_sqrt, 0},
    {"exp(c)", r_exp, 1},
    {"exp (c)", r_exp, 1},
    {"log(a)", r_log, 1},
    {"sin(c)", r_sin, 1},
    {"cos(c)", r_cos, 1},
    {"tanh(c)", r_tanh, 1},
    {"abs(c)", r_abs, 0},
    {"absolute(c)", r_abs, 0},
    {"pow(a, b)", r_pow, 2},
    {"power(a, b)", r_pow, 2},
    {"minimum(a, c)", r_min, 0},
    {"maximum(a, c)", r_max, 0},
    {"divide(a, b)", r_div, 0},
    {"true_divide(a, b)", r_div, 0},
    {"add(a, b)", r_add, 0},
    {"subtract(a, b)", r_sub, 0},
    {"multiply(a, b)", r_mul, 0},
    {"negative(-a)", r_a, 0},
    {"less(a, b)", r_lt, 0},
    {"equal(a, b)", r_eq, 0},
    /* casts by dtype name */
    {"float32(a)", r_f32, 0},
    {"int64(a * 3)", r_i64, 0},
    {"int32(c * 100)", r_i32, 0},
    {"bool(c)", r_bool, 0},
    {"float64(i) / 2", r_f64, 0},
    {"f * 2.5", r_f32_mix, 0},
};

static void test_values(void **state)
{
	fixture *fx = *state;
	for (size_t k = 0; k < sizeof value_cases / sizeof value_cases[0];
	     k++) {
		const struct value_case *c = &value_cases[k];
		check(fx, c->text, eval(fx, c->text), c->want, c->ulp);
	}
}

/* "x op x op ... x" with n terms, in a malloc'd string. */
static char *flat_chain(const char *x, const char *op, int n)
{
	size_t len = n * (strlen(x) + strlen(op)) + 1;
	char *s = malloc(len);
	assert_non_null(s);
	s[0] = '\0';
	char *end = s;
	for (int k = 0; k < n; k++)
		end += sprintf(end, "%s%s", k ? op : "", x);
	return s;
}

static double r_i_times_10000(const row *r)
{
	return (double)(r->i * 10000);
}

/* Same-level operators are folded in a loop, not by recursion. */
static void test_flat_chain(void **state)
{
	fixture *fx = *state;
	char *text = flat_chain("i", "+", 10000);
	check(fx, "i+i+...+i", eval(fx, text), r_i_times_10000, 0);
	free(text);
}

/* A flat chain of 100000 terms is a DAG 100000 deep: the passes walk it
 * without recursion (a stack overflow would crash here), up to the cache
 * key; the JIT is not asked to compile it (seconds, growing faster than
 * the depth). */
static void test_deep_dag(void **state)
{
	fixture *fx = *state;
	char *text = flat_chain("a", "-", 100000);
	aj_expr e;
	REF_OK_PROG(fx->p, parse(fx, text, &e));
	static const aj_stage stages[] = {AJ_STAGE_DAG, AJ_STAGE_FUSED, AJ_STAGE_KEY};
	for (int k = 0; k < 3; k++) {
		char *dump;
		REF_OK_PROG(fx->p, aj_dump(fx->p, e, stages[k], &dump));
		assert_true(strlen(dump) > 100000);
		aj_string_free(dump);
	}
	free(text);
}

/* "(((a)))" with n pairs, or "---a" with n minus signs. */
static char *nested(int n, bool paren)
{
	char *s = malloc(2 * (size_t)n + 2);
	assert_non_null(s);
	size_t len = 0;
	for (int k = 0; k < n; k++)
		s[len++] = paren ? '(' : '-';
	s[len++] = 'a';
	for (int k = 0; paren && k < n; k++)
		s[len++] = ')';
	s[len] = '\0';
	return s;
}

static void test_nesting_within_limit(void **state)
{
	fixture *fx = *state;
	char *text = nested(256, true);
	check(fx, "(((a)))", eval(fx, text), r_a, 0);
	free(text);
	text = nested(256, false);
	check(fx, "---a", eval(fx, text), r_a, 0);
	free(text);
}

/* ---- dtypes of literals ---- */

static const struct dtype_case {
	const char *text;
	aj_dtype want;
} dtype_cases[] = {
    {"1", AJ_INT64},	     {"1.0", AJ_FLOAT64},
    {"1e3", AJ_FLOAT64},     {"True", AJ_BOOL},
    {"f * 2.5", AJ_FLOAT32}, {"f * 2", AJ_FLOAT32},
    {"i * 2", AJ_INT64},     {"i * 2.5", AJ_FLOAT64},
    {"a < 1", AJ_BOOL},	     {"float32(a)", AJ_FLOAT32},
    {"int32(a)", AJ_INT32},  {"bool(i)", AJ_BOOL},
    {"i / 2", AJ_FLOAT64},   {"where(m, i, 1)", AJ_INT64},
};

static void test_dtypes(void **state)
{
	fixture *fx = *state;
	for (size_t k = 0; k < sizeof dtype_cases / sizeof dtype_cases[0];
	     k++) {
		aj_expr e;
		REF_OK_PROG(fx->p, parse(fx, dtype_cases[k].text, &e));
		if (aj_expr_dtype(fx->p, e) != dtype_cases[k].want) {
			print_error("'%s': dtype %s, want %s\n",
				    dtype_cases[k].text,
				    aj_dtype_name(aj_expr_dtype(fx->p, e)),
				    aj_dtype_name(dtype_cases[k].want));
			fail();
		}
	}
}

/* ---- errors ---- */

/* Parses text expecting status s and a message "column <col>: ...<frag>...".
 */
static void check_error(fixture *fx, const char *text, aj_status s, int col,
			const char *frag)
{
	aj_expr e = {12345};
	aj_status got = parse(fx, text, &e);
	const char *msg = aj_prog_errmsg(fx->p);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "column %d: ", col);
	if (got != s || e.id != AJ_EXPR_NONE.id ||
	    strncmp(msg, prefix, strlen(prefix)) != 0 ||
	    strstr(msg, frag) == NULL) {
		print_error("'%.60s': status %d, out %u, message '%s'; want "
			    "status %d, message '%s...%s...'\n",
			    text, (int)got, e.id, msg, (int)s, prefix, frag);
		fail();
	}
}

static const struct error_case {
	const char *text;
	aj_status status;
	int column;
	const char *frag;
} error_cases[] = {
    {"a +", AJ_ERR_PARSE, 4, "expected an operand, found end"},
    {"a + * b", AJ_ERR_PARSE, 5, "expected an operand, found '*'"},
    {"(a", AJ_ERR_PARSE, 3, "expected ')' to close '(' at column 1"},
    {"(a b)", AJ_ERR_PARSE, 4, "found 'b'"},
    {"a b", AJ_ERR_PARSE, 3, "found 'b'"},
    {"", AJ_ERR_PARSE, 1, "found end of expression"},
    {"foo(a)", AJ_ERR_NAME, 1, "unknown function 'foo'"},
    {"astype(a)", AJ_ERR_NAME, 1, "unknown function 'astype'"},
    {"float16(a)", AJ_ERR_NAME, 1, "unknown function 'float16'"},
    {"q + 1", AJ_ERR_NAME, 1, "unknown name 'q'"},
    {"a + A", AJ_ERR_NAME, 5, "unknown name 'A'"},
    {"sqrt(a, b)", AJ_ERR_PARSE, 1, "sqrt() takes 1 argument, got 2"},
    {"where(m, a)", AJ_ERR_PARSE, 1, "takes 3 arguments, got 2"},
    {"exp()", AJ_ERR_PARSE, 1, "got 0"},
    {"sqrt(a", AJ_ERR_PARSE, 7, "to close '(' at column 5"},
    {"maximum(a, )", AJ_ERR_PARSE, 12, "expected an operand"},
    {"1e", AJ_ERR_PARSE, 1, "exponent has no digits"},
    {"a * 1e+", AJ_ERR_PARSE, 5, "exponent has no digits"},
    {"2x", AJ_ERR_PARSE, 1, "invalid number '2x'"},
    {"1.2.3", AJ_ERR_PARSE, 1, "invalid number"},
    {"a < b < c", AJ_ERR_PARSE, 7, "chained comparisons are not supported"},
    {"a == b != c", AJ_ERR_PARSE, 8, "chained comparisons"},
    {"999999999999999999999", AJ_ERR_PARSE, 1, "int64"},
    {"a $ b", AJ_ERR_PARSE, 3, "unexpected character '$'"},
    {"a = b", AJ_ERR_PARSE, 3, "found '='"},
    /* names given to aj_parse are expressions, whose views take the
     * errors of the aj_view_* calls */
    {"flip(a, 5)", AJ_ERR_ARG, 1, "flip: axis 5 out of range"},
    {"sqrt(reshape(a + b, (-1, -1)))", AJ_ERR_SHAPE, 6,
     "reshape: more than one -1"},
    {"(a + b)[0, 0, 0, 0, 0]", AJ_ERR_BOUNDS, 8, "too many indices"},
    /* builder errors carry the operator's or call's column */
    {"a + d", AJ_ERR_SHAPE, 3, ""},
    {"exp(d) * a", AJ_ERR_SHAPE, 8, ""},
    {"where(m, d, a)", AJ_ERR_SHAPE, 1, ""},
};

static void test_errors(void **state)
{
	fixture *fx = *state;
	for (size_t k = 0; k < sizeof error_cases / sizeof error_cases[0]; k++)
		check_error(fx, error_cases[k].text, error_cases[k].status,
			    error_cases[k].column, error_cases[k].frag);
	/* The error was taken: the program works on. */
	check(fx, "a", eval(fx, "a"), r_a, 0);
}

static void test_nesting_too_deep(void **state)
{
	fixture *fx = *state;
	/* Level k starts at column k + 1; level 257 is one too many. */
	char *text = nested(100000, true);
	check_error(fx, text, AJ_ERR_PARSE, 258, "nested too deeply");
	free(text);
	text = nested(257, false);
	check_error(fx, text, AJ_ERR_PARSE, 258, "nested too deeply");
	free(text);
	/* Each exponent is a level: the 257th starts at column 1 + 3 * 257. */
	char *pow = flat_chain("a", "**", 300);
	check_error(fx, pow, AJ_ERR_PARSE, 1 + 3 * 257, "nested too deeply");
	free(pow);
}

static void test_bad_binding(void **state)
{
	fixture *fx = *state;
	const char *name[] = {"z"};
	aj_expr value[] = {AJ_EXPR_NONE};
	aj_expr e;
	assert_int_not_equal(aj_parse(fx->p, "1 + z", 1, name, value, &e),
			     AJ_OK);
	assert_int_equal(e.id, AJ_EXPR_NONE.id);
	assert_non_null(strstr(aj_prog_errmsg(fx->p), "column 5: name 'z'"));
}

static void test_bad_arguments(void **state)
{
	fixture *fx = *state;
	aj_prog *p = fx->p;
	const char *name[] = {"a"};
	const char *null_name[] = {NULL};
	aj_expr value[] = {aj_leaf(p, fx->in[IN_A])};
	aj_expr e = {12345};
	assert_int_equal(aj_parse(NULL, "a", 1, name, value, &e), AJ_ERR_ARG);
	assert_int_equal(e.id, AJ_EXPR_NONE.id);
	e.id = 12345;
	assert_int_equal(aj_parse(p, NULL, 1, name, value, &e), AJ_ERR_ARG);
	assert_int_equal(e.id, AJ_EXPR_NONE.id);
	assert_int_equal(aj_parse(p, "a", 1, name, value, NULL), AJ_ERR_ARG);
	assert_int_equal(aj_parse(p, "a", -1, name, value, &e), AJ_ERR_ARG);
	assert_int_equal(aj_parse(p, "a", 1, NULL, value, &e), AJ_ERR_ARG);
	assert_int_equal(aj_parse(p, "a", 1, name, NULL, &e), AJ_ERR_ARG);
	assert_int_equal(aj_parse(p, "a", 1, null_name, value, &e), AJ_ERR_ARG);
	/* No names at all is fine for text without any. */
	REF_OK_PROG(p, aj_parse(p, "1 + 2", 0, NULL, NULL, &e));
	assert_int_equal(aj_expr_dtype(p, e), AJ_INT64);
}

/* ---- view functions, in programs over named arrays ---- */

/* Arrays bound in a namespace, so names can be viewed. */
typedef struct vfixture {
	aj_ctx *ctx;
	aj_prog *p;
	aj_names *ns;
	aj_array *a; /* float64 (3, 4): A(i, j) */
	aj_array *b; /* float64 (2, 3, 4): B(i, j, k) */
	aj_array *s; /* float64 (1, 3, 1): s[0, j, 0] = j + 1 */
	aj_array *v; /* float64 (4,): zero */
} vfixture;

static double A(int64_t i, int64_t j)
{
	return 10.0 * (double)i + (double)j;
}

static double B(int64_t i, int64_t j, int64_t k)
{
	return 100.0 * (double)i + 10.0 * (double)j + (double)k;
}

static aj_array *bind_new(vfixture *fx, const char *name, int nd,
			  const int64_t *shape)
{
	aj_array *x;
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, AJ_FLOAT64, nd, shape, &x));
	REF_OK_PROG(fx->p, aj_names_set_array(fx->ns, name, x));
	return x;
}

static int vsetup(void **state)
{
	vfixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	REF_OK_CTX(NULL, aj_ctx_new(&fx->ctx));
	REF_OK_CTX(fx->ctx, aj_prog_new(fx->ctx, &fx->p));
	REF_OK_PROG(fx->p, aj_names_new(fx->p, &fx->ns));
	fx->a = bind_new(fx, "a", 2, (int64_t[]){3, 4});
	fx->b = bind_new(fx, "b", 3, (int64_t[]){2, 3, 4});
	fx->s = bind_new(fx, "s", 3, (int64_t[]){1, 3, 1});
	fx->v = bind_new(fx, "v", 1, (int64_t[]){4});
	double *a = aj_array_data(fx->a), *b = aj_array_data(fx->b);
	double *s = aj_array_data(fx->s);
	for (int i = 0; i < 3; i++) {
		s[i] = i + 1;
		for (int j = 0; j < 4; j++)
			a[i * 4 + j] = A(i, j);
	}
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				b[(i * 3 + j) * 4 + k] = B(i, j, k);
	*state = fx;
	return 0;
}

static int vteardown(void **state)
{
	vfixture *fx = *state;
	aj_names_free(fx->ns);
	aj_prog_free(fx->p);
	aj_array_free(fx->a);
	aj_array_free(fx->b);
	aj_array_free(fx->s);
	aj_array_free(fx->v);
	aj_ctx_free(fx->ctx);
	free(fx);
	return 0;
}

/* Runs text and computes its last expression statement into a new
 * C-order array. */
static aj_array *exec_value(vfixture *fx, const char *text)
{
	aj_expr e;
	aj_array *y;
	int64_t shape[AJ_MAX_NDIM];
	REF_OK_PROG(fx->p, aj_exec(fx->ns, text, &e));
	int nd = aj_expr_shape(fx->p, e, shape);
	assert_true(nd >= 0);
	REF_OK_CTX(fx->ctx, aj_array_new(fx->ctx, aj_expr_dtype(fx->p, e), nd,
					 shape, &y));
	REF_OK_PROG(fx->p, aj_assign(fx->p, y, e));
	REF_OK_PROG(fx->p, aj_sync(fx->p));
	return y;
}

typedef double (*view_ref)(int64_t i, int64_t j, int64_t k);

/* clang-format off */
#define W(name, expr) \
	static double name(int64_t i, int64_t j, int64_t k) \
	{ (void)i; (void)j; (void)k; return (expr); }
W(v_flip_all, A(2 - i, 3 - j))
W(v_flip_cols, A(i, 3 - j))
W(v_flip_rows, A(2 - i, j))
W(v_s_i, (double)i + 1)
W(v_s_j, (double)j + 1)
W(v_move_0_last, B(k, i, j))
W(v_move_last_0, B(j, k, i))
W(v_move_2_1, B(i, k, j))
W(v_diag, A(i, i))
W(v_diag_above, A(i, i + 1))
W(v_diag_below, A(i + 1, i))
W(v_diag_b_20, B(j + 1, i, j))
W(v_diag_b_12, B(i, j, j))
W(v_ravel, A(i / 4, i % 4))
W(v_ravel_step2, A(i / 2, 2 * (i % 2)))
W(v_ravel_flip, A(2 - i / 4, 3 - i % 4))
W(v_flip_row0, A(2, 3 - i))
W(v_move_index_t, B(i, 1, j))
W(v_t_flip, A(j, 3 - i))
W(v_col1, A(i, 1))
W(v_trace, A(0, 0) + A(1, 1) + A(2, 2))
W(v_mix, 2 * A(i / 4, i % 4) + A((11 - i) / 4, (11 - i) % 4))
W(v_diag_plus1, A(i, i) + 1)
W(v_a, A(i, j))
W(v_flip_all_1, A(2 - i, 3 - j) + 1)
W(v_rows_step, 2 * A(i + 1, 2 * j))
W(v_t_1, A(j, i) + 1)
W(v_ravel_t, A(i % 3, i / 3))
W(v_reshape_t, A((i * 6 + j) % 3, (i * 6 + j) / 3))
W(v_ravel_2, 2 * A(i / 4, i % 4))
W(v_b_46_1, B((6 + i) / 12, (6 + i) % 12 / 4, (6 + i) % 4))
W(v_rowmax, A(i, 3))
W(v_minus_rowmax, A(i, j) - A(i, 3))
W(v_colsum_rev, 30.0 + 3 * (double)(3 - j))
W(v_row1_2, 2 * A(1, i))
W(v_s_i_2, (double)i + 2)
W(v_a01_1, A(0, 1) + 1)
W(v_total, 138.0)
W(v_diag_2, 2 * A(i, i))
W(v_ravel_t_copy, A(((i % 3) * 4 + i / 3) % 3, ((i % 3) * 4 + i / 3) / 3) + 1)
#define F ((((i * 2 + j) % 3) * 4 + (i * 2 + j) / 3))
W(v_62_t_copy, A(F % 3, F / 3) + 1)
#undef F
#undef W
/* clang-format on */

static const struct view_case {
	const char *text;
	int nd;
	int64_t shape[3];
	view_ref want;
} view_cases[] = {
    {"flip(a)", 2, {3, 4}, v_flip_all},
    {"flip(a, 1)", 2, {3, 4}, v_flip_cols},
    {"flip(a, axis=0)", 2, {3, 4}, v_flip_rows},
    {"flip(a, axis=-1)", 2, {3, 4}, v_flip_cols},
    {"flip(a, axis=None)", 2, {3, 4}, v_flip_all},
    {"flip(\n  a,\n  axis = 1\n)", 2, {3, 4}, v_flip_cols},
    {"squeeze(s)", 1, {3}, v_s_i},
    {"squeeze(s, axis=0)", 2, {3, 1}, v_s_i},
    {"squeeze(s, -1)", 2, {1, 3}, v_s_j},
    {"moveaxis(b, 0, -1)", 3, {3, 4, 2}, v_move_0_last},
    {"moveaxis(b, source=-1, destination=0)", 3, {4, 2, 3}, v_move_last_0},
    {"moveaxis(b, 2, destination=1)", 3, {2, 4, 3}, v_move_2_1},
    {"diagonal(a)", 1, {3}, v_diag},
    {"diagonal(a, 1)", 1, {3}, v_diag_above},
    {"diagonal (a , offset = -1)", 1, {2}, v_diag_below},
    {"diagonal(a, offset=+5)", 1, {0}, v_diag},
    {"diagonal(a, 0, -1, -2)", 1, {3}, v_diag},
    {"diagonal(b, 1, 2, 0)", 2, {3, 1}, v_diag_b_20},
    {"diagonal(b, axis2=2, axis1=1)", 2, {2, 3}, v_diag_b_12},
    {"ravel(a)", 1, {12}, v_ravel},
    {"ravel(a[:, ::2])", 1, {6}, v_ravel_step2},
    {"ravel(flip(a))", 1, {12}, v_ravel_flip},
    {"flip(a)[0]", 1, {4}, v_flip_row0},
    {"moveaxis(b, 0, 2)[1].T", 2, {2, 4}, v_move_index_t},
    {"flip(flip(a, 0), 1)", 2, {3, 4}, v_flip_all},
    {"flip(a.T, 0)", 2, {4, 3}, v_t_flip},
    {"squeeze(a[None, :, 1:2])", 1, {3}, v_col1},
    {"sum(diagonal(a))", 0, {0}, v_trace},
    {"ravel(a) * 2 + flip(ravel(a))", 1, {12}, v_mix},
    {"t = diagonal(a)\nt + 1", 1, {3}, v_diag_plus1},
    {"moveaxis(moveaxis(a, 0, 1), 0, 1)", 2, {3, 4}, v_a},
    /* views of expressions (aj_view_expr) */
    {"flip(a + 1)", 2, {3, 4}, v_flip_all_1},
    {"flip(flip(-a) * -1)", 2, {3, 4}, v_a},
    {"(a * 2)[1:, ::2]", 2, {2, 2}, v_rows_step},
    {"(a + 1).T", 2, {4, 3}, v_t_1},
    {"(a + v)[::-1, ::-1] + 1", 2, {3, 4}, v_flip_all_1},
    {"ravel(a.T)", 1, {12}, v_ravel_t},
    {"x = 1; ravel(a.T)", 1, {12}, v_ravel_t},
    {"reshape(a.T, (2, -1))", 2, {2, 6}, v_reshape_t},
    {"reshape(a * 2, 12)", 1, {12}, v_ravel_2},
    {"reshape(b + v, (-1, 6))[1]", 1, {6}, v_b_46_1},
    {"reshape(a, (3, 4))", 2, {3, 4}, v_a},
    {"max(a, axis=1)[:, None]", 2, {3, 1}, v_rowmax},
    {"a - max(a, axis=1)[:, None]", 2, {3, 4}, v_minus_rowmax},
    {"m = max(a, axis=1); a - m[:, None]", 2, {3, 4}, v_minus_rowmax},
    {"sum(a, axis=0)[None, ::-1]", 2, {1, 4}, v_colsum_rev},
    {"t = a * 2\nt[1]", 1, {4}, v_row1_2},
    {"squeeze(s + 1)", 1, {3}, v_s_i_2},
    {"(a + 1)[0, 1]", 0, {0}, v_a01_1},
    {"sum(a)[None]", 1, {1}, v_total},
    {"reshape(sum(a), (1, 1))", 2, {1, 1}, v_total},
    {"diagonal(a + a)", 1, {3}, v_diag_2},
    /* a copy viewed so that it must be copied again, in C order */
    {"ravel(reshape(a.T + 1, (3, 4)).T)", 1, {12}, v_ravel_t_copy},
    {"reshape(reshape(a.T + 1, (3, 4)).T, (6, 2))", 2, {6, 2}, v_62_t_copy},
    {"moveaxis(b * 1, 0, -1)", 3, {3, 4, 2}, v_move_0_last},
    {"squeeze((a + 1)[None, :, 1:2] - 1)", 1, {3}, v_col1},
};

/* Checks one case's shape and every element of its value. */
static void check_view_case(vfixture *fx, const struct view_case *vc)
{
	aj_array *y = exec_value(fx, vc->text);
	int nd = aj_array_ndim(y);
	const int64_t *shape = aj_array_shape(y);
	if (nd != vc->nd ||
	    memcmp(shape, vc->shape, (size_t)nd * sizeof *shape) != 0) {
		print_error("'%s': ndim %d, shape[0] %lld; want ndim %d\n",
			    vc->text, nd, nd ? (long long)shape[0] : 0LL,
			    vc->nd);
		fail();
	}
	int64_t n[3] = {1, 1, 1};
	for (int d = 0; d < nd; d++)
		n[d] = shape[d];
	const double *got = aj_array_data(y);
	for (int64_t i = 0; i < n[0]; i++)
		for (int64_t j = 0; j < n[1]; j++)
			for (int64_t k = 0; k < n[2]; k++) {
				double g = got[(i * n[1] + j) * n[2] + k];
				if (g != vc->want(i, j, k)) {
					print_error("'%s' [%lld, %lld, %lld]: "
						    "got %g, want %g\n",
						    vc->text, (long long)i,
						    (long long)j, (long long)k,
						    g, vc->want(i, j, k));
					fail();
				}
			}
	aj_array_free(y);
}

static void test_view_functions(void **state)
{
	vfixture *fx = *state;
	for (size_t k = 0; k < sizeof view_cases / sizeof view_cases[0]; k++)
		check_view_case(fx, &view_cases[k]);
}

static const struct view_error {
	const char *text;
	aj_status status;
	int line, column;
	const char *frag;
} view_errors[] = {
    {"flip(zz)", AJ_ERR_NAME, 1, 6, "unknown name 'zz'"},
    {"flip(a, 2)", AJ_ERR_ARG, 1, 1, "axis 2 out of range"},
    {"c = 1\n  squeeze(a, 0)", AJ_ERR_SHAPE, 2, 3,
     "cannot squeeze axis 0 of length 3"},
    {"squeeze(a, axis=None, axis=0)", AJ_ERR_PARSE, 1, 23,
     "squeeze() got two values for 'axis'"},
    {"flip(a, 0, axis=1)", AJ_ERR_PARSE, 1, 12,
     "flip() got two values for 'axis'"},
    {"flip(a, foo=1)", AJ_ERR_PARSE, 1, 9,
     "flip() has no parameter 'foo'; the form is flip(a, axis=None)"},
    {"flip(a, 0, 1)", AJ_ERR_PARSE, 1, 12,
     "too many arguments; the form is flip(a, axis=None)"},
    {"ravel(a, 0)", AJ_ERR_PARSE, 1, 10, "the form is ravel(a)"},
    {"moveaxis(a, 0)", AJ_ERR_PARSE, 1, 1,
     "moveaxis() is missing 'destination'"},
    {"moveaxis(a, destination=0, 1)", AJ_ERR_PARSE, 1, 28,
     "positional argument follows keyword argument"},
    {"moveaxis(a, 0, 2)", AJ_ERR_ARG, 1, 1, "destination axis 2"},
    {"diagonal(a, axis1=1, axis2=-1)", AJ_ERR_ARG, 1, 1,
     "axis1 and axis2 are the same"},
    {"diagonal(v)", AJ_ERR_SHAPE, 1, 1, "at least 2 dimensions"},
    {"flip(a + 1, 2)", AJ_ERR_ARG, 1, 1, "flip: axis 2 out of range"},
    {"c = 1\nreshape(a + 1, 7)", AJ_ERR_SHAPE, 2, 1,
     "reshape: cannot reshape array of size 12 into shape (7,)"},
    {"reshape(a, (-1, -1))", AJ_ERR_SHAPE, 1, 1, "more than one -1"},
    {"reshape(a)", AJ_ERR_PARSE, 1, 1, "reshape() is missing 'shape'"},
    {"reshape(a, (2, 6)", AJ_ERR_PARSE, 1, 18, "to close '(' at line 1, column 8"},
    {"reshape(a, (2 6))", AJ_ERR_PARSE, 1, 15, "to close '(' at line 1, column 12"},
    {"(a + 1)[0, 1, 2]", AJ_ERR_BOUNDS, 1, 8, "too many indices"},
    {"(a + 1).x", AJ_ERR_PARSE, 1, 9, "expected 'T' after '.'"},
    {"sum(a)[0]", AJ_ERR_BOUNDS, 1, 7, "too many indices"},
    {"flip(a b)", AJ_ERR_PARSE, 1, 8,
     "expected ',' or ')' to close '(' at line 1, column 5, found 'b'"},
    {"flip(a", AJ_ERR_PARSE, 1, 7, "found end of program"},
    {"flip(a, 1", AJ_ERR_PARSE, 1, 10, "to close '(' at line 1, column 5"},
    {"flip(a, )", AJ_ERR_PARSE, 1, 9, "expected an axis number"},
    {"diagonal(a, offset=1.5)", AJ_ERR_PARSE, 1, 20,
     "expected an integer, found '1.5'"},
    {"flip(a, axis=x)", AJ_ERR_PARSE, 1, 14,
     "expected an axis number, found 'x'"},
    {"flip(a).x", AJ_ERR_PARSE, 1, 9, "expected 'T' after '.'"},
    {"flip(a)[5]", AJ_ERR_BOUNDS, 1, 9,
     "index 5 is out of bounds for axis 0 with size 3"},
    {"flip(a) = 1", AJ_ERR_PARSE, 1, 1, "cannot assign to an expression"},
};

/* Runs text expecting the error, then checks the namespace still works. */
static void check_view_error(vfixture *fx, const struct view_error *ve)
{
	char prefix[48];
	aj_expr last = {12345};
	aj_status s = aj_exec(fx->ns, ve->text, &last);
	const char *msg = aj_prog_errmsg(fx->p);
	snprintf(prefix, sizeof prefix, "line %d, column %d: ", ve->line,
		 ve->column);
	if (s != ve->status || last.id != AJ_EXPR_NONE.id ||
	    strncmp(msg, prefix, strlen(prefix)) != 0 ||
	    strstr(msg, ve->frag) == NULL) {
		print_error("'%s': status %d, message '%s'; want status %d, "
			    "message '%s...%s...'\n",
			    ve->text, (int)s, msg, (int)ve->status, prefix,
			    ve->frag);
		fail();
	}
	aj_array *y = exec_value(fx, "diagonal(a)");
	assert_int_equal(((double *)aj_array_data(y))[2], A(2, 2));
	aj_array_free(y);
}

static void test_view_function_errors(void **state)
{
	vfixture *fx = *state;
	for (size_t k = 0; k < sizeof view_errors / sizeof view_errors[0]; k++)
		check_view_error(fx, &view_errors[k]);
}

/* "flip(flip(...flip(a)...))" with n calls, in a malloc'd string. */
static char *nested_flips(int n)
{
	char *s = malloc(6 * (size_t)n + 2);
	assert_non_null(s);
	char *end = s;
	for (int k = 0; k < n; k++)
		end += sprintf(end, "flip(");
	*end++ = 'a';
	for (int k = 0; k < n; k++)
		*end++ = ')';
	*end = '\0';
	return s;
}

/* Nested views count towards the nesting limit: 256 calls are fine, the
 * 257th's argument (at column 1 + 5 * 257) is one level too deep. */
static void test_view_nesting(void **state)
{
	vfixture *fx = *state;
	char *text = nested_flips(256);
	aj_array *y = exec_value(fx, text); /* flipped an even number of times */
	assert_int_equal(((double *)aj_array_data(y))[0], A(0, 0));
	aj_array_free(y);
	free(text);
	text = nested_flips(257);
	aj_expr last;
	assert_int_equal(aj_exec(fx->ns, text, &last), AJ_ERR_PARSE);
	if (!strstr(aj_prog_errmsg(fx->p), "line 1, column 1286: expression "
					   "nested too deeply"))
		fail_msg("message '%s'", aj_prog_errmsg(fx->p));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_values),
	    T(test_flat_chain),
	    T(test_deep_dag),
	    T(test_nesting_within_limit),
	    T(test_dtypes),
	    T(test_errors),
	    T(test_nesting_too_deep),
	    T(test_bad_binding),
	    T(test_bad_arguments),
#undef T
#define V(f) cmocka_unit_test_setup_teardown(f, vsetup, vteardown)
	    V(test_view_functions),
	    V(test_view_function_errors),
	    V(test_view_nesting),
#undef V
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
