/* backend.c — the --verbose line naming the executor and compute units of a bundle. */
#include "backend.h"

void tool_backend_describe(FILE *f, const char *what, const mr_bundle *b) {
  const char *units = mr_bundle_compute_units(b);
  fprintf(f, "%s: executor %s%s%s\n", what, mr_bundle_backend(b), units ? ", compute units " : "", units ? units : "");
}
