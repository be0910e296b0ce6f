/* metadata.c — metadata.json with cJSON. Values are strings in Apple's files (even numbers in shapes:
 * "shape" : "[1, 10]"), so this reader is strict about structure and lenient about extra keys. */
#include "mil/metadata.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

static char *dup_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return util_strdup(cJSON_IsString(v) && v->valuestring ? v->valuestring : "");
}

/* "[1, 10]" -> rank 2, {1, 10}; "[]" -> rank 0. Returns -1 on a malformed shape. */
static int parse_shape(const char *s, int64_t *shape) {
  while (*s == ' ') s++;
  if (*s++ != '[') return -1;
  int rank = 0;
  for (;;) {
    while (*s == ' ') s++;
    if (*s == ']') return rank;
    if (rank == MR_MAX_RANK) return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0) return -1;
    shape[rank++] = v;
    s = end;
    while (*s == ' ') s++;
    if (*s == ',') s++;
    else if (*s != ']') return -1;
  }
}

static int read_features(const cJSON *arr, const char *what, const char *path, mil_feature **out,
                         int *n, mr_error *err) {
  *out = NULL;
  *n = 0;
  if (!arr) return MR_OK;
  if (!cJSON_IsArray(arr)) return util_err(err, MR_EFORMAT, "%s: \"%s\" is not an array", path, what);
  int count = cJSON_GetArraySize(arr);
  if (!count) return MR_OK;
  *out = util_calloc((size_t)count, sizeof **out);
  if (!*out) return util_err_nomem(err, path);
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    mil_feature *f = &(*out)[(*n)++];
    if (!cJSON_IsObject(it) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "name")))
      return util_err(err, MR_EFORMAT, "%s: entry %d of \"%s\" has no \"name\"", path, *n - 1, what);
    f->name = dup_str(it, "name");
    f->type = dup_str(it, "type");
    f->data_type = dup_str(it, "dataType");
    if (!f->name || !f->type || !f->data_type) return util_err_nomem(err, path);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
    f->rank = -1;
    if (cJSON_IsString(shape)) {
      f->rank = parse_shape(shape->valuestring, f->shape);
      if (f->rank < 0)
        return util_err(err, MR_EFORMAT, "%s: \"%s\" of \"%s\": bad shape \"%s\"", path, f->name, what,
                        shape->valuestring);
    }
  }
  return MR_OK;
}

static int read_function(const cJSON *o, const char *name, const char *path, mil_meta_function *fn,
                         mr_error *err) {
  fn->name = util_strdup(name);
  if (!fn->name) return util_err_nomem(err, path);
  int rc = read_features(cJSON_GetObjectItemCaseSensitive(o, "inputSchema"), "inputSchema", path,
                         &fn->inputs, &fn->n_inputs, err);
  if (!rc) rc = read_features(cJSON_GetObjectItemCaseSensitive(o, "outputSchema"), "outputSchema", path,
                              &fn->outputs, &fn->n_outputs, err);
  if (!rc) rc = read_features(cJSON_GetObjectItemCaseSensitive(o, "stateSchema"), "stateSchema", path,
                              &fn->states, &fn->n_states, err);
  return rc;
}

static int read_user(const cJSON *user, const char *path, mil_metadata *md, mr_error *err) {
  if (!user) return MR_OK;
  if (!cJSON_IsObject(user)) return util_err(err, MR_EFORMAT, "%s: \"userDefinedMetadata\" is not an object", path);
  int n = cJSON_GetArraySize(user);
  md->user_keys = util_calloc((size_t)n + 1, sizeof(char *));
  md->user_values = util_calloc((size_t)n + 1, sizeof(char *));
  if (!md->user_keys || !md->user_values) return util_err_nomem(err, path);
  const cJSON *it;
  cJSON_ArrayForEach(it, user) {
    int i = md->n_user++; /* counted first, so that a failure below frees what was made */
    md->user_keys[i] = util_strdup(it->string ? it->string : "");
    md->user_values[i] = util_strdup(cJSON_IsString(it) ? it->valuestring : "");
    if (!md->user_keys[i] || !md->user_values[i]) return util_err_nomem(err, path);
  }
  return MR_OK;
}

