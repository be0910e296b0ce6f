/* test_mil_parse.c — the model.mil parser against the sample files (tests/fixtures/mil/, and the
 * model.mil of the Silero VAD bundles in tests/fixtures/silero-vad/ shared with the loader tests),
 * with references computed independently in this file: op counts and function names by a naive
 * line scan, hex floats by ldexp and strtod, the scalar-spelling equivalence by a textual rewrite of
 * the samples and mil_program_equal (itself tested in test_mil_print.c). Error cases assert the
 * whole message. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "mil/ir.h"
#include "util/alloc.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "  cannot open %s\n", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)sz + 1);
  *n = fread(b, 1, (size_t)sz, f);
  b[*n] = 0;
  fclose(f);
  return b;
}

/* Parse from an exactly sized heap copy (no NUL after the text), so ASan catches any overread. */
static int parse_n(const char *s, size_t n, mil_program **p, mr_error *e) {
  char *b = malloc(n ? n : 1);
  memcpy(b, s, n);
  int rc = mil_parse(b, n, "t.mil", p, e);
  free(b);
  return rc;
}

static mil_program *parse_fixture(const char *rel) {
  mil_program *p = NULL;
  mr_error e = {0};
  int rc = mil_parse_file(th_fixture(rel), &p, &e);
  CHECK_MSG(rc == MR_OK && p, "%s: %s", rel, e.msg);
  return p;
}

static const mil_op *find_op(const mil_function *f, const char *out_or_name) {
  for (int i = 0; i < f->body.n_ops; i++) {
    const mil_op *op = &f->body.ops[i];
    for (int k = 0; k < op->n_outputs; k++)
      if (strcmp(op->outputs[k].name, out_or_name) == 0) return op;
    const char *nm = mil_op_name(op);
    if (nm && strcmp(nm, out_or_name) == 0) return op;
  }
  return NULL;
}

static const mil_value *arg_value(const mil_op *op, const char *name) {
  const mil_arg *a = mil_op_arg(op, name);
  return a && a->n_items == 1 ? a->items[0].value : NULL;
}

static const char *arg_var(const mil_op *op, const char *name) {
  const mil_arg *a = mil_op_arg(op, name);
  return a && a->n_items == 1 ? a->items[0].var : NULL;
}

static const char *type_str(const mil_type *t) {
  static char buf[512];
  return mil_type_str(t, buf, sizeof buf);
}

/* Naive reference from the text: compiler output has one statement per line; a function starts
 * with a "func NAME<OPSET>(" line; a statement line ends with ';' and does not start with '}'. */
typedef struct naive_func {
  char name[64], opset[16];
  int n_ops;
} naive_func;

static int naive_scan(const char *text, naive_func *fs, int max) {
  int nf = 0;
  const char *s = text;
  while (*s) {
    const char *e = strchr(s, '\n');
    if (!e) e = s + strlen(s);
    const char *b = s;
    while (b < e && *b == ' ') b++;
    const char *l = e;
    while (l > b && (l[-1] == ' ' || l[-1] == '\r')) l--;
    if (e - b > 5 && strncmp(b, "func ", 5) == 0 && nf < max) {
      naive_func *f = &fs[nf++];
      sscanf(b + 5, "%63[^<]<%15[^>]", f->name, f->opset);
      f->n_ops = 0;
    } else if (nf > 0 && l > b && l[-1] == ';' && *b != '}' && *b != '#') {
      fs[nf - 1].n_ops++;
    }
    s = *e ? e + 1 : e;
  }
  return nf;
}

/* Line and column (1-based) of the first occurrence of `needle`. */
static void find_pos(const char *text, const char *needle, int *line, int *col) {
  const char *at = strstr(text, needle);
  *line = 1;
  const char *ls = text;
  for (const char *c = text; at && c < at; c++)
    if (*c == '\n') {
      (*line)++;
      ls = c + 1;
    }
  *col = at ? (int)(at - ls) + 1 : -1;
}

/* ---- every sample parses, matching the naive scan -------------------------------------------- */

static const char *samples[] = {
    "mil/add_model_ios16.mil",
    "mil/multifunction_relu_ios18.mil",
    "mil/constexpr_affine_ios17.mil",
    "mil/fp16_hexfloat_cast_ios17.mil",
    "mil/inline_literal_arg_ios17.mil",
    "mil/silero_vad_palette4bit_ios16.mil",
    "mil/parakeet_streaming_encoder_ios17_excerpt.mil",
    "mil/SYNTHETIC_stateful_multifunction_lut18.mil",
    "silero-vad/silero-vad-unified-v6.0.0.mlmodelc/model.mil",
    "silero-vad/unified_int8.mlmodelc/model.mil",
    "silero-vad/unified_mixed.mlmodelc/model.mil",
    "silero-vad/unified_palette_2bit.mlmodelc/model.mil",
    "silero-vad/unified_palette_4bit.mlmodelc/model.mil",
    "silero-vad/unified_palette_6bit.mlmodelc/model.mil",
    "silero-vad/unified_palette_8bit.mlmodelc/model.mil",
    NULL,
};

static void test_all_samples(void) {
  for (const char **s = samples; *s; s++) {
    size_t n;
    char *text = slurp(th_fixture(*s), &n);
    CHECK(text != NULL);
    if (!text) continue;
    naive_func ref[8];
    int nref = naive_scan(text, ref, 8);
    mil_program *p = parse_fixture(*s);
    if (p) {
      CHECK_MSG(p->n_funcs == nref, "%s: %d functions, naive scan %d", *s, p->n_funcs, nref);
      for (int i = 0; i < p->n_funcs && i < nref; i++) {
        CHECK_EQ_STR(p->funcs[i].name, ref[i].name);
        CHECK_EQ_STR(p->funcs[i].opset, ref[i].opset);
        CHECK_MSG(p->funcs[i].body.n_ops == ref[i].n_ops, "%s %s: %d ops, naive %d", *s,
                  ref[i].name, p->funcs[i].body.n_ops, ref[i].n_ops);
        CHECK(p->funcs[i].body.n_outputs >= 1);
      }
      CHECK(strstr(text, "program(1.0)") ? strcmp(p->version, "1.0") == 0
                                         : strcmp(p->version, "1.3") == 0);
    }
    mil_program_free(p);
    free(text);
  }
}

/* ---- spot checks of the IR ------------------------------------------------------------------- */

