/*
 * The disk cache of compiled kernels (lib/diskcache.c). A fresh context
 * stands for a new process: it has its own JIT and memory cache, so the
 * only way it avoids a compile is the disk. Every test works in its own
 * directory under one temporary root; the fork test uses real processes.
 */
#define _GNU_SOURCE
#include "diskcache.h"
#include "ref.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[] = "/tmp/aj-diskcache-XXXXXX";
static char dir[512]; /* the cache directory of the test at hand */

static double f0(double x) { return sin(x) * 2 + x; }
static double f1(double x) { return exp(x / 100) - x; }
static double f2(double x) { return x * x + 3; }
static double f3(double x) { return sqrt(fabs(x)) + 1; }
static double f4(double x) { return cos(x) - x * 5; }
static double f5(double x) { return tanh(x / 10); }
static double f6(double x) { return x / 7 - 2; }
static double f7(double x) { return log(fabs(x) + 1); }

/* Kernels of distinct structure (scalar values are not part of a key). */
static const char *const texts[] = {
	"sin(a) * 2 + a", "exp(a / 100) - a", "a * a + 3", "sqrt(abs(a)) + 1",
	"cos(a) - a * 5", "tanh(a / 10)",     "a / 7 - 2", "log(abs(a) + 1)"};
static double (*const refs[])(double) = {f0, f1, f2, f3, f4, f5, f6, f7};
enum { NCASE = 8, N = 1000 };

/* Case c evaluated in ctx (a program of its own); true if every element
 * is right. No cmocka here: forked children call it too. */
static bool eval_in(aj_ctx *ctx, int c)
{
	aj_prog *p;
	aj_array *a = NULL, *o = NULL;
	int64_t n = N;
	if (aj_prog_new(ctx, &p) != AJ_OK)
		return false;
	bool ok = aj_array_new(ctx, AJ_FLOAT64, 1, &n, &a) == AJ_OK &&
		  aj_array_new(ctx, AJ_FLOAT64, 1, &n, &o) == AJ_OK;
	if (ok) {
		double *x = aj_array_data(a), *y = aj_array_data(o);
		for (int k = 0; k < N; k++)
			x[k] = k * 0.37 - 150;
		const char *names[] = {"a"};
		aj_expr vals[] = {aj_leaf(p, a)}, e;
		ok = aj_parse(p, texts[c], 1, names, vals, &e) == AJ_OK &&
		     aj_assign(p, o, e) == AJ_OK && aj_sync(p) == AJ_OK;
		for (int k = 0; ok && k < N; k++) {
			double want = refs[c](x[k]);
			ok = fabs(y[k] - want) <= 1e-12 * fmax(1, fabs(want));
		}
	}
	aj_array_free(a);
	aj_array_free(o);
	aj_prog_free(p);
	return ok;
}

/* Case c in a new context ("a new process"); its statistics in *st. */
static bool eval_new(int c, aj_stats *st)
{
	aj_ctx *ctx;
	if (aj_ctx_new(&ctx) != AJ_OK)
		return false;
	bool ok = eval_in(ctx, c);
	aj_ctx_stats(ctx, st);
	aj_ctx_free(ctx);
	return ok;
}

/* Makes root/sub the cache directory (not created) with the cache on. */
static void use_dir(const char *sub)
{
	snprintf(dir, sizeof dir, "%s/%s", root, sub);
	setenv("AJ_CACHE_DIR", dir, 1);
	unsetenv("AJ_CACHE");
	unsetenv("AJ_CACHE_MAX_BYTES");
}

static bool is_cache_file(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && !strcmp(name + n - 4, ".ajo");
}

/* Cache files in dir: how many, their total size and the first's path. */
static int list_dir(uint64_t *total, char *first, size_t len)
{
	DIR *d = opendir(dir);
	int n = 0;
	*total = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || e->d_name[1] == '.'))
			continue;
		char path[1024];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		*total += (uint64_t)st.st_size;
		if (!is_cache_file(e->d_name))
			continue;
		if (n++ == 0 && first)
			snprintf(first, len, "%s", path);
	}
	if (d)
		closedir(d);
	return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	unsigned char *b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static void spit(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
}

/* Evaluates case c in a new context and checks it was loaded from disk
 * or else compiled and stored (the file was missing or refused). */
