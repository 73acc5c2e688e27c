/*
 * Expression and statement text to expression nodes: a recursive-descent
 * parser over numexpr-like text with Python's precedence, plus the
 * statements of aj_exec (assignments, subscripts, view functions such as
 * flip(a)). It builds nodes only through the public builders, so the type
 * and shape rules live in one place; what names mean, and what an
 * assignment does, belongs to the caller's resolver (parse.h).
 *
 * Invariants:
 * - Every parse function returns AJ_EXPR_NONE (or false) exactly when an
 *   error has been recorded in the program; callers stop at the first one.
 * - Operators of one precedence level are folded in a loop, so a flat chain
 *   of any length uses constant stack, and so are statements, subscripts
 *   and postfixes. Apart from the fixed descent through the levels,
 *   recursion happens only through parse_nested() and nested view calls
 *   (flip(ravel(a))), both bounded by enter().
 * - Every message starts with its location: "column N: " for aj_parse,
 *   "line L, column C: " for programs (1-based, C counts bytes).
 * - Nothing is allocated here beyond what the builders and views allocate;
 *   views go to the resolver at once (adopt), so an error leaks none.
 */
#include "parse.h"
#include "select.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting (parentheses, prefix operators, exponents) is an error, so
 * hostile text cannot exhaust the C stack. */
#define MAX_DEPTH 256

/* Enough room for the arguments of any op in the table. */
#define MAX_CALL_ARGS 3
#define X(id, name, nin, kind, rule, cx, sleef, ulp)                            \
	_Static_assert(nin <= MAX_CALL_ARGS, "raise MAX_CALL_ARGS for " name);
AJ_OP_TABLE(X)
#undef X

/* Items of one subscript: an index or slice per axis, a None per new axis
 * (the result has at most AJ_MAX_NDIM of each) and one '...'. */
#define MAX_ITEMS (2 * AJ_MAX_NDIM + 1)

/*
 * Binding levels of infix operators, loosest first, as in Python. The levels
 * from LV_LEFT_FIRST to LV_LEFT_LAST are left-associative and parsed by one
 * loop; a new operator of that kind is a new row in opers[] and, if needed,
 * a new level here.
 * Levels looser than comparison (not, and, or) get their own function above
 * parse_comparison().
 */
enum level {
	LV_NONE,   /* not an infix operator */
	LV_ASSIGN, /* = and op=: statements only; infix is op's operator */
	LV_CMP,	   /* == != < <= > >=: non-associative */
	LV_OR,	   /* | (logical or on bools) */
	LV_XOR,	   /* ^ */
	LV_AND,	   /* & (logical and on bools) */
	LV_SHIFT,  /* << >> */
	LV_SUM,	   /* + - */
	LV_TERM,   /* * / // % */
	LV_POWER,  /* **: right-associative, see parse_power() */
	LV_LEFT_FIRST = LV_OR,
	LV_LEFT_LAST = LV_TERM,
};

/* Marks an operator spelling with no prefix form, and unary plus. */
#define NO_PREFIX AJ_NOP
#define IDENTITY  (AJ_NOP + 1)

/*
 * Every operator and delimiter spelling. infix is the op of the infix form
 * at level (for LV_ASSIGN, the op an augmented assignment applies; AJ_NOP
 * for '='); prefix the op of the prefix form (NO_PREFIX, IDENTITY or an
 * aj_op); bracket +1 opens a bracket and -1 closes one (a newline inside
 * brackets is a blank, not the end of a statement). The lexer takes the
 * longest spelling that matches.
 */
static const struct oper {
	char tok[4]; /* in the row: the lexer scans first bytes in place */
	enum level level;
	aj_op infix;
	int prefix;
	int bracket;
} opers[] = {
    {"==", LV_CMP, AJ_OP_EQ, NO_PREFIX, 0},
    {"!=", LV_CMP, AJ_OP_NE, NO_PREFIX, 0},
    {"<", LV_CMP, AJ_OP_LT, NO_PREFIX, 0},
    {"<=", LV_CMP, AJ_OP_LE, NO_PREFIX, 0},
    {">", LV_CMP, AJ_OP_GT, NO_PREFIX, 0},
    {">=", LV_CMP, AJ_OP_GE, NO_PREFIX, 0},
    {"+", LV_SUM, AJ_OP_ADD, IDENTITY, 0},
    {"-", LV_SUM, AJ_OP_SUB, AJ_OP_NEG, 0},
    {"|", LV_OR, AJ_OP_BITOR, NO_PREFIX, 0},
    {"^", LV_XOR, AJ_OP_BITXOR, NO_PREFIX, 0},
    {"&", LV_AND, AJ_OP_BITAND, NO_PREFIX, 0},
    {"<<", LV_SHIFT, AJ_OP_LSHIFT, NO_PREFIX, 0},
    {">>", LV_SHIFT, AJ_OP_RSHIFT, NO_PREFIX, 0},
    {"*", LV_TERM, AJ_OP_MUL, NO_PREFIX, 0},
    {"/", LV_TERM, AJ_OP_DIV, NO_PREFIX, 0},
    {"//", LV_TERM, AJ_OP_FLOORDIV, NO_PREFIX, 0},
    {"%", LV_TERM, AJ_OP_REM, NO_PREFIX, 0},
    {"~", LV_NONE, AJ_NOP, AJ_OP_INVERT, 0},
    {"**", LV_POWER, AJ_OP_POW, NO_PREFIX, 0},
    {"(", LV_NONE, AJ_NOP, NO_PREFIX, 1},
    {")", LV_NONE, AJ_NOP, NO_PREFIX, -1},
    {"[", LV_NONE, AJ_NOP, NO_PREFIX, 1},
    {"]", LV_NONE, AJ_NOP, NO_PREFIX, -1},
    {",", LV_NONE, AJ_NOP, NO_PREFIX, 0},
    {":", LV_NONE, AJ_NOP, NO_PREFIX, 0},
    {".", LV_NONE, AJ_NOP, NO_PREFIX, 0},
    {"...", LV_NONE, AJ_NOP, NO_PREFIX, 0},
    {"=", LV_ASSIGN, AJ_NOP, NO_PREFIX, 0},
    {"+=", LV_ASSIGN, AJ_OP_ADD, NO_PREFIX, 0},
    {"-=", LV_ASSIGN, AJ_OP_SUB, NO_PREFIX, 0},
    {"*=", LV_ASSIGN, AJ_OP_MUL, NO_PREFIX, 0},
    {"/=", LV_ASSIGN, AJ_OP_DIV, NO_PREFIX, 0},
    {"//=", LV_ASSIGN, AJ_OP_FLOORDIV, NO_PREFIX, 0},
    {"%=", LV_ASSIGN, AJ_OP_REM, NO_PREFIX, 0},
    {"**=", LV_ASSIGN, AJ_OP_POW, NO_PREFIX, 0},
    {"&=", LV_ASSIGN, AJ_OP_BITAND, NO_PREFIX, 0},
    {"|=", LV_ASSIGN, AJ_OP_BITOR, NO_PREFIX, 0},
    {"^=", LV_ASSIGN, AJ_OP_BITXOR, NO_PREFIX, 0},
    {"<<=", LV_ASSIGN, AJ_OP_LSHIFT, NO_PREFIX, 0},
    {">>=", LV_ASSIGN, AJ_OP_RSHIFT, NO_PREFIX, 0},
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
    {"conj", AJ_OP_CONJ},
};

enum tkind {
	TK_END,	  /* end of text */
	TK_SEP,	  /* programs only: ';' or a newline outside brackets */
	TK_INT,	  /* integer literal: ival */
	TK_FLOAT, /* float literal: fval */
	TK_IMAG,  /* imaginary literal (2j, 1.5e3J): fval */
	TK_NAME,  /* identifier, True, False, None */
	TK_OPER,  /* operator or delimiter: oper */
	TK_BAD, /* a lexical error: bad; reported when the parser reaches it */
};

typedef struct token {
	enum tkind kind;
	const char *start; /* into the text */
	size_t len;	   /* bytes */
	union {
		int64_t ival;		 /* for TK_INT */
		double fval;		 /* for TK_FLOAT, TK_IMAG */
		const struct oper *oper; /* for TK_OPER */
		const char *bad;	 /* for TK_BAD: what is wrong */
	} u;
} token;

