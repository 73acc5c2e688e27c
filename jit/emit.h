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
	uint8_t *cls;         /* per operand, the stride class the body
				 addresses it by: k->op_class, but CONTIG
				 for a strided operand read from or written
				 to a buffer (emit_buffered) */
	LLVMValueRef wp;      /* compress kernels: alloca of the pointer
				 output 0's next element goes to */
	LLVMValueRef *given;  /* per operand, the value the body reads for
				 it instead of loading (an input's row of
				 a block transposed in registers,
				 aj_emit_tiled), or NULL */
	bool tile_nt;         /* vector stores of outputs that aj_nt_bytes
				 allows are nontemporal and aligned
				 (aj_emit_tiled, checked at run time) */
	LLVMValueRef nt_cond; /* in aj_emit_tiled: whether nontemporal stores
				 apply, or NULL if they never do */
	bool nt;              /* k->nt and aj_nt_fits(k): output 0's
				 aligned vector stores are non-temporal */
	bool nt_body;         /* emitting that aligned vector body */
	LLVMValueRef row_i;   /* the index of the step being emitted */
	LLVMValueRef row_end; /* the end of the inner loop it steps through,
				 or NULL where the loop does not say */
	LLVMValueRef *draw_buf, *draw_at, *draw_n; /* per random value:
				 its run of values and their first position
				 and count (random.c), or NULL */
	LLVMValueRef draw_pos, draw_out; /* scratch for random values of
				 other positions, or NULL */
} aj_emitter;

/* for (i = start; i < end; i += step) (emit.c): aj_loop_begin leaves the
 * builder in the body, aj_loop_end closes the loop and leaves it after. */
typedef struct aj_loop {
	LLVMBasicBlockRef head, body, exit;
	LLVMValueRef i; /* the induction variable, a phi in head */
} aj_loop;
void aj_loop_begin(aj_emitter *E, aj_loop *L, LLVMValueRef start,
		   LLVMValueRef end, const char *name);
void aj_loop_end(aj_emitter *E, aj_loop *L, int64_t step);

/* An alloca of t at the start of the entry block (emit.c). */
LLVMValueRef aj_entry_alloca(aj_emitter *E, LLVMTypeRef t, const char *name);
/* w elements of dtype t from p (emit.c). */
LLVMValueRef aj_load_elem(aj_emitter *E, aj_dtype t, int w, LLVMValueRef p);
/* The values invariant along the inner loop, at width 1, from operand
 * pointers base; then one step of the inner loop at index i, width w:
 * loads (or E->given values), ops, stores (emit.c). */
void aj_emit_hoisted(aj_emitter *E, LLVMValueRef *base);
void aj_emit_body(aj_emitter *E, LLVMValueRef *base, LLVMValueRef i, int w,
		  LLVMValueRef *cur);
/* The bytes of a vector store of w elements of operand o if it may be
 * nontemporal, else 0 (emit.c). */
int aj_nt_bytes(const aj_kdesc *k, int o, int w);
/* Loops ndim-2 and ndim-1 of a tiled kernel (k->tile), rows [start, end)
 * from operand pointers base (tile.c). */
void aj_emit_tiled(aj_emitter *E, LLVMValueRef *base, LLVMValueRef start,
		   LLVMValueRef end, LLVMValueRef *cur);

LLVMTypeRef aj_ir_elem(aj_emitter *E, aj_dtype t, bool memory);
LLVMTypeRef aj_ir_type(aj_emitter *E, aj_dtype t, int w, bool memory);
/* Constants in all w lanes (a scalar when w == 1). */
LLVMValueRef aj_ir_const_int(LLVMTypeRef t, int64_t v, int w);
LLVMValueRef aj_ir_const_real(LLVMTypeRef t, double v, int w);
LLVMValueRef aj_ir_splat(aj_emitter *E, LLVMValueRef x, int w);
/* Lanes [from, from + n) of vector x, as an n-lane vector. */
LLVMValueRef aj_ir_lanes(aj_emitter *E, LLVMValueRef x, int from, int n);
void aj_ir_fn_attr(aj_emitter *E, LLVMValueRef f, const char *name, uint64_t v);
/* Declares (once) function name of type ret(params) in the module. */
LLVMValueRef aj_ir_declare(aj_emitter *E, const char *name, LLVMTypeRef ret,
			   LLVMTypeRef *params, int n, LLVMTypeRef *fty);
