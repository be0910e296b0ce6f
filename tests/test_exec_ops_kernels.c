/* test_exec_ops_kernels.c — the unrolled fp32 kernels against their scalar reference twins
 * (exec_kernel_use_ref) and both against float64: normalised mean squared error
 * nmse = sum (a - b)^2 / sum b^2 must stay below 1e-10 (fp32 rounding of sums of ~1000 products
 * is ~1e-14 relative per term); lengths cover the unrolled body and every leftover count. The fp16
 * decode must be exact. */
#include <math.h>

#include "exec/kernels/matmul.h"
#include "exec_ops_util.h"
#include "harness.h"

static double nmse(const float *a, const double *b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return den > 0 ? num / den : num;
}

static void fill(float *v, int64_t n) {
  for (int64_t i = 0; i < n; i++) v[i] = tu_rand();
}

static void test_dot_rows(void) {
  static float w[1031], x[9 * 1031], out[2][9 * 3];
  static double want[9 * 3];
  int64_t ks[] = {1, 7, 8, 9, 15, 16, 17, 1031};
  for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
    int64_t k = ks[t];
    for (int64_t m = 1; m <= 9; m++) {
      fill(w, k);
      fill(x, m * k);
      for (int ref = 0; ref < 2; ref++) {
        exec_kernel_use_ref(ref);
        exec_kernel_dot_rows(w, x, m, k, k, out[ref], 3); /* strided output */
      }
      exec_kernel_use_ref(0);
      double o0[9], o1[9];
      for (int64_t r = 0; r < m; r++) {
        want[r] = 0;
        for (int64_t i = 0; i < k; i++) want[r] += (double)w[i] * x[r * k + i];
        o0[r] = out[0][r * 3], o1[r] = out[1][r * 3];
      }
      float f0[9], f1[9];
      for (int64_t r = 0; r < m; r++) f0[r] = (float)o0[r], f1[r] = (float)o1[r];
      CHECK_MSG(nmse(f0, want, m) < 1e-10, "fast k=%lld m=%lld: %g", (long long)k, (long long)m, nmse(f0, want, m));
      CHECK_MSG(nmse(f1, want, m) < 1e-10, "ref k=%lld m=%lld: %g", (long long)k, (long long)m, nmse(f1, want, m));
      double d[9];
      for (int64_t r = 0; r < m; r++) d[r] = f1[r];
      CHECK(nmse(f0, d, m) < 1e-10);
    }
  }
}

static void test_axpy_gemm(void) {
  static float a[13 * 37], b[37 * 21], c[2][13 * 21];
  static double want[13 * 21];
  int64_t M = 13, N = 21, K = 37;
  fill(a, M * K);
  fill(b, K * N);
  for (int ref = 0; ref < 2; ref++) {
    exec_kernel_use_ref(ref);
    for (int64_t i = 0; i < M * N; i++) c[ref][i] = 0.5f;
    exec_kernel_gemm_nn(M, N, K, a, K, b, N, c[ref], N);
  }
  exec_kernel_use_ref(0);
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = 0.5;
      for (int64_t p = 0; p < K; p++) s += (double)a[i * K + p] * b[p * N + j];
      want[i * N + j] = s;
    }
  CHECK(nmse(c[0], want, M * N) < 1e-10);
  CHECK(nmse(c[1], want, M * N) < 1e-10);
  for (int64_t n = 0; n < 20; n++) { /* axpy: every leftover count */
    float y[2][20], x[20];
    double yw[20];
    fill(x, n);
    for (int ref = 0; ref < 2; ref++) {
      exec_kernel_use_ref(ref);
      for (int64_t i = 0; i < n; i++) y[ref][i] = (float)i;
      exec_kernel_axpy(-1.5f, x, y[ref], n);
    }
    exec_kernel_use_ref(0);
    for (int64_t i = 0; i < n; i++) yw[i] = (float)i + -1.5 * x[i];
    CHECK(nmse(y[0], yw, n) < 1e-12);
    CHECK(nmse(y[1], yw, n) < 1e-12);
    float d = exec_kernel_dot(x, x, n);
    double dw = 0;
    for (int64_t i = 0; i < n; i++) dw += (double)x[i] * x[i];
    CHECK_NEAR(d, dw, 1e-5 * (1 + dw));
  }
}

/* Every fp16 bit pattern: the branch-free decode equals util_f16_to_f32 bit for bit (NaN: NaN). */
static void test_f16_decode(void) {
  static uint8_t src[2 * 65536];
  static float out[2][65536];
  for (uint32_t h = 0; h < 65536; h++) src[2 * h] = (uint8_t)(h & 255), src[2 * h + 1] = (uint8_t)(h >> 8);
  for (int ref = 0; ref < 2; ref++) {
    exec_kernel_use_ref(ref);
    exec_kernel_f16_to_f32(src, 65536, out[ref]);
  }
  exec_kernel_use_ref(0);
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float want = util_f16_to_f32((uint16_t)h);
    if (isnan(want) ? !isnan(out[0][h]) : memcmp(&want, &out[0][h], 4) != 0) bad++;
    if (isnan(want) ? !isnan(out[1][h]) : memcmp(&want, &out[1][h], 4) != 0) bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"dot_rows", test_dot_rows},
      {"axpy_gemm", test_axpy_gemm},
      {"f16_decode", test_f16_decode},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
