/* test_tok_template.c — chat template families beyond the golden Qwen3 cases: Qwen2.5 and
 * Llama-3 (templates written out in tests/fixtures/tokenizer/, .jinja files), Qwen3 turns the golden file
 * does not cover, and the refusal of templates milrun does not know. Expected texts are the formats
 * the model cards document, written out by hand. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/file.h"

/* A model directory in the temp dir: the Qwen3 tokenizer.json (linked) and a tokenizer_config.json
 * with the given template (NULL: none) and bos_token. */
static const char *model_dir(const char *name, const char *tpl_fixture, const char *bos) {
  static char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", th_tmpdir(), name);
  mr_error err = {0};
  util_mkdirs(dir, &err);
  char path[600], *tpl = NULL;
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  unlink(path);
  char src[600];
  snprintf(src, sizeof src, "%s", th_fixture("tokenizer/tokenizer.json"));
  if (src[0] != '/') { /* make a relative fixture path absolute for the link */
    char cwd[400];
    if (getcwd(cwd, sizeof cwd)) snprintf(src, sizeof src, "%s/%s", cwd, th_fixture("tokenizer/tokenizer.json"));
  }
  CHECK(symlink(src, path) == 0);
  cJSON *cfg = cJSON_CreateObject();
  if (tpl_fixture) {
    CHECK_EQ_INT(util_read_file(th_fixture(tpl_fixture), &tpl, NULL, &err), MR_OK);
    cJSON_AddStringToObject(cfg, "chat_template", tpl ? tpl : "");
  }
  if (bos) cJSON_AddStringToObject(cfg, "bos_token", bos);
  cJSON_AddStringToObject(cfg, "eos_token", "<|im_end|>");
  char *text = cJSON_Print(cfg);
  snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
  CHECK_EQ_INT(util_write_file_atomic(path, text, strlen(text), &err), MR_OK);
  free(text);
  cJSON_Delete(cfg);
  mr_free(tpl);
  return dir;
}

static char *render(mr_tokenizer *t, const mr_chat_message *m, size_t n, int no_gen, int no_think, int *rc,
                    mr_error *err) {
  mr_chat_options o = {no_gen, no_think};
  char *text = NULL;
  *rc = mr_tokenizer_chat(t, m, n, &o, &text, err);
  return text;
}

static void expect(mr_tokenizer *t, const mr_chat_message *m, size_t n, int no_gen, int no_think, const char *want) {
  int rc;
  mr_error err = {0};
  char *text = render(t, m, n, no_gen, no_think, &rc, &err);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  CHECK_EQ_STR(text, want);
  mr_free(text);
}

static mr_tokenizer *open_dir(const char *dir) {
  mr_tokenizer *t = NULL;
  mr_error err = {0};
  int rc = mr_tokenizer_open(dir, &t, &err);
  CHECK_MSG(rc == MR_OK, "%s", err.msg);
  return t;
}

static void test_qwen25(void) {
  mr_tokenizer *t = open_dir(model_dir("qwen25", "tokenizer/qwen2.5_chat_template.jinja", NULL));
  if (!t) return;
  CHECK_EQ_STR(mr_tokenizer_chat_family(t), "qwen2.5");
  const mr_chat_message user[] = {{"user", "Hello!"}};
  expect(t, user, 1, 0, 0,
         "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
         "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
  const mr_chat_message sys[] = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}};
  expect(t, sys, 4, 1, 0,
         "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
         "<|im_start|>user\nBye<|im_end|>\n");
  const mr_chat_message tool[] = {{"user", "Weather?"}, {"tool", "sunny"}, {"tool", "20C"}};
  expect(t, tool, 3, 0, 0,
         "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
         "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n"
         "<tool_response>\n20C\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
  mr_tokenizer_close(t);
}

