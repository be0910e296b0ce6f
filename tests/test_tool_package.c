/* test_tool_package.c — Core ML packages are the same models as the .mlmodelc they come from: for
 * every .mlmodelc fixture and the converted tiny models (fp16, and LUT with two chunks), the package
 * (`milrun export`, the one `milrun convert` writes from the converter's IR, and a bare .mlmodel) loads
 * to an IR equal to the .mlmodelc's, describes the same functions, and every function predicts
 * bit-identical outputs and states from the same inputs; the converted qwen3-tiny-python as
 * packages alone gives `milrun logits` bit-identical to its .mlmodelc form; and export back to a
 * .mlmodelc reproduces the model.mil the converter printed, byte for byte. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bundle_util.h"
#include "harness.h"
#include "mil/model.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/fp16.h"

static int milrun(const char *args) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "\"%s\" %s >/dev/null 2>&1", getenv("MR_MILRUN"), args);
  int st = system(cmd);
  CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "milrun %s failed", args);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void check_same_ir(const char *compiled, const char *package) {
  mil_model *a = NULL, *b = NULL;
  mr_error err = {0};
  CHECK_MSG(mil_model_load(compiled, 0, &a, &err) == MR_OK, "%s", err.msg);
  CHECK_MSG(mil_model_load(package, 0, &b, &err) == MR_OK, "%s", err.msg);
  if (a && b) {
    char why[512];
    CHECK_MSG(mil_program_equal_as(a->prog, b->prog, MIL_EQUAL_PROTOBUF, why, sizeof why), "%s: %s", package, why);
    CHECK_EQ_INT(b->format, MIL_MODEL_PACKAGE);
    CHECK_EQ_STR(a->prog->funcs[a->default_fn].name, b->prog->funcs[b->default_fn].name);
    CHECK_EQ_INT(a->md.n_user, b->md.n_user);
    for (int i = 0; i < a->md.n_user && i < b->md.n_user; i++) {
      CHECK_EQ_STR(a->md.user_keys[i], b->md.user_keys[i]);
      CHECK_EQ_STR(a->md.user_values[i], b->md.user_values[i]);
    }
  }
  mil_model_free(a);
  mil_model_free(b);
}

static size_t dtype_size(mr_dtype t) { return t == MR_FLOAT16 ? 2 : t == MR_BOOL ? 1 : 4; }

/* Deterministic inputs: small integers (valid ids, positions), floats in [-1, 1). */
static void fill(void *data, mr_dtype t, int64_t n, unsigned *seed) {
  for (int64_t i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    unsigned r = *seed >> 8;
    float f = (float)(r % 2048) / 1024.0f - 1.0f;
    if (t == MR_INT32) ((int32_t *)data)[i] = (int32_t)(r % 4);
    else if (t == MR_FLOAT16) ((uint16_t *)data)[i] = util_f32_to_f16(f);
    else if (t == MR_BOOL) ((uint8_t *)data)[i] = (uint8_t)(r & 1);
    else ((float *)data)[i] = f;
  }
}

typedef struct run_out {
  void *data[64];
  size_t size[64];
  int n;
} run_out;

static void keep(run_out *out, const mr_tensor *t) {
  size_t size = (size_t)mr_tensor_count(t) * dtype_size(t->dtype);
  void *copy = mr_alloc(size);
  if (copy) memcpy(copy, t->data, size);
  out->data[out->n] = copy;
  out->size[out->n++] = size;
}

/* Run function fn of b on the inputs seeded by seed (flexible dimensions: 1), states filled the
 * same way; outputs and final states are copied into out. */
static void run_function(mr_bundle *b, const char *fn, unsigned seed, run_out *out) {
  const mr_io_info *in, *st;
  int ni = mr_bundle_inputs(b, fn, &in), ns = mr_bundle_states(b, fn, &st);
  mr_call *c = NULL;
  mr_error err = {0};
  void *bufs[64] = {0};
  mr_state *states[8] = {0};
  memset(out, 0, sizeof *out);
  CHECK_MSG(mr_call_new(b, fn, &c, &err) == MR_OK, "%s", err.msg);
  CHECK(ni < 64 && ns < 8);
  for (int i = 0; c && i < ni && i < 64; i++) {
    mr_tensor t = {in[i].dtype, in[i].rank, {0}, NULL};
    for (int d = 0; d < t.rank; d++) t.shape[d] = in[i].shape[d] < 0 ? 1 : in[i].shape[d];
    bufs[i] = mr_alloc((size_t)mr_tensor_count(&t) * dtype_size(t.dtype));
    fill(bufs[i], t.dtype, mr_tensor_count(&t), &seed);
    t.data = bufs[i];
    CHECK_MSG(mr_call_set_input(c, in[i].name, &t, &err) == MR_OK, "%s", err.msg);
  }
  for (int i = 0; c && i < ns && i < 8; i++) {
    CHECK_MSG(mr_state_new(b, st[i].name, &states[i], &err) == MR_OK, "%s", err.msg);
    if (!states[i]) continue;
    mr_tensor v;
    mr_state_view(states[i], &v);
    fill(v.data, v.dtype, mr_tensor_count(&v), &seed);
    CHECK_MSG(mr_call_set_state(c, st[i].name, states[i], &err) == MR_OK, "%s", err.msg);
  }
  if (c) CHECK_MSG(mr_call_run(c, &err) == MR_OK, "%s: %s", fn ? fn : "default", err.msg);
  for (int i = 0; c && i < mr_call_output_count(c) && out->n < 64; i++) {
    mr_tensor t;
    if (mr_call_output(c, i, &t)) break;
    keep(out, &t);
  }
  for (int i = 0; i < ns && i < 8 && states[i] && out->n < 64; i++) {
    mr_tensor v;
    mr_state_view(states[i], &v);
    keep(out, &v);
  }
  mr_call_free(c);
  for (int i = 0; i < ns && i < 8; i++) mr_state_free(states[i]);
  for (int i = 0; i < ni && i < 64; i++) mr_free(bufs[i]);
}

