/* x86_avx512.c — the kernel table for AVX-512 F/BW/VL/VBMI CPUs (Ice Lake and later, Zen 4), with
 * the integer LUT products (decode and prefill, below) where the CPU has VNNI.
 * The fp32 path expands an 8-bit LUT row in registers: the 256 fp16 palette entries are split once
 * per call into a low-byte and a high-byte plane of four registers each; vpermi2b looks 64 indices
 * up in 128 entries at a time (bit 7 picks the half), the two byte planes are interleaved back into
 * halves, and vcvtph2ps + FMA finish. A 4-bit row does the same with vpshufb on 16-entry planes.
 * Functions carry target attributes, so the file builds without -mavx512* flags and only runs
 * after the CPU check in exec_kernels_avx512. */
#include <float.h>
#include <math.h>

#include "exec/kernels/kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi,fma,f16c")))
#define T512_INLINE static inline __attribute__((always_inline)) T512

static const uint8_t IOTA[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

/* Byte-shuffle controls: even/odd bytes of two registers (split halves into byte planes), and
 * the inverse (bytes j of L and H interleaved into half j, for j in the first/second 32). */
typedef struct shuf {
  __m512i even, odd, ilv0, ilv1;
} shuf;

T512_INLINE shuf shuf_make(void) {
  __m512i iota = _mm512_loadu_si512(IOTA), one = _mm512_set1_epi8(1), even = _mm512_add_epi8(iota, iota);
  /* byte p of the interleave takes byte p / 2 of L (p even) or of H (p odd, index + 64) */
  __m512i half = _mm512_and_si512(_mm512_srli_epi16(iota, 1), _mm512_set1_epi8(0x7f));
  __m512i ilv0 = _mm512_or_si512(half, _mm512_slli_epi16(_mm512_and_si512(iota, one), 6));
  shuf s = {even, _mm512_add_epi8(even, one), ilv0, _mm512_add_epi8(ilv0, _mm512_set1_epi8(32))};
  return s;
}

/* 64 fp16 values from their byte planes, as four vectors of 16 floats in element order. */
T512_INLINE void halves_to_f32(const shuf *s, __m512i lo, __m512i hi, __m512 f[4]) {
  __m512i e0 = _mm512_permutex2var_epi8(lo, s->ilv0, hi), e1 = _mm512_permutex2var_epi8(lo, s->ilv1, hi);
  f[0] = _mm512_cvtph_ps(_mm512_castsi512_si256(e0));
  f[1] = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(e0, 1));
  f[2] = _mm512_cvtph_ps(_mm512_castsi512_si256(e1));
  f[3] = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(e1, 1));
}

/* The 256-entry palette as byte planes: lo[q] / hi[q] hold entries 64q..64q+63. */
T512_INLINE void planes8(const shuf *s, const uint16_t *pal, __m512i lo[4], __m512i hi[4]) {
  for (int q = 0; q < 4; q++) {
    __m512i a = _mm512_loadu_si512(pal + 64 * q), b = _mm512_loadu_si512(pal + 64 * q + 32);
    lo[q] = _mm512_permutex2var_epi8(a, s->even, b);
    hi[q] = _mm512_permutex2var_epi8(a, s->odd, b);
  }
}

T512_INLINE __m512i look8(const __m512i t[4], __m512i v, __mmask64 top) {
  __m512i a = _mm512_permutex2var_epi8(t[0], v, t[1]), b = _mm512_permutex2var_epi8(t[2], v, t[3]);
  return _mm512_mask_blend_epi8(top, a, b);
}

static inline __mmask64 mask64(int64_t n) { return n >= 64 ? ~(__mmask64)0 : n <= 0 ? 0 : (((__mmask64)1 << n) - 1); }
static inline __mmask16 mask16(int64_t n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

/* 64 elements of an 8-bit LUT row (n of them valid) as floats. */
T512_INLINE void lut8_block(const shuf *s, const __m512i lo[4], const __m512i hi[4], const uint8_t *idx, int64_t n,
                            __m512 f[4]) {
  __m512i v = _mm512_maskz_loadu_epi8(mask64(n), idx);
  __mmask64 top = _mm512_movepi8_mask(v);
  halves_to_f32(s, look8(lo, v, top), look8(hi, v, top), f);
}

/* The 16-entry palette's byte planes, repeated in every 128-bit lane (vpshufb looks up per lane). */
T512_INLINE void planes4(const uint16_t *pal, __m512i *lo, __m512i *hi) {
  uint8_t l[16], h[16];
  for (int i = 0; i < 16; i++) {
    const uint8_t *b = (const uint8_t *)(pal + i);
    l[i] = b[0], h[i] = b[1];
  }
  *lo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)l));
  *hi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)h));
}

/* 64 elements of a 4-bit LUT row (n valid): the 32 bytes widened to words, low nibble in the low
 * byte and high nibble in the high byte, give one index byte per element in order. */
T512_INLINE void lut4_block(const shuf *s, __m512i lo, __m512i hi, const uint8_t *idx, int64_t n, __m512 f[4]) {
  __m256i b = _mm256_maskz_loadu_epi8((__mmask32)mask64((n + 1) / 2), idx);
  __m512i w = _mm512_cvtepu8_epi16(b);
  __m512i v = _mm512_or_si512(_mm512_and_si512(w, _mm512_set1_epi16(0x000f)),
                              _mm512_and_si512(_mm512_slli_epi16(w, 4), _mm512_set1_epi16(0x0f00)));
  halves_to_f32(s, _mm512_shuffle_epi8(lo, v), _mm512_shuffle_epi8(hi, v), f);
}

