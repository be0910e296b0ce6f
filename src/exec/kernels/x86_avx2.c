/* x86_avx2.c — the kernel table for AVX2 + FMA + F16C CPUs (Haswell and later, Zen). AVX2 has no
 * 256-entry byte permute, so an 8-bit LUT row gathers from the palette widened to fp32 once per
 * call (rows sharing a palette); a 4-bit row looks its 16-entry palette up with vpshufb on byte
 * planes, then vcvtph2ps. Tails (n not a multiple of the block) go through the portable table. */
#include "exec/kernels/kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <math.h>

#define T256 __attribute__((target("avx2,fma,f16c")))
#define T256_INLINE static inline __attribute__((always_inline)) T256

T256_INLINE float hsum(__m256 a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

T256 static void palette_f32(const uint16_t *pal, int n, float *out) {
  for (int i = 0; i < n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(pal + i))));
}

/* 32 elements of a row as four vectors of 8 floats, in element order. */
T256_INLINE void lut8_block(const float *p, const uint8_t *idx, __m256 f[4]) {
  for (int j = 0; j < 4; j++)
    f[j] = _mm256_i32gather_ps(p, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(idx + 8 * j))), 4);
}

/* 32 elements of a 4-bit row: 16 bytes widened to words (low nibble in the low byte, high nibble
 * in the high byte) give one index byte per element; vpshufb per lane looks both planes up, and
 * unpacking L/H per 128-bit lane gives halves 0-7 | 16-23 and 8-15 | 24-31. */
T256_INLINE void lut4_block(__m256i lo, __m256i hi, const uint8_t *idx, __m256 f[4]) {
  __m256i w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)idx));
  __m256i v = _mm256_or_si256(_mm256_and_si256(w, _mm256_set1_epi16(0x000f)),
                              _mm256_and_si256(_mm256_slli_epi16(w, 4), _mm256_set1_epi16(0x0f00)));
  __m256i l = _mm256_shuffle_epi8(lo, v), h = _mm256_shuffle_epi8(hi, v);
  __m256i a = _mm256_unpacklo_epi8(l, h), b = _mm256_unpackhi_epi8(l, h);
  f[0] = _mm256_cvtph_ps(_mm256_castsi256_si128(a));
  f[1] = _mm256_cvtph_ps(_mm256_castsi256_si128(b));
  f[2] = _mm256_cvtph_ps(_mm256_extracti128_si256(a, 1));
  f[3] = _mm256_cvtph_ps(_mm256_extracti128_si256(b, 1));
}

T256_INLINE void planes4(const uint16_t *pal, __m256i *lo, __m256i *hi) {
  uint8_t l[16], h[16];
  for (int i = 0; i < 16; i++) {
    const uint8_t *b = (const uint8_t *)(pal + i);
    l[i] = b[0], h[i] = b[1];
  }
  *lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)l));
  *hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)h));
}

T256_INLINE void f16_block(const uint8_t *src, __m256 f[4]) {
  for (int j = 0; j < 4; j++) f[j] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 16 * j)));
}

T256_INLINE void fma_block(const __m256 f[4], const float *x, __m256 acc[4]) {
  for (int j = 0; j < 4; j++) acc[j] = _mm256_fmadd_ps(f[j], _mm256_loadu_ps(x + 8 * j), acc[j]);
}

T256_INLINE float sum4(const __m256 acc[4]) {
  return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

T256_INLINE void store_block(const __m256 f[4], float *dst) {
  for (int j = 0; j < 4; j++) _mm256_storeu_ps(dst + 8 * j, f[j]);
}

#define ZERO4 {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}

T256 static void lut8_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                           float *y) {
  float p[256];
  palette_f32(pal, 256, p);
  int64_t body = n & ~(int64_t)31;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    __m256 acc[4] = ZERO4, f[4];
    for (int64_t i = 0; i < body; i += 32) {
      lut8_block(p, row + i, f);
      fma_block(f, x + i, acc);
    }
    float s = sum4(acc);
    for (int64_t i = body; i < n; i++) s += p[row[i]] * x[i];
    y[r] = s;
  }
}

T256 static void lut8_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  float p[256];
  __m256 f[4];
  palette_f32(pal, 256, p);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    lut8_block(p, idx + i, f);
    store_block(f, dst + i);
  }
  for (; i < n; i++) dst[i] = p[idx[i]];
}

