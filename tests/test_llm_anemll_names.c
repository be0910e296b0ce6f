/* test_llm_anemll_names.c — Anemll's component file names (llm/anemll_names.c) against the names
 * of docs/anemll.md §1.3-§1.5 written out by hand (Anemll's published bundles and chat.py's
 * patterns), and the `_chunk_NNofMM` parser on good and bad names. */
#include <string.h>

#include "harness.h"
#include "llm/anemll_names.h"

static void test_names(void) {
  char b[256];
  CHECK_EQ_INT(anemll_name_embeddings(b, sizeof b, "qwen", 0), 0);
  CHECK_EQ_STR(b, "qwen_embeddings.mlmodelc");
  CHECK_EQ_INT(anemll_name_embeddings(b, sizeof b, "llama", 8), 0);
  CHECK_EQ_STR(b, "llama_embeddings_lut8.mlmodelc");
  CHECK_EQ_INT(anemll_name_lm_head(b, sizeof b, "qwen25", 6), 0);
  CHECK_EQ_STR(b, "qwen25_lm_head_lut6.mlmodelc");
  CHECK_EQ_INT(anemll_name_lm_head(b, sizeof b, "qwen", 0), 0);
  CHECK_EQ_STR(b, "qwen_lm_head.mlmodelc");
  CHECK_EQ_INT(anemll_name_ffn_chunk(b, sizeof b, "qwen", 8, 1, 1), 0);
  CHECK_EQ_STR(b, "qwen_FFN_PF_lut8_chunk_01of01.mlmodelc");
  CHECK_EQ_INT(anemll_name_ffn_chunk(b, sizeof b, "llama", 0, 3, 12), 0);
  CHECK_EQ_STR(b, "llama_FFN_PF_chunk_03of12.mlmodelc");
  CHECK_EQ_INT(anemll_name_ffn_chunk(b, sizeof b, "llama", 4, 100, 120), 0);
  CHECK_EQ_STR(b, "llama_FFN_PF_lut4_chunk_100of120.mlmodelc");
  CHECK_EQ_INT(anemll_name_ffn_base(b, sizeof b, "qwen", 8), 0);
  CHECK_EQ_STR(b, "qwen_FFN_PF_lut8.mlmodelc");
  CHECK_EQ_INT(anemll_name_ffn_base(b, sizeof b, "qwen", 0), 0);
  CHECK_EQ_STR(b, "qwen_FFN_PF.mlmodelc");
  CHECK_EQ_INT(anemll_name_split_chunk(b, sizeof b, "qwen", 4, 1, 2, 3), 0);
  CHECK_EQ_STR(b, "qwen_prefill_lut4_chunk_02of03.mlmodelc");
  CHECK_EQ_INT(anemll_name_split_chunk(b, sizeof b, "qwen", 0, 0, 1, 1), 0);
  CHECK_EQ_STR(b, "qwen_FFN_chunk_01of01.mlmodelc");
  CHECK_EQ_INT(anemll_name_monolithic(b, sizeof b, "qwen", 8), 0);
  CHECK_EQ_STR(b, "qwen_monolithic_full_lut8.mlmodelc");
  CHECK_EQ_INT(anemll_name_monolithic(b, sizeof b, "llama", 0), 0);
  CHECK_EQ_STR(b, "llama_monolithic_full.mlmodelc");
}

static void test_truncation(void) {
  char b[16];
  CHECK_EQ_INT(anemll_name_embeddings(b, sizeof b, "qwen", 8), -1);
  CHECK_EQ_INT((long)strlen(b), 15);
  char exact[25]; /* "qwen_embeddings.mlmodelc" is 24 characters */
  CHECK_EQ_INT(anemll_name_embeddings(exact, sizeof exact, "qwen", 0), 0);
  CHECK_EQ_INT(anemll_name_embeddings(exact, sizeof exact - 1, "qwen", 0), -1);
}

