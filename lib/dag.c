/*
 * Programs and the lazy expression DAG.
 *
 * Builders append nodes; a node's operands always precede it, so the node
 * array is already in topological order and later passes walk it without
 * recursion. Shapes are broadcast and dtypes resolved here, at build time,
 * so a bad expression fails at the call that made it. Builders record the
 * first error in the program and return AJ_EXPR_NONE; an AJ_EXPR_NONE
 * operand propagates without a second message.
 */
#include "cache.h"
#include "core.h"
#include "fold.h"
#include "plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

aj_status aj_prog_error(aj_prog *p, aj_status s, const char *fmt, ...)
{
	if (p->err != AJ_OK)
		return s;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
	va_end(ap);
	p->err = s;
	return s;
}

aj_status aj_prog_take_error(aj_prog *p)
{
	aj_status s = p->err;
	p->err = AJ_OK;
	return s;
}

const char *aj_prog_errmsg(const aj_prog *p)
{
	return p ? p->errmsg : "NULL program";
}

aj_status aj_prog_new(aj_ctx *ctx, aj_prog **out)
{
	if (!out)
		return AJ_ERR_ARG;
	*out = NULL;
	if (!ctx)
		return AJ_ERR_ARG;
	aj_prog *p = aj_calloc(1, sizeof *p);
	if (!p)
		return aj_ctx_error(ctx, AJ_ERR_NOMEM, "out of memory");
	p->memo = aj_memo_new();
	p->plans = aj_plans_new();
	if (!p->memo || !p->plans) {
		aj_memo_free(p->memo);
		aj_plans_free(p->plans);
		aj_free(p);
		return aj_ctx_error(ctx, AJ_ERR_NOMEM, "out of memory");
	}
	p->ctx = ctx;
	pthread_mutex_lock(&ctx->progs_lock);
	p->next = ctx->progs;
	if (p->next)
		p->next->prev = p;
	ctx->progs = p;
	pthread_mutex_unlock(&ctx->progs_lock);
	*out = p;
	return AJ_OK;
}

void aj_prog_free(aj_prog *p)
{
	if (!p)
		return;
	aj_ctx *ctx = p->ctx;
	pthread_mutex_lock(&ctx->progs_lock);
	aj_counts_add(&ctx->retired, &p->counts);
	if (p->prev)
		p->prev->next = p->next;
	else
		ctx->progs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pthread_mutex_unlock(&ctx->progs_lock);
	aj_names_detach(p);
	aj_memo_free(p->memo);
	aj_plans_free(p->plans);
	aj_arena_free(&p->arena);
	aj_free(p->node);
	aj_free(p->pending);
	aj_free(p);
}

/* The node behind e, without recording anything; NULL if e is not live. */
static const aj_node *node_at(const aj_prog *p, aj_expr e)
{
	if (!p || e.id <= p->id_base || e.id - p->id_base > p->nnode)
		return NULL;
	return &p->node[e.id - p->id_base - 1];
}

const aj_node *aj_prog_node(aj_prog *p, aj_expr e)
{
	const aj_node *n = node_at(p, e);
	if (n)
		return n;
	if (e.id == 0)
		aj_prog_error(p, AJ_ERR_ARG, "invalid expression (a failed build)");
	else if (e.id <= p->id_base)
		aj_prog_error(p, AJ_ERR_STALE,
			      "expression %u is from before the last aj_sync",
			      e.id);
	else
		aj_prog_error(p, AJ_ERR_ARG, "unknown expression %u", e.id);
	return NULL;
}

static aj_expr push(aj_prog *p, const aj_node *n)
{
	if (p->deferred || p->sole)
		aj_names_touch(p);
	if (p->nnode == p->cap) {
		uint32_t cap = p->cap ? 2 * p->cap : 64;
		aj_node *a = aj_realloc(p->node, (size_t)cap * sizeof *a);
		if (!a) {
			aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
			return AJ_EXPR_NONE;
		}
		p->node = a;
		p->cap = cap;
	}
	if (p->id_base > UINT32_MAX - p->cap) /* ids wrap: start afresh */
		p->id_base = 0;
	p->node[p->nnode++] = *n;
	return (aj_expr){p->id_base + p->nnode};
}

aj_expr aj_prog_push(aj_prog *p, const aj_node *n)
{
	return push(p, n);
}

aj_expr aj_leaf(aj_prog *p, const aj_array *a)
{
	if (!p)
		return AJ_EXPR_NONE;
	if (!a) {
		aj_prog_error(p, AJ_ERR_ARG, "aj_leaf: NULL array");
		return AJ_EXPR_NONE;
	}
	aj_node n = {.op = AJ_OP_ARRAY, .dtype = a->dtype, .ndim = a->ndim,
		     .shape = a->shape};
	n.u.array = a;
	return push(p, &n);
}

static aj_expr scalar(aj_prog *p, aj_dtype t, bool weak, aj_scalar_val v)
{
	if (!p)
		return AJ_EXPR_NONE;
	aj_node n = {.op = AJ_OP_SCALAR, .dtype = t, .weak = weak};
	n.u.scalar = v;
	return push(p, &n);
}

aj_expr aj_param_node(aj_prog *p, uint32_t index, aj_dtype t)
{
	if (!p)
		return AJ_EXPR_NONE;
	aj_node n = {.op = AJ_OP_PARAM, .dtype = t, .weak = true, .arg = {index}};
	return push(p, &n);
}

