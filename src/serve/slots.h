/* slots.h — N sessions of one model (each with its own KV state), each run by its own thread, and a
 * bounded FIFO of the generation jobs that wait for one. A job takes the free slot whose tokens share
 * the longest prefix with its prompt (a chat's next turn prefills only what is new; ties go to the
 * slot used longest ago). The model computes one step at a time: slots take turns token by token
 * through a fair (ticket) lock, so every running job advances. A job's text grows piece by piece
 * (one per token) for the connection's thread to send; stop strings are cut here, and text that may
 * still turn into one is held back. */
#ifndef SERVE_SLOTS_H
#define SERVE_SLOTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "milrun.h"
#include "serve/request.h"
#include "util/strbuf.h"

enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

typedef struct srv_piece {
  size_t end;    /* the job's text up to and with this token ends here */
  int32_t id;    /* -1: the text the streaming decoder still held at the end */
  float logprob; /* of the token (logprobs on) */
  size_t top;    /* its most likely tokens: top_ids/top_lps[top .. top + job->logprobs) */
} srv_piece;

typedef struct srv_job {
  /* The request, set before srv_slots_submit and read-only after; ids and stop are the job's own
   * (freed with it: the slot may still use them after the client has gone). */
  int32_t *ids;
  size_t n_ids;
  mr_sampling sampling;
  int max_tokens, logprobs; /* logprobs: -1 off, else top entries per token */
  int ignore_eos;
  char *stop[SRV_MAX_STOP];
  int n_stop;
  /* The answer, under mu (cv signals each change). */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int state;
  util_sb text;
  size_t released;          /* pieces whose end is <= released may be sent */
  srv_piece *pieces;
  size_t n_pieces, cap_pieces;
  int32_t *top_ids;
  float *top_lps;
  size_t n_top, cap_top;
  const char *finish;       /* "stop" or "length" once done */
  int failed;               /* status of an error (500, 503), 0 if none */
  char error[256];
  int completion_tokens, cached_tokens, slot;
  double queued_ms, prefill_ms, decode_ms;
  /* Internal. */
  atomic_int cancel, refs;
  int stop_hit;
  double t_submit;
  struct srv_job *next;
} srv_job;

srv_job *srv_job_new(void);
void srv_job_release(srv_job *j); /* the creator's and the slots' references */
/* Wait until the job changes or ms pass (call with j->mu held). */
void srv_job_wait(srv_job *j, int ms);

typedef struct srv_slots srv_slots;
/* n slots on model m, each session using `context` positions (0: the model's). */
int srv_slots_new(mr_model *m, int n, int context, int queue_max, srv_slots **out, mr_error *err);
/* Cancels what runs, waits for the threads and frees the sessions. */
void srv_slots_free(srv_slots *s);

enum { SRV_SUBMITTED = 0, SRV_QUEUE_FULL = -1, SRV_DRAINING = -2 };
int srv_slots_submit(srv_slots *s, srv_job *j);
/* The client went away: a queued job leaves the queue, a running one stops at its next token. */
void srv_slots_abandon(srv_slots *s, srv_job *j);
/* Refuse new jobs and fail the queued ones (503). */
void srv_slots_drain(srv_slots *s);
/* Stop every running job at its next token. */
void srv_slots_cancel_all(srv_slots *s);
void srv_slots_counts(srv_slots *s, int *slots, int *busy, int *queued);
int srv_slots_context(const srv_slots *s); /* positions per slot */

#endif
