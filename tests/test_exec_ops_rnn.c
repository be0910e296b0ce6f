/* test_exec_ops_rnn.c — lstm forward / reverse / bidirectional, output_sequence on and off,
 * activations and clip, against a float64 LSTM written here with coremltools' gate row order
 * [input, forget, output, cell] (defs/iOS15/recurrent.py: "ifoz layout"). Tolerance 2e-5. */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

static double sig(double v) { return 1 / (1 + exp(-v)); }

/* One direction in double. y (S, B, D*H) written at column col when out_seq; h, c (B, D*H). */
static void ref_dir(int64_t S, int64_t B, int64_t I, int64_t H, int64_t D, const float *x, const float *wi,
                    const float *wh, const float *b, int rev, double clip, int relu_cell, double *h, double *c,
                    double *y, int64_t col) {
  for (int64_t step = 0; step < S; step++) {
    int64_t t = rev ? S - 1 - step : step;
    for (int64_t bi = 0; bi < B; bi++) {
      double g[4][16], hn[16];
      for (int gate = 0; gate < 4; gate++)
        for (int64_t j = 0; j < H; j++) {
          int64_t r = gate * H + j;
          double acc = b ? b[r] : 0;
          for (int64_t k = 0; k < I; k++) acc += (double)wi[r * I + k] * x[(t * B + bi) * I + k];
          for (int64_t k = 0; k < H; k++) acc += (double)wh[r * H + k] * h[bi * D * H + col + k];
          g[gate][j] = acc;
        }
      for (int64_t j = 0; j < H; j++) {
        double in = sig(g[0][j]), fo = sig(g[1][j]), out = sig(g[2][j]);
        double z = relu_cell ? (g[3][j] > 0 ? g[3][j] : 0) : tanh(g[3][j]);
        double cv = fo * c[bi * D * H + col + j] + in * z;
        if (clip > 0) cv = fmin(fmax(cv, -clip), clip);
        c[bi * D * H + col + j] = cv;
        hn[j] = out * tanh(cv);
      }
      for (int64_t j = 0; j < H; j++) {
        h[bi * D * H + col + j] = hn[j];
        if (y) y[(t * B + bi) * D * H + col + j] = hn[j];
      }
    }
  }
}

static void check_lstm(const char *dir, int out_seq, double clip, int relu_cell) {
  int64_t S = 4, B = 2, I = 3, H = 5, D = !strcmp(dir, "bidirectional") ? 2 : 1;
  tnode t;
  tn_init(&t, "lstm", 3);
  exec_tensor *x = tt_new(&t, MIL_FP32, 3, SH(S, B, I)), *h0 = tt_new(&t, MIL_FP32, 2, SH(B, D * H)),
              *c0 = tt_new(&t, MIL_FP32, 2, SH(B, D * H));
  exec_tensor *w[2][3];
  tu_fill(x), tu_fill(h0), tu_fill(c0);
  tn_in(&t, "x", x), tn_in(&t, "initial_h", h0), tn_in(&t, "initial_c", c0);
  const char *names[2][3] = {{"weight_ih", "weight_hh", "bias"}, {"weight_ih_back", "weight_hh_back", "bias_back"}};
  for (int d = 0; d < D; d++) {
    w[d][0] = tt_new(&t, MIL_FP32, 2, SH(4 * H, I));
    w[d][1] = tt_new(&t, MIL_FP32, 2, SH(4 * H, H));
    w[d][2] = tt_new(&t, MIL_FP32, 1, SH(4 * H));
    for (int k = 0; k < 3; k++) tu_fill(w[d][k]), tn_in(&t, names[d][k], w[d][k]);
  }
  tn_in(&t, "direction", tt_str(&t, dir));
  tn_in(&t, "output_sequence", tt_sb(&t, out_seq));
  if (clip > 0) tn_in(&t, "clip", tt_sf(&t, (float)clip));
  if (relu_cell) tn_in(&t, "cell_activation", tt_str(&t, "relu"));
  exec_tensor *y = tn_out(&t, 0, MIL_FP32, 3, SH(out_seq ? S : 1, B, D * H));
  exec_tensor *ho = tn_out(&t, 1, MIL_FP32, 2, SH(B, D * H)), *co = tn_out(&t, 2, MIL_FP32, 2, SH(B, D * H));
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  double h[32], c[32], ys[4 * 2 * 10];
  for (int64_t i = 0; i < B * D * H; i++) h[i] = exec_f32(h0)[i], c[i] = exec_f32(c0)[i];
  for (int d = 0; d < D; d++)
    ref_dir(S, B, I, H, D, exec_f32(x), exec_f32(w[d][0]), exec_f32(w[d][1]), exec_f32(w[d][2]),
            d == 1 || !strcmp(dir, "reverse"), clip, relu_cell, h, c, ys, d * H);
  for (int64_t i = 0; rc == 0 && i < B * D * H; i++) {
    CHECK_NEAR(exec_f32(ho)[i], h[i], 2e-5);
    CHECK_NEAR(exec_f32(co)[i], c[i], 2e-5);
    if (!out_seq) CHECK_NEAR(exec_f32(y)[i], h[i], 2e-5);
  }
  for (int64_t i = 0; rc == 0 && out_seq && i < y->count; i++) CHECK_NEAR(exec_f32(y)[i], ys[i], 2e-5);
  tn_free(&t);
}

