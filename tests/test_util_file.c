/* test_util_file.c — util_remove_tree: removes a whole tree (deeper than its 16 open folders),
 * removes links without following them, accepts a missing path, and names the path it cannot
 * remove. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util/file.h"

static const char *tmp_path(const char *rel) {
  static char buf[4][1400]; /* th_tmpdir (< 256) + "/" + rel (< 1024) */
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", th_tmpdir(), rel);
  return p;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  CHECK_MSG(f != NULL, "%s", path);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

static int is_there(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* A tree holding files, an empty folder, a folder 40 levels deep, a link to a folder outside
 * (whose contents must survive), a link to a file outside and a dangling link. */
static void test_removes_tree_not_link_targets(void) {
  mr_error e = {0};
  CHECK_EQ_INT(util_mkdirs(tmp_path("outside/dir"), &e), MR_OK);
  write_text(tmp_path("outside/dir/keep.txt"), "keep");
  write_text(tmp_path("outside/keep.txt"), "keep");
  CHECK_EQ_INT(util_mkdirs(tmp_path("tree/a/empty"), &e), MR_OK);
  write_text(tmp_path("tree/top.txt"), "x");
  write_text(tmp_path("tree/a/b.txt"), "y");
  char deep[1024];
  int n = snprintf(deep, sizeof deep, "tree/deep");
  for (int i = 0; i < 40; i++) n += snprintf(deep + n, sizeof deep - (size_t)n, "/%d", i);
  CHECK_EQ_INT(util_mkdirs(tmp_path(deep), &e), MR_OK);
  snprintf(deep + n, sizeof deep - (size_t)n, "/leaf.txt");
  write_text(tmp_path(deep), "z");
  CHECK(symlink(tmp_path("outside/dir"), tmp_path("tree/a/to_dir")) == 0);
  CHECK(symlink(tmp_path("outside/keep.txt"), tmp_path("tree/to_file")) == 0);
  CHECK(symlink("no/such/target", tmp_path("tree/dangling")) == 0);

  CHECK_EQ_INT(util_remove_tree(tmp_path("tree"), &e), MR_OK);
  CHECK(!is_there(tmp_path("tree")));
  CHECK(is_there(tmp_path("outside/dir/keep.txt")));
  CHECK(is_there(tmp_path("outside/keep.txt")));
}

static void test_link_as_root_is_removed_not_followed(void) {
  mr_error e = {0};
  CHECK_EQ_INT(util_mkdirs(tmp_path("target/sub"), &e), MR_OK);
  write_text(tmp_path("target/sub/keep.txt"), "keep");
  CHECK(symlink(tmp_path("target"), tmp_path("link")) == 0);
  CHECK_EQ_INT(util_remove_tree(tmp_path("link"), &e), MR_OK);
  CHECK(!is_there(tmp_path("link")));
  CHECK(is_there(tmp_path("target/sub/keep.txt")));
}

static void test_file_and_missing_path(void) {
  mr_error e = {0};
  write_text(tmp_path("plain.txt"), "x");
  CHECK_EQ_INT(util_remove_tree(tmp_path("plain.txt"), &e), MR_OK);
  CHECK(!is_there(tmp_path("plain.txt")));
  CHECK_EQ_INT(util_remove_tree(tmp_path("never-made"), &e), MR_OK);
}

static void test_error_names_the_path(void) {
  mr_error e = {0};
  write_text(tmp_path("file"), "x");
  const char *under_file = tmp_path("file/sub");
  CHECK_EQ_INT(util_remove_tree(under_file, &e), MR_EIO);
  char expect[1600];
  snprintf(expect, sizeof expect, "%s: cannot remove: %s", under_file, strerror(ENOTDIR));
  CHECK_EQ_STR(e.msg, expect);
  /* A folder whose entries cannot be unlinked (permissions do not bind root, so only as a user). */
  if (geteuid() == 0) return;
  CHECK_EQ_INT(util_mkdirs(tmp_path("locked"), &e), MR_OK);
  write_text(tmp_path("locked/f"), "x");
  chmod(tmp_path("locked"), 0500);
  CHECK_EQ_INT(util_remove_tree(tmp_path("locked"), &e), MR_EIO);
  snprintf(expect, sizeof expect, "%s: cannot remove: %s", tmp_path("locked"), strerror(EACCES));
  CHECK_EQ_STR(e.msg, expect);
  chmod(tmp_path("locked"), 0700);
  CHECK_EQ_INT(util_remove_tree(tmp_path("locked"), &e), MR_OK);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"removes_tree_not_link_targets", test_removes_tree_not_link_targets},
    {"link_as_root_is_removed_not_followed", test_link_as_root_is_removed_not_followed},
    {"file_and_missing_path", test_file_and_missing_path},
    {"error_names_the_path", test_error_names_the_path},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
