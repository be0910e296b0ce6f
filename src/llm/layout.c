/* layout.c — component paths of an Anemll model directory (see layout.h). */
#include "llm/layout.h"

#include <stdio.h>
#include <string.h>

#include "llm/anemll_names.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

/* dir/name, or its package form when only that is there (what `milrun convert --format mlpackage`
 * and coremltools write); NULL when out of memory. */
static char *resolve(const char *dir, const char *name) {
  char pkg[512];
  char *p = util_path_join(dir, name);
  if (!p || util_is_dir(p) || anemll_name_package(pkg, sizeof pkg, name)) return p;
  char *q = util_path_join(dir, pkg);
  if (!q || !util_is_dir(q)) {
    mr_free(q);
    return p;
  }
  mr_free(p);
  return q;
}

/* The path key when it names an existing component, else `built` (kept even when missing, so that
 * the error names what chat.py would look for). */
static char *pick(const char *dir, const char *key, char *built) {
  if (!built || !key[0]) return built;
  char *p = resolve(dir, key);
  if (p && util_is_dir(p)) {
    mr_free(built);
    return p;
  }
  mr_free(p);
  return built;
}

/* The path of a component named by name_of; NULL when out of memory. */
static char *named(const char *dir, int (*name_of)(char *, size_t, const char *, int), const char *prefix, int lut) {
  char name[512];
  return name_of(name, sizeof name, prefix, lut) ? NULL : resolve(dir, name);
}

/* Chunk c of n: the combined FFN_PF bundle, or a split build's prefill / infer one. */
static char *chunk_path(const char *dir, const char *prefix, int lut, int split, int prefill, int c, int n) {
  char name[512];
  int bad = split ? anemll_name_split_chunk(name, sizeof name, prefix, lut, prefill, c + 1, n)
                  : anemll_name_ffn_chunk(name, sizeof name, prefix, lut, c + 1, n);
  return bad ? NULL : resolve(dir, name);
}

/* The ffn key for chunk c of n: the whole name, or chunk 01 renumbered; NULL without one. */
static char *ffn_key(const char *key, int c, int n) {
  char buf[512];
  if (!key[0]) return NULL;
  if (n == 1 && !strstr(key, "_chunk_")) return util_strdup(key);
  return anemll_renumber_chunk(buf, sizeof buf, key, c + 1, n) ? NULL : util_strdup(buf);
}

/* Chunk c's paths into f->pf[c] / f->inf[c]; 0 when out of memory. */
static int ffn_chunk(const char *dir, const llm_meta *mt, int lut, llm_files *f, int c) {
  int n = mt->chunks;
  char *p = chunk_path(dir, mt->prefix, lut, 0, 0, c, n);
  if (p && !util_is_dir(p)) {
    char *key = ffn_key(mt->ffn, c, n);
    if (key) p = pick(dir, key, p);
    mr_free(key);
  }
  if (!p) return 0;
  f->pf[c] = f->inf[c] = p;
  if (util_is_dir(p)) return 1;
  char *pre = chunk_path(dir, mt->prefix, lut, 1, 1, c, n), *inf = chunk_path(dir, mt->prefix, lut, 1, 0, c, n);
  if (pre && inf && util_is_dir(pre) && util_is_dir(inf)) { /* a split build */
    mr_free(p);
    f->pf[c] = pre;
    f->inf[c] = inf;
    return 1;
  }
  mr_free(pre);
  mr_free(inf);
  return 1;
}

/* "0.3.5" or later. */
static int is_v035(const char *version) {
  int a = 0, b = 0, c = 0;
  sscanf(version, "%d.%d.%d", &a, &b, &c);
  return a > 0 || b > 3 || (b == 3 && c >= 5);
}

static int resolve_all(const char *dir, const llm_meta *mt, int lut_emb, int lut_ffn, int lut_lm, llm_files *f) {
  if (mt->monolithic) return (f->mono = pick(dir, mt->mono, named(dir, anemll_name_monolithic, mt->prefix, lut_ffn))) != NULL;
  f->emb = named(dir, anemll_name_embeddings, mt->prefix, lut_emb);
  if (f->emb && !util_is_dir(f->emb)) { /* chat.py retries the embeddings without the _lut suffix */
    mr_free(f->emb);
    f->emb = named(dir, anemll_name_embeddings, mt->prefix, 0);
  }
  f->emb = pick(dir, mt->embeddings, f->emb);
  f->lm = pick(dir, mt->lm_head, named(dir, anemll_name_lm_head, mt->prefix, lut_lm));
  f->pf = util_calloc((size_t)mt->chunks, sizeof *f->pf);
  f->inf = util_calloc((size_t)mt->chunks, sizeof *f->inf);
  if (!f->emb || !f->lm || !f->pf || !f->inf) return 0;
  f->chunks = mt->chunks;
  for (int c = 0; c < mt->chunks; c++)
    if (!ffn_chunk(dir, mt, lut_ffn, f, c)) return 0;
  return 1;
}

int llm_layout_resolve(const char *dir, const llm_meta *mt, llm_files *out, mr_error *err) {
  memset(out, 0, sizeof *out);
  out->v035 = is_v035(mt->version);
  out->vocab_size = mt->vocab_size;
  int lut_emb = anemll_lut_bits(mt->lut_embeddings), lut_ffn = anemll_lut_bits(mt->lut_ffn),
      lut_lm = anemll_lut_bits(mt->lut_lmhead);
  if (lut_emb < 0 || lut_ffn < 0 || lut_lm < 0)
    return util_err(err, MR_EFORMAT, "%s/meta.yaml: a lut_* value is neither none nor a number of bits", dir);
  if (resolve_all(dir, mt, lut_emb, lut_ffn, lut_lm, out)) return MR_OK;
  llm_files_free(out);
  return util_err_nomem(err, dir);
}
