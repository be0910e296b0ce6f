/* test_hub_pull.c — mr_hub_pull against the mock hub (tests/hub_mock_server.py): the cache layout
 * huggingface_hub expects, resume after a cut connection, sha256 checks, redirects, paging, HTTP
 * errors, offline use and the network-down fallback. */
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hub/sha256.h"
#include "hub_mock.h"
#include "milrun.h"
#include "util/alloc.h"

#define WEIGHT "models/vad.mlmodelc/weights/weight.bin"

/* Keep the user's settings and token (~/.cache/huggingface/token) out of the tests. */
static void isolate_env(void) {
  char home[600];
  snprintf(home, sizeof home, "%s/empty-hf-home", th_tmpdir());
  setenv("HF_HOME", home, 1);
  const char *vars[] = {"HF_HUB_OFFLINE", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_CACHE", "HF_ENDPOINT", NULL};
  for (const char **v = vars; *v; v++) unsetenv(*v);
}

/* Server arguments for the test repository org/model: the fixture folder plus a zipped bundle. */
static const char *repo_arg(void) {
  static char arg[2048];
  char zipdir[1024];
  snprintf(zipdir, sizeof zipdir, "%s/zipdir", th_tmpdir());
  if (!arg[0]) {
    if (hub_make_zip(zipdir) != 0) fprintf(stderr, "  cannot create the test zip\n");
    snprintf(arg, sizeof arg, "org/model=%s,%s", th_fixture("hub/repo"), zipdir);
  }
  return arg;
}

static int start(hub_mock *m, const char *a1, const char *a2) {
  const char *args[] = {"--repo", repo_arg(), a1, a2, NULL};
  int rc = hub_mock_start(m, args);
  CHECK(rc == 0);
  return rc;
}

static char *new_cache(const char *name) {
  static char dir[400];
  snprintf(dir, sizeof dir, "%s/%s", th_tmpdir(), name);
  return dir;
}

static int do_pull(const hub_mock *m, const char *spec, const char *cache, char **snap, mr_error *err) {
  mr_hub_options o = {.cache_dir = cache, .endpoint = m->endpoint, .quiet = 1, .jobs = 3, .token = ""};
  memset(err, 0, sizeof *err);
  *snap = NULL;
  return mr_hub_pull(spec, &o, snap, err);
}

static char *file_sha(const char *path) {
  static char hex[65];
  mr_error e = {0};
  if (hub_sha256_file(path, hex, &e) != MR_OK) return NULL;
  return hex;
}

static void src_path(char *buf, size_t n, const char *rel) { snprintf(buf, n, "%s/%s", th_fixture("hub/repo"), rel); }

static int is_hex(const char *s, size_t n) {
  size_t i = 0;
  while (s[i] && strchr("0123456789abcdef", s[i])) i++;
  return i == n && !s[i];
}

/* The git blob id of a file (sha1 of "blob <size>\0" + content), from Python's hashlib. */
static int git_oid(const char *path, char out[41]) {
  return th_python_word("import hashlib,sys; d=open(sys.argv[1],'rb').read(); "
                        "print(hashlib.sha1(b'blob %d\\0' % len(d) + d).hexdigest())", path, out, 41);
}

/* Everything huggingface_hub checks in a snapshot: each entry a relative link to
 * ../(..)/blobs/<etag>, the blob named by sha256 for LFS files (>= 1 KiB or .bin here) and by a
 * 40-hex git oid otherwise, the content identical to the source. */
static void check_entry(const char *repo_dir, const char *snap, const char *rel, const char *src) {
  char link[2048], target[1024], expect[1024];
  snprintf(link, sizeof link, "%s/%s", snap, rel);
  struct stat st;
  CHECK_MSG(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "%s is not a link", link);
  ssize_t n = readlink(link, target, sizeof target - 1);
  CHECK(n > 0);
  target[n > 0 ? n : 0] = 0;
  int depth = 0;
  for (const char *p = rel; *p; p++) depth += *p == '/';
  expect[0] = 0;
  for (int i = 0; i < depth + 2; i++) strcat(expect, "../");
  strcat(expect, "blobs/");
  CHECK_MSG(!strncmp(target, expect, strlen(expect)), "%s -> %s", rel, target);
  const char *blob = target + strlen(expect);
  struct stat sst;
  stat(src, &sst);
  if (sst.st_size >= 1024 || strstr(rel, ".bin") || strstr(rel, ".zip")) CHECK_EQ_STR(blob, file_sha(src));
  else {
    char oid[41] = {0};
    CHECK(git_oid(src, oid));
    CHECK_EQ_STR(blob, oid);
  }
  char blob_path[2048];
  snprintf(blob_path, sizeof blob_path, "%s/blobs/%s", repo_dir, blob);
  CHECK(lstat(blob_path, &st) == 0 && S_ISREG(st.st_mode));
  CHECK_MSG(hub_same_file(link, src), "%s differs from %s", link, src);
}

static void repo_dir_of(char *buf, size_t n, const char *cache) { snprintf(buf, n, "%s/models--org--model", cache); }

static int count_incomplete(const char *repo_dir) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "ls %s/blobs 2>/dev/null | grep -c incomplete", repo_dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p && fscanf(p, "%d", &n) != 1) n = -1;
  if (p) pclose(p);
  return n;
}

