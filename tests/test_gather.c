/*
 * Gathers: aj_take, a[i] and take(...) in text, against NumPy's take and
 * integer array indexing (mode='raise'), with the expected values computed
 * here by plain loops over the arrays' bytes. Covers index dtypes and
 * negative positions, axes, layouts of the array and of the positions,
 * broadcasting, positions computed by expressions, fusion (kernels run and
 * scratch bytes counted), the bounds check before any write, empty
 * positions, overlap with the output, axis=None, the gathered dtypes on
 * every ISA the host has, the generated vector code, and the cache key.
 */
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ref_env env;

enum { SENTINEL = -777 };

/* ---- arrays and the reference ---- */

static int64_t read_int(aj_dtype t, const char *p)
{
	int8_t i8; int16_t i16; int32_t i32; int64_t i64;
	uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
	switch (t) {
	case AJ_INT8: memcpy(&i8, p, 1); return i8;
	case AJ_INT16: memcpy(&i16, p, 2); return i16;
	case AJ_INT32: memcpy(&i32, p, 4); return i32;
	case AJ_INT64: memcpy(&i64, p, 8); return i64;
	case AJ_UINT8: memcpy(&u8, p, 1); return u8;
	case AJ_UINT16: memcpy(&u16, p, 2); return u16;
	case AJ_UINT32: memcpy(&u32, p, 4); return u32;
	case AJ_UINT64: memcpy(&u64, p, 8); return (int64_t)u64;
	default: fail_msg("read_int: %s", aj_dtype_name(t));
	}
	return 0;
}

static void write_int(aj_dtype t, char *p, int64_t v)
{
	int8_t i8 = (int8_t)v; int16_t i16 = (int16_t)v; int32_t i32 = (int32_t)v;
	switch (aj_dtype_size(t)) {
	case 1: memcpy(p, &i8, 1); break;
	case 2: memcpy(p, &i16, 2); break;
	case 4: memcpy(p, &i32, 4); break;
	default: memcpy(p, &v, 8); break;
	}
}

/* A new array of integer dtype t and shape holding vals in C order. */
static aj_array *ints(env *E, aj_dtype t, int nd, const int64_t *shape,
		      const int64_t *vals)
{
	aj_array *a;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, t, nd, shape, &a));
	for (int64_t k = 0; k < aj_array_size(a); k++)
		write_int(t, (char *)aj_array_data(a) + k * (int64_t)aj_dtype_size(t), vals[k]);
	return a;
}

static aj_array *ints1(env *E, aj_dtype t, int64_t n, const int64_t *vals)
{
	return ints(E, t, 1, &n, vals);
}

static int64_t offset_of(const aj_array *a, const int64_t *ix)
{
	int64_t off = 0;
	for (int d = 0; d < aj_array_ndim(a); d++)
		off += ix[d] * aj_array_strides(a)[d];
	return off;
}

/* idx's values in C order (any layout), as int64; malloc'd. */
static int64_t *positions(const aj_array *idx)
{
	int64_t n = aj_array_size(idx), ix[AJ_MAX_NDIM] = {0}, k = 0;
	int64_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
	assert_non_null(v);
	if (n == 0)
		return v;
	do
		v[k++] = read_int(aj_array_dtype(idx),
				  (char *)aj_array_data(idx) + offset_of(idx, ix));
	while (ref_next_index(aj_array_ndim(idx), aj_array_shape(idx), ix));
	return v;
}

/* The address of NumPy's take(a, pos, axis)[o], pos of shape (ni, ish). */
static const char *taken_at(const aj_array *a, int axis, int ni,
			    const int64_t *ish, const int64_t *pos,
			    const int64_t *o)
{
	int64_t ix[AJ_MAX_NDIM], flat = 0;
	for (int d = 0; d < axis; d++)
		ix[d] = o[d];
	for (int k = 0; k < ni; k++)
		flat = flat * ish[k] + o[axis + k];
	int64_t p = pos[flat], n = aj_array_shape(a)[axis];
	ix[axis] = p < 0 ? p + n : p;
	assert_true(ix[axis] >= 0 && ix[axis] < n);
	for (int d = axis + 1; d < aj_array_ndim(a); d++)
		ix[d] = o[d - 1 + ni];
	return (const char *)aj_array_data(a) + offset_of(a, ix);
}

/* out is NumPy's take(a, pos, axis), pos of shape (ni, ish): shape and
 * bytes of every element. */
static void check_taken(const aj_array *out, const aj_array *a, int axis,
			int ni, const int64_t *ish, const int64_t *pos)
{
	int nd = aj_array_ndim(out);
	assert_int_equal(nd, aj_array_ndim(a) - 1 + ni);
	for (int d = 0; d < nd; d++) {
		int64_t want = d < axis ? aj_array_shape(a)[d]
			     : d < axis + ni ? ish[d - axis]
					     : aj_array_shape(a)[d - ni + 1];
		assert_int_equal(aj_array_shape(out)[d], want);
	}
	size_t size = aj_dtype_size(aj_array_dtype(a));
	int64_t o[AJ_MAX_NDIM] = {0};
	if (aj_array_size(out) == 0)
		return;
	do {
		const char *got = (const char *)aj_array_data(out) + offset_of(out, o);
		const char *want = taken_at(a, axis, ni, ish, pos, o);
		if (memcmp(got, want, size) != 0) {
			char where[256] = "";
			for (int d = 0; d < nd; d++)
				snprintf(where + strlen(where), sizeof where - strlen(where),
					 "%lld ", (long long)o[d]);
			fail_msg("%s take along axis %d: element (%s) differs",
				 aj_dtype_name(aj_array_dtype(a)), axis, where);
		}
	} while (ref_next_index(nd, aj_array_shape(out), o));
}

/* e assigned into a new C-order array and run. */
static aj_array *eval(env *E, aj_expr e)
{
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(E->p, e, shape);
	assert_true(nd >= 0);
	aj_array *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, aj_expr_dtype(E->p, e), nd, shape, &o));
	REF_OK_PROG(E->p, aj_assign(E->p, o, e));
	REF_OK_PROG(E->p, aj_sync(E->p));
	return o;
}

/* take(a, idx, axis) run and checked against the reference. */
static void check_take(env *E, aj_array *a, aj_array *idx, int axis)
{
	aj_prog *p = E->p;
	aj_array *o = eval(E, aj_take(p, aj_leaf(p, a), aj_leaf(p, idx), axis));
	int64_t *pos = positions(idx);
	int ax = axis < 0 ? axis + aj_array_ndim(a) : axis;
	check_taken(o, a, ax, aj_array_ndim(idx), aj_array_shape(idx), pos);
	free(pos);
	aj_array_free(o);
}

static aj_stats stats(env *E)
{
	aj_stats s;
	aj_ctx_stats(E->ctx, &s);
	return s;
}

static double f64_at(const aj_array *a, int64_t k)
{
	return ((const double *)aj_array_data(a))[k];
}

/* ---- index dtypes, negative positions, axes ---- */

static const aj_dtype index_dtypes[] = {AJ_INT8,  AJ_INT16,  AJ_INT32,  AJ_INT64,
					AJ_UINT8, AJ_UINT16, AJ_UINT32, AJ_UINT64};

/* Positions within [-4, 4) (unsigned ones within [0, 4)): fit every axis
 * of the arrays below. */
static const int64_t signed_pos[8] = {3, -1, 0, -4, 2, 1, -2, 3};
static const int64_t unsigned_pos[8] = {3, 1, 0, 2, 2, 1, 0, 3};

static void test_index_dtypes_and_axes(void **state)
{
	env *E = *state;
	int64_t s2[2] = {5, 4}, s3[3] = {4, 5, 6}, ish[2] = {2, 4};
	aj_array *a2 = ref_filled(E, AJ_FLOAT64, 2, s2), *a3 = ref_filled(E, AJ_FLOAT64, 3, s3);
	for (size_t t = 0; t < sizeof index_dtypes / sizeof index_dtypes[0]; t++) {
		aj_dtype it = index_dtypes[t];
		const int64_t *v = it <= AJ_INT64 ? signed_pos : unsigned_pos;
		aj_array *i1 = ints1(E, it, 7, v), *i2 = ints(E, it, 2, ish, v);
		for (int axis = -1; axis < 2; axis++)
			check_take(E, a2, i1, axis);
		for (int axis = 0; axis < 3; axis++)
			check_take(E, a3, i2, axis);
		aj_array_free(i1);
		aj_array_free(i2);
	}
	aj_array_free(a2);
	aj_array_free(a3);
}

