/* session.c — the public model and session API (milrun.h "text generation"). A session holds the
 * tokens whose KV entries are computed (n_kv of them; the last fed or generated token is computed
 * by the next step, which also yields the logits, as chat.py's first step re-runs the last prompt
 * token). Feeding keeps the longest common prefix; a full context shifts the window as llama.cpp
 * does (keep the first `keep` tokens, drop half of the rest, recompute what follows). Every buffer
 * is made with the session: a decode step allocates nothing. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "llm/model.h"
#include "llm/resolve.h"
#include "llm/sample.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

#define MAX_STOPS 16

struct mr_model {
  llm_model *lm;
  mr_tokenizer *tok;
  char *dir;
  int32_t stops[MAX_STOPS];
  int n_stops, prefill;
  double load_ms;
};

/* Log-probabilities of the last token (mr_session_set_logprobs). */
typedef struct token_logprobs {
  int n, cap;        /* top entries wanted (-1: off), allocated */
  float *raw;        /* the step's logits before the sampler changes them [vocab] */
  int32_t *top_ids;  /* [cap] */
  float *top, chosen;
} token_logprobs;

struct mr_session {
  mr_model *m;
  mr_state *kv;    /* this session's own KV state */
  int ctx, keep, no_shift;
  int32_t *tokens; /* [ctx + 1] */
  int n, n_kv;
  float *logits;
  llm_sampler *sp;
  mr_sampling samp;
  mr_detok *dt;
  volatile sig_atomic_t cancel;
  mr_session_stats st;
  llm_counters base; /* the model's counters when the session was made */
  token_logprobs lp;
};

void mr_sampling_defaults(mr_sampling *s) {
  *s = (mr_sampling){.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.0f,
                     .repeat_last_n = 64};
}

const char *mr_finish_name(int finish) {
  static const char *const names[] = {"stop", "length", "cancel", "context"};
  return finish >= 0 && finish < 4 ? names[finish] : "?";
}

/* ---- model ---------------------------------------------------------------------------------- */

static void add_stop(mr_model *m, int32_t id) {
  if (id < 0 || m->n_stops == MAX_STOPS) return;
  for (int i = 0; i < m->n_stops; i++)
    if (m->stops[i] == id) return;
  m->stops[m->n_stops++] = id;
}

/* generation_config.json's eos_token_id: an int or a list. */
static void stops_from_generation_config(mr_model *m) {
  char *p = util_path_join(m->dir, "generation_config.json"), *text = NULL;
  size_t size;
  mr_error e = {0};
  if (p && util_exists(p) && !util_read_file(p, &text, &size, &e)) {
    cJSON *j = cJSON_ParseWithLength(text, size);
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(j, "eos_token_id"), *x;
    if (cJSON_IsNumber(eos)) add_stop(m, (int32_t)eos->valuedouble);
    if (cJSON_IsArray(eos))
      cJSON_ArrayForEach(x, eos) if (cJSON_IsNumber(x)) add_stop(m, (int32_t)x->valuedouble);
    cJSON_Delete(j);
  }
  mr_free(text);
  mr_free(p);
}

static int open_tokenizer(mr_model *m, const char *path, mr_error *err) {
  int rc = mr_tokenizer_open(path, &m->tok, err);
  int64_t V = llm_model_vocab(m->lm);
  if (!rc && V > mr_tokenizer_vocab_size(m->tok)) rc = mr_tokenizer_set_vocab_size(m->tok, (int32_t)V, err);
  else if (!rc && V < mr_tokenizer_vocab_size(m->tok))
    rc = util_err(err, MR_EFORMAT, "%s: the tokenizer has %d tokens but the model only %lld logits (another model's tokenizer?)",
                  path, mr_tokenizer_vocab_size(m->tok), (long long)V);
  if (rc) return rc;
  static const char *const names[] = {"<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"};
  add_stop(m, mr_tokenizer_eos_id(m->tok));
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) add_stop(m, mr_tokenizer_token_id(m->tok, names[i]));
  return MR_OK;
}

