/*
 * Namespaces and aj_exec: names bound to arrays, scalars or expressions,
 * and what a program's statements do to them. The text is parse.c's; this
 * file is the resolver it calls (parse.h).
 *
 * Order. aj_sync runs pending assignments in the order they were made,
 * each completely before the next (run.c). A statement that reads an array
 * therefore sees every earlier assignment into it, whole or sliced, without
 * help: in `a = a + 1; b = a * 2` b's kernel reads a after a's has written
 * it. (Substituting a's pending expression for a would be wrong here: it
 * would read the updated a and add 1 twice.)
 *
 * The hazard is the other way round: a value built now but computed later,
 * after an assignment has overwritten what it reads.
 *   t = a * 2; a = 0; c = t + 1    t is lazy: it would read a when c runs
 * So before each assignment into an array, every lazy value that reads the
 * target's memory (a name bound to an expression, the value of the last
 * expression statement) is materialized: assigned into a temporary the
 * namespace owns, which runs first, and rebound to it. "Reads" is the
 * exact test: t = a[1::2] survives a[::2] = 0. The assigned value itself
 * needs nothing: an assignment reading its own output (a[1:] = a[:-1],
 * a = a.T) gets NumPy's result from the fusion pass (alias.c), except
 * through a gather (a[:] = a[i]), which the fusion pass refuses: that
 * value is materialized first, as NumPy copies. Only the
 * namespace's own assignments are seen: one the caller makes with
 * aj_assign is not, and a lazy name then reads what it wrote.
 *
 * Undo. aj_exec never syncs, so an error can undo everything: the
 * program's pending list is cut back to its length before the call, the
 * bindings are restored from a copy, and the views and temporaries the call
 * made are freed (no pending assignment, binding or handle the caller holds
 * can reach them; the passes only walk nodes reachable from those).
 * Except past a selection (a[m], compress: select.c), which runs the
 * pending work when it is parsed: that cannot be undone, so the state an
 * error restores moves to just after the run (saved again when its result
 * is adopted; if the selection itself fails, the state at the error is
 * that one).
 *
 * Lifetimes. A view or temporary is read by pending work until the next
 * aj_sync. Each is stamped with the newest node id when its aj_exec ends and
 * freed by a later aj_exec once the program has synced past that id, or
 * with the namespace, which must therefore outlive that sync. Names bound
 * to expressions go stale at aj_sync like any aj_expr (reading one is
 * AJ_ERR_STALE; assigning rebinds it). The *last an aj_exec returns is
 * the caller's: a later aj_exec that assigns into what it reads changes
 * what it computes (bind it to a name to keep its value protected).
 */
#include "fuse.h"
#include "parse.h"
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum bkind { B_ARRAY, B_F64, B_I64, B_EXPR, B_PARAM } bkind;

typedef struct binding {
	char *name; /* owned */
	bkind kind;
	union {
		aj_array *array; /* for B_ARRAY: the caller's */
		double f;	 /* for B_F64 */
		int64_t i;	 /* for B_I64 */
		aj_expr expr;	 /* for B_EXPR: stale after aj_sync */
		struct {
			uint32_t index;
			aj_dtype dtype;
		} param;	 /* for B_PARAM: aj_param's arguments */
	} u;
} binding;

/* A view or temporary the namespace made. */
typedef struct owned {
	aj_array *a;
	uint32_t stamp; /* newest node id when its aj_exec ended */
} owned;

/* Scratch for a walk over a program's nodes (see walk_fill). */
typedef struct walk {
	uint8_t *flag;	/* per node index; all zero between walks */
	uint32_t *seen; /* indices reached */
	uint32_t cap, nseen;
} walk;

struct aj_names {
	aj_prog *p;
	binding *bind;
	int nbind, capbind;
	owned *own;
	size_t nown, capown;
	aj_expr last; /* during aj_exec: the last expression statement's */
	walk walk;    /* scratch for protect() */
	struct undo *undo; /* during aj_exec: what an error restores */
	uint64_t gen;      /* counts changes of bindings */
	bool read_lazy;    /* during aj_exec: a name bound to neither an
			      array nor a number was read */
	struct memo *memo; /* NMEMO texts, for running again unparsed */
	uint64_t clock;    /* for the memos' use stamps */
	int deferred;      /* memo whose text is pending unparsed, or -1 */
	int sole;          /* memo whose text made all the pending work, or -1 */
};

