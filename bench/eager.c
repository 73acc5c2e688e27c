/*
 * The eager, op-by-op baseline (see eager.h). An operand (ev) is an input
 * read with a step (1, or 2 for the strided workloads), or a scalar (step
 * 0). Arithmetic loops are specialised on the steps that occur, so each
 * vectorises as NumPy's inner loops do.
 */
#include "eager.h"

#include "hvec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

typedef struct ev {
	const void *p; /* NULL for a scalar */
	int64_t st;    /* elements between operands; 0 for a scalar */
	double v;      /* the scalar */
} ev;

static ev in(const hl_task *t, int k)
{
	return (ev){t->in[k], t->st, 0};
}

static ev tmp(const double *p)
{
	return (ev){p, 1, 0};
}

static ev num(double v)
{
	return (ev){NULL, 0, v};
}

/* NumPy would raise MemoryError; a baseline without memory cannot run. */
static void *xmalloc(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);
	if (!p) {
		fprintf(stderr, "arrjit-bench: eager: out of memory\n");
		abort();
	}
	return p;
}

static double *new_f64(int64_t n)
{
	return xmalloc((size_t)n * sizeof(double));
}

INLINE double ld(ev x, int64_t i)
{
	return x.st == 0 ? x.v : ((const hl_f64u *)x.p)[i * x.st];
}

INLINE double apply(char op, double a, double b)
{
	switch (op) {
	case '+':
		return a + b;
	case '-':
		return a - b;
	case '*':
		return a * b;
	default:
		return a / b;
	}
}

INLINE void arith_loop(double *restrict r, int64_t n, char op, ev x, ev y)
{
	for (int64_t i = 0; i < n; i++)
		r[i] = apply(op, ld(x, i), ld(y, i));
}

/* The steps as constants where they are 0 or 1, for the vectoriser. */
INLINE void arith_steps(double *r, int64_t n, char op, ev x, ev y)
{
	ev x1 = {x.p, 1, 0}, y1 = {y.p, 1, 0};
	ev x0 = num(x.v), y0 = num(y.v);
	if (x.st == 1 && y.st == 1)
		arith_loop(r, n, op, x1, y1);
	else if (x.st == 1 && y.st == 0)
		arith_loop(r, n, op, x1, y0);
	else if (x.st == 0 && y.st == 1)
		arith_loop(r, n, op, x0, y1);
	else
		arith_loop(r, n, op, x, y);
}

/* x op y into a new temporary. */
static double *arith(char op, int64_t n, ev x, ev y)
{
	double *r = new_f64(n);
	switch (op) {
	case '+':
		arith_steps(r, n, '+', x, y);
		break;
	case '-':
		arith_steps(r, n, '-', x, y);
		break;
	case '*':
		arith_steps(r, n, '*', x, y);
		break;
	default:
		arith_steps(r, n, '/', x, y);
		break;
	}
	return r;
}

static vd ldv(ev x, int64_t i)
{
	return x.st == 0 ? vd_set(x.v)
			 : vd_loads((const double *)x.p + i * x.st, x.st);
}

/* f(x, y) (f2) or f(x) (f1) into a new temporary; the tail on a padded
 * copy, as the SLEEF hand loops do. */
static double *math(int64_t n, ev x, ev y, hv_fn1 *f1, hv_fn2 *f2)
{
	double *r = new_f64(n);
	int64_t i = 0;
	for (; i + VLD <= n; i += VLD)
		vd_store(r + i, f1 ? f1(ldv(x, i)) : f2(ldv(x, i), ldv(y, i)));
	if (i == n)
		return r;
	double px[VLD], py[VLD], res[VLD];
	for (int j = 0; j < VLD; j++) {
		px[j] = i + j < n ? ld(x, i + j) : 1.0;
		py[j] = i + j < n && !f1 ? ld(y, i + j) : 1.0;
	}
	ev tx = tmp(px), ty = tmp(py);
	vd_store(res, f1 ? f1(ldv(tx, 0)) : f2(ldv(tx, 0), ldv(ty, 0)));
	memcpy(r + i, res, (size_t)(n - i) * sizeof *res);
	return r;
}

static double *math1(int64_t n, ev x, hv_fn1 *f)
{
	return math(n, x, num(0), f, NULL);
}

static double *math2(int64_t n, ev x, ev y, hv_fn2 *f)
{
	return math(n, x, y, NULL, f);
}

static unsigned char *greater(int64_t n, ev x, ev y)
{
	unsigned char *r = xmalloc((size_t)n);
	for (int64_t i = 0; i < n; i++)
		r[i] = ld(x, i) > ld(y, i);
	return r;
}

