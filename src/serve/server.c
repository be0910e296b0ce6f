/* server.c — the server's life (model, slots, HTTP, the graceful stop), the routes, the API key and
 * the small endpoints (/v1/models, /health, /metrics, /tokenize, /detokenize). Every answer goes
 * through srv_respond_* or a stream's end, which write the request's one log line. */
#include "serve/server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "serve/reply.h"
#include "util/alloc.h"
#include "util/error.h"

#define BAD "invalid_request_error"

double srv_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void serve_options_defaults(serve_options *o) {
  *o = (serve_options){.host = "127.0.0.1", .port = 8080, .parallel = 1, .queue = 64, .max_body = 4u << 20,
                       .header_timeout_s = 10, .idle_timeout_s = 60, .shutdown_timeout_s = 10};
}

/* ---- answers and the log ------------------------------------------------------------------------- */

void srv_call_end(srv_call *c) {
  if (c->route) srv_metrics_request(&c->s->metrics, c->route, c->status);
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fprintf(stderr, "%s %s %s %s %d prompt=%lld completion=%lld %.1fms%s%s%s%s\n", when, c->client, c->method, c->path,
          c->status, c->prompt_tokens, c->completion_tokens, srv_now_ms() - c->t0, c->note ? " " : "",
          c->note ? c->note : "", c->detail[0] ? " " : "", c->detail);
}

void srv_respond_json(srv_call *c, http_exchange *x, int status, util_sb *body) {
  c->status = util_sb_failed(body) ? 500 : status;
  const char *b = util_sb_failed(body) ? "{\"error\": {\"message\": \"out of memory\", \"type\": \"server_error\"}}"
                                       : util_sb_cstr(body);
  http_respond(x, c->status, "application/json", b, strlen(b));
  srv_call_end(c);
}

void srv_respond_error(srv_call *c, http_exchange *x, const srv_error *e) {
  util_sb out = {0};
  srv_error_json(e, &out);
  if (c->s->o.verbose) c->note = e->message;
  srv_respond_json(c, x, e->status, &out);
  util_sb_free(&out);
}

static void respond_fail(srv_call *c, http_exchange *x, int status, const char *type, const char *code, const char *msg) {
  srv_error e;
  srv_fail(&e, status, type, code, NULL, "%s", msg);
  srv_respond_error(c, x, &e);
}

int srv_encode(srv *s, const char *text, int32_t **ids, size_t *n, srv_error *e) {
  mr_error err = {0};
  pthread_mutex_lock(&s->tok_mu);
  int rc = mr_tokenizer_encode(s->tok, text, strlen(text), MR_TOK_PARSE_SPECIAL, ids, n, &err);
  pthread_mutex_unlock(&s->tok_mu);
  return rc ? srv_fail(e, 500, "server_error", NULL, NULL, "%s", err.msg) : 0;
}

/* ---- the small endpoints --------------------------------------------------------------------------- */

static cJSON *model_object(srv *s) {
  cJSON *m = cJSON_CreateObject(), *meta;
  cJSON_AddStringToObject(m, "id", s->model_id);
  cJSON_AddStringToObject(m, "object", "model");
  cJSON_AddNumberToObject(m, "created", (double)s->started);
  cJSON_AddStringToObject(m, "owned_by", "milrun");
  meta = cJSON_AddObjectToObject(m, "meta");
  cJSON_AddNumberToObject(meta, "n_ctx_slot", srv_slots_context(s->slots));
  cJSON_AddNumberToObject(meta, "n_ctx_train", mr_model_context(s->model));
  cJSON_AddNumberToObject(meta, "n_vocab", (double)mr_model_vocab(s->model));
  cJSON_AddNumberToObject(meta, "slots", s->o.parallel);
  return m;
}

static void respond_cjson(srv_call *c, http_exchange *x, cJSON *o) {
  util_sb out = {0};
  char *text = cJSON_PrintUnformatted(o);
  if (text) util_sb_puts(&out, text);
  else out.failed = 1;
  cJSON_free(text);
  cJSON_Delete(o);
  srv_respond_json(c, x, 200, &out);
  util_sb_free(&out);
}

static void models(srv_call *c, http_exchange *x, const char *id) {
  srv *s = c->s;
  if (id && strcmp(id, s->model_id)) {
    srv_error e;
    srv_fail(&e, 404, BAD, "model_not_found", "model", "The model '%.200s' does not exist; this server has '%.200s'.", id, s->model_id);
    srv_respond_error(c, x, &e);
    return;
  }
  if (id) {
    respond_cjson(c, x, model_object(s));
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "object", "list");
  cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "data"), model_object(s));
  respond_cjson(c, x, o);
}

