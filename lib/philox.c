/*
 * Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC11; the Random123 reference) and the values of
 * arrjit.h's aj_random, over vectors of W 64-bit lanes.
 *
 * CMake compiles this one file three times: for AVX-512, for AVX2 with
 * FMA and for plain x86-64 (SSE2). The target's macros choose W, the sets
 * in flight and the few instructions GCC's vector extensions do not reach,
 * and name the result aj_draw_avx512, aj_draw_avx2 or aj_draw_sse2;
 * draw.c picks the best the host runs. (Written per target instead of as
 * generic wide vectors because GCC lowers a vector wider than the target's
 * registers through memory: 20x slower on AVX2.)
 *
 * Why C and not the kernels' IR: the rounds are a multiply-shift-xor chain
 * ten deep, so a draw needs several sets of blocks in flight to run at
 * the ALUs' rate (bench/micro/philox_ilp.c: 1 set 0.67-0.71 ns per
 * float64, 4 sets 0.42-0.43), and every copy of them in a kernel cost
 * LLVM's instruction selection milliseconds: `out = a + random()` took
 * ~26 ms to compile with one set. Compiled once here, they cost a kernel
 * a call per buffer of values (jit/random.c).
 *
 * Each 32-bit word lives in the low half of a 64-bit lane, one block per
 * lane: a 32 x 32 -> 64-bit product is then one vpmuludq, and its halves
 * are the next words with no shuffle. The high halves carry garbage that
 * nothing reads: products take the low word, and values take low words.
 */
#include "philox.h"

#include <immintrin.h>
#include <math.h>
#include <sleef.h>
#include <stdbool.h>
#include <string.h>

/*
 * Per target: W, the sets in flight, SLEEF's vector types, and the lane
 * orders interleaving the shares of W blocks into consecutive values
 * (m = 2: value j is share j % 2 of block j / 2, lane j % 2 W + j / 2 of
 * lo:hi; m = 4: value v is word v % 4 of block v / 4, lane v % 4 W + v / 4
 * of the words x0:x1:x2:x3), for the first and second vector of values.
 */
#if defined(__AVX512F__)
enum { W = 8, SETS = 4 }; /* 4 sets x 4 words: half of 32 registers */
#define DRAW_FN aj_draw_avx512
typedef __m512d sleef_f64;
typedef __m512 sleef_f32;
#define SHARES2_0 0, 8, 1, 9, 2, 10, 3, 11
#define SHARES2_1 4, 12, 5, 13, 6, 14, 7, 15
#define SHARES4_0 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27
#define SHARES4_1 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31
#elif defined(__AVX2__)
enum { W = 4, SETS = 2 }; /* 16 registers */
#define DRAW_FN aj_draw_avx2
typedef __m256d sleef_f64;
typedef __m256 sleef_f32;
#define SHARES2_0 0, 4, 1, 5
#define SHARES2_1 2, 6, 3, 7
#define SHARES4_0 0, 4, 8, 12, 1, 5, 9, 13
#define SHARES4_1 2, 6, 10, 14, 3, 7, 11, 15
#else
enum { W = 2, SETS = 2 };
#define DRAW_FN aj_draw_sse2
typedef __m128d sleef_f64;
typedef __m128 sleef_f32;
#define SHARES2_0 0, 2
#define SHARES2_1 1, 3
#define SHARES4_0 0, 2, 4, 6
#define SHARES4_1 1, 3, 5, 7
#endif

typedef uint64_t vu64 __attribute__((vector_size(8 * W)));
typedef int64_t vi64 __attribute__((vector_size(8 * W)));
typedef double vf64 __attribute__((vector_size(8 * W)));
typedef uint32_t vu32 __attribute__((vector_size(4 * W)));
typedef uint32_t vu32x2 __attribute__((vector_size(8 * W))); /* 2 W words */
typedef int32_t vi32x2 __attribute__((vector_size(8 * W)));
typedef float vf32x2 __attribute__((vector_size(8 * W)));

#define INLINE static inline __attribute__((always_inline))

/* Philox4x32's multipliers and Weyl key increments (Random123). */
#define PHILOX_M0 UINT64_C(0xD2511F53)
#define PHILOX_M1 UINT64_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)
#define ROUNDS 10
#define LOW32 UINT64_C(0xffffffff)

typedef struct philox_key {
	uint64_t k[ROUNDS][2]; /* the key of each round */
	uint64_t stream;
} philox_key;

static void key_schedule(philox_key *K, uint64_t seed, uint64_t stream)
{
	uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
	for (int r = 0; r < ROUNDS; r++, k0 += PHILOX_W0, k1 += PHILOX_W1) {
		K->k[r][0] = k0;
		K->k[r][1] = k1;
	}
	K->stream = stream;
}

