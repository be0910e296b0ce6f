/* test_tool_convert.c — `milrun convert` then `milrun logits` on the tiny golden checkpoints of
 * tests/fixtures/models (transformers 5.17.0 references, fp32 on the bf16 weights): the relative
 * RMS error of the last-position logits, top-1 agreement wherever the reference margin exceeds twice
 * the measured error, --chunks 2, prompts longer than several prefill batches, greedy teacher forcing
 * on the trained model (with and without LUT8), and the errors of broken checkpoints. The full sweep
 * (every prompt, LUT 8/6/4) is too slow for an ASan suite; it was run and reported separately. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/fp16.h"
#include "util/npy.h"

static char msg[16384];

static int run(const char *args) { return th_milrun(args, msg, sizeof msg); }

static cJSON *golden(const char *model) {
  char rel[256];
  snprintf(rel, sizeof rel, "models/%s/golden.json", model);
  char *text;
  size_t size;
  mr_error err = {0};
  if (util_read_file(th_fixture(rel), &text, &size, &err)) return NULL;
  cJSON *j = cJSON_Parse(text);
  mr_free(text);
  return j;
}

static float *read_f32(const char *path, size_t *n) {
  char *data;
  size_t size;
  mr_error err = {0};
  if (util_read_file(path, &data, &size, &err)) return NULL;
  *n = size / 4;
  return (float *)data;
}

/* Convert fixture `model` into tmp/`name`. */
static int convert(const char *model, const char *name, const char *opts, char *out, size_t size) {
  snprintf(out, size, "%s/%s", th_tmpdir(), name);
  char args[2048];
  snprintf(args, sizeof args, "convert \"%s/models/%s\" \"%s\" --context 256 %s", getenv("MR_FIXTURES"), model, out, opts);
  int rc = run(args);
  if (rc) fprintf(stderr, "  convert %s: %s\n", model, msg);
  return rc;
}

/* `milrun logits` on ids[0..n): rows [n, V] (only the last row with last = 1). */
static float *logits(const char *bundle, const int *ids, int n, int last, size_t *count) {
  static char args[65536];
  char out[600];
  snprintf(out, sizeof out, "%s/logits.f32", th_tmpdir());
  size_t o = (size_t)snprintf(args, sizeof args, "logits \"%s\" --out \"%s\"%s --ids ", bundle, out, last ? " --last" : "");
  for (int i = 0; i < n; i++) o += (size_t)snprintf(args + o, sizeof args - o, i ? ",%d" : "%d", ids[i]);
  int rc = run(args);
  if (rc) {
    fprintf(stderr, "  logits: %s\n", msg);
    return NULL;
  }
  return read_f32(out, count);
}

static int argmax(const float *x, size_t n) {
  size_t b = 0;
  for (size_t i = 1; i < n; i++)
    if (x[i] > x[b]) b = i;
  return (int)b;
}

static int ids_of(const cJSON *arr, int *ids, int cap) {
  int n = 0;
  for (const cJSON *e = arr->child; e && n < cap; e = e->next) ids[n++] = e->valueint;
  return n;
}

/* Last-position error against logits_last_*.f32 (max abs into *maxabs); returns the rel. RMS. */
static double last_error(const char *model, const cJSON *c, const float *row, size_t V, double *maxabs) {
  char rel[256];
  snprintf(rel, sizeof rel, "models/%s/%s", model, cJSON_GetObjectItem(c, "logits_last_file")->valuestring);
  size_t n;
  float *ref = read_f32(th_fixture(rel), &n);
  CHECK(ref && n == V);
  if (!ref || n != V) {
    mr_free(ref);
    return INFINITY;
  }
  double e2 = 0, r2 = 0;
  *maxabs = 0;
  for (size_t i = 0; i < V; i++) {
    double d = (double)row[i] - ref[i];
    e2 += d * d;
    r2 += (double)ref[i] * ref[i];
    if (fabs(d) > *maxabs) *maxabs = fabs(d);
  }
  mr_free(ref);
  return sqrt(e2 / r2);
}