aj_expr aj_scalar_f64(aj_prog *p, double v)
{
	return scalar(p, AJ_FLOAT64, true, (aj_scalar_val){.f = v});
}

aj_expr aj_scalar_i64(aj_prog *p, int64_t v)
{
	return scalar(p, AJ_INT64, true, (aj_scalar_val){.i = v});
}

aj_expr aj_scalar_bool(aj_prog *p, bool v)
{
	return scalar(p, AJ_BOOL, true, (aj_scalar_val){.i = v});
}

static aj_expr complex_scalar(aj_prog *p, aj_dtype t, bool weak, double re,
			      double im)
{
	if (!p)
		return AJ_EXPR_NONE;
	if (t == AJ_COMPLEX64) {
		re = (float)re;
		im = (float)im;
	}
	aj_node n = {.op = AJ_OP_SCALAR, .dtype = t, .weak = weak, .im = im};
	n.u.scalar.f = re;
	return push(p, &n);
}

aj_expr aj_scalar_c128(aj_prog *p, double re, double im)
{
	return complex_scalar(p, AJ_COMPLEX128, true, re, im);
}

aj_expr aj_scalar_complex(aj_prog *p, aj_dtype t, double re, double im)
{
	if (p && ((unsigned)t >= AJ_NDTYPE || !aj_is_complex(t))) {
		aj_prog_error(p, AJ_ERR_DTYPE, "aj_scalar_complex: %s is not a "
			      "complex dtype", aj_dtype_name(t));
		return AJ_EXPR_NONE;
	}
	return complex_scalar(p, t, false, re, im);
}

/* Like np.float32(v), np.uint8(v), np.bool_(v): v must be representable
 * (an integral value in range for integer dtypes). */
aj_expr aj_scalar(aj_prog *p, aj_dtype t, double v)
{
	if (!p)
		return AJ_EXPR_NONE;
	aj_scalar_val s;
	if ((unsigned)t >= AJ_NDTYPE) {
		aj_prog_error(p, AJ_ERR_DTYPE, "aj_scalar: bad dtype %d", (int)t);
		return AJ_EXPR_NONE;
	}
	if (aj_is_complex(t))
		return complex_scalar(p, t, false, v, 0);
	if (aj_is_float(t)) {
		s.f = t == AJ_FLOAT32 ? (float)v : v;
	} else if (t == AJ_BOOL) {
		s.i = v != 0;
	} else if (t == AJ_UINT64 && v >= 0x1p63 && v < 0x1p64) {
		s.i = (int64_t)(uint64_t)v; /* stored as its bit pattern */
	} else if (!(v >= -0x1p63 && v < 0x1p63) || v != (double)(int64_t)v ||
		   !aj_int_fits(t, (int64_t)v)) {
		aj_prog_error(p, AJ_ERR_OVERFLOW, "%.17g is not a %s value", v,
			      aj_dtypes[t].name);
		return AJ_EXPR_NONE;
	} else {
		s.i = (int64_t)v;
	}
	return scalar(p, t, false, s);
}

/* ---- random leaves ---- */

/* Whether dist can draw dtype t (uniform: floats or raw bits; normal:
 * floats) in an array of shape, or shapeless; false with the error
 * recorded otherwise. Positions stay below 2^61, far from overflowing
 * their index operand (kernel.h). */
static bool check_random(aj_prog *p, aj_dist dist, aj_dtype t, int ndim,
			 const int64_t *shape)
{
	const char *fn = dist == AJ_DIST_NORMAL ? "normal" : "random";
	bool fl = t == AJ_FLOAT32 || t == AJ_FLOAT64;
	bool bits = dist == AJ_DIST_UNIFORM && (t == AJ_UINT32 || t == AJ_UINT64);
	int64_t n = 1;
	if ((unsigned)dist > AJ_DIST_NORMAL)
		return aj_prog_error(p, AJ_ERR_ARG, "aj_random: bad distribution "
				     "%d", (int)dist), false;
	if ((unsigned)t >= AJ_NDTYPE || !(fl || bits))
		return aj_prog_error(p, AJ_ERR_DTYPE, "%s: dtype %s is not "
				     "supported (%s)", fn, aj_dtype_name(t),
				     dist == AJ_DIST_NORMAL ? "float32 or float64"
				     : "float32 or float64, or uint32 or uint64 "
				     "for raw bits"), false;
	if (ndim < 0 || ndim > AJ_MAX_NDIM)
		return aj_prog_error(p, AJ_ERR_SHAPE, "%s: ndim %d outside "
				     "[0, %d]", fn, ndim, AJ_MAX_NDIM), false;
	if (ndim > 0 && !shape)
		return aj_prog_error(p, AJ_ERR_ARG, "%s: shape is NULL", fn), false;
	for (int k = 0; k < ndim; k++) {
		if (shape[k] < 0)
			return aj_prog_error(p, AJ_ERR_SHAPE, "%s: negative extent "
					     "%lld in its shape", fn,
					     (long long)shape[k]), false;
		if (!aj_mul_ok(n, shape[k], &n) || n > INT64_MAX / 4)
			return aj_prog_error(p, AJ_ERR_OVERFLOW, "%s: too many "
					     "elements in its shape", fn), false;
	}
	return true;
}

