/* test_util_harness.c — the test harness itself: this program runs itself as a child (with
 * TH_HARNESS_CHILD set, over a table of one passing and one failing case) and checks the child's
 * exit status and report, so that a filter with a typo cannot pass by running nothing. */
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"

static const char *self;

static void child_passes(void) { CHECK(1); }
static void child_fails(void) { CHECK_EQ_INT(1, 2); }

/* Run this program as a child with `filter` (NULL: none); its stdout and stderr together go to
 * out. Returns the child's exit status, or -1 if it could not run. */
static int run_child(const char *filter, char *out, size_t cap) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "TH_HARNESS_CHILD=1 '%s' %s 2>&1", self, filter ? filter : "");
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = 0;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_filter_matching_nothing_fails(void) {
  char out[4096];
  CHECK_EQ_INT(run_child("no_such_case", out, sizeof out), 2);
  CHECK_EQ_STR(out, "0 passed, 0 failed\nno case name contains 'no_such_case'; the cases are: passes fails\n");
}

static void test_filter_runs_the_matching_case(void) {
  char out[4096];
  CHECK_EQ_INT(run_child("pass", out, sizeof out), 0);
  CHECK_EQ_STR(out, "ok   passes\n1 passed, 0 failed\n");
}

static void test_failing_case_fails_the_program(void) {
  char out[4096];
  CHECK_EQ_INT(run_child(NULL, out, sizeof out), 1);
  CHECK(strstr(out, "ok   passes\n") != NULL);
  CHECK(strstr(out, "FAIL fails\n1 passed, 1 failed\n") != NULL);
}

int main(int argc, char **argv) {
  if (getenv("TH_HARNESS_CHILD")) {
    static const th_case child[] = {{"passes", child_passes}, {"fails", child_fails}, {NULL, NULL}};
    return th_run(child, argc, argv);
  }
  self = argv[0];
  static const th_case cases[] = {
    {"filter_matching_nothing_fails", test_filter_matching_nothing_fails},
    {"filter_runs_the_matching_case", test_filter_runs_the_matching_case},
    {"failing_case_fails_the_program", test_failing_case_fails_the_program},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
