/*
 * arrjit-dump: prints a compiler stage (DAG, fused kernels, LLVM IR before
 * and after optimisation, assembly, cache key) for one expression or
 * program, the way QBE's -d flags show a pass.
 *
 * An expression: every identifier that is not called and is not
 * True/False becomes a zero-filled array: float64 of shape (1024,) unless
 * --dtype or --shape says otherwise, and the stage is that of the
 * expression assigned to a fresh output.
 *
 * A program (the text has a ';' or an assignment outside brackets; see
 * is_program) runs through aj_exec, and the stage is that of all the
 * pending assignments it leaves, which the library fuses into groups:
 *   inputs         names read before any assignment: arrays as above;
 *                  assignments into them (a += 1) are pending already
 *   results        other names that no later statement reads, and the
 *                  value of the last expression statement: each gets a
 *                  fresh array of its shape and dtype, assigned in
 *                  statement order after the program's own assignments
 *   intermediates  the rest (t in 't = a*b; c = t + 1'): left lazy
 * Nothing is run.
 *
 * Exit status: 0 on success, 1 if the library fails to produce a dump,
 * 2 for a bad command line, expression or program (the message is on
 * stderr).
 */
/* strndup, strtok_r: the build is strict C11. */
#define _POSIX_C_SOURCE 200809L

#include "arrjit.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LEN 1024

enum { EXIT_DUMP = 1, EXIT_USAGE = 2 };

static const char usage[] =
    "usage: arrjit-dump [options] [--] EXPR|PROGRAM\n"
    "\n"
    "Prints what arrjit makes of EXPR. Every name in EXPR that is not a\n"
    "function becomes a float64 array of shape 1024 unless told otherwise.\n"
    "\n"
    "Text with a ';' or an assignment is a PROGRAM, statements separated\n"
    "by ';' or newlines: name = expr, name op= expr, name[1:, ::-1] = expr,\n"
    "expr. Names read before they are assigned are arrays as above; names\n"
    "assigned and not read by a later statement, and the last expression\n"
    "statement, are results, each assigned to a new array; names read\n"
    "later stay lazy. Then the stage is that of all the pending\n"
    "assignments, which 'fused' shows in groups (one loop nest each).\n"
    "\n"
    "  --dtype NAME=TYPE,...   dtype of named arrays (a program's inputs):\n"
    "                          bool, int32, int64, float32, float64\n"
    "  --shape NAME=AxBxC,...  shape of named arrays; '' or 'scalar' is 0-d\n"
    "  --isa ISA               host (default), scalar, avx2, avx512\n"
    "  --nt-bytes N            kernels whose operands span N bytes or more\n"
    "                          store non-temporally (aj_ctx_set_nt_bytes;\n"
    "                          default: the last-level cache)\n"
    "  --stage STAGE           dag, fused, ir, opt, asm, key, or all\n"
    "                          (default: all, each under '== STAGE ==')\n"
    "  --help                  this text\n"
    "\n"
    "examples: arrjit-dump --isa avx2 --stage opt --shape s=scalar "
    "'exp(a)*s + b'\n"
    "          arrjit-dump --stage fused 't = a*b; c = t + 1; d = t*2'\n"
    "\n"
    "Exit status: 0 ok, 1 the library failed, 2 bad options, expression\n"
    "or program.\n";

static const struct {
	const char *name;
	aj_stage stage;
} stages[] = {
    {"dag", AJ_STAGE_DAG}, {"fused", AJ_STAGE_FUSED}, {"ir", AJ_STAGE_IR},
    {"opt", AJ_STAGE_OPT}, {"asm", AJ_STAGE_ASM},     {"key", AJ_STAGE_KEY},
};
#define NSTAGE	   ((int)(sizeof stages / sizeof stages[0]))
#define ALL_STAGES NSTAGE


