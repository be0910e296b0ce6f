/* unzip.c — extracting a zip archive with libzip, refusing anything that would write outside
 * the destination folder ("zip slip": absolute names, "..", links pointing out, or a file written
 * through a link the archive created). */
#include "hub/unzip.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "hub/cache.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strbuf.h"

/* Does the link at entry `name` with `target` stay inside the root? Walk the folders of `name`
 * then the target's components, tracking the depth below the root. */
static int link_stays_inside(const char *name, const char *target) {
  if (!*target || *target == '/') return 0;
  int depth = 0;
  for (const char *p = name; *p; p++)
    if (*p == '/') depth++;
  const char *s = target;
  while (*s) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (--depth < 0) return 0;
    } else if (n > 0 && !(n == 1 && s[0] == '.')) {
      depth++;
    }
    s += n;
    if (*s == '/') s++;
  }
  return 1;
}

/* Refuse to create `rel` under `root` through a link made by an earlier entry. */
static int through_link(const char *root, const char *rel) {
  util_sb sb = {0};
  util_sb_puts(&sb, root);
  int bad = 0;
  for (const char *s = rel; !bad;) {
    size_t n = strcspn(s, "/");
    if (!s[n]) break; /* the last component is the entry itself */
    util_sb_putc(&sb, '/');
    util_sb_append(&sb, s, n);
    struct stat st;
    if (lstat(util_sb_cstr(&sb), &st) == 0 && S_ISLNK(st.st_mode)) bad = 1;
    s += n + 1;
  }
  util_sb_free(&sb);
  return bad;
}

static int mkparent(const char *path, mr_error *err) {
  const char *slash = strrchr(path, '/');
  char *dir = util_strndup(path, (size_t)(slash - path));
  if (!dir) return util_err_nomem(err, path);
  int rc = util_mkdirs(dir, err);
  mr_free(dir);
  return rc;
}

/* Read entry i whole into a new buffer (used for link targets, which are short). */
static char *read_small(zip_t *z, zip_uint64_t i, zip_uint64_t size) {
  if (size > 4096) return NULL;
  zip_file_t *f = zip_fopen_index(z, i, 0);
  char *buf = f ? mr_alloc((size_t)size + 1) : NULL;
  if (buf && zip_fread(f, buf, size) != (zip_int64_t)size) {
    mr_free(buf);
    buf = NULL;
  }
  if (buf) buf[size] = 0;
  if (f) zip_fclose(f);
  return buf;
}

static int write_entry(zip_t *z, zip_uint64_t i, const char *zip_path, const char *name, const char *out, mr_error *err) {
  zip_file_t *f = zip_fopen_index(z, i, 0);
  if (!f) return util_err(err, MR_EFORMAT, "%s: entry '%s': %s", zip_path, name, zip_strerror(z));
  FILE *o = fopen(out, "wb");
  if (!o) {
    zip_fclose(f);
    return util_err(err, MR_EIO, "%s: %s", out, strerror(errno));
  }
  char buf[1 << 16];
  zip_int64_t got;
  int rc = MR_OK;
  while ((got = zip_fread(f, buf, sizeof buf)) > 0)
    if (fwrite(buf, 1, (size_t)got, o) != (size_t)got) {
      rc = util_err(err, MR_EIO, "%s: cannot write: %s", out, strerror(errno));
      break;
    }
  if (rc == MR_OK && got < 0)
    rc = util_err(err, MR_EFORMAT, "%s: entry '%s' is corrupt: %s", zip_path, name, zip_file_strerror(f));
  if (fclose(o) != 0 && rc == MR_OK) rc = util_err(err, MR_EIO, "%s: cannot write: %s", out, strerror(errno));
  zip_fclose(f);
  return rc;
}

static int is_link(zip_t *z, zip_uint64_t i) {
  zip_uint8_t opsys;
  zip_uint32_t attr;
  if (zip_file_get_external_attributes(z, i, 0, &opsys, &attr) != 0) return 0;
  return opsys == ZIP_OPSYS_UNIX && S_ISLNK((attr >> 16) & 0xffff);
}

