/* test_exec_ops_shape.c — reshape family, transpose, shape, concat, split, stack, tile and pad
 * against references that compute each output element's source coordinate directly. All exact. */
#include "exec_ops_util.h"
#include "harness.h"

/* A fresh F32 tensor holding 0, 1, 2, ... so that values identify source positions. */
static exec_tensor *iota(tnode *t, int rank, const int64_t *shape) {
  exec_tensor *x = tt_new(t, MIL_FP32, rank, shape);
  for (int64_t i = 0; i < x->count; i++) exec_f32(x)[i] = (float)i;
  return x;
}

static void test_reshape_family(void) {
  tnode t;
  tn_init(&t, "reshape", 1);
  tn_in(&t, "x", iota(&t, 3, SH(2, 3, 4)));
  tn_in(&t, "shape", tt_i32(&t, 1, SH(3), (int32_t[]){0, -1, 2}));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 3, SH(-1, -1, 2));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(o->shape[0] == 2 && o->shape[1] == 6 && o->shape[2] == 2);
  for (int i = 0; i < 24; i++) CHECK(exec_f32(o)[i] == i);
  tn_free(&t);

  /* Run-time shape: checked in run() against the declared output. */
  tn_init(&t, "reshape", 1);
  tn_in(&t, "x", iota(&t, 2, SH(2, 6)));
  exec_tensor *st = tt_i32(&t, 1, SH(2), (int32_t[]){3, 4});
  st->is_const = 0;
  tn_in(&t, "shape", st);
  tn_out(&t, 0, MIL_FP32, 2, SH(3, 4));
  CHECK_EQ_INT(tn_run(&t), 0);
  exec_i32(st)[0] = 4, exec_i32(st)[1] = 3;
  CHECK_EQ_INT(tn_exec(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reshape' (y0): run-time shape [4, 3] differs from the planned output shape [3, 4]");
  exec_i32(st)[0] = 5;
  CHECK_EQ_INT(tn_exec(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reshape' (y0): cannot reshape [2, 6] (12 elements) into [5, 3]");
  tn_free(&t);

  tn_init(&t, "reshape", 1);
  tn_in(&t, "x", iota(&t, 1, SH(6)));
  tn_in(&t, "shape", tt_i32(&t, 1, SH(2), (int32_t[]){-1, -1}));
  tn_out(&t, 0, MIL_FP32, 2, SH(-1, -1));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'reshape' (y0): shape has more than one -1");
  tn_free(&t);

  tn_init(&t, "expand_dims", 1);
  tn_in(&t, "x", iota(&t, 2, SH(2, 3)));
  tn_in(&t, "axes", tt_i32(&t, 1, SH(2), (int32_t[]){-1, 0}));
  o = tn_out(&t, 0, MIL_FP32, 4, SH(1, 2, 3, 1));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_f32(o)[5] == 5);
  tn_free(&t);

  tn_init(&t, "expand_dims", 1);
  tn_in(&t, "x", iota(&t, 2, SH(2, 3)));
  tn_in(&t, "axes", tt_i32(&t, 1, SH(1), (int32_t[]){3}));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 2, 3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'expand_dims' (y0): axis 3 is out of range for rank 3");
  tn_free(&t);

  tn_init(&t, "squeeze", 1); /* default: every size-1 dim; [1] -> rank 0 */
  tn_in(&t, "x", iota(&t, 3, SH(1, 1, 1)));
  o = tn_out(&t, 0, MIL_FP32, 0, NULL);
  CHECK_EQ_INT(tn_run(&t), 0);
  tn_free(&t);

  tn_init(&t, "squeeze", 1); /* an axis whose size is not 1 stays */
  tn_in(&t, "x", iota(&t, 4, SH(1, 3, 1, 2)));
  tn_in(&t, "axes", tt_i32(&t, 1, SH(2), (int32_t[]){1, -2}));
  o = tn_out(&t, 0, MIL_FP32, 3, SH(1, 3, 2));
  CHECK_EQ_INT(tn_run(&t), 0);
  tn_free(&t);

  tn_init(&t, "flatten2d", 1);
  tn_in(&t, "x", iota(&t, 4, SH(2, 3, 4, 5)));
  tn_in(&t, "axis", tt_si(&t, -2));
  o = tn_out(&t, 0, MIL_FP32, 2, SH(6, 20));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_f32(o)[119] == 119);
  tn_free(&t);

  tn_init(&t, "identity", 1);
  tn_in(&t, "x", tt_u8(&t, 1, SH(3), (uint8_t[]){1, 0, 1}));
  o = tn_out(&t, 0, MIL_BOOL, 1, SH(3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_u8(o)[0] == 1 && exec_u8(o)[1] == 0 && exec_u8(o)[2] == 1);
  tn_free(&t);

  tn_init(&t, "identity", 1);
  tn_in(&t, "x", tt_u8(&t, 1, SH(3), NULL));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'identity' (y0): output 0 is declared fp32 but the input is bool");
  tn_free(&t);
}

static void test_transpose_shape(void) {
  tnode t;
  tn_init(&t, "transpose", 1);
  int64_t xs[4] = {2, 3, 4, 5};
  tn_in(&t, "x", iota(&t, 4, xs));
  tn_in(&t, "perm", tt_i32(&t, 1, SH(4), (int32_t[]){0, 2, -3, -1}));
  int perm[4] = {0, 2, 1, 3};
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 4, SH(2, 4, 3, 5));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < o->count; i++) {
    int64_t c[4], src[4];
    tu_unravel(i, 4, o->shape, c);
    for (int k = 0; k < 4; k++) src[perm[k]] = c[k];
    CHECK(exec_f32(o)[i] == (float)(((src[0] * 3 + src[1]) * 4 + src[2]) * 5 + src[3]));
  }
  tn_free(&t);

  tn_init(&t, "transpose", 1);
  tn_in(&t, "x", iota(&t, 2, SH(2, 3)));
  tn_in(&t, "perm", tt_i32(&t, 1, SH(2), (int32_t[]){1, 1}));
  tn_out(&t, 0, MIL_FP32, 2, SH(3, 3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'transpose' (y0): perm is not a permutation");
  tn_free(&t);

  tn_init(&t, "shape", 1);
  tn_in(&t, "x", iota(&t, 3, SH(2, 0, 7)));
  o = tn_out(&t, 0, MIL_INT32, 1, SH(3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_i32(o)[0] == 2 && exec_i32(o)[1] == 0 && exec_i32(o)[2] == 7);
  tn_free(&t);
}

static void test_concat_split_stack(void) {
  tnode t;
  tn_init(&t, "concat", 1);
  exec_tensor *v[3] = {iota(&t, 3, SH(2, 1, 3)), iota(&t, 3, SH(2, 0, 3)), iota(&t, 3, SH(2, 2, 3))};
  for (int i = 0; i < 6; i++) exec_f32(v[2])[i] += 100, exec_f32(v[2])[i + 6] += 100;
  tn_bind(&t, "values", 3, v);
  tn_in(&t, "axis", tt_si(&t, -2));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 3, SH(2, 3, 3));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < 18; i++) {
    int64_t b = i / 9, r = (i / 3) % 3, c = i % 3;
    float want = r == 0 ? (float)(b * 3 + c) : 100 + (float)((b * 2 + r - 1) * 3 + c);
    CHECK(exec_f32(o)[i] == want);
  }
  tn_free(&t);

  tn_init(&t, "concat", 1); /* interleave: out[j * N + i] = values[i][j] along axis */
  exec_tensor *w[2] = {iota(&t, 2, SH(2, 3)), iota(&t, 2, SH(2, 3))};
  for (int i = 0; i < 6; i++) exec_f32(w[1])[i] = -(float)i;
  tn_bind(&t, "values", 2, w);
  tn_in(&t, "axis", tt_si(&t, 1));
  tn_in(&t, "interleave", tt_sb(&t, 1));
  o = tn_out(&t, 0, MIL_FP32, 2, SH(2, 6));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < 12; i++) {
    int64_t r = i / 6, j = (i % 6) / 2, src = i % 2;
    CHECK(exec_f32(o)[i] == (src ? -1.0f : 1.0f) * (float)(r * 3 + j));
  }
  tn_free(&t);

  tn_init(&t, "concat", 1);
  exec_tensor *bad[2] = {iota(&t, 2, SH(2, 3)), iota(&t, 2, SH(3, 3))};
  tn_bind(&t, "values", 2, bad);
  tn_in(&t, "axis", tt_si(&t, 1));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'concat' (y0): values[1] fp32 [3, 3] does not match values[0] fp32 [2, 3]");
  tn_free(&t);

  tn_init(&t, "split", 3);
  tn_in(&t, "x", iota(&t, 2, SH(2, 6)));
  tn_in(&t, "split_sizes", tt_i32(&t, 1, SH(3), (int32_t[]){1, 3, 2}));
  tn_in(&t, "axis", tt_si(&t, 1));
  exec_tensor *s0 = tn_out(&t, 0, MIL_FP32, 2, SH(2, 1)), *s1 = tn_out(&t, 1, MIL_FP32, 2, SH(2, 3)),
              *s2 = tn_out(&t, 2, MIL_FP32, 2, SH(2, -1));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_f32(s0)[1] == 6 && exec_f32(s1)[0] == 1 && exec_f32(s1)[5] == 9 && exec_f32(s2)[3] == 11);
  tn_free(&t);

  tn_init(&t, "split", 2);
  tn_in(&t, "x", iota(&t, 2, SH(2, 5)));
  tn_in(&t, "num_splits", tt_si(&t, 2));
  tn_in(&t, "axis", tt_si(&t, 1));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, -1));
  tn_out(&t, 1, MIL_FP32, 2, SH(2, -1));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'split' (y0): cannot split a dim of 5 into 2 equal parts for 2 outputs");
  tn_free(&t);

  tn_init(&t, "stack", 1);
  exec_tensor *u[3] = {iota(&t, 2, SH(2, 2)), iota(&t, 2, SH(2, 2)), iota(&t, 2, SH(2, 2))};
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 4; i++) exec_f32(u[k])[i] += 10 * k;
  tn_bind(&t, "values", 3, u);
  tn_in(&t, "axis", tt_si(&t, -1));
  o = tn_out(&t, 0, MIL_FP32, 3, SH(2, 2, 3));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < 12; i++) CHECK(exec_f32(o)[i] == (float)(i / 3 + 10 * (i % 3)));
  tn_free(&t);
}

