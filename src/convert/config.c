/* config.c — config.json for the converter. transformers 5 moved rope_theta and rope_scaling into
 * one "rope_parameters" object; transformers 4 checkpoints (the real Qwen3-0.6B) keep a top-level
 * rope_theta and an optional rope_scaling. Both are read into the same fields. */
#include "convert/config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

/* A positive integer key; `dflt` < 0 means required. */
static int get_int(const cJSON *j, const char *path, const char *key, int dflt, int *out, mr_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!v || cJSON_IsNull(v)) {
    if (dflt < 0) return util_err(err, MR_EFORMAT, "%s: missing \"%s\"", path, key);
    *out = dflt;
    return MR_OK;
  }
  if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 || v->valuedouble != (double)(int)v->valuedouble)
    return util_err(err, MR_EFORMAT, "%s: \"%s\" must be a positive integer", path, key);
  *out = (int)v->valuedouble;
  return MR_OK;
}

static double get_num(const cJSON *j, const char *key, double dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int get_bool(const cJSON *j, const char *key, int dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static int parse_rope(const cJSON *j, const char *path, conv_config *c, mr_error *err) {
  const cJSON *rp = cJSON_GetObjectItemCaseSensitive(j, "rope_parameters");
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
  const cJSON *src = cJSON_IsObject(rp) ? rp : cJSON_IsObject(rs) ? rs : NULL;
  c->theta = get_num(j, "rope_theta", 10000.0);
  if (cJSON_IsObject(rp)) c->theta = get_num(rp, "rope_theta", c->theta);
  c->rope = CONV_ROPE_DEFAULT;
  c->factor = 1.0;
  if (!src) return MR_OK;
  const cJSON *ty = cJSON_GetObjectItemCaseSensitive(src, "rope_type");
  if (!cJSON_IsString(ty)) ty = cJSON_GetObjectItemCaseSensitive(src, "type");
  const char *type = cJSON_IsString(ty) ? ty->valuestring : "default";
  c->factor = get_num(src, "factor", 1.0);
  if (!strcmp(type, "default")) return MR_OK;
  if (c->factor <= 0) return util_err(err, MR_EFORMAT, "%s: rope factor must be positive", path);
  if (!strcmp(type, "linear")) {
    c->rope = CONV_ROPE_LINEAR;
    return MR_OK;
  }
  if (strcmp(type, "llama3") != 0)
    return util_err(err, MR_ENOTSUP, "%s: rope type \"%s\" is not supported (default, linear, llama3)", path, type);
  c->rope = CONV_ROPE_LLAMA3;
  c->low_freq = get_num(src, "low_freq_factor", 1.0);
  c->high_freq = get_num(src, "high_freq_factor", 4.0);
  c->orig_max_pos = (int)get_num(src, "original_max_position_embeddings", 8192);
  if (c->high_freq <= c->low_freq || c->orig_max_pos < 1)
    return util_err(err, MR_EFORMAT, "%s: llama3 rope needs high_freq_factor > low_freq_factor and original_max_position_embeddings >= 1",
                    path);
  return MR_OK;
}

static int parse_arch(const cJSON *j, const char *path, conv_config *c, mr_error *err) {
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
  if (!cJSON_IsString(mt)) return util_err(err, MR_EFORMAT, "%s: missing \"model_type\"", path);
  snprintf(c->model_type, sizeof c->model_type, "%s", mt->valuestring);
  if (!strcmp(mt->valuestring, "qwen3")) c->arch = CONV_QWEN3;
  else if (!strcmp(mt->valuestring, "qwen2")) c->arch = CONV_QWEN2;
  else if (!strcmp(mt->valuestring, "llama")) c->arch = CONV_LLAMA;
  else
    return util_err(err, MR_ENOTSUP, "%s: unsupported architecture \"%s\" (qwen3, qwen2 and llama are supported)", path,
                    mt->valuestring);
  return MR_OK;
}

int conv_config_parse(const char *text, const char *path, conv_config *c, mr_error *err) {
  memset(c, 0, sizeof *c);
  cJSON *j = cJSON_Parse(text);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return util_err(err, MR_EFORMAT, "%s: not a JSON object", path);
  }
  int rc = parse_arch(j, path, c, err);
  if (!rc) rc = get_int(j, path, "hidden_size", -1, &c->hidden, err);
  if (!rc) rc = get_int(j, path, "num_hidden_layers", -1, &c->layers, err);
  if (!rc) rc = get_int(j, path, "num_attention_heads", -1, &c->heads, err);
  if (!rc) rc = get_int(j, path, "num_key_value_heads", c->heads, &c->kv_heads, err);
  if (!rc) rc = get_int(j, path, "head_dim", c->heads ? c->hidden / c->heads : 1, &c->head_dim, err);
  if (!rc) rc = get_int(j, path, "intermediate_size", -1, &c->inter, err);
  if (!rc) rc = get_int(j, path, "vocab_size", -1, &c->vocab, err);
  if (!rc) rc = parse_rope(j, path, c, err);
  if (!rc) {
    c->eps = get_num(j, "rms_norm_eps", 1e-6);
    c->tied = get_bool(j, "tie_word_embeddings", c->arch != CONV_LLAMA);
    c->qkv_bias = c->arch == CONV_QWEN2 || get_bool(j, "attention_bias", 0);
    c->qk_norm = c->arch == CONV_QWEN3;
    if (get_bool(j, "mlp_bias", 0)) rc = util_err(err, MR_ENOTSUP, "%s: \"mlp_bias\": true is not supported", path);
  }
  if (!rc && (c->heads % c->kv_heads || c->head_dim % 2))
    rc = util_err(err, MR_EFORMAT, "%s: num_attention_heads (%d) must be a multiple of num_key_value_heads (%d) and head_dim (%d) even",
                  path, c->heads, c->kv_heads, c->head_dim);
  if (!rc) {
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    if (cJSON_IsString(act) && strcmp(act->valuestring, "silu") != 0)
      rc = util_err(err, MR_ENOTSUP, "%s: hidden_act \"%s\" is not supported (silu)", path, act->valuestring);
  }
  cJSON_Delete(j);
  return rc;
}

int conv_config_read(const char *path, conv_config *c, mr_error *err) {
  char *text;
  size_t size;
  int rc = util_read_file(path, &text, &size, err);
  if (rc) return rc;
  rc = conv_config_parse(text, path, c, err);
  mr_free(text);
  return rc;
}

void conv_rope_inv_freq(const conv_config *c, double *inv_freq) {
  int half = c->head_dim / 2;
  for (int i = 0; i < half; i++) {
    double f = 1.0 / pow(c->theta, (double)(2 * i) / c->head_dim);
    if (c->rope == CONV_ROPE_LINEAR) {
      f /= c->factor;
    } else if (c->rope == CONV_ROPE_LLAMA3) {
      /* transformers _compute_llama3_parameters: long wavelengths are divided by factor, short ones
       * kept, the band between low and high frequency interpolated. */
      double old = c->orig_max_pos, wavelen = 2.0 * M_PI / f;
      double low_wl = old / c->low_freq, high_wl = old / c->high_freq;
      if (wavelen > low_wl) {
        f /= c->factor;
      } else if (wavelen >= high_wl) {
        double s = (old / wavelen - c->low_freq) / (c->high_freq - c->low_freq);
        f = (1.0 - s) * f / c->factor + s * f;
      }
    }
    inv_freq[i] = f;
  }
}
