/* test_exec_ops_elementwise.c — binary (broadcast, int, comparisons, logical) and unary ops
 * against float64 references written here. Tolerance: 2e-6 relative for float ops (one fp32
 * rounding of a correctly rounded libm result), exact for integer and bool ops. */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

static double ref_bin(const char *op, double x, double y) {
  if (!strcmp(op, "add")) return x + y;
  if (!strcmp(op, "sub")) return x - y;
  if (!strcmp(op, "mul")) return x * y;
  if (!strcmp(op, "real_div")) return x / y;
  if (!strcmp(op, "floor_div")) return floor(x / y);
  if (!strcmp(op, "mod")) return x - floor(x / y) * y;
  if (!strcmp(op, "pow")) return pow(x, y);
  if (!strcmp(op, "maximum")) return x > y ? x : y;
  if (!strcmp(op, "minimum")) return x < y ? x : y;
  if (!strcmp(op, "equal")) return x == y;
  if (!strcmp(op, "not_equal")) return x != y;
  if (!strcmp(op, "greater")) return x > y;
  if (!strcmp(op, "greater_equal")) return x >= y;
  if (!strcmp(op, "less")) return x < y;
  if (!strcmp(op, "less_equal")) return x <= y;
  if (!strcmp(op, "logical_and")) return x && y;
  if (!strcmp(op, "logical_or")) return x || y;
  return (x != 0) != (y != 0);
}

/* Run op on x (shape sa) and y (shape sb) filled with values, compare with ref_bin elementwise. */
static void check_binary(const char *op, mil_dtype dx, int ra, const int64_t *sa, mil_dtype dy, int rb,
                         const int64_t *sb, mil_dtype dout, double tol) {
  tnode t;
  tn_init(&t, op, 1);
  exec_tensor *x = tt_new(&t, dx, ra, sa), *y = tt_new(&t, dy, rb, sb);
  tu_fill(x);
  tu_fill(y);
  int pos = !strcmp(op, "pow"), div = !strcmp(op, "real_div") || !strcmp(op, "floor_div") || !strcmp(op, "mod");
  for (int64_t i = 0; i < x->count; i++)
    if (pos && x->storage == EXEC_F32) exec_f32(x)[i] = fabsf(exec_f32(x)[i]) * 3 + 0.1f;
  for (int64_t i = 0; i < y->count; i++) {
    if (div && y->storage == EXEC_F32) exec_f32(y)[i] += exec_f32(y)[i] < 0 ? -0.5f : 0.5f;
    if (div && y->storage == EXEC_I32 && exec_i32(y)[i] == 0) exec_i32(y)[i] = 3;
  }
  tn_in(&t, "x", x);
  tn_in(&t, "y", y);
  int r = ra > rb ? ra : rb;
  int64_t so[MR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    int ia = d - (r - ra), ib = d - (r - rb);
    int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
    so[d] = a == 1 ? b : a;
  }
  exec_tensor *o = tn_out(&t, 0, dout, r, so);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s: %s", op, t.err.msg);
  for (int64_t i = 0; rc == 0 && i < o->count; i++) {
    int64_t c[MR_MAX_RANK];
    tu_unravel(i, r, so, c);
    double xv = tu_get(x, tu_bindex(c, r, ra, sa)), yv = tu_get(y, tu_bindex(c, r, rb, sb));
    double want = ref_bin(op, xv, yv), got = tu_get(o, i);
    if (o->storage == EXEC_F32) want = (float)want;
    CHECK_MSG(fabs(got - want) <= tol * (1 + fabs(want)), "%s(%g, %g) = %g, want %g", op, xv, yv, got, want);
  }
  tn_free(&t);
}

static void test_binary_float_broadcast(void) {
  const char *ops[] = {"add", "sub", "mul", "real_div", "floor_div", "mod", "pow", "maximum", "minimum"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
    check_binary(ops[i], MIL_FP32, 3, SH(2, 3, 4), MIL_FP32, 2, SH(3, 1), MIL_FP32, 2e-6);
    check_binary(ops[i], MIL_FP16, 1, SH(5), MIL_FP32, 0, NULL, MIL_FP16, 2e-6);
    check_binary(ops[i], MIL_FP32, 4, SH(1, 3, 1, 5), MIL_FP32, 4, SH(2, 1, 4, 1), MIL_FP32, 2e-6);
    check_binary(ops[i], MIL_FP32, 2, SH(0, 3), MIL_FP32, 1, SH(3), MIL_FP32, 0);
  }
}

