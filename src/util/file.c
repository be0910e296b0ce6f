/* file.c — POSIX file access: mmap for weights, whole-file reads for text, atomic writes, mkdir -p
 * and rm -rf. */
#define _XOPEN_SOURCE 700 /* nftw and FTW_PHYS are XSI: _POSIX_C_SOURCE alone does not declare them */
#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"

int util_map_open(util_map *m, const char *path, mr_error *err) {
  memset(m, 0, sizeof *m);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return util_err(err, errno == ENOENT ? MR_ENOTFOUND : MR_EIO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return util_err(err, MR_EIO, "%s: not a regular file", path);
  }
  m->size = (size_t)st.st_size;
  if (m->size == 0) {
    close(fd);
    m->data = (const unsigned char *)"";
    return MR_OK;
  }
  void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return util_err(err, MR_EIO, "%s: cannot map: %s", path, strerror(errno));
  m->data = p;
  m->mapped = 1;
  return MR_OK;
}

void util_map_close(util_map *m) {
  if (m->mapped == 1 && m->data) munmap((void *)m->data, m->size);
  memset(m, 0, sizeof *m);
}

int util_read_file(const char *path, char **out, size_t *size, mr_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return util_err(err, errno == ENOENT ? MR_ENOTFOUND : MR_EIO, "%s: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = mr_alloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      char *nb = mr_realloc(buf, cap * 2);
      if (!nb) {
        mr_free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf) return util_err_nomem(err, path);
  if (bad) {
    mr_free(buf);
    return util_err(err, MR_EIO, "%s: read error", path);
  }
  buf[n] = 0;
  *out = buf;
  if (size) *size = n;
  return MR_OK;
}

int util_write_file_atomic(const char *path, const void *data, size_t size, mr_error *err) {
  size_t n = strlen(path) + 32;
  char *tmp = mr_alloc(n);
  if (!tmp) return util_err_nomem(err, path);
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    int rc = util_err(err, MR_EIO, "%s: %s", tmp, strerror(errno));
    mr_free(tmp);
    return rc;
  }
  int ok = fwrite(data, 1, size, f) == size;
  ok = (fflush(f) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    int rc = util_err(err, MR_EIO, "%s: cannot write: %s", path, strerror(errno));
    remove(tmp);
    mr_free(tmp);
    return rc;
  }
  mr_free(tmp);
  return MR_OK;
}

char *util_path_join(const char *dir, const char *rel) {
  size_t a = strlen(dir), b = strlen(rel);
  while (a > 1 && dir[a - 1] == '/') a--;
  char *p = mr_alloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, rel, b + 1);
  return p;
}

int util_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int util_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int util_mkdirs(const char *path, mr_error *err) {
  char *p = util_strdup(path);
  if (!p) return util_err_nomem(err, path);
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == 0) {
      char c = *s;
      *s = 0;
      if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        int rc = util_err(err, MR_EIO, "%s: cannot create directory: %s", p, strerror(errno));
        mr_free(p);
        return rc;
      }
      *s = c;
      if (!c) break;
    }
  }
  mr_free(p);
  return MR_OK;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(path); /* FTW_DEPTH: a folder's entries are gone before it comes */
}

int util_remove_tree(const char *path, mr_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return MR_OK;
    return util_err(err, MR_EIO, "%s: cannot remove: %s", path, strerror(errno));
  }
  /* FTW_PHYS: a link is removed, never followed, so nothing outside `path` is touched. */
  if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    return util_err(err, MR_EIO, "%s: cannot remove: %s", path, strerror(errno));
  return MR_OK;
}

int64_t util_tree_bytes(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return 0;
  if (S_ISREG(st.st_mode)) return (int64_t)st.st_size;
  DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
  if (!d) return 0;
  int64_t total = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *sub = util_path_join(path, e->d_name);
    if (sub) total += util_tree_bytes(sub);
    mr_free(sub);
  }
  closedir(d);
  return total;
}
