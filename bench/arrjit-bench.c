/*
 * arrjit-bench: times arrjit against hand-written fused C loops.
 *
 * For each workload: make the inputs (deterministic, and touched so that page
 * faults are not timed), warm up every side once (for arrjit this compiles
 * the kernel), time --reps rounds that run arrjit and each hand loop in turn,
 * check arrjit's output against every hand loop's, and print one table row
 * or JSON line. A failed call or a mismatch prints FAIL and makes the exit
 * status 1; the other workloads still run, so a wrong kernel is never timed
 * silently.
 *
 * Only the public API (arrjit.h) is used. Every side has its own output, of
 * the same kind (aj_array_new), and runs 1 + reps times, so in-place
 * workloads end equal.
 */
#define _POSIX_C_SOURCE 200809L

#include "arrjit.h"
#include "handloops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXIN	5
#define MAXHAND 2
#define MAXREPS 10000

/* Tolerances: relative difference, measured against max(|want|, 1) so that
 * cancellation near zero (mix5) cannot raise a false alarm when one side
 * contracts a*b+c into an FMA. */
#define TOL_ARITH 1e-12
#define TOL_MATH  1e-14

/* Side 0 is arrjit; side 1 + h is hand loop h. Each writes its own output. */
#define SIDE_AJ 0
#define NSIDE	(1 + MAXHAND)

typedef struct bench {
	aj_ctx *ctx;
	aj_prog *prog;
	int64_t n;	     /* output elements, or iterations for seed */
	aj_array *in[MAXIN]; /* what the expression reads (views for strided) */
	aj_array *src[2];    /* strided: the whole arrays the views look into */
	aj_array *out[NSIDE]; /* out[side], written by that side */
	int nside;	      /* 1 + the workload's hand loops */
	int side;	      /* the side running now */
	aj_array *init;	      /* seed: the value of a before every run */
	double s;	      /* exp_mix: the scalar */
} bench;

typedef struct hand {
	const char *name; /* NULL ends the list */
	void (*run)(bench *b);
} hand;

typedef struct workload {
	const char *name;
	int64_t n, nquick; /* elements (of the sources for strided_add), or
			      iterations for seed */
	int nin;
	int bytes;  /* bytes that must move per output element or iteration */
	double tol; /* TOL_ARITH or TOL_MATH */
	bool per_iter; /* report ns per iteration instead of ms per run */
	aj_status (*setup)(bench *b, int64_t n, int nin);
	aj_status (*run)(bench *b); /* one arrjit run, through aj_sync() */
	/* Untimed, before each run of a side; or NULL. */
	void (*reset)(bench *b, int side);
	hand hand[MAXHAND + 1];
} workload;

typedef struct timing {
	double med, min, max; /* ns per run */
} timing;

typedef struct options {
	bool quick, json, crossover;
	int reps;
	int threads; /* arrjit's; 0: one, like the hand loops */
	const char *filter;
} options;

/* ---- data ------------------------------------------------------------- */

static double *f64(const aj_array *a)
{
	return aj_array_data(a);
}

/* A 64-bit LCG (Knuth's MMIX constants): the same values on every machine,
 * uniform in [0.5, 1.5) so exp and tanh stay far from overflow. */
static void fill_lcg(aj_array *a, uint64_t seed)
{
	double *x = f64(a);
	int64_t n = aj_array_size(a);
	uint64_t st = seed * 0x9e3779b97f4a7c15u + 1;
	for (int64_t i = 0; i < n; i++) {
		st = st * 6364136223846793005u + 1442695040888963407u;
		x[i] = 0.5 + (double)(st >> 11) * 0x1.0p-53;
	}
}

/* Outputs start as NaN: this faults their pages in before timing, and a
 * kernel that writes nothing fails the check. */
static void fill_nan(aj_array *a)
{
	double *x = f64(a);
	int64_t n = aj_array_size(a);
	for (int64_t i = 0; i < n; i++)
		x[i] = NAN;
}

static aj_status new_f64(bench *b, int ndim, const int64_t *shape,
			 aj_array **out)
{
	return aj_array_new(b->ctx, AJ_FLOAT64, ndim, shape, out);
}

static aj_status new_outputs(bench *b, int ndim, const int64_t *shape)
{
	for (int side = 0; side < b->nside; side++) {
		aj_status s = new_f64(b, ndim, shape, &b->out[side]);
		if (s != AJ_OK)
			return s;
		fill_nan(b->out[side]);
	}
	return AJ_OK;
}

