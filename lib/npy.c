/*
 * .npy files: NumPy's array file format, read into owned arrays and written
 * from any view.
 *
 *   file     := preamble header data
 *   preamble := "\x93NUMPY" major minor hlen   (hlen: u16 for 1.0, u32 for
 *                                               2.0 and 3.0, little-endian)
 *   header   := hlen bytes: a Python dict literal, padded with spaces and '\n'
 *               {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 *   data     := the elements, C or Fortran order, in descr's byte order
 *
 * Invariants:
 * - Loading never trusts the file: every length is checked against what is
 *   there, and the data size is checked (overflow, 2^48 limit) before any
 *   allocation sized by it. The only allocations are the header text (at
 *   most HEADER_LIMIT) and the array itself.
 * - *out is written only on success, and every failure frees what it made.
 * - A saved file appears whole or not at all: it is written beside the
 *   target under a unique temporary name, synced, then renamed over it.
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC	      "\x93NUMPY"
#define MAGIC_LEN     6
#define HEADER_LIMIT  ((size_t)1 << 20)	 /* NumPy itself caps at 10000 */
#define MAX_NEST      16		 /* brackets inside a descr value */
#define ALIGN	      64		 /* NumPy's ARRAY_ALIGN for the data */
#define GROWTH_DIGITS 21		 /* NumPy's spare room in the dict */
#define DICT_MAX      1024		 /* our own dict: 32 dims fit */
#define CHUNK	      ((size_t)1 << 16)	 /* write buffer for strided data */
#define SHOW_MAX      48		 /* header text quoted in messages */

/* Who is failing on which file, for messages. */
typedef struct npy_src {
	aj_ctx *ctx;
	const char *fn;	  /* the public call */
	const char *name; /* the path, or the caller's name for a buffer */
} npy_src;

/* What the preamble says. */
typedef struct npy_pre {
	size_t hoff; /* where the header text starts: 10 or 12 */
	size_t hlen; /* header text bytes */
} npy_pre;

/* The header's dict as written, before its values are checked. */
typedef struct npy_dict {
	unsigned seen;	   /* bit k: keys[k] was given */
	const char *descr; /* the string's contents, or the raw value text */
	size_t ndescr;
	bool descr_is_str; /* false: a list (structured dtype) or other */
	bool fortran;
	int ndim; /* entries in the tuple; may exceed AJ_MAX_NDIM */
	int64_t shape[AJ_MAX_NDIM]; /* saturated at INT64_MIN / INT64_MAX */
	const char *shape_text;	    /* the tuple as written */
	size_t nshape_text;
} npy_dict;

/* A checked header: what to allocate and how to fill it. */
typedef struct npy_info {
	aj_dtype dtype;
	int swap; /* bytes per byte-swapped unit; 0 when native order */
	bool fortran;
	int ndim;
	int64_t shape[AJ_MAX_NDIM];
	int64_t nbytes;
} npy_info;

/* A cursor over the header text. */
typedef struct reader {
	const npy_src *src;
	const char *start, *p, *end;
} reader;

