/* test_exec_backend.c — the executor seam (exec/executor.h): a second executor, registered here,
 * that records every call and forwards it to the CPU executor, runs a converted tiny LLM
 * (tests/fixtures/models/qwen3-tiny-python through `milrun convert`) through the public API alone:
 * prefill then infer over the shared fp16 KV state, selected by mr_bundle_options.backend. Its
 * logits and final state are bit-identical to the "cpu" executor's, and the calls it saw are
 * exactly the ones the API made. */
#include <stdlib.h>
#include <sys/wait.h>

#include "exec/executor.h"
#include "harness.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"

/* ---- the recording executor ----------------------------------------------------------------- */

enum { MAX_LOG = 64 };
static struct {
  int opens, closes, states, predicts;
  int function[MAX_LOG]; /* function index of each predict */
  int n_inputs[MAX_LOG];
} rec;

static const exec_backend recorder;

static int rec_open(const mil_model *m, const mr_bundle_options *o, void **impl, mr_error *err) {
  rec.opens++;
  return exec_cpu_backend.open(m, o, impl, err);
}

static void rec_close(void *impl) {
  rec.closes++;
  exec_cpu_backend.close(impl);
}

static int rec_state_new(void *impl, const mr_io_info *info, mr_state **out, mr_error *err) {
  rec.states++;
  int rc = exec_cpu_backend.state_new(impl, info, out, err);
  if (!rc) (*out)->be = &recorder; /* the state belongs to this executor */
  return rc;
}

static int rec_predict(void *impl, const exec_call *call, mr_error *err) {
  if (rec.predicts < MAX_LOG) {
    rec.function[rec.predicts] = call->function;
    rec.n_inputs[rec.predicts] = call->n_inputs;
  }
  rec.predicts++;
  return exec_cpu_backend.predict(impl, call, err);
}

static size_t rec_weight_bytes(void *impl) { return exec_cpu_backend.weight_bytes(impl); }

static const exec_backend recorder = {"recorder", rec_open, rec_close, rec_state_new, exec_state_release,
                                      rec_predict, rec_weight_bytes};

/* ---- the model -------------------------------------------------------------------------------- */

static char model_dir[600];

static int convert_once(void) {
  if (model_dir[0]) return 0;
  const char *milrun = getenv("MR_MILRUN");
  CHECK(milrun != NULL);
  if (!milrun) return -1;
  snprintf(model_dir, sizeof model_dir, "%s/qwen3-tiny", th_tmpdir());
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "\"%s\" convert \"%s\" \"%s\" --context 256 --quiet >/dev/null 2>&1", milrun,
           th_fixture("models/qwen3-tiny-python"), model_dir);
  int st = system(cmd);
  CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed", cmd);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static mr_bundle *open_part(const char *part, const char *backend) {
  char path[800];
  snprintf(path, sizeof path, "%s/qwen_%s.mlmodelc", model_dir, part);
  mr_bundle_options o = {backend, 0};
  mr_bundle *b = NULL;
  mr_error err = {0};
  CHECK_MSG(mr_bundle_open(path, &o, &b, &err) == MR_OK, "%s", err.msg);
  return b;
}

enum { B = 64, C = 256, H = 128, PROMPT = 5, PARTS = 16, VOCAB_PART = 9496 };

/* What one pipeline run produces: the logits of the token after the prompt and the final KV. */
typedef struct result {
  uint16_t logits[PARTS * VOCAB_PART];
  uint16_t *kv;
  int64_t kv_count;
} result;

static uint16_t hidden[B * H], mask[B * C];
static int32_t ids[B], pos[B];

static void causal_rows(int row0, int n) {
  for (int r = 0; r < n; r++)
    for (int j = 0; j < C; j++) mask[r * C + j] = j <= row0 + r ? 0 : 0xFC00; /* fp16 0 and -inf */
}

/* Embeddings of ids[0..n) into hidden (fp16). */
static int embed(mr_bundle *emb, int n, mr_error *err) {
  mr_call *c;
  mr_tensor in = {MR_INT32, 2, {1, n}, ids}, out;
  int rc = mr_call_new(emb, NULL, &c, err);
  if (!rc) rc = mr_call_set_input(c, "input_ids", &in, err);
  if (!rc) rc = mr_call_run(c, err);
  if (!rc) rc = mr_call_output_by_name(c, "hidden_states", &out, err);
  if (!rc) memcpy(hidden, out.data, (size_t)n * H * sizeof(uint16_t));
  mr_call_free(c);
  return rc;
}

