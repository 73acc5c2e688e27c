/*
 * Conformance with NumPy: replays the cases tests/conformance/gen.py wrote
 * (DIR/cases.tsv and .npy files; the format is in tests/conformance/
 * README.md) through arrjit and compares with NumPy's results.
 *
 *   test_conformance [DIR [SUBSTRING]]
 *
 * DIR defaults to $AJ_CONFORMANCE_DIR; SUBSTRING runs only the cases whose
 * name contains it. $AJ_CONFORMANCE_ISA (host, scalar, avx2, avx512, all)
 * picks the vector ISA; "all" replays every case on each ISA the host runs.
 *
 * Checks:
 *   exact  same bits; any NaN matches any NaN, so -0.0 vs 0.0 fails
 *   ulp:N  at most N units in the last place apart; NaN matches only NaN,
 *          an infinity only itself; complex parts are checked separately
 *   nanexact  exact, but a complex with a NaN part matches any other
 *          (which NaN a min or max reduction returns depends on the
 *          order it visits elements, in NumPy as in arrjit)
 *   error  NumPy refuses: aj_parse, aj_assign or aj_sync must fail, and
 *          the output keeps the sentinel it was filled with
 * Every failure is collected and printed (up to a cap); the test fails
 * once at the end with the count, so one run shows everything.
 */
#include "ref.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	MAX_IN = 8,	       /* inputs of one case */
	MAX_SHOWN_CASES = 200, /* failing cases printed in full */
	MAX_SHOWN_ELEMS = 4,   /* differing elements printed per case */
	PATH_LEN = 4096,
	SENTINEL = 0xA5, /* fills outputs before a run */
};

typedef enum check_kind {
	CHECK_EXACT,
	CHECK_ULP,
	CHECK_ERROR,
	CHECK_NANEXACT,
	NCHECK
} check_kind;

static const char *const check_names[NCHECK] = {"exact", "ulp", "error",
						"nanexact"};

/* One manifest line; the strings point into the manifest buffer. */
typedef struct tcase {
	int line;
	char *name, *expr, *check, *inputs, *expected;
	check_kind kind;
	uint64_t ulp; /* for CHECK_ULP */
} tcase;

/* What a case binds: name i is values[i], backed by arr[i] (NULL for a
 * scalar, whose text is scalar[i]). */
typedef struct binding {
	int n;
	const char *names[MAX_IN];
	aj_expr values[MAX_IN];
	aj_array *arr[MAX_IN];
	const char *scalar[MAX_IN];
} binding;

typedef struct runner {
	const char *dir;
	aj_ctx *ctx;
	const char *isa; /* label for messages */
	int run[NCHECK], passed[NCHECK];
	int failed;   /* cases */
	bool failing; /* the current case has failed */
} runner;

/* ---- reporting ---- */

static bool showing(const runner *R)
{
	return R->failed <= MAX_SHOWN_CASES;
}

