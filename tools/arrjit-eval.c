/*
 * arrjit-eval: runs a program (aj_exec) over .npy files and numbers given on
 * the command line and saves the values asked for as .npy files.
 *
 * Every output is assigned before one aj_sync computes them all, and
 * nothing is saved until that has succeeded. The files are then saved as
 * temporaries beside their targets and renamed into place only once every
 * one has been written, so a failing run leaves no output file (short of a
 * rename failing halfway, which is reported).
 *
 * Exit status: 0 on success, 1 for a runtime or file error, 2 for a bad
 * command line or program (the message is on stderr).
 */
/* getpid: the build is strict C11. */
#define _POSIX_C_SOURCE 200809L

#include "arrjit.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_RUN = 1, EXIT_USAGE = 2 };

static const char usage[] =
    "usage: arrjit-eval [options] PROGRAM [NAME=VALUE ...] -o OUT ...\n"
    "\n"
    "Runs PROGRAM, statements separated by ';' or newlines:\n"
    "  name = expr, name op= expr, name[1:, ::-1] = expr, expr\n"
    "Assignments to a name bound to an array write into that array;\n"
    "other names are bound to the (lazy) expression.\n"
    "\n"
    "  NAME=FILE.npy           binds NAME to the array in FILE.npy\n"
    "  NAME=NUMBER             binds NAME to a scalar: int64 if NUMBER is\n"
    "                          an integer, else float64\n"
    "  -o NAME=FILE.npy        saves NAME's value after the program\n"
    "  -o FILE.npy             saves the last expression statement's value\n"
    "  --threads N             threads for large kernels (default:\n"
    "                          $AJ_NUM_THREADS, else every CPU)\n"
    "  --stats                 prints kernel and memory counts to stderr\n"
    "  --isa ISA               host (default), scalar, avx2, avx512\n"
    "  --seed N                seed of random() and normal() (default 0;\n"
    "                          decimal, or hex with 0x)\n"
    "  --help                  this text\n"
    "\n"
    "example: arrjit-eval 't = a*b; c = t + 1; d = t*2' a=a.npy b=b.npy \\\n"
    "           -o c=c.npy -o d=d.npy\n"
    "\n"
    "Exit status: 0 ok, 1 runtime or file error, 2 bad options or program.\n";


/* NAME=VALUE from the command line. */
typedef struct input {
	char *name;
	const char *value; /* the text after '=' */
	aj_array *array;   /* loaded from value, a .npy path; else NULL */
} input;

/* -o [NAME=]PATH */
typedef struct output {
	char *name; /* NULL: the last expression statement */
	const char *path;
	aj_array *array; /* the value to save */
	bool made;	 /* array was allocated here (else it is an input's) */
	char *tmp;	 /* saved here first, then renamed to path */
	bool saved;	 /* tmp exists */
} output;

typedef struct tool {
	/* from the command line */
	const char *program;
	input *in;
	output *out;
	int nin, nout;
	int threads; /* requested; 0: the library's default */
	uint64_t seed;
	bool stats;
	aj_isa isa;
	/* built from them */
	aj_ctx *ctx;
	aj_prog *p;
	aj_names *ns;
} tool;

static int fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "arrjit-eval: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(arrjit-eval --help shows the options)\n");
	return EXIT_USAGE;
}

/* ---- command line ---- */

static bool is_name(const char *s, size_t len)
{
	if (len == 0 || !((*s >= 'a' && *s <= 'z') ||
			  (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* The NAME of "NAME=..." as a new string, or NULL if arg does not start
 * with a name and '='. */
static char *name_part(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || !is_name(arg, (size_t)(eq - arg)))
		return NULL;
	char *name = malloc((size_t)(eq - arg) + 1);
	if (name) {
		memcpy(name, arg, (size_t)(eq - arg));
		name[eq - arg] = '\0';
	}
	return name;
}


static int parse_threads(tool *t, const char *v)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > 256)
		return fail_usage("--threads needs an integer from 1 to 256, "
				  "not '%s'",
				  v);
	t->threads = (int)n;
	return 0;
}

static int parse_seed(tool *t, const char *v)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	if (errno || end == v || *end || *v == '-')
		return fail_usage("--seed needs an integer from 0 to 2^64 - 1, "
				  "not '%s'",
				  v);
	t->seed = n;
	return 0;
}

