/* test_exec_masked_scores.c — attention scores that a causal mask hides (plan_mask.c): the planner
 * points the scores' matmul at the mask only when the scores reach it through scalings and
 * reshapes with no other reader, and the outputs match a float64 reference whether the masked
 * columns are skipped or not (keys in hidden columns are inf at first, so computing those scores
 * would give NaN: that shows the skip). */
#include <math.h>
#include <string.h>

#include "exec_plan_util.h"

#define H 2
#define L 2
#define S 6
#define E 8

static float q[H][L][E], k[H][S][E], v[H][S][E], mask[L][S];

static void first_matmul_hidden(const exec_function *f, void *arg) {
  int *found = arg;
  for (int s = 0; s < f->n_steps && *found < 0; s++)
    if (f->steps[s].kind == EXEC_STEP_OP && !strcmp(f->steps[s].node.op->type, "matmul"))
      *found = f->steps[s].node.hidden_by != NULL;
}

/* Whether function fn's first matmul was pointed at a mask (-1 when planning failed). */
static int scores_hidden(const char *dir, const char *fn) {
  int found = -1;
  return tp_inspect_plan(dir, fn, first_matmul_hidden, &found) ? -1 : found;
}

/* out[h][l][e] by the definition, in double; scale as the model multiplies (main) or 1. */
static void reference(double scale, double out[H][L][E]) {
  for (int h = 0; h < H; h++)
    for (int l = 0; l < L; l++) {
      double sc[S], mx = -INFINITY, sum = 0;
      for (int s = 0; s < S; s++) {
        double d = 0;
        for (int e = 0; e < E; e++) d += (double)q[h][l][e] * k[h][s][e];
        sc[s] = mask[l][s] == -INFINITY ? -INFINITY : d * scale + mask[l][s];
        mx = sc[s] > mx ? sc[s] : mx;
      }
      for (int s = 0; s < S; s++) sum += (sc[s] = exp(sc[s] - mx));
      for (int e = 0; e < E; e++) {
        out[h][l][e] = 0;
        for (int s = 0; s < S; s++) out[h][l][e] += sc[s] / sum * v[h][s][e];
      }
    }
}

static void run_and_check(mr_bundle *b, const char *fn, double scale) {
  mr_call *c;
  mr_error err = {0};
  mr_tensor in[4] = {{MR_FLOAT32, 4, {1, H, L, E}, q},
                     {MR_FLOAT32, 4, {1, H, S, E}, k},
                     {MR_FLOAT32, 4, {1, H, S, E}, v},
                     {MR_FLOAT32, 4, {1, 1, L, S}, mask}},
           o;
  static const char *const names[4] = {"q", "k", "v", "mask"};
  int rc = mr_call_new(b, fn, &c, &err);
  for (int i = 0; i < 4 && !rc; i++) rc = mr_call_set_input(c, names[i], &in[i], &err);
  if (!rc) rc = mr_call_run(c, &err);
  if (!rc) rc = mr_call_output(c, 0, &o);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  double want[H][L][E];
  reference(scale, want);
  for (int i = 0; !rc && i < H * L * E; i++)
    CHECK_NEAR(((const float *)o.data)[i], (&want[0][0][0])[i], 1e-5);
  mr_call_free(c);
}

static void test_masked_scores(void) {
  const char *dir = th_bundle_from_fixture("masked.mlmodelc", "mil/SYNTHETIC_masked_attention_ios18.mil");
  if (!dir) return;
  CHECK_EQ_INT(scores_hidden(dir, "main"), 1);
  CHECK_EQ_INT(scores_hidden(dir, "observed"), 0); /* the scores are an output too */
  for (int i = 0; i < H * L * E; i++) (&q[0][0][0])[i] = (float)((i * 7 % 13) - 6) / 8.0f;
  for (int i = 0; i < H * S * E; i++) {
    int s = i / E % S;
    (&k[0][0][0])[i] = s >= 4 ? INFINITY : (float)((i * 5 % 11) - 5) / 4.0f; /* inf where hidden */
    (&v[0][0][0])[i] = (float)((i * 3 % 17) - 8) / 8.0f;
  }
  for (int l = 0; l < L; l++) /* row 0 sees positions 0-2, row 1 positions 0-3; 4 and 5 hidden in both */
    for (int s = 0; s < S; s++) mask[l][s] = s <= 2 + l ? 0.0f : -INFINITY;
  mr_bundle *b;
  mr_error err = {0};
  if (mr_bundle_open(dir, NULL, &b, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    return;
  }
  run_and_check(b, "main", 0x1.6ap-2);
  mask[1][5] = 0.5f; /* now every column is visible in some row: nothing skipped */
  for (int i = 0; i < H * S * E; i++) (&k[0][0][0])[i] = (float)((i * 5 % 11) - 5) / 4.0f;
  run_and_check(b, "main", 0x1.6ap-2);
  run_and_check(b, "observed", 1.0);
  mr_bundle_close(b);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"masked scores", test_masked_scores}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
