/*
 * arrjit-bench: times arrjit against hand-written fused C loops, an eager
 * op-by-op baseline and the machine's own memory bandwidth.
 *
 *   stream references (hand loops on N threads, best of STREAM_RUNS)
 *     -> for each workload: inputs (deterministic, touched before timing)
 *        -> warm-up run of every side (arrjit compiles its kernel here)
 *        -> --reps rounds, each timing arrjit, eager and every hand loop
 *        -> check every side's output against the first hand loop's
 *        -> one table row or JSON line (spec: /work/spec-bench.md)
 *
 * Sides: arrjit (aj_exec of the workload's statement, or the builder API
 * for seed) on N threads; eager (eager.c) on one thread; hand loops
 * (handloops.c) split across the harness's own team of N threads. Only the
 * public API (arrjit.h) is used. Every side runs as often as the others
 * (time_sides), so in-place workloads end equal. A failed arrjit call or a mismatch prints
 * FAIL with the reason and makes the exit status 1; the other sides and
 * workloads still run, so a wrong kernel is never timed silently.
 */
#define _DEFAULT_SOURCE /* madvise */
#define _POSIX_C_SOURCE 200809L

#include "arrjit.h"
#include "eager.h"
#include "handloops.h"
#include "team.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAXIN	5
#define MAXHAND 2
#define MAXREPS 10000

/* Side 0 is arrjit, 1 eager, 2 + h hand loop h. */
enum { SIDE_AJ, SIDE_EAGER, SIDE_HAND, NSIDE = SIDE_HAND + MAXHAND };

/*
 * Tolerances, in ULPs of the output dtype, of |got - want| / max(|want|,
 * 1) against the first hand loop (the floor of 1 keeps cancellation near
 * zero from raising false alarms). Each side is within about 1 ULP per
 * operation (SLEEF u10 and glibc functions within 1, + - * / sqrt exact,
 * FMA contraction moving a result by one), so two sides may differ by 2
 * per operation: OPS(k) for k operations. Sums differ by their order:
 * SUMS is about 1e-12.
 */
#define OPS(k) (2.0 * (k))
#define SUMS   4096.0

/* What a workload reads and writes; fixes its setup, bytes and stream
 * reference. n is the spec's n. */
typedef enum layout {
	L_SEED,	     /* 3x3 a (each side its own) and b; n iterations */
	L_INPLACE,   /* the output, n elements, is also the input */
	L_FLAT,	     /* nin inputs of n elements; output n */
	L_STRIDED,   /* nin inputs x[::2] of 2n-element arrays; output n */
	L_UNALIGNED, /* nin inputs 1 byte past 64-byte alignment; output n */
	L_OUTER,     /* a of n elements; output n x n */
	L_SQUARE,    /* a n x n; output n x n */
	L_SUM1,	     /* a n x n; output () from n of its elements */
	L_SUMN,	     /* a n x n; output n */
	L_NORM,	     /* a of n elements; output () */
	L_RANDOM,    /* no input; output n, or n/cols x cols */
} layout;

typedef struct workload {
	const char *name;
	/* The arrjit statement, run by aj_exec with a..e bound to the inputs
	 * and out to the output (a to the output in place); NULL: seed. */
	const char *text;
	int64_t n, nquick;
	layout lay;
	int nin;
	bool f32;    /* float32 instead of float64 */
	bool from0;  /* inputs uniform in [0, 1), else [0.5, 1.5) */
	bool serial; /* the hand loops run on one thread, as arrjit must */
	int64_t cols; /* L_RANDOM: a matrix of this many columns, or 0 */
	double ulps;  /* tolerance, see OPS */
	eg_fn *eager;
	hl_fn *hand[MAXHAND]; /* "fused", then "sleef" if any */
	hl_finish_fn *finish; /* combines a reduction's partial results */
	bool prepared; /* seed through aj_prepare / aj_prepared_run */
	bool fast;     /* arrjit in AJ_ACCURACY_FAST */
} workload;

static const char *hand_kinds[MAXHAND] = {"fused", "sleef"};

/* Hand loop h's kind: the second is libmvec's for the fast mode. */
static const char *hand_kind(const workload *w, int h)
{
	return w->fast && h == 1 ? "mvec" : hand_kinds[h];
}

