/* test_exec_ops_softmax.c — softmax on every axis against a float64 reference, -inf entries, a
 * row of all -inf (NaN), size-1 axes, and plan errors. Tolerance 1e-6 absolute (values <= 1). */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

static void check_axis(int axis) {
  tnode t;
  tn_init(&t, "softmax", 1);
  int64_t shape[4] = {2, 3, 1, 5};
  exec_tensor *x = tt_new(&t, MIL_FP32, 4, shape);
  tu_fill(x);
  for (int64_t i = 0; i < x->count; i += 7) exec_f32(x)[i] = -INFINITY;
  for (int64_t i = 3; i < x->count; i += 11) exec_f32(x)[i] *= 40; /* large values: needs the max */
  tn_in(&t, "x", x);
  tn_in(&t, "axis", tt_si(&t, axis));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 4, shape);
  CHECK_EQ_INT(tn_run(&t), 0);
  int a = axis < 0 ? axis + 4 : axis;
  for (int64_t i = 0; i < x->count; i++) {
    int64_t c[4];
    tu_unravel(i, 4, shape, c);
    double sum = 0, mx = -INFINITY;
    for (int64_t k = 0; k < shape[a]; k++) {
      c[a] = k;
      mx = fmax(mx, exec_f32(x)[((c[0] * 3 + c[1]) * 1 + c[2]) * 5 + c[3]]);
    }
    for (int64_t k = 0; k < shape[a]; k++) {
      c[a] = k;
      sum += exp(exec_f32(x)[((c[0] * 3 + c[1]) * 1 + c[2]) * 5 + c[3]] - mx);
    }
    double want = exp(exec_f32(x)[i] - mx) / sum;
    if (isinf(mx)) CHECK(isnan(exec_f32(o)[i]));
    else CHECK_NEAR(exec_f32(o)[i], want, 1e-6);
  }
  tn_free(&t);
}

static void test_softmax_axes(void) {
  for (int axis = -4; axis < 4; axis++) check_axis(axis);
}

static void test_softmax_all_neg_inf(void) {
  tnode t;
  tn_init(&t, "softmax", 1);
  tn_in(&t, "x", tt_f32(&t, 2, SH(2, 3), (float[]){-INFINITY, -INFINITY, -INFINITY, 0, -INFINITY, 0}));
  exec_tensor *o = tn_out(&t, 0, MIL_FP16, 2, SH(2, 3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(isnan(exec_f32(o)[0]) && isnan(exec_f32(o)[1]) && isnan(exec_f32(o)[2]));
  CHECK_NEAR(exec_f32(o)[3], 0.5, 1e-7);
  CHECK(exec_f32(o)[4] == 0);
  CHECK_NEAR(exec_f32(o)[5], 0.5, 1e-7);
  tn_free(&t);
}

static void test_softmax_errors(void) {
  tnode t;
  tn_init(&t, "softmax", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "axis", tt_si(&t, -3));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'softmax' (y0): axis -3 is out of range for rank 2");
  tn_free(&t);

  tn_init(&t, "softmax", 1);
  tn_in(&t, "x", tt_new(&t, MIL_INT32, 2, SH(2, 3)));
  tn_out(&t, 0, MIL_INT32, 2, SH(2, 3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'softmax' (y0): input and output must be float, got int32 -> int32");
  tn_free(&t);

  tn_init(&t, "softmax", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_out(&t, 0, MIL_FP32, 2, SH(3, 2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'softmax' (y0): output 0 is declared [3, 2] but the inputs give [2, 3]");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"softmax_axes", test_softmax_axes},
      {"softmax_all_neg_inf", test_softmax_all_neg_inf},
      {"softmax_errors", test_softmax_errors},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
