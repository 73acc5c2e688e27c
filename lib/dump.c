/*
 * Text forms of each stage, for arrjit-dump and for tests: the DAG, the
 * fused kernels and their cache keys here; LLVM IR and assembly from jit/.
 * The forms are stable, so they make golden outputs.
 */
#include "cache.h"
#include "fuse.h"
#include "jit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct text {
	char *s;
	size_t len, cap;
	bool nomem;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->s && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 64) * 2;
		char *s = aj_realloc(t->s, cap);
		if (!s) {
			t->nomem = true;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
}

static void add_shape(text *t, int nd, const int64_t *s)
{
	add(t, "(");
	for (int i = 0; i < nd; i++)
		add(t, i ? ", %lld" : "%lld", (long long)s[i]);
	add(t, nd == 1 ? ",)" : ")");
}

/* " from <dtype> (shape) strides (...) axis A, check %C, positions"
 * (the positions' node follows) */
static void dump_take(text *t, const aj_gather *g)
{
	add(t, " from %s ", aj_dtypes[g->src->dtype].name);
	add_shape(t, g->src->ndim, g->src->shape);
	add(t, " strides ");
	add_shape(t, g->src->ndim, g->src->strides);
	add(t, " axis %d", g->axis);
	if (g->check)
		add(t, ", check %%%u", g->check);
	add(t, ", positions");
}

static void dump_node(text *t, const aj_prog *p, uint32_t i)
{
	const aj_node *n = &p->node[i];
	add(t, "%%%u = %s", i, aj_ops[n->op].name);
	if (n->op == AJ_OP_ARRAY) {
		add(t, " strides ");
		add_shape(t, n->u.array->ndim, n->u.array->strides);
	} else if (n->op == AJ_OP_TAKE) {
		dump_take(t, n->u.take);
	} else if (n->op == AJ_OP_VIEW) { /* map: see core.h */
		add(t, " of positions %lld + strides ",
		    (long long)((uintptr_t)n->u.view->data - AJ_INDEX_BIAS));
		add_shape(t, n->u.view->ndim, n->u.view->strides);
	} else if (n->op == AJ_OP_SCALAR && aj_is_complex(n->dtype)) {
		add(t, " (%.17g%+.17gj)", n->u.scalar.f, n->im);
	} else if (n->op == AJ_OP_SCALAR && aj_is_float(n->dtype)) {
		add(t, " %.17g", n->u.scalar.f);
	} else if (n->op == AJ_OP_SCALAR) {
		add(t, " %lld", (long long)n->u.scalar.i);
	} else if (n->op == AJ_OP_PARAM) {
		add(t, " %u", n->arg[0]);
	} else if (aj_is_random((aj_op)n->op)) {
		add(t, " seed %llu stream %llu", (unsigned long long)n->u.rng->seed,
		    (unsigned long long)n->u.rng->stream);
		if (n->u.rng->first)
			add(t, " first %llu", (unsigned long long)n->u.rng->first);
		if (!n->ndim)
			add(t, " shapeless");
	}
	for (int k = 0; k < aj_ops[n->op].nin; k++)
		add(t, k ? ", %%%u" : " %%%u", n->arg[k]);
	add(t, " : %s%s ", aj_dtypes[n->dtype].name, n->weak ? " (weak)" : "");
	add_shape(t, n->ndim, n->shape);
	add(t, "\n");
}

/* The nodes the assignments reach, in order; no addresses, so the text is
 * the same from run to run. */
