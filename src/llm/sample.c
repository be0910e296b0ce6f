/* sample.c — llama.cpp's sampler chain (common/sampling defaults: penalties, top_k, top_p, min_p,
 * temperature, dist), written from its documented behaviour. The candidates live in one buffer of
 * `vocab` entries made at creation; ties are broken by the lower id so that every libc sorts the
 * same way. The random generator is xoshiro256** seeded through splitmix64. */
#include "llm/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

/* top_k looks at the logits in blocks of this many: a block whose largest logit is below the k-th
 * largest of all the blocks' maxima holds none of the k best and is skipped whole. */
#define TOPK_BLOCK 64

typedef struct cand {
  float logit;
  int32_t id;
} cand;

struct llm_sampler {
  mr_sampling s;
  int64_t vocab;
  cand *c;       /* candidates [vocab] */
  float *bmax;   /* the largest logit of each block of TOPK_BLOCK [vocab / TOPK_BLOCK + 1] */
  int32_t *seen; /* per-token counts while penalizing, zero between calls [vocab] */
  uint64_t rng[4];
};

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t *s) {
  uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return r;
}

static double uniform01(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

void llm_sampler_reset(llm_sampler *sp) {
  uint64_t x = sp->s.seed;
  for (int i = 0; i < 4; i++) sp->rng[i] = splitmix64(&x);
}

void llm_sampler_rng_get(const llm_sampler *sp, uint64_t st[4]) { memcpy(st, sp->rng, sizeof sp->rng); }
void llm_sampler_rng_set(llm_sampler *sp, const uint64_t st[4]) { memcpy(sp->rng, st, sizeof sp->rng); }

static int check(const mr_sampling *s, mr_error *err) {
  if (!(s->top_p > 0 && s->top_p <= 1) || !(s->min_p >= 0 && s->min_p <= 1) || s->top_k < 0 ||
      !(s->repeat_penalty > 0) || s->repeat_last_n < 0 || isnan(s->temperature) || isnan(s->presence_penalty) ||
      isnan(s->frequency_penalty))
    return util_err(err, MR_EINVAL,
                    "sampling: need 0 < top-p <= 1, 0 <= min-p <= 1, top-k >= 0, repeat-penalty > 0, "
                    "repeat-last-n >= 0");
  return MR_OK;
}

int llm_sampler_set(llm_sampler *sp, const mr_sampling *s, mr_error *err) {
  int rc = check(s, err);
  if (rc) return rc;
  sp->s = *s;
  llm_sampler_reset(sp);
  return MR_OK;
}

int llm_sampler_new(const mr_sampling *s, int64_t vocab, llm_sampler **out, mr_error *err) {
  *out = NULL;
  if (vocab < 1 || vocab > INT32_MAX) return util_err(err, MR_EINVAL, "sampler: vocabulary of %lld tokens", (long long)vocab);
  int rc = check(s, err);
  if (rc) return rc;
  llm_sampler *sp = util_calloc(1, sizeof *sp);
  if (!sp) return util_err_nomem(err, "sampler");
  sp->s = *s;
  sp->vocab = vocab;
  sp->c = mr_alloc((size_t)vocab * sizeof *sp->c);
  sp->seen = util_calloc((size_t)vocab, sizeof *sp->seen);
  sp->bmax = mr_alloc(((size_t)vocab / TOPK_BLOCK + 1) * sizeof *sp->bmax);
  if (!sp->c || !sp->seen || !sp->bmax) {
    llm_sampler_free(sp);
    return util_err_nomem(err, "sampler");
  }
  llm_sampler_reset(sp);
  *out = sp;
  return MR_OK;
}

void llm_sampler_free(llm_sampler *sp) {
  if (!sp) return;
  mr_free(sp->c);
  mr_free(sp->seen);
  mr_free(sp->bmax);
  mr_free(sp);
}

void llm_sampler_penalize(const llm_sampler *sp, float *logits, const int32_t *hist, int n) {
  const mr_sampling *s = &sp->s;
  if (s->repeat_penalty == 1.0f && s->frequency_penalty == 0.0f && s->presence_penalty == 0.0f) return;
  for (int i = 0; i < n; i++)
    if (hist[i] >= 0 && hist[i] < sp->vocab) sp->seen[hist[i]]++;
  for (int i = 0; i < n; i++) {
    int32_t t = hist[i];
    if (t < 0 || t >= sp->vocab || !sp->seen[t]) continue; /* each distinct token once */
    float *l = &logits[t];
    *l = *l <= 0 ? *l * s->repeat_penalty : *l / s->repeat_penalty;
    *l -= (float)sp->seen[t] * s->frequency_penalty + s->presence_penalty;
    sp->seen[t] = 0;
  }
}

static int better(const cand *a, const cand *b) { return a->logit > b->logit || (a->logit == b->logit && a->id < b->id); }

static int cmp_desc(const void *x, const void *y) {
  const cand *a = x, *b = y;
  return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Sift c[i] down a heap of n whose root is the worst candidate. */
static void sift_down(cand *c, int n, int i) {
  for (;;) {
    int w = i, l = 2 * i + 1, r = l + 1;
    if (l < n && better(&c[w], &c[l])) w = l;
    if (r < n && better(&c[w], &c[r])) w = r;
    if (w == i) return;
    cand t = c[i];
    c[i] = c[w];
    c[w] = t;
    i = w;
  }
}

/* x into the heap c of the k best so far (*have of them; the root is the worst once full). */
static void offer(cand *c, int k, int *have, cand x) {
  if (*have < k) {
    c[(*have)++] = x;
    if (*have == k)
      for (int i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
  } else if (better(&x, &c[0])) {
    c[0] = x;
    sift_down(c, k, 0);
  }
}

/* The k best of all logits, sorted best first, into sp->c; returns k (fewer only when logits are
 * NaN, which are never kept). The k best are at or above the k-th largest block maximum (those
 * maxima are k logits), so the blocks below it, most of a 150K vocabulary, are passed over after
 * one pass for the maxima: a third of the time of offering every logit. */
static int top_k(llm_sampler *sp, const float *logits, int k) {
  cand *c = sp->c;
  int64_t V = sp->vocab, nb = (V + TOPK_BLOCK - 1) / TOPK_BLOCK;
  int have = 0;
  float floor_ = -INFINITY;
  if (nb >= k) { /* then V >= 2k: the blocks' heap fits after the candidates' */
    for (int64_t b = 0; b < nb; b++) {
      float m = -INFINITY;
      for (int64_t i = b * TOPK_BLOCK; i < V && i < (b + 1) * TOPK_BLOCK; i++) m = logits[i] > m ? logits[i] : m;
      sp->bmax[b] = m;
      offer(c + k, k, &have, (cand){m, (int32_t)b});
    }
    floor_ = c[k].logit, have = 0;
  }
  for (int64_t b = 0; b < nb; b++) {
    if (nb >= k && sp->bmax[b] < floor_) continue;
    for (int64_t i = b * TOPK_BLOCK; i < V && i < (b + 1) * TOPK_BLOCK; i++)
      if (logits[i] >= floor_) offer(c, k, &have, (cand){logits[i], (int32_t)i});
  }
  if (!have) c[have++] = (cand){logits[0], 0}; /* every logit NaN */
  qsort(c, (size_t)have, sizeof *c, cmp_desc); /* fewer than k only when some logits are NaN */
  return have;
}

/* Keep the smallest best-first prefix whose probability (temperature 1) reaches p. */
static int top_p(const cand *c, int n, float p) {
  double z = 0, cum = 0;
  for (int i = 0; i < n; i++) z += exp((double)c[i].logit - c[0].logit);
  for (int i = 0; i < n; i++) {
    cum += exp((double)c[i].logit - c[0].logit) / z;
    if (cum >= p) return i + 1;
  }
  return n;
}

/* Keep the candidates whose probability is at least min_p times the best one's. */
static int min_p(cand *c, int n, float mp, float best) {
  float floor_ = best + logf(mp);
  int m = 0;
  for (int i = 0; i < n; i++)
    if (c[i].logit >= floor_) c[m++] = c[i];
  return m ? m : 1;
}

static int32_t greedy(const float *logits, int64_t n) {
  int64_t b = 0;
  for (int64_t i = 1; i < n; i++)
    if (logits[i] > logits[b]) b = i;
  return (int32_t)b;
}

int32_t llm_sampler_sample(llm_sampler *sp, float *logits, const int32_t *hist, int n) {
  const mr_sampling *s = &sp->s;
  llm_sampler_penalize(sp, logits, hist, n);
  if (s->temperature <= 0) return greedy(logits, sp->vocab);
  int m;
  if (s->top_k > 0 && s->top_k < sp->vocab) {
    m = top_k(sp, logits, s->top_k);
  } else {
    m = (int)sp->vocab;
    for (int i = 0; i < m; i++) sp->c[i] = (cand){logits[i], i};
    if (s->top_p < 1) qsort(sp->c, (size_t)m, sizeof *sp->c, cmp_desc);
  }
  cand *c = sp->c;
  if (s->top_p < 1) m = top_p(c, m, s->top_p);
  if (s->min_p > 0) {
    float best = c[0].logit;
    for (int i = 1; i < m; i++) best = c[i].logit > best ? c[i].logit : best;
    m = min_p(c, m, s->min_p, best);
  }
  float best = c[0].logit;
  for (int i = 1; i < m; i++) best = c[i].logit > best ? c[i].logit : best;
  double z = 0;
  for (int i = 0; i < m; i++) z += exp(((double)c[i].logit - best) / s->temperature);
  double u = uniform01(sp->rng) * z, cum = 0;
  for (int i = 0; i < m; i++) {
    cum += exp(((double)c[i].logit - best) / s->temperature);
    if (u < cum) return c[i].id;
  }
  return c[m - 1].id;
}
