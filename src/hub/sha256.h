/* sha256.h — SHA-256 digests, used to check downloaded LFS files against their ETag. */
#ifndef HUB_SHA256_H
#define HUB_SHA256_H

#include <stddef.h>

#include "milrun.h"

/* The hex digest (64 lowercase hex digits plus NUL) of a whole file; MR_EIO naming the file if it
 * cannot be read. */
int hub_sha256_file(const char *path, char hex[65], mr_error *err);
/* The hex digest of n bytes in memory. */
int hub_sha256_mem(const void *data, size_t n, char hex[65], mr_error *err);

#endif
