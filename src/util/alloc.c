/* alloc.c — the one allocator hook (docs/style.md §8). Every heap allocation in milrun goes through
 * mr_alloc/mr_realloc/mr_free so that an embedder can replace the allocator and tests can make the
 * Nth allocation fail (util_alloc_fail_after). */
#include "util/alloc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static void *default_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

static mr_realloc_fn g_realloc = default_realloc;
static void *g_ud = NULL;
/* Fault injection for tests: number of allocations left before one fails; < 0 = never fail. */
static long g_fail_after = -1;
/* Allocations that returned NULL so far: lets callers of libraries that do not report running out
 * of memory (cJSON says "invalid JSON") tell the two apart. */
static unsigned long g_failures;

unsigned long util_alloc_failures(void) { return g_failures; }

void mr_set_allocator(mr_realloc_fn realloc_fn, void *ud) {
  g_realloc = realloc_fn ? realloc_fn : default_realloc;
  g_ud = realloc_fn ? ud : NULL;
  /* cJSON (metadata.json, tokenizer files, hub replies) allocates through its own hooks. */
  cJSON_Hooks hooks = {mr_alloc, mr_free};
  cJSON_InitHooks(realloc_fn ? &hooks : NULL);
}

void util_alloc_fail_after(long n) { g_fail_after = n; }

static int should_fail(void) {
  if (g_fail_after < 0) return 0;
  if (g_fail_after == 0) return 1;
  g_fail_after--;
  return 0;
}

void *mr_alloc(size_t size) {
  void *p = should_fail() ? NULL : g_realloc(g_ud, NULL, size ? size : 1);
  if (!p) g_failures++;
  return p;
}

void *mr_realloc(void *ptr, size_t size) {
  void *p = should_fail() ? NULL : g_realloc(g_ud, ptr, size ? size : 1);
  if (!p) g_failures++;
  return p;
}

void mr_free(void *ptr) {
  if (ptr) g_realloc(g_ud, ptr, 0);
}

void *util_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = mr_alloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

char *util_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = mr_alloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

char *util_strndup(const char *s, size_t n) {
  char *p = mr_alloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}
