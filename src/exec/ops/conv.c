/* conv.c — N-d convolution (1 to 3 spatial dims) with groups, strides, dilations and the four pad
 * types (docs/formats.md §4.7). Spatial dims are handled as (D, H, W) with leading 1s for 1-d and
 * 2-d convs. A 1x1 conv with unit strides and no padding — Anemll's linear layer on [1, C, 1, S] —
 * is a matrix product and takes the kernels (blocks of 4 output channels, so each input row is
 * read once per block); the rest is a direct loop. Packed weights are decoded a few output
 * channels at a time into scratch. */
#include <string.h>

#include "exec/kernels/kernels.h"
#include "exec/kernels/matmul.h"
#include "exec/weights.h"
#include "exec/ops/ops.h"

typedef struct conv_plan {
  int64_t batch, cin, cout, groups, cin_g, cout_g;
  int64_t in[3], k[3], st[3], dl[3], pb[3], out[3];
  int64_t kvol, in_vol, out_vol;
  int pointwise;
} conv_plan;

/* strides/dilations: ns values, default 1. */
static int spatial_param(exec_node *n, int i, int ns, int64_t *v, mr_error *err) {
  int count, rc;
  int64_t tmp[MR_MAX_RANK];
  if ((rc = exec_param_ints(n, i, tmp, MR_MAX_RANK, &count, err))) return rc;
  if (count >= 0 && count != ns)
    return exec_node_err(n, err, MR_ESHAPE, "'%s' has %d values for %d spatial dims", n->def->params[i], count, ns);
  for (int d = 0; d < ns; d++) {
    v[d] = count < 0 ? 1 : tmp[d];
    if (v[d] < 1) return exec_node_err(n, err, MR_ESHAPE, "'%s' values must be >= 1", n->def->params[i]);
  }
  return MR_OK;
}

/* Padding per spatial dim from pad_type (valid, same, same_lower, custom) and pad; sets out[]. */
static int conv_padding(exec_node *n, conv_plan *p, int ns, int64_t *pa, mr_error *err) {
  const char *type;
  int rc, count;
  int64_t pad[2 * MR_MAX_RANK];
  if ((rc = exec_param_str(n, P_conv_pad_type, "valid", &type, err))) return rc;
  if ((rc = exec_param_ints(n, P_conv_pad, pad, 2 * MR_MAX_RANK, &count, err))) return rc;
  int custom = strcmp(type, "custom") == 0, same = strcmp(type, "same") == 0;
  int lower = strcmp(type, "same_lower") == 0;
  if (!custom && !same && !lower && strcmp(type, "valid") != 0)
    return exec_node_err(n, err, MR_EINVAL, "unknown pad_type '%s'", type);
  for (int d = 0; d < 3 - ns; d++) p->out[d] = 1; /* the leading 1s of a 1-d or 2-d conv */
  if (custom && count != 2 * ns)
    return exec_node_err(n, err, MR_ESHAPE, "pad_type 'custom' needs %d pad values, got %d", 2 * ns, count < 0 ? 0 : count);
  for (int d = 3 - ns, i = 0; d < 3; d++, i++) {
    int64_t eff = (p->k[d] - 1) * p->dl[d] + 1;
    if (custom) {
      p->pb[d] = pad[2 * i], pa[d] = pad[2 * i + 1];
    } else if (same || lower) {
      int64_t outd = (p->in[d] + p->st[d] - 1) / p->st[d];
      int64_t total = (outd - 1) * p->st[d] + eff - p->in[d];
      if (total < 0) total = 0;
      p->pb[d] = same ? total / 2 : (total + 1) / 2;
      pa[d] = total - p->pb[d];
    }
    if (p->pb[d] < 0 || pa[d] < 0) return exec_node_err(n, err, MR_ESHAPE, "pad values must be >= 0");
    int64_t span = p->in[d] + p->pb[d] + pa[d] - eff;
    if (span < 0)
      return exec_node_err(n, err, MR_ESHAPE, "kernel extent %lld is larger than the padded input %lld",
                           (long long)eff, (long long)(p->in[d] + p->pb[d] + pa[d]));
    p->out[d] = span / p->st[d] + 1;
  }
  return MR_OK;
}

