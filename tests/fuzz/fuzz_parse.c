/*
 * fuzz_parse: expression and program text, parsed and run.
 *
 * Input: one flag byte, then the text. Flag bit 0 selects aj_parse (one
 * expression over leaves) instead of aj_exec (statements in a namespace);
 * the bits above it set the context's knobs (fuzz_knobs: ISA, threads on
 * tiny kernels, non-temporal stores). The names are
 * arrays of several dtypes and shapes (one empty, one 0-d) over memory
 * reset before every input, and two scalars.
 *
 * A successful parse is run: its value (the last expression statement) is
 * assigned to a fresh array and the program synced; nothing may be
 * written past an array's bytes (guard bytes around the result and after
 * each named array). Checked: no crash or
 * sanitizer report; parse and name errors say where ("line L, column C" or
 * "column N"); a failed aj_exec leaves nothing pending and, unless a
 * selection ran the earlier work, the arrays untouched; a failed sync
 * writes nothing, but for the data-dependent errors (AJ_ERR_ARG) whose
 * earlier assignments stay done.
 *
 * Texts that could ask for huge work (random(shape=...), reshape,
 * broadcast_to with big numbers) are skipped: a harness limit on resources,
 * not on what the parser sees.
 */
#include "fuzz.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT ((int64_t)1 << 16)	/* elements of a result we evaluate */
#define MAX_WORK ((double)(1 << 22)) /* product of a sized text's numbers */

static const struct binding {
	const char *name;
	aj_dtype dtype;
	int ndim;
	int64_t shape[3];
} bindings[] = {
    {"a", AJ_FLOAT64, 2, {4, 3}},  {"b", AJ_FLOAT32, 1, {3}},
    {"i", AJ_INT32, 2, {4, 3}},	   {"u", AJ_UINT8, 1, {3}},
    {"m", AJ_BOOL, 2, {4, 3}},	   {"z", AJ_COMPLEX128, 3, {2, 1, 3}},
    {"e", AJ_INT64, 2, {0, 3}},	   {"c", AJ_FLOAT64, 0, {0}},
    {"q", AJ_INT16, 1, {12}},	   {"w", AJ_UINT64, 2, {3, 1}},
};
#define NBIND ((int)(sizeof bindings / sizeof bindings[0]))

static char mem[NBIND][1024], pristine[NBIND][1024];
static aj_array *arrays[NBIND];

