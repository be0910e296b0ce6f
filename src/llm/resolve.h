/* resolve.h — from what a user passes as --model to the component files of a model: "demo", a
 * folder with meta.yaml (Anemll 0.3.4 / 0.3.5 naming, docs/anemll.md §1.5), a model-config JSON naming each
 * component (candle-coreml's ModelConfig), or a Hugging Face id through mr_hub_resolve. */
#ifndef LLM_RESOLVE_H
#define LLM_RESOLVE_H

#include "llm/model.h"

typedef struct llm_source {
  llm_files files;
  char *dir;       /* the model's folder (generation_config.json lives there) */
  char *tokenizer; /* tokenizer.json's folder or file, NULL when the model has none */
} llm_source;

int llm_resolve(const char *model, const mr_hub_options *hub, llm_source *out, mr_error *err);
void llm_source_free(llm_source *s);

/* The model-config JSON text `text` (read from `path`; relative paths are taken from its folder). */
int llm_config_parse(const char *text, size_t len, const char *path, llm_source *out, mr_error *err);

#endif