/*
 * A text aj_exec may run again without parsing it (see "Texts run again"
 * below): what the namespace's bindings were (gen), the context's ISA and
 * accuracy, and the plan its work replayed with that plan's slot values
 * for it (plan.pl NULL until a sync has replayed one).
 */
typedef struct memo {
	char *text; /* owned, NUL-terminated; NULL for an empty memo */
	size_t len;
	uint64_t gen, used;
	int isa, accuracy;
	aj_plan_ref plan;
	uint64_t *slots; /* nslot values (aj_plan_slots) */
	size_t nslot;
} memo;

enum { NMEMO = 4 };

/* What aj_exec restores on error. */
typedef struct undo {
	uint32_t npending;
	int nbind;
	binding *saved; /* bind[0 .. nbind) as they were; NULL if nbind 0 */
	size_t nown;
	uint32_t nrun;  /* the program's early runs then (core.h) */
} undo;

/* ---- errors ---- */

static aj_status nomem(aj_prog *p)
{
	return aj_prog_error(p, AJ_ERR_NOMEM, "out of memory");
}

/* Records s again with the message the failed call left: aj_assign takes
 * its error out of the program, and views leave theirs in the context. */
static aj_status again(aj_prog *p, aj_status s, const char *msg)
{
	char copy[AJ_ERRMSG_MAX];
	snprintf(copy, sizeof copy, "%s", msg);
	return aj_prog_error(p, s, "%s", copy);
}

/* ---- bindings ---- */

static binding *find(aj_names *ns, const char *name, size_t len)
{
	for (int i = 0; i < ns->nbind; i++)
		if (strlen(ns->bind[i].name) == len &&
		    memcmp(ns->bind[i].name, name, len) == 0)
			return &ns->bind[i];
	return NULL;
}

/* The binding of name, added (unbound as B_EXPR NONE) if new; NULL (error
 * recorded) when out of memory. */
static binding *find_or_add(aj_names *ns, const char *name, size_t len)
{
	binding *b = find(ns, name, len);
	if (b)
		return b;
	if (ns->nbind == ns->capbind) {
		int cap = ns->capbind ? 2 * ns->capbind : 16;
		binding *a = aj_realloc(ns->bind, (size_t)cap * sizeof *a);
		if (!a)
			return nomem(ns->p), NULL;
		ns->bind = a;
		ns->capbind = cap;
	}
	char *copy = aj_malloc(len + 1);
	if (!copy)
		return nomem(ns->p), NULL;
	memcpy(copy, name, len);
	copy[len] = '\0';
	b = &ns->bind[ns->nbind++];
	*b = (binding){.name = copy, .kind = B_EXPR};
	ns->gen++;
	return b;
}

/* The value of a binding that is not an array (building a scalar may fail:
 * AJ_EXPR_NONE, error recorded). */
static aj_expr value_of(aj_names *ns, const binding *b)
{
	switch (b->kind) {
	case B_F64:
		return aj_scalar_f64(ns->p, b->u.f);
	case B_I64:
		return aj_scalar_i64(ns->p, b->u.i);
	case B_EXPR:
		return b->u.expr;
	case B_PARAM:
		return aj_param_node(ns->p, b->u.param.index, b->u.param.dtype);
	case B_ARRAY:
		break;
	}
	return AJ_EXPR_NONE;
}

/* ---- owned views and temporaries ---- */

static bool own(aj_names *ns, aj_array *a)
{
	if (ns->nown == ns->capown) {
		size_t cap = ns->capown ? 2 * ns->capown : 16;
		owned *o = aj_realloc(ns->own, cap * sizeof *o);
		if (!o) {
			aj_array_free(a);
			return nomem(ns->p), false;
		}
		ns->own = o;
		ns->capown = cap;
	}
	ns->own[ns->nown++] = (owned){a, 0};
	return true;
}

/* Frees what the program has synced past: no node or pending assignment
 * that reads it is left. */
static void reclaim(aj_names *ns)
{
	size_t j = 0;
	for (size_t k = 0; k < ns->nown; k++) {
		if (ns->p->id_base >= ns->own[k].stamp)
			aj_array_free(ns->own[k].a);
		else
			ns->own[j++] = ns->own[k];
	}
	ns->nown = j;
}

