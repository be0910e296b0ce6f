/* portable.c — the kernel table in plain C11, for any CPU (and the fallback of the SIMD tables for
 * what they do not specialise). Loops keep eight independent lanes so compilers vectorise them
 * without -ffast-math; palettes are widened to fp32 once per call (rows sharing a palette). */
#include "exec/kernels/kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <string.h>

#include "util/fp16.h"

#define LANES 8

/* Little-endian IEEE half at p (byte order of the weight file, whatever the host's) to float.
 * Shifting exponent and mantissa into place and multiplying by 2^112 rebases the exponent and
 * normalises subnormals exactly; inf/NaN only need the exponent forced to all ones. */
static inline float half_at(const uint8_t *p) {
  uint32_t h = (uint32_t)p[0] | (uint32_t)p[1] << 8, em = h & 0x7fffu, bits = em << 13;
  float f;
  memcpy(&f, &bits, 4);
  f *= 0x1p112f;
  memcpy(&bits, &f, 4);
  bits |= em >= 0x7c00u ? 0x7f800000u : 0;
  bits |= (h & 0x8000u) << 16;
  memcpy(&f, &bits, 4);
  return f;
}

static void f16_decode(const uint8_t *src, int64_t n, float *dst) {
  for (int64_t i = 0; i < n; i++) dst[i] = half_at(src + 2 * i);
}

static void palette_f32(const uint16_t *pal, int n, float *out) { f16_decode((const uint8_t *)pal, n, out); }

static void lut8_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  float p[256];
  palette_f32(pal, 256, p);
  for (int64_t i = 0; i < n; i++) dst[i] = p[idx[i]];
}

static void lut4_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  float p[16];
  palette_f32(pal, 16, p);
  for (int64_t i = 0; i < n; i++) dst[i] = p[(idx[i / 2] >> (4 * (i & 1))) & 15];
}

/* The dot product of one row, its element i given by LOAD(i); eight lanes, then the tail. */
#define ROW_DOT(LOAD, x, n, out)                                                                   \
  do {                                                                                             \
    float acc_[LANES] = {0}, s_ = 0;                                                               \
    int64_t i_ = 0;                                                                                \
    for (; i_ + LANES <= (n); i_ += LANES)                                                         \
      for (int l_ = 0; l_ < LANES; l_++) acc_[l_] += LOAD(i_ + l_) * (x)[i_ + l_];                 \
    for (; i_ < (n); i_++) s_ += LOAD(i_) * (x)[i_];                                               \
    for (int l_ = 0; l_ < LANES; l_++) s_ += acc_[l_];                                             \
    (out) = s_;                                                                                    \
  } while (0)

static void f32_gemv(const float *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  for (int64_t r = 0; r < rows; r++) {
    const float *row = w + r * ld;
#define F32_AT(i) row[i]
    ROW_DOT(F32_AT, x, n, y[r]);
#undef F32_AT
  }
}

static void f16_gemv(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
#define F16_AT(i) half_at(row + 2 * (i))
    ROW_DOT(F16_AT, x, n, y[r]);
#undef F16_AT
  }
}

static void lut8_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                      float *y) {
  float p[256];
  palette_f32(pal, 256, p);
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
#define LUT8_AT(i) p[row[i]]
    ROW_DOT(LUT8_AT, x, n, y[r]);
#undef LUT8_AT
  }
}

static void lut4_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                      float *y) {
  float p[16];
  palette_f32(pal, 16, p);
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
#define LUT4_AT(i) p[(row[(i) / 2] >> (4 * ((i) & 1))) & 15]
    ROW_DOT(LUT4_AT, x, n, y[r]);
#undef LUT4_AT
  }
}