/* ---- layouts of the array and of the positions ---- */

static void test_layouts(void **state)
{
	env *E = *state;
	int64_t s[2] = {6, 5}, is[2] = {2, 4};
	aj_array *base = ref_filled(E, AJ_FLOAT64, 2, s), *views[5];
	aj_slice every2[2] = {{AJ_DEFAULT, AJ_DEFAULT, 2}, AJ_ALL};
	aj_slice odd[2] = {{AJ_DEFAULT, AJ_DEFAULT, -2}, {1, AJ_DEFAULT, 2}};
	views[0] = base;
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, base, every2, &views[1]));
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, base, NULL, &views[2]));
	REF_OK_CTX(E->ctx, aj_view_flip(E->ctx, base, 0, &views[3]));
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, base, odd, &views[4]));
	/* positions within [-2, 2): every axis above has at least 2 */
	static const int64_t v[8] = {1, -1, 0, -2, 1, 0, -1, 1};
	aj_array *i32 = ints1(E, AJ_INT32, 8, v), *i64 = ints(E, AJ_INT64, 2, is, v);
	aj_array *idx[4] = {i32};
	aj_slice step2 = {AJ_DEFAULT, AJ_DEFAULT, 2}, back = {AJ_DEFAULT, AJ_DEFAULT, -1};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, i32, &step2, &idx[1]));
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, i32, &back, &idx[2]));
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, i64, NULL, &idx[3]));
	for (int a = 0; a < 5; a++)
		for (int i = 0; i < 4; i++)
			for (int axis = 0; axis < 2; axis++)
				check_take(E, views[a], idx[i], axis);
	for (int a = 1; a < 5; a++)
		aj_array_free(views[a]);
	for (int i = 1; i < 4; i++)
		aj_array_free(idx[i]);
	aj_array_free(base);
	aj_array_free(i32);
	aj_array_free(i64);
}

/* ---- gathered dtypes, on every ISA the host runs ---- */

static void gathered_dtypes(env *E)
{
	static const aj_dtype types[] = {AJ_BOOL, AJ_INT8, AJ_UINT16, AJ_INT32,
					 AJ_FLOAT32, AJ_FLOAT64, AJ_COMPLEX64,
					 AJ_COMPLEX128};
	int64_t s[2] = {7, 9}, n = 37, v[37], s1 = 63;
	uint64_t seed = 42;
	for (int k = 0; k < 37; k++) /* within [-7, 7): fits both axes */
		v[k] = (int64_t)(ref_rand(&seed) % 14) - 7;
	aj_array *idx = ints1(E, AJ_INT64, n, v);
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		aj_array *a = ref_filled(E, types[t], 2, s), *a1 = ref_filled(E, types[t], 1, &s1);
		check_take(E, a, idx, 0);  /* rows: contiguous loads */
		check_take(E, a, idx, 1);  /* columns: lanes gathered */
		check_take(E, a1, idx, 0); /* 1-D */
		aj_prog *p = E->p;         /* axis=None: a flattened */
		aj_array *o = eval(E, aj_take(p, aj_leaf(p, a), aj_leaf(p, idx), AJ_ALL_AXES));
		int64_t flat = 63;
		aj_array *af;
		REF_OK_CTX(E->ctx, aj_view_reshape(E->ctx, a, 1, &flat, &af));
		check_taken(o, af, 0, 1, &n, v);
		aj_array_free(o);
		aj_array_free(af);
		aj_array_free(a);
		aj_array_free(a1);
	}
	aj_array_free(idx);
}

static void test_gathered_dtypes_each_isa(void **state)
{
	env *E = *state;
	aj_isa host = aj_ctx_isa(E->ctx);
	static const aj_isa isas[] = {AJ_ISA_SCALAR, AJ_ISA_AVX2, AJ_ISA_AVX512};
	int ran = 0;
	for (size_t i = 0; i < 3; i++) {
		if (aj_ctx_set_isa(E->ctx, isas[i]) != AJ_OK)
			continue; /* the host lacks it */
		gathered_dtypes(E);
		ran++;
	}
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	assert_true(ran >= 1);
}

/* ---- fusion ---- */

/* Occurrences of s in text. */
static int count(const char *text, const char *s)
{
	int n = 0;
	for (const char *t = text; (t = strstr(t, s)) != NULL; t += strlen(s))
		n++;
	return n;
}

/* c = take(a, i) * 2 + b is one kernel plus the bounds check (a fill of
 * its flag and the any() pass); the gathered values are never stored: the
 * only scratch is the check's one byte. The same holds for positions
 * computed by an expression, which both passes compute. */
static void test_fused(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t na = 50, n = 1000, v[1000];
	for (int k = 0; k < n; k++)
		v[k] = (k * 7919) % 99 - 49; /* within [-49, 49] */
	aj_array *a = ref_filled(E, AJ_FLOAT64, 1, &na), *b = ref_filled(E, AJ_FLOAT64, 1, &n);
	aj_array *i = ints1(E, AJ_INT32, n, v), *j, *c;
	int64_t jv[1000];
	for (int k = 0; k < n; k++)
		jv[k] = (v[k] + 49) * 3; /* (j // 3) - 49 == v */
	j = ints1(E, AJ_INT16, n, jv);
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &c));
	for (int form = 0; form < 2; form++) {
		aj_expr pos = form == 0 ? aj_leaf(p, i)
			: aj_sub(p, aj_binary(p, AJ_OP_FLOORDIV, aj_leaf(p, j),
					      aj_scalar_i64(p, 3)), aj_scalar_i64(p, 49));
		aj_expr e = aj_add(p, aj_mul(p, aj_take(p, aj_leaf(p, a), pos, 0),
					     aj_scalar_f64(p, 2)), aj_leaf(p, b));
		REF_OK_PROG(p, aj_assign(p, c, e));
		char *text;
		REF_OK_PROG(p, aj_dump(p, AJ_EXPR_NONE, AJ_STAGE_FUSED, &text));
		assert_int_equal(count(text, "kernel "), 3);
		assert_int_equal(count(text, " = take in"), 1);
		assert_int_equal(count(text, "reducing (any)"), 1);
		aj_string_free(text);
		REF_OK_PROG(p, aj_dump(p, AJ_EXPR_NONE, AJ_STAGE_DAG, &text));
		assert_non_null(strstr(text, " = take from float64 (50,) strides (8,) "
					     "axis 0, check %"));
		assert_int_equal(count(text, " = any "), 1);
		aj_string_free(text);
		aj_stats s0 = stats(E);
		REF_OK_PROG(p, aj_sync(p));
		aj_stats s1 = stats(E);
		assert_int_equal(s1.kernels_run - s0.kernels_run, 3);
		assert_int_equal(s1.temp_bytes - s0.temp_bytes, 1);
		assert_int_equal(s1.groups - s0.groups, 1);
		for (int k = 0; k < n; k++) {
			int64_t q = v[k] < 0 ? v[k] + na : v[k];
			assert_true(f64_at(c, k) == f64_at(a, q) * 2 + f64_at(b, k));
		}
	}
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(c);
	aj_array_free(i);
	aj_array_free(j);
}

/* Positions from expressions where the take is along an axis before the
 * last (their subgraph gets trailing axes): arithmetic, a reduction
 * (argmax along an axis) and another take. */
