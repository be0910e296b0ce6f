/* test_exec_coreml.c — the Core ML executor (src/exec/coreml/) on Linux, against the stand-in
 * classes of coreml_standin.c, which check every call the way Core ML does and compute with the
 * CPU executor. The converted tiny Qwen3 gives bit-identical logits and KV state on "coreml" and
 * "cpu"; each Core ML call the executor makes is reached (compile, load with function name and
 * compute units, arrays over milrun's buffers, output backings and copies of padded arrays, one
 * shared MLState, state access through handlers); each error carries Core ML's text; predictions
 * on one state never overlap; every object the executor made is released. */
#include <pthread.h>

#include "coreml_standin.h"
#include "exec/coreml/coreml.h"
#include "harness.h"
#include "tiny_llm.h"
#include "util/file.h"
#include "util/fp16.h"

static long setup(void) {
  standin_register();
  CHECK(exec_backend_register(&exec_coreml_backend) == MR_OK);
  return standin_live_objects();
}

static void test_pipeline_matches_cpu(void) {
  long live = setup();
  if (convert_once()) return;
  static result cpu, cm;
  pipeline("cpu", &cpu);
  pipeline("coreml", &cm);
  standin_stats *st = standin_stats_get();
  CHECK_EQ_INT(st->loads, 4);            /* embeddings, FFN infer + prefill, LM head */
  CHECK_EQ_INT((int)st->last_units, 3);  /* MLComputeUnitsCPUAndNeuralEngine */
  CHECK_EQ_INT(st->states_made, 1);
  CHECK_EQ_INT(st->distinct_states, 1);
  CHECK_EQ_INT(st->stateful_predictions, 2);
  CHECK_EQ_INT(st->predictions, 5);
  CHECK(st->outputs_backed >= 16 + 2);   /* LM head's 16 logits parts, the FFN's hidden states */
  CHECK_EQ_INT(st->outputs_made, 2);     /* the embeddings' flexible output, copied from padded rows */
  CHECK(st->state_accesses >= 1);        /* the KV view */
  CHECK(!memcmp(cpu.logits, cm.logits, sizeof cpu.logits));
  CHECK(cpu.kv && cm.kv && cpu.kv_count == cm.kv_count);
  if (cpu.kv && cm.kv) CHECK(!memcmp(cpu.kv, cm.kv, (size_t)cpu.kv_count * 2));
  int64_t nonzero = 0;
  for (int64_t i = 0; cm.kv && i < cm.kv_count; i++) nonzero += cm.kv[i] != 0;
  CHECK(nonzero > 1000);
  mr_free(cpu.kv), mr_free(cm.kv);
  CHECK_EQ_INT((int)standin_live_objects(), (int)live);
}

/* Function names and compute units reach MLModelConfiguration; --verbose's name comes back. */
static void test_function_names_and_compute_units(void) {
  setup();
  if (convert_once()) return;
  static const char *const names[] = {"all", "cpu-and-ne", "cpu-and-gpu", "cpu"};
  static const long units[] = {2, 3, 1, 0};
  for (int i = 0; i < 4; i++) {
    tiny_units = names[i];
    mr_bundle *b = open_part("FFN_PF_chunk_01of01", "coreml");
    if (!b) continue;
    CHECK_EQ_INT((int)standin_stats_get()->last_units, (int)units[i]);
    CHECK_EQ_STR(standin_stats_get()->last_function, "prefill"); /* the last of the two functions */
    CHECK_EQ_STR(mr_bundle_compute_units(b), names[i]);
    CHECK_EQ_STR(mr_bundle_backend(b), "coreml");
    mr_bundle_close(b);
  }
  tiny_units = NULL;
  mr_bundle *lm = open_part("lm_head", "coreml");
  CHECK_EQ_STR(standin_stats_get()->last_function, ""); /* one function: no functionName set */
  CHECK(mr_bundle_compute_units(lm) && !strcmp(mr_bundle_compute_units(lm), "cpu-and-ne"));
  mr_bundle_close(lm);
  char path[800];
  snprintf(path, sizeof path, "%s/qwen_lm_head.mlmodelc", model_dir);
  mr_bundle_options o = {"coreml", 0, "gpu"};
  mr_bundle *b = NULL;
  mr_error err = {0};
  CHECK_EQ_INT(mr_bundle_open(path, &o, &b, &err), MR_EINVAL);
  CHECK(strstr(err.msg, "unknown compute units 'gpu' (all, cpu-and-ne, cpu-and-gpu or cpu)") != NULL);
}

