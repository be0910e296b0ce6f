/* layout.c — component paths of an Anemll model directory (see layout.h). */
#include "llm/layout.h"

#include <string.h>

#include "llm/anemll_names.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

/* dir/name, or its package form (X.mlpackage for X.mlmodelc: what `milrun convert --format
 * mlpackage` and coremltools write) when only that is there; NULL when out of memory. */
static char *resolve(const char *dir, const char *name) {
  char pkg[300];
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

/* The path of a component (names: llm/anemll_names.h); NULL when out of memory. */
static char *component(const char *dir, int (*name_of)(char *, size_t, const char *, int), const char *prefix, int lut) {
  char name[256];
  return name_of(name, sizeof name, prefix, lut) ? NULL : resolve(dir, name);
}

void llm_layout_free(llm_layout *l) {
  mr_free(l->embeddings);
  mr_free(l->lm_head);
  for (int c = 0; l->ffn && c < l->chunks; c++) mr_free(l->ffn[c]);
  mr_free(l->ffn);
  memset(l, 0, sizeof *l);
}

int llm_layout_resolve(const char *dir, const llm_meta *meta, llm_layout *out, mr_error *err) {
  memset(out, 0, sizeof *out);
  int lut_emb = anemll_lut_bits(meta->lut_embeddings), lut_ffn = anemll_lut_bits(meta->lut_ffn),
      lut_lm = anemll_lut_bits(meta->lut_lmhead);
  if (lut_emb < 0 || lut_ffn < 0 || lut_lm < 0)
    return util_err(err, MR_EFORMAT, "meta.yaml: a lut_* value is neither none nor a number of bits");
  out->embeddings = component(dir, anemll_name_embeddings, meta->prefix, lut_emb);
  if (out->embeddings && !util_is_dir(out->embeddings)) { /* chat.py retries without the _lut suffix */
    mr_free(out->embeddings);
    out->embeddings = component(dir, anemll_name_embeddings, meta->prefix, 0);
  }
  out->lm_head = component(dir, anemll_name_lm_head, meta->prefix, lut_lm);
  out->ffn = util_calloc((size_t)meta->chunks, sizeof *out->ffn);
  int ok = out->embeddings && out->lm_head && out->ffn;
  if (out->ffn) out->chunks = meta->chunks;
  for (int c = 0; ok && c < meta->chunks; c++) {
    char name[256];
    ok = !anemll_name_ffn_chunk(name, sizeof name, meta->prefix, lut_ffn, c + 1, meta->chunks) &&
         (out->ffn[c] = resolve(dir, name)) != NULL;
  }
  if (ok) return MR_OK;
  llm_layout_free(out);
  return util_err_nomem(err, dir);
}
