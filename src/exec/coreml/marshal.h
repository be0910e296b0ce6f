/* marshal.h — MLMultiArrays over milrun's buffers and strided copies between them (marshal.c). */
#ifndef EXEC_COREML_MARSHAL_H
#define EXEC_COREML_MARSHAL_H

#include "exec/coreml/coreml.h"
#include "exec/coreml/objc.h"

/* MLMultiArrayDataType of a milrun dtype (-1: none, as for bool), and back (-1: not one milrun has). */
long cm_dtype(mr_dtype t);
int cm_dtype_from(long t, mr_dtype *out);
/* A new (+1) MLMultiArray over data, dense row-major; nil with *nserr set on failure. The buffer
 * stays milrun's: no deallocator. */
id cm_array_over(void *data, mr_dtype t, int rank, const int64_t *shape, id *nserr);
/* The numbers of an NSArray of NSNumbers (shape, strides) into out; their count, or -1 when there
 * are more than MR_MAX_RANK. */
int cm_dims(id nsarray, int64_t *out);

/* Memory of one array: data, element type, strides in elements. */
typedef struct cm_layout {
  void *data;
  mr_dtype dtype;
  int64_t strides[MR_MAX_RANK];
} cm_layout;
/* Copy shape's elements from src to dst, converting fp16 <-> fp32 where the dtypes differ. */
void cm_copy(const cm_layout *dst, const cm_layout *src, int rank, const int64_t *shape);
void cm_dense_strides(int rank, const int64_t *shape, int64_t *strides);
/* 1 when every element of shape under layout l lies within bytes. */
int cm_layout_fits(const cm_layout *l, int rank, const int64_t *shape, long bytes);

#endif
