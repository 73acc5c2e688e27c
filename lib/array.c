/*
 * Arrays and views: wrapping caller memory, owned buffers, and the NumPy
 * view operations (slice, index, permute, reshape, broadcast, expand_dims,
 * flip, squeeze, moveaxis, diagonal, ravel). A view is a new handle over
 * the same bytes; nothing is ever copied.
 *
 * Invariants, established when a handle is made and kept by every view:
 * - Shape entries are >= 0, and the nonzero ones times the itemsize multiply
 *   to at most INT64_MAX (NumPy's "array is too big" rule), so sizes, byte
 *   counts and C-order strides never overflow.
 * - Every element of a non-empty array lies in [lo, hi). aj_array_wrap checks
 *   this with overflow-checked arithmetic; views only select or repeat their
 *   parent's elements. Hence index * stride for an in-range index, and sums
 *   of such terms, fit int64 and are computed unchecked.
 * - data lies in [lo, hi]. An empty array has no element (0, 0, ...), so its
 *   data is never dereferenced and views of it leave data where it is rather
 *   than forming addresses of absent elements.
 * - Owned memory (buf != NULL) is refcounted: each handle holds one
 *   reference, and the last aj_array_free() releases the memory (to the
 *   buffer pool, or through the release hook of adopted memory).
 */
#include "bufpool.h"
#include "core.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* NumPy would try; we refuse, since no machine here has 256 TiB. */
#define SHAPE_TEXT	128

static int64_t itemsize(aj_dtype t)
{
	return aj_dtypes[t].size;
}

/* p + off without forming NULL + 0, which C leaves undefined. */
static char *at(char *p, int64_t off)
{
	return off ? p + off : p;
}

/* a * b modulo 2^64, as NumPy computes it. Only products that feed the
 * stride of an axis that never addresses memory (length <= 1, or in an empty
 * array) can wrap. */
static int64_t wrapmul(int64_t a, int64_t b)
{
	int64_t r;
	(void)__builtin_mul_overflow(a, b, &r);
	return r;
}

/* a + b modulo 2^64: a diagonal's stride, which can wrap only where it
 * never addresses memory (as for wrapmul). */
static int64_t wrapadd(int64_t a, int64_t b)
{
	int64_t r;
	(void)__builtin_add_overflow(a, b, &r);
	return r;
}

/* "(3, 4)" for error messages, truncated to fit buf[SHAPE_TEXT]. */
static const char *shape_str(char *buf, int ndim, const int64_t *shape)
{
	return aj_shape_text(buf, SHAPE_TEXT, ndim, shape);
}

/* Element count, or -1 when the nonzero extents times isz overflow int64. */
static int64_t count_elems(int ndim, const int64_t *shape, int64_t isz)
{
	int64_t bytes = isz;
	bool empty = false;
	for (int k = 0; k < ndim; k++) {
		if (shape[k] == 0)
			empty = true;
		else if (!aj_mul_ok(bytes, shape[k], &bytes))
			return -1;
	}
	return empty ? 0 : bytes / isz;
}

static bool is_empty(const aj_array *a)
{
	return aj_shape_empty(a->ndim, a->shape);
}

/* Checks ndim and shape for an array of dtype t (already validated). */
static aj_status check_shape(aj_ctx *ctx, const char *fn, aj_dtype t, int ndim,
			     const int64_t *shape)
{
	char s[SHAPE_TEXT];
	if (ndim < 0 || ndim > AJ_MAX_NDIM)
		return aj_ctx_error(ctx, AJ_ERR_SHAPE,
				    "%s: ndim %d outside [0, %d]", fn, ndim,
				    AJ_MAX_NDIM);
	if (ndim > 0 && !shape)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: shape is NULL", fn);
	for (int k = 0; k < ndim; k++)
		if (shape[k] < 0)
			return aj_ctx_error(ctx, AJ_ERR_SHAPE,
					    "%s: negative extent in shape %s",
					    fn, shape_str(s, ndim, shape));
	if (count_elems(ndim, shape, itemsize(t)) < 0)
		return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
				    "%s: array too big: shape %s of %s "
				    "overflows int64 bytes",
				    fn, shape_str(s, ndim, shape),
				    aj_dtypes[t].name);
	return AJ_OK;
}

/* NumPy's C-order strides; zero extents count as one, as NumPy does. */
static void fill_c_strides(aj_array *a)
{
	int64_t sd = itemsize(a->dtype);
	for (int k = a->ndim - 1; k >= 0; k--) {
		a->strides[k] = sd;
		if (a->shape[k])
			sd *= a->shape[k];
	}
}

/* Validates dtype and shape, then fills t as a C-order array with no
 * memory yet. */
