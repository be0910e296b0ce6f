/* arm_neon.c — the kernel table for AArch64 (Apple silicon, Graviton): NEON is part of the base
 * architecture, so no CPU check is needed. An 8-bit LUT row looks each byte plane of the palette
 * up with four chained 64-byte table lookups (tbl/tbx leave out-of-range lanes alone), a 4-bit row
 * with one 16-byte lookup; zip turns the planes back into halves and fcvtl widens them. Tails and
 * the prefill product use the portable table (which compilers vectorise for NEON). */
#include "exec/kernels/kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

/* 16 halves, given as low and high byte planes, to four float vectors in element order. */
static inline void halves_to_f32(uint8x16_t l, uint8x16_t h, float32x4_t f[4]) {
  float16x8_t a = vreinterpretq_f16_u8(vzip1q_u8(l, h)), b = vreinterpretq_f16_u8(vzip2q_u8(l, h));
  f[0] = vcvt_f32_f16(vget_low_f16(a)), f[1] = vcvt_high_f32_f16(a);
  f[2] = vcvt_f32_f16(vget_low_f16(b)), f[3] = vcvt_high_f32_f16(b);
}

typedef struct planes8 {
  uint8x16x4_t lo[4], hi[4]; /* entries 64q..64q+63 of each byte plane */
} planes8;

static void planes8_make(const uint16_t *pal, planes8 *p) {
  const uint8_t *b = (const uint8_t *)pal;
  for (int q = 0; q < 4; q++)
    for (int j = 0; j < 4; j++) {
      uint8x16x2_t d = vld2q_u8(b + 128 * q + 32 * j); /* even bytes: low, odd: high */
      p->lo[q].val[j] = d.val[0], p->hi[q].val[j] = d.val[1];
    }
}

static inline uint8x16_t look8(const uint8x16x4_t t[4], uint8x16_t v) {
  uint8x16_t r = vqtbl4q_u8(t[0], v);
  r = vqtbx4q_u8(r, t[1], vsubq_u8(v, vdupq_n_u8(64)));
  r = vqtbx4q_u8(r, t[2], vsubq_u8(v, vdupq_n_u8(128)));
  return vqtbx4q_u8(r, t[3], vsubq_u8(v, vdupq_n_u8(192)));
}

static inline void lut8_block(const planes8 *p, const uint8_t *idx, float32x4_t f[4]) {
  uint8x16_t v = vld1q_u8(idx);
  halves_to_f32(look8(p->lo, v), look8(p->hi, v), f);
}

static void planes4(const uint16_t *pal, uint8x16_t *lo, uint8x16_t *hi) {
  uint8x16x2_t d = vld2q_u8((const uint8_t *)pal);
  *lo = d.val[0], *hi = d.val[1];
}

/* 16 elements of a 4-bit row from 8 bytes: low nibble first. */
static inline void lut4_block(uint8x16_t lo, uint8x16_t hi, const uint8_t *idx, float32x4_t f[4]) {
  uint8x8_t b = vld1_u8(idx);
  uint8x8x2_t z = vzip_u8(vand_u8(b, vdup_n_u8(15)), vshr_n_u8(b, 4));
  uint8x16_t v = vcombine_u8(z.val[0], z.val[1]);
  halves_to_f32(vqtbl1q_u8(lo, v), vqtbl1q_u8(hi, v), f);
}

static inline void f16_block(const uint8_t *src, float32x4_t f[4]) {
  float16x8_t a = vreinterpretq_f16_u8(vld1q_u8(src)), b = vreinterpretq_f16_u8(vld1q_u8(src + 16));
  f[0] = vcvt_f32_f16(vget_low_f16(a)), f[1] = vcvt_high_f32_f16(a);
  f[2] = vcvt_f32_f16(vget_low_f16(b)), f[3] = vcvt_high_f32_f16(b);
}

static inline void fma_block(const float32x4_t f[4], const float *x, float32x4_t acc[4]) {
  for (int j = 0; j < 4; j++) acc[j] = vfmaq_f32(acc[j], f[j], vld1q_f32(x + 4 * j));
}

static inline void store_block(const float32x4_t f[4], float *dst) {
  for (int j = 0; j < 4; j++) vst1q_f32(dst + 4 * j, f[j]);
}

static inline float sum4(const float32x4_t acc[4]) {
  return vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
}

