/*
 * Compiling with ORC LLJIT, one module per kernel, and the pass pipeline.
 *
 * The JIT's target machine comes from DetectHost, which carries the host
 * CPU and features (AVX2/AVX-512): without them SLEEF vector calls would be
 * passed in the wrong registers. SLEEF's functions resolve from SLEEF's
 * own library (pinned by soname at build time), arrjit's runtime helpers
 * (runtime.c) by address, the rest from the process.
 *
 * The disk cache stores the object file the JIT itself produced: the
 * object transform layer copies it out while a compile asks for it, so
 * nothing is compiled twice. Kernels are named by the caller, so a name
 * can be stable across processes and an object made in one links in
 * another; each loaded object has its own resource tracker, removed if it
 * fails to link, so a bad one leaves the JIT as it was.
 */
#include "alloc.h"
#include "llvm.h"
#include "runtime.h"

#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aj_jit {
	LLVMOrcLLJITRef jit;
	LLVMOrcJITDylibRef dylib;
	LLVMTargetMachineRef tm; /* for the optimisation passes */
	aj_blob *capture;        /* where the next object goes during a
				    compile that wants it; NULL else */
};

/*
 * The pass pipeline. emit.c writes the vector code itself (explicit
 * <lanes x T> IR, SLEEF vector calls, hoisted invariants), so O3's loop
 * vectoriser and unroller find nothing to do and only cost compile time.
 * What the IR needs: SROA for the reduction accumulators, CSE, instcombine
 * and GVN for address arithmetic, LICM for what is invariant in an inner
 * loop. Measured with arrjit-eval --stats and arrjit-bench --quick on
 * this machine: 5-9 ms per kernel against 10-18 ms for default<O3>, at
 * the same speed (bench/RESULTS.md). instcombine named alone checks that
 * one run reaches a fixpoint and kills the process when it does not (LLVM
 * 18 on; a[i % i % 4] did); default<O3> turns that check off, and so does
 * no-verify-fixpoint here.
 */
static const char PIPELINE[] =
	"function(sroa,early-cse,instcombine<no-verify-fixpoint>,simplifycfg,"
	"loop-mssa(licm),gvn,instcombine<no-verify-fixpoint>,simplifycfg,dce)";

aj_status aj_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, char *err,
		      size_t errlen)
{
	LLVMPassBuilderOptionsRef opt = LLVMCreatePassBuilderOptions();
	LLVMErrorRef e = LLVMRunPasses(m, PIPELINE, tm, opt);
	LLVMDisposePassBuilderOptions(opt);
	if (e) {
		aj_llvm_error(e, err, errlen);
		return AJ_ERR_JIT;
	}
	return AJ_OK;
}

/* Defines the runtime helpers in the kernels' JITDylib. */
static LLVMErrorRef define_runtime(aj_jit *j)
{
	LLVMOrcCSymbolMapPair pairs[aj_nruntime_syms];
	for (int i = 0; i < aj_nruntime_syms; i++) {
		pairs[i].Name = LLVMOrcLLJITMangleAndIntern(j->jit, aj_runtime_syms[i].name);
		pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)aj_runtime_syms[i].addr;
		pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported |
						  LLVMJITSymbolGenericFlagsCallable;
		pairs[i].Sym.Flags.TargetFlags = 0;
	}
	LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, (size_t)aj_nruntime_syms);
	LLVMErrorRef e = LLVMOrcJITDylibDefine(j->dylib, mu);
	if (e)
		LLVMOrcDisposeMaterializationUnit(mu);
	return e;
}

/* The object transform: a copy for the compile that asked, the object
 * itself unchanged. */
static LLVMErrorRef capture_object(void *ctx, LLVMMemoryBufferRef *obj)
{
	aj_jit *j = ctx;
	if (!j->capture || j->capture->bytes)
		return NULL;
	size_t n = LLVMGetBufferSize(*obj);
	unsigned char *b = aj_malloc(n ? n : 1);
	if (b) {
		memcpy(b, LLVMGetBufferStart(*obj), n);
		*j->capture = (aj_blob){b, n};
	}
	return NULL;
}

static aj_status make_lljit(aj_jit *j, char *err, size_t errlen)
{
	LLVMOrcJITTargetMachineBuilderRef jtmb;
	LLVMErrorRef e = LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb);
	if (e)
		goto fail;
	LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
	LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, jtmb);
	if ((e = LLVMOrcCreateLLJIT(&j->jit, b)))
		goto fail;
	j->dylib = LLVMOrcLLJITGetMainJITDylib(j->jit);
	LLVMOrcObjectTransformLayerSetTransform(
		LLVMOrcLLJITGetObjTransformLayer(j->jit), capture_object, j);
	if ((e = define_runtime(j)))
		goto fail;
	char prefix = LLVMOrcLLJITGetGlobalPrefix(j->jit);
	LLVMOrcDefinitionGeneratorRef sleef, mvec, process;
	/* SLEEF first, from its own library; glibc's libmvec (the fast
	 * accuracy mode's _ZGV names) from its own; then the process (memset
	 * and friends that LLVM may introduce) */
	e = LLVMOrcCreateDynamicLibrarySearchGeneratorForPath(
		&sleef, AJ_SLEEF_SONAME, prefix, NULL, NULL);
	if (e)
		goto fail;
	LLVMOrcJITDylibAddGenerator(j->dylib, sleef);
	e = LLVMOrcCreateDynamicLibrarySearchGeneratorForPath(
		&mvec, "libmvec.so.1", prefix, NULL, NULL);
	if (e)
		goto fail;
	LLVMOrcJITDylibAddGenerator(j->dylib, mvec);
	e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&process, prefix,
								  NULL, NULL);
	if (e)
		goto fail;
	LLVMOrcJITDylibAddGenerator(j->dylib, process);
	return AJ_OK;