static int add_output(tool *t, const char *v)
{
	output *o = &t->out[t->nout++];
	o->name = name_part(v);
	o->path = o->name ? strchr(v, '=') + 1 : v;
	if (*o->path == '\0')
		return fail_usage("-o '%s' has no file name", v);
	return 0;
}

/* Handles one option at argv[*i]; returns 0 or an exit status (-1 for
 * --help). */
static int parse_option(tool *t, int argc, char **argv, int *i)
{
	int missing = 0;
	const char *v;
	if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0)
		return -1;
	if (strcmp(argv[*i], "--stats") == 0) {
		t->stats = true;
	} else if ((v = cli_option(argc, argv, i, "-o", &missing))) {
		return add_output(t, v);
	} else if ((v = cli_option(argc, argv, i, "--threads", &missing))) {
		return parse_threads(t, v);
	} else if ((v = cli_option(argc, argv, i, "--seed", &missing))) {
		return parse_seed(t, v);
	} else if ((v = cli_option(argc, argv, i, "--isa", &missing))) {
		if (cli_isa(v, &t->isa) < 0)
			return fail_usage("unknown ISA '%s'", v);
	} else {
		return fail_usage(missing
				      ? "option %s needs a value"
				      : "unknown option '%s' (a program "
					"starting with '-' goes after '--')",
				  argv[*i]);
	}
	return 0;
}

static int add_input(tool *t, const char *arg)
{
	input *in = &t->in[t->nin];
	in->name = name_part(arg);
	if (!in->name)
		return fail_usage("'%s' is not NAME=FILE.npy or NAME=NUMBER",
				  arg);
	t->nin++;
	in->value = strchr(arg, '=') + 1;
	for (int k = 0; k < t->nin - 1; k++)
		if (strcmp(t->in[k].name, in->name) == 0)
			return fail_usage("'%s' is given twice", in->name);
	return 0;
}

/* Fills t from the command line; returns 0 or an exit status (-1 for
 * --help). */
static int parse_command_line(tool *t, int argc, char **argv)
{
	t->in = calloc((size_t)argc, sizeof *t->in);
	t->out = calloc((size_t)argc, sizeof *t->out);
	if (!t->in || !t->out)
		return fail_usage("%s", "out of memory");
	bool options = true;
	for (int i = 1; i < argc; i++) {
		int rc = 0;
		if (options && strcmp(argv[i], "--") == 0)
			options = false;
		else if (options && argv[i][0] == '-' && argv[i][1] != '\0')
			rc = parse_option(t, argc, argv, &i);
		else if (!t->program)
			t->program = argv[i];
		else
			rc = add_input(t, argv[i]);
		if (rc != 0)
			return rc;
	}
	if (!t->program)
		return fail_usage("%s", "no program given");
	if (t->nout == 0)
		return fail_usage("%s", "no output: give -o NAME=FILE.npy or "
					"-o FILE.npy");
	return 0;
}

/* ---- inputs ---- */

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* NUMBER: an int64 if it is integer text, else a float64. */
static int bind_number(tool *t, const input *in)
{
	const char *v = in->value;
	char *end;
	errno = 0;
	long long i = strtoll(v, &end, 10);
	if (end != v && *end == '\0') {
		if (errno == ERANGE)
			return fail_usage("%s does not fit in int64", v);
		return aj_names_set_i64(t->ns, in->name, i) == AJ_OK ? 0 : -1;
	}
	double d = strtod(v, &end);
	if (end == v || *end != '\0')
		return fail_usage("'%s' is neither a .npy file nor a number",
				  v);
	return aj_names_set_f64(t->ns, in->name, d) == AJ_OK ? 0 : -1;
}

