/* test_exec_ops_registry.c — the op table: every entry has plan and run, names are unique and
 * findable, params are unique, packed_ok bits name existing params (linear.weight, conv.weight,
 * matmul.x/y, gather.x), and the ops a real LLM/Silero model uses are present (mil-format.md
 * §4.12). Also exec_node_err's two message forms. */
#include "exec_ops_util.h"
#include "harness.h"
#include "util/error.h"

static void test_table(void) {
  const char *const *names = exec_op_names();
  int count = 0;
  for (; names[count]; count++) {
    const exec_op_def *d = exec_op_find(names[count]);
    CHECK_MSG(d && !strcmp(d->name, names[count]), "%s", names[count]);
    if (!d) continue;
    CHECK_MSG(d->plan && d->run, "%s lacks plan/run", d->name);
    CHECK(d->min_outputs >= 1 && d->min_outputs <= d->max_outputs);
    int np = 0;
    while (np < EXEC_MAX_PARAMS && d->params[np]) np++;
    CHECK_MSG(np < EXEC_MAX_PARAMS, "%s: params not NULL-terminated", d->name);
    for (int i = 0; i < np; i++)
      for (int j = i + 1; j < np; j++) CHECK_MSG(strcmp(d->params[i], d->params[j]) != 0, "%s.%s twice", d->name, d->params[i]);
    CHECK_MSG((d->packed_ok >> np) == 0, "%s: packed_ok names a missing param", d->name);
    for (int j = 0; j < count; j++) CHECK_MSG(strcmp(names[j], names[count]) != 0, "%s twice", names[count]);
  }
  CHECK(count > 100);
  CHECK(exec_op_find("const") == NULL); /* the planner's, not an op */
  CHECK(exec_op_find("no_such_op") == NULL);
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
    int bit = -1;
    for (int p = 0; d && d->params[p]; p++)
      if (!strcmp(d->params[p], packed[i].param)) bit = p;
    CHECK_MSG(bit >= 0 && (d->packed_ok >> bit) & 1, "%s.%s not packed_ok", packed[i].op, packed[i].param);
  }
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
      {"node_err", test_node_err},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