static aj_status fail(const npy_src *s, aj_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static aj_status fail(const npy_src *s, aj_status st, const char *fmt, ...)
{
	char msg[AJ_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return aj_ctx_error(s->ctx, st, "%s: %s: %s", s->fn, s->name, msg);
}

static aj_status io_fail(const npy_src *s, const char *what, int err)
{
	char buf[128];
	return fail(s, AJ_ERR_IO, "%s: %s", what,
		    strerror_r(err, buf, sizeof buf));
}

/* Copies text[0 .. n) for a message: printable ASCII only, cut at
 * SHOW_MAX. */
static const char *show(const char *text, size_t n, char buf[SHOW_MAX + 4])
{
	size_t k = 0;
	for (; k < n && k < SHOW_MAX; k++)
		buf[k] = isprint((unsigned char)text[k]) ? text[k] : '?';
	strcpy(buf + k, k < n ? "..." : "");
	return buf;
}

static bool host_big_endian(void)
{
	return __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
}

/* ---- preamble ---------------------------------------------------------- */

static aj_status truncated_preamble(const npy_src *s, size_t n)
{
	return fail(s, AJ_ERR_PARSE,
		    "truncated: %zu bytes, too short for the .npy preamble", n);
}

/* Reads magic, version and header length from b[0 .. n). Versions 1.0 and
 * 2.0 differ in the length's width; 3.0 only declares the header UTF-8,
 * which changes nothing for the ASCII this parser accepts. */
static aj_status parse_preamble(const npy_src *s, const unsigned char *b,
				size_t n, npy_pre *pre)
{
	if (memcmp(b, MAGIC, n < MAGIC_LEN ? n : MAGIC_LEN) != 0)
		return fail(s, AJ_ERR_PARSE,
			    "not a .npy file (no \\x93NUMPY magic)");
	if (n < 8)
		return truncated_preamble(s, n);
	if (b[6] < 1 || b[6] > 3 || b[7] != 0)
		return fail(s, AJ_ERR_PARSE,
			    "unsupported format version %d.%d (1.0, 2.0 and "
			    "3.0 are known)",
			    b[6], b[7]);
	pre->hoff = b[6] == 1 ? 10 : 12;
	if (n < pre->hoff)
		return truncated_preamble(s, n);
	pre->hlen = b[8] | (size_t)b[9] << 8;
	if (b[6] > 1)
		pre->hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
	if (pre->hlen > HEADER_LIMIT)
		return fail(s, AJ_ERR_PARSE,
			    "header of %zu bytes is over the limit of 1 MiB",
			    pre->hlen);
	return AJ_OK;
}

/* ---- header: a Python dict literal -------------------------------------
 *
 * dict   := '{' [item (',' item)* [',']] '}'
 * item   := string ':' value       (keys: descr, fortran_order, shape)
 * value  := string | int | True | False | None | tuple | list
 * string := '...' | "..."          (a backslash escapes the next byte)
 * int    := [+-] digits with single '_' between digits [L]
 *
 * A later duplicate key wins, as in Python. The 'L' suffix is Python 2's
 * long, which NumPy still filters out of old 1.0 and 2.0 headers.
 */

static aj_status syntax(reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static aj_status syntax(reader *r, const char *fmt, ...)
{
	char msg[AJ_ERRMSG_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fail(r->src, AJ_ERR_PARSE, "bad header at byte %td: %s",
		    r->p - r->start, msg);
}

static void skip_ws(reader *r)
{
	while (r->p < r->end && memchr(" \t\n\r\f", *r->p, 5))
		r->p++;
}

static bool peek(reader *r, char c)
{
	skip_ws(r);
	return r->p < r->end && *r->p == c;
}

static bool eat(reader *r, char c)
{
	if (!peek(r, c))
		return false;
	r->p++;
	return true;
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Consumes the identifier w if it is next, whole. */
static bool eat_word(reader *r, const char *w)
{
	size_t n = strlen(w);
	skip_ws(r);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0 ||
	    (r->p + n < r->end && is_ident(r->p[n])))
		return false;
	r->p += n;
	return true;
}

/* A quoted string; *s and *n get its contents, escapes left as written. */
static aj_status parse_string(reader *r, const char **s, size_t *n)
{
	skip_ws(r);
	if (r->p == r->end || (*r->p != '\'' && *r->p != '"'))
		return syntax(r, "expected a quoted string");
	char q = *r->p++;
	const char *b = r->p;
	while (r->p < r->end && *r->p != q && *r->p != '\n')
		r->p += *r->p == '\\' && r->end - r->p > 1 ? 2 : 1;
	if (r->p >= r->end || *r->p != q)
		return syntax(r, "unterminated string");
	*s = b;
	*n = (size_t)(r->p++ - b);
	return AJ_OK;
}

/* Appends decimal digit d to *m, saturating above INT64_MAX. */
static void add_digit(uint64_t *m, int d)
{
	*m = *m > ((uint64_t)INT64_MAX + 1 - d) / 10 ? (uint64_t)INT64_MAX + 1
						     : *m * 10 + d;
}

/* An integer, saturated to [INT64_MIN, INT64_MAX] so that a huge extent
 * reads as one and fails the size check rather than the syntax. */
static aj_status parse_int(reader *r, int64_t *v)
{
	bool neg = false;
	uint64_t m = 0;
	if (peek(r, '-') || peek(r, '+'))
		neg = *r->p++ == '-';
	skip_ws(r);
	if (r->p == r->end || !isdigit((unsigned char)*r->p))
		return syntax(r, "expected an integer");
	for (; r->p < r->end; r->p++) {
		if (*r->p == '_' && r->end - r->p > 1 &&
		    isdigit((unsigned char)r->p[1]))
			continue;
		if (!isdigit((unsigned char)*r->p))
			break;
		add_digit(&m, *r->p - '0');
	}
	if (r->p < r->end && (*r->p == 'L' || *r->p == 'l'))
		r->p++;
	if (r->p < r->end && (is_ident(*r->p) || *r->p == '.'))
		return syntax(r, "malformed integer");
	if (m > INT64_MAX)
		*v = neg ? INT64_MIN : INT64_MAX;
	else
		*v = neg ? -(int64_t)m : (int64_t)m;
	return AJ_OK;
}

/* Skips any value; for descr values that are not strings. */
static aj_status skip_value(reader *r, int depth)
{
	int64_t i;
	const char *s;
	size_t n;
	if (depth > MAX_NEST)
		return syntax(r, "brackets nested over %d deep", MAX_NEST);
	if (peek(r, '\'') || peek(r, '"'))
		return parse_string(r, &s, &n);
	if (eat_word(r, "True") || eat_word(r, "False") || eat_word(r, "None"))
		return AJ_OK;
	if (!peek(r, '(') && !peek(r, '['))
		return parse_int(r, &i);
	char close = *r->p++ == '(' ? ')' : ']';
	while (!eat(r, close)) {
		aj_status st = skip_value(r, depth + 1);
		if (st)
			return st;
		if (!eat(r, ',') && !peek(r, close))
			return syntax(r, "expected ',' or '%c'", close);
	}
	return AJ_OK;
}

static aj_status parse_descr(reader *r, npy_dict *d)
{
	skip_ws(r);
	const char *b = r->p;
	d->descr_is_str = peek(r, '\'') || peek(r, '"');
	if (d->descr_is_str)
		return parse_string(r, &d->descr, &d->ndescr);
	aj_status st = skip_value(r, 0);
	d->descr = b;
	d->ndescr = (size_t)(r->p - b);
	return st;
}

static aj_status parse_fortran(reader *r, npy_dict *d)
{
	if (eat_word(r, "True"))
		d->fortran = true;
	else if (eat_word(r, "False"))
		d->fortran = false;
	else
		return syntax(r, "fortran_order is not True or False");
	return AJ_OK;
}

/* shape := '(' ')' | '(' int ',' ')' | '(' int (',' int)+ [','] ')'
 * Entries past AJ_MAX_NDIM are counted, not kept. */
static aj_status parse_shape(reader *r, npy_dict *d)
{
	bool comma = false;
	skip_ws(r);
	d->shape_text = r->p;
	if (!eat(r, '('))
		return syntax(r, "shape is not a tuple");
	for (d->ndim = 0; !eat(r, ')'); d->ndim++) {
		int64_t v;
		aj_status st = parse_int(r, &v);
		if (st)
			return st;
		if (d->ndim < AJ_MAX_NDIM)
			d->shape[d->ndim] = v;
		comma = eat(r, ',');
		if (!comma && !peek(r, ')'))
			return syntax(r, "expected ',' or ')' in shape");
	}
	if (d->ndim == 1 && !comma)
		return syntax(r, "shape is not a tuple (a 1-d shape is (n,))");
	d->nshape_text = (size_t)(r->p - d->shape_text);
	return AJ_OK;
}

/* The keys a header must have, each with its value's parser; bit k of
 * npy_dict.seen records keys[k]. */
static const struct {
	const char *name;
	aj_status (*parse)(reader *r, npy_dict *d);
} keys[] = {
    {"descr", parse_descr},
    {"fortran_order", parse_fortran},
    {"shape", parse_shape},
};
enum { NKEYS = sizeof keys / sizeof keys[0] };

static aj_status parse_item(reader *r, npy_dict *d)
{
	const char *k;
	size_t n;
	char buf[SHOW_MAX + 4];
	aj_status st = parse_string(r, &k, &n);
	if (st)
		return st;
	if (!eat(r, ':'))
		return syntax(r, "expected ':' after a key");
	for (int i = 0; i < NKEYS; i++)
		if (n == strlen(keys[i].name) && !memcmp(k, keys[i].name, n)) {
			d->seen |= 1u << i;
			return keys[i].parse(r, d);
		}
	return syntax(r, "unexpected key '%s'", show(k, n, buf));
}

static aj_status parse_dict(reader *r, npy_dict *d)
{
	if (!eat(r, '{'))
		return syntax(r, "header is not a dict (no '{')");
	while (!eat(r, '}')) {
		aj_status st = parse_item(r, d);
		if (st)
			return st;
		if (!eat(r, ',') && !peek(r, '}'))
			return syntax(r, "expected ',' or '}'");
	}
	skip_ws(r);
	if (r->p != r->end)
		return syntax(r, "text after the dict");
	for (int i = 0; i < NKEYS; i++)
		if (!(d->seen & 1u << i))
			return syntax(r, "no '%s' key", keys[i].name);
	return AJ_OK;
}

/* ---- header: values ---------------------------------------------------- */

/*
 * descr := '?' | [order] kind size
 * kind and size are NumPy's letters and itemsizes, which are the kind and
 * size columns of AJ_DTYPE_TABLE. order: '<' little, '>' big, '|' (not
 * applicable), '=' or none native.
 */
static bool descr_dtype(const char *s, size_t n, aj_dtype *t, bool *big)
{
	size_t i = 0;
	int size = 0;
	*big = host_big_endian();
	if (n == 1 && s[0] == '?') {
		*t = AJ_BOOL;
		return true;
	}
	if (n > 0 && memchr("<>|=", s[0], 4)) {
		if (s[0] == '<' || s[0] == '>')
			*big = s[0] == '>';
		i = 1;
	}
	if (n - i < 2 || n - i > 3)
		return false;
	char kind = s[i++];
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		size = size * 10 + s[i] - '0';
	}
	for (int k = 0; k < AJ_NDTYPE; k++)
		if (aj_dtypes[k].kind == kind && aj_dtypes[k].size == size) {
			*t = (aj_dtype)k;
			return true;
		}
	return false;
}

static aj_status check_descr(const npy_src *s, const npy_dict *d, npy_info *h)
{
	char buf[SHOW_MAX + 4];
	bool big;
	if (!d->descr_is_str)
		return fail(s, AJ_ERR_DTYPE,
			    "descr %s is not a dtype string (structured "
			    "dtypes are not supported)",
			    show(d->descr, d->ndescr, buf));
	if (!descr_dtype(d->descr, d->ndescr, &h->dtype, &big))
		return fail(s, AJ_ERR_DTYPE, "unsupported descr '%s'",
			    show(d->descr, d->ndescr, buf));
	int unit = aj_dtypes[h->dtype].size;
	if (aj_dtypes[h->dtype].kind == 'c')
		unit /= 2; /* real and imaginary parts swap separately */
	h->swap = big != host_big_endian() && unit > 1 ? unit : 0;
	return AJ_OK;
}

/* The data size, under aj_array_new's rules: nonzero extents times the
 * itemsize fit int64 even when another extent is zero, and the bytes fit
 * AJ_MAX_ARRAY_BYTES. */
static aj_status check_shape(const npy_src *s, const npy_dict *d, npy_info *h)
{
	char buf[SHOW_MAX + 4];
	const char *text = show(d->shape_text, d->nshape_text, buf);
	const char *dt = aj_dtypes[h->dtype].name;
	int64_t bytes = aj_dtypes[h->dtype].size;
	bool empty = false;
	if (d->ndim > AJ_MAX_NDIM)
		return fail(s, AJ_ERR_SHAPE,
			    "shape has %d dimensions, over the limit of %d",
			    d->ndim, AJ_MAX_NDIM);
	for (int k = 0; k < d->ndim; k++) {
		if (d->shape[k] < 0)
			return fail(s, AJ_ERR_SHAPE,
				    "negative extent in shape %s", text);
		if (d->shape[k] == 0)
			empty = true;
		else if (!aj_mul_ok(bytes, d->shape[k], &bytes))
			return fail(s, AJ_ERR_OVERFLOW,
				    "shape %s of %s overflows int64 bytes",
				    text, dt);
	}
	h->nbytes = empty ? 0 : bytes;
	if (h->nbytes > AJ_MAX_ARRAY_BYTES)
		return fail(s, AJ_ERR_OVERFLOW,
			    "shape %s of %s is %" PRId64
			    " bytes, over the limit of 2^48",
			    text, dt, h->nbytes);
	h->ndim = d->ndim;
	memcpy(h->shape, d->shape, sizeof h->shape);
	return AJ_OK;
}

/* Parses and checks the header text[0 .. n). */
static aj_status parse_header(const npy_src *s, const char *text, size_t n,
			      npy_info *h)
{
	npy_dict d = {0};
	reader r = {s, text, text, text + n};
	aj_status st = parse_dict(&r, &d);
	if (!st)
		st = check_descr(s, &d, h);
	if (!st)
		st = check_shape(s, &d, h);
	h->fortran = d.fortran;
	return st;
}

/* ---- arrays ------------------------------------------------------------ */

static aj_status truncated_data(const npy_src *s, const npy_info *h,
				int64_t have)
{
	return fail(s, AJ_ERR_PARSE,
		    "truncated: header says %" PRId64
		    " bytes of data, file has %" PRId64,
		    h->nbytes, have);
}

/* An owned C-order array for h's data as stored: a Fortran-order file holds
 * the C order of the reversed shape. */
static aj_status new_array(const npy_src *s, const npy_info *h, aj_array **a)
{
	int64_t shape[AJ_MAX_NDIM];
	for (int k = 0; k < h->ndim; k++)
		shape[k] = h->fortran ? h->shape[h->ndim - 1 - k] : h->shape[k];
	aj_status st = aj_array_new_uninit(s->ctx, h->dtype, h->ndim, shape, a);
	if (st == AJ_ERR_NOMEM)
		return fail(s, st, "out of memory for %" PRId64 " bytes",
			    h->nbytes);
	return st;
}

/* Reverses the bytes of each unit-byte group of p[0 .. nbytes). */
static void swap_units(char *p, int64_t nbytes, int unit)
{
	for (int64_t i = 0; i < nbytes; i += unit)
		for (int lo = 0, hi = unit - 1; lo < hi; lo++, hi--) {
			char c = p[i + lo];
			p[i + lo] = p[i + hi];
			p[i + hi] = c;
		}
}

/* Brings a's data (as stored) to host byte order, then gives a
 * Fortran-order file its Fortran strides by reversing the axes of the
 * reversed-shape array. Takes a; on failure frees it. */
static aj_status finish(const npy_src *s, const npy_info *h, aj_array *a,
			aj_array **out)
{
	aj_array *t;
	if (h->swap)
		swap_units(aj_array_data(a), h->nbytes, h->swap);
	if (!h->fortran) {
		*out = a;
		return AJ_OK;
	}
	aj_status st = aj_view_permute(s->ctx, a, NULL, &t);
	aj_array_free(a);
	if (st)
		return fail(s, st, "out of memory for an array handle");
	*out = t;
	return AJ_OK;
}

/* Checks that b[0 .. len) holds a whole file; *at gets the data offset. */
static aj_status parse_mem(const npy_src *s, const unsigned char *b, size_t len,
			   npy_info *h, size_t *at)
{
	npy_pre pre;
	aj_status st = parse_preamble(s, b, len, &pre);
	if (st)
		return st;
	if (len - pre.hoff < pre.hlen)
		return fail(s, AJ_ERR_PARSE,
			    "truncated: preamble says %zu bytes of header, "
			    "file has %zu",
			    pre.hlen, len - pre.hoff);
	st = parse_header(s, (const char *)b + pre.hoff, pre.hlen, h);
	*at = pre.hoff + pre.hlen;
	if (!st && len - *at < (uint64_t)h->nbytes)
		return truncated_data(s, h, (int64_t)(len - *at));
	return st;
}

aj_status aj_npy_load_mem(aj_ctx *ctx, const void *buf, size_t len,
			  const char *name, aj_array **out)
{
	npy_src s = {ctx, "aj_npy_load_mem", name};
	npy_info h;
	size_t at = 0;
	aj_array *a;
	if (!ctx)
		return AJ_ERR_ARG;
	if (!buf || !name || !out)
		return aj_ctx_error(ctx, AJ_ERR_ARG,
				    "aj_npy_load_mem: %s is NULL",
				    !buf    ? "buf"
				    : !name ? "name"
					    : "out");
	aj_status st = parse_mem(&s, buf, len, &h, &at);
	if (!st)
		st = new_array(&s, &h, &a);
	if (st)
		return st;
	memcpy(aj_array_data(a), (const char *)buf + at, (size_t)h.nbytes);
	return finish(&s, &h, a, out);
}

/* ---- loading from a file ----------------------------------------------- */

/* Reads up to n bytes, short only at end of file; -1 (errno set) on
 * error. */
static int64_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (int64_t)got;
}

/* Reads the preamble; the length field's width depends on the version, so
 * the last two bytes are read only when it is not 1.0. */
static aj_status read_preamble(const npy_src *s, int fd, npy_pre *pre)
{
	unsigned char b[12];
	int64_t n = read_full(fd, b, 10), m = 0;
	if (n == 10 && b[6] != 1)
		m = read_full(fd, b + 10, 2);
	if (n < 0 || m < 0)
		return io_fail(s, "cannot read", errno);
	return parse_preamble(s, b, (size_t)(n + m), pre);
}

static aj_status read_header(const npy_src *s, int fd, const npy_pre *pre,
			     npy_info *h)
{
	char *text = aj_malloc(pre->hlen);
	if (!text)
		return fail(s, AJ_ERR_NOMEM,
			    "out of memory for a %zu-byte header", pre->hlen);
	int64_t n = read_full(fd, text, pre->hlen);
	aj_status st;
	if (n < 0)
		st = io_fail(s, "cannot read", errno);
	else if ((size_t)n < pre->hlen)
		st = fail(s, AJ_ERR_PARSE,
			  "truncated: preamble says %zu bytes of header, file "
			  "has %" PRId64,
			  pre->hlen, n);
	else
		st = parse_header(s, text, pre->hlen, h);
	aj_free(text);
	return st;
}

/* A regular file's size is checked before allocating, so that a header
 * claiming terabytes over a few bytes of data costs nothing. */
static aj_status check_size(const npy_src *s, int fd, const npy_pre *pre,
			    const npy_info *h)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return io_fail(s, "cannot stat", errno);
	int64_t have = (int64_t)sb.st_size - (int64_t)(pre->hoff + pre->hlen);
	if (S_ISREG(sb.st_mode) && have < h->nbytes)
		return truncated_data(s, h, have);
	return AJ_OK;
}

static aj_status read_data(const npy_src *s, int fd, const npy_info *h,
			   aj_array **out)
{
	aj_array *a;
	aj_status st = new_array(s, h, &a);
	if (st)
		return st;
	int64_t n = read_full(fd, aj_array_data(a), (size_t)h->nbytes);
	if (n < 0)
		st = io_fail(s, "cannot read", errno);
	else if (n < h->nbytes)
		st = truncated_data(s, h, n);
	if (st) {
		aj_array_free(a);
		return st;
	}
	return finish(s, h, a, out);
}

aj_status aj_npy_load(aj_ctx *ctx, const char *path, aj_array **out)
{
	npy_src s = {ctx, "aj_npy_load", path};
	npy_pre pre;
	npy_info h;
	if (!ctx)
		return AJ_ERR_ARG;
	if (!path || !out)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "aj_npy_load: %s is NULL",
				    !path ? "path" : "out");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_fail(&s, "cannot open", errno);
	aj_status st = read_preamble(&s, fd, &pre);
	if (!st)
		st = read_header(&s, fd, &pre, &h);
	if (!st)
		st = check_size(&s, fd, &pre, &h);
	if (!st)
		st = read_data(&s, fd, &h, out);
	close(fd);
	return st;
}

