/*
 * Non-temporal stores (run.c, jit/emit.c): forced on small arrays with
 * aj_ctx_set_nt_bytes(ctx, 1), every result matches normal stores byte
 * for byte (every dtype, lengths around the vector width, outputs that
 * start off a vector boundary or off their own alignment, rows of a 2-d
 * output at varying alignments, several threads, prepared kernels, random
 * numbers, whose vectors are wider than a line), and
 * the dumps show the path is there: !nontemporal in the IR, movnt and
 * sfence in the assembly, for each vector ISA the host runs.
 */
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ref_env env;

enum { NT_ON = 1 };
#define NT_OFF INT64_MAX
enum { PAD = 192 }; /* bytes around each output buffer */

static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};

static void expect_in(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("expected \"%s\" in:\n%s", what, text);
}

static void expect_not_in(const char *text, const char *what)
{
	if (strstr(text, what))
		fail_msg("did not expect \"%s\" in:\n%s", what, text);
}

/* Runs text in a namespace binding names[k] to arrays[k]. */
static void exec_with(env *E, const char *text, int n, const char *const *names,
		      aj_array *const *arrays)
{
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	for (int k = 0; k < n; k++)
		REF_OK_PROG(E->p, aj_names_set_array(ns, names[k], arrays[k]));
	REF_OK_PROG(E->p, aj_exec(ns, text, NULL));
	REF_OK_PROG(E->p, aj_sync(E->p));
	aj_names_free(ns);
}

/* bytes at a 64-byte boundary (C11 wants a multiple of it). */
static unsigned char *alloc64(size_t bytes)
{
	return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

/* Two output buffers of bytes (+ PAD), filled alike. */
static void two_buffers(size_t bytes, unsigned char **r, unsigned char **o)
{
	*r = alloc64(bytes + PAD);
	*o = alloc64(bytes + PAD);
	assert_non_null(*r);
	assert_non_null(*o);
	memset(*r, 0xA5, bytes + PAD);
	memset(*o, 0xA5, bytes + PAD);
}

/*
 * o = a*a + a over n elements of dtype t, o starting off bytes into its
 * buffer: normal stores into one buffer, forced non-temporal into the
 * other; both buffers, padding included, must be equal.
 */
static void check_1d_text(env *E, aj_dtype t, int64_t n, int64_t off,
			  int threads, const char *text);

static void check_1d(env *E, aj_dtype t, int64_t n, int64_t off, int threads)
{
	check_1d_text(E, t, n, off, threads, "o = a*a + a");
}

/* The same for text, random numbers restarted from seed 0 each time. */
static void check_1d_text(env *E, aj_dtype t, int64_t n, int64_t off,
			  int threads, const char *text)
{
	aj_ctx *ctx = E->ctx;
	size_t size = aj_dtype_size(t), bytes = (size_t)n * size + (size_t)off;
	aj_array *a = ref_filled(E, t, 1, &n), *ro, *oo;
	unsigned char *rb, *ob;
	two_buffers(bytes, &rb, &ob);
	REF_OK_CTX(ctx, aj_array_wrap(ctx, rb, bytes + PAD, off, t, 1, &n, NULL, &ro));
	REF_OK_CTX(ctx, aj_array_wrap(ctx, ob, bytes + PAD, off, t, 1, &n, NULL, &oo));
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, threads));
	const char *names[] = {"a", "o"};
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, NT_OFF));
	REF_OK_CTX(ctx, aj_ctx_set_seed(ctx, 0));
	exec_with(E, text, 2, names, (aj_array *[]){a, ro});
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, NT_ON));
	REF_OK_CTX(ctx, aj_ctx_set_seed(ctx, 0));
	exec_with(E, text, 2, names, (aj_array *[]){a, oo});
	if (memcmp(rb, ob, bytes + PAD))
		fail_msg("%s n=%lld off=%lld threads %d, %s: non-temporal result "
			 "differs", aj_dtype_name(t), (long long)n, (long long)off,
			 threads, text);
	aj_array_free(a);
	aj_array_free(ro);
	aj_array_free(oo);
	free(rb);
	free(ob);
}

static void test_nt_1d_matches(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_dtype types[] = {AJ_BOOL, AJ_INT8, AJ_INT16, AJ_INT32, AJ_INT64,
					 AJ_FLOAT32, AJ_FLOAT64, AJ_COMPLEX64,
					 AJ_COMPLEX128};
	static const int64_t lens[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65,
				       127, 129, 1000, 4099};
	/* from a cache line, from a vector's 8 bytes in, and off the
	 * element's own alignment (all the head then, normal stores) */
	static const int64_t offs[] = {0, 4, 8, 24, 1};
	REF_OK_CTX(ctx, aj_ctx_set_min_parallel(ctx, 1));
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof *types; t++)
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
				for (size_t f = 0; f < sizeof offs / sizeof *offs; f++) {
					check_1d(E, types[t], lens[l], offs[f], 1);
					if (lens[l] >= 127)
						check_1d(E, types[t], lens[l], offs[f], 3);
				}
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, 0));
	REF_OK_CTX(ctx, aj_ctx_set_min_parallel(ctx, 0));
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 0));
}

