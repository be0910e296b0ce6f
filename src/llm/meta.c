/* meta.c — meta.yaml of an Anemll bundle, read with libyaml: the scalars under
 * model_info (version, architecture) and model_info.parameters (context_length, batch_size,
 * num_chunks, model_prefix, lut_*, split_lm_head or its legacy spelling num_logits, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "llm/model.h"
#include "util/alloc.h"
#include "util/error.h"

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(d, p->key);
    if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
      return yaml_document_get_node(d, p->value);
  }
  return NULL;
}

static const char *scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_int(yaml_document_t *d, yaml_node_t *params, const char *path, const char *key, int dflt, int *out,
                   mr_error *err) {
  const char *s = scalar(map_get(d, params, key));
  if (!s) {
    if (dflt < 0) return util_err(err, MR_EFORMAT, "%s: missing model_info.parameters.%s", path, key);
    *out = dflt;
    return MR_OK;
  }
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 1 || v > 1 << 24)
    return util_err(err, MR_EFORMAT, "%s: model_info.parameters.%s must be a positive integer, got '%s'", path, key, s);
  *out = (int)v;
  return MR_OK;
}

static void get_str(yaml_document_t *d, yaml_node_t *map, const char *key, const char *dflt, char *out, size_t size) {
  const char *s = scalar(map_get(d, map, key));
  snprintf(out, size, "%s", s ? s : dflt);
}

/* Parse path into d; on failure nothing is left to free. */
static int load(const char *path, yaml_document_t *d, mr_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return util_err(err, MR_ENOTFOUND, "%s: cannot open (an Anemll bundle needs meta.yaml)", path);
  yaml_parser_t p;
  int rc = MR_OK;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_file(&p, f);
  if (!yaml_parser_load(&p, d))
    rc = util_err(err, MR_EFORMAT, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1, p.problem_mark.column + 1,
                  p.problem ? p.problem : "YAML error");
  yaml_parser_delete(&p);
  fclose(f);
  return rc;
}

int llm_meta_read(const char *path, llm_meta *meta, mr_error *err) {
  memset(meta, 0, sizeof *meta);
  yaml_document_t d;
  int rc = load(path, &d, err);
  if (rc) return rc;
  yaml_node_t *info = map_get(&d, yaml_document_get_root_node(&d), "model_info");
  yaml_node_t *params = map_get(&d, info, "parameters");
  if (!params || params->type != YAML_MAPPING_NODE) rc = util_err(err, MR_EFORMAT, "%s: no model_info.parameters mapping", path);
  if (!rc) rc = get_int(&d, params, path, "context_length", -1, &meta->context, err);
  if (!rc) rc = get_int(&d, params, path, "batch_size", 64, &meta->batch, err);
  if (!rc) rc = get_int(&d, params, path, "num_chunks", 1, &meta->chunks, err);
  if (!rc) {
    int legacy;
    rc = get_int(&d, params, path, "num_logits", 8, &legacy, err);
    if (!rc) rc = get_int(&d, params, path, "split_lm_head", legacy, &meta->split_lm_head, err);
  }
  if (!rc) {
    get_str(&d, info, "version", "0.3.4", meta->version, sizeof meta->version);
    get_str(&d, info, "architecture", "", meta->architecture, sizeof meta->architecture);
    get_str(&d, params, "model_prefix", "", meta->prefix, sizeof meta->prefix);
    get_str(&d, params, "lut_embeddings", "none", meta->lut_embeddings, sizeof meta->lut_embeddings);
    get_str(&d, params, "lut_ffn", "none", meta->lut_ffn, sizeof meta->lut_ffn);
    get_str(&d, params, "lut_lmhead", "none", meta->lut_lmhead, sizeof meta->lut_lmhead);
    const char *am = scalar(map_get(&d, params, "argmax_in_model"));
    meta->argmax_in_model = am && (!strcmp(am, "true") || !strcmp(am, "True"));
    if (!meta->prefix[0]) rc = util_err(err, MR_EFORMAT, "%s: missing model_info.parameters.model_prefix", path);
  }
  yaml_document_delete(&d);
  return rc;
}

void llm_meta_pairs_free(llm_meta_pair *pairs, int n) {
  for (int i = 0; pairs && i < n; i++) {
    mr_free(pairs[i].key);
    mr_free(pairs[i].value);
  }
  mr_free(pairs);
}

/* The scalar entries of map, in file order. */
static int scalar_pairs(yaml_document_t *d, yaml_node_t *map, llm_meta_pair **out, int *n) {
  int cap = map && map->type == YAML_MAPPING_NODE ? (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start) : 0;
  *out = util_calloc((size_t)cap + 1, sizeof **out);
  if (!*out) return MR_ENOMEM;
  for (int i = 0; i < cap; i++) {
    yaml_node_pair_t *p = map->data.mapping.pairs.start + i;
    const char *k = scalar(yaml_document_get_node(d, p->key)), *v = scalar(yaml_document_get_node(d, p->value));
    if (!k || !v) continue;
    llm_meta_pair *e = &(*out)[(*n)++];
    e->key = util_strdup(k);
    e->value = util_strdup(v);
    if (!e->key || !e->value) return MR_ENOMEM;
  }
  return MR_OK;
}

int llm_meta_pairs(const char *path, int parameters, llm_meta_pair **out, int *n, mr_error *err) {
  *out = NULL;
  *n = 0;
  yaml_document_t d;
  int rc = load(path, &d, err);
  if (rc) return rc;
  yaml_node_t *map = map_get(&d, yaml_document_get_root_node(&d), "model_info");
  if (parameters) map = map_get(&d, map, "parameters");
  if (scalar_pairs(&d, map, out, n)) {
    llm_meta_pairs_free(*out, *n);
    *out = NULL;
    *n = 0;
    rc = util_err_nomem(err, path);
  }
  yaml_document_delete(&d);
  return rc;
}
