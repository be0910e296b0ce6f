/* test_tool_serve.c — `milrun serve` end to end on the demo model, over loopback HTTP: greedy
 * chat and completion text equal to `milrun generate` on the same prompt (text and token-id
 * prompts), streamed answers equal to whole ones (libcurl and `curl -N`), stop strings, logprobs
 * against log-softmax of `milrun logits`, max_tokens capped by the context, /tokenize and
 * /detokenize against `milrun tokenize`, /v1/models, /health and /metrics, the API key, bad input
 * (each with its status, code and parameter, the server serving on), a slow-loris client and an
 * idle one, and the graceful stop (running requests finish or are cancelled, exit 0). */
#include <math.h>
#include <pthread.h>

#include "serve_util.h"

#define N_TOKENS (SU_SANITIZED ? 8 : 16)

static su_server g_srv; /* shared by the cases, started by the first that needs it */

static void stop_shared(void) {
  if (g_srv.pid > 0) su_stop(&g_srv, SIGKILL, 10, NULL);
}

static int shared(void) {
  if (g_srv.pid > 0) return g_srv.port;
  atexit(stop_shared);
  if (su_start(&g_srv, "--parallel 2 --alias demo --max-body 256 --timeout-header 2 --timeout-idle 3", NULL)) return 0;
  return g_srv.port;
}

static char *chat_body(const char *content, int max_tokens, const char *extra) {
  char *c = su_json_string(content);
  size_t n = strlen(c) + strlen(extra) + 256;
  char *b = mr_alloc(n);
  snprintf(b, n, "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":%s}],\"max_tokens\":%d,\"temperature\":0%s}", c,
           max_tokens, extra);
  mr_free(c);
  return b;
}

static char *completion_body(const char *prompt, int max_tokens, const char *extra) {
  char *c = su_json_string(prompt);
  size_t n = strlen(c) + strlen(extra) + 256;
  char *b = mr_alloc(n);
  snprintf(b, n, "{\"prompt\":%s,\"max_tokens\":%d,\"temperature\":0%s}", c, max_tokens, extra);
  mr_free(c);
  return b;
}

/* POST and return the answer's text (new string), checking status 200. */
static char *text_of(int port, const char *path, const char *body, cJSON **json) {
  long st;
  cJSON *j = su_post(port, path, body, &st);
  CHECK_MSG(st == 200 && j, "%s: status %ld", path, st);
  char *t = su_text(j) ? util_strdup(su_text(j)) : NULL;
  if (json) *json = j;
  else cJSON_Delete(j);
  return t;
}

static void test_same_as_generate(void) {
  int port = shared();
  if (!port) return;
  const char *prompts[] = {"def fibonacci(n):", "Write a function that reverses a list."};
  for (int i = 0; i < 2; i++) {
    int np = 0;
    char *want = su_generate(prompts[i], N_TOKENS, "", &np), *body = chat_body(prompts[i], N_TOKENS, "");
    cJSON *j = NULL;
    char *got = text_of(port, "/v1/chat/completions", body, &j);
    CHECK_EQ_STR(got, want);
    CHECK_EQ_INT(su_usage(j, "prompt_tokens"), np);
    CHECK(su_usage(j, "completion_tokens") >= 1 && su_usage(j, "completion_tokens") <= N_TOKENS);
    CHECK_EQ_INT(su_usage(j, "total_tokens"), su_usage(j, "prompt_tokens") + su_usage(j, "completion_tokens"));
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "chat.completion");
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")), "demo");
    CHECK(!strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")), "chatcmpl-", 9));
    const char *f = su_finish(j);
    CHECK(f && (!strcmp(f, "length") || !strcmp(f, "stop")));
    cJSON_Delete(j);
    mr_free(want);
    mr_free(got);
    mr_free(body);
  }
  /* a raw completion, given as text and as the same token ids */
  const char *raw = "import numpy as np\n";
  char *want = su_generate(raw, N_TOKENS, "--raw", NULL), *body = completion_body(raw, N_TOKENS, "");
  char *got = text_of(port, "/v1/completions", body, NULL);
  CHECK_EQ_STR(got, want);
  mr_free(got);
  mr_free(body);
  util_sb out = {0};
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "\"%s\" tokenize --tokenizer \"%s\" --json \"import numpy as np\"", getenv("MR_MILRUN"),
           th_fixture("tokenizer"));
  CHECK_EQ_INT(su_shell(cmd, &out), 0);
  cJSON *tj = cJSON_Parse(util_sb_cstr(&out)), *ids = cJSON_GetObjectItem(tj, "ids");
  util_sb_free(&out);
  cJSON_AddItemToArray(ids, cJSON_CreateNumber(198)); /* "\n" */
  char *ids_text = cJSON_PrintUnformatted(ids);
  char b2[4096];
  snprintf(b2, sizeof b2, "{\"prompt\":%s,\"max_tokens\":%d,\"temperature\":0}", ids_text, N_TOKENS);
  got = text_of(port, "/v1/completions", b2, NULL);
  CHECK_EQ_STR(got, want);
  cJSON_free(ids_text);
  cJSON_Delete(tj);
  mr_free(got);
  mr_free(want);
}

