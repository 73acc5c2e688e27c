/*
 * The reference evaluator of fuzz_api: expressions as trees of rnode,
 * typed by NumPy's rules (NEP 50 promotion, the op table's result rules)
 * and evaluated one element at a time in plain C, independently of the
 * library.
 *
 * Scope: the ops the reference computes exactly (or within a stated
 * tolerance): + - * / // %, minimum, maximum, comparisons, where, astype,
 * negative, absolute, sqrt (exact); exp, sin, log (inexact: 1 ULP, the op
 * table's bound, plus 1 for the reference's own rounding); any, all, min,
 * max (exact) and sum (ints exact; floats within n * eps * sum|x|) over one
 * axis; views of expressions
 * (slices, permutations, flips, new axes). Dtypes: bool, ints, uints,
 * float32, float64 (no complex).
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

#define RMAX_NODES 48 /* a tree 3 deep of ops of 3 operands has 40 */
#define RMAX_VND 4 /* ndim of an expression a view applies to */

enum rstate { R_EXACT, R_APPROX, R_UNDEF };

/* One element: ints and bool in i (uint64 as its bits), floats in f
 * (float32 values exactly). */
typedef struct rval {
	int64_t i;
	double f;
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

enum rkind { RK_LEAF, RK_WEAK_INT, RK_WEAK_FLOAT, RK_STRONG, RK_OP };

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
	rleaf leaf;    /* RK_LEAF */
	double v;      /* RK_WEAK_*, RK_STRONG: the value */
	aj_dtype cast; /* AJ_OP_CAST: the target */
	int axis;      /* reductions: the axis reduced, of the operand */
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