/* ---- saving ------------------------------------------------------------ */

/* The dict NumPy (1.24) writes for a C-order array of a's dtype and shape,
 * with its spare room for the first axis to grow, so that our files are
 * byte for byte NumPy's. Data in host order; descr says which. */
static size_t fill_dict(const aj_array *a, char buf[DICT_MAX])
{
	const aj_dtype_info *t = &aj_dtypes[a->dtype];
	char order = t->size == 1 ? '|' : host_big_endian() ? '>' : '<';
	int n = snprintf(buf, DICT_MAX,
			 "{'descr': '%c%c%d', 'fortran_order': False, "
			 "'shape': (",
			 order, t->kind, t->size);
	for (int k = 0; k < a->ndim; k++)
		n += snprintf(buf + n, DICT_MAX - n, "%s%" PRId64,
			      k ? ", " : "", a->shape[k]);
	n += snprintf(buf + n, DICT_MAX - n, "%s), }", a->ndim == 1 ? "," : "");
	if (a->ndim > 0) {
		int digits = snprintf(NULL, 0, "%" PRId64, a->shape[0]);
		n += snprintf(buf + n, DICT_MAX - n, "%*s",
			      GROWTH_DIGITS - digits, "");
	}
	return (size_t)n;
}

/* Preamble and header for a: version 1.0 unless the header length needs
 * 4 bytes; spaces and '\n' pad the data offset to a multiple of ALIGN. */