/* acc[j] += f[j] * x[j*16 ..] for the n (<= 64) valid elements. */
T512_INLINE void fma_block(const __m512 f[4], const float *x, int64_t n, __m512 acc[4]) {
  if (n >= 64) {
    for (int j = 0; j < 4; j++) acc[j] = _mm512_fmadd_ps(f[j], _mm512_loadu_ps(x + 16 * j), acc[j]);
    return;
  }
  for (int j = 0; j < 4; j++) {
    __mmask16 m = mask16(n - 16 * j);
    acc[j] = _mm512_mask3_fmadd_ps(f[j], _mm512_maskz_loadu_ps(m, x + 16 * j), acc[j], m);
  }
}

T512_INLINE void store_block(const __m512 f[4], int64_t n, float *dst) {
  for (int j = 0; j < 4; j++) _mm512_mask_storeu_ps(dst + 16 * j, mask16(n - 16 * j), f[j]);
}

T512_INLINE float sum4(const __m512 acc[4]) {
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

T512 static void lut8_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                           float *y) {
  shuf s = shuf_make();
  __m512i lo[4], hi[4];
  planes8(&s, pal, lo, hi);
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}, f[4];
    for (int64_t i = 0; i < n; i += 64) {
      lut8_block(&s, lo, hi, row + i, n - i, f);
      fma_block(f, x + i, n - i, acc);
    }
    y[r] = sum4(acc);
  }
}

T512 static void lut8_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  shuf s = shuf_make();
  __m512i lo[4], hi[4];
  __m512 f[4];
  planes8(&s, pal, lo, hi);
  for (int64_t i = 0; i < n; i += 64) {
    lut8_block(&s, lo, hi, idx + i, n - i, f);
    store_block(f, n - i, dst + i);
  }
}

T512 static void lut4_gemv(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n,
                           float *y) {
  shuf s = shuf_make();
  __m512i lo, hi;
  planes4(pal, &lo, &hi);
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}, f[4];
    for (int64_t i = 0; i < n; i += 64) {
      lut4_block(&s, lo, hi, row + i / 2, n - i, f);
      fma_block(f, x + i, n - i, acc);
    }
    y[r] = sum4(acc);
  }
}

T512 static void lut4_decode(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst) {
  shuf s = shuf_make();
  __m512i lo, hi;
  __m512 f[4];
  planes4(pal, &lo, &hi);
  for (int64_t i = 0; i < n; i += 64) {
    lut4_block(&s, lo, hi, idx + i / 2, n - i, f);
    store_block(f, n - i, dst + i);
  }
}

/* 64 halves (n valid) as floats. */
T512_INLINE void f16_block(const uint8_t *src, int64_t n, __m512 f[4]) {
  for (int j = 0; j < 4; j++)
    f[j] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask16(n - 16 * j), src + 32 * j));
}

/* Columns in blocks of 64 held in four accumulators across all the rows. */
T512 static void f16_gemv_t(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  for (int64_t j = 0; j < n; j += 64) {
    __mmask16 m0 = mask16(n - j), m1 = mask16(n - j - 16), m2 = mask16(n - j - 32), m3 = mask16(n - j - 48);
    __m512 a0 = _mm512_maskz_loadu_ps(m0, y + j), a1 = _mm512_maskz_loadu_ps(m1, y + j + 16);
    __m512 a2 = _mm512_maskz_loadu_ps(m2, y + j + 32), a3 = _mm512_maskz_loadu_ps(m3, y + j + 48);
    for (int64_t r = 0; r < rows; r++) {
      const uint8_t *h = w + r * ld + 2 * j;
      __m512 b = _mm512_set1_ps(x[r]);
      a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m0, h)), b, a0);
      a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m1, h + 32)), b, a1);
      a2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m2, h + 64)), b, a2);
      a3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m3, h + 96)), b, a3);
    }
    _mm512_mask_storeu_ps(y + j, m0, a0), _mm512_mask_storeu_ps(y + j + 16, m1, a1);
    _mm512_mask_storeu_ps(y + j + 32, m2, a2), _mm512_mask_storeu_ps(y + j + 48, m3, a3);
  }
}

T512 static void f32_gemv(const float *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y) {
  int64_t t = n & ~(int64_t)63;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = w + r * ld;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int64_t i = 0; i < t; i += 64) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(row + i), _mm512_loadu_ps(x + i), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(row + i + 16), _mm512_loadu_ps(x + i + 16), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(row + i + 32), _mm512_loadu_ps(x + i + 32), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(row + i + 48), _mm512_loadu_ps(x + i + 48), a3);
    }
    for (int64_t i = t; i < n; i += 16) {
      __mmask16 m = mask16(n - i);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, row + i), _mm512_maskz_loadu_ps(m, x + i), a0);
    }
    y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
}

T512 static void f16_decode(const uint8_t *src, int64_t n, float *dst) {
  __m512 f[4];
  for (int64_t i = 0; i < n; i += 64) {
    f16_block(src + 2 * i, n - i, f);
    store_block(f, n - i, dst + i);
  }
}

