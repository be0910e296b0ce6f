/* model.h — an Anemll-layout LLM bundle opened for inference (anemll-contract.md §1.4-§1.5, §4):
 * meta.yaml, the embeddings, the FFN_PF chunks sharing one KV state, and the LM head, driven the
 * way chat.py 0.3.4 drives them: prefill in batches of B (the last batch padded with token 0),
 * then infer one token at a time at position p with mask row p. */
#ifndef LLM_MODEL_H
#define LLM_MODEL_H

#include <stdint.h>

#include "milrun.h"

typedef struct llm_meta {
  int context, batch, chunks, split_lm_head;
  int argmax_in_model;
  char prefix[64], architecture[32], version[16];
  char lut_embeddings[16], lut_ffn[16], lut_lmhead[16]; /* "none" or bits */
} llm_meta;

typedef struct llm_model llm_model;

/* Open the bundle folder `dir` (meta.yaml plus the .mlmodelc components it names). */
int llm_model_open(const char *dir, llm_model **out, mr_error *err);
void llm_model_close(llm_model *m);

const llm_meta *llm_model_meta(const llm_model *m);
int64_t llm_model_vocab(const llm_model *m); /* total logits (sum of the LM head parts) */

/* Zero the KV state. */
void llm_model_reset(llm_model *m);
/* chat.py's run_prefill: ids[0..n) through every chunk's prefill in batches starting at 0. */
int llm_model_prefill(llm_model *m, const int32_t *ids, int n, mr_error *err);
/* One infer step: token at position pos (mask row pos); logits (vocab floats) from the LM head. */
int llm_model_infer(llm_model *m, int32_t token, int pos, float *logits, mr_error *err);

/* Read meta.yaml (exposed for tests). */
int llm_meta_read(const char *path, llm_meta *meta, mr_error *err);

/* meta.yaml's scalar entries as written, in file order: those of model_info (parameters = 0) or
 * of model_info.parameters (parameters = 1), for a listing that shows keys milrun does not use.
 * *out is new (llm_meta_pairs_free); a missing section gives n = 0. */
typedef struct llm_meta_pair {
  char *key, *value;
} llm_meta_pair;
int llm_meta_pairs(const char *path, int parameters, llm_meta_pair **out, int *n, mr_error *err);
void llm_meta_pairs_free(llm_meta_pair *pairs, int n);

#endif