static int conv_check(exec_node *n, const exec_tensor *x, const exec_tensor *w, const exec_tensor *b, int64_t groups,
                      mr_error *err) {
  char sx[128], sw[128];
  if (x->storage != EXEC_F32) return exec_err_storage(n, err, "x", x);
  if (w->storage != EXEC_F32 && w->storage != EXEC_PACKED) return exec_err_storage(n, err, "weight", w);
  if (x->rank < 3 || x->rank > 5)
    return exec_node_err(n, err, MR_ESHAPE, "x %s must be [N, C, spatial...] with 1 to 3 spatial dims",
                         exec_shape_str(x->rank, x->shape, sx, sizeof sx));
  if (groups < 1 || w->rank != x->rank || x->shape[1] % groups || w->shape[0] % groups ||
      w->shape[1] * groups != x->shape[1])
    return exec_node_err(n, err, MR_ESHAPE, "weight %s does not fit x %s with groups = %lld",
                         exec_shape_str(w->rank, w->shape, sw, sizeof sw),
                         exec_shape_str(x->rank, x->shape, sx, sizeof sx), (long long)groups);
  if (b && (b->storage != EXEC_F32 || b->count != w->shape[0]))
    return exec_node_err(n, err, MR_ESHAPE, "bias has %lld values for %lld output channels", (long long)b->count,
                         (long long)w->shape[0]);
  return MR_OK;
}

typedef int (*conv_checker)(exec_node *n, const exec_tensor *x, const exec_tensor *w, const exec_tensor *b,
                            int64_t groups, mr_error *err);

/* What conv and conv_transpose plan alike: x and weight present, groups, the op's own shape check,
 * the plan record, and the per-spatial-dim strides and dilations. */
static int plan_common(exec_node *n, conv_checker check, conv_plan **pp, int64_t *groups, int64_t *st, int64_t *dl,
                       mr_error *err) {
  int rc = exec_need(n, P_conv_x, err);
  if (rc || (rc = exec_need(n, P_conv_weight, err))) return rc;
  const exec_tensor *x = exec_in(n, P_conv_x);
  if ((rc = exec_param_int(n, P_conv_groups, 1, groups, err))) return rc;
  if ((rc = check(n, x, exec_in(n, P_conv_weight), exec_in(n, P_conv_bias), *groups, err))) return rc;
  *pp = exec_priv(n, sizeof **pp, err);
  if (!*pp) return err->code;
  int ns = x->rank - 2;
  if ((rc = spatial_param(n, P_conv_strides, ns, st, err))) return rc;
  return spatial_param(n, P_conv_dilations, ns, dl, err);
}

int exec_conv_plan(exec_node *n, mr_error *err) {
  conv_plan *p;
  int64_t groups, st[3], dl[3], pa[3] = {0, 0, 0};
  int rc = plan_common(n, conv_check, &p, &groups, st, dl, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_conv_x), *w = exec_in(n, P_conv_weight);
  int ns = x->rank - 2;
  for (int d = 0; d < 3; d++) {
    int s = d - (3 - ns);
    p->in[d] = s >= 0 ? x->shape[2 + s] : 1;
    p->k[d] = s >= 0 ? w->shape[2 + s] : 1;
    p->st[d] = s >= 0 ? st[s] : 1;
    p->dl[d] = s >= 0 ? dl[s] : 1;
  }
  if ((rc = conv_padding(n, p, ns, pa, err))) return rc;
  p->batch = x->shape[0], p->cin = x->shape[1], p->cout = w->shape[0], p->groups = groups;
  p->cin_g = p->cin / groups, p->cout_g = p->cout / groups;
  p->kvol = p->k[0] * p->k[1] * p->k[2];
  p->in_vol = p->in[0] * p->in[1] * p->in[2];
  p->out_vol = p->out[0] * p->out[1] * p->out[2];
  p->pointwise = p->kvol == 1 && p->in_vol == p->out_vol && p->pb[0] == 0 && p->pb[1] == 0 && p->pb[2] == 0;
  int64_t shape[5] = {p->batch, p->cout};
  for (int s = 0; s < ns; s++) shape[2 + s] = p->out[3 - ns + s];
  return exec_set_out_shape(n, 0, x->rank, shape, err);
}

