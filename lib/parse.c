/*
 * Expression text to expression nodes: a recursive-descent parser over
 * numexpr-like text with Python's precedence. It builds nodes only through
 * the public builders, so the type and shape rules live in one place.
 *
 * Invariants:
 * - Every parse function returns AJ_EXPR_NONE exactly when an error has been
 *   recorded in the program; callers stop at the first one.
 * - Operators of one precedence level are folded in a loop, so a flat chain
 *   of any length uses constant stack. Apart from the fixed descent through
 *   the levels, recursion happens only through parse_nested(), which bounds
 *   it.
 * - Every message starts with "column N: ", N the 1-based byte column.
 * - Nothing is allocated here beyond what the builders allocate.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting (parentheses, prefix operators, exponents) is an error, so
 * hostile text cannot exhaust the C stack. */
#define MAX_DEPTH 256

/* Enough room for the arguments of any op in the table. */
#define MAX_CALL_ARGS 3
#define X(id, name, nin, kind, rule, sleef, ulp)                               \
	_Static_assert(nin <= MAX_CALL_ARGS, "raise MAX_CALL_ARGS for " name);
AJ_OP_TABLE(X)
#undef X

/*
 * Binding levels of infix operators, loosest first, as in Python. The levels
 * from LV_LEFT_FIRST to LV_LEFT_LAST are left-associative and parsed by one
 * loop; a new operator of that kind is a new row in opers[] and, if needed,
 * a new level here.
 * Levels looser than comparison (not, and, or) get their own function above
 * parse_comparison().
 */
enum level {
	LV_NONE,  /* not an infix operator */
	LV_CMP,	  /* == != < <= > >=: non-associative */
	LV_OR,	  /* | (logical or on bools) */
	LV_XOR,	  /* ^ */
	LV_AND,	  /* & (logical and on bools) */
	LV_SHIFT, /* << >> */
	LV_SUM,	  /* + - */
	LV_TERM,  /* * / // % */
	LV_POWER, /* **: right-associative, see parse_power() */
	LV_LEFT_FIRST = LV_OR,
	LV_LEFT_LAST = LV_TERM,
};

/* Marks an operator spelling with no prefix form, and unary plus. */
#define NO_PREFIX AJ_NOP
#define IDENTITY  (AJ_NOP + 1)

/*
 * Every operator and delimiter spelling. infix is the op of the infix form
 * at level; prefix the op of the prefix form (NO_PREFIX, IDENTITY or an
 * aj_op). The lexer takes the longest spelling that matches.
 */
static const struct oper {
	const char *tok;
	enum level level;
	aj_op infix;
	int prefix;
} opers[] = {
    {"==", LV_CMP, AJ_OP_EQ, NO_PREFIX},
    {"!=", LV_CMP, AJ_OP_NE, NO_PREFIX},
    {"<", LV_CMP, AJ_OP_LT, NO_PREFIX},
    {"<=", LV_CMP, AJ_OP_LE, NO_PREFIX},
    {">", LV_CMP, AJ_OP_GT, NO_PREFIX},
    {">=", LV_CMP, AJ_OP_GE, NO_PREFIX},
    {"+", LV_SUM, AJ_OP_ADD, IDENTITY},
    {"-", LV_SUM, AJ_OP_SUB, AJ_OP_NEG},
    {"|", LV_OR, AJ_OP_BITOR, NO_PREFIX},
    {"^", LV_XOR, AJ_OP_BITXOR, NO_PREFIX},
    {"&", LV_AND, AJ_OP_BITAND, NO_PREFIX},
    {"<<", LV_SHIFT, AJ_OP_LSHIFT, NO_PREFIX},
    {">>", LV_SHIFT, AJ_OP_RSHIFT, NO_PREFIX},
    {"*", LV_TERM, AJ_OP_MUL, NO_PREFIX},
    {"/", LV_TERM, AJ_OP_DIV, NO_PREFIX},
    {"//", LV_TERM, AJ_OP_FLOORDIV, NO_PREFIX},
    {"%", LV_TERM, AJ_OP_REM, NO_PREFIX},
    {"~", LV_NONE, AJ_NOP, AJ_OP_INVERT},
    {"**", LV_POWER, AJ_OP_POW, NO_PREFIX},
    {"(", LV_NONE, AJ_NOP, NO_PREFIX},
    {")", LV_NONE, AJ_NOP, NO_PREFIX},
    {",", LV_NONE, AJ_NOP, NO_PREFIX},
    {"=", LV_NONE, AJ_NOP, NO_PREFIX},
};

