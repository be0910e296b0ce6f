/* test_tool_tokenize.c — `milrun tokenize` and `milrun template` as a user runs them: an argument,
 * stdin (byte for byte), --json, the chat template, and the exit codes and messages of errors. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/strbuf.h"

/* Run a shell command line; returns its exit status and its stdout (or stdout+stderr) in *out. */
static int run(const char *cmd, char **out) {
  FILE *p = popen(cmd, "r");
  util_sb sb = {0};
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) util_sb_append(&sb, buf, n);
  int st = p ? pclose(p) : -1;
  *out = util_sb_take(&sb);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char cmd[4096];
#define MILRUN (getenv("MR_MILRUN") ? getenv("MR_MILRUN") : "milrun")

static void expect(const char *line, int code, const char *want) {
  char *out = NULL;
  CHECK_EQ_INT(run(line, &out), code);
  CHECK_EQ_STR(out, want);
  mr_free(out);
}

static void test_tokenize(void) {
  const char *dir = th_fixture("tokenizer");
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' 'Hello, world!'", MILRUN, dir);
  expect(cmd, 0, "9707 11 1879 0\n");
  /* stdin, byte for byte: an invalid byte and no trailing newline */
  snprintf(cmd, sizeof cmd, "printf 'Hello world\\377' | '%s' tokenize --tokenizer '%s/tokenizer.json'", MILRUN, dir);
  expect(cmd, 0, "9707 1879 187\n"); /* 0xFF is byte token 'ÿ' = 187 in tokenizer.json */
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' --json '<|im_start|>Hello \"q\"'", MILRUN, dir);
  expect(cmd, 0, "{\"ids\": [151644, 9707, 330, 80, 1], \"pieces\": [\"<|im_start|>\", \"Hello\", \"Ġ\\\"\", \"q\", \"\\\"\"]}\n");
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' --no-special '<|im_end|>' | wc -w", MILRUN, dir);
  char *out = NULL;
  CHECK_EQ_INT(run(cmd, &out), 0);
  CHECK(out && atoi(out) > 1);
  mr_free(out);
  /* a TEXT that starts with '-' after "--"; ids as in golden case "numbers: ... -42 ..." */
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' -- ' -42'", MILRUN, dir);
  expect(cmd, 0, "481 19 17\n");
  /* empty stdin: an empty line */
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' < /dev/null", MILRUN, dir);
  expect(cmd, 0, "\n");
}

/* --bench on a given text: the fast and the naive encoders must agree on it. */
static void test_bench(void) {
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' --bench 'Hello, world! 日本語 12345' | grep -c 'same ids: yes'",
           MILRUN, th_fixture("tokenizer"));
  expect(cmd, 0, "1\n");
}

static void test_tokenize_errors(void) {
  snprintf(cmd, sizeof cmd, "'%s' tokenize x 2>/dev/null", MILRUN);
  expect(cmd, 2, "");
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer 2>&1 >/dev/null | head -1", MILRUN);
  expect(cmd, 0, "milrun tokenize: option '--tokenizer' needs a value (PATH)\n");
  snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer /nonexistent x 2>&1", MILRUN);
  expect(cmd, 1, "milrun tokenize: /nonexistent: No such file or directory\n");
  snprintf(cmd, sizeof cmd, "'%s' tokenize --help | grep -c -- '--'", MILRUN);
  expect(cmd, 0, "7\n"); /* --tokenizer --json --no-special --bench --help, the usage line, the "--" note */
}

static void test_template(void) {
  const char *dir = th_fixture("tokenizer");
  char path[600];
  snprintf(path, sizeof path, "%s/messages.json", th_tmpdir());
  const char *msgs = "[{\"role\": \"system\", \"content\": \"You are a helpful assistant.\"},"
                     " {\"role\": \"user\", \"content\": \"What is 2+2?\"}]";
  mr_error err = {0};
  CHECK_EQ_INT(util_write_file_atomic(path, msgs, strlen(msgs), &err), MR_OK);
  /* golden/chat case 3 (transformers 5.17.0) */
  snprintf(cmd, sizeof cmd, "'%s' template --tokenizer '%s' --messages '%s' --no-think", MILRUN, dir, path);
  expect(cmd, 0,
         "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
         "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  snprintf(cmd, sizeof cmd, "'%s' template --tokenizer '%s' --messages '%s' --no-generation-prompt", MILRUN, dir, path);
  expect(cmd, 0, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
  /* errors */
  snprintf(cmd, sizeof cmd, "'%s' template --tokenizer '%s' 2>/dev/null", MILRUN, dir);
  expect(cmd, 2, "");
  CHECK_EQ_INT(util_write_file_atomic(path, "{\"role\": 1}", 11, &err), MR_OK);
  snprintf(cmd, sizeof cmd, "'%s' template --tokenizer '%s' --messages '%s' 2>&1", MILRUN, dir, path);
  char want[800];
  snprintf(want, sizeof want, "milrun template: %s: expected a JSON list of {\"role\", \"content\"} objects\n", path);
  expect(cmd, 1, want);
  CHECK_EQ_INT(util_write_file_atomic(path, "[{\"role\": \"user\"}]", 18, &err), MR_OK);
  snprintf(want, sizeof want, "milrun template: %s: message 0 needs string \"role\" and \"content\"\n", path);
  expect(cmd, 1, want);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"tokenize", test_tokenize},
    {"tokenize_errors", test_tokenize_errors},
    {"bench", test_bench},
    {"template", test_template},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
