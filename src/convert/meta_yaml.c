/* meta_yaml.c — meta.yaml as Anemll's generate_meta_yaml.py writes it (docs/anemll.md §1.4, docs/formats.md §5):
 * model_info with name, version, description, architecture and the parameters chat.py reads. */
#include "convert/meta_yaml.h"

#include <stdio.h>
#include <string.h>

#include "llm/anemll_names.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strbuf.h"

static const char *lut_text(conv_lut l, char *buf, size_t size) {
  if (!l.bits) return "none";
  snprintf(buf, size, "%d", l.bits);
  return buf;
}

int conv_write_meta_yaml(const conv_model *m, const char *hf_dir, const char *out_dir, mr_error *err) {
  const conv_options *o = &m->opt;
  int v035 = o->argmax || (o->lut_emb.bits && o->lut_emb.group != 8) || (o->lut_ffn.bits && o->lut_ffn.group != 8) ||
             (o->lut_lmhead.bits && o->lut_lmhead.group != 8);
  const char *base = strrchr(hf_dir, '/');
  base = base && base[1] ? base + 1 : hf_dir;
  char emb[300], lm[300], ffn[300], a[16], b[16], c[16];
  conv_name_embeddings(m, emb, sizeof emb);
  conv_name_lmhead(m, lm, sizeof lm);
  if (v035) { /* 0.3.5 names chunk 01 */
    conv_name_ffn(m, 0, ffn, sizeof ffn);
  } else { /* 0.3.4: the FFN base name without the chunk suffix */
    anemll_name_ffn_base(ffn, sizeof ffn, m->prefix, o->lut_ffn.bits);
  }
  util_sb sb = {0};
  util_sb_printf(&sb, "model_info:\n  name: anemll-%s-ctx%d\n  version: %s\n", o->name ? o->name : base, o->context,
                 v035 ? "0.3.5" : "0.3.4");
  util_sb_printf(&sb, "  description: |\n    Demonstrates running %s on Apple Neural Engine\n    Context length: %d\n"
                      "    Batch size: %d\n    Chunks: %d\n",
                 o->name ? o->name : base, o->context, o->batch, o->chunks);
  util_sb_printf(&sb, "  license: MIT\n  author: Anemll\n  framework: Core ML\n  language: Python\n  architecture: %s\n",
                 m->cfg.model_type);
  util_sb_printf(&sb, "  parameters:\n    context_length: %d\n    batch_size: %d\n", o->context, o->batch);
  util_sb_printf(&sb, "    lut_embeddings: %s\n    lut_ffn: %s\n    lut_lmhead: %s\n", lut_text(o->lut_emb, a, sizeof a),
                 lut_text(o->lut_ffn, b, sizeof b), lut_text(o->lut_lmhead, c, sizeof c));
  util_sb_printf(&sb, "    num_chunks: %d\n    model_prefix: %s\n    embeddings: %s\n    lm_head: %s\n    ffn: %s\n",
                 o->chunks, m->prefix, emb, lm, ffn);
  util_sb_printf(&sb, "    split_lm_head: %d\n", m->lm_parts);
  if (v035) {
    const conv_lut *l[3] = {&o->lut_emb, &o->lut_ffn, &o->lut_lmhead};
    const char *k[3] = {"embeddings", "ffn", "lmhead"};
    for (int i = 0; i < 3; i++)
      if (l[i]->bits && l[i]->group != 8) util_sb_printf(&sb, "    lut_%s_per_channel: %d\n", k[i], l[i]->group);
    if (o->argmax) {
      util_sb_printf(&sb, "    argmax_in_model: true\n    vocab_size: %d\n    lm_head_chunk_sizes: [", m->cfg.vocab);
      for (int i = 0; i < m->lm_parts; i++)
        util_sb_printf(&sb, i ? ", %lld" : "%lld", (long long)conv_part_size(m->cfg.vocab, m->lm_parts, i));
      util_sb_puts(&sb, "]\n");
    }
  }
  if (util_sb_failed(&sb)) {
    util_sb_free(&sb);
    return util_err_nomem(err, "meta.yaml");
  }
  char *p = util_path_join(out_dir, "meta.yaml");
  int rc = p ? util_write_file_atomic(p, sb.buf, sb.len, err) : util_err_nomem(err, "meta.yaml");
  mr_free(p);
  util_sb_free(&sb);
  return rc;
}