/* Four weight rows by NV vectors of 16 positions: 4 * NV accumulators stay in registers; per
 * input channel NV loads of x and four broadcasts of w feed 4 * NV multiply-adds. */
T512_INLINE void gemm_tile(const float *const wr[4], int nr, const float *x, int64_t ldx, int64_t rem, int64_t k,
                           float *y, int64_t ldy, const int NV) {
  __m512 acc[4][4];
  __mmask16 m[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) m[j] = mask16(rem - 16 * j);
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) acc[i][j] = _mm512_setzero_ps();
  for (int64_t c = 0; c < k; c++) {
    __m512 xv[4];
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) xv[j] = _mm512_maskz_loadu_ps(m[j], x + c * ldx + 16 * j);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      __m512 b = _mm512_set1_ps(wr[i][c]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; j++) acc[i][j] = _mm512_fmadd_ps(b, xv[j], acc[i][j]);
    }
  }
  /* constant bounds: indexing acc with a run-time row count would keep it in memory */
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
      if (i >= nr) continue;
      float *yp = y + i * ldy + 16 * j;
      _mm512_mask_storeu_ps(yp, m[j], _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(m[j], yp)));
    }
}

T512 static void gemm(const float *w, int64_t ldw, int64_t nw, const float *x, int64_t ldx, int64_t ns, int64_t k,
                      float *y, int64_t ldy) {
  for (int64_t r0 = 0; r0 < nw; r0 += 4) {
    int nr = nw - r0 < 4 ? (int)(nw - r0) : 4;
    const float *wr[4];
    for (int i = 0; i < 4; i++) wr[i] = w + (r0 + (i < nr ? i : nr - 1)) * ldw;
    for (int64_t s0 = 0; s0 < ns; s0 += 64) {
      int64_t rem = ns - s0;
      float *yt = y + r0 * ldy + s0;
      if (rem > 48) gemm_tile(wr, nr, x + s0, ldx, rem, k, yt, ldy, 4);
      else if (rem > 32) gemm_tile(wr, nr, x + s0, ldx, rem, k, yt, ldy, 3);
      else if (rem > 16) gemm_tile(wr, nr, x + s0, ldx, rem, k, yt, ldy, 2);
      else gemm_tile(wr, nr, x + s0, ldx, rem, k, yt, ldy, 1);
    }
  }
}

/* vcvtps2ph rounds to nearest even and overflows to inf, as util_f32_to_f16 does. */
T512 static void round_f16(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = mask16(n - i);
    __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm512_mask_storeu_ps(x + i, m, _mm512_cvtph_ps(h));
  }
}

T512 static void f16_encode(const float *src, int64_t n, uint8_t *dst) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = mask16(n - i);
    _mm256_mask_storeu_epi16(dst + 2 * i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT));
  }
}

/* ---- Integer LUT products (AVX-512 VNNI) ------------------------------------------------------
 * The fp32 path is bound by the lookups, not by memory: it spends ~20 instructions on 64 weights
 * (two byte planes looked up, interleaved, widened to fp32, multiplied). Here the palette
 * becomes 16-bit integers P (exec_palq_make, made once at load), stored as P + 32768 in two
 * unsigned byte planes H and L, and x becomes int8 q in blocks (scale s = block max / 127).
 * vpdpbusd multiplies 64 unsigned palette bytes by 64 signed q and adds each group of four into a
 * 32-bit lane, so a row costs two table lookups and two vpdpbusd per 64 weights:
 *   sum_i P_i q_i = 256 * sum_i H_i q_i + sum_i L_i q_i - 32768 * sum_i q_i,
 * the last term precomputed per lane.
 *
 * LUT4 rows (64 bytes of nibble pairs a 128-weight step): lane l of a step meets values 8l..8l+7,
 * one block of 8, and each lane's int32 is converted and scaled by its block's s once a step.
 *
 * LUT8 rows (two 64-byte vectors a step): lane l meets values 4l..4l+3 and 64+4l..64+4l+3 of every
 * step, and those n / 16 values are its block, so a lane adds in int32 across steps and converts
 * once per 2048 weights. x also gives its rounding's residual, x = s (q + r / 256), and
 *   sum_i P_i (q_i + r_i / 256) = 256 sum H q + sum L q + sum H r - sum (32768 q + 128 r)
 * up to sum L r / 256 (at most 128 s p a value): three vpdpbusd per 64 weights, and x's error is
 * s / 256 a value at most rather than s / 2, so a block of n / 16 values loses far less than
 * blocks of 8 with int8 alone did. Over the trained tiny model's 64 greedy tokens (LUT8) the
 * log-probabilities of the top 5 differ from the float kernels' by 3.6e-3 on average, at most
 * 2.3e-2 (prefill's own integer product included), where int8 in blocks of 8 gave 1.9e-2 and
 * 9.7e-2 and flipped a 0.05 margin once its blocks were regrouped (bench/lut_int8_drift.py). With
 * no scaling per step, LUT8 rows run at 24 G weights/s in cache on the development machine
 * (`build/bench_kernels`; 22 with blocks of 8 and a conversion every 64 weights). Overflow: a lane's 2048-weight chunk adds 128 products below 2^15
 * before the shift and 256 below 2^15 after it, |t| < 1.61e9 < 2^31. */

