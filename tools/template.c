/* template.c — `milrun template`: render a conversation with the tokenizer's chat template. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "opts.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

/* FILE.json -> messages; the strings stay owned by *root. */
static int read_messages(const char *file, cJSON **root, mr_chat_message **msgs, size_t *n, mr_error *err) {
  char *text = NULL;
  int rc = util_read_file(file, &text, NULL, err);
  if (rc) return rc;
  *root = cJSON_Parse(text);
  mr_free(text);
  if (!cJSON_IsArray(*root)) return util_err(err, MR_EFORMAT, "%s: expected a JSON list of {\"role\", \"content\"} objects", file);
  *n = (size_t)cJSON_GetArraySize(*root);
  *msgs = mr_alloc((*n + 1) * sizeof **msgs);
  if (!*msgs) return util_err_nomem(err, file);
  size_t i = 0;
  const cJSON *m;
  cJSON_ArrayForEach(m, *root) {
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role"), *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!cJSON_IsString(role) || !cJSON_IsString(content))
      return util_err(err, MR_EFORMAT, "%s: message %zu needs string \"role\" and \"content\"", file, i);
    (*msgs)[i++] = (mr_chat_message){role->valuestring, content->valuestring};
  }
  return MR_OK;
}

int tool_template(int argc, char **argv) {
  const char *path = NULL, *file = NULL;
  mr_chat_options opts = {0, 0};
  const tool_opt table[] = {
    {"tokenizer", 't', OPT_STR, &path, "PATH", "tokenizer.json or a model directory; tokenizer_config.json" OPT_NL
     "is read from the same directory (required)", 0, 0, NULL},
    {"messages", 'm', OPT_STR, &file, "FILE.json", "the conversation (required)", 0, 0, NULL},
    {"no-generation-prompt", 0, OPT_FLAG, &opts.no_generation_prompt, NULL, "do not open an assistant turn at the end" OPT_NL
     "(default: open one)", 0, 0, NULL},
    {"no-think", 0, OPT_FLAG, &opts.no_think, NULL, "enable_thinking=False for Qwen3 (default: thinking on)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "template", "--tokenizer PATH --messages FILE.json [options]",
    "Print the prompt that the chat template of PATH's tokenizer_config.json renders for the\n"
    "conversation in FILE.json, a list of {\"role\": ..., \"content\": ...}.",
    table, NULL, 0, 0, NULL};
  int npos;
  int rc = tool_parse(&cmd, argc, argv, NULL, &npos);
  if (rc) return tool_parse_exit(rc);
  if (!path || !file) return tool_usage_error(&cmd, "--tokenizer and --messages are required");
  mr_error err = {0};
  mr_tokenizer *t = NULL;
  cJSON *root = NULL;
  mr_chat_message *msgs = NULL;
  size_t n = 0;
  char *text = NULL;
  rc = read_messages(file, &root, &msgs, &n, &err);
  if (!rc) rc = mr_tokenizer_open(path, &t, &err);
  if (!rc) rc = mr_tokenizer_chat(t, msgs, n, &opts, &text, &err);
  if (rc) fprintf(stderr, "milrun template: %s\n", err.msg);
  else fputs(text, stdout);
  mr_free(text);
  mr_free(msgs);
  cJSON_Delete(root);
  mr_tokenizer_close(t);
  return rc ? 1 : 0;
}
