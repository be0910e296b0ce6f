/* attention.c — scaled_dot_product_attention (iOS18, docs/formats.md §4.7):
 * softmax(Q·Kᵀ / sqrt(E) + mask) · V over the last two axes, with batch dims broadcast between
 * query [*, L, E], key [*, S, E], value [*, S, EV] and attn_mask (broadcastable to [*, L, S];
 * bool: true = attend, false = -inf; float: added). One query row at a time with its S scores in
 * scratch; a row with every key masked gives NaN, as softmax does. */
#include <math.h>
#include <string.h>

#include "exec/kernels/matmul.h"
#include "exec/ops/ops.h"

typedef struct sdpa_plan {
  int brank;
  int64_t bshape[MR_MAX_RANK], batch, L, S, E, EV;
  int64_t qs[MR_MAX_RANK], ks[MR_MAX_RANK], vs[MR_MAX_RANK], ms[MR_MAX_RANK]; /* batch strides */
  int64_t ml, mss;                                                          /* mask L, S strides */
} sdpa_plan;

/* Element strides of t's batch dims (all but its last two) broadcast to bshape. */
static void batch_strides(const exec_tensor *t, int brank, const int64_t *bshape, int64_t *st) {
  int64_t s = t->rank >= 2 ? t->shape[t->rank - 1] * t->shape[t->rank - 2] : 1;
  int tb = t->rank - 2;
  for (int i = brank - 1; i >= 0; i--) {
    int j = i - (brank - tb);
    int64_t d = j >= 0 ? t->shape[j] : 1;
    st[i] = (d == 1 && bshape[i] != 1) ? 0 : s;
    s *= d;
  }
}

static int sdpa_shapes(exec_node *n, sdpa_plan *p, mr_error *err) {
  const exec_tensor *q = exec_in(n, P_sdpa_query), *k = exec_in(n, P_sdpa_key), *v = exec_in(n, P_sdpa_value), *m = exec_in(n, P_sdpa_attn_mask);
  char sq[128], sk[128], sv[128];
  int rc;
  if (q->rank < 2 || k->rank < 2 || v->rank < 2 || q->shape[q->rank - 1] != k->shape[k->rank - 1] ||
      k->shape[k->rank - 2] != v->shape[v->rank - 2])
    return exec_node_err(n, err, MR_ESHAPE, "query %s, key %s and value %s do not fit [*, L, E], [*, S, E], [*, S, EV]",
                         exec_shape_str(q->rank, q->shape, sq, sizeof sq), exec_shape_str(k->rank, k->shape, sk, sizeof sk),
                         exec_shape_str(v->rank, v->shape, sv, sizeof sv));
  p->L = q->shape[q->rank - 2], p->E = q->shape[q->rank - 1], p->S = k->shape[k->rank - 2], p->EV = v->shape[v->rank - 1];
  if ((rc = exec_broadcast(n, q->rank - 2, q->shape, k->rank - 2, k->shape, &p->brank, p->bshape, err)) ||
      (rc = exec_broadcast(n, p->brank, p->bshape, v->rank - 2, v->shape, &p->brank, p->bshape, err)))
    return rc;
  if (m) {
    int64_t full[MR_MAX_RANK + 2], out[MR_MAX_RANK + 2];
    int r;
    memcpy(full, p->bshape, sizeof p->bshape);
    full[p->brank] = p->L, full[p->brank + 1] = p->S;
    if ((rc = exec_broadcast(n, m->rank, m->shape, p->brank + 2, full, &r, out, err))) return rc;
    if (r != p->brank + 2 || out[r - 2] != p->L || out[r - 1] != p->S)
      return exec_node_err(n, err, MR_ESHAPE, "attn_mask %s does not broadcast to [*, L, S]",
                           exec_shape_str(m->rank, m->shape, sq, sizeof sq));
    memcpy(p->bshape, out, sizeof p->bshape);
  }
  return MR_OK;
}

