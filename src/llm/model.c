/* model.c — running an Anemll model (see model.h). One fp16 KV state, created from the first
 * chunk's prefill bundle, is passed to every chunk's prefill and infer (contract §2.2). The
 * contract is checked once at open: each FFN function's inputs by name and shape, the same hidden
 * size, context and state in every chunk, the chunk numbers of the Anemll metadata. */
#include "llm/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"

#define MAX_PARTS 64

typedef struct chunk {
  mr_bundle *pf, *inf; /* inf may equal pf */
  const char *pf_fn, *inf_fn;
} chunk;

struct llm_model {
  mr_bundle *emb, *lm, *mono;
  chunk *ffn;
  int chunks;
  mr_state *kv;      /* the model's own state (logits), or the bound session's */
  mr_state *own_kv;
  const char *state_name;
  int hidden, context, batch, v035, argmax;
  int emb_batch;   /* 1: the embeddings take [1, B]; 0: one token per call */
  int64_t vocab;
  int n_parts, idx_out, val_out; /* argmax heads: which output is which */
  float *h;        /* hidden states [B * hidden] */
  float *mask;     /* rows of the causal mask [B * context] */
  int32_t *ids, *pos;
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

static int bundle_err(mr_bundle *b, int rc, mr_error *err) { return util_err(err, rc, "%s", mr_bundle_errmsg(b)); }

static int open_bundle(const char *path, mr_bundle **out, mr_error *err) {
  if (!util_is_dir(path)) return util_err(err, MR_ENOTFOUND, "%s: component not found", path);
  return mr_bundle_open(path, out, err);
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
  if (n < 1 || n > MAX_PARTS) return util_err(err, MR_EFORMAT, "%s: an LM head needs 1 to %d outputs, it has %d", path, MAX_PARTS, n);
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
  int rc = open_bundle(f->emb, &m->emb, err);
  if (!rc) rc = open_bundle(f->lm, &m->lm, err);
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
    rc = open_bundle(f->pf[c], &k->pf, err);
    if (!rc && f->inf[c] != f->pf[c]) rc = open_bundle(f->inf[c], &k->inf, err);
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
  int rc = open_bundle(f->mono, &m->mono, err);
  if (rc) return rc;
  if (!has_function(m->mono, "infer") || !has_function(m->mono, "prefill"))
    return util_err(err, MR_EFORMAT, "%s: a monolithic model has the functions infer and prefill", f->mono);
  m->emb_batch = 1;
  if ((rc = check_ffn(m, m->mono, f->mono, "prefill", 1, err))) return rc;
  if ((rc = check_ffn(m, m->mono, f->mono, "infer", 0, err))) return rc;
  return open_head(m, f->mono, f->vocab_size, err);
}

int llm_model_open_files(const llm_files *f, llm_model **out, mr_error *err) {
  *out = NULL;
  llm_model *m = util_calloc(1, sizeof *m);
  if (!m) return util_err_nomem(err, "model");
  m->v035 = f->v035;
  int rc = f->mono ? open_mono(m, f, err) : open_split(m, f, err);
  mr_bundle *b0 = m->mono ? m->mono : m->ffn ? m->ffn[0].pf : NULL;
  if (!rc && mr_state_new(b0, m->state_name, &m->own_kv)) rc = bundle_err(b0, MR_ENOMEM, err);
  m->kv = m->own_kv;
  if (!rc && (m->context < 1 || m->batch < 1)) rc = util_err(err, MR_EFORMAT, "model: no causal_mask / prefill batch found");
  if (!rc) {
    size_t B = (size_t)m->batch, C = (size_t)m->context, H = (size_t)(m->hidden > 0 ? m->hidden : 1);
    m->h = mr_alloc(B * H * sizeof(float));
    m->mask = mr_alloc(B * C * sizeof(float));
    m->ids = mr_alloc(B * sizeof(int32_t));
    m->pos = mr_alloc(B * sizeof(int32_t));
    if (!m->h || !m->mask || !m->ids || !m->pos) rc = util_err_nomem(err, "model buffers");
  }
  if (rc) {
    llm_model_close(m);
    return rc;
  }
  *out = m;
  return MR_OK;
}

void llm_model_close(llm_model *m) {
  if (!m) return;
  mr_state_free(m->own_kv);
  mr_bundle_close(m->emb);
  mr_bundle_close(m->lm);
  mr_bundle_close(m->mono);
  for (int c = 0; m->ffn && c < m->chunks; c++) {
    if (m->ffn[c].inf != m->ffn[c].pf) mr_bundle_close(m->ffn[c].inf);
    mr_bundle_close(m->ffn[c].pf);
  }
  mr_free(m->ffn);
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
void llm_model_reset(llm_model *m) { mr_state_reset(m->kv); }

int llm_model_kv_new(llm_model *m, mr_state **out, mr_error *err) {
  mr_bundle *b0 = m->mono ? m->mono : m->ffn[0].pf;
  return mr_state_new(b0, m->state_name, out) ? bundle_err(b0, MR_ENOMEM, err) : MR_OK;
}

void llm_model_use_kv(llm_model *m, mr_state *kv) { m->kv = kv ? kv : m->own_kv; }

size_t llm_model_kv_bytes(const llm_model *m) {
  mr_tensor v;
  mr_state_view(m->own_kv, &v);
  return (size_t)mr_tensor_count(&v) * mr_dtype_size(v.dtype);
}

void llm_model_set_trace(llm_model *m, void (*trace)(void *, const char *), void *ud) {
  m->trace = trace;
  m->trace_ud = ud;
}

static void to_f32(const mr_tensor *t, float *out, int64_t n) {
  if (t->dtype == MR_FLOAT16)
    for (int64_t i = 0; i < n; i++) out[i] = util_f16_to_f32(((const uint16_t *)t->data)[i]);
  else memcpy(out, t->data, (size_t)n * sizeof(float));
}

static size_t shape_text(char *buf, size_t size, const mr_tensor *t) {
  size_t o = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < t->rank && o < size; d++) o += (size_t)snprintf(buf + o, size - o, d ? ", %lld" : "%lld", (long long)t->shape[d]);
  if (o < size) o += (size_t)snprintf(buf + o, size - o, "]");
  return o < size ? o : size - 1;
}

/* One predict, counted under `stage` and traced as "what.fn in -> out  ms". */
static int predict(llm_model *m, int stage, const char *what, mr_bundle *b, const char *fn, int n_in,
                   const char *const *names, const mr_tensor *in, int n_out, mr_tensor *out, mr_error *err) {
  double t0 = llm_now_ms();
  const char *sn[1] = {m->state_name};
  mr_state *st[1] = {m->kv};
  int stateful = stage == LLM_FFN || (b == m->mono && stage != LLM_HEAD);
  int rc = mr_bundle_predict(b, fn, n_in, names, in, stateful, sn, st, n_out, out);
  double ms = llm_now_ms() - t0;
  m->cnt.calls[stage]++;
  m->cnt.ms[stage] += ms;
  if (rc) return bundle_err(b, rc, err);
  if (m->trace) {
    char line[1024];
    size_t o = (size_t)snprintf(line, sizeof line, "%s.%s", what, fn ? fn : "main");
    for (int i = 0; i < n_in && o < sizeof line - 64; i++) {
      o += (size_t)snprintf(line + o, sizeof line - o, " %s", names[i]);
      o += shape_text(line + o, sizeof line - o, &in[i]);
    }
    o += (size_t)snprintf(line + o, sizeof line - o, " ->");
    for (int i = 0; i < n_out && i < 2 && o < sizeof line - 64; i++) {
      o += (size_t)snprintf(line + o, sizeof line - o, " ");
      o += shape_text(line + o, sizeof line - o, &out[i]);
    }
    if (n_out > 2) o += (size_t)snprintf(line + o, sizeof line - o, " ... (%d outputs)", n_out);
    snprintf(line + o, sizeof line - o, "  %.3f ms", ms);
    m->trace(m->trace_ud, line);
  }
  return MR_OK;
}

/* hidden states of ids[0..n) into m->h [n, H]. */
static int embed(llm_model *m, const int32_t *ids, int n, mr_error *err) {
  static const char *const names[1] = {"input_ids"};
  int step = m->emb_batch ? n : 1;
  for (int i = 0; i < n; i += step) {
    mr_tensor in = {MR_INT32, 2, {1, step}, (void *)(ids + i)}, o;
    int rc = predict(m, LLM_EMB, "embeddings", m->emb, NULL, 1, names, &in, 1, &o, err);
    if (rc) return rc;
    to_f32(&o, m->h + (size_t)i * (size_t)m->hidden, (int64_t)step * m->hidden);
  }
  return MR_OK;
}

/* Mask rows [row0, row0 + n) of the full causal mask: 0 for j <= i, -inf above. */
static void mask_rows(llm_model *m, int row0, int n) {
  int C = m->context;
  for (int r = 0; r < n; r++)
    for (int j = 0; j < C; j++) m->mask[(size_t)r * C + j] = j <= row0 + r ? 0.0f : -1.0f / 0.0f;
}

/* The FFN of T tokens at pos0 (position ids in m->pos, mask rows in m->mask): every chunk, or the
 * monolithic bundle on m->ids (its outputs in mono_out). */
static int run_ffn(llm_model *m, int prefill, int T, int pos0, mr_tensor *mono_out, mr_error *err) {
  static const char *const names[4] = {"hidden_states", "position_ids", "causal_mask", "current_pos"};
  static const char *const mnames[4] = {"input_ids", "position_ids", "causal_mask", "current_pos"};
  int32_t cur = pos0;
  mr_tensor in[4] = {{MR_FLOAT32, 3, {1, T, m->hidden}, m->h},
                     {MR_INT32, 1, {T}, m->pos},
                     {MR_FLOAT32, 4, {1, 1, T, m->context}, m->mask},
                     {MR_INT32, 1, {1}, &cur}};
  if (m->mono) {
    in[0] = (mr_tensor){MR_INT32, 2, {1, T}, m->ids};
    return predict(m, LLM_FFN, "model", m->mono, prefill ? "prefill" : "infer", 4, mnames, in, prefill ? 0 : m->n_parts,
                   mono_out, err);
  }
  for (int c = 0; c < m->chunks; c++) {
    const chunk *k = &m->ffn[c];
    char what[32];
    snprintf(what, sizeof what, "ffn[%d]", c + 1);
    mr_tensor o;
    int rc = predict(m, LLM_FFN, what, prefill ? k->pf : k->inf, prefill ? k->pf_fn : k->inf_fn, 4, names, in, 1, &o, err);
    if (rc) return rc;
    if (c + 1 < m->chunks) to_f32(&o, m->h, mr_tensor_count(&o));
    else if (!prefill) to_f32(&o, m->h, m->hidden);
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
  int rc = m->mono ? MR_OK : embed(m, m->ids, B, err);
  if (rc) return rc;
  mask_rows(m, start, B);
  return run_ffn(m, 1, B, start, NULL, err);
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
static void head_result(llm_model *m, const mr_tensor *outs, float *logits, int32_t *argmax) {
  if (m->argmax) {
    const mr_tensor *idx = &outs[m->idx_out], *val = &outs[m->val_out];
    int64_t K = mr_tensor_count(val), best = 0, off = 0;
    float bv = 0;
    for (int64_t k = 0; k < K; k++) {
      float v = val->dtype == MR_FLOAT16 ? util_f16_to_f32(((const uint16_t *)val->data)[k]) : ((const float *)val->data)[k];
      if (k == 0 || v > bv) bv = v, best = k;
    }
    for (int64_t k = 0; k < best; k++) off += m->vocab / K + (k < m->vocab % K ? 1 : 0);
    *argmax = ((const int32_t *)idx->data)[best] + (int32_t)off;
    return;
  }
  int64_t off = 0;
  for (int k = 0; k < m->n_parts; k++) {
    int64_t v = outs[k].shape[outs[k].rank - 1];
    to_f32(&outs[k], logits + off, v);
    off += v;
  }
}

int llm_model_step(llm_model *m, int32_t token, int pos, int head, float *logits, int32_t *argmax, mr_error *err) {
  if (pos < 0 || pos >= m->context) return util_err(err, MR_EINVAL, "position %d is outside the context of %d", pos, m->context);
  m->ids[0] = token;
  m->pos[0] = pos;
  int rc = m->mono ? MR_OK : embed(m, m->ids, 1, err);
  if (rc) return rc;
  mask_rows(m, pos, 1);
  mr_tensor outs[MAX_PARTS];
  if ((rc = run_ffn(m, 0, 1, pos, outs, err)) || !head) return rc;
  if (!m->mono) {
    static const char *const names[1] = {"hidden_states"};
    mr_tensor in = {MR_FLOAT32, 3, {1, 1, m->hidden}, m->h};
    if ((rc = predict(m, LLM_HEAD, "lm_head", m->lm, NULL, 1, names, &in, m->n_parts, outs, err))) return rc;
  }
  head_result(m, outs, logits, argmax);
  return MR_OK;
}

int llm_model_infer(llm_model *m, int32_t token, int pos, float *logits, mr_error *err) {
  if (m->argmax) return util_err(err, MR_ENOTSUP, "the LM head of this model returns argmax only, not logits");
  return llm_model_step(m, token, pos, 1, logits, NULL, err);
}
