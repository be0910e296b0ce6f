/* scan.c — listing and deleting cached repositories (scan.h). Sizes are those of regular files
 * (a snapshot's links count as the blobs they point to), as huggingface_hub reports them. */
#include "hub/scan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/cache.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strbuf.h"

typedef struct du {
  int64_t bytes, files;
  time_t modified;
} du;

/* Regular files below `path` (follow = count what symlinks point to, else skip the links). */
static void disk_usage(const char *path, int follow, du *u) {
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return;
  if (S_ISREG(st.st_mode)) {
    u->bytes += st.st_size;
    u->files++;
    if (st.st_mtime > u->modified) u->modified = st.st_mtime;
    return;
  }
  DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *p = util_path_join(path, e->d_name);
    if (p) disk_usage(p, follow, u);
    mr_free(p);
  }
  if (d) closedir(d);
}

/* Names in `dir` (new strings), skipping dot files; none (and MR_OK) when dir does not exist. */
static int list_dir(const char *dir, char ***names, int *n) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? MR_OK : MR_EIO;
  struct dirent *e;
  int rc = MR_OK;
  while (rc == MR_OK && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char **g = mr_realloc(*names, (size_t)(*n + 1) * sizeof *g);
    if (!g) rc = MR_ENOMEM;
    else if (!((*names = g)[*n] = util_strdup(e->d_name))) rc = MR_ENOMEM;
    else (*n)++;
  }
  closedir(d);
  if (rc != MR_OK) {
    for (int i = 0; i < *n; i++) mr_free((*names)[i]);
    mr_free(*names);
    *names = NULL;
    *n = 0;
  }
  return rc;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_names(char **names, int n) {
  for (int i = 0; i < n; i++) mr_free(names[i]);
  mr_free(names);
}

static char *join2(const char *a, const char *b, const char *c) {
  util_sb sb = {0};
  util_sb_printf(&sb, "%s/%s/%s", a, b, c);
  return util_sb_take(&sb);
}

/* The refs under refs/ that hold `commit`, comma-separated into buf. */
static void refs_of(const char *dir, const char *commit, char *buf, size_t size) {
  char **names;
  int n;
  buf[0] = 0;
  char *refs = util_path_join(dir, "refs");
  if (refs && list_dir(refs, &names, &n) == MR_OK) {
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_name);
    for (int i = 0; i < n; i++) {
      char *c = NULL;
      if (hub_cache_read_ref(dir, names[i], &c, NULL) == MR_OK && !strcmp(c, commit)) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", used ? ", " : "", names[i]);
      }
      mr_free(c);
    }
    free_names(names, n);
  }
  mr_free(refs);
}

static int scan_repo(const char *cache, const char *name, hub_cache_repo *r) {
  memset(r, 0, sizeof *r);
  util_sb sb = {0};
  for (const char *p = name + strlen("models--"); *p; p++) {
    if (p[0] == '-' && p[1] == '-') {
      util_sb_putc(&sb, '/');
      p++;
    } else {
      util_sb_putc(&sb, *p);
    }
  }
  r->repo = util_sb_take(&sb);
  r->dir = util_path_join(cache, name);
  if (!r->repo || !r->dir) return MR_ENOMEM;
  du all = {0}, partial = {0};
  disk_usage(r->dir, 0, &all);
  r->bytes = all.bytes;
  r->modified = all.modified;
  char **names;
  int n;
  char *blobs = util_path_join(r->dir, "blobs"), *snaps = util_path_join(r->dir, "snapshots");
  if (blobs && list_dir(blobs, &names, &n) == MR_OK) {
    for (int i = 0; i < n; i++) {
      size_t len = strlen(names[i]);
      if (len < 11 || strcmp(names[i] + len - 11, ".incomplete")) continue;
      char *p = util_path_join(blobs, names[i]);
      if (p) disk_usage(p, 0, &partial);
      mr_free(p);
    }
    free_names(names, n);
  }
  r->partial_bytes = partial.bytes;
  names = NULL;
  n = 0;
  int rc = snaps ? list_dir(snaps, &names, &n) : MR_ENOMEM;
  if (rc == MR_OK && n) {
    qsort(names, (size_t)n, sizeof *names, cmp_name);
    if (!(r->revs = util_calloc((size_t)n, sizeof *r->revs))) rc = MR_ENOMEM;
    for (int i = 0; rc == MR_OK && i < n; i++) {
      hub_cache_rev *v = &r->revs[r->nrevs++];
      char *p = util_path_join(snaps, names[i]);
      du u = {0};
      if (p) disk_usage(p, 1, &u);
      mr_free(p);
      snprintf(v->commit, sizeof v->commit, "%s", names[i]);
      v->files = u.files;
      v->bytes = u.bytes;
      v->modified = u.modified;
      refs_of(r->dir, names[i], v->refs, sizeof v->refs);
    }
  }
  free_names(names, n);
  mr_free(blobs);
  mr_free(snaps);
  return rc;
}

int hub_cache_scan(const char *cache, hub_cache_repo **repos, int *n, mr_error *err) {
  *repos = NULL;
  *n = 0;
  char **names;
  int count;
  int rc = list_dir(cache, &names, &count);
  if (rc == MR_EIO) return util_err(err, MR_EIO, "%s: cannot read: %s", cache, strerror(errno));
  if (rc != MR_OK) return util_err_nomem(err, cache);
  if (count) qsort(names, (size_t)count, sizeof *names, cmp_name);
  if (count && !(*repos = util_calloc((size_t)count, sizeof **repos))) rc = MR_ENOMEM;
  for (int i = 0; rc == MR_OK && i < count; i++) {
    char *dir = util_path_join(cache, names[i]);
    int is_repo = !strncmp(names[i], "models--", 8) && dir && util_is_dir(dir);
    mr_free(dir);
    if (is_repo) rc = scan_repo(cache, names[i], &(*repos)[(*n)++]);
  }
  free_names(names, count);
  if (rc != MR_OK) {
    hub_cache_scan_free(*repos, *n);
    *repos = NULL;
    *n = 0;
    return util_err_nomem(err, cache);
  }
  return MR_OK;
}

