/*
 * The reference evaluator of fuzz_api: expressions as trees of rnode,
 * typed by NumPy's rules (NEP 50 promotion, the op table's result rules)
 * and evaluated one element at a time in plain C, independently of the
 * library.
 *
 * Scope: the ops the reference computes exactly (or within a stated
 * tolerance): + - * / // %, minimum, maximum, comparisons, where, astype,
 * negative, absolute, sqrt, real, imag, conjugate (exact); exp, sin, log
 * (inexact: 1 ULP, the op table's bound, plus 1 for the reference's own
 * rounding); integer power (exact, wrapping; a negative exponent makes
 * NumPy raise: rcheck) and float power with an array exponent (1 ULP
 * plus 1); take (NumPy's, mode='raise': a position out of range raises,
 * rcheck); uniform random numbers (aj_random: the header's Philox
 * formula, exact); any, all, min, max (exact) and sum (ints exact; floats within
 * n * eps * sum|x|) over one axis; views of expressions (slices,
 * permutations, flips, new axes). Dtypes: bool, ints, uints, float32,
 * float64, complex64, complex128. Complex: + - * / with NumPy's formulas
 * in the parts' precision, no FMA (exact, as the op table says),
 * comparisons (lexicographic, NumPy's), absolute (hypot: 1 ULP plus 1),
 * sqrt, exp, sin, log (glibc's csqrt, cexp, ... as NumPy's: exact, as the
 * op table says), casts (to a real dtype: the real part); not min, max,
 * sum or powers.
 *
 * rtype() says whether an op over given operands is in scope, and its
 * dtype; out of scope the harness does not build it. Values carry a state:
 * exact, approximate (with a tolerance) or undefined (NumPy leaves it to
 * the platform: float to int out of range; or it depends on earlier
 * approximate values), never compared.
 */
#ifndef AJ_FUZZ_REFEVAL_H
#define AJ_FUZZ_REFEVAL_H

#include "arrjit.h"

#include <stdbool.h>
#include <stdint.h>

#define RMAX_NODES 56 /* a tree 3 deep of ops of 3 operands has 40; of
			  takes (an array, an expression, positions) 49 */
#define RMAX_VND 4 /* ndim of an expression a view applies to */

enum rstate { R_EXACT, R_APPROX, R_UNDEF };

/* One element: ints and bool in i (uint64 as its bits), floats in f
 * (float32 values exactly), complex: the real part in f, the imaginary
 * in im (zero for the other dtypes). */
typedef struct rval {
	int64_t i;
	double f, im;
	enum rstate st;
	double tol; /* R_APPROX: absolute tolerance */
	int ulp;    /* R_APPROX: or within this many ULP */
} rval;

/* Where a leaf's elements live: element (i0, i1, ...) at byte
 * base + off + sum(ik * strides[k]) of a buffer whose element states are
 * st (one per itemsize bytes). */
typedef struct rleaf {
	const char *base;
	const uint8_t *st;
	int64_t off;
	int ndim;
	int64_t shape[AJ_MAX_NDIM], strides[AJ_MAX_NDIM];
} rleaf;

enum rkind {
	RK_LEAF,
	RK_WEAK_INT,	 /* Python scalars: aj_scalar_i64, */
	RK_WEAK_FLOAT,	 /* aj_scalar_f64, */
	RK_WEAK_COMPLEX, /* aj_scalar_c128 */
	RK_STRONG,	 /* aj_scalar, aj_scalar_complex */
	RK_RANDOM,	 /* aj_random, uniform, with a shape */
	RK_OP
};

typedef struct rnode {
	enum rkind kind;
	aj_op op;     /* RK_OP */
	int nin;      /* RK_OP: operands */
	int in[3];    /* RK_OP: operand nodes */
	aj_dtype t;   /* result dtype */
	bool weak;    /* a Python scalar's dtype (NEP 50) */
	bool inexact; /* approximate values: only the root of a tree */
	int ndim;
	int64_t shape[AJ_MAX_NDIM];
	rleaf leaf;    /* RK_LEAF; AJ_OP_TAKE: the array taken from (1-d,
			  flattened, for axis=None), in[0] the positions */
	double v, vi;  /* RK_WEAK_*, RK_STRONG: the value (vi: its imaginary
			  part; 0 but for complex) */
	aj_dtype cast; /* AJ_OP_CAST: the target */
	uint64_t seed, stream; /* RK_RANDOM: Philox's key and stream */
	int axis;      /* reductions: the axis reduced, of the operand;
			  AJ_OP_TAKE: the axis of leaf taken along */
	bool keep;     /* reductions: keepdims */
	/* AJ_OP_VIEW (aj_expr_slice, _permute, _flip, _expand_dims): the
	 * operand's index j is vbase[j] + sum over k of vmat[j][k] * idx[k] */
	int64_t vbase[RMAX_VND], vmat[RMAX_VND][RMAX_VND];
} rnode;

/* The dtype of op over operands in[0..n) (for a cast, to t), or -1 if out
 * of scope. */
int rtype(const rnode *nodes, aj_op op, int n, const int *in, aj_dtype t);
/* The broadcast shape of the operands; false if they do not broadcast. */
bool rshape(const rnode *nodes, int n, const int *in, int *nd, int64_t *shape);

/* Element idx (in node k's shape) of node k. */
rval reval(const rnode *nodes, int k, const int64_t *idx);

/* What NumPy's checks of the data say about the tree at root: every
 * position of a take in [-n, n), every exponent of an integer power
 * >= 0 (else NumPy raises: RC_FAIL); RC_UNKNOWN when one of them is an
 * undefined value and none fails. Over each operand as given, all of its
 * elements, whether or not the result reads them. */
enum rcheck { RC_OK, RC_UNKNOWN, RC_FAIL };
enum rcheck rcheck(const rnode *nodes, int root);
/* Whether position v (of int dtype t) is in [-n, n). */
bool rin_range(rval v, aj_dtype t, int64_t n);

/* v (of dtype from) as dtype to, NumPy's astype. */
rval rconvert(rval v, aj_dtype from, aj_dtype to);
/* Reads an element of dtype t at p; writes v (already of dtype t) there. */
rval rload(aj_dtype t, const char *p);
void rstore(aj_dtype t, char *p, rval v);
/* Whether got (of dtype t, at p) agrees with want. */
bool ragree(aj_dtype t, const char *p, rval want);

/* NumPy's same_kind cast rule. */
bool rsame_kind(aj_dtype from, aj_dtype to);

#endif