static void test_add_model(void) {
  mil_program *p = parse_fixture("mil/add_model_ios16.mil");
  if (!p) return;
  CHECK_EQ_STR(p->version, "1.0");
  CHECK_EQ_INT(p->n_attrs, 1);
  CHECK_EQ_STR(p->attrs[0].name, "buildInfo");
  const mil_value *bi = p->attrs[0].items[0].value;
  CHECK(bi && bi->kind == MIL_VALUE_COMPOSITE && bi->type->kind == MIL_TYPE_DICT);
  CHECK_EQ_STR(type_str(bi->type), "dict<string, string>");
  CHECK_EQ_INT(bi->n_items, 10);
  CHECK_EQ_STR(bi->items[0]->strs[0], "coremlc-component-MIL");
  CHECK_EQ_STR(bi->items[1]->strs[0], "3402.3.2");
  CHECK_EQ_STR(bi->items[9]->strs[0], "8.1");
  const mil_function *f = mil_program_function(p, "main");
  CHECK(f && mil_program_function(p, NULL) == f && !mil_program_function(p, "nope"));
  CHECK_EQ_STR(f->opset, "ios16");
  CHECK_EQ_INT(f->n_params, 2);
  CHECK_EQ_STR(f->params[1].name, "y");
  CHECK_EQ_STR(type_str(f->params[1].type), "tensor<fp16, [1, 10]>");
  CHECK_EQ_INT(mil_type_count(f->params[1].type), 10);
  const mil_op *op = &f->body.ops[0];
  CHECK_EQ_STR(op->type, "mul");
  CHECK(op->opset == NULL);
  CHECK_EQ_STR(op->outputs[0].name, "var_3");
  CHECK_EQ_STR(arg_var(op, "x"), "x");
  CHECK_EQ_STR(mil_op_name(op), "op_3_cast_fp16");
  CHECK(mil_op_arg(op, "name")->is_attr && !mil_op_arg(op, "x")->is_attr);
  CHECK_EQ_INT(f->body.n_outputs, 1);
  CHECK_EQ_STR(f->body.outputs[0], "var_3");
  size_t n;
  char *text = slurp(th_fixture("mil/add_model_ios16.mil"), &n);
  int line, col;
  find_pos(text, "tensor<fp16, [1, 10]> var_3", &line, &col);
  CHECK_EQ_INT(op->line, line);
  CHECK_EQ_INT(op->col, col);
  find_pos(text, "var_3 = mul", &line, &col);
  CHECK_EQ_INT(op->outputs[0].line, line);
  CHECK_EQ_INT(op->outputs[0].col, col);
  find_pos(text, "func main", &line, &col);
  CHECK_EQ_INT(f->line, line);
  CHECK_EQ_INT(f->col, col);
  free(text);
  mil_program_free(p);
}

static void check_flex(const mil_function *f, double default_len) {
  CHECK_EQ_INT(f->n_attrs, 1);
  CHECK_EQ_STR(f->attrs[0].name, "FlexibleShapeInformation");
  const mil_value *v = f->attrs[0].items[0].value;
  CHECK(v->kind == MIL_VALUE_COMPOSITE && v->type->kind == MIL_TYPE_TUPLE && v->n_items == 2);
  const mil_value *d = v->items[0], *r = v->items[1];
  CHECK_EQ_INT(d->n_items, 2);
  CHECK_EQ_STR(d->items[0]->strs[0], "DefaultShapes");
  const mil_value *dict = d->items[1];
  CHECK(dict->type->kind == MIL_TYPE_DICT && dict->n_items == 2);
  CHECK_EQ_STR(dict->items[0]->strs[0], "input");
  CHECK_EQ_STR(type_str(dict->items[1]->type), "tensor<int32, [?]>");
  CHECK_EQ_INT(dict->items[1]->count, 1);
  CHECK(dict->items[1]->nums[0] == default_len);
  CHECK_EQ_STR(r->items[0]->strs[0], "RangeDims");
  const mil_value *list = r->items[1]->items[1];
  CHECK_EQ_STR(type_str(list->type), "list<tensor<int32, [2]>, ?>");
  CHECK_EQ_INT(list->n_items, 1);
  CHECK(list->items[0]->count == 2 && list->items[0]->nums[0] == 0 && list->items[0]->nums[1] == 4);
}

static void test_multifunction(void) {
  mil_program *p = parse_fixture("mil/multifunction_relu_ios18.mil");
  if (!p) return;
  CHECK_EQ_STR(p->version, "1.3");
  CHECK_EQ_INT(p->n_funcs, 2);
  const mil_function *f = mil_program_function(p, "second");
  CHECK(f == &p->funcs[1]);
  CHECK_EQ_STR(f->opset, "ios18");
  CHECK_EQ_INT(f->params[0].type->rank, 1);
  CHECK_EQ_INT(f->params[0].type->dims[0], -1);
  CHECK_EQ_INT(mil_type_count(f->params[0].type), -1);
  check_flex(&p->funcs[0], 4);
  check_flex(&p->funcs[1], 2);
  const mil_op *op = &f->body.ops[0];
  CHECK_EQ_STR(op->type, "relu");
  CHECK_EQ_INT(op->n_args, 1);
  CHECK(mil_op_name(op) == NULL);
  CHECK_EQ_STR(arg_var(op, "x"), "input");
  mil_program_free(p);
}

static void test_constexpr_affine(void) {
  mil_program *p = parse_fixture("mil/constexpr_affine_ios17.mil");
  if (!p) return;
  const mil_op *op = find_op(&p->funcs[0], "constant");
  CHECK(op && strcmp(op->type, "constexpr_affine_dequantize") == 0);
  if (!op) goto out;
  CHECK_EQ_INT(op->n_args, 4);
  for (int i = 0; i < op->n_args; i++) CHECK(op->args[i].is_attr);
  const mil_value *q = arg_value(op, "quantized_data");
  CHECK(q && q->kind == MIL_VALUE_BLOB);
  CHECK_EQ_STR(q->blob_path, "@model_path/weights/weights.bin");
  CHECK_EQ_INT(q->blob_offset, 64);
  CHECK_EQ_STR(type_str(q->type), "tensor<int8, [4]>");
  const mil_value *s = arg_value(op, "scale"), *z = arg_value(op, "zero_point"), *ax = arg_value(op, "axis");
  CHECK(s->type->rank == 0 && s->type->dtype == MIL_FP32 && s->count == 1 && s->nums[0] == 0.5);
  CHECK(z->type->dtype == MIL_INT8 && z->nums[0] == -1);
  CHECK(ax->type->dtype == MIL_INT32 && ax->nums[0] == 0);
out:
  mil_program_free(p);
}

static void test_fp16_hexfloats(void) {
  mil_program *p = parse_fixture("mil/fp16_hexfloat_cast_ios17.mil");
  if (!p) return;
  const mil_op *op = find_op(&p->funcs[0], "half");
  CHECK(op && strcmp(op->type, "const") == 0 && mil_op_name(op) == NULL);
  if (op) {
    const mil_value *v = arg_value(op, "val");
    /* [0x1p-24, 0x1.5p-17, 0x1.ff8p-15, 0x1p-14, -0x1.5p-17] from the definition of %a */
    const double want[5] = {ldexp(1, -24), ldexp(0x15, -21), ldexp(0x1ff8, -27), ldexp(1, -14),
                            -ldexp(0x15, -21)};
    CHECK(v && v->count == 5);
    for (int i = 0; v && i < 5; i++) CHECK_MSG(v->nums[i] == want[i], "%d: %a", i, v->nums[i]);
    const mil_value *dt = arg_value(find_op(&p->funcs[0], "constant"), "dtype");
    CHECK_EQ_STR(dt->strs[0], "fp32");
  }
  mil_program_free(p);
}