/* Loads and binds every input; returns 0 or an exit status. */
static int bind_inputs(tool *t)
{
	for (int k = 0; k < t->nin; k++) {
		input *in = &t->in[k];
		int rc;
		if (!ends_with(in->value, ".npy")) {
			rc = bind_number(t, in);
		} else if (aj_npy_load(t->ctx, in->value, &in->array) !=
			   AJ_OK) {
			fprintf(stderr, "arrjit-eval: %s\n",
				aj_ctx_errmsg(t->ctx));
			return EXIT_RUN;
		} else {
			rc = aj_names_set_array(t->ns, in->name, in->array) ==
				     AJ_OK
				 ? 0
				 : -1;
		}
		if (rc > 0)
			return rc;
		if (rc < 0) {
			fprintf(stderr, "arrjit-eval: %s: %s\n", in->name,
				aj_prog_errmsg(t->p));
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* ---- the program ---- */

/* Prints the program line msg's "line L, column C" points at, with a
 * caret under the column. */
static void show_location(const char *program, const char *msg)
{
	int line, col;
	if (sscanf(msg, "line %d, column %d", &line, &col) != 2)
		return;
	const char *s = program;
	for (int l = 1; s && l < line; l++)
		if ((s = strchr(s, '\n')) != NULL)
			s++;
	if (!s)
		return;
	int len = (int)strcspn(s, "\n");
	fprintf(stderr, "  %.*s\n  ", len, s);
	for (int k = 0; k < col - 1 && k < len; k++)
		fputc(s[k] == '\t' ? '\t' : ' ', stderr);
	fputs("^\n", stderr);
}

/* Whether a failed aj_exec is the program's fault rather than the
 * machine's. */
static bool program_error(aj_status s)
{
	return s != AJ_ERR_NOMEM && s != AJ_ERR_JIT && s != AJ_ERR_IO;
}

/* o's value: a bound array as it is after the sync, or an expression (the
 * last statement's, if o has no name) assigned to a new array. */
static int prepare_output(tool *t, output *o, aj_expr last)
{
	aj_expr e = last;
	int64_t shape[AJ_MAX_NDIM];
	if (o->name && aj_names_get(t->ns, o->name, &o->array, &e) != AJ_OK) {
		fprintf(stderr, "arrjit-eval: -o %s: %s\n", o->name,
			aj_prog_errmsg(t->p));
		return EXIT_USAGE;
	}
	if (o->array)
		return 0;
	if (e.id == AJ_EXPR_NONE.id) {
		fprintf(stderr,
			"arrjit-eval: -o %s: the program has no "
			"expression statement to save\n",
			o->path);
		return EXIT_USAGE;
	}
	int nd = aj_expr_shape(t->p, e, shape);
	if (nd < 0 || aj_array_new(t->ctx, aj_expr_dtype(t->p, e), nd, shape,
				   &o->array) != AJ_OK) {
		fprintf(stderr, "arrjit-eval: -o %s: %s\n", o->path,
			nd < 0 ? "not a valid expression (stale?)"
			       : aj_ctx_errmsg(t->ctx));
		return EXIT_RUN;
	}
	o->made = true;
	if (aj_assign(t->p, o->array, e) != AJ_OK) {
		fprintf(stderr, "arrjit-eval: -o %s: %s\n", o->path,
			aj_prog_errmsg(t->p));
		return EXIT_RUN;
	}
	return 0;
}

/* Assigns every output, then computes them all with one aj_sync. */
static int compute(tool *t)
{
	aj_expr last;
	aj_status s = aj_exec(t->ns, t->program, &last);
	if (s != AJ_OK) {
		fprintf(stderr, "arrjit-eval: program: %s\n",
			aj_prog_errmsg(t->p));
		show_location(t->program, aj_prog_errmsg(t->p));
		return program_error(s) ? EXIT_USAGE : EXIT_RUN;
	}
	for (int k = 0; k < t->nout; k++) {
		int rc = prepare_output(t, &t->out[k], last);
		if (rc)
			return rc;
	}
	if (aj_sync(t->p) != AJ_OK) {
		fprintf(stderr, "arrjit-eval: %s\n", aj_prog_errmsg(t->p));
		return EXIT_RUN;
	}
	return 0;
}

/* ---- outputs ---- */

static void remove_temps(tool *t)
{
	for (int k = 0; k < t->nout; k++)
		if (t->out[k].saved && unlink(t->out[k].tmp) == 0)
			t->out[k].saved = false;
}

/* Saves every output to a temporary beside it; then renames them all. */
static int save_outputs(tool *t)
{
	for (int k = 0; k < t->nout; k++) {
		output *o = &t->out[k];
		size_t n = strlen(o->path) + 64;
		if (!(o->tmp = malloc(n))) {
			remove_temps(t);
			return fprintf(stderr, "arrjit-eval: out of memory\n"),
			       EXIT_RUN;
		}
		snprintf(o->tmp, n, "%s.arrjit-eval-%ld-%d.tmp", o->path,
			 (long)getpid(), k);
		if (aj_npy_save(t->ctx, o->tmp, o->array) != AJ_OK) {
			fprintf(stderr, "arrjit-eval: cannot write %s: %s\n",
				o->path, aj_ctx_errmsg(t->ctx));
			remove_temps(t);
			return EXIT_RUN;
		}
		o->saved = true;
	}
	for (int k = 0; k < t->nout; k++) {
		output *o = &t->out[k];
		if (rename(o->tmp, o->path) != 0) {
			fprintf(stderr,
				"arrjit-eval: cannot rename %s to %s: "
				"%s (%d of %d outputs written)\n",
				o->tmp, o->path, strerror(errno), k, t->nout);
			remove_temps(t);
			return EXIT_RUN;
		}
		o->saved = false;
	}
	return 0;
}

static void print_stats(const tool *t)
{
	aj_stats st;
	aj_ctx_stats(t->ctx, &st);
	fprintf(stderr,
		"arrjit-eval: kernels compiled %llu, cache hits %llu, "
		"kernels run %llu, temporary bytes %llu, compile time %.3f ms, "
		"parallel runs %llu, threads %d, groups %llu, disk hits %llu, "
		"disk writes %llu, disk load time %.3f ms\n",
		(unsigned long long)st.kernels_compiled,
		(unsigned long long)st.cache_hits,
		(unsigned long long)st.kernels_run,
		(unsigned long long)st.temp_bytes, (double)st.compile_ns / 1e6,
		(unsigned long long)st.parallel_runs, aj_ctx_threads(t->ctx),
		(unsigned long long)st.groups, (unsigned long long)st.disk_hits,
		(unsigned long long)st.disk_writes,
		(double)st.disk_load_ns / 1e6);
}

/* ---- main ---- */

static int start(tool *t)
{
	if (aj_ctx_new(&t->ctx) != AJ_OK)
		return fprintf(stderr,
			       "arrjit-eval: cannot create a context\n"),
		       EXIT_RUN;
	if (aj_ctx_set_isa(t->ctx, t->isa) != AJ_OK)
		return fprintf(stderr, "arrjit-eval: --isa: %s\n",
			       aj_ctx_errmsg(t->ctx)),
		       EXIT_USAGE;
	if (t->threads)
		aj_ctx_set_threads(t->ctx, t->threads);
	aj_ctx_set_seed(t->ctx, t->seed);
	if (aj_prog_new(t->ctx, &t->p) != AJ_OK ||
	    aj_names_new(t->p, &t->ns) != AJ_OK)
		return fprintf(stderr, "arrjit-eval: out of memory\n"),
		       EXIT_RUN;
	return 0;
}

static void finish(tool *t)
{
	aj_names_free(t->ns);
	aj_prog_free(t->p);
	for (int k = 0; t->in && k < t->nin; k++) {
		aj_array_free(t->in[k].array);
		free(t->in[k].name);
	}
	for (int k = 0; t->out && k < t->nout; k++) {
		if (t->out[k].made)
			aj_array_free(t->out[k].array);
		free(t->out[k].name);
		free(t->out[k].tmp);
	}
	aj_ctx_free(t->ctx);
	free(t->in);
	free(t->out);
}

int main(int argc, char **argv)
{
	tool t = {.isa = AJ_ISA_HOST};
	int rc = parse_command_line(&t, argc, argv);
	if (rc < 0)
		fputs(usage, stdout);
	if (rc == 0)
		rc = start(&t);
	if (rc == 0)
		rc = bind_inputs(&t);
	if (rc == 0)
		rc = compute(&t);
	if (rc == 0)
		rc = save_outputs(&t);
	if (t.stats && t.ctx)
		print_stats(&t);
	finish(&t);
	return rc < 0 ? 0 : rc;
}