int exec_sdpa_plan(exec_node *n, mr_error *err) {
  static const int qkv[3] = {P_sdpa_query, P_sdpa_key, P_sdpa_value};
  int rc = 0;
  for (int i = 0; i < 3 && !rc; i++) rc = exec_need(n, qkv[i], err);
  if (rc) return rc;
  for (int i = 0; i < 3; i++)
    if (exec_in(n, qkv[i])->storage != EXEC_F32)
      return exec_err_storage(n, err, n->def->params[qkv[i]], exec_in(n, qkv[i]));
  const exec_tensor *m = exec_in(n, P_sdpa_attn_mask);
  if (m && m->storage != EXEC_F32 && m->storage != EXEC_U8) return exec_err_storage(n, err, "attn_mask", m);
  sdpa_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  if ((rc = sdpa_shapes(n, p, err))) return rc;
  batch_strides(exec_in(n, P_sdpa_query), p->brank, p->bshape, p->qs);
  batch_strides(exec_in(n, P_sdpa_key), p->brank, p->bshape, p->ks);
  batch_strides(exec_in(n, P_sdpa_value), p->brank, p->bshape, p->vs);
  if (m) {
    int64_t ml = m->rank >= 2 ? m->shape[m->rank - 2] : 1, msz = m->rank >= 1 ? m->shape[m->rank - 1] : 1;
    p->mss = msz == 1 ? 0 : 1;
    p->ml = ml == 1 ? 0 : msz;
    if (m->rank >= 2) batch_strides(m, p->brank, p->bshape, p->ms);
  }
  int64_t shape[MR_MAX_RANK];
  p->batch = 1;
  for (int i = 0; i < p->brank; i++) shape[i] = p->bshape[i], p->batch *= p->bshape[i];
  shape[p->brank] = p->L, shape[p->brank + 1] = p->EV;
  return exec_set_out_shape(n, 0, p->brank + 2, shape, err);
}

size_t exec_sdpa_scratch(const exec_node *n) {
  const sdpa_plan *p = n->priv;
  return (size_t)p->S;
}

/* Scores of one query row against all keys, masked, softmaxed in place. */
static void score_row(const sdpa_plan *p, const float *q, const float *k, const exec_tensor *m, int64_t moff, float *sc) {
  float scale = 1.0f / sqrtf((float)p->E), mx = -INFINITY, sum = 0;
  for (int64_t s = 0; s < p->S; s++) {
    float v = exec_kernel_dot(q, k + s * p->E, p->E) * scale;
    if (m && m->storage == EXEC_U8) v = exec_u8(m)[moff + s * p->mss] ? v : -INFINITY;
    else if (m) v += exec_f32(m)[moff + s * p->mss];
    sc[s] = v;
    mx = v > mx ? v : mx;
  }
  for (int64_t s = 0; s < p->S; s++) sum += (sc[s] = expf(sc[s] - mx));
  for (int64_t s = 0; s < p->S; s++) sc[s] /= sum;
}

int exec_sdpa_run(exec_node *n, mr_error *err) {
  const sdpa_plan *p = n->priv;
  const exec_tensor *m = exec_in(n, P_sdpa_attn_mask);
  const float *q = exec_f32(exec_in(n, P_sdpa_query)), *k = exec_f32(exec_in(n, P_sdpa_key)), *v = exec_f32(exec_in(n, P_sdpa_value));
  float *y = exec_f32(n->out[0]), *sc = n->scratch;
  int64_t c[MR_MAX_RANK] = {0}, off[4] = {0, 0, 0, 0};
  for (int64_t b = 0; b < p->batch; b++) {
    for (int64_t l = 0; l < p->L; l++) {
      float *yr = y + (b * p->L + l) * p->EV;
      score_row(p, q + off[0] + l * p->E, k + off[1], m, off[3] + l * p->ml, sc);
      memset(yr, 0, (size_t)p->EV * sizeof *yr);
      for (int64_t s = 0; s < p->S; s++) exec_kernel_axpy(sc[s], v + off[2] + s * p->EV, yr, p->EV);
    }
    for (int j = p->brank - 1; j >= 0; j--) {
      const int64_t *st[4] = {p->qs, p->ks, p->vs, p->ms};
      for (int t = 0; t < 4; t++) off[t] += st[t][j];
      if (++c[j] < p->bshape[j]) break;
      for (int t = 0; t < 4; t++) off[t] -= st[t][j] * p->bshape[j];
      c[j] = 0;
    }
  }
  return MR_OK;
}