/* One golden prompt: rel. RMS <= 5e-3 at the last position; with all = 1, top-1 at every position
 * whose reference margin exceeds 2x the measured max abs error. */
static void check_case(const char *model, const char *bundle, int ci, int all) {
  cJSON *g = golden(model);
  CHECK(g != NULL);
  if (!g) return;
  const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "cases"), ci);
  static int ids[512];
  int n = ids_of(cJSON_GetObjectItem(c, "prompt_ids"), ids, 512);
  size_t count;
  float *l = logits(bundle, ids, n, !all, &count);
  CHECK(l != NULL);
  if (l) {
    size_t rows = all ? (size_t)n : 1, V = count / rows;
    double maxabs, rel = last_error(model, c, l + (rows - 1) * V, V, &maxabs);
    fprintf(stderr, "  %s case %d (%d tokens): last-position rel. RMS %.3e, max abs %.3e\n", model, ci, n, rel, maxabs);
    CHECK(rel <= 5e-3);
    const cJSON *tid = cJSON_GetObjectItem(c, "top10_ids"), *tl = cJSON_GetObjectItem(c, "top10_logits");
    int checked = 0;
    for (size_t t = all ? 0 : (size_t)n - 1; t < (size_t)n; t++) {
      const cJSON *li = cJSON_GetArrayItem(tl, (int)t);
      double margin = cJSON_GetArrayItem(li, 0)->valuedouble - cJSON_GetArrayItem(li, 1)->valuedouble;
      if (margin <= 2 * maxabs) continue;
      checked++;
      CHECK_EQ_INT(argmax(l + (all ? t : 0) * V, V), cJSON_GetArrayItem(cJSON_GetArrayItem(tid, (int)t), 0)->valueint);
    }
    CHECK(checked > 0 || !all);
  }
  mr_free(l);
  cJSON_Delete(g);
}

static void test_qwen3(void) {
  char b[600];
  if (convert("qwen3-tiny", "qwen3", "", b, sizeof b)) {
    CHECK(0);
    return;
  }
  check_case("qwen3-tiny", b, 1, 1);
  check_case("qwen3-tiny", b, 3, 0); /* 156 tokens: three prefill batches of 64 */
  if (convert("qwen3-tiny", "qwen3-c2", "--chunks 2", b, sizeof b)) {
    CHECK(0);
    return;
  }
  check_case("qwen3-tiny", b, 0, 1);
}

static void test_qwen25(void) {
  char b[600];
  if (convert("qwen2.5-tiny", "qwen25", "", b, sizeof b)) {
    CHECK(0);
    return;
  }
  for (int i = 0; i < 3; i++) check_case("qwen2.5-tiny", b, i, 1);
}

static void test_llama(void) {
  char b[600];
  if (convert("llama-tiny", "llama", "", b, sizeof b)) {
    CHECK(0);
    return;
  }
  check_case("llama-tiny", b, 0, 1);
  check_case("llama-tiny", b, 1, 1); /* 150 tokens, past the 64 original positions of llama3 rope */
  if (convert("llama-tiny", "llama-c2", "--chunks 2", b, sizeof b)) {
    CHECK(0);
    return;
  }
  check_case("llama-tiny", b, 1, 1);
}

/* Teacher forcing on qwen3-tiny-python: rows P-1 .. P-2+steps must pick the golden greedy ids; with
 * tol > 0 only steps whose reference margin exceeds tol x the measured last-position error count. */
