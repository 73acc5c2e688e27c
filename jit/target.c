/*
 * The host as a code generation target: which vector ISA it offers, a
 * target machine with its exact CPU and features, and those as a string
 * that names what generated code depends on (the disk cache keys on it).
 */
#include "alloc.h"
#include "llvm.h"

#include <llvm-c/ErrorHandling.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/*
 * fork() and LLVM. LLVM's state is process-wide (registries, the
 * streams it locks): a fork while another thread is inside LLVM could
 * leave one of its locks held in the child for ever. Every arrjit call
 * into LLVM counts itself in `users` under `lock`; a fork (pthread_atfork)
 * takes `lock`, waits for the count to fall to 0 and keeps `lock` until
 * it is done, so no call is inside LLVM at the fork and none enters
 * during it. The child, whose one thread is the one that forked, unlocks
 * `lock` as the parent does (a mutex, not a rwlock: glibc's unlock of a
 * write lock checks the thread id, which is new in the child).
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static int users;

static void fork_prepare(void)
{
	pthread_mutex_lock(&lock);
	while (users > 0)
		pthread_cond_wait(&idle, &lock);
}

static void fork_done(void)
{
	pthread_mutex_unlock(&lock);
}

/*
 * LLVM's loop strength reduction, off. Code generation runs it on every
 * loop, and on arrjit's kernels it took a third to a half of the codegen
 * time (a + a.T tiled, 4000x4000: 13.4 -> 8.6 ms per kernel; 6.8 -> 5.5
 * ms per kernel over arrjit-bench --quick) while no workload's speed
 * moved beyond the noise: the inner loops index every operand from one
 * induction variable, which x86 addressing (base + index * scale) takes
 * as it is. LLVM 19 has no per-module or per-target switch for it, only
 * this command-line option, which is process-wide: a host that compiles
 * with the same libLLVM gets it too (its code stays correct). Parsing
 * fails, silently, only if the option was given before.
 */
static void no_lsr(void)
{
	const char *argv[] = {"arrjit", "-disable-lsr"};
	LLVMParseCommandLineOptions(2, argv, "");
}

static void init(void)
{
	LLVMInitializeNativeTarget();
	LLVMInitializeNativeAsmPrinter();
	LLVMInitializeNativeAsmParser();
	LLVMInstallFatalErrorHandler(aj_llvm_fatal);
	no_lsr();
	pthread_atfork(fork_prepare, fork_done, fork_done);
}

void aj_llvm_init(void)
{
	pthread_once(&init_once, init);
}

void aj_llvm_enter(void)
{
	aj_llvm_init();
	pthread_mutex_lock(&lock);
	users++;
	pthread_mutex_unlock(&lock);
}

void aj_llvm_leave(void)
{
	pthread_mutex_lock(&lock);
	if (--users == 0)
		pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&lock);
}

static bool has_feature(const char *features, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = features; (s = strstr(s, name)); s += n)
		if ((s[n] == ',' || s[n] == '\0') && s > features && s[-1] == '+')
			return true;
	return false;
}

aj_isa aj_jit_host_isa(void)
{
	aj_llvm_enter();
	char *f = LLVMGetHostCPUFeatures();
	aj_isa isa = AJ_ISA_SCALAR;
	if (has_feature(f, "avx2") && has_feature(f, "fma"))
		isa = AJ_ISA_AVX2;
	if (isa == AJ_ISA_AVX2 && has_feature(f, "avx512f") &&
	    has_feature(f, "avx512dq") && has_feature(f, "avx512vl"))
		isa = AJ_ISA_AVX512;
	LLVMDisposeMessage(f);
	aj_llvm_leave();
	return isa;
}

aj_status aj_host_tm(LLVMTargetMachineRef *tm, char *err, size_t errlen)
{
	aj_llvm_init();
	char *triple = LLVMGetDefaultTargetTriple();
	char *msg = NULL;
	LLVMTargetRef target;
	if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
		snprintf(err, errlen, "LLVM target %s: %s", triple, msg);
		LLVMDisposeMessage(msg);
		LLVMDisposeMessage(triple);
		return AJ_ERR_JIT;
	}
	char *cpu = LLVMGetHostCPUName(), *feat = LLVMGetHostCPUFeatures();
	*tm = LLVMCreateTargetMachine(target, triple, cpu, feat,
				      LLVMCodeGenLevelAggressive, LLVMRelocPIC,
				      LLVMCodeModelDefault);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(feat);
	LLVMDisposeMessage(triple);
	if (!*tm) {
		snprintf(err, errlen, "LLVM could not create a target machine");
		return AJ_ERR_JIT;
	}
	return AJ_OK;
}

char *aj_jit_host_id(void)
{
	unsigned major, minor, patch;
	aj_llvm_enter();
	LLVMGetVersion(&major, &minor, &patch);
	char *triple = LLVMGetDefaultTargetTriple();
	char *cpu = LLVMGetHostCPUName(), *feat = LLVMGetHostCPUFeatures();
	size_t n = strlen(triple) + strlen(cpu) + strlen(feat) + 64;
	char *id = aj_malloc(n);
	if (id)
		snprintf(id, n, "llvm %u.%u.%u;%s;%s;%s", major, minor, patch,
			 triple, cpu, feat);
	LLVMDisposeMessage(triple);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(feat);
	aj_llvm_leave();
	return id;
}

void aj_module_target(LLVMModuleRef m, LLVMTargetMachineRef tm)
{
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMSetTarget(m, triple);
	LLVMDisposeMessage(triple);
	LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
	LLVMSetModuleDataLayout(m, dl);
	LLVMDisposeTargetData(dl);
}

void aj_llvm_error(LLVMErrorRef e, char *err, size_t errlen)
{
	char *msg = LLVMGetErrorMessage(e);
	snprintf(err, errlen, "LLVM: %s", msg);
	LLVMDisposeErrorMessage(msg);
}