/* An array the expression names; in a program, any name it uses. */
typedef struct leaf {
	char *name;
	aj_dtype dtype;
	int ndim;
	int64_t shape[AJ_MAX_NDIM];
	aj_array *array; /* NULL until created; a program's result's too */
	/* for programs; an expression's names are all inputs */
	bool input;    /* read before any assignment: an array made here */
	int last_set;  /* last statement binding it (not an input), or -1 */
	int last_read; /* last statement reading it, or -1 */
} leaf;

typedef struct tool {
	/* from the command line */
	const char *expr;
	const char **dtype_specs, **shape_specs; /* each "NAME=...,NAME=..." */
	int ndtype_spec, nshape_spec;
	aj_isa isa;
	long long nt_bytes; /* 0: the library's default */
	int stage; /* index into stages[], or ALL_STAGES */
	/* built from them */
	bool program; /* expr is a program (is_program) */
	leaf *leaf;
	int nleaf;
	int nstmt;	/* programs: statements, blank ones included */
	int last_expr;	/* programs: the last expression statement, or -1 */
	aj_array *last; /* the array its value is assigned to, or NULL */
	aj_ctx *ctx;
	aj_prog *p;
	aj_names *ns; /* programs only */
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
	} else if ((v = cli_option(argc, argv, i, "--nt-bytes", &missing))) {
		char *end;
		t->nt_bytes = strtoll(v, &end, 10);
		if (*end || t->nt_bytes <= 0)
			return fail_usage("--nt-bytes wants a positive number, not '%s'", v);
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

/* The leaf named [s, s+len), added as an input if new (*out may be
 * NULL). */
static int add_leaf(tool *t, const char *s, size_t len, leaf **out)
{
	leaf *l = find_leaf(t, s, len);
	if (out)
		*out = l;
	if (l)
		return 0;
	l = &t->leaf[t->nleaf];
	if (!(l->name = strndup(s, len)))
		return fail_usage("%s", "out of memory");
	t->nleaf++;
	l->dtype = AJ_FLOAT64;
	l->ndim = 1;
	l->shape[0] = DEFAULT_LEN;
	l->input = true;
	l->last_set = l->last_read = -1;
	if (out)
		*out = l;
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
		int rc = names_array(s, len) ? add_leaf(t, s, len, NULL) : 0;
		if (rc != 0)
			return rc;
		s += len;
	}
	return 0;
}

/* ---- statements of a program ---- */

/* Blanks inside a statement: a newline is one only inside brackets, and
 * statement_end has already stopped at any other. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && is_blank(*s))
		s++;
	return s;
}

/* The end of the statement at s: the ';' or newline outside brackets
 * after it, or the end of the text (brackets counted as aj_exec's lexer
 * counts them). */
static const char *statement_end(const char *s)
{
	int depth = 0;
	for (; *s; s++) {
		if (*s == '(' || *s == '[')
			depth++;
		else if ((*s == ')' || *s == ']') && depth > 0)
			depth--;
		else if (depth == 0 && (*s == ';' || *s == '\n'))
			break;
	}
	return s;
}

/* The length of the assignment operator (= or op=) at s, or 0. */
static size_t assign_op(const char *s)
{
	static const char *const ops[] = {
	    "**=", "//=", "<<=", ">>=", "+=", "-=",
	    "*=",  "/=",  "%=",	 "&=",	"|=", "^=",
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strncmp(s, ops[i], strlen(ops[i])) == 0)
			return strlen(ops[i]);
	return s[0] == '=' && s[1] != '=' ? 1 : 0;
}

/* Whether [s, end) has an assignment operator outside brackets (one
 * inside is a keyword argument, flip(a, axis=1)). */
static bool has_assignment(const char *s, const char *end)
{
	int depth = 0;
	while (s < end) {
		if (*s == '(' || *s == '[')
			depth++;
		else if ((*s == ')' || *s == ']') && depth > 0)
			depth--;
		else if (depth == 0 && assign_op(s) > 0)
			return true;
		/* a comparison's '=' is not an assignment */
		bool compare = (s[0] == '=' || s[0] == '!' || s[0] == '<' ||
				s[0] == '>') &&
			       s[1] == '=';
		s += compare ? 2 : 1;
	}
	return false;
}

