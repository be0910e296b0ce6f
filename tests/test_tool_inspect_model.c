/* test_tool_inspect_model.c — `milrun inspect MODEL_DIR` on a tiny Qwen3 converted at test time
 * (2 chunks, LUT4 per tensor on the FFN): every number of the report against a reference computed
 * here from the checkpoint's config.json, the tokenizer.json and the files on disk; then the same
 * directory broken one way at a time (a missing chunk, a chunk of another conversion, meta.yaml
 * contradicting the components, no tokenizer), each reported by name with exit status 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "util/alloc.h"
#include "util/file.h"

static char msg[1 << 20];

/* milrun ARGS; stdout (and stderr) into msg; the exit status. */
static int run(const char *args) { return th_milrun(args, msg, sizeof msg); }

static cJSON *read_json(const char *path) {
  char *text;
  size_t size;
  mr_error err = {0};
  if (util_read_file(path, &text, &size, &err)) return NULL;
  cJSON *j = cJSON_Parse(text);
  mr_free(text);
  return j;
}

static double num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static char model[600];

/* The tiny Qwen3 converted into TMP/NAME with the options the checks below assume. */
static int convert(const char *name, int context, char *out, size_t size) {
  char args[2048];
  snprintf(out, size, "%s/%s", th_tmpdir(), name);
  snprintf(args, sizeof args, "convert \"%s/models/qwen3-tiny\" \"%s\" --context %d --batch 8 --chunks 2 --lut-ffn 4,0 --format mlmodelc "
           "--tokenizer \"%s/tokenizer\"", getenv("MR_FIXTURES"), out, context, getenv("MR_FIXTURES"));
  int rc = run(args);
  if (rc) fprintf(stderr, "  convert: %s\n", msg);
  return rc;
}

static cJSON *inspect_json(int *rc) {
  char args[800];
  snprintf(args, sizeof args, "inspect --json \"%s\"", model);
  *rc = run(args);
  cJSON *j = cJSON_Parse(msg);
  if (!j) fprintf(stderr, "  not JSON: %.400s\n", msg);
  return j;
}

/* 1 + the largest id of tokenizer.json (its vocab and added tokens), read independently. */
static int tokenizer_ids(void) {
  char rel[] = "tokenizer/tokenizer.json";
  cJSON *t = read_json(th_fixture(rel));
  int max = -1;
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "model"), "vocab"))
    if (e->valueint > max) max = e->valueint;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "added_tokens"))
    if (num(e, "id") > max) max = (int)num(e, "id");
  cJSON_Delete(t);
  return max + 1;
}

/* LUT4 with one palette per tensor: 4 bits an index and 16 fp16 entries, for each of the 7
 * projections of every layer (all above the 2048 values that stay fp16). */
static double lut4_bytes(const cJSON *cfg) {
  double H = num(cfg, "hidden_size"), I = num(cfg, "intermediate_size"), q = num(cfg, "num_attention_heads") * num(cfg, "head_dim"),
         kv = num(cfg, "num_key_value_heads") * num(cfg, "head_dim");
  double values = q * H + 2 * kv * H + H * q + 3 * I * H;
  return num(cfg, "num_hidden_layers") * (values / 2 + 7 * 16 * 2);
}

static double file_size(const char *dir, const char *rel) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s/weights/weight.bin", dir, rel);
  struct stat st;
  return stat(p, &st) == 0 ? (double)st.st_size : -1;
}

