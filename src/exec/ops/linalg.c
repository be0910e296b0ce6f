/* linalg.c — linear, matmul and conv (docs/formats.md §4.7). The weight operand may stay packed
 * (fp16 / LUT / int8): it is decoded one row at a time into scratch and reused against every row
 * of the activation, so decode reads each weight once per call (the decode step of an LLM has one
 * activation row). The inner products are the kernels of kernels/matmul.c. */
#include <math.h>
#include <string.h>

#include "exec/kernels/kernels.h"
#include "exec/kernels/matmul.h"
#include "exec/weights.h"
#include "exec/ops/ops.h"

static int is_float_or_packed(const exec_tensor *t) { return t->storage == EXEC_F32 || t->storage == EXEC_PACKED; }

/* Row r (of shape[0] rows) of a weight: a pointer into F32 data, or decoded into buf. */
static const float *weight_row(const exec_tensor *w, int64_t r, int64_t cols, float *buf) {
  if (w->storage == EXEC_F32) return exec_f32(w) + r * cols;
  exec_kernel_read(w, r * cols, cols, buf);
  return buf;
}

/* ---- linear: x [*D, Din] · weight [Dout, Din]^T + bias [Dout] ------------------------------- */

int exec_linear_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_linear_x, err);
  if (rc || (rc = exec_need(n, P_linear_weight, err))) return rc;
  const exec_tensor *x = exec_in(n, P_linear_x), *w = exec_in(n, P_linear_weight), *b = exec_in(n, P_linear_bias);
  char sx[128], sw[128], sb[128];
  if (x->storage != EXEC_F32) return exec_err_storage(n, err, "x", x);
  if (!is_float_or_packed(w)) return exec_err_storage(n, err, "weight", w);
  if (x->rank < 1 || w->rank != 2 || x->shape[x->rank - 1] != w->shape[1])
    return exec_node_err(n, err, MR_ESHAPE, "x %s does not match weight %s (want x [..., D_in], weight [D_out, D_in])",
                         exec_shape_str(x->rank, x->shape, sx, sizeof sx), exec_shape_str(w->rank, w->shape, sw, sizeof sw));
  if (b && (b->storage != EXEC_F32 || b->count != w->shape[0]))
    return exec_node_err(n, err, MR_ESHAPE, "bias %s does not match weight %s",
                         exec_shape_str(b->rank, b->shape, sb, sizeof sb), exec_shape_str(w->rank, w->shape, sw, sizeof sw));
  int64_t shape[MR_MAX_RANK];
  memcpy(shape, x->shape, sizeof shape);
  shape[x->rank - 1] = w->shape[0];
  return exec_set_out_shape(n, 0, x->rank, shape, err);
}

/* Rows of x at or above which linear runs as a blocked matrix product (prefill) rather than one
 * dot product per weight row and activation row (decode). */
#define LINEAR_GEMM_ROWS 8

size_t exec_linear_scratch(const exec_node *n) {
  const exec_tensor *w = exec_in(n, P_linear_weight);
  int64_t din = w->shape[1], dout = w->shape[0], m = dout ? n->out[0]->count / dout : 0;
  if (m >= LINEAR_GEMM_ROWS) return (size_t)(din * m + 4 * din + 4 * m); /* x^T, 4 weight rows, 4 out rows */
  if (w->storage != EXEC_PACKED) return 0;
  size_t xq = EXEC_XQ_BYTES(din) / sizeof(float) + 1; /* x prepared for the integer LUT kernels */
  return (size_t)din > xq ? (size_t)din : xq;
}

/* Prefill: x^T (Din, M) once (thread 0's scratch, shared), then blocks of 4 weight rows split
 * between threads: Y^T[4, M] = W[4, Din] . x^T, so each decoded weight row is used for all M rows
 * and each x^T row for 4 weight rows. */
typedef struct linear_job {
  int64_t m, din, dout;
} linear_job;

static void linear_gemm_part(const exec_node *n, void *ctx, int ith, int nth) {
  const linear_job *j = ctx;
  const exec_tensor *w = exec_in(n, P_linear_weight), *b = exec_in(n, P_linear_bias);
  int64_t m = j->m, din = j->din, dout = j->dout, lo, hi;
  const float *xt = exec_scratch(n, 0);
  float *wbuf = exec_scratch(n, ith) + din * m, *tmp = wbuf + 4 * din, *y = exec_f32(n->out[0]);
  exec_split(dout, 4, ith, nth, &lo, &hi);
  for (int64_t o = lo; o < hi; o += 4) {
    int64_t blk = hi - o < 4 ? hi - o : 4;
    const float *wr = wbuf;
    if (w->storage == EXEC_F32) wr = exec_f32(w) + o * din;
    else exec_kernel_read(w, o * din, blk * din, wbuf);
    memset(tmp, 0, (size_t)(blk * m) * sizeof *tmp);
    exec_kernel_gemm_nn(blk, m, din, wr, din, xt, m, tmp, m);
    for (int64_t k = 0; k < blk; k++) {
      float bias = b ? exec_f32(b)[o + k] : 0;
      for (int64_t r = 0; r < m; r++) y[r * dout + o + k] = tmp[k * m + r] + bias;
    }
  }
}

