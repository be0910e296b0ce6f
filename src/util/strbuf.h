/* strbuf.h — a growable string builder (a struct the caller keeps, so no pointer goes stale). An
 * allocation failure is sticky: later appends do nothing and util_sb_failed() reports it once at
 * the end. */
#ifndef UTIL_STRBUF_H
#define UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/error.h"

typedef struct util_sb {
  char *buf; /* NUL-terminated when len > 0 or after util_sb_cstr */
  size_t len, cap;
  int failed;
} util_sb;

void util_sb_append(util_sb *sb, const char *s, size_t n);
void util_sb_puts(util_sb *sb, const char *s);
void util_sb_putc(util_sb *sb, char c);
void util_sb_printf(util_sb *sb, const char *fmt, ...) MR_PRINTF(2, 3);
/* The string so far (never NULL: "" when empty or failed). */
const char *util_sb_cstr(util_sb *sb);
static inline int util_sb_failed(const util_sb *sb) { return sb->failed; }
/* Hand the buffer to the caller (free with mr_free) and reset the builder. */
char *util_sb_take(util_sb *sb);
void util_sb_free(util_sb *sb);

#endif