static void free_owned_from(aj_names *ns, size_t from)
{
	for (size_t k = from; k < ns->nown; k++)
		aj_array_free(ns->own[k].a);
	ns->nown = from;
}

/* ---- protecting lazy values from a write ---- */

enum { READS = 1, REACHED = 2 };

/*
 * A walk over the nodes reachable from the values a write may affect,
 * flagging each READS if its value reads the target's memory (shares a
 * byte with it, exactly), directly or through a gather.
 * Only reachable nodes are touched
 * (others may hold arrays already freed), and the scratch is kept between
 * writes, so a walk costs what it reaches, not the program's size.
 */
static uint32_t node_index(const aj_prog *p, aj_expr e)
{
	return e.id - p->id_base - 1;
}

static bool live(const aj_prog *p, aj_expr e)
{
	return aj_expr_shape(p, e, NULL) >= 0;
}

/* Room for a walk over every node of p. */
static bool walk_reserve(aj_names *ns)
{
	walk *w = &ns->walk;
	uint32_t n = ns->p->nnode;
	if (n <= w->cap)
		return true;
	uint8_t *flag = aj_realloc(w->flag, n);
	if (flag)
		w->flag = flag;
	uint32_t *seen = flag ? aj_realloc(w->seen, n * sizeof *seen) : NULL;
	if (!seen)
		return nomem(ns->p), false;
	memset(w->flag + w->cap, 0, n - w->cap);
	w->seen = seen;
	w->cap = n;
	return true;
}

static void reach_index(walk *w, uint32_t i)
{
	if (!w->flag[i]) {
		w->flag[i] = REACHED;
		w->seen[w->nseen++] = i;
	}
}

static void reach(const aj_prog *p, walk *w, aj_expr e)
{
	if (live(p, e))
		reach_index(w, node_index(p, e));
}