/* Where the lexer is: enough to back up to a token already read. */
typedef struct lexstate {
	const char *pos; /* first byte after tok */
	token tok;	 /* the current, not yet consumed, token */
	int nopen;	 /* brackets open at pos */
} lexstate;

typedef struct parser {
	aj_prog *p;
	const char *text;
	lexstate lx;
	int depth;  /* nesting levels entered (see enter()) */
	bool stmts; /* a program: separators, "line L, column C" */
	const aj_resolver *r;
} parser;

/* One item of a subscript. The kinds that select along an axis of the
 * array come first (IT_ARRAY: an integer array index, see aj_take). */
typedef struct sub_item {
	enum { IT_INDEX, IT_SLICE, IT_ARRAY, IT_NEWAXIS, IT_ELLIPSIS } kind;
	aj_slice s;	/* for IT_SLICE; s.start is the index of IT_INDEX */
	aj_expr idx;	/* for IT_ARRAY */
	const char *at; /* where the item starts */
} sub_item;

typedef struct subscript {
	const char *open; /* the '[' */
	int n;
	sub_item item[MAX_ITEMS];
} subscript;

static aj_expr parse_expr(parser *ps);
static aj_expr parse_unary(parser *ps);
static aj_expr parse_left(parser *ps, enum level lv);

/* ---- errors ---- */

/* "column C" (aj_parse) or "line L, column C" (programs) of at, in buf. */
static const char *locate(const parser *ps, const char *at, char *buf, size_t n)
{
	const char *bol = ps->text;
	int line = 1;
	for (const char *s = ps->text; ps->stmts && s < at; s++)
		if (*s == '\n') {
			line++;
			bol = s + 1;
		}
	if (ps->stmts)
		snprintf(buf, n, "line %d, column %d", line,
			 (int)(at - bol) + 1);
	else
		snprintf(buf, n, "column %d", (int)(at - bol) + 1);
	return buf;
}

