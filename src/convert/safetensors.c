/* safetensors.c — the safetensors container: an 8-byte little-endian header length, a JSON object
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data. Every
 * tensor is checked against the file size and its dtype and shape before it is exposed, so that a
 * truncated or forged file gives an error here instead of a read past the mapping later. */
#include "convert/safetensors.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"

static int parse_dtype(const char *s, conv_st_dtype *dt) {
  if (!strcmp(s, "F32")) *dt = CONV_ST_F32;
  else if (!strcmp(s, "F16")) *dt = CONV_ST_F16;
  else if (!strcmp(s, "BF16")) *dt = CONV_ST_BF16;
  else return -1;
  return 0;
}

static int dtype_size(conv_st_dtype dt) { return dt == CONV_ST_F32 ? 4 : 2; }

/* One header entry -> st->t[st->n]. */
static int add_tensor(conv_st *st, int file, const cJSON *e, const unsigned char *base, uint64_t data_size,
                      mr_error *err) {
  const char *path = st->files[file], *name = e->string;
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
      cJSON_GetArraySize(offs) != 2)
    return util_err(err, MR_EFORMAT, "%s: tensor '%s': header entry needs dtype, shape and data_offsets", path, name);
  conv_st_tensor *t = &st->t[st->n];
  memset(t, 0, sizeof *t);
  if (parse_dtype(dt->valuestring, &t->dtype))
    return util_err(err, MR_ENOTSUP, "%s: tensor '%s' has dtype %s; only BF16, F16 and F32 checkpoints are supported",
                    path, name, dt->valuestring);
  t->rank = cJSON_GetArraySize(shape);
  if (t->rank > 4) return util_err(err, MR_ENOTSUP, "%s: tensor '%s' has rank %d (at most 4)", path, name, t->rank);
  t->count = 1;
  for (int i = 0; i < t->rank; i++) {
    const cJSON *d = cJSON_GetArrayItem(shape, i);
    if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 1e12)
      return util_err(err, MR_EFORMAT, "%s: tensor '%s': bad shape", path, name);
    t->shape[i] = (int64_t)d->valuedouble;
    t->count *= t->shape[i];
  }
  const cJSON *b = cJSON_GetArrayItem(offs, 0), *en = cJSON_GetArrayItem(offs, 1);
  if (!cJSON_IsNumber(b) || !cJSON_IsNumber(en) || b->valuedouble < 0 || en->valuedouble < b->valuedouble)
    return util_err(err, MR_EFORMAT, "%s: tensor '%s': bad data_offsets", path, name);
  uint64_t begin = (uint64_t)b->valuedouble, end = (uint64_t)en->valuedouble;
  if (end > data_size)
    return util_err(err, MR_EFORMAT, "%s: tensor '%s' ends at byte %llu of the data but the file holds %llu (truncated?)",
                    path, name, (unsigned long long)end, (unsigned long long)data_size);
  if (end - begin != (uint64_t)t->count * (uint64_t)dtype_size(t->dtype))
    return util_err(err, MR_EFORMAT, "%s: tensor '%s': %llu data bytes for %lld elements of %s", path, name,
                    (unsigned long long)(end - begin), (long long)t->count, dt->valuestring);
  t->name = util_strdup(name);
  if (!t->name) return util_err_nomem(err, "safetensors");
  t->data = base + begin;
  t->file = file;
  st->n++;
  return MR_OK;
}

