/* model.c — running an Anemll bundle (see model.h). File names are resolved as chat.py 0.3.4 does
 * (§1.5; llm/layout.c; a component may also be a .mlpackage). One fp16 KV state, created from the first chunk, is passed
 * to every chunk's prefill and infer. */
#include "llm/model.h"

#include <stdio.h>
#include <string.h>

#include "llm/layout.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"

struct llm_model {
  llm_meta meta;
  mr_bundle *emb, *lm;
  mr_bundle **ffn;
  mr_call *emb_call, *lm_call, **prefill, **infer; /* prepared once; per chunk for the FFN */
  mr_state *kv;
  const char *state_name;
  int hidden;
  int emb_batch;   /* 1: the embeddings take [1, B] (flexible or fixed); 0: one token per call */
  int64_t vocab;
  int n_parts;
  float *h, *h2;   /* hidden state buffers [B * hidden] */
  float *mask;     /* rows of the causal mask [B * context] */
  int32_t *ids, *pos;
};

static int open_bundle(const char *path, mr_bundle **out, mr_error *err) {
  if (!util_is_dir(path)) return util_err(err, MR_ENOTFOUND, "%s: component not found (nor as .mlpackage)", path);
  return mr_bundle_open(path, NULL, out, err);
}

static int open_components(llm_model *m, const char *dir, mr_error *err) {
  llm_layout l;
  int rc = llm_layout_resolve(dir, &m->meta, &l, err);
  if (rc) return rc;
  rc = open_bundle(l.embeddings, &m->emb, err);
  if (!rc) rc = open_bundle(l.lm_head, &m->lm, err);
  if (!rc && !(m->ffn = util_calloc((size_t)l.chunks, sizeof *m->ffn))) rc = util_err_nomem(err, "model");
  for (int c = 0; c < l.chunks && !rc; c++) rc = open_bundle(l.ffn[c], &m->ffn[c], err);
  llm_layout_free(&l);
  return rc;
}

/* Sizes from the components themselves (contract §9.1: do not trust meta alone). */
static int read_shapes(llm_model *m, mr_error *err) {
  const mr_io_info *in, *out, *st;
  int n = mr_bundle_inputs(m->emb, NULL, &in);
  if (n != 1 || in[0].rank != 2) return util_err(err, MR_EFORMAT, "embeddings: expected one input input_ids [1, T]");
  m->emb_batch = in[0].shape[1] != 1;
  n = mr_bundle_inputs(m->lm, NULL, &in);
  if (n != 1 || in[0].rank != 3) return util_err(err, MR_EFORMAT, "LM head: expected one input hidden_states [1, 1, H]");
  m->hidden = (int)in[0].shape[2];
  n = mr_bundle_outputs(m->lm, NULL, &out);
  m->n_parts = n;
  m->vocab = 0;
  for (int i = 0; i < n; i++) {
    if (m->meta.argmax_in_model || out[i].rank < 1) break;
    m->vocab += out[i].shape[out[i].rank - 1];
  }
  n = mr_bundle_states(m->ffn[0], "prefill", &st);
  if (n != 1) return util_err(err, MR_EFORMAT, "FFN chunk 1: prefill must declare exactly one state");
  m->state_name = st[0].name;
  return mr_state_new(m->ffn[0], m->state_name, &m->kv, err);
}

/* Every call the model makes, prepared with its state bound. */
static int prepare_calls(llm_model *m, mr_error *err) {
  int rc = mr_call_new(m->emb, NULL, &m->emb_call, err);
  if (!rc) rc = mr_call_new(m->lm, NULL, &m->lm_call, err);
  m->prefill = util_calloc((size_t)m->meta.chunks, sizeof *m->prefill);
  m->infer = util_calloc((size_t)m->meta.chunks, sizeof *m->infer);
  if (!rc && (!m->prefill || !m->infer)) rc = util_err_nomem(err, "model");
  for (int c = 0; c < m->meta.chunks && !rc; c++) {
    rc = mr_call_new(m->ffn[c], "prefill", &m->prefill[c], err);
    if (!rc) rc = mr_call_new(m->ffn[c], "infer", &m->infer[c], err);
    if (!rc) rc = mr_call_set_state(m->prefill[c], m->state_name, m->kv, err);
    if (!rc) rc = mr_call_set_state(m->infer[c], m->state_name, m->kv, err);
  }
  return rc;
}