/* numexpr's spellings of ops whose NumPy name differs. */
static const struct alias {
	const char *name;
	aj_op op;
} aliases[] = {
    {"abs", AJ_OP_ABS},
    {"pow", AJ_OP_POW},
    {"divide", AJ_OP_DIV},
    {"mod", AJ_OP_REM},
    {"round", AJ_OP_RINT},
};

enum tkind {
	TK_END,	  /* end of text */
	TK_INT,	  /* integer literal: ival */
	TK_FLOAT, /* float literal: fval */
	TK_NAME,  /* identifier, True, False */
	TK_OPER,  /* operator or delimiter: oper */
	TK_BAD, /* a lexical error: bad; reported when the parser reaches it */
};

typedef struct token {
	enum tkind kind;
	const char *start; /* into the text */
	size_t len;	   /* bytes */
	union {
		int64_t ival;		 /* for TK_INT */
		double fval;		 /* for TK_FLOAT */
		const struct oper *oper; /* for TK_OPER */
		const char *bad;	 /* for TK_BAD: what is wrong */
	} u;
} token;

typedef struct parser {
	aj_prog *p;
	const char *text;
	const char *pos; /* first byte after tok */
	token tok;	 /* the current, not yet consumed, token */
	int depth;	 /* nesting of parse_nested() calls */
	int nname;
	const char *const *names;
	const aj_expr *values;
} parser;

static aj_expr parse_expr(parser *ps);
static aj_expr parse_unary(parser *ps);
static aj_expr parse_left(parser *ps, enum level lv);

/* ---- errors ---- */

static int column(const parser *ps, const char *at)
{
	return (int)(at - ps->text) + 1;
}

static aj_expr fail(parser *ps, aj_status s, const char *at, const char *what)
{
	aj_prog_error(ps->p, s, "column %d: %s", column(ps, at), what);
	return AJ_EXPR_NONE;
}

/* Records what is wrong with a TK_BAD token. */
static aj_expr report_bad(parser *ps)
{
	const token *t = &ps->tok;
	unsigned char c = (unsigned char)*t->start;
	if (t->len == 1 && (c < ' ' || c > '~'))
		aj_prog_error(ps->p, AJ_ERR_PARSE, "column %d: %s 0x%02x",
			      column(ps, t->start), t->u.bad, c);
	else
		aj_prog_error(ps->p, AJ_ERR_PARSE, "column %d: %s '%.*s'",
			      column(ps, t->start), t->u.bad,
			      (int)(t->len > 40 ? 40 : t->len), t->start);
	return AJ_EXPR_NONE;
}

/* Records "expected WHAT, found <tok>", or the lexer's complaint about the
 * token. */
static aj_expr expected(parser *ps, const char *what)
{
	const token *t = &ps->tok;
	if (t->kind == TK_BAD)
		return report_bad(ps);
	if (t->kind == TK_END)
		aj_prog_error(ps->p, AJ_ERR_PARSE,
			      "column %d: expected %s, found end of expression",
			      column(ps, t->start), what);
	else
		aj_prog_error(ps->p, AJ_ERR_PARSE,
			      "column %d: expected %s, found '%.*s'",
			      column(ps, t->start), what,
			      (int)(t->len > 40 ? 40 : t->len), t->start);
	return AJ_EXPR_NONE;
}

/* Takes the error a builder recorded, copying its message to msg (the
 * program's buffer is about to be rewritten). */