static void test_position_expressions(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {8, 4}, n = 5, sm[2] = {5, 7};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa);
	static const int64_t jv[5] = {0, 7, 3, 10, 5}; /* j - 3: [-3, 7] */
	aj_array *j = ints1(E, AJ_INT16, n, jv);
	int64_t want[5];
	for (int k = 0; k < 5; k++)
		want[k] = jv[k] - 3;
	aj_array *o = eval(E, aj_take(p, aj_leaf(p, a),
				      aj_sub(p, aj_leaf(p, j), aj_scalar_i64(p, 3)), 0));
	check_taken(o, a, 0, 1, &n, want);
	aj_array_free(o);

	aj_array *m = ref_filled(E, AJ_FLOAT64, 2, sm); /* rows increase: argmax 6 */
	double *md = aj_array_data(m);
	md[1 * 7 + 2] = 1e9;
	md[3 * 7 + 0] = 1e9;
	int axis1 = 1;
	aj_expr am = aj_reduce(p, AJ_OP_ARGMAX, aj_leaf(p, m), 1, &axis1, false);
	o = eval(E, aj_take(p, aj_leaf(p, a), am, 0));
	int64_t wam[5] = {6, 2, 6, 0, 6};
	check_taken(o, a, 0, 1, &n, wam);
	aj_array_free(o);

	static const int64_t qv[4] = {2, -1, 0, 1}, rv[3] = {7, -8, 4};
	int64_t nq = 4;
	aj_array *q = ints1(E, AJ_INT8, 4, qv), *r = ints1(E, AJ_INT32, 3, rv);
	aj_expr inner = aj_take(p, aj_leaf(p, r), aj_leaf(p, q), 0);
	o = eval(E, aj_take(p, aj_leaf(p, a), inner, 0));
	int64_t wn[4] = {4, 4, 7, -8};
	check_taken(o, a, 0, 1, &nq, wn);
	aj_array_free(o);
	aj_array_free(a);
	aj_array_free(j);
	aj_array_free(m);
	aj_array_free(q);
	aj_array_free(r);
}

/* ---- broadcasting ---- */

static void test_broadcast(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t na = 9, is[2] = {4, 1}, nb = 3;
	static const int64_t v[4] = {8, -9, 0, 4};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 1, &na), *b = ref_filled(E, AJ_FLOAT64, 1, &nb);
	aj_array *i = ints(E, AJ_INT32, 2, is, v);
	/* (4, 1) positions + (3,) -> (4, 3) */
	aj_array *o = eval(E, aj_add(p, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0),
				     aj_leaf(p, b)));
	assert_int_equal(aj_array_shape(o)[0], 4);
	assert_int_equal(aj_array_shape(o)[1], 3);
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 3; c++)
			assert_true(f64_at(o, r * 3 + c) ==
				    f64_at(a, v[r] < 0 ? v[r] + 9 : v[r]) + f64_at(b, c));
	aj_array_free(o);

	/* take(a2, k, 1) is (5, 3); times a (5, 1) column; into a (2, 5, 3)
	 * output it broadcasts to */
	int64_t s2[2] = {5, 6}, sc[2] = {5, 1}, so[3] = {2, 5, 3}, nk = 3;
	static const int64_t kv[3] = {5, -6, 2};
	aj_array *a2 = ref_filled(E, AJ_FLOAT64, 2, s2), *col = ref_filled(E, AJ_FLOAT64, 2, sc);
	aj_array *k = ints1(E, AJ_UINT8, nk, (const int64_t[]){5, 0, 2}), *k2 = ints1(E, AJ_INT64, nk, kv), *out;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 3, so, &out));
	aj_expr t = aj_add(p, aj_take(p, aj_leaf(p, a2), aj_leaf(p, k), 1),
			   aj_take(p, aj_leaf(p, a2), aj_leaf(p, k2), -1));
	REF_OK_PROG(p, aj_assign(p, out, aj_mul(p, t, aj_leaf(p, col))));
	REF_OK_PROG(p, aj_sync(p));
	for (int d = 0; d < 2; d++)
		for (int r = 0; r < 5; r++)
			for (int c = 0; c < 3; c++) {
				int64_t c2 = kv[c] < 0 ? kv[c] + 6 : kv[c];
				double want = (f64_at(a2, r * 6 + ((int64_t[]){5, 0, 2})[c]) +
					       f64_at(a2, r * 6 + c2)) * f64_at(col, r);
				assert_true(f64_at(out, (d * 5 + r) * 3 + c) == want);
			}
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(i);
	aj_array_free(a2);
	aj_array_free(col);
	aj_array_free(k);
	aj_array_free(k2);
	aj_array_free(out);
}

/* ---- positions out of range: an error, nothing written ---- */

static aj_array *sentinels(env *E, int nd, const int64_t *shape)
{
	aj_array *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, nd, shape, &o));
	for (int64_t k = 0; k < aj_array_size(o); k++)
		((double *)aj_array_data(o))[k] = SENTINEL;
	return o;
}

static void assert_sentinels(const aj_array *o)
{
	for (int64_t k = 0; k < aj_array_size(o); k++)
		assert_true(f64_at(o, k) == SENTINEL);
}

/* out = e fails at aj_sync with s and a message holding frag; out keeps
 * its sentinels; the program works afterwards. */
static void expect_sync_error(env *E, aj_array *out, aj_expr e, aj_status s,
			      const char *frag)
{
	aj_prog *p = E->p;
	REF_OK_PROG(p, aj_assign(p, out, e));
	assert_int_equal(aj_sync(p), s);
	if (!strstr(aj_prog_errmsg(p), frag))
		fail_msg("message '%s' lacks '%s'", aj_prog_errmsg(p), frag);
	assert_sentinels(out);
	REF_OK_PROG(p, aj_assign(p, out, aj_scalar_f64(p, SENTINEL)));
	REF_OK_PROG(p, aj_sync(p));
}

static void test_out_of_range(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {5, 3}, so[2] = {4, 3}, n = 4, one = 1;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *out = sentinels(E, 2, so);
	static const int64_t bad[][4] = {{0, 5, 1, 2}, {0, -6, 1, 2}, {4, 3, 2, 127}};
	static const aj_dtype types[] = {AJ_INT32, AJ_INT64, AJ_INT8};
	for (int k = 0; k < 3; k++) {
		aj_array *i = ints1(E, types[k], n, bad[k]);
		expect_sync_error(E, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0),
				  AJ_ERR_ARG, "index out of bounds for axis 0 with "
				  "size 5: indices must lie in [-5, 5)");
		aj_array_free(i);
	}
	/* 2^63 + 1 as uint64: no wrap into a negative position */
	int64_t huge[4] = {0, INT64_MIN + 1, 1, 2};
	aj_array *u = ints1(E, AJ_UINT64, n, huge);
	expect_sync_error(E, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, u), 0),
			  AJ_ERR_ARG, "[-5, 5)");
	aj_array_free(u);
	/* along axis 1, inside a larger expression, and under a reduction */
	static const int64_t bad1[4] = {0, 2, 3, -1};
	aj_array *i1 = ints1(E, AJ_INT16, n, bad1);
	aj_array *out54 = sentinels(E, 2, (int64_t[]){5, 4});
	expect_sync_error(E, out54, aj_add(p, aj_take(p, aj_leaf(p, a), aj_leaf(p, i1), 1),
					   aj_scalar_f64(p, 1)),
			  AJ_ERR_ARG, "axis 1 with size 3: indices must lie in [-3, 3)");
	aj_array *o0 = sentinels(E, 0, NULL);
	expect_sync_error(E, o0, aj_reduce(p, AJ_OP_SUM,
					   aj_take(p, aj_leaf(p, a), aj_leaf(p, i1), 1),
					   0, NULL, false),
			  AJ_ERR_ARG, "axis 1 with size 3");
	/* a scalar position fails when built */
	aj_expr t = aj_take(p, aj_leaf(p, a), aj_scalar_i64(p, -6), 0);
	assert_int_equal(t.id, AJ_EXPR_NONE.id);
	assert_int_equal(aj_assign(p, out, t), AJ_ERR_BOUNDS);
	assert_non_null(strstr(aj_prog_errmsg(p), "index -6 is out of bounds for axis 0 with size 5"));
	/* in range, it drops the axis: a[-1] */
	aj_array *row = sentinels(E, 1, &sa[1]);
	REF_OK_PROG(p, aj_assign(p, row, aj_take(p, aj_leaf(p, a), aj_scalar_i64(p, -1), 0)));
	REF_OK_PROG(p, aj_sync(p));
	for (int c = 0; c < 3; c++)
		assert_true(f64_at(row, c) == f64_at(a, 12 + c));
	/* the check runs before anything of the sync is written: the
	 * assignment before the failing one has not run */
	aj_array *i = ints1(E, AJ_INT32, n, bad[0]);
	double r0 = f64_at(row, 0);
	REF_OK_PROG(p, aj_assign(p, row, aj_scalar_f64(p, 1)));
	REF_OK_PROG(p, aj_assign(p, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0)));
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	assert_true(f64_at(row, 0) == r0);
	assert_sentinels(out);
	/* also when an earlier assignment of the sync writes the positions:
	 * the check waits for it, and its write is put back */
	aj_array *i2 = ints1(E, AJ_INT64, n, (const int64_t[]){0, 1, 2, 3});
	REF_OK_PROG(p, aj_assign(p, i2, aj_add(p, aj_leaf(p, i2), aj_scalar_i64(p, 3))));
	REF_OK_PROG(p, aj_assign(p, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, i2), 0)));
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	for (int k = 0; k < 4; k++)
		assert_int_equal(((int64_t *)aj_array_data(i2))[k], k);
	assert_sentinels(out);
	aj_array_free(i2);
	(void)one;
	aj_array_free(i);
	aj_array_free(i1);
	aj_array_free(a);
	aj_array_free(out);
	aj_array_free(out54);
	aj_array_free(o0);
	aj_array_free(row);
}

