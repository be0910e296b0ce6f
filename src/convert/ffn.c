/* ffn.c — one FFN_PF chunk: functions `infer` (one token) and `prefill` (B tokens) over the layers
 * of the chunk, in Anemll's ANE form (docs/anemll.md §2.2, §3): projections are 1x1 convs on
 * [1, C, 1, T], RMSNorm is layer_norm over [x, -x], RoPE rows are gathered from constant tables
 * by position, K (after q/k-norm and RoPE) and V go into the shared state [2L, nKV, S, hd] with
 * slice_update + write_state before attention reads them back. Both functions are emitted by the
 * same code with T = 1 or B; they share every weight blob. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convert/convert.h"
#include "convert/metadata.h"
#include "util/alloc.h"
#include "util/error.h"

#define STATE_NAME "model_model_kv_cache_0"
#define I64(...) ((const int64_t[]){__VA_ARGS__})

typedef struct fctx {
  conv_model *m;
  conv_writer *w;
  int T;           /* tokens per call: 1 (infer) or B (prefill) */
  int prefill;
  conv_val cos, sin; /* [1, 1, T, hd] */
  conv_val pos_begin, pos_end; /* int32 [1]: KV write range */
  conv_val kv;     /* latest read of the state */
  mr_error *err;
  int rc;
} fctx;

/* x * (1 / sqrt(mean(x^2) + eps)) * weight through layer_norm over [x, -x] (docs/anemll.md §3.2). */
static conv_val rmsnorm(fctx *c, const conv_val *x, const conv_val *weight) {
  conv_writer *w = c->w;
  int r = x->rank;
  int64_t n = x->shape[r - 1], s2[6], zero[6] = {0};
  memcpy(s2, x->shape, sizeof s2);
  s2[r - 1] = 2 * n;
  conv_val neg = conv_emit(w, "neg", MIL_FP16, r, x->shape, "mul", CONV_ARGS(CA_VAR("x", x->name), CA_F16("y", -1.0)));
  conv_val cat = conv_emit(w, "cat", MIL_FP16, r, s2, "concat",
                           CONV_ARGS(CA_I32("axis", -1), CA_BOOL("interleave", 0),
                                     CA_TUPLE("values", CA_VAR(NULL, x->name), CA_VAR(NULL, neg.name))));
  conv_val ln = conv_emit(w, "ln", MIL_FP16, r, s2, "layer_norm",
                          CONV_ARGS(CA_INTS("axes", 1, I64(-1)), CA_F16("epsilon", c->m->cfg.eps), CA_VAR("x", cat.name)));
  conv_val half = conv_emit(w, "ln_half", MIL_FP16, r, x->shape, "slice_by_index",
                            CONV_ARGS(CA_INTS("begin", r, zero), CA_INTS("end", r, x->shape), CA_VAR("x", ln.name)));
  return conv_emit(w, "normed", MIL_FP16, r, x->shape, "mul", CONV_ARGS(CA_VAR("x", half.name), CA_VAR("y", weight->name)));
}

/* [1, T, C] -> [1, C, 1, T] */
static conv_val to_conv(fctx *c, const conv_val *x) {
  conv_writer *w = c->w;
  int64_t C = x->shape[2], T = x->shape[1];
  conv_val t = conv_emit(w, "tr", MIL_FP16, 3, I64(1, C, T), "transpose", CONV_ARGS(CA_INTS("perm", 3, I64(0, 2, 1)), CA_VAR("x", x->name)));
  return conv_emit(w, "nchw", MIL_FP16, 4, I64(1, C, 1, T), "expand_dims", CONV_ARGS(CA_INTS("axes", 1, I64(2)), CA_VAR("x", t.name)));
}

/* [1, C, 1, T] -> [1, T, C] */
static conv_val from_conv(fctx *c, const conv_val *x) {
  conv_writer *w = c->w;
  int64_t C = x->shape[1], T = x->shape[3];
  conv_val s = conv_emit(w, "sq", MIL_FP16, 3, I64(1, C, T), "squeeze", CONV_ARGS(CA_INTS("axes", 1, I64(2)), CA_VAR("x", x->name)));
  return conv_emit(w, "bsh", MIL_FP16, 3, I64(1, T, C), "transpose", CONV_ARGS(CA_INTS("perm", 3, I64(0, 2, 1)), CA_VAR("x", s.name)));
}