static aj_expr random_leaf(aj_prog *p, aj_dist dist, aj_dtype t, int ndim,
			   const int64_t *shape, uint64_t stream, uint64_t first)
{
	aj_rng *r = aj_arena_alloc(&p->arena, sizeof *r);
	int64_t *s = aj_arena_alloc(&p->arena, (size_t)(ndim ? ndim : 1) * 8);
	if (!r || !s) {
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		return AJ_EXPR_NONE;
	}
	*r = (aj_rng){.seed = atomic_load(&p->ctx->seed), .stream = stream,
		      .first = first};
	if (ndim)
		memcpy(s, shape, (size_t)ndim * sizeof *s);
	aj_node n = {.op = dist == AJ_DIST_NORMAL ? AJ_OP_NORMAL : AJ_OP_RANDOM,
		     .dtype = (uint8_t)t, .ndim = (uint8_t)ndim, .shape = s};
	n.u.rng = r;
	return push(p, &n);
}

aj_expr aj_random(aj_prog *p, aj_dist dist, aj_dtype t, int ndim,
		  const int64_t *shape)
{
	if (!p || !check_random(p, dist, t, ndim, shape))
		return AJ_EXPR_NONE;
	uint64_t stream = atomic_fetch_add(&p->ctx->stream, 1);
	return random_leaf(p, dist, t, ndim, shape, stream, 0);
}

aj_expr aj_random_at(aj_prog *p, aj_dist dist, aj_dtype t, int ndim,
		     const int64_t *shape, uint64_t stream, uint64_t first)
{
	if (!p || !check_random(p, dist, t, ndim, shape))
		return AJ_EXPR_NONE;
	return random_leaf(p, dist, t, ndim, shape, stream, first);
}

/* out may be a or b: axes are filled from the last, which never
 * overwrites an entry still to be read. */
aj_status aj_broadcast_shapes(int na, const int64_t *a, int nb,
			      const int64_t *b, int *nd, int64_t *out)
{
	int n = na > nb ? na : nb;
	for (int k = n; k-- > 0;) {
		int64_t x = k < n - na ? 1 : a[k - (n - na)];
		int64_t y = k < n - nb ? 1 : b[k - (n - nb)];
		if (x != y && x != 1 && y != 1)
			return AJ_ERR_SHAPE;
		out[k] = x == 1 ? y : x;
	}
	*nd = n;
	return AJ_OK;
}

const char *aj_shape_text(char *buf, size_t len, int nd, const int64_t *s)
{
	size_t k = (size_t)snprintf(buf, len, "(");
	for (int i = 0; i < nd && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, i ? ", %lld" : "%lld",
				      (long long)s[i]);
	if (k < len)
		snprintf(buf + k, len - k, nd == 1 ? ",)" : ")");
	return buf;
}

/* Broadcast shape of the operands into n; false (error recorded) if none. */
static bool broadcast_args(aj_prog *p, aj_op op, int nin,
			   const aj_node *const *arg, aj_node *n)
{
	int64_t shape[AJ_MAX_NDIM];
	int nd = 0;
	const int64_t *same = arg[0]->shape;
	for (int i = 0; i < nin; i++) {
		if (arg[i]->shape != same && arg[i]->ndim)
			same = NULL;
		if (aj_broadcast_shapes(nd, shape, arg[i]->ndim, arg[i]->shape,
					&nd, shape) == AJ_OK)
			continue;
		char sa[256], sb[256];
		aj_shape_text(sa, sizeof sa, arg[0]->ndim, arg[0]->shape);
		aj_shape_text(sb, sizeof sb, arg[i]->ndim, arg[i]->shape);
		aj_prog_error(p, AJ_ERR_SHAPE,
			      "%s: operands could not be broadcast together with "
			      "shapes %s %s", aj_ops[op].name, sa, sb);
		return false;
	}
	n->ndim = (uint8_t)nd;
	if (same && arg[0]->ndim == nd) { /* common case: no new shape */
		n->shape = same;
		return true;
	}
	int64_t *s = aj_arena_alloc(&p->arena, (size_t)(nd ? nd : 1) * 8);
	if (!s) {
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		return false;
	}
	memcpy(s, shape, (size_t)nd * sizeof *s);
	n->shape = s;
	return true;
}

/* Weak Python ints must fit the integer dtype they meet (NEP 50). */
static bool check_weak_ints(aj_prog *p, int nin, const aj_node *const *arg,
			    aj_dtype t)
{
	for (int i = 0; i < nin; i++) {
		const aj_node *a = arg[i];
		if (a->op == AJ_OP_SCALAR && a->weak && a->dtype == AJ_INT64 &&
		    aj_is_int(t) && !aj_int_fits(t, a->u.scalar.i)) {
			aj_prog_error(p, AJ_ERR_OVERFLOW,
				      "Python integer %lld out of bounds for %s",
				      (long long)a->u.scalar.i, aj_dtypes[t].name);
			return false;
		}
	}
	return true;
}

/*
 * The float dtype an op computes in for operand dtype t. Division of bools
 * and ints is float64, as in NumPy. Math functions follow NumPy's loops:
 * 1- and 2-byte ints and bool would get float16 there; arrjit has no
 * float16 and gives float32 (which holds every float16 value) for 1-byte
 * types, float32 for 2-byte ints as NumPy does, float64 for wider ones.
 */
