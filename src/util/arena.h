/* arena.h — a bump allocator whose memory is freed all at once (IR of a program, plan data). */
#ifndef UTIL_ARENA_H
#define UTIL_ARENA_H

#include <stddef.h>

typedef struct util_arena_block util_arena_block;
typedef struct util_arena {
  util_arena_block *head;
  size_t used_total; /* bytes handed out, for memory reports */
} util_arena;

/* 16-byte aligned memory, zeroed; NULL when out of memory. */
void *util_arena_alloc(util_arena *a, size_t size);
char *util_arena_strndup(util_arena *a, const char *s, size_t n);
void util_arena_free(util_arena *a);

#endif