/*
 * Whether text is a program rather than one expression: it has a ';'
 * outside brackets or an assignment. A newline alone does not make one,
 * so an expression may still span lines as it always could.
 */
static bool is_program(const char *text)
{
	for (const char *s = text;;) {
		const char *end = statement_end(s);
		if (*end == ';' || has_assignment(s, end))
			return true;
		if (*end == '\0')
			return false;
		s = end + 1;
	}
}

/* A statement [start, end) and, if it assigns, its target, read the way
 * aj_exec reads one: name, subscript?, then = or op=. */
typedef struct stmt {
	const char *start, *end;
	const char *name; /* the target's name; NULL: not an assignment */
	size_t len;
	bool rebinds;	 /* plain '=' into a bare name */
	const char *rhs; /* what the statement reads from: after the name */
} stmt;

/* After the ']' that closes the '[' at s, or NULL. */
static const char *skip_subscript(const char *s, const char *end)
{
	int depth = 0;
	for (; s < end; s++) {
		if (*s == '(' || *s == '[')
			depth++;
		else if ((*s == ')' || *s == ']') && --depth == 0)
			return s + 1;
	}
	return NULL;
}

static void scan_target(stmt *st)
{
	const char *s = skip_blanks(st->start, st->end), *after;
	size_t len = 0, op;
	st->name = NULL;
	st->rhs = st->start;
	if (s == st->end || !is_ident_start(*s))
		return;
	while (is_ident(s[len]))
		len++;
	after = skip_blanks(s + len, st->end);
	bool subscripted = after < st->end && *after == '[';
	if (subscripted && !(after = skip_subscript(after, st->end)))
		return;
	after = skip_blanks(after, st->end);
	if (after == st->end || (op = assign_op(after)) == 0)
		return;
	st->name = s;
	st->len = len;
	st->rebinds = !subscripted && op == 1;
	st->rhs = s + len;
}