static aj_status take_builder_error(parser *ps, char msg[AJ_ERRMSG_MAX])
{
	aj_status s = aj_prog_take_error(ps->p);
	if (s == AJ_OK) {
		fprintf(stderr, "%s:%d: a builder failed without an error\n",
			__FILE__, __LINE__);
		abort();
	}
	snprintf(msg, AJ_ERRMSG_MAX, "%s", aj_prog_errmsg(ps->p));
	return s;
}

/* Passes e through; if a builder failed, re-records its error with the
 * column of the construct that called it. */
static aj_expr built(parser *ps, aj_expr e, const char *at)
{
	if (e.id != AJ_EXPR_NONE.id)
		return e;
	char msg[AJ_ERRMSG_MAX];
	aj_status s = take_builder_error(ps, msg);
	aj_prog_error(ps->p, s, "column %d: %s", column(ps, at), msg);
	return AJ_EXPR_NONE;
}

/* ---- lexer ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident(char c)
{
	return is_ident_start(c) || is_digit(c);
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

static const char *skip_digits(const char *s)
{
	while (is_digit(*s))
		s++;
	return s;
}

/* The longest operator spelling at s, or NULL. */
static const struct oper *match_oper(const char *s)
{
	const struct oper *best = NULL;
	size_t bestlen = 0;
	for (size_t i = 0; i < sizeof opers / sizeof opers[0]; i++) {
		size_t n = strlen(opers[i].tok);
		if (n > bestlen && strncmp(s, opers[i].tok, n) == 0) {
			best = &opers[i];
			bestlen = n;
		}
	}
	return best;
}

/* Decimal digits of [s, end) as an int64; false on overflow. */
static bool int_value(const char *s, const char *end, int64_t *v)
{
	int64_t r = 0;
	for (; s < end; s++)
		if (!aj_mul_ok(r, 10, &r) || !aj_add_ok(r, *s - '0', &r))
			return false;
	*v = r;
	return true;
}

static void lex_bad(parser *ps, const char *what)
{
	ps->tok.kind = TK_BAD;
	ps->tok.u.bad = what;
}

/*
 * number := digits ('.' digits?)? exp? | '.' digits exp?
 * exp    := ('e'|'E') ('+'|'-')? digits
 * The extent is found here so that "1e" is an error rather than 1 followed by
 * a name; strtod only converts it. A letter, digit or '.' right after a
 * number makes the whole run invalid ("1.2.3", "2x").
 */
static void lex_number(parser *ps)
{
	token *t = &ps->tok;
	const char *s = skip_digits(t->start);
	bool isfloat = false;
	if (*s == '.') {
		s = skip_digits(s + 1);
		isfloat = true;
	}
	if (*s == 'e' || *s == 'E') {
		const char *d = s + 1 + (s[1] == '+' || s[1] == '-');
		if (!is_digit(*d)) {
			t->len = (size_t)(skip_digits(d) - t->start);
			while (is_ident(t->start[t->len]))
				t->len++;
			lex_bad(ps, "exponent has no digits in number");
			return;
		}
		s = skip_digits(d);
		isfloat = true;
	}
	t->len = (size_t)(s - t->start);
	if (is_ident(*s) || *s == '.') {
		while (is_ident(t->start[t->len]) || t->start[t->len] == '.')
			t->len++;
		lex_bad(ps, "invalid number");
		return;
	}
	if (!isfloat) {
		t->kind = TK_INT;
		if (!int_value(t->start, s, &t->u.ival))
			lex_bad(ps, "integer literal does not fit in int64:");
		return;
	}
	char *end;
	t->kind = TK_FLOAT;
	t->u.fval = strtod(t->start, &end);
	/* strtod reads the locale's decimal point; a mismatch shows here. */
	if (end != s)
		lex_bad(ps, "cannot convert number (is LC_NUMERIC 'C'?)");
}