static double *where(int64_t n, const unsigned char *c, ev x, ev y)
{
	double *r = new_f64(n);
	for (int64_t i = 0; i < n; i++)
		r[i] = c[i] ? ld(x, i) : ld(y, i);
	return r;
}

/* A workload of one operation: its hand loop, one thread, new output. */
static void *one_op(hl_task *t, int64_t n, size_t bytes, hl_fn *f)
{
	hl_task u = *t;
	u.out = xmalloc(bytes);
	f(&u, 0, n, 0);
	return u.out;
}

/* A reduction to one number: one chunk, then its finish. */
static void *reduce_op(hl_task *t, int64_t n, hl_fn *f, hl_finish_fn *fin)
{
	hl_task u = *t;
	u.out = new_f64(1);
	f(&u, 0, n, 0);
	fin(&u, 1);
	return u.out;
}

void *eg_seed(hl_task *t, int64_t n)
{
	double *a = t->out;
	ev b = in(t, 0);
	for (int64_t i = 0; i < t->n; i++) {
		double *bi = arith('*', 9, b, num((double)i));
		for (int k = 0; k < 9; k++)
			a[k] += bi[k];
		free(bi);
	}
	return NULL;
}

/* a[:] = a + 1: the sum, then a copy into a. */
void *eg_add1(hl_task *t, int64_t n)
{
	double *r = arith('+', n, tmp(t->out), num(1));
	memcpy(t->out, r, (size_t)n * sizeof *r);
	free(r);
	return NULL;
}

/* a[1:] = a[:-1] + 1 and a[:-1] = a[1:] + 1: a temporary, then a copy. */
static void shift(hl_task *t, int64_t n, int64_t from, int64_t to)
{
	double *a = t->out;
	double *r = arith('+', n - 1, tmp(a + from), num(1));
	memcpy(a + to, r, (size_t)(n - 1) * sizeof *r);
	free(r);
}

void *eg_shift_back(hl_task *t, int64_t n)
{
	shift(t, n, 0, 1);
	return NULL;
}

void *eg_shift_fwd(hl_task *t, int64_t n)
{
	shift(t, n, 1, 0);
	return NULL;
}

void *eg_scale(hl_task *t, int64_t n)
{
	return one_op(t, n, (size_t)n * sizeof(double), hl_scale);
}

void *eg_scale_inplace(hl_task *t, int64_t n)
{
	hl_scale_inplace(t, 0, n, 0);
	return NULL;
}

void *eg_axpy2(hl_task *t, int64_t n)
{
	double *x = arith('*', n, num(2), in(t, 0));
	double *y = arith('*', n, num(3), in(t, 1));
	double *r = arith('+', n, tmp(x), tmp(y));
	free(x);
	free(y);
	return r;
}

void *eg_mix5(hl_task *t, int64_t n)
{
	double *ab = arith('*', n, in(t, 0), in(t, 1));
	double *cd = arith('*', n, in(t, 2), in(t, 3));
	double *s = arith('+', n, tmp(ab), tmp(cd));
	free(ab);
	free(cd);
	double *r = arith('-', n, tmp(s), in(t, 4));
	free(s);
	return r;
}

void *eg_strided_add(hl_task *t, int64_t n)
{
	return arith('+', n, in(t, 0), in(t, 1));
}

void *eg_where_add(hl_task *t, int64_t n)
{
	unsigned char *c = greater(n, in(t, 0), num(0.5));
	double *w = where(n, c, in(t, 0), num(0));
	free(c);
	double *r = arith('+', n, tmp(w), in(t, 1));
	free(w);
	return r;
}

void *eg_hypot(hl_task *t, int64_t n)
{
	double *a2 = arith('*', n, in(t, 0), in(t, 0));
	double *b2 = arith('*', n, in(t, 1), in(t, 1));
	double *s = arith('+', n, tmp(a2), tmp(b2));
	free(a2);
	free(b2);
	double *r = math1(n, tmp(s), vd_sqrt);
	free(s);
	return r;
}

void *eg_exp_mix(hl_task *t, int64_t n)
{
	double *e = math1(n, in(t, 0), vd_exp);
	double *s = math1(n, in(t, 1), vd_sin);
	double *es = arith('*', n, tmp(e), tmp(s));
	free(e);
	free(s);
	double *l = math1(n, in(t, 2), vd_log1p);
	double *r = arith('+', n, tmp(es), tmp(l));
	free(es);
	free(l);
	return r;
}

