/* test_exec_ops_registry.c — the op table (src/exec/ops/registry.c, params.h) against behaviour:
 * params bind by name whatever order model.mil writes them in (a parsed program per op family,
 * checked against float64 references); ops marked EXEC_OP_MOVES_DATA only copy input values;
 * ops with an in-place param give the same result when output and input share a buffer; the
 * ops docs/runtime.md lists are the table's; structural rules the compiler cannot check (unique
 * names, distinct variants, packed weights where LLMs need them). Also exec_node_err's two message
 * forms. */
#include <math.h>

#include "exec/consts.h"
#include "exec/ops/ops.h"
#include "exec/plan.h"
#include "exec_ops_util.h"
#include "harness.h"
#include "mil/ir.h"
#include "util/error.h"
#include "util/file.h"

static void test_table(void) {
  const char *const *names = exec_op_names();
  int count = 0;
  for (; names[count]; count++) {
    const exec_op_def *d = exec_op_find(names[count]);
    CHECK_MSG(d && !strcmp(d->name, names[count]), "%s", names[count]);
    if (!d) continue;
    CHECK(d->min_outputs >= 1 && d->min_outputs <= d->max_outputs);
    for (int j = 0; j < count; j++) {
      CHECK_MSG(strcmp(names[j], names[count]) != 0, "%s twice", names[count]);
      /* ops sharing plan/run must be told apart by variant or by the params they take */
      const exec_op_def *o = exec_op_find(names[j]);
      if (o && o->plan == d->plan && o->run == d->run)
        CHECK_MSG(o->variant != d->variant || o->accepts != d->accepts, "%s and %s are the same op", o->name, d->name);
    }
    CHECK_MSG(d->accepts & 1u, "%s takes no first param", d->name);
    CHECK_MSG((d->packed_ok & ~d->accepts) == 0, "%s: packed_ok names a param it does not take", d->name);
    CHECK_MSG(d->in_place < 0 || (d->accepts >> d->in_place & 1u), "%s: in-place param not taken", d->name);
  }
  CHECK(count > 100);
  CHECK(exec_op_find("const") == NULL); /* the planner's, not an op */
  CHECK(exec_op_find("no_such_op") == NULL);
  CHECK_EQ_INT(exec_op_param(exec_op_find("sqrt"), "epsilon"), -1); /* in unary's list, not taken */
  CHECK(exec_op_param(exec_op_find("rsqrt"), "epsilon") == P_unary_epsilon);
  const char *needed[] = {"cast", "add", "sub", "mul", "real_div", "floor_div", "pow", "sqrt", "rsqrt", "floor", "exp",
                          "reduce_mean", "reduce_sum", "reduce_min", "reduce_max", "reduce_argmax", "layer_norm", "conv",
                          "linear", "matmul", "softmax", "sigmoid", "silu", "gelu", "tanh", "relu", "concat", "split",
                          "stack", "slice_by_index", "reshape", "transpose", "expand_dims", "squeeze", "tile", "pad",
                          "gather", "select", "less", "greater", "greater_equal", "logical_not", "logical_and", "clip",
                          "band_part", "range_1d", "shape", "identity", "topk", "slice_update", "sin", "cos", "lstm",
                          "scaled_dot_product_attention"};
  for (size_t i = 0; i < sizeof needed / sizeof *needed; i++) CHECK_MSG(exec_op_find(needed[i]), "%s missing", needed[i]);
  struct { const char *op, *param; } packed[] = {{"linear", "weight"}, {"conv", "weight"}, {"matmul", "x"}, {"matmul", "y"}, {"gather", "x"}};
  for (size_t i = 0; i < sizeof packed / sizeof *packed; i++) {
    const exec_op_def *d = exec_op_find(packed[i].op);
    int bit = d ? exec_op_param(d, packed[i].param) : -1;
    CHECK_MSG(bit >= 0 && (d->packed_ok >> bit) & 1, "%s.%s not packed_ok", packed[i].op, packed[i].param);
  }
}

/* ---- a parsed program, planned and run without a bundle ---------------------------------- */