int mr_model_open(const char *model, const mr_model_options *opts, mr_model **out, mr_error *err) {
  if (!out) return util_err(err, MR_EINVAL, "mr_model_open: NULL argument");
  *out = NULL;
  double t0 = llm_now_ms();
  mr_model *m = util_calloc(1, sizeof *m);
  if (!m) return util_err_nomem(err, "model");
  llm_source src;
  int rc = llm_resolve(model, opts ? opts->hub : NULL, &src, err);
  if (!rc) rc = llm_model_open_files(&src.files, opts ? &opts->bundle : NULL, &m->lm, err);
  if (!rc) {
    m->dir = src.dir;
    src.dir = NULL;
    if (src.tokenizer) rc = open_tokenizer(m, src.tokenizer, err);
  }
  if (!rc) stops_from_generation_config(m);
  llm_source_free(&src);
  if (rc) {
    mr_model_close(m);
    return rc;
  }
  int mode = opts ? opts->prefill : MR_PREFILL_AUTO;
  m->prefill = mode != MR_PREFILL_AUTO ? mode : llm_model_v035(m->lm) ? MR_PREFILL_FULL : MR_PREFILL_PADDED;
  m->load_ms = llm_now_ms() - t0;
  *out = m;
  return MR_OK;
}

void mr_model_close(mr_model *m) {
  if (!m) return;
  llm_model_close(m->lm);
  mr_tokenizer_close(m->tok);
  mr_free(m->dir);
  mr_free(m);
}

mr_tokenizer *mr_model_tokenizer(const mr_model *m) { return m->tok; }
int mr_model_context(const mr_model *m) { return llm_model_context(m->lm); }
int64_t mr_model_vocab(const mr_model *m) { return llm_model_vocab(m->lm); }
const char *mr_model_dir(const mr_model *m) { return m->dir; }
int mr_model_argmax_only(const mr_model *m) { return llm_model_argmax(m->lm); }
void mr_model_info_get(const mr_model *m, mr_model_info *out) {
  const llm_model *lm = m->lm;
  *out = (mr_model_info){.context = llm_model_context(lm), .batch = llm_model_batch(lm), .chunks = llm_model_chunks(lm),
                         .prefill = m->prefill, .vocab = llm_model_vocab(lm), .file_bytes = llm_model_file_bytes(lm),
                         .state_bytes = llm_model_state_bytes(lm), .emb_bytes = llm_model_weight_bytes(lm, LLM_EMB),
                         .ffn_bytes = llm_model_weight_bytes(lm, LLM_FFN), .head_bytes = llm_model_weight_bytes(lm, LLM_HEAD)};
}

const mr_bundle *mr_model_component(const mr_model *m, int i, const char **what) {
  return llm_model_component(m->lm, i, what);
}
int mr_model_stop_tokens(const mr_model *m, const int32_t **ids) {
  *ids = m->stops;
  return m->n_stops;
}

/* ---- session -------------------------------------------------------------------------------- */