/* Bytes at the start of thread 0's scratch that hold x prepared for the integer prefill products
 * (read by every thread), then each thread's tile of weight bytes. */
static size_t xqt_bytes(const conv_plan *p) { return EXEC_XQT_BYTES(p->cin_g, p->in_vol); }

size_t exec_conv_scratch(const exec_node *n) {
  const conv_plan *p = n->priv;
  if (exec_in(n, P_conv_weight)->storage != EXEC_PACKED) return 0;
  size_t rows = (size_t)(4 * p->cin_g * p->kvol), xq = EXEC_XQ_BYTES(p->cin_g) / sizeof(float) + 1;
  size_t gemm = p->pointwise && p->in_vol > 1 ? (xqt_bytes(p) + EXEC_TILE_BYTES(p->cin_g)) / sizeof(float) + rows + 1 : 0;
  /* 4 decoded weight rows, x prepared for the integer LUT kernels (decode), or for prefill */
  return rows > xq ? (rows > gemm ? rows : gemm) : (xq > gemm ? xq : gemm);
}

/* One output channel's plane by direct summation; x points at the group's first input channel. */
static void conv_direct(const conv_plan *p, const float *x, const float *w, float bias, float *y) {
  for (int64_t od = 0; od < p->out[0]; od++)
    for (int64_t oh = 0; oh < p->out[1]; oh++)
      for (int64_t ow = 0; ow < p->out[2]; ow++) {
        float acc = bias;
        for (int64_t ci = 0; ci < p->cin_g; ci++) {
          const float *xc = x + ci * p->in_vol, *wc = w + ci * p->kvol;
          for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t id = od * p->st[0] - p->pb[0] + kd * p->dl[0];
            if (id < 0 || id >= p->in[0]) continue;
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
              int64_t ih = oh * p->st[1] - p->pb[1] + kh * p->dl[1];
              if (ih < 0 || ih >= p->in[1]) continue;
              const float *xr = xc + (id * p->in[1] + ih) * p->in[2], *wr = wc + (kd * p->k[1] + kh) * p->k[2];
              for (int64_t kw = 0; kw < p->k[2]; kw++) {
                int64_t iw = ow * p->st[2] - p->pb[2] + kw * p->dl[2];
                if (iw >= 0 && iw < p->in[2]) acc += xr[iw] * wr[kw];
              }
            }
          }
        }
        y[(od * p->out[1] + oh) * p->out[2] + ow] = acc;
      }
}

/* 1x1 with a single position: y[co] = bias + w[co, :] . x[group's channels] */
static void conv_pointwise1(const conv_plan *p, const float *x, const float *w, float bias, float *y) {
  y[0] = bias + exec_kernel_dot(w, x, p->cin_g);
}

/* The integer prefill product of rows [co, co + blk) (one batch, one group): 0, or -1 when a
 * palette has no integer copy (inf or NaN in it). */
