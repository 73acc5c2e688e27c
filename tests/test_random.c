/*
 * Random leaves (aj_random): Philox4x32-10's published known answers
 * computed by the JIT kernels, a plain C Philox cross-checked against them
 * across the 2^32 position boundary, moments and a chi-square test of the
 * distributions, the same bits whatever the threads, chunks and loop
 * order, independent leaves, one kernel for many evaluations, the text
 * syntax, and errors.
 */
#include "ref.h"

#include "core.h" /* aj_random_at: leaves at chosen counters */
#include "philox.h" /* aj_draw_impl */

#include <inttypes.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ref_env env;

#define TWO_PI 6.283185307179586476925286766559

/* ---- the reference ---- */

/* Philox4x32-10 as Random123's philox4x32: counter ctr, key key. */
static void philox_ref(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k0 = key[0], k1 = key[1];
	for (int r = 0; r < 10; r++) {
		if (r > 0) {
			k0 += 0x9E3779B9u;
			k1 += 0xBB67AE85u;
		}
		uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
		uint32_t y0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0;
		uint32_t y2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
		c[1] = (uint32_t)p1;
		c[3] = (uint32_t)p0;
		c[0] = y0;
		c[2] = y2;
	}
	memcpy(out, c, sizeof c);
}

/* The four words of element k of a leaf (arrjit.h, aj_random). */
static void words(uint64_t seed, uint64_t stream, uint64_t k, uint32_t x[4])
{
	uint32_t ctr[4] = {(uint32_t)k, (uint32_t)(k >> 32), (uint32_t)stream,
			   (uint32_t)(stream >> 32)};
	uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
	philox_ref(ctr, key, x);
}

static uint64_t join(uint32_t lo, uint32_t hi)
{
	return lo | (uint64_t)hi << 32;
}

/* The bits of uniform uint64 element k. */
static uint64_t ref_bits64(uint64_t seed, uint64_t stream, uint64_t k)
{
	uint32_t x[4];
	words(seed, stream, k & ~UINT64_C(1), x);
	return k & 1 ? join(x[2], x[3]) : join(x[0], x[1]);
}

/* The value of element k as a double (float32 values widened, bits as
 * integers), computed as the header specifies. */
static double ref_value(aj_dist dist, aj_dtype t, uint64_t seed, uint64_t stream,
			uint64_t k)
{
	uint32_t x[4];
	if (dist == AJ_DIST_UNIFORM) { /* k's share of its block */
		int m = t == AJ_UINT64 || t == AJ_FLOAT64 ? 2 : 4;
		words(seed, stream, k & (uint64_t)-m, x);
		if (m == 2 && k & 1)
			x[0] = x[2], x[1] = x[3];
		if (m == 4)
			x[0] = x[k & 3];
	} else {
		words(seed, stream, k, x);
	}
	if (dist == AJ_DIST_NORMAL && t == AJ_FLOAT32) {
		float u1 = (float)((x[0] >> 8) + 1) * 0x1p-24f;
		float u2 = (float)(x[2] >> 8) * 0x1p-24f;
		return sqrtf(logf(u1) * -2.0f) * cosf(u2 * (float)TWO_PI);
	}
	if (dist == AJ_DIST_NORMAL) {
		double u1 = (double)((join(x[0], x[1]) >> 11) + 1) * 0x1p-53;
		double u2 = (double)(join(x[2], x[3]) >> 11) * 0x1p-53;
		return sqrt(log(u1) * -2.0) * cos(u2 * TWO_PI);
	}
	switch (t) {
	case AJ_UINT32: return x[0];
	case AJ_UINT64: return (double)join(x[0], x[1]);
	case AJ_FLOAT32: return (float)(x[0] >> 8) * 0x1p-24f;
	default: return (double)(join(x[0], x[1]) >> 11) * 0x1p-53;
	}
}

/* Element at p of dtype t as a double (see ref_value). */
static double value_at(aj_dtype t, const char *p)
{
	switch (t) {
	case AJ_UINT32: return *(const uint32_t *)p;
	case AJ_UINT64: return (double)*(const uint64_t *)p;
	case AJ_FLOAT32: return *(const float *)p;
	default: return *(const double *)p;
	}
}

/*
 * Whether got is the reference want: exactly for uniform values and bits,
 * within 8 ULP for normal ones (SLEEF's log and cos against libm's, each
 * within 1 ULP). uint64 bits are also compared exactly, as integers.
 */
static bool matches(aj_dist dist, aj_dtype t, const char *got, double want,
		    uint64_t want_bits)
{
	if (t == AJ_UINT64)
		return *(const uint64_t *)got == want_bits;
	double g = value_at(t, got);
	if (dist != AJ_DIST_NORMAL)
		return g == want;
	double ulp = t == AJ_FLOAT32 ? ref_ulp32((float)g, (float)want) : ref_ulp64(g, want);
	return ulp <= 8 || fabs(g - want) < 1e-300;
}

/* ---- helpers ---- */

/* e assigned into a new C-order array of its dtype and shape (nd, shape). */
static aj_array *eval_into(env *E, aj_expr e, int nd, const int64_t *shape)
{
	aj_array *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, aj_expr_dtype(E->p, e), nd, shape, &o));
	REF_OK_PROG(E->p, aj_assign(E->p, o, e));
	REF_OK_PROG(E->p, aj_sync(E->p));
	return o;
}

