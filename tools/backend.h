/* backend.h — the options every command that opens bundles shares: --backend and --compute-units
 * (mr_bundle_options), and what --verbose says about them. */
#ifndef TOOLS_BACKEND_H
#define TOOLS_BACKEND_H

#include <stdio.h>

#include "milrun.h"

#define TOOL_BACKEND_HELP                                                                          \
  "  --backend B          executor: cpu, or coreml (Apple only; the default there for .mlpackage\n" \
  "                       and for .mlmodelc compiled by Apple's tools)\n"                           \
  "  --compute-units U    coreml: all, cpu-and-ne (default), cpu-and-gpu or cpu\n"

/* If argv[*i] is --backend or --compute-units with a value, store it in o, advance *i and return 1;
 * 0 when it is another option. */
int tool_backend_option(int argc, char **argv, int *i, mr_bundle_options *o);
/* "BUNDLE: executor coreml, compute units cpu-and-ne" (or "executor cpu") on f. */
void tool_backend_describe(FILE *f, const char *what, const mr_bundle *b);

#endif
