/* test_mil_print.c — the model.mil printer (mil/print.c) and the IR comparison (mil/equal.c) on
 * every model.mil fixture: print(parse(f)) parses to a program equal to parse(f) and prints the same
 * text again (a fixed point); for files written by Apple's compiler the printed text is the file
 * itself without its '#' comment lines (the printer's canonical form is the compiler's layout).
 * The comparison is checked to see differences: a changed offset, dim, name or number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mil/ir.h"
#include "mil/print.h"
#include "util/alloc.h"
#include "util/file.h"

/* The model.mil fixtures; `apple` marks compiler output (everything but the hand-written ones). */
static const struct {
  const char *rel;
  int apple;
} fixtures[] = {
    {"mil/SYNTHETIC_stateful_multifunction_lut18.mil", 0},
    {"mil/add_model_ios16.mil", 1},
    {"mil/constexpr_affine_ios17.mil", 1},
    {"mil/fp16_hexfloat_cast_ios17.mil", 1},
    {"mil/inline_literal_arg_ios17.mil", 1},
    {"mil/multifunction_relu_ios18.mil", 1},
    {"mil/parakeet_streaming_encoder_ios17_excerpt.mil", 1},
    {"mil/silero_vad_palette4bit_ios16.mil", 1},
    {"stateful/model.mil", 0},
    {"hub/repo/models/vad.mlmodelc/model.mil", 1},
    {"silero-vad/silero-vad-unified-v6.0.0.mlmodelc/model.mil", 1},
    {"silero-vad/unified_int8.mlmodelc/model.mil", 1},
    {"silero-vad/unified_mixed.mlmodelc/model.mil", 1},
    {"silero-vad/unified_palette_2bit.mlmodelc/model.mil", 1},
    {"silero-vad/unified_palette_4bit.mlmodelc/model.mil", 1},
    {"silero-vad/unified_palette_6bit.mlmodelc/model.mil", 1},
    {"silero-vad/unified_palette_8bit.mlmodelc/model.mil", 1},
};

static char *print_text(const mil_program *p) {
  util_sb sb = {0};
  mil_print(p, &sb);
  CHECK(!util_sb_failed(&sb));
  return util_sb_take(&sb);
}

/* The text without '#' comment lines and without a final newline. */
static char *strip_comments(const char *text, size_t n) {
  char *out = mr_alloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    const char *nl = memchr(text + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - text) + 1 : n;
    if (text[i] != '#') {
      memcpy(out + o, text + i, end - i);
      o += end - i;
    }
    i = end;
  }
  while (o && out[o - 1] == '\n') o--;
  out[o] = 0;
  return out;
}

static void check_round_trip(const char *rel, int apple) {
  mr_error e = {0};
  char *text;
  size_t n;
  if (util_read_file(th_fixture(rel), &text, &n, &e)) {
    CHECK_MSG(0, "%s", e.msg);
    return;
  }
  mil_program *p = NULL, *q = NULL;
  if (mil_parse(text, n, rel, &p, &e)) {
    CHECK_MSG(0, "%s", e.msg);
    mr_free(text);
    return;
  }
  char *t1 = print_text(p);
  CHECK_MSG(mil_parse(t1, strlen(t1), "printed", &q, &e) == MR_OK, "%s: %s", rel, e.msg);
  char why[512];
  if (q) {
    CHECK_MSG(mil_program_equal(p, q, why, sizeof why), "%s: %s", rel, why);
    char *t2 = print_text(q);
    CHECK_MSG(strcmp(t1, t2) == 0, "%s: print -> parse -> print is not a fixed point", rel);
    mr_free(t2);
  }
  if (apple) {
    char *src = strip_comments(text, n);
    CHECK_MSG(strcmp(src, t1) == 0, "%s: printed text differs from the compiler's", rel);
    mr_free(src);
  }
  mr_free(t1);
  mr_free(text);
  mil_program_free(p);
  mil_program_free(q);
}