static aj_dtype to_float(aj_op op, aj_dtype t)
{
	if (aj_is_float(t) || aj_is_complex(t))
		return t;
	if (op == AJ_OP_DIV || op == AJ_OP_MEAN || aj_dtypes[t].size > 2)
		return AJ_FLOAT64;
	return AJ_FLOAT32;
}

/* NumPy refuses these on bool: -b, b - b and sign(b). */
static bool check_bool_op(aj_prog *p, aj_op op, aj_dtype t)
{
	if (t != AJ_BOOL || (op != AJ_OP_NEG && op != AJ_OP_SUB && op != AJ_OP_SIGN))
		return true;
	aj_prog_error(p, AJ_ERR_DTYPE, "%s of bools is not supported%s",
		      aj_ops[op].name, op == AJ_OP_NEG ? "; use logical_not"
				       : op == AJ_OP_SUB ? "; use logical_xor" : "");
	return false;
}

/* Bitwise ops need ints (shifts) or ints and bools (and, or, xor, ~). */
static bool check_int_op(aj_prog *p, aj_op op, aj_dtype t)
{
	aj_oprule r = aj_ops[op].rule;
	if ((r != AJ_RULE_BITS && r != AJ_RULE_SHIFT) || aj_is_int(t) || t == AJ_BOOL)
		return true;
	aj_prog_error(p, AJ_ERR_DTYPE, "%s is not defined for %s",
		      aj_ops[op].name, aj_dtypes[t].name);
	return false;
}

/* sum and prod accumulate bool and narrow ints in NumPy's default ints. */
static aj_dtype accum_dtype(aj_dtype t)
{
	if (t == AJ_BOOL || (aj_is_signed(t) && aj_dtypes[t].size < 8))
		return AJ_INT64;
	if (aj_is_unsigned(t) && aj_dtypes[t].size < 8)
		return AJ_UINT64;
	return t;
}

/* Ops without a complex loop in NumPy (floor, fmod, arctan2, bitwise
 * ops, ...) refuse complex operands, as NumPy's ufuncs do. */
static bool check_complex(aj_prog *p, aj_op op, aj_dtype t)
{
	if (!aj_is_complex(t) || aj_ops[op].complex)
		return true;
	aj_prog_error(p, AJ_ERR_DTYPE, "%s is not defined for complex (%s)",
		      aj_ops[op].name, aj_dtypes[t].name);
	return false;
}


/* Result dtype and weakness of op applied to arg (NumPy's rules). */
static bool resolve_dtype(aj_prog *p, aj_op op, int nin,
			  const aj_node *const *arg, aj_node *n)
{
	int first = aj_ops[op].kind == AJ_KIND_SELECT ? 1 : 0;
	/* A float function of two int arrays finds NumPy's first loop both
	 * can reach safely: each int becomes its own float before promotion
	 * (uint16 and int8 give float32). A weak scalar promotes first (bool
	 * array and Python int: int64, so float64). True division of ints is
	 * float64 throughout. */
	bool per_operand = aj_ops[op].rule == AJ_RULE_FLOAT && op != AJ_OP_DIV;
	for (int i = first; i < nin; i++)
		per_operand = per_operand && !arg[i]->weak;
	bool weak = arg[first]->weak;
	aj_dtype t = arg[first]->dtype;
	if (per_operand)
		t = to_float(op, t);
	for (int i = first + 1; i < nin; i++) {
		aj_dtype ti = arg[i]->dtype;
		if (per_operand)
			ti = to_float(op, ti);
		t = aj_promote(t, weak, ti, arg[i]->weak, &weak);
	}
	if (!check_bool_op(p, op, t) || !check_int_op(p, op, t) ||
	    !check_complex(p, op, t))
		return false;
	/* operands are cast to the promoted dtype for comparisons, else to the
	 * result: a Python int must fit there (int32 / 2**40 is float64) */
	aj_dtype operand_t = t;
	switch (aj_ops[op].rule) {
	case AJ_RULE_SAME:
	case AJ_RULE_BITS:
		break;
	case AJ_RULE_NOBOOL:
	case AJ_RULE_SHIFT:
		if (t == AJ_BOOL)
			t = AJ_INT8;
		break;
	case AJ_RULE_FLOAT:
		t = to_float(op, t);
		/* 2 / 3 stays a Python float; np.exp(2.0) is a float64 */
		weak = weak && op == AJ_OP_DIV;
		break;
	case AJ_RULE_BOOL:
		t = AJ_BOOL;
		break;
	case AJ_RULE_ACCUM:
		t = accum_dtype(t);
		break;
	case AJ_RULE_REAL:
		t = aj_part_dtype(t);
		break;
	case AJ_RULE_INDEX:
		t = AJ_INT64;
		break;
	case AJ_RULE_CPLX: /* complex(re, im): re and im in the component */
		operand_t = to_float(op, t);
		t = aj_complex_of(operand_t);
		weak = false;
		break;
	}
	aj_oprule rule = aj_ops[op].rule;
	if (rule != AJ_RULE_BOOL && rule != AJ_RULE_CPLX && rule != AJ_RULE_REAL &&
	    rule != AJ_RULE_INDEX)
		operand_t = t;
	if (aj_ops[op].kind == AJ_KIND_LOGIC || aj_ops[op].kind == AJ_KIND_PRED)
		operand_t = AJ_BOOL; /* truth values: any Python int will do */
	if (!check_weak_ints(p, nin, arg, operand_t))
		return false;
	n->dtype = (uint8_t)t;
	n->weak = weak;
	return true;
}

