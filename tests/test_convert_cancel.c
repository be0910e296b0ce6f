/* test_convert_cancel.c — a conversion stopped through conv_options.cancel (what Ctrl-C sets in
 * `milrun convert`) ends with MR_ECANCEL and leaves neither the output nor its partial folder. */
#include <stdlib.h>

#include "convert/convert.h"
#include "harness.h"
#include "util/file.h"

static void test_cancel(void) {
  static volatile sig_atomic_t stop = 1;
  conv_options o;
  conv_options_default(&o);
  o.dry_run = 1;
  o.cancel = &stop;
  char out[600], cmd[800];
  snprintf(out, sizeof out, "%s/cancelled", th_tmpdir());
  mr_error err = {0};
  CHECK_EQ_INT(conv_convert(th_fixture("models/qwen3-tiny"), out, &o, NULL, &err), MR_ECANCEL);
  CHECK_EQ_STR(err.msg, "interrupted");
  CHECK(!util_exists(out));
  snprintf(cmd, sizeof cmd, "ls -d '%s'.partial-* >/dev/null 2>&1", out);
  CHECK(system(cmd) != 0);
  stop = 0; /* not cancelled: the same call completes */
  CHECK_EQ_INT(conv_convert(th_fixture("models/qwen3-tiny"), out, &o, NULL, &err), MR_OK);
  CHECK(util_is_dir(out));
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"cancel", test_cancel}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
