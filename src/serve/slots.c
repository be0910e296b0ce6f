/* slots.c — see slots.h. Locks: `mu` guards the slots and the queue; `turn` (a ticket lock on its
 * own mutex) is the model; each job's `mu` guards its answer. A thread holding the model never waits
 * for `mu`'s holders to do anything but bookkeeping, and nothing takes the model while holding a
 * job's lock, so there is no cycle. */
#include "serve/slots.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

typedef struct slot {
  srv_slots *owner;
  int index;
  mr_session *session;
  srv_job *job;          /* assigned, running */
  uint64_t last_used;
  pthread_t thread;
  pthread_cond_t cv;
  double held_since;     /* when this slot last took the model */
} slot;

struct srv_slots {
  pthread_mutex_t mu;
  slot *slots;
  int n, started, context, queue_max, n_queued, draining, stopping;
  srv_job *head, *tail;
  uint64_t clock;
  /* the model's turns */
  pthread_mutex_t turn_mu;
  pthread_cond_t turn_cv;
  uint64_t next_ticket, serving;
  int waiting;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- jobs -------------------------------------------------------------------------------------- */

srv_job *srv_job_new(void) {
  srv_job *j = util_calloc(1, sizeof *j);
  if (!j) return NULL;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  atomic_init(&j->cancel, 0);
  atomic_init(&j->refs, 1);
  j->logprobs = -1;
  j->slot = -1;
  return j;
}

void srv_job_release(srv_job *j) {
  if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
  pthread_cond_destroy(&j->cv);
  pthread_mutex_destroy(&j->mu);
  util_sb_free(&j->text);
  mr_free(j->ids);
  for (int i = 0; i < j->n_stop; i++) mr_free(j->stop[i]);
  mr_free(j->pieces);
  mr_free(j->top_ids);
  mr_free(j->top_lps);
  mr_free(j);
}

void srv_job_wait(srv_job *j, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += (long)ms * 1000000L;
  ts.tv_sec += ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  pthread_cond_timedwait(&j->cv, &j->mu, &ts);
}

/* Done (under j->mu): everything may be sent. */
static void job_finish(srv_job *j, const char *finish, int failed, const char *error) {
  j->state = JOB_DONE;
  j->finish = finish;
  j->failed = failed;
  if (error) snprintf(j->error, sizeof j->error, "%.255s", error);
  j->released = j->text.len;
  pthread_cond_broadcast(&j->cv);
}

/* ---- the model's turns --------------------------------------------------------------------------- */

static void model_take(srv_slots *s, slot *sl) {
  pthread_mutex_lock(&s->turn_mu);
  uint64_t mine = s->next_ticket++;
  s->waiting++;
  while (s->serving != mine) pthread_cond_wait(&s->turn_cv, &s->turn_mu);
  s->waiting--;
  pthread_mutex_unlock(&s->turn_mu);
  sl->held_since = now_ms();
}

static void model_give(srv_slots *s, slot *sl) {
  if (sl->job) sl->job->decode_ms += now_ms() - sl->held_since;
  pthread_mutex_lock(&s->turn_mu);
  s->serving++;
  pthread_cond_broadcast(&s->turn_cv);
  pthread_mutex_unlock(&s->turn_mu);
}

/* Between two tokens: let the slots that wait have their step first. */
static void model_yield(srv_slots *s, slot *sl) {
  pthread_mutex_lock(&s->turn_mu);
  int others = s->waiting > 0;
  pthread_mutex_unlock(&s->turn_mu);
  if (!others) return;
  model_give(s, sl);
  model_take(s, sl);
}

/* ---- pieces and stop strings ---------------------------------------------------------------------- */

static size_t grown(size_t cap, size_t need) {
  size_t c = cap ? cap * 2 : 64;
  while (c < need) c *= 2;
  return c;
}

static int grow_pieces(srv_job *j) {
  if (j->n_pieces < j->cap_pieces) return 0;
  size_t c = grown(j->cap_pieces, j->n_pieces + 1);
  srv_piece *p = mr_realloc(j->pieces, c * sizeof *p);
  if (!p) return -1;
  j->pieces = p;
  j->cap_pieces = c;
  return 0;
}

/* Room for n more top entries in both arrays. */
static int grow_top(srv_job *j, size_t n) {
  if (j->n_top + n <= j->cap_top) return 0;
  size_t c = grown(j->cap_top, j->n_top + n);
  int32_t *ids = mr_realloc(j->top_ids, c * sizeof *ids);
  if (ids) j->top_ids = ids;
  float *lps = ids ? mr_realloc(j->top_lps, c * sizeof *lps) : NULL;
  if (!lps) return -1;
  j->top_lps = lps;
  j->cap_top = c;
  return 0;
}

/* The earliest stop string that ends in text[from..]; its offset, or -1. */
static long find_stop(const srv_job *j, size_t from) {
  long best = -1;
  for (int i = 0; i < j->n_stop; i++) {
    size_t L = strlen(j->stop[i]), start = from >= L - 1 ? from - (L - 1) : 0;
    for (size_t k = start; k + L <= j->text.len; k++)
      if (!memcmp(j->text.buf + k, j->stop[i], L)) {
        if (best < 0 || (long)k < best) best = (long)k;
        break;
      }
  }
  return best;
}

/* Cut the text at `at` (a stop string begins there) and the pieces with it. */
static void cut_at(srv_job *j, size_t at) {
  j->text.len = at;
  while (j->n_pieces && (j->n_pieces == 1 ? 0 : j->pieces[j->n_pieces - 2].end) >= at) j->n_pieces--;
  if (j->n_pieces && j->pieces[j->n_pieces - 1].end > at) j->pieces[j->n_pieces - 1].end = at;
  j->n_top = j->n_pieces ? j->pieces[j->n_pieces - 1].top + (j->logprobs > 0 ? (size_t)j->logprobs : 0) : 0;
  j->stop_hit = 1;
}

static size_t longest_stop(const srv_job *j) {
  size_t m = 0;
  for (int i = 0; i < j->n_stop; i++) m = strlen(j->stop[i]) > m ? strlen(j->stop[i]) : m;
  return m;
}

/* Add one token's piece (under j->mu). Returns -1 when out of memory. */
static int add_piece(srv_job *j, mr_session *ss, int32_t id, const char *text, size_t len) {
  size_t from = j->text.len;
  util_sb_append(&j->text, text, len);
  if (util_sb_failed(&j->text)) return -1;
  if (id < 0 && j->n_pieces) {
    j->pieces[j->n_pieces - 1].end = j->text.len;
  } else {
    if (grow_pieces(j)) return -1;
    srv_piece *p = &j->pieces[j->n_pieces++];
    *p = (srv_piece){.end = j->text.len, .id = id, .top = j->n_top};
    const int32_t *ids;
    const float *lps;
    int n = id >= 0 ? mr_session_logprobs(ss, &p->logprob, &ids, &lps) : -1;
    if (n > 0) {
      if (grow_top(j, (size_t)n)) return -1;
      memcpy(j->top_ids + j->n_top, ids, (size_t)n * sizeof *ids);
      memcpy(j->top_lps + j->n_top, lps, (size_t)n * sizeof *lps);
      j->n_top += (size_t)n;
    }
  }
  long at = j->n_stop ? find_stop(j, from) : -1;
  if (at >= 0) cut_at(j, (size_t)at);
  size_t hold = j->n_stop && !j->stop_hit ? longest_stop(j) - 1 : 0;
  size_t rel = j->text.len > hold ? j->text.len - hold : 0;
  if (rel > j->released) j->released = rel;
  pthread_cond_broadcast(&j->cv);
  return 0;
}

typedef struct token_ctx {
  srv_slots *s;
  slot *sl;
  int oom;
} token_ctx;

static int on_token(void *ud, int32_t id, const char *text, size_t len) {
  token_ctx *c = ud;
  srv_job *j = c->sl->job;
  pthread_mutex_lock(&j->mu);
  if (add_piece(j, c->sl->session, id, text, len)) c->oom = 1;
  int stop = c->oom || j->stop_hit || atomic_load(&j->cancel);
  pthread_mutex_unlock(&j->mu);
  if (!stop && id >= 0) model_yield(c->s, c->sl);
  return stop;
}

/* ---- running a job ---------------------------------------------------------------------------------- */

static void run(srv_slots *s, slot *sl, srv_job *j) {
  mr_session *ss = sl->session;
  mr_error err = {0};
  model_take(s, sl);
  double t0 = now_ms();
  mr_session_stats a, b;
  mr_session_stats_get(ss, &a);
  int rc = mr_session_set_sampling(ss, &j->sampling, &err);
  if (!rc) rc = mr_session_set_logprobs(ss, j->logprobs, &err);
  if (!rc) rc = mr_session_feed(ss, j->ids, j->n_ids, &err);
  mr_session_stats_get(ss, &b);
  j->cached_tokens = (int)(j->n_ids - (size_t)(b.prefill_tokens - a.prefill_tokens));
  j->prefill_ms = now_ms() - t0;
  sl->held_since = now_ms();
  token_ctx c = {s, sl, 0};
  int finish = MR_FINISH_LENGTH;
  if (!rc) {
    mr_generate_options go = {.max_tokens = j->max_tokens, .ignore_stop = j->ignore_eos};
    rc = mr_session_generate(ss, &go, on_token, &c, &finish, &err);
  }
  model_give(s, sl);
  mr_session_stats_get(ss, &a);
  pthread_mutex_lock(&j->mu);
  j->completion_tokens = (int)(a.generated_tokens - b.generated_tokens);
  if (rc || c.oom) job_finish(j, NULL, 500, rc ? err.msg : "out of memory while generating");
  else if (finish == MR_FINISH_CANCEL && !j->stop_hit && atomic_load(&j->cancel)) /* abandoned, or the server stops */
    job_finish(j, NULL, 503, "the server is shutting down: the generation was cancelled");
  else job_finish(j, finish == MR_FINISH_STOP || j->stop_hit ? "stop" : "length", 0, NULL);
  pthread_mutex_unlock(&j->mu);
}

static uint64_t common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
  size_t i = 0;
  while (i < na && i < nb && a[i] == b[i]) i++;
  return i;
}