/* A few rows of x against weights the kernels cannot read in place: one dot product per weight
 * row and activation row, rows split between threads. */
static void linear_rows_part(const exec_node *n, void *ctx, int ith, int nth) {
  const linear_job *j = ctx;
  const exec_tensor *x = exec_in(n, P_linear_x), *w = exec_in(n, P_linear_weight), *b = exec_in(n, P_linear_bias);
  int64_t m = j->m, din = j->din, dout = j->dout, lo, hi;
  float *y = exec_f32(n->out[0]);
  exec_split(dout, 1, ith, nth, &lo, &hi);
  for (int64_t o = lo; o < hi; o++) {
    exec_kernel_dot_rows(weight_row(w, o, din, exec_scratch(n, ith)), exec_f32(x), m, din, din, y + o, dout);
    if (b)
      for (int64_t r = 0; r < m; r++) y[r * dout + o] += exec_f32(b)[o];
  }
}

int exec_linear_run(exec_node *n, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_linear_x), *w = exec_in(n, P_linear_weight);
  linear_job j = {0, w->shape[1], w->shape[0]};
  j.m = j.dout ? n->out[0]->count / j.dout : 0;
  exec_wmat wm;
  if (j.m == 1 && exec_wmat_of(w, &wm)) { /* decode: the kernels read the packed rows directly */
    const exec_tensor *b = exec_in(n, P_linear_bias);
    exec_decode_products(n, exec_f32(x), 1, &wm, n->out, &b);
    return MR_OK;
  }
  if (j.m >= LINEAR_GEMM_ROWS) {
    float *xt = exec_scratch(n, 0);
    for (int64_t r = 0; r < j.m; r++)
      for (int64_t k = 0; k < j.din; k++) xt[k * j.m + r] = exec_f32(x)[r * j.din + k];
    exec_parallel(n, j.m * j.din * j.dout, linear_gemm_part, &j);
  } else {
    exec_parallel(n, j.m * j.din * j.dout, linear_rows_part, &j);
  }
  return MR_OK;
}

/* ---- matmul: NumPy matmul with transposes and batch broadcasting ------------------------------ */

/* Batch strides (in whole matrices) of an operand of rank r >= 2 broadcast to the batch shape. */
static void batch_strides(const exec_tensor *t, int brank, const int64_t *bshape, int64_t *st) {
  int tb = t->rank >= 2 ? t->rank - 2 : 0;
  int64_t s = 1;
  for (int i = brank - 1; i >= 0; i--) {
    int j = i - (brank - tb);
    int64_t d = j >= 0 ? t->shape[j] : 1;
    st[i] = (d == 1 && bshape[i] != 1) ? 0 : s;
    s *= d;
  }
}

static int mm_shapes(exec_node *n, exec_mm_plan *p, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_matmul_x), *y = exec_in(n, P_matmul_y);
  int rx = x->rank, ry = y->rank, rc;
  char sx[128], sy[128];
  if (rx < 1 || ry < 1) return exec_node_err(n, err, MR_ESHAPE, "x and y must have rank >= 1");
  if (rx == 1) p->tx = 0; /* a vector has nothing to transpose */
  if (ry == 1) p->ty = 0;
  int64_t xr = rx == 1 ? 1 : x->shape[rx - 2], xc = x->shape[rx - 1];
  int64_t yr = ry == 1 ? y->shape[0] : y->shape[ry - 2], yc = ry == 1 ? 1 : y->shape[ry - 1];
  p->m = p->tx ? xc : xr, p->k = p->tx ? xr : xc;
  int64_t yk = p->ty ? yc : yr;
  p->n = p->ty ? yr : yc;
  if (p->k != yk)
    return exec_node_err(n, err, MR_ESHAPE, "x %s and y %s do not match: inner dims %lld and %lld",
                         exec_shape_str(rx, x->shape, sx, sizeof sx), exec_shape_str(ry, y->shape, sy, sizeof sy),
                         (long long)p->k, (long long)yk);
  int bx = rx > 2 ? rx - 2 : 0, by = ry > 2 ? ry - 2 : 0;
  if ((rc = exec_broadcast(n, bx, x->shape, by, y->shape, &p->brank, p->bshape, err))) return rc;
  batch_strides(x, p->brank, p->bshape, p->xstr);
  batch_strides(y, p->brank, p->bshape, p->ystr);
  int64_t shape[MR_MAX_RANK];
  int r = p->brank;
  memcpy(shape, p->bshape, sizeof shape);
  p->batch = 1;
  for (int i = 0; i < r; i++) p->batch *= shape[i];
  if (rx > 1) shape[r++] = p->m;
  if (ry > 1) shape[r++] = p->n;
  return exec_set_out_shape(n, 0, r, shape, err);
}