#define ZERO4 {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)}

static void lut8_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                      float *y) {
  planes8 p;
  planes8_make(pal, &p);
  int64_t body = n & ~(int64_t)15;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    float32x4_t acc[4] = ZERO4, f[4];
    for (int64_t i = 0; i < body; i += 16) {
      lut8_block(&p, row + i, f);
      fma_block(f, x + i, acc);
    }
    float t = 0;
    if (body < n) exec_kernels_portable()->lut8_gemv(pal, row + body, 0, 1, x + body, n - body, &t);
    y[r] = sum4(acc) + t;
  }
}

static void lut8_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  planes8 p;
  float32x4_t f[4];
  planes8_make(pal, &p);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    lut8_block(&p, idx + i, f);
    store_block(f, dst + i);
  }
  if (i < n) exec_kernels_portable()->lut8_decode(pal, idx + i, n - i, dst + i);
}

static void lut4_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                      float *y) {
  uint8x16_t lo, hi;
  planes4(pal, &lo, &hi);
  int64_t body = n & ~(int64_t)15;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    float32x4_t acc[4] = ZERO4, f[4];
    for (int64_t i = 0; i < body; i += 16) {
      lut4_block(lo, hi, row + i / 2, f);
      fma_block(f, x + i, acc);
    }
    float t = 0;
    if (body < n) exec_kernels_portable()->lut4_gemv(pal, row + body / 2, 0, 1, x + body, n - body, &t);
    y[r] = sum4(acc) + t;
  }
}

static void lut4_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  uint8x16_t lo, hi;
  float32x4_t f[4];
  planes4(pal, &lo, &hi);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    lut4_block(lo, hi, idx + i / 2, f);
    store_block(f, dst + i);
  }
  if (i < n) exec_kernels_portable()->lut4_decode(pal, idx + i / 2, n - i, dst + i);
}

static void f16_gemv(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  int64_t body = n & ~(int64_t)15;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    float32x4_t acc[4] = ZERO4, f[4];
    for (int64_t i = 0; i < body; i += 16) {
      f16_block(row + 2 * i, f);
      fma_block(f, x + i, acc);
    }
    float t = 0;
    if (body < n) exec_kernels_portable()->f16_gemv(row + 2 * body, 0, 1, x + body, n - body, &t);
    y[r] = sum4(acc) + t;
  }
}

static void f32_gemv(const float *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  int64_t body = n & ~(int64_t)15;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = w + r * ld;
    float32x4_t acc[4] = ZERO4, f[4];
    for (int64_t i = 0; i < body; i += 16) {
      for (int j = 0; j < 4; j++) f[j] = vld1q_f32(row + i + 4 * j);
      fma_block(f, x + i, acc);
    }
    float s = sum4(acc);
    for (int64_t i = body; i < n; i++) s += row[i] * x[i];
    y[r] = s;
  }
}

static void f16_decode(const uint8_t *src, int64_t n, float *dst) {
  float32x4_t f[4];
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    f16_block(src + 2 * i, f);
    store_block(f, dst + i);
  }
  if (i < n) exec_kernels_portable()->f16_decode(src + 2 * i, n - i, dst + i);
}

const exec_kernel_table *exec_kernels_neon(void) {
  static exec_kernel_table table = {
    "neon", f32_gemv, f16_gemv, NULL, lut8_gemv, lut4_gemv, f16_decode, lut8_decode, lut4_decode, NULL, NULL,
    NULL, NULL, NULL, /* no integer LUT products */
    NULL, NULL, NULL, NULL, /* row kernels: the portable ones, below */
    NULL, NULL,             /* no integer prefill products */
    NULL,                   /* f16_encode: the portable one, below */
  };
  table.gemm = exec_kernels_portable()->gemm;
  table.f16_gemv_t = exec_kernels_portable()->f16_gemv_t;
  table.round_f16 = exec_kernels_portable()->round_f16;
  table.softmax = exec_kernels_portable()->softmax;
  table.silu = exec_kernels_portable()->silu;
  table.layer_norm = exec_kernels_portable()->layer_norm;
  table.binary = exec_kernels_portable()->binary;
  table.f16_encode = exec_kernels_portable()->f16_encode;
  return &table;
}

#else
const exec_kernel_table *exec_kernels_neon(void) { return NULL; }
#endif
