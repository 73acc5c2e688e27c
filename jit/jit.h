/*
 * The JIT as the library sees it: compile a kernel description to a
 * function pointer, or render it as text; hand back the object file it
 * linked and link such an object again (the disk cache, lib/diskcache.c).
 * Implemented in jit/ with LLVM; this header includes none of LLVM.
 */
#ifndef AJ_JIT_H
#define AJ_JIT_H

#include "kernel.h"

#include <stddef.h>

typedef struct aj_jit aj_jit;

/* Best vector ISA of the running CPU (AVX512, AVX2 or SCALAR). */
aj_isa aj_jit_host_isa(void);

/* What generated code depends on besides the kernel description: LLVM's
 * version, the target triple, the host CPU's name and features, as a
 * malloc'd string; NULL when out of memory. */
char *aj_jit_host_id(void);

/* Bytes of an object file, malloc'd. */
typedef struct aj_blob {
	unsigned char *bytes;
	size_t len;
} aj_blob;

aj_status aj_jit_new(aj_jit **out, char *err, size_t errlen);
void aj_jit_free(aj_jit *j);
/* Compiles k as function `name`, which must be new to j; the function
 * lives as long as j. When obj is not NULL it receives a copy of the
 * object file the JIT linked ({NULL, 0} if out of memory); nothing is
 * compiled twice for it. Not reentrant on one j. A fatal error inside
 * LLVM comes back as AJ_ERR_JIT (see jit/orc.c): functions j made before
 * stay callable. */
aj_status aj_jit_compile(aj_jit *j, const aj_kdesc *k, const char *name,
			 aj_kernel_fn *fn, aj_blob *obj, char *err,
			 size_t errlen);
/* Links an object file from aj_jit_compile (of this or another process on
 * the same host id) and finds function `name` in it. On failure j is as
 * it was, so the kernel can still be compiled under that name. */
aj_status aj_jit_load(aj_jit *j, const void *obj, size_t len,
		      const char *name, aj_kernel_fn *fn, char *err,
		      size_t errlen);
/* LLVM's fatal error handler (jit/orc.c): back to the arrjit call under
 * way on this thread, or a message on stderr and abort() if none is. */
void aj_llvm_fatal(const char *reason);
/* For tests: compiles LLVM IR text through aj_jit_compile's path, so
 * the tests can make LLVM fail as no kernel of arrjit's makes it fail. */
aj_status aj_jit_compile_ir(aj_jit *j, const char *ir, const char *name,
			    aj_kernel_fn *fn, char *err, size_t errlen);
/* IR, optimised IR or assembly of k as a malloc'd string. */
aj_status aj_jit_text(const aj_kdesc *k, aj_stage stage, char **text,
		      char *err, size_t errlen);

#endif
