/* opts.c — the table-driven option parser of opts.h. */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

int tool_usage_error(const tool_cmd *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "milrun %s: ", cmd->name);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(milrun %s --help lists the options)\n", cmd->name);
  va_end(ap);
  return 2;
}

void tool_help(const tool_cmd *cmd, FILE *f) {
  fprintf(f, "usage: milrun %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->about);
  fprintf(f, "\noptions:\n");
  for (const tool_opt *o = cmd->opts; o && o->name; o++) {
    char head[64], shrt[8] = "";
    if (o->short_name) snprintf(shrt, sizeof shrt, "-%c, ", o->short_name);
    snprintf(head, sizeof head, "%s--%s%s%s", shrt, o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    fprintf(f, "  %-22s %s\n", head, o->help);
  }
  fprintf(f, "  %-22s %s\n", "-h, --help", "show this help and exit");
  if (cmd->epilog) fprintf(f, "\n%s", cmd->epilog);
}

static const tool_opt *find_long(const tool_cmd *cmd, const char *name, size_t len) {
  for (const tool_opt *o = cmd->opts; o && o->name; o++)
    if (strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
  return NULL;
}

static const tool_opt *find_short(const tool_cmd *cmd, char c) {
  for (const tool_opt *o = cmd->opts; o && o->name; o++)
    if (o->short_name == c) return o;
  return NULL;
}

/* "1 to 32", "at least 1" or "a number" for messages about a range. */
static void range_text(const tool_opt *o, char *buf, size_t n) {
  const char *what = o->kind == OPT_INT ? "an integer" : "a number";
  if (o->max > o->min && o->kind == OPT_INT) snprintf(buf, n, "%s from %.0f to %.0f", what, o->min, o->max);
  else if (o->max > o->min) snprintf(buf, n, "%s from %g to %g", what, o->min, o->max);
  else snprintf(buf, n, "%s", what);
}

void tool_list_free(tool_list *l) {
  mr_free(l->v);
  l->v = NULL;
  l->n = 0;
}

static int set_value(const tool_cmd *cmd, const tool_opt *o, const char *spelled, const char *v, int argc) {
  char why[512] = "";
  if (o->kind == OPT_STR) {
    *(const char **)o->dest = v;
  } else if (o->kind == OPT_LIST) {
    tool_list *l = o->dest;
    if (!l->v && !(l->v = util_calloc((size_t)argc + 1, sizeof *l->v))) return tool_usage_error(cmd, "out of memory");
    l->v[l->n++] = v; /* at most argc values: each takes an argument */
    l->v[l->n] = NULL;
  } else if (o->kind == OPT_INT || o->kind == OPT_DOUBLE) {
    char *end;
    errno = 0;
    double d = o->kind == OPT_INT ? (double)strtoll(v, &end, 10) : strtod(v, &end);
    int bad = end == v || *end || errno || isnan(d) || (o->max > o->min && (d < o->min || d > o->max));
    if (bad) {
      range_text(o, why, sizeof why);
      return tool_usage_error(cmd, "%s expects %s, got '%s'", spelled, why, v);
    }
    if (o->kind == OPT_INT) *(int *)o->dest = (int)d;
    else *(double *)o->dest = d;
  } else if (o->fn && o->fn(o->dest, v, why, sizeof why)) {
    return tool_usage_error(cmd, "%s: %s", spelled, why);
  }
  return TOOL_OK;
}

/* One option at argv[*i]; may consume argv[*i + 1] as its value. */
static int one_option(const tool_cmd *cmd, int argc, char **argv, int *i) {
  const char *a = argv[*i], *inline_v = NULL;
  const tool_opt *o;
  char spelled[128];
  if (a[1] == '-') {
    const char *eq = strchr(a + 2, '=');
    size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    o = find_long(cmd, a + 2, len);
    inline_v = eq ? eq + 1 : NULL;
    snprintf(spelled, sizeof spelled, "--%.*s", (int)len, a + 2);
  } else {
    o = a[2] ? NULL : find_short(cmd, a[1]);
    snprintf(spelled, sizeof spelled, "%s", a);
  }
  if (!o) return tool_usage_error(cmd, "unknown option '%s'", spelled);
  if (o->kind == OPT_FLAG) {
    if (inline_v) return tool_usage_error(cmd, "option '%s' takes no value", spelled);
    *(int *)o->dest = o->min != 0 ? (int)o->min : 1;
    return TOOL_OK;
  }
  if (!inline_v) {
    if (*i + 1 >= argc) return tool_usage_error(cmd, "option '%s' needs a value (%s)", spelled, o->metavar);
    inline_v = argv[++*i];
  }
  return set_value(cmd, o, spelled, inline_v, argc);
}

int tool_parse(const tool_cmd *cmd, int argc, char **argv, const char **pos, int *npos) {
  *npos = 0;
  int only_pos = 0;
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      tool_help(cmd, stdout);
      return TOOL_HELP;
    }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!only_pos && !strcmp(a, "--")) {
      only_pos = 1;
    } else if (!only_pos && a[0] == '-' && a[1]) {
      int rc = one_option(cmd, argc, argv, &i);
      if (rc) return rc;
    } else if (*npos < cmd->max_pos) {
      pos[(*npos)++] = a;
    } else {
      return tool_usage_error(cmd, "unexpected argument '%s'", a);
    }
  }
  if (*npos < cmd->min_pos) return tool_usage_error(cmd, "missing %s", cmd->pos_name);
  return TOOL_OK;
}
