/* test_llm_coreml_session.c — the whole generation pipeline (mr_model_open + mr_session) on the
 * Core ML executor, on Linux through the stand-in classes of coreml_standin.c (which check every
 * call as Core ML does and compute with the CPU executor). The tiny Qwen3 fixture is converted at
 * test time with --format both (FFN palettized to 8 bits, the converter's default) and run as
 * .mlmodelc and as .mlpackage: greedy decoding on "coreml" gives the same tokens as on "cpu", the
 * model's options reach every component's mr_bundle_open, and one KV state is shared by every call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "coreml_standin.h"
#include "exec/coreml/coreml.h"
#include "harness.h"
#include "milrun.h"
#include "tiny_convert.h"
#include "util/file.h"

enum { PROMPT = 70, GEN = 12 }; /* two prefill batches of 64 (the last padded), then decoding */

typedef struct run {
  int32_t tokens[GEN];
  int n, finish;
} run;

static int collect(void *ud, int32_t id, const char *text, size_t len) {
  (void)text, (void)len;
  run *r = ud;
  if (id >= 0 && r->n < GEN) r->tokens[r->n++] = id;
  return 0;
}

/* Open the model in dir on `backend`, check each component's executor, feed PROMPT ids and decode GEN
 * tokens greedily. */
static void generate(const char *dir, const char *backend, const char *units, run *r) {
  mr_model_options mo = {.bundle = {backend, 0, units}};
  mr_model *m = NULL;
  mr_session *s = NULL;
  mr_error err = {0};
  *r = (run){0};
  int rc = mr_model_open(dir, &mo, &m, &err);
  CHECK_MSG(rc == MR_OK, "%s: %s", backend, err.msg);
  if (rc) return;
  const char *what;
  int parts = 0;
  for (const mr_bundle *b; (b = mr_model_component(m, parts, &what)); parts++) {
    CHECK_EQ_STR(mr_bundle_backend(b), backend);
    if (!strcmp(backend, "coreml")) CHECK_EQ_STR(mr_bundle_compute_units(b), units ? units : "cpu-and-ne");
    else CHECK(mr_bundle_compute_units(b) == NULL);
  }
  CHECK_EQ_INT(parts, 3);
  CHECK(mr_model_component(m, 1, &what) && !strcmp(what, "ffn[1]"));
  mr_session_options so = {.has_sampling = 1};
  mr_sampling_defaults(&so.sampling);
  so.sampling.temperature = 0; /* greedy */
  rc = mr_session_new(m, &so, &s, &err);
  int32_t ids[PROMPT];
  for (int i = 0; i < PROMPT; i++) ids[i] = (int32_t)((1000 + 7919 * i) % 150000);
  if (!rc) rc = mr_session_feed(s, ids, PROMPT, &err);
  mr_generate_options go = {.max_tokens = GEN, .ignore_stop = 1};
  if (!rc) rc = mr_session_generate(s, &go, collect, r, &r->finish, &err);
  CHECK_MSG(rc == MR_OK, "%s: %s", backend, err.msg);
  CHECK_EQ_INT(r->n, GEN);
  mr_session_free(s);
  mr_model_close(m);
}

static void setup(void) {
  standin_register();
  CHECK(exec_backend_register(&exec_coreml_backend) == MR_OK);
}

/* Decoding must depend on the prompt (else equal tokens would prove little). */
static void check_not_constant(const run *r) {
  int distinct = 0;
  for (int i = 1; i < r->n; i++) distinct += r->tokens[i] != r->tokens[0];
  CHECK_MSG(distinct > 0, "all %d greedy tokens are %d", r->n, r->tokens[0]);
}