/* nin inputs of n elements and two outputs. */
static aj_status setup_flat(bench *b, int64_t n, int nin)
{
	b->n = n;
	b->s = 0.75;
	for (int i = 0; i < nin; i++) {
		aj_status s = new_f64(b, 1, &n, &b->in[i]);
		if (s != AJ_OK)
			return s;
		fill_lcg(b->in[i], (uint64_t)i + 1);
	}
	return new_outputs(b, 1, &n);
}

/* Reductions: one input of n elements seen as rows x MCOLS, and outputs
 * of the reduced shape: () for the norm, the columns or the rows. */
enum { MCOLS = 1000 };

static aj_status setup_reduce(bench *b, int64_t n, int ndim, int64_t outn)
{
	int64_t shape[2] = {n / MCOLS, MCOLS};
	b->n = shape[0] * MCOLS;
	aj_status s = new_f64(b, 2, shape, &b->in[0]);
	if (s != AJ_OK)
		return s;
	fill_lcg(b->in[0], 1);
	return new_outputs(b, ndim, &outn);
}

static aj_status setup_norm(bench *b, int64_t n, int nin)
{
	return setup_reduce(b, n, 0, 1);
}

static aj_status setup_sum0(bench *b, int64_t n, int nin)
{
	return setup_reduce(b, n, 1, MCOLS);
}

static aj_status setup_sum1(bench *b, int64_t n, int nin)
{
	return setup_reduce(b, n, 1, n / MCOLS);
}

/* The output is also the input; all sides start from the same values. */
static aj_status setup_inplace(bench *b, int64_t n, int nin)
{
	b->n = n;
	aj_status s = new_outputs(b, 1, &n);
	if (s != AJ_OK)
		return s;
	for (int side = 0; side < b->nside; side++)
		fill_lcg(b->out[side], 1);
	return AJ_OK;
}

/* nin sources of n elements, read through [::2] views. */
static aj_status setup_strided(bench *b, int64_t n, int nin)
{
	aj_slice every2 = {AJ_DEFAULT, AJ_DEFAULT, 2};
	for (int i = 0; i < nin; i++) {
		aj_status s = new_f64(b, 1, &n, &b->src[i]);
		if (s == AJ_OK)
			s = aj_view_slice(b->ctx, b->src[i], &every2,
					  &b->in[i]);
		if (s != AJ_OK)
			return s;
		fill_lcg(b->src[i], (uint64_t)i + 1);
	}
	b->n = aj_array_size(b->in[0]);
	return new_outputs(b, 1, &b->n);
}

/* 3x3 arrays: b, and a per side, reset from init before each run. */
static aj_status setup_seed(bench *b, int64_t n, int nin)
{
	static const int64_t shape[2] = {3, 3};
	b->n = n;
	aj_status s = new_f64(b, 2, shape, &b->in[0]);
	if (s == AJ_OK)
		s = new_f64(b, 2, shape, &b->init);
	if (s != AJ_OK)
		return s;
	fill_lcg(b->in[0], 1);
	fill_lcg(b->init, 2);
	return new_outputs(b, 2, shape);
}

static void reset_seed(bench *b, int side)
{
	memcpy(f64(b->out[side]), f64(b->init), 9 * sizeof(double));
}

static void bench_free(bench *b)
{
	for (int i = 0; i < MAXIN; i++)
		aj_array_free(b->in[i]);
	for (int i = 0; i < 2; i++)
		aj_array_free(b->src[i]);
	for (int i = 0; i < NSIDE; i++)
		aj_array_free(b->out[i]);
	aj_array_free(b->init);
	aj_prog_free(b->prog);
}

/* ---- arrjit side -------------------------------------------------------- */

static aj_expr leaf(bench *b, int i)
{
	return aj_leaf(b->prog, b->in[i]);
}

static aj_expr num(bench *b, double v)
{
	return aj_scalar_f64(b->prog, v);
}

static aj_status assign_sync(bench *b, aj_expr e)
{
	aj_status s = aj_assign(b->prog, b->out[SIDE_AJ], e);
	return s != AJ_OK ? s : aj_sync(b->prog);
}

