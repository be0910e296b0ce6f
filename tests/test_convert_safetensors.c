/* test_convert_safetensors.c — the safetensors reader: values of each dtype against the numbers
 * written, shards through index.json, and every malformed-file error with its whole message. */
#include <stdio.h>
#include <string.h>

#include "convert/safetensors.h"
#include "harness.h"
#include "util/file.h"

static char dir[512];

/* Write dir/name: 8-byte header length, header, then `data`. */
static void write_st(const char *name, const char *header, const void *data, size_t n, size_t truncate) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  unsigned long long h = strlen(header);
  unsigned char len[8];
  for (int i = 0; i < 8; i++) len[i] = (unsigned char)(h >> (8 * i));
  fwrite(len, 1, 8, f);
  fwrite(header, 1, h, f);
  fwrite(data, 1, n - truncate, f);
  fclose(f);
}

static void fresh(const char *sub) {
  snprintf(dir, sizeof dir, "%s/%s", th_tmpdir(), sub);
  mr_error err = {0};
  util_mkdirs(dir, &err);
}

static void test_dtypes(void) {
  fresh("dtypes");
  /* f32 [2] = {1.5, -2}; f16 [2] = {0.5, 3}; bf16 [1,2] = {1, -0.25} */
  unsigned char data[] = {0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x38, 0x00, 0x42,
                          0x80, 0x3f, 0x80, 0xbe};
  write_st("model.safetensors",
           "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
           "\"c\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[12,16]}}",
           data, sizeof data, 0);
  conv_st st;
  mr_error err = {0};
  CHECK_EQ_INT(conv_st_open(&st, dir, &err), MR_OK);
  CHECK_EQ_INT(st.n, 3);
  float v[2];
  const conv_st_tensor *t;
  CHECK_EQ_INT(conv_st_get(&st, "a", 1, (int64_t[]){2}, &t, &err), MR_OK);
  conv_st_read_f32(t, 0, 2, v);
  CHECK(v[0] == 1.5f && v[1] == -2.0f);
  CHECK_EQ_INT(conv_st_get(&st, "b", 1, (int64_t[]){2}, &t, &err), MR_OK);
  conv_st_read_f32(t, 0, 2, v);
  CHECK(v[0] == 0.5f && v[1] == 3.0f);
  CHECK_EQ_INT(conv_st_get(&st, "c", 2, (int64_t[]){1, 2}, &t, &err), MR_OK);
  conv_st_read_f32(t, 1, 1, v);
  CHECK(v[0] == -0.25f);
  char want[700];
  CHECK_EQ_INT(conv_st_get(&st, "c", 2, (int64_t[]){2, 1}, &t, &err), MR_ESHAPE);
  snprintf(want, sizeof want, "%s/model.safetensors: tensor 'c' has shape [1, 2], expected [2, 1] from config.json", dir);
  CHECK_EQ_STR(err.msg, want);
  CHECK_EQ_INT(conv_st_get(&st, "zz", 1, (int64_t[]){1}, &t, &err), MR_ENOTFOUND);
  snprintf(want, sizeof want, "%s/model.safetensors: missing tensor 'zz'", dir);
  CHECK_EQ_STR(err.msg, want);
  conv_st_close(&st);
}

static void test_shards(void) {
  fresh("shards");
  unsigned char d1[] = {0x80, 0x3f}, d2[] = {0x00, 0x40};
  write_st("m-1.safetensors", "{\"x\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", d1, 2, 0);
  write_st("m-2.safetensors", "{\"y\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", d2, 2, 0);
  char path[600];
  snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
  const char *idx = "{\"metadata\":{},\"weight_map\":{\"x\":\"m-1.safetensors\",\"y\":\"m-2.safetensors\"}}";
  mr_error err = {0};
  CHECK_EQ_INT(util_write_file_atomic(path, idx, strlen(idx), &err), MR_OK);
  conv_st st;
  CHECK_EQ_INT(conv_st_open(&st, dir, &err), MR_OK);
  CHECK_EQ_INT(st.n_files, 2);
  float v;
  conv_st_read_f32(conv_st_find(&st, "y"), 0, 1, &v);
  CHECK(v == 2.0f);
  conv_st_read_f32(conv_st_find(&st, "x"), 0, 1, &v);
  CHECK(v == 1.0f);
  conv_st_close(&st);
}

/* One malformed file: the open fails with `code` and exactly `msg` (after "DIR/model.safetensors: "). */
static void bad(const char *header, size_t n, size_t truncate, int code, const char *msg) {
  static int k;
  char sub[32];
  snprintf(sub, sizeof sub, "bad%d", k++);
  fresh(sub);
  unsigned char data[64] = {0};
  write_st("model.safetensors", header, data, n, truncate);
  conv_st st;
  mr_error err = {0};
  CHECK_EQ_INT(conv_st_open(&st, dir, &err), code);
  char want[800];
  snprintf(want, sizeof want, "%s/model.safetensors: %s", dir, msg);
  CHECK_EQ_STR(err.msg, want);
}

static void test_errors(void) {
  bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, 4, MR_EFORMAT,
      "tensor 'a' ends at byte 16 of the data but the file holds 12 (truncated?)");
  bad("{\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, 0, MR_ENOTSUP,
      "tensor 'a' has dtype I8; only BF16, F16 and F32 checkpoints are supported");
  bad("{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,6]}}", 6, 0, MR_EFORMAT,
      "tensor 'a': 6 data bytes for 4 elements of F16");
  bad("{\"a\":{\"dtype\":\"F16\",\"shape\":[2]}}", 4, 0, MR_EFORMAT,
      "tensor 'a': header entry needs dtype, shape and data_offsets");
  bad("[1, 2]", 0, 0, MR_EFORMAT, "the header is not a JSON object");
  /* a header length beyond the end of the file */
  fresh("hdr");
  char path[600];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  unsigned char raw[12] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
  mr_error err = {0};
  CHECK_EQ_INT(util_write_file_atomic(path, raw, sizeof raw, &err), MR_OK);
  conv_st st;
  CHECK_EQ_INT(conv_st_open(&st, dir, &err), MR_EFORMAT);
  char want[800];
  snprintf(want, sizeof want, "%s: header length 65535 exceeds the file size 12 (truncated?)", path);
  CHECK_EQ_STR(err.msg, want);
  fresh("none");
  CHECK_EQ_INT(conv_st_open(&st, dir, &err), MR_ENOTFOUND);
  snprintf(want, sizeof want, "%s: no model.safetensors or model.safetensors.index.json", dir);
  CHECK_EQ_STR(err.msg, want);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"dtypes", test_dtypes}, {"shards", test_shards}, {"errors", test_errors}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