/* float32, contiguous: the same five steps. */
static float *math_f(int64_t n, const float *x, vf (*f)(vf))
{
	float *r = xmalloc((size_t)n * sizeof *r);
	int64_t i = 0;
	for (; i + VLF <= n; i += VLF)
		vf_store(r + i, f(vf_load(x + i)));
	float pad[VLF] = {0}, res[VLF];
	memcpy(pad, x + i, (size_t)(n - i) * sizeof *pad);
	vf_store(res, f(vf_load(pad)));
	memcpy(r + i, res, (size_t)(n - i) * sizeof *res);
	return r;
}

static float *arith_f(char op, int64_t n, const float *x, const float *y)
{
	float *r = xmalloc((size_t)n * sizeof *r);
	if (op == '*')
		for (int64_t i = 0; i < n; i++)
			r[i] = x[i] * y[i];
	else
		for (int64_t i = 0; i < n; i++)
			r[i] = x[i] + y[i];
	return r;
}

void *eg_exp_mix_f32(hl_task *t, int64_t n)
{
	float *e = math_f(n, t->in[0], vf_exp);
	float *s = math_f(n, t->in[1], vf_sin);
	float *es = arith_f('*', n, e, s);
	free(e);
	free(s);
	float *l = math_f(n, t->in[2], vf_log1p);
	float *r = arith_f('+', n, es, l);
	free(es);
	free(l);
	return r;
}

void *eg_tanh(hl_task *t, int64_t n)
{
	return math1(n, in(t, 0), vd_tanh);
}

void *eg_poly(hl_task *t, int64_t n)
{
	double *a2 = arith('*', n, in(t, 0), in(t, 0));
	double *b1 = arith('+', n, in(t, 1), num(1));
	double *p = math2(n, tmp(b1), num(-2.5), vd_pow);
	free(b1);
	double *r = arith('+', n, tmp(a2), tmp(p));
	free(a2);
	free(p);
	return r;
}

void *eg_pow50(hl_task *t, int64_t n)
{
	double *a1 = arith('+', n, in(t, 0), num(1));
	double *r = math2(n, tmp(a1), num(50), vd_pow);
	free(a1);
	return r;
}

void *eg_logexp(hl_task *t, int64_t n)
{
	double *e = math1(n, in(t, 0), vd_exp);
	double *e1 = arith('+', n, tmp(e), num(1));
	free(e);
	double *l = math1(n, tmp(e1), vd_log);
	free(e1);
	double *r = arith('/', n, tmp(l), in(t, 1));
	free(l);
	return r;
}

/* where(0.1*a > arctan2(a, b), 2*a, arctan2(a, b)): NumPy computes
 * arctan2 twice, as written. */
void *eg_where(hl_task *t, int64_t n)
{
	double *a01 = arith('*', n, num(0.1), in(t, 0));
	double *y = math2(n, in(t, 0), in(t, 1), vd_atan2);
	unsigned char *c = greater(n, tmp(a01), tmp(y));
	free(a01);
	free(y);
	double *a2 = arith('*', n, num(2), in(t, 0));
	double *y2 = math2(n, in(t, 0), in(t, 1), vd_atan2);
	double *r = where(n, c, tmp(a2), tmp(y2));
	free(c);
	free(a2);
	free(y2);
	return r;
}

static size_t square_bytes(const hl_task *t)
{
	return (size_t)(t->n * t->n) * sizeof(double);
}

void *eg_outer(hl_task *t, int64_t n)
{
	return one_op(t, n, square_bytes(t), hl_outer);
}

void *eg_add_transpose(hl_task *t, int64_t n)
{
	return one_op(t, n, square_bytes(t), hl_add_transpose);
}

void *eg_transpose_copy(hl_task *t, int64_t n)
{
	return one_op(t, n, square_bytes(t), hl_transpose_copy);
}

void *eg_sum_axis0(hl_task *t, int64_t n)
{
	return one_op(t, n, (size_t)n * sizeof(double), hl_sum_axis0);
}

void *eg_sum_axis1(hl_task *t, int64_t n)
{
	return one_op(t, n, (size_t)n * sizeof(double), hl_sum_axis1);
}

void *eg_sum_row0(hl_task *t, int64_t n)
{
	return reduce_op(t, n, hl_sum_row0, hl_sum_finish);
}

void *eg_sum_col0(hl_task *t, int64_t n)
{
	return reduce_op(t, n, hl_sum_col0, hl_sum_finish);
}

/* sqrt(sum(a**2)): the squares are a temporary. */
void *eg_norm(hl_task *t, int64_t n)
{
	double *sq = arith('*', n, in(t, 0), in(t, 0));
	double *r = new_f64(1);
	*r = sqrt(hl_sum(sq, n, 1));
	free(sq);
	return r;
}

void *eg_random(hl_task *t, int64_t n)
{
	return one_op(t, n, (size_t)n * sizeof(double), hl_random);
}
