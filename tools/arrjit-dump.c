/*
 * arrjit-dump: prints a compiler stage (DAG, fused kernels, LLVM IR before
 * and after optimisation, assembly, cache key) for one expression, the way
 * QBE's -d flags show a pass.
 *
 * Every identifier in the expression that is not called and is not
 * True/False becomes a zero-filled array: float64 of shape (1024,) unless
 * --dtype or --shape says otherwise. Nothing is run.
 *
 * Exit status: 0 on success, 1 if the library fails to produce a dump,
 * 2 for a bad command line or expression (the message is on stderr).
 */
/* strndup, strtok_r: the build is strict C11. */
#define _POSIX_C_SOURCE 200809L

#include "arrjit.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LEN 1024

enum { EXIT_DUMP = 1, EXIT_USAGE = 2 };

static const char usage[] =
    "usage: arrjit-dump [options] [--] EXPR\n"
    "\n"
    "Prints what arrjit makes of EXPR. Every name in EXPR that is not a\n"
    "function becomes a float64 array of shape 1024 unless told otherwise.\n"
    "\n"
    "  --dtype NAME=TYPE,...   dtype of named arrays: bool, int32, int64,\n"
    "                          float32, float64\n"
    "  --shape NAME=AxBxC,...  shape of named arrays; '' or 'scalar' is 0-d\n"
    "  --isa ISA               host (default), scalar, avx2, avx512\n"
    "  --stage STAGE           dag, fused, ir, opt, asm, key, or all\n"
    "                          (default: all, each under '== STAGE ==')\n"
    "  --help                  this text\n"
    "\n"
    "example: arrjit-dump --isa avx2 --stage opt --shape s=scalar "
    "'exp(a)*s + b'\n"
    "\n"
    "Exit status: 0 ok, 1 the library failed, 2 bad options or expression.\n";

static const struct {
	const char *name;
	aj_stage stage;
} stages[] = {
    {"dag", AJ_STAGE_DAG}, {"fused", AJ_STAGE_FUSED}, {"ir", AJ_STAGE_IR},
    {"opt", AJ_STAGE_OPT}, {"asm", AJ_STAGE_ASM},     {"key", AJ_STAGE_KEY},
};
#define NSTAGE	   ((int)(sizeof stages / sizeof stages[0]))
#define ALL_STAGES NSTAGE


/* An array the expression names. */
typedef struct leaf {
	char *name;
	aj_dtype dtype;
	int ndim;
	int64_t shape[AJ_MAX_NDIM];
	aj_array *array; /* NULL until created */
} leaf;

typedef struct tool {
	/* from the command line */
	const char *expr;
	const char **dtype_specs, **shape_specs; /* each "NAME=...,NAME=..." */
	int ndtype_spec, nshape_spec;
	aj_isa isa;
	int stage; /* index into stages[], or ALL_STAGES */
	/* built from them */
	leaf *leaf;
	int nleaf;
	aj_ctx *ctx;
	aj_prog *p;
} tool;

static int fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "arrjit-dump: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(arrjit-dump --help shows the options)\n");
	return EXIT_USAGE;
}

/* ---- command line ---- */

static int find_stage(const char *name)
{
	if (strcmp(name, "all") == 0)
		return ALL_STAGES;
	for (int i = 0; i < NSTAGE; i++)
		if (strcmp(stages[i].name, name) == 0)
			return i;
	return -1;
}


/* Handles one option at argv[*i]; returns 0 or an exit status (-1 for
 * --help). */
static int parse_option(tool *t, int argc, char **argv, int *i)
{
	int missing = 0;
	const char *v;
	if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0)
		return -1;
	if ((v = cli_option(argc, argv, i, "--dtype", &missing))) {
		t->dtype_specs[t->ndtype_spec++] = v;
	} else if ((v = cli_option(argc, argv, i, "--shape", &missing))) {
		t->shape_specs[t->nshape_spec++] = v;
	} else if ((v = cli_option(argc, argv, i, "--isa", &missing))) {
		if (cli_isa(v, &t->isa) < 0)
			return fail_usage("unknown ISA '%s'", v);
	} else if ((v = cli_option(argc, argv, i, "--stage", &missing))) {
		if ((t->stage = find_stage(v)) < 0)
			return fail_usage("unknown stage '%s'", v);
	} else {
		return fail_usage(missing
				      ? "option %s needs a value"
				      : "unknown option '%s' (an expression "
					"starting with '-' goes after '--')",
				  argv[*i]);
	}
	return 0;
}

/* Fills t from the command line; returns 0 or an exit status (-1 for
 * --help). */
static int parse_command_line(tool *t, int argc, char **argv)
{
	t->dtype_specs = calloc((size_t)argc, sizeof *t->dtype_specs);
	t->shape_specs = calloc((size_t)argc, sizeof *t->shape_specs);
	if (!t->dtype_specs || !t->shape_specs)
		return fail_usage("%s", "out of memory");
	t->stage = ALL_STAGES;
	bool options = true;
	for (int i = 1; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = false;
		} else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			int rc = parse_option(t, argc, argv, &i);
			if (rc != 0)
				return rc;
		} else if (t->expr) {
			return fail_usage("more than one expression ('%s')",
					  argv[i]);
		} else {
			t->expr = argv[i];
		}
	}
	if (!t->expr)
		return fail_usage("%s", "no expression given");
	return 0;
}

