/* export.c — `milrun export`: a bundle in the other on-disk form. A .mlmodelc (what milrun converts)
 * becomes a Core ML model package that Core ML on a Mac compiles and coremltools reads; a package
 * (.mlpackage or .mlmodel) becomes a .mlmodelc in text form (model.mil, metadata.json, weights/)
 * for reading and diffing. Both go through the format layer (mil/model.h): load, then write. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mil/model.h"
#include "util/file.h"

static const char usage[] =
    "usage: milrun export IN OUT.mlpackage\n"
    "       milrun export IN OUT.mlmodelc\n"
    "\n"
    "Write the bundle IN (a .mlmodelc directory, a .mlpackage directory or a .mlmodel file) in the\n"
    "form OUT's extension names:\n"
    "  .mlpackage  a Core ML model package: Manifest.json, Data/com.apple.CoreML/model.mlmodel\n"
    "              (protobuf) and weights/; specificationVersion follows the opsets (iOS18 for\n"
    "              states and several functions). Core ML on a Mac compiles it.\n"
    "  .mlmodelc   model.mil (canonical text), metadata.json and weights/, as milrun converts;\n"
    "              without coremldata.bin, so only milrun runs it.\n"
    "The program, inputs, outputs, states, functions and metadata are kept. Weight files are linked\n"
    "when on the same file system, else copied. OUT must not exist.\n";

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n > m && !strcmp(s + n - m, tail);
}

int tool_export(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (argc != 3) {
    fputs(usage, stderr);
    return 2;
  }
  const char *out = argv[2];
  int package = ends_with(out, ".mlpackage");
  if (!package && !ends_with(out, ".mlmodelc")) {
    fprintf(stderr, "milrun export: %s: OUT must end in .mlpackage or .mlmodelc\n", out);
    return 2;
  }
  if (util_exists(out)) {
    fprintf(stderr, "milrun export: %s: exists; remove it first\n", out);
    return 1;
  }
  mr_error err = {0};
  mil_model *m = NULL;
  int rc = mil_model_load(argv[1], 0, &m, &err);
  if (!rc)
    rc = mil_model_write(m->prog, m->has_md ? &m->md : NULL, m->weights_root,
                         package ? MIL_MODEL_PACKAGE : MIL_MODEL_COMPILED, out, &err);
  mil_model_free(m);
  if (rc) {
    fprintf(stderr, "milrun export: %s\n", err.msg);
    return 1;
  }
  return 0;
}
