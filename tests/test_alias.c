/*
 * Outputs that overlap inputs (lib/alias.c): every result must equal the
 * copy-first reference, NumPy's, for any views of one buffer.
 *
 * The randomized test draws an output view and one or two input views of
 * one buffer of doubles (random shapes, steps of either sign, offsets,
 * transposes, broadcasts; half of the inputs are the output's own layout
 * shifted, the case served by ordering instead of a copy), runs
 * out = in1 * 3 + in2 and compares the whole buffer with a reference that
 * reads every input before writing. Some draws are two assignments run in
 * one sync, the second reading what the first writes. An output that
 * overlaps itself must fail with AJ_ERR_OVERLAP and leave the buffer
 * alone. Counters check that the draws reach the three outcomes: overlap
 * without a temporary, overlap through a temporary, and refusal.
 *
 * The named cases are the NumPy idioms, with the temporary each
 * may use.
 */
#include "core.h"
#include "ref.h"

#include <string.h>

enum { NB = 640, NDRAW = 6000, MAXD = 3 };

typedef struct view {
	int ndim;
	int64_t shape[MAXD], step[MAXD], off; /* in elements */
} view;

static double buf[NB], orig[NB], want[NB];

static int64_t rnd(uint64_t *s, int64_t lo, int64_t hi) /* [lo, hi] */
{
	return lo + (int64_t)(ref_rand(s) % (uint64_t)(hi - lo + 1));
}

/* A random offset that keeps every element of v in the buffer; false if
 * none does. */
static bool place(uint64_t *s, view *v)
{
	int64_t lo = 0, hi = 0;
	for (int d = 0; d < v->ndim; d++) {
		int64_t e = (v->shape[d] - 1) * v->step[d];
		*(e < 0 ? &lo : &hi) += e;
	}
	if (hi - lo >= NB)
		return false;
	v->off = rnd(s, -lo, NB - 1 - hi);
	return true;
}

static view random_out(uint64_t *s)
{
	view v = {0};
	do {
		bool wide = rnd(s, 0, 3) == 0;
		v.ndim = wide ? 1 : (int)rnd(s, 1, MAXD);
		for (int d = 0; d < v.ndim; d++) {
			v.shape[d] = wide ? rnd(s, 1, 300) : rnd(s, 1, 7);
			v.step[d] = rnd(s, 1, wide ? 2 : 12) * (rnd(s, 0, 1) ? 1 : -1);
		}
		if (!wide && rnd(s, 0, 1)) { /* a C-order block, maybe transposed */
			int64_t st = rnd(s, 1, 2);
			for (int d = v.ndim; d-- > 0;) {
				v.step[d] = st * (rnd(s, 0, 4) ? 1 : -1);
				st *= v.shape[d];
			}
			if (v.ndim > 1 && rnd(s, 0, 1)) {
				int64_t t = v.step[0];
				v.step[0] = v.step[v.ndim - 1];
				v.step[v.ndim - 1] = t;
				t = v.shape[0];
				v.shape[0] = v.shape[v.ndim - 1];
				v.shape[v.ndim - 1] = t;
			}
		}
	} while (!place(s, &v));
	return v;
}

/* An input broadcast into out's shape: out's layout shifted, transposed
 * or reversed, or a fresh layout; trailing axes kept, some of extent 1. */
static view random_in(uint64_t *s, const view *out)
{
	view v = *out;
	do {
		v = *out;
		int kind = (int)rnd(s, 0, 3);
		if (kind == 1) { /* transposed */
			view t = v;
			for (int d = 0; d < v.ndim && d < MAXD; d++)
				v.step[d] = t.step[v.ndim - 1 - d];
		} else if (kind == 2) { /* reversed along some axes */
			for (int d = 0; d < v.ndim; d++)
				if (rnd(s, 0, 1))
					v.step[d] = -v.step[d];
		} else if (kind == 3) {
			for (int d = 0; d < v.ndim; d++)
				v.step[d] = rnd(s, -12, 12);
		}
		if (rnd(s, 0, 3) == 0) { /* broadcast */
			int drop = (int)rnd(s, 0, v.ndim - 1);
			memmove(v.shape, v.shape + drop, (size_t)(v.ndim - drop) * 8);
			memmove(v.step, v.step + drop, (size_t)(v.ndim - drop) * 8);
			v.ndim -= drop;
			for (int d = 0; d < v.ndim; d++)
				if (rnd(s, 0, 3) == 0)
					v.shape[d] = 1;
		}
		if (kind == 0 && rnd(s, 0, 1)) { /* shifted: keep the offset near */
			v.off = out->off + rnd(s, -3, 3);
			int64_t lo = 0, hi = 0;
			for (int d = 0; d < v.ndim; d++) {
				int64_t e = (v.shape[d] - 1) * v.step[d];
				*(e < 0 ? &lo : &hi) += e;
			}
			if (v.off + lo >= 0 && v.off + hi < NB)
				break;
		}
	} while (!place(s, &v));
	return v;
}