static int open_err(const char *part, mr_error *err) {
  char path[800];
  snprintf(path, sizeof path, "%s/qwen_%s.mlmodelc", model_dir, part);
  mr_bundle_options o = {"coreml", 0, NULL};
  mr_bundle *b = NULL;
  int rc = mr_bundle_open(path, &o, &b, err);
  CHECK(rc != MR_OK && b == NULL);
  mr_bundle_close(b);
  return rc;
}

static void test_errors_carry_core_ml_text(void) {
  long live = setup();
  if (convert_once()) return;
  mr_error err = {0};
  standin_hide_function("prefill");
  CHECK_EQ_INT(open_err("FFN_PF_chunk_01of01", &err), MR_EFORMAT);
  CHECK(strstr(err.msg, "qwen_FFN_PF_chunk_01of01.mlmodelc: Core ML cannot load function 'prefill': Function name "
                        "'prefill' not found in the model.") != NULL);
  standin_hide_function(NULL);
  standin_set_os_major(14);
  CHECK_EQ_INT(open_err("FFN_PF_chunk_01of01", &err), MR_ENOTSUP);
  CHECK(strstr(err.msg, "a model with 2 functions needs MLModelConfiguration.functionName (macOS 15 / iOS 18)") != NULL);
  standin_set_os_major(15);
  /* an input Core ML rejects: a sequence of no tokens */
  mr_bundle *emb = open_part("embeddings", "coreml");
  mr_call *c = NULL;
  int32_t id0 = 0;
  mr_tensor in = {MR_INT32, 2, {1, 0}, &id0};
  if (emb && !mr_call_new(emb, NULL, &c, &err) && !mr_call_set_input(c, "input_ids", &in, &err)) {
    CHECK_EQ_INT(mr_call_run(c, &err), MR_EINVAL);
    CHECK(strstr(err.msg, "qwen_embeddings.mlmodelc: function 'main': input 'input_ids': Core ML refused the array: "
                          "MultiArray dimension 1 has size 0; sizes must be positive") != NULL);
  }
  mr_call_free(c);
  mr_bundle_close(emb);
  CHECK_EQ_INT((int)standin_live_objects(), (int)live);
}

/* A one-function stateful model (an accumulator: y = x + state, state = y), as a .mlmodelc Apple's
 * compiler made (it has coremldata.bin): no functionName is set, predictions go through the state,
 * and the sums are those of a plain loop. On an OS without MLState it is refused with a reason. */
static const char k_accumulator[] =
  "program(1.3)\n"
  "{\n"
  "    func main<ios18>(state<tensor<fp16, [1, 4]>> acc, tensor<fp16, [1, 4]> x) {\n"
  "            tensor<fp16, [1, 4]> old = read_state(input = acc)[name = string(\"old\")];\n"
  "            tensor<fp16, [1, 4]> y = add(x = x, y = old)[name = string(\"y\")];\n"
  "            write_state(data = y, input = acc)[name = string(\"acc_write\")];\n"
  "        } -> (y);\n"
  "}\n";

static void test_one_function_state(void) {
  long live = setup();
  char dir[700], path[800];
  snprintf(dir, sizeof dir, "%s/accumulator.mlmodelc", th_tmpdir());
  mr_error err = {0};
  CHECK(util_mkdirs(dir, &err) == MR_OK);
  snprintf(path, sizeof path, "%s/model.mil", dir);
  CHECK(util_write_file_atomic(path, k_accumulator, sizeof k_accumulator - 1, &err) == MR_OK);
  snprintf(path, sizeof path, "%s/coremldata.bin", dir);
  CHECK(util_write_file_atomic(path, "x", 1, &err) == MR_OK);
  mr_bundle_options o = {"coreml", 0, "cpu"};
  mr_bundle *b = NULL;
  standin_set_os_major(14);
  CHECK_EQ_INT(mr_bundle_open(dir, &o, &b, &err), MR_ENOTSUP);
  CHECK(strstr(err.msg, "accumulator.mlmodelc: stateful models need MLState (macOS 15 / iOS 18); this OS's Core ML is "
                        "older (use --backend cpu)") != NULL);
  standin_set_os_major(15);
  err.msg[0] = 0;
  mr_state *acc = NULL;
  mr_call *c = NULL;
  uint16_t x[4] = {0x3c00, 0x4000, 0xbc00, 0x3800}; /* 1, 2, -1, 0.5 */
  mr_tensor in = {MR_FLOAT16, 2, {1, 4}, x}, y;
  if (!mr_bundle_open(dir, &o, &b, &err) && !mr_state_new(b, "acc", &acc, &err) &&
      !mr_call_new(b, NULL, &c, &err) && !mr_call_set_input(c, "x", &in, &err) && !mr_call_set_state(c, "acc", acc, &err)) {
    CHECK_EQ_STR(standin_stats_get()->last_function, "");
    CHECK_EQ_INT((int)standin_stats_get()->last_units, 0);
    for (int k = 1; k <= 3; k++) {
      CHECK(mr_call_run(c, &err) == MR_OK && mr_call_output(c, 0, &y) == MR_OK);
      for (int i = 0; i < 4; i++) CHECK_NEAR(util_f16_to_f32(((uint16_t *)y.data)[i]), k * util_f16_to_f32(x[i]), 0);
    }
  }
  CHECK_MSG(!err.msg[0], "%s", err.msg);
  mr_call_free(c);
  mr_state_free(acc);
  mr_bundle_close(b);
  CHECK_EQ_INT((int)standin_live_objects(), (int)live);
}