static void test_binary_int(void) {
  const char *ops[] = {"add", "sub", "mul", "floor_div", "mod", "maximum", "minimum"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    check_binary(ops[i], MIL_INT32, 2, SH(4, 5), MIL_INT32, 1, SH(5), MIL_INT32, 0);
  /* Python semantics of // and % with negative operands. */
  tnode t;
  tn_init(&t, "mod", 1);
  tn_in(&t, "x", tt_i32(&t, 1, SH(4), (int32_t[]){-7, 7, -7, 7}));
  tn_in(&t, "y", tt_i32(&t, 1, SH(4), (int32_t[]){3, -3, -3, 3}));
  exec_tensor *o = tn_out(&t, 0, MIL_INT32, 1, SH(4));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK_EQ_INT(exec_i32(o)[0], 2);
  CHECK_EQ_INT(exec_i32(o)[1], -2);
  CHECK_EQ_INT(exec_i32(o)[2], -1);
  CHECK_EQ_INT(exec_i32(o)[3], 1);
  tn_free(&t);
  /* int32 multiplication wraps. */
  tn_init(&t, "mul", 1);
  tn_in(&t, "x", tt_si(&t, 65536));
  tn_in(&t, "y", tt_si(&t, 65537));
  o = tn_out(&t, 0, MIL_INT32, 0, NULL);
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK_EQ_INT(exec_i32(o)[0], 65536);
  tn_free(&t);
}

static void test_binary_compare_logical(void) {
  const char *cmp[] = {"equal", "not_equal", "greater", "greater_equal", "less", "less_equal"};
  for (size_t i = 0; i < sizeof cmp / sizeof *cmp; i++) {
    check_binary(cmp[i], MIL_FP32, 2, SH(3, 4), MIL_FP32, 2, SH(3, 1), MIL_BOOL, 0);
    check_binary(cmp[i], MIL_INT32, 2, SH(3, 4), MIL_INT32, 1, SH(4), MIL_BOOL, 0);
  }
  const char *lg[] = {"logical_and", "logical_or", "logical_xor"};
  for (size_t i = 0; i < 3; i++) check_binary(lg[i], MIL_BOOL, 2, SH(2, 5), MIL_BOOL, 1, SH(5), MIL_BOOL, 0);
}

static void test_binary_errors(void) {
  tnode t;
  tn_init(&t, "add", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "y", tt_new(&t, MIL_FP32, 1, SH(4)));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, -1));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'add' (y0): shapes [2, 3] and [4] cannot be broadcast together");
  tn_free(&t);

  tn_init(&t, "add", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "y", tt_new(&t, MIL_FP32, 1, SH(3)));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 2, SH(-1, 3));
  CHECK_EQ_INT(tn_plan(&t), 0);
  CHECK_EQ_INT(o->shape[0], 2); /* '?' filled in */
  CHECK_EQ_INT(o->count, 6);
  tn_free(&t);

  tn_init(&t, "mul", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "y", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'mul' (y0): output 0 is declared [2, 4] but the inputs give [2, 3]");
  tn_free(&t);

  tn_init(&t, "less", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "y", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'less' (y0): output must be bool, declared fp32");
  tn_free(&t);

  tn_init(&t, "logical_and", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "y", tt_new(&t, MIL_BOOL, 1, SH(3)));
  tn_out(&t, 0, MIL_BOOL, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'logical_and' (y0): inputs and output must be bool, got fp32 and bool -> bool");
  tn_free(&t);

  tn_init(&t, "sub", 1);
  tn_in(&t, "x", tt_new(&t, MIL_STRING, 0, NULL));
  tn_in(&t, "y", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'sub' (y0): x has unsupported dtype string");
  tn_free(&t);

  tn_init(&t, "sub", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'sub' (y0): missing required parameter 'y'");
  tn_free(&t);
}

static double sigmoid_d(double v) { return 1 / (1 + exp(-v)); }

static double ref_un(const char *op, double v, double a, double b) {
  static const char *n1[] = {"sqrt", "exp", "exp2", "floor", "ceil", "round", "sign", "abs", "square",
                             "sin", "cos", "tan", "tanh", "sinh", "cosh", "asin", "acos", "atan", "atanh",
                             "erf", "relu", "relu6", "sigmoid", "silu", "softsign", "softplus"};
  int k = -1;
  for (int i = 0; i < (int)(sizeof n1 / sizeof *n1); i++)
    if (!strcmp(op, n1[i])) k = i;
  switch (k) {
  case 0: return sqrt(v);
  case 1: return exp(v);
  case 2: return pow(2, v);
  case 3: return floor(v);
  case 4: return ceil(v);
  case 5: { double r = floor(v + 0.5); return (r - v == 0.5 && fmod(r, 2) != 0) ? r - 1 : r; }
  case 6: return v > 0 ? 1 : v < 0 ? -1 : 0;
  case 7: return fabs(v);
  case 8: return v * v;
  case 9: return sin(v);
  case 10: return cos(v);
  case 11: return tan(v);
  case 12: return tanh(v);
  case 13: return sinh(v);
  case 14: return cosh(v);
  case 15: return asin(v);
  case 16: return acos(v);
  case 17: return atan(v);
  case 18: return atanh(v);
  case 19: return erf(v);
  case 20: return v > 0 ? v : 0;
  case 21: return v < 0 ? 0 : v > 6 ? 6 : v;
  case 22: return sigmoid_d(v);
  case 23: return v * sigmoid_d(v);
  case 24: return v / (1 + fabs(v));
  case 25: return log(1 + exp(v));
  default: break;
  }
  if (!strcmp(op, "rsqrt")) return 1 / sqrt(v + a);
  if (!strcmp(op, "inverse")) return 1 / (v + a);
  if (!strcmp(op, "log")) return log(v + a);
  if (!strcmp(op, "threshold")) return v > a ? v : a;
  if (!strcmp(op, "leaky_relu")) return v >= 0 ? v : a * v;
  if (!strcmp(op, "elu")) return v > 0 ? v : a * (exp(v) - 1);
  if (!strcmp(op, "thresholded_relu")) return v > a ? v : 0;
  if (!strcmp(op, "clip")) return v < a ? a : v > b ? b : v;
  if (!strcmp(op, "clamped_relu")) { double r = v >= 0 ? v : a * v; return r < b ? r : b; }
  if (!strcmp(op, "linear_activation")) return a * v + b;
  if (!strcmp(op, "scaled_tanh")) return a * tanh(b * v);
  if (!strcmp(op, "sigmoid_hard")) { double r = a * v + b; return r < 0 ? 0 : r > 1 ? 1 : r; }
  if (!strcmp(op, "gelu")) return 0.5 * v * (1 + erf(v / sqrt(2)));
  return NAN;
}

/* op over values spread on [lo, hi]; alpha/beta/epsilon given only when `with` says so (else the
 * op's default must equal a/b). */
static void check_unary(const char *op, double lo, double hi, const char *with, double a, double b) {
  tnode t;
  tn_init(&t, op, 1);
  int64_t cnt = 41;
  exec_tensor *x = tt_new(&t, MIL_FP32, 2, SH(1, cnt));
  for (int64_t i = 0; i < cnt; i++) exec_f32(x)[i] = (float)(lo + (hi - lo) * (double)i / (double)(cnt - 1));
  tn_in(&t, "x", x);
  if (strchr(with, 'a')) tn_in(&t, "alpha", tt_sf(&t, (float)a));
  if (strchr(with, 'b')) tn_in(&t, "beta", tt_sf(&t, (float)b));
  if (strchr(with, 'e')) tn_in(&t, "epsilon", tt_sf(&t, (float)a));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 2, SH(1, cnt));
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s: %s", op, t.err.msg);
  for (int64_t i = 0; rc == 0 && i < cnt; i++) {
    double v = exec_f32(x)[i], want = ref_un(op, v, (float)a, (float)b), got = exec_f32(o)[i];
    CHECK_MSG(fabs(got - want) <= 2e-6 * (1 + fabs(want)) || (isinf(want) && got == want),
              "%s(%.9g) = %.9g, want %.9g", op, v, got, want);
  }
  tn_free(&t);
}

static void test_unary_float(void) {
  const char *plain[] = {"exp", "exp2", "floor", "ceil", "sign", "abs", "square", "sin", "cos", "tanh",
                         "sinh", "cosh", "atan", "erf", "relu", "relu6", "sigmoid", "silu", "softsign",
                         "softplus", "gelu"};
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) check_unary(plain[i], -8, 8, "", 0, 0);
  check_unary("round", -2.5, 2.5, "", 0, 0); /* hits the .5 ties: to even */
  check_unary("tan", -1.5, 1.5, "", 0, 0);
  check_unary("sqrt", 0, 9, "", 0, 0);
  check_unary("asin", -1, 1, "", 0, 0);
  check_unary("acos", -1, 1, "", 0, 0);
  check_unary("atanh", -0.99, 0.99, "", 0, 0);
  check_unary("rsqrt", 0.5, 9, "", 1e-12, 0);
  check_unary("rsqrt", 0.5, 9, "e", 0.25, 0);
  check_unary("inverse", 0.5, 9, "", 1e-4, 0);
  check_unary("log", 0.5, 9, "", 1e-45, 0);
  check_unary("log", 0.5, 9, "e", 0.5, 0);
  check_unary("leaky_relu", -3, 3, "", 0.01, 0);
  check_unary("leaky_relu", -3, 3, "a", 0.3, 0);
  check_unary("elu", -3, 3, "", 1.0, 0);
  check_unary("thresholded_relu", -3, 3, "a", 0.5, 0);
  check_unary("threshold", -3, 3, "a", 0.5, 0);
  check_unary("clip", -3, 3, "ab", -1, 2);
  check_unary("clamped_relu", -3, 3, "ab", 0.1, 2);
  check_unary("linear_activation", -3, 3, "ab", 1.5, -0.5);
  check_unary("scaled_tanh", -3, 3, "", 1, 1);
  check_unary("sigmoid_hard", -5, 5, "", 0.2, 0.5);
  check_unary("sigmoid_hard", -5, 5, "ab", 0.3, 0.4);
}

static void test_unary_modes_and_int(void) {
  const char *modes[] = {"TANH_APPROXIMATION", "SIGMOID_APPROXIMATION"};
  for (int m = 0; m < 2; m++) {
    tnode t;
    tn_init(&t, "gelu", 1);
    exec_tensor *x = tt_new(&t, MIL_FP32, 1, SH(9));
    for (int i = 0; i < 9; i++) exec_f32(x)[i] = (float)(i - 4) * 0.9f;
    tn_in(&t, "x", x);
    tn_in(&t, "mode", tt_str(&t, modes[m]));
    exec_tensor *o = tn_out(&t, 0, MIL_FP32, 1, SH(9));
    CHECK_EQ_INT(tn_run(&t), 0);
    for (int i = 0; i < 9; i++) {
      double v = exec_f32(x)[i];
      double want = m == 0 ? 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))
                           : v * sigmoid_d(1.702 * v);
      CHECK_NEAR(exec_f32(o)[i], want, 2e-6 * (1 + fabs(want)));
    }
    tn_free(&t);
  }
  /* prelu: alpha per channel (axis 1) */
  tnode t;
  tn_init(&t, "prelu", 1);
  exec_tensor *x = tt_new(&t, MIL_FP32, 3, SH(2, 3, 2));
  tu_fill(x);
  tn_in(&t, "x", x);
  tn_in(&t, "alpha", tt_f32(&t, 1, SH(3), (float[]){0.1f, 0.2f, 0.3f}));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 3, SH(2, 3, 2));
  CHECK_EQ_INT(tn_run(&t), 0);
  for (int i = 0; i < 12; i++) {
    double v = exec_f32(x)[i], al = 0.1 * ((i / 2) % 3 + 1);
    CHECK_NEAR(exec_f32(o)[i], v >= 0 ? v : al * v, 1e-6);
  }
  tn_free(&t);
  /* integer abs / square / clip stay integer; logical_not */
  tn_init(&t, "abs", 1);
  tn_in(&t, "x", tt_i32(&t, 1, SH(3), (int32_t[]){-5, 0, 7}));
  o = tn_out(&t, 0, MIL_INT32, 1, SH(3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_i32(o)[0] == 5 && exec_i32(o)[1] == 0 && exec_i32(o)[2] == 7);
  tn_free(&t);
  tn_init(&t, "clip", 1);
  tn_in(&t, "x", tt_i32(&t, 1, SH(3), (int32_t[]){-5, 0, 7}));
  tn_in(&t, "alpha", tt_si(&t, -1));
  tn_in(&t, "beta", tt_si(&t, 3));
  o = tn_out(&t, 0, MIL_INT32, 1, SH(3));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_i32(o)[0] == -1 && exec_i32(o)[1] == 0 && exec_i32(o)[2] == 3);
  tn_free(&t);
  tn_init(&t, "logical_not", 1);
  tn_in(&t, "x", tt_u8(&t, 1, SH(0), NULL));
  tn_out(&t, 0, MIL_BOOL, 1, SH(0));
  CHECK_EQ_INT(tn_run(&t), 0); /* size-0 */
  tn_free(&t);
  tn_init(&t, "logical_not", 1);
  tn_in(&t, "x", tt_u8(&t, 1, SH(2), (uint8_t[]){0, 1}));
  o = tn_out(&t, 0, MIL_BOOL, 1, SH(2));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(exec_u8(o)[0] == 1 && exec_u8(o)[1] == 0);
  tn_free(&t);
}