static void expect(int c, bool loaded)
{
	aj_stats st;
	assert_true(eval_new(c, &st));
	assert_int_equal(st.disk_hits, loaded);
	assert_int_equal(st.kernels_compiled, !loaded);
	assert_int_equal(st.disk_writes, !loaded);
}

static void expect_compiled(int c)
{
	expect(c, false);
}

static void expect_loaded(int c)
{
	expect(c, true);
}

/* The path of the one cache file case c makes in an empty directory. */
static void file_of(int c, const char *sub, char *path, size_t len)
{
	use_dir(sub);
	expect_compiled(c);
	uint64_t total;
	assert_int_equal(list_dir(&total, path, len), 1);
}

static void test_second_process_loads(void **state)
{
	use_dir("hit");
	expect_compiled(0);
	expect_loaded(0);
	expect_loaded(0);
	uint64_t total;
	assert_int_equal(list_dir(&total, NULL, 0), 1);
}

/* Two objects linked into one JIT, and one object into two JITs at once:
 * names derived from keys clash with nothing. */
static void test_two_objects(void **state)
{
	use_dir("two");
	expect_compiled(0);
	expect_compiled(1);
	aj_ctx *c1, *c2;
	assert_int_equal(aj_ctx_new(&c1), AJ_OK);
	assert_int_equal(aj_ctx_new(&c2), AJ_OK);
	assert_true(eval_in(c1, 0));
	assert_true(eval_in(c1, 1));
	assert_true(eval_in(c2, 1));
	assert_true(eval_in(c1, 2)); /* compiled beside two loaded ones */
	assert_true(eval_in(c2, 0));
	aj_stats s1, s2;
	aj_ctx_stats(c1, &s1);
	aj_ctx_stats(c2, &s2);
	assert_int_equal(s1.disk_hits, 2);
	assert_int_equal(s1.kernels_compiled, 1);
	assert_int_equal(s2.disk_hits, 2);
	assert_int_equal(s2.kernels_compiled, 0);
	aj_ctx_free(c1);
	aj_ctx_free(c2);
}

static void test_truncated(void **state)
{
	char path[1024];
	file_of(0, "trunc", path, sizeof path);
	size_t len;
	unsigned char *b = slurp(path, &len);
	spit(path, b, len / 2);
	expect_compiled(0);
	spit(path, b, sizeof(aj_disk_header) - 1);
	expect_compiled(0);
	free(b);
	expect_loaded(0); /* rebuilt whole */
}

static void test_flipped_byte(void **state)
{
	char path[1024];
	file_of(0, "flip", path, sizeof path);
	size_t len;
	unsigned char *b = slurp(path, &len);
	size_t at[] = {len / 2, len - 1, 9, offsetof(aj_disk_header, checksum)};
	for (int i = 0; i < 4; i++) {
		b[at[i]] ^= 0x10;
		spit(path, b, len);
		expect_compiled(0);
		b[at[i]] ^= 0x10;
	}
	free(b);
	expect_loaded(0);
}

/* Case 0's whole, valid file under case 1's name: its key is foreign. */
static void test_foreign_file(void **state)
{
	char p0[1024], p1[1024];
	file_of(0, "foreign0", p0, sizeof p0);
	file_of(1, "foreign1", p1, sizeof p1);
	size_t len;
	unsigned char *b = slurp(p0, &len);
	spit(p1, b, len);
	free(b);
	expect_compiled(1);
	expect_loaded(1);
}

/* A file with case 1's header and key and a valid checksum but another
 * object in it. */
static void forge(const char *path, const unsigned char *obj, size_t objlen)
{
	size_t len;
	unsigned char *b = slurp(path, &len);
	aj_disk_header h;
	memcpy(&h, b, sizeof h);
	size_t head = len - h.objlen;
	b = realloc(b, head + objlen);
	assert_non_null(b);
	memcpy(b + head, obj, objlen);
	h.objlen = objlen;
	h.checksum = 0;
	memcpy(b, &h, sizeof h);
	h.checksum = aj_hash64(b, head + objlen, 0);
	memcpy(b, &h, sizeof h);
	spit(path, b, head + objlen);
	free(b);
}

/* Files that pass every check but do not link as the kernel: the load
 * fails cleanly, the kernel is compiled, and the JIT is left able to
 * define the names the bad object held. */
