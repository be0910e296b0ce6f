/* test_mil_package.c — Core ML packages: every model.mil fixture survives IR -> protobuf -> IR
 * unchanged (bundles with weights through a whole .mlpackage on disk), the description carries the
 * metadata, and hostile packages (NeuralNetwork specs, truncated or self-contradicting messages,
 * nesting bombs, manifest and blob paths leaving the package, blobs beyond the weight file) are
 * refused with an error naming the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mil/metadata.h"
#include "mil/package.h"
#include "mil/proto_read.h"
#include "mil/proto_write.h"
#include "util/alloc.h"
#include "util/file.h"

static const char *bundles[] = {
    "silero-vad/silero-vad-unified-v6.0.0.mlmodelc", "silero-vad/unified_int8.mlmodelc",
    "silero-vad/unified_mixed.mlmodelc",             "silero-vad/unified_palette_2bit.mlmodelc",
    "silero-vad/unified_palette_4bit.mlmodelc",      "silero-vad/unified_palette_6bit.mlmodelc",
    "silero-vad/unified_palette_8bit.mlmodelc",      "hub/repo/models/vad.mlmodelc",
};
static const char *texts[] = {
    "stateful/model.mil", "mil/SYNTHETIC_stateful_multifunction_lut18.mil", "mil/add_model_ios16.mil",
    "mil/fp16_hexfloat_cast_ios17.mil", "mil/inline_literal_arg_ios17.mil", "mil/multifunction_relu_ios18.mil",
    "mil/silero_vad_palette4bit_ios16.mil",
};

static mil_program *parse(const char *path) {
  mil_program *p = NULL;
  mr_error err = {0};
  CHECK_MSG(mil_parse_file(path, &p, &err) == MR_OK, "%s", err.msg);
  return p;
}

/* IR -> protobuf -> IR in memory. */
static void check_proto_round_trip(const mil_program *p, const char *what) {
  uint8_t *bytes = NULL;
  size_t n = 0;
  mr_error err = {0};
  int rc = mil_proto_write(p, NULL, &bytes, &n, &err);
  CHECK_MSG(rc == MR_OK, "%s: %s", what, err.msg);
  if (rc) return;
  mil_program *q = NULL;
  mil_metadata md;
  rc = mil_proto_read(bytes, n, what, &q, &md, &err);
  CHECK_MSG(rc == MR_OK, "%s: %s", what, err.msg);
  char why[256] = "";
  if (!rc) {
    CHECK_MSG(mil_program_equal_as(p, q, MIL_EQUAL_PROTOBUF, why, sizeof why), "%s: %s", what, why);
    CHECK_EQ_INT(md.n_funcs, p->n_funcs > 1 ? p->n_funcs + 1 : 1);
    mil_program_free(q);
    mil_metadata_free(&md);
  }
  mr_free(bytes);
}

static void test_text_fixtures(void) {
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    mil_program *p = parse(th_fixture(texts[i]));
    if (p) check_proto_round_trip(p, texts[i]);
    mil_program_free(p);
  }
}

static char *bundle_file(const char *bundle, const char *name) {
  char *dir = util_path_join(th_fixture(bundle), "");
  char *f = util_path_join(dir, name);
  mr_free(dir);
  return f;
}

/* .mlmodelc -> .mlpackage on disk -> IR: equal, metadata kept, blobs checked. */
static void test_bundles_as_packages(void) {
  for (size_t i = 0; i < sizeof bundles / sizeof *bundles; i++) {
    char *mil = bundle_file(bundles[i], "model.mil"), *mdp = bundle_file(bundles[i], "metadata.json");
    char *root = util_strdup(th_fixture(bundles[i]));
    mil_program *p = parse(mil);
    mil_metadata md = {0};
    mr_error err = {0};
    int has_md = util_exists(mdp) && mil_metadata_read(mdp, &md, &err) == MR_OK;
    char out[512];
    snprintf(out, sizeof out, "%s/pkg%zu.mlpackage", th_tmpdir(), i);
    int rc = p ? mil_package_write(out, p, has_md ? &md : NULL, root, &err) : -1;
    CHECK_MSG(rc == MR_OK, "%s: %s", bundles[i], err.msg);
    CHECK(mil_package_is(out));
    mil_program *q = NULL;
    mil_metadata md2;
    char *wroot = NULL;
    char *mfile = NULL;
    if (!rc) rc = mil_package_load(out, &q, &md2, &mfile, &wroot, &err);
    CHECK_MSG(rc == MR_OK, "%s: %s", bundles[i], err.msg);
    if (!rc) {
      char why[256] = "";
      CHECK_MSG(mil_program_equal_as(p, q, MIL_EQUAL_PROTOBUF, why, sizeof why), "%s: %s", bundles[i], why);
      CHECK(strstr(wroot, "Data/com.apple.CoreML") != NULL);
      CHECK_EQ_INT(md2.n_user, has_md ? md.n_user : 0);
      for (int k = 0; has_md && k < md.n_user && k < md2.n_user; k++) {
        CHECK_EQ_STR(md2.user_keys[k], md.user_keys[k]);
        CHECK_EQ_STR(md2.user_values[k], md.user_values[k]);
      }
      CHECK_EQ_INT(md2.funcs[0].n_inputs, p->funcs[0].n_params);
      CHECK_EQ_INT(md2.funcs[0].n_outputs, p->funcs[0].body.n_outputs);
      mil_program_free(q);
      mil_metadata_free(&md2);
    }
    mr_free(wroot);
    mr_free(mfile);
    if (has_md) mil_metadata_free(&md);
    mil_program_free(p);
    mr_free(mil);
    mr_free(mdp);
    mr_free(root);
  }
}

