/*
 * Code generation and scheduling as seen through the dump stages: the loop
 * nest the scheduler picks (merged, innermost along out's smallest stride),
 * the stride classes, and vector IR with SLEEF calls for each ISA the host
 * can run.
 */
#define _DEFAULT_SOURCE
#include "core.h"
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef ref_env env;


/* Dumps `exp(a)*s + b` at stage with a, b float64 of n elements. */
static char *dump_exp(env *E, aj_stage stage, int64_t n)
{
	aj_array *a, *b;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &a));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &b));
	aj_prog *p = E->p;
	aj_expr e = aj_add(p, aj_mul(p, aj_unary(p, AJ_OP_EXP, aj_leaf(p, a)),
				     aj_scalar_f64(p, 3)),
			   aj_leaf(p, b));
	char *text = NULL;
	REF_OK_PROG(p, aj_dump(p, e, stage, &text));
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(a);
	aj_array_free(b);
	return text;
}

static void expect_in(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("expected \"%s\" in:\n%s", what, text);
}

static void test_vector_ir_per_isa(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const struct {
		aj_isa isa;
		const char *vec, *sleef, *reg;
	} want[] = {
		{AJ_ISA_AVX2, "<4 x double>", "Sleef_expd4_u10avx2", "ymm"},
		{AJ_ISA_AVX512, "<8 x double>", "Sleef_expd8_u10avx512f", "zmm"},
	};
	int tried = 0;
	for (int i = 0; i < 2; i++) {
		if (aj_ctx_set_isa(E->ctx, want[i].isa) != AJ_OK)
			continue;
		tried++;
		char *opt = dump_exp(E, AJ_STAGE_OPT, 1024);
		expect_in(opt, want[i].vec);
		expect_in(opt, want[i].sleef);
		expect_in(opt, "Sleef_exp_u10"); /* the scalar tail */
		aj_string_free(opt);
		char *asm_ = dump_exp(E, AJ_STAGE_ASM, 1024);
		expect_in(asm_, want[i].reg);
		aj_string_free(asm_);
	}
	if (host != AJ_ISA_SCALAR)
		assert_true(tried > 0);
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, AJ_ISA_SCALAR));
	char *ir = dump_exp(E, AJ_STAGE_IR, 1024);
	assert_null(strstr(ir, "x double>"));
	expect_in(ir, "Sleef_exp_u10");
	aj_string_free(ir);
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

static char *dump_fused(env *E, aj_array *out, aj_expr e)
{
	char *text = NULL;
	REF_OK_PROG(E->p, aj_assign(E->p, out, e));
	REF_OK_PROG(E->p, aj_dump(E->p, AJ_EXPR_NONE, AJ_STAGE_FUSED, &text));
	REF_OK_PROG(E->p, aj_sync(E->p));
	return text;
}

static void test_schedule(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	int64_t s3[3] = {3, 4, 5}, s2[2] = {4, 5}, col[2] = {4, 1};
	aj_array *a, *b, *o, *m, *mt, *c, *o2;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 3, s3, &a));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 3, s3, &b));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 3, s3, &o));
	/* contiguous operands merge into one loop */
	char *t = dump_fused(E, o, aj_add(p, aj_leaf(p, a), aj_leaf(p, b)));
	expect_in(t, "1 loop (60,)");
	expect_in(t, "in0 float64 contig");
	aj_string_free(t);
	/* a transposed output: the inner loop follows out's contiguous axis */
	int64_t s54[2] = {5, 4};
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, s54, &m));
	REF_OK_CTX(ctx, aj_view_permute(ctx, m, NULL, &mt)); /* (4, 5) */
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, s2, &o2));
	t = dump_fused(E, mt, aj_add(p, aj_leaf(p, o2), aj_scalar_f64(p, 1)));
	expect_in(t, "out0 float64 contig");
	expect_in(t, "in0 float64 strided");
	aj_string_free(t);
	/* a column broadcast along the inner loop is loop-invariant */
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, col, &c));
	t = dump_fused(E, o2, aj_mul(p, aj_leaf(p, o2), aj_leaf(p, c)));
	expect_in(t, "2 loops (4, 5)");
	expect_in(t, "float64 bcast");
	aj_string_free(t);
	/* the same input twice is one operand, the same value once (CSE) */
	t = dump_fused(E, o2, aj_add(p, aj_unary(p, AJ_OP_EXP, aj_leaf(p, o2)),
				     aj_unary(p, AJ_OP_EXP, aj_leaf(p, o2))));
	assert_null(strstr(t, "in1"));
	assert_non_null(strstr(t, "exp"));
	assert_null(strstr(strstr(t, "exp") + 1, "exp"));
	aj_string_free(t);
	aj_array *arrays[] = {a, b, o, m, mt, c, o2};
	for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
		aj_array_free(arrays[i]);
}

