/* test_exec_ops_norm.c — layer_norm (trailing, middle and unordered axes, gamma/beta), batch_norm,
 * instance_norm and l2_norm against float64 references. Tolerance 2e-5 absolute on unit-scale
 * outputs (one fp32 rounding plus the fp32 input's own rounding through 1/sigma). */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

static void check_layer_norm(int rank, const int64_t *shape, int naxes, const int32_t *axes, int affine) {
  tnode t;
  tn_init(&t, "layer_norm", 1);
  exec_tensor *x = tt_new(&t, MIL_FP32, rank, shape);
  tu_fill(x);
  for (int64_t i = 0; i < x->count; i++) exec_f32(x)[i] = exec_f32(x)[i] * 50 + 300; /* large mean */
  tn_in(&t, "x", x);
  int red[MR_MAX_RANK] = {0};
  int64_t gshape[MR_MAX_RANK], gcount = 1;
  for (int i = 0; i < naxes; i++) {
    int a = axes[i] < 0 ? axes[i] + rank : axes[i];
    red[a] = 1;
    gshape[i] = shape[a];
    gcount *= shape[a];
  }
  tn_in(&t, "axes", tt_i32(&t, 1, SH(naxes), axes));
  exec_tensor *gm = NULL, *bt = NULL;
  if (affine) {
    gm = tt_new(&t, MIL_FP32, naxes, gshape);
    bt = tt_new(&t, MIL_FP32, naxes, gshape);
    tu_fill(gm);
    tu_fill(bt);
    tn_in(&t, "gamma", gm);
    tn_in(&t, "beta", bt);
    tn_in(&t, "epsilon", tt_sf(&t, 1e-3f));
  }
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, rank, shape);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  for (int64_t i = 0; rc == 0 && i < x->count; i++) {
    int64_t c[MR_MAX_RANK], c2[MR_MAX_RANK];
    tu_unravel(i, rank, shape, c);
    double mean = 0, var = 0;
    for (int pass = 0; pass < 2; pass++)
      for (int64_t j = 0; j < x->count; j++) {
        tu_unravel(j, rank, shape, c2);
        int same = 1;
        for (int d = 0; d < rank; d++) same &= red[d] || c2[d] == c[d];
        if (!same) continue;
        if (pass == 0) mean += exec_f32(x)[j] / (double)gcount;
        else var += (exec_f32(x)[j] - mean) * (exec_f32(x)[j] - mean) / (double)gcount;
      }
    double want = (exec_f32(x)[i] - mean) / sqrt(var + (affine ? 1e-3f : 1e-5f));
    if (affine) { /* gamma index: coordinates on the axes, in the order given */
      int64_t gi = 0;
      for (int k = 0; k < naxes; k++) gi = gi * gshape[k] + c[axes[k] < 0 ? axes[k] + rank : axes[k]];
      want = want * exec_f32(gm)[gi] + exec_f32(bt)[gi];
    }
    CHECK_NEAR(exec_f32(o)[i], want, 2e-5);
  }
  tn_free(&t);
}

static void test_layer_norm(void) {
  check_layer_norm(3, SH(2, 3, 8), 1, (int32_t[]){-1}, 0);
  check_layer_norm(3, SH(2, 3, 8), 1, (int32_t[]){2}, 1);
  check_layer_norm(4, SH(1, 4, 1, 6), 1, (int32_t[]){1}, 1); /* channel axis of [1, C, 1, S] */
  check_layer_norm(3, SH(2, 3, 4), 2, (int32_t[]){2, 1}, 1); /* unordered axes: gamma [4, 3] */
  check_layer_norm(2, SH(3, 1), 1, (int32_t[]){1}, 0);       /* size-1 normalised dim -> 0 */
}