static aj_expr reduce_power(aj_prog *p, aj_expr x, aj_expr e, aj_dtype t,
			    bool *failed);

static aj_expr apply_node(aj_prog *p, aj_op op, int nin, const aj_expr *args);

/*
 * NumPy raises for an integer raised to a negative integer. With an array
 * exponent that depends on the data: the pow node gets a check node,
 * any(exponent < 0), which aj_sync runs before writing anything.
 */
static aj_expr checked_power(aj_prog *p, const aj_expr *args)
{
	/* NumPy's loop raises at the element: an empty result raises for
	 * none (broadcasting keeps a zero extent, or fails) */
	for (int i = 0; i < 2; i++) {
		const aj_node *n = aj_prog_node(p, args[i]);
		if (n && aj_shape_empty(n->ndim, n->shape))
			return apply_node(p, AJ_OP_POW, 2, args);
	}
	aj_expr lt[2] = {args[1], aj_scalar_i64(p, 0)};
	aj_expr neg = apply_node(p, AJ_OP_LT, 2, lt);
	aj_expr any = aj_reduce(p, AJ_OP_ANY, neg, 0, NULL, false);
	aj_expr r = apply_node(p, AJ_OP_POW, 2, args);
	if (r.id && any.id)
		p->node[r.id - p->id_base - 1].u.check = any.id - p->id_base - 1;
	return any.id ? r : AJ_EXPR_NONE;
}

aj_expr aj_apply(aj_prog *p, aj_op op, int nin, const aj_expr *args)
{
	if (op == AJ_OP_POW && nin == 2 && args) {
		const aj_node *x = node_at(p, args[0]), *e = node_at(p, args[1]);
		if (x && e && e->op != AJ_OP_SCALAR && aj_is_signed(e->dtype)) {
			bool weak;
			aj_dtype t = aj_promote(x->dtype, x->weak, e->dtype, e->weak, &weak);
			if (aj_is_int(t))
				return checked_power(p, args);
		}
	}
	aj_expr r = apply_node(p, op, nin, args);
	if (op != AJ_OP_POW || !r.id)
		return r;
	bool failed; /* the pow node stays unreferenced: fusion skips it */
	aj_expr s = reduce_power(p, args[0], args[1], aj_expr_dtype(p, r), &failed);
	return failed ? AJ_EXPR_NONE : s.id ? s : r;
}

/* The value of scalar node n as a double, and whether it is one. */
static bool scalar_value(const aj_node *n, double *v)
{
	if (n->op != AJ_OP_SCALAR || (aj_is_complex(n->dtype) && n->im != 0))
		return false;
	*v = aj_is_float(n->dtype) || aj_is_complex(n->dtype) ? n->u.scalar.f
	     : aj_is_unsigned(n->dtype) ? (double)(uint64_t)n->u.scalar.i
					: (double)n->u.scalar.i;
	return true;
}

aj_dtype aj_operand_dtype(const aj_node *n, const aj_node *const *arg, int i)
{
	bool weak;
	switch (aj_ops[n->op].kind) {
	case AJ_KIND_CMP:
		return aj_promote(arg[0]->dtype, arg[0]->weak, arg[1]->dtype,
				  arg[1]->weak, &weak);
	case AJ_KIND_PRED: /* tests the operand in its own dtype */
		return arg[0]->dtype;
	case AJ_KIND_LOGIC:
		return AJ_BOOL;
	case AJ_KIND_SELECT:
		return i == 0 ? AJ_BOOL : n->dtype;
	default:
		switch (aj_ops[n->op].rule) {
		case AJ_RULE_REAL: /* abs, real, imag see a complex as is */
			return arg[0]->dtype;
		case AJ_RULE_CPLX: /* complex(re, im): the parts' float */
			return aj_part_dtype(n->dtype);
		default:
			return n->dtype;
		}
	}
}

/* Whether int64 arithmetic gives Python's result for a op b: Python ints
 * do not wrap, so a weak int result that would is left to the kernel. */
static bool python_int_exact(aj_op op, int64_t a, int64_t b)
{
	int64_t r;
	switch (op) {
	case AJ_OP_NEG: return a != INT64_MIN;
	case AJ_OP_ADD: return !__builtin_add_overflow(a, b, &r);
	case AJ_OP_SUB: return !__builtin_sub_overflow(a, b, &r);
	case AJ_OP_MUL: return !__builtin_mul_overflow(a, b, &r);
	case AJ_OP_FLOORDIV: return !(a == INT64_MIN && b == -1);
	case AJ_OP_LSHIFT:
		return b >= 0 && b < 63 && !__builtin_mul_overflow(a, INT64_C(1) << b, &r);
	case AJ_OP_POW: /* |a| >= 2 overflows within 63 factors */
		if (a >= -1 && a <= 1)
			return true;
		r = 1;
		for (int64_t k = 0; k < b; k++)
			if (__builtin_mul_overflow(r, a, &r))
				return false;
		return true;
	default: return true;
	}
}

/*
 * Constant folding: an elementwise op of scalars becomes a scalar here,
 * with the kernel's semantics (lib/fold.c), so `cos(1 + 1)` is one
 * runtime parameter, `a ** -1` sees the literal -1, and structurally equal
 * expressions share kernels whatever their constants. Complex values, and
 * Python ints that int64 arithmetic would wrap, are left to the kernel.
 * An integer to a negative integer power fails, as NumPy's does.
 */
