/* test_tok_load.c — tokenizer.json variants built in the test: a tiny Llama-3-style tokenizer
 * (its split regex, ignore_merges), merges as strings, and every loading error with its whole
 * message. Expected ids are worked out by hand from the tiny vocabulary written here. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/strbuf.h"

#define LLAMA3_RE "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"

/* GPT-2 byte character of b, as a JSON string body (escaped where JSON needs it). */
static void byte_char_json(util_sb *sb, unsigned b) {
  unsigned cp;
  if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) cp = b;
  else {
    unsigned n = 0;
    for (unsigned c = 0; c < b; c++) n += !((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174);
    cp = 256 + n;
  }
  if (cp == '"' || cp == '\\') util_sb_printf(sb, "\\%c", (char)cp);
  else if (cp < 0x80) util_sb_putc(sb, (char)cp);
  else util_sb_putc(sb, (char)(0xC0 | (cp >> 6))), util_sb_putc(sb, (char)(0x80 | (cp & 0x3F)));
}

/* Vocabulary: id b = byte b; 256 "he", 257 "ll", 258 "hell", 259 "12", 260 "hello" (reachable
 * only whole, with ignore_merges); added 261 <|begin_of_text|> ... 264 <|eot_id|>. */
static char *tiny_json(int ignore_merges, int merges_as_strings, const char *extra_model) {
  util_sb sb = {0};
  util_sb_puts(&sb, "{\"version\": \"1.0\", \"added_tokens\": [");
  const char *added[] = {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
  for (int i = 0; i < 4; i++)
    util_sb_printf(&sb, "%s{\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                        "\"normalized\": false, \"special\": true}", i ? ", " : "", 261 + i, added[i]);
  util_sb_puts(&sb, "], \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
                    "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" LLAMA3_RE "\"}, \"behavior\": \"Isolated\", \"invert\": false},"
                    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]},"
                    "\"post_processor\": null, \"decoder\": {\"type\": \"ByteLevel\"},\n");
  util_sb_printf(&sb, "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"ignore_merges\": %s, %s\"vocab\": {",
                 ignore_merges ? "true" : "false", extra_model ? extra_model : "");
  for (unsigned b = 0; b < 256; b++) {
    util_sb_puts(&sb, b ? ", \"" : "\"");
    byte_char_json(&sb, b);
    util_sb_printf(&sb, "\": %u", b);
  }
  util_sb_puts(&sb, ", \"he\": 256, \"ll\": 257, \"hell\": 258, \"12\": 259, \"hello\": 260},\n\"merges\": ");
  util_sb_puts(&sb, merges_as_strings ? "[\"h e\", \"l l\", \"he ll\", \"1 2\"]}}"
                                      : "[[\"h\", \"e\"], [\"l\", \"l\"], [\"he\", \"ll\"], [\"1\", \"2\"]]}}");
  return util_sb_take(&sb);
}

static const char *write_tmp(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", th_tmpdir(), name);
  mr_error err = {0};
  if (util_write_file_atomic(path, text, strlen(text), &err)) fprintf(stderr, "  %s\n", err.msg);
  return path;
}

static void check_ids(mr_tokenizer *t, const char *text, const int32_t *want, size_t n) {
  int32_t *ids = NULL;
  size_t k = 0;
  mr_error err = {0};
  CHECK_EQ_INT(mr_tokenizer_encode(t, text, strlen(text), MR_TOK_PARSE_SPECIAL, &ids, &k, &err), MR_OK);
  CHECK_EQ_INT(k, n);
  for (size_t i = 0; i < n && i < k; i++) CHECK_EQ_INT(ids[i], want[i]);
  mr_free(ids);
}