/* The free slot for j (under s->mu): longest shared prefix, then the least recently used; -1 if none. */
static int pick_slot(srv_slots *s, const srv_job *j) {
  int best = -1;
  uint64_t best_p = 0;
  for (int i = 0; i < s->n; i++) {
    slot *sl = &s->slots[i];
    if (sl->job) continue;
    const int32_t *t;
    size_t n = mr_session_tokens(sl->session, &t);
    uint64_t p = common_prefix(t, n, j->ids, j->n_ids);
    if (best < 0 || p > best_p || (p == best_p && sl->last_used < s->slots[best].last_used)) {
      best = i;
      best_p = p;
    }
  }
  return best;
}

static void assign(srv_slots *s, int i, srv_job *j) {
  slot *sl = &s->slots[i];
  sl->job = j;
  sl->last_used = ++s->clock;
  pthread_mutex_lock(&j->mu);
  j->state = JOB_RUNNING;
  j->slot = i;
  j->queued_ms = now_ms() - j->t_submit;
  pthread_mutex_unlock(&j->mu);
  pthread_cond_signal(&sl->cv);
}

/* Give free slots to the queue's head, in arrival order (under s->mu). */
static void dispatch(srv_slots *s) {
  int i;
  while (s->head && (i = pick_slot(s, s->head)) >= 0) {
    srv_job *j = s->head;
    s->head = j->next;
    if (!s->head) s->tail = NULL;
    s->n_queued--;
    assign(s, i, j);
  }
}

