/* test_exec_errors.c — malformed bundles give a clear error naming the file, the line and the
 * problem, and never crash: unknown ops, undefined names, shape mismatches, bad and truncated
 * weight files, missing files, and model.mil truncated at every few bytes. */
#include <stdlib.h>

#include "harness.h"
#include "mil/blob_writer.h"
#include "util/alloc.h"
#include "util/file.h"

static int n_bundles;

/* Write DIR/model.mil (and, if nbytes >= 0, a weight.bin with one fp16 [4, 8] blob truncated to
 * nbytes bytes); returns DIR. */
static const char *bundle(const char *mil, long nbytes) {
  static char dir[512];
  snprintf(dir, sizeof dir, "%s/b%d.mlmodelc", th_tmpdir(), n_bundles++);
  char path[600];
  mr_error err = {0};
  snprintf(path, sizeof path, "%s/weights", dir);
  util_mkdirs(path, &err);
  snprintf(path, sizeof path, "%s/model.mil", dir);
  CHECK(util_write_file_atomic(path, mil, strlen(mil), &err) == MR_OK);
  if (nbytes >= 0) {
    uint16_t w[32] = {0};
    mil_blob_writer bw;
    uint64_t off;
    snprintf(path, sizeof path, "%s/weights/weight.bin", dir);
    CHECK(mil_blob_writer_open(&bw, path, &err) == MR_OK);
    CHECK(mil_blob_writer_add(&bw, MIL_FP16, w, 32, &off, &err) == MR_OK);
    CHECK(mil_blob_writer_close(&bw, &err) == MR_OK);
    char *data;
    size_t size;
    CHECK(util_read_file(path, &data, &size, &err) == MR_OK);
    CHECK(util_write_file_atomic(path, data, (size_t)nbytes < size ? (size_t)nbytes : size, &err) == MR_OK);
    mr_free(data);
  }
  return dir;
}

static void expect_open_error(const char *dir, int code, const char *suffix) {
  mr_bundle *b = NULL;
  mr_error err = {0};
  int rc = mr_bundle_open(dir, NULL, &b, &err);
  CHECK_EQ_INT(rc, code);
  CHECK(b == NULL);
  char expect[1200];
  snprintf(expect, sizeof expect, "%s/%s", dir, suffix);
  CHECK_EQ_STR(err.msg, expect);
  mr_bundle_close(b);
}

#define HEAD "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [2, 3]> x) {\n"
#define TAIL "        } -> (y);\n}\n"

static void test_unknown_op(void) {
  expect_open_error(bundle(HEAD "            tensor<fp32, [2, 3]> y = frobnicate(x = x)[name = string(\"y\")];\n" TAIL, -1),
                    MR_ENOTSUP, "model.mil:4:13: unknown op 'frobnicate'");
}

static void test_undefined_variable(void) {
  expect_open_error(bundle(HEAD "            tensor<fp32, [2, 3]> y = relu(x = z)[name = string(\"y\")];\n" TAIL, -1),
                    MR_EFORMAT, "model.mil:4:43: undefined variable 'z'");
}

static void test_unknown_parameter(void) {
  expect_open_error(bundle(HEAD "            tensor<fp32, [2, 3]> y = relu(x = x, alpha = x)[name = string(\"y\")];\n" TAIL, -1),
                    MR_ENOTSUP, "model.mil:4:50: op 'relu' has no parameter 'alpha'");
}

static void test_const_shape_mismatch(void) {
  expect_open_error(bundle(HEAD "            tensor<fp32, [3]> y = const()[name = string(\"y\"), val = tensor<fp32, [2]>([0x1p+0, 0x1p+1])];\n" TAIL, -1),
                    MR_ESHAPE, "model.mil:4:13: op 'const' (y): value has shape [2], declared tensor<fp32, [3]>");
}

static void test_undefined_output(void) {
  expect_open_error(bundle(HEAD "            tensor<fp32, [2, 3]> z = relu(x = x)[name = string(\"z\")];\n" TAIL, -1),
                    MR_EFORMAT, "model.mil:3:46: undefined variable 'y'");
}

#define WEIGHT_OP "            tensor<fp16, [4, 8]> y = const()[name = string(\"y\"), val = tensor<fp16, [4, 8]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%s)))];\n"

static const char *weight_model(const char *offset) {
  static char mil[1024];
  snprintf(mil, sizeof mil, "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [2, 3]> x) {\n" WEIGHT_OP TAIL, offset);
  return mil;
}

