/* convert_qwen3_06b.c — conversion time and peak memory on a checkpoint of Qwen3-0.6B's shape.
 *
 *   bench_convert_qwen3_06b WORKDIR [--lut 8] [--keep] [--checkpoint-only]
 *
 * Writes WORKDIR/Qwen3-0.6B-random (config.json of Qwen3-0.6B, docs/anemll.md §7, and a 1.2 GB bf16
 * model.safetensors of random normal weights, std 0.02, norms 1; tied embeddings), streamed to disk
 * so that making it holds no copy, then converts it with `--lut-ffn N --lut-lmhead N` (context 512,
 * batch 64, one chunk) into WORKDIR/Qwen3-0.6B-anemll and reports the wall time and the peak
 * resident memory of the conversion against the size of an fp32 copy of the weights. With
 * --checkpoint-only it writes the checkpoint and stops (bench/qwen3_06b.sh uses it: the same
 * weights for `milrun bench` and the llama.cpp baseline). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "convert/convert.h"
#include "util/file.h"

#define H 1024
#define L 28
#define NH 16
#define NKV 8
#define HD 128
#define FF 3072
#define VOCAB 151936

typedef struct spec {
  char name[96];
  int64_t rows, cols; /* cols 0: a vector */
  int norm;
} spec;

static int list(spec *s) {
  int n = 0;
  s[n++] = (spec){"model.embed_tokens.weight", VOCAB, H, 0};
  s[n++] = (spec){"model.norm.weight", H, 0, 1};
  for (int l = 0; l < L; l++) {
    static const struct { const char *w; int64_t r, c; int norm; } t[] = {
        {"input_layernorm.weight", H, 0, 1}, {"post_attention_layernorm.weight", H, 0, 1},
        {"self_attn.q_proj.weight", NH * HD, H, 0}, {"self_attn.k_proj.weight", NKV * HD, H, 0},
        {"self_attn.v_proj.weight", NKV * HD, H, 0}, {"self_attn.o_proj.weight", H, NH * HD, 0},
        {"self_attn.q_norm.weight", HD, 0, 1}, {"self_attn.k_norm.weight", HD, 0, 1},
        {"mlp.gate_proj.weight", FF, H, 0}, {"mlp.up_proj.weight", FF, H, 0}, {"mlp.down_proj.weight", H, FF, 0}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
      snprintf(s[n].name, sizeof s[n].name, "model.layers.%d.%s", l, t[i].w);
      s[n].rows = t[i].r, s[n].cols = t[i].c, s[n].norm = t[i].norm;
      n++;
    }
  }
  return n;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float normal(void) {
  double u[2];
  for (int i = 0; i < 2; i++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    u[i] = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
  }
  return (float)(sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]));
}

static int make_checkpoint(const char *dir, int64_t *params) {
  static spec s[2 + 11 * L];
  int n = list(s);
  char path[1100];
  mr_error err = {0};
  if (util_mkdirs(dir, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
  snprintf(path, sizeof path, "%s/config.json", dir);
  const char *cfg = "{\"architectures\":[\"Qwen3ForCausalLM\"],\"model_type\":\"qwen3\",\"hidden_size\":1024,"
                    "\"num_hidden_layers\":28,\"num_attention_heads\":16,\"num_key_value_heads\":8,\"head_dim\":128,"
                    "\"intermediate_size\":3072,\"vocab_size\":151936,\"rope_theta\":1000000,\"rms_norm_eps\":1e-06,"
                    "\"tie_word_embeddings\":true,\"hidden_act\":\"silu\",\"torch_dtype\":\"bfloat16\"}\n";
  if (util_write_file_atomic(path, cfg, strlen(cfg), &err)) return fprintf(stderr, "%s\n", err.msg), 1;
  /* header */
  size_t cap = 1 << 20, o = 0;
  char *hdr = malloc(cap);
  int64_t off = 0;
  o += (size_t)snprintf(hdr + o, cap - o, "{\"__metadata__\":{\"format\":\"pt\"}");
  for (int i = 0; i < n; i++) {
    int64_t count = s[i].rows * (s[i].cols ? s[i].cols : 1);
    if (s[i].cols)
      o += (size_t)snprintf(hdr + o, cap - o, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld,%lld],\"data_offsets\":[%lld,%lld]}",
                            s[i].name, (long long)s[i].rows, (long long)s[i].cols, (long long)off, (long long)(off + 2 * count));
    else
      o += (size_t)snprintf(hdr + o, cap - o, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld],\"data_offsets\":[%lld,%lld]}",
                            s[i].name, (long long)s[i].rows, (long long)off, (long long)(off + 2 * count));
    off += 2 * count;
  }
  o += (size_t)snprintf(hdr + o, cap - o, "}");
  while (o % 8) hdr[o++] = ' ';
  *params = off / 2;
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  FILE *f = fopen(path, "wb");
  if (!f) return perror(path), 1;
  unsigned char len[8];
  for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)o >> (8 * i));
  fwrite(len, 1, 8, f);
  fwrite(hdr, 1, o, f);
  free(hdr);
  static uint16_t row[FF > H ? FF : H];
  for (int i = 0; i < n; i++) {
    int64_t cols = s[i].cols ? s[i].cols : s[i].rows, rows = s[i].cols ? s[i].rows : 1;
    for (int64_t r = 0; r < rows; r++) {
      for (int64_t c = 0; c < cols; c++) {
        float v = s[i].norm ? 1.0f : 0.02f * normal();
        uint32_t bits;
        memcpy(&bits, &v, 4);
        row[c] = (uint16_t)((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
      }
      fwrite(row, 2, (size_t)cols, f);
    }
  }
  return fclose(f) ? (perror(path), 1) : 0;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_convert_qwen3_06b WORKDIR [--lut N] [--keep] [--checkpoint-only]\n");
    return 2;
  }
  int bits = 8, keep = 0, only_checkpoint = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--lut") && i + 1 < argc) bits = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--keep")) keep = 1;
    else if (!strcmp(argv[i], "--checkpoint-only")) only_checkpoint = 1;
  }
  char hf[1024], out[1024];
  snprintf(hf, sizeof hf, "%s/Qwen3-0.6B-random", argv[1]);
  snprintf(out, sizeof out, "%s/Qwen3-0.6B-anemll", argv[1]);
  int64_t params = 0;
  double t0 = now();
  if (make_checkpoint(hf, &params)) return 1;
  printf("checkpoint: %lld parameters, %.2f GB bf16, written in %.1f s\n", (long long)params, 2e-9 * (double)params,
         now() - t0);
  if (only_checkpoint) return 0;
  conv_options o;
  conv_options_default(&o);
  o.lut_ffn.bits = o.lut_lmhead.bits = bits;
  conv_result res;
  mr_error err = {0};
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  t0 = now();
  if (conv_convert(hf, out, &o, &res, &err)) {
    fprintf(stderr, "convert: %s\n", err.msg);
    return 1;
  }
  double t = now() - t0;
  getrusage(RUSAGE_SELF, &after);
  printf("convert --lut-ffn %d --lut-lmhead %d: %.1f s, peak RSS %.0f MB (fp32 copy of the weights: %.0f MB), "
         "LUT relative weight error %.3e\n",
         bits, bits, t, after.ru_maxrss / 1024.0, 4e-6 * (double)params, res.lut_rel_error);
  if (!keep) {
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", hf, out);
    if (system(cmd)) return 1;
  }
  return 0;
}
