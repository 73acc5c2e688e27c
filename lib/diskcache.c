/*
 * The disk cache's files: where they live, how they are checked, written
 * and evicted.
 *
 * Where: $AJ_CACHE_DIR, else $XDG_CACHE_HOME/arrjit, else
 * $HOME/.cache/arrjit; AJ_CACHE=off (or 0) turns the cache off. Missing
 * directories are created 0700.
 *
 * Rules:
 * - The directory must belong to us and be writable by no one else (group
 *   or others), else there is no cache: whoever can write there can make
 *   us run their code. Every file is reached through the directory's
 *   descriptor (openat, renameat), so swapping a path after the check
 *   changes nothing, and must be a regular file of ours.
 * - A file is written under a temporary name (TMP_PREFIX...) and renamed
 *   to its final name, so a reader sees a whole file or none. Loads open
 *   final names only, never temporaries. No fsync: a file a crash cut
 *   short fails its checksum.
 * - A file loads only if its lengths add up to its size, its checksum
 *   holds and its identity and key equal ours byte for byte: a truncated,
 *   corrupt or foreign file is a miss, and the compile that follows
 *   replaces it.
 * - Identity: the host (LLVM version, triple, CPU name and features), the
 *   arrjit version and the ELF build ID of the code that holds arrjit, so
 *   a rebuilt code generator never loads an object of an older one.
 * - Our files total at most the bound ($AJ_CACHE_MAX_BYTES, a number of
 *   bytes with an optional K, M or G; 64 MiB by default): past it the
 *   least recently used go, down to 3/4 of it (a hit touches its file's
 *   mtime). Temporaries of writers that died are removed after a while.
 * Failures are misses: nothing here makes an evaluation fail, and nothing
 * prints.
 */
#include "diskcache.h"
#include "alloc.h"
#include "arrjit.h" /* AJ_VERSION_STRING */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_PREFIX ".ajtmp-"
#define FILE_SUFFIX ".ajo"

enum {
	SCAN_EVERY = 32,     /* puts between directory scans */
	STALE_TMP_S = 600,   /* age of a temporary whose writer has died */
};

struct aj_disk {
	int dir;             /* the directory, for the *at calls */
	unsigned char *id;   /* identity, the first part of every key */
	size_t idlen;
	uint64_t max_bytes;  /* the size bound */
	uint64_t approx;     /* bytes at the last scan plus our puts since */
	bool scanned;        /* approx is known */
	unsigned puts;       /* since the last scan */
	unsigned ntmp;       /* temporary names used */
};

static uint64_t mix(uint64_t h, uint64_t x)
{
	h = (h ^ x) * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}

uint64_t aj_hash64(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = 0x243F6A8885A308D3ull ^ seed ^ n, x;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, b + i, 8);
		h = mix(h, x);
	}
	if (i < n) {
		x = 0;
		memcpy(&x, b + i, n - i);
		h = mix(h, x);
	}
	return h;
}

/* ---- identity ---- */

typedef struct build_id {
	uintptr_t addr; /* an address inside the object we look for */
	char hex[65];
} build_id;

/* Hex of an ELF note's NT_GNU_BUILD_ID found in a PT_NOTE segment. */
static void note_build_id(const char *p, size_t size, char *hex)
{
	size_t at = 0;
	while (at + sizeof(ElfW(Nhdr)) <= size) {
		const ElfW(Nhdr) *n = (const void *)(p + at);
		size_t name = at + sizeof *n, desc = name + ((n->n_namesz + 3) & ~3u);
		at = desc + ((n->n_descsz + 3) & ~3u);
		if (at > size || n->n_type != NT_GNU_BUILD_ID || n->n_namesz != 4 ||
		    memcmp(p + name, "GNU", 4) || n->n_descsz > 32)
			continue;
		for (size_t i = 0; i < n->n_descsz; i++)
			sprintf(hex + 2 * i, "%02x", (unsigned char)p[desc + i]);
		return;
	}
}

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	build_id *b = data;
	bool mine = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && b->addr - lo < ph->p_memsz)
			mine = true;
	}
	if (!mine)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE)
			note_build_id((const char *)(info->dlpi_addr + ph->p_vaddr),
				      ph->p_memsz, b->hex);
	}
	return 1;
}

/* host_id, the arrjit version and the build ID, malloc'd. */
static char *identity(const char *host_id, size_t *len)
{
	build_id b = {(uintptr_t)&aj_disk_open, ""};
	dl_iterate_phdr(find_build_id, &b);
	size_t n =
	    strlen(host_id) + sizeof AJ_VERSION_STRING + sizeof b.hex + 32;
	char *id = aj_malloc(n);
	if (id)
		*len = (size_t)snprintf(id, n, "%s;arrjit %s;build %s", host_id,
					AJ_VERSION_STRING, b.hex);
	return id;
}

/* ---- the directory ---- */

static bool env_off(const char *v)
{
	return v && (!strcasecmp(v, "off") || !strcmp(v, "0") ||
		     !strcasecmp(v, "no") || !strcasecmp(v, "false"));
}

