/* opts.c — see opts.h. */
#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const tool_opt *find(const tool_opt *const *tables, const char *name, size_t len, char short_name) {
  for (int t = 0; tables[t]; t++)
    for (const tool_opt *o = tables[t]; o->name; o++)
      if (short_name ? o->short_name == short_name : strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
  return NULL;
}

static int set_value(const char *cmd, const tool_opt *o, const char *v) {
  char *end;
  errno = 0;
  if (o->kind == OPT_STR) {
    *(const char **)o->dst = v;
    return 0;
  }
  if (o->kind == OPT_FLOAT) {
    double d = strtod(v, &end);
    if (end != v && !*end && !errno) {
      *(float *)o->dst = (float)d;
      return 0;
    }
  } else {
    long long x = strtoll(v, &end, 10);
    if (end != v && !*end && !errno && (o->kind == OPT_LLONG || (x >= -2147483647LL && x <= 2147483647LL))) {
      if (o->kind == OPT_LLONG) *(long long *)o->dst = x;
      else *(int *)o->dst = (int)x;
      return 0;
    }
  }
  fprintf(stderr, "milrun %s: --%s expects %s, got '%s'\n", cmd, o->name, o->kind == OPT_FLOAT ? "a number" : "an integer", v);
  return 2;
}

int opts_parse(const char *cmd, const tool_opt *const *tables, int argc, char **argv, const char **pos, int max_pos,
               int *npos) {
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
    if (a[0] != '-' || !a[1]) {
      if (*npos == max_pos) {
        fprintf(stderr, "milrun %s: unexpected argument '%s'\n", cmd, a);
        return 2;
      }
      pos[(*npos)++] = a;
      continue;
    }
    const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
    const tool_opt *o = a[1] == '-' ? find(tables, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), 0)
                                    : a[2] ? NULL : find(tables, NULL, 0, a[1]);
    if (!o) {
      fprintf(stderr, "milrun %s: unknown option '%s' (see milrun %s --help)\n", cmd, a, cmd);
      return 2;
    }
    if (o->kind == OPT_FLAG) {
      if (eq) {
        fprintf(stderr, "milrun %s: --%s takes no value\n", cmd, o->name);
        return 2;
      }
      *(int *)o->dst = 1;
      continue;
    }
    const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if (!v) {
      fprintf(stderr, "milrun %s: --%s needs a value (%s)\n", cmd, o->name, o->arg);
      return 2;
    }
    int rc = set_value(cmd, o, v);
    if (rc) return rc;
  }
  return 0;
}

void opts_print(FILE *f, const tool_opt *const *tables) {
  for (int t = 0; tables[t]; t++)
    for (const tool_opt *o = tables[t]; o->name; o++) {
      char head[64];
      if (o->short_name) snprintf(head, sizeof head, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
      else snprintf(head, sizeof head, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
      fprintf(f, "  %-26s %s\n", head, o->help);
    }
}
