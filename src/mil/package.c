/* package.c — .mlpackage / .mlmodel on disk around proto_read.c and proto_write.c: the manifest,
 * the containment checks that keep every path the files name inside the package, and the weight
 * files. */
#include "mil/package.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mil/blob.h"
#include "mil/proto_read.h"
#include "mil/proto_write.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

#define MODEL_ITEM "com.apple.CoreML/model.mlmodel"
#define WEIGHTS_ITEM "com.apple.CoreML/weights"
#define MODEL_PATH_PREFIX "@model_path/"
/* model.mlmodel holds the program and small constants; weights live in weight files. */
#define MAX_MODEL_BYTES ((size_t)1 << 30)

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && !strcmp(s + n - m, tail);
}

int mil_package_is(const char *path) {
  if (util_is_dir(path)) {
    char *m = util_path_join(path, "Manifest.json");
    int yes = m && util_exists(m);
    mr_free(m);
    return yes;
  }
  return ends_with(path, ".mlmodel") && util_exists(path);
}

/* A relative path of normal components: no leading '/', no "." or ".." component, not empty. */
static int contained(const char *rel) {
  if (!rel[0] || rel[0] == '/') return 0;
  for (const char *c = rel; *c;) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return 0;
    c += n + (e != NULL);
  }
  return 1;
}

/* Symbolic links may not lead out of the package either. */
static int inside(const char *root, const char *path) {
  char a[PATH_MAX], b[PATH_MAX];
  if (!realpath(root, a) || !realpath(path, b)) return 0;
  size_t n = strlen(a);
  return !strncmp(a, b, n) && (b[n] == '/' || b[n] == 0);
}

static int manifest_model_path(const char *pkg, char **out, mr_error *err) {
  char *mpath = util_path_join(pkg, "Manifest.json"), *text = NULL;
  if (!mpath) return util_err_nomem(err, pkg);
  int rc = util_read_file(mpath, &text, NULL, err);
  cJSON *root = rc ? NULL : cJSON_Parse(text);
  mr_free(text);
  if (!rc && !root) rc = util_err(err, MR_EFORMAT, "%s: invalid JSON", mpath);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "rootModelIdentifier");
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "itemInfoEntries");
  const cJSON *item = cJSON_IsString(id) ? cJSON_GetObjectItemCaseSensitive(items, id->valuestring) : NULL;
  const cJSON *rel = cJSON_GetObjectItemCaseSensitive(item, "path");
  if (!rc && !cJSON_IsString(rel))
    rc = util_err(err, MR_EFORMAT, "%s: rootModelIdentifier does not name an item of itemInfoEntries with a path", mpath);
  else if (!rc && !contained(rel->valuestring))
    rc = util_err(err, MR_EFORMAT, "%s: item path '%s' leaves the package", mpath, rel->valuestring);
  if (!rc) {
    char *data = util_path_join(pkg, "Data");
    *out = data ? util_path_join(data, rel->valuestring) : NULL;
    mr_free(data);
    if (!*out) rc = util_err_nomem(err, mpath);
    else if (util_exists(*out) && !inside(pkg, *out)) {
      rc = util_err(err, MR_EFORMAT, "%s: item path '%s' leaves the package", mpath, rel->valuestring);
      mr_free(*out);
      *out = NULL;
    }
  }
  cJSON_Delete(root);
  mr_free(mpath);
  return rc;
}

static char *dir_of(const char *file) {
  const char *slash = strrchr(file, '/');
  return slash ? util_strndup(file, (size_t)(slash - file)) : util_strdup(".");
}

/* ---- blob references ---- */

typedef int (*blob_fn)(void *ctx, const mil_value *v, const char *op);

static int each_value(const mil_value *v, const char *op, blob_fn fn, void *ctx) {
  if (!v) return MR_OK;
  if (v->kind == MIL_VALUE_BLOB) return fn(ctx, v, op);
  for (int i = 0; v->kind == MIL_VALUE_COMPOSITE && i < v->n_items; i++) {
    int rc = each_value(v->items[i], op, fn, ctx);
    if (rc) return rc;
  }
  return MR_OK;
}