/* Four weight rows by LANES positions per step: each x element is loaded once for four rows. */
static void gemm(const float *w, int64_t ldw, int64_t nw, const float *x, int64_t ldx, int64_t ns, int64_t k,
                 float *y, int64_t ldy) {
  for (int64_t r0 = 0; r0 < nw; r0 += 4) {
    int nr = nw - r0 < 4 ? (int)(nw - r0) : 4;
    const float *wr[4];
    for (int i = 0; i < 4; i++) wr[i] = w + (r0 + (i < nr ? i : nr - 1)) * ldw;
    for (int64_t s0 = 0; s0 < ns; s0 += LANES) {
      int nl = ns - s0 < LANES ? (int)(ns - s0) : LANES;
      float acc[4][LANES] = {{0}};
      if (nl == LANES) {
        for (int64_t c = 0; c < k; c++) {
          const float *xc = x + c * ldx + s0;
          for (int i = 0; i < 4; i++)
            for (int l = 0; l < LANES; l++) acc[i][l] += wr[i][c] * xc[l];
        }
      } else {
        for (int64_t c = 0; c < k; c++)
          for (int i = 0; i < 4; i++)
            for (int l = 0; l < nl; l++) acc[i][l] += wr[i][c] * x[c * ldx + s0 + l];
      }
      for (int i = 0; i < nr; i++)
        for (int l = 0; l < nl; l++) y[(r0 + i) * ldy + s0 + l] += acc[i][l];
    }
  }
}

static void round_f16(float *x, int64_t n) { util_round_f16_array(x, n); }

static void softmax(const float *x, float *y, int64_t n) {
  float mx = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  for (int64_t i = 0; i < n; i++) sum += (y[i] = expf(x[i] - mx));
  float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; i++) y[i] *= inv;
}

static void silu(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * (1.0f / (1.0f + expf(-x[i])));
}

static void layer_norm(const float *x, int64_t n, float eps, const float *gamma, const float *beta, float *y) {
  double acc[LANES] = {0}, mean = 0, var = 0;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += x[i + l];
  for (; i < n; i++) mean += x[i];
  for (int l = 0; l < LANES; l++) mean += acc[l], acc[l] = 0;
  mean /= (double)(n ? n : 1);
  for (i = 0; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += (x[i + l] - mean) * (x[i + l] - mean);
  for (; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
  for (int l = 0; l < LANES; l++) var += acc[l];
  double inv = 1.0 / sqrt(var / (double)(n ? n : 1) + eps);
  for (i = 0; i < n; i++) {
    double v = (x[i] - mean) * inv;
    if (gamma) v *= gamma[i];
    if (beta) v += beta[i];
    y[i] = (float)v;
  }
}

#define BIN_LOOPS(OP)                                                                              \
  do {                                                                                             \
    if (sa && sb)                                                                                  \
      for (int64_t i = 0; i < n; i++) o[i] = a[i] OP b[i];                                         \
    else if (sa)                                                                                   \
      for (int64_t i = 0; i < n; i++) o[i] = a[i] OP b[0];                                         \
    else if (sb)                                                                                   \
      for (int64_t i = 0; i < n; i++) o[i] = a[0] OP b[i];                                         \
    else                                                                                           \
      for (int64_t i = 0; i < n; i++) o[i] = a[0] OP b[0];                                         \
  } while (0)

static void binary(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {
  switch (op) {
  case EXEC_BIN_ADD: BIN_LOOPS(+); break;
  case EXEC_BIN_SUB: BIN_LOOPS(-); break;
  case EXEC_BIN_MUL: BIN_LOOPS(*); break;
  case EXEC_BIN_DIV: BIN_LOOPS(/); break;
  default: break;
  }
}

static void f16_gemv_t(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < n; j++) y[j] += x[r] * half_at(w + r * ld + 2 * j);
}

static void f16_encode(const float *src, int64_t n, uint8_t *dst) {
  for (int64_t i = 0; i < n; i++) {
    uint16_t h = util_f32_to_f16(src[i]);
    dst[2 * i] = (uint8_t)h, dst[2 * i + 1] = (uint8_t)(h >> 8);
  }
}

static const exec_kernel_table table = {
  "portable", f32_gemv, f16_gemv, f16_gemv_t, lut8_gemv, lut4_gemv, f16_decode, lut8_decode, lut4_decode, gemm, round_f16,
  NULL, NULL, NULL, /* no integer LUT products */
  softmax, silu, layer_norm, binary,
  NULL, NULL, /* no integer prefill products */
  f16_encode,
};

const exec_kernel_table *exec_kernels_portable(void) { return &table; }