/* Marks f memory(none) nounwind willreturn: LLVM may hoist or drop calls. */
void aj_ir_mark_pure(aj_emitter *E, LLVMValueRef f);
/* Float constant v at the type and width w of value like. */
LLVMValueRef aj_ir_fconst(LLVMValueRef like, double v, int w);
/* The overloaded one-operand intrinsic name ("llvm.fabs") applied to x. */
LLVMValueRef aj_ir_call1(aj_emitter *E, const char *name, LLVMValueRef x);
/* At the start of a join block: a when control came from block fa, b
 * from fb. */
LLVMValueRef aj_ir_phi2(aj_emitter *E, LLVMValueRef a, LLVMBasicBlockRef fa,
			LLVMValueRef b, LLVMBasicBlockRef fb, const char *name);
/* select that also takes complex values. */
LLVMValueRef aj_ir_select(aj_emitter *E, LLVMValueRef c, LLVMValueRef a,
			  LLVMValueRef b);

/*
 * A complex value is a struct {re, im} of two values of its component
 * float: scalars at w == 1, else two <w x T> vectors (structure of arrays;
 * memory holds re, im interleaved, and loads and stores shuffle).
 */
LLVMValueRef aj_cx(aj_emitter *E, LLVMValueRef re, LLVMValueRef im);
LLVMValueRef aj_cx_re(aj_emitter *E, LLVMValueRef z);
LLVMValueRef aj_cx_im(aj_emitter *E, LLVMValueRef z);
bool aj_ir_is_cx(LLVMValueRef v);
/* Lane 0 of v (of each part, for complex), or v when it is a scalar. */
LLVMValueRef aj_ir_lane0(aj_emitter *E, LLVMValueRef v);

/* A SLEEF call computing op at width w on float dtype t (lower.c). */
LLVMValueRef aj_emit_sleef(aj_emitter *E, aj_op op, aj_dtype t, int w,
			   LLVMValueRef *x);
/* x of dtype `from` converted to `to` as NumPy's casts (lower.c). */
LLVMValueRef aj_emit_cast(aj_emitter *E, LLVMValueRef x, aj_dtype from,
			  aj_dtype to, int w);

/* argmin/argmax: whether (v, i) replaces the pair (best, pos) of dtype t:
 * v is more extreme, or a NaN where best is none, or ties best at a
 * smaller position (so the first extreme wins in any visiting order). */
LLVMValueRef aj_arg_takes(aj_emitter *E, aj_op red, aj_dtype t, LLVMValueRef best,
			  LLVMValueRef pos, LLVMValueRef v, LLVMValueRef i);
LLVMValueRef aj_arg_takes_complex(aj_emitter *E, aj_op red, LLVMValueRef best,
				  LLVMValueRef pos, LLVMValueRef v, LLVMValueRef i);

/* complex.c: value v whose operands or result are complex; casts to and
 * from complex; the reductions' combine for complex dtype t. */
LLVMValueRef aj_lower_complex(aj_emitter *E, const aj_kval *v, int w,
			      LLVMValueRef *x);
LLVMValueRef aj_cast_complex(aj_emitter *E, LLVMValueRef x, aj_dtype from,
			     aj_dtype to, int w);
LLVMValueRef aj_combine_complex(aj_emitter *E, aj_op red, aj_dtype t,
				LLVMValueRef acc, LLVMValueRef v);

/* acc combined with v by reduction op red (sum: acc + v, max: NumPy's
 * NaN-propagating maximum, ...), in dtype t. */
LLVMValueRef aj_combine(aj_emitter *E, aj_op red, aj_dtype t, LLVMValueRef acc,
			LLVMValueRef v);

/* random.c: whether positions value p runs consecutively along the inner
 * loop; the call aj_rt_draw(out, pos, k0, n, seed, stream, v's kind). */
bool aj_random_ascending(const aj_emitter *E, uint32_t p);
void aj_emit_draw_call(aj_emitter *E, const aj_kval *v, LLVMValueRef out, LLVMValueRef pos,
		       LLVMValueRef k0, LLVMValueRef n, LLVMValueRef seed, LLVMValueRef stream);
/* random.c: random value v (AJ_OP_RANDOM, AJ_OP_NORMAL) at width w from
 * its position, seed and stream x[0..2]. */
LLVMValueRef aj_lower_random(aj_emitter *E, const aj_kval *v, int w,
			     LLVMValueRef *x);

/* Value v of the kernel at width w, from the values already in E->cur. */
LLVMValueRef aj_lower(aj_emitter *E, const aj_kval *v, int w);

/* Operand pointers p moved n (an i64) along loop d, into to (may be p). */
void aj_advance(aj_emitter *E, LLVMValueRef *to, LLVMValueRef *p, int d, LLVMValueRef n);
/* An sfence: nontemporal stores, weakly ordered, become visible before
 * whatever follows (emit.c, used by tile.c too). */
void aj_emit_sfence(aj_emitter *E);
#endif