static void test_inline_literal(void) {
  mil_program *p = parse_fixture("mil/inline_literal_arg_ios17.mil");
  if (!p) return;
  const mil_op *op = find_op(&p->funcs[0], "negOutput");
  CHECK_EQ_STR(arg_var(op, "x"), "negInput");
  const mil_value *y = arg_value(op, "y");
  CHECK(y && y->kind == MIL_VALUE_TENSOR);
  CHECK_EQ_STR(type_str(y->type), "tensor<fp32, [1]>");
  CHECK(y->count == 1 && y->nums[0] == -1.0 && !mil_op_arg(op, "y")->is_tuple);
  mil_program_free(p);
}

static void test_stateful(void) {
  mil_program *p = parse_fixture("mil/SYNTHETIC_stateful_multifunction_lut18.mil");
  if (!p) return;
  CHECK_EQ_INT(p->n_funcs, 2);
  const mil_function *inf = mil_program_function(p, "infer"), *pre = mil_program_function(p, "prefill");
  CHECK(inf && pre);
  if (!inf || !pre) goto out;
  CHECK_EQ_INT(inf->n_params, 3);
  const mil_var *kv = &inf->params[2];
  CHECK_EQ_STR(kv->name, "kv_cache_0");
  CHECK(kv->type->kind == MIL_TYPE_STATE && kv->type->elem->kind == MIL_TYPE_TENSOR);
  CHECK_EQ_STR(type_str(kv->type), "state<tensor<fp16, [2, 2, 16, 32]>>");
  CHECK_EQ_INT(mil_type_count(kv->type), 2 * 2 * 16 * 32);
  const mil_op *ws = find_op(inf, "kv_update_0_write_state");
  CHECK(ws && strcmp(ws->type, "write_state") == 0 && ws->n_outputs == 0);
  if (ws) {
    CHECK_EQ_STR(arg_var(ws, "data"), "kv_new");
    CHECK_EQ_STR(arg_var(ws, "input"), "kv_cache_0");
  }
  const mil_arg *vals = mil_op_arg(find_op(inf, "upd_begin"), "values");
  CHECK(vals && vals->is_tuple && vals->n_items == 4);
  const char *want[4] = {"zero_1", "zero_1", "current_pos", "zero_1"};
  for (int i = 0; vals && i < 4; i++) CHECK_EQ_STR(vals->items[i].var, want[i]);
  for (int fi = 0; fi < 2; fi++) {
    const mil_op *lut = find_op(&p->funcs[fi], "w_q_palettized");
    const mil_value *ix = arg_value(lut, "indices"), *lt = arg_value(lut, "lut");
    CHECK(ix->kind == MIL_VALUE_BLOB && ix->blob_offset == 64 && lt->blob_offset == 2176);
    CHECK_EQ_STR(lt->blob_path, "@model_path/weights/weight.bin");
    CHECK_EQ_STR(type_str(ix->type), "tensor<uint4, [64, 64]>");
    CHECK_EQ_INT(mil_type_count(lt->type), 64);
    CHECK(!mil_op_arg(lut, "indices")->is_attr && mil_op_arg(lut, "name")->is_attr);
  }
  const mil_op *cat = find_op(inf, "cat_interleave");
  CHECK(arg_value(cat, "val")->type->rank == 0 && arg_value(cat, "val")->nums[0] == 0);
  CHECK_EQ_INT(arg_value(find_op(inf, "sm_axis"), "val")->nums[0], -1);
out:
  mil_program_free(p);
}

static void test_multi_output_and_specials(void) {
  mil_program *p = parse_fixture("mil/parakeet_streaming_encoder_ios17_excerpt.mil");
  if (!p) return;
  const mil_function *f = &p->funcs[0];
  const mil_op *sp = find_op(f, "x_19_split_cast_fp16");
  CHECK(sp && strcmp(sp->type, "split") == 0 && sp->n_outputs == 2);
  if (sp) {
    CHECK_EQ_STR(sp->outputs[0].name, "x_19_split_cast_fp16_0");
    CHECK_EQ_STR(sp->outputs[1].name, "x_19_split_cast_fp16_1");
    CHECK_EQ_STR(type_str(sp->outputs[1].type), "tensor<fp16, [1, 512, 17]>");
  }
  const mil_value *inf = arg_value(find_op(f, "const_5_to_fp16"), "val");
  CHECK(inf && isinf(inf->nums[0]) && inf->nums[0] > 0);
  const mil_value *sq = arg_value(find_op(f, "cache_1_squeeze_mask_0"), "val");
  CHECK(sq && sq->count == 4 && sq->nums[0] == 1 && sq->nums[1] == 0);
  const mil_arg *vals = mil_op_arg(find_op(f, "full_input_cast_fp16"), "values");
  CHECK(vals && vals->is_tuple && vals->n_items == 2);
  CHECK_EQ_STR(vals->items[1].var, "audio_signal_to_fp16");
  mil_program_free(p);

  p = parse_fixture("mil/silero_vad_palette4bit_ios16.mil");
  if (!p) return;
  f = &p->funcs[0];
  const mil_value *ninf = arg_value(find_op(f, "const_1_to_fp16"), "val");
  CHECK(ninf && isinf(ninf->nums[0]) && ninf->nums[0] < 0);
  const mil_op *lstm = find_op(f, "lstm_out_batch_first");
  CHECK(lstm && lstm->n_outputs == 3);
  if (lstm) CHECK_EQ_STR(type_str(lstm->outputs[0].type), "tensor<fp32, [1, 1, 128]>");
  const mil_op *lut = find_op(f, "stft_forward_basis_to_fp16_palettized");
  const mil_value *ix = arg_value(lut, "indices");
  CHECK(ix && ix->kind == MIL_VALUE_BLOB && ix->blob_offset == 64);
  CHECK(arg_value(lut, "lut")->blob_offset == 33152);
  const mil_value *shape = arg_value(lut, "shape");
  CHECK(shape->type->dtype == MIL_UINT32 && shape->count == 3 && shape->nums[0] == 258);
  mil_program_free(p);
}

/* Literal forms not in the samples: nesting, strings with escapes, decimal floats, nan, bool
 * matrices, tuples/lists of composites, per-op opsets, nested blocks, empty lists. */
