/*
 * .npy files: round trips of every dtype and layout; Fortran-order,
 * big-endian, 2.0 and 3.0 files; and hostile input, which must give an
 * error, never a crash or a leak (the ASan build runs this).
 *
 * Element i (C order) of every test array is value_at(dtype, i), a formula
 * tests/npy_ref.py mirrors: when python3 and NumPy are installed, NumPy
 * writes files for us to load and checks the files we save, byte for byte
 * against np.save. Hand-made files in memory cover what NumPy would never
 * write.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "ref.h"

#include "alloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 512

static char sentinel_byte;
#define SENTINEL ((aj_array *)&sentinel_byte)

typedef struct env {
	aj_ctx *ctx;
	char dir[64]; /* a fresh temporary directory */
} env;

typedef struct shape_case {
	const char *name; /* as in npy_ref.py's SHAPES */
	int ndim;
	int64_t shape[3];
} shape_case;

static const shape_case shapes[] = {
    {"s0", 0, {0}},
    {"s1", 1, {7}},
    {"s3", 3, {2, 3, 4}},
    {"e", 3, {3, 0, 2}},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

/* ---- fixture ----------------------------------------------------------- */

static int setup(void **state)
{
	env *E = calloc(1, sizeof *E);
	if (!E || aj_ctx_new(&E->ctx) != AJ_OK)
		return -1;
	strcpy(E->dir, "/tmp/aj_npy_XXXXXX");
	if (!mkdtemp(E->dir))
		return -1;
	*state = E;
	return 0;
}

/* Entries in dir, not counting . and ..; removes them if rm. */
static int dir_entries(const char *dir, bool rm)
{
	char p[PATH_LEN];
	int n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (rm && unlink(p) != 0)
			rmdir(p);
	}
	closedir(d);
	return n;
}

static int teardown(void **state)
{
	env *E = *state;
	dir_entries(E->dir, true);
	rmdir(E->dir);
	aj_ctx_free(E->ctx);
	free(E);
	return 0;
}

static const char *path_in(const env *E, const char *name, char *buf)
{
	snprintf(buf, PATH_LEN, "%s/%s", E->dir, name);
	return buf;
}

/* ---- values ------------------------------------------------------------ */

static int dsize(aj_dtype t)
{
	return (int)aj_dtype_size(t);
}

static char dkind(aj_dtype t)
{
	static const char kinds[] = {
#define X(id, name, size, kind) kind,
	    AJ_DTYPE_TABLE(X)
#undef X
	};
	return kinds[t];
}

/* The low size bytes of h, as an integer of that size. */
static void put_uint(unsigned char *dst, uint64_t h, int size)
{
	uint8_t u8 = (uint8_t)h;
	uint16_t u16 = (uint16_t)h;
	uint32_t u32 = (uint32_t)h;
	const void *src = size == 1   ? (const void *)&u8
			  : size == 2 ? (const void *)&u16
			  : size == 4 ? (const void *)&u32
				      : (const void *)&h;
	memcpy(dst, src, (size_t)size);
}

static void put_float(unsigned char *dst, double v, int size)
{
	float f = (float)v;
	if (size == 4)
		memcpy(dst, &f, 4);
	else
		memcpy(dst, &v, 8);
}

/* Element i of every test array, as native bytes (see npy_ref.py). */
static void value_at(aj_dtype t, int64_t i, unsigned char *dst)
{
	uint64_t h = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15u;
	double re = (double)((int64_t)(h >> 41) - (1 << 22)) / 64;
	double im = (double)((int64_t)(h >> 8 & 0x7fffff) - (1 << 22)) / 32;
	int size = dsize(t);
	switch (dkind(t)) {
	case 'b':
		dst[0] = (unsigned char)(h >> 63);
		break;
	case 'i':
	case 'u':
		put_uint(dst, h, size);
		break;
	case 'f':
		put_float(dst, re, size);
		break;
	default:
		put_float(dst, re, size / 2);
		put_float(dst + size / 2, im, size / 2);
	}
}

static int64_t count(int ndim, const int64_t *shape)
{
	int64_t n = 1;
	for (int k = 0; k < ndim; k++)
		n *= shape[k];
	return n;
}

/* Element flat (C order) of a non-empty a, through a's strides. */
static const unsigned char *elem(const aj_array *a, int64_t flat)
{
	const unsigned char *p = aj_array_data(a);
	const int64_t *shape = aj_array_shape(a), *st = aj_array_strides(a);
	for (int k = aj_array_ndim(a) - 1; k >= 0; k--) {
		p += flat % shape[k] * st[k];
		flat /= shape[k];
	}
	return p;
}

/* An owned array of dtype t and the given shape holding the test values. */
static aj_array *make(aj_ctx *ctx, aj_dtype t, int ndim, const int64_t *shape)
{
	aj_array *a = NULL;
	REF_OK_CTX(ctx, aj_array_new(ctx, t, ndim, shape, &a));
	unsigned char *p = aj_array_data(a);
	for (int64_t i = 0; i < count(ndim, shape); i++)
		value_at(t, i, p + i * dsize(t));
	return a;
}