static void test_pull_layout(void) {
  hub_mock m;
  if (start(&m, NULL, NULL)) return;
  const char *cache = new_cache("layout");
  char *snap, rd[512], src[1024], ref[2048], dst[2048];
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_OK);
  CHECK_EQ_STR(e.msg, "");
  repo_dir_of(rd, sizeof rd, cache);
  if (snap) {
    /* snapshots/<commit>, and refs/main holds the commit. */
    const char *commit = strrchr(snap, '/') + 1;
    CHECK(is_hex(commit, 40));
    snprintf(ref, sizeof ref, "%s/refs/main", rd);
    size_t n = 0;
    unsigned char *text = hub_slurp(ref, &n);
    CHECK(text && n == 40 && !memcmp(text, commit, 40));
    free(text);
    snprintf(dst, sizeof dst, "%s/snapshots/%s", rd, commit);
    CHECK_EQ_STR(snap, dst);
    for (const char *const *f = hub_repo_files; *f; f++) {
      src_path(src, sizeof src, *f);
      check_entry(rd, snap, *f, src);
    }
    /* The zip is a snapshot entry too, and it is unzipped beside itself. */
    char zsrc[1024];
    snprintf(zsrc, sizeof zsrc, "%s/zipdir/zipped.mlmodelc.zip", th_tmpdir());
    check_entry(rd, snap, "zipped.mlmodelc.zip", zsrc);
    for (const char *const *f = hub_repo_files; *f; f++) {
      if (strncmp(*f, "models/vad.mlmodelc/", 20)) continue;
      src_path(src, sizeof src, *f);
      snprintf(dst, sizeof dst, "%s/zipped.mlmodelc/%s", snap, *f + 20);
      CHECK_MSG(hub_same_file(dst, src), "%s", dst);
    }
    CHECK_EQ_INT(count_incomplete(rd), 0);
  }
  /* The tree API was read page by page (3 entries a page): the Link header was followed. */
  CHECK(hub_mock_count(&m, "cursor=3") == 1);
  /* A second pull downloads nothing: no HEAD, no body. */
  int gets = hub_mock_count(&m, "GET /cdn/"), heads = hub_mock_count(&m, "HEAD ");
  CHECK_EQ_INT(gets, 6); /* the LFS files: 5 of the bundle and the zip */
  char *snap2;
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap2, &e), MR_OK);
  CHECK_EQ_INT(hub_mock_count(&m, "GET /cdn/"), gets);
  CHECK_EQ_INT(hub_mock_count(&m, "HEAD "), heads);
  CHECK_EQ_INT(hub_mock_count(&m, "GET /org/model/resolve"), 2); /* README.md, config.json */
  CHECK(snap && snap2 && !strcmp(snap, snap2));
  mr_free(snap);
  mr_free(snap2);
  hub_mock_stop(&m);
}