static void test_literal_forms(void) {
  const char *src =
      "program(1.3)\n"
      "[buildInfo = dict<string, string>({}), k = list<string, 2>([\"a\\\"b\", \"\\x41\\\\\\n\"])]\n"
      "{\n"
      "  func main<ios99>() [t = tuple<int32, fp64, bool>((7, 1.5e-3, true))] {\n"
      "    tensor<fp32, [2, 3]> a = const()[val = tensor<fp32, [2, 3]>([[1, -2.5, 0x1.8p+1], [nan, -nan, -inf]])];\n"
      "    tensor<bool, [2, 2]> m = const()[val = tensor<bool, [2, 2]>([[true, false], [false, true]])];\n"
      "    tensor<int32, [0]> z = const()[val = tensor<int32, [0]>([])];\n"
      "    tensor<uint64, []> big = const()[val = uint64(18446744073709551615)];\n"
      "    tensor<fp32, [2, 3]> b = tensor_op<ios17>(x = a, y = (a, fp32(0x0p+0)));\n"
      "    tensor<fp32, [2, 3]> c = cond(pred = bool(true)) {\n"
      "      tensor<fp32, [2, 3]> t = identity(x = a);\n"
      "    } -> (t) {\n"
      "    } -> (a);\n"
      "  } -> (b, c);\n"
      "}\n";
  mil_program *p = NULL;
  mr_error e = {0};
  int rc = parse_n(src, strlen(src), &p, &e);
  CHECK_MSG(rc == MR_OK, "%s", e.msg);
  if (!p) return;
  CHECK_EQ_INT(p->attrs[0].items[0].value->n_items, 0);
  const mil_value *k = p->attrs[1].items[0].value;
  CHECK_EQ_STR(k->items[0]->strs[0], "a\"b");
  CHECK_EQ_STR(k->items[1]->strs[0], "A\\\n");
  const mil_function *f = &p->funcs[0];
  CHECK_EQ_STR(f->opset, "ios99");
  CHECK_EQ_INT(f->n_params, 0);
  const mil_value *t = f->attrs[0].items[0].value;
  CHECK(t->n_items == 3 && t->items[0]->nums[0] == 7 && t->items[1]->nums[0] == 1.5e-3 &&
        t->items[2]->nums[0] == 1);
  const mil_value *a = arg_value(find_op(f, "a"), "val");
  CHECK(a->count == 6 && a->nums[0] == 1 && a->nums[1] == -2.5 && a->nums[2] == 3 &&
        isnan(a->nums[3]) && isnan(a->nums[4]) && isinf(a->nums[5]) && a->nums[5] < 0);
  const mil_value *m = arg_value(find_op(f, "m"), "val");
  CHECK(m->count == 4 && m->nums[0] == 1 && m->nums[1] == 0 && m->nums[3] == 1);
  CHECK_EQ_INT(arg_value(find_op(f, "z"), "val")->count, 0);
  CHECK(arg_value(find_op(f, "big"), "val")->nums[0] == 18446744073709551615.0);
  const mil_op *b = find_op(f, "b");
  CHECK_EQ_STR(b->opset, "ios17");
  const mil_arg *y = mil_op_arg(b, "y");
  CHECK(y->is_tuple && y->n_items == 2 && y->items[0].var && !y->items[1].var &&
        y->items[1].value->nums[0] == 0);
  const mil_op *c = find_op(f, "c");
  CHECK_EQ_INT(c->n_blocks, 2);
  CHECK(c->blocks[0].n_ops == 1 && c->blocks[1].n_ops == 0);
  CHECK_EQ_STR(c->blocks[0].outputs[0], "t");
  CHECK_EQ_STR(c->blocks[1].outputs[0], "a");
  CHECK_EQ_INT(f->body.n_outputs, 2);
  mil_program_free(p);
}

/* Hex floats (decoded by the parser itself) against strtod, and decimal floats, on random values:
 * fp16/fp32/fp64-like significands, all signs and a wide exponent range, incl. subnormals. */
static void test_float_decoding(void) {
  enum { N = 3000 };
  char *src = malloc(N * 64 + 256), txt[N][48];
  size_t n = (size_t)sprintf(src, "program(1.3) [a = tensor<fp64, [%d]>([", 2 * N);
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < N; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int digits = (int)(x % 14), ex = (int)((x >> 8) % 2200) - 1100;
    uint64_t frac = (x >> 20) & ((UINT64_C(1) << (4 * digits)) - 1);
    sprintf(txt[i], "%s0x%d.%0*llxp%+d", (x >> 63) ? "-" : "", (int)((x >> 5) & 1), digits,
            (unsigned long long)frac, ex);
    if (digits == 0) sprintf(txt[i], "%s0x%dp%+d", (x >> 63) ? "-" : "", (int)((x >> 5) & 1), ex);
    n += (size_t)sprintf(src + n, "%s%s, %.17g", i ? ", " : "", txt[i], strtod(txt[i], NULL));
  }
  n += (size_t)sprintf(src + n, "])] {}");
  mil_program *p = NULL;
  mr_error e = {0};
  CHECK_MSG(parse_n(src, n, &p, &e) == MR_OK, "%s", e.msg);
  int bad = 0;
  for (int i = 0; p && i < N; i++) {
    double want = strtod(txt[i], NULL), got = p->attrs[0].items[0].value->nums[2 * i];
    double dec = p->attrs[0].items[0].value->nums[2 * i + 1];
    if (memcmp(&want, &got, sizeof want) != 0 || dec != want) {
      if (bad++ < 5) fprintf(stderr, "  %s: got %a / %a, want %a\n", txt[i], got, dec, want);
    }
  }
  CHECK_EQ_INT(bad, 0);
  mil_program_free(p);
  free(src);
}

static void test_type_str(void) {
  const char *src =
      "program(1.3) { func f<ios18>(tensor<fp16, [1, ?, 64]> a, list<tensor<int32, [2]>, 5> b, "
      "tuple<int32, dict<string, list<bool, ?>>> c, state<tensor<bf16, []>> d, uint3 e, "
      "tensor<fp8e4m3fn, [2]> g) {} -> (); }";
  const char *want[] = {"tensor<fp16, [1, ?, 64]>", "list<tensor<int32, [2]>, 5>",
                        "tuple<int32, dict<string, list<bool, ?>>>", "state<bf16>", "uint3",
                        "tensor<fp8e4m3fn, [2]>"};
  mil_program *p = NULL;
  mr_error e = {0};
  CHECK_MSG(parse_n(src, strlen(src), &p, &e) == MR_OK, "%s", e.msg);
  if (!p) return;
  CHECK_EQ_INT(p->funcs[0].n_params, 6);
  for (int i = 0; i < 6 && i < p->funcs[0].n_params; i++) CHECK_EQ_STR(type_str(p->funcs[0].params[i].type), want[i]);
  char small[8];
  CHECK_EQ_STR(mil_type_str(p->funcs[0].params[0].type, small, sizeof small), "tensor<");
  for (int d = 0; d < MIL_DTYPE_COUNT; d++) {
    mil_dtype back;
    const char *nm = mil_dtype_name((mil_dtype)d);
    CHECK(mil_dtype_parse(nm, strlen(nm), &back) == 0 && back == (mil_dtype)d);
  }
  CHECK_EQ_INT(mil_dtype_bits(MIL_UINT6), 6);
  CHECK_EQ_INT(mil_dtype_bits(MIL_BOOL), 8);
  CHECK(mil_dtype_is_float(MIL_BF16) && !mil_dtype_is_float(MIL_INT4));
  mil_program_free(p);
}

/* ---- both scalar spellings give the same IR ------------------------------------------------ */

/* The IR of both spellings, compared by mil_program_equal (its versions differ by construction). */
static int same_program(const mil_program *a, mil_program *b) {
  const char *version = b->version;
  b->version = a->version;
  int same = mil_program_equal(a, b, NULL, 0);
  b->version = version;
  return same;
}

