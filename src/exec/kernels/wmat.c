/* wmat.c — running the kernel table over a whole weight matrix: rows are taken in runs that share
 * one palette, and indices of widths other than 4 and 8 bits (LUT1/2/3/5/6/7) are unpacked a
 * chunk at a time into bytes and looked up as 8-bit indices into the palette padded to 256. */
#include <math.h>
#include <string.h>

#include "exec/kernels/kernels.h"
#include "util/fp16.h"

#define CHUNK 1024 /* elements unpacked at a time (a multiple of 8: chunks start on a byte) */

/* n fields of `bits` bits starting at bit `bit0` of src, one per byte. Reads only the bytes that
 * hold them. */
static void unpack(const uint8_t *src, int64_t bit0, int bits, int64_t n, uint8_t *dst) {
  src += bit0 >> 3;
  uint32_t buf = 0, mask = (1u << bits) - 1;
  int have = 0, skip = (int)(bit0 & 7);
  if (skip) {
    buf = (uint32_t)*src++ >> skip;
    have = 8 - skip;
  }
  for (int64_t i = 0; i < n; i++) {
    while (have < bits) {
      buf |= (uint32_t)*src++ << have;
      have += 8;
    }
    dst[i] = (uint8_t)(buf & mask);
    buf >>= bits;
    have -= bits;
  }
}

static void pad_palette(const uint16_t *pal, int bits, uint16_t out[256]) {
  memset(out, 0, 256 * sizeof *out);
  memcpy(out, pal, ((size_t)1 << bits) * sizeof *out);
}

static const uint16_t *palette(const exec_wmat *m, int64_t row) {
  return m->pal + (size_t)(row / m->group_rows) * ((size_t)1 << m->bits);
}

float exec_palq_make(const uint16_t *pal, int entries, uint8_t *planes) {
  float v[256], amax = 0;
  for (int j = 0; j < entries; j++) {
    const uint8_t *b = (const uint8_t *)(pal + j);
    v[j] = util_f16_to_f32((uint16_t)(b[0] | b[1] << 8));
    if (!isfinite(v[j])) return -1;
    if (fabsf(v[j]) > amax) amax = fabsf(v[j]);
  }
  float inv = amax > 0 ? 32767.0f / amax : 0;
  for (int j = 0; j < entries; j++) {
    unsigned u = (unsigned)((long)nearbyintf(v[j] * inv) + 32768);
    planes[j] = (uint8_t)(u >> 8), planes[entries + j] = (uint8_t)u;
  }
  return amax / 32767.0f;
}

/* Rows [lo, hi) sharing one palette; xq: x prepared for the integer kernels, or NULL. */
static void lut_rows(const exec_kernel_table *k, const exec_wmat *m, int64_t lo, int64_t hi, const float *x,
                     const void *xq, float *y) {
  const uint16_t *pal = palette(m, lo);
  const uint8_t *w = m->data + lo * m->ld;
  int64_t g = lo / m->group_rows;
  float ps = xq ? m->palq_scale[g] : -1; /* -1: no integer palette (inf or NaN in it) */
  const uint8_t *planes = xq ? m->palq + (size_t)g * ((size_t)2 << m->bits) : NULL;
  if (m->bits == 8) {
    if (ps >= 0) k->lut8_gemv_xq(planes, ps, w, m->ld, hi - lo, xq, m->cols, y);
    else k->lut8_gemv(pal, w, m->ld, hi - lo, x, m->cols, y);
    return;
  }
  if (m->bits == 4) {
    if (ps >= 0) k->lut4_gemv_xq(planes, ps, w, m->ld, hi - lo, xq, m->cols, y);
    else k->lut4_gemv(pal, w, m->ld, hi - lo, x, m->cols, y);
    return;
  }
  uint16_t p256[256];
  uint8_t idx[CHUNK];
  pad_palette(pal, m->bits, p256);
  for (int64_t r = 0; r < hi - lo; r++) {
    float sum = 0;
    for (int64_t c = 0; c < m->cols; c += CHUNK) {
      int64_t len = m->cols - c < CHUNK ? m->cols - c : CHUNK;
      float part;
      unpack(w + r * m->ld, c * m->bits, m->bits, len, idx);
      k->lut8_gemv(p256, idx, 0, 1, x + c, len, &part);
      sum += part;
    }
    y[r] = sum;
  }
}