static const conv_st_tensor *tensor(fctx *c, const char *name, int rank, int64_t d0, int64_t d1) {
  const conv_st_tensor *t = NULL;
  if (!c->rc && !c->w->rc) {
    c->rc = conv_tensor(c->m, name, rank, d0, d1, &t, c->err);
    if (c->rc) c->w->rc = c->rc; /* stop the writer: no weight may be read from a missing tensor */
  }
  return t;
}

/* A 1x1 conv weight [out, in, 1, 1] from the [out, in] matrix `name`. */
static conv_val conv_w(fctx *c, const char *name, int64_t out, int64_t in) {
  const conv_st_tensor *t = tensor(c, name, 2, out, in);
  return conv_weight(c->w, name, t, 0, out, 4, I64(out, in, 1, 1), c->m->opt.lut_ffn);
}

static conv_val vec_w(fctx *c, const char *name, int64_t n) {
  const conv_st_tensor *t = tensor(c, name, 1, n, 0);
  return conv_weight(c->w, name, t, 0, n, 1, I64(n), (conv_lut){0, 0});
}

static conv_val proj(fctx *c, const conv_val *xc, const char *wname, int64_t out, const char *bname) {
  conv_writer *w = c->w;
  conv_val wt = conv_w(c, wname, out, xc->shape[1]);
  conv_val b = bname ? vec_w(c, bname, out) : (conv_val){0};
  const conv_arg args[] = {CA_VAR("bias", b.name), CONV_CONV_ARGS(wt.name, xc->name)};
  int skip = bname ? 0 : 1; /* no bias argument */
  return conv_emit(w, "proj", MIL_FP16, 4, I64(1, out, 1, xc->shape[3]), "conv", (int)(sizeof args / sizeof *args) - skip,
                   args + skip);
}

/* [1, n*hd, 1, T] -> [1, n, T, hd] */
static conv_val heads(fctx *c, const conv_val *x, int64_t n, int64_t hd) {
  conv_writer *w = c->w;
  int64_t T = c->T;
  conv_val r = conv_emit(w, "heads", MIL_FP16, 4, I64(1, n, hd, T), "reshape",
                         CONV_ARGS(CA_INTS("shape", 4, I64(1, n, hd, T)), CA_VAR("x", x->name)));
  return conv_emit(w, "heads_t", MIL_FP16, 4, I64(1, n, T, hd), "transpose",
                   CONV_ARGS(CA_INTS("perm", 4, I64(0, 1, 3, 2)), CA_VAR("x", r.name)));
}

/* q*cos + rotate_half(q)*sin, rotate_half(x) = concat(-x[hd/2:], x[:hd/2]). */
static conv_val rope(fctx *c, const conv_val *x) {
  conv_writer *w = c->w;
  int64_t n = x->shape[1], T = x->shape[2], hd = x->shape[3], h2 = hd / 2;
  conv_val x1 = conv_emit(w, "rot_x1", MIL_FP16, 4, I64(1, n, T, h2), "slice_by_index",
                          CONV_ARGS(CA_INTS("begin", 4, I64(0, 0, 0, 0)), CA_INTS("end", 4, I64(1, n, T, h2)), CA_VAR("x", x->name)));
  conv_val x2 = conv_emit(w, "rot_x2", MIL_FP16, 4, I64(1, n, T, h2), "slice_by_index",
                          CONV_ARGS(CA_INTS("begin", 4, I64(0, 0, 0, h2)), CA_INTS("end", 4, I64(1, n, T, hd)), CA_VAR("x", x->name)));
  conv_val nx2 = conv_emit(w, "rot_neg", MIL_FP16, 4, x2.shape, "mul", CONV_ARGS(CA_VAR("x", x2.name), CA_F16("y", -1.0)));
  conv_val rot = conv_emit(w, "rot", MIL_FP16, 4, x->shape, "concat",
                           CONV_ARGS(CA_I32("axis", -1), CA_BOOL("interleave", 0),
                                     CA_TUPLE("values", CA_VAR(NULL, nx2.name), CA_VAR(NULL, x1.name))));
  conv_val a = conv_emit(w, "rope_cos", MIL_FP16, 4, x->shape, "mul", CONV_ARGS(CA_VAR("x", x->name), CA_VAR("y", c->cos.name)));
  conv_val b = conv_emit(w, "rope_sin", MIL_FP16, 4, x->shape, "mul", CONV_ARGS(CA_VAR("x", rot.name), CA_VAR("y", c->sin.name)));
  return conv_emit(w, "roped", MIL_FP16, 4, x->shape, "add", CONV_ARGS(CA_VAR("x", a.name), CA_VAR("y", b.name)));
}

