/* convert.c — `milrun convert HF_DIR OUT_DIR [options]`: a Hugging Face checkpoint into an
 * Anemll-layout bundle (src/convert/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "convert/convert.h"
#include "interrupt.h"
#include "opts.h"

static int format_opt(void *dest, const char *v, char *why, size_t whysz) {
  mr_error err = {0};
  if (conv_format_parse(v, dest, &err) == MR_OK) return 0;
  snprintf(why, whysz, "%s", err.msg);
  return 1;
}

static int lut_opt(void *dest, const char *v, char *why, size_t whysz) {
  mr_error err = {0};
  if (conv_lut_parse(v, dest, &err) == MR_OK) return 0;
  snprintf(why, whysz, "%s", err.msg);
  return 1;
}

int tool_convert(int argc, char **argv) {
  conv_options o;
  conv_options_default(&o);
  int quiet = 0;
  const tool_opt opts[] = {
    {"context", 0, OPT_INT, &o.context, "N", "context length (default 512)", 2, 1 << 20, NULL},
    {"batch", 0, OPT_INT, &o.batch, "N", "prefill batch (default 64)", 1, 1 << 20, NULL},
    {"chunks", 0, OPT_INT, &o.chunks, "N", "number of FFN chunks (default 1)", 1, 4096, NULL},
    {"prefix", 0, OPT_STR, &o.prefix, "P", "file prefix (default qwen, qwen25 or llama)", 0, 0, NULL},
    {"split-lm-head", 0, OPT_INT, &o.split_lm_head, "K", "number of logits outputs (default 16 for Qwen, 8 for Llama)", 1, 64, NULL},
    {"lut-ffn", 0, OPT_FN, &o.lut_ffn, "L",
     "none|1|2|3|4|6|8[,GROUP]: palettize the FFN weights; GROUP output" OPT_NL
     "channels share a palette (default 8; 0 = per tensor) and must" OPT_NL
     "divide every tensor's rows; tensors of at most 2048 values stay" OPT_NL "fp16, as in coremltools", 0, 0, lut_opt},
    {"lut-lmhead", 0, OPT_FN, &o.lut_lmhead, "L", "the same for the LM head", 0, 0, lut_opt},
    {"lut-embeddings", 0, OPT_FN, &o.lut_emb, "L", "the same for the embeddings", 0, 0, lut_opt},
    {"argmax", 0, OPT_FLAG, &o.argmax, NULL, "the LM head outputs argmax_idx / argmax_val (Anemll 0.3.5)", 0, 0, NULL},
    {"tokenizer", 0, OPT_STR, &o.tokenizer_dir, "DIR", "copy the tokenizer files from DIR instead of HF_DIR" OPT_NL
     "(DIR must hold tokenizer.json)", 0, 0, NULL},
    {"name", 0, OPT_STR, &o.name, "NAME", "model name in meta.yaml (default: HF_DIR's folder name)", 0, 0, NULL},
    {"format", 0, OPT_FN, &o.formats, "F", "mlpackage, mlmodelc or both (default both): each component as a" OPT_NL
     "Core ML package (for Core ML on a Mac, coremltools), as a" OPT_NL ".mlmodelc, or both", 0, 0, format_opt},
    {"dry-run", 0, OPT_FLAG, &o.dry_run, NULL, "write model.mil and metadata.json only (no weights;" OPT_NL
     "checkpoint not read)", 0, 0, NULL},
    {"quiet", 'q', OPT_FLAG, &quiet, NULL, "do not print the reconstruction error of each palettized tensor", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "convert", "HF_DIR OUT_DIR [options]",
    "Convert a Hugging Face checkpoint (config.json + safetensors; Qwen3, Qwen2/2.5 or Llama; bf16, fp16\n"
    "or fp32) into the bundle Anemll produces: embeddings, FFN_PF chunks (infer + prefill), LM head,\n"
    "meta.yaml, tokenizer files and a minimal config.json. OUT_DIR appears only when complete: on an\n"
    "error or Ctrl-C (exit 130) nothing is left behind.",
    opts, NULL, 2, 2, "HF_DIR and OUT_DIR"};
  const char *pos[2];
  int npos;
  int rc = tool_parse(&cmd, argc, argv, pos, &npos);
  if (rc) return tool_parse_exit(rc);
  o.verbose = !quiet; /* report each LUT tensor's error */
  o.cancel = &tool_interrupted;
  tool_interrupt_flag();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  conv_result res = {0};
  mr_error err = {0};
  rc = conv_convert(pos[0], pos[1], &o, &res, &err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc == MR_ECANCEL) {
    fprintf(stderr, "milrun convert: interrupted; %s was not written\n", pos[1]);
    return TOOL_EXIT_INTERRUPTED;
  }
  if (rc) {
    fprintf(stderr, "milrun convert: %s\n", err.msg);
    return rc == MR_EINVAL ? 2 : 1;
  }
  if (res.no_tokenizer)
    fprintf(stderr, "milrun convert: warning: %s has no tokenizer.json, so %s has no tokenizer: chat and generate "
            "need one (give --tokenizer DIR)\n", pos[0], pos[1]);
  double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("wrote %s (%d components) in %.1f s", pos[1], res.n_files, s);
  if (o.lut_ffn.bits || o.lut_lmhead.bits || o.lut_emb.bits) printf("; LUT relative weight error %.3e", res.lut_rel_error);
  printf("\n");
  return 0;
}