static void test_lstm(void) {
  const char *dirs[3] = {"forward", "reverse", "bidirectional"};
  for (int d = 0; d < 3; d++)
    for (int seq = 0; seq < 2; seq++) check_lstm(dirs[d], seq, 0, 0);
  check_lstm("forward", 1, 0.3, 0);
  check_lstm("reverse", 0, 0, 1);
}

static void test_lstm_errors(void) {
  tnode t;
  tn_init(&t, "lstm", 3);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(2, 1, 3)));
  tn_in(&t, "initial_h", tt_new(&t, MIL_FP32, 2, SH(1, 4)));
  tn_in(&t, "initial_c", tt_new(&t, MIL_FP32, 2, SH(1, 4)));
  tn_in(&t, "weight_ih", tt_new(&t, MIL_FP32, 2, SH(16, 2)));
  tn_in(&t, "weight_hh", tt_new(&t, MIL_FP32, 2, SH(16, 4)));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 1, 4));
  tn_out(&t, 1, MIL_FP32, 2, SH(1, 4));
  tn_out(&t, 2, MIL_FP32, 2, SH(1, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'lstm' (y0): weight_ih [16, 2] and weight_hh [16, 4] must be float [4H, I] and [4H, H] with I = 3");
  tn_free(&t);

  tn_init(&t, "lstm", 3);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(2, 1, 3)));
  tn_in(&t, "initial_h", tt_new(&t, MIL_FP32, 2, SH(1, 4)));
  tn_in(&t, "initial_c", tt_new(&t, MIL_FP32, 2, SH(1, 4)));
  tn_in(&t, "weight_ih", tt_new(&t, MIL_FP32, 2, SH(16, 3)));
  tn_in(&t, "weight_hh", tt_new(&t, MIL_FP32, 2, SH(16, 4)));
  tn_in(&t, "direction", tt_str(&t, "bidirectional"));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 1, 8));
  tn_out(&t, 1, MIL_FP32, 2, SH(1, 8));
  tn_out(&t, 2, MIL_FP32, 2, SH(1, 8));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'lstm' (y0): missing required parameter 'weight_ih_back'");
  tn_free(&t);

  tn_init(&t, "lstm", 3);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(2, 1, 3)));
  tn_in(&t, "initial_h", tt_new(&t, MIL_FP32, 2, SH(1, 4)));
  tn_in(&t, "initial_c", tt_new(&t, MIL_FP32, 2, SH(1, 4)));
  tn_in(&t, "weight_ih", tt_new(&t, MIL_FP32, 2, SH(16, 3)));
  tn_in(&t, "weight_hh", tt_new(&t, MIL_FP32, 2, SH(16, 4)));
  tn_in(&t, "recurrent_activation", tt_str(&t, "softsign"));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 1, 4));
  tn_out(&t, 1, MIL_FP32, 2, SH(1, 4));
  tn_out(&t, 2, MIL_FP32, 2, SH(1, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ENOTSUP);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'lstm' (y0): unsupported recurrent_activation 'softsign'");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"lstm", test_lstm},
      {"lstm_errors", test_lstm_errors},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