static aj_array *wrap(aj_ctx *ctx, const view *v)
{
	int64_t shape[MAXD], strides[MAXD];
	for (int d = 0; d < v->ndim; d++) {
		shape[d] = v->shape[d];
		strides[d] = v->step[d] * 8;
	}
	aj_array *a = NULL;
	REF_OK_CTX(ctx, aj_array_wrap(ctx, buf, sizeof buf, v->off * 8, AJ_FLOAT64,
				      v->ndim, shape, strides, &a));
	return a;
}

/* Element position of in at out's index idx (broadcasting). */
static int64_t at(const view *in, const view *out, const int64_t *idx)
{
	int64_t pos = in->off;
	int lead = out->ndim - in->ndim;
	for (int d = 0; d < in->ndim; d++)
		pos += in->shape[d] == 1 ? 0 : idx[lead + d] * in->step[d];
	return pos;
}

static bool self_overlaps(const view *v)
{
	static int64_t hits[NB];
	memset(hits, 0, sizeof hits);
	int64_t idx[MAXD] = {0};
	do {
		if (hits[at(v, v, idx)]++)
			return true;
	} while (ref_next_index(v->ndim, v->shape, idx));
	return false;
}

/* want: from want's current contents, out = in1 * 3 + in2 (in2 may be
 * NULL), every input read first. */
static void reference(const view *out, const view *in1, const view *in2)
{
	static double val[NB];
	int64_t idx[MAXD] = {0}, n = 0;
	do {
		double x = want[at(in1, out, idx)] * 3;
		val[n++] = in2 ? x + want[at(in2, out, idx)] : x;
	} while (ref_next_index(out->ndim, out->shape, idx));
	memset(idx, 0, sizeof idx);
	n = 0;
	do
		want[at(out, out, idx)] = val[n++];
	while (ref_next_index(out->ndim, out->shape, idx));
}

static bool any_overlap(const view *out, const view *in)
{
	static uint8_t mark[NB];
	memset(mark, 0, sizeof mark);
	int64_t idx[MAXD] = {0};
	do
		mark[at(out, out, idx)] = 1;
	while (ref_next_index(out->ndim, out->shape, idx));
	memset(idx, 0, sizeof idx);
	do
		if (mark[at(in, out, idx)])
			return true;
	while (ref_next_index(out->ndim, out->shape, idx));
	return false;
}

static aj_expr rhs(aj_prog *p, aj_array *in1, aj_array *in2)
{
	aj_expr x = aj_binary(p, AJ_OP_MUL, aj_leaf(p, in1), aj_scalar_i64(p, 3));
	return in2 ? aj_binary(p, AJ_OP_ADD, x, aj_leaf(p, in2)) : x;
}