static void test_forged_object(void **state)
{
	char p0[1024], p1[1024];
	file_of(0, "forged", p0, sizeof p0);
	unlink(p0);
	file_of(1, "forged", p1, sizeof p1);
	file_of(0, "forged0", p0, sizeof p0);
	size_t len0;
	unsigned char *b0 = slurp(p0, &len0);
	aj_disk_header h0;
	memcpy(&h0, b0, sizeof h0);
	/* case 0's object under case 1's key: defines aj_k<case 0>, not the
	 * name looked up */
	forge(p1, b0 + len0 - h0.objlen, h0.objlen);
	use_dir("forged");
	aj_ctx *ctx;
	assert_int_equal(aj_ctx_new(&ctx), AJ_OK);
	assert_true(eval_in(ctx, 1));
	assert_true(eval_in(ctx, 0)); /* compiled: its name must be free */
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	assert_int_equal(st.disk_hits, 0);
	assert_int_equal(st.kernels_compiled, 2);
	aj_ctx_free(ctx);
	expect_loaded(1); /* the compile replaced the forged file */
	unsigned char junk[200];
	memset(junk, 0x5a, sizeof junk);
	forge(p1, junk, sizeof junk);
	expect_compiled(1);
	free(b0);
}

/* Loads open final names only: a complete file under a temporary's name
 * is never read. */
