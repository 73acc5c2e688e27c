/*
 * The parser's view of names and statements. parse.c owns the text (lexer,
 * grammar, subscripts, messages with their line and column); whoever calls
 * it owns the meaning of names: aj_parse binds them from two arrays,
 * aj_exec (program.c) from a namespace, which also performs assignments.
 *
 * Every callback that can fail records its error in the program (as a
 * builder does) and reports failure; the parser then re-records the error
 * with the location of the construct that caused it.
 */
#ifndef AJ_PARSE_H
#define AJ_PARSE_H

#include "core.h"

typedef struct aj_resolver {
	void *env;
	/* The binding of name[0 .. len): false if unbound. An array binding
	 * sets *array (reads become aj_leaf, and may be subscripted); any
	 * other sets *array to NULL and *expr to its value, AJ_EXPR_NONE with
	 * an error recorded if building that value failed. */
	bool (*lookup)(void *env, const char *name, size_t len,
		       aj_array **array, aj_expr *expr);
	/* Takes ownership of view, made for a subscript, .T or a view
	 * function such as flip(a); it must live until the work reading it
	 * has run. On failure frees view. NULL when no name can be an array. */
	bool (*adopt)(void *env, aj_array *view);
	/* Statements only. name = value: into target, when not NULL (the
	 * name's array or a view of it, as a pending assignment), else a
	 * rebinding of name to value. */
	bool (*assign)(void *env, const char *name, size_t len,
		       aj_array *target, aj_expr value);
	/* Statements only: value is the value of an expression statement. */
	void (*result)(void *env, aj_expr value);
} aj_resolver;

/* Runs the statements of text through r (see aj_exec in arrjit.h for the
 * language). Messages start "line L, column C: ". Stops at the first error,
 * leaving whatever the callbacks did before it for the caller to undo. */
aj_status aj_parse_program(aj_prog *p, const char *text, const aj_resolver *r);

#endif
