/* tokenize.c — `milrun tokenize`: text (an argument, or all of stdin byte for byte) to token ids,
 * and `--bench`, which times loading and encoding against the naive BPE baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "input.h"
#include "opts.h"
#include "milrun.h"
#include "tok/tok.h"
#include "util/alloc.h"
#include "util/strbuf.h"

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c == '\r') fputs("\\r", stdout);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void print_ids(const mr_tokenizer *t, const int32_t *ids, size_t n, int json) {
  if (!json) {
    for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
    putchar('\n');
    return;
  }
  fputs("{\"ids\": [", stdout);
  for (size_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", (int)ids[i]);
  fputs("], \"pieces\": [", stdout);
  for (size_t i = 0; i < n; i++) {
    if (i) fputs(", ", stdout);
    const char *p = mr_tokenizer_token(t, ids[i]);
    json_string(p ? p : "");
  }
  fputs("]}\n", stdout);
}

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of this process: on a shared machine it is the steadier measure of one core's speed. */
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

/* A few MB of mixed text: English prose, code, numbers, CJK, Cyrillic, emoji, whitespace runs. */
static char *bench_text(size_t target, size_t *n) {
  static const char *const parts[] = {
    "The quick brown fox jumps over the lazy dog. ", "It's what they've done; we'd go. ",
    "def foo(x):\n    return x * 2  # comment\n", "int main(void) { printf(\"%d\\n\", 42); return 0; }\n",
    "numbers: 1234567890 3.14159 -42 1e-5 0x1F ", "日本語のテキストです。", "你好，世界！我们今天去哪里？",
    "Привет, как дела? ", "naïve café résumé Ångström ", "emoji 😀🎉👍🏽 ", "\n\n    \t", "https://example.com/path?q=1 "};
  util_sb sb = {0};
  unsigned r = 12345;
  while (sb.len < target && !util_sb_failed(&sb)) {
    r = r * 1103515245u + 12345u;
    util_sb_puts(&sb, parts[(r >> 16) % (sizeof parts / sizeof *parts)]);
  }
  *n = sb.len;
  return util_sb_take(&sb);
}

static int bench(const char *path, const char *text, size_t n, int flags) {
  mr_error err = {0};
  mr_tokenizer *t = NULL;
  double best_load = 1e9, best_load_cpu = 1e9;
  for (int i = 0; i < 3; i++) { /* best of 3: the first run pays for reading the file from disk */
    double t0 = now(), c0 = cpu();
    if (mr_tokenizer_open(path, &t, &err)) {
      fprintf(stderr, "milrun tokenize: %s\n", err.msg);
      return 1;
    }
    double dt = now() - t0, dc = cpu() - c0;
    if (dt < best_load) best_load = dt;
    if (dc < best_load_cpu) best_load_cpu = dc;
    if (i < 2) mr_tokenizer_close(t);
  }
  printf("load   %-30s %8.1f ms wall, %8.1f ms cpu\n", path, best_load * 1e3, best_load_cpu * 1e3);
  int rc = 0;
  double speed[2] = {0, 0}, speed_cpu[2] = {0, 0};
  size_t counts[2] = {0, 0};
  for (int naive = 0; naive < 2 && !rc; naive++) {
    tok_set_naive(t, naive);
    int32_t *ids = NULL;
    size_t k = 0;
    double t0 = now(), c0 = cpu();
    rc = mr_tokenizer_encode(t, text, n, flags, &ids, &k, &err);
    double dt = now() - t0, dc = cpu() - c0;
    mr_free(ids);
    speed[naive] = (double)n / 1e6 / dt;
    speed_cpu[naive] = (double)n / 1e6 / (dc > 0 ? dc : dt);
    counts[naive] = k;
  }
  if (rc) {
    fprintf(stderr, "milrun tokenize: %s\n", err.msg);
    mr_tokenizer_close(t);
    return 1;
  }
  printf("encode %.2f MB, %zu tokens: %8.2f MB/s wall, %8.2f MB/s cpu (%.0f tokens/s)\n", (double)n / 1e6,
         counts[0], speed[0], speed_cpu[0], (double)counts[0] * speed_cpu[0] * 1e6 / (double)n);
  printf("naive  baseline (O(n^2) merges, no cache): %8.2f MB/s wall, %8.2f MB/s cpu -> %.2fx; same ids: %s\n",
         speed[1], speed_cpu[1], speed_cpu[0] / speed_cpu[1], counts[0] == counts[1] ? "yes" : "NO");
  mr_tokenizer_close(t);
  return counts[0] == counts[1] ? 0 : 1;
}

int tool_tokenize(int argc, char **argv) {
  const char *path = NULL, *text = NULL;
  int json = 0, no_special = 0, do_bench = 0;
  const tool_opt opts[] = {
    {"tokenizer", 't', OPT_STR, &path, "PATH", "tokenizer.json, or a model directory holding it (required)", 0, 0, NULL},
    {"json", 0, OPT_FLAG, &json, NULL, "print {\"ids\": [...], \"pieces\": [...]} (pieces as HF spells tokens)", 0, 0, NULL},
    {"no-special", 0, OPT_FLAG, &no_special, NULL, "encode special tokens in the text as plain text" OPT_NL
     "(default: parse them)", 0, 0, NULL},
    {"bench", 0, OPT_FLAG, &do_bench, NULL, "time tokenizer loading and encoding of TEXT/stdin (default: 4 MB" OPT_NL
     "of generated mixed text) against a naive O(n^2) BPE baseline", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "tokenize", "--tokenizer PATH [options] [TEXT]",
    "Encode TEXT (or, when absent, all of standard input byte for byte) and print the ids\n"
    "(`milrun detokenize` turns them back into text). Use -- before a TEXT that starts with '-'.",
    opts, NULL, 0, 1, NULL};
  int npos;
  int rc = tool_parse(&cmd, argc, argv, &text, &npos);
  if (rc) return tool_parse_exit(rc);
  if (!npos) text = NULL;
  if (!path) return tool_usage_error(&cmd, "--tokenizer PATH is required");
  int flags = no_special ? 0 : MR_TOK_PARSE_SPECIAL;
  size_t n = 0;
  char *owned = NULL;
  if (text) n = strlen(text);
  else if (do_bench) text = owned = bench_text(4u << 20, &n);
  else text = owned = tool_read_stdin(&n);
  if (!text) {
    fprintf(stderr, "milrun tokenize: cannot read standard input\n");
    return 1;
  }
  if (do_bench) {
    rc = bench(path, text, n, flags);
    mr_free(owned);
    return rc;
  }
  mr_error err = {0};
  mr_tokenizer *t = NULL;
  int32_t *ids = NULL;
  size_t k = 0;
  rc = mr_tokenizer_open(path, &t, &err);
  if (!rc) rc = mr_tokenizer_encode(t, text, n, flags, &ids, &k, &err);
  if (rc) fprintf(stderr, "milrun tokenize: %s\n", err.msg);
  else print_ids(t, ids, k, json);
  mr_free(ids);
  mr_free(owned);
  mr_tokenizer_close(t);
  return rc ? 1 : 0;
}