/* The expected error text for an interrupted file. */
static void test_resume_after_cut(void) {
  hub_mock m;
  if (start(&m, "--cut", WEIGHT ":50000")) return;
  const char *cache = new_cache("cut");
  char *snap, rd[512], src[1024], path[2048], sha[65];
  mr_error e;
  src_path(src, sizeof src, WEIGHT);
  snprintf(sha, sizeof sha, "%s", file_sha(src));
  repo_dir_of(rd, sizeof rd, cache);
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_ENET);
  CHECK(snap == NULL);
  CHECK_EQ_STR(e.msg, WEIGHT ": the download was interrupted after 50000 of 158912 bytes (the connection "
                      "closed early): run the same pull again to resume it");
  /* Nothing under a final name: no blob, no link, no ref; the partial file holds the prefix. */
  snprintf(path, sizeof path, "%s/blobs/%s", rd, sha);
  CHECK(access(path, F_OK) != 0);
  snprintf(path, sizeof path, "%s/refs/main", rd);
  CHECK(access(path, F_OK) != 0);
  snprintf(path, sizeof path, "%s/blobs/%s.incomplete", rd, sha);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size == 50000);
  size_t n1 = 0, n2 = 0;
  unsigned char *a = hub_slurp(path, &n1), *b = hub_slurp(src, &n2);
  CHECK(a && b && n1 == 50000 && !memcmp(a, b, 50000));
  free(a);
  free(b);
  char glob[2048];
  snprintf(glob, sizeof glob, "ls %s/snapshots/*/" WEIGHT " 2>/dev/null | wc -l", rd);
  FILE *p = popen(glob, "r");
  int links = -1;
  if (fscanf(p, "%d", &links) != 1) links = -1;
  pclose(p);
  CHECK_EQ_INT(links, 0);
  /* Pull again: a Range request from byte 50000, and the whole file is right. */
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_OK);
  CHECK_EQ_INT(hub_mock_count(&m, "bytes=50000-"), 1);
  if (snap) {
    snprintf(path, sizeof path, "%s/" WEIGHT, snap);
    CHECK_EQ_STR(file_sha(path), sha);
    CHECK(hub_same_file(path, src));
  }
  CHECK_EQ_INT(count_incomplete(rd), 0);
  mr_free(snap);
  hub_mock_stop(&m);
}

/* A server that ignores Range answers 200 with the whole body: the partial file starts over. */
static void test_resume_without_range_support(void) {
  hub_mock m;
  const char *args[] = {"--repo", repo_arg(), "--cut", WEIGHT ":70000", "--no-range", NULL};
  CHECK(hub_mock_start(&m, args) == 0);
  if (!m.pid) return;
  const char *cache = new_cache("norange");
  char *snap, src[1024], path[2048];
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_ENET);
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_OK);
  CHECK_EQ_INT(hub_mock_count(&m, "bytes=70000-"), 1);
  src_path(src, sizeof src, WEIGHT);
  if (snap) {
    snprintf(path, sizeof path, "%s/" WEIGHT, snap);
    CHECK(hub_same_file(path, src));
  }
  mr_free(snap);
  hub_mock_stop(&m);
}

static void test_corrupt_body(void) {
  hub_mock m;
  if (start(&m, "--corrupt", WEIGHT)) return;
  const char *cache = new_cache("corrupt");
  char *snap, rd[512], src[1024], path[2048], good[65], bad[65], expect[1024];
  mr_error e;
  src_path(src, sizeof src, WEIGHT);
  snprintf(good, sizeof good, "%s", file_sha(src));
  /* The reference: the source with the middle byte flipped, as the server sends it. */
  size_t n = 0;
  unsigned char *data = hub_slurp(src, &n);
  data[n / 2] ^= 0xff;
  CHECK_EQ_INT(hub_sha256_mem(data, n, bad, &e), MR_OK);
  free(data);
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_ENET);
  snprintf(expect, sizeof expect, WEIGHT ": sha256 of the download is %s but should be %s (corrupted in "
           "transit): nothing was installed; run the pull again", bad, good);
  CHECK_EQ_STR(e.msg, expect);
  repo_dir_of(rd, sizeof rd, cache);
  snprintf(path, sizeof path, "%s/blobs/%s", rd, good);
  CHECK(access(path, F_OK) != 0);
  snprintf(path, sizeof path, "%s/blobs/%s.incomplete", rd, good);
  CHECK(access(path, F_OK) != 0);
  snprintf(path, sizeof path, "%s/refs/main", rd);
  CHECK(access(path, F_OK) != 0);
  CHECK_EQ_INT(count_incomplete(rd), 0);
  hub_mock_stop(&m);
}

