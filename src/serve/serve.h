/* serve.h — `milrun serve`: an OpenAI-compatible HTTP server on the model session. The entry point
 * of the serve layer for tools/serve.c. */
#ifndef SERVE_SERVE_H
#define SERVE_SERVE_H

#include <signal.h>
#include <stddef.h>

#include "milrun.h"

typedef struct serve_options {
  const char *model;        /* as mr_model_open takes it (NULL: the default model) */
  const char *alias;        /* the model's id in answers and /v1/models (NULL: `model`) */
  const char *host;         /* an IP address; 127.0.0.1 unless told */
  const char *api_key;      /* NULL: no key needed */
  mr_bundle_options bundle; /* executor and compute units of every component */
  int port;                 /* 0: any free port */
  int parallel;             /* slots */
  int context;              /* positions per slot (0: the model's) */
  int queue;                /* requests that may wait for a slot; more get 503 */
  int no_think;             /* Qwen3 chats without thinking unless a request asks */
  int verbose;
  size_t max_body;          /* bytes */
  int header_timeout_s, idle_timeout_s, shutdown_timeout_s;
  volatile sig_atomic_t *stop; /* 1 (set by a signal handler): stop the server; 2: without waiting */
} serve_options;

/* Defaults of every field (port 8080, 1 slot, 127.0.0.1, ...). */
void serve_options_defaults(serve_options *o);

/* Open the model, listen, answer until *o->stop is set, then stop accepting, let running requests
 * finish for up to shutdown_timeout_s (then cancel them), and return MR_OK. Writes "listening on
 * http://HOST:PORT" to stdout once ready, and one line per request to stderr. */
int serve_run(const serve_options *o, mr_error *err);

#endif
