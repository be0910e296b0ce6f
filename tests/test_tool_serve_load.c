/* test_tool_serve_load.c — `milrun serve` under load on the demo model: 16 clients send 64 requests
 * (chat and completion, streamed and whole, greedy and seeded sampling) to 4 slots while two more
 * clients hang up mid-stream: every request gets a complete answer equal to the same request sent
 * alone, none is lost, all 4 slots and the queue were used, and (optimised build) the server's
 * memory is flat over a second round. A client that hangs up frees its slot for the next request
 * at once; a full queue answers 503. */
#include <pthread.h>

#include "serve_util.h"

#define N_TOKENS 4
#define CLIENTS 16
#define PER_CLIENT 4
#define N_REQ (CLIENTS * PER_CLIENT)

static const char *const prompts[4] = {"def fibonacci(n):", "class Node:", "import sys\n", "Sort a list in Python."};

/* Request i's parameters: bits of i pick the prompt, the endpoint, greedy or seeded, streamed, seed. */
static char *request_body(int i, int stream) {
  int prompt = i & 3, chat = (i >> 2) & 1, greedy = (i >> 3) & 1, seed = 7 + ((i >> 5) & 1);
  char *p = su_json_string(prompts[prompt]), *b = mr_alloc(1024);
  char sampling[96];
  if (greedy) snprintf(sampling, sizeof sampling, "\"temperature\":0");
  else snprintf(sampling, sizeof sampling, "\"temperature\":0.9,\"seed\":%d", seed);
  if (chat)
    snprintf(b, 1024, "{\"messages\":[{\"role\":\"user\",\"content\":%s}],\"max_tokens\":%d,%s%s}", p, N_TOKENS, sampling,
             stream ? ",\"stream\":true" : "");
  else
    snprintf(b, 1024, "{\"prompt\":%s,\"max_tokens\":%d,%s%s}", p, N_TOKENS, sampling, stream ? ",\"stream\":true" : "");
  mr_free(p);
  return b;
}

static const char *path_of(int i) { return (i >> 2) & 1 ? "/v1/chat/completions" : "/v1/completions"; }
static int streamed(int i) { return (i >> 4) & 1; }
/* Requests that differ only in streaming share the answer: the reference key drops that bit. */
static int ref_key(int i) { return i & ~16; }

typedef struct load {
  int port;
  char *ref[N_REQ];
  char *got[N_REQ];
  long status[N_REQ];
  int complete[N_REQ];
  int client;
  pthread_mutex_t mu;
} load;

/* One request; its text and whether the answer was complete. */
static char *ask(int port, int i, int stream, long *status, int *complete) {
  char *body = request_body(i, stream);
  su_resp r = {0};
  su_http(port, "POST", path_of(i), body, NULL, &r);
  mr_free(body);
  *status = r.status;
  char *text = NULL;
  if (stream) {
    su_stream st;
    *complete = su_parse_sse(util_sb_cstr(&r.body), &st) > 1 && st.done && st.finish[0] && !st.error;
    text = util_strdup(util_sb_cstr(&st.text));
    su_stream_free(&st);
  } else {
    cJSON *j = cJSON_Parse(util_sb_cstr(&r.body));
    *complete = su_text(j) && su_finish(j) && su_usage(j, "completion_tokens") > 0;
    text = su_text(j) ? util_strdup(su_text(j)) : NULL;
    cJSON_Delete(j);
  }
  util_sb_free(&r.body);
  return text;
}

static void *client_main(void *arg) {
  load *l = arg;
  pthread_mutex_lock(&l->mu);
  int c = l->client++;
  pthread_mutex_unlock(&l->mu);
  for (int k = 0; k < PER_CLIENT; k++) {
    int i = k * CLIENTS + c; /* each client mixes kinds */
    l->got[i] = ask(l->port, i, streamed(i), &l->status[i], &l->complete[i]);
  }
  return NULL;
}

/* A client that reads three events of a long stream and hangs up. */
static void *quitter_main(void *arg) {
  int port = *(int *)arg;
  su_resp r = {.abort_after_events = 3};
  su_http(port, "POST", "/v1/completions", "{\"prompt\":\"def main():\",\"max_tokens\":200,\"stream\":true,\"temperature\":0}", NULL, &r);
  util_sb_free(&r.body);
  return NULL;
}