static void test_offline(void) {
  hub_mock m;
  if (start(&m, NULL, NULL)) return;
  const char *cache = new_cache("offline");
  char *snap = NULL, *snap2 = NULL, expect[2048];
  mr_error e = {0};
  /* Offline without a cache: a clear error, and no request at all. */
  mr_hub_options o = {.cache_dir = cache, .endpoint = m.endpoint, .offline = 1, .quiet = 1};
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_ENOTFOUND);
  snprintf(expect, sizeof expect, "org/model@main is not in the cache at %s and offline mode is on "
           "(HF_HUB_OFFLINE): unset HF_HUB_OFFLINE and run `milrun pull org/model`", cache);
  CHECK_EQ_STR(e.msg, expect);
  CHECK_EQ_INT(hub_mock_count(&m, "/"), 0);
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_OK);
  hub_mock_stop(&m);
  /* Offline with the cache, through HF_HUB_OFFLINE: the same snapshot. */
  setenv("HF_HUB_OFFLINE", "1", 1);
  o.offline = 0;
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap2, &e), MR_OK);
  CHECK(snap && snap2 && !strcmp(snap, snap2));
  mr_free(snap2);
  snap2 = NULL;
  unsetenv("HF_HUB_OFFLINE");
  /* Network down (nothing listens any more): the cached snapshot is used. */
  CHECK_EQ_INT(mr_hub_resolve("org/model", &o, &snap2, &e), MR_OK);
  CHECK(snap && snap2 && !strcmp(snap, snap2));
  mr_free(snap2);
  /* Network down and nothing cached: both problems are named. */
  char ep[64];
  int port = hub_dead_port();
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
  o.endpoint = ep;
  o.cache_dir = new_cache("offline-empty");
  char cache2[1024];
  snprintf(cache2, sizeof cache2, "%s", o.cache_dir);
  o.cache_dir = cache2;
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap2, &e), MR_ENET);
  snprintf(expect, sizeof expect, "cannot reach %s/api/models/org/model/revision/main: could not connect; "
           "org/model@main is not in the cache at %s either: check your connection or HF_ENDPOINT", ep, cache2);
  CHECK_EQ_STR(e.msg, expect);
  mr_free(snap);
}

/* HTTP errors, each with what to do. */
static void test_http_errors(void) {
  static const struct {
    const char *status, *spec;
    int code;
    const char *msg; /* %s: the endpoint */
  } cases[] = {
    {"org/model=401", "org/model", MR_ENET, "401 Unauthorized for org/model: set HF_TOKEN or run huggingface-cli login"},
    {"org/model=gated", "org/model", MR_ENET, "org/model is a gated repository: accept its conditions at "
     "%s/org/model while logged in, then set HF_TOKEN or run huggingface-cli login"},
    {"org/model=404", "org/model", MR_ENOTFOUND, "404 Not Found: org/model does not exist on %s: check the "
     "repository name"},
    {"org/other=404", "org/model@v2", MR_ENOTFOUND, "revision 'v2' of org/model not found on %s: check the "
     "revision name"},
    {"org/other=404", "org/nothing", MR_ENOTFOUND, "404 Not Found: org/nothing does not exist on %s: check the "
     "repository name"},
    {"org/other=404", "org/bad--name", MR_EINVAL, "'org/bad--name' is not a Hugging Face repository id: "
     "expected ORG/NAME[@REVISION] (letters, digits, '-', '_', '.')"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    hub_mock m;
    if (start(&m, "--status", cases[i].status)) return;
    char *snap, expect[1024];
    mr_error e;
    CHECK_EQ_INT(do_pull(&m, cases[i].spec, new_cache("errors"), &snap, &e), cases[i].code);
    snprintf(expect, sizeof expect, cases[i].msg, m.endpoint);
    CHECK_EQ_STR(e.msg, expect);
    CHECK(snap == NULL);
    hub_mock_stop(&m);
  }
}

/* Malformed answers: each named with the URL or file and the problem. */
static void test_malformed_replies(void) {
  static const struct {
    const char *fault;
    int code;
    const char *msg; /* %1$s: endpoint, %2$s: commit */
  } cases[] = {
    {"badjson", MR_EFORMAT, "%1$s/api/models/org/model/revision/main: the reply is not valid JSON"},
    {"nosha", MR_EFORMAT, "%1$s/api/models/org/model/revision/main: the reply has no 40-digit \"sha\""},
    {"notarray", MR_EFORMAT, "%1$s/api/models/org/model/tree/%2$s?recursive=true: expected a JSON array of files"},
    {"notype", MR_EFORMAT, "%1$s/api/models/org/model/tree/%2$s?recursive=true: a listing entry lacks \"type\" "
     "or \"path\""},
    {"unsafepath", MR_EFORMAT, "%1$s/api/models/org/model/tree/%2$s?recursive=true: unsafe file path '../evil' "
     "in the listing"},
    {"noetag", MR_EFORMAT, "%1$s/org/model/resolve/%2$s/README.md: the server sent no ETag: cannot name the file "
     "in the cache (and 1 more file failed)"}, /* the LFS files got their ETag from the CDN */
    {"badetag", MR_EFORMAT, "%1$s/org/model/resolve/%2$s/README.md: unusable ETag 'a/b' (and 7 more files failed)"},
    {"wrongsize", MR_ENET, "models/vad.mlmodelc/analytics/coremldata.bin: received 243 bytes but the server "
     "announced 253: nothing was installed; run the pull again (and 5 more files failed)"},
    {"status500", MR_ENET, "HTTP 500 from %1$s/api/models/org/model/revision/main: Internal Error: try again later"},
  };
  /* The commit, from a healthy server. */
  hub_mock m;
  if (start(&m, NULL, NULL)) return;
  char *snap = NULL, commit[41] = {0};
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/model", new_cache("malformed-ok"), &snap, &e), MR_OK);
  if (snap) snprintf(commit, sizeof commit, "%s", strrchr(snap, '/') + 1);
  mr_free(snap);
  hub_mock_stop(&m);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    if (start(&m, "--fault", cases[i].fault)) return;
    char cache[1100], expect[2048];
    snprintf(cache, sizeof cache, "%s/malformed-%s", th_tmpdir(), cases[i].fault);
    CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), cases[i].code);
    snprintf(expect, sizeof expect, cases[i].msg, m.endpoint, commit);
    CHECK_EQ_STR(e.msg, expect);
    CHECK(snap == NULL);
    hub_mock_stop(&m);
  }
}

