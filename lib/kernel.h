/*
 * A fused kernel as the rest of the library sees it: a structural
 * description (what the JIT compiles and the cache keys on) and the runtime
 * arguments of one call. No LLVM here.
 *
 * A kernel is a loop nest of k.ndim loops over operands 0..nop-1 (outputs
 * first). A reduction kernel's output has stride 0 along the reduced loops
 * and accumulates: out = combine(out, value), after a fill with the
 * identity. argmin and argmax have two outputs, the position (int64) and
 * the extreme value so far: out_val[0] is an AJ_OP_INDEX value, out_val[1]
 * the reduced one.
 *
 * An index operand gives each element's position: its "address" is
 * AJ_INDEX_BIAS + the position, with an int8 dtype so that a stride of 1
 * is CONTIG; it is never dereferenced. The loop transformations (flips,
 * merges, reorders, splits) move it like any operand, so the position is
 * always the one of the element at hand. The bias is no user-space
 * address on x86-64, so no array aliases it. Its body is a list of SSA values; value i may use only values
 * before it, and every binary op's operands already share one dtype (the
 * fusion pass inserts the casts).
 *
 * A random value (AJ_OP_RANDOM, AJ_OP_NORMAL; arrjit.h, aj_random) is a
 * leaf of the DAG but takes three values in a kernel: the element's
 * position k (uint64, from an index operand), the seed and the stream
 * (uint64 scalars).
 *
 * A take value (AJ_OP_TAKE, a gather) loads its operand's element at the
 * position at hand displaced by a byte offset, an int64 value computed
 * before it: the fusion pass makes the operand a view of the array taken
 * from with stride 0 along the positions' axes, so the operand moves with
 * the loops like any other, and the offset selects the element along the
 * axis taken. Vector code gathers lanes whose offsets differ.
 *
 * A compress kernel (k.compress, lib/select.c) writes output 0 in sequence
 * rather than by position: its strides are 0 on every loop, and its
 * pointer is where the next element goes. Wherever value k.mask (a bool)
 * is true, the output value is stored there and the pointer advances one
 * element; elsewhere nothing is stored. Its loops run in C order
 * (aj_kcall.c_order), so the elements come out in C order.
 *
 * Generated code has the signature of aj_kernel_fn:
 *   ptr[o]              address of operand o's element (0, ..., 0)
 *   shape[d]            extent of loop d (d = ndim-1 is innermost)
 *   strides[o*ndim + d] byte stride of operand o along loop d
 *   scalars             8-byte slots, each holding a value of its dtype
 *   [lo, hi)            the range of loop 0 this call covers
 */
#ifndef AJ_KERNEL_H
#define AJ_KERNEL_H

#include "arrjit.h"
#include "core.h"

#include <stdbool.h>
#include <stdint.h>

#define AJ_INDEX_BIAS ((uintptr_t)1 << 62)

typedef void (*aj_kernel_fn)(char *const *ptr, const int64_t *shape,
			     const int64_t *strides, const void *scalars,
			     int64_t lo, int64_t hi);

/* Stride class of an operand along the innermost loop. */
typedef enum aj_sclass {
	AJ_SC_CONTIG,  /* stride == itemsize */
	AJ_SC_ZERO,    /* stride == 0: broadcast, loop-invariant */
	AJ_SC_ANY,     /* anything else, read at run time */
	AJ_SC_RCONTIG, /* stride == -itemsize: contiguous, backwards (a
			  vector is loaded from its lowest address and its
			  lanes reversed) */
} aj_sclass;

/* The class of an innermost stride for elements of size bytes. */
static inline aj_sclass aj_stride_class(int64_t stride, int64_t size)
{
	return stride == size ? AJ_SC_CONTIG : stride == 0 ? AJ_SC_ZERO
	       : stride == -size ? AJ_SC_RCONTIG : AJ_SC_ANY;
}

typedef struct aj_kval {
	uint8_t op;     /* aj_op */
	uint8_t dtype;  /* aj_dtype of the value */
	uint16_t pad;   /* zero, so the struct hashes canonically */
	uint32_t arg[3]; /* value indices; for AJ_OP_ARRAY and AJ_OP_INDEX
			    arg[0] is the operand, for AJ_OP_SCALAR the
			    scalar slot; for AJ_OP_TAKE arg[0] is the
			    operand and arg[1] an int64 value, a byte
			    offset added to the element's address */
} aj_kval;

/* How many values v reads: its op's operands, three for a random value,
 * none for the other leaves (their arg[0] is an operand or a slot). */
static inline int aj_kval_nin(const aj_kval *v)
{
	return aj_is_random((aj_op)v->op) ? 3 : aj_ops[v->op].nin;
}

typedef struct aj_kdesc {
	aj_isa isa;          /* resolved, never AJ_ISA_HOST */
	uint8_t red;         /* AJ_NOP, or the reduction that output 0
				accumulates (out = out op value) */
	int ndim;            /* loops, >= 1 */
	int nval;
	aj_kval *val;
	int nop, nout;       /* operands; outputs are 0..nout-1 */
	uint8_t *op_dtype;   /* nop entries */
	uint8_t *op_class;   /* nop entries, aj_sclass */
	uint32_t *out_val;   /* nout entries: value stored to output k */
	int nscalar;
	uint8_t *scalar_dtype; /* nscalar entries */
	uint8_t fast;        /* 1: vector math from libmvec (AJ_ACCURACY_FAST),
				0: SLEEF u10 */
	uint8_t compress;    /* 1: output 0 is written in sequence where
				value mask is true (see above); 0 else */
	uint32_t mask;       /* for compress: the bool value that selects;
				0 else */
	uint8_t tile;        /* 1: loops ndim-2 and ndim-1 run in tiles, each
				operand of class ANY (an input) being
				unit-stride (+itemsize) along loop ndim-2,
				and transposed in registers (sched.c rule
				6); 0 else */
	uint8_t nt;          /* 1: output 0's vector stores are
				non-temporal (aj_nt_fits); 0 else */
} aj_kdesc;

