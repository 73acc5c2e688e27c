/*
 * dtype and op tables, expanded from arrjit.h, and NumPy's type rules:
 * promotion (NEP 50: Python scalars are weak) and same_kind casting.
 */
#include "core.h"

#include <math.h>
#include <string.h>

const aj_dtype_info aj_dtypes[AJ_NDTYPE] = {
#define X(id, name, size, kind) {name, size, kind},
	AJ_DTYPE_TABLE(X)
#undef X
};

const aj_op_info aj_ops[AJ_NOP] = {
#define X(id, name, nin, kind, rule, cx, sleef, ulp) \
	{name, nin, AJ_KIND_##kind, AJ_RULE_##rule, #cx[0] == 'C', sleef, ulp},
	AJ_OP_TABLE(X)
#undef X
};

const char *aj_dtype_name(aj_dtype t)
{
	return (unsigned)t < AJ_NDTYPE ? aj_dtypes[t].name : "?";
}

size_t aj_dtype_size(aj_dtype t)
{
	return (unsigned)t < AJ_NDTYPE ? (size_t)aj_dtypes[t].size : 0;
}

const char *aj_op_name(aj_op op)
{
	return (unsigned)op < AJ_NOP ? aj_ops[op].name : "?";
}

int aj_dtype_from_name(const char *name, size_t len)
{
	for (int t = 0; t < AJ_NDTYPE; t++)
		if (strlen(aj_dtypes[t].name) == len &&
		    memcmp(aj_dtypes[t].name, name, len) == 0)
			return t;
	return -1;
}

/* Promotion rank: a kind of higher rank can hold values of a lower one. */
static int kind_rank(aj_dtype t)
{
	switch (aj_dtypes[t].kind) {
	case 'b': return 0;
	case 'i':
	case 'u': return 1;
	case 'f': return 2;
	default: return 3;
	}
}

static aj_dtype of_size(char kind, int size)
{
	for (int t = 0; t < AJ_NDTYPE; t++)
		if (aj_dtypes[t].kind == kind && aj_dtypes[t].size == size)
			return (aj_dtype)t;
	return AJ_NDTYPE;
}

/* No float16 here: where NumPy would pick it, float32. */
static aj_dtype float_of_size(int size)
{
	return size <= 4 ? AJ_FLOAT32 : AJ_FLOAT64;
}

/* A signed and an unsigned int: the signed one if it is larger, else a
 * signed int twice the unsigned one's size, else (uint64) float64. */
static aj_dtype promote_mixed_ints(aj_dtype s, aj_dtype u)
{
	int ss = aj_dtypes[s].size, us = aj_dtypes[u].size;
	if (ss > us)
		return s;
	return us < 8 ? of_size('i', 2 * us) : AJ_FLOAT64;
}

/*
 * Strong promotion, NumPy's table. Within a kind the larger wins; an int
 * meeting a float needs a float of at least twice the int's size (int32 +
 * float32 = float64), capped at float64; a complex promotes its component
 * float with the other operand.
 */
static aj_dtype promote_strong(aj_dtype a, aj_dtype b)
{
	if (a == b)
		return a;
	if (kind_rank(a) < kind_rank(b)) {
		aj_dtype t = a;
		a = b;
		b = t;
	}
	char ka = aj_dtypes[a].kind, kb = aj_dtypes[b].kind;
	int sa = aj_dtypes[a].size, sb = aj_dtypes[b].size;
	if (kb == 'b')
		return a;
	if (ka == 'c') {
		aj_dtype fb = kb == 'c' ? float_of_size(sb / 2) : b;
		aj_dtype f = promote_strong(float_of_size(sa / 2), fb);
		return of_size('c', 2 * aj_dtypes[f].size);
	}
	if (ka == kb)
		return sa >= sb ? a : b;
	if (ka == 'f')
		return kb == 'f' ? a : float_of_size(sa >= 2 * sb ? sa : 2 * sb);
	return ka == 'i' ? promote_mixed_ints(a, b) : promote_mixed_ints(b, a);
}

/*
 * NEP 50: a weak scalar takes the other operand's dtype when its kind fits
 * there (int scalar + int32 array = int32, float scalar + float32 array =
 * float32, complex scalar + float32 array = complex64); otherwise the default dtype of its own kind (int64, float64)
 * joins the promotion. Two weak operands stay weak.
 */
aj_dtype aj_promote(aj_dtype a, bool aweak, aj_dtype b, bool bweak, bool *weak)
{
	*weak = aweak && bweak;
	if (aweak && bweak)
		return promote_strong(a, b);
	if (bweak) {
		aj_dtype t = a;
		a = b;
		b = t;
		aweak = true;
	}
	if (!aweak)
		return promote_strong(a, b);
	if (kind_rank(a) <= kind_rank(b))
		return b;
	if (aj_is_complex(a) && aj_is_float(b)) /* float32 * 1j: complex64 */
		return of_size('c', 2 * aj_dtypes[b].size);
	return promote_strong(a, b);
}

/* same_kind: casting up NumPy's kind order b < u < i < f < c, or within a
 * kind whatever the size (float64 -> float32). */
bool aj_can_cast_same_kind(aj_dtype from, aj_dtype to)
{
	static const char order[] = "buifc";
	return strchr(order, aj_dtypes[from].kind) <= strchr(order, aj_dtypes[to].kind);
}

bool aj_int_fits(aj_dtype t, int64_t v)
{
	int bits = aj_dtypes[t].size * 8;
	switch (aj_dtypes[t].kind) {
	case 'b': return v == 0 || v == 1;
	case 'u': return v >= 0 && (bits == 64 || v < (INT64_C(1) << bits));
	case 'i': return bits == 64 || (v >= -(INT64_C(1) << (bits - 1)) &&
					v < (INT64_C(1) << (bits - 1)));
	default: return true;
	}
}

double aj_red_identity_im(aj_op op, aj_dtype t)
{
	bool both = op == AJ_OP_RMIN || op == AJ_OP_RMAX;
	return both ? aj_red_identity(op, t).f : 0;
}

aj_scalar_val aj_red_identity(aj_op op, aj_dtype t)
{
	bool f = aj_is_float(t) || aj_is_complex(t), u = aj_is_unsigned(t);
	int bits = f ? 64 : aj_dtypes[t].size * 8; /* int limits: unused if f */
	int64_t max = u ? (bits == 64 ? -1 : (INT64_C(1) << bits) - 1)
			: (bits == 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1);
	int64_t min = u ? 0 : -max - 1;
	if (t == AJ_BOOL) { /* min is all, max is any */
		max = 1;
		min = 0;
	}
	switch (op) {
	case AJ_OP_PROD: return f ? (aj_scalar_val){.f = 1} : (aj_scalar_val){.i = 1};
	case AJ_OP_RMIN: return f ? (aj_scalar_val){.f = INFINITY} : (aj_scalar_val){.i = max};
	case AJ_OP_RMAX: return f ? (aj_scalar_val){.f = -INFINITY} : (aj_scalar_val){.i = min};
	case AJ_OP_ALL: return (aj_scalar_val){.i = 1};
	case AJ_OP_ARGMIN: /* the position: any element comes first */
	case AJ_OP_ARGMAX: return (aj_scalar_val){.i = INT64_MAX};
	default: return f ? (aj_scalar_val){.f = 0} : (aj_scalar_val){.i = 0};
	}
}
