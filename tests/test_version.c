/*
 * The version macros of include/arrjit.h against the library (linked here
 * as the shared libarrjit.so) and CMake's project version: a header bumped
 * without the library, or the reverse, fails here.
 */
#include "arrjit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_string(void **state)
{
	char parts[32];
	snprintf(parts, sizeof parts, "%d.%d.%d", AJ_VERSION_MAJOR,
		 AJ_VERSION_MINOR, AJ_VERSION_PATCH);
	assert_string_equal(AJ_VERSION_STRING, parts);
	assert_string_equal(AJ_VERSION_STRING, AJ_PROJECT_VERSION);
	assert_string_equal(aj_version(), AJ_VERSION_STRING);
}

static void test_number(void **state)
{
	int major, minor, patch;
	assert_int_equal(
	    sscanf(aj_version(), "%d.%d.%d", &major, &minor, &patch), 3);
	assert_int_equal(aj_version_number(), AJ_VERSION_NUMBER);
	assert_int_equal(aj_version_number(),
			 major * 10000 + minor * 100 + patch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_string),
	    cmocka_unit_test(test_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
