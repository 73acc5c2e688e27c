/*
 * What the libFuzzer harnesses share: one context per process (kernels stay
 * in its in-memory cache across inputs; the disk cache is off), C-order
 * walks over any view, and check(), which aborts with a message so that
 * libFuzzer records the input.
 */
#ifndef AJ_FUZZ_H
#define AJ_FUZZ_H

#include "arrjit.h"

#include <stddef.h>
#include <stdint.h>

/* The process's context, made on first use with AJ_CACHE=off. */
aj_ctx *fuzz_ctx(void);

/* Sets ctx's knobs from flag bits, restoring the defaults where a bit is
 * clear: bit 0 the scalar ISA, bit 1 two threads for any kernel (the
 * parallel split on tiny arrays), bit 2 non-temporal stores for any
 * kernel. Results never depend on them. */
void fuzz_knobs(unsigned flags);

/* Aborts with file, line and the formatted message unless ok. */
#define check(ok, ...) fuzz_check((ok), __FILE__, __LINE__, __VA_ARGS__)
void fuzz_check(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Address of the element of a at C-order position k. */
char *fuzz_elem(const aj_array *a, int64_t k);

/* Whether a and b hold the same dtype, shape and element bytes. */
int fuzz_same_array(const aj_array *a, const aj_array *b);

#endif