/* A check that must wait for an earlier assignment of its sync (what it
 * checks is computed there) still fails with nothing written: the
 * outputs written before it are put back, element by element, for a
 * take and for an integer power; outputs that are strided views, a
 * reduction's, the same array twice; on the pipeline's path, on a plan's
 * replay, and when the data is fixed the work runs as written. */
static void test_waiting_check_puts_back(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t na = 5, nbuf = 8, n4 = 4;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 1, &na);
	aj_array *buf = ints1(E, AJ_INT64, nbuf, (const int64_t[]){0, 1, 2, 3, 4, 5, 6, 7});
	aj_array *pos; /* buf[::2]: 0, 2, 4, 6 */
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, buf, (aj_slice[]){{AJ_DEFAULT, AJ_DEFAULT, 2}},
					 &pos));
	aj_array *out = sentinels(E, 1, &n4), *sum = sentinels(E, 0, NULL);
	aj_array *base = ints1(E, AJ_INT64, n4, (const int64_t[]){2, 3, 4, 5});
	aj_array *pw = ints1(E, AJ_INT64, n4, (const int64_t[]){-9, -9, -9, -9});
	int64_t *b = aj_array_data(buf), *w = aj_array_data(pw);
	uint64_t replays0 = stats(E).replays;
	for (int round = 0; round < 4; round++) {
		/* sum = sum(pos); pos += 1; out = a[pos] fails at 7 */
		REF_OK_PROG(p, aj_assign(p, sum, aj_reduce(p, AJ_OP_SUM, aj_leaf(p, pos), 0,
							   NULL, false)));
		REF_OK_PROG(p, aj_assign(p, pos, aj_add(p, aj_leaf(p, pos), aj_scalar_i64(p, 1))));
		REF_OK_PROG(p, aj_assign(p, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, pos), 0)));
		REF_OK_PROG(p, aj_assign(p, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, pos), 0)));
		assert_int_equal(aj_sync(p), AJ_ERR_ARG);
		assert_non_null(strstr(aj_prog_errmsg(p), "[-5, 5)"));
		for (int k = 0; k < nbuf; k++)
			assert_int_equal(b[k], k);
		assert_sentinels(out);
		assert_true(f64_at(sum, 0) == SENTINEL);
		/* pw = pw + 7; base ** (pw - 0): the exponent -2 fails */
		REF_OK_PROG(p, aj_assign(p, pw, aj_add(p, aj_leaf(p, pw), aj_scalar_i64(p, 7))));
		REF_OK_PROG(p, aj_assign(p, base, aj_binary(p, AJ_OP_POW, aj_leaf(p, base),
							    aj_leaf(p, pw))));
		assert_int_equal(aj_sync(p), AJ_ERR_ARG);
		assert_non_null(strstr(aj_prog_errmsg(p), "negative integer powers"));
		for (int k = 0; k < 4; k++)
			assert_true(w[k] == -9 && ((int64_t *)aj_array_data(base))[k] == k + 2);
	}
	assert_true(stats(E).replays - replays0 >= 2); /* the plans failed too */
	/* in range, the same work runs as written */
	b[4] = 2;
	b[6] = 3;
	REF_OK_PROG(p, aj_assign(p, sum, aj_reduce(p, AJ_OP_SUM, aj_leaf(p, pos), 0, NULL,
						   false)));
	REF_OK_PROG(p, aj_assign(p, pos, aj_add(p, aj_leaf(p, pos), aj_scalar_i64(p, 1))));
	REF_OK_PROG(p, aj_assign(p, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, pos), 0)));
	REF_OK_PROG(p, aj_sync(p));
	assert_true(f64_at(sum, 0) == 0 + 2 + 2 + 3);
	static const int64_t after[8] = {1, 1, 3, 3, 3, 5, 4, 7};
	for (int k = 0; k < nbuf; k++)
		assert_int_equal(b[k], after[k]);
	for (int k = 0; k < 4; k++)
		assert_true(f64_at(out, k) == f64_at(a, b[2 * k]));
	w[0] = w[1] = w[2] = w[3] = -7;
	REF_OK_PROG(p, aj_assign(p, pw, aj_add(p, aj_leaf(p, pw), aj_scalar_i64(p, 7))));
	REF_OK_PROG(p, aj_assign(p, base, aj_binary(p, AJ_OP_POW, aj_leaf(p, base),
						    aj_leaf(p, pw))));
	REF_OK_PROG(p, aj_sync(p));
	for (int k = 0; k < 4; k++)
		assert_true(w[k] == 0 && ((int64_t *)aj_array_data(base))[k] == 1);
	aj_array_free(a);
	aj_array_free(buf);
	aj_array_free(pos);
	aj_array_free(out);
	aj_array_free(sum);
	aj_array_free(base);
	aj_array_free(pw);
}

/* An assignment that a later one of its group overwrites stores
 * nothing, but its checks still run, as NumPy raises for its statement:
 * out = a[i] with a position out of range, then out = 1, fails and
 * writes nothing (fuzz_api found the check dropped with the store); so
 * does an integer power's. */
static void test_overwritten_still_checked(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t na = 5, n = 4;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 1, &na), *out = sentinels(E, 1, &n);
	aj_array *i = ints1(E, AJ_INT32, n, (const int64_t[]){0, 5, 1, 2});
	aj_array *base = ints1(E, AJ_INT64, n, (const int64_t[]){2, 3, 4, 5});
	aj_array *e = ints1(E, AJ_INT64, n, (const int64_t[]){1, -1, 2, 0});
	REF_OK_PROG(p, aj_assign(p, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0)));
	REF_OK_PROG(p, aj_assign(p, out, aj_scalar_f64(p, 1)));
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "[-5, 5)"));
	assert_sentinels(out);
	REF_OK_PROG(p, aj_assign(p, out, aj_binary(p, AJ_OP_POW, aj_leaf(p, base),
						   aj_leaf(p, e))));
	REF_OK_PROG(p, aj_assign(p, out, aj_scalar_f64(p, 1)));
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "negative integer powers"));
	assert_sentinels(out);
	/* in range, the later store wins */
	((int32_t *)aj_array_data(i))[1] = -5;
	REF_OK_PROG(p, aj_assign(p, out, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0)));
	REF_OK_PROG(p, aj_assign(p, out, aj_scalar_f64(p, 1)));
	REF_OK_PROG(p, aj_sync(p));
	for (int k = 0; k < n; k++)
		assert_true(f64_at(out, k) == 1);
	aj_array_free(a);
	aj_array_free(out);
	aj_array_free(i);
	aj_array_free(base);
	aj_array_free(e);
}

/* A check of the first group that fails before the snapshots of the
 * outputs are taken (guard_outputs) has nothing to put back: a = a[i]
 * with a position out of range, then i = a[a], whose check waits for
 * the first assignment, left a holding the uninitialised snapshot
 * (fuzz_api found it); on a plan's replay too. */
static void test_early_check_puts_nothing_back(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	enum { N = 8 };
	static const int64_t pos[N] = {1, 0, 3, 2, 9, 4, 5, 6};
	aj_array *a = ints1(E, AJ_UINT64, N, (const int64_t[]){0, 1, 2, 3, 4, 5, 6, 7});
	aj_array *i = ints1(E, AJ_UINT16, N, pos);
	uint64_t replays0 = stats(E).replays;
	for (int round = 0; round < 3; round++) {
		REF_OK_PROG(p, aj_assign(p, a, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0)));
		REF_OK_PROG(p, aj_assign(p, i, aj_take(p, aj_leaf(p, a), aj_leaf(p, a), 0)));
		assert_int_equal(aj_sync(p), AJ_ERR_ARG);
		assert_non_null(strstr(aj_prog_errmsg(p), "[-8, 8)"));
		for (int k = 0; k < N; k++) {
			assert_int_equal(((uint64_t *)aj_array_data(a))[k], k);
			assert_int_equal(((uint16_t *)aj_array_data(i))[k], pos[k]);
		}
	}
	assert_true(stats(E).replays - replays0 >= 1);
	aj_array_free(a);
	aj_array_free(i);
}