typedef struct monitor {
  int port, stop, max_busy, max_queued, samples;
} monitor;

static long metric(const char *text, const char *name) {
  for (const char *p = text; (p = strstr(p, name)); p++)
    if (p == text || p[-1] == '\n') return atol(p + strlen(name));
  return -1;
}

static void *monitor_main(void *arg) {
  monitor *m = arg;
  while (!m->stop) {
    su_resp r = {0};
    su_http(m->port, "GET", "/metrics", NULL, NULL, &r);
    long busy = metric(util_sb_cstr(&r.body), "milrun_slots_busy "), queued = metric(util_sb_cstr(&r.body), "milrun_requests_queued ");
    if (busy > m->max_busy) m->max_busy = (int)busy;
    if (queued > m->max_queued) m->max_queued = (int)queued;
    m->samples++;
    util_sb_free(&r.body);
    su_sleep_ms(30);
  }
  return NULL;
}

/* 16 clients and 2 quitters at once; returns the number of wrong answers. */
static int round_of_load(load *l, monitor *m) {
  pthread_t t[CLIENTS], q[2], mt;
  l->client = 0;
  m->stop = 0;
  pthread_create(&mt, NULL, monitor_main, m);
  for (int c = 0; c < CLIENTS; c++) pthread_create(&t[c], NULL, client_main, l);
  for (int k = 0; k < 2; k++) pthread_create(&q[k], NULL, quitter_main, &l->port);
  for (int c = 0; c < CLIENTS; c++) pthread_join(t[c], NULL);
  for (int k = 0; k < 2; k++) pthread_join(q[k], NULL);
  m->stop = 1;
  pthread_join(mt, NULL);
  int wrong = 0;
  for (int i = 0; i < N_REQ; i++) {
    int ok = l->status[i] == 200 && l->complete[i] && l->got[i] && l->ref[ref_key(i)] && !strcmp(l->got[i], l->ref[ref_key(i)]);
    CHECK_MSG(ok, "request %d (%s, %s): status %ld, complete %d, '%s' vs alone '%s'", i, path_of(i), streamed(i) ? "stream" : "whole",
              l->status[i], l->complete[i], l->got[i] ? l->got[i] : "(none)", l->ref[ref_key(i)] ? l->ref[ref_key(i)] : "(none)");
    wrong += !ok;
    mr_free(l->got[i]);
    l->got[i] = NULL;
  }
  return wrong;
}

static int count_lines(const char *log, const char *what) {
  int n = 0;
  for (const char *p = log; p && (p = strstr(p, what)); p++) n++;
  return n;
}

static void test_concurrency(void) {
  su_server s;
  if (su_start(&s, "--parallel 4 --queue 64", NULL)) return;
  load l = {.port = s.port};
  pthread_mutex_init(&l.mu, NULL);
  for (int i = 0; i < N_REQ; i++) /* alone, one at a time */
    if (i == ref_key(i) && !l.ref[i]) {
      long st;
      int complete;
      l.ref[i] = ask(s.port, i, 0, &st, &complete);
      CHECK_MSG(st == 200 && complete && l.ref[i], "reference %d: status %ld", i, st);
    }
  monitor m = {.port = s.port};
  long rss0 = su_rss_kib(&s);
  CHECK(rss0 > 0);
  CHECK_EQ_INT(round_of_load(&l, &m), 0);
  CHECK_MSG(m.max_busy == 4, "at most %d slots were busy at once (%d samples)", m.max_busy, m.samples);
  CHECK_MSG(m.max_queued > 0, "the queue was never used (%d samples)", m.samples);
#if SU_SANITIZED
  fprintf(stderr, "  note: memory flatness is checked in the optimised build (ASan keeps freed memory in quarantine); "
                  "here the server's exit status covers leaks\n");
#else
  long rss1 = su_rss_kib(&s);
  CHECK_EQ_INT(round_of_load(&l, &m), 0);
  long rss2 = su_rss_kib(&s);
  fprintf(stderr, "  server RSS: %ld KiB before, %ld after one round of %d requests, %ld after two\n", rss0, rss1, N_REQ, rss2);
  CHECK_MSG(rss2 - rss1 < 4096, "RSS grew by %ld KiB over a second round", rss2 - rss1);
#endif
  char *log = su_read_log(&s);
  int answered = count_lines(log, " 200 prompt=");
  CHECK_MSG(answered >= 24 + N_REQ + 2, "%d requests logged as 200", answered);
  CHECK_MSG(count_lines(log, "client gone") >= 2, "log: %s", log ? log : "");
  mr_free(log);
  CHECK_EQ_INT(su_stop(&s, SIGTERM, 120, NULL), 0);
  for (int i = 0; i < N_REQ; i++) mr_free(l.ref[i]);
  pthread_mutex_destroy(&l.mu);
}

