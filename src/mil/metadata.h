/* metadata.h — metadata.json of a compiled bundle (docs/formats.md §1.2): I/O schemas in their
 * declared order, the function list, the default function and the user-defined metadata. */
#ifndef MIL_METADATA_H
#define MIL_METADATA_H

#include "milrun.h"

typedef struct mil_feature {
  char *name;
  char *type;       /* "MultiArray", "State", ... */
  char *data_type;  /* "Float16", "Float32", "Int32", ... or "" */
  int rank;         /* -1 when the shape is not given */
  int64_t shape[MR_MAX_RANK];
} mil_feature;

typedef struct mil_meta_function {
  char *name;       /* "" for the top-level schemas of a single-function model */
  mil_feature *inputs, *outputs, *states;
  int n_inputs, n_outputs, n_states;
} mil_meta_function;

typedef struct mil_metadata {
  mil_meta_function *funcs; /* funcs[0] is the top-level schema; named functions follow */
  int n_funcs;
  char *default_function;   /* NULL when not given */
  char **user_keys, **user_values;
  int n_user;
  char *text;               /* the raw JSON (for `inspect --json`) */
} mil_metadata;

/* Read `path`. A missing file is not an error for callers that treat metadata as optional: they
 * check MR_ENOTFOUND. */
int mil_metadata_read(const char *path, mil_metadata *md, mr_error *err);
/* Parse JSON text (not consumed); `path` only names the file in messages. */
int mil_metadata_parse(const char *text, const char *path, mil_metadata *md, mr_error *err);
void mil_metadata_free(mil_metadata *md);
/* The schema of function `name` (NULL or "" = top level), or NULL. */
const mil_meta_function *mil_metadata_function(const mil_metadata *md, const char *name);

#endif