int mr_session_new(mr_model *m, const mr_session_options *o, mr_session **out, mr_error *err) {
  if (!m || !out) return util_err(err, MR_EINVAL, "mr_session_new: NULL argument");
  *out = NULL;
  mr_session_options dflt = {0};
  if (!o) o = &dflt;
  int C = llm_model_context(m->lm);
  if (o->context < 0 || o->context > C)
    return util_err(err, MR_EINVAL, "context %d: this model holds at most %d positions", o->context, C);
  if (o->context && o->context < 2) return util_err(err, MR_EINVAL, "context %d: at least 2 positions are needed", o->context);
  mr_session *s = util_calloc(1, sizeof *s);
  if (!s) return util_err_nomem(err, "session");
  s->m = m;
  s->ctx = o->context ? o->context : C;
  s->keep = o->keep < 0 ? 0 : o->keep;
  s->no_shift = o->no_shift;
  if (o->has_sampling) s->samp = o->sampling;
  else mr_sampling_defaults(&s->samp);
  if (llm_model_argmax(m->lm)) s->samp.temperature = 0; /* the head only gives the argmax */
  int64_t V = llm_model_vocab(m->lm);
  s->tokens = mr_alloc(((size_t)s->ctx + 1) * sizeof *s->tokens);
  s->logits = mr_alloc((size_t)V * sizeof *s->logits);
  int rc = s->tokens && s->logits ? MR_OK : util_err_nomem(err, "session");
  if (!rc) rc = llm_sampler_new(&s->samp, V, &s->sp, err);
  if (!rc) rc = llm_model_kv_new(m->lm, &s->kv, err);
  if (!rc && m->tok) rc = mr_detok_new(m->tok, 0, &s->dt, err);
  if (rc) {
    mr_session_free(s);
    return rc;
  }
  llm_model_set_trace(m->lm, o->trace, o->trace_ud);
  s->base = *llm_model_counters(m->lm);
  s->st.load_ms = m->load_ms;
  s->lp.n = -1;
  *out = s;
  return MR_OK;
}

void mr_session_free(mr_session *s) {
  if (!s) return;
  mr_free(s->tokens);
  mr_free(s->logits);
  llm_sampler_free(s->sp);
  mr_detok_free(s->dt);
  llm_model_use_kv(s->m->lm, NULL, NULL); /* the calls must not keep a freed state */
  llm_model_kv_free(s->m->lm, s->kv);
  mr_free(s->lp.raw);
  mr_free(s->lp.top_ids);
  mr_free(s->lp.top);
  mr_free(s);
}

size_t mr_session_tokens(const mr_session *s, const int32_t **ids) {
  *ids = s->tokens;
  return (size_t)s->n;
}

void mr_session_reset(mr_session *s) {
  s->n = s->n_kv = 0;
  mr_state_reset(s->kv);
}

int mr_session_set_sampling(mr_session *s, const mr_sampling *samp, mr_error *err) {
  mr_sampling x = *samp;
  if (llm_model_argmax(s->m->lm)) x.temperature = 0;
  int rc = llm_sampler_set(s->sp, &x, err);
  if (!rc) s->samp = x;
  return rc;
}

int mr_session_set_logprobs(mr_session *s, int n, mr_error *err) {
  token_logprobs *lp = &s->lp;
  int64_t V = llm_model_vocab(s->m->lm);
  if (n >= 0 && llm_model_argmax(s->m->lm))
    return util_err(err, MR_ENOTSUP, "log-probabilities: this model's LM head gives only the argmax (Anemll --argmax)");
  if (n > V) n = (int)V;
  if (n >= 0 && !lp->raw && !(lp->raw = mr_alloc((size_t)V * sizeof *lp->raw))) return util_err_nomem(err, "log-probabilities");
  if (n > lp->cap) {
    mr_free(lp->top_ids);
    mr_free(lp->top);
    lp->top_ids = mr_alloc((size_t)n * sizeof *lp->top_ids);
    lp->top = mr_alloc((size_t)n * sizeof *lp->top);
    lp->cap = lp->top_ids && lp->top ? n : 0;
    if (!lp->cap) return util_err_nomem(err, "log-probabilities");
  }
  lp->n = n < 0 ? -1 : n;
  return MR_OK;
}

int mr_session_logprobs(const mr_session *s, float *chosen, const int32_t **ids, const float **logprobs) {
  if (s->lp.n < 0) return -1;
  *chosen = s->lp.chosen;
  *ids = s->lp.top_ids;
  *logprobs = s->lp.top;
  return s->lp.n;
}

void mr_session_rng(mr_session *s, uint64_t state[4], int set) {
  if (set) llm_sampler_rng_set(s->sp, state);
  else llm_sampler_rng_get(s->sp, state);
}

