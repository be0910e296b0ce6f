/* cache.c — paths and entries of the Hugging Face cache (layout in cache.h). Every entry is
 * created under a temporary name and renamed into place, so a reader (another process, or
 * huggingface_hub itself) never sees a half-written ref or link. */
#include "hub/cache.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strbuf.h"

char *hub_cache_repo_dir(const char *cache, const char *repo) {
  util_sb sb = {0};
  util_sb_puts(&sb, "models--");
  for (const char *p = repo; *p; p++) {
    if (*p == '/') util_sb_puts(&sb, "--");
    else util_sb_putc(&sb, *p);
  }
  char *name = util_sb_take(&sb);
  char *dir = name ? util_path_join(cache, name) : NULL;
  mr_free(name);
  return dir;
}

/* Join repo_dir with a printf-formatted relative path. */
static char *sub(const char *repo_dir, const char *fmt, const char *a, const char *b) {
  util_sb sb = {0};
  util_sb_printf(&sb, "%s/", repo_dir);
  util_sb_printf(&sb, fmt, a, b);
  return util_sb_take(&sb);
}

static int is_commit(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n])) return 0;
  return n == 40;
}

int hub_cache_read_ref(const char *repo_dir, const char *rev, char **commit, mr_error *err) {
  *commit = NULL;
  if (is_commit(rev)) {
    char *snap = sub(repo_dir, "snapshots/%s%s", rev, "");
    int ok = snap && util_is_dir(snap);
    mr_free(snap);
    if (ok) {
      *commit = util_strdup(rev);
      return *commit ? MR_OK : util_err_nomem(err, rev);
    }
  }
  char *ref = sub(repo_dir, "refs/%s%s", rev, "");
  if (!ref) return util_err_nomem(err, rev);
  char *text = NULL;
  int rc = util_read_file(ref, &text, NULL, NULL);
  if (rc != MR_OK) {
    rc = util_err(err, MR_ENOTFOUND, "%s: no such ref in the cache", ref);
    mr_free(ref);
    return rc;
  }
  text[strcspn(text, " \t\r\n")] = 0;
  if (!is_commit(text)) {
    rc = util_err(err, MR_EFORMAT, "%s: expected a 40-digit commit hash", ref);
    mr_free(text);
    mr_free(ref);
    return rc;
  }
  mr_free(ref);
  *commit = text;
  return MR_OK;
}

/* mkdir -p of the folder that will hold `path`. */
static int mkparent(const char *path, mr_error *err) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path) return MR_OK;
  char *dir = util_strndup(path, (size_t)(slash - path));
  if (!dir) return util_err_nomem(err, path);
  int rc = util_mkdirs(dir, err);
  mr_free(dir);
  return rc;
}

int hub_cache_write_ref(const char *repo_dir, const char *rev, const char *commit, mr_error *err) {
  char *ref = sub(repo_dir, "refs/%s%s", rev, "");
  if (!ref) return util_err_nomem(err, rev);
  int rc = mkparent(ref, err);
  if (rc == MR_OK) rc = util_write_file_atomic(ref, commit, strlen(commit), err);
  mr_free(ref);
  return rc;
}

int hub_cache_link(const char *repo_dir, const char *commit, const char *path, const char *etag, mr_error *err) {
  /* The target climbs out of snapshots/<commit>/ and each folder of `path`. */
  util_sb t = {0};
  util_sb_puts(&t, "../../");
  for (const char *p = path; *p; p++)
    if (*p == '/') util_sb_puts(&t, "../");
  util_sb_printf(&t, "blobs/%s", etag);
  char *target = util_sb_take(&t);
  char *link = sub(repo_dir, "snapshots/%s/%s", commit, path);
  char *tmp = link ? sub(repo_dir, "snapshots/%s/%s.tmp-link", commit, path) : NULL;
  int rc = !target || !link || !tmp ? util_err_nomem(err, path) : mkparent(link, err);
  if (rc == MR_OK) {
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
      rc = util_err(err, MR_EIO, "%s: cannot create the link: %s", link, strerror(errno));
      unlink(tmp);
    }
  }
  mr_free(target);
  mr_free(link);
  mr_free(tmp);
  return rc;
}

int hub_cache_mark_no_exist(const char *repo_dir, const char *commit, const char *path, mr_error *err) {
  char *mark = sub(repo_dir, ".no_exist/%s/%s", commit, path);
  if (!mark) return util_err_nomem(err, path);
  int rc = mkparent(mark, err);
  if (rc == MR_OK) rc = util_write_file_atomic(mark, "", 0, err);
  mr_free(mark);
  return rc;
}

int hub_cache_is_no_exist(const char *repo_dir, const char *commit, const char *path) {
  char *mark = sub(repo_dir, ".no_exist/%s/%s", commit, path);
  int yes = mark && util_exists(mark);
  mr_free(mark);
  return yes;
}

void hub_etag_normalize(char *etag) {
  char *s = etag;
  if (s[0] == 'W' && s[1] == '/') s += 2;
  size_t n = strlen(s);
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
    s++;
    n -= 2;
  }
  memmove(etag, s, n);
  etag[n] = 0;
}
