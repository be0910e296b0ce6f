/* tiny_convert.h — the tiny Qwen3 fixture (tests/fixtures/models/qwen3-tiny-python) converted by
 * `milrun convert` at test time, once per test program, into model_dir. */
#ifndef TESTS_TINY_CONVERT_H
#define TESTS_TINY_CONVERT_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"

static char model_dir[512];

/* `milrun convert` of qwen3-tiny-python into TMP/qwen3-tiny (context 256, then opts), once per
 * process: 0, or -1 after a failed check. */
static inline int tiny_convert(const char *opts) {
  if (model_dir[0]) return 0;
  const char *milrun = getenv("MR_MILRUN");
  CHECK(milrun != NULL);
  if (!milrun) return -1;
  snprintf(model_dir, sizeof model_dir, "%s/qwen3-tiny", th_tmpdir());
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "\"%s\" convert \"%s\" \"%s\" --context 256 %s --quiet >/dev/null 2>&1", milrun,
           th_fixture("models/qwen3-tiny-python"), model_dir, opts);
  int st = system(cmd);
  CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed", cmd);
  if (!WIFEXITED(st) || WEXITSTATUS(st)) model_dir[0] = 0;
  return model_dir[0] ? 0 : -1;
}

#endif
