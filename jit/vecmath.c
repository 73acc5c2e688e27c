/*
 * Vector math through SLEEF: the function name for an op, dtype, lane count
 * and ISA. The SLEEF family and accuracy of each op come from the op table
 * (arrjit.h): "exp_u10" (1 ULP), "hypot_u05", or "fmod" for exact ones.
 *
 * With fast (AJ_ACCURACY_FAST), vector widths libmvec has take its
 * function instead (libmvec_name).
 *
 * SLEEF 3.5 names: Sleef_<fam>[f][_<acc>] for scalars, else
 * Sleef_<fam><d|f><lanes>_<acc><ext>, with ext avx2128 (128-bit), avx2
 * (256-bit) or avx512f (512-bit): Sleef_expd4_u10avx2, Sleef_fmodd4_avx2.
 */
#include "core.h"
#include "llvm.h"

#include <stdio.h>
#include <string.h>

/*
 * glibc's libmvec (AJ_ACCURACY_FAST): _ZGV<isa>N<lanes><v per argument>_
 * <name>[f], isa 'e' for 512-bit AVX-512 vectors and 'd' for 256-bit AVX2
 * ones (_ZGVeN8v_exp, _ZGVdN8vv_powf), name SLEEF's family fam (the
 * libm name). glibc 2.36 has every inexact function the op table sends
 * to SLEEF (its ulp column is not 0; test_jit test_fast_accuracy checks
 * each one), none of the exact ones (fmod, nextafter); NULL for those
 * and for other widths.
 */
static const char *libmvec_name(const char *fam, int famlen, aj_op op, aj_dtype t,
				int lanes, aj_isa isa, char *buf, size_t len)
{
	int bits = lanes * aj_dtypes[t].size * 8;
	char x = bits == 512 && isa == AJ_ISA_AVX512 ? 'e'
		 : bits == 256 && isa >= AJ_ISA_AVX2 ? 'd' : 0;
	if (aj_ops[op].ulp == 0 || !x)
		return NULL;
	snprintf(buf, len, "_ZGV%cN%d%s_%.*s%s", x, lanes, aj_ops[op].nin == 2 ? "vv" : "v",
		 famlen, fam, t == AJ_FLOAT32 ? "f" : "");
	return buf;
}

const char *aj_sleef_name(aj_op op, aj_dtype t, int lanes, aj_isa isa, bool fast,
			  char *buf, size_t len)
{
	const char *spec = aj_ops[op].sleef;
	if (!spec[0] || !aj_is_float(t))
		return NULL;
	const char *us = strchr(spec, '_');
	int famlen = us ? (int)(us - spec) : (int)strlen(spec);
	if (fast && lanes > 1 && libmvec_name(spec, famlen, op, t, lanes, isa, buf, len))
		return buf;
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
