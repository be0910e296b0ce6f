/* lex.c — the model.mil lexer (docs/formats.md §2.1): whitespace and '#' comments are skipped;
 * identifiers, numbers, strings, '->' and one-character punctuation become tokens that point into
 * the caller's buffer. Every read is guarded by the buffer length, so a truncated or binary input
 * can only produce MIL_TK_BAD or MIL_TK_EOF. */
#include "mil/lex.h"

#include <limits.h>

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_ident_start(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_ident_char(int c) { return is_ident_start(c) || is_digit(c) || c == '@'; }

void mil_lex_init(mil_lexer *lx, const char *src, size_t len) {
  lx->src = src;
  lx->len = len;
  lx->pos = 0;
  lx->line = 1;
  lx->line_start = 0;
}

/* The byte at pos + k, or -1 past the end (so lookahead needs no separate bounds checks). */
static int peek(const mil_lexer *lx, size_t k) {
  return lx->pos + k < lx->len ? (unsigned char)lx->src[lx->pos + k] : -1;
}

static void newline(mil_lexer *lx) {
  if (lx->line < INT_MAX) lx->line++;
  lx->line_start = lx->pos;
}

static void skip_space(mil_lexer *lx) {
  for (;;) {
    int c = peek(lx, 0);
    if (c == '\n') {
      lx->pos++;
      newline(lx);
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      lx->pos++;
    } else if (c == '#') { /* comment to the end of the line */
      while (lx->pos < lx->len && lx->src[lx->pos] != '\n') lx->pos++;
    } else {
      return;
    }
  }
}

static void start(const mil_lexer *lx, mil_token *t, mil_tok_kind kind) {
  size_t col = lx->pos - lx->line_start + 1;
  t->kind = kind;
  t->punct = 0;
  t->p = lx->src + lx->pos;
  t->n = 0;
  t->line = lx->line;
  t->col = col > INT_MAX ? INT_MAX : (int)col;
  t->bad = NULL;
}

static void finish(const mil_lexer *lx, mil_token *t) { t->n = (size_t)(lx->src + lx->pos - t->p); }

static void bad(mil_token *t, const char *why) {
  t->kind = MIL_TK_BAD;
  t->bad = why;
}

static void skip_digits(mil_lexer *lx, int (*cls)(int)) {
  while (peek(lx, 0) >= 0 && cls(peek(lx, 0))) lx->pos++;
}

/* number = "-"? ( "0x" HEX+ ("." HEX*)? ("p" [+-]? DIGIT+)? | DIGIT+ ("." DIGIT*)? ([eE] [+-]? DIGIT+)? ) */
static void lex_number(mil_lexer *lx, mil_token *t) {
  start(lx, t, MIL_TK_INT);
  if (peek(lx, 0) == '-') lx->pos++;
  int ok = 1;
  if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X')) {
    t->kind = MIL_TK_FLOAT;
    lx->pos += 2;
    ok = is_hex(peek(lx, 0));
    skip_digits(lx, is_hex);
    if (peek(lx, 0) == '.') {
      lx->pos++;
      skip_digits(lx, is_hex);
    }
    if (peek(lx, 0) == 'p' || peek(lx, 0) == 'P') {
      lx->pos++;
      if (peek(lx, 0) == '+' || peek(lx, 0) == '-') lx->pos++;
      ok = ok && is_digit(peek(lx, 0));
      skip_digits(lx, is_digit);
    }
  } else {
    skip_digits(lx, is_digit);
    if (peek(lx, 0) == '.') {
      t->kind = MIL_TK_FLOAT;
      lx->pos++;
      skip_digits(lx, is_digit);
    }
    if ((peek(lx, 0) == 'e' || peek(lx, 0) == 'E') &&
        (is_digit(peek(lx, 1)) || ((peek(lx, 1) == '+' || peek(lx, 1) == '-') && is_digit(peek(lx, 2))))) {
      t->kind = MIL_TK_FLOAT;
      lx->pos += 2;
      skip_digits(lx, is_digit);
    }
  }
  /* A number glued to letters or another '.' ("12ab", "1.2.3") is one malformed token. */
  if (peek(lx, 0) >= 0 && (is_ident_char(peek(lx, 0)) || peek(lx, 0) == '.')) {
    ok = 0;
    while (peek(lx, 0) >= 0 && (is_ident_char(peek(lx, 0)) || peek(lx, 0) == '.')) lx->pos++;
  }
  finish(lx, t);
  if (!ok) bad(t, "malformed number");
}

static int simple_escape(int c) {
  switch (c) {
  case '"': case '\\': case '\'': case '?': case 'a': case 'b': case 'f': case 'n': case 'r':
  case 't': case 'v': return 1;
  default: return 0;
  }
}