static int is_dtype_at(const char *s, size_t *len) {
  static const char *names[] = {"bool", "string", "fp16", "fp32", "fp64", "int8", "int16", "int32",
                                "int64", "uint4", "uint8", "uint16", "uint32", "uint64", "uint1",
                                "uint2", "uint3", "uint6", "int4", NULL};
  for (const char **n = names; *n; n++) {
    size_t k = strlen(*n);
    if (strncmp(s, *n, k) != 0) continue;
    char c = s[k];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      *len = k;
      return 1;
    }
  }
  return 0;
}

/* Rewrite between the spellings outside strings: to 1.3, "tensor<X, []>" -> "X"; to 1.0, a bare
 * dtype word not preceded by "tensor<" -> "tensor<X, []>". Also the program version. */
static char *respell(const char *in, int to13) {
  size_t n = strlen(in);
  char *out = malloc(n * 3 + 16), *o = out;
  int in_str = 0;
  for (size_t i = 0; i < n;) {
    char c = in[i];
    size_t k;
    if (in_str) {
      *o++ = c;
      if (c == '\\') *o++ = in[++i];
      else if (c == '"') in_str = 0;
      i++;
    } else if (c == '"') {
      in_str = 1;
      *o++ = in[i++];
    } else if (c == '#') {
      while (i < n && in[i] != '\n') *o++ = in[i++];
    } else if (!strncmp(in + i, "program(1.", 10)) {
      o += sprintf(o, "program(%s)", to13 ? "1.3" : "1.0");
      i += 12;
    } else if (to13 && !strncmp(in + i, "tensor<", 7) && is_dtype_at(in + i + 7, &k) &&
               !strncmp(in + i + 7 + k, ", []>", 5)) {
      memcpy(o, in + i + 7, k);
      o += k;
      i += 7 + k + 5;
    } else if (!to13 && (i == 0 || !(in[i - 1] == '_' || (in[i - 1] | 32) >= 'a')) &&
               is_dtype_at(in + i, &k) && !(i >= 7 && !strncmp(in + i - 7, "tensor<", 7))) {
      o += sprintf(o, "tensor<%.*s, []>", (int)k, in + i);
      i += k;
    } else {
      *o++ = in[i++];
    }
  }
  *o = 0;
  return out;
}

static void test_both_spellings(void) {
  const char *files[] = {"mil/add_model_ios16.mil", "mil/silero_vad_palette4bit_ios16.mil",
                         "mil/parakeet_streaming_encoder_ios17_excerpt.mil",
                         "mil/SYNTHETIC_stateful_multifunction_lut18.mil",
                         "mil/multifunction_relu_ios18.mil", "mil/constexpr_affine_ios17.mil", NULL};
  for (const char **f = files; *f; f++) {
    size_t n;
    char *text = slurp(th_fixture(*f), &n);
    if (!text) continue;
    char *v13 = respell(text, 1), *v10 = respell(text, 0);
    CHECK(strcmp(v13, v10) != 0);
    mil_program *a = NULL, *b = NULL;
    mr_error e = {0};
    CHECK_MSG(parse_n(v13, strlen(v13), &a, &e) == MR_OK, "%s 1.3: %s", *f, e.msg);
    CHECK_MSG(parse_n(v10, strlen(v10), &b, &e) == MR_OK, "%s 1.0: %s", *f, e.msg);
    if (a && b) {
      CHECK_MSG(same_program(a, b), "%s: the two spellings differ", *f);
      CHECK_EQ_STR(a->version, "1.3");
      CHECK_EQ_STR(b->version, "1.0");
    }
    /* The comparison itself must be able to fail: a changed literal is detected. */
    char *bad = strstr(v13, "(2") ? v13 : NULL;
    if (bad && a) {
      mil_program *c = NULL;
      char *p2 = strstr(v13, "(2");
      p2[1] = '3';
      if (parse_n(v13, strlen(v13), &c, &e) == MR_OK) CHECK(!same_program(a, c));
      mil_program_free(c);
    }
    mil_program_free(a);
    mil_program_free(b);
    free(v13);
    free(v10);
    free(text);
  }
}

/* ---- errors ------------------------------------------------------------------------------- */

typedef struct err_case {
  const char *src, *msg;
} err_case;

#define HDR "program(1.3)\n{\n  func main<ios18>(tensor<fp32, [4]> x) {\n"
#define FTR "  } -> (y);\n}\n"

