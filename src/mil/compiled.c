/* compiled.c — whether Core ML itself could load a bundle: a model package or .mlmodel (Core ML
 * compiles those), or a .mlmodelc that Apple's compiler made, which carries coremldata.bin (the
 * .mlmodelc folders milrun convert writes hold only model.mil, metadata.json and weights). */
#include <string.h>

#include "mil/model.h"
#include "util/alloc.h"
#include "util/file.h"

#define COMPILED_MARKER "coremldata.bin"

int mil_path_is_mlmodelc(const char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;
  return n >= 9 && !strncmp(path + n - 9, ".mlmodelc", 9);
}

int mil_model_coreml_loadable(const mil_model *m) {
  if (!mil_path_is_mlmodelc(m->path)) return 1;
  char *marker = util_path_join(m->path, COMPILED_MARKER);
  int yes = marker && util_exists(marker);
  mr_free(marker);
  return yes;
}
