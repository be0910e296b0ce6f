/* test_tool_generate.c — text generation end to end on the tiny golden checkpoints converted by
 * `milrun convert`: `milrun generate --json` gives the golden greedy ids (text prompts through the
 * tokenizer; Llama by ids) up to the first step whose reference margin is below twice the measured
 * logit error; all 64 tokens of every qwen3-tiny-python continuation with and without LUT8; a run
 * past 3x a 64-token context that equals the no-shift run before its first shift; the session's
 * prefill counter over two turns; /save + /load; streaming text equal to the decoded ids; no
 * allocation per decoded token; and each error with its message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "hub_mock.h"
#include "util/alloc.h"
#include "util/file.h"

static char out[1 << 20];

/* Run `milrun ARGS` (stdin from `input` when not NULL); stdout (and stderr when both) into out. */
static int run(const char *args, const char *input, int both) {
  static char cmd[16384];
  char in[700] = "";
  if (input) {
    snprintf(in, sizeof in, "%s/stdin.txt", th_tmpdir());
    mr_error err = {0};
    util_write_file_atomic(in, input, strlen(input), &err);
  }
  snprintf(cmd, sizeof cmd, "\"%s\" %s%s%s %s", getenv("MR_MILRUN"), args, input ? " < " : "", in, both ? "2>&1" : "2>/dev/null");
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *convert(const char *model, const char *name, const char *opts) {
  static char dir[4][600];
  static int k;
  char *d = dir[k++ % 4];
  snprintf(d, 600, "%s/%s", th_tmpdir(), name);
  if (util_is_dir(d)) return d;
  char args[2048];
  char tok[700] = ""; /* the Qwen tokenizer; llama-tiny's 4096 ids have none */
  if (strncmp(model, "llama", 5)) snprintf(tok, sizeof tok, "--tokenizer \"%s/tokenizer\"", getenv("MR_FIXTURES"));
  /* one form unless asked: tests delete components, and the mock hub's pull of a repo holding both
   * forms meets blobs shared by two files */
  const char *form = strstr(opts, "--format") ? "" : "--format mlmodelc";
  snprintf(args, sizeof args, "convert \"%s/models/%s\" \"%s\" --quiet %s %s %s", getenv("MR_FIXTURES"), model, d, tok, form,
           opts);
  int rc = run(args, NULL, 1);
  CHECK_MSG(rc == 0, "convert %s: %s", model, out);
  return rc ? NULL : d;
}

static cJSON *golden(const char *model) {
  char rel[256], *text;
  size_t size;
  snprintf(rel, sizeof rel, "models/%s/golden.json", model);
  mr_error err = {0};
  if (util_read_file(th_fixture(rel), &text, &size, &err)) return NULL;
  cJSON *j = cJSON_Parse(text);
  mr_free(text);
  return j;
}

/* Max abs difference of the last-position logits against the case's reference file. */
static double logit_error(const char *model, const char *dir, const cJSON *c) {
  char args[8192], path[700], rel[300];
  snprintf(path, sizeof path, "%s/last.f32", th_tmpdir());
  size_t o = (size_t)snprintf(args, sizeof args, "logits \"%s\" --last --out \"%s\" --ids ", dir, path);
  const cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItem(c, "prompt_ids")) o += (size_t)snprintf(args + o, sizeof args - o, "%d,", x->valueint);
  args[o - 1] = 0;
  if (run(args, NULL, 1)) return 1e9;
  snprintf(rel, sizeof rel, "models/%s/%s", model, cJSON_GetObjectItem(c, "logits_last_file")->valuestring);
  char *a, *b;
  size_t na, nb;
  mr_error err = {0};
  double m = 1e9;
  if (!util_read_file(path, &a, &na, &err) && !util_read_file(th_fixture(rel), &b, &nb, &err)) {
    m = na == nb ? 0 : 1e9;
    for (size_t i = 0; na == nb && i < na / 4; i++) {
      double d = fabs((double)((float *)a)[i] - ((float *)b)[i]);
      m = d > m ? d : m;
    }
    mr_free(b);
  }
  mr_free(a);
  return m;
}