void mr_session_cancel(mr_session *s) { s->cancel = 1; }

/* KV entries of positions [from, to), by the model's prefill mode. */
static int compute(mr_session *s, int from, int to, mr_error *err) {
  llm_model *lm = s->m->lm;
  int B = llm_model_batch(lm), C = llm_model_context(lm), mode = s->m->prefill;
  int rc = llm_model_use_kv(lm, s->kv, err);
  if (B > C) mode = MR_PREFILL_SINGLE;
  int b = from;
  while (!rc && b < to && mode != MR_PREFILL_SINGLE) {
    int start = b + B > C ? C - B : b; /* a batch must lie inside the state: recompute earlier tokens */
    int take = to - start < B ? to - start : B;
    if (mode == MR_PREFILL_FULL && take < B) break;
    rc = llm_model_prefill_batch(lm, s->tokens + start, take, start, err);
    b = start + take;
  }
  for (; !rc && b < to; b++) rc = llm_model_step(lm, s->tokens[b], b, 0, NULL, NULL, err);
  return rc;
}

int mr_session_feed(mr_session *s, const int32_t *ids, size_t n, mr_error *err) {
  if (!s || (!ids && n)) return util_err(err, MR_EINVAL, "mr_session_feed: NULL argument");
  if (n == 0) return util_err(err, MR_EINVAL, "empty prompt: at least one token is needed");
  if (n > (size_t)s->ctx)
    return util_err(err, MR_EINVAL, "the prompt has %zu tokens; this model can hold at most %d (context)", n, s->ctx);
  int64_t V = llm_model_vocab(s->m->lm);
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= V) return util_err(err, MR_EINVAL, "token id %d is outside the vocabulary of %lld", ids[i], (long long)V);
  double t0 = llm_now_ms();
  int p = 0;
  while (p < s->n_kv && p < (int)n - 1 && s->tokens[p] == ids[p]) p++;
  memcpy(s->tokens, ids, n * sizeof *ids);
  s->n = (int)n;
  s->n_kv = p;
  int rc = compute(s, p, (int)n - 1, err);
  if (rc) { /* what was computed is unknown: start over next time */
    s->n = s->n_kv = 0;
    return rc;
  }
  s->n_kv = (int)n - 1;
  s->st.prompt_tokens += (int64_t)n;
  s->st.prefill_tokens += (int64_t)n - p;
  s->st.prefill_ms += llm_now_ms() - t0;
  return MR_OK;
}

/* The window is full: keep the first `keep` tokens, drop half of the rest, recompute. */
static int shift(mr_session *s, mr_error *err) {
  int keep = s->keep < s->n - 1 ? s->keep : s->n - 1;
  int discard = (s->n - keep) / 2;
  memmove(s->tokens + keep, s->tokens + keep + discard, (size_t)(s->n - keep - discard) * sizeof *s->tokens);
  s->n -= discard;
  s->st.shifts++;
  int rc = compute(s, keep, s->n - 1, err);
  if (rc) {
    s->n = s->n_kv = 0;
    return rc;
  }
  s->n_kv = s->n - 1;
  return MR_OK;
}

static int is_stop(const mr_session *s, int32_t t) {
  for (int i = 0; i < s->m->n_stops; i++)
    if (s->m->stops[i] == t) return 1;
  return 0;
}

