/* test_exec_grouped_products.c — decode products of one input computed in one job (plan_gemv.c):
 * the planner groups 1x1 convs of one position that read the same x and nothing the group
 * computes, a few steps apart at most and not across a write to a state, the results equal a float64 reference exactly (small dyadic weights and inputs,
 * so every sum is exact in fp32) and equal bit for bit the same convs kept apart, with 1 or 2
 * threads and the rows claimed across the products of different sizes. */
#include <string.h>

#include "exec/op.h"
#include "exec_plan_util.h"
#include "util/file.h"
#include "util/strbuf.h"

#define C 8
static const int rows[4] = {24, 8, 40, 16}; /* a, b, c read x; d reads a */

static double wv(int m, int o, int i) { return (double)(((o * 7 + i * 3 + m * 5) % 11) - 5) / 8.0; }
static double bias_b(int o) { return (double)((o % 5) - 2) / 4.0; }

/* `name` = a const of n values f(o, i) for o < n / k, i < k, as a tensor of `shape`. */
static void literal(util_sb *b, const char *name, const char *shape, int n, int k, double (*f)(int, int, int), int m) {
  util_sb_printf(b, "            tensor<fp32, %s> %s = const()", shape, name);
  util_sb_printf(b, "[name = string(\"%s\"), val = tensor<fp32, %s>([", name, shape);
  for (int e = 0; e < n; e++) util_sb_printf(b, "%s%g", e ? ", " : "", f(m, e / k, e % k));
  util_sb_printf(b, "])];\n");
}

static double bias_of(int m, int o, int i) { return (void)m, (void)i, bias_b(o); }

/* out = a 1x1 conv of x (k channels) by weights m, with a bias when asked. */
static void conv(util_sb *b, const char *out, int m, const char *x, int k, int with_bias) {
  char w[16], bias[16], shape[64];
  snprintf(w, sizeof w, "w%s", out);
  snprintf(bias, sizeof bias, "b%s", out);
  snprintf(shape, sizeof shape, "[%d, %d, 1, 1]", rows[m], k);
  literal(b, w, shape, rows[m] * k, k, wv, m);
  snprintf(shape, sizeof shape, "[%d]", rows[m]);
  if (with_bias) literal(b, bias, shape, rows[m], 1, bias_of, m);
  util_sb_printf(b, "            tensor<fp32, [1, %d, 1, 1]> %s = conv(", rows[m], out);
  util_sb_printf(b, "dilations = tensor<int32, [2]>([1, 1]), ");
  util_sb_printf(b, "groups = int32(1), pad = tensor<int32, [4]>([0, 0, 0, 0]), pad_type = string(\"valid\"), ");
  util_sb_printf(b, "strides = tensor<int32, [2]>([1, 1]), %s%s%sweight = %s, x = %s)[name = string(\"%s\")];\n",
                 with_bias ? "bias = " : "", with_bias ? bias : "", with_bias ? ", " : "", w, x, out);
}

/* Function `fn`: a, b, c of x (b, computed by a's job, with a bias), d of a, with `gap` identities
 * after each of a, b and c: 1 (near) still lets them group, as an LM head's squeeze and transpose
 * do; 5 (apart) is more than the planner looks ahead; -1 (stated): a write to a state instead,
 * which the planner does not look past. */
static void function(util_sb *b, const char *fn, int gap) {
  static const char *const names[3] = {"a", "b", "c"};
  util_sb_printf(b, "    func %s<ios18>(tensor<fp32, [1, %d, 1, 1]> x%s) {\n", fn, C,
                 gap < 0 ? ", state<tensor<fp32, [1, 8, 1, 1]>> s" : "");
  for (int m = 0; m < 3; m++) {
    conv(b, names[m], m, "x", C, m == 1);
    for (int g = 0; g < gap; g++)
      util_sb_printf(b, "            tensor<fp32, [1, %d, 1, 1]> gap%d_%d = identity(x = x)[name = string(\"gap%d_%d\")];\n",
                     C, m, g, m, g);
    if (gap < 0) util_sb_printf(b, "            write_state(data = x, input = s)[name = string(\"w%d\")];\n", m);
  }
  conv(b, "d", 3, "a", rows[0], 0);
  util_sb_printf(b, "        } -> (a, b, c, d);\n");
}

