/* test_exec_attention_decode.c — a decode step's attention computed in one step
 * (plan_attention.c, ops/attention_decode.c): the planner fuses the chain from the scores matmul to
 * the probabilities x V matmul only when nothing else reads the values on the way and the query
 * has decode rows, and the fused step gives the separate steps' results bit for bit (each "kept"
 * twin returns its probabilities, so it runs them as steps) on every kernel table and thread
 * count, for masks that leave a prefix visible, hide positions inside it, add finite values or hide
 * everything (NaN, as softmax gives); and both match a float64 reference within fp16 rounding. */
#include <math.h>
#include <string.h>

#include "exec/op.h"
#include "exec_plan_util.h"
#include "util/fp16.h"

#define KVH 2
#define G 3
#define E 20
#define S 37

static float q[KVH][G][E], mask[S];
static uint16_t cache[2][KVH][S][E];

static void count_fused(const exec_function *f, void *arg) {
  int *n = arg; /* fused, holders */
  for (int s = 0; s < f->n_steps; s++) n[0] += f->steps[s].fused, n[1] += f->steps[s].node.attention != NULL;
}

/* Steps of `fn` computed by another step, and matmuls holding an attention (-1: not planned). */
static void fused_steps(const char *dir, const char *fn, int *fused, int *holders) {
  int n[2] = {0, 0};
  int rc = tp_inspect_plan(dir, fn, count_fused, n);
  *fused = rc ? -1 : n[0], *holders = rc ? -1 : n[1];
}

/* The output of `fn` (fp16 bits) for the current q, mask and cache. */
static int run(mr_bundle *b, const char *fn, uint16_t out[KVH * G * E]) {
  mr_call *c = NULL;
  mr_state *st = NULL;
  mr_error err = {0};
  mr_tensor tq = {MR_FLOAT32, 4, {1, KVH, G, E}, q}, tm = {MR_FLOAT32, 4, {1, 1, 1, S}, mask}, o, view;
  int rc = mr_state_new(b, "cache", &st, &err);
  if (!rc) {
    mr_state_view(st, &view);
    memcpy(view.data, cache, sizeof cache);
    rc = mr_call_new(b, fn, &c, &err);
  }
  if (!rc) rc = mr_call_set_input(c, "q", &tq, &err);
  if (!rc) rc = mr_call_set_input(c, "mask", &tm, &err);
  if (!rc) rc = mr_call_set_state(c, "cache", st, &err);
  if (!rc) rc = mr_call_run(c, &err);
  if (!rc) rc = mr_call_output(c, 0, &o);
  CHECK_MSG(rc == MR_OK, "%s: %s", fn, err.msg);
  if (!rc) {
    CHECK_EQ_INT(o.dtype, MR_FLOAT16);
    memcpy(out, o.data, sizeof(uint16_t) * KVH * G * E);
  }
  mr_call_free(c);
  mr_state_free(st);
  return rc;
}

/* out by the definition in double: scores * scale + mask, softmax, times V. */
static void reference(double scale, double out[KVH][G][E]) {
  for (int h = 0; h < KVH; h++)
    for (int g = 0; g < G; g++) {
      double sc[S], mx = -INFINITY, sum = 0;
      for (int s = 0; s < S; s++) {
        double d = 0;
        for (int e = 0; e < E; e++) d += (double)q[h][g][e] * util_f16_to_f32(cache[0][h][s][e]);
        sc[s] = mask[s] == -INFINITY ? -INFINITY : d * scale + mask[s];
        mx = sc[s] > mx ? sc[s] : mx;
      }
      for (int s = 0; s < S; s++) sum += (sc[s] = exp(sc[s] - mx));
      for (int e = 0; e < E; e++) {
        out[h][g][e] = 0;
        for (int s = 0; s < S; s++) out[h][g][e] += sc[s] / sum * util_f16_to_f32(cache[1][h][s][e]);
      }
    }
}