static void assert_values(const aj_array *a, aj_dtype t)
{
	unsigned char want[16];
	assert_int_equal(aj_array_dtype(a), t);
	int64_t n = count(aj_array_ndim(a), aj_array_shape(a));
	for (int64_t i = 0; i < n; i++) {
		value_at(t, i, want);
		if (memcmp(elem(a, i), want, (size_t)dsize(t)) != 0)
			fail_msg("%s element %lld differs", aj_dtype_name(t),
				 (long long)i);
	}
}

static void assert_same(const aj_array *a, const aj_array *b)
{
	int nd = aj_array_ndim(a);
	assert_int_equal(aj_array_dtype(a), aj_array_dtype(b));
	assert_int_equal(nd, aj_array_ndim(b));
	for (int k = 0; k < nd; k++)
		assert_int_equal(aj_array_shape(a)[k], aj_array_shape(b)[k]);
	int64_t n = count(nd, aj_array_shape(a));
	for (int64_t i = 0; i < n; i++)
		assert_memory_equal(elem(a, i), elem(b, i),
				    dsize(aj_array_dtype(a)));
}

/* a has the strides aj_array_new gives (fortran: of the reversed shape,
 * reversed); zero extents count as one, as in NumPy. */
static void assert_strides(const aj_array *a, bool fortran)
{
	int nd = aj_array_ndim(a);
	const int64_t *shape = aj_array_shape(a);
	int64_t sd = dsize(aj_array_dtype(a));
	for (int j = 0; j < nd; j++) {
		int k = fortran ? j : nd - 1 - j;
		assert_int_equal(aj_array_strides(a)[k], sd);
		if (shape[k])
			sd *= shape[k];
	}
}

static aj_array *save_load(env *E, const aj_array *a, const char *name)
{
	char p[PATH_LEN];
	aj_array *b = NULL;
	REF_OK_CTX(E->ctx, aj_npy_save(E->ctx, path_in(E, name, p), a));
	REF_OK_CTX(E->ctx, aj_npy_load(E->ctx, p, &b));
	return b;
}

/* ---- files in memory --------------------------------------------------- */

/* A .npy file: the preamble of version major.0, ndict bytes of header text
 * as given (no padding), then ndata bytes of data. Free with free(). */
static unsigned char *mk_raw(int major, const char *dict, size_t ndict,
			     const void *data, size_t ndata, size_t *len)
{
	size_t hoff = major == 1 ? 10 : 12;
	unsigned char *f = malloc(hoff + ndict + ndata + 1);
	assert_non_null(f);
	memcpy(f, "\x93NUMPY", 6);
	f[6] = (unsigned char)major;
	f[7] = 0;
	for (size_t k = 8; k < hoff; k++)
		f[k] = (unsigned char)(ndict >> 8 * (k - 8));
	memcpy(f + hoff, dict, ndict);
	if (ndata)
		memcpy(f + hoff + ndict, data, ndata);
	*len = hoff + ndict + ndata;
	return f;
}

static unsigned char *mk_file(int major, const char *dict, const void *data,
			      size_t ndata, size_t *len)
{
	return mk_raw(major, dict, strlen(dict), data, ndata, len);
}

/* Loads buf[0 .. len) from a copy of exactly len bytes, so that ASan sees
 * any read past the end. */
static aj_status load_exact(aj_ctx *ctx, const unsigned char *buf, size_t len,
			    aj_array **out)
{
	unsigned char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	aj_status st = aj_npy_load_mem(ctx, copy, len, "mem.npy", out);
	free(copy);
	return st;
}

/* The test values of shape as a file stores them: in Fortran order if
 * fortran, each unit-byte part of each element byte-reversed if swap. */
static unsigned char *file_data(aj_dtype t, int ndim, const int64_t *shape,
				bool fortran, bool swap, size_t *n)
{
	int64_t size = count(ndim, shape), isz = dsize(t);
	int unit = dkind(t) == 'c' ? dsize(t) / 2 : dsize(t);
	unsigned char *d = malloc((size_t)(size * isz) + 1);
	assert_non_null(d);
	for (int64_t i = 0; i < size; i++) {
		/* pos: where C-order element i sits in Fortran order */
		int64_t pos = 0, rest = i, step = 1, idx[AJ_MAX_NDIM];
		for (int k = ndim - 1; k >= 0; k--) {
			idx[k] = rest % shape[k];
			rest /= shape[k];
		}
		for (int k = 0; k < ndim; k++) {
			pos += idx[k] * step;
			step *= shape[k];
		}
		unsigned char *e = d + (fortran ? pos : i) * isz;
		value_at(t, i, e);
		for (int u = 0; swap && u < isz; u += unit)
			for (int lo = u, hi = u + unit - 1; lo < hi;
			     lo++, hi--) {
				unsigned char c = e[lo];
				e[lo] = e[hi];
				e[hi] = c;
			}
	}
	*n = (size_t)(size * isz);
	return d;
}

static void descr_of(aj_dtype t, char order, char *buf)
{
	sprintf(buf, "%c%c%d", order, dkind(t), dsize(t));
}

static const char *shape_text(int ndim, const int64_t *shape, char *buf)
{
	int n = sprintf(buf, "(");
	for (int k = 0; k < ndim; k++)
		n += sprintf(buf + n, "%lld, ", (long long)shape[k]);
	sprintf(buf + n, ")");
	return buf;
}