/* Checks C-order array a, holding element first + i of (dist, seed,
 * stream) at index i, against the reference. */
static void check_ref(aj_array *a, aj_dist dist, uint64_t seed, uint64_t stream,
		      uint64_t first)
{
	aj_dtype t = aj_array_dtype(a);
	int64_t n = aj_array_size(a), bad = 0;
	const char *d = aj_array_data(a);
	for (int64_t i = 0; i < n; i++) {
		uint64_t k = first + (uint64_t)i;
		uint32_t x[4];
		words(seed, stream, k & ~(uint64_t)1, x);
		uint64_t bits = k & 1 ? join(x[2], x[3]) : join(x[0], x[1]);
		double want = ref_value(dist, t, seed, stream, k);
		const char *got = d + i * (int64_t)aj_dtype_size(t);
		if (!matches(dist, t, got, want, bits) && bad++ < 3)
			print_error("%s %s, k = %llu: got %.17g, want %.17g\n",
				    dist == AJ_DIST_NORMAL ? "normal" : "random",
				    aj_dtype_name(t), (unsigned long long)k,
				    value_at(t, got), want);
	}
	assert_int_equal(bad, 0);
}

/* The dists and dtypes a leaf can have. */
static const struct kind {
	aj_dist dist;
	aj_dtype t;
} kinds[] = {
	{AJ_DIST_UNIFORM, AJ_FLOAT64}, {AJ_DIST_UNIFORM, AJ_FLOAT32},
	{AJ_DIST_UNIFORM, AJ_UINT32},  {AJ_DIST_UNIFORM, AJ_UINT64},
	{AJ_DIST_NORMAL, AJ_FLOAT64},  {AJ_DIST_NORMAL, AJ_FLOAT32},
};
enum { NKIND = sizeof kinds / sizeof kinds[0] };

/* The ISAs this host can run; the context's is restored by the caller. */
static int host_isas(aj_ctx *ctx, aj_isa *isa)
{
	static const aj_isa all[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	aj_isa keep = aj_ctx_isa(ctx);
	int n = 0;
	for (int i = 0; i < 3; i++)
		if (aj_ctx_set_isa(ctx, all[i]) == AJ_OK)
			isa[n++] = all[i];
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, keep));
	return n;
}

/* ---- known answers ---- */

/* Random123's kat_vectors, philox4x32 10: counter, key, result. */
static const struct kat {
	uint32_t ctr[4], key[2], out[4];
} kats[] = {
	{{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
	{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
	 {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
	{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
	 {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

/* The C reference gives the published words (all four). */
static void test_reference_known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
		uint32_t out[4];
		philox_ref(kats[i].ctr, kats[i].key, out);
		assert_memory_equal(out, kats[i].out, sizeof out);
	}
}

/*
 * One known answer through the kernels of the current ISA. The normal
 * leaf at element k takes the block of counter k whole (checked against
 * the reference, itself checked against the answers). When k starts a
 * block of four, the raw leaves over 64 elements from k show the block's
 * words as their first shares: uint32 elements k .. k + 3 are x0 .. x3,
 * uint64 elements k, k + 1 are x0 | x1 << 32 and x2 | x3 << 32 (a shaped
 * leaf, and a shapeless one); the rest match the reference.
 */
static void check_kat(env *E, const struct kat *v)
{
	uint64_t seed = join(v->key[0], v->key[1]), stream = join(v->ctr[2], v->ctr[3]);
	uint64_t k = join(v->ctr[0], v->ctr[1]);
	int64_t one = 1, n = 64;
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, seed));
	aj_array *a = eval_into(E, aj_random_at(E->p, AJ_DIST_NORMAL, AJ_FLOAT64, 0, NULL,
					       stream, k), 1, &one);
	check_ref(a, AJ_DIST_NORMAL, seed, stream, k);
	aj_array_free(a);
	if (k % 4)
		return;
	a = eval_into(E, aj_random_at(E->p, AJ_DIST_UNIFORM, AJ_UINT64, 1, &n, stream, k), 1, &n);
	const uint64_t *u = aj_array_data(a);
	assert_true(u[0] == join(v->out[0], v->out[1]) && u[1] == join(v->out[2], v->out[3]));
	check_ref(a, AJ_DIST_UNIFORM, seed, stream, k);
	aj_array_free(a);
	a = eval_into(E, aj_random_at(E->p, AJ_DIST_UNIFORM, AJ_UINT32, 0, NULL, stream, k),
		      1, &n);
	assert_memory_equal(aj_array_data(a), v->out, sizeof v->out);
	check_ref(a, AJ_DIST_UNIFORM, seed, stream, k);
	aj_array_free(a);
}

static void test_known_answers_in_kernels(void **state)
{
	env *E = *state;
	aj_isa isa[3], keep = aj_ctx_isa(E->ctx);
	int n = host_isas(E->ctx, isa);
	for (int i = 0; i < n; i++) {
		REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, isa[i]));
		for (size_t j = 0; j < sizeof kats / sizeof kats[0]; j++)
			check_kat(E, &kats[j]);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, keep));
	/* the public path: seed 0, the first leaf after it is stream 0, and
	 * its element 0 is counter 0 */
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, 0));
	int64_t two = 2;
	aj_array *a = eval_into(E, aj_random(E->p, AJ_DIST_UNIFORM, AJ_UINT32, 0, NULL), 1, &two);
	assert_true(((uint32_t *)aj_array_data(a))[0] == kats[0].out[0]);
	aj_array_free(a);
}