static int parse_root(const cJSON *root, const char *path, mil_metadata *md, mr_error *err) {
  const cJSON *obj = root;
  if (cJSON_IsArray(root)) obj = cJSON_GetArrayItem(root, 0);
  if (!cJSON_IsObject(obj))
    return util_err(err, MR_EFORMAT, "%s: expected an array holding one object", path);
  const cJSON *funcs = cJSON_GetObjectItemCaseSensitive(obj, "functions");
  int nf = cJSON_IsArray(funcs) ? cJSON_GetArraySize(funcs) : 0;
  md->funcs = util_calloc((size_t)nf + 1, sizeof *md->funcs);
  if (!md->funcs) return util_err_nomem(err, path);
  md->n_funcs = 1;
  int rc = read_function(obj, "", path, &md->funcs[0], err);
  const cJSON *it;
  if (!rc && nf) {
    cJSON_ArrayForEach(it, funcs) {
      const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
      if (!cJSON_IsObject(it) || !cJSON_IsString(nm))
        return util_err(err, MR_EFORMAT, "%s: entry %d of \"functions\" has no \"name\"", path, md->n_funcs - 1);
      rc = read_function(it, nm->valuestring, path, &md->funcs[md->n_funcs++], err);
      if (rc) return rc;
    }
  }
  if (rc) return rc;
  const cJSON *def = cJSON_GetObjectItemCaseSensitive(obj, "defaultFunctionName");
  if (cJSON_IsString(def) && def->valuestring[0]) {
    md->default_function = util_strdup(def->valuestring);
    if (!md->default_function) return util_err_nomem(err, path);
  }
  return read_user(cJSON_GetObjectItemCaseSensitive(obj, "userDefinedMetadata"), path, md, err);
}

int mil_metadata_parse(const char *text, const char *path, mil_metadata *md, mr_error *err) {
  memset(md, 0, sizeof *md);
  unsigned long failures = util_alloc_failures();
  cJSON *root = cJSON_Parse(text);
  if (!root && util_alloc_failures() != failures) return util_err_nomem(err, path);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    size_t off = at && at >= text ? (size_t)(at - text) : 0;
    return util_err(err, MR_EFORMAT, "%s: invalid JSON near byte %zu", path, off);
  }
  int rc = parse_root(root, path, md, err);
  cJSON_Delete(root);
  if (!rc) {
    md->text = util_strdup(text);
    if (!md->text) rc = util_err_nomem(err, path);
  }
  if (rc) mil_metadata_free(md);
  return rc;
}

int mil_metadata_read(const char *path, mil_metadata *md, mr_error *err) {
  memset(md, 0, sizeof *md);
  char *text;
  int rc = util_read_file(path, &text, NULL, err);
  if (rc) return rc;
  rc = mil_metadata_parse(text, path, md, err);
  mr_free(text);
  return rc;
}

static void free_features(mil_feature *f, int n) {
  for (int i = 0; i < n; i++) {
    mr_free(f[i].name);
    mr_free(f[i].type);
    mr_free(f[i].data_type);
  }
  mr_free(f);
}

void mil_metadata_free(mil_metadata *md) {
  for (int i = 0; i < md->n_funcs; i++) {
    mr_free(md->funcs[i].name);
    free_features(md->funcs[i].inputs, md->funcs[i].n_inputs);
    free_features(md->funcs[i].outputs, md->funcs[i].n_outputs);
    free_features(md->funcs[i].states, md->funcs[i].n_states);
  }
  /* entries partially filled by a failed parse are freed above: read_features counts them */
  mr_free(md->funcs);
  mr_free(md->default_function);
  for (int i = 0; i < md->n_user; i++) {
    mr_free(md->user_keys[i]);
    mr_free(md->user_values[i]);
  }
  mr_free(md->user_keys);
  mr_free(md->user_values);
  mr_free(md->text);
  memset(md, 0, sizeof *md);
}

const mil_meta_function *mil_metadata_function(const mil_metadata *md, const char *name) {
  if (!name || !name[0]) return md->n_funcs ? &md->funcs[0] : NULL;
  for (int i = 1; i < md->n_funcs; i++)
    if (!strcmp(md->funcs[i].name, name)) return &md->funcs[i];
  return NULL;
}
