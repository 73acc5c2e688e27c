/*
 * The disk cache: compiled kernel objects kept in files, one per key, so
 * that a later process loads a kernel rather than compiles it. It knows
 * bytes, never LLVM: jit/ makes and links the objects, lib/cache.c decides
 * when to ask. Its rules are written at the top of diskcache.c.
 */
#ifndef AJ_DISKCACHE_H
#define AJ_DISKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct aj_disk aj_disk;

/* A file starts with this header, then the identity, the key and the
 * object bytes. Fields are in host byte order (the host is part of the
 * identity). */
typedef struct aj_disk_header {
	char magic[8];     /* AJ_DISK_MAGIC: "arrjit", format version, \n */
	uint32_t idlen;    /* bytes of identity */
	uint32_t keylen;   /* bytes of key */
	uint64_t objlen;   /* bytes of object */
	uint64_t checksum; /* aj_hash64(file, size, 0) with this field 0 */
} aj_disk_header;

#define AJ_DISK_MAGIC "arrjit1\n"

/* The default size bound, overridden by $AJ_CACHE_MAX_BYTES. */
#define AJ_DISK_MAX_BYTES ((uint64_t)64 << 20)

/* 64-bit hash of n bytes; changing any one 8-byte word of them always
 * changes it. */
uint64_t aj_hash64(const void *p, size_t n, uint64_t seed);

/*
 * Opens the cache directory the environment names, creating it if need
 * be. host_id says what generated code depends on (aj_jit_host_id); the
 * arrjit version and build are added to it, and every key is read under
 * that identity. NULL when the cache is off or unusable (wrong owner or
 * permissions, no place named): then there is simply no disk cache.
 */
aj_disk *aj_disk_open(const char *host_id);
void aj_disk_close(aj_disk *d);

/* The object stored for key: on true, *obj points into *file, a malloc'd
 * buffer the caller frees. A missing, corrupt, truncated or foreign file
 * is false. */
bool aj_disk_get(aj_disk *d, const void *key, size_t keylen,
		 unsigned char **file, const unsigned char **obj,
		 size_t *objlen);
/* Stores obj for key, replacing what was there; false if not stored.
 * Then evicts the least recently used files if the bound is passed. */
bool aj_disk_put(aj_disk *d, const void *key, size_t keylen,
		 const void *obj, size_t objlen);

#endif