#define T512V __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi,avx512vnni,fma,f16c")))
#define T512V_INLINE static inline __attribute__((always_inline)) T512V

#define XQ8_CHUNK 2048 /* LUT8 values a lane adds in int32 before converting */

/* The prepared activations, for n values rounded up to N (a multiple of 128), 64-byte aligned:
 *   q8[N], r8[N] int8 and residual in element order (LUT8)
 *   q4[N]        per 128 elements, the 64 even then the 64 odd ones (the low and high nibbles of
 *                a 4-bit row's 64 bytes)
 *   s4[N/8], c4  per lane of a 128-element step: its LUT4 block's scale, -32768 * its 8 q's sum
 *   s8[16]       the scale of each lane's LUT8 block
 *   c8[16 per chunk of XQ8_CHUNK] -sum (32768 q + 128 r) of each lane's values in the chunk */
typedef struct xq_parts {
  int8_t *q8, *r8, *q4;
  float *s4, *s8;
  int32_t *c4, *c8;
} xq_parts;

static xq_parts xq_split(const void *xq, int64_t n) {
  int64_t N = (n + 127) / 128 * 128;
  uint8_t *b = (uint8_t *)(((uintptr_t)xq + 63) & ~(uintptr_t)63);
  xq_parts p = {(int8_t *)b, (int8_t *)(b + N), (int8_t *)(b + 2 * N), (float *)(void *)(b + 3 * N),
                (float *)(void *)(b + 4 * N), (int32_t *)(void *)(b + 3 * N + N / 2), (int32_t *)(void *)(b + 4 * N + 64)};
  return p;
}

/* The lanes of x (16 values, k of them valid) that are not finite, and |x|. */
T512V_INLINE __mmask16 load_abs(const float *x, __mmask16 k, __m512 *v, __m512 *a) {
  *v = _mm512_maskz_loadu_ps(k, x);
  *a = _mm512_abs_ps(*v);
  return _mm512_cmp_ps_mask(*a, _mm512_set1_ps(FLT_MAX), _CMP_NLE_UQ);
}

/* 127 / m where m > 0, else 0. */
T512V_INLINE __m512 inv127(__m512 m) {
  return _mm512_maskz_div_ps(_mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_ps(127.0f), m);
}

/* The sum of each lane's 4 bytes of a into c. */
T512V_INLINE __m512i lane_sum(__m512i c, __m512i a) { return _mm512_dpbusd_epi32(c, _mm512_set1_epi8(1), a); }

/* LUT8: each lane's scale from the max over its block, then q, r and each chunk's c. */
T512V_INLINE __mmask16 prepare8(const float *x, int64_t n, int64_t N, xq_parts p) {
  __m512 m[4], v, a, inv[4];
  __mmask16 bad = 0;
  for (int c = 0; c < 4; c++) m[c] = _mm512_setzero_ps();
  for (int64_t i = 0; i < N; i += 64) /* the max of each of the 64 places of a half */
    for (int c = 0; c < 4; c++) bad |= load_abs(x + i + 16 * c, mask16(n - i - 16 * c), &v, &a), m[c] = _mm512_max_ps(m[c], a);
  float mx[16];
  for (int c = 0; c < 4; c++) { /* ... of each lane's 4 places, in all its 4 lanes */
    m[c] = _mm512_max_ps(m[c], _mm512_permute_ps(m[c], 0xb1));
    m[c] = _mm512_max_ps(m[c], _mm512_permute_ps(m[c], 0x4e));
    inv[c] = inv127(m[c]);
    _mm512_storeu_ps(mx, m[c]);
    for (int g = 0; g < 4; g++) p.s8[4 * c + g] = mx[4 * g] / 127.0f;
  }
  __m512i sq = _mm512_setzero_si512(), sr = sq;
  for (int64_t i = 0; i < N; i += 64) {
    for (int c = 0; c < 4; c++) {
      __m512 u = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask16(n - i - 16 * c), x + i + 16 * c), inv[c]);
      __m512i q = _mm512_cvtps_epi32(u);
      __m512 res = _mm512_mul_ps(_mm512_sub_ps(u, _mm512_cvtepi32_ps(q)), _mm512_set1_ps(256.0f));
      _mm_storeu_si128((__m128i *)(void *)(p.q8 + i + 16 * c), _mm512_cvtsepi32_epi8(q));
      _mm_storeu_si128((__m128i *)(void *)(p.r8 + i + 16 * c), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(res)));
    }
    sq = lane_sum(sq, _mm512_loadu_si512(p.q8 + i));
    sr = lane_sum(sr, _mm512_loadu_si512(p.r8 + i));
    if ((i + 64) % XQ8_CHUNK == 0 || i + 64 == N) { /* -(32768 sq + 128 sr) = -128 (256 sq + sr) */
      __m512i c = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_add_epi32(_mm512_slli_epi32(sq, 8), sr), 7));
      _mm512_storeu_si512(p.c8 + i / XQ8_CHUNK * 16, c);
      sq = sr = _mm512_setzero_si512();
    }
  }
  return bad;
}

