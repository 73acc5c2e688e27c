/*
 * LLVM's code generation time for one kernel's optimised IR (arrjit-dump
 * --stage opt; a dump holding several kernels must be cut to one), at
 * each codegen level, for the host's CPU and features, with LLVM options
 * given after the file: the measurement behind jit/target.c's
 * -disable-lsr (a + a.T: 10.6 -> 5.4 ms of codegen).
 *
 *   build/bin/arrjit-dump --stage opt --shape a=4000x4000 'a + a.T' > /tmp/at.ll
 *   gcc -O2 bench/micro/codegen_time.c $(llvm-config-19 --cflags --ldflags \
 *       --libs) -o /tmp/cg
 *   /tmp/cg /tmp/at.ll; /tmp/cg /tmp/at.ll -disable-lsr
 */
#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { RUNS = 15 };

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s KERNEL.ll [LLVM-OPTION ...]\n", argv[0]);
		return 2;
	}
	LLVMInitializeNativeTarget();
	LLVMInitializeNativeAsmPrinter();
	const char *file = argv[1];
	argv[1] = argv[0]; /* the options, after a program name */
	LLVMParseCommandLineOptions(argc - 1, (const char *const *)argv + 1, "");
	char *err = NULL;
	LLVMContextRef c = LLVMContextCreate();
	LLVMMemoryBufferRef mb;
	LLVMModuleRef m;
	if (LLVMCreateMemoryBufferWithContentsOfFile(file, &mb, &err) ||
	    LLVMParseIRInContext(c, mb, &m, &err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	char *triple = LLVMGetDefaultTargetTriple();
	char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
	LLVMTargetRef target;
	if (LLVMGetTargetFromTriple(triple, &target, &err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int level = 0; level <= 3; level++) {
		LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
			target, triple, cpu, features, (LLVMCodeGenOptLevel)level,
			LLVMRelocDefault, LLVMCodeModelJITDefault);
		double ms[RUNS];
		size_t bytes = 0;
		for (int r = 0; r < RUNS; r++) {
			LLVMModuleRef k = LLVMCloneModule(m);
			LLVMMemoryBufferRef obj;
			double t0 = now_ms();
			if (LLVMTargetMachineEmitToMemoryBuffer(tm, k, LLVMObjectFile, &err, &obj)) {
				fprintf(stderr, "%s\n", err);
				return 1;
			}
			ms[r] = now_ms() - t0;
			bytes = LLVMGetBufferSize(obj);
			LLVMDisposeMemoryBuffer(obj);
			LLVMDisposeModule(k);
		}
		qsort(ms, RUNS, sizeof *ms, cmp);
		printf("codegen level %d: median %.2f ms, min %.2f, object %zu bytes\n", level,
		       ms[RUNS / 2], ms[0], bytes);
		LLVMDisposeTargetMachine(tm);
	}
	return 0;
}
