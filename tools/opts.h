/* opts.h — the one option parser of every milrun subcommand. A command describes its options in a
 * table; the parser accepts `--opt value`, `--opt=value`, `-o value`, `--` (the rest is
 * positional) and `-h/--help` everywhere, checks typed values against their range, and words every
 * usage error the same way. Usage errors exit 2, every other failure 1 (commands.h).
 *
 * A command, in short:
 *   int n = 5; const char *model = NULL;
 *   const tool_opt opts[] = {
 *     {"count", 'n', OPT_INT, &n, "N", "how many (default: 5)", 1, 100, NULL},
 *     {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
 *   const tool_cmd cmd = {"name", "MODEL [options]", "What it does.", opts, NULL, 1, 1, "MODEL"};
 *   int npos, rc = tool_parse(&cmd, argc, argv, &model, &npos);
 *   if (rc) return tool_parse_exit(rc);   // help printed (0) or usage error printed (2)
 * A check the table cannot express ends with `return tool_usage_error(&cmd, "...")` (exit 2). */
#ifndef TOOLS_OPTS_H
#define TOOLS_OPTS_H

#include <stddef.h>
#include <stdio.h>

typedef enum tool_opt_kind {
  OPT_FLAG,   /* int *: set to 1 (value given in `.min` if nonzero) */
  OPT_STR,    /* const char **: the last one given wins */
  OPT_INT,    /* int *: decimal in [min, max] */
  OPT_DOUBLE, /* double *: in [min, max] */
  OPT_LIST,   /* tool_list *: repeatable, each value appended */
  OPT_FN      /* custom: fn(dest, value, why, whysz) returns 0, or nonzero with a reason in why */
} tool_opt_kind;

/* An OPT_LIST's values, in the order given: v is NULL-terminated (NULL when none was given) and
 * sized by the parser from argc, so there is no limit; free it with tool_list_free. */
typedef struct tool_list {
  const char **v;
  int n;
} tool_list;
void tool_list_free(tool_list *l);

typedef struct tool_opt {
  const char *name; /* long name without "--" */
  char short_name;  /* 0: none */
  tool_opt_kind kind;
  void *dest;
  const char *metavar; /* shown in --help; NULL for flags */
  const char *help;    /* may hold '\n' + indentation for further lines */
  double min, max;     /* OPT_INT / OPT_DOUBLE range; OPT_FLAG: value to store when min != 0 */
  int (*fn)(void *dest, const char *value, char *why, size_t whysz);
} tool_opt;

/* Continuation of a help line, aligned under the first. */
#define OPT_NL "\n                         "

typedef struct tool_cmd {
  const char *name;     /* "convert" */
  const char *synopsis; /* "HF_DIR OUT_DIR [options]" */
  const char *about;    /* paragraph(s) after the usage line */
  const tool_opt *opts; /* terminated by an entry with name NULL */
  const char *epilog;   /* after the options (environment, formats); may be NULL */
  int min_pos, max_pos; /* positional arguments accepted */
  const char *pos_name; /* what the positionals are, for "missing ..." errors */
} tool_cmd;

/* Parse argv[1..argc) (argv[0] is the command's name) into the table's destinations and pos[].
 * Returns TOOL_OK, TOOL_HELP (help printed on stdout: exit 0) or 2 (usage error printed). */
#define TOOL_OK 0
#define TOOL_HELP (-1)
int tool_parse(const tool_cmd *cmd, int argc, char **argv, const char **pos, int *npos);

/* Exit code after tool_parse: 0 for TOOL_HELP, the code itself otherwise. */
static inline int tool_parse_exit(int rc) { return rc == TOOL_HELP ? 0 : rc; }

/* "milrun CMD: <message>\n(milrun CMD --help lists the options)\n" on stderr; returns 2. */
int tool_usage_error(const tool_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The help text: usage line, about, options generated from the table, epilog. */
void tool_help(const tool_cmd *cmd, FILE *f);

#endif
