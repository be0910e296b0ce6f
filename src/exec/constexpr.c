/* constexpr.c — folding the constexpr_* decompression ops at load (docs/formats.md §4.1) into packed
 * tensors: constexpr_lut_to_dense (iOS16 flat form and iOS18 grouped/vector form),
 * constexpr_affine_dequantize, constexpr_blockwise_shift_scale and constexpr_cast. */
#include <string.h>

#include "exec/consts.h"
#include "exec/kernels/kernels.h"
#include "exec/weights.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"

typedef struct cx {
  exec_consts *c;
  const mil_op *op;
  const char *where;
  exec_tensor *const *params;
  const char *const *names;
  int n;
  mr_error *err;
} cx;

static exec_tensor *param(const cx *x, const char *name) {
  for (int i = 0; i < x->n; i++)
    if (!strcmp(x->names[i], name)) return x->params[i];
  return NULL;
}

static int need(const cx *x, const char *name, exec_tensor **out) {
  *out = param(x, name);
  if (!*out)
    return util_err(x->err, MR_EFORMAT, "%s: op '%s' needs the parameter '%s'", x->where, x->op->type, name);
  return MR_OK;
}

static const mil_type *out_type(const cx *x) {
  return x->op->n_outputs == 1 ? x->op->outputs[0].type : NULL;
}

/* A copy of t's header sharing its data (a packed view with another dtype or shape). */
static exec_tensor *clone(exec_consts *c, const exec_tensor *t) {
  exec_tensor *n = util_arena_alloc(&c->arena, sizeof *n);
  if (n) *n = *t;
  return n;
}

static exec_packed *clone_packed(exec_consts *c, const exec_packed *p) {
  exec_packed *n = util_arena_alloc(&c->arena, sizeof *n);
  if (n) *n = *p;
  return n;
}

/* Raw packed bytes of an integer tensor: the blob bytes when packed, else packed here from dense
 * small inline values (iOS16 indices written as a literal). */
static const uint8_t *int_fields(const cx *x, const exec_tensor *t, int bits) {
  if (t->storage == EXEC_PACKED && t->packed->kind == EXEC_PACK_INT && !t->packed->scale &&
      t->packed->bits == bits)
    return t->packed->data;
  if (t->storage != EXEC_I32) return NULL;
  uint8_t *b = util_arena_alloc(&x->c->arena, (size_t)((t->count * bits + 7) / 8) + 1);
  if (!b) return NULL;
  for (int64_t i = 0; i < t->count; i++) {
    uint64_t bit = (uint64_t)i * (uint64_t)bits;
    unsigned v = (unsigned)exec_i32(t)[i] & ((1u << bits) - 1);
    b[bit >> 3] |= (uint8_t)(v << (bit & 7));
    if ((bit & 7) + (unsigned)bits > 8) b[(bit >> 3) + 1] |= (uint8_t)(v >> (8 - (bit & 7)));
  }
  return b;
}

static int log2_exact(int64_t p) {
  for (int b = 1; b <= 8; b++)
    if (p == (1 << b)) return b;
  return -1;
}

static float *read_all(const cx *x, const exec_tensor *t) {
  float *f = util_arena_alloc(&x->c->arena, (size_t)t->count * sizeof(float) + 1);
  if (f) {
    x->c->decoded_bytes += (size_t)t->count * sizeof(float);
    exec_tensor_read_f32(t, 0, t->count, f);
  }
  return f;
}

/* The palettes of p from `lut`: the weight file's own fp16 table when lut is one (no copy), an
 * fp16 copy when every entry is fp16-exact, else fp32. Returns -1 when out of memory. */
static int set_palettes(const cx *x, const exec_tensor *lut, exec_packed *p) {
  if (lut->storage == EXEC_PACKED && lut->packed->kind == EXEC_PACK_F16 && !((uintptr_t)lut->packed->data & 1)) {
    p->pal16 = (const uint16_t *)(const void *)lut->packed->data;
    return 0;
  }
  uint16_t *h = util_arena_alloc(&x->c->arena, (size_t)lut->count * sizeof *h + 1);
  if (!h) return -1;
  for (int64_t i = 0; i < lut->count; i++) {
    float v;
    exec_tensor_read_f32(lut, i, 1, &v);
    h[i] = util_f32_to_f16(v);
    if (util_f16_to_f32(h[i]) != v && v == v) { /* not fp16-exact: keep fp32 */
      p->palettes = read_all(x, lut);
      return p->palettes ? 0 : -1;
    }
  }
  x->c->decoded_bytes += (size_t)lut->count * sizeof *h;
  p->pal16 = h;
  return 0;
}

