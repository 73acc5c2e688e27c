/*
 * Constant folding: an elementwise op on real scalars evaluated at build
 * time, giving what a kernel (jit/lower.c) would compute at run time.
 *
 * Values are aj_scalar_val in canonical form: floats in .f (a float32
 * value is a double holding an exactly representable float), ints and bool
 * in .i (a signed int sign-extended, an unsigned one zero-extended, uint64
 * as its bit pattern, bool 0 or 1). Results are canonical too.
 *
 * `in` is the dtype the kernel computes op in, what lib/fuse.c's
 * lower_node casts the operands to: the node's dtype for UNARY, MATH,
 * BINARY, CLIP and SELECT (in == out); the operands' promoted dtype for
 * CMP; the operand's own dtype for PRED; bool for LOGIC (other dtypes are
 * read as truth values). Pairs the kernel never computes (float functions
 * of ints, bitwise ops of floats, bool where the builder computes in int8
 * or refuses) are not folded.
 *
 * Exact ops (all but the transcendental functions: the MATH ops with a
 * SLEEF name, power, arctan2 and hypot on floats) give the kernel's result
 * bit for bit, except that a NaN may differ in sign and payload. The
 * transcendental ones are within the op table's ulp column of the kernel.
 * A signed int to a negative power folds to the kernel's 1, -1 or 0;
 * NumPy raises there, which is for the caller to check.
 */
#ifndef AJ_FOLD_H
#define AJ_FOLD_H

#include "core.h"

/* op applied to scalar operands x[0..nin), each already in dtype `in` (for
 * AJ_KIND_SELECT, x[0] is the bool condition and x[1], x[2] are in `in`),
 * giving a value of dtype `out` in *r. False when op is not folded here
 * (complex dtypes, reductions, leaves): the kernel computes it then. */
bool aj_fold_op(aj_op op, aj_dtype in, aj_dtype out, const aj_scalar_val *x,
		aj_scalar_val *r);
/* x of dtype `from` converted to `to` as the kernel's cast does. */
bool aj_fold_cast(aj_dtype from, aj_dtype to, aj_scalar_val x,
		  aj_scalar_val *r);

#endif