static int each_blob_block(const mil_block *b, blob_fn fn, void *ctx) {
  for (int i = 0; i < b->n_ops; i++) {
    const mil_op *o = &b->ops[i];
    const char *name = mil_op_name(o);
    for (int k = 0; k < o->n_args; k++)
      for (int j = 0; j < o->args[k].n_items; j++) {
        int rc = each_value(o->args[k].items[j].value, name ? name : o->type, fn, ctx);
        if (rc) return rc;
      }
    for (int k = 0; k < o->n_blocks; k++) {
      int rc = each_blob_block(&o->blocks[k], fn, ctx);
      if (rc) return rc;
    }
  }
  return MR_OK;
}

static int each_blob(const mil_program *p, blob_fn fn, void *ctx) {
  for (int i = 0; i < p->n_funcs; i++) {
    int rc = each_blob_block(&p->funcs[i].body, fn, ctx);
    if (rc) return rc;
  }
  return MR_OK;
}

/* The file a blob path names under root, checked to stay inside it; NULL and err set if not. */
static char *blob_file(const char *root, const char *blob_path, const char *op, mr_error *err) {
  const char *rel = blob_path + strlen(MODEL_PATH_PREFIX);
  if (strncmp(blob_path, MODEL_PATH_PREFIX, strlen(MODEL_PATH_PREFIX)) || !contained(rel)) {
    util_err(err, MR_EFORMAT, "op '%s': blob path '%s' is not inside @model_path", op, blob_path);
    return NULL;
  }
  char *f = util_path_join(root, rel);
  if (!f) util_err_nomem(err, blob_path);
  return f;
}

typedef struct check_ctx {
  const char *root;
  mil_blob_file open; /* the last file, kept open: programs use one or two */
  int is_open;
  mr_error *err;
} check_ctx;

static int check_blob(void *vc, const mil_value *v, const char *op) {
  check_ctx *c = vc;
  char *f = blob_file(c->root, v->blob_path, op, c->err);
  if (!f) return c->err ? c->err->code : MR_EFORMAT;
  int rc = MR_OK;
  if (c->is_open && strcmp(c->open.path, f)) {
    mil_blob_close(&c->open);
    c->is_open = 0;
  }
  if (!c->is_open && !util_exists(f)) { /* reported by the executor that needs it (a dry run has none) */
    mr_free(f);
    return MR_OK;
  }
  if (!c->is_open) {
    if (!inside(c->root, f)) rc = util_err(c->err, MR_EFORMAT, "op '%s': blob file '%s' leaves @model_path", op, f);
    if (!rc) rc = mil_blob_open(&c->open, f, c->err);
    c->is_open = !rc;
  }
  mil_blob blob;
  if (!rc) rc = mil_blob_get(&c->open, v->blob_offset, v->type->dtype, mil_type_count(v->type), &blob, c->err);
  if (rc) util_err_prefix(c->err, "op '%s': ", op);
  mr_free(f);
  return rc;
}

static int check_blobs(const mil_program *p, const char *root, mr_error *err) {
  check_ctx c = {root, {0}, 0, err};
  int rc = each_blob(p, check_blob, &c);
  if (c.is_open) mil_blob_close(&c.open);
  return rc;
}

int mil_package_load(const char *path, mil_program **prog, mil_metadata *md, char **model_file, char **weights_root,
                     mr_error *err) {
  *prog = NULL;
  *model_file = NULL;
  *weights_root = NULL;
  memset(md, 0, sizeof *md);
  char *model = NULL;
  int rc = util_is_dir(path) ? manifest_model_path(path, &model, err)
                             : ((model = util_strdup(path)) ? MR_OK : util_err_nomem(err, path));
  char *data = NULL;
  size_t size = 0;
  if (!rc) rc = util_read_file(model, &data, &size, err);
  if (!rc && size > MAX_MODEL_BYTES)
    rc = util_err(err, MR_EFORMAT, "%s: %zu bytes, more than a model.mlmodel may hold", model, size);
  if (!rc) rc = mil_proto_read((const uint8_t *)data, size, model, prog, md, err);
  mr_free(data);
  if (!rc && !(*weights_root = dir_of(model))) rc = util_err_nomem(err, path);
  if (!rc) rc = check_blobs(*prog, *weights_root, err);
  if (rc) mr_free(model);
  else *model_file = model;
  if (rc) {
    mil_program_free(*prog);
    *prog = NULL;
    if (md->funcs || md->text) mil_metadata_free(md);
    mr_free(*weights_root);
    *weights_root = NULL;
  }
  return rc;
}

/* ---- writing ---- */

