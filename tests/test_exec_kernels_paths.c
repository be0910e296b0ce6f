/* test_exec_kernels_paths.c — every kernel table this CPU can run (avx512, avx2, neon, portable;
 * each forced in turn with exec_kernels_select) against float64 references, on random shapes, odd
 * sizes, row strides and misaligned pointers.
 * Bounds: decodes (fp16, LUT8, LUT4, and LUT1/2/3/6 through the drivers) are exact. A dot product
 * or a product tile of length n must satisfy |got - ref| <= (n + 2) * 2^-23 * sum |w_i x_i|, twice
 * the worst case of fp32 summation in any order (|error| <= n * 2^-24 * sum |terms|).
 * $MR_REQUIRE_KERNELS=name makes an unavailable table a failure (the NEON run under qemu uses it). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "exec/kernels/kernels.h"
#include "harness.h"
#include "milrun.h"
#include "util/fp16.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void) {
  rng = rng * 6364136223846793005u + 1442695040888963407u;
  return (uint32_t)(rng >> 33);
}

static float frand(void) { return (float)((int)(rnd() % 20001) - 10000) / 5000.0f; } /* [-2, 2] */

static uint16_t hrand(void) { return util_f32_to_f16(frand()); }

static float half(const uint16_t *p) {
  const uint8_t *b = (const uint8_t *)p;
  return util_f16_to_f32((uint16_t)(b[0] | b[1] << 8));
}

/* Field i of a LSB-first bit stream (the reference unpacker). */
static unsigned field(const uint8_t *s, int64_t i, int bits) {
  unsigned v = 0;
  for (int b = 0; b < bits; b++) {
    int64_t bit = i * bits + b;
    v |= (unsigned)((s[bit >> 3] >> (bit & 7)) & 1) << b;
  }
  return v;
}

static const char *cur = "";

static void check_dot(float got, const double *terms, int64_t n, const char *what, int64_t a, int64_t b) {
  double ref = 0, mag = 0;
  for (int64_t i = 0; i < n; i++) ref += terms[i], mag += fabs(terms[i]);
  double bound = (double)(n + 2) * 0x1p-23 * mag;
  CHECK_MSG(fabs(got - ref) <= bound, "%s %s (%lld, %lld): %.9g vs %.9g, bound %.3g", cur, what, (long long)a,
            (long long)b, got, ref, bound);
}

static const int64_t lens[] = {1, 2, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 1031};
#define NLENS (int64_t)(sizeof lens / sizeof *lens)

/* Buffers with room for an offset of one byte (misaligned for every SIMD width). */
static uint8_t wbuf[8 * 2100 * 4 + 64], ibuf[2100 * 4 + 64];
static float xbuf[4200 + 16], ybuf[16], dec[2100 + 16];
static double terms[2100];
static uint16_t pal_buf[257];

static void test_decode(const exec_kernel_table *k) {
  for (int64_t t = 0; t < NLENS; t++) {
    int64_t n = lens[t];
    uint8_t *src = wbuf + 1;
    for (int64_t i = 0; i < 2 * n; i++) src[i] = (uint8_t)rnd();
    k->f16_decode(src, n, dec + 1);
    for (int64_t i = 0; i < n; i++) {
      float want = util_f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
      int same = want != want ? dec[1 + i] != dec[1 + i] : memcmp(&want, &dec[1 + i], 4) == 0;
      CHECK_MSG(same, "%s f16_decode n=%lld i=%lld", cur, (long long)n, (long long)i);
    }
    uint16_t *pal = pal_buf + 1; /* misaligned by one half, and the planes are built from it */
    for (int i = 0; i < 256; i++) pal[i] = hrand();
    for (int64_t i = 0; i < n; i++) src[i] = (uint8_t)rnd();
    k->lut8_decode(pal, src, n, dec + 1);
    for (int64_t i = 0; i < n; i++)
      CHECK_MSG(dec[1 + i] == half(pal + src[i]), "%s lut8_decode n=%lld i=%lld", cur, (long long)n, (long long)i);
    for (int64_t i = 0; i < n; i++) { /* any bits: normals, subnormals, overflow, inf, NaN */
      uint32_t bits = rnd() ^ (rnd() << 16);
      memcpy(&dec[1 + i], &bits, 4);
      if (i % 3 == 0) dec[1 + i] = frand() * (i % 2 ? 1e-5f : 3e4f);
      xbuf[i] = dec[1 + i];
    }
    k->round_f16(dec + 1, n);
    for (int64_t i = 0; i < n; i++) {
      float want = util_round_f16(xbuf[i]);
      int same = want != want ? dec[1 + i] != dec[1 + i] : memcmp(&want, &dec[1 + i], 4) == 0;
      CHECK_MSG(same, "%s round_f16 n=%lld i=%lld of %g", cur, (long long)n, (long long)i, (double)xbuf[i]);
    }
    static uint8_t enc[2 * 1100 + 2];
    for (int64_t i = 0; i < n; i++) xbuf[i] = dec[1 + i] = i % 5 == 1 ? xbuf[i] * 7e4f : xbuf[i];
    k->f16_encode(dec + 1, n, enc + 1);
    for (int64_t i = 0; i < n; i++) {
      uint16_t want = util_f32_to_f16(xbuf[i]), got = (uint16_t)(enc[1 + 2 * i] | enc[2 + 2 * i] << 8);
      int nan = (want & 0x7c00) == 0x7c00 && (want & 0x3ff);
      CHECK_MSG(nan ? (got & 0x7c00) == 0x7c00 && (got & 0x3ff) : got == want, "%s f16_encode n=%lld i=%lld of %g: %04x vs %04x",
                cur, (long long)n, (long long)i, (double)xbuf[i], got, want);
    }
    k->lut4_decode(pal, src, n, dec + 1);
    for (int64_t i = 0; i < n; i++)
      CHECK_MSG(dec[1 + i] == half(pal + field(src, i, 4)), "%s lut4_decode n=%lld i=%lld", cur, (long long)n,
                (long long)i);
  }
}

