/* fuzz_tok_roundtrip.c — libFuzzer target for the tokenizer: any bytes are encoded (with and
 * without special-token parsing) and decoded, and these must hold:
 *  - every id is in range, and the fast BPE agrees with the naive reference on short inputs;
 *  - text that is valid UTF-8, has no NUL and is already NFC decodes back to itself exactly;
 *  - the streaming decoder, fed one id at a time, returns exactly what the whole decode returns.
 * The tokenizer is $MR_FUZZ_TOKENIZER, else tests/fixtures/tokenizer (run from the source root).
 * Corpus: fuzz/corpus/tok_roundtrip/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "milrun.h"
#include "tok/tok.h"
#include "util/alloc.h"

static mr_tokenizer *tk;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *path = getenv("MR_FUZZ_TOKENIZER");
  mr_error err = {0};
  if (mr_tokenizer_open(path ? path : "tests/fixtures/tokenizer", &tk, &err)) {
    fprintf(stderr, "fuzz_tok_roundtrip: %s\n", err.msg);
    abort(); /* a harness, not the library: no tokenizer, no fuzzing */
  }
  return 0;
}

static int is_nfc_text(const uint8_t *s, size_t n) {
  if (memchr(s, 0, n)) return 0;
  for (size_t i = 0; i < n;) {
    int32_t cp;
    int k = tok_utf8_decode(s + i, n - i, &cp);
    if (k <= 0) return 0;
    i += (size_t)k;
  }
  char *z = malloc(n + 1);
  memcpy(z, s, n);
  z[n] = 0;
  uint8_t *nfc = utf8proc_NFC((const uint8_t *)z);
  int same = nfc && strlen((char *)nfc) == n && !memcmp(nfc, s, n);
  free(nfc);
  free(z);
  return same;
}

static void check_stream(const int32_t *ids, size_t k, const char *whole, size_t wlen) {
  mr_detok *d = NULL;
  mr_error err = {0};
  if (mr_detok_new(tk, 0, &d, &err)) abort();
  char *acc = malloc(wlen + 16);
  size_t total = 0;
  for (size_t i = 0; i < k; i++) {
    const char *s;
    size_t len;
    if (mr_detok_push(d, ids[i], &s, &len, &err) || total + len > wlen) abort();
    memcpy(acc + total, s, len);
    total += len;
  }
  const char *s;
  size_t len;
  mr_detok_flush(d, &s, &len);
  if (total + len != wlen) abort();
  memcpy(acc + total, s, len);
  if (memcmp(acc, whole, wlen)) abort();
  free(acc);
  mr_detok_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int flags = 0; flags <= MR_TOK_PARSE_SPECIAL; flags++) {
    int32_t *ids = NULL, *ref = NULL;
    size_t k = 0, k2 = 0;
    mr_error err = {0};
    if (mr_tokenizer_encode(tk, (const char *)data, size, flags, &ids, &k, &err)) abort();
    for (size_t i = 0; i < k; i++)
      if (ids[i] < 0 || ids[i] >= mr_tokenizer_vocab_size(tk)) abort();
    if (size <= 512) {
      tok_set_naive(tk, 1);
      int rc = mr_tokenizer_encode(tk, (const char *)data, size, flags, &ref, &k2, &err);
      tok_set_naive(tk, 0);
      if (rc || k != k2 || (k && memcmp(ids, ref, k * sizeof *ids))) abort();
      mr_free(ref);
    }
    char *text = NULL;
    size_t len = 0;
    if (mr_tokenizer_decode(tk, ids, k, 0, &text, &len, &err)) abort();
    if (is_nfc_text(data, size) && (len != size || memcmp(text, data, size))) abort();
    check_stream(ids, k, text, len);
    mr_free(text);
    mr_free(ids);
  }
  return 0;
}
