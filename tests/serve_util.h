/* serve_util.h — what the `milrun serve` tests share: the demo model (setup.sh's build/demo, else
 * converted here as setup.sh does), starting the server on a free loopback port and stopping it,
 * an HTTP client (libcurl) that also reads server-sent events, raw sockets for clients that
 * misbehave, and `milrun generate` as the reference. Header-only: each test program includes it
 * once. Every wait is bounded. */
#ifndef TEST_SERVE_UTIL_H
#define TEST_SERVE_UTIL_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/strbuf.h"

/* The sanitizer build runs the model at -O0: its tests generate fewer tokens. */
#if defined(__SANITIZE_ADDRESS__)
#define SU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SU_SANITIZED 1
#endif
#endif
#ifndef SU_SANITIZED
#define SU_SANITIZED 0
#endif

static inline double su_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void su_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Run a shell command; its stdout (and stderr when both) into out. Returns the exit status. */
static inline int su_shell(const char *cmd, util_sb *out) {
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) util_sb_append(out, buf, n);
  int st = pclose(p);
  util_sb_cstr(out);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The demo model: build/demo when setup.sh made it, else the same conversion into the tmp dir. */
static inline const char *su_demo_model(void) {
  static char dir[700];
  if (dir[0]) return dir;
  const char *src = getenv("MR_SOURCE");
  snprintf(dir, sizeof dir, "%s/build/demo", src ? src : ".");
  char meta[800];
  snprintf(meta, sizeof meta, "%s/meta.yaml", dir);
  if (util_exists(meta)) return dir;
  snprintf(dir, sizeof dir, "%s/demo", th_tmpdir());
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "\"%s\" convert \"%s/models/qwen3-tiny-python\" \"%s\" --context 256 --lut-ffn 8 --lut-lmhead 8 "
           "--tokenizer \"%s/tokenizer\" --quiet 2>&1", getenv("MR_MILRUN"), getenv("MR_FIXTURES"), dir, getenv("MR_FIXTURES"));
  util_sb out = {0};
  int rc = su_shell(cmd, &out);
  CHECK_MSG(rc == 0, "convert: %s", util_sb_cstr(&out));
  util_sb_free(&out);
  if (rc) dir[0] = 0;
  return rc ? NULL : dir;
}

/* ---- the server process ------------------------------------------------------------------------ */

typedef struct su_server {
  pid_t pid;
  int port;
  char log[600]; /* its stderr */
} su_server;

/* `milrun serve --model DEMO --host 127.0.0.1 --port 0 ARGS` (ARGS: shell words); 0 when it
 * listens. extra_env: "NAME=VALUE" or NULL. */
static inline int su_start(su_server *s, const char *args, const char *extra_env) {
  static int serial;
  memset(s, 0, sizeof *s);
  const char *model = su_demo_model();
  if (!model) return -1;
  snprintf(s->log, sizeof s->log, "%s/serve-%d.log", th_tmpdir(), serial++);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "exec %s%s \"%s\" serve --model \"%s\" --host 127.0.0.1 --port 0 %s 2>\"%s\"",
           extra_env ? "env " : "", extra_env ? extra_env : "", getenv("MR_MILRUN"), model, args ? args : "", s->log);
  int fd[2];
  if (pipe(fd)) return -1;
  fflush(NULL);
  s->pid = fork();
  if (s->pid < 0) return -1;
  if (s->pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char line[256] = {0};
  size_t n = 0;
  struct pollfd p = {.fd = fd[0], .events = POLLIN};
  double t0 = su_now();
  while (n < sizeof line - 1 && !strchr(line, '\n') && su_now() - t0 < 300 && poll(&p, 1, 1000) >= 0) {
    if (!(p.revents & (POLLIN | POLLHUP))) continue;
    ssize_t got = read(fd[0], line + n, sizeof line - 1 - n);
    if (got <= 0) break;
    n += (size_t)got;
  }
  close(fd[0]);
  const char *at = strstr(line, "listening on http://127.0.0.1:");
  s->port = at ? atoi(at + strlen("listening on http://127.0.0.1:")) : 0;
  CHECK_MSG(s->port > 0, "the server did not start: '%s' (log %s)", line, s->log);
  if (s->port <= 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
  }
  return 0;
}