typedef enum { F32, F16, LUT8, LUT4 } form;

/* Element i of row r of a matrix of form f at w with row stride ld bytes. */
static double elem(form f, const uint8_t *w, int64_t ld, const uint16_t *pal, int64_t r, int64_t i) {
  const uint8_t *row = w + r * ld;
  switch (f) {
  case F32: {
    float v;
    memcpy(&v, row + 4 * i, 4);
    return v;
  }
  case F16: return util_f16_to_f32((uint16_t)(row[2 * i] | row[2 * i + 1] << 8));
  case LUT8: return half(pal + row[i]);
  case LUT4: return half(pal + field(row, i, 4));
  }
  return 0;
}

static void test_gemv(const exec_kernel_table *k) {
  static const char *names[] = {"f32_gemv", "f16_gemv", "lut8_gemv", "lut4_gemv"};
  uint16_t *pal = pal_buf + 1;
  for (int i = 0; i < 256; i++) pal[i] = hrand();
  for (int f = F32; f <= LUT4; f++)
    for (int64_t t = 0; t < NLENS; t++) {
      int64_t n = lens[t], rows = 1 + (int64_t)(rnd() % 5);
      int64_t bytes = f == F32 ? 4 * n : f == F16 ? 2 * n : f == LUT8 ? n : (n + 1) / 2;
      int64_t ld = bytes + (f == F32 ? 4 : 3); /* rows padded: the stride is not the row length */
      /* fp32 rows must stay float-aligned; everything else starts one byte off */
      uint8_t *w = f == F32 ? wbuf + 4 : wbuf + 1;
      float *x = xbuf + 1;
      for (int64_t i = 0; i < rows * ld; i++) w[i] = (uint8_t)rnd();
      if (f == F32)
        for (int64_t r = 0; r < rows; r++)
          for (int64_t i = 0; i < n; i++) {
            float v = frand();
            memcpy(w + r * ld + 4 * i, &v, 4);
          }
      if (f == F16)
        for (int64_t r = 0; r < rows; r++)
          for (int64_t i = 0; i < n; i++) {
            uint16_t h = hrand();
            w[r * ld + 2 * i] = (uint8_t)h, w[r * ld + 2 * i + 1] = (uint8_t)(h >> 8);
          }
      for (int64_t i = 0; i < n; i++) x[i] = frand();
      switch (f) {
      case F32: k->f32_gemv((const float *)(const void *)w, ld / 4, rows, x, n, ybuf); break;
      case F16: k->f16_gemv(w, ld, rows, x, n, ybuf); break;
      case LUT8: k->lut8_gemv(pal, w, ld, rows, x, n, ybuf); break;
      case LUT4: k->lut4_gemv(pal, w, ld, rows, x, n, ybuf); break;
      }
      for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < n; i++) terms[i] = elem((form)f, w, ld, pal, r, i) * x[i];
        check_dot(ybuf[r], terms, n, names[f], n, r);
      }
    }
}