/* a += b*i through the ordinary lazy API, one statement and sync per i. */
static aj_status run_seed(bench *b)
{
	aj_prog *p = b->prog;
	aj_array *a = b->out[SIDE_AJ];
	for (int64_t i = 0; i < b->n; i++) {
		aj_expr bi = aj_mul(p, leaf(b, 0), num(b, (double)i));
		aj_status s = aj_assign(p, a, aj_add(p, aj_leaf(p, a), bi));
		if (s == AJ_OK)
			s = aj_sync(p);
		if (s != AJ_OK)
			return s;
	}
	return AJ_OK;
}

static aj_status run_add1(bench *b)
{
	aj_prog *p = b->prog;
	return assign_sync(b,
			   aj_add(p, aj_leaf(p, b->out[SIDE_AJ]), num(b, 1)));
}

/* a[1:] = a[:-1] + 1 (back) or a[:-1] = a[1:] + 1: the output overlaps
 * its input shifted by one element, so the loop runs in order (reversed
 * for back), serially, with no temporary. */
static aj_status run_shift(bench *b, bool back)
{
	aj_slice head = {0, -1, 1}, tail = {1, AJ_DEFAULT, 1};
	aj_array *lo = NULL, *hi = NULL;
	aj_status s = aj_view_slice(b->ctx, b->out[SIDE_AJ], &head, &lo);
	if (s == AJ_OK)
		s = aj_view_slice(b->ctx, b->out[SIDE_AJ], &tail, &hi);
	aj_prog *p = b->prog;
	if (s == AJ_OK)
		s = aj_assign(p, back ? hi : lo,
			      aj_add(p, aj_leaf(p, back ? lo : hi), num(b, 1)));
	if (s == AJ_OK)
		s = aj_sync(p);
	aj_array_free(lo);
	aj_array_free(hi);
	return s;
}

static aj_status run_shift_back(bench *b)
{
	return run_shift(b, true);
}

static aj_status run_shift_fwd(bench *b)
{
	return run_shift(b, false);
}

static aj_status run_scale(bench *b)
{
	return assign_sync(b, aj_mul(b->prog, leaf(b, 0), num(b, 2)));
}

static aj_status run_axpy2(bench *b)
{
	aj_prog *p = b->prog;
	aj_expr x = aj_mul(p, num(b, 2), leaf(b, 0));
	aj_expr y = aj_mul(p, num(b, 3), leaf(b, 1));
	return assign_sync(b, aj_add(p, x, y));
}

static aj_status run_mix5(bench *b)
{
	aj_prog *p = b->prog;
	aj_expr ab = aj_mul(p, leaf(b, 0), leaf(b, 1));
	aj_expr cd = aj_mul(p, leaf(b, 2), leaf(b, 3));
	return assign_sync(b, aj_sub(p, aj_add(p, ab, cd), leaf(b, 4)));
}

static aj_status run_exp_mix(bench *b)
{
	aj_prog *p = b->prog;
	aj_expr e = aj_unary(p, AJ_OP_EXP, leaf(b, 0));
	return assign_sync(b,
			   aj_add(p, aj_mul(p, e, num(b, b->s)), leaf(b, 1)));
}

static aj_status run_tanh(bench *b)
{
	return assign_sync(b, aj_unary(b->prog, AJ_OP_TANH, leaf(b, 0)));
}

static aj_status run_strided_add(bench *b)
{
	return assign_sync(b, aj_add(b->prog, leaf(b, 0), leaf(b, 1)));
}

/* ---- hand side ---------------------------------------------------------- */

static aj_status run_norm(bench *b)
{
	aj_prog *p = b->prog;
	aj_expr sq = aj_binary(p, AJ_OP_POW, leaf(b, 0), aj_scalar_i64(p, 2));
	aj_expr s = aj_reduce(p, AJ_OP_SUM, sq, 0, NULL, false);
	return assign_sync(b, aj_unary(p, AJ_OP_SQRT, s));
}

static aj_status run_sum_axis(bench *b, int axis)
{
	return assign_sync(b, aj_reduce(b->prog, AJ_OP_SUM, leaf(b, 0), 1,
					&axis, false));
}

static aj_status run_sum0(bench *b)
{
	return run_sum_axis(b, 0);
}

static aj_status run_sum1(bench *b)
{
	return run_sum_axis(b, 1);
}

static double *hout(bench *b)
{
	return f64(b->out[b->side]);
}

static void hand_seed(bench *b)
{
	hl_seed(b->n, hout(b), f64(b->in[0]));
}