/* The whole answer and the streamed one for the same request body. */
static void compare_stream(int port, const char *path, const char *body_whole, const char *body_stream) {
  cJSON *j = NULL;
  char *whole = text_of(port, path, body_whole, &j);
  su_resp r = {0};
  su_http(port, "POST", path, body_stream, NULL, &r);
  CHECK_EQ_INT(r.status, 200);
  su_stream st;
  int n = su_parse_sse(util_sb_cstr(&r.body), &st);
  CHECK_MSG(n > 2, "malformed stream: %s", util_sb_cstr(&r.body));
  CHECK(st.done);
  CHECK(!st.error);
  if (strstr(path, "chat")) CHECK(st.role_first);
  CHECK_EQ_STR(util_sb_cstr(&st.text), whole);
  CHECK_EQ_STR(st.finish, su_finish(j));
  CHECK_MSG(st.usage, "no usage chunk");
  if (st.usage) CHECK_EQ_INT(cJSON_GetObjectItem(st.usage, "completion_tokens")->valueint, su_usage(j, "completion_tokens"));
  su_stream_free(&st);
  util_sb_free(&r.body);
  cJSON_Delete(j);
  mr_free(whole);
}

static void test_stream(void) {
  int port = shared();
  if (!port) return;
  const char *usage = ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
  char *a = chat_body("def quicksort(xs):", N_TOKENS, ""), *b = chat_body("def quicksort(xs):", N_TOKENS, usage);
  compare_stream(port, "/v1/chat/completions", a, b);
  mr_free(a);
  mr_free(b);
  a = completion_body("class Stack:\n", N_TOKENS, "");
  b = completion_body("class Stack:\n", N_TOKENS, usage);
  compare_stream(port, "/v1/completions", a, b);
  mr_free(a);
  mr_free(b);
}

static void test_curl_n(void) {
  int port = shared();
  if (!port) return;
  util_sb which = {0};
  if (su_shell("command -v curl", &which) != 0) {
    fprintf(stderr, "  skip: curl is not installed (the stream is also read through libcurl in 'stream')\n");
    util_sb_free(&which);
    return;
  }
  util_sb_free(&which);
  char *whole = text_of(port, "/v1/completions", "{\"prompt\":\"def area(r):\",\"max_tokens\":12,\"temperature\":0}", NULL);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "curl -sN --max-time 300 http://127.0.0.1:%d/v1/completions -H 'Content-Type: application/json' "
           "-d '{\"prompt\":\"def area(r):\",\"max_tokens\":12,\"temperature\":0,\"stream\":true}'", port);
  util_sb out = {0};
  CHECK_EQ_INT(su_shell(cmd, &out), 0);
  su_stream st;
  CHECK(su_parse_sse(util_sb_cstr(&out), &st) > 1);
  CHECK(st.done);
  CHECK_EQ_STR(util_sb_cstr(&st.text), whole);
  su_stream_free(&st);
  util_sb_free(&out);
  mr_free(whole);
}

