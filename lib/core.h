/*
 * Internal objects: context, arrays, programs and their nodes, plus the
 * dtype and op tables expanded from arrjit.h.
 *
 * Invariants:
 * - An aj_array's shape and strides never change; views are new handles that
 *   share a refcounted aj_buf when the memory is owned.
 * - A program's nodes live in p->node[0 .. p->nnode); node id = p->id_base +
 *   index + 1, so a handle from before the last aj_sync() is recognisably
 *   stale (id <= id_base) rather than silently reused.
 * - Node shapes are already broadcast; node dtypes already promoted.
 */
#ifndef AJ_CORE_H
#define AJ_CORE_H

#include "alloc.h"
#include "arrjit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define AJ_ERRMSG_MAX 512

/* ---- dtypes ---- */

typedef struct aj_dtype_info {
	const char *name;
	int size;
	char kind; /* 'b', 'i', 'u', 'f', 'c' */
} aj_dtype_info;

extern const aj_dtype_info aj_dtypes[AJ_NDTYPE];

static inline bool aj_is_float(aj_dtype t)
{
	return aj_dtypes[t].kind == 'f';
}
/* Signed or unsigned integer (not bool). */
static inline bool aj_is_int(aj_dtype t)
{
	return aj_dtypes[t].kind == 'i' || aj_dtypes[t].kind == 'u';
}
static inline bool aj_is_signed(aj_dtype t)
{
	return aj_dtypes[t].kind == 'i';
}
static inline bool aj_is_unsigned(aj_dtype t)
{
	return aj_dtypes[t].kind == 'u';
}
static inline bool aj_is_complex(aj_dtype t)
{
	return aj_dtypes[t].kind == 'c';
}
/* The float of a complex's parts; other dtypes are their own. */
static inline aj_dtype aj_part_dtype(aj_dtype t)
{
	return t == AJ_COMPLEX64 ? AJ_FLOAT32 : t == AJ_COMPLEX128 ? AJ_FLOAT64 : t;
}
/* The complex whose parts are float t (float32 or float64). */
static inline aj_dtype aj_complex_of(aj_dtype t)
{
	return t == AJ_FLOAT32 ? AJ_COMPLEX64 : AJ_COMPLEX128;
}

/* NumPy's promotion of two dtypes; each may be weak (a Python scalar). */
aj_dtype aj_promote(aj_dtype a, bool aweak, aj_dtype b, bool bweak,
		    bool *weak);
/* NumPy's can_cast(from, to, "same_kind"). */
bool aj_can_cast_same_kind(aj_dtype from, aj_dtype to);
/* Whether v is representable in integer (or bool) dtype t. */
bool aj_int_fits(aj_dtype t, int64_t v);
/* Parses a dtype name ("float32"); -1 if unknown. */
int aj_dtype_from_name(const char *name, size_t len);

/* ---- ops ---- */

typedef enum aj_opkind {
	AJ_KIND_LEAF,
	AJ_KIND_CAST,
	AJ_KIND_UNARY,
	AJ_KIND_MATH,
	AJ_KIND_BINARY,
	AJ_KIND_CMP,
	AJ_KIND_PRED,
	AJ_KIND_LOGIC,
	AJ_KIND_SELECT,
	AJ_KIND_CLIP,
	AJ_KIND_REDUCE,
} aj_opkind;

typedef enum aj_oprule {
	AJ_RULE_SAME,
	AJ_RULE_NOBOOL,
	AJ_RULE_FLOAT,
	AJ_RULE_BOOL,
	AJ_RULE_BITS,
	AJ_RULE_SHIFT,
	AJ_RULE_ACCUM,
	AJ_RULE_REAL,
	AJ_RULE_CPLX,
	AJ_RULE_INDEX,
} aj_oprule;

typedef struct aj_op_info {
	const char *name;
	int nin;
	aj_opkind kind;
	aj_oprule rule;
	bool complex; /* takes complex operands */
	const char *sleef; /* SLEEF family and accuracy, "" for inline code */
	int ulp;
} aj_op_info;

extern const aj_op_info aj_ops[AJ_NOP];

typedef union aj_scalar_val {
	double f;
	int64_t i;
} aj_scalar_val;

