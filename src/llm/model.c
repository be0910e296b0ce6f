/* model.c — running an Anemll model (see model.h). One fp16 KV state, created from the first
 * chunk's prefill bundle, is passed to every chunk's prefill and infer (docs/anemll.md §2.2). The
 * contract is checked once at open: each FFN function's inputs by name and shape, the same hidden
 * size, context and state in every chunk, the chunk numbers of the Anemll metadata. Components
 * may be .mlmodelc or .mlpackage folders (the paths come from llm/layout.c). */
#include "llm/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"

/* One prepared call (milrun.h mr_call) with its inputs bound once to buffers the model owns: a run
 * changes only their contents. `in` keeps the bound descriptors for --verbose traces. */
typedef struct step {
  mr_call *call;
  char what[16];
  const char *fn;
  int n_in;
  const char *names[4];
  mr_tensor in[4];
} step;

typedef struct chunk {
  mr_bundle *pf, *inf; /* inf may equal pf */
  const char *pf_fn, *inf_fn;
  step prefill, infer;
} chunk;

/* A bundle of the model with its part's name, for mr_model_component. */
typedef struct component {
  const mr_bundle *b;
  char what[24];
} component;

struct llm_model {
  mr_bundle *emb, *lm, *mono;
  mr_bundle_options bopts; /* every component is opened with these */
  component *parts;        /* [n_comp] */
  int n_comp;
  chunk *ffn;
  int chunks;
  step emb_pf, emb_inf, head, mono_pf, mono_inf;
  mr_state *kv;      /* the state the calls are bound to: the model's own, or a session's */
  mr_state *own_kv;
  int own_kv_lent; /* own_kv is a session's (llm_model_kv_new) */
  const char *state_name;
  int hidden, context, batch, v035, argmax;
  int emb_batch;   /* 1: the embeddings take [1, B]; 0: one token per call */
  int64_t vocab, file_bytes, emb_file_bytes;
  int n_parts, idx_out, val_out; /* argmax heads: which output is which */
  float *h;        /* hidden states [B * hidden] */
  float *mask;     /* rows of the causal mask [B * context] */
  int32_t *ids, *pos;
  int32_t cur;     /* current_pos */
  int32_t one;     /* the id of one-token embeddings */
  llm_counters cnt;
  void (*trace)(void *, const char *);
  void *trace_ud;
};

void llm_files_free(llm_files *f) {
  mr_free(f->emb);
  mr_free(f->lm);
  mr_free(f->mono);
  for (int c = 0; c < f->chunks; c++) {
    if (f->inf && f->inf[c] != f->pf[c]) mr_free(f->inf[c]);
    if (f->pf) mr_free(f->pf[c]);
  }
  mr_free(f->pf);
  mr_free(f->inf);
  memset(f, 0, sizeof *f);
}

double llm_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int open_bundle(llm_model *m, const char *path, mr_bundle **out, mr_error *err) {
  if (!util_is_dir(path)) return util_err(err, MR_ENOTFOUND, "%s: component not found (nor as .mlpackage)", path);
  return mr_bundle_open(path, &m->bopts, out, err);
}

static const mr_io_info *find_io(const mr_io_info *io, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(io[i].name, name)) return &io[i];
  return NULL;
}

static int has_function(const mr_bundle *b, const char *fn) {
  for (int i = 0; i < mr_bundle_function_count(b); i++)
    if (!strcmp(mr_bundle_function_name(b, i), fn)) return 1;
  return 0;
}