/* generate --json for golden case c; returns the parsed object. */
static cJSON *generate(const char *dir, const cJSON *c, int n, const char *extra) {
  char args[8192];
  size_t o = (size_t)snprintf(args, sizeof args, "generate --model \"%s\" --raw --temperature 0 --ignore-eos -n %d --json %s ",
                              dir, n, extra);
  const cJSON *text = cJSON_GetObjectItem(c, "text"), *x;
  if (cJSON_IsString(text)) {
    char path[700];
    snprintf(path, sizeof path, "%s/prompt.txt", th_tmpdir());
    mr_error err = {0};
    util_write_file_atomic(path, text->valuestring, strlen(text->valuestring), &err);
    snprintf(args + o, sizeof args - o, "-f \"%s\"", path);
  } else {
    o += (size_t)snprintf(args + o, sizeof args - o, "--ids ");
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(c, "prompt_ids")) o += (size_t)snprintf(args + o, sizeof args - o, "%d,", x->valueint);
    args[o - 1] = 0;
  }
  int rc = run(args, NULL, 0);
  CHECK_EQ_INT(rc, 0);
  return rc ? NULL : cJSON_Parse(out);
}

static int same_ids(const cJSON *a, const cJSON *b) {
  if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) return 0;
  for (int i = 0; i < cJSON_GetArraySize(a); i++)
    if (cJSON_GetArrayItem(a, i)->valueint != cJSON_GetArrayItem(b, i)->valueint) return 0;
  return 1;
}

/* Every case of `model`: the golden ids while the reference margin exceeds 2x the logit error. */
static void golden_greedy(const char *model, const char *dir) {
  cJSON *g = golden(model);
  CHECK(g != NULL);
  int checked = 0;
  const cJSON *c, *cases = g ? cJSON_GetObjectItem(g, "cases") : NULL;
  cJSON_ArrayForEach(c, cases) {
    double err = logit_error(model, dir, c);
    const cJSON *gi = cJSON_GetObjectItem(c, "greedy_ids"), *gs = cJSON_GetObjectItem(c, "greedy_steps");
    cJSON *r = generate(dir, c, cJSON_GetArraySize(gi), "");
    if (!r) continue;
    CHECK(same_ids(cJSON_GetObjectItem(r, "prompt_ids"), cJSON_GetObjectItem(c, "prompt_ids"))); /* text -> ids */
    const cJSON *ids = cJSON_GetObjectItem(r, "ids");
    int i = 0;
    for (; i < cJSON_GetArraySize(gi); i++) {
      const cJSON *tl = cJSON_GetObjectItem(cJSON_GetArrayItem(gs, i), "top_logits");
      if (cJSON_GetArrayItem(tl, 0)->valuedouble - cJSON_GetArrayItem(tl, 1)->valuedouble <= 2 * err) break;
      CHECK_EQ_INT(cJSON_GetArrayItem(ids, i)->valueint, cJSON_GetArrayItem(gi, i)->valueint);
    }
    fprintf(stderr, "  %s: logit error %.2e, %d of %d golden greedy ids checked\n", model, err, i, cJSON_GetArraySize(gi));
    checked += i;
    cJSON_Delete(r);
  }
  CHECK(checked > 0);
  cJSON_Delete(g);
}

static void test_golden_tiny(void) {
  const char *d = convert("qwen3-tiny", "qwen3", "--context 256");
  if (d) golden_greedy("qwen3-tiny", d);
  d = convert("qwen2.5-tiny", "qwen25", "--context 256");
  if (d) golden_greedy("qwen2.5-tiny", d);
  d = convert("llama-tiny", "llama", "--context 256");
  if (d) golden_greedy("llama-tiny", d);
}

