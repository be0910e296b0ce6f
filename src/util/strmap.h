/* strmap.h — an open-addressing hash map from strings to ints (names of variables, ops, tokens).
 * Keys are borrowed: they must outlive the map (they usually live in an arena). */
#ifndef UTIL_STRMAP_H
#define UTIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct util_strmap {
  const char **keys;
  size_t *lens;
  int64_t *vals;
  size_t cap, count; /* cap is a power of two or 0 */
} util_strmap;

/* Insert or overwrite; returns 0, or -1 when out of memory. */
int util_strmap_put(util_strmap *m, const char *key, size_t len, int64_t val);
/* 1 and *val if present, else 0. */
int util_strmap_get(const util_strmap *m, const char *key, size_t len, int64_t *val);
void util_strmap_free(util_strmap *m);

#endif
