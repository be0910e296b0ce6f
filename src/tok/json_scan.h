/* json_scan.h — a pull reader over a JSON text in memory, for the two big members of
 * tokenizer.json (model.vocab: 150k string -> int pairs; model.merges: 150k pairs) that a DOM
 * parser would turn into 600k heap nodes. Errors name the file, line and column. */
#ifndef TOK_JSON_SCAN_H
#define TOK_JSON_SCAN_H

#include <stddef.h>

#include "milrun.h"
#include "util/strbuf.h"

typedef struct tok_json {
  const char *start, *p, *end;
  const char *file; /* for messages */
  mr_error *err;
} tok_json;

/* The next non-blank character (not consumed), or -1 at the end. */
int tok_json_peek(tok_json *j);
/* Consume character c (after blanks) or fail with "expected 'c'". */
int tok_json_expect(tok_json *j, char c, const char *what);
/* A string: *s and *n point into the text when it has no escapes, else into `tmp` (cleared first). */
int tok_json_string(tok_json *j, util_sb *tmp, const char **s, size_t *n);
/* An integer that fits in int64. */
int tok_json_int(tok_json *j, long long *v);
/* Skip any value; *from and *to (may be NULL) receive its span. */
int tok_json_skip(tok_json *j, const char **from, const char **to);
/* Iterate the members of an object / the elements of an array whose opening bracket has been
 * consumed: returns 1 when another member/element follows (for objects, its key is read into
 * *key, *klen and the ':' consumed), 0 at the closing bracket (consumed), or an error < 0. */
int tok_json_member(tok_json *j, int *first, util_sb *tmp, const char **key, size_t *klen);
int tok_json_element(tok_json *j, int *first);
/* Fail with "file:line:col: msg". */
int tok_json_fail(tok_json *j, const char *msg);

#endif