typedef struct prog_run {
  mil_program *prog;
  exec_consts consts;
  exec_function f;
  mr_error err;
} prog_run;

/* Parse and plan `text`; inputs get values 0.37 * (i + 1) * (-1)^i + input number (distinct, and
 * not fp16-exact). Returns 0 when planned and run. */
static int prog_run_text(prog_run *r, const char *text) {
  memset(r, 0, sizeof *r);
  int rc = mil_parse(text, strlen(text), "t.mil", &r->prog, &r->err);
  if (!rc) rc = exec_consts_init(&r->consts, "/nonexistent", &r->err);
  if (!rc) rc = exec_function_plan(&r->f, r->prog, &r->prog->funcs[0], "t.mil", &r->consts, NULL, &r->err);
  for (int k = 0; !rc && k < r->f.n_inputs; k++)
    for (int64_t i = 0; i < r->f.inputs[k]->count; i++)
      exec_f32(r->f.inputs[k])[i] = 0.37f * (float)(i + 1) * (i % 2 ? -1.0f : 1.0f) + (float)k;
  if (!rc) rc = exec_function_run(&r->f, &r->err);
  CHECK_MSG(rc == MR_OK, "%s", r->err.msg);
  return rc;
}

static void prog_run_free(prog_run *r) {
  exec_function_free(&r->f);
  exec_consts_free(&r->consts);
  mil_program_free(r->prog);
}

static const float *out_f32(const prog_run *r, int i) { return exec_f32(r->f.outputs[i]); }

#define CONST_F(name, shape, vals) "        tensor<fp32, " shape "> " name " = const()[name = string(\"" name "\"), val = tensor<fp32, " shape ">(" vals ")];\n"
#define CONST_I(name, shape, vals) "        tensor<int32, " shape "> " name " = const()[name = string(\"" name "\"), val = tensor<int32, " shape ">(" vals ")];\n"
#define SCALAR(ty, name, val) "        " ty " " name " = const()[name = string(\"" name "\"), val = " ty "(" val ")];\n"
#define OPLINE(ty, name, call) "        " ty " " name " = " call "[name = string(\"" name "\")];\n"

/* Every argument is written in the reverse of its list's order (params.h), so a param read by
 * position instead of by its generated index would get another input. */
static const char binding_mil[] =
    "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [2, 3]> a, tensor<fp32, [2, 3]> b) {\n"
    OPLINE("tensor<fp32, [2, 3]>", "d", "sub(y = b, x = a)")
    CONST_F("bias", "[3]", "[0.5, -1, 2]") CONST_F("w", "[3, 3]", "[1, 2, 0, 0, 1, 3, -1, 0, 1]")
    OPLINE("tensor<fp32, [2, 3]>", "l", "linear(bias = bias, weight = w, x = a)")
    SCALAR("bool", "tx", "false") SCALAR("bool", "ty", "true")
    OPLINE("tensor<fp32, [2, 2]>", "m", "matmul(transpose_y = ty, transpose_x = tx, y = b, x = a)")
    OPLINE("tensor<bool, [2, 3]>", "c", "greater(y = b, x = a)")
    OPLINE("tensor<fp32, [2, 3]>", "s", "select(b = b, a = a, cond = c)")
    SCALAR("fp32", "lo", "-0.5") SCALAR("fp32", "hi", "0.75")
    OPLINE("tensor<fp32, [2, 3]>", "k", "clip(beta = hi, alpha = lo, x = a)")
    CONST_I("ub", "[2]", "[0, 1]") CONST_I("ue", "[2]", "[1, 3]")
    OPLINE("tensor<fp32, [1, 2]>", "u", "slice_by_index(end = ue, begin = ub, x = b)")
    OPLINE("tensor<fp32, [2, 3]>", "su", "slice_update(end = ue, begin = ub, update = u, x = a)")
    CONST_I("lax", "[1]", "[-1]") CONST_F("g", "[3]", "[1, 2, 3]") CONST_F("be", "[3]", "[0, -1, 1]")
    SCALAR("fp32", "eps", "0.001")
    OPLINE("tensor<fp32, [2, 3]>", "ln", "layer_norm(epsilon = eps, beta = be, gamma = g, axes = lax, x = a)")
    SCALAR("int32", "r1", "7") SCALAR("int32", "r0", "2") SCALAR("int32", "rs", "2")
    OPLINE("tensor<int32, [3]>", "r", "range_1d(step = rs, start = r0, end = r1)")
    SCALAR("int32", "cax", "0") SCALAR("bool", "cil", "false")
    OPLINE("tensor<fp32, [4, 3]>", "cc", "concat(interleave = cil, axis = cax, values = (b, a))")
    "    } -> (d, l, m, s, k, su, ln, r, cc);\n}\n";