/* ---- the reference across 2^32 ---- */

/*
 * 3 x 999 elements from k = 2^32 - 1500, from 2^64 - 1500 (k wraps), and
 * from 2^32 - 1499, each kind, on each ISA: a shaped leaf, and a
 * shapeless one drawn over the same output, against the reference. Rows
 * of odd length start at every share of a block, so vector bodies whose
 * first lane starts a block and ones whose first lane does not both run;
 * with plain stores and with non-temporal ones.
 */
static void test_reference_across_2_32(void **state)
{
	env *E = *state;
	int64_t shape[2] = {3, 999};
	const uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
	const uint64_t firsts[3] = {(UINT64_C(1) << 32) - 1500, UINT64_MAX - 1499,
				    (UINT64_C(1) << 32) - 1499};
	aj_isa isa[3], keep = aj_ctx_isa(E->ctx);
	int nisa = host_isas(E->ctx, isa);
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, seed));
	for (int i = 0; i < 2 * nisa; i++) {
		/* then with non-temporal stores (their loops differ) */
		REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, isa[i % nisa]));
		REF_OK_CTX(E->ctx, aj_ctx_set_nt_bytes(E->ctx, i < nisa ? 0 : 1));
		for (int j = 0; j < NKIND; j++)
			for (int f = 0; f < 3; f++) {
				const struct kind *K = &kinds[j];
				aj_array *a = eval_into(E, aj_random_at(E->p, K->dist, K->t, 2, shape,
								       stream, firsts[f]), 2, shape);
				check_ref(a, K->dist, seed, stream, firsts[f]);
				aj_array_free(a);
				a = eval_into(E, aj_random_at(E->p, K->dist, K->t, 0, NULL, stream,
							      firsts[f]), 2, shape);
				check_ref(a, K->dist, seed, stream, firsts[f]);
				aj_array_free(a);
			}
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, keep));
	REF_OK_CTX(E->ctx, aj_ctx_set_nt_bytes(E->ctx, 0));
}

/* ---- distributions ---- */

enum { NSAMPLE = 1 << 20 };

/* NSAMPLE values of dist as doubles (fresh stream). */
static double *samples(env *E, aj_dist dist, aj_dtype t)
{
	int64_t n = NSAMPLE;
	aj_array *a = eval_into(E, aj_random(E->p, dist, t, 0, NULL), 1, &n);
	double *v = malloc(NSAMPLE * sizeof *v);
	assert_non_null(v);
	for (int64_t i = 0; i < n; i++)
		v[i] = value_at(t, (const char *)aj_array_data(a) + i * (int64_t)aj_dtype_size(t));
	aj_array_free(a);
	return v;
}

/* |got - want| within 6 standard deviations sd: the seed is fixed, so this
 * never fails by chance, yet a wrong distribution is far outside. */
static void within_6_sigma(const char *what, double got, double want, double sd)
{
	print_message("%-28s %.6f (want %.6f, %.1f sigma)\n", what, got, want,
		      (got - want) / sd);
	if (!(fabs(got - want) <= 6 * sd)) {
		print_error("%s: %.9g is %.1f sigma from %.9g\n", what, got,
			    (got - want) / sd, want);
		fail();
	}
}

static void check_uniform(env *E, aj_dtype t)
{
	double *v = samples(E, AJ_DIST_UNIFORM, t), s = 0, s2 = 0, lo = 1, hi = 0;
	for (int i = 0; i < NSAMPLE; i++) {
		s += v[i];
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	double mean = s / NSAMPLE;
	for (int i = 0; i < NSAMPLE; i++)
		s2 += (v[i] - mean) * (v[i] - mean);
	assert_true(lo >= 0 && hi < 1);
	within_6_sigma(t == AJ_FLOAT32 ? "uniform float32 mean" : "uniform float64 mean",
		       mean, 0.5, sqrt(1.0 / 12 / NSAMPLE));
	/* Var((u - 1/2)^2) = 1/80 - 1/144 = 1/180 */
	within_6_sigma(t == AJ_FLOAT32 ? "uniform float32 variance" : "uniform float64 variance",
		       s2 / NSAMPLE, 1.0 / 12, sqrt(1.0 / 180 / NSAMPLE));
	free(v);
}

/* Mean 0, variance 1, fourth moment 3 (Var(z^4) = 105 - 9), and the share
 * beyond 3 sigma, 0.0026998. */
static void check_normal(env *E, aj_dtype t)
{
	double *v = samples(E, AJ_DIST_NORMAL, t), s = 0, s2 = 0, s4 = 0, tail = 0;
	for (int i = 0; i < NSAMPLE; i++) {
		assert_true(isfinite(v[i]));
		s += v[i];
		s2 += v[i] * v[i];
		s4 += v[i] * v[i] * v[i] * v[i];
		tail += fabs(v[i]) > 3;
	}
	bool f32 = t == AJ_FLOAT32;
	within_6_sigma(f32 ? "normal float32 mean" : "normal float64 mean", s / NSAMPLE, 0,
		       sqrt(1.0 / NSAMPLE));
	within_6_sigma(f32 ? "normal float32 E[z^2]" : "normal float64 E[z^2]", s2 / NSAMPLE, 1,
		       sqrt(2.0 / NSAMPLE));
	within_6_sigma(f32 ? "normal float32 E[z^4]" : "normal float64 E[z^4]", s4 / NSAMPLE, 3,
		       sqrt(96.0 / NSAMPLE));
	double p = 0.0026997960632601866;
	within_6_sigma(f32 ? "normal float32 P(|z| > 3)" : "normal float64 P(|z| > 3)",
		       tail / NSAMPLE, p, sqrt(p * (1 - p) / NSAMPLE));
	free(v);
}

static void test_moments(void **state)
{
	env *E = *state;
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, 42));
	check_uniform(E, AJ_FLOAT64);
	check_uniform(E, AJ_FLOAT32);
	check_normal(E, AJ_FLOAT64);
	check_normal(E, AJ_FLOAT32);
}