/* Map file number `file` and add its tensors. */
static int load_file(conv_st *st, int file, mr_error *err) {
  const char *path = st->files[file];
  util_map *m = &st->maps[file];
  int rc = util_map_open(m, path, err);
  if (rc) return rc;
  if (m->size < 8) return util_err(err, MR_EFORMAT, "%s: too short for a safetensors file (%zu bytes)", path, m->size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | m->data[i];
  if (hlen > m->size - 8)
    return util_err(err, MR_EFORMAT, "%s: header length %llu exceeds the file size %zu (truncated?)", path,
                    (unsigned long long)hlen, m->size);
  cJSON *h = cJSON_ParseWithLength((const char *)m->data + 8, (size_t)hlen);
  if (!cJSON_IsObject(h)) {
    cJSON_Delete(h);
    return util_err(err, MR_EFORMAT, "%s: the header is not a JSON object", path);
  }
  int n = 0;
  for (const cJSON *e = h->child; e; e = e->next) n++;
  conv_st_tensor *nt = mr_realloc(st->t, (size_t)(st->n + n + 1) * sizeof *nt);
  if (!nt) {
    cJSON_Delete(h);
    return util_err_nomem(err, "safetensors");
  }
  st->t = nt;
  for (const cJSON *e = h->child; e && !rc; e = e->next)
    if (strcmp(e->string, "__metadata__") != 0)
      rc = add_tensor(st, file, e, m->data + 8 + hlen, m->size - 8 - hlen, err);
  cJSON_Delete(h);
  return rc;
}

static int add_file(conv_st *st, const char *dir, const char *name, mr_error *err) {
  for (int i = 0; i < st->n_files; i++) {
    const char *base = strrchr(st->files[i], '/');
    if (base && !strcmp(base + 1, name)) return MR_OK;
  }
  if (strchr(name, '/') || !strcmp(name, "..")) return util_err(err, MR_EFORMAT, "%s: bad shard name '%s'", dir, name);
  char **nf = mr_realloc(st->files, (size_t)(st->n_files + 1) * sizeof *nf);
  if (!nf) return util_err_nomem(err, "safetensors");
  st->files = nf;
  util_map *nm = mr_realloc(st->maps, (size_t)(st->n_files + 1) * sizeof *nm);
  if (!nm) return util_err_nomem(err, "safetensors");
  st->maps = nm;
  memset(&st->maps[st->n_files], 0, sizeof *nm);
  st->files[st->n_files] = util_path_join(dir, name);
  if (!st->files[st->n_files]) return util_err_nomem(err, "safetensors");
  st->n_files++;
  return MR_OK;
}

/* The shard list of model.safetensors.index.json (its weight_map values). */
static int read_index(conv_st *st, const char *dir, const char *index_path, mr_error *err) {
  char *text = NULL;
  size_t size;
  int rc = util_read_file(index_path, &text, &size, err);
  if (rc) return rc;
  cJSON *j = cJSON_Parse(text);
  mr_free(text);
  const cJSON *wm = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
  if (!cJSON_IsObject(wm)) rc = util_err(err, MR_EFORMAT, "%s: no \"weight_map\" object", index_path);
  for (const cJSON *e = wm ? wm->child : NULL; e && !rc; e = e->next) {
    if (!cJSON_IsString(e)) rc = util_err(err, MR_EFORMAT, "%s: weight_map['%s'] is not a file name", index_path, e->string);
    else rc = add_file(st, dir, e->valuestring, err);
  }
  cJSON_Delete(j);
  return rc;
}

int conv_st_open(conv_st *st, const char *dir, mr_error *err) {
  memset(st, 0, sizeof *st);
  char *index = util_path_join(dir, "model.safetensors.index.json");
  if (!index) return util_err_nomem(err, "safetensors");
  int rc;
  if (util_exists(index)) {
    rc = read_index(st, dir, index, err);
  } else {
    char *single = util_path_join(dir, "model.safetensors");
    rc = !single ? util_err_nomem(err, "safetensors")
         : util_exists(single) ? add_file(st, dir, "model.safetensors", err)
                               : util_err(err, MR_ENOTFOUND, "%s: no model.safetensors or model.safetensors.index.json", dir);
    mr_free(single);
  }
  mr_free(index);
  for (int i = 0; !rc && i < st->n_files; i++) rc = load_file(st, i, err);
  if (rc) conv_st_close(st);
  return rc;
}

void conv_st_close(conv_st *st) {
  for (int i = 0; i < st->n_files; i++) {
    util_map_close(&st->maps[i]);
    mr_free(st->files[i]);
  }
  for (int i = 0; i < st->n; i++) mr_free(st->t[i].name);
  mr_free(st->files);
  mr_free(st->maps);
  mr_free(st->t);
  memset(st, 0, sizeof *st);
}

const conv_st_tensor *conv_st_find(const conv_st *st, const char *name) {
  for (int i = 0; i < st->n; i++)
    if (!strcmp(st->t[i].name, name)) return &st->t[i];
  return NULL;
}

static void shape_str(int rank, const int64_t *shape, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < rank && o < size; i++) o += (size_t)snprintf(buf + o, size - o, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (o < size) snprintf(buf + o, size - o, "]");
}

int conv_st_get(const conv_st *st, const char *name, int rank, const int64_t *shape, const conv_st_tensor **out,
                mr_error *err) {
  const conv_st_tensor *t = conv_st_find(st, name);
  if (!t) return util_err(err, MR_ENOTFOUND, "%s: missing tensor '%s'", st->n_files ? st->files[0] : "checkpoint", name);
  int ok = t->rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = t->shape[i] == shape[i];
  if (!ok) {
    char a[96], b[96];
    shape_str(t->rank, t->shape, a, sizeof a);
    shape_str(rank, shape, b, sizeof b);
    return util_err(err, MR_ESHAPE, "%s: tensor '%s' has shape %s, expected %s from config.json", st->files[t->file], name, a, b);
  }
  *out = t;
  return MR_OK;
}

void conv_st_read_f32(const conv_st_tensor *t, int64_t start, int64_t count, float *out) {
  const unsigned char *p = t->data + start * dtype_size(t->dtype);
  for (int64_t i = 0; i < count; i++) {
    uint16_t h;
    switch (t->dtype) {
    case CONV_ST_F32: memcpy(&out[i], p + 4 * i, 4); break;
    case CONV_ST_F16: memcpy(&h, p + 2 * i, 2); out[i] = util_f16_to_f32(h); break;
    case CONV_ST_BF16: memcpy(&h, p + 2 * i, 2); out[i] = util_bf16_to_f32(h); break;
    }
  }
}

void conv_st_release(const conv_st *st, const conv_st_tensor *t, int64_t start, int64_t count) {
  if (st->maps[t->file].mapped != 1) return; /* heap copy: MADV_DONTNEED would zero it */
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t a = (uintptr_t)(t->data + start * dtype_size(t->dtype));
  uintptr_t b = a + (uintptr_t)(count * dtype_size(t->dtype));
  a = (a + page - 1) / page * page; /* whole pages inside the range only */
  b = b / page * page;
  if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}
