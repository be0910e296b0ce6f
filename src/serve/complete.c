/* complete.c — POST /v1/chat/completions and /v1/completions: the body read (request.c), the prompt
 * rendered with the chat template and encoded, checked against the context, handed to the slots as
 * a job, and answered whole or as server-sent events while the slot generates. The connection's
 * thread waits for the job in short steps so that it notices a client that has gone and frees the
 * slot (srv_slots_abandon: at the next token). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/reply.h"
#include "serve/server.h"
#include "util/alloc.h"

#define BAD "invalid_request_error"
#define POLL_MS 50

/* The prompt's token ids: the rendered chat, the encoded text, or the ids as given. */
static int prompt_ids(srv *s, srv_params *p, int32_t **ids, size_t *n, srv_error *e) {
  const char *param = p->kind == SRV_CHAT ? "messages" : "prompt";
  if (p->kind == SRV_CHAT) {
    mr_chat_options co = {.no_think = p->think == 0 || (p->think < 0 && s->o.no_think)};
    char *text = NULL;
    mr_error err = {0};
    if (mr_tokenizer_chat(s->tok, p->msgs, p->n_msgs, &co, &text, &err))
      return srv_fail(e, 400, BAD, "unsupported_value", param, "The chat template cannot render these messages: %s", err.msg);
    int rc = srv_encode(s, text, ids, n, e);
    mr_free(text);
    if (rc) return rc;
  } else if (p->prompt) {
    if (srv_encode(s, p->prompt, ids, n, e)) return -1;
  } else {
    *ids = p->ids;
    *n = p->n_ids;
    p->ids = NULL;
    int64_t V = mr_model_vocab(s->model);
    for (size_t i = 0; i < *n; i++)
      if ((*ids)[i] >= V)
        return srv_fail(e, 400, BAD, "invalid_value", param, "Invalid 'prompt': token id %d is outside the vocabulary of %lld.",
                        (*ids)[i], (long long)V);
  }
  int ctx = srv_slots_context(s->slots);
  if (*n == 0) return srv_fail(e, 400, BAD, "invalid_value", param, "The prompt is empty: at least one token is needed.");
  if (*n > (size_t)ctx)
    return srv_fail(e, 400, BAD, "context_length_exceeded", param,
                    "This model's maximum context length is %d tokens. However, your %s resulted in %zu tokens.", ctx,
                    p->kind == SRV_CHAT ? "messages" : "prompt", *n);
  return 0;
}

/* A job for the request: it takes the ids and the stop strings. */
static srv_job *make_job(srv *s, srv_params *p, int32_t *ids, size_t n) {
  srv_job *j = srv_job_new();
  if (!j) return NULL;
  static atomic_uint counter;
  j->ids = ids;
  j->n_ids = n;
  j->sampling = p->sampling;
  if (!p->has_seed) j->sampling.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20) ^ ((uint64_t)atomic_fetch_add(&counter, 1) << 40);
  int room = srv_slots_context(s->slots) - (int)n + 1; /* the last position yields one more token */
  j->max_tokens = p->max_tokens && p->max_tokens < room ? p->max_tokens : room;
  j->logprobs = p->logprobs;
  j->ignore_eos = p->ignore_eos;
  for (int i = 0; i < p->n_stop; i++) {
    j->stop[i] = p->stop[i];
    p->stop[i] = NULL;
  }
  j->n_stop = p->n_stop;
  p->n_stop = 0;
  return j;
}

/* The generation's numbers for the log line (under j->mu). */
static void describe(srv_call *c, const srv_job *j) {
  if (c->s->o.verbose)
    snprintf(c->detail, sizeof c->detail, "slot=%d cached=%d queue=%.1fms prefill=%.1fms decode=%.1fms finish=%s", j->slot,
             j->cached_tokens, j->queued_ms, j->prefill_ms, j->decode_ms, j->finish ? j->finish : "-");
}

static void count_generation(srv *s, const srv_job *j) {
  srv_metrics_generation(&s->metrics, j->n_ids, (uint64_t)j->cached_tokens, j->prefill_ms, (uint64_t)j->completion_tokens,
                         j->decode_ms);
}

/* ---- the whole answer at once ------------------------------------------------------------------------- */

static void answer_whole(srv_call *c, http_exchange *x, srv_job *j, const srv_reply *rp) {
  srv *s = c->s;
  pthread_mutex_lock(&j->mu);
  while (j->state != JOB_DONE) {
    srv_job_wait(j, POLL_MS);
    if (j->state != JOB_DONE && http_client_gone(x)) {
      c->completion_tokens = (long long)j->n_pieces; /* so far */
      pthread_mutex_unlock(&j->mu);
      srv_slots_abandon(s->slots, j);
      c->note = "client gone";
      c->status = 499;
      srv_call_end(c);
      return;
    }
  }
  c->completion_tokens = j->completion_tokens;
  describe(c, j);
  if (j->failed) {
    srv_error e;
    srv_fail(&e, j->failed, "server_error", NULL, NULL, "%s", j->error);
    pthread_mutex_unlock(&j->mu);
    srv_respond_error(c, x, &e);
    return;
  }
  util_sb out = {0};
  srv_reply_full(rp, j, &out);
  count_generation(s, j);
  pthread_mutex_unlock(&j->mu);
  srv_respond_json(c, x, 200, &out);
  util_sb_free(&out);
}

