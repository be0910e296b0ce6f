/* request.c — see request.h. Messages follow OpenAI's wording ("Invalid type for 'temperature':
 * expected a number, but got a string instead.") so that clients show what they would show for
 * OpenAI itself. */
#include "serve/request.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/alloc.h"
#include "util/strbuf.h"
#include "util/utf8.h"

#define BAD "invalid_request_error"

int srv_fail(srv_error *e, int status, const char *type, const char *code, const char *param, const char *fmt, ...) {
  e->status = status;
  e->type = type;
  e->code = code;
  snprintf(e->param, sizeof e->param, "%s", param ? param : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  return -1;
}

static const char *kind_of(const cJSON *x) {
  return cJSON_IsString(x) ? "a string" : cJSON_IsBool(x) ? "a boolean" : cJSON_IsArray(x) ? "an array"
         : cJSON_IsObject(x) ? "an object" : cJSON_IsNull(x) ? "null"
         : cJSON_IsNumber(x) && x->valuedouble != floor(x->valuedouble) ? "a decimal number" : "a number";
}

static int wrong_type(srv_error *e, const char *param, const cJSON *x, const char *expected) {
  return srv_fail(e, 400, BAD, "invalid_type", param, "Invalid type for '%s': expected %s, but got %s instead.", param,
                  expected, kind_of(x));
}

static int missing(srv_error *e, const char *param) {
  return srv_fail(e, 400, BAD, "missing_required_parameter", param, "Missing required parameter: '%s'.", param);
}

static int out_of_range(srv_error *e, const char *param, double v, double lo, double hi, int integer) {
  int above = v > hi;
  static const char *const codes[2][2] = {{"decimal_below_min_value", "decimal_above_max_value"},
                                          {"integer_below_min_value", "integer_above_max_value"}};
  return srv_fail(e, 400, BAD, codes[integer][above], param,
                  "Invalid '%s': %s. Expected a value %s %g, but got %g instead.", param,
                  above ? "value above maximum" : "value below minimum", above ? "<=" : ">=", above ? hi : lo, v);
}

static cJSON *parse_object(const char *body, size_t len, srv_error *e) {
  cJSON *root = cJSON_ParseWithLength(body, len);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    srv_fail(e, 400, BAD, NULL, NULL,
             len ? "We could not parse the JSON body of your request: expected a JSON object."
                 : "The request has no body: expected a JSON object.");
    return NULL;
  }
  return root;
}

/* A field that is absent or null counts as not given. */
static const cJSON *field(const cJSON *o, const char *name) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsNull(x) ? NULL : x;
}

static int get_float(const cJSON *o, const char *name, double lo, double hi, float *out, srv_error *e) {
  const cJSON *x = field(o, name);
  if (!x) return 0;
  if (!cJSON_IsNumber(x)) return wrong_type(e, name, x, "a number");
  if (!(x->valuedouble >= lo && x->valuedouble <= hi)) return out_of_range(e, name, x->valuedouble, lo, hi, 0);
  *out = (float)x->valuedouble;
  return 0;
}

/* *out is left alone when the field is not given; *given (may be NULL) says whether it was. */
static int get_int(const cJSON *o, const char *name, double lo, double hi, long long *out, int *given, srv_error *e) {
  const cJSON *x = field(o, name);
  if (given) *given = x != NULL;
  if (!x) return 0;
  if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble)) return wrong_type(e, name, x, "an integer");
  if (!(x->valuedouble >= lo && x->valuedouble <= hi)) return out_of_range(e, name, x->valuedouble, lo, hi, 1);
  *out = (long long)x->valuedouble;
  return 0;
}

static int get_bool(const cJSON *o, const char *name, int *out, srv_error *e) {
  const cJSON *x = field(o, name);
  if (!x) return 0;
  if (!cJSON_IsBool(x)) return wrong_type(e, name, x, "a boolean");
  *out = cJSON_IsTrue(x);
  return 0;
}

/* A copy of a JSON string, checked to be UTF-8 (cJSON passes raw bytes through). */
static int copy_text(const char *s, const char *param, char **out, srv_error *e) {
  long bad = util_utf8_invalid(s, strlen(s));
  if (bad >= 0) return srv_fail(e, 400, BAD, "invalid_value", param, "Invalid '%s': not valid UTF-8 (byte %ld).", param, bad);
  if (!(*out = util_strdup(s))) return srv_fail(e, 500, "server_error", NULL, NULL, "out of memory");
  return 0;
}