static void test_temporary_never_loaded(void **state)
{
	char path[1024], tmp[1100];
	file_of(2, "tmp", path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s/.ajtmp-1-2-3", dir);
	assert_int_equal(rename(path, tmp), 0);
	expect_compiled(2);
}

static void test_dir_created_0700(void **state)
{
	use_dir("made/deep/cache");
	expect_compiled(3);
	const char *subs[] = {"made", "made/deep", "made/deep/cache"};
	for (int i = 0; i < 3; i++) {
		char path[1024];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", root, subs[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	expect_loaded(3);
}

/* Without AJ_CACHE_DIR: $XDG_CACHE_HOME/arrjit, else ~/.cache/arrjit (a
 * relative XDG_CACHE_HOME is invalid and ignored). */
static void test_default_locations(void **state)
{
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char xdg[600], fake_home[600];
	snprintf(xdg, sizeof xdg, "%s/xdg", root);
	snprintf(fake_home, sizeof fake_home, "%s/home", root);
	use_dir("xdg/arrjit");
	unsetenv("AJ_CACHE_DIR");
	setenv("XDG_CACHE_HOME", xdg, 1);
	uint64_t total;
	expect_compiled(6);
	assert_int_equal(list_dir(&total, NULL, 0), 1);
	expect_loaded(6);
	use_dir("home/.cache/arrjit");
	unsetenv("AJ_CACHE_DIR");
	setenv("XDG_CACHE_HOME", "relative/cache", 1);
	setenv("HOME", fake_home, 1);
	expect_compiled(6);
	assert_int_equal(list_dir(&total, NULL, 0), 1);
	expect_loaded(6);
	unsetenv("XDG_CACHE_HOME");
	expect_loaded(6);
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

/* A refused directory: evaluation works, the disk is never used. */
static void expect_refused(void)
{
	aj_stats st;
	for (int i = 0; i < 2; i++) {
		assert_true(eval_new(4, &st));
		assert_int_equal(st.kernels_compiled, 1);
		assert_int_equal(st.disk_hits, 0);
		assert_int_equal(st.disk_writes, 0);
	}
	uint64_t total;
	assert_int_equal(list_dir(&total, NULL, 0), 0);
	assert_int_equal(total, 0);
}

static void test_dir_writable_by_others(void **state)
{
	use_dir("open");
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	expect_refused();
	assert_int_equal(chmod(dir, 0770), 0);
	expect_refused();
}

static void test_dir_of_other_user(void **state)
{
	if (geteuid() != 0) {
		skip(); /* only root can give a directory away */
		return;
	}
	use_dir("theirs");
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chown(dir, 65534, 65534), 0);
	expect_refused();
}

static void test_off(void **state)
{
	use_dir("off");
	setenv("AJ_CACHE", "off", 1);
	aj_stats st;
	assert_true(eval_new(5, &st));
	assert_true(eval_new(5, &st));
	assert_int_equal(st.kernels_compiled, 1);
	assert_int_equal(st.disk_writes, 0);
	struct stat sb;
	assert_int_equal(stat(dir, &sb), -1);
	unsetenv("AJ_CACHE");
}

/* Eviction keeps the files under the bound, newest first. */
static void test_eviction(void **state)
{
	uint64_t largest = 0, total;
	char path[1024];
	for (int c = 0; c < NCASE; c++) {
		char sub[32];
		snprintf(sub, sizeof sub, "size%d", c);
		file_of(c, sub, path, sizeof path);
		list_dir(&total, NULL, 0);
		largest = total > largest ? total : largest;
	}
	uint64_t bound = 3 * largest;
	char env[32];
	snprintf(env, sizeof env, "%llu", (unsigned long long)bound);
	use_dir("evict");
	setenv("AJ_CACHE_MAX_BYTES", env, 1);
	for (int c = 0; c < NCASE; c++) {
		expect_compiled(c);
		int n = list_dir(&total, NULL, 0);
		assert_true(total <= bound);
		assert_true(n >= 1 && n <= c + 1);
	}
	assert_true(list_dir(&total, NULL, 0) < NCASE);
	expect_loaded(NCASE - 1); /* the newest stays */
	unsetenv("AJ_CACHE_MAX_BYTES");
}

/* Eviction over a directory of thousands of files: the listing copies
 * each name and no more (a copy of a fixed 24 bytes read past the end
 * of readdir's buffer, which ASan caught with ~2400 files). */
static void test_eviction_many_files(void **state)
{
	use_dir("many");
	assert_int_equal(mkdir(dir, 0700), 0);
	enum { NFILE = 6000 };
	for (int k = 0; k < NFILE; k++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%016llx.ajo", dir,
			 (unsigned long long)k * 0x9E3779B97F4A7C15ull);
		spit(path, "x", 1);
	}
	setenv("AJ_CACHE_MAX_BYTES", "4000", 1);
	expect_compiled(0);
	uint64_t total;
	int n = list_dir(&total, NULL, 0);
	assert_true(total <= 4000 && n < NFILE);
	unsetenv("AJ_CACHE_MAX_BYTES");
}

/* Processes filling one cache at once, each many times over: every
 * result is right, and afterwards every file loads. */
static void test_processes_race(void **state)
{
	enum { NPROC = 3, ROUNDS = 3 };
	use_dir("race");
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid[NPROC];
	for (int i = 0; i < NPROC; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			char ch;
			close(go[1]);
			if (read(go[0], &ch, 1) < 0)
				_exit(3);
			setenv("AJ_NUM_THREADS", "1", 1);
			for (int r = 0; r < ROUNDS; r++)
				for (int c = 0; c < NCASE; c++) {
					aj_stats st;
					if (!eval_new((c + i * 3) % NCASE, &st))
						_exit(1);
				}
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]); /* all start now */
	for (int i = 0; i < NPROC; i++) {
		int status;
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	uint64_t total;
	assert_int_equal(list_dir(&total, NULL, 0), NCASE); /* no temporaries */
	aj_ctx *ctx;
	assert_int_equal(aj_ctx_new(&ctx), AJ_OK);
	for (int c = 0; c < NCASE; c++)
		assert_true(eval_in(ctx, c));
	aj_stats st;
	aj_ctx_stats(ctx, &st);
	assert_int_equal(st.disk_hits, NCASE);
	assert_int_equal(st.kernels_compiled, 0);
	aj_ctx_free(ctx);
}

/* Not a check: what a compile and a load cost here. */
static void test_timing(void **state)
{
	use_dir("timing");
	uint64_t compile = 0, load = 0;
	aj_stats st;
	for (int c = 0; c < NCASE; c++) {
		assert_true(eval_new(c, &st));
		compile += st.compile_ns;
	}
	for (int c = 0; c < NCASE; c++) {
		assert_true(eval_new(c, &st));
		assert_int_equal(st.disk_hits, 1);
		load += st.disk_load_ns;
	}
	printf("disk cache: %d kernels, compile %.3f ms each, load %.3f ms each\n",
	       NCASE, compile / 1e6 / NCASE, load / 1e6 / NCASE);
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_process_loads),
		cmocka_unit_test(test_two_objects),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_foreign_file),
		cmocka_unit_test(test_forged_object),
		cmocka_unit_test(test_temporary_never_loaded),
		cmocka_unit_test(test_dir_created_0700),
		cmocka_unit_test(test_default_locations),
		cmocka_unit_test(test_dir_writable_by_others),
		cmocka_unit_test(test_dir_of_other_user),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_eviction_many_files),
		cmocka_unit_test(test_processes_race),
		cmocka_unit_test(test_timing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
