/*
 * Vectors for the hand loops and the eager baseline: SLEEF's u10 functions
 * and plain arithmetic for the widest ISA the including file is compiled
 * for (-march=native): AVX-512F, else AVX2, else one lane with SLEEF's
 * scalar functions. vd holds VLD doubles, vf VLF floats.
 *
 * Only what differs per ISA is written per ISA: the lane counts, SLEEF's
 * names, sqrt and the shuffle that picks even elements. The rest is GCC's
 * vector extensions (+ - * / act lane by lane and broadcast a scalar),
 * which work on the one-lane types too.
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
#include <string.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)

#define HV_ISA	"avx512f"
#define VLD	8
#define VLF	16
#define HV_EVEN {0, 2, 4, 6, 8, 10, 12, 14}
typedef __m512d vd;
typedef __m512 vf;

#define vd_exp	 Sleef_expd8_u10avx512f
#define vd_log	 Sleef_logd8_u10avx512f
#define vd_log1p Sleef_log1pd8_u10avx512f
#define vd_sin	 Sleef_sind8_u10avx512f
#define vd_tanh	 Sleef_tanhd8_u10avx512f
#define vd_pow	 Sleef_powd8_u10avx512f
#define vd_atan2 Sleef_atan2d8_u10avx512f
#define HV_SQRT	 _mm512_sqrt_pd
#define vf_exp	 Sleef_expf16_u10avx512f
#define vf_log1p Sleef_log1pf16_u10avx512f
#define vf_sin	 Sleef_sinf16_u10avx512f
/* glibc's libmvec, for the fast accuracy mode's yardstick */
#define mv_exp	 _ZGVeN8v_exp
#define mv_sin	 _ZGVeN8v_sin
#define mv_log1p _ZGVeN8v_log1p

#elif defined(__AVX2__)

#define HV_ISA	"avx2"
#define VLD	4
#define VLF	8
#define HV_EVEN {0, 2, 4, 6}
typedef __m256d vd;
typedef __m256 vf;

#define vd_exp	 Sleef_expd4_u10avx2
#define vd_log	 Sleef_logd4_u10avx2
#define vd_log1p Sleef_log1pd4_u10avx2
#define vd_sin	 Sleef_sind4_u10avx2
#define vd_tanh	 Sleef_tanhd4_u10avx2
#define vd_pow	 Sleef_powd4_u10avx2
#define vd_atan2 Sleef_atan2d4_u10avx2
#define HV_SQRT	 _mm256_sqrt_pd
#define vf_exp	 Sleef_expf8_u10avx2
#define vf_log1p Sleef_log1pf8_u10avx2
#define vf_sin	 Sleef_sinf8_u10avx2
#define mv_exp	 _ZGVdN4v_exp
#define mv_sin	 _ZGVdN4v_sin
#define mv_log1p _ZGVdN4v_log1p

#else

/* No AVX2: SLEEF's scalar functions keep the comparison honest, if slow. */
#define HV_ISA "scalar"
#define VLD    1
#define VLF    1
typedef double vd;
typedef float vf;

#define vd_exp	 Sleef_exp_u10
#define vd_log	 Sleef_log_u10
#define vd_log1p Sleef_log1p_u10
#define vd_sin	 Sleef_sin_u10
#define vd_tanh	 Sleef_tanh_u10
#define vd_pow	 Sleef_pow_u10
#define vd_atan2 Sleef_atan2_u10
#define HV_SQRT	 __builtin_sqrt
#define vf_exp	 Sleef_expf_u10
#define vf_log1p Sleef_log1pf_u10
#define vf_sin	 Sleef_sinf_u10
#define mv_exp	 exp
#define mv_sin	 sin
#define mv_log1p log1p

#endif

#if VLD > 1
vd mv_exp(vd), mv_sin(vd), mv_log1p(vd); /* libmvec's vector ABI */
#endif

static inline vd vd_set(double x)
{
	vd zero = {0};
	return zero + x;
}

/* A function of its own, so that its address can be taken. */
static inline vd vd_sqrt(vd x)
{
	return HV_SQRT(x);
}

static inline vd vd_load(const double *p)
{
	vd x;
	memcpy(&x, p, sizeof x);
	return x;
}

static inline void vd_store(double *p, vd x)
{
	memcpy(p, &x, sizeof x);
}

static inline vf vf_load(const float *p)
{
	vf x;
	memcpy(&x, p, sizeof x);
	return x;
}

static inline void vf_store(float *p, vf x)
{
	memcpy(p, &x, sizeof x);
}

#if VLD > 1
typedef int64_t vdi __attribute__((vector_size(sizeof(vd))));

/* p[0], p[2], ...: two loads and one shuffle, not a gather. */
static inline vd vd_load_even(const double *p)
{
	return __builtin_shuffle(vd_load(p), vd_load(p + VLD), (vdi)HV_EVEN);
}

/* where(x > y, a, b) */
static inline vd vd_gt_select(vd x, vd y, vd a, vd b)
{
	vdi m = x > y;
	return (vd)(((vdi)a & m) | ((vdi)b & ~m));
}
#else
static inline vd vd_load_even(const double *p)
{
	return vd_load(p);
}

static inline vd vd_gt_select(vd x, vd y, vd a, vd b)
{
	return x > y ? a : b;
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
