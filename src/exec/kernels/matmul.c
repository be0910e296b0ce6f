/* matmul.c — unrolled fp32 dot/axpy loops, the entry to the table's prefill micro-kernel, and
 * their scalar reference twins. The unrolled
 * versions keep independent accumulators so the compiler can vectorise without -ffast-math (a
 * single running sum is a serial dependency chain). Summation order differs from the twins, so
 * results agree to rounding, not bit for bit. */
#include "exec/kernels/matmul.h"

/* The loops below are written for the auto-vectoriser. gcc's -O2 (the default build) uses its
 * "very cheap" vectoriser cost model, which leaves the fp16 decode and the lane loops scalar;
 * raise this one file to -O3 on gcc. Other compilers vectorise at -O2 and skip the pragma. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#pragma GCC optimize("O3")
#endif

#include <string.h>

#include "exec/kernels/kernels.h"
#include "util/fp16.h"

static int use_ref;

void exec_kernel_use_ref(int on) { use_ref = on != 0; }

static float dot_ref(const float *a, const float *b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Eight independent lanes: a shape both gcc and clang turn into SIMD multiply-adds at -O2. */
#define LANES 8

static float dot_fast(const float *a, const float *b, int64_t n) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
  float s = 0;
  for (; i < n; i++) s += a[i] * b[i];
  for (int l = 0; l < LANES; l++) s += acc[l];
  return s;
}

float exec_kernel_dot(const float *a, const float *b, int64_t n) {
  return use_ref ? dot_ref(a, b, n) : dot_fast(a, b, n);
}

static void axpy_ref(float alpha, const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

static void axpy_fast(float alpha, const float *restrict x, float *restrict y, int64_t n) {
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) y[i + l] += alpha * x[i + l];
  for (; i < n; i++) y[i] += alpha * x[i];
}

void exec_kernel_axpy(float alpha, const float *x, float *y, int64_t n) {
  if (use_ref || x == y) axpy_ref(alpha, x, y, n);
  else axpy_fast(alpha, x, y, n);
}

/* Four activation rows at once: each weight element is loaded once for four products. */
static void dot4(const float *w, const float *x, int64_t k, int64_t xs, float *out, int64_t os) {
  const float *x0 = x, *x1 = x + xs, *x2 = x + 2 * xs, *x3 = x + 3 * xs;
  float a0[LANES] = {0}, a1[LANES] = {0}, a2[LANES] = {0}, a3[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= k; i += LANES)
    for (int l = 0; l < LANES; l++) {
      float wv = w[i + l];
      a0[l] += wv * x0[i + l], a1[l] += wv * x1[i + l], a2[l] += wv * x2[i + l], a3[l] += wv * x3[i + l];
    }
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; i < k; i++) s0 += w[i] * x0[i], s1 += w[i] * x1[i], s2 += w[i] * x2[i], s3 += w[i] * x3[i];
  for (int l = 0; l < LANES; l++) s0 += a0[l], s1 += a1[l], s2 += a2[l], s3 += a3[l];
  out[0] = s0, out[os] = s1, out[2 * os] = s2, out[3 * os] = s3;
}

void exec_kernel_dot_rows(const float *w, const float *x, int64_t m, int64_t k, int64_t x_stride,
                          float *out, int64_t out_stride) {
  int64_t r = 0;
  if (use_ref) {
    for (; r < m; r++) out[r * out_stride] = dot_ref(w, x + r * x_stride, k);
    return;
  }
  for (; r + 4 <= m; r += 4) dot4(w, x + r * x_stride, k, x_stride, out + r * out_stride, out_stride);
  for (; r < m; r++) out[r * out_stride] = dot_fast(w, x + r * x_stride, k);
}

void exec_kernel_gemm_nn(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                         int64_t ldb, float *c, int64_t ldc) {
  if (!use_ref) {
    exec_kernels()->gemm(a, lda, m, b, ldb, n, k, c, ldc);
    return;
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t p = 0; p < k; p++) axpy_ref(a[i * lda + p], b + p * ldb, c + i * ldc, n);
}

void exec_kernel_f16_to_f32(const uint8_t *src, int64_t n, float *dst) {
  if (use_ref)
    for (int64_t i = 0; i < n; i++) dst[i] = util_f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
  else
    exec_kernels()->f16_decode(src, n, dst);
}

void exec_kernel_read(const exec_tensor *t, int64_t start, int64_t n, float *dst) {
  exec_tensor_read_f32(t, start, n, dst); /* packed weights go through the SIMD kernels (weights.c) */
}