/* `what` of function fn must exist with the given rank and, where want[d] >= 0, dimension. */
static int expect(const mr_bundle *b, const char *path, const char *fn, const char *what, int rank, const int64_t *want,
                  mr_error *err) {
  const mr_io_info *in;
  int n = mr_bundle_inputs(b, fn, &in);
  const mr_io_info *io = n > 0 ? find_io(in, n, what) : NULL;
  if (!io)
    return util_err(err, MR_EFORMAT, "%s: function '%s' has no input '%s' (an Anemll FFN chunk takes hidden_states, "
                    "position_ids, causal_mask, current_pos)", path, fn, what);
  int ok = io->rank == rank;
  for (int d = 0; ok && d < rank; d++) ok = want[d] < 0 || io->shape[d] == want[d];
  if (!ok) {
    char got[128] = "", exp[128] = "";
    size_t g = 0, e = 0;
    for (int d = 0; d < io->rank; d++) g += (size_t)snprintf(got + g, sizeof got - g, d ? ", %lld" : "%lld", (long long)io->shape[d]);
    for (int d = 0; d < rank; d++)
      e += want[d] < 0 ? (size_t)snprintf(exp + e, sizeof exp - e, d ? ", ?" : "?")
                       : (size_t)snprintf(exp + e, sizeof exp - e, d ? ", %lld" : "%lld", (long long)want[d]);
    return util_err(err, MR_EFORMAT, "%s: function '%s': input '%s' is [%s], the contract expects [%s]", path, fn, what, got,
                    exp);
  }
  return MR_OK;
}

/* The FFN functions of chunk c (or the monolithic bundle) against the contract, with the sizes of
 * the first chunk; the first sets hidden, context and batch. */
static int check_ffn(llm_model *m, mr_bundle *b, const char *path, const char *fn, int prefill, mr_error *err) {
  const mr_io_info *in;
  int n = mr_bundle_inputs(b, fn, &in);
  if (n < 0) return util_err(err, MR_EFORMAT, "%s: no function '%s'", path, fn);
  const mr_io_info *mask = find_io(in, n, "causal_mask"), *hs = find_io(in, n, m->mono ? "input_ids" : "hidden_states");
  if (mask && mask->rank == 4 && !m->context) m->context = (int)mask->shape[3];
  if (hs && hs->rank >= 2 && prefill && !m->batch) m->batch = (int)hs->shape[1];
  int64_t T = prefill ? m->batch : 1, C = m->context, H = m->hidden;
  int64_t hshape[3] = {1, T, H}, ishape[2] = {1, T}, pshape[1] = {T}, mshape[4] = {1, 1, T, C}, one[1] = {1};
  int rc = m->mono ? expect(b, path, fn, "input_ids", 2, ishape, err) : expect(b, path, fn, "hidden_states", 3, hshape, err);
  if (!rc) rc = expect(b, path, fn, "position_ids", 1, pshape, err);
  if (!rc) rc = expect(b, path, fn, "causal_mask", 4, mshape, err);
  if (!rc) rc = expect(b, path, fn, "current_pos", 1, one, err);
  if (rc) return rc;
  const mr_io_info *st;
  if (mr_bundle_states(b, fn, &st) != 1)
    return util_err(err, MR_EFORMAT, "%s: function '%s' must declare exactly one state (the KV cache)", path, fn);
  if (!m->state_name) {
    m->state_name = st[0].name;
    return MR_OK;
  }
  const mr_io_info *s0;
  mr_bundle_states(m->ffn ? m->ffn[0].pf : m->mono, m->ffn ? m->ffn[0].pf_fn : "prefill", &s0);
  int same = !strcmp(st[0].name, s0[0].name) && st[0].rank == s0[0].rank && st[0].dtype == s0[0].dtype;
  for (int d = 0; same && d < st[0].rank; d++) same = st[0].shape[d] == s0[0].shape[d];
  if (!same)
    return util_err(err, MR_EFORMAT, "%s: state '%s' differs from the first chunk's '%s' (chunks of different models?)",
                    path, st[0].name, s0[0].name);
  return MR_OK;
}

