/* test_tool_bundle.c — `milrun inspect` and `milrun run` as a user runs them: output, files written,
 * exit codes of usage and runtime errors. */
#include <stdlib.h>
#include <sys/wait.h>

#include "bundle_util.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/npy.h"
#include "util/strbuf.h"

/* Run a shell command; returns its exit status and its stdout+stderr in *out (mr_free). */
static int sh(const char *cmd, char **out) {
  util_sb sb = {0};
  char full[4096];
  snprintf(full, sizeof full, "%s 2>&1", cmd);
  FILE *p = popen(full, "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) util_sb_append(&sb, buf, n);
  int st = pclose(p);
  *out = util_sb_take(&sb);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *milrun(void) {
  const char *m = getenv("MR_MILRUN");
  return m ? m : "./build/milrun";
}

static void test_inspect_text_and_json(void) {
  char cmd[2048], *out;
  snprintf(cmd, sizeof cmd, "%s inspect %s", milrun(), th_fixture("silero-vad/unified_palette_8bit.mlmodelc"));
  CHECK_EQ_INT(sh(cmd, &out), 0);
  CHECK(strstr(out, "function main<ios16>  (default)"));
  CHECK(strstr(out, "audio_input                  fp32  [1, 576]"));
  CHECK(strstr(out, "vad_output                   fp32  [1, 1, 1]"));
  CHECK(strstr(out, "LUT 8-bit"));
  CHECK(strstr(out, "lstm 1"));
  CHECK(strstr(out, "com.github.apple.coremltools.version = "));
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s inspect --json %s", milrun(), th_fixture("silero-vad/unified_int8.mlmodelc"));
  CHECK_EQ_INT(sh(cmd, &out), 0);
  CHECK(strstr(out, "\"default_function\":\t\"main\""));
  CHECK(strstr(out, "\"int8 affine_dequantize\""));
  mr_free(out);
}

/* --mil prints the compiler's own text back (the printer's canonical form is Apple's layout). */
static void test_inspect_mil(void) {
  char cmd[2048], *out, *want;
  size_t n;
  mr_error e = {0};
  const char *bundle = th_fixture("silero-vad/unified_palette_4bit.mlmodelc");
  snprintf(cmd, sizeof cmd, "%s inspect --mil %s", milrun(), bundle);
  CHECK_EQ_INT(sh(cmd, &out), 0);
  char path[2048];
  snprintf(path, sizeof path, "%s/model.mil", bundle);
  CHECK(util_read_file(path, &want, &n, &e) == MR_OK);
  CHECK(strlen(out) == n && !memcmp(out, want, n));
  mr_free(want);
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s inspect --mil --json %s", milrun(), bundle);
  CHECK_EQ_INT(sh(cmd, &out), 2);
  mr_free(out);
}

static void test_run_writes_npy(void) {
  char cmd[2048], *out, dir[600], path[700];
  snprintf(dir, sizeof dir, "%s/run1", th_tmpdir());
  snprintf(cmd, sizeof cmd, "%s run %s --random 7 --output-dir %s", milrun(),
           th_fixture("silero-vad/unified_palette_8bit.mlmodelc"), dir);
  CHECK_EQ_INT(sh(cmd, &out), 0);
  CHECK(strstr(out, "vad_output"));
  mr_free(out);
  mr_tensor t;
  mr_error err = {0};
  snprintf(path, sizeof path, "%s/vad_output.npy", dir);
  CHECK(util_npy_read(path, &t, &err) == MR_OK);
  CHECK_EQ_INT(t.rank, 3);
  CHECK_EQ_INT(t.dtype, MR_FLOAT32);
  float p = t.data ? ((float *)t.data)[0] : -1;
  CHECK(p >= 0 && p <= 1);
  mr_free(t.data);
  /* feed an output back as an input: new_hidden_state -> hidden_state */
  char dir2[600];
  snprintf(dir2, sizeof dir2, "%s/run2", th_tmpdir());
  snprintf(cmd, sizeof cmd, "%s run %s --random 7 --input hidden_state=%s/new_hidden_state.npy --output-dir %s",
           milrun(), th_fixture("silero-vad/unified_palette_8bit.mlmodelc"), dir, dir2);
  CHECK_EQ_INT(sh(cmd, &out), 0);
  mr_free(out);
}

/* A converter dry run (no weights) of Qwen3-0.6B's shape is described by inspect from model.mil:
 * Anemll's names, dtypes and shapes (docs/anemll.md §2.2, §2.3). */
static void test_inspect_dry_run_bundle(void) {
  char hf[600], out[600], cmd[2048], *text;
  snprintf(hf, sizeof hf, "%s/Qwen3-0.6B", th_tmpdir());
  snprintf(out, sizeof out, "%s/qwen3-dry", th_tmpdir());
  mr_error err = {0};
  CHECK(util_mkdirs(hf, &err) == MR_OK);
  const char *cfg = "{\"model_type\":\"qwen3\",\"hidden_size\":1024,\"num_hidden_layers\":28,\"num_attention_heads\":16,"
                    "\"num_key_value_heads\":8,\"head_dim\":128,\"intermediate_size\":3072,\"vocab_size\":151936,"
                    "\"rope_theta\":1000000,\"rms_norm_eps\":1e-06,\"tie_word_embeddings\":true,\"hidden_act\":\"silu\"}";
  char path[700];
  snprintf(path, sizeof path, "%s/config.json", hf);
  CHECK(util_write_file_atomic(path, cfg, strlen(cfg), &err) == MR_OK);
  snprintf(cmd, sizeof cmd, "%s convert %s %s --dry-run --lut-lmhead 8 --quiet", milrun(), hf, out);
  CHECK_EQ_INT(sh(cmd, &text), 0);
  mr_free(text);
  snprintf(cmd, sizeof cmd, "%s inspect %s/qwen_FFN_PF_chunk_01of01.mlmodelc", milrun(), out);
  CHECK_EQ_INT(sh(cmd, &text), 0);
  static const char *const want[] = {
      "(no weight files: described from the program and metadata only)",
      "function infer<ios18>",
      "      hidden_states                fp16  [1, 1, 1024]\n",
      "      position_ids                 int32 [1]\n",
      "      causal_mask                  fp16  [1, 1, 1, 512]\n",
      "      current_pos                  int32 [1]\n",
      "      model_model_kv_cache_0       fp16  [56, 8, 512, 128]\n",
      "      output_hidden_states         fp16  [1, 1, 1024]\n",
      "function prefill<ios18>",
      "      hidden_states                fp16  [1, 64, 1024]\n",
      "      causal_mask                  fp16  [1, 1, 64, 512]\n",
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) CHECK_MSG(strstr(text, want[i]) != NULL, "missing: %s", want[i]);
  mr_free(text);
  snprintf(cmd, sizeof cmd, "%s inspect %s/qwen_lm_head_lut8.mlmodelc", milrun(), out);
  CHECK_EQ_INT(sh(cmd, &text), 0);
  CHECK(strstr(text, "      logits1                      fp16  [1, 1, 9496]\n") != NULL);
  CHECK(strstr(text, "      logits16                     fp16  [1, 1, 9496]\n") != NULL);
  mr_free(text);
}

/* --random on a flexible input takes 1 for each '?' dimension. */
static void test_run_flexible_random(void) {
  char cmd[2048], *text;
  const char *dir = th_bundle_from_fixture("flex.mlmodelc", "mil/multifunction_relu_ios18.mil");
  if (!dir) return;
  snprintf(cmd, sizeof cmd, "%s run %s --function second --random 3 --output-dir %s/flex-out", milrun(), dir, th_tmpdir());
  CHECK_EQ_INT(sh(cmd, &text), 0);
  CHECK_MSG(strstr(text, "  output                       fp32  [1]  min ") != NULL, "%s", text);
  mr_free(text);
}

/* `milrun run` takes as many --input options as the function has inputs (it once stopped at 64). */
static void test_run_many_inputs(void) {
  enum { N = 70 };
  const char *dir = th_sum_bundle(N);
  util_sb cmd = {0};
  util_sb_printf(&cmd, "%s run %s --output-dir %s/many-out", milrun(), dir, th_tmpdir());
  for (int i = 0; i < N; i++) {
    char path[700];
    float v[2] = {(float)i, 0.5f};
    mr_tensor t = {MR_FLOAT32, 1, {2}, v};
    mr_error err = {0};
    snprintf(path, sizeof path, "%s/x%d.npy", th_tmpdir(), i);
    CHECK(util_npy_write(path, &t, &err) == MR_OK);
    util_sb_printf(&cmd, " --input x%d=%s", i, path);
  }
  char *text;
  CHECK_EQ_INT(sh(util_sb_cstr(&cmd), &text), 0);
  CHECK_MSG(strstr(text, "  y                            fp32  [2]  min 35  max 2415  mean 1225") != NULL, "%s", text);
  mr_free(text);
  util_sb_free(&cmd);
}

static void test_errors_and_exit_codes(void) {
  char cmd[2048], *out;
  snprintf(cmd, sizeof cmd, "%s run", milrun());
  CHECK_EQ_INT(sh(cmd, &out), 2);
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s inspect /nonexistent.mlmodelc", milrun());
  CHECK_EQ_INT(sh(cmd, &out), 1);
  CHECK(strstr(out, "milrun inspect: /nonexistent.mlmodelc: not a .mlmodelc directory"));
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s run %s --output-dir %s/x", milrun(), th_fixture("silero-vad/unified_palette_8bit.mlmodelc"), th_tmpdir());
  CHECK_EQ_INT(sh(cmd, &out), 1);
  CHECK(strstr(out, "input 'audio_input' is missing (give --input audio_input=FILE.npy or --random SEED)"));
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s run %s --input bogus=x.npy --random 1 --output-dir %s/x", milrun(),
           th_fixture("silero-vad/unified_palette_8bit.mlmodelc"), th_tmpdir());
  CHECK_EQ_INT(sh(cmd, &out), 1);
  CHECK(strstr(out, "function 'main' has no input 'bogus'"));
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s run %s --input audio_input=/nonexistent.npy --output-dir %s/x", milrun(),
           th_fixture("silero-vad/unified_palette_8bit.mlmodelc"), th_tmpdir());
  CHECK_EQ_INT(sh(cmd, &out), 1);
  CHECK(strstr(out, "/nonexistent.npy: No such file or directory"));
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s run --help", milrun());
  CHECK_EQ_INT(sh(cmd, &out), 0);
  CHECK(strstr(out, "--output-dir DIR"));
  mr_free(out);
  snprintf(cmd, sizeof cmd, "%s frobnicate", milrun());
  CHECK_EQ_INT(sh(cmd, &out), 2);
  mr_free(out);
}