static void hand_add1(bench *b)
{
	hl_add1(b->n, hout(b));
}

static void hand_shift_back(bench *b)
{
	hl_shift_back(b->n, hout(b));
}

static void hand_shift_fwd(bench *b)
{
	hl_shift_fwd(b->n, hout(b));
}

static void hand_scale(bench *b)
{
	hl_scale(b->n, hout(b), f64(b->in[0]));
}

static void hand_axpy2(bench *b)
{
	hl_axpy2(b->n, hout(b), f64(b->in[0]), f64(b->in[1]));
}

static void hand_mix5(bench *b)
{
	hl_mix5(b->n, hout(b), f64(b->in[0]), f64(b->in[1]), f64(b->in[2]),
		f64(b->in[3]), f64(b->in[4]));
}

static void hand_exp_mix_sleef(bench *b)
{
	hl_exp_mix_sleef(b->n, hout(b), f64(b->in[0]), f64(b->in[1]), b->s);
}

static void hand_exp_mix_libm(bench *b)
{
	hl_exp_mix_libm(b->n, hout(b), f64(b->in[0]), f64(b->in[1]), b->s);
}

static void hand_tanh_sleef(bench *b)
{
	hl_tanh_sleef(b->n, hout(b), f64(b->in[0]));
}

static void hand_tanh_libm(bench *b)
{
	hl_tanh_libm(b->n, hout(b), f64(b->in[0]));
}

static void hand_strided_add(bench *b)
{
	hl_strided_add(b->n, hout(b), f64(b->src[0]), f64(b->src[1]));
}

static void hand_norm(bench *b)
{
	hl_norm(b->n, hout(b), f64(b->in[0]));
}

static void hand_sum0(bench *b)
{
	hl_sum_axis0(b->n / MCOLS, MCOLS, hout(b), f64(b->in[0]));
}

static void hand_sum1(bench *b)
{
	hl_sum_axis1(b->n / MCOLS, MCOLS, hout(b), f64(b->in[0]));
}

/* ---- the workloads ------------------------------------------------------ */

/* Packed a few fields to a line: clang-format would give each its own. */
// clang-format off
static const workload workloads[] = {
	{.name = "seed", .n = 1000000, .nquick = 200000, .nin = 1,
	 .bytes = 3 * 9 * 8, .tol = TOL_ARITH, .per_iter = true,
	 .setup = setup_seed, .run = run_seed, .reset = reset_seed,
	 .hand = {{"fused", hand_seed}}},
	{.name = "inplace_add1", .n = 10000000, .nquick = 2000000, .nin = 0,
	 .bytes = 16, .tol = TOL_ARITH, .setup = setup_inplace,
	 .run = run_add1, .hand = {{"fused", hand_add1}}},
	{.name = "shift_back", .n = 10000000, .nquick = 2000000, .nin = 0,
	 .bytes = 16, .tol = TOL_ARITH, .setup = setup_inplace,
	 .run = run_shift_back, .hand = {{"fused", hand_shift_back}}},
	{.name = "shift_fwd", .n = 10000000, .nquick = 2000000, .nin = 0,
	 .bytes = 16, .tol = TOL_ARITH, .setup = setup_inplace,
	 .run = run_shift_fwd, .hand = {{"fused", hand_shift_fwd}}},
	{.name = "scale", .n = 10000000, .nquick = 2000000, .nin = 1,
	 .bytes = 16, .tol = TOL_ARITH, .setup = setup_flat,
	 .run = run_scale, .hand = {{"fused", hand_scale}}},
	{.name = "axpy2", .n = 10000000, .nquick = 2000000, .nin = 2,
	 .bytes = 24, .tol = TOL_ARITH, .setup = setup_flat,
	 .run = run_axpy2, .hand = {{"fused", hand_axpy2}}},
	{.name = "mix5", .n = 10000000, .nquick = 2000000, .nin = 5,
	 .bytes = 48, .tol = TOL_ARITH, .setup = setup_flat,
	 .run = run_mix5, .hand = {{"fused", hand_mix5}}},
	{.name = "exp_mix", .n = 10000000, .nquick = 1000000, .nin = 2,
	 .bytes = 24, .tol = TOL_MATH, .setup = setup_flat,
	 .run = run_exp_mix,
	 .hand = {{"sleef", hand_exp_mix_sleef}, {"libm", hand_exp_mix_libm}}},
	{.name = "tanh", .n = 10000000, .nquick = 1000000, .nin = 1,
	 .bytes = 16, .tol = TOL_MATH, .setup = setup_flat, .run = run_tanh,
	 .hand = {{"sleef", hand_tanh_sleef}, {"libm", hand_tanh_libm}}},
	{.name = "strided_add", .n = 10000000, .nquick = 2000000, .nin = 2,
	 .bytes = 24, .tol = TOL_ARITH, .setup = setup_strided,
	 .run = run_strided_add, .hand = {{"fused", hand_strided_add}}},
	{.name = "norm", .n = 10000000, .nquick = 2000000, .nin = 1,
	 .bytes = 8, .tol = TOL_ARITH, .setup = setup_norm, .run = run_norm,
	 .hand = {{"fused", hand_norm}}},
	{.name = "sum_axis0", .n = 10000000, .nquick = 2000000, .nin = 1,
	 .bytes = 8, .tol = TOL_ARITH, .setup = setup_sum0, .run = run_sum0,
	 .hand = {{"fused", hand_sum0}}},
	{.name = "sum_axis1", .n = 10000000, .nquick = 2000000, .nin = 1,
	 .bytes = 8, .tol = TOL_ARITH, .setup = setup_sum1, .run = run_sum1,
	 .hand = {{"fused", hand_sum1}}},
};
// clang-format on
#define NWORKLOAD ((int)(sizeof(workloads) / sizeof(workloads[0])))

