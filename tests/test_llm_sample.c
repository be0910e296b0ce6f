/* test_llm_sample.c — the sampler chain on fixed logits: empirical distributions of temperature,
 * top-k, top-p and min-p against the probabilities computed here in float64 (chi-square at
 * significance 0.001, fixed seeds), tokens outside the kept set never drawn, greedy, the same seed
 * giving the same tokens, and the penalties changing exactly the logits they should. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "llm/sample.h"

#define V 6
static const float LOGITS[V] = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -1.0f};
/* chi-square critical values at significance 0.001 for 1..5 degrees of freedom */
static const double CRIT[6] = {0, 10.828, 13.816, 16.266, 18.467, 20.515};

static mr_sampling plain(float t) {
  mr_sampling s;
  mr_sampling_defaults(&s);
  s.temperature = t;
  s.top_k = 0;
  s.top_p = 1;
  s.min_p = 0;
  s.seed = 1234;
  return s;
}

/* p[i] = softmax(LOGITS / t) restricted to keep[i], renormalised. */
static void expected(double t, const int *keep, double *p) {
  double z = 0;
  for (int i = 0; i < V; i++) z += keep[i] ? exp(LOGITS[i] / t) : 0;
  for (int i = 0; i < V; i++) p[i] = keep[i] ? exp(LOGITS[i] / t) / z : 0;
}

static void draws_match(const mr_sampling *s, const double *p) {
  enum { N = 40000 };
  llm_sampler *sp;
  mr_error err = {0};
  CHECK_EQ_INT(llm_sampler_new(s, V, &sp, &err), MR_OK);
  if (!sp) return;
  int count[V] = {0};
  for (int i = 0; i < N; i++) {
    float l[V];
    memcpy(l, LOGITS, sizeof l);
    int32_t t = llm_sampler_sample(sp, l, NULL, 0);
    CHECK(t >= 0 && t < V);
    if (t >= 0 && t < V) count[t]++;
  }
  double chi = 0;
  int df = -1;
  for (int i = 0; i < V; i++) {
    if (p[i] == 0) {
      CHECK_EQ_INT(count[i], 0); /* filtered out: never drawn */
      continue;
    }
    double e = p[i] * N;
    chi += (count[i] - e) * (count[i] - e) / e;
    df++;
  }
  fprintf(stderr, "  T=%.2f k=%d p=%.2f min_p=%.2f: chi-square %.2f (df %d, critical %.3f)\n", s->temperature, s->top_k,
          s->top_p, s->min_p, chi, df, CRIT[df]);
  CHECK(df >= 1 && chi < CRIT[df]);
  llm_sampler_free(sp);
}

static void test_temperature(void) {
  static const int all[V] = {1, 1, 1, 1, 1, 1};
  double p[V];
  float ts[3] = {0.5f, 1.0f, 1.7f};
  for (int i = 0; i < 3; i++) {
    mr_sampling s = plain(ts[i]);
    expected(ts[i], all, p);
    draws_match(&s, p);
  }
}

static void test_top_k(void) {
  static const int keep[V] = {1, 1, 1, 0, 0, 0};
  mr_sampling s = plain(0.9f);
  s.top_k = 3;
  double p[V];
  expected(0.9, keep, p);
  draws_match(&s, p);
}

/* top-k over a vocabulary of many blocks (the sampler skips blocks below the k-th largest block
 * maximum): logits with many ties and -inf, at a temperature so high that every kept token is
 * about equally likely; every draw is one of the k best by (logit, then lower id), and each of
 * those is drawn. */
enum { BIG = 5003 };
static float topk_big[BIG];

static int by_rank(const void *a, const void *b) { /* ids, best logit of topk_big first, then the lower id */
  const int32_t *x = a, *y = b;
  float lx = topk_big[*x], ly = topk_big[*y];
  return lx > ly ? -1 : lx < ly ? 1 : (*x > *y) - (*x < *y);
}

static void test_top_k_blocks(void) {
  static int32_t order[BIG];
  uint32_t r = 12345;
  for (int i = 0; i < BIG; i++) {
    r = r * 1664525u + 1013904223u;
    topk_big[i] = i % 97 == 5 ? -INFINITY : (float)((int)(r >> 24) % 13) / 4.0f; /* 13 values: ties */
    order[i] = i;
  }
  topk_big[4000] = 9; /* one block with a single high logit */
  qsort(order, BIG, sizeof *order, by_rank);
  static const int ks[] = {1, 7, 40, 77};
  for (int t = 0; t < 4; t++) {
    int k = ks[t], drawn_in[80] = {0}, outside = 0;
    mr_sampling s = plain(1e4f);
    s.top_k = k;
    llm_sampler *sp;
    mr_error err = {0};
    CHECK_EQ_INT(llm_sampler_new(&s, BIG, &sp, &err), MR_OK);
    if (!sp) return;
    for (int n = 0; n < 200 * k; n++) {
      static float l[BIG];
      memcpy(l, topk_big, sizeof l);
      int32_t id = llm_sampler_sample(sp, l, NULL, 0), j = 0;
      while (j < k && order[j] != id) j++;
      if (j < k) drawn_in[j]++;
      else outside++;
    }
    CHECK_MSG(outside == 0, "k=%d: %d draws outside the k best", k, outside);
    for (int j = 0; j < k; j++) CHECK_MSG(drawn_in[j] > 0, "k=%d: the %d-th best (id %d) never drawn", k, j, order[j]);
    llm_sampler_free(sp);
  }
}