static void test_fixtures_round_trip(void) {
  for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) check_round_trip(fixtures[i].rel, fixtures[i].apple);
}

/* One edit of the stateful sample's text must make the programs differ, with the path named. */
static void expect_differ(const char *from, const char *to, const char *want) {
  mr_error e = {0};
  char *text;
  size_t n;
  if (util_read_file(th_fixture("stateful/model.mil"), &text, &n, &e)) {
    CHECK_MSG(0, "%s", e.msg);
    return;
  }
  char *at = strstr(text, from);
  CHECK_MSG(at != NULL, "%s not in the sample", from);
  if (!at) {
    mr_free(text);
    return;
  }
  size_t nf = strlen(from), nt = strlen(to);
  char *edited = mr_alloc(n - nf + nt + 1);
  memcpy(edited, text, (size_t)(at - text));
  memcpy(edited + (at - text), to, nt);
  memcpy(edited + (at - text) + nt, at + nf, n - (size_t)(at - text) - nf);
  mil_program *a = NULL, *b = NULL;
  CHECK(mil_parse(text, n, "a", &a, &e) == MR_OK);
  CHECK_MSG(mil_parse(edited, n - nf + nt, "b", &b, &e) == MR_OK, "%s", e.msg);
  char why[512];
  if (a && b) {
    CHECK(!mil_program_equal(a, b, why, sizeof why));
    CHECK_EQ_STR(why, want);
  }
  mil_program_free(a);
  mil_program_free(b);
  mr_free(text);
  mr_free(edited);
}

static void test_equal_sees_differences(void) {
  expect_differ("offset = uint64(2176)", "offset = uint64(2240)", "func infer: op 0 (constexpr_lut_to_dense): argument lut, item 0 differs");
  expect_differ("tensor<int32, [4]>([1, 2, 1, 32])", "tensor<int32, [4]>([1, 2, 1, 31])", "func infer: op 2 (const): argument val, item 0 differs");
  expect_differ("tensor<fp16, [1, 1, 64]> hidden_states", "tensor<fp16, [1, 1, 63]> hidden_states", "func infer: parameters 1 (hidden_states) differs");
  expect_differ("-> (probs);", "-> (scores);", "func infer: block output 0 differs");
  expect_differ("func prefill<ios18>", "func prefill<ios17>", "func prefill: name or opset differs");
}

/* Values the fixtures do not hold: nested and flat literals, special floats, escapes, uint64. */
static void test_literals(void) {
  const char *src = "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [2, 2]> x) {\n"
                    "            tensor<fp32, [2, 2]> a = const()[name = string(\"a \\\"q\\\" \\\\ \\x01\"), "
                    "val = tensor<fp32, [2, 2]>([[-0x0p+0, inf], [-inf, -nan]])];\n"
                    "            tensor<uint64, [2]> b = const()[name = string(\"b\"), val = tensor<uint64, [2]>([18446744073709549568, 0])];\n"
                    "            tensor<bool, [?]> c = const()[name = string(\"c\"), val = tensor<bool, [?]>([true, false, true])];\n"
                    "            tuple<int32, list<string, ?>> d = const()[name = string(\"d\"), val = tuple<int32, list<string, ?>>((-7, [\"x\", \"y\"]))];\n"
                    "        } -> (a);\n}";
  mil_program *p = NULL, *q = NULL;
  mr_error e = {0};
  CHECK_MSG(mil_parse(src, strlen(src), "t", &p, &e) == MR_OK, "%s", e.msg);
  if (!p) return;
  char *t = print_text(p);
  CHECK_EQ_STR(t, src);
  CHECK_MSG(mil_parse(t, strlen(t), "t2", &q, &e) == MR_OK, "%s", e.msg);
  if (q) CHECK(mil_program_equal(p, q, NULL, 0));
  mr_free(t);
  mil_program_free(p);
  mil_program_free(q);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"fixtures_round_trip", test_fixtures_round_trip},
      {"equal_sees_differences", test_equal_sees_differences},
      {"literals", test_literals},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
