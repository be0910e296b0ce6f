/* metrics.h — the server's counters, written as Prometheus text (exposition format 0.0.4) for
 * GET /metrics: requests by path and status, prompt and generated tokens with their compute time
 * and rates, and the gauges of the moment (queue length, busy slots, open connections). */
#ifndef SERVE_METRICS_H
#define SERVE_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "util/strbuf.h"

#define SRV_METRIC_ROUTES 48

typedef struct srv_metrics {
  pthread_mutex_t mu;
  struct {
    const char *path; /* a static string */
    int status;
    uint64_t n;
  } requests[SRV_METRIC_ROUTES];
  int n_requests;
  uint64_t prompt_tokens, cached_tokens, completion_tokens, generations;
  double prompt_ms, decode_ms;
} srv_metrics;

typedef struct srv_gauges {
  int slots, busy, queued, connections;
} srv_gauges;

void srv_metrics_init(srv_metrics *m);
void srv_metrics_destroy(srv_metrics *m);
void srv_metrics_request(srv_metrics *m, const char *path, int status);
/* A finished generation: prompt tokens (cached ones among them), their time, generated tokens and
 * the time the model spent on them. */
void srv_metrics_generation(srv_metrics *m, uint64_t prompt, uint64_t cached, double prompt_ms, uint64_t completion,
                            double decode_ms);
void srv_metrics_text(srv_metrics *m, const srv_gauges *g, util_sb *out);

#endif
