/* types.h — what the Core ML executor keeps per bundle, function and state (coreml.c, state.c). */
#ifndef EXEC_COREML_TYPES_H
#define EXEC_COREML_TYPES_H

#include <pthread.h>

#include "exec/coreml/coreml.h"
#include "exec/coreml/objc.h"

typedef struct cm_input {
  id array;          /* MLMultiArray over the caller's data (or conv), +1; nil until bound */
  const void *bound; /* the caller's data the array was made for */
  mr_dtype given;
  int rank;
  int64_t shape[MR_MAX_RANK];
  void *conv;        /* the declared float type's copy when the caller gives the other one */
  size_t conv_cap;
} cm_input;

typedef struct cm_output {
  void *buf;  /* the output as milrun hands it out: declared dtype, dense */
  size_t cap; /* bytes */
  id backing; /* MLMultiArray over buf, given to Core ML as the output backing (fixed shapes), +1 */
} cm_output;

typedef struct cm_function {
  const mil_model_function *d;
  id model;             /* MLModel of this function, +1 */
  id *in_names, *out_names; /* NSStrings, +1 */
  cm_input *in;
  cm_output *out;
  id provider;          /* MLDictionaryFeatureProvider over the input arrays, +1; nil after a rebind */
  id options;           /* MLPredictionOptions (with the output backings where the OS has them), +1 */
  id *scratch_values, *scratch_keys; /* room for one id per input or output */
} cm_function;

typedef struct cm_bundle {
  const mil_model *m;
  char *compiled;       /* the .mlmodelc Core ML loads */
  long units;
  const char *units_name;
  cm_function *f;
  int n;
} cm_bundle;

/* A state: one MLState (all of a function's state buffers; milrun's functions here have one). */
typedef struct cm_state {
  mr_state base;        /* base.data: NULL, or the copy that mr_state_view handed out */
  id state;             /* MLState, +1 */
  id name;              /* NSString, +1 */
  pthread_mutex_t lock; /* predictions on one state are serialised */
  int view_pending;     /* base.data was handed out and may have been written: copy it back first */
} cm_state;

/* state.c */
int cm_state_new(void *impl, const mr_io_info *info, mr_state **out, mr_error *err);
void cm_state_free(mr_state *s);
void cm_state_view(mr_state *s);
void cm_state_reset(mr_state *s);
/* Under s->lock, before a prediction: bring a view's writes into the state. */
int cm_state_write_back(cm_state *s, mr_error *err);

#endif
