/* reply.h — the JSON that OpenAI's endpoints answer: chat.completion and text_completion objects,
 * their server-sent-event chunks ("data: {...}\n\n", ending with "data: [DONE]"), usage, logprobs
 * in each endpoint's shape, and error objects. */
#ifndef SERVE_REPLY_H
#define SERVE_REPLY_H

#include "milrun.h"
#include "serve/request.h"
#include "serve/slots.h"
#include "util/strbuf.h"

typedef struct srv_reply {
  int kind;              /* SRV_CHAT or SRV_COMPLETION */
  char id[48];           /* chatcmpl-... / cmpl-... */
  const char *model;
  long long created;     /* Unix time */
  const mr_tokenizer *tok;
  int include_usage;     /* stream_options.include_usage */
  size_t prompt_tokens;
} srv_reply;

void srv_reply_init(srv_reply *r, int kind, const char *model, const mr_tokenizer *tok, size_t prompt_tokens);

/* The answer to a finished job (read under j->mu). */
void srv_reply_full(const srv_reply *r, const srv_job *j, util_sb *out);
/* Stream events: the opening one (chat: the assistant role), one for pieces[i], and the end
 * (finish reason, usage when asked, or the job's error; then [DONE]). */
void srv_reply_stream_start(const srv_reply *r, util_sb *out);
void srv_reply_stream_piece(const srv_reply *r, const srv_job *j, size_t i, util_sb *out);
void srv_reply_stream_end(const srv_reply *r, const srv_job *j, util_sb *out);

/* {"error": {"message", "type", "param", "code"}} */
void srv_error_json(const srv_error *e, util_sb *out);
/* A piece of text as a JSON value (cJSON's escaping), appended. */
void srv_json_string(util_sb *out, const char *s, size_t n);

#endif