static int read_err(const uint8_t *b, size_t n, mr_error *err) {
  mil_program *p = NULL;
  mil_metadata md;
  int rc = mil_proto_read(b, n, "m.mlmodel", &p, &md, err);
  if (!rc) {
    mil_program_free(p);
    mil_metadata_free(&md);
  }
  return rc;
}

static void test_neural_network_refused(void) {
  /* specificationVersion = 4, neuralNetwork (field 500, length-delimited) = {} */
  const uint8_t nn[] = {0x08, 0x04, 0xA2, 0x1F, 0x00};
  mr_error err = {0};
  CHECK_EQ_INT(read_err(nn, sizeof nn, &err), MR_ENOTSUP);
  CHECK(strstr(err.msg, "not an ML Program (NeuralNetwork models are not supported)") != NULL);
}

/* Every prefix of a real message: an error or a program, never a crash; a cut inside the program
 * field is an error naming it. */
static void test_truncated(void) {
  mil_program *p = parse(th_fixture("stateful/model.mil"));
  uint8_t *b = NULL;
  size_t n = 0;
  mr_error err = {0};
  if (!p || mil_proto_write(p, NULL, &b, &n, &err)) {
    CHECK_MSG(0, "%s", err.msg);
    mil_program_free(p);
    return;
  }
  for (size_t k = 0; k < n; k++) {
    memset(&err, 0, sizeof err);
    int rc = read_err(b, k, &err);
    CHECK(rc == MR_OK || rc == MR_EFORMAT || rc == MR_ENOTSUP);
  }
  memset(&err, 0, sizeof err);
  CHECK_EQ_INT(read_err(b, n / 2, &err), MR_EFORMAT);
  CHECK_MSG(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
  mr_free(b);
  mil_program_free(p);
}

/* A tensor whose value count contradicts its type. */
static void test_contradicting_counts(void) {
  const char *src = "program(1.0)\n{\n func main<ios16>(tensor<fp32, [2]> x) {\n"
                    "  tensor<fp32, [2]> c = const()[name = string(\"c\"), val = tensor<fp32, [2]>([1, 2])];\n"
                    "  tensor<fp32, [2]> y = add(x = x, y = c)[name = string(\"y\")];\n } -> (y);\n}\n";
  mil_program *p = NULL;
  mr_error err = {0};
  CHECK_MSG(mil_parse(src, strlen(src), "t.mil", &p, &err) == MR_OK, "%s", err.msg);
  if (!p) return;
  mil_value *v = p->funcs[0].body.ops[0].args[1].items[0].value;
  double *three = util_arena_alloc(&p->arena, 3 * sizeof(double));
  three[0] = 1, three[1] = 2, three[2] = 3;
  v->nums = three;
  v->count = 3;
  uint8_t *b = NULL;
  size_t n = 0;
  CHECK(mil_proto_write(p, NULL, &b, &n, &err) == MR_OK);
  CHECK_EQ_INT(read_err(b, n, &err), MR_EFORMAT);
  CHECK_MSG(strstr(err.msg, "TensorValue.floats holds 3 values") != NULL, "%s", err.msg);
  mr_free(b);
  mil_program_free(p);
}

/* Wraps `in` as length-delimited field `field`, in place into out; returns the new length. */
static size_t wrap(uint8_t *out, const uint8_t *in, size_t n, unsigned field) {
  uint8_t hdr[16];
  size_t h = 0;
  for (uint64_t k = (uint64_t)field << 3 | 2; ; k >>= 7) {
    hdr[h++] = (uint8_t)((k & 0x7f) | (k > 0x7f ? 0x80 : 0));
    if (k <= 0x7f) break;
  }
  for (uint64_t k = n; ; k >>= 7) {
    hdr[h++] = (uint8_t)((k & 0x7f) | (k > 0x7f ? 0x80 : 0));
    if (k <= 0x7f) break;
  }
  memmove(out + h, in, n);
  memcpy(out, hdr, h);
  return h + n;
}

static void test_nesting_bomb(void) {
  static uint8_t buf[8192];
  size_t n = 0;
  /* ValueType.listType(2) -> ListType.type(1) -> ValueType ..., 200 deep */
  for (int i = 0; i < 200; i++) {
    n = wrap(buf, buf, n, 1);
    n = wrap(buf, buf, n, 2);
  }
  n = wrap(buf, buf, n, 2);   /* NamedValueType.type */
  n = wrap(buf, buf, n, 1);   /* Function.inputs */
  n = wrap(buf, buf, n, 2);   /* FunctionsEntry.value */
  n = wrap(buf, buf, n, 2);   /* Program.functions */
  n = wrap(buf, buf, n, 502); /* Model.mlProgram */
  mr_error err = {0};
  CHECK_EQ_INT(read_err(buf, n, &err), MR_EFORMAT);
  CHECK_MSG(strstr(err.msg, "nested deeper") != NULL, "%s", err.msg);
}

static void write_text(const char *path, const char *text) {
  mr_error err = {0};
  CHECK_MSG(util_write_file_atomic(path, text, strlen(text), &err) == MR_OK, "%s", err.msg);
}

static int load_err(const char *pkg, mr_error *err) {
  mil_program *p = NULL;
  mil_metadata md;
  char *root = NULL, *file = NULL;
  int rc = mil_package_load(pkg, &p, &md, &file, &root, err);
  if (!rc) {
    mil_program_free(p);
    mil_metadata_free(&md);
    mr_free(root);
    mr_free(file);
  }
  return rc;
}

static void test_paths_leaving_package(void) {
  char pkg[512], f[600];
  snprintf(pkg, sizeof pkg, "%s/escape.mlpackage", th_tmpdir());
  mr_error err = {0};
  CHECK(util_mkdirs(pkg, &err) == MR_OK);
  const char *bad[] = {"../../outside.mlmodel", "/etc/passwd", "com.apple.CoreML/../../../x"};
  for (size_t i = 0; i < 3; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"rootModelIdentifier\": \"A\", \"itemInfoEntries\": {\"A\": {\"path\": \"%s\"}}}", bad[i]);
    snprintf(f, sizeof f, "%s/Manifest.json", pkg);
    write_text(f, text);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(load_err(pkg, &err), MR_EFORMAT);
    CHECK_MSG(strstr(err.msg, "leaves the package") != NULL, "%s", err.msg);
  }
}