/* The transposed fp16 product: y[j] += sum_r x[r] w_r[j], y starting from nonzero values. */
static void test_gemv_t(const exec_kernel_table *k) {
  static float y[1100], y0[1100];
  for (int64_t t = 0; t < NLENS; t++) {
    int64_t n = lens[t], rows = 1 + (int64_t)(rnd() % 9), ld = 2 * n + 6;
    uint8_t *w = wbuf + 1;
    float *x = xbuf + 1;
    for (int64_t r = 0; r < rows; r++) {
      x[r] = frand();
      for (int64_t j = 0; j < n; j++) {
        uint16_t h = hrand();
        w[r * ld + 2 * j] = (uint8_t)h, w[r * ld + 2 * j + 1] = (uint8_t)(h >> 8);
      }
    }
    for (int64_t j = 0; j < n; j++) y0[j] = y[1 + j] = frand();
    k->f16_gemv_t(w, ld, rows, x, n, y + 1);
    for (int64_t j = 0; j < n; j++) {
      terms[0] = y0[j];
      for (int64_t r = 0; r < rows; r++) terms[1 + r] = elem(F16, w, ld, NULL, r, j) * x[r];
      check_dot(y[1 + j], terms, rows + 1, "f16_gemv_t", n, j);
    }
  }
}

static void test_gemm(const exec_kernel_table *k) {
  static const int64_t nws[] = {1, 3, 4, 5, 9}, nss[] = {1, 7, 16, 17, 33, 64, 70}, ks[] = {1, 5, 64, 131};
  static float w[9 * 132 + 1], x[131 * 80 + 1], y[9 * 80 + 1], y0[9 * 80]; /* ld = k + 1, ns + 3, ns + 2 */
  for (int a = 0; a < 5; a++)
    for (int b = 0; b < 7; b++)
      for (int c = 0; c < 4; c++) {
        int64_t nw = nws[a], ns = nss[b], kk = ks[c], ldw = kk + 1, ldx = ns + 3, ldy = ns + 2;
        float *wp = w + 1, *xp = x + 1, *yp = y + 1; /* one float off: misaligned for SIMD */
        for (int64_t i = 0; i < nw * ldw - 1; i++) wp[i] = frand();
        for (int64_t i = 0; i < kk * ldx - 1; i++) xp[i] = frand();
        for (int64_t i = 0; i < nw * ldy - 1; i++) y0[i] = yp[i] = frand();
        k->gemm(wp, ldw, nw, xp, ldx, ns, kk, yp, ldy);
        for (int64_t r = 0; r < nw; r++)
          for (int64_t s = 0; s < ns; s++) {
            terms[0] = y0[r * ldy + s];
            for (int64_t i = 0; i < kk; i++) terms[i + 1] = (double)wp[r * ldw + i] * xp[i * ldx + s];
            check_dot(yp[r * ldy + s], terms, kk + 1, "gemm", r, s);
          }
        for (int64_t r = 0; r < nw; r++) /* padding between rows is left alone */
          for (int64_t s = ns; s < ldy && r * ldy + s < nw * ldy - 1; s++) CHECK(yp[r * ldy + s] == y0[r * ldy + s]);
      }
}

/* The drivers over whole matrices: every index width, palettes shared by runs of rows, row
 * ranges that start inside a palette run and element ranges that start inside a row. */
static void test_wmat(void) {
  static uint16_t pals[4 * 256];
  static const int widths[] = {1, 2, 3, 4, 6, 8};
  for (int wi = 0; wi < 6; wi++) {
    int bits = widths[wi];
    int64_t rows = 7, cols = bits == 3 ? 40 : 44; /* rows of whole bytes */
    exec_wmat m = {EXEC_WMAT_LUT, bits, NULL, ibuf + 1, rows, cols, cols * bits / 8, pals, NULL, NULL, 2};
    for (int i = 0; i < 4 * 256; i++) pals[i] = hrand();
    for (int64_t i = 0; i < rows * m.ld; i++) ibuf[1 + i] = (uint8_t)rnd();
    float *x = xbuf + 1, y[7], all[7 * 44];
    for (int64_t i = 0; i < cols; i++) x[i] = frand();
    exec_wmat_gemv(&m, 1, rows, x, y, NULL);
    for (int64_t r = 1; r < rows; r++) {
      const uint16_t *pal = pals + (r / 2) * (1 << bits);
      for (int64_t i = 0; i < cols; i++) terms[i] = half(pal + field(ibuf + 1 + r * m.ld, i, bits)) * x[i];
      check_dot(y[r - 1], terms, cols, "wmat_gemv", bits, r);
    }
    int64_t start = 3, n = rows * cols - 5;
    exec_wmat_read(&m, start, n, all);
    for (int64_t e = start; e < start + n; e++) {
      int64_t r = e / cols, i = e % cols;
      float want = half(pals + (r / 2) * (1 << bits) + field(ibuf + 1 + r * m.ld, i, bits));
      CHECK_MSG(all[e - start] == want, "%s wmat_read bits=%d e=%lld", cur, bits, (long long)e);
    }
  }
}

