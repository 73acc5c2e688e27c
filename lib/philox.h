/*
 * Random draws for the kernels (arrjit.h, aj_random), computed by C
 * compiled with the library, not by IR: a kernel asks aj_rt_draw for a
 * run of values and reads them from a buffer (jit/random.c). Values are
 * a function of (seed, stream, position) only, so every path that asks
 * for a position gets the same bits.
 */
#ifndef AJ_PHILOX_H
#define AJ_PHILOX_H

#include "arrjit.h"

#include <stdint.h>

/*
 * What a draw makes, one row per kind: its distribution and dtype
 * (arrjit.h), the values a Philox block gives (shares) and the bytes of
 * one. The enum, philox.c's tables, jit/random.c's choice of kind and the
 * tests all expand this list.
 */
#define AJ_DRAW_KINDS(X)                           \
	X(U64, AJ_DIST_UNIFORM, AJ_UINT64, 2, 8)   \
	X(F64, AJ_DIST_UNIFORM, AJ_FLOAT64, 2, 8)  \
	X(U32, AJ_DIST_UNIFORM, AJ_UINT32, 4, 4)   \
	X(F32, AJ_DIST_UNIFORM, AJ_FLOAT32, 4, 4)  \
	X(N64, AJ_DIST_NORMAL, AJ_FLOAT64, 1, 8)   \
	X(N32, AJ_DIST_NORMAL, AJ_FLOAT32, 1, 4)

typedef enum aj_draw_kind {
#define X(name, dist, dtype, shares, size) AJ_DRAW_##name,
	AJ_DRAW_KINDS(X)
#undef X
	AJ_DRAW_NKINDS
} aj_draw_kind;

/*
 * The n values of kind for positions k0, k0 + 1, ..., k0 + n - 1 when pos
 * is NULL, else for positions pos[0 .. n-1], into out (n elements of the
 * kind's dtype, any alignment). Called by the kernels; n >= 0.
 */
void aj_rt_draw(void *out, const uint64_t *pos, uint64_t k0, int64_t n, uint64_t seed,
		uint64_t stream, int32_t kind);

/* The implementations, best first: 0 AVX-512, 1 AVX2 with FMA, 2 plain
 * C. aj_rt_draw runs the best the host has; tests run each of them
 * (NULL: the host cannot). Uniform values are the same bits from each;
 * normal ones may differ by SLEEF's rounding, as between ISAs. */
typedef void aj_draw_fn(void *out, const uint64_t *pos, uint64_t k0, int64_t n,
			uint64_t seed, uint64_t stream, int32_t kind);
enum { AJ_DRAW_NIMPLS = 3 };
aj_draw_fn *aj_draw_impl(int i);

#endif
