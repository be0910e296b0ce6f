/* file.h — reading, mapping and atomically writing files; making and removing folders. */
#ifndef UTIL_FILE_H
#define UTIL_FILE_H

#include <stddef.h>

#include "milrun.h"

/* A read-only view of a whole file: mapped when possible (weights can be GBs), else read. */
typedef struct util_map {
  const unsigned char *data;
  size_t size;
  int mapped; /* 1: munmap on close; 0: nothing mapped (empty file); -1: borrowed memory */
} util_map;

int util_map_open(util_map *m, const char *path, mr_error *err);
void util_map_close(util_map *m);

/* Read a whole file into a NUL-terminated buffer (*out, owned by the caller, free with mr_free). */
int util_read_file(const char *path, char **out, size_t *size, mr_error *err);

/* Write `size` bytes to `path` through a temporary file in the same folder and a rename, so that a
 * failure never leaves a partial file under the final name. */
int util_write_file_atomic(const char *path, const void *data, size_t size, mr_error *err);

/* Join a directory and a relative path into a new string (free with mr_free); NULL if no memory. */
char *util_path_join(const char *dir, const char *rel);
int util_is_dir(const char *path);
/* Bytes of the regular files at or under path (links not followed); 0 when there is none. */
int64_t util_tree_bytes(const char *path);
int util_exists(const char *path);
/* mkdir -p. */
int util_mkdirs(const char *path, mr_error *err);
/* rm -rf that never follows a link (a link is removed, not what it points to); MR_OK when `path`
 * does not exist, else MR_EIO naming `path`. Allocates nothing through mr_alloc. */
int util_remove_tree(const char *path, mr_error *err);

#endif
