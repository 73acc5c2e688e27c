/*
 * x ** y for a vector of floats, compiled with the library rather than
 * written into each kernel's IR: one call in a kernel where the same code
 * cost its compile milliseconds (jit/lower.c calls these; lib/fpow.c has
 * the method). The powi functions take an exponent the same for every
 * lane (a scalar: `(a+1)**50`) and power by integers themselves.
 *
 * vpow is the kernel's pow, at the same width (SLEEF's
 * or, in the fast accuracy mode, libmvec's), so the accuracy mode stays
 * the kernel's choice. One build per target: fpow.c compiled with AVX-512
 * gives the 512-bit functions, with AVX2 and FMA the 256-bit ones and
 * float32's 128-bit one (AVX2 kernels holding 8-byte values too give
 * float32 4 lanes); a kernel calls those its own ISA allows.
 */
#ifndef AJ_FPOW_H
#define AJ_FPOW_H

#include <immintrin.h>

/* The largest |y| taken by powering; other exponents go to vpow. */
enum { AJ_POWI_MAX = 1024 };

typedef __m512d aj_vpow_f64x8(__m512d, __m512d);
typedef __m512 aj_vpow_f32x16(__m512, __m512);
typedef __m256d aj_vpow_f64x4(__m256d, __m256d);
typedef __m256 aj_vpow_f32x8(__m256, __m256);
typedef __m128 aj_vpow_f32x4(__m128, __m128);

#define AJ_FPOW_AVX512 __attribute__((target("avx512f,avx512dq,fma")))
#define AJ_FPOW_AVX2 __attribute__((target("avx2,fma")))

/*@{*/
/* x ** y, lane by lane. */
AJ_FPOW_AVX512 __m512d aj_rt_pow_f64x8(__m512d x, __m512d y, aj_vpow_f64x8 *vpow);
AJ_FPOW_AVX512 __m512 aj_rt_pow_f32x16(__m512 x, __m512 y, aj_vpow_f32x16 *vpow);
AJ_FPOW_AVX2 __m256d aj_rt_pow_f64x4(__m256d x, __m256d y, aj_vpow_f64x4 *vpow);
AJ_FPOW_AVX2 __m256 aj_rt_pow_f32x8(__m256 x, __m256 y, aj_vpow_f32x8 *vpow);
AJ_FPOW_AVX2 __m128 aj_rt_pow_f32x4(__m128 x, __m128 y, aj_vpow_f32x4 *vpow);
/*@}*/
/*@{*/
/* x ** y, y the same for every lane. */
AJ_FPOW_AVX512 __m512d aj_rt_powi_f64x8(__m512d x, double y, aj_vpow_f64x8 *vpow);
AJ_FPOW_AVX512 __m512 aj_rt_powi_f32x16(__m512 x, float y, aj_vpow_f32x16 *vpow);
AJ_FPOW_AVX2 __m256d aj_rt_powi_f64x4(__m256d x, double y, aj_vpow_f64x4 *vpow);
AJ_FPOW_AVX2 __m256 aj_rt_powi_f32x8(__m256 x, float y, aj_vpow_f32x8 *vpow);
AJ_FPOW_AVX2 __m128 aj_rt_powi_f32x4(__m128 x, float y, aj_vpow_f32x4 *vpow);
/*@}*/

#endif
