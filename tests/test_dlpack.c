/*
 * DLPack import and export: every dtype both ways, strides in elements of
 * any sign with byte offsets, every rejected tensor with its status and
 * nothing written, and the ownership contract: an adopted tensor's deleter
 * runs exactly once, when its last view goes (after the context if need
 * be); an exported tensor keeps its array alive until its deleter.
 */
#include "alloc.h"
#include "ref.h"

#include <stdlib.h>
#include <string.h>

/* A managed tensor over static storage whose deleter counts its calls. */
typedef struct counted {
	DLManagedTensor mt;
	int64_t shape[2];
	int deletes;
	double buf[12];
} counted;

static void count_delete(DLManagedTensor *mt)
{
	((counted *)mt->manager_ctx)->deletes++;
}

static void counted_init(counted *c)
{
	memset(c, 0, sizeof *c);
	for (int i = 0; i < 12; i++)
		c->buf[i] = i;
	c->shape[0] = 3;
	c->shape[1] = 4;
	c->mt.dl_tensor = (DLTensor){c->buf,	       {kDLCPU, 0}, 2,
				     {kDLFloat, 64, 1}, c->shape,    NULL,
				     0};
	c->mt.manager_ctx = c;
	c->mt.deleter = count_delete;
}

static DLTensor tensor(void *data, DLDataType dt, int ndim, int64_t *shape,
		       int64_t *strides)
{
	return (DLTensor){data, {kDLCPU, 0}, ndim, dt, shape, strides, 0};
}

/* Every arrjit dtype imports from its (code, bits) and exports to it. */
static void every_dtype(void **state)
{
	ref_env *E = *state;
	static const DLDataType dts[AJ_NDTYPE] = {
	    {6, 8, 1},		{kDLInt, 8, 1},	     {kDLInt, 16, 1},
	    {kDLInt, 32, 1},	{kDLInt, 64, 1},     {kDLUInt, 8, 1},
	    {kDLUInt, 16, 1},	{kDLUInt, 32, 1},    {kDLUInt, 64, 1},
	    {kDLFloat, 32, 1},	{kDLFloat, 64, 1},   {kDLComplex, 64, 1},
	    {kDLComplex, 128, 1}};
	_Alignas(16) char buf[6 * 16];
	int64_t shape[2] = {2, 3};
	for (int t = 0; t < AJ_NDTYPE; t++) {
		DLTensor dl = tensor(buf, dts[t], 2, shape, NULL);
		aj_array *a;
		DLManagedTensor *mt;
		REF_OK_CTX(E->ctx, aj_array_wrap_dlpack(E->ctx, &dl, &a));
		assert_int_equal(aj_array_dtype(a), t);
		assert_ptr_equal(aj_array_data(a), buf);
		int64_t isz = (int64_t)aj_dtype_size((aj_dtype)t);
		assert_int_equal(aj_array_strides(a)[0], 3 * isz);
		assert_int_equal(aj_array_strides(a)[1], isz);
		REF_OK_CTX(E->ctx, aj_array_to_dlpack(E->ctx, a, &mt));
		const DLTensor *o = &mt->dl_tensor;
		assert_int_equal(o->dtype.code, dts[t].code);
		assert_int_equal(o->dtype.bits, dts[t].bits);
		assert_int_equal(o->dtype.lanes, 1);
		assert_int_equal(o->device.device_type, kDLCPU);
		assert_ptr_equal(o->data, buf);
		assert_int_equal(o->byte_offset, 0);
		assert_int_equal(o->ndim, 2);
		assert_int_equal(o->shape[0], 2);
		assert_int_equal(o->shape[1], 3);
		assert_int_equal(o->strides[0], 3);
		assert_int_equal(o->strides[1], 1);
		aj_array_free(a);
		mt->deleter(mt);
	}
}

/* Element strides of both signs and a byte offset: element (i, j) of
 * shape (3, 2) with strides (-4, 1) from element 9 (byte offset 72). */
