/* test_exec_stateful.c — a stateful two-function model (tests/fixtures/stateful/model.mil, written
 * like Anemll's prefill/infer pair, with a 4-bit grouped LUT weight) whose weight.bin the test
 * writes. What `prefill` writes into the state is read by `infer` on a later call; both are checked
 * against a float64 reference computed here. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "exec/consts.h"
#include "exec/plan.h"
#include "bundle_util.h"
#include "harness.h"
#include "mil/blob_writer.h"
#include "mil/model.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/fp16.h"

static uint8_t idx[64][64];
static double lut[4][16];
static char dir[512];

/* The bundle: the fixture's model.mil plus a weight.bin holding uint4 [64, 64] at offset 64 and
 * fp16 [4, 1, 16, 1] (one 16-entry palette per 16 rows) at offset 2176, as its BLOBFILEs say. */
static void make_bundle(void) {
  snprintf(dir, sizeof dir, "%s/stateful.mlmodelc", th_tmpdir());
  char path[600], *text;
  mr_error err = {0};
  snprintf(path, sizeof path, "%s/weights", dir);
  CHECK(util_mkdirs(path, &err) == MR_OK);
  size_t size;
  CHECK(util_read_file(th_fixture("stateful/model.mil"), &text, &size, &err) == MR_OK);
  snprintf(path, sizeof path, "%s/model.mil", dir);
  CHECK(util_write_file_atomic(path, text, size, &err) == MR_OK);
  mr_free(text);
  uint8_t flat[4096], packed[2048];
  uint16_t pal[64];
  for (int r = 0; r < 64; r++)
    for (int c = 0; c < 64; c++) flat[r * 64 + c] = idx[r][c] = (uint8_t)((r * 7 + c * 3 + (r * c) % 5) & 15);
  for (int g = 0; g < 4; g++)
    for (int k = 0; k < 16; k++) {
      pal[g * 16 + k] = util_f32_to_f16((float)((k - 7.5) / 40.0 * (1 + 0.25 * g)));
      lut[g][k] = util_f16_to_f32(pal[g * 16 + k]);
    }
  mil_bits_pack(flat, 4096, 4, packed);
  mil_blob_writer w;
  uint64_t o1, o2;
  snprintf(path, sizeof path, "%s/weights/weight.bin", dir);
  CHECK(mil_blob_writer_open(&w, path, &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_UINT4, packed, 4096, &o1, &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_FP16, pal, 64, &o2, &err) == MR_OK);
  CHECK(mil_blob_writer_close(&w, &err) == MR_OK);
  CHECK_EQ_INT(o1, 64);
  CHECK_EQ_INT(o2, 2176);
}

/* q[t][o] = sum_i x[t][i] * W[o][i], W[o][i] = lut[o / 16][idx[o][i]] (float64). */
static void ref_linear(const float *x, int T, double *q) {
  for (int t = 0; t < T; t++)
    for (int o = 0; o < 64; o++) {
      double s = 0;
      for (int i = 0; i < 64; i++) s += (double)x[t * 64 + i] * lut[o / 16][idx[o][i]];
      q[t * 64 + o] = s;
    }
}

/* Plan function `name` of the bundle at path as the CPU executor does; *in_place counts the state
 * steps that copy nothing, *aliased the values that are the fp16 state's own fp16 buffer. */
static void plan_counts(const char *path, const char *name, int *in_place, int *aliased) {
  mil_model *m;
  exec_consts consts;
  exec_function f;
  mr_error err = {0};
  *in_place = *aliased = -1;
  CHECK_MSG(mil_model_load(path, 0, &m, &err) == MR_OK, "%s", err.msg);
  if (!m) return;
  CHECK(exec_consts_init(&consts, m->weights_root, &err) == MR_OK);
  const mil_model_function *d = mil_model_function_find(m, name);
  if (exec_function_plan(&f, m->prog, d->fn, m->program_file, &consts, NULL, &err) == MR_OK) {
    *in_place = *aliased = 0;
    for (int s = 0; s < f.n_steps; s++) *in_place += f.steps[s].in_place;
    for (int a = 0; a < f.n_aliases; a++) *aliased += f.aliases[a].t->rank == 4 && f.aliases[a].t->storage == EXEC_F16;
    exec_function_free(&f);
  } else {
    CHECK_MSG(0, "%s", err.msg);
  }
  exec_consts_free(&consts);
  mil_model_free(m);
}

static float kv_at(const mr_tensor *view, int64_t i) { return util_f16_to_f32(((const uint16_t *)view->data)[i]); }