static aj_status fill_header(aj_ctx *ctx, const char *fn, aj_dtype dtype,
			     int ndim, const int64_t *shape, aj_array *t)
{
	if ((unsigned)dtype >= AJ_NDTYPE)
		return aj_ctx_error(ctx, AJ_ERR_DTYPE, "%s: unknown dtype %d",
				    fn, (int)dtype);
	aj_status st = check_shape(ctx, fn, dtype, ndim, shape);
	if (st)
		return st;
	memset(t, 0, sizeof *t);
	t->ctx = ctx;
	t->dtype = dtype;
	t->ndim = ndim;
	if (ndim > 0)
		memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
	fill_c_strides(t);
	return AJ_OK;
}

/* Byte offsets, relative to data, of the lowest and highest element of a
 * non-empty array; false if a sum overflows int64. */
static bool offset_range(const aj_array *a, int64_t *lo, int64_t *hi)
{
	*lo = *hi = 0;
	for (int k = 0; k < a->ndim; k++) {
		int64_t e;
		if (!aj_mul_ok(a->shape[k] - 1, a->strides[k], &e))
			return false;
		if (!aj_add_ok(e < 0 ? *lo : *hi, e, e < 0 ? lo : hi))
			return false;
	}
	return true;
}

bool aj_array_extent(const aj_array *a, char **first, char **last)
{
	int64_t lo, hi;
	if (is_empty(a) || !offset_range(a, &lo, &hi))
		return false;
	*first = a->data + lo;
	*last = a->data + hi + itemsize(a->dtype) - 1;
	return true;
}

/* Checks that t, placed offset bytes into buf[0 .. nbytes), has all its
 * elements inside the buffer. */
static aj_status check_wrap_bounds(aj_ctx *ctx, const char *fn,
				   const aj_array *t, const void *buf,
				   size_t nbytes, int64_t offset)
{
	if (nbytes > (size_t)INT64_MAX)
		return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
				    "%s: nbytes %zu overflows int64", fn,
				    nbytes);
	int64_t n = (int64_t)nbytes, lo, hi;
	bool empty = is_empty(t);
	if (!buf && (n > 0 || !empty))
		return aj_ctx_error(ctx, AJ_ERR_ARG,
				    "%s: buf is NULL but the array has "
				    "elements or nbytes is %" PRId64,
				    fn, n);
	if (offset < 0 || offset > n)
		return aj_ctx_error(ctx, AJ_ERR_BOUNDS,
				    "%s: offset %" PRId64
				    " outside the %" PRId64 "-byte buffer",
				    fn, offset, n);
	if (empty)
		return AJ_OK;
	if (!offset_range(t, &lo, &hi) || !aj_add_ok(lo, offset, &lo) ||
	    !aj_add_ok(hi, offset, &hi) ||
	    !aj_add_ok(hi, itemsize(t->dtype), &hi))
		return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
				    "%s: byte extent of the elements "
				    "overflows int64",
				    fn);
	if (lo < 0 || hi > n)
		return aj_ctx_error(ctx, AJ_ERR_BOUNDS,
				    "%s: elements span bytes [%" PRId64
				    ", %" PRId64 ") of a %" PRId64
				    "-byte buffer",
				    fn, lo, hi, n);
	return AJ_OK;
}

/* Copies the finished handle t to the heap, taking a reference on its
 * owner. The only allocation of a view, so failures before it leak nothing. */
static aj_status publish(aj_ctx *ctx, const aj_array *t, aj_array **out)
{
	aj_array *a = aj_malloc(sizeof *a);
	if (!a)
		return aj_ctx_error(ctx, AJ_ERR_NOMEM,
				    "out of memory for an array handle");
	*a = *t;
	if (a->buf)
		atomic_fetch_add(&a->buf->refs, 1);
	*out = a;
	return AJ_OK;
}

/* The handle aj_array_wrap makes, in t, with no owner. */
static aj_status wrap_header(aj_ctx *ctx, const char *fn, void *buf,
			     size_t nbytes, int64_t offset, aj_dtype dtype,
			     int ndim, const int64_t *shape,
			     const int64_t *strides, aj_array *t)
{
	aj_status st = fill_header(ctx, fn, dtype, ndim, shape, t);
	if (st)
		return st;
	if (strides && ndim > 0)
		memcpy(t->strides, strides, (size_t)ndim * sizeof *strides);
	st = check_wrap_bounds(ctx, fn, t, buf, nbytes, offset);
	if (st)
		return st;
	t->lo = buf;
	t->hi = at(buf, (int64_t)nbytes);
	t->data = at(buf, offset);
	return AJ_OK;
}

aj_status aj_array_wrap(aj_ctx *ctx, void *buf, size_t nbytes, int64_t offset,
			aj_dtype dtype, int ndim, const int64_t *shape,
			const int64_t *strides, aj_array **out)
{
	aj_array t;
	if (!ctx)
		return AJ_ERR_ARG;
	if (!out)
		return aj_ctx_error(ctx, AJ_ERR_ARG,
				    "aj_array_wrap: out is NULL");
	aj_status st = wrap_header(ctx, "aj_array_wrap", buf, nbytes, offset,
				   dtype, ndim, shape, strides, &t);
	if (st)
		return st;
	return publish(ctx, &t, out);
}

