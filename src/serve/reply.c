/* reply.c — see reply.h. Objects are built with cJSON and printed unformatted. */
#include "serve/reply.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "util/alloc.h"

void srv_reply_init(srv_reply *r, int kind, const char *model, const mr_tokenizer *tok, size_t prompt_tokens) {
  static atomic_ullong counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ (atomic_fetch_add(&counter, 1) << 40);
  x ^= x >> 31;
  x *= 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  *r = (srv_reply){.kind = kind, .model = model, .created = (long long)ts.tv_sec, .tok = tok, .prompt_tokens = prompt_tokens};
  snprintf(r->id, sizeof r->id, "%s-%016llx", kind == SRV_CHAT ? "chatcmpl" : "cmpl", (unsigned long long)x);
}

static void take(util_sb *out, cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  if (s) util_sb_puts(out, s);
  else out->failed = 1;
  cJSON_free(s);
  cJSON_Delete(o);
}

void srv_json_string(util_sb *out, const char *s, size_t n) {
  char *c = util_strndup(s, n);
  cJSON *j = c ? cJSON_CreateString(c) : NULL;
  mr_free(c);
  if (!j) {
    out->failed = 1;
    return;
  }
  take(out, j);
}

static cJSON *string_n(const char *s, size_t n) {
  char *c = util_strndup(s, n);
  cJSON *j = c ? cJSON_CreateString(c) : NULL;
  mr_free(c);
  return j ? j : cJSON_CreateNull();
}

void srv_error_json(const srv_error *e, util_sb *out) {
  cJSON *o = cJSON_CreateObject(), *x = cJSON_AddObjectToObject(o, "error");
  cJSON_AddStringToObject(x, "message", e->message);
  cJSON_AddStringToObject(x, "type", e->type ? e->type : "server_error");
  if (e->param[0]) cJSON_AddStringToObject(x, "param", e->param);
  else cJSON_AddNullToObject(x, "param");
  if (e->code) cJSON_AddStringToObject(x, "code", e->code);
  else cJSON_AddNullToObject(x, "code");
  take(out, o);
}

/* ---- logprobs ------------------------------------------------------------------------------------- */

/* -inf (a probability below float range) as OpenAI writes it. */
static double finite_lp(float lp) { return isfinite(lp) && lp > -9999.0f ? lp : -9999.0; }

/* A token as text (invalid UTF-8 of a partial character becomes U+FFFD). */
static cJSON *token_text(const mr_tokenizer *t, int32_t id) {
  char *text = NULL;
  size_t len = 0;
  mr_error err = {0};
  cJSON *j = t && !mr_tokenizer_decode(t, &id, 1, 0, &text, &len, &err) ? string_n(text, len) : cJSON_CreateString("");
  mr_free(text);
  return j;
}

static cJSON *token_bytes(const mr_tokenizer *t, int32_t id) {
  cJSON *a = cJSON_CreateArray();
  const char *b;
  size_t n = t ? mr_tokenizer_token_bytes(t, id, &b) : 0;
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((unsigned char)b[i]));
  return a;
}

/* Chat: {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]} */
static cJSON *chat_logprob(const srv_reply *r, const srv_job *j, const srv_piece *p) {
  cJSON *e = cJSON_CreateObject(), *top = cJSON_CreateArray();
  cJSON_AddItemToObject(e, "token", token_text(r->tok, p->id));
  cJSON_AddNumberToObject(e, "logprob", finite_lp(p->logprob));
  cJSON_AddItemToObject(e, "bytes", token_bytes(r->tok, p->id));
  for (int k = 0; k < j->logprobs; k++) {
    int32_t id = j->top_ids[p->top + (size_t)k];
    cJSON *t = cJSON_CreateObject();
    cJSON_AddItemToObject(t, "token", token_text(r->tok, id));
    cJSON_AddNumberToObject(t, "logprob", finite_lp(j->top_lps[p->top + (size_t)k]));
    cJSON_AddItemToObject(t, "bytes", token_bytes(r->tok, id));
    cJSON_AddItemToArray(top, t);
  }
  cJSON_AddItemToObject(e, "top_logprobs", top);
  return e;
}