static void test_unary_errors(void) {
  tnode t;
  tn_init(&t, "clip", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "alpha", tt_sf(&t, 2));
  tn_in(&t, "beta", tt_sf(&t, 1));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'clip' (y0): clip needs alpha <= beta, got 2 and 1");
  tn_free(&t);

  tn_init(&t, "clip", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "alpha", tt_sf(&t, 2));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'clip' (y0): missing required parameter 'beta'");
  tn_free(&t);

  tn_init(&t, "gelu", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_in(&t, "mode", tt_str(&t, "FAST"));
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'gelu' (y0): unknown gelu mode 'FAST'");
  tn_free(&t);

  tn_init(&t, "leaky_relu", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  exec_tensor *al = tt_new(&t, MIL_FP32, 1, SH(2));
  tn_in(&t, "alpha", al);
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'leaky_relu' (y0): parameter 'alpha' must be a float scalar, got float [2]");
  tn_free(&t);

  tn_init(&t, "leaky_relu", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 1, SH(3)));
  al = tt_sf(&t, 0.5f);
  al->is_const = 0;
  tn_in(&t, "alpha", al);
  tn_out(&t, 0, MIL_FP32, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ENOTSUP);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'leaky_relu' (y0): parameter 'alpha' must be a constant");
  tn_free(&t);

  tn_init(&t, "relu", 1);
  tn_in(&t, "x", tt_new(&t, MIL_BOOL, 1, SH(3)));
  tn_out(&t, 0, MIL_BOOL, 1, SH(3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'relu' (y0): input and output must be numbers, got bool -> bool");
  tn_free(&t);

  tn_init(&t, "prelu", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "alpha", tt_new(&t, MIL_FP32, 1, SH(2)));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 3));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'prelu' (y0): alpha [2] must have one value per channel of x [2, 3]");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"binary_float_broadcast", test_binary_float_broadcast},
      {"binary_int", test_binary_int},
      {"binary_compare_logical", test_binary_compare_logical},
      {"binary_errors", test_binary_errors},
      {"unary_float", test_unary_float},
      {"unary_modes_and_int", test_unary_modes_and_int},
      {"unary_errors", test_unary_errors},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