/* The row kernels against float64: softmax (rows with -inf, a row of all -inf), silu over the
 * whole exp range and beyond, layer_norm with and without gamma / beta. exp may lose 2 ulp and
 * flush results below 2^-126 to 0 (silu: 4 ulp); a softmax value adds the rounding of x - max in
 * fp32 and of a sum of n terms (n / 2 ulp). */
static void test_rows(const exec_kernel_table *k) {
  static float x[1100], y[1100], g[1100], b[1100];
  for (int64_t t = 0; t < NLENS; t++) {
    int64_t n = lens[t];
    float *xp = x + 1, *yp = y + 1; /* misaligned */
    for (int64_t i = 0; i < n; i++) xp[i] = frand() * 20, g[i] = frand(), b[i] = frand();
    if (n > 3) xp[n / 2] = -INFINITY, xp[1] = -90; /* masked, and exp(x - max) below the normal range */
    k->softmax(xp, yp, n);
    double mx = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, xp[i]);
    for (int64_t i = 0; i < n; i++) sum += exp((double)xp[i] - mx);
    for (int64_t i = 0; i < n; i++) {
      double ref = exp((double)xp[i] - mx) / sum;
      double rel = (4 + (double)n / 2) * 0x1p-23 + (ref > 0 ? fabs(xp[i] - mx) * 0x1p-24 : 0); /* x - max rounds */
      CHECK_MSG(fabs(yp[i] - ref) <= rel * ref + 0x1p-120, "%s softmax n=%lld i=%lld: %.9g vs %.9g",
                cur, (long long)n, (long long)i, yp[i], ref);
    }
    if (n > 3) CHECK(yp[n / 2] == 0);
    for (int64_t i = 0; i < n; i++) xp[i] = -INFINITY;
    k->softmax(xp, yp, n);
    for (int64_t i = 0; i < n; i++) CHECK_MSG(yp[i] != yp[i], "%s softmax of -inf n=%lld", cur, (long long)n);
    for (int64_t i = 0; i < n; i++) xp[i] = (float)(i % 2 ? -1 : 1) * (float)i * 120.0f / (float)n + frand();
    k->silu(xp, yp, n);
    for (int64_t i = 0; i < n; i++) {
      double ref = xp[i] / (1 + exp(-(double)xp[i]));
      CHECK_MSG(fabs(yp[i] - ref) <= 4 * 0x1p-23 * fabs(ref) + 0x1p-120, "%s silu(%.9g): %.9g vs %.9g", cur, xp[i], yp[i],
                ref);
    }
    for (int64_t i = 0; i < n; i++) xp[i] = frand() * 300 + 50;
    for (int gb = 0; gb < 4; gb++) {
      const float *gp = gb & 1 ? g : NULL, *bp = gb & 2 ? b : NULL;
      k->layer_norm(xp, n, 1e-5f, gp, bp, yp);
      double mean = 0, var = 0;
      for (int64_t i = 0; i < n; i++) mean += xp[i];
      mean /= (double)n;
      for (int64_t i = 0; i < n; i++) var += (xp[i] - mean) * (xp[i] - mean);
      double inv = 1 / sqrt(var / (double)n + 1e-5f);
      for (int64_t i = 0; i < n; i++) {
        double ref = (xp[i] - mean) * inv * (gp ? gp[i] : 1) + (bp ? bp[i] : 0);
        CHECK_MSG(fabs(yp[i] - ref) <= 0x1p-23 * fabs(ref) + 1e-12, "%s layer_norm n=%lld i=%lld: %.9g vs %.9g", cur,
                  (long long)n, (long long)i, yp[i], ref);
      }
    }
  }
  float v[3] = {NAN, INFINITY, -INFINITY}, o[3];
  k->silu(v, o, 3);
  CHECK(o[0] != o[0] && o[1] == INFINITY && o[2] != o[2]); /* -inf * sigmoid(-inf) = -inf * 0 */
}

/* Elementwise arithmetic: IEEE-exact, so bit for bit the scalar float result, for every stride
 * pattern (rows and scalars) and length. */
static void test_binary(const exec_kernel_table *k) {
  static float a[1100], b[1100], o[1100];
  for (int op = EXEC_BIN_ADD; op <= EXEC_BIN_DIV; op++)
    for (int pat = 0; pat < 4; pat++)
      for (int64_t t = 0; t < NLENS; t++) {
        int64_t n = lens[t], sa = pat & 1, sb = pat >> 1;
        for (int64_t i = 0; i < n + 1; i++) a[i] = frand(), b[i] = frand() + (i % 7 == 3 ? 0 : 2.5f);
        k->binary(op, a + 1, sa, b + 1, sb, o + 1, n);
        for (int64_t i = 0; i < n; i++) {
          float x = a[1 + i * sa], y = b[1 + i * sb];
          float want = op == EXEC_BIN_ADD ? x + y : op == EXEC_BIN_SUB ? x - y : op == EXEC_BIN_MUL ? x * y : x / y;
          CHECK_MSG(memcmp(&want, &o[1 + i], 4) == 0, "%s binary op %d strides %lld,%lld n=%lld i=%lld", cur, op,
                    (long long)sa, (long long)sb, (long long)n, (long long)i);
        }
      }
}