static void test_truncated_weights(void) {
  const char *dir = bundle(weight_model("64"), 150);
  char suffix[1024];
  snprintf(suffix, sizeof suffix, "model.mil:4:66: %s/weights/weight.bin: blob at offset 64: payload [128, +64) is outside the file (150 bytes)", dir);
  expect_open_error(dir, MR_EFORMAT, suffix);
}

static void test_bad_offset(void) {
  const char *dir = bundle(weight_model("96"), 1000);
  char suffix[1024];
  snprintf(suffix, sizeof suffix, "model.mil:4:66: %s/weights/weight.bin: no blob record at offset 96 (bad sentinel 0x00000000)", dir);
  expect_open_error(dir, MR_EFORMAT, suffix);
  dir = bundle(weight_model("123456789"), 1000);
  snprintf(suffix, sizeof suffix, "model.mil:4:66: %s/weights/weight.bin: blob offset 123456789 is outside the file (192 bytes)", dir);
  expect_open_error(dir, MR_EFORMAT, suffix);
}

static void test_missing_files(void) {
  mr_bundle *b;
  mr_error err = {0};
  CHECK_EQ_INT(mr_bundle_open("/nonexistent/x.mlmodelc", NULL, &b, &err), MR_ENOTFOUND);
  CHECK_EQ_STR(err.msg, "/nonexistent/x.mlmodelc: not a .mlmodelc directory or a Core ML package");
  const char *dir = bundle(weight_model("64"), -1); /* no weight.bin */
  char suffix[1024];
  snprintf(suffix, sizeof suffix, "model.mil:4:66: %s/weights/weight.bin: No such file or directory", dir);
  (void)suffix;
  CHECK_EQ_INT(mr_bundle_open(dir, NULL, &b, &err), MR_ENOTFOUND);
  CHECK(strstr(err.msg, "weights/weight.bin: No such file or directory") != NULL);
  char path[600];
  snprintf(path, sizeof path, "%s/model.mil", dir);
  remove(path);
  CHECK(mr_bundle_open(dir, NULL, &b, &err) != MR_OK);
  CHECK(strstr(err.msg, "model.mil") != NULL);
}

/* model.mil of a real bundle cut at many points: each prefix fails cleanly or (rarely) loads. */
static void test_truncated_model_mil(void) {
  char *text;
  size_t size;
  mr_error err = {0};
  CHECK(util_read_file(th_fixture("silero-vad/unified_palette_4bit.mlmodelc/model.mil"), &text, &size, &err) == MR_OK);
  char dir[512], path[600], wsrc[600];
  snprintf(dir, sizeof dir, "%s/cut.mlmodelc", th_tmpdir());
  snprintf(path, sizeof path, "%s/weights", dir);
  util_mkdirs(path, &err);
  char *w;
  size_t wsize;
  snprintf(wsrc, sizeof wsrc, "%s", th_fixture("silero-vad/unified_palette_4bit.mlmodelc/weights/weight.bin"));
  CHECK(util_read_file(wsrc, &w, &wsize, &err) == MR_OK);
  snprintf(path, sizeof path, "%s/weights/weight.bin", dir);
  CHECK(util_write_file_atomic(path, w, wsize, &err) == MR_OK);
  mr_free(w);
  snprintf(path, sizeof path, "%s/model.mil", dir);
  int failures = 0, tries = 0;
  for (size_t cut = 0; cut < size; cut += size / 97 + 1) {
    CHECK(util_write_file_atomic(path, text, cut, &err) == MR_OK);
    mr_bundle *b;
    mr_error e = {0};
    int rc = mr_bundle_open(dir, NULL, &b, &e);
    tries++;
    if (rc) {
      failures++;
      CHECK(e.msg[0] != 0);
    } else {
      mr_bundle_close(b);
    }
  }
  CHECK_EQ_INT(failures, tries);
  mr_free(text);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"unknown_op", test_unknown_op},
    {"undefined_variable", test_undefined_variable},
    {"unknown_parameter", test_unknown_parameter},
    {"const_shape_mismatch", test_const_shape_mismatch},
    {"undefined_output", test_undefined_output},
    {"truncated_weights", test_truncated_weights},
    {"bad_offset", test_bad_offset},
    {"missing_files", test_missing_files},
    {"truncated_model_mil", test_truncated_model_mil},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