static void test_batch_instance_l2(void) {
  tnode t;
  tn_init(&t, "batch_norm", 1);
  int64_t shape[4] = {2, 3, 2, 2};
  exec_tensor *x = tt_new(&t, MIL_FP32, 4, shape);
  tu_fill(x);
  float mean[3] = {0.1f, -0.2f, 0.3f}, var[3] = {0.5f, 1.5f, 2.0f}, gam[3] = {1, 2, 3}, bet[3] = {-1, 0, 1};
  tn_in(&t, "x", x);
  tn_in(&t, "mean", tt_f32(&t, 1, SH(3), mean));
  tn_in(&t, "variance", tt_f32(&t, 1, SH(3), var));
  tn_in(&t, "gamma", tt_f32(&t, 1, SH(3), gam));
  tn_in(&t, "beta", tt_f32(&t, 1, SH(3), bet));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 4, shape);
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < x->count; i++) {
    int c = (int)((i / 4) % 3);
    CHECK_NEAR(exec_f32(o)[i], (exec_f32(x)[i] - mean[c]) / sqrt(var[c] + 1e-5) * gam[c] + bet[c], 2e-5);
  }
  tn_free(&t);

  tn_init(&t, "instance_norm", 1);
  x = tt_new(&t, MIL_FP32, 4, shape);
  tu_fill(x);
  tn_in(&t, "x", x);
  tn_in(&t, "gamma", tt_f32(&t, 1, SH(3), gam));
  o = tn_out(&t, 0, MIL_FP32, 4, shape);
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < x->count; i++) {
    int64_t base = i / 4 * 4;
    double m = 0, v = 0;
    for (int k = 0; k < 4; k++) m += exec_f32(x)[base + k] / 4;
    for (int k = 0; k < 4; k++) v += (exec_f32(x)[base + k] - m) * (exec_f32(x)[base + k] - m) / 4;
    CHECK_NEAR(exec_f32(o)[i], (exec_f32(x)[i] - m) / sqrt(v + 1e-5) * gam[(i / 4) % 3], 2e-5);
  }
  tn_free(&t);

  tn_init(&t, "l2_norm", 1);
  x = tt_new(&t, MIL_FP32, 4, shape);
  tu_fill(x);
  tn_in(&t, "x", x);
  o = tn_out(&t, 0, MIL_FP32, 4, shape);
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < x->count; i++) {
    int64_t base = i / 12 * 12;
    double ss = 0;
    for (int k = 0; k < 12; k++) ss += (double)exec_f32(x)[base + k] * exec_f32(x)[base + k];
    CHECK_NEAR(exec_f32(o)[i], exec_f32(x)[i] / sqrt(ss + 1e-6), 1e-6);
  }
  tn_free(&t);
}

static void test_norm_errors(void) {
  tnode t;
  tn_init(&t, "layer_norm", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 8)));
  tn_in(&t, "axes", tt_i32(&t, 1, SH(1), (int32_t[]){-1}));
  tn_in(&t, "gamma", tt_new(&t, MIL_FP32, 1, SH(4)));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 8));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'layer_norm' (y0): gamma fp32 [4] must be float [8]");
  tn_free(&t);

  tn_init(&t, "layer_norm", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 8)));
  tn_in(&t, "axes", tt_i32(&t, 1, SH(1), (int32_t[]){2}));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 8));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'layer_norm' (y0): axis 2 is out of range for rank 2");
  tn_free(&t);

  tn_init(&t, "batch_norm", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(1, 3, 4)));
  tn_in(&t, "mean", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 3, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'batch_norm' (y0): missing required parameter 'variance'");
  tn_free(&t);

  tn_init(&t, "l2_norm", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(3, 4)));
  tn_out(&t, 0, MIL_FP32, 2, SH(3, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'l2_norm' (y0): x [3, 4] must have rank >= 3");
  tn_free(&t);

  tn_init(&t, "instance_norm", 1);
  tn_in(&t, "x", tt_new(&t, MIL_INT32, 3, SH(1, 3, 4)));
  tn_out(&t, 0, MIL_INT32, 3, SH(1, 3, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'instance_norm' (y0): input and output must be float, got int32 -> int32");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"layer_norm", test_layer_norm},
      {"batch_instance_l2", test_batch_instance_l2},
      {"norm_errors", test_norm_errors},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