int exec_matmul_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_matmul_x, err);
  if (rc || (rc = exec_need(n, P_matmul_y, err))) return rc;
  const exec_tensor *x = exec_in(n, P_matmul_x), *y = exec_in(n, P_matmul_y);
  if (!is_float_or_packed(x)) return exec_err_storage(n, err, "x", x);
  if (!is_float_or_packed(y) && y->storage != EXEC_F16) return exec_err_storage(n, err, "y", y);
  if (n->out[0]->storage != EXEC_F32)
    return exec_node_err(n, err, MR_ESHAPE, "output must be float, declared %s", exec_dtype_name(n->out[0]->dtype));
  exec_mm_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  if ((rc = exec_param_bool(n, P_matmul_transpose_x, 0, &p->tx, err)) || (rc = exec_param_bool(n, P_matmul_transpose_y, 0, &p->ty, err))) return rc;
  return mm_shapes(n, p, err);
}

/* Scratch: A as a contiguous [M, K] (when x is packed or transposed) plus room to decode it, one
 * decoded row of y, and y decoded and transposed (K, N) for the micro-kernel. */
size_t exec_matmul_scratch(const exec_node *n) {
  const exec_mm_plan *p = n->priv;
  return (size_t)(2 * p->m * p->k + (p->n > p->k ? p->n : p->k) + 2 * p->k * p->n);
}

/* x's matrix at offset off as a contiguous (M, K) array. */
static const float *mm_lhs(const exec_tensor *x, const exec_mm_plan *p, int64_t off, float *buf) {
  if (x->storage == EXEC_F32 && !p->tx) return exec_f32(x) + off;
  int64_t mk = p->m * p->k;
  const float *src = buf + mk;
  if (x->storage == EXEC_F32) src = exec_f32(x) + off;
  else exec_kernel_read(x, off, mk, buf + mk);
  if (!p->tx) return src;
  for (int64_t i = 0; i < p->m; i++) /* stored (K, M) */
    for (int64_t j = 0; j < p->k; j++) buf[i * p->k + j] = src[j * p->m + i];
  return buf;
}

/* n elements of y from element start as fp32 (fp16 state views through the kernel table). */
static void mm_read(const exec_tensor *y, int64_t start, int64_t n, float *dst) {
  if (y->storage == EXEC_F16) exec_kernels()->f16_decode((const uint8_t *)(exec_f16(y) + start), n, dst);
  else exec_kernel_read(y, start, n, dst);
}

/* For y a view of a KV cache (attention probabilities times V) the columns of the probabilities
 * after the last nonzero one are positions the causal mask hid, whose probability is exactly 0 in
 * every row: skipping them changes no sum (unless V holds inf or NaN there, which an fp16 cache
 * written by the model does not). */
int64_t exec_used_cols(const float *a, int64_t m, int64_t lda) {
  int64_t used = 0;
  for (int64_t i = 0; i < m; i++) { /* each row back to its last nonzero or to what is already used */
    const float *r = a + i * lda;
    int64_t k = lda;
    for (; k - 16 >= used; k -= 16) { /* 16 at a time: the hidden tail is long, its zeros exact */
      int nz = 0;
      for (int j = 1; j <= 16; j++) nz |= r[k - j] != 0;
      if (nz) break;
    }
    while (k > used && r[k - 1] == 0) k--;
    used = k;
  }
  return used;
}

int64_t exec_visible_cols(const exec_tensor *mask, int64_t n) {
  if (!mask || !n) return n;
  const float *mk = exec_f32(mask);
  int64_t rows = mask->count / n;
  for (int64_t j = n; j > 0; j--)
    for (int64_t r = 0; r < rows; r++)
      if (mk[r * n + j - 1] != -INFINITY) return j;
  return 0;
}

