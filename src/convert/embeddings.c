/* embeddings.c — `{prefix}_embeddings[_lutN]`: input_ids -> hidden_states, a gather on
 * embed_tokens (docs/anemll.md §2.1). Anemll declares input_ids with the enumerated shapes
 * [1, 1] and [1, B]: model.mil declares [1, ?] and metadata.json lists both as enumeratedShapes with
 * [1, 1] as the default. (The FlexibleShapeInformation attribute Core ML adds is left out: its
 * EnumeratedShapes entries are keyed by a compiler-made hash whose derivation is unknown, and nothing
 * in milrun reads it; a .mlpackage carries the shapes in its FeatureType instead.) */
#include <stdio.h>

#include "convert/convert.h"
#include "convert/metadata.h"

#define I64(...) ((const int64_t[]){__VA_ARGS__})

int conv_build_embeddings(conv_model *m, const char *dir, mr_error *err) {
  const conv_config *cf = &m->cfg;
  const conv_st_tensor *t = NULL;
  int rc = conv_tensor(m, "model.embed_tokens.weight", 2, cf->vocab, cf->hidden, &t, err);
  if (rc) return rc;
  conv_writer w;
  if ((rc = conv_open_writer(m, &w, dir, err))) return rc;
  conv_w_function(&w, "main");
  const conv_val ids = {"input_ids", MIL_INT32, 2, {1, -1}};
  conv_w_param(&w, &ids, 0);
  conv_val e = conv_weight(&w, "model.embed_tokens.weight", t, 0, cf->vocab, 2, I64(cf->vocab, cf->hidden), m->opt.lut_emb);
  conv_val out = conv_new(&w, "hidden", MIL_FP16, 3, I64(1, -1, cf->hidden));
  snprintf(out.name, sizeof out.name, "hidden_states");
  conv_op(&w, &out, "gather", CONV_ARGS(CONV_GATHER_ARGS(ids.name, e.name)));
  conv_w_return(&w, out.name);
  m->lut_err2 += w.lut_err2;
  m->lut_ref2 += w.lut_ref2;
  char enumerated[64], lut[16];
  snprintf(enumerated, sizeof enumerated, "[[1, 1], [1, %d]]", m->opt.batch);
  snprintf(lut, sizeof lut, "%d", m->opt.lut_emb.bits);
  conv_fmeta f = {0};
  f.name = "main";
  f.n_in = f.n_out = 1;
  f.in[0] = (conv_feature){"input_ids", 0, 2, {1, 1}, enumerated};
  f.out[0] = (conv_feature){"hidden_states", 1, 3, {1, 1, cf->hidden}, NULL};
  const char *user[] = {"com.anemll.info", "Converted with milrun", "com.anemll.lut_bits", m->opt.lut_emb.bits ? lut : "none"};
  rc = conv_write_metadata(dir, &f, 1, "Anemll Model (Embeddings) converted to CoreML", user, 2, err);
  return conv_w_finish_after(&w, dir, rc);
}
