/*
 * Vectors for the hand loops and the eager baseline: SLEEF's u10 functions
 * and plain arithmetic for the widest ISA the including file is compiled
 * for (-march=native): AVX-512F, else AVX2, else one lane with SLEEF's
 * scalar functions. vd holds VLD doubles, vf VLF floats.
 *
 * Loads never assume alignment (the _u workloads read data 1 byte past a
 * 64-byte boundary). vd_loads reads VLD elements st apart: st is 0 (a
 * scalar, broadcast), 1 or 2.
 */
#ifndef AJ_BENCH_HVEC_H
#define AJ_BENCH_HVEC_H

#include <sleef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)

#define HV_ISA "avx512f"
enum { VLD = 8, VLF = 16 };
typedef __m512d vd;
typedef __m512 vf;

#define vd_exp	 Sleef_expd8_u10avx512f
#define vd_log	 Sleef_logd8_u10avx512f
#define vd_log1p Sleef_log1pd8_u10avx512f
#define vd_sin	 Sleef_sind8_u10avx512f
#define vd_tanh	 Sleef_tanhd8_u10avx512f
#define vd_pow	 Sleef_powd8_u10avx512f
#define vd_atan2 Sleef_atan2d8_u10avx512f
#define vf_exp	 Sleef_expf16_u10avx512f
#define vf_log1p Sleef_log1pf16_u10avx512f
#define vf_sin	 Sleef_sinf16_u10avx512f

static inline vd vd_set(double x)
{
	return _mm512_set1_pd(x);
}
static inline vd vd_load(const double *p)
{
	return _mm512_loadu_pd(p);
}
/* p[0], p[2], ..., p[14]: two loads and one shuffle, not a gather. */
static inline vd vd_load_even(const double *p)
{
	__m512i idx = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
	return _mm512_permutex2var_pd(vd_load(p), idx, vd_load(p + 8));
}
static inline void vd_store(double *p, vd x)
{
	_mm512_storeu_pd(p, x);
}
static inline vd vd_add(vd x, vd y)
{
	return _mm512_add_pd(x, y);
}
static inline vd vd_sub(vd x, vd y)
{
	return _mm512_sub_pd(x, y);
}
static inline vd vd_mul(vd x, vd y)
{
	return _mm512_mul_pd(x, y);
}
static inline vd vd_div(vd x, vd y)
{
	return _mm512_div_pd(x, y);
}
static inline vd vd_sqrt(vd x)
{
	return _mm512_sqrt_pd(x);
}
/* where(x > y, a, b) */
static inline vd vd_gt_select(vd x, vd y, vd a, vd b)
{
	return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, y, _CMP_GT_OQ), b,
				    a);
}
static inline vf vf_load(const float *p)
{
	return _mm512_loadu_ps(p);
}
static inline void vf_store(float *p, vf x)
{
	_mm512_storeu_ps(p, x);
}
static inline vf vf_add(vf x, vf y)
{
	return _mm512_add_ps(x, y);
}
static inline vf vf_mul(vf x, vf y)
{
	return _mm512_mul_ps(x, y);
}

#elif defined(__AVX2__)

#define HV_ISA "avx2"
enum { VLD = 4, VLF = 8 };
typedef __m256d vd;
typedef __m256 vf;

#define vd_exp	 Sleef_expd4_u10avx2
#define vd_log	 Sleef_logd4_u10avx2
#define vd_log1p Sleef_log1pd4_u10avx2
#define vd_sin	 Sleef_sind4_u10avx2
#define vd_tanh	 Sleef_tanhd4_u10avx2
#define vd_pow	 Sleef_powd4_u10avx2
#define vd_atan2 Sleef_atan2d4_u10avx2
#define vf_exp	 Sleef_expf8_u10avx2
#define vf_log1p Sleef_log1pf8_u10avx2
#define vf_sin	 Sleef_sinf8_u10avx2