/* Many positions: the check runs in fixed chunks (fusion rule 4) and on
 * threads; one bad position at the very end is still found first. */
static void test_large(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t na = 1000, n = 300000;
	aj_array *a = ref_filled(E, AJ_FLOAT32, 1, &na), *i, *o;
	int64_t *v = malloc((size_t)n * sizeof *v);
	assert_non_null(v);
	for (int64_t k = 0; k < n; k++)
		v[k] = (k * 7919) % 2000 - 1000;
	i = ints1(E, AJ_INT64, n, v);
	REF_OK_CTX(E->ctx, aj_ctx_set_min_parallel(E->ctx, 1000));
	aj_stats s0 = stats(E);
	o = eval(E, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0));
	check_taken(o, a, 0, 1, &n, v);
	if (aj_ctx_threads(E->ctx) > 1)
		assert_true(stats(E).parallel_runs > s0.parallel_runs);
	float *od = aj_array_data(o);
	for (int64_t k = 0; k < n; k++)
		od[k] = SENTINEL;
	((int64_t *)aj_array_data(i))[n - 1] = 1000;
	REF_OK_PROG(p, aj_assign(p, o, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0)));
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	for (int64_t k = 0; k < n; k++)
		assert_true(od[k] == SENTINEL);
	/* after another assignment, in the same sync: the chunked check and
	 * its partials run first, and nothing is written */
	aj_array *o2;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT32, 1, &n, &o2));
	REF_OK_PROG(p, aj_assign(p, o2, aj_scalar_f64(p, 5)));
	REF_OK_PROG(p, aj_assign(p, o, aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 0)));
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	for (int64_t k = 0; k < n; k++)
		assert_true(od[k] == SENTINEL && ((float *)aj_array_data(o2))[k] == 0);
	aj_array_free(o2);
	REF_OK_CTX(E->ctx, aj_ctx_set_min_parallel(E->ctx, 0));
	free(v);
	aj_array_free(a);
	aj_array_free(i);
	aj_array_free(o);
}

/* ---- empty positions, empty axes ---- */

static void test_empty(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {5, 3}, zero = 0, s0[2] = {0, 3}, s50[2] = {5, 0};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *none = ints1(E, AJ_INT64, 0, NULL);
	aj_array *o = eval(E, aj_take(p, aj_leaf(p, a), aj_leaf(p, none), 0));
	check_taken(o, a, 0, 1, &zero, NULL);
	aj_array_free(o);
	o = eval(E, aj_take(p, aj_leaf(p, a), aj_leaf(p, none), 1));
	assert_int_equal(aj_array_shape(o)[1], 0);
	aj_array_free(o);
	/* from an empty axis: nothing is fine, something is an error */
	aj_array *e0 = ref_filled(E, AJ_FLOAT64, 2, s0), *e1 = ref_filled(E, AJ_FLOAT64, 2, s50);
	o = eval(E, aj_take(p, aj_leaf(p, e0), aj_leaf(p, none), 0));
	assert_int_equal(aj_array_size(o), 0);
	aj_array_free(o);
	static const int64_t v[2] = {1, -2};
	aj_array *i = ints1(E, AJ_INT32, 2, v), *out = sentinels(E, 2, (int64_t[]){2, 3});
	expect_sync_error(E, out, aj_take(p, aj_leaf(p, e0), aj_leaf(p, i), 0), AJ_ERR_ARG,
			  "cannot do a non-empty take from an empty axis (axis 0 has size 0)");
	o = eval(E, aj_take(p, aj_leaf(p, e1), aj_leaf(p, i), 0)); /* (2, 0) */
	assert_int_equal(aj_array_shape(o)[0], 2);
	assert_int_equal(aj_array_size(o), 0);
	aj_array_free(o);
	/* an empty result checks no position, as NumPy's take copies no
	 * element: np.take(zeros((0, 3)), [5], axis=1) has shape (0, 1) */
	static const int64_t far[1] = {5};
	aj_array *f = ints1(E, AJ_INT64, 1, far);
	o = eval(E, aj_take(p, aj_leaf(p, e0), aj_leaf(p, f), 1));
	assert_int_equal(aj_array_ndim(o), 2);
	assert_int_equal(aj_array_shape(o)[0], 0);
	assert_int_equal(aj_array_shape(o)[1], 1);
	aj_array_free(o);
	/* nor does an empty integer power check its exponents: int64 (0,)
	 * ** [-1] and ** -1 are empty, as in NumPy */
	static const int64_t minus[1] = {-1};
	aj_array *m1 = ints1(E, AJ_INT64, 1, minus), *ei = ints1(E, AJ_INT64, 0, NULL);
	o = eval(E, aj_binary(p, AJ_OP_POW, aj_leaf(p, ei), aj_leaf(p, m1)));
	assert_int_equal(aj_array_size(o), 0);
	aj_array_free(o);
	o = eval(E, aj_binary(p, AJ_OP_POW, aj_leaf(p, ei), aj_scalar_i64(p, -1)));
	assert_int_equal(aj_array_size(o), 0);
	aj_array_free(o);
	aj_array_free(f);
	aj_array_free(m1);
	aj_array_free(ei);
	aj_array_free(a);
	aj_array_free(none);
	aj_array_free(e0);
	aj_array_free(e1);
	aj_array_free(i);
	aj_array_free(out);
}

/* ---- axis=None, argument errors ---- */

static void test_flattened_and_arguments(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t s[2] = {4, 6}, n = 5, half = 12;
	static const int64_t v[5] = {11, -12, 0, 7, -1};
	aj_array *a = ref_filled(E, AJ_INT32, 2, s), *i = ints1(E, AJ_INT64, n, v), *ev, *flat;
	aj_slice cols[2] = {AJ_ALL, {AJ_DEFAULT, AJ_DEFAULT, 2}};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, cols, &ev)); /* (4, 3) */
	REF_OK_CTX(E->ctx, aj_view_ravel(E->ctx, ev, &flat));
	aj_array *o = eval(E, aj_take(p, aj_leaf(p, ev), aj_leaf(p, i), AJ_ALL_AXES));
	check_taken(o, flat, 0, 1, &n, v);
	aj_array_free(o);
	(void)half;
	aj_array *at;
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, a, NULL, &at));
	aj_expr t = aj_take(p, aj_leaf(p, at), aj_leaf(p, i), AJ_ALL_AXES);
	assert_int_equal(t.id, AJ_EXPR_NONE.id);
	assert_int_equal(aj_sync(p), AJ_ERR_LAYOUT);
	/* a must be an array; positions of an integer dtype; a valid axis */
	t = aj_take(p, aj_add(p, aj_leaf(p, a), aj_scalar_i64(p, 1)), aj_leaf(p, i), 0);
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "not an expression"));
	t = aj_take(p, aj_leaf(p, a), aj_cast(p, aj_leaf(p, i), AJ_FLOAT64), 0);
	assert_int_equal(aj_sync(p), AJ_ERR_DTYPE);
	t = aj_take(p, aj_leaf(p, a), aj_cast(p, aj_leaf(p, i), AJ_BOOL), 0);
	assert_int_equal(aj_sync(p), AJ_ERR_DTYPE);
	assert_non_null(strstr(aj_prog_errmsg(p), "boolean mask selection is aj_mask_select"));
	t = aj_take(p, aj_leaf(p, a), aj_leaf(p, i), 2);
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	assert_non_null(strstr(aj_prog_errmsg(p), "axis 2 is out of bounds"));
	t = aj_take(p, aj_leaf(p, a), aj_leaf(p, i), -3);
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	assert_int_equal(aj_take(NULL, AJ_EXPR_NONE, AJ_EXPR_NONE, 0).id, 0);
	/* 0-d: a scalar position into 1-D a, and a 0-d a flattened */
	int64_t n5 = 5;
	aj_array *a1 = ref_filled(E, AJ_FLOAT64, 1, &n5), *z = ref_filled(E, AJ_FLOAT64, 0, NULL);
	o = eval(E, aj_take(p, aj_leaf(p, a1), aj_scalar_i64(p, -2), 0));
	assert_int_equal(aj_array_ndim(o), 0);
	assert_true(f64_at(o, 0) == f64_at(a1, 3));
	aj_array_free(o);
	static const int64_t zv[2] = {0, -1};
	aj_array *zi = ints1(E, AJ_INT8, 2, zv);
	o = eval(E, aj_take(p, aj_leaf(p, z), aj_leaf(p, zi), AJ_ALL_AXES));
	assert_true(f64_at(o, 0) == f64_at(z, 0) && f64_at(o, 1) == f64_at(z, 0));
	aj_array_free(o);
	t = aj_take(p, aj_leaf(p, z), aj_leaf(p, zi), 0);
	assert_int_equal(aj_sync(p), AJ_ERR_ARG);
	aj_array_free(a1);
	aj_array_free(z);
	aj_array_free(zi);
	aj_array_free(a);
	aj_array_free(i);
	aj_array_free(ev);
	aj_array_free(flat);
	aj_array_free(at);
}

