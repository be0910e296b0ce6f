/* test_exec_ops_slice.c — slice_by_index (masks, negative and large strides, squeeze, run-time
 * begin/end), slice_by_size and slice_update. The reference enumerates each dim's indices by
 * Python's slice rules written out here: normalise, clamp, step. All exact. */
#include "exec_ops_util.h"
#include "harness.h"

static exec_tensor *iota(tnode *t, int rank, const int64_t *shape) {
  exec_tensor *x = tt_new(t, MIL_FP32, rank, shape);
  for (int64_t i = 0; i < x->count; i++) exec_f32(x)[i] = (float)i;
  return x;
}

/* Indices selected on one dim of size n by Python x[b:e:s] (b/e NULL-able through masks). */
static int py_indices(int64_t n, int64_t b, int64_t e, int64_t s, int bm, int em, int64_t *out) {
  int64_t lo = s > 0 ? 0 : -1, hi = s > 0 ? n : n - 1;
  int64_t start = bm ? (s > 0 ? lo : hi) : (b < 0 ? (b + n < lo ? lo : b + n) : (b > hi ? hi : b));
  int64_t stop = em ? (s > 0 ? hi : lo) : (e < 0 ? (e + n < lo ? lo : e + n) : (e > hi ? hi : e));
  int k = 0;
  for (int64_t i = start; s > 0 ? i < stop : i > stop; i += s) out[k++] = i;
  return k;
}

typedef struct sl_case {
  int32_t begin[3], end[3], stride[3];
  uint8_t bm[3], em[3], sm[3];
} sl_case;

static void check_slice(const sl_case *c, int dynamic) {
  int64_t xs[3] = {4, 5, 6}, idx[3][8], cnt[3], os[3];
  int orank = 0;
  for (int d = 0; d < 3; d++) {
    if (c->sm[d]) {
      idx[d][0] = c->begin[d] < 0 ? c->begin[d] + xs[d] : c->begin[d];
      cnt[d] = 1;
      continue;
    }
    cnt[d] = py_indices(xs[d], c->begin[d], c->end[d], c->stride[d], c->bm[d], c->em[d], idx[d]);
    os[orank++] = cnt[d];
  }
  tnode t;
  tn_init(&t, "slice_by_index", 1);
  tn_in(&t, "x", iota(&t, 3, xs));
  exec_tensor *b = tt_i32(&t, 1, SH(3), c->begin), *e = tt_i32(&t, 1, SH(3), c->end);
  b->is_const = e->is_const = !dynamic;
  tn_in(&t, "begin", b);
  tn_in(&t, "end", e);
  tn_in(&t, "stride", tt_i32(&t, 1, SH(3), c->stride));
  tn_in(&t, "begin_mask", tt_u8(&t, 1, SH(3), c->bm));
  tn_in(&t, "end_mask", tt_u8(&t, 1, SH(3), c->em));
  tn_in(&t, "squeeze_mask", tt_u8(&t, 1, SH(3), c->sm));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, orank, os);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  int64_t k = 0;
  for (int64_t i = 0; rc == 0 && i < cnt[0]; i++)
    for (int64_t j = 0; j < cnt[1]; j++)
      for (int64_t l = 0; l < cnt[2]; l++, k++)
        CHECK(exec_f32(o)[k] == (float)((idx[0][i] * 5 + idx[1][j]) * 6 + idx[2][l]));
  CHECK_EQ_INT(k, o->count);
  tn_free(&t);
}

static void test_slice_by_index(void) {
  static const sl_case cases[] = {
      {{1, 0, 0}, {3, 5, 6}, {1, 1, 1}, {0}, {0}, {0}},
      {{0, -4, 5}, {0, -1, 0}, {1, 2, -2}, {1, 0, 0}, {1, 0, 0}, {0}},
      {{-1, 0, 0}, {0, 0, 0}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}, {1, 0, 0}}, /* squeeze dim 0 */
      {{0, 2, -1}, {0, 0, 0}, {-1, 1, 1}, {1, 0, 0}, {1, 1, 1}, {0, 0, 1}},
      {{10, -10, 3}, {20, 10, 3}, {1, 3, 1}, {0}, {0}, {0}},                /* clamping, empty dim */
      {{3, 4, 5}, {-10, -10, 0}, {-2, -3, -7}, {0}, {0}, {0}},
      {{0, 0, 0}, {0, 0, 0}, {1, 1, 1}, {1, 1, 1}, {0, 1, 0}, {0, 0, 0}},   /* end 0 without mask */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    check_slice(&cases[i], 0);
    check_slice(&cases[i], 1);
  }
}