/* The 64-bit products of x's low words and m: GCC multiplies u64 vectors
 * in full (three multiplies) even when the high halves are known zero. */
INLINE vu64 mul_wide(vu64 x, uint64_t m)
{
#if defined(__AVX512F__)
	return (vu64)_mm512_mul_epu32((__m512i)x, _mm512_set1_epi64((long long)m));
#elif defined(__AVX2__)
	return (vu64)_mm256_mul_epu32((__m256i)x, _mm256_set1_epi64x((long long)m));
#else
	return (vu64)_mm_mul_epu32((__m128i)x, _mm_set1_epi64x((long long)m));
#endif
}

/* m < 2^53 as float64, exactly. Without AVX512DQ's vcvtqq2pd: the high
 * and low words as the mantissas of 2^84 and 2^52. */
INLINE vf64 to_f64(vu64 m)
{
#if defined(__AVX512DQ__)
	return __builtin_convertvector((vi64)m, vf64);
#else
	vu64 hi = (m >> 32) | UINT64_C(0x4530000000000000);
	vu64 lo = (m & LOW32) | UINT64_C(0x4330000000000000);
	return ((vf64)hi - 0x1.00000001p84) + (vf64)lo;
#endif
}

INLINE vf64 sqrt64(vf64 x)
{
#if defined(__AVX512F__)
	return (vf64)_mm512_sqrt_pd((__m512d)x);
#elif defined(__AVX2__)
	return (vf64)_mm256_sqrt_pd((__m256d)x);
#else
	return (vf64)_mm_sqrt_pd((__m128d)x);
#endif
}

INLINE vf32x2 sqrt32(vf32x2 x)
{
#if defined(__AVX512F__)
	return (vf32x2)_mm512_sqrt_ps((__m512)x);
#elif defined(__AVX2__)
	return (vf32x2)_mm256_sqrt_ps((__m256)x);
#else
	return (vf32x2)_mm_sqrt_ps((__m128)x);
#endif
}

/* SLEEF's log and cos, 1 ULP, at this target's width. */
#if defined(__AVX512F__)
#define LOG64 Sleef_logd8_u10avx512f
#define COS64 Sleef_cosd8_u10avx512f
#define LOG32 Sleef_logf16_u10avx512f
#define COS32 Sleef_cosf16_u10avx512f
#elif defined(__AVX2__)
#define LOG64 Sleef_logd4_u10avx2
#define COS64 Sleef_cosd4_u10avx2
#define LOG32 Sleef_logf8_u10avx2
#define COS32 Sleef_cosf8_u10avx2
#else
#define LOG64 Sleef_logd2_u10sse2
#define COS64 Sleef_cosd2_u10sse2
#define LOG32 Sleef_logf4_u10sse2
#define COS32 Sleef_cosf4_u10sse2
#endif

/* Philox4x32-10 of nsets sets of W counters ctr[s], into words c[s][0..3].
 * The set loop is inside the round loop, so the sets' chains interleave. */
INLINE void philox(vu64 (*c)[4], const vu64 *ctr, int nsets, const philox_key *K)
{
#pragma GCC unroll 4
	for (int s = 0; s < nsets; s++) {
		c[s][0] = ctr[s];
		c[s][1] = ctr[s] >> 32;
		c[s][2] = (vu64){0} + K->stream;
		c[s][3] = (vu64){0} + (K->stream >> 32);
	}
	for (int r = 0; r < ROUNDS; r++) {
		vu64 k0 = (vu64){0} + K->k[r][0], k1 = (vu64){0} + K->k[r][1];
#pragma GCC unroll 4
		for (int s = 0; s < nsets; s++) {
			vu64 p0 = mul_wide(c[s][0], PHILOX_M0);
			vu64 p1 = mul_wide(c[s][2], PHILOX_M1);
			c[s][0] = (p1 >> 32) ^ c[s][1] ^ k0;
			c[s][1] = p1;
			c[s][2] = (p0 >> 32) ^ c[s][3] ^ k1;
			c[s][3] = p0;
		}
	}
}

/* x0 | x1 << 32 of the blocks' words (b = 0), or x2 | x3 << 32 (b = 2). */
INLINE vu64 bits64(const vu64 *c, int b)
{
	return (c[b] & LOW32) | (c[b + 1] << 32);
}

/* ((y >> 11) + add) * 2^-53: uniform in [0, 1) for add 0, (0, 1] for 1. */
INLINE vf64 unit64(vu64 y, int add)
{
	return to_f64((y >> 11) + (uint64_t)add) * 0x1p-53;
}

/* ((z >> 8) + add) * 2^-24 as float32: exact. */
INLINE vf32x2 unit32(vu32x2 z, int add)
{
	return __builtin_convertvector((vi32x2)((z >> 8) + (uint32_t)add), vf32x2) * 0x1p-24f;
}

