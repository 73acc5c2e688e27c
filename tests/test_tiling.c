/*
 * Tiled kernels (sched.c rule 6, jit/emit.c emit_tiled): elementwise calls
 * that read an input transposed against the output (a + a.T, a.T.copy())
 * walk tiles and transpose blocks in registers. Every result is compared
 * with the scalar ISA's, which never tiles, bit for bit (the ops are
 * exact), and a + a.T also with a plain loop here; shapes with remainders
 * on both axes, degenerate ones, views with negative steps, broadcasts, a
 * 3-d permutation, four dtypes, on each vector ISA the host runs, split
 * across threads. The dumps show the tiled path is taken.
 */
#include "core.h"
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ref_env env;

static const aj_isa vector_isas[] = {AJ_ISA_AVX2, AJ_ISA_AVX512};

/* Runs text with names[i] bound to arrays[i] on isa (the scalar ISA for
 * the reference). */
static void run_text(env *E, aj_isa isa, const char *text, int n,
		     const char *const *names, aj_array **arrays)
{
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, isa));
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	for (int i = 0; i < n; i++)
		REF_OK_PROG(E->p, aj_names_set_array(ns, names[i], arrays[i]));
	REF_OK_PROG(E->p, aj_exec(ns, text, NULL));
	REF_OK_PROG(E->p, aj_sync(E->p));
	aj_names_free(ns);
}

static size_t nbytes(const aj_array *a)
{
	size_t n = aj_dtype_size(aj_array_dtype(a));
	for (int d = 0; d < aj_array_ndim(a); d++)
		n *= (size_t)aj_array_shape(a)[d];
	return n;
}

/* The inputs of one case: a (m, n) of dtype ta, b (n, m) of tb, c (n,)
 * and d (m,) of tb; out (n, m) of the result dtype. */
typedef struct inputs {
	aj_array *a, *b, *c, *d;
} inputs;

static inputs make_inputs(env *E, aj_dtype ta, aj_dtype tb, int64_t m,
			  int64_t n)
{
	int64_t sa[2] = {m, n}, sb[2] = {n, m};
	return (inputs){ref_filled(E, ta, 2, sa), ref_filled(E, tb, 2, sb),
			ref_filled(E, tb, 1, &n), ref_filled(E, tb, 1, &m)};
}

static void free_inputs(inputs *in)
{
	aj_array_free(in->a);
	aj_array_free(in->b);
	aj_array_free(in->c);
	aj_array_free(in->d);
}

/* text on every vector ISA equals text on the scalar ISA, bit for bit. */
static void check_text(env *E, const inputs *in, aj_dtype tout,
		       const char *text, const char *what)
{
	int64_t shape[2] = {aj_array_shape(in->b)[0], aj_array_shape(in->b)[1]};
	aj_array *ref, *out;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, tout, 2, shape, &ref));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, tout, 2, shape, &out));
	const char *names[] = {"out", "a", "b", "c", "d"};
	aj_array *arrays[] = {ref, in->a, in->b, in->c, in->d};
	run_text(E, AJ_ISA_SCALAR, text, 5, names, arrays);
	arrays[0] = out;
	for (size_t i = 0; i < sizeof vector_isas / sizeof *vector_isas; i++) {
		if (aj_ctx_set_isa(E->ctx, vector_isas[i]) != AJ_OK)
			continue;
		memset(aj_array_data(out), 0x55, nbytes(out));
		run_text(E, vector_isas[i], text, 5, names, arrays);
		if (memcmp(aj_array_data(out), aj_array_data(ref), nbytes(out)))
			fail_msg("%s: %s %lldx%lld isa %d differs from the "
				 "scalar ISA",
				 text, what, (long long)shape[0],
				 (long long)shape[1], (int)vector_isas[i]);
	}
	aj_array_free(ref);
	aj_array_free(out);
}

static const char *const int_texts[] = {
    "out = b + a.T",
    "out = a.T",
    "out = a.T * 3 - b",
    "out = a[::-1].T + b",    /* the transposed input's inner stride < 0 */
    "out = a[:, ::-1].T + b", /* backwards along the rows: not tiled */
    "out = a.T + c[:, None]", /* invariant along the inner loop, per row */
    "out = a.T + d",	      /* invariant along the rows */
    "out = where(a.T > b, a.T, b + 1)",
    "out = a.T * a[::-1].T + b", /* two transposed inputs */
};