aj_status aj_array_adopt(aj_ctx *ctx, const char *fn, void *buf,
			 size_t nbytes, int64_t offset, aj_dtype dtype,
			 int ndim, const int64_t *shape,
			 const int64_t *strides, void (*release)(void *arg),
			 void *arg, aj_array **out)
{
	aj_array t;
	aj_status st = wrap_header(ctx, fn, buf, nbytes, offset, dtype, ndim,
				   shape, strides, &t);
	if (st)
		return st;
	if (!release)
		return publish(ctx, &t, out);
	aj_buf *b = aj_calloc(1, sizeof *b);
	if (!b)
		return aj_ctx_error(ctx, AJ_ERR_NOMEM,
				    "%s: out of memory for an array handle",
				    fn);
	atomic_init(&b->refs, 0);
	b->mem = buf;
	b->cap = nbytes;
	b->release = release;
	b->release_arg = arg;
	t.buf = b;
	st = publish(ctx, &t, out);
	if (st)
		aj_free(b);
	return st;
}

aj_status aj_array_dup(aj_ctx *ctx, const aj_array *a, aj_array **out)
{
	return publish(ctx, a, out);
}

/* Returns buffer b's memory to where it came from, and frees b. */
static void free_buf(aj_buf *b)
{
	if (b->release)
		b->release(b->release_arg);
	else if (b->pool)
		aj_bufpool_put(b->pool, b->mem, b->cap);
	else
		aj_free(b->mem);
	aj_free(b);
}

/* Gives t a 64-byte aligned buffer of nbytes from the context's pool,
 * zero-filled if zero, with no references yet (publish takes the first). */
static aj_status alloc_buf(aj_ctx *ctx, const char *fn, int64_t nbytes, bool zero,
			   aj_array *t)
{
	aj_buf *b = aj_malloc(sizeof *b);
	bool reused;
	void *mem = b ? aj_bufpool_get(ctx->bufpool, (size_t)nbytes, &b->cap, &reused)
		      : NULL;
	if (!b || !mem) {
		aj_free(b);
		return aj_ctx_error(ctx, AJ_ERR_NOMEM,
				    "%s: out of memory for %" PRId64 " bytes", fn,
				    nbytes);
	}
	if (zero)
		memset(mem, 0, (size_t)nbytes);
	atomic_init(&b->refs, 0);
	b->mem = mem;
	b->release = NULL;
	b->pool = aj_bufpool_pooled((size_t)nbytes) ? ctx->bufpool : NULL;
	t->buf = b;
	t->lo = t->data = mem;
	t->hi = at(mem, nbytes);
	return AJ_OK;
}

static aj_status new_array(aj_ctx *ctx, const char *fn, aj_dtype dtype, int ndim,
			   const int64_t *shape, bool zero, aj_array **out)
{
	aj_array t;
	if (!ctx)
		return AJ_ERR_ARG;
	if (!out)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: out is NULL", fn);
	aj_status st = fill_header(ctx, fn, dtype, ndim, shape, &t);
	if (st)
		return st;
	int64_t nbytes =
	    count_elems(ndim, shape, itemsize(dtype)) * itemsize(dtype);
	if (nbytes > AJ_MAX_ARRAY_BYTES)
		return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
				    "%s: %" PRId64 " bytes is over the limit of 2^48",
				    fn, nbytes);
	st = alloc_buf(ctx, fn, nbytes, zero, &t);
	if (st)
		return st;
	st = publish(ctx, &t, out);
	if (st)
		free_buf(t.buf);
	return st;
}

aj_status aj_array_new(aj_ctx *ctx, aj_dtype dtype, int ndim,
		       const int64_t *shape, aj_array **out)
{
	return new_array(ctx, "aj_array_new", dtype, ndim, shape, true, out);
}

aj_status aj_array_new_uninit(aj_ctx *ctx, aj_dtype dtype, int ndim,
			      const int64_t *shape, aj_array **out)
{
	return new_array(ctx, "aj_array_new", dtype, ndim, shape, false, out);
}

void aj_array_free(aj_array *a)
{
	if (!a)
		return;
	if (a->buf && atomic_fetch_sub(&a->buf->refs, 1) == 1)
		free_buf(a->buf);
	aj_free(a);
}

aj_dtype aj_array_dtype(const aj_array *a)
{
	return a ? a->dtype : AJ_NDTYPE;
}

int aj_array_ndim(const aj_array *a)
{
	return a ? a->ndim : 0;
}

