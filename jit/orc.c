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

#include <llvm-c/ErrorHandling.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aj_jit {
	LLVMOrcLLJITRef jit;     /* NULL after a fatal error that left no
				    way to make a new one */
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

/*
 * LLVM's fatal errors. What LLVM cannot recover from (a selection failure
 * in codegen, say) goes to its fatal error handler, which must not return:
 * by default LLVM then calls exit(1), ending the host process without a
 * word. Ours, installed once per process (aj_llvm_init), jumps back to the
 * LLVM call arrjit made on this thread, which returns AJ_ERR_JIT. The
 * handler is called with no LLVM lock held; what LLVM had under way is
 * abandoned, never touched again: the JIT that was compiling is leaked
 * (kernels it made stay callable) and a new one takes its place. A fatal
 * error with no arrjit call under way on the thread is not ours to
 * recover: the handler prints it and aborts, loudly.
 */
static _Thread_local jmp_buf *fatal_env;
static _Thread_local char fatal_why[256];

void aj_llvm_fatal(const char *reason)
{
	if (fatal_env) {
		snprintf(fatal_why, sizeof fatal_why, "%s", reason);
		longjmp(*fatal_env, 1);
	}
	fprintf(stderr, "arrjit: LLVM fatal error outside arrjit's calls: %s\n",
		reason);
	abort();
}

typedef struct llvm_work llvm_work;
typedef aj_status (*llvm_step)(llvm_work *w, char *err, size_t errlen);

/* Runs step under the handler; true in *fatal if LLVM gave up in it. */
static aj_status guarded(llvm_step step, llvm_work *w, bool *fatal, char *err,
			 size_t errlen)
{
	jmp_buf env, *outer = fatal_env;
	*fatal = false;
	if (setjmp(env)) {
		fatal_env = outer;
		*fatal = true;
		snprintf(err, errlen, "LLVM fatal error: %s", fatal_why);
		return AJ_ERR_JIT;
	}
	fatal_env = &env;
	aj_status s = step(w, err, errlen);
	fatal_env = outer;
	return s;
}

static void jit_free(aj_jit *j)
{
	if (j->jit)
		LLVMConsumeError(LLVMOrcDisposeLLJIT(j->jit));
	if (j->tm)
		LLVMDisposeTargetMachine(j->tm);
	aj_free(j);
}

aj_status aj_jit_new(aj_jit **out, char *err, size_t errlen)
{
	aj_jit *j = aj_calloc(1, sizeof *j);
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return AJ_ERR_NOMEM;
	}
	aj_llvm_enter();
	aj_status s = aj_host_tm(&j->tm, err, errlen);
	if (s == AJ_OK)
		s = make_lljit(j, err, errlen);
	if (s != AJ_OK)
		jit_free(j);
	else
		*out = j;
	aj_llvm_leave();
	return s;
}