/* Marks the case failed; prints its header once, then the message. */
static void fail_case(runner *R, const tcase *c, const char *fmt, ...)
{
	if (!R->failing) {
		R->failing = true;
		R->failed++;
		if (showing(R))
			printf("FAIL %s [%s] (%s, %s, line %d)\n", c->name,
			       c->expr, c->check, R->isa, c->line);
		else if (R->failed == MAX_SHOWN_CASES + 1)
			printf("... more failing cases not shown\n");
	}
	if (!showing(R))
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("    ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* The dtype's kind letter: b, i, u, f or c, from its name. */
static char kind_of(aj_dtype t)
{
	return aj_dtype_name(t)[0];
}

static void format_float(char *buf, size_t len, const void *p, size_t size)
{
	if (size == 4) {
		float f;
		uint32_t u;
		memcpy(&f, p, 4);
		memcpy(&u, p, 4);
		snprintf(buf, len, "%.9g (0x%08x)", (double)f, (unsigned)u);
	} else {
		double d;
		uint64_t u;
		memcpy(&d, p, 8);
		memcpy(&u, p, 8);
		snprintf(buf, len, "%.17g (0x%016llx)", d,
			 (unsigned long long)u);
	}
}

static int64_t load_int(const void *p, size_t size)
{
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	switch (size) {
	case 1:
		memcpy(&i8, p, 1);
		return i8;
	case 2:
		memcpy(&i16, p, 2);
		return i16;
	case 4:
		memcpy(&i32, p, 4);
		return i32;
	default:
		memcpy(&i64, p, 8);
		return i64;
	}
}

static uint64_t load_uint(const void *p, size_t size)
{
	uint64_t u = 0;
	memcpy(&u, p, size); /* little-endian host */
	return u;
}

/* One element of dtype t at p, as text. */
static void format_elem(char *buf, size_t len, aj_dtype t, const void *p)
{
	size_t size = aj_dtype_size(t);
	uint8_t byte = *(const uint8_t *)p;
	char re[64], im[64];
	switch (kind_of(t)) {
	case 'b':
		if (byte <= 1)
			snprintf(buf, len, "%s", byte ? "True" : "False");
		else
			snprintf(buf, len, "bool byte 0x%02x", byte);
		break;
	case 'i':
		snprintf(buf, len, "%lld", (long long)load_int(p, size));
		break;
	case 'u':
		snprintf(buf, len, "%llu",
			 (unsigned long long)load_uint(p, size));
		break;
	case 'f':
		format_float(buf, len, p, size);
		break;
	default:
		format_float(re, sizeof re, p, size / 2);
		format_float(im, sizeof im, (const char *)p + size / 2,
			     size / 2);
		snprintf(buf, len, "(%s, %s)", re, im);
		break;
	}
}

/* ---- element access and comparison ---- */

/* Byte offset of the element at C-order position flat. */
static int64_t offset_of(const aj_array *a, int64_t flat)
{
	const int64_t *shape = aj_array_shape(a);
	const int64_t *strides = aj_array_strides(a);
	int64_t off = 0;
	for (int k = aj_array_ndim(a) - 1; k >= 0; k--) {
		off += flat % shape[k] * strides[k];
		flat /= shape[k];
	}
	return off;
}

static const void *elem(const aj_array *a, int64_t flat)
{
	return (const char *)aj_array_data(a) + offset_of(a, flat);
}

static void format_index(char *buf, size_t len, const aj_array *a, int64_t flat)
{
	int nd = aj_array_ndim(a);
	const int64_t *shape = aj_array_shape(a);
	int64_t idx[AJ_MAX_NDIM];
	for (int k = nd - 1; k >= 0; k--) {
		idx[k] = flat % shape[k];
		flat /= shape[k];
	}
	size_t n = (size_t)snprintf(buf, len, "[");
	for (int k = 0; k < nd && n < len; k++)
		n += (size_t)snprintf(buf + n, len - n, k ? ",%lld" : "%lld",
				      (long long)idx[k]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

/*
 * Maps a float's bits onto a line where neighbouring floats are 1 apart
 * and -0.0 meets +0.0 at 0. Distances are taken on these integers: near
 * 2^62 doubles are 1024 apart, so going through double would lose them.
 */
static int64_t ordered(const void *p, size_t size)
{
	if (size == 4) {
		int32_t i;
		memcpy(&i, p, 4);
		return i < 0 ? (int64_t)INT32_MIN - i : i;
	}
	int64_t i;
	memcpy(&i, p, 8);
	return i < 0 ? INT64_MIN - i : i;
}

static uint64_t ulp_distance(const void *a, const void *b, size_t size)
{
	int64_t x = ordered(a, size), y = ordered(b, size);
	return x > y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x;
}

/* The float of size bytes at p, widened (NaN and inf stay what they are). */
static double float_at(const void *p, size_t size)
{
	if (size == 4) {
		float f;
		memcpy(&f, p, 4);
		return f;
	}
	double d;
	memcpy(&d, p, 8);
	return d;
}

static bool is_nan(const void *p, size_t size)
{
	return isnan(float_at(p, size));
}

static bool is_inf(const void *p, size_t size)
{
	return isinf(float_at(p, size));
}

/* One float under a check: maxulp 0 is bit equality; NaN matches NaN. */
static bool float_ok(const void *got, const void *want, size_t size,
		     uint64_t maxulp)
{
	bool gn = is_nan(got, size), wn = is_nan(want, size);
	if (gn || wn)
		return gn && wn;
	if (maxulp == 0 || is_inf(got, size) || is_inf(want, size))
		return memcmp(got, want, size) == 0;
	return ulp_distance(got, want, size) <= maxulp;
}

/* Whether either part of the complex at p is NaN. */
static bool complex_nan(const void *p, size_t size)
{
	return is_nan(p, size / 2) || is_nan((const char *)p + size / 2, size / 2);
}

static bool elem_ok(aj_dtype t, const void *got, const void *want,
		    uint64_t maxulp, bool nanset)
{
	size_t size = aj_dtype_size(t);
	switch (kind_of(t)) {
	case 'f':
		return float_ok(got, want, size, maxulp);
	case 'c':
		if (nanset && complex_nan(got, size) && complex_nan(want, size))
			return true;
		return float_ok(got, want, size / 2, maxulp) &&
		       float_ok((const char *)got + size / 2,
				(const char *)want + size / 2, size / 2,
				maxulp);
	default:
		return memcmp(got, want, size) == 0;
	}
}

/* The inputs at output position flat, each broadcast to the output. */
static void format_inputs(runner *R, char *buf, size_t len, const binding *b,
			  const aj_array *out, int64_t flat)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < b->n && n < len; i++) {
		char v[160] = "?";
		aj_array *bv = NULL;
		if (!b->arr[i])
			snprintf(v, sizeof v, "%s", b->scalar[i]);
		else if (aj_view_broadcast(R->ctx, b->arr[i],
					   aj_array_ndim(out),
					   aj_array_shape(out), &bv) == AJ_OK)
			format_elem(v, sizeof v, aj_array_dtype(bv),
				    elem(bv, flat));
		aj_array_free(bv);
		n += (size_t)snprintf(buf + n, len - n, "%s%s=%s",
				      i ? ", " : "", b->names[i], v);
	}
}

/* Compares out with want element by element; reports what differs. */
static void compare(runner *R, const tcase *c, const binding *b,
		    const aj_array *out, const aj_array *want)
{
	aj_dtype t = aj_array_dtype(out);
	int64_t size = aj_array_size(out), nbad = 0;
	uint64_t maxulp = c->kind == CHECK_ULP ? c->ulp : 0;
	for (int64_t k = 0; k < size; k++) {
		const void *g = elem(out, k), *w = elem(want, k);
		if (elem_ok(t, g, w, maxulp, c->kind == CHECK_NANEXACT) ||
		    ++nbad > MAX_SHOWN_ELEMS)
			continue;
		char idx[128], gs[160], ws[160], in[600];
		format_index(idx, sizeof idx, out, k);
		format_elem(gs, sizeof gs, t, g);
		format_elem(ws, sizeof ws, t, w);
		format_inputs(R, in, sizeof in, b, out, k);
		fail_case(R, c, "%s: got %s, want %s  (%s)", idx, gs, ws, in);
	}
	if (nbad > MAX_SHOWN_ELEMS)
		fail_case(R, c, "... %lld of %lld elements differ",
			  (long long)nbad, (long long)size);
}

/* ---- the manifest ---- */

/* Splits s at the first sep, which it overwrites; the rest, or NULL. */
static char *cut(char *s, char sep)
{
	char *p = s ? strchr(s, sep) : NULL;
	if (!p)
		return NULL;
	*p = '\0';
	return p + 1;
}

static bool parse_check(tcase *c)
{
	char *end;
	if (strcmp(c->check, "exact") == 0) {
		c->kind = CHECK_EXACT;
		return true;
	}
	if (strcmp(c->check, "error") == 0) {
		c->kind = CHECK_ERROR;
		return true;
	}
	if (strcmp(c->check, "nanexact") == 0) {
		c->kind = CHECK_NANEXACT;
		return true;
	}
	if (strncmp(c->check, "ulp:", 4) != 0)
		return false;
	c->kind = CHECK_ULP;
	c->ulp = strtoull(c->check + 4, &end, 10);
	return end != c->check + 4 && *end == '\0';
}

/* Splits one line into its five fields; false if malformed. */
static bool parse_line(char *s, int line, tcase *c)
{
	c->line = line;
	c->name = s;
	c->expr = cut(c->name, '\t');
	c->check = cut(c->expr, '\t');
	c->inputs = cut(c->check, '\t');
	c->expected = cut(c->inputs, '\t');
	return c->expected && !strchr(c->expected, '\t') && parse_check(c);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *bigger = realloc(buf, cap *= 2);
		if (!bigger)
			free(buf);
		buf = bigger;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Reads DIR/cases.tsv into *cases (pointing into *text); -1 on error. */
static int load_manifest(const char *dir, char **text, tcase **cases)
{
	char path[PATH_LEN];
	snprintf(path, sizeof path, "%s/cases.tsv", dir);
	*cases = NULL;
	if (!(*text = read_file(path))) {
		print_error("cannot read %s\n", path);
		return -1;
	}
	int n = 0, cap = 0, line = 0;
	for (char *s = *text, *next; s && *s; s = next) {
		next = cut(s, '\n');
		line++;
		if (*s == '#' || *s == '\0')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			tcase *more =
			    realloc(*cases, (size_t)cap * sizeof *more);
			assert_non_null(more);
			*cases = more;
		}
		if (!parse_line(s, line, &(*cases)[n])) {
			print_error("%s:%d: malformed case line\n", path, line);
			return -1;
		}
		n++;
	}
	return n;
}

/* ---- inputs and views ---- */

/* A view spec the driver cannot read: not an aj_status, so apply_view's
 * callers can tell it from the library's refusals. */
#define VIEW_SYNTAX (-1)

/* "start:stop:step" with empty parts defaulted; false if malformed. */
static bool parse_slice(char *s, aj_slice *sl)
{
	int64_t v[3] = {AJ_DEFAULT, AJ_DEFAULT, 1};
	char *part = s, *next;
	if (!strchr(s, ':'))
		return false;
	for (int k = 0; part; k++, part = next) {
		next = cut(part, ':');
		if (k > 2)
			return false;
		char *end;
		if (*part)
			v[k] = strtoll(part, &end, 10);
		if (*part && *end != '\0')
			return false;
	}
	*sl = (aj_slice){v[0], v[1], v[2]};
	return true;
}

static int view_slice(aj_ctx *ctx, char *spec, const aj_array *a,
		      aj_array **out)
{
	aj_slice s[AJ_MAX_NDIM];
	int n = 0;
	for (char *part = spec, *next; part; part = next, n++) {
		next = cut(part, ',');
		if (n == AJ_MAX_NDIM || !parse_slice(part, &s[n]))
			return VIEW_SYNTAX;
	}
	if (n != aj_array_ndim(a))
		return VIEW_SYNTAX;
	return aj_view_slice(ctx, a, s, out);
}

static int view_broadcast(aj_ctx *ctx, char *dims, const aj_array *a,
			  aj_array **out)
{
	int64_t shape[AJ_MAX_NDIM];
	int n = 0;
	for (char *d = *dims ? dims : NULL, *next; d; d = next, n++) {
		next = cut(d, 'x');
		char *end;
		if (n == AJ_MAX_NDIM)
			return VIEW_SYNTAX;
		shape[n] = strtoll(d, &end, 10);
		if (end == d || *end)
			return VIEW_SYNTAX;
	}
	return aj_view_broadcast(ctx, a, n, shape, out);
}

/* Replaces *a with the view spec of it: T, bcast:AxB or a slice list.
 * Returns an aj_status or VIEW_SYNTAX. */
static int apply_view(aj_ctx *ctx, char *spec, aj_array **a)
{
	aj_array *v = NULL;
	int s;
	if (strcmp(spec, "T") == 0)
		s = aj_view_permute(ctx, *a, NULL, &v);
	else if (strncmp(spec, "bcast:", 6) == 0)
		s = view_broadcast(ctx, spec + 6, *a, &v);
	else
		s = view_slice(ctx, spec, *a, &v);
	if (s == AJ_OK) {
		aj_array_free(*a);
		*a = v;
	}
	return s;
}

/* FILE|VIEW|... : loads the file and applies the views in order. */
static bool bind_array(runner *R, const tcase *c, char *spec, aj_array **a)
{
	char path[PATH_LEN];
	char *views = cut(spec, '|');
	snprintf(path, sizeof path, "%s/%s", R->dir, spec);
	if (aj_npy_load(R->ctx, path, a) != AJ_OK) {
		fail_case(R, c, "input: %s", aj_ctx_errmsg(R->ctx));
		return false;
	}
	for (char *v = views, *next; v; v = next) {
		next = cut(v, '|');
		char text[256];
		snprintf(text, sizeof text, "%s", v); /* views cut their text */
		int s = apply_view(R->ctx, v, a);
		if (s != AJ_OK) {
			fail_case(R, c, "view '%s' of %s: %s", text, spec,
				  s == VIEW_SYNTAX ? "malformed, or not one "
						     "slice per axis"
						   : aj_ctx_errmsg(R->ctx));
			return false;
		}
	}
	return true;
}

/* scalar:int:V, scalar:float:V, scalar:bool:V or scalar:complex:RE:IM as
 * a weak scalar. */
static aj_expr bind_scalar(aj_prog *p, const char *s, bool *ok)
{
	char *end = NULL;
	*ok = true;
	if (strncmp(s, "complex:", 8) == 0) {
		double re = strtod(s + 8, &end);
		*ok = *end == ':';
		double im = *ok ? strtod(end + 1, &end) : 0;
		*ok = *ok && *end == '\0';
		return aj_scalar_c128(p, re, im);
	}
	if (strncmp(s, "int:", 4) == 0) {
		int64_t v = strtoll(s + 4, &end, 10);
		*ok = *end == '\0' && end != s + 4;
		return aj_scalar_i64(p, v);
	}
	if (strncmp(s, "float:", 6) == 0) {
		double v = strtod(s + 6, &end);
		*ok = *end == '\0' && end != s + 6;
		return aj_scalar_f64(p, v);
	}
	if (strcmp(s, "bool:0") == 0 || strcmp(s, "bool:1") == 0)
		return aj_scalar_bool(p, s[5] == '1');
	*ok = false;
	return AJ_EXPR_NONE;
}

/* NAME=VALUE;... into b. The inputs text is cut up in the process. */
static bool bind_inputs(runner *R, const tcase *c, aj_prog *p, binding *b)
{
	for (char *in = c->inputs, *next; in && *in; in = next) {
		next = cut(in, ';');
		char *value = cut(in, '=');
		int i = b->n;
		if (!value || i == MAX_IN) {
			fail_case(R, c, "bad input '%s'", in);
			return false;
		}
		b->names[i] = in;
		b->n++;
		if (strncmp(value, "scalar:", 7) == 0) {
			bool ok;
			b->scalar[i] = value + 7;
			b->values[i] = bind_scalar(p, value + 7, &ok);
			if (!ok) {
				fail_case(R, c, "bad scalar '%s'", value);
				return false;
			}
		} else {
			if (!bind_array(R, c, value, &b->arr[i]))
				return false;
			b->values[i] = aj_leaf(p, b->arr[i]);
		}
	}
	return true;
}

static void unbind(binding *b)
{
	for (int i = 0; i < b->n; i++)
		aj_array_free(b->arr[i]);
}

/* ---- running cases ---- */

static void fill_sentinel(aj_array *a)
{
	size_t n = (size_t)aj_array_size(a) * aj_dtype_size(aj_array_dtype(a));
	if (n)
		memset(aj_array_data(a), SENTINEL, n);
}

static bool untouched(const aj_array *a)
{
	size_t n = (size_t)aj_array_size(a) * aj_dtype_size(aj_array_dtype(a));
	const uint8_t *d = aj_array_data(a);
	for (size_t i = 0; i < n; i++)
		if (d[i] != SENTINEL)
			return false;
	return true;
}

/* A fresh C-order output of e's dtype and shape, filled with SENTINEL. */
static aj_array *new_output(runner *R, aj_prog *p, aj_expr e)
{
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(p, e, shape);
	aj_array *out = NULL;
	if (nd < 0 ||
	    aj_array_new(R->ctx, aj_expr_dtype(p, e), nd, shape, &out) != AJ_OK)
		return NULL;
	fill_sentinel(out);
	return out;
}

/* NumPy refused: so must arrjit, without writing. */
static void run_error(runner *R, const tcase *c, aj_prog *p, binding *b)
{
	aj_expr e;
	if (aj_parse(p, c->expr, b->n, b->names, b->values, &e) != AJ_OK)
		return;
	aj_array *out = new_output(R, p, e);
	if (!out) {
		fail_case(R, c, "cannot make an output: %s",
			  aj_ctx_errmsg(R->ctx));
		return;
	}
	aj_status s = aj_assign(p, out, e);
	if (s == AJ_OK)
		s = aj_sync(p);
	if (s == AJ_OK)
		fail_case(R, c, "NumPy raises, arrjit computed a %s result",
			  aj_dtype_name(aj_array_dtype(out)));
	else if (!untouched(out))
		fail_case(R, c, "failed (%s) but wrote to the output",
			  aj_prog_errmsg(p));
	aj_array_free(out);
}

/* The expression's dtype and shape are NumPy's. */
static bool check_type(runner *R, const tcase *c, aj_prog *p, aj_expr e,
		       const aj_array *want)
{
	aj_dtype t = aj_expr_dtype(p, e), wt = aj_array_dtype(want);
	if (t != wt) {
		fail_case(R, c, "dtype %s, NumPy gives %s", aj_dtype_name(t),
			  aj_dtype_name(wt));
		return false;
	}
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(p, e, shape);
	if (nd != aj_array_ndim(want) ||
	    (nd > 0 && memcmp(shape, aj_array_shape(want),
			      (size_t)nd * sizeof *shape) != 0)) {
		fail_case(R, c, "shape differs from NumPy's (ndim %d vs %d)",
			  nd, aj_array_ndim(want));
		return false;
	}
	return true;
}

static void run_value(runner *R, const tcase *c, aj_prog *p, binding *b)
{
	char path[PATH_LEN];
	aj_array *want = NULL, *out = NULL;
	aj_expr e;
	snprintf(path, sizeof path, "%s/%s", R->dir, c->expected);
	if (aj_npy_load(R->ctx, path, &want) != AJ_OK) {
		fail_case(R, c, "expected: %s", aj_ctx_errmsg(R->ctx));
		return;
	}
	if (aj_parse(p, c->expr, b->n, b->names, b->values, &e) != AJ_OK) {
		fail_case(R, c, "aj_parse: %s", aj_prog_errmsg(p));
		goto done;
	}
	if (!check_type(R, c, p, e, want))
		goto done;
	if (!(out = new_output(R, p, e)))
		fail_case(R, c, "output: %s", aj_ctx_errmsg(R->ctx));
	else if (aj_assign(p, out, e) != AJ_OK)
		fail_case(R, c, "aj_assign: %s", aj_prog_errmsg(p));
	else if (aj_sync(p) != AJ_OK)
		fail_case(R, c, "aj_sync: %s", aj_prog_errmsg(p));
	else
		compare(R, c, b, out, want);
done:
	aj_array_free(out);
	aj_array_free(want);
}

static void run_case(runner *R, tcase *c)
{
	aj_prog *p = NULL;
	binding b = {0};
	R->failing = false;
	R->run[c->kind]++;
	bool bound = false;
	if (aj_prog_new(R->ctx, &p) != AJ_OK)
		fail_case(R, c, "aj_prog_new: %s", aj_ctx_errmsg(R->ctx));
	else
		bound = bind_inputs(R, c, p, &b);
	if (bound && c->kind == CHECK_ERROR)
		run_error(R, c, p, &b);
	else if (bound)
		run_value(R, c, p, &b);
	aj_prog_free(p);
	unbind(&b);
	if (!R->failing)
		R->passed[c->kind]++;
}

/* ---- driver ---- */

static const struct {
	const char *name;
	aj_isa isa;
} isas[] = {
    {"host", AJ_ISA_HOST},
    {"scalar", AJ_ISA_SCALAR},
    {"avx2", AJ_ISA_AVX2},
    {"avx512", AJ_ISA_AVX512},
};

static const char *conf_dir;
static const char *conf_filter;

/* Runs every selected case on ctx's ISA; false if the manifest cannot be
 * read. It is re-read each time: binding cuts its text up. */
static bool run_all(runner *R)
{
	char *text;
	tcase *cases;
	int n = load_manifest(R->dir, &text, &cases);
	for (int i = 0; i < n; i++)
		if (!conf_filter || strstr(cases[i].name, conf_filter))
			run_case(R, &cases[i]);
	free(cases);
	free(text);
	return n >= 0;
}

static void summarize(const runner *R)
{
	int run = 0, passed = 0;
	for (int k = 0; k < NCHECK; k++) {
		run += R->run[k];
		passed += R->passed[k];
	}
	printf("conformance: %d cases run, %d passed, %d failed (", run, passed,
	       R->failed);
	for (int k = 0; k < NCHECK; k++)
		printf("%s%s %d/%d", k ? ", " : "", check_names[k],
		       R->passed[k], R->run[k]);
	aj_stats st;
	aj_ctx_stats(R->ctx, &st);
	printf(" passed); %llu kernels compiled, %llu cache hits\n",
	       (unsigned long long)st.kernels_compiled,
	       (unsigned long long)st.cache_hits);
	fflush(stdout); /* before cmocka's verdict on stderr */
}

/* Whether $AJ_CONFORMANCE_ISA (env) selects isas[i]. */
static bool wants_isa(const char *env, int i)
{
	if (!env || !*env)
		return isas[i].isa == AJ_ISA_HOST;
	if (strcmp(env, "all") == 0)
		return isas[i].isa != AJ_ISA_HOST;
	return strcmp(env, isas[i].name) == 0;
}

static void test_conformance(void **state)
{
	runner R = {.dir = conf_dir};
	const char *env = getenv("AJ_CONFORMANCE_ISA");
	assert_int_equal(aj_ctx_new(&R.ctx), AJ_OK);
	int nisa = 0;
	bool read = true;
	for (size_t i = 0; read && i < sizeof isas / sizeof isas[0]; i++) {
		if (!wants_isa(env, (int)i) ||
		    aj_ctx_set_isa(R.ctx, isas[i].isa) != AJ_OK)
			continue;
		R.isa = isas[i].name;
		nisa++;
		read = run_all(&R);
	}
	summarize(&R);
	aj_ctx_free(R.ctx);
	if (nisa == 0)
		fail_msg("AJ_CONFORMANCE_ISA=%s: no such ISA on this host",
			 env);
	if (!read)
		fail_msg("cannot load the conformance manifest from %s", R.dir);
	if (R.run[CHECK_EXACT] + R.run[CHECK_ULP] + R.run[CHECK_ERROR] == 0)
		fail_msg("no conformance case ran");
	if (R.failed)
		fail_msg("%d conformance case%s failed", R.failed,
			 R.failed == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
	conf_dir = argc > 1 ? argv[1] : getenv("AJ_CONFORMANCE_DIR");
	conf_filter = argc > 2 ? argv[2] : NULL;
	if (!conf_dir) {
		fprintf(stderr,
			"usage: %s DIR [SUBSTRING] (or set "
			"AJ_CONFORMANCE_DIR)\n",
			argv[0]);
		return 2;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conformance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