/* Rows [lo, hi) into y (y[0] is row lo's); xq: x prepared for the integer kernels, or NULL. */
static void gemv_rows(const exec_kernel_table *k, const exec_wmat *m, int64_t lo, int64_t hi, const float *x,
                      const void *xq, float *y) {
  switch (m->kind) {
  case EXEC_WMAT_F32:
    k->f32_gemv(m->f32 + lo * m->cols, m->cols, hi - lo, x, m->cols, y);
    return;
  case EXEC_WMAT_F16:
    k->f16_gemv(m->data + lo * m->ld, m->ld, hi - lo, x, m->cols, y);
    return;
  case EXEC_WMAT_LUT:
    for (int64_t r = lo; r < hi;) {
      int64_t end = (r / m->group_rows + 1) * m->group_rows;
      if (end > hi) end = hi;
      lut_rows(k, m, r, end, x, xq, y + (r - lo));
      r = end;
    }
    return;
  }
}

/* x quantised once for all the rows a thread computes (their palettes are converted at load), or
 * NULL when the float kernels must run. */
static void *prepare(const exec_kernel_table *k, const exec_wmat *m, const float *x, void *xq) {
  if (m->kind != EXEC_WMAT_LUT || !xq || !m->palq || !k->xq_prepare || !exec_kernels_int8()) return NULL;
  return k->xq_prepare(x, m->cols, xq) == 0 ? xq : NULL;
}

void exec_wmat_gemv(const exec_wmat *m, int64_t lo, int64_t hi, const float *x, float *y, void *xq) {
  const exec_kernel_table *k = exec_kernels();
  gemv_rows(k, m, lo, hi, x, prepare(k, m, x, xq), y);
}

/* The rows of m one claim takes: 64 KB, in whole palette groups. (A thread's own runs follow each
 * other, so their size matters only where another thread steals: 16 KB runs halved the waiting at
 * the end of the jobs but read ~1 % slower, paired against 64 KB.) */
static int64_t min_claim(const exec_wmat *m) {
  int64_t g = m->kind == EXEC_WMAT_LUT ? m->group_rows : 1, bytes = m->kind == EXEC_WMAT_F32 ? 4 * m->cols : m->ld;
  int64_t rows = ((64 << 10) + bytes - 1) / bytes;
  return (rows + g - 1) / g * g;
}

/* Runs are claimed from per-thread ranges. Under the guided scheme before (each claim 1/nth of the
 * rows left) a thread's claims were not adjacent, so each restarted the hardware prefetchers, and
 * the first took half the rows whatever that thread's speed: in a LUT8 decode step the two threads
 * waited for each other for 7 % of the time in jobs. Here a thread's own runs follow each other in
 * memory, one stream, and only the runs stolen from the top of a slower thread's range are apart:
 * 3.5 % waiting, and +1 % tokens/s (bench/paired_decode.py --baseline-lib, both orders). */
static uint64_t pack(int64_t lo, int64_t hi) { return (uint64_t)lo << 32 | (uint64_t)hi; }

void exec_claims_init(exec_claims *c, const exec_wmat *const *m, int count, int nth) {
  int64_t total = 0;
  for (int j = 0; j < count; j++) total += m[j]->rows;
  c->n = nth < 1 ? 1 : nth > EXEC_CLAIM_MAX ? EXEC_CLAIM_MAX : nth;
  for (int t = 0; t < c->n; t++) {
    int64_t lo = total * t / c->n / 64 * 64, hi = t + 1 == c->n ? total : total * (t + 1) / c->n / 64 * 64;
    atomic_init(&c->range[t], pack(lo, hi));
  }
}

/* The matrices of one job end to end: matrix j holds rows [start[j], start[j + 1]). */
typedef struct row_space {
  const exec_wmat *const *m;
  int count;
  int64_t start[EXEC_CLAIM_MATRICES + 1];
} row_space;

static int matrix_of(const row_space *s, int64_t row) {
  int j = 0;
  while (j + 1 < s->count && s->start[j + 1] <= row) j++;
  return j;
}

/* Claim a run (min_claim rows of its matrix, not crossing into another) of range t, from its
 * bottom (its owner) or its top: [*lo, *hi), or 0 when the range is empty. */