/* ---- names in the expression ---- */

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Skips a number and anything glued to it ("1e5", "1e-3", "2x"), so that
 * exponent letters are not taken for names; aj_parse judges the number. */
static const char *skip_number(const char *s)
{
	while (is_ident(*s) || *s == '.') {
		bool exponent = *s == 'e' || *s == 'E';
		s++;
		if (exponent && (*s == '+' || *s == '-'))
			s++;
	}
	return s;
}

static leaf *find_leaf(tool *t, const char *name, size_t len)
{
	for (int i = 0; i < t->nleaf; i++)
		if (strlen(t->leaf[i].name) == len &&
		    memcmp(t->leaf[i].name, name, len) == 0)
			return &t->leaf[i];
	return NULL;
}

/* Whether the identifier [s, s+len) names an array: not a call, not a
 * keyword. */
static bool names_array(const char *s, size_t len)
{
	const char *after = s + len;
	while (*after == ' ' || *after == '\t' || *after == '\n' ||
	       *after == '\r')
		after++;
	if (*after == '(')
		return false;
	return !(len == 4 && memcmp(s, "True", 4) == 0) &&
	       !(len == 5 && memcmp(s, "False", 5) == 0);
}

static int add_leaf(tool *t, const char *s, size_t len)
{
	if (find_leaf(t, s, len))
		return 0;
	leaf *l = &t->leaf[t->nleaf];
	if (!(l->name = strndup(s, len)))
		return fail_usage("%s", "out of memory");
	t->nleaf++;
	l->dtype = AJ_FLOAT64;
	l->ndim = 1;
	l->shape[0] = DEFAULT_LEN;
	return 0;
}

/* One leaf per distinct array name in t->expr. */
static int find_names(tool *t)
{
	/* Names are separated by at least one byte, so this is enough. */
	t->leaf = calloc(strlen(t->expr) / 2 + 1, sizeof *t->leaf);
	if (!t->leaf)
		return fail_usage("%s", "out of memory");
	for (const char *s = t->expr; *s;) {
		if ((*s >= '0' && *s <= '9') ||
		    (*s == '.' && s[1] >= '0' && s[1] <= '9')) {
			s = skip_number(s);
			continue;
		}
		if (!is_ident_start(*s)) {
			s++;
			continue;
		}
		size_t len = 1;
		while (is_ident(s[len]))
			len++;
		int rc = names_array(s, len) ? add_leaf(t, s, len) : 0;
		if (rc != 0)
			return rc;
		s += len;
	}
	return 0;
}

/* ---- --dtype and --shape ---- */

static int parse_dtype(const char *s, aj_dtype *out)
{
	for (int d = 0; d < AJ_NDTYPE; d++)
		if (strcmp(aj_dtype_name((aj_dtype)d), s) == 0) {
			*out = (aj_dtype)d;
			return 0;
		}
	return fail_usage("unknown dtype '%s'", s);
}

/* "AxBxC", or "" or "scalar" for 0-d. */
static int parse_shape(const char *text, leaf *l)
{
	l->ndim = 0;
	if (*text == '\0' || strcmp(text, "scalar") == 0)
		return 0;
	for (const char *s = text;;) {
		char *end;
		if (l->ndim == AJ_MAX_NDIM)
			return fail_usage("shape '%s' has too many axes", text);
		if (*s < '0' || *s > '9')
			return fail_usage("bad shape '%s' (want AxBxC)", text);
		l->shape[l->ndim++] = strtoll(s, &end, 10);
		if (*end == '\0')
			return 0;
		if (*end != 'x')
			return fail_usage("bad shape '%s' (want AxBxC)", text);
		s = end + 1;
	}
}

/* Applies one "NAME=VALUE" item of --dtype (is_dtype) or --shape. */
static int apply_item(tool *t, char *item, bool is_dtype)
{
	char *eq = strchr(item, '=');
	if (!eq)
		return fail_usage("'%s' is not NAME=VALUE", item);
	*eq = '\0';
	leaf *l = find_leaf(t, item, strlen(item));
	if (!l)
		return fail_usage("'%s' is not an array name in the expression",
				  item);
	return is_dtype ? parse_dtype(eq + 1, &l->dtype)
			: parse_shape(eq + 1, l);
}

/* Applies a comma-separated list of items. */
static int apply_spec(tool *t, const char *spec, bool is_dtype)
{
	char *copy = strdup(spec);
	if (!copy)
		return fail_usage("%s", "out of memory");
	int rc = 0;
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
	     item = strtok_r(NULL, ",", &save))
		rc = apply_item(t, item, is_dtype);
	free(copy);
	return rc;
}

