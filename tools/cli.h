/*
 * Command-line pieces the tools share: ISA names and "--opt V" / "--opt=V"
 * option values.
 */
#ifndef AJ_TOOLS_CLI_H
#define AJ_TOOLS_CLI_H

#include "arrjit.h"

/* host, scalar, avx2, avx512 -> *isa; -1 if name is none of them. */
int cli_isa(const char *name, aj_isa *isa);

/* The value of option opt at argv[*i]: "--opt=V" or "--opt V" (then *i
 * moves past V). NULL if argv[*i] is not opt; *missing is set when the
 * value is absent. */
const char *cli_option(int argc, char **argv, int *i, const char *opt,
		       int *missing);

#endif