static void dump_dag(text *t, aj_prog *p, uint32_t nassign,
		     const aj_assignment *a)
{
	uint8_t *live = aj_arena_alloc(&p->arena, p->nnode ? p->nnode : 1);
	if (!live) {
		t->nomem = true;
		return;
	}
	memset(live, 0, p->nnode);
	for (uint32_t i = 0; i < nassign; i++)
		live[a[i].node] = 1;
	for (uint32_t i = p->nnode; i-- > 0;) {
		for (int k = 0; live[i] && k < aj_ops[p->node[i].op].nin; k++)
			live[p->node[i].arg[k]] = 1;
		if (live[i] && aj_node_check(&p->node[i])) /* runs first */
			live[aj_node_check(&p->node[i])] = 1;
	}
	for (uint32_t i = 0; i < p->nnode; i++)
		if (live[i])
			dump_node(t, p, i);
	for (uint32_t i = 0; i < nassign; i++) {
		add(t, "out%u %s ", i, aj_dtypes[a[i].out->dtype].name);
		add_shape(t, a[i].out->ndim, a[i].out->shape);
		add(t, " strides ");
		add_shape(t, a[i].out->ndim, a[i].out->strides);
		add(t, " <- %%%u\n", a[i].node);
	}
}

static const char *class_name(int c)
{
	return c == AJ_SC_CONTIG ? "contig" : c == AJ_SC_ZERO ? "bcast"
	       : c == AJ_SC_RCONTIG ? "backwards" : "strided";
}

/* Whether a take reads operand o. */
static bool is_gathered(const aj_kdesc *k, int o)
{
	for (int i = 0; i < k->nval; i++)
		if (k->val[i].op == AJ_OP_TAKE && k->val[i].arg[0] == (uint32_t)o)
			return true;
	return false;
}

static void dump_kernel(text *t, const aj_kcall *c, int idx)
{
	const aj_kdesc *k = &c->k;
	add(t, "kernel %d: %d loop%s ", idx, k->ndim, k->ndim == 1 ? "" : "s");
	if (k->red != AJ_NOP)
		add(t, "reducing (%s) ", aj_ops[k->red].name);
	add_shape(t, k->ndim, c->shape);
	add(t, ", %lld elements", (long long)c->nelem);
	if (c->nchunk)
		add(t, " in %lld fixed chunks of loop 0", (long long)c->nchunk);
	if (k->tile)
		add(t, ", tiled");
	add(t, "\n");
	if (c->note)
		add(t, "  (%s)\n", c->note);
	if (k->nt)
		add(t, "  (out0 stored non-temporally)\n");
	for (int o = 0; o < k->nop; o++) {
		add(t, "  %s%d %s %s strides ", o < k->nout ? "out" : "in",
		    o < k->nout ? o : o - k->nout, aj_dtypes[k->op_dtype[o]].name,
		    class_name(k->op_class[o]));
		add_shape(t, k->ndim, c->strides + o * k->ndim);
		add(t, "%s\n", is_gathered(k, o) ? " gathered" : "");
	}
	for (int i = 0; i < k->nval; i++) {
		const aj_kval *v = &k->val[i];
		add(t, "  v%d = %s", i, aj_ops[v->op].name);
		if (v->op == AJ_OP_ARRAY || v->op == AJ_OP_INDEX)
			add(t, " in%u", v->arg[0] - (uint32_t)k->nout);
		else if (v->op == AJ_OP_TAKE) /* see kernel.h */
			add(t, " in%u at byte offset v%u", v->arg[0] - (uint32_t)k->nout,
			    v->arg[1]);
		else if (v->op == AJ_OP_SCALAR)
			add(t, " $%u", v->arg[0]);
		else
			for (int j = 0; j < aj_kval_nin(v); j++)
				add(t, j ? ", v%u" : " v%u", v->arg[j]);
		add(t, " : %s\n", aj_dtypes[v->dtype].name);
	}
	for (int o = 0; o < k->nout; o++)
		add(t, "  out%d <- v%u\n", o, k->out_val[o]);
}

static void dump_key(text *t, const aj_key *key)
{
	add(t, "%016llx %zu bytes\n", (unsigned long long)key->hash, key->len);
	for (size_t i = 0; i < key->len; i++)
		add(t, "%02x%s", key->bytes[i], i % 32 == 31 || i + 1 == key->len ? "\n" : "");
}