/* Large inputs run through the vector body many times; every ISA agrees
 * with the scalar code bit for bit on exact ops. */
static void test_isas_agree(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_isa host = aj_ctx_isa(ctx);
	int64_t n = 100003;
	aj_array *a, *b, *ref, *o;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT32, 1, &n, &a));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &b));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &ref));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &o));
	uint64_t st = 1;
	for (int64_t i = 0; i < n; i++) {
		((float *)aj_array_data(a))[i] = (float)ref_uniform(&st, -10, 10);
		((double *)aj_array_data(b))[i] = ref_uniform(&st, -10, 10);
	}
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		aj_array *dst = i == 0 ? ref : o;
		aj_expr x = aj_leaf(p, a), y = aj_leaf(p, b);
		aj_expr e = aj_where(p, aj_binary(p, AJ_OP_GT, x, y),
				     aj_sub(p, aj_mul(p, x, y), aj_scalar_f64(p, 0.5)),
				     aj_binary(p, AJ_OP_MAX, x, aj_div(p, y, x)));
		REF_OK_PROG(p, aj_assign(p, dst, e));
		REF_OK_PROG(p, aj_sync(p));
		if (i > 0)
			assert_memory_equal(aj_array_data(o), aj_array_data(ref), (size_t)n * 8);
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(ref);
	aj_array_free(o);
}

/* Backwards-contiguous operands (stride -itemsize) load and store whole
 * vectors with their lanes reversed: every dtype, lengths around the
 * vector width, every ISA, reading and writing reversed views. */
static void test_backwards(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_dtype types[] = {AJ_BOOL, AJ_INT8, AJ_INT16, AJ_INT32, AJ_INT64,
					 AJ_FLOAT32, AJ_FLOAT64, AJ_COMPLEX64,
					 AJ_COMPLEX128};
	static const int64_t lens[] = {1, 7, 8, 9, 31, 64, 65, 1000};
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	aj_slice rev = {AJ_DEFAULT, AJ_DEFAULT, -1};
	uint64_t st = 7;
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof *types; t++)
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
				int64_t n = lens[l];
				size_t size = aj_dtype_size(types[t]);
				aj_array *a, *o, *ar, *orv;
				REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n, &a));
				REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n, &o));
				REF_OK_CTX(ctx, aj_view_slice(ctx, a, &rev, &ar));
				REF_OK_CTX(ctx, aj_view_slice(ctx, o, &rev, &orv));
				uint8_t *x = aj_array_data(a), *y = aj_array_data(o);
				for (size_t b = 0; b < (size_t)n * size; b++)
					x[b] = types[t] == AJ_BOOL ? ref_rand(&st) % 2
								   : (uint8_t)ref_rand(&st);
				/* o = a[::-1] */
				REF_OK_PROG(p, aj_assign(p, o, aj_leaf(p, ar)));
				REF_OK_PROG(p, aj_sync(p));
				for (int64_t k = 0; k < n; k++)
					if (memcmp(y + k * size, x + (n - 1 - k) * size, size))
						fail_msg("%s n=%lld isa %d: o[%lld] is not a[%lld]",
							 aj_dtype_name(types[t]), (long long)n, i,
							 (long long)k, (long long)(n - 1 - k));
				/* o[::-1] = a */
				REF_OK_PROG(p, aj_assign(p, orv, aj_leaf(p, a)));
				REF_OK_PROG(p, aj_sync(p));
				for (int64_t k = 0; k < n; k++)
					if (memcmp(y + (n - 1 - k) * size, x + k * size, size))
						fail_msg("%s n=%lld isa %d: o[::-1][%lld] is not a[%lld]",
							 aj_dtype_name(types[t]), (long long)n, i,
							 (long long)k, (long long)k);
				aj_array *arrays[] = {a, o, ar, orv};
				for (int k = 0; k < 4; k++)
					aj_array_free(arrays[k]);
			}
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	/* the vector body reverses lanes; it does not fall back to scalar */
	int64_t n = 1024;
	aj_array *a, *ar;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &a));
	REF_OK_CTX(ctx, aj_view_slice(ctx, a, &rev, &ar));
	char *text = NULL;
	aj_expr e = aj_add(p, aj_leaf(p, ar), aj_leaf(p, a));
	REF_OK_PROG(p, aj_dump(p, e, AJ_STAGE_FUSED, &text));
	expect_in(text, "float64 backwards strides (-8,)");
	aj_string_free(text);
	if (host != AJ_ISA_SCALAR) {
		REF_OK_PROG(p, aj_dump(p, e, AJ_STAGE_IR, &text));
		expect_in(text, "shufflevector");
		expect_in(text, "x double>");
		aj_string_free(text);
	}
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(ar);
	aj_array_free(a);
}