static int by_index(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static uint8_t leaf_flags(const aj_array *a, const aj_array *target)
{
	return aj_overlaps(a, target) ? READS : 0;
}

/* Flags what value, the last result and the names bound to expressions
 * reach. Operands precede their users, so flags computed in index order
 * see their operands' already. */
static bool walk_fill(aj_names *ns, const aj_array *target, aj_expr value)
{
	aj_prog *p = ns->p;
	walk *w = &ns->walk;
	if (!walk_reserve(ns))
		return false;
	reach(p, w, value);
	reach(p, w, ns->last);
	for (int i = 0; i < ns->nbind; i++)
		if (ns->bind[i].kind == B_EXPR)
			reach(p, w, ns->bind[i].u.expr);
	for (uint32_t j = 0; j < w->nseen; j++) {
		const aj_node *n = &p->node[w->seen[j]];
		for (int k = 0; k < aj_ops[n->op].nin; k++)
			reach_index(w, n->arg[k]);
	}
	qsort(w->seen, w->nseen, sizeof *w->seen, by_index);
	for (uint32_t j = 0; j < w->nseen; j++) {
		const aj_node *n = &p->node[w->seen[j]];
		uint8_t *f = &w->flag[w->seen[j]];
		if (aj_node_array(n))
			*f |= leaf_flags(aj_node_array(n), target);
		for (int k = 0; k < aj_ops[n->op].nin; k++)
			*f |= w->flag[n->arg[k]] & READS;
	}
	return true;
}

/* The flags of e in the current walk (0 for nodes made since). */
static uint8_t flags(const aj_names *ns, uint32_t nnode, aj_expr e)
{
	const aj_prog *p = ns->p;
	if (!live(p, e) || node_index(p, e) >= nnode)
		return 0;
	return ns->walk.flag[node_index(p, e)];
}

static void walk_clear(walk *w)
{
	for (uint32_t j = 0; j < w->nseen; j++)
		w->flag[w->seen[j]] = 0;
	w->nseen = 0;
}

/* Appends out = e; false with the error recorded again. */
static bool pend(aj_prog *p, aj_array *out, aj_expr e)
{
	aj_status s = aj_assign(p, out, e);
	return s == AJ_OK || (again(p, s, aj_prog_errmsg(p)), false);
}

/* A value materialized for the current write, so two names bound to one
 * expression share one temporary. */
typedef struct swap {
	uint32_t from; /* id of the lazy value */
	aj_expr to;    /* leaf of its temporary */
} swap;

/*
 * *e = a leaf of a new temporary into which *e is assigned now. The
 * temporary has e's dtype: a weak (Python scalar) result such as
 * where(a > 0, 1, 2) becomes a strong int64.
 */
static bool materialize(aj_names *ns, aj_expr *e, swap *sw, int *nsw)
{
	aj_prog *p = ns->p;
	for (int i = 0; i < *nsw; i++)
		if (sw[i].from == e->id)
			return *e = sw[i].to, true;
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(p, *e, shape);
	aj_array *tmp;
	aj_status s =
	    aj_array_new_uninit(p->ctx, aj_expr_dtype(p, *e), nd, shape, &tmp);
	if (s != AJ_OK)
		return again(p, s, aj_ctx_errmsg(p->ctx)), false;
	if (!own(ns, tmp) || !pend(p, tmp, *e))
		return false;
	aj_expr leaf = aj_leaf(p, tmp);
	if (leaf.id == AJ_EXPR_NONE.id)
		return false;
	sw[(*nsw)++] = (swap){e->id, leaf};
	*e = leaf;
	ns->gen++; /* a binding or the last value now reads the temporary */
	return true;
}

/* Before target is written: materializes every lazy value that reads its
 * memory. *value itself needs no copy (the fusion pass reads overlapping
 * inputs as NumPy does, alias.c, gathers included), unless it is one of
 * those values. */
static bool protect(aj_names *ns, const aj_array *target, aj_expr *value)
{
	char *lo, *hi;
	uint32_t nnode = ns->p->nnode; /* materializing adds nodes */
	if (!aj_array_extent(target, &lo, &hi))
		return true; /* writes nothing */
	swap *sw = aj_malloc(((size_t)ns->nbind + 2) * sizeof *sw);
	int nsw = 0;
	if (!sw)
		return nomem(ns->p), false;
	bool ok = walk_fill(ns, target, *value);
	for (int i = 0; ok && i < ns->nbind; i++) {
		binding *b = &ns->bind[i];
		if (b->kind == B_EXPR && (flags(ns, nnode, b->u.expr) & READS))
			ok = materialize(ns, &b->u.expr, sw, &nsw);
	}
	if (ok && (flags(ns, nnode, ns->last) & READS))
		ok = materialize(ns, &ns->last, sw, &nsw);
	for (int i = 0; i < nsw; i++) /* computed once, before the write */
		if (sw[i].from == value->id)
			*value = sw[i].to;
	walk_clear(&ns->walk);
	aj_free(sw);
	return ok;
}

/* ---- the resolver aj_exec gives the parser ---- */

static bool ns_lookup(void *env, const char *name, size_t len, aj_array **array,
		      aj_expr *expr)
{
	aj_names *ns = env;
	binding *b = find(ns, name, len);
	if (!b)
		return false;
	*array = b->kind == B_ARRAY ? b->u.array : NULL;
	*expr = value_of(ns, b);
	ns->read_lazy |= b->kind == B_EXPR || b->kind == B_PARAM;
	return true;
}

static bool save(aj_names *ns, undo *u);

/* A new array of a selection, or a view. A selection has run the pending
 * work, which cannot be undone: an error now restores the state from here
 * on (see Undo above). */
static bool ns_adopt(void *env, aj_array *view)
{
	aj_names *ns = env;
	undo *u = ns->undo;
	if (u && u->nrun != ns->p->nrun) {
		undo now;
		if (!save(ns, &now)) {
			aj_array_free(view);
			return false;
		}
		aj_free(u->saved);
		*u = now;
	}
	return own(ns, view);
}

/* Into an array: a pending assignment, after protecting what reads it.
 * Otherwise the name is bound to value. */
static bool ns_assign(void *env, const char *name, size_t len, aj_array *target,
		      aj_expr value)
{
	aj_names *ns = env;
	if (target)
		return protect(ns, target, &value) &&
		       pend(ns->p, target, value);
	binding *b = find_or_add(ns, name, len);
	if (!b)
		return false;
	b->kind = B_EXPR;
	b->u.expr = value;
	ns->gen++;
	return true;
}

static void ns_result(void *env, aj_expr value)
{
	((aj_names *)env)->last = value;
}

/* ---- undo ---- */

static bool save(aj_names *ns, undo *u)
{
	u->npending = ns->p->npending;
	u->nbind = ns->nbind;
	u->nown = ns->nown;
	u->nrun = ns->p->nrun;
	u->saved = NULL;
	if (ns->nbind == 0)
		return true;
	u->saved = aj_malloc((size_t)ns->nbind * sizeof *u->saved);
	if (!u->saved)
		return nomem(ns->p), false;
	memcpy(u->saved, ns->bind, (size_t)ns->nbind * sizeof *u->saved);
	return true;
}

/* Puts everything as it was before the call (or after its last selection).
 * The names of the bindings it kept are the same strings, so copying the
 * entries back is enough. A selection that failed after running the
 * pending work leaves nothing to undo: it changed no binding. */
static void restore(aj_names *ns, const undo *u)
{
	if (u->nrun != ns->p->nrun)
		return;
	ns->p->npending = u->npending;
	for (int i = u->nbind; i < ns->nbind; i++)
		aj_free(ns->bind[i].name);
	ns->nbind = u->nbind;
	if (u->nbind)
		memcpy(ns->bind, u->saved, (size_t)u->nbind * sizeof *u->saved);
	free_owned_from(ns, u->nown);
	ns->gen++;
}

/* ---- public ---- */

aj_status aj_names_new(aj_prog *p, aj_names **out)
{
	if (!out)
		return AJ_ERR_ARG;
	*out = NULL;
	if (!p)
		return AJ_ERR_ARG;
	aj_names *ns = aj_calloc(1, sizeof *ns);
	if (!ns)
		return nomem(p), aj_prog_take_error(p);
	ns->memo = aj_calloc(NMEMO, sizeof *ns->memo);
	if (!ns->memo) {
		aj_free(ns);
		return nomem(p), aj_prog_take_error(p);
	}
	ns->p = p;
	ns->deferred = ns->sole = -1;
	*out = ns;
	return AJ_OK;
}

void aj_names_free(aj_names *ns)
{
	if (!ns)
		return;
	/* A namespace must outlive the sync that runs its work (arrjit.h):
	 * the work of a deferred text freed before it is dropped, which is
	 * safe, where the nodes of a parsed one would read freed views. */
	if (ns->deferred >= 0 || ns->sole >= 0)
		aj_names_detach(ns->p);
	for (int i = 0; i < NMEMO; i++) {
		aj_free(ns->memo[i].text);
		aj_free(ns->memo[i].slots);
	}
	aj_free(ns->memo);
	for (int i = 0; i < ns->nbind; i++)
		aj_free(ns->bind[i].name);
	free_owned_from(ns, 0);
	aj_free(ns->walk.flag);
	aj_free(ns->walk.seen);
	aj_free(ns->bind);
	aj_free(ns->own);
	aj_free(ns);
}

/* A name the language can spell: an identifier, not True, False or None. */
static bool is_name(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    *s == '_'))
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return strcmp(s, "True") && strcmp(s, "False") && strcmp(s, "None");
}