/* The integer palette copy: P_j = (H_j * 256 + L_j - 32768) reproduces entry j within 0.51 p (half a
 * step, and the rounding of p and of its inverse, up to 32767 * 3 * 2^-24 p). */
static void test_palq(void) {
  uint16_t pal[256];
  uint8_t planes[512];
  for (int entries = 16; entries <= 256; entries *= 16) {
    for (int j = 0; j < entries; j++) pal[j] = hrand();
    float p = exec_palq_make(pal, entries, planes);
    double amax = 0;
    for (int j = 0; j < entries; j++) amax = fmax(amax, fabs(half(pal + j)));
    CHECK(fabs(p - amax / 32767) <= 1e-6 * amax / 32767);
    for (int j = 0; j < entries; j++) {
      int P = planes[j] * 256 + planes[entries + j] - 32768;
      CHECK_MSG(fabs(P * (double)p - half(pal + j)) <= 0.51 * p, "palq entry %d of %d", j, entries);
    }
    pal[entries / 2] = 0x7c00; /* inf */
    CHECK(exec_palq_make(pal, entries, planes) == -1);
  }
  memset(pal, 0, sizeof pal);
  CHECK(exec_palq_make(pal, 256, planes) == 0); /* all zero: scale 0, every product 0 */
}

/* Integer LUT products against float64, within the bound of kernels.h: the float bound plus the
 * quantisation of x (blocks as exec_xq_block groups them, scale max / 127, with the 8-bit rows'
 * residual) and of the palette (scale p). x has runs of zeros and outliers; the prepared buffer and
 * x start off alignment. */
static void test_gemv_xq(const exec_kernel_table *k) {
  /* the lengths above, and more than one 2048-value chunk of the 8-bit rows' int32 sums */
  static const int64_t xq_lens[] = {1, 7, 16, 17, 63, 64, 65, 127, 128, 129, 255, 1031, 2048, 2049, 4100};
  static uint8_t xqbuf[EXEC_XQ_BYTES(4100) + 3];
  static uint8_t planes[512];
  uint16_t *pal = pal_buf + 1;
  void *xq = xqbuf + 3;
  for (int f = LUT8; f <= LUT4; f++) {
    int entries = f == LUT8 ? 256 : 16;
    for (int i = 0; i < 256; i++) pal[i] = hrand();
    float ps = exec_palq_make(pal, entries, planes);
    for (size_t t = 0; t < sizeof xq_lens / sizeof *xq_lens; t++) {
      int64_t n = xq_lens[t], rows = 1 + (int64_t)(rnd() % 5);
      int64_t ld = (f == LUT8 ? n : (n + 1) / 2) + 3;
      uint8_t *w = wbuf + 1;
      float *x = xbuf + 1;
      for (int64_t i = 0; i < rows * ld; i++) w[i] = (uint8_t)rnd();
      for (int64_t i = 0; i < n; i++) x[i] = (i / 8) % 5 == 3 ? 0 : frand() * (i % 13 == 5 ? 100 : 1);
      CHECK(k->xq_prepare(x, n, xq) == 0);
      if (f == LUT8) k->lut8_gemv_xq(planes, ps, w, ld, rows, xq, n, ybuf);
      else k->lut4_gemv_xq(planes, ps, w, ld, rows, xq, n, ybuf);
      for (int64_t r = 0; r < rows; r++) {
        double ref = 0, mag = 0, quant = 0;
        for (int64_t i = 0; i < n; i++) {
          double wi = elem((form)f, w, ld, pal, r, i), bmax = 0;
          for (int64_t j = 0; j < n; j++)
            if (exec_xq_block(f == LUT8 ? 8 : 4, i, j)) bmax = fmax(bmax, fabs(x[j]));
          double si = bmax / 127, ei = f == LUT8 ? si / 256 : si / 2; /* x's error */
          ref += wi * x[i], mag += fabs(wi * x[i]);
          quant += fabs(wi) * ei + (fabs(x[i]) + ei) * ps * 0.51 + (f == LUT8 ? 128 * ps * si : 0);
        }
        double bound = (double)(n + 2) * 0x1p-23 * (mag + quant) + 1.001 * quant;
        CHECK_MSG(fabs(ybuf[r] - ref) <= bound, "%s %s_xq (%lld, %lld): %.9g vs %.9g, bound %.3g", cur,
                  f == LUT8 ? "lut8_gemv" : "lut4_gemv", (long long)n, (long long)r, ybuf[r], ref, bound);
      }
    }
  }
  xbuf[1 + 5] = NAN;
  CHECK(k->xq_prepare(xbuf + 1, 17, xq) == -1);
  xbuf[1 + 5] = INFINITY;
  CHECK(k->xq_prepare(xbuf + 1, 17, xq) == -1);
}

