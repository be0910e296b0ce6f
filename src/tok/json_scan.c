/* json_scan.c — see json_scan.h. Strict JSON (RFC 8259) strings and numbers; \u escapes are
 * decoded to UTF-8 with surrogate pairs joined, and a lone surrogate is an error (HF's serde reader
 * rejects it too). Skipped values are checked as strictly as parsed ones. */
#include "tok/json_scan.h"

#include <stdio.h>
#include <string.h>

#include "tok/tok.h"
#include "util/error.h"

static void position(const tok_json *j, const char *at, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (const char *q = j->start; q < at; q++) {
    if (*q == '\n') (*line)++, *col = 1;
    else if (((unsigned char)*q & 0xC0) != 0x80) (*col)++;
  }
}

int tok_json_fail(tok_json *j, const char *msg) {
  int line, col;
  position(j, j->p, &line, &col);
  char found[16];
  if (j->p >= j->end) snprintf(found, sizeof found, "end of file");
  else if ((unsigned char)*j->p >= 32 && (unsigned char)*j->p < 127) snprintf(found, sizeof found, "'%c'", *j->p);
  else snprintf(found, sizeof found, "byte 0x%02x", (unsigned char)*j->p);
  return util_err(j->err, MR_EFORMAT, "%s:%d:%d: %s, found %s", j->file, line, col, msg, found);
}

static void blanks(tok_json *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

int tok_json_peek(tok_json *j) {
  blanks(j);
  return j->p < j->end ? (unsigned char)*j->p : -1;
}

int tok_json_expect(tok_json *j, char c, const char *what) {
  if (tok_json_peek(j) != (unsigned char)c) return tok_json_fail(j, what);
  j->p++;
  return MR_OK;
}

static int hex4(const char *p, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0') : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
               : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10) : 99u;
    if (d > 15) return -1;
    *v = *v * 16 + d;
  }
  return 0;
}

/* One escape after the backslash at j->p; appends its UTF-8 to tmp. */
static int escape(tok_json *j, util_sb *tmp) {
  const char *q = j->p + 1;
  if (q >= j->end) return tok_json_fail(j, "unfinished escape");
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *k = strchr(from, *q);
  if (*q && k) {
    util_sb_putc(tmp, to[k - from]);
    j->p = q + 1;
    return MR_OK;
  }
  unsigned v, lo;
  if (*q != 'u' || j->end - q < 5 || hex4(q + 1, &v)) return tok_json_fail(j, "invalid escape");
  q += 5;
  if (v >= 0xD800 && v <= 0xDBFF) {
    if (j->end - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
      return tok_json_fail(j, "unpaired surrogate in \\u escape");
    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
    q += 6;
  } else if (v >= 0xDC00 && v <= 0xDFFF) return tok_json_fail(j, "unpaired surrogate in \\u escape");
  char u[4];
  util_sb_append(tmp, u, (size_t)tok_utf8_encode(v, u));
  j->p = q;
  return MR_OK;
}

int tok_json_string(tok_json *j, util_sb *tmp, const char **s, size_t *n) {
  if (tok_json_peek(j) != '"') return tok_json_fail(j, "expected a string");
  const char *b = ++j->p;
  const char *q = b;
  while (q < j->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
  if (q < j->end && *q == '"') { /* common case: no escapes, point into the text */
    *s = b;
    *n = (size_t)(q - b);
    j->p = q + 1;
    return MR_OK;
  }
  tmp->len = 0;
  util_sb_append(tmp, b, (size_t)(q - b));
  j->p = q;
  for (;;) {
    if (j->p >= j->end) return tok_json_fail(j, "unterminated string");
    char c = *j->p;
    if (c == '"') break;
    if ((unsigned char)c < 0x20) return tok_json_fail(j, "control character in string");
    if (c == '\\') {
      int rc = escape(j, tmp);
      if (rc) return rc;
    } else {
      util_sb_putc(tmp, c);
      j->p++;
    }
  }
  j->p++;
  if (util_sb_failed(tmp)) return util_err_nomem(j->err, j->file);
  *s = util_sb_cstr(tmp);
  *n = tmp->len;
  return MR_OK;
}

int tok_json_int(tok_json *j, long long *v) {
  tok_json_peek(j);
  const char *q = j->p;
  int neg = q < j->end && *q == '-';
  q += neg;
  if (q >= j->end || *q < '0' || *q > '9') return tok_json_fail(j, "expected an integer");
  long long x = 0;
  while (q < j->end && *q >= '0' && *q <= '9') {
    if (x > (9223372036854775807LL - 9) / 10) return tok_json_fail(j, "integer too large");
    x = x * 10 + (*q++ - '0');
  }
  if (q < j->end && (*q == '.' || *q == 'e' || *q == 'E')) return tok_json_fail(j, "expected an integer");
  j->p = q;
  *v = neg ? -x : x;
  return MR_OK;
}

static int skip_literal(tok_json *j) {
  static const char *const words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, words[i], n)) {
      j->p += n;
      return MR_OK;
    }
  }
  const char *q = j->p;
  if (q < j->end && *q == '-') q++;
  if (q >= j->end || *q < '0' || *q > '9') return tok_json_fail(j, "expected a value");
  while (q < j->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')) q++;
  j->p = q;
  return MR_OK;
}

