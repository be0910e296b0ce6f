/* chat.c — `milrun chat`: an interactive conversation. Each turn renders the whole conversation
 * with the chat template and feeds it to the session, which keeps the KV entries of the unchanged
 * prefix, so only the new tokens are computed. Ctrl-C stops the current answer; at the prompt it
 * ends the program as usual. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "gen_common.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/strbuf.h"

typedef struct chat {
  gen_args a;
  mr_model *m;
  mr_session *s;
  mr_chat_message *msgs; /* contents owned (util_strdup) */
  size_t n, cap;
  int tty;
} chat;

static mr_session *volatile interrupted_session;

static void on_sigint(int sig) {
  (void)sig;
  if (interrupted_session) mr_session_cancel(interrupted_session);
}

static int add_msg(chat *c, const char *role, const char *content) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 8;
    mr_chat_message *g = mr_realloc(c->msgs, cap * sizeof *g);
    if (!g) return -1;
    c->msgs = g;
    c->cap = cap;
  }
  char *dup = util_strdup(content);
  if (!dup) return -1;
  c->msgs[c->n++] = (mr_chat_message){role, dup};
  return 0;
}

static void clear_msgs(chat *c) {
  for (size_t i = 0; i < c->n; i++) mr_free((char *)c->msgs[i].content);
  c->n = 0;
  if (c->a.system) add_msg(c, "system", c->a.system);
}

static int on_token(void *ud, int32_t id, const char *text, size_t len) {
  (void)id;
  util_sb_append(ud, text, len);
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return 0;
}

/* One answer to the conversation so far; appended to it. */
static int answer(chat *c) {
  int32_t *ids = NULL;
  size_t n = 0;
  int rc = gen_encode_chat("chat", c->m, c->msgs, c->n, c->a.no_think, &ids, &n);
  mr_error err = {0};
  if (!rc && mr_session_feed(c->s, ids, n, &err)) {
    fprintf(stderr, "milrun chat: %s\n", err.msg);
    rc = 1;
  }
  mr_free(ids);
  if (rc) {
    c->n--; /* forget the message that could not be answered */
    mr_free((char *)c->msgs[c->n].content);
    return 0;
  }
  util_sb text = {0};
  int finish = 0;
  struct sigaction sa = {0}, old;
  sa.sa_handler = on_sigint;
  interrupted_session = c->s;
  sigaction(SIGINT, &sa, &old);
  mr_generate_options go = {.max_tokens = c->a.max_tokens, .ignore_stop = c->a.ignore_eos};
  rc = mr_session_generate(c->s, &go, on_token, &text, &finish, &err);
  sigaction(SIGINT, &old, NULL);
  interrupted_session = NULL;
  printf(finish == MR_FINISH_CANCEL ? " [stopped]\n" : "\n");
  if (rc) fprintf(stderr, "milrun chat: %s\n", err.msg);
  else add_msg(c, "assistant", util_sb_cstr(&text) ? util_sb_cstr(&text) : "");
  util_sb_free(&text);
  return rc ? 1 : 0;
}

static int save(chat *c, const char *path) {
  cJSON *j = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(j, "messages"), *toks = cJSON_AddArrayToObject(j, "tokens"),
        *rng = cJSON_AddArrayToObject(j, "rng");
  for (size_t i = 0; i < c->n; i++) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", c->msgs[i].role);
    cJSON_AddStringToObject(m, "content", c->msgs[i].content);
    cJSON_AddItemToArray(msgs, m);
  }
  const int32_t *ids;
  size_t n = mr_session_tokens(c->s, &ids);
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(toks, cJSON_CreateNumber(ids[i]));
  uint64_t st[4];
  mr_session_rng(c->s, st, 0);
  for (int i = 0; i < 4; i++) {
    char x[32];
    snprintf(x, sizeof x, "%llu", (unsigned long long)st[i]);
    cJSON_AddItemToArray(rng, cJSON_CreateString(x));
  }
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  mr_error err = {0};
  int rc = text ? util_write_file_atomic(path, text, strlen(text), &err) : MR_ENOMEM;
  mr_free(text);
  if (rc) fprintf(stderr, "milrun chat: /save %s: %s\n", path, err.msg[0] ? err.msg : "out of memory");
  else fprintf(stderr, "saved %zu messages and %zu tokens to %s\n", c->n, n, path);
  return 0;
}

static const char *role_of(const char *r) {
  return !strcmp(r, "system") ? "system" : !strcmp(r, "user") ? "user" : !strcmp(r, "assistant") ? "assistant" : NULL;
}

