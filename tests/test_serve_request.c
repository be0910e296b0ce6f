/* test_serve_request.c — the server's request bodies: every field of a full chat request and of a
 * completion read as given, milrun's defaults where a field is missing, and each kind of bad body
 * (malformed JSON, wrong types, values out of range, empty or unknown messages, unsupported
 * options) refused with OpenAI's status, parameter and code; the error object's JSON shape. */
#include <cjson/cJSON.h>

#include "harness.h"
#include "serve/reply.h"
#include "serve/request.h"
#include "util/alloc.h"

static int parse(int kind, const char *body, srv_params *p, srv_error *e) {
  return srv_parse_generation(kind, body, strlen(body), p, e);
}

static void test_chat_fields(void) {
  const char *body =
      "{\"model\":\"x\",\"messages\":[{\"role\":\"developer\",\"content\":\"Be brief.\"},"
      "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"},{\"type\":\"text\",\"text\":\"there\"}]},"
      "{\"role\":\"assistant\",\"content\":null},{\"role\":\"user\",\"content\":\"Ok\",\"name\":\"bob\"}],"
      "\"temperature\":0.25,\"top_p\":0.5,\"max_tokens\":16,\"stop\":[\"\\n\",\"END\",\"\"],\"stream\":true,"
      "\"stream_options\":{\"include_usage\":true},\"logprobs\":true,\"top_logprobs\":3,\"seed\":42,"
      "\"presence_penalty\":-1.5,\"frequency_penalty\":0.5,\"top_k\":7,\"min_p\":0.1,\"repeat_penalty\":1.3,"
      "\"repeat_last_n\":9,\"ignore_eos\":true,\"chat_template_kwargs\":{\"enable_thinking\":false},\"unknown_field\":{\"x\":[1]}}";
  srv_params p;
  srv_error e;
  CHECK_EQ_INT(parse(SRV_CHAT, body, &p, &e), 0);
  CHECK_EQ_INT(p.n_msgs, 4);
  if (p.n_msgs == 4) {
    CHECK_EQ_STR(p.msgs[0].role, "system"); /* OpenAI's developer role is the system prompt */
    CHECK_EQ_STR(p.msgs[0].content, "Be brief.");
    CHECK_EQ_STR(p.msgs[1].content, "Hi\nthere");
    CHECK_EQ_STR(p.msgs[2].role, "assistant");
    CHECK_EQ_STR(p.msgs[2].content, "");
    CHECK_EQ_STR(p.msgs[3].content, "Ok");
  }
  CHECK_NEAR(p.sampling.temperature, 0.25, 0);
  CHECK_NEAR(p.sampling.top_p, 0.5, 0);
  CHECK_NEAR(p.sampling.presence_penalty, -1.5, 0);
  CHECK_NEAR(p.sampling.frequency_penalty, 0.5, 0);
  CHECK_NEAR(p.sampling.min_p, 0.1, 1e-7);
  CHECK_NEAR(p.sampling.repeat_penalty, 1.3, 1e-6);
  CHECK_EQ_INT(p.sampling.top_k, 7);
  CHECK_EQ_INT(p.sampling.repeat_last_n, 9);
  CHECK_EQ_INT(p.sampling.seed, 42);
  CHECK_EQ_INT(p.has_seed, 1);
  CHECK_EQ_INT(p.max_tokens, 16);
  CHECK_EQ_INT(p.n_stop, 2); /* the empty one is dropped */
  if (p.n_stop == 2) {
    CHECK_EQ_STR(p.stop[0], "\n");
    CHECK_EQ_STR(p.stop[1], "END");
  }
  CHECK_EQ_INT(p.stream, 1);
  CHECK_EQ_INT(p.include_usage, 1);
  CHECK_EQ_INT(p.logprobs, 3);
  CHECK_EQ_INT(p.think, 0);
  CHECK_EQ_INT(p.ignore_eos, 1);
  srv_params_free(&p);
}

