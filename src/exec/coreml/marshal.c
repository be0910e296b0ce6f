/* marshal.c — milrun tensors to and from Core ML's MLMultiArrays: an array over a dense buffer, the
 * dims of an NSArray of NSNumbers, and strided copies with fp16/fp32 conversion (Core ML may hand
 * back arrays whose rows are padded, e.g. to 64 bytes for the Neural Engine). */
#include <string.h>

#include "exec/coreml/marshal.h"
#include "util/fp16.h"

long cm_dtype(mr_dtype t) {
  switch (t) {
  case MR_FLOAT16: return CM_FLOAT16;
  case MR_FLOAT32: return CM_FLOAT32;
  case MR_INT32: return CM_INT32;
  default: return -1;
  }
}

int cm_dtype_from(long t, mr_dtype *out) {
  switch (t) {
  case CM_FLOAT16: *out = MR_FLOAT16; return 0;
  case CM_FLOAT32: *out = MR_FLOAT32; return 0;
  case CM_INT32: *out = MR_INT32; return 0;
  default: return -1;
  }
}

id cm_array_over(void *data, mr_dtype t, int rank, const int64_t *shape, id *nserr) {
  id dims[MR_MAX_RANK], strides[MR_MAX_RANK];
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; d--) {
    dims[d] = oc_number(shape[d]);
    strides[d] = oc_number(stride);
    stride *= shape[d];
  }
  id a = oc_msg(oc_class("MLMultiArray"), "alloc");
  return OC_SEND(id, (id, SEL, void *, id, long, id, void *, id *), a,
                 "initWithDataPointer:shape:dataType:strides:deallocator:error:", data, oc_array(dims, (unsigned long)rank),
                 cm_dtype(t), oc_array(strides, (unsigned long)rank), NULL, nserr);
}

int cm_dims(id nsarray, int64_t *out) {
  long n = nsarray ? oc_msg_long(nsarray, "count") : -1;
  if (n < 0 || n > MR_MAX_RANK) return -1;
  for (long i = 0; i < n; i++) {
    id num = OC_SEND(id, (id, SEL, unsigned long), nsarray, "objectAtIndex:", (unsigned long)i);
    out[i] = ((long long (*)(id, SEL))OC_IMP(num, oc_sel("longLongValue")))(num, oc_sel("longLongValue"));
  }
  return (int)n;
}

static void copy_element(void *dst, mr_dtype dt, const void *src, mr_dtype st) {
  if (dt == st) {
    memcpy(dst, src, mr_dtype_size(dt));
  } else if (dt == MR_FLOAT32) { /* from fp16 */
    uint16_t h;
    memcpy(&h, src, 2);
    float f = util_f16_to_f32(h);
    memcpy(dst, &f, 4);
  } else { /* fp16 from fp32 */
    float f;
    memcpy(&f, src, 4);
    uint16_t h = util_f32_to_f16(f);
    memcpy(dst, &h, 2);
  }
}

void cm_copy(const cm_layout *dst, const cm_layout *src, int rank, const int64_t *shape) {
  int64_t idx[MR_MAX_RANK] = {0}, total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  size_t ds = mr_dtype_size(dst->dtype), ss = mr_dtype_size(src->dtype);
  for (int64_t n = 0; n < total; n++) {
    int64_t doff = 0, soff = 0;
    for (int d = 0; d < rank; d++) doff += idx[d] * dst->strides[d], soff += idx[d] * src->strides[d];
    copy_element((char *)dst->data + doff * (int64_t)ds, dst->dtype, (const char *)src->data + soff * (int64_t)ss, src->dtype);
    for (int d = rank - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
  }
}

void cm_dense_strides(int rank, const int64_t *shape, int64_t *strides) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) strides[d] = s, s *= shape[d];
}

int cm_layout_fits(const cm_layout *l, int rank, const int64_t *shape, long bytes) {
  int64_t last = 0;
  for (int d = 0; d < rank; d++) {
    if (shape[d] <= 0) return 1;
    if (l->strides[d] < 0) return 0;
    last += (shape[d] - 1) * l->strides[d];
  }
  return (last + 1) * (int64_t)mr_dtype_size(l->dtype) <= bytes;
}
