/* test_tool_serve_openai.c — the `openai` Python package (installed into build/venv by setup.sh),
 * a client nobody here wrote, against `milrun serve` with an API key: a chat completion, a streamed
 * one and a completion, each with temperature 0 equal to `milrun generate` on the same prompt; the
 * model list; a wrong key and an empty message list raised as the client's own error types. Without
 * the package the program says so and exits 77, which ctest reports as skipped. */
#include "serve_util.h"

#define N_TOKENS 16

static void test_openai_client(void) {
  const char *chat = "def fibonacci(n):", *raw = "import os\n";
  su_server s;
  if (su_start(&s, "--parallel 2 --alias demo --api-key sk-milrun-test", NULL)) return;
  char *want_chat = su_generate(chat, N_TOKENS, "", NULL), *want_raw = su_generate(raw, N_TOKENS, "--raw", NULL);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "\"%s/build/venv/bin/python\" \"%s/tests/serve_openai.py\" %d sk-milrun-test '%s' '%s' %d",
           getenv("MR_SOURCE"), getenv("MR_SOURCE"), s.port, chat, raw, N_TOKENS);
  util_sb out = {0};
  int rc = su_shell(cmd, &out);
  CHECK_MSG(rc == 0, "serve_openai.py failed (%d): %s", rc, util_sb_cstr(&out));
  cJSON *j = cJSON_Parse(util_sb_cstr(&out));
  CHECK_MSG(j, "not JSON: %s", util_sb_cstr(&out));
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "chat")), want_chat);
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "chat_stream")), want_chat);
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "chat_stream_finish")),
               cJSON_GetStringValue(cJSON_GetObjectItem(j, "chat_finish")));
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "completion")), want_raw);
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 0)), "demo");
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "wrong_key")), "invalid_api_key");
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "empty_messages")), "empty_array");
  const cJSON *u = cJSON_GetObjectItem(j, "chat_usage");
  CHECK(cJSON_GetArraySize(u) == 3 && cJSON_GetArrayItem(u, 0)->valueint + cJSON_GetArrayItem(u, 1)->valueint ==
                                          cJSON_GetArrayItem(u, 2)->valueint);
  cJSON_Delete(j);
  util_sb_free(&out);
  mr_free(want_chat);
  mr_free(want_raw);
  CHECK_EQ_INT(su_stop(&s, SIGTERM, 120, NULL), 0);
}

int main(int argc, char **argv) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "\"%s/build/venv/bin/python\" -c 'import openai' 2>/dev/null", getenv("MR_SOURCE"));
  util_sb out = {0};
  int have = su_shell(cmd, &out) == 0;
  util_sb_free(&out);
  if (!have) {
    printf("SKIPPED: the openai package is not in build/venv (scripts/setup.sh installs it)\n");
    return 77;
  }
  static const th_case cases[] = {{"openai_client", test_openai_client}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
