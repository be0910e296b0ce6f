/* arena.c — bump allocation in growing blocks. */
#include "util/arena.h"

#include <string.h>

#include "util/alloc.h"

struct util_arena_block {
  util_arena_block *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
};

void *util_arena_alloc(util_arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  util_arena_block *b = a->head;
  if (!b || b->size - b->used < size) {
    size_t bs = (b && b->size < (1u << 20)) ? b->size * 2 : 16384;
    if (bs < size) bs = size;
    util_arena_block *nb = mr_alloc(sizeof *nb + bs);
    if (!nb) return NULL;
    nb->next = b;
    nb->size = bs;
    nb->used = 0;
    a->head = b = nb;
  }
  void *p = b->data + b->used;
  b->used += size;
  a->used_total += size;
  memset(p, 0, size);
  return p;
}

char *util_arena_strndup(util_arena *a, const char *s, size_t n) {
  char *p = util_arena_alloc(a, n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

void util_arena_free(util_arena *a) {
  util_arena_block *b = a->head;
  while (b) {
    util_arena_block *n = b->next;
    mr_free(b);
    b = n;
  }
  a->head = NULL;
  a->used_total = 0;
}
