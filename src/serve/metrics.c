/* metrics.c — see metrics.h. Paths are the server's fixed route names, so the request table stays
 * small; should it fill up, its last row ("other", status 0) counts the rest. */
#include "serve/metrics.h"

#include <string.h>

void srv_metrics_init(srv_metrics *m) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
}

void srv_metrics_destroy(srv_metrics *m) { pthread_mutex_destroy(&m->mu); }

void srv_metrics_request(srv_metrics *m, const char *path, int status) {
  pthread_mutex_lock(&m->mu);
  int i = 0;
  while (i < m->n_requests && (strcmp(m->requests[i].path, path) || m->requests[i].status != status)) i++;
  if (i == SRV_METRIC_ROUTES) {
    i--; /* full: the last row ("other") counts the rest */
  } else if (i == m->n_requests && i == SRV_METRIC_ROUTES - 1) {
    m->requests[i].path = "other";
    m->n_requests = SRV_METRIC_ROUTES;
  } else if (i == m->n_requests) {
    m->requests[i].path = path;
    m->requests[i].status = status;
    m->n_requests++;
  }
  m->requests[i].n++;
  pthread_mutex_unlock(&m->mu);
}

void srv_metrics_generation(srv_metrics *m, uint64_t prompt, uint64_t cached, double prompt_ms, uint64_t completion,
                            double decode_ms) {
  pthread_mutex_lock(&m->mu);
  m->generations++;
  m->prompt_tokens += prompt;
  m->cached_tokens += cached;
  m->prompt_ms += prompt_ms;
  m->completion_tokens += completion;
  m->decode_ms += decode_ms;
  pthread_mutex_unlock(&m->mu);
}

static void metric(util_sb *o, const char *name, const char *type, const char *help) {
  util_sb_printf(o, "# HELP milrun_%s %s\n# TYPE milrun_%s %s\n", name, help, name, type);
}

static void value(util_sb *o, const char *name, const char *type, const char *help, double v) {
  metric(o, name, type, help);
  util_sb_printf(o, "milrun_%s %.17g\n", name, v);
}

void srv_metrics_text(srv_metrics *m, const srv_gauges *g, util_sb *o) {
  pthread_mutex_lock(&m->mu);
  metric(o, "requests_total", "counter", "HTTP requests answered, by path and status.");
  for (int i = 0; i < m->n_requests; i++)
    util_sb_printf(o, "milrun_requests_total{path=\"%s\",status=\"%d\"} %llu\n", m->requests[i].path,
                   m->requests[i].status, (unsigned long long)m->requests[i].n);
  value(o, "generations_total", "counter", "Completions generated (finished or stopped).", (double)m->generations);
  value(o, "prompt_tokens_total", "counter", "Prompt tokens of generations.", (double)m->prompt_tokens);
  value(o, "prompt_tokens_cached_total", "counter", "Prompt tokens whose KV entries a slot already held.",
        (double)m->cached_tokens);
  value(o, "prompt_seconds_total", "counter", "Time spent computing prompts.", m->prompt_ms / 1e3);
  value(o, "tokens_predicted_total", "counter", "Generated tokens.", (double)m->completion_tokens);
  value(o, "tokens_predicted_seconds_total", "counter", "Time the model spent generating.", m->decode_ms / 1e3);
  value(o, "prompt_tokens_per_second", "gauge", "Computed prompt tokens per second of prompt time, since the start.",
        m->prompt_ms > 0 ? (double)(m->prompt_tokens - m->cached_tokens) * 1e3 / m->prompt_ms : 0);
  value(o, "predicted_tokens_per_second", "gauge", "Generated tokens per second of generation time, since the start.",
        m->decode_ms > 0 ? (double)m->completion_tokens * 1e3 / m->decode_ms : 0);
  pthread_mutex_unlock(&m->mu);
  value(o, "slots", "gauge", "Slots (sessions with their own KV state).", g->slots);
  value(o, "slots_busy", "gauge", "Slots running a request.", g->busy);
  value(o, "requests_queued", "gauge", "Requests waiting for a slot.", g->queued);
  value(o, "connections", "gauge", "Open HTTP connections.", g->connections);
}