static int apply_specs(tool *t)
{
	int rc = 0;
	for (int i = 0; i < t->ndtype_spec && rc == 0; i++)
		rc = apply_spec(t, t->dtype_specs[i], true);
	for (int i = 0; i < t->nshape_spec && rc == 0; i++)
		rc = apply_spec(t, t->shape_specs[i], false);
	return rc;
}

/* ---- the library ---- */

/* Shows the expression with a caret under the column a "column N: ..."
 * message names, then the message. */
static void print_expr_error(const char *expr, const char *msg)
{
	fprintf(stderr, "arrjit-dump: bad expression\n  ");
	for (const char *s = expr; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, stderr);
	int col = 0;
	if (sscanf(msg, "column %d:", &col) == 1 && col >= 1 &&
	    (size_t)col <= strlen(expr) + 1) {
		fputs("\n  ", stderr);
		for (int k = 0; k < col - 1; k++)
			fputc(expr[k] == '\t' ? '\t' : ' ', stderr);
		fputc('^', stderr);
	}
	fprintf(stderr, "\n%s\n", msg);
}

static int fail_ctx(aj_ctx *ctx, const char *what, int status)
{
	fprintf(stderr, "arrjit-dump: %s: %s\n", what,
		ctx ? aj_ctx_errmsg(ctx) : "failed");
	return status;
}

/* Makes the context, program and arrays. */
static int setup_library(tool *t)
{
	if (aj_ctx_new(&t->ctx) != AJ_OK)
		return fail_ctx(NULL, "cannot create a context", EXIT_DUMP);
	if (aj_ctx_set_isa(t->ctx, t->isa) != AJ_OK)
		return fail_ctx(t->ctx, "--isa", EXIT_USAGE);
	if (aj_prog_new(t->ctx, &t->p) != AJ_OK)
		return fail_ctx(t->ctx, "cannot create a program", EXIT_DUMP);
	for (int i = 0; i < t->nleaf; i++) {
		leaf *l = &t->leaf[i];
		if (aj_array_new(t->ctx, l->dtype, l->ndim, l->shape,
				 &l->array) != AJ_OK)
			return fail_ctx(t->ctx, l->name, EXIT_USAGE);
	}
	return 0;
}

static int parse_expr(tool *t, aj_expr *e)
{
	const char **names = calloc((size_t)t->nleaf + 1, sizeof *names);
	aj_expr *values = calloc((size_t)t->nleaf + 1, sizeof *values);
	int rc = 0;
	if (!names || !values) {
		rc = fail_usage("%s", "out of memory");
	} else {
		for (int i = 0; i < t->nleaf; i++) {
			names[i] = t->leaf[i].name;
			values[i] = aj_leaf(t->p, t->leaf[i].array);
		}
		if (aj_parse(t->p, t->expr, t->nleaf, names, values, e) !=
		    AJ_OK) {
			print_expr_error(t->expr, aj_prog_errmsg(t->p));
			rc = EXIT_USAGE;
		}
	}
	free(names);
	free(values);
	return rc;
}

static int print_stage(tool *t, aj_expr e, int i, bool header)
{
	char *text = NULL;
	if (aj_dump(t->p, e, stages[i].stage, &text) != AJ_OK) {
		fprintf(stderr, "arrjit-dump: stage %s: %s\n", stages[i].name,
			aj_prog_errmsg(t->p));
		return EXIT_DUMP;
	}
	if (header)
		printf("== %s ==\n", stages[i].name);
	size_t len = strlen(text);
	fputs(text, stdout);
	if (len == 0 || text[len - 1] != '\n')
		putchar('\n');
	aj_string_free(text);
	return 0;
}

static int dump(tool *t, aj_expr e)
{
	if (t->stage != ALL_STAGES)
		return print_stage(t, e, t->stage, false);
	int rc = 0;
	for (int i = 0; i < NSTAGE && rc == 0; i++)
		rc = print_stage(t, e, i, true);
	return rc;
}

static void tool_free(tool *t)
{
	aj_prog_free(t->p);
	for (int i = 0; i < t->nleaf; i++) {
		aj_array_free(t->leaf[i].array);
		free(t->leaf[i].name);
	}
	aj_ctx_free(t->ctx);
	free(t->leaf);
	free(t->dtype_specs);
	free(t->shape_specs);
}

int main(int argc, char **argv)
{
	tool t = {.isa = AJ_ISA_HOST};
	aj_expr e;
	int rc = parse_command_line(&t, argc, argv);
	if (rc == 0)
		rc = find_names(&t);
	if (rc == 0)
		rc = apply_specs(&t);
	if (rc == 0)
		rc = setup_library(&t);
	if (rc == 0)
		rc = parse_expr(&t, &e);
	if (rc == 0)
		rc = dump(&t, e);
	if (rc == -1) {
		fputs(usage, stdout);
		rc = 0;
	}
	tool_free(&t);
	if (fflush(stdout) != 0 && rc == 0)
		rc = EXIT_DUMP;
	return rc;
}