T256 static void lut4_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                           float *y) {
  __m256i lo, hi;
  planes4(pal, &lo, &hi);
  int64_t body = n & ~(int64_t)31;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, f[4];
    for (int64_t i = 0; i < body; i += 32) {
      lut4_block(lo, hi, row + i / 2, f);
      a0 = _mm256_fmadd_ps(f[0], _mm256_loadu_ps(x + i), a0);
      a1 = _mm256_fmadd_ps(f[1], _mm256_loadu_ps(x + i + 8), a1);
      a2 = _mm256_fmadd_ps(f[2], _mm256_loadu_ps(x + i + 16), a2);
      a3 = _mm256_fmadd_ps(f[3], _mm256_loadu_ps(x + i + 24), a3);
    }
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))), t = 0;
    if (body < n) exec_kernels_portable()->lut4_gemv(pal, row + body / 2, 0, 1, x + body, n - body, &t);
    y[r] = s + t;
  }
}

T256 static void lut4_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  __m256i lo, hi;
  __m256 f[4];
  planes4(pal, &lo, &hi);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    lut4_block(lo, hi, idx + i / 2, f);
    store_block(f, dst + i);
  }
  if (i < n) exec_kernels_portable()->lut4_decode(pal, idx + i / 2, n - i, dst + i);
}

/* Named accumulators: arrays of vectors passed to the inline helpers stayed in memory (a third of
 * the speed). The AVX-512 table uses it too (kernels.h). */
T256 void exec_x86_f16_gemv_256(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  int64_t body = n & ~(int64_t)31;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < body; i += 32) {
      const __m128i *h = (const __m128i *)(const void *)(row + 2 * i);
      a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(h)), _mm256_loadu_ps(x + i), a0);
      a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(h + 1)), _mm256_loadu_ps(x + i + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(h + 2)), _mm256_loadu_ps(x + i + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(h + 3)), _mm256_loadu_ps(x + i + 24), a3);
    }
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))), t = 0;
    if (body < n) exec_kernels_portable()->f16_gemv(row + 2 * body, 0, 1, x + body, n - body, &t);
    y[r] = s + t;
  }
}

T256 static void f32_gemv(const float *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  int64_t body = n & ~(int64_t)31;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = w + r * ld;
    __m256 acc[4] = ZERO4, f[4];
    for (int64_t i = 0; i < body; i += 32) {
      for (int j = 0; j < 4; j++) f[j] = _mm256_loadu_ps(row + i + 8 * j);
      fma_block(f, x + i, acc);
    }
    float s = sum4(acc);
    for (int64_t i = body; i < n; i++) s += row[i] * x[i];
    y[r] = s;
  }
}

T256 static void f16_decode(const uint8_t *src, int64_t n, float *dst) {
  __m256 f[4];
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    f16_block(src + 2 * i, f);
    store_block(f, dst + i);
  }
  if (i < n) exec_kernels_portable()->f16_decode(src + 2 * i, n - i, dst + i);
}

/* Four weight rows by two vectors of 8 positions: 8 accumulators, 2 loads of x and 4 broadcasts
 * of w per input channel. Partial position blocks load through a lane mask. */
T256 static void gemm(const float *w, int64_t ldw, int64_t nw, const float *x, int64_t ldx, int64_t ns, int64_t k,
                      float *y, int64_t ldy) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t r0 = 0; r0 < nw; r0 += 4) {
    int nr = nw - r0 < 4 ? (int)(nw - r0) : 4;
    const float *wr[4];
    for (int i = 0; i < 4; i++) wr[i] = w + (r0 + (i < nr ? i : nr - 1)) * ldw;
    for (int64_t s0 = 0; s0 < ns; s0 += 16) {
      int64_t rem = ns - s0;
      __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rem > 16 ? 16 : rem)), iota);
      __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rem > 16 ? 8 : rem - 8)), iota);
      __m256 a[4][2];
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) a[i][0] = a[i][1] = _mm256_setzero_ps();
      for (int64_t c = 0; c < k; c++) {
        const float *xc = x + c * ldx + s0;
        __m256 x0 = _mm256_maskload_ps(xc, m0), x1 = _mm256_maskload_ps(xc + 8, m1);
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
          __m256 b = _mm256_broadcast_ss(wr[i] + c);
          a[i][0] = _mm256_fmadd_ps(b, x0, a[i][0]);
          a[i][1] = _mm256_fmadd_ps(b, x1, a[i][1]);
        }
      }
      /* constant bounds: indexing a with a run-time row count would keep it in memory */
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        if (i >= nr) continue;
        float *yr = y + (r0 + i) * ldy + s0;
        _mm256_maskstore_ps(yr, m0, _mm256_add_ps(a[i][0], _mm256_maskload_ps(yr, m0)));
        _mm256_maskstore_ps(yr + 8, m1, _mm256_add_ps(a[i][1], _mm256_maskload_ps(yr + 8, m1)));
      }
    }
  }
}