static void test_defaults(void) {
  srv_params p;
  srv_error e;
  mr_sampling d;
  mr_sampling_defaults(&d);
  CHECK_EQ_INT(parse(SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":5,\"stop\":\"END\"}", &p, &e), 0);
  CHECK(!memcmp(&p.sampling, &d, sizeof d));
  CHECK_EQ_INT(p.has_seed, 0);
  CHECK_EQ_INT(p.logprobs, -1);
  CHECK_EQ_INT(p.max_tokens, 5);
  CHECK_EQ_INT(p.stream, 0);
  CHECK_EQ_INT(p.think, -1);
  CHECK_EQ_INT(p.n_stop, 1);
  srv_params_free(&p);
  /* top_p 0 (allowed by OpenAI) keeps only the most likely token */
  CHECK_EQ_INT(parse(SRV_COMPLETION, "{\"prompt\":\"a\",\"top_p\":0,\"temperature\":1}", &p, &e), 0);
  CHECK_NEAR(p.sampling.temperature, 0, 0);
  srv_params_free(&p);
}

static void test_completion_prompts(void) {
  srv_params p;
  srv_error e;
  CHECK_EQ_INT(parse(SRV_COMPLETION, "{\"prompt\":[\"def f():\"],\"logprobs\":0}", &p, &e), 0);
  CHECK_EQ_STR(p.prompt, "def f():");
  CHECK_EQ_INT(p.logprobs, 0);
  srv_params_free(&p);
  CHECK_EQ_INT(parse(SRV_COMPLETION, "{\"prompt\":[[785,3974,13876]]}", &p, &e), 0);
  CHECK(p.prompt == NULL);
  CHECK_EQ_INT(p.n_ids, 3);
  if (p.n_ids == 3) CHECK_EQ_INT(p.ids[2], 13876);
  CHECK_EQ_INT(p.logprobs, -1);
  srv_params_free(&p);
  CHECK_EQ_INT(parse(SRV_COMPLETION, "{\"prompt\":[5]}", &p, &e), 0);
  CHECK_EQ_INT(p.n_ids, 1);
  srv_params_free(&p);
}

typedef struct bad_case {
  int kind;
  const char *body, *param, *code;
} bad_case;

static void test_errors(void) {
  static const bad_case cases[] = {
    {SRV_CHAT, "", "", NULL},
    {SRV_CHAT, "{\"messages\":[", "", NULL},
    {SRV_CHAT, "[1,2]", "", NULL},
    {SRV_CHAT, "{}", "messages", "missing_required_parameter"},
    {SRV_CHAT, "{\"messages\":\"hi\"}", "messages", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[]}", "messages", "empty_array"},
    {SRV_CHAT, "{\"messages\":[5]}", "messages[0]", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"content\":\"x\"}]}", "messages[0].role", "missing_required_parameter"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[1].role", "invalid_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages[0].role", "invalid_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":7,\"content\":\"x\"}]}", "messages[0].role", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content", "missing_required_parameter"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{}}]}]}", "messages[0].content[0]", "unsupported_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"\xC3\x28\"}]}", "messages[0].content", "invalid_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", "temperature", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":2.5}", "temperature", "decimal_above_max_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":-0.1}", "top_p", "decimal_below_min_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1.5}", "max_tokens", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", "max_tokens", "integer_below_min_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n", "unsupported_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", "stream", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream_options\":1}", "stream_options", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":\"1\"}", "seed", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop", "array_above_max_length"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "stop", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":1}", "logprobs", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":true,\"top_logprobs\":21}", "top_logprobs", "integer_above_max_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":2}", "top_logprobs", "invalid_value"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":5}", "model", "invalid_type"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\"}]}", "tools", "unsupported_value"},
    {SRV_COMPLETION, "{}", "prompt", "missing_required_parameter"},
    {SRV_COMPLETION, "{\"prompt\":5}", "prompt", "invalid_type"},
    {SRV_COMPLETION, "{\"prompt\":[\"a\",\"b\"]}", "prompt", "unsupported_value"},
    {SRV_COMPLETION, "{\"prompt\":[1,-2]}", "prompt", "invalid_type"},
    {SRV_COMPLETION, "{\"prompt\":\"a\",\"echo\":true}", "echo", "unsupported_value"},
    {SRV_COMPLETION, "{\"prompt\":\"a\",\"suffix\":\"b\"}", "suffix", "unsupported_value"},
    {SRV_COMPLETION, "{\"prompt\":\"a\",\"logprobs\":6}", "logprobs", "integer_above_max_value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    srv_params p;
    srv_error e;
    int rc = parse(cases[i].kind, cases[i].body, &p, &e);
    CHECK_MSG(rc == -1, "accepted: %s", cases[i].body);
    if (rc != -1) {
      srv_params_free(&p);
      continue;
    }
    CHECK_MSG(e.status == 400 && !strcmp(e.type, "invalid_request_error"), "%s: %d %s", cases[i].body, e.status, e.type);
    CHECK_MSG(!strcmp(e.param, cases[i].param), "%s: param '%s', expected '%s'", cases[i].body, e.param, cases[i].param);
    CHECK_MSG(cases[i].code ? e.code && !strcmp(e.code, cases[i].code) : !e.code, "%s: code %s, expected %s", cases[i].body,
              e.code ? e.code : "null", cases[i].code ? cases[i].code : "null");
    CHECK_MSG(e.message[0], "%s: no message", cases[i].body);
  }
  srv_params p;
  srv_error e;
  parse(SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", &p, &e);
  CHECK_EQ_STR(e.message, "Invalid type for 'temperature': expected a number, but got a string instead.");
  parse(SRV_CHAT, "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", &p, &e);
  CHECK_EQ_STR(e.message, "Invalid value for 'messages[0].role': 'wizard'. Supported values are: 'system', 'developer', 'user', and 'assistant'.");
}

