/* fuzz_llm_config.c — libFuzzer target for the model-config JSON (--model FILE.json): any bytes
 * either resolve or fail with a message, never crash, hang or leak. The component paths are
 * relative to a folder that does not exist, so resolution stops at the first file check.
 * Corpus: fuzz/corpus/llm_config/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llm_source s;
  mr_error err = {0};
  if (llm_config_parse((const char *)data, size, "/nonexistent-fuzz/config.json", &s, &err)) {
    if (!err.msg[0]) abort();
    return 0;
  }
  llm_source_free(&s);
  return 0;
}