/* cache[slot, :, p:p+T, :] = x (x is [1, nKV, T, hd]) */
static conv_val kv_write(fctx *c, const conv_val *kv, int64_t slot, const conv_val *x) {
  conv_writer *w = c->w;
  int64_t nkv = x->shape[1], hd = x->shape[3];
  conv_val b = conv_emit(w, "kv_begin", MIL_INT32, 1, I64(4), "concat",
                         CONV_ARGS(CA_I32("axis", 0), CA_BOOL("interleave", 0),
                                   CA_TUPLE("values", CA_INTS(NULL, 2, I64(slot, 0)), CA_VAR(NULL, c->pos_begin.name),
                                            CA_INTS(NULL, 1, I64(0)))));
  conv_val e = conv_emit(w, "kv_end", MIL_INT32, 1, I64(4), "concat",
                         CONV_ARGS(CA_I32("axis", 0), CA_BOOL("interleave", 0),
                                   CA_TUPLE("values", CA_INTS(NULL, 2, I64(slot + 1, nkv)), CA_VAR(NULL, c->pos_end.name),
                                            CA_INTS(NULL, 1, I64(hd)))));
  return conv_emit(w, "kv_upd", MIL_FP16, 4, kv->shape, "slice_update",
                   CONV_ARGS(CA_VAR("begin", b.name), CA_VAR("end", e.name), CA_VAR("update", x->name), CA_VAR("x", kv->name)));
}

static conv_val kv_slot(fctx *c, int64_t slot) {
  conv_writer *w = c->w;
  int64_t nkv = c->kv.shape[1], hd = c->kv.shape[3], ctx = c->m->opt.context;
  return conv_emit(w, "kv_slot", MIL_FP16, 4, I64(1, nkv, ctx, hd), "slice_by_index",
                   CONV_ARGS(CA_INTS("begin", 4, I64(slot, 0, 0, 0)), CA_INTS("end", 4, I64(slot + 1, nkv, ctx, hd)),
                             CA_VAR("x", c->kv.name)));
}

static void layer_name(char *buf, size_t size, int l, const char *rest) {
  snprintf(buf, size, "model.layers.%d.%s", l, rest);
}

/* q [1, nH, T, hd], k and v [1, nKV, T, hd] of global layer l: projections, Qwen3 q/k-norm, RoPE. */
static void qkv(fctx *c, int l, const conv_val *n, conv_val *q, conv_val *k, conv_val *v) {
  const conv_config *cf = &c->m->cfg;
  int64_t nh = cf->heads, nkv = cf->kv_heads, hd = cf->head_dim;
  char wq[96], wk[96], wv[96], bq[96], bk[96], bv[96], nm[96];
  layer_name(wq, sizeof wq, l, "self_attn.q_proj.weight");
  layer_name(wk, sizeof wk, l, "self_attn.k_proj.weight");
  layer_name(wv, sizeof wv, l, "self_attn.v_proj.weight");
  layer_name(bq, sizeof bq, l, "self_attn.q_proj.bias");
  layer_name(bk, sizeof bk, l, "self_attn.k_proj.bias");
  layer_name(bv, sizeof bv, l, "self_attn.v_proj.bias");
  conv_val xc = to_conv(c, n);
  conv_val pq = proj(c, &xc, wq, nh * hd, cf->qkv_bias ? bq : NULL);
  conv_val pk = proj(c, &xc, wk, nkv * hd, cf->qkv_bias ? bk : NULL);
  conv_val pv = proj(c, &xc, wv, nkv * hd, cf->qkv_bias ? bv : NULL);
  *q = heads(c, &pq, nh, hd);
  *k = heads(c, &pk, nkv, hd);
  *v = heads(c, &pv, nkv, hd);
  if (cf->qk_norm) { /* after the head reshape, before RoPE (the HF order) */
    layer_name(nm, sizeof nm, l, "self_attn.q_norm.weight");
    conv_val qn = vec_w(c, nm, hd);
    *q = rmsnorm(c, q, &qn);
    layer_name(nm, sizeof nm, l, "self_attn.k_norm.weight");
    conv_val kn = vec_w(c, nm, hd);
    *k = rmsnorm(c, k, &kn);
  }
  *q = rope(c, q);
  *k = rope(c, k);
}