/* A file that another process is downloading (its .incomplete is locked) is left alone. */
static void test_locked_download(void) {
  hub_mock m;
  if (start(&m, NULL, NULL)) return;
  const char *cache = new_cache("locked");
  char rd[512], src[1024], part[1200], expect[1400], *snap = NULL;
  mr_error e;
  repo_dir_of(rd, sizeof rd, cache);
  src_path(src, sizeof src, WEIGHT);
  snprintf(part, sizeof part, "%s/blobs", rd);
  char mk[1300];
  snprintf(mk, sizeof mk, "mkdir -p '%s'", part);
  CHECK(system(mk) == 0);
  snprintf(part, sizeof part, "%s/blobs/%s.incomplete", rd, file_sha(src));
  FILE *f = fopen(part, "ab");
  CHECK(f && flock(fileno(f), LOCK_EX) == 0);
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_EIO);
  snprintf(expect, sizeof expect, "%s: another process is downloading this file; wait for it or remove the file", part);
  CHECK_EQ_STR(e.msg, expect);
  CHECK(access(part, F_OK) == 0); /* the other process's file is untouched */
  if (f) fclose(f);
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_OK);
  mr_free(snap);
  hub_mock_stop(&m);
}

/* A private repository: refused without a token, read with HF_TOKEN or the token file. */
static void test_token(void) {
  hub_mock m;
  if (start(&m, "--private", "org/model=hf_secret")) return;
  char *snap = NULL, home[1024], tokfile[1100];
  mr_error e = {0};
  mr_hub_options o = {.cache_dir = new_cache("token"), .endpoint = m.endpoint, .quiet = 1};
  snprintf(home, sizeof home, "%s/hfhome", th_tmpdir());
  mkdir(home, 0777);
  setenv("HF_HOME", home, 1);
  unsetenv("HF_TOKEN");
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_ENET);
  CHECK_EQ_STR(e.msg, "401 Unauthorized for org/model: set HF_TOKEN or run huggingface-cli login");
  snprintf(tokfile, sizeof tokfile, "%s/token", home);
  FILE *f = fopen(tokfile, "w");
  fputs("  hf_secret\n", f);
  fclose(f);
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_OK);
  mr_free(snap);
  snap = NULL;
  setenv("HF_TOKEN", "hf_wrong", 1);
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_ENET);
  CHECK_EQ_STR(e.msg, "401 Unauthorized for org/model: set HF_TOKEN or run huggingface-cli login (the token "
                      "in use was refused, or the repository does not exist)");
  isolate_env();
  hub_mock_stop(&m);
}

/* A renamed repository: relative redirects on the API and the resolve URLs are followed. */
static void test_relative_redirect(void) {
  hub_mock m;
  if (start(&m, "--alias", "org/old-name=org/model")) return;
  char *snap, src[1024], path[2048];
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/old-name", new_cache("alias"), &snap, &e), MR_OK);
  CHECK_EQ_STR(e.msg, "");
  CHECK(hub_mock_count(&m, "HEAD /org/old-name/resolve/") == 8);
  CHECK(hub_mock_count(&m, "HEAD /org/model/resolve/") == 8);
  if (snap) {
    CHECK(strstr(snap, "/models--org--old-name/snapshots/") != NULL);
    src_path(src, sizeof src, "config.json");
    snprintf(path, sizeof path, "%s/config.json", snap);
    CHECK(hub_same_file(path, src));
  }
  mr_free(snap);
  hub_mock_stop(&m);
}