/* com.anemll.chunk_no / num_chunks of metadata.json, when present, must match the position. */
static int check_chunk_no(const char *path, int c, int chunks, mr_error *err) {
  char *mp = util_path_join(path, "metadata.json"), *text = NULL;
  size_t size;
  mr_error e2 = {0};
  int rc = MR_OK;
  if (mp && !util_read_file(mp, &text, &size, &e2)) {
    const char *k = strstr(text, "\"com.anemll.chunk_no\"");
    const char *v = k ? strchr(k + 21, '"') : NULL;
    int no = v ? atoi(v + 1) : 0;
    const char *kn = strstr(text, "\"com.anemll.num_chunks\"");
    const char *vn = kn ? strchr(kn + 23, '"') : NULL;
    int of = vn ? atoi(vn + 1) : 0;
    if ((no && no != c + 1) || (of && of != chunks))
      rc = util_err(err, MR_EFORMAT, "%s: metadata says chunk %d of %d, but it is used as chunk %d of %d (chunks of "
                    "different models?)", path, no, of, c + 1, chunks);
  }
  mr_free(text);
  mr_free(mp);
  return rc;
}

static int open_head(llm_model *m, const char *path, int64_t vocab_size, mr_error *err) {
  const mr_io_info *out;
  int n = mr_bundle_outputs(m->mono ? m->mono : m->lm, m->mono ? "infer" : NULL, &out);
  if (n < 1) return util_err(err, MR_EFORMAT, "%s: an LM head needs at least one output", path);
  m->n_parts = n;
  if (find_io(out, n, "argmax_idx") && find_io(out, n, "argmax_val")) {
    m->argmax = 1;
    m->idx_out = (int)(find_io(out, n, "argmax_idx") - out);
    m->val_out = (int)(find_io(out, n, "argmax_val") - out);
    m->vocab = vocab_size;
    if (vocab_size < 1)
      return util_err(err, MR_EFORMAT, "%s: an argmax LM head needs vocab_size in meta.yaml to place its parts", path);
    return MR_OK;
  }
  for (int i = 0; i < n; i++) {
    if (out[i].rank < 1 || out[i].shape[out[i].rank - 1] < 1)
      return util_err(err, MR_EFORMAT, "%s: LM head output '%s' has no vocabulary axis", path, out[i].name);
    m->vocab += out[i].shape[out[i].rank - 1];
  }
  return MR_OK;
}

static int open_split(llm_model *m, const llm_files *f, mr_error *err) {
  int rc = open_bundle(m, f->emb, &m->emb, err);
  if (!rc) rc = open_bundle(m, f->lm, &m->lm, err);
  if (rc) return rc;
  const mr_io_info *in;
  int n = mr_bundle_inputs(m->emb, NULL, &in);
  if (n != 1 || in[0].rank != 2 || strcmp(in[0].name, "input_ids"))
    return util_err(err, MR_EFORMAT, "%s: the embeddings take one input input_ids [1, T]", f->emb);
  m->emb_batch = in[0].shape[1] != 1;
  n = mr_bundle_inputs(m->lm, NULL, &in);
  if (n != 1 || in[0].rank != 3) return util_err(err, MR_EFORMAT, "%s: the LM head takes one input hidden_states [1, 1, H]", f->lm);
  m->hidden = (int)in[0].shape[2];
  if ((rc = open_head(m, f->lm, f->vocab_size, err))) return rc;
  m->ffn = util_calloc((size_t)f->chunks, sizeof *m->ffn);
  if (!m->ffn) return util_err_nomem(err, "model");
  for (int c = 0; c < f->chunks && !rc; c++) {
    chunk *k = &m->ffn[c];
    rc = open_bundle(m, f->pf[c], &k->pf, err);
    if (!rc && f->inf[c] != f->pf[c]) rc = open_bundle(m, f->inf[c], &k->inf, err);
    if (rc) break;
    m->chunks = c + 1;
    if (!k->inf) k->inf = k->pf;
    k->pf_fn = has_function(k->pf, "prefill") ? "prefill" : mr_bundle_default_function(k->pf);
    k->inf_fn = has_function(k->inf, "infer") ? "infer" : mr_bundle_default_function(k->inf);
    rc = check_ffn(m, k->pf, f->pf[c], k->pf_fn, 1, err);
    if (!rc) rc = check_ffn(m, k->inf, f->inf[c], k->inf_fn, 0, err);
    if (!rc) rc = check_chunk_no(f->pf[c], c, f->chunks, err);
  }
  return rc;
}

