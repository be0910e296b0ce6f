/* test_convert_layout.c — what the converter decides without running a model: config.json in both
 * rope spellings and the llama3 frequencies (against a float64 transcription of transformers'
 * formula written here), the divmod layer split and the LM head split, the names, dtypes and shapes
 * of a Qwen3-0.6B-shaped bundle (dry run, docs/anemll.md §2), and the atomic output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "harness.h"
#include "mil/ir.h"
#include "mil/metadata.h"
#include "util/alloc.h"
#include "util/file.h"

static void test_splits(void) {
  int first, count;
  int want[3][2] = {{0, 10}, {10, 9}, {19, 9}}; /* 28 layers in 3 chunks: divmod, extra layer first */
  for (int c = 0; c < 3; c++) {
    conv_chunk_layers(28, 3, c, &first, &count);
    CHECK_EQ_INT(first, want[c][0]);
    CHECK_EQ_INT(count, want[c][1]);
  }
  for (int k = 0; k < 16; k++) {
    CHECK_EQ_INT((int)conv_part_size(151936, 16, k), 9496);
    CHECK_EQ_INT((int)conv_part_size(151669, 16, k), k < 5 ? 9480 : 9479); /* docs/anemll.md §2.3 */
  }
  CHECK_EQ_INT((int)conv_part_size(128256, 8, 7), 16032);
}

static const char *llama_t4 =
    "{\"model_type\":\"llama\",\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
    "\"num_key_value_heads\":2,\"head_dim\":16,\"intermediate_size\":96,\"vocab_size\":512,\"rope_theta\":500000.0,"
    "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":32.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
    "\"original_max_position_embeddings\":64}}";
static const char *llama_t5 =
    "{\"model_type\":\"llama\",\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
    "\"num_key_value_heads\":2,\"head_dim\":16,\"intermediate_size\":96,\"vocab_size\":512,"
    "\"rope_parameters\":{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,\"factor\":32.0,\"low_freq_factor\":1.0,"
    "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":64},\"tie_word_embeddings\":false}";

static void test_config_rope(void) {
  conv_config a, b;
  mr_error err = {0};
  CHECK_EQ_INT(conv_config_parse(llama_t4, "t4/config.json", &a, &err), MR_OK);
  CHECK_EQ_INT(conv_config_parse(llama_t5, "t5/config.json", &b, &err), MR_OK);
  CHECK(a.arch == CONV_LLAMA && a.rope == CONV_ROPE_LLAMA3 && b.rope == CONV_ROPE_LLAMA3);
  CHECK_EQ_INT(b.tied, 0);
  double fa[8], fb[8];
  conv_rope_inv_freq(&a, fa);
  conv_rope_inv_freq(&b, fb);
  /* transformers _compute_llama3_parameters, step by step with masks */
  int low = 0, mid = 0, high = 0;
  for (int i = 0; i < 8; i++) {
    double inv = pow(500000.0, -(double)(2 * i) / 16), wavelen = 2 * M_PI / inv;
    double low_wl = 64.0 / 1.0, high_wl = 64.0 / 4.0;
    double scaled = wavelen > low_wl ? inv / 32.0 : inv;
    double smooth = (64.0 / wavelen - 1.0) / (4.0 - 1.0);
    double smoothed = (1 - smooth) * scaled / 32.0 + smooth * scaled;
    int is_medium = !(wavelen < high_wl) && !(wavelen > low_wl);
    double want = is_medium ? smoothed : scaled;
    low += wavelen > low_wl, mid += is_medium, high += wavelen < high_wl;
    CHECK_NEAR(fa[i], want, 1e-12 * want);
    CHECK(fa[i] == fb[i]);
  }
  CHECK(low > 0 && mid > 0 && high > 0); /* the test covers all three bands */
  conv_config q;
  CHECK_EQ_INT(conv_config_parse("{\"model_type\":\"qwen3\",\"hidden_size\":64,\"num_hidden_layers\":1,"
                                 "\"num_attention_heads\":2,\"intermediate_size\":8,\"vocab_size\":16,\"rope_theta\":1000000}",
                                 "q/config.json", &q, &err),
               MR_OK);
  CHECK(q.theta == 1e6 && q.head_dim == 32 && q.kv_heads == 2 && q.tied && q.qk_norm && !q.qkv_bias);
}

static void config_err(const char *json, int code, const char *msg) {
  conv_config c;
  mr_error err = {0};
  CHECK_EQ_INT(conv_config_parse(json, "m/config.json", &c, &err), code);
  CHECK_EQ_STR(err.msg, msg);
}