static int pointwise_int(const exec_node *n, const exec_wmat *wm, int64_t co, int64_t blk, uint8_t *tile) {
  const conv_plan *p = n->priv;
  const uint8_t *rows[4], *planes[4];
  float ps[4];
  for (int64_t r = 0; r < blk; r++) {
    int64_t g = (co + r) / wm->group_rows;
    rows[r] = wm->data + (co + r) * wm->ld;
    planes[r] = wm->palq + (size_t)g * ((size_t)2 << wm->bits);
    if ((ps[r] = wm->palq_scale[g]) < 0) return -1;
  }
  exec_kernels()->lut_gemm_xq(wm->bits, rows, planes, ps, (int)blk, p->cin_g, exec_scratch(n, 0), p->in_vol,
                              exec_f32(n->out[0]) + co * p->in_vol, p->in_vol, tile);
  return 0;
}

/* 1x1 over S positions, a block of up to 4 output channels of one group at a time:
 * Y[co.., S] = bias + W[co.., Cin_g] . X[Cin_g, S], so each row of X is read once per block.
 * ctx: the weights as LUT rows when x was prepared for the integer products, else NULL. */
static void conv_pointwise(const exec_node *n, void *ctx, int ith, int nth) {
  const conv_plan *p = n->priv;
  const exec_tensor *xt = exec_in(n, P_conv_x), *wt = exec_in(n, P_conv_weight), *bt = exec_in(n, P_conv_bias);
  const exec_wmat *wm = ctx;
  int64_t s = p->in_vol, cg = p->cin_g, lo, hi;
  uint8_t *tile = (uint8_t *)exec_scratch(n, ith) + xqt_bytes(p);
  /* decoded weight rows: past the prepared x (thread 0's is read by all) when there is one */
  float *scratch = wm ? (float *)(void *)(tile + EXEC_TILE_BYTES(cg)) : exec_scratch(n, ith);
  /* whole blocks of 4 channels per thread, so blocks start where they do with one thread */
  exec_split(p->cout, 4, ith, nth, &lo, &hi);
  for (int64_t co = lo; co < hi; co += 4) {
    int64_t g = co / p->cout_g, blk = (g + 1) * p->cout_g - co;
    if (blk > 4) blk = 4;
    if (blk > hi - co) blk = hi - co;
    if (wm) {
      float *y = exec_f32(n->out[0]) + co * s;
      for (int64_t r = 0; r < blk; r++)
        for (int64_t i = 0; i < s; i++) y[r * s + i] = bt ? exec_f32(bt)[co + r] : 0;
      if (pointwise_int(n, wm, co, blk, tile) == 0) {
        co += blk - 4;
        continue;
      }
    }
    const float *w = scratch;
    if (wt->storage == EXEC_F32) w = exec_f32(wt) + co * cg;
    else exec_kernel_read(wt, co * cg, blk * cg, scratch);
    for (int64_t b = 0; b < p->batch; b++) {
      float *y = exec_f32(n->out[0]) + (b * p->cout + co) * s;
      for (int64_t r = 0; r < blk; r++)
        for (int64_t i = 0; i < s; i++) y[r * s + i] = bt ? exec_f32(bt)[co + r] : 0;
      exec_kernel_gemm_nn(blk, s, cg, w, cg, exec_f32(xt) + (b * p->cin + g * cg) * s, s, y, s);
    }
    co += blk - 4; /* a block ends at the group boundary */
  }
}

/* Any conv: output channels split between threads, one decoded weight row at a time. */
static void conv_channels(const exec_node *n, void *ctx, int ith, int nth) {
  const conv_plan *p = n->priv;
  const exec_tensor *xt = exec_in(n, P_conv_x), *wt = exec_in(n, P_conv_weight), *bt = exec_in(n, P_conv_bias);
  int64_t wcols = p->cin_g * p->kvol, lo, hi;
  float *scratch = exec_scratch(n, ith);
  (void)ctx;
  exec_split(p->cout, 1, ith, nth, &lo, &hi);
  for (int64_t co = lo; co < hi; co++) {
    const float *w = scratch;
    if (wt->storage == EXEC_F32) w = exec_f32(wt) + co * wcols;
    else exec_kernel_read(wt, co * wcols, wcols, scratch);
    float bias = bt ? exec_f32(bt)[co] : 0;
    int64_t g = co / p->cout_g;
    for (int64_t b = 0; b < p->batch; b++) {
      const float *x = exec_f32(xt) + (b * p->cin + g * p->cin_g) * p->in_vol;
      float *y = exec_f32(n->out[0]) + (b * p->cout + co) * p->out_vol;
      if (p->pointwise) conv_pointwise1(p, x, w, bias, y);
      else conv_direct(p, x, w, bias, y);
    }
  }
}

