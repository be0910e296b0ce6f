/* input.c — reading standard input (input.h). */
#include "input.h"

#include <stdio.h>

#include "util/alloc.h"
#include "util/strbuf.h"

char *tool_read_stdin(size_t *n) {
  util_sb sb = {0};
  char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, stdin)) > 0) util_sb_append(&sb, buf, got);
  *n = sb.len;
  if (util_sb_failed(&sb) || ferror(stdin)) {
    util_sb_free(&sb);
    return NULL;
  }
  return util_sb_take(&sb);
}
