/* tensor.c — shapes, storage classes and element access for exec_tensor. */
#include "exec/tensor.h"

#include <stdio.h>
#include <string.h>

#include "exec/weights.h"
#include "util/fp16.h"

exec_storage exec_storage_for(mil_dtype t) {
  switch (t) {
  case MIL_FP16: case MIL_FP32: case MIL_FP64: case MIL_BF16: case MIL_FP8E4M3FN: case MIL_FP8E5M2:
    return EXEC_F32;
  case MIL_BOOL: return EXEC_U8;
  case MIL_STRING: return EXEC_STR;
  default: return EXEC_I32;
  }
}

size_t exec_storage_size(exec_storage s) {
  switch (s) {
  case EXEC_F32: case EXEC_I32: return 4;
  case EXEC_U8: return 1;
  case EXEC_F16: return 2;
  default: return 0;
  }
}

int exec_tensor_set_shape(exec_tensor *t, int rank, const int64_t *shape) {
  if (rank < 0 || rank > MR_MAX_RANK) return -1;
  int64_t count = 1;
  for (int i = 0; i < rank; i++) {
    if (shape[i] < 0 || (shape[i] > 0 && count > INT64_MAX / 16 / shape[i])) return -1;
    count *= shape[i];
    t->shape[i] = shape[i];
  }
  t->rank = rank;
  t->count = count;
  return 0;
}

int exec_shape_equal(const exec_tensor *a, int rank, const int64_t *shape) {
  if (a->rank != rank) return 0;
  for (int i = 0; i < rank; i++)
    if (a->shape[i] != shape[i]) return 0;
  return 1;
}

char *exec_shape_str(int rank, const int64_t *shape, char *buf, size_t size) {
  size_t n = 0;
  n += (size_t)snprintf(buf + n, size - n, "[");
  for (int i = 0; i < rank && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, shape[i] < 0 ? "%s?" : "%s%lld", i ? ", " : "",
                          (long long)shape[i]);
  if (n < size) snprintf(buf + n, size - n, "]");
  return buf;
}

void exec_tensor_read_f32(const exec_tensor *t, int64_t start, int64_t n, float *dst) {
  switch (t->storage) {
  case EXEC_F32: memcpy(dst, exec_f32(t) + start, (size_t)n * sizeof(float)); break;
  case EXEC_I32:
    for (int64_t i = 0; i < n; i++) dst[i] = (float)exec_i32(t)[start + i];
    break;
  case EXEC_U8:
    for (int64_t i = 0; i < n; i++) dst[i] = (float)exec_u8(t)[start + i];
    break;
  case EXEC_F16:
    for (int64_t i = 0; i < n; i++) dst[i] = util_f16_to_f32(exec_f16(t)[start + i]);
    break;
  case EXEC_PACKED: exec_packed_read(t, start, n, dst); break;
  case EXEC_STR: memset(dst, 0, (size_t)n * sizeof(float)); break;
  }
}

void exec_tensor_read_row_f32(const exec_tensor *t, int64_t row, float *dst) {
  int64_t cols = t->rank && t->shape[0] ? t->count / t->shape[0] : t->count;
  exec_tensor_read_f32(t, row * cols, cols, dst);
}