static void test_include(void) {
  hub_mock m;
  if (start(&m, NULL, NULL)) return;
  const char *inc[] = {"*.json", "models/vad.mlmodelc/weights/", NULL};
  char *snap = NULL, path[2048];
  mr_error e = {0};
  mr_hub_options o = {.cache_dir = new_cache("include"), .endpoint = m.endpoint, .quiet = 1, .include = inc,
                      .token = ""};
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_OK);
  static const struct {
    const char *rel;
    int present;
  } want[] = {{"config.json", 1}, {"models/vad.mlmodelc/metadata.json", 1}, {WEIGHT, 1}, {"README.md", 0},
              {"models/vad.mlmodelc/model.mil", 0}, {"zipped.mlmodelc.zip", 0}, {"zipped.mlmodelc", 0}};
  for (size_t i = 0; snap && i < sizeof want / sizeof *want; i++) {
    snprintf(path, sizeof path, "%s/%s", snap, want[i].rel);
    CHECK_MSG((access(path, F_OK) == 0) == want[i].present, "%s", want[i].rel);
  }
  mr_free(snap);
  const char *none[] = {"*.gguf", NULL};
  o.include = none;
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_ENOTFOUND);
  CHECK_EQ_STR(e.msg, "no file of org/model at revision main is left by the --include/--exclude patterns");
  hub_mock_stop(&m);
}

/* --exclude drops what --include (or the whole listing) would take. */
static void test_exclude(void) {
  hub_mock m;
  if (start(&m, NULL, NULL)) return;
  const char *inc[] = {"*.json", "models/", NULL}, *exc[] = {"*/metadata.json", "*.mlmodelc/weights/*", NULL};
  char *snap = NULL, path[2048];
  mr_error e = {0};
  mr_hub_options o = {.cache_dir = new_cache("exclude"), .endpoint = m.endpoint, .quiet = 1, .include = inc,
                      .exclude = exc, .token = ""};
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_OK);
  static const struct {
    const char *rel;
    int present;
  } want[] = {{"config.json", 1}, {"models/vad.mlmodelc/model.mil", 1}, {"models/vad.mlmodelc/metadata.json", 0},
              {WEIGHT, 0}, {"README.md", 0}};
  for (size_t i = 0; snap && i < sizeof want / sizeof *want; i++) {
    snprintf(path, sizeof path, "%s/%s", snap, want[i].rel);
    CHECK_MSG((access(path, F_OK) == 0) == want[i].present, "%s", want[i].rel);
  }
  mr_free(snap);
  const char *all[] = {"*", NULL};
  o.include = NULL;
  o.exclude = all;
  CHECK_EQ_INT(mr_hub_pull("org/model", &o, &snap, &e), MR_ENOTFOUND);
  CHECK_EQ_STR(e.msg, "no file of org/model at revision main is left by the --include/--exclude patterns");
  hub_mock_stop(&m);
}

/* A bundle shipped both as a folder and as a zip is fetched once, as the folder. */
static void test_redundant_zip(void) {
  char zipdir[600], zip[700], both[1400];
  snprintf(zipdir, sizeof zipdir, "%s/zipdir2/models", th_tmpdir());
  char mk[800];
  snprintf(mk, sizeof mk, "mkdir -p '%s'", zipdir);
  CHECK(system(mk) == 0);
  CHECK(hub_make_zip(zipdir) == 0);
  snprintf(zip, sizeof zip, "%s/zipped.mlmodelc.zip", zipdir);
  snprintf(mk, sizeof mk, "%s/vad.mlmodelc.zip", zipdir);
  CHECK(rename(zip, mk) == 0);
  snprintf(both, sizeof both, "org/model=%s,%s/zipdir2", th_fixture("hub/repo"), th_tmpdir());
  const char *args[] = {"--repo", both, NULL};
  hub_mock m;
  if (hub_mock_start(&m, args) != 0) {
    CHECK(0);
    return;
  }
  char *snap = NULL, path[2048];
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/model", new_cache("both"), &snap, &e), MR_OK);
  CHECK_EQ_INT(hub_mock_count(&m, "vad.mlmodelc.zip"), 0);
  CHECK_EQ_INT(hub_mock_count(&m, "HEAD "), 7);
  if (snap) {
    snprintf(path, sizeof path, "%s/models/vad.mlmodelc.zip", snap);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/models/vad.mlmodelc/model.mil", snap);
    CHECK(access(path, F_OK) == 0);
  }
  mr_free(snap);
  hub_mock_stop(&m);
}

