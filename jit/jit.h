/*
 * The JIT as the library sees it: compile a kernel description to a
 * function pointer, or render it as text. Implemented in jit/ with LLVM;
 * this header includes none of LLVM.
 */
#ifndef AJ_JIT_H
#define AJ_JIT_H

#include "kernel.h"

#include <stddef.h>

typedef struct aj_jit aj_jit;

/* Best vector ISA of the running CPU (AVX512, AVX2 or SCALAR). */
aj_isa aj_jit_host_isa(void);

aj_status aj_jit_new(aj_jit **out, char *err, size_t errlen);
void aj_jit_free(aj_jit *j);
/* Compiles k; the function lives as long as j. Not reentrant on one j. */
aj_status aj_jit_compile(aj_jit *j, const aj_kdesc *k, aj_kernel_fn *fn,
			 char *err, size_t errlen);
/* IR, optimised IR or assembly of k as a malloc'd string. */
aj_status aj_jit_text(const aj_kdesc *k, aj_stage stage, char **text,
		      char *err, size_t errlen);

#endif