static size_t fill_preamble(const aj_array *a, char buf[DICT_MAX + 80])
{
	char dict[DICT_MAX];
	size_t n = fill_dict(a, dict);
	int major = n + 1 + ALIGN > 0xffff ? 2 : 1; /* never, for 32 dims */
	size_t hoff = major == 1 ? 10 : 12;
	size_t pad = ALIGN - (hoff + n + 1) % ALIGN;
	size_t hlen = n + pad + 1;
	memcpy(buf, MAGIC, MAGIC_LEN);
	buf[6] = (char)major;
	buf[7] = 0;
	for (size_t k = 8; k < hoff; k++)
		buf[k] = (char)(hlen >> 8 * (k - 8));
	memcpy(buf + hoff, dict, n);
	memset(buf + hoff + n, ' ', pad);
	buf[hoff + hlen - 1] = '\n';
	return hoff + hlen;
}

static aj_status write_all(const npy_src *s, int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_fail(s, "cannot write", w < 0 ? errno : EIO);
		p += w;
		n -= (size_t)w;
	}
	return AJ_OK;
}

/* Advances idx over axes [0, n) in C order; false after the last. */
static bool next_index(const aj_array *a, int n, int64_t *idx)
{
	for (int k = n - 1; k >= 0; k--) {
		if (++idx[k] < a->shape[k])
			return true;
		idx[k] = 0;
	}
	return false;
}