static void teacher(const char *bundle, int ci, int steps, double tol) {
  cJSON *g = golden("qwen3-tiny-python");
  CHECK(g != NULL);
  if (!g) return;
  const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "cases"), ci);
  static int ids[512];
  int P = ids_of(cJSON_GetObjectItem(c, "prompt_ids"), ids, 512);
  const cJSON *gr = cJSON_GetObjectItem(c, "greedy_ids"), *gs = cJSON_GetObjectItem(c, "greedy_steps");
  for (int i = 0; i < steps - 1; i++) ids[P + i] = cJSON_GetArrayItem(gr, i)->valueint;
  size_t count;
  float *l = logits(bundle, ids, P + steps - 1, 0, &count);
  CHECK(l != NULL);
  if (l) {
    size_t V = count / (size_t)(P + steps - 1);
    double maxabs, rel = last_error("qwen3-tiny-python", c, l + (size_t)(P - 1) * V, V, &maxabs);
    int agree = 0, required = 0, ok = 0;
    for (int i = 0; i < steps; i++) {
      const cJSON *tl = cJSON_GetObjectItem(cJSON_GetArrayItem(gs, i), "top_logits");
      double margin = cJSON_GetArrayItem(tl, 0)->valuedouble - cJSON_GetArrayItem(tl, 1)->valuedouble;
      int hit = argmax(l + (size_t)(P - 1 + i) * V, V) == cJSON_GetArrayItem(gr, i)->valueint;
      agree += hit;
      if (tol == 0 || margin > tol * maxabs) required++, ok += hit;
    }
    fprintf(stderr, "  qwen3-tiny-python case %d: rel. RMS %.3e, greedy agreement %d/%d (%d/%d required)\n", ci, rel,
            agree, steps, ok, required);
    CHECK_EQ_INT(ok, required);
    if (tol == 0) CHECK(rel <= 5e-3);
  }
  mr_free(l);
  cJSON_Delete(g);
}

static void test_python_greedy(void) {
  char b[600];
  if (convert("qwen3-tiny-python", "python", "", b, sizeof b)) {
    CHECK(0);
    return;
  }
  teacher(b, 0, 64, 0);
}

static void test_python_lut8(void) {
  char b[600];
  if (convert("qwen3-tiny-python", "python-lut8", "--lut-ffn 8 --lut-lmhead 8", b, sizeof b)) {
    CHECK(0);
    return;
  }
  CHECK(strstr(msg, "LUT relative weight error") != NULL);
  teacher(b, 2, 16, 10);
}

/* A broken checkpoint in tmp/name: llama-tiny's config.json with `from` replaced by `to` and its
 * safetensors (truncated to `keep` bytes when keep > 0). Expect exit 1, exactly `want`, no output. */
static void broken(const char *name, const char *from, const char *to, long keep, const char *want_fmt) {
  char dir[600], out[700], path[800], want[2048];
  snprintf(dir, sizeof dir, "%s/%s", th_tmpdir(), name);
  snprintf(out, sizeof out, "%s-out", dir);
  mr_error err = {0};
  CHECK_EQ_INT(util_mkdirs(dir, &err), MR_OK);
  char *cfg, *st;
  size_t n, sn;
  CHECK_EQ_INT(util_read_file(th_fixture("models/llama-tiny/config.json"), &cfg, &n, &err), MR_OK);
  char *at = strstr(cfg, from);
  CHECK(at != NULL);
  if (!at) {
    mr_free(cfg);
    return;
  }
  char text[4096];
  snprintf(text, sizeof text, "%.*s%s%s", (int)(at - cfg), cfg, to, at + strlen(from));
  mr_free(cfg);
  snprintf(path, sizeof path, "%s/config.json", dir);
  CHECK_EQ_INT(util_write_file_atomic(path, text, strlen(text), &err), MR_OK);
  CHECK_EQ_INT(util_read_file(th_fixture("models/llama-tiny/model.safetensors"), &st, &sn, &err), MR_OK);
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  CHECK_EQ_INT(util_write_file_atomic(path, st, keep > 0 ? (size_t)keep : sn, &err), MR_OK);
  mr_free(st);
  char args[2048];
  snprintf(args, sizeof args, "convert \"%s\" \"%s\" --context 256", dir, out);
  CHECK_EQ_INT(run(args), 1);
  snprintf(want, sizeof want, want_fmt, dir);
  CHECK_EQ_STR(msg, want);
  CHECK(!util_exists(out));
  snprintf(args, sizeof args, "ls -d \"%s\".partial-* >/dev/null 2>&1", out);
  CHECK(system(args) != 0);
}

