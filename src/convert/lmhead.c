/* lmhead.c — `{prefix}_lm_head[_lutN]`: hidden_states [1, 1, H] -> logits1..logitsK, each a 1x1
 * conv over its slice of lm_head.weight (embed_tokens when tied), K = 16 for Qwen, 8 for Llama,
 * the remainder rows going to the first parts (anemll-contract.md §2.3). With --argmax the head
 * returns each part's local argmax and its value instead ([A35]). */
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
  conv_val y = conv_emit(w, "lm_conv", MIL_FP16, 4, I64(1, rows, 1, 1), "conv",
                         "dilations = %s, groups = int32(1), pad = %s, pad_type = string(\"valid\"), strides = %s, weight = %s, x = %s",
                         conv_ints(w, 2, I64(1, 1)), conv_ints(w, 4, I64(0, 0, 0, 0)), conv_ints(w, 2, I64(1, 1)), wt.name,
                         xc->name);
  conv_val s = conv_emit(w, "lm_sq", MIL_FP16, 3, I64(1, rows, 1), "squeeze", "axes = %s, x = %s", conv_ints(w, 1, I64(2)), y.name);
  *out = conv_new(w, "logits", MIL_FP16, 3, I64(1, 1, rows));
  if (!m->opt.argmax) snprintf(out->name, sizeof out->name, "logits%d", k + 1);
  conv_op(w, out, "transpose", "perm = %s, x = %s", conv_ints(w, 3, I64(0, 2, 1)), s.name);
}

/* argmax_idx int32 [K] and argmax_val fp16 [K] from the K parts. */
static void argmax_outputs(conv_model *m, conv_writer *w, const conv_val *parts) {
  int K = m->lm_parts;
  char idx_list[2048] = "", val_list[2048] = "";
  size_t oi = 0, ov = 0;
  for (int k = 0; k < K; k++) {
    conv_val i = conv_emit(w, "part_argmax", MIL_INT32, 3, I64(1, 1, 1), "reduce_argmax",
                           "axis = int32(-1), keep_dims = bool(true), output_dtype = string(\"int32\"), x = %s", parts[k].name);
    conv_val v = conv_emit(w, "part_max", MIL_FP16, 3, I64(1, 1, 1), "gather_along_axis",
                           "axis = int32(-1), indices = %s, validate_indices = bool(false), x = %s", i.name, parts[k].name);
    oi += (size_t)snprintf(idx_list + oi, sizeof idx_list - oi, k ? ", %s" : "%s", i.name);
    ov += (size_t)snprintf(val_list + ov, sizeof val_list - ov, k ? ", %s" : "%s", v.name);
  }
  conv_val ci = conv_emit(w, "idx_cat", MIL_INT32, 3, I64(1, 1, K), "concat", "axis = int32(-1), interleave = bool(false), values = (%s)",
                          idx_list);
  conv_val cv = conv_emit(w, "val_cat", MIL_FP16, 3, I64(1, 1, K), "concat", "axis = int32(-1), interleave = bool(false), values = (%s)",
                          val_list);
  conv_val oi_ = {"argmax_idx", MIL_INT32, 1, {K}}, ov_ = {"argmax_val", MIL_FP16, 1, {K}};
  conv_op(w, &oi_, "squeeze", "axes = %s, x = %s", conv_ints(w, 2, I64(0, 1)), ci.name);
  conv_op(w, &ov_, "squeeze", "axes = %s, x = %s", conv_ints(w, 2, I64(0, 1)), cv.name);
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
  if ((rc = conv_w_open(&w, dir, &m->st, m->opt.dry_run, err))) return rc;
  w.verbose = m->opt.verbose;
  int64_t H = cf->hidden;
  int K = m->lm_parts;
  conv_val parts[64];
  conv_w_printf(&w, "    func main<ios18>(tensor<fp16, [1, 1, %lld]> hidden_states) {\n", (long long)H);
  conv_val tr = conv_emit(&w, "lm_in", MIL_FP16, 3, I64(1, H, 1), "transpose", "perm = %s, x = hidden_states",
                          conv_ints(&w, 3, I64(0, 2, 1)));
  conv_val xc = conv_emit(&w, "lm_nchw", MIL_FP16, 4, I64(1, H, 1, 1), "expand_dims", "axes = %s, x = %s",
                          conv_ints(&w, 1, I64(2)), tr.name);
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
    conv_w_printf(&w, "        } -> (argmax_idx, argmax_val);\n");
    f.n_out = 2;
    f.out[0] = (conv_feature){"argmax_idx", 0, 1, {K}, NULL};
    f.out[1] = (conv_feature){"argmax_val", 1, 1, {K}, NULL};
  } else {
    conv_w_printf(&w, "        } -> (");
    for (int k = 0; k < K; k++) {
      conv_w_printf(&w, k ? ", logits%d" : "logits%d", k + 1);
      f.out[k] = (conv_feature){parts[k].name, 1, 3, {1, 1, parts[k].shape[2]}, NULL};
    }
    conv_w_printf(&w, ");\n");
    f.n_out = K;
  }
  m->lut_err2 += w.lut_err2;
  m->lut_ref2 += w.lut_ref2;
  if ((rc = conv_w_finish(&w, dir))) return rc;
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
  return conv_write_metadata(dir, &f, 1, "Anemll Model (LM Head) converted to CoreML", user, m->opt.argmax ? 5 : 2, err);
}
