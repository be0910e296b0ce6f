/* test_exec_ops_attention.c — scaled_dot_product_attention with no mask, a bool causal mask, a
 * float mask, batch broadcasting between query/key/value and mask, and a fully masked row (NaN),
 * against a float64 reference. Tolerance 1e-5. */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

/* mask: NULL, or values broadcast over [B, H, L, S] through its own strides (0 on broadcast dims). */
static void check_sdpa(int64_t B, int64_t Hq, int64_t Hk, int64_t L, int64_t S, int64_t E, int64_t EV, int mask_kind) {
  tnode t;
  tn_init(&t, "scaled_dot_product_attention", 1);
  exec_tensor *q = tt_new(&t, MIL_FP32, 4, SH(B, Hq, L, E)), *k = tt_new(&t, MIL_FP32, 4, SH(B, Hk, S, E)),
              *v = tt_new(&t, MIL_FP32, 4, SH(B, Hk, S, EV)), *m = NULL;
  tu_fill(q), tu_fill(k), tu_fill(v);
  tn_in(&t, "query", q), tn_in(&t, "key", k), tn_in(&t, "value", v);
  if (mask_kind == 1) { /* bool causal [L, S], query l sees keys s <= l + S - L */
    m = tt_new(&t, MIL_BOOL, 2, SH(L, S));
    for (int64_t i = 0; i < L * S; i++) exec_u8(m)[i] = (i % S) <= (i / S) + S - L;
  } else if (mask_kind == 2) { /* float [B, 1, 1, S] */
    m = tt_new(&t, MIL_FP32, 4, SH(B, 1, 1, S));
    tu_fill(m);
    exec_f32(m)[0] = -INFINITY;
  }
  if (m) tn_in(&t, "attn_mask", m);
  int64_t H = Hq > Hk ? Hq : Hk;
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 4, SH(B, H, L, EV));
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  for (int64_t b = 0; rc == 0 && b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t l = 0; l < L; l++) {
        double sc[16], mx = -INFINITY, sum = 0;
        const float *qr = exec_f32(q) + ((b * Hq + (Hq == 1 ? 0 : h)) * L + l) * E;
        int64_t kb = (b * Hk + (Hk == 1 ? 0 : h)) * S;
        for (int64_t s = 0; s < S; s++) {
          double d = 0;
          for (int64_t e = 0; e < E; e++) d += (double)qr[e] * exec_f32(k)[(kb + s) * E + e];
          d /= sqrt((double)E);
          if (mask_kind == 1 && !exec_u8(m)[l * S + s]) d = -INFINITY;
          if (mask_kind == 2) d += exec_f32(m)[b * S + s];
          sc[s] = d;
          mx = fmax(mx, d);
        }
        for (int64_t s = 0; s < S; s++) sum += (sc[s] = exp(sc[s] - mx));
        for (int64_t e = 0; e < EV; e++) {
          double want = 0;
          for (int64_t s = 0; s < S; s++) want += sc[s] / sum * exec_f32(v)[(kb + s) * EV + e];
          CHECK_NEAR(exec_f32(o)[((b * H + h) * L + l) * EV + e], want, 1e-5);
        }
      }
  tn_free(&t);
}

static void test_sdpa(void) {
  check_sdpa(1, 2, 2, 3, 5, 4, 6, 0);
  check_sdpa(2, 3, 3, 4, 4, 8, 5, 1);
  check_sdpa(2, 4, 1, 1, 7, 16, 3, 2); /* one query row (decode), key/value heads broadcast */
  check_sdpa(1, 1, 1, 3, 3, 2, 2, 1);
}

static void test_sdpa_masked_row_and_errors(void) {
  tnode t;
  tn_init(&t, "scaled_dot_product_attention", 1);
  tn_in(&t, "query", tt_new(&t, MIL_FP32, 2, SH(2, 4)));
  tn_in(&t, "key", tt_new(&t, MIL_FP32, 2, SH(3, 4)));
  tn_in(&t, "value", tt_new(&t, MIL_FP32, 2, SH(3, 2)));
  tn_in(&t, "attn_mask", tt_u8(&t, 2, SH(2, 3), (uint8_t[]){0, 0, 0, 1, 1, 1}));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, 2, SH(2, 2));
  CHECK_EQ_INT(tn_run(&t), 0);
  CHECK(isnan(exec_f32(o)[0]) && isnan(exec_f32(o)[1]));
  CHECK(exec_f32(o)[2] == 0 && exec_f32(o)[3] == 0);
  tn_free(&t);

  tn_init(&t, "scaled_dot_product_attention", 1);
  tn_in(&t, "query", tt_new(&t, MIL_FP32, 3, SH(1, 2, 4)));
  tn_in(&t, "key", tt_new(&t, MIL_FP32, 3, SH(1, 3, 5)));
  tn_in(&t, "value", tt_new(&t, MIL_FP32, 3, SH(1, 3, 2)));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 2, 2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'scaled_dot_product_attention' (y0): query [1, 2, 4], key [1, 3, 5] and value [1, 3, 2] do not fit [*, L, E], [*, S, E], [*, S, EV]");
  tn_free(&t);

  tn_init(&t, "scaled_dot_product_attention", 1);
  tn_in(&t, "query", tt_new(&t, MIL_FP32, 3, SH(1, 2, 4)));
  tn_in(&t, "key", tt_new(&t, MIL_FP32, 3, SH(1, 3, 4)));
  tn_in(&t, "value", tt_new(&t, MIL_FP32, 3, SH(1, 3, 2)));
  tn_in(&t, "attn_mask", tt_new(&t, MIL_FP32, 2, SH(2, 4)));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 2, 2));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'scaled_dot_product_attention' (y0): shapes [2, 4] and [1, 2, 3] cannot be broadcast together");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"sdpa", test_sdpa},
      {"sdpa_masked_row_and_errors", test_sdpa_masked_row_and_errors},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
