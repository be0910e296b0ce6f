/* package.h — Core ML model packages on disk: a `.mlpackage` directory (Manifest.json naming the
 * root model item, Data/com.apple.CoreML/model.mlmodel, Data/com.apple.CoreML/weights/) or a bare
 * `.mlmodel` file holding an ML Program (docs/formats.md). */
#ifndef MIL_PACKAGE_H
#define MIL_PACKAGE_H

#include "mil/ir.h"
#include "mil/metadata.h"

/* Does `path` look like a package (a directory with Manifest.json, or a file ending in .mlmodel)? */
int mil_package_is(const char *path);

/* Read a package (called by mil_model_load, the one reader of bundles on disk). On success *prog,
 * *md (mil_metadata_free), *model_file (the model.mlmodel read, for messages; mr_free) and
 * *weights_root (what @model_path means: the folder holding model.mlmodel; mr_free) are new. A
 * manifest item path leaving the package, a blob path leaving @model_path and a blob beyond its
 * weight file are refused. */
int mil_package_load(const char *path, mil_program **prog, mil_metadata *md, char **model_file, char **weights_root,
                     mr_error *err);

/* Write `p` (+ `md`, may be NULL) as the package directory `out`: Manifest.json, model.mlmodel
 * and the weight files its blobs name, linked from `weights_root` (or copied where a link cannot
 * be made). weights_root NULL: no weight files (a dry run's package). */
int mil_package_write(const char *out, const mil_program *p, const mil_metadata *md, const char *weights_root,
                      mr_error *err);

/* The weight files p's BLOBFILEs name ("@model_path/REL"), from src_root/REL to dst_root/REL:
 * hard-linked, or copied where a link cannot be made; a path leaving either root is refused. */
int mil_weight_files_link(const mil_program *p, const char *src_root, const char *dst_root, mr_error *err);

#endif
