/* test_exec_ops_errors.c — the error paths of every op family, table-driven: each row builds one
 * node from a compact spec and asserts the code and the whole message. Spec tokens:
 *   name=TYPE[d0,d1]:v0,v1   a bound param (TYPE f32 f16 i32 bool str); values optional (zeros),
 *                            one value fills the tensor; no [..] = scalar; a leading ~ on TYPE
 *                            marks a run-time (non-const) tensor; str takes its text after ':'.
 *   -> TYPE[dims] ...        the declared outputs ('?' = -1).
 * Row field `at_run`: the error comes from run() after a successful plan(). */
#include <stdlib.h>

#include "exec_ops_util.h"
#include "harness.h"

static int parse_type(const char *s, mil_dtype *dt) {
  static const struct { const char *name; mil_dtype dt; } types[] = {
      {"f32", MIL_FP32}, {"f16", MIL_FP16}, {"i32", MIL_INT32}, {"bool", MIL_BOOL}, {"str", MIL_STRING}, {"u16", MIL_UINT16}};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    size_t n = strlen(types[i].name);
    if (!strncmp(s, types[i].name, n) && !(s[n] >= 'a' && s[n] <= 'z') && !(s[n] >= '0' && s[n] <= '9')) {
      *dt = types[i].dt;
      return (int)n;
    }
  }
  return -1;
}

/* "[2,?,3]" -> rank and dims; returns chars consumed (0 if no bracket). */
static int parse_dims(const char *s, int *rank, int64_t *dims) {
  *rank = 0;
  if (*s != '[') return 0;
  const char *p = s + 1;
  while (*p && *p != ']') {
    if (*p == ',') p++;
    else if (*p == '?') dims[(*rank)++] = -1, p++;
    else dims[(*rank)++] = strtoll(p, (char **)&p, 10);
  }
  return (int)(p - s) + 1;
}

static exec_tensor *make_tensor(tnode *t, const char *spec) {
  int run_time = *spec == '~';
  mil_dtype dt = MIL_FP32;
  int k = parse_type(spec + run_time, &dt), rank;
  int64_t dims[MR_MAX_RANK];
  const char *p = spec + run_time + k;
  p += parse_dims(p, &rank, dims);
  exec_tensor *x = tt_new(t, dt, rank, dims);
  x->is_const = !run_time;
  if (*p != ':') return x;
  p++;
  if (dt == MIL_STRING) {
    char *copy = util_strdup(p); /* the token buffer is reused */
    t->blobs[t->n_blobs++] = copy;
    x->str = copy;
    return x;
  }
  double v[64];
  int nv = 0;
  while (*p && nv < 64) {
    v[nv++] = strtod(p, (char **)&p);
    if (*p == ',') p++;
  }
  for (int64_t i = 0; i < x->count; i++) {
    double d = v[nv == 1 ? 0 : i % nv];
    if (x->storage == EXEC_F32) exec_f32(x)[i] = (float)d;
    else if (x->storage == EXEC_I32) exec_i32(x)[i] = (int32_t)d;
    else exec_u8(x)[i] = d != 0;
  }
  return x;
}

typedef struct err_case {
  const char *op;
  const char *spec;
  int code, at_run;
  const char *msg; /* after "m.mil:7:3: op 'OP' (y0): " */
} err_case;

