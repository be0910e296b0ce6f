/* sample.h — choosing the next token from logits: llama.cpp's sampler chain (penalties, top-k,
 * top-p, min-p, temperature, then a draw), with its defaults. Pure: no model, no allocation after
 * llm_sampler_new. */
#ifndef LLM_SAMPLE_H
#define LLM_SAMPLE_H

#include <stdint.h>

#include "milrun.h"

typedef struct llm_sampler llm_sampler;

/* A sampler for logits of `vocab` entries. */
int llm_sampler_new(const mr_sampling *s, int64_t vocab, llm_sampler **out, mr_error *err);
void llm_sampler_free(llm_sampler *sp);
/* Back to the seed (the draws then repeat). */
void llm_sampler_reset(llm_sampler *sp);
/* The random generator's state (4 words), to save and restore a conversation exactly. */
void llm_sampler_rng_get(const llm_sampler *sp, uint64_t st[4]);
void llm_sampler_rng_set(llm_sampler *sp, const uint64_t st[4]);

/* The penalties of the chain applied in place to logits, given the last tokens hist[0..n) (the
 * caller passes at most repeat_last_n of them): for a token seen c times, a positive logit is
 * divided by repeat_penalty and a negative one multiplied by it, then c * frequency_penalty +
 * presence_penalty is subtracted (llama.cpp's penalties sampler). */
void llm_sampler_penalize(const llm_sampler *sp, float *logits, const int32_t *hist, int n);

/* One token: penalties (logits is modified), then greedy when temperature <= 0, else top-k, top-p
 * and min-p on the probabilities at temperature 1, then softmax at the temperature and a draw. */
int32_t llm_sampler_sample(llm_sampler *sp, float *logits, const int32_t *hist, int n);

#endif