static const err_case err_cases[] = {
    {"", "t.mil:1:1: expected 'program', found end of file"},
    {"program(1.0) {", "t.mil:1:15: expected 'func' or '}', found end of file (to close '{' at 1:14)"},
    {"program(1.0) {}\nx", "t.mil:2:1: expected end of file, found 'x'"},
    {"program(1.0 {}", "t.mil:1:13: expected ')', found '{' (to close '(' at 1:8)"},
    {HDR "    tensor<fp32, [4]> y = relu(x = x;\n" FTR,
     "t.mil:4:37: expected ',' or ')', found ';' (to close '(' at 4:31)"},
    {HDR "    tensor<fp32, [4]> y = relu(x = x)[name = string(\"y\");\n" FTR,
     "t.mil:4:57: expected ',' or ']', found ';' (to close '[' at 4:38)"},
    {HDR "    tensor<fp32, [4]> y = relu(x = x)\n" FTR, "t.mil:5:3: expected ';', found '}'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = x);\n", "t.mil:5:1: expected a statement or '}', found end of file (to close '{' at 3:41)"},
    {HDR "    tensor<fp32, [4]> y = relu(x = x);\n  } (y);\n}\n", "t.mil:5:5: expected '->', found '('"},
    {HDR "    tensor<fp32, [4 y = relu(x = x);\n" FTR, "t.mil:4:21: expected ',' or ']', found 'y' (to close '[' at 4:18)"},
    {HDR "    tensor<fp32, [4]> y = relu(x = $);\n" FTR, "t.mil:4:36: unexpected character '$'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = 12ab);\n" FTR, "t.mil:4:36: malformed number '12ab'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = fp32(0x));\n" FTR, "t.mil:4:41: malformed number '0x'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = fp32(-infinity));\n" FTR, "t.mil:4:41: malformed number '-infinity'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = string(\"abc));\n" FTR, "t.mil:4:43: unterminated string '\"abc));'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = string(\"a\\qb\"));\n" FTR, "t.mil:4:45: invalid escape in string '\\q'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = string(\"a\\x00\"));\n" FTR, "t.mil:4:45: invalid escape in string '\\x'"},
    {HDR "    tensor<fp16, [2, 3]> y = const()[val = tensor<fp16, [2, 3]>([[1, 2, 3], [4, 5]])];\n" FTR,
     "t.mil:4:65: literal has 5 elements, type tensor<fp16, [2, 3]> needs 6"},
    {HDR "    tensor<fp16, [2]> y = const()[val = tensor<fp16, [2]>([1, 2, 3])];\n" FTR,
     "t.mil:4:59: literal has 3 elements, type tensor<fp16, [2]> needs 2"},
    {HDR "    tensor<fp16, []> y = const()[val = tensor<fp16, []>([])];\n" FTR,
     "t.mil:4:57: literal has 0 elements, type fp16 needs 1"},
    {HDR "    tensor<fp17, [4]> y = relu(x = x);\n" FTR, "t.mil:4:12: unknown dtype 'fp17'"},
    {HDR "    fp17 y = relu(x = x);\n" FTR, "t.mil:4:5: unknown type 'fp17'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = tensor<int99, [1]>([1]));\n" FTR, "t.mil:4:43: unknown dtype 'int99'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = uint8(256));\n" FTR, "t.mil:4:42: integer '256' out of range for uint8"},
    {HDR "    tensor<fp32, [4]> y = relu(x = int8(-129));\n" FTR, "t.mil:4:41: integer '-129' out of range for int8"},
    {HDR "    tensor<fp32, [4]> y = relu(x = uint64(18446744073709551616));\n" FTR,
     "t.mil:4:43: integer '18446744073709551616' out of range for uint64"},
    {HDR "    tensor<fp32, [4]> y = relu(x = int32(1.5));\n" FTR, "t.mil:4:42: expected an integer for int32, found '1.5'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = bool(1));\n" FTR, "t.mil:4:41: expected true or false, found '1'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = fp16(\"a\"));\n" FTR, "t.mil:4:41: expected a number for fp16, found '\"a\"'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = string(1));\n" FTR, "t.mil:4:43: expected a string, found '1'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = 5);\n" FTR, "t.mil:4:36: expected a name or a typed value, found '5'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = tuple<int32, int32>((1)));\n" FTR,
     "t.mil:4:56: literal has 1 item, type tuple<int32, int32> needs 2"},
    {HDR "    tensor<fp32, [4]> y = relu(x = tuple<int32>((1, 2)));\n" FTR,
     "t.mil:4:53: too many items in literal of type tuple<int32>"},
    {HDR "    tensor<fp32, [4]> y = relu(x = list<int32, 3>([1, 2]));\n" FTR,
     "t.mil:4:51: literal has 2 items, type list<int32, 3> needs 3"},
    {HDR "    tensor<fp32, [4]> y = relu(x = dict<string, int32>({{\"a\" 1}}));\n" FTR,
     "t.mil:4:62: expected ',', found '1'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = state<tensor<fp16, [1]>>(1));\n" FTR,
     "t.mil:4:61: a state type has no literal value"},
    {HDR "    tensor<fp32, [4]> y = relu(x = state<list<int32, 1>>(1));\n" FTR, "t.mil:4:36: state<...> must hold a tensor type"},
    {HDR "    tensor<fp32, [-4]> y = relu(x = x);\n" FTR, "t.mil:4:19: invalid dimension '-4'"},
    {HDR "    tensor<fp32, [4294967296, 4294967296]> y = relu(x = x);\n" FTR, "t.mil:4:5: tensor type has too many elements"},
    {HDR "    tensor<fp32, [4]> y = const()[val = tensor<fp32, [4]>(BLOBFILE(path = string(\"w\"), offset = fp32(1)))];\n" FTR,
     "t.mil:4:97: BLOBFILE offset must be an integer"},
    {HDR "    tensor<fp32, [4]> y = const()[val = tensor<fp32, [4]>(BLOBFILE(path = int32(1), offset = uint64(1)))];\n" FTR,
     "t.mil:4:75: BLOBFILE path must be a string"},
    {HDR "    tensor<fp32, [4]> y = const()[val = tensor<fp32, [4]>(BLOBFILE(offset = uint64(1)))];\n" FTR,
     "t.mil:4:68: expected 'path', found 'offset'"},
    {HDR "    tensor<fp32, [4]> y = const()[val = tensor<fp32, [4]>(BLOBFILE(path = string(\"w\"), offset = uint64(-1)))];\n" FTR,
     "t.mil:4:104: invalid BLOBFILE offset '-1'"},
    {HDR "    tensor<fp32, [4]> y = const()[val = list<fp32, 1>(BLOBFILE(path = string(\"w\"), offset = uint64(1)))];\n" FTR,
     "t.mil:4:41: BLOBFILE needs a tensor type, not list<fp32, 1>"},
    {HDR "    tensor<fp32, [4]> y = relu(x = x, z = ((x)));\n" FTR, "t.mil:4:44: expected a name or a typed value, found '('"},
    {HDR "    tensor<fp32, [4]> y, = relu(x = x);\n" FTR, "t.mil:4:26: expected a type, found '='"},
    {HDR "    tensor<fp32, [4]> y z = relu(x = x);\n" FTR, "t.mil:4:25: expected ',' or '=', found 'z'"},
    {"program(1.0) { func main<ios16>(tensor<fp32, [4]> x) {} -> (x) }", "t.mil:1:64: expected ';', found '}'"},
    {"program(1.0)\n\x01", "t.mil:2:1: unexpected character '\\x01'"},
    {"program(1.0) { fn }", "t.mil:1:16: expected 'func' or '}', found 'fn' (to close '{' at 1:14)"},
    {"program(\"1.0\") {}", "t.mil:1:9: expected a version number, found '\"1.0\"'"},
    {"program(1.0) { func main<ios16>(tensor<fp32, [4]> x) {} -> (x, 1); }", "t.mil:1:64: expected an output name, found '1'"},
    {"program(1.0) { func main<\"ios\">() {} -> (); }", "t.mil:1:26: expected an opset name, found '\"ios\"'"},
    {"program(1.0) { func main<ios16>(tensor<fp32, [4]> x) { y = relu(x = x); } -> (x); }",
     "t.mil:1:58: expected '(', found '='"},
    {"program(1.0) { func main<ios16>(tensor<fp32, [4]> x) { relu<>(x = x); } -> (x); }",
     "t.mil:1:61: expected an opset name, found '>'"},
    {"program(1.0) { func main<ios16>(tensor<fp32, [4]> x) { relu(1 = x); } -> (x); }",
     "t.mil:1:61: expected a parameter name, found '1'"},
    {HDR "    tensor<fp32, [4]> y = relu(x = a_very_long_variable_name_that_goes_on_and_on_and_on 1);\n" FTR,
     "t.mil:4:89: expected ',' or ')', found '1' (to close '(' at 4:31)"},
    {HDR "    tensor<fp32, [4]> y = relu(x = x) [name = string(\"y\")] q;\n" FTR, "t.mil:4:60: expected ';', found 'q'"},
    {HDR "    a_very_long_variable_name_that_goes_on_and_on_and_on x = relu(x = x);\n" FTR,
     "t.mil:4:5: unknown type 'a_very_long_variable_name_that_goes_on_a...'"},
    {"program(1.0)\n\x01", "t.mil:2:1: unexpected character '\\x01'"},
    {"program(1.0)\n\xc3\xa9", "t.mil:2:1: unexpected character '\\xc3'"},
    {NULL, NULL},
};

static void test_error_messages(void) {
  for (const err_case *c = err_cases; c->src; c++) {
    mil_program *p = (mil_program *)1;
    mr_error e = {0};
    int rc = parse_n(c->src, strlen(c->src), &p, &e);
    CHECK_EQ_INT(rc, MR_EFORMAT);
    CHECK(p == NULL);
    CHECK_EQ_STR(e.msg, c->msg);
  }
}