/* ---- text: a[i], a[:, i], take(...) ---- */

typedef struct names_fx {
	aj_names *ns;
	aj_array *a, *i, *j, *b, *w;
} names_fx;

static void names_setup(env *E, names_fx *fx)
{
	int64_t sa[2] = {5, 4}, sw[4] = {2, 3, 4, 5}, nb = 2;
	static const int64_t iv[3] = {4, -1, 0}, jv[2] = {1, -4};
	fx->a = ref_filled(E, AJ_FLOAT64, 2, sa);
	fx->w = ref_filled(E, AJ_FLOAT64, 4, sw);
	fx->i = ints1(E, AJ_INT32, 3, iv);
	fx->j = ints1(E, AJ_INT8, 2, jv);
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_BOOL, 1, &nb, &fx->b));
	REF_OK_PROG(E->p, aj_names_new(E->p, &fx->ns));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "a", fx->a));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "w", fx->w));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "i", fx->i));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "j", fx->j));
	REF_OK_PROG(E->p, aj_names_set_array(fx->ns, "b", fx->b));
	REF_OK_PROG(E->p, aj_names_set_i64(fx->ns, "k", -2));
}

static void names_teardown(names_fx *fx)
{
	aj_names_free(fx->ns);
	aj_array_free(fx->a);
	aj_array_free(fx->w);
	aj_array_free(fx->i);
	aj_array_free(fx->j);
	aj_array_free(fx->b);
}

/* The value of text's last expression statement. */
static aj_array *exec_value(env *E, names_fx *fx, const char *text)
{
	aj_expr last;
	REF_OK_PROG(E->p, aj_exec(fx->ns, text, &last));
	return eval(E, last);
}

/* text's value is take(view, pos, axis); view made by the caller. */
static void check_text(env *E, names_fx *fx, const char *text, const aj_array *view,
		       int axis, int ni, const int64_t *ish, const int64_t *pos)
{
	aj_array *o = exec_value(E, fx, text);
	check_taken(o, view, axis, ni, ish, pos);
	aj_array_free(o);
}

static void test_text(void **state)
{
	env *E = *state;
	names_fx fx;
	names_setup(E, &fx);
	int64_t n3 = 3, n2 = 2, n0 = 0;
	static const int64_t iv[3] = {4, -1, 0}, jv[2] = {1, -4}, j1[2] = {2, -3};
	check_text(E, &fx, "a[i]", fx.a, 0, 1, &n3, iv);
	check_text(E, &fx, "a[:, j]", fx.a, 1, 1, &n2, jv);
	check_text(E, &fx, "a[..., j]", fx.a, 1, 1, &n2, jv);
	check_text(E, &fx, "take(a, i, axis=0)", fx.a, 0, 1, &n3, iv);
	check_text(E, &fx, "take(a, j, -1)", fx.a, 1, 1, &n2, jv);
	check_text(E, &fx, "t = j + 1; a[:, t]", fx.a, 1, 1, &n2, j1);
	check_text(E, &fx, "a[k]", fx.a, 0, 0, NULL, (const int64_t[]){-2});
	aj_array *v;
	aj_slice from1[2] = {{1, AJ_DEFAULT, 1}, AJ_ALL};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, fx.a, from1, &v));
	check_text(E, &fx, "a[1:, j + 1]", v, 1, 1, &n2, j1);
	aj_array_free(v);
	REF_OK_CTX(E->ctx, aj_view_index(E->ctx, fx.a, 0, 2, &v));
	check_text(E, &fx, "a[2, j]", v, 0, 1, &n2, jv);
	check_text(E, &fx, "a[-3, ..., j]", v, 0, 1, &n2, jv);
	aj_array_free(v);
	REF_OK_CTX(E->ctx, aj_view_index(E->ctx, fx.a, 1, 3, &v));
	check_text(E, &fx, "a[i, 3]", v, 0, 1, &n3, iv);
	aj_array_free(v);
	REF_OK_CTX(E->ctx, aj_view_expand_dims(E->ctx, fx.a, 0, &v));
	check_text(E, &fx, "a[None, j]", v, 1, 1, &n2, jv);
	aj_array_free(v);
	REF_OK_CTX(E->ctx, aj_view_flip(E->ctx, fx.a, 0, &v));
	check_text(E, &fx, "flip(a, 0)[i]", v, 0, 1, &n3, iv);
	check_text(E, &fx, "a[::-1][i[:0]]", v, 0, 1, &n0, NULL);
	aj_array_free(v);
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, fx.a, NULL, &v));
	check_text(E, &fx, "a.T[j]", v, 0, 1, &n2, jv);
	aj_array_free(v);
	/* a slice between the index array and the integer: NumPy puts the
	 * array's axes first, which is where a take along axis 0 puts them */
	REF_OK_CTX(E->ctx, aj_view_index(E->ctx, fx.w, 2, 0, &v));
	check_text(E, &fx, "w[j % 2, :, 0]", v, 0, 1, &n2, (const int64_t[]){1, 0});
	aj_array_free(v);
	/* a flattened */
	aj_array *flat;
	REF_OK_CTX(E->ctx, aj_view_ravel(E->ctx, fx.a, &flat));
	check_text(E, &fx, "take(a, i)", flat, 0, 1, &n3, iv);
	check_text(E, &fx, "take(a, i * 3, axis=None)", flat, 0, 1, &n3,
		   (const int64_t[]){12, -3, 0});
	aj_array_free(flat);
	/* views of a take: of its array and of its positions (exprview.c) */
	check_text(E, &fx, "a[i][0]", fx.a, 0, 0, NULL, (const int64_t[]){4});
	REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, fx.a, NULL, &v));
	check_text(E, &fx, "a[i].T", v, 1, 1, &n3, iv);
	aj_array_free(v);
	REF_OK_CTX(E->ctx, aj_view_flip(E->ctx, fx.a, 1, &v));
	check_text(E, &fx, "flip(a[i])", v, 0, 1, &n3, (const int64_t[]){0, -1, 4});
	aj_array_free(v);
	aj_slice cols[2] = {AJ_ALL, {1, 3, 1}};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, fx.a, cols, &v));
	check_text(E, &fx, "(a[i] + 0)[::2, 1:3]", v, 0, 1, &n2, (const int64_t[]){4, 0});
	aj_array_free(v);
	names_teardown(&fx);
}