/* Values with signs, zeros, NaN and infinities for floats. */
static void fill(void)
{
	static const double f[] = {1.5, -2, 0, 3.25, -0.0, 1e300,
				   -7, 0.5, __builtin_nan(""), 2, 1e-310, 9};
	for (int k = 0; k < NBIND; k++) {
		const struct binding *b = &bindings[k];
		for (int j = 0; j < 64; j++) { /* 64 elements of 16 bytes at most */
			char *p = pristine[k] + j * aj_dtype_size(b->dtype);
			double v = f[j % 12];
			int64_t n = (int64_t)(j * 37) % 23 - 11;
			switch (b->dtype) {
			case AJ_FLOAT64: *(double *)p = v; break;
			case AJ_FLOAT32: *(float *)p = (float)v; break;
			case AJ_COMPLEX128:
				((double *)p)[0] = v;
				((double *)p)[1] = f[(j + 5) % 12];
				break;
			case AJ_BOOL: *p = j % 3 == 1; break;
			case AJ_INT32: *(int32_t *)p = (int32_t)n; break;
			case AJ_INT16: *(int16_t *)p = (int16_t)(n * 999); break;
			case AJ_INT64: *(int64_t *)p = n; break;
			case AJ_UINT64: *(uint64_t *)p = (uint64_t)n; break;
			default: *(uint8_t *)p = (uint8_t)n; break;
			}
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fill();
	for (int k = 0; k < NBIND; k++) {
		const struct binding *b = &bindings[k];
		aj_status st = aj_array_wrap(fuzz_ctx(), mem[k], sizeof mem[k], 0,
					     b->dtype, b->ndim, b->shape, NULL,
					     &arrays[k]);
		check(st == AJ_OK, "wrap %s: %s", b->name,
		      aj_ctx_errmsg(fuzz_ctx()));
	}
	return 0;
}

/* Whether text names a size (random's shape, reshape, broadcast_to) with
 * numbers whose product passes MAX_WORK. */
static int too_big(const char *text)
{
	if (!strstr(text, "random") && !strstr(text, "normal") &&
	    !strstr(text, "shape") && !strstr(text, "broadcast"))
		return 0;
	double work = 1;
	for (const char *s = text; *s; s++)
		if (isdigit((unsigned char)*s) &&
		    (s == text || !isalnum((unsigned char)s[-1]))) {
			double v = strtod(s, NULL);
			work *= v > 1 ? v : 1;
			while (isalnum((unsigned char)s[1]) || s[1] == '.')
				s++;
		}
	return work > MAX_WORK;
}

static int arrays_unchanged(void)
{
	return memcmp(mem, pristine, sizeof mem) == 0;
}

/* Bytes of a slot of mem past its array's elements: nothing may write
 * there (a kernel storing out of bounds). */
static void check_slots(void)
{
	for (int k = 0; k < NBIND; k++) {
		const struct binding *b = &bindings[k];
		int64_t n = aj_dtype_size(b->dtype);
		for (int d = 0; d < b->ndim; d++)
			n *= b->shape[d];
		check(memcmp(mem[k] + n, pristine[k] + n, sizeof mem[k] - n) == 0,
		      "a write past the end of array %s", b->name);
	}
}

#define GUARD 256 /* bytes either side of a result */

/* A C-order array of e's shape and dtype inside buf, GUARD bytes of 0xa5
 * either side of it. */
static aj_array *guarded(aj_prog *p, aj_expr e, int nd, const int64_t *shape,
			 char **buf, size_t *len)
{
	aj_dtype t = aj_expr_dtype(p, e);
	size_t n = aj_dtype_size(t);
	for (int d = 0; d < nd; d++)
		n *= (size_t)shape[d];
	*len = n + 2 * GUARD;
	*buf = aligned_alloc(64, (*len + 63) / 64 * 64);
	memset(*buf, 0xa5, *len);
	aj_array *out;
	aj_status st = aj_array_wrap(fuzz_ctx(), *buf + GUARD, n, 0, t, nd,
				     shape, NULL, &out);
	check(st == AJ_OK, "wrap of a result: %s", aj_ctx_errmsg(fuzz_ctx()));
	return out;
}

static void check_guards(const char *buf, size_t len)
{
	for (size_t k = 0; k < GUARD; k++)
		check((unsigned char)buf[k] == 0xa5 &&
			      (unsigned char)buf[len - 1 - k] == 0xa5,
		      "a write outside the result's bytes");
}

static int64_t expr_size(aj_prog *p, aj_expr e, int *nd, int64_t *shape)
{
	*nd = aj_expr_shape(p, e, shape);
	check(*nd >= 0, "a successful parse gave an invalid expression");
	int64_t n = 1;
	for (int d = 0; d < *nd; d++)
		n = shape[d] > MAX_OUT ? MAX_OUT + 1 : n * shape[d];
	return n;
}

/* Assigns e to a new array of its shape, syncs, checks what a failure
 * leaves. */
static void run(aj_prog *p, aj_expr e)
{
	aj_array *out = NULL;
	char *buf = NULL;
	size_t len = 0;
	int nd;
	int64_t shape[AJ_MAX_NDIM];
	if (e.id != AJ_EXPR_NONE.id && expr_size(p, e, &nd, shape) <= MAX_OUT) {
		out = guarded(p, e, nd, shape, &buf, &len);
		aj_status st = aj_assign(p, out, e);
		check(st == AJ_OK, "assigning a parse's value to an array of "
				   "its shape and dtype: %s",
		      aj_prog_errmsg(p));
	}
	aj_status st = aj_sync(p);
	check(st == AJ_OK || st == AJ_ERR_ARG || arrays_unchanged(),
	      "aj_sync failed (%d: %s) and wrote to an array", st,
	      aj_prog_errmsg(p));
	check(st != AJ_ERR_JIT, "JIT failure: %s", aj_prog_errmsg(p));
	check_slots();
	if (buf)
		check_guards(buf, len);
	aj_array_free(out);
	free(buf);
}

static void located(aj_status st, const char *msg, const char *where)
{
	if (st == AJ_ERR_PARSE || st == AJ_ERR_NAME)
		check(strstr(msg, where) != NULL, "no '%s' in: %s", where, msg);
}

static void run_exec(aj_prog *p, const char *text)
{
	aj_names *ns;
	check(aj_names_new(p, &ns) == AJ_OK, "aj_names_new");
	for (int k = 0; k < NBIND; k++)
		aj_names_set_array(ns, bindings[k].name, arrays[k]);
	aj_names_set_f64(ns, "s", 2.5);
	aj_names_set_i64(ns, "k", 3);
	aj_expr last;
	aj_status st = aj_exec(ns, text, &last);
	if (st == AJ_OK) {
		run(p, last);
	} else {
		located(st, aj_prog_errmsg(p), "line ");
		int selected = strchr(text, '[') || strstr(text, "compress");
		aj_status s2 = aj_sync(p);
		check(s2 == AJ_OK, "sync after a failed aj_exec: %s",
		      aj_prog_errmsg(p));
		check(selected || arrays_unchanged(),
		      "a failed aj_exec (%d) left work that wrote an array",
		      st);
	}
	aj_names_free(ns);
}

static void run_parse(aj_prog *p, const char *text)
{
	const char *names[NBIND + 2];
	aj_expr values[NBIND + 2];
	for (int k = 0; k < NBIND; k++) {
		names[k] = bindings[k].name;
		values[k] = aj_leaf(p, arrays[k]);
	}
	names[NBIND] = "s";
	values[NBIND] = aj_scalar_f64(p, 2.5);
	names[NBIND + 1] = "k";
	values[NBIND + 1] = aj_scalar_i64(p, 3);
	aj_expr e;
	aj_status st = aj_parse(p, text, NBIND + 2, names, values, &e);
	if (st == AJ_OK)
		run(p, e);
	else
		located(st, aj_prog_errmsg(p), "column ");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (too_big(text)) {
		free(text);
		return 0;
	}
	memcpy(mem, pristine, sizeof mem);
	fuzz_knobs(data[0] >> 1);
	aj_prog *p;
	check(aj_prog_new(fuzz_ctx(), &p) == AJ_OK, "aj_prog_new");
	if (data[0] & 1)
		run_parse(p, text);
	else
		run_exec(p, text);
	aj_prog_free(p);
	free(text);
	return 0;
}