/* Reads the token at ps->pos into ps->tok. */
static void advance(parser *ps)
{
	token *t = &ps->tok;
	const char *s = skip_space(ps->pos);
	t->start = s;
	t->len = 0;
	if (*s == '\0') {
		t->kind = TK_END;
	} else if (is_digit(*s) || (*s == '.' && is_digit(s[1]))) {
		lex_number(ps);
	} else if (is_ident_start(*s)) {
		while (is_ident(s[t->len]))
			t->len++;
		t->kind = TK_NAME;
	} else if ((t->u.oper = match_oper(s)) != NULL) {
		t->len = strlen(t->u.oper->tok);
		t->kind = TK_OPER;
	} else {
		t->len = 1;
		lex_bad(ps, "unexpected character");
	}
	ps->pos = t->start + t->len;
}

static bool tok_is(const parser *ps, const char *spelling)
{
	return ps->tok.kind == TK_OPER &&
	       strcmp(ps->tok.u.oper->tok, spelling) == 0;
}

static bool tok_word(const parser *ps, const char *word)
{
	return ps->tok.kind == TK_NAME && strlen(word) == ps->tok.len &&
	       memcmp(ps->tok.start, word, ps->tok.len) == 0;
}

/* The infix operator of level lv at the current token, or NULL. */
static const struct oper *infix_at(const parser *ps, enum level lv)
{
	if (ps->tok.kind != TK_OPER || ps->tok.u.oper->level != lv)
		return NULL;
	return ps->tok.u.oper;
}

/* ---- grammar ---- */

/* Runs fn one nesting level deeper, failing past MAX_DEPTH. */
static aj_expr parse_nested(parser *ps, aj_expr (*fn)(parser *))
{
	if (ps->depth >= MAX_DEPTH) {
		aj_prog_error(ps->p, AJ_ERR_PARSE,
			      "column %d: expression nested too deeply "
			      "(limit %d levels)",
			      column(ps, ps->tok.start), MAX_DEPTH);
		return AJ_EXPR_NONE;
	}
	ps->depth++;
	aj_expr e = fn(ps);
	ps->depth--;
	return e;
}

static aj_expr apply2(parser *ps, aj_op op, aj_expr x, aj_expr y,
		      const char *at)
{
	aj_expr args[2] = {x, y};
	return built(ps, aj_apply(ps->p, op, 2, args), at);
}

/* The op a function name calls: an alias, or an op table name that is not a
 * leaf or cast; -1 if none. */
static int function_op(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strlen(aliases[i].name) == len &&
		    memcmp(aliases[i].name, name, len) == 0)
			return (int)aliases[i].op;
	for (int op = 0; op < AJ_NOP; op++) {
		if (aj_ops[op].kind == AJ_KIND_LEAF ||
		    aj_ops[op].kind == AJ_KIND_CAST)
			continue;
		if (strlen(aj_ops[op].name) == len &&
		    memcmp(aj_ops[op].name, name, len) == 0)
			return op;
	}
	return -1;
}

/*
 * args := '(' (expr (',' expr)*)? ')'
 * The current token is '('. Stores at most MAX_CALL_ARGS arguments but
 * counts them all, so the arity message can say how many were given.
 */
static bool parse_args(parser *ps, aj_expr *args, int *nargs)
{
	const char *open = ps->tok.start;
	advance(ps);
	*nargs = 0;
	if (tok_is(ps, ")")) {
		advance(ps);
		return true;
	}
	for (;;) {
		aj_expr e = parse_nested(ps, parse_expr);
		if (e.id == AJ_EXPR_NONE.id)
			return false;
		if (*nargs < MAX_CALL_ARGS)
			args[*nargs] = e;
		(*nargs)++;
		if (tok_is(ps, ")"))
			break;
		if (!tok_is(ps, ",")) {
			char what[64];
			snprintf(what, sizeof what,
				 "',' or ')' to close '(' at column %d",
				 column(ps, open));
			expected(ps, what);
			return false;
		}
		advance(ps);
	}
	advance(ps);
	return true;
}

static aj_expr arity_error(parser *ps, const token *fn, int nin, int nargs)
{
	aj_prog_error(ps->p, AJ_ERR_PARSE,
		      "column %d: %.*s() takes %d argument%s, got %d",
		      column(ps, fn->start), (int)fn->len, fn->start, nin,
		      nin == 1 ? "" : "s", nargs);
	return AJ_EXPR_NONE;
}

