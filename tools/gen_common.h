/* gen_common.h — what `generate` and `chat` share: their common options, opening the model and the
 * session, encoding a prompt, the --verbose trace and the end-of-run performance report. */
#ifndef TOOLS_GEN_COMMON_H
#define TOOLS_GEN_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include "milrun.h"
#include "opts.h"

typedef struct gen_args {
  const char *model, *system;
  int max_tokens, context, keep, threads, verbose, json, no_think, ignore_eos, no_shift;
  float temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
  int top_k, repeat_last_n;
  long long seed;
} gen_args;

#define GEN_OPTS 20
/* Defaults (llama.cpp's sampling defaults) and the option table that fills `a`. */
void gen_args_init(gen_args *a, int default_max_tokens, tool_opt table[GEN_OPTS]);
/* The sampling paragraph of --help. */
void gen_print_sampling_help(FILE *f);

/* Open the model and a session for `a` (messages on stderr, prefixed "milrun CMD: "). Returns 0 or
 * the exit code. */
int gen_open(const char *cmd, gen_args *a, mr_model **m, mr_session **s);
/* Encode text (checked to be UTF-8) into ids; *ids from mr_alloc. Returns 0 or the exit code. */
int gen_encode(const char *cmd, mr_model *m, const char *text, int32_t **ids, size_t *n);
/* Render messages with the chat template and encode them. */
int gen_encode_chat(const char *cmd, mr_model *m, const mr_chat_message *msgs, size_t n, int no_think, int32_t **ids,
                    size_t *n_ids);
/* llama.cpp-style report: load, prompt tokens and t/s, time to first token, generated tokens and t/s,
 * per-component time. */
void gen_perf_report(FILE *f, const mr_session_stats *st);
/* The same numbers as a JSON object body ("load_ms": ..., ...). */
void gen_perf_json(FILE *f, const mr_session_stats *st);
/* s as a JSON string. */
void gen_json_string(FILE *f, const char *s, size_t n);

#endif