/* ---- timing and checking ------------------------------------------------ */

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
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

/* Runs side b->side once; only arrjit can fail. */
static aj_status run_side(const workload *w, bench *b)
{
	if (b->side == SIDE_AJ)
		return w->run(b);
	w->hand[b->side - 1].run(b);
	return AJ_OK;
}

/*
 * One warm-up run of every side (for arrjit this compiles the kernel), then
 * reps rounds that each time every side once. Interleaving the sides spreads
 * drifting machine noise evenly over them. ns has room for NSIDE * reps
 * values; t gets one timing per side. Stops at the first failed arrjit run.
 */
static aj_status time_sides(const workload *w, bench *b, int reps, double *ns,
			    timing *t)
{
	for (int r = -1; r < reps; r++) {
		for (b->side = 0; b->side < b->nside; b->side++) {
			if (w->reset)
				w->reset(b, b->side);
			double t0 = now_ns();
			aj_status s = run_side(w, b);
			double t1 = now_ns();
			if (s != AJ_OK)
				return s;
			if (r >= 0)
				ns[b->side * reps + r] = t1 - t0;
		}
	}
	for (int side = 0; side < b->nside; side++)
		t[side] = summarize(ns + side * reps, reps);
	return AJ_OK;
}

/* Largest |got - want| / max(|want|, 1) over all elements; NaN counts as
 * infinite. *at gets the element where it happens. */
static double max_rel_diff(const aj_array *got, const aj_array *want,
			   int64_t *at)
{
	const double *g = f64(got), *x = f64(want);
	int64_t n = aj_array_size(want);
	double worst = 0;
	*at = 0;
	for (int64_t i = 0; i < n; i++) {
		double d = fabs(g[i] - x[i]) / fmax(fabs(x[i]), 1.0);
		if (isnan(d))
			d = INFINITY;
		if (d > worst) {
			worst = d;
			*at = i;
		}
	}
	return worst;
}

/* ---- output ------------------------------------------------------------- */

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

static void print_header(const options *o, aj_ctx *ctx)
{
	static const char *names[] = {"host", "scalar", "avx2", "avx512"};
	unsigned isa = (unsigned)aj_ctx_isa(ctx);
	if (o->json)
		return;
	printf("arrjit-bench%s: reps %d, arrjit isa %s, threads %d (hand loops "
	       "1), SLEEF hand loops %s\n",
	       o->quick ? " --quick" : "", o->reps, isa < 4 ? names[isa] : "?",
	       aj_ctx_threads(ctx), hl_sleef_isa());
	printf("%-13s %9s %-5s %10s %21s %7s %10s %-6s %7s %s\n", "workload",
	       "n", "unit", "arrjit", "spread (min..max)", "GB/s", "hand-C",
	       "hand", "ratio", "check");
}