const int64_t *aj_array_shape(const aj_array *a)
{
	return a ? a->shape : NULL;
}

const int64_t *aj_array_strides(const aj_array *a)
{
	return a ? a->strides : NULL;
}

void *aj_array_data(const aj_array *a)
{
	return a ? a->data : NULL;
}

int64_t aj_array_size(const aj_array *a)
{
	return a ? count_elems(a->ndim, a->shape, itemsize(a->dtype)) : 0;
}

bool aj_array_readonly(const aj_array *a)
{
	return !a || a->readonly;
}

/* ---- views: each kind a step, applied to a handle in place ---- */

static const char *const vstep_name[] = {
	[AJ_V_SLICE] = "aj_view_slice",
	[AJ_V_INDEX] = "aj_view_index",
	[AJ_V_PERMUTE] = "aj_view_permute",
	[AJ_V_RESHAPE] = "aj_view_reshape",
	[AJ_V_BROADCAST] = "aj_view_broadcast",
	[AJ_V_EXPAND_DIMS] = "aj_view_expand_dims",
	[AJ_V_FLIP] = "aj_view_flip",
	[AJ_V_SQUEEZE] = "aj_view_squeeze",
	[AJ_V_MOVEAXIS] = "aj_view_moveaxis",
	[AJ_V_DIAGONAL] = "aj_view_diagonal",
	[AJ_V_RAVEL] = "aj_view_ravel",
};

/* Maps axis from [-n, n) onto [0, n); false when outside. */
static bool norm_axis(int *axis, int n)
{
	if (*axis < -n || *axis >= n)
		return false;
	if (*axis < 0)
		*axis += n;
	return true;
}

/* norm_axis for fn's argument what, recording the error when outside. */
static aj_status take_axis(aj_ctx *ctx, const char *fn, const char *what,
			   int *axis, int n)
{
	if (norm_axis(axis, n))
		return AJ_OK;
	return aj_ctx_error(ctx, AJ_ERR_ARG,
			    "%s: %s %d out of range for %d dimensions", fn,
			    what, *axis, n);
}

/* One bound of Python's slice.indices(): negative counts from the end, then
 * clamps to [lower, upper]; AJ_DEFAULT gives dflt. */
static int64_t clamp_bound(int64_t i, int64_t n, int64_t lower, int64_t upper,
			   int64_t dflt)
{
	if (i == AJ_DEFAULT)
		return dflt;
	if (i < 0) {
		i += n;
		return i < lower ? lower : i;
	}
	return i > upper ? upper : i;
}

/* Python's range(n)[s]: its first index and its length. step != 0; an
 * AJ_DEFAULT step is 1, like Python's None. */
static void slice_indices(aj_slice s, int64_t n, int64_t *first, int64_t *len)
{
	int64_t step = s.step == AJ_DEFAULT ? 1 : s.step;
	int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? n - 1 : n;
	int64_t b =
	    clamp_bound(s.start, n, lower, upper, step < 0 ? upper : lower);
	int64_t e =
	    clamp_bound(s.stop, n, lower, upper, step < 0 ? lower : upper);
	if (step < 0)
		*len = b > e ? (b - e - 1) / -step + 1 : 0;
	else
		*len = e > b ? (e - b - 1) / step + 1 : 0;
	*first = b;
}

/* Makes t, a copy of a, into a[s]; s has a nonzero step per axis. */
static void fill_slices(const aj_array *a, const aj_slice *s, aj_array *t)
{
	int64_t first[AJ_MAX_NDIM];
	for (int k = 0; k < a->ndim; k++) {
		int64_t step = s[k].step == AJ_DEFAULT ? 1 : s[k].step;
		slice_indices(s[k], a->shape[k], &first[k], &t->shape[k]);
		t->strides[k] = wrapmul(a->strides[k], step);
	}
	if (!is_empty(t))
		for (int k = 0; k < a->ndim; k++)
			t->data += first[k] * a->strides[k];
}

static aj_status slice_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			    const aj_slice *s, aj_array *t)
{
	if (!s && a->ndim > 0)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: slices are NULL", fn);
	for (int k = 0; k < a->ndim; k++)
		if (s[k].step == 0)
			return aj_ctx_error(ctx, AJ_ERR_ARG,
					    "%s: step 0 on axis %d", fn, k);
	fill_slices(a, s, t);
	return AJ_OK;
}

static aj_status index_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			    int axis, int64_t i, aj_array *t)
{
	aj_status st = take_axis(ctx, fn, "axis", &axis, a->ndim);
	if (st)
		return st;
	int64_t n = a->shape[axis];
	if (i < -n || i >= n)
		return aj_ctx_error(ctx, AJ_ERR_BOUNDS,
				    "%s: index %" PRId64 " out of range for "
				    "axis %d of length %" PRId64,
				    fn, i, axis, n);
	if (i < 0)
		i += n;
	t->ndim--;
	for (int k = axis; k < t->ndim; k++) {
		t->shape[k] = a->shape[k + 1];
		t->strides[k] = a->strides[k + 1];
	}
	if (!is_empty(t))
		t->data += i * a->strides[axis];
	return AJ_OK;
}

