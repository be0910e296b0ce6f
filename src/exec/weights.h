/* weights.h — constant weights kept packed after load (docs/architecture.md §7: never a full fp32 copy).
 * A packed tensor is decoded on the fly by the kernels, a row or a range at a time. */
#ifndef EXEC_WEIGHTS_H
#define EXEC_WEIGHTS_H

#include <stdint.h>

#include "exec/tensor.h"

typedef enum exec_packed_kind {
  EXEC_PACK_F16,    /* fp16 values (usually in the mapped weight file) */
  EXEC_PACK_BF16,   /* bf16 values */
  EXEC_PACK_INT,    /* n-bit integers (1..8 bits, LSB-first), optionally (q - zero[g]) * scale[g] */
  EXEC_PACK_LUT     /* n-bit indices into per-group palettes (fp16 entries, or fp32 when not fp16-exact) */
} exec_packed_kind;

struct exec_packed {
  exec_packed_kind kind;
  const uint8_t *data;  /* values or packed fields (LSB-first bit stream, docs/formats.md §3.5) */
  int bits;             /* INT, LUT: field width, 1..8 */
  int is_signed;        /* INT: two's complement fields */
  /* Grouping of LUT palettes and INT scales: the element at coordinates p (of the indices/data
   * tensor) belongs to group g = sum_j (p_j / block[j]) * gstride[j]. n_groups == 1: no grouping.
   * rows_only: only dim 0 is grouped, so a whole row shares one group. */
  int64_t block[MR_MAX_RANK];
  int64_t gstride[MR_MAX_RANK];
  int64_t n_groups;
  int rows_only;
  /* LUT: entry (g * palette + index) * vec + v of pal16 (fp16, usually the mapped file's own
   * table) or, when NULL, of palettes (fp32). vec > 1: vector palettization along vector_axis;
   * the indices tensor then has shape[vector_axis] / vec entries on that axis. */
  const uint16_t *pal16;
  const float *palettes;
  /* LUT with 4- or 8-bit indices and fp16 palettes, when the kernels have integer products: each
   * group's palette as exec_palq_make makes it (2 * palette bytes) and its scale; else NULL. */
  const uint8_t *palq;
  const float *palq_scale;
  int palette;
  int vec;
  int vector_axis;
  /* INT: per-group scale and zero point (NULL: raw integer values) */
  const float *scale;
  const float *zero;
};

/* Decode elements [start, start + n) of t (row-major) into dst. */
void exec_packed_read(const exec_tensor *t, int64_t start, int64_t n, float *dst);
/* LUT palette entry i (flat, as in pal16/palettes) as float. */
float exec_packed_pal(const exec_packed *p, size_t i);

/* A weight seen as a matrix [shape[0], rest] in a form the kernels (kernels/kernels.h) read
 * directly: fp32, fp16, or LUT indices (rows starting on a byte) into fp16 palettes shared by
 * runs of group_rows rows. */
typedef enum exec_wmat_kind { EXEC_WMAT_F32, EXEC_WMAT_F16, EXEC_WMAT_LUT } exec_wmat_kind;
typedef struct exec_wmat {
  exec_wmat_kind kind;
  int bits;               /* LUT index width */
  const float *f32;       /* F32: row r at f32 + r * cols */
  const uint8_t *data;    /* F16, LUT: row r at data + r * ld */
  int64_t rows, cols, ld; /* ld in bytes */
  const uint16_t *pal;    /* LUT: palette g (1 << bits entries) serves rows [g, g + 1) * group_rows */
  const uint8_t *palq;    /* LUT: their integer copies (exec_packed.palq), or NULL */
  const float *palq_scale;
  int64_t group_rows;
} exec_wmat;

/* Fill *m for t and return 1, or return 0 when t has no such form (bf16, scaled integers, vector
 * or column-grouped palettes, fp32 palettes): callers then decode with exec_packed_read. */
int exec_wmat_of(const exec_tensor *t, exec_wmat *m);
/* Integer field i of a packed INT tensor (raw, before scale). */
int32_t exec_packed_int(const exec_packed *p, int64_t i);
/* Fill block/gstride/n_groups/rows_only for a tensor of `shape` grouped into `groups` (per dim,
 * each dividing shape). Returns -1 if a group count does not divide its dim. */
int exec_packed_set_groups(exec_packed *p, int rank, const int64_t *shape, const int64_t *groups);

#endif
