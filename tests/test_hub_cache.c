/* test_hub_cache.c — settings from options and environment, repository specs, the cache's names,
 * refs, links and .no_exist marks, URL escaping, --include globs and the progress line. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hub/cache.h"
#include "hub/progress.h"
#include "hub/pull.h"
#include "util/alloc.h"

static void clear_env(void) {
  const char *vars[] = {"HF_HOME", "HF_HUB_CACHE", "HF_ENDPOINT", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE",
                        "XDG_CACHE_HOME", NULL};
  for (const char **v = vars; *v; v++) unsetenv(*v);
}

static void test_config(void) {
  clear_env();
  char home[400], want[800];
  snprintf(home, sizeof home, "%s/home", th_tmpdir());
  mkdir(home, 0777);
  setenv("HOME", home, 1);
  hub_config c;
  mr_error e = {0};
  CHECK_EQ_INT(hub_config_load(&c, NULL, &e), MR_OK);
  snprintf(want, sizeof want, "%s/.cache/huggingface/hub", home);
  CHECK_EQ_STR(c.cache, want);
  CHECK_EQ_STR(c.endpoint, "https://huggingface.co");
  CHECK(c.token == NULL);
  CHECK_EQ_INT(c.offline, 0);
  hub_config_free(&c);

  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  hub_config_load(&c, NULL, &e);
  CHECK_EQ_STR(c.cache, "/x/cache/huggingface/hub");
  hub_config_free(&c);

  /* HF_HOME holds the token file; HF_HUB_CACHE beats HF_HOME/hub; "~" is expanded. */
  char hf[500], tok[600];
  snprintf(hf, sizeof hf, "%s/hf", home);
  mkdir(hf, 0777);
  snprintf(tok, sizeof tok, "%s/token", hf);
  FILE *f = fopen(tok, "w");
  fputs("\n hf_abc \nsecond line\n", f);
  fclose(f);
  setenv("HF_HOME", "~/hf", 1);
  setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  setenv("HF_HUB_OFFLINE", "yes", 1);
  hub_config_load(&c, NULL, &e);
  snprintf(want, sizeof want, "%s/hub", hf);
  CHECK_EQ_STR(c.cache, want);
  CHECK_EQ_STR(c.endpoint, "http://mirror.example");
  CHECK_EQ_STR(c.token, "hf_abc");
  CHECK_EQ_INT(c.offline, 1);
  hub_config_free(&c);

  setenv("HF_HUB_CACHE", "/y/hub", 1);
  setenv("HF_TOKEN", "hf_env", 1);
  setenv("HF_HUB_OFFLINE", "0", 1);
  hub_config_load(&c, NULL, &e);
  CHECK_EQ_STR(c.cache, "/y/hub");
  CHECK_EQ_STR(c.token, "hf_env");
  CHECK_EQ_INT(c.offline, 0);
  hub_config_free(&c);

  /* Options beat the environment; an empty token means none. */
  mr_hub_options o = {.cache_dir = "/z", .endpoint = "http://h:1", .token = "", .offline = 1};
  hub_config_load(&c, &o, &e);
  CHECK_EQ_STR(c.cache, "/z");
  CHECK_EQ_STR(c.endpoint, "http://h:1");
  CHECK(c.token == NULL);
  CHECK_EQ_INT(c.offline, 1);
  hub_config_free(&c);
  clear_env();
}