/* Fills p from perm (NULL: reversed axes), normalising negative axes;
 * perm must be a permutation of the ndim axes. */
static aj_status fill_perm(aj_ctx *ctx, const char *fn, int ndim,
			  const int *perm, int *p)
{
	bool seen[AJ_MAX_NDIM] = {false};
	for (int k = 0; k < ndim; k++) {
		int ax = perm ? perm[k] : ndim - 1 - k;
		aj_status st = take_axis(ctx, fn, "axis", &ax, ndim);
		if (st)
			return st;
		if (seen[ax])
			return aj_ctx_error(ctx, AJ_ERR_ARG,
					    "%s: axis %d repeated", fn, ax);
		seen[ax] = true;
		p[k] = ax;
	}
	return AJ_OK;
}

/* Makes t's axis k a's axis p[k], for a permutation p. */
static void apply_perm(const aj_array *a, const int *p, aj_array *t)
{
	for (int k = 0; k < a->ndim; k++) {
		t->shape[k] = a->shape[p[k]];
		t->strides[k] = a->strides[p[k]];
	}
}

static aj_status permute_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			      const int *perm, aj_array *t)
{
	int p[AJ_MAX_NDIM];
	aj_status st = fill_perm(ctx, fn, a->ndim, perm, p);
	if (!st)
		apply_perm(a, p, t);
	return st;
}

bool aj_same_elements(const aj_array *a, const aj_array *b)
{
	return a->data == b->data && itemsize(a->dtype) == itemsize(b->dtype) &&
	       a->ndim == b->ndim &&
	       !memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) &&
	       !memcmp(a->strides, b->strides, (size_t)a->ndim * sizeof a->strides[0]);
}

bool aj_array_is_c_contiguous(const aj_array *a)
{
	int64_t sd = itemsize(a->dtype);
	bool contig = true;
	for (int k = a->ndim - 1; k >= 0; k--) {
		if (a->shape[k] == 0)
			return true;
		if (a->shape[k] != 1) {
			contig = contig && a->strides[k] == sd;
			sd *= a->shape[k];
		}
	}
	return contig;
}
/*
 * NumPy's _attempt_nocopy_reshape, C order, for a non-empty a and t holding
 * a's view with its new shape. Drops a's length-1 axes, then walks old and
 * new axes together, grouping runs whose extents have equal products. A
 * group's old axes merge only if each stride equals the next axis's extent
 * times its stride; its new axes then take C-order strides ending in the
 * group's last old stride. Trailing new length-1 axes take the last stride.
 * False when some group cannot merge.
 */
static bool nocopy_reshape(const aj_array *a, aj_array *t)
{
	int64_t od[AJ_MAX_NDIM], os[AJ_MAX_NDIM], m;
	const int64_t *nd = t->shape;
	int64_t *ns = t->strides;
	int on = 0, oi = 0, oj = 1, ni = 0, nj = 1;
	for (int k = 0; k < a->ndim; k++)
		if (a->shape[k] != 1) {
			od[on] = a->shape[k];
			os[on++] = a->strides[k];
		}
	while (ni < t->ndim && oi < on) {
		int64_t np = nd[ni], op = od[oi];
		while (np != op)
			if (np < op)
				np *= nd[nj++];
			else
				op *= od[oj++];
		for (int ok = oi; ok < oj - 1; ok++)
			if (!aj_mul_ok(od[ok + 1], os[ok + 1], &m) ||
			    os[ok] != m)
				return false;
		ns[nj - 1] = os[oj - 1];
		for (int nk = nj - 1; nk > ni; nk--)
			ns[nk - 1] = wrapmul(ns[nk], nd[nk]);
		ni = nj++;
		oi = oj++;
	}
	int64_t last = ni >= 1 ? ns[ni - 1] : itemsize(t->dtype);
	for (int nk = ni; nk < t->ndim; nk++)
		ns[nk] = last;
	return true;
}

/* Strides for t, a's view given a new shape of the same size, as NumPy's
 * reshape picks them; false when no view can express it. */
static bool fill_reshape_strides(const aj_array *a, aj_array *t)
{
	if (aj_array_is_c_contiguous(a)) {
		fill_c_strides(t);
		return true;
	}
	return nocopy_reshape(a, t);
}

static aj_status reshape_mismatch(aj_ctx *ctx, const char *fn, const aj_array *a,
				  int ndim, const int64_t *shape)
{
	char s[SHAPE_TEXT];
	return aj_ctx_error(ctx, AJ_ERR_SHAPE,
			    "%s: cannot reshape array of size %" PRId64
			    " into shape %s",
			    fn, aj_array_size(a), shape_str(s, ndim, shape));
}

