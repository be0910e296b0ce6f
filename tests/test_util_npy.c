/* test_util_npy.c — .npy round trips and malformed files. The byte layout is checked against the
 * format's definition (magic, version 1.0, little-endian header length, 64-byte aligned data). */
#include <stdint.h>

#include "harness.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/npy.h"

static void test_round_trip(void) {
  float f[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
  int32_t i[3] = {-1, 0, 2147483647};
  uint16_t h[2] = {0x3c00, 0xc000};
  uint8_t b[4] = {1, 0, 1, 1};
  mr_tensor ts[4] = {{MR_FLOAT32, 2, {2, 3}, f}, {MR_INT32, 1, {3}, i}, {MR_FLOAT16, 3, {1, 1, 2}, h}, {MR_BOOL, 0, {0}, b}};
  for (int k = 0; k < 4; k++) {
    char path[600];
    snprintf(path, sizeof path, "%s/t%d.npy", th_tmpdir(), k);
    mr_error err = {0};
    CHECK(util_npy_write(path, &ts[k], &err) == MR_OK);
    char *raw;
    size_t size;
    CHECK(util_read_file(path, &raw, &size, &err) == MR_OK);
    CHECK(!memcmp(raw, "\x93NUMPY\x01\x00", 8));
    size_t hlen = (uint8_t)raw[8] | (size_t)(uint8_t)raw[9] << 8;
    CHECK_EQ_INT((10 + hlen) % 64, 0);
    CHECK(raw[10 + hlen - 1] == '\n');
    mr_free(raw);
    mr_tensor r;
    CHECK(util_npy_read(path, &r, &err) == MR_OK);
    CHECK_EQ_INT(r.dtype, ts[k].dtype);
    CHECK_EQ_INT(r.rank, ts[k].rank);
    CHECK(!memcmp(r.data, ts[k].data, (size_t)mr_tensor_count(&r) * mr_dtype_size(r.dtype)));
    mr_free(r.data);
  }
}

static void test_malformed(void) {
  static const struct {
    const char *bytes;
    size_t n;
    const char *msg;
  } cases[] = {
      {"hello", 5, "not a .npy file"},
      {"\x93NUMPY\x01\x00\x40\x00{'descr'", 18, "truncated .npy header"},
      {"\x93NUMPY\x01\x00\x10\x00{'shape': (2,)}", 26, "lacks descr, fortran_order or shape"},
      {"\x93NUMPY\x01\x00\x3a\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n\x00\x00", 70, "data is shorter than its shape needs"},
      {"\x93NUMPY\x01\x00\x39\x00{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", 67, "unsupported dtype '<c8'"},
      {"\x93NUMPY\x01\x00\x38\x00{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n", 66, "Fortran-order arrays are not supported"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char path[600];
    snprintf(path, sizeof path, "%s/bad%zu.npy", th_tmpdir(), k);
    mr_error err = {0};
    CHECK(util_write_file_atomic(path, cases[k].bytes, cases[k].n, &err) == MR_OK);
    mr_tensor t;
    CHECK(util_npy_read(path, &t, &err) != MR_OK);
    CHECK_MSG(strstr(err.msg, cases[k].msg) != NULL, "case %zu: %s", k, err.msg);
    CHECK(t.data == NULL);
  }
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"round_trip", test_round_trip}, {"malformed", test_malformed}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