/* Writes a non-empty, non-contiguous a (so ndim >= 1) in C order, a row of
 * the last axis at a time, through a CHUNK-byte buffer. */
static aj_status write_strided(const npy_src *s, int fd, const aj_array *a)
{
	int64_t idx[AJ_MAX_NDIM] = {0}, isz = aj_dtypes[a->dtype].size;
	int last = a->ndim - 1;
	size_t n = 0;
	aj_status st = AJ_OK;
	char *buf = aj_malloc(CHUNK);
	if (!buf)
		return fail(s, AJ_ERR_NOMEM, "out of memory for a buffer");
	do {
		const char *row = a->data;
		for (int k = 0; k < last; k++)
			row += idx[k] * a->strides[k];
		for (int64_t i = 0; i < a->shape[last] && !st; i++) {
			memcpy(buf + n, row + i * a->strides[last], isz);
			n += isz;
			if (n + isz > CHUNK) {
				st = write_all(s, fd, buf, n);
				n = 0;
			}
		}
	} while (!st && next_index(a, last, idx));
	if (!st)
		st = write_all(s, fd, buf, n);
	aj_free(buf);
	return st;
}

static aj_status write_data(const npy_src *s, int fd, const aj_array *a)
{
	int64_t n = aj_array_size(a) * aj_dtypes[a->dtype].size;
	if (n == 0)
		return AJ_OK;
	if (aj_array_is_c_contiguous(a))
		return write_all(s, fd, a->data, (size_t)n);
	return write_strided(s, fd, a);
}

