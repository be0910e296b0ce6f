/* bench.c — `milrun bench MODEL [-p 512] [-n 128] [-r 5] [--threads N] [--json]`: prompt and
 * generation speed of an Anemll-layout LLM, measured as llama.cpp's llama-bench measures its own
 * (so the two tables compare): pp<P> runs a P-token prompt through the embeddings and every chunk's
 * prefill from an empty KV state; tg<N> generates N tokens from an empty state, each one the
 * embeddings, every chunk's infer, the LM head and a greedy (argmax) sample. Each test runs after
 * one warm-up, r times; t/s is the mean ± standard deviation of the per-run rates. Below the table:
 * the mean time of each component call, with the bytes or multiply-adds it did per second against
 * the read bandwidth and fp32 FMA rate of this machine, probed in the same run.
 *
 * The components are driven here through the public bundle API, the way llm/model.c drives them,
 * because the bench times every call on its own. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "commands.h"
#include "exec/kernels/kernels.h"
#include "llm/anemll_names.h"
#include "llm/layout.h"
#include "llm/model.h"
#include "model_path.h"
#include "opts.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"
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

/* ---- the model, one call per component ---------------------------------------------------------- */

/* What a component call does per run, and the time it took in total. */
typedef struct comp {
  char name[48];
  const char *function;
  double seconds;
  long calls;
  double bytes, flops; /* per call: weight bytes read (decode) or multiply-adds x 2 (prefill) */
} comp;

enum { C_EMB_PP, C_EMB_TG, C_LM, C_SAMPLE, C_FIXED }; /* then 2 per chunk: prefill, infer */

typedef struct bench {
  llm_meta meta;
  mr_bundle_options bopts; /* --backend, --compute-units */
  mr_bundle *emb, *lm, **ffn;
  mr_call *emb_call, *lm_call, **prefill, **infer;
  mr_state *kv;
  const char *state_name;
  int hidden, emb_batch, n_parts;
  int64_t vocab;
  double file_bytes, emb_bytes; /* all the components' files; the embeddings' */
  float *h, *mask, *logits;
  int32_t *ids, *pos;
  comp *comps;
  int timing; /* add call times to comps (off during warm-up) */
} bench;

static double dir_bytes(const char *path) {
  char cmd_path[4200];
  double total = 0;
  static const char *const files[] = {"weights/weight.bin", "model.mil", "coremldata.bin", "metadata.json"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    struct stat st;
    snprintf(cmd_path, sizeof cmd_path, "%s/%s", path, files[i]);
    if (!stat(cmd_path, &st)) total += (double)st.st_size;
  }
  return total;
}

static int open_one(bench *b, const char *path, mr_bundle **out, mr_error *err) {
  int rc = util_is_dir(path) ? mr_bundle_open(path, &b->bopts, out, err)
                              : util_err(err, MR_ENOTFOUND, "%s: component not found", path);
  if (!rc) b->file_bytes += dir_bytes(path);
  if (!rc && out == &b->emb) b->emb_bytes = dir_bytes(path);
  return rc;
}

static int open_components(bench *b, const char *dir, mr_error *err) {
  llm_files lay;
  int rc = llm_layout_resolve(dir, &b->meta, &lay, err);
  if (rc) return rc;
  if (lay.mono) rc = util_err(err, MR_ENOTSUP, "%s: a monolithic model cannot be benchmarked by component", dir);
  for (int c = 0; !rc && c < lay.chunks; c++)
    if (strcmp(lay.pf[c], lay.inf[c]))
      rc = util_err(err, MR_ENOTSUP, "%s: split prefill/infer chunks cannot be benchmarked yet", dir);
  if (!rc) rc = open_one(b, lay.emb, &b->emb, err);
  if (!rc) rc = open_one(b, lay.lm, &b->lm, err);
  b->ffn = rc ? NULL : util_calloc((size_t)lay.chunks + 1, sizeof *b->ffn);
  if (!rc && !b->ffn) rc = util_err_nomem(err, "bench");
  for (int c = 0; !rc && c < lay.chunks; c++) rc = open_one(b, lay.pf[c], &b->ffn[c], err);
  llm_files_free(&lay);
  return rc;
}

