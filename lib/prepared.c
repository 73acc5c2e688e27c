/*
 * Prepared kernels (arrjit.h, aj_prepare): a text compiled once for named
 * parameters, then run many times on new arrays and scalars.
 *
 * aj_prepare binds array parameters to their templates and scalar ones
 * to parameter nodes (AJ_OP_PARAM, never folded), runs aj_exec, then the
 * pipeline up to the calls (aj_run_build), and keeps the calls as a
 * relocatable plan (plan.c, aj_pplan_new); the pending work is then
 * dropped unrun. Its program and namespace live as long as the prepared
 * kernel: the program for the counts and errors of its runs, the
 * namespace for the temporaries the calls may use.
 *
 * A run whose arrays have the templates' layouts and are pairwise
 * disjoint, as the templates are, replays that plan: the same decisions
 * hold for them. Anything else runs the text afresh in a new program
 * (the slow path), which is right for any arrays the text accepts.
 */
#include "plan.h"

#include <stdio.h>
#include <string.h>

struct aj_prepared {
	aj_ctx *ctx;
	aj_prog *p;
	aj_names *ns;
	char *text;
	int nparam;
	aj_param *param;  /* copies of the caller's, names owned */
	aj_array *tmpl;   /* per parameter: the template's layout (a copy,
			     never read through), zero for scalars */
	bool *written;    /* per parameter: the text writes into it */
	int64_t *lo, *hi; /* per array parameter: its byte extent relative
			     to its data; lo > hi when it has no elements */
	aj_pplan *pp;     /* NULL: every run takes the slow path */
	char **data;      /* per run: array parameters' data */
	uint64_t *bits;   /* per run: scalar parameters' slot bits */
	char errmsg[AJ_ERRMSG_MAX];
};

static aj_status fail(aj_prepared *k, aj_status s, const char *msg)
{
	char copy[AJ_ERRMSG_MAX]; /* msg may be k->p's or k->ctx's */
	snprintf(copy, sizeof copy, "%s", msg);
	snprintf(k->errmsg, sizeof k->errmsg, "%s", copy);
	return s;
}

void aj_prepared_free(aj_prepared *k)
{
	if (!k)
		return;
	aj_pplan_free(k->pp);
	aj_names_free(k->ns);
	aj_prog_free(k->p);
	for (int i = 0; k->param && i < k->nparam; i++)
		aj_free((char *)k->param[i].name);
	aj_free(k->param);
	aj_free(k->tmpl);
	aj_free(k->written);
	aj_free(k->lo);
	aj_free(k->hi);
	aj_free(k->data);
	aj_free(k->bits);
	aj_free(k->text);
	aj_free(k);
}

const char *aj_prepared_errmsg(const aj_prepared *k)
{
	return k ? k->errmsg : "NULL prepared kernel";
}

static char *copy_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = aj_malloc(n);
	return c ? memcpy(c, s, n) : NULL;
}

/* Whether params are usable: names unique, scalars float64 or int64. */
static aj_status check_params(aj_ctx *ctx, int nparam, const aj_param *params)
{
	if (nparam < 0 || (nparam && !params))
		return aj_ctx_error(ctx, AJ_ERR_ARG, "aj_prepare: %s",
				    nparam < 0 ? "negative nparam" : "NULL params");
	for (int i = 0; i < nparam; i++) {
		const aj_param *q = &params[i];
		if (!q->name)
			return aj_ctx_error(ctx, AJ_ERR_ARG,
					    "aj_prepare: parameter %d has no name", i);
		if (!q->array && q->dtype != AJ_FLOAT64 && q->dtype != AJ_INT64)
			return aj_ctx_error(ctx, AJ_ERR_ARG,
					    "aj_prepare: scalar parameter '%s' must be "
					    "float64 or int64", q->name);
		for (int j = 0; j < i; j++)
			if (!strcmp(params[j].name, q->name))
				return aj_ctx_error(ctx, AJ_ERR_ARG,
						    "aj_prepare: parameter '%s' given twice",
						    q->name);
	}
	return AJ_OK;
}

/* k with its parameters copied, its arrays allocated; NULL if out of
 * memory. */