int llm_model_open(const char *dir, llm_model **out, mr_error *err) {
  *out = NULL;
  llm_model *m = util_calloc(1, sizeof *m);
  if (!m) return util_err_nomem(err, "model");
  char *yml = util_path_join(dir, "meta.yaml");
  int rc = yml ? llm_meta_read(yml, &m->meta, err) : util_err_nomem(err, "model");
  mr_free(yml);
  if (!rc) rc = open_components(m, dir, err);
  if (!rc) rc = read_shapes(m, err);
  if (!rc) rc = prepare_calls(m, err);
  if (!rc) {
    size_t B = (size_t)m->meta.batch, C = (size_t)m->meta.context, H = (size_t)m->hidden;
    m->h = mr_alloc(B * H * sizeof(float));
    m->h2 = mr_alloc(B * H * sizeof(float));
    m->mask = mr_alloc(B * C * sizeof(float));
    m->ids = mr_alloc(B * sizeof(int32_t));
    m->pos = mr_alloc(B * sizeof(int32_t));
    if (!m->h || !m->h2 || !m->mask || !m->ids || !m->pos) rc = util_err_nomem(err, "model buffers");
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
  mr_call_free(m->emb_call);
  mr_call_free(m->lm_call);
  for (int c = 0; c < m->meta.chunks; c++) {
    mr_call_free(m->prefill ? m->prefill[c] : NULL);
    mr_call_free(m->infer ? m->infer[c] : NULL);
  }
  mr_free(m->prefill);
  mr_free(m->infer);
  mr_state_free(m->kv);
  mr_bundle_close(m->emb);
  mr_bundle_close(m->lm);
  for (int c = 0; m->ffn && c < m->meta.chunks; c++) mr_bundle_close(m->ffn[c]);
  mr_free(m->ffn);
  mr_free(m->h);
  mr_free(m->h2);
  mr_free(m->mask);
  mr_free(m->ids);
  mr_free(m->pos);
  mr_free(m);
}

const llm_meta *llm_model_meta(const llm_model *m) { return &m->meta; }
int64_t llm_model_vocab(const llm_model *m) { return m->vocab; }
void llm_model_reset(llm_model *m) { mr_state_reset(m->kv); }

static void to_f32(const mr_tensor *t, float *out, int64_t n) {
  if (t->dtype == MR_FLOAT16)
    for (int64_t i = 0; i < n; i++) out[i] = util_f16_to_f32(((const uint16_t *)t->data)[i]);
  else memcpy(out, t->data, (size_t)n * sizeof(float));
}

/* hidden states of ids[0..n) into out [n, H]. */
static int embed(llm_model *m, const int32_t *ids, int n, float *out, mr_error *err) {
  int step = m->emb_batch ? n : 1;
  for (int i = 0; i < n; i += step) {
    mr_tensor in = {MR_INT32, 2, {1, step}, (void *)(ids + i)}, o;
    int rc = mr_call_set_input(m->emb_call, "input_ids", &in, err);
    if (!rc) rc = mr_call_run(m->emb_call, err);
    if (!rc) rc = mr_call_output(m->emb_call, 0, &o);
    if (rc) return rc;
    to_f32(&o, out + (size_t)i * (size_t)m->hidden, (int64_t)step * m->hidden);
  }
  return MR_OK;
}

/* Mask rows [row0, row0 + n) of the full causal mask: 0 for j <= i, -inf above. */
static void mask_rows(llm_model *m, int row0, int n) {
  int C = m->meta.context;
  for (int r = 0; r < n; r++)
    for (int j = 0; j < C; j++) m->mask[(size_t)r * C + j] = j <= row0 + r ? 0.0f : -1.0f / 0.0f;
}

/* Every chunk's `fn` on T tokens; m->h holds the input and receives the output. */
static int run_chunks(llm_model *m, mr_call **calls, int T, int pos0, mr_error *err) {
  static const char *const names[4] = {"hidden_states", "position_ids", "causal_mask", "current_pos"};
  int32_t cur = pos0;
  for (int c = 0; c < m->meta.chunks; c++) {
    mr_tensor in[4] = {{MR_FLOAT32, 3, {1, T, m->hidden}, m->h},
                       {MR_INT32, 1, {T}, m->pos},
                       {MR_FLOAT32, 4, {1, 1, T, m->meta.context}, m->mask},
                       {MR_INT32, 1, {1}, &cur}};
    mr_tensor o;
    int rc = MR_OK;
    for (int i = 0; i < 4 && !rc; i++) rc = mr_call_set_input(calls[c], names[i], &in[i], err);
    if (!rc) rc = mr_call_run(calls[c], err);
    if (!rc) rc = mr_call_output(calls[c], 0, &o);
    if (rc) return rc;
    int64_t n = 1;
    for (int d = 0; d < o.rank; d++) n *= o.shape[d];
    to_f32(&o, m->h, n);
  }
  return MR_OK;
}

int llm_model_prefill(llm_model *m, const int32_t *ids, int n, mr_error *err) {
  int B = m->meta.batch;
  if (n < 0 || n > m->meta.context) return util_err(err, MR_EINVAL, "prompt of %d tokens does not fit the context of %d", n, m->meta.context);
  for (int b = 0; b < n; b += B) {
    int take = n - b < B ? n - b : B;
    for (int i = 0; i < B; i++) { /* chat.py pads the last batch with token 0 */
      m->ids[i] = i < take ? ids[b + i] : 0;
      m->pos[i] = b + i;
    }
    int rc = embed(m, m->ids, B, m->h, err);
    if (rc) return rc;
    mask_rows(m, b, B);
    if ((rc = run_chunks(m, m->prefill, B, b, err))) return rc;
  }
  return MR_OK;
}

int llm_model_infer(llm_model *m, int32_t token, int pos, float *logits, mr_error *err) {
  if (pos < 0 || pos >= m->meta.context) return util_err(err, MR_EINVAL, "position %d is outside the context of %d", pos, m->meta.context);
  if (m->meta.argmax_in_model || !m->vocab)
    return util_err(err, MR_ENOTSUP, "the LM head of this bundle returns argmax only, not logits");
  int rc = embed(m, &token, 1, m->h, err);
  if (rc) return rc;
  m->pos[0] = pos;
  mask_rows(m, pos, 1);
  if ((rc = run_chunks(m, m->infer, 1, pos, err))) return rc;
  mr_tensor in = {MR_FLOAT32, 3, {1, 1, m->hidden}, m->h}, o;
  rc = mr_call_set_input(m->lm_call, "hidden_states", &in, err);
  if (!rc) rc = mr_call_run(m->lm_call, err);
  if (rc) return rc;
  int64_t off = 0; /* logits1..K in numeric (declaration) order */
  for (int k = 0; k < m->n_parts; k++) {
    mr_call_output(m->lm_call, k, &o);
    int64_t v = o.shape[o.rank - 1];
    to_f32(&o, logits + off, v);
    off += v;
  }
  return MR_OK;
}