static const int64_t shapes[][2] = {
    {37, 53}, {53, 37}, {1, 100},  {100, 1},   {1, 1},
    {7, 9},   {64, 64}, {65, 130}, {300, 257}, {16, 1000},
};

static void test_against_scalar(void **state)
{
	env *E = *state;
	static const struct {
		aj_dtype ta, tb, tout;
	} types[] = {
	    {AJ_FLOAT64, AJ_FLOAT64, AJ_FLOAT64},
	    {AJ_FLOAT32, AJ_FLOAT32, AJ_FLOAT32},
	    {AJ_INT32, AJ_INT32, AJ_INT32},
	    {AJ_INT64, AJ_INT64, AJ_INT64},
	    {AJ_FLOAT32, AJ_FLOAT64, AJ_FLOAT64}, /* 8-byte lanes, 4-byte tiles
						   */
	    {AJ_INT16, AJ_INT16, AJ_INT16},	  /* not tiled: 2-byte */
	};
	aj_isa host = aj_ctx_isa(E->ctx);
	/* small calls split too, unevenly */
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 3));
	REF_OK_CTX(E->ctx, aj_ctx_set_min_parallel(E->ctx, 1));
	for (size_t t = 0; t < sizeof types / sizeof *types; t++)
		for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
			inputs in = make_inputs(E, types[t].ta, types[t].tb,
						shapes[s][0], shapes[s][1]);
			for (size_t x = 0;
			     x < sizeof int_texts / sizeof *int_texts; x++)
				check_text(E, &in, types[t].tout, int_texts[x],
					   aj_dtype_name(types[t].ta));
			if (types[t].tout == AJ_FLOAT64 ||
			    types[t].tout == AJ_FLOAT32)
				check_text(E, &in, types[t].tout,
					   "out = sqrt(abs(a.T)) + b",
					   aj_dtype_name(types[t].ta));
			free_inputs(&in);
		}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

/* out (n x n, any strides) against a + a.T (add) or a.T from the
 * C-order data x. */
static void check_loop(const aj_array *out, const double *x, int64_t n,
		       bool add)
{
	const char *y = aj_array_data(out);
	const int64_t *st = aj_array_strides(out);
	for (int64_t i = 0; i < n; i++)
		for (int64_t j = 0; j < n; j++) {
			double got =
			    *(const double *)(y + i * st[0] + j * st[1]);
			double want = (add ? x[i * n + j] : 0) + x[j * n + i];
			if (got != want)
				fail_msg(
				    "n=%lld: out[%lld, %lld] = %g, want %g",
				    (long long)n, (long long)i, (long long)j,
				    got, want);
		}
}

/* a + a.T and a.T against a plain loop on each vector ISA, into a fresh
 * output and into a view of one whose rows start 8 bytes off a vector's
 * alignment. 1500 x 1500 (36 MB spanned, past this machine's 32 MB L3:
 * run.c's aj_pick_stores) takes the nontemporal stores into the aligned
 * output, the cached ones into the view. */
static void test_add_transpose_loop(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 2));
	REF_OK_CTX(E->ctx, aj_ctx_set_min_parallel(E->ctx, 1));
	static const int64_t ns[] = {1, 2, 15, 16, 17, 200, 333, 1500};
	for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
		int64_t n = ns[k], sh[2] = {n, n}, wide[2] = {n, n + 1};
		aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sh), *outs[2], *full;
		outs[0] = ref_f64_array(E, 2, sh);
		full = ref_f64_array(E, 2, wide);
		aj_slice cols[2] = {AJ_ALL, {1, AJ_DEFAULT, 1}};
		REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, full, cols, &outs[1]));
		const char *names[] = {"out", "a"};
		for (size_t i = 0; i < sizeof vector_isas / sizeof *vector_isas;
		     i++) {
			if (aj_ctx_set_isa(E->ctx, vector_isas[i]) != AJ_OK)
				continue;
			for (int v = 0; v < 2; v++) {
				aj_array *arrays[] = {outs[v], a};
				run_text(E, vector_isas[i], "out = a + a.T", 2,
					 names, arrays);
				check_loop(outs[v], ref_f64(a), n, true);
				run_text(E, vector_isas[i], "out = a.T", 2,
					 names, arrays);
				check_loop(outs[v], ref_f64(a), n, false);
			}
		}
		aj_array_free(a);
		aj_array_free(outs[0]);
		aj_array_free(outs[1]);
		aj_array_free(full);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