static void test_tokenize_bodies(void) {
  char *content;
  int pieces;
  srv_error e;
  const char *b = "{\"content\":\"Hello\",\"with_pieces\":true}";
  CHECK_EQ_INT(srv_parse_tokenize(b, strlen(b), &content, &pieces, &e), 0);
  CHECK_EQ_STR(content, "Hello");
  CHECK_EQ_INT(pieces, 1);
  mr_free(content);
  b = "{\"content\":1}";
  CHECK_EQ_INT(srv_parse_tokenize(b, strlen(b), &content, &pieces, &e), -1);
  CHECK_EQ_STR(e.param, "content");
  int32_t *ids;
  size_t n;
  b = "{\"tokens\":[9707,1879]}";
  CHECK_EQ_INT(srv_parse_detokenize(b, strlen(b), &ids, &n, &e), 0);
  CHECK_EQ_INT(n, 2);
  if (n == 2) CHECK_EQ_INT(ids[1], 1879);
  mr_free(ids);
  b = "{\"tokens\":[1,\"2\"]}";
  CHECK_EQ_INT(srv_parse_detokenize(b, strlen(b), &ids, &n, &e), -1);
  CHECK_EQ_STR(e.param, "tokens");
}

static void test_error_json(void) {
  srv_error e;
  srv_fail(&e, 400, "invalid_request_error", NULL, NULL, "bad \"thing\"");
  util_sb out = {0};
  srv_error_json(&e, &out);
  cJSON *j = cJSON_Parse(util_sb_cstr(&out)), *x = cJSON_GetObjectItem(j, "error");
  CHECK(cJSON_IsObject(x));
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(x, "message")), "bad \"thing\"");
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(x, "type")), "invalid_request_error");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(x, "param")));
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(x, "code")));
  cJSON_Delete(j);
  util_sb_free(&out);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"chat_fields", test_chat_fields},
                                  {"defaults", test_defaults},
                                  {"completion_prompts", test_completion_prompts},
                                  {"errors", test_errors},
                                  {"tokenize_bodies", test_tokenize_bodies},
                                  {"error_json", test_error_json},
                                  {NULL, NULL}};
  return th_run(cases, argc, argv);
}