/* Whether x and y of dtype t agree: equal bools, or floats (each part of
 * a complex) within 2 ULP. The vector and scalar SLEEF functions are each
 * within 1 ULP, and the loop order, so which elements the vector body
 * computes, may differ between two layouts. */
static bool near_equal(aj_dtype t, const char *x, const char *y)
{
	if (t == AJ_BOOL)
		return *x == *y;
	bool f32 = t == AJ_FLOAT32 || t == AJ_COMPLEX64;
	int parts = t == AJ_COMPLEX64 || t == AJ_COMPLEX128 ? 2 : 1;
	for (int h = 0; h < parts; h++) {
		double u = f32 ? ref_ulp32(((const float *)x)[h], ((const float *)y)[h])
			       : ref_ulp64(((const double *)x)[h], ((const double *)y)[h]);
		if (u > 2)
			return false;
	}
	return true;
}

/* Runs out = exp(in) * 2 (or exp(in) > 1.5 if cmp) and returns the
 * kernel's IR. */
static char *run_exp(env *E, aj_array *out, aj_array *in, bool cmp)
{
	aj_prog *p = E->p;
	aj_expr x = aj_unary(p, AJ_OP_EXP, aj_leaf(p, in));
	aj_expr e = cmp ? aj_binary(p, AJ_OP_GT, x, aj_scalar_f64(p, 1.5))
			: aj_mul(p, x, aj_scalar_f64(p, 2));
	char *ir = NULL;
	REF_OK_PROG(p, aj_assign(p, out, e));
	REF_OK_PROG(p, aj_dump(p, AJ_EXPR_NONE, AJ_STAGE_IR, &ir));
	REF_OK_PROG(p, aj_sync(p));
	return ir;
}

/*
 * Vector math over strided operands: an elementwise kernel copies blocks
 * of the input (a[::3]) into a buffer and the output (o[::-2]) out of one
 * around the vector body (emit_buffered), and agrees with the same kernel
 * over contiguous copies:
 * input dtypes up to complex, a bool output, lengths around the vector
 * width, every ISA.
 */