/* A 3-d array with its last two axes swapped (b + a.transpose(0, 2, 1)),
 * and its full reversal a.T (not unit-stride along loop ndim-2). */
static void test_3d(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	int64_t sa[3] = {3, 37, 53}, sb[3] = {3, 53, 37}, sr[3] = {53, 37, 3};
	static const int perm[3] = {0, 2, 1};
	static const aj_dtype types[] = {AJ_FLOAT64, AJ_FLOAT32, AJ_INT32};
	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		aj_array *a = ref_filled(E, types[t], 3, sa),
			 *b = ref_filled(E, types[t], 3, sb);
		aj_array *at, *ref, *out, *rref, *rout;
		REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, perm, &at));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, types[t], 3, sb, &ref));
		REF_OK_CTX(E->ctx, aj_array_new(E->ctx, types[t], 3, sb, &out));
		REF_OK_CTX(E->ctx,
			   aj_array_new(E->ctx, types[t], 3, sr, &rref));
		REF_OK_CTX(E->ctx,
			   aj_array_new(E->ctx, types[t], 3, sr, &rout));
		const char *names[] = {"out", "at", "b", "r", "a"};
		aj_array *refs[] = {ref, at, b, rref, a},
			 *outs[] = {out, at, b, rout, a};
		const char *text = "out = b + at; r = a.T * 2";
		run_text(E, AJ_ISA_SCALAR, text, 5, names, refs);
		for (size_t i = 0; i < sizeof vector_isas / sizeof *vector_isas;
		     i++) {
			if (aj_ctx_set_isa(E->ctx, vector_isas[i]) != AJ_OK)
				continue;
			run_text(E, vector_isas[i], text, 5, names, outs);
			assert_memory_equal(aj_array_data(out),
					    aj_array_data(ref), nbytes(out));
			assert_memory_equal(aj_array_data(rout),
					    aj_array_data(rref), nbytes(rout));
		}
		REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
		/* the 3-d nest keeps its transposed pair, tiled */
		char *dump = NULL;
		aj_expr e = aj_add(E->p, aj_leaf(E->p, b), aj_leaf(E->p, at));
		REF_OK_PROG(E->p, aj_dump(E->p, e, AJ_STAGE_FUSED, &dump));
		if (host != AJ_ISA_SCALAR &&
		    !strstr(dump, "3 loops (3, 53, 37), 5883 elements, tiled"))
			fail_msg("expected a tiled 3-loop nest in:\n%s", dump);
		aj_string_free(dump);
		aj_array *arrays[] = {a, b, at, ref, out, rref, rout};
		for (int k = 0; k < 7; k++)
			aj_array_free(arrays[k]);
	}
}

/* Two assignments fused into one kernel with two outputs, each
 * reading the transposed input. */
static void test_two_outputs(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	int64_t sa[2] = {45, 70}, sb[2] = {70, 45};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa);
	aj_array *b = ref_filled(E, AJ_FLOAT64, 2, sb), *o[4];
	for (int k = 0; k < 4; k++)
		REF_OK_CTX(E->ctx,
			   aj_array_new(E->ctx, AJ_FLOAT64, 2, sb, &o[k]));
	const char *names[] = {"a", "b", "o1", "o2"};
	const char *text = "o1 = a.T + b; o2 = a.T * b";
	aj_array *refs[] = {a, b, o[0], o[1]}, *outs[] = {a, b, o[2], o[3]};
	run_text(E, AJ_ISA_SCALAR, text, 4, names, refs);
	for (size_t i = 0; i < sizeof vector_isas / sizeof *vector_isas; i++) {
		if (aj_ctx_set_isa(E->ctx, vector_isas[i]) != AJ_OK)
			continue;
		run_text(E, vector_isas[i], text, 4, names, outs);
		assert_memory_equal(aj_array_data(o[2]), aj_array_data(o[0]),
				    nbytes(o[0]));
		assert_memory_equal(aj_array_data(o[3]), aj_array_data(o[1]),
				    nbytes(o[1]));
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	aj_array_free(a);
	aj_array_free(b);
	for (int k = 0; k < 4; k++)
		aj_array_free(o[k]);
}