static void strides_and_offset(void **state)
{
	ref_env *E = *state;
	double buf[12];
	for (int i = 0; i < 12; i++)
		buf[i] = i;
	int64_t shape[2] = {3, 2}, strides[2] = {-4, 1};
	DLTensor dl = tensor(buf, (DLDataType){kDLFloat, 64, 1}, 2, shape,
			     strides);
	dl.byte_offset = 9 * sizeof(double);
	aj_array *a, *r;
	REF_OK_CTX(E->ctx, aj_array_wrap_dlpack(E->ctx, &dl, &a));
	assert_ptr_equal(aj_array_data(a), buf + 9);
	assert_int_equal(aj_array_strides(a)[0], -32);
	r = ref_eval1(E, "a * 10", a);
	const double *v = ref_f64(r);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			assert_true(v[i * 2 + j] == 10.0 * (9 - 4 * i + j));
	DLManagedTensor *mt;
	REF_OK_CTX(E->ctx, aj_array_to_dlpack(E->ctx, a, &mt));
	assert_ptr_equal(mt->dl_tensor.data, buf + 9);
	assert_int_equal(mt->dl_tensor.strides[0], -4);
	assert_int_equal(mt->dl_tensor.strides[1], 1);
	mt->deleter(mt);
	aj_array_free(r);
	aj_array_free(a);
}

/* A 0-d tensor, and an empty one with data NULL. */
static void zero_d_and_empty(void **state)
{
	ref_env *E = *state;
	double x = 2.5;
	DLTensor dl = tensor(&x, (DLDataType){kDLFloat, 64, 1}, 0, NULL, NULL);
	aj_array *a, *r;
	REF_OK_CTX(E->ctx, aj_array_wrap_dlpack(E->ctx, &dl, &a));
	assert_int_equal(aj_array_ndim(a), 0);
	r = ref_eval1(E, "a + 1", a);
	assert_true(ref_f64(r)[0] == 3.5);
	aj_array_free(r);
	aj_array_free(a);
	int64_t shape[2] = {0, 5};
	dl = tensor(NULL, (DLDataType){kDLInt, 32, 1}, 2, shape, NULL);
	REF_OK_CTX(E->ctx, aj_array_wrap_dlpack(E->ctx, &dl, &a));
	assert_int_equal(aj_array_size(a), 0);
	aj_array_free(a);
}

/* Wrapping t fails with want and a message containing what; *out and
 * the tensor are untouched. */
static void rejects(ref_env *E, const DLTensor *t, aj_status want,
		    const char *what)
{
	aj_array *sentinel = (aj_array *)&sentinel, *out = sentinel;
	assert_int_equal(aj_array_wrap_dlpack(E->ctx, t, &out), want);
	assert_ptr_equal(out, sentinel);
	if (!strstr(aj_ctx_errmsg(E->ctx), what))
		fail_msg("message \"%s\" lacks \"%s\"", aj_ctx_errmsg(E->ctx),
			 what);
}

static void rejected_tensors(void **state)
{
	ref_env *E = *state;
	double buf[8];
	int64_t shape[2] = {2, 4}, strides[2] = {4, 1};
	const DLDataType f64 = {kDLFloat, 64, 1};
	DLTensor ok = tensor(buf, f64, 2, shape, strides), t;
	rejects(E, NULL, AJ_ERR_ARG, "tensor is NULL");
	t = ok, t.device.device_type = kDLCUDA;
	rejects(E, &t, AJ_ERR_ARG, "device type 2 is not CPU memory");
	t = ok, t.dtype.lanes = 2;
	rejects(E, &t, AJ_ERR_DTYPE, "2 lanes");
	t = ok, t.dtype.bits = 16;
	rejects(E, &t, AJ_ERR_DTYPE, "code 2 with 16 bits");
	t = ok, t.dtype = (DLDataType){kDLInt, 12, 1};
	rejects(E, &t, AJ_ERR_DTYPE, "code 0 with 12 bits");
	t = ok, t.dtype = (DLDataType){kDLBfloat, 16, 1};
	rejects(E, &t, AJ_ERR_DTYPE, "has no arrjit dtype");
	t = ok, t.dtype = (DLDataType){6, 32, 1};
	rejects(E, &t, AJ_ERR_DTYPE, "code 6 with 32 bits");
	t = ok, t.ndim = AJ_MAX_NDIM + 1;
	rejects(E, &t, AJ_ERR_SHAPE, "ndim 33");
	t = ok, t.ndim = -1;
	rejects(E, &t, AJ_ERR_SHAPE, "ndim -1");
	t = ok, t.shape = NULL;
	rejects(E, &t, AJ_ERR_ARG, "shape is NULL");
	int64_t neg[2] = {2, -4};
	t = ok, t.shape = neg;
	rejects(E, &t, AJ_ERR_SHAPE, "shape[1] is -4");
	int64_t huge[2] = {INT64_MAX / 4, 1};
	t = ok, t.strides = huge;
	rejects(E, &t, AJ_ERR_OVERFLOW, "stride");
	int64_t far[2] = {INT64_MAX / 16, 1}, three[2] = {3, 4};
	t = ok, t.strides = far, t.shape = three;
	rejects(E, &t, AJ_ERR_OVERFLOW, "extent");
	int64_t big[2] = {INT64_MAX / 4, 4};
	t = ok, t.shape = big, t.strides = NULL;
	rejects(E, &t, AJ_ERR_OVERFLOW, "too big");
	t = ok, t.data = NULL;
	rejects(E, &t, AJ_ERR_ARG, "data is NULL");
	t = ok, t.byte_offset = UINT64_MAX - 8;
	rejects(E, &t, AJ_ERR_OVERFLOW, "byte_offset");
	t = ok, t.data = (void *)(UINTPTR_MAX - 16);
	rejects(E, &t, AJ_ERR_OVERFLOW, "wraps around");
	aj_array *a;
	assert_int_equal(aj_array_wrap_dlpack(E->ctx, &ok, NULL), AJ_ERR_ARG);
	assert_int_equal(aj_array_wrap_dlpack(NULL, &ok, &a), AJ_ERR_ARG);
	assert_int_equal(aj_array_from_dlpack(E->ctx, NULL, &a), AJ_ERR_ARG);
}