/* The bundle dir, written once: functions "grouped", "near", "apart" and "stated". */
static const char *bundle(void) {
  static char dir[512];
  char path[600];
  util_sb b = {0};
  mr_error err = {0};
  util_sb_printf(&b, "program(1.3)\n[buildInfo = dict<string, string>({{\"coremlc-version\", \"0.0.0\"}})]\n{\n");
  function(&b, "grouped", 0);
  function(&b, "near", 1);
  function(&b, "apart", 5);
  function(&b, "stated", -1);
  util_sb_printf(&b, "}\n");
  snprintf(dir, sizeof dir, "%s/grouped.mlmodelc", th_tmpdir());
  snprintf(path, sizeof path, "%s/model.mil", dir);
  int rc = util_mkdirs(dir, &err);
  if (!rc) rc = util_write_file_atomic(path, util_sb_cstr(&b), b.len, &err);
  util_sb_free(&b);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  return rc ? NULL : dir;
}

static void count_groups(const exec_function *f, void *arg) {
  int *n = arg; /* fused, leaders */
  for (int s = 0; s < f->n_steps; s++) n[0] += f->steps[s].fused, n[1] += f->steps[s].node.n_fused > 0;
}

/* How many steps of `fn` another step computes, and how many convs lead a group (-1: not planned). */
static void groups(const char *dir, const char *fn, int *fused, int *leaders) {
  int n[2] = {0, 0};
  int rc = tp_inspect_plan(dir, fn, count_groups, n);
  *fused = rc ? -1 : n[0], *leaders = rc ? -1 : n[1];
}

static float outs[3][4][40];

static void run(const char *dir, const char *fn, const float *x, float out[4][40]) {
  mr_bundle *b = NULL;
  mr_call *c = NULL;
  mr_error err = {0};
  mr_tensor in = {MR_FLOAT32, 4, {1, C, 1, 1}, (void *)x}, o;
  int rc = mr_bundle_open(dir, NULL, &b, &err);
  if (!rc) rc = mr_call_new(b, fn, &c, &err);
  if (!rc) rc = mr_call_set_input(c, "x", &in, &err);
  if (!rc) rc = mr_call_run(c, &err);
  for (int k = 0; k < 4 && !rc; k++) {
    rc = mr_call_output(c, k, &o);
    if (!rc) memcpy(out[k], o.data, sizeof(float) * (size_t)rows[k]);
  }
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  mr_call_free(c);
  mr_bundle_close(b);
}

static void test_grouped(void) {
  const char *dir = bundle();
  if (!dir) return;
  int fused, leaders;
  groups(dir, "grouped", &fused, &leaders);
  CHECK_EQ_INT(leaders, 1); /* a leads b and c; d reads a */
  CHECK_EQ_INT(fused, 2);
  groups(dir, "near", &fused, &leaders);
  CHECK_EQ_INT(leaders, 1);
  CHECK_EQ_INT(fused, 2);
  groups(dir, "apart", &fused, &leaders);
  CHECK_EQ_INT(leaders, 0);
  CHECK_EQ_INT(fused, 0);
  groups(dir, "stated", &fused, &leaders);
  CHECK_EQ_INT(leaders, 0);
  CHECK_EQ_INT(fused, 0);

  float x[C];
  for (int i = 0; i < C; i++) x[i] = (float)((i * 5 % 7) - 3) / 4.0f;
  double ref[4][40], a[40];
  for (int m = 0; m < 4; m++)
    for (int o = 0; o < rows[m]; o++) {
      double s = m == 1 ? bias_b(o) : 0;
      for (int i = 0; i < (m == 3 ? rows[0] : C); i++) s += wv(m, o, i) * (m == 3 ? a[i] : x[i]);
      ref[m][o] = s;
      if (m == 0) a[o] = s;
    }
  exec_parallel_min_work(0); /* every product to the pool: the rows are claimed across a, b and c */
  for (int threads = 1; threads <= 2; threads++) {
    mr_set_threads(threads);
    run(dir, "grouped", x, outs[0]);
    run(dir, "apart", x, outs[1]);
    run(dir, "near", x, outs[2]);
    CHECK(!memcmp(outs[0], outs[1], sizeof outs[0]));
    CHECK(!memcmp(outs[2], outs[1], sizeof outs[0]));
    for (int m = 0; m < 4; m++)
      for (int o = 0; o < rows[m]; o++)
        CHECK_MSG(outs[0][m][o] == ref[m][o], "threads %d output %d row %d: %g vs %g", threads, m, o, outs[0][m][o],
                  ref[m][o]);
  }
  mr_set_threads(0);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"grouped decode products", test_grouped}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