/* One FFN function over T tokens at position p0; its output replaces hidden. */
static int ffn(mr_bundle *b, const char *fn, mr_state *kv, int T, int p0, mr_error *err) {
  int32_t cur = p0;
  mr_tensor in[4] = {{MR_FLOAT16, 3, {1, T, H}, hidden}, {MR_INT32, 1, {T}, pos},
                     {MR_FLOAT16, 4, {1, 1, T, C}, mask}, {MR_INT32, 1, {1}, &cur}};
  static const char *const names[4] = {"hidden_states", "position_ids", "causal_mask", "current_pos"};
  mr_call *c;
  mr_tensor out;
  int rc = mr_call_new(b, fn, &c, err);
  for (int i = 0; i < 4 && !rc; i++) rc = mr_call_set_input(c, names[i], &in[i], err);
  if (!rc) rc = mr_call_set_state(c, "model_model_kv_cache_0", kv, err);
  if (!rc) rc = mr_call_run(c, err);
  if (!rc) rc = mr_call_output(c, 0, &out);
  if (!rc) memcpy(hidden, out.data, (size_t)mr_tensor_count(&out) * sizeof(uint16_t));
  mr_call_free(c);
  return rc;
}

static int lm_head(mr_bundle *lm, result *r, mr_error *err) {
  mr_call *c;
  mr_tensor in = {MR_FLOAT16, 3, {1, 1, H}, hidden}, out;
  int rc = mr_call_new(lm, NULL, &c, err);
  if (!rc) rc = mr_call_set_input(c, "hidden_states", &in, err);
  if (!rc) rc = mr_call_run(c, err);
  if (!rc && mr_call_output_count(c) != PARTS) rc = util_err(err, MR_ESHAPE, "LM head has %d outputs", mr_call_output_count(c));
  for (int k = 0; k < PARTS && !rc; k++) {
    rc = mr_call_output(c, k, &out);
    if (!rc && (out.dtype != MR_FLOAT16 || mr_tensor_count(&out) != VOCAB_PART)) rc = MR_ESHAPE;
    if (!rc) memcpy(r->logits + k * VOCAB_PART, out.data, VOCAB_PART * sizeof(uint16_t));
  }
  mr_call_free(c);
  return rc;
}

/* Prefill the prompt, infer the next token, read the logits: all through milrun.h. */
static void pipeline(const char *backend, result *r) {
  mr_bundle *emb = open_part("embeddings", backend), *ff = open_part("FFN_PF_chunk_01of01", backend),
            *lm = open_part("lm_head", backend);
  mr_state *kv = NULL;
  mr_error err = {0};
  int rc = emb && ff && lm ? mr_state_new(ff, "model_model_kv_cache_0", &kv, &err) : MR_EINVAL;
  if (!rc) CHECK_EQ_STR(mr_bundle_backend(ff), backend ? backend : "cpu");
  for (int i = 0; i < B; i++) ids[i] = i < PROMPT ? 100 + 37 * i : 0, pos[i] = i;
  causal_rows(0, B);
  if (!rc) rc = embed(emb, B, &err);
  if (!rc) rc = ffn(ff, "prefill", kv, B, 0, &err);
  ids[0] = 1234, pos[0] = PROMPT;
  causal_rows(PROMPT, 1);
  if (!rc) rc = embed(emb, 1, &err);
  if (!rc) rc = ffn(ff, "infer", kv, 1, PROMPT, &err);
  if (!rc) rc = lm_head(lm, r, &err);
  CHECK_MSG(rc == MR_OK, "%s: %s", backend, err.msg);
  if (!rc) {
    mr_tensor view;
    mr_state_view(kv, &view);
    CHECK_EQ_INT(view.dtype, MR_FLOAT16);
    r->kv_count = mr_tensor_count(&view);
    r->kv = mr_alloc((size_t)r->kv_count * sizeof(uint16_t));
    if (r->kv) memcpy(r->kv, view.data, (size_t)r->kv_count * sizeof(uint16_t));
  }
  mr_state_free(kv);
  mr_bundle_close(emb);
  mr_bundle_close(ff);
  mr_bundle_close(lm);
}