/* Records an error located at at; returns AJ_EXPR_NONE. */
static aj_expr fail(parser *ps, aj_status s, const char *at, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static aj_expr fail(parser *ps, aj_status s, const char *at, const char *fmt,
		    ...)
{
	char where[48], msg[AJ_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	aj_prog_error(ps->p, s, "%s: %s", locate(ps, at, where, sizeof where),
		      msg);
	return AJ_EXPR_NONE;
}

/* Records what is wrong with a TK_BAD token. */
static aj_expr report_bad(parser *ps)
{
	const token *t = &ps->lx.tok;
	unsigned char c = (unsigned char)*t->start;
	if (t->len == 1 && (c < ' ' || c > '~'))
		return fail(ps, AJ_ERR_PARSE, t->start, "%s 0x%02x", t->u.bad,
			    c);
	return fail(ps, AJ_ERR_PARSE, t->start, "%s '%.*s'", t->u.bad,
		    (int)(t->len > 40 ? 40 : t->len), t->start);
}

/* Records "expected WHAT, found <tok>", or the lexer's complaint about the
 * token. */
static aj_expr expected(parser *ps, const char *what)
{
	const token *t = &ps->lx.tok;
	if (t->kind == TK_BAD)
		return report_bad(ps);
	if (t->kind == TK_END)
		return fail(ps, AJ_ERR_PARSE, t->start,
			    "expected %s, found end of %s", what,
			    ps->stmts ? "program" : "expression");
	if (t->kind == TK_SEP && *t->start == '\n')
		return fail(ps, AJ_ERR_PARSE, t->start,
			    "expected %s, found end of line", what);
	return fail(ps, AJ_ERR_PARSE, t->start, "expected %s, found '%.*s'",
		    what, (int)(t->len > 40 ? 40 : t->len), t->start);
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
 * location of the construct that called it. */
static aj_expr built(parser *ps, aj_expr e, const char *at)
{
	if (e.id != AJ_EXPR_NONE.id)
		return e;
	char msg[AJ_ERRMSG_MAX];
	aj_status s = take_builder_error(ps, msg);
	return fail(ps, s, at, "%s", msg);
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

/* Skips blanks; in a program a newline outside brackets is not one. */
static const char *skip_blank(const parser *ps, const char *s)
{
	while (is_space(*s) && !(*s == '\n' && ps->stmts && ps->lx.nopen == 0))
		s++;
	return s;
}

static const char *skip_digits(const char *s)
{
	while (is_digit(*s))
		s++;
	return s;
}

/*
 * The rows of opers[] by first byte: starts[c] is 1 + the first row
 * spelled from c (0: none), then next[i] the row after i with the same
 * first byte (0: none). Built once; the lexer runs on every aj_exec, and
 * a scan of all the rows cost 20 ns per operator.
 */
enum { NOPER = sizeof opers / sizeof opers[0] };
static uint8_t oper_starts[256], oper_next[NOPER];
static pthread_once_t oper_once = PTHREAD_ONCE_INIT;

static void index_opers(void)
{
	for (int i = NOPER; i-- > 0;) {
		unsigned char c = (unsigned char)opers[i].tok[0];
		oper_next[i] = oper_starts[c];
		oper_starts[c] = (uint8_t)(i + 1);
	}
}

/* The longest operator spelling at s, or NULL. */
static const struct oper *match_oper(const char *s)
{
	const struct oper *best = NULL;
	size_t bestlen = 0;
	pthread_once(&oper_once, index_opers);
	for (int r = oper_starts[(unsigned char)*s]; r; r = oper_next[r - 1]) {
		const struct oper *o = &opers[r - 1];
		size_t n = strlen(o->tok);
		if (n > bestlen && strncmp(s, o->tok, n) == 0) {
			best = o;
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
	ps->lx.tok.kind = TK_BAD;
	ps->lx.tok.u.bad = what;
}

/*
 * number := (digits ('.' digits?)? exp? | '.' digits exp?) ('j'|'J')?
 * exp    := ('e'|'E') ('+'|'-')? digits
 * A trailing j makes an imaginary literal, as in Python.
 * The extent is found here so that "1e" is an error rather than 1 followed by
 * a name; strtod only converts it. A letter, digit or '.' right after a
 * number makes the whole run invalid ("1.2.3", "2x").
 */
static void lex_number(parser *ps)
{
	token *t = &ps->lx.tok;
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
	bool imag = (*s == 'j' || *s == 'J') && !is_ident(s[1]) && s[1] != '.';
	t->len = (size_t)(s + imag - t->start);
	if (!imag && (is_ident(*s) || *s == '.')) {
		while (is_ident(t->start[t->len]) || t->start[t->len] == '.')
			t->len++;
		lex_bad(ps, "invalid number");
		return;
	}
	if (!isfloat && !imag) {
		t->kind = TK_INT;
		if (!int_value(t->start, s, &t->u.ival))
			lex_bad(ps, "integer literal does not fit in int64:");
		return;
	}
	char *end;
	t->kind = imag ? TK_IMAG : TK_FLOAT;
	t->u.fval = strtod(t->start, &end);
	/* strtod reads the locale's decimal point; a mismatch shows here. */
	if (end != s)
		lex_bad(ps, "cannot convert number (is LC_NUMERIC 'C'?)");
}

static void lex_oper(parser *ps, const struct oper *o)
{
	token *t = &ps->lx.tok;
	t->kind = TK_OPER;
	t->u.oper = o;
	t->len = strlen(o->tok);
	if (o->bracket > 0 || ps->lx.nopen > 0)
		ps->lx.nopen += o->bracket;
}

/* Reads the token at ps->lx.pos into ps->lx.tok. */
static void advance(parser *ps)
{
	token *t = &ps->lx.tok;
	const char *s = skip_blank(ps, ps->lx.pos);
	const struct oper *o;
	t->start = s;
	t->len = 0;
	if (*s == '\0') {
		t->kind = TK_END;
	} else if (ps->stmts && (*s == ';' || *s == '\n')) {
		t->kind = TK_SEP;
		t->len = 1;
	} else if (is_digit(*s) || (*s == '.' && is_digit(s[1]))) {
		lex_number(ps);
	} else if (is_ident_start(*s)) {
		while (is_ident(s[t->len]))
			t->len++;
		t->kind = TK_NAME;
	} else if ((o = match_oper(s)) != NULL) {
		lex_oper(ps, o);
	} else {
		t->len = 1;
		lex_bad(ps, "unexpected character");
	}
	ps->lx.pos = t->start + t->len;
}

static bool tok_is(const parser *ps, const char *spelling)
{
	return ps->lx.tok.kind == TK_OPER &&
	       strcmp(ps->lx.tok.u.oper->tok, spelling) == 0;
}

static bool tok_word(const parser *ps, const char *word)
{
	const token *t = &ps->lx.tok;
	return t->kind == TK_NAME && strlen(word) == t->len &&
	       memcmp(t->start, word, t->len) == 0;
}

static bool is_keyword(const token *t)
{
	static const char *const words[] = {"True", "False", "None"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == t->len &&
		    memcmp(words[i], t->start, t->len) == 0)
			return true;
	return false;
}

/* The infix operator of level lv at the current token, or NULL. */
static const struct oper *infix_at(const parser *ps, enum level lv)
{
	if (ps->lx.tok.kind != TK_OPER || ps->lx.tok.u.oper->level != lv)
		return NULL;
	return ps->lx.tok.u.oper;
}

/* Whether the current token ends a statement (or the text). */
static bool at_end(const parser *ps)
{
	return ps->lx.tok.kind == TK_END || ps->lx.tok.kind == TK_SEP;
}

/* Whether the current name token is called: '(' comes next. */
static bool at_call(const parser *ps)
{
	return *skip_blank(ps, ps->lx.pos) == '(';
}

/* ---- grammar ---- */

/* Goes one nesting level deeper, failing past MAX_DEPTH; the caller
 * comes back out with ps->depth--. */
static bool enter(parser *ps)
{
	if (ps->depth < MAX_DEPTH)
		return ps->depth++, true;
	fail(ps, AJ_ERR_PARSE, ps->lx.tok.start,
	     "expression nested too deeply (limit %d levels)", MAX_DEPTH);
	return false;
}

/* Runs fn one nesting level deeper. */
static aj_expr parse_nested(parser *ps, aj_expr (*fn)(parser *))
{
	if (!enter(ps))
		return AJ_EXPR_NONE;
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

/* Records "expected ')' to close '(' at <where>" (or what). */
static aj_expr expected_close(parser *ps, const char *what, const char *open)
{
	char where[48], msg[96];
	snprintf(msg, sizeof msg, "%s to close '%c' at %s", what, *open,
		 locate(ps, open, where, sizeof where));
	return expected(ps, msg);
}

/* The op a function name calls: an alias, or an op table name that is not a
 * leaf or cast; -1 if none. */
static int function_op(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (aliases[i].name[0] == name[0] && strlen(aliases[i].name) == len &&
		    memcmp(aliases[i].name, name, len) == 0)
			return (int)aliases[i].op;
	for (int op = 0; op < AJ_NOP; op++) {
		if (aj_ops[op].name[0] != name[0] || aj_ops[op].kind == AJ_KIND_LEAF ||
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
	const char *open = ps->lx.tok.start;
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
			expected_close(ps, "',' or ')'", open);
			return false;
		}
		advance(ps);
	}
	advance(ps);
	return true;
}

static aj_expr arity_error(parser *ps, const token *fn, int nin, int nargs)
{
	return fail(ps, AJ_ERR_PARSE, fn->start,
		    "%.*s() takes %d argument%s, got %d", (int)fn->len,
		    fn->start, nin, nin == 1 ? "" : "s", nargs);
}

/* An int literal, optionally negative, into *v. */
static bool parse_int(parser *ps, int *v)
{
	bool neg = tok_is(ps, "-");
	if (neg)
		advance(ps);
	if (ps->lx.tok.kind != TK_INT || ps->lx.tok.u.ival > AJ_MAX_NDIM) {
		expected(ps, "an axis number");
		return false;
	}
	*v = (int)(neg ? -ps->lx.tok.u.ival : ps->lx.tok.u.ival);
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
	const char *open = ps->lx.tok.start;
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
	if (!tok_is(ps, ")"))
		return expected_close(ps, "')'", open);
	advance(ps);
	return built(ps, aj_reduce(ps->p, op, x, naxis, axes, keep), fn->start);
}

static bool at_keyword(const parser *ps);

/* AJ_OP_RANDOM or AJ_OP_NORMAL if t is its name ("random", "normal"),
 * else -1. */
static int random_op(const token *t)
{
	for (int op = AJ_OP_RANDOM; op <= AJ_OP_NORMAL; op++)
		if (strlen(aj_ops[op].name) == t->len &&
		    memcmp(aj_ops[op].name, t->start, t->len) == 0)
			return op;
	return -1;
}

/* shape := INT | '(' INT (',' INT)* ','? ')' */
static bool parse_shape(parser *ps, int *nd, int64_t *shape)
{
	*nd = 0;
	if (ps->lx.tok.kind == TK_INT) {
		shape[(*nd)++] = ps->lx.tok.u.ival;
		advance(ps);
		return true;
	}
	const char *open = ps->lx.tok.start;
	if (!tok_is(ps, "("))
		return expected(ps, "a shape (an integer or a tuple of them)"), false;
	advance(ps);
	while (!tok_is(ps, ")")) {
		if (ps->lx.tok.kind != TK_INT)
			return expected(ps, "an extent (an integer)"), false;
		if (*nd == AJ_MAX_NDIM)
			return fail(ps, AJ_ERR_SHAPE, ps->lx.tok.start, "more "
				    "than %d axes", AJ_MAX_NDIM), false;
		shape[(*nd)++] = ps->lx.tok.u.ival;
		advance(ps);
		if (tok_is(ps, ","))
			advance(ps);
		else if (!tok_is(ps, ")"))
			return expected_close(ps, "',' or ')'", open), false;
	}
	advance(ps);
	if (*nd == 0)
		return fail(ps, AJ_ERR_SHAPE, open, "shape () draws a single "
			    "value everywhere; leave the shape out for one "
			    "value per element"), false;
	return true;
}

/* One argument of random() or normal(): dtype (a dtype name) or shape, by
 * keyword or, told apart by their form, by position. */
static bool parse_random_arg(parser *ps, const token *fn, bool *seen,
			     int *dtype, int *nd, int64_t *shape)
{
	const token t = ps->lx.tok;
	int k = t.kind == TK_NAME ? 0 : 1; /* 0: dtype, 1: shape */
	if (at_keyword(ps)) {
		k = tok_word(ps, "dtype") ? 0 : tok_word(ps, "shape") ? 1 : -1;
		if (k < 0)
			return fail(ps, AJ_ERR_PARSE, t.start, "%.*s() has no "
				    "parameter '%.*s'; the form is %.*s(dtype="
				    "float64, shape=None)", (int)fn->len,
				    fn->start, (int)t.len, t.start, (int)fn->len,
				    fn->start), false;
		advance(ps);
		advance(ps);
	}
	if (seen[k])
		return fail(ps, AJ_ERR_PARSE, t.start, "%.*s() got two values "
			    "for '%s'", (int)fn->len, fn->start,
			    k ? "shape" : "dtype"), false;
	seen[k] = true;
	if (k == 1)
		return tok_word(ps, "None") ? (advance(ps), true)
					    : parse_shape(ps, nd, shape);
	const token d = ps->lx.tok;
	*dtype = d.kind == TK_NAME ? aj_dtype_from_name(d.start, d.len) : -1;
	if (*dtype < 0)
		return expected(ps, "a dtype name (float64, float32, uint32, "
				"uint64)"), false;
	advance(ps);
	return true;
}

/*
 * random := ('random' | 'normal') '(' (arg (',' arg)*)? ')'
 * arg    := ('dtype' '=')? NAME | ('shape' '=')? (shape | None)
 * float64 and shapeless by default (arrjit.h, aj_random). The current
 * token is the '('.
 */
static aj_expr parse_random_call(parser *ps, aj_op op, const token *fn)
{
	const char *open = ps->lx.tok.start;
	int dtype = AJ_FLOAT64, nd = 0;
	int64_t shape[AJ_MAX_NDIM];
	bool seen[2] = {false, false};
	advance(ps);
	while (!tok_is(ps, ")")) {
		if (!parse_random_arg(ps, fn, seen, &dtype, &nd, shape))
			return AJ_EXPR_NONE;
		if (tok_is(ps, ","))
			advance(ps);
		else if (!tok_is(ps, ")"))
			return expected_close(ps, "',' or ')'", open);
	}
	advance(ps);
	aj_dist dist = op == AJ_OP_NORMAL ? AJ_DIST_NORMAL : AJ_DIST_UNIFORM;
	return built(ps, aj_random(ps->p, dist, (aj_dtype)dtype, nd, shape),
		     fn->start);
}

/*
 * take     := 'take' '(' expr ',' expr axisarg? ')'
 * compress := 'compress' '(' expr ',' expr axisarg? ')'
 * axisarg  := ',' ('axis' '=')? (int | 'None')
 * The arguments of NumPy's take(a, indices, axis=None) and
 * compress(condition, a, axis=None); second names the second. The
 * current token is '('.
 */
static bool parse_pair_axis(parser *ps, const char *second, aj_expr *args,
			    int *axis)
{
	const char *open = ps->lx.tok.start;
	for (int k = 0; k < 2; k++) {
		if (k > 0 && !tok_is(ps, ","))
			return expected_close(ps, second, open), false;
		advance(ps);
		args[k] = parse_nested(ps, parse_expr);
		if (args[k].id == AJ_EXPR_NONE.id)
			return false;
	}
	*axis = AJ_ALL_AXES;
	if (tok_is(ps, ",")) {
		advance(ps);
		if (tok_word(ps, "axis") && at_keyword(ps)) {
			advance(ps);
			advance(ps);
		}
		if (tok_word(ps, "None"))
			advance(ps);
		else if (!parse_int(ps, axis))
			return false;
	}
	if (!tok_is(ps, ")"))
		return expected_close(ps, "')'", open), false;
	advance(ps);
	return true;
}

/* take(...): aj_take, mode='raise'. */
static aj_expr parse_take_call(parser *ps, const token *fn)
{
	aj_expr args[2];
	int axis;
	if (!parse_pair_axis(ps, "',' and the indices", args, &axis))
		return AJ_EXPR_NONE;
	return built(ps, aj_take(ps->p, args[0], args[1], axis), fn->start);
}

static aj_expr selected(parser *ps, aj_status s, aj_array *r, const char *at);

/* compress(...): aj_compress, run now (its shape depends on the data);
 * the result is a new array, which only a resolver that takes arrays
 * can hold. */
static aj_expr parse_compress_call(parser *ps, const token *fn)
{
	aj_expr args[2];
	int axis;
	if (!parse_pair_axis(ps, "',' and the array", args, &axis))
		return AJ_EXPR_NONE;
	if (!ps->r->adopt)
		return fail(ps, AJ_ERR_PARSE, fn->start, "compress() makes a new "
			    "array: it needs a program's namespace (aj_exec)");
	aj_array *r = NULL;
	aj_status s = aj_compress(ps->p, args[0], args[1], axis, &r);
	return selected(ps, s, r, fn->start);
}

/*
 * call := name args | random | take | compress
 * name is an op (see function_op) or a dtype, which casts its one argument.
 * The current token is the name.
 */
static aj_expr parse_call(parser *ps)
{
	token fn = ps->lx.tok;
	int rop = random_op(&fn);
	if (rop >= 0) {
		advance(ps);
		return parse_random_call(ps, (aj_op)rop, &fn);
	}
	if (fn.len == strlen(aj_ops[AJ_OP_TAKE].name) &&
	    memcmp(fn.start, aj_ops[AJ_OP_TAKE].name, fn.len) == 0) {
		advance(ps);
		return parse_take_call(ps, &fn);
	}
	if (fn.len == 8 && memcmp(fn.start, "compress", 8) == 0) {
		advance(ps);
		return parse_compress_call(ps, &fn);
	}
	int op = function_op(fn.start, fn.len);
	int dtype = op < 0 ? aj_dtype_from_name(fn.start, fn.len) : -1;
	if (op < 0 && dtype < 0)
		return fail(ps, AJ_ERR_NAME, fn.start,
			    "unknown function '%.*s'", (int)fn.len, fn.start);
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

/* ---- subscripts ---- */

/* A literal index or slice bound, optionally signed, into *v. */
static bool parse_index_int(parser *ps, int64_t *v)
{
	bool neg = tok_is(ps, "-");
	if (neg || tok_is(ps, "+"))
		advance(ps);
	if (ps->lx.tok.kind != TK_INT) {
		expected(ps, "an integer, a slice, None or '...' in the "
			     "subscript");
		return false;
	}
	*v = neg ? -ps->lx.tok.u.ival : ps->lx.tok.u.ival;
	advance(ps);
	return true;
}

/* Whether the item at the current token is a literal one, int or slice,
 * up to the ',' or ']' after it (else it is an index array expression).
 * Looks ahead without consuming or recording anything. */
static bool at_literal_item(parser *ps)
{
	lexstate start = ps->lx;
	bool ok = true;
	for (int part = 0; ok; part++) {
		if (tok_is(ps, "-") || tok_is(ps, "+")) {
			advance(ps);
			ok = ps->lx.tok.kind == TK_INT;
		}
		if (ps->lx.tok.kind == TK_INT)
			advance(ps);
		if (!tok_is(ps, ":") || part == 2)
			break;
		advance(ps);
	}
	/* a fourth ':' is a literal slice too, reported as such */
	ok = ok && (tok_is(ps, ",") || tok_is(ps, "]") || tok_is(ps, ":"));
	ps->lx = start;
	return ok;
}

/* item := expr, an integer array index or a boolean mask (IT_ARRAY). */
static bool parse_array_item(parser *ps, sub_item *it)
{
	it->kind = IT_ARRAY;
	it->idx = parse_nested(ps, parse_expr);
	if (it->idx.id == AJ_EXPR_NONE.id)
		return false;
	aj_dtype t = aj_expr_dtype(ps->p, it->idx);
	if (aj_is_int(t) || t == AJ_BOOL)
		return true;
	fail(ps, AJ_ERR_DTYPE, it->at, "only integers, slices (':'), '...', "
	     "None and integer or boolean arrays are valid indices, not an "
	     "array of %s", aj_dtype_name(t));
	return false;
}

/*
 * item  := '...' | 'None' | int | int? ':' int? (':' int?)? | expr
 * int   := ('-' | '+')? INT
 * Omitted parts of a slice are AJ_DEFAULT, which no literal can spell. An
 * expr is an integer array index (it->idx).
 */
static bool parse_item(parser *ps, sub_item *it)
{
	int64_t v[3] = {AJ_DEFAULT, AJ_DEFAULT, AJ_DEFAULT};
	const char *part_at[3] = {ps->lx.tok.start, NULL, NULL};
	int part = 0;
	it->at = ps->lx.tok.start;
	it->kind = tok_is(ps, "...")	  ? IT_ELLIPSIS
		   : tok_word(ps, "None") ? IT_NEWAXIS
					  : IT_INDEX;
	if (it->kind != IT_INDEX) {
		advance(ps);
		return true;
	}
	if (!at_literal_item(ps))
		return parse_array_item(ps, it);
	for (;;) {
		part_at[part] = ps->lx.tok.start;
		if (!tok_is(ps, ":") && !tok_is(ps, ",") && !tok_is(ps, "]") &&
		    !parse_index_int(ps, &v[part]))
			return false;
		if (!tok_is(ps, ":") || part == 2)
			break;
		part++;
		advance(ps);
	}
	if (part == 0 && v[0] == AJ_DEFAULT) {
		expected(ps, "an integer, a slice, None or '...' in "
			     "the subscript");
		return false;
	}
	if (part == 2 && v[2] == 0) {
		fail(ps, AJ_ERR_PARSE, part_at[2], "slice step cannot be zero");
		return false;
	}
	it->s = (aj_slice){v[0], v[1], v[2] == AJ_DEFAULT ? 1 : v[2]};
	it->kind = part == 0 ? IT_INDEX : IT_SLICE;
	return true;
}

/*
 * subscript := '[' item (',' item)* ','? ']'
 * Indices are literals, so a view never depends on data, except an
 * integer array index (a gather). The current token is '['.
 */
static bool parse_subscript(parser *ps, subscript *sub)
{
	const char *ellipsis = NULL;
	sub->open = ps->lx.tok.start;
	sub->n = 0;
	advance(ps);
	do {
		if (sub->n == MAX_ITEMS) {
			fail(ps, AJ_ERR_BOUNDS, ps->lx.tok.start,
			     "too many indices (limit %d)", MAX_ITEMS);
			return false;
		}
		sub_item *it = &sub->item[sub->n++];
		if (!parse_item(ps, it))
			return false;
		if (it->kind == IT_ELLIPSIS && ellipsis) {
			fail(ps, AJ_ERR_PARSE, it->at,
			     "an index can only have a single "
			     "ellipsis ('...')");
			return false;
		}
		if (it->kind == IT_ELLIPSIS)
			ellipsis = it->at;
		if (!tok_is(ps, ","))
			break;
		advance(ps);
	} while (!tok_is(ps, "]"));
	if (!tok_is(ps, "]")) {
		expected_close(ps, "',' or ']'", sub->open);
		return false;
	}
	advance(ps);
	return true;
}

/* Per-axis plan of a subscript over an ndim-d array or expression. */
typedef struct sub_plan {
	aj_slice slice[AJ_MAX_NDIM]; /* per input axis; AJ_ALL if none */
	bool sliced;		     /* some item is a slice */
	bool isindex[AJ_MAX_NDIM];   /* input axis dropped by an index */
	int64_t index[AJ_MAX_NDIM];
	int newpos[AJ_MAX_NDIM]; /* output axes of the Nones, increasing */
	int nnew;
	const sub_item *gather; /* the IT_ARRAY item, or NULL */
	int gather_axis;	/* the axis of the view it takes along */
} sub_plan;

/* Numbers of indices, slices and index arrays (nreal) and of Nones in
 * sub. */
static void count_items(const subscript *sub, int *nreal, int *nnew)
{
	*nreal = *nnew = 0;
	for (int i = 0; i < sub->n; i++) {
		*nreal += sub->item[i].kind <= IT_ARRAY;
		*nnew += sub->item[i].kind == IT_NEWAXIS;
	}
}

/*
 * NumPy places the axes of an index array where it stands when the
 * integer indices are next to it (a[0, i], a[:, i, 0]), but first when a
 * slice, '...' or None separates them (a[:, i, :, 0]). a[i] takes along
 * the view's axis gather_axis, right for the first case, and for the
 * second only if that is axis 0 (or i is 0-d, adding no axes).
 */
static bool check_gather_place(parser *ps, const subscript *sub,
			       const sub_plan *pl)
{
	int first = -1, last = -1;
	for (int i = 0; i < sub->n; i++)
		if (sub->item[i].kind == IT_INDEX || sub->item[i].kind == IT_ARRAY) {
			first = first < 0 ? i : first;
			last = i;
		}
	bool apart = false;
	for (int i = first; i <= last; i++)
		apart = apart || (sub->item[i].kind != IT_INDEX &&
				  sub->item[i].kind != IT_ARRAY);
	if (!apart || pl->gather_axis == 0 ||
	    aj_expr_shape(ps->p, pl->gather->idx, NULL) == 0)
		return true;
	fail(ps, AJ_ERR_PARSE, pl->gather->at, "an index array and integer "
	     "indices apart (NumPy would move the index array's axes first) "
	     "are not supported");
	return false;
}

/* NumPy's basic indexing: '...' stands for as many full slices as the
 * other items leave, and axes after the last item are full slices. */
static bool plan_subscript(parser *ps, int nd, const int64_t *shape,
			   const subscript *sub, sub_plan *pl)
{
	int nreal, nnew, k = 0, out = 0;
	count_items(sub, &nreal, &nnew);
	if (nreal > nd) {
		fail(ps, AJ_ERR_BOUNDS, sub->open,
		     "too many indices for array: array is "
		     "%d-dimensional, but %d were indexed",
		     nd, nreal);
		return false;
	}
	memset(pl, 0, sizeof *pl);
	for (int i = 0; i < nd; i++)
		pl->slice[i] = AJ_ALL;
	for (int i = 0; i < sub->n; i++) {
		const sub_item *it = &sub->item[i];
		int64_t n = k < nd ? shape[k] : 0;
		switch (it->kind) {
		case IT_INDEX:
			if (it->s.start < -n || it->s.start >= n) {
				fail(ps, AJ_ERR_BOUNDS, it->at,
				     "index %lld is out of bounds for "
				     "axis %d with size %lld",
				     (long long)it->s.start, k, (long long)n);
				return false;
			}
			pl->isindex[k] = true;
			pl->index[k++] = it->s.start;
			break;
		case IT_SLICE:
			pl->slice[k++] = it->s;
			pl->sliced = true;
			out++;
			break;
		case IT_ARRAY: /* a full slice here; the take comes after */
			if (pl->gather) {
				fail(ps, AJ_ERR_PARSE, it->at, "only one index "
				     "array per subscript is supported");
				return false;
			}
			pl->gather = it;
			pl->gather_axis = out++;
			k++;
			break;
		case IT_NEWAXIS:
			if (out >= AJ_MAX_NDIM || pl->nnew == AJ_MAX_NDIM) {
				fail(ps, AJ_ERR_SHAPE, it->at,
				     "too many dimensions (limit %d)",
				     AJ_MAX_NDIM);
				return false;
			}
			pl->newpos[pl->nnew++] = out++;
			break;
		case IT_ELLIPSIS:
			k += nd - nreal;
			out += nd - nreal;
			break;
		}
	}
	if (out + (nd - k) > AJ_MAX_NDIM) {
		fail(ps, AJ_ERR_SHAPE, sub->open,
		     "too many dimensions (limit %d)", AJ_MAX_NDIM);
		return false;
	}
	return !pl->gather || check_gather_place(ps, sub, pl);
}

/* Applies view step s to the thing a plan is applied to (see apply_plan);
 * false with the error recorded. */
typedef bool (*step_fn)(parser *ps, void *obj, const aj_vstep *s,
			const char *at);

/* The view a[sub] planned as pl, by steps: slicing, then dropping indexed
 * axes (last first, so axis numbers hold), then inserting new axes (in
 * increasing position); an index array is left to the caller. */
static bool apply_plan(parser *ps, const subscript *sub, const sub_plan *pl,
		       int nd, step_fn fn, void *obj)
{
	const char *at = sub->open;
	if (pl->sliced &&
	    !fn(ps, obj, &(aj_vstep){.kind = AJ_V_SLICE, .slice = pl->slice}, at))
		return false;
	for (int k = nd - 1; k >= 0; k--)
		if (pl->isindex[k] &&
		    !fn(ps, obj, &(aj_vstep){.kind = AJ_V_INDEX, .axis = k,
					     .i = pl->index[k]}, at))
			return false;
	for (int j = 0; j < pl->nnew; j++)
		if (!fn(ps, obj, &(aj_vstep){.kind = AJ_V_EXPAND_DIMS,
					     .axis = pl->newpos[j]}, at))
			return false;
	return true;
}

/* An assignment's target on its way to a view: the name's array, or an
 * intermediate view the parser owns (own). */
typedef struct target_view {
	aj_array *v;
	bool own;
} target_view;

static bool target_step(parser *ps, void *obj, const aj_vstep *s, const char *at)
{
	target_view *t = obj;
	aj_array *next;
	aj_status st = aj_view_step(ps->p->ctx, t->v, s, &next);
	if (t->own)
		aj_array_free(t->v);
	t->own = false;
	if (st != AJ_OK)
		return fail(ps, st, at, "%s", aj_ctx_errmsg(ps->p->ctx)), false;
	*t = (target_view){next, true};
	return true;
}

/* The view a[sub] of an assignment's target: *out is a itself when that
 * selects everything as it is, else a new view the caller owns. No index
 * array, which would scatter. */
static bool apply_subscript(parser *ps, aj_array *a, const subscript *sub,
			    aj_array **out)
{
	sub_plan pl;
	target_view t = {a, false};
	if (!plan_subscript(ps, aj_array_ndim(a), aj_array_shape(a), sub, &pl))
		return false;
	if (pl.gather) {
		fail(ps, AJ_ERR_PARSE, pl.gather->at, "assignment through an "
		     "index array (a[i] = ...) is not supported");
		return false;
	}
	if (!apply_plan(ps, sub, &pl, aj_array_ndim(a), target_step, &t))
		return false;
	*out = t.v;
	return true;
}

/* Hands a new view to the resolver; false (error recorded) if it cannot
 * take it. A resolver that binds arrays must take views (parse.h). */
static bool adopt(parser *ps, aj_array *view, const char *at)
{
	if (ps->r->adopt == NULL) {
		fprintf(stderr,
			"%s:%d: a resolver bound an array but takes no "
			"views\n",
			__FILE__, __LINE__);
		abort();
	}
	if (ps->r->adopt(ps->r->env, view))
		return true;
	built(ps, AJ_EXPR_NONE, at);
	return false;
}

/* Step s of expression *e (aj_view_expr: nothing is copied). */
static bool expr_step(parser *ps, void *obj, const aj_vstep *s, const char *at)
{
	aj_expr *e = obj;
	aj_vstep named = *s;
	named.fn = "subscript";
	*e = built(ps, aj_view_expr(ps->p, *e, &named), at);
	return e->id != AJ_EXPR_NONE.id;
}

/* The leaf of r, the new array of a selection that returned s, which the
 * resolver takes (it must take arrays); or s's error, located at at. */
static aj_expr selected(parser *ps, aj_status s, aj_array *r, const char *at)
{
	if (s != AJ_OK) {
		char msg[AJ_ERRMSG_MAX];
		snprintf(msg, sizeof msg, "%s", aj_prog_errmsg(ps->p));
		return fail(ps, s, at, "%s", msg);
	}
	if (!adopt(ps, r, at))
		return AJ_EXPR_NONE;
	return built(ps, aj_leaf(ps->p, r), at);
}

/* '[' subscript ']' of e: its view, then the take of an index array, or
 * with a boolean one NumPy's selection. */
static aj_expr parse_subscripted(parser *ps, aj_expr e)
{
	subscript sub;
	sub_plan pl;
	int64_t shape[AJ_MAX_NDIM];
	int nd = aj_expr_shape(ps->p, e, shape);
	if (!parse_subscript(ps, &sub) || !plan_subscript(ps, nd, shape, &sub, &pl))
		return AJ_EXPR_NONE;
	/* the plan gives an index array one axis: a mask of other ndim must
	 * be the whole subscript */
	bool mask = pl.gather && aj_expr_dtype(ps->p, pl.gather->idx) == AJ_BOOL;
	if (mask && sub.n > 1 && aj_expr_shape(ps->p, pl.gather->idx, NULL) != 1)
		return fail(ps, AJ_ERR_PARSE, pl.gather->at, "a boolean index "
			    "that is not 1-d must be the only index (a[m])");
	if (!apply_plan(ps, &sub, &pl, nd, expr_step, &e))
		return AJ_EXPR_NONE;
	if (!pl.gather)
		return e;
	if (mask) { /* run now: its shape depends on the data (select.c) */
		if (!ps->r->adopt)
			return fail(ps, AJ_ERR_PARSE, pl.gather->at,
				    "a boolean index makes a new array: it "
				    "needs a program's namespace (aj_exec)");
		aj_array *r = NULL;
		aj_status s = aj_select_axis(ps->p, e, pl.gather->idx,
					     pl.gather_axis, &r);
		return selected(ps, s, r, pl.gather->at);
	}
	return built(ps, aj_take(ps->p, e, pl.gather->idx, pl.gather_axis),
		     pl.gather->at);
}

/*
 * postfixes := ('[' subscript ']' | '.' 'T')*
 * Views of the value of e, applied left to right (aj_view_expr): of an
 * array, a view of it; of an expression, the expression over views of its
 * arrays, so nothing is computed twice or copied.
 */
static aj_expr parse_postfixes(parser *ps, aj_expr e)
{
	while (e.id != AJ_EXPR_NONE.id && (tok_is(ps, "[") || tok_is(ps, "."))) {
		const char *at = ps->lx.tok.start;
		if (tok_is(ps, "[")) {
			e = parse_subscripted(ps, e);
			continue;
		}
		advance(ps);
		if (!tok_word(ps, "T"))
			return expected(ps, "'T' after '.'");
		advance(ps);
		e = built(ps, aj_view_expr(ps->p, e, &(aj_vstep){.kind = AJ_V_PERMUTE,
							    .fn = ".T"}), at);
	}
	return e;
}

/* The value of a name bound to an expression, checked here so a bad
 * binding names its location. */
static aj_expr name_value(parser *ps, const token *t, aj_expr e)
{
	if (aj_prog_node(ps->p, e) != NULL)
		return e;
	char msg[AJ_ERRMSG_MAX];
	aj_status s = take_builder_error(ps, msg);
	return fail(ps, s, t->start, "name '%.*s': %s", (int)t->len, t->start,
		    msg);
}

/* ---- view functions ---- */

/* How a parameter of a view function (after its array) is written. */
enum param {
	P_AXIS,		/* an axis number */
	P_AXIS_OR_NONE, /* an axis number, or None for AJ_ALL_AXES */
	P_INT,		/* any int64 literal */
	P_SHAPE,	/* a reshape's shape: an int or a tuple, -1 allowed */
};

#define MAX_VIEW_PARAMS 3

/* The parameters of a view call as parsed: v[k] per parameter, and the
 * shape of a P_SHAPE one. */
typedef struct view_args {
	int64_t v[MAX_VIEW_PARAMS];
	int nd;
	int64_t shape[AJ_MAX_NDIM];
} view_args;

/*
 * viewfn := flip | squeeze | moveaxis | diagonal | ravel | reshape
 * NumPy's names, parameters and defaults. Parameters after the array go by
 * position or keyword, as in Python; the first nrequired have no default.
 * form is the signature messages quote. Each is one step (aj_vstep) of
 * its first argument, any expression (aj_view_expr).
 */
/* clang-format off */
static const struct view_fn {
	const char *name;
	aj_vkind kind;
	int nparam, nrequired;
	const char *param[MAX_VIEW_PARAMS];
	enum param pkind[MAX_VIEW_PARAMS];
	int64_t dflt[MAX_VIEW_PARAMS];
	const char *form;
} view_fns[] = {
    {"flip", AJ_V_FLIP, 1, 0, {"axis"}, {P_AXIS_OR_NONE}, {AJ_ALL_AXES},
     "flip(a, axis=None)"},
    {"squeeze", AJ_V_SQUEEZE, 1, 0, {"axis"}, {P_AXIS_OR_NONE},
     {AJ_ALL_AXES}, "squeeze(a, axis=None)"},
    {"moveaxis", AJ_V_MOVEAXIS, 2, 2, {"source", "destination"},
     {P_AXIS, P_AXIS}, {0, 0}, "moveaxis(a, source, destination)"},
    {"diagonal", AJ_V_DIAGONAL, 3, 0, {"offset", "axis1", "axis2"},
     {P_INT, P_AXIS, P_AXIS}, {0, 0, 1},
     "diagonal(a, offset=0, axis1=0, axis2=1)"},
    {"ravel", AJ_V_RAVEL, 0, 0, {NULL}, {P_AXIS}, {0}, "ravel(a)"},
    {"reshape", AJ_V_RESHAPE, 1, 1, {"shape"}, {P_SHAPE}, {0},
     "reshape(a, shape)"},
};
/* clang-format on */

/* The step view function f makes with arguments x. */
static aj_vstep view_fn_step(const struct view_fn *f, const view_args *x)
{
	aj_vstep s = {.kind = f->kind, .fn = f->name, .ndim = x->nd,
		      .shape = x->shape};
	if (f->kind == AJ_V_DIAGONAL)
		s.i = x->v[0];
	int first = f->kind == AJ_V_DIAGONAL;
	s.axis = (int)x->v[first];
	s.axis2 = (int)x->v[first + 1];
	return s;
}

/* The view function named by token t, or NULL. */
static const struct view_fn *find_view_fn(const token *t)
{
	for (size_t i = 0; i < sizeof view_fns / sizeof view_fns[0]; i++)
		if (strlen(view_fns[i].name) == t->len &&
		    memcmp(view_fns[i].name, t->start, t->len) == 0)
			return &view_fns[i];
	return NULL;
}

/* Whether the current token names a keyword argument: name '=' (not '=='). */
static bool at_keyword(const parser *ps)
{
	const char *s = skip_blank(ps, ps->lx.pos);
	return ps->lx.tok.kind == TK_NAME && s[0] == '=' && s[1] != '=';
}

/* ('-' | '+')? INT into *v. */
static bool parse_signed(parser *ps, int64_t *v)
{
	bool neg = tok_is(ps, "-");
	if (neg || tok_is(ps, "+"))
		advance(ps);
	if (ps->lx.tok.kind != TK_INT)
		return expected(ps, "an integer"), false;
	*v = neg ? -ps->lx.tok.u.ival : ps->lx.tok.u.ival;
	advance(ps);
	return true;
}

/* newshape := int | '(' (int (',' int)* ','?)? ')', into x. */
static bool parse_newshape(parser *ps, view_args *x)
{
	x->nd = 0;
	if (!tok_is(ps, "("))
		return x->nd = 1, parse_signed(ps, &x->shape[0]);
	const char *open = ps->lx.tok.start;
	advance(ps);
	while (!tok_is(ps, ")")) {
		if (x->nd == AJ_MAX_NDIM)
			return fail(ps, AJ_ERR_SHAPE, ps->lx.tok.start, "more "
				    "than %d axes", AJ_MAX_NDIM), false;
		if (!parse_signed(ps, &x->shape[x->nd++]))
			return false;
		if (tok_is(ps, ","))
			advance(ps);
		else if (!tok_is(ps, ")"))
			return expected_close(ps, "',' or ')'", open), false;
	}
	advance(ps);
	return true;
}

/* value := INT | '-' INT | None | newshape, as parameter k of f allows,
 * into x. */
static bool parse_param(parser *ps, const struct view_fn *f, int k,
			view_args *x)
{
	int axis;
	enum param kind = f->pkind[k];
	if (kind == P_AXIS_OR_NONE && tok_word(ps, "None")) {
		advance(ps);
		return x->v[k] = AJ_ALL_AXES, true;
	}
	if (kind == P_SHAPE)
		return parse_newshape(ps, x);
	if (kind == P_INT)
		return parse_signed(ps, &x->v[k]);
	return parse_int(ps, &axis) && (x->v[k] = axis, true);
}

/* Which parameter of f the keyword t names, or -1. */
static int param_index(const struct view_fn *f, const token *t)
{
	for (int k = 0; k < f->nparam; k++)
		if (strlen(f->param[k]) == t->len &&
		    memcmp(f->param[k], t->start, t->len) == 0)
			return k;
	return -1;
}

/* The parameter of f that the next argument sets, by keyword (consuming
 * "name =") or by position; -1 with the error recorded. */
static int param_slot(parser *ps, const struct view_fn *f, int *npos,
		      bool *keywords)
{
	const token t = ps->lx.tok;
	if (at_keyword(ps)) {
		int k = param_index(f, &t);
		if (k < 0)
			return fail(ps, AJ_ERR_PARSE, t.start,
				    "%s() has no parameter '%.*s'; the form "
				    "is %s",
				    f->name, (int)t.len, t.start, f->form),
			       -1;
		advance(ps);
		advance(ps);
		*keywords = true;
		return k;
	}
	if (*keywords)
		return fail(ps, AJ_ERR_PARSE, t.start,
			    "positional argument follows keyword argument"),
		       -1;
	if (*npos == f->nparam)
		return fail(ps, AJ_ERR_PARSE, t.start,
			    "too many arguments; the form is %s", f->form),
		       -1;
	return (*npos)++;
}

/*
 * params := (',' (param '=')? value)*
 * Python's rules: positional values first, in order, then keywords; no
 * parameter twice; every required one given. x->v starts as f's defaults.
 */
static bool parse_view_params(parser *ps, const struct view_fn *f,
			      const char *at, view_args *x)
{
	bool set[MAX_VIEW_PARAMS] = {false}, keywords = false;
	int npos = 0;
	memcpy(x->v, f->dflt, sizeof f->dflt);
	x->nd = 0;
	while (tok_is(ps, ",")) {
		advance(ps);
		const char *arg = ps->lx.tok.start;
		int k = param_slot(ps, f, &npos, &keywords);
		if (k < 0)
			return false;
		if (set[k])
			return fail(ps, AJ_ERR_PARSE, arg,
				    "%s() got two values for '%s'", f->name,
				    f->param[k]),
			       false;
		set[k] = true;
		if (!parse_param(ps, f, k, x))
			return false;
	}
	for (int k = 0; k < f->nrequired; k++)
		if (!set[k])
			return fail(ps, AJ_ERR_PARSE, at,
				    "%s() is missing '%s'; the form is %s",
				    f->name, f->param[k], f->form),
			       false;
	return true;
}

/*
 * view := viewfn '(' expr params ')'
 * The current token is the function's name.
 */
static aj_expr parse_view_call(parser *ps)
{
	const struct view_fn *f = find_view_fn(&ps->lx.tok);
	const char *at = ps->lx.tok.start;
	view_args x;
	advance(ps);
	const char *open = ps->lx.tok.start;
	advance(ps);
	aj_expr e = parse_nested(ps, parse_expr);
	if (e.id == AJ_EXPR_NONE.id || !parse_view_params(ps, f, at, &x))
		return AJ_EXPR_NONE;
	if (!tok_is(ps, ")"))
		return expected_close(ps, "',' or ')'", open);
	advance(ps);
	aj_vstep s = view_fn_step(f, &x);
	return built(ps, aj_view_expr(ps->p, e, &s), at);
}

/* A bound name's value: a leaf of its array, or its expression. */
static aj_expr parse_name(parser *ps)
{
	const token t = ps->lx.tok;
	aj_array *a = NULL;
	aj_expr e = AJ_EXPR_NONE;
	if (!ps->r->lookup(ps->r->env, t.start, t.len, &a, &e))
		return fail(ps, AJ_ERR_NAME, t.start, "unknown name '%.*s'",
			    (int)t.len, t.start);
	advance(ps);
	return a ? built(ps, aj_leaf(ps->p, a), t.start) : name_value(ps, &t, e);
}

/* '(' expr ')'; the current token is '('. */
static aj_expr parse_paren(parser *ps)
{
	const char *open = ps->lx.tok.start;
	advance(ps);
	aj_expr e = parse_nested(ps, parse_expr);
	if (e.id == AJ_EXPR_NONE.id)
		return e;
	if (!tok_is(ps, ")"))
		return expected_close(ps, "')'", open);
	advance(ps);
	return e;
}

/* atom := number | True | False | view | call | name | '(' expr ')' */
static aj_expr parse_atom(parser *ps)
{
	const token t = ps->lx.tok;
	aj_expr e;
	switch (t.kind) {
	case TK_INT:
		e = aj_scalar_i64(ps->p, t.u.ival);
		break;
	case TK_FLOAT:
		e = aj_scalar_f64(ps->p, t.u.fval);
		break;
	case TK_IMAG:
		e = aj_scalar_c128(ps->p, 0, t.u.fval);
		break;
	case TK_NAME:
		if (tok_word(ps, "True") || tok_word(ps, "False")) {
			e = aj_scalar_bool(ps->p, tok_word(ps, "True"));
			break;
		}
		if (at_call(ps))
			return find_view_fn(&t) ? parse_view_call(ps)
						: parse_call(ps);
		return parse_name(ps);
	default:
		if (tok_is(ps, "("))
			return parse_paren(ps);
		return expected(ps, "an operand");
	}
	advance(ps);
	return built(ps, e, t.start);
}

/* primary := atom postfixes */
static aj_expr parse_primary(parser *ps)
{
	return parse_postfixes(ps, parse_atom(ps));
}

/*
 * power := primary ('**' unary)?
 * The exponent is a unary, so a**-b parses and a**b**c is a**(b**c); the
 * base is a primary, so -a**2 is -(a**2).
 */
static aj_expr parse_power(parser *ps)
{
	aj_expr base = parse_primary(ps);
	const struct oper *o = infix_at(ps, LV_POWER);
	if (base.id == AJ_EXPR_NONE.id || o == NULL)
		return base;
	const char *at = ps->lx.tok.start;
	advance(ps);
	aj_expr exp = parse_nested(ps, parse_unary);
	if (exp.id == AJ_EXPR_NONE.id)
		return exp;
	return apply2(ps, o->infix, base, exp, at);
}

/* unary := ('-' | '+' | '~') unary | power */
static aj_expr parse_unary(parser *ps)
{
	const token *t = &ps->lx.tok;
	if (t->kind != TK_OPER || t->u.oper->prefix == NO_PREFIX)
		return parse_power(ps);
	int op = t->u.oper->prefix;
	const char *at = t->start;
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
		const char *at = ps->lx.tok.start;
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
	const char *at = ps->lx.tok.start;
	advance(ps);
	aj_expr rhs = parse_left(ps, LV_LEFT_FIRST);
	if (rhs.id == AJ_EXPR_NONE.id)
		return rhs;
	if (infix_at(ps, LV_CMP) != NULL)
		return fail(ps, AJ_ERR_PARSE, ps->lx.tok.start,
			    "chained comparisons are not supported");
	return apply2(ps, o->infix, lhs, rhs, at);
}

/* expr := comparison */
static aj_expr parse_expr(parser *ps)
{
	return parse_comparison(ps);
}

/* ---- statements ---- */

/* The target of an assignment: a name, perhaps subscripted. */
typedef struct target {
	token name;
	bool subscripted;
	subscript sub;
} target;

enum scan { NOT_TARGET, TARGET, SCAN_ERROR };

/*
 * Whether the statement at the current token is an assignment:
 *   target := name subscript?     followed by '=' or op=
 * If not, backs up so that the statement parses as an expression. A
 * subscript reads the same either way, so its errors are reported here.
 */
static enum scan scan_target(parser *ps, target *tg)
{
	if (ps->lx.tok.kind != TK_NAME || at_call(ps))
		return NOT_TARGET;
	lexstate start = ps->lx;
	tg->name = ps->lx.tok;
	advance(ps);
	tg->subscripted = tok_is(ps, "[");
	if (tg->subscripted && !parse_subscript(ps, &tg->sub))
		return SCAN_ERROR;
	if (infix_at(ps, LV_ASSIGN))
		return TARGET;
	ps->lx = start;
	return NOT_TARGET;
}

/*
 * Where an assignment goes: *dest is the name's array or a view of it, or
 * NULL when the name is (re)bound instead. For op=, *cur gets the target's
 * present value.
 */
static bool resolve_target(parser *ps, const target *tg, bool augmented,
			   aj_array **dest, aj_expr *cur)
{
	const token *t = &tg->name;
	aj_array *a = NULL, *v;
	aj_expr e = AJ_EXPR_NONE;
	if (is_keyword(t)) {
		fail(ps, AJ_ERR_PARSE, t->start, "cannot assign to %.*s",
		     (int)t->len, t->start);
		return false;
	}
	bool bound = ps->r->lookup(ps->r->env, t->start, t->len, &a, &e);
	if (!bound && (augmented || tg->subscripted)) {
		fail(ps, AJ_ERR_NAME, t->start, "unknown name '%.*s'",
		     (int)t->len, t->start);
		return false;
	}
	if (bound && !a && tg->subscripted) {
		fail(ps, AJ_ERR_PARSE, tg->sub.open,
		     "a subscript of an expression cannot be assigned to "
		     "('%.*s' is not an array)",
		     (int)t->len, t->start);
		return false;
	}
	if (bound && !a && (augmented || e.id == AJ_EXPR_NONE.id) &&
	    (e = name_value(ps, t, e)).id == AJ_EXPR_NONE.id)
		return false;
	if (tg->subscripted) {
		if (!apply_subscript(ps, a, &tg->sub, &v) ||
		    (v != a && !adopt(ps, v, tg->sub.open)))
			return false;
		a = v;
	}
	*dest = a;
	if (augmented)
		*cur = a ? built(ps, aj_leaf(ps->p, a), t->start) : e;
	return !augmented || cur->id != AJ_EXPR_NONE.id;
}

/*
 * assignment := target ('=' | op=) expr
 * x op= e is x = x op e; into an array, the result must cast to its dtype
 * under same_kind (NumPy's in-place rule, which aj_assign checks). The
 * current token is the assignment operator.
 */
static bool parse_assignment(parser *ps, const target *tg)
{
	const struct oper *o = ps->lx.tok.u.oper;
	const char *at = ps->lx.tok.start;
	bool augmented = o->infix != AJ_NOP;
	aj_array *dest = NULL;
	aj_expr cur = AJ_EXPR_NONE;
	if (!resolve_target(ps, tg, augmented, &dest, &cur))
		return false;
	advance(ps);
	aj_expr e = parse_expr(ps);
	if (e.id == AJ_EXPR_NONE.id)
		return false;
	if (!at_end(ps)) {
		expected(ps, "an operator or end of statement");
		return false;
	}
	if (augmented &&
	    (e = apply2(ps, o->infix, cur, e, at)).id == AJ_EXPR_NONE.id)
		return false;
	if (ps->r->assign(ps->r->env, tg->name.start, tg->name.len, dest, e))
		return true;
	built(ps, AJ_EXPR_NONE, at);
	return false;
}

/*
 * statement := assignment | expr | (nothing)
 * An expression statement's value goes to the resolver.
 */
static bool parse_statement(parser *ps)
{
	target tg;
	const char *start = ps->lx.tok.start;
	if (at_end(ps))
		return true;
	switch (scan_target(ps, &tg)) {
	case TARGET:
		return parse_assignment(ps, &tg);
	case SCAN_ERROR:
		return false;
	case NOT_TARGET:
		break;
	}
	aj_expr e = parse_expr(ps);
	if (e.id == AJ_EXPR_NONE.id)
		return false;
	if (infix_at(ps, LV_ASSIGN)) {
		fail(ps, AJ_ERR_PARSE, start,
		     "cannot assign to an expression: a target is a "
		     "name, optionally subscripted");
		return false;
	}
	if (!at_end(ps)) {
		expected(ps, "an operator or end of statement");
		return false;
	}
	ps->r->result(ps->r->env, e);
	return true;
}

/* Texts longer than INT_MAX bytes are refused, so columns fit an int. */
static aj_status check_text(aj_prog *p, const char *fn, const char *text)
{
	if (text == NULL)
		return aj_prog_error(p, AJ_ERR_ARG, "%s: text is NULL", fn);
	if (strlen(text) > INT_MAX)
		return aj_prog_error(p, AJ_ERR_ARG,
				     "%s: text is longer than %d bytes", fn,
				     INT_MAX);
	return AJ_OK;
}

/* program := statement (separator statement)* */
aj_status aj_parse_program(aj_prog *p, const char *text, const aj_resolver *r)
{
	if (check_text(p, "aj_exec", text) != AJ_OK)
		return aj_prog_take_error(p);
	parser ps = {.p = p, .text = text, .stmts = true, .r = r};
	ps.lx.pos = text;
	advance(&ps);
	while (parse_statement(&ps)) {
		if (ps.lx.tok.kind == TK_END)
			return AJ_OK;
		advance(&ps); /* the separator */
	}
	return aj_prog_take_error(p);
}

/* ---- aj_parse: names from two arrays ---- */

typedef struct name_table {
	int n;
	const char *const *names;
	const aj_expr *values;
} name_table;

static bool table_lookup(void *env, const char *name, size_t len,
			 aj_array **array, aj_expr *expr)
{
	const name_table *t = env;
	for (int i = 0; i < t->n; i++) {
		if (strlen(t->names[i]) != len ||
		    memcmp(t->names[i], name, len) != 0)
			continue;
		*array = NULL;
		*expr = t->values[i];
		return true;
	}
	return false;
}

static aj_status check_args(aj_prog *p, const char *text, int nname,
			    const char *const *names, const aj_expr *values)
{
	if (check_text(p, "aj_parse", text) != AJ_OK)
		return p->err;
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
	name_table table = {nname, names, values};
	aj_resolver r = {.env = &table, .lookup = table_lookup};
	parser ps = {.p = p, .text = text, .r = &r};
	ps.lx.pos = text;
	advance(&ps);
	aj_expr e = parse_expr(&ps);
	if (e.id != AJ_EXPR_NONE.id && ps.lx.tok.kind != TK_END)
		e = expected(&ps, "an operator or end of expression");
	if (e.id == AJ_EXPR_NONE.id)
		return aj_prog_take_error(p);
	*out = e;
	return AJ_OK;
}