static void free_out(run_out *o) {
  for (int i = 0; i < o->n; i++) mr_free(o->data[i]);
}

static void check_same_io(const mr_io_info *a, int na, const mr_io_info *b, int nb, const char *what) {
  CHECK_EQ_INT(na, nb);
  for (int i = 0; i < na && i < nb; i++) {
    CHECK_EQ_STR(a[i].name, b[i].name);
    CHECK_MSG(a[i].dtype == b[i].dtype && a[i].rank == b[i].rank, "%s: %s", what, a[i].name);
    for (int d = 0; d < a[i].rank && d < b[i].rank; d++) CHECK_EQ_INT(a[i].shape[d], b[i].shape[d]);
  }
}

/* Both forms describe the same functions and every function predicts the same bits. */
static void check_same_predictions(const char *compiled, const char *package) {
  mr_bundle *a = th_open_bundle(compiled), *b = th_open_bundle(package);
  int n = a && b ? mr_bundle_function_count(a) : 0;
  if (a && b) CHECK_EQ_INT(mr_bundle_function_count(b), n);
  if (a && b) CHECK_EQ_STR(mr_bundle_default_function(a), mr_bundle_default_function(b));
  for (int f = 0; f < n; f++) {
    const char *fa[1] = {mr_bundle_function_name(a, f)};
    const mr_io_info *x, *y;
    int nx = mr_bundle_inputs(a, fa[0], &x), ny = mr_bundle_inputs(b, fa[0], &y);
    check_same_io(x, nx, y, ny, package);
    nx = mr_bundle_outputs(a, fa[0], &x), ny = mr_bundle_outputs(b, fa[0], &y);
    check_same_io(x, nx, y, ny, package);
    nx = mr_bundle_states(a, fa[0], &x), ny = mr_bundle_states(b, fa[0], &y);
    check_same_io(x, nx, y, ny, package);
    run_out ra, rb;
    run_function(a, fa[0], 7u + (unsigned)f, &ra);
    run_function(b, fa[0], 7u + (unsigned)f, &rb);
    CHECK_MSG(ra.n > 0 && ra.n == rb.n, "%s %s: %d and %d results", package, fa[0], ra.n, rb.n);
    for (int i = 0; i < ra.n && i < rb.n; i++)
      CHECK_MSG(ra.size[i] == rb.size[i] && !memcmp(ra.data[i], rb.data[i], ra.size[i]),
                "%s %s: result %d differs from the .mlmodelc's", package, fa[0], i);
    free_out(&ra);
    free_out(&rb);
  }
  if (a) mr_bundle_close(a);
  if (b) mr_bundle_close(b);
}

static void check_export(const char *compiled, const char *name) {
  char pkg[1024], args[2400];
  snprintf(pkg, sizeof pkg, "%s/%s.mlpackage", th_tmpdir(), name);
  snprintf(args, sizeof args, "export \"%s\" \"%s\"", compiled, pkg);
  if (milrun(args)) return;
  check_same_ir(compiled, pkg);
  check_same_predictions(compiled, pkg);
}

static void test_fixtures_as_packages(void) {
  static const char *const dirs[] = {"silero-vad", "hub/repo/models"};
  int n = 0;
  for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
    DIR *d = opendir(th_fixture(dirs[k]));
    struct dirent *e;
    while (d && (e = readdir(d))) {
      size_t len = strlen(e->d_name);
      if (len < 9 || strcmp(e->d_name + len - 9, ".mlmodelc")) continue;
      char rel[512], name[300];
      snprintf(rel, sizeof rel, "%s/%s", dirs[k], e->d_name);
      snprintf(name, sizeof name, "fixture%d", n++);
      check_export(th_fixture(rel), name);
      if (n == 1) { /* the package's model file alone is a bare .mlmodel: the same model */
        char bare[1024];
        snprintf(bare, sizeof bare, "%s/%s.mlpackage/Data/com.apple.CoreML/model.mlmodel", th_tmpdir(), name);
        check_same_predictions(th_fixture(rel), bare);
      }
    }
    if (d) closedir(d);
  }
  CHECK_EQ_INT(n, 8);
}

