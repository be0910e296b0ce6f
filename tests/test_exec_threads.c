/* test_exec_threads.c — the executor's thread pool: matrix products and convolutions give the same
 * bits with 1, 2 and 4 threads, and match a float64 reference. The model (written by the test) has
 * a prefill-sized linear (gemm path), a decode-sized linear, a 1x1 conv on [1, C, 1, S] with a
 * 4-bit LUT weight and a batched matmul. */
#include <math.h>
#include <stdint.h>

#include "exec/op.h"
#include "harness.h"
#include "mil/blob_writer.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/fp16.h"
#include "util/pool.h"

enum { S = 24, DIN = 96, DOUT = 72 };

static uint16_t w16[DOUT * DIN];
static uint8_t idx[DOUT * DIN];
static uint16_t pal[(DOUT / 8) * 16];
static uint8_t idx8[DOUT * DIN];
static uint16_t pal8[(DOUT / 8) * 256];
static char dir[512];

static double wf(int o, int i) { return util_f16_to_f32(w16[o * DIN + i]); }
static double wl(int o, int i) { return util_f16_to_f32(pal[(o / 8) * 16 + idx[o * DIN + i]]); }
static double w8(int o, int i) { return util_f16_to_f32(pal8[(o / 8) * 256 + idx8[o * DIN + i]]); }

static void make_bundle(void) {
  snprintf(dir, sizeof dir, "%s/threads.mlmodelc", th_tmpdir());
  char path[700];
  mr_error err = {0};
  snprintf(path, sizeof path, "%s/weights", dir);
  CHECK(util_mkdirs(path, &err) == MR_OK);
  for (int i = 0; i < DOUT * DIN; i++) {
    w16[i] = util_f32_to_f16((float)sin(i * 0.013) * 0.2f);
    idx[i] = (uint8_t)((i * 7 + i / 13) & 15);
  }
  for (int i = 0; i < DOUT * DIN; i++) idx8[i] = (uint8_t)((i * 131 + i / 7) & 255);
  for (int i = 0; i < (DOUT / 8) * 256; i++) pal8[i] = util_f32_to_f16((float)((i % 256) - 127.5) / 600.0f);
  for (int i = 0; i < (DOUT / 8) * 16; i++) pal[i] = util_f32_to_f16((float)((i % 16) - 7.5) / 30.0f * (1 + i / 16 * 0.1f));
  uint8_t packed[DOUT * DIN / 2];
  mil_bits_pack(idx, DOUT * DIN, 4, packed);
  mil_blob_writer w;
  uint64_t o1, o2, o3, o4, o5;
  snprintf(path, sizeof path, "%s/weights/weight.bin", dir);
  CHECK(mil_blob_writer_open(&w, path, &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_FP16, w16, DOUT * DIN, &o1, &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_UINT4, packed, DOUT * DIN, &o2, &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_FP16, pal, (DOUT / 8) * 16, &o3, &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_UINT8, idx8, DOUT * DIN, &o4, &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_FP16, pal8, (DOUT / 8) * 256, &o5, &err) == MR_OK);
  CHECK(mil_blob_writer_close(&w, &err) == MR_OK);
  char mil[8192];
  snprintf(mil, sizeof mil,
    "program(1.3)\n{\n"
    "    func main<ios18>(tensor<fp32, [1, %d, %d]> x, tensor<fp32, [1, 1, %d]> x1, tensor<fp32, [1, %d, 1, %d]> xc, tensor<fp32, [6, %d, 16]> a, tensor<fp32, [6, 16, 20]> bm) {\n"
    "        tensor<fp16, [%d, %d]> w = const()[name = string(\"w\"), val = tensor<fp16, [%d, %d]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%llu)))];\n"
    "        tensor<fp16, [%d, %d, 1, 1]> wl = constexpr_lut_to_dense(indices = tensor<uint4, [%d, %d, 1, 1]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%llu))), lut = tensor<fp16, [%d, 1, 1, 1, 16, 1]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%llu))))[name = string(\"wl\")];\n"
    "        tensor<fp32, [1, %d, %d]> y = linear(weight = w, x = x)[name = string(\"y\")];\n"
    "        tensor<fp32, [1, 1, %d]> y1 = linear(weight = w, x = x1)[name = string(\"y1\")];\n"
    "        string pt = const()[name = string(\"pt\"), val = string(\"valid\")];\n"
    "        tensor<fp32, [1, %d, 1, %d]> yc = conv(pad_type = pt, weight = wl, x = xc)[name = string(\"yc\")];\n"
    "        tensor<fp32, [6, %d, 20]> ym = matmul(x = a, y = bm)[name = string(\"ym\")];\n"
    "        tensor<fp16, [%d, %d]> w8 = constexpr_lut_to_dense(indices = tensor<uint8, [%d, %d]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%llu))), lut = tensor<fp16, [%d, 1, 256, 1]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%llu))))[name = string(\"w8\")];\n"
    "        tensor<fp16, [%d, %d, 1, 1]> w8c = constexpr_lut_to_dense(indices = tensor<uint8, [%d, %d, 1, 1]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%llu))), lut = tensor<fp16, [%d, 1, 1, 1, 256, 1]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%llu))))[name = string(\"w8c\")];\n"
    "        tensor<fp32, [1, 1, %d]> y8 = linear(weight = w8, x = x1)[name = string(\"y8\")];\n"
    "        tensor<int32, [4]> s4 = const()[name = string(\"s4\"), val = tensor<int32, [4]>([1, %d, 1, 1])];\n"
    "        tensor<fp32, [1, %d, 1, 1]> x4 = reshape(shape = s4, x = x1)[name = string(\"x4\")];\n"
    "        tensor<fp32, [1, %d, 1, 1]> yc8 = conv(pad_type = pt, weight = w8c, x = x4)[name = string(\"yc8\")];\n"
    "    } -> (y, y1, yc, ym, y8, yc8);\n}\n",
    S, DIN, DIN, DIN, S, S, DOUT, DIN, DOUT, DIN, (unsigned long long)o1, DOUT, DIN, DOUT, DIN,
    (unsigned long long)o2, DOUT / 8, (unsigned long long)o3, S, DOUT, DOUT, DOUT, S, S,
    DOUT, DIN, DOUT, DIN, (unsigned long long)o4, DOUT / 8, (unsigned long long)o5,
    DOUT, DIN, DOUT, DIN, (unsigned long long)o4, DOUT / 8, (unsigned long long)o5, DOUT, DIN, DIN, DOUT);
  snprintf(path, sizeof path, "%s/model.mil", dir);
  CHECK(util_write_file_atomic(path, mil, strlen(mil), &err) == MR_OK);
}