/* A call failed: no row, just the marker and the library's message. */
static void print_fail(const options *o, const workload *w, const char *what,
		       const char *msg)
{
	fprintf(stderr, "arrjit-bench: FAIL %s: %s: %s\n", w->name, what, msg);
	if (o->json) {
		printf("{\"workload\":\"%s\",\"ok\":false,\"error\":", w->name);
		json_string(what);
		printf(",\"message\":");
		json_string(msg);
		printf("}\n");
	} else {
		printf("%-13s FAIL %s: %s\n", w->name, what, msg);
	}
}

typedef struct result {
	int64_t n;    /* the workload's n */
	double unit;  /* ns per reported unit: 1e6 (ms) or iterations (ns/it) */
	double bytes; /* per run */
	timing t[NSIDE]; /* per side */
	double diff[MAXHAND];
	int nhand;
	bool ok; /* every hand loop agrees with arrjit */
} result;

static void print_row(const options *o, const workload *w, const result *r)
{
	const char *unit = w->per_iter ? "ns/it" : "ms";
	char spread[64];
	snprintf(spread, sizeof spread, "%.3f..%.3f",
		 r->t[SIDE_AJ].min / r->unit, r->t[SIDE_AJ].max / r->unit);
	for (int h = 0; h < r->nhand; h++) {
		const char *check = r->diff[h] <= w->tol ? "ok" : "FAIL";
		double ratio = r->t[SIDE_AJ].med / r->t[1 + h].med;
		double hmed = r->t[1 + h].med / r->unit;
		if (h == 0)
			printf("%-13s %9lld %-5s %10.3f %21s %7.2f %10.3f "
			       "%-6s %7.2f %s\n",
			       w->name, (long long)r->n, unit,
			       r->t[SIDE_AJ].med / r->unit, spread,
			       r->bytes / r->t[SIDE_AJ].med, hmed,
			       w->hand[h].name, ratio, check);
		else
			printf("%-13s %9s %-5s %10s %21s %7s %10.3f %-6s %7.2f "
			       "%s\n",
			       "", "", "", "", "", "", hmed, w->hand[h].name,
			       ratio, check);
	}
}

static void json_timing(const char *key, timing t, double unit, double bytes)
{
	printf(
	    "\"%s\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"gbps\":%.4g}",
	    key, t.med / unit, t.min / unit, t.max / unit, bytes / t.med);
}

static void print_json(const options *o, const workload *w, const result *r)
{
	printf("{\"workload\":\"%s\",\"n\":%lld,\"unit\":\"%s\",\"reps\":%d,"
	       "\"bytes\":%.0f,",
	       w->name, (long long)r->n, w->per_iter ? "ns/it" : "ms", o->reps,
	       r->bytes);
	json_timing("arrjit", r->t[SIDE_AJ], r->unit, r->bytes);
	printf(",\"hand\":[");
	for (int h = 0; h < r->nhand; h++) {
		printf("%s{\"name\":\"%s\",", h ? "," : "", w->hand[h].name);
		json_timing("time", r->t[1 + h], r->unit, r->bytes);
		printf(",\"ratio\":%.4g,\"max_rel_diff\":",
		       r->t[SIDE_AJ].med / r->t[1 + h].med);
		/* JSON has no infinity; a NaN in the output shows as null. */
		if (isfinite(r->diff[h]))
			printf("%.3g}", r->diff[h]);
		else
			printf("null}");
	}
	printf("],\"ratio\":%.4g,\"tol\":%.3g,\"ok\":%s}\n",
	       r->t[SIDE_AJ].med / r->t[1].med, w->tol,
	       r->ok ? "true" : "false");
}

static void print_stats(const options *o, aj_ctx *ctx)
{
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	if (o->json)
		printf(
		    "{\"stats\":{\"kernels_compiled\":%llu,\"cache_hits\":%llu,"
		    "\"kernels_run\":%llu,\"compile_ms\":%.3f}}\n",
		    (unsigned long long)st.kernels_compiled,
		    (unsigned long long)st.cache_hits,
		    (unsigned long long)st.kernels_run,
		    (double)st.compile_ns / 1e6);
	else
		printf("\nkernels compiled %llu, cache hits %llu, kernels run "
		       "%llu, compile %.1f ms\n",
		       (unsigned long long)st.kernels_compiled,
		       (unsigned long long)st.cache_hits,
		       (unsigned long long)st.kernels_run,
		       (double)st.compile_ns / 1e6);
}

/* ---- driver ------------------------------------------------------------- */