/* The low words of a's lanes, then of b's. */
INLINE vu32x2 words32(vu64 a, vu64 b)
{
	union {
		vu32 h[2];
		vu32x2 v;
	} u = {.h = {__builtin_convertvector(a, vu32), __builtin_convertvector(b, vu32)}};
	return u.v;
}

INLINE void put(char *out, const void *v)
{
	memcpy(out, v, 8 * W);
}

/* The values of W consecutive blocks, m = 2 or 4 a block (block j's share
 * q is value m j + q): 2 vectors of 8 W bytes into out. */
INLINE void put_shares(char *out, const vu64 *c, aj_draw_kind kind)
{
	if (kind == AJ_DRAW_U64 || kind == AJ_DRAW_F64) {
		vu64 lo = bits64(c, 0), hi = bits64(c, 2);
		vu64 v0 = __builtin_shufflevector(lo, hi, SHARES2_0);
		vu64 v1 = __builtin_shufflevector(lo, hi, SHARES2_1);
		if (kind == AJ_DRAW_F64) {
			vf64 d0 = unit64(v0, 0), d1 = unit64(v1, 0);
			put(out, &d0);
			put(out + 8 * W, &d1);
		} else {
			put(out, &v0);
			put(out + 8 * W, &v1);
		}
		return;
	}
	vu32x2 a = words32(c[0], c[1]), b = words32(c[2], c[3]);
	vu32x2 z0 = __builtin_shufflevector(a, b, SHARES4_0);
	vu32x2 z1 = __builtin_shufflevector(a, b, SHARES4_1);
	if (kind == AJ_DRAW_F32) {
		vf32x2 f0 = unit32(z0, 0), f1 = unit32(z1, 0);
		put(out, &f0);
		put(out + 8 * W, &f1);
	} else {
		put(out, &z0);
		put(out + 8 * W, &z1);
	}
}

/* The values of W blocks each at its own share q[j] (uniform kinds, m a
 * block): W values into out. */
INLINE void put_picked(char *out, const vu64 *c, vu64 q, aj_draw_kind kind)
{
	if (kind == AJ_DRAW_U64 || kind == AJ_DRAW_F64) {
		vu64 odd = (vu64)(-(vi64)(q & 1));
		vu64 y = (bits64(c, 2) & odd) | (bits64(c, 0) & ~odd);
		vf64 d = unit64(y, 0);
		put(out, kind == AJ_DRAW_F64 ? (const void *)&d : (const void *)&y);
		return;
	}
	vu64 w = c[0];
	for (uint64_t i = 1; i < 4; i++) {
		vu64 is = (vu64)(q == i);
		w = (c[i] & is) | (w & ~is);
	}
	vu32x2 z = words32(w, w);
	vf32x2 f = unit32(z, 0);
	memcpy(out, kind == AJ_DRAW_F32 ? (const void *)&f : (const void *)&z, 4 * W);
}

/* Normal values of the W blocks of c, one a block (arrjit.h: Box-Muller
 * of u1 in (0, 1] and u2 in [0, 1)): float64, into out. */
INLINE void put_normal64(char *out, const vu64 *c)
{
	vf64 u1 = unit64(bits64(c, 0), 1), u2 = unit64(bits64(c, 2), 0);
	vf64 r = sqrt64((vf64)LOG64((sleef_f64)u1) * -2.0);
	vf64 v = r * (vf64)COS64((sleef_f64)(u2 * (2 * M_PI)));
	put(out, &v);
}

/* The same in float32 for the 2 W blocks of c and d. */
INLINE void put_normal32(char *out, const vu64 *c, const vu64 *d)
{
	vf32x2 u1 = unit32(words32(c[0], d[0]), 1), u2 = unit32(words32(c[2], d[2]), 0);
	vf32x2 r = sqrt32((vf32x2)LOG32((sleef_f32)u1) * -2.0f);
	vf32x2 v = r * (vf32x2)COS32((sleef_f32)(u2 * (float)(2 * M_PI)));
	put(out, &v);
}

#define X(name, dist, dtype, m, bytes) m,
static const int shares[AJ_DRAW_NKINDS] = {AJ_DRAW_KINDS(X)};
#undef X
#define X(name, dist, dtype, m, bytes) bytes,
static const int size_of[AJ_DRAW_NKINDS] = {AJ_DRAW_KINDS(X)};
#undef X

/* The W counters of positions pos[0 .. n-1], padded with the last (n >= 1),
 * rounded down to multiples of m; their shares into *q. */
