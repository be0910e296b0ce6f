/* model_path.h — what a model argument names: a local path, a Hugging Face repository
 * `ORG/NAME[@REV]` (its snapshot folder, downloaded on first use into the standard cache), or a
 * bundle inside one, `ORG/NAME[@REV]:path/in/repo.mlmodelc` (only that bundle is downloaded). */
#ifndef TOOLS_MODEL_PATH_H
#define TOOLS_MODEL_PATH_H

#include "milrun.h"

/* *path is a new string (mr_free). An existing local path is returned as it is. */
int tool_model_path(const char *arg, char **path, mr_error *err);

#endif
