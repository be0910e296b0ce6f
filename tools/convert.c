/* convert.c — `milrun convert HF_DIR OUT_DIR [options]`: a Hugging Face checkpoint into an
 * Anemll-layout bundle (src/convert/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "convert/convert.h"

static int usage(FILE *f) {
  fprintf(f,
          "usage: milrun convert HF_DIR OUT_DIR [options]\n\n"
          "Convert a Hugging Face checkpoint (config.json + safetensors; Qwen3, Qwen2/2.5 or Llama; bf16, fp16\n"
          "or fp32) into the bundle Anemll produces: embeddings, FFN_PF chunks (infer + prefill), LM head,\n"
          "meta.yaml, tokenizer files and a minimal config.json.\n\n"
          "options:\n"
          "  --context N          context length (default 512)\n"
          "  --batch N            prefill batch (default 64)\n"
          "  --chunks N           number of FFN chunks (default 1)\n"
          "  --prefix P           file prefix (default qwen, qwen25 or llama)\n"
          "  --split-lm-head K    number of logits outputs (default 16 for Qwen, 8 for Llama)\n"
          "  --lut-ffn L          none|1|2|3|4|6|8[,group] (group of output channels, default 8; 0 = per tensor)\n"
          "  --lut-lmhead L       the same for the LM head\n"
          "  --lut-embeddings L   the same for the embeddings\n"
          "  --argmax             the LM head outputs argmax_idx / argmax_val (Anemll 0.3.5)\n"
          "  --tokenizer DIR      copy the tokenizer files from DIR instead of HF_DIR\n"
          "  --name NAME          model name in meta.yaml (default: HF_DIR's folder name)\n"
          "  --format F           mlpackage, mlmodelc or both (default both): each component as a Core ML\n"
          "                       package (for Core ML on a Mac, coremltools), as a .mlmodelc, or both\n"
          "  --dry-run            write model.mil and metadata.json only (no weights; checkpoint not read)\n"
          "  --quiet              do not print the reconstruction error of each palettized tensor\n"
          "  --help               this help\n");
  return f == stdout ? 0 : 2;
}

static int int_arg(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0 || v > 1 << 24) return -1;
  *out = (int)v;
  return 0;
}

int tool_convert(int argc, char **argv) {
  conv_options o;
  conv_options_default(&o);
  o.verbose = 1; /* report each LUT tensor's error */
  const char *pos[2] = {NULL, NULL};
  int npos = 0;
  mr_error err = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout);
    if (!strcmp(a, "--dry-run")) o.dry_run = 1;
    else if (!strcmp(a, "--argmax")) o.argmax = 1;
    else if (!strcmp(a, "--quiet")) o.verbose = 0;
    else if (a[0] == '-' && a[1] == '-' && !v) bad = 1;
    else if (!strcmp(a, "--context")) bad = int_arg(argv[++i], &o.context);
    else if (!strcmp(a, "--batch")) bad = int_arg(argv[++i], &o.batch);
    else if (!strcmp(a, "--chunks")) bad = int_arg(argv[++i], &o.chunks);
    else if (!strcmp(a, "--split-lm-head")) bad = int_arg(argv[++i], &o.split_lm_head);
    else if (!strcmp(a, "--prefix")) o.prefix = argv[++i];
    else if (!strcmp(a, "--tokenizer")) o.tokenizer_dir = argv[++i];
    else if (!strcmp(a, "--name")) o.name = argv[++i];
    else if (!strcmp(a, "--format")) bad = conv_format_parse(argv[++i], &o.formats, &err) != MR_OK;
    else if (!strcmp(a, "--lut-ffn") || !strcmp(a, "--lut-lmhead") || !strcmp(a, "--lut-embeddings")) {
      conv_lut *l = a[6] == 'f' ? &o.lut_ffn : a[6] == 'l' ? &o.lut_lmhead : &o.lut_emb;
      if (conv_lut_parse(argv[++i], l, &err)) {
        fprintf(stderr, "milrun convert: %s: %s\n", a, err.msg);
        return 2;
      }
    } else if (a[0] == '-') {
      fprintf(stderr, "milrun convert: unknown option '%s'\n", a);
      return usage(stderr);
    } else if (npos < 2) {
      pos[npos++] = a;
    } else {
      bad = 1;
    }
    if (bad) {
      fprintf(stderr, "milrun convert: bad argument '%s'%s%s\n", a, v ? " " : "", v ? v : "");
      return usage(stderr);
    }
  }
  if (npos != 2) return usage(stderr);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  conv_result res = {0};
  int rc = conv_convert(pos[0], pos[1], &o, &res, &err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc) {
    fprintf(stderr, "milrun convert: %s\n", err.msg);
    return 1;
  }
  double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("wrote %s (%d components) in %.1f s", pos[1], res.n_files, s);
  if (o.lut_ffn.bits || o.lut_lmhead.bits || o.lut_emb.bits) printf("; LUT relative weight error %.3e", res.lut_rel_error);
  printf("\n");
  return 0;
}