static int claim(exec_claims *c, int t, int top, const row_space *s, int64_t *lo, int64_t *hi) {
  uint64_t v = atomic_load_explicit(&c->range[t], memory_order_relaxed);
  for (;;) {
    int64_t a = (int64_t)(v >> 32), b = (int64_t)(v & 0xffffffffu);
    if (a >= b) return 0;
    int j = matrix_of(s, top ? b - 1 : a);
    int64_t n = min_claim(s->m[j]);
    if (top) {
      *hi = b, *lo = b - n > a ? b - n : a;
      if (*lo < s->start[j]) *lo = s->start[j];
    } else {
      *lo = a, *hi = a + n < b ? a + n : b;
      if (*hi > s->start[j + 1]) *hi = s->start[j + 1];
    }
    uint64_t nv = top ? pack(a, *lo) : pack(*hi, b);
    if (atomic_compare_exchange_weak_explicit(&c->range[t], &v, nv, memory_order_relaxed, memory_order_relaxed)) return 1;
  }
}

/* The range with most rows left, or -1 when all are empty. */
static int fullest(exec_claims *c) {
  int64_t most = 0;
  int t = -1;
  for (int r = 0; r < c->n; r++) {
    uint64_t v = atomic_load_explicit(&c->range[r], memory_order_relaxed);
    int64_t left = (int64_t)(v & 0xffffffffu) - (int64_t)(v >> 32);
    if (left > most) most = left, t = r;
  }
  return t;
}

void exec_wmat_gemv_claim(const exec_wmat *const *m, int count, int ith, const float *x, float *const *y, void *xq,
                          exec_claims *c) {
  const exec_kernel_table *k = exec_kernels();
  row_space s = {m, count, {0}};
  void *q = NULL;
  for (int j = 0; j < count; j++) s.start[j + 1] = s.start[j] + m[j]->rows;
  for (int j = 0; j < count && !q; j++) q = prepare(k, m[j], x, xq); /* x is the same for all */
  int own = ith < c->n;
  for (;;) {
    int64_t lo, hi;
    if (!own || !claim(c, ith, 0, &s, &lo, &hi)) {
      own = 0;
      int t = fullest(c);
      if (t < 0) return;
      if (!claim(c, t, 1, &s, &lo, &hi)) continue; /* emptied meanwhile: look again */
    }
    int j = matrix_of(&s, lo);
    gemv_rows(k, m[j], lo - s.start[j], hi - s.start[j], x, m[j]->kind == EXEC_WMAT_LUT && m[j]->palq ? q : NULL,
              y[j] + lo - s.start[j]);
  }
}

/* Elements [c, c + n) of row r for index widths other than 8, and 4 from an odd element. */
static void lut_read(const exec_kernel_table *k, const exec_wmat *m, int64_t r, int64_t c, int64_t n, float *dst) {
  uint16_t p256[256];
  uint8_t idx[CHUNK];
  pad_palette(palette(m, r), m->bits, p256);
  for (int64_t i = 0; i < n; i += CHUNK) {
    int64_t len = n - i < CHUNK ? n - i : CHUNK;
    unpack(m->data + r * m->ld, (c + i) * m->bits, m->bits, len, idx);
    k->lut8_decode(p256, idx, len, dst + i);
  }
}

void exec_wmat_read(const exec_wmat *m, int64_t start, int64_t n, float *dst) {
  const exec_kernel_table *k = exec_kernels();
  if (m->kind == EXEC_WMAT_F32) {
    memcpy(dst, m->f32 + start, (size_t)n * sizeof *dst);
    return;
  }
  if (m->kind == EXEC_WMAT_F16) {
    k->f16_decode(m->data + 2 * start, n, dst);
    return;
  }
  /* A row segment at a time; 8- and 4-bit rows are contiguous, so a run of whole rows sharing a
   * palette goes in one call. */
  int fast = m->bits == 8 || m->bits == 4;
  while (n > 0) {
    int64_t r = start / m->cols, c = start % m->cols, len = m->cols - c;
    if (fast && !c) len = ((r / m->group_rows + 1) * m->group_rows - r) * m->cols;
    if (len > n) len = n;
    if (m->bits == 8) k->lut8_decode(palette(m, r), m->data + start, len, dst);
    else if (m->bits == 4 && !(c & 1)) k->lut4_decode(palette(m, r), m->data + start / 2, len, dst);
    else lut_read(k, m, r, c, len, dst);
    start += len, dst += len, n -= len;
  }
}