/* Copies shape into t, resolving one -1 so that the sizes match (NumPy's
 * _fix_unknown_dimension). */
static aj_status fill_new_shape(aj_ctx *ctx, const char *fn, const aj_array *a,
				int ndim, const int64_t *shape, aj_array *t)
{
	int unknown = -1;
	int64_t known = 1, size = aj_array_size(a);
	for (int k = 0; k < ndim; k++) {
		t->shape[k] = shape[k];
		if (shape[k] == -1 && unknown < 0)
			unknown = k;
		else if (shape[k] < 0)
			return aj_ctx_error(ctx, AJ_ERR_SHAPE, "%s: %s", fn,
					    shape[k] == -1 ? "more than one -1"
							   : "negative extent");
		else if (!aj_mul_ok(known, shape[k], &known))
			return reshape_mismatch(ctx, fn, a, ndim, shape);
	}
	if (unknown < 0 ? known != size : known == 0 || size % known)
		return reshape_mismatch(ctx, fn, a, ndim, shape);
	if (unknown >= 0)
		t->shape[unknown] = size / known;
	t->ndim = ndim;
	return AJ_OK;
}

static bool same_shape(const aj_array *a, int ndim, const int64_t *shape)
{
	if (ndim != a->ndim)
		return false;
	for (int k = 0; k < ndim; k++)
		if (shape[k] != a->shape[k])
			return false;
	return true;
}

static aj_status layout_error(aj_ctx *ctx, const char *fn, const aj_array *a,
			      const aj_array *t)
{
	char s[SHAPE_TEXT], st[SHAPE_TEXT], ns[SHAPE_TEXT];
	return aj_ctx_error(ctx, AJ_ERR_LAYOUT,
			    "%s: shape %s with byte strides %s cannot be "
			    "viewed as shape %s without a copy; assign it to "
			    "a new array first",
			    fn, shape_str(s, a->ndim, a->shape),
			    shape_str(st, a->ndim, a->strides),
			    shape_str(ns, t->ndim, t->shape));
}

static aj_status reshape_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			      int ndim, const int64_t *shape, aj_array *t)
{
	if (ndim < 0 || ndim > AJ_MAX_NDIM)
		return aj_ctx_error(ctx, AJ_ERR_SHAPE,
				    "%s: ndim %d outside [0, %d]", fn, ndim,
				    AJ_MAX_NDIM);
	if (ndim > 0 && !shape)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: shape is NULL", fn);
	/* NumPy returns an unchanged shape as is, strides and all. */
	if (same_shape(a, ndim, shape))
		return AJ_OK;
	aj_status st = fill_new_shape(ctx, fn, a, ndim, shape, t);
	if (!st)
		st = check_shape(ctx, fn, t->dtype, ndim, t->shape);
	if (st)
		return st;
	if (!fill_reshape_strides(a, t))
		return layout_error(ctx, fn, a, t);
	return AJ_OK;
}

static aj_status broadcast_error(aj_ctx *ctx, const char *fn, const aj_array *a,
				 int ndim, const int64_t *shape)
{
	char s[SHAPE_TEXT], ts[SHAPE_TEXT];
	return aj_ctx_error(ctx, AJ_ERR_SHAPE,
			    "%s: cannot broadcast shape %s to %s", fn,
			    shape_str(s, a->ndim, a->shape),
			    shape_str(ts, ndim, shape));
}

/*
 * NumPy broadcast_to: a's axes align with the last ones of shape; each must
 * equal its target or be 1. Length-1 and new leading axes get stride 0, as
 * in the views NumPy's iterator makes.
 */
static aj_status broadcast_into(aj_ctx *ctx, const char *fn, const aj_array *a,
				int ndim, const int64_t *shape, aj_array *t)
{
	aj_status st = check_shape(ctx, fn, a->dtype, ndim, shape);
	if (st)
		return st;
	int lead = ndim - a->ndim;
	if (lead < 0)
		return broadcast_error(ctx, fn, a, ndim, shape);
	for (int k = 0; k < ndim; k++) {
		int64_t from = k < lead ? 1 : a->shape[k - lead];
		if (from != shape[k] && from != 1)
			return broadcast_error(ctx, fn, a, ndim, shape);
		t->shape[k] = shape[k];
		t->strides[k] = from == 1 ? 0 : a->strides[k - lead];
	}
	t->ndim = ndim;
	t->readonly = true;
	return AJ_OK;
}