/* The directory the environment names, malloc'd; NULL when off or none. */
static char *dir_path(void)
{
	if (env_off(getenv("AJ_CACHE")))
		return NULL;
	const char *v = getenv("AJ_CACHE_DIR");
	if (v && *v)
		return aj_strdup(v);
	const char *base = getenv("XDG_CACHE_HOME"), *sub = "/arrjit";
	if (!base || base[0] != '/') { /* XDG: a relative path is invalid */
		base = getenv("HOME");
		sub = "/.cache/arrjit";
	}
	if (!base || base[0] != '/')
		return NULL;
	size_t n = strlen(base) + strlen(sub) + 1;
	char *path = aj_malloc(n);
	if (path)
		snprintf(path, n, "%s%s", base, sub);
	return path;
}

/* Creates the missing directories of path, each 0700. */
static void make_dirs(char *path)
{
	for (char *s = path + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(path, 0700);
			*s = '/';
		}
	mkdir(path, 0700);
}

/* The directory, open, if it is ours and no one else may write it; else -1. */
static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) || !S_ISDIR(st.st_mode) ||
			st.st_uid != geteuid() ||
			(st.st_mode & (S_IWGRP | S_IWOTH)))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* $AJ_CACHE_MAX_BYTES: bytes, or K, M or G of them; the default else. */
static uint64_t max_bytes(void)
{
	const char *v = getenv("AJ_CACHE_MAX_BYTES");
	if (!v || !*v)
		return AJ_DISK_MAX_BYTES;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20
		    : *end == 'G' ? 30 : 0;
	if (shift)
		end++;
	if (errno || *end || end == v || n == 0 || n > (UINT64_MAX >> shift))
		return AJ_DISK_MAX_BYTES;
	return (uint64_t)n << shift;
}

aj_disk *aj_disk_open(const char *host_id)
{
	char *path = dir_path();
	if (!path)
		return NULL;
	make_dirs(path);
	int fd = open_dir(path);
	aj_free(path);
	aj_disk *d = fd >= 0 ? aj_calloc(1, sizeof *d) : NULL;
	if (d)
		d->id = (unsigned char *)identity(host_id, &d->idlen);
	if (!d || !d->id) {
		if (fd >= 0)
			close(fd);
		aj_free(d);
		return NULL;
	}
	d->dir = fd;
	d->max_bytes = max_bytes();
	return d;
}

void aj_disk_close(aj_disk *d)
{
	if (!d)
		return;
	close(d->dir);
	aj_free(d->id);
	aj_free(d);
}

/* ---- files ---- */

/* The hash of identity and key, as hex, then FILE_SUFFIX. */
static void file_name(const aj_disk *d, const void *key, size_t keylen,
		      char buf[24])
{
	uint64_t h = aj_hash64(key, keylen, aj_hash64(d->id, d->idlen, 0));
	snprintf(buf, 24, "%016" PRIx64 FILE_SUFFIX, h);
}

static bool is_cache_file(const char *name)
{
	size_t n = strlen(name);
	return n == 16 + strlen(FILE_SUFFIX) &&
	       strspn(name, "0123456789abcdef") == 16 &&
	       !strcmp(name + 16, FILE_SUFFIX);
}

static bool is_tmp_file(const char *name)
{
	return !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX));
}

/* The whole of regular file fd if it is ours and at most the bound;
 * malloc'd, NULL else. */
static unsigned char *read_file(const aj_disk *d, int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size < (off_t)sizeof(aj_disk_header) ||
	    (uint64_t)st.st_size > d->max_bytes)
		return NULL;
	size_t n = (size_t)st.st_size, got = 0;
	unsigned char *buf = aj_malloc(n);
	while (buf && got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			aj_free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	*len = n;
	return buf;
}

/* Whether file buf of n bytes holds key under our identity: on true,
 * *obj and *objlen are its object. */
static bool check(const aj_disk *d, unsigned char *buf, size_t n,
		  const void *key, size_t keylen, const unsigned char **obj,
		  size_t *objlen)
{
	aj_disk_header h;
	memcpy(&h, buf, sizeof h);
	memset(buf + offsetof(aj_disk_header, checksum), 0, sizeof h.checksum);
	if (memcmp(h.magic, AJ_DISK_MAGIC, sizeof h.magic) || h.objlen > n ||
	    sizeof h + (uint64_t)h.idlen + h.keylen + h.objlen != n ||
	    aj_hash64(buf, n, 0) != h.checksum)
		return false;
	const unsigned char *id = buf + sizeof h, *k = id + h.idlen;
	if (h.idlen != d->idlen || memcmp(id, d->id, d->idlen) ||
	    h.keylen != keylen || memcmp(k, key, keylen))
		return false;
	*obj = k + keylen;
	*objlen = (size_t)h.objlen;
	return true;
}