static void test_slice_errors(void) {
  tnode t;
  tn_init(&t, "slice_by_index", 1);
  tn_in(&t, "x", iota(&t, 2, SH(3, 4)));
  tn_in(&t, "begin", tt_i32(&t, 1, SH(2), (int32_t[]){3, 0}));
  tn_in(&t, "end", tt_i32(&t, 1, SH(2), (int32_t[]){0, 4}));
  tn_in(&t, "squeeze_mask", tt_u8(&t, 1, SH(2), (uint8_t[]){1, 0}));
  tn_out(&t, 0, MIL_FP32, 1, SH(4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'slice_by_index' (y0): index 3 is out of range for dim 0 of size 3");
  tn_free(&t);

  tn_init(&t, "slice_by_index", 1);
  tn_in(&t, "x", iota(&t, 2, SH(3, 4)));
  tn_in(&t, "begin", tt_i32(&t, 1, SH(2), (int32_t[]){0, 0}));
  tn_in(&t, "end", tt_i32(&t, 1, SH(2), (int32_t[]){2, 4}));
  tn_in(&t, "stride", tt_i32(&t, 1, SH(2), (int32_t[]){1, 0}));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'slice_by_index' (y0): stride must not be 0");
  tn_free(&t);

  tn_init(&t, "slice_by_index", 1);
  tn_in(&t, "x", iota(&t, 2, SH(3, 4)));
  tn_in(&t, "begin", tt_i32(&t, 1, SH(1), (int32_t[]){0}));
  tn_in(&t, "end", tt_i32(&t, 1, SH(2), (int32_t[]){2, 4}));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'slice_by_index' (y0): begin must have 2 int values");
  tn_free(&t);

  /* Run-time begin that selects a different size than planned. */
  tn_init(&t, "slice_by_index", 1);
  tn_in(&t, "x", iota(&t, 2, SH(3, 4)));
  exec_tensor *b = tt_i32(&t, 1, SH(2), (int32_t[]){0, 0});
  b->is_const = 0;
  tn_in(&t, "begin", b);
  tn_in(&t, "end", tt_i32(&t, 1, SH(2), (int32_t[]){2, 4}));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 4));
  CHECK_EQ_INT(tn_run(&t), 0);
  exec_i32(b)[0] = 1;
  CHECK_EQ_INT(tn_exec(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'slice_by_index' (y0): run-time shape [1, 4] differs from the planned output shape [2, 4]");
  tn_free(&t);
}

static void test_slice_by_size_update(void) {
  tnode t;
  tn_init(&t, "slice_by_size", 1);
  tn_in(&t, "x", iota(&t, 3, SH(2, 3, 4)));
  tn_in(&t, "begin", tt_i32(&t, 1, SH(3), (int32_t[]){1, 1, -3}));
  tn_in(&t, "size", tt_i32(&t, 1, SH(3), (int32_t[]){1, -1, 2}));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 3, SH(1, 2, 2));
  CHECK_EQ_INT(tn_run(&t), 0);
  float want[4] = {17, 18, 21, 22};
  for (int i = 0; i < 4; i++) CHECK(exec_f32(o)[i] == want[i]);
  tn_free(&t);

  tn_init(&t, "slice_by_size", 1);
  tn_in(&t, "x", iota(&t, 1, SH(4)));
  tn_in(&t, "begin", tt_i32(&t, 1, SH(1), (int32_t[]){3}));
  tn_in(&t, "size", tt_i32(&t, 1, SH(1), (int32_t[]){2}));
  tn_out(&t, 0, MIL_FP32, 1, SH(2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'slice_by_size' (y0): begin 3 size 2 is out of range for dim 0 of size 4");
  tn_free(&t);

  /* KV-cache style: write one position (run-time begin) of [1, 2, 5, 3] */
  for (int squeeze = 0; squeeze < 2; squeeze++) {
    tn_init(&t, "slice_update", 1);
    int64_t xs[4] = {1, 2, 5, 3};
    tn_in(&t, "x", iota(&t, 4, xs));
    exec_tensor *u = squeeze ? tt_new(&t, MIL_FP32, 3, SH(1, 2, 3)) : tt_new(&t, MIL_FP32, 4, SH(1, 2, 1, 3));
    for (int i = 0; i < 6; i++) exec_f32(u)[i] = -1 - (float)i;
    tn_in(&t, "update", u);
    exec_tensor *b = tt_i32(&t, 1, SH(4), (int32_t[]){0, 0, 3, 0});
    b->is_const = 0;
    tn_in(&t, "begin", b);
    tn_in(&t, "end", tt_i32(&t, 1, SH(4), (int32_t[]){1, 2, 4, 3}));
    if (squeeze) tn_in(&t, "squeeze_mask", tt_u8(&t, 1, SH(4), (uint8_t[]){0, 0, 1, 0}));
    exec_tensor *so = tn_out(&t, 0, MIL_FP32, 4, xs);
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int64_t i = 0; i < so->count; i++) {
      int64_t c[4];
      tu_unravel(i, 4, xs, c);
      float want_v = c[2] == 3 ? -1 - (float)(c[1] * 3 + c[3]) : (float)i;
      CHECK(exec_f32(so)[i] == want_v);
    }
    exec_i32(b)[2] = 2; /* run-time begin moves to position 2 (end stays 4 for the non-squeezed case) */
    if (!squeeze) {
      CHECK_EQ_INT(tn_exec(&t), MR_ESHAPE);
      CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'slice_update' (y0): run-time slice [1, 2, 2, 3] does not match update [1, 2, 1, 3]");
    } else {
      CHECK_EQ_INT(tn_exec(&t), 0);
      CHECK(exec_f32(so)[2 * 3] == -1 && exec_f32(so)[3 * 3] == 9);
    }
    tn_free(&t);
  }

  tn_init(&t, "slice_update", 1);
  tn_in(&t, "x", iota(&t, 2, SH(3, 4)));
  tn_in(&t, "update", tt_new(&t, MIL_FP32, 2, SH(1, 3)));
  tn_in(&t, "begin", tt_i32(&t, 1, SH(2), (int32_t[]){0, 0}));
  tn_in(&t, "end", tt_i32(&t, 1, SH(2), (int32_t[]){1, 4}));
  tn_out(&t, 0, MIL_FP32, 2, SH(3, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'slice_update' (y0): update [1, 3] does not match the slice [1, 4]");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"slice_by_index", test_slice_by_index},
      {"slice_errors", test_slice_errors},
      {"slice_by_size_update", test_slice_by_size_update},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