#define MAX_DEPTH 512

/* After '{' (pushed): either '}' or a first key and its ':'. Returns 1 if the object closed. */
static int open_object(tok_json *j, util_sb *tmp) {
  const char *s;
  size_t n;
  if (tok_json_peek(j) == '}') {
    j->p++;
    return 1;
  }
  int rc = tok_json_string(j, tmp, &s, &n);
  return rc ? rc : tok_json_expect(j, ':', "expected ':'");
}

/* Skip one value with an explicit stack of open brackets, so that deep nesting cannot overflow
 * the C stack; brackets must match and separators be in place, like a real parse. */
int tok_json_skip(tok_json *j, const char **from, const char **to) {
  util_sb tmp = {0};
  char stack[MAX_DEPTH];
  int depth = 0, rc = MR_OK;
  const char *s;
  size_t n;
  tok_json_peek(j);
  if (from) *from = j->p;
  for (;;) {
    int c = tok_json_peek(j), closed = 0;
    if (c == '{' || c == '[') { /* a value: open a container */
      if (depth == MAX_DEPTH) {
        rc = tok_json_fail(j, "nesting too deep");
        break;
      }
      j->p++;
      stack[depth++] = (char)c;
      if (c == '{') rc = open_object(j, &tmp);
      else if (tok_json_peek(j) == ']') j->p++, rc = 1;
      if (rc < 0) break;
      closed = rc == 1;
      rc = MR_OK;
      if (!closed) continue; /* read the first member's value */
      depth--;
    } else if (c == '"') rc = tok_json_string(j, &tmp, &s, &n);
    else rc = skip_literal(j);
    if (rc) break;
    /* after a value: close containers, or a ',' and the next member */
    for (;;) {
      if (!depth) goto done;
      c = tok_json_peek(j);
      char want = stack[depth - 1] == '{' ? '}' : ']';
      if (c == want) {
        j->p++;
        depth--;
        continue;
      }
      if (c != ',') {
        rc = tok_json_fail(j, want == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        goto done;
      }
      j->p++;
      if (want == '}') {
        rc = tok_json_string(j, &tmp, &s, &n);
        if (!rc) rc = tok_json_expect(j, ':', "expected ':'");
      }
      break;
    }
    if (rc) break;
  }
done:
  util_sb_free(&tmp);
  if (to) *to = j->p;
  return rc;
}

int tok_json_member(tok_json *j, int *first, util_sb *tmp, const char **key, size_t *klen) {
  int c = tok_json_peek(j);
  if (c == '}') {
    j->p++;
    return 0;
  }
  if (!*first) {
    if (c != ',') return tok_json_fail(j, "expected ',' or '}'");
    j->p++;
  }
  *first = 0;
  int rc = tok_json_string(j, tmp, key, klen);
  if (rc) return rc;
  rc = tok_json_expect(j, ':', "expected ':'");
  return rc ? rc : 1;
}

int tok_json_element(tok_json *j, int *first) {
  int c = tok_json_peek(j);
  if (c == ']') {
    j->p++;
    return 0;
  }
  if (!*first) {
    if (c != ',') return tok_json_fail(j, "expected ',' or ']'");
    j->p++;
  }
  *first = 0;
  return 1;
}