static int open_mono(llm_model *m, const llm_files *f, mr_error *err) {
  int rc = open_bundle(m, f->mono, &m->mono, err);
  if (rc) return rc;
  if (!has_function(m->mono, "infer") || !has_function(m->mono, "prefill"))
    return util_err(err, MR_EFORMAT, "%s: a monolithic model has the functions infer and prefill", f->mono);
  m->emb_batch = 1;
  if ((rc = check_ffn(m, m->mono, f->mono, "prefill", 1, err))) return rc;
  if ((rc = check_ffn(m, m->mono, f->mono, "infer", 0, err))) return rc;
  return open_head(m, f->mono, f->vocab_size, err);
}

/* Prepare `fn` of b as step st, binding the state when stateful and the first n_in of the inputs
 * (names[i], in[i]) already set in st. */
static int prepare(llm_model *m, step *st, mr_bundle *b, const char *what, const char *fn, int stateful, mr_error *err) {
  snprintf(st->what, sizeof st->what, "%s", what);
  st->fn = fn ? fn : mr_bundle_default_function(b);
  int rc = mr_call_new(b, fn, &st->call, err);
  if (!rc && stateful) rc = mr_call_set_state(st->call, m->state_name, m->kv, err);
  for (int i = 0; i < st->n_in && !rc; i++) rc = mr_call_set_input(st->call, st->names[i], &st->in[i], err);
  return rc;
}

/* The FFN inputs of T tokens over the model's buffers; first = input_ids (monolithic) or hidden_states. */
static void ffn_inputs(llm_model *m, step *st, int T) {
  *st = (step){.n_in = 4, .names = {m->mono ? "input_ids" : "hidden_states", "position_ids", "causal_mask", "current_pos"}};
  st->in[0] = m->mono ? (mr_tensor){MR_INT32, 2, {1, T}, m->ids} : (mr_tensor){MR_FLOAT32, 3, {1, T, m->hidden}, m->h};
  st->in[1] = (mr_tensor){MR_INT32, 1, {T}, m->pos};
  st->in[2] = (mr_tensor){MR_FLOAT32, 4, {1, 1, T, m->context}, m->mask};
  st->in[3] = (mr_tensor){MR_INT32, 1, {1}, &m->cur};
}

static void io_input(step *st, const char *name, mr_tensor t) {
  *st = (step){.n_in = 1, .names = {name}, .in = {t}};
}

/* Every call the model makes, prepared once: a token then only changes buffer contents. */
static int prepare_calls(llm_model *m, mr_error *err) {
  int B = m->batch, rc;
  if (m->mono) {
    ffn_inputs(m, &m->mono_pf, B);
    ffn_inputs(m, &m->mono_inf, 1);
    rc = prepare(m, &m->mono_pf, m->mono, "model", "prefill", 1, err);
    return rc ? rc : prepare(m, &m->mono_inf, m->mono, "model", "infer", 1, err);
  }
  io_input(&m->emb_pf, "input_ids", (mr_tensor){MR_INT32, 2, {1, B}, m->ids});
  io_input(&m->emb_inf, "input_ids", (mr_tensor){MR_INT32, 2, {1, 1}, &m->one});
  io_input(&m->head, "hidden_states", (mr_tensor){MR_FLOAT32, 3, {1, 1, m->hidden}, m->h});
  rc = m->emb_batch ? prepare(m, &m->emb_pf, m->emb, "embeddings", NULL, 0, err) : MR_OK;
  if (!rc) rc = prepare(m, &m->emb_inf, m->emb, "embeddings", NULL, 0, err);
  if (!rc) rc = prepare(m, &m->head, m->lm, "lm_head", NULL, 0, err);
  for (int c = 0; c < m->chunks && !rc; c++) {
    chunk *k = &m->ffn[c];
    char what[16];
    snprintf(what, sizeof what, "ffn[%d]", c + 1);
    ffn_inputs(m, &k->prefill, B);
    ffn_inputs(m, &k->infer, 1);
    rc = prepare(m, &k->prefill, k->pf, what, k->pf_fn, 1, err);
    if (!rc) rc = prepare(m, &k->infer, k->inf, what, k->inf_fn, 1, err);
  }
  return rc;
}

