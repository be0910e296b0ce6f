/* consts.c — constants and constexpr_* folding (docs/formats.md §4.1). Weights keep the form they have
 * in the weight file: fp16 stays fp16 in the mapping, LUT indices stay packed and only the palettes
 * are decoded, int8 stays int8 with its scales. Blob-backed results are cached by their blob offsets,
 * so a weight shared by two functions (prefill and infer) is prepared once. */
#include "exec/consts.h"

#include <stdio.h>
#include <string.h>

#include "exec/weights.h"
#include "mil/model.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"
#include "util/strbuf.h"

/* Blob fp16 weights below this many elements are expanded to fp32 (they are small, and ops read
 * dense data faster). */
#define PACK_MIN_ELEMENTS 1024

int exec_consts_init(exec_consts *c, const char *model_dir, mr_error *err) {
  memset(c, 0, sizeof *c);
  c->model_dir = util_arena_strndup(&c->arena, model_dir, strlen(model_dir));
  return c->model_dir ? MR_OK : util_err_nomem(err, "constants");
}

void exec_consts_free(exec_consts *c) {
  for (int i = 0; i < c->n_files; i++) mil_blob_close(&c->files[i]);
  mr_free(c->files);
  mr_free(c->tensors);
  util_strmap_free(&c->cache);
  util_strmap_free(&c->blob_seen);
  util_arena_free(&c->arena);
  memset(c, 0, sizeof *c);
}

size_t exec_consts_bytes(const exec_consts *c) { return c->mapped_bytes + c->decoded_bytes; }

static void *arena_bytes(exec_consts *c, size_t n) {
  void *p = util_arena_alloc(&c->arena, n);
  if (p) c->decoded_bytes += n;
  return p;
}

static exec_tensor *new_tensor(exec_consts *c, mil_dtype dtype, int rank, const int64_t *shape) {
  exec_tensor *t = util_arena_alloc(&c->arena, sizeof *t);
  if (!t) return NULL;
  t->dtype = dtype;
  t->storage = exec_storage_for(dtype);
  t->is_const = 1;
  if (exec_tensor_set_shape(t, rank, shape) != 0) return NULL;
  return t;
}

/* Allocate dense storage for t. */
static int alloc_dense(exec_consts *c, exec_tensor *t) {
  size_t es = exec_storage_size(t->storage);
  if (!es) return -1;
  t->data = arena_bytes(c, (size_t)t->count * es);
  return t->data ? 0 : -1;
}

static int cache_get(exec_consts *c, const char *sig, exec_tensor **out) {
  int64_t i;
  if (!util_strmap_get(&c->cache, sig, strlen(sig), &i)) return 0;
  *out = c->tensors[i];
  return 1;
}

static int cache_put(exec_consts *c, const char *sig, exec_tensor *t) {
  if (c->n_tensors == c->cap_tensors) {
    int cap = c->cap_tensors ? c->cap_tensors * 2 : 64;
    exec_tensor **nt = mr_realloc(c->tensors, (size_t)cap * sizeof *nt);
    if (!nt) return -1;
    c->tensors = nt;
    c->cap_tensors = cap;
  }
  char *key = util_arena_strndup(&c->arena, sig, strlen(sig));
  if (!key || util_strmap_put(&c->cache, key, strlen(key), c->n_tensors) != 0) return -1;
  c->tensors[c->n_tensors++] = t;
  return 0;
}

/* ---- weight files ---------------------------------------------------------------------------- */

static int open_blob_file(exec_consts *c, const char *ref, const char *where, mil_blob_file **out,
                          mr_error *err) {
  char *path;
  int rc = mil_blob_path_resolve(c->model_dir, ref, &path);
  if (rc == MR_EFORMAT)
    return util_err(err, MR_EFORMAT, "%s: weight path \"%s\" must stay inside the model folder", where, ref);
  if (rc) return util_err_nomem(err, ref);
  for (int i = 0; i < c->n_files; i++) {
    if (!strcmp(c->files[i].path, path)) {
      mr_free(path);
      *out = &c->files[i];
      return MR_OK;
    }
  }
  mil_blob_file *nf = mr_realloc(c->files, (size_t)(c->n_files + 1) * sizeof *nf);
  if (!nf) {
    mr_free(path);
    return util_err_nomem(err, ref);
  }
  c->files = nf;
  rc = mil_blob_open(&c->files[c->n_files], path, err);
  mr_free(path);
  if (rc) return rc;
  *out = &c->files[c->n_files++];
  return MR_OK;
}

