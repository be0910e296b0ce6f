/* fuzz_tok_load.c — libFuzzer target for reading tokenizer.json: any bytes either load or fail
 * with a message naming the file, never crash, hang or leak; a tokenizer that loads must encode
 * and decode a fixed text. Corpus: fuzz/corpus/tok_load/ (small tokenizer.json files). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milrun.h"
#include "tok/tok.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mr_tokenizer *t = NULL;
  mr_error err = {0};
  if (tok_open_text("fuzz.json", (const char *)data, size, &t, &err)) {
    if (!strstr(err.msg, "fuzz.json")) abort(); /* every message names the file */
    return 0;
  }
  static const char text[] = "Hello, world! 12345 <|im_end|> \xff caf\xc3\xa9";
  int32_t *ids = NULL;
  size_t n = 0;
  if (mr_tokenizer_encode(t, text, sizeof text - 1, MR_TOK_PARSE_SPECIAL, &ids, &n, &err)) abort();
  char *out = NULL;
  if (mr_tokenizer_decode(t, ids, n, 0, &out, NULL, &err)) abort();
  mr_free(out);
  mr_free(ids);
  mr_tokenizer_close(t);
  return 0;
}
