/* bench.c — `milrun bench MODEL [-p 512] [-n 128] [-r 5] [--threads N] [--json]`: prompt and
 * generation speed of an Anemll-layout LLM, measured as llama.cpp's llama-bench measures its own
 * (so the two tables compare) and on exactly what `generate` runs: the model opened by
 * mr_model_open, one session with the default sampler (seed 0; greedy for an argmax head).
 * pp<P> feeds a P-token prompt to the emptied session (prefilled in the model's mode) and computes
 * its first token; tg<N> generates N tokens after one from an empty session, stop tokens ignored,
 * each the embeddings, every chunk's infer, the LM head and the sampler. Each test runs after one
 * warm-up, r times; t/s is the mean ± standard deviation of the per-run rates. Below the table: the
 * mean time of each stage's calls from the session's counters (the FFN row sums every chunk), with
 * the bytes or multiply-adds of the positions computed per second against the read bandwidth and
 * fp32 FMA rate of this machine, probed in the same run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "commands.h"
#include "exec/kernels/kernels.h"
#include "llm/anemll_names.h"
#include "llm/model.h"
#include "opts.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/pool.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- the machine's roofline: read bandwidth and fp32 FMA rate --------------------------------- */

#define PROBE_MIB 256 /* far beyond the caches */
#define FMA_K 256     /* the FMA probe's operands stay in L1/L2 */
#define FMA_N 64

typedef struct probe {
  const uint64_t *buf;
  size_t words;
  uint64_t sums[64];
  float *w, *x, *y; /* per thread: FMA_K x 4 weights, FMA_K x FMA_N activations, 4 x FMA_N out */
  int reps;
} probe;