/* Run function fn with the two inputs and the state; *out is borrowed from the bundle. */
static int run_fn(mr_bundle *b, const char *fn, const mr_tensor *pos, const mr_tensor *x, mr_state *kv, mr_tensor *out) {
  mr_call *c;
  mr_error err = {0};
  int rc = mr_call_new(b, fn, &c, &err);
  if (!rc) rc = mr_call_set_input(c, "current_pos", pos, &err);
  if (!rc) rc = mr_call_set_input(c, "hidden_states", x, &err);
  if (!rc) rc = mr_call_set_state(c, "kv_cache_0", kv, &err);
  if (!rc) rc = mr_call_run(c, &err);
  if (!rc) rc = mr_call_output(c, 0, out);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  mr_call_free(c);
  return rc;
}

static void test_prefill_then_infer(void) {
  make_bundle();
  /* the cache update is planned in place on the fp16 state: infer's read, slice_update, write and
   * read copy nothing, and the keys slice read by the matmul is a view of the state */
  int in_place, aliased;
  plan_counts(dir, "infer", &in_place, &aliased);
  CHECK_EQ_INT(in_place, 4);
  CHECK_EQ_INT(aliased, 4);
  mr_bundle *b = th_open_bundle(dir);
  if (!b) return;
  CHECK_EQ_INT(mr_bundle_function_count(b), 2);
  mr_state *kv;
  CHECK(mr_state_new(b, "kv_cache_0", &kv, NULL) == MR_OK);
  mr_tensor view;
  mr_state_view(kv, &view);
  CHECK_EQ_INT(view.dtype, MR_FLOAT16); /* fp16 in memory, as declared */
  CHECK_EQ_INT(view.rank, 4);
  CHECK_EQ_INT(view.shape[2], 16);

  float xp[4 * 64], xi[64];
  for (int i = 0; i < 4 * 64; i++) xp[i] = (float)sin(i * 0.37) * 0.8f;
  for (int i = 0; i < 64; i++) xi[i] = (float)cos(i * 0.21) * 0.9f;
  int32_t pos0 = 0, pos4 = 4;
  mr_tensor in_p[2] = {{MR_INT32, 1, {1}, &pos0}, {MR_FLOAT32, 3, {1, 4, 64}, xp}};
  mr_tensor out;
  run_fn(b, "prefill", &in_p[0], &in_p[1], kv, &out);

  double qp[4 * 64], qi[64];
  ref_linear(xp, 4, qp);
  ref_linear(xi, 1, qi);
  /* prefill wrote q transposed to [1, 2 heads, 4 positions, 32] into kv[0, :, 0:4, :] */
  double maxerr = 0;
  for (int h = 0; h < 2; h++)
    for (int t = 0; t < 16; t++)
      for (int d = 0; d < 32; d++) {
        double want = t < 4 ? qp[t * 64 + h * 32 + d] : 0.0;
        maxerr = fmax(maxerr, fabs(kv_at(&view, ((0 * 2 + h) * 16 + t) * 32 + d) - want));
      }
  CHECK_MSG(maxerr < 2e-2, "state after prefill differs by %g", maxerr);
  for (int i = 2 * 16 * 32; i < view.shape[0] * 2 * 16 * 32; i++) CHECK(kv_at(&view, i) == 0.0f); /* kv[1] untouched */

  /* infer at position 4 reads the keys prefill wrote */
  mr_tensor in_i[2] = {{MR_INT32, 1, {1}, &pos4}, {MR_FLOAT16, 3, {1, 1, 64}, NULL}};
  uint16_t xi16[64];
  for (int i = 0; i < 64; i++) xi16[i] = util_f32_to_f16(xi[i]);
  in_i[1].data = xi16;
  run_fn(b, "infer", &in_i[0], &in_i[1], kv, &out);
  CHECK_EQ_INT(out.dtype, MR_FLOAT16);
  CHECK_EQ_INT(out.rank, 4);
  CHECK_EQ_INT(out.shape[3], 16);
  for (int h = 0; h < 2; h++) {
    double sc[16], mx = -1e300, sum = 0;
    for (int t = 0; t < 16; t++) {
      sc[t] = 0;
      for (int d = 0; d < 32; d++) {
        double k = t < 4 ? qp[t * 64 + h * 32 + d] : t == 4 ? qi[h * 32 + d] : 0.0;
        sc[t] += qi[h * 32 + d] * k;
      }
      mx = fmax(mx, sc[t]);
    }
    for (int t = 0; t < 16; t++) sum += exp(sc[t] - mx);
    for (int t = 0; t < 16; t++) {
      double want = exp(sc[t] - mx) / sum;
      float got = util_f16_to_f32(((uint16_t *)out.data)[h * 16 + t]);
      CHECK_MSG(fabs(got - want) < 5e-3, "head %d pos %d: %g vs %g", h, t, got, want);
    }
  }
  /* a reset state makes infer see only its own key */
  mr_state_reset(kv);
  CHECK(run_fn(b, "infer", &in_i[0], &in_i[1], kv, &out) == MR_OK);
  float p4 = util_f16_to_f32(((uint16_t *)out.data)[4]), p0 = util_f16_to_f32(((uint16_t *)out.data)[0]);
  double self = 0;
  for (int d = 0; d < 32; d++) self += qi[d] * qi[d];
  CHECK_NEAR(p4 / p0, exp(self), exp(self) * 0.02);
  mr_state_free(kv);
  mr_bundle_close(b);
}

