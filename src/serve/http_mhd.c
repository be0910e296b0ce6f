/* http_mhd.c — http.h on libmicrohttpd, the only file that includes it. MHD runs one thread per
 * connection (a handler may block for a whole generation) and enforces its idle timeout on reads
 * and writes; it has no deadline for a request's headers, so a watchdog thread keeps one record per
 * connection (opened by MHD's connection notifier, closed before MHD closes the socket) and, past
 * a deadline, writes 408 and shuts the socket down, which ends MHD's wait on it. */
#include "serve/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/strbuf.h"

#define MAX_EXTRA_HEADERS 8

/* What the watchdog knows of a connection. */
enum { CONN_IDLE, CONN_HEADERS, CONN_BUSY };
typedef struct conn_rec {
  struct conn_rec *prev, *next;
  int fd, state, killed;
  double since; /* ms: opened, request line seen, or previous answer done */
} conn_rec;

struct http_server {
  struct MHD_Daemon *d;
  http_options o;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  conn_rec *conns;
  int n_conns, n_active, port, stopping;
  pthread_t watchdog;
  int has_watchdog;
  MHD_socket quiesced_fd;
};

typedef struct stream {
  http_exchange *x; /* valid while the reader runs (the request is not over) */
  http_next_fn next;
  void (*done)(void *, int);
  void *ud;
  int finished;
} stream;

struct http_exchange {
  http_server *srv;
  struct MHD_Connection *c;
  conn_rec *rec;
  util_sb body;
  int started, too_large, answered;
  char client[INET6_ADDRSTRLEN];
  const char *extra[MAX_EXTRA_HEADERS][2];
  int n_extra;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void logf_(http_server *s, const char *fmt, ...) MR_PRINTF(2, 3);
static void logf_(http_server *s, const char *fmt, ...) {
  if (!s->o.log) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  s->o.log(s->o.ud, line);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  http_server *s = cls;
  if (!s->o.log) return;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  s->o.log(s->o.ud, line);
}

/* ---- connection records and the watchdog ----------------------------------------------------- */

static void set_state(http_server *s, conn_rec *r, int state) {
  pthread_mutex_lock(&s->mu);
  r->state = state;
  r->since = now_ms();
  pthread_mutex_unlock(&s->mu);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code) {
  http_server *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    conn_rec *r = util_calloc(1, sizeof *r);
    if (!r) return; /* the connection goes on without a deadline */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->fd = ci ? ci->connect_fd : -1;
    r->since = now_ms();
    pthread_mutex_lock(&s->mu);
    r->next = s->conns;
    if (s->conns) s->conns->prev = r;
    s->conns = r;
    s->n_conns++;
    pthread_mutex_unlock(&s->mu);
    *socket_context = r;
  } else if (*socket_context) {
    conn_rec *r = *socket_context;
    pthread_mutex_lock(&s->mu);
    if (r->prev) r->prev->next = r->next;
    else s->conns = r->next;
    if (r->next) r->next->prev = r->prev;
    s->n_conns--;
    pthread_mutex_unlock(&s->mu);
    mr_free(r);
    *socket_context = NULL;
  }
}

/* The request line has arrived: the headers' deadline starts. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (ci && ci->socket_context) set_state(cls, ci->socket_context, CONN_HEADERS);
  return NULL;
}

/* Past its deadline: a request that started gets 408, an idle connection is just closed. */
static void kill_conn(http_server *s, conn_rec *r) {
  r->killed = 1;
  if (r->fd < 0) return;
  if (r->state == CONN_HEADERS) {
    const char *body = s->o.timeout_body ? s->o.timeout_body : "";
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", strlen(body));
    if (send(r->fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n) send(r->fd, body, strlen(body), MSG_NOSIGNAL | MSG_DONTWAIT);
    logf_(s, "408: request headers not complete after %d s; connection closed", s->o.header_timeout_s);
  }
  shutdown(r->fd, SHUT_RDWR);
}

static void *watchdog_main(void *arg) {
  http_server *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    double t = now_ms();
    for (conn_rec *r = s->conns; r; r = r->next) {
      if (r->killed) continue;
      if ((r->state == CONN_HEADERS && t - r->since > s->o.header_timeout_s * 1e3) ||
          (r->state == CONN_IDLE && t - r->since > s->o.idle_timeout_s * 1e3))
        kill_conn(s, r);
    }
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* ---- requests --------------------------------------------------------------------------------- */

static void queue(http_exchange *x, int status, struct MHD_Response *resp, const char *content_type) {
  if (!resp) {
    x->answered = 1; /* MHD will close the connection: nothing else can be done */
    return;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  for (int i = 0; i < x->n_extra; i++) MHD_add_response_header(resp, x->extra[i][0], x->extra[i][1]);
  MHD_queue_response(x->c, (unsigned)status, resp);
  MHD_destroy_response(resp);
  x->answered = 1;
}

void http_add_header(http_exchange *x, const char *name, const char *value) {
  if (x->n_extra < MAX_EXTRA_HEADERS) {
    x->extra[x->n_extra][0] = name;
    x->extra[x->n_extra++][1] = value;
  }
}

void http_respond(http_exchange *x, int status, const char *content_type, const char *body, size_t len) {
  if (x->answered) return;
  queue(x, status, MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY), content_type);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  stream *st = cls;
  long n = st->next(st->ud, st->x, buf, max);
  if (n > 0) return (ssize_t)n;
  if (n == 0) st->finished = 1;
  return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls) {
  stream *st = cls;
  st->done(st->ud, st->finished);
  mr_free(st);
}

void http_respond_stream(http_exchange *x, int status, const char *content_type, http_next_fn next,
                         void (*done)(void *ud, int completed), void *ud) {
  stream *st = x->answered ? NULL : util_calloc(1, sizeof *st);
  if (!st) {
    done(ud, 0);
    return;
  }
  *st = (stream){.x = x, .next = next, .done = done, .ud = ud};
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
  if (!r) stream_free(st);
  queue(x, status, r, content_type);
}

const char *http_header(http_exchange *x, const char *name) {
  return MHD_lookup_connection_value(x->c, MHD_HEADER_KIND, name);
}

const char *http_client(http_exchange *x) { return x->client; }

int http_client_gone(http_exchange *x) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(x->c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci) return 0;
  char b;
  ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static http_exchange *exchange_new(http_server *s, struct MHD_Connection *c) {
  http_exchange *x = util_calloc(1, sizeof *x);
  if (!x) return NULL;
  pthread_mutex_lock(&s->mu);
  s->n_active++;
  pthread_mutex_unlock(&s->mu);
  x->srv = s;
  x->c = c;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  x->rec = ci ? ci->socket_context : NULL;
  ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, x->client, sizeof x->client);
  else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, x->client, sizeof x->client);
  return x;
}