static void test_binds_by_name(void) {
  prog_run r;
  if (prog_run_text(&r, binding_mil)) return prog_run_free(&r);
  const float *a = exec_f32(r.f.inputs[0]), *b = exec_f32(r.f.inputs[1]);
  static const double w[3][3] = {{1, 2, 0}, {0, 1, 3}, {-1, 0, 1}}, bias[3] = {0.5, -1, 2};
  static const double g[3] = {1, 2, 3}, be[3] = {0, -1, 1};
  for (int i = 0; i < 2; i++) {
    double mean = 0, var = 0;
    for (int j = 0; j < 3; j++) mean += a[i * 3 + j] / 3.0;
    for (int j = 0; j < 3; j++) var += (a[i * 3 + j] - mean) * (a[i * 3 + j] - mean) / 3.0;
    for (int j = 0; j < 3; j++) {
      double x = a[i * 3 + j], y = b[i * 3 + j], lin = bias[j], mm = 0;
      for (int k = 0; k < 3; k++) lin += a[i * 3 + k] * w[j][k];
      CHECK_NEAR(out_f32(&r, 0)[i * 3 + j], x - y, 1e-6);
      CHECK_NEAR(out_f32(&r, 1)[i * 3 + j], lin, 1e-5);
      if (j < 2) {
        for (int k = 0; k < 3; k++) mm += a[i * 3 + k] * b[j * 3 + k];
        CHECK_NEAR(out_f32(&r, 2)[i * 2 + j], mm, 1e-5);
      }
      CHECK_NEAR(out_f32(&r, 3)[i * 3 + j], x > y ? x : y, 0);
      CHECK_NEAR(out_f32(&r, 4)[i * 3 + j], x < -0.5 ? -0.5 : x > 0.75 ? 0.75 : x, 1e-7);
      CHECK_NEAR(out_f32(&r, 5)[i * 3 + j], i == 0 && j >= 1 ? y : x, 0);
      CHECK_NEAR(out_f32(&r, 6)[i * 3 + j], (x - mean) / sqrt(var + 0.001) * g[j] + be[j], 1e-4);
      CHECK_NEAR(out_f32(&r, 8)[i * 3 + j], y, 0);
      CHECK_NEAR(out_f32(&r, 8)[6 + i * 3 + j], x, 0);
    }
  }
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(((const int32_t *)r.f.outputs[7]->data)[i], 2 + 2 * i);
  prog_run_free(&r);
}