/* Send sig and wait up to `limit` seconds; returns the exit status (-1: killed after the limit or
 * by a signal), *secs how long it took. */
static inline int su_stop(su_server *s, int sig, double limit, double *secs) {
  if (s->pid <= 0) return -1;
  double t0 = su_now();
  kill(s->pid, sig);
  int st = 0;
  pid_t r = 0;
  while ((r = waitpid(s->pid, &st, WNOHANG)) == 0 && su_now() - t0 < limit) su_sleep_ms(20);
  if (secs) *secs = su_now() - t0;
  if (r == 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return -1;
  }
  s->pid = 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The server's resident memory in KiB (VmRSS), or -1. */
static inline long su_rss_kib(const su_server *s) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kib = atol(line + 6);
  if (f) fclose(f);
  return kib;
}

static inline char *su_read_log(const su_server *s) {
  char *text = NULL;
  size_t n;
  mr_error err = {0};
  return util_read_file(s->log, &text, &n, &err) ? NULL : text;
}

/* ---- HTTP ---------------------------------------------------------------------------------------- */

typedef struct su_resp {
  long status;
  util_sb body;
  int abort_after_events; /* > 0: close the connection after this many SSE events */
  int events;
} su_resp;

static inline size_t su_write(char *p, size_t size, size_t n, void *ud) {
  su_resp *r = ud;
  util_sb_append(&r->body, p, size * n);
  if (r->abort_after_events > 0) {
    r->events = 0;
    for (const char *q = util_sb_cstr(&r->body); (q = strstr(q, "\n\n")); q += 2) r->events++;
    if (r->events >= r->abort_after_events) return 0; /* libcurl closes the connection */
  }
  return size * n;
}

/* METHOD path with an optional JSON body and "Authorization: Bearer KEY" (key NULL: none).
 * r->body receives the answer. Returns the CURLcode. */
static inline int su_http(int port, const char *method, const char *path, const char *body, const char *key, su_resp *r) {
  CURL *c = curl_easy_init();
  if (!c) return -1;
  char url[512], auth[300];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (key) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    h = curl_slist_append(h, auth);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, su_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  int rc = (int)curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  util_sb_cstr(&r->body);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return rc;
}

/* POST a body; the parsed JSON answer (NULL if none), *status its status. */
static inline cJSON *su_post(int port, const char *path, const char *body, long *status) {
  su_resp r = {0};
  su_http(port, "POST", path, body, NULL, &r);
  *status = r.status;
  cJSON *j = cJSON_Parse(util_sb_cstr(&r.body));
  util_sb_free(&r.body);
  return j;
}

/* Milliseconds per generated token on this server, from a probe request's timings. */
static inline double su_ms_per_token(int port) {
  long st;
  cJSON *j = su_post(port, "/v1/completions", "{\"prompt\":\"def f():\",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true}", &st);
  const cJSON *t = cJSON_GetObjectItem(j, "timings"), *ms = cJSON_GetObjectItem(t, "predicted_ms"), *n = cJSON_GetObjectItem(t, "predicted_n");
  double r = ms && n && n->valuedouble > 0 ? ms->valuedouble / n->valuedouble : 50;
  cJSON_Delete(j);
  return r;
}

/* How many tokens take about `ms` at `per_token` ms each, within [lo, hi]: long requests last long
 * enough for a test's timing on fast and slow builds alike. */
static inline int su_tokens_for(double ms, double per_token, int lo, int hi) {
  double n = ms / (per_token > 0.1 ? per_token : 0.1);
  return n < lo ? lo : n > hi ? hi : (int)n;
}

/* The text of a finished answer: chat's message content or a completion's text. */
static inline const char *su_text(const cJSON *j) {
  const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
  const cJSON *m = cJSON_GetObjectItem(c, "message");
  return cJSON_GetStringValue(cJSON_GetObjectItem(m ? m : c, m ? "content" : "text"));
}

static inline const char *su_finish(const cJSON *j) {
  return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "finish_reason"));
}