/* A weight file linked into the package, or copied when linking is not possible. */
static int place_file(const char *src, const char *dst, mr_error *err) {
  if (util_exists(dst)) return MR_OK;
  if (!link(src, dst)) return MR_OK;
  util_map m;
  int rc = util_map_open(&m, src, err);
  if (rc) return rc;
  rc = util_write_file_atomic(dst, m.data, m.size, err);
  util_map_close(&m);
  return rc;
}

typedef struct copy_ctx {
  const char *src_root, *dst_root;
  mr_error *err;
} copy_ctx;

static int copy_blob(void *vc, const mil_value *v, const char *op) {
  copy_ctx *c = vc;
  char *src = blob_file(c->src_root, v->blob_path, op, c->err);
  char *dst = src ? blob_file(c->dst_root, v->blob_path, op, c->err) : NULL;
  int rc = dst ? MR_OK : (c->err ? c->err->code : MR_EFORMAT);
  if (!rc) {
    char *dir = dir_of(dst);
    rc = dir ? util_mkdirs(dir, c->err) : util_err_nomem(c->err, dst);
    mr_free(dir);
  }
  if (!rc) rc = place_file(src, dst, c->err);
  mr_free(src);
  mr_free(dst);
  return rc;
}

int mil_weight_files_link(const mil_program *p, const char *src_root, const char *dst_root, mr_error *err) {
  copy_ctx c = {src_root, dst_root, err};
  return each_blob(p, copy_blob, &c);
}

/* A stable identifier for the manifest, from the model bytes (same model, same manifest). */
static void item_id(const uint8_t *data, size_t n, unsigned salt, char out[40]) {
  uint64_t h = 1469598103934665603ull ^ salt, g = 0x9e3779b97f4a7c15ull ^ salt;
  for (size_t i = 0; i < n; i++) {
    h = (h ^ data[i]) * 1099511628211ull;
    g = (g ^ data[i]) * 0x100000001b3ull + (g >> 29);
  }
  snprintf(out, 40, "%08X-%04X-%04X-%04X-%012llX", (unsigned)(h >> 32), (unsigned)(h >> 16) & 0xffff,
           (unsigned)h & 0xffff, (unsigned)(g >> 48), (unsigned long long)(g & 0xffffffffffffull));
}

static int write_manifest(const char *out, const uint8_t *model, size_t n, mr_error *err) {
  char mid[40], wid[40], text[1024];
  item_id(model, n, 1, mid);
  item_id(model, n, 2, wid);
  snprintf(text, sizeof text,
           "{\n  \"fileFormatVersion\": \"1.0.0\",\n  \"itemInfoEntries\": {\n"
           "    \"%s\": {\n      \"author\": \"com.apple.CoreML\",\n      \"description\": \"CoreML Model Weights\",\n"
           "      \"name\": \"weights\",\n      \"path\": \"" WEIGHTS_ITEM "\"\n    },\n"
           "    \"%s\": {\n      \"author\": \"com.apple.CoreML\",\n      \"description\": \"CoreML Model Specification\",\n"
           "      \"name\": \"model.mlmodel\",\n      \"path\": \"" MODEL_ITEM "\"\n    }\n  },\n"
           "  \"rootModelIdentifier\": \"%s\"\n}\n",
           wid, mid, mid);
  char *path = util_path_join(out, "Manifest.json");
  int rc = path ? util_write_file_atomic(path, text, strlen(text), err) : util_err_nomem(err, out);
  mr_free(path);
  return rc;
}

int mil_package_write(const char *out, const mil_program *p, const mil_metadata *md, const char *weights_root,
                      mr_error *err) {
  uint8_t *bytes = NULL;
  size_t n = 0;
  char *data = util_path_join(out, "Data/com.apple.CoreML");
  char *model = data ? util_path_join(data, "model.mlmodel") : NULL;
  char *weights = data ? util_path_join(data, "weights") : NULL;
  int rc = model && weights ? MR_OK : util_err_nomem(err, out);
  if (!rc) rc = mil_proto_write(p, md, &bytes, &n, err);
  if (!rc) rc = util_mkdirs(weights, err);
  if (!rc && weights_root) rc = mil_weight_files_link(p, weights_root, data, err);
  if (!rc) rc = util_write_file_atomic(model, bytes, n, err);
  if (!rc) rc = write_manifest(out, bytes, n, err);
  mr_free(bytes);
  mr_free(data);
  mr_free(model);
  mr_free(weights);
  return rc;
}
