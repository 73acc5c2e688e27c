/*
 * The yardstick: each benchmark workload written as the one fused loop a
 * careful C engineer would write by hand, plus the STREAM kernels the
 * harness measures the machine with. handloops.c is compiled with -O3
 * -march=native; it knows nothing of arrjit.
 *
 * Every loop has the team_fn shape (team.h): it runs the chunk [lo, hi) of
 * its task, so the harness can split it across threads. The range counts
 * output elements, or rows/columns where said. Outputs never overlap
 * inputs except where a loop updates in place. Reductions leave one
 * partial result per chunk in part[] and a *_finish call combines them in
 * chunk order.
 *
 * *_libm loops are plain C calling the C library per element (what the
 * compiler makes of the obvious loop); *_sleef loops call SLEEF's u10
 * vector functions for the host (hvec.h).
 */
#ifndef AJ_BENCH_HANDLOOPS_H
#define AJ_BENCH_HANDLOOPS_H

#include <stdbool.h>
#include <stdint.h>

enum { HL_MAXIN = 5, HL_MAXPART = 256 };

/* A double that may sit at any byte address (the _u workloads). */
typedef double hl_f64u __attribute__((aligned(1)));

typedef struct hl_task {
	void *out;		  /* double, or float for the f32 loops */
	const void *in[HL_MAXIN]; /* may sit 1 byte past alignment (_u) */
	int64_t st;		  /* element step of the inputs: 1, or 2
				     for the strided (_s) workloads */
	int64_t n;		  /* a matrix side (n x n), or seed's
				     iterations */
	uint64_t seed;		  /* random: the Philox key */
	double s;		  /* stream: the scalar of triad and write */
	double part[HL_MAXPART];  /* reductions: one partial per chunk */
} hl_task;

typedef void hl_fn(void *task, int64_t lo, int64_t hi, int part);
typedef void hl_finish_fn(hl_task *t, int nparts);

/* The SLEEF vector flavour of the *_sleef loops: "avx512f", "avx2" or
 * "scalar". */
const char *hl_sleef_isa(void);

/* Sum of a[0], a[st], ..., a[(n-1)*st]: eight accumulators over blocks of
 * 1024, the block sums added in order (also the eager baseline's sum). */
double hl_sum(const double *a, int64_t n, int64_t st);

/* Run on one thread, over the whole task (lo 0, hi n, part 0). */
hl_fn hl_seed;	     /* n iterations of a[k] += b[k]*i on a 3x3 a = out */
hl_fn hl_shift_back; /* out[1:] = out[:-1] + 1, as NumPy for the views */
hl_fn hl_shift_fwd;  /* out[:-1] = out[1:] + 1 */

/* Elementwise: in[0..] are a, b, c, d, e. */
hl_fn hl_add1;	       /* out = out + 1 */
hl_fn hl_scale;	       /* out = a*2 */
hl_fn hl_scale_inplace; /* out *= 2 */
hl_fn hl_axpy2;	       /* out = 2*a + 3*b */
hl_fn hl_mix5;	       /* out = a*b + c*d - e */
hl_fn hl_strided_add;  /* out = a[::st] + b[::st] */
hl_fn hl_where_add;    /* out = where(a > 0.5, a, 0) + b */
hl_fn hl_hypot;	       /* out = sqrt(a**2 + b**2), inputs a[::st] */

/* Transcendental, in libm and SLEEF versions; inputs a[::st] where the
 * workload has _s variants, float32 for exp_mix_f32. */
hl_fn hl_exp_mix_libm, hl_exp_mix_sleef;	 /* exp(a)*sin(b) + log1p(c) */
hl_fn hl_exp_mix_mvec; /* the same through glibc's libmvec (4 ULP) */
hl_fn hl_exp_mix_f32_libm, hl_exp_mix_f32_sleef; /* the same in float32 */
hl_fn hl_tanh_libm, hl_tanh_sleef;		 /* tanh(a) */
hl_fn hl_poly_libm, hl_poly_sleef;		 /* a**2 + (b+1)**-2.5 */
hl_fn hl_pow50_libm, hl_pow50_sleef;		 /* (a+1)**50 */
hl_fn hl_logexp_libm, hl_logexp_sleef;		 /* log(exp(a)+1)/b */
/* where(0.1*a > arctan2(a, b), 2*a, arctan2(a, b)) */
hl_fn hl_where_libm, hl_where_sleef;

/* n x n matrices (t->n), C order; the range counts rows of out (columns
 * for sum_axis0, rows of a for sum_col0, elements of row 0 for sum_row0). */
hl_fn hl_outer;		 /* out = a[:, None] * a[None, :], a of length n */
hl_fn hl_add_transpose;	 /* out = a + a.T */
hl_fn hl_transpose_copy; /* out = a.T */
hl_fn hl_sum_axis0;	 /* out[j] = sum_i a[i][j] */
hl_fn hl_sum_axis1;	 /* out[i] = sum_j a[i][j] */
hl_fn hl_sum_row0;	 /* part = sum of a[0][lo:hi] */
hl_fn hl_sum_col0;	 /* part = sum of a[lo:hi][0] */
hl_fn hl_norm;		 /* part = sum of a[lo:hi]**2 (flat a) */
hl_finish_fn hl_sum_finish;  /* out[0] = the parts' sum */
hl_finish_fn hl_norm_finish; /* out[0] = sqrt(the parts' sum) */

/* out[k] = uniform double in [0, 1) from Philox4x32-10, counter (k, 0),
 * key t->seed: arrjit's formula for a random() leaf of stream 0. */
hl_fn hl_random;

/* STREAM kernels over in[0] (b), in[1] (c), out (a). */
hl_fn hl_stream_triad; /* a = b + s*c */
hl_fn hl_stream_copy;  /* a = b */
hl_fn hl_stream_read;  /* part = sum of b */
hl_fn hl_stream_write; /* a = s */

#endif
