/* tensor.h — the executor's tensors. Every value an op sees is one of these.
 *
 * Storage is chosen for computing in fp32 (docs/formats.md §4.0, docs/architecture.md §7): values declared fp16/fp32/bf16/fp64
 * are stored as float (fp16 values rounded to fp16 after each op by the executor); all integer
 * dtypes as int32_t; bool as uint8_t (0/1); strings as one char* (rank-0 const params only).
 * Large constant weights stay packed (fp16 in the mapped file, LUT indices + palettes, int8 + scale)
 * as EXEC_PACKED and are read through exec_tensor_read_f32; only ops whose table entry allows a
 * packed parameter ever see one. */
#ifndef EXEC_TENSOR_H
#define EXEC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "mil/ir.h"
#include "milrun.h"

typedef enum exec_storage {
  EXEC_F32,    /* float data[count] */
  EXEC_I32,    /* int32_t data[count] */
  EXEC_U8,     /* uint8_t data[count] (bool) */
  EXEC_STR,    /* const char *str (rank 0) */
  EXEC_PACKED, /* const weight in packed form: see packed */
  EXEC_F16     /* uint16_t data[count]: an fp16 state's own buffer, seen only by the ops the planner
                  lets read it in place (plan.c, alias_states) */
} exec_storage;

typedef struct exec_packed exec_packed; /* weights.h */

typedef struct exec_tensor {
  mil_dtype dtype;              /* declared element type */
  exec_storage storage;
  int rank;
  int64_t shape[MR_MAX_RANK];
  int64_t count;                /* product of shape (1 for rank 0) */
  void *data;                   /* EXEC_F32/I32/U8 */
  const char *str;              /* EXEC_STR */
  const exec_packed *packed;    /* EXEC_PACKED */
  int is_const;                 /* known at load time (const/constexpr/literal) */
} exec_tensor;

static inline float *exec_f32(const exec_tensor *t) { return (float *)t->data; }
static inline int32_t *exec_i32(const exec_tensor *t) { return (int32_t *)t->data; }
static inline uint8_t *exec_u8(const exec_tensor *t) { return (uint8_t *)t->data; }
static inline uint16_t *exec_f16(const exec_tensor *t) { return (uint16_t *)t->data; }

/* The storage used for a declared dtype (float -> F32, integers -> I32, bool -> U8, string -> STR). */
exec_storage exec_storage_for(mil_dtype t);
size_t exec_storage_size(exec_storage s); /* bytes per element (0 for STR/PACKED) */

/* Set rank/shape/count; returns -1 if the count overflows. */
int exec_tensor_set_shape(exec_tensor *t, int rank, const int64_t *shape);
int exec_shape_equal(const exec_tensor *a, int rank, const int64_t *shape);
/* "[1, 64, 1, 8]" into buf. */
char *exec_shape_str(int rank, const int64_t *shape, char *buf, size_t size);

/* Read elements [start, start + n) (row-major) of any numeric tensor as float: F32 copies, I32/U8
 * convert, PACKED decodes (fp16, LUT, affine, ...). The caller guarantees the range is inside. */
void exec_tensor_read_f32(const exec_tensor *t, int64_t start, int64_t n, float *dst);

/* Packed weights addressed as a matrix: row r (of `rows` = shape[0]) holds count/shape[0] elements.
 * Decode one row into dst (fp32). Cheap for every packed kind. */
void exec_tensor_read_row_f32(const exec_tensor *t, int64_t row, float *dst);

#endif
