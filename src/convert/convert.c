/* convert.c — the converter driver: options, file names, the layer and vocabulary splits, and the
 * atomic output directory. Every component is written into OUT.partial-XXXXXX; only when all of
 * them, meta.yaml, the tokenizer files and config.json are complete is it renamed to OUT, and on
 * any error it is removed, so a broken checkpoint never leaves a half-written bundle behind. Each
 * component is first written as a .mlmodelc; its Core ML package is written from the same IR
 * (the writer's on_program hook), linking the weight file, and the .mlmodelc is removed when only
 * packages were asked for. */
#include "convert/convert.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/meta_yaml.h"
#include "llm/anemll_names.h"
#include "mil/model.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

void conv_options_default(conv_options *o) {
  memset(o, 0, sizeof *o);
  o->context = 512;
  o->batch = 64;
  o->chunks = 1;
  o->lut_ffn.group = o->lut_lmhead.group = o->lut_emb.group = 8;
  o->formats = CONV_FORMAT_MLMODELC | CONV_FORMAT_MLPACKAGE;
}

int conv_format_parse(const char *s, int *formats, mr_error *err) {
  if (!strcmp(s, "mlmodelc")) *formats = CONV_FORMAT_MLMODELC;
  else if (!strcmp(s, "mlpackage")) *formats = CONV_FORMAT_MLPACKAGE;
  else if (!strcmp(s, "both")) *formats = CONV_FORMAT_MLMODELC | CONV_FORMAT_MLPACKAGE;
  else return util_err(err, MR_EINVAL, "--format '%s': expected mlpackage, mlmodelc or both", s);
  return MR_OK;
}

int conv_lut_parse(const char *s, conv_lut *out, mr_error *err) {
  out->bits = 0;
  out->group = 8;
  if (!strcmp(s, "none")) return MR_OK;
  char *end;
  long bits = strtol(s, &end, 10);
  if (end == s || (bits != 1 && bits != 2 && bits != 3 && bits != 4 && bits != 6 && bits != 8))
    return util_err(err, MR_EINVAL, "LUT '%s': expected none, 1, 2, 3, 4, 6 or 8 bits, optionally ',GROUP'", s);
  out->bits = (int)bits;
  if (*end == ',') {
    const char *g = end + 1;
    long group = !strcmp(g, "tensor") ? 0 : strtol(g, &end, 10);
    if (strcmp(g, "tensor") != 0 && (end == g || *end || group < 0 || group > 1 << 20))
      return util_err(err, MR_EINVAL, "LUT '%s': the group must be a number of channels (0 = per tensor)", s);
    out->group = (int)group;
  } else if (*end) {
    return util_err(err, MR_EINVAL, "LUT '%s': expected none, 1, 2, 3, 4, 6 or 8 bits, optionally ',GROUP'", s);
  }
  return MR_OK;
}

void conv_name_embeddings(const conv_model *m, char *buf, size_t size) {
  anemll_name_embeddings(buf, size, m->prefix, m->opt.lut_emb.bits);
}

void conv_name_lmhead(const conv_model *m, char *buf, size_t size) {
  anemll_name_lm_head(buf, size, m->prefix, m->opt.lut_lmhead.bits);
}

void conv_name_ffn(const conv_model *m, int chunk, char *buf, size_t size) {
  anemll_name_ffn_chunk(buf, size, m->prefix, m->opt.lut_ffn.bits, chunk + 1, m->opt.chunks);
}

void conv_name_ffn_split(const conv_model *m, int chunk, int prefill, char *buf, size_t size) {
  anemll_name_split_chunk(buf, size, m->prefix, m->opt.lut_ffn.bits, prefill, chunk + 1, m->opt.chunks);
}

/* The package twin of the component dir ("X.mlmodelc" -> "X.mlpackage"), with the metadata the
 * builder wrote; a dry run's package has no weight file, like its .mlmodelc. */
static int write_package(const mil_program *prog, const char *dir, int dry_run, mr_error *err) {
  size_t n = strlen(dir) + 2;
  char *pkg = mr_alloc(n), *md_path = util_path_join(dir, "metadata.json");
  int rc = pkg && md_path ? MR_OK : util_err_nomem(err, dir);
  if (!rc && anemll_name_package(pkg, n, dir)) rc = util_err(err, MR_EINVAL, "%s: not a .mlmodelc name", dir);
  mil_metadata md;
  if (!rc) rc = mil_metadata_read(md_path, &md, err);
  if (!rc) {
    rc = mil_model_write(prog, &md, dry_run ? NULL : dir, MIL_MODEL_PACKAGE, pkg, err);
    mil_metadata_free(&md);
  }
  mr_free(pkg);
  mr_free(md_path);
  return rc;
}

