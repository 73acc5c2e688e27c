/*
 * Philox4x32-10 on AVX-512 in C, the instructions arrjit's random draws
 * use (lib/philox.c: words in 64-bit lanes, two vpmuludq, two shifts and
 * two three-way xors a round), with K independent sets of 8 blocks in
 * flight: how much of a draw's time is the rounds' latency chain (the
 * measurement behind philox.c's SETS). Writes 2^20 float64 in [0, 1).
 *
 *   for k in 1 2 4; do gcc -O3 -march=native -DK=$k bench/micro/philox_ilp.c \
 *       -o /tmp/ph$k && /tmp/ph$k; done
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#ifndef K
#define K 1
#endif
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
/* 8 blocks per set, K sets; words in 64-bit lanes */
__attribute__((noinline)) void gen(double *out, int64_t n, uint64_t seed, uint64_t stream)
{
	const __m512i M0 = _mm512_set1_epi64(0xD2511F53), M1 = _mm512_set1_epi64(0xCD9E8D57);
	__m512i k0s[10], k1s[10];
	uint32_t a = (uint32_t)seed, b = (uint32_t)(seed >> 32);
	for (int r = 0; r < 10; r++) { k0s[r] = _mm512_set1_epi64(a); k1s[r] = _mm512_set1_epi64(b); a += 0x9E3779B9; b += 0xBB67AE85; }
	__m512i step = _mm512_set_epi64(14,12,10,8,6,4,2,0);
	__m512i st = _mm512_set1_epi64(stream), sth = _mm512_srli_epi64(st, 32);
	const __m512d scale = _mm512_set1_pd(0x1p-53);
	for (int64_t i = 0; i < n; i += 16 * K) {
		__m512i c0[K], c1[K], c2[K], c3[K];
		for (int s = 0; s < K; s++) {
			c0[s] = _mm512_add_epi64(_mm512_set1_epi64(i + 16 * s), step);
			c1[s] = _mm512_srli_epi64(c0[s], 32);
			c2[s] = st; c3[s] = sth;
		}
		for (int r = 0; r < 10; r++)
			for (int s = 0; s < K; s++) {
				__m512i p0 = _mm512_mul_epu32(c0[s], M0), p1 = _mm512_mul_epu32(c2[s], M1);
				c0[s] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[s], k0s[r], 0x96);
				c1[s] = p1;
				c2[s] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[s], k1s[r], 0x96);
				c3[s] = p0;
			}
		for (int s = 0; s < K; s++) {
			__m512i lo = _mm512_mask_blend_epi32(0xAAAA, c0[s], _mm512_slli_epi64(c1[s], 32));
			__m512i hi = _mm512_mask_blend_epi32(0xAAAA, c2[s], _mm512_slli_epi64(c3[s], 32));
			__m512i idx0 = _mm512_set_epi64(11,3,10,2,9,1,8,0), idx1 = _mm512_set_epi64(15,7,14,6,13,5,12,4);
			__m512i x0 = _mm512_permutex2var_epi64(lo, idx0, hi), x1 = _mm512_permutex2var_epi64(lo, idx1, hi);
			__m512d d0 = _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(x0, 11)), scale);
			__m512d d1 = _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(x1, 11)), scale);
			_mm512_storeu_pd(out + i + 16 * s, d0);
			_mm512_storeu_pd(out + i + 16 * s + 8, d1);
		}
	}
}
int main(void){
	int64_t n = 1 << 20; double *o = aligned_alloc(64, n * 8);
	double best = 1e9;
	for (int rep = 0; rep < 200; rep++) { double t = now(); gen(o, n, 12345, 7); t = now() - t; if (t < best) best = t; }
	printf("K=%d %.3f ns/double (chk %g)\n", K, best / n * 1e9, o[12345]);
}