/* A tiled kernel's tile: AJ_TILE_ROWS of loop ndim-2 by AJ_TILE_COLS of
 * loop ndim-1 (elements), walked in blocks of lanes x lanes. Measured on
 * 4000 x 4000 float64 (a + a.T, a.T.copy(), 2 threads; AVX2 and AVX-512
 * alike or better): 16 x 1024 beats 64 x 64 by 5-25%; rows of 8 across
 * the whole width ran as well on AVX-512, but a tile bounds the lines of
 * a transposed input in flight (1024 rows of it: 128 KB, in L2) for any
 * width. Software prefetches of the next blocks gained nothing clear.
 * AJ_TILE_ROWS is a multiple of every tiled kernel's lanes (16 x 4 bytes
 * on AVX-512); tasks of a tiled 2-loop nest split loop 0 at multiples of
 * it (run.c), so only the last task has rows left over. */
enum { AJ_TILE_ROWS = 16, AJ_TILE_COLS = 1024 };

/*
 * Whether k may store output 0 non-temporally (x86 movnt: the line goes
 * to memory without being read first, and is not kept in the caches).
 * The emitter does it in the plain vector body alone: output 0 contiguous
 * along the inner loop with 4- or 8-byte elements, no reduction or
 * compress, no strided operand (those take the buffered or scalar loop).
 * The vector body covers the whole cache lines of each inner row;
 * elements before and after them get normal stores, and the kernel ends
 * with an sfence.
 */
static inline bool aj_nt_fits(const aj_kdesc *k)
{
	aj_dtype t = (aj_dtype)k->op_dtype[0];
	if (k->isa == AJ_ISA_SCALAR || k->red != AJ_NOP || k->compress ||
	    k->op_class[0] != AJ_SC_CONTIG || aj_is_complex(t) ||
	    (aj_dtypes[t].size != 4 && aj_dtypes[t].size != 8))
		return false;
	for (int o = 0; o < k->nop; o++)
		if (k->op_class[o] == AJ_SC_ANY)
			return false;
	return true;
}

/* Where a scalar slot's value comes from: a constant of the kernel call
 * (a reduction's identity, a take's stride), or a field of a node that a
 * replayed plan reads again (plan.c). */
typedef enum aj_slot_what {
	AJ_SLOT_CONST, /* slots hold it already */
	AJ_SLOT_REAL,  /* a scalar node's value (the real part if complex) */
	AJ_SLOT_IMAG,  /* a complex scalar node's imaginary part */
	AJ_SLOT_SEED,  /* a random node's seed, stream, first index */
	AJ_SLOT_STREAM,
	AJ_SLOT_FIRST,
} aj_slot_what;

typedef struct aj_slot_src {
	uint32_t node; /* node index, for all but AJ_SLOT_CONST */
	uint8_t what;  /* aj_slot_what */
} aj_slot_src;

/* One call of a kernel: description plus arguments. */
typedef struct aj_kcall {
	aj_kdesc k;
	char **ptr;          /* nop */
	int64_t *shape;      /* k.ndim */
	int64_t *strides;    /* nop * k.ndim */
	uint64_t *scalars;   /* nscalar slots */
	aj_slot_src *slot_src; /* nscalar entries, or NULL: all constant */
	int64_t cost;        /* work per element for splitting (run.c); 0:
				not yet known */
	int64_t nelem;       /* product of shape; 0: nothing to run */
	int64_t nchunk;      /* 0: loop 0 may be split anywhere, as every
				output element is written by one index of
				it; else the call runs as exactly nchunk
				chunks of loop 0 (aj_chunk_bound), chunk c
				with the operand pointers chunk_ptr[c * nop
				...] (a reduction into per-chunk partials) */
	char **chunk_ptr;
	bool c_order;        /* sched keeps the loops in C order: no flips,
				no reordering (merges only), for compress
				kernels, whose output order is that order */
	bool serial;         /* run on the caller alone, loop 0 in order: its
				result depends on the order (an output
				overlaps an input it reads shifted) */
	const char *note;    /* for dumps: why it is serial, split or reads a
				copy; NULL if nothing to say */
	aj_kernel_fn fn;     /* filled by the cache */
	const uint8_t *fail_if; /* a check: after it runs, nonzero here means
				   the assignment fails with fail_msg */
	const char *fail_msg;
	bool undo;           /* skipped unless a check before it fails: then
				it restores an output of the sync from its
				snapshot (run.c, guard_outputs) */
	bool save;           /* takes such a snapshot: the undo calls run
				only if the failing check ran after it */
} aj_kcall;

/* Whether call c accumulates along loop 0 (output 0 is invariant
 * there): a reduction whose outermost loop is reduced. Every index of
 * loop 0 then updates the same outputs, so only fixed chunks into
 * separate partials may split it. */
static inline bool aj_reduces_loop0(const aj_kcall *c)
{
	return c->k.red != AJ_NOP && c->strides[0] == 0;
}

/* Where chunk c of nchunk over n iterations starts: a fixed function of
 * its arguments, aligned to align iterations except at the end. */
static inline int64_t aj_chunk_bound(int64_t n, int64_t nchunk, int64_t c,
				     int64_t align)
{
	if (c >= nchunk)
		return n;
	int64_t b = (int64_t)((__int128)n * c / nchunk);
	return b / align * align;
}

#endif
