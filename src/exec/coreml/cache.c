/* cache.c — a model package compiled by Core ML once: the compiled .mlmodelc is kept next to the
 * package, in .milrun-cache/NAME-KEY.mlmodelc, where KEY hashes the package's file names and
 * contents, so an edited package is compiled again and an unchanged one loads at once. The key is
 * not cryptographic: it tells versions of one package apart, it does not authenticate them. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/coreml/coreml.h"
#include "exec/coreml/objc.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

/* Four 64-bit FNV-1a lanes over 8-byte words: a few GB/s, so hashing weights costs little next to
 * loading them. */
typedef struct cm_hash {
  uint64_t lane[4];
} cm_hash;

static void hash_bytes(cm_hash *h, const unsigned char *p, size_t n) {
  const uint64_t prime = 0x100000001b3ull;
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; k++) {
      uint64_t w;
      memcpy(&w, p + i + 8 * k, 8);
      h->lane[k] = (h->lane[k] ^ w) * prime;
    }
  for (; i < n; i++) h->lane[0] = (h->lane[0] ^ p[i]) * prime;
  h->lane[1] = (h->lane[1] ^ n) * prime; /* lengths separate names from contents */
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Hash path (a file, or a folder walked in name order) into h; rel is its name inside the package. */
static int hash_tree(cm_hash *h, const char *path, const char *rel, mr_error *err) {
  hash_bytes(h, (const unsigned char *)rel, strlen(rel));
  if (!util_is_dir(path)) {
    util_map map;
    int rc = util_map_open(&map, path, err);
    if (rc) return rc;
    hash_bytes(h, map.data, map.size);
    util_map_close(&map);
    return MR_OK;
  }
  DIR *d = opendir(path);
  if (!d) return util_err(err, MR_EIO, "%s: cannot list: %s", path, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = MR_OK;
  for (struct dirent *e; !rc && (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (n == cap) {
      char **bigger = mr_realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
      if (!bigger) rc = util_err_nomem(err, path);
      else names = bigger;
    }
    if (!rc && !(names[n++] = util_strdup(e->d_name))) rc = util_err_nomem(err, path);
  }
  closedir(d);
  if (!rc) qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    char *child = rc || !names[i] ? NULL : util_path_join(path, names[i]);
    if (!rc && !child) rc = util_err_nomem(err, path);
    if (!rc) rc = hash_tree(h, child, names[i], err);
    mr_free(child);
    mr_free(names[i]);
  }
  mr_free(names);
  return rc;
}

/* NAME of dir/NAME.ext, and dir. */
static void split_package_path(const char *pkg, char *dir, size_t dcap, char *stem, size_t scap) {
  const char *slash = strrchr(pkg, '/');
  const char *base = slash ? slash + 1 : pkg;
  snprintf(dir, dcap, "%.*s", slash ? (int)(slash - pkg) : 1, slash ? pkg : ".");
  const char *dot = strrchr(base, '.');
  snprintf(stem, scap, "%.*s", dot ? (int)(dot - base) : (int)strlen(base), base);
}

/* Remove the cache's other compilations of the same package (older versions of it). */
static void drop_stale(const char *cache_dir, const char *stem, const char *keep) {
  DIR *d = opendir(cache_dir);
  if (!d) return;
  size_t len = strlen(stem);
  for (struct dirent *e; (e = readdir(d));) {
    if (strncmp(e->d_name, stem, len) || e->d_name[len] != '-' || !strcmp(e->d_name, keep)) continue;
    char *old = util_path_join(cache_dir, e->d_name);
    if (old) util_remove_tree(old, NULL);
    mr_free(old);
  }
  closedir(d);
}

/* Core ML's compilation (a folder in a temporary directory), moved to final; when the package's
 * folder cannot hold the cache, the temporary compilation is used as it is. */
static int compile_into(const char *pkg, const char *final, char **out, mr_error *err) {
  id pool = oc_pool_push();
  id nserr = nil;
  id url = OC_SEND(id, (id, SEL, id, id *), oc_class("MLModel"), "compileModelAtURL:error:", oc_file_url(pkg), &nserr);
  int rc = MR_OK;
  if (!url) {
    rc = util_err(err, MR_EFORMAT, "%s: Core ML cannot compile it: %s", pkg, oc_error_text(nserr, "no reason given"));
  } else {
    char tmp[4700];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", final, (long)getpid());
    util_remove_tree(tmp, NULL);
    id fm = oc_msg(oc_class("NSFileManager"), "defaultManager");
    nserr = nil;
    int moved = OC_SEND(BOOL, (id, SEL, id, id, id *), fm, "moveItemAtURL:toURL:error:", url, oc_file_url(tmp), &nserr) != 0;
    if (moved && rename(tmp, final) != 0) { /* another process cached it first: use theirs */
      util_remove_tree(tmp, NULL);
      moved = util_is_dir(final);
    }
    *out = util_strdup(moved ? final : oc_cstring(oc_msg(url, "path")));
    if (!*out) rc = util_err_nomem(err, pkg);
  }
  oc_pool_pop(pool);
  return rc;
}

int cm_compiled_model(const char *pkg, char **out, mr_error *err) {
  *out = NULL;
  cm_hash h = {{0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9ce484222325cbf2ull, 0x2325cbf29ce48422ull}};
  int rc = hash_tree(&h, pkg, "", err);
  if (rc) return rc;
  uint64_t key = h.lane[0] ^ (h.lane[1] * 31) ^ (h.lane[2] * 961) ^ (h.lane[3] * 29791);
  char dir[4096], stem[256], cache_dir[4200], name[300], final[4600];
  split_package_path(pkg, dir, sizeof dir, stem, sizeof stem);
  snprintf(cache_dir, sizeof cache_dir, "%s/.milrun-cache", dir);
  snprintf(name, sizeof name, "%s-%016llx.mlmodelc", stem, (unsigned long long)key);
  snprintf(final, sizeof final, "%s/%s", cache_dir, name);
  if (util_is_dir(final)) {
    *out = util_strdup(final);
    return *out ? MR_OK : util_err_nomem(err, pkg);
  }
  mr_error ignored;
  if (util_mkdirs(cache_dir, &ignored) == MR_OK) drop_stale(cache_dir, stem, name);
  return compile_into(pkg, final, out, err);
}