/* Loads a hand-made file of t's test values; checks values and strides. */
static void check_made(aj_ctx *ctx, aj_dtype t, const char *descr, int ndim,
		       const int64_t *shape, bool fortran, bool swap)
{
	char dict[256], st[128];
	size_t nd, len;
	aj_array *a = NULL;
	unsigned char *d = file_data(t, ndim, shape, fortran, swap, &nd);
	snprintf(dict, sizeof dict,
		 "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }\n", descr,
		 fortran ? "True" : "False", shape_text(ndim, shape, st));
	unsigned char *f = mk_file(1, dict, d, nd, &len);
	REF_OK_CTX(ctx, load_exact(ctx, f, len, &a));
	assert_values(a, t);
	assert_strides(a, fortran);
	aj_array_free(a);
	free(f);
	free(d);
}

/* ---- round trips ------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	env *E = *state;
	for (int t = 0; t < AJ_NDTYPE; t++)
		for (int s = 0; s < NSHAPES; s++) {
			const shape_case *c = &shapes[s];
			aj_array *a = make(E->ctx, t, c->ndim, c->shape);
			aj_array *b = save_load(E, a, "rt.npy");
			assert_same(a, b);
			assert_values(b, t);
			assert_strides(b, false);
			aj_array_free(a);
			aj_array_free(b);
		}
	assert_int_equal(dir_entries(E->dir, false), 1);
}

/* The views the NumPy check also gets (npy_ref.py's cases()): case T, R, B
 * or I of a (3, 4, 5) array of the test values. */
static aj_array *make_view(aj_ctx *ctx, aj_dtype t, char which)
{
	int64_t shape[3] = {3, 4, 5}, n4 = 4, bshape[2] = {3, 4};
	aj_slice s[3] = {{AJ_DEFAULT, AJ_DEFAULT, -1},
			 {1, 4, 2},
			 {AJ_DEFAULT, AJ_DEFAULT, -2}};
	aj_array *base =
	    which == 'B' ? make(ctx, t, 1, &n4) : make(ctx, t, 3, shape);
	aj_array *v = NULL;
	if (which == 'T')
		REF_OK_CTX(ctx, aj_view_permute(ctx, base, NULL, &v));
	else if (which == 'R')
		REF_OK_CTX(ctx, aj_view_slice(ctx, base, s, &v));
	else if (which == 'B')
		REF_OK_CTX(ctx, aj_view_broadcast(ctx, base, 2, bshape, &v));
	else
		REF_OK_CTX(ctx, aj_view_index(ctx, base, 1, 2, &v));
	aj_array_free(base);
	return v;
}

static void test_roundtrip_views(void **state)
{
	env *E = *state;
	for (int t = 0; t < AJ_NDTYPE; t++)
		for (const char *w = "TRBI"; *w; w++) {
			aj_array *v = make_view(E->ctx, t, *w);
			aj_array *b = save_load(E, v, "view.npy");
			assert_same(v, b);
			assert_strides(b, false);
			aj_array_free(v);
			aj_array_free(b);
		}
}

/* What NumPy 1.24 writes: dict, 21 - digits spaces of room to grow, then
 * spaces and '\n' to a 64-byte data offset. */
