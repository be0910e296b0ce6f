/* test_convert_kmeans.c — LUT palettization against a naive float64 Lloyd k-means written here
 * (O(n*k) assignment, same quantile seeds), plus the properties coremltools' per_grouped_channel
 * mode has: one LUT per group of rows, every index the nearest LUT entry, exact when a group has at
 * most 2^bits distinct values, and the same output on every run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/kmeans.h"
#include "harness.h"
#include "util/fp16.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;
static double gauss(void) { /* Box-Muller over xorshift */
  double u[2];
  for (int i = 0; i < 2; i++) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    u[i] = ((double)(seed >> 11) + 0.5) / 9007199254740992.0;
  }
  return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Naive reference: sort; seeds at the (j + 1/2)/k quantiles of the cube root of a 256-bin
 * histogram (the Panter-Dite point density); full Lloyd with O(n k) nearest search. */
static double naive_error(const uint16_t *w, int64_t n, int k) {
  double *v = malloc((size_t)n * sizeof *v), *c = malloc((size_t)k * sizeof *c), *s = malloc((size_t)k * sizeof *s);
  int64_t *cnt = malloc((size_t)k * sizeof *cnt);
  for (int64_t i = 0; i < n; i++) v[i] = util_f16_to_f32(w[i]);
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double lo = v[0], hi = v[n - 1], h[256] = {0}, total = 0;
  for (int64_t i = 0; i < n; i++) {
    int b = (int)((v[i] - lo) / ((hi - lo) / 256));
    h[b > 255 ? 255 : b] += 1;
  }
  for (int b = 0; b < 256; b++) total += cbrt(h[b]);
  for (int j = 0; j < k; j++) {
    double target = (j + 0.5) / k * total, acc = 0;
    int b = 0;
    while (b < 255 && acc + cbrt(h[b]) < target) acc += cbrt(h[b++]);
    c[j] = lo + (b + (h[b] > 0 ? (target - acc) / cbrt(h[b]) : 0.5)) * (hi - lo) / 256;
  }
  for (int it = 0; it < 300; it++) {
    memset(s, 0, (size_t)k * sizeof *s);
    memset(cnt, 0, (size_t)k * sizeof *cnt);
    for (int64_t i = 0; i < n; i++) {
      int best = 0;
      for (int j = 1; j < k; j++)
        if (fabs(v[i] - c[j]) < fabs(v[i] - c[best])) best = j;
      s[best] += v[i];
      cnt[best]++;
    }
    int changed = 0;
    for (int j = 0; j < k; j++)
      if (cnt[j] && s[j] / cnt[j] != c[j]) c[j] = s[j] / cnt[j], changed = 1;
    if (!changed) break;
  }
  double e = 0;
  for (int64_t i = 0; i < n; i++) {
    double best = INFINITY;
    for (int j = 0; j < k; j++) {
      double q = util_round_f16((float)c[j]);
      if (fabs(v[i] - q) < best) best = fabs(v[i] - q);
    }
    e += best * best;
  }
  free(v), free(c), free(s), free(cnt);
  return e;
}

static void test_against_naive(void) {
  enum { ROWS = 16, COLS = 96 };
  static uint16_t w[ROWS * COLS], lut[2 * 256];
  static uint8_t idx[ROWS * COLS];
  for (int i = 0; i < ROWS * COLS; i++) w[i] = util_f32_to_f16((float)(0.05 * gauss()));
  int bits_list[] = {2, 4, 6};
  for (int b = 0; b < 3; b++) {
    int bits = bits_list[b], k = 1 << bits;
    double e2 = 0, r2 = 0;
    mr_error err = {0};
    CHECK_EQ_INT(conv_kmeans_palettize(w, ROWS, COLS, bits, 8, lut, idx, &e2, &r2, &err), MR_OK);
    double ref = naive_error(w, 8 * COLS, k) + naive_error(w + 8 * COLS, 8 * COLS, k);
    /* the same local optimum up to fp16 rounding of the centroids */
    CHECK_NEAR(e2, ref, 0.02 * ref + 1e-12);
    double rel = sqrt(e2 / r2);
    /* Panter-Dite: an optimal b-bit quantizer of a Gaussian has rel. RMS ~ sqrt(2.72) / 2^b (or
     * less: with a dozen values per centroid the sample is fitted better than the distribution) */
    fprintf(stderr, "  %d bits: rel. RMS %.4f (Panter-Dite %.4f)\n", bits, rel, sqrt(2.72) / k);
    CHECK(rel < 1.1 * sqrt(2.72) / k);
    for (int g = 0; g < 2; g++)
      for (int i = 0; i < 8 * COLS; i++) { /* nearest entry of its group's LUT */
        double v = util_f16_to_f32(w[g * 8 * COLS + i]);
        double d = fabs(v - util_f16_to_f32(lut[g * k + idx[g * 8 * COLS + i]]));
        for (int j = 0; j < k; j++) CHECK(d <= fabs(v - util_f16_to_f32(lut[g * k + j])));
      }
  }
}

static void test_exact_and_deterministic(void) {
  uint16_t w[8 * 10], lut[16], lut2[16];
  uint8_t idx[80], idx2[80];
  for (int i = 0; i < 80; i++) w[i] = util_f32_to_f16((float)((i * 7) % 5) - 2.0f); /* 5 distinct values */
  double e2 = 0, r2 = 0;
  mr_error err = {0};
  CHECK_EQ_INT(conv_kmeans_palettize(w, 8, 10, 3, 8, lut, idx, &e2, &r2, &err), MR_OK);
  CHECK(e2 == 0.0);
  for (int i = 0; i < 80; i++) CHECK(lut[idx[i]] == w[i]);
  double e3 = 0, r3 = 0;
  CHECK_EQ_INT(conv_kmeans_palettize(w, 8, 10, 3, 0, lut2, idx2, &e3, &r3, &err), MR_OK);
  CHECK(!memcmp(lut, lut2, 8 * sizeof *lut) && !memcmp(idx, idx2, sizeof idx));
  CHECK_EQ_INT(conv_kmeans_palettize(w, 8, 10, 3, 3, lut, idx, &e2, &r2, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "palettize: 3 bits with groups of 3 rows does not fit 8 rows");
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"against_naive", test_against_naive},
                                  {"exact_and_deterministic", test_exact_and_deterministic},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