static void test_state_misuse(void) {
  make_bundle();
  mr_bundle *b = th_open_bundle(dir);
  if (!b) return;
  mr_state *kv = NULL;
  mr_error err = {0};
  CHECK_EQ_INT(mr_state_new(b, "nope", &kv, &err), MR_ENOTFOUND);
  char expect[1024];
  snprintf(expect, sizeof expect, "%s: no function declares a state named 'nope'", dir);
  CHECK_EQ_STR(err.msg, expect);
  CHECK_EQ_INT(mr_state_new(b, "nope", &kv, NULL), MR_ENOTFOUND); /* err may be NULL */
  int32_t pos = 0;
  float x[64] = {0};
  mr_tensor in[2] = {{MR_INT32, 1, {1}, &pos}, {MR_FLOAT32, 3, {1, 1, 64}, x}};
  mr_call *c;
  CHECK(mr_call_new(b, "infer", &c, &err) == MR_OK);
  CHECK(mr_call_set_input(c, "current_pos", &in[0], &err) == MR_OK);
  CHECK(mr_call_set_input(c, "hidden_states", &in[1], &err) == MR_OK);
  CHECK_EQ_INT(mr_call_run(c, &err), MR_EINVAL);
  snprintf(expect, sizeof expect, "%s: function 'infer': state 'kv_cache_0' is missing (create it with mr_state_new)", dir);
  CHECK_EQ_STR(err.msg, expect);
  mr_tensor bad = {MR_FLOAT32, 3, {1, 2, 32}, x}, out;
  CHECK(mr_state_new(b, "kv_cache_0", &kv, &err) == MR_OK);
  CHECK_EQ_INT(mr_call_set_input(c, "hidden_states", &bad, &err), MR_ESHAPE);
  snprintf(expect, sizeof expect, "%s: function 'infer': input 'hidden_states' must be fp16 [1, 1, 64], got fp32 [1, 2, 32]", dir);
  CHECK_EQ_STR(err.msg, expect);
  CHECK_EQ_INT(mr_call_set_input(c, "nope", &bad, &err), MR_ENOTFOUND);
  CHECK_EQ_INT(mr_call_set_state(c, "nope", kv, &err), MR_ENOTFOUND);
  CHECK_EQ_INT(mr_call_output(c, 0, &out), MR_EINVAL); /* nothing has run */
  mr_call_free(c);
  CHECK(mr_call_new(b, "infer", &c, &err) == MR_OK);
  CHECK(mr_call_set_input(c, "current_pos", &in[0], &err) == MR_OK);
  CHECK(mr_call_set_state(c, "kv_cache_0", kv, &err) == MR_OK);
  CHECK_EQ_INT(mr_call_run(c, &err), MR_EINVAL);
  snprintf(expect, sizeof expect, "%s: function 'infer': input 'hidden_states' is missing", dir);
  CHECK_EQ_STR(err.msg, expect);
  CHECK_EQ_INT(mr_call_run(c, NULL), MR_EINVAL);
  mr_call_free(c);
  CHECK_EQ_INT(mr_call_new(b, "decode", &c, &err), MR_ENOTFOUND);
  CHECK(c == NULL);
  mr_state_free(kv);
  mr_bundle_close(b);
}

/* States read by ops other than slices: an fp16 state is then copied (converted) rather than
 * aliased, an fp32 one still aliased; both accumulate exactly as a float64 reference rounded to
 * their dtypes. acc += x; y = acc * x, three times. */
