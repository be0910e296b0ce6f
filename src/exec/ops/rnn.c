/* rnn.c — lstm, coremltools' iOS15 definition (defs/iOS15/recurrent.py): x [S, B, I],
 * initial_h/initial_c [B, D*H], weight_ih [4H, I], weight_hh [4H, H], bias [4H] (b_ih + b_hh),
 * gate rows in the order [input, forget, output, cell] ("ifoz" in coremltools), direction
 * forward/reverse/bidirectional (the *_back weights run backwards), outputs y ([S or 1, B, D*H]),
 * h and c (final states, [B, D*H]).
 *   i = ra(.), f = ra(.), o = ra(.), z = ca(.),  c' = f*c + i*z,  h' = o * act(c')
 * `clip` clips the cell state c' to [-clip, clip] (the NN-spec cellClipThreshold the MIL op lowers
 * to; the MIL docstring says "cell gate" — an inference, flagged in the report). Peepholes are not
 * supported (the op table has no room for their params; PyTorch LSTMs have none). The weights may
 * stay packed (a palettized model's LUT weights): each gate row is decoded when it is used. */
#include <math.h>
#include <string.h>

#include "exec/kernels/matmul.h"
#include "exec/ops/ops.h"

enum { ACT_SIGMOID, ACT_TANH, ACT_RELU, ACT_LINEAR };

typedef struct lstm_plan {
  int64_t seq, batch, in, hid;
  int dirs, reverse, out_seq, act[3]; /* recurrent, cell, output activations */
  float clip;                          /* 0: none */
} lstm_plan;

static int activation(exec_node *n, int i, const char *dflt, int *out, mr_error *err) {
  static const char *const names[] = {"sigmoid", "tanh", "relu", "linear"};
  const char *s;
  int rc = exec_param_str(n, i, dflt, &s, err);
  if (rc) return rc;
  for (int k = 0; k < 4; k++)
    if (!strcmp(s, names[k])) return *out = k, MR_OK;
  return exec_node_err(n, err, MR_ENOTSUP, "unsupported %s '%s'", n->def->params[i], s);
}

static int check_weights(exec_node *n, lstm_plan *p, int wih, int whh, int b, mr_error *err) {
  const exec_tensor *wi = exec_in(n, wih), *wh = exec_in(n, whh), *bi = exec_in(n, b);
  char s1[128], s2[128];
  if (!wi || !wh) return exec_node_err(n, err, MR_EINVAL, "missing required parameter '%s'", n->def->params[wi ? whh : wih]);
  int wi_ok = wi->storage == EXEC_F32 || wi->storage == EXEC_PACKED;
  int wh_ok = wh->storage == EXEC_F32 || wh->storage == EXEC_PACKED;
  if (!wi_ok || !wh_ok || wi->rank != 2 || wh->rank != 2 ||
      wi->shape[0] != 4 * p->hid || wi->shape[1] != p->in || wh->shape[1] != p->hid || wh->shape[0] != 4 * p->hid)
    return exec_node_err(n, err, MR_ESHAPE, "%s %s and %s %s must be float [4H, I] and [4H, H] with I = %lld",
                         n->def->params[wih], exec_shape_str(wi->rank, wi->shape, s1, sizeof s1), n->def->params[whh],
                         exec_shape_str(wh->rank, wh->shape, s2, sizeof s2), (long long)p->in);
  if (bi && (bi->storage != EXEC_F32 || bi->count != 4 * p->hid))
    return exec_node_err(n, err, MR_ESHAPE, "%s must have 4H = %lld values", n->def->params[b], (long long)(4 * p->hid));
  return MR_OK;
}

static int lstm_params(exec_node *n, lstm_plan *p, mr_error *err) {
  const char *dir;
  double clip;
  int rc;
  if ((rc = exec_param_str(n, P_lstm_direction, "forward", &dir, err)) || (rc = exec_param_bool(n, P_lstm_output_sequence, 0, &p->out_seq, err)) ||
      (rc = activation(n, P_lstm_recurrent_activation, "sigmoid", &p->act[0], err)) || (rc = activation(n, P_lstm_cell_activation, "tanh", &p->act[1], err)) ||
      (rc = activation(n, P_lstm_activation, "tanh", &p->act[2], err)) || (rc = exec_param_float(n, P_lstm_clip, 0, &clip, err)))
    return rc;
  if (!strcmp(dir, "bidirectional")) p->dirs = 2;
  else if (!strcmp(dir, "reverse")) p->dirs = 1, p->reverse = 1;
  else if (!strcmp(dir, "forward")) p->dirs = 1;
  else return exec_node_err(n, err, MR_EINVAL, "unknown direction '%s'", dir);
  if (clip < 0) return exec_node_err(n, err, MR_EINVAL, "clip must be >= 0");
  p->clip = (float)clip;
  return MR_OK;
}

