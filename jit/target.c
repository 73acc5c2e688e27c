/*
 * The host as a code generation target: which vector ISA it offers, a
 * target machine with its exact CPU and features, and those as a string
 * that names what generated code depends on (the disk cache keys on it).
 */
#include "alloc.h"
#include "llvm.h"

#include <llvm-c/ErrorHandling.h>
#include <llvm-c/Target.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/*
 * fork() and LLVM. LLVM's state is process-wide (registries, the
 * streams it locks): a fork while another thread is inside LLVM could
 * leave one of its locks held in the child for ever. Every arrjit call
 * into LLVM holds `users` for reading; fork takes it for writing first
 * (pthread_atfork), so it waits for those under way and holds off new
 * ones until it is done. The child can then compile.
 */
static pthread_rwlock_t users = PTHREAD_RWLOCK_INITIALIZER;

static void fork_prepare(void)
{
	pthread_rwlock_wrlock(&users);
}

static void fork_parent(void)
{
	pthread_rwlock_unlock(&users);
}

/* The child's thread has a new id, which glibc's unlock of a write lock
 * does not recognise: the child starts the lock afresh (it has no other
 * thread to share it with). */
static void fork_child(void)
{
	pthread_rwlock_init(&users, NULL);
}

static void init(void)
{
	LLVMInitializeNativeTarget();
	LLVMInitializeNativeAsmPrinter();
	LLVMInitializeNativeAsmParser();
	LLVMInstallFatalErrorHandler(aj_llvm_fatal);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void aj_llvm_init(void)
{
	pthread_once(&init_once, init);
}

void aj_llvm_enter(void)
{
	aj_llvm_init();
	pthread_rwlock_rdlock(&users);
}

void aj_llvm_leave(void)
{
	pthread_rwlock_unlock(&users);
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
