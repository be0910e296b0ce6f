/* test_hub_sha256.c — SHA-256 of memory against the FIPS 180-2 / NIST example vectors, and of files
 * whose sizes fall around the 64 KiB read buffer against Python's hashlib. */
#include <stdlib.h>

#include "harness.h"
#include "hub/sha256.h"

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
  mr_error e = {0};
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
    CHECK_EQ_INT(hub_sha256_mem(v[i].in, strlen(v[i].in), hex, &e), MR_OK);
    CHECK_EQ_STR(hex, v[i].out);
  }
}

static void test_million_a(void) {
  size_t n = 1000000;
  char *a = malloc(n);
  memset(a, 'a', n);
  char hex[65];
  mr_error e = {0};
  CHECK_EQ_INT(hub_sha256_mem(a, n, hex, &e), MR_OK);
  CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(a);
}

/* sha256 of a file from Python's hashlib, the independent reference. */
static int hashlib_sha256(const char *path, char out[65]) {
  return th_python_word("import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", path,
                        out, 65);
}

/* Sizes around the file reader's 64 KiB buffer: empty, one byte, one block short, exact, one over,
 * several blocks and a tail. */
static void test_files_against_hashlib(void) {
  static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * 65536 + 17};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    char path[512], hex[65], ref[65];
    snprintf(path, sizeof path, "%s/data-%zu.bin", th_tmpdir(), sizes[k]);
    FILE *f = fopen(path, "wb");
    for (size_t i = 0; i < sizes[k]; i++) fputc((int)((i * 2654435761u) >> 13 & 0xff), f);
    fclose(f);
    mr_error e = {0};
    CHECK_EQ_INT(hub_sha256_file(path, hex, &e), MR_OK);
    CHECK_MSG(hashlib_sha256(path, ref), "python3 hashlib failed on %s", path);
    CHECK_EQ_STR(hex, ref);
  }
}

static void test_file_errors(void) {
  char path[512], hex[65], expect[600];
  mr_error e = {0};
  snprintf(path, sizeof path, "%s/absent", th_tmpdir());
  CHECK_EQ_INT(hub_sha256_file(path, hex, &e), MR_EIO);
  snprintf(expect, sizeof expect, "%s: No such file or directory", path);
  CHECK_EQ_STR(e.msg, expect);
  CHECK_EQ_INT(hub_sha256_file(th_tmpdir(), hex, &e), MR_EIO); /* a folder opens but cannot be read */
  snprintf(expect, sizeof expect, "%s: cannot read: Is a directory", th_tmpdir());
  CHECK_EQ_STR(e.msg, expect);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"vectors", test_vectors},
    {"million_a", test_million_a},
    {"files_against_hashlib", test_files_against_hashlib},
    {"file_errors", test_file_errors},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
