/* server.h — what the server's files share: the server itself, the answer helpers and the end of
 * a request (its log line and counters). server.c routes requests and answers the small endpoints;
 * complete.c answers the two generation endpoints. */
#ifndef SERVE_SERVER_H
#define SERVE_SERVER_H

#include <pthread.h>

#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/request.h"
#include "serve/serve.h"
#include "serve/slots.h"

typedef struct srv {
  serve_options o;
  const char *model_id;
  mr_model *model;
  mr_tokenizer *tok;
  pthread_mutex_t tok_mu; /* encoding uses the tokenizer's scratch buffers */
  srv_slots *slots;
  srv_metrics metrics;
  http_server *http;
  long long started;      /* Unix time */
  atomic_int draining;
} srv;

/* One request from its arrival to its log line. */
typedef struct srv_call {
  srv *s;
  const char *route;      /* a fixed name for the metrics ("/v1/chat/completions", "other") */
  char method[16], path[128], client[48];
  double t0;
  int status;
  long long prompt_tokens, completion_tokens;
  const char *note;       /* extra words for the log line ("client gone"), or NULL */
  char detail[192];       /* --verbose: how a generation went (slot, cached tokens, times) */
} srv_call;

double srv_now_ms(void);
/* Log the request and count it (once it has been answered in full). */
void srv_call_end(srv_call *c);
void srv_respond_json(srv_call *c, http_exchange *x, int status, util_sb *body);
void srv_respond_error(srv_call *c, http_exchange *x, const srv_error *e);

/* Text to token ids (special tokens parsed, as `milrun generate` does); 0 or -1 with e (500). */
int srv_encode(srv *s, const char *text, int32_t **ids, size_t *n, srv_error *e);

/* POST /v1/chat/completions and /v1/completions. */
void srv_complete(srv_call *c, http_exchange *x, const http_request *r, int kind);

#endif
