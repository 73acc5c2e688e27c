/*
 * Shared by the files of jit/: LLVM includes and helpers. Only jit/ may
 * include this (and LLVM).
 */
#ifndef AJ_JIT_LLVM_H
#define AJ_JIT_LLVM_H

#include "jit.h"

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/TargetMachine.h>

/* Initialises LLVM's native target and installs aj_llvm_fatal (jit.h) as
 * its fatal error handler, once per process. */
void aj_llvm_init(void);
/* Around every use of LLVM from jit/'s entry points (aj_jit_*): a fork
 * waits for the uses under way (target.c). Initialises LLVM. */
void aj_llvm_enter(void);
void aj_llvm_leave(void);
/* A target machine for the host CPU and all its features (see
 * LLVM-NOTES: without them vector calls get the wrong ABI). */
aj_status aj_host_tm(LLVMTargetMachineRef *tm, char *err, size_t errlen);
/* Sets the module's triple and data layout from tm. */
void aj_module_target(LLVMModuleRef m, LLVMTargetMachineRef tm);
/* Copies an LLVM error's message into err and consumes it. */
void aj_llvm_error(LLVMErrorRef e, char *err, size_t errlen);

/* Builds kernel k as function `name` in a new module of context c. */
aj_status aj_emit_kernel(LLVMContextRef c, const aj_kdesc *k, const char *name,
			 LLVMModuleRef *out, char *err, size_t errlen);
/* Runs the optimisation pipeline on m for tm. */
aj_status aj_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, char *err,
		      size_t errlen);

/*
 * Name of the SLEEF function computing op on `lanes` lanes of float dtype t
 * with isa, or NULL when SLEEF has no such width for it (then the caller
 * goes lane by lane with the scalar one, lanes = 1, which always exists).
 * With fast, glibc's libmvec function where it has that width.
 */
const char *aj_sleef_name(aj_op op, aj_dtype t, int lanes, aj_isa isa, bool fast,
			  char *buf, size_t len);

#endif