static int alloc_buffers(llm_model *m, mr_error *err) {
  size_t B = (size_t)m->batch, C = (size_t)m->context, H = (size_t)(m->hidden > 0 ? m->hidden : 1);
  m->h = mr_alloc(B * H * sizeof(float));
  m->mask = mr_alloc(B * C * sizeof(float));
  m->ids = util_calloc(B, sizeof(int32_t));
  m->pos = util_calloc(B, sizeof(int32_t));
  return m->h && m->mask && m->ids && m->pos ? MR_OK : util_err_nomem(err, "model buffers");
}

static int64_t files_bytes(llm_model *m, const llm_files *f) {
  if (f->mono) return util_tree_bytes(f->mono);
  m->emb_file_bytes = util_tree_bytes(f->emb);
  int64_t n = m->emb_file_bytes + util_tree_bytes(f->lm);
  for (int c = 0; c < f->chunks; c++) n += util_tree_bytes(f->pf[c]) + (f->inf[c] != f->pf[c] ? util_tree_bytes(f->inf[c]) : 0);
  return n;
}

static void add_component(llm_model *m, const mr_bundle *b, const char *what, int c, const char *fn) {
  component *p = &m->parts[m->n_comp++];
  p->b = b;
  if (c < 0) snprintf(p->what, sizeof p->what, "%s", what);
  else snprintf(p->what, sizeof p->what, "ffn[%d]%s%s", c + 1, fn ? "." : "", fn ? fn : "");
}

/* The table of mr_model_component, in pipeline order. */
static int list_components(llm_model *m, mr_error *err) {
  m->parts = util_calloc((size_t)(3 + 2 * m->chunks), sizeof *m->parts);
  if (!m->parts) return util_err_nomem(err, "model");
  if (m->mono) {
    add_component(m, m->mono, "model", -1, NULL);
    return MR_OK;
  }
  add_component(m, m->emb, "embeddings", -1, NULL);
  for (int c = 0; c < m->chunks; c++) {
    const chunk *k = &m->ffn[c];
    add_component(m, k->pf, NULL, c, k->inf != k->pf ? "prefill" : NULL);
    if (k->inf != k->pf) add_component(m, k->inf, NULL, c, "infer");
  }
  add_component(m, m->lm, "lm_head", -1, NULL);
  return MR_OK;
}

const mr_bundle *llm_model_component(const llm_model *m, int i, const char **what) {
  if (i < 0 || i >= m->n_comp) return NULL;
  if (what) *what = m->parts[i].what;
  return m->parts[i].b;
}

int llm_model_open_files(const llm_files *f, const mr_bundle_options *bopts, llm_model **out, mr_error *err) {
  *out = NULL;
  llm_model *m = util_calloc(1, sizeof *m);
  if (!m) return util_err_nomem(err, "model");
  if (bopts) m->bopts = *bopts;
  m->v035 = f->v035;
  m->file_bytes = files_bytes(m, f);
  int rc = f->mono ? open_mono(m, f, err) : open_split(m, f, err);
  mr_bundle *b0 = m->mono ? m->mono : m->ffn ? m->ffn[0].pf : NULL;
  if (!rc) rc = mr_state_new(b0, m->state_name, &m->own_kv, err);
  m->kv = m->own_kv;
  if (!rc && (m->context < 1 || m->batch < 1)) rc = util_err(err, MR_EFORMAT, "model: no causal_mask / prefill batch found");
  if (!rc) rc = alloc_buffers(m, err);
  if (!rc) rc = prepare_calls(m, err);
  if (!rc) rc = list_components(m, err);
  if (rc) {
    llm_model_close(m);
    return rc;
  }
  *out = m;
  return MR_OK;
}