static void test_header_bytes(void **state)
{
	env *E = *state;
	static const char dict[] =
	    "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
	int64_t shape[2] = {3, 4};
	char p[PATH_LEN], buf[256];
	aj_array *a = make(E->ctx, AJ_FLOAT64, 2, shape);
	REF_OK_CTX(E->ctx, aj_npy_save(E->ctx, path_in(E, "h.npy", p), a));
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	assert_int_equal(n, 128 + 96);
	assert_memory_equal(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
	assert_memory_equal(buf + 10, dict, sizeof dict - 1);
	for (size_t k = 10 + sizeof dict - 1; k < 127; k++)
		assert_int_equal(buf[k], ' ');
	assert_int_equal(buf[127], '\n');
	assert_memory_equal(buf + 128, aj_array_data(a), 96);
	aj_array_free(a);
}

static void test_header_shapes(void **state)
{
	env *E = *state;
	char p[PATH_LEN], buf[256] = {0};
	int64_t n7 = 7;
	struct {
		int ndim;
		const char *text;
	} cases[] = {{0, "'shape': (), }"}, {1, "'shape': (7,), }"}};
	for (int c = 0; c < 2; c++) {
		aj_array *a = make(E->ctx, AJ_BOOL, cases[c].ndim, &n7);
		REF_OK_CTX(E->ctx,
			   aj_npy_save(E->ctx, path_in(E, "s.npy", p), a));
		FILE *f = fopen(p, "rb");
		assert_non_null(f);
		assert_int_equal(fread(buf, 1, sizeof buf - 1, f),
				 128 + (c ? 7 : 1));
		fclose(f);
		assert_memory_equal(buf + 10, "{'descr': '|b1', ", 17);
		assert_non_null(strstr(buf + 10, cases[c].text));
		aj_array_free(a);
	}
}

/* ---- files NumPy (or someone) wrote ------------------------------------ */

static void test_fortran(void **state)
{
	env *E = *state;
	int64_t s3[3] = {2, 3, 4}, s2[2] = {5, 1}, s1 = 6;
	char descr[8];
	for (int t = 0; t < AJ_NDTYPE; t++) {
		descr_of(t, dsize(t) == 1 ? '|' : '<', descr);
		check_made(E->ctx, t, descr, 3, s3, true, false);
		check_made(E->ctx, t, descr, 2, s2, true, false);
		check_made(E->ctx, t, descr, 1, &s1, true, false);
		check_made(E->ctx, t, descr, 0, NULL, true, false);
	}
}

/* A loaded Fortran array is an ordinary strided view: saving it writes C
 * order. */
static void test_fortran_resave(void **state)
{
	env *E = *state;
	int64_t s3[3] = {2, 3, 4};
	char dict[128];
	size_t nd, len;
	aj_array *a = NULL;
	unsigned char *d = file_data(AJ_INT32, 3, s3, true, false, &nd);
	snprintf(dict, sizeof dict,
		 "{'descr': '<i4', 'fortran_order': True, "
		 "'shape': (2, 3, 4), }");
	unsigned char *f = mk_file(1, dict, d, nd, &len);
	REF_OK_CTX(E->ctx, aj_npy_load_mem(E->ctx, f, len, "f.npy", &a));
	assert_int_equal(aj_array_strides(a)[0], 4);
	assert_int_equal(aj_array_strides(a)[1], 8);
	assert_int_equal(aj_array_strides(a)[2], 24);
	aj_array *b = save_load(E, a, "c.npy");
	assert_same(a, b);
	assert_strides(b, false);
	assert_values(b, AJ_INT32);
	aj_array_free(a);
	aj_array_free(b);
	free(f);
	free(d);
}

static void test_big_endian(void **state)
{
	env *E = *state;
	int64_t s2[2] = {3, 5}, s1 = 9;
	char descr[8];
	for (int t = 0; t < AJ_NDTYPE; t++) {
		descr_of(t, '>', descr);
		check_made(E->ctx, t, descr, 1, &s1, false, dsize(t) > 1);
		check_made(E->ctx, t, descr, 2, s2, true, dsize(t) > 1);
		check_made(E->ctx, t, descr, 0, NULL, false, dsize(t) > 1);
		descr_of(t, '=', descr);
		check_made(E->ctx, t, descr, 1, &s1, false, false);
		check_made(E->ctx, t, descr + 1, 1, &s1, false, false);
		descr_of(t, '|', descr);
		check_made(E->ctx, t, descr, 1, &s1, false, false);
	}
	check_made(E->ctx, AJ_BOOL, "?", 1, &s1, false, false);
}

/* One int16 (2, 3) array, written every way a reader should accept. */
static void test_header_variants(void **state)
{
	env *E = *state;
	static const struct {
		int major;
		const char *dict;
	} cases[] = {
	    {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }"},
	    {2, "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }"},
	    {3, "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }"},
	    {1, "{\"descr\": \"<i2\", \"fortran_order\": False, "
		"\"shape\": (2, 3)}"},
	    {1, "{ 'shape' : ( 2 , 3 , ) ,\n\t'fortran_order':False,"
		"'descr':'<i2' }                                \n"},
	    {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 3L)}"},
	    {1, "{'descr': 'i2', 'fortran_order': False, 'shape': (+2, 3)}"},
	    {1, "{'descr': '<f8', 'fortran_order': True, 'shape': (9,), "
		"'descr': '<i2', 'shape': (2, 3), 'fortran_order': False}"},
	};
	size_t nd, len;
	int64_t s2[2] = {2, 3};
	unsigned char *d = file_data(AJ_INT16, 2, s2, false, false, &nd);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		aj_array *a = NULL;
		unsigned char *f =
		    mk_file(cases[c].major, cases[c].dict, d, nd, &len);
		aj_status st = load_exact(E->ctx, f, len, &a);
		if (st)
			fail_msg("case %zu: %s", c, aj_ctx_errmsg(E->ctx));
		assert_int_equal(aj_array_ndim(a), 2);
		assert_values(a, AJ_INT16);
		aj_array_free(a);
		free(f);
	}
	free(d);
}

/* ---- hostile input ----------------------------------------------------- */

static void expect_error(aj_ctx *ctx, const unsigned char *f, size_t len,
			 aj_status want, const char *what)
{
	aj_array *a = SENTINEL;
	aj_status st = load_exact(ctx, f, len, &a);
	if (st != want)
		fail_msg("%s: status %d, want %d (%s)", what, (int)st,
			 (int)want, aj_ctx_errmsg(ctx));
	assert_ptr_equal(a, SENTINEL);
	assert_non_null(strstr(aj_ctx_errmsg(ctx), "mem.npy"));
}