/*
 * call := name args
 * name is an op (see function_op) or a dtype, which casts its one argument.
 * The current token is the name.
 */
/* An int literal, optionally negative, into *v. */
static bool parse_int(parser *ps, int *v)
{
	bool neg = tok_is(ps, "-");
	if (neg)
		advance(ps);
	if (ps->tok.kind != TK_INT || ps->tok.u.ival > AJ_MAX_NDIM) {
		expected(ps, "an axis number");
		return false;
	}
	*v = (int)(neg ? -ps->tok.u.ival : ps->tok.u.ival);
	advance(ps);
	return true;
}

/* axis = INT | (INT, ...) | None, after the '='. */
static bool parse_axes(parser *ps, int *axes, int *naxis)
{
	*naxis = 0;
	if (tok_word(ps, "None")) {
		advance(ps);
		return true;
	}
	if (!tok_is(ps, "("))
		return (*naxis = 1, parse_int(ps, axes));
	advance(ps);
	while (!tok_is(ps, ")")) {
		if (*naxis == AJ_MAX_NDIM || !parse_int(ps, &axes[(*naxis)++]))
			return *naxis == AJ_MAX_NDIM ? (expected(ps, "')'"), false) : false;
		if (!tok_is(ps, ")") && !tok_is(ps, ","))
			return expected(ps, "',' or ')' in the axis tuple"), false;
		if (tok_is(ps, ","))
			advance(ps);
	}
	advance(ps);
	return true;
}

/* One keyword (axis= or keepdims=) or a positional axis of a reduction. */
static bool parse_reduce_option(parser *ps, int *axes, int *naxis, bool *keep,
				bool *have_axis)
{
	if (tok_word(ps, "keepdims") || tok_word(ps, "axis")) {
		bool axis = tok_word(ps, "axis");
		advance(ps);
		if (!tok_is(ps, "="))
			return expected(ps, "'='"), false;
		advance(ps);
		if (axis)
			return *have_axis = true, parse_axes(ps, axes, naxis);
		if (!tok_word(ps, "True") && !tok_word(ps, "False"))
			return expected(ps, "True or False"), false;
		*keep = tok_word(ps, "True");
		advance(ps);
		return true;
	}
	if (*have_axis)
		return expected(ps, "axis= or keepdims="), false;
	return *have_axis = true, parse_axes(ps, axes, naxis);
}

/* sum(x), sum(x, 1), sum(x, axis=(0, 2), keepdims=True), ... */
static aj_expr parse_reduce_call(parser *ps, aj_op op, const token *fn)
{
	const char *open = ps->tok.start;
	advance(ps);
	aj_expr x = parse_nested(ps, parse_expr);
	if (x.id == AJ_EXPR_NONE.id)
		return x;
	int axes[AJ_MAX_NDIM], naxis = 0;
	bool keep = false, have_axis = false;
	while (tok_is(ps, ",")) {
		advance(ps);
		if (!parse_reduce_option(ps, axes, &naxis, &keep, &have_axis))
			return AJ_EXPR_NONE;
	}
	if (!tok_is(ps, ")")) {
		char what[64];
		snprintf(what, sizeof what, "')' to close '(' at column %d",
			 column(ps, open));
		return expected(ps, what);
	}
	advance(ps);
	return built(ps, aj_reduce(ps->p, op, x, naxis, axes, keep), fn->start);
}

static aj_expr parse_call(parser *ps)
{
	token fn = ps->tok;
	int op = function_op(fn.start, fn.len);
	int dtype = op < 0 ? aj_dtype_from_name(fn.start, fn.len) : -1;
	if (op < 0 && dtype < 0) {
		aj_prog_error(ps->p, AJ_ERR_NAME,
			      "column %d: unknown function '%.*s'",
			      column(ps, fn.start), (int)fn.len, fn.start);
		return AJ_EXPR_NONE;
	}
	advance(ps);
	if (op >= 0 && aj_ops[op].kind == AJ_KIND_REDUCE)
		return parse_reduce_call(ps, (aj_op)op, &fn);
	aj_expr args[MAX_CALL_ARGS];
	int nargs;
	if (!parse_args(ps, args, &nargs))
		return AJ_EXPR_NONE;
	int nin = op >= 0 ? aj_ops[op].nin : 1;
	if (nargs != nin)
		return arity_error(ps, &fn, nin, nargs);
	if (op < 0)
		return built(ps, aj_cast(ps->p, args[0], (aj_dtype)dtype),
			     fn.start);
	return built(ps, aj_apply(ps->p, (aj_op)op, nin, args), fn.start);
}