static void *slot_main(void *arg) {
  slot *sl = arg;
  srv_slots *s = sl->owner;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!sl->job && !s->stopping) pthread_cond_wait(&sl->cv, &s->mu);
    if (!sl->job) break;
    srv_job *j = sl->job;
    pthread_mutex_unlock(&s->mu);
    run(s, sl, j);
    pthread_mutex_lock(&s->mu);
    sl->job = NULL;
    srv_job_release(j);
    dispatch(s);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* ---- the pool -------------------------------------------------------------------------------------------- */

int srv_slots_new(mr_model *m, int n, int context, int queue_max, srv_slots **out, mr_error *err) {
  *out = NULL;
  srv_slots *s = util_calloc(1, sizeof *s);
  if (!s || !(s->slots = util_calloc((size_t)n, sizeof *s->slots))) {
    mr_free(s);
    return util_err_nomem(err, "slots");
  }
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->turn_mu, NULL);
  pthread_cond_init(&s->turn_cv, NULL);
  s->queue_max = queue_max;
  s->context = context ? context : mr_model_context(m);
  int rc = MR_OK;
  for (int i = 0; i < n && !rc; i++) {
    slot *sl = &s->slots[i];
    mr_session_options so = {.context = context, .no_shift = 1};
    rc = mr_session_new(m, &so, &sl->session, err);
    if (rc) break;
    sl->owner = s;
    sl->index = i;
    pthread_cond_init(&sl->cv, NULL);
    if (pthread_create(&sl->thread, NULL, slot_main, sl)) {
      pthread_cond_destroy(&sl->cv);
      mr_session_free(sl->session);
      rc = util_err(err, MR_ENOMEM, "cannot start the thread of slot %d", i);
      break;
    }
    s->n = i + 1;
  }
  if (rc) {
    srv_slots_free(s);
    return rc;
  }
  *out = s;
  return MR_OK;
}

