/* test_hub_unzip.c — extracting *.mlmodelc.zip: both layouts, links that stay inside, and every
 * way out of the folder refused with a message naming the archive and the entry, leaving nothing. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "harness.h"
#include "hub/unzip.h"

typedef struct entry {
  const char *name;
  const char *data; /* NULL: a folder */
  int link;         /* 1: a symbolic link whose target is `data` */
} entry;

static const char *make_zip(const char *file, const entry *es) {
  static char path[600];
  snprintf(path, sizeof path, "%s/%s", th_tmpdir(), file);
  int e = 0;
  zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &e);
  for (; z && es->name; es++) {
    if (!es->data) {
      zip_dir_add(z, es->name, 0);
      continue;
    }
    zip_source_t *s = zip_source_buffer(z, es->data, strlen(es->data), 0);
    zip_int64_t i = zip_file_add(z, es->name, s, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
    if (es->link) zip_file_set_external_attributes(z, (zip_uint64_t)i, 0, ZIP_OPSYS_UNIX, (S_IFLNK | 0777u) << 16);
  }
  if (z) zip_close(z);
  return path;
}

static const char *dest(const char *name) {
  static char path[600];
  snprintf(path, sizeof path, "%s/out/%s", th_tmpdir(), name);
  char parent[600];
  snprintf(parent, sizeof parent, "%s/out", th_tmpdir());
  mkdir(parent, 0777);
  return path;
}

static int read_is(const char *path, const char *want) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char buf[256] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n == strlen(want) && !memcmp(buf, want, n);
}

static void test_prefixed_layout(void) {
  const entry es[] = {{"m.mlmodelc/", NULL, 0}, {"m.mlmodelc/model.mil", "program(1.0)\n", 0},
                      {"m.mlmodelc/weights/weight.bin", "\x01\x02\x03", 0},
                      {"m.mlmodelc/weights/alias.bin", "weight.bin", 1}, {NULL, NULL, 0}};
  const char *zip = make_zip("m.mlmodelc.zip", es), *d = dest("m.mlmodelc");
  mr_error e = {0};
  CHECK_EQ_INT(hub_unzip(zip, d, &e), MR_OK);
  CHECK_EQ_STR(e.msg, "");
  char p[800], target[64];
  snprintf(p, sizeof p, "%s/model.mil", d);
  CHECK(read_is(p, "program(1.0)\n"));
  snprintf(p, sizeof p, "%s/weights/weight.bin", d);
  CHECK(read_is(p, "\x01\x02\x03"));
  snprintf(p, sizeof p, "%s/weights/alias.bin", d);
  ssize_t n = readlink(p, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  CHECK_EQ_STR(target, "weight.bin");
  snprintf(p, sizeof p, "%s.unzip-tmp", d);
  CHECK(access(p, F_OK) != 0);
}

static void test_flat_layout(void) {
  const entry es[] = {{"model.mil", "flat\n", 0}, {"weights/weight.bin", "w", 0}, {NULL, NULL, 0}};
  const char *zip = make_zip("flat.zip", es), *d = dest("flat.mlmodelc");
  mr_error e = {0};
  CHECK_EQ_INT(hub_unzip(zip, d, &e), MR_OK);
  char p[800];
  snprintf(p, sizeof p, "%s/model.mil", d);
  CHECK(read_is(p, "flat\n"));
  snprintf(p, sizeof p, "%s/weights/weight.bin", d);
  CHECK(read_is(p, "w"));
}

static void test_refused(void) {
  static const struct {
    const char *file;
    entry es[3];
    const char *msg; /* %s: the archive's path */
  } cases[] = {
    {"dotdot.zip", {{"ok.txt", "x", 0}, {"../evil.txt", "x", 0}, {NULL, NULL, 0}},
     "%s: entry '../evil.txt' has an absolute path or a '..' component: refusing to unzip"},
    {"inner.zip", {{"a/../../evil.txt", "x", 0}, {NULL, NULL, 0}},
     "%s: entry 'a/../../evil.txt' has an absolute path or a '..' component: refusing to unzip"},
    {"abs.zip", {{"/tmp/evil.txt", "x", 0}, {NULL, NULL, 0}},
     "%s: entry '/tmp/evil.txt' has an absolute path or a '..' component: refusing to unzip"},
    {"linkout.zip", {{"w/escape", "../../etc", 1}, {NULL, NULL, 0}},
     "%s: entry 'w/escape' is a link to '../../etc' outside the folder: refusing to unzip"},
    {"linkabs.zip", {{"escape", "/etc/passwd", 1}, {NULL, NULL, 0}},
     "%s: entry 'escape' is a link to '/etc/passwd' outside the folder: refusing to unzip"},
    {"through.zip", {{"sub", ".", 1}, {"sub/x.txt", "x", 0}, {NULL, NULL, 0}},
     "%s: entry 'sub/x.txt' would be written through a link: refusing to unzip"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *zip = make_zip(cases[i].file, cases[i].es);
    char zcopy[600], expect[1200], d[600], tmp[700];
    snprintf(zcopy, sizeof zcopy, "%s", zip);
    snprintf(d, sizeof d, "%s", dest(cases[i].file));
    mr_error e = {0};
    CHECK_EQ_INT(hub_unzip(zcopy, d, &e), MR_EFORMAT);
    snprintf(expect, sizeof expect, cases[i].msg, zcopy);
    CHECK_EQ_STR(e.msg, expect);
    snprintf(tmp, sizeof tmp, "%s.unzip-tmp", d);
    CHECK_MSG(access(d, F_OK) != 0 && access(tmp, F_OK) != 0, "%s left files", cases[i].file);
  }
  char evil[600];
  snprintf(evil, sizeof evil, "%s/evil.txt", th_tmpdir());
  CHECK(access(evil, F_OK) != 0);
}

static void test_not_a_zip(void) {
  char path[600], expect[800];
  snprintf(path, sizeof path, "%s/junk.zip", th_tmpdir());
  FILE *f = fopen(path, "w");
  fputs("this is not a zip archive", f);
  fclose(f);
  mr_error e = {0};
  CHECK_EQ_INT(hub_unzip(path, dest("junk"), &e), MR_EFORMAT);
  snprintf(expect, sizeof expect, "%s: not a readable zip archive: Not a zip archive", path);
  CHECK_EQ_STR(e.msg, expect);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"prefixed_layout", test_prefixed_layout},
    {"flat_layout", test_flat_layout},
    {"refused", test_refused},
    {"not_a_zip", test_not_a_zip},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