/* Pearson's chi-square of NSAMPLE values in [0, 1) over nbin bins: within
 * 6 sigma of its mean, nbin - 1 (variance 2 (nbin - 1)). */
static void chi_square(const char *what, const double *v, int nbin)
{
	double *count = calloc((size_t)nbin, sizeof *count), chi2 = 0;
	assert_non_null(count);
	for (int i = 0; i < NSAMPLE; i++)
		count[(int)(v[i] * nbin)]++;
	double want = (double)NSAMPLE / nbin;
	for (int b = 0; b < nbin; b++)
		chi2 += (count[b] - want) * (count[b] - want) / want;
	within_6_sigma(what, chi2, nbin - 1, sqrt(2.0 * (nbin - 1)));
	free(count);
}

/* Uniformity in 1000 bins of float64 and float32 values, and of the low
 * 10 bits of each raw word's value (x0 for uint32; x1's for uint64). */
static void test_chi_square(void **state)
{
	env *E = *state;
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, 7));
	static const struct kind k[4] = {{AJ_DIST_UNIFORM, AJ_FLOAT64},
					 {AJ_DIST_UNIFORM, AJ_FLOAT32},
					 {AJ_DIST_UNIFORM, AJ_UINT32},
					 {AJ_DIST_UNIFORM, AJ_UINT64}};
	static const char *what[4] = {"chi2 float64, 1000 bins", "chi2 float32, 1000 bins",
				      "chi2 uint32 low bits", "chi2 uint64 bits 32-41"};
	for (int i = 0; i < 4; i++) {
		int64_t n = NSAMPLE;
		aj_array *a = eval_into(E, aj_random(E->p, k[i].dist, k[i].t, 0, NULL), 1, &n);
		double *v = malloc(NSAMPLE * sizeof *v);
		assert_non_null(v);
		for (int64_t j = 0; j < n; j++) {
			if (i < 2)
				v[j] = value_at(k[i].t, (char *)aj_array_data(a) +
							   j * (int64_t)aj_dtype_size(k[i].t));
			else if (i == 2)
				v[j] = (((uint32_t *)aj_array_data(a))[j] & 1023) / 1024.0;
			else
				v[j] = (((uint64_t *)aj_array_data(a))[j] >> 32 & 1023) / 1024.0;
		}
		chi_square(what[i], v, i < 2 ? 1000 : 1024);
		free(v);
		aj_array_free(a);
	}
}

/* ---- the same bits on any threads, chunks and loop order ---- */

/* a's bytes equal b's (both C-order, same dtype and shape). */
static void same_bytes(const char *what, const aj_array *a, const aj_array *b)
{
	size_t n = (size_t)aj_array_size(a) * aj_dtype_size(aj_array_dtype(a));
	if (memcmp(aj_array_data(a), aj_array_data(b), n) != 0) {
		print_error("%s: results differ\n", what);
		fail();
	}
}

/* Leaf of kind K at stream 5 (shapeless if nd is 0) and, if sum, its sum
 * over every axis. */
static aj_expr leaf_or_sum(env *E, const struct kind *K, int nd, const int64_t *shape,
			   bool sum)
{
	aj_expr e = aj_random_at(E->p, K->dist, K->t, nd, shape, 5, 0);
	return sum ? aj_reduce(E->p, AJ_OP_SUM, e, 0, NULL, false) : e;
}

/*
 * Each kind over 1-D and 2-D outputs, and summed (rule 4: fixed chunks):
 * on 1 thread with no splitting, on 2 threads splitting from 1 element
 * (many small tasks), and on 2 threads with the default threshold.
 */
static void test_threads_and_chunks(void **state)
{
	env *E = *state;
	static const int64_t shapes[2][2] = {{1 << 20, 0}, {1000, 1001}};
	static const struct { int threads; int64_t min; } runs[3] = {
		{1, INT64_MAX}, {2, 1}, {2, 0}};
	aj_stats st0, st1;
	aj_ctx_stats(E->ctx, &st0);
	for (int j = 0; j < NKIND; j++)
		for (int s = 0; s < 4; s++) {
			int nd = s % 2 ? 2 : 1;
			bool sum = s >= 2;
			if (sum && !aj_is_float(kinds[j].t))
				continue;
			aj_array *r[3];
			for (int k = 0; k < 3; k++) {
				REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, runs[k].threads));
				REF_OK_CTX(E->ctx, aj_ctx_set_min_parallel(E->ctx, runs[k].min));
				aj_expr e = leaf_or_sum(E, &kinds[j], nd, shapes[s % 2], sum);
				r[k] = eval_into(E, e, sum ? 0 : nd, shapes[s % 2]);
			}
			same_bytes("2 threads, tasks of any size", r[0], r[1]);
			same_bytes("2 threads, default split", r[0], r[2]);
			for (int k = 0; k < 3; k++)
				aj_array_free(r[k]);
		}
	aj_ctx_stats(E->ctx, &st1);
	print_message("parallel runs: %llu\n",
		      (unsigned long long)(st1.parallel_runs - st0.parallel_runs));
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 0));
	REF_OK_CTX(E->ctx, aj_ctx_set_min_parallel(E->ctx, 0));
}