static void test_stop_strings(void) {
  int port = shared();
  if (!port) return;
  char *body = completion_body("def merge(a, b):\n", 32, "");
  char *full = text_of(port, "/v1/completions", body, NULL);
  mr_free(body);
  if (!full || strlen(full) < 12) {
    CHECK_MSG(0, "too short a continuation to test stop strings: '%s'", full ? full : "");
    mr_free(full);
    return;
  }
  /* a stop string that first occurs somewhere after the start */
  char stop[8];
  size_t at = strlen(full) / 2;
  snprintf(stop, sizeof stop, "%.3s", full + at);
  size_t first = (size_t)(strstr(full, stop) - full);
  char want[512];
  snprintf(want, sizeof want, "%.*s", (int)first, full);
  char *s = su_json_string(stop), extra[256];
  snprintf(extra, sizeof extra, ",\"stop\":[\"zzzz\",%s]", s);
  body = completion_body("def merge(a, b):\n", 32, extra);
  cJSON *j;
  char *got = text_of(port, "/v1/completions", body, &j);
  CHECK_EQ_STR(got, want);
  CHECK_EQ_STR(su_finish(j), "stop");
  cJSON_Delete(j);
  mr_free(got);
  mr_free(body);
  snprintf(extra, sizeof extra, ",\"stop\":%s,\"stream\":true", s);
  body = completion_body("def merge(a, b):\n", 32, extra);
  su_resp r = {0};
  su_http(port, "POST", "/v1/completions", body, NULL, &r);
  su_stream st;
  su_parse_sse(util_sb_cstr(&r.body), &st);
  CHECK_EQ_STR(util_sb_cstr(&st.text), want);
  CHECK_EQ_STR(st.finish, "stop");
  su_stream_free(&st);
  util_sb_free(&r.body);
  mr_free(body);
  mr_free(s);
  mr_free(full);
}

/* Chosen and top log-probabilities of the first token against log-softmax of `milrun logits`. */
static void test_logprobs(void) {
  int port = shared();
  if (!port) return;
  static const int ids[] = {750, 75698, 1445, 1648};
  char cmd[2048], path[700];
  snprintf(path, sizeof path, "%s/last.f32", th_tmpdir());
  snprintf(cmd, sizeof cmd, "\"%s\" logits \"%s\" --last --out \"%s\" --ids 750,75698,1445,1648 2>&1", getenv("MR_MILRUN"),
           su_demo_model(), path);
  util_sb out = {0};
  CHECK_EQ_INT(su_shell(cmd, &out), 0);
  util_sb_free(&out);
  char *raw = NULL;
  size_t size = 0;
  mr_error err = {0};
  if (util_read_file(path, &raw, &size, &err) || size % 4) {
    CHECK_MSG(0, "no logits: %s", err.msg);
    mr_free(raw);
    return;
  }
  size_t V = size / 4;
  const float *x = (const float *)raw;
  double mx = x[0], z = 0;
  for (size_t i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
  for (size_t i = 0; i < V; i++) z += exp((double)x[i] - mx);
  double lse = mx + log(z), top[5];
  for (int k = 0; k < 5; k++) { /* the 5 largest, by repeated selection */
    double best = -1e300;
    for (size_t i = 0; i < V; i++)
      if (x[i] > best && (k == 0 || x[i] < top[k - 1] + lse)) best = x[i];
    top[k] = best - lse;
  }
  char body[512];
  snprintf(body, sizeof body, "{\"prompt\":[%d,%d,%d,%d],\"max_tokens\":1,\"temperature\":0,\"logprobs\":5}", ids[0], ids[1],
           ids[2], ids[3]);
  long st;
  cJSON *j = su_post(port, "/v1/completions", body, &st);
  CHECK_EQ_INT(st, 200);
  const cJSON *lp = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "logprobs");
  const cJSON *chosen = cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "token_logprobs"), 0);
  const cJSON *tops = cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "top_logprobs"), 0);
  CHECK(cJSON_IsNumber(chosen));
  if (chosen) CHECK_NEAR(chosen->valuedouble, top[0], 2e-3); /* greedy: the most likely token */
  CHECK_EQ_INT(cJSON_GetArraySize(tops), 5);
  int k = 0;
  const cJSON *t;
  double got[5] = {0};
  cJSON_ArrayForEach(t, tops) if (k < 5) got[k++] = t->valuedouble;
  for (int i = 0; i < 5; i++) CHECK_NEAR(got[i], top[i], 2e-3);
  cJSON_Delete(j);
  mr_free(raw);
  /* chat logprobs: one entry per generated token, with top_logprobs entries, bytes adding up to the text */
  char *cb = chat_body("def fibonacci(n):", 6, ",\"logprobs\":true,\"top_logprobs\":3");
  j = su_post(port, "/v1/chat/completions", cb, &st);
  mr_free(cb);
  const cJSON *content = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "logprobs"), "content");
  util_sb bytes = {0};
  cJSON_ArrayForEach(t, content) {
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(t, "top_logprobs")), 3);
    CHECK(cJSON_GetObjectItem(t, "logprob")->valuedouble <= 0);
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItem(t, "bytes")) util_sb_putc(&bytes, (char)b->valueint);
  }
  int n = cJSON_GetArraySize(content), done_by_stop = su_finish(j) && !strcmp(su_finish(j), "stop");
  CHECK_EQ_INT(n, su_usage(j, "completion_tokens") - done_by_stop);
  CHECK_EQ_STR(util_sb_cstr(&bytes), su_text(j));
  util_sb_free(&bytes);
  cJSON_Delete(j);
}

