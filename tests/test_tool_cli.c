/* test_tool_cli.c — what every subcommand shares (the option parser's wording and exit codes,
 * --help, --version, MILRUN_THREADS), `milrun detokenize`, `milrun cache ls/rm` on a cache laid
 * out as huggingface_hub lays it out, and the converter's option checks that used to give a wrong
 * model with exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/strbuf.h"

/* Run `milrun ARGS` through the shell; exit status, stdout+stderr in *out (mr_free). */
static int milrun(const char *args, char **out) {
  util_sb sb = {0};
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("MR_MILRUN"), args);
  FILE *p = popen(cmd, "r");
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) util_sb_append(&sb, buf, n);
  int st = p ? pclose(p) : -1;
  *out = util_sb_take(&sb);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(const char *args, int code, const char *want) {
  char *out = NULL;
  CHECK_EQ_INT(milrun(args, &out), code);
  if (want) CHECK_EQ_STR(out, want);
  mr_free(out);
}

static void expect_has(const char *args, int code, const char *part) {
  char *out = NULL;
  CHECK_EQ_INT(milrun(args, &out), code);
  CHECK_MSG(out && strstr(out, part), "'%s' not in: %s", part, out ? out : "");
  mr_free(out);
}

static void test_parser(void) {
  expect("convert a b --context 0", 2,
         "milrun convert: --context expects an integer from 2 to 1048576, got '0'\n(milrun convert --help lists the options)\n");
  expect("convert a b --context=abc", 2,
         "milrun convert: --context expects an integer from 2 to 1048576, got 'abc'\n(milrun convert --help lists the options)\n");
  expect("pull --jobs=33 a/b", 2,
         "milrun pull: --jobs expects an integer from 1 to 32, got '33'\n(milrun pull --help lists the options)\n");
  expect("tokenize --frobnicate x", 2, "milrun tokenize: unknown option '--frobnicate'\n(milrun tokenize --help lists the options)\n");
  expect("convert a b --dry-run=yes", 2,
         "milrun convert: option '--dry-run' takes no value\n(milrun convert --help lists the options)\n");
  expect("template --messages", 2,
         "milrun template: option '--messages' needs a value (FILE.json)\n(milrun template --help lists the options)\n");
  expect("convert a", 2, "milrun convert: missing HF_DIR and OUT_DIR\n(milrun convert --help lists the options)\n");
  /* --opt=value is the same as --opt value: both reach the converter, which finds no checkpoint */
  expect_has("convert /nonexistent /tmp/x --context=64 --batch 32", 1, "/nonexistent/config.json");
  static const char *const cmds[] = {"inspect", "run", "pull", "cache", "tokenize", "detokenize", "template", "convert", "logits"};
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
    char args[64];
    snprintf(args, sizeof args, "%s -h", cmds[i]);
    expect_has(args, 0, "usage: milrun ");
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    expect_has(args, 0, "--help");
  }
  expect_has("--version", 0, "compiled for:");
  expect("frobnicate", 2, NULL);
}

/* `VAR=value milrun args` exits 2 with exactly `want` (stdout and stderr). */
static void env_refused(const char *assign, const char *args, const char *want) {
  char cmd[1024], buf[1024] = "";
  snprintf(cmd, sizeof cmd, "%s '%s' %s 2>&1", assign, getenv("MR_MILRUN"), args);
  FILE *p = popen(cmd, "r");
  size_t n = p ? fread(buf, 1, sizeof buf - 1, p) : 0;
  buf[n] = 0;
  int st = p ? pclose(p) : -1;
  CHECK_EQ_INT(WEXITSTATUS(st), 2);
  CHECK_EQ_STR(buf, want);
}

static void test_threads_env(void) {
  expect("tokenize --help >/dev/null; MILRUN_THREADS=abc true", 0, NULL);
  env_refused("MILRUN_THREADS=abc", "tokenize --tokenizer x y",
              "milrun: MILRUN_THREADS='abc' is not a number of threads from 1 to 64 (unset it to use one per CPU)\n");
  env_refused("MILRUN_KERNELS=avx9", "--version",
              "milrun: MILRUN_KERNELS='avx9' names no kernels this build can run on this CPU (avx512, avx2, neon, "
              "portable; unset it to use the widest)\n");
  env_refused("MILRUN_LUT_INT8=off", "tokenize --tokenizer x y",
              "milrun: MILRUN_LUT_INT8='off' must be 0 (float LUT products) or 1 (integer, the default)\n");
  expect_has("--version", 0, "kernels: ");
}