/* Element (i, j) of the square n x n C-order data x of dtype t (float64
 * or int32, whose sums here are exact as doubles). */
static double at2(aj_dtype t, const char *x, int64_t n, int64_t i, int64_t j)
{
	if (t == AJ_FLOAT64)
		return ((const double *)x)[i * n + j];
	return ((const int32_t *)x)[i * n + j];
}

/* Outputs that overlap the transposed input (alias.c copies it first) or
 * are the other input (read before written in each block). */
static void test_overlap(void **state)
{
	env *E = *state;
	static const aj_dtype types[] = {AJ_FLOAT64, AJ_INT32};
	static const int64_t ns[] = {5, 70, 129};
	for (size_t t = 0; t < 2; t++)
		for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
			aj_dtype dt = types[t];
			int64_t n = ns[k], sh[2] = {n, n};
			aj_array *a = ref_filled(E, dt, 2, sh);
			aj_array *b = ref_filled(E, dt, 2, sh);
			size_t bytes = nbytes(a);
			char *x0 = malloc(bytes), *y0 = malloc(bytes);
			memcpy(x0, aj_array_data(a), bytes);
			memcpy(y0, aj_array_data(b), bytes);
			const char *names[] = {"a", "b"};
			aj_array *arrays[] = {a, b};
			run_text(E, aj_ctx_isa(E->ctx),
				 "a[:] = a.T + a; b[:] = b - a.T", 2, names,
				 arrays);
			const char *x = aj_array_data(a), *y = aj_array_data(b);
			for (int64_t i = 0; i < n; i++)
				for (int64_t j = 0; j < n; j++) {
					assert_true(at2(dt, x, n, i, j) ==
						    at2(dt, x0, n, i, j) +
							at2(dt, x0, n, j, i));
					/* with the new a */
					assert_true(at2(dt, y, n, i, j) ==
						    at2(dt, y0, n, i, j) -
							at2(dt, x, n, j, i));
				}
			memcpy(x0, x, bytes);
			run_text(E, aj_ctx_isa(E->ctx), "a[:] = a.T", 1, names,
				 arrays);
			for (int64_t i = 0; i < n; i++)
				for (int64_t j = 0; j < n; j++)
					assert_true(at2(dt, x, n, i, j) ==
						    at2(dt, x0, n, j, i));
			free(x0);
			free(y0);
			aj_array_free(a);
			aj_array_free(b);
		}
}

/* In-place text over the n x n array a (dtype t) on every vector ISA
 * equals it on the scalar ISA. */
static void check_inplace(env *E, aj_dtype t, int64_t n, const char *text)
{
	int64_t sh[2] = {n, n};
	aj_array *ref = ref_filled(E, t, 2, sh);
	const char *names[] = {"a"};
	run_text(E, AJ_ISA_SCALAR, text, 1, names, &ref);
	for (size_t i = 0; i < sizeof vector_isas / sizeof *vector_isas; i++) {
		if (aj_ctx_set_isa(E->ctx, vector_isas[i]) != AJ_OK)
			continue;
		aj_array *a = ref_filled(E, t, 2, sh);
		run_text(E, vector_isas[i], text, 1, names, &a);
		if (memcmp(aj_array_data(a), aj_array_data(ref), nbytes(a)))
			fail_msg("%s: %s isa %d differs from the scalar ISA",
				 text, aj_dtype_name(t), (int)vector_isas[i]);
		aj_array_free(a);
	}
	aj_array_free(ref);
}