/* A packed tensor over raw blob bytes. */
static exec_tensor *packed_tensor(exec_consts *c, mil_dtype dtype, int rank, const int64_t *shape,
                                  exec_packed_kind kind, const uint8_t *data, int bits, int is_signed) {
  exec_tensor *t = new_tensor(c, dtype, rank, shape);
  exec_packed *p = util_arena_alloc(&c->arena, sizeof *p);
  if (!t || !p) return NULL;
  p->kind = kind;
  p->data = data;
  p->bits = bits;
  p->is_signed = is_signed;
  p->n_groups = 1;
  p->vec = 1;
  t->storage = EXEC_PACKED;
  t->packed = p;
  return t;
}

static int blob_tensor(exec_consts *c, const mil_value *v, const char *where, exec_tensor **out,
                       mr_error *err) {
  const mil_type *ty = v->type;
  int64_t count = mil_type_count(ty);
  if (ty->kind != MIL_TYPE_TENSOR || count < 0 || ty->rank > MR_MAX_RANK)
    return util_err(err, MR_EFORMAT, "%s: a BLOBFILE value needs a tensor type of known shape and rank <= %d",
                    where, MR_MAX_RANK);
  mil_blob_file *f = NULL;
  int rc = open_blob_file(c, v->blob_path, where, &f, err);
  if (rc) return rc;
  /* The same blob may be declared with different shapes ([O, I] by a linear, [O, I, 1, 1] by a
   * conv): the shape is part of the key. */
  char sig[1400];
  int len = snprintf(sig, sizeof sig, "B|%s|%llu|%d|", f->path, (unsigned long long)v->blob_offset, (int)ty->dtype);
  for (int d = 0; d < ty->rank && len > 0 && (size_t)len < sizeof sig - 24; d++)
    len += snprintf(sig + len, sizeof sig - (size_t)len, "%lld,", (long long)ty->dims[d]);
  if (cache_get(c, sig, out)) return MR_OK;
  mil_blob blob;
  rc = mil_blob_get(f, v->blob_offset, ty->dtype, count, &blob, err);
  if (rc) return util_err_prefix(err, "%s", where);
  if (!util_strmap_get(&c->blob_seen, sig, strlen(sig), NULL)) {
    char *key = util_arena_strndup(&c->arena, sig, strlen(sig));
    if (!key || util_strmap_put(&c->blob_seen, key, strlen(key), 1)) return util_err_nomem(err, where);
    c->mapped_bytes += blob.size;
  }
  exec_tensor *t = NULL;
  int bits = mil_dtype_bits(ty->dtype);
  switch (ty->dtype) {
  case MIL_FP16:
    t = packed_tensor(c, ty->dtype, ty->rank, ty->dims, EXEC_PACK_F16, blob.data, 16, 0);
    break;
  case MIL_BF16:
    t = packed_tensor(c, ty->dtype, ty->rank, ty->dims, EXEC_PACK_BF16, blob.data, 16, 0);
    break;
  case MIL_FP32:
    /* Used in place: the mapping is read-only and ops never write their inputs. */
    t = new_tensor(c, ty->dtype, ty->rank, ty->dims);
    if (t) t->data = (void *)blob.data;
    break;
  case MIL_INT16: case MIL_UINT16: case MIL_INT32: case MIL_UINT32:
    t = new_tensor(c, ty->dtype, ty->rank, ty->dims);
    if (t && !alloc_dense(c, t)) {
      for (int64_t i = 0; i < count; i++) {
        const uint8_t *s = blob.data + i * (bits / 8);
        uint32_t u = bits == 16 ? (uint32_t)(s[0] | s[1] << 8) : (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
        int32_t x = ty->dtype == MIL_INT16 ? (int16_t)u : (int32_t)u;
        exec_i32(t)[i] = x;
      }
    } else {
      t = NULL;
    }
    break;
  default:
    if (bits <= 8 && bits >= 1 && ty->dtype != MIL_FP8E4M3FN && ty->dtype != MIL_FP8E5M2) {
      int is_signed = ty->dtype == MIL_INT8 || ty->dtype == MIL_INT4;
      t = packed_tensor(c, ty->dtype, ty->rank, ty->dims, EXEC_PACK_INT, blob.data, bits, is_signed);
      break;
    }
    return util_err(err, MR_ENOTSUP, "%s: weights of dtype %s are not supported", where, mil_dtype_name(ty->dtype));
  }
  if (!t) return util_err_nomem(err, where);
  /* Small fp16 constants are expanded: they are biases and scalars that elementwise ops read. */
  if (t->storage == EXEC_PACKED && t->packed->kind == EXEC_PACK_F16 && count < PACK_MIN_ELEMENTS) {
    exec_tensor *d;
    rc = exec_const_dense(c, t, &d, err);
    if (rc) return rc;
    t = d;
  }
  if (cache_put(c, sig, t)) return util_err_nomem(err, where);
  *out = t;
  return MR_OK;
}

static int literal_tensor(exec_consts *c, const mil_value *v, const char *where, exec_tensor **out,
                          mr_error *err) {
  const mil_type *ty = v->type;
  if (ty->kind != MIL_TYPE_TENSOR || ty->rank > MR_MAX_RANK)
    return util_err(err, MR_ENOTSUP, "%s: only tensor constants can be op inputs", where);
  int64_t count = mil_type_count(ty);
  if (count < 0) count = v->count;
  int64_t shape1[1] = {v->count};
  exec_tensor *t = count == v->count && mil_type_count(ty) >= 0
                       ? new_tensor(c, ty->dtype, ty->rank, ty->dims)
                       : new_tensor(c, ty->dtype, 1, shape1);
  if (!t) return util_err_nomem(err, where);
  if (t->storage == EXEC_STR) {
    if (v->count != 1 || !v->strs)
      return util_err(err, MR_ENOTSUP, "%s: string tensors with %lld elements are not supported", where,
                      (long long)v->count);
    t->str = v->strs[0];
    *out = t;
    return MR_OK;
  }
  if (alloc_dense(c, t)) return util_err_nomem(err, where);
  for (int64_t i = 0; i < t->count; i++) {
    double x = v->nums ? v->nums[i] : 0.0;
    if (t->storage == EXEC_F32) exec_f32(t)[i] = ty->dtype == MIL_FP16 ? util_round_f16((float)x) : (float)x;
    else if (t->storage == EXEC_U8) exec_u8(t)[i] = x != 0.0;
    else exec_i32(t)[i] = (x >= 2147483647.0) ? INT32_MAX : (x <= -2147483648.0) ? INT32_MIN : (int32_t)x;
  }
  *out = t;
  return MR_OK;
}

int exec_const_value(exec_consts *c, const mil_value *v, const char *where, exec_tensor **out,
                     mr_error *err) {
  switch (v->kind) {
  case MIL_VALUE_BLOB: return blob_tensor(c, v, where, out, err);
  case MIL_VALUE_TENSOR: return literal_tensor(c, v, where, out, err);
  default: return util_err(err, MR_ENOTSUP, "%s: list, tuple and dict constants cannot be op inputs", where);
  }
}

int exec_const_dense(exec_consts *c, exec_tensor *t, exec_tensor **out, mr_error *err) {
  if (t->storage != EXEC_PACKED) {
    *out = t;
    return MR_OK;
  }
  char sig[64];
  snprintf(sig, sizeof sig, "D|%p", (void *)t);
  if (cache_get(c, sig, out)) return MR_OK;
  exec_tensor *d = new_tensor(c, t->dtype, t->rank, t->shape);
  if (!d || alloc_dense(c, d)) return util_err_nomem(err, "expanded weight");
  if (d->storage == EXEC_F32) {
    exec_packed_read(t, 0, t->count, exec_f32(d));
  } else {
    for (int64_t i = 0; i < t->count; i++) {
      int32_t x;
      if (t->packed->kind == EXEC_PACK_INT && !t->packed->scale) {
        x = exec_packed_int(t->packed, i);
      } else { /* integer palettes or scaled integers: decode one value */
        float f;
        exec_packed_read(t, i, 1, &f);
        x = (int32_t)f;
      }
      if (d->storage == EXEC_I32) exec_i32(d)[i] = x;
      else exec_u8(d)[i] = x != 0;
    }
  }
  if (cache_put(c, sig, d)) return util_err_nomem(err, "expanded weight");
  *out = d;
  return MR_OK;
}
