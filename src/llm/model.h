/* model.h — an Anemll-layout LLM opened for inference (docs/anemll.md §1.5, §2, §4): the
 * embeddings, the FFN chunks sharing one KV state (each chunk's prefill and infer functions, in one
 * bundle or two), and the LM head (logits parts or in-model argmax); or one 0.3.5 monolithic
 * bundle from ids to logits. Every size comes from the components' own declarations; meta.yaml
 * only names the files. This is the only file that calls the bundle API. */
#ifndef LLM_MODEL_H
#define LLM_MODEL_H

#include <stdint.h>

#include "milrun.h"

typedef struct llm_meta {
  int context, batch, chunks, split_lm_head;
  int argmax_in_model, monolithic;
  int64_t vocab_size;
  char prefix[64], architecture[32], version[16];
  char lut_embeddings[16], lut_ffn[16], lut_lmhead[16]; /* "none" or bits */
  char embeddings[256], lm_head[256], ffn[256], mono[256]; /* path keys ("" when absent) */
} llm_meta;

/* The component files of a model (absolute or relative paths). */
typedef struct llm_files {
  char *emb, *lm, *mono;  /* mono set: emb and lm are NULL */
  char **pf, **inf;       /* per chunk: the bundle with prefill, the one with infer (often the same) */
  int chunks;
  int v035;               /* 0.3.5 conventions (full-batch prefill by default) */
  int64_t vocab_size;     /* meta.yaml's vocab_size (argmax heads), 0 when absent */
} llm_files;
void llm_files_free(llm_files *f);

typedef struct llm_model llm_model;

/* Component stages, for counters and traces. */
enum { LLM_EMB, LLM_FFN, LLM_HEAD, LLM_SAMPLE, LLM_STAGES };
typedef struct llm_counters {
  int64_t calls[LLM_STAGES];
  double ms[LLM_STAGES];
} llm_counters;

/* Open the meta.yaml folder `dir` (as `milrun logits` does) on the default executor. */
int llm_model_open(const char *dir, llm_model **out, mr_error *err);
/* Open the given components, each with mr_bundle_open(path, bopts) (bopts may be NULL). */
int llm_model_open_files(const llm_files *f, const mr_bundle_options *bopts, llm_model **out, mr_error *err);
/* Component i (milrun.h mr_model_component); NULL past the last. */
const mr_bundle *llm_model_component(const llm_model *m, int i, const char **what);
void llm_model_close(llm_model *m);

int llm_model_context(const llm_model *m);  /* width of the causal mask */
int llm_model_batch(const llm_model *m);    /* prefill length (0: no prefill function) */
int llm_model_v035(const llm_model *m);
int llm_model_argmax(const llm_model *m);   /* 1: the head gives argmax only */
int64_t llm_model_vocab(const llm_model *m); /* total logits (sum of the LM head parts) */
int llm_model_chunks(const llm_model *m);   /* FFN chunks (0: monolithic) */
/* Weight memory (mr_bundle_weight_bytes) of the components of stage LLM_FFN (every chunk; a
 * monolithic model's whole bundle) or LLM_HEAD, the embeddings' file bytes for LLM_EMB, and the bytes of the components' files and
 * of the KV state. */
int64_t llm_model_weight_bytes(const llm_model *m, int stage);
int64_t llm_model_file_bytes(const llm_model *m);
int64_t llm_model_state_bytes(const llm_model *m);
llm_counters *llm_model_counters(llm_model *m);
double llm_now_ms(void); /* monotonic clock for the counters */
void llm_model_set_trace(llm_model *m, void (*trace)(void *, const char *), void *ud);

/* Zero the KV state in use. */
void llm_model_reset(llm_model *m);
/* KV states: a zero-filled one for a session (the model's own while no other session holds it, so
 * one session costs one KV cache, and one state is shared by every component as Core ML needs;
 * else a new one), given back with llm_model_kv_free; and the one the following calls use (NULL:
 * the model's own). */
int llm_model_kv_new(llm_model *m, mr_state **out, mr_error *err);
void llm_model_kv_free(llm_model *m, mr_state *kv);
int llm_model_use_kv(llm_model *m, mr_state *kv, mr_error *err);
/* One prefill call: ids[0..take) at positions start.. (right-padded with id 0 to the batch). */
int llm_model_prefill_batch(llm_model *m, const int32_t *ids, int take, int start, mr_error *err);
/* chat.py's run_prefill: ids[0..n) in batches starting at 0. */
int llm_model_prefill(llm_model *m, const int32_t *ids, int n, mr_error *err);
/* One infer step of `token` at position pos (mask row pos) through every chunk; with head = 1 the
 * LM head follows and logits (vocab floats) or, for an argmax head, *argmax receive its result. */
int llm_model_step(llm_model *m, int32_t token, int pos, int head, float *logits, int32_t *argmax, mr_error *err);
/* llm_model_step with the head and logits (`milrun logits`). */
int llm_model_infer(llm_model *m, int32_t token, int pos, float *logits, mr_error *err);

/* Read meta.yaml (exposed for tests and fuzzing). */
int llm_meta_read(const char *path, llm_meta *meta, mr_error *err);
int llm_meta_parse(const char *text, size_t len, const char *path, llm_meta *meta, mr_error *err);

/* meta.yaml's scalar entries as written, in file order: those of model_info (parameters = 0) or
 * of model_info.parameters (parameters = 1), for a listing that shows keys milrun does not use.
 * *out is new (llm_meta_pairs_free); a missing section gives n = 0. */
typedef struct llm_meta_pair {
  char *key, *value;
} llm_meta_pair;
int llm_meta_pairs(const char *path, int parameters, llm_meta_pair **out, int *n, mr_error *err);
void llm_meta_pairs_free(llm_meta_pair *pairs, int n);

#endif