static void run_case(const err_case *c) {
  tnode t;
  char buf[1024], tok[256];
  snprintf(buf, sizeof buf, "%s", c->spec);
  tn_init(&t, c->op, 8); /* output names for up to 8; the count is set after parsing */
  if (!t.n.def) {
    CHECK_MSG(0, "no op %s", c->op);
    return;
  }
  int outs = 0, after = 0;
  for (const char *p = buf; *p;) {
    while (*p == ' ') p++;
    int n = 0;
    while (p[n] && p[n] != ' ') n++;
    if (!n) break;
    snprintf(tok, sizeof tok, "%.*s", n, p);
    p += n;
    if (!strcmp(tok, "->")) {
      after = 1;
      continue;
    }
    if (after) {
      mil_dtype dt = MIL_FP32;
      int k = parse_type(tok, &dt), rank;
      int64_t dims[MR_MAX_RANK];
      parse_dims(tok + k, &rank, dims);
      tn_out(&t, outs++, dt, rank, dims);
      continue;
    }
    char *eq = strchr(tok, '=');
    *eq = 0;
    char *name = util_strdup(tok);
    t.blobs[t.n_blobs++] = name;
    tn_in(&t, name, make_tensor(&t, eq + 1));
  }
  t.n.n_out = t.op.n_outputs = outs;
  int rc = tn_plan(&t);
  if (c->at_run) {
    CHECK_MSG(rc == 0, "%s: plan failed: %s", c->op, t.err.msg);
    if (rc == 0) rc = tn_exec(&t);
  }
  char want[1024];
  snprintf(want, sizeof want, "m.mil:7:3: op '%s' (y0): %s", c->op, c->msg);
  CHECK_MSG(rc == c->code, "%s: code %d, want %d (%s)", c->op, rc, c->code, t.err.msg);
  CHECK_EQ_STR(t.err.msg, want);
  tn_free(&t);
}