static void test_report_against_references(void) {
  cJSON *cfg = read_json(th_fixture("models/qwen3-tiny/config.json"));
  int rc;
  cJSON *j = inspect_json(&rc);
  CHECK_EQ_INT(rc, 0);
  if (!cfg || !j) {
    CHECK(0);
    cJSON_Delete(cfg);
    cJSON_Delete(j);
    return;
  }
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "fits")));
  CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "problems")), 0);
  CHECK_EQ_INT(num(j, "context"), 64);
  CHECK_EQ_INT(num(j, "batch"), 8);
  CHECK_EQ_INT(num(j, "chunks"), 2);
  CHECK_EQ_INT(num(j, "hidden_size"), num(cfg, "hidden_size"));
  CHECK_EQ_INT(num(j, "vocab_size"), num(cfg, "vocab_size"));
  CHECK_EQ_INT(num(j, "lm_head_parts"), 16);
  CHECK_EQ_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "parameters"), "lut_ffn")->valuestring, "4");
  CHECK_EQ_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "model_info"), "architecture")->valuestring, "qwen3");
  /* [2L, nKV, S, hd] with S = max(256, context) for Qwen (docs/anemll.md §2.4). */
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "state"), "shape");
  double want[4] = {2 * num(cfg, "num_hidden_layers"), num(cfg, "num_key_value_heads"), 256, num(cfg, "head_dim")};
  CHECK_EQ_INT(cJSON_GetArraySize(shape), 4);
  for (int d = 0; d < 4 && d < cJSON_GetArraySize(shape); d++) CHECK_EQ_INT(cJSON_GetArrayItem(shape, d)->valuedouble, want[d]);
  const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "tokenizer");
  CHECK_EQ_INT(num(tok, "vocab_size"), tokenizer_ids());
  CHECK_EQ_STR(cJSON_GetObjectItemCaseSensitive(tok, "chat_template")->valuestring, "qwen3");
  /* Weights: LUT4 bytes from the shapes, the embeddings' fp16 table, the files' sizes. */
  const char *names[4] = {"qwen_embeddings.mlmodelc", "qwen_FFN_PF_lut4_chunk_01of02.mlmodelc",
                          "qwen_FFN_PF_lut4_chunk_02of02.mlmodelc", "qwen_lm_head.mlmodelc"};
  const cJSON *parts = cJSON_GetObjectItemCaseSensitive(j, "components");
  double files = 0;
  CHECK_EQ_INT(cJSON_GetArraySize(parts), 4);
  for (int i = 0; i < 4 && i < cJSON_GetArraySize(parts); i++) {
    const cJSON *p = cJSON_GetArrayItem(parts, i), *w = cJSON_GetObjectItemCaseSensitive(p, "weights");
    CHECK_EQ_STR(cJSON_GetObjectItemCaseSensitive(p, "file")->valuestring, names[i]);
    CHECK_EQ_INT(num(w, "file_bytes"), file_size(model, names[i]));
    files += file_size(model, names[i]);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "functions")), i == 1 || i == 2 ? 2 : 1);
  }
  const cJSON *emb_kinds = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(parts, 0), "weights"), "by_kind");
  CHECK_EQ_INT(num(emb_kinds, "fp16"), num(cfg, "vocab_size") * num(cfg, "hidden_size") * 2);
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "weights");
  CHECK_EQ_INT(num(w, "file_bytes"), files);
  CHECK_EQ_INT(num(cJSON_GetObjectItemCaseSensitive(w, "by_kind"), "LUT 4-bit"), lut4_bytes(cfg));
  cJSON_Delete(cfg);
  cJSON_Delete(j);
}

static void test_text(void) {
  char args[800];
  snprintf(args, sizeof args, "inspect \"%s\"", model);
  CHECK_EQ_INT(run(args), 0);
  const char *want[] = {"(Anemll model, meta.yaml version", "    context_length = 64", "context 64, batch 8, 2 FFN chunks, hidden size 64",
                        "KV state model_model_kv_cache_0 fp16 [8, 2, 256, 32]", "  FFN chunk 2 of 2: qwen_FFN_PF_lut4_chunk_02of02.mlmodelc",
                        "  LM head: qwen_lm_head.mlmodelc", "EOS <|im_end|> = 151645; chat template qwen3", "the pieces fit together"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) CHECK_MSG(strstr(msg, want[i]) != NULL, "%s", want[i]);
  snprintf(args, sizeof args, "inspect --mil \"%s\"", model);
  CHECK_EQ_INT(run(args), 2);
  CHECK(strstr(msg, "--mil takes one bundle") != NULL);
}

