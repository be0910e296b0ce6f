/* anemll_names.h — the file names of an Anemll bundle's components, as Anemll's converter writes
 * them and chat.py 0.3.4 resolves them (anemll-contract.md §1.4-§1.5):
 *   {prefix}_embeddings[_lutN].mlmodelc
 *   {prefix}_lm_head[_lutN].mlmodelc
 *   {prefix}_FFN_PF[_lutN]_chunk_NNofMM.mlmodelc   (NN 1-based, both at least two digits)
 *   {prefix}_FFN_PF[_lutN].mlmodelc                (meta.yaml 0.3.4 `ffn`: the base, no chunk)
 * Each may also be a Core ML package: the same name ending in .mlpackage (anemll_name_package).
 * lut_bits 0 means no LUT (no suffix). Each writes a NUL-terminated name into buf and returns 0,
 * or -1 when it does not fit (buf then holds a truncated name). Pure functions. */
#ifndef LLM_ANEMLL_NAMES_H
#define LLM_ANEMLL_NAMES_H

#include <stddef.h>

int anemll_name_embeddings(char *buf, size_t size, const char *prefix, int lut_bits);
int anemll_name_lm_head(char *buf, size_t size, const char *prefix, int lut_bits);
int anemll_name_ffn_chunk(char *buf, size_t size, const char *prefix, int lut_bits, int chunk, int chunks);
int anemll_name_ffn_base(char *buf, size_t size, const char *prefix, int lut_bits);

/* The package form of a component: `name` (a file name or path) ending in .mlmodelc with .mlpackage
 * instead. -1 when name does not end in .mlmodelc or the result does not fit. */
int anemll_name_package(char *buf, size_t size, const char *name);

/* meta.yaml's LUT value: "none" (or empty) -> 0, "1".."8" -> the bits; -1 for anything else. */
int anemll_lut_bits(const char *text);

/* The chunk numbers of a name holding `_chunk_NNofMM` (the last such part): 0 with *chunk (1-based)
 * and *chunks set, -1 when there is none or 0 < NN <= MM does not hold. */
int anemll_parse_chunk(const char *name, int *chunk, int *chunks);

#endif
