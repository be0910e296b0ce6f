/* test_tok_encode.c — the Qwen3 tokenizer on edge inputs: empty text, invalid UTF-8, only special
 * tokens, 1 MB inputs, random round trips checked against the naive BPE reference, the streaming
 * decoder and the padded vocabulary. */
#include <stdlib.h>

#include <utf8proc.h>

#include "harness.h"
#include "milrun.h"
#include "tok/tok.h"
#include "util/alloc.h"

static mr_tokenizer *tk;

/* GPT-2's bytes_to_unicode, written out independently of src/tok/bytelevel.c. */
static void byte_char(unsigned b, char out[3]) {
  unsigned cp;
  if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) cp = b;
  else {
    unsigned n = 0;
    for (unsigned c = 0; c < b; c++) n += !((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174);
    cp = 256 + n;
  }
  if (cp < 0x80) out[0] = (char)cp, out[1] = 0;
  else out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F)), out[2] = 0;
}

static int32_t byte_token(unsigned b) {
  char s[3];
  byte_char(b, s);
  return mr_tokenizer_token_id(tk, s);
}

static int32_t *enc(const char *s, size_t n, int flags, size_t *k) {
  int32_t *ids = NULL;
  mr_error err = {0};
  int rc = mr_tokenizer_encode(tk, s, n, flags, &ids, k, &err);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  return ids;
}

static char *dec(const int32_t *ids, size_t n, int flags, size_t *len) {
  char *out = NULL;
  mr_error err = {0};
  int rc = mr_tokenizer_decode(tk, ids, n, flags, &out, len, &err);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  return out;
}

static void test_empty(void) {
  size_t k = 99, len = 99;
  int32_t *ids = enc("", 0, MR_TOK_PARSE_SPECIAL, &k);
  CHECK_EQ_INT(k, 0);
  CHECK(ids == NULL);
  char *s = dec(NULL, 0, 0, &len);
  CHECK_EQ_STR(s, "");
  CHECK_EQ_INT(len, 0);
  mr_free(s);
}

