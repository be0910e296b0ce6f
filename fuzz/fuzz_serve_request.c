/* fuzz_serve_request.c — libFuzzer target for the server's request bodies: any bytes, read as a
 * chat completion, a completion, a /tokenize and a /detokenize body, either give a request whose
 * fields are within their limits or a 400-class error with a message; never a crash, hang or leak.
 * Corpus: fuzz/corpus/serve_request/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const srv_error *e) {
  if (!e->message[0] || e->status < 400 || e->status > 599 || !e->type) abort();
}

static void check_params(const srv_params *p) {
  const mr_sampling *s = &p->sampling;
  if (p->n_stop > SRV_MAX_STOP || p->logprobs > SRV_MAX_TOP_LOGPROBS || p->max_tokens < 0) abort();
  if (!(s->temperature >= 0 && s->temperature <= 2) || !(s->top_p > 0 && s->top_p <= 1) || s->top_k < 0) abort();
  if (p->kind == SRV_CHAT && (!p->n_msgs || !p->msgs)) abort();
  for (size_t i = 0; i < p->n_msgs; i++)
    if (!p->msgs[i].role || !p->msgs[i].content) abort();
  if (p->kind == SRV_COMPLETION && !p->prompt && p->n_ids && !p->ids) abort();
  for (int i = 0; i < p->n_stop; i++)
    if (!p->stop[i] || !p->stop[i][0]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  srv_error e;
  for (int kind = SRV_CHAT; kind <= SRV_COMPLETION; kind++) {
    srv_params p;
    if (srv_parse_generation(kind, body, size, &p, &e)) {
      check_error(&e);
      continue;
    }
    check_params(&p);
    srv_params_free(&p);
  }
  char *content;
  int pieces;
  if (srv_parse_tokenize(body, size, &content, &pieces, &e)) check_error(&e);
  else mr_free(content);
  int32_t *ids;
  size_t n;
  if (srv_parse_detokenize(body, size, &ids, &n, &e)) check_error(&e);
  else mr_free(ids);
  return 0;
}
