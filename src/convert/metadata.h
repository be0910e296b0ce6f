/* metadata.h — metadata.json of a converted component, in the shape docs/formats.md §1.2 describes
 * (a one-element array: schemas of the default function, a "functions" list for multifunction
 * bundles, user-defined com.anemll.* keys). */
#ifndef CONVERT_METADATA_H
#define CONVERT_METADATA_H

#include <stdint.h>

#include "milrun.h"

typedef struct conv_feature {
  const char *name;
  int fp16;            /* 1: Float16, 0: Int32 */
  int rank;
  int64_t shape[6];
  const char *enumerated; /* "[[1, 1], [1, 64]]" or NULL */
} conv_feature;

#define CONV_MAX_FEATURES 64

typedef struct conv_fmeta {
  const char *name;
  conv_feature in[CONV_MAX_FEATURES], out[CONV_MAX_FEATURES], state[1];
  int n_in, n_out, n_state;
} conv_fmeta;

/* user: key/value pairs, n_user of them. n_funcs > 1 writes the "functions" list with funcs[0]
 * as the default function. */
int conv_write_metadata(const char *dir, const conv_fmeta *funcs, int n_funcs, const char *description,
                        const char *const *user, int n_user, mr_error *err);

#endif