static void test_invalid_utf8(void) {
  /* 'a', a lone 0xFF, 'b', then a truncated 3-byte sequence: each invalid byte is its byte token */
  const char text[] = "a\xff" "b\xe4\xb8";
  size_t k;
  int32_t *ids = enc(text, sizeof text - 1, MR_TOK_PARSE_SPECIAL, &k);
  int32_t want[] = {mr_tokenizer_token_id(tk, "a"), byte_token(0xff), mr_tokenizer_token_id(tk, "b"), byte_token(0xe4),
                    byte_token(0xb8)};
  CHECK_EQ_INT(k, 5);
  for (size_t i = 0; i < 5 && i < k; i++) CHECK_EQ_INT(ids[i], want[i]);
  /* decode: one U+FFFD per maximal invalid subpart (0xFF; then E4 B8 together) */
  size_t len;
  char *s = dec(ids, k, 0, &len);
  CHECK_EQ_STR(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
  mr_free(s);
  mr_free(ids);
  /* a NUL byte and a surrogate encoded in UTF-8 (invalid) */
  const char nul[] = "x\0y\xed\xa0\x80";
  ids = enc(nul, sizeof nul - 1, 0, &k);
  CHECK_EQ_INT(k, 6);
  if (k == 6) {
    CHECK_EQ_INT(ids[1], byte_token(0));
    CHECK_EQ_INT(ids[3], byte_token(0xed));
    CHECK_EQ_INT(ids[5], byte_token(0x80));
  }
  s = dec(ids, k, 0, &len);
  CHECK_EQ_INT(len, 3 + 9); /* x NUL y + three U+FFFD (ED, A0, 80 are each a maximal subpart) */
  mr_free(s);
  mr_free(ids);
}

static void test_only_special(void) {
  const char *text = "<|im_start|><|im_end|><|endoftext|>";
  size_t k, len;
  int32_t *ids = enc(text, strlen(text), MR_TOK_PARSE_SPECIAL, &k);
  CHECK_EQ_INT(k, 3);
  if (k == 3) {
    CHECK_EQ_INT(ids[0], 151644);
    CHECK_EQ_INT(ids[1], 151645);
    CHECK_EQ_INT(ids[2], 151643);
  }
  char *s = dec(ids, k, 0, &len);
  CHECK_EQ_STR(s, text);
  mr_free(s);
  s = dec(ids, k, MR_TOK_SKIP_SPECIAL, &len);
  CHECK_EQ_STR(s, "");
  mr_free(s);
  mr_free(ids);
  /* without special parsing they are text: no special id, same text back */
  ids = enc(text, strlen(text), 0, &k);
  CHECK(k > 3);
  for (size_t i = 0; i < k; i++) CHECK(!mr_tokenizer_is_special(tk, ids[i]));
  s = dec(ids, k, MR_TOK_SKIP_SPECIAL, &len);
  CHECK_EQ_STR(s, text);
  mr_free(s);
  mr_free(ids);
  /* non-special added tokens are still matched without special parsing */
  ids = enc("<think>", 7, 0, &k);
  CHECK_EQ_INT(k, 1);
  if (k) CHECK_EQ_INT(ids[0], 151667);
  mr_free(ids);
}

/* Encode with the fast path and with the naive reference; the ids must agree. */
static void check_against_naive(const char *s, size_t n) {
  size_t k1, k2;
  int32_t *a = enc(s, n, MR_TOK_PARSE_SPECIAL, &k1);
  tok_set_naive(tk, 1);
  int32_t *b = enc(s, n, MR_TOK_PARSE_SPECIAL, &k2);
  tok_set_naive(tk, 0);
  CHECK_EQ_INT(k1, k2);
  CHECK(k1 == k2 && (!k1 || !memcmp(a, b, k1 * sizeof *a)));
  mr_free(a);
  mr_free(b);
}

static const char *const fragments[] = {
  "Hello", " world", ",", " 123", "4567", "\n", "\n\n", "  ", "\t", "'s", "'LL", " café", "日本語", "，", "😀",
  "👍🏽", "Привет", " ", "<|im_end|>", "<think>", "x_y", "$$", "ﬁ", "\xc2\xa0", "Ω", "...", "é", "e\xcc\x81"};

static int has_decomposed(const char *s, size_t n) {
  for (size_t i = 0; i + 3 <= n; i++)
    if (!memcmp(s + i, "e\xcc\x81", 3)) return 1;
  return 0;
}

static void test_random_round_trips(void) {
  unsigned r = 7;
  for (int iter = 0; iter < 300; iter++) {
    char buf[512];
    size_t n = 0;
    int parts = 1 + iter % 12;
    for (int p = 0; p < parts; p++) {
      r = r * 1103515245u + 12345u;
      const char *f = fragments[(r >> 16) % (sizeof fragments / sizeof *fragments)];
      if (n + strlen(f) < sizeof buf) memcpy(buf + n, f, strlen(f)), n += strlen(f);
    }
    check_against_naive(buf, n);
    size_t k, len;
    int32_t *ids = enc(buf, n, MR_TOK_PARSE_SPECIAL, &k);
    char *s = dec(ids, k, 0, &len);
    /* NFC changes "e + U+0301" to "é"; every other fragment is already NFC */
    if (!has_decomposed(buf, n)) CHECK(len == n && !memcmp(s, buf, n));
    mr_free(s);
    mr_free(ids);
  }
}

static void test_one_megabyte(void) {
  size_t n = 1 << 20, k, len;
  char *big = mr_alloc(n);
  /* one 1 MB pre-token: a single run of letters */
  memset(big, 'a', n);
  int32_t *ids = enc(big, n, MR_TOK_PARSE_SPECIAL, &k);
  CHECK(k > 0 && k < n / 2);
  char *s = dec(ids, k, 0, &len);
  CHECK(len == n && !memcmp(s, big, n));
  mr_free(s);
  mr_free(ids);
  /* 1 MB of spaces (one whitespace pre-token) */
  memset(big, ' ', n);
  ids = enc(big, n, MR_TOK_PARSE_SPECIAL, &k);
  s = dec(ids, k, 0, &len);
  CHECK(len == n && !memcmp(s, big, n));
  mr_free(s);
  mr_free(ids);
  /* 1 MB of mixed text, checked against the naive reference */
  size_t m = 0;
  for (unsigned i = 0; m < n - 16; i++) {
    const char *f = fragments[(i * 7919u) % (sizeof fragments / sizeof *fragments)];
    size_t l = strlen(f);
    if (m + l > n) break;
    memcpy(big + m, f, l);
    m += l;
  }
  check_against_naive(big, m);
  mr_free(big);
}

/* Push ids one by one: every chunk must be valid UTF-8 and the chunks must add up to the text. */
static void test_streaming(void) {
  const char *text = "emoji 😀🎉👍🏽 👨\u200d👩\u200d👧 done<|im_end|>";
  size_t k;
  int32_t *ids = enc(text, strlen(text), MR_TOK_PARSE_SPECIAL, &k);
  for (int skip = 0; skip < 2; skip++) {
    mr_detok *d = NULL;
    mr_error err = {0};
    CHECK_EQ_INT(mr_detok_new(tk, skip ? MR_TOK_SKIP_SPECIAL : 0, &d, &err), MR_OK);
    char all[256] = "";
    size_t total = 0;
    int empty_chunks = 0;
    for (size_t i = 0; i < k; i++) {
      const char *s;
      size_t len;
      CHECK_EQ_INT(mr_detok_push(d, ids[i], &s, &len, &err), MR_OK);
      for (size_t j = 0; j < len;) { /* chunk is valid UTF-8 */
        int32_t cp;
        int c = tok_utf8_decode((const unsigned char *)s + j, len - j, &cp);
        CHECK(c > 0);
        j += c > 0 ? (size_t)c : 1;
      }
      empty_chunks += len == 0;
      if (total + len < sizeof all) memcpy(all + total, s, len), total += len;
    }
    const char *s;
    size_t len;
    mr_detok_flush(d, &s, &len);
    CHECK_EQ_INT(len, 0);
    all[total] = 0;
    CHECK_EQ_STR(all, skip ? "emoji 😀🎉👍🏽 👨\u200d👩\u200d👧 done" : text);
    CHECK(empty_chunks > 0); /* some emoji span several tokens: those pushes returned nothing */
    /* an unfinished sequence at the end comes out as U+FFFD */
    int32_t e4 = byte_token(0xe4);
    CHECK_EQ_INT(mr_detok_push(d, e4, &s, &len, &err), MR_OK);
    CHECK_EQ_INT(len, 0);
    mr_detok_flush(d, &s, &len);
    CHECK_EQ_STR(s, "\xef\xbf\xbd");
    mr_detok_free(d);
  }
  mr_free(ids);
}

static void test_vocab_padding(void) {
  mr_error err = {0};
  CHECK_EQ_INT(mr_tokenizer_vocab_size(tk), 151669);
  CHECK_EQ_INT(mr_tokenizer_set_vocab_size(tk, 100, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "vocabulary size 100 is smaller than the tokenizer's 151669 tokens");
  CHECK_EQ_INT(mr_tokenizer_set_vocab_size(tk, 151936, &err), MR_OK);
  CHECK_EQ_INT(mr_tokenizer_vocab_size(tk), 151936);
  int32_t ids[] = {9707, 151900, 151935};
  size_t len;
  char *s = dec(ids, 3, 0, &len);
  CHECK_EQ_STR(s, "Hello");
  mr_free(s);
  int32_t bad[] = {9707, 151936};
  char *out = NULL;
  CHECK_EQ_INT(mr_tokenizer_decode(tk, bad, 2, 0, &out, NULL, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "token id 151936 is out of range (vocabulary size 151936)");
  CHECK(out == NULL);
  int32_t neg[] = {-1};
  CHECK_EQ_INT(mr_tokenizer_decode(tk, neg, 1, 0, &out, NULL, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "token id -1 is out of range (vocabulary size 151936)");
  CHECK(mr_tokenizer_token(tk, 151900) == NULL);
  CHECK_EQ_INT(mr_tokenizer_eos_id(tk), 151645); /* tokenizer_config.json: eos_token <|im_end|> */
  CHECK_EQ_INT(mr_tokenizer_bos_id(tk), -1);     /* bos_token null */
  CHECK_EQ_INT(mr_tokenizer_token_id(tk, "no such token"), -1);
}

/* The byte <-> character mapping against its definition: printable bytes map to themselves, the
 * others to U+0100.. in byte order; and every other code point is no byte. */
static void test_bytelevel_table(void) {
  unsigned n = 0;
  for (unsigned b = 0; b < 256; b++) {
    int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    uint32_t cp = printable ? b : 256 + n++;
    CHECK_EQ_INT(tok_byte_to_char((uint8_t)b), cp);
    CHECK_EQ_INT(tok_char_to_byte(cp), b);
  }
  CHECK_EQ_INT(n, 68);
  int others = 0;
  for (uint32_t cp = 0; cp < 0x400; cp++) others += tok_char_to_byte(cp) < 0;
  CHECK_EQ_INT(others, 0x400 - 256);
}

/* The UTF-8 decoder against utf8proc on every 1- and 2-byte input and on 3- and 4-byte inputs
 * around every boundary of the well-formed ranges (Unicode Table 3-7). */
static void check_utf8(const unsigned char *s, size_t n) {
  int32_t a, b;
  int k = tok_utf8_decode(s, n, &a);
  utf8proc_ssize_t r = utf8proc_iterate(s, (utf8proc_ssize_t)n, &b);
  if (r > 0) {
    CHECK(k == r && a == b);
  } else {
    CHECK(k < 0 && a == -1);
  }
}

static void test_utf8_decoder(void) {
  unsigned char s[4];
  for (unsigned x = 0; x < 65536; x++) {
    s[0] = (unsigned char)(x >> 8), s[1] = (unsigned char)x;
    check_utf8(s, 1);
    check_utf8(s, 2);
  }
  const unsigned char edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                 0xE0, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF3, 0xF4, 0xF5, 0xFF};
  size_t ne = sizeof edges;
  for (size_t i = 0; i < ne; i++)
    for (size_t j = 0; j < ne; j++)
      for (size_t k = 0; k < ne; k++)
        for (size_t l = 0; l < ne; l++) {
          s[0] = edges[i], s[1] = edges[j], s[2] = edges[k], s[3] = edges[l];
          check_utf8(s, 3);
          check_utf8(s, 4);
        }
}

/* Unicode White_Space, from PropList.txt: the meaning of \s in Oniguruma, which HF uses. */
static int white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The translated \s, \S and [^\s...] match exactly White_Space (PCRE2 10.42's own \s in UCP mode also
 * matches U+180E, so this fails without the translation). */
static void test_whitespace_class(void) {
  const char *pats[] = {"^\\s$", "^\\S$", "^[^\\s\\p{L}\\p{N}]$"};
  for (int p = 0; p < 3; p++) {
    util_sb sb = {0};
    CHECK_EQ_INT(tok_regex_translate(pats[p], &sb), 0);
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)util_sb_cstr(&sb), sb.len, PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
    CHECK(re != NULL);
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    int wrong = 0;
    for (uint32_t c = 0; re && c < 0x3100; c++) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      char u[4];
      int n = tok_utf8_encode(c, u);
      int m = pcre2_match(re, (PCRE2_SPTR)u, (size_t)n, 0, 0, md, NULL) >= 0;
      int want = p == 0 ? white_space(c) : p == 1 ? !white_space(c) : -1;
      if (want >= 0 && m != want && wrong++ < 5) fprintf(stderr, "  pattern %s, U+%04X: match %d\n", pats[p], c, m);
      if (p == 2 && white_space(c) && m && wrong++ < 5) fprintf(stderr, "  pattern %s matches space U+%04X\n", pats[p], c);
    }
    CHECK_EQ_INT(wrong, 0);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    util_sb_free(&sb);
  }
  util_sb sb = {0};
  CHECK_EQ_INT(tok_regex_translate("[\\S]", &sb), -1);
  util_sb_free(&sb);
}

/* Fail the Nth allocation of an encode, a decode and a streaming decode, for every N until one
 * succeeds: each failure must be MR_ENOMEM with a message, and nothing may leak (ASan checks). */
static void test_out_of_memory(void) {
  const char *text = "Hello <|im_end|> café e\xcc\x81 日本語 😀 \xff 12345 unusualwordzzqx";
  int n, failures = 0;
  for (n = 0; n < 200; n++) {
    tok_work_free(&tk->work); /* empty cache and scratch buffers, so that encode allocates them */
    mr_error err = {0};
    int32_t *ids = NULL;
    size_t k = 0;
    char *s = NULL;
    mr_detok *d = NULL;
    util_alloc_fail_after(n);
    int rc = mr_tokenizer_encode(tk, text, strlen(text), MR_TOK_PARSE_SPECIAL, &ids, &k, &err);
    if (!rc) rc = mr_tokenizer_decode(tk, ids, k, 0, &s, NULL, &err);
    if (!rc) rc = mr_detok_new(tk, 0, &d, &err);
    for (size_t i = 0; !rc && i < k; i++) {
      const char *piece;
      size_t len;
      rc = mr_detok_push(d, ids[i], &piece, &len, &err);
    }
    util_alloc_fail_after(-1);
    mr_detok_free(d);
    mr_free(s);
    mr_free(ids);
    if (!rc) break;
    failures++;
    CHECK_EQ_INT(rc, MR_ENOMEM);
    CHECK_MSG(!strncmp(err.msg, "out of memory (", 15), "%s", err.msg);
  }
  CHECK(failures > 5 && n < 200);
}

int main(int argc, char **argv) {
  mr_error err = {0};
  if (mr_tokenizer_open(th_fixture("tokenizer/tokenizer.json"), &tk, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  static const th_case cases[] = {
    {"empty", test_empty},
    {"invalid_utf8", test_invalid_utf8},
    {"only_special", test_only_special},
    {"random_round_trips", test_random_round_trips},
    {"one_megabyte", test_one_megabyte},
    {"streaming", test_streaming},
    {"vocab_padding", test_vocab_padding},
    {"whitespace_class", test_whitespace_class},
    {"bytelevel_table", test_bytelevel_table},
    {"utf8_decoder", test_utf8_decoder},
    {"out_of_memory", test_out_of_memory},
    {NULL, NULL}};
  int rc = th_run(cases, argc, argv);
  mr_tokenizer_close(tk);
  return rc;
}