/* The binding a setter fills; NULL with the error recorded. */
static binding *setter(aj_names *ns, const char *fn, const char *name)
{
	if (ns->deferred >= 0) /* the deferred text reads the old binding */
		aj_names_touch(ns->p);
	if (!is_name(name)) {
		aj_prog_error(ns->p, AJ_ERR_ARG, "%s: '%s' is not a name", fn,
			      name ? name : "(null)");
		return NULL;
	}
	return find_or_add(ns, name, strlen(name));
}

aj_status aj_names_set_array(aj_names *ns, const char *name, aj_array *a)
{
	if (!ns)
		return AJ_ERR_ARG;
	if (!a)
		aj_prog_error(ns->p, AJ_ERR_ARG,
			      "aj_names_set_array: NULL array");
	binding *b = a ? setter(ns, "aj_names_set_array", name) : NULL;
	if (!b)
		return aj_prog_take_error(ns->p);
	ns->gen++; /* even for the same handle: a freed array's may be reused */
	b->kind = B_ARRAY;
	b->u.array = a;
	return AJ_OK;
}

aj_status aj_names_set_f64(aj_names *ns, const char *name, double v)
{
	if (!ns)
		return AJ_ERR_ARG;
	binding *b = setter(ns, "aj_names_set_f64", name);
	if (!b)
		return aj_prog_take_error(ns->p);
	if (b->kind != B_F64 || memcmp(&b->u.f, &v, sizeof v))
		ns->gen++;
	b->kind = B_F64;
	b->u.f = v;
	return AJ_OK;
}