static const char *const ACC_MIL =
    "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [4]> x, state<tensor<fp16, [4]>> a16, state<tensor<fp32, [4]>> a32) {\n"
    "            tensor<fp16, [4]> o16 = read_state(input = a16)[name = string(\"o16\")];\n"
    "            tensor<fp16, [4]> s16 = add(x = o16, y = x)[name = string(\"s16\")];\n"
    "            write_state(data = s16, input = a16)[name = string(\"w16\")];\n"
    "            tensor<fp16, [4]> n16 = read_state(input = a16)[name = string(\"n16\")];\n"
    "            tensor<fp16, [4]> y16 = mul(x = n16, y = x)[name = string(\"y16\")];\n"
    "            tensor<fp32, [4]> x32 = cast(dtype = string(\"fp32\"), x = x)[name = string(\"x32\")];\n"
    "            tensor<fp32, [4]> o32 = read_state(input = a32)[name = string(\"o32\")];\n"
    "            tensor<fp32, [4]> s32 = add(x = o32, y = x32)[name = string(\"s32\")];\n"
    "            write_state(data = s32, input = a32)[name = string(\"w32\")];\n"
    "            tensor<fp32, [4]> n32 = read_state(input = a32)[name = string(\"n32\")];\n"
    "            tensor<fp32, [4]> y32 = mul(x = n32, y = x32)[name = string(\"y32\")];\n"
    "        } -> (y16, y32);\n}\n";

static void test_states_read_by_other_ops(void) {
  char adir[600], path[700];
  mr_error err = {0};
  snprintf(adir, sizeof adir, "%s/acc.mlmodelc", th_tmpdir());
  CHECK(util_mkdirs(adir, &err) == MR_OK);
  snprintf(path, sizeof path, "%s/model.mil", adir);
  CHECK(util_write_file_atomic(path, ACC_MIL, strlen(ACC_MIL), &err) == MR_OK);
  int in_place, aliased;
  plan_counts(adir, "main", &in_place, &aliased);
  CHECK_EQ_INT(in_place, 2); /* the fp32 state's two reads */
  CHECK_EQ_INT(aliased, 0);
  mr_bundle *b = th_open_bundle(adir);
  if (!b) return;
  mr_state *a16, *a32;
  mr_call *c;
  CHECK(mr_state_new(b, "a16", &a16, &err) == MR_OK && mr_state_new(b, "a32", &a32, &err) == MR_OK);
  CHECK(mr_call_new(b, NULL, &c, &err) == MR_OK);
  CHECK(mr_call_set_state(c, "a16", a16, &err) == MR_OK && mr_call_set_state(c, "a32", a32, &err) == MR_OK);
  float x[4] = {0.1f, -1.3f, 2.7f, 1e-3f};
  mr_tensor xt = {MR_FLOAT32, 1, {4}, x}, y16, y32, v16, v32;
  CHECK(mr_call_set_input(c, "x", &xt, &err) == MR_OK);
  double acc16[4] = {0}, acc32[4] = {0};
  for (int step = 0; step < 3; step++) {
    CHECK_MSG(mr_call_run(c, &err) == MR_OK, "%s", err.msg);
    CHECK(mr_call_output(c, 0, &y16) == MR_OK && mr_call_output(c, 1, &y32) == MR_OK);
    mr_state_view(a16, &v16);
    mr_state_view(a32, &v32);
    CHECK_EQ_INT(v16.dtype, MR_FLOAT16);
    CHECK_EQ_INT(v32.dtype, MR_FLOAT32);
    for (int i = 0; i < 4; i++) {
      float xi = util_round_f16(x[i]);
      acc16[i] = util_round_f16((float)(acc16[i] + xi));
      acc32[i] = (float)(acc32[i] + xi);
      CHECK(util_f16_to_f32(((uint16_t *)v16.data)[i]) == (float)acc16[i]);
      CHECK(((float *)v32.data)[i] == (float)acc32[i]);
      CHECK(util_f16_to_f32(((uint16_t *)y16.data)[i]) == util_round_f16((float)acc16[i] * xi));
      CHECK(((float *)y32.data)[i] == (float)acc32[i] * xi);
    }
  }
  mr_call_free(c);
  mr_state_free(a16);
  mr_state_free(a32);
  mr_bundle_close(b);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"prefill_then_infer", test_prefill_then_infer},
    {"state_misuse", test_state_misuse},
    {"states_read_by_other_ops", test_states_read_by_other_ops},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
