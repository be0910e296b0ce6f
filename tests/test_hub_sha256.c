/* test_hub_sha256.c — SHA-256 against the FIPS 180-2 / NIST example vectors, and streaming in
 * pieces of every size against hashing in one call. */
#include <stdlib.h>

#include "harness.h"
#include "hub/sha256.h"

static void hash(const void *data, size_t n, char hex[65]) {
  hub_sha256 s;
  hub_sha256_init(&s);
  hub_sha256_update(&s, data, n);
  hub_sha256_hex(&s, hex);
}

static void test_vectors(void) {
  static const struct {
    const char *in, *out;
  } v[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
     "mnopqrstnopqrstu", "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
  };
  char hex[65];
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
    hash(v[i].in, strlen(v[i].in), hex);
    CHECK_EQ_STR(hex, v[i].out);
  }
}

static void test_million_a(void) {
  size_t n = 1000000;
  char *a = malloc(n);
  memset(a, 'a', n);
  char hex[65];
  hash(a, n, hex);
  CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(a);
}

/* Lengths around the padding boundaries (55, 56, 63, 64, ...) fed in pieces of every size give
 * the one-call digest. */
static void test_streaming(void) {
  unsigned char data[300];
  for (int i = 0; i < 300; i++) data[i] = (unsigned char)(i * 7 + 3);
  for (size_t len = 0; len <= 200; len++) {
    char whole[65];
    hash(data, len, whole);
    for (size_t piece = 1; piece <= 70; piece += 3) {
      hub_sha256 s;
      hub_sha256_init(&s);
      for (size_t off = 0; off < len; off += piece) hub_sha256_update(&s, data + off, len - off < piece ? len - off : piece);
      char hex[65];
      hub_sha256_hex(&s, hex);
      if (strcmp(hex, whole) != 0) {
        CHECK_EQ_STR(hex, whole);
        return;
      }
    }
  }
}

static void test_file(void) {
  char path[512], hex[65];
  snprintf(path, sizeof path, "%s/abc.txt", th_tmpdir());
  FILE *f = fopen(path, "wb");
  fputs("abc", f);
  fclose(f);
  mr_error e = {0};
  CHECK_EQ_INT(hub_sha256_file(path, hex, &e), MR_OK);
  CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  snprintf(path, sizeof path, "%s/absent", th_tmpdir());
  CHECK_EQ_INT(hub_sha256_file(path, hex, &e), MR_EIO);
  char expect[600];
  snprintf(expect, sizeof expect, "%s: No such file or directory", path);
  CHECK_EQ_STR(e.msg, expect);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"vectors", test_vectors},
    {"million_a", test_million_a},
    {"streaming", test_streaming},
    {"file", test_file},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