static void test_detokenize(void) {
  char args[2048];
  const char *tok = th_fixture("tokenizer");
  snprintf(args, sizeof args, "detokenize --tokenizer '%s' 9707 11 1879 0", tok);
  expect(args, 0, "Hello, world!");
  snprintf(args, sizeof args, "detokenize --tokenizer='%s' '[9707, 11,1879]'", tok);
  expect(args, 0, "Hello, world");
  /* the inverse of tokenize, through a pipe (ids on stdin) */
  snprintf(args, sizeof args, "tokenize --tokenizer '%s' 'naïve café, 日本語!' | '%s' detokenize -t '%s'", tok,
           getenv("MR_MILRUN"), tok);
  expect(args, 0, "naïve café, 日本語!");
  snprintf(args, sizeof args, "detokenize --tokenizer '%s' --skip-special 151644 9707", tok);
  expect(args, 0, "Hello");
  snprintf(args, sizeof args, "detokenize --tokenizer '%s' 12 x", tok);
  expect(args, 2, "milrun detokenize: token ids must be non-negative integers separated by spaces or commas\n"
                  "(milrun detokenize --help lists the options)\n");
  snprintf(args, sizeof args, "detokenize --tokenizer '%s' 999999999", tok);
  expect_has(args, 1, "milrun detokenize: ");
  expect("detokenize 1 2", 2, "milrun detokenize: --tokenizer PATH is required\n(milrun detokenize --help lists the options)\n");
}

#define COMMIT1 "1111111111111111111111111111111111111111"
#define COMMIT2 "2222222222222222222222222222222222222222"

/* A cache with one repository and two revisions sharing one blob. */
static const char *make_cache(void) {
  static char cache[600];
  snprintf(cache, sizeof cache, "%s/hub", th_tmpdir());
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "set -e; r='%s/models--org--my-model'; c1=%s; c2=%s; mkdir -p \"$r/blobs\" \"$r/refs\" \"$r/snapshots/$c1\" "
           "\"$r/snapshots/$c2/sub\"; head -c 1500 /dev/zero > \"$r/blobs/aaa\"; head -c 300 /dev/zero > \"$r/blobs/bbb\"; "
           "head -c 70 /dev/zero > \"$r/blobs/ccc.incomplete\"; "
           "ln -s ../../blobs/aaa \"$r/snapshots/$c1/big.bin\"; ln -s ../../blobs/aaa \"$r/snapshots/$c2/big.bin\"; "
           "ln -s ../../../blobs/bbb \"$r/snapshots/$c2/sub/small.txt\"; printf $c2 > \"$r/refs/main\"",
           cache, COMMIT1, COMMIT2);
  CHECK_EQ_INT(system(cmd), 0);
  return cache;
}

static void test_cache(void) {
  const char *cache = make_cache();
  char args[1024], blob[800];
  snprintf(args, sizeof args, "cache ls --cache-dir '%s'", cache);
  char *out = NULL;
  CHECK_EQ_INT(milrun(args, &out), 0);
  CHECK_MSG(out && strstr(out, "org/my-model  1.9 kB  2 revisions (70 B of unfinished downloads"), "%s", out);
  CHECK_MSG(out && strstr(out, "  111111111111  (no ref)         1.5 kB      1 file "), "%s", out);
  CHECK_MSG(out && strstr(out, "  222222222222  main             1.8 kB      2 files"), "%s", out);
  CHECK_MSG(out && strstr(out, "1 repository, 1.9 kB in "), "%s", out);
  mr_free(out);
  /* one revision: its snapshot and the blob only it used go; the shared blob stays */
  snprintf(args, sizeof args, "cache rm org/my-model@main --cache-dir '%s'", cache);
  expect_has(args, 0, "removed org/my-model@main");
  snprintf(blob, sizeof blob, "%s/models--org--my-model/blobs/bbb", cache);
  CHECK(!util_exists(blob));
  snprintf(blob, sizeof blob, "%s/models--org--my-model/blobs/aaa", cache);
  CHECK(util_exists(blob));
  snprintf(blob, sizeof blob, "%s/models--org--my-model/blobs/ccc.incomplete", cache);
  CHECK(util_exists(blob));
  snprintf(blob, sizeof blob, "%s/models--org--my-model/snapshots/%s", cache, COMMIT2);
  CHECK(!util_exists(blob));
  snprintf(args, sizeof args, "cache rm org/my-model@main --cache-dir '%s'", cache);
  expect_has(args, 1, "org/my-model has no revision 'main'");
  snprintf(args, sizeof args, "cache rm org/my-model --cache-dir '%s'", cache);
  expect_has(args, 0, "removed org/my-model from");
  snprintf(blob, sizeof blob, "%s/models--org--my-model", cache);
  CHECK(!util_exists(blob));
  snprintf(args, sizeof args, "cache rm org/my-model --cache-dir '%s'", cache);
  expect_has(args, 1, "org/my-model is not in the cache");
  snprintf(args, sizeof args, "cache ls --cache-dir '%s/none'", cache);
  expect_has(args, 0, "0 repositories, 0 B in ");
  expect("cache frob", 2, "milrun cache: unknown action 'frob' (ls or rm)\n(milrun cache --help lists the options)\n");
  expect("cache rm", 2, NULL);
}