static void test_context_cap(void) {
  int port = shared();
  if (!port) return;
  util_sb b = {0};
  util_sb_puts(&b, "{\"prompt\":[");
  for (int i = 0; i < 253; i++) util_sb_printf(&b, i ? ",%d" : "%d", 750 + i % 7);
  util_sb_puts(&b, "],\"max_tokens\":100,\"temperature\":0,\"stop\":[]}");
  long st;
  cJSON *j = su_post(port, "/v1/completions", util_sb_cstr(&b), &st);
  CHECK_EQ_INT(st, 200);
  int n = su_usage(j, "completion_tokens");
  const char *f = su_finish(j);
  CHECK_MSG(f && (!strcmp(f, "length") ? n == 256 - 253 + 1 : n <= 4), "finish %s after %d tokens", f ? f : "?", n);
  cJSON_Delete(j);
  util_sb_free(&b);
}

static void test_tokenize(void) {
  int port = shared();
  if (!port) return;
  long st;
  cJSON *j = su_post(port, "/tokenize", "{\"content\":\"def fibonacci(n):\"}", &st), *t;
  CHECK_EQ_INT(st, 200);
  static const int want[] = {750, 75698, 1445, 1648}; /* `milrun tokenize`, see test_same_as_generate */
  CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tokens")), 4);
  int k = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "tokens")) if (k < 4) CHECK_EQ_INT(t->valueint, want[k++]);
  cJSON_Delete(j);
  j = su_post(port, "/detokenize", "{\"tokens\":[750,75698,1445,1648]}", &st);
  CHECK_EQ_INT(st, 200);
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "content")), "def fibonacci(n):");
  cJSON_Delete(j);
  j = su_post(port, "/tokenize", "{\"content\":\"def fibonacci(n):\",\"with_pieces\":true}", &st);
  util_sb joined = {0};
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "tokens")) util_sb_puts(&joined, cJSON_GetStringValue(cJSON_GetObjectItem(t, "piece")));
  CHECK_EQ_STR(util_sb_cstr(&joined), "def fibonacci(n):");
  util_sb_free(&joined);
  cJSON_Delete(j);
  j = su_post(port, "/detokenize", "{\"tokens\":[999999999]}", &st);
  CHECK_EQ_INT(st, 400);
  cJSON_Delete(j);
}

/* The value of the sample line that starts with `name` (HELP lines do not count). */
static long metric(const char *text, const char *name) {
  for (const char *p = text; (p = strstr(p, name)); p++)
    if (p == text || p[-1] == '\n') return atol(p + strlen(name));
  return -1;
}