static float x[S * DIN], x1[DIN], xc[DIN * S], a[6 * S * 16], bm[6 * 16 * 20];
static float out[6][DOUT * S * 6];

/* A prepared call of the test model's function with every input bound. */
static mr_call *prepare(mr_bundle *b) {
  const char *names[5] = {"x", "x1", "xc", "a", "bm"};
  mr_tensor in[5] = {{MR_FLOAT32, 3, {1, S, DIN}, x}, {MR_FLOAT32, 3, {1, 1, DIN}, x1},
                     {MR_FLOAT32, 4, {1, DIN, 1, S}, xc}, {MR_FLOAT32, 3, {6, S, 16}, a},
                     {MR_FLOAT32, 3, {6, 16, 20}, bm}};
  mr_call *c = NULL;
  mr_error err = {0};
  CHECK(mr_call_new(b, NULL, &c, &err) == MR_OK);
  for (int i = 0; i < 5 && c; i++) CHECK(mr_call_set_input(c, names[i], &in[i], &err) == MR_OK);
  return c;
}

/* Run c once; its six outputs into out[]. */
static void run_call(mr_call *c) {
  mr_error err = {0};
  if (!c) return;
  CHECK_MSG(mr_call_run(c, &err) == MR_OK, "%s", err.msg);
  for (int k = 0; k < 6; k++) {
    mr_tensor o;
    if (mr_call_output(c, k, &o) == MR_OK) memcpy(out[k], o.data, (size_t)mr_tensor_count(&o) * sizeof(float));
  }
}

static mr_bundle *open_with(int threads) {
  mr_bundle *b = NULL;
  mr_error err = {0};
  mr_bundle_options o = {.threads = threads};
  CHECK_MSG(mr_bundle_open(dir, &o, &b, &err) == MR_OK, "%s", err.msg);
  return b;
}

static void run(int threads) {
  mr_set_threads(threads);
  mr_bundle *b = open_with(0);
  if (!b) return;
  mr_call *c = prepare(b);
  run_call(c);
  mr_call_free(c);
  mr_bundle_close(b);
}