/* Log-softmax of the raw logits: the chosen token's value and the n best, best first (ties: lower id). */
static void take_logprobs(token_logprobs *lp, int64_t V, int32_t tok) {
  const float *x = lp->raw;
  float mx = x[0];
  for (int64_t i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
  double z = 0;
  for (int64_t i = 0; i < V; i++) z += exp((double)x[i] - mx);
  float lse = mx + (float)log(z);
  lp->chosen = x[tok] - lse;
  int k = 0;
  for (int64_t i = 0; i < V && lp->n > 0; i++) {
    if (k == lp->n && x[i] <= lp->top[k - 1]) continue;
    int j = k < lp->n ? k++ : k - 1;
    for (; j > 0 && x[i] > lp->top[j - 1]; j--) {
      lp->top[j] = lp->top[j - 1];
      lp->top_ids[j] = lp->top_ids[j - 1];
    }
    lp->top[j] = x[i];
    lp->top_ids[j] = (int32_t)i;
  }
  for (int j = 0; j < k; j++) lp->top[j] -= lse;
}

/* One token after the last one: its logits (or the head's argmax) and the sampler. */
static int next_token(mr_session *s, int32_t *tok, mr_error *err) {
  llm_model *lm = s->m->lm;
  int rc = llm_model_use_kv(lm, s->kv, err);
  if (!rc) rc = llm_model_step(lm, s->tokens[s->n_kv], s->n_kv, 1, s->logits, tok, err);
  if (rc) return rc;
  s->n_kv++;
  if (llm_model_argmax(lm)) return MR_OK;
  double t0 = llm_now_ms();
  int64_t V = llm_model_vocab(lm);
  if (s->lp.n >= 0) memcpy(s->lp.raw, s->logits, (size_t)V * sizeof *s->logits);
  int last = s->samp.repeat_last_n < s->n ? s->samp.repeat_last_n : s->n;
  *tok = llm_sampler_sample(s->sp, s->logits, s->tokens + s->n - last, last);
  if (s->lp.n >= 0) take_logprobs(&s->lp, V, *tok);
  llm_counters *c = llm_model_counters(lm);
  c->calls[LLM_SAMPLE]++;
  c->ms[LLM_SAMPLE] += llm_now_ms() - t0;
  return MR_OK;
}

int mr_session_generate(mr_session *s, const mr_generate_options *o, mr_token_fn cb, void *ud, int *finish, mr_error *err) {
  if (!s) return util_err(err, MR_EINVAL, "mr_session_generate: NULL argument");
  if (s->n == 0) return util_err(err, MR_EINVAL, "nothing to continue: feed a prompt first");
  mr_generate_options dflt = {0};
  if (!o) o = &dflt;
  s->cancel = 0;
  double t0 = llm_now_ms();
  int fin = MR_FINISH_LENGTH, rc = MR_OK;
  for (int i = 0; o->max_tokens <= 0 || i < o->max_tokens; i++) {
    if (s->cancel) {
      fin = MR_FINISH_CANCEL;
      break;
    }
    if (s->n_kv >= s->ctx) {
      if (s->no_shift) {
        fin = MR_FINISH_CONTEXT;
        break;
      }
      if ((rc = shift(s, err))) break;
    }
    int32_t tok = 0;
    if ((rc = next_token(s, &tok, err))) break;
    s->tokens[s->n++] = tok;
    s->st.generated_tokens++;
    if (i == 0) s->st.ttft_ms = llm_now_ms() - t0;
    if (!o->ignore_stop && is_stop(s, tok)) {
      fin = MR_FINISH_STOP;
      break;
    }
    const char *text = "";
    size_t len = 0;
    if (s->dt && (rc = mr_detok_push(s->dt, tok, &text, &len, err))) break;
    if (cb && cb(ud, tok, text, len)) {
      fin = MR_FINISH_CANCEL;
      break;
    }
  }
  if (s->dt) {
    const char *text;
    size_t len;
    mr_detok_flush(s->dt, &text, &len);
    if (cb && !rc) cb(ud, -1, text, len);
  }
  s->st.decode_ms += llm_now_ms() - t0;
  if (finish) *finish = fin;
  return rc;
}

void mr_session_stats_get(const mr_session *s, mr_session_stats *out) {
  *out = s->st;
  const llm_counters *c = llm_model_counters(s->m->lm);
  for (int i = 0; i < LLM_STAGES; i++) {
    out->calls[i] = c->calls[i] - s->base.calls[i];
    out->ms[i] = c->ms[i] - s->base.ms[i];
  }
}