/* Copy the fixture file `rel` to <root>/<dst>, creating its folders. */
static int copy_fixture(const char *root, const char *rel, const char *dst) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s/%s')\" && cp '%s/%s' '%s/%s'", root, dst,
           th_fixture("hub/repo"), rel, root, dst);
  return system(cmd);
}

/* Where the snapshot entry `rel` links to (its blob name), in `out`. */
static void blob_of(const char *snap, const char *rel, char *out, size_t n) {
  char link[2048], target[1024];
  snprintf(link, sizeof link, "%s/%s", snap, rel);
  ssize_t len = readlink(link, target, sizeof target - 1);
  target[len > 0 ? len : 0] = 0;
  const char *b = strstr(target, "blobs/");
  snprintf(out, n, "%s", b ? b + 6 : "");
}

/* Two files with the same content share one blob (an .mlmodelc and an .mlpackage of the same
 * weights, as `milrun convert --format both` writes them): the pull fetches the blob once and links
 * both entries to it, for LFS files (sha256 blob names) and for regular files (git oids). */
static void test_shared_blob(void) {
  static const char *const lfs[] = {"m.mlmodelc/weights/weight.bin",
                                    "m.mlpackage/Data/com.apple.CoreML/weights/weight.bin"};
  static const char *const small[] = {"m.mlmodelc/config.json", "m.mlpackage/config.json"};
  char root[600], arg[700];
  snprintf(root, sizeof root, "%s/dup-repo", th_tmpdir());
  for (int i = 0; i < 2; i++) {
    CHECK(copy_fixture(root, WEIGHT, lfs[i]) == 0);
    CHECK(copy_fixture(root, "config.json", small[i]) == 0);
  }
  snprintf(arg, sizeof arg, "org/dup=%s", root);
  const char *args[] = {"--repo", arg, NULL};
  hub_mock m;
  if (hub_mock_start(&m, args) != 0) {
    CHECK(0);
    return;
  }
  const char *cache = new_cache("shared");
  char *snap = NULL, rd[512], src[1024], a[128], b[128], cmd[1200];
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/dup", cache, &snap, &e), MR_OK);
  CHECK_EQ_STR(e.msg, "");
  snprintf(rd, sizeof rd, "%s/models--org--dup", cache);
  for (int i = 0; snap && i < 2; i++) {
    const char *const *pair = i ? small : lfs;
    src_path(src, sizeof src, i ? "config.json" : WEIGHT);
    check_entry(rd, snap, pair[0], src);
    check_entry(rd, snap, pair[1], src);
    blob_of(snap, pair[0], a, sizeof a);
    blob_of(snap, pair[1], b, sizeof b);
    CHECK_EQ_STR(a, b);
  }
  /* blobs/ holds the two blobs and nothing else (no .incomplete left behind). */
  snprintf(cmd, sizeof cmd, "ls -A %s/blobs | wc -l", rd);
  FILE *p = popen(cmd, "r");
  int nblobs = -1;
  if (!p || fscanf(p, "%d", &nblobs) != 1) nblobs = -1;
  if (p) pclose(p);
  CHECK_EQ_INT(nblobs, 2);
  /* Each body came once; a second pull fetches nothing. */
  CHECK_EQ_INT(hub_mock_count(&m, "GET /cdn/"), 1);
  CHECK_EQ_INT(hub_mock_count(&m, "GET /org/dup/resolve/"), 1);
  int heads = hub_mock_count(&m, "HEAD ");
  CHECK_EQ_INT(heads, 4);
  char *snap2 = NULL;
  CHECK_EQ_INT(do_pull(&m, "org/dup", cache, &snap2, &e), MR_OK);
  CHECK_EQ_INT(hub_mock_count(&m, "GET /cdn/"), 1);
  CHECK_EQ_INT(hub_mock_count(&m, "GET /org/dup/resolve/"), 1);
  CHECK_EQ_INT(hub_mock_count(&m, "HEAD "), heads);
  CHECK(snap && snap2 && !strcmp(snap, snap2));
  mr_free(snap);
  mr_free(snap2);
  hub_mock_stop(&m);
  /* The shared blob's download is cut: both files fail, and the next pull resumes it once. */
  char cut0[200], cut1[200], expect[600];
  snprintf(cut0, sizeof cut0, "%s:1000", lfs[0]);
  snprintf(cut1, sizeof cut1, "%s:1000", lfs[1]); /* the server cuts whichever path it serves the blob as */
  const char *cut_args[] = {"--repo", arg, "--cut", cut0, "--cut", cut1, NULL};
  if (hub_mock_start(&m, cut_args) != 0) {
    CHECK(0);
    return;
  }
  cache = new_cache("shared-cut");
  CHECK_EQ_INT(do_pull(&m, "org/dup", cache, &snap, &e), MR_ENET);
  snprintf(expect, sizeof expect, "%s: the download was interrupted after 1000 of 158912 bytes (the connection "
           "closed early): run the same pull again to resume it (and 1 more file failed)", lfs[0]);
  CHECK_EQ_STR(e.msg, expect);
  CHECK_EQ_INT(do_pull(&m, "org/dup", cache, &snap, &e), MR_OK);
  CHECK_EQ_INT(hub_mock_count(&m, "bytes=1000-"), 1);
  src_path(src, sizeof src, WEIGHT);
  snprintf(rd, sizeof rd, "%s/models--org--dup", cache);
  for (int i = 0; snap && i < 2; i++) check_entry(rd, snap, lfs[i], src);
  mr_free(snap);
  hub_mock_stop(&m);
}