/* K into slot l and V into slot L + l at the current position, then read the state back. */
static void kv_store(fctx *c, int l, const conv_val *k, const conv_val *v) {
  conv_writer *w = c->w;
  conv_val kv1 = kv_write(c, &c->kv, l, k);
  conv_val kv2 = kv_write(c, &kv1, c->m->cfg.layers + l, v);
  char name[80];
  snprintf(name, sizeof name, "%s_write_state", kv2.name);
  conv_op_named(w, name, "write_state", CONV_ARGS(CA_VAR("data", kv2.name), CA_VAR("input", STATE_NAME)));
  c->kv = conv_emit(w, "kv_read", MIL_FP16, 4, c->kv.shape, "read_state", CONV_ARGS(CA_VAR("input", STATE_NAME)));
}

/* softmax(q K^T / sqrt(hd) + mask) V over the first C cache positions of layer l: [1, nH, T, hd].
 * GQA without copies: query heads h = g*rep + r share KV head g, so [1, nH, T, hd] is viewed as
 * [1, nKV, rep*T, hd] (the HF repeat_kv convention). */
static conv_val attend(fctx *c, int l, const conv_val *q) {
  conv_writer *w = c->w;
  const conv_config *cf = &c->m->cfg;
  int64_t T = c->T, nh = cf->heads, nkv = cf->kv_heads, hd = cf->head_dim, rep = nh / nkv, ctx = c->m->opt.context;
  conv_val K = kv_slot(c, l), V = kv_slot(c, cf->layers + l);
  conv_val qg = conv_emit(w, "q_group", MIL_FP16, 4, I64(1, nkv, rep * T, hd), "reshape",
                          CONV_ARGS(CA_INTS("shape", 4, I64(1, nkv, rep * T, hd)), CA_VAR("x", q->name)));
  conv_val s = conv_emit(w, "scores", MIL_FP16, 4, I64(1, nkv, rep * T, ctx), "matmul",
                         CONV_ARGS(CA_BOOL("transpose_x", 0), CA_BOOL("transpose_y", 1), CA_VAR("x", qg.name), CA_VAR("y", K.name)));
  conv_val ss = conv_emit(w, "scaled", MIL_FP16, 4, s.shape, "mul",
                          CONV_ARGS(CA_VAR("x", s.name), CA_F16("y", 1.0 / sqrt((double)hd))));
  conv_val s4 = conv_emit(w, "scores_h", MIL_FP16, 4, I64(1, nh, T, ctx), "reshape",
                          CONV_ARGS(CA_INTS("shape", 4, I64(1, nh, T, ctx)), CA_VAR("x", ss.name)));
  conv_val sm = conv_emit(w, "masked", MIL_FP16, 4, s4.shape, "add", CONV_ARGS(CA_VAR("x", s4.name), CA_VAR("y", "causal_mask")));
  conv_val p = conv_emit(w, "probs", MIL_FP16, 4, s4.shape, "softmax", CONV_ARGS(CA_I32("axis", -1), CA_VAR("x", sm.name)));
  conv_val pg = conv_emit(w, "probs_g", MIL_FP16, 4, I64(1, nkv, rep * T, ctx), "reshape",
                          CONV_ARGS(CA_INTS("shape", 4, I64(1, nkv, rep * T, ctx)), CA_VAR("x", p.name)));
  conv_val o = conv_emit(w, "attn", MIL_FP16, 4, I64(1, nkv, rep * T, hd), "matmul",
                         CONV_ARGS(CA_BOOL("transpose_x", 0), CA_BOOL("transpose_y", 0), CA_VAR("x", pg.name), CA_VAR("y", V.name)));
  return conv_emit(w, "attn_h", MIL_FP16, 4, I64(1, nh, T, hd), "reshape",
                   CONV_ARGS(CA_INTS("shape", 4, I64(1, nh, T, hd)), CA_VAR("x", o.name)));
}

/* o_proj of the attention output [1, nH, T, hd] -> [1, T, H]: a 1x1 conv, or for Llama an
 * nn.Linear (docs/anemll.md §3.7). */
