/*
 * DLPack: arrays shared with other frameworks (NumPy, PyTorch, JAX, ...)
 * without copying.
 *
 *   import  a borrowed DLTensor, or a DLManagedTensor whose memory the
 *           array adopts (its deleter runs once, when the last view of the
 *           array is freed), becomes an aj_array over the same bytes;
 *   export  an aj_array becomes a DLManagedTensor that holds a handle of
 *           its own (so a reference to owned memory), freed by the
 *           tensor's deleter.
 *
 * Invariants: nothing in a tensor is trusted. Device, dtype, ndim, shape
 * and strides are checked, and element strides become byte strides, and
 * the elements' span a buffer, with overflow-checked arithmetic before any
 * address is formed; aj_array_wrap's checks then hold as for caller
 * memory. A failed import leaves the tensor to its caller (no deleter
 * runs); a failed export allocates nothing.
 */
#include "core.h"

#include <dlpack/dlpack.h>
#include <inttypes.h>
#include <string.h>

/* kDLBool came with DLPack 0.8 (Debian 12 ships 0.6); NumPy and PyTorch
 * export bool with it, one byte per element. */
#define DL_BOOL 6

/* The DLPack type code of a dtype kind (aj_dtypes' kind column). */
static uint8_t dl_code(char kind)
{
	switch (kind) {
	case 'b':
		return DL_BOOL;
	case 'i':
		return kDLInt;
	case 'u':
		return kDLUInt;
	case 'f':
		return kDLFloat;
	default:
		return kDLComplex;
	}
}

static bool host_memory(DLDeviceType d)
{
	return d == kDLCPU || d == kDLCUDAHost || d == kDLROCMHost;
}

/* The dtype of t's elements (code, bits and lanes 1 must match one). */
static aj_status find_dtype(aj_ctx *ctx, const char *fn, DLDataType dt,
			    aj_dtype *out)
{
	if (dt.lanes != 1)
		return aj_ctx_error(ctx, AJ_ERR_DTYPE,
				    "%s: %u lanes per element: vector "
				    "dtypes have no arrjit dtype",
				    fn, (unsigned)dt.lanes);
	for (int t = 0; t < AJ_NDTYPE; t++)
		if (dl_code(aj_dtypes[t].kind) == dt.code &&
		    aj_dtypes[t].size * 8 == dt.bits) {
			*out = (aj_dtype)t;
			return AJ_OK;
		}
	return aj_ctx_error(ctx, AJ_ERR_DTYPE,
			    "%s: dtype code %u with %u bits has no arrjit "
			    "dtype (bool, int8-64, uint8-64, float32/64, "
			    "complex64/128)",
			    fn, (unsigned)dt.code, (unsigned)dt.bits);
}

/* Everything about t but its addresses: device, dtype, ndim, shape. */
static aj_status check_tensor(aj_ctx *ctx, const char *fn, const DLTensor *t,
			      aj_dtype *dtype)
{
	if (!t)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: tensor is NULL", fn);
	if (!host_memory(t->device.device_type))
		return aj_ctx_error(ctx, AJ_ERR_ARG,
				    "%s: device type %d is not CPU memory "
				    "(kDLCPU, kDLCUDAHost or kDLROCMHost)",
				    fn, (int)t->device.device_type);
	if (t->ndim < 0 || t->ndim > AJ_MAX_NDIM)
		return aj_ctx_error(ctx, AJ_ERR_SHAPE,
				    "%s: ndim %d outside [0, %d]", fn, t->ndim,
				    AJ_MAX_NDIM);
	if (t->ndim > 0 && !t->shape)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: shape is NULL", fn);
	for (int k = 0; k < t->ndim; k++)
		if (t->shape[k] < 0)
			return aj_ctx_error(ctx, AJ_ERR_SHAPE,
					    "%s: shape[%d] is %" PRId64, fn, k,
					    t->shape[k]);
	return find_dtype(ctx, fn, t->dtype, dtype);
}

/* Byte strides of t (C order if t has none) and the byte offsets, from
 * its element 0, of its lowest element and past its highest one. */
static aj_status byte_layout(aj_ctx *ctx, const char *fn, const DLTensor *t,
			     int64_t isz, int64_t *strides, int64_t *lo,
			     int64_t *hi)
{
	int64_t sd = isz;
	bool empty = false;
	*lo = 0;
	*hi = isz;
	for (int k = t->ndim - 1; k >= 0; k--) {
		if (t->strides && !aj_mul_ok(t->strides[k], isz, &strides[k]))
			return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
					    "%s: stride %" PRId64 " of axis %d "
					    "overflows int64 bytes",
					    fn, t->strides[k], k);
		if (!t->strides) {
			strides[k] = sd;
			if (t->shape[k] && !aj_mul_ok(sd, t->shape[k], &sd))
				return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
						    "%s: array too big: its "
						    "bytes overflow int64",
						    fn);
		}
		empty |= t->shape[k] == 0;
	}
	for (int k = 0; k < t->ndim && !empty; k++) {
		int64_t e;
		if (!aj_mul_ok(t->shape[k] - 1, strides[k], &e) ||
		    !aj_add_ok(e < 0 ? *lo : *hi, e, e < 0 ? lo : hi))
			return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
					    "%s: byte extent of the elements "
					    "overflows int64",
					    fn);
	}
	if (empty)
		*lo = *hi = 0;
	return AJ_OK;
}