/* Convert `model` with --format both; every component's package (written from the converter's IR)
 * and its export equal the .mlmodelc. */
static void check_converted(const char *model, const char *name, const char *opts) {
  char out[700], args[2400];
  snprintf(out, sizeof out, "%s/%s", th_tmpdir(), name);
  snprintf(args, sizeof args, "convert \"%s\" \"%s\" --context 32 --batch 4 --quiet %s", th_fixture(model), out, opts);
  if (milrun(args)) return;
  DIR *d = opendir(out);
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 9 || strcmp(e->d_name + len - 9, ".mlmodelc")) continue;
    char compiled[1200], pkg[1200], exported[600];
    snprintf(compiled, sizeof compiled, "%s/%s", out, e->d_name);
    snprintf(pkg, sizeof pkg, "%s/%.*s.mlpackage", out, (int)(len - 9), e->d_name);
    check_same_ir(compiled, pkg);
    check_same_predictions(compiled, pkg);
    snprintf(exported, sizeof exported, "%s-%d", name, n++);
    check_export(compiled, exported);
  }
  if (d) closedir(d);
  CHECK_MSG(n >= 3, "%s: %d components", out, n);
}

static void test_converted_fp16(void) { check_converted("models/qwen3-tiny", "conv-fp16", ""); }

static void test_converted_lut(void) {
  check_converted("models/qwen3-tiny", "conv-lut", "--chunks 2 --lut-ffn 4 --lut-lmhead 6,0 --lut-embeddings 8");
}

static char *read_all(const char *path, size_t *n) {
  char *data = NULL;
  mr_error err = {0};
  CHECK_MSG(util_read_file(path, &data, n, &err) == MR_OK, "%s", err.msg);
  return data;
}

/* An Anemll directory of packages alone runs as its .mlmodelc form does: logits of every prompt
 * position, bit for bit. */
static void test_qwen3_python_packages_logits(void) {
  char a[700], b[700], args[2400];
  const char *fmt[2] = {"mlmodelc", "mlpackage"};
  char *dirs[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    snprintf(dirs[i], 700, "%s/qwen3py-%s", th_tmpdir(), fmt[i]);
    snprintf(args, sizeof args, "convert \"%s\" \"%s\" --context 64 --batch 8 --quiet --format %s",
             th_fixture("models/qwen3-tiny-python"), dirs[i], fmt[i]);
    if (milrun(args)) return;
    snprintf(args, sizeof args, "logits \"%s\" --ids 9707,11,1879,0,576,3974,13876,11,1879,13,1879 --out \"%s.bin\"",
             dirs[i], dirs[i]);
    if (milrun(args)) return;
  }
  char pa[720], pb[720], path[900];
  snprintf(path, sizeof path, "%s/qwen_embeddings.mlmodelc", b);
  CHECK(!util_exists(path)); /* packages only */
  snprintf(pa, sizeof pa, "%s.bin", a);
  snprintf(pb, sizeof pb, "%s.bin", b);
  size_t na = 0, nb = 0;
  char *x = read_all(pa, &na), *y = read_all(pb, &nb);
  CHECK(na > 0 && na == nb && x && y && !memcmp(x, y, na));
  mr_free(x);
  mr_free(y);
}

/* A package exported back to a .mlmodelc prints the model.mil the converter printed. */
static void test_export_back(void) {
  char out[700], args[2400], pkg[800], back[800];
  snprintf(out, sizeof out, "%s/back", th_tmpdir());
  snprintf(args, sizeof args, "convert \"%s\" \"%s\" --context 32 --batch 4 --quiet --format both",
           th_fixture("models/qwen3-tiny"), out);
  if (milrun(args)) return;
  snprintf(pkg, sizeof pkg, "%s/qwen_FFN_PF_chunk_01of01.mlpackage", out);
  snprintf(back, sizeof back, "%s/ffn-back.mlmodelc", th_tmpdir());
  snprintf(args, sizeof args, "export \"%s\" \"%s\"", pkg, back);
  if (milrun(args)) return;
  char p1[900], p2[900];
  snprintf(p1, sizeof p1, "%s/qwen_FFN_PF_chunk_01of01.mlmodelc/model.mil", out);
  snprintf(p2, sizeof p2, "%s/model.mil", back);
  size_t n1 = 0, n2 = 0;
  char *x = read_all(p1, &n1), *y = read_all(p2, &n2);
  /* an iOS18 program reads back as program(1.3), the version the converter printed */
  CHECK(x && y && n1 == n2 && !memcmp(x, y, n1));
  mr_free(x);
  mr_free(y);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"fixtures_as_packages", test_fixtures_as_packages},
                                  {"converted_fp16", test_converted_fp16},
                                  {"converted_lut", test_converted_lut},
                                  {"qwen3_python_packages_logits", test_qwen3_python_packages_logits},
                                  {"export_back", test_export_back},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