/* One use of every op marked EXEC_OP_MOVES_DATA, on x [2, 3] and y [3, 2]. */
static const char moves_mil[] =
    "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [2, 3]> x, tensor<fp32, [2, 3]> y) {\n"
    CONST_I("sh", "[2]", "[3, 2]") CONST_I("ax0", "[1]", "[0]") CONST_I("perm", "[2]", "[1, 0]")
    SCALAR("int32", "one", "1") SCALAR("int32", "zero", "0") SCALAR("int32", "two", "2") SCALAR("bool", "no", "false")
    CONST_I("reps", "[2]", "[2, 1]") CONST_I("ib", "[2]", "[0, 1]") CONST_I("ie", "[2]", "[2, 3]")
    CONST_I("isz", "[2]", "[1, 2]") CONST_I("idx", "[2]", "[1, 0]")
    CONST_I("idx2", "[2, 3]", "[1, 0, 1, 0, 0, 1]")
    OPLINE("tensor<fp32, [3, 2]>", "o_reshape", "reshape(shape = sh, x = x)")
    OPLINE("tensor<fp32, [1, 2, 3]>", "o_expand", "expand_dims(axes = ax0, x = x)")
    OPLINE("tensor<fp32, [2, 3]>", "o_squeeze", "squeeze(axes = ax0, x = o_expand)")
    OPLINE("tensor<fp32, [2, 3]>", "o_flatten", "flatten2d(axis = one, x = x)")
    OPLINE("tensor<fp32, [2, 3]>", "o_identity", "identity(x = x)")
    OPLINE("tensor<fp32, [3, 2]>", "o_transpose", "transpose(perm = perm, x = x)")
    OPLINE("tensor<fp32, [2, 6]>", "o_concat", "concat(interleave = no, axis = one, values = (x, y))")
    "        tensor<fp32, [1, 3]> o_split0, tensor<fp32, [1, 3]> o_split1 = split(num_splits = two, axis = zero, x = x)[name = string(\"o_split\")];\n"
    OPLINE("tensor<fp32, [2, 2, 3]>", "o_stack", "stack(axis = zero, values = (x, y))")
    OPLINE("tensor<fp32, [4, 3]>", "o_tile", "tile(reps = reps, x = x)")
    OPLINE("tensor<fp32, [2, 2]>", "o_sbi", "slice_by_index(end = ie, begin = ib, x = x)")
    OPLINE("tensor<fp32, [1, 2]>", "o_sbs", "slice_by_size(size = isz, begin = ib, x = x)")
    OPLINE("tensor<fp32, [2, 3]>", "o_supd", "slice_update(end = ie, begin = ib, update = o_sbi, x = y)")
    OPLINE("tensor<fp32, [2, 3]>", "o_gather", "gather(axis = zero, indices = idx, x = x)")
    OPLINE("tensor<fp32, [2, 3]>", "o_gaa", "gather_along_axis(axis = zero, indices = idx2, x = x)")
    OPLINE("tensor<bool, [2, 3]>", "c", "less(y = y, x = x)")
    OPLINE("tensor<fp32, [2, 3]>", "o_select", "select(b = y, a = x, cond = c)")
    "    } -> (o_reshape, o_expand, o_squeeze, o_flatten, o_identity, o_transpose, o_concat, o_split0, o_split1,"
    " o_stack, o_tile, o_sbi, o_sbs, o_supd, o_gather, o_gaa, o_select);\n}\n";

static int used_in(const mil_function *fn, const char *type) {
  for (int i = 0; i < fn->body.n_ops; i++)
    if (!strcmp(fn->body.ops[i].type, type)) return 1;
  return 0;
}

static void test_moves_data(void) {
  prog_run r;
  if (prog_run_text(&r, moves_mil)) return prog_run_free(&r);
  for (const char *const *nm = exec_op_names(); *nm; nm++) /* every marked op is checked here */
    if (exec_op_find(*nm)->props & EXEC_OP_MOVES_DATA) CHECK_MSG(used_in(&r.prog->funcs[0], *nm), "%s not covered", *nm);
  CHECK(!used_in(&r.prog->funcs[0], "add")); /* a computing op here would fail the check below */
  for (int o = 0; o < r.f.n_outputs; o++) {
    const exec_tensor *t = r.f.outputs[o];
    for (int64_t i = 0; i < t->count; i++) {
      int found = 0;
      for (int k = 0; k < r.f.n_inputs && !found; k++)
        for (int64_t j = 0; j < r.f.inputs[k]->count && !found; j++) found = exec_f32(t)[i] == exec_f32(r.f.inputs[k])[j];
      CHECK_MSG(found, "%s[%lld] = %g is no input value", r.f.output_info[o].name, (long long)i, exec_f32(t)[i]);
    }
  }
  prog_run_free(&r);
}