/* One mask: each fused function against its kept twin, bit for bit, and against the reference. */
static void check_mask(mr_bundle *b, const char *what) {
  static const char *const pairs[2][2] = {{"fused", "kept"}, {"divided", "divided_kept"}};
  static const double scales[2] = {0x1.6ap-3, 1.5 / 8.5};
  int hidden = 1;
  for (int s = 0; s < S; s++) hidden &= mask[s] == -INFINITY;
  for (int p = 0; p < 2; p++) {
    uint16_t one[KVH * G * E], steps[KVH * G * E];
    if (run(b, pairs[p][0], one) || run(b, pairs[p][1], steps)) return;
    int same = 1;
    for (int i = 0; i < KVH * G * E; i++) /* NaN as NaN (its payload is not at stake) */
      same &= one[i] == steps[i] || (isnan(util_f16_to_f32(one[i])) && isnan(util_f16_to_f32(steps[i])));
    CHECK_MSG(same, "%s: %s differs from %s", what, pairs[p][0], pairs[p][1]);
    double want[KVH][G][E];
    reference(scales[p], want);
    for (int i = 0; i < KVH * G * E; i++) {
      float got = util_f16_to_f32(one[i]);
      if (hidden) CHECK_MSG(isnan(got), "%s: %s[%d] = %g, want NaN", what, pairs[p][0], i, got);
      else CHECK_MSG(fabs(got - (&want[0][0][0])[i]) <= 0.02, "%s: %s[%d] = %g, want %g", what, pairs[p][0], i, got,
                     (&want[0][0][0])[i]);
    }
  }
}

static void visible(int upto) {
  for (int s = 0; s < S; s++) mask[s] = s <= upto ? 0.0f : -INFINITY;
}

static void test_fusion_planned(void) {
  const char *dir = th_bundle_from_fixture("decode_attention.mlmodelc", "mil/SYNTHETIC_decode_attention_ios18.mil");
  if (!dir) return;
  static const struct {
    const char *fn;
    int fused, holders;
  } want[] = {{"fused", 6, 1}, {"divided", 7, 1}, {"kept", 0, 0}, {"divided_kept", 0, 0}, {"prefill", 0, 0}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    int fused, holders;
    fused_steps(dir, want[i].fn, &fused, &holders);
    CHECK_MSG(fused == want[i].fused && holders == want[i].holders, "%s: %d steps fused into %d, want %d into %d",
              want[i].fn, fused, holders, want[i].fused, want[i].holders);
  }
}

static void test_same_bits(void) {
  const char *dir = th_bundle_from_fixture("decode_attention.mlmodelc", "mil/SYNTHETIC_decode_attention_ios18.mil");
  mr_bundle *b;
  mr_error err = {0};
  if (!dir || mr_bundle_open(dir, NULL, &b, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    return;
  }
  uint32_t r = 12345;
  for (int i = 0; i < KVH * G * E; i++) {
    r = r * 1103515245u + 12345u;
    (&q[0][0][0])[i] = (float)((int)(r >> 16) % 97 - 48) / 16.0f;
  }
  for (int i = 0; i < 2 * KVH * S * E; i++) {
    r = r * 1103515245u + 12345u;
    (&cache[0][0][0][0])[i] = util_f32_to_f16((float)((int)(r >> 16) % 129 - 64) / 32.0f);
  }
  exec_parallel_min_work(0); /* two threads split the kv heads even for this small work */
  const char *const *tables = mr_kernels_names(), *in_use = mr_kernels();
  char what[96];
  for (int t = 0; tables[t]; t++) {
    if (mr_set_kernels(tables[t], &err)) continue; /* not on this CPU */
    for (int threads = 1; threads <= 2; threads++) {
      mr_set_threads(threads);
      static const int prefixes[] = {0, 1, 7, 15, 16, 17, 31, 36};
      for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        visible(prefixes[i]);
        snprintf(what, sizeof what, "%s, %d threads, positions 0-%d", tables[t], threads, prefixes[i]);
        check_mask(b, what);
      }
      visible(20);
      mask[3] = mask[4] = mask[5] = -INFINITY;
      snprintf(what, sizeof what, "%s, %d threads, a hole", tables[t], threads);
      check_mask(b, what);
      for (int s = 0; s <= 30; s++) mask[s] = -0.25f * (float)s; /* a finite bias, 31-36 hidden */
      snprintf(what, sizeof what, "%s, %d threads, a bias", tables[t], threads);
      check_mask(b, what);
      visible(-1);
      snprintf(what, sizeof what, "%s, %d threads, all hidden", tables[t], threads);
      check_mask(b, what);
    }
  }
  CHECK(mr_set_kernels(in_use, &err) == MR_OK);
  mr_set_threads(0);
  exec_parallel_min_work(1 << 16);
  mr_bundle_close(b);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"fusion planned", test_fusion_planned},
                                  {"same bits as the steps", test_same_bits},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
