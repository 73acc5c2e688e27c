/*
 * Selection by a boolean mask (select.c) as the text parser uses it: a[m]
 * for a mask m at any axis of a subscript, not only the first.
 */
#ifndef AJ_SELECT_H
#define AJ_SELECT_H

#include "core.h"

/*
 * NumPy's a[(slice(None),) * axis + (mask,)]: mask's shape must equal
 * a.shape[axis : axis + mask.ndim]; the result has shape a.shape[:axis] +
 * (count,) + a.shape[axis + mask.ndim:]. Otherwise as aj_mask_select,
 * which is this with axis 0.
 */
aj_status aj_select_axis(aj_prog *p, aj_expr a, aj_expr mask, int axis,
			 aj_array **out);

#endif
