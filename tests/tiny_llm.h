/* tiny_llm.h — the converted tiny Qwen3 (tests/fixtures/models/qwen3-tiny-python through `milrun
 * convert`) run through the public API alone: prefill a prompt, infer one token, read the logits
 * and the final KV state, on the executor a test names. Shared by the executor tests. */
#ifndef TESTS_TINY_LLM_H
#define TESTS_TINY_LLM_H

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "tiny_convert.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/error.h"

static int convert_once(void) { return tiny_convert(""); }

static const char *tiny_units; /* mr_bundle_options.compute_units of the bundles opened next */

static mr_bundle *open_part(const char *part, const char *backend) {
  char path[800];
  snprintf(path, sizeof path, "%s/qwen_%s.mlmodelc", model_dir, part);
  mr_bundle_options o = {backend, 0, tiny_units};
  mr_bundle *b = NULL;
  mr_error err = {0};
  CHECK_MSG(mr_bundle_open(path, &o, &b, &err) == MR_OK, "%s", err.msg);
  return b;
}

enum { B = 64, C = 256, H = 128, PROMPT = 5, PARTS = 16, VOCAB_PART = 9496 };

/* What one pipeline run produces: the logits of the token after the prompt and the final KV. */
typedef struct result {
  uint16_t logits[PARTS * VOCAB_PART];
  uint16_t *kv;
  int64_t kv_count;
} result;

static uint16_t hidden[B * H], mask[B * C];
static int32_t ids[B], pos[B];

static void causal_rows(int row0, int n) {
  for (int r = 0; r < n; r++)
    for (int j = 0; j < C; j++) mask[r * C + j] = j <= row0 + r ? 0 : 0xFC00; /* fp16 0 and -inf */
}

/* Embeddings of ids[0..n) into hidden (fp16). */
static int embed(mr_bundle *emb, int n, mr_error *err) {
  mr_call *c;
  mr_tensor in = {MR_INT32, 2, {1, n}, ids}, out;
  int rc = mr_call_new(emb, NULL, &c, err);
  if (!rc) rc = mr_call_set_input(c, "input_ids", &in, err);
  if (!rc) rc = mr_call_run(c, err);
  if (!rc) rc = mr_call_output_by_name(c, "hidden_states", &out, err);
  if (!rc) memcpy(hidden, out.data, (size_t)n * H * sizeof(uint16_t));
  mr_call_free(c);
  return rc;
}

/* One FFN function over T tokens at position p0; its output replaces hidden. */
static int ffn(mr_bundle *b, const char *fn, mr_state *kv, int T, int p0, mr_error *err) {
  int32_t cur = p0;
  mr_tensor in[4] = {{MR_FLOAT16, 3, {1, T, H}, hidden}, {MR_INT32, 1, {T}, pos},
                     {MR_FLOAT16, 4, {1, 1, T, C}, mask}, {MR_INT32, 1, {1}, &cur}};
  static const char *const names[4] = {"hidden_states", "position_ids", "causal_mask", "current_pos"};
  mr_call *c;
  mr_tensor out;
  int rc = mr_call_new(b, fn, &c, err);
  for (int i = 0; i < 4 && !rc; i++) rc = mr_call_set_input(c, names[i], &in[i], err);
  if (!rc) rc = mr_call_set_state(c, "model_model_kv_cache_0", kv, err);
  if (!rc) rc = mr_call_run(c, err);
  if (!rc) rc = mr_call_output(c, 0, &out);
  if (!rc) memcpy(hidden, out.data, (size_t)mr_tensor_count(&out) * sizeof(uint16_t));
  mr_call_free(c);
  return rc;
}

static int lm_head(mr_bundle *lm, result *r, mr_error *err) {
  mr_call *c;
  mr_tensor in = {MR_FLOAT16, 3, {1, 1, H}, hidden}, out;
  int rc = mr_call_new(lm, NULL, &c, err);
  if (!rc) rc = mr_call_set_input(c, "hidden_states", &in, err);
  if (!rc) rc = mr_call_run(c, err);
  if (!rc && mr_call_output_count(c) != PARTS) rc = util_err(err, MR_ESHAPE, "LM head has %d outputs", mr_call_output_count(c));
  for (int k = 0; k < PARTS && !rc; k++) {
    rc = mr_call_output(c, k, &out);
    if (!rc && (out.dtype != MR_FLOAT16 || mr_tensor_count(&out) != VOCAB_PART)) rc = MR_ESHAPE;
    if (!rc) memcpy(r->logits + k * VOCAB_PART, out.data, VOCAB_PART * sizeof(uint16_t));
  }
  mr_call_free(c);
  return rc;
}

/* Prefill the prompt, infer the next token, read the logits: all through milrun.h. */
static void pipeline(const char *backend, result *r) {
  mr_bundle *emb = open_part("embeddings", backend), *ff = open_part("FFN_PF_chunk_01of01", backend),
            *lm = open_part("lm_head", backend);
  mr_state *kv = NULL;
  mr_error err = {0};
  int rc = emb && ff && lm ? mr_state_new(ff, "model_model_kv_cache_0", &kv, &err) : MR_EINVAL;
  if (!rc) CHECK_EQ_STR(mr_bundle_backend(ff), backend ? backend : "cpu");
  for (int i = 0; i < B; i++) ids[i] = i < PROMPT ? 100 + 37 * i : 0, pos[i] = i;
  causal_rows(0, B);
  if (!rc) rc = embed(emb, B, &err);
  if (!rc) rc = ffn(ff, "prefill", kv, B, 0, &err);
  ids[0] = 1234, pos[0] = PROMPT;
  causal_rows(PROMPT, 1);
  if (!rc) rc = embed(emb, 1, &err);
  if (!rc) rc = ffn(ff, "infer", kv, 1, PROMPT, &err);
  if (!rc) rc = lm_head(lm, r, &err);
  CHECK_MSG(rc == MR_OK, "%s: %s", backend, err.msg);
  if (!rc) {
    mr_tensor view;
    mr_state_view(kv, &view);
    CHECK_EQ_INT(view.dtype, MR_FLOAT16);
    r->kv_count = mr_tensor_count(&view);
    r->kv = mr_alloc((size_t)r->kv_count * sizeof(uint16_t));
    if (r->kv) memcpy(r->kv, view.data, (size_t)r->kv_count * sizeof(uint16_t));
  }
  mr_state_free(kv);
  mr_bundle_close(emb);
  mr_bundle_close(ff);
  mr_bundle_close(lm);
}

#endif
