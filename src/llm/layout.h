/* layout.h — where the components of an Anemll model directory are, resolved from meta.yaml the
 * way chat.py 0.3.4 resolves them (docs/anemll.md §1.5): the embeddings with their _lutN suffix,
 * retried without it; the LM head; FFN chunk 1..chunks. The paths are given whether or not they
 * exist, so that a caller can open them (llm/model.c) or report which are missing (inspect). */
#ifndef LLM_LAYOUT_H
#define LLM_LAYOUT_H

#include "llm/model.h"

typedef struct llm_layout {
  char *embeddings, *lm_head;
  char **ffn; /* meta->chunks paths */
  int chunks;
} llm_layout;

/* MR_EFORMAT when a lut_* value is neither "none" nor a number of bits, MR_ENOMEM. On failure
 * nothing is left to free. */
int llm_layout_resolve(const char *dir, const llm_meta *meta, llm_layout *out, mr_error *err);
void llm_layout_free(llm_layout *l);

#endif