/* `inspect --json` exits 1 and lists `problem` among its problems. */
static void check_problem(const char *problem) {
  int rc;
  cJSON *j = inspect_json(&rc);
  CHECK_EQ_INT(rc, 1);
  CHECK(j && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "fits")));
  int found = 0;
  const cJSON *p;
  cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "problems")) found |= strstr(p->valuestring, problem) != NULL;
  CHECK_MSG(found, "no problem '%s' in %.2000s", problem, msg);
  cJSON_Delete(j);
}

static int sh(const char *fmt, const char *a, const char *b) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  return system(cmd);
}

static void test_broken_directories(void) {
  char other[600], path[1024], saved[1024];
  const char *chunk2 = "qwen_FFN_PF_lut4_chunk_02of02.mlmodelc";
  snprintf(path, sizeof path, "%s/%s", model, chunk2);
  snprintf(saved, sizeof saved, "%s.saved", model);
  /* A missing chunk. */
  CHECK_EQ_INT(rename(path, saved), 0);
  check_problem("FFN chunk 2 of 2: qwen_FFN_PF_lut4_chunk_02of02.mlmodelc is missing");
  /* A chunk of a conversion with another context: its mask and its state no longer fit. */
  if (convert("other", 300, other, sizeof other)) {
    CHECK(0);
  } else {
    CHECK_EQ_INT(sh("cp -r \"%s/qwen_FFN_PF_lut4_chunk_02of02.mlmodelc\" \"%s\"", other, path), 0);
    check_problem("FFN chunk 2 of 2, prefill: causal_mask spans 300 positions, context_length is 64");
    check_problem("FFN chunk 2 of 2, infer: state model_model_kv_cache_0 fp16 [8, 2, 300, 32] differs from "
                  "model_model_kv_cache_0 fp16 [8, 2, 256, 32] of FFN chunk 1");
    CHECK_EQ_INT(sh("rm -rf \"%s\" \"%s\"", path, other), 0);
  }
  CHECK_EQ_INT(rename(saved, path), 0);
  /* meta.yaml contradicting the components. */
  snprintf(path, sizeof path, "%s/meta.yaml", model);
  CHECK_EQ_INT(sh("cp \"%s\" \"%s.saved\"", path, path), 0);
  CHECK_EQ_INT(sh("sed -i 's/batch_size: 8/batch_size: 16/; s/split_lm_head: 16/split_lm_head: 8/' \"%s\"%s", path, ""), 0);
  check_problem("FFN chunk 1 of 2, prefill: hidden_states takes 8 tokens, batch_size is 16");
  check_problem("LM head: 16 parts, meta.yaml's split_lm_head says 8");
  CHECK_EQ_INT(sh("mv \"%s.saved\" \"%s\"", path, path), 0);
  /* No tokenizer. */
  snprintf(path, sizeof path, "%s/tokenizer.json", model);
  CHECK_EQ_INT(sh("mv \"%s\" \"%s.saved\"", path, path), 0);
  check_problem("tokenizer: no tokenizer.json");
  CHECK_EQ_INT(sh("mv \"%s.saved\" \"%s\"", path, path), 0);
  int rc;
  cJSON *j = inspect_json(&rc); /* whole again */
  CHECK_EQ_INT(rc, 0);
  cJSON_Delete(j);
}

int main(int argc, char **argv) {
  if (convert("tiny", 64, model, sizeof model)) {
    fprintf(stderr, "conversion failed\n");
    return 1;
  }
  static const th_case cases[] = {{"report_against_references", test_report_against_references},
                                  {"text", test_text},
                                  {"broken_directories", test_broken_directories},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