/* All 64 tokens of every continuation of the trained model. */
static void python_all(const char *dir, const char *what) {
  cJSON *g = golden("qwen3-tiny-python");
  const cJSON *c, *cases = g ? cJSON_GetObjectItem(g, "cases") : NULL;
  cJSON_ArrayForEach(c, cases) {
    cJSON *r = generate(dir, c, 64, "");
    const cJSON *ids = r ? cJSON_GetObjectItem(r, "ids") : NULL, *gi = cJSON_GetObjectItem(c, "greedy_ids");
    int agree = 0;
    for (int i = 0; ids && i < 64; i++) agree += cJSON_GetArrayItem(ids, i)->valueint == cJSON_GetArrayItem(gi, i)->valueint;
    fprintf(stderr, "  qwen3-tiny-python %s: %d/64 golden greedy ids\n", what, agree);
    CHECK_EQ_INT(agree, 64);
    cJSON_Delete(r);
  }
  cJSON_Delete(g);
}

static void test_python_fp16(void) {
  const char *d = convert("qwen3-tiny-python", "python", "--context 256");
  if (d) python_all(d, "fp16");
}

static void test_python_lut8(void) {
  const char *d = convert("qwen3-tiny-python", "python-lut8", "--context 256 --lut-ffn 8 --lut-lmhead 8");
  if (d) python_all(d, "LUT8");
}

/* A 0.3.5-style build: each chunk split into a prefill and an infer bundle (one function `main`
 * each), two chunks, prefill batches of 4 and an argmax LM head. The session's full-batch prefill
 * runs the prefill bundles, the rest and the decode the infer ones, and the head's argmax gives the
 * golden greedy ids. */
static void test_split_argmax(void) {
  const char *d = convert("qwen3-tiny-python", "python-split", "--context 64 --batch 4 --chunks 2 --split-ffn --argmax");
  if (!d) return;
  char path[700];
  snprintf(path, sizeof path, "%s/qwen_prefill_chunk_02of02.mlmodelc", d);
  CHECK(util_is_dir(path));
  snprintf(path, sizeof path, "%s/qwen_FFN_PF_chunk_01of02.mlmodelc", d);
  CHECK(!util_is_dir(path));
  cJSON *g = golden("qwen3-tiny-python");
  const cJSON *c, *cases = g ? cJSON_GetObjectItem(g, "cases") : NULL;
  cJSON_ArrayForEach(c, cases) {
    cJSON *r = generate(d, c, 40, "--no-shift");
    const cJSON *ids = r ? cJSON_GetObjectItem(r, "ids") : NULL, *gi = cJSON_GetObjectItem(c, "greedy_ids");
    CHECK_EQ_INT(cJSON_GetArraySize(ids), 40);
    int agree = 0;
    for (int i = 0; ids && i < 40; i++) agree += cJSON_GetArrayItem(ids, i)->valueint == cJSON_GetArrayItem(gi, i)->valueint;
    CHECK_EQ_INT(agree, 40);
    cJSON_Delete(r);
  }
  cJSON_Delete(g);
  /* which bundle ran: --verbose traces each call with its input shapes */
  char args[1024];
  snprintf(args, sizeof args, "generate --model \"%s\" --raw --ids 750,75698,1445,982,11,13 -n 2 --verbose", d);
  CHECK_EQ_INT(run(args, NULL, 1), 0);
  CHECK_MSG(strstr(out, "ffn[2].main hidden_states[1, 4, 128]") != NULL, "%s", out);
  CHECK_MSG(strstr(out, "ffn[2].main hidden_states[1, 1, 128]") != NULL, "%s", out);
  CHECK_MSG(strstr(out, "lm_head.main hidden_states[1, 1, 128] -> [16] [16]") != NULL, "%s", out);
  /* and which executor loaded each component (--backend reaches every bundle) */
  CHECK_MSG(strstr(out, "[verbose] embeddings: executor cpu\n") != NULL, "%s", out);
  CHECK_MSG(strstr(out, "[verbose] ffn[2].prefill: executor cpu\n") != NULL, "%s", out);
  CHECK_MSG(strstr(out, "[verbose] ffn[2].infer: executor cpu\n") != NULL, "%s", out);
  CHECK_MSG(strstr(out, "[verbose] lm_head: executor cpu\n") != NULL, "%s", out);
  snprintf(args, sizeof args, "generate --model \"%s\" --raw --ids 750 -n 1 --backend nosuch", d);
  CHECK_EQ_INT(run(args, NULL, 1), 1);
  CHECK_MSG(strstr(out, "nosuch") != NULL, "%s", out);
}