/* The deleter runs once, when the last view of the adopted memory goes;
 * never on a failed import. */
static void deleter_once_at_last_view(void **state)
{
	ref_env *E = *state;
	counted c;
	counted_init(&c);
	c.mt.dl_tensor.dtype.lanes = 4;
	aj_array *a, *v;
	assert_int_equal(aj_array_from_dlpack(E->ctx, &c.mt, &a),
			 AJ_ERR_DTYPE);
	assert_int_equal(c.deletes, 0);
	c.mt.dl_tensor.dtype.lanes = 1;
	REF_OK_CTX(E->ctx, aj_array_from_dlpack(E->ctx, &c.mt, &a));
	aj_slice s[2] = {{1, AJ_DEFAULT, 1}, {AJ_DEFAULT, AJ_DEFAULT, -1}};
	REF_OK_CTX(E->ctx, aj_view_slice(E->ctx, a, s, &v));
	aj_array_free(a);
	assert_int_equal(c.deletes, 0);
	aj_array *r = ref_eval1(E, "a + 0.5", v);
	assert_true(ref_f64(r)[0] == 7.5);
	aj_array_free(v);
	assert_int_equal(c.deletes, 1);
	aj_array_free(r);
	/* A NULL deleter is allowed: nothing to call. */
	counted_init(&c);
	c.mt.deleter = NULL;
	REF_OK_CTX(E->ctx, aj_array_from_dlpack(E->ctx, &c.mt, &a));
	aj_array_free(a);
	assert_int_equal(c.deletes, 0);
}

/* An adopted array outlives its context; its deleter runs at its free. */
static void adopted_outlives_context(void **state)
{
	(void)state;
	aj_ctx *ctx;
	aj_array *a;
	counted c;
	counted_init(&c);
	assert_int_equal(aj_ctx_new(&ctx), AJ_OK);
	REF_OK_CTX(ctx, aj_array_from_dlpack(ctx, &c.mt, &a));
	aj_ctx_free(ctx);
	assert_int_equal(c.deletes, 0);
	assert_true(((double *)aj_array_data(a))[11] == 11);
	aj_array_free(a);
	assert_int_equal(c.deletes, 1);
}

/* An exported owned array lives until the deleter, whatever else is
 * freed first; read-only and odd-stride arrays are refused. */
