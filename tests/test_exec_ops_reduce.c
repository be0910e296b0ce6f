/* test_exec_ops_reduce.c — reductions and arg-reductions against float64 references that walk
 * every input element and add it into its output cell. Tolerance 1e-6 relative (fp32 output). */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

/* Reference: the output cell of input coordinate c (reduced dims dropped or set to 0). */
static int64_t out_cell(const int64_t *c, int rank, const int64_t *shape, const int *red) {
  int64_t idx = 0;
  for (int d = 0; d < rank; d++)
    if (!red[d]) idx = idx * shape[d] + c[d];
  return idx;
}

static void check_reduce(const char *op, mil_dtype dt, int rank, const int64_t *shape, int naxes,
                         const int32_t *axes, int keep) {
  tnode t;
  tn_init(&t, op, 1);
  exec_tensor *x = tt_new(&t, dt, rank, shape);
  tu_fill(x);
  if (!strcmp(op, "reduce_log_sum"))
    for (int64_t i = 0; i < x->count; i++) exec_f32(x)[i] = fabsf(exec_f32(x)[i]) + 0.1f;
  tn_in(&t, "x", x);
  int red[MR_MAX_RANK] = {0};
  if (naxes >= 0) {
    tn_in(&t, "axes", tt_i32(&t, 1, SH(naxes), axes));
    for (int i = 0; i < naxes; i++) red[axes[i] < 0 ? axes[i] + rank : axes[i]] = 1;
  } else {
    for (int d = 0; d < rank; d++) red[d] = 1;
  }
  if (keep) tn_in(&t, "keep_dims", tt_sb(&t, 1));
  int64_t os[MR_MAX_RANK], n = 0, ocount = 1, rcount = 1;
  for (int d = 0; d < rank; d++) {
    if (!red[d] || keep) os[n++] = red[d] ? 1 : shape[d];
    if (!red[d]) ocount *= shape[d];
    else rcount *= shape[d];
  }
  exec_tensor *o = tn_out(&t, 0, dt, (int)n, os);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  double acc[64], mx[64];
  for (int64_t k = 0; k < ocount; k++) {
    acc[k] = !strcmp(op, "reduce_prod") ? 1 : !strcmp(op, "reduce_max") ? -INFINITY : !strcmp(op, "reduce_min") ? INFINITY : 0;
    mx[k] = -INFINITY;
  }
  for (int pass = 0; pass < 2; pass++)
    for (int64_t i = 0; i < x->count; i++) {
      int64_t c[MR_MAX_RANK];
      tu_unravel(i, rank, shape, c);
      int64_t k = out_cell(c, rank, shape, red);
      double v = tu_get(x, i);
      if (pass == 0) { mx[k] = v > mx[k] ? v : mx[k]; continue; }
      if (!strcmp(op, "reduce_max")) acc[k] = v > acc[k] ? v : acc[k];
      else if (!strcmp(op, "reduce_min")) acc[k] = v < acc[k] ? v : acc[k];
      else if (!strcmp(op, "reduce_prod")) acc[k] *= v;
      else if (!strcmp(op, "reduce_l1_norm")) acc[k] += fabs(v);
      else if (!strcmp(op, "reduce_l2_norm") || !strcmp(op, "reduce_sum_square")) acc[k] += v * v;
      else if (!strcmp(op, "reduce_log_sum_exp")) acc[k] += exp(v);
      else acc[k] += v;
    }
  for (int64_t k = 0; rc == 0 && k < ocount; k++) {
    double want = acc[k];
    if (!strcmp(op, "reduce_mean")) want /= (double)rcount;
    if (!strcmp(op, "reduce_l2_norm")) want = sqrt(want);
    if (!strcmp(op, "reduce_log_sum") || !strcmp(op, "reduce_log_sum_exp")) want = log(want);
    if (dt == MIL_INT32) want = trunc(want);
    CHECK_MSG(fabs(tu_get(o, k) - want) <= 1e-6 * (1 + fabs(want)), "%s[%lld] = %g, want %g", op,
              (long long)k, tu_get(o, k), want);
  }
  tn_free(&t);
}

static void test_reduce_all_ops(void) {
  const char *ops[] = {"reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
                       "reduce_l1_norm", "reduce_l2_norm", "reduce_sum_square", "reduce_log_sum",
                       "reduce_log_sum_exp"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
    check_reduce(ops[i], MIL_FP32, 3, SH(2, 3, 4), 1, (int32_t[]){-1}, 0);
    check_reduce(ops[i], MIL_FP32, 3, SH(2, 3, 4), 2, (int32_t[]){2, 0}, 1);
    check_reduce(ops[i], MIL_FP32, 3, SH(2, 3, 4), 1, (int32_t[]){1}, 1);
    check_reduce(ops[i], MIL_FP32, 2, SH(3, 5), -1, NULL, 0); /* all axes -> rank 0 */
    check_reduce(ops[i], MIL_FP32, 4, SH(2, 1, 3, 2), 2, (int32_t[]){1, 3}, 0);
  }
  check_reduce("reduce_sum", MIL_INT32, 2, SH(3, 4), 1, (int32_t[]){0}, 0);
  check_reduce("reduce_max", MIL_INT32, 2, SH(3, 4), 1, (int32_t[]){1}, 1);
  check_reduce("reduce_sum", MIL_FP32, 2, SH(0, 4), 1, (int32_t[]){0}, 0); /* empty -> 0 */
}