static int finish_component(const mil_program *prog, const char *dir, void *ctx, mr_error *err) {
  const conv_options *o = ctx;
  int rc = o->formats & CONV_FORMAT_MLPACKAGE ? write_package(prog, dir, o->dry_run, err) : MR_OK;
  if (!rc && o->on_program) rc = o->on_program(prog, dir, o->on_program_ctx, err);
  return rc;
}

int conv_open_writer(conv_model *m, conv_writer *w, const char *dir, mr_error *err) {
  int rc = conv_w_open(w, dir, &m->st, m->opt.dry_run, err);
  w->verbose = m->opt.verbose;
  w->on_program = finish_component;
  w->on_program_ctx = &m->opt;
  return rc;
}

/* After a component is complete: its .mlmodelc goes when only packages were asked for. */
static int keep_formats(const conv_model *m, const char *dir, int rc, mr_error *err) {
  if (rc || m->opt.formats & CONV_FORMAT_MLMODELC) return rc;
  return util_remove_tree(dir, err);
}

/* Chunk c's bundle(s) in tmp. */
static int build_chunk(conv_model *m, int c, const char *tmp, mr_error *err) {
  int rc = MR_OK;
  for (int k = 0; k < (m->opt.split_ffn ? 2 : 1) && !rc; k++) {
    char name[300];
    int which = !m->opt.split_ffn ? CONV_FFN_BOTH : k ? CONV_FFN_PREFILL : CONV_FFN_INFER;
    if (which == CONV_FFN_BOTH) conv_name_ffn(m, c, name, sizeof name);
    else conv_name_ffn_split(m, c, which == CONV_FFN_PREFILL, name, sizeof name);
    char *p = util_path_join(tmp, name);
    if (!p) return util_err_nomem(err, "convert");
    if (!(rc = util_mkdirs(p, err))) rc = keep_formats(m, p, conv_build_ffn(m, c, which, p, err), err);
    mr_free(p);
  }
  return rc;
}

void conv_chunk_layers(int layers, int chunks, int c, int *first, int *count) {
  int base = layers / chunks, rem = layers % chunks;
  *count = base + (c < rem);
  *first = c * base + (c < rem ? c : rem);
}

int64_t conv_part_size(int64_t vocab, int parts, int k) { return vocab / parts + (k < vocab % parts ? 1 : 0); }

int conv_tensor(conv_model *m, const char *name, int rank, int64_t d0, int64_t d1, const conv_st_tensor **out,
                mr_error *err) {
  *out = NULL;
  if (m->opt.cancel && *m->opt.cancel) return util_err(err, MR_ECANCEL, "interrupted");
  if (m->opt.dry_run) return MR_OK;
  int64_t shape[2] = {d0, d1};
  return conv_st_get(&m->st, name, rank, shape, out, err);
}

static int copy_file(const char *src, const char *dst, mr_error *err) {
  char *data;
  size_t size;
  int rc = util_read_file(src, &data, &size, err);
  if (rc) return rc;
  rc = util_write_file_atomic(dst, data, size, err);
  mr_free(data);
  return rc;
}

/* Tokenizer files from the checkpoint (or --tokenizer), as Anemll copies them (docs/anemll.md §1.1). */
static int copy_tokenizer(const char *src_dir, const char *out, mr_error *err) {
  static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                                      "chat_template.jinja"};
  int rc = MR_OK;
  for (size_t i = 0; i < sizeof files / sizeof *files && !rc; i++) {
    char *s = util_path_join(src_dir, files[i]), *d = util_path_join(out, files[i]);
    if (!s || !d) rc = util_err_nomem(err, "convert");
    else if (util_exists(s)) rc = copy_file(s, d, err);
    mr_free(s);
    mr_free(d);
  }
  return rc;
}

static int write_min_config(const conv_model *m, const char *out, mr_error *err) {
  char text[256];
  snprintf(text, sizeof text, "{\"tokenizer_class\": \"%s\", \"model_type\": \"%s\"}\n",
           m->cfg.arch == CONV_LLAMA ? "LlamaTokenizer" : "Qwen2Tokenizer", m->cfg.model_type);
  char *p = util_path_join(out, "config.json");
  int rc = p ? util_write_file_atomic(p, text, strlen(text), err) : util_err_nomem(err, "convert");
  mr_free(p);
  return rc;
}

