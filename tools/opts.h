/* opts.h — one small table-driven option parser for the subcommands: `--name value`,
 * `--name=value` and `-x value`; usage errors are printed as "milrun CMD: ..." and give exit 2. */
#ifndef TOOLS_OPTS_H
#define TOOLS_OPTS_H

#include <stdio.h>

typedef enum { OPT_FLAG, OPT_INT, OPT_FLOAT, OPT_STR, OPT_LLONG } opt_kind;

typedef struct tool_opt {
  const char *name;  /* long name without "--" */
  char short_name;   /* 0: none */
  opt_kind kind;
  void *dst;         /* int* (FLAG and INT), float*, const char**, long long* */
  const char *arg;   /* the value's name in --help ("N", "FILE") */
  const char *help;  /* one line; the default is part of it */
} tool_opt;

/* Parse argv[1..argc) against the tables (each ended by a {NULL} entry; `tables` ends with NULL).
 * Arguments that are not options go to pos[0..*npos) (at most max_pos). Returns 0, 1 for --help,
 * or 2 after printing a usage error. */
int opts_parse(const char *cmd, const tool_opt *const *tables, int argc, char **argv, const char **pos, int max_pos,
               int *npos);
/* The options of the tables, one per line, as --help shows them. */
void opts_print(FILE *f, const tool_opt *const *tables);

#endif