static void test_llama3(void) {
  mr_tokenizer *t = open_dir(model_dir("llama3", "tokenizer/llama3_chat_template.jinja", "<|begin_of_text|>"));
  if (!t) return;
  CHECK_EQ_STR(mr_tokenizer_chat_family(t), "llama3");
  /* content is trimmed (Jinja's trim = Python's str.strip(), Unicode whitespace included) */
  const mr_chat_message m[] = {{"system", "You are a bot.\n"}, {"user", " \xc2\xa0Hi there \t"}};
  expect(t, m, 2, 0, 0,
         "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a bot.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\n");
  expect(t, m + 1, 1, 1, 0, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>");
  mr_tokenizer_close(t);
  /* without a bos_token the template cannot render */
  t = open_dir(model_dir("llama3nobos", "tokenizer/llama3_chat_template.jinja", NULL));
  int rc;
  mr_error err = {0};
  char *text = render(t, m, 2, 0, 0, &rc, &err);
  CHECK_EQ_INT(rc, MR_EFORMAT);
  char want[800];
  snprintf(want, sizeof want, "%s/llama3nobos/tokenizer.json: the Llama-3 template needs bos_token, which tokenizer_config.json lacks", th_tmpdir());
  CHECK_EQ_STR(err.msg, want);
  CHECK(text == NULL);
  mr_tokenizer_close(t);
}

/* Qwen3 turns beyond the golden file, rendered by reading the template. */
static void test_qwen3_more(void) {
  mr_tokenizer *t = open_dir(th_fixture("tokenizer"));
  if (!t) return;
  /* an assistant turn after the last user turn keeps its reasoning; the last one always gets a
   * <think> block, even an empty one; a system message that is not first renders as a turn */
  const mr_chat_message m[] = {{"user", "Q"},
                               {"assistant", "<think>\n\nstep one\n\n</think>\n\nA1"},
                               {"system", "late"},
                               {"assistant", "final"}};
  expect(t, m, 4, 1, 0,
         "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nstep one\n</think>\n\nA1<|im_end|>\n"
         "<|im_start|>system\nlate<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nfinal<|im_end|>\n");
  /* a user message that is a tool response does not count as the last query */
  const mr_chat_message tr[] = {{"user", "Q"}, {"assistant", "<think>r</think>x"}, {"user", "<tool_response>ok</tool_response>"}};
  expect(t, tr, 3, 1, 0,
         "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nx<|im_end|>\n"
         "<|im_start|>user\n<tool_response>ok</tool_response><|im_end|>\n");
  /* unknown roles render nothing, as in the template */
  const mr_chat_message odd[] = {{"user", "Q"}, {"narrator", "ignored"}};
  expect(t, odd, 2, 0, 1, "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  int rc;
  mr_error err = {0};
  char *text = render(t, m, 0, 0, 0, &rc, &err);
  CHECK_EQ_INT(rc, MR_EINVAL);
  CHECK_EQ_STR(err.msg, "chat: no messages");
  mr_free(text);
  mr_tokenizer_close(t);
}

static void test_unknown_templates(void) {
  char want[800];
  int rc;
  mr_error err = {0};
  const mr_chat_message m[] = {{"user", "Hi"}};
  /* a template of another family: Mistral's [INST] format */
  mr_tokenizer *t = open_dir(model_dir("other", "tokenizer/other_chat_template.jinja", NULL));
  CHECK(mr_tokenizer_chat_family(t) == NULL);
  char *text = render(t, m, 1, 0, 0, &rc, &err);
  CHECK_EQ_INT(rc, MR_ENOTSUP);
  snprintf(want, sizeof want,
           "%s/other/tokenizer.json: chat template not recognised (milrun renders Qwen3, Qwen2.5 and Llama-3 templates)",
           th_tmpdir());
  CHECK_EQ_STR(err.msg, want);
  CHECK(text == NULL);
  mr_tokenizer_close(t);
  /* no template at all */
  t = open_dir(model_dir("none", NULL, NULL));
  text = render(t, m, 1, 0, 0, &rc, &err);
  CHECK_EQ_INT(rc, MR_ENOTFOUND);
  snprintf(want, sizeof want, "%s/none/tokenizer.json: no chat template (tokenizer_config.json has no chat_template)", th_tmpdir());
  CHECK_EQ_STR(err.msg, want);
  mr_tokenizer_close(t);
  /* chat_template.jinja beside the config is used when the config has none */
  char src[600], dst[600];
  snprintf(dst, sizeof dst, "%s/none/chat_template.jinja", th_tmpdir());
  char *tpl = NULL;
  CHECK_EQ_INT(util_read_file(th_fixture("tokenizer/qwen2.5_chat_template.jinja"), &tpl, NULL, &err), MR_OK);
  CHECK_EQ_INT(util_write_file_atomic(dst, tpl, strlen(tpl), &err), MR_OK);
  mr_free(tpl);
  snprintf(src, sizeof src, "%s/none", th_tmpdir());
  t = open_dir(src);
  CHECK_EQ_STR(mr_tokenizer_chat_family(t), "qwen2.5");
  mr_tokenizer_close(t);
  /* chat_template as a list of named templates: "default" is used */
  const char *dir = model_dir("named", NULL, NULL);
  CHECK_EQ_INT(util_read_file(th_fixture("tokenizer/llama3_chat_template.jinja"), &tpl, NULL, &err), MR_OK);
  cJSON *cfg = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(cfg, "chat_template"), *e;
  e = cJSON_CreateObject();
  cJSON_AddStringToObject(e, "name", "tool_use");
  cJSON_AddStringToObject(e, "template", "{{ tools }}");
  cJSON_AddItemToArray(list, e);
  e = cJSON_CreateObject();
  cJSON_AddStringToObject(e, "name", "default");
  cJSON_AddStringToObject(e, "template", tpl ? tpl : "");
  cJSON_AddItemToArray(list, e);
  cJSON_AddStringToObject(cfg, "bos_token", "<|begin_of_text|>");
  char *json = cJSON_Print(cfg);
  snprintf(dst, sizeof dst, "%s/tokenizer_config.json", dir);
  CHECK_EQ_INT(util_write_file_atomic(dst, json, strlen(json), &err), MR_OK);
  free(json);
  cJSON_Delete(cfg);
  mr_free(tpl);
  t = open_dir(dir);
  CHECK_EQ_STR(mr_tokenizer_chat_family(t), "llama3");
  CHECK_EQ_INT(mr_tokenizer_bos_id(t), -1); /* <|begin_of_text|> is not a Qwen token */
  mr_tokenizer_close(t);
}

/* A malformed tokenizer_config.json, and API misuse. */
static void test_misuse(void) {
  const char *dir = model_dir("badcfg", NULL, NULL);
  char path[700], want[800];
  snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
  mr_error err = {0};
  CHECK_EQ_INT(util_write_file_atomic(path, "{\"chat_template\": ", 18, &err), MR_OK);
  mr_tokenizer *t = NULL;
  CHECK_EQ_INT(mr_tokenizer_open(dir, &t, &err), MR_EFORMAT);
  snprintf(want, sizeof want, "%s: not a JSON object (error near byte 18)", path);
  CHECK_EQ_STR(err.msg, want);
  CHECK(t == NULL);
  t = open_dir(th_fixture("tokenizer"));
  const mr_chat_message m[] = {{"user", NULL}};
  int rc;
  char *text = render(t, m, 1, 0, 0, &rc, &err);
  CHECK_EQ_INT(rc, MR_EINVAL);
  CHECK_EQ_STR(err.msg, "chat: message 0 has no role or content");
  CHECK(text == NULL);
  int32_t *ids = NULL;
  size_t n = 0;
  CHECK_EQ_INT(mr_tokenizer_encode(NULL, "x", 1, 0, &ids, &n, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "mr_tokenizer_encode: no tokenizer or text");
  CHECK_EQ_INT(mr_tokenizer_decode(t, NULL, 2, 0, &text, NULL, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "mr_tokenizer_decode: no tokenizer or ids");
  mr_detok *d = NULL;
  CHECK_EQ_INT(mr_detok_new(NULL, 0, &d, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "mr_detok_new: no tokenizer");
  mr_tokenizer *none = (mr_tokenizer *)&err;
  CHECK_EQ_INT(mr_tokenizer_open(NULL, &none, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "mr_tokenizer_open: no path");
  CHECK(none == NULL);
  CHECK_EQ_INT(mr_tokenizer_chat(NULL, m, 1, NULL, &text, &err), MR_EINVAL);
  CHECK_EQ_STR(err.msg, "mr_tokenizer_chat: no tokenizer");
  mr_tokenizer_close(t);
  mr_tokenizer_close(NULL);
  mr_detok_free(NULL);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"qwen25", test_qwen25},
    {"llama3", test_llama3},
    {"qwen3_more", test_qwen3_more},
    {"unknown_templates", test_unknown_templates},
    {"misuse", test_misuse},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