/* A bound name's value; checked here so a bad binding names its column. */
static aj_expr parse_name(parser *ps)
{
	const token *t = &ps->tok;
	for (int i = 0; i < ps->nname; i++) {
		if (strlen(ps->names[i]) != t->len ||
		    memcmp(ps->names[i], t->start, t->len) != 0)
			continue;
		aj_expr e = ps->values[i];
		if (aj_prog_node(ps->p, e) == NULL) {
			char msg[AJ_ERRMSG_MAX];
			aj_status s = take_builder_error(ps, msg);
			aj_prog_error(ps->p, s, "column %d: name '%s': %s",
				      column(ps, t->start), ps->names[i], msg);
			return AJ_EXPR_NONE;
		}
		advance(ps);
		return e;
	}
	aj_prog_error(ps->p, AJ_ERR_NAME, "column %d: unknown name '%.*s'",
		      column(ps, t->start), (int)t->len, t->start);
	return AJ_EXPR_NONE;
}

/* '(' expr ')'; the current token is '('. */
static aj_expr parse_paren(parser *ps)
{
	const char *open = ps->tok.start;
	advance(ps);
	aj_expr e = parse_nested(ps, parse_expr);
	if (e.id == AJ_EXPR_NONE.id)
		return e;
	if (!tok_is(ps, ")")) {
		char what[48];
		snprintf(what, sizeof what, "')' to close '(' at column %d",
			 column(ps, open));
		return expected(ps, what);
	}
	advance(ps);
	return e;
}

/* atom := number | True | False | call | name | '(' expr ')' */
static aj_expr parse_atom(parser *ps)
{
	const token t = ps->tok;
	aj_expr e;
	switch (t.kind) {
	case TK_INT:
		e = aj_scalar_i64(ps->p, t.u.ival);
		break;
	case TK_FLOAT:
		e = aj_scalar_f64(ps->p, t.u.fval);
		break;
	case TK_NAME:
		if (tok_word(ps, "True") || tok_word(ps, "False")) {
			e = aj_scalar_bool(ps->p, tok_word(ps, "True"));
			break;
		}
		if (*skip_space(ps->pos) == '(')
			return parse_call(ps);
		return parse_name(ps);
	default:
		if (tok_is(ps, "("))
			return parse_paren(ps);
		return expected(ps, "an operand");
	}
	advance(ps);
	return built(ps, e, t.start);
}

/*
 * power := atom ('**' unary)?
 * The exponent is a unary, so a**-b parses and a**b**c is a**(b**c); the
 * base is an atom, so -a**2 is -(a**2).
 */
static aj_expr parse_power(parser *ps)
{
	aj_expr base = parse_atom(ps);
	const struct oper *o = infix_at(ps, LV_POWER);
	if (base.id == AJ_EXPR_NONE.id || o == NULL)
		return base;
	const char *at = ps->tok.start;
	advance(ps);
	aj_expr exp = parse_nested(ps, parse_unary);
	if (exp.id == AJ_EXPR_NONE.id)
		return exp;
	return apply2(ps, o->infix, base, exp, at);
}

/* unary := ('-' | '+' | '~') unary | power */
static aj_expr parse_unary(parser *ps)
{
	if (ps->tok.kind != TK_OPER || ps->tok.u.oper->prefix == NO_PREFIX)
		return parse_power(ps);
	int op = ps->tok.u.oper->prefix;
	const char *at = ps->tok.start;
	advance(ps);
	aj_expr x = parse_nested(ps, parse_unary);
	if (x.id == AJ_EXPR_NONE.id || op == IDENTITY)
		return x;
	return built(ps, aj_apply(ps->p, (aj_op)op, 1, &x), at);
}