/* Random numbers draw vectors wider than a line (16 float64 lanes on
 * AVX-512): the body stopped at whole lines and stored a whole vector
 * past the end of a 10-element output (found by fuzz_parse). */
static void test_nt_random_matches(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_dtype types[] = {AJ_FLOAT32, AJ_FLOAT64, AJ_UINT32, AJ_UINT64};
	static const int64_t lens[] = {1, 7, 8, 10, 12, 15, 16, 17, 24, 31, 33, 40, 63, 65};
	static const int64_t offs[] = {0, 8, 24};
	char text[64];
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
			snprintf(text, sizeof text, "o = random(%s)", aj_dtype_name(types[t]));
			for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
				for (size_t f = 0; f < sizeof offs / sizeof *offs; f++)
					check_1d_text(E, types[t], lens[l], offs[f], 1, text);
		}
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 0));
}

/*
 * The outer product o = a[:, None] * b[None, :] into m x n, o's rows
 * pitch elements apart (pitch > n: rows not contiguous as a whole), o
 * starting off bytes in: each row's head aligns anew.
 */
static void check_outer(env *E, aj_dtype t, int64_t m, int64_t n, int64_t pitch,
			int64_t off, int threads)
{
	aj_ctx *ctx = E->ctx;
	size_t size = aj_dtype_size(t);
	size_t bytes = (size_t)(m * pitch) * size + (size_t)off;
	aj_array *a = ref_filled(E, t, 1, &m), *b = ref_filled(E, t, 1, &n), *ro, *oo;
	unsigned char *rb, *ob;
	two_buffers(bytes, &rb, &ob);
	int64_t shape[2] = {m, n}, strides[2] = {pitch * (int64_t)size, (int64_t)size};
	REF_OK_CTX(ctx, aj_array_wrap(ctx, rb, bytes + PAD, off, t, 2, shape, strides, &ro));
	REF_OK_CTX(ctx, aj_array_wrap(ctx, ob, bytes + PAD, off, t, 2, shape, strides, &oo));
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, threads));
	const char *names[] = {"a", "b", "o"};
	const char *text = "o = a[:, None] * b[None, :]";
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, NT_OFF));
	exec_with(E, text, 3, names, (aj_array *[]){a, b, ro});
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, NT_ON));
	exec_with(E, text, 3, names, (aj_array *[]){a, b, oo});
	if (memcmp(rb, ob, bytes + PAD))
		fail_msg("%s %lldx%lld pitch %lld off=%lld threads %d: non-temporal "
			 "result differs", aj_dtype_name(t), (long long)m, (long long)n,
			 (long long)pitch, (long long)off, threads);
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(ro);
	aj_array_free(oo);
	free(rb);
	free(ob);
}

static void test_nt_outer_matches(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_isa host = aj_ctx_isa(ctx);
	static const aj_dtype types[] = {AJ_INT32, AJ_INT64, AJ_FLOAT32, AJ_FLOAT64};
	static const int64_t cols[] = {1, 7, 16, 37, 64, 1001};
	REF_OK_CTX(ctx, aj_ctx_set_min_parallel(ctx, 1));
	for (int i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof *types; t++)
			for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
				for (int64_t off = 0; off <= 8; off += 8) {
					int64_t n = cols[c];
					check_outer(E, types[t], 13, n, n, off, 1);
					check_outer(E, types[t], 13, n, n, off, 3);
					check_outer(E, types[t], 13, n, n + 3, off, 2);
				}
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, 0));
	REF_OK_CTX(ctx, aj_ctx_set_min_parallel(ctx, 0));
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 0));
}

/* Two assignments in one sync, a prepared kernel run on arrays at other
 * alignments than its templates', all with non-temporal stores forced. */
static void test_nt_multi_and_prepared(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	int64_t n = 1003;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 1, &n);
	aj_array *x[2], *y[2];
	for (int m = 0; m < 2; m++) {
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &x[m]));
		REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &y[m]));
		REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, m ? NT_ON : NT_OFF));
		const char *names[] = {"a", "x", "y"};
		exec_with(E, "x = a*2 + 1; y = x - a", 3, names, (aj_array *[]){a, x[m], y[m]});
	}
	assert_memory_equal(aj_array_data(x[0]), aj_array_data(x[1]), (size_t)n * 8);
	assert_memory_equal(aj_array_data(y[0]), aj_array_data(y[1]), (size_t)n * 8);

	aj_prepared *k;
	aj_param params[3] = {{"o", x[0], 0}, {"a", a, 0}, {"s", NULL, AJ_FLOAT64}};
	REF_OK_CTX(ctx, aj_prepare(ctx, "o = a*s - 1", 3, params, &k));
	unsigned char *buf = alloc64((size_t)n * 8 + PAD);
	assert_non_null(buf);
	for (int64_t off = 0; off <= 40; off += 8) {
		aj_array *o;
		REF_OK_CTX(ctx, aj_array_wrap(ctx, buf, (size_t)n * 8 + PAD, off, AJ_FLOAT64,
					      1, &n, NULL, &o));
		aj_arg args[3] = {{.array = o}, {.array = a}, {.f = 0.5 + (double)off}};
		if (aj_prepared_run(k, args) != AJ_OK)
			fail_msg("%s", aj_prepared_errmsg(k));
		const double *got = aj_array_data(o), *in = aj_array_data(a);
		for (int64_t i = 0; i < n; i++)
			assert_true(got[i] == in[i] * (0.5 + (double)off) - 1);
		aj_array_free(o);
	}
	free(buf);
	aj_prepared_free(k);
	for (int m = 0; m < 2; m++) {
		aj_array_free(x[m]);
		aj_array_free(y[m]);
	}
	aj_array_free(a);
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 0));
}