/* An op with an in-place param gives the same output when the output is that param's buffer. */
static void test_in_place(void) {
  int covered = 0;
  for (const char *const *nm = exec_op_names(); *nm; nm++) {
    const exec_op_def *d = exec_op_find(*nm);
    if (d->in_place < 0) continue;
    CHECK_MSG(!strcmp(*nm, "slice_update"), "%s: add an in-place case", *nm);
    float xv[6] = {1, 2, 3, 4, 5, 6}, uv[2] = {-7, -8};
    int32_t bv[2] = {1, 0}, ev[2] = {2, 2};
    float res[2][6];
    for (int shared = 0; shared < 2; shared++) {
      tnode t;
      tn_init(&t, *nm, 1);
      exec_tensor *x = tt_f32(&t, 2, SH(2, 3), xv);
      tn_in(&t, "x", x);
      tn_in(&t, "update", tt_f32(&t, 2, SH(1, 2), uv));
      tn_in(&t, "begin", tt_i32(&t, 1, SH(2), bv));
      tn_in(&t, "end", tt_i32(&t, 1, SH(2), ev));
      exec_tensor *o = tn_out(&t, 0, MIL_FP32, 2, SH(2, 3));
      CHECK_EQ_INT(tn_plan(&t), MR_OK);
      CHECK(exec_in(&t.n, d->in_place) == x);
      if (shared) o->data = x->data; /* as plan_alias.c arranges it */
      CHECK_EQ_INT(tn_exec(&t), MR_OK);
      memcpy(res[shared], exec_f32(o), sizeof res[shared]);
      if (shared) o->data = NULL; /* x owns the buffer */
      tn_free(&t);
    }
    for (int i = 0; i < 6; i++) CHECK_NEAR(res[1][i], res[0][i], 0);
    CHECK_NEAR(res[1][3], -7, 0);
    covered++;
  }
  CHECK(covered >= 1);
}

/* docs/runtime.md lists the ops under "## Ops" as `name` items: the same set as the table. */
static void test_docs_list(void) {
  const char *src = getenv("MR_SOURCE");
  CHECK(src != NULL);
  if (!src) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/docs/runtime.md", src);
  char *text = NULL;
  size_t size = 0;
  mr_error err = {0};
  CHECK_MSG(util_read_file(path, &text, &size, &err) == MR_OK, "%s", err.msg);
  if (!text) return;
  char *sec = strstr(text, "\n## Ops\n"), *end = sec ? strstr(sec + 1, "\n## ") : NULL;
  CHECK(sec != NULL);
  if (end) *end = 0;
  int listed = 0, count = 0;
  for (const char *p = sec ? strchr(sec, '`') : NULL, *q; p && (q = strchr(p + 1, '`')); p = strchr(q + 1, '`')) {
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(q - p - 1), p + 1);
    CHECK_MSG(exec_op_find(name) != NULL, "docs/runtime.md lists '%s', which the op table lacks", name);
    listed++;
  }
  for (const char *const *nm = exec_op_names(); *nm; nm++, count++) {
    char quoted[128];
    snprintf(quoted, sizeof quoted, "`%s`", *nm);
    CHECK_MSG(sec && strstr(sec, quoted), "docs/runtime.md does not list '%s'", *nm);
  }
  CHECK_EQ_INT(listed, count); /* with both checks above: no name listed twice */
  mr_free(text);
}

static void test_node_err(void) {
  tnode t;
  tn_init(&t, "add", 1);
  CHECK_EQ_INT(exec_node_err(&t.n, &t.err, MR_ESHAPE, "bad %d", 7), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'add' (y0): bad 7");
  tn_free(&t);
  /* No outputs: named by the op's name attribute. */
  tn_init(&t, "add", 0);
  char *strs[1] = {"write_kv"};
  mil_value v = {.kind = MIL_VALUE_TENSOR, .count = 1, .strs = strs};
  mil_binding b = {.var = NULL, .value = &v};
  mil_arg a = {.name = "name", .items = &b, .n_items = 1, .is_attr = 1};
  t.op.args = &a;
  t.op.n_args = 1;
  exec_node_err(&t.n, &t.err, MR_EINVAL, "x");
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'add' (write_kv): x");
  t.op.n_args = 0;
  exec_node_err(&t.n, &t.err, MR_EINVAL, "x");
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'add': x");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"table", test_table},
      {"binds_by_name", test_binds_by_name},
      {"moves_data", test_moves_data},
      {"in_place", test_in_place},
      {"docs_list", test_docs_list},
      {"node_err", test_node_err},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