/* The integer copies of p's palettes for the kernels' integer products (exec_palq_make), when the
 * kernels have them and p's layout suits them: 4- or 8-bit indices into fp16 palettes, grouped by
 * rows only. Returns -1 when out of memory. */
static int set_int_palettes(const cx *x, exec_packed *p) {
  if (!exec_kernels()->xq_prepare || (p->bits != 8 && p->bits != 4) || !p->pal16 || p->vec != 1 ||
      (p->n_groups > 1 && !p->rows_only))
    return 0;
  size_t groups = (size_t)(p->n_groups > 1 ? p->n_groups : 1), per = (size_t)2 * (size_t)p->palette;
  uint8_t *planes = util_arena_alloc(&x->c->arena, groups * per + 1);
  float *scale = util_arena_alloc(&x->c->arena, groups * sizeof *scale + 1);
  if (!planes || !scale) return -1;
  for (size_t g = 0; g < groups; g++)
    scale[g] = exec_palq_make(p->pal16 + g * (size_t)p->palette, p->palette, planes + g * per);
  x->c->decoded_bytes += groups * (per + sizeof *scale);
  p->palq = planes;
  p->palq_scale = scale;
  return 0;
}

static int lut_ios16(const cx *x, exec_tensor *indices, exec_tensor *lut, exec_tensor *shape, exec_tensor **out) {
  if (shape->storage != EXEC_I32 || shape->rank != 1 || shape->count > MR_MAX_RANK)
    return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: 'shape' must be a 1-D integer tensor of at most %d values", x->where, MR_MAX_RANK);
  int64_t dims[MR_MAX_RANK], total = 1;
  for (int i = 0; i < shape->count; i++) {
    dims[i] = exec_i32(shape)[i];
    if (dims[i] < 0) return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: negative dimension in 'shape'", x->where);
    total *= dims[i];
  }
  int bits = log2_exact(lut->count);
  if (lut->rank != 1 || bits < 0)
    return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: 'lut' must have 2, 4, 16, 64 or 256 entries (has %lld)", x->where, (long long)lut->count);
  if (indices->count != (total * bits + 7) / 8)
    return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: %lld index bytes, %lld %d-bit indices need %lld",
                    x->where, (long long)indices->count, (long long)total, bits, (long long)((total * bits + 7) / 8));
  const uint8_t *data = int_fields(x, indices, 8);
  if (!data) return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: 'indices' must be uint8", x->where);
  exec_tensor *t = clone(x->c, indices);
  exec_packed *p = util_arena_alloc(&x->c->arena, sizeof *p);
  if (!t || !p) return util_err_nomem(x->err, x->where);
  memset(p, 0, sizeof *p);
  if (set_palettes(x, lut, p)) return util_err_nomem(x->err, x->where);
  const mil_type *ot = out_type(x);
  t->dtype = ot ? ot->dtype : lut->dtype;
  t->storage = EXEC_PACKED;
  exec_tensor_set_shape(t, (int)shape->count, dims);
  p->kind = EXEC_PACK_LUT;
  p->data = data;
  p->bits = bits;
  p->n_groups = 1;
  p->palette = 1 << bits;
  p->vec = 1;
  if (set_int_palettes(x, p)) return util_err_nomem(x->err, x->where);
  t->packed = p;
  *out = t;
  return MR_OK;
}