static void test_llama3_style(void) {
  for (int strings = 0; strings < 2; strings++) {
    char *json = tiny_json(1, strings, NULL);
    mr_tokenizer *t = NULL;
    mr_error err = {0};
    int rc = mr_tokenizer_open(write_tmp("llama.json", json), &t, &err);
    CHECK_MSG(rc == MR_OK, "%s", err.msg);
    mr_free(json);
    if (rc) return;
    /* "hello" whole (ignore_merges), " ", digits in groups of at most three: "123" "45" */
    const int32_t a[] = {260, 32, 259, '3', '4', '5'};
    check_ids(t, "hello 12345", a, 6);
    /* "hell" by merges: he + ll -> hell; "o" alone; added tokens matched first */
    const int32_t b[] = {261, 262, 258, 263, 'x'};
    check_ids(t, "<|begin_of_text|><|start_header_id|>hell<|end_header_id|>x", b, 5);
    /* contractions are case-insensitive and split off: "'S" is its own piece */
    const int32_t c[] = {'I', 'T', '\'', 'S'};
    check_ids(t, "IT'S", c, 4);
    mr_tokenizer_close(t);
  }
  /* without ignore_merges, "hello" goes through the merges: hell + o */
  char *json = tiny_json(0, 0, NULL);
  mr_tokenizer *t = NULL;
  mr_error err = {0};
  CHECK_EQ_INT(mr_tokenizer_open(write_tmp("nomerge.json", json), &t, &err), MR_OK);
  mr_free(json);
  const int32_t d[] = {258, 'o'};
  if (t) check_ids(t, "hello", d, 2);
  mr_tokenizer_close(t);
}

/* Open text as a tokenizer.json and expect failure with exactly this message. */
static void expect_error(const char *text, int code, const char *msg_fmt) {
  const char *path = write_tmp("bad.json", text);
  char want[1024];
  snprintf(want, sizeof want, msg_fmt, path);
  mr_tokenizer *t = (mr_tokenizer *)1;
  mr_error err = {0};
  CHECK_EQ_INT(mr_tokenizer_open(path, &t, &err), code);
  CHECK(t == NULL);
  CHECK_EQ_STR(err.msg, want);
}