static void test_same_bits_any_thread_count(void) {
  make_bundle();
  exec_parallel_min_work(0); /* these products are small: send every one to the pool */
  for (int i = 0; i < S * DIN; i++) x[i] = (float)cos(i * 0.07), xc[i] = (float)sin(i * 0.05);
  for (int i = 0; i < DIN; i++) x1[i] = (float)cos(i * 0.3);
  for (int i = 0; i < 6 * S * 16; i++) a[i] = (float)sin(i * 0.11);
  for (int i = 0; i < 6 * 16 * 20; i++) bm[i] = (float)cos(i * 0.17);
  static float ref[6][DOUT * S * 6];
  run(1);
  memcpy(ref, out, sizeof ref);
  /* float64 reference for the single-thread run */
  /* the LUT conv over S positions runs as an integer product (14-bit x, 12-bit weights) where the
   * kernels have one: its error is checked against the sum of |terms| */
  double e = 0, el = 0;
  for (int r = 0; r < S; r++)
    for (int o = 0; o < DOUT; o++) {
      double s = 0, sc = 0, magl = 0;
      for (int i = 0; i < DIN; i++)
        s += x[r * DIN + i] * wf(o, i), sc += xc[i * S + r] * wl(o, i), magl += fabs(xc[i * S + r] * wl(o, i));
      e = fmax(e, fabs(ref[0][r * DOUT + o] - s));
      el = fmax(el, fabs(ref[2][o * S + r] - sc) / magl);
    }
  CHECK_MSG(el < 2e-3, "LUT conv over positions: error %g of the sum of |terms| against float64", el);
  /* 8-bit LUT rows with the lookup fused into the dot (linear, and a 1x1 conv on [1, C, 1, 1]):
   * where the kernels have integer products, x is quantised to int8 (kernels.h bounds the error;
   * here 1% of the sum of |terms|) */
  double e8 = 0;
  for (int o = 0; o < DOUT; o++) {
    double s = 0, s8 = 0, mag8 = 0;
    for (int i = 0; i < DIN; i++) s += x1[i] * wf(o, i), s8 += x1[i] * w8(o, i), mag8 += fabs(x1[i] * w8(o, i));
    e = fmax(e, fabs(ref[1][o] - s));
    e8 = fmax(e8, fmax(fabs(ref[4][o] - s8), fabs(ref[5][o] - s8)) / mag8);
  }
  CHECK_MSG(e8 < 1e-2, "LUT8 rows: error %g of the sum of |terms| against float64", e8);
  for (int bb = 0; bb < 6; bb++)
    for (int i = 0; i < S; i++)
      for (int j = 0; j < 20; j++) {
        double s = 0;
        for (int k = 0; k < 16; k++) s += a[(bb * S + i) * 16 + k] * bm[(bb * 16 + k) * 20 + j];
        e = fmax(e, fabs(ref[3][(bb * S + i) * 20 + j] - s));
      }
  CHECK_MSG(e < 1e-4, "max error %g against float64", e);
  int counts[2] = {2, 4};
  for (int t = 0; t < 2; t++) {
    run(counts[t]);
    CHECK(util_pool_size(util_pool_default()) == counts[t]);
    CHECK(!memcmp(out, ref, sizeof ref));
  }
  mr_set_threads(0);
}

/* mr_set_threads reaches bundles that are already open, at their next run, and the per-bundle
 * option caps it; the bits stay those of one thread. */
static void test_set_threads_reaches_open_bundles(void) {
  make_bundle();
  exec_parallel_min_work(0);
  static float ref[6][DOUT * S * 6];
  mr_set_threads(1);
  mr_bundle *b = open_with(0), *capped = open_with(2);
  if (!b || !capped) return;
  mr_call *c = prepare(b), *cc = prepare(capped);
  exec_parallel_most_threads();
  run_call(c);
  CHECK_EQ_INT(exec_parallel_most_threads(), 1);
  memcpy(ref, out, sizeof ref);
  mr_set_threads(4);
  run_call(c);
  CHECK_EQ_INT(exec_parallel_most_threads(), 4);
  CHECK(!memcmp(out, ref, sizeof ref));
  run_call(cc);
  CHECK_EQ_INT(exec_parallel_most_threads(), 2);
  CHECK(!memcmp(out, ref, sizeof ref));
  mr_set_threads(1);
  run_call(c);
  CHECK_EQ_INT(exec_parallel_most_threads(), 1);
  CHECK(!memcmp(out, ref, sizeof ref));
  mr_call_free(c);
  mr_call_free(cc);
  mr_bundle_close(b);
  mr_bundle_close(capped);
  mr_set_threads(0);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"same_bits_any_thread_count", test_same_bits_any_thread_count},
                                  {"set_threads_reaches_open_bundles", test_set_threads_reaches_open_bundles},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