static int lut_ios18(const cx *x, exec_tensor *indices, exec_tensor *lut, exec_tensor **out) {
  int K = indices->rank, bits = mil_dtype_bits(indices->dtype);
  if (lut->rank != K + 2)
    return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: 'lut' has rank %d, indices of rank %d need %d",
                    x->where, lut->rank, K, K + 2);
  int64_t P = lut->shape[K], V = lut->shape[K + 1];
  if (bits < 1 || bits > 8 || P != (1 << bits))
    return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: %lld palette entries do not match %s indices",
                    x->where, (long long)P, mil_dtype_name(indices->dtype));
  exec_tensor *va = param(x, "vector_axis");
  int axis = 0;
  if (V > 1) {
    if (!va || va->storage != EXEC_I32 || va->count != 1)
      return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: vector palettization (V = %lld) needs 'vector_axis'", x->where, (long long)V);
    axis = exec_i32(va)[0];
    if (axis < 0) axis += K;
    if (axis < 0 || axis >= K) return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: 'vector_axis' out of range", x->where);
  }
  const uint8_t *data = int_fields(x, indices, bits);
  if (!data) return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: 'indices' must be unsigned %d-bit integers", x->where, bits);
  exec_tensor *t = clone(x->c, indices);
  exec_packed *p = util_arena_alloc(&x->c->arena, sizeof *p);
  if (!t || !p) return util_err_nomem(x->err, x->where);
  memset(p, 0, sizeof *p);
  if (set_palettes(x, lut, p)) return util_err_nomem(x->err, x->where);
  if (exec_packed_set_groups(p, K, indices->shape, lut->shape) != 0)
    return util_err(x->err, MR_EFORMAT, "%s: constexpr_lut_to_dense: the group counts of 'lut' do not divide the indices' shape", x->where);
  int64_t oshape[MR_MAX_RANK];
  memcpy(oshape, indices->shape, sizeof oshape);
  oshape[axis] *= V;
  const mil_type *ot = out_type(x);
  t->dtype = ot ? ot->dtype : lut->dtype;
  t->storage = EXEC_PACKED;
  exec_tensor_set_shape(t, K, oshape);
  p->kind = EXEC_PACK_LUT;
  p->data = data;
  p->bits = bits;
  p->palette = (int)P;
  p->vec = (int)V;
  p->vector_axis = axis;
  if (V > 1) p->rows_only = 0;
  if (set_int_palettes(x, p)) return util_err_nomem(x->err, x->where);
  t->packed = p;
  *out = t;
  return MR_OK;
}

static int lut_to_dense(const cx *x, exec_tensor **out) {
  exec_tensor *indices, *lut;
  int rc = need(x, "indices", &indices);
  if (!rc) rc = need(x, "lut", &lut);
  if (rc) return rc;
  exec_tensor *shape = param(x, "shape");
  return shape ? lut_ios16(x, indices, lut, shape, out) : lut_ios18(x, indices, lut, out);
}

/* Integer data scaled per group: out = (q - zero[g]) * scale[g]. groups[] per dim of data. */
static int scaled_int(const cx *x, exec_tensor *data, exec_tensor *scale, exec_tensor *zero,
                      const int64_t *groups, exec_tensor **out) {
  const mil_type *ot = out_type(x);
  mil_dtype dt = ot ? ot->dtype : scale->dtype;
  float *sc = read_all(x, scale);
  float *zp = zero ? read_all(x, zero) : NULL;
  if (!sc || (zero && !zp)) return util_err_nomem(x->err, x->where);
  if (data->storage == EXEC_PACKED && data->packed->kind == EXEC_PACK_INT && !data->packed->scale) {
    exec_tensor *t = clone(x->c, data);
    exec_packed *p = t ? clone_packed(x->c, data->packed) : NULL;
    if (!p) return util_err_nomem(x->err, x->where);
    if (exec_packed_set_groups(p, data->rank, data->shape, groups) != 0)
      return util_err(x->err, MR_EFORMAT, "%s: %s: scale shape does not divide the data shape", x->where, x->op->type);
    p->scale = sc;
    p->zero = zp;
    t->dtype = dt;
    t->packed = p;
    *out = t;
    return MR_OK;
  }
  /* Dense data (small inline literals, or decoded LUT output): compute a dense result. */
  exec_packed g = {0};
  if (exec_packed_set_groups(&g, data->rank, data->shape, groups) != 0)
    return util_err(x->err, MR_EFORMAT, "%s: %s: scale shape does not divide the data shape", x->where, x->op->type);
  float *q = read_all(x, data);
  exec_tensor *t = clone(x->c, data);
  if (!q || !t) return util_err_nomem(x->err, x->where);
  t->dtype = dt;
  t->storage = EXEC_F32;
  t->packed = NULL;
  t->data = q;
  for (int64_t i = 0; i < t->count; i++) {
    int64_t rem = i, gi = 0;
    for (int j = t->rank - 1; j >= 0; j--) {
      gi += ((rem % t->shape[j]) / g.block[j]) * g.gstride[j];
      rem /= t->shape[j];
    }
    q[i] = (q[i] - (zp ? zp[gi] : 0.0f)) * sc[gi];
  }
  *out = t;
  return MR_OK;
}