/* Headers in: the watchdog lets go, unless it already closed the connection. */
static int headers_done(http_exchange *x) {
  http_server *s = x->srv;
  if (!x->rec) return 1;
  pthread_mutex_lock(&s->mu);
  int alive = !x->rec->killed;
  x->rec->state = CONN_BUSY;
  pthread_mutex_unlock(&s->mu);
  return alive;
}

static void handle(http_exchange *x, const char *url, const char *method) {
  http_server *s = x->srv;
  util_sb_cstr(&x->body);
  http_request r = {.method = method, .path = url, .body = util_sb_cstr(&x->body), .body_len = x->body.len,
                    .body_too_large = x->too_large || util_sb_failed(&x->body)};
  s->o.handler(s->o.ud, x, &r);
  if (!x->answered) http_respond(x, 500, "application/json", "{}", 2);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **req_cls) {
  http_server *s = cls;
  http_exchange *x = *req_cls;
  if (!x) {
    if (!(x = exchange_new(s, c))) return MHD_NO;
    *req_cls = x;
    if (!headers_done(x)) return MHD_NO;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->o.max_body) { /* refuse before reading it */
      x->too_large = 1;
      handle(x, url, method);
    }
    return MHD_YES;
  }
  if (*upload_size) {
    if (!x->too_large && x->body.len + *upload_size > s->o.max_body) {
      x->too_large = 1;
      util_sb_free(&x->body);
    }
    if (!x->too_large) util_sb_append(&x->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (!x->answered) handle(x, url, method);
  return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe) {
  http_exchange *x = *req_cls;
  if (!x) return;
  if (x->rec) set_state(x->srv, x->rec, CONN_IDLE);
  pthread_mutex_lock(&x->srv->mu);
  x->srv->n_active--;
  pthread_mutex_unlock(&x->srv->mu);
  util_sb_free(&x->body);
  mr_free(x);
  *req_cls = NULL;
}

/* ---- the server -------------------------------------------------------------------------------- */

/* host:port as a socket address. */
static int address(const char *host, int port, struct sockaddr_storage *ss, mr_error *err) {
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  memset(ss, 0, sizeof *ss);
  if (port < 0 || port > 65535) return util_err(err, MR_EINVAL, "--port %d: not a TCP port", port);
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
  } else {
    return util_err(err, MR_EINVAL, "--host %s: not an IPv4 or IPv6 address", host);
  }
  return MR_OK;
}

int http_check_address(const char *host, int port, mr_error *err) {
  struct sockaddr_storage ss;
  return address(host, port, &ss, err);
}

int http_server_start(const http_options *o, http_server **out, mr_error *err) {
  *out = NULL;
  struct sockaddr_storage ss;
  int rc = address(o->host, o->port, &ss, err);
  if (rc) return rc;
  unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                   MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
  http_server *s = util_calloc(1, sizeof *s);
  if (!s) return util_err_nomem(err, "server");
  s->o = *o;
  s->quiesced_fd = MHD_INVALID_SOCKET;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
                          (unsigned)o->max_connections, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                          MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_END);
  if (!s->d) {
    int e = errno;
    http_server_stop(s);
    return util_err(err, MR_EIO, "cannot listen on %s:%d: %s", o->host, o->port, e ? strerror(e) : "libmicrohttpd failed");
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di ? di->port : o->port;
  if (pthread_create(&s->watchdog, NULL, watchdog_main, s) == 0) s->has_watchdog = 1;
  *out = s;
  return MR_OK;
}

int http_server_port(const http_server *s) { return s->port; }

void http_server_quiesce(http_server *s) {
  if (s->d && s->quiesced_fd == MHD_INVALID_SOCKET) s->quiesced_fd = MHD_quiesce_daemon(s->d);
}

int http_server_connections(http_server *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->n_conns;
  pthread_mutex_unlock(&s->mu);
  return n;
}

int http_server_active(http_server *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->n_active;
  pthread_mutex_unlock(&s->mu);
  return n;
}

void http_server_stop(http_server *s) {
  if (!s) return;
  if (s->has_watchdog) {
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->watchdog, NULL);
  }
  if (s->d) MHD_stop_daemon(s->d);
  if (s->quiesced_fd != MHD_INVALID_SOCKET) close(s->quiesced_fd);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  mr_free(s);
}
