/* bundle_util.h — helpers for tests that open bundles through the public API. */
#ifndef TEST_BUNDLE_UTIL_H
#define TEST_BUNDLE_UTIL_H

#include "harness.h"
#include "milrun.h"

/* Open the bundle at path; on failure report a failed check with the error and return NULL. */
static inline mr_bundle *th_open_bundle(const char *path) {
  mr_bundle *b;
  mr_error err = {0};
  if (mr_bundle_open(path, NULL, &b, &err) == MR_OK) return b;
  CHECK_MSG(0, "%s", err.msg);
  return NULL;
}

#endif
