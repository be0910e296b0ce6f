/* weights.c — decoding packed constant weights: fp16/bf16 values, n-bit integers with per-group
 * scales, and n-bit LUT indices. The common case (a range inside one row of a weight grouped by
 * output channel) takes the fast path with one palette/scale per call. */
#include "exec/weights.h"

#include <string.h>

#include "exec/kernels/kernels.h"
#include "mil/blob.h"
#include "util/fp16.h"

int exec_packed_set_groups(exec_packed *p, int rank, const int64_t *shape, const int64_t *groups) {
  int64_t stride = 1;
  p->rows_only = 1;
  for (int j = rank - 1; j >= 0; j--) {
    if (groups[j] <= 0 || shape[j] % groups[j]) return -1;
    p->block[j] = shape[j] / groups[j];
    p->gstride[j] = stride;
    stride *= groups[j];
    if (j > 0 && groups[j] != 1) p->rows_only = 0;
  }
  p->n_groups = stride;
  return 0;
}

float exec_packed_pal(const exec_packed *p, size_t i) {
  if (!p->pal16) return p->palettes[i];
  const uint8_t *b = (const uint8_t *)(p->pal16 + i);
  return util_f16_to_f32((uint16_t)(b[0] | b[1] << 8));
}

int exec_wmat_of(const exec_tensor *t, exec_wmat *m) {
  if (!t->rank || !t->shape[0]) return 0;
  memset(m, 0, sizeof *m);
  m->rows = t->shape[0];
  m->cols = t->count / m->rows;
  if (t->storage == EXEC_F32) {
    m->kind = EXEC_WMAT_F32;
    m->f32 = exec_f32(t);
    return 1;
  }
  const exec_packed *p = t->storage == EXEC_PACKED ? t->packed : NULL;
  if (p && p->kind == EXEC_PACK_F16) {
    m->kind = EXEC_WMAT_F16;
    m->data = p->data;
    m->ld = 2 * m->cols;
    return 1;
  }
  if (!p || p->kind != EXEC_PACK_LUT || !p->pal16 || p->vec != 1 || (p->n_groups > 1 && !p->rows_only) ||
      (m->cols * p->bits) % 8)
    return 0;
  m->kind = EXEC_WMAT_LUT;
  m->bits = p->bits;
  m->data = p->data;
  m->ld = m->cols * p->bits / 8;
  m->pal = p->pal16;
  m->palq = p->palq;
  m->palq_scale = p->palq_scale;
  m->group_rows = p->n_groups > 1 ? p->block[0] : m->rows;
  return 1;
}

int32_t exec_packed_int(const exec_packed *p, int64_t i) {
  unsigned v = mil_bits_get(p->data, i, p->bits);
  if (p->is_signed && (v >> (p->bits - 1))) return (int32_t)v - (1 << p->bits);
  return (int32_t)v;
}

/* Group of the element at flat index i of a tensor of `shape` (rank dims). */
static int64_t group_of(const exec_packed *p, int rank, const int64_t *shape, int64_t i) {
  if (p->n_groups <= 1) return 0;
  int64_t g = 0;
  for (int j = rank - 1; j >= 0; j--) {
    int64_t c = i % shape[j];
    i /= shape[j];
    g += (c / p->block[j]) * p->gstride[j];
  }
  return g;
}

static void read_lut_vec(const exec_tensor *t, const exec_packed *p, int64_t start, int64_t n, float *dst) {
  /* Vector palettization: map each output coordinate to its index coordinate and vector lane. */
  int rank = t->rank, a = p->vector_axis;
  int64_t ishape[MR_MAX_RANK];
  memcpy(ishape, t->shape, sizeof ishape);
  ishape[a] /= p->vec;
  for (int64_t k = 0; k < n; k++) {
    int64_t i = start + k, rem = i, q[MR_MAX_RANK] = {0};
    for (int j = rank - 1; j >= 0; j--) {
      q[j] = rem % t->shape[j];
      rem /= t->shape[j];
    }
    int v = (int)(q[a] % p->vec);
    q[a] /= p->vec;
    int64_t flat = 0, g = 0;
    for (int j = 0; j < rank; j++) {
      flat = flat * ishape[j] + q[j];
      g += (q[j] / p->block[j]) * p->gstride[j];
    }
    unsigned idx = mil_bits_get(p->data, flat, p->bits);
    dst[k] = exec_packed_pal(p, ((size_t)g * (size_t)p->palette + idx) * (size_t)p->vec + (size_t)v);
  }
}

void exec_packed_read(const exec_tensor *t, int64_t start, int64_t n, float *dst) {
  const exec_packed *p = t->packed;
  exec_wmat m;
  if ((p->kind == EXEC_PACK_F16 || p->kind == EXEC_PACK_LUT) && exec_wmat_of(t, &m)) {
    exec_wmat_read(&m, start, n, dst); /* the SIMD kernels */
    return;
  }
  switch (p->kind) {
  case EXEC_PACK_F16: {
    const uint8_t *s = p->data + 2 * start;
    for (int64_t i = 0; i < n; i++) dst[i] = util_f16_to_f32((uint16_t)(s[2 * i] | s[2 * i + 1] << 8));
    return;
  }
  case EXEC_PACK_BF16: {
    const uint8_t *s = p->data + 2 * start;
    for (int64_t i = 0; i < n; i++) dst[i] = util_bf16_to_f32((uint16_t)(s[2 * i] | s[2 * i + 1] << 8));
    return;
  }
  case EXEC_PACK_INT:
  case EXEC_PACK_LUT:
    break;
  }
  if (p->kind == EXEC_PACK_LUT && p->vec > 1) {
    read_lut_vec(t, p, start, n, dst);
    return;
  }
  int64_t row_len = t->rank ? t->count / (t->shape[0] ? t->shape[0] : 1) : 1;
  if (p->n_groups > 1 && p->rows_only && row_len && n > 0 && start / row_len != (start + n - 1) / row_len) {
    /* a range over several rows (a block of weight rows): one row at a time, each one group */
    while (n > 0) {
      int64_t seg = row_len - start % row_len;
      if (seg > n) seg = n;
      exec_packed_read(t, start, seg, dst);
      start += seg, dst += seg, n -= seg;
    }
    return;
  }
  int one_group = p->n_groups <= 1 ||
                  (p->rows_only && row_len && start / row_len == (start + n - 1) / row_len);
  int64_t g0 = one_group ? group_of(p, t->rank, t->shape, start) : 0;
  if (p->kind == EXEC_PACK_LUT) {
    size_t P = (size_t)p->palette;
    for (int64_t i = 0; i < n; i++) {
      int64_t g = one_group ? g0 : group_of(p, t->rank, t->shape, start + i);
      dst[i] = exec_packed_pal(p, (size_t)g * P + mil_bits_get(p->data, start + i, p->bits));
    }
    return;
  }
  /* EXEC_PACK_INT */
  for (int64_t i = 0; i < n; i++) {
    float q = (float)exec_packed_int(p, start + i);
    if (p->scale) {
      int64_t g = one_group ? g0 : group_of(p, t->rank, t->shape, start + i);
      q = (q - (p->zero ? p->zero[g] : 0.0f)) * p->scale[g];
    }
    dst[i] = q;
  }
}