static void test_lut_bits(void) {
  CHECK_EQ_INT(anemll_lut_bits("none"), 0);
  CHECK_EQ_INT(anemll_lut_bits(""), 0);
  CHECK_EQ_INT(anemll_lut_bits(NULL), 0);
  CHECK_EQ_INT(anemll_lut_bits("8"), 8);
  CHECK_EQ_INT(anemll_lut_bits("4"), 4);
  CHECK_EQ_INT(anemll_lut_bits("9"), -1);
  CHECK_EQ_INT(anemll_lut_bits("0"), -1);
  CHECK_EQ_INT(anemll_lut_bits("8bit"), -1);
  CHECK_EQ_INT(anemll_lut_bits("None"), -1);
}

static void test_parse_chunk(void) {
  int c = 0, n = 0;
  CHECK_EQ_INT(anemll_parse_chunk("qwen_FFN_PF_lut8_chunk_01of02.mlmodelc", &c, &n), 0);
  CHECK_EQ_INT(c, 1);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_INT(anemll_parse_chunk("llama_FFN_PF_chunk_12of12", &c, &n), 0);
  CHECK_EQ_INT(c, 12);
  CHECK_EQ_INT(n, 12);
  CHECK_EQ_INT(anemll_parse_chunk("my_chunk_x_FFN_PF_chunk_3of100.mlmodelc", &c, &n), 0); /* the last one */
  CHECK_EQ_INT(c, 3);
  CHECK_EQ_INT(n, 100);
  c = n = 7;
  CHECK_EQ_INT(anemll_parse_chunk("qwen_FFN_PF_lut8.mlmodelc", &c, &n), -1);
  CHECK_EQ_INT(anemll_parse_chunk("qwen_FFN_PF_chunk_00of02", &c, &n), -1);
  CHECK_EQ_INT(anemll_parse_chunk("qwen_FFN_PF_chunk_03of02", &c, &n), -1);
  CHECK_EQ_INT(anemll_parse_chunk("qwen_FFN_PF_chunk_01f02", &c, &n), -1);
  CHECK_EQ_INT(anemll_parse_chunk("qwen_FFN_PF_chunk_01of", &c, &n), -1);
  CHECK_EQ_INT(anemll_parse_chunk("qwen_FFN_PF_chunk_of02", &c, &n), -1);
  CHECK_EQ_INT(anemll_parse_chunk("x_chunk_9999999999of9999999999", &c, &n), -1);
  CHECK_EQ_INT(c, 7); /* untouched on failure */
  CHECK_EQ_INT(n, 7);
  /* what the names above produce parses back */
  char b[256];
  anemll_name_ffn_chunk(b, sizeof b, "qwen", 6, 7, 9);
  CHECK_EQ_INT(anemll_parse_chunk(b, &c, &n), 0);
  CHECK_EQ_INT(c, 7);
  CHECK_EQ_INT(n, 9);
}
static void test_renumber_chunk(void) {
  char b[64];
  CHECK_EQ_INT(anemll_renumber_chunk(b, sizeof b, "m/qwen_FFN_PF_lut8_chunk_01of03.mlmodelc", 3, 3), 0);
  CHECK_EQ_STR(b, "m/qwen_FFN_PF_lut8_chunk_03of03.mlmodelc");
  CHECK_EQ_INT(anemll_renumber_chunk(b, sizeof b, "a_chunk_x_FFN_chunk_1of2", 2, 2), 0); /* the last one */
  CHECK_EQ_STR(b, "a_chunk_x_FFN_chunk_02of02");
  CHECK_EQ_INT(anemll_renumber_chunk(b, sizeof b, "qwen_FFN_PF_lut8.mlmodelc", 1, 1), -1);
  CHECK_EQ_INT(anemll_renumber_chunk(b, 12, "qwen_FFN_PF_chunk_01of02", 2, 2), -1);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"names", test_names},
      {"truncation", test_truncation},
      {"lut_bits", test_lut_bits},
      {"parse_chunk", test_parse_chunk},
      {"renumber_chunk", test_renumber_chunk},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
