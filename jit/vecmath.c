/*
 * Vector math through SLEEF: the function name for an op, dtype, lane count
 * and ISA. The SLEEF family and accuracy of each op come from the op table
 * (arrjit.h): "exp_u10" (1 ULP), "hypot_u05", or "fmod" for exact ones.
 *
 * SLEEF 3.5 names: Sleef_<fam>[f][_<acc>] for scalars, else
 * Sleef_<fam><d|f><lanes>_<acc><ext>, with ext avx2128 (128-bit), avx2
 * (256-bit) or avx512f (512-bit): Sleef_expd4_u10avx2, Sleef_fmodd4_avx2.
 */
#include "core.h"
#include "llvm.h"

#include <stdio.h>
#include <string.h>

const char *aj_sleef_name(aj_op op, aj_dtype t, int lanes, aj_isa isa,
			  char *buf, size_t len)
{
	const char *spec = aj_ops[op].sleef;
	if (!spec[0] || !aj_is_float(t))
		return NULL;
	const char *us = strchr(spec, '_');
	int famlen = us ? (int)(us - spec) : (int)strlen(spec);
	const char *acc = us ? us + 1 : "";
	bool f32 = t == AJ_FLOAT32;
	if (lanes == 1) {
		snprintf(buf, len, "Sleef_%.*s%s%s%s", famlen, spec, f32 ? "f" : "",
			 acc[0] ? "_" : "", acc);
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
	snprintf(buf, len, "Sleef_%.*s%c%d_%s%s", famlen, spec, f32 ? 'f' : 'd',
		 lanes, acc, ext);
	return buf;
}
