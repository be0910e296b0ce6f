/* gen_common.c — see gen_common.h. */
#include "gen_common.h"

#include "backend.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/utf8.h"

static int seed_opt(void *dest, const char *v, char *why, size_t whysz) {
  char *end;
  errno = 0;
  long long seed = strtoll(v, &end, 10);
  if (end != v && !*end && !errno && seed >= 0) {
    *(long long *)dest = seed;
    return 0;
  }
  snprintf(why, whysz, "not an integer from 0 to %lld: '%s'", LLONG_MAX, v);
  return 1;
}

void gen_args_init(gen_args *a, int default_max_tokens, const tool_opt *own, tool_opt t[GEN_OPTS]) {
  *a = (gen_args){.max_tokens = default_max_tokens, .temperature = 0.8, .top_k = 40, .top_p = 0.95, .min_p = 0.05,
                  .repeat_penalty = 1.0, .repeat_last_n = 64, .seed = -1};
  const double big = 1 << 30;
  const tool_opt common[] = {
    {"model", 'm', OPT_STR, &a->model, "MODEL", "demo, a model folder, a model-config JSON or" OPT_NL
     "ORG/NAME[@REV] (default " MR_DEFAULT_MODEL ")", 0, 0, NULL},
    {"max-tokens", 'n', OPT_INT, &a->max_tokens, "N", "tokens to generate at most (0: until a stop token)", 0, big, NULL},
    {"context", 'c', OPT_INT, &a->context, "N", "positions to use, at most the model's (default: the model's)", 0, big, NULL},
    {"keep", 0, OPT_INT, &a->keep, "N", "tokens kept at the start when the context is full and" OPT_NL "shifts (default 0)", 0,
     big, NULL},
    {"no-shift", 0, OPT_FLAG, &a->no_shift, NULL, "stop at a full context instead of shifting it", 0, 0, NULL},
    {"temperature", 0, OPT_DOUBLE, &a->temperature, "T", "sampling temperature (default 0.8; 0: greedy)", 0, 0, NULL},
    {"top-k", 0, OPT_INT, &a->top_k, "K", "keep the K most likely tokens (default 40; 0: off)", 0, big, NULL},
    {"top-p", 0, OPT_DOUBLE, &a->top_p, "P", "keep the most likely tokens up to probability P" OPT_NL "(default 0.95; 1: off)", 0,
     1, NULL},
    {"min-p", 0, OPT_DOUBLE, &a->min_p, "P", "drop tokens less likely than P x the best one" OPT_NL "(default 0.05; 0: off)", 0, 1,
     NULL},
    {"repeat-penalty", 0, OPT_DOUBLE, &a->repeat_penalty, "X", "penalise repeated tokens (default 1.0: off)", 0, 0, NULL},
    {"repeat-last-n", 0, OPT_INT, &a->repeat_last_n, "N", "tokens the penalties look back over (default 64)", 0, big, NULL},
    {"presence-penalty", 0, OPT_DOUBLE, &a->presence_penalty, "X", "subtract X from seen tokens (default 0)", 0, 0, NULL},
    {"frequency-penalty", 0, OPT_DOUBLE, &a->frequency_penalty, "X", "subtract X per occurrence (default 0)", 0, 0, NULL},
    {"seed", 's', OPT_FN, &a->seed, "N", "random seed (default: a new one each run)", 0, 0, seed_opt},
    {"threads", 't', OPT_INT, &a->threads, "N", "CPU threads (default: $MILRUN_THREADS, else all)", 0, 4096, NULL},
    TOOL_BACKEND_OPTS(&a->bundle),
    {"system", 0, OPT_STR, &a->system, "TEXT", "system prompt", 0, 0, NULL},
    {"no-think", 0, OPT_FLAG, &a->no_think, NULL, "disable Qwen3 thinking (enable_thinking=False)", 0, 0, NULL},
    {"ignore-eos", 0, OPT_FLAG, &a->ignore_eos, NULL, "do not stop at stop tokens", 0, 0, NULL},
    {"verbose", 'v', OPT_FLAG, &a->verbose, NULL, "say which executor and compute units run each component," OPT_NL
     "and print each component call with shapes and time", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  size_t n = 0;
  for (; own && own[n].name && n < GEN_OWN_OPTS; n++) t[n] = own[n];
  memcpy(t + n, common, sizeof common);
}

const char gen_sampling_help[] =
  "Sampling follows llama.cpp's chain and defaults, in this order: repetition / presence / frequency\n"
  "penalties over the last --repeat-last-n tokens, top-k, top-p, min-p (on probabilities at\n"
  "temperature 1), temperature, then a seeded draw. --temperature 0 is greedy. The same seed, build\n"
  "and thread count give the same tokens.\n";

static void trace_line(void *ud, const char *line) { fprintf((FILE *)ud, "[verbose] %s\n", line); }

int gen_open(const char *cmd, gen_args *a, mr_model **m, mr_session **s) {
  *m = NULL;
  *s = NULL;
  if (a->threads) mr_set_threads(a->threads);
  mr_error err = {0};
  mr_hub_options hub = {0};
  mr_model_options mo = {.hub = &hub, .bundle = a->bundle};
  if (mr_model_open(a->model, &mo, m, &err)) {
    fprintf(stderr, "milrun %s: %s\n", cmd, err.msg);
    return 1;
  }
  if (a->seed < 0) a->seed = (long long)((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16));
  mr_session_options so = {.context = a->context, .keep = a->keep, .no_shift = a->no_shift, .has_sampling = 1};
  so.sampling = (mr_sampling){(float)a->temperature, a->top_k, (float)a->top_p, (float)a->min_p, (float)a->repeat_penalty,
                              a->repeat_last_n, (float)a->presence_penalty, (float)a->frequency_penalty, (uint64_t)a->seed};
  if (mr_model_argmax_only(*m) && a->temperature > 0) {
    fprintf(stderr, "milrun %s: note: this model's LM head computes the argmax (Anemll --argmax): decoding is greedy\n", cmd);
    so.sampling.temperature = 0;
  }
  if (a->verbose) {
    so.trace = trace_line;
    so.trace_ud = stderr;
    fprintf(stderr, "[verbose] model %s: context %d, vocabulary %lld, seed %lld\n", mr_model_dir(*m), mr_model_context(*m),
            (long long)mr_model_vocab(*m), a->seed);
    const char *what;
    char label[64];
    for (int i = 0; mr_model_component(*m, i, &what); i++) {
      snprintf(label, sizeof label, "[verbose] %s", what);
      tool_backend_describe(stderr, label, mr_model_component(*m, i, NULL));
    }
  }
  if (mr_session_new(*m, &so, s, &err)) {
    fprintf(stderr, "milrun %s: %s\n", cmd, err.msg);
    mr_model_close(*m);
    *m = NULL;
    return strstr(err.msg, "context") || strstr(err.msg, "sampling") ? 2 : 1;
  }
  return 0;
}

int gen_encode(const char *cmd, mr_model *m, const char *text, int32_t **ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  mr_tokenizer *t = mr_model_tokenizer(m);
  if (!t) {
    fprintf(stderr, "milrun %s: %s: the model has no tokenizer.json (give token ids with --ids)\n", cmd, mr_model_dir(m));
    return 1;
  }
  long bad = util_utf8_invalid(text, strlen(text));
  if (bad >= 0) {
    fprintf(stderr, "milrun %s: the prompt is not valid UTF-8 (byte %ld)\n", cmd, bad);
    return 2;
  }
  mr_error err = {0};
  if (mr_tokenizer_encode(t, text, strlen(text), MR_TOK_PARSE_SPECIAL, ids, n, &err)) {
    fprintf(stderr, "milrun %s: %s\n", cmd, err.msg);
    return 1;
  }
  return 0;
}

int gen_encode_chat(const char *cmd, mr_model *m, const mr_chat_message *msgs, size_t n, int no_think, int32_t **ids,
                    size_t *n_ids) {
  mr_tokenizer *t = mr_model_tokenizer(m);
  if (!t) return gen_encode(cmd, m, "", ids, n_ids);
  for (size_t i = 0; i < n; i++)
    if (util_utf8_invalid(msgs[i].content, strlen(msgs[i].content)) >= 0) {
      fprintf(stderr, "milrun %s: the prompt is not valid UTF-8 (byte %ld)\n", cmd,
              util_utf8_invalid(msgs[i].content, strlen(msgs[i].content)));
      return 2;
    }
  mr_chat_options co = {.no_think = no_think};
  char *text = NULL;
  mr_error err = {0};
  if (mr_tokenizer_chat(t, msgs, n, &co, &text, &err)) {
    fprintf(stderr, "milrun %s: %s (use --raw to skip the chat template)\n", cmd, err.msg);
    return 1;
  }
  int rc = gen_encode(cmd, m, text, ids, n_ids);
  mr_free(text);
  return rc;
}

static double rate(int64_t n, double ms) { return ms > 0 ? (double)n * 1e3 / ms : 0; }

void gen_perf_report(FILE *f, const mr_session_stats *st) {
  static const char *const stage[4] = {"embeddings", "FFN chunks", "LM head", "sampling"};
  fprintf(f, "\nmilrun perf:      load time = %10.2f ms\n", st->load_ms);
  fprintf(f, "milrun perf: prompt eval time = %10.2f ms / %5lld tokens (%lld computed, %8.2f tokens per second)\n",
          st->prefill_ms, (long long)st->prompt_tokens, (long long)st->prefill_tokens, rate(st->prefill_tokens, st->prefill_ms));
  fprintf(f, "milrun perf: time to first token = %8.2f ms\n", st->ttft_ms);
  fprintf(f, "milrun perf:        eval time = %10.2f ms / %5lld tokens (%8.2f ms per token, %8.2f tokens per second)\n",
          st->decode_ms, (long long)st->generated_tokens, st->generated_tokens ? st->decode_ms / (double)st->generated_tokens : 0,
          rate(st->generated_tokens, st->decode_ms));
  for (int i = 0; i < 4; i++)
    fprintf(f, "milrun perf: %16s = %10.2f ms / %5lld calls\n", stage[i], st->ms[i], (long long)st->calls[i]);
  if (st->shifts) fprintf(f, "milrun perf:   context shifts = %lld\n", (long long)st->shifts);
}

void gen_perf_json(FILE *f, const mr_session_stats *st) {
  fprintf(f, "\"load_ms\": %.3f, \"prompt_tokens\": %lld, \"prefill_tokens\": %lld, \"prefill_ms\": %.3f, \"ttft_ms\": %.3f, "
             "\"generated_tokens\": %lld, \"decode_ms\": %.3f, \"shifts\": %lld, \"embeddings_ms\": %.3f, \"ffn_ms\": %.3f, "
             "\"lm_head_ms\": %.3f, \"sampling_ms\": %.3f",
          st->load_ms, (long long)st->prompt_tokens, (long long)st->prefill_tokens, st->prefill_ms, st->ttft_ms,
          (long long)st->generated_tokens, st->decode_ms, (long long)st->shifts, st->ms[0], st->ms[1], st->ms[2], st->ms[3]);
}

void gen_json_string(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c == '\r') fputs("\\r", f);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}