static const struct text_error {
	const char *text;
	aj_status status;
	const char *frag;
} text_errors[] = {
    {"a[i] = 1", AJ_ERR_PARSE, "line 1, column 3: assignment through an index array"},
    {"a[i] += 1", AJ_ERR_PARSE, "assignment through an index array"},
    {"a[i, j]", AJ_ERR_PARSE, "line 1, column 6: only one index array per subscript"},
    {"w[:, j % 2, :, 0]", AJ_ERR_PARSE, "integer indices apart"},
    {"a[b]", AJ_ERR_SHAPE, "boolean index did not match indexed array along dimension 0"},
    {"a[i + 0.5]", AJ_ERR_DTYPE, "not an array of float64"},
    {"a[i][0, 0, 0]", AJ_ERR_BOUNDS, "line 1, column 5: too many indices"},
    {"take(a[i], i)", AJ_ERR_ARG, "the array taken from must be an array"},
    {"a[i, 0, 0]", AJ_ERR_BOUNDS, "too many indices"},
    {"take(a + 1, i)", AJ_ERR_ARG, "line 1, column 1: take: the array taken from must be an array"},
    {"take(a, i, axis=2)", AJ_ERR_ARG, "axis 2 is out of bounds"},
    {"take(a, i, axis=)", AJ_ERR_PARSE, "expected an axis number"},
    {"take(a i)", AJ_ERR_PARSE, "expected ',' and the indices"},
    {"take(a, i, 0", AJ_ERR_PARSE, "expected ')'"},
    {"a[7]", AJ_ERR_BOUNDS, "index 7 is out of bounds"},
    {"a[k * 5]", AJ_ERR_BOUNDS, "take: index -10 is out of bounds for axis 0 with size 5"},
};

static void test_text_errors(void **state)
{
	env *E = *state;
	names_fx fx;
	names_setup(E, &fx);
	for (size_t k = 0; k < sizeof text_errors / sizeof text_errors[0]; k++) {
		const struct text_error *te = &text_errors[k];
		aj_expr last;
		aj_status s = aj_exec(fx.ns, te->text, &last);
		if (s != te->status || !strstr(aj_prog_errmsg(E->p), te->frag))
			fail_msg("'%s': status %d, message '%s'; want %d, '%s'", te->text,
				 (int)s, aj_prog_errmsg(E->p), (int)te->status, te->frag);
	}
	/* positions known only when it runs */
	aj_expr last;
	REF_OK_PROG(E->p, aj_exec(fx.ns, "a[i * 10]", &last));
	aj_array *out = sentinels(E, 2, (int64_t[]){3, 4});
	expect_sync_error(E, out, last, AJ_ERR_ARG, "axis 0 with size 5");
	aj_array_free(out);
	names_teardown(&fx);
}

/* aj_parse binds names to expressions: take() works there, and so does
 * a[i] of a name bound to an array's leaf. */
static void test_parse(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {5, 4}, n = 3;
	static const int64_t iv[3] = {-5, 2, 4};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *i = ints1(E, AJ_UINT8, n, (const int64_t[]){0, 2, 4});
	aj_array *i2 = ints1(E, AJ_INT64, n, iv);
	const char *names[] = {"a", "i", "q"};
	aj_expr vals[] = {aj_leaf(p, a), aj_leaf(p, i), aj_leaf(p, i2)}, e;
	REF_OK_PROG(p, aj_parse(p, "take(a, q, 0) - take(a, i, axis=0)", 3, names, vals, &e));
	aj_array *o = eval(E, e);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 4; c++)
			assert_true(f64_at(o, r * 4 + c) ==
				    f64_at(a, ((iv[r] + 5) % 5) * 4 + c) -
				    f64_at(a, (2 * r) * 4 + c));
	aj_array_free(o);
	vals[0] = aj_leaf(p, a);
	vals[1] = aj_leaf(p, i);
	vals[2] = aj_leaf(p, i2);
	REF_OK_PROG(p, aj_parse(p, "a[q]", 3, names, vals, &e));
	o = eval(E, e);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 4; c++)
			assert_true(f64_at(o, r * 4 + c) ==
				    f64_at(a, ((iv[r] + 5) % 5) * 4 + c));
	aj_array_free(o);
	aj_array_free(a);
	aj_array_free(i);
	aj_array_free(i2);
}

/* ---- overlap of the output with an array gathered from ---- */

static void test_overlap(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t sa[2] = {4, 3}, n = 4;
	static const int64_t rv[4] = {3, 2, 0, 0};
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *r = ints1(E, AJ_INT64, n, rv);
	double before[12];
	memcpy(before, aj_array_data(a), sizeof before);
	/* aj_assign: NumPy's result, as if a[r] were read first, even as the
	 * identical view: the take reads a copy of a's bytes (alias.c) */
	aj_stats s0, s1;
	aj_ctx_stats(E->ctx, &s0);
	REF_OK_PROG(p, aj_assign(p, a, aj_take(p, aj_leaf(p, a), aj_leaf(p, r), 0)));
	REF_OK_PROG(p, aj_sync(p));
	aj_ctx_stats(E->ctx, &s1);
	for (int k = 0; k < 4; k++)
		for (int c = 0; c < 3; c++)
			assert_true(f64_at(a, k * 3 + c) == before[rv[k] * 3 + c]);
	/* the copy, and the range check's flag */
	assert_int_equal(s1.temp_bytes - s0.temp_bytes, sizeof before + 1);
	memcpy(aj_array_data(a), before, sizeof before);
	aj_array *tail;
	aj_slice from1[2] = {{1, AJ_DEFAULT, 1}, AJ_ALL};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, from1, &tail));
	aj_array *r3 = ints1(E, AJ_INT64, 3, rv); /* a[1:] = a[[3, 2, 0]] + 1 */
	REF_OK_PROG(p, aj_assign(p, tail, aj_add(p, aj_take(p, aj_leaf(p, a),
							    aj_leaf(p, r3), 0),
						 aj_scalar_f64(p, 1))));
	REF_OK_PROG(p, aj_sync(p));
	aj_array_free(r3);
	for (int k = 0; k < 3; k++)
		for (int c = 0; c < 3; c++)
			assert_true(f64_at(a, (k + 1) * 3 + c) == before[rv[k] * 3 + c] + 1);
	assert_true(f64_at(a, 0) == before[0]);
	memcpy(aj_array_data(a), before, sizeof before);
	/* a gather from a disjoint part copies nothing */
	aj_array *head;
	aj_slice to2[2] = {{AJ_DEFAULT, 2, 1}, AJ_ALL}, from2[2] = {{2, AJ_DEFAULT, 1}, AJ_ALL};
	aj_array *rest;
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, to2, &head));
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, from2, &rest));
	aj_array *r2 = ints1(E, AJ_INT64, 2, (const int64_t[]){1, 0});
	aj_ctx_stats(E->ctx, &s0);
	REF_OK_PROG(p, aj_assign(p, head, aj_take(p, aj_leaf(p, rest), aj_leaf(p, r2), 0)));
	REF_OK_PROG(p, aj_sync(p));
	aj_ctx_stats(E->ctx, &s1);
	assert_int_equal(s1.temp_bytes - s0.temp_bytes, 1); /* the check's */
	assert_true(f64_at(a, 0) == before[9] && f64_at(a, 3) == before[6]);
	memcpy(aj_array_data(a), before, sizeof before);
	aj_array_free(r2);
	aj_array_free(head);
	aj_array_free(rest);
	/* the positions themselves may be the output: each is read first */
	int64_t nx = 6;
	static const int64_t xv[6] = {50, 51, 52, 53, 3, 1}, pv[4] = {5, -2, 0, 4};
	aj_array *x = ints1(E, AJ_INT64, nx, xv), *pos = ints1(E, AJ_INT64, n, pv);
	REF_OK_PROG(p, aj_assign(p, pos, aj_take(p, aj_leaf(p, x), aj_leaf(p, pos), 0)));
	REF_OK_PROG(p, aj_sync(p));
	static const int64_t want[4] = {1, 3, 50, 3};
	assert_memory_equal(aj_array_data(pos), want, sizeof want);

	/* aj_exec copies first, as NumPy: a[:] = a[r] */
	aj_names *ns;
	REF_OK_PROG(p, aj_names_new(p, &ns));
	REF_OK_PROG(p, aj_names_set_array(ns, "a", a));
	REF_OK_PROG(p, aj_names_set_array(ns, "r", r));
	REF_OK_PROG(p, aj_exec(ns, "t = a[r[::-1]] + 0; a[:] = a[r]; u = t", NULL));
	REF_OK_PROG(p, aj_sync(p));
	for (int k = 0; k < 4; k++)
		for (int c = 0; c < 3; c++)
			assert_true(f64_at(a, k * 3 + c) == before[rv[k] * 3 + c]);
	/* a lazy value gathering from a is computed before a is written */
	memcpy(aj_array_data(a), before, sizeof before);
	aj_expr last;
	REF_OK_PROG(p, aj_exec(ns, "t = a[r]; a[...] = 0; t", &last));
	aj_array *o = eval(E, last);
	for (int k = 0; k < 12; k++)
		assert_true(f64_at(o, k) == before[rv[k / 3] * 3 + k % 3]);
	assert_true(f64_at(a, 5) == 0);
	aj_array_free(o);
	aj_names_free(ns);
	aj_array_free(tail);
	aj_array_free(a);
	aj_array_free(r);
	aj_array_free(x);
	aj_array_free(pos);
}

