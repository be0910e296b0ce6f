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
  double temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
  int top_k, repeat_last_n;
  long long seed;
  mr_bundle_options bundle; /* --backend, --compute-units */
} gen_args;

/* Room for a command's own options (at most GEN_OWN_OPTS) and the common ones (opts.h table). */
#define GEN_OWN_OPTS 8
#define GEN_OPTS (GEN_OWN_OPTS + 22)
/* Defaults (llama.cpp's sampling defaults), and in `table` the command's own options (`own`, ended
 * by a {NULL} entry) followed by the common ones that fill `a`, ended by a {NULL} entry. */
void gen_args_init(gen_args *a, int default_max_tokens, const tool_opt *own, tool_opt table[GEN_OPTS]);
/* The sampling paragraph of --help (a tool_cmd epilog). */
extern const char gen_sampling_help[];

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