static void test_recording_executor_matches_cpu(void) {
  CHECK(exec_backend_register(&recorder) == MR_OK);
  if (convert_once()) return;
  static result cpu, other;
  memset(&rec, 0, sizeof rec);
  pipeline(NULL, &cpu); /* NULL = "cpu" */
  CHECK_EQ_INT(rec.opens + rec.predicts + rec.states, 0);
  pipeline("recorder", &other);
  /* the seam saw exactly what the API asked for */
  CHECK_EQ_INT(rec.opens, 3);
  CHECK_EQ_INT(rec.closes, 3);
  CHECK_EQ_INT(rec.states, 1);
  CHECK_EQ_INT(rec.predicts, 5);
  static const int want_fn[5] = {0, 1, 0, 0, 0}; /* embed, FFN prefill (2nd function), embed, FFN infer, LM head */
  static const int want_inputs[5] = {1, 4, 1, 4, 1};
  for (int i = 0; i < 5; i++) {
    CHECK_EQ_INT(rec.function[i], want_fn[i]);
    CHECK_EQ_INT(rec.n_inputs[i], want_inputs[i]);
  }
  /* bit-identical logits and KV state */
  CHECK(!memcmp(cpu.logits, other.logits, sizeof cpu.logits));
  CHECK(cpu.kv && other.kv && cpu.kv_count == other.kv_count);
  if (cpu.kv && other.kv) CHECK(!memcmp(cpu.kv, other.kv, (size_t)cpu.kv_count * sizeof(uint16_t)));
  /* and not trivially so: the prompt left keys in the cache and the logits are finite, not all equal */
  int64_t nonzero = 0;
  for (int64_t i = 0; cpu.kv && i < cpu.kv_count; i++) nonzero += cpu.kv[i] != 0;
  CHECK(nonzero > 1000);
  int distinct = 0, finite = 0;
  for (int i = 0; i < PARTS * VOCAB_PART; i++) {
    float f = util_f16_to_f32(cpu.logits[i]);
    finite += f > -1e4f && f < 1e4f;
    distinct += cpu.logits[i] != cpu.logits[0];
  }
  CHECK_EQ_INT(finite, PARTS * VOCAB_PART);
  CHECK(distinct > 1000);
  mr_free(cpu.kv);
  mr_free(other.kv);
}

/* A state belongs to the executor that made it; an unknown executor name is reported. */
static void test_states_stay_with_their_executor(void) {
  CHECK(exec_backend_register(&recorder) == MR_OK);
  if (convert_once()) return;
  mr_bundle *cpu = open_part("FFN_PF_chunk_01of01", "cpu"), *other = open_part("FFN_PF_chunk_01of01", "recorder");
  mr_state *kv = NULL;
  mr_call *c = NULL;
  mr_error err = {0};
  if (cpu && other && mr_state_new(other, "model_model_kv_cache_0", &kv, &err) == MR_OK &&
      mr_call_new(cpu, "infer", &c, &err) == MR_OK) {
    CHECK_EQ_INT(mr_call_set_state(c, "model_model_kv_cache_0", kv, &err), MR_ESHAPE);
    CHECK(strstr(err.msg, "has another type or executor than the one given") != NULL);
  } else {
    CHECK_MSG(0, "%s", err.msg);
  }
  mr_call_free(c);
  mr_state_free(kv);
  mr_bundle_close(cpu);
  mr_bundle_close(other);
  char path[800];
  snprintf(path, sizeof path, "%s/qwen_lm_head.mlmodelc", model_dir);
  mr_bundle_options o = {"tpu", 0};
  mr_bundle *b = NULL;
  CHECK_EQ_INT(mr_bundle_open(path, &o, &b, &err), MR_ENOTFOUND);
  CHECK(b == NULL);
  char expect[1024];
  snprintf(expect, sizeof expect, "%s: no executor named 'tpu'", path);
  CHECK_EQ_STR(err.msg, expect);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"recording_executor_matches_cpu", test_recording_executor_matches_cpu},
    {"states_stay_with_their_executor", test_states_stay_with_their_executor},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