static void test_truncated(void **state)
{
	env *E = *state;
	int64_t shape[2] = {3, 5};
	char p[PATH_LEN], q[PATH_LEN];
	aj_array *a = make(E->ctx, AJ_INT16, 2, shape);
	REF_OK_CTX(E->ctx, aj_npy_save(E->ctx, path_in(E, "v.npy", p), a));
	aj_array_free(a);
	unsigned char buf[256];
	FILE *f = fopen(p, "rb");
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	assert_int_equal(len, 128 + 30);
	for (size_t cut = 0; cut < len; cut++) {
		expect_error(E->ctx, buf, cut, AJ_ERR_PARSE, "prefix");
		f = fopen(path_in(E, "t.npy", q), "wb");
		assert_int_equal(fwrite(buf, 1, cut, f), cut);
		fclose(f);
		a = SENTINEL;
		assert_int_equal(aj_npy_load(E->ctx, q, &a), AJ_ERR_PARSE);
		assert_ptr_equal(a, SENTINEL);
		assert_non_null(strstr(aj_ctx_errmsg(E->ctx), q));
	}
	REF_OK_CTX(E->ctx, load_exact(E->ctx, buf, len, &a));
	aj_array_free(a);
}

static void test_truncated_message(void **state)
{
	env *E = *state;
	char p[PATH_LEN];
	size_t len;
	double data[12] = {0};
	unsigned char *f = mk_file(
	    1, "{'descr': '<f8', 'fortran_order': False, 'shape': (12,), }",
	    data, 40, &len);
	expect_error(E->ctx, f, len, AJ_ERR_PARSE, "short data");
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx),
			       "truncated: header says 96 bytes of data, file "
			       "has 40"));
	FILE *fp = fopen(path_in(E, "short.npy", p), "wb");
	assert_int_equal(fwrite(f, 1, len, fp), len);
	fclose(fp);
	aj_array *a = SENTINEL;
	assert_int_equal(aj_npy_load(E->ctx, p, &a), AJ_ERR_PARSE);
	assert_ptr_equal(a, SENTINEL);
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx), p));
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx),
			       "header says 96 bytes of data, file has 40"));
	free(f);
}

