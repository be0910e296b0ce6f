/* model.h — the format layer: a bundle on disk turned into what every executor starts from, the
 * program (IR), its description (functions with their inputs, outputs and states as declared) and
 * metadata. Two forms (docs/formats.md): a .mlmodelc folder (model.mil + metadata.json, optional,
 * + weights/ under the folder, which is what @model_path in BLOBFILE paths names), and a Core ML
 * package, a .mlpackage folder or a bare .mlmodel file (protobuf, read by mil/package.c). Nothing
 * outside model.c and package.c knows those file names. */
#ifndef MIL_MODEL_H
#define MIL_MODEL_H

#include "mil/ir.h"
#include "mil/metadata.h"
#include "milrun.h"
#include "util/arena.h"

/* One function as declared: tensor parameters (inputs), state parameters and outputs, in
 * declaration order; a flexible dimension is -1. Names point into the program. */
typedef struct mil_model_function {
  const mil_function *fn;
  mr_io_info *inputs, *outputs, *states;
  int n_inputs, n_outputs, n_states;
} mil_model_function;

typedef enum mil_model_format { MIL_MODEL_COMPILED, MIL_MODEL_PACKAGE } mil_model_format;

typedef struct mil_model {
  char *path;               /* the bundle path as given */
  mil_model_format format;
  char *program_file;       /* the file the program came from, as messages name it */
  char *metadata_file;      /* the file md came from (metadata.json, or the package's model file) */
  char *weights_root;       /* what @model_path resolves to */
  mil_program *prog;
  mil_metadata md;          /* valid when has_md */
  int has_md;
  mil_model_function *funcs; /* one per program function, program order */
  int n_funcs;
  int default_fn;           /* index into funcs */
  char **weight_files;      /* the distinct files the program's BLOBFILEs name, resolved */
  int n_weight_files;
  util_arena arena;         /* funcs and their descriptions */
} mil_model;

/* Load the bundle at path: a .mlmodelc directory, a .mlpackage directory or a .mlmodel file
 * (flags: 0, reserved). On failure *out is NULL and err names the file. */
int mil_model_load(const char *path, int flags, mil_model **out, mr_error *err);
void mil_model_free(mil_model *m);

/* Write p (+ md, may be NULL) as a bundle `out` of the given form; the weight files its BLOBFILEs
 * name are linked (or copied) from weights_root (NULL: none are placed, as in a dry run). A
 * compiled bundle gets model.mil (the one printer), metadata.json (md's JSON) and weights/. */
int mil_model_write(const mil_program *p, const mil_metadata *md, const char *weights_root, mil_model_format format,
                    const char *out, mr_error *err);

/* The file a BLOBFILE path names: "@model_path/REL" (or REL) under root; *path is new (mr_free).
 * MR_EFORMAT (no message) when REL leaves root, MR_ENOMEM. */
int mil_blob_path_resolve(const char *root, const char *ref, char **path);

/* 1 when Core ML itself can load the bundle: a package or .mlmodel, or a .mlmodelc that Apple's
 * compiler made (compiled.c). */
int mil_model_coreml_loadable(const mil_model *m);
/* 1 when path names a compiled model folder (NAME.mlmodelc), which Core ML loads without compiling. */
int mil_path_is_mlmodelc(const char *path);

/* The function called name (NULL: the default one), or NULL. */
const mil_model_function *mil_model_function_find(const mil_model *m, const char *name);
/* The public dtype of a declared element type (fp16 -> MR_FLOAT16, other floats -> MR_FLOAT32,
 * bool -> MR_BOOL, integers -> MR_INT32). */
mr_dtype mil_dtype_public(mil_dtype t);

#endif