/* F16C's conversion rounds to nearest even and overflows to inf, as util_f32_to_f16 does. */
T256 static void round_f16(float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
  exec_kernels_portable()->round_f16(x + i, n - i);
}

T256 static void f16_encode(const float *src, int64_t n, uint8_t *dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  exec_kernels_portable()->f16_encode(src + i, n - i, dst + 2 * i);
}

/* Columns in blocks of 32 held in four accumulators across all the rows; the last columns through
 * the portable table. */
T256 static void f16_gemv_t(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    __m256 a[4];
    for (int q = 0; q < 4; q++) a[q] = _mm256_loadu_ps(y + j + 8 * q);
    for (int64_t r = 0; r < rows; r++) {
      __m256 b = _mm256_set1_ps(x[r]), f[4];
      f16_block(w + r * ld + 2 * j, f);
      for (int q = 0; q < 4; q++) a[q] = _mm256_fmadd_ps(f[q], b, a[q]);
    }
    for (int q = 0; q < 4; q++) _mm256_storeu_ps(y + j + 8 * q, a[q]);
  }
  if (j < n) exec_kernels_portable()->f16_gemv_t(w + 2 * j, ld, rows, x, n - j, y + j);
}

/* exp(x) for 8 floats (kernels.h's EXP_* scheme), 2^n built in the exponent field as two factors
 * 2^(n/2) so that n = 128 stays finite. Below -87.34 (where exp leaves the normal range)
 * the result is 0, above 88.72 inf, NaN stays NaN. */
T256_INLINE __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654f), hi = _mm256_set1_ps(88.72283f), one = _mm256_set1_ps(1.0f);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(EXP_LOG2E)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
  __m256 p = _mm256_set1_ps(EXP_P0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P5));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, one));
  __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* The tail of a row (m < 8 values) through a padded vector. */
T256_INLINE __m256 load_tail(const float *x, int64_t m, float pad) {
  float b[8];
  for (int j = 0; j < 8; j++) b[j] = j < m ? x[j] : pad;
  return _mm256_loadu_ps(b);
}

T256_INLINE void store_tail(float *y, int64_t m, __m256 v) {
  float b[8];
  _mm256_storeu_ps(b, v);
  for (int j = 0; j < m; j++) y[j] = b[j];
}

T256_INLINE float hmax(__m256 a) {
  float b[8], m = -INFINITY;
  _mm256_storeu_ps(b, a);
  for (int j = 0; j < 8; j++) m = b[j] > m ? b[j] : m;
  return m;
}

T256 static void softmax(const float *x, float *y, int64_t n) {
  __m256 mv = _mm256_set1_ps(-INFINITY), sv = _mm256_setzero_ps();
  int64_t i = 0, t = n & ~(int64_t)7;
  for (; i < t; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
  float mx = hmax(mv);
  for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  __m256 m = _mm256_set1_ps(mx);
  for (i = 0; i < t; i += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
    _mm256_storeu_ps(y + i, e);
    sv = _mm256_add_ps(sv, e);
  }
  if (t < n) { /* padding of -inf adds exp(-inf) = 0 (or NaN when the max is -inf, as the row's) */
    __m256 e = exp8(_mm256_sub_ps(load_tail(x + t, n - t, -INFINITY), m));
    store_tail(y + t, n - t, e);
    sv = _mm256_add_ps(sv, e);
  }
  __m256 inv = _mm256_set1_ps(1.0f / hsum(sv));
  for (i = 0; i < t; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
  for (; i < n; i++) y[i] *= _mm256_cvtss_f32(inv);
}

T256_INLINE __m256 silu8(__m256 v) {
  __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_mul_ps(v, _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v)))));
}

