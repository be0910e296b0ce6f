/* test_exec_ops_sort.c — topk, argsort and cumsum along each axis against references that rank
 * elements by counting (value, index) pairs that precede them. Exact. */
#include "exec_ops_util.h"
#include "harness.h"

/* Rank of element j among the row: how many come before it (ties: lower index first). */
static int rank_of(const float *row, int64_t len, int64_t st, int64_t j, int asc) {
  int r = 0;
  for (int64_t q = 0; q < len; q++) {
    float a = row[q * st], b = row[j * st];
    if (asc ? (a < b || (a == b && q < j)) : (a > b || (a == b && q < j))) r++;
  }
  return r;
}

static void test_topk_argsort(void) {
  for (int axis = 0; axis < 3; axis++)
    for (int asc = 0; asc < 2; asc++) {
      int64_t xs[3] = {2, 5, 3};
      tnode t;
      tn_init(&t, "topk", 2);
      exec_tensor *x = tt_new(&t, MIL_FP32, 3, xs);
      tu_fill(x);
      exec_f32(x)[4] = exec_f32(x)[1]; /* ties */
      tn_in(&t, "x", x);
      int64_t k = xs[axis] > 2 ? 2 : 1;
      tn_in(&t, "k", tt_si(&t, (int32_t)k));
      tn_in(&t, "axis", tt_si(&t, axis - 3));
      tn_in(&t, "ascending", tt_sb(&t, asc));
      int64_t os[3] = {2, 5, 3};
      os[axis] = k;
      exec_tensor *v = tn_out(&t, 0, MIL_FP32, 3, os), *ix = tn_out(&t, 1, MIL_INT32, 3, os);
      CHECK_EQ_INT(tn_run(&t), 0);
      int64_t st = axis == 0 ? 15 : axis == 1 ? 3 : 1;
      for (int64_t i = 0; i < v->count; i++) {
        int64_t c[3];
        tu_unravel(i, 3, os, c);
        int64_t r = c[axis];
        c[axis] = 0;
        const float *row = exec_f32(x) + (c[0] * 5 + c[1]) * 3 + c[2];
        int64_t j = exec_i32(ix)[i];
        CHECK(j >= 0 && j < xs[axis]);
        if (j < 0 || j >= xs[axis]) continue;
        CHECK_EQ_INT(rank_of(row, xs[axis], st, j, asc), r);
        CHECK(exec_f32(v)[i] == row[j * st]);
      }
      tn_free(&t);

      tn_init(&t, "argsort", 1);
      x = tt_new(&t, MIL_FP32, 3, xs);
      tu_fill(x);
      tn_in(&t, "x", x);
      tn_in(&t, "axis", tt_si(&t, axis));
      tn_in(&t, "ascending", tt_sb(&t, asc));
      ix = tn_out(&t, 0, MIL_INT32, 3, xs);
      CHECK_EQ_INT(tn_run(&t), 0);
      for (int64_t i = 0; i < ix->count; i++) {
        int64_t c[3];
        tu_unravel(i, 3, xs, c);
        int64_t r = c[axis];
        c[axis] = 0;
        const float *row = exec_f32(x) + (c[0] * 5 + c[1]) * 3 + c[2];
        CHECK_EQ_INT(rank_of(row, xs[axis], st, exec_i32(ix)[i], asc), r);
      }
      tn_free(&t);
    }
  tnode t;
  tn_init(&t, "topk", 2);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "k", tt_si(&t, 4));
  tn_out(&t, 0, MIL_FP32, 1, SH(4));
  tn_out(&t, 1, MIL_INT32, 1, SH(4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'topk' (y0): k = 4 is out of range for a dim of size 3");
  tn_free(&t);
}

/* A long row with many ties: every position's rank must equal its output position. */
static void test_argsort_long(void) {
  for (int asc = 0; asc < 2; asc++) {
    tnode t;
    tn_init(&t, "argsort", 1);
    exec_tensor *x = tt_new(&t, MIL_FP32, 2, SH(1, 257));
    for (int i = 0; i < 257; i++) exec_f32(x)[i] = (float)((int)(tu_rand() * 3));
    tn_in(&t, "x", x);
    tn_in(&t, "ascending", tt_sb(&t, asc));
    exec_tensor *o = tn_out(&t, 0, MIL_INT32, 2, SH(1, 257));
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int i = 0; i < 257; i++) CHECK_EQ_INT(rank_of(exec_f32(x), 257, 1, exec_i32(o)[i], asc), i);
    tn_free(&t);
  }
}

static void test_cumsum(void) {
  for (int axis = 0; axis < 2; axis++)
    for (int ex = 0; ex < 2; ex++)
      for (int rev = 0; rev < 2; rev++) {
        tnode t;
        tn_init(&t, "cumsum", 1);
        exec_tensor *x = tt_new(&t, MIL_INT32, 2, SH(3, 4));
        tu_fill(x);
        tn_in(&t, "x", x);
        tn_in(&t, "axis", tt_si(&t, axis));
        tn_in(&t, "exclusive", tt_sb(&t, ex));
        tn_in(&t, "reverse", tt_sb(&t, rev));
        exec_tensor *o = tn_out(&t, 0, MIL_INT32, 2, SH(3, 4));
        CHECK_EQ_INT(tn_run(&t), 0);
        for (int64_t i = 0; i < 12; i++) {
          int64_t r = i / 4, c = i % 4, pos = axis ? c : r, len = axis ? 4 : 3, want = 0;
          for (int64_t q = 0; q < len; q++) {
            int in = rev ? (ex ? q > pos : q >= pos) : (ex ? q < pos : q <= pos);
            if (in) want += exec_i32(x)[axis ? r * 4 + q : q * 4 + c];
          }
          CHECK_EQ_INT(exec_i32(o)[i], want);
        }
        tn_free(&t);
      }
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"topk_argsort", test_topk_argsort},
      {"argsort_long", test_argsort_long},
      {"cumsum", test_cumsum},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