static void export_keeps_array(void **state)
{
	(void)state;
	aj_ctx *ctx;
	aj_prog *p;
	aj_array *a, *bc;
	DLManagedTensor *mt;
	int64_t n = 1 << 15; /* pooled: 256 KiB */
	assert_int_equal(aj_ctx_new(&ctx), AJ_OK);
	REF_OK_CTX(ctx, aj_array_new(ctx, AJ_FLOAT64, 1, &n, &a));
	REF_OK_CTX(ctx, aj_prog_new(ctx, &p));
	aj_names *ns;
	REF_OK_PROG(p, aj_names_new(p, &ns));
	REF_OK_PROG(p, aj_names_set_array(ns, "a", a));
	REF_OK_PROG(p, aj_exec(ns, "a[:] = 3", NULL));
	REF_OK_PROG(p, aj_sync(p));
	aj_names_free(ns);
	aj_prog_free(p);
	int64_t shape[2] = {4, n};
	REF_OK_CTX(ctx, aj_view_broadcast(ctx, a, 2, shape, &bc));
	DLManagedTensor *sentinel = (DLManagedTensor *)&sentinel;
	mt = sentinel;
	assert_int_equal(aj_array_to_dlpack(ctx, bc, &mt), AJ_ERR_READONLY);
	assert_ptr_equal(mt, sentinel);
	aj_array_free(bc);
	REF_OK_CTX(ctx, aj_array_to_dlpack(ctx, a, &mt));
	aj_array_free(a);
	aj_ctx_free(ctx);
	const double *d = mt->dl_tensor.data;
	assert_true(d[0] == 3 && d[n - 1] == 3);
	mt->deleter(mt); /* ASan reports the buffer if this leaked it */

	char raw[64];
	int64_t three = 3, odd = 3;
	assert_int_equal(aj_ctx_new(&ctx), AJ_OK);
	REF_OK_CTX(ctx, aj_array_wrap(ctx, raw, sizeof raw, 0, AJ_INT16, 1,
				      &three, &odd, &a));
	mt = sentinel;
	assert_int_equal(aj_array_to_dlpack(ctx, a, &mt), AJ_ERR_LAYOUT);
	assert_ptr_equal(mt, sentinel);
	assert_int_equal(aj_array_to_dlpack(ctx, NULL, &mt), AJ_ERR_ARG);
	assert_int_equal(aj_array_to_dlpack(ctx, a, NULL), AJ_ERR_ARG);
	aj_array_free(a);
	aj_ctx_free(ctx);
}

/* out[...] = 2*a + 1 with a an adopted tensor and out the borrowed view of
 * an exported one; then the exported tensor adopted back, whose deleter
 * the last free calls. */
static void expression_into_exported(void **state)
{
	ref_env *E = *state;
	counted c;
	counted_init(&c);
	aj_array *a, *out, *back, *res;
	DLManagedTensor *mt;
	int64_t shape[2] = {3, 4};
	REF_OK_CTX(E->ctx, aj_array_from_dlpack(E->ctx, &c.mt, &a));
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_FLOAT64, 2, shape, &res));
	REF_OK_CTX(E->ctx, aj_array_to_dlpack(E->ctx, res, &mt));
	aj_array_free(res);
	REF_OK_CTX(E->ctx, aj_array_wrap_dlpack(E->ctx, &mt->dl_tensor, &out));
	aj_expr x = ref_parse1(E->p, "2*a + 1", a);
	REF_OK_PROG(E->p, aj_assign(E->p, out, x));
	REF_OK_PROG(E->p, aj_sync(E->p));
	aj_array_free(out);
	aj_array_free(a);
	assert_int_equal(c.deletes, 1);
	const double *d = mt->dl_tensor.data;
	for (int i = 0; i < 12; i++)
		assert_true(d[i] == 2.0 * i + 1);
	REF_OK_CTX(E->ctx, aj_array_from_dlpack(E->ctx, mt, &back));
	assert_ptr_equal(aj_array_data(back), d);
	aj_array_free(back); /* runs mt's deleter: ASan sees any leak */
}

/* Each allocation of an import and an export fails in turn: AJ_ERR_NOMEM,
 * *out untouched, no deleter run, nothing leaked (under ASan). */
static void out_of_memory(void **state)
{
	ref_env *E = *state;
	counted c;
	counted_init(&c);
	aj_array *asent = (aj_array *)&asent, *a = asent, *x;
	DLManagedTensor *msent = (DLManagedTensor *)&msent, *mt = msent;
	int64_t n = 8;
	REF_OK_CTX(E->ctx, aj_array_new(E->ctx, AJ_INT32, 1, &n, &x));
	for (uint64_t k = 1; k <= 2; k++) {
		aj_alloc_fail_after(k);
		assert_int_equal(aj_array_from_dlpack(E->ctx, &c.mt, &a),
				 AJ_ERR_NOMEM);
		aj_alloc_fail_after(k);
		assert_int_equal(aj_array_to_dlpack(E->ctx, x, &mt),
				 AJ_ERR_NOMEM);
		aj_alloc_fail_after(0);
		assert_ptr_equal(a, asent);
		assert_ptr_equal(mt, msent);
		assert_int_equal(c.deletes, 0);
	}
	aj_array_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_dtype),
	    cmocka_unit_test(strides_and_offset),
	    cmocka_unit_test(zero_d_and_empty),
	    cmocka_unit_test(rejected_tensors),
	    cmocka_unit_test(deleter_once_at_last_view),
	    cmocka_unit_test(adopted_outlives_context),
	    cmocka_unit_test(export_keeps_array),
	    cmocka_unit_test(expression_into_exported),
	    cmocka_unit_test(out_of_memory),
	};
	return cmocka_run_group_tests(tests, ref_env_setup, ref_env_teardown);
}
