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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_values),
	    T(test_flat_chain),
	    T(test_nesting_within_limit),
	    T(test_dtypes),
	    T(test_errors),
	    T(test_nesting_too_deep),
	    T(test_bad_binding),
	    T(test_bad_arguments),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
