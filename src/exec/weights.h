/* weights.h — constant weights kept packed after load (ARCHITECTURE.md: never a full fp32 copy).
 * A packed tensor is decoded on the fly by the kernels, a row or a range at a time. */
#ifndef EXEC_WEIGHTS_H
#define EXEC_WEIGHTS_H

#include <stdint.h>

#include "exec/tensor.h"

typedef enum exec_packed_kind {
  EXEC_PACK_F16,    /* fp16 values (usually in the mapped weight file) */
  EXEC_PACK_BF16,   /* bf16 values */
  EXEC_PACK_I8,     /* int8 or uint8 values, scaled: (q - zero[g]) * scale[g] */
  EXEC_PACK_LUT     /* n-bit indices into per-group palettes of fp32 entries */
} exec_packed_kind;

struct exec_packed {
  exec_packed_kind kind;
  const void *data;     /* values or packed indices (LSB-first bit stream, mil-format.md §3.5) */
  int bits;             /* LUT: index width (1..8); I8: 8 */
  int is_signed;        /* I8: int8 (1) or uint8 (0) */
  /* Grouping, shared by LUT palettes and I8 scales: the element at row-major coordinates p has
   * group g = sum_j (p_j / block[j]) * gstride[j]. With block[j] = shape[j] a dim is not grouped. */
  int rank;
  int64_t block[MR_MAX_RANK];
  int64_t gstride[MR_MAX_RANK];
  int64_t n_groups;
  /* LUT: palettes[g * palette * vec + index * vec + v]; vec > 1 for vector palettization along
   * vector_axis (the indices tensor then has shape[vector_axis] / vec entries on that axis). */
  const float *palettes;
  int palette;          /* 2^bits */
  int vec;
  int vector_axis;
  /* I8: per-group scale and zero point */
  const float *scale;
  const float *zero;
};

/* Decode elements [start, start + n) of t (row-major) into dst. */
void exec_packed_read(const exec_tensor *t, int64_t start, int64_t n, float *dst);

#endif
