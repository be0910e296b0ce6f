/* lex.h — tokens of model.mil text (docs/formats.md §2.1). The lexer reads a (pointer, length)
 * buffer, never past its end and never relying on a NUL terminator; a token is a span of that
 * buffer plus its line:column. It reports a malformed token as MIL_TK_BAD with a message, so the
 * parser decides how to raise it (the lexer itself never jumps). */
#ifndef MIL_LEX_H
#define MIL_LEX_H

#include <stddef.h>

typedef enum mil_tok_kind {
  MIL_TK_EOF,
  MIL_TK_IDENT,  /* [A-Za-z_][A-Za-z0-9_@]*: names, keywords, dtypes, true/false/inf/nan */
  MIL_TK_INT,    /* -?[0-9]+ */
  MIL_TK_FLOAT,  /* hex float, decimal float, or -inf / -nan (a signed special) */
  MIL_TK_STRING, /* "..." with C escapes still encoded; the span includes the quotes */
  MIL_TK_ARROW,  /* -> */
  MIL_TK_PUNCT,  /* one of ( ) [ ] { } < > , = ; ? (in .punct) */
  MIL_TK_BAD     /* malformed input: .bad says why; line:col point at the problem */
} mil_tok_kind;

typedef struct mil_token {
  mil_tok_kind kind;
  char punct;        /* MIL_TK_PUNCT: the character */
  const char *p;     /* span in the source buffer (not NUL-terminated) */
  size_t n;
  int line, col;     /* 1-based; col counts bytes */
  const char *bad;   /* MIL_TK_BAD: a message such as "unterminated string" */
} mil_token;

typedef struct mil_lexer {
  const char *src;
  size_t len, pos;
  int line;
  size_t line_start; /* offset of the current line's first byte */
} mil_lexer;

void mil_lex_init(mil_lexer *lx, const char *src, size_t len);
/* Scan the next token into *tok. After MIL_TK_EOF it keeps returning MIL_TK_EOF. */
void mil_lex_next(mil_lexer *lx, mil_token *tok);

/* Decode a MIL_TK_STRING span (with quotes) into out (room for tok->n bytes); returns the decoded
 * length, or -1 if the escapes are invalid (the lexer has already rejected such tokens). */
long mil_lex_unescape(const mil_token *tok, char *out);

#endif
