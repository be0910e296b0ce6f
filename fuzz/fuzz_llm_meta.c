/* fuzz_llm_meta.c — libFuzzer target for meta.yaml: any bytes either parse or fail with a message
 * naming the file, never crash, hang or leak; a parsed file has a positive context and batch.
 * Corpus: fuzz/corpus/llm_meta/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llm_meta m;
  mr_error err = {0};
  if (llm_meta_parse((const char *)data, size, "meta.yaml", &m, &err)) {
    if (!strstr(err.msg, "meta.yaml")) abort();
    return 0;
  }
  if (m.context < 1 || m.batch < 1 || m.chunks < 1) abort();
  return 0;
}