/* LUT4: blocks of 8 consecutive values, int8, laid out as the nibbles of a row's bytes. */
T512V_INLINE __mmask16 prepare4(const float *x, int64_t n, int64_t N, xq_parts p) {
  const __m512i ev = _mm512_add_epi8(_mm512_loadu_si512(IOTA), _mm512_loadu_si512(IOTA)); /* 2i: 0..126 */
  const __m512i od = _mm512_add_epi8(ev, _mm512_set1_epi8(1));
  __mmask16 bad = 0;
  int8_t lin[128];
  for (int64_t i = 0; i < N; i += 128) {
    for (int c = 0; c < 8; c++) {
      __m512 v, a;
      bad |= load_abs(x + i + 16 * c, mask16(n - i - 16 * c), &v, &a);
      __m512 m = _mm512_max_ps(a, _mm512_permute_ps(a, 0xb1)); /* the max of each 8 in all its lanes */
      m = _mm512_max_ps(m, _mm512_permute_ps(m, 0x4e));
      m = _mm512_max_ps(m, _mm512_shuffle_f32x4(m, m, 0xb1));
      _mm_storeu_si128((__m128i *)(void *)(lin + 16 * c), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v, inv127(m)))));
      float mx[16];
      _mm512_storeu_ps(mx, m);
      p.s4[i / 8 + 2 * c] = mx[0] / 127.0f, p.s4[i / 8 + 2 * c + 1] = mx[8] / 127.0f;
    }
    /* the 64 even then the 64 odd values: lane l of each holds 4 of block l's 8 */
    __m512i a = _mm512_loadu_si512(lin), b = _mm512_loadu_si512(lin + 64);
    __m512i qe = _mm512_permutex2var_epi8(a, ev, b), qo = _mm512_permutex2var_epi8(a, od, b);
    _mm512_storeu_si512(p.q4 + i, qe);
    _mm512_storeu_si512(p.q4 + i + 64, qo);
    __m512i sum = lane_sum(lane_sum(_mm512_setzero_si512(), qe), qo);
    _mm512_storeu_si512(p.c4 + i / 8, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 15)));
  }
  return bad;
}

T512V static int xq_prepare(const float *x, int64_t n, void *xq) {
  xq_parts p = xq_split(xq, n);
  int64_t N = (n + 127) / 128 * 128;
  __mmask16 bad = prepare8(x, n, N, p);
  bad |= prepare4(x, n, N, p);
  return bad ? -1 : 0;
}

/* 16 lanes of one step: (256 * H.q + L.q + c) as float, times the lanes' scales, into acc. */
T512V_INLINE __m512 lanes_acc(__m512i dh, __m512i dl, const float *s, __m512 acc) {
  __m512i t = _mm512_add_epi32(_mm512_slli_epi32(dh, 8), dl);
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_loadu_ps(s), acc);
}

/* Separate accumulators for the H, L and residual products of each half keep the chains of
 * dependent vpdpbusd short (one each a step). */
T512V static void lut8_gemv_xq(const uint8_t *planes, float ps, const uint8_t *w, int64_t ld, int64_t rows,
                               const void *xq, int64_t n, float *y) {
  const uint8_t *hb = planes, *lb = planes + 256;
  xq_parts p = xq_split(xq, n);
  __m512i h[4], l[4];
  for (int k = 0; k < 4; k++) h[k] = _mm512_loadu_si512(hb + 64 * k), l[k] = _mm512_loadu_si512(lb + 64 * k);
  const __m512 s = _mm512_loadu_ps(p.s8);
  int64_t t = n & ~(int64_t)127;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i0 = 0; i0 < n; i0 += XQ8_CHUNK) {
      __m512i dh0 = _mm512_setzero_si512(), dh1 = dh0, dl0 = _mm512_loadu_si512(p.c8 + i0 / XQ8_CHUNK * 16), dl1 = dh0;
      __m512i dr0 = dh0, dr1 = dh0;
      for (int64_t i = i0; i < n && i < i0 + XQ8_CHUNK; i += 128) { /* whole steps unmasked, the tail masked */
        __m512i v0 = i < t ? _mm512_loadu_si512(row + i) : _mm512_maskz_loadu_epi8(mask64(n - i), row + i);
        __m512i v1 = i < t ? _mm512_loadu_si512(row + i + 64) : _mm512_maskz_loadu_epi8(mask64(n - i - 64), row + i + 64);
        __m512i q0 = _mm512_loadu_si512(p.q8 + i), q1 = _mm512_loadu_si512(p.q8 + i + 64);
        __mmask64 t0 = _mm512_movepi8_mask(v0), t1 = _mm512_movepi8_mask(v1);
        __m512i h0 = look8(h, v0, t0), h1 = look8(h, v1, t1);
        dh0 = _mm512_dpbusd_epi32(dh0, h0, q0);
        dh1 = _mm512_dpbusd_epi32(dh1, h1, q1);
        dl0 = _mm512_dpbusd_epi32(dl0, look8(l, v0, t0), q0);
        dl1 = _mm512_dpbusd_epi32(dl1, look8(l, v1, t1), q1);
        dr0 = _mm512_dpbusd_epi32(dr0, h0, _mm512_loadu_si512(p.r8 + i));
        dr1 = _mm512_dpbusd_epi32(dr1, h1, _mm512_loadu_si512(p.r8 + i + 64));
      }
      __m512i dl = _mm512_add_epi32(_mm512_add_epi32(dl0, dl1), _mm512_add_epi32(dr0, dr1));
      acc = _mm512_add_ps(acc, _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_slli_epi32(_mm512_add_epi32(dh0, dh1), 8), dl)));
    }
    y[r] = ps * _mm512_reduce_add_ps(_mm512_mul_ps(acc, s));
  }
}