static void test_tile_pad(void) {
  tnode t;
  tn_init(&t, "tile", 1);
  tn_in(&t, "x", iota(&t, 2, SH(2, 3)));
  exec_tensor *reps = tt_i32(&t, 1, SH(2), (int32_t[]){3, 2});
  reps->is_const = 0;
  tn_in(&t, "reps", reps);
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 2, SH(6, 6));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < 36; i++) CHECK(exec_f32(o)[i] == (float)(((i / 6) % 2) * 3 + (i % 6) % 3));
  tn_free(&t);

  const char *modes[3] = {"constant", "reflect", "replicate"};
  for (int m = 0; m < 3; m++) {
    tn_init(&t, "pad", 1);
    int64_t xs[3] = {2, 3, 4};
    tn_in(&t, "x", iota(&t, 3, xs));
    tn_in(&t, "pad", tt_i32(&t, 1, SH(4), (int32_t[]){2, 1, 3, 0})); /* last two dims */
    tn_in(&t, "mode", tt_str(&t, modes[m]));
    tn_in(&t, "constant_val", tt_sf(&t, -7));
    o = tn_out(&t, 0, MIL_FP32, 3, SH(2, 6, 7));
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int64_t i = 0; i < o->count; i++) {
      int64_t c[3], before[3] = {0, 2, 3};
      tu_unravel(i, 3, o->shape, c);
      int64_t src[3], outside = 0;
      for (int d = 0; d < 3; d++) {
        int64_t s = c[d] - before[d];
        if (s < 0 || s >= xs[d]) {
          outside = 1;
          if (m == 1) s = s < 0 ? -s : 2 * xs[d] - 2 - s;
          if (m == 2) s = s < 0 ? 0 : xs[d] - 1;
        }
        src[d] = s;
      }
      float want = (outside && m == 0) ? -7.0f : (float)((src[0] * 3 + src[1]) * 4 + src[2]);
      CHECK_MSG(exec_f32(o)[i] == want, "%s pad [%lld] = %g, want %g", modes[m], (long long)i, exec_f32(o)[i], want);
    }
    tn_free(&t);
  }

  tn_init(&t, "pad", 1);
  tn_in(&t, "x", iota(&t, 2, SH(2, 3)));
  tn_in(&t, "pad", tt_i32(&t, 1, SH(2), (int32_t[]){3, 0}));
  tn_in(&t, "mode", tt_str(&t, "reflect"));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'pad' (y0): reflect padding of 3 needs a dim larger than 3");
  tn_free(&t);

  tn_init(&t, "pad", 1);
  tn_in(&t, "x", iota(&t, 2, SH(2, 3)));
  tn_in(&t, "pad", tt_i32(&t, 1, SH(2), (int32_t[]){1, 0}));
  tn_in(&t, "mode", tt_str(&t, "wrap"));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'pad' (y0): unknown pad mode 'wrap'");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"reshape_family", test_reshape_family},
      {"transpose_shape", test_transpose_shape},
      {"concat_split_stack", test_concat_split_stack},
      {"tile_pad", test_tile_pad},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
