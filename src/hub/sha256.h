/* sha256.h — SHA-256 (FIPS 180-4), used to check downloaded LFS files against their ETag. */
#ifndef HUB_SHA256_H
#define HUB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "milrun.h"

typedef struct hub_sha256 {
  uint32_t h[8];
  uint64_t len;          /* bytes hashed so far */
  unsigned char buf[64]; /* the pending partial block */
  size_t nbuf;
} hub_sha256;

void hub_sha256_init(hub_sha256 *s);
void hub_sha256_update(hub_sha256 *s, const void *data, size_t n);
/* Finish and write the digest as 64 lowercase hex digits plus NUL. */
void hub_sha256_hex(hub_sha256 *s, char hex[65]);
/* The hex digest of a whole file; MR_EIO naming the file if it cannot be read. */
int hub_sha256_file(const char *path, char hex[65], mr_error *err);

#endif