static void test_bad_preamble(void **state)
{
	env *E = *state;
	static const struct {
		const char *bytes;
		size_t n;
	} cases[] = {
	    {"\x93NUMPZ\x01\x00\x00\x00", 10},
	    {"NUMPY\x01\x00\x00\x00\x00", 10},
	    {"\x93NUMPY\x00\x00\x00\x00", 10},
	    {"\x93NUMPY\x01\x01\x00\x00", 10},
	    {"\x93NUMPY\x04\x00\x00\x00\x00\x00", 12},
	    {"\x93NUMPY\x02\x01\x00\x00\x00\x00", 12},
	    {"\x93NUMPY\x02\x00\xff\xff\xff\xff", 12},
	    {"\x93NUMPY\x03\x00\x01\x00\x10\x00", 12},
	    {"\x93NUMPY\x01\x00\xff\xff", 10},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		expect_error(E->ctx, (const unsigned char *)cases[c].bytes,
			     cases[c].n, AJ_ERR_PARSE, cases[c].bytes);
}

static void expect_header(aj_ctx *ctx, const char *dict, size_t n,
			  aj_status want)
{
	size_t len;
	unsigned char data[64] = {0};
	unsigned char *f = mk_raw(1, dict, n, data, sizeof data, &len);
	expect_error(ctx, f, len, want, dict);
	free(f);
}

#define DICT(descr, fortran, shape)                                            \
	"{'descr': " descr ", 'fortran_order': " fortran ", 'shape': " shape   \
	", }"

static void test_bad_headers(void **state)
{
	env *E = *state;
	static const struct {
		const char *dict;
		aj_status want;
	} cases[] = {
	    {"", AJ_ERR_PARSE},
	    {"{", AJ_ERR_PARSE},
	    {"}", AJ_ERR_PARSE},
	    {"[]", AJ_ERR_PARSE},
	    {"{}", AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(3,)") " x", AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(3,)") "}", AJ_ERR_PARSE},
	    {"{'descr': '<f8', 'fortran_order': False}", AJ_ERR_PARSE},
	    {"{'descr': '<f8', 'shape': (3,)}", AJ_ERR_PARSE},
	    {"{'fortran_order': False, 'shape': (3,)}", AJ_ERR_PARSE},
	    {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), "
	     "'extra': 1}",
	     AJ_ERR_PARSE},
	    {DICT("'<f8'", "0", "(3,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "Falsey", "(3,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "'False'", "(3,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(3)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "[3]"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "3"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(3.0,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(3,,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(3 4)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(0x3,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "((3,),)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "('3',)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(1__0,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(10_,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(-,)"), AJ_ERR_PARSE},
	    {DICT("'<f8'", "False", "(3,"), AJ_ERR_PARSE},
	    {"{'descr': '<f8", AJ_ERR_PARSE},
	    {"{'descr\n': '<f8', 'fortran_order': False, 'shape': (3,)}",
	     AJ_ERR_PARSE},
	    {"{'descr' '<f8', 'fortran_order': False, 'shape': (3,)}",
	     AJ_ERR_PARSE},
	    {"{descr: '<f8', 'fortran_order': False, 'shape': (3,)}",
	     AJ_ERR_PARSE},
	    {"{'descr': '<f8',, 'fortran_order': False, 'shape': (3,)}",
	     AJ_ERR_PARSE},
	    {"{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}",
	     AJ_ERR_PARSE},
	    {DICT("[[[[[[[[[[[[[[[[[[[[[[[[('a', '<f4')]]]]]]]]]]]]]]]]]]]]]]]",
		  "False", "(3,)"),
	     AJ_ERR_PARSE},
	    {DICT("[('a', '<f4'), ('b', '<i8')]", "False", "(3,)"),
	     AJ_ERR_DTYPE},
	    {DICT("[('a', '<f4', (2, 2))]", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("5", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("None", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<f2'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'|O'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<U5'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<M8[s]'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<m8'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'|S4'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'|V8'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<f16'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<c32'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<i3'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<b2'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'float64'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("''", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<f'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<f8 '", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<f008'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<f\\x38'", "False", "(3,)"), AJ_ERR_DTYPE},
	    {DICT("'<f8'", "False", "(3, -1)"), AJ_ERR_SHAPE},
	    {DICT("'<f8'", "False", "(-99999999999999999999999,)"),
	     AJ_ERR_SHAPE},
	    {DICT("'<f8'", "False",
		  "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
		  "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)"),
	     AJ_ERR_SHAPE},
	    {DICT("'<f8'", "False", "(4611686018427387904, 4)"),
	     AJ_ERR_OVERFLOW},
	    {DICT("'<f8'", "False", "(0, 4611686018427387904)"),
	     AJ_ERR_OVERFLOW},
	    {DICT("'|u1'", "False", "(99999999999999999999999,)"),
	     AJ_ERR_OVERFLOW},
	    {DICT("'|u1'", "False", "(9223372036854775807,)"), AJ_ERR_OVERFLOW},
	    {DICT("'<f8'", "False", "(16777216, 16777216, 2)"),
	     AJ_ERR_OVERFLOW},
	    {DICT("'|u1'", "False", "(281474976710657,)"), AJ_ERR_OVERFLOW},
	    {DICT("'<c16'", "True", "(1099511627776, 1099511627776)"),
	     AJ_ERR_OVERFLOW},
	    {DICT("'<f8'", "False", "(1000000,)"), AJ_ERR_PARSE},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		expect_header(E->ctx, cases[c].dict, strlen(cases[c].dict),
			      cases[c].want);
	static const char nul[] = DICT("'<f8'", "False", "(3,)") "\0";
	expect_header(E->ctx, nul, sizeof nul - 1, AJ_ERR_PARSE);
	static const char nul2[] = "{'descr': '<f\08', 'fortran_order': "
				   "False, 'shape': (3,)}";
	expect_header(E->ctx, nul2, sizeof nul2 - 1, AJ_ERR_DTYPE);
}

/* The messages name the file and what is wrong. */
static void test_messages(void **state)
{
	env *E = *state;
	static const struct {
		const char *dict;
		const char *says;
	} cases[] = {
	    {DICT("'<f2'", "False", "(3,)"), "'<f2'"},
	    {DICT("[('a', '<f4')]", "False", "(3,)"), "[('a', '<f4')]"},
	    {DICT("'<f8'", "False", "(3, -1)"), "(3, -1)"},
	    {DICT("'<f8'", "Nope", "(3,)"), "fortran_order"},
	    {"{'descr': '<f8', 'fortran_order': False}", "'shape'"},
	    {"{'descr': '<f8', 'bogus': False}", "'bogus'"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t len;
		aj_array *a = SENTINEL;
		unsigned char *f = mk_file(1, cases[c].dict, NULL, 0, &len);
		assert_int_not_equal(
		    aj_npy_load_mem(E->ctx, f, len, "some/name.npy", &a), 0);
		const char *m = aj_ctx_errmsg(E->ctx);
		if (!strstr(m, "some/name.npy") || !strstr(m, cases[c].says))
			fail_msg("message '%s' lacks '%s'", m, cases[c].says);
		free(f);
	}
}

/* Every byte of a small file's header, set to bytes a parser trips on:
 * each load fails cleanly or gives a consistent array. */
static void test_mutations(void **state)
{
	env *E = *state;
	static const unsigned char subst[] = {0,   '\'', '"', '(',  ')', ',',
					      ':', '{',	 '}', '[',  '-', '9',
					      'L', '\\', ' ', '\n', 0xff};
	int64_t shape[2] = {2, 3};
	size_t nd, len;
	unsigned char *d = file_data(AJ_INT32, 2, shape, false, false, &nd);
	unsigned char *f =
	    mk_file(1, DICT("'<i4'", "False", "(2, 3)"), d, nd, &len);
	uint64_t seed = 7;
	for (size_t k = 0; k < len - nd; k++)
		for (size_t s = 0; s < sizeof subst; s++) {
			aj_array *a = NULL;
			unsigned char keep = f[k];
			f[k] = subst[s];
			if (load_exact(E->ctx, f, len, &a) == AJ_OK)
				aj_array_free(a);
			f[k] = keep;
		}
	for (int i = 0; i < 3000; i++) {
		unsigned char *g = malloc(len);
		memcpy(g, f, len);
		for (int m = 0; m < 4; m++) {
			uint64_t r = ref_rand(&seed);
			g[r % (len - nd)] = subst[(r >> 32) % sizeof subst];
		}
		aj_array *a = NULL;
		size_t cut = ref_rand(&seed) % 4 ? len : ref_rand(&seed) % len;
		if (load_exact(E->ctx, g, cut, &a) == AJ_OK)
			aj_array_free(a);
		free(g);
	}
	free(f);
	free(d);
}

/* ---- arguments, I/O and memory ----------------------------------------- */

static void test_null_args(void **state)
{
	env *E = *state;
	char p[PATH_LEN];
	int64_t n = 3;
	aj_array *a = make(E->ctx, AJ_INT8, 1, &n), *b = SENTINEL;
	path_in(E, "n.npy", p);
	assert_int_equal(aj_npy_load(NULL, p, &b), AJ_ERR_ARG);
	assert_int_equal(aj_npy_load(E->ctx, NULL, &b), AJ_ERR_ARG);
	assert_int_equal(aj_npy_load(E->ctx, p, NULL), AJ_ERR_ARG);
	assert_int_equal(aj_npy_load_mem(NULL, "x", 1, "x", &b), AJ_ERR_ARG);
	assert_int_equal(aj_npy_load_mem(E->ctx, NULL, 0, "x", &b), AJ_ERR_ARG);
	assert_int_equal(aj_npy_load_mem(E->ctx, "x", 1, NULL, &b), AJ_ERR_ARG);
	assert_int_equal(aj_npy_load_mem(E->ctx, "x", 1, "x", NULL),
			 AJ_ERR_ARG);
	assert_int_equal(aj_npy_save(NULL, p, a), AJ_ERR_ARG);
	assert_int_equal(aj_npy_save(E->ctx, NULL, a), AJ_ERR_ARG);
	assert_int_equal(aj_npy_save(E->ctx, p, NULL), AJ_ERR_ARG);
	assert_ptr_equal(b, SENTINEL);
	assert_int_equal(dir_entries(E->dir, false), 0);
	aj_array_free(a);
}

static void test_io_errors(void **state)
{
	env *E = *state;
	char p[PATH_LEN], sub[PATH_LEN];
	int64_t n = 3;
	aj_array *a = make(E->ctx, AJ_FLOAT32, 1, &n), *b = SENTINEL;
	assert_int_equal(aj_npy_load(E->ctx, path_in(E, "none.npy", p), &b),
			 AJ_ERR_IO);
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx), p));
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx), strerror(ENOENT)));
	assert_int_equal(aj_npy_load(E->ctx, E->dir, &b), AJ_ERR_IO);
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx), strerror(EISDIR)));
	assert_int_equal(
	    aj_npy_save(E->ctx, path_in(E, "no/such/dir.npy", p), a),
	    AJ_ERR_IO);
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx), strerror(ENOENT)));
	/* rename() onto a directory fails: the temporary must go too */
	assert_int_equal(mkdir(path_in(E, "sub", sub), 0777), 0);
	assert_int_equal(aj_npy_save(E->ctx, sub, a), AJ_ERR_IO);
	assert_non_null(strstr(aj_ctx_errmsg(E->ctx), sub));
	assert_int_equal(dir_entries(E->dir, false), 1);
	assert_ptr_equal(b, SENTINEL);
	aj_array_free(a);
}