/* y stored (N, K): C[:, :nv] = A . y[:nv]^T (c is zeroed). */
static void mm_one_ty(const exec_tensor *y, const exec_mm_plan *p, const float *a, int64_t yoff, int64_t nv, float *c,
                      float *row, float *yt) {
  int64_t m = p->m, nn = p->n, k = p->k;
  const exec_kernel_table *kt = exec_kernels();
  if (m < EXEC_MATMUL_GEMM_ROWS && y->storage != EXEC_PACKED) { /* one matrix-vector product per row of A */
    for (int64_t i = 0; i < m; i++) {
      if (y->storage == EXEC_F32) kt->f32_gemv(exec_f32(y) + yoff, k, nv, a + i * k, k, c + i * nn);
      else kt->f16_gemv((const uint8_t *)(exec_f16(y) + yoff), 2 * k, nv, a + i * k, k, c + i * nn);
    }
    return;
  }
  if (m < EXEC_MATMUL_GEMM_ROWS) { /* packed: one decoded row of y for every row of A */
    for (int64_t j = 0; j < nv; j++) {
      mm_read(y, yoff + j * k, k, row);
      exec_kernel_dot_rows(row, a, m, k, k, c + j, nn);
    }
    return;
  }
  const float *src = exec_f32(y) + yoff; /* y^T (K, nv) once, then the micro-kernel */
  if (y->storage != EXEC_F32) mm_read(y, yoff, nv * k, yt + k * nn), src = yt + k * nn;
  for (int64_t j = 0; j < nv; j++)
    for (int64_t q = 0; q < k; q++) yt[q * nv + j] = src[j * k + q];
  exec_kernel_gemm_nn(m, nv, k, a, k, yt, nv, c, nn);
}

/* C[:, :nv] of A . y (the other columns 0). */
static void mm_one(const exec_tensor *y, const exec_mm_plan *p, const float *a, int64_t yoff, int64_t nv, float *c,
                   float *row, float *yt) {
  int64_t m = p->m, nn = p->n, k = p->k;
  memset(c, 0, (size_t)(m * nn) * sizeof *c);
  if (p->ty) {
    mm_one_ty(y, p, a, yoff, nv, c, row, yt);
    return;
  }
  int64_t kk = y->storage == EXEC_F16 ? exec_used_cols(a, m, k) : k; /* y stored (K, N) */
  if (y->storage == EXEC_F32) {
    exec_kernel_gemm_nn(m, nv, kk, a, k, exec_f32(y) + yoff, nn, c, nn);
  } else if (m >= EXEC_MATMUL_GEMM_ROWS) { /* decode y's used rows once, then the micro-kernel */
    mm_read(y, yoff, kk * nn, yt);
    exec_kernel_gemm_nn(m, nv, kk, a, k, yt, nn, c, nn);
  } else if (y->storage == EXEC_F16) { /* attention's probabilities times the fp16 V cache */
    for (int64_t i = 0; i < m; i++)
      exec_kernels()->f16_gemv_t((const uint8_t *)(exec_f16(y) + yoff), 2 * nn, kk, a + i * k, nv, c + i * nn);
  } else {
    for (int64_t q = 0; q < kk; q++) { /* decode row q once, use it for all of A */
      mm_read(y, yoff + q * nn, nv, row);
      for (int64_t i = 0; i < m; i++) exec_kernel_axpy(a[i * k + q], row, c + i * nn, nv);
    }
  }
}

/* Batches split between threads; each batch's matrix offsets come from its broadcast coordinates. */
static void matmul_part(const exec_node *n, void *ctx, int ith, int nth) {
  const exec_mm_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_matmul_x), *y = exec_in(n, P_matmul_y);
  float *abuf = exec_scratch(n, ith), *row = abuf + 2 * p->m * p->k, *yt = row + (p->n > p->k ? p->n : p->k);
  int64_t lo, hi, nv = *(const int64_t *)ctx;
  exec_split(p->batch, 1, ith, nth, &lo, &hi);
  for (int64_t b = lo; b < hi; b++) {
    int64_t xoff, yoff;
    exec_matmul_batch(p, b, &xoff, &yoff);
    mm_one(y, p, mm_lhs(x, p, xoff, abuf), yoff, nv, exec_f32(n->out[0]) + b * p->m * p->n, row, yt);
  }
}

void exec_matmul_batch(const exec_mm_plan *p, int64_t b, int64_t *xoff, int64_t *yoff) {
  int64_t rem = b, xb = 0, yb = 0;
  for (int j = p->brank - 1; j >= 0; j--) {
    int64_t cj = rem % p->bshape[j];
    rem /= p->bshape[j];
    xb += cj * p->xstr[j];
    yb += cj * p->ystr[j];
  }
  *xoff = xb * p->m * p->k;
  *yoff = yb * p->k * p->n;
}

int exec_matmul_run(exec_node *n, mr_error *err) {
  const exec_mm_plan *p = n->priv;
  if (n->attention) {
    exec_attention_decode(n);
    return MR_OK;
  }
  int64_t nv = exec_visible_cols(n->hidden_by, p->n);
  exec_parallel(n, p->batch * p->m * nv * p->k, matmul_part, &nv);
  return MR_OK;
}