/* --model ORG/NAME: downloaded from the (mock) hub into the cache on first use, then offline from
 * the cache; both generate what the local folder generates. */
static void test_hub_id(void) {
  const char *d = convert("qwen3-tiny-python", "python-c64", "--context 64");
  if (!d) return;
  char repo[800], args[2048], cmd[4096];
  static char want[sizeof out];
  snprintf(args, sizeof args, "generate --model \"%s\" --raw -p \"import os\" -n 8 --temperature 0 --ignore-eos", d);
  CHECK_EQ_INT(run(args, NULL, 0), 0);
  snprintf(want, sizeof want, "%s", out);
  snprintf(repo, sizeof repo, "org/tiny=%s", d);
  const char *margs[] = {"--repo", repo, NULL};
  hub_mock m;
  if (hub_mock_start(&m, margs) != 0) {
    CHECK(0);
    return;
  }
  for (int offline = 0; offline < 2; offline++) {
    snprintf(cmd, sizeof cmd, "HF_ENDPOINT='%s' HF_HOME='%s/hf-home' HF_TOKEN= HF_HUB_CACHE='%s/hub-cache' HF_HUB_OFFLINE=%d "
             "\"%s\" generate --model org/tiny --raw -p \"import os\" -n 8 --temperature 0 --ignore-eos 2>/dev/null",
             m.endpoint, th_tmpdir(), th_tmpdir(), offline, getenv("MR_MILRUN"));
    if (offline) hub_mock_stop(&m);
    FILE *p = popen(cmd, "r");
    size_t k = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[k] = 0;
    CHECK_EQ_INT(p ? WEXITSTATUS(pclose(p)) : -1, 0);
    CHECK_EQ_STR(out, want);
  }
  hub_mock_stop(&m);
}

/* 200 tokens with a 64-token context: shifts, and before the first one the no-shift run's ids. */
static void test_context_shift(void) {
  const char *d = convert("qwen3-tiny-python", "python-c64", "--context 64");
  if (!d) return;
  cJSON *g = golden("qwen3-tiny-python");
  const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "cases"), 0);
  cJSON *ref = generate(d, c, 200, "--no-shift"), *r = generate(d, c, 200, "");
  if (ref && r) {
    const cJSON *ri = cJSON_GetObjectItem(ref, "ids"), *ids = cJSON_GetObjectItem(r, "ids");
    int P = cJSON_GetArraySize(cJSON_GetObjectItem(c, "prompt_ids")), before = 64 - P + 1;
    CHECK_EQ_STR(cJSON_GetObjectItem(ref, "finish_reason")->valuestring, "context");
    CHECK_EQ_INT(cJSON_GetArraySize(ri), before);
    CHECK_EQ_STR(cJSON_GetObjectItem(r, "finish_reason")->valuestring, "length");
    CHECK_EQ_INT(cJSON_GetArraySize(ids), 200);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "timings"), "shifts")->valueint >= 3);
    for (int i = 0; i < before && i < cJSON_GetArraySize(ri); i++)
      CHECK_EQ_INT(cJSON_GetArrayItem(ids, i)->valueint, cJSON_GetArrayItem(ri, i)->valueint);
  }
  cJSON_Delete(ref);
  cJSON_Delete(r);
  cJSON_Delete(g);
}

typedef struct collected {
  char text[65536];
  size_t len;
  int empty; /* tokens whose text was not complete yet */
} collected;