/* Overlaps alias.c resolves with a copy of part of the transposed input
 * and the call in pieces (before, reading the copy, after). */
static void test_overlap_pieces(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const char *const texts[] = {
	    "a[20:44, :40] = a[10:50, 20:44].T * 2",
	    "a[3:, 1:] = a[:-1, :-3].T + a[3:, 1:]",
	    "a[::-1] = a.T - 1",
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		check_inplace(E, AJ_FLOAT64, 64, texts[i]);
		check_inplace(E, AJ_INT32, 67, texts[i]);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
}

/* The tiled path is there: the fused dump says so, the IR transposes
 * <lanes x T> blocks with shuffles on each vector ISA, and the copy of an
 * overlapped transposed input keeps the kernel tiled (one kernel for all
 * its pieces). Views it must not take: a strided row axis, a reduction. */
static void test_tiled_path_taken(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	if (host == AJ_ISA_SCALAR)
		skip();
	int64_t sh[2] = {64, 64};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sh);
	aj_array *f = ref_filled(E, AJ_FLOAT32, 2, sh);
	static const struct {
		aj_isa isa;
		bool f32;
		const char *vec;
	} want[] = {
	    {AJ_ISA_AVX2, false, "shufflevector <4 x double>"},
	    {AJ_ISA_AVX512, false, "shufflevector <8 x double>"},
	    {AJ_ISA_AVX2, true, "shufflevector <8 x float>"},
	    {AJ_ISA_AVX512, true, "shufflevector <16 x float>"},
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		if (aj_ctx_set_isa(E->ctx, want[i].isa) != AJ_OK)
			continue;
		aj_expr e = ref_parse1(E->p, "a + a.T", want[i].f32 ? f : a);
		char *text = NULL;
		REF_OK_PROG(E->p, aj_dump(E->p, e, AJ_STAGE_FUSED, &text));
		if (!strstr(text, "4096 elements, tiled"))
			fail_msg("expected a tiled kernel in:\n%s", text);
		aj_string_free(text);
		/* small: one variant of the blocks, cached stores */
		REF_OK_PROG(E->p, aj_dump(E->p, e, AJ_STAGE_IR, &text));
		if (!strstr(text, want[i].vec) || strstr(text, "!nontemporal"))
			fail_msg("expected \"%s\" and no nontemporal store in:\n%s",
				 want[i].vec, text);
		aj_string_free(text);
		/* past the threshold: the nontemporal blocks too */
		REF_OK_CTX(E->ctx, aj_ctx_set_nt_bytes(E->ctx, 1));
		REF_OK_PROG(E->p, aj_dump(E->p, e, AJ_STAGE_IR, &text));
		REF_OK_CTX(E->ctx, aj_ctx_set_nt_bytes(E->ctx, 0));
		if (!strstr(text, want[i].vec) ||
		    !strstr(text, "!nontemporal") ||
		    !strstr(text, "llvm.x86.sse.sfence"))
			fail_msg(
			    "expected \"%s\" and nontemporal stores in:\n%s",
			    want[i].vec, text);
		aj_string_free(text);
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	static const char *const untiled[] = {
	    "a[:32] + a[:, ::2].T", /* stride 16 along the rows */
	    "a + a[:, ::-1].T",	    /* stride -8 along the rows */
	    "a + a",		    /* nothing transposed */
	};
	for (size_t i = 0; i < sizeof untiled / sizeof *untiled; i++) {
		aj_expr e = ref_parse1(E->p, untiled[i], a);
		char *text = NULL;
		REF_OK_PROG(E->p, aj_dump(E->p, e, AJ_STAGE_FUSED, &text));
		if (strstr(text, "tiled"))
			fail_msg("%s: expected no tiled kernel in:\n%s",
				 untiled[i], text);
		aj_string_free(text);
	}
	/* a[3:, 1:] = ... copies part of its transposed input and runs in
	 * pieces: both pieces of the call, the one reading the copy too, are
	 * tiled (alias.c lays the copy out transposed), so one kernel */
	aj_names *ns;
	REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
	REF_OK_PROG(E->p, aj_names_set_array(ns, "a", a));
	REF_OK_PROG(E->p,
		    aj_exec(ns, "a[3:, 1:] = a[:-1, :-3].T + a[3:, 1:]", NULL));
	char *text = NULL;
	REF_OK_PROG(E->p, aj_dump(E->p, AJ_EXPR_NONE, AJ_STAGE_FUSED, &text));
	/* each piece's header line ends ", tiled", the note under it */
	int npiece = 0;
	for (const char *s = text; (s = strstr(s, "\n  (reads a copy")); s++) {
		if (s - text < 5 || strncmp(s - 5, "tiled", 5))
			fail_msg("expected every piece tiled in:\n%s", text);
		npiece++;
	}
	if (npiece != 2)
		fail_msg("expected two pieces reading a copy in:\n%s", text);
	aj_string_free(text);
	REF_OK_PROG(E->p, aj_sync(E->p));
	aj_names_free(ns);
	aj_array_free(a);
	aj_array_free(f);
}


/* A prepared kernel made with the nontemporal blocks (an aligned
 * output), run on an output whose rows start 8 bytes off: the kernel
 * sees it at run time and goes row by row, with the right values. */
static void test_prepared_misaligned_rows(void **state)
{
	env *E = *state;
	/* rows of 72 doubles (576 bytes, a multiple of 64): columns [0, n)
	 * start aligned, columns [1, n + 1) 8 bytes off */
	int64_t n = 67, sh[2] = {n, n}, wide[2] = {n, 72};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sh), *out = ref_f64_array(E, 2, sh);
	aj_array *full = ref_f64_array(E, 2, wide), *view, *odd;
	aj_slice cols[2] = {AJ_ALL, {1, n + 1, 1}};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, full, cols, &view));
	aj_slice first[2] = {AJ_ALL, {0, n, 1}};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, full, first, &odd));
	REF_OK_CTX(E->ctx, aj_ctx_set_nt_bytes(E->ctx, 1));
	/* the template's layout gets the nontemporal blocks */
	aj_expr e = aj_add(E->p, aj_leaf(E->p, a), ref_parse1(E->p, "a.T", a));
	char *text;
	REF_OK_PROG(E->p, aj_assign(E->p, odd, e));
	REF_OK_PROG(E->p, aj_dump(E->p, AJ_EXPR_NONE, AJ_STAGE_IR, &text));
	REF_OK_PROG(E->p, aj_sync(E->p));
	if (!strstr(text, "!nontemporal"))
		fail_msg("expected nontemporal stores in:\n%s", text);
	aj_string_free(text);
	aj_prepared *k;
	aj_param params[] = {{"out", odd, AJ_FLOAT64}, {"a", a, AJ_FLOAT64}};
	REF_OK_CTX(E->ctx, aj_prepare(E->ctx, "out = a + a.T", 2, params, &k));
	REF_OK_CTX(E->ctx, aj_ctx_set_nt_bytes(E->ctx, 0));
	aj_stats s0, s1;
	aj_ctx_stats(E->ctx, &s0);
	aj_arg args[] = {{.array = view}, {.array = a}};
	if (aj_prepared_run(k, args) != AJ_OK)
		fail_msg("%s", aj_prepared_errmsg(k));
	aj_ctx_stats(E->ctx, &s1);
	assert_true(s1.replays > s0.replays); /* the prepared kernel ran */
	check_loop(view, ref_f64(a), n, true);
	args[0].array = odd;
	if (aj_prepared_run(k, args) != AJ_OK)
		fail_msg("%s", aj_prepared_errmsg(k));
	check_loop(odd, ref_f64(a), n, true);
	aj_prepared_free(k);
	aj_array_free(odd);
	aj_array_free(view);
	aj_array_free(full);
	aj_array_free(out);
	aj_array_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_against_scalar),
	    cmocka_unit_test(test_add_transpose_loop),
	    cmocka_unit_test(test_prepared_misaligned_rows),
	    cmocka_unit_test(test_3d),
	    cmocka_unit_test(test_two_outputs),
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_overlap_pieces),
	    cmocka_unit_test(test_tiled_path_taken),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