/* A listed file whose resolve URL answers 404: the error names it and .no_exist records it. */
static void test_missing_file(void) {
  hub_mock m;
  if (start(&m, "--missing", "README.md")) return;
  const char *cache = new_cache("missing");
  char *snap, rd[512], path[2048];
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/model", cache, &snap, &e), MR_ENOTFOUND);
  CHECK_EQ_STR(e.msg, "README.md not found in org/model at revision main");
  repo_dir_of(rd, sizeof rd, cache);
  snprintf(path, sizeof path, "ls %s/.no_exist/*/README.md 2>/dev/null | wc -l", rd);
  FILE *p = popen(path, "r");
  int n = -1;
  if (fscanf(p, "%d", &n) != 1) n = -1;
  pclose(p);
  CHECK_EQ_INT(n, 1);
  hub_mock_stop(&m);
}

/* Out of memory at every allocation of a pull (docs/style.md §8): an error or success, never a crash,
 * a leak (ASan) or a half-installed file. First over a cached pull (listing only), then over
 * fresh downloads. */
static void test_alloc_failures(void) {
  hub_mock m;
  if (start(&m, NULL, NULL)) return;
  const char *warm = new_cache("alloc-warm");
  char warm_dir[1024], *snap = NULL;
  snprintf(warm_dir, sizeof warm_dir, "%s", warm);
  mr_error e;
  CHECK_EQ_INT(do_pull(&m, "org/model", warm_dir, &snap, &e), MR_OK);
  mr_free(snap);
  for (int pass = 0; pass < 2; pass++) {
    int done = 0;
    for (long n = 0; n < 5000 && !done; n += pass ? 5 : 1) {
      char cache[1100];
      if (pass) snprintf(cache, sizeof cache, "%s/alloc-%ld", th_tmpdir(), n);
      else snprintf(cache, sizeof cache, "%s", warm_dir);
      util_alloc_fail_after(n);
      int rc = do_pull(&m, "org/model", cache, &snap, &e);
      util_alloc_fail_after(-1);
      CHECK_MSG(rc == MR_OK || rc == MR_ENOMEM, "n=%ld: %d %s", n, rc, e.msg);
      if (rc == MR_OK) {
        CHECK(snap != NULL);
        CHECK(n > 20); /* the sweep reached past the first few allocations */
        done = 1;
        if (getenv("MR_VERBOSE")) fprintf(stderr, "  pass %d: success after %ld allocations\n", pass, n);
      } else {
        CHECK(snap == NULL);
      }
      mr_free(snap);
      snap = NULL;
      if (th_failures) break;
    }
    CHECK(done);
  }
  hub_mock_stop(&m);
}

int main(int argc, char **argv) {
  isolate_env();
  static const th_case cases[] = {
    {"pull_layout", test_pull_layout},
    {"resume_after_cut", test_resume_after_cut},
    {"resume_without_range_support", test_resume_without_range_support},
    {"corrupt_body", test_corrupt_body},
    {"offline", test_offline},
    {"http_errors", test_http_errors},
    {"malformed_replies", test_malformed_replies},
    {"locked_download", test_locked_download},
    {"token", test_token},
    {"relative_redirect", test_relative_redirect},
    {"include", test_include},
    {"exclude", test_exclude},
    {"missing_file", test_missing_file},
    {"redundant_zip", test_redundant_zip},
    {"shared_blob", test_shared_blob},
    {"alloc_failures", test_alloc_failures},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