static void test_reduce_large_row(void) {
  /* A long row of +-1 alternating with a large offset: fp32 naive summation would drift. */
  tnode t;
  tn_init(&t, "reduce_sum", 1);
  exec_tensor *x = tt_new(&t, MIL_FP32, 1, SH(100000));
  for (int i = 0; i < 100000; i++) exec_f32(x)[i] = i % 2 ? 1.0f : 0.1f;
  tn_in(&t, "x", x);
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 0, NULL);
  CHECK_EQ_INT(tn_run(&t), 0);
  double want = 0;
  for (int i = 0; i < 100000; i++) want += exec_f32(x)[i];
  CHECK_NEAR(exec_f32(o)[0], want, 1e-6 * want);
  tn_free(&t);
}

static void test_argreduce(void) {
  for (int is_min = 0; is_min < 2; is_min++)
    for (int axis = -3; axis < 3; axis++) {
      tnode t;
      tn_init(&t, is_min ? "reduce_argmin" : "reduce_argmax", 1);
      int64_t shape[3] = {3, 4, 5};
      exec_tensor *x = tt_new(&t, MIL_FP32, 3, shape);
      tu_fill(x);
      exec_f32(x)[7] = exec_f32(x)[2]; /* a tie somewhere */
      tn_in(&t, "x", x);
      tn_in(&t, "axis", tt_si(&t, axis));
      int a = axis < 0 ? axis + 3 : axis;
      int64_t os[3];
      for (int d = 0; d < 3; d++) os[d] = d == a ? 1 : shape[d];
      tn_in(&t, "keep_dims", tt_sb(&t, 1));
      exec_tensor *o = tn_out(&t, 0, MIL_INT32, 3, os);
      CHECK_EQ_INT(tn_run(&t), 0);
      for (int64_t k = 0; k < o->count; k++) {
        int64_t c[3];
        tu_unravel(k, 3, os, c);
        int best = 0;
        double bv = 0;
        for (int r = 0; r < shape[a]; r++) {
          c[a] = r;
          double v = exec_f32(x)[(c[0] * 4 + c[1]) * 5 + c[2]];
          if (r == 0 || (is_min ? v < bv : v > bv)) bv = v, best = r;
        }
        CHECK_EQ_INT(exec_i32(o)[k], best);
      }
      tn_free(&t);
    }
  /* Default axis -1 without keep_dims: [2, 3] -> [2] */
  tnode t;
  tn_init(&t, "reduce_argmax", 1);
  tn_in(&t, "x", tt_f32(&t, 2, SH(2, 3), (float[]){1, 5, 5, -INFINITY, -2, -3}));
  exec_tensor *o = tn_out(&t, 0, MIL_INT32, 1, SH(2));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK_EQ_INT(exec_i32(o)[0], 1);
  CHECK_EQ_INT(exec_i32(o)[1], 1);
  tn_free(&t);
}

static void test_reduce_errors(void) {
  tnode t;
  tn_init(&t, "reduce_sum", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "axes", tt_i32(&t, 1, SH(1), (int32_t[]){2}));
  tn_out(&t, 0, MIL_FP32, 1, SH(2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reduce_sum' (y0): axis 2 is out of range for rank 2");
  tn_free(&t);

  tn_init(&t, "reduce_mean", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "axes", tt_i32(&t, 1, SH(2), (int32_t[]){1, -1}));
  tn_out(&t, 0, MIL_FP32, 1, SH(2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reduce_mean' (y0): axis -1 is repeated");
  tn_free(&t);

  tn_init(&t, "reduce_max", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "axes", tt_f32(&t, 1, SH(1), (float[]){1}));
  tn_out(&t, 0, MIL_FP32, 1, SH(2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reduce_max' (y0): parameter 'axes' must be an int tensor, got float [1]");
  tn_free(&t);

  tn_init(&t, "reduce_sum", 1);
  tn_in(&t, "x", tt_new(&t, MIL_BOOL, 2, SH(2, 3)));
  tn_out(&t, 0, MIL_FP32, 0, NULL);
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reduce_sum' (y0): x has unsupported dtype bool");
  tn_free(&t);

  tn_init(&t, "reduce_argmax", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_out(&t, 0, MIL_FP32, 1, SH(2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reduce_argmax' (y0): output must be an integer type, declared fp32");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"reduce_all_ops", test_reduce_all_ops},
      {"reduce_large_row", test_reduce_large_row},
      {"argreduce", test_argreduce},
      {"reduce_errors", test_reduce_errors},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