static void test_parse_spec(void) {
  static const struct {
    const char *spec, *revision, *repo, *rev, *msg;
  } cases[] = {
    {"anemll/anemll-Qwen-Qwen3-0.6B-LUT888-ctx512_0.3.4", NULL, "anemll/anemll-Qwen-Qwen3-0.6B-LUT888-ctx512_0.3.4",
     "main", NULL},
    {"org/name@v1.0", NULL, "org/name", "v1.0", NULL},
    {"org/name@refs/pr/1", NULL, "org/name", "refs/pr/1", NULL},
    {"org/name@v1", "dev", "org/name", "dev", NULL},
    {"gpt2", NULL, "gpt2", "main", NULL},
    {"org/na..me", NULL, NULL, NULL, "'org/na..me' is not a Hugging Face repository id: expected "
     "ORG/NAME[@REVISION] (letters, digits, '-', '_', '.')"},
    {"a/b/c", NULL, NULL, NULL, "'a/b/c' is not a Hugging Face repository id: expected ORG/NAME[@REVISION] "
     "(letters, digits, '-', '_', '.')"},
    {"org/", NULL, NULL, NULL, "'org/' is not a Hugging Face repository id: expected ORG/NAME[@REVISION] "
     "(letters, digits, '-', '_', '.')"},
    {"org/name@../x", NULL, NULL, NULL, "'../x' is not a valid revision (branch, tag or commit)"},
    {"org/name@", NULL, NULL, NULL, "'' is not a valid revision (branch, tag or commit)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *repo, *rev;
    mr_error e = {0};
    int rc = hub_parse_spec(cases[i].spec, cases[i].revision, &repo, &rev, &e);
    if (cases[i].repo) {
      CHECK_EQ_INT(rc, MR_OK);
      CHECK_EQ_STR(repo, cases[i].repo);
      CHECK_EQ_STR(rev, cases[i].rev);
    } else {
      CHECK_EQ_INT(rc, MR_EINVAL);
      CHECK_EQ_STR(e.msg, cases[i].msg);
      CHECK(repo == NULL && rev == NULL);
    }
    mr_free(repo);
    mr_free(rev);
  }
}

static void test_safe_relpath(void) {
  static const struct {
    const char *path;
    int ok;
  } cases[] = {{"a", 1}, {"a/b.c/d", 1}, {".gitattributes", 1}, {"", 0}, {"/etc/passwd", 0}, {"..", 0},
               {"a/../b", 0}, {"a/./b", 0}, {"a//b", 0}, {"a/", 0}, {"a\\b", 0}, {"a\nb", 0}, {"a/..b", 1}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    CHECK_MSG(hub_safe_relpath(cases[i].path) == cases[i].ok, "'%s'", cases[i].path);
}

static void test_refs_links_no_exist(void) {
  char dir[600], path[900], target[256];
  snprintf(dir, sizeof dir, "%s/cache", th_tmpdir());
  char *rd = hub_cache_repo_dir(dir, "org/name");
  char want[700];
  snprintf(want, sizeof want, "%s/models--org--name", dir);
  CHECK_EQ_STR(rd, want);
  const char *commit = "0123456789abcdef0123456789abcdef01234567";
  mr_error e = {0};
  char *got = NULL;
  CHECK_EQ_INT(hub_cache_read_ref(rd, "main", &got, &e), MR_ENOTFOUND);
  snprintf(want, sizeof want, "%s/refs/main: no such ref in the cache", rd);
  CHECK_EQ_STR(e.msg, want);
  CHECK_EQ_INT(hub_cache_write_ref(rd, "refs/pr/1", commit, &e), MR_OK);
  CHECK_EQ_INT(hub_cache_read_ref(rd, "refs/pr/1", &got, &e), MR_OK);
  CHECK_EQ_STR(got, commit);
  mr_free(got);
  /* A ref that is not a commit hash. */
  hub_cache_write_ref(rd, "bad", "zzz", &e);
  CHECK_EQ_INT(hub_cache_read_ref(rd, "bad", &got, &e), MR_EFORMAT);
  snprintf(want, sizeof want, "%s/refs/bad: expected a 40-digit commit hash", rd);
  CHECK_EQ_STR(e.msg, want);
  /* Links climb one level per folder of the path. */
  CHECK_EQ_INT(hub_cache_link(rd, commit, "a/b/c.bin", "feedbeef", &e), MR_OK);
  snprintf(path, sizeof path, "%s/snapshots/%s/a/b/c.bin", rd, commit);
  ssize_t n = readlink(path, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  CHECK_EQ_STR(target, "../../../../blobs/feedbeef");
  CHECK_EQ_INT(hub_cache_link(rd, commit, "top.json", "cafe", &e), MR_OK);
  snprintf(path, sizeof path, "%s/snapshots/%s/top.json", rd, commit);
  n = readlink(path, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  CHECK_EQ_STR(target, "../../blobs/cafe");
  /* Relinking replaces; a commit with a snapshot resolves to itself. */
  CHECK_EQ_INT(hub_cache_link(rd, commit, "top.json", "beef", &e), MR_OK);
  n = readlink(path, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  CHECK_EQ_STR(target, "../../blobs/beef");
  CHECK_EQ_INT(hub_cache_read_ref(rd, commit, &got, &e), MR_OK);
  CHECK_EQ_STR(got, commit);
  mr_free(got);
  CHECK_EQ_INT(hub_cache_is_no_exist(rd, commit, "x/y.txt"), 0);
  CHECK_EQ_INT(hub_cache_mark_no_exist(rd, commit, "x/y.txt", &e), MR_OK);
  CHECK_EQ_INT(hub_cache_is_no_exist(rd, commit, "x/y.txt"), 1);
  snprintf(path, sizeof path, "%s/.no_exist/%s/x/y.txt", rd, commit);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size == 0);
  mr_free(rd);
}

static void test_strings(void) {
  char a[] = "W/\"abc\"", b[] = "\"def\"", c[] = "ghi";
  hub_etag_normalize(a);
  hub_etag_normalize(b);
  hub_etag_normalize(c);
  CHECK_EQ_STR(a, "abc");
  CHECK_EQ_STR(b, "def");
  CHECK_EQ_STR(c, "ghi");
  char *u = hub_url_escape("a b/c%d~é", 1);
  CHECK_EQ_STR(u, "a%20b/c%25d~%C3%A9");
  mr_free(u);
  u = hub_url_escape("refs/pr/1", 0);
  CHECK_EQ_STR(u, "refs%2Fpr%2F1");
  mr_free(u);
}

static void test_include_globs(void) {
  const char *g[] = {"*.json", "weights/", "model?.mil", NULL};
  static const struct {
    const char *path;
    int match;
  } cases[] = {{"config.json", 1}, {"a/b/meta.json", 1}, {"weights/x.bin", 1}, {"weightsx/y", 0},
               {"model1.mil", 1}, {"model12.mil", 0}, {"README.md", 0}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    CHECK_MSG(hub_include_match(g, cases[i].path) == cases[i].match, "%s", cases[i].path);
  CHECK_EQ_INT(hub_include_match(NULL, "anything"), 1);
}

static void test_progress_line(void) {
  char buf[256];
  hub_progress_format(buf, sizeof buf, "weights/weight.bin", 79456, 158912, 20);
  CHECK_EQ_STR(buf, "weights/weight.bin             [##########----------]  50%  79.5 kB / 158.9 kB");
  hub_progress_format(buf, sizeof buf, "models/very-long-folder-name/weights/weight.bin", 0, 2500000000LL, 10);
  CHECK_EQ_STR(buf, "...der-name/weights/weight.bin [----------]   0%  0 B / 2.5 GB");
  hub_progress_format(buf, sizeof buf, "x", 12, -1, 10);
  CHECK_EQ_STR(buf, "x                              12 B");
  hub_progress_format(buf, sizeof buf, "empty", 0, 0, 4);
  CHECK_EQ_STR(buf, "empty                          [####] 100%  0 B / 0 B");
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"config", test_config},
    {"parse_spec", test_parse_spec},
    {"safe_relpath", test_safe_relpath},
    {"refs_links_no_exist", test_refs_links_no_exist},
    {"strings", test_strings},
    {"include_globs", test_include_globs},
    {"progress_line", test_progress_line},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