/* Pieces [from, to) that are tokens, in the endpoint's logprobs shape; NULL when logprobs are off. */
static cJSON *logprobs_of(const srv_reply *r, const srv_job *j, size_t from, size_t to) {
  if (j->logprobs < 0) return cJSON_CreateNull();
  cJSON *o = cJSON_CreateObject();
  if (r->kind == SRV_CHAT) {
    cJSON *content = cJSON_AddArrayToObject(o, "content");
    for (size_t i = from; i < to; i++)
      if (j->pieces[i].id >= 0) cJSON_AddItemToArray(content, chat_logprob(r, j, &j->pieces[i]));
    cJSON_AddNullToObject(o, "refusal");
    return o;
  }
  cJSON *tokens = cJSON_AddArrayToObject(o, "tokens"), *lps = cJSON_AddArrayToObject(o, "token_logprobs");
  cJSON *tops = cJSON_AddArrayToObject(o, "top_logprobs"), *offs = cJSON_AddArrayToObject(o, "text_offset");
  for (size_t i = from; i < to; i++) {
    const srv_piece *p = &j->pieces[i];
    if (p->id < 0) continue;
    cJSON_AddItemToArray(tokens, token_text(r->tok, p->id));
    cJSON_AddItemToArray(lps, cJSON_CreateNumber(finite_lp(p->logprob)));
    cJSON *t = cJSON_CreateObject();
    for (int k = 0; k < j->logprobs; k++) {
      char *text = NULL;
      size_t len;
      mr_error err = {0};
      int32_t id = j->top_ids[p->top + (size_t)k];
      if (r->tok && !mr_tokenizer_decode(r->tok, &id, 1, 0, &text, &len, &err) && !cJSON_GetObjectItemCaseSensitive(t, text))
        cJSON_AddNumberToObject(t, text, finite_lp(j->top_lps[p->top + (size_t)k]));
      mr_free(text);
    }
    cJSON_AddItemToArray(tops, t);
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(i ? j->pieces[i - 1].end : 0)));
  }
  return o;
}

/* ---- objects ---------------------------------------------------------------------------------------- */

static cJSON *envelope(const srv_reply *r, int chunk) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", r->id);
  cJSON_AddStringToObject(o, "object", r->kind == SRV_COMPLETION ? "text_completion"
                                       : chunk                   ? "chat.completion.chunk"
                                                                 : "chat.completion");
  cJSON_AddNumberToObject(o, "created", (double)r->created);
  cJSON_AddStringToObject(o, "model", r->model);
  cJSON_AddStringToObject(o, "system_fingerprint", "milrun-" MR_VERSION);
  return o;
}

static cJSON *usage(const srv_reply *r, const srv_job *j) {
  cJSON *u = cJSON_CreateObject();
  cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->prompt_tokens);
  cJSON_AddNumberToObject(u, "completion_tokens", j->completion_tokens);
  cJSON_AddNumberToObject(u, "total_tokens", (double)r->prompt_tokens + j->completion_tokens);
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "prompt_tokens_details"), "cached_tokens", j->cached_tokens);
  return u;
}

/* llama-server's "timings" (not OpenAI's): what the prompt reused and how fast it all went. */
static cJSON *timings(const srv_reply *r, const srv_job *j) {
  cJSON *t = cJSON_CreateObject();
  cJSON_AddNumberToObject(t, "cache_n", j->cached_tokens);
  cJSON_AddNumberToObject(t, "prompt_n", (double)r->prompt_tokens - j->cached_tokens);
  cJSON_AddNumberToObject(t, "prompt_ms", j->prefill_ms);
  cJSON_AddNumberToObject(t, "predicted_n", j->completion_tokens);
  cJSON_AddNumberToObject(t, "predicted_ms", j->decode_ms);
  cJSON_AddNumberToObject(t, "queue_ms", j->queued_ms);
  cJSON_AddNumberToObject(t, "slot", j->slot);
  return t;
}