void srv_slots_free(srv_slots *s) {
  if (!s) return;
  srv_slots_drain(s);
  srv_slots_cancel_all(s);
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  for (int i = 0; i < s->n; i++) pthread_cond_signal(&s->slots[i].cv);
  pthread_mutex_unlock(&s->mu);
  for (int i = 0; i < s->n; i++) {
    pthread_join(s->slots[i].thread, NULL);
    pthread_cond_destroy(&s->slots[i].cv);
    mr_session_free(s->slots[i].session);
  }
  pthread_cond_destroy(&s->turn_cv);
  pthread_mutex_destroy(&s->turn_mu);
  pthread_mutex_destroy(&s->mu);
  mr_free(s->slots);
  mr_free(s);
}

int srv_slots_submit(srv_slots *s, srv_job *j) {
  pthread_mutex_lock(&s->mu);
  int rc = s->draining ? SRV_DRAINING : SRV_SUBMITTED;
  if (!rc && pick_slot(s, j) < 0 && s->n_queued >= s->queue_max) rc = SRV_QUEUE_FULL; /* a free slot: the queue is empty */
  if (!rc) {
    atomic_fetch_add(&j->refs, 1);
    j->t_submit = now_ms();
    j->next = NULL;
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    s->n_queued++;
    dispatch(s);
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

/* Take j out of the queue (under s->mu); 1 if it was there. */
static int unqueue(srv_slots *s, srv_job *j) {
  for (srv_job **p = &s->head, *prev = NULL; *p; prev = *p, p = &(*p)->next)
    if (*p == j) {
      *p = j->next;
      if (s->tail == j) s->tail = prev;
      s->n_queued--;
      return 1;
    }
  return 0;
}

void srv_slots_abandon(srv_slots *s, srv_job *j) {
  atomic_store(&j->cancel, 1);
  pthread_mutex_lock(&s->mu);
  int was_queued = unqueue(s, j);
  pthread_mutex_unlock(&s->mu);
  if (!was_queued) return;
  pthread_mutex_lock(&j->mu);
  job_finish(j, NULL, 499, "the client closed the connection");
  pthread_mutex_unlock(&j->mu);
  srv_job_release(j);
}

void srv_slots_drain(srv_slots *s) {
  pthread_mutex_lock(&s->mu);
  s->draining = 1;
  srv_job *j = s->head;
  s->head = s->tail = NULL;
  s->n_queued = 0;
  pthread_mutex_unlock(&s->mu);
  while (j) {
    srv_job *next = j->next;
    pthread_mutex_lock(&j->mu);
    job_finish(j, NULL, 503, "the server is shutting down");
    pthread_mutex_unlock(&j->mu);
    srv_job_release(j);
    j = next;
  }
}

void srv_slots_cancel_all(srv_slots *s) {
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < s->n; i++) {
    if (s->slots[i].job) atomic_store(&s->slots[i].job->cancel, 1);
    mr_session_cancel(s->slots[i].session);
  }
  pthread_mutex_unlock(&s->mu);
}

void srv_slots_counts(srv_slots *s, int *slots, int *busy, int *queued) {
  pthread_mutex_lock(&s->mu);
  int b = 0;
  for (int i = 0; i < s->n; i++) b += s->slots[i].job != NULL;
  *slots = s->n;
  *busy = b;
  *queued = s->n_queued;
  pthread_mutex_unlock(&s->mu);
}

int srv_slots_context(const srv_slots *s) { return s->context; }
