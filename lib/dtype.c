/*
 * dtype and op tables, expanded from arrjit.h, and NumPy's type rules:
 * promotion (NEP 50: Python scalars are weak) and same_kind casting.
 */
#include "core.h"

#include <string.h>

const aj_dtype_info aj_dtypes[AJ_NDTYPE] = {
#define X(id, name, size, kind) {name, size, kind},
	AJ_DTYPE_TABLE(X)
#undef X
};

const aj_op_info aj_ops[AJ_NOP] = {
#define X(id, name, nin, kind, rule, sleef, ulp) \
	{name, nin, AJ_KIND_##kind, AJ_RULE_##rule, sleef, ulp},
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

/* Kind order b < i < f: a kind "above" another can hold it. */
static int kind_rank(aj_dtype t)
{
	switch (aj_dtypes[t].kind) {
	case 'b': return 0;
	case 'i': return 1;
	default: return 2;
	}
}

static aj_dtype float_of_size(int size)
{
	return size <= 4 ? AJ_FLOAT32 : AJ_FLOAT64;
}

/*
 * Strong promotion, NumPy's table: within a kind the larger wins; an int
 * meeting a float needs a float of at least twice the int's size (int32 +
 * float32 = float64), capped at float64.
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
	int sa = aj_dtypes[a].size, sb = aj_dtypes[b].size;
	if (kind_rank(a) == kind_rank(b))
		return sa >= sb ? a : b;
	if (aj_dtypes[b].kind == 'b')
		return a;
	/* a float, b int */
	return float_of_size(sa >= 2 * sb ? sa : 2 * sb);
}

/*
 * NEP 50: a weak scalar takes the other operand's dtype when its kind fits
 * there (int scalar + int32 array = int32, float scalar + float32 array =
 * float32); otherwise the default dtype of its own kind (int64, float64)
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
	return promote_strong(a, b);
}

/* same_kind: safe casts, or casts within a kind (float64 -> float32). */
bool aj_can_cast_same_kind(aj_dtype from, aj_dtype to)
{
	return kind_rank(from) <= kind_rank(to);
}
