/* test_exec_ops_gather.c — gather (axes, batch_dims, negative indices, packed x), gather_along_axis,
 * scatter and scatter_along_axis in every mode, one_hot; references index the flat arrays
 * directly. Exact except packed fp16 values (compared with the decoded fp16). */
#include "exec_ops_util.h"
#include "harness.h"

static exec_tensor *iota(tnode *t, int rank, const int64_t *shape) {
  exec_tensor *x = tt_new(t, MIL_FP32, rank, shape);
  for (int64_t i = 0; i < x->count; i++) exec_f32(x)[i] = (float)i;
  return x;
}

static void test_gather(void) {
  for (int axis = -3; axis < 3; axis++) {
    tnode t;
    tn_init(&t, "gather", 1);
    int64_t xs[3] = {3, 4, 5};
    tn_in(&t, "x", iota(&t, 3, xs));
    int32_t idx[4] = {2, -1, 0, 1};
    tn_in(&t, "indices", tt_i32(&t, 2, SH(2, 2), idx));
    tn_in(&t, "axis", tt_si(&t, axis));
    int a = axis < 0 ? axis + 3 : axis;
    int64_t os[4];
    int r = 0;
    for (int d = 0; d < 3; d++) {
      if (d == a) os[r++] = 2, os[r++] = 2;
      else os[r++] = xs[d];
    }
    exec_tensor *o = tn_out(&t, 0, MIL_FP32, 4, os);
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int64_t i = 0; i < o->count; i++) {
      int64_t c[4], src[3];
      tu_unravel(i, 4, os, c);
      for (int d = 0, k = 0; d < 3; d++) {
        if (d == a) {
          int64_t v = idx[c[k] * 2 + c[k + 1]];
          src[d] = v < 0 ? v + xs[d] : v;
          k += 2;
        } else {
          src[d] = c[k++];
        }
      }
      CHECK(exec_f32(o)[i] == (float)((src[0] * 4 + src[1]) * 5 + src[2]));
    }
    tn_free(&t);
  }
  /* batch_dims = 1: x [2, 3, 4], indices [2, 2], axis 1 -> [2, 2, 4] */
  tnode t;
  tn_init(&t, "gather", 1);
  tn_in(&t, "x", iota(&t, 3, SH(2, 3, 4)));
  tn_in(&t, "indices", tt_i32(&t, 2, SH(2, 2), (int32_t[]){2, 0, 1, 1}));
  tn_in(&t, "axis", tt_si(&t, 1));
  tn_in(&t, "batch_dims", tt_si(&t, 1));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 3, SH(2, 2, 4));
  CHECK_EQ_INT(tn_run(&t), 0);
  int32_t bi[4] = {2, 0, 1, 1};
  for (int64_t i = 0; i < 16; i++) {
    int64_t b = i / 8, j = (i / 4) % 2, k = i % 4;
    CHECK(exec_f32(o)[i] == (float)((b * 3 + bi[b * 2 + j]) * 4 + k));
  }
  tn_free(&t);
  /* Embedding lookup from a packed fp16 table, scalar index removes the axis. */
  tn_init(&t, "gather", 1);
  float table[5 * 6];
  for (int i = 0; i < 30; i++) table[i] = tu_rand();
  tn_in(&t, "x", tt_packed_f16(&t, 2, SH(5, 6), table));
  tn_in(&t, "indices", tt_si(&t, 3));
  o = tn_out(&t, 0, MIL_FP16, 1, SH(6));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int i = 0; i < 6; i++) CHECK(exec_f32(o)[i] == table[18 + i]);
  tn_free(&t);
  /* Out of range at run time. */
  tn_init(&t, "gather", 1);
  tn_in(&t, "x", iota(&t, 2, SH(5, 2)));
  tn_in(&t, "indices", tt_i32(&t, 1, SH(2), (int32_t[]){1, 5}));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 2));
  CHECK_EQ_INT(tn_run(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'gather' (y0): index 5 is out of range for a dim of size 5");
  tn_free(&t);

  tn_init(&t, "gather", 1);
  tn_in(&t, "x", iota(&t, 2, SH(5, 2)));
  tn_in(&t, "indices", tt_f32(&t, 1, SH(1), (float[]){1}));
  tn_out(&t, 0, MIL_FP32, 2, SH(1, 2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'gather' (y0): indices has unsupported dtype fp32");
  tn_free(&t);
}

static void test_gather_scatter_along_axis(void) {
  tnode t;
  tn_init(&t, "gather_along_axis", 1);
  tn_in(&t, "x", iota(&t, 2, SH(3, 4)));
  int32_t idx[6] = {2, 0, 1, -1, 0, 0};
  tn_in(&t, "indices", tt_i32(&t, 2, SH(3, 2), idx));
  tn_in(&t, "axis", tt_si(&t, 1));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 2, SH(3, 2));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int i = 0; i < 6; i++) CHECK(exec_f32(o)[i] == (float)((i / 2) * 4 + (idx[i] < 0 ? idx[i] + 4 : idx[i])));
  tn_free(&t);

  const char *modes[] = {"update", "add", "sub", "mul", "div", "max", "min"};
  for (int m = 0; m < 7; m++) {
    tn_init(&t, "scatter_along_axis", 1);
    exec_tensor *x = iota(&t, 2, SH(2, 3));
    tn_in(&t, "data", x);
    int32_t ix[4] = {2, 0, 1, 1};
    float up[4] = {10, 20, 30, 40};
    tn_in(&t, "indices", tt_i32(&t, 2, SH(2, 2), ix));
    tn_in(&t, "updates", tt_f32(&t, 2, SH(2, 2), up));
    tn_in(&t, "axis", tt_si(&t, -1));
    tn_in(&t, "mode", tt_str(&t, modes[m]));
    o = tn_out(&t, 0, MIL_FP32, 2, SH(2, 3));
    CHECK_EQ_INT(tn_run(&t), 0);
    double want[6] = {0, 1, 2, 3, 4, 5};
    for (int i = 0; i < 4; i++) {
      double *w = &want[(i / 2) * 3 + ix[i]], u = up[i];
      *w = m == 0 ? u : m == 1 ? *w + u : m == 2 ? *w - u : m == 3 ? *w * u : m == 4 ? *w / u : m == 5 ? (*w > u ? *w : u) : (*w < u ? *w : u);
    }
    for (int i = 0; i < 6; i++) CHECK_NEAR(exec_f32(o)[i], want[i], 1e-6);
    tn_free(&t);
  }

  tn_init(&t, "scatter", 1); /* rows 2 and 0 of [3, 2] get added */
  tn_in(&t, "data", iota(&t, 2, SH(3, 2)));
  tn_in(&t, "indices", tt_i32(&t, 1, SH(2), (int32_t[]){2, 0}));
  tn_in(&t, "updates", tt_f32(&t, 2, SH(2, 2), (float[]){10, 20, 30, 40}));
  o = tn_out(&t, 0, MIL_FP32, 2, SH(3, 2));
  CHECK_EQ_INT(tn_run(&t), 0); /* default mode is add */
  float want[6] = {30, 41, 2, 3, 14, 25};
  for (int i = 0; i < 6; i++) CHECK(exec_f32(o)[i] == want[i]);
  tn_free(&t);

  tn_init(&t, "scatter", 1);
  tn_in(&t, "data", iota(&t, 2, SH(3, 2)));
  tn_in(&t, "indices", tt_i32(&t, 1, SH(2), (int32_t[]){2, 0}));
  tn_in(&t, "updates", tt_new(&t, MIL_FP32, 2, SH(3, 3)));
  tn_in(&t, "axis", tt_si(&t, 1));
  tn_out(&t, 0, MIL_FP32, 2, SH(3, 2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'scatter' (y0): updates [3, 3] must have shape [3, 2]");
  tn_free(&t);

  tn_init(&t, "scatter", 1);
  tn_in(&t, "data", iota(&t, 2, SH(3, 2)));
  tn_in(&t, "indices", tt_i32(&t, 1, SH(1), (int32_t[]){0}));
  tn_in(&t, "updates", tt_new(&t, MIL_FP32, 2, SH(1, 2)));
  tn_in(&t, "mode", tt_str(&t, "xor"));
  tn_out(&t, 0, MIL_FP32, 2, SH(3, 2));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'scatter' (y0): unknown scatter mode 'xor'");
  tn_free(&t);
}

static void test_one_hot(void) {
  for (int axis = -2; axis < 2; axis++) {
    tnode t;
    tn_init(&t, "one_hot", 1);
    int32_t idx[3] = {0, 3, -1};
    tn_in(&t, "indices", tt_i32(&t, 1, SH(3), idx));
    tn_in(&t, "one_hot_vector_size", tt_si(&t, 4));
    tn_in(&t, "axis", tt_si(&t, axis));
    tn_in(&t, "on_value", tt_sf(&t, 5));
    tn_in(&t, "off_value", tt_sf(&t, -1));
    int a = axis < 0 ? axis + 2 : axis;
    exec_tensor *o = tn_out(&t, 0, MIL_FP32, 2, a == 0 ? SH(4, 3) : SH(3, 4));
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int64_t i = 0; i < 12; i++) {
      int64_t k = a == 0 ? i / 3 : i % 4, j = a == 0 ? i % 3 : i / 4;
      int64_t v = idx[j] < 0 ? idx[j] + 4 : idx[j];
      CHECK(exec_f32(o)[i] == (v == k ? 5.0f : -1.0f));
    }
    tn_free(&t);
  }
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"gather", test_gather},
      {"gather_scatter_along_axis", test_gather_scatter_along_axis},
      {"one_hot", test_one_hot},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
