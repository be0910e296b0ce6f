/* export.c — `milrun export`: a compiled bundle as a Core ML model package, so that a model milrun
 * converted (or any .mlmodelc) can be compiled by Core ML on a Mac and read by coremltools. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mil/package.h"

static const char usage[] =
    "usage: milrun export BUNDLE.mlmodelc OUT.mlpackage\n"
    "\n"
    "Write a compiled bundle (model.mil, metadata.json, weights/) as a Core ML model package:\n"
    "Manifest.json, Data/com.apple.CoreML/model.mlmodel (protobuf) and the weight files (linked\n"
    "when on the same file system, else copied). The program, inputs, outputs, states, functions\n"
    "and metadata are kept; specificationVersion follows the opsets (iOS18 for states and several\n"
    "functions).\n";

int tool_export(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (argc != 3) {
    fputs(usage, stderr);
    return 2;
  }
  mr_error err = {0};
  if (mil_package_from_bundle(argv[1], argv[2], &err)) {
    fprintf(stderr, "milrun export: %s\n", err.msg);
    return 1;
  }
  return 0;
}