static int affine_dequantize(const cx *x, exec_tensor **out) {
  exec_tensor *data, *scale, *zero, *axis_t;
  int rc = need(x, "quantized_data", &data);
  if (!rc) rc = need(x, "scale", &scale);
  if (!rc) rc = need(x, "zero_point", &zero);
  if (rc) return rc;
  axis_t = param(x, "axis");
  int axis = axis_t && axis_t->storage == EXEC_I32 ? exec_i32(axis_t)[0] : 0;
  if (axis < 0) axis += data->rank;
  int64_t groups[MR_MAX_RANK];
  for (int j = 0; j < data->rank; j++) groups[j] = 1;
  if (scale->count > 1 || zero->count > 1) {
    if (axis < 0 || axis >= data->rank)
      return util_err(x->err, MR_EFORMAT, "%s: constexpr_affine_dequantize: axis out of range", x->where);
    int64_t n = data->shape[axis];
    if ((scale->count != 1 && scale->count != n) || (zero->count != 1 && zero->count != n))
      return util_err(x->err, MR_EFORMAT, "%s: constexpr_affine_dequantize: scale and zero_point need 1 or %lld values", x->where, (long long)n);
    groups[axis] = n;
  }
  /* Broadcast a scalar scale/zero to the group count so the decoder indexes uniformly. */
  int64_t ng = 1;
  for (int j = 0; j < data->rank; j++) ng *= groups[j];
  exec_tensor *s2 = scale, *z2 = zero;
  if (ng > 1 && (scale->count == 1 || zero->count == 1)) {
    float sv, zv;
    exec_tensor_read_f32(scale, 0, 1, &sv);
    exec_tensor_read_f32(zero, 0, 1, &zv);
    int64_t shp[1] = {ng};
    if (scale->count == 1) {
      s2 = clone(x->c, scale);
      float *f = util_arena_alloc(&x->c->arena, (size_t)ng * sizeof(float));
      if (!s2 || !f) return util_err_nomem(x->err, x->where);
      for (int64_t i = 0; i < ng; i++) f[i] = sv;
      s2->storage = EXEC_F32; s2->data = f; s2->packed = NULL;
      exec_tensor_set_shape(s2, 1, shp);
    }
    if (zero->count == 1) {
      z2 = clone(x->c, zero);
      float *f = util_arena_alloc(&x->c->arena, (size_t)ng * sizeof(float));
      if (!z2 || !f) return util_err_nomem(x->err, x->where);
      for (int64_t i = 0; i < ng; i++) f[i] = zv;
      z2->storage = EXEC_F32; z2->data = f; z2->packed = NULL;
      exec_tensor_set_shape(z2, 1, shp);
    }
  }
  return scaled_int(x, data, s2, z2, groups, out);
}

static int blockwise_shift_scale(const cx *x, exec_tensor **out) {
  exec_tensor *data, *scale;
  int rc = need(x, "data", &data);
  if (!rc) rc = need(x, "scale", &scale);
  if (rc) return rc;
  exec_tensor *offset = param(x, "offset");
  if (scale->rank != data->rank || (offset && (offset->count != scale->count)))
    return util_err(x->err, MR_EFORMAT, "%s: constexpr_blockwise_shift_scale: scale (and offset) must have the rank of data", x->where);
  return scaled_int(x, data, scale, offset, scale->shape, out);
}

static int cast(const cx *x, exec_tensor **out) {
  exec_tensor *src;
  int rc = need(x, "source_val", &src);
  if (rc) return rc;
  const mil_type *ot = out_type(x);
  if (!ot || !mil_dtype_is_float(ot->dtype) || !mil_dtype_is_float(src->dtype))
    return util_err(x->err, MR_ENOTSUP, "%s: constexpr_cast: only float to float casts are supported", x->where);
  exec_tensor *t = clone(x->c, src);
  if (!t) return util_err_nomem(x->err, x->where);
  /* fp16 -> fp32 is exact: the packed fp16 data serves as the fp32 tensor. */
  t->dtype = ot->dtype;
  *out = t;
  return MR_OK;
}

int exec_const_constexpr(exec_consts *c, const mil_op *op, const char *where,
                         exec_tensor *const *params, const char *const *names, int n_params,
                         exec_tensor **out, mr_error *err) {
  cx x = {c, op, where, params, names, n_params, err};
  if (op->n_outputs != 1)
    return util_err(err, MR_ENOTSUP, "%s: op '%s' with %d outputs is not supported", where, op->type, op->n_outputs);
  if (!strcmp(op->type, "constexpr_lut_to_dense")) return lut_to_dense(&x, out);
  if (!strcmp(op->type, "constexpr_affine_dequantize")) return affine_dequantize(&x, out);
  if (!strcmp(op->type, "constexpr_blockwise_shift_scale")) return blockwise_shift_scale(&x, out);
  if (!strcmp(op->type, "constexpr_cast")) return cast(&x, out);
  return util_err(err, MR_ENOTSUP, "%s: unsupported op '%s'", where, op->type);
}