T512V static void lut4_gemv_xq(const uint8_t *planes, float ps, const uint8_t *w, int64_t ld, int64_t rows,
                               const void *xq, int64_t n, float *y) {
  const uint8_t *hb = planes, *lb = planes + 16;
  xq_parts p = xq_split(xq, n);
  const __m512i h = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)hb));
  const __m512i l = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)lb));
  const __m512i nib = _mm512_set1_epi8(0x0f);
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = w + r * ld;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 128) {
      __m512i v = i + 128 <= n ? _mm512_loadu_si512(row + i / 2) : _mm512_maskz_loadu_epi8(mask64((n - i + 1) / 2), row + i / 2);
      __m512i e = _mm512_and_si512(v, nib), o = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
      __m512i qe = _mm512_loadu_si512(p.q4 + i), qo = _mm512_loadu_si512(p.q4 + i + 64);
      __m512i dh = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_shuffle_epi8(h, e), qe);
      dh = _mm512_dpbusd_epi32(dh, _mm512_shuffle_epi8(h, o), qo);
      __m512i dl = _mm512_dpbusd_epi32(_mm512_loadu_si512(p.c4 + i / 8), _mm512_shuffle_epi8(l, e), qe);
      dl = _mm512_dpbusd_epi32(dl, _mm512_shuffle_epi8(l, o), qo);
      acc = lanes_acc(dh, dl, p.s4 + i / 8, acc);
    }
    y[r] = ps * _mm512_reduce_add_ps(acc);
  }
}

/* ---- Integer LUT products for prefill -------------------------------------------------------
 * A matrix product in int16: X quantised per position in blocks of 32 channels to 14 bits and laid
 * out [k/2][position][2], the weights as 12-bit integers (the palette's 16-bit copy / 16), so one
 * vpdpwssd multiplies two channels of 16 positions by two weights of one row broadcast to every
 * lane, and a block's 32 products of at most 2^24 stay below 2^29 in int32. (int8 activations,
 * as in decode but in coarser blocks, doubled the logit error of a small model.) A tile of 4 weight
 * rows (their integers decoded once, `tile`) by 16 positions keeps 8 accumulators in registers;
 * each block of 32 channels is converted and scaled once. */

#define XQT_MAX 8191.0f /* |x| quantised to 14 bits */

typedef struct xqt_parts {
  int16_t *q;    /* [K/2][S][2] */
  float *scale;  /* [K/32][S] */
  int64_t K, S;  /* k and ns rounded up to 32 and 16 */
} xqt_parts;

static xqt_parts xqt_split(const void *xqt, int64_t k, int64_t ns) {
  xqt_parts p;
  p.K = (k + 31) / 32 * 32, p.S = (ns + 15) / 16 * 16;
  uint8_t *b = (uint8_t *)(((uintptr_t)xqt + 63) & ~(uintptr_t)63);
  p.q = (int16_t *)(void *)b;
  p.scale = (float *)(void *)(b + 2 * p.K * p.S);
  return p;
}

T512V static int xqt_prepare(const float *x, int64_t ldx, int64_t k, int64_t ns, void *xqt) {
  xqt_parts p = xqt_split(xqt, k, ns);
  const __m512 lim = _mm512_set1_ps(FLT_MAX);
  /* words j of two channels' 16 positions interleaved: [position][2] */
  const __m512i ilv = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (int64_t s = 0; s < p.S; s += 16) {
    __mmask16 ms = mask16(ns - s);
    for (int64_t b = 0; b < p.K; b += 32) {
      __m512 mx = _mm512_setzero_ps();
      for (int64_t c = b; c < b + 32 && c < k; c++) {
        __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(ms, x + c * ldx + s));
        if (_mm512_cmp_ps_mask(a, lim, _CMP_NLE_UQ)) return -1;
        mx = _mm512_max_ps(mx, a);
      }
      __mmask16 nz = _mm512_cmp_ps_mask(mx, _mm512_setzero_ps(), _CMP_GT_OQ);
      __m512 inv = _mm512_maskz_div_ps(nz, _mm512_set1_ps(XQT_MAX), mx);
      for (int64_t c = b; c < b + 32; c += 2) {
        __m512 v0 = c < k ? _mm512_maskz_loadu_ps(ms, x + c * ldx + s) : _mm512_setzero_ps();
        __m512 v1 = c + 1 < k ? _mm512_maskz_loadu_ps(ms, x + (c + 1) * ldx + s) : _mm512_setzero_ps();
        __m256i q0 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inv)));
        __m256i q1 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inv)));
        __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
        _mm512_storeu_si512(p.q + (c / 2 * p.S + s) * 2, _mm512_permutexvar_epi16(ilv, both));
      }
      _mm512_storeu_ps(p.scale + b / 32 * p.S + s, _mm512_div_ps(mx, _mm512_set1_ps(XQT_MAX)));
    }
  }
  return 0;
}

/* The 12-bit integer weights of up to 4 rows (k indices each), K (k rounded up to 64) words per
 * row at tile + r * 2K bytes: the palette's 16-bit integer P (byte planes H, L of P + 32768)
 * rounded to P / 16, saturating at 2047 (index 0's words past k: their x is 0). */