/* NumPy's expand_dims is this reshape, which never needs a copy. */
static aj_status expand_dims_into(aj_ctx *ctx, const char *fn,
				  const aj_array *a, int axis, aj_array *t)
{
	int64_t shape[AJ_MAX_NDIM];
	if (a->ndim == AJ_MAX_NDIM)
		return aj_ctx_error(ctx, AJ_ERR_SHAPE,
				    "%s: array already has %d dimensions", fn,
				    AJ_MAX_NDIM);
	if (!norm_axis(&axis, a->ndim + 1))
		return aj_ctx_error(ctx, AJ_ERR_ARG,
				    "%s: axis %d outside [%d, %d]", fn, axis,
				    -a->ndim - 1, a->ndim);
	for (int k = 0, j = 0; k <= a->ndim; k++)
		shape[k] = k == axis ? 1 : a->shape[j++];
	return reshape_into(ctx, fn, a, a->ndim + 1, shape, t);
}

/* NumPy's flip is the slice ::-1 of each flipped axis. */
static aj_status flip_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			   int axis, aj_array *t)
{
	aj_slice s[AJ_MAX_NDIM];
	if (axis != AJ_ALL_AXES) {
		aj_status st = take_axis(ctx, fn, "axis", &axis, a->ndim);
		if (st)
			return st;
	}
	for (int k = 0; k < a->ndim; k++)
		s[k] = axis == AJ_ALL_AXES || k == axis
			   ? (aj_slice){AJ_DEFAULT, AJ_DEFAULT, -1}
			   : AJ_ALL;
	fill_slices(a, s, t);
	return AJ_OK;
}

/* Dropping a length-1 axis moves no data and keeps the other strides. */
static aj_status squeeze_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			      int axis, aj_array *t)
{
	if (axis != AJ_ALL_AXES) {
		aj_status st = take_axis(ctx, fn, "axis", &axis, a->ndim);
		if (st)
			return st;
		if (a->shape[axis] != 1)
			return aj_ctx_error(ctx, AJ_ERR_SHAPE,
					    "%s: cannot squeeze axis %d of "
					    "length %" PRId64 ", only length 1",
					    fn, axis, a->shape[axis]);
	}
	t->ndim = 0;
	for (int k = 0; k < a->ndim; k++) {
		if (axis == AJ_ALL_AXES ? a->shape[k] == 1 : k == axis)
			continue;
		t->shape[t->ndim] = a->shape[k];
		t->strides[t->ndim++] = a->strides[k];
	}
	return AJ_OK;
}

static aj_status moveaxis_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			       int src, int dst, aj_array *t)
{
	int p[AJ_MAX_NDIM];
	aj_status st = take_axis(ctx, fn, "source axis", &src, a->ndim);
	if (!st)
		st = take_axis(ctx, fn, "destination axis", &dst, a->ndim);
	if (st)
		return st;
	for (int k = 0, j = 0; k < a->ndim; k++) {
		if (k == dst) {
			p[k] = src;
			continue;
		}
		if (j == src)
			j++;
		p[k] = j++;
	}
	apply_perm(a, p, t);
	return AJ_OK;
}

/* Length of the diagonal with the given offset through an n1 x n2 plane,
 * 0 past an edge; never negates offset, which may be INT64_MIN. */
static int64_t diag_len(int64_t n1, int64_t n2, int64_t offset)
{
	if (offset >= 0 ? offset >= n2 : offset <= -n1)
		return 0;
	if (offset >= 0)
		n2 -= offset;
	else
		n1 += offset;
	return n1 < n2 ? n1 : n2;
}

/*
 * NumPy's PyArray_Diagonal: the other axes in order, then the diagonal,
 * whose stride is the sum of the two axes' strides and whose first element
 * is a[0, offset] (a[-offset, 0] below the main diagonal). Read-only, as
 * NumPy made its diagonal views in 1.9.
 */
static aj_status diagonal_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			       int64_t offset, int axis1, int axis2,
			       aj_array *t)
{
	aj_status st = AJ_OK;
	if (a->ndim < 2)
		st = aj_ctx_error(ctx, AJ_ERR_SHAPE,
				  "%s: needs at least 2 dimensions, not %d", fn,
				  a->ndim);
	if (!st)
		st = take_axis(ctx, fn, "axis1", &axis1, a->ndim);
	if (!st)
		st = take_axis(ctx, fn, "axis2", &axis2, a->ndim);
	if (!st && axis1 == axis2)
		st = aj_ctx_error(ctx, AJ_ERR_ARG,
				  "%s: axis1 and axis2 are the same axis, %d",
				  fn, axis1);
	if (st)
		return st;
	t->ndim = 0;
	for (int k = 0; k < a->ndim; k++)
		if (k != axis1 && k != axis2) {
			t->shape[t->ndim] = a->shape[k];
			t->strides[t->ndim++] = a->strides[k];
		}
	t->shape[t->ndim] = diag_len(a->shape[axis1], a->shape[axis2], offset);
	t->strides[t->ndim++] = wrapadd(a->strides[axis1], a->strides[axis2]);
	t->readonly = true;
	if (!is_empty(t))
		t->data += offset >= 0 ? offset * a->strides[axis2]
				       : -offset * a->strides[axis1];
	return AJ_OK;
}

