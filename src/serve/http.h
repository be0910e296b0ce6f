/* http.h — the HTTP server the serve layer stands on, with the HTTP library (libmicrohttpd) behind
 * it in one file (http_mhd.c). Each connection has its own thread, on which the handler runs and
 * may block (waiting for a slot, generating); a streamed answer is pulled from a callback on the
 * same thread. The layer itself enforces the limits: request bodies over max_body get 413 (through
 * the handler, so that it is logged like any answer), a request whose headers do not arrive within
 * header_timeout gets 408 and is closed (slow clients), a connection with no request line within
 * idle_timeout, or silent for idle_timeout while sending its body, is closed. */
#ifndef SERVE_HTTP_H
#define SERVE_HTTP_H

#include <stddef.h>

#include "milrun.h"

typedef struct http_server http_server;
typedef struct http_exchange http_exchange; /* one request and its answer */

typedef struct http_request {
  const char *method, *path; /* path without the query string */
  const char *body;          /* NUL-terminated copy of the body ("" when none) */
  size_t body_len;
  int body_too_large;        /* 1: the body was over max_body and dropped: answer 413 */
} http_request;

/* Answers the request with exactly one http_respond or http_respond_stream before returning. */
typedef void (*http_handler)(void *ud, http_exchange *x, const http_request *r);

typedef struct http_options {
  const char *host;          /* an IP address to listen on */
  int port;                  /* 0: any free port (http_server_port says which) */
  size_t max_body;           /* bytes */
  int header_timeout_s, idle_timeout_s;
  int max_connections;
  http_handler handler;
  void *ud;
  const char *timeout_body;  /* the JSON body of the 408 answer */
  void (*log)(void *ud, const char *line); /* the layer's own events (timeouts, refusals) */
} http_options;

/* MR_EINVAL unless host is an IPv4 or IPv6 address and port a TCP port. */
int http_check_address(const char *host, int port, mr_error *err);
int http_server_start(const http_options *o, http_server **out, mr_error *err);
int http_server_port(const http_server *s);
/* Stop accepting connections; open ones go on. */
void http_server_quiesce(http_server *s);
/* Connections open now, and requests among them not yet answered in full. */
int http_server_connections(http_server *s);
int http_server_active(http_server *s);
/* Close every connection and free the server. */
void http_server_stop(http_server *s);

/* A request header (case-insensitive name), or NULL. */
const char *http_header(http_exchange *x, const char *name);
/* The client's address as text ("127.0.0.1"). */
const char *http_client(http_exchange *x);
/* 1 when the client has closed its end of the connection (checked without blocking). */
int http_client_gone(http_exchange *x);

/* A header for the answer (name and value are borrowed until it is sent; at most 8). */
void http_add_header(http_exchange *x, const char *name, const char *value);
/* Answer with a complete body (copied). */
void http_respond(http_exchange *x, int status, const char *content_type, const char *body, size_t len);

/* Answer with a body produced piece by piece, sent as it comes (chunked): `next` fills buf with up
 * to cap bytes and returns how many (it may block until it has some), 0 at the end, or -1 to break
 * the connection. `done` is called once when the answer is over, sent in full or not
 * (completed = 0 when the client went away). Both run on this connection's thread. */
typedef long (*http_next_fn)(void *ud, http_exchange *x, char *buf, size_t cap);
void http_respond_stream(http_exchange *x, int status, const char *content_type, http_next_fn next,
                         void (*done)(void *ud, int completed), void *ud);

#endif
