/* kmeans.c — 1-D k-means per group. The values are fp16 (what the weight would store without a
 * LUT), so a two-pass radix sort on their 16-bit keys sorts a group in linear time; the sorted
 * distinct values with their counts and prefix sums make each Lloyd step O(k log n): a cluster is a
 * contiguous run of sorted values between two centroid midpoints, and its mean comes from the
 * prefix sums. This keeps a 0.6B-parameter LUT conversion within minutes on two cores. */
#include "convert/kmeans.h"

#include <math.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"

/* Order-preserving key of an fp16 bit pattern (negative values reversed below positive ones). */
static uint16_t sort_key(uint16_t h) { return (h & 0x8000) ? (uint16_t)~h : (uint16_t)(h | 0x8000); }
static uint16_t from_key(uint16_t k) { return (k & 0x8000) ? (uint16_t)(k & 0x7fff) : (uint16_t)~k; }

typedef struct kscratch {
  uint16_t *a, *b;   /* keys, radix buffers */
  double *u, *wsum, *vsum; /* distinct values, prefix counts, prefix value sums (m + 1) */
  double *c;         /* centroids */
  int64_t cap;
} kscratch;

static void radix_sort(uint16_t *a, uint16_t *b, int64_t n) {
  for (int shift = 0; shift < 16; shift += 8) {
    int64_t cnt[257] = {0};
    for (int64_t i = 0; i < n; i++) cnt[((a[i] >> shift) & 0xff) + 1]++;
    for (int i = 0; i < 256; i++) cnt[i + 1] += cnt[i];
    for (int64_t i = 0; i < n; i++) b[cnt[(a[i] >> shift) & 0xff]++] = a[i];
    memcpy(a, b, (size_t)n * sizeof *a);
  }
}

/* First index i in [0, m) with u[i] > x (m if none). */
static int64_t upper(const double *u, int64_t m, double x) {
  int64_t lo = 0, hi = m;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (u[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* Seeds for Lloyd: an optimal scalar quantizer places its levels with density proportional to
 * p(x)^(1/3) (Panter-Dite), so the seeds are the quantiles (j + 1/2) / k of the cube root of a
 * histogram of the values; plain count quantiles would crowd the centre and starve the tails,
 * which Lloyd then fixes only slowly. */
static void seed(kscratch *s, int64_t m, int k) {
  enum { NB = 256 };
  double lo = s->u[0], hi = s->u[m - 1], wgt[NB], cum[NB + 1];
  double width = (hi - lo) / NB;
  for (int b = 0; b < NB; b++) wgt[b] = 0;
  for (int64_t i = 0; i < m; i++) {
    int b = (int)((s->u[i] - lo) / width);
    wgt[b < NB ? b : NB - 1] += s->wsum[i + 1] - s->wsum[i];
  }
  cum[0] = 0;
  for (int b = 0; b < NB; b++) cum[b + 1] = cum[b] + cbrt(wgt[b]);
  int b = 0;
  for (int j = 0; j < k; j++) {
    double target = (j + 0.5) / k * cum[NB];
    while (b < NB - 1 && cum[b + 1] < target) b++;
    double frac = wgt[b] > 0 ? (target - cum[b]) / (cum[b + 1] - cum[b]) : 0.5;
    s->c[j] = lo + (b + frac) * width;
  }
}

/* Cluster the n fp16 values `vals` into k sorted centroids c[]. */
static void cluster(kscratch *s, const uint16_t *vals, int64_t n, int k) {
  for (int64_t i = 0; i < n; i++) s->a[i] = sort_key(vals[i]);
  radix_sort(s->a, s->b, n);
  int64_t m = 0;
  s->wsum[0] = s->vsum[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = util_f16_to_f32(from_key(s->a[i]));
    if (m == 0 || v != s->u[m - 1]) {
      s->u[m] = v;
      s->wsum[m + 1] = s->wsum[m];
      s->vsum[m + 1] = s->vsum[m];
      m++;
    }
    s->wsum[m] += 1;
    s->vsum[m] += v;
  }
  if (m <= k) { /* every distinct value gets its own centroid: exact */
    for (int j = 0; j < k; j++) s->c[j] = s->u[j < m ? j : m - 1];
    return;
  }
  seed(s, m, k);
  for (int it = 0; it < 300; it++) {
    int changed = 0;
    int64_t begin = 0;
    for (int j = 0; j < k; j++) {
      int64_t end = j == k - 1 ? m : upper(s->u, m, 0.5 * (s->c[j] + s->c[j + 1]));
      if (end < begin) end = begin;
      double w = s->wsum[end] - s->wsum[begin];
      if (w > 0) {
        double nc = (s->vsum[end] - s->vsum[begin]) / w;
        if (nc != s->c[j]) changed = 1;
        s->c[j] = nc;
      }
      begin = end;
    }
    for (int j = 1; j < k; j++) /* keep the order the boundary search relies on */
      if (s->c[j] < s->c[j - 1]) s->c[j] = s->c[j - 1];
    if (!changed) break;
  }
}

static void scratch_free(kscratch *s) {
  mr_free(s->a);
  mr_free(s->b);
  mr_free(s->u);
  mr_free(s->wsum);
  mr_free(s->vsum);
  mr_free(s->c);
}

int conv_kmeans_palettize(const uint16_t *w, int64_t rows, int64_t cols, int bits, int64_t group, uint16_t *lut,
                          uint8_t *idx, double *err2, double *ref2, mr_error *err) {
  if (group == 0) group = rows;
  if (bits < 1 || bits > 8 || group < 1 || rows % group)
    return util_err(err, MR_EINVAL, "palettize: %d bits with groups of %lld rows does not fit %lld rows", bits,
                    (long long)group, (long long)rows);
  int k = 1 << bits;
  int64_t n = group * cols;
  kscratch s = {0};
  s.a = mr_alloc((size_t)n * 2);
  s.b = mr_alloc((size_t)n * 2);
  s.u = mr_alloc((size_t)n * sizeof(double));
  s.wsum = mr_alloc((size_t)(n + 1) * sizeof(double));
  s.vsum = mr_alloc((size_t)(n + 1) * sizeof(double));
  s.c = mr_alloc((size_t)k * sizeof(double));
  if (!s.a || !s.b || !s.u || !s.wsum || !s.vsum || !s.c) {
    scratch_free(&s);
    return util_err_nomem(err, "palettize");
  }
  for (int64_t g = 0; g < rows / group; g++) {
    const uint16_t *gw = w + g * n;
    cluster(&s, gw, n, k);
    uint16_t *gl = lut + g * k;
    double lv[256];
    for (int j = 0; j < k; j++) {
      gl[j] = util_f32_to_f16((float)s.c[j]);
      lv[j] = util_f16_to_f32(gl[j]);
    }
    for (int64_t i = 0; i < n; i++) {
      double v = util_f16_to_f32(gw[i]);
      int lo = 0, hi = k - 1; /* nearest of the sorted LUT values */
      while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v > 0.5 * (lv[mid] + lv[mid + 1])) lo = mid + 1;
        else hi = mid;
      }
      idx[g * n + i] = (uint8_t)lo;
      *err2 += (v - lv[lo]) * (v - lv[lo]);
      *ref2 += v * v;
    }
  }
  scratch_free(&s);
  return MR_OK;
}