static void test_broken_checkpoints(void) {
  broken("arch", "\"model_type\": \"llama\"", "\"model_type\": \"mistral\"", 0,
         "milrun convert: %s/config.json: unsupported architecture \"mistral\" (qwen3, qwen2 and llama are supported)\n");
  broken("layers", "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4", 0,
         "milrun convert: %s/model.safetensors: missing tensor 'model.layers.3.input_layernorm.weight'\n");
  broken("shape", "\"intermediate_size\": 176", "\"intermediate_size\": 180", 0,
         "milrun convert: %s/model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [176, 64], "
         "expected [180, 64] from config.json\n");
  /* cut inside the data: the header still names every tensor */
  broken("truncated", "\"rms_norm_eps\"", "\"rms_norm_eps\"", 1000000,
         "milrun convert: %s/model.safetensors: tensor 'model.embed_tokens.weight' ends at byte 1048576 of "
         "the data but the file holds 996832 (truncated?)\n");
}

/* `milrun inspect` shows the converted FFN chunk with Anemll's names (docs/anemll.md §2.2). */
static void test_inspect(void) {
  char b[600], args[800];
  if (convert("qwen3-tiny", "inspect", "--chunks 2", b, sizeof b)) {
    CHECK(0);
    return;
  }
  snprintf(args, sizeof args, "inspect \"%s/qwen_FFN_PF_chunk_02of02.mlmodelc\"", b);
  CHECK_EQ_INT(run(args), 0);
  const char *want[] = {"function infer<ios18>  (default)", "hidden_states                fp16  [1, 1, 64]",
                        "position_ids                 int32 [1]", "causal_mask                  fp16  [1, 1, 1, 256]",
                        "current_pos                  int32 [1]", "model_model_kv_cache_0       fp16  [8, 2, 256, 32]",
                        "output_hidden_states         fp16  [1, 1, 64]", "function prefill<ios18>",
                        "hidden_states                fp16  [1, 64, 64]", "causal_mask                  fp16  [1, 1, 64, 256]",
                        "com.anemll.chunk_no = 2"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) CHECK_MSG(strstr(msg, want[i]) != NULL, "%s", want[i]);
}

/* --argmax: argmax_idx / argmax_val equal each logits part's argmax and maximum on the same input. */
static void test_argmax(void) {
  char plain[600], am[600], args[1600], path[800];
  if (convert("qwen3-tiny", "am-plain", "", plain, sizeof plain) || convert("qwen3-tiny", "am", "--argmax", am, sizeof am)) {
    CHECK(0);
    return;
  }
  snprintf(args, sizeof args, "run \"%s/qwen_lm_head.mlmodelc\" --random 7 --output-dir \"%s/am-out1\"", plain, th_tmpdir());
  CHECK_EQ_INT(run(args), 0);
  snprintf(args, sizeof args, "run \"%s/qwen_lm_head.mlmodelc\" --random 7 --output-dir \"%s/am-out2\"", am, th_tmpdir());
  CHECK_EQ_INT(run(args), 0);
  mr_error err = {0};
  mr_tensor idx, val;
  snprintf(path, sizeof path, "%s/am-out2/argmax_idx.npy", th_tmpdir());
  CHECK_EQ_INT(util_npy_read(path, &idx, &err), MR_OK);
  snprintf(path, sizeof path, "%s/am-out2/argmax_val.npy", th_tmpdir());
  CHECK_EQ_INT(util_npy_read(path, &val, &err), MR_OK);
  CHECK(idx.dtype == MR_INT32 && idx.rank == 1 && idx.shape[0] == 16 && val.shape[0] == 16);
  for (int k = 0; k < 16 && idx.data && val.data; k++) {
    mr_tensor part;
    snprintf(path, sizeof path, "%s/am-out1/logits%d.npy", th_tmpdir(), k + 1);
    CHECK_EQ_INT(util_npy_read(path, &part, &err), MR_OK);
    if (!part.data) continue;
    int64_t n = mr_tensor_count(&part), best = 0;
    float *f = mr_alloc((size_t)n * sizeof *f);
    for (int64_t i = 0; i < n; i++)
      f[i] = part.dtype == MR_FLOAT16 ? util_f16_to_f32(((uint16_t *)part.data)[i]) : ((float *)part.data)[i];
    for (int64_t i = 1; i < n; i++)
      if (f[i] > f[best]) best = i;
    CHECK_EQ_INT(((int32_t *)idx.data)[k], (int)best);
    float v = val.dtype == MR_FLOAT16 ? util_f16_to_f32(((uint16_t *)val.data)[k]) : ((float *)val.data)[k];
    CHECK(v == f[best]);
    mr_free(f);
    mr_free(part.data);
  }
  mr_free(idx.data);
  mr_free(val.data);
}

