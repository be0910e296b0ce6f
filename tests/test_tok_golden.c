/* test_tok_golden.c — the Qwen3 tokenizer against Hugging Face's own output: ids, token strings
 * and decoded text for every case of golden/tokenizer/public.json (tokenizers 0.23.2), and the
 * rendered text and ids of every conversation in golden/chat/public.json (transformers 5.17.0). */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "harness.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/file.h"

static mr_tokenizer *open_qwen3(void) {
  mr_tokenizer *t = NULL;
  mr_error err = {0};
  int rc = mr_tokenizer_open(th_fixture("tokenizer"), &t, &err);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  return t;
}

static cJSON *load_json(const char *rel) {
  char *text = NULL;
  mr_error err = {0};
  if (util_read_file(th_fixture(rel), &text, NULL, &err)) {
    fprintf(stderr, "  %s\n", err.msg);
    return NULL;
  }
  cJSON *j = cJSON_Parse(text);
  mr_free(text);
  return j;
}

/* ids equal to a JSON array of numbers */
static int same_ids(const int32_t *ids, size_t n, const cJSON *want) {
  if ((size_t)cJSON_GetArraySize(want) != n) return 0;
  size_t i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, want) if (ids[i++] != (int32_t)e->valuedouble) return 0;
  return 1;
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
  fprintf(stderr, "    %s:", label);
  for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", (int)ids[i]);
  fprintf(stderr, "\n");
}

static void test_tokenizer_cases(void) {
  mr_tokenizer *t = open_qwen3();
  cJSON *g = load_json("tokenizer/golden_tokenizer.json");
  CHECK(t && g);
  if (!t || !g) goto done;
  const cJSON *c;
  int n_cases = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases")) {
    const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
    int32_t *ids = NULL;
    size_t n = 0;
    mr_error err = {0};
    CHECK_EQ_INT(mr_tokenizer_encode(t, text, strlen(text), MR_TOK_PARSE_SPECIAL, &ids, &n, &err), MR_OK);
    const cJSON *want = cJSON_GetObjectItem(c, "ids");
    if (!same_ids(ids, n, want)) {
      CHECK_MSG(0, "ids differ for %s", text);
      print_ids("got", ids, n);
    }
    /* token strings, as HF spells them */
    size_t i = 0;
    const cJSON *tok;
    cJSON_ArrayForEach(tok, cJSON_GetObjectItem(c, "tokens")) {
      if (i < n) CHECK_EQ_STR(mr_tokenizer_token(t, ids[i]), tok->valuestring);
      if (i < n) CHECK_EQ_INT(mr_tokenizer_token_id(t, tok->valuestring), ids[i]);
      i++;
    }
    /* decode the reference ids, with and without special tokens */
    int32_t ref[4096];
    size_t m = 0;
    cJSON_ArrayForEach(tok, want) if (m < 4096) ref[m++] = (int32_t)tok->valuedouble;
    char *out = NULL;
    CHECK_EQ_INT(mr_tokenizer_decode(t, ref, m, 0, &out, NULL, &err), MR_OK);
    CHECK_EQ_STR(out, cJSON_GetObjectItem(c, "decoded")->valuestring);
    mr_free(out);
    CHECK_EQ_INT(mr_tokenizer_decode(t, ref, m, MR_TOK_SKIP_SPECIAL, &out, NULL, &err), MR_OK);
    CHECK_EQ_STR(out, cJSON_GetObjectItem(c, "decoded_skip_special")->valuestring);
    mr_free(out);
    mr_free(ids);
    n_cases++;
  }
  CHECK_EQ_INT(n_cases, 60);
done:
  cJSON_Delete(g);
  mr_tokenizer_close(t);
}

static void test_chat_cases(void) {
  mr_tokenizer *t = open_qwen3();
  cJSON *g = load_json("tokenizer/golden_chat.json");
  CHECK(t && g);
  if (!t || !g) goto done;
  CHECK_EQ_STR(mr_tokenizer_chat_family(t), "qwen3");
  const cJSON *c;
  int n_cases = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(g, "cases")) {
    mr_chat_message msgs[16];
    size_t n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(c, "messages")) {
      if (n < 16) msgs[n++] = (mr_chat_message){cJSON_GetObjectItem(m, "role")->valuestring,
                                                cJSON_GetObjectItem(m, "content")->valuestring};
    }
    mr_chat_options o = {!cJSON_IsTrue(cJSON_GetObjectItem(c, "add_generation_prompt")),
                         !cJSON_IsTrue(cJSON_GetObjectItem(c, "enable_thinking"))};
    char *text = NULL;
    mr_error err = {0};
    CHECK_EQ_INT(mr_tokenizer_chat(t, msgs, n, &o, &text, &err), MR_OK);
    CHECK_EQ_STR(text, cJSON_GetObjectItem(c, "text")->valuestring);
    int32_t *ids = NULL;
    size_t k = 0;
    if (text) CHECK_EQ_INT(mr_tokenizer_encode(t, text, strlen(text), MR_TOK_PARSE_SPECIAL, &ids, &k, &err), MR_OK);
    CHECK(same_ids(ids, k, cJSON_GetObjectItem(c, "ids")));
    mr_free(ids);
    mr_free(text);
    n_cases++;
  }
  CHECK_EQ_INT(n_cases, 5);
done:
  cJSON_Delete(g);
  mr_tokenizer_close(t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"tokenizer_cases", test_tokenizer_cases},
    {"chat_cases", test_chat_cases},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