static void test_mlmodelc_coreml_matches_cpu(void) {
  setup();
  if (tiny_convert("--format both")) return;
  long live = standin_live_objects();
  run cpu, cm;
  generate(model_dir, "cpu", NULL, &cpu);
  CHECK_EQ_INT(standin_stats_get()->predictions, 0);
  generate(model_dir, "coreml", NULL, &cm);
  standin_stats *st = standin_stats_get();
  CHECK_EQ_INT(st->compiles, 0);         /* .mlmodelc: loaded as compiled */
  CHECK_EQ_INT(st->loads, 4);            /* embeddings, FFN infer + prefill, LM head */
  CHECK_EQ_INT((int)st->last_units, 3);  /* MLComputeUnitsCPUAndNeuralEngine */
  CHECK_EQ_INT(st->states_made, 1);
  CHECK_EQ_INT(st->distinct_states, 1);
  CHECK_EQ_INT(st->overlaps, 0);
  /* 2 prefill batches, then GEN infer steps (the first on the last prompt token, as chat.py) */
  CHECK_EQ_INT(st->stateful_predictions, 2 + GEN);
  CHECK(st->predictions > st->stateful_predictions);
  check_not_constant(&cpu);
  CHECK(!memcmp(cpu.tokens, cm.tokens, sizeof cpu.tokens));
  CHECK_EQ_INT((int)standin_live_objects(), (int)live);
}

/* The same model with only its packages: compiled once by "Core ML", cached, the same tokens. */
static void test_mlpackage_coreml_matches_cpu(void) {
  setup();
  if (tiny_convert("--format both")) return;
  char pkg_dir[600], cmd[4096], to[700];
  snprintf(pkg_dir, sizeof pkg_dir, "%s-packages", model_dir);
  snprintf(cmd, sizeof cmd, "rm -rf \"%s\" && cp -r \"%s\" \"%s\" && rm -rf \"%s\"/*.mlmodelc", pkg_dir, model_dir, pkg_dir,
           pkg_dir);
  int st = system(cmd);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  snprintf(to, sizeof to, "%s/qwen_lm_head.mlpackage", pkg_dir);
  CHECK(util_is_dir(to));
  snprintf(to, sizeof to, "%s/qwen_lm_head.mlmodelc", pkg_dir);
  CHECK(!util_is_dir(to));
  run cpu, cm, again;
  generate(pkg_dir, "cpu", NULL, &cpu);
  generate(pkg_dir, "coreml", "cpu-and-gpu", &cm);
  CHECK_EQ_INT(standin_stats_get()->compiles, 3); /* embeddings, FFN_PF, LM head */
  CHECK_EQ_INT((int)standin_stats_get()->last_units, 1); /* MLComputeUnitsCPUAndGPU */
  generate(pkg_dir, "coreml", "cpu-and-gpu", &again);
  CHECK_EQ_INT(standin_stats_get()->compiles, 3); /* the second start uses the cache */
  check_not_constant(&cpu);
  CHECK(!memcmp(cpu.tokens, cm.tokens, sizeof cpu.tokens));
  CHECK(!memcmp(cpu.tokens, again.tokens, sizeof cpu.tokens));
  run mlmodelc;
  generate(model_dir, "cpu", NULL, &mlmodelc);
  CHECK(!memcmp(cpu.tokens, mlmodelc.tokens, sizeof cpu.tokens)); /* the two formats hold one model */
}

/* A bad option reaches mr_bundle_open and fails the model with its message. */
static void test_bad_options_fail_the_model(void) {
  setup();
  if (tiny_convert("--format both")) return;
  mr_model_options mo = {.bundle = {"coreml", 0, "gpu"}};
  mr_model *m = NULL;
  mr_error err = {0};
  CHECK_EQ_INT(mr_model_open(model_dir, &mo, &m, &err), MR_EINVAL);
  CHECK(strstr(err.msg, "unknown compute units 'gpu'") != NULL);
  CHECK(m == NULL);
  mo.bundle = (mr_bundle_options){"tpu", 0, NULL};
  CHECK_EQ_INT(mr_model_open(model_dir, &mo, &m, &err), MR_ENOTFOUND);
  CHECK(m == NULL);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"mlmodelc_coreml_matches_cpu", test_mlmodelc_coreml_matches_cpu},
                                  {"mlpackage_coreml_matches_cpu", test_mlpackage_coreml_matches_cpu},
                                  {"bad_options_fail_the_model", test_bad_options_fail_the_model},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
