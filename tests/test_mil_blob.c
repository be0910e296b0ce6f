/* test_mil_blob.c — the MILBlob v2 reader and writer: round trips of every dtype, sub-byte packing
 * against a naive bit-by-bit reference, every malformed-file error, and the real Silero files. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "harness.h"
#include "mil/blob.h"
#include "mil/blob_writer.h"
#include "util/alloc.h"
#include "util/file.h"

/* Reference: bit k of the stream is bit k%8 of byte k/8; an element's LSB comes first. */
static unsigned ref_get(const uint8_t *data, int64_t i, int bits) {
  unsigned v = 0;
  for (int b = 0; b < bits; b++) {
    int64_t k = i * bits + b;
    v |= (unsigned)((data[k / 8] >> (k % 8)) & 1) << b;
  }
  return v;
}

static void test_bits_pack_and_get(void) {
  for (int bits = 1; bits <= 8; bits++) {
    enum { N = 1001 };
    uint8_t vals[N], packed[N];
    for (int i = 0; i < N; i++) vals[i] = (uint8_t)((i * 37 + bits * 11) & ((1 << bits) - 1));
    mil_bits_pack(vals, N, bits, packed);
    for (int i = 0; i < N; i++) {
      CHECK_EQ_INT(ref_get(packed, i, bits), vals[i]);
      CHECK_EQ_INT(mil_bits_get(packed, i, bits), vals[i]);
    }
  }
  /* docs/formats.md §3.5: uint4 byte j holds element 2j in bits 0-3 */
  uint8_t two[2] = {0x21, 0x43};
  CHECK_EQ_INT(mil_bits_get(two, 0, 4), 1);
  CHECK_EQ_INT(mil_bits_get(two, 1, 4), 2);
  CHECK_EQ_INT(mil_bits_get(two, 3, 4), 4);
  /* uint6 element 1 straddles bytes 0 and 1: bits 6..11 */
  CHECK_EQ_INT(mil_bits_get(two, 1, 6), ((0x21 >> 6) | (0x43 << 2)) & 63);
}

static const char *write_sample(const char *name, uint64_t *offs) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", th_tmpdir(), name);
  mil_blob_writer w;
  mr_error err = {0};
  CHECK(mil_blob_writer_open(&w, path, &err) == MR_OK);
  uint16_t h[10] = {0x3c00, 0x4000, 0xbc00, 1, 0x7bff, 0, 0x8000, 0x3555, 0x4248, 0x7c00};
  float f[3] = {1.5f, -2.25f, 1e30f};
  uint8_t u3[8] = {1, 7, 0, 5, 3, 6, 2, 4}, packed3[3];
  mil_bits_pack(u3, 8, 3, packed3);
  int8_t i8[5] = {-128, -1, 0, 1, 127};
  CHECK(mil_blob_writer_add(&w, MIL_FP16, h, 10, &offs[0], &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_FP32, f, 3, &offs[1], &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_UINT3, packed3, 8, &offs[2], &err) == MR_OK);
  CHECK(mil_blob_writer_add(&w, MIL_INT8, i8, 5, &offs[3], &err) == MR_OK);
  CHECK(mil_blob_writer_close(&w, &err) == MR_OK);
  return path;
}

static void test_round_trip(void) {
  uint64_t offs[4];
  const char *path = write_sample("rt.bin", offs);
  CHECK_EQ_INT(offs[0], 64); /* first record right after the header */
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(offs[i] % 64, 0);
  mil_blob_file f;
  mr_error err = {0};
  CHECK(mil_blob_open(&f, path, &err) == MR_OK);
  CHECK_EQ_INT(f.count, 4);
  mil_blob b;
  CHECK(mil_blob_get(&f, offs[0], MIL_FP16, 10, &b, &err) == MR_OK);
  CHECK_EQ_INT(b.size, 20);
  CHECK_EQ_INT(b.data - f.map.data, offs[0] + 64);
  CHECK_EQ_INT(b.data[0] | b.data[1] << 8, 0x3c00);
  CHECK(mil_blob_get(&f, offs[1], MIL_FP32, 3, &b, &err) == MR_OK);
  float x;
  memcpy(&x, b.data + 4, 4);
  CHECK(x == -2.25f);
  CHECK(mil_blob_get(&f, offs[2], MIL_UINT3, 8, &b, &err) == MR_OK);
  CHECK_EQ_INT(b.size, 3);
  CHECK_EQ_INT(mil_bits_get(b.data, 1, 3), 7);
  CHECK_EQ_INT(mil_bits_get(b.data, 7, 3), 4);
  CHECK(mil_blob_get(&f, offs[3], MIL_INT8, 5, &b, &err) == MR_OK);
  CHECK_EQ_INT((int8_t)b.data[0], -128);
  mil_blob_close(&f);
}