int exec_conv_decode_rows(const exec_node *n, exec_wmat *m) {
  const conv_plan *p = n->priv;
  return n->def->run == exec_conv_run && p->pointwise && p->batch == 1 && p->groups == 1 && p->in_vol == 1 &&
         exec_wmat_of(exec_in(n, P_conv_weight), m);
}

/* Decode: the products of n and of the steps fused into it (plan_gemv.c), one x for all. */
static void run_decode(exec_node *n, exec_wmat *wm) {
  exec_tensor *out[EXEC_GEMV_GROUP] = {n->out[0]};
  const exec_tensor *bias[EXEC_GEMV_GROUP] = {exec_in(n, P_conv_bias)};
  for (int i = 0; i < n->n_fused; i++) {
    exec_conv_decode_rows(n->fused[i], &wm[i + 1]);
    out[i + 1] = n->fused[i]->out[0], bias[i + 1] = exec_in(n->fused[i], P_conv_bias);
  }
  exec_decode_products(n, exec_f32(exec_in(n, P_conv_x)), 1 + n->n_fused, wm, out, bias);
}

int exec_conv_run(exec_node *n, mr_error *err) {
  const conv_plan *p = n->priv;
  const exec_tensor *xt = exec_in(n, P_conv_x), *wt = exec_in(n, P_conv_weight);
  int64_t work = p->batch * p->cout * p->cin_g * p->kvol * p->out_vol;
  exec_wmat wm[EXEC_GEMV_GROUP];
  (void)err;
  if (exec_conv_decode_rows(n, &wm[0])) { /* decode step of an LLM: the kernels read the packed rows */
    run_decode(n, wm);
    return MR_OK;
  }
  if (!p->pointwise || p->in_vol == 1) {
    exec_parallel(n, work, conv_channels, NULL);
    return MR_OK;
  }
  /* prefill of 8- and 4-bit LUT weights: x quantised once (thread 0's scratch), integer products */
  const exec_kernel_table *k = exec_kernels();
  int int_path = p->batch == 1 && p->groups == 1 && k->lut_gemm_xq && exec_kernels_int8() && exec_wmat_of(wt, &wm[0]) &&
                 wm[0].kind == EXEC_WMAT_LUT && wm[0].palq &&
                 k->xqt_prepare(exec_f32(xt), p->in_vol, p->cin_g, p->in_vol, exec_scratch(n, 0)) == 0;
  exec_parallel(n, work, conv_pointwise, int_path ? &wm[0] : NULL);
  return MR_OK;
}

/* ---- conv_transpose ------------------------------------------------------------------------
 * x [N, C_in, *D], weight [C_in, C_out/groups, *K], bias [C_out]. Every input position i spreads
 * x * w into output position i*s + k*d - crop, where the "full" output has length
 * s*(D-1) + (K-1)*d + 1 and crop is the before-padding: pad[2r] for custom, 0 for valid, and for
 * same (output s*D) half the excess, the extra one after as in conv (an inference: coremltools
 * only gives the shape). output_shape, when given, fixes the output size. */