T256 static void silu(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, silu8(_mm256_loadu_ps(x + i)));
  if (i < n) store_tail(y + i, n - i, silu8(load_tail(x + i, n - i, 0)));
}

/* Four doubles of x (or of gamma / beta) from floats. */
T256_INLINE __m256d ld4(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }

/* The portable table's arithmetic, two vectors of four lanes making its eight. */
T256 static void layer_norm(const float *x, int64_t n, float eps, const float *gamma, const float *beta, float *y) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  double a[8], mean = 0, var = 0;
  int64_t i = 0, t = n & ~(int64_t)7;
  for (; i < t; i += 8) a0 = _mm256_add_pd(a0, ld4(x + i)), a1 = _mm256_add_pd(a1, ld4(x + i + 4));
  for (; i < n; i++) mean += x[i];
  _mm256_storeu_pd(a, a0), _mm256_storeu_pd(a + 4, a1);
  for (int l = 0; l < 8; l++) mean += a[l];
  mean /= (double)(n ? n : 1);
  __m256d m = _mm256_set1_pd(mean);
  a0 = a1 = _mm256_setzero_pd();
  for (i = 0; i < t; i += 8) {
    __m256d d0 = _mm256_sub_pd(ld4(x + i), m), d1 = _mm256_sub_pd(ld4(x + i + 4), m);
    a0 = _mm256_add_pd(a0, _mm256_mul_pd(d0, d0)), a1 = _mm256_add_pd(a1, _mm256_mul_pd(d1, d1));
  }
  for (; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
  _mm256_storeu_pd(a, a0), _mm256_storeu_pd(a + 4, a1);
  for (int l = 0; l < 8; l++) var += a[l];
  double inv = 1.0 / sqrt(var / (double)(n ? n : 1) + eps);
  __m256d iv = _mm256_set1_pd(inv);
  for (i = 0; i + 4 <= n; i += 4) {
    __m256d v = _mm256_mul_pd(_mm256_sub_pd(ld4(x + i), m), iv);
    if (gamma) v = _mm256_mul_pd(v, ld4(gamma + i));
    if (beta) v = _mm256_add_pd(v, ld4(beta + i));
    _mm_storeu_ps(y + i, _mm256_cvtpd_ps(v));
  }
  for (; i < n; i++) {
    double v = (x[i] - mean) * inv;
    if (gamma) v *= gamma[i];
    if (beta) v += beta[i];
    y[i] = (float)v;
  }
}

/* a op b, 8 lanes at a time; a stride of 0 broadcasts element 0. */
#define BIN8(OPV, OPS)                                                                             \
  do {                                                                                             \
    int64_t i = 0;                                                                                 \
    __m256 av = _mm256_set1_ps(a[0]), bv = _mm256_set1_ps(b[0]);                                   \
    for (; i + 8 <= n; i += 8)                                                                     \
      _mm256_storeu_ps(o + i, OPV(sa ? _mm256_loadu_ps(a + i) : av, sb ? _mm256_loadu_ps(b + i) : bv)); \
    for (; i < n; i++) o[i] = a[i * sa] OPS b[i * sb];                                             \
  } while (0)

T256 static void binary(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {
  switch (op) {
  case EXEC_BIN_ADD: BIN8(_mm256_add_ps, +); break;
  case EXEC_BIN_SUB: BIN8(_mm256_sub_ps, -); break;
  case EXEC_BIN_MUL: BIN8(_mm256_mul_ps, *); break;
  case EXEC_BIN_DIV: BIN8(_mm256_div_ps, /); break;
  default: break;
  }
}

static const exec_kernel_table table = {
  "avx2", f32_gemv, exec_x86_f16_gemv_256, f16_gemv_t, lut8_gemv, lut4_gemv, f16_decode, lut8_decode, lut4_decode,
  gemm, round_f16,
  NULL, NULL, NULL, /* no integer LUT products */
  softmax, silu, layer_norm, binary,
  NULL, NULL, /* no integer prefill products */
  f16_encode,
};

const exec_kernel_table *exec_kernels_avx2(void) {
  __builtin_cpu_init();
  int ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && exec_cpu_has_f16c();
  return ok ? &table : NULL;
}

#else
const exec_kernel_table *exec_kernels_avx2(void) { return NULL; }
#endif
