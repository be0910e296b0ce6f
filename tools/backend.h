/* backend.h — the options every command that opens bundles shares: --backend and --compute-units
 * (mr_bundle_options), and what --verbose says about them. */
#ifndef TOOLS_BACKEND_H
#define TOOLS_BACKEND_H

#include <stdio.h>

#include "milrun.h"
#include "opts.h"

/* The two option-table rows (opts.h) that fill the mr_bundle_options *o. */
#define TOOL_BACKEND_OPTS(o)                                                                        \
  {"backend", 0, OPT_STR, &(o)->backend, "B",                                                       \
   "executor: cpu, or coreml (Apple only; the default there for" OPT_NL                             \
   ".mlpackage and for .mlmodelc compiled by Apple's tools)", 0, 0, NULL},                          \
  {"compute-units", 0, OPT_STR, &(o)->compute_units, "U",                                           \
   "coreml: all, cpu-and-ne (default), cpu-and-gpu or cpu", 0, 0, NULL}

/* "BUNDLE: executor coreml, compute units cpu-and-ne" (or "executor cpu") on f. */
void tool_backend_describe(FILE *f, const char *what, const mr_bundle *b);

#endif
