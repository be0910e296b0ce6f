/* weights.h — constant weights kept packed after load (ARCHITECTURE.md: never a full fp32 copy).
 * A packed tensor is decoded on the fly by the kernels, a row or a range at a time. */
#ifndef EXEC_WEIGHTS_H
#define EXEC_WEIGHTS_H

#include <stdint.h>

#include "exec/tensor.h"

typedef enum exec_packed_kind {
  EXEC_PACK_F16,    /* fp16 values (usually in the mapped weight file) */
  EXEC_PACK_BF16,   /* bf16 values */
  EXEC_PACK_INT,    /* n-bit integers (1..8 bits, LSB-first), optionally (q - zero[g]) * scale[g] */
  EXEC_PACK_LUT     /* n-bit indices into per-group palettes of fp32 entries */
} exec_packed_kind;

struct exec_packed {
  exec_packed_kind kind;
  const uint8_t *data;  /* values or packed fields (LSB-first bit stream, mil-format.md §3.5) */
  int bits;             /* INT, LUT: field width, 1..8 */
  int is_signed;        /* INT: two's complement fields */
  /* Grouping of LUT palettes and INT scales: the element at coordinates p (of the indices/data
   * tensor) belongs to group g = sum_j (p_j / block[j]) * gstride[j]. n_groups == 1: no grouping.
   * rows_only: only dim 0 is grouped, so a whole row shares one group. */
  int64_t block[MR_MAX_RANK];
  int64_t gstride[MR_MAX_RANK];
  int64_t n_groups;
  int rows_only;
  /* LUT: palettes[(g * palette + index) * vec + v]. vec > 1: vector palettization along
   * vector_axis; the indices tensor then has shape[vector_axis] / vec entries on that axis. */
  const float *palettes;
  int palette;
  int vec;
  int vector_axis;
  /* INT: per-group scale and zero point (NULL: raw integer values) */
  const float *scale;
  const float *zero;
};

/* Decode elements [start, start + n) of t (row-major) into dst. */
void exec_packed_read(const exec_tensor *t, int64_t start, int64_t n, float *dst);
/* When row `row` of t (rows along dim 0) is 8-bit LUT indices into one palette, return that palette
 * and set *idx to the row's indices; else NULL. Lets kernels fuse the lookup into their loop. */
const float *exec_packed_lut8_row(const exec_tensor *t, int64_t row, const uint8_t **idx);
/* Integer field i of a packed INT tensor (raw, before scale). */
int32_t exec_packed_int(const exec_packed *p, int64_t i);
/* Fill block/gstride/n_groups/rows_only for a tensor of `shape` grouped into `groups` (per dim,
 * each dividing shape). Returns -1 if a group count does not divide its dim. */
int exec_packed_set_groups(exec_packed *p, int rank, const int64_t *shape, const int64_t *groups);

#endif
