/* weights.c — decoding packed constant weights (being written). */
#include "exec/weights.h"

#include <string.h>

void exec_packed_read(const exec_tensor *t, int64_t start, int64_t n, float *dst) {
  (void)t; (void)start;
  memset(dst, 0, (size_t)n * sizeof(float));
}