static int prepare(bench *b, mr_error *err) {
  const mr_io_info *in, *out, *st;
  if (mr_bundle_inputs(b->emb, NULL, &in) != 1 || in[0].rank != 2)
    return util_err(err, MR_EFORMAT, "embeddings: expected one input input_ids [1, T]");
  b->emb_batch = in[0].shape[1] != 1;
  if (mr_bundle_inputs(b->lm, NULL, &in) != 1 || in[0].rank != 3)
    return util_err(err, MR_EFORMAT, "LM head: expected one input hidden_states [1, 1, H]");
  b->hidden = (int)in[0].shape[2];
  b->n_parts = mr_bundle_outputs(b->lm, NULL, &out);
  for (int i = 0; i < b->n_parts && !b->meta.argmax_in_model; i++) b->vocab += out[i].shape[out[i].rank - 1];
  if (mr_bundle_states(b->ffn[0], "prefill", &st) != 1) return util_err(err, MR_EFORMAT, "FFN chunk 1: prefill must declare one state");
  b->state_name = st[0].name;
  int rc = mr_state_new(b->ffn[0], b->state_name, &b->kv, err);
  if (!rc) rc = mr_call_new(b->emb, NULL, &b->emb_call, err);
  if (!rc) rc = mr_call_new(b->lm, NULL, &b->lm_call, err);
  int C = b->meta.chunks;
  b->prefill = rc ? NULL : util_calloc((size_t)C, sizeof *b->prefill);
  b->infer = rc ? NULL : util_calloc((size_t)C, sizeof *b->infer);
  if (!rc && (!b->prefill || !b->infer)) rc = util_err_nomem(err, "bench");
  for (int c = 0; !rc && c < C; c++) {
    rc = mr_call_new(b->ffn[c], "prefill", &b->prefill[c], err);
    if (!rc) rc = mr_call_new(b->ffn[c], "infer", &b->infer[c], err);
    if (!rc) rc = mr_call_set_state(b->prefill[c], b->state_name, b->kv, err);
    if (!rc) rc = mr_call_set_state(b->infer[c], b->state_name, b->kv, err);
  }
  size_t B = (size_t)b->meta.batch, H = (size_t)b->hidden, ctx = (size_t)b->meta.context;
  b->h = mr_alloc(B * H * sizeof(float));
  b->mask = mr_alloc(B * ctx * sizeof(float));
  b->logits = mr_alloc((size_t)(b->vocab + 1) * sizeof(float));
  b->ids = mr_alloc(B * sizeof(int32_t));
  b->pos = mr_alloc(B * sizeof(int32_t));
  b->comps = util_calloc((size_t)(C_FIXED + 2 * C), sizeof *b->comps);
  if (!rc && (!b->h || !b->mask || !b->logits || !b->ids || !b->pos || !b->comps)) rc = util_err_nomem(err, "bench");
  if (!rc && (b->meta.argmax_in_model || !b->vocab))
    rc = util_err(err, MR_ENOTSUP, "the LM head of this bundle returns argmax only, not logits");
  return rc;
}

static void bench_close(bench *b) {
  mr_call_free(b->emb_call);
  mr_call_free(b->lm_call);
  for (int c = 0; c < b->meta.chunks; c++) {
    mr_call_free(b->prefill ? b->prefill[c] : NULL);
    mr_call_free(b->infer ? b->infer[c] : NULL);
  }
  mr_state_free(b->kv);
  mr_bundle_close(b->emb);
  mr_bundle_close(b->lm);
  for (int c = 0; b->ffn && c < b->meta.chunks; c++) mr_bundle_close(b->ffn[c]);
  void *bufs[] = {b->prefill, b->infer, b->ffn, b->h, b->mask, b->logits, b->ids, b->pos, b->comps};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) mr_free(bufs[i]);
}

/* Weight bytes each component reads per call, and the multiply-adds of a prefill batch: weights
 * count as bytes * 8 / bits of their LUT (fp16 when none). */
