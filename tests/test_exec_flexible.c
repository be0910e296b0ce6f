/* test_exec_flexible.c — functions with flexible ('?') input shapes, from a real compiler output
 * (tests/fixtures/mil/multifunction_relu_ios18.mil): planned on each call for the shapes given. */
#include "bundle_util.h"

static void test_relu_any_length(void) {
  const char *dir = th_bundle_from_fixture("flex.mlmodelc", "mil/multifunction_relu_ios18.mil");
  if (!dir) return;
  mr_error err = {0};
  mr_bundle *b;
  if (mr_bundle_open(dir, NULL, &b, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    return;
  }
  const mr_io_info *in;
  CHECK_EQ_INT(mr_bundle_inputs(b, "first", &in), 1);
  CHECK_EQ_INT(in[0].shape[0], -1);
  const mr_io_info *out;
  CHECK_EQ_INT(mr_bundle_outputs(b, "second", &out), 1);
  CHECK_EQ_STR(out[0].name, "output");
  CHECK_EQ_INT(out[0].shape[0], -1);
  float x[5] = {-1, 2, -3, 4, 0.5f};
  mr_call *c[2];
  CHECK(mr_call_new(b, "first", &c[0], &err) == MR_OK);
  CHECK(mr_call_new(b, "second", &c[1], &err) == MR_OK);
  for (int len = 5; len >= 0; len -= 2) {
    for (int f = 0; f < 2; f++) {
      mr_tensor t = {MR_FLOAT32, 1, {len}, x}, y;
      CHECK(mr_call_set_input(c[f], "input", &t, &err) == MR_OK);
      CHECK_MSG(mr_call_run(c[f], &err) == MR_OK, "%s", err.msg);
      CHECK(mr_call_output_by_name(c[f], "output", &y, &err) == MR_OK);
      CHECK_EQ_INT(y.shape[0], len);
      for (int i = 0; i < len; i++) CHECK(((float *)y.data)[i] == (x[i] > 0 ? x[i] : 0));
    }
  }
  /* descriptions taken before the calls stay valid across the re-plans */
  CHECK_EQ_STR(in[0].name, "input");
  CHECK_EQ_STR(out[0].name, "output");
  CHECK_EQ_INT(out[0].shape[0], -1);
  mr_tensor bad = {MR_FLOAT32, 2, {1, 2}, x};
  CHECK_EQ_INT(mr_call_set_input(c[0], "input", &bad, &err), MR_ESHAPE);
  char expect[1024];
  snprintf(expect, sizeof expect, "%s: function 'first': input 'input' must be fp32 [?], got fp32 [1, 2]", dir);
  CHECK_EQ_STR(err.msg, expect);
  mr_call_free(c[0]);
  mr_call_free(c[1]);
  mr_bundle_close(b);
}

/* More inputs than any fixed table would hold: the planner once copied input shapes into 64 slots. */
enum { MANY = 70 };

static void test_more_than_64_flexible_inputs(void) {
  mr_bundle *b;
  mr_error err = {0};
  if (mr_bundle_open(th_sum_bundle(MANY), NULL, &b, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    return;
  }
  const mr_io_info *in;
  CHECK_EQ_INT(mr_bundle_inputs(b, NULL, &in), MANY);
  static float x[MANY][3];
  mr_call *c;
  CHECK(mr_call_new(b, NULL, &c, &err) == MR_OK);
  for (int len = 3; len >= 1; len -= 2) {
    double want[3] = {0};
    for (int i = 0; i < MANY; i++) {
      for (int k = 0; k < len; k++) want[k] += x[i][k] = (float)(i * 3 + k) / 8.0f;
      char name[16];
      snprintf(name, sizeof name, "x%d", i);
      mr_tensor t = {MR_FLOAT32, 1, {len}, x[i]};
      CHECK(mr_call_set_input(c, name, &t, &err) == MR_OK);
    }
    CHECK_MSG(mr_call_run(c, &err) == MR_OK, "%s", err.msg);
    mr_tensor y;
    CHECK(mr_call_output(c, 0, &y) == MR_OK);
    CHECK_EQ_INT(y.shape[0], len);
    for (int k = 0; k < len && k < y.shape[0]; k++) CHECK(((float *)y.data)[k] == (float)want[k]); /* exact: multiples of 1/8 */
  }
  mr_call_free(c);
  mr_bundle_close(b);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"relu_any_length", test_relu_any_length},
                                  {"more_than_64_flexible_inputs", test_more_than_64_flexible_inputs},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