/* Every tensor a LUT applies to must split into whole groups of output channels: otherwise it would
 * silently stay fp16 under a _lutN name. rows[i] x cols[i] are the shapes of the tensors. */
static int check_lut_group(const char *opt, conv_lut l, const char *const *what, const int64_t *rows,
                           const int64_t *cols, int n, mr_error *err) {
  for (int i = 0; l.bits && l.group > 0 && i < n; i++) {
    if (rows[i] * cols[i] <= CONV_LUT_MIN_VALUES || rows[i] % l.group == 0) continue;
    return util_err(err, MR_EINVAL, "%s %d,%d: a group of %d output channels does not divide the %lld rows of %s "
                    "[%lld, %lld]: choose a group that divides it (or 0 for one palette per tensor)", opt, l.bits,
                    l.group, l.group, (long long)rows[i], what[i], (long long)rows[i], (long long)cols[i]);
  }
  return MR_OK;
}

static int check_lut_groups(const conv_model *m, mr_error *err) {
  const conv_config *c = &m->cfg;
  int64_t q = (int64_t)c->heads * c->head_dim, kv = (int64_t)c->kv_heads * c->head_dim;
  const char *ffn_what[] = {"q_proj", "k_proj/v_proj", "o_proj", "gate_proj/up_proj", "down_proj"};
  const int64_t ffn_rows[] = {q, kv, c->hidden, c->inter, c->hidden}, ffn_cols[] = {c->hidden, c->hidden, q, c->hidden, c->inter};
  const char *lm_what[] = {"an LM head part", "an LM head part"}, *emb_what[] = {"the embeddings"};
  const int64_t lm_rows[] = {conv_part_size(c->vocab, m->lm_parts, 0), conv_part_size(c->vocab, m->lm_parts, m->lm_parts - 1)};
  const int64_t lm_cols[] = {c->hidden, c->hidden}, emb_rows[] = {c->vocab}, emb_cols[] = {c->hidden};
  int rc = check_lut_group("--lut-ffn", m->opt.lut_ffn, ffn_what, ffn_rows, ffn_cols, 5, err);
  if (!rc) rc = check_lut_group("--lut-lmhead", m->opt.lut_lmhead, lm_what, lm_rows, lm_cols, 2, err);
  if (!rc) rc = check_lut_group("--lut-embeddings", m->opt.lut_emb, emb_what, emb_rows, emb_cols, 1, err);
  return rc;
}

/* A --tokenizer folder must hold a tokenizer; a checkpoint without one is only reported. */
static int check_tokenizer(const char *hf_dir, const char *tok_dir, int *missing, mr_error *err) {
  char *p = util_path_join(tok_dir ? tok_dir : hf_dir, "tokenizer.json");
  if (!p) return util_err_nomem(err, "convert");
  *missing = !util_exists(p);
  mr_free(p);
  if (tok_dir && !util_is_dir(tok_dir))
    return util_err(err, MR_ENOTFOUND, "--tokenizer %s: no such folder", tok_dir);
  if (tok_dir && *missing)
    return util_err(err, MR_ENOTFOUND, "--tokenizer %s: the folder has no tokenizer.json", tok_dir);
  return MR_OK;
}

/* mkdtemp makes 0700; the bundle gets what the user's umask gives a new folder. */
static void chmod_umask(const char *dir) {
  mode_t mask = umask(0);
  umask(mask);
  chmod(dir, 0777 & ~mask);
}

static int check_options(const conv_model *m, const char *hf_dir, mr_error *err) {
  const conv_options *o = &m->opt;
  if (o->context < 2 || o->context > 1 << 20 || o->batch < 1 || o->batch > o->context)
    return util_err(err, MR_EINVAL, "--context must be >= 2 and --batch between 1 and the context (got %d and %d)", o->context,
                    o->batch);
  if (!o->formats || o->formats & ~(CONV_FORMAT_MLMODELC | CONV_FORMAT_MLPACKAGE))
    return util_err(err, MR_EINVAL, "--format: expected mlpackage, mlmodelc or both");
  if (o->chunks < 1 || o->chunks > m->cfg.layers)
    return util_err(err, MR_EINVAL, "%s: --chunks %d: the model has %d layers", hf_dir, o->chunks, m->cfg.layers);
  if (m->lm_parts < 1 || m->lm_parts > 64 || m->lm_parts > m->cfg.vocab)
    return util_err(err, MR_EINVAL, "--split-lm-head must be between 1 and 64");
  return check_lut_groups(m, err);
}