static void health(srv_call *c, http_exchange *x) {
  int stopping = atomic_load(&c->s->draining);
  const char *body = stopping ? "{\"status\":\"shutting down\"}" : "{\"status\":\"ok\"}";
  c->status = stopping ? 503 : 200;
  http_respond(x, c->status, "application/json", body, strlen(body));
  srv_call_end(c);
}

static void metrics(srv_call *c, http_exchange *x) {
  srv *s = c->s;
  srv_gauges g;
  srv_slots_counts(s->slots, &g.slots, &g.busy, &g.queued);
  g.connections = http_server_connections(s->http);
  util_sb out = {0};
  srv_metrics_request(&s->metrics, c->route, 200); /* this request counts itself */
  srv_metrics_text(&s->metrics, &g, &out);
  c->status = util_sb_failed(&out) ? 500 : 200;
  http_respond(x, c->status, "text/plain; version=0.0.4", util_sb_cstr(&out), out.len);
  util_sb_free(&out);
  c->route = NULL;
  srv_call_end(c);
}

static void tokenize(srv_call *c, http_exchange *x, const http_request *r) {
  srv *s = c->s;
  srv_error e;
  char *content;
  int pieces;
  if (srv_parse_tokenize(r->body, r->body_len, &content, &pieces, &e)) {
    srv_respond_error(c, x, &e);
    return;
  }
  int32_t *ids = NULL;
  size_t n = 0;
  int rc = srv_encode(s, content, &ids, &n, &e);
  mr_free(content);
  if (rc) {
    srv_respond_error(c, x, &e);
    return;
  }
  mr_error err = {0};
  cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "tokens");
  for (size_t i = 0; i < n; i++) {
    if (!pieces) {
      cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
      continue;
    }
    cJSON *t = cJSON_CreateObject();
    char *text = NULL;
    size_t len;
    cJSON_AddNumberToObject(t, "id", ids[i]);
    if (!mr_tokenizer_decode(s->tok, &ids[i], 1, 0, &text, &len, &err)) cJSON_AddStringToObject(t, "piece", text);
    mr_free(text);
    cJSON_AddItemToArray(a, t);
  }
  mr_free(ids);
  c->prompt_tokens = (long long)n;
  respond_cjson(c, x, o);
}

static void detokenize(srv_call *c, http_exchange *x, const http_request *r) {
  srv *s = c->s;
  srv_error e;
  int32_t *ids;
  size_t n;
  if (srv_parse_detokenize(r->body, r->body_len, &ids, &n, &e)) {
    srv_respond_error(c, x, &e);
    return;
  }
  char *text = NULL;
  size_t len = 0;
  mr_error err = {0};
  if (mr_tokenizer_decode(s->tok, ids, n, 0, &text, &len, &err)) {
    mr_free(ids);
    srv_fail(&e, 400, BAD, "invalid_value", "tokens", "Invalid 'tokens': %s", err.msg);
    srv_respond_error(c, x, &e);
    return;
  }
  mr_free(ids);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "content", text ? text : "");
  mr_free(text);
  respond_cjson(c, x, o);
}

/* ---- routing ------------------------------------------------------------------------------------------ */

enum { R_CHAT, R_COMPLETIONS, R_MODELS, R_MODEL, R_HEALTH, R_METRICS, R_TOKENIZE, R_DETOKENIZE, R_NONE };
static const struct {
  const char *path, *method;
  int prefix;
} routes[] = {{"/v1/chat/completions", "POST", 0}, {"/v1/completions", "POST", 0}, {"/v1/models", "GET", 0},
              {"/v1/models/", "GET", 1},           {"/health", "GET", 0},         {"/metrics", "GET", 0},
              {"/tokenize", "POST", 0},            {"/detokenize", "POST", 0}};

static int find_route(const char *path) {
  for (int i = 0; i < R_NONE; i++)
    if (routes[i].prefix ? !strncmp(path, routes[i].path, strlen(routes[i].path)) : !strcmp(path, routes[i].path)) return i;
  /* llama-server and some clients leave out the /v1 */
  if (!strcmp(path, "/chat/completions")) return R_CHAT;
  if (!strcmp(path, "/completions")) return R_COMPLETIONS;
  if (!strcmp(path, "/models")) return R_MODELS;
  return R_NONE;
}

