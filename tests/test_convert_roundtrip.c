/* test_convert_roundtrip.c — the converter's IR through the one printer: for every component of
 * the tiny models (qwen3, qwen2.5, llama, qwen3-python; fp16 and LUT with two chunks) the program
 * the converter built equals parse(print(program)), and every model.mil written parses and prints
 * back to the same bytes (print -> parse -> print is a fixed point). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "convert/convert.h"
#include "harness.h"
#include "mil/print.h"
#include "util/alloc.h"
#include "util/file.h"

static int n_programs;

static int check_program(const mil_program *prog, const char *dir, void *ctx, mr_error *err) {
  (void)ctx;
  (void)err;
  util_sb sb = {0};
  mil_print(prog, &sb);
  CHECK(!util_sb_failed(&sb));
  mil_program *back = NULL;
  mr_error e = {0};
  CHECK_MSG(mil_parse(sb.buf, sb.len, dir, &back, &e) == MR_OK, "%s", e.msg);
  char why[512];
  if (back) CHECK_MSG(mil_program_equal(prog, back, why, sizeof why), "%s: %s", dir, why);
  mil_program_free(back);
  util_sb_free(&sb);
  n_programs++;
  return MR_OK;
}

/* model.mil of bundle dir/name parses and prints back to its own bytes. */
static void check_file(const char *dir, const char *name) {
  char path[1400];
  snprintf(path, sizeof path, "%s/%s/model.mil", dir, name);
  char *text;
  size_t n;
  mr_error e = {0};
  if (util_read_file(path, &text, &n, &e)) {
    CHECK_MSG(0, "%s", e.msg);
    return;
  }
  mil_program *p = NULL;
  CHECK_MSG(mil_parse(text, n, path, &p, &e) == MR_OK, "%s", e.msg);
  if (p) {
    util_sb sb = {0};
    mil_print(p, &sb);
    CHECK_MSG(sb.len == n && memcmp(sb.buf, text, n) == 0, "%s: print(parse(model.mil)) differs", path);
    util_sb_free(&sb);
  }
  mil_program_free(p);
  mr_free(text);
}

static void convert_and_check(const char *model, const char *lut_ffn) {
  conv_options o;
  conv_options_default(&o);
  o.context = 64;
  o.batch = 8;
  o.on_program = check_program;
  if (lut_ffn) {
    mr_error e = {0};
    CHECK(conv_lut_parse(lut_ffn, &o.lut_ffn, &e) == MR_OK);
    CHECK(conv_lut_parse("6,0", &o.lut_lmhead, &e) == MR_OK);
    CHECK(conv_lut_parse("8", &o.lut_emb, &e) == MR_OK);
    o.chunks = 2;
  }
  char src[512], out[1024];
  snprintf(src, sizeof src, "%s", th_fixture(model));
  snprintf(out, sizeof out, "%s/%s%s", th_tmpdir(), strrchr(model, '/') + 1, lut_ffn ? "-lut" : "");
  mr_error e = {0};
  n_programs = 0;
  int rc = conv_convert(src, out, &o, NULL, &e);
  CHECK_MSG(rc == MR_OK, "%s", e.msg);
  if (rc) return;
  CHECK_EQ_INT(n_programs, o.chunks + 2);
  DIR *d = opendir(out);
  struct dirent *de;
  int bundles = 0;
  while (d && (de = readdir(d))) {
    if (!strstr(de->d_name, ".mlmodelc")) continue;
    check_file(out, de->d_name);
    bundles++;
  }
  if (d) closedir(d);
  CHECK_EQ_INT(bundles, o.chunks + 2);
}

static void test_qwen3(void) {
  convert_and_check("models/qwen3-tiny", NULL);
  convert_and_check("models/qwen3-tiny", "4");
}

static void test_qwen25(void) {
  convert_and_check("models/qwen2.5-tiny", NULL);
  convert_and_check("models/qwen2.5-tiny", "2,4");
}

static void test_llama(void) {
  convert_and_check("models/llama-tiny", NULL);
  convert_and_check("models/llama-tiny", "8");
}

static void test_qwen3_python(void) {
  convert_and_check("models/qwen3-tiny-python", NULL);
  convert_and_check("models/qwen3-tiny-python", "6");
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"qwen3", test_qwen3},
      {"qwen25", test_qwen25},
      {"llama", test_llama},
      {"qwen3_python", test_qwen3_python},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
