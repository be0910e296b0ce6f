/* request.h — the JSON bodies of the OpenAI endpoints (and llama-server's /tokenize, /detokenize)
 * read into C structs, every field checked as OpenAI checks it: a wrong type or value is a 400
 * naming the parameter; unknown fields are ignored. Pure: no model, no I/O (fuzz_serve_request). */
#ifndef SERVE_REQUEST_H
#define SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "milrun.h"
#include "util/error.h"

/* An OpenAI error object: {"error": {"message", "type", "param", "code"}} with its HTTP status. */
typedef struct srv_error {
  int status;
  const char *type;  /* "invalid_request_error", "authentication_error", "server_error", ... */
  const char *code;  /* NULL: null */
  char param[96];    /* "": null */
  char message[512];
} srv_error;
/* Fill e; returns -1 (so that `return srv_fail(...)`). */
int srv_fail(srv_error *e, int status, const char *type, const char *code, const char *param, const char *fmt, ...)
    MR_PRINTF(6, 7);

enum { SRV_CHAT, SRV_COMPLETION };
#define SRV_MAX_STOP 4
#define SRV_MAX_TOP_LOGPROBS 20

typedef struct srv_params {
  int kind;
  mr_chat_message *msgs; /* chat: role and content (own copies) */
  size_t n_msgs;
  char *prompt;          /* completion: the prompt text, or NULL when given as token ids */
  int32_t *ids;          /* completion: the prompt as token ids */
  size_t n_ids;
  int stream, include_usage;
  int max_tokens;        /* 0: not given */
  int ignore_eos;        /* llama.cpp's: stop tokens do not end the generation */
  mr_sampling sampling;  /* milrun's defaults (llama.cpp's) where not given */
  int has_seed;
  char *stop[SRV_MAX_STOP];
  int n_stop;
  int logprobs;          /* -1: off; else how many most likely tokens per position */
  int think;             /* chat_template_kwargs.enable_thinking: 1, 0, or -1 when not given */
} srv_params;

/* Read the body of /v1/chat/completions (SRV_CHAT) or /v1/completions (SRV_COMPLETION). Returns 0,
 * or -1 with e filled (p then holds nothing to free). */
int srv_parse_generation(int kind, const char *body, size_t len, srv_params *p, srv_error *e);
void srv_params_free(srv_params *p);

/* /tokenize: {"content": string, "add_special": bool, "with_pieces": bool}; *content is new. */
int srv_parse_tokenize(const char *body, size_t len, char **content, int *with_pieces, srv_error *e);
/* /detokenize: {"tokens": [int, ...]}; *ids is new (NULL when empty). */
int srv_parse_detokenize(const char *body, size_t len, int32_t **ids, size_t *n, srv_error *e);

#endif