enum { ROWS = 301, COLS = 203 };

/* A view of shape (ROWS, COLS) over a new buffer *buf, laid out as:
 * 0 transposed (C-order COLS x ROWS seen as .T), 1 both axes flipped,
 * 2 every other column of ROWS x 2 COLS, 3 rows flipped and columns
 * strided. */
static aj_array *layout(env *E, aj_dtype t, int how, aj_array **buf)
{
	int64_t tshape[2] = {COLS, ROWS}, wide[2] = {ROWS, 2 * COLS};
	aj_array *v;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 2, how == 0 ? tshape : wide, buf));
	if (how == 0) {
		REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, *buf, NULL, &v));
		return v;
	}
	aj_slice s[2] = {{AJ_DEFAULT, AJ_DEFAULT, how == 2 ? 1 : -1},
			 {AJ_DEFAULT, AJ_DEFAULT, how == 1 ? -2 : 2}};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, *buf, s, &v));
	return v;
}

/* Element (i, j) of a 2-D view a equals element i * COLS + j of C-order c. */
static void same_through_view(const char *what, const aj_array *a, const aj_array *c)
{
	size_t sz = aj_dtype_size(aj_array_dtype(a));
	const int64_t *st = aj_array_strides(a);
	int bad = 0;
	for (int i = 0; i < ROWS; i++)
		for (int j = 0; j < COLS; j++) {
			const char *p = (const char *)aj_array_data(a) + i * st[0] + j * st[1];
			const char *q = (const char *)aj_array_data(c) + (i * COLS + j) * (int64_t)sz;
			bad += memcmp(p, q, sz) != 0;
		}
	if (bad) {
		print_error("%s: %d elements differ\n", what, bad);
		fail();
	}
}

/*
 * Each kind written through transposed, flipped and strided views (other
 * loop orders, the strided scalar loop, flipped index operands), equal bit
 * for bit to the C-order result read through the same view: a shapeless
 * leaf, and a leaf of shape (COLS,) broadcast down the rows.
 */
static void test_loop_orders(void **state)
{
	env *E = *state;
	int64_t shape[2] = {ROWS, COLS}, row = COLS;
	static const char *names[4] = {"transposed", "flipped", "strided", "flipped rows"};
	for (int j = 0; j < NKIND; j++)
		for (int b = 0; b < 2; b++) {
			const struct kind *K = &kinds[j];
			aj_array *c = eval_into(E, aj_random_at(E->p, K->dist, K->t, b, &row, 9, 0),
						2, shape);
			for (int how = 0; how < 4; how++) {
				aj_array *buf, *v = layout(E, K->t, how, &buf);
				REF_OK_PROG(E->p, aj_assign(E->p, v, aj_random_at(E->p, K->dist, K->t,
										 b, &row, 9, 0)));
				REF_OK_PROG(E->p, aj_sync(E->p));
				same_through_view(names[how], v, c);
				aj_array_free(v);
				aj_array_free(buf);
			}
			if (b) { /* broadcast: every row is the leaf itself */
				aj_array *r = eval_into(E, aj_random_at(E->p, K->dist, K->t, 1, &row, 9, 0),
							1, &row);
				size_t rb = (size_t)COLS * aj_dtype_size(K->t);
				for (int i = 0; i < ROWS; i++)
					assert_memory_equal((char *)aj_array_data(c) + i * rb,
							    aj_array_data(r), rb);
				aj_array_free(r);
			}
			aj_array_free(c);
		}
}

/* ---- independent leaves, seeds, one kernel ---- */

/* Whether every element of float64 array a is nonzero (or every zero). */
static bool all_f64(const aj_array *a, bool nonzero)
{
	const double *x = aj_array_data(a);
	for (int64_t i = 0; i < aj_array_size(a); i++)
		if ((x[i] != 0) != nonzero)
			return false;
	return true;
}

static aj_array *eval_text(env *E, const char *text, int64_t n)
{
	aj_expr e;
	REF_OK_PROG(E->p, aj_parse(E->p, text, 0, NULL, NULL, &e));
	return eval_into(E, e, 1, &n);
}

/* random() - random() is two streams; a name bound to one leaf is one. */
static void test_leaves_independent(void **state)
{
	env *E = *state;
	int64_t n = 4096;
	aj_array *a = eval_text(E, "random() - random()", n);
	assert_true(all_f64(a, true));
	aj_array_free(a);
	a = eval_text(E, "normal() - normal()", n);
	assert_true(all_f64(a, true));
	aj_array_free(a);
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &a));
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "d", a));
	REF_OK_PROG(E->p, aj_exec(ns, "r = normal(); d = r - r", NULL));
	REF_OK_PROG(E->p, aj_sync(E->p));
	assert_true(all_f64(a, false));
	aj_names_free(ns);
	aj_array_free(a);
}