static bool fold_scalars(aj_prog *p, int nin, const aj_node *const *arg,
			 aj_node *n, bool *failed)
{
	aj_op op = n->op;
	*failed = false;
	for (int k = 0; k < nin; k++)
		if (arg[k]->op != AJ_OP_SCALAR || aj_is_complex(arg[k]->dtype))
			return false;
	aj_dtype in = aj_operand_dtype(n, arg, nin - 1); /* where: the values' */
	aj_scalar_val x[3], r;
	for (int k = 0; k < nin; k++)
		if (!aj_fold_cast(arg[k]->dtype, aj_operand_dtype(n, arg, k),
				  arg[k]->u.scalar, &x[k]))
			return false;
	if (op == AJ_OP_POW && aj_is_signed(in) && x[1].i < 0) {
		aj_prog_error(p, AJ_ERR_ARG, "Integers to negative integer "
			      "powers are not allowed");
		*failed = true;
		return false;
	}
	if (n->weak && aj_is_int(n->dtype) &&
	    !python_int_exact(op, x[0].i, nin > 1 ? x[1].i : 0))
		return false;
	if (!aj_fold_op(op, in, n->dtype, x, &r))
		return false;
	n->u.scalar = r;
	n->op = AJ_OP_SCALAR;
	n->ndim = 0;
	n->shape = NULL;
	return true;
}

static aj_expr apply_node(aj_prog *p, aj_op op, int nin, const aj_expr *args)
{
	if (!p)
		return AJ_EXPR_NONE;
	if ((unsigned)op >= AJ_NOP || aj_ops[op].kind <= AJ_KIND_CAST ||
	    aj_ops[op].kind == AJ_KIND_REDUCE) {
		aj_prog_error(p, AJ_ERR_ARG, "aj_apply: op %d is not applicable"
			      " (use aj_leaf, aj_scalar_*, aj_cast or aj_reduce)",
			      (int)op);
		return AJ_EXPR_NONE;
	}
	if (nin != aj_ops[op].nin || !args) {
		if (!args)
			aj_prog_error(p, AJ_ERR_ARG, "%s: args is NULL", aj_ops[op].name);
		else
			aj_prog_error(p, AJ_ERR_ARG, "%s takes %d operands, not %d",
				      aj_ops[op].name, aj_ops[op].nin, nin);
		return AJ_EXPR_NONE;
	}
	const aj_node *arg[3];
	for (int i = 0; i < nin; i++)
		if (!(arg[i] = aj_prog_node(p, args[i])))
			return AJ_EXPR_NONE;
	aj_node n = {.op = (uint8_t)op};
	if (!broadcast_args(p, op, nin, arg, &n) ||
	    !resolve_dtype(p, op, nin, arg, &n))
		return AJ_EXPR_NONE;
	bool failed;
	if (fold_scalars(p, nin, arg, &n, &failed))
		return push(p, &n);
	if (failed)
		return AJ_EXPR_NONE;
	for (int i = 0; i < nin; i++)
		n.arg[i] = args[i].id - p->id_base - 1;
	return push(p, &n);
}


/* x ** n for a small integer n >= 1 by binary powering (x, x^2, x^4, ...),
 * the product starting from acc (or from the first factor if none). */
static aj_expr power_chain(aj_prog *p, aj_expr acc, aj_expr x, int n)
{
	aj_expr sq = x;
	for (; n; n >>= 1) {
		if (n & 1)
			acc = acc.id ? aj_binary(p, AJ_OP_MUL, acc, sq) : sq;
		if (n > 1)
			sq = aj_apply(p, AJ_OP_SQUARE, 1, &sq);
	}
	return acc;
}

/*
 * x ** e with e a scalar known now (a literal, or any scalar node: its
 * value then picks among a bounded set of kernel shapes). As NumPy's **:
 * e == 2 is square, -1 reciprocal, 0.5 sqrt, 1 x itself; integer e up to
 * 16 in magnitude multiply out (numexpr's trick: b**10 costs 4
 * multiplications, not a pow), within (|e| - 1) / 2 + 1 ULP where pow is
 * within 1. Integer bases refuse negative exponents, as NumPy does.
 * Complex bases follow NumPy's complex power, which multiplies out every
 * integer |e| < 100: e = 2, 3 directly, larger or negative ones as a
 * product starting from 1+0j (which matters for inf and NaN parts), and
 * 1 / that for e < 0; -1 is the reciprocal, as for floats.
 * Returns AJ_EXPR_NONE with no error recorded when pow stays.
 */
