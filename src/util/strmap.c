/* strmap.c — FNV-1a hashing with linear probing; grows at 50% load. */
#include "util/strmap.h"

#include <string.h>

#include "util/alloc.h"

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static size_t find(const util_strmap *m, const char *key, size_t len) {
  size_t mask = m->cap - 1, i = (size_t)hash(key, len) & mask;
  while (m->keys[i] && !(m->lens[i] == len && !memcmp(m->keys[i], key, len))) i = (i + 1) & mask;
  return i;
}

static int grow(util_strmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  util_strmap n = {0};
  n.cap = cap;
  n.keys = util_calloc(cap, sizeof *n.keys);
  n.lens = util_calloc(cap, sizeof *n.lens);
  n.vals = util_calloc(cap, sizeof *n.vals);
  if (!n.keys || !n.lens || !n.vals) {
    util_strmap_free(&n);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = find(&n, m->keys[i], m->lens[i]);
    n.keys[j] = m->keys[i];
    n.lens[j] = m->lens[i];
    n.vals[j] = m->vals[i];
  }
  n.count = m->count;
  util_strmap_free(m);
  *m = n;
  return 0;
}

int util_strmap_put(util_strmap *m, const char *key, size_t len, int64_t val) {
  if ((m->count + 1) * 2 > m->cap && grow(m) != 0) return -1;
  size_t i = find(m, key, len);
  if (!m->keys[i]) {
    m->keys[i] = key;
    m->lens[i] = len;
    m->count++;
  }
  m->vals[i] = val;
  return 0;
}

int util_strmap_get(const util_strmap *m, const char *key, size_t len, int64_t *val) {
  if (!m->cap) return 0;
  size_t i = find(m, key, len);
  if (!m->keys[i]) return 0;
  if (val) *val = m->vals[i];
  return 1;
}

void util_strmap_free(util_strmap *m) {
  mr_free((void *)m->keys);
  mr_free(m->lens);
  mr_free(m->vals);
  memset(m, 0, sizeof *m);
}
