/* metadata.c — writing metadata.json for converted components. Values follow what Core ML's
 * compiler writes: strings for shapes ("[1, 1, 64]"), "0"/"1" for booleans. */
#include "convert/metadata.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

static cJSON *feature(const conv_feature *f, const char *type) {
  char shape[256], formatted[320];
  size_t o = (size_t)snprintf(shape, sizeof shape, "[");
  size_t fo = (size_t)snprintf(formatted, sizeof formatted, "%s (%s", type, f->fp16 ? "Float16" : "Int32");
  for (int i = 0; i < f->rank; i++) {
    o += (size_t)snprintf(shape + o, sizeof shape - o, i ? ", %lld" : "%lld", (long long)f->shape[i]);
    fo += (size_t)snprintf(formatted + fo, sizeof formatted - fo, i ? " \xc3\x97 %lld" : " %lld", (long long)f->shape[i]);
  }
  snprintf(shape + o, sizeof shape - o, "]");
  snprintf(formatted + fo, sizeof formatted - fo, ")");
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", f->name);
  cJSON_AddStringToObject(j, "type", type);
  cJSON_AddStringToObject(j, "dataType", f->fp16 ? "Float16" : "Int32");
  cJSON_AddStringToObject(j, "shape", shape);
  cJSON_AddStringToObject(j, "formattedType", formatted);
  cJSON_AddStringToObject(j, "shortDescription", "");
  cJSON_AddStringToObject(j, "isOptional", "0");
  cJSON_AddStringToObject(j, "hasShapeFlexibility", f->enumerated ? "1" : "0");
  if (f->enumerated) cJSON_AddStringToObject(j, "enumeratedShapes", f->enumerated);
  return j;
}

static cJSON *schema(const conv_feature *f, int n, const char *type) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, feature(&f[i], type));
  return a;
}

static void add_schemas(cJSON *o, const conv_fmeta *f) {
  cJSON_AddItemToObject(o, "inputSchema", schema(f->in, f->n_in, "MultiArray"));
  cJSON_AddItemToObject(o, "outputSchema", schema(f->out, f->n_out, "MultiArray"));
  cJSON_AddItemToObject(o, "stateSchema", schema(f->state, f->n_state, "State"));
}

int conv_write_metadata(const char *dir, const conv_fmeta *funcs, int n_funcs, const char *description,
                        const char *const *user, int n_user, mr_error *err) {
  cJSON *root = cJSON_CreateArray(), *m = cJSON_CreateObject();
  cJSON_AddItemToArray(root, m);
  cJSON_AddStringToObject(m, "metadataOutputVersion", "3.0");
  cJSON_AddNumberToObject(m, "specificationVersion", 9);
  cJSON *mt = cJSON_AddObjectToObject(m, "modelType");
  cJSON_AddStringToObject(mt, "name", "MLModelType_mlProgram");
  cJSON_AddStringToObject(m, "shortDescription", description);
  cJSON_AddStringToObject(m, "author", "Converted with milrun " MR_VERSION " (Anemll 0.3.4 layout)");
  cJSON_AddStringToObject(m, "computePrecision", "Float16");
  add_schemas(m, &funcs[0]);
  if (n_funcs > 1) {
    cJSON_AddStringToObject(m, "defaultFunctionName", funcs[0].name);
    cJSON *fa = cJSON_AddArrayToObject(m, "functions");
    for (int i = 0; i < n_funcs; i++) {
      cJSON *fo = cJSON_CreateObject();
      cJSON_AddStringToObject(fo, "name", funcs[i].name);
      add_schemas(fo, &funcs[i]);
      cJSON_AddStringToObject(fo, "computePrecision", "Float16");
      cJSON_AddItemToArray(fa, fo);
    }
  }
  cJSON *ud = cJSON_AddObjectToObject(m, "userDefinedMetadata");
  for (int i = 0; i < n_user; i++) cJSON_AddStringToObject(ud, user[2 * i], user[2 * i + 1]);
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) return util_err_nomem(err, "metadata.json");
  char *path = util_path_join(dir, "metadata.json");
  int rc = path ? util_write_file_atomic(path, text, strlen(text), err) : util_err_nomem(err, "metadata.json");
  mr_free(path);
  cJSON_free(text);
  return rc;
}
