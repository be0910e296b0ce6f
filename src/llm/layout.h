/* layout.h — where the components of an Anemll model directory are, resolved from meta.yaml the
 * way chat.py resolves them (docs/anemll.md §1.5): a path key (embeddings, lm_head, ffn,
 * monolithic_model) when it names an existing component (Swift's rule), else the name built from
 * the prefix and LUT keys (llm/anemll_names.h): the embeddings with their _lutN suffix, retried
 * without it; the LM head; FFN chunk 1..chunks, or a split build's prefill / FFN pair where the
 * combined FFN_PF chunk is missing; the 0.3.5 monolithic bundle. Each name may also be found in its
 * package form (X.mlpackage for X.mlmodelc). The paths are given whether or not they exist, so that
 * a caller can open them (llm/resolve.c) or report which are missing (inspect). This is the one
 * place that maps meta.yaml to paths. */
#ifndef LLM_LAYOUT_H
#define LLM_LAYOUT_H

#include "llm/model.h"

/* Fills out (free with llm_files_free). MR_EFORMAT when a lut_* value is neither "none" nor a
 * number of bits, MR_ENOMEM. On failure nothing is left to free. */
int llm_layout_resolve(const char *dir, const llm_meta *meta, llm_files *out, mr_error *err);

#endif
