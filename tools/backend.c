/* backend.c — --backend / --compute-units parsing and the --verbose line naming them. */
#include "backend.h"

#include <string.h>

int tool_backend_option(int argc, char **argv, int *i, mr_bundle_options *o) {
  if (*i + 1 >= argc) return 0;
  if (!strcmp(argv[*i], "--backend")) o->backend = argv[++*i];
  else if (!strcmp(argv[*i], "--compute-units")) o->compute_units = argv[++*i];
  else return 0;
  return 1;
}

void tool_backend_describe(FILE *f, const char *what, const mr_bundle *b) {
  const char *units = mr_bundle_compute_units(b);
  fprintf(f, "%s: executor %s%s%s\n", what, mr_bundle_backend(b), units ? ", compute units " : "", units ? units : "");
}