/* Rule 5: an assignment writing an array an earlier one gathers from,
 * or gathering from one an earlier one writes, starts a new group, so
 * the result is the statements' in order. */
static void test_groups(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	int64_t n = 64, rv[64];
	for (int k = 0; k < 64; k++)
		rv[k] = 63 - k;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 1, &n), *r = ints1(E, AJ_INT32, n, rv), *o;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 1, &n, &o));
	double before[64];
	memcpy(before, aj_array_data(a), sizeof before);
	REF_OK_PROG(p, aj_assign(p, o, aj_take(p, aj_leaf(p, a), aj_leaf(p, r), 0)));
	REF_OK_PROG(p, aj_assign(p, a, aj_mul(p, aj_leaf(p, a), aj_scalar_f64(p, 0))));
	char *text;
	REF_OK_PROG(p, aj_dump(p, AJ_EXPR_NONE, AJ_STAGE_FUSED, &text));
	assert_non_null(strstr(text, "ends: overlap: writes an earlier input"));
	aj_string_free(text);
	REF_OK_PROG(p, aj_sync(p));
	for (int k = 0; k < 64; k++) {
		assert_true(f64_at(o, k) == before[63 - k]);
		assert_true(f64_at(a, k) == 0);
	}
	memcpy(aj_array_data(a), before, sizeof before);
	REF_OK_PROG(p, aj_assign(p, a, aj_add(p, aj_leaf(p, a), aj_scalar_f64(p, 1))));
	REF_OK_PROG(p, aj_assign(p, o, aj_take(p, aj_leaf(p, a), aj_leaf(p, r), 0)));
	REF_OK_PROG(p, aj_sync(p));
	for (int k = 0; k < 64; k++)
		assert_true(f64_at(o, k) == before[63 - k] + 1);
	aj_array_free(a);
	aj_array_free(r);
	aj_array_free(o);
}

/* ---- the generated code and the cache ---- */

/* With AVX2: columns gathered with llvm.masked.gather (vgatherqpd), the
 * arithmetic around it still in <4 x double>; rows read with plain vector
 * loads. */
static void test_vector_code(void **state)
{
	env *E = *state;
	aj_prog *p = E->p;
	aj_isa host = aj_ctx_isa(E->ctx);
	if (ref_valgrind() || aj_ctx_set_isa(E->ctx, AJ_ISA_AVX2) != AJ_OK)
		skip();
	int64_t sa[2] = {50, 30}, n = 40;
	aj_array *a = ref_filled(E, AJ_FLOAT64, 2, sa), *b = ref_filled(E, AJ_FLOAT64, 1, &n);
	int64_t v[40];
	for (int k = 0; k < 40; k++)
		v[k] = (k * 7) % 30;
	aj_array *idx = ints1(E, AJ_INT32, n, v);
	aj_expr cols = aj_add(p, aj_mul(p, aj_take(p, aj_leaf(p, a), aj_leaf(p, idx), 1),
					aj_scalar_f64(p, 2)), aj_leaf(p, b));
	char *text;
	REF_OK_PROG(p, aj_dump(p, cols, AJ_STAGE_OPT, &text));
	assert_non_null(strstr(text, "@llvm.masked.gather.v4f64.v4p0("));
	assert_non_null(strstr(text, "fmul <4 x double>"));
	assert_non_null(strstr(text, "fadd <4 x double>"));
	aj_string_free(text);
	REF_OK_PROG(p, aj_dump(p, cols, AJ_STAGE_ASM, &text));
	assert_non_null(strstr(text, "vgatherqpd"));
	aj_string_free(text);
	aj_expr rows = aj_take(p, aj_leaf(p, a), aj_leaf(p, idx), 0);
	REF_OK_PROG(p, aj_dump(p, rows, AJ_STAGE_OPT, &text));
	assert_null(strstr(text, "masked.gather"));
	assert_non_null(strstr(text, "load <4 x double>"));
	aj_string_free(text);
	REF_OK_PROG(p, aj_sync(p));
	REF_OK_CTX(E->ctx, aj_ctx_set_isa(E->ctx, host));
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(idx);
}

/* The length and stride of the axis are parameters: takes from arrays
 * of other shapes reuse the kernels. */
static void test_cache_key(void **state)
{
	env *E = *state;
	int64_t s1[2] = {5, 3}, s2[2] = {9, 7};
	static const int64_t v[6] = {4, -5, 0, 1, 2, -1};
	aj_array *a1 = ref_filled(E, AJ_FLOAT64, 2, s1), *a2 = ref_filled(E, AJ_FLOAT64, 2, s2);
	aj_array *i1 = ints1(E, AJ_INT32, 4, v), *i2 = ints1(E, AJ_INT32, 6, v);
	check_take(E, a1, i1, 0);
	aj_stats s0 = stats(E);
	check_take(E, a2, i2, 0);
	aj_stats s = stats(E);
	assert_int_equal(s.kernels_compiled, s0.kernels_compiled);
	assert_true(s.cache_hits > s0.cache_hits);
	aj_array_free(a1);
	aj_array_free(a2);
	aj_array_free(i1);
	aj_array_free(i2);
}

/* Taking rows of an array whose rows run backwards (stride -itemsize):
 * vector loads and gathers must walk down, per lane. The scalar
 * position's offset is one for every lane (a vector load), the array
 * positions' differ per element along the row when broadcast across it
 * (a gather). Rows are long enough for the vector body on every ISA. */
static void test_backwards_rows(void **state)
{
	env *E = *state;
	int64_t sa[2] = {7, 45}, n4 = 4;
	static const int64_t iv[4] = {3, -1, 0, 6};
	aj_dtype types[] = {AJ_FLOAT64, AJ_FLOAT32, AJ_INT16, AJ_COMPLEX64};
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		aj_array *a = ref_filled(E, types[t], 2, sa), *f, *i = ints1(E, AJ_INT64, 4, iv);
		REF_OK_CTX(E->ctx, aj_view_flip(E->ctx, a, 1, &f));
		aj_array *o = eval(E, aj_take(E->p, aj_leaf(E->p, f), aj_leaf(E->p, i), 0));
		check_taken(o, f, 0, 1, &n4, iv);
		aj_array_free(o);
		o = eval(E, aj_take(E->p, aj_leaf(E->p, f), aj_scalar_i64(E->p, -2), 0));
		check_taken(o, f, 0, 0, NULL, (const int64_t[]){-2});
		aj_array_free(o);
		/* positions varying along the row: a column index per element */
		int64_t row[45];
		for (int k = 0; k < 45; k++)
			row[k] = (k * 7) % 45 - 20;
		aj_array *j = ints1(E, AJ_INT64, 45, row), *ft;
		REF_OK_CTX(E->ctx, aj_view_permute(E->ctx, f, NULL, &ft));
		/* ft is (45, 7); take along axis 0 with 45 positions, then the
		 * diagonal-free check: o[k, c] = ft[row[k], c] */
		o = eval(E, aj_take(E->p, aj_leaf(E->p, ft), aj_leaf(E->p, j), 0));
		int64_t n45 = 45;
		check_taken(o, ft, 0, 1, &n45, row);
		aj_array_free(o);
		aj_array_free(ft);
		aj_array_free(j);
		aj_array_free(f);
		aj_array_free(a);
		aj_array_free(i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ref_env_setup, ref_env_teardown)
	    T(test_index_dtypes_and_axes),
	    T(test_layouts),
	    T(test_gathered_dtypes_each_isa),
	    T(test_fused),
	    T(test_position_expressions),
	    T(test_broadcast),
	    T(test_out_of_range),
	    T(test_waiting_check_puts_back),
	    T(test_overwritten_still_checked),
	    T(test_early_check_puts_nothing_back),
	    T(test_large),
	    T(test_empty),
	    T(test_flattened_and_arguments),
	    T(test_text),
	    T(test_text_errors),
	    T(test_parse),
	    T(test_overlap),
	    T(test_groups),
	    T(test_vector_code),
	    T(test_cache_key),
	    T(test_backwards_rows),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