int exec_lstm_plan(exec_node *n, mr_error *err) {
  static const int states[2] = {P_lstm_initial_h, P_lstm_initial_c};
  int rc = exec_need(n, P_lstm_x, err);
  for (int i = 0; i < 2 && !rc; i++) rc = exec_need(n, states[i], err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_lstm_x), *wh = exec_in(n, P_lstm_weight_hh);
  char sx[128];
  if (x->storage != EXEC_F32 || x->rank != 3)
    return exec_node_err(n, err, MR_ESHAPE, "x %s must be float [S, B, I]", exec_shape_str(x->rank, x->shape, sx, sizeof sx));
  lstm_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  if ((rc = lstm_params(n, p, err))) return rc;
  p->seq = x->shape[0], p->batch = x->shape[1], p->in = x->shape[2];
  p->hid = wh && wh->rank == 2 ? wh->shape[1] : 0;
  if ((rc = check_weights(n, p, P_lstm_weight_ih, P_lstm_weight_hh, P_lstm_bias, err))) return rc;
  if (p->dirs == 2 && (rc = check_weights(n, p, P_lstm_weight_ih_back, P_lstm_weight_hh_back, P_lstm_bias_back, err))) return rc;
  int64_t dh = p->dirs * p->hid, hs[2] = {p->batch, dh}, ys[3] = {p->out_seq ? p->seq : 1, p->batch, dh};
  for (int i = 0; i < 2; i++)
    if (exec_in(n, states[i])->storage != EXEC_F32 || exec_in(n, states[i])->count != p->batch * dh)
      return exec_node_err(n, err, MR_ESHAPE, "%s must hold [B, D*H] = [%lld, %lld] floats", n->def->params[states[i]],
                           (long long)p->batch, (long long)dh);
  if ((rc = exec_set_out_shape(n, 0, 3, ys, err)) || (rc = exec_set_out_shape(n, 1, 2, hs, err))) return rc;
  return exec_set_out_shape(n, 2, 2, hs, err);
}

/* Gates, then one decoded row of weight_ih and one of weight_hh (packed weights stay packed). */
size_t exec_lstm_scratch(const exec_node *n) {
  const lstm_plan *p = n->priv;
  return (size_t)(4 * p->hid + p->in + p->hid);
}

/* Row r of a [rows, cols] weight: in place for fp32, decoded into buf when packed. */
static const float *weight_row(const exec_tensor *w, int64_t r, int64_t cols, float *buf) {
  if (w->storage == EXEC_F32) return exec_f32(w) + r * cols;
  exec_tensor_read_row_f32(w, r, buf);
  return buf;
}

static float act(int kind, float v) {
  switch (kind) {
  case ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
  case ACT_TANH: return tanhf(v);
  case ACT_RELU: return v > 0 ? v : 0;
  default: return v;
  }
}

/* One direction over the whole sequence; h/c (B, H) are updated in place, y gets every step
 * (out_seq) or the final step at column offset `col`. */
static void lstm_dir(const lstm_plan *p, const float *x, const exec_tensor *wi, const exec_tensor *wh, const float *b,
                     int rev, float *h, float *c, float *y, int64_t col, float *g) {
  int64_t H = p->hid, dh = p->dirs * H;
  float *wi_row = g + 4 * H, *wh_row = wi_row + p->in;
  for (int64_t s = 0; s < p->seq; s++) {
    int64_t t = rev ? p->seq - 1 - s : s;
    for (int64_t bi = 0; bi < p->batch; bi++) {
      const float *xt = x + (t * p->batch + bi) * p->in;
      float *hb = h + bi * dh + col, *cb = c + bi * dh + col;
      for (int64_t r = 0; r < 4 * H; r++)
        g[r] = (b ? b[r] : 0) + exec_kernel_dot(weight_row(wi, r, p->in, wi_row), xt, p->in) +
               exec_kernel_dot(weight_row(wh, r, H, wh_row), hb, H);
      for (int64_t j = 0; j < H; j++) { /* gates i, f, o, z */
        float ig = act(p->act[0], g[j]), fg = act(p->act[0], g[H + j]), og = act(p->act[0], g[2 * H + j]);
        float z = act(p->act[1], g[3 * H + j]), cv = fg * cb[j] + ig * z;
        if (p->clip > 0) cv = cv < -p->clip ? -p->clip : cv > p->clip ? p->clip : cv;
        cb[j] = cv;
        hb[j] = og * act(p->act[2], cv);
      }
      if (p->out_seq) memcpy(y + (t * p->batch + bi) * dh + col, hb, (size_t)H * sizeof *hb);
    }
  }
  if (!p->out_seq)
    for (int64_t bi = 0; bi < p->batch; bi++) memcpy(y + bi * dh + col, h + bi * dh + col, (size_t)H * sizeof *h);
}

int exec_lstm_run(exec_node *n, mr_error *err) {
  const lstm_plan *p = n->priv;
  float *h = exec_f32(n->out[1]), *c = exec_f32(n->out[2]), *y = exec_f32(n->out[0]);
  memcpy(h, exec_f32(exec_in(n, P_lstm_initial_h)), (size_t)n->out[1]->count * sizeof *h);
  memcpy(c, exec_f32(exec_in(n, P_lstm_initial_c)), (size_t)n->out[2]->count * sizeof *c);
  const float *x = exec_f32(exec_in(n, P_lstm_x));
  for (int d = 0; d < p->dirs; d++) {
    int wi = d ? P_lstm_weight_ih_back : P_lstm_weight_ih, wh = d ? P_lstm_weight_hh_back : P_lstm_weight_hh, bb = d ? P_lstm_bias_back : P_lstm_bias;
    const exec_tensor *bt = exec_in(n, bb);
    lstm_dir(p, x, exec_in(n, wi), exec_in(n, wh), bt ? exec_f32(bt) : NULL, d ? 1 : p->reverse, h, c,
             y, d * p->hid, n->scratch);
  }
  return MR_OK;
}