static int collect(void *ud, int32_t id, const char *text, size_t len) {
  collected *c = ud;
  if (id >= 0 && len == 0) c->empty++;
  if (c->len + len < sizeof c->text) memcpy(c->text + c->len, text, len), c->len += len;
  return 0;
}

/* A model from the converted folder d and a session on it; nonzero (after a failed check) when not. */
static int open_session(const char *d, const mr_session_options *so, mr_model **m, mr_session **s) {
  mr_error err = {0};
  if (!d || mr_model_open(d, NULL, m, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    return -1;
  }
  if (mr_session_new(*m, so, s, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    mr_model_close(*m);
    return -1;
  }
  return 0;
}

/* Turn 2 computes only its new tokens (and the last generated one, which no step has run yet). */
static void test_multi_turn(void) {
  mr_session_options so = {.has_sampling = 1};
  mr_sampling_defaults(&so.sampling);
  so.sampling.temperature = 0;
  mr_model *m;
  mr_session *s;
  mr_error err = {0};
  if (open_session(convert("qwen3-tiny-python", "python", "--context 256"), &so, &m, &s)) return;
  int32_t p1[4] = {750, 75698, 1445, 982}, all[64];
  mr_session_stats st;
  CHECK_EQ_INT(mr_session_feed(s, p1, 4, &err), MR_OK);
  mr_session_stats_get(s, &st);
  CHECK_EQ_INT(st.prefill_tokens, 4);
  mr_generate_options go = {.max_tokens = 6, .ignore_stop = 1};
  collected col = {0};
  CHECK_EQ_INT(mr_session_generate(s, &go, collect, &col, NULL, &err), MR_OK);
  const int32_t *t;
  size_t n = mr_session_tokens(s, &t);
  CHECK_EQ_INT(n, 10);
  memcpy(all, t, n * sizeof *t);
  int32_t more[3] = {198, 750, 282};
  memcpy(all + n, more, sizeof more);
  CHECK_EQ_INT(mr_session_feed(s, all, n + 3, &err), MR_OK);
  mr_session_stats_get(s, &st);
  CHECK_EQ_INT(st.prefill_tokens, 4 + 3 + 1);
  CHECK_EQ_INT(st.prompt_tokens, 4 + 13);
  /* the continuation equals that of a fresh session fed everything at once */
  collected a = {0}, b = {0};
  CHECK_EQ_INT(mr_session_generate(s, &go, collect, &a, NULL, &err), MR_OK);
  mr_session_reset(s);
  CHECK_EQ_INT(mr_session_feed(s, all, n + 3, &err), MR_OK);
  CHECK_EQ_INT(mr_session_generate(s, &go, collect, &b, NULL, &err), MR_OK);
  CHECK(a.len == b.len && !memcmp(a.text, b.text, a.len));
  mr_session_free(s);
  mr_model_close(m);
}

/* Streaming: the callback's text joined equals the decoded ids, with characters split over tokens
 * (a random-weight model sampled at high temperature emits byte tokens of multi-byte characters). */
static void test_streaming(void) {
  mr_session_options so = {.has_sampling = 1};
  so.sampling = (mr_sampling){.temperature = 100, .top_p = 1, .repeat_penalty = 1, .seed = 7};
  mr_model *m;
  mr_session *s;
  mr_error err = {0};
  if (open_session(convert("qwen3-tiny", "qwen3", "--context 256"), &so, &m, &s)) return;
  int32_t p[3] = {9707, 11, 1879};
  CHECK_EQ_INT(mr_session_feed(s, p, 3, &err), MR_OK);
  mr_generate_options go = {.max_tokens = 200, .ignore_stop = 1};
  collected col = {0};
  CHECK_EQ_INT(mr_session_generate(s, &go, collect, &col, NULL, &err), MR_OK);
  const int32_t *t;
  size_t n = mr_session_tokens(s, &t);
  char *text;
  size_t len;
  CHECK_EQ_INT(mr_tokenizer_decode(mr_model_tokenizer(m), t + 3, n - 3, 0, &text, &len, &err), MR_OK);
  CHECK(len == col.len && !memcmp(text, col.text, len));
  fprintf(stderr, "  streaming: %zu bytes, %d tokens completed a character later\n", len, col.empty);
  CHECK(col.empty > 0);
  mr_free(text);
  mr_session_free(s);
  mr_model_close(m);
}

static long allocs;
static void *counting(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  allocs++;
  return realloc(ptr, size);
}

static void test_no_alloc_per_token(void) {
  const char *d = convert("qwen3-tiny-python", "python", "--context 256");
  if (!d) return;
  mr_set_allocator(counting, NULL);
  mr_model *m;
  mr_session *s;
  mr_error err = {0};
  CHECK_EQ_INT(mr_model_open(d, NULL, &m, &err), MR_OK);
  CHECK_EQ_INT(mr_session_new(m, NULL, &s, &err), MR_OK);
  int32_t p[4] = {750, 75698, 1445, 982};
  CHECK_EQ_INT(mr_session_feed(s, p, 4, &err), MR_OK);
  mr_generate_options go = {.max_tokens = 2, .ignore_stop = 1};
  CHECK_EQ_INT(mr_session_generate(s, &go, NULL, NULL, NULL, &err), MR_OK); /* warm */
  long before = allocs;
  go.max_tokens = 30;
  collected col = {0};
  CHECK_EQ_INT(mr_session_generate(s, &go, collect, &col, NULL, &err), MR_OK);
  CHECK_EQ_INT(allocs - before, 0);
  mr_session_free(s);
  mr_model_close(m);
  mr_set_allocator(NULL, NULL);
}

/* chat: /save after turn 1, then a new chat that /loads continues turn 2 identically (sampled: the
 * random state is restored too). */
static void test_chat_save_load(void) {
  const char *d = convert("qwen3-tiny-python", "python", "--context 256");
  if (!d) return;
  char args[1024], input[1024];
  static char first[sizeof out];
  snprintf(args, sizeof args, "chat --model \"%s\" -n 12 --temperature 0.9 --seed 5 --ignore-eos", d);
  snprintf(input, sizeof input, "def add(a, b):\n/save %s/conv.json\nclass Stack:\\\n    pass\n/exit\n", th_tmpdir());
  CHECK_EQ_INT(run(args, input, 0), 0);
  snprintf(first, sizeof first, "%s", out);
  snprintf(input, sizeof input, "/load %s/conv.json\nclass Stack:\\\n    pass\n", th_tmpdir());
  CHECK_EQ_INT(run(args, input, 0), 0);
  size_t a = strlen(first), b = strlen(out);
  CHECK_MSG(b > 1 && a > b && !strcmp(first + a - b, out), "first run:\n%s\nafter /load:\n%s", first, out);
}

/* A model-config JSON naming each component (candle-coreml's ModelConfig) gives what the folder gives. */
static void test_model_config(void) {
  const char *d = convert("qwen3-tiny-python", "python-c64", "--context 64");
  if (!d) return;
  char path[700], args[2048];
  static char want[sizeof out];
  snprintf(path, sizeof path, "%s/model.json", th_tmpdir());
  char text[2048];
  snprintf(text, sizeof text,
           "{\"model_info\": {\"path\": \"%s\", \"model_type\": \"qwen\"}, \"components\": {"
           "\"embeddings\": {\"file_path\": \"qwen_embeddings.mlmodelc\"}, "
           "\"ffn_prefill\": {\"file_path\": \"qwen_FFN_PF_chunk_01of01.mlmodelc\"}, "
           "\"ffn_infer\": {\"file_path\": \"qwen_FFN_PF_chunk_01of01.mlmodelc\"}, "
           "\"lm_head\": {\"file_path\": \"qwen_lm_head.mlmodelc\"}, \"tokenizer\": {\"file_path\": \"%s/tokenizer\"}}}",
           d, getenv("MR_FIXTURES"));
  mr_error err = {0};
  CHECK_EQ_INT(util_write_file_atomic(path, text, strlen(text), &err), MR_OK);
  snprintf(args, sizeof args, "generate --model \"%s\" --raw -p \"import os\" -n 16 --temperature 0 --ignore-eos", d);
  CHECK_EQ_INT(run(args, NULL, 0), 0);
  snprintf(want, sizeof want, "%s", out);
  snprintf(args, sizeof args, "generate --model \"%s\" --raw -p \"import os\" -n 16 --temperature 0 --ignore-eos", path);
  CHECK_EQ_INT(run(args, NULL, 0), 0);
  CHECK_EQ_STR(out, want);
  CHECK(strlen(want) > 4);
}

/* A model converted with --format mlpackage (components found as .mlpackage, llm/layout.c) gives the
 * same tokens as its .mlmodelc form. */
static void test_mlpackage(void) {
  const char *d = convert("qwen3-tiny-python", "python-c64", "--context 64");
  const char *pkg = convert("qwen3-tiny-python", "python-pkg", "--context 64 --format mlpackage");
  if (!d || !pkg) return;
  char path[700], args[2048];
  static char want[sizeof out];
  snprintf(path, sizeof path, "%s/qwen_lm_head.mlmodelc", pkg);
  CHECK(!util_is_dir(path));
  snprintf(path, sizeof path, "%s/qwen_lm_head.mlpackage", pkg);
  CHECK(util_is_dir(path));
  snprintf(args, sizeof args, "generate --model \"%s\" --raw -p \"import os\" -n 16 --temperature 0 --ignore-eos --json", d);
  CHECK_EQ_INT(run(args, NULL, 0), 0);
  const char *ids = strstr(out, "\"ids\""); /* the generated ids: "ids": [...] */
  CHECK(ids != NULL);
  if (!ids) return;
  snprintf(want, sizeof want, "%s", ids);
  char *end = strchr(want, ']');
  if (end) end[1] = 0;
  snprintf(args, sizeof args, "generate --model=%s --raw -p \"import os\" -n 16 --temperature 0 --ignore-eos --json", pkg);
  CHECK_EQ_INT(run(args, NULL, 0), 0);
  CHECK_MSG(strstr(out, want) != NULL, "want %s in %s", want, out);
  CHECK(strlen(want) > 20);
}

static void expect_error(const char *args, int code, const char *want) {
  int rc = run(args, NULL, 1);
  CHECK_EQ_INT(rc, code);
  CHECK_MSG(strstr(out, want) != NULL, "expected '%s' in: %s", want, out);
}

static void test_errors(void) {
  const char *d = convert("qwen3-tiny-python", "python-c64", "--context 64");
  if (!d) return;
  char dir[700], cmd[8192], args[4096];
  snprintf(dir, sizeof dir, "%s/broken", th_tmpdir());
  snprintf(cmd, sizeof cmd, "rm -rf \"%s\" && cp -r \"%s\" \"%s\" && rm -rf \"%s\"/qwen_lm_head.mlmodelc", dir, d, dir, dir);
  CHECK_EQ_INT(system(cmd), 0);
  snprintf(args, sizeof args, "generate --model \"%s\" -p hi", dir);
  expect_error(args, 1, "qwen_lm_head.mlmodelc: missing the LM head (named by meta.yaml)");
  snprintf(cmd, sizeof cmd, "rm -rf \"%s\" && cp -r \"%s\" \"%s\" && rm \"%s\"/tokenizer.json", dir, d, dir, dir);
  CHECK_EQ_INT(system(cmd), 0);
  snprintf(args, sizeof args, "generate --model \"%s\" -p hi", dir);
  expect_error(args, 1, "the model has no tokenizer.json");
  /* a component of another model: qwen3-tiny's chunk (hidden 64) in the python model (hidden 128) */
  const char *q = convert("qwen3-tiny", "qwen3-c64", "--context 64");
  snprintf(cmd, sizeof cmd, "rm -rf \"%s\" && cp -r \"%s\" \"%s\" && rm -rf \"%s\"/qwen_FFN_PF_chunk_01of01.mlmodelc && cp -r "
           "\"%s\"/qwen_FFN_PF_chunk_01of01.mlmodelc \"%s\"/", dir, d, dir, dir, q ? q : "/nonexistent", dir);
  CHECK_EQ_INT(system(cmd), 0);
  snprintf(args, sizeof args, "generate --model \"%s\" -p hi", dir);
  expect_error(args, 1, "input 'hidden_states' is [1, 64, 64], the contract expects [1, 64, 128]");
  /* chunks mixed up: chunk 1 also used as chunk 2 */
  const char *c2 = convert("qwen3-tiny", "qwen3-chunks", "--context 64 --chunks 2");
  snprintf(cmd, sizeof cmd, "rm -rf \"%s\" && cp -r \"%s\" \"%s\" && rm -rf \"%s\"/qwen_FFN_PF_chunk_02of02.mlmodelc && cp -r "
           "\"%s\"/qwen_FFN_PF_chunk_01of02.mlmodelc \"%s\"/qwen_FFN_PF_chunk_02of02.mlmodelc", dir, c2 ? c2 : "/x", dir, dir,
           dir, dir);
  CHECK_EQ_INT(system(cmd), 0);
  snprintf(args, sizeof args, "generate --model \"%s\" -p hi", dir);
  expect_error(args, 1, "metadata says chunk 1 of 2, but it is used as chunk 2 of 2");
  /* a prompt longer than the model can ever hold */
  char ids[1024];
  size_t o = 0;
  for (int i = 0; i < 70; i++) o += (size_t)snprintf(ids + o, sizeof ids - o, "%s%d", i ? "," : "", 100 + i);
  snprintf(args, sizeof args, "generate --model \"%s\" --ids %s", d, ids);
  expect_error(args, 2, "the prompt has 70 tokens; this model can hold at most 64 (context)");
  /* invalid UTF-8 */
  char path[700];
  snprintf(path, sizeof path, "%s/bad.txt", th_tmpdir());
  mr_error err = {0};
  util_write_file_atomic(path, "ok \xff no", 6, &err);
  snprintf(args, sizeof args, "generate --model \"%s\" --raw -f \"%s\"", d, path);
  expect_error(args, 2, "the prompt is not valid UTF-8 (byte 3)");
  /* offline, not cached; an id with a typo says what was looked up */
  snprintf(args, sizeof args, "generate --model anemll/no-such-model -p hi");
  snprintf(cmd, sizeof cmd, "HF_HUB_OFFLINE=1 HF_HUB_CACHE=\"%s/hub\" \"%s\" %s 2>&1", th_tmpdir(), getenv("MR_MILRUN"), args);
  FILE *pp = popen(cmd, "r");
  size_t k = pp ? fread(out, 1, sizeof out - 1, pp) : 0;
  out[k] = 0;
  if (pp) CHECK_EQ_INT(WEXITSTATUS(pclose(pp)), 1);
  CHECK_MSG(strstr(out, "model anemll/no-such-model: no such local file or folder; as a Hugging Face id: "
                        "anemll/no-such-model@main is not in the cache") != NULL, "%s", out);
  expect_error("generate --model ./no-such-dir -p hi", 1, "model ./no-such-dir: no such file or folder");
  expect_error("generate --top-p", 2, "option '--top-p' needs a value (P)");
  expect_error("generate --top-k=x", 2, "--top-k expects an integer from 0 to 1073741824, got 'x'");
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"golden_tiny", test_golden_tiny},   {"python_fp16", test_python_fp16},
                                  {"python_lut8", test_python_lut8},   {"context_shift", test_context_shift},
                                  {"multi_turn", test_multi_turn},     {"streaming", test_streaming},
                                  {"no_alloc", test_no_alloc_per_token}, {"chat_save_load", test_chat_save_load},
                                  {"errors", test_errors}, {"model_config", test_model_config},
                                  {"split_argmax", test_split_argmax}, {"hub_id", test_hub_id},
                                  {"mlpackage", test_mlpackage},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
