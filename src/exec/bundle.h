/* bundle.h — internal access to a bundle's parts, for tools that describe it (`milrun inspect`). */
#ifndef EXEC_BUNDLE_H
#define EXEC_BUNDLE_H

#include "mil/ir.h"
#include "mil/metadata.h"
#include "milrun.h"

/* Open a bundle only to describe it: model.mil and metadata.json are read, no weight is touched, so
 * it works without weights/ (a converter's --dry-run output). It cannot be run. */
int exec_bundle_describe(const char *path, mr_bundle **out, mr_error *err);
const mil_program *exec_bundle_program(const mr_bundle *b);
/* NULL when the bundle has no metadata.json. */
const mil_metadata *exec_bundle_metadata(const mr_bundle *b);
const char *exec_bundle_path(const mr_bundle *b);
/* The plan of function `name` (NULL = default), or NULL. */
const struct exec_function *exec_bundle_function(const mr_bundle *b, const char *name);

#endif