/* Checks arrjit's output against every hand loop's. */
static void check_hands(const workload *w, bench *b, result *r)
{
	r->ok = true;
	for (int h = 0; h + 1 < b->nside; h++) {
		const double *got = f64(b->out[SIDE_AJ]);
		const double *want = f64(b->out[1 + h]);
		int64_t at;
		r->diff[h] = max_rel_diff(b->out[SIDE_AJ], b->out[1 + h], &at);
		if (r->diff[h] <= w->tol)
			continue;
		r->ok = false;
		fprintf(
		    stderr,
		    "arrjit-bench: FAIL %s: arrjit vs %s: max rel diff %.3g > "
		    "%.3g at element %lld: arrjit %.17g, hand %.17g\n",
		    w->name, w->hand[h].name, r->diff[h], w->tol, (long long)at,
		    got[at], want[at]);
	}
}

/* Sets up, times, checks and prints one workload; false on any failure. */
static bool run_workload(const options *o, aj_ctx *ctx, const workload *w,
			 double *ns)
{
	bench b = {.ctx = ctx, .nside = 1};
	result r = {.n = o->quick ? w->nquick : w->n};
	bool ok = false;
	while (b.nside < NSIDE && w->hand[b.nside - 1].name)
		b.nside++;
	r.nhand = b.nside - 1;
	aj_status s = aj_prog_new(ctx, &b.prog);
	if (s == AJ_OK)
		s = w->setup(&b, r.n, w->nin);
	if (s != AJ_OK) {
		print_fail(o, w, "setup", aj_ctx_errmsg(ctx));
		goto out;
	}
	s = time_sides(w, &b, o->reps, ns, r.t);
	if (s != AJ_OK) {
		print_fail(o, w, "arrjit run", aj_prog_errmsg(b.prog));
		goto out;
	}
	check_hands(w, &b, &r);
	r.unit = w->per_iter ? (double)b.n : 1e6;
	r.bytes = (double)w->bytes * (double)b.n;
	if (o->json)
		print_json(o, w, &r);
	else
		print_row(o, w, &r);
	ok = r.ok;
out:
	fflush(stdout);
	bench_free(&b);
	return ok;
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
			fill_lcg(in[0], 1);
			fill_lcg(in[1], 2);
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
		   "[--reps N] [--threads N] [--crossover]\n"
		   "  --threads N  arrjit's threads (default 1, as the hand loops)\n"
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
		} else if (!strcmp(a, "--threads") && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 256)
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
	return true;
bad:
	fprintf(stderr, "arrjit-bench: bad argument '%s'\n", argv[i]);
	usage(stderr);
	return false;
}

int main(int argc, char **argv)
{
	options o = {0};
	if (!parse_args(argc, argv, &o))
		return 2;
	int nrun = 0, nfail = 0;
	for (int i = 0; i < NWORKLOAD; i++)
		nrun += !o.filter || strstr(workloads[i].name, o.filter);
	if (!nrun) {
		fprintf(stderr, "arrjit-bench: no workload matches '%s'\n",
			o.filter);
		usage(stderr);
		return 2;
	}
	aj_ctx *ctx;
	if (aj_ctx_new(&ctx) != AJ_OK) {
		fprintf(stderr, "arrjit-bench: aj_ctx_new failed\n");
		return 1;
	}
	if (o.crossover) {
		int rc = run_crossover(ctx);
		aj_ctx_free(ctx);
		return rc;
	}
	aj_ctx_set_threads(ctx, o.threads ? o.threads : 1);
	double *ns = malloc((size_t)o.reps * NSIDE * sizeof(double));
	if (!ns) {
		fprintf(stderr, "arrjit-bench: out of memory\n");
		return 1;
	}
	print_header(&o, ctx);
	for (int i = 0, k = 0; i < NWORKLOAD; i++) {
		const workload *w = &workloads[i];
		if (o.filter && !strstr(w->name, o.filter))
			continue;
		fprintf(stderr, "arrjit-bench: [%d/%d] %s, n %lld, reps %d\n",
			++k, nrun, w->name,
			(long long)(o.quick ? w->nquick : w->n), o.reps);
		nfail += !run_workload(&o, ctx, w, ns);
	}
	print_stats(&o, ctx);
	if (nfail && !o.json)
		printf("FAIL: %d of %d workloads\n", nfail, nrun);
	free(ns);
	aj_ctx_free(ctx);
	return nfail ? 1 : 0;
}