/* The same seed gives the same numbers, another seed others. */
static void test_seeds(void **state)
{
	env *E = *state;
	int64_t n = 1000;
	aj_array *a[3];
	static const uint64_t seeds[3] = {1, 1, 2};
	for (int i = 0; i < 3; i++) {
		REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, seeds[i]));
		a[i] = eval_text(E, "random() + normal()", n);
	}
	assert_memory_equal(aj_array_data(a[0]), aj_array_data(a[1]), 8 * (size_t)n);
	assert_memory_not_equal(aj_array_data(a[0]), aj_array_data(a[2]), 8 * (size_t)n);
	for (int i = 0; i < 3; i++)
		aj_array_free(a[i]);
	assert_int_equal(aj_ctx_set_seed(NULL, 1), AJ_ERR_ARG);
}

/* 1000 evaluations of H = random() in a fresh context compile one kernel,
 * allocate no temporaries and give new numbers each time; x + 0.1 *
 * normal() is one fused kernel. */
static void test_one_kernel(void **state)
{
	(void)state;
	env E;
	REF_OK_CTX(NULL, aj_ctx_new(&E.ctx));
	REF_OK_CTX(E.ctx, aj_prog_new(E.ctx, &E.p));
	int64_t n = 1000;
	aj_array *h, *first, *x;
	REF_OK_CTX(E.ctx, aj_array_new(E.ctx, AJ_FLOAT64, 1, &n, &h));
	REF_OK_CTX(E.ctx, aj_array_new(E.ctx, AJ_FLOAT64, 1, &n, &first));
	for (int i = 0; i < 1000; i++) {
		REF_OK_PROG(E.p, aj_assign(E.p, i ? h : first,
					   aj_random(E.p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL)));
		REF_OK_PROG(E.p, aj_sync(E.p));
	}
	aj_stats st;
	aj_ctx_stats(E.ctx, &st);
	assert_int_equal(st.kernels_compiled, 1);
	assert_int_equal(st.kernels_run, 1000);
	assert_int_equal(st.temp_bytes, 0);
	assert_memory_not_equal(aj_array_data(h), aj_array_data(first), 8 * (size_t)n);
	REF_OK_CTX(E.ctx, aj_array_new(E.ctx, AJ_FLOAT64, 1, &n, &x));
	const char *names[] = {"x"};
	aj_expr vals[] = {aj_leaf(E.p, x)}, e;
	REF_OK_PROG(E.p, aj_parse(E.p, "x + 0.1*normal()", 1, names, vals, &e));
	REF_OK_PROG(E.p, aj_assign(E.p, h, e));
	REF_OK_PROG(E.p, aj_sync(E.p));
	aj_ctx_stats(E.ctx, &st);
	assert_int_equal(st.kernels_run, 1001);
	assert_int_equal(st.temp_bytes, 0);
	aj_array_free(x);
	aj_array_free(h);
	aj_array_free(first);
	aj_prog_free(E.p);
	aj_ctx_free(E.ctx);
}

/* ---- reductions ---- */

/* Shapeless under a reduction: one value per element of its input. */
static void test_reductions(void **state)
{
	env *E = *state;
	enum { N = 100000 };
	int64_t n = N;
	const uint64_t seed = 3;
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, seed));
	/* alone, the input is 0-d: one value, element 0 */
	aj_expr r = aj_random_at(E->p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL, 11, 0);
	aj_array *a = eval_into(E, aj_reduce(E->p, AJ_OP_SUM, r, 0, NULL, false), 0, NULL);
	assert_true(*(double *)aj_array_data(a) ==
		    ref_value(AJ_DIST_UNIFORM, AJ_FLOAT64, seed, 11, 0));
	aj_array_free(a);
	/* over x's elements: mean(x + random()) with x zeros, and the mean of
	 * a shaped leaf, both the mean of the reference's first N */
	double want = 0;
	for (int64_t k = 0; k < N; k++)
		want += ref_value(AJ_DIST_UNIFORM, AJ_FLOAT64, seed, 11, (uint64_t)k);
	want /= N;
	aj_array *x;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &x));
	for (int i = 0; i < 2; i++) {
		aj_expr e = i ? aj_random_at(E->p, AJ_DIST_UNIFORM, AJ_FLOAT64, 1, &n, 11, 0)
			      : aj_add(E->p, aj_leaf(E->p, x),
				       aj_random_at(E->p, AJ_DIST_UNIFORM, AJ_FLOAT64, 0,
						    NULL, 11, 0));
		a = eval_into(E, aj_reduce(E->p, AJ_OP_MEAN, e, 0, NULL, false), 0, NULL);
		assert_true(fabs(*(double *)aj_array_data(a) - want) < 1e-12);
		aj_array_free(a);
	}
	aj_array_free(x);
}

/* ---- text, dumps, errors ---- */