/* A .npy of `descr` and shape [1, n] holding zeros (the writer of util/npy.h knows only milrun's dtypes). */
static void write_npy(const char *path, const char *descr, int n, int esz) {
  char h[128];
  int len = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (1, %d), }", descr, n);
  while ((len + 11) % 64) h[len++] = ' ';
  h[len++] = '\n';
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)len, 0};
  fwrite(pre, 1, 10, f);
  fwrite(h, 1, (size_t)len, f);
  for (int i = 0; i < n * esz; i++) fputc(0, f);
  fclose(f);
}

/* Names, destinations and dtypes that used to be ignored, found late or misnamed. */
static void test_run_checks_before_work(void) {
  char cmd[4096], *out, f64[600], u8[600], file[600];
  const char *vad = th_fixture("silero-vad/unified_palette_8bit.mlmodelc");
  snprintf(cmd, sizeof cmd, "%s run %s --random 1 --state typo=x.npy --output-dir %s/x", milrun(), vad, th_tmpdir());
  CHECK_EQ_INT(sh(cmd, &out), 1);
  CHECK_EQ_STR(out, "milrun run: function 'main' has no state 'typo' (it has: none)\n");
  mr_free(out);
  snprintf(file, sizeof file, "%s/a-file", th_tmpdir());
  FILE *f = fopen(file, "w");
  if (f) fclose(f);
  snprintf(cmd, sizeof cmd, "%s run %s --random 1 --output-dir %s", milrun(), vad, file);
  CHECK_EQ_INT(sh(cmd, &out), 1);
  CHECK(strstr(out, "is a file, not a folder") && !strstr(out, "ran in"));
  mr_free(out);
  snprintf(f64, sizeof f64, "%s/audio64.npy", th_tmpdir());
  write_npy(f64, "<f8", 576, 8);
  snprintf(cmd, sizeof cmd, "%s run %s --random 1 --input audio_input=%s --output-dir %s/f64", milrun(), vad, f64, th_tmpdir());
  CHECK_EQ_INT(sh(cmd, &out), 0);
  CHECK(strstr(out, "milrun run: note: ") && strstr(out, "holds float64; read as float32 for input 'audio_input'"));
  mr_free(out);
  snprintf(u8, sizeof u8, "%s/audio8.npy", th_tmpdir());
  write_npy(u8, "|u1", 576, 1);
  snprintf(cmd, sizeof cmd, "%s run %s --random 1 --input audio_input=%s --output-dir %s/u8", milrun(), vad, u8, th_tmpdir());
  CHECK_EQ_INT(sh(cmd, &out), 1);
  CHECK(strstr(out, "milrun run: input 'audio_input' is fp32 but ") && strstr(out, "holds uint8 (save it as float32)"));
  mr_free(out);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"inspect_text_and_json", test_inspect_text_and_json},
    {"inspect_mil", test_inspect_mil},
    {"run_writes_npy", test_run_writes_npy},
    {"inspect_dry_run_bundle", test_inspect_dry_run_bundle},
    {"run_many_inputs", test_run_many_inputs},
    {"run_flexible_random", test_run_flexible_random},
    {"errors_and_exit_codes", test_errors_and_exit_codes},
    {"run_checks_before_work", test_run_checks_before_work},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