/* "Authorization: Bearer KEY", compared in time that depends only on the key's length. */
static int authorized(const char *key, const char *header) {
  if (!header || strncasecmp(header, "Bearer ", 7)) return 0;
  const char *given = header + 7;
  while (*given == ' ') given++;
  size_t n = strlen(key), m = strlen(given);
  unsigned d = n != m;
  for (size_t i = 0; i < n; i++) d |= (unsigned char)key[i] ^ (unsigned char)(i < m ? given[i] : 0);
  return d == 0;
}

static void route(void *ud, http_exchange *x, const http_request *r) {
  srv *s = ud;
  srv_call c = {.s = s, .route = "other", .t0 = srv_now_ms()};
  snprintf(c.method, sizeof c.method, "%s", r->method);
  snprintf(c.path, sizeof c.path, "%s", r->path);
  for (char *p = c.path; *p; p++) /* the path comes unescaped: keep the log one line per request */
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  snprintf(c.client, sizeof c.client, "%s", http_client(x)[0] ? http_client(x) : "-");
  http_add_header(x, "Access-Control-Allow-Origin", "*");
  if (!strcmp(r->method, "OPTIONS")) { /* a browser's CORS preflight: no key needed */
    http_add_header(x, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    http_add_header(x, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    c.status = 204;
    http_respond(x, 204, "text/plain", "", 0);
    srv_call_end(&c);
    return;
  }
  int k = find_route(r->path);
  if (k != R_NONE) c.route = routes[k].path;
  if (k == R_MODEL) c.route = "/v1/models/{id}";
  if (k != R_HEALTH && s->o.api_key && !authorized(s->o.api_key, http_header(x, "Authorization"))) {
    http_add_header(x, "WWW-Authenticate", "Bearer");
    respond_fail(&c, x, 401, BAD, "invalid_api_key",
                 http_header(x, "Authorization") ? "Incorrect API key provided."
                                                 : "You didn't provide an API key: send it as 'Authorization: Bearer KEY'.");
    return;
  }
  if (k == R_NONE) {
    char msg[300];
    snprintf(msg, sizeof msg, "Unknown request URL: %.16s %.200s. Please check the URL for typos.", r->method, r->path);
    respond_fail(&c, x, 404, BAD, "unknown_url", msg);
    return;
  }
  if (strcmp(r->method, routes[k].method) && !(k == R_HEALTH && !strcmp(r->method, "HEAD"))) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s is not allowed on %s: use %s.", r->method, routes[k].path, routes[k].method);
    http_add_header(x, "Allow", routes[k].method);
    respond_fail(&c, x, 405, BAD, "method_not_allowed", msg);
    return;
  }
  if (r->body_too_large) {
    char msg[160];
    snprintf(msg, sizeof msg, "The request body is larger than this server's limit of %zu bytes.", s->o.max_body);
    respond_fail(&c, x, 413, BAD, "request_too_large", msg);
    return;
  }
  switch (k) {
  case R_CHAT: srv_complete(&c, x, r, SRV_CHAT); break;
  case R_COMPLETIONS: srv_complete(&c, x, r, SRV_COMPLETION); break;
  case R_MODELS: models(&c, x, NULL); break;
  case R_MODEL: models(&c, x, r->path + strlen(routes[R_MODEL].path)); break;
  case R_HEALTH: health(&c, x); break;
  case R_METRICS: metrics(&c, x); break;
  case R_TOKENIZE: tokenize(&c, x, r); break;
  default: detokenize(&c, x, r); break;
  }
}

/* ---- life ------------------------------------------------------------------------------------------------ */

static void http_log(void *ud, const char *line) {
  srv *s = ud;
  if (s->o.verbose || strstr(line, "408")) fprintf(stderr, "milrun serve: %s\n", line);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int busy_slots(srv *s) {
  int slots, busy, queued;
  srv_slots_counts(s->slots, &slots, &busy, &queued);
  return busy;
}

/* Stop accepting, refuse what waits, give running requests until the deadline, then cancel them. */
static void stop_gracefully(srv *s) {
  double t0 = srv_now_ms(), deadline = t0 + s->o.shutdown_timeout_s * 1e3;
  fprintf(stderr, "milrun serve: stopping: no new connections; %d running request(s) get %d s to finish\n", busy_slots(s),
          s->o.shutdown_timeout_s);
  atomic_store(&s->draining, 1);
  http_server_quiesce(s->http);
  srv_slots_drain(s->slots);
  while (busy_slots(s) && srv_now_ms() < deadline && *s->o.stop < 2) sleep_ms(20); /* a second signal: now */
  if (busy_slots(s)) {
    fprintf(stderr, "milrun serve: cancelling %d request(s) still running\n", busy_slots(s));
    srv_slots_cancel_all(s->slots);
    while (busy_slots(s)) sleep_ms(20);
  }
  /* Let the answers that are done reach their clients (streams end with [DONE]). */
  double flush = srv_now_ms() + 2000;
  while (http_server_active(s->http) && srv_now_ms() < flush) sleep_ms(20);
  fprintf(stderr, "milrun serve: stopped after %.0f ms\n", srv_now_ms() - t0);
}

static int open_model(srv *s, mr_error *err) {
  mr_hub_options hub = {0};
  mr_model_options mo = {.hub = &hub, .bundle = s->o.bundle};
  int rc = mr_model_open(s->o.model, &mo, &s->model, err);
  if (rc) return rc;
  if (!(s->tok = mr_model_tokenizer(s->model)))
    return util_err(err, MR_EFORMAT, "%s: the model has no tokenizer.json; the server needs one", mr_model_dir(s->model));
  if (s->o.context < 0 || s->o.context > mr_model_context(s->model))
    return util_err(err, MR_EINVAL, "--ctx-per-slot %d: this model holds at most %d positions", s->o.context,
                    mr_model_context(s->model));
  return MR_OK;
}

static int start(srv *s, mr_error *err) {
  int rc = open_model(s, err);
  if (!rc) rc = srv_slots_new(s->model, s->o.parallel, s->o.context, s->o.queue, &s->slots, err);
  if (rc) return rc;
  mr_model_info info;
  mr_model_info_get(s->model, &info);
  double mib = (double)info.state_bytes / (1 << 20);
  const mr_bundle *first = mr_model_component(s->model, 0, NULL);
  fprintf(stderr, "milrun serve: model %s (%s, executor %s), %d slot(s) of %d positions; KV state %.2f MiB per slot, %.2f MiB in all\n",
          s->model_id, mr_model_dir(s->model), first ? mr_bundle_backend(first) : "?", s->o.parallel,
          srv_slots_context(s->slots), mib, mib * s->o.parallel);
  static char timeout_body[256];
  srv_error e;
  util_sb tb = {0};
  srv_fail(&e, 408, BAD, "request_timeout", NULL, "The request headers did not arrive within %d s.", s->o.header_timeout_s);
  srv_error_json(&e, &tb);
  snprintf(timeout_body, sizeof timeout_body, "%s", util_sb_cstr(&tb));
  util_sb_free(&tb);
  http_options ho = {.host = s->o.host, .port = s->o.port, .max_body = s->o.max_body,
                     .header_timeout_s = s->o.header_timeout_s, .idle_timeout_s = s->o.idle_timeout_s,
                     .max_connections = s->o.parallel + s->o.queue + 64, .handler = route, .ud = s,
                     .timeout_body = timeout_body, .log = http_log};
  if ((rc = http_server_start(&ho, &s->http, err))) return rc;
  if (!s->o.api_key && strcmp(s->o.host, "127.0.0.1") && strcmp(s->o.host, "::1"))
    fprintf(stderr, "milrun serve: warning: listening on %s without --api-key: anyone who can reach it can use it\n", s->o.host);
  printf("milrun serve: listening on http://%s%s%s:%d\n", strchr(s->o.host, ':') ? "[" : "", s->o.host,
         strchr(s->o.host, ':') ? "]" : "", http_server_port(s->http));
  fflush(stdout);
  return MR_OK;
}

int serve_run(const serve_options *o, mr_error *err) {
  if (o->parallel < 1 || o->queue < 0 || o->context < 0 || o->header_timeout_s < 1 || o->idle_timeout_s < 1 ||
      o->shutdown_timeout_s < 0 || o->max_body < 1)
    return util_err(err, MR_EINVAL, "--parallel, --timeout-* and --max-body must be positive, --queue and --ctx-per-slot not negative");
  int rc = http_check_address(o->host, o->port, err); /* before a model that may take long to load */
  if (rc) return rc;
  srv *s = util_calloc(1, sizeof *s);
  if (!s) return util_err_nomem(err, "server");
  s->o = *o;
  s->model_id = o->alias ? o->alias : o->model ? o->model : MR_DEFAULT_MODEL;
  s->started = (long long)time(NULL);
  pthread_mutex_init(&s->tok_mu, NULL);
  srv_metrics_init(&s->metrics);
  rc = start(s, err);
  if (!rc) {
    while (!*o->stop) sleep_ms(50);
    stop_gracefully(s);
  }
  http_server_stop(s->http);
  srv_slots_free(s->slots);
  mr_model_close(s->model);
  srv_metrics_destroy(&s->metrics);
  pthread_mutex_destroy(&s->tok_mu);
  mr_free(s);
  return rc;
}