static void test_models_health_metrics(void) {
  int port = shared();
  if (!port) return;
  su_resp r = {0};
  su_http(port, "GET", "/v1/models", NULL, NULL, &r);
  cJSON *j = cJSON_Parse(util_sb_cstr(&r.body));
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "list");
  CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "id")), "demo");
  cJSON_Delete(j);
  util_sb_free(&r.body);
  su_resp m1 = {0}, m2 = {0}, h = {0}, x = {0};
  su_http(port, "GET", "/v1/models/demo", NULL, NULL, &m1);
  su_http(port, "GET", "/v1/models/gpt-4", NULL, NULL, &m2);
  su_http(port, "GET", "/health", NULL, NULL, &h);
  CHECK_EQ_INT(m1.status, 200);
  CHECK_EQ_INT(m2.status, 404);
  CHECK_EQ_INT(h.status, 200);
  CHECK_EQ_STR(util_sb_cstr(&h.body), "{\"status\":\"ok\"}");
  su_http(port, "GET", "/metrics", NULL, NULL, &x);
  const char *t = util_sb_cstr(&x.body);
  CHECK_EQ_INT(x.status, 200);
  CHECK(metric(t, "milrun_requests_total{path=\"/v1/chat/completions\",status=\"200\"} ") >= 1);
  CHECK(metric(t, "milrun_requests_total{path=\"/health\",status=\"200\"} ") >= 1);
  CHECK(metric(t, "milrun_tokens_predicted_total ") >= 1);
  CHECK(metric(t, "milrun_slots ") == 2);
  CHECK(metric(t, "milrun_slots_busy ") == 0);
  CHECK(metric(t, "milrun_requests_queued ") == 0);
  CHECK(strstr(t, "# TYPE milrun_requests_total counter\n") && strstr(t, "# TYPE milrun_slots_busy gauge\n"));
  /* every sample line: name{labels} value */
  for (const char *line = t; *line;) {
    const char *end = strchr(line, '\n');
    if (!end) break;
    if (*line != '#') {
      char name[128];
      double v;
      CHECK_MSG(sscanf(line, "milrun_%127[a-z_]", name) == 1 && sscanf(strrchr(line, ' ') + 1, "%lf", &v) == 1, "line: %.*s",
                (int)(end - line), line);
    }
    line = end + 1;
  }
  util_sb_free(&m1.body);
  util_sb_free(&m2.body);
  util_sb_free(&h.body);
  util_sb_free(&x.body);
}

typedef struct bad_case {
  const char *method, *path, *body;
  long status;
  const char *code, *param;
} bad_case;

static void check_error_body(const char *body, const bad_case *c) {
  cJSON *j = cJSON_Parse(body), *e = cJSON_GetObjectItem(j, "error");
  CHECK_MSG(cJSON_IsObject(e), "%s %s: no error object: %s", c->method, c->path, body);
  CHECK_MSG(cJSON_IsString(cJSON_GetObjectItem(e, "message")) && cJSON_IsString(cJSON_GetObjectItem(e, "type")) &&
                cJSON_GetObjectItem(e, "param") && cJSON_GetObjectItem(e, "code"),
            "%s: fields", body);
  const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")), *param = cJSON_GetStringValue(cJSON_GetObjectItem(e, "param"));
  if (c->code) CHECK_MSG(code && !strcmp(code, c->code), "%s: code %s, expected %s", body, code ? code : "null", c->code);
  if (c->param) CHECK_MSG(param && !strcmp(param, c->param), "%s: param %s, expected %s", body, param ? param : "null", c->param);
  cJSON_Delete(j);
}