static const err_case cases[] = {
    /* param.c */
    {"softmax", "x=f32[2,3] axis=f32:1 -> f32[2,3]", MR_ESHAPE, 0, "parameter 'axis' must be an int scalar, got float []"},
    {"concat", "values=f32[2] axis=i32:0 interleave=i32:1 -> f32[2]", MR_ESHAPE, 0, "parameter 'interleave' must be a bool scalar, got int []"},
    {"gelu", "x=f32[2] mode=f32:1 -> f32[2]", MR_ESHAPE, 0, "parameter 'mode' must be a string scalar, got float []"},
    {"reduce_sum", "x=f32[2] axes=i32[10] -> f32[2]", MR_ESHAPE, 0, "parameter 'axes' has 10 values, at most 9 allowed"},
    {"reduce_sum", "x=f32[2] axes=~i32[1] -> f32[]", MR_ENOTSUP, 0, "parameter 'axes' must be a constant"},
    {"tile", "x=f32[2] reps=i32[1]:-1 -> f32[?]", MR_ESHAPE, 0, "reps must be >= 0, got -1"},
    {"tile", "x=f32[2,2] reps=i32[2]:1000000000 -> f32[?,?]", MR_ESHAPE, 0, "output 0 is too large"},
    /* elementwise */
    {"add", "x=f32[2] y=f32[2] -> bool[2]", MR_ESHAPE, 0, "output must be a number, declared bool"},
    {"logical_not", "x=f32[2] -> bool[2]", MR_ESHAPE, 0, "input and output must be bool, got fp32 -> bool"},
    /* reduce, linalg, conv */
    {"reduce_sum", "x=f32[2] axes=i32[2]:0,1 -> f32[]", MR_ESHAPE, 0, "2 axes given for rank 1"},
    {"linear", "x=i32[2,3] weight=f32[4,3] -> f32[2,4]", MR_ESHAPE, 0, "x has unsupported dtype int32"},
    {"linear", "x=f32[2,3] weight=i32[4,3] -> f32[2,4]", MR_ESHAPE, 0, "weight has unsupported dtype int32"},
    {"matmul", "x=f32 y=f32[3] -> f32[]", MR_ESHAPE, 0, "x and y must have rank >= 1"},
    {"matmul", "x=f32[3] y=f32[3] -> i32[]", MR_ESHAPE, 0, "output must be float, declared int32"},
    {"matmul", "x=bool[3] y=f32[3] -> f32[]", MR_ESHAPE, 0, "x has unsupported dtype bool"},
    {"conv", "x=f32[1,2] weight=f32[2,2] -> f32[1,2]", MR_ESHAPE, 0, "x [1, 2] must be [N, C, spatial...] with 1 to 3 spatial dims"},
    {"conv", "x=f32[1,2,5] weight=f32[3,2,1] bias=f32[2] -> f32[1,3,5]", MR_ESHAPE, 0, "bias has 2 values for 3 output channels"},
    {"conv", "x=f32[1,2,5] weight=f32[3,2,1] dilations=i32[1]:0 -> f32[1,3,5]", MR_ESHAPE, 0, "'dilations' values must be >= 1"},
    {"conv", "x=f32[1,2,5] weight=f32[3,2,1] pad_type=str:custom pad=i32[2]:-1,0 -> f32[1,3,5]", MR_ESHAPE, 0, "pad values must be >= 0"},
    {"conv_transpose", "x=f32[1,2,5] weight=f32[3,2,1] -> f32[1,2,5]", MR_ESHAPE, 0, "weight [3, 2, 1] does not fit x [1, 2, 5] with groups = 1 (want [C_in, C_out/groups, K...])"},
    {"conv_transpose", "x=f32[1,2,5] weight=f32[2,3,1] output_shape=i32[3]:1,2,9 -> f32[1,3,9]", MR_ESHAPE, 0, "output_shape must be [N, C_out, spatial...] = [1, 3, ...]"},
    {"conv_transpose", "x=f32[1,2,5] weight=f32[2,3,1] pad_type=str:custom pad=i32[2]:4,3 -> f32[1,3,?]", MR_ESHAPE, 0, "padding 7 is larger than the output 5"},
    /* norm */
    {"batch_norm", "x=f32[3] mean=f32[3] variance=f32[3] -> f32[3]", MR_ESHAPE, 0, "x [3] must be [N, C, ...]"},
    {"batch_norm", "x=f32[1,3] mean=f32[3] variance=f32[2] -> f32[1,3]", MR_ESHAPE, 0, "variance fp32 [2] must be float [3]"},
    /* shape.c */
    {"reshape", "x=f32[6] shape=i32[9] -> f32[?]", MR_ESHAPE, 0, "shape must be a 1-d int tensor of at most 8 values"},
    {"reshape", "x=f32[6] shape=i32[2]:-2,-3 -> f32[?,?]", MR_ESHAPE, 0, "shape has a negative dim -2"},
    {"expand_dims", "x=f32[1,1,1,1,1,1,1] axes=i32[2]:0,1 -> f32[1]", MR_ESHAPE, 0, "result rank 9 is over 8"},
    {"expand_dims", "x=f32[2] axes=i32[2]:0,-3 -> f32[1,1,2]", MR_ESHAPE, 0, "axis -3 is repeated"},
    {"expand_dims", "x=f32[2] -> f32[1,2]", MR_EINVAL, 0, "missing required parameter 'axes'"},
    {"squeeze", "x=f32[1,2] axes=i32[1]:2 -> f32[2]", MR_ESHAPE, 0, "axis 2 is out of range for rank 2"},
    {"flatten2d", "x=f32[2,3] axis=i32:3 -> f32[6,1]", MR_ESHAPE, 0, "axis 3 is out of range for rank 2"},
    {"transpose", "x=f32[2,3] perm=i32[1]:0 -> f32[2,3]", MR_ESHAPE, 0, "perm has 1 values for rank 2"},
    {"shape", "x=f32[2,3] -> f32[2]", MR_ESHAPE, 0, "output must be int32, declared fp32"},
    {"stack", "values=f32[1,1,1,1,1,1,1,1] axis=i32:0 -> f32[1,1,1,1,1,1,1,1]", MR_ESHAPE, 0, "result rank is over 8"},
    {"split", "x=f32[6] split_sizes=i32[2]:3,3 axis=i32:0 -> f32[3] f32[2] f32[1]", MR_ESHAPE, 0, "split_sizes has 2 values for 3 outputs"},
    {"split", "x=f32[6] split_sizes=i32[2]:3,2 axis=i32:0 -> f32[3] f32[2]", MR_ESHAPE, 0, "split_sizes do not add up to the dim 6"},
    {"tile", "x=f32[2] reps=i32[2]:1,1 -> f32[2]", MR_ESHAPE, 0, "reps must be an int tensor of at most 1 values"},
    {"pad", "x=f32[2] pad=i32[3]:1,1,1 -> f32[4]", MR_ESHAPE, 0, "pad must have an even number of values, at most 2"},
    {"pad", "x=f32[2] pad=i32[2]:-1,1 -> f32[2]", MR_ESHAPE, 0, "pad values must be >= 0"},
    {"pad", "x=f32[0] pad=i32[2]:1,1 mode=str:replicate -> f32[2]", MR_ESHAPE, 0, "cannot replicate-pad an empty dim"},
    {"pad", "x=f32[3] pad=~i32[2]:1,1 -> f32[6]", MR_ESHAPE, 1, "run-time shape [5] differs from the planned output shape [6]"},
    /* slice.c */
    {"slice_by_index", "x=f32[3] begin=i32[1] end=i32[1]:2 squeeze_mask=bool[2] -> f32[2]", MR_ESHAPE, 0, "squeeze_mask must be 1 bools"},
    {"slice_by_index", "x=f32[3] begin=i32[1] end=i32[1]:2 end_mask=~bool[1] -> f32[2]", MR_ENOTSUP, 0, "parameter 'end_mask' must be a constant"},
    {"slice_by_index", "x=f32[3] begin=i32[1] end=i32[1]:2 stride=i32[2]:1 -> f32[2]", MR_ESHAPE, 0, "stride has 2 values for rank 1"},
    {"slice_by_index", "x=f32[3] end=i32[1]:2 -> f32[2]", MR_EINVAL, 0, "missing required parameter 'begin'"},
    {"slice_update", "x=f32[3] update=i32[1] begin=i32[1] end=i32[1]:1 -> f32[3]", MR_ESHAPE, 0, "update is int32 but x is fp32"},
    {"slice_by_size", "x=f32[4] begin=~i32[1]:4 size=i32[1]:1 -> f32[1]", MR_ESHAPE, 1, "begin 4 size 1 is out of range for dim 0 of size 4"},
    /* gather.c */
    {"gather", "x=f32[4,2] indices=i32[1] -> i32[1,2]", MR_ESHAPE, 0, "output is declared int32 but x is fp32"},
    {"gather", "x=f32[4,2] indices=i32[1] axis=i32:1 batch_dims=i32:2 -> f32[4,1]", MR_ESHAPE, 0, "batch_dims 2 must be between 0 and min(axis 1, indices rank 1)"},
    {"gather", "x=f32[4,2] indices=i32[3,1] axis=i32:1 batch_dims=i32:1 -> f32[4,1]", MR_ESHAPE, 0, "batch dim 0 differs between x (4) and indices (3)"},
    {"gather", "x=f32[1,1,1,1,1,1,1,4] indices=i32[1,1,1] axis=i32:7 -> f32[1]", MR_ESHAPE, 0, "result rank 10 is over 8"},
    {"gather_along_axis", "x=f32[4,2] indices=i32[3,3] axis=i32:0 -> f32[3,3]", MR_ESHAPE, 0, "indices [3, 3] do not fit x [4, 2] on axis 0"},
    {"gather_along_axis", "x=f32[4,2] indices=i32[1,2]:-5 -> f32[1,2]", MR_ESHAPE, 1, "index -5 is out of range for a dim of size 4"},
    {"scatter", "data=f32[3] indices=i32[1] updates=i32[1] -> f32[3]", MR_ESHAPE, 0, "data and updates must be numbers of one type, got fp32 and int32"},
    {"scatter_along_axis", "data=f32[3] indices=i32[2] updates=f32[3] -> f32[3]", MR_ESHAPE, 0, "updates [3] must have the shape of indices [2]"},
    {"scatter", "data=f32[3] indices=i32[1]:3 updates=f32[1] -> f32[3]", MR_ESHAPE, 1, "index 3 is out of range for a dim of size 3"},
    {"one_hot", "indices=i32[2] one_hot_vector_size=i32:-1 -> f32[2,?]", MR_ESHAPE, 0, "one_hot_vector_size must be >= 0"},
    {"one_hot", "indices=i32[2] one_hot_vector_size=i32:3 -> bool[2,3]", MR_ESHAPE, 0, "output must be a number, declared bool"},
    /* fill.c */
    {"select", "cond=str a=f32[2] b=f32[2] -> f32[2]", MR_ESHAPE, 0, "cond has unsupported dtype string"},
    {"band_part", "x=f32[3] -> f32[3]", MR_ESHAPE, 0, "x [3] must have rank >= 2"},
    {"range_1d", "start=f32[2] end=f32:1 step=f32:1 -> f32[?]", MR_ESHAPE, 0, "start must be a number scalar"},
    {"range_1d", "start=f32:0 end=f32:3 step=f32:1 -> bool[3]", MR_ESHAPE, 0, "output must be a number, declared bool"},
    {"range_1d", "start=f32:0 end=f32:1e13 step=f32:1 -> f32[?]", MR_ESHAPE, 0, "range of 1e+13 values is too long"},
    {"fill", "shape=i32[1,2]:1 -> f32[1,1]", MR_ESHAPE, 0, "shape must be a 1-d int tensor of at most 8 values"},
    {"fill", "shape=i32[1]:2 -> str[2]", MR_ESHAPE, 0, "output must be a number or bool, declared string"},
    {"cast", "x=str dtype=str:fp32 -> f32", MR_ESHAPE, 0, "x has unsupported dtype string"},
    /* sort.c */
    {"argsort", "x=f32 -> i32", MR_ESHAPE, 0, "x must have rank >= 1"},
    {"argsort", "x=f32[3] -> f32[3]", MR_ESHAPE, 0, "output must be an integer type, declared fp32"},
    {"topk", "x=f32[3] -> f32[1] f32[1]", MR_ESHAPE, 0, "indices output must be an integer type, declared fp32"},
    {"cumsum", "x=bool[3] -> bool[3]", MR_ESHAPE, 0, "x has unsupported dtype bool"},
    /* rnn.c */
    {"lstm", "x=f32[2,3] initial_h=f32[1,4] initial_c=f32[1,4] weight_ih=f32[16,3] weight_hh=f32[16,4] -> f32[1,1,4] f32[1,4] f32[1,4]", MR_ESHAPE, 0, "x [2, 3] must be float [S, B, I]"},
    {"lstm", "x=f32[2,1,3] initial_h=f32[1,3] initial_c=f32[1,4] weight_ih=f32[16,3] weight_hh=f32[16,4] -> f32[1,1,4] f32[1,4] f32[1,4]", MR_ESHAPE, 0, "initial_h must hold [B, D*H] = [1, 4] floats"},
    {"lstm", "x=f32[2,1,3] initial_h=f32[1,4] initial_c=f32[1,4] weight_ih=f32[16,3] weight_hh=f32[16,4] bias=f32[15] -> f32[1,1,4] f32[1,4] f32[1,4]", MR_ESHAPE, 0, "bias must have 4H = 16 values"},
    {"lstm", "x=f32[2,1,3] initial_h=f32[1,4] initial_c=f32[1,4] weight_ih=f32[16,3] weight_hh=f32[16,4] direction=str:sideways -> f32[1,1,4] f32[1,4] f32[1,4]", MR_EINVAL, 0, "unknown direction 'sideways'"},
    {"lstm", "x=f32[2,1,3] initial_h=f32[1,4] initial_c=f32[1,4] weight_ih=f32[16,3] weight_hh=f32[16,4] clip=f32:-1 -> f32[1,1,4] f32[1,4] f32[1,4]", MR_EINVAL, 0, "clip must be >= 0"},
    /* attention.c */
    {"scaled_dot_product_attention", "query=i32[2,4] key=f32[3,4] value=f32[3,2] -> f32[2,2]", MR_ESHAPE, 0, "query has unsupported dtype int32"},
    {"scaled_dot_product_attention", "query=f32[2,4] key=f32[3,4] value=f32[3,2] attn_mask=i32[2,3] -> f32[2,2]", MR_ESHAPE, 0, "attn_mask has unsupported dtype int32"},
    {"scaled_dot_product_attention", "query=f32[2,4] key=f32[3,4] value=f32[3,2] attn_mask=f32[5,2,3] -> f32[2,2]", MR_ESHAPE, 0, "attn_mask [5, 2, 3] does not broadcast to [*, L, S]"},
};

static void test_error_table(void) {
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int before = th_failures;
    run_case(&cases[i]);
    if (th_failures != before) fprintf(stderr, "    (case %zu: %s %s)\n", i, cases[i].op, cases[i].spec);
  }
}

int main(int argc, char **argv) {
  static const th_case tcases[] = {
      {"error_table", test_error_table},
      {NULL, NULL},
  };
  return th_run(tcases, argc, argv);
}