static void test_errors(void) {
  expect_error("", MR_EFORMAT, "%s:1:1: expected '{' at the start of the file, found end of file");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}}}", MR_EFORMAT,
               "%s:1:44: expected a string, found '}'");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": x}}}", MR_EFORMAT,
               "%s:1:42: expected an integer, found 'x'");
  expect_error("{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0, \"b\": 0}}}", MR_EFORMAT,
               "%s:2:25: model.vocab: token id used twice, found '0'");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]}}", MR_EFORMAT,
               "%s:1:65: model.merges: merge #0: token 'ab' is not in the vocabulary, found '['");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a a a\"]}}", MR_EFORMAT,
               "%s:1:57: model.merges: a merge string must be two tokens separated by one space, found '\"'");
  expect_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", MR_ENOTSUP,
               "%s: model type \"WordPiece\" is not supported (only BPE)");
  expect_error("{\"model\": {\"type\": \"BPE\"}}", MR_EFORMAT, "%s: model.vocab is missing");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"normalizer\": {\"type\": \"NFKC\"}}", MR_ENOTSUP,
               "%s: normalizer NFKC is not supported (only NFC)");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Metaspace\"}}",
               MR_ENOTSUP, "%s: pre-tokenizer Metaspace is not supported here (supported: one Split, then ByteLevel)");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": null}", MR_ENOTSUP,
               "%s: only byte-level BPE tokenizers are supported (no ByteLevel pre-tokenizer)");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
               MR_ENOTSUP, "%s: only the ByteLevel decoder is supported");
  expect_error("{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {}}}", MR_ENOTSUP,
               "%s: model.byte_fallback is not supported");
  expect_error("{\"added_tokens\": [{\"id\": -1, \"content\": \"x\"}], \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}",
               MR_EFORMAT, "%s: added_tokens[0]: needs an integer id and a non-empty content");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\\ud800\": 0}}}", MR_EFORMAT,
               "%s:1:39: unpaired surrogate in \\u escape, found '\\'");
  expect_error("{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
               "{\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}, {\"type\": \"ByteLevel\", \"use_regex\": false}]},"
               " \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}",
               MR_EFORMAT, "%s: split pattern: missing closing parenthesis (at offset 1 of the translated pattern)");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}} x", MR_EFORMAT,
               "%s:1:41: expected the end of the file, found 'x'");
  /* more refusals and malformed members */
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": "
               "[{\"type\": \"Split\", \"pattern\": {\"Regex\": \"[\\\\S]\"}, \"behavior\": \"Isolated\"}, {\"type\": \"ByteLevel\", "
               "\"use_regex\": false}]}, \"decoder\": {\"type\": \"ByteLevel\"}}",
               MR_ENOTSUP, "%s: split pattern uses \\S inside a character class");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": "
               "{\"Regex\": \"a\"}, \"behavior\": \"Removed\"}}",
               MR_ENOTSUP, "%s: Split pre-tokenizer: only behavior Isolated without invert is supported");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Split\", \"behavior\": \"Isolated\"}}",
               MR_EFORMAT, "%s: Split pre-tokenizer without a pattern");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": "
               "[{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Isolated\"}, {\"type\": \"ByteLevel\"}]}}",
               MR_ENOTSUP, "%s: a Split followed by ByteLevel with use_regex is not supported");
  expect_error("{\"model\": {\"type\": \"BPE\", \"continuing_subword_prefix\": \"##\", \"vocab\": {}}}", MR_ENOTSUP,
               "%s: model.continuing_subword_prefix is not supported");
  expect_error("{\"model\": {\"vocab\": {}}}", MR_EFORMAT, "%s: model.type is missing");
  expect_error("{\"added_tokens\": {}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}", MR_EFORMAT,
               "%s: added_tokens is not an array of tokens");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 99999999999999999999}}}", MR_EFORMAT,
               "%s:1:42: integer too large, found '9'");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a", MR_EFORMAT, "%s:1:39: unterminated string, found end of file");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\tb\": 0}}}", MR_EFORMAT,
               "%s:1:39: control character in string, found byte 0x09");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\\qb\": 0}}}", MR_EFORMAT, "%s:1:39: invalid escape, found '\\'");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 16777216}}}", MR_EFORMAT,
               "%s:1:42: model.vocab: token id out of range, found '1'");
  /* members that are skipped are still checked */
  expect_error("{\"version\": [1}, \"model\": {}}", MR_EFORMAT, "%s:1:15: expected ',' or ']', found '}'");
  expect_error("{\"x\": {\"a\" 1}}", MR_EFORMAT, "%s:1:12: expected ':', found '1'");
  char deep[2100];
  memset(deep, '[', sizeof deep);
  memcpy(deep, "{\"x\": ", 6);
  deep[sizeof deep - 1] = 0;
  expect_error(deep, MR_EFORMAT, "%s:1:519: nesting too deep, found '['");
  /* a missing file and a directory without tokenizer.json */
  mr_tokenizer *t = NULL;
  mr_error err = {0};
  CHECK_EQ_INT(mr_tokenizer_open("/nonexistent/tokenizer.json", &t, &err), MR_ENOTFOUND);
  CHECK_EQ_STR(err.msg, "/nonexistent/tokenizer.json: No such file or directory");
  char want[600];
  snprintf(want, sizeof want, "%s/tokenizer.json: No such file or directory", th_tmpdir());
  CHECK_EQ_INT(mr_tokenizer_open(th_tmpdir(), &t, &err), MR_ENOTFOUND);
  CHECK_EQ_STR(err.msg, want);
}

/* Fail each allocation of a load in turn: every failure is an error, never a crash or a leak. */
static void test_out_of_memory(void) {
  char *json = tiny_json(1, 0, NULL);
  const char *path = write_tmp("oom.json", json);
  mr_free(json);
  int failures = 0, n;
  for (n = 0; n < 400; n++) {
    mr_tokenizer *t = NULL;
    mr_error err = {0};
    util_alloc_fail_after(n);
    int rc = mr_tokenizer_open(path, &t, &err);
    int32_t *ids = NULL;
    size_t k = 0;
    if (!rc) rc = mr_tokenizer_encode(t, "hello 12345 <|eot_id|>", 22, MR_TOK_PARSE_SPECIAL, &ids, &k, &err);
    util_alloc_fail_after(-1);
    mr_free(ids);
    mr_tokenizer_close(t);
    if (!rc) break;
    failures++;
    CHECK(rc == MR_ENOMEM || rc == MR_EFORMAT); /* cJSON reports its own allocation failures as a parse error */
  }
  CHECK(failures > 10 && n < 400);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"llama3_style", test_llama3_style},
    {"errors", test_errors},
    {"out_of_memory", test_out_of_memory},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