void aj_jit_free(aj_jit *j)
{
	if (!j)
		return;
	aj_llvm_enter();
	jit_free(j);
	aj_llvm_leave();
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

struct llvm_work {
	aj_jit *j;
	const aj_kdesc *k; /* compile and text: the kernel, or for compile */
	const char *ir;    /* its IR as text (aj_jit_compile_ir) */
	const void *obj;   /* load */
	size_t len;
	const char *name;
	aj_kernel_fn *fn;
	aj_blob *capture;
	aj_stage stage; /* text */
	char **text;
};

static aj_status parse_ir(LLVMContextRef c, const char *ir, LLVMModuleRef *m,
			  char *err, size_t errlen)
{
	LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(
		ir, strlen(ir), "ir");
	char *msg = NULL;
	if (LLVMParseIRInContext(c, buf, m, &msg)) { /* takes buf */
		snprintf(err, errlen, "LLVM IR: %s", msg ? msg : "bad");
		LLVMDisposeMessage(msg);
		return AJ_ERR_JIT;
	}
	return AJ_OK;
}

static aj_status compile_step(llvm_work *w, char *err, size_t errlen)
{
	aj_jit *j = w->j;
	LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
	LLVMContextRef c = LLVMOrcThreadSafeContextGetContext(tsc);
	LLVMModuleRef m;
	aj_status s = w->k ? aj_emit_kernel(c, w->k, w->name, &m, err, errlen)
			   : parse_ir(c, w->ir, &m, err, errlen);
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
	j->capture = w->capture;
	return lookup_or_remove(j, rt, e, w->name, w->fn, err, errlen);
}

static aj_status load_step(llvm_work *w, char *err, size_t errlen)
{
	aj_jit *j = w->j;
	LLVMMemoryBufferRef buf =
		LLVMCreateMemoryBufferWithMemoryRangeCopy(w->obj, w->len, w->name);
	LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(j->dylib);
	LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(j->jit, rt, buf);
	return lookup_or_remove(j, rt, e, w->name, w->fn, err, errlen);
}

/* LLJITs abandoned after a fatal error: never touched again, but kept
 * reachable so that leak checkers do not report them (the first ones). */
static LLVMOrcLLJITRef volatile abandoned[16]; /* written only */
static _Atomic unsigned nabandoned;

/* Runs a step that adds to j's LLJIT. After a fatal error in it, that
 * LLJIT is abandoned as it stands and j gets a new one. */
static aj_status on_jit(llvm_step step, llvm_work *w, char *err, size_t errlen)
{
	aj_jit *j = w->j;
	if (!j->jit) {
		snprintf(err, errlen, "no JIT: making a new one after an LLVM "
				      "fatal error failed");
		return AJ_ERR_JIT;
	}
	bool fatal;
	aj_llvm_enter();
	aj_status s = guarded(step, w, &fatal, err, errlen);
	j->capture = NULL;
	if (fatal) {
		unsigned i = atomic_fetch_add(&nabandoned, 1);
		if (i < sizeof abandoned / sizeof *abandoned)
			abandoned[i] = j->jit;
		j->jit = NULL;
		char why[128];
		if (make_lljit(j, why, sizeof why) != AJ_OK && j->jit) {
			LLVMConsumeError(LLVMOrcDisposeLLJIT(j->jit));
			j->jit = NULL;
		}
	}
	aj_llvm_leave();
	return s;
}

aj_status aj_jit_compile(aj_jit *j, const aj_kdesc *k, const char *name,
			 aj_kernel_fn *fn, aj_blob *obj, char *err,
			 size_t errlen)
{
	if (obj)
		*obj = (aj_blob){NULL, 0};
	llvm_work w = {.j = j, .k = k, .name = name, .fn = fn, .capture = obj};
	aj_status s = on_jit(compile_step, &w, err, errlen);
	if (s != AJ_OK && obj) {
		aj_free(obj->bytes);
		*obj = (aj_blob){NULL, 0};
	}
	return s;
}

aj_status aj_jit_compile_ir(aj_jit *j, const char *ir, const char *name,
			    aj_kernel_fn *fn, char *err, size_t errlen)
{
	llvm_work w = {.j = j, .ir = ir, .name = name, .fn = fn};
	return on_jit(compile_step, &w, err, errlen);
}

aj_status aj_jit_load(aj_jit *j, const void *obj, size_t len,
		      const char *name, aj_kernel_fn *fn, char *err,
		      size_t errlen)
{
	llvm_work w = {.j = j, .obj = obj, .len = len, .name = name, .fn = fn};
	return on_jit(load_step, &w, err, errlen);
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

static aj_status text_step(llvm_work *w, char *err, size_t errlen)
{
	LLVMTargetMachineRef tm;
	aj_status s = aj_host_tm(&tm, err, errlen);
	if (s != AJ_OK)
		return s;
	LLVMContextRef c = LLVMContextCreate();
	LLVMModuleRef m;
	s = aj_emit_kernel(c, w->k, "aj_kernel", &m, err, errlen);
	if (s == AJ_OK) {
		aj_module_target(m, tm);
		if (w->stage != AJ_STAGE_IR)
			s = aj_optimize(m, tm, err, errlen);
		if (s == AJ_OK && w->stage == AJ_STAGE_ASM) {
			s = text_asm(tm, m, w->text, err, errlen);
		} else if (s == AJ_OK) {
			char *ir = LLVMPrintModuleToString(m);
			*w->text = aj_strdup(ir);
			LLVMDisposeMessage(ir);
			s = *w->text ? AJ_OK : AJ_ERR_NOMEM;
		}
		LLVMDisposeModule(m);
	}
	LLVMContextDispose(c);
	LLVMDisposeTargetMachine(tm);
	return s;
}

aj_status aj_jit_text(const aj_kdesc *k, aj_stage stage, char **text,
		      char *err, size_t errlen)
{
	llvm_work w = {.k = k, .stage = stage, .text = text};
	bool fatal;
	aj_llvm_enter();
	aj_status s = guarded(text_step, &w, &fatal, err, errlen);
	aj_llvm_leave();
	return s;
}