static aj_prepared *prepared_new(aj_ctx *ctx, const char *text, int nparam,
				 const aj_param *params)
{
	aj_prepared *k = aj_calloc(1, sizeof *k);
	if (!k)
		return NULL;
	size_t n = (size_t)nparam + 1;
	k->ctx = ctx;
	k->nparam = nparam;
	k->text = copy_str(text);
	k->param = aj_calloc(n, sizeof *k->param);
	k->tmpl = aj_calloc(n, sizeof *k->tmpl);
	k->written = aj_calloc(n, sizeof *k->written);
	k->lo = aj_calloc(n, sizeof *k->lo);
	k->hi = aj_calloc(n, sizeof *k->hi);
	k->data = aj_calloc(n, sizeof *k->data);
	k->bits = aj_calloc(n, sizeof *k->bits);
	bool ok = k->text && k->param && k->tmpl && k->written && k->lo && k->hi &&
		  k->data && k->bits;
	for (int i = 0; ok && i < nparam; i++) {
		k->param[i] = params[i];
		ok = (k->param[i].name = copy_str(params[i].name)) != NULL;
		if (!params[i].array)
			continue;
		k->tmpl[i] = *params[i].array;
		char *lo, *hi;
		bool any = aj_array_extent(params[i].array, &lo, &hi);
		k->lo[i] = any ? lo - params[i].array->data : 1;
		k->hi[i] = any ? hi - params[i].array->data : 0;
	}
	if (!ok) {
		aj_prepared_free(k);
		return NULL;
	}
	return k;
}

/* Binds every parameter in ns: arrays to args[i].array (or the
 * templates, args NULL), scalars to values (args) or to parameter nodes. */
static aj_status bind(aj_prepared *k, aj_names *ns, const aj_arg *args)
{
	aj_status s = AJ_OK;
	for (int i = 0; s == AJ_OK && i < k->nparam; i++) {
		const aj_param *q = &k->param[i];
		if (q->array)
			s = aj_names_set_array(ns, q->name,
					       args ? args[i].array : (aj_array *)q->array);
		else if (!args)
			s = aj_names_set_param(ns, q->name, (uint32_t)i, q->dtype);
		else if (q->dtype == AJ_FLOAT64)
			s = aj_names_set_f64(ns, q->name, args[i].f);
		else
			s = aj_names_set_i64(ns, q->name, args[i].i);
	}
	return s;
}

static bool extents_meet(const aj_prepared *k, int i, int j, char *di, char *dj)
{
	return k->lo[i] <= k->hi[i] && k->lo[j] <= k->hi[j] && di + k->lo[i] <= dj + k->hi[j] &&
	       dj + k->lo[j] <= di + k->hi[i];
}

/* Which templates the pending assignments write into; false if two
 * templates overlap (then no fast plan: which one a pointer belongs to
 * would be ambiguous). */
static bool fill_written(aj_prepared *k)
{
	for (int i = 0; i < k->nparam; i++)
		for (int j = 0; j < i; j++)
			if (k->param[i].array && k->param[j].array &&
			    extents_meet(k, i, j, k->tmpl[i].data, k->tmpl[j].data))
				return false;
	for (uint32_t a = 0; a < k->p->npending; a++) {
		char *lo, *hi;
		if (!aj_array_extent(k->p->pending[a].out, &lo, &hi))
			continue;
		for (int i = 0; i < k->nparam; i++)
			if (k->param[i].array && lo >= k->tmpl[i].data + k->lo[i] &&
			    lo <= k->tmpl[i].data + k->hi[i])
				k->written[i] = true;
	}
	return true;
}

/* Builds k's fast plan from its program's pending work, which it then
 * drops unrun. A plan that cannot be made leaves k->pp NULL. */
static aj_status build(aj_prepared *k)
{
	aj_prog *p = k->p;
	aj_group *g;
	uint32_t ng;
	aj_plan_begin(p);
	aj_status s = aj_run_build(p, &g, &ng);
	if (s == AJ_OK && fill_written(k)) {
		const aj_array **tmpl = aj_calloc((size_t)k->nparam + 1, sizeof *tmpl);
		for (int i = 0; tmpl && i < k->nparam; i++)
			tmpl[i] = k->param[i].array ? &k->tmpl[i] : NULL;
		if (tmpl)
			k->pp = aj_pplan_new(p, g, ng, k->nparam, tmpl);
		aj_free((void *)tmpl);
	}
	if (s != AJ_OK)
		aj_prog_take_error(p);
	p->npending = 0;
	aj_sync(p); /* runs nothing: frees the nodes and scratch */
	return s;
}