static aj_expr reduce_power(aj_prog *p, aj_expr x, aj_expr e, aj_dtype t,
			    bool *failed)
{
	const aj_node *xn = aj_prog_node(p, x), *en = aj_prog_node(p, e);
	double v;
	*failed = false;
	if (!xn || !en || !scalar_value(en, &v) || xn->op == AJ_OP_SCALAR)
		return AJ_EXPR_NONE;
	/* the magnitude test first: (int)v is undefined past int's range */
	bool integral = fabs(v) <= 16 && v == (double)(int)v;
	if (aj_is_int(t) && v < 0) {
		if (aj_shape_empty(xn->ndim, xn->shape)) /* NumPy's loop raises per element */
			return AJ_EXPR_NONE; /* pow stays, run for none */
		aj_prog_error(p, AJ_ERR_ARG, "Integers to negative integer "
			      "powers are not allowed");
		*failed = true;
		return AJ_EXPR_NONE;
	}
	bool cx = aj_is_complex(t);
	if (!integral && !(v == 0.5 && (aj_is_float(t) || cx)))
		return AJ_EXPR_NONE;
	aj_expr b = xn->dtype == t ? x : aj_cast(p, x, t);
	if (v == 0.5)
		return aj_apply(p, AJ_OP_SQRT, 1, &b);
	if (v == 0)
		return AJ_EXPR_NONE; /* x**0 is 1 even for NaN: pow knows */
	int n = (int)fabs(v);
	if (v == -1 || !cx) {
		aj_expr r = power_chain(p, AJ_EXPR_NONE, b, n);
		return v < 0 ? aj_apply(p, AJ_OP_RECIPROCAL, 1, &r) : r;
	}
	aj_expr one = aj_scalar_complex(p, t, 1, 0);
	aj_expr r = power_chain(p, n >= 4 || v < 0 ? one : AJ_EXPR_NONE, b, n);
	return v < 0 ? aj_binary(p, AJ_OP_DIV, one, r) : r;
}

aj_expr aj_unary(aj_prog *p, aj_op op, aj_expr x)
{
	return aj_apply(p, op, 1, &x);
}

aj_expr aj_binary(aj_prog *p, aj_op op, aj_expr x, aj_expr y)
{
	aj_expr a[2] = {x, y};
	return aj_apply(p, op, 2, a);
}

aj_expr aj_where(aj_prog *p, aj_expr c, aj_expr x, aj_expr y)
{
	aj_expr a[3] = {c, x, y};
	return aj_apply(p, AJ_OP_WHERE, 3, a);
}

aj_expr aj_cast(aj_prog *p, aj_expr x, aj_dtype t)
{
	if (!p)
		return AJ_EXPR_NONE;
	const aj_node *a = aj_prog_node(p, x);
	if (!a)
		return AJ_EXPR_NONE;
	if ((unsigned)t >= AJ_NDTYPE) {
		aj_prog_error(p, AJ_ERR_DTYPE, "aj_cast: bad dtype %d", (int)t);
		return AJ_EXPR_NONE;
	}
	aj_node n = {.op = AJ_OP_CAST, .dtype = (uint8_t)t, .ndim = a->ndim,
		     .shape = a->shape};
	aj_scalar_val v; /* float32(2.5): a strong scalar, folded */
	if (a->op == AJ_OP_SCALAR && !aj_is_complex(a->dtype) && !aj_is_complex(t) &&
	    aj_fold_cast(a->dtype, t, a->u.scalar, &v)) {
		n.op = AJ_OP_SCALAR;
		n.u.scalar = v;
		return push(p, &n);
	}
	n.arg[0] = x.id - p->id_base - 1;
	return push(p, &n);
}

/* The axis mask of a reduction of an ndim-d operand; 0 after an error. */
static uint32_t reduce_axes(aj_prog *p, aj_op op, int ndim, int naxis,
			    const int *axes)
{
	if (naxis == 0)
		return ndim == 32 ? UINT32_MAX : (UINT32_C(1) << ndim) - 1;
	if (!axes) {
		aj_prog_error(p, AJ_ERR_ARG, "%s: axes is NULL", aj_ops[op].name);
		return 0;
	}
	if (naxis < 0 || naxis > ndim) {
		aj_prog_error(p, AJ_ERR_ARG, "%s: %d axes for a %d-d operand",
			      aj_ops[op].name, naxis, ndim);
		return 0;
	}
	uint32_t mask = 0;
	for (int i = 0; i < naxis; i++) {
		int a = axes[i] < 0 ? axes[i] + ndim : axes[i];
		if (a < 0 || a >= ndim || (mask >> a & 1)) {
			aj_prog_error(p, AJ_ERR_ARG, "%s: axis %d is %s for a %d-d "
				      "operand", aj_ops[op].name, axes[i],
				      a < 0 || a >= ndim ? "out of bounds" : "repeated",
				      ndim);
			return 0;
		}
		mask |= UINT32_C(1) << a;
	}
	return mask;
}

/* Shape of the reduction result; false (error recorded) for min or max
 * of nothing, which has no identity. */
static bool reduce_shape(aj_prog *p, aj_op op, const aj_node *x, aj_node *n)
{
	int64_t *s = aj_arena_alloc(&p->arena, (size_t)(x->ndim ? x->ndim : 1) * 8);
	if (!s) {
		aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		return false;
	}
	int nd = 0;
	bool empty = false;
	for (int k = 0; k < x->ndim; k++) {
		bool red = n->u.red.axes >> k & 1;
		empty = empty || (red && x->shape[k] == 0);
		if (!red || n->u.red.keepdims)
			s[nd++] = red ? 1 : x->shape[k];
	}
	if (empty && (op == AJ_OP_RMIN || op == AJ_OP_RMAX)) {
		aj_prog_error(p, AJ_ERR_SHAPE, "zero-size array to reduction "
			      "operation %s which has no identity", aj_ops[op].name);
		return false;
	}
	if (empty && aj_ops[op].rule == AJ_RULE_INDEX) {
		aj_prog_error(p, AJ_ERR_SHAPE, "attempt to get %s of an empty "
			      "sequence", aj_ops[op].name);
		return false;
	}
	n->ndim = (uint8_t)nd;
	n->shape = s;
	return true;
}