aj_status aj_names_set_i64(aj_names *ns, const char *name, int64_t v)
{
	if (!ns)
		return AJ_ERR_ARG;
	binding *b = setter(ns, "aj_names_set_i64", name);
	if (!b)
		return aj_prog_take_error(ns->p);
	if (b->kind != B_I64 || b->u.i != v)
		ns->gen++;
	b->kind = B_I64;
	b->u.i = v;
	return AJ_OK;
}

aj_status aj_names_set_param(aj_names *ns, const char *name, uint32_t index,
			     aj_dtype t)
{
	if (!ns)
		return AJ_ERR_ARG;
	binding *b = setter(ns, "aj_names_set_param", name);
	if (!b)
		return aj_prog_take_error(ns->p);
	ns->gen++;
	b->kind = B_PARAM;
	b->u.param.index = index;
	b->u.param.dtype = t;
	return AJ_OK;
}

aj_status aj_names_get(aj_names *ns, const char *name, aj_array **array,
		       aj_expr *expr)
{
	if (array)
		*array = NULL;
	if (expr)
		*expr = AJ_EXPR_NONE;
	if (!ns)
		return AJ_ERR_ARG;
	const binding *b = name ? find(ns, name, strlen(name)) : NULL;
	if (!name)
		aj_prog_error(ns->p, AJ_ERR_ARG, "aj_names_get: NULL name");
	else if (!b)
		aj_prog_error(ns->p, AJ_ERR_NAME, "unknown name '%s'", name);
	if (!b)
		return aj_prog_take_error(ns->p);
	if (b->kind == B_ARRAY) {
		if (array)
			*array = b->u.array;
		return AJ_OK;
	}
	aj_expr e = value_of(ns, b);
	if (e.id == AJ_EXPR_NONE.id)
		return aj_prog_take_error(ns->p);
	if (expr)
		*expr = e;
	return AJ_OK;
}

/* ---- texts run again ---- */

/*
 * A loop that runs the same text and syncs (aj_exec(ns, "a[:] = a + 1"),
 * aj_sync) would parse it, build its nodes and sign its work every time,
 * to replay the same plan (plan.c). So a text whose work was all the
 * pending work of a sync that replayed a plan is remembered with that
 * plan. Run again with nothing else pending and the namespace's bindings
 * unchanged since (gen, so the same arrays and numbers), on the same ISA
 * and accuracy, it is not parsed: it is deferred, and the sync runs the
 * plan with the slot values it had for that text (its literals').
 *
 * Parsing it again would give the same nodes over the same arrays, so the
 * same signature and calls: the text may read arrays and numbers only,
 * not names bound to expressions (they go stale at a sync) or to
 * prepared parameters, make no binding, run no selection and draw no
 * random numbers (their streams move on). Anything else that builds on
 * the program first parses a deferred text (aj_names_touch), so the
 * order of pending work holds; so does a change of one of its
 * namespace's bindings.
 */
static memo *memo_find(aj_names *ns, const char *text, size_t len)
{
	for (int i = 0; i < NMEMO; i++) {
		memo *m = &ns->memo[i];
		if (m->text && m->len == len && memcmp(m->text, text, len) == 0)
			return m;
	}
	return NULL;
}

/* Remembers text (parsed at generation gen) as the sole text of the
 * pending work; best effort. */
static void remember(aj_names *ns, const char *text, size_t len, uint64_t gen)
{
	aj_ctx *ctx = ns->p->ctx;
	memo *m = memo_find(ns, text, len);
	if (!m) {
		m = &ns->memo[0];
		for (int i = 1; i < NMEMO; i++)
			if (ns->memo[i].used < m->used)
				m = &ns->memo[i];
		char *copy = aj_malloc(len + 1);
		if (!copy)
			return;
		memcpy(copy, text, len + 1);
		aj_free(m->text);
		aj_free(m->slots);
		*m = (memo){.text = copy, .len = len};
	}
	if (m->gen != gen)
		m->plan.pl = NULL;
	m->gen = gen;
	m->isa = atomic_load(&ctx->isa);
	m->accuracy = atomic_load(&ctx->fast);
	m->used = ++ns->clock;
	ns->sole = (int)(m - ns->memo);
	ns->p->sole = ns;
}