/*
 * Wraps t as an array; release(arg) as aj_array_adopt (NULL: borrowed).
 * The buffer handed on is exactly the bytes the elements span, so the
 * bounds aj_array_wrap checks are those of the tensor itself.
 */
static aj_status import(aj_ctx *ctx, const char *fn, const DLTensor *t,
			void (*release)(void *), void *arg, aj_array **out)
{
	if (!ctx)
		return AJ_ERR_ARG;
	if (!out)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: out is NULL", fn);
	aj_dtype dtype = AJ_BOOL; /* check_tensor sets it */
	int64_t strides[AJ_MAX_NDIM], lo, hi;
	aj_status st = check_tensor(ctx, fn, t, &dtype);
	if (st)
		return st;
	st = byte_layout(ctx, fn, t, aj_dtypes[dtype].size, strides, &lo, &hi);
	if (st)
		return st;
	if (t->byte_offset > (uint64_t)INT64_MAX - (uint64_t)(hi - lo))
		return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
				    "%s: byte_offset %" PRIu64 " overflows int64",
				    fn, t->byte_offset);
	if (!t->data && hi > lo)
		return aj_ctx_error(ctx, AJ_ERR_ARG,
				    "%s: data is NULL but the tensor has "
				    "elements",
				    fn);
	uintptr_t first = (uintptr_t)t->data, end;
	if (__builtin_add_overflow(first, t->byte_offset, &first) ||
	    __builtin_add_overflow(first, lo, &first) ||
	    __builtin_add_overflow(first, hi - lo, &end))
		return aj_ctx_error(ctx, AJ_ERR_OVERFLOW,
				    "%s: data + byte_offset + the elements' "
				    "extent wraps around the address space",
				    fn);
	return aj_array_adopt(ctx, fn, t->data ? (void *)first : NULL,
			      (size_t)(hi - lo), -lo, dtype, t->ndim, t->shape,
			      strides, release, arg, out);
}

aj_status aj_array_wrap_dlpack(aj_ctx *ctx, const DLTensor *t, aj_array **out)
{
	return import(ctx, "aj_array_wrap_dlpack", t, NULL, NULL, out);
}

static void call_deleter(void *arg)
{
	DLManagedTensor *mt = arg;
	if (mt->deleter)
		mt->deleter(mt);
}

aj_status aj_array_from_dlpack(aj_ctx *ctx, DLManagedTensor *mt,
			       aj_array **out)
{
	const char *fn = "aj_array_from_dlpack";
	if (ctx && !mt)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: tensor is NULL", fn);
	return import(ctx, fn, mt ? &mt->dl_tensor : NULL, call_deleter, mt,
		      out);
}

/* An exported tensor and what it points into. mt comes first, so the
 * consumer's pointer is the allocation. */
typedef struct exported {
	DLManagedTensor mt;
	aj_array *a;                  /* our handle: keeps owned memory */
	int64_t shape[AJ_MAX_NDIM];   /* mt.dl_tensor.shape */
	int64_t strides[AJ_MAX_NDIM]; /* in elements */
} exported;

static void delete_exported(DLManagedTensor *mt)
{
	exported *e = mt->manager_ctx;
	aj_array_free(e->a);
	aj_free(e);
}

/* Element strides of a into strides; false if a byte stride is not a
 * multiple of the item size (DLPack cannot say it). */
static bool element_strides(const aj_array *a, int64_t *strides)
{
	int64_t isz = aj_dtypes[a->dtype].size;
	for (int k = 0; k < a->ndim; k++) {
		if (a->strides[k] % isz)
			return false;
		strides[k] = a->strides[k] / isz;
	}
	return true;
}

aj_status aj_array_to_dlpack(aj_ctx *ctx, const aj_array *a,
			     DLManagedTensor **out)
{
	const char *fn = "aj_array_to_dlpack";
	if (!ctx)
		return AJ_ERR_ARG;
	if (!a || !out)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "%s: %s is NULL", fn,
				    a ? "out" : "array");
	if (a->readonly)
		return aj_ctx_error(ctx, AJ_ERR_READONLY,
				    "%s: the array is a read-only view, and a "
				    "DLPack consumer may write",
				    fn);
	exported *e = aj_calloc(1, sizeof *e);
	if (!e)
		return aj_ctx_error(ctx, AJ_ERR_NOMEM,
				    "%s: out of memory for a tensor", fn);
	if (!element_strides(a, e->strides)) {
		aj_free(e);
		return aj_ctx_error(ctx, AJ_ERR_LAYOUT,
				    "%s: a byte stride is not a multiple of "
				    "the %d-byte item size",
				    fn, aj_dtypes[a->dtype].size);
	}
	aj_status st = aj_array_dup(ctx, a, &e->a);
	if (st) {
		aj_free(e);
		return st;
	}
	DLTensor *t = &e->mt.dl_tensor;
	memcpy(e->shape, a->shape, sizeof e->shape);
	t->data = a->data;
	t->device = (DLDevice){kDLCPU, 0};
	t->ndim = a->ndim;
	t->dtype = (DLDataType){dl_code(aj_dtypes[a->dtype].kind),
				(uint8_t)(aj_dtypes[a->dtype].size * 8), 1};
	t->shape = e->shape;
	t->strides = e->strides;
	t->byte_offset = 0;
	e->mt.manager_ctx = e;
	e->mt.deleter = delete_exported;
	*out = &e->mt;
	return AJ_OK;
}
