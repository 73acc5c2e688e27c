/*
 * Vector math through SLEEF: the function name for an op, dtype, lane count
 * and ISA. The SLEEF family of each op comes from the op table (arrjit.h);
 * all are the u10 (1 ULP) variants.
 *
 * SLEEF 3.5 names: Sleef_<fam>[f]_u10 for scalars, else
 * Sleef_<fam><d|f><lanes>_u10<ext>, with ext avx2128 (128-bit),
 * avx2 (256-bit) or avx512f (512-bit).
 */
#include "core.h"
#include "llvm.h"

#include <stdio.h>

const char *aj_sleef_name(aj_op op, aj_dtype t, int lanes, aj_isa isa,
			  char *buf, size_t len)
{
	const char *fam = aj_ops[op].sleef;
	if (!fam[0] || !aj_is_float(t))
		return NULL;
	bool f32 = t == AJ_FLOAT32;
	if (lanes == 1) {
		snprintf(buf, len, "Sleef_%s%s_u10", fam, f32 ? "f" : "");
		return buf;
	}
	int bits = lanes * aj_dtypes[t].size * 8;
	const char *ext = NULL;
	if (bits == 128 && isa >= AJ_ISA_AVX2)
		ext = "avx2128";
	else if (bits == 256 && isa >= AJ_ISA_AVX2)
		ext = "avx2";
	else if (bits == 512 && isa == AJ_ISA_AVX512)
		ext = "avx512f";
	if (!ext)
		return NULL;
	snprintf(buf, len, "Sleef_%s%c%d_u10%s", fam, f32 ? 'f' : 'd', lanes, ext);
	return buf;
}
