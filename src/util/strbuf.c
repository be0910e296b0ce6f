/* strbuf.c — growable strings. */
#include "util/strbuf.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

static int grow(util_sb *sb, size_t extra) {
  if (sb->failed) return 0;
  if (sb->len + extra + 1 <= sb->cap) return 1;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < sb->len + extra + 1) cap *= 2;
  char *nb = mr_realloc(sb->buf, cap);
  if (!nb) {
    sb->failed = 1;
    return 0;
  }
  sb->buf = nb;
  sb->cap = cap;
  return 1;
}

void util_sb_append(util_sb *sb, const char *s, size_t n) {
  if (!grow(sb, n)) return;
  memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = 0;
}

void util_sb_puts(util_sb *sb, const char *s) { util_sb_append(sb, s, strlen(s)); }
void util_sb_putc(util_sb *sb, char c) { util_sb_append(sb, &c, 1); }

void util_sb_printf(util_sb *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    util_sb_append(sb, small, (size_t)n);
    return;
  }
  if (!grow(sb, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb->len += (size_t)n;
}

const char *util_sb_cstr(util_sb *sb) { return (sb->buf && !sb->failed) ? sb->buf : ""; }

char *util_sb_take(util_sb *sb) {
  char *p = sb->failed ? NULL : sb->buf;
  if (!p && !sb->failed) {
    p = mr_alloc(1);
    if (p) *p = 0;
  }
  if (sb->failed) mr_free(sb->buf);
  memset(sb, 0, sizeof *sb);
  return p;
}

void util_sb_free(util_sb *sb) {
  mr_free(sb->buf);
  memset(sb, 0, sizeof *sb);
}