static conv_val out_proj(fctx *c, int l, const conv_val *oh) {
  conv_writer *w = c->w;
  const conv_config *cf = &c->m->cfg;
  int64_t T = c->T, nh = cf->heads, hd = cf->head_dim, H = cf->hidden;
  char nm[96];
  layer_name(nm, sizeof nm, l, "self_attn.o_proj.weight");
  if (cf->arch == CONV_LLAMA) {
    conv_val ot = conv_emit(w, "attn_t", MIL_FP16, 4, I64(1, T, nh, hd), "transpose",
                            CONV_ARGS(CA_INTS("perm", 4, I64(0, 2, 1, 3)), CA_VAR("x", oh->name)));
    conv_val of = conv_emit(w, "attn_f", MIL_FP16, 3, I64(1, T, nh * hd), "reshape",
                            CONV_ARGS(CA_INTS("shape", 3, I64(1, T, nh * hd)), CA_VAR("x", ot.name)));
    const conv_st_tensor *t = tensor(c, nm, 2, H, nh * hd);
    conv_val wo = conv_weight(w, nm, t, 0, H, 2, I64(H, nh * hd), c->m->opt.lut_ffn);
    return conv_emit(w, "o_proj", MIL_FP16, 3, I64(1, T, H), "linear", CONV_ARGS(CA_VAR("weight", wo.name), CA_VAR("x", of.name)));
  }
  conv_val ot = conv_emit(w, "attn_t", MIL_FP16, 4, I64(1, nh, hd, T), "transpose",
                          CONV_ARGS(CA_INTS("perm", 4, I64(0, 1, 3, 2)), CA_VAR("x", oh->name)));
  conv_val oc = conv_emit(w, "attn_c", MIL_FP16, 4, I64(1, nh * hd, 1, T), "reshape",
                          CONV_ARGS(CA_INTS("shape", 4, I64(1, nh * hd, 1, T)), CA_VAR("x", ot.name)));
  conv_val out = proj(c, &oc, nm, H, NULL);
  return from_conv(c, &out);
}

/* Self-attention of global layer l on the normed input n [1, T, H]; returns [1, T, H]. The KV
 * write comes before attention, so each token sees itself (docs/anemll.md §3.4). */
static conv_val attention(fctx *c, int l, const conv_val *n) {
  conv_val q, k, v;
  qkv(c, l, n, &q, &k, &v);
  kv_store(c, l, &k, &v);
  conv_val oh = attend(c, l, &q);
  return out_proj(c, l, &oh);
}

static conv_val mlp(fctx *c, int l, const conv_val *n) {
  conv_writer *w = c->w;
  const conv_config *cf = &c->m->cfg;
  char wg[96], wu[96], wd[96];
  layer_name(wg, sizeof wg, l, "mlp.gate_proj.weight");
  layer_name(wu, sizeof wu, l, "mlp.up_proj.weight");
  layer_name(wd, sizeof wd, l, "mlp.down_proj.weight");
  conv_val xc = to_conv(c, n);
  conv_val g = proj(c, &xc, wg, cf->inter, NULL);
  conv_val u = proj(c, &xc, wu, cf->inter, NULL);
  conv_val sg = conv_emit(w, "silu", MIL_FP16, 4, g.shape, "silu", CONV_ARGS(CA_VAR("x", g.name)));
  conv_val gu = conv_emit(w, "gate_up", MIL_FP16, 4, g.shape, "mul", CONV_ARGS(CA_VAR("x", sg.name), CA_VAR("y", u.name)));
  conv_val d = proj(c, &gu, wd, cf->hidden, NULL);
  return from_conv(c, &d);
}

static conv_val decoder_layer(fctx *c, int l, const conv_val *x) {
  char nm[96];
  layer_name(nm, sizeof nm, l, "input_layernorm.weight");
  conv_val w1 = vec_w(c, nm, c->m->cfg.hidden);
  conv_val n1 = rmsnorm(c, x, &w1);
  conv_val a = attention(c, l, &n1);
  conv_val h = conv_emit(c->w, "resid", MIL_FP16, 3, x->shape, "add", CONV_ARGS(CA_VAR("x", x->name), CA_VAR("y", a.name)));
  /* Llama prefill skips the MLP of the model's last layer: its output is never used (docs/anemll.md §2.2). */
  if (c->prefill && c->m->cfg.arch == CONV_LLAMA && l == c->m->cfg.layers - 1) return h;
  layer_name(nm, sizeof nm, l, "post_attention_layernorm.weight");
  conv_val w2 = vec_w(c, nm, c->m->cfg.hidden);
  conv_val n2 = rmsnorm(c, &h, &w2);
  conv_val f = mlp(c, l, &n2);
  return conv_emit(c->w, "resid", MIL_FP16, 3, x->shape, "add", CONV_ARGS(CA_VAR("x", h.name), CA_VAR("y", f.name)));
}