static int hex_val(int c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

/* Length of a valid escape starting at the backslash at s[0] (avail bytes readable), else 0.
 * \xH or \xHH; a NUL (\x0, \x00) is refused because IR strings are C strings. */
static size_t escape_len(const char *s, size_t avail) {
  if (avail < 2) return 0;
  int c = (unsigned char)s[1];
  if (simple_escape(c)) return 2;
  if (c != 'x' || avail < 3 || !is_hex((unsigned char)s[2])) return 0;
  size_t n = (avail >= 4 && is_hex((unsigned char)s[3])) ? 4 : 3;
  int v = hex_val((unsigned char)s[2]);
  if (n == 4) v = v * 16 + hex_val((unsigned char)s[3]);
  return v ? n : 0;
}

static void lex_string(mil_lexer *lx, mil_token *t) {
  start(lx, t, MIL_TK_STRING);
  lx->pos++;
  for (;;) {
    int c = peek(lx, 0);
    if (c < 0 || c == '\n') { /* a raw newline is not allowed inside a string */
      finish(lx, t);
      bad(t, "unterminated string");
      return;
    }
    if (c == '"') break;
    if (c == 0) { /* IR strings are C strings */
      start(lx, t, MIL_TK_BAD);
      lx->pos++;
      finish(lx, t);
      bad(t, "NUL byte in string");
      return;
    }
    if (c == '\\') {
      size_t n = escape_len(lx->src + lx->pos, lx->len - lx->pos);
      if (!n) {
        start(lx, t, MIL_TK_BAD);
        lx->pos += peek(lx, 1) >= 0 && peek(lx, 1) != '\n' ? 2 : 1;
        finish(lx, t);
        bad(t, "invalid escape in string");
        return;
      }
      lx->pos += n;
    } else {
      lx->pos++;
    }
  }
  lx->pos++;
  finish(lx, t);
}

void mil_lex_next(mil_lexer *lx, mil_token *t) {
  skip_space(lx);
  int c = peek(lx, 0);
  if (c < 0) {
    start(lx, t, MIL_TK_EOF);
    return;
  }
  if (is_ident_start(c)) {
    start(lx, t, MIL_TK_IDENT);
    while (peek(lx, 0) >= 0 && is_ident_char(peek(lx, 0))) lx->pos++;
    finish(lx, t);
  } else if (is_digit(c) || (c == '-' && is_digit(peek(lx, 1)))) {
    lex_number(lx, t);
  } else if (c == '-' && peek(lx, 1) == '>') {
    start(lx, t, MIL_TK_ARROW);
    lx->pos += 2;
    finish(lx, t);
  } else if (c == '-' && is_ident_start(peek(lx, 1))) {
    /* -inf / -nan: the only signed identifiers */
    start(lx, t, MIL_TK_FLOAT);
    lx->pos++;
    while (peek(lx, 0) >= 0 && is_ident_char(peek(lx, 0))) lx->pos++;
    finish(lx, t);
    if (!(t->n == 4 && (t->p[1] == 'i' && t->p[2] == 'n' && t->p[3] == 'f')) &&
        !(t->n == 4 && (t->p[1] == 'n' && t->p[2] == 'a' && t->p[3] == 'n')))
      bad(t, "malformed number");
  } else if (c == '"') {
    lex_string(lx, t);
  } else {
    start(lx, t, MIL_TK_PUNCT);
    lx->pos++;
    finish(lx, t);
    switch (c) {
    case '(': case ')': case '[': case ']': case '{': case '}': case '<': case '>': case ',':
    case '=': case ';': case '?': t->punct = (char)c; break;
    default: bad(t, "unexpected character");
    }
  }
}

long mil_lex_unescape(const mil_token *tok, char *out) {
  const char *s = tok->p + 1, *end = tok->p + tok->n - 1;
  long n = 0;
  while (s < end) {
    if (*s != '\\') {
      out[n++] = *s++;
      continue;
    }
    size_t k = escape_len(s, (size_t)(end - s));
    if (!k) return -1;
    int c = (unsigned char)s[1];
    switch (c) {
    case 'a': out[n++] = '\a'; break;
    case 'b': out[n++] = '\b'; break;
    case 'f': out[n++] = '\f'; break;
    case 'n': out[n++] = '\n'; break;
    case 'r': out[n++] = '\r'; break;
    case 't': out[n++] = '\t'; break;
    case 'v': out[n++] = '\v'; break;
    case 'x': {
      int v = hex_val((unsigned char)s[2]);
      if (k == 4) v = v * 16 + hex_val((unsigned char)s[3]);
      out[n++] = (char)v;
      break;
    }
    default: out[n++] = (char)c; break;
    }
    s += k;
  }
  return n;
}
