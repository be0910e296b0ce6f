/* resolve.c — see resolve.h. A meta.yaml folder's file names come from llm/layout.c; this file
 * checks that they exist and reads the other forms of --model. */
#include "llm/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "llm/anemll_names.h"
#include "llm/layout.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

#ifndef MR_DEMO_DIR
#define MR_DEMO_DIR "build/demo"
#endif

void llm_source_free(llm_source *s) {
  llm_files_free(&s->files);
  mr_free(s->dir);
  mr_free(s->tokenizer);
  memset(s, 0, sizeof *s);
}

/* A copy of name renumbered as chunk c of n (anemll_renumber_chunk); NULL without a chunk part. */
static char *chunk_name(const char *name, int c, int n) {
  char buf[512];
  return anemll_renumber_chunk(buf, sizeof buf, name, c + 1, n) ? NULL : util_strdup(buf);
}

static int missing(const char *path, const char *what, mr_error *err) {
  return util_err(err, MR_ENOTFOUND, "%s: missing %s (named by meta.yaml)", path, what);
}

/* The components of the meta.yaml folder `dir` (llm/layout.c), each of which must exist. */
static int files_from_meta(const char *dir, const llm_meta *mt, llm_files *f, mr_error *err) {
  int rc = llm_layout_resolve(dir, mt, f, err);
  if (rc) return rc;
  if (f->mono) return util_is_dir(f->mono) ? MR_OK : missing(f->mono, "the monolithic model", err);
  if (!util_is_dir(f->emb)) return missing(f->emb, "the embeddings", err);
  if (!util_is_dir(f->lm)) return missing(f->lm, "the LM head", err);
  for (int c = 0; c < f->chunks; c++) {
    if (util_is_dir(f->pf[c]) && util_is_dir(f->inf[c])) continue;
    char what[64];
    snprintf(what, sizeof what, "FFN chunk %d of %d", c + 1, f->chunks);
    return missing(util_is_dir(f->pf[c]) ? f->inf[c] : f->pf[c], what, err);
  }
  return MR_OK;
}

static char *tokenizer_in(const char *dir) {
  char *p = util_path_join(dir, "tokenizer.json");
  if (p && util_exists(p)) {
    mr_free(p);
    return util_strdup(dir);
  }
  mr_free(p);
  return NULL;
}

static int from_dir(const char *dir, llm_source *out, mr_error *err) {
  char *yml = util_path_join(dir, "meta.yaml");
  if (!yml) return util_err_nomem(err, "model");
  llm_meta mt;
  int rc = llm_meta_read(yml, &mt, err);
  mr_free(yml);
  if (!rc) rc = files_from_meta(dir, &mt, &out->files, err);
  if (!rc) {
    out->dir = util_strdup(dir);
    out->tokenizer = tokenizer_in(dir);
    if (!out->dir) rc = util_err_nomem(err, "model");
  }
  return rc;
}

/* ---- model-config JSON ---------------------------------------------------------------------- */

static const char *comp_path(const cJSON *root, const char *name) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "components"), name);
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(c, "file_path");
  return cJSON_IsString(p) && p->valuestring[0] ? p->valuestring : NULL;
}

static char *under(const char *base, const char *rel) {
  return rel[0] == '/' ? util_strdup(rel) : util_path_join(base, rel);
}

static char *parent_dir(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? util_strndup(path, (size_t)(s - path) + (s == path)) : util_strdup(".");
}

/* Chunks of a config: the ffn file and, when it names chunk 01 of MM, the other MM - 1. */
static int config_ffn(const char *base, const char *pf, const char *inf, const char *path, llm_files *f, mr_error *err) {
  int first, n = 1;
  if (strstr(pf, "_chunk_") && anemll_parse_chunk(pf, &first, &n))
    return util_err(err, MR_EFORMAT, "%s: cannot read the chunk numbers of '%s' (_chunk_NNofMM)", path, pf);
  f->pf = util_calloc((size_t)n, sizeof *f->pf);
  f->inf = util_calloc((size_t)n, sizeof *f->inf);
  if (!f->pf || !f->inf) return util_err_nomem(err, "model files");
  f->chunks = n;
  for (int c = 0; c < n; c++) {
    char *a = n > 1 ? chunk_name(pf, c, n) : util_strdup(pf);
    char *b = !inf || !strcmp(inf, pf) ? NULL : n > 1 ? chunk_name(inf, c, n) : util_strdup(inf);
    f->pf[c] = a ? under(base, a) : NULL;
    f->inf[c] = b ? under(base, b) : f->pf[c];
    mr_free(a);
    mr_free(b);
    if (!f->pf[c] || !f->inf[c]) return util_err_nomem(err, "model files");
    if (!util_is_dir(f->pf[c])) return util_err(err, MR_ENOTFOUND, "%s: FFN chunk %d of %d not found (from %s)", f->pf[c], c + 1, n, path);
    if (!util_is_dir(f->inf[c])) return util_err(err, MR_ENOTFOUND, "%s: FFN chunk %d of %d not found (from %s)", f->inf[c], c + 1, n, path);
  }
  return MR_OK;
}