static int convt_check(exec_node *n, const exec_tensor *x, const exec_tensor *w, const exec_tensor *b, int64_t groups,
                       mr_error *err) {
  char sx[128], sw[128];
  if (x->storage != EXEC_F32) return exec_err_storage(n, err, "x", x);
  if (w->storage != EXEC_F32 && w->storage != EXEC_PACKED) return exec_err_storage(n, err, "weight", w);
  if (x->rank < 3 || x->rank > 5)
    return exec_node_err(n, err, MR_ESHAPE, "x %s must be [N, C, spatial...] with 1 to 3 spatial dims",
                         exec_shape_str(x->rank, x->shape, sx, sizeof sx));
  if (groups < 1 || w->rank != x->rank || w->shape[0] != x->shape[1] || x->shape[1] % groups)
    return exec_node_err(n, err, MR_ESHAPE, "weight %s does not fit x %s with groups = %lld (want [C_in, C_out/groups, K...])",
                         exec_shape_str(w->rank, w->shape, sw, sizeof sw),
                         exec_shape_str(x->rank, x->shape, sx, sizeof sx), (long long)groups);
  if (b && (b->storage != EXEC_F32 || b->count != w->shape[1] * groups))
    return exec_node_err(n, err, MR_ESHAPE, "bias has %lld values for %lld output channels", (long long)b->count,
                         (long long)(w->shape[1] * groups));
  return MR_OK;
}

/* Output size and crop per spatial dim (fills p->out and p->pb). */
static int convt_sizes(exec_node *n, conv_plan *p, int ns, mr_error *err) {
  const char *type;
  int rc, count, oc;
  int64_t pad[2 * MR_MAX_RANK], oshape[MR_MAX_RANK];
  if ((rc = exec_param_str(n, P_conv_pad_type, "valid", &type, err))) return rc;
  if ((rc = exec_param_ints(n, P_conv_pad, pad, 2 * MR_MAX_RANK, &count, err))) return rc;
  if ((rc = exec_param_ints(n, P_conv_output_shape, oshape, MR_MAX_RANK, &oc, err))) return rc;
  int custom = !strcmp(type, "custom"), same = !strcmp(type, "same");
  if (!custom && !same && strcmp(type, "valid") != 0) return exec_node_err(n, err, MR_EINVAL, "unknown pad_type '%s'", type);
  if (custom && count != 2 * ns)
    return exec_node_err(n, err, MR_ESHAPE, "pad_type 'custom' needs %d pad values, got %d", 2 * ns, count < 0 ? 0 : count);
  if (oc >= 0 && (oc != ns + 2 || oshape[0] != p->batch || oshape[1] != p->cout))
    return exec_node_err(n, err, MR_ESHAPE, "output_shape must be [N, C_out, spatial...] = [%lld, %lld, ...]",
                         (long long)p->batch, (long long)p->cout);
  for (int d = 0; d < 3; d++) {
    int r = d - (3 - ns);
    int64_t full = p->st[d] * (p->in[d] - 1) + (p->k[d] - 1) * p->dl[d] + 1;
    p->out[d] = 1, p->pb[d] = 0;
    if (r < 0) continue;
    int64_t before = custom ? pad[2 * r] : 0, after = custom ? pad[2 * r + 1] : 0;
    if (before < 0 || after < 0) return exec_node_err(n, err, MR_ESHAPE, "pad values must be >= 0");
    int64_t out = same ? p->st[d] * p->in[d] : full - before - after;
    if (oc >= 0) out = oshape[2 + r];
    if (same) before = full > out ? (full - out) / 2 : 0;
    if (out < 0) return exec_node_err(n, err, MR_ESHAPE, "padding %lld is larger than the output %lld", (long long)(before + after), (long long)full);
    p->out[d] = out, p->pb[d] = before;
  }
  return MR_OK;
}