/* The integer prefill product against float64: x channel-major (c * ldx + s), 14 bits in blocks
 * of 32 channels per position, 12-bit weights, rows with their own palettes, y accumulated onto. */
static void test_gemm_xq(const exec_kernel_table *k) {
  static const int64_t ks[] = {1, 5, 31, 32, 33, 64, 100, 131}, nss[] = {1, 7, 16, 17, 40};
  static uint8_t xqt[EXEC_XQT_BYTES(131, 40) + 3], tile[EXEC_TILE_BYTES(131) + 5], planes[4 * 512], idx[4 * 140];
  static uint16_t pals[4 * 256];
  static float x[131 * 43 + 1], y[4 * 45 + 1], y0[4 * 45];
  float ps[4];
  for (int bits = 8; bits >= 4; bits -= 4)
    for (int a = 0; a < 8; a++)
      for (int b = 0; b < 5; b++) {
        int64_t kk = ks[a], ns = nss[b], ldx = ns + 3, ldy = ns + 2, ld = bits == 8 ? kk : (kk + 1) / 2;
        int nr = 1 + (int)(rnd() % 4), entries = 1 << bits;
        const uint8_t *rows[4], *pl[4];
        for (int r = 0; r < 4; r++) {
          for (int i = 0; i < entries; i++) pals[r * 256 + i] = hrand();
          ps[r] = exec_palq_make(pals + r * 256, entries, planes + r * 512);
          for (int64_t i = 0; i < ld; i++) idx[r * 140 + i] = (uint8_t)rnd();
          rows[r] = idx + r * 140, pl[r] = planes + r * 512;
        }
        float *xp = x + 1;
        for (int64_t i = 0; i < kk * ldx; i++) xp[i] = frand() * (i % 11 == 4 ? 50 : 1);
        for (int64_t i = 0; i < 4 * ldy; i++) y0[i] = y[1 + i] = frand();
        CHECK(k->xqt_prepare(xp, ldx, kk, ns, xqt + 3) == 0);
        k->lut_gemm_xq(bits, rows, pl, ps, nr, kk, xqt + 3, ns, y + 1, ldy, tile + 5);
        for (int r = 0; r < 4; r++)
          for (int64_t s = 0; s < ns; s++) {
            double ref = y0[r * ldy + s], mag = fabs(ref), quant = 0;
            if (r >= nr) { /* rows past nr are left alone */
              CHECK(y[1 + r * ldy + s] == y0[r * ldy + s]);
              continue;
            }
            for (int64_t c = 0; c < kk; c++) {
              double wv = half(pals + r * 256 + (bits == 8 ? rows[r][c] : field(rows[r], c, 4))), bmax = 0;
              for (int64_t j = c / 32 * 32; j < c / 32 * 32 + 32 && j < kk; j++) bmax = fmax(bmax, fabs(xp[j * ldx + s]));
              double xv = xp[c * ldx + s], si = bmax / 8191;
              ref += wv * xv, mag += fabs(wv * xv);
              quant += fabs(wv) * si / 2 + (fabs(xv) + si / 2) * ps[r] * 16;
            }
            double bound = (double)(kk + 2) * 0x1p-23 * (mag + quant) + 1.001 * quant;
            CHECK_MSG(fabs(y[1 + r * ldy + s] - ref) <= bound, "%s lut_gemm_xq bits=%d k=%lld ns=%lld (%d, %lld): %.9g vs %.9g, bound %.3g",
                      cur, bits, (long long)kk, (long long)ns, r, (long long)s, y[1 + r * ldy + s], ref, bound);
          }
      }
}

/* The driver picks the integer products only with palette copies, when they are on, and for a
 * finite x; otherwise it gives the float kernels' results bit for bit. */