/* cos/sin tables [2*max(C,S), hd] as transformers computes them, rows gathered by position. */
static void rope_tables(fctx *c, const char *positions) {
  conv_writer *w = c->w;
  const conv_config *cf = &c->m->cfg;
  int64_t hd = cf->head_dim, T = c->T;
  int64_t P = 2 * (c->m->opt.context > c->m->state_len ? c->m->opt.context : c->m->state_len);
  float *cs = mr_alloc((size_t)(P * hd) * sizeof(float)), *sn = mr_alloc((size_t)(P * hd) * sizeof(float));
  double inv[512];
  if (!cs || !sn || hd / 2 > 512) {
    if (!c->rc) c->rc = c->w->rc = util_err_nomem(c->err, "RoPE tables");
  } else {
    conv_rope_inv_freq(cf, inv);
    for (int64_t t = 0; t < P; t++)
      for (int64_t i = 0; i < hd; i++) {
        double a = (double)t * inv[i % (hd / 2)];
        cs[t * hd + i] = (float)cos(a);
        sn[t * hd + i] = (float)sin(a);
      }
    conv_val ct = conv_const_f16(w, "rope_cos_table", cs, 2, I64(P, hd));
    conv_val st = conv_const_f16(w, "rope_sin_table", sn, 2, I64(P, hd));
    const conv_val *tabs[2] = {&ct, &st};
    conv_val *outs[2] = {&c->cos, &c->sin};
    for (int i = 0; i < 2; i++) {
      conv_val g = conv_emit(w, "rope_rows", MIL_FP16, 2, I64(T, hd), "gather", CONV_ARGS(CONV_GATHER_ARGS(positions, tabs[i]->name)));
      *outs[i] = conv_emit(w, "rope", MIL_FP16, 4, I64(1, 1, T, hd), "reshape",
                           CONV_ARGS(CA_INTS("shape", 4, I64(1, 1, T, hd)), CA_VAR("x", g.name)));
    }
  }
  mr_free(cs);
  mr_free(sn);
}

static void function(conv_model *m, conv_writer *w, int chunk, int prefill, const char *name, mr_error *err, int *rc) {
  const conv_config *cf = &m->cfg;
  fctx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.w = w;
  c.T = prefill ? m->opt.batch : 1;
  c.prefill = prefill;
  c.err = err;
  int64_t H = cf->hidden, T = c.T, C = m->opt.context;
  int first, count;
  conv_chunk_layers(cf->layers, m->opt.chunks, chunk, &first, &count);
  int last = chunk == m->opt.chunks - 1;
  conv_w_function(w, name);
  const conv_val params[5] = {{"hidden_states", MIL_FP16, 3, {1, T, H}},
                              {"position_ids", MIL_INT32, 1, {T}},
                              {"causal_mask", MIL_FP16, 4, {1, 1, T, C}},
                              {"current_pos", MIL_INT32, 1, {1}},
                              {STATE_NAME, MIL_FP16, 4, {2 * cf->layers, cf->kv_heads, m->state_len, cf->head_dim}}};
  for (int i = 0; i < 5; i++) conv_w_param(w, &params[i], i == 4);
  /* infer: RoPE row and KV slot both come from current_pos; prefill: rows from position_ids. */
  rope_tables(&c, prefill ? "position_ids" : "current_pos");
  c.pos_begin = conv_emit(w, "pos_begin", MIL_INT32, 1, I64(1), "identity", CONV_ARGS(CA_VAR("x", "current_pos")));
  c.pos_end = conv_emit(w, "pos_end", MIL_INT32, 1, I64(1), "add", CONV_ARGS(CA_VAR("x", "current_pos"), CA_INTS("y", 1, I64(T))));
  c.kv = conv_emit(w, "kv_read", MIL_FP16, 4, params[4].shape, "read_state", CONV_ARGS(CA_VAR("input", STATE_NAME)));
  conv_val x = {"hidden_states", MIL_FP16, 3, {1, T, H}};
  for (int l = first; l < first + count && !c.rc; l++) x = decoder_layer(&c, l, &x);
  conv_val out = conv_new(w, "out", MIL_FP16, 3, x.shape);
  snprintf(out.name, sizeof out.name, "output_hidden_states");
  if (last && prefill) { /* only token 0; the logits always come from infer (docs/anemll.md §2.2) */
    out.shape[1] = 1;
    conv_op(w, &out, "slice_by_index",
            CONV_ARGS(CA_INTS("begin", 3, I64(0, 0, 0)), CA_INTS("end", 3, I64(1, 1, H)), CA_VAR("x", x.name)));
  } else if (last) {
    const conv_st_tensor *t = tensor(&c, "model.norm.weight", 1, H, 0);
    conv_val nw = conv_weight(w, "model.norm.weight", t, 0, H, 1, I64(H), (conv_lut){0, 0});
    conv_val n = rmsnorm(&c, &x, &nw);
    conv_op(w, &out, "identity", CONV_ARGS(CA_VAR("x", n.name)));
  } else {
    conv_op(w, &out, "identity", CONV_ARGS(CA_VAR("x", x.name)));
  }
  conv_w_return(w, "output_hidden_states");
  if (!*rc) *rc = c.rc ? c.rc : w->rc;
}

