/* test_tool_bench.c — `milrun bench` on the tiny Qwen3 fixture converted with a small context and
 * batch: the llama-bench-style table, the per-stage table of the session's counters (calls counted
 * from -p, -n, -r and the batch), the --json list (fields, and each mean and std recomputed from its samples), and the
 * errors. Timings themselves are never asserted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "harness.h"

static char msg[65536];
static char model[600];

static int run(const char *args) { return th_milrun(args, msg, sizeof msg); }

/* qwen3-tiny with context 64 and batch 16, converted once. */
static const char *tiny(void) {
  if (model[0]) return model;
  char args[2048];
  snprintf(model, sizeof model, "%s/qwen3-bench", th_tmpdir());
  snprintf(args, sizeof args, "convert \"%s/models/qwen3-tiny\" \"%s\" --context 64 --batch 16 --quiet",
           getenv("MR_FIXTURES"), model);
  int rc = run(args);
  CHECK_MSG(rc == 0, "%s", msg);
  return model;
}

/* The line of msg that starts with `prefix`, or NULL. */
static const char *line_with(const char *prefix) {
  for (const char *s = msg; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
    if (!strncmp(s, prefix, strlen(prefix))) return s;
  return NULL;
}

/* The integer after the col-th '|' past the first one of the line at s (col 2: the third column). */
static long column(const char *s, int col) {
  for (int c = 0; s && c < col; c++) s = strchr(s + 1, '|');
  return s ? strtol(s + 1, NULL, 10) : -1;
}

static void test_table(void) {
  char args[1024];
  snprintf(args, sizeof args, "bench \"%s\" -p 20 -n 5 -r 2 --threads 1", tiny());
  CHECK_EQ_INT(run(args), 0);
  CHECK(line_with("| model                          |       size | backend      | threads |          test |"));
  const char *pp = strstr(msg, "|          pp20 |"), *tg = strstr(msg, "|           tg5 |");
  CHECK(pp && tg && pp < tg);
  CHECK(strstr(msg, "qwen3 F16") && strstr(msg, " ± "));
  CHECK(line_with("roofline probe (1 threads): read "));
  CHECK(line_with("load (map + plan) "));
  /* the first 19 of 20 prompt tokens in padded batches of 16 (the 20th comes with the first token,
   * outside the prefill rows): 2 prefill calls per run; 5 tokens: 5 of everything else */
  const char *pf = line_with("| FFN (all chunks)     | prefill  |"), *in = line_with("| FFN (all chunks)     | infer    |");
  const char *lm = line_with("| LM head              | infer    |"), *sm = line_with("| sampling             | -        |");
  const char *ep = line_with("| embeddings           | prefill  |"), *ei = line_with("| embeddings           | infer    |");
  CHECK(pf && in && lm && sm && ep && ei);
  CHECK_EQ_INT(column(pf, 2), 4);
  CHECK_EQ_INT(column(ep, 2), 4);
  CHECK_EQ_INT(column(ei, 2), 10);
  CHECK_EQ_INT(column(in, 2), 10);
  CHECK_EQ_INT(column(lm, 2), 10);
  CHECK_EQ_INT(column(sm, 2), 10);
  CHECK(pf && strstr(pf, "GFLOP/s") && strstr(pf, "GFLOP/s") < strchr(pf, '\n'));
  CHECK(in && strstr(in, "GB/s") && strstr(in, "GB/s") < strchr(in, '\n'));
}

static void check_result(const cJSON *o, const char *test, int n_prompt, int n_gen) {
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "test")), test);
  CHECK_EQ_INT(cJSON_GetObjectItem(o, "n_prompt")->valueint, n_prompt);
  CHECK_EQ_INT(cJSON_GetObjectItem(o, "n_gen")->valueint, n_gen);
  CHECK_EQ_INT(cJSON_GetObjectItem(o, "threads")->valueint, 1);
  const cJSON *s = cJSON_GetObjectItem(o, "samples_ts");
  CHECK_EQ_INT(cJSON_GetArraySize(s), 3);
  double sum = 0, sq = 0, mean = cJSON_GetObjectItem(o, "tokens_per_second")->valuedouble;
  for (const cJSON *e = s->child; e; e = e->next) sum += e->valuedouble;
  for (const cJSON *e = s->child; e; e = e->next) sq += (e->valuedouble - sum / 3) * (e->valuedouble - sum / 3);
  CHECK(mean > 0);
  CHECK_NEAR(mean, sum / 3, 1e-3 * mean + 1e-3);
  CHECK_NEAR(cJSON_GetObjectItem(o, "stddev")->valuedouble, sqrt(sq / 2), 1e-3 * mean + 1e-3);
}

static void test_json(void) {
  char args[1024];
  snprintf(args, sizeof args, "bench \"%s\" -p 16 -n 3 -r 3 --threads 1 --json", tiny());
  CHECK_EQ_INT(run(args), 0);
  cJSON *j = cJSON_Parse(msg);
  CHECK_MSG(j && cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2, "%s", msg);
  if (!j || cJSON_GetArraySize(j) != 2) {
    cJSON_Delete(j);
    return;
  }
  check_result(cJSON_GetArrayItem(j, 0), "pp16", 16, 0);
  check_result(cJSON_GetArrayItem(j, 1), "tg3", 0, 3);
  CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "size")->valuedouble > 0);
  cJSON_Delete(j);
  snprintf(args, sizeof args, "bench \"%s\" -p 0 -n 2 -r 1 --json", tiny());
  CHECK_EQ_INT(run(args), 0);
  j = cJSON_Parse(msg);
  CHECK(j && cJSON_GetArraySize(j) == 1);
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "test")), "tg2");
  cJSON_Delete(j);
}

static void test_errors(void) {
  char args[1024];
  snprintf(args, sizeof args, "bench \"%s\" -p 65", tiny());
  CHECK_EQ_INT(run(args), 1);
  CHECK_EQ_STR(msg, "milrun bench: -p 65 / -n 128: the context of this model is 64 tokens\n");
  CHECK_EQ_INT(run("bench /nonexistent"), 1);
  CHECK_EQ_STR(msg, "milrun bench: model /nonexistent: no such file or folder, and not a Hugging Face id ORG/NAME[@REV]\n");
  snprintf(args, sizeof args, "bench \"%s\" -p 4 -n 1 -r 1 --backend nosuch", tiny());
  CHECK_EQ_INT(run(args), 1);
  CHECK_MSG(strstr(msg, "nosuch") != NULL, "%s", msg);
  snprintf(args, sizeof args, "bench \"%s\" -p 4 -n 1 -r 1 --backend cpu --verbose", tiny());
  CHECK_EQ_INT(run(args), 0);
  CHECK_MSG(line_with("ffn[1]: executor cpu") && line_with("lm_head: executor cpu"), "%s", msg);
  CHECK(strstr(msg, "| CPU ") != NULL);
  CHECK_EQ_INT(run("bench /nonexistent -r 0"), 2);
  CHECK_EQ_STR(msg, "milrun bench: -r expects an integer from 1 to 1000, got '0'\n(milrun bench --help lists the options)\n");
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"table", test_table}, {"json", test_json}, {"errors", test_errors}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
