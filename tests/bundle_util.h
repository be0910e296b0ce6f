/* bundle_util.h — helpers for tests that open bundles through the public API. */
#ifndef TEST_BUNDLE_UTIL_H
#define TEST_BUNDLE_UTIL_H

#include "harness.h"
#include "milrun.h"
#include "util/file.h"
#include "util/strbuf.h"

/* Open the bundle at path; on failure report a failed check with the error and return NULL. */
static inline mr_bundle *th_open_bundle(const char *path) {
  mr_bundle *b;
  mr_error err = {0};
  if (mr_bundle_open(path, NULL, &b, &err) == MR_OK) return b;
  CHECK_MSG(0, "%s", err.msg);
  return NULL;
}

/* A weightless bundle whose one function sums n flexible inputs: y = x0 + x1 + ... + x{n-1}, each
 * tensor<fp32, [?]> (n >= 2). Returns its folder (rewritten by the next call). */
static inline const char *th_sum_bundle(int n) {
  static char dir[600];
  char path[700];
  mr_error err = {0};
  snprintf(dir, sizeof dir, "%s/sum%d.mlmodelc", th_tmpdir(), n);
  CHECK(util_mkdirs(dir, &err) == MR_OK);
  util_sb t = {0};
  util_sb_puts(&t, "program(1.3)\n{\n    func main<ios18>(");
  for (int i = 0; i < n; i++) util_sb_printf(&t, "%stensor<fp32, [?]> x%d", i ? ", " : "", i);
  util_sb_puts(&t, ") {\n");
  for (int i = 1; i < n; i++) {
    char prev[16], name[16];
    snprintf(prev, sizeof prev, i == 1 ? "x0" : "s%d", i - 1);
    snprintf(name, sizeof name, i == n - 1 ? "y" : "s%d", i);
    util_sb_printf(&t, "            tensor<fp32, [?]> %s = add(x = %s, y = x%d)[name = string(\"%s\")];\n", name, prev, i,
                   name);
  }
  util_sb_puts(&t, "        } -> (y);\n}\n");
  snprintf(path, sizeof path, "%s/model.mil", dir);
  CHECK(!util_sb_failed(&t) && util_write_file_atomic(path, util_sb_cstr(&t), t.len, &err) == MR_OK);
  util_sb_free(&t);
  return dir;
}

#endif