static void test_strided_vector_math(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_dtype types[] = {AJ_INT32, AJ_FLOAT32, AJ_FLOAT64, AJ_COMPLEX64,
					 AJ_COMPLEX128};
	static const int64_t lens[] = {1, 7, 8, 9, 17, 65, 1000};
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	aj_slice by3 = {AJ_DEFAULT, AJ_DEFAULT, 3}, back2 = {AJ_DEFAULT, AJ_DEFAULT, -2};
	uint64_t st = 11;
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof *types; t++)
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
				for (int cmp = 0; cmp < 2; cmp++) {
			int64_t n = lens[l], n3 = 3 * n, n2 = 2 * n;
			aj_dtype rt = cmp ? AJ_BOOL : types[t] == AJ_INT32 ? AJ_FLOAT64
				      : types[t];
			aj_array *a, *ac, *a3, *o, *o2, *ov;
			REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n3, &a));
			REF_OK_CTX(ctx, aj_array_new(ctx, rt, 1, &n, &o));
			REF_OK_CTX(ctx, aj_array_new(ctx, rt, 1, &n2, &o2));
			REF_OK_CTX(ctx, aj_view_slice(ctx, a, &by3, &a3));
			REF_OK_CTX(ctx, aj_view_slice(ctx, o2, &back2, &ov));
			REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n, &ac));
			size_t size = aj_dtype_size(types[t]), rsize = aj_dtype_size(rt);
			for (int64_t k = 0; k < n3; k++) {
				char *at = (char *)aj_array_data(a) + k * size;
				double v = ref_uniform(&st, -3, 3);
				if (types[t] == AJ_INT32)
					*(int32_t *)at = (int32_t)(v * 3);
				else if (types[t] == AJ_FLOAT32 || types[t] == AJ_COMPLEX64)
					for (size_t h = 0; h < size / 4; h++)
						((float *)at)[h] = (float)ref_uniform(&st, -3, 3);
				else
					for (size_t h = 0; h < size / 8; h++)
						((double *)at)[h] = ref_uniform(&st, -3, 3);
				if (k % 3 == 0)
					memcpy((char *)aj_array_data(ac) + k / 3 * size, at, size);
			}
			aj_string_free(run_exp(E, o, ac, cmp));
			char *ir = run_exp(E, ov, a3, cmp);
			if (isas[i] != AJ_ISA_SCALAR && n > 1) {
				if (types[t] != AJ_COMPLEX64 && types[t] != AJ_COMPLEX128)
					expect_in(ir, "_u10avx"); /* vector SLEEF */
				if (strstr(ir, "llvm.masked.gather"))
					fail_msg("an elementwise kernel gathers: %s",
						 aj_dtype_name(types[t]));
			}
			aj_string_free(ir);
			for (int64_t k = 0; k < n; k++)
				if (!near_equal(rt, (char *)aj_array_data(o2) + (n2 - 1 - 2 * k) * rsize,
					   (char *)aj_array_data(o) + k * rsize))
					fail_msg("%s%s n=%lld isa %d: element %lld differs",
						 aj_dtype_name(types[t]), cmp ? " > 1.5" : "",
						 (long long)n, i, (long long)k);
			aj_array *arrays[] = {a, ac, a3, o, o2, ov};
			for (int k = 0; k < 6; k++)
				aj_array_free(arrays[k]);
		}
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
}

/*
 * Two stride-2 inputs (a[::2] + b[::2]): the vector body loads element
 * pairs and keeps the even ones (emit_pairs; complex dtypes take the
 * buffers), the scalar loop does the rest. The arrays end at their
 * last element (2n - 1 of them) where an inaccessible page starts, so a
 * load reaching past it faults (sanitizers do not see the kernels'
 * loads); lengths around the vector widths and the block of 256, every
 * dtype size, every ISA; exact against plain C.
 */
typedef struct fenced {
	void *map;
	size_t len;
} fenced;

/*
 * A float power by a scalar exponent, of strided inputs: emit_buffered's
 * stride-2 path and its buffered one, each vector step one call of
 * lib/fpow.c's aj_rt_powi_f64x<w> (its builds for AVX-512 and AVX2) and
 * the scalar steps SLEEF's pow. Two outputs of one kernel (c = a**e, d = c
 * + b), a[::2] and a[::3], lengths around the vector widths and the
 * 256-element blocks, an integer exponent (double-double) and a
 * fractional one (the pow given to the helper), every ISA: c within 1 ULP
 * of pow each side (2 in all), d exactly c + b, q = c + (1+2j) exactly (a
 * complex invariant in the kernel; once a crash, when the step's ops were
 * a function of their own); and the vector kernel's IR calls the helper.
 */
