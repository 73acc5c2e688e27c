/*
 * Hand-written fused loops, the yardstick for arrjit-bench (see handloops.h).
 *
 * Arithmetic loops are plain C left to the compiler's vectoriser, which is
 * what a C engineer would ship. The *_sleef loops call SLEEF's u10 vector
 * functions for the widest ISA this file is compiled for (-march=native),
 * with SLEEF's scalar u10 function for the tail; the *_libm loops call the
 * C library one element at a time.
 */
#include "handloops.h"

#include <math.h>
#include <sleef.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

void hl_seed(int64_t niter, double *restrict a, const double *restrict b)
{
	for (int64_t i = 0; i < niter; i++) {
		double x = (double)i;
		for (int k = 0; k < 9; k++)
			a[k] += b[k] * x;
	}
}

void hl_add1(int64_t n, double *a)
{
	for (int64_t i = 0; i < n; i++)
		a[i] = a[i] + 1.0;
}

void hl_scale(int64_t n, double *restrict out, const double *restrict a)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = a[i] * 2.0;
}

void hl_axpy2(int64_t n, double *restrict out, const double *restrict a,
	      const double *restrict b)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = 2.0 * a[i] + 3.0 * b[i];
}

void hl_mix5(int64_t n, double *restrict out, const double *restrict a,
	     const double *restrict b, const double *restrict c,
	     const double *restrict d, const double *restrict e)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = a[i] * b[i] + c[i] * d[i] - e[i];
}

void hl_exp_mix_libm(int64_t n, double *restrict out, const double *restrict a,
		     const double *restrict b, double s)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = exp(a[i]) * s + b[i];
}

void hl_tanh_libm(int64_t n, double *restrict out, const double *restrict a)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = tanh(a[i]);
}

void hl_strided_add(int64_t nout, double *restrict out,
		    const double *restrict a, const double *restrict b)
{
	for (int64_t i = 0; i < nout; i++)
		out[i] = a[2 * i] + b[2 * i];
}

/* Elements [i, n) of the SLEEF loops: the tails, or all on a scalar host. */
static void exp_mix_tail(int64_t i, int64_t n, double *restrict out,
			 const double *restrict a, const double *restrict b,
			 double s)
{
	for (; i < n; i++)
		out[i] = Sleef_exp_u10(a[i]) * s + b[i];
}

static void tanh_tail(int64_t i, int64_t n, double *restrict out,
		      const double *restrict a)
{
	for (; i < n; i++)
		out[i] = Sleef_tanh_u10(a[i]);
}

#if defined(__AVX512F__)

const char *hl_sleef_isa(void)
{
	return "avx512f";
}

void hl_exp_mix_sleef(int64_t n, double *restrict out, const double *restrict a,
		      const double *restrict b, double s)
{
	__m512d vs = _mm512_set1_pd(s);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m512d e = Sleef_expd8_u10avx512f(_mm512_loadu_pd(a + i));
		__m512d r =
		    _mm512_add_pd(_mm512_mul_pd(e, vs), _mm512_loadu_pd(b + i));
		_mm512_storeu_pd(out + i, r);
	}
	exp_mix_tail(i, n, out, a, b, s);
}

void hl_tanh_sleef(int64_t n, double *restrict out, const double *restrict a)
{
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm512_storeu_pd(
		    out + i, Sleef_tanhd8_u10avx512f(_mm512_loadu_pd(a + i)));
	tanh_tail(i, n, out, a);
}

#elif defined(__AVX2__)

const char *hl_sleef_isa(void)
{
	return "avx2";
}

void hl_exp_mix_sleef(int64_t n, double *restrict out, const double *restrict a,
		      const double *restrict b, double s)
{
	__m256d vs = _mm256_set1_pd(s);
	int64_t i = 0;
	for (; i + 4 <= n; i += 4) {
		__m256d e = Sleef_expd4_u10avx2(_mm256_loadu_pd(a + i));
		__m256d r =
		    _mm256_add_pd(_mm256_mul_pd(e, vs), _mm256_loadu_pd(b + i));
		_mm256_storeu_pd(out + i, r);
	}
	exp_mix_tail(i, n, out, a, b, s);
}

void hl_tanh_sleef(int64_t n, double *restrict out, const double *restrict a)
{
	int64_t i = 0;
	for (; i + 4 <= n; i += 4)
		_mm256_storeu_pd(out + i,
				 Sleef_tanhd4_u10avx2(_mm256_loadu_pd(a + i)));
	tanh_tail(i, n, out, a);
}

#else

/* No AVX2: SLEEF's scalar functions keep the comparison honest, if slow. */
const char *hl_sleef_isa(void)
{
	return "scalar";
}

void hl_exp_mix_sleef(int64_t n, double *restrict out, const double *restrict a,
		      const double *restrict b, double s)
{
	exp_mix_tail(0, n, out, a, b, s);
}

void hl_tanh_sleef(int64_t n, double *restrict out, const double *restrict a)
{
	tanh_tail(0, n, out, a);
}

#endif

/* Eight partial sums of a[i] * a[i] (or a[i] when sq is false). */
static double sum8(int64_t n, const double *a, int sq)
{
	double s[8] = {0};
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			s[k] += sq ? a[i + k] * a[i + k] : a[i + k];
	for (; i < n; i++)
		s[0] += sq ? a[i] * a[i] : a[i];
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void hl_norm(int64_t n, double *out, const double *a)
{
	out[0] = sqrt(sum8(n, a, 1));
}

void hl_sum_axis0(int64_t rows, int64_t cols, double *out, const double *a)
{
	for (int64_t j = 0; j < cols; j++)
		out[j] = 0;
	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++)
			out[j] += a[i * cols + j];
}

void hl_sum_axis1(int64_t rows, int64_t cols, double *out, const double *a)
{
	for (int64_t i = 0; i < rows; i++)
		out[i] = sum8(cols, a + i * cols, 0);
}

void hl_shift_back(int64_t n, double *a)
{
	for (int64_t i = n - 1; i > 0; i--)
		a[i] = a[i - 1] + 1;
}

void hl_shift_fwd(int64_t n, double *a)
{
	for (int64_t i = 0; i + 1 < n; i++)
		a[i] = a[i + 1] + 1;
}