static void test_bad_input(void) {
  int port = shared();
  if (!port) return;
  util_sb long_prompt = {0};
  util_sb_puts(&long_prompt, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
  for (int i = 0; i < 300; i++) util_sb_puts(&long_prompt, "def f(x): ");
  util_sb_puts(&long_prompt, "\"}]}");
  const bad_case cases[] = {
    {"POST", "/v1/chat/completions", "{\"messages\": [", 400, NULL, NULL},
    {"POST", "/v1/chat/completions", "not json at all", 400, NULL, NULL},
    {"POST", "/v1/chat/completions", "", 400, NULL, NULL},
    {"POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", 400, "invalid_type", "temperature"},
    {"POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"5\"}", 400, "invalid_type", "max_tokens"},
    {"POST", "/v1/chat/completions", "{\"messages\":{}}", 400, "invalid_type", "messages"},
    {"POST", "/v1/chat/completions", "{\"messages\":[]}", 400, "empty_array", "messages"},
    {"POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", 400, "invalid_value", "messages[0].role"},
    {"POST", "/v1/chat/completions", util_sb_cstr(&long_prompt), 400, "context_length_exceeded", "messages"},
    {"POST", "/v1/completions", "{\"prompt\":\"\"}", 400, "invalid_value", "prompt"},
    {"POST", "/v1/completions", "{\"prompt\":[151935999]}", 400, "invalid_value", "prompt"},
    {"POST", "/v1/completions", "{\"prompt\":\"x\",\"n\":3}", 400, "unsupported_value", "n"},
    {"GET", "/v1/chat/completions", NULL, 405, "method_not_allowed", NULL},
    {"GET", "/v1/nothing", NULL, 404, "unknown_url", NULL},
    {"POST", "/tokenize", "{\"content\":5}", 400, "invalid_type", "content"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    su_resp r = {0};
    su_http(port, cases[i].method, cases[i].path, cases[i].body, NULL, &r);
    CHECK_MSG(r.status == cases[i].status, "case %zu (%s %s): status %ld, expected %ld: %s", i, cases[i].method, cases[i].path,
              r.status, cases[i].status, util_sb_cstr(&r.body));
    check_error_body(util_sb_cstr(&r.body), &cases[i]);
    util_sb_free(&r.body);
  }
  util_sb_free(&long_prompt);
  /* a body over --max-body (256 KiB): 413 before it is read */
  size_t big = 1u << 20;
  char *huge = mr_alloc(big + 1);
  memset(huge, 'x', big);
  memcpy(huge, "{\"prompt\":\"", 11);
  huge[big] = 0;
  su_resp r = {0};
  su_http(port, "POST", "/v1/completions", huge, NULL, &r);
  CHECK_EQ_INT(r.status, 413);
  bad_case c413 = {"POST", "/v1/completions", NULL, 413, "request_too_large", NULL};
  check_error_body(util_sb_cstr(&r.body), &c413);
  util_sb_free(&r.body);
  mr_free(huge);
  /* still serving */
  char *ok = text_of(port, "/v1/completions", "{\"prompt\":\"def f(x):\",\"max_tokens\":4,\"temperature\":0}", NULL);
  CHECK(ok != NULL);
  mr_free(ok);
  char *log = su_read_log(&g_srv);
  CHECK_MSG(log && strstr(log, "POST /v1/chat/completions 400 ") && strstr(log, "POST /v1/completions 413 "), "log: %s", log ? log : "");
  mr_free(log);
}

static void test_auth(void) {
  su_server s;
  if (su_start(&s, "", "MILRUN_API_KEY=env-secret-key")) return;
  const struct {
    const char *method, *path, *key;
    long status;
  } cases[] = {{"GET", "/v1/models", NULL, 401},          {"GET", "/v1/models", "wrong", 401},
               {"GET", "/v1/models", "env-secret-ke", 401}, {"GET", "/v1/models", "env-secret-key!", 401},
               {"GET", "/v1/models", "env-secret-key", 200}, {"GET", "/metrics", NULL, 401},
               {"GET", "/health", NULL, 200},             {"POST", "/v1/completions", NULL, 401}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    su_resp r = {0};
    su_http(s.port, cases[i].method, cases[i].path, cases[i].method[0] == 'P' ? "{\"prompt\":\"x\",\"max_tokens\":1}" : NULL,
            cases[i].key, &r);
    CHECK_MSG(r.status == cases[i].status, "%s %s key %s: %ld", cases[i].method, cases[i].path, cases[i].key ? cases[i].key : "-",
              r.status);
    if (cases[i].status == 401) {
      bad_case c = {cases[i].method, cases[i].path, NULL, 401, "invalid_api_key", NULL};
      check_error_body(util_sb_cstr(&r.body), &c);
    }
    util_sb_free(&r.body);
  }
  CHECK_EQ_INT(su_stop(&s, SIGTERM, 60, NULL), 0);
  if (su_start(&s, "--api-key flag-key", NULL)) return;
  su_resp r = {0};
  su_http(s.port, "POST", "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", "flag-key", &r);
  CHECK_EQ_INT(r.status, 200);
  util_sb_free(&r.body);
  CHECK_EQ_INT(su_stop(&s, SIGTERM, 60, NULL), 0);
}

/* Headers dribbled one line every 300 ms: 408 after --timeout-header (2 s), others served meanwhile;
 * a connection that sends nothing is closed after --timeout-idle (3 s). */
static void test_slow_clients(void) {
  int port = shared();
  if (!port) return;
  int fd = su_connect(port), idle = su_connect(port);
  CHECK(fd >= 0 && idle >= 0);
  const char *start = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  double t0 = su_now();
  CHECK(send(fd, start, strlen(start), MSG_NOSIGNAL) > 0);
  util_sb got = {0};
  int served = 0, closed = 0;
  while (su_now() - t0 < 8 && !closed) {
    su_sleep_ms(300);
    if (send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0) closed = 1;
    if (!served && su_now() - t0 > 0.8) { /* the server answers others while this one dribbles */
      su_resp r = {0};
      su_http(port, "GET", "/health", NULL, NULL, &r);
      served = r.status == 200;
      util_sb_free(&r.body);
    }
    char buf[1024];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) util_sb_append(&got, buf, (size_t)n);
    if (n == 0) closed = 1;
  }
  double secs = su_now() - t0;
  CHECK(served);
  CHECK_MSG(closed && secs >= 1.8 && secs < 6, "closed %d after %.1f s", closed, secs);
  CHECK_MSG(!strncmp(util_sb_cstr(&got), "HTTP/1.1 408", 12) && strstr(util_sb_cstr(&got), "request_timeout"), "got: %s",
            util_sb_cstr(&got));
  util_sb_free(&got);
  close(fd);
  util_sb idle_out = {0};
  long n = su_read_all(idle, &idle_out, 8);
  CHECK_MSG(n == 0, "idle connection: %ld bytes, %s", n, n < 0 ? "still open" : "");
  CHECK(su_now() - t0 < 7);
  util_sb_free(&idle_out);
  close(idle);
}

typedef struct bg_request {
  int port;
  const char *path, *body;
  su_resp r;
} bg_request;

static void *bg_main(void *arg) {
  bg_request *b = arg;
  su_http(b->port, "POST", b->path, b->body, NULL, &b->r);
  return NULL;
}

/* SIGTERM while a stream runs (about 1.5 s of tokens): it finishes within the deadline, the server
 * exits 0; with no deadline a long generation is cancelled (503), still exit 0. */
static void test_graceful_stop(void) {
  int port = shared();
  if (!port) return;
  char body[256];
  int n = su_tokens_for(1500, su_ms_per_token(port), 12, 240);
  snprintf(body, sizeof body, "{\"prompt\":\"def f(x):\",\"max_tokens\":%d,\"temperature\":0,\"stream\":true,\"ignore_eos\":true}", n);
  bg_request b = {port, "/v1/completions", body, {0}};
  pthread_t t;
  pthread_create(&t, NULL, bg_main, &b);
  su_sleep_ms(300);
  double secs;
  int rc = su_stop(&g_srv, SIGTERM, 120, &secs);
  pthread_join(t, NULL);
  CHECK_EQ_INT(rc, 0);
  su_stream st;
  su_parse_sse(util_sb_cstr(&b.r.body), &st);
  CHECK_MSG(st.done && !strcmp(st.finish, "length"), "stream: %s", util_sb_cstr(&b.r.body));
  su_stream_free(&st);
  util_sb_free(&b.r.body);
  CHECK(su_connect(port) < 0); /* nothing listens any more */
  su_server s;
  if (su_start(&s, "--shutdown-timeout 0", NULL)) return;
  n = su_tokens_for(3000, su_ms_per_token(s.port), 12, 240);
  snprintf(body, sizeof body, "{\"prompt\":\"def f(x):\",\"max_tokens\":%d,\"temperature\":0,\"ignore_eos\":true}", n);
  bg_request l = {s.port, "/v1/completions", body, {0}};
  pthread_create(&t, NULL, bg_main, &l);
  su_sleep_ms(300);
  rc = su_stop(&s, SIGINT, 120, &secs);
  pthread_join(t, NULL);
  CHECK_EQ_INT(rc, 0);
  CHECK_MSG(l.r.status == 503 && strstr(util_sb_cstr(&l.r.body), "shutting down"), "status %ld: %s", l.r.status,
            util_sb_cstr(&l.r.body));
  util_sb_free(&l.r.body);
}

int main(int argc, char **argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  static const th_case cases[] = {{"same_as_generate", test_same_as_generate},
                                  {"stream", test_stream},
                                  {"curl_n", test_curl_n},
                                  {"stop_strings", test_stop_strings},
                                  {"logprobs", test_logprobs},
                                  {"context_cap", test_context_cap},
                                  {"tokenize", test_tokenize},
                                  {"models_health_metrics", test_models_health_metrics},
                                  {"bad_input", test_bad_input},
                                  {"auth", test_auth},
                                  {"slow_clients", test_slow_clients},
                                  {"graceful_stop", test_graceful_stop},
                                  {NULL, NULL}};
  int rc = th_run(cases, argc, argv);
  curl_global_cleanup();
  return rc;
}
