/* Command-line pieces the tools share; see cli.h. */
#include "cli.h"

#include <string.h>

static const struct {
	const char *name;
	aj_isa isa;
} isas[] = {
	{"host", AJ_ISA_HOST},
	{"scalar", AJ_ISA_SCALAR},
	{"avx2", AJ_ISA_AVX2},
	{"avx512", AJ_ISA_AVX512},
};

int cli_isa(const char *name, aj_isa *isa)
{
	for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
		if (strcmp(isas[i].name, name) == 0) {
			*isa = isas[i].isa;
			return 0;
		}
	return -1;
}

const char *cli_option(int argc, char **argv, int *i, const char *opt,
		       int *missing)
{
	size_t n = strlen(opt);
	const char *a = argv[*i];
	if (strncmp(a, opt, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}