T512V static void gemm_tile_words(int bits, const uint8_t *const rows[4], const uint8_t *const planes[4], int nr,
                                  int64_t k, int64_t K, int16_t *tile) {
  const shuf sh = shuf_make();
  const __m512i flip = _mm512_set1_epi16((short)0x8000), eight = _mm512_set1_epi16(8);
  for (int r = 0; r < 4; r++) {
    const uint8_t *row = rows[r < nr ? r : nr - 1], *pl = planes[r < nr ? r : nr - 1];
    int16_t *W = tile + r * K;
    __m512i hb, lb, e0, e1;
    __m512i h[4], l[4], h4 = _mm512_setzero_si512(), l4 = _mm512_setzero_si512();
    if (bits == 8)
      for (int q = 0; q < 4; q++) h[q] = _mm512_loadu_si512(pl + 64 * q), l[q] = _mm512_loadu_si512(pl + 256 + 64 * q);
    else {
      h4 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)pl));
      l4 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)(pl + 16)));
    }
    for (int64_t i = 0; i < K; i += 64) {
      if (bits == 8) {
        __m512i v = _mm512_maskz_loadu_epi8(i < k ? mask64(k - i) : 0, row + i);
        __mmask64 top = _mm512_movepi8_mask(v);
        hb = look8(h, v, top), lb = look8(l, v, top);
      } else {
        int64_t left = i < k ? (k - i + 1) / 2 : 0;
        __m512i w = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8((__mmask32)mask64(left), row + i / 2));
        __m512i v = _mm512_or_si512(_mm512_and_si512(w, _mm512_set1_epi16(0x000f)),
                                    _mm512_and_si512(_mm512_slli_epi16(w, 4), _mm512_set1_epi16(0x0f00)));
        hb = _mm512_shuffle_epi8(h4, v), lb = _mm512_shuffle_epi8(l4, v);
      }
      /* words in element order: low byte from L, high byte from H */
      e0 = _mm512_permutex2var_epi8(lb, sh.ilv0, hb), e1 = _mm512_permutex2var_epi8(lb, sh.ilv1, hb);
      e0 = _mm512_srai_epi16(_mm512_adds_epi16(_mm512_xor_si512(e0, flip), eight), 4);
      e1 = _mm512_srai_epi16(_mm512_adds_epi16(_mm512_xor_si512(e1, flip), eight), 4);
      _mm512_storeu_si512(W + i, e0);
      _mm512_storeu_si512(W + i + 32, e1);
    }
  }
}

T512V static void lut_gemm_xq(int bits, const uint8_t *const rows[4], const uint8_t *const planes[4], const float ps[4],
                              int nr, int64_t k, const void *xqt, int64_t ns, float *y, int64_t ldy, uint8_t *tile) {
  xqt_parts p = xqt_split(xqt, k, ns);
  int16_t *t = (int16_t *)(void *)(((uintptr_t)tile + 63) & ~(uintptr_t)63);
  int64_t K64 = (k + 63) / 64 * 64, w2 = K64 / 2; /* a row's words, its pairs */
  gemm_tile_words(bits, rows, planes, nr, k, K64, t);
  const int32_t *W0 = (const int32_t *)(const void *)t, *W1 = W0 + w2, *W2 = W1 + w2, *W3 = W2 + w2;
  for (int64_t s = 0; s < ns; s += 16) {
    __m512 f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps(), f2 = _mm512_setzero_ps(), f3 = _mm512_setzero_ps();
    for (int64_t b = 0; b < p.K; b += 32) {
      __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t q = b / 2; q < b / 2 + 16; q++) {
        __m512i x = _mm512_loadu_si512(p.q + (q * p.S + s) * 2);
        a0 = _mm512_dpwssd_epi32(a0, x, _mm512_set1_epi32(W0[q]));
        a1 = _mm512_dpwssd_epi32(a1, x, _mm512_set1_epi32(W1[q]));
        a2 = _mm512_dpwssd_epi32(a2, x, _mm512_set1_epi32(W2[q]));
        a3 = _mm512_dpwssd_epi32(a3, x, _mm512_set1_epi32(W3[q]));
      }
      __m512 sc = _mm512_loadu_ps(p.scale + b / 32 * p.S + s);
      f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a0), sc, f0), f1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a1), sc, f1);
      f2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a2), sc, f2), f3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a3), sc, f3);
    }
    __mmask16 m = mask16(ns - s);
    const __m512 fr[4] = {f0, f1, f2, f3};
    for (int r = 0; r < nr; r++) {
      float *yr = y + r * ldy + s;
      __m512 pr = _mm512_set1_ps(16.0f * ps[r]); /* 12-bit weights: 16 steps of the 16-bit copy */
      _mm512_mask_storeu_ps(yr, m, _mm512_fmadd_ps(fr[r], pr, _mm512_maskz_loadu_ps(m, yr)));
    }
  }
}

/* ---- Row kernels ------------------------------------------------------------------------------ */

/* exp(x) for 16 floats (kernels.h's EXP_* scheme), scaled by 2^n with vscalefps (which also
 * makes the subnormal results and the overflow to inf). -inf and whatever is below -104 give 0,
 * +inf inf; NaN stays NaN. */
