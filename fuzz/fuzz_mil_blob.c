/* fuzz_mil_blob.c — libFuzzer harness for the weight-file reader: the input is a weight.bin. Every
 * record offset (64-byte steps) is read with every dtype and the count its size implies; whatever
 * the reader accepts is read in full, so ASan catches any access outside the input. */
#include <stddef.h>
#include <stdint.h>

#include "mil/blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mil_blob_file f;
  mr_error err = {0};
  if (mil_blob_open_mem(&f, data, size, "fuzz.bin", &err)) return 0;
  static const mil_dtype types[] = {MIL_FP16, MIL_FP32, MIL_UINT8, MIL_INT8, MIL_UINT4, MIL_UINT6, MIL_UINT3, MIL_UINT1, MIL_INT32};
  volatile unsigned sink = 0;
  for (uint64_t off = 0; off < size && off < 64 * 256; off += 64) {
    if (off + 16 > size) break;
    uint64_t nbytes = 0;
    for (int i = 7; i >= 0; i--) nbytes = nbytes << 8 | data[off + 8 + i];
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
      int bits = mil_dtype_bits(types[t]);
      int64_t count = nbytes > ((uint64_t)1 << 40) ? -1 : (int64_t)(nbytes * 8 / (uint64_t)bits);
      mil_blob b;
      if (mil_blob_get(&f, off, types[t], count, &b, &err)) continue;
      for (uint64_t i = 0; i < b.size; i++) sink += b.data[i];
      if (bits < 8 && count > 0) sink += mil_bits_get(b.data, count - 1, bits);
    }
  }
  (void)sink;
  mil_blob_close(&f);
  return 0;
}