static void test_wmat_xq(const exec_kernel_table *k) {
  static uint16_t pals[4 * 256];
  static uint8_t planes[4 * 512], xqbuf[EXEC_XQ_BYTES(300)];
  static float scales[4];
  int64_t rows = 7, cols = 300;
  for (int i = 0; i < 4 * 256; i++) pals[i] = hrand();
  for (int g = 0; g < 4; g++) scales[g] = exec_palq_make(pals + 256 * g, 256, planes + 512 * g);
  exec_wmat m = {EXEC_WMAT_LUT, 8, NULL, ibuf + 1, rows, cols, cols, pals, planes, scales, 2};
  for (int64_t i = 0; i < rows * cols; i++) ibuf[1 + i] = (uint8_t)rnd();
  float *x = xbuf + 1, yi[7], yf[7], want[7];
  for (int64_t i = 0; i < cols; i++) x[i] = frand();
  for (int64_t r = 0; r < rows; r++) k->lut8_gemv(pals + (r / 2) * 256, ibuf + 1 + r * cols, cols, 1, x, cols, &want[r]);
  exec_wmat_gemv(&m, 0, rows, x, yi, xqbuf);
  exec_kernels_set_int8(0);
  exec_wmat_gemv(&m, 0, rows, x, yf, xqbuf);
  exec_kernels_set_int8(1);
  int differs = 0;
  for (int64_t r = 0; r < rows; r++) {
    double mag = 0; /* the bound itself is tested above: here, only that the rows and palettes match */
    for (int64_t i = 0; i < cols; i++) mag += fabs(half(pals + (r / 2) * 256 + ibuf[1 + r * cols + i]) * x[i]);
    CHECK(yf[r] == want[r]);
    differs |= yi[r] != want[r];
    CHECK_MSG(fabs(yi[r] - want[r]) <= 1e-2 * mag, "row %lld: %g vs %g", (long long)r, yi[r], want[r]);
  }
  CHECK(differs); /* the integer path did run */
  x[3] = INFINITY; /* not quantisable: the float path */
  want[0] = 0;
  exec_wmat_gemv(&m, 0, 1, x, yi, xqbuf);
  k->lut8_gemv(pals, ibuf + 1, cols, 1, x, cols, &want[0]);
  CHECK(memcmp(&yi[0], &want[0], sizeof yi[0]) == 0);
}

/* One thread of a claimed job. */
typedef struct claim_thread {
  const exec_wmat *const *m;
  float *const *y;
  const float *x;
  exec_claims *c;
  int ith;
} claim_thread;

static void *claim_main(void *arg) {
  const claim_thread *t = arg;
  exec_wmat_gemv_claim(t->m, 3, t->ith, t->x, t->y, NULL, t->c);
  return NULL;
}

/* Rows claimed by threads across several matrices (exec_wmat_gemv_claim): a range per thread, runs
 * of at least 64 KB, never across two matrices, the runs of another's range taken from its top.
 * Whatever the thread count and whichever threads come (all of them at once, or one alone, which
 * then takes every range), every row is computed once, as exec_wmat_gemv computes it, and every
 * range ends empty. */
static void test_wmat_claim(void) {
  enum { COLS = 4096, GROUP = 8 };
  static const int64_t rows[3] = {200, 24, 1000}; /* in groups of 8; 16 rows are 64 KB */
  int64_t total = rows[0] + rows[1] + rows[2];
  uint8_t *w = malloc((size_t)(total * COLS * 2));
  uint16_t *pals = malloc((size_t)(total / GROUP * 256) * sizeof *pals);
  float *x = malloc(COLS * sizeof *x), *y = malloc((size_t)total * sizeof *y);
  float *want = malloc((size_t)total * sizeof *want);
  CHECK(w && pals && x && y && want);
  if (!w || !pals || !x || !y || !want) goto done;
  for (int64_t i = 0; i < total * COLS * 2; i++) w[i] = (uint8_t)rnd();
  for (int64_t i = 0; i < total * COLS; i += 2) w[i + 1] &= 0x3b; /* fp16 rows: finite, not huge */
  for (int64_t i = 0; i < total / GROUP * 256; i++) pals[i] = hrand();
  for (int64_t i = 0; i < COLS; i++) x[i] = frand();
  for (int kind = 0; kind < 2; kind++) { /* fp16 rows, 8-bit LUT rows */
    exec_wmat m[3];
    const exec_wmat *mp[3];
    float *yp[3];
    int64_t off = 0;
    for (int j = 0; j < 3; j++) {
      exec_wmat lut = {EXEC_WMAT_LUT, 8, NULL, w + off * COLS, rows[j], COLS, COLS, pals + off / GROUP * 256, NULL, NULL, GROUP};
      exec_wmat f16 = {EXEC_WMAT_F16, 0, NULL, w + off * 2 * COLS, rows[j], COLS, 2 * COLS, NULL, NULL, NULL, 1};
      m[j] = kind ? lut : f16;
      mp[j] = &m[j], yp[j] = y + off;
      exec_wmat_gemv(&m[j], 0, rows[j], x, want + off, NULL);
      off += rows[j];
    }
    for (int nth = 1; nth <= 7; nth += 2)
      for (int together = 0; together < 2; together++) {
        exec_claims c;
        pthread_t th[7];
        claim_thread arg[7];
        int started = 0;
        exec_claims_init(&c, mp, 3, nth);
        for (int64_t r = 0; r < total; r++) y[r] = NAN;
        for (int t = 0; t < nth; t++) arg[t] = (claim_thread){mp, yp, x, &c, t};
        if (together)
          for (int t = 1; t < nth; t++) started += pthread_create(&th[t], NULL, claim_main, &arg[t]) == 0;
        claim_main(&arg[nth - 1 - (together ? nth - 1 : 0)]); /* alone: the last thread takes every range */
        for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
        for (int t = 0; t < c.n; t++)
          CHECK((atomic_load(&c.range[t]) >> 32) == (atomic_load(&c.range[t]) & 0xffffffffu));
        CHECK_MSG(memcmp(y, want, (size_t)total * sizeof *y) == 0, "claimed rows differ (kind %d, nth %d, %s)", kind,
                  nth, together ? "together" : "one thread");
      }
  }
done:
  free(w), free(pals), free(x), free(y), free(want);
}