static void test_blob_checks(void) {
  const char *bundle = "silero-vad/unified_palette_4bit.mlmodelc";
  char *mil = bundle_file(bundle, "model.mil");
  mil_program *p = parse(mil);
  mr_free(mil);
  if (!p) return;
  /* the first blob value: its offset beyond the file, then its path out of @model_path */
  mil_value *blob = NULL;
  for (int i = 0; !blob && i < p->funcs[0].body.n_ops; i++) {
    mil_op *o = &p->funcs[0].body.ops[i];
    for (int k = 0; !blob && k < o->n_args; k++)
      if (o->args[k].n_items == 1 && o->args[k].items[0].value && o->args[k].items[0].value->kind == MIL_VALUE_BLOB)
        blob = o->args[k].items[0].value;
  }
  CHECK(blob != NULL);
  if (!blob) {
    mil_program_free(p);
    return;
  }
  char out[512];
  mr_error err = {0};
  snprintf(out, sizeof out, "%s/offset.mlpackage", th_tmpdir());
  uint64_t saved = blob->blob_offset;
  blob->blob_offset = 1u << 30;
  CHECK(mil_package_write(out, p, NULL, th_fixture(bundle), &err) == MR_OK);
  CHECK_EQ_INT(load_err(out, &err), MR_EFORMAT);
  CHECK_MSG(strstr(err.msg, "op '") != NULL, "%s", err.msg);
  blob->blob_offset = saved;
  blob->blob_path = "@model_path/../../weights/weight.bin";
  snprintf(out, sizeof out, "%s/blobpath.mlpackage", th_tmpdir());
  memset(&err, 0, sizeof err);
  CHECK(mil_package_write(out, p, NULL, th_fixture(bundle), &err) != MR_OK);
  CHECK_MSG(strstr(err.msg, "not inside @model_path") != NULL, "%s", err.msg);
  mil_program_free(p);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"text_fixtures", test_text_fixtures},
    {"bundles_as_packages", test_bundles_as_packages},
    {"neural_network_refused", test_neural_network_refused},
    {"truncated", test_truncated},
    {"contradicting_counts", test_contradicting_counts},
    {"nesting_bomb", test_nesting_bomb},
    {"paths_leaving_package", test_paths_leaving_package},
    {"blob_checks", test_blob_checks},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
