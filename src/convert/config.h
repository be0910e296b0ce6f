/* config.h — the hyper-parameters of a Hugging Face config.json that the converter needs, for the
 * three architectures Anemll converts (Qwen3, Qwen2/2.5, Llama), and the RoPE frequencies as
 * transformers computes them (default, linear and llama3 rope types; both the transformers 4
 * top-level rope_theta/rope_scaling and the transformers 5 rope_parameters spellings). */
#ifndef CONVERT_CONFIG_H
#define CONVERT_CONFIG_H

#include "milrun.h"

typedef enum conv_arch { CONV_QWEN3, CONV_QWEN2, CONV_LLAMA } conv_arch;
typedef enum conv_rope_type { CONV_ROPE_DEFAULT, CONV_ROPE_LINEAR, CONV_ROPE_LLAMA3 } conv_rope_type;

typedef struct conv_config {
  conv_arch arch;
  char model_type[32]; /* as written in config.json: "qwen3", "qwen2", "llama" */
  int hidden, layers, heads, kv_heads, head_dim, inter, vocab;
  double eps;
  int tied;      /* tie_word_embeddings */
  int qkv_bias;  /* q/k/v projections have biases (Qwen2, or attention_bias) */
  int qk_norm;   /* Qwen3 q_norm / k_norm */
  conv_rope_type rope;
  double theta, factor, low_freq, high_freq;
  int orig_max_pos;
} conv_config;

/* Read and validate `path`. Unknown architectures, unsupported rope types and inconsistent sizes
 * are errors that name the file and the key. */
int conv_config_read(const char *path, conv_config *c, mr_error *err);
int conv_config_parse(const char *text, const char *path, conv_config *c, mr_error *err);

/* inv_freq[i], i < head_dim/2, after the rope type's scaling (transformers' rope init functions). */
void conv_rope_inv_freq(const conv_config *c, double *inv_freq);

#endif