static void test_random_overlaps(void **state)
{
	(void)state;
	aj_ctx *ctx;
	assert_int_equal(aj_ctx_new(&ctx), AJ_OK);
	REF_OK_CTX(ctx, aj_ctx_set_threads(ctx, 2));
	REF_OK_CTX(ctx, aj_ctx_set_min_parallel(ctx, 1)); /* split what may be */
	uint64_t s = 42;
	int copied = 0, ordered = 0, refused = 0, two = 0;
	for (int it = 0; it < NDRAW; it++) {
		aj_prog *p;
		REF_OK_CTX(ctx, aj_prog_new(ctx, &p));
		for (int i = 0; i < NB; i++)
			buf[i] = orig[i] = want[i] = (double)(i % 97) - 40;
		view out = random_out(&s), in1 = random_in(&s, &out), in2 = in1;
		bool has2 = rnd(&s, 0, 1), second = rnd(&s, 0, 2) == 0;
		if (has2)
			in2 = random_in(&s, &out);
		aj_array *ao = wrap(ctx, &out), *a1 = wrap(ctx, &in1);
		aj_array *a2 = has2 ? wrap(ctx, &in2) : NULL;
		view out2 = second ? random_out(&s) : out, in3 = random_in(&s, &out2);
		aj_array *ao2 = second ? wrap(ctx, &out2) : NULL;
		aj_array *a3 = second ? wrap(ctx, &in3) : NULL;
		bool bad = self_overlaps(&out) || (second && self_overlaps(&out2));
		aj_stats st0, st1;
		aj_ctx_stats(ctx, &st0);
		aj_status r = aj_assign(p, ao, rhs(p, a1, a2));
		if (r == AJ_OK && second)
			r = aj_assign(p, ao2, rhs(p, a3, NULL));
		if (r == AJ_OK)
			r = aj_sync(p);
		aj_ctx_stats(ctx, &st1);
		if (bad) {
			assert_int_equal(r, AJ_ERR_OVERLAP);
			assert_memory_equal(buf, orig, sizeof buf);
			refused++;
		} else {
			if (r != AJ_OK)
				fail_msg("draw %d: %s", it, aj_prog_errmsg(p));
			reference(&out, &in1, has2 ? &in2 : NULL);
			if (second)
				reference(&out2, &in3, NULL);
			for (int i = 0; i < NB; i++)
				if (buf[i] != want[i])
					fail_msg("draw %d: element %d is %g, want %g", it, i,
						 buf[i], want[i]);
			bool ov = any_overlap(&out, &in1) || (has2 && any_overlap(&out, &in2));
			bool temp = st1.temp_bytes > st0.temp_bytes;
			copied += ov && temp;
			ordered += ov && !temp && !second;
			two += second;
		}
		aj_array_free(ao);
		aj_array_free(a1);
		aj_array_free(a2);
		aj_array_free(ao2);
		aj_array_free(a3);
		aj_prog_free(p);
	}
	print_message("overlaps: %d through a copy, %d without, %d refused, "
		      "%d pairs of assignments\n", copied, ordered, refused, two);
	assert_true(copied > 200 && ordered > 200 && refused > 50 && two > 1000);
	aj_ctx_free(ctx);
}

/* ---- the named idioms ---- */

typedef struct idiom {
	const char *text;
	int64_t temp; /* bytes of temporaries it may use */
} idiom;

