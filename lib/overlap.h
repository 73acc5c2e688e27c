/*
 * Whether strided views share memory: NumPy's np.shares_memory and its
 * internal-overlap check, decided exactly by a bounded search.
 *
 * A view's bytes are every byte of every element: data + sum_k strides[k]
 * * i_k + j for 0 <= i_k < shape[k] and 0 <= j < itemsize. Strides may have
 * any sign or be zero. Only the views' headers are read, never their
 * memory, so the views may describe memory that does not exist.
 *
 * The answer is exact (NO or YES) unless it would take the search more
 * than max_work steps, or the arithmetic would overflow int64 (extents near
 * 2^63 bytes); then it is UNKNOWN, never a guess. A negative max_work means
 * no limit, and the search may then take time exponential in the number of
 * axes on adversarial strides. max_work 0 answers only what needs no
 * search, like NumPy's MAY_SHARE_BOUNDS: empty views and disjoint byte
 * extents (NO), and for self-overlap an axis that moves by less than an
 * element or two axes that move by the same |stride| (YES). A step is one
 * node of the search, so limits are not comparable with NumPy's count.
 * Nothing allocates.
 */
#ifndef AJ_OVERLAP_H
#define AJ_OVERLAP_H

#include "arrjit.h"

#include <stdint.h>

typedef enum aj_overlap { AJ_OVERLAP_NO, AJ_OVERLAP_YES, AJ_OVERLAP_UNKNOWN } aj_overlap;

/* Whether a byte of some element of a is also a byte of some element of b.
 * Exact unless the search would take more than max_work steps, then UNKNOWN
 * (max_work < 0: no limit). Empty views overlap nothing. */
aj_overlap aj_views_overlap(const aj_array *a, const aj_array *b,
			    int64_t max_work);

/* Whether two different elements of a share a byte (a view that overlaps
 * itself, like a broadcast or as_strided view). Same max_work rule.
 * "Different" means different indices: a zero stride on an axis of extent
 * > 1 is an overlap. */
aj_overlap aj_self_overlap(const aj_array *a, int64_t max_work);

#endif