/* A model that is not a .mlmodelc is compiled by Core ML once; the result is kept in .milrun-cache
 * next to it under a key of its contents: reopening compiles nothing, an edit compiles again and
 * drops the stale entry, and a compile failure carries Core ML's text. */
static int cache_entries(const char *cache, char *first, size_t cap) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ls \"%s\" 2>/dev/null", cache);
  FILE *p = popen(cmd, "r");
  int n = 0;
  char line[512];
  while (p && fgets(line, sizeof line, p))
    if (n++ == 0) snprintf(first, cap, "%.*s", (int)strcspn(line, "\n"), line);
  if (p) pclose(p);
  return n;
}

static void test_package_compiled_once_and_cached(void) {
  long live = setup();
  if (convert_once()) return;
  char pkg[900], cmd[2400], cache[1000], entry[512] = "", entry2[512] = "";
  snprintf(pkg, sizeof pkg, "%s/cached/lm.mlpackage", th_tmpdir());
  snprintf(cache, sizeof cache, "%s/cached/.milrun-cache", th_tmpdir());
  snprintf(cmd, sizeof cmd, "mkdir -p \"%s/cached\" && cp -R \"%s/qwen_lm_head.mlmodelc\" \"%s\"", th_tmpdir(), model_dir, pkg);
  CHECK(system(cmd) == 0);
  mr_bundle_options o = {"coreml", 0, NULL};
  mr_bundle *b = NULL;
  mr_error err = {0};
  standin_stats *st = standin_stats_get();
  CHECK(mr_bundle_open(pkg, &o, &b, &err) == MR_OK);
  mr_bundle_close(b);
  CHECK_EQ_INT(st->compiles, 1);
  CHECK_EQ_INT(cache_entries(cache, entry, sizeof entry), 1);
  CHECK(!strncmp(entry, "lm-", 3) && strlen(entry) == 3 + 16 + 9 && strstr(entry, ".mlmodelc"));
  CHECK(mr_bundle_open(pkg, &o, &b, &err) == MR_OK);
  mr_bundle_close(b);
  CHECK_EQ_INT(st->compiles, 1); /* from the cache */
  snprintf(cmd, sizeof cmd, "echo '# edited' >> \"%s/model.mil\"", pkg);
  CHECK(system(cmd) == 0);
  CHECK(mr_bundle_open(pkg, &o, &b, &err) == MR_OK);
  mr_bundle_close(b);
  CHECK_EQ_INT(st->compiles, 2);
  CHECK_EQ_INT(cache_entries(cache, entry2, sizeof entry2), 1);
  CHECK(strcmp(entry, entry2) != 0);
  CHECK(system(cmd) == 0);
  standin_fail_next_compile();
  CHECK_EQ_INT(mr_bundle_open(pkg, &o, &b, &err), MR_EFORMAT);
  CHECK(strstr(err.msg, "lm.mlpackage: Core ML cannot compile it: Failed to parse the model specification. Error: "
                        "Unable to parse ML Program") != NULL);
  CHECK(b == NULL);
  CHECK_EQ_INT((int)standin_live_objects(), (int)live);
}

/* mr_state_view hands out a copy; writes through it reach the state at the next view or run, and
 * mr_state_reset zeroes Core ML's buffer. */