static void test_config_errors(void) {
  config_err("{\"model_type\":\"gemma3\"}", MR_ENOTSUP,
             "m/config.json: unsupported architecture \"gemma3\" (qwen3, qwen2 and llama are supported)");
  config_err("{\"model_type\":\"qwen2\",\"num_hidden_layers\":2}", MR_EFORMAT, "m/config.json: missing \"hidden_size\"");
  config_err("{\"model_type\":\"llama\",\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
             "\"intermediate_size\":8,\"vocab_size\":16,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}",
             MR_ENOTSUP, "m/config.json: rope type \"yarn\" is not supported (default, linear, llama3)");
  config_err("[]", MR_EFORMAT, "m/config.json: not a JSON object");
}

/* The value named `name` in function f: a parameter or an op output; its type as text. */
static const char *type_of(const mil_function *f, const char *name, char *buf, size_t size) {
  for (int i = 0; i < f->n_params; i++)
    if (!strcmp(f->params[i].name, name)) return mil_type_str(f->params[i].type, buf, size);
  for (int i = 0; i < f->body.n_ops; i++)
    for (int k = 0; k < f->body.ops[i].n_outputs; k++)
      if (!strcmp(f->body.ops[i].outputs[k].name, name)) return mil_type_str(f->body.ops[i].outputs[k].type, buf, size);
  return "(none)";
}

static const char *param(const mil_function *f, int i, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "%s ", f->params[i].name);
  mil_type_str(f->params[i].type, buf + o, size - o);
  return buf;
}

static mil_program *parse(const char *dir, const char *bundle) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s/model.mil", dir, bundle);
  mil_program *p = NULL;
  mr_error err = {0};
  int rc = mil_parse_file(path, &p, &err);
  if (rc) fprintf(stderr, "  %s\n", err.msg);
  CHECK_EQ_INT(rc, MR_OK);
  return p;
}