static void test_syntax(void **state)
{
	env *E = *state;
	static const struct {
		const char *text;
		aj_dtype t;
		int nd;
		int64_t d0;
	} ok[] = {
		{"random()", AJ_FLOAT64, 0, 0},
		{"normal()", AJ_FLOAT64, 0, 0},
		{"random(float32)", AJ_FLOAT32, 0, 0},
		{"normal(dtype=float32)", AJ_FLOAT32, 0, 0},
		{"random(uint64, (3, 4))", AJ_UINT64, 2, 3},
		{"random((5,), uint32)", AJ_UINT32, 1, 5},
		{"normal(shape=7)", AJ_FLOAT64, 1, 7},
		{"random(shape=None, dtype=float64)", AJ_FLOAT64, 0, 0},
		{"2 * random(float32) + 1", AJ_FLOAT32, 0, 0},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		aj_expr e;
		int64_t shape[AJ_MAX_NDIM];
		REF_OK_PROG(E->p, aj_parse(E->p, ok[i].text, 0, NULL, NULL, &e));
		assert_int_equal(aj_expr_dtype(E->p, e), ok[i].t);
		assert_int_equal(aj_expr_shape(E->p, e, shape), ok[i].nd);
		if (ok[i].nd)
			assert_int_equal(shape[0], ok[i].d0);
	}
	static const struct {
		const char *text;
		aj_status s;
		const char *msg;
	} bad[] = {
		{"random(int8)", AJ_ERR_DTYPE, "column 1: random: dtype int8"},
		{"normal(uint32)", AJ_ERR_DTYPE, "normal: dtype uint32"},
		{"random(bool)", AJ_ERR_DTYPE, "dtype bool"},
		{"random(complex128)", AJ_ERR_DTYPE, "dtype complex128"},
		{"random(foo)", AJ_ERR_PARSE, "expected a dtype name"},
		{"random(float32, float64)", AJ_ERR_PARSE, "two values for 'dtype'"},
		{"random(size=3)", AJ_ERR_PARSE, "no parameter 'size'"},
		{"random(())", AJ_ERR_SHAPE, "shape ()"},
		{"random((2, x))", AJ_ERR_PARSE, "expected an extent"},
		{"random(3", AJ_ERR_PARSE, "to close '('"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		aj_expr e;
		assert_int_equal(aj_parse(E->p, bad[i].text, 0, NULL, NULL, &e), bad[i].s);
		if (!strstr(aj_prog_errmsg(E->p), bad[i].msg)) {
			print_error("%s: message '%s' lacks '%s'\n", bad[i].text,
				    aj_prog_errmsg(E->p), bad[i].msg);
			fail();
		}
	}
}

/* A builder error of aj_random, reported by the next aj_sync. */
static void expect_error(env *E, aj_dist dist, aj_dtype t, int nd, const int64_t *shape,
			 aj_status s)
{
	assert_int_equal(aj_random(E->p, dist, t, nd, shape).id, 0);
	assert_int_equal(aj_sync(E->p), s);
}

static void test_errors(void **state)
{
	env *E = *state;
	static const aj_dtype no_uniform[] = {AJ_BOOL, AJ_INT8, AJ_INT32, AJ_INT64, AJ_UINT8,
					      AJ_UINT16, AJ_COMPLEX64, AJ_COMPLEX128};
	for (size_t i = 0; i < sizeof no_uniform / sizeof no_uniform[0]; i++) {
		expect_error(E, AJ_DIST_UNIFORM, no_uniform[i], 0, NULL, AJ_ERR_DTYPE);
		expect_error(E, AJ_DIST_NORMAL, no_uniform[i], 0, NULL, AJ_ERR_DTYPE);
	}
	expect_error(E, AJ_DIST_NORMAL, AJ_UINT32, 0, NULL, AJ_ERR_DTYPE);
	expect_error(E, AJ_DIST_NORMAL, AJ_UINT64, 0, NULL, AJ_ERR_DTYPE);
	expect_error(E, AJ_DIST_UNIFORM, AJ_NDTYPE, 0, NULL, AJ_ERR_DTYPE);
	expect_error(E, (aj_dist)2, AJ_FLOAT64, 0, NULL, AJ_ERR_ARG);
	int64_t neg[2] = {3, -1}, big[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
	expect_error(E, AJ_DIST_UNIFORM, AJ_FLOAT64, -1, neg, AJ_ERR_SHAPE);
	expect_error(E, AJ_DIST_UNIFORM, AJ_FLOAT64, AJ_MAX_NDIM + 1, neg, AJ_ERR_SHAPE);
	expect_error(E, AJ_DIST_UNIFORM, AJ_FLOAT64, 2, NULL, AJ_ERR_ARG);
	expect_error(E, AJ_DIST_UNIFORM, AJ_FLOAT64, 2, neg, AJ_ERR_SHAPE);
	expect_error(E, AJ_DIST_NORMAL, AJ_FLOAT32, 2, big, AJ_ERR_OVERFLOW);
	assert_non_null(strstr(aj_prog_errmsg(E->p), "normal: too many elements"));
	assert_int_equal(aj_random(NULL, AJ_DIST_UNIFORM, AJ_FLOAT64, 0, NULL).id, 0);
	/* a shape that does not fit the output */
	int64_t three = 3, four = 4;
	aj_array *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &four, &o));
	assert_int_equal(aj_assign(E->p, o, aj_random(E->p, AJ_DIST_UNIFORM, AJ_FLOAT64, 1,
						       &three)), AJ_ERR_SHAPE);
	aj_array_free(o);
}

/*
 * The DAG names the leaf. The optimised IR holds no Philox: a leaf stored
 * on its own is one aj_rt_draw call a row straight into the output (no
 * vector loop), and x + leaf reads vectors from a run of values that
 * aj_rt_draw (lib/philox.c) fills; a normal leaf calls no SLEEF function
 * of its own.
 */