/* a: 8 x 8 float64 holding 0..63; b the same as a vector of 64. */
static void test_idioms(void **state)
{
	ref_env *E = *state;
	static const idiom cases[] = {
		{"a[1:] = a[:-1] + 1", 0},
		{"a[:-1] = a[1:] * 2", 0},
		{"a = a*2 + 1", 0},
		{"a[::2] = a[1::2]", 0},
		{"a[1:, 1:] = a[:-1, :-1] + a[1:, 1:]", 0},
		{"a[:, 0] = a[0, :]", 8},  /* only a[0, 0] is read after a write */
		{"a[:] = a[::-1]", 512},   /* every row */
		{"a[:] = a.T + a", 512},   /* all of a.T */
		{"b[1:] = b[:-1] + b[1:]", 0},
		{"b[:] = b[::-1] * 2", 512},
		{"b[3:] = b[:-3] + b[2:-1]", 0},
		{"b[1:] = b[:-1]; c = b * 2", 0},
	};
	static double data[64];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int k = 0; k < 64; k++)
			data[k] = k;
		aj_array *a, *b;
		int64_t shape[2] = {8, 8}, n = 64;
		REF_OK_CTX(E->ctx, aj_array_wrap(E->ctx, data, sizeof data, 0, AJ_FLOAT64,
						 2, shape, NULL, &a));
		REF_OK_CTX(E->ctx, aj_array_wrap(E->ctx, data, sizeof data, 0, AJ_FLOAT64,
						 1, &n, NULL, &b));
		aj_names *ns;
		REF_OK_PROG(E->p, aj_names_new(E->p, &ns));
		REF_OK_PROG(E->p, aj_names_set_array(ns, "a", a));
		REF_OK_PROG(E->p, aj_names_set_array(ns, "b", b));
		aj_stats st0, st1;
		aj_ctx_stats(E->ctx, &st0);
		REF_OK_PROG(E->p, aj_exec(ns, cases[i].text, NULL));
		REF_OK_PROG(E->p, aj_sync(E->p));
		aj_ctx_stats(E->ctx, &st1);
		/* the reference: the same statement on a copy-first basis */
		double w[64], old[64];
		for (int k = 0; k < 64; k++)
			w[k] = old[k] = k;
		switch (i) {
		case 0: for (int k = 8; k < 64; k++) w[k] = old[k - 8] + 1; break;
		case 1: for (int k = 0; k < 56; k++) w[k] = old[k + 8] * 2; break;
		case 2: for (int k = 0; k < 64; k++) w[k] = old[k] * 2 + 1; break;
		case 3: for (int k = 0; k < 64; k++)
				if (k / 8 % 2 == 0)
					w[k] = old[k + 8];
			break;
		case 4: for (int r = 1; r < 8; r++)
				for (int c = 1; c < 8; c++)
					w[r * 8 + c] = old[(r - 1) * 8 + c - 1] + old[r * 8 + c];
			break;
		case 5: for (int r = 0; r < 8; r++) w[r * 8] = old[r]; break;
		case 6: for (int k = 0; k < 64; k++) w[k] = old[(7 - k / 8) * 8 + k % 8]; break;
		case 7: for (int r = 0; r < 8; r++)
				for (int c = 0; c < 8; c++)
					w[r * 8 + c] = old[c * 8 + r] + old[r * 8 + c];
			break;
		case 8: for (int k = 1; k < 64; k++) w[k] = old[k - 1] + old[k]; break;
		case 9: for (int k = 0; k < 64; k++) w[k] = old[63 - k] * 2; break;
		case 10: for (int k = 3; k < 64; k++) w[k] = old[k - 3] + old[k - 1]; break;
		case 11: for (int k = 1; k < 64; k++) w[k] = old[k - 1]; break;
		}
		if (memcmp(data, w, sizeof w))
			fail_msg("%s: wrong result", cases[i].text);
		int64_t temp = (int64_t)(st1.temp_bytes - st0.temp_bytes);
		if (temp > cases[i].temp)
			fail_msg("%s: %lld bytes of temporaries, want at most %lld",
				 cases[i].text, (long long)temp, (long long)cases[i].temp);
		aj_names_free(ns);
		aj_array_free(a);
		aj_array_free(b);
	}
}

/* A shift that must run in order is never split across threads, however
 * large: the result would depend on which thread ran first. */
static void test_shift_large(void **state)
{
	ref_env *E = *state;
	REF_OK_CTX(E->ctx, aj_ctx_set_threads(E->ctx, 2));
	REF_OK_CTX(E->ctx, aj_ctx_set_min_parallel(E->ctx, 1));
	enum { N = 1 << 20 };
	aj_array *v;
	int64_t n = N;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT64, 1, &n, &v));
	int64_t *x = aj_array_data(v), *w = test_malloc(2 * N * sizeof *w), *old = w + N;
	for (int64_t i = 0; i < N; i++)
		x[i] = w[i] = i % 1000 * 7;
	aj_array *lo, *hi;
	aj_slice all_but_last = {0, N - 1, 1}, all_but_first = {1, N, 1};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, v, &all_but_last, &lo));
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, v, &all_but_first, &hi));
	for (int round = 0; round < 2; round++) {
		/* round 0: v[1:] = v[:-1] * 3 (reversed); 1: v[:-1] = v[1:] * 3 */
		aj_array *out = round ? lo : hi, *in = round ? hi : lo;
		aj_expr e = aj_binary(E->p, AJ_OP_MUL, aj_leaf(E->p, in),
				      aj_scalar_i64(E->p, 3));
		REF_OK_PROG(E->p, aj_assign(E->p, out, e));
		REF_OK_PROG(E->p, aj_sync(E->p));
		memcpy(old, w, N * sizeof *w);
		for (int64_t i = 0; i < N - 1; i++)
			w[round ? i : i + 1] = old[round ? i + 1 : i] * 3;
		for (int64_t i = 0; i < N; i++)
			if (x[i] != w[i])
				fail_msg("round %d: x[%lld] = %lld, want %lld", round,
					 (long long)i, (long long)x[i], (long long)w[i]);
	}
	test_free(w);
	aj_array_free(lo);
	aj_array_free(hi);
	aj_array_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_overlaps),
		cmocka_unit_test_setup_teardown(test_idioms, ref_env_setup,
						ref_env_teardown),
		cmocka_unit_test_setup_teardown(test_shift_large, ref_env_setup,
						ref_env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