INLINE vu64 gather_positions(const uint64_t *pos, int64_t n, int m, vu64 *q)
{
	vu64 v;
	for (int j = 0; j < W; j++)
		v[j] = pos[j < n ? j : n - 1];
	*q = v & (uint64_t)(m - 1);
	return v & ~(uint64_t)(m - 1);
}

/*
 * Values of a normal kind: W (float64) or 2 W (float32) a step, from the
 * blocks of consecutive counters from k or of positions pos; the last
 * step's extra values fall in tmp.
 */
static void draw_normal(char *out, const uint64_t *pos, uint64_t k, int64_t n,
			aj_draw_kind kind, const philox_key *K)
{
	int size = size_of[kind], per = kind == AJ_DRAW_N64 ? W : 2 * W;
	_Alignas(64) char tmp[16 * W];
	vu64 step, c[2][4], ctr[2], q;
	for (int j = 0; j < W; j++)
		step[j] = (uint64_t)j;
	for (int64_t done = 0; done < n; done += per, k += (uint64_t)per) {
		int64_t left = n - done;
		for (int s = 0; s < per / W; s++) {
			int64_t from = s * W < left ? s * W : left - 1;
			ctr[s] = pos ? gather_positions(pos + done + from, left - from, 1, &q)
				     : k + step + (uint64_t)(s * W);
		}
		char *to = left < per ? tmp : out + done * size;
		if (kind == AJ_DRAW_N64) {
			philox(c, ctr, 1, K);
			put_normal64(to, c[0]);
		} else {
			philox(c, ctr, 2, K);
			put_normal32(to, c[0], c[1]);
		}
		if (left < per)
			memcpy(out + done * size, tmp, (size_t)(left * size));
	}
}

/* Uniform values of the positions pos: W at a time, each from its own
 * block at its own share. */
static void draw_picked(char *out, const uint64_t *pos, int64_t n, aj_draw_kind kind,
			const philox_key *K)
{
	int m = shares[kind], size = size_of[kind];
	_Alignas(64) char tmp[8 * W];
	vu64 c[1][4], ctr[1], q;
	for (int64_t done = 0; done < n; done += W) {
		int64_t left = n - done;
		ctr[0] = gather_positions(pos + done, left, m, &q);
		philox(c, ctr, 1, K);
		put_picked(left < W ? tmp : out + done * size, c[0], q, kind);
		if (left < W)
			memcpy(out + done * size, tmp, (size_t)(left * size));
	}
}

/*
 * Uniform values of positions k0 .. k0 + n - 1. The runs of W m values
 * that sets of W blocks give start at k0 rounded down to m: whole runs go
 * straight to out, SETS at a time while there are that many; the partial
 * ones at the ends go through tmp.
 */
static void draw_shares(char *out, uint64_t k0, int64_t n, aj_draw_kind kind,
			const philox_key *K)
{
	int m = shares[kind], size = size_of[kind];
	int64_t g = W * m; /* values a set */
	_Alignas(64) char tmp[16 * W];
	vu64 c[SETS][4], ctr[SETS], step;
	for (int j = 0; j < W; j++)
		step[j] = (uint64_t)(j * m);
	int64_t skip = (int64_t)(k0 & (uint64_t)(m - 1)), done = 0;
	uint64_t k = k0 - (uint64_t)skip;
	while (done < n) {
		int64_t left = n - done;
		if (!skip && left >= SETS * g) {
#pragma GCC unroll 4
			for (int s = 0; s < SETS; s++)
				ctr[s] = k + step + (uint64_t)(s * g);
			philox(c, ctr, SETS, K);
#pragma GCC unroll 4
			for (int s = 0; s < SETS; s++)
				put_shares(out + (done + s * g) * size, c[s], kind);
			done += SETS * g;
			k += (uint64_t)(SETS * g);
			continue;
		}
		ctr[0] = k + step;
		philox(c, ctr, 1, K);
		if (!skip && left >= g) {
			put_shares(out + done * size, c[0], kind);
			done += g;
		} else {
			put_shares(tmp, c[0], kind);
			int64_t got = g - skip < left ? g - skip : left;
			memcpy(out + done * size, tmp + skip * size, (size_t)(got * size));
			done += got;
			skip = 0;
		}
		k += (uint64_t)g;
	}
}

void DRAW_FN(void *out, const uint64_t *pos, uint64_t k0, int64_t n, uint64_t seed,
	     uint64_t stream, int32_t kind)
{
	philox_key K;
	key_schedule(&K, seed, stream);
	if (kind == AJ_DRAW_N64 || kind == AJ_DRAW_N32)
		draw_normal(out, pos, k0, n, (aj_draw_kind)kind, &K);
	else if (pos)
		draw_picked(out, pos, n, (aj_draw_kind)kind, &K);
	else
		draw_shares(out, k0, n, (aj_draw_kind)kind, &K);
}
