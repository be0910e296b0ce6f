/* generate.c — `milrun generate`: one prompt (argument, file, stdin or token ids), through the chat
 * template unless --raw, and the continuation printed as it is generated (or one JSON object). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gen_common.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/strbuf.h"

typedef struct out_state {
  int json;
  util_sb text;
  int32_t *ids;
  size_t n, cap;
} out_state;

static int on_token(void *ud, int32_t id, const char *text, size_t len) {
  out_state *o = ud;
  if (o->json) {
    util_sb_append(&o->text, text, len);
    if (id >= 0 && o->n < o->cap) o->ids[o->n++] = id;
  } else {
    fwrite(text, 1, len, stdout);
    fflush(stdout);
  }
  return 0;
}

static int parse_ids(const char *s, int32_t **ids, size_t *n) {
  size_t cap = strlen(s) / 2 + 1;
  *ids = mr_alloc(cap * sizeof **ids);
  *n = 0;
  while (*ids && *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno || v < 0 || v > INT32_MAX || (*end && *end != ',') || *n == cap) return -1;
    (*ids)[(*n)++] = (int32_t)v;
    s = *end ? end + 1 : end;
  }
  return *ids && *n ? 0 : -1;
}

static char *read_stream(FILE *f) {
  util_sb sb = {0};
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, f)) > 0) util_sb_append(&sb, buf, k);
  util_sb_cstr(&sb);
  return util_sb_failed(&sb) ? (util_sb_free(&sb), NULL) : util_sb_take(&sb);
}

/* The prompt's ids from --ids, -p, -f or stdin. Returns 0 or an exit code. */
static int prompt_ids(gen_args *a, mr_model *m, const char *prompt, const char *file, const char *ids_arg, int raw,
                      int32_t **ids, size_t *n) {
  if (ids_arg) {
    if (!parse_ids(ids_arg, ids, n)) return 0;
    fprintf(stderr, "milrun generate: --ids must be a comma-separated list of token ids, got '%s'\n", ids_arg);
    return 2;
  }
  char *owned = NULL;
  if (!prompt) {
    FILE *f = file ? fopen(file, "rb") : stdin;
    if (!f) {
      fprintf(stderr, "milrun generate: %s: %s\n", file, strerror(errno));
      return 1;
    }
    owned = read_stream(f);
    if (file) fclose(f);
    if (!owned) return 1;
    prompt = owned;
  }
  int rc;
  if (raw) {
    rc = gen_encode("generate", m, prompt, ids, n);
  } else {
    mr_chat_message msgs[2] = {{"system", a->system ? a->system : ""}, {"user", prompt}};
    rc = gen_encode_chat("generate", m, msgs + !a->system, 1 + !!a->system, a->no_think, ids, n);
  }
  mr_free(owned);
  return rc;
}

static void print_json(out_state *o, const int32_t *p, size_t np, int finish, const mr_session_stats *st, long long seed) {
  printf("{\"text\": ");
  gen_json_string(stdout, o->text.buf ? o->text.buf : "", o->text.len);
  printf(", \"prompt_ids\": [");
  for (size_t i = 0; i < np; i++) printf(i ? ", %d" : "%d", p[i]);
  printf("], \"ids\": [");
  for (size_t i = 0; i < o->n; i++) printf(i ? ", %d" : "%d", o->ids[i]);
  printf("], \"finish_reason\": \"%s\", \"seed\": %lld, \"timings\": {", mr_finish_name(finish), seed);
  gen_perf_json(stdout, st);
  printf("}}\n");
}

int tool_generate(int argc, char **argv) {
  gen_args a;
  const char *prompt = NULL, *file = NULL, *ids_arg = NULL;
  int raw = 0, json = 0;
  const tool_opt own[] = {
    {"prompt", 'p', OPT_STR, &prompt, "TEXT", "the prompt", 0, 0, NULL},
    {"file", 'f', OPT_STR, &file, "FILE", "read the prompt from FILE", 0, 0, NULL},
    {"ids", 0, OPT_STR, &ids_arg, "LIST", "the prompt as comma-separated token ids (no template)", 0, 0, NULL},
    {"raw", 0, OPT_FLAG, &raw, NULL, "no chat template: continue the text as it is", 0, 0, NULL},
    {"json", 0, OPT_FLAG, &json, NULL, "print one JSON object: text, prompt_ids, ids," OPT_NL "finish_reason, timings", 0, 0,
     NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  tool_opt opts[GEN_OPTS];
  gen_args_init(&a, 256, own, opts);
  const tool_cmd cmd = {
    "generate", "[-p PROMPT | -f FILE | --ids LIST] [options]   (prompt from stdin otherwise)",
    "Generate text after a prompt with an Anemll-layout LLM, printing it as it comes, then a\n"
    "performance report on stderr. The prompt goes through the model's chat template unless --raw.",
    opts, gen_sampling_help, 0, 0, NULL};
  const char *pos[1];
  int npos, rc = tool_parse(&cmd, argc, argv, pos, &npos);
  if (rc) return tool_parse_exit(rc);
  mr_model *m;
  mr_session *s;
  if ((rc = gen_open("generate", &a, &m, &s))) return rc;
  int32_t *ids = NULL;
  size_t n = 0;
  rc = prompt_ids(&a, m, prompt, file, ids_arg, raw || ids_arg, &ids, &n);
  mr_error err = {0};
  if (!rc && mr_session_feed(s, ids, n, &err)) {
    fprintf(stderr, "milrun generate: %s\n", err.msg);
    rc = err.code == MR_EINVAL ? 2 : 1;
  }
  out_state o = {.json = json, .cap = (size_t)(a.max_tokens ? a.max_tokens : 1 << 20)};
  if (!rc && json && !(o.ids = mr_alloc(o.cap * sizeof *o.ids))) rc = 1;
  int finish = 0;
  if (!rc) {
    mr_generate_options go = {.max_tokens = a.max_tokens, .ignore_stop = a.ignore_eos};
    if (mr_session_generate(s, &go, on_token, &o, &finish, &err)) {
      fprintf(stderr, "\nmilrun generate: %s\n", err.msg);
      rc = 1;
    }
  }
  mr_session_stats st;
  mr_session_stats_get(s, &st);
  if (!rc && json) print_json(&o, ids, n, finish, &st, a.seed);
  else if (!rc) printf("\n");
  if (!rc) gen_perf_report(stderr, &st);
  util_sb_free(&o.text);
  mr_free(o.ids);
  mr_free(ids);
  mr_session_free(s);
  mr_model_close(m);
  return rc;
}