/* A NUL byte inside the buffer is a bad character, not the end; a several-hundred-KB line keeps
 * exact columns; an over-long number is refused. */
static void test_long_lines_and_nul(void) {
  const char nul[] = "program(1.3) {\0}";
  mil_program *p = NULL;
  mr_error e = {0};
  CHECK_EQ_INT(parse_n(nul, sizeof nul - 1, &p, &e), MR_EFORMAT);
  CHECK_EQ_STR(e.msg, "t.mil:1:15: unexpected character '\\x00'");
  const char nul2[] = "program(1.3) [a = string(\"x\0y\")] {}";
  CHECK_EQ_INT(parse_n(nul2, sizeof nul2 - 1, &p, &e), MR_EFORMAT);
  CHECK_EQ_STR(e.msg, "t.mil:1:28: NUL byte in string '\\x00'");
  enum { N = 100000 };
  char *s = malloc(N * 8 + 256);
  size_t n = (size_t)sprintf(s, "program(1.3) [a = tensor<int32, [%d]>([", N);
  for (int i = 0; i < N; i++) n += (size_t)sprintf(s + n, "%s%d", i ? ", " : "", i - N / 2);
  size_t n0 = n;
  n += (size_t)sprintf(s + n, "]), x] {}");
  CHECK_EQ_INT(parse_n(s, n, &p, &e), MR_EFORMAT);
  char want[128];
  /* s[n0 + 5] is the ']' after x: column n0 + 6 */
  snprintf(want, sizeof want, "t.mil:1:%zu: expected '=', found ']'", n0 + 6);
  CHECK_EQ_STR(e.msg, want);
  n = n0 + (size_t)sprintf(s + n0, "])] {}");
  CHECK_MSG(parse_n(s, n, &p, &e) == MR_OK, "%s", e.msg);
  if (p) {
    const mil_value *v = p->attrs[0].items[0].value;
    CHECK(v->count == N && v->nums[0] == -N / 2 && v->nums[N - 1] == N / 2 - 1);
  }
  mil_program_free(p);
  n = (size_t)sprintf(s, "program(1.3) [a = fp32(0.");
  for (int i = 0; i < 600; i++) s[n++] = '1';
  n += (size_t)sprintf(s + n, ")] {}");
  CHECK_EQ_INT(parse_n(s, n, &p, &e), MR_EFORMAT);
  CHECK_EQ_STR(e.msg, "t.mil:1:24: number too long (602 characters)");
  free(s);
}

/* Deep nesting of every recursive construct stops at 64 levels with a message, not the stack. */
static void test_nesting_limit(void) {
  enum { DEEP = 100000 };
  char *s = malloc(DEEP * 8 + 256);
  const char *pre[] = {"program(1.0) { func f<ios16>(", "program(1.3) [a = tensor<int32, [1]>(",
                       "program(1.3) [a = list<", "program(1.3) { func f<ios16>(",
                       "program(1.3) { func f<ios16>() { r() "};
  const char *rep[] = {"tuple<", "[", "list<", "state<", "{ r() "};
  const char *want[] = {"t.mil:1:414: nesting deeper than 64 levels", "t.mil:1:101: nesting deeper than 64 levels",
                        "t.mil:1:339: nesting deeper than 64 levels", "t.mil:1:414: nesting deeper than 64 levels",
                        "t.mil:1:422: nesting deeper than 64 levels"};
  for (int k = 0; k < 5; k++) {
    size_t n = (size_t)sprintf(s, "%s", pre[k]);
    for (int i = 0; i < DEEP; i++) n += (size_t)sprintf(s + n, "%s", rep[k]);
    mil_program *p = NULL;
    mr_error e = {0};
    CHECK_EQ_INT(parse_n(s, n, &p, &e), MR_EFORMAT);
    CHECK_EQ_STR(e.msg, want[k]);
  }
  /* 64 levels are still fine: a rank-64 literal in a list<...> of depth 1. */
  size_t n = (size_t)sprintf(s, "program(1.3) [a = tensor<int32, [?]>(");
  for (int i = 0; i < 62; i++) n += (size_t)sprintf(s + n, "[");
  n += (size_t)sprintf(s + n, "7");
  for (int i = 0; i < 62; i++) n += (size_t)sprintf(s + n, "]");
  n += (size_t)sprintf(s + n, ")] {}");
  mil_program *p = NULL;
  mr_error e = {0};
  CHECK_MSG(parse_n(s, n, &p, &e) == MR_OK, "%s", e.msg);
  if (p) CHECK(p->attrs[0].items[0].value->count == 1 && p->attrs[0].items[0].value->nums[0] == 7);
  mil_program_free(p);
  free(s);
}

/* Every truncation of a sample is an error (never a crash or success), until only whitespace is
 * left out. Cuts at a few places get their whole message checked. */
static void test_truncation(void) {
  const char *files[] = {"mil/SYNTHETIC_stateful_multifunction_lut18.mil", "mil/add_model_ios16.mil",
                         "mil/multifunction_relu_ios18.mil", NULL};
  for (const char **f = files; *f; f++) {
    size_t n;
    char *text = slurp(th_fixture(*f), &n);
    if (!text) continue;
    size_t last = n;
    while (last > 0 && (text[last - 1] == '\n' || text[last - 1] == ' ')) last--;
    int bad = 0;
    for (size_t cut = 0; cut <= n; cut++) {
      mil_program *p = NULL;
      mr_error e = {0};
      int rc = parse_n(text, cut, &p, &e);
      int want_ok = cut >= last;
      if ((rc == MR_OK) != want_ok || (!want_ok && strncmp(e.msg, "t.mil:", 6) != 0)) {
        if (bad++ < 3) fprintf(stderr, "  %s cut %zu: rc %d %s\n", *f, cut, rc, e.msg);
      }
      mil_program_free(p);
    }
    CHECK_EQ_INT(bad, 0);
    free(text);
  }
  const char *src = "program(1.3)\n[buildInfo = dict<string, string>({{\"a\", \"b\"}})]\n{\n";
  /* Cut right after the first occurrence of `after` (NULL: the whole text). */
  const struct {
    const char *after, *msg;
  } cuts[] = {
      {"program", "t.mil:1:8: expected '(', found end of file"},
      {"[buildInfo", "t.mil:2:11: expected '=', found end of file"},
      {"dict", "t.mil:2:18: expected ',' or ']', found end of file (to close '[' at 2:1)"}, /* a variable */
      {"dict<", "t.mil:2:19: expected a type, found end of file"},
      {"dict<string", "t.mil:2:25: expected ',', found end of file"},
      {"dict<string, string", "t.mil:2:33: expected '>', found end of file (to close '<' at 2:18)"},
      {"({{\"a", "t.mil:2:37: unterminated string '\"a'"},
      {"({{\"a\"", "t.mil:2:40: expected ',', found end of file"},
      {"\"b\"", "t.mil:2:45: expected '}', found end of file (to close '{' at 2:36)"},
      {"\"b\"}", "t.mil:2:46: expected ',' or '}', found end of file (to close '{' at 2:35)"},
      {"\"b\"}}", "t.mil:2:47: expected ')', found end of file (to close '(' at 2:34)"},
      {"\"b\"}})", "t.mil:2:48: expected ',' or ']', found end of file (to close '[' at 2:1)"},
      {"]", "t.mil:2:49: expected '{', found end of file"},
      {NULL, "t.mil:4:1: expected 'func' or '}', found end of file (to close '{' at 3:1)"},
  };
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    size_t cut = cuts[i].after ? (size_t)(strstr(src, cuts[i].after) - src) + strlen(cuts[i].after) : strlen(src);
    mil_program *p = NULL;
    mr_error e = {0};
    CHECK_EQ_INT(parse_n(src, cut, &p, &e), MR_EFORMAT);
    CHECK_EQ_STR(e.msg, cuts[i].msg);
  }
}