void llm_model_close(llm_model *m) {
  if (!m) return;
  step *steps[] = {&m->emb_pf, &m->emb_inf, &m->head, &m->mono_pf, &m->mono_inf};
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) mr_call_free(steps[i]->call);
  for (int c = 0; m->ffn && c < m->chunks; c++) {
    mr_call_free(m->ffn[c].prefill.call);
    mr_call_free(m->ffn[c].infer.call);
  }
  mr_state_free(m->own_kv);
  mr_bundle_close(m->emb);
  mr_bundle_close(m->lm);
  mr_bundle_close(m->mono);
  for (int c = 0; m->ffn && c < m->chunks; c++) {
    if (m->ffn[c].inf != m->ffn[c].pf) mr_bundle_close(m->ffn[c].inf);
    mr_bundle_close(m->ffn[c].pf);
  }
  mr_free(m->ffn);
  mr_free(m->parts);
  mr_free(m->h);
  mr_free(m->mask);
  mr_free(m->ids);
  mr_free(m->pos);
  mr_free(m);
}

int llm_model_context(const llm_model *m) { return m->context; }
int llm_model_batch(const llm_model *m) { return m->batch; }
int llm_model_v035(const llm_model *m) { return m->v035; }
int llm_model_argmax(const llm_model *m) { return m->argmax; }
int64_t llm_model_vocab(const llm_model *m) { return m->vocab; }
llm_counters *llm_model_counters(llm_model *m) { return &m->cnt; }
int llm_model_chunks(const llm_model *m) { return m->chunks; }
int64_t llm_model_file_bytes(const llm_model *m) { return m->file_bytes; }

int64_t llm_model_weight_bytes(const llm_model *m, int stage) {
  if (m->mono) return stage == LLM_FFN ? (int64_t)mr_bundle_weight_bytes(m->mono) : 0;
  if (stage == LLM_EMB) return m->emb_file_bytes; /* a gather holds none: it reads rows of the mapped file */
  if (stage == LLM_HEAD) return (int64_t)mr_bundle_weight_bytes(m->lm);
  int64_t n = 0;
  for (int c = 0; stage == LLM_FFN && c < m->chunks; c++)
    n += (int64_t)mr_bundle_weight_bytes(m->ffn[c].pf) + (m->ffn[c].inf != m->ffn[c].pf ? (int64_t)mr_bundle_weight_bytes(m->ffn[c].inf) : 0);
  return n;
}

int64_t llm_model_state_bytes(const llm_model *m) {
  mr_tensor kv;
  mr_state_view(m->own_kv, &kv); /* every session's is the same size */
  return mr_tensor_count(&kv) * (int64_t)mr_dtype_size(kv.dtype);
}
void llm_model_reset(llm_model *m) { mr_state_reset(m->kv); }

int llm_model_kv_new(llm_model *m, mr_state **out, mr_error *err) {
  if (!m->own_kv_lent) {
    m->own_kv_lent = 1;
    mr_state_reset(m->own_kv);
    *out = m->own_kv;
    return MR_OK;
  }
  return mr_state_new(m->mono ? m->mono : m->ffn[0].pf, m->state_name, out, err);
}

void llm_model_kv_free(llm_model *m, mr_state *kv) {
  if (kv == m->own_kv) m->own_kv_lent = 0;
  else mr_state_free(kv);
}

int llm_model_use_kv(llm_model *m, mr_state *kv, mr_error *err) {
  if (!kv) kv = m->own_kv;
  if (kv == m->kv) return MR_OK;
  m->kv = kv;
  int rc = MR_OK;
  if (m->mono) {
    rc = mr_call_set_state(m->mono_pf.call, m->state_name, kv, err);
    if (!rc) rc = mr_call_set_state(m->mono_inf.call, m->state_name, kv, err);
  }
  for (int c = 0; c < m->chunks && !rc; c++) {
    rc = mr_call_set_state(m->ffn[c].prefill.call, m->state_name, kv, err);
    if (!rc) rc = mr_call_set_state(m->ffn[c].infer.call, m->state_name, kv, err);
  }
  if (rc) m->kv = NULL; /* bound to nothing known: the next use binds again */
  return rc;
}

void llm_model_set_trace(llm_model *m, void (*trace)(void *, const char *), void *ud) {
  m->trace = trace;
  m->trace_ud = ud;
}