static void test_strided_power(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_isa host = aj_ctx_isa(ctx);
	static const int64_t lens[] = {1, 7, 8, 9, 255, 256, 257, 1000};
	static const double exps[] = {-2.5, 3, 19};
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (int64_t step = 2; step <= 3; step++)
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
				for (size_t x = 0; x < sizeof exps / sizeof *exps; x++) {
					int64_t n = lens[l], nsrc = n * step;
					aj_slice by = {AJ_DEFAULT, AJ_DEFAULT, step};
					aj_array *a, *b, *av, *bv, *c, *d, *q;
					REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &nsrc, &a));
					REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &nsrc, &b));
					double *pa = aj_array_data(a), *pb = aj_array_data(b);
					for (int64_t k = 0; k < nsrc; k++) {
						pa[k] = 0.5 + (double)(k % 97) * 0.03125;
						pb[k] = (double)k - 7;
					}
					REF_OK_CTX(ctx, aj_view_slice(ctx, a, &by, &av));
					REF_OK_CTX(ctx, aj_view_slice(ctx, b, &by, &bv));
					REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &c));
					REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &d));
					REF_OK_CTX(ctx, aj_array_new(ctx, AJ_COMPLEX128, 1, &n, &q));
					aj_expr pw = aj_binary(p, AJ_OP_POW, aj_leaf(p, av),
							       aj_scalar_f64(p, exps[x]));
					if (isas[i] != AJ_ISA_SCALAR && n == 1000 && x == 0) {
						char *text;
						REF_OK_PROG(p, aj_dump(p, pw, AJ_STAGE_OPT, &text));
						expect_in(text, isas[i] == AJ_ISA_AVX2
								? "@aj_rt_powi_f64x4(" : "@aj_rt_powi_f64x8(");
						aj_string_free(text);
					}
					REF_OK_PROG(p, aj_assign(p, c, pw));
					REF_OK_PROG(p, aj_assign(p, d, aj_add(p, pw, aj_leaf(p, bv))));
					REF_OK_PROG(p, aj_assign(p, q, aj_add(p, pw, aj_scalar_complex(
										     p, AJ_COMPLEX128, 1, 2))));
					REF_OK_PROG(p, aj_sync(p));
					const double *pc = aj_array_data(c), *pd = aj_array_data(d);
					const double *pq = aj_array_data(q);
					for (int64_t k = 0; k < n; k++) {
						double want = pow(pa[k * step], exps[x]);
						/* valgrind's FMA rounds twice: ULPs
						 * only where the FPU is exact */
						if ((ref_exact_fp() && ref_ulp64(pc[k], want) > 2) ||
						    pd[k] != pc[k] + pb[k * step] ||
						    pq[2 * k] != pc[k] + 1 || pq[2 * k + 1] != 2)
							fail_msg("isa %d a[::%d] n %d e %g element %d: %.17g "
								 "%.17g, want %.17g",
								 (int)isas[i], (int)step, (int)n, exps[x],
								 (int)k, pc[k], pd[k], want);
					}
					aj_array_free(av);
					aj_array_free(bv);
					aj_array_free(a);
					aj_array_free(b);
					aj_array_free(c);
					aj_array_free(d);
					aj_array_free(q);
				}
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
}

/* bytes that end where an inaccessible page begins. */
static unsigned char *fenced_alloc(fenced *f, size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), body = (bytes + page - 1) / page * page;
	f->len = body + page;
	f->map = mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->map != MAP_FAILED);
	assert_int_equal(mprotect((char *)f->map + body, page, PROT_NONE), 0);
	return (unsigned char *)f->map + body - bytes;
}