/* Extract entry i (named `name` after the common prefix is stripped) under root. */
static int extract(zip_t *z, zip_uint64_t i, const char *zip_path, const char *full, const char *name,
                   const char *root, mr_error *err) {
  size_t n = strlen(name);
  int dir = n && name[n - 1] == '/';
  char *rel = util_strndup(name, dir ? n - 1 : n);
  if (!rel) return util_err_nomem(err, zip_path);
  int rc = MR_OK;
  char *out = NULL;
  if (!*rel) goto done; /* the stripped top folder itself */
  if (!hub_safe_relpath(rel)) {
    rc = util_err(err, MR_EFORMAT, "%s: entry '%s' has an absolute path or a '..' component: refusing to unzip",
                  zip_path, full);
    goto done;
  }
  if (through_link(root, rel)) {
    rc = util_err(err, MR_EFORMAT, "%s: entry '%s' would be written through a link: refusing to unzip", zip_path, full);
    goto done;
  }
  out = util_path_join(root, rel);
  if (!out) {
    rc = util_err_nomem(err, zip_path);
    goto done;
  }
  if (dir) {
    rc = util_mkdirs(out, err);
    goto done;
  }
  rc = mkparent(out, err);
  if (rc != MR_OK) goto done;
  if (is_link(z, i)) {
    zip_stat_t st;
    char *target = zip_stat_index(z, i, 0, &st) == 0 ? read_small(z, i, st.size) : NULL;
    if (!target || !link_stays_inside(rel, target))
      rc = util_err(err, MR_EFORMAT, "%s: entry '%s' is a link to '%s' outside the folder: refusing to unzip",
                    zip_path, full, target ? target : "?");
    else if (symlink(target, out) != 0)
      rc = util_err(err, MR_EIO, "%s: cannot create the link: %s", out, strerror(errno));
    mr_free(target);
  } else {
    rc = write_entry(z, i, zip_path, full, out, err);
  }
done:
  mr_free(out);
  mr_free(rel);
  return rc;
}

/* The length of "<basename of dest>/" when every entry starts with it, else 0. */
static size_t common_prefix(zip_t *z, zip_int64_t count, const char *dest) {
  const char *base = strrchr(dest, '/');
  base = base ? base + 1 : dest;
  size_t n = strlen(base);
  if (count == 0) return 0;
  for (zip_int64_t i = 0; i < count; i++) {
    const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
    if (!name || strncmp(name, base, n) != 0 || name[n] != '/') return 0;
  }
  return n + 1;
}

static int extract_all(zip_t *z, const char *zip_path, const char *dest, const char *root, mr_error *err) {
  zip_int64_t count = zip_get_num_entries(z, 0);
  size_t strip = common_prefix(z, count, dest);
  int rc = util_mkdirs(root, err);
  for (zip_int64_t i = 0; i < count && rc == MR_OK; i++) {
    const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
    if (!name) return util_err(err, MR_EFORMAT, "%s: entry %lld has no name", zip_path, (long long)i);
    rc = extract(z, (zip_uint64_t)i, zip_path, name, name + strip, root, err);
  }
  return rc;
}

int hub_unzip(const char *zip_path, const char *dest, mr_error *err) {
  int zerr = 0;
  zip_t *z = zip_open(zip_path, ZIP_RDONLY, &zerr);
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    int rc = util_err(err, MR_EFORMAT, "%s: not a readable zip archive: %s", zip_path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return rc;
  }
  util_sb sb = {0};
  util_sb_printf(&sb, "%s.unzip-tmp", dest);
  char *tmp = util_sb_take(&sb);
  int rc = tmp ? util_remove_tree(tmp, err) : util_err_nomem(err, zip_path);
  if (rc == MR_OK) rc = extract_all(z, zip_path, dest, tmp, err);
  zip_discard(z);
  if (rc == MR_OK && rename(tmp, dest) != 0)
    rc = util_err(err, MR_EIO, "%s: cannot move the extracted folder into place: %s", dest, strerror(errno));
  if (tmp && rc != MR_OK) util_remove_tree(tmp, NULL);
  mr_free(tmp);
  return rc;
}
