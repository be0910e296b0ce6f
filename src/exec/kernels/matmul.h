/* matmul.h — the fp32 inner loops of linear, matmul and 1x1 conv (docs/style.md §12). Each kernel has
 * a plain scalar reference twin; exec_kernel_use_ref(1) routes every call to the twins so a test
 * (tests/test_exec_ops_kernels.c) can compare the two. Kernels never allocate and never fail. */
#ifndef EXEC_KERNELS_MATMUL_H
#define EXEC_KERNELS_MATMUL_H

#include <stdint.h>

#include "exec/tensor.h"

/* Select the scalar reference twins (1) or the unrolled kernels (0, default). Not thread-safe. */
void exec_kernel_use_ref(int on);

/* sum_i a[i] * b[i] */
float exec_kernel_dot(const float *a, const float *b, int64_t n);
/* y[i] += alpha * x[i] */
void exec_kernel_axpy(float alpha, const float *x, float *y, int64_t n);
/* One weight row against m activation rows: out[r * out_stride] = dot(w, x + r * x_stride, k).
 * This is linear/1x1-conv with the weight row decoded once and reused for every row of x. */
void exec_kernel_dot_rows(const float *w, const float *x, int64_t m, int64_t k, int64_t x_stride,
                          float *out, int64_t out_stride);
/* c[m, n] += sum_k a[m, k] * b[k, n] with a (m, k) row stride lda, b (k, n) row stride ldb,
 * c (m, n) row stride ldc, every row contiguous (the table's micro-kernel, kernels.h). */
void exec_kernel_gemm_nn(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                         int64_t ldb, float *c, int64_t ldc);

/* n little-endian IEEE halves to float (exact, incl. subnormals, inf, NaN). */
void exec_kernel_f16_to_f32(const uint8_t *src, int64_t n, float *dst);
/* exec_tensor_read_f32 (packed fp16 and LUT weights decode through the kernel table). */
void exec_kernel_read(const exec_tensor *t, int64_t start, int64_t n, float *dst);

#endif