static inline int su_usage(const cJSON *j, const char *what) {
  return cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), what) ? cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), what)->valueint : -1;
}

/* A streamed answer's events: the text joined from the chunks, the finish reason, whether it ended
 * with [DONE], the usage chunk if any. Returns the number of data events, -1 if malformed. */
typedef struct su_stream {
  util_sb text;
  char finish[32];
  int done, role_first, events;
  cJSON *usage, *error;
} su_stream;

static inline int su_parse_sse(const char *body, su_stream *st) {
  memset(st, 0, sizeof *st);
  const char *p = body;
  while (*p) {
    const char *end = strstr(p, "\n\n");
    if (!end || strncmp(p, "data: ", 6)) return -1;
    if (st->done) return -1; /* nothing after [DONE] */
    char *data = util_strndup(p + 6, (size_t)(end - p - 6));
    if (!strcmp(data, "[DONE]")) {
      st->done = 1;
    } else {
      cJSON *j = cJSON_Parse(data), *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
      if (!j) {
        mr_free(data);
        return -1;
      }
      if (cJSON_GetObjectItem(j, "error")) st->error = cJSON_Duplicate(cJSON_GetObjectItem(j, "error"), 1);
      const cJSON *d = cJSON_GetObjectItem(c, "delta");
      if (st->events == 0 && d) st->role_first = cJSON_IsString(cJSON_GetObjectItem(d, "role"));
      const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(d ? d : c, d ? "content" : "text"));
      if (t) util_sb_puts(&st->text, t);
      const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(c, "finish_reason"));
      if (f) snprintf(st->finish, sizeof st->finish, "%s", f);
      if (cJSON_IsObject(cJSON_GetObjectItem(j, "usage"))) st->usage = cJSON_Duplicate(cJSON_GetObjectItem(j, "usage"), 1);
      cJSON_Delete(j);
    }
    mr_free(data);
    st->events++;
    p = end + 2;
  }
  util_sb_cstr(&st->text);
  return st->events;
}

static inline void su_stream_free(su_stream *st) {
  util_sb_free(&st->text);
  cJSON_Delete(st->usage);
  cJSON_Delete(st->error);
}

/* ---- raw sockets ------------------------------------------------------------------------------------ */

static inline int su_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Read until the peer closes or `limit` seconds pass; returns the bytes read (-1: still open). */
static inline long su_read_all(int fd, util_sb *out, double limit) {
  double t0 = su_now();
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (su_now() - t0 < limit) {
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return (long)out->len;
    util_sb_append(out, buf, (size_t)n);
  }
  return -1;
}

/* ---- the reference --------------------------------------------------------------------------------- */

/* `milrun generate --model DEMO --temperature 0 -n N --json ARGS -p PROMPT`: its text (new string)
 * and prompt length. */
static inline char *su_generate(const char *prompt, int n, const char *args, int *prompt_tokens) {
  char path[700];
  snprintf(path, sizeof path, "%s/prompt.txt", th_tmpdir());
  mr_error err = {0};
  util_write_file_atomic(path, prompt, strlen(prompt), &err);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "\"%s\" generate --model \"%s\" --temperature 0 -n %d --json %s -f \"%s\" 2>/dev/null",
           getenv("MR_MILRUN"), su_demo_model(), n, args, path);
  util_sb out = {0};
  int rc = su_shell(cmd, &out);
  cJSON *j = rc ? NULL : cJSON_Parse(util_sb_cstr(&out));
  CHECK_MSG(j, "generate failed: %s", util_sb_cstr(&out));
  util_sb_free(&out);
  const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "text"));
  char *text = t ? util_strdup(t) : NULL;
  if (prompt_tokens) *prompt_tokens = cJSON_GetArraySize(cJSON_GetObjectItem(j, "prompt_ids"));
  cJSON_Delete(j);
  return text;
}

/* A JSON string literal of s (for building request bodies). */
static inline char *su_json_string(const char *s) {
  cJSON *j = cJSON_CreateString(s);
  char *out = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  char *copy = util_strdup(out);
  cJSON_free(out);
  return copy;
}

#endif