/* mr_f16_to_f32 (the public conversion, through the table): every fp16 value exactly, NaN as NaN. */
static void test_f16_public(void) {
  static uint16_t h[65536];
  static float f[65536 + 1];
  for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
  f[65536] = 42;
  mr_f16_to_f32(h, f, 65536);
  int bad = 0;
  for (int i = 0; i < 65536; i++) {
    float want = util_f16_to_f32(h[i]);
    bad += isnan(want) ? !isnan(f[i]) : memcmp(&want, &f[i], sizeof want) != 0;
  }
  CHECK_MSG(bad == 0, "%s mr_f16_to_f32: %d values differ", cur, bad);
  CHECK(f[65536] == 42); /* nothing written past n */
}

static void test_paths(void) {
  const char *need = getenv("MR_REQUIRE_KERNELS");
  int ran = 0;
  for (const char *const *name = exec_kernels_names(); *name; name++) {
    if (exec_kernels_select(*name) != 0) {
      printf("  kernels %s: not available on this CPU or build, skipped\n", *name);
      CHECK_MSG(!need || strcmp(need, *name), "required kernels %s are not available", *name);
      continue;
    }
    cur = *name;
    int before = th_failures;
    test_decode(exec_kernels());
    test_gemv(exec_kernels());
    test_gemm(exec_kernels());
    test_gemv_t(exec_kernels());
    test_wmat();
    test_f16_public();
    test_rows(exec_kernels());
    test_binary(exec_kernels());
    if (exec_kernels()->xq_prepare) {
      test_gemv_xq(exec_kernels());
      test_gemm_xq(exec_kernels());
      test_wmat_xq(exec_kernels());
    }
    printf("  kernels %s: integer LUT products %s\n", *name, exec_kernels()->xq_prepare ? "tested" : "absent");
    printf("  kernels %s: %s\n", *name, th_failures == before ? "ok" : "FAILED");
    ran++;
  }
  CHECK(ran >= 1);
  exec_kernels_select("portable");
  CHECK_EQ_STR(exec_kernels()->name, "portable");
  CHECK(exec_kernels_select("no-such-kernels") == -1);
  CHECK_EQ_STR(exec_kernels()->name, "portable");
}

/* The public choice of kernels (milrun.h): every name listed, a bad one refused with a message and
 * nothing changed, a good one in use at once, and the integer LUT products only where the table
 * has them. */
static void test_public_choice(void) {
  mr_error err = {0};
  const char *before = mr_kernels();
  CHECK_EQ_INT(mr_set_kernels("no-such-kernels", &err), MR_EINVAL);
  CHECK(strstr(err.msg, "no-such-kernels") != NULL);
  CHECK_EQ_STR(mr_kernels(), before);
  CHECK_EQ_INT(mr_set_kernels(NULL, NULL), MR_EINVAL);
  int listed = 0;
  for (const char *const *n = mr_kernels_names(); *n; n++, listed++) {
    if (mr_set_kernels(*n, NULL) != MR_OK) continue; /* not on this CPU */
    CHECK_EQ_STR(mr_kernels(), *n);
    CHECK_EQ_INT(mr_lut_int8(), exec_kernels()->xq_prepare ? 1 : -1);
  }
  CHECK(listed >= 4);
  CHECK_EQ_INT(mr_set_kernels("portable", &err), MR_OK);
  CHECK_EQ_INT(mr_lut_int8(), -1);
  CHECK_EQ_INT(mr_set_kernels(before, &err), MR_OK);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"every kernel table against float64", test_paths},
                                  {"integer palette copies", test_palq},
                                  {"rows claimed across matrices", test_wmat_claim},
                                  {"public choice of kernels", test_public_choice},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