/* Saving replaces an existing file whole and leaves no temporary. */
static void test_replace(void **state)
{
	env *E = *state;
	char p[PATH_LEN];
	int64_t big = 1000, small = 2;
	aj_array *a = make(E->ctx, AJ_INT64, 1, &big);
	aj_array *b = make(E->ctx, AJ_UINT16, 1, &small), *c = NULL;
	path_in(E, "r.npy", p);
	REF_OK_CTX(E->ctx, aj_npy_save(E->ctx, p, a));
	REF_OK_CTX(E->ctx, aj_npy_save(E->ctx, p, b));
	REF_OK_CTX(E->ctx, aj_npy_load(E->ctx, p, &c));
	assert_same(b, c);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_size, 128 + 4);
	assert_int_equal(dir_entries(E->dir, false), 1);
	aj_array_free(a);
	aj_array_free(b);
	aj_array_free(c);
}

/* Failing each allocation in turn gives AJ_ERR_NOMEM, no output, no
 * file and (under ASan) no leak, until the call succeeds. */
static void test_nomem(void **state)
{
	env *E = *state;
	char p[PATH_LEN];
	int64_t shape[3] = {3, 4, 5};
	aj_array *v = make_view(E->ctx, AJ_COMPLEX64, 'R'), *a;
	size_t nd, len;
	unsigned char *d = file_data(AJ_INT16, 3, shape, true, true, &nd);
	unsigned char *f =
	    mk_file(1, DICT("'>i2'", "True", "(3, 4, 5)"), d, nd, &len);
	path_in(E, "m.npy", p);
	for (int what = 0; what < 3; what++) {
		aj_status st = AJ_ERR_NOMEM;
		for (uint64_t k = 1; st == AJ_ERR_NOMEM; k++) {
			a = SENTINEL;
			aj_alloc_fail_after(k);
			if (what == 0)
				st = aj_npy_save(E->ctx, p, v);
			else if (what == 1)
				st = aj_npy_load(E->ctx, p, &a);
			else
				st = aj_npy_load_mem(E->ctx, f, len, "m", &a);
			aj_alloc_fail_after(0);
			if (st == AJ_ERR_NOMEM) {
				assert_ptr_equal(a, SENTINEL);
				assert_int_equal(dir_entries(E->dir, false),
						 what == 0 ? 0 : 1);
			}
		}
		REF_OK_CTX(E->ctx, st);
		if (what == 1)
			assert_same(v, a);
		if (what == 2)
			assert_values(a, AJ_INT16);
		if (what)
			aj_array_free(a);
	}
	aj_array_free(v);
	free(f);
	free(d);
}