/* The identity of reduction op in dtype t (0 for sum, +inf or the
 * largest int for min, ...): for floats (and a complex's real part) in
 * .f, else in .i (unsigned values as their bit pattern). */
aj_scalar_val aj_red_identity(aj_op op, aj_dtype t);
/* Its imaginary part for complex t: complex min and max start from
 * (inf, inf) and (-inf, -inf), which order after every value; sums and
 * products from the identity + 0j. */
double aj_red_identity_im(aj_op op, aj_dtype t);
/* Random leaves (aj_random): AJ_OP_RANDOM draws uniform numbers or raw
 * bits, AJ_OP_NORMAL standard normal ones. */
static inline bool aj_is_random(aj_op op)
{
	return op == AJ_OP_RANDOM || op == AJ_OP_NORMAL;
}
/* The reduction whose extreme argmin / argmax locate. */
static inline aj_op aj_arg_extreme(aj_op op)
{
	return op == AJ_OP_ARGMAX ? AJ_OP_RMAX : AJ_OP_RMIN;
}

/* ---- context ---- */

typedef struct aj_cache aj_cache;
typedef struct aj_disk aj_disk;
typedef struct aj_jit aj_jit;
typedef struct aj_pool aj_pool;

/*
 * Counters bumped on a program's hot path. Only the thread using the
 * program writes them, with a plain load and store (aj_count), never a
 * locked add, which would cost more than a replayed call's bookkeeping;
 * any thread may read them (aj_ctx_stats sums the live programs').
 */
typedef struct aj_counts {
	_Atomic uint64_t cache_hits, kernels_run, temp_bytes, parallel_runs;
	_Atomic uint64_t groups, replays, texts_unparsed;
} aj_counts;