/* Out of memory at every allocation of a parse is an error with a message, and leaks nothing. */
static void test_out_of_memory(void) {
  size_t n;
  char *text = slurp(th_fixture("mil/SYNTHETIC_stateful_multifunction_lut18.mil"), &n);
  if (!text) return;
  int ok = 0, nomem = 0;
  for (long k = 0; k < 100000 && !ok; k++) {
    mil_program *p = NULL;
    mr_error e = {0};
    util_alloc_fail_after(k);
    int rc = mil_parse(text, n, "t.mil", &p, &e);
    util_alloc_fail_after(-1);
    if (rc == MR_OK) ok = 1;
    else {
      nomem++;
      CHECK_EQ_INT(rc, MR_ENOMEM);
      CHECK_EQ_STR(e.msg, "out of memory (t.mil)");
      CHECK(p == NULL);
    }
    mil_program_free(p);
  }
  CHECK(ok && nomem >= 2);
  free(text);
}

/* mil_parse_file: a missing file, an empty file (errors name the path), a small valid one. */
static void test_parse_file(void) {
  mil_program *p = (mil_program *)1;
  mr_error e = {0};
  char path[512], want[1024];
  snprintf(path, sizeof path, "%s/none.mil", th_tmpdir());
  CHECK_EQ_INT(mil_parse_file(path, &p, &e), MR_ENOTFOUND);
  CHECK(p == NULL);
  snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
  CHECK_EQ_STR(e.msg, want);
  snprintf(path, sizeof path, "%s/empty.mil", th_tmpdir());
  FILE *f = fopen(path, "wb");
  fclose(f);
  CHECK_EQ_INT(mil_parse_file(path, &p, &e), MR_EFORMAT);
  snprintf(want, sizeof want, "%s:1:1: expected 'program', found end of file", path);
  CHECK_EQ_STR(e.msg, want);
  snprintf(path, sizeof path, "%s/small.mil", th_tmpdir());
  f = fopen(path, "wb");
  fputs("program(1.3) {}", f);
  fclose(f);
  CHECK_EQ_INT(mil_parse_file(path, &p, &e), MR_OK);
  CHECK(p && p->n_funcs == 0 && strcmp(p->filename, path) == 0);
  mil_program_free(p);
  mil_program_free(NULL);
}

/* ---- speed ------------------------------------------------------------------------------- */

/* A synthetic ~10 MB model.mil shaped like a converted LLM: BLOBFILE consts, constexpr LUT ops,
 * linear/add/concat ops with names, and long inline fp16 literals. Prints MB/s. */
static void test_speed_10mb(void) {
  size_t cap = 11u << 20, n = 0;
  char *s = malloc(cap + 4096);
  n += (size_t)sprintf(s + n, "program(1.3)\n[buildInfo = dict<string, string>({{\"k\", \"v\"}})]\n{\n"
                              "    func main<ios18>(tensor<fp16, [1, 1, 1024]> x) {\n");
  int ops = 0;
  for (int i = 0; n < cap - (64u << 10); i++) {
    n += (size_t)sprintf(s + n,
                         "            tensor<fp16, [1024, 1024]> w_%d = constexpr_lut_to_dense(indices = "
                         "tensor<uint4, [1024, 1024]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), "
                         "offset = uint64(%lld))), lut = tensor<fp16, [64, 1, 16, 1]>(BLOBFILE(path = "
                         "string(\"@model_path/weights/weight.bin\"), offset = uint64(%lld))))[name = string(\"w_%d\")];\n",
                         i, 64 + i * 524416LL, 128 + i * 524416LL, i);
    n += (size_t)sprintf(s + n,
                         "            tensor<fp16, [1, 1, 1024]> h_%d = linear(weight = w_%d, x = x)[name = "
                         "string(\"linear_%d_cast_fp16\")];\n",
                         i, i, i);
    n += (size_t)sprintf(s + n, "            tensor<fp16, [64]> c_%d = const()[name = string(\"c_%d\"), val = "
                                "tensor<fp16, [64]>([", i, i);
    for (int k = 0; k < 64; k++) n += (size_t)sprintf(s + n, "%s-0x1.%03xp-%d", k ? ", " : "", (k * 37) & 0xfff, k % 15);
    n += (size_t)sprintf(s + n, "])];\n");
    n += (size_t)sprintf(s + n,
                         "            tensor<int32, [4]> s_%d = concat(axis = int32(0), interleave = bool(false), "
                         "values = (h_%d, c_%d, x))[name = string(\"s_%d\")];\n",
                         i, i, i, i);
    ops += 4;
  }
  n += (size_t)sprintf(s + n, "        } -> (x);\n}\n");
  mil_program *p = NULL;
  mr_error e = {0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = mil_parse(s, n, "big.mil", &p, &e);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  CHECK_MSG(rc == MR_OK, "%s", e.msg);
  if (p) {
    CHECK_EQ_INT(p->funcs[0].body.n_ops, ops);
    fprintf(stderr, "  parsed %.1f MB (%d ops) in %.3f s: %.1f MB/s, arena %.1f MB\n", (double)n / 1e6, ops,
            sec, (double)n / 1e6 / sec, (double)p->arena.used_total / 1e6);
  }
  mil_program_free(p);
  free(s);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"all_samples", test_all_samples},
      {"add_model", test_add_model},
      {"multifunction", test_multifunction},
      {"constexpr_affine", test_constexpr_affine},
      {"fp16_hexfloats", test_fp16_hexfloats},
      {"inline_literal", test_inline_literal},
      {"stateful", test_stateful},
      {"multi_output_and_specials", test_multi_output_and_specials},
      {"literal_forms", test_literal_forms},
      {"float_decoding", test_float_decoding},
      {"type_str", test_type_str},
      {"both_spellings", test_both_spellings},
      {"error_messages", test_error_messages},
      {"long_lines_and_nul", test_long_lines_and_nul},
      {"nesting_limit", test_nesting_limit},
      {"truncation", test_truncation},
      {"out_of_memory", test_out_of_memory},
      {"parse_file", test_parse_file},
      {"speed_10mb", test_speed_10mb},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