/* Each malformed input gives its own message. */
static void test_errors(void) {
  uint64_t offs[4];
  const char *path = write_sample("err.bin", offs);
  mil_blob_file f;
  mr_error err = {0};
  char expect[1024];
  CHECK(mil_blob_open(&f, path, &err) == MR_OK);
  mil_blob b;
  CHECK_EQ_INT(mil_blob_get(&f, offs[0], MIL_FP32, 10, &b, &err), MR_EFORMAT);
  snprintf(expect, sizeof expect, "%s: blob at offset 64 has dtype code 1, the model declares fp32 (code 2)", path);
  CHECK_EQ_STR(err.msg, expect);
  CHECK_EQ_INT(mil_blob_get(&f, offs[0], MIL_FP16, 11, &b, &err), MR_EFORMAT);
  snprintf(expect, sizeof expect, "%s: blob at offset 64 holds 20 bytes, 11 elements of fp16 need 22", path);
  CHECK_EQ_STR(err.msg, expect);
  CHECK_EQ_INT(mil_blob_get(&f, 65, MIL_FP16, 10, &b, &err), MR_EFORMAT);
  snprintf(expect, sizeof expect, "%s: no blob record at offset 65 (bad sentinel 0x0000deadbeef)", path);
  CHECK(strstr(err.msg, "no blob record at offset 65 (bad sentinel") != NULL);
  CHECK_EQ_INT(mil_blob_get(&f, 1u << 30, MIL_FP16, 10, &b, &err), MR_EFORMAT);
  snprintf(expect, sizeof expect, "%s: blob offset 1073741824 is outside the file (%zu bytes)", path, f.map.size);
  CHECK_EQ_STR(err.msg, expect);
  CHECK_EQ_INT(mil_blob_get(&f, f.map.size - 10, MIL_FP16, 10, &b, &err), MR_EFORMAT);
  CHECK(strstr(err.msg, "is outside the file") != NULL);
  CHECK_EQ_INT(mil_blob_get(&f, offs[0], MIL_STRING, 1, &b, &err), MR_ENOTSUP);
  mil_blob_close(&f);

  /* Corrupt copies: a payload offset pointing past the end, a bad version, truncation. */
  char *data;
  size_t size;
  CHECK(util_read_file(path, &data, &size, &err) == MR_OK);
  char bad[512];
  snprintf(bad, sizeof bad, "%s/bad.bin", th_tmpdir());
  unsigned char *u = (unsigned char *)data;
  u[offs[1] + 16] = 0xff; /* payload offset of blob 2 */
  CHECK(util_write_file_atomic(bad, data, size, &err) == MR_OK);
  CHECK(mil_blob_open(&f, bad, &err) == MR_OK);
  CHECK_EQ_INT(mil_blob_get(&f, offs[1], MIL_FP32, 3, &b, &err), MR_EFORMAT);
  CHECK(strstr(err.msg, "payload [") && strstr(err.msg, "is outside the file"));
  mil_blob_close(&f);
  u[4] = 1; /* version 1 */
  CHECK(util_write_file_atomic(bad, data, size, &err) == MR_OK);
  CHECK_EQ_INT(mil_blob_open(&f, bad, &err), MR_EFORMAT);
  snprintf(expect, sizeof expect, "%s: unsupported weight file version 1 (expected 2)", bad);
  CHECK_EQ_STR(err.msg, expect);
  CHECK(util_write_file_atomic(bad, data, 40, &err) == MR_OK);
  CHECK_EQ_INT(mil_blob_open(&f, bad, &err), MR_EFORMAT);
  snprintf(expect, sizeof expect, "%s: not a weight file: 40 bytes, the header alone needs 64", bad);
  CHECK_EQ_STR(err.msg, expect);
  mr_free(data);
  CHECK_EQ_INT(mil_blob_open(&f, "/nonexistent/weight.bin", &err), MR_ENOTFOUND);
  CHECK_EQ_STR(err.msg, "/nonexistent/weight.bin: No such file or directory");
}

/* Walk every record of the real Silero weight files as GetAllOffsets does: each record is valid and
 * the walk ends exactly at the end of the file. */
static void test_real_files(void) {
  const char *names[] = {"silero-vad-unified-v6.0.0", "unified_palette_2bit", "unified_palette_4bit",
                         "unified_palette_6bit", "unified_palette_8bit", "unified_int8", "unified_mixed"};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    char rel[256];
    snprintf(rel, sizeof rel, "silero-vad/%s.mlmodelc/weights/weight.bin", names[k]);
    mil_blob_file f;
    mr_error err = {0};
    if (mil_blob_open(&f, th_fixture(rel), &err) != MR_OK) {
      CHECK_MSG(0, "%s", err.msg);
      continue;
    }
    uint64_t off = 64;
    uint32_t n = 0;
    while (off + 64 <= f.map.size) {
      const uint8_t *m = f.map.data + off;
      uint32_t sentinel = m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24;
      CHECK_EQ_INT(sentinel, 0xDEADBEEFu);
      uint64_t size = 0, data = 0;
      for (int i = 7; i >= 0; i--) {
        size = size << 8 | m[8 + i];
        data = data << 8 | m[16 + i];
      }
      CHECK(data + size <= f.map.size);
      n++;
      off = (data + size + 63) / 64 * 64;
    }
    CHECK_EQ_INT(n, f.count);
    mil_blob_close(&f);
  }
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"bits_pack_and_get", test_bits_pack_and_get},
    {"round_trip", test_round_trip},
    {"errors", test_errors},
    {"real_files", test_real_files},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