int exec_conv_transpose_plan(exec_node *n, mr_error *err) {
  conv_plan *p;
  int64_t groups, st[3], dl[3];
  int rc = plan_common(n, convt_check, &p, &groups, st, dl, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_conv_x), *w = exec_in(n, P_conv_weight);
  int ns = x->rank - 2;
  for (int d = 0; d < 3; d++) {
    int s = d - (3 - ns);
    p->in[d] = s >= 0 ? x->shape[2 + s] : 1;
    p->k[d] = s >= 0 ? w->shape[2 + s] : 1;
    p->st[d] = s >= 0 ? st[s] : 1;
    p->dl[d] = s >= 0 ? dl[s] : 1;
  }
  p->batch = x->shape[0], p->cin = x->shape[1], p->groups = groups, p->cout = w->shape[1] * groups;
  p->cin_g = p->cin / groups, p->cout_g = w->shape[1];
  if ((rc = convt_sizes(n, p, ns, err))) return rc;
  p->kvol = p->k[0] * p->k[1] * p->k[2];
  p->in_vol = p->in[0] * p->in[1] * p->in[2];
  p->out_vol = p->out[0] * p->out[1] * p->out[2];
  int64_t shape[5] = {p->batch, p->cout};
  for (int s = 0; s < ns; s++) shape[2 + s] = p->out[3 - ns + s];
  return exec_set_out_shape(n, 0, x->rank, shape, err);
}

size_t exec_conv_transpose_scratch(const exec_node *n) {
  const conv_plan *p = n->priv;
  return exec_in(n, P_conv_weight)->storage == EXEC_PACKED ? (size_t)(p->cout_g * p->kvol) : 0;
}

/* Spread one input channel's plane (x) through its weights w [C_out/groups, K...] into the
 * group's output planes y. */
static void convt_channel(const conv_plan *p, const float *x, const float *w, float *y) {
  for (int64_t id = 0; id < p->in[0]; id++)
    for (int64_t ih = 0; ih < p->in[1]; ih++)
      for (int64_t iw = 0; iw < p->in[2]; iw++) {
        float xv = x[(id * p->in[1] + ih) * p->in[2] + iw];
        for (int64_t co = 0; co < p->cout_g; co++)
          for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t od = id * p->st[0] + kd * p->dl[0] - p->pb[0];
            if (od < 0 || od >= p->out[0]) continue;
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
              int64_t oh = ih * p->st[1] + kh * p->dl[1] - p->pb[1];
              if (oh < 0 || oh >= p->out[1]) continue;
              const float *wr = w + ((co * p->k[0] + kd) * p->k[1] + kh) * p->k[2];
              float *yr = y + co * p->out_vol + (od * p->out[1] + oh) * p->out[2];
              for (int64_t kw = 0; kw < p->k[2]; kw++) {
                int64_t ow = iw * p->st[2] + kw * p->dl[2] - p->pb[2];
                if (ow >= 0 && ow < p->out[2]) yr[ow] += xv * wr[kw];
              }
            }
          }
      }
}

int exec_conv_transpose_run(exec_node *n, mr_error *err) {
  const conv_plan *p = n->priv;
  const exec_tensor *xt = exec_in(n, P_conv_x), *wt = exec_in(n, P_conv_weight), *bt = exec_in(n, P_conv_bias);
  float *y = exec_f32(n->out[0]);
  int64_t wcols = p->cout_g * p->kvol;
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t co = 0; co < p->cout; co++)
      for (int64_t i = 0; i < p->out_vol; i++) y[(b * p->cout + co) * p->out_vol + i] = bt ? exec_f32(bt)[co] : 0;
  for (int64_t ci = 0; ci < p->cin; ci++) {
    const float *w = n->scratch;
    if (wt->storage == EXEC_F32) w = exec_f32(wt) + ci * wcols;
    else exec_kernel_read(wt, ci * wcols, wcols, n->scratch);
    int64_t g = ci / p->cin_g;
    for (int64_t b = 0; b < p->batch; b++)
      convt_channel(p, exec_f32(xt) + (b * p->cin + ci) * p->in_vol, w,
                    y + (b * p->cout + g * p->cout_g) * p->out_vol);
  }
  return MR_OK;
}