static void test_dump(void **state)
{
	env *E = *state;
	char *text;
	int64_t n = 1024;
	REF_OK_CTX(E->ctx, aj_ctx_set_seed(E->ctx, 9));
	aj_expr e = aj_random(E->p, AJ_DIST_NORMAL, AJ_FLOAT32, 0, NULL);
	REF_OK_PROG(E->p, aj_dump(E->p, e, AJ_STAGE_DAG, &text));
	assert_non_null(strstr(text, "normal seed 9 stream 0 shapeless : float32"));
	aj_string_free(text);
	bool zmm = aj_ctx_isa(E->ctx) == AJ_ISA_AVX512;
	const char *vector = aj_ctx_isa(E->ctx) == AJ_ISA_SCALAR ? "load double"
			     : zmm ? "load <8 x double>" : "load <4 x double>";
	aj_array *x;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &x));
	for (int i = 0; i < 4; i++) {
		bool normal = i & 1, alone = i < 2;
		e = aj_random(E->p, normal ? AJ_DIST_NORMAL : AJ_DIST_UNIFORM, AJ_FLOAT64, 1, &n);
		if (!alone)
			e = aj_add(E->p, aj_leaf(E->p, x), e);
		REF_OK_PROG(E->p, aj_dump(E->p, e, AJ_STAGE_OPT, &text));
		bool calls = strstr(text, "call void @aj_rt_draw(") && !strstr(text, "mul <") &&
			     !strstr(text, "mul i64") && !strstr(text, "Sleef_") &&
			     (alone ? !strstr(text, vector) && !strstr(text, "store ")
				    : strstr(text, vector) != NULL);
		if (!calls)
			print_error("%s\n", text);
		aj_string_free(text);
		assert_true(calls);
	}
	REF_OK_PROG(E->p, aj_sync(E->p));
	aj_array_free(x);
}

/* ---- the draws ---- */

/*
 * Every implementation of aj_rt_draw the host runs (AVX-512, AVX2, plain
 * SSE2), against the reference: runs from each alignment of k0 to a block,
 * of every length up to a few sets and some longer, and lists of scattered
 * positions. Uniform values and bits exactly; normal ones as matches()
 * allows, and each implementation's the same bits by either path.
 */
static void test_draw_impls(void **state)
{
	(void)state;
	enum { MAXN = 300 };
#define X(name, d, t, shares, size) d,
	static const aj_dist dist[AJ_DRAW_NKINDS] = {AJ_DRAW_KINDS(X)};
#undef X
#define X(name, d, t, shares, size) t,
	static const aj_dtype dtype[AJ_DRAW_NKINDS] = {AJ_DRAW_KINDS(X)};
#undef X
	const uint64_t seed = 0x123456789abcdefu, stream = 0xfedcba987u;
	uint64_t pos[MAXN];
	_Alignas(64) char run[MAXN * 8], lanes[MAXN * 8];
	int impls = 0;
	for (int i = 0; i < AJ_DRAW_NIMPLS; i++) {
		aj_draw_fn *f = aj_draw_impl(i);
		if (!f)
			continue;
		impls++;
		for (int kind = 0; kind < AJ_DRAW_NKINDS; kind++) {
			size_t size = aj_dtype_size(dtype[kind]);
			for (uint64_t k0 = UINT64_C(0xfffffff8); k0 < UINT64_C(0xfffffff8) + 9; k0++)
				for (int64_t n = 0; n <= MAXN; n += n < 70 ? 1 : 23) {
					for (int64_t j = 0; j < n; j++)
						pos[j] = k0 + (uint64_t)j;
					f(run, NULL, k0, n, seed, stream, kind);
					f(lanes, pos, 0, n, seed, stream, kind);
					assert_memory_equal(run, lanes, (size_t)n * size);
					for (int64_t j = 0; j < n; j++) {
						double want = ref_value(dist[kind], dtype[kind], seed,
									stream, pos[j]);
						if (!matches(dist[kind], dtype[kind], run + (size_t)j * size,
							     want, ref_bits64(seed, stream, pos[j])))
							fail_msg("implementation %d kind %d k0 %" PRIu64
								 " n %" PRId64 " element %" PRId64,
								 i, kind, k0, n, j);
					}
				}
			for (int64_t j = 0; j < MAXN; j++) /* scattered, repeated */
				pos[j] = (uint64_t)(j * 7919 % 1000) * 0x100000001u;
			f(lanes, pos, 0, MAXN, seed, stream, kind);
			for (int64_t j = 0; j < MAXN; j++) {
				double want = ref_value(dist[kind], dtype[kind], seed, stream, pos[j]);
				if (!matches(dist[kind], dtype[kind], lanes + (size_t)j * size, want,
					     ref_bits64(seed, stream, pos[j])))
					fail_msg("implementation %d kind %d position %" PRIu64, i, kind,
						 pos[j]);
			}
		}
	}
	assert_true(impls >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_known_answers),
		cmocka_unit_test(test_known_answers_in_kernels),
		cmocka_unit_test(test_reference_across_2_32),
		cmocka_unit_test(test_moments),
		cmocka_unit_test(test_chi_square),
		cmocka_unit_test(test_threads_and_chunks),
		cmocka_unit_test(test_loop_orders),
		cmocka_unit_test(test_leaves_independent),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_one_kernel),
		cmocka_unit_test(test_reductions),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_draw_impls),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