/* ---- sampling and output options, common to both endpoints -------------------------------------- */

static int read_sampling(const cJSON *o, srv_params *p, srv_error *e) {
  mr_sampling *s = &p->sampling;
  mr_sampling_defaults(s);
  long long top_k = s->top_k, last_n = s->repeat_last_n, seed = 0;
  if (get_float(o, "temperature", 0, 2, &s->temperature, e) || get_float(o, "top_p", 0, 1, &s->top_p, e) ||
      get_float(o, "min_p", 0, 1, &s->min_p, e) || get_float(o, "presence_penalty", -2, 2, &s->presence_penalty, e) ||
      get_float(o, "frequency_penalty", -2, 2, &s->frequency_penalty, e) ||
      get_float(o, "repeat_penalty", 1e-3, 100, &s->repeat_penalty, e) || get_int(o, "top_k", 0, 1e9, &top_k, NULL, e) ||
      get_int(o, "repeat_last_n", 0, 1e9, &last_n, NULL, e) ||
      get_int(o, "seed", -9.2e18, 9.2e18, &seed, &p->has_seed, e))
    return -1;
  if (s->top_p == 0) { /* OpenAI allows 0: only the most likely token */
    s->top_p = 1;
    s->temperature = 0;
  }
  s->top_k = (int)top_k;
  s->repeat_last_n = (int)last_n;
  s->seed = (uint64_t)seed;
  return 0;
}

static int read_stop(const cJSON *o, srv_params *p, srv_error *e) {
  const cJSON *x = field(o, "stop"), *s;
  if (!x) return 0;
  if (cJSON_IsString(x)) return x->valuestring[0] ? copy_text(x->valuestring, "stop", &p->stop[p->n_stop++], e) : 0;
  if (!cJSON_IsArray(x)) return wrong_type(e, "stop", x, "a string or an array of strings");
  if (cJSON_GetArraySize(x) > SRV_MAX_STOP)
    return srv_fail(e, 400, BAD, "array_above_max_length", "stop", "Invalid 'stop': array too long. Expected an array with maximum length %d, but got an array with length %d instead.",
                    SRV_MAX_STOP, cJSON_GetArraySize(x));
  cJSON_ArrayForEach(s, x) {
    if (!cJSON_IsString(s)) return wrong_type(e, "stop", s, "a string or an array of strings");
    if (s->valuestring[0] && copy_text(s->valuestring, "stop", &p->stop[p->n_stop++], e)) return -1;
  }
  return 0;
}

static int read_output(int kind, const cJSON *o, srv_params *p, srv_error *e) {
  long long max = 0, n = 1, top = 0;
  int given = 0, lp = 0, top_given = 0;
  const cJSON *so = field(o, "stream_options");
  if (get_bool(o, "stream", &p->stream, e) || get_bool(o, "ignore_eos", &p->ignore_eos, e) ||
      get_int(o, "n", 1, 128, &n, NULL, e) ||
      get_int(o, "max_tokens", 1, 1e9, &max, NULL, e) ||
      (kind == SRV_CHAT && get_int(o, "max_completion_tokens", 1, 1e9, &max, &given, e)))
    return -1;
  if (n != 1) return srv_fail(e, 400, BAD, "unsupported_value", "n", "Invalid 'n': only n = 1 is supported.");
  p->max_tokens = (int)max;
  if (so && !cJSON_IsObject(so)) return wrong_type(e, "stream_options", so, "an object");
  if (so && get_bool(so, "include_usage", &p->include_usage, e)) return -1;
  p->logprobs = -1;
  if (kind == SRV_CHAT) {
    if (get_bool(o, "logprobs", &lp, e) || get_int(o, "top_logprobs", 0, SRV_MAX_TOP_LOGPROBS, &top, &top_given, e)) return -1;
    if (top_given && !lp)
      return srv_fail(e, 400, BAD, "invalid_value", "top_logprobs", "Invalid 'top_logprobs': 'logprobs' must be true when 'top_logprobs' is given.");
    p->logprobs = lp ? (int)top : -1;
  } else {
    if (get_int(o, "logprobs", 0, 5, &top, &given, e)) return -1;
    p->logprobs = given ? (int)top : -1;
  }
  const cJSON *echo = field(o, "echo"), *suffix = field(o, "suffix");
  if (kind == SRV_COMPLETION && cJSON_IsTrue(echo))
    return srv_fail(e, 400, BAD, "unsupported_value", "echo", "Invalid 'echo': echo is not supported.");
  if (kind == SRV_COMPLETION && suffix)
    return srv_fail(e, 400, BAD, "unsupported_value", "suffix", "Invalid 'suffix': suffix is not supported.");
  return 0;
}

