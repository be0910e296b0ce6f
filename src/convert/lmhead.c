/* lmhead.c — `{prefix}_lm_head[_lutN]`: hidden_states [1, 1, H] -> logits1..logitsK, each a 1x1
 * conv over its slice of lm_head.weight (embed_tokens when tied), K = 16 for Qwen, 8 for Llama,
 * the remainder rows going to the first parts (docs/anemll.md §2.3). With --argmax the head
 * returns each part's local argmax and its value instead (Anemll 0.3.5: docs/anemll.md §2.3). */
#include <stdio.h>

#include "convert/convert.h"
#include "convert/metadata.h"

#define I64(...) ((const int64_t[]){__VA_ARGS__})

/* Part k: rows [row0, row0 + rows) of the vocabulary as a 1x1 conv, [1, 1, rows] out. */
static void part(conv_model *m, conv_writer *w, const conv_st_tensor *t, const conv_val *xc, int k, int64_t row0,
                 int64_t rows, conv_val *out) {
  const conv_config *cf = &m->cfg;
  char key[160];
  snprintf(key, sizeof key, "lm_head_part%d", k + 1);
  conv_val wt = conv_weight(w, key, t, row0, rows, 4, I64(rows, cf->hidden, 1, 1), m->opt.lut_lmhead);
  conv_val y = conv_emit(w, "lm_conv", MIL_FP16, 4, I64(1, rows, 1, 1), "conv", CONV_ARGS(CONV_CONV_ARGS(wt.name, xc->name)));
  conv_val s = conv_emit(w, "lm_sq", MIL_FP16, 3, I64(1, rows, 1), "squeeze",
                         CONV_ARGS(CA_INTS("axes", 1, I64(2)), CA_VAR("x", y.name)));
  *out = conv_new(w, "logits", MIL_FP16, 3, I64(1, 1, rows));
  if (!m->opt.argmax) snprintf(out->name, sizeof out->name, "logits%d", k + 1);
  conv_op(w, out, "transpose", CONV_ARGS(CA_INTS("perm", 3, I64(0, 2, 1)), CA_VAR("x", s.name)));
}

/* argmax_idx int32 [K] and argmax_val fp16 [K] from the K parts. */
static void argmax_outputs(conv_model *m, conv_writer *w, const conv_val *parts) {
  int K = m->lm_parts;
  conv_val idx[64], val[64];
  conv_arg idx_items[64], val_items[64];
  for (int k = 0; k < K; k++) {
    idx[k] = conv_emit(w, "part_argmax", MIL_INT32, 3, I64(1, 1, 1), "reduce_argmax",
                       CONV_ARGS(CA_I32("axis", -1), CA_BOOL("keep_dims", 1), CA_STR("output_dtype", "int32"),
                                 CA_VAR("x", parts[k].name)));
    val[k] = conv_emit(w, "part_max", MIL_FP16, 3, I64(1, 1, 1), "gather_along_axis",
                       CONV_ARGS(CA_I32("axis", -1), CA_VAR("indices", idx[k].name), CA_BOOL("validate_indices", 0),
                                 CA_VAR("x", parts[k].name)));
    idx_items[k] = CA_VAR(NULL, idx[k].name);
    val_items[k] = CA_VAR(NULL, val[k].name);
  }
  conv_val ci = conv_emit(w, "idx_cat", MIL_INT32, 3, I64(1, 1, K), "concat",
                          CONV_ARGS(CA_I32("axis", -1), CA_BOOL("interleave", 0), CA_TUPLE_N("values", K, idx_items)));
  conv_val cv = conv_emit(w, "val_cat", MIL_FP16, 3, I64(1, 1, K), "concat",
                          CONV_ARGS(CA_I32("axis", -1), CA_BOOL("interleave", 0), CA_TUPLE_N("values", K, val_items)));
  conv_val oi_ = {"argmax_idx", MIL_INT32, 1, {K}}, ov_ = {"argmax_val", MIL_FP16, 1, {K}};
  conv_op(w, &oi_, "squeeze", CONV_ARGS(CA_INTS("axes", 2, I64(0, 1)), CA_VAR("x", ci.name)));
  conv_op(w, &ov_, "squeeze", CONV_ARGS(CA_INTS("axes", 2, I64(0, 1)), CA_VAR("x", cv.name)));
}

