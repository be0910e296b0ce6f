/* test_exec_ops_fill.c — select (three-way broadcast, attention-mask use), band_part, range_1d,
 * fill, fill_like and cast (truncation, narrow wraps, bool). References written out here; exact. */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

static void test_select(void) {
  tnode t;
  tn_init(&t, "select", 1);
  int64_t cs[3] = {1, 3, 1}, as[1] = {1}, bs[3] = {2, 1, 4};
  exec_tensor *c = tt_new(&t, MIL_BOOL, 3, cs), *a = tt_f32(&t, 1, as, (float[]){-INFINITY}),
              *b = tt_new(&t, MIL_FP32, 3, bs);
  tu_fill(c);
  tu_fill(b);
  tn_in(&t, "cond", c);
  tn_in(&t, "a", a);
  tn_in(&t, "b", b);
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 3, SH(2, 3, 4));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int64_t i = 0; i < 24; i++) {
    int64_t k[3];
    tu_unravel(i, 3, o->shape, k);
    float want = exec_u8(c)[k[1]] ? -INFINITY : exec_f32(b)[k[0] * 4 + k[2]];
    CHECK(exec_f32(o)[i] == want);
  }
  tn_free(&t);

  tn_init(&t, "select", 1);
  tn_in(&t, "cond", tt_new(&t, MIL_BOOL, 1, SH(3)));
  tn_in(&t, "a", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "b", tt_new(&t, MIL_INT32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'select' (y0): a (fp32) and b (int32) must have one type");
  tn_free(&t);

  tn_init(&t, "select", 1);
  tn_in(&t, "cond", tt_new(&t, MIL_BOOL, 1, SH(2)));
  tn_in(&t, "a", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "b", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'select' (y0): shapes [2] and [3] cannot be broadcast together");
  tn_free(&t);
}

static void test_band_part(void) {
  int lu[3][2] = {{-1, 0}, {1, 2}, {0, -1}};
  for (int k = 0; k < 3; k++) {
    tnode t;
    tn_init(&t, "band_part", 1);
    exec_tensor *x = tt_new(&t, MIL_FP32, 3, SH(2, 4, 5));
    for (int64_t i = 0; i < 40; i++) exec_f32(x)[i] = (float)i + 1;
    tn_in(&t, "x", x);
    tn_in(&t, "lower", tt_si(&t, lu[k][0]));
    tn_in(&t, "upper", tt_si(&t, lu[k][1]));
    exec_tensor *o = tn_out(&t, 0, MIL_FP32, 3, SH(2, 4, 5));
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int64_t i = 0; i < 40; i++) {
      int64_t m = (i / 5) % 4, n = i % 5;
      int keep = (lu[k][0] < 0 || m - n <= lu[k][0]) && (lu[k][1] < 0 || n - m <= lu[k][1]);
      CHECK(exec_f32(o)[i] == (keep ? (float)i + 1 : 0.0f));
    }
    tn_free(&t);
  }
}

static void test_range_fill(void) {
  struct { float s, e, st; } cases[] = {{0, 5, 1}, {1, 2, 0.3f}, {5, -1, -2}, {3, 3, 1}, {0, -1, 1}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    tnode t;
    tn_init(&t, "range_1d", 1);
    tn_in(&t, "start", tt_sf(&t, cases[k].s));
    tn_in(&t, "end", tt_sf(&t, cases[k].e));
    tn_in(&t, "step", tt_sf(&t, cases[k].st));
    int64_t len = 0;
    for (double v = cases[k].s; cases[k].st > 0 ? v < cases[k].e : v > cases[k].e; v += cases[k].st) len++;
    exec_tensor *o = tn_out(&t, 0, MIL_FP32, 1, SH(-1));
    CHECK_EQ_INT(tn_run(&t), 0);
    CHECK_EQ_INT(o->count, len);
    for (int64_t i = 0; i < len && i < o->count; i++) CHECK_NEAR(exec_f32(o)[i], cases[k].s + i * (double)cases[k].st, 1e-6);
    tn_free(&t);
  }
  /* int range with run-time end */
  tnode t;
  tn_init(&t, "range_1d", 1);
  exec_tensor *e = tt_si(&t, 4);
  e->is_const = 0;
  tn_in(&t, "start", tt_si(&t, 1));
  tn_in(&t, "end", e);
  tn_in(&t, "step", tt_si(&t, 1));
  exec_tensor *o = tn_out(&t, 0, MIL_INT32, 1, SH(3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_i32(o)[0] == 1 && exec_i32(o)[2] == 3);
  exec_i32(e)[0] = 9;
  CHECK_EQ_INT(tn_exec(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'range_1d' (y0): run-time shape [8] differs from the planned output shape [3]");
  tn_free(&t);

  tn_init(&t, "range_1d", 1);
  tn_in(&t, "start", tt_si(&t, 1));
  tn_in(&t, "end", tt_si(&t, 4));
  tn_in(&t, "step", tt_si(&t, 0));
  tn_out(&t, 0, MIL_INT32, 1, SH(-1));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'range_1d' (y0): step must not be 0");
  tn_free(&t);

  tn_init(&t, "fill", 1);
  tn_in(&t, "shape", tt_i32(&t, 1, SH(2), (int32_t[]){2, 3}));
  tn_in(&t, "value", tt_sf(&t, 2.5f));
  o = tn_out(&t, 0, MIL_FP32, 2, SH(-1, 3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK_EQ_INT(o->count, 6);
  for (int i = 0; i < 6; i++) CHECK(exec_f32(o)[i] == 2.5f);
  tn_free(&t);

  tn_init(&t, "fill_like", 1);
  tn_in(&t, "ref_tensor", tt_new(&t, MIL_FP32, 2, SH(2, 2)));
  tn_in(&t, "value", tt_si(&t, 7));
  o = tn_out(&t, 0, MIL_INT32, 2, SH(2, 2));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int i = 0; i < 4; i++) CHECK(exec_i32(o)[i] == 7);
  tn_free(&t);

  tn_init(&t, "fill", 1);
  tn_in(&t, "shape", tt_i32(&t, 1, SH(2), (int32_t[]){2, -3}));
  tn_out(&t, 0, MIL_FP32, 2, SH(-1, -1));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'fill' (y0): shape has a negative dim -3");
  tn_free(&t);
}

/* Reference for float -> narrow int: truncate, then reduce modulo 2^bits into the signed or
 * unsigned range. */
static long long wrap_ref(double v, int bits, int is_signed) {
  long long t = (long long)trunc(v), m = 1LL << bits;
  long long r = ((t % m) + m) % m;
  return is_signed && r >= m / 2 ? r - m : r;
}

static void test_cast(void) {
  float vals[8] = {1.9f, -1.9f, 300.5f, -129.0f, 70000.0f, 0.0f, -0.4f, 65535.7f};
  struct { const char *name; mil_dtype dt; int bits, is_signed; } types[] = {
      {"int32", MIL_INT32, 32, 1}, {"int8", MIL_INT8, 8, 1}, {"uint8", MIL_UINT8, 8, 0},
      {"int16", MIL_INT16, 16, 1}, {"uint16", MIL_UINT16, 16, 0}};
  for (int k = 0; k < 5; k++) {
    tnode t;
    tn_init(&t, "cast", 1);
    tn_in(&t, "x", tt_f32(&t, 1, SH(8), vals));
    tn_in(&t, "dtype", tt_str(&t, types[k].name));
    exec_tensor *o = tn_out(&t, 0, types[k].dt, 1, SH(8));
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(exec_i32(o)[i], wrap_ref(vals[i], types[k].bits, types[k].is_signed));
    tn_free(&t);
  }
  tnode t;
  tn_init(&t, "cast", 1);
  tn_in(&t, "x", tt_f32(&t, 1, SH(3), (float[]){0, -0.0f, 0.25f}));
  tn_in(&t, "dtype", tt_str(&t, "bool"));
  exec_tensor *o = tn_out(&t, 0, MIL_BOOL, 1, SH(3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_u8(o)[0] == 0 && exec_u8(o)[1] == 0 && exec_u8(o)[2] == 1);
  tn_free(&t);

  tn_init(&t, "cast", 1);
  tn_in(&t, "x", tt_u8(&t, 1, SH(2), (uint8_t[]){1, 0}));
  tn_in(&t, "dtype", tt_str(&t, "fp16"));
  o = tn_out(&t, 0, MIL_FP16, 1, SH(2));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_f32(o)[0] == 1 && exec_f32(o)[1] == 0);
  tn_free(&t);

  tn_init(&t, "cast", 1);
  tn_in(&t, "x", tt_u8(&t, 1, SH(2), NULL));
  tn_in(&t, "dtype", tt_str(&t, "complex64"));
  tn_out(&t, 0, MIL_FP32, 1, SH(2));
  CHECK_EQ_INT(tn_plan(&t), MR_ENOTSUP);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'cast' (y0): unsupported cast dtype 'complex64'");
  tn_free(&t);

  tn_init(&t, "cast", 1);
  tn_in(&t, "x", tt_u8(&t, 1, SH(2), NULL));
  tn_in(&t, "dtype", tt_str(&t, "int32"));
  tn_out(&t, 0, MIL_FP32, 1, SH(2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'cast' (y0): dtype 'int32' does not match the declared output fp32");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"select", test_select},
      {"band_part", test_band_part},
      {"range_fill", test_range_fill},
      {"cast", test_cast},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