/* Whether text can be deferred; if so it is. */
static bool defer(aj_names *ns, const char *text)
{
	aj_prog *p = ns->p;
	aj_ctx *ctx = p->ctx;
	memo *m = memo_find(ns, text, strlen(text));
	if (!m || !m->plan.pl || m->gen != ns->gen || m->isa != atomic_load(&ctx->isa) ||
	    m->accuracy != atomic_load(&ctx->fast) || !aj_plan_alive(p, m->plan))
		return false;
	m->used = ++ns->clock;
	ns->deferred = (int)(m - ns->memo);
	p->deferred = ns;
	aj_count(&p->counts.texts_unparsed, 1);
	return true;
}

static aj_status exec_parsed(aj_names *ns, const char *text, aj_expr *last);

void aj_names_touch(aj_prog *p)
{
	if (p->sole) {
		p->sole->sole = -1;
		p->sole = NULL;
	}
	aj_names *ns = p->deferred;
	if (!ns)
		return;
	const memo *m = &ns->memo[ns->deferred];
	ns->deferred = -1;
	p->deferred = NULL;
	aj_status s = exec_parsed(ns, m->text, NULL);
	if (s != AJ_OK) /* it parsed before: out of memory */
		again(p, s, aj_prog_errmsg(p));
	if (p->sole) { /* not all the pending work, once more is built */
		p->sole->sole = -1;
		p->sole = NULL;
	}
}

aj_status aj_names_sync(aj_prog *p)
{
	aj_names *ns = p->deferred;
	if (ns) {
		memo *m = &ns->memo[ns->deferred];
		ns->deferred = -1;
		p->deferred = NULL;
		return aj_plan_rerun(p, m->plan, m->slots);
	}
	aj_status s = aj_run(p);
	ns = p->sole;
	if (!ns)
		return s;
	memo *m = &ns->memo[ns->sole];
	ns->sole = -1;
	p->sole = NULL;
	aj_plan_ref r;
	if (s != AJ_OK || !aj_plan_replayed(p, &r))
		return s;
	size_t n = aj_plan_slots(r, NULL);
	if (n != m->nslot) {
		uint64_t *v = aj_realloc(m->slots, (n ? n : 1) * sizeof *v);
		if (!v)
			return s;
		m->slots = v;
		m->nslot = n;
	}
	aj_plan_slots(r, m->slots);
	m->plan = r;
	return s;
}

void aj_names_detach(aj_prog *p)
{
	if (p->deferred)
		p->deferred->deferred = -1;
	if (p->sole)
		p->sole->sole = -1;
	p->deferred = p->sole = NULL;
}

aj_status aj_exec(aj_names *ns, const char *text, aj_expr *last)
{
	if (last)
		*last = AJ_EXPR_NONE;
	if (!ns)
		return AJ_ERR_ARG;
	aj_prog *p = ns->p;
	if (p->deferred || p->sole)
		aj_names_touch(p);
	if (p->err != AJ_OK) /* an earlier builder's, as aj_assign reports */
		return aj_prog_take_error(p);
	reclaim(ns);
	if (!last && text && p->npending == 0 && defer(ns, text))
		return AJ_OK;
	return exec_parsed(ns, text, last);
}

/* aj_exec by parsing text. */
static aj_status exec_parsed(aj_names *ns, const char *text, aj_expr *last)
{
	aj_prog *p = ns->p;
	undo u;
	size_t first = ns->nown;
	if (!save(ns, &u))
		return aj_prog_take_error(p);
	bool alone = !last && text && p->npending == 0;
	uint64_t gen = ns->gen;
	uint32_t nrun = p->nrun, nselect = p->nselect;
	aj_resolver r = {ns, ns_lookup, ns_adopt, ns_assign, ns_result};
	ns->last = AJ_EXPR_NONE;
	ns->undo = &u;
	ns->read_lazy = false;
	aj_status s = aj_parse_program(p, text, &r);
	ns->undo = NULL;
	if (s != AJ_OK)
		restore(ns, &u);
	else if (last)
		*last = ns->last;
	/* what the call made and kept (past a selection, even on error) */
	for (size_t k = first; k < ns->nown; k++)
		ns->own[k].stamp = p->id_base + p->nnode;
	ns->last = AJ_EXPR_NONE;
	aj_free(u.saved);
	if (s == AJ_OK && alone && p->npending > 0 && ns->gen == gen && !ns->read_lazy &&
	    p->nrun == nrun && p->nselect == nselect)
		remember(ns, text, strlen(text), gen);
	return s;
}
