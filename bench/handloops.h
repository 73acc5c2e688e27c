/*
 * The yardstick: each benchmark workload written as the one fused loop a
 * careful C engineer would write by hand. handloops.c is compiled with -O3
 * -march=native; it knows nothing of arrjit.
 *
 * All arrays are float64 and hold n elements unless said otherwise; outputs
 * never overlap inputs except where a loop updates in place.
 */
#ifndef AJ_BENCH_HANDLOOPS_H
#define AJ_BENCH_HANDLOOPS_H

#include <stdint.h>

/* The SLEEF vector flavour the *_sleef loops call: "avx512f", "avx2" or
 * "scalar". */
const char *hl_sleef_isa(void);

/* seed: niter times, a[k] += b[k] * i for the 9 elements of a 3x3 array. */
void hl_seed(int64_t niter, double *restrict a, const double *restrict b);
/* a = a + 1, in place. */
void hl_add1(int64_t n, double *a);
/* a[1:] = a[:-1] + 1 and a[:-1] = a[1:] + 1, each element read before it
 * is overwritten (NumPy's result for the overlapping views). */
void hl_shift_back(int64_t n, double *a);
void hl_shift_fwd(int64_t n, double *a);
/* out = a * 2 */
void hl_scale(int64_t n, double *restrict out, const double *restrict a);
/* out = 2*a + 3*b */
void hl_axpy2(int64_t n, double *restrict out, const double *restrict a,
	      const double *restrict b);
/* out = a*b + c*d - e */
void hl_mix5(int64_t n, double *restrict out, const double *restrict a,
	     const double *restrict b, const double *restrict c,
	     const double *restrict d, const double *restrict e);
/* out = exp(a)*s + b, through SLEEF's u10 vector exp or through libm. */
void hl_exp_mix_sleef(int64_t n, double *restrict out, const double *restrict a,
		      const double *restrict b, double s);
void hl_exp_mix_libm(int64_t n, double *restrict out, const double *restrict a,
		     const double *restrict b, double s);
/* out = tanh(a), through SLEEF or libm. */
void hl_tanh_sleef(int64_t n, double *restrict out, const double *restrict a);
void hl_tanh_libm(int64_t n, double *restrict out, const double *restrict a);
/* out[i] = a[2i] + b[2i] for i < nout: a and b hold 2*nout elements. */
void hl_strided_add(int64_t nout, double *restrict out,
		    const double *restrict a, const double *restrict b);

/* out[0] = sqrt(sum of a[i]^2): eight accumulators, as a careful C
 * programmer writes it without -ffast-math. */
void hl_norm(int64_t n, double *out, const double *a);
/* Column sums of a C-order rows x cols matrix: out[j] = sum_i a[i][j]. */
void hl_sum_axis0(int64_t rows, int64_t cols, double *out, const double *a);
/* Row sums: out[i] = sum_j a[i][j], eight accumulators per row. */
void hl_sum_axis1(int64_t rows, int64_t cols, double *out, const double *a);

#endif