/* A well-mixed 64-bit value (splitmix64's finaliser). */
static uint64_t mix(uint64_t x)
{
	x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9u;
	x = (x ^ x >> 27) * 0x94d049bb133111ebu;
	return x ^ x >> 31;
}

/* Creates path + ".tmpXXXXXX" exclusively. Unlike mkstemp's 0600 it asks
 * for mode 0666, so the umask decides, as for np.save. The suffix mixes
 * time, pid and a stack address (distinct per thread); a clash retries. */
static aj_status open_temp(const npy_src *s, const char *path, char **name,
			   int *fd)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t n = strlen(path);
	struct timespec ts;
	*name = aj_malloc(n + sizeof ".tmpXXXXXX");
	if (!*name)
		return fail(s, AJ_ERR_NOMEM, "out of memory for a file name");
	for (int attempt = 0; attempt < 100; attempt++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t r =
		    mix((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
			(uint64_t)getpid() << 40 ^ (uint64_t)(uintptr_t)&ts ^
			(uint64_t)attempt);
		memcpy(*name, path, n);
		memcpy(*name + n, ".tmp", 4);
		for (int k = 0; k < 6; k++, r /= 62)
			(*name)[n + 4 + k] = letters[r % 62];
		(*name)[n + 10] = '\0';
		*fd =
		    open(*name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (*fd >= 0 || errno != EEXIST)
			break;
	}
	if (*fd >= 0)
		return AJ_OK;
	aj_status st =
	    io_fail(s, "cannot create a temporary file beside it", errno);
	aj_free(*name);
	return st;
}

/* Ends the temporary file: after a successful write, syncs, closes and
 * renames it to path; on any failure, removes it. Frees name. */
static aj_status close_temp(const npy_src *s, char *name, int fd,
			    const char *path, aj_status st)
{
	if (!st && fsync(fd) != 0)
		st = io_fail(s, "cannot write", errno);
	if (close(fd) != 0 && !st)
		st = io_fail(s, "cannot write", errno);
	if (!st && rename(name, path) != 0)
		st =
		    io_fail(s, "cannot rename the temporary file to it", errno);
	if (st)
		unlink(name);
	aj_free(name);
	return st;
}

aj_status aj_npy_save(aj_ctx *ctx, const char *path, const aj_array *a)
{
	npy_src s = {ctx, "aj_npy_save", path};
	char head[DICT_MAX + 80], *name;
	int fd = -1;
	if (!ctx)
		return AJ_ERR_ARG;
	if (!path || !a)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "aj_npy_save: %s is NULL",
				    !path ? "path" : "array");
	size_t n = fill_preamble(a, head);
	aj_status st = open_temp(&s, path, &name, &fd);
	if (st)
		return st;
	st = write_all(&s, fd, head, n);
	if (!st)
		st = write_data(&s, fd, a);
	return close_temp(&s, name, fd, path, st);
}