/* The dump of text (names a, o of n float64, or dtype t) at stage. */
static char *dump(env *E, const char *text, aj_dtype t, int64_t n, aj_stage stage)
{
	aj_array *a = ref_filled(E, t, 1, &n), *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, 1, &n, &o));
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "a", a));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "o", o));
	REF_OK_PROG(E->p, aj_exec(ns, text, NULL));
	char *s = NULL;
	REF_OK_PROG(E->p, aj_dump(E->p, AJ_EXPR_NONE, stage, &s));
	REF_OK_PROG(E->p, aj_sync(E->p));
	aj_names_free(ns);
	aj_array_free(a);
	aj_array_free(o);
	return s;
}

/* The path is there when forced, for each vector ISA and element size. */
static void test_nt_path_present(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_isa host = aj_ctx_isa(ctx);
	static const struct {
		aj_dtype t;
		const char *text, *insn;
	} cases[] = {
		{AJ_FLOAT64, "o = a*2.5", "vmovntpd"},
		{AJ_FLOAT32, "o = a*a", "vmovntps"},
		{AJ_INT64, "o = a + a", "vmovntdq"},
		{AJ_INT32, "o = a - a*a", "vmovntdq"},
	};
	int tried = 0;
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, NT_ON));
	for (int i = 1; i < 3; i++) {
		if (aj_ctx_set_isa(ctx, isas[i]) != AJ_OK)
			continue;
		tried++;
		for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
			char *s = dump(E, cases[c].text, cases[c].t, 1000, AJ_STAGE_FUSED);
			expect_in(s, "(out0 stored non-temporally)");
			aj_string_free(s);
			s = dump(E, cases[c].text, cases[c].t, 1000, AJ_STAGE_OPT);
			expect_in(s, "!nontemporal");
			expect_in(s, "llvm.x86.sse.sfence");
			aj_string_free(s);
			s = dump(E, cases[c].text, cases[c].t, 1000, AJ_STAGE_ASM);
			expect_in(s, cases[c].insn);
			expect_in(s, "sfence");
			aj_string_free(s);
		}
	}
	if (host != AJ_ISA_SCALAR)
		assert_true(tried > 0);
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 0));
}

/* Where it is not taken: below the threshold (the bytes the operands
 * span), in place, through a take, for dtypes of other sizes, the scalar
 * ISA. */
static void test_nt_not_taken(void **state)
{
	env *E = *state;
	aj_ctx *ctx = E->ctx;
	aj_isa host = aj_ctx_isa(ctx);
	if (host == AJ_ISA_SCALAR)
		skip();
	const char *nt = "(out0 stored non-temporally)";
	/* o = a*2 over 1000 float64 spans 16000 bytes */
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 16000));
	char *s = dump(E, "o = a*2", AJ_FLOAT64, 1000, AJ_STAGE_FUSED);
	expect_in(s, nt);
	aj_string_free(s);
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 16001));
	s = dump(E, "o = a*2", AJ_FLOAT64, 1000, AJ_STAGE_FUSED);
	expect_not_in(s, nt);
	aj_string_free(s);
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, NT_ON));
	static const struct {
		aj_dtype t;
		const char *text;
	} none[] = {
		{AJ_FLOAT64, "a *= 2"},
		{AJ_FLOAT64, "a[1:] = a[:-1] + 1"},
		{AJ_FLOAT64, "o = a[int64(a) % 7]"},
		{AJ_INT16, "o = a + a"},
		{AJ_COMPLEX128, "o = a * a"},
	};
	for (size_t c = 0; c < sizeof none / sizeof *none; c++) {
		s = dump(E, none[c].text, none[c].t, 1000, AJ_STAGE_IR);
		expect_not_in(s, "!nontemporal");
		aj_string_free(s);
	}
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, AJ_ISA_SCALAR));
	s = dump(E, "o = a*2", AJ_FLOAT64, 1000, AJ_STAGE_IR);
	expect_not_in(s, "!nontemporal");
	aj_string_free(s);
	REF_OK_CTX(ctx, aj_ctx_set_isa(ctx, host));
	REF_OK_CTX(ctx, aj_ctx_set_nt_bytes(ctx, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nt_1d_matches),
		cmocka_unit_test(test_nt_random_matches),
		cmocka_unit_test(test_nt_outer_matches),
		cmocka_unit_test(test_nt_multi_and_prepared),
		cmocka_unit_test(test_nt_path_present),
		cmocka_unit_test(test_nt_not_taken),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