int llm_config_parse(const char *text, size_t len, const char *path, llm_source *out, mr_error *err) {
  memset(out, 0, sizeof *out);
  cJSON *root = cJSON_ParseWithLength(text, len);
  if (!root || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return util_err(err, MR_EFORMAT, "%s: not a JSON object", path);
  }
  char *cfg_dir = parent_dir(path), *base = NULL;
  const cJSON *mp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "model_info"), "path");
  if (cfg_dir) base = cJSON_IsString(mp) ? under(cfg_dir, mp->valuestring) : util_strdup(cfg_dir);
  const char *emb = comp_path(root, "embeddings"), *lm = comp_path(root, "lm_head"), *pf = comp_path(root, "ffn_prefill"),
             *inf = comp_path(root, "ffn_infer"), *tok = comp_path(root, "tokenizer");
  const cJSON *tj = cJSON_GetObjectItemCaseSensitive(root, "tokenizer");
  if (!tok && cJSON_IsString(tj)) tok = tj->valuestring;
  int rc = base ? MR_OK : util_err_nomem(err, "model config");
  if (!rc && (!emb || !lm || !(pf || inf)))
    rc = util_err(err, MR_EFORMAT, "%s: components.{embeddings, ffn_prefill or ffn_infer, lm_head}.file_path are required "
                  "(missing %s)", path, !emb ? "embeddings" : !lm ? "lm_head" : "ffn_prefill");
  if (!rc) {
    out->files.emb = under(base, emb);
    out->files.lm = under(base, lm);
    if (!out->files.emb || !out->files.lm) rc = util_err_nomem(err, "model config");
  }
  if (!rc && !util_is_dir(out->files.emb)) rc = util_err(err, MR_ENOTFOUND, "%s: embeddings not found (from %s)", out->files.emb, path);
  if (!rc && !util_is_dir(out->files.lm)) rc = util_err(err, MR_ENOTFOUND, "%s: LM head not found (from %s)", out->files.lm, path);
  if (!rc) rc = config_ffn(base, pf ? pf : inf, inf, path, &out->files, err);
  if (!rc) {
    out->dir = util_strdup(base);
    out->tokenizer = tok ? under(base, tok) : tokenizer_in(base);
    if (!out->dir || (tok && !out->tokenizer)) rc = util_err_nomem(err, "model config");
  }
  mr_free(cfg_dir);
  mr_free(base);
  cJSON_Delete(root);
  if (rc) llm_source_free(out);
  return rc;
}

static int from_config(const char *path, llm_source *out, mr_error *err) {
  char *text;
  size_t size;
  int rc = util_read_file(path, &text, &size, err);
  if (rc) return rc;
  rc = llm_config_parse(text, size, path, out, err);
  mr_free(text);
  return rc;
}

static int looks_like_repo(const char *s) {
  const char *slash = strchr(s, '/');
  return slash && slash != s && s[0] != '.' && slash[1] && !strchr(slash + 1, '/');
}

int llm_resolve(const char *model, const mr_hub_options *hub, llm_source *out, mr_error *err) {
  memset(out, 0, sizeof *out);
  if (!model) model = MR_DEFAULT_MODEL;
  int rc;
  if (!strcmp(model, "demo")) {
    const char *d = getenv("MILRUN_DEMO");
    d = d && *d ? d : MR_DEMO_DIR;
    if (!util_is_dir(d))
      return util_err(err, MR_ENOTFOUND, "demo: the demo model is not built (looked in %s): run ./scripts/setup.sh", d);
    rc = from_dir(d, out, err);
  } else if (util_is_dir(model)) {
    rc = from_dir(model, out, err);
  } else if (util_exists(model)) {
    rc = from_config(model, out, err);
  } else if (looks_like_repo(model)) {
    char *snap = NULL;
    rc = mr_hub_resolve(model, hub, &snap, err);
    if (rc && err) {
      mr_error first = *err;
      util_err(err, rc, "model %s: no such local file or folder; as a Hugging Face id: %s", model, first.msg);
    }
    if (!rc) rc = from_dir(snap, out, err);
    mr_free(snap);
  } else {
    rc = util_err(err, MR_ENOTFOUND, "model %s: no such file or folder, and not a Hugging Face id ORG/NAME[@REV]", model);
  }
  if (rc) llm_source_free(out);
  return rc;
}

int llm_model_open(const char *dir, llm_model **out, mr_error *err) {
  *out = NULL;
  llm_source src = {0};
  int rc = from_dir(dir, &src, err);
  if (!rc) rc = llm_model_open_files(&src.files, NULL, out, err);
  llm_source_free(&src);
  return rc;
}