static void finish_field(cJSON *choice, const char *finish) {
  if (finish) cJSON_AddStringToObject(choice, "finish_reason", finish);
  else cJSON_AddNullToObject(choice, "finish_reason");
}

void srv_reply_full(const srv_reply *r, const srv_job *j, util_sb *out) {
  cJSON *o = envelope(r, 0), *choices = cJSON_AddArrayToObject(o, "choices"), *c = cJSON_CreateObject();
  cJSON_AddNumberToObject(c, "index", 0);
  cJSON *text = string_n(util_sb_cstr((util_sb *)&j->text), j->text.len);
  if (r->kind == SRV_CHAT) {
    cJSON *m = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddItemToObject(m, "content", text);
    cJSON_AddNullToObject(m, "refusal");
  } else {
    cJSON_AddItemToObject(c, "text", text);
  }
  cJSON_AddItemToObject(c, "logprobs", logprobs_of(r, j, 0, j->n_pieces));
  finish_field(c, j->finish);
  cJSON_AddItemToArray(choices, c);
  cJSON_AddItemToObject(o, "usage", usage(r, j));
  cJSON_AddItemToObject(o, "timings", timings(r, j));
  take(out, o);
}

static void event(util_sb *out, cJSON *o) {
  util_sb_puts(out, "data: ");
  take(out, o);
  util_sb_puts(out, "\n\n");
}

/* A chunk with one choice: chat's delta (role and/or content) or a completion's text. */
static cJSON *chunk(const srv_reply *r, const char *role, cJSON *content, cJSON *logprobs, const char *finish) {
  cJSON *o = envelope(r, 1), *c = cJSON_CreateObject();
  cJSON_AddNumberToObject(c, "index", 0);
  if (r->kind == SRV_CHAT) {
    cJSON *d = cJSON_AddObjectToObject(c, "delta");
    if (role) cJSON_AddStringToObject(d, "role", role);
    if (content) cJSON_AddItemToObject(d, "content", content);
  } else {
    cJSON_AddItemToObject(c, "text", content ? content : cJSON_CreateString(""));
  }
  cJSON_AddItemToObject(c, "logprobs", logprobs ? logprobs : cJSON_CreateNull());
  finish_field(c, finish);
  cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), c);
  if (r->include_usage) cJSON_AddNullToObject(o, "usage");
  return o;
}

void srv_reply_stream_start(const srv_reply *r, util_sb *out) {
  if (r->kind == SRV_CHAT) event(out, chunk(r, "assistant", cJSON_CreateString(""), NULL, NULL));
}

void srv_reply_stream_piece(const srv_reply *r, const srv_job *j, size_t i, util_sb *out) {
  size_t from = i ? j->pieces[i - 1].end : 0;
  event(out, chunk(r, NULL, string_n(j->text.buf ? j->text.buf + from : "", j->pieces[i].end - from),
                   j->logprobs >= 0 ? logprobs_of(r, j, i, i + 1) : NULL, NULL));
}

void srv_reply_stream_end(const srv_reply *r, const srv_job *j, util_sb *out) {
  if (j->failed) {
    srv_error e;
    srv_fail(&e, j->failed, "server_error", NULL, NULL, "%s", j->error);
    util_sb_puts(out, "data: ");
    srv_error_json(&e, out);
    util_sb_puts(out, "\n\n");
  } else {
    event(out, chunk(r, NULL, NULL, NULL, j->finish));
    if (r->include_usage) {
      cJSON *o = envelope(r, 1);
      cJSON_AddArrayToObject(o, "choices");
      cJSON_AddItemToObject(o, "usage", usage(r, j));
      cJSON_AddItemToObject(o, "timings", timings(r, j));
      event(out, o);
    }
  }
  util_sb_puts(out, "data: [DONE]\n\n");
}