static void describe_components(bench *b) {
  int C = b->meta.chunks, B = b->meta.batch, lf = anemll_lut_bits(b->meta.lut_ffn);
  double per_weight = lf ? lf / 8.0 : 2.0, emb_row = b->emb_bytes / (double)b->vocab;
  comp fixed[C_FIXED] = {{"embeddings", "prefill", 0, 0, emb_row * B, 0},
                         {"embeddings", "infer", 0, 0, emb_row, 0},
                         {"LM head", "infer", 0, 0, (double)mr_bundle_weight_bytes(b->lm), 0},
                         {"sampling (argmax)", "-", 0, 0, 4.0 * (double)b->vocab, 0}};
  memcpy(b->comps, fixed, sizeof fixed);
  for (int c = 0; c < C; c++) {
    double bytes = (double)mr_bundle_weight_bytes(b->ffn[c]);
    comp *pf = &b->comps[C_FIXED + 2 * c], *in = pf + 1;
    snprintf(pf->name, sizeof pf->name, "FFN chunk %d/%d", c + 1, C);
    memcpy(in->name, pf->name, sizeof in->name);
    pf->function = "prefill", in->function = "infer";
    pf->flops = 2.0 * bytes / per_weight * B;
    in->bytes = bytes;
  }
}

/* Run call and add its time to component k. */
static int timed_run(bench *b, mr_call *call, int k, mr_error *err) {
  double t0 = now();
  int rc = mr_call_run(call, err);
  if (b->timing) b->comps[k].seconds += now() - t0, b->comps[k].calls++;
  return rc;
}

static void to_f32(const mr_tensor *t, float *out, int64_t n) {
  if (t->dtype == MR_FLOAT16)
    for (int64_t i = 0; i < n; i++) out[i] = util_f16_to_f32(((const uint16_t *)t->data)[i]);
  else memcpy(out, t->data, (size_t)n * sizeof(float));
}

/* T token ids through the embeddings into b->h. */
static int embed(bench *b, const int32_t *ids, int T, int k, mr_error *err) {
  int step = b->emb_batch ? T : 1;
  for (int i = 0; i < T; i += step) {
    mr_tensor in = {MR_INT32, 2, {1, step}, (void *)(ids + i)}, o;
    int rc = mr_call_set_input(b->emb_call, "input_ids", &in, err);
    if (!rc) rc = timed_run(b, b->emb_call, k, err);
    if (!rc) rc = mr_call_output(b->emb_call, 0, &o);
    if (rc) return rc;
    to_f32(&o, b->h + (size_t)i * (size_t)b->hidden, (int64_t)step * b->hidden);
  }
  return MR_OK;
}

/* b->h (T rows) through every chunk's prefill (prefill = 1) or infer at positions pos0.. */
static int run_chunks(bench *b, int prefill, int T, int pos0, mr_error *err) {
  static const char *const names[4] = {"hidden_states", "position_ids", "causal_mask", "current_pos"};
  int C = b->meta.context, cur = pos0;
  for (int r = 0; r < T; r++) {
    b->pos[r] = pos0 + r;
    for (int j = 0; j < C; j++) b->mask[(size_t)r * C + j] = j <= pos0 + r ? 0.0f : -INFINITY;
  }
  for (int c = 0; c < b->meta.chunks; c++) {
    mr_call *call = prefill ? b->prefill[c] : b->infer[c];
    mr_tensor in[4] = {{MR_FLOAT32, 3, {1, T, b->hidden}, b->h},
                       {MR_INT32, 1, {T}, b->pos},
                       {MR_FLOAT32, 4, {1, 1, T, C}, b->mask},
                       {MR_INT32, 1, {1}, &cur}},
              o;
    int rc = MR_OK;
    for (int i = 0; i < 4 && !rc; i++) rc = mr_call_set_input(call, names[i], &in[i], err);
    if (!rc) rc = timed_run(b, call, C_FIXED + 2 * c + !prefill, err);
    if (!rc) rc = mr_call_output(call, 0, &o);
    if (rc) return rc;
    to_f32(&o, b->h, mr_tensor_count(&o) < (int64_t)T * b->hidden ? mr_tensor_count(&o) : (int64_t)T * b->hidden);
  }
  return MR_OK;
}

