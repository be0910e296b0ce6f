/* test_exec_backend.c — the executor seam (exec/executor.h): a second executor, registered here,
 * that records every call and forwards it to the CPU executor, runs a converted tiny LLM
 * (tests/fixtures/models/qwen3-tiny-python through `milrun convert`) through the public API alone:
 * prefill then infer over the shared fp16 KV state, selected by mr_bundle_options.backend. Its
 * logits and final state are bit-identical to the "cpu" executor's, and the calls it saw are
 * exactly the ones the API made. */
#include "exec/executor.h"
#include "harness.h"
#include "tiny_llm.h"
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

static const exec_backend recorder = {.name = "recorder", .open = rec_open, .close = rec_close,
                                      .state_new = rec_state_new, .state_free = exec_state_release,
                                      .predict = rec_predict, .weight_bytes = rec_weight_bytes};

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
  mr_bundle_options o = {"tpu", 0, NULL};
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