static inline void aj_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Adds from's counts to to's (to is the caller's, or under progs_lock). */
void aj_counts_add(aj_counts *to, const aj_counts *from);

struct aj_ctx {
	_Atomic int isa;   /* aj_isa, resolved: never AJ_ISA_HOST */
	_Atomic bool fast; /* AJ_ACCURACY_FAST */
	aj_isa host_isa;   /* best the host can run */
	aj_jit *jit;       /* created on first compile */
	aj_cache *cache;
	aj_disk *disk;     /* opened with jit; NULL when off or unusable */
	aj_pool *pool;     /* threads for large kernels */
	struct aj_bufpool *bufpool; /* reused array buffers (bufpool.c) */
	_Atomic int64_t min_parallel; /* elements for a kernel to use them */
	_Atomic int64_t nt_bytes; /* bytes a kernel's operands span from
				     which it stores non-temporally (run.c) */
	pthread_mutex_t jit_lock; /* guards jit and disk creation, compiles
				     and disk use */
	_Atomic uint64_t kernels_compiled, compile_ns;
	pthread_mutex_t progs_lock; /* guards progs and retired */
	aj_prog *progs;    /* live programs, whose counts add to retired */
	aj_counts retired; /* of freed programs */
	_Atomic uint64_t disk_hits, disk_writes, disk_load_ns;
	_Atomic uint64_t seed;   /* of random leaves built from now on */
	_Atomic uint64_t stream; /* the next random leaf's stream */
	uint64_t serial;   /* unique in the process: names its error
			      messages, which are per thread (ctx.c) */
};

aj_status aj_ctx_error(aj_ctx *ctx, aj_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- arrays ---- */

typedef struct aj_buf {
	_Atomic int64_t refs;
	void *mem;
	size_t cap;         /* bytes at mem */
	struct aj_bufpool *pool; /* the pool mem goes back to, or NULL */
	void (*release)(void *arg); /* if set, frees mem instead (memory
				       adopted from elsewhere: DLPack) */
	void *release_arg;
} aj_buf;

struct aj_array {
	aj_ctx *ctx;
	aj_buf *buf;     /* owner of the memory, or NULL for wrapped memory */
	char *data;      /* element (0, 0, ...) */
	char *lo, *hi;   /* the buffer: every element lies in [lo, hi) */
	aj_dtype dtype;
	int ndim;
	bool readonly;
	int64_t shape[AJ_MAX_NDIM];
	int64_t strides[AJ_MAX_NDIM]; /* bytes */
};

/* The largest buffer arrjit allocates for one array (absurd sizes are
 * refused before trying). */
#define AJ_MAX_ARRAY_BYTES ((int64_t)1 << 48)

/* aj_array_new without the zero fill, for results arrjit writes whole
 * before anyone reads them. */
aj_status aj_array_new_uninit(aj_ctx *ctx, aj_dtype dtype, int ndim,
			      const int64_t *shape, aj_array **out);

/* aj_array_wrap, but the array owns the memory: when the last view of
 * it is freed, release(arg) is called, once. On failure nothing is
 * called and the caller still owns the memory. release NULL: the caller
 * keeps it, as with aj_array_wrap. fn names the caller in messages. */
aj_status aj_array_adopt(aj_ctx *ctx, const char *fn, void *buf,
			 size_t nbytes, int64_t offset, aj_dtype dtype,
			 int ndim, const int64_t *shape,
			 const int64_t *strides, void (*release)(void *arg),
			 void *arg, aj_array **out);
/* A new handle to a's elements, holding a reference to its memory. */
aj_status aj_array_dup(aj_ctx *ctx, const aj_array *a, aj_array **out);

/* NumPy's C-contiguity: C strides, ignoring length-1 axes; empty arrays
 * are contiguous. */
bool aj_array_is_c_contiguous(const aj_array *a);

/* Same address, element size, shape and strides: element i of one is
 * element i of the other. */
bool aj_same_elements(const aj_array *a, const aj_array *b);

/* Whether a shape has no element (some extent is 0). */
static inline bool aj_shape_empty(int nd, const int64_t *shape)
{
	for (int k = 0; k < nd; k++)
		if (shape[k] == 0)
			return true;
	return false;
}

/* Byte range [*first, *last] touched by a's elements; false when empty. */
bool aj_array_extent(const aj_array *a, char **first, char **last);

/*
 * One view operation, as data: the aj_view_* calls are each a step applied
 * to a new handle, and views of expressions (exprview.c) apply the same
 * step to every array under the expression.
 */
typedef enum aj_vkind {
	AJ_V_SLICE,       /* slice: one per axis */
	AJ_V_INDEX,       /* index i of axis */
	AJ_V_PERMUTE,     /* perm, NULL reverses */
	AJ_V_RESHAPE,     /* (ndim, shape), one -1 allowed */
	AJ_V_BROADCAST,   /* to (ndim, shape) */
	AJ_V_EXPAND_DIMS, /* at axis */
	AJ_V_FLIP,        /* axis or AJ_ALL_AXES */
	AJ_V_SQUEEZE,     /* axis or AJ_ALL_AXES */
	AJ_V_MOVEAXIS,    /* axis to axis2 */
	AJ_V_DIAGONAL,    /* offset i, axes axis and axis2 */
	AJ_V_RAVEL,
} aj_vkind;

typedef struct aj_vstep {
	aj_vkind kind;
	const char *fn; /* for messages; NULL: the aj_view_* call's name */
	int axis, axis2;
	int64_t i;
	int ndim;
	const int64_t *shape;
	const aj_slice *slice;
	const int *perm;
} aj_vstep;

/* *t = step s of a (nothing allocated); errors as the aj_view_* call's,
 * recorded in ctx. */
aj_status aj_vstep_into(aj_ctx *ctx, const aj_array *a, const aj_vstep *s,
			aj_array *t);
/* The same as a new handle (an aj_view_* call). */
aj_status aj_view_step(aj_ctx *ctx, const aj_array *a, const aj_vstep *s,
		       aj_array **out);

/* ---- programs ---- */

/* What a random leaf draws (arrjit.h, aj_random): element k of it is
 * Philox4x32-10 with key seed of counter (first + k, stream). */
typedef struct aj_rng {
	uint64_t seed, stream;
	uint64_t first; /* 0, but for leaves built by aj_random_at */
	const aj_array *pos; /* NULL: k is the element's C-order index in
				the leaf's shape; else k is pos's element, an
				index operand (kernel.h): the leaf seen
				through a view (exprview.c) */
} aj_rng;

/*
 * What an AJ_OP_TAKE node reads (lib/take.c). Its value at an element is
 * view's element there, displaced by the position (wrapped if negative)
 * times stride: view is src over the node's shape, with stride 0 along the
 * positions' axes and src's strides along the others.
 */
typedef struct aj_gather {
	const aj_array *src;  /* the array taken from (axis=None: flattened) */
	const aj_array *view; /* src seen over the node's shape, see above */
	int64_t n;            /* length of the axis taken along */
	int64_t stride;       /* its byte stride */
	int axis;             /* that axis of src */
	uint32_t check;       /* node any(position outside [-n, n)), run
				 before anything is written (rule 3) */
	const char *msg;      /* the error when the check is true */
} aj_gather;

typedef struct aj_node {
	uint8_t op;    /* aj_op */
	uint8_t dtype; /* aj_dtype of the result */
	uint8_t weak;  /* 1: Python scalar semantics (NEP 50) */
	uint8_t ndim;
	uint32_t arg[3];      /* operand node indices, for nin > 0; for
				 AJ_OP_PARAM arg[0] is the parameter's
				 index (aj_prepare) */
	const int64_t *shape; /* ndim entries, broadcast */
	double im;            /* for a complex AJ_OP_SCALAR: the imaginary
				 part (u.scalar.f is the real part) */
	union {
		const aj_array *array; /* for AJ_OP_ARRAY */
		aj_scalar_val scalar;  /* for AJ_OP_SCALAR and AJ_OP_PARAM (the
					  value at hand, 0 in a prepared
					  kernel): f for floats, i else */
		struct {
			uint32_t axes;  /* bit k: input axis k is reduced */
			bool keepdims;
		} red;                 /* for AJ_KIND_REDUCE */
		uint32_t check;        /* for AJ_OP_POW on ints with an array
					  exponent: node any(exponent < 0),
					  tested before anything is written;
					  0 when there is none */
		const aj_rng *rng;     /* for AJ_OP_RANDOM, AJ_OP_NORMAL (in
					  p's arena); their ndim is 0 when
					  shapeless */
		const aj_gather *take; /* for AJ_OP_TAKE (its arg[0] is the
					  positions, any integer dtype) */
		const aj_array *view;  /* for AJ_OP_VIEW: an index operand
					  (kernel.h) over the node's shape
					  whose element is the C-order index
					  of the element of arg[0] it shows */
	} u;
} aj_node;

/* The check node n carries (fusion rule 3): any(exponent < 0) of an
 * integer power, the range check of a take; 0 when there is none. */
static inline uint32_t aj_node_check(const aj_node *n)
{
	if (n->op == AJ_OP_POW)
		return n->u.check;
	return n->op == AJ_OP_TAKE ? n->u.take->check : 0;
}

/* Whether n is computed by kernels of its own before the loop nest that
 * reads it (its result a leaf there): a reduction, or a view fusion could
 * not push down to arrays (AJ_OP_VIEW). */
static inline bool aj_is_boundary(const aj_node *n)
{
	return aj_ops[n->op].kind == AJ_KIND_REDUCE || n->op == AJ_OP_VIEW;
}

/* The array a leaf node reads: an array's, or the one a take gathers
 * from; NULL for other nodes. */
static inline const aj_array *aj_node_array(const aj_node *n)
{
	if (n->op == AJ_OP_ARRAY)
		return n->u.array;
	return n->op == AJ_OP_TAKE ? n->u.take->src : NULL;
}

typedef struct aj_assignment {
	aj_array *out;
	uint32_t node;
} aj_assignment;

typedef struct aj_memo aj_memo;
typedef struct aj_plans aj_plans;

struct aj_prog {
	aj_ctx *ctx;
	aj_node *node;
	uint32_t nnode, cap;
	uint32_t id_base;   /* ids <= id_base are stale */
	aj_assignment *pending;
	uint32_t npending, cappending;
	aj_arena arena;     /* node shapes and per-sync scratch */
	uint64_t scratch_bytes; /* allocated by fusion for intermediates so
				   far (fuse.c), for aj_group.temp_bytes */
	aj_memo *memo;      /* recent kernels, looked up without locking */
	aj_plans *plans;    /* recent syncs' kernel calls (plan.c) */
	aj_counts counts;   /* its share of the context's statistics */
	aj_prog *prev, *next; /* in ctx->progs */
	uint32_t nrun;      /* times a selection ran the pending work
			       without a sync (select.c): what came before
			       is done and cannot be undone (program.c) */
	uint32_t nselect;   /* selections started (select.c), whether or
			       not they ran pending work: a prepared
			       kernel's text may have none (prepared.c) */
	struct aj_names *deferred; /* whose aj_exec text is pending unparsed,
				      its plan to run at the sync */
	struct aj_names *sole;     /* whose last aj_exec made all the
				      pending work (program.c) */
	aj_status err;      /* first builder error since the last report */
	char errmsg[AJ_ERRMSG_MAX];
};

/*
 * Texts run again without parsing (program.c). aj_names_touch: anything
 * but the sync is about to build on p, so a deferred text is parsed now
 * and the sole text is no longer all of the work. aj_names_sync runs p's
 * pending work for aj_sync: a deferred text's plan, or the pipeline,
 * noting which plan the sole text's work replayed. aj_names_detach: p is
 * being freed.
 */
void aj_names_touch(aj_prog *p);
aj_status aj_names_sync(aj_prog *p);
void aj_names_detach(aj_prog *p);

/* Records an error in p (the first one sticks until reported). */
aj_status aj_prog_error(aj_prog *p, aj_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Takes and clears the pending builder error. */
aj_status aj_prog_take_error(aj_prog *p);
/* The node behind e, or NULL (with an error recorded) if e is bad. */
const aj_node *aj_prog_node(aj_prog *p, aj_expr e);


/* The dtype operand i (node arg[i]) of elementwise node n is cast to
 * before n computes: NumPy's loop selection. Fusion casts to it; constant
 * folding evaluates in it. */
aj_dtype aj_operand_dtype(const aj_node *n, const aj_node *const *arg, int i);

/* aj_random with a chosen stream and first element index, the context's
 * stream counter untouched: for tests of Philox at chosen counters
 * (counter words first + k, so any k up to 2^64 - 1 can be reached). */
aj_expr aj_random_at(aj_prog *p, aj_dist dist, aj_dtype t, int ndim,
		     const int64_t *shape, uint64_t stream, uint64_t first);

/* NumPy's spelling of a shape, "(3, 4)", "(3,)" or "()", into buf
 * (truncated to len); returns buf. */
const char *aj_shape_text(char *buf, size_t len, int nd, const int64_t *s);

/* Broadcasts shapes a and b (NumPy rules) into out; ndim via *nd. */
aj_status aj_broadcast_shapes(int na, const int64_t *a, int nb,
			      const int64_t *b, int *nd, int64_t *out);

/* Step applied to expression e: pushed down to its arrays where views
 * can express it, else a VIEW node (exprview.c). */
aj_expr aj_view_expr(aj_prog *p, aj_expr e, const aj_vstep *step);
/* Whether VIEW node v shows all of its operand, a non-reduction, in C
 * order: a reshape of it (its map C order from position 0). */
bool aj_view_is_reshape(const aj_prog *p, const aj_node *v);
/* e with t more trailing length-1 axes, so that it broadcasts into a
 * space where its axes are followed by t others (take.c; a copy of e's
 * subgraph); AJ_EXPR_NONE with the error recorded. */
aj_expr aj_expand_trailing(aj_prog *p, aj_expr e, int t);

/* A weak scalar parameter (AJ_OP_PARAM) number index of dtype t,
 * AJ_FLOAT64 or AJ_INT64: a leaf lowered to a scalar slot like a
 * scalar's, but never folded, since its value changes per run (dag.c). */
aj_expr aj_param_node(aj_prog *p, uint32_t index, aj_dtype t);

/* Binds name in ns to parameter index of dtype t (aj_param_node): text that
 * reads the name reads the parameter (program.c). */
aj_status aj_names_set_param(aj_names *ns, const char *name, uint32_t index,
			     aj_dtype t);

/* Appends node n (built and checked by the caller) to p (dag.c). */
aj_expr aj_prog_push(aj_prog *p, const aj_node *n);

/* Runs the pipeline over the pending assignments (run.c). */
aj_status aj_run(aj_prog *p);

#endif
