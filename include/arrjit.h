/*
 * arrjit: lazy, fused, JIT-compiled array expressions over caller memory.
 *
 * The one public header. Handles are opaque; every call takes its context or
 * handle first; there is no global state.
 *
 *   aj_ctx    the engine: JIT, kernel cache, statistics. Thread-safe: one
 *             context may be shared by many threads.
 *   aj_array  a strided view of memory (wrapped caller memory or an owned,
 *             64-byte aligned buffer). Immutable: views make new handles.
 *   aj_prog   a lazy program: expression nodes and pending assignments.
 *             Used by one thread at a time; make one per thread.
 *   aj_expr   a node of a program, passed by value. Valid until the next
 *             aj_sync() of its program; a stale handle is reported as
 *             AJ_ERR_STALE, never dereferenced.
 *
 * Errors. Calls that can fail return aj_status; the message is read with
 * aj_ctx_errmsg() or aj_prog_errmsg(). Expression builders (aj_binary, ...)
 * return an aj_expr instead: on error they return AJ_EXPR_NONE and record the
 * first error in the program, which the next aj_assign() or aj_sync()
 * returns (the way SQLite's parser keeps nErr). Building is therefore cheap
 * and error checks happen once per statement. Nothing is ever written to an
 * output when a call fails.
 *
 * LLVM. Its failures come back as AJ_ERR_JIT, fatal ones included: arrjit
 * installs LLVM's fatal error handler (process-wide, on the first
 * context), which returns to the arrjit call that was compiling; that
 * compiler state is abandoned, the kernels made before keep running and
 * later ones compile anew. A fatal error of LLVM's with no arrjit call
 * under way on its thread (a host that uses LLVM itself) prints a message
 * and aborts rather than exit(1) in silence; a host with its own handler
 * should install it after creating its first context. LLVM's own
 * out-of-memory handler, which C cannot replace, still aborts. The first
 * context also turns off LLVM's loop strength reduction, for compile
 * time, through LLVM's process-wide option -disable-lsr: a host that
 * compiles with the same libLLVM gets that too (its code stays correct).
 *
 * Lifetimes. Arrays passed to aj_leaf() must stay alive, and their memory
 * unchanged by others, until the aj_sync() that runs the work using them.
 *
 * Reference. This header is the documentation: `make docs` renders it with
 * Doxygen (docs/Doxyfile). A comment documents the declaration below it;
 * where one comment serves several declarations, Doxygen's group markers
 * (a comment of an at sign and a brace before and after them) give each
 * of them that comment.
 */
