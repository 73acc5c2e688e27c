/* See fuzz.h. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

aj_ctx *fuzz_ctx(void)
{
	static aj_ctx *ctx;
	if (!ctx) {
		setenv("AJ_CACHE", "off", 1);
		if (aj_ctx_new(&ctx) != AJ_OK) {
			fprintf(stderr, "fuzz: cannot create a context\n");
			abort();
		}
	}
	return ctx;
}

void fuzz_knobs(unsigned flags)
{
	aj_ctx *ctx = fuzz_ctx();
	aj_ctx_set_isa(ctx, flags & 1 ? AJ_ISA_SCALAR : AJ_ISA_HOST);
	aj_ctx_set_threads(ctx, flags & 2 ? 2 : 0);
	aj_ctx_set_min_parallel(ctx, flags & 2 ? 1 : 0);
	aj_ctx_set_nt_bytes(ctx, flags & 4 ? 1 : 0);
}

void fuzz_check(int ok, const char *file, int line, const char *fmt, ...)
{
	if (ok)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s:%d: check failed: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

char *fuzz_elem(const aj_array *a, int64_t k)
{
	int nd = aj_array_ndim(a);
	const int64_t *shape = aj_array_shape(a), *strides = aj_array_strides(a);
	char *p = aj_array_data(a);
	for (int d = nd - 1; d >= 0; d--) {
		p += (k % shape[d]) * strides[d];
		k /= shape[d];
	}
	return p;
}

int fuzz_same_array(const aj_array *a, const aj_array *b)
{
	int nd = aj_array_ndim(a);
	if (aj_array_dtype(a) != aj_array_dtype(b) || nd != aj_array_ndim(b) ||
	    memcmp(aj_array_shape(a), aj_array_shape(b), (size_t)nd * 8) != 0)
		return 0;
	size_t w = aj_dtype_size(aj_array_dtype(a));
	for (int64_t k = 0; k < aj_array_size(a); k++)
		if (memcmp(fuzz_elem(a, k), fuzz_elem(b, k), w) != 0)
			return 0;
	return 1;
}