static bool is_word(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/*
 * The next name in [*s, end) that the statement reads: not a number's
 * letters, a function, True/False/None, an attribute (a.T) or a keyword
 * argument (axis=1). NULL if none; *s moves past what was looked at.
 */
static const char *next_read(const char **s, const char *end, size_t *len)
{
	char prev = '\0'; /* the last character that is not a blank */
	for (const char *p = *s; p < end;) {
		if ((*p >= '0' && *p <= '9') ||
		    (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
			p = skip_number(p);
			prev = '0';
			continue;
		}
		if (!is_ident_start(*p)) {
			prev = is_blank(*p) ? prev : *p;
			p++;
			continue;
		}
		const char *name = p;
		while (is_ident(*p))
			p++;
		const char *next = skip_blanks(p, end);
		bool called = next < end && *next == '(';
		bool keyword_arg = next < end && assign_op(next) == 1;
		if (prev != '.' && !called && !keyword_arg &&
		    !is_word(name, (size_t)(p - name), "True") &&
		    !is_word(name, (size_t)(p - name), "False") &&
		    !is_word(name, (size_t)(p - name), "None")) {
			*s = p;
			*len = (size_t)(p - name);
			return name;
		}
		prev = 'a';
	}
	*s = end;
	return NULL;
}

/* Notes what statement k reads: a name not seen before is an input. */
static int note_reads(tool *t, const stmt *st, int k)
{
	const char *s = st->rhs, *name;
	size_t len;
	while ((name = next_read(&s, st->end, &len)) != NULL) {
		leaf *l;
		int rc = add_leaf(t, name, len, &l);
		if (rc != 0)
			return rc;
		l->last_read = k;
	}
	return 0;
}

/* Notes statement k's target. Only '=' into a bare name binds a new
 * name; op= and a subscript read it first, so a new name is an input. An
 * input stays one: assignments into it are pending assignments. */
static int note_target(tool *t, const stmt *st, int k)
{
	leaf *l = find_leaf(t, st->name, st->len);
	int rc = 0;
	if (!l && !st->rebinds)
		return add_leaf(t, st->name, st->len, NULL);
	if (!l && (rc = add_leaf(t, st->name, st->len, &l)) == 0)
		l->input = false;
	if (rc == 0 && !l->input) {
		if (!st->rebinds)
			l->last_read = k;
		l->last_set = k;
	}
	return rc;
}

/* Finds a program's names and what each is (see the top of the file). */
static int find_program_names(tool *t)
{
	t->leaf = calloc(strlen(t->expr) / 2 + 1, sizeof *t->leaf);
	if (!t->leaf)
		return fail_usage("%s", "out of memory");
	t->last_expr = -1;
	for (const char *s = t->expr;; t->nstmt++) {
		stmt st = {.start = s, .end = statement_end(s)};
		scan_target(&st);
		int rc = note_reads(t, &st, t->nstmt);
		if (rc == 0 && st.name)
			rc = note_target(t, &st, t->nstmt);
		else if (skip_blanks(st.start, st.end) != st.end)
			t->last_expr = t->nstmt;
		if (rc != 0)
			return rc;
		if (*st.end == '\0')
			break;
		s = st.end + 1;
	}
	t->nstmt++;
	return 0;
}

/* Whether l is a result: bound by the program and not read after. A read
 * in the statement that binds it comes first (c = c * 2). */
static bool is_result(const leaf *l)
{
	return !l->input && l->last_set >= 0 && l->last_read <= l->last_set;
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
	if (!l || !l->input)
		return fail_usage(t->program
				      ? "'%s' is not an input of the program "
					"(a name read before it is assigned)"
				      : "'%s' is not an array name in the "
					"expression",
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
	aj_ctx_set_nt_bytes(t->ctx, (int64_t)t->nt_bytes);
	if (aj_prog_new(t->ctx, &t->p) != AJ_OK)
		return fail_ctx(t->ctx, "cannot create a program", EXIT_DUMP);
	for (int i = 0; i < t->nleaf; i++) {
		leaf *l = &t->leaf[i];
		if (l->input && aj_array_new(t->ctx, l->dtype, l->ndim,
					     l->shape, &l->array) != AJ_OK)
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

/* Shows the program line a "line L, column C: ..." message names with a
 * caret under the column, then the message. */
static void print_program_error(const char *program, const char *msg)
{
	int line, col;
	const char *s = program;
	fprintf(stderr, "arrjit-dump: bad program\n");
	if (sscanf(msg, "line %d, column %d", &line, &col) == 2) {
		for (int l = 1; s && l < line; l++)
			if ((s = strchr(s, '\n')) != NULL)
				s++;
	} else {
		s = NULL;
	}
	if (s && col >= 1) {
		int len = (int)strcspn(s, "\n");
		fprintf(stderr, "  %.*s\n  ", len, s);
		for (int k = 0; k < col - 1 && k < len; k++)
			fputc(s[k] == '\t' ? '\t' : ' ', stderr);
		fputs("^\n", stderr);
	}
	fprintf(stderr, "%s\n", msg);
}

/* Whether a failed aj_exec is the program's fault rather than the
 * machine's. */
static bool program_error(aj_status s)
{
	return s != AJ_ERR_NOMEM && s != AJ_ERR_JIT && s != AJ_ERR_IO;
}

/* Assigns e (what names the result) to a new array *out of its shape and
 * dtype, as arrjit-eval does for an output bound to an expression. */
static int assign_result(tool *t, const char *what, aj_expr e, aj_array **out)
{
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(t->p, e, shape);
	if (nd < 0) {
		fprintf(stderr, "arrjit-dump: %s: not a valid expression\n",
			what);
		return EXIT_DUMP;
	}
	if (aj_array_new(t->ctx, aj_expr_dtype(t->p, e), nd, shape, out) !=
	    AJ_OK)
		return fail_ctx(t->ctx, what, EXIT_DUMP);
	if (aj_assign(t->p, *out, e) != AJ_OK) {
		fprintf(stderr, "arrjit-dump: %s: %s\n", what,
			aj_prog_errmsg(t->p));
		return EXIT_DUMP;
	}
	return 0;
}

/* Assigns the results bound by statement k (or its value, if it is the
 * last expression statement) to new arrays. */
static int assign_results(tool *t, int k, aj_expr last)
{
	if (k == t->last_expr && last.id != AJ_EXPR_NONE.id)
		return assign_result(t, "the last expression", last, &t->last);
	for (int i = 0; i < t->nleaf; i++) {
		leaf *l = &t->leaf[i];
		aj_array *bound;
		aj_expr e;
		if (!is_result(l) || l->last_set != k)
			continue;
		if (aj_names_get(t->ns, l->name, &bound, &e) != AJ_OK) {
			fprintf(stderr, "arrjit-dump: %s: %s\n", l->name,
				aj_prog_errmsg(t->p));
			return EXIT_DUMP;
		}
		return bound ? 0 : assign_result(t, l->name, e, &l->array);
	}
	return 0;
}

/* Runs the program over the inputs, then assigns its results, in
 * statement order, after the assignments it left pending. */
static int run_program(tool *t)
{
	aj_expr last;
	if (aj_names_new(t->p, &t->ns) != AJ_OK)
		return fail_ctx(t->ctx, "cannot create a namespace", EXIT_DUMP);
	for (int i = 0; i < t->nleaf; i++)
		if (t->leaf[i].input &&
		    aj_names_set_array(t->ns, t->leaf[i].name,
				       t->leaf[i].array) != AJ_OK) {
			fprintf(stderr, "arrjit-dump: %s: %s\n",
				t->leaf[i].name, aj_prog_errmsg(t->p));
			return EXIT_DUMP;
		}
	aj_status s = aj_exec(t->ns, t->expr, &last);
	if (s != AJ_OK) {
		print_program_error(t->expr, aj_prog_errmsg(t->p));
		return program_error(s) ? EXIT_USAGE : EXIT_DUMP;
	}
	int rc = 0;
	for (int k = 0; k < t->nstmt && rc == 0; k++)
		rc = assign_results(t, k, last);
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
	aj_names_free(t->ns);
	aj_prog_free(t->p);
	for (int i = 0; i < t->nleaf; i++) {
		aj_array_free(t->leaf[i].array);
		free(t->leaf[i].name);
	}
	aj_array_free(t->last);
	aj_ctx_free(t->ctx);
	free(t->leaf);
	free(t->dtype_specs);
	free(t->shape_specs);
}

int main(int argc, char **argv)
{
	tool t = {.isa = AJ_ISA_HOST};
	aj_expr e = AJ_EXPR_NONE; /* a program's: its pending assignments */
	int rc = parse_command_line(&t, argc, argv);
	if (rc == 0 && (t.program = is_program(t.expr)))
		rc = find_program_names(&t);
	else if (rc == 0)
		rc = find_names(&t);
	if (rc == 0)
		rc = apply_specs(&t);
	if (rc == 0)
		rc = setup_library(&t);
	if (rc == 0)
		rc = t.program ? run_program(&t) : parse_expr(&t, &e);
	if (rc == 0)
		rc = dump(&t, e);
	if (rc == -1) {
		fputs(usage, stdout);
		rc = 0;
	}
	tool_free(&t);
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
		fprintf(stderr, "arrjit-dump: cannot write the output: %s\n",
			strerror(errno));
		rc = EXIT_DUMP;
	}
	return rc;
}