static void read_part(void *ctx, int ith, int nth) {
  probe *p = ctx;
  size_t lo = p->words * (size_t)ith / (size_t)nth, hi = p->words * (size_t)(ith + 1) / (size_t)nth;
  uint64_t acc[8] = {0};
  for (size_t i = lo; i + 8 <= hi; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += p->buf[i + l];
  for (int l = 0; l < 8; l++) p->sums[ith & 63] += acc[l];
}

static void fma_part(void *ctx, int ith, int nth) {
  probe *p = ctx;
  (void)nth;
  const exec_kernel_table *k = exec_kernels();
  float *w = p->w + (size_t)ith * 4 * FMA_K, *x = p->x + (size_t)ith * FMA_K * FMA_N, *y = p->y + (size_t)ith * 4 * FMA_N;
  for (int r = 0; r < p->reps; r++) k->gemm(w, FMA_K, 4, x, FMA_N, FMA_N, FMA_K, y, FMA_N);
}

/* Best of five passes of each probe on every thread of the pool: GB/s (1e9 bytes/s) read and
 * GFLOP/s of the prefill micro-kernel on operands in cache (each pass a few milliseconds, so that
 * one preempted thread does not decide it). Returns -1 when out of memory. */
static int run_probe(double *gbs, double *gflops) {
  util_pool *pool = util_pool_default();
  int nth = util_pool_size(pool);
  probe p = {0};
  p.words = (size_t)PROBE_MIB << 17;
  uint64_t *buf = mr_alloc(p.words * 8);
  p.w = mr_alloc((size_t)nth * (4 + 4 * FMA_N + FMA_N) * FMA_K * sizeof(float));
  if (!buf || !p.w) {
    mr_free(buf), mr_free(p.w);
    return -1;
  }
  for (size_t i = 0; i < p.words; i++) buf[i] = i * 2654435761u; /* touch every page */
  p.buf = buf;
  p.x = p.w + (size_t)nth * 4 * FMA_K;
  p.y = p.x + (size_t)nth * FMA_K * FMA_N;
  for (size_t i = 0; i < (size_t)nth * (4 * FMA_K + FMA_K * FMA_N + 4 * FMA_N); i++) p.w[i] = (float)(i % 7) * 0.125f;
  p.reps = 2000;
  *gbs = *gflops = 0;
  for (int pass = 0; pass < 5; pass++) {
    double t0 = now();
    util_pool_run(pool, read_part, &p);
    double t1 = now();
    util_pool_run(pool, fma_part, &p);
    double t2 = now();
    double g = (double)p.words * 8 / (t1 - t0) / 1e9, f = 2.0 * 4 * FMA_N * FMA_K * p.reps * nth / (t2 - t1) / 1e9;
    *gbs = g > *gbs ? g : *gbs;
    *gflops = f > *gflops ? f : *gflops;
  }
  mr_free(buf);
  mr_free(p.w);
  return 0;
}

/* ---- the model, through the session `generate` uses ------------------------------------------- */

/* A component's time and calls over the timed runs, and the work it did in them. */
typedef struct comp {
  const char *name, *function;
  double ms;
  int64_t calls;
  double bytes, flops; /* weight bytes read (decode) or multiply-adds x 2 (prefill), all calls */
} comp;

/* The session's stages (mr_session_stats calls/ms: embeddings, FFN, LM head, sampler) in the
 * prompt and the generation tests. */
enum { C_EMB_PP, C_EMB_TG, C_FFN_PP, C_FFN_TG, C_LM, C_SAMPLE, C_N };

typedef struct bench {
  mr_bundle_options bopts; /* --backend, --compute-units */
  mr_model *m;
  mr_session *s;
  mr_model_info info;
  llm_meta meta;   /* meta.yaml when the model has one (label and LUT bits), else zeros */
  int32_t *ids;    /* the prompt */
  comp comps[C_N];
  int timing;      /* add the stages' counters to comps (off during warm-up) */
} bench;

static int bench_open(bench *b, const char *model, int P, mr_error *err) {
  mr_hub_options hub = {0};
  mr_model_options mo = {.hub = &hub, .bundle = b->bopts};
  int rc = mr_model_open(model, &mo, &b->m, err);
  if (!rc) rc = mr_session_new(b->m, NULL, &b->s, err); /* the default sampler, seed 0 */
  if (rc) return rc;
  mr_model_info_get(b->m, &b->info);
  char *yml = util_path_join(mr_model_dir(b->m), "meta.yaml");
  mr_error ignored = {0};
  if (!yml || !util_exists(yml) || llm_meta_read(yml, &b->meta, &ignored)) memset(&b->meta, 0, sizeof b->meta);
  mr_free(yml);
  b->ids = mr_alloc(((size_t)P + 1) * sizeof *b->ids);
  if (!b->ids) return util_err_nomem(err, "bench");
  for (int i = 0; i <= P; i++) b->ids[i] = (int32_t)((int64_t)(i + 1) * 7919 % b->info.vocab);
  static const char *const names[C_N][2] = {{"embeddings", "prefill"}, {"embeddings", "infer"},
                                            {"FFN (all chunks)", "prefill"}, {"FFN (all chunks)", "infer"},
                                            {"LM head", "infer"}, {"sampling", "-"}};
  for (int k = 0; k < C_N; k++) b->comps[k].name = names[k][0], b->comps[k].function = names[k][1];
  return MR_OK;
}

static void bench_close(bench *b) {
  mr_session_free(b->s);
  mr_model_close(b->m);
  mr_free(b->ids);
}

/* Bytes per weight of the FFN: its LUT's bits, fp16 when none (or no meta.yaml says). */
static double ffn_bytes_per_weight(const bench *b) {
  int bits = anemll_lut_bits(b->meta.lut_ffn);
  return bits ? bits / 8.0 : 2.0;
}

/* The stages' counters between before and now into the prompt (gen = 0) or generation rows, with
 * the work of `tokens` positions computed. */
static void account(bench *b, const mr_session_stats *before, int gen, int tokens) {
  if (!b->timing) return;
  mr_session_stats now_st;
  mr_session_stats_get(b->s, &now_st);
  const mr_model_info *in = &b->info;
  double emb_row = (double)in->emb_bytes / (double)in->vocab, T = tokens;
  int rows[4] = {gen ? C_EMB_TG : C_EMB_PP, gen ? C_FFN_TG : C_FFN_PP, C_LM, C_SAMPLE};
  /* a prompt's feed runs no LM head and samples nothing: those rows count generation alone */
  double bytes[4] = {emb_row * T, gen ? (double)in->ffn_bytes * T : 0, gen ? (double)in->head_bytes * T : 0,
                     gen ? 4.0 * (double)in->vocab * T : 0};
  double flops[4] = {0, gen ? 0 : 2.0 * (double)in->ffn_bytes / ffn_bytes_per_weight(b) * T, 0, 0};
  for (int k = 0; k < 4; k++) {
    comp *c = &b->comps[rows[k]];
    c->calls += now_st.calls[k] - before->calls[k];
    c->ms += now_st.ms[k] - before->ms[k];
    c->bytes += bytes[k], c->flops += flops[k];
  }
}

/* pp: a P-token prompt fed to an empty session (prefilled in the model's mode) and its first
 * token, as `generate` computes a prompt; the rows take the feed alone. */
static int run_prompt(bench *b, int P, mr_error *err) {
  mr_session_stats st;
  mr_generate_options one = {.max_tokens = 1, .ignore_stop = 1};
  mr_session_reset(b->s);
  mr_session_stats_get(b->s, &st);
  int rc = mr_session_feed(b->s, b->ids, (size_t)P, err);
  if (!rc) account(b, &st, 0, P - 1); /* the last prompt token is computed by the first step */
  return rc ? rc : mr_session_generate(b->s, &one, NULL, NULL, NULL, err);
}

/* tg: N tokens generated after one, from an empty session, stop tokens ignored. */
static int run_gen(bench *b, int N, mr_error *err) {
  mr_session_stats st;
  mr_generate_options gen = {.max_tokens = N, .ignore_stop = 1};
  mr_session_reset(b->s);
  int rc = mr_session_feed(b->s, b->ids, 1, err);
  mr_session_stats_get(b->s, &st);
  if (!rc) rc = mr_session_generate(b->s, &gen, NULL, NULL, NULL, err);
  if (!rc) account(b, &st, 1, N);
  return rc;
}

/* ---- the tests and their report ------------------------------------------------------------------ */

typedef struct result {
  char test[32];
  int n_prompt, n_gen;
  double mean, std; /* tokens/s */
  double *samples;
  int n;
} result;

/* One warm-up (untimed), then reps timed runs of the prompt (gen = 0) or the generation test. */
static int run_test(bench *b, int gen, int tokens, int reps, result *r, mr_error *err) {
  snprintf(r->test, sizeof r->test, "%s%d", gen ? "tg" : "pp", tokens);
  r->n_prompt = gen ? 0 : tokens, r->n_gen = gen ? tokens : 0;
  b->timing = 0;
  int warm = tokens < b->info.batch ? tokens : b->info.batch;
  int rc = gen ? run_gen(b, 1, err) : run_prompt(b, warm, err);
  b->timing = 1;
  double sum = 0, sq = 0;
  for (int i = 0; !rc && i < reps; i++) {
    double t0 = now();
    rc = gen ? run_gen(b, tokens, err) : run_prompt(b, tokens, err);
    r->samples[i] = tokens / (now() - t0);
    sum += r->samples[i];
  }
  r->n = reps;
  r->mean = sum / reps;
  for (int i = 0; i < reps; i++) sq += (r->samples[i] - r->mean) * (r->samples[i] - r->mean);
  r->std = reps > 1 ? sqrt(sq / (reps - 1)) : 0;
  return rc;
}

static const char *model_label(const bench *b, char *buf, size_t size) {
  const char *dir = mr_model_dir(b->m);
  size_t len = strlen(dir);
  const char *base = NULL;
  while (len > 1 && dir[len - 1] == '/') len--; /* "dir/" */
  for (size_t i = 0; i < len; i++)
    if (dir[i] == '/') base = dir + i + 1;
  if (!base) base = dir;
  int lf = anemll_lut_bits(b->meta.lut_ffn);
  char w[40] = "";
  if (b->meta.architecture[0]) snprintf(w, sizeof w, lf ? " %s LUT%d" : " %s F16", b->meta.architecture, lf);
  snprintf(buf, size, "%.*s%s", (int)(len - (size_t)(base - dir)), base, w);
  return buf;
}

static void print_table(const char *model, double size, const char *backend, int threads, const result *rs, int n) {
  printf("| %-30s | %10s | %-12s | %7s | %13s | %20s |\n", "model", "size", "backend", "threads", "test", "t/s");
  printf("| %.30s | %.10s | %.12s | %.7s | %.13s | %.20s |\n", "------------------------------",
         "---------:", "------------", "------:", "------------:", "-------------------:");
  for (int i = 0; i < n; i++) {
    char sz[32], ts[48];
    snprintf(sz, sizeof sz, "%.2f MiB", size / 1048576.0);
    snprintf(ts, sizeof ts, "%.2f ± %.2f", rs[i].mean, rs[i].std);
    printf("| %-30s | %10s | %-12s | %7d | %13s | %20s |\n", model, sz, backend, threads, rs[i].test, ts);
  }
}

static void print_components(const bench *b, double gbs, double gflops, int threads) {
  printf("\nroofline probe (%d threads): read %.2f GB/s, fp32 FMA %.1f GFLOP/s (%s kernels)\n\n", threads, gbs, gflops,
         exec_kernels()->name);
  printf("| %-20s | %-8s | %6s | %10s | %16s | %8s |\n", "component", "function", "calls", "mean ms", "achieved",
         "of probe");
  printf("| -------------------- | -------- | -----: | ---------: | ---------------: | -------: |\n");
  for (int k = 0; k < C_N; k++) {
    const comp *c = &b->comps[k];
    if (!c->calls) continue;
    double rate = (c->flops ? c->flops : c->bytes) / (c->ms * 1e-3) / 1e9;
    char ach[32];
    snprintf(ach, sizeof ach, "%.3g %s", rate, c->flops ? "GFLOP/s" : "GB/s");
    printf("| %-20s | %-8s | %6lld | %10.3f | %16s | %7.1f%% |\n", c->name, c->function, (long long)c->calls,
           c->ms / (double)c->calls, ach,
           100.0 * rate / (c->flops ? gflops : gbs));
  }
}

static void print_json(const char *model, double size, const char *backend, int threads, const result *rs, int n) {
  printf("[\n");
  for (int i = 0; i < n; i++) {
    printf("  {\"model\": \"");
    for (const char *s = model; *s; s++) printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    printf("\", \"size\": %.0f, \"backend\": \"%s\", \"threads\": %d, \"test\": \"%s\", \"n_prompt\": %d, "
           "\"n_gen\": %d, \"tokens_per_second\": %.4f, \"stddev\": %.4f, \"samples_ts\": [",
           size, backend, threads, rs[i].test, rs[i].n_prompt, rs[i].n_gen, rs[i].mean, rs[i].std);
    for (int k = 0; k < rs[i].n; k++) printf("%s%.4f", k ? ", " : "", rs[i].samples[k]);
    printf("]}%s\n", i + 1 < n ? "," : "");
  }
  printf("]\n");
}

/* The table's backend column: "CPU <kernels>" on the CPU executor, else "coreml <compute units>"
 * (of the first component). */
static void executor_label(const mr_model *m, char *buf, size_t size) {
  const mr_bundle *b = mr_model_component(m, 0, NULL);
  const char *units = mr_bundle_compute_units(b);
  if (!strcmp(mr_bundle_backend(b), "cpu")) snprintf(buf, size, "CPU %s", exec_kernels()->name);
  else snprintf(buf, size, "%s%s%s", mr_bundle_backend(b), units ? " " : "", units ? units : "");
}

static void describe_executors(const mr_model *m) {
  const char *what;
  for (int i = 0; mr_model_component(m, i, &what); i++) tool_backend_describe(stderr, what, mr_model_component(m, i, NULL));
}

/* Resident memory of this process in bytes (Linux; 0 elsewhere). */
static double rss_bytes(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = strtod(line + 6, NULL);
  if (f) fclose(f);
  return kb * 1024;
}

static void print_memory(const bench *b) {
  mr_session_stats st;
  mr_session_stats_get(b->s, &st);
  double files = (double)b->info.file_bytes, kv = (double)b->info.state_bytes, rss = rss_bytes();
  printf("\nload (map + plan) %.0f ms; resident %.1f MiB = %.2f x (files %.1f MiB + KV state %.1f MiB)\n", st.load_ms,
         rss / 1048576.0, rss / (files + kv), files / 1048576.0, kv / 1048576.0);
}

int tool_bench(int argc, char **argv) {
  const char *model = NULL;
  int P = 512, N = 128, R = 5, threads = 0, json = 0, verbose = 0;
  bench b = {0};
  const tool_opt opts[] = {
    {"n-prompt", 'p', OPT_INT, &P, "N", "prompt length of the pp test (default 512; 0 skips it)", 0, 1 << 20, NULL},
    {"n-gen", 'n', OPT_INT, &N, "N", "tokens generated by the tg test (default 128; 0 skips it)", 0, 1 << 20, NULL},
    {"repetitions", 'r', OPT_INT, &R, "N", "timed runs of each test (default 5)", 1, 1000, NULL},
    {"threads", 't', OPT_INT, &threads, "N", "threads (default: $MILRUN_THREADS, else every CPU)", 1, 64, NULL},
    {"json", 0, OPT_FLAG, &json, NULL, "print a JSON list of results instead of the tables", 0, 0, NULL},
    TOOL_BACKEND_OPTS(&b.bopts),
    {"verbose", 'v', OPT_FLAG, &verbose, NULL, "say which executor and compute units run each component", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "bench", "MODEL [options]",
    "Measure prompt processing (pp) and generation (tg) speed of an Anemll-layout model, opened as\n"
    "`generate` opens it (demo, a folder with meta.yaml, a model-config JSON or a Hugging Face id\n"
    "ORG/NAME[@REV]) and run through the same session, as llama.cpp's llama-bench measures its own:\n"
    "pp<P> feeds a P-token prompt to an empty session (prefilled in the model's mode) up to its first\n"
    "token, tg<N> generates N tokens from an empty session with generate's default sampler (seed 0;\n"
    "stop tokens ignored); each after one warm-up, r times; t/s is the mean and standard deviation of\n"
    "the runs' rates.",
    opts,
    "output: a markdown table (model, size, backend: CPU and its kernels or coreml and its compute\n"
    "units, threads, test, t/s), then the session's counters:\n"
    "each stage's mean call time (the FFN row sums every chunk) with the bytes (decode) or\n"
    "multiply-adds (prefill) of the positions computed per second against this\n"
    "machine's read bandwidth and fp32 FMA rate, probed in the same run (integer LUT products count\n"
    "2 operations per multiply-add too, and may exceed the fp32 probe), then the load time and the\n"
    "resident memory against the model's files and KV state. --json: a list of objects with test,\n"
    "tokens_per_second, stddev, n_prompt, n_gen, threads, model, size, backend and samples_ts.\n",
    1, 1, "MODEL"};
  int npos, prc = tool_parse(&cmd, argc, argv, &model, &npos);
  if (prc) return tool_parse_exit(prc);
  if (threads) mr_set_threads(threads);
  threads = util_pool_size(util_pool_default());
  mr_error err = {0};
  int rc = bench_open(&b, model, P, &err);
  if (!rc && verbose) describe_executors(b.m);
  if (!rc && (P > b.info.context || N > b.info.context))
    rc = util_err(&err, MR_EINVAL, "-p %d / -n %d: the context of this model is %d tokens", P, N, b.info.context);
  result rs[2];
  memset(rs, 0, sizeof rs);
  int n = 0;
  double *samples = rc ? NULL : mr_alloc(2 * (size_t)R * sizeof *samples);
  if (!rc && !samples) rc = util_err_nomem(&err, "bench");
  double gbs = 0, gflops = 0;
  if (!rc && run_probe(&gbs, &gflops)) rc = util_err_nomem(&err, "bench probe");
  if (!rc && P) rs[n].samples = samples, rc = run_test(&b, 0, P, R, &rs[n++], &err);
  if (!rc && N) rs[n].samples = samples + R, rc = run_test(&b, 1, N, R, &rs[n++], &err);
  if (!rc) {
    char label[256], backend[32];
    model_label(&b, label, sizeof label);
    executor_label(b.m, backend, sizeof backend);
    double size = (double)b.info.file_bytes;
    if (json) print_json(label, size, backend, threads, rs, n);
    else {
      print_table(label, size, backend, threads, rs, n);
      print_components(&b, gbs, gflops, threads);
      print_memory(&b);
    }
  } else {
    fprintf(stderr, "milrun bench: %s\n", err.msg);
  }
  mr_free(samples);
  bench_close(&b);
  return rc ? 1 : 0;
}