bool aj_disk_get(aj_disk *d, const void *key, size_t keylen,
		 unsigned char **file, const unsigned char **obj,
		 size_t *objlen)
{
	char name[24];
	file_name(d, key, keylen, name);
	int fd = openat(d->dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t n;
	unsigned char *buf = read_file(d, fd, &n);
	bool ok = buf && check(d, buf, n, key, keylen, obj, objlen);
	if (ok)
		futimens(fd, NULL); /* recently used: evicted last */
	close(fd);
	if (!ok)
		aj_free(buf);
	*file = ok ? buf : NULL;
	return ok;
}

static bool write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Writes file `name` whole or not at all: a temporary, then a rename. The
 * temporary's name is unique among live processes (pid) and our open
 * directories (descriptor). */
static bool write_file(aj_disk *d, const char *name, const unsigned char *buf,
		       size_t n)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, TMP_PREFIX "%ld-%d-%u", (long)getpid(), d->dir,
		 d->ntmp++);
	int fd = openat(d->dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = write_all(fd, buf, n);
	ok = close(fd) == 0 && ok;
	ok = ok && renameat(d->dir, tmp, d->dir, name) == 0;
	if (!ok)
		unlinkat(d->dir, tmp, 0);
	return ok;
}

/* ---- eviction ---- */

typedef struct file_info {
	struct timespec mtime;
	uint64_t size;
	char name[24];
} file_info;

static int older_first(const void *a, const void *b)
{
	const struct timespec *x = &((const file_info *)a)->mtime,
			      *y = &((const file_info *)b)->mtime;
	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return (x->tv_nsec > y->tv_nsec) - (x->tv_nsec < y->tv_nsec);
}

/* Our cache files, malloc'd, and the bytes of them and of live
 * temporaries; stale temporaries are removed on the way. NULL on error. */
static file_info *list_files(aj_disk *d, size_t *count, uint64_t *total)
{
	int fd = openat(d->dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	file_info *f = NULL;
	size_t n = 0, cap = 0;
	*total = 0;
	time_t now = time(NULL);
	for (struct dirent *e; (e = readdir(dir));) {
		struct stat st;
		bool tmp = is_tmp_file(e->d_name);
		if ((!tmp && !is_cache_file(e->d_name)) ||
		    fstatat(d->dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (tmp && now - st.st_mtime > STALE_TMP_S) {
			unlinkat(d->dir, e->d_name, 0);
			continue;
		}
		*total += (uint64_t)st.st_size;
		if (tmp)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			file_info *g = aj_realloc(f, cap * sizeof *f);
			if (!g) {
				aj_free(f);
				closedir(dir);
				return NULL;
			}
			f = g;
		}
		f[n].mtime = st.st_mtim;
		f[n].size = (uint64_t)st.st_size;
		/* a cache file's name is 20 characters and its NUL (and
		 * d_name may end right there: copy no more) */
		memcpy(f[n].name, e->d_name, 16 + sizeof FILE_SUFFIX);
		n++;
	}
	closedir(dir);
	*count = n;
	return f ? f : aj_malloc(1);
}

/* Measures the directory and, past the bound, removes the least recently
 * used files until it is down to 3/4 of it. */
static void evict(aj_disk *d)
{
	size_t n;
	uint64_t total;
	file_info *f = list_files(d, &n, &total);
	if (!f)
		return;
	if (total > d->max_bytes) {
		qsort(f, n, sizeof *f, older_first);
		uint64_t low = d->max_bytes / 4 * 3;
		for (size_t i = 0; i < n && total > low; i++)
			if (unlinkat(d->dir, f[i].name, 0) == 0 || errno == ENOENT)
				total -= f[i].size;
	}
	aj_free(f);
	d->approx = total;
	d->scanned = true;
	d->puts = 0;
}

bool aj_disk_put(aj_disk *d, const void *key, size_t keylen,
		 const void *obj, size_t objlen)
{
	aj_disk_header h = {.idlen = (uint32_t)d->idlen,
			    .keylen = (uint32_t)keylen,
			    .objlen = objlen};
	memcpy(h.magic, AJ_DISK_MAGIC, sizeof h.magic);
	size_t n = sizeof h + d->idlen + keylen + objlen;
	unsigned char *buf = n <= d->max_bytes ? aj_malloc(n) : NULL;
	if (!buf)
		return false;
	memcpy(buf, &h, sizeof h);
	memcpy(buf + sizeof h, d->id, d->idlen);
	memcpy(buf + sizeof h + d->idlen, key, keylen);
	memcpy(buf + sizeof h + d->idlen + keylen, obj, objlen);
	h.checksum = aj_hash64(buf, n, 0);
	memcpy(buf, &h, sizeof h);
	char name[24];
	file_name(d, key, keylen, name);
	bool ok = write_file(d, name, buf, n);
	aj_free(buf);
	if (ok)
		d->approx += n;
	if (!d->scanned || d->approx > d->max_bytes || ++d->puts >= SCAN_EVERY)
		evict(d);
	return ok;
}