static void to_f32(const mr_tensor *t, float *out, int64_t n) {
  if (t->dtype == MR_FLOAT16) mr_f16_to_f32(t->data, out, (size_t)n);
  else memcpy(out, t->data, (size_t)n * sizeof(float));
}

static size_t shape_text(char *buf, size_t size, const mr_tensor *t) {
  size_t o = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < t->rank && o < size; d++) o += (size_t)snprintf(buf + o, size - o, d ? ", %lld" : "%lld", (long long)t->shape[d]);
  if (o < size) o += (size_t)snprintf(buf + o, size - o, "]");
  return o < size ? o : size - 1;
}

static void trace_step(llm_model *m, const step *st, double ms) {
  char line[1024];
  size_t o = (size_t)snprintf(line, sizeof line, "%s.%s", st->what, st->fn);
  for (int i = 0; i < st->n_in && o < sizeof line - 64; i++) {
    o += (size_t)snprintf(line + o, sizeof line - o, " %s", st->names[i]);
    o += shape_text(line + o, sizeof line - o, &st->in[i]);
  }
  o += (size_t)snprintf(line + o, sizeof line - o, " ->");
  int n_out = mr_call_output_count(st->call);
  mr_tensor t;
  for (int i = 0; i < n_out && i < 2 && o < sizeof line - 64; i++) {
    mr_call_output(st->call, i, &t);
    o += (size_t)snprintf(line + o, sizeof line - o, " ");
    o += shape_text(line + o, sizeof line - o, &t);
  }
  if (n_out > 2) o += (size_t)snprintf(line + o, sizeof line - o, " ... (%d outputs)", n_out);
  snprintf(line + o, sizeof line - o, "  %.3f ms", ms);
  m->trace(m->trace_ud, line);
}

/* One run of a prepared step, counted under `stage` and traced as "what.fn in -> out  ms". */
static int run_step(llm_model *m, int stage, const step *st, mr_error *err) {
  double t0 = llm_now_ms();
  int rc = mr_call_run(st->call, err);
  double ms = llm_now_ms() - t0;
  m->cnt.calls[stage]++;
  m->cnt.ms[stage] += ms;
  if (!rc && m->trace) trace_step(m, st, ms);
  return rc;
}

/* The step's first output as floats into out (n values). */
static void output_f32(const step *st, float *out, int64_t n) {
  mr_tensor o;
  mr_call_output(st->call, 0, &o);
  int64_t have = mr_tensor_count(&o);
  to_f32(&o, out, n < have ? n : have);
}

/* Hidden states of m->ids[0..n) into m->h [n, H]: one batched call, or one call per token. */
static int embed(llm_model *m, int n, mr_error *err) {
  if (m->emb_batch && n > 1) {
    int rc = run_step(m, LLM_EMB, &m->emb_pf, err);
    if (!rc) output_f32(&m->emb_pf, m->h, (int64_t)n * m->hidden);
    return rc;
  }
  for (int i = 0; i < n; i++) {
    m->one = m->ids[i];
    int rc = run_step(m, LLM_EMB, &m->emb_inf, err);
    if (rc) return rc;
    output_f32(&m->emb_inf, m->h + (size_t)i * (size_t)m->hidden, m->hidden);
  }
  return MR_OK;
}

/* Mask rows [row0, row0 + n) of the full causal mask: 0 for j <= i, -inf above. */
static void mask_rows(llm_model *m, int row0, int n) {
  int C = m->context;
  for (int r = 0; r < n; r++)
    for (int j = 0; j < C; j++) m->mask[(size_t)r * C + j] = j <= row0 + r ? 0.0f : -1.0f / 0.0f;
}

/* The FFN at m->cur (position ids in m->pos, mask rows in m->mask): every chunk, each reading the
 * previous one's hidden states from m->h, or the monolithic bundle on m->ids. */