static aj_status dump_call(aj_prog *p, aj_stage stage, const aj_kcall *c,
			   int idx, text *t)
{
	aj_key key;
	if (stage == AJ_STAGE_FUSED) {
		dump_kernel(t, c, idx);
	} else if (stage == AJ_STAGE_KEY) {
		if (aj_key_of(&c->k, &p->arena, &key) != AJ_OK)
			return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
		dump_key(t, &key);
	} else {
		char err[AJ_ERRMSG_MAX] = "out of memory", *s = NULL;
		aj_status st = aj_jit_text(&c->k, stage, &s, err, sizeof err);
		if (st != AJ_OK)
			return aj_prog_error(p, st, "%s", err);
		add(t, "%s", s);
		aj_free(s);
	}
	return AJ_OK;
}

static aj_status dump_stage(aj_prog *p, aj_stage stage, uint32_t n,
			    const aj_assignment *a, text *t)
{
	if (stage == AJ_STAGE_DAG) {
		dump_dag(t, p, n, a);
		return AJ_OK;
	}
	int idx = 0;
	for (uint32_t i = 0, ng = 0; i < n; ng++) {
		aj_group g;
		aj_status s = aj_fuse(p, &a[i], (int)(n - i), &g);
		if (s == AJ_OK && stage == AJ_STAGE_FUSED)
			add(t, "group %u: out%u..out%u, %d kernel%s, %lld bytes of "
			    "temporaries; ends: %s\n", ng, i,
			    i + (uint32_t)g.nassign - 1, g.ncall, g.ncall == 1 ? "" : "s",
			    (long long)g.temp_bytes, g.why);
		for (int j = 0; s == AJ_OK && j < g.ncall; j++) {
			aj_pick_stores(p->ctx, &g.calls[j]);
			s = dump_call(p, stage, &g.calls[j], idx++, t);
		}
		if (s != AJ_OK)
			return s;
		i += (uint32_t)g.nassign;
	}
	return AJ_OK;
}

/* The assignment e would make into a fresh C-order output (*tmp). */
static aj_status assignment_of(aj_prog *p, aj_expr e, aj_array **tmp,
			       aj_assignment *one)
{
	const aj_node *node = aj_prog_node(p, e);
	if (!node)
		return p->err;
	int64_t shape[AJ_MAX_NDIM];
	if (node->ndim) /* a scalar has no shape array */
		memcpy(shape, node->shape, node->ndim * sizeof *shape);
	if (aj_array_new(p->ctx, node->dtype, node->ndim, shape, tmp) != AJ_OK)
		return aj_prog_error(p, AJ_ERR_NOMEM, "%s", aj_ctx_errmsg(p->ctx));
	*one = (aj_assignment){*tmp, e.id - p->id_base - 1};
	return AJ_OK;
}

aj_status aj_dump(aj_prog *p, aj_expr e, aj_stage stage, char **out)
{
	if (!p)
		return AJ_ERR_ARG;
	if (!out || (unsigned)stage > AJ_STAGE_KEY)
		aj_prog_error(p, AJ_ERR_ARG, "aj_dump: bad argument");
	if (p->err != AJ_OK)
		return aj_prog_take_error(p);
	*out = NULL;
	aj_array *tmp = NULL;
	aj_assignment one, *a = p->pending;
	uint32_t n = p->npending;
	text t = {0};
	aj_status s = AJ_OK;
	if (e.id != 0) {
		s = assignment_of(p, e, &tmp, &one);
		a = &one;
		n = 1;
	}
	add(&t, "%s", "");
	if (s == AJ_OK)
		s = dump_stage(p, stage, n, a, &t);
	aj_array_free(tmp);
	if (s == AJ_OK && t.nomem)
		s = aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
	if (s != AJ_OK) {
		aj_free(t.s);
		aj_prog_take_error(p);
		return s;
	}
	*out = t.s;
	return AJ_OK;
}

void aj_string_free(char *s)
{
	aj_free(s);
}
