/*
 * a[2*i] + b[2*i] over 1e6 (or, with -DN=100000, 1e5) elements, three
 * ways: copying blocks of 256 into stack buffers one element at a time
 * (what arrjit's buffered kernels did), copying them with vector loads of
 * pairs (even lanes kept), and the plain loop the compiler vectorises.
 * The measurement behind emit.c's emit_pairs.
 *
 *   gcc -O3 -march=native bench/micro/stride2_copy.c -o /tmp/s2 && /tmp/s2
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#ifndef N
#define N 1000000
#endif
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
__attribute__((noinline)) void scalar(double *o, const double *a, const double *b, int64_t n, int64_t s) {
	_Alignas(64) double ba[256], bb[256];
	for (int64_t i = 0; i < n; i += 256) {
		int64_t m = n - i < 256 ? n - i : 256;
		for (int64_t j = 0; j < m; j++) { __asm__("" ::: "memory"); ba[j] = a[(i + j) * s]; }
		for (int64_t j = 0; j < m; j++) { __asm__("" ::: "memory"); bb[j] = b[(i + j) * s]; }
		for (int64_t j = 0; j < m; j++) o[i + j] = ba[j] + bb[j];
	}
}
__attribute__((noinline)) void pairs(double *o, const double *a, const double *b, int64_t n, int64_t s) {
	_Alignas(64) double ba[256], bb[256];
	const __m512i idx = _mm512_set_epi64(14,12,10,8,6,4,2,0);
	for (int64_t i = 0; i < n; i += 256) {
		int64_t m = n - i < 256 ? n - i : 256, v = (m - 1) & ~7L, j;
		for (j = 0; j < v; j += 8) { const double *p = a + (i + j) * s; _mm512_store_pd(ba + j, _mm512_permutex2var_pd(_mm512_loadu_pd(p), idx, _mm512_loadu_pd(p + 8))); }
		for (; j < m; j++) ba[j] = a[(i + j) * s];
		for (j = 0; j < v; j += 8) { const double *p = b + (i + j) * s; _mm512_store_pd(bb + j, _mm512_permutex2var_pd(_mm512_loadu_pd(p), idx, _mm512_loadu_pd(p + 8))); }
		for (; j < m; j++) bb[j] = b[(i + j) * s];
		for (j = 0; j < m; j++) o[i + j] = ba[j] + bb[j];
	}
}
__attribute__((noinline)) void hand(double *o, const double *a, const double *b, int64_t n) {
	for (int64_t i = 0; i < n; i++) o[i] = a[2*i] + b[2*i];
}
int main(void){
	int64_t n = N; double *a = aligned_alloc(64, 16*n), *b = aligned_alloc(64, 16*n), *o = malloc(8*n);
	for (int64_t i = 0; i < 2*n; i++) a[i] = i, b[i] = 2*i;
	for (int r = 0; r < 3; r++) {
	double t0, bs=1e9, bp=1e9, bh=1e9;
	for (int k = 0; k < 50; k++) { t0=now(); scalar(o,a,b,n,2); t0=now()-t0; if(t0<bs)bs=t0;
	t0=now(); pairs(o,a,b,n,2); t0=now()-t0; if(t0<bp)bp=t0;
	t0=now(); hand(o,a,b,n); t0=now()-t0; if(t0<bh)bh=t0; }
	printf("scalar %.3f pairs %.3f hand %.3f ms\n", bs*1e3, bp*1e3, bh*1e3);}
}