/* ---- chat messages ------------------------------------------------------------------------------- */

/* A message's content: a string, or text parts joined by newlines (null for an assistant turn). */
static int read_content(const cJSON *c, const char *role, size_t i, char **out, srv_error *e) {
  char param[96];
  snprintf(param, sizeof param, "messages[%zu].content", i);
  if (cJSON_IsString(c)) return copy_text(c->valuestring, param, out, e);
  if ((!c || cJSON_IsNull(c)) && !strcmp(role, "assistant")) return copy_text("", param, out, e);
  if (!c) return missing(e, param);
  if (!cJSON_IsArray(c)) return wrong_type(e, param, c, "a string or an array of content parts");
  util_sb sb = {0};
  const cJSON *part;
  size_t j = 0;
  cJSON_ArrayForEach(part, c) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type"), *text = cJSON_GetObjectItemCaseSensitive(part, "text");
    snprintf(param, sizeof param, "messages[%zu].content[%zu]", i, j++);
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text)) {
      util_sb_free(&sb);
      return srv_fail(e, 400, BAD, "unsupported_value", param,
                      "Invalid '%s': only text parts ({\"type\": \"text\", \"text\": ...}) are supported.", param);
    }
    if (sb.len) util_sb_putc(&sb, '\n');
    util_sb_puts(&sb, text->valuestring);
  }
  int rc = copy_text(util_sb_cstr(&sb), param, out, e);
  util_sb_free(&sb);
  return rc;
}

static int read_messages(const cJSON *o, srv_params *p, srv_error *e) {
  static const char *const roles[] = {"system", "developer", "user", "assistant"};
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "messages"), *m;
  if (!ms) return missing(e, "messages");
  if (!cJSON_IsArray(ms)) return wrong_type(e, "messages", ms, "an array");
  size_t n = (size_t)cJSON_GetArraySize(ms);
  if (!n)
    return srv_fail(e, 400, BAD, "empty_array", "messages",
                    "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.");
  if (!(p->msgs = util_calloc(n, sizeof *p->msgs))) return srv_fail(e, 500, "server_error", NULL, NULL, "out of memory");
  cJSON_ArrayForEach(m, ms) {
    size_t i = p->n_msgs;
    char param[64];
    snprintf(param, sizeof param, "messages[%zu]", i);
    if (!cJSON_IsObject(m)) return wrong_type(e, param, m, "an object");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    snprintf(param, sizeof param, "messages[%zu].role", i);
    if (!role) return missing(e, param);
    if (!cJSON_IsString(role)) return wrong_type(e, param, role, "a string");
    size_t r = 0;
    while (r < 4 && strcmp(role->valuestring, roles[r])) r++;
    if (r == 4)
      return srv_fail(e, 400, BAD, "invalid_value", param,
                      "Invalid value for '%s': '%.64s'. Supported values are: 'system', 'developer', 'user', and 'assistant'.",
                      param, role->valuestring);
    p->msgs[i].role = roles[r == 1 ? 0 : r]; /* OpenAI's "developer" is the system prompt */
    char *content = NULL;
    if (read_content(cJSON_GetObjectItemCaseSensitive(m, "content"), roles[r], i, &content, e)) return -1;
    p->msgs[i].content = content;
    p->n_msgs++;
  }
  const cJSON *kw = field(o, "chat_template_kwargs");
  p->think = -1;
  if (kw && !cJSON_IsObject(kw)) return wrong_type(e, "chat_template_kwargs", kw, "an object");
  if (kw && get_bool(kw, "enable_thinking", &p->think, e)) return -1;
  const cJSON *tools = field(o, "tools");
  if (cJSON_GetArraySize(tools) > 0)
    return srv_fail(e, 400, BAD, "unsupported_value", "tools", "Invalid 'tools': tool calls are not supported.");
  return 0;
}