/* An operand of level lv: the next tighter level. */
static aj_expr parse_operand(parser *ps, enum level lv)
{
	return lv == LV_LEFT_LAST ? parse_unary(ps) : parse_left(ps, lv + 1);
}

/*
 * sum  := term (('+' | '-') term)*
 * term := unary (('*' | '/') unary)*
 * One loop per level, left-associative: a-b-c is (a-b)-c.
 */
static aj_expr parse_left(parser *ps, enum level lv)
{
	aj_expr lhs = parse_operand(ps, lv);
	const struct oper *o;
	while (lhs.id != AJ_EXPR_NONE.id && (o = infix_at(ps, lv)) != NULL) {
		const char *at = ps->tok.start;
		advance(ps);
		aj_expr rhs = parse_operand(ps, lv);
		if (rhs.id == AJ_EXPR_NONE.id)
			return rhs;
		lhs = apply2(ps, o->infix, lhs, rhs, at);
	}
	return lhs;
}

/*
 * comparison := sum (cmpop sum)?
 * Python reads a<b<c as (a<b) and (b<c); rather than silently computing
 * (a<b)<c, a second comparison is an error.
 */
static aj_expr parse_comparison(parser *ps)
{
	aj_expr lhs = parse_left(ps, LV_LEFT_FIRST);
	const struct oper *o = infix_at(ps, LV_CMP);
	if (lhs.id == AJ_EXPR_NONE.id || o == NULL)
		return lhs;
	const char *at = ps->tok.start;
	advance(ps);
	aj_expr rhs = parse_left(ps, LV_LEFT_FIRST);
	if (rhs.id == AJ_EXPR_NONE.id)
		return rhs;
	if (infix_at(ps, LV_CMP) != NULL)
		return fail(ps, AJ_ERR_PARSE, ps->tok.start,
			    "chained comparisons are not supported");
	return apply2(ps, o->infix, lhs, rhs, at);
}

/* expr := comparison */
static aj_expr parse_expr(parser *ps)
{
	return parse_comparison(ps);
}

static aj_status check_args(aj_prog *p, const char *text, int nname,
			    const char *const *names, const aj_expr *values)
{
	if (text == NULL)
		return aj_prog_error(p, AJ_ERR_ARG, "aj_parse: text is NULL");
	if (nname < 0)
		return aj_prog_error(p, AJ_ERR_ARG,
				     "aj_parse: nname is %d, below 0", nname);
	if (nname > 0 && (names == NULL || values == NULL))
		return aj_prog_error(p, AJ_ERR_ARG,
				     "aj_parse: names or values is NULL");
	for (int i = 0; i < nname; i++)
		if (names[i] == NULL)
			return aj_prog_error(p, AJ_ERR_ARG,
					     "aj_parse: names[%d] is NULL", i);
	return AJ_OK;
}

aj_status aj_parse(aj_prog *p, const char *text, int nname,
		   const char *const *names, const aj_expr *values,
		   aj_expr *out)
{
	if (out != NULL)
		*out = AJ_EXPR_NONE;
	if (p == NULL)
		return AJ_ERR_ARG;
	if (out == NULL)
		aj_prog_error(p, AJ_ERR_ARG, "aj_parse: out is NULL");
	if (out == NULL || check_args(p, text, nname, names, values) != AJ_OK)
		return aj_prog_take_error(p);
	parser ps = {.p = p,
		     .text = text,
		     .pos = text,
		     .nname = nname,
		     .names = names,
		     .values = values};
	advance(&ps);
	aj_expr e = parse_expr(&ps);
	if (e.id != AJ_EXPR_NONE.id && ps.tok.kind != TK_END)
		e = expected(&ps, "an operator or end of expression");
	if (e.id == AJ_EXPR_NONE.id)
		return aj_prog_take_error(p);
	*out = e;
	return AJ_OK;
}
