/* convert.h — `milrun convert`: a Hugging Face checkpoint (Qwen3, Qwen2/2.5, Llama) into the
 * bundle Anemll would produce (docs/anemll.md §1-§3, §5): embeddings, FFN_PF chunks with
 * infer and prefill sharing one KV state, the LM head, meta.yaml, tokenizer files and a minimal
 * config.json. Output is atomic: everything is written into OUT.partial-XXXXXX and renamed. */
#ifndef CONVERT_CONVERT_H
#define CONVERT_CONVERT_H

#include <signal.h>

#include "convert/config.h"
#include "convert/safetensors.h"
#include "convert/writer.h"

/* What `--format` writes for each component: its .mlmodelc, its Core ML package, or both. */
enum { CONV_FORMAT_MLMODELC = 1, CONV_FORMAT_MLPACKAGE = 2 };

typedef struct conv_options {
  int context;       /* 512 */
  int batch;         /* 64 */
  int chunks;        /* 1 */
  const char *prefix;/* NULL: qwen, qwen25 or llama */
  int split_lm_head; /* 0: 16 for Qwen, 8 for Llama */
  int argmax;        /* LM head outputs argmax_idx / argmax_val */
  int split_ffn;     /* each chunk as two one-function bundles, {P}_prefill_chunk (prefill) and
                        {P}_FFN_chunk (infer), as Anemll writes them before combining */
  int dry_run;       /* model.mil and metadata.json only, no weights (checkpoint not read) */
  int verbose;       /* print each palettized tensor's reconstruction error on stderr */
  const char *tokenizer_dir; /* NULL: copy the tokenizer files from the checkpoint folder */
  const char *name;  /* meta.yaml model name; NULL: from the checkpoint folder's name */
  conv_lut lut_ffn, lut_lmhead, lut_emb;
  /* Set (by a SIGINT handler) to stop: the conversion ends with MR_ECANCEL before its next tensor
   * and leaves nothing behind. NULL: not cancellable. */
  const volatile sig_atomic_t *cancel;
  int formats;       /* CONV_FORMAT_* bits; default both */
  /* Each component's IR program once its .mlmodelc is written, before its package (see
   * conv_writer.on_program); NULL: none. */
  int (*on_program)(const mil_program *prog, const char *dir, void *ctx, mr_error *err);
  void *on_program_ctx;
} conv_options;

/* Defaults of every option. */
void conv_options_default(conv_options *o);
/* Parse "mlmodelc", "mlpackage" or "both" into CONV_FORMAT_* bits. */
int conv_format_parse(const char *s, int *formats, mr_error *err);
/* Parse "none", "N" or "N,GROUP" (N in 1,2,3,4,6,8; GROUP 0 = per tensor). A group must divide
 * the output channels of every tensor it applies to, which conv_convert checks before any work;
 * as in coremltools, tensors of at most CONV_LUT_MIN_VALUES values stay fp16. */
#define CONV_LUT_MIN_VALUES 2048
int conv_lut_parse(const char *s, conv_lut *out, mr_error *err);

/* What the converter computed, for the report printed by the tool. */
typedef struct conv_result {
  double lut_rel_error; /* sqrt(sum err^2 / sum w^2) over all palettized tensors; 0 without LUT */
  int n_files;
  int no_tokenizer;     /* the checkpoint has no tokenizer.json (and no --tokenizer was given) */
} conv_result;

int conv_convert(const char *hf_dir, const char *out_dir, const conv_options *opt, conv_result *res, mr_error *err);

/* ---- internal: shared by the component builders ---- */
typedef struct conv_model {
  conv_config cfg;
  conv_st st;
  conv_options opt;
  int state_len;   /* S */
  int lm_parts;    /* K */
  const char *prefix;
  double lut_err2, lut_ref2;
} conv_model;

/* The file names of the components (buffers of at least 256 bytes). */
void conv_name_embeddings(const conv_model *m, char *buf, size_t size);
void conv_name_lmhead(const conv_model *m, char *buf, size_t size);
void conv_name_ffn(const conv_model *m, int chunk, char *buf, size_t size);
/* A split build's chunk: the prefill bundle (prefill = 1) or the infer one. */
void conv_name_ffn_split(const conv_model *m, int chunk, int prefill, char *buf, size_t size);

/* The writer of one component in dir, set up from the options. */
int conv_open_writer(conv_model *m, conv_writer *w, const char *dir, mr_error *err);
/* Each writes one complete .mlmodelc directory `dir`. */
int conv_build_embeddings(conv_model *m, const char *dir, mr_error *err);
/* which: CONV_FFN_BOTH (functions infer and prefill), or one of them alone as the function main. */
enum { CONV_FFN_BOTH, CONV_FFN_INFER, CONV_FFN_PREFILL };
int conv_build_ffn(conv_model *m, int chunk, int which, const char *dir, mr_error *err);
int conv_build_lmhead(conv_model *m, const char *dir, mr_error *err);

/* First layer and layer count of chunk c (0-based): divmod split, first chunks get the extra. */
void conv_chunk_layers(int layers, int chunks, int c, int *first, int *count);
/* Size of LM head part k (0-based) of V split in K: the remainder goes to the first parts. */
int64_t conv_part_size(int64_t vocab, int parts, int k);

/* A checkpoint tensor with its expected shape (NULL in a dry run). */
int conv_tensor(conv_model *m, const char *name, int rank, int64_t d0, int64_t d1, const conv_st_tensor **out,
                mr_error *err);

#endif