static int build_all(conv_model *m, const char *hf_dir, const char *tok_dir, const char *tmp, mr_error *err) {
  char name[300];
  int rc = MR_OK;
  char *p;
  conv_name_embeddings(m, name, sizeof name);
  if (!(p = util_path_join(tmp, name))) return util_err_nomem(err, "convert");
  if (!(rc = util_mkdirs(p, err))) rc = keep_formats(m, p, conv_build_embeddings(m, p, err), err);
  mr_free(p);
  for (int c = 0; c < m->opt.chunks && !rc; c++) rc = build_chunk(m, c, tmp, err);
  if (!rc) {
    conv_name_lmhead(m, name, sizeof name);
    if (!(p = util_path_join(tmp, name))) return util_err_nomem(err, "convert");
    if (!(rc = util_mkdirs(p, err))) rc = keep_formats(m, p, conv_build_lmhead(m, p, err), err);
    mr_free(p);
  }
  if (!rc) rc = conv_write_meta_yaml(m, hf_dir, tmp, err);
  if (!rc) rc = copy_tokenizer(tok_dir ? tok_dir : hf_dir, tmp, err);
  if (!rc) rc = write_min_config(m, tmp, err);
  return rc;
}

int conv_convert(const char *hf_dir, const char *out_dir, const conv_options *opt, conv_result *res, mr_error *err) {
  conv_model m;
  memset(&m, 0, sizeof m);
  m.opt = *opt;
  char *cfg_path = util_path_join(hf_dir, "config.json");
  if (!cfg_path) return util_err_nomem(err, "convert");
  int rc = conv_config_read(cfg_path, &m.cfg, err);
  mr_free(cfg_path);
  if (rc) return rc;
  m.prefix = opt->prefix ? opt->prefix : m.cfg.arch == CONV_QWEN3 ? "qwen" : m.cfg.arch == CONV_QWEN2 ? "qwen25" : "llama";
  m.lm_parts = opt->split_lm_head ? opt->split_lm_head : m.cfg.arch == CONV_LLAMA ? 8 : 16;
  /* state length: Qwen max(256, C), Llama max(512, C) (docs/anemll.md §2.2) */
  int smin = m.cfg.arch == CONV_LLAMA ? 512 : 256;
  m.state_len = opt->context > smin ? opt->context : smin;
  if ((rc = check_options(&m, hf_dir, err))) return rc;
  if (util_exists(out_dir)) return util_err(err, MR_EINVAL, "%s already exists; remove it or choose another output", out_dir);
  int no_tokenizer = 0;
  if ((rc = check_tokenizer(hf_dir, opt->tokenizer_dir, &no_tokenizer, err))) return rc;
  if (!opt->dry_run && (rc = conv_st_open(&m.st, hf_dir, err))) return rc;
  size_t n = strlen(out_dir) + 32;
  char *tmp = mr_alloc(n);
  if (!tmp) {
    conv_st_close(&m.st);
    return util_err_nomem(err, "convert");
  }
  snprintf(tmp, n, "%s.partial-XXXXXX", out_dir);
  if (!mkdtemp(tmp)) {
    rc = util_err(err, MR_EIO, "%s: cannot create: %s", tmp, strerror(errno));
  } else {
    chmod_umask(tmp);
    rc = build_all(&m, hf_dir, opt->tokenizer_dir, tmp, err);
    if (!rc && opt->cancel && *opt->cancel) rc = util_err(err, MR_ECANCEL, "interrupted"); /* during the last tensor */
    if (!rc && rename(tmp, out_dir) != 0) rc = util_err(err, MR_EIO, "%s: cannot rename to %s: %s", tmp, out_dir, strerror(errno));
    if (rc) util_remove_tree(tmp, NULL);
  }
  if (!rc && res) {
    res->lut_rel_error = m.lut_ref2 > 0 ? sqrt(m.lut_err2 / m.lut_ref2) : 0.0;
    res->n_files = m.opt.chunks + 2;
    res->no_tokenizer = no_tokenizer;
  }
  mr_free(tmp);
  conv_st_close(&m.st);
  return rc;
}
