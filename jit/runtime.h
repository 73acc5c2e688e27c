/*
 * C functions that generated kernels call by name: the complex functions
 * (glibc's, and NumPy's own formulas for the rest), registered with the
 * JIT by address so that no symbol lookup in the process is needed.
 */
#ifndef AJ_JIT_RUNTIME_H
#define AJ_JIT_RUNTIME_H

#include "arrjit.h"

typedef struct aj_runtime_sym {
	const char *name;
	void *addr;
} aj_runtime_sym;

extern const aj_runtime_sym aj_runtime_syms[];
extern const int aj_nruntime_syms;

/* The C function computing complex op (complex128; the complex64 one adds
 * an f), or NULL if op has none. */
const char *aj_runtime_complex_name(aj_op op);

#endif