static int load(chat *c, const char *path) {
  char *text;
  size_t size;
  mr_error err = {0};
  if (util_read_file(path, &text, &size, &err)) {
    fprintf(stderr, "milrun chat: /load: %s\n", err.msg);
    return 0;
  }
  cJSON *j = cJSON_ParseWithLength(text, size), *x;
  mr_free(text);
  const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages"), *toks = cJSON_GetObjectItemCaseSensitive(j, "tokens"),
              *rng = cJSON_GetObjectItemCaseSensitive(j, "rng");
  int ok = cJSON_IsArray(msgs) && cJSON_IsArray(toks) && cJSON_IsArray(rng) && cJSON_GetArraySize(rng) == 4;
  if (ok) {
    cJSON_ArrayForEach(x, msgs) {
      const cJSON *r = cJSON_GetObjectItemCaseSensitive(x, "role"), *t = cJSON_GetObjectItemCaseSensitive(x, "content");
      ok = ok && cJSON_IsString(r) && role_of(r->valuestring) && cJSON_IsString(t);
    }
    cJSON_ArrayForEach(x, toks) ok = ok && cJSON_IsNumber(x);
  }
  if (!ok) {
    fprintf(stderr, "milrun chat: /load %s: not a conversation saved by /save\n", path);
    cJSON_Delete(j);
    return 0;
  }
  clear_msgs(c);
  c->n = 0;
  cJSON_ArrayForEach(x, msgs) add_msg(c, role_of(cJSON_GetObjectItemCaseSensitive(x, "role")->valuestring),
                                      cJSON_GetObjectItemCaseSensitive(x, "content")->valuestring);
  size_t n = (size_t)cJSON_GetArraySize(toks), i = 0;
  int32_t *ids = mr_alloc((n ? n : 1) * sizeof *ids);
  cJSON_ArrayForEach(x, toks) if (ids) ids[i++] = (int32_t)x->valuedouble;
  uint64_t st[4];
  i = 0;
  cJSON_ArrayForEach(x, rng) st[i++] = cJSON_IsString(x) ? strtoull(x->valuestring, NULL, 10) : 0;
  cJSON_Delete(j);
  mr_session_reset(c->s);
  if (ids && n && mr_session_feed(c->s, ids, n, &err)) fprintf(stderr, "milrun chat: /load %s: %s\n", path, err.msg);
  mr_session_rng(c->s, st, 1);
  mr_free(ids);
  fprintf(stderr, "loaded %zu messages and %zu tokens from %s\n", c->n, n, path);
  return 0;
}

/* One input: lines joined while they end with '\' or inside a """ block. NULL at end of input. */
static char *read_input(chat *c) {
  util_sb sb = {0};
  char line[4096];
  int block = 0, more = 1, got = 0;
  if (c->tty) {
    printf("> ");
    fflush(stdout);
  }
  while (more && fgets(line, sizeof line, stdin)) {
    got = 1;
    size_t len = strlen(line);
    int full = len && line[len - 1] == '\n';
    if (full) line[--len] = 0;
    if (!block && !sb.len && !strcmp(line, "\"\"\"")) {
      block = 1;
      continue;
    }
    if (block && !strcmp(line, "\"\"\"")) break;
    int cont = !block && len && line[len - 1] == '\\';
    util_sb_append(&sb, line, len - (size_t)cont);
    if (full && (block || cont)) util_sb_putc(&sb, '\n');
    more = !full || block || cont;
  }
  if (!got) {
    util_sb_free(&sb);
    return NULL;
  }
  util_sb_cstr(&sb);
  return util_sb_take(&sb);
}

/* A /command: returns 1 to exit, 0 otherwise. */
static int command(chat *c, const char *in) {
  if (!strcmp(in, "/exit") || !strcmp(in, "/quit")) return 1;
  if (!strcmp(in, "/reset")) {
    clear_msgs(c);
    mr_session_reset(c->s);
    fprintf(stderr, "conversation cleared\n");
  } else if (!strncmp(in, "/save ", 6)) {
    save(c, in + 6);
  } else if (!strncmp(in, "/load ", 6)) {
    load(c, in + 6);
  } else {
    fprintf(stderr, "commands: /reset, /save FILE, /load FILE, /exit (end a line with \\ or wrap lines in \"\"\" for "
                    "multi-line input)\n");
  }
  return 0;
}

int tool_chat(int argc, char **argv) {
  chat c = {0};
  tool_opt opts[GEN_OPTS];
  gen_args_init(&c.a, 0, NULL, opts);
  const tool_cmd cmd = {
    "chat", "[options]",
    "Chat with an Anemll-layout LLM. Type a message and Enter; end a line with \\ to continue it, or wrap\n"
    "several lines in \"\"\". Commands: /reset, /save FILE, /load FILE, /exit. Ctrl-C stops the answer.\n"
    "Only the new tokens of each turn are computed.",
    opts, gen_sampling_help, 0, 0, NULL};
  const char *pos[1];
  int npos, rc = tool_parse(&cmd, argc, argv, pos, &npos);
  if (rc) return tool_parse_exit(rc);
  if ((rc = gen_open("chat", &c.a, &c.m, &c.s))) return rc;
  if (!mr_model_tokenizer(c.m)) {
    fprintf(stderr, "milrun chat: %s: the model has no tokenizer.json\n", mr_model_dir(c.m));
    rc = 1;
  }
  c.tty = isatty(0) && isatty(1);
  if (!rc) clear_msgs(&c);
  if (!rc && c.tty) fprintf(stderr, "chat with %s (/exit to quit, Ctrl-C stops an answer)\n", mr_model_dir(c.m));
  for (char *in; !rc && (in = read_input(&c));) {
    int quit = 0;
    if (in[0] == '/') quit = command(&c, in);
    else if (in[0] && add_msg(&c, "user", in) == 0) rc = answer(&c);
    mr_free(in);
    if (quit) break;
  }
  mr_session_stats st;
  mr_session_stats_get(c.s, &st);
  gen_perf_report(stderr, &st);
  for (size_t i = 0; i < c.n; i++) mr_free((char *)c.msgs[i].content);
  mr_free(c.msgs);
  mr_session_free(c.s);
  mr_model_close(c.m);
  return rc;
}
