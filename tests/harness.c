/* harness.c — see harness.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "harness.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int th_failures;
static char tmp_dir[256]; /* made by the first th_tmpdir(), removed by th_run when every case passed */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path) ? -1 : 0;
}

/* Converted models take hundreds of MB: a passing run leaves nothing behind in /tmp; a failing one
 * keeps its files for a look and says where. */
static void clean_tmpdir(int failed) {
  if (!tmp_dir[0]) return;
  if (failed) fprintf(stderr, "temporary files kept in %s\n", tmp_dir);
  else if (nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS)) perror(tmp_dir);
}

int th_run(const th_case *cases, int argc, char **argv) {
  int passed = 0, failed = 0;
  for (const th_case *c = cases; c->name; c++) {
    if (argc > 1 && !strstr(c->name, argv[1])) continue;
    th_failures = 0;
    c->fn();
    if (th_failures) {
      failed++;
      fprintf(stderr, "FAIL %s\n", c->name);
    } else {
      passed++;
      fprintf(stderr, "ok   %s\n", c->name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  fflush(stdout); /* keep the summary before any message below when both go to one pipe */
  /* A filter with a typo would otherwise run nothing and report success. */
  if (passed + failed == 0) {
    if (argc <= 1) {
      fprintf(stderr, "no cases to run\n");
      return 2;
    }
    fprintf(stderr, "no case name contains '%s'; the cases are:", argv[1]);
    for (const th_case *c = cases; c->name; c++) fprintf(stderr, " %s", c->name);
    fprintf(stderr, "\n");
    return 2;
  }
  clean_tmpdir(failed);
  return failed ? 1 : 0;
}

const char *th_fixture(const char *rel) {
  static char buf[4096];
  const char *root = getenv("MR_FIXTURES");
  snprintf(buf, sizeof buf, "%s/%s", root ? root : "tests/fixtures", rel);
  return buf;
}

const char *th_tmpdir(void) {
  if (!tmp_dir[0]) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/milrun-test-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
      perror("mkdtemp");
      exit(1);
    }
  }
  return tmp_dir;
}

const char *th_bundle_from_fixture(const char *name, const char *rel) {
  static char dir[512];
  char path[700];
  snprintf(dir, sizeof dir, "%s/%s", th_tmpdir(), name);
  mkdir(dir, 0777);
  snprintf(path, sizeof path, "%s/model.mil", dir);
  FILE *in = fopen(th_fixture(rel), "rb"), *out = fopen(path, "wb");
  int ok = in && out;
  char buf[8192];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
  if (in) fclose(in);
  if (out && fclose(out)) ok = 0;
  CHECK_MSG(ok, "cannot copy %s to %s", rel, path);
  return ok ? dir : NULL;
}

int th_python_word(const char *script, const char *arg, char *out, size_t cap) {
  char cmd[4096], fmt[32];
  snprintf(cmd, sizeof cmd, "python3 -c \"%s\" '%s'", script, arg);
  snprintf(fmt, sizeof fmt, "%%%zus", cap - 1);
  FILE *p = popen(cmd, "r");
  int ok = p && fscanf(p, fmt, out) == 1;
  char rest[64];
  while (p && fgets(rest, sizeof rest, p)) continue; /* read to the end: no broken pipe for Python */
  if (p) ok = pclose(p) == 0 && ok;
  return ok;
}

int th_milrun(const char *args, char *out, size_t cap) {
  size_t len = strlen(args) + 4096;
  char *cmd = malloc(len);
  if (!cmd) return -1;
  snprintf(cmd, len, "\"%s\" %s 2>&1", getenv("MR_MILRUN"), args);
  FILE *p = popen(cmd, "r");
  free(cmd);
  if (!p) return -1;
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = 0;
  char sink[4096];
  while (fread(sink, 1, sizeof sink, p) > 0) continue;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