int conv_build_lmhead(conv_model *m, const char *dir, mr_error *err) {
  const conv_config *cf = &m->cfg;
  const conv_st_tensor *t = NULL;
  const char *tname = "lm_head.weight";
  int rc;
  if (cf->tied || (!m->opt.dry_run && !conv_st_find(&m->st, tname))) {
    if (!cf->tied) /* untied checkpoint without lm_head.weight */
      return conv_tensor(m, tname, 2, cf->vocab, cf->hidden, &t, err);
    tname = "model.embed_tokens.weight";
  }
  if ((rc = conv_tensor(m, tname, 2, cf->vocab, cf->hidden, &t, err))) return rc;
  conv_writer w;
  if ((rc = conv_open_writer(m, &w, dir, err))) return rc;
  int64_t H = cf->hidden;
  int K = m->lm_parts;
  conv_val parts[64];
  conv_w_function(&w, "main");
  const conv_val in = {"hidden_states", MIL_FP16, 3, {1, 1, H}};
  conv_w_param(&w, &in, 0);
  conv_val tr = conv_emit(&w, "lm_in", MIL_FP16, 3, I64(1, H, 1), "transpose",
                          CONV_ARGS(CA_INTS("perm", 3, I64(0, 2, 1)), CA_VAR("x", in.name)));
  conv_val xc = conv_emit(&w, "lm_nchw", MIL_FP16, 4, I64(1, H, 1, 1), "expand_dims",
                          CONV_ARGS(CA_INTS("axes", 1, I64(2)), CA_VAR("x", tr.name)));
  int64_t row0 = 0;
  for (int k = 0; k < K; k++) {
    int64_t rows = conv_part_size(cf->vocab, K, k);
    part(m, &w, t, &xc, k, row0, rows, &parts[k]);
    row0 += rows;
  }
  conv_fmeta f = {0};
  f.name = "main";
  f.n_in = 1;
  f.in[0] = (conv_feature){"hidden_states", 1, 3, {1, 1, H}, NULL};
  if (m->opt.argmax) {
    argmax_outputs(m, &w, parts);
    conv_w_return(&w, "argmax_idx");
    conv_w_return(&w, "argmax_val");
    f.n_out = 2;
    f.out[0] = (conv_feature){"argmax_idx", 0, 1, {K}, NULL};
    f.out[1] = (conv_feature){"argmax_val", 1, 1, {K}, NULL};
  } else {
    for (int k = 0; k < K; k++) {
      conv_w_return(&w, parts[k].name);
      f.out[k] = (conv_feature){parts[k].name, 1, 3, {1, 1, parts[k].shape[2]}, NULL};
    }
    f.n_out = K;
  }
  m->lut_err2 += w.lut_err2;
  m->lut_ref2 += w.lut_ref2;
  char lut[16], vocab[32], sizes[1024];
  size_t o = 0;
  snprintf(lut, sizeof lut, "%d", m->opt.lut_lmhead.bits);
  snprintf(vocab, sizeof vocab, "%d", cf->vocab);
  sizes[0] = 0;
  for (int k = 0; k < K; k++)
    o += (size_t)snprintf(sizes + o, sizeof sizes - o, k ? ",%lld" : "%lld", (long long)conv_part_size(cf->vocab, K, k));
  const char *user[] = {"com.anemll.info", "Converted with milrun", "com.anemll.lut_bits", m->opt.lut_lmhead.bits ? lut : "none",
                        "com.anemll.argmax_in_model", m->opt.argmax ? "true" : "false", "com.anemll.vocab_size", vocab,
                        "com.anemll.lm_head_chunk_sizes", sizes};
  rc = conv_write_metadata(dir, &f, 1, "Anemll Model (LM Head) converted to CoreML", user, m->opt.argmax ? 5 : 2, err);
  return conv_w_finish_after(&w, dir, rc);
}
