/*
 * Which of philox.c's builds a kernel's draw runs: the best the host has,
 * chosen at the first draw. They give the same uniform bits (integer
 * arithmetic and exact conversions); normal values may differ by SLEEF's
 * rounding between them, as between ISAs (arrjit.h).
 */
#include "philox.h"
#include <stddef.h>

void aj_draw_avx512(void *out, const uint64_t *pos, uint64_t k0, int64_t n, uint64_t seed,
		    uint64_t stream, int32_t kind);
void aj_draw_avx2(void *out, const uint64_t *pos, uint64_t k0, int64_t n, uint64_t seed,
		  uint64_t stream, int32_t kind);
void aj_draw_sse2(void *out, const uint64_t *pos, uint64_t k0, int64_t n, uint64_t seed,
		  uint64_t stream, int32_t kind);

aj_draw_fn *aj_draw_impl(int i)
{
	__builtin_cpu_init();
	switch (i) {
	case 0: /* philox.c's AVX-512 build uses AVX512DQ's conversions */
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
			       ? aj_draw_avx512 : NULL;
	case 1:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
			       ? aj_draw_avx2 : NULL;
	case 2:
		return aj_draw_sse2;
	default:
		return NULL;
	}
}

void aj_rt_draw(void *out, const uint64_t *pos, uint64_t k0, int64_t n, uint64_t seed,
		uint64_t stream, int32_t kind)
{
	static aj_draw_fn *_Atomic best;
	aj_draw_fn *f = best;
	if (!f) {
		for (int i = 0; !f; i++)
			f = aj_draw_impl(i);
		best = f;
	}
	f(out, pos, k0, n, seed, stream, kind);
}