T512_INLINE __m512 exp16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_LOG2E)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), r);
  __m512 p = _mm512_set1_ps(EXP_P0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P5));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, one));
  __m512 y = _mm512_scalef_ps(p, n);
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.0f), _CMP_LT_OQ), y, _mm512_setzero_ps());
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(88.8f), _CMP_GT_OQ), y, _mm512_set1_ps(INFINITY));
}

T512 static void softmax(const float *x, float *y, int64_t n) {
  __m512 mv = _mm512_set1_ps(-INFINITY), sv = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) mv = _mm512_max_ps(mv, _mm512_mask_loadu_ps(mv, mask16(n - i), x + i));
  __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
  for (int64_t i = 0; i < n; i += 16) { /* the padding adds nothing */
    __mmask16 k = mask16(n - i);
    __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), m));
    _mm512_mask_storeu_ps(y + i, k, e);
    sv = _mm512_mask_add_ps(sv, k, sv, e);
  }
  __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv));
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 k = mask16(n - i);
    _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), inv));
  }
}

T512 static void silu(const float *x, float *y, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 k = mask16(n - i);
    __m512 v = _mm512_maskz_loadu_ps(k, x + i);
    __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(v, s));
  }
}

/* Eight doubles of x (or gamma / beta) from floats, k of them valid. */
T512_INLINE __m512d ld8(const float *p, __mmask8 k) { return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, p)); }

/* The portable table's arithmetic: its eight lanes are the eight doubles of one vector. */
T512 static void layer_norm(const float *x, int64_t n, float eps, const float *gamma, const float *beta, float *y) {
  __m512d acc = _mm512_setzero_pd();
  double a[8], mean = 0, var = 0;
  int64_t i = 0, t = n & ~(int64_t)7;
  for (; i < t; i += 8) acc = _mm512_add_pd(acc, ld8(x + i, 0xff));
  for (; i < n; i++) mean += x[i];
  _mm512_storeu_pd(a, acc);
  for (int l = 0; l < 8; l++) mean += a[l];
  mean /= (double)(n ? n : 1);
  __m512d m = _mm512_set1_pd(mean);
  acc = _mm512_setzero_pd();
  for (i = 0; i < t; i += 8) {
    __m512d d = _mm512_sub_pd(ld8(x + i, 0xff), m);
    acc = _mm512_add_pd(acc, _mm512_mul_pd(d, d));
  }
  for (; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
  _mm512_storeu_pd(a, acc);
  for (int l = 0; l < 8; l++) var += a[l];
  __m512d inv = _mm512_set1_pd(1.0 / sqrt(var / (double)(n ? n : 1) + eps));
  for (i = 0; i < n; i += 8) {
    __mmask8 k = (__mmask8)mask16(n - i);
    __m512d v = _mm512_mul_pd(_mm512_sub_pd(ld8(x + i, k), m), inv);
    if (gamma) v = _mm512_mul_pd(v, ld8(gamma + i, k));
    if (beta) v = _mm512_add_pd(v, ld8(beta + i, k));
    _mm256_mask_storeu_ps(y + i, k, _mm512_cvtpd_ps(v));
  }
}

/* a op b, 16 lanes at a time (the tail under a mask); a stride of 0 broadcasts element 0. */
#define BIN16(OPV)                                                                                 \
  do {                                                                                             \
    __m512 av = _mm512_set1_ps(a[0]), bv = _mm512_set1_ps(b[0]);                                   \
    for (int64_t i = 0; i < n; i += 16) {                                                          \
      __mmask16 k = mask16(n - i);                                                                 \
      __m512 x = sa ? _mm512_maskz_loadu_ps(k, a + i) : av, y = sb ? _mm512_maskz_loadu_ps(k, b + i) : bv; \
      _mm512_mask_storeu_ps(o + i, k, OPV(x, y));                                                  \
    }                                                                                              \
  } while (0)

T512 static void binary(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n) {
  switch (op) {
  case EXEC_BIN_ADD: BIN16(_mm512_add_ps); break;
  case EXEC_BIN_SUB: BIN16(_mm512_sub_ps); break;
  case EXEC_BIN_MUL: BIN16(_mm512_mul_ps); break;
  case EXEC_BIN_DIV: BIN16(_mm512_div_ps); break;
  default: break;
  }
}

#define AVX512_FLOAT_KERNELS \
  "avx512", f32_gemv, exec_x86_f16_gemv_256, f16_gemv_t, lut8_gemv, lut4_gemv, f16_decode, lut8_decode,          \
      lut4_decode, gemm, round_f16

static const exec_kernel_table table = {AVX512_FLOAT_KERNELS, NULL, NULL, NULL, softmax, silu, layer_norm, binary,
                                        NULL, NULL, f16_encode};
static const exec_kernel_table table_vnni = {AVX512_FLOAT_KERNELS, xq_prepare, lut8_gemv_xq, lut4_gemv_xq,
                                             softmax, silu, layer_norm, binary, xqt_prepare, lut_gemm_xq, f16_encode};

const exec_kernel_table *exec_kernels_avx512(void) {
  __builtin_cpu_init();
  int ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("fma") && exec_cpu_has_f16c();
  if (!ok) return NULL;
  return __builtin_cpu_supports("avx512vnni") ? &table_vnni : &table;
}

#else
const exec_kernel_table *exec_kernels_avx512(void) { return NULL; }
#endif
