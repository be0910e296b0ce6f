/* test_tool_symbols.c — docs/style.md §1: libmilrun.so exports only the public mr_* API. */
#include <stdlib.h>

#include "harness.h"

static void test_only_mr_symbols_exported(void) {
  const char *so = getenv("MR_LIBSO");
  CHECK(so != NULL);
  if (!so) return;
  char cmd[2048], line[512];
  snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", so);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  if (!p) return;
  int public = 0, other = 0;
  while (fgets(line, sizeof line, p)) {
    char addr[64], kind[8], name[400];
    if (sscanf(line, "%63s %7s %399s", addr, kind, name) != 3) continue;
    if (!strncmp(name, "mr_", 3)) public++;
    else {
      other++;
      fprintf(stderr, "  exported but not public: %s\n", name);
    }
  }
  CHECK_EQ_INT(pclose(p), 0);
  CHECK(public > 30);
  CHECK_EQ_INT(other, 0);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"only_mr_symbols_exported", test_only_mr_symbols_exported}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