fail:
	aj_llvm_error(e, err, errlen);
	return AJ_ERR_JIT;
}

aj_status aj_jit_new(aj_jit **out, char *err, size_t errlen)
{
	aj_llvm_init();
	aj_jit *j = aj_calloc(1, sizeof *j);
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return AJ_ERR_NOMEM;
	}
	aj_status s = aj_host_tm(&j->tm, err, errlen);
	if (s == AJ_OK)
		s = make_lljit(j, err, errlen);
	if (s != AJ_OK) {
		aj_jit_free(j);
		return s;
	}
	*out = j;
	return AJ_OK;
}

void aj_jit_free(aj_jit *j)
{
	if (!j)
		return;
	if (j->jit)
		LLVMConsumeError(LLVMOrcDisposeLLJIT(j->jit));
	if (j->tm)
		LLVMDisposeTargetMachine(j->tm);
	aj_free(j);
}

/* Finds function name after something was added to j under rt (added is
 * the adding's error); on failure removes all rt holds, so j is as it
 * was and the name is free again. */
static aj_status lookup_or_remove(aj_jit *j, LLVMOrcResourceTrackerRef rt,
				  LLVMErrorRef added, const char *name,
				  aj_kernel_fn *fn, char *err, size_t errlen)
{
	LLVMOrcExecutorAddress addr = 0;
	LLVMErrorRef e = added ? added : LLVMOrcLLJITLookup(j->jit, &addr, name);
	if (e) {
		aj_llvm_error(e, err, errlen);
		LLVMConsumeError(LLVMOrcResourceTrackerRemove(rt));
	}
	LLVMOrcReleaseResourceTracker(rt);
	*fn = (aj_kernel_fn)(uintptr_t)addr;
	return e ? AJ_ERR_JIT : AJ_OK;
}

aj_status aj_jit_compile(aj_jit *j, const aj_kdesc *k, const char *name,
			 aj_kernel_fn *fn, aj_blob *obj, char *err,
			 size_t errlen)
{
	LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
	LLVMContextRef c = LLVMOrcThreadSafeContextGetContext(tsc);
	LLVMModuleRef m;
	aj_status s = aj_emit_kernel(c, k, name, &m, err, errlen);
	if (s == AJ_OK) {
		aj_module_target(m, j->tm);
		s = aj_optimize(m, j->tm, err, errlen);
		if (s != AJ_OK)
			LLVMDisposeModule(m);
	}
	if (s != AJ_OK) {
		LLVMOrcDisposeThreadSafeContext(tsc);
		return s;
	}
	LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
	LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps it alive */
	LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(j->dylib);
	/* takes tsm, even on failure; the lookup then materialises the
	 * module on this thread: codegen, the object transform, linking */
	LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModuleWithRT(j->jit, rt, tsm);
	if (obj)
		*obj = (aj_blob){NULL, 0};
	j->capture = obj;
	s = lookup_or_remove(j, rt, e, name, fn, err, errlen);
	j->capture = NULL;
	if (s != AJ_OK && obj) {
		aj_free(obj->bytes);
		*obj = (aj_blob){NULL, 0};
	}
	return s;
}

aj_status aj_jit_load(aj_jit *j, const void *obj, size_t len,
		      const char *name, aj_kernel_fn *fn, char *err,
		      size_t errlen)
{
	LLVMMemoryBufferRef buf =
		LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, name);
	LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(j->dylib);
	LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(j->jit, rt, buf);
	return lookup_or_remove(j, rt, e, name, fn, err, errlen);
}

static aj_status text_asm(LLVMTargetMachineRef tm, LLVMModuleRef m, char **text,
			  char *err, size_t errlen)
{
	LLVMMemoryBufferRef buf;
	char *msg = NULL;
	if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &msg, &buf)) {
		snprintf(err, errlen, "LLVM codegen: %s", msg);
		LLVMDisposeMessage(msg);
		return AJ_ERR_JIT;
	}
	size_t n = LLVMGetBufferSize(buf);
	*text = aj_malloc(n + 1);
	if (*text) {
		memcpy(*text, LLVMGetBufferStart(buf), n);
		(*text)[n] = '\0';
	}
	LLVMDisposeMemoryBuffer(buf);
	return *text ? AJ_OK : AJ_ERR_NOMEM;
}

aj_status aj_jit_text(const aj_kdesc *k, aj_stage stage, char **text,
		      char *err, size_t errlen)
{
	LLVMTargetMachineRef tm;
	aj_status s = aj_host_tm(&tm, err, errlen);
	if (s != AJ_OK)
		return s;
	LLVMContextRef c = LLVMContextCreate();
	LLVMModuleRef m;
	s = aj_emit_kernel(c, k, "aj_kernel", &m, err, errlen);
	if (s == AJ_OK) {
		aj_module_target(m, tm);
		if (stage != AJ_STAGE_IR)
			s = aj_optimize(m, tm, err, errlen);
		if (s == AJ_OK && stage == AJ_STAGE_ASM) {
			s = text_asm(tm, m, text, err, errlen);
		} else if (s == AJ_OK) {
			char *ir = LLVMPrintModuleToString(m);
			*text = aj_strdup(ir);
			LLVMDisposeMessage(ir);
			s = *text ? AJ_OK : AJ_ERR_NOMEM;
		}
		LLVMDisposeModule(m);
	}
	LLVMContextDispose(c);
	LLVMDisposeTargetMachine(tm);
	return s;
}