static void test_stride2_blocks(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_dtype types[] = {AJ_INT8, AJ_INT16, AJ_INT32, AJ_FLOAT32,
					 AJ_FLOAT64, AJ_COMPLEX64, AJ_COMPLEX128};
	static const int64_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65,
				       255, 256, 257, 513, 1000};
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	aj_slice by2 = {AJ_DEFAULT, AJ_DEFAULT, 2};
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof *types; t++)
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
				aj_dtype dt = types[t];
				int64_t n = lens[l], n2 = 2 * n - 1;
				size_t size = aj_dtype_size(dt), bytes = (size_t)n2 * size;
				fenced fa, fb;
				unsigned char *ma = fenced_alloc(&fa, bytes), *mb = fenced_alloc(&fb, bytes);
				for (size_t k = 0; k < bytes; k++) {
					ma[k] = (unsigned char)(k * 7 + 1);
					mb[k] = (unsigned char)(k * 13 + 5);
				}
				if (dt == AJ_FLOAT32 || dt == AJ_COMPLEX64)
					for (size_t k = 0; k < bytes / 4; k++) {
						((float *)ma)[k] = (float)k * 0.5f;
						((float *)mb)[k] = 3.0f - (float)k;
					}
				if (dt == AJ_FLOAT64 || dt == AJ_COMPLEX128)
					for (size_t k = 0; k < bytes / 8; k++) {
						((double *)ma)[k] = (double)k * 0.25;
						((double *)mb)[k] = 1e3 - (double)k;
					}
				aj_array *a, *b, *av, *bv, *o;
				REF_OK_CTX(ctx, aj_array_wrap(ctx, ma, bytes, 0, dt, 1, &n2, NULL, &a));
				REF_OK_CTX(ctx, aj_array_wrap(ctx, mb, bytes, 0, dt, 1, &n2, NULL, &b));
				REF_OK_CTX(ctx, aj_view_slice(ctx, a, &by2, &av));
				REF_OK_CTX(ctx, aj_view_slice(ctx, b, &by2, &bv));
				REF_OK_CTX(ctx, aj_array_new(ctx, dt, 1, &n, &o));
				REF_OK_PROG(p, aj_assign(p, o, aj_add(p, aj_leaf(p, av), aj_leaf(p, bv))));
				REF_OK_PROG(p, aj_sync(p));
				for (int64_t k = 0; k < n; k++) {
					const unsigned char *x = ma + 2 * k * size, *y = mb + 2 * k * size;
					unsigned char want[16];
					size_t q = aj_is_complex(dt) ? size / 2 : size; /* a part */
					for (size_t h = 0; h < size / q; h++) {
						const unsigned char *xp = x + h * q, *yp = y + h * q;
						unsigned char *wp = want + h * q;
						if (dt == AJ_FLOAT32 || dt == AJ_COMPLEX64) {
							float u, v, r;
							memcpy(&u, xp, 4), memcpy(&v, yp, 4), r = u + v;
							memcpy(wp, &r, 4);
						} else if (dt == AJ_FLOAT64 || dt == AJ_COMPLEX128) {
							double u, v, r;
							memcpy(&u, xp, 8), memcpy(&v, yp, 8), r = u + v;
							memcpy(wp, &r, 8);
						} else {
							uint32_t u = 0, v = 0, r; /* little-endian, wraps */
							memcpy(&u, xp, q), memcpy(&v, yp, q), r = u + v;
							memcpy(wp, &r, q);
						}
					}
					if (memcmp(want, (char *)aj_array_data(o) + k * (int64_t)size, size))
						fail_msg("%s n=%lld isa %d: element %lld differs",
							 aj_dtype_name(dt), (long long)n, i, (long long)k);
				}
				aj_array *arrays[] = {a, b, av, bv, o};
				for (int k = 0; k < 5; k++)
					aj_array_free(arrays[k]);
				munmap(fa.map, fa.len);
				munmap(fb.map, fb.len);
			}
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
}

/* A reduction whose output moves along the inner loop reads its strided
 * input with gathers: sum(exp(m[:, ::2]), axis=0) against the same over
 * a contiguous copy, every ISA. */
static void test_strided_reduction_gathers(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	int64_t shape[2] = {37, 2 * 45}, half[2] = {37, 45}, nout = 45;
	aj_array *m, *mc, *mv, *r, *rc;
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, shape, &m));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 2, half, &mc));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &nout, &r));
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &nout, &rc));
	aj_slice cols[2] = {AJ_ALL, {AJ_DEFAULT, AJ_DEFAULT, 2}};
	REF_OK_CTX(ctx, aj_view_slice(ctx, m, cols, &mv));
	uint64_t st = 3;
	double *x = aj_array_data(m), *xc = aj_array_data(mc);
	for (int64_t k = 0; k < 37 * 90; k++) {
		x[k] = ref_uniform(&st, -2, 2);
		if (k % 2 == 0)
			xc[k / 2] = x[k];
	}
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		int axis0 = 0;
		aj_array *src[2] = {mv, mc}, *dst[2] = {r, rc};
		char *ir = NULL;
		for (int k = 0; k < 2; k++)
			REF_OK_PROG(p, aj_assign(p, dst[k], aj_reduce(p, AJ_OP_SUM,
					aj_unary(p, AJ_OP_EXP, aj_leaf(p, src[k])), 1, &axis0,
					false)));
		REF_OK_PROG(p, aj_dump(p, AJ_EXPR_NONE, AJ_STAGE_IR, &ir));
		REF_OK_PROG(p, aj_sync(p));
		if (isas[i] != AJ_ISA_SCALAR)
			expect_in(ir, "llvm.masked.gather");
		aj_string_free(ir);
		for (int k = 0; k < 45; k++)
			if (fabs(ref_f64(r)[k] - ref_f64(rc)[k]) > 1e-13 * fabs(ref_f64(rc)[k]))
				fail_msg("isa %d: column %d: %.17g, contiguous %.17g", i, k,
					 ref_f64(r)[k], ref_f64(rc)[k]);
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	aj_array *arrays[] = {m, mc, mv, r, rc};
	for (int k = 0; k < 5; k++)
		aj_array_free(arrays[k]);
}