#define NE(sfx, lay, expr, nin, from0, ulps, name)                           \
	{"ne_" #name "_" #sfx, "out = " expr, 10000000, 1000000, lay, nin,   \
	 false, from0, false, 0, ulps, eg_##name,                            \
	 {hl_##name##_libm, hl_##name##_sleef}, NULL, false, false}
#define NE3(expr, nin, from0, ulps, name)                                    \
	NE(c, L_FLAT, expr, nin, from0, ulps, name),                         \
	    NE(s, L_STRIDED, expr, nin, from0, ulps, name),                  \
	    NE(u, L_UNALIGNED, expr, nin, from0, ulps, name)

/*
 * The spec's table (/work/spec-bench.md), then the workloads only this
 * harness has.
 */
// clang-format off
static const workload workloads[] = {
	{"seed", NULL, 1000000, 200000, L_SEED, 1, .ulps = OPS(2),
	 .serial = true, .eager = eg_seed, .hand = {hl_seed}},
	{"seed_prepared", NULL, 1000000, 200000, L_SEED, 1, .ulps = OPS(2),
	 .serial = true, .prepared = true, .eager = eg_seed, .hand = {hl_seed}},
	{"inplace_add1", "a[:] = a + 1", 1000000, 1000000, L_INPLACE, 0,
	 .ulps = OPS(1), .eager = eg_add1, .hand = {hl_add1}},
	{"scale", "out = a*2", 10000000, 2000000, L_FLAT, 1, .ulps = OPS(1),
	 .eager = eg_scale, .hand = {hl_scale}},
	{"scale_inplace", "a *= 2", 10000000, 2000000, L_INPLACE, 0,
	 .ulps = OPS(1), .eager = eg_scale_inplace,
	 .hand = {hl_scale_inplace}},
	{"axpy2", "out = 2*a + 3*b", 10000000, 2000000, L_FLAT, 2,
	 .ulps = OPS(3), .eager = eg_axpy2, .hand = {hl_axpy2}},
	{"mix5", "out = a*b + c*d - e", 10000000, 2000000, L_FLAT, 5,
	 .ulps = OPS(4), .eager = eg_mix5, .hand = {hl_mix5}},
	{"norm", "out = sqrt(sum(a**2))", 100000000, 10000000, L_NORM, 1,
	 .ulps = SUMS, .eager = eg_norm, .hand = {hl_norm},
	 .finish = hl_norm_finish},
	{"exp_mix", "out = exp(a)*sin(b) + log1p(c)", 10000000, 1000000,
	 L_FLAT, 3, .ulps = OPS(5), .eager = eg_exp_mix,
	 .hand = {hl_exp_mix_libm, hl_exp_mix_sleef}},
	{"exp_mix_fast", "out = exp(a)*sin(b) + log1p(c)", 10000000, 1000000,
	 L_FLAT, 3, .fast = true, .ulps = OPS(8), .eager = eg_exp_mix,
	 .hand = {hl_exp_mix_libm, hl_exp_mix_mvec}},
	{"exp_mix_f32", "out = exp(a)*sin(b) + log1p(c)", 10000000, 1000000,
	 L_FLAT, 3, .f32 = true, .ulps = OPS(5), .eager = eg_exp_mix_f32,
	 .hand = {hl_exp_mix_f32_libm, hl_exp_mix_f32_sleef}},
	{"tanh", "out = tanh(a)", 10000000, 1000000, L_FLAT, 1,
	 .ulps = OPS(1), .eager = eg_tanh,
	 .hand = {hl_tanh_libm, hl_tanh_sleef}},
	{"outer", "out = a[:, None] * a[None, :]", 4000, 2000, L_OUTER, 1,
	 .ulps = OPS(1), .eager = eg_outer, .hand = {hl_outer}},
	{"add_transpose", "out = a + a.T", 4000, 2000, L_SQUARE, 1,
	 .ulps = OPS(1), .eager = eg_add_transpose,
	 .hand = {hl_add_transpose}},
	{"transpose_copy", "out = a.T", 4000, 2000, L_SQUARE, 1,
	 .ulps = 0, .eager = eg_transpose_copy, .hand = {hl_transpose_copy}},
	{"sum_row0", "out = sum(a[0, :])", 5000, 2000, L_SUM1, 1,
	 .ulps = SUMS, .eager = eg_sum_row0, .hand = {hl_sum_row0},
	 .finish = hl_sum_finish},
	{"sum_col0", "out = sum(a[:, 0])", 5000, 2000, L_SUM1, 1,
	 .ulps = SUMS, .eager = eg_sum_col0, .hand = {hl_sum_col0},
	 .finish = hl_sum_finish},
	{"sum_axis0", "out = sum(a, axis=0)", 5000, 2000, L_SUMN, 1,
	 .ulps = SUMS, .eager = eg_sum_axis0, .hand = {hl_sum_axis0}},
	{"sum_axis1", "out = sum(a, axis=1)", 5000, 2000, L_SUMN, 1,
	 .ulps = SUMS, .eager = eg_sum_axis1, .hand = {hl_sum_axis1}},
	{"where_add", "out = where(a > 0.5, a, 0) + b", 10000000, 2000000,
	 L_FLAT, 2, .from0 = true, .ulps = OPS(2), .eager = eg_where_add,
	 .hand = {hl_where_add}},
	{"random_1k", "out = random()", 1000000, 1000000, L_RANDOM, 0,
	 .cols = 1000, .eager = eg_random, .hand = {hl_random}},
	{"random_1e7", "out = random()", 10000000, 2000000, L_RANDOM, 0,
	 .eager = eg_random, .hand = {hl_random}},
	NE3("a**2 + (b+1)**-2.5", 2, false, OPS(4), poly),
	NE3("(a+1)**50", 1, false, OPS(2), pow50),
	{"ne_hypot_c", "out = sqrt(a**2 + b**2)", 10000000, 1000000, L_FLAT,
	 2, .ulps = OPS(4), .eager = eg_hypot, .hand = {hl_hypot}},
	{"ne_hypot_s", "out = sqrt(a**2 + b**2)", 10000000, 1000000,
	 L_STRIDED, 2, .ulps = OPS(4), .eager = eg_hypot, .hand = {hl_hypot}},
	{"ne_hypot_u", "out = sqrt(a**2 + b**2)", 10000000, 1000000,
	 L_UNALIGNED, 2, .ulps = OPS(4), .eager = eg_hypot,
	 .hand = {hl_hypot}},
	NE3("log(exp(a)+1)/b", 2, false, OPS(4), logexp),
	NE3("where(0.1*a > arctan2(a, b), 2*a, arctan2(a, b))", 2, true,
	    OPS(6), where),
	{"shift_back", "a[1:] = a[:-1] + 1", 10000000, 2000000, L_INPLACE, 0,
	 .serial = true, .ulps = OPS(1), .eager = eg_shift_back,
	 .hand = {hl_shift_back}},
	{"shift_fwd", "a[:-1] = a[1:] + 1", 10000000, 2000000, L_INPLACE, 0,
	 .serial = true, .ulps = OPS(1), .eager = eg_shift_fwd,
	 .hand = {hl_shift_fwd}},
	{"strided_add", "out = a + b", 5000000, 1000000, L_STRIDED, 2,
	 .ulps = OPS(1), .eager = eg_strided_add, .hand = {hl_strided_add}},
};
// clang-format on
#define NWORKLOAD ((int)(sizeof(workloads) / sizeof(workloads[0])))

typedef struct options {
	bool quick, json, crossover, serve, list;
	int reps;
	int threads; /* arrjit's and the hand loops' */
	const char *filter;
} options;

typedef struct timing {
	double med, min, max; /* ns per run */
} timing;

/* The bandwidth references, measured once before the workloads. */
enum { REF_TRIAD, REF_COPY, REF_READ, REF_WRITE, NREF };
static const char *ref_name[NREF] = {"triad", "copy", "read", "write"};

typedef struct bench {
	const workload *w;
	aj_ctx *ctx;
	aj_prog *prog;
	aj_names *ns;
	aj_prepared *prep; /* seed_prepared's kernel */
	team *team;
	int64_t n;    /* the workload's n */
	int64_t nout; /* output elements */
	size_t esize; /* bytes per element */
	int nhand;
	int nparts; /* chunks of a hand loop: the team's size, or 1 */
	int inner;  /* runs per timed sample (time_sides) */
	aj_array *in[MAXIN];  /* arrjit's inputs (views for L_STRIDED) */
	aj_array *src[MAXIN]; /* the arrays behind them */
	void *raw[MAXIN];     /* L_UNALIGNED: the buffers (free) */
	aj_array *out[NSIDE]; /* per side; eager's only when in place */
	aj_array *init;	      /* seed: a before every run */
	void *eager_res;      /* eager's latest result (malloc) */
	hl_task task[NSIDE];  /* per side: the hand loops' view of it all */
	bool aj_ok;	      /* arrjit's side still runs */
	char err[256];	      /* why it stopped, or why the check failed */
} bench;

/* ---- data ---------------------------------------------------------------- */

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* A 64-bit LCG (Knuth's MMIX constants): the same values on every machine,
 * uniform in [lo, lo + 1). Element i is at p + i*esize, any alignment. */
static void fill_lcg(void *p, int64_t n, size_t esize, uint64_t seed,
		     double lo)
{
	uint64_t st = seed * 0x9e3779b97f4a7c15u + 1;
	for (int64_t i = 0; i < n; i++) {
		st = st * 6364136223846793005u + 1442695040888963407u;
		double x = lo + (double)(st >> 11) * 0x1.0p-53;
		float f = (float)x;
		memcpy((char *)p + (size_t)i * esize, esize == 4 ? (void *)&f
								 : (void *)&x,
		       esize);
	}
}

/* NaN faults the pages in before timing, and a side that writes nothing
 * fails the check. */
static void fill_nan(aj_array *a)
{
	int64_t n = aj_array_size(a);
	for (int64_t i = 0; i < n; i++)
		if (aj_array_dtype(a) == AJ_FLOAT32)
			((float *)aj_array_data(a))[i] = NAN;
		else
			((double *)aj_array_data(a))[i] = NAN;
}

static void set_err(bench *b, const char *what, const char *msg)
{
	snprintf(b->err, sizeof b->err, "%s: %s", what, msg);
}

/* Shapes of the inputs and the output, from the layout. */
static int in_shape(const bench *b, int64_t *shape)
{
	shape[0] = shape[1] = b->n;
	switch (b->w->lay) {
	case L_SEED:
		shape[0] = shape[1] = 3;
		return 2;
	case L_STRIDED:
		shape[0] = 2 * b->n;
		return 1;
	case L_SQUARE:
	case L_SUM1:
	case L_SUMN:
		return 2;
	default:
		return 1;
	}
}

static int out_shape(const bench *b, int64_t *shape)
{
	shape[0] = shape[1] = b->n;
	switch (b->w->lay) {
	case L_SEED:
		shape[0] = shape[1] = 3;
		return 2;
	case L_OUTER:
	case L_SQUARE:
		return 2;
	case L_SUM1:
	case L_NORM:
		return 0;
	case L_RANDOM:
		if (!b->w->cols)
			return 1;
		shape[0] = b->n / b->w->cols;
		shape[1] = b->w->cols;
		return 2;
	default:
		return 1;
	}
}

/* Input k: an owned array (the source of a [::2] view for L_STRIDED), or (L_UNALIGNED) caller memory 1 byte past a
 * 64-byte boundary, wrapped. The hand loops read task.in[k] either way. */
static aj_status new_input(bench *b, int k)
{
	aj_dtype dt = b->w->f32 ? AJ_FLOAT32 : AJ_FLOAT64;
	int64_t shape[2];
	int nd = in_shape(b, shape);
	int64_t count = nd == 2 ? shape[0] * shape[1] : shape[0];
	size_t bytes = (size_t)count * b->esize;
	void *data;
	if (b->w->lay == L_UNALIGNED) {
		b->raw[k] = aligned_alloc(64, (bytes + 64 + 63) / 64 * 64);
		if (!b->raw[k])
			return AJ_ERR_NOMEM;
		data = (char *)b->raw[k] + 1;
	} else {
		aj_array **a = b->w->lay == L_STRIDED ? &b->src[k] : &b->in[k];
		aj_status s = aj_array_new(b->ctx, dt, nd, shape, a);
		if (s != AJ_OK)
			return s;
		data = aj_array_data(*a);
	}
	fill_lcg(data, count, b->esize, (uint64_t)k + 1, b->w->from0 ? 0 : 0.5);
	for (int side = 0; side < NSIDE; side++)
		b->task[side].in[k] = data;
	return AJ_OK;
}

/* arrjit's view of input k: [::2] of the array, or the wrapped unaligned
 * memory (which arrjit may refuse: that is a finding, reported). */
static aj_status view_input(bench *b, int k)
{
	static const aj_slice every2 = {AJ_DEFAULT, AJ_DEFAULT, 2};
	if (b->w->lay == L_STRIDED)
		return aj_view_slice(b->ctx, b->src[k], &every2, &b->in[k]);
	if (b->w->lay != L_UNALIGNED)
		return AJ_OK;
	size_t bytes = (size_t)b->n * b->esize + 64;
	return aj_array_wrap(b->ctx, b->raw[k], bytes, 1,
			     b->w->f32 ? AJ_FLOAT32 : AJ_FLOAT64, 1, &b->n,
			     NULL, &b->in[k]);
}

static aj_status new_output(bench *b, int side)
{
	int64_t shape[2];
	int nd = out_shape(b, shape);
	aj_dtype dt = b->w->f32 ? AJ_FLOAT32 : AJ_FLOAT64;
	aj_status s = aj_array_new(b->ctx, dt, nd, shape, &b->out[side]);
	if (s != AJ_OK)
		return s;
	aj_array *a = b->out[side];
	if (b->w->lay == L_INPLACE)
		fill_lcg(aj_array_data(a), aj_array_size(a), b->esize, 1, 0.5);
	else
		fill_nan(a);
	b->task[side].out = aj_array_data(a);
	return AJ_OK;
}

static bool in_place(const workload *w)
{
	return w->lay == L_INPLACE || w->lay == L_SEED;
}

/* Inputs, outputs and tasks of every side; false (b->err set) if the
 * harness cannot run the workload at all. */
static bool setup_sides(bench *b)
{
	const workload *w = b->w;
	aj_status s = AJ_OK;
	for (int side = 0; side < NSIDE; side++)
		b->task[side] = (hl_task){.st = w->lay == L_STRIDED ? 2 : 1,
					  .n = b->n, .seed = 42};
	for (int k = 0; k < w->nin && s == AJ_OK; k++)
		s = new_input(b, k);
	for (int side = 0; side < SIDE_HAND + b->nhand && s == AJ_OK; side++)
		if (side != SIDE_EAGER || in_place(w))
			s = new_output(b, side);
	if (s == AJ_OK && w->lay == L_SEED) {
		static const int64_t shape[2] = {3, 3};
		s = aj_array_new(b->ctx, AJ_FLOAT64, 2, shape, &b->init);
		if (s == AJ_OK)
			fill_lcg(aj_array_data(b->init), 9, 8, 2, 0.5);
	}
	if (s != AJ_OK)
		set_err(b, "setup", aj_ctx_errmsg(b->ctx));
	b->nout = s == AJ_OK ? aj_array_size(b->out[SIDE_HAND]) : 0;
	return s == AJ_OK;
}

/* arrjit's views, program and namespace; on failure its side is off. */
static void setup_arrjit(bench *b)
{
	static const char *names[MAXIN] = {"a", "b", "c", "d", "e"};
	const workload *w = b->w;
	aj_status s = AJ_OK;
	for (int k = 0; k < w->nin && s == AJ_OK; k++)
		s = view_input(b, k);
	if (s == AJ_OK)
		s = aj_prog_new(b->ctx, &b->prog);
	if (s == AJ_OK && w->text)
		s = aj_names_new(b->prog, &b->ns);
	for (int k = 0; k < w->nin && s == AJ_OK && w->text; k++)
		s = aj_names_set_array(b->ns, names[k], b->in[k]);
	if (s == AJ_OK && w->text)
		s = aj_names_set_array(b->ns, w->lay == L_INPLACE ? "a" : "out",
				       b->out[SIDE_AJ]);
	if (s == AJ_OK && w->prepared) {
		aj_param q[3] = {{"a", b->out[SIDE_AJ], 0}, {"b", b->in[0], 0},
				 {"i", NULL, AJ_FLOAT64}};
		s = aj_prepare(b->ctx, "a += b*i", 3, q, &b->prep);
	}
	if (s != AJ_OK) {
		set_err(b, "arrjit setup", aj_ctx_errmsg(b->ctx));
		b->aj_ok = false;
	}
}

static void bench_free(bench *b)
{
	aj_prepared_free(b->prep);
	aj_names_free(b->ns);
	aj_prog_free(b->prog);
	for (int i = 0; i < MAXIN; i++) {
		aj_array_free(b->in[i]);
		aj_array_free(b->src[i]);
		free(b->raw[i]);
	}
	for (int i = 0; i < NSIDE; i++)
		aj_array_free(b->out[i]);
	aj_array_free(b->init);
	free(b->eager_res);
}

/* ---- the sides ----------------------------------------------------------- */

/* a += b*i through the ordinary lazy API, one statement and sync per i;
 * the scalar i is a runtime parameter, so one kernel serves every i. */
static aj_status run_seed(bench *b)
{
	aj_prog *p = b->prog;
	aj_array *a = b->out[SIDE_AJ];
	for (int64_t i = 0; i < b->n; i++) {
		aj_expr bi = aj_mul(p, aj_leaf(p, b->in[0]),
				    aj_scalar_f64(p, (double)i));
		aj_status s = aj_assign(p, a, aj_add(p, aj_leaf(p, a), bi));
		if (s == AJ_OK)
			s = aj_sync(p);
		if (s != AJ_OK)
			return s;
	}
	return AJ_OK;
}

/* seed through the prepared kernel: per i, the args and one run. */
static aj_status run_seed_prepared(bench *b)
{
	aj_arg args[3] = {{.array = b->out[SIDE_AJ]}, {.array = b->in[0]}};
	for (int64_t i = 0; i < b->n; i++) {
		args[2].f = (double)i;
		aj_status s = aj_prepared_run(b->prep, args);
		if (s != AJ_OK)
			return s;
	}
	return AJ_OK;
}

static aj_status run_arrjit(bench *b)
{
	if (b->w->prepared)
		return run_seed_prepared(b);
	if (!b->w->text)
		return run_seed(b);
	aj_status s = aj_exec(b->ns, b->w->text, NULL);
	return s != AJ_OK ? s : aj_sync(b->prog);
}

/* The new result replaces the old one after it is computed, as rebinding
 * a NumPy name does. */
static void run_eager(bench *b)
{
	void *r = b->w->eager(&b->task[SIDE_EAGER], b->n);
	free(b->eager_res);
	b->eager_res = r;
}

static void run_hand(bench *b, int h)
{
	const workload *w = b->w;
	hl_task *t = &b->task[SIDE_HAND + h];
	int nparts = b->nparts;
	if (w->finish)
		memset(t->part, 0, (size_t)nparts * sizeof t->part[0]);
	team_run(b->team, w->hand[h], t, b->n, 64, nparts);
	if (w->finish)
		w->finish(t, nparts);
}

/* Runs one side once; false if arrjit failed (b->err says why). */
static bool run_side(bench *b, int side)
{
	if (b->w->lay == L_SEED)
		memcpy(aj_array_data(b->out[side]), aj_array_data(b->init),
		       9 * sizeof(double));
	if (side == SIDE_EAGER) {
		run_eager(b);
	} else if (side >= SIDE_HAND) {
		run_hand(b, side - SIDE_HAND);
	} else if (run_arrjit(b) != AJ_OK) {
		set_err(b, "arrjit run", b->prep ? aj_prepared_errmsg(b->prep)
						  : aj_prog_errmsg(b->prog));
		return false;
	}
	return true;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static timing summarize(double *ns, int reps)
{
	qsort(ns, (size_t)reps, sizeof(double), cmp_double);
	double med =
	    reps % 2 ? ns[reps / 2] : (ns[reps / 2 - 1] + ns[reps / 2]) / 2;
	return (timing){med, ns[0], ns[reps - 1]};
}

/*
 * A round runs every side in turn: `inner` runs untimed, which bring that
 * side's arrays into the cache and its threads and CPUs awake as a loop
 * calling the same operation would find them, then one timed sample of
 * `inner` runs back to back. Interleaving the sides spreads a noisy
 * machine's drift evenly over them. The first round is a warm-up (arrjit
 * compiles its kernel there) and also sets inner: enough runs for the
 * fastest side's sample to last MIN_SAMPLE_NS, as anchors.py repeats a
 * short run within its samples. Timing single runs of 0.1 ms instead
 * measured thread wake-up more than the kernel, for arrjit's pool and the
 * hand loops' team alike. One untimed run was not enough either: after
 * the other sides, the first millisecond of a side's runs stays slow on
 * this VM (`a *= 2` on 16 MB, two threads: arrjit 0.16-0.20 ms a run
 * after one untimed run, 0.10-0.12 after a sample's worth, 0.08-0.10
 * with no other side; bench/RESULTS.md, session 11). Every side runs the
 * same number of times, so in-place workloads end equal.
 * ns has room for NSIDE * reps values; a failed arrjit run turns its side
 * off and the others go on.
 */
enum { MIN_SAMPLE_NS = 1000000, MAX_INNER = 1000 };

static void time_sides(bench *b, int reps, double *ns, timing *t)
{
	int nside = SIDE_HAND + b->nhand;
	int inner = 1;
	double fastest = 0;
	for (int r = -1; r < reps; r++) {
		for (int side = 0; side < nside; side++) {
			if (side == SIDE_AJ && !b->aj_ok)
				continue;
			bool ok = true;
			for (int k = 0; k < inner && ok; k++)
				ok = run_side(b, side);
			double t0 = now_ns();
			for (int k = 0; k < inner && ok; k++)
				ok = run_side(b, side);
			double dt = (now_ns() - t0) / inner;
			if (!ok) {
				b->aj_ok = false;
				continue;
			}
			if (r >= 0)
				ns[side * reps + r] = dt;
			else if (fastest == 0 || dt < fastest)
				fastest = dt;
		}
		if (r < 0 && fastest > 0 && fastest < MIN_SAMPLE_NS) {
			double k = ceil(MIN_SAMPLE_NS / fastest);
			inner = k < MAX_INNER ? (int)k : MAX_INNER;
		}
	}
	b->inner = inner;
	for (int side = 0; side < nside; side++)
		t[side] = summarize(ns + side * reps, reps);
}

/* ---- checking ------------------------------------------------------------ */

static const char *side_name(const bench *b, int side)
{
	return side == SIDE_AJ	    ? "arrjit"
	       : side == SIDE_EAGER ? "eager"
				    : hand_kind(b->w, side - SIDE_HAND);
}

static const void *side_result(const bench *b, int side)
{
	if (side == SIDE_EAGER && !in_place(b->w))
		return b->eager_res;
	return aj_array_data(b->out[side]);
}

static double elem(const bench *b, const void *p, int64_t i)
{
	return b->w->f32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

/* Largest |got - want| / max(|want|, 1) against the first hand loop; NaN
 * counts as infinite. On a mismatch b->err says where. */
static bool check_close(bench *b, int side)
{
	const void *got = side_result(b, side);
	const void *want = side_result(b, SIDE_HAND);
	double eps = b->w->f32 ? FLT_EPSILON : DBL_EPSILON;
	double tol = b->w->ulps * eps, worst = 0;
	int64_t at = 0;
	for (int64_t i = 0; i < b->nout; i++) {
		double x = elem(b, want, i);
		double d = fabs(elem(b, got, i) - x) / fmax(fabs(x), 1.0);
		if (!(d <= worst))
			worst = isnan(d) ? INFINITY : d, at = i;
	}
	if (worst <= tol)
		return true;
	char msg[200];
	snprintf(msg, sizeof msg,
		 "max rel diff %.3g > %.3g (%g ulp) at element %lld: %.17g, "
		 "%s %.17g",
		 worst, tol, b->w->ulps, (long long)at, elem(b, got, at),
		 hand_kind(b->w, 0), elem(b, want, at));
	set_err(b, side_name(b, side), msg);
	return false;
}

/* Uniform [0, 1) doubles: all in range, mean within 6 sigma of 0.5. */
static bool check_uniform(bench *b, int side)
{
	const double *x = side_result(b, side);
	double sum = 0;
	for (int64_t i = 0; i < b->nout; i++) {
		if (!(x[i] >= 0 && x[i] < 1)) {
			char msg[80];
			snprintf(msg, sizeof msg, "element %lld is %.17g",
				 (long long)i, x[i]);
			set_err(b, side_name(b, side), msg);
			return false;
		}
		sum += x[i];
	}
	double mean = sum / (double)b->nout;
	if (fabs(mean - 0.5) <= 6 * sqrt(1.0 / 12 / (double)b->nout))
		return true;
	char msg[80];
	snprintf(msg, sizeof msg, "mean %.6f, not 0.5", mean);
	set_err(b, side_name(b, side), msg);
	return false;
}

/* Every side that ran against the first hand loop (random: each on its
 * own); false with b->err set on the first failure. */
static bool check_sides(bench *b)
{
	if (!b->aj_ok)
		return false;
	for (int side = 0; side < SIDE_HAND + b->nhand; side++) {
		if (b->w->lay == L_RANDOM ? !check_uniform(b, side)
		    : side != SIDE_HAND   ? !check_close(b, side)
					  : false)
			return false;
	}
	return true;
}

/* ---- output -------------------------------------------------------------- */

typedef struct result {
	timing t[NSIDE]; /* per side, ns per run */
	double unit;	 /* ns per reported unit: 1e6 (ms) or n (ns/it) */
	double bytes;	 /* that must move per run */
	int ref;	 /* REF_*: the stream line it is measured against */
	double ref_gbps; /* and that line's GB/s */
	uint64_t kernels; /* compiled for this workload (not cache hits) */
	double compile_ms; /* and the time that took */
	bool ok;
} result;

static double traffic(const bench *b)
{
	double n = (double)b->n, e = (double)b->esize;
	switch (b->w->lay) {
	case L_SEED:
		return 3 * 9 * 8 * n;
	case L_INPLACE:
		return 2 * n * e;
	case L_OUTER:
		return (n + n * n) * e;
	case L_SQUARE:
		return 2 * n * n * e;
	case L_SUM1:
	case L_NORM:
		return (n + 1) * e;
	case L_SUMN:
		return (n * n + n) * e;
	case L_RANDOM:
		return n * e;
	default:
		return (b->w->nin + 1) * n * e;
	}
}

static int stream_ref(layout lay)
{
	switch (lay) {
	case L_SUM1:
	case L_SUMN:
	case L_NORM:
		return REF_READ;
	case L_SQUARE:
		return REF_COPY;
	case L_OUTER:
	case L_RANDOM:
		return REF_WRITE;
	default:
		return REF_TRIAD;
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_header(const options *o, aj_ctx *ctx, const double *gbps,
			 double mb)
{
	static const char *isas[] = {"host", "scalar", "avx2", "avx512"};
	unsigned isa = (unsigned)aj_ctx_isa(ctx);
	if (o->json) {
		for (int r = 0; r < NREF; r++)
			printf("{\"kind\":\"stream\",\"name\":\"%s\","
			       "\"threads\":%d,\"gbps\":%.4g}\n",
			       ref_name[r], o->threads, gbps[r]);
		return;
	}
	printf("arrjit-bench%s: threads %d (arrjit and hand loops; eager 1), "
	       "reps %d, arrjit isa %s, SLEEF hand loops %s\n",
	       o->quick ? " --quick" : "", o->threads, o->reps,
	       isa < 4 ? isas[isa] : "?", hl_sleef_isa());
	printf("stream, %d threads, 3 x %.0f MB, best of runs:", o->threads,
	       mb);
	for (int r = 0; r < NREF; r++)
		printf(" %s %.1f GB/s%s", ref_name[r], gbps[r],
		       r + 1 < NREF ? "," : "\n");
	printf("%-14s %9s %-5s %9s %17s %6s %10s %9s %7s %9s %-5s %6s %s\n",
	       "workload", "n", "unit", "arrjit", "spread (min..max)", "GB/s",
	       "%bw ref", "eager", "x-eager", "hand-C", "hand", "ratio",
	       "check");
}

static void print_row(const bench *b, const result *r, const char *check)
{
	const workload *w = b->w;
	const timing *aj = &r->t[SIDE_AJ];
	double eager = r->t[SIDE_EAGER].med;
	printf("%-14s %9lld %-5s ", w->name, (long long)b->n,
	       w->lay == L_SEED ? "ns/it" : "ms");
	if (b->aj_ok) {
		char spread[40], pct[20];
		snprintf(spread, sizeof spread, "%.3f..%.3f", aj->min / r->unit,
			 aj->max / r->unit);
		snprintf(pct, sizeof pct, "%.0f%% %s",
			 100 * r->bytes / aj->med / r->ref_gbps, ref_name[r->ref]);
		printf("%9.3f %17s %6.2f %10s %9.3f %7.2f", aj->med / r->unit,
		       spread, r->bytes / aj->med, pct, eager / r->unit,
		       eager / aj->med);
	} else {
		printf("%9s %17s %6s %10s %9.3f %7s", "-", "-", "-", "-",
		       eager / r->unit, "-");
	}
	for (int h = 0; h < b->nhand; h++) {
		double hm = r->t[SIDE_HAND + h].med;
		if (h)
			printf("\n%-14s %9s %-5s %9s %17s %6s %10s %9s %7s", "",
			       "", "", "", "", "", "", "", "");
		printf(" %9.3f %-5s ", hm / r->unit, hand_kind(b->w, h));
		if (b->aj_ok)
			printf("%6.2f", aj->med / hm);
		else
			printf("%6s", "-");
		if (!h)
			printf(" %s", check);
	}
	printf("\n");
	if (!r->ok)
		printf("  FAIL %s: %s\n", w->name, b->err);
}

/* The spec's workload line; a field arrjit could not fill is null. */
static void print_json(const options *o, const bench *b, const result *r)
{
	const workload *w = b->w;
	const timing *aj = &r->t[SIDE_AJ];
	double u = r->unit, eager = r->t[SIDE_EAGER].med;
	printf("{\"kind\":\"workload\",\"name\":\"%s\",\"n\":%lld,"
	       "\"unit\":\"%s\",\"threads\":%d,\"bytes\":%.0f,\"inner\":%d,",
	       w->name, (long long)b->n, w->lay == L_SEED ? "ns/it" : "ms",
	       o->threads, r->bytes, b->inner);
	if (b->aj_ok)
		printf("\"arrjit\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g},"
		       "\"gbps\":%.4g,\"bw_ref\":\"%s\",\"bw_pct\":%.4g,",
		       aj->med / u, aj->min / u, aj->max / u,
		       r->bytes / aj->med, ref_name[r->ref],
		       100 * r->bytes / aj->med / r->ref_gbps);
	else
		printf("\"arrjit\":null,\"gbps\":null,\"bw_ref\":\"%s\","
		       "\"bw_pct\":null,",
		       ref_name[r->ref]);
	printf("\"eager\":{\"median\":%.6g},\"speedup_eager\":", eager / u);
	if (b->aj_ok)
		printf("%.4g", eager / aj->med);
	else
		printf("null");
	printf(",\"hand\":[");
	for (int h = 0; h < b->nhand; h++)
		printf("%s{\"kind\":\"%s\",\"median\":%.6g}", h ? "," : "",
		       hand_kind(b->w, h), r->t[SIDE_HAND + h].med / u);
	printf("],\"ratio_hand\":");
	if (b->aj_ok)
		printf("%.4g", aj->med / r->t[SIDE_HAND].med);
	else
		printf("null");
	printf(",\"kernels\":%llu,\"compile_ms\":%.3f",
	       (unsigned long long)r->kernels, r->compile_ms);
	printf(",\"check\":\"%s\"", r->ok ? "ok" : "FAIL");
	if (!r->ok) {
		printf(",\"error\":");
		json_string(b->err);
	}
	printf("}\n");
}

/* The context's statistics as the last JSON line: how many kernels were
 * compiled and how long that took (the compile-time target), and what
 * the disk cache and plans served. */
static void print_stats_json(aj_ctx *ctx)
{
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	printf("{\"kind\":\"stats\",\"kernels_compiled\":%llu,\"compile_ms\":%.3f,"
	       "\"cache_hits\":%llu,\"disk_hits\":%llu,\"disk_load_ms\":%.3f,"
	       "\"replays\":%llu,\"texts_unparsed\":%llu,\"kernels_run\":%llu}\n",
	       (unsigned long long)st.kernels_compiled, (double)st.compile_ns / 1e6,
	       (unsigned long long)st.cache_hits, (unsigned long long)st.disk_hits,
	       (double)st.disk_load_ns / 1e6, (unsigned long long)st.replays,
	       (unsigned long long)st.texts_unparsed, (unsigned long long)st.kernels_run);
}

static void print_stats(aj_ctx *ctx)
{
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	printf("\nkernels compiled %llu, cache hits %llu, kernels run %llu "
	       "(%llu split across threads), compile %.1f ms\n",
	       (unsigned long long)st.kernels_compiled,
	       (unsigned long long)st.cache_hits,
	       (unsigned long long)st.kernels_run,
	       (unsigned long long)st.parallel_runs,
	       (double)st.compile_ns / 1e6);
}

/* Hand loops moving fewer bytes run on the caller alone, as arrjit runs
 * kernels under its default threshold (32768 elements): waking the team
 * would cost more than it saves. */
#define SMALL_BYTES (32768.0 * 8)

/* ---- stream -------------------------------------------------------------- */

enum { STREAM_RUNS = 20 };

/* The last-level cache of CPU 0 from sysfs (glibc's sysconf reports the
 * whole host's L3 in some VMs), else sysconf's, else 32 MB. */
static size_t llc_bytes(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
	unsigned long v = 0;
	char unit = 0;
	if (f) {
		if (fscanf(f, "%lu%c", &v, &unit) < 1)
			v = 0;
		fclose(f);
	}
	if (v)
		return (size_t)v << (unit == 'K' ? 10 : unit == 'M' ? 20 : 0);
	long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
	return llc > 0 ? (size_t)llc : (size_t)32 << 20;
}

/* Bytes per STREAM array: 4 x the last-level cache each (at least 80 MB),
 * STREAM's rule, with --quick too: with smaller arrays the best of the
 * runs reads partly from the cache, and every "% of bandwidth" would be
 * measured against a reference above the memory's. */
static size_t stream_bytes(const options *o)
{
	(void)o;
	size_t want = 4 * llc_bytes(), floor = (size_t)80 << 20;
	return (want > floor ? want : floor) & ~(size_t)4095;
}

/* Best GB/s of STREAM_RUNS runs of fn over m elements, moving per bytes
 * per element. */
static double stream_best(team *tm, hl_fn *fn, hl_task *t, int64_t m,
			  double per)
{
	double best = INFINITY;
	for (int r = 0; r < STREAM_RUNS; r++) {
		double t0 = now_ns();
		team_run(tm, fn, t, m, 64, 0);
		best = fmin(best, now_ns() - t0);
	}
	return per * (double)m / best;
}

/* STREAM's triad, copy, read and write on every thread of tm, into gbps;
 * returns the MB per array, or 0 if the arrays cannot be had. */
static double run_stream(const options *o, team *tm, double *gbps)
{
	size_t bytes = stream_bytes(o);
	int64_t m = (int64_t)(bytes / sizeof(double));
	double *x[3];
	for (int k = 0; k < 3; k++) /* 2 MB aligned and advised huge pages,
					as arrjit's large arrays are (and
					NumPy's), so the reference is never
					held back by a page size the
					workloads do not have */
		if ((x[k] = aligned_alloc((size_t)2 << 20, bytes)))
			madvise(x[k], bytes, MADV_HUGEPAGE);
	if (!x[0] || !x[1] || !x[2])
		return 0;
	hl_task t = {.s = 1.0};
	for (int k = 0; k < 3; k++) {
		t.out = x[k]; /* first touch by the threads that use them */
		team_run(tm, hl_stream_write, &t, m, 64, 0);
	}
	t = (hl_task){.out = x[0], .in = {x[1], x[2]}, .s = 3.0};
	fprintf(stderr, "\r[stream] %d threads, 3 x %zu MB", o->threads,
		bytes >> 20);
	gbps[REF_TRIAD] = stream_best(tm, hl_stream_triad, &t, m, 24);
	gbps[REF_COPY] = stream_best(tm, hl_stream_copy, &t, m, 16);
	gbps[REF_READ] = stream_best(tm, hl_stream_read, &t, m, 8);
	gbps[REF_WRITE] = stream_best(tm, hl_stream_write, &t, m, 8);
	for (int k = 0; k < 3; k++)
		free(x[k]);
	return (double)(bytes >> 20);
}

/* ---- driver -------------------------------------------------------------- */

/* Sets up, times, checks and prints one workload; false on any failure. */
static bool run_workload(const options *o, aj_ctx *ctx, team *tm,
			 const workload *w, const double *gbps, double *ns)
{
	bench b = {.w = w, .ctx = ctx, .team = tm, .aj_ok = true,
		   .n = o->quick ? w->nquick : w->n,
		   .esize = w->f32 ? 4 : 8};
	result r = {.ok = false};
	aj_stats s0, s1;
	aj_ctx_stats(ctx, &s0);
	while (b.nhand < MAXHAND && w->hand[b.nhand])
		b.nhand++;
	if (!setup_sides(&b)) {
		fprintf(stderr, "\narrjit-bench: %s: %s\n", w->name, b.err);
		printf("%s: cannot run: %s\n", w->name, b.err);
		bench_free(&b);
		return false;
	}
	setup_arrjit(&b);
	aj_ctx_set_accuracy(ctx, w->fast ? AJ_ACCURACY_FAST : AJ_ACCURACY_ULP1);
	b.nparts = w->serial || traffic(&b) < SMALL_BYTES ? 1 : team_size(tm);
	time_sides(&b, o->reps, ns, r.t);
	aj_ctx_stats(ctx, &s1);
	r.kernels = s1.kernels_compiled - s0.kernels_compiled;
	r.compile_ms = (double)(s1.compile_ns - s0.compile_ns) / 1e6;
	r.ok = check_sides(&b);
	aj_ctx_set_accuracy(ctx, AJ_ACCURACY_ULP1);
	r.unit = w->lay == L_SEED ? (double)b.n : 1e6;
	r.bytes = traffic(&b);
	r.ref = stream_ref(w->lay);
	r.ref_gbps = gbps[r.ref];
	fprintf(stderr, "\r%40s\r", ""); /* the progress line goes */
	if (!r.ok)
		fprintf(stderr, "arrjit-bench: FAIL %s: %s\n", w->name, b.err);
	if (o->json)
		print_json(o, &b, &r);
	else
		print_row(&b, &r, r.ok ? "ok" : "FAIL");
	fflush(stdout);
	bench_free(&b);
	return r.ok;
}

/* ---- --crossover --------------------------------------------------------- */

/*
 * Where splitting a kernel across threads starts to pay: for each size, the
 * same kernel on the calling thread alone and always split across all
 * threads (aj_ctx_set_min_parallel(1)), interleaved, median of 7 batches
 * each long enough to time. AJ_MIN_PARALLEL is placed from this table.
 */
static double time_batch(aj_prog *p, aj_array *out, aj_array **in, const char *text,
			 int64_t iters)
{
	const char *names[] = {"a", "b"};
	double t0 = now_ns();
	for (int64_t k = 0; k < iters; k++) {
		aj_expr vals[2] = {aj_leaf(p, in[0]), aj_leaf(p, in[1])}, e;
		if (aj_parse(p, text, 2, names, vals, &e) != AJ_OK ||
		    aj_assign(p, out, e) != AJ_OK || aj_sync(p) != AJ_OK)
			return -1;
	}
	return (now_ns() - t0) / (double)iters;
}

static int run_crossover(aj_ctx *ctx)
{
	static const char *texts[] = {"a + b", "a * 2", "exp(a)", "sin(a) * b"};
	int nthreads = aj_ctx_threads(ctx);
	aj_prog *p;
	if (nthreads < 2 || aj_prog_new(ctx, &p) != AJ_OK) {
		fprintf(stderr, "arrjit-bench: --crossover needs 2 or more threads\n");
		return 1;
	}
	printf("crossover: ns per call, 1 thread vs %d threads (always split)\n",
	       nthreads);
	printf("%-12s %9s %12s %12s %7s\n", "kernel", "n", "1 thread", "split", "ratio");
	for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
		for (int64_t n = 1024; n <= ((int64_t)1 << 21); n *= 2) {
			aj_array *in[2], *out;
			if (aj_array_new(ctx, AJ_FLOAT64, 1, &n, &in[0]) ||
			    aj_array_new(ctx, AJ_FLOAT64, 1, &n, &in[1]) ||
			    aj_array_new(ctx, AJ_FLOAT64, 1, &n, &out))
				return 1;
			fill_lcg(aj_array_data(in[0]), n, 8, 1, 0.5);
			fill_lcg(aj_array_data(in[1]), n, 8, 2, 0.5);
			int64_t iters = ((int64_t)1 << 24) / n;
			double ns[2][7];
			for (int r = -1; r < 7; r++)
				for (int side = 0; side < 2; side++) {
					aj_ctx_set_threads(ctx, side ? nthreads : 1);
					aj_ctx_set_min_parallel(ctx, 1);
					double v = time_batch(p, out, in, texts[t], iters);
					if (v < 0)
						return 1;
					if (r >= 0)
						ns[side][r] = v;
				}
			timing one = summarize(ns[0], 7), split = summarize(ns[1], 7);
			printf("%-12s %9lld %12.0f %12.0f %7.2f\n", texts[t], (long long)n,
			       one.med, split.med, one.med / split.med);
			fflush(stdout);
			aj_array_free(in[0]);
			aj_array_free(in[1]);
			aj_array_free(out);
		}
	}
	aj_ctx_set_threads(ctx, nthreads);
	aj_ctx_set_min_parallel(ctx, 0);
	aj_prog_free(p);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: arrjit-bench [--quick] [--filter SUBSTR] [--json] "
		   "[--reps N] [--threads N] [--crossover] [--serve] [--list]\n"
		   "  --threads N  threads of arrjit, the hand loops and stream "
		   "(default: all online CPUs)\n"
		   "  --serve      JSON; runs what stdin names, line by line: "
		   "stream, stats or a workload\n"
		   "  --list       the selected workloads' names, one per line, "
		   "then exit\n"
		   "  --crossover  where splitting a kernel across all threads "
		   "pays, then exit\nworkloads:");
	for (int i = 0; i < NWORKLOAD; i++)
		fprintf(f, " %s", workloads[i].name);
	fprintf(f, "\n");
}

/* Returns false (after printing usage) on a bad command line. */
static bool parse_args(int argc, char **argv, options *o)
{
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;
		if (!strcmp(a, "--quick")) {
			o->quick = true;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--crossover")) {
			o->crossover = true;
		} else if (!strcmp(a, "--serve")) {
			o->serve = o->json = true;
		} else if (!strcmp(a, "--list")) {
			o->list = true;
		} else if (!strcmp(a, "--threads") && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > HL_MAXPART)
				goto bad;
			o->threads = (int)v;
		} else if (!strcmp(a, "--filter") && i + 1 < argc) {
			o->filter = argv[++i];
		} else if (!strcmp(a, "--reps") && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > MAXREPS)
				goto bad;
			o->reps = (int)v;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else {
			goto bad;
		}
	}
	if (!o->reps)
		o->reps = o->quick ? 5 : 7;
	if (!o->threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o->threads = n < 1 ? 1 : n > HL_MAXPART ? HL_MAXPART : (int)n;
	}
	return true;
bad:
	fprintf(stderr, "arrjit-bench: bad argument '%s'\n", argv[i]);
	usage(stderr);
	return false;
}

static bool selected(const options *o, const workload *w)
{
	return !o->filter || strstr(w->name, o->filter);
}

/* The stream references, then every selected workload; the exit status. */
static int run_all(const options *o, aj_ctx *ctx, team *tm, int nrun)
{
	double gbps[NREF], t0 = now_ns();
	double mb = run_stream(o, tm, gbps);
	double *ns = malloc((size_t)o->reps * NSIDE * sizeof(double));
	if (!mb || !ns) {
		fprintf(stderr, "arrjit-bench: out of memory\n");
		free(ns);
		return 1;
	}
	fprintf(stderr, "\r%40s\r", "");
	print_header(o, ctx, gbps, mb);
	int nfail = 0;
	for (int i = 0, k = 0; i < NWORKLOAD; i++) {
		const workload *w = &workloads[i];
		if (!selected(o, w))
			continue;
		fprintf(stderr, "\r[%d/%d] %-16s", ++k, nrun, w->name);
		nfail += !run_workload(o, ctx, tm, w, gbps, ns);
	}
	fprintf(stderr, "\rarrjit-bench: %d workloads, %d failed, %.1f s\n",
		nrun, nfail, (now_ns() - t0) / 1e9);
	if (o->json)
		print_stats_json(ctx);
	else
		print_stats(ctx);
	if (nfail && !o->json)
		printf("FAIL: %d of %d workloads\n", nfail, nrun);
	free(ns);
	return nfail ? 1 : 0;
}

/*
 * --serve: commands on stdin, one per line, answers in JSON lines on
 * stdout, each answer ending with {"kind":"done"}: "stream" measures the
 * bandwidth references (their lines), a workload's name runs it against
 * the last ones measured (its line), "stats" prints the context's
 * statistics. bench/interleave.py drives this and anchors.py --serve
 * workload by workload, so that arrjit and its peers are timed seconds
 * apart rather than a whole run apart. Kernels stay compiled from one
 * round to the next, as in a process that calls them again. Returns 1 if
 * a workload failed.
 */
static int serve(const options *o, aj_ctx *ctx, team *tm)
{
	double gbps[NREF] = {0};
	double *ns = malloc((size_t)o->reps * NSIDE * sizeof(double));
	if (!ns) {
		fprintf(stderr, "arrjit-bench: out of memory\n");
		return 1;
	}
	char line[256];
	int nfail = 0;
	bool measured = false;
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		const workload *w = NULL;
		for (int i = 0; i < NWORKLOAD && !w; i++)
			if (!strcmp(line, workloads[i].name))
				w = &workloads[i];
		if (!strcmp(line, "stream") || (w && !measured)) {
			if (!run_stream(o, tm, gbps)) {
				fprintf(stderr, "arrjit-bench: out of memory\n");
				break;
			}
			fprintf(stderr, "\r%40s\r", "");
			print_header(o, ctx, gbps, 0);
			measured = true;
		}
		if (w) {
			nfail += !run_workload(o, ctx, tm, w, gbps, ns);
		} else if (!strcmp(line, "stats")) {
			print_stats_json(ctx);
		} else if (strcmp(line, "stream")) {
			printf("{\"kind\":\"error\",\"error\":");
			json_string("no such command or workload");
			printf(",\"command\":");
			json_string(line);
			printf("}\n");
		}
		printf("{\"kind\":\"done\"}\n");
		fflush(stdout);
	}
	free(ns);
	return nfail ? 1 : 0;
}

int main(int argc, char **argv)
{
	options o = {0};
	if (!parse_args(argc, argv, &o))
		return 2;
	int nrun = 0;
	for (int i = 0; i < NWORKLOAD; i++)
		nrun += selected(&o, &workloads[i]);
	if (!nrun) {
		fprintf(stderr, "arrjit-bench: no workload matches '%s'\n",
			o.filter);
		usage(stderr);
		return 2;
	}
	if (o.list) {
		for (int i = 0; i < NWORKLOAD; i++)
			if (selected(&o, &workloads[i]))
				printf("%s\n", workloads[i].name);
		return 0;
	}
	aj_ctx *ctx;
	if (aj_ctx_new(&ctx) != AJ_OK) {
		fprintf(stderr, "arrjit-bench: aj_ctx_new failed\n");
		return 1;
	}
	int rc = 1;
	team *tm = NULL;
	if (o.crossover) {
		rc = run_crossover(ctx);
	} else if (aj_ctx_set_threads(ctx, o.threads) != AJ_OK ||
		   !(tm = team_new(o.threads))) {
		fprintf(stderr, "arrjit-bench: cannot start %d threads\n",
			o.threads);
	} else {
		rc = o.serve ? serve(&o, ctx, tm) : run_all(&o, ctx, tm, nrun);
	}
	team_free(tm);
	aj_ctx_free(ctx);
	return rc;
}
