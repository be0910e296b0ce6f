/* resolve.c — see resolve.h. File names of a meta.yaml folder: the path keys when the file exists
 * (Swift's rule), else the names chat.py builds from the prefix and LUT keys ({P}_embeddings[_lutN],
 * retried without the suffix; {P}_lm_head[_lutN]; {P}_FFN_PF[_lutN]_chunk_NNofMM); split builds
 * with separate {P}_prefill / {P}_FFN chunks; {P}_monolithic_full[_lutN] for 0.3.5 monolithic. */
#include "llm/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

/* "0.3.5" or later. */
static int is_v035(const char *version) {
  int a = 0, b = 0, c = 0;
  sscanf(version, "%d.%d.%d", &a, &b, &c);
  return a > 0 || b > 3 || (b == 3 && c >= 5);
}

/* name with its _chunk_NNofMM replaced by chunk i of n; NULL without such a suffix. */
static char *chunk_name(const char *name, int i, int n) {
  const char *k = strstr(name, "_chunk_");
  if (!k) return NULL;
  const char *of = strstr(k + 7, "of");
  if (!of) return NULL;
  const char *rest = of + 2;
  while (*rest >= '0' && *rest <= '9') rest++;
  size_t len = strlen(name) + 32;
  char *s = mr_alloc(len);
  if (s) snprintf(s, len, "%.*s_chunk_%02dof%02d%s", (int)(k - name), name, i + 1, n, rest);
  return s;
}

static char *named(const char *dir, const char *prefix, const char *what, const char *lut, const char *suffix) {
  char name[512];
  if (strcmp(lut, "none") != 0) snprintf(name, sizeof name, "%s_%s_lut%s%s.mlmodelc", prefix, what, lut, suffix);
  else snprintf(name, sizeof name, "%s_%s%s.mlmodelc", prefix, what, suffix);
  return util_path_join(dir, name);
}

/* The path key when it names an existing folder, else the built name (kept even when missing, so
 * that the error names what chat.py would look for). */
static char *pick(const char *dir, const char *key, char *built) {
  if (key[0]) {
    char *p = util_path_join(dir, key);
    if (p && util_is_dir(p)) {
      mr_free(built);
      return p;
    }
    mr_free(p);
  }
  return built;
}

static int missing(const char *path, const char *what, mr_error *err) {
  return util_err(err, MR_ENOTFOUND, "%s: missing %s (named by meta.yaml)", path, what);
}

static int ffn_files(const char *dir, const llm_meta *mt, llm_files *f, mr_error *err) {
  int n = mt->chunks;
  f->pf = util_calloc((size_t)n, sizeof *f->pf);
  f->inf = util_calloc((size_t)n, sizeof *f->inf);
  if (!f->pf || !f->inf) return util_err_nomem(err, "model files");
  f->chunks = n;
  for (int c = 0; c < n; c++) {
    char suffix[32];
    snprintf(suffix, sizeof suffix, "_chunk_%02dof%02d", c + 1, n);
    char *p = named(dir, mt->prefix, "FFN_PF", mt->lut_ffn, suffix);
    if (p && !util_is_dir(p) && mt->ffn[0]) { /* the ffn key: the whole name, or chunk 01 to renumber */
      char *key = n == 1 && !strstr(mt->ffn, "_chunk_") ? util_strdup(mt->ffn) : chunk_name(mt->ffn, c, n);
      if (key) p = pick(dir, key, p);
      mr_free(key);
    }
    if (!p) return util_err_nomem(err, "model files");
    f->pf[c] = f->inf[c] = p;
    if (util_is_dir(p)) continue;
    char *pre = named(dir, mt->prefix, "prefill", mt->lut_ffn, suffix), *inf = named(dir, mt->prefix, "FFN", mt->lut_ffn, suffix);
    if (pre && inf && util_is_dir(pre) && util_is_dir(inf)) { /* a split build */
      mr_free(p);
      f->pf[c] = pre;
      f->inf[c] = inf;
      continue;
    }
    mr_free(pre);
    mr_free(inf);
    char what[64];
    snprintf(what, sizeof what, "FFN chunk %d of %d", c + 1, n);
    return missing(p, what, err);
  }
  return MR_OK;
}

int llm_files_from_meta(const char *dir, const llm_meta *mt, llm_files *f, mr_error *err) {
  memset(f, 0, sizeof *f);
  f->v035 = is_v035(mt->version);
  f->vocab_size = mt->vocab_size;
  if (mt->monolithic) {
    f->mono = pick(dir, mt->mono, named(dir, mt->prefix, "monolithic_full", mt->lut_ffn, ""));
    if (!f->mono) return util_err_nomem(err, "model files");
    return util_is_dir(f->mono) ? MR_OK : missing(f->mono, "the monolithic model", err);
  }
  f->emb = named(dir, mt->prefix, "embeddings", mt->lut_embeddings, "");
  if (f->emb && !util_is_dir(f->emb)) { /* chat.py retries the embeddings without the _lut suffix */
    mr_free(f->emb);
    f->emb = named(dir, mt->prefix, "embeddings", "none", "");
  }
  f->emb = f->emb ? pick(dir, mt->embeddings, f->emb) : NULL;
  f->lm = pick(dir, mt->lm_head, named(dir, mt->prefix, "lm_head", mt->lut_lmhead, ""));
  if (!f->emb || !f->lm) return util_err_nomem(err, "model files");
  if (!util_is_dir(f->emb)) return missing(f->emb, "the embeddings", err);
  if (!util_is_dir(f->lm)) return missing(f->lm, "the LM head", err);
  return ffn_files(dir, mt, f, err);
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
  if (!rc) rc = llm_files_from_meta(dir, &mt, &out->files, err);
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
  const char *k = strstr(pf, "_chunk_");
  int n = 1;
  if (k) {
    const char *of = strstr(k, "of");
    n = of ? atoi(of + 2) : 1;
    if (n < 1 || n > 64) return util_err(err, MR_EFORMAT, "%s: cannot read the chunk count of '%s'", path, pf);
  }
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
      util_err(err, rc, "--model %s: no such local file or folder; as a Hugging Face id: %s", model, first.msg);
    }
    if (!rc) rc = from_dir(snap, out, err);
    mr_free(snap);
  } else {
    rc = util_err(err, MR_ENOTFOUND, "--model %s: no such file or folder, and not a Hugging Face id ORG/NAME[@REV]", model);
  }
  if (rc) llm_source_free(out);
  return rc;
}

int llm_model_open(const char *dir, llm_model **out, mr_error *err) {
  *out = NULL;
  llm_source src = {0};
  int rc = from_dir(dir, &src, err);
  if (!rc) rc = llm_model_open_files(&src.files, out, err);
  llm_source_free(&src);
  return rc;
}