static void io(conv_fmeta *f, const conv_model *m, int T, int last, int prefill, const char *name) {
  const conv_config *cf = &m->cfg;
  f->name = name;
  f->n_in = 4;
  f->in[0] = (conv_feature){"hidden_states", 1, 3, {1, T, cf->hidden}, NULL};
  f->in[1] = (conv_feature){"position_ids", 0, 1, {T}, NULL};
  f->in[2] = (conv_feature){"causal_mask", 1, 4, {1, 1, T, m->opt.context}, NULL};
  f->in[3] = (conv_feature){"current_pos", 0, 1, {1}, NULL};
  f->n_out = 1;
  f->out[0] = (conv_feature){"output_hidden_states", 1, 3, {1, last && prefill ? 1 : T, cf->hidden}, NULL};
  f->n_state = 1;
  f->state[0] = (conv_feature){STATE_NAME, 1, 4, {2 * cf->layers, cf->kv_heads, m->state_len, cf->head_dim}, NULL};
}

int conv_build_ffn(conv_model *m, int chunk, int which, const char *dir, mr_error *err) {
  conv_writer w;
  int rc = conv_open_writer(m, &w, dir, err);
  if (rc) return rc;
  int both = which == CONV_FFN_BOTH;
  if (which != CONV_FFN_PREFILL) function(m, &w, chunk, 0, both ? "infer" : "main", err, &rc);
  if (!rc && which != CONV_FFN_INFER) function(m, &w, chunk, 1, both ? "prefill" : "main", err, &rc);
  if (rc) {
    conv_w_abort(&w);
    return rc;
  }
  m->lut_err2 += w.lut_err2;
  m->lut_ref2 += w.lut_ref2;
  conv_fmeta f[2];
  int last = chunk == m->opt.chunks - 1, n = 0;
  if (which != CONV_FFN_PREFILL) io(&f[n++], m, 1, last, 0, both ? "infer" : "main");
  if (which != CONV_FFN_INFER) io(&f[n++], m, m->opt.batch, last, 1, both ? "prefill" : "main");
  char ctx[32], bs[32], lut[32], nch[32], cno[32];
  snprintf(ctx, sizeof ctx, "%d", m->opt.context);
  snprintf(bs, sizeof bs, "%d", m->opt.batch);
  snprintf(lut, sizeof lut, "%d", m->opt.lut_ffn.bits);
  snprintf(nch, sizeof nch, "%d", m->opt.chunks);
  snprintf(cno, sizeof cno, "%d", chunk + 1);
  const char *user[] = {"com.anemll.info", "Converted with milrun", "com.anemll.context_length", ctx,
                        "com.anemll.batch_size", bs, "com.anemll.lut_bits", m->opt.lut_ffn.bits ? lut : "none",
                        "com.anemll.num_chunks", nch, "com.anemll.chunk_no", cno};
  const char *what = both ? "Anemll Model: Multifunction FFN+Prefill" : which == CONV_FFN_INFER ? "Anemll Model: FFN" : "Anemll Model: Prefill";
  rc = conv_write_metadata(dir, f, n, what, user, 6, err);
  return conv_w_finish_after(&w, dir, rc);
}
