/* test_llm_meta.c — meta.yaml as Anemll writes it (docs/anemll.md §1.3-§1.4: the published
 * LUT888 Qwen3 bundle's keys) and each malformed-file error with its whole message. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "llm/model.h"
#include "util/file.h"

static const char *write_yaml(const char *name, const char *text) {
  static char path[600];
  snprintf(path, sizeof path, "%s/%s.yaml", th_tmpdir(), name);
  mr_error err = {0};
  util_write_file_atomic(path, text, strlen(text), &err);
  return path;
}

static void test_anemll_lut888(void) {
  const char *p = write_yaml("lut888",
                             "model_info:\n  name: anemll-Qwen-Qwen3-0.6B-ctx512\n  version: 0.3.4\n  description: |\n"
                             "    Demonstarates running Qwen3\n  license: MIT\n  author: Anemll\n  framework: Core ML\n"
                             "  language: Python\n  architecture: qwen3\n  parameters:\n    context_length: 512\n"
                             "    batch_size: 64\n    lut_embeddings: none\n    lut_ffn: 8\n    lut_lmhead: 8\n"
                             "    num_chunks: 1\n    model_prefix: qwen\n    embeddings: qwen_embeddings.mlmodelc\n"
                             "    lm_head: qwen_lm_head_lut8.mlmodelc\n    ffn: qwen_FFN_PF_lut8.mlmodelc\n"
                             "    split_lm_head: 16\n");
  llm_meta m;
  mr_error err = {0};
  CHECK_EQ_INT(llm_meta_read(p, &m, &err), MR_OK);
  CHECK_EQ_INT(m.context, 512);
  CHECK_EQ_INT(m.batch, 64);
  CHECK_EQ_INT(m.chunks, 1);
  CHECK_EQ_INT(m.split_lm_head, 16);
  CHECK_EQ_INT(m.argmax_in_model, 0);
  CHECK_EQ_STR(m.prefix, "qwen");
  CHECK_EQ_STR(m.architecture, "qwen3");
  CHECK_EQ_STR(m.version, "0.3.4");
  CHECK_EQ_STR(m.lut_embeddings, "none");
  CHECK_EQ_STR(m.lut_ffn, "8");
  CHECK_EQ_STR(m.lut_lmhead, "8");
  /* legacy num_logits and defaults for missing keys (chat.py: batch 64, chunks 1) */
  p = write_yaml("legacy", "model_info:\n  parameters:\n    context_length: 256\n    model_prefix: llama\n    num_logits: 8\n"
                           "    argmax_in_model: true\n");
  CHECK_EQ_INT(llm_meta_read(p, &m, &err), MR_OK);
  CHECK_EQ_INT(m.split_lm_head, 8);
  CHECK_EQ_INT(m.batch, 64);
  CHECK_EQ_INT(m.argmax_in_model, 1);
  CHECK_EQ_STR(m.lut_ffn, "none");
}

static void bad(const char *name, const char *text, int code, const char *msg_fmt) {
  const char *p = write_yaml(name, text);
  char want[800];
  snprintf(want, sizeof want, msg_fmt, p);
  llm_meta m;
  mr_error err = {0};
  CHECK_EQ_INT(llm_meta_read(p, &m, &err), code);
  CHECK_EQ_STR(err.msg, want);
}

static void test_errors(void) {
  bad("noparams", "model_info:\n  name: x\n", MR_EFORMAT, "%s: no model_info.parameters mapping");
  bad("noctx", "model_info:\n  parameters:\n    model_prefix: qwen\n", MR_EFORMAT,
      "%s: missing model_info.parameters.context_length");
  bad("badint", "model_info:\n  parameters:\n    context_length: many\n    model_prefix: qwen\n", MR_EFORMAT,
      "%s: model_info.parameters.context_length must be a positive integer, got 'many'");
  bad("noprefix", "model_info:\n  parameters:\n    context_length: 512\n", MR_EFORMAT,
      "%s: missing model_info.parameters.model_prefix");
  bad("yaml", "model_info:\n  parameters: [1, 2\n", MR_EFORMAT, "%s:3:1: did not find expected ',' or ']'");
  llm_meta m;
  mr_error err = {0};
  CHECK_EQ_INT(llm_meta_read("/nonexistent/meta.yaml", &m, &err), MR_ENOTFOUND);
  CHECK_EQ_STR(err.msg, "/nonexistent/meta.yaml: cannot open (an Anemll bundle needs meta.yaml)");
}

/* Every scalar entry as written, in file order; nested mappings are not scalars; a missing section
 * is empty. */
static void test_pairs(void) {
  const char *p = write_yaml("pairs", "model_info:\n  name: tiny\n  description: |\n    line 1\n    line 2\n"
                                      "  parameters:\n    context_length: 512\n    extra: {a: 1}\n    custom_key: x y\n");
  llm_meta_pair *v;
  int n;
  mr_error err = {0};
  CHECK_EQ_INT(llm_meta_pairs(p, 0, &v, &n, &err), MR_OK);
  CHECK_EQ_INT(n, 2);
  if (n == 2) {
    CHECK_EQ_STR(v[0].key, "name");
    CHECK_EQ_STR(v[0].value, "tiny");
    CHECK_EQ_STR(v[1].key, "description");
    CHECK_EQ_STR(v[1].value, "line 1\nline 2\n");
  }
  llm_meta_pairs_free(v, n);
  CHECK_EQ_INT(llm_meta_pairs(p, 1, &v, &n, &err), MR_OK);
  CHECK_EQ_INT(n, 2);
  if (n == 2) {
    CHECK_EQ_STR(v[0].key, "context_length");
    CHECK_EQ_STR(v[0].value, "512");
    CHECK_EQ_STR(v[1].key, "custom_key");
    CHECK_EQ_STR(v[1].value, "x y");
  }
  llm_meta_pairs_free(v, n);
  p = write_yaml("noparams", "other: 1\n");
  CHECK_EQ_INT(llm_meta_pairs(p, 1, &v, &n, &err), MR_OK);
  CHECK_EQ_INT(n, 0);
  llm_meta_pairs_free(v, n);
  CHECK_EQ_INT(llm_meta_pairs("/nonexistent/meta.yaml", 1, &v, &n, &err), MR_ENOTFOUND);
  CHECK(v == NULL);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"anemll_lut888", test_anemll_lut888}, {"errors", test_errors}, {"pairs", test_pairs}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