/* ---- server-sent events ----------------------------------------------------------------------------------- */

typedef struct sse {
  srv_call call;
  srv_reply reply;
  srv_job *job;
  size_t sent;    /* pieces sent */
  int ended;
  util_sb out;    /* events not yet handed to the connection */
  size_t off;
} sse;

/* Events for the pieces that may go out, or the end; waits for them (under j->mu). Returns -1 when
 * the client has gone. */
static int next_events(sse *st, http_exchange *x) {
  srv_job *j = st->job;
  for (;;) {
    int any = 0;
    for (; st->sent < j->n_pieces && j->pieces[st->sent].end <= j->released; st->sent++) {
      size_t from = st->sent ? j->pieces[st->sent - 1].end : 0;
      if (j->pieces[st->sent].end == from && j->logprobs < 0) continue; /* no text yet (part of a character) */
      srv_reply_stream_piece(&st->reply, j, st->sent, &st->out);
      any = 1;
    }
    if (any) return 0;
    if (j->state == JOB_DONE) {
      srv_reply_stream_end(&st->reply, j, &st->out);
      st->ended = 1;
      return 0;
    }
    srv_job_wait(j, POLL_MS);
    if (http_client_gone(x)) return -1;
  }
}

static long sse_next(void *ud, http_exchange *x, char *buf, size_t cap) {
  sse *st = ud;
  if (st->off == st->out.len) {
    st->off = st->out.len = 0;
    if (st->ended) return 0;
    pthread_mutex_lock(&st->job->mu);
    int rc = next_events(st, x);
    pthread_mutex_unlock(&st->job->mu);
    if (rc || util_sb_failed(&st->out)) return -1;
  }
  size_t k = st->out.len - st->off < cap ? st->out.len - st->off : cap;
  memcpy(buf, st->out.buf + st->off, k);
  st->off += k;
  return (long)k;
}

static void sse_done(void *ud, int completed) {
  sse *st = ud;
  srv_job *j = st->job;
  if (!completed) {
    srv_slots_abandon(st->call.s->slots, j);
    st->call.note = "client gone";
  }
  pthread_mutex_lock(&j->mu);
  st->call.completion_tokens = j->state == JOB_DONE ? j->completion_tokens : (long long)j->n_pieces; /* so far */
  if (completed && j->failed) st->call.note = j->error;
  if (completed && !j->failed) count_generation(st->call.s, j);
  describe(&st->call, j);
  srv_call_end(&st->call);
  pthread_mutex_unlock(&j->mu);
  srv_job_release(j);
  util_sb_free(&st->out);
  mr_free(st);
}

static void answer_stream(srv_call *c, http_exchange *x, srv_job *j, const srv_reply *rp) {
  sse *st = util_calloc(1, sizeof *st);
  if (!st) {
    srv_error e;
    srv_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
    srv_slots_abandon(c->s->slots, j);
    srv_job_release(j);
    srv_respond_error(c, x, &e);
    return;
  }
  *st = (sse){.call = *c, .reply = *rp, .job = j};
  st->call.status = 200;
  srv_reply_stream_start(rp, &st->out);
  http_add_header(x, "Cache-Control", "no-cache");
  http_add_header(x, "X-Accel-Buffering", "no");
  http_respond_stream(x, 200, "text/event-stream", sse_next, sse_done, st);
}

/* ---- the endpoint ------------------------------------------------------------------------------------------ */

void srv_complete(srv_call *c, http_exchange *x, const http_request *r, int kind) {
  srv *s = c->s;
  srv_params p;
  srv_error e;
  int32_t *ids = NULL;
  size_t n = 0;
  if (srv_parse_generation(kind, r->body, r->body_len, &p, &e) ||
      (p.logprobs >= 0 && mr_model_argmax_only(s->model) &&
       srv_fail(&e, 400, BAD, "unsupported_value", "logprobs", "This model's LM head gives only the most likely token (Anemll --argmax): no log-probabilities."))) {
    srv_params_free(&p);
    srv_respond_error(c, x, &e);
    return;
  }
  srv_job *j = NULL;
  int rc = prompt_ids(s, &p, &ids, &n, &e);
  c->prompt_tokens = (long long)n;
  if (!rc && !(j = make_job(s, &p, ids, n))) rc = srv_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
  if (!rc) ids = NULL; /* the job's now */
  int sub = rc ? 0 : srv_slots_submit(s->slots, j);
  if (sub == SRV_QUEUE_FULL) {
    int slots, busy, queued;
    srv_slots_counts(s->slots, &slots, &busy, &queued);
    rc = srv_fail(&e, 503, "server_error", "server_overloaded", NULL,
                  "The server is busy: all %d slots are working and %d requests are waiting. Try again later.", slots, queued);
  } else if (sub == SRV_DRAINING) {
    rc = srv_fail(&e, 503, "server_error", "server_shutting_down", NULL, "The server is shutting down.");
  }
  if (!rc) {
    srv_reply rp;
    srv_reply_init(&rp, kind, s->model_id, s->tok, n);
    rp.include_usage = p.include_usage;
    if (p.stream) answer_stream(c, x, j, &rp); /* the stream releases the job */
    else answer_whole(c, x, j, &rp);
    if (!p.stream) srv_job_release(j);
  } else {
    srv_job_release(j);
    srv_respond_error(c, x, &e);
  }
  mr_free(ids);
  srv_params_free(&p);
}