/* top-p on probabilities at temperature 1: the smallest prefix reaching p. */
static void test_top_p(void) {
  static const int all[V] = {1, 1, 1, 1, 1, 1};
  double p1[V], cum = 0;
  expected(1.0, all, p1);
  int keep[V] = {0}, kept = 0;
  for (int i = 0; i < V && cum < 0.8; i++) cum += p1[i], keep[i] = 1, kept++;
  CHECK_EQ_INT(kept, 3); /* 0.420 + 0.255 + 0.154 = 0.829 reaches 0.8 */
  mr_sampling s = plain(1.3f);
  s.top_p = 0.8f;
  double p[V];
  expected(1.3, keep, p);
  draws_match(&s, p);
}

static void test_min_p(void) {
  /* p_i >= 0.3 p_max  <=>  l_i >= 2 + ln 0.3 = 0.796: tokens 0, 1, 2 */
  static const int keep[V] = {1, 1, 1, 0, 0, 0};
  mr_sampling s = plain(1.0f);
  s.min_p = 0.3f;
  double p[V];
  expected(1.0, keep, p);
  draws_match(&s, p);
}

static void test_greedy_and_seed(void) {
  mr_sampling s = plain(0);
  llm_sampler *a, *b;
  mr_error err = {0};
  CHECK_EQ_INT(llm_sampler_new(&s, V, &a, &err), MR_OK);
  float l[V];
  memcpy(l, LOGITS, sizeof l);
  CHECK_EQ_INT(llm_sampler_sample(a, l, NULL, 0), 0);
  llm_sampler_free(a);
  mr_sampling_defaults(&s);
  s.seed = 99;
  CHECK_EQ_INT(llm_sampler_new(&s, V, &a, &err), MR_OK);
  CHECK_EQ_INT(llm_sampler_new(&s, V, &b, &err), MR_OK);
  int differ = 0, first[64];
  for (int i = 0; i < 64; i++) {
    float la[V], lb[V];
    memcpy(la, LOGITS, sizeof la);
    memcpy(lb, LOGITS, sizeof lb);
    first[i] = llm_sampler_sample(a, la, NULL, 0);
    CHECK_EQ_INT(first[i], llm_sampler_sample(b, lb, NULL, 0));
  }
  llm_sampler_reset(a); /* the same draws again */
  for (int i = 0; i < 64; i++) {
    float la[V];
    memcpy(la, LOGITS, sizeof la);
    CHECK_EQ_INT(llm_sampler_sample(a, la, NULL, 0), first[i]);
    differ |= first[i] != first[0];
  }
  CHECK(differ); /* not a constant */
  llm_sampler_free(a);
  llm_sampler_free(b);
}

static void test_penalties(void) {
  mr_sampling s = plain(0);
  s.repeat_penalty = 1.5f;
  s.frequency_penalty = 0.1f;
  s.presence_penalty = 0.2f;
  llm_sampler *sp;
  mr_error err = {0};
  CHECK_EQ_INT(llm_sampler_new(&s, V, &sp, &err), MR_OK);
  float l[V];
  memcpy(l, LOGITS, sizeof l);
  l[5] = -1.0f;
  const int32_t hist[5] = {0, 5, 0, 2, 0};
  llm_sampler_penalize(sp, l, hist, 5);
  CHECK_NEAR(l[0], 2.0 / 1.5 - (3 * 0.1 + 0.2), 1e-6);  /* seen 3 times, positive: divided */
  CHECK_NEAR(l[5], -1.0 * 1.5 - (1 * 0.1 + 0.2), 1e-6); /* negative: multiplied */
  CHECK_NEAR(l[2], 1.0 / 1.5 - (1 * 0.1 + 0.2), 1e-6);
  CHECK(l[1] == 1.5f && l[3] == 0.5f && l[4] == 0.0f); /* unseen: untouched */
  /* a second call starts from clean counts */
  float m[V] = {1, 1, 1, 1, 1, 1};
  const int32_t h2[1] = {4};
  llm_sampler_penalize(sp, m, h2, 1);
  CHECK_NEAR(m[4], 1.0 / 1.5 - 0.3, 1e-6);
  CHECK(m[0] == 1.0f);
  /* greedy sees the penalised logits: token 0 (2.0 -> 0.83) loses to token 1 (1.5) */
  float g[V];
  memcpy(g, LOGITS, sizeof g);
  CHECK_EQ_INT(llm_sampler_sample(sp, g, hist, 3), 1);
  llm_sampler_free(sp);
}

static void test_bad_options(void) {
  mr_sampling s = plain(1);
  s.top_p = 0;
  llm_sampler *sp;
  mr_error err = {0};
  CHECK_EQ_INT(llm_sampler_new(&s, V, &sp, &err), MR_EINVAL);
  CHECK(strstr(err.msg, "top-p") != NULL);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"temperature", test_temperature}, {"top_k", test_top_k},
                                  {"top_k over blocks", test_top_k_blocks}, {"top_p", test_top_p},
                                  {"min_p", test_min_p}, {"greedy_seed", test_greedy_and_seed},
                                  {"penalties", test_penalties}, {"bad_options", test_bad_options}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
