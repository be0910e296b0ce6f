/* ids.c — parsing token id lists (ids.h). */
#include "ids.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "util/alloc.h"

static int is_sep(char c) { return c == ',' || c == '[' || c == ']' || isspace((unsigned char)c); }

int tool_ids_parse(const char *s, int32_t **ids, size_t *n, size_t *cap) {
  for (;;) {
    while (*s && is_sep(*s)) s++;
    if (!*s) return 0;
    char *end;
    errno = 0;
    long long v = isdigit((unsigned char)*s) ? strtoll(s, &end, 10) : -1;
    if (v < 0 || errno || v > INT32_MAX || (*end && !is_sep(*end))) return -1;
    if (*n == *cap) {
      size_t c = *cap ? *cap * 2 : 64;
      int32_t *g = mr_realloc(*ids, c * sizeof *g);
      if (!g) return -1;
      *ids = g;
      *cap = c;
    }
    (*ids)[(*n)++] = (int32_t)v;
    s = end;
  }
}
