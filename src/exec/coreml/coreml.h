/* coreml.h — the Core ML executor (executor.h's second implementation): each function of a bundle
 * loaded as an MLModel (MLModelConfiguration.functionName, computeUnits), inputs and outputs as
 * MLMultiArrays over milrun's buffers, states as MLState. Built on Apple with CoreML.framework; on
 * Linux against GCC's libobjc, where the tests register stand-in classes (tests/coreml_standin.c). */
#ifndef EXEC_COREML_COREML_H
#define EXEC_COREML_COREML_H

#include "exec/executor.h"

extern const exec_backend exec_coreml_backend;

/* MLComputeUnits for a --compute-units name (NULL: "cpu-and-ne"), or -1. */
long cm_compute_units(const char *name);

/* The compiled form of the model package (or .mlmodel) at pkg: Core ML compiles it once and the
 * result is cached next to it, keyed by its contents (cache.c). *out is new (mr_free). */
int cm_compiled_model(const char *pkg, char **out, mr_error *err);

/* MLMultiArrayDataType values (CoreML/MLMultiArray.h). */
enum { CM_FLOAT16 = 0x10010, CM_FLOAT32 = 0x10020, CM_INT32 = 0x20020 };

#endif