static int run_ffn(llm_model *m, int prefill, mr_error *err) {
  if (m->mono) return run_step(m, LLM_FFN, prefill ? &m->mono_pf : &m->mono_inf, err);
  for (int c = 0; c < m->chunks; c++) {
    const step *st = prefill ? &m->ffn[c].prefill : &m->ffn[c].infer;
    int rc = run_step(m, LLM_FFN, st, err);
    if (rc) return rc;
    if (c + 1 < m->chunks) output_f32(st, m->h, (int64_t)(prefill ? m->batch : 1) * m->hidden);
    else if (!prefill) output_f32(st, m->h, m->hidden);
  }
  return MR_OK;
}

int llm_model_prefill_batch(llm_model *m, const int32_t *ids, int take, int start, mr_error *err) {
  int B = m->batch;
  if (take < 1 || take > B || start < 0 || start + B > m->context)
    return util_err(err, MR_EINVAL, "prefill of %d tokens at %d does not fit the context of %d", take, start, m->context);
  for (int i = 0; i < B; i++) { /* chat.py pads the last batch with token 0 */
    m->ids[i] = i < take ? ids[i] : 0;
    m->pos[i] = start + i;
  }
  m->cur = start;
  int rc = m->mono ? MR_OK : embed(m, B, err);
  if (rc) return rc;
  mask_rows(m, start, B);
  return run_ffn(m, 1, err);
}

int llm_model_prefill(llm_model *m, const int32_t *ids, int n, mr_error *err) {
  if (n < 0 || n > m->context) return util_err(err, MR_EINVAL, "prompt of %d tokens does not fit the context of %d", n, m->context);
  for (int b = 0; b < n; b += m->batch) {
    int rc = llm_model_prefill_batch(m, ids + b, n - b < m->batch ? n - b : m->batch, b, err);
    if (rc) return rc;
  }
  return MR_OK;
}

/* Logits from the head's outputs (parts joined in declaration order), or the global argmax: the
 * part with the largest argmax_val, its argmax_idx plus the sizes of the parts before it. */
static void head_result(llm_model *m, const mr_call *head, float *logits, int32_t *argmax) {
  mr_tensor o;
  if (m->argmax) {
    mr_tensor idx, val;
    mr_call_output(head, m->idx_out, &idx);
    mr_call_output(head, m->val_out, &val);
    int64_t K = mr_tensor_count(&val), best = 0, off = 0;
    float bv = 0;
    for (int64_t k = 0; k < K; k++) {
      float v = val.dtype == MR_FLOAT16 ? util_f16_to_f32(((const uint16_t *)val.data)[k]) : ((const float *)val.data)[k];
      if (k == 0 || v > bv) bv = v, best = k;
    }
    for (int64_t k = 0; k < best; k++) off += m->vocab / K + (k < m->vocab % K ? 1 : 0);
    *argmax = ((const int32_t *)idx.data)[best] + (int32_t)off;
    return;
  }
  int64_t off = 0;
  for (int k = 0; k < m->n_parts; k++) {
    mr_call_output(head, k, &o);
    int64_t v = o.shape[o.rank - 1];
    to_f32(&o, logits + off, v);
    off += v;
  }
}

int llm_model_step(llm_model *m, int32_t token, int pos, int head, float *logits, int32_t *argmax, mr_error *err) {
  if (pos < 0 || pos >= m->context) return util_err(err, MR_EINVAL, "position %d is outside the context of %d", pos, m->context);
  m->ids[0] = token;
  m->pos[0] = pos;
  m->cur = pos;
  int rc = m->mono ? MR_OK : embed(m, 1, err);
  if (rc) return rc;
  mask_rows(m, pos, 1);
  if ((rc = run_ffn(m, 0, err)) || !head) return rc;
  if (!m->mono && (rc = run_step(m, LLM_HEAD, &m->head, err))) return rc;
  head_result(m, m->mono ? m->mono_inf.call : m->head.call, logits, argmax);
  return MR_OK;
}

int llm_model_infer(llm_model *m, int32_t token, int pos, float *logits, mr_error *err) {
  if (m->argmax) return util_err(err, MR_ENOTSUP, "the LM head of this model returns argmax only, not logits");
  return llm_model_step(m, token, pos, 1, logits, NULL, err);
}