/* Qwen3-0.6B's config (docs/anemll.md §7), converted with --dry-run --lut-lmhead 8. */
static void test_qwen3_06b_dry_run(void) {
  char hf[600], out[600], buf[256];
  snprintf(hf, sizeof hf, "%s/Qwen3-0.6B", th_tmpdir());
  snprintf(out, sizeof out, "%s/qwen3-0.6b-anemll", th_tmpdir());
  mr_error err = {0};
  CHECK_EQ_INT(util_mkdirs(hf, &err), MR_OK);
  const char *cfg = "{\"model_type\":\"qwen3\",\"hidden_size\":1024,\"num_hidden_layers\":28,\"num_attention_heads\":16,"
                    "\"num_key_value_heads\":8,\"head_dim\":128,\"intermediate_size\":3072,\"vocab_size\":151936,"
                    "\"rope_theta\":1000000,\"rms_norm_eps\":1e-06,\"tie_word_embeddings\":true,\"hidden_act\":\"silu\"}";
  char *p = util_path_join(hf, "config.json");
  CHECK_EQ_INT(util_write_file_atomic(p, cfg, strlen(cfg), &err), MR_OK);
  mr_free(p);
  conv_options o;
  conv_options_default(&o);
  o.dry_run = 1;
  CHECK_EQ_INT(conv_lut_parse("8", &o.lut_lmhead, &err), MR_OK);
  CHECK_EQ_INT(conv_convert(hf, out, &o, NULL, &err), MR_OK);

  mil_program *ffn = parse(out, "qwen_FFN_PF_chunk_01of01.mlmodelc");
  if (!ffn) return;
  const char *infer[] = {"hidden_states tensor<fp16, [1, 1, 1024]>", "position_ids tensor<int32, [1]>",
                         "causal_mask tensor<fp16, [1, 1, 1, 512]>", "current_pos tensor<int32, [1]>",
                         "model_model_kv_cache_0 state<tensor<fp16, [56, 8, 512, 128]>>"};
  const char *prefill[] = {"hidden_states tensor<fp16, [1, 64, 1024]>", "position_ids tensor<int32, [64]>",
                           "causal_mask tensor<fp16, [1, 1, 64, 512]>", "current_pos tensor<int32, [1]>",
                           "model_model_kv_cache_0 state<tensor<fp16, [56, 8, 512, 128]>>"};
  CHECK_EQ_INT(ffn->n_funcs, 2);
  const mil_function *fi = mil_program_function(ffn, "infer"), *fp = mil_program_function(ffn, "prefill");
  CHECK(fi && fp && fi->n_params == 5 && fp->n_params == 5);
  for (int i = 0; fi && fp && i < 5; i++) {
    CHECK_EQ_STR(param(fi, i, buf, sizeof buf), infer[i]);
    CHECK_EQ_STR(param(fp, i, buf, sizeof buf), prefill[i]);
  }
  if (fi && fp) {
    CHECK_EQ_STR(fi->body.outputs[0], "output_hidden_states");
    CHECK_EQ_STR(type_of(fi, "output_hidden_states", buf, sizeof buf), "tensor<fp16, [1, 1, 1024]>");
    CHECK_EQ_STR(type_of(fp, "output_hidden_states", buf, sizeof buf), "tensor<fp16, [1, 1, 1024]>");
  }
  mil_program_free(ffn);

  mil_program *lm = parse(out, "qwen_lm_head_lut8.mlmodelc");
  if (!lm) return;
  const mil_function *f = &lm->funcs[0];
  CHECK_EQ_STR(param(f, 0, buf, sizeof buf), "hidden_states tensor<fp16, [1, 1, 1024]>");
  CHECK_EQ_INT(f->body.n_outputs, 16);
  for (int k = 0; k < f->body.n_outputs; k++) {
    char want[32];
    snprintf(want, sizeof want, "logits%d", k + 1);
    CHECK_EQ_STR(f->body.outputs[k], want);
    CHECK_EQ_STR(type_of(f, want, buf, sizeof buf), "tensor<fp16, [1, 1, 9496]>");
  }
  int luts = 0; /* docs/anemll.md §5: indices uint8 [9496, 1024, 1, 1], lut fp16 [1187, 1, 1, 1, 256, 1] */
  for (int i = 0; i < f->body.n_ops; i++) {
    const mil_op *op = &f->body.ops[i];
    if (strcmp(op->type, "constexpr_lut_to_dense")) continue;
    luts++;
    CHECK_EQ_STR(mil_type_str(mil_op_arg(op, "indices")->items[0].value->type, buf, sizeof buf),
                 "tensor<uint8, [9496, 1024, 1, 1]>");
    CHECK_EQ_STR(mil_type_str(mil_op_arg(op, "lut")->items[0].value->type, buf, sizeof buf),
                 "tensor<fp16, [1187, 1, 1, 1, 256, 1]>");
  }
  CHECK_EQ_INT(luts, 16);
  mil_program_free(lm);

  mil_program *emb = parse(out, "qwen_embeddings.mlmodelc");
  if (!emb) return;
  CHECK_EQ_STR(param(&emb->funcs[0], 0, buf, sizeof buf), "input_ids tensor<int32, [1, ?]>");
  CHECK_EQ_STR(type_of(&emb->funcs[0], "hidden_states", buf, sizeof buf), "tensor<fp16, [1, ?, 1024]>");
  mil_program_free(emb);

  char path[700];
  snprintf(path, sizeof path, "%s/qwen_embeddings.mlmodelc/metadata.json", out);
  char *text;
  size_t size;
  CHECK_EQ_INT(util_read_file(path, &text, &size, &err), MR_OK);
  CHECK(strstr(text, "\"enumeratedShapes\":\t\"[[1, 1], [1, 64]]\"") != NULL);
  mr_free(text);
  snprintf(path, sizeof path, "%s/qwen_FFN_PF_chunk_01of01.mlmodelc/metadata.json", out);
  mil_metadata md;
  CHECK_EQ_INT(mil_metadata_read(path, &md, &err), MR_OK);
  CHECK_EQ_STR(md.default_function, "infer");
  const mil_meta_function *mf = mil_metadata_function(&md, "prefill");
  CHECK(mf && mf->n_inputs == 4 && mf->n_states == 1);
  if (mf && mf->n_states == 1) {
    CHECK_EQ_STR(mf->states[0].name, "model_model_kv_cache_0");
    CHECK_EQ_STR(mf->inputs[2].name, "causal_mask");
    CHECK(mf->inputs[2].rank == 4 && mf->inputs[2].shape[2] == 64 && mf->inputs[2].shape[3] == 512);
  }
  mil_metadata_free(&md);
  snprintf(path, sizeof path, "%s/meta.yaml", out);
  CHECK_EQ_INT(util_read_file(path, &text, &size, &err), MR_OK);
  CHECK(strstr(text, "    lut_lmhead: 8\n    num_chunks: 1\n    model_prefix: qwen\n    embeddings: qwen_embeddings.mlmodelc\n"
                     "    lm_head: qwen_lm_head_lut8.mlmodelc\n    ffn: qwen_FFN_PF.mlmodelc\n    split_lm_head: 16\n") != NULL);
  mr_free(text);
  snprintf(path, sizeof path, "%s/qwen_embeddings.mlmodelc/weights", out);
  CHECK(!util_exists(path)); /* dry run: no weights */
}