aj_expr aj_reduce(aj_prog *p, aj_op op, aj_expr x, int naxis, const int *axes,
		  bool keepdims)
{
	if (!p)
		return AJ_EXPR_NONE;
	if ((unsigned)op >= AJ_NOP || aj_ops[op].kind != AJ_KIND_REDUCE) {
		aj_prog_error(p, AJ_ERR_ARG, "aj_reduce: op %d is not a "
			      "reduction", (int)op);
		return AJ_EXPR_NONE;
	}
	const aj_node *a = aj_prog_node(p, x);
	if (!a || !check_complex(p, op, a->dtype))
		return AJ_EXPR_NONE;
	aj_node n = {.op = (uint8_t)op};
	n.u.red.keepdims = keepdims;
	if (aj_ops[op].rule == AJ_RULE_INDEX && naxis > 1) {
		aj_prog_error(p, AJ_ERR_ARG, "%s takes one axis or none, not %d",
			      aj_ops[op].name, naxis);
		return AJ_EXPR_NONE;
	}
	if (a->ndim > 0 && !(n.u.red.axes = reduce_axes(p, op, a->ndim, naxis, axes)))
		return AJ_EXPR_NONE;
	if (a->ndim == 0 && naxis != 0) {
		aj_prog_error(p, AJ_ERR_ARG, "%s: axis for a 0-d operand",
			      aj_ops[op].name);
		return AJ_EXPR_NONE;
	}
	if (!reduce_shape(p, op, a, &n) || !resolve_dtype(p, op, 1, &a, &n))
		return AJ_EXPR_NONE;
	n.weak = false; /* np.sum(2) is an int64, not a Python int */
	n.arg[0] = x.id - p->id_base - 1;
	return push(p, &n);
}

aj_dtype aj_expr_dtype(const aj_prog *p, aj_expr e)
{
	const aj_node *n = node_at(p, e);
	return n ? (aj_dtype)n->dtype : AJ_NDTYPE;
}

int aj_expr_shape(const aj_prog *p, aj_expr e, int64_t *shape)
{
	const aj_node *n = node_at(p, e);
	if (!n)
		return -1;
	if (shape && n->ndim)
		memcpy(shape, n->shape, n->ndim * sizeof *shape);
	return n->ndim;
}

/* e must broadcast to out (as NumPy's out=), and cast same_kind. */
static aj_status check_assign(aj_prog *p, const aj_array *out, const aj_node *n)
{
	if (out->readonly)
		return aj_prog_error(p, AJ_ERR_READONLY,
				     "output is a read-only (broadcast) view");
	bool ok = n->ndim <= out->ndim;
	for (int k = 0; ok && k < n->ndim; k++) {
		int64_t d = n->shape[k], o = out->shape[out->ndim - n->ndim + k];
		ok = d == o || d == 1;
	}
	if (!ok) {
		char se[256], so[256];
		aj_shape_text(se, sizeof se, n->ndim, n->shape);
		aj_shape_text(so, sizeof so, out->ndim, out->shape);
		return aj_prog_error(p, AJ_ERR_SHAPE, "cannot assign shape %s "
				     "to output of shape %s", se, so);
	}
	if (!aj_can_cast_same_kind(n->dtype, out->dtype))
		return aj_prog_error(p, AJ_ERR_DTYPE, "cannot cast %s to %s "
				     "output under same_kind; use aj_cast",
				     aj_dtypes[n->dtype].name,
				     aj_dtypes[out->dtype].name);
	return AJ_OK;
}

aj_status aj_assign(aj_prog *p, aj_array *out, aj_expr e)
{
	if (!p)
		return AJ_ERR_ARG;
	if (p->err != AJ_OK)
		return aj_prog_take_error(p);
	const aj_node *n = NULL;
	if (!out)
		aj_prog_error(p, AJ_ERR_ARG, "aj_assign: NULL output");
	else if ((n = aj_prog_node(p, e)))
		check_assign(p, out, n);
	if (p->err != AJ_OK)
		return aj_prog_take_error(p);
	if (p->deferred || p->sole)
		aj_names_touch(p);
	if (p->npending == p->cappending) {
		uint32_t cap = p->cappending ? 2 * p->cappending : 8;
		aj_assignment *a = aj_realloc(p->pending, cap * sizeof *a);
		if (!a) {
			aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
			return aj_prog_take_error(p);
		}
		p->pending = a;
		p->cappending = cap;
	}
	p->pending[p->npending++] = (aj_assignment){out, e.id - p->id_base - 1};
	return AJ_OK;
}

/* Forgets every node and pending assignment; handles become stale. */
static void reset(aj_prog *p)
{
	p->id_base += p->nnode;
	p->nnode = 0;
	p->npending = 0;
	aj_arena_reset(&p->arena);
}

aj_status aj_sync(aj_prog *p)
{
	if (!p)
		return AJ_ERR_ARG;
	aj_status s;
	if (p->err != AJ_OK) {
		aj_names_detach(p); /* a deferred text's work fails with the rest */
		s = aj_prog_take_error(p);
	} else {
		s = aj_names_sync(p);
	}
	if (s != AJ_OK && p->err != AJ_OK)
		aj_prog_take_error(p);
	reset(p);
	return s;
}
