/*
 * fuzz_npy: a .npy file's bytes, loaded three ways that must agree.
 *
 * aj_npy_load_mem reads the bytes; aj_npy_load reads the same bytes from a
 * memfd (the file path, with its own preamble, header and data reads).
 * Both fail or both succeed, and a failure leaves *out untouched. On
 * success the arrays are equal, every element is read (ASan checks the
 * extent), and a save and reload gives the same array back.
 */
#define _GNU_SOURCE /* memfd_create */

#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char dir[64];

static void load_fd(const uint8_t *data, size_t size, aj_status *st,
		    aj_array **out)
{
	int fd = memfd_create("fuzz_npy", MFD_CLOEXEC);
	check(fd >= 0, "memfd_create failed");
	check(size == 0 || write(fd, data, size) == (ssize_t)size,
	      "memfd write failed");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	*st = aj_npy_load(fuzz_ctx(), path, out);
	close(fd);
}

static void round_trip(const aj_array *a)
{
	char path[128];
	aj_array *b = NULL;
	snprintf(path, sizeof path, "%s/a.npy", dir);
	aj_status st = aj_npy_save(fuzz_ctx(), path, a);
	check(st == AJ_OK, "save: %s", aj_ctx_errmsg(fuzz_ctx()));
	st = aj_npy_load(fuzz_ctx(), path, &b);
	check(st == AJ_OK, "reload: %s", aj_ctx_errmsg(fuzz_ctx()));
	check(fuzz_same_array(a, b), "a saved and reloaded array differs");
	aj_array_free(b);
	unlink(path);
}

static void remove_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/fuzz_npy_XXXXXX", tmp ? tmp : "/tmp");
	check(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
	atexit(remove_dir);
	fuzz_ctx();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	aj_array *const untouched = (aj_array *)&dir;
	aj_array *m = untouched, *f = untouched;
	aj_status sm = aj_npy_load_mem(fuzz_ctx(), data, size, "input", &m);
	check(sm == AJ_OK || m == untouched, "load_mem failed, wrote *out");
	aj_status sf;
	load_fd(data, size, &sf, &f);
	check(sf == AJ_OK || f == untouched, "load failed, wrote *out");
	check((sm == AJ_OK) == (sf == AJ_OK),
	      "load_mem gives %d, load %d (%s)", sm, sf,
	      aj_ctx_errmsg(fuzz_ctx()));
	if (sm != AJ_OK) {
		check(strstr(aj_ctx_errmsg(fuzz_ctx()), "/proc/self/fd/") !=
			      NULL,
		      "load's message does not name the file: %s",
		      aj_ctx_errmsg(fuzz_ctx()));
		return 0;
	}
	check(fuzz_same_array(m, f), "load_mem and load read different arrays");
	round_trip(m);
	aj_array_free(m);
	aj_array_free(f);
	return 0;
}