/* A checkpoint whose safetensors lacks a tensor: clear error, nothing left behind. */
static void test_atomic_failure(void) {
  char hf[600], out[600];
  snprintf(hf, sizeof hf, "%s/broken", th_tmpdir());
  snprintf(out, sizeof out, "%s/broken-out", th_tmpdir());
  mr_error err = {0};
  CHECK_EQ_INT(util_mkdirs(hf, &err), MR_OK);
  const char *cfg = "{\"model_type\":\"qwen3\",\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
                    "\"head_dim\":4,\"intermediate_size\":8,\"vocab_size\":16}";
  char *p = util_path_join(hf, "config.json");
  CHECK_EQ_INT(util_write_file_atomic(p, cfg, strlen(cfg), &err), MR_OK);
  mr_free(p);
  /* embed_tokens only, [16, 8] bf16 */
  const char *hdr = "{\"model.embed_tokens.weight\":{\"dtype\":\"BF16\",\"shape\":[16,8],\"data_offsets\":[0,256]}}";
  unsigned char file[8 + 200 + 256] = {0};
  size_t h = strlen(hdr);
  file[0] = (unsigned char)h;
  memcpy(file + 8, hdr, h);
  p = util_path_join(hf, "model.safetensors");
  CHECK_EQ_INT(util_write_file_atomic(p, file, 8 + h + 256, &err), MR_OK);
  conv_options o;
  conv_options_default(&o);
  o.context = 16;
  o.batch = 4;
  CHECK_EQ_INT(conv_convert(hf, out, &o, NULL, &err), MR_ENOTFOUND);
  char want[800];
  snprintf(want, sizeof want, "%s: missing tensor 'model.layers.0.input_layernorm.weight'", p);
  CHECK_EQ_STR(err.msg, want);
  mr_free(p);
  CHECK(!util_exists(out));
  /* no OUT.partial-* directory either */
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "ls -d %s.partial-* >/dev/null 2>&1", out);
  CHECK(system(cmd) != 0);
}

static int same_file(const char *a, const char *b) {
  char *x, *y;
  size_t nx, ny;
  mr_error err = {0};
  if (util_read_file(a, &x, &nx, &err)) return 0;
  if (util_read_file(b, &y, &ny, &err)) {
    mr_free(x);
    return 0;
  }
  int same = nx == ny && !memcmp(x, y, nx);
  mr_free(x);
  mr_free(y);
  return same;
}

/* LUT conversion is deterministic (byte-identical weight files), per-tensor groups ("4,0") need
 * the 0.3.5 meta.yaml keys, and the FFN indices are uint4 shaped like the weight. */
static void test_lut_deterministic(void) {
  char out[2][600], a[800], b[800];
  conv_options o;
  conv_options_default(&o);
  o.context = 64;
  o.batch = 16;
  mr_error err = {0};
  CHECK_EQ_INT(conv_lut_parse("4,0", &o.lut_ffn, &err), MR_OK);
  CHECK_EQ_INT(conv_lut_parse("6", &o.lut_lmhead, &err), MR_OK);
  for (int i = 0; i < 2; i++) {
    snprintf(out[i], sizeof out[i], "%s/llama-lut-%d", th_tmpdir(), i);
    conv_result res;
    CHECK_EQ_INT(conv_convert(th_fixture("models/llama-tiny"), out[i], &o, &res, &err), MR_OK);
    CHECK(res.lut_rel_error > 0.01 && res.lut_rel_error < 0.2);
  }
  const char *files[] = {"llama_FFN_PF_lut4_chunk_01of01.mlmodelc/weights/weight.bin",
                         "llama_lm_head_lut6.mlmodelc/weights/weight.bin", "llama_FFN_PF_lut4_chunk_01of01.mlmodelc/model.mil"};
  for (int i = 0; i < 3; i++) {
    snprintf(a, sizeof a, "%s/%s", out[0], files[i]);
    snprintf(b, sizeof b, "%s/%s", out[1], files[i]);
    CHECK_MSG(same_file(a, b), "%s", files[i]);
  }
  char *text;
  size_t size;
  snprintf(a, sizeof a, "%s/meta.yaml", out[0]);
  CHECK_EQ_INT(util_read_file(a, &text, &size, &err), MR_OK);
  CHECK(strstr(text, "  version: 0.3.5\n") && strstr(text, "    lut_ffn_per_channel: 0\n") &&
        strstr(text, "    ffn: llama_FFN_PF_lut4_chunk_01of01.mlmodelc\n") && !strstr(text, "lut_lmhead_per_channel"));
  mr_free(text);
  snprintf(a, sizeof a, "%s/%s", out[0], files[2]);
  CHECK_EQ_INT(util_read_file(a, &text, &size, &err), MR_OK);
  /* per tensor: one LUT of 16 entries for the [176, 64] gate projection */
  CHECK(strstr(text, "indices = tensor<uint4, [176, 64, 1, 1]>") != NULL);
  CHECK(strstr(text, "lut = tensor<fp16, [1, 1, 1, 1, 16, 1]>") != NULL);
  mr_free(text);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"splits", test_splits},
                                  {"config_rope", test_config_rope},
                                  {"config_errors", test_config_errors},
                                  {"qwen3_06b_dry_run", test_qwen3_06b_dry_run},
                                  {"atomic_failure", test_atomic_failure},
                                  {"lut_deterministic", test_lut_deterministic},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