static void test_state_view_and_reset(void) {
  long live = setup();
  if (convert_once()) return;
  mr_bundle *ff = open_part("FFN_PF_chunk_01of01", "coreml");
  mr_state *kv = NULL;
  mr_error err = {0};
  if (!ff || mr_state_new(ff, "model_model_kv_cache_0", &kv, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    mr_bundle_close(ff);
    return;
  }
  mr_tensor v;
  mr_state_view(kv, &v);
  CHECK_EQ_INT(v.dtype, MR_FLOAT16);
  uint16_t *p = v.data;
  p[0] = 0x3c00, p[v.shape[3] + 1] = 0x4000; /* 1.0, 2.0 */
  mr_state_view(kv, &v);                      /* written back, read again through Core ML */
  p = v.data;
  CHECK_EQ_INT(p[0], 0x3c00);
  CHECK_EQ_INT(p[v.shape[3] + 1], 0x4000);
  p[0] = 0x1234;
  mr_state_reset(kv);
  mr_state_view(kv, &v);
  p = v.data;
  int64_t nonzero = 0;
  for (int64_t i = 0; i < mr_tensor_count(&v); i++) nonzero += p[i] != 0;
  CHECK_EQ_INT((int)nonzero, 0);
  CHECK(standin_stats_get()->state_accesses >= 5);
  mr_state_free(kv);
  mr_bundle_close(ff);
  CHECK_EQ_INT((int)standin_live_objects(), (int)live);
}

/* Two bundles (two FFN chunks, as an LLM has) share one state from two threads: Core ML sees their
 * predictions one after the other. */
typedef struct worker {
  mr_bundle *b;
  mr_state *kv;
  int rc;
} worker;

static void *infer_three_times(void *arg) {
  worker *w = arg;
  static uint16_t h[128], no_mask[256];
  int32_t p0 = 0, cur = 0;
  mr_tensor in[4] = {{MR_FLOAT16, 3, {1, 1, 128}, h}, {MR_INT32, 1, {1}, &p0}, {MR_FLOAT16, 4, {1, 1, 1, 256}, no_mask},
                     {MR_INT32, 1, {1}, &cur}};
  static const char *const names[4] = {"hidden_states", "position_ids", "causal_mask", "current_pos"};
  mr_call *c = NULL;
  mr_error err = {0};
  w->rc = mr_call_new(w->b, "infer", &c, &err);
  for (int i = 0; i < 4 && !w->rc; i++) w->rc = mr_call_set_input(c, names[i], &in[i], &err);
  if (!w->rc) w->rc = mr_call_set_state(c, "model_model_kv_cache_0", w->kv, &err);
  for (int k = 0; k < 3 && !w->rc; k++) w->rc = mr_call_run(c, &err);
  mr_call_free(c);
  return NULL;
}

static void test_predictions_on_one_state_do_not_overlap(void) {
  long live = setup();
  if (convert_once()) return;
  worker w[2] = {{open_part("FFN_PF_chunk_01of01", "coreml"), NULL, 0}, {open_part("FFN_PF_chunk_01of01", "coreml"), NULL, 0}};
  mr_error err = {0};
  if (w[0].b && w[1].b && !mr_state_new(w[0].b, "model_model_kv_cache_0", &w[0].kv, &err)) {
    w[1].kv = w[0].kv;
    standin_set_prediction_delay_us(20000);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, infer_three_times, &w[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    standin_set_prediction_delay_us(0);
    CHECK_EQ_INT(w[0].rc, MR_OK);
    CHECK_EQ_INT(w[1].rc, MR_OK);
    CHECK_EQ_INT(standin_stats_get()->stateful_predictions, 6);
    CHECK_EQ_INT(standin_stats_get()->overlaps, 0);
    CHECK_EQ_INT(standin_stats_get()->distinct_states, 1);
    CHECK_EQ_INT(standin_stats_get()->states_made, 1);
  }
  mr_state_free(w[0].kv);
  mr_bundle_close(w[0].b);
  mr_bundle_close(w[1].b);
  CHECK_EQ_INT((int)standin_live_objects(), (int)live);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"pipeline_matches_cpu", test_pipeline_matches_cpu},
    {"function_names_and_compute_units", test_function_names_and_compute_units},
    {"errors_carry_core_ml_text", test_errors_carry_core_ml_text},
    {"one_function_state", test_one_function_state},
    {"package_compiled_once_and_cached", test_package_compiled_once_and_cached},
    {"state_view_and_reset", test_state_view_and_reset},
    {"predictions_on_one_state_do_not_overlap", test_predictions_on_one_state_do_not_overlap},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