void hub_cache_scan_free(hub_cache_repo *repos, int n) {
  for (int i = 0; repos && i < n; i++) {
    mr_free(repos[i].repo);
    mr_free(repos[i].dir);
    mr_free(repos[i].revs);
  }
  mr_free(repos);
}

/* Blob names the symlinks below `path` point to, appended to *names. */
static int linked_blobs(const char *path, char ***names, int *n) {
  struct stat st;
  if (lstat(path, &st) != 0) return MR_OK;
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len <= 0) return MR_OK;
    target[len] = 0;
    const char *base = strrchr(target, '/');
    char **g = mr_realloc(*names, (size_t)(*n + 1) * sizeof *g);
    if (!g) return MR_ENOMEM;
    *names = g;
    if (!(g[*n] = util_strdup(base ? base + 1 : target))) return MR_ENOMEM;
    (*n)++;
    return MR_OK;
  }
  char **sub;
  int ns, rc = S_ISDIR(st.st_mode) ? list_dir(path, &sub, &ns) : MR_OK;
  if (!S_ISDIR(st.st_mode) || rc != MR_OK) return rc == MR_EIO ? MR_OK : rc;
  for (int i = 0; rc == MR_OK && i < ns; i++) {
    char *p = util_path_join(path, sub[i]);
    rc = p ? linked_blobs(p, names, n) : MR_ENOMEM;
    mr_free(p);
  }
  free_names(sub, ns);
  return rc;
}

/* Remove the blobs that no remaining snapshot links to (downloads in progress are kept). */
static int collect_garbage(const char *dir, int64_t *freed) {
  char **used = NULL, **blobs = NULL;
  int nused = 0, nblobs = 0;
  char *snaps = util_path_join(dir, "snapshots"), *bdir = util_path_join(dir, "blobs");
  int rc = snaps && bdir ? linked_blobs(snaps, &used, &nused) : MR_ENOMEM;
  if (rc == MR_OK) rc = list_dir(bdir, &blobs, &nblobs);
  if (rc == MR_OK && nused) qsort(used, (size_t)nused, sizeof *used, cmp_name);
  for (int i = 0; rc == MR_OK && i < nblobs; i++) {
    size_t len = strlen(blobs[i]);
    if (len > 11 && !strcmp(blobs[i] + len - 11, ".incomplete")) continue;
    if (nused && bsearch(&blobs[i], used, (size_t)nused, sizeof *used, cmp_name)) continue;
    char *p = util_path_join(bdir, blobs[i]);
    du u = {0};
    if (p) disk_usage(p, 0, &u);
    if (p && unlink(p) == 0) *freed += u.bytes;
    mr_free(p);
  }
  free_names(used, nused);
  free_names(blobs, nblobs);
  mr_free(snaps);
  mr_free(bdir);
  return rc;
}

/* Remove snapshots/<commit> and every ref holding it. */
static int delete_revision(const char *dir, const char *commit, int64_t *freed, mr_error *err) {
  char *snap = join2(dir, "snapshots", commit), *refs = util_path_join(dir, "refs");
  du u = {0};
  int rc = snap && refs ? MR_OK : util_err_nomem(err, dir);
  if (rc == MR_OK) disk_usage(snap, 0, &u); /* files unzipped into the snapshot; linked blobs are counted by the GC */
  if (rc == MR_OK && (rc = util_remove_tree(snap, err)) == MR_OK) *freed += u.bytes;
  if (rc != MR_OK) {
    mr_free(snap);
    mr_free(refs);
    return rc;
  }
  char **names;
  int n;
  if (list_dir(refs, &names, &n) == MR_OK) {
    for (int i = 0; i < n; i++) {
      char *c = NULL, *p = util_path_join(refs, names[i]);
      if (hub_cache_read_ref(dir, names[i], &c, NULL) == MR_OK && !strcmp(c, commit) && p) unlink(p);
      mr_free(c);
      mr_free(p);
    }
    free_names(names, n);
  }
  mr_free(snap);
  mr_free(refs);
  rc = collect_garbage(dir, freed);
  return rc == MR_ENOMEM ? util_err_nomem(err, dir) : rc ? util_err(err, rc, "%s: cannot list its blobs", dir) : MR_OK;
}

int hub_cache_delete(const char *cache, const char *repo, const char *rev, int64_t *freed, mr_error *err) {
  *freed = 0;
  char *dir = hub_cache_repo_dir(cache, repo);
  if (!dir) return util_err_nomem(err, repo);
  int rc = MR_OK;
  if (!util_is_dir(dir)) {
    rc = util_err(err, MR_ENOTFOUND, "%s is not in the cache at %s", repo, cache);
  } else if (!rev) {
    du u = {0};
    disk_usage(dir, 0, &u);
    if ((rc = util_remove_tree(dir, err)) == MR_OK) *freed = u.bytes;
  } else {
    char *commit = NULL;
    if (hub_cache_read_ref(dir, rev, &commit, NULL) != MR_OK) {
      rc = util_err(err, MR_ENOTFOUND, "%s has no revision '%s' in the cache at %s (milrun cache ls lists them)",
                    repo, rev, cache);
    } else {
      rc = delete_revision(dir, commit, freed, err);
    }
    mr_free(commit);
  }
  mr_free(dir);
  return rc;
}