typedef struct bg {
  int port;
  const char *path, *body;
  int abort_after;
  su_resp r;
  double t_end;
} bg;

static void *bg_main(void *arg) {
  bg *b = arg;
  b->r.abort_after_events = b->abort_after;
  su_http(b->port, "POST", b->path, b->body, NULL, &b->r);
  b->t_end = su_now();
  return NULL;
}

static double timing(const cJSON *j, const char *name) {
  const cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "timings"), name);
  return x ? x->valuedouble : -1;
}

/* One slot: a stream that hangs up frees it at once for a request that waits; a full queue: 503. */
static void test_disconnect_frees_slot(void) {
  su_server s;
  if (su_start(&s, "--parallel 1 --queue 1", NULL)) return;
  long st;
  double ms_per_token = su_ms_per_token(s.port);
  char body[256];
  snprintf(body, sizeof body, "{\"prompt\":\"def main():\",\"max_tokens\":%d,\"stream\":true,\"temperature\":0,\"ignore_eos\":true}",
           su_tokens_for(5000, ms_per_token, 40, 240));
  bg a = {s.port, "/v1/completions", body, 3, {0}, 0};
  pthread_t ta;
  pthread_create(&ta, NULL, bg_main, &a);
  su_sleep_ms(100);
  /* B waits behind A in the queue; A hangs up after three events */
  cJSON *b = su_post(s.port, "/v1/completions", "{\"prompt\":\"class A:\",\"max_tokens\":4,\"temperature\":0}", &st);
  pthread_join(ta, NULL);
  CHECK_EQ_INT(st, 200);
  double queued = timing(b, "queue_ms");
  CHECK_MSG(queued >= 0 && queued < 12 * ms_per_token + 1000, "B waited %.0f ms for the slot (%.0f ms per token)", queued,
            ms_per_token);
  cJSON_Delete(b);
  util_sb_free(&a.r.body);
  /* the queue holds one: of three long requests (about 1.5 s each) at once, one is refused */
  snprintf(body, sizeof body, "{\"prompt\":\"def g():\",\"max_tokens\":%d,\"temperature\":0,\"ignore_eos\":true}",
           su_tokens_for(1500, ms_per_token, 12, 240));
  bg r[3];
  pthread_t t[3];
  for (int k = 0; k < 3; k++) {
    r[k] = (bg){s.port, "/v1/completions", body, 0, {0}, 0};
    pthread_create(&t[k], NULL, bg_main, &r[k]);
    su_sleep_ms(100);
  }
  int ok = 0, busy = 0;
  for (int k = 0; k < 3; k++) {
    pthread_join(t[k], NULL);
    ok += r[k].r.status == 200;
    if (r[k].r.status == 503) {
      busy++;
      CHECK_MSG(strstr(util_sb_cstr(&r[k].r.body), "server_overloaded"), "503: %s", util_sb_cstr(&r[k].r.body));
    }
    util_sb_free(&r[k].r.body);
  }
  CHECK_MSG(ok == 2 && busy == 1, "%d answered, %d refused", ok, busy);
  char *log = su_read_log(&s);
  CHECK_MSG(log && strstr(log, "client gone") && strstr(log, " 503 "), "log: %s", log ? log : "");
  mr_free(log);
  CHECK_EQ_INT(su_stop(&s, SIGTERM, 120, NULL), 0);
}

int main(int argc, char **argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  static const th_case cases[] = {{"concurrency", test_concurrency}, {"disconnect_frees_slot", test_disconnect_frees_slot}, {NULL, NULL}};
  int rc = th_run(cases, argc, argv);
  curl_global_cleanup();
  return rc;
}