/*
 * AJ_ACCURACY_FAST: every inexact math function the op table sends to
 * SLEEF calls glibc's libmvec in the vector body (the IR names its _ZGV
 * function), and its results stay within 4 ULP (libmvec's bound) of the
 * default mode's, which are within 1 ULP of the true ones: 5 in all.
 * float64 and float32, AVX2 and AVX-512; the default mode calls SLEEF.
 */
static void test_fast_accuracy(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_prog *p = E->p;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_isa isas[] = {AJ_ISA_AVX2, AJ_ISA_AVX512};
	static const aj_dtype types[] = {AJ_FLOAT64, AJ_FLOAT32};
	int64_t n = 1003;
	uint64_t st = 5;
	int checked = 0;
	for (int i = 0; i < 2; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (int t = 0; t < 2; t++) {
			aj_array *x, *y, *ref, *got;
			REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n, &x));
			REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n, &y));
			REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n, &ref));
			REF_OK_CTX(ctx, aj_array_new(ctx, types[t], 1, &n, &got));
			for (int op = 0; op < AJ_NOP; op++) {
				const aj_op_info *o = &aj_ops[op];
				if (!o->sleef[0] || o->ulp == 0) /* exact: SLEEF's */
					continue;
				/* inside every domain: acosh wants x >= 1 */
				double lo = op == AJ_OP_ARCCOSH ? 1.1 : 0.1;
				for (int64_t k = 0; k < n; k++) {
					double a = ref_uniform(&st, lo, lo + 0.8);
					double b = ref_uniform(&st, 0.1, 0.9);
					if (types[t] == AJ_FLOAT64) {
						((double *)aj_array_data(x))[k] = a;
						((double *)aj_array_data(y))[k] = b;
					} else {
						((float *)aj_array_data(x))[k] = (float)a;
						((float *)aj_array_data(y))[k] = (float)b;
					}
				}
				char *ir[2];
				for (int fast = 0; fast < 2; fast++) {
					REF_OK_CTX(ctx, aj_ctx_set_accuracy(ctx, fast ? AJ_ACCURACY_FAST
										     : AJ_ACCURACY_ULP1));
					aj_expr e = o->nin == 2
						? aj_binary(p, (aj_op)op, aj_leaf(p, x), aj_leaf(p, y))
						: aj_unary(p, (aj_op)op, aj_leaf(p, x));
					REF_OK_PROG(p, aj_assign(p, fast ? got : ref, e));
					REF_OK_PROG(p, aj_dump(p, AJ_EXPR_NONE, AJ_STAGE_IR, &ir[fast]));
					REF_OK_PROG(p, aj_sync(p));
				}
				if (!strstr(ir[1], "_ZGV"))
					fail_msg("%s %s isa %d: no libmvec call", o->name,
						 aj_dtype_name(types[t]), i);
				if (strstr(ir[0], "_ZGV"))
					fail_msg("%s: the default mode calls libmvec", o->name);
				aj_string_free(ir[0]);
				aj_string_free(ir[1]);
				for (int64_t k = 0; k < n; k++) {
					double u = types[t] == AJ_FLOAT64
						? ref_ulp64(((double *)aj_array_data(got))[k],
							    ((double *)aj_array_data(ref))[k])
						: ref_ulp32(((float *)aj_array_data(got))[k],
							    ((float *)aj_array_data(ref))[k]);
					if (u > 5)
						fail_msg("%s %s isa %d: element %lld %g ULP from "
							 "the default mode's", o->name,
							 aj_dtype_name(types[t]), i, (long long)k, u);
				}
				checked++;
			}
			aj_array *arrays[] = {x, y, ref, got};
			for (int k = 0; k < 4; k++)
				aj_array_free(arrays[k]);
		}
	}
	REF_OK_CTX(ctx, aj_ctx_set_accuracy(ctx, AJ_ACCURACY_ULP1));
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	assert_int_equal(aj_ctx_set_accuracy(ctx, (aj_accuracy)7), AJ_ERR_ARG);
	if (host != AJ_ISA_SCALAR)
		assert_true(checked >= 2 * 23);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_ir_per_isa),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_isas_agree),
		cmocka_unit_test(test_backwards),
		cmocka_unit_test(test_strided_vector_math),
		cmocka_unit_test(test_stride2_blocks),
		cmocka_unit_test(test_strided_power),
		cmocka_unit_test(test_strided_reduction_gathers),
		cmocka_unit_test(test_fast_accuracy),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
