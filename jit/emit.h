/*
 * The IR emitter's state and helpers, shared by emit.c (the function, loop
 * nest and memory) and lower.c (how each op becomes instructions).
 */
#ifndef AJ_JIT_EMIT_H
#define AJ_JIT_EMIT_H

#include "llvm.h"

typedef struct aj_emitter {
	LLVMContextRef C;
	LLVMModuleRef M;
	LLVMBuilderRef B;
	LLVMValueRef fn;
	const aj_kdesc *k;
	int lanes;            /* width of the vector body */
	LLVMTypeRef i1, i8, i32, i64, f32, f64, ptr, vd;
	LLVMValueRef a_ptr, a_shape, a_strides, a_scalars, a_lo, a_hi;
	LLVMValueRef *shape;  /* k->ndim extents */
	LLVMValueRef *stride; /* nop x ndim byte strides */
	bool *inv;            /* value is invariant along the inner loop */
	LLVMValueRef *hoisted; /* invariant values at width 1 */
	LLVMValueRef *cur;    /* values of the body being emitted */
	LLVMValueRef *base;   /* operand base pointers at loop 0 */
} aj_emitter;

LLVMTypeRef aj_ir_elem(aj_emitter *E, aj_dtype t, bool memory);
LLVMTypeRef aj_ir_type(aj_emitter *E, aj_dtype t, int w, bool memory);
/* Constants in all w lanes (a scalar when w == 1). */
LLVMValueRef aj_ir_const_int(LLVMTypeRef t, int64_t v, int w);
LLVMValueRef aj_ir_const_real(LLVMTypeRef t, double v, int w);
LLVMValueRef aj_ir_splat(aj_emitter *E, LLVMValueRef x, int w);
/* Lanes [from, from + n) of vector x, as an n-lane vector. */
LLVMValueRef aj_ir_lanes(aj_emitter *E, LLVMValueRef x, int from, int n);
void aj_ir_fn_attr(aj_emitter *E, LLVMValueRef f, const char *name, uint64_t v);

/* acc combined with v by reduction op red (sum: acc + v, max: NumPy's
 * NaN-propagating maximum, ...), in dtype t. */
LLVMValueRef aj_combine(aj_emitter *E, aj_op red, aj_dtype t, LLVMValueRef acc,
			LLVMValueRef v);

/* Value v of the kernel at width w, from the values already in E->cur. */
LLVMValueRef aj_lower(aj_emitter *E, const aj_kval *v, int w);

#endif