/* ---- NumPy ------------------------------------------------------------- */

/* tests/npy_ref.py: under $AJ_SOURCE_DIR, else beside this file. */
static void script_path(char *buf)
{
	const char *src = getenv("AJ_SOURCE_DIR");
	if (src && *src) {
		snprintf(buf, PATH_LEN, "%s/tests/npy_ref.py", src);
		return;
	}
	snprintf(buf, PATH_LEN, "%s", __FILE__);
	char *slash = strrchr(buf, '/');
	snprintf(slash ? slash + 1 : buf,
		 PATH_LEN - (slash ? slash + 1 - buf : 0), "npy_ref.py");
}

static int run_script(const char *script, const char *mode, const char *dir)
{
	char cmd[3 * PATH_LEN];
	assert_null(strchr(script, '\''));
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s '%s'", script, mode,
		 dir);
	return system(cmd);
}

/* NumPy's file for dtype t, shape case s, order and byte order; checks
 * what we load. NumPy writes Fortran order only when the array is not also
 * C-contiguous: here, for the non-empty 3-d shape. */
static void check_numpy_file(env *E, aj_dtype t, const shape_case *s,
			     char order, const char *end)
{
	char name[128], p[PATH_LEN];
	aj_array *a = NULL;
	snprintf(name, sizeof name, "np_%s_%s_%c_%s.npy", aj_dtype_name(t),
		 s->name, order, end);
	REF_OK_CTX(E->ctx, aj_npy_load(E->ctx, path_in(E, name, p), &a));
	assert_int_equal(aj_array_ndim(a), s->ndim);
	for (int k = 0; k < s->ndim; k++)
		assert_int_equal(aj_array_shape(a)[k], s->shape[k]);
	assert_values(a, t);
	assert_strides(a, order == 'F' && !strcmp(s->name, "s3"));
	aj_array_free(a);
}

static void load_numpy_files(env *E)
{
	char name[128], p[PATH_LEN];
	for (int t = 0; t < AJ_NDTYPE; t++) {
		for (int s = 0; s < NSHAPES; s++)
			for (const char *o = "CF"; *o; o++) {
				check_numpy_file(E, t, &shapes[s], *o, "le");
				if (dsize(t) > 1)
					check_numpy_file(E, t, &shapes[s], *o,
							 "be");
			}
		for (int major = 2; major <= 3; major++) {
			aj_array *a = NULL;
			snprintf(name, sizeof name, "np_%s_v%d.npy",
				 aj_dtype_name(t), major);
			REF_OK_CTX(
			    E->ctx,
			    aj_npy_load(E->ctx, path_in(E, name, p), &a));
			assert_values(a, t);
			assert_strides(a, true);
			aj_array_free(a);
		}
	}
}

/* The files npy_ref.py's check expects: aj_{dtype}_{case}.npy. */
static void save_cases(env *E)
{
	char name[128], p[PATH_LEN];
	for (int t = 0; t < AJ_NDTYPE; t++) {
		for (int s = 0; s < NSHAPES; s++) {
			aj_array *a =
			    make(E->ctx, t, shapes[s].ndim, shapes[s].shape);
			snprintf(name, sizeof name, "aj_%s_%s.npy",
				 aj_dtype_name(t), shapes[s].name);
			REF_OK_CTX(E->ctx,
				   aj_npy_save(E->ctx, path_in(E, name, p), a));
			aj_array_free(a);
		}
		for (const char *w = "TRBI"; *w; w++) {
			aj_array *v = make_view(E->ctx, t, *w);
			snprintf(name, sizeof name, "aj_%s_%c.npy",
				 aj_dtype_name(t), *w);
			REF_OK_CTX(E->ctx,
				   aj_npy_save(E->ctx, path_in(E, name, p), v));
			aj_array_free(v);
		}
	}
}

static void test_numpy(void **state)
{
	env *E = *state;
	char script[PATH_LEN];
	if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
		print_message(
		    "skipping: /usr/bin/python3 with numpy not found\n");
		skip();
	}
	script_path(script);
	if (access(script, R_OK) != 0)
		fail_msg("%s not found; set AJ_SOURCE_DIR", script);
	assert_int_equal(run_script(script, "write", E->dir), 0);
	load_numpy_files(E);
	save_cases(E);
	assert_int_equal(run_script(script, "check", E->dir), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_roundtrip),	  T(test_roundtrip_views),
	    T(test_header_bytes), T(test_header_shapes),
	    T(test_fortran),	  T(test_fortran_resave),
	    T(test_big_endian),	  T(test_header_variants),
	    T(test_truncated),	  T(test_truncated_message),
	    T(test_bad_preamble), T(test_bad_headers),
	    T(test_messages),	  T(test_mutations),
	    T(test_null_args),	  T(test_io_errors),
	    T(test_replace),	  T(test_nomem),
	    T(test_numpy),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
