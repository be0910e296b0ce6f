/* test_mil_metadata.c — metadata.json: the real Silero file, a multifunction file, and malformed
 * input with its messages. */
#include "harness.h"
#include "mil/metadata.h"

static void test_silero(void) {
  mil_metadata md;
  mr_error err = {0};
  CHECK(mil_metadata_read(th_fixture("silero-vad/unified_palette_8bit.mlmodelc/metadata.json"), &md, &err) == MR_OK);
  const mil_meta_function *f = mil_metadata_function(&md, NULL);
  CHECK(f != NULL);
  if (!f) return;
  CHECK_EQ_INT(f->n_outputs, 3);
  CHECK_EQ_STR(f->outputs[0].name, "vad_output");
  CHECK_EQ_STR(f->outputs[0].data_type, "Float32");
  CHECK_EQ_INT(f->outputs[0].rank, 3);
  CHECK_EQ_INT(f->n_inputs, 3);
  CHECK(md.default_function == NULL);
  int found = 0;
  for (int i = 0; i < md.n_user; i++) found |= !strcmp(md.user_keys[i], "com.github.apple.coremltools.version");
  CHECK(found);
  mil_metadata_free(&md);
}

static void test_multifunction(void) {
  const char *json =
      "[{\"defaultFunctionName\": \"infer\", \"inputSchema\": [], \"outputSchema\": [],"
      " \"functions\": [{\"name\": \"infer\", \"inputSchema\": [{\"name\": \"x\", \"type\": \"MultiArray\","
      " \"dataType\": \"Float16\", \"shape\": \"[1, 1, 64]\"}], \"outputSchema\": [], \"stateSchema\":"
      " [{\"name\": \"kv\", \"type\": \"State\", \"dataType\": \"Float16\", \"shape\": \"[2, 2, 16, 32]\"}]},"
      " {\"name\": \"prefill\", \"inputSchema\": []}],"
      " \"userDefinedMetadata\": {\"com.anemll.context_length\": \"512\"}}]";
  mil_metadata md;
  mr_error err = {0};
  CHECK(mil_metadata_parse(json, "m.json", &md, &err) == MR_OK);
  CHECK_EQ_STR(md.default_function, "infer");
  const mil_meta_function *f = mil_metadata_function(&md, "infer");
  CHECK(f && f->n_inputs == 1 && f->n_states == 1);
  if (f) {
    CHECK_EQ_INT(f->states[0].rank, 4);
    CHECK_EQ_INT(f->states[0].shape[3], 32);
  }
  CHECK(mil_metadata_function(&md, "prefill") != NULL);
  CHECK(mil_metadata_function(&md, "decode") == NULL);
  CHECK_EQ_INT(md.n_user, 1);
  CHECK_EQ_STR(md.user_values[0], "512");
  mil_metadata_free(&md);
}

static void test_malformed(void) {
  static const struct {
    const char *json, *msg;
  } cases[] = {
      {"[{\"inputSchema\": 3}]", "m.json: \"inputSchema\" is not an array"},
      {"[{\"inputSchema\": [{\"type\": \"MultiArray\"}]}]", "m.json: entry 0 of \"inputSchema\" has no \"name\""},
      {"[{\"inputSchema\": [{\"name\": \"x\", \"shape\": \"[1, x]\"}]}]", "m.json: \"x\" of \"inputSchema\": bad shape \"[1, x]\""},
      {"[{\"functions\": [{\"inputSchema\": []}]}]", "m.json: entry 0 of \"functions\" has no \"name\""},
      {"[{\"userDefinedMetadata\": []}]", "m.json: \"userDefinedMetadata\" is not an object"},
      {"[1]", "m.json: expected an array holding one object"},
      {"[{\"a\": ", "m.json: invalid JSON near byte 7"},
      {"", "m.json: invalid JSON near byte 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mil_metadata md;
    mr_error err = {0};
    CHECK_EQ_INT(mil_metadata_parse(cases[i].json, "m.json", &md, &err), MR_EFORMAT);
    CHECK_EQ_STR(err.msg, cases[i].msg);
  }
  mil_metadata md;
  mr_error err = {0};
  CHECK_EQ_INT(mil_metadata_read("/nonexistent/metadata.json", &md, &err), MR_ENOTFOUND);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"silero", test_silero},
    {"multifunction", test_multifunction},
    {"malformed", test_malformed},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
