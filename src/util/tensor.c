/* tensor.c — the public helpers for mr_tensor (milrun.h). */
#include "milrun.h"

const char *mr_dtype_name(mr_dtype dtype) {
  switch (dtype) {
  case MR_FLOAT32: return "fp32";
  case MR_FLOAT16: return "fp16";
  case MR_INT32: return "int32";
  case MR_BOOL: return "bool";
  default: return "?";
  }
}

size_t mr_dtype_size(mr_dtype dtype) {
  switch (dtype) {
  case MR_FLOAT32: case MR_INT32: return 4;
  case MR_FLOAT16: return 2;
  case MR_BOOL: return 1;
  default: return 0;
  }
}

int64_t mr_tensor_count(const mr_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->shape[i];
  return n;
}