/* The printed listing names each token's text; --out X.npy holds [T, V] equal to the raw rows. */
static void test_logits_text_and_npy(void) {
  char b[600], args[2048], opt[700];
  snprintf(opt, sizeof opt, "--tokenizer '%s'", th_fixture("tokenizer"));
  if (convert("qwen3-tiny", "logits-tok", opt, b, sizeof b)) {
    CHECK(0);
    return;
  }
  snprintf(args, sizeof args, "logits '%s' --ids '9707 11 1879'", b); /* "Hello, world" */
  CHECK_EQ_INT(run(args), 0);
  CHECK_MSG(!strncmp(msg, "0 9707 'Hello': ", 16) && strstr(msg, "\n1 11 ',': ") && strstr(msg, "\n2 1879 ' world': "), "%s", msg);
  static const int ids[] = {9707, 11, 1879};
  size_t count;
  float *rows = logits(b, ids, 3, 0, &count);
  snprintf(args, sizeof args, "logits '%s' --ids=9707,11,1879 --out '%s/l.npy'", b, th_tmpdir());
  CHECK_EQ_INT(run(args), 0);
  snprintf(opt, sizeof opt, "%s/l.npy", th_tmpdir());
  mr_tensor t = {0};
  mr_error err = {0};
  CHECK_EQ_INT(util_npy_read(opt, &t, &err), MR_OK);
  CHECK(rows && t.rank == 2 && t.shape[0] == 3 && (size_t)(t.shape[0] * t.shape[1]) == count);
  if (rows && t.data && (size_t)mr_tensor_count(&t) == count) CHECK(!memcmp(rows, t.data, count * sizeof(float)));
  mr_free(rows);
  mr_free(t.data);
}

static void test_logits_errors(void) {
  CHECK_EQ_INT(run("logits /nonexistent --ids 1,2"), 1);
  CHECK_EQ_STR(msg, "milrun logits: /nonexistent/meta.yaml: cannot open (an Anemll bundle needs meta.yaml)\n");
  CHECK_EQ_INT(run("logits /nonexistent --ids 1,x"), 2);
  CHECK_EQ_STR(msg, "milrun logits: --ids must be a comma-separated list of token ids, got '1,x'\n");
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"qwen3", test_qwen3},
                                  {"qwen25", test_qwen25},
                                  {"llama", test_llama},
                                  {"python_greedy", test_python_greedy},
                                  {"python_lut8", test_python_lut8},
                                  {"broken_checkpoints", test_broken_checkpoints},
                                  {"logits_errors", test_logits_errors},
                                  {"logits_text_and_npy", test_logits_text_and_npy},
                                  {"inspect", test_inspect},
                                  {"argmax", test_argmax},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