/* A LUT that cannot be honoured for some tensor, or a --tokenizer without one, used to give a model
 * with exit 0 (fp16 weights under _lut4_ names; no tokenizer). */
static void test_convert_checks(void) {
  char args[2048], out[700], hf[600];
  snprintf(hf, sizeof hf, "%s", th_fixture("models/qwen3-tiny"));
  snprintf(out, sizeof out, "%s/conv", th_tmpdir());
  snprintf(args, sizeof args, "convert '%s' '%s' --lut-ffn 4,3", hf, out);
  expect(args, 2, "milrun convert: --lut-ffn 4,3: a group of 3 output channels does not divide the 128 rows of q_proj "
                  "[128, 64]: choose a group that divides it (or 0 for one palette per tensor)\n");
  CHECK(!util_exists(out));
  snprintf(args, sizeof args, "convert '%s' '%s' --lut-ffn 4,256", hf, out);
  expect_has(args, 2, "--lut-ffn 4,256: a group of 256 output channels does not divide the 128 rows of q_proj");
  snprintf(args, sizeof args, "convert '%s' '%s' --lut-lmhead 8,7", hf, out);
  expect_has(args, 2, "--lut-lmhead 8,7: a group of 7 output channels does not divide the 9496 rows of an LM head part");
  snprintf(args, sizeof args, "convert '%s' '%s' --tokenizer /nonexistent --dry-run", hf, out);
  expect(args, 1, "milrun convert: --tokenizer /nonexistent: no such folder\n");
  snprintf(args, sizeof args, "convert '%s' '%s' --tokenizer '%s' --dry-run", hf, out, th_fixture("models"));
  expect_has(args, 1, "the folder has no tokenizer.json");
  CHECK(!util_exists(out));
  /* the fixture checkpoint has no tokenizer: a warning, and the model is written */
  snprintf(args, sizeof args, "umask 027; '%s' convert '%s' '%s' --dry-run", getenv("MR_MILRUN"), hf, out);
  char *text = NULL;
  util_sb sb = {0};
  util_sb_printf(&sb, "sh -c \"%s\" 2>&1", args);
  char *cmd = util_sb_take(&sb);
  FILE *p = popen(cmd, "r");
  char buf[4096] = "";
  size_t n = p ? fread(buf, 1, sizeof buf - 1, p) : 0;
  buf[n] = 0;
  CHECK_EQ_INT(p ? WEXITSTATUS(pclose(p)) : -1, 0);
  CHECK_MSG(strstr(buf, "warning: ") && strstr(buf, "has no tokenizer.json"), "%s", buf);
  struct stat st;
  CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0750);
  mr_free(cmd);
  mr_free(text);
  /* with a tokenizer: no warning, tokenizer.json copied */
  snprintf(args, sizeof args, "convert '%s' '%s-tok' --tokenizer '%s' --dry-run", hf, out, th_fixture("tokenizer"));
  char *o2 = NULL;
  CHECK_EQ_INT(milrun(args, &o2), 0);
  CHECK(o2 && !strstr(o2, "warning"));
  mr_free(o2);
  snprintf(args, sizeof args, "%s-tok/tokenizer.json", out);
  CHECK(util_exists(args));
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"parser", test_parser},   {"threads_env", test_threads_env},
                                  {"detokenize", test_detokenize}, {"cache", test_cache},
                                  {"convert_checks", test_convert_checks}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