/* ---- completion prompts ------------------------------------------------------------------------------ */

static int read_ids(const cJSON *a, const char *param, int32_t **ids, size_t *n, srv_error *e) {
  size_t k = (size_t)cJSON_GetArraySize(a);
  if (k && !(*ids = mr_alloc(k * sizeof **ids))) return srv_fail(e, 500, "server_error", NULL, NULL, "out of memory");
  const cJSON *x;
  cJSON_ArrayForEach(x, a) {
    if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || x->valuedouble < 0 || x->valuedouble > INT32_MAX)
      return srv_fail(e, 400, BAD, "invalid_type", param, "Invalid '%s': token ids must be integers from 0.", param);
    (*ids)[(*n)++] = (int32_t)x->valuedouble;
  }
  return 0;
}

/* A string, [string], an array of token ids, or [[ids]]: one prompt. */
static int read_prompt(const cJSON *o, srv_params *p, srv_error *e) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "prompt");
  if (!x) return missing(e, "prompt");
  if (cJSON_IsArray(x) && cJSON_GetArraySize(x) == 1 && !cJSON_IsNumber(x->child)) x = x->child;
  if (cJSON_IsString(x)) return copy_text(x->valuestring, "prompt", &p->prompt, e);
  if (cJSON_IsArray(x) && (!x->child || cJSON_IsNumber(x->child))) return read_ids(x, "prompt", &p->ids, &p->n_ids, e);
  if (cJSON_IsArray(x))
    return srv_fail(e, 400, BAD, "unsupported_value", "prompt", "Invalid 'prompt': only one prompt per request is supported.");
  return wrong_type(e, "prompt", x, "a string or an array of token ids");
}

int srv_parse_generation(int kind, const char *body, size_t len, srv_params *p, srv_error *e) {
  memset(p, 0, sizeof *p);
  p->kind = kind;
  cJSON *root = parse_object(body, len, e);
  if (!root) return -1;
  const cJSON *model = field(root, "model");
  int rc = model && !cJSON_IsString(model) ? wrong_type(e, "model", model, "a string") : 0;
  if (!rc) rc = kind == SRV_CHAT ? read_messages(root, p, e) : read_prompt(root, p, e);
  if (!rc) rc = read_sampling(root, p, e);
  if (!rc) rc = read_stop(root, p, e);
  if (!rc) rc = read_output(kind, root, p, e);
  cJSON_Delete(root);
  if (rc) srv_params_free(p);
  return rc;
}

void srv_params_free(srv_params *p) {
  for (size_t i = 0; i < p->n_msgs; i++) mr_free((char *)p->msgs[i].content);
  mr_free(p->msgs);
  mr_free(p->prompt);
  mr_free(p->ids);
  for (int i = 0; i < p->n_stop; i++) mr_free(p->stop[i]);
  memset(p, 0, sizeof *p);
}

/* ---- /tokenize and /detokenize ----------------------------------------------------------------------- */

int srv_parse_tokenize(const char *body, size_t len, char **content, int *with_pieces, srv_error *e) {
  *content = NULL;
  *with_pieces = 0;
  cJSON *root = parse_object(body, len, e);
  if (!root) return -1;
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "content");
  int rc = !c ? missing(e, "content")
           : !cJSON_IsString(c) ? wrong_type(e, "content", c, "a string")
                                : get_bool(root, "with_pieces", with_pieces, e);
  if (!rc) rc = copy_text(c->valuestring, "content", content, e);
  cJSON_Delete(root);
  return rc;
}

int srv_parse_detokenize(const char *body, size_t len, int32_t **ids, size_t *n, srv_error *e) {
  *ids = NULL;
  *n = 0;
  cJSON *root = parse_object(body, len, e);
  if (!root) return -1;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "tokens");
  int rc = !t ? missing(e, "tokens")
           : !cJSON_IsArray(t) ? wrong_type(e, "tokens", t, "an array of integers")
                               : read_ids(t, "tokens", ids, n, e);
  cJSON_Delete(root);
  if (rc) {
    mr_free(*ids);
    *ids = NULL;
    *n = 0;
  }
  return rc;
}