/* NumPy's reshape(-1), whose strides nocopy_reshape already finds. */
static aj_status ravel_into(aj_ctx *ctx, const char *fn, const aj_array *a,
			    aj_array *t)
{
	/* As reshape, an unchanged shape keeps its stride. */
	if (a->ndim == 1)
		return AJ_OK;
	t->ndim = 1;
	t->shape[0] = aj_array_size(a);
	if (!fill_reshape_strides(a, t))
		return layout_error(ctx, fn, a, t);
	return AJ_OK;
}

aj_status aj_vstep_into(aj_ctx *ctx, const aj_array *a, const aj_vstep *s,
			aj_array *t)
{
	const char *fn = s->fn ? s->fn : vstep_name[s->kind];
	*t = *a;
	t->ctx = ctx;
	switch (s->kind) {
	case AJ_V_SLICE:
		return slice_into(ctx, fn, a, s->slice, t);
	case AJ_V_INDEX:
		return index_into(ctx, fn, a, s->axis, s->i, t);
	case AJ_V_PERMUTE:
		return permute_into(ctx, fn, a, s->perm, t);
	case AJ_V_RESHAPE:
		return reshape_into(ctx, fn, a, s->ndim, s->shape, t);
	case AJ_V_BROADCAST:
		return broadcast_into(ctx, fn, a, s->ndim, s->shape, t);
	case AJ_V_EXPAND_DIMS:
		return expand_dims_into(ctx, fn, a, s->axis, t);
	case AJ_V_FLIP:
		return flip_into(ctx, fn, a, s->axis, t);
	case AJ_V_SQUEEZE:
		return squeeze_into(ctx, fn, a, s->axis, t);
	case AJ_V_MOVEAXIS:
		return moveaxis_into(ctx, fn, a, s->axis, s->axis2, t);
	case AJ_V_DIAGONAL:
		return diagonal_into(ctx, fn, a, s->i, s->axis, s->axis2, t);
	case AJ_V_RAVEL:
		return ravel_into(ctx, fn, a, t);
	}
	return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: unknown view %d", fn, (int)s->kind);
}

aj_status aj_view_step(aj_ctx *ctx, const aj_array *a, const aj_vstep *s,
		       aj_array **out)
{
	if (!ctx)
		return AJ_ERR_ARG;
	if (!a || !out)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: %s is NULL",
				    s->fn ? s->fn : vstep_name[s->kind],
				    a ? "out" : "array");
	aj_array t;
	aj_status st = aj_vstep_into(ctx, a, s, &t);
	return st ? st : publish(ctx, &t, out);
}

aj_status aj_view_slice(aj_ctx *ctx, const aj_array *a, const aj_slice *s,
			aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_SLICE, .slice = s}, out);
}

aj_status aj_view_index(aj_ctx *ctx, const aj_array *a, int axis, int64_t i,
			aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_INDEX, .axis = axis, .i = i},
		    out);
}

aj_status aj_view_permute(aj_ctx *ctx, const aj_array *a, const int *perm,
			  aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_PERMUTE, .perm = perm}, out);
}

aj_status aj_view_reshape(aj_ctx *ctx, const aj_array *a, int ndim,
			  const int64_t *shape, aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_RESHAPE, .ndim = ndim,
					.shape = shape}, out);
}

aj_status aj_view_broadcast(aj_ctx *ctx, const aj_array *a, int ndim,
			    const int64_t *shape, aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_BROADCAST, .ndim = ndim,
					.shape = shape}, out);
}

aj_status aj_view_expand_dims(aj_ctx *ctx, const aj_array *a, int axis,
			      aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_EXPAND_DIMS, .axis = axis},
		    out);
}

aj_status aj_view_flip(aj_ctx *ctx, const aj_array *a, int axis, aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_FLIP, .axis = axis}, out);
}

aj_status aj_view_squeeze(aj_ctx *ctx, const aj_array *a, int axis,
			  aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_SQUEEZE, .axis = axis}, out);
}

aj_status aj_view_moveaxis(aj_ctx *ctx, const aj_array *a, int src, int dst,
			   aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_MOVEAXIS, .axis = src,
					.axis2 = dst}, out);
}

aj_status aj_view_diagonal(aj_ctx *ctx, const aj_array *a, int64_t offset,
			   int axis1, int axis2, aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_DIAGONAL, .i = offset,
					.axis = axis1, .axis2 = axis2}, out);
}

aj_status aj_view_ravel(aj_ctx *ctx, const aj_array *a, aj_array **out)
{
	return aj_view_step(ctx, a, &(aj_vstep){.kind = AJ_V_RAVEL}, out);
}