#ifndef ARRJIT_H
#define ARRJIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* DLPack's types, for the DLPack section below, where available. */
#if defined(__has_include)
#if __has_include(<dlpack/dlpack.h>)
#include <dlpack/dlpack.h>
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*@{*/
/*
 * Version of this header; CMake's project version must agree (CMakeLists.txt
 * checks it). aj_version() and aj_version_number() give the version of the
 * library actually loaded, so a program can compare the two.
 *
 * ABI policy. The shared library is libarrjit.so.SOVERSION. While the major
 * version is 0, SOVERSION is "0.MINOR" (libarrjit.so.0.1): any 0.x minor
 * release may break the ABI, a patch release never does. From 1.0 on,
 * SOVERSION is the major version. The ABI breaks, and SOVERSION changes,
 * when a function is removed or its signature changes, when an enumerator's
 * value changes (a row inserted in AJ_OP_TABLE or AJ_DTYPE_TABLE before
 * others, which renumbers those after it), when a struct the caller
 * allocates (aj_stats, aj_slice, aj_param, aj_arg, aj_expr) changes size or
 * layout, or when AJ_MAX_NDIM changes. Adding functions does not.
 */
#define AJ_VERSION_MAJOR 0
#define AJ_VERSION_MINOR 1
#define AJ_VERSION_PATCH 0
#define AJ_VERSION_STRING "0.1.0"
/*@}*/
/* MAJOR * 10000 + MINOR * 100 + PATCH: 100 for 0.1.0. */
#define AJ_VERSION_NUMBER                                                \
	(AJ_VERSION_MAJOR * 10000 + AJ_VERSION_MINOR * 100 + AJ_VERSION_PATCH)
/* The loaded library's version, "MAJOR.MINOR.PATCH" (static storage). */
const char *aj_version(void);
/* The loaded library's version as AJ_VERSION_NUMBER computes it. */
int aj_version_number(void);

/* The most axes an array or expression may have. */
#define AJ_MAX_NDIM 32

/* What a call that can fail returns: AJ_OK or the kind of error. */
typedef enum aj_status {
	AJ_OK = 0,
	AJ_ERR_ARG,      /* NULL handle or argument out of range */
	AJ_ERR_DTYPE,    /* dtype not allowed for an operation, cast or output */
	AJ_ERR_SHAPE,    /* shapes do not broadcast, or ndim over AJ_MAX_NDIM */
	AJ_ERR_OVERFLOW, /* size or byte extent overflows int64 */
	AJ_ERR_BOUNDS,   /* view or index outside its buffer */
	AJ_ERR_LAYOUT,   /* reshape not expressible as a view of these strides */
	AJ_ERR_OVERLAP,  /* an output whose elements overlap each other */
	AJ_ERR_READONLY, /* assignment to a read-only (broadcast) view */
	AJ_ERR_PARSE,    /* bad expression text (the message names the column)
			    or a malformed .npy file */
	AJ_ERR_NAME,     /* unknown name in expression text */
	AJ_ERR_STALE,    /* expression handle from before the last aj_sync() */
	AJ_ERR_NOMEM,    /* allocation failed */
	AJ_ERR_JIT,      /* LLVM failed to build or compile a kernel */
	AJ_ERR_IO,       /* a file could not be opened, read or written */
} aj_status;

/*
 * dtypes: NumPy's, but float16. X(ID, name, size in bytes, kind) with kind
 * b (bool), i (signed int), u (unsigned int), f (float), c (complex: two
 * floats, real then imaginary). Order is the enum order.
 */
#define AJ_DTYPE_TABLE(X)                       \
	X(BOOL, "bool", 1, 'b')                 \
	X(INT8, "int8", 1, 'i')                 \
	X(INT16, "int16", 2, 'i')               \
	X(INT32, "int32", 4, 'i')               \
	X(INT64, "int64", 8, 'i')               \
	X(UINT8, "uint8", 1, 'u')               \
	X(UINT16, "uint16", 2, 'u')             \
	X(UINT32, "uint32", 4, 'u')             \
	X(UINT64, "uint64", 8, 'u')             \
	X(FLOAT32, "float32", 4, 'f')           \
	X(FLOAT64, "float64", 8, 'f')           \
	X(COMPLEX64, "complex64", 8, 'c')       \
	X(COMPLEX128, "complex128", 16, 'c')

/* The dtypes, one per row of AJ_DTYPE_TABLE (AJ_BOOL, AJ_INT8, ...,
 * AJ_COMPLEX128), then their count AJ_NDTYPE. */
typedef enum aj_dtype {
#define X(id, name, size, kind) AJ_##id,
	AJ_DTYPE_TABLE(X)
#undef X
	AJ_NDTYPE
} aj_dtype;

/*
 * Operations: the one table. Everything that knows about ops (enum, names,
 * type rules, parser, printer, key, code generator) expands it.
 *
 * X(ID, name, nin, kind, rule, cx, sleef, ulp)
 *   ID     enum suffix: AJ_OP_ID
 *   name   NumPy's name; the expression language accepts it as a call
 *   nin    number of operands
 *   kind   how operands are typed and the op lowered; kinds are contiguous:
 *          LEAF (arrays, scalars, the parameters of a prepared kernel
 *          (aj_prepare: scalars whose value changes per run, so never
 *          folded), the internal index of an element, and
 *          random numbers: see aj_random;
 *          take: elements of an array at positions computed per element,
 *          its one operand the positions; see aj_take; view: a view of
 *          its one operand, which fusion computes first; see
 *          aj_expr_reshape);
 *          CAST; UNARY and BINARY (operands cast to the result dtype);
 *          MATH (float functions, operands cast to the result dtype); CMP
 *          (operands promoted together, result bool); PRED (a test of one
 *          operand, result bool); LOGIC (operands as truth values, result
 *          bool); SELECT (where: condition as truth value); CLIP; REDUCE
 *          (over axes, see aj_reduce).
 *   rule   result dtype: SAME (the promoted operands), NOBOOL (SAME, but
 *          bool computes as int8, as NumPy's loops do), FLOAT (promoted,
 *          then at least float: 1-byte types go to float32 where NumPy
 *          has float16, 2-byte ints to float32, wider ints to float64),
 *          BOOL, BITS (ints or bool only), SHIFT (ints only; bool as int8),
 *          ACCUM (sum and prod: bool and ints narrower than 64 bits
 *          accumulate in int64, or uint64 if unsigned, as NumPy's do),
 *          INDEX (argmin, argmax: int64 positions),
 *          REAL (SAME, but a complex gives its component float: abs,
 *          real, imag), CPLX (the complex of the FLOAT rule's dtype:
 *          complex(re, im), numexpr's)
 *   cx     C: takes complex operands (NumPy has a complex loop); R: real
 *          operands only (floor, fmod, arctan2, bitwise ops, ...)
 *   sleef  SLEEF family and accuracy ("exp_u10", "fmod" for exact ones),
 *          "" for inline code or an LLVM intrinsic
 *   ulp    max error in ULP of the result dtype against the correctly
 *          rounded result (0 = exact), for float32 and float64 alike. The
 *          SLEEF u10 functions are specified at 1.0 ULP and hypot (u05) at
 *          0.5001; tests/test_ops.c measures each over 200k inputs per
 *          dtype against long-double libm. sqrt, floor, ceil, trunc, rint
 *          are exact; + - * / and comparisons are exact IEEE operations.
 *          x ** e with e a scalar: as NumPy's ** operator, e = 2, -1, 0.5,
 *          1 are square, reciprocal, sqrt, x (exact); other integer e up
 *          to 16 in magnitude multiply out, within (|e| - 1) / 2 + 1 ULP.
 *          Complex: + - * / square reciprocal are NumPy's formulas, exact
 *          (no FMA); exp, log, sqrt, the trig and hyperbolic functions and
 *          their inverses are glibc's, as in NumPy, and exp2, expm1, log2,
 *          log10, log1p and power NumPy's own formulas over glibc, so all
 *          equal NumPy's bit for bit; abs is SLEEF's hypot (the column's
 *          1 ULP), sign z / abs(z) within 3.
 */
#define AJ_OP_TABLE(X)                                                  \
	X(ARRAY, "array", 0, LEAF, SAME, C, "", 0)                         \
	X(SCALAR, "scalar", 0, LEAF, SAME, C, "", 0)                       \
	X(PARAM, "param", 0, LEAF, SAME, R, "", 0)                         \
	X(INDEX, "index", 0, LEAF, SAME, R, "", 0)                         \
	X(RANDOM, "random", 0, LEAF, SAME, R, "", 0)                       \
	X(NORMAL, "normal", 0, LEAF, SAME, R, "", 0)                       \
	X(TAKE, "take", 1, LEAF, SAME, C, "", 0)                           \
	X(VIEW, "view", 1, LEAF, SAME, C, "", 0)                           \
	X(CAST, "astype", 1, CAST, SAME, C, "", 0)                         \
	X(NEG, "negative", 1, UNARY, SAME, C, "", 0)                       \
	X(ABS, "absolute", 1, UNARY, REAL, C, "", 0)                       \
	X(SQUARE, "square", 1, UNARY, NOBOOL, C, "", 0)                    \
	X(RECIPROCAL, "reciprocal", 1, UNARY, NOBOOL, C, "", 0)              \
	X(SIGN, "sign", 1, UNARY, SAME, C, "", 0)                          \
	X(INVERT, "invert", 1, UNARY, BITS, R, "", 0)                      \
	X(REAL, "real", 1, UNARY, REAL, C, "", 0)                          \
	X(IMAG, "imag", 1, UNARY, REAL, C, "", 0)                          \
	X(CONJ, "conjugate", 1, UNARY, NOBOOL, C, "", 0)                   \
	X(SQRT, "sqrt", 1, MATH, FLOAT, C, "", 0)                          \
	X(CBRT, "cbrt", 1, MATH, FLOAT, R, "cbrt_u10", 1)                  \
	X(EXP, "exp", 1, MATH, FLOAT, C, "exp_u10", 1)                     \
	X(EXP2, "exp2", 1, MATH, FLOAT, C, "exp2_u10", 1)                  \
	X(EXPM1, "expm1", 1, MATH, FLOAT, C, "expm1_u10", 1)               \
	X(LOG, "log", 1, MATH, FLOAT, C, "log_u10", 1)                     \
	X(LOG2, "log2", 1, MATH, FLOAT, C, "log2_u10", 1)                  \
	X(LOG10, "log10", 1, MATH, FLOAT, C, "log10_u10", 1)               \
	X(LOG1P, "log1p", 1, MATH, FLOAT, C, "log1p_u10", 1)               \
	X(SIN, "sin", 1, MATH, FLOAT, C, "sin_u10", 1)                     \
	X(COS, "cos", 1, MATH, FLOAT, C, "cos_u10", 1)                     \
	X(TAN, "tan", 1, MATH, FLOAT, C, "tan_u10", 1)                     \
	X(ARCSIN, "arcsin", 1, MATH, FLOAT, C, "asin_u10", 1)              \
	X(ARCCOS, "arccos", 1, MATH, FLOAT, C, "acos_u10", 1)              \
	X(ARCTAN, "arctan", 1, MATH, FLOAT, C, "atan_u10", 1)              \
	X(SINH, "sinh", 1, MATH, FLOAT, C, "sinh_u10", 1)                  \
	X(COSH, "cosh", 1, MATH, FLOAT, C, "cosh_u10", 1)                  \
	X(TANH, "tanh", 1, MATH, FLOAT, C, "tanh_u10", 1)                  \
	X(ARCSINH, "arcsinh", 1, MATH, FLOAT, C, "asinh_u10", 1)           \
	X(ARCCOSH, "arccosh", 1, MATH, FLOAT, C, "acosh_u10", 1)           \
	X(ARCTANH, "arctanh", 1, MATH, FLOAT, C, "atanh_u10", 1)           \
	X(FLOOR, "floor", 1, MATH, FLOAT, R, "", 0)                        \
	X(CEIL, "ceil", 1, MATH, FLOAT, R, "", 0)                          \
	X(TRUNC, "trunc", 1, MATH, FLOAT, R, "", 0)                        \
	X(RINT, "rint", 1, MATH, FLOAT, C, "", 0)                          \
	X(ADD, "add", 2, BINARY, SAME, C, "", 0)                           \
	X(SUB, "subtract", 2, BINARY, SAME, C, "", 0)                      \
	X(MUL, "multiply", 2, BINARY, SAME, C, "", 0)                      \
	X(DIV, "true_divide", 2, BINARY, FLOAT, C, "", 0)                  \
	X(FLOORDIV, "floor_divide", 2, BINARY, NOBOOL, R, "", 0)           \
	X(REM, "remainder", 2, BINARY, NOBOOL, R, "", 0)                   \
	X(FMOD, "fmod", 2, BINARY, NOBOOL, R, "fmod", 0)                   \
	X(POW, "power", 2, BINARY, NOBOOL, C, "pow_u10", 1)                \
	X(MIN, "minimum", 2, BINARY, SAME, C, "", 0)                       \
	X(MAX, "maximum", 2, BINARY, SAME, C, "", 0)                       \
	X(FMIN, "fmin", 2, BINARY, SAME, C, "", 0)                         \
	X(FMAX, "fmax", 2, BINARY, SAME, C, "", 0)                         \
	X(ARCTAN2, "arctan2", 2, BINARY, FLOAT, R, "atan2_u10", 1)         \
	X(HYPOT, "hypot", 2, BINARY, FLOAT, R, "hypot_u05", 1)             \
	X(COPYSIGN, "copysign", 2, BINARY, FLOAT, R, "", 0)                \
	X(NEXTAFTER, "nextafter", 2, BINARY, FLOAT, R, "nextafter", 0)     \
	X(COMPLEX, "complex", 2, BINARY, CPLX, R, "", 0)                   \
	X(BITAND, "bitwise_and", 2, BINARY, BITS, R, "", 0)                \
	X(BITOR, "bitwise_or", 2, BINARY, BITS, R, "", 0)                  \
	X(BITXOR, "bitwise_xor", 2, BINARY, BITS, R, "", 0)                \
	X(LSHIFT, "left_shift", 2, BINARY, SHIFT, R, "", 0)                \
	X(RSHIFT, "right_shift", 2, BINARY, SHIFT, R, "", 0)               \
	X(EQ, "equal", 2, CMP, BOOL, C, "", 0)                             \
	X(NE, "not_equal", 2, CMP, BOOL, C, "", 0)                         \
	X(LT, "less", 2, CMP, BOOL, C, "", 0)                              \
	X(LE, "less_equal", 2, CMP, BOOL, C, "", 0)                        \
	X(GT, "greater", 2, CMP, BOOL, C, "", 0)                           \
	X(GE, "greater_equal", 2, CMP, BOOL, C, "", 0)                     \
	X(ISNAN, "isnan", 1, PRED, BOOL, C, "", 0)                         \
	X(ISINF, "isinf", 1, PRED, BOOL, C, "", 0)                         \
	X(ISFINITE, "isfinite", 1, PRED, BOOL, C, "", 0)                   \
	X(SIGNBIT, "signbit", 1, PRED, BOOL, R, "", 0)                     \
	X(LNOT, "logical_not", 1, LOGIC, BOOL, C, "", 0)                   \
	X(LAND, "logical_and", 2, LOGIC, BOOL, C, "", 0)                   \
	X(LOR, "logical_or", 2, LOGIC, BOOL, C, "", 0)                     \
	X(LXOR, "logical_xor", 2, LOGIC, BOOL, C, "", 0)                   \
	X(WHERE, "where", 3, SELECT, SAME, C, "", 0)                       \
	X(CLIP, "clip", 3, CLIP, SAME, C, "", 0)                           \
	X(SUM, "sum", 1, REDUCE, ACCUM, C, "", 0)                          \
	X(PROD, "prod", 1, REDUCE, ACCUM, C, "", 0)                        \
	X(RMIN, "min", 1, REDUCE, SAME, C, "", 0)                          \
	X(RMAX, "max", 1, REDUCE, SAME, C, "", 0)                          \
	X(MEAN, "mean", 1, REDUCE, FLOAT, C, "", 0)                        \
	X(ANY, "any", 1, REDUCE, BOOL, C, "", 0)                           \
	X(ALL, "all", 1, REDUCE, BOOL, C, "", 0)                           \
	X(ARGMIN, "argmin", 1, REDUCE, INDEX, C, "", 0)                    \
	X(ARGMAX, "argmax", 1, REDUCE, INDEX, C, "", 0)

/* The ops, one per row of AJ_OP_TABLE (AJ_OP_ARRAY, ..., AJ_OP_ARGMAX),
 * then their count AJ_NOP. */
typedef enum aj_op {
#define X(id, name, nin, kind, rule, cx, sleef, ulp) AJ_OP_##id,
	AJ_OP_TABLE(X)
#undef X
	AJ_NOP
} aj_op;

/* Vector instruction sets a context may generate code for. */
typedef enum aj_isa {
	AJ_ISA_HOST = 0, /* the best the running CPU has */
	AJ_ISA_SCALAR,   /* no explicit vectors (reference and debugging) */
	AJ_ISA_AVX2,     /* 256-bit vectors */
	AJ_ISA_AVX512,   /* 512-bit vectors */
} aj_isa;

/* The engine: JIT, kernel cache, statistics (see the top of this file). */
typedef struct aj_ctx aj_ctx;
/* A strided view of memory, immutable. */
typedef struct aj_array aj_array;
/* A lazy program: expression nodes and pending assignments. */
typedef struct aj_prog aj_prog;

/* An expression node. id 0 is AJ_EXPR_NONE, the result of a failed build. */
typedef struct aj_expr {
	uint32_t id; /* the node's index in its program; 0 for none */
} aj_expr;
/* The result of a failed build. */
#define AJ_EXPR_NONE ((aj_expr){0})

/* Counters of a context and its programs, read with aj_ctx_stats(). */
typedef struct aj_stats {
	uint64_t kernels_compiled; /* kernels compiled by the JIT (not
				      those loaded from the disk cache) */
	uint64_t cache_hits;       /* kernel lookups answered by the cache */
	uint64_t kernels_run;      /* kernel invocations */
	uint64_t compile_ns;       /* total time spent building kernels */
	uint64_t temp_bytes;       /* scratch allocated for intermediate
				      results (reductions), in bytes */
	uint64_t parallel_runs;    /* kernel invocations split across
				      threads (the others ran on the
				      caller's thread alone) */
	uint64_t groups;           /* loop nests the fusion pass formed from
				      pending assignments (several
				      assignments may share one) */
	uint64_t replays;          /* syncs that ran a remembered plan: the
				      same work as an earlier sync (same
				      nodes, arrays and layouts; scalars may
				      differ), run without fusing again */
	uint64_t disk_hits;        /* kernels loaded from the disk cache
				      rather than compiled (README, "Disk
				      cache of kernels") */
	uint64_t disk_writes;      /* compiled kernels stored there */
	uint64_t disk_load_ns;     /* total time spent loading them */
	uint64_t buffers_reused;   /* array buffers (of 64 KiB or more)
				      handed out again after their array was
				      freed, rather than fresh memory */
	uint64_t texts_unparsed;   /* aj_exec texts that ran without being
				      parsed: the same text as one whose
				      sync replayed a plan, over the same
				      bindings, its plan run again (each
				      also counts as a replay) */
} aj_stats;

/* ---- context ---------------------------------------------------------- */

/* *out gets a new context (NULL on failure: AJ_ERR_ARG, AJ_ERR_NOMEM). */
aj_status aj_ctx_new(aj_ctx **out);
/* Frees ctx, its kernels and threads; free its programs and prepared
 * kernels first. NULL is a no-op. */
void aj_ctx_free(aj_ctx *ctx);
/* The message of the most recent call on ctx that failed on the calling
 * thread ("" if none): threads sharing a context each read their own. A
 * thread keeps the messages of the last 4 contexts that failed on it. The
 * string stays valid until the thread's next failure on ctx, or its end. */
const char *aj_ctx_errmsg(const aj_ctx *ctx);
/*@{*/
/* Selects the vector ISA for kernels built from now on; part of the cache
 * key. AJ_ERR_ARG if the host cannot run it. aj_ctx_isa reads it back
 * (AJ_ISA_HOST resolved to what the host has). */
aj_status aj_ctx_set_isa(aj_ctx *ctx, aj_isa isa);
aj_isa aj_ctx_isa(const aj_ctx *ctx);
/*@}*/

/*
 * Accuracy of the math functions (exp, sin, pow, ...) in kernels built
 * from now on; part of the cache key.
 *   AJ_ACCURACY_ULP1  the default: SLEEF's u10 functions, within 1 ULP of
 *                     the correctly rounded result (the op table's bounds)
 *   AJ_ACCURACY_FAST  vector lanes call glibc's libmvec, within 4 ULP
 *                     (glibc's documented bound) and faster; scalar code
 *                     (tails, the scalar ISA) keeps SLEEF u10
 */
typedef enum aj_accuracy {
	AJ_ACCURACY_ULP1,
	AJ_ACCURACY_FAST,
} aj_accuracy;
/*@{*/
/* Sets the accuracy of math functions (aj_accuracy); aj_ctx_accuracy reads
 * it back. */
aj_status aj_ctx_set_accuracy(aj_ctx *ctx, aj_accuracy acc);
aj_accuracy aj_ctx_accuracy(const aj_ctx *ctx);
/*@}*/
/*@{*/
/*
 * Threads that run one large kernel, the calling thread included: the
 * default is $AJ_NUM_THREADS if set to a number >= 1, else the CPUs this
 * process may run on. n <= 0 restores that default; at most 256. Kernels
 * too small to gain from threads run on the caller alone, and no result
 * depends on the thread count: reductions split into chunks fixed by their
 * shape and combine them in a fixed order. The workers are one pool per
 * context, started on first need. If two threads run large kernels on one
 * context at once, the second runs its kernel alone rather than wait. In a
 * child after fork(), every kernel runs on the calling thread.
 *
 * fork(): the child may use a context that no other thread was using at
 * the moment of the fork, and may make new ones; a context another thread
 * was inside at that moment may have a lock held for ever in the child:
 * leave it alone there (not even aj_ctx_free), or exec. A fork waits for compiles under way in other threads
 * (LLVM's state is process-wide), so the child can compile.
 */
aj_status aj_ctx_set_threads(aj_ctx *ctx, int n);
int aj_ctx_threads(const aj_ctx *ctx);
/*@}*/
/* Kernels with less work than nelem simple elements run on the calling
 * thread alone (an element of a transcendental function counts as 8).
 * nelem <= 0 restores the default, 32768, the crossover measured on a
 * 2-core machine (bench/RESULTS.md). A tuning knob: results never depend
 * on it. */
aj_status aj_ctx_set_min_parallel(aj_ctx *ctx, int64_t nelem);
/* Kernels whose operands span at least bytes bytes of memory write their
 * output with non-temporal stores (straight to memory, not read first nor
 * kept in the caches), when it is contiguous along its rows and no input
 * of the kernel overlaps it. bytes <= 0 restores the default:
 * $AJ_NT_BYTES if set to a number >= 1, else the size of the last-level
 * cache (the crossover measured on a 2-core Zen 5, lib/run.c); INT64_MAX
 * turns them off. A tuning knob: results never depend on it. A prepared
 * kernel (aj_prepare) keeps the choice made when it was prepared. */
aj_status aj_ctx_set_nt_bytes(aj_ctx *ctx, int64_t bytes);
/* Seeds the random numbers of aj_random (the default seed is 0) and
 * restarts the context's stream counter at 0: after it, building the same
 * expressions in the same order gives the same numbers. Random leaves built
 * before keep the seed and stream they were built with. */
aj_status aj_ctx_set_seed(aj_ctx *ctx, uint64_t seed);
/* Copies ctx's counters, its programs' included, to *out. */
void aj_ctx_stats(const aj_ctx *ctx, aj_stats *out);
/* NumPy's name of t ("float64"), "?" if t is not a dtype. */
const char *aj_dtype_name(aj_dtype t);
/* Bytes per element of t, 0 if t is not a dtype. */
size_t aj_dtype_size(aj_dtype t);
/* NumPy's name of op ("add"), "?" if op is not an op. */
const char *aj_op_name(aj_op op);

/* ---- arrays and views ------------------------------------------------- */

/*
 * Wraps caller memory without copying. buf holds nbytes bytes; element
 * (i0, i1, ...) lives at buf + offset + sum(ik * strides[k]). strides are in
 * bytes, of any sign or zero; NULL means C order. Every element must lie in
 * [buf, buf + nbytes), else AJ_ERR_BOUNDS. The caller keeps ownership.
 */
aj_status aj_array_wrap(aj_ctx *ctx, void *buf, size_t nbytes, int64_t offset,
			aj_dtype dtype, int ndim, const int64_t *shape,
			const int64_t *strides, aj_array **out);
/* An owned, zero-filled, 64-byte aligned, C-order array. Buffers of 64
 * KiB or more come from a pool per context that reuses freed ones (fresh
 * pages cost more than filling them), 2 MiB aligned and advised to use
 * huge pages from 2 MiB on. */
aj_status aj_array_new(aj_ctx *ctx, aj_dtype dtype, int ndim,
		       const int64_t *shape, aj_array **out);
/* Frees the handle; owned memory goes when its last view is freed. */
void aj_array_free(aj_array *a);

/*@{*/
/* a's dtype, ndim, shape and strides (ndim entries, strides in bytes; valid
 * while a lives), number of elements, and whether it is read-only (a
 * broadcast or diagonal view). Of a NULL handle: AJ_NDTYPE, 0, NULL,
 * NULL, NULL, 0 and true. */
aj_dtype aj_array_dtype(const aj_array *a);
int aj_array_ndim(const aj_array *a);
const int64_t *aj_array_shape(const aj_array *a);
const int64_t *aj_array_strides(const aj_array *a);
/* Address of element (0, 0, ...). */
void *aj_array_data(const aj_array *a);
int64_t aj_array_size(const aj_array *a);
bool aj_array_readonly(const aj_array *a);
/*@}*/

/* NumPy slice semantics: negative start/stop count from the end, bounds are
 * clamped, AJ_DEFAULT takes the default for the step's sign. step != 0. */
#define AJ_DEFAULT INT64_MIN
/* One axis of a slice, NumPy's start:stop:step (AJ_DEFAULT for a blank). */
typedef struct aj_slice {
	int64_t start; /* the first index */
	int64_t stop;  /* the index the slice stops before */
	int64_t step;  /* not 0; negative walks backwards */
} aj_slice;
/* The whole axis, NumPy's ':'. */
#define AJ_ALL ((aj_slice){AJ_DEFAULT, AJ_DEFAULT, 1})

/* s has one entry per axis of a. */
aj_status aj_view_slice(aj_ctx *ctx, const aj_array *a, const aj_slice *s,
			aj_array **out);
/* Selects index i (negative counts from the end) of axis, dropping it. */
aj_status aj_view_index(aj_ctx *ctx, const aj_array *a, int axis, int64_t i,
			aj_array **out);
/* out axis k is a's axis perm[k]; perm NULL reverses the axes (.T). */
aj_status aj_view_permute(aj_ctx *ctx, const aj_array *a, const int *perm,
			  aj_array **out);
/* New shape with at most one -1; AJ_ERR_LAYOUT when no view can do it. */
aj_status aj_view_reshape(aj_ctx *ctx, const aj_array *a, int ndim,
			  const int64_t *shape, aj_array **out);
/* NumPy broadcast_to; the result is read-only. */
aj_status aj_view_broadcast(aj_ctx *ctx, const aj_array *a, int ndim,
			    const int64_t *shape, aj_array **out);
/* Inserts a length-1 axis at position axis (negative counts from the end). */
aj_status aj_view_expand_dims(aj_ctx *ctx, const aj_array *a, int axis,
			      aj_array **out);

/*
 * NumPy's flip, squeeze, moveaxis, diagonal and ravel. Axes are NumPy's:
 * [-ndim, ndim), negative counting from the end; one outside is AJ_ERR_ARG.
 * In aj_exec text they are calls on arrays: flip(a), flip(a, axis=1),
 * squeeze(a, 0), moveaxis(a, 0, -1), diagonal(a, offset=1, axis1=0,
 * axis2=1), ravel(a[:, ::2]).
 */
/* The axis argument of flip and squeeze meaning every axis (NumPy's
 * axis=None); no valid axis has this value. */
#define AJ_ALL_AXES INT32_MIN
/* Reverses axis, or every axis if AJ_ALL_AXES (a[..., ::-1, ...]). */
aj_status aj_view_flip(aj_ctx *ctx, const aj_array *a, int axis,
		       aj_array **out);
/* Drops axis, which must have length 1 (else AJ_ERR_SHAPE), or every
 * length-1 axis if AJ_ALL_AXES. */
aj_status aj_view_squeeze(aj_ctx *ctx, const aj_array *a, int axis,
			  aj_array **out);
/* Moves axis src to position dst, the others keeping their order. */
aj_status aj_view_moveaxis(aj_ctx *ctx, const aj_array *a, int src, int dst,
			   aj_array **out);
/*
 * The diagonal of axes axis1 and axis2 as a new last axis, after a's other
 * axes in order: its element i has index i on axis1 and i + offset on
 * axis2 (i - offset and i if offset < 0); an offset past either edge gives
 * length 0. Needs ndim >= 2 (else AJ_ERR_SHAPE) and two distinct axes
 * (else AJ_ERR_ARG). Read-only, as NumPy's diagonal view is.
 */
aj_status aj_view_diagonal(aj_ctx *ctx, const aj_array *a, int64_t offset,
			   int axis1, int axis2, aj_array **out);
/*
 * a's elements in C order as a 1-D view, when one stride steps through
 * them all (length-1 axes aside; empty arrays always): a.reshape(-1).
 * Otherwise AJ_ERR_LAYOUT, as a copy would be needed. Where NumPy's ravel
 * copies an evenly strided, non-contiguous a (a[:, ::2]), this is a
 * strided view of the same elements.
 */
aj_status aj_view_ravel(aj_ctx *ctx, const aj_array *a, aj_array **out);

/* ---- programs and expressions ----------------------------------------- */

/* *out gets a new, empty program of ctx (NULL on failure). */
aj_status aj_prog_new(aj_ctx *ctx, aj_prog **out);
/* Frees p, its nodes and its pending work (not run). NULL is a no-op. */
void aj_prog_free(aj_prog *p);
/* The message of p's first recorded error, or of its last failed call. */
const char *aj_prog_errmsg(const aj_prog *p);

/* An expression reading array a (see Lifetimes at the top). */
aj_expr aj_leaf(aj_prog *p, const aj_array *a);
/*@{*/
/* Scalars are runtime parameters: their values are not compiled into the
 * code. These are "weak" (NEP 50): a Python int or float, whose dtype yields
 * to the array it meets (float32 array * 2.5 stays float32). */
aj_expr aj_scalar_f64(aj_prog *p, double v);
aj_expr aj_scalar_i64(aj_prog *p, int64_t v);
aj_expr aj_scalar_bool(aj_prog *p, bool v);
/*@}*/
/* A Python complex re + im*1j: weak, so complex64 arrays stay complex64
 * and real arrays become complex of their float type (NEP 50). */
aj_expr aj_scalar_c128(aj_prog *p, double re, double im);
/* A strong scalar of an exact dtype, like np.float32(v); a complex dtype
 * gets v + 0j. */
aj_expr aj_scalar(aj_prog *p, aj_dtype t, double v);
/* A strong complex scalar, like np.complex64(re + im*1j). */
aj_expr aj_scalar_complex(aj_prog *p, aj_dtype t, double re, double im);

/*
 * Random numbers, computed inside the fused kernels (never stored):
 * counter-based Philox4x32-10 (Salmon et al., SC11; Random123). Each leaf
 * takes the next stream from its context's counter when it is built, so two
 * leaves are independent (random() - random() is not 0), and a leaf's seed
 * is the context's seed then (aj_ctx_set_seed). Seed and stream are runtime
 * parameters: building the same expression again reuses its kernel.
 *
 * Values come from the four words x0..x3 of Philox4x32-10 with key (seed &
 * 0xffffffff, seed >> 32) applied to counter (c & 0xffffffff, c >> 32,
 * stream & 0xffffffff, stream >> 32). A uniform element k takes its share
 * of the block of counter c = k rounded down to a multiple of the shares
 * per block (2 for 64-bit dtypes, 4 for 32-bit), so one block serves
 * several neighbours; a normal element takes the whole block of c = k:
 *   AJ_DIST_UNIFORM  uint64: y = x0 | x1 << 32 for even k, x2 | x3 << 32
 *                    for odd k; float64: (y >> 11) * 2^-53, in [0, 1);
 *                    uint32: z = x(k % 4), the word k % 4; float32:
 *                    (z >> 8) * 2^-24, in [0, 1)
 *   AJ_DIST_NORMAL   float64 or float32, standard normal by Box-Muller:
 *                    sqrt(-2 log u1) cos(2 pi u2), u1 in (0, 1] as the
 *                    uniform of x0, x1 plus 2^-53 and u2 the uniform of x2,
 *                    x3 (float32: from x0 >> 8 and x2 >> 8 with 2^-24, in
 *                    float32 arithmetic); log and cos are SLEEF's (1 ULP)
 * Other dtypes are AJ_ERR_DTYPE.
 *
 * k is the element's C-order index. A leaf with ndim > 0 is an array of
 * that shape: k counts within it, and it repeats along axes it is broadcast
 * over. A leaf with ndim 0 is shapeless: it broadcasts like a scalar but
 * draws one value per element of the loop nest it is computed in, that is
 * the output of the assignment (H = random() fills H with independent
 * values; so does H = x + 0.1*normal()) or the input of the reduction over
 * it (mean(x + random()) draws one per element of x). On its own under a
 * reduction that is one value: sum(random()) is a single number.
 *
 * Values depend only on (seed, stream, k): the same bits on any thread
 * count, chunking or loop order. Uniform values and bits are the same on
 * every ISA too; normal ones may differ there by SLEEF's rounding (1 ULP).
 * In aj_parse and aj_exec text: random(), normal(), random(float32),
 * normal(dtype=float32), random(uint64, (3, 4)), normal(shape=5).
 */
typedef enum aj_dist {
	AJ_DIST_UNIFORM, /* uniform on [0, 1), or raw bits for uint32/uint64 */
	AJ_DIST_NORMAL,  /* standard normal */
} aj_dist;
/* A random leaf of dist and dtype, of shape (ndim, shape), or shapeless
 * if ndim is 0; see aj_dist above. */
aj_expr aj_random(aj_prog *p, aj_dist dist, aj_dtype dtype, int ndim,
		  const int64_t *shape);

/* Applies op to n operands (n must be the op's arity). */
aj_expr aj_apply(aj_prog *p, aj_op op, int n, const aj_expr *args);
/* aj_apply of a one-operand op. */
aj_expr aj_unary(aj_prog *p, aj_op op, aj_expr x);
/* aj_apply of a two-operand op. */
aj_expr aj_binary(aj_prog *p, aj_op op, aj_expr x, aj_expr y);
/* NumPy's where(cond, x, y): cond as a truth value, x and y promoted. */
aj_expr aj_where(aj_prog *p, aj_expr cond, aj_expr x, aj_expr y);
/*
 * A reduction (op of kind REDUCE: sum, prod, min, max, mean, any, all,
 * argmin, argmax) of x over naxis axes (negative ones count from the end;
 * naxis 0 means every axis), keeping them as length-1 axes if keepdims.
 * NumPy's semantics: min and max propagate NaN and refuse empty input;
 * mean of ints is float64; float sums are pairwise-accurate. argmin and
 * argmax take one axis (the int64 position along it) or none (the C-order
 * index into x flattened); the first extreme wins, and a NaN (in complex,
 * either part) is extreme. The producer of x is fused into the reduction:
 * x is never materialised.
 */
aj_expr aj_reduce(aj_prog *p, aj_op op, aj_expr x, int naxis, const int *axes,
		  bool keepdims);

/* NumPy astype (unsafe casting): float to int truncates; NaN and
 * out-of-range values give the type's minimum, as NumPy on x86. */
aj_expr aj_cast(aj_prog *p, aj_expr x, aj_dtype t);

/*
 * NumPy's take(a, idx, axis) with mode='raise', also a[idx] in aj_exec
 * text: the elements of a at the positions idx holds along axis. The
 * result has shape a.shape[:axis] + idx.shape + a.shape[axis+1:] and a's
 * dtype. a must be an array leaf (aj_leaf, perhaps of a view); an
 * expression is AJ_ERR_ARG (assign it to an array first). idx is any
 * expression of an integer dtype (bool and floats are AJ_ERR_DTYPE); it is
 * fused into the kernel that reads the gathered values, which are never
 * materialised. Negative positions count from the end. axis is in
 * [-ndim, ndim), or AJ_ALL_AXES for NumPy's axis=None: positions into a
 * flattened in C order, which needs a flattening that is a view
 * (aj_view_ravel; else AJ_ERR_LAYOUT).
 * A position outside [-n, n) for an axis of length n fails: a scalar idx
 * here with AJ_ERR_BOUNDS, an array idx when its assignment runs, with
 * AJ_ERR_ARG (see aj_sync), before anything of it is written; as in
 * NumPy's take, an array idx is not checked when the result is empty
 * (zeros((0, 3)) taken at [5] along axis 1 has shape (0, 1)). An output
 * may overlap an array it gathers from, even as the identical view
 * (a[:] = a[r]): the result is NumPy's, read from a copy of the bytes a
 * spans made before the writes (counted in aj_stats.temp_bytes).
 */
aj_expr aj_take(aj_prog *p, aj_expr a, aj_expr idx, int axis);

/*@{*/
/*
 * Views of expressions: NumPy's view operations (aj_view_*) applied to the
 * value of e, e.g. m[:, None] of a reduction m (aj_expr_expand_dims(p, m,
 * 1)) or (a*b).T. Nothing is computed or copied for them: the view is
 * applied to the arrays e reads (broadcast to e's shape), so the kernel
 * reads exactly the elements the view shows; a random leaf keeps its
 * values (the view selects among them), and a reduction's result, which
 * is computed first anyway, is read through the view. Arguments and
 * errors are those of the aj_view_* call of the same name (recorded in the
 * program; the result is AJ_EXPR_NONE), with one difference: a reshape or
 * ravel that no strides can express on some array e reads (a broadcast or
 * transposed operand) is not an error but a copy, made as late as
 * possible and fused: when the output's shape and e's split into common
 * axes (reshape(a.T, -1) into shape (24,) from (4, 6)), the assignment's
 * loops run over those and no copy is made at all; otherwise (to (3, 8)
 * from (4, 6)) e is computed into a scratch buffer by a kernel of its own
 * when the assignment runs, and read through the reshape. In aj_exec
 * text all of these apply to expressions too: (a + b)[::2, None], x.T,
 * flip(a*b, 0), reshape(a.T, (2, -1)), ravel(x), diagonal(a + 1).
 */
aj_expr aj_expr_slice(aj_prog *p, aj_expr e, const aj_slice *s);
aj_expr aj_expr_index(aj_prog *p, aj_expr e, int axis, int64_t i);
aj_expr aj_expr_permute(aj_prog *p, aj_expr e, const int *perm);
aj_expr aj_expr_reshape(aj_prog *p, aj_expr e, int ndim, const int64_t *shape);
aj_expr aj_expr_broadcast(aj_prog *p, aj_expr e, int ndim, const int64_t *shape);
aj_expr aj_expr_expand_dims(aj_prog *p, aj_expr e, int axis);
aj_expr aj_expr_flip(aj_prog *p, aj_expr e, int axis);
aj_expr aj_expr_squeeze(aj_prog *p, aj_expr e, int axis);
aj_expr aj_expr_moveaxis(aj_prog *p, aj_expr e, int src, int dst);
aj_expr aj_expr_diagonal(aj_prog *p, aj_expr e, int64_t offset, int axis1,
			 int axis2);
aj_expr aj_expr_ravel(aj_prog *p, aj_expr e);
/*@}*/

/*@{*/
/*
 * Selection by a boolean mask, NumPy's a[mask] and np.compress; in aj_exec
 * text a[m] with m of dtype bool (also a[:, m], a[0, m] for a 1-d m) and
 * compress(cond, a, axis=None). The result's shape depends on the data, so
 * these are eager, like aj_sync: they first run every pending assignment
 * of p (the selection sees their writes; unlike aj_sync, expression
 * handles stay valid), then count, allocate *out (a new owned C-order
 * array of a's dtype: free it with aj_array_free) and write it. On any
 * error nothing is allocated, *out is untouched and aj_prog_errmsg has the
 * message (the pending work, once run, stays done). a, mask and cond may
 * be any expressions: the mask's producer is fused into the count, the
 * mask's and a's into the write, and neither is ever held in memory.
 *
 * Two passes over a's elements in C order, the mask broadcast over the
 * axes it does not cover, cut into chunks of the outermost loop fixed by
 * the shapes alone (never by the thread count): the first counts the kept
 * elements per chunk; their prefix sums place each chunk's in the result;
 * the second stores them there in order (vector lanes compressed with
 * llvm.masked.compressstore). So the result is the same bytes on any
 * number of threads. Scratch lives in p's arena until the next aj_sync.
 *
 * aj_mask_select: mask is bool (else AJ_ERR_DTYPE), its shape that of a's
 * leading mask.ndim axes exactly (else AJ_ERR_SHAPE, NumPy's IndexError;
 * the message names both shapes). The result has shape (count,) +
 * a.shape[mask.ndim:], the kept elements in C order of their positions. A
 * 0-d mask is NumPy's a[True] (shape (1,) + a.shape) or a[False] ((0,) +
 * a.shape).
 *
 * aj_compress: cond is 1-d (else AJ_ERR_SHAPE), of any dtype (nonzero is
 * true, as NumPy casts it to bool); axis in [-ndim, ndim) (else
 * AJ_ERR_ARG), or AJ_ALL_AXES for axis=None: a flattened in C order (when
 * no view flattens a, e.g. an expression, cond is first written into a
 * bool array of a's size: the one case where the mask is materialised;
 * counted as temporary bytes). The result is a with that axis cut to the
 * positions where cond holds. As NumPy, cond may be shorter than the axis
 * (the rest counts as false) or longer, as long as it is true nowhere past
 * the axis's end (else AJ_ERR_BOUNDS, NumPy's "index out of bounds").
 */
aj_status aj_mask_select(aj_prog *p, aj_expr a, aj_expr mask, aj_array **out);
aj_status aj_compress(aj_prog *p, aj_expr cond, aj_expr a, int axis,
		      aj_array **out);
/*@}*/

static inline aj_expr aj_add(aj_prog *p, aj_expr x, aj_expr y)
{
	return aj_binary(p, AJ_OP_ADD, x, y);
}
static inline aj_expr aj_sub(aj_prog *p, aj_expr x, aj_expr y)
{
	return aj_binary(p, AJ_OP_SUB, x, y);
}
static inline aj_expr aj_mul(aj_prog *p, aj_expr x, aj_expr y)
{
	return aj_binary(p, AJ_OP_MUL, x, y);
}
static inline aj_expr aj_div(aj_prog *p, aj_expr x, aj_expr y)
{
	return aj_binary(p, AJ_OP_DIV, x, y);
}

/* The dtype of e, or AJ_NDTYPE for an invalid handle. */
aj_dtype aj_expr_dtype(const aj_prog *p, aj_expr e);
/* ndim of e, or -1 for an invalid handle; shape copied to shape if not NULL */
int aj_expr_shape(const aj_prog *p, aj_expr e, int64_t *shape);

/*
 * Parses numexpr-like text into an expression: names, numbers, True/False,
 * + - * / **, unary -, comparisons, calls such as exp(a), where(c, x, y),
 * pow(x, y), float32(x), random() (aj_random). names[i] is bound to
 * values[i]. Errors give
 * AJ_ERR_PARSE or AJ_ERR_NAME with "column N" in the message.
 */
aj_status aj_parse(aj_prog *p, const char *text, int nname,
		   const char *const *names, const aj_expr *values,
		   aj_expr *out);

/*
 * Programs as text. A namespace binds names to arrays, scalars (runtime
 * parameters) or expressions. aj_exec runs statements separated by ';' or
 * newlines:
 *   name = expr        if name is bound to an array: a pending assignment
 *                      into it (aj_assign rules); otherwise name is bound
 *                      to the expression (a lazy intermediate, no buffer)
 *   name op= expr      += -= *= /= //= %= **= &= |= ^= <<= >>=: name must
 *                      be bound; name = name op expr
 *   name[s] = expr     assignment into a view: slices start:stop:step per
 *                      axis, integers, None (new axis), ... ; also op=
 *   expr               an expression statement: its value is the result
 * In expressions, names may be sliced (a[1:, ::-1], a[None, :], a[0]) and
 * transposed (a.T) when bound to arrays. One item of a subscript may be an
 * expression of an integer dtype, NumPy's integer array index: a[i] is
 * aj_take(a, i, axis 0), a[:, i + 1] takes along axis 1 and a[1:, i] from
 * the view a[1:]; integer items must sit next to it (a[0, i]) unless it
 * takes along the first axis. It ends the postfixes (no a[i][0]) and is
 * no assignment target. take(a, i, axis=None) is aj_take too, the
 * default axis None. An index of dtype bool is a mask (aj_mask_select):
 * a[a > 0], a[:, m] for a 1-d m (its length that of the axis); one of
 * other ndim must be the whole subscript. It and compress(cond, a,
 * axis=None) (aj_compress) run when their statement is parsed, pending
 * work first, and the namespace owns the new array, read as a leaf:
 * x = a[a > 0] * 2. Errors give AJ_ERR_PARSE or
 * AJ_ERR_NAME with "line L, column C:" in the message; on error, nothing
 * of the statements already run is pending (the program's pending work
 * is as before the call), except that a selection's run of the pending
 * work cannot be undone: the statements before it then stay done.
 *
 * Assignments run in statement order at aj_sync(), so a statement sees the
 * writes of earlier ones. Names bound to expressions go stale at
 * aj_sync() (reading one is AJ_ERR_STALE; assigning rebinds it). Views and
 * temporaries the namespace made live until a later aj_exec or
 * aj_names_free, so the namespace must outlive the aj_sync that runs them.
 *
 * A text run again skips parsing when that cannot change what it does:
 * its last run was all the work of a sync that replayed a plan (aj_stats
 * .replays), nothing else is pending, the namespace's bindings are as
 * they were (same arrays, same numbers), and the context's ISA and
 * accuracy too; the text reads only arrays and numbers, binds no name,
 * selects nothing and draws no random numbers, and *last is not asked
 * for. The sync then runs that plan with the text's literals
 * (aj_stats.texts_unparsed). Building anything else on the program
 * before the sync parses the text first, so work stays in order.
 */
typedef struct aj_names aj_names;
/* *out gets a new, empty namespace of p's (NULL on failure). */
aj_status aj_names_new(aj_prog *p, aj_names **out);
/* Frees ns and the views and temporaries it made. NULL is a no-op. */
void aj_names_free(aj_names *ns);
/* Binds name to array a (not copied; it must outlive the namespace's use). */
aj_status aj_names_set_array(aj_names *ns, const char *name, aj_array *a);
/*@{*/
/* Binds name to a weak scalar, as aj_scalar_f64 or aj_scalar_i64. */
aj_status aj_names_set_f64(aj_names *ns, const char *name, double v);
aj_status aj_names_set_i64(aj_names *ns, const char *name, int64_t v);
/*@}*/
/* What name is bound to: *array if an array (else NULL), *expr otherwise
 * (an expression of the namespace's program; AJ_ERR_NAME if unbound). */
aj_status aj_names_get(aj_names *ns, const char *name, aj_array **array,
		       aj_expr *expr);
/* Runs text in ns; *last (may be NULL) gets the value of the last
 * expression statement, or AJ_EXPR_NONE if there is none. */
aj_status aj_exec(aj_names *ns, const char *text, aj_expr *last);

/*
 * out[...] = e. e must broadcast to out's shape; its dtype must cast to
 * out's dtype under NumPy's same_kind rule (use aj_cast otherwise). out may
 * overlap e's inputs in any way (in place, shifted, transposed, gathered
 * from): the result is NumPy's, as if e were computed first; only an out
 * whose own elements overlap is AJ_ERR_OVERLAP. The work is pending until
 * aj_sync().
 */
aj_status aj_assign(aj_prog *p, aj_array *out, aj_expr e);
/* Runs all pending assignments, in the order they were made (each sees
 * the writes of those before it). On failure none of them writes
 * anything. That includes the errors found in the data: an integer raised
 * to a negative exponent read from an array (NumPy's "Integers to
 * negative integer powers are not allowed", AJ_ERR_ARG) and a position
 * out of range in an aj_take (its message names the axis and the valid
 * range, AJ_ERR_ARG) are checked before the first store. When the
 * exponents or positions are themselves written by an earlier assignment
 * of the same sync, the check has to wait for it: the outputs written
 * before it are then copied first and put back if it fails (an element
 * at a time, so bytes between a strided output's elements are never
 * touched), which costs that sync a copy of them in time and memory. */
aj_status aj_sync(aj_prog *p);

/* ---- prepared kernels -------------------------------------------------- */

/*
 * A prepared kernel: a program text compiled once for named parameters,
 * then run many times with new arrays and scalars, at the cost of its
 * kernels plus a few comparisons (no fusion, no lookup, no hashing).
 *
 * aj_prepare compiles text (statements as aj_exec takes them, assignments
 * only) with each params[i].name bound: to an array of the layout of
 * params[i].array (dtype, shape, strides: a template, neither read nor
 * written), or, when that is NULL, to a scalar of params[i].dtype
 * (AJ_FLOAT64 or AJ_INT64), weak as aj_names_set_f64 / _i64 bind it. A
 * scalar parameter is never constant-folded: `a ** i` computes a power
 * for every i (within the pow row's ULP of NumPy's x**2, x**0.5, ...,
 * which NumPy computes as square, sqrt, ...). An int64 parameter that
 * meets a narrower integer array is cast to its dtype (wrapping) where
 * NumPy would raise OverflowError for an out-of-range Python int: the
 * value is not checked per run. Nothing runs at prepare
 * time. Errors (AJ_ERR_ARG for bad params, a trailing bare expression, a
 * selection such as a[m] or compress; the text's own parse, name and type
 * errors) leave *out NULL; the message is in aj_ctx_errmsg(ctx).
 *
 * aj_prepared_run runs the text once, args[i] standing for params[i]
 * (.array for arrays, .f or .i for scalars as params[i].dtype says).
 * Fast path: every array arg has its template's dtype, shape and strides,
 * is writable if the text writes it, and no two array args overlap; then
 * the remembered kernel calls run on the new arrays (aj_stats counts a
 * replay). Any other args (another layout, overlapping arrays, a
 * read-only output) run the text anew (aj_exec and aj_sync; no replay
 * counted), with NumPy's result and the library's errors. A prepared
 * kernel whose templates overlap each other, whose text draws random
 * numbers, or whose intermediates pass 16 MiB always takes that path.
 * The fast path's kernels keep the context's ISA, accuracy and
 * non-temporal store choice (aj_ctx_set_nt_bytes) of prepare time; the
 * slow path uses the context's current ones.
 * Errors return a status with aj_prepared_errmsg(k); as for aj_sync,
 * nothing is written. One thread at a
 * time may use a prepared kernel; it must be freed before its context.
 */
typedef struct aj_prepared aj_prepared;
/* A parameter of aj_prepare. */
typedef struct aj_param {
	const char *name;      /* as the text names it */
	const aj_array *array; /* template: dtype and layout; NULL for a
				  scalar */
	aj_dtype dtype;        /* scalars: AJ_FLOAT64 or AJ_INT64 */
} aj_param;
/* An argument of aj_prepared_run, for the aj_param of the same index. */
typedef union aj_arg {
	aj_array *array; /* for an array parameter */
	double f;        /* for an AJ_FLOAT64 scalar */
	int64_t i;       /* for an AJ_INT64 scalar */
} aj_arg;
/* Compiles text for params into *out: see aj_prepared above. */
aj_status aj_prepare(aj_ctx *ctx, const char *text, int nparam,
		     const aj_param *params, aj_prepared **out);
/* args[i] for params[i]; NULL only if there are no parameters. */
aj_status aj_prepared_run(aj_prepared *k, const aj_arg *args);
/* Frees k (before its context). NULL is a no-op. */
void aj_prepared_free(aj_prepared *k);
/* The message of k's last failed run. */
const char *aj_prepared_errmsg(const aj_prepared *k);

/* ---- .npy files -------------------------------------------------------- */

/*
 * Loads a .npy file (format 1.0, 2.0 or 3.0; C or Fortran order; any dtype
 * above, little- or big-endian, big-endian converted on load) into a new
 * owned array. A Fortran-order file becomes an array with Fortran strides
 * (no copy). Errors name the file and what is wrong with it.
 */
aj_status aj_npy_load(aj_ctx *ctx, const char *path, aj_array **out);
/* The same from memory: buf holds a whole .npy file of len bytes. */
aj_status aj_npy_load_mem(aj_ctx *ctx, const void *buf, size_t len,
			  const char *name, aj_array **out);
/*
 * name (required) is what error messages call the buffer.
 *
 * Writes a as a C-order .npy file (format 1.0, or 2.0 if the header needs
 * it), whatever a's strides. The file appears whole or not at all: it is
 * written to a temporary in the same directory and renamed.
 */
aj_status aj_npy_save(aj_ctx *ctx, const char *path, const aj_array *a);

/* ---- DLPack ------------------------------------------------------------ */

#ifdef DLPACK_VERSION
/*@{*/
/*
 * Arrays shared with other frameworks (NumPy, PyTorch, JAX, ...) through
 * DLPack, without copying. Declared when <dlpack/dlpack.h> can be included
 * (Debian's libdlpack-dev) or was included before this header.
 *
 * Import checks the tensor: device kDLCPU, kDLCUDAHost (pinned host
 * memory, kDLCPUPinned before DLPack 0.6) or kDLROCMHost, else AJ_ERR_ARG;
 * lanes 1 and a (code, bits) of an arrjit dtype: kDLInt and kDLUInt 8-64,
 * kDLFloat 32 and 64, kDLComplex 64 and 128, kDLBool (code 6, from DLPack
 * 0.8) 8, else AJ_ERR_DTYPE; ndim in [0, AJ_MAX_NDIM] and no negative
 * extent, else AJ_ERR_SHAPE. strides are in elements, of any sign (NULL:
 * C order); element (i0, i1, ...) is at data + byte_offset + sum(ik *
 * strides[k]) * itemsize, and byte arithmetic that overflows int64 or the
 * address space is AJ_ERR_OVERFLOW. data may be NULL only for an empty
 * tensor. The array is as aj_array_wrap makes it; its memory spans
 * exactly the elements.
 *
 * aj_array_wrap_dlpack borrows t: the caller keeps the memory alive while
 * the array (or a view, or pending work) uses it. aj_array_from_dlpack
 * takes ownership of mt on success: the array adopts its memory, and
 * mt->deleter(mt) (if not NULL) is called exactly once, when the last
 * view of it is freed (aj_array_free), which may be after aj_ctx_free.
 * On failure mt is untouched and still the caller's.
 */
aj_status aj_array_wrap_dlpack(aj_ctx *ctx, const DLTensor *t, aj_array **out);
aj_status aj_array_from_dlpack(aj_ctx *ctx, DLManagedTensor *mt,
			       aj_array **out);
/*@}*/
/*
 * Exports a as a new DLManagedTensor over the same elements: data is a's
 * element (0, 0, ...), byte_offset 0, strides in elements (never NULL),
 * device kDLCPU, bool as kDLBool. The tensor holds a handle of its own to
 * a, so owned memory stays alive however the caller frees its handles or
 * the context, until the consumer calls (*out)->deleter(*out), exactly
 * once, as DLPack asks; that frees the tensor. Memory a wraps stays the
 * caller's, to keep alive until then. A read-only view (a broadcast or
 * diagonal) is AJ_ERR_READONLY, as NumPy refuses to export one; a byte
 * stride that is not a multiple of the item size is AJ_ERR_LAYOUT.
 */
aj_status aj_array_to_dlpack(aj_ctx *ctx, const aj_array *a,
			     DLManagedTensor **out);
#endif

/* ---- inspection ------------------------------------------------------- */

/* The stages aj_dump prints. */
typedef enum aj_stage {
	AJ_STAGE_DAG,   /* the expression graph */
	AJ_STAGE_FUSED, /* kernels: loop nest, operands, instructions */
	AJ_STAGE_IR,    /* LLVM IR as generated */
	AJ_STAGE_OPT,   /* LLVM IR after optimisation */
	AJ_STAGE_ASM,   /* host assembly */
	AJ_STAGE_KEY,   /* cache key */
} aj_stage;

/*
 * Text for one stage of the pending assignments (or, if e is not
 * AJ_EXPR_NONE, of e assigned to a fresh C-order output). *text is
 * allocated; release it with aj_string_free(). Nothing is run or cached.
 */
aj_status aj_dump(aj_prog *p, aj_expr e, aj_stage stage, char **text);
/* Frees a string the library allocated (aj_dump's text). */
void aj_string_free(char *s);

#ifdef __cplusplus
}
#endif
#endif
