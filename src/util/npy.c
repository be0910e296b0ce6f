/* npy.c — .npy reading and writing. The header is a Python dict literal; we read the three keys it
 * always has ('descr', 'fortran_order', 'shape') with a small scanner and refuse anything else. */
#include "util/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"
#include "util/strbuf.h"

static const char *find_key(const char *h, const char *key) {
  const char *p = strstr(h, key);
  if (!p) return NULL;
  p += strlen(key);
  while (*p == ' ' || *p == '\'' || *p == ':' || *p == '"') p++;
  return p;
}

static int parse_header(const char *path, const char *h, char *descr, size_t dsz, int *rank,
                        int64_t *shape, mr_error *err) {
  const char *d = find_key(h, "descr");
  const char *fo = find_key(h, "fortran_order");
  const char *sh = find_key(h, "shape");
  if (!d || !fo || !sh) return util_err(err, MR_EFORMAT, "%s: .npy header lacks descr, fortran_order or shape", path);
  size_t n = 0;
  while (d[n] && d[n] != '\'' && d[n] != '"' && n + 1 < dsz) n++;
  memcpy(descr, d, n);
  descr[n] = 0;
  if (strncmp(fo, "False", 5)) return util_err(err, MR_ENOTSUP, "%s: Fortran-order arrays are not supported", path);
  if (*sh != '(') return util_err(err, MR_EFORMAT, "%s: malformed shape in .npy header", path);
  sh++;
  *rank = 0;
  for (;;) {
    while (*sh == ' ' || *sh == ',') sh++;
    if (*sh == ')') break;
    char *end;
    long long v = strtoll(sh, &end, 10);
    if (end == sh || v < 0) return util_err(err, MR_EFORMAT, "%s: malformed shape in .npy header", path);
    if (*rank == MR_MAX_RANK) return util_err(err, MR_ENOTSUP, "%s: rank above %d", path, MR_MAX_RANK);
    shape[(*rank)++] = v;
    sh = end;
  }
  return MR_OK;
}

static int convert(const char *path, const char *descr, const unsigned char *src, size_t avail, mr_tensor *t,
                   mr_error *err) {
  int64_t n = mr_tensor_count(t);
  size_t esz;
  if (!strcmp(descr, "<f4")) { t->dtype = MR_FLOAT32; esz = 4; }
  else if (!strcmp(descr, "<f2")) { t->dtype = MR_FLOAT16; esz = 2; }
  else if (!strcmp(descr, "<f8")) { t->dtype = MR_FLOAT32; esz = 8; }
  else if (!strcmp(descr, "<i4")) { t->dtype = MR_INT32; esz = 4; }
  else if (!strcmp(descr, "<i8")) { t->dtype = MR_INT32; esz = 8; }
  else if (!strcmp(descr, "|b1") || !strcmp(descr, "|u1")) { t->dtype = MR_BOOL; esz = 1; }
  else return util_err(err, MR_ENOTSUP, "%s: unsupported dtype '%s' (use float32, float16, int32 or bool)", path, descr);
  if (n < 0 || (size_t)n > avail / esz)
    return util_err(err, MR_EFORMAT, "%s: data is shorter than its shape needs (%lld elements of %zu bytes)", path,
                    (long long)n, esz);
  size_t osz = mr_dtype_size(t->dtype);
  t->data = mr_alloc((size_t)n * osz + 1);
  if (!t->data) return util_err_nomem(err, path);
  if (esz == osz) {
    memcpy(t->data, src, (size_t)n * osz);
    if (t->dtype == MR_BOOL)
      for (int64_t i = 0; i < n; i++) ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
    return MR_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    if (esz == 8 && t->dtype == MR_FLOAT32) {
      double v;
      memcpy(&v, src + i * 8, 8);
      ((float *)t->data)[i] = (float)v;
    } else {
      int64_t v;
      memcpy(&v, src + i * 8, 8);
      if (v < INT32_MIN || v > INT32_MAX) {
        mr_free(t->data);
        t->data = NULL;
        return util_err(err, MR_EFORMAT, "%s: int64 value %lld does not fit int32", path, (long long)v);
      }
      ((int32_t *)t->data)[i] = (int32_t)v;
    }
  }
  return MR_OK;
}

/* NumPy's name of a descr this reader accepts. */
static const char *stored_name(const char *descr) {
  static const char *const names[][2] = {{"<f4", "float32"}, {"<f2", "float16"}, {"<f8", "float64"}, {"<i4", "int32"},
                                         {"<i8", "int64"},   {"|b1", "bool"},    {"|u1", "uint8"}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (!strcmp(descr, names[i][0])) return names[i][1];
  return "?";
}

int util_npy_read(const char *path, mr_tensor *t, mr_error *err) { return util_npy_read_stored(path, t, NULL, err); }

int util_npy_read_stored(const char *path, mr_tensor *t, const char **stored, mr_error *err) {
  memset(t, 0, sizeof *t);
  util_map m;
  int rc = util_map_open(&m, path, err);
  if (rc) return rc;
  const unsigned char *p = m.data;
  size_t hlen = 0, hstart = 0;
  if (m.size < 10 || memcmp(p, "\x93NUMPY", 6)) {
    rc = util_err(err, MR_EFORMAT, "%s: not a .npy file", path);
  } else if (p[6] == 1) {
    hlen = (size_t)p[8] | (size_t)p[9] << 8;
    hstart = 10;
  } else if ((p[6] == 2 || p[6] == 3) && m.size >= 12) {
    hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
    hstart = 12;
  } else {
    rc = util_err(err, MR_ENOTSUP, "%s: unsupported .npy version %d", path, p[6]);
  }
  if (!rc && hlen > m.size - hstart) rc = util_err(err, MR_EFORMAT, "%s: truncated .npy header", path);
  if (!rc) {
    char *h = util_strndup((const char *)p + hstart, hlen);
    char descr[16];
    if (!h) rc = util_err_nomem(err, path);
    else rc = parse_header(path, h, descr, sizeof descr, &t->rank, t->shape, err);
    mr_free(h);
    if (!rc) rc = convert(path, descr, p + hstart + hlen, m.size - hstart - hlen, t, err);
    if (!rc && stored) *stored = stored_name(descr);
  }
  util_map_close(&m);
  return rc;
}

int util_npy_write(const char *path, const mr_tensor *t, mr_error *err) {
  const char *descr = t->dtype == MR_FLOAT32 ? "<f4" : t->dtype == MR_FLOAT16 ? "<f2" : t->dtype == MR_INT32 ? "<i4" : "|b1";
  util_sb h = {0};
  util_sb_printf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->rank; i++) util_sb_printf(&h, "%lld%s", (long long)t->shape[i], t->rank == 1 ? "," : i + 1 < t->rank ? ", " : "");
  util_sb_puts(&h, "), }");
  while ((10 + h.len + 1) % 64) util_sb_putc(&h, ' ');
  util_sb_putc(&h, '\n');
  size_t data = (size_t)mr_tensor_count(t) * mr_dtype_size(t->dtype);
  size_t total = 10 + h.len + data;
  unsigned char *buf = util_sb_failed(&h) ? NULL : mr_alloc(total);
  if (!buf) {
    util_sb_free(&h);
    return util_err_nomem(err, path);
  }
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(h.len & 0xff);
  buf[9] = (unsigned char)(h.len >> 8);
  memcpy(buf + 10, h.buf, h.len);
  memcpy(buf + 10 + h.len, t->data, data);
  int rc = util_write_file_atomic(path, buf, total, err);
  mr_free(buf);
  util_sb_free(&h);
  return rc;
}