aj_status aj_prepare(aj_ctx *ctx, const char *text, int nparam,
		     const aj_param *params, aj_prepared **out)
{
	if (!out)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "aj_prepare: NULL out");
	*out = NULL;
	if (!ctx)
		return AJ_ERR_ARG;
	if (!text)
		return aj_ctx_error(ctx, AJ_ERR_ARG, "aj_prepare: NULL text");
	aj_status s = check_params(ctx, nparam, params);
	if (s != AJ_OK)
		return s;
	aj_prepared *k = prepared_new(ctx, text, nparam, params);
	if (!k)
		return aj_ctx_error(ctx, AJ_ERR_NOMEM, "out of memory");
	s = aj_prog_new(ctx, &k->p);
	if (s == AJ_OK)
		s = aj_names_new(k->p, &k->ns);
	if (s == AJ_OK)
		s = bind(k, k->ns, NULL);
	aj_expr last = AJ_EXPR_NONE;
	if (s == AJ_OK)
		s = aj_exec(k->ns, text, &last);
	if (s == AJ_OK && last.id != AJ_EXPR_NONE.id)
		s = aj_prog_error(k->p, AJ_ERR_ARG, "aj_prepare: the text ends in an "
				  "expression, not an assignment");
	if (s == AJ_OK && k->p->nselect)
		s = aj_prog_error(k->p, AJ_ERR_ARG, "aj_prepare: a selection (a[m], "
				  "compress) cannot be prepared: it runs when parsed");
	if (s == AJ_OK)
		s = build(k);
	if (k->p)
		aj_prog_take_error(k->p);
	if (s != AJ_OK) {
		aj_ctx_error(ctx, s, "%s", k->p ? aj_prog_errmsg(k->p) : "out of memory");
		aj_prepared_free(k);
		return s;
	}
	*out = k;
	return AJ_OK;
}

/* Whether args may take the fast path: each array of its template's
 * layout, writable if written, no two overlapping. Fills k->data and
 * k->bits. */
static bool fits(aj_prepared *k, const aj_arg *args)
{
	for (int i = 0; i < k->nparam; i++) {
		const aj_array *t = &k->tmpl[i], *a = args[i].array;
		if (!k->param[i].array) {
			aj_scalar_val v = {.i = args[i].i};
			if (k->param[i].dtype == AJ_FLOAT64)
				v.f = args[i].f;
			k->bits[i] = aj_slot_bits(k->param[i].dtype, v);
			continue;
		}
		if (a->dtype != t->dtype || a->ndim != t->ndim || (k->written[i] && a->readonly))
			return false;
		for (int d = 0; d < t->ndim; d++)
			if (a->shape[d] != t->shape[d] || a->strides[d] != t->strides[d])
				return false;
		k->data[i] = a->data;
		for (int j = 0; j < i; j++)
			if (k->param[j].array && extents_meet(k, i, j, a->data, k->data[j]))
				return false;
	}
	return true;
}

/* The text run afresh over args in a new program. */
static aj_status run_slow(aj_prepared *k, const aj_arg *args)
{
	aj_prog *p;
	aj_names *ns = NULL;
	aj_status s = aj_prog_new(k->ctx, &p);
	if (s != AJ_OK)
		return fail(k, s, aj_ctx_errmsg(k->ctx));
	s = aj_names_new(p, &ns);
	if (s == AJ_OK)
		s = bind(k, ns, args);
	if (s == AJ_OK)
		s = aj_exec(ns, k->text, NULL);
	if (s == AJ_OK)
		s = aj_sync(p);
	if (s != AJ_OK)
		fail(k, s, aj_prog_errmsg(p));
	aj_names_free(ns);
	aj_prog_free(p);
	return s;
}

aj_status aj_prepared_run(aj_prepared *k, const aj_arg *args)
{
	if (!k)
		return AJ_ERR_ARG;
	if (!args && k->nparam)
		return fail(k, AJ_ERR_ARG, "aj_prepared_run: NULL args");
	for (int i = 0; i < k->nparam; i++)
		if (k->param[i].array && !args[i].array) {
			snprintf(k->errmsg, sizeof k->errmsg,
				 "aj_prepared_run: parameter '%s': NULL array",
				 k->param[i].name);
			return AJ_ERR_ARG;
		}
	if (!k->pp || !fits(k, args))
		return run_slow(k, args);
	aj_status s = aj_pplan_run(k->p, k->pp, k->data, k->bits);
	if (s != AJ_OK) {
		aj_prog_take_error(k->p);
		fail(k, s, aj_prog_errmsg(k->p));
	}
	return s;
}