static inline vd vd_set(double x)
{
	return _mm256_set1_pd(x);
}
static inline vd vd_load(const double *p)
{
	return _mm256_loadu_pd(p);
}
/* p[0], p[2], p[4], p[6]: unpack gives 0 4 2 6, the permute puts 2 before
 * 4. */
static inline vd vd_load_even(const double *p)
{
	vd lo = _mm256_unpacklo_pd(vd_load(p), vd_load(p + 4));
	return _mm256_permute4x64_pd(lo, 0xd8);
}
static inline void vd_store(double *p, vd x)
{
	_mm256_storeu_pd(p, x);
}
static inline vd vd_add(vd x, vd y)
{
	return _mm256_add_pd(x, y);
}
static inline vd vd_sub(vd x, vd y)
{
	return _mm256_sub_pd(x, y);
}
static inline vd vd_mul(vd x, vd y)
{
	return _mm256_mul_pd(x, y);
}
static inline vd vd_div(vd x, vd y)
{
	return _mm256_div_pd(x, y);
}
static inline vd vd_sqrt(vd x)
{
	return _mm256_sqrt_pd(x);
}
static inline vd vd_gt_select(vd x, vd y, vd a, vd b)
{
	return _mm256_blendv_pd(b, a, _mm256_cmp_pd(x, y, _CMP_GT_OQ));
}
static inline vf vf_load(const float *p)
{
	return _mm256_loadu_ps(p);
}
static inline void vf_store(float *p, vf x)
{
	_mm256_storeu_ps(p, x);
}
static inline vf vf_add(vf x, vf y)
{
	return _mm256_add_ps(x, y);
}
static inline vf vf_mul(vf x, vf y)
{
	return _mm256_mul_ps(x, y);
}

#else

/* No AVX2: SLEEF's scalar functions keep the comparison honest, if slow. */
#define HV_ISA "scalar"
enum { VLD = 1, VLF = 1 };
typedef double vd;
typedef float vf;

#define vd_exp	 Sleef_exp_u10
#define vd_log	 Sleef_log_u10
#define vd_log1p Sleef_log1p_u10
#define vd_sin	 Sleef_sin_u10
#define vd_tanh	 Sleef_tanh_u10
#define vd_pow	 Sleef_pow_u10
#define vd_atan2 Sleef_atan2_u10
#define vf_exp	 Sleef_expf_u10
#define vf_log1p Sleef_log1pf_u10
#define vf_sin	 Sleef_sinf_u10

static inline vd vd_set(double x)
{
	return x;
}
static inline vd vd_load(const double *p)
{
	double x;
	__builtin_memcpy(&x, p, sizeof x);
	return x;
}
static inline vd vd_load_even(const double *p)
{
	return vd_load(p);
}
static inline void vd_store(double *p, vd x)
{
	__builtin_memcpy(p, &x, sizeof x);
}
static inline vd vd_add(vd x, vd y)
{
	return x + y;
}
static inline vd vd_sub(vd x, vd y)
{
	return x - y;
}
static inline vd vd_mul(vd x, vd y)
{
	return x * y;
}
static inline vd vd_div(vd x, vd y)
{
	return x / y;
}
static inline vd vd_sqrt(vd x)
{
	return __builtin_sqrt(x);
}
static inline vd vd_gt_select(vd x, vd y, vd a, vd b)
{
	return x > y ? a : b;
}
static inline vf vf_load(const float *p)
{
	return *p;
}
static inline void vf_store(float *p, vf x)
{
	*p = x;
}
static inline vf vf_add(vf x, vf y)
{
	return x + y;
}
static inline vf vf_mul(vf x, vf y)
{
	return x * y;
}

#endif

static inline vd vd_loads(const double *p, int64_t st)
{
	if (st == 0)
		return vd_set(*p);
	if (st == 1)
		return vd_load(p);
	if (st != 2)
		abort();
	return vd_load_even(p);
}

/* Functions of one, two and three vectors, for the drivers. */
typedef vd hv_fn1(vd x);
typedef vd hv_fn2(vd x, vd y);
typedef vd hv_fn3(vd x, vd y, vd z);

#endif
