/*
 * The library's version at run time, from the header's macros (which
 * CMakeLists.txt checks against the project version), so a program can
 * tell the header it was compiled with from the library it loaded.
 */
#include "arrjit.h"

const char *aj_version(void)
{
	return AJ_VERSION_STRING;
}

int aj_version_number(void)
{
	return AJ_VERSION_NUMBER;
}