/* The prompt: n ids from an empty state, in batches of B padded with token 0, as chat.py runs it. */
static int run_prompt(bench *b, int n, mr_error *err) {
  int B = b->meta.batch, rc = MR_OK;
  mr_state_reset(b->kv);
  for (int s = 0; s < n && !rc; s += B) {
    for (int i = 0; i < B; i++) b->ids[i] = s + i < n ? (int32_t)((s + i) * 7919 % b->vocab) : 0;
    rc = embed(b, b->ids, B, C_EMB_PP, err);
    if (!rc) rc = run_chunks(b, 1, B, s, err);
  }
  return rc;
}

/* n tokens from an empty state, each the argmax of the last one's logits. */
static int run_gen(bench *b, int n, mr_error *err) {
  int32_t tok = 1;
  mr_state_reset(b->kv);
  for (int p = 0; p < n; p++) {
    int rc = embed(b, &tok, 1, C_EMB_TG, err);
    if (!rc) rc = run_chunks(b, 0, 1, p, err);
    mr_tensor in = {MR_FLOAT32, 3, {1, 1, b->hidden}, b->h}, o;
    if (!rc) rc = mr_call_set_input(b->lm_call, "hidden_states", &in, err);
    if (!rc) rc = timed_run(b, b->lm_call, C_LM, err);
    if (rc) return rc;
    double t0 = now();
    int64_t off = 0, best = 0;
    for (int k = 0; k < b->n_parts; k++) {
      mr_call_output(b->lm_call, k, &o);
      to_f32(&o, b->logits + off, o.shape[o.rank - 1]);
      off += o.shape[o.rank - 1];
    }
    for (int64_t i = 1; i < off; i++) best = b->logits[i] > b->logits[best] ? i : best;
    tok = (int32_t)best;
    if (b->timing) b->comps[C_SAMPLE].seconds += now() - t0, b->comps[C_SAMPLE].calls++;
  }
  return MR_OK;
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
  int rc = gen ? run_gen(b, 1, err) : run_prompt(b, tokens < b->meta.batch ? tokens : b->meta.batch, err);
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

static const char *model_label(const char *dir, const bench *b, char *buf, size_t size) {
  size_t len = strlen(dir);
  const char *base = NULL;
  while (len > 1 && dir[len - 1] == '/') len--; /* "dir/" */
  for (size_t i = 0; i < len; i++)
    if (dir[i] == '/') base = dir + i + 1;
  if (!base) base = dir;
  int lf = anemll_lut_bits(b->meta.lut_ffn);
  char w[16];
  snprintf(w, sizeof w, lf ? "LUT%d" : "F16", lf);
  snprintf(buf, size, "%.*s %s %s", (int)(len - (size_t)(base - dir)), base, b->meta.architecture, w);
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
  for (int k = 0; k < C_FIXED + 2 * b->meta.chunks; k++) {
    const comp *c = &b->comps[k];
    if (!c->calls) continue;
    double t = c->seconds / (double)c->calls, rate = c->flops ? c->flops / t / 1e9 : c->bytes / t / 1e9;
    char ach[32];
    snprintf(ach, sizeof ach, "%.3g %s", rate, c->flops ? "GFLOP/s" : "GB/s");
    printf("| %-20s | %-8s | %6ld | %10.3f | %16s | %7.1f%% |\n", c->name, c->function, c->calls, t * 1e3, ach,
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

/* The table's backend column: "CPU <kernels>" on the CPU executor, else "coreml <compute units>". */
static void executor_label(const mr_bundle *b, char *buf, size_t size) {
  const char *units = mr_bundle_compute_units(b);
  if (!strcmp(mr_bundle_backend(b), "cpu")) snprintf(buf, size, "CPU %s", exec_kernels()->name);
  else snprintf(buf, size, "%s%s%s", mr_bundle_backend(b), units ? " " : "", units ? units : "");
}

static void describe_executors(const bench *b) {
  tool_backend_describe(stderr, "embeddings", b->emb);
  char what[32];
  for (int c = 0; c < b->meta.chunks; c++) {
    snprintf(what, sizeof what, "ffn[%d]", c + 1);
    tool_backend_describe(stderr, what, b->ffn[c]);
  }
  tool_backend_describe(stderr, "lm_head", b->lm);
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

static void print_memory(const bench *b, double load_s) {
  mr_tensor kv;
  mr_state_view(b->kv, &kv);
  double kv_bytes = (double)mr_tensor_count(&kv) * (double)mr_dtype_size(kv.dtype), rss = rss_bytes();
  printf("\nload (map + plan) %.0f ms; resident %.1f MiB = %.2f x (files %.1f MiB + KV state %.1f MiB)\n", load_s * 1e3,
         rss / 1048576.0, rss / (b->file_bytes + kv_bytes), b->file_bytes / 1048576.0, kv_bytes / 1048576.0);
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
    "Measure prompt processing (pp) and generation (tg) speed of an Anemll-layout model (a folder\n"
    "with meta.yaml and the .mlmodelc components, or a Hugging Face id ORG/NAME[@REV]) as llama.cpp's\n"
    "llama-bench measures its own: pp<P> runs a P-token prompt from an empty KV state, tg<N> generates\n"
    "N tokens (greedy) from an empty state; each after one warm-up, r times; t/s is the mean and\n"
    "standard deviation of the runs' rates.",
    opts,
    "output: a markdown table (model, size, backend: CPU and its kernels or coreml and its compute\n"
    "units, threads, test, t/s), then the mean time of each\n"
    "component call with the bytes (decode) or multiply-adds (prefill) it did per second against this\n"
    "machine's read bandwidth and fp32 FMA rate, probed in the same run, then the load time and the\n"
    "resident memory against the model's files and KV state. --json: a list of objects with test,\n"
    "tokens_per_second, stddev, n_prompt, n_gen, threads, model, size, backend and samples_ts.\n",
    1, 1, "MODEL"};
  int npos, prc = tool_parse(&cmd, argc, argv, &model, &npos);
  if (prc) return tool_parse_exit(prc);
  if (threads) mr_set_threads(threads);
  threads = util_pool_size(util_pool_default());
  mr_error err = {0};
  char *dir = NULL;
  int rc = tool_model_path(model, &dir, &err);
  double t_load = now();
  char *yml = rc ? NULL : util_path_join(dir, "meta.yaml");
  if (!rc) rc = yml ? llm_meta_read(yml, &b.meta, &err) : util_err_nomem(&err, "bench");
  mr_free(yml);
  if (!rc) rc = open_components(&b, dir, &err);
  if (!rc) rc = prepare(&b, &err);
  t_load = now() - t_load;
  if (!rc && verbose) describe_executors(&b);
  if (!rc && (P > b.meta.context || N > b.meta.context))
    rc = util_err(&err, MR_EINVAL, "-p %d / -n %d: the context of this model is %d tokens", P, N, b.meta.context);
  result rs[2];
  memset(rs, 0, sizeof rs);
  int n = 0;
  double *samples = rc ? NULL : mr_alloc(2 * (size_t)R * sizeof *samples);
  if (!rc && !samples) rc = util_err_nomem(&err, "bench");
  double gbs = 0, gflops = 0;
  if (!rc && run_probe(&gbs, &gflops)) rc = util_err_nomem(&err, "bench probe");
  if (!rc) describe_components(&b);
  if (!rc && P) rs[n].samples = samples, rc = run_test(&b, 0, P, R, &rs[n++], &err);
  if (!rc && N) rs[n].samples = samples + R, rc = run_test(&b, 1, N, R, &rs[n++], &err);
  if (!rc) {
    char label[256], backend[32];
    model_label(dir, &b, label, sizeof label);
    executor_label(b.emb, backend, sizeof backend);
    if (json) print_json(label, b.file_bytes, backend, threads, rs, n);
    else {
      print_table(label, b.file_bytes, backend, threads, rs, n);
      print_components(&b, gbs, gflops, threads);
      print_memory(&b, t_load);
    }
  } else {
    fprintf(stderr, "milrun bench: %s\n", err.msg);
  }
  mr_free(samples);
  mr_free(dir);
  bench_close(&b);
  return rc ? 1 : 0;
}
