/* added.c — finding added tokens (<|im_start|>, <think>, ...) in raw text.
 *
 * HF matches all added tokens at once with Aho-Corasick, leftmost-longest: the match that starts
 * first wins, and of those the longest. Then it drops a match that is a special token when special
 * tokens are not parsed, or a single_word token inside a word, and resumes the search after it (so
 * a dropped match still hides the shorter tokens inside it). lstrip/rstrip widen the match over
 * neighbouring whitespace. Vocabularies have a few dozen to a few hundred added tokens, so a
 * first-byte filter plus memcmp against tokens sorted longest first is fast enough: at most positions
 * the first byte alone rules every token out. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok.h"

static int longer_first(const void *pa, const void *pb) {
  const tok_added *a = pa, *b = pb;
  if (a->len != b->len) return a->len > b->len ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

void tok_added_sort(mr_tokenizer *t) {
  if (t->n_added > 1) qsort(t->added, (size_t)t->n_added, sizeof *t->added, longer_first);
  memset(t->added_first, 0, sizeof t->added_first);
  for (int k = 0; k < t->n_added; k++)
    t->added_first[t->added[k].normalized ? 1 : 0][(unsigned char)t->bytes.buf[t->added[k].off]] = 1;
}

/* Unicode White_Space (Rust's char::is_whitespace). */
static int is_space(int32_t c) {
  return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The code point ending at s[end), or -1; *len gets its length. */
static int32_t char_before(const unsigned char *s, size_t lo, size_t end, int *len) {
  size_t b = end;
  while (b > lo && end - b < 4) {
    b--;
    if ((s[b] & 0xC0) != 0x80) break;
  }
  int32_t cp;
  int k = b < end ? tok_utf8_decode(s + b, end - b, &cp) : 0;
  *len = k > 0 ? k : 1;
  return k > 0 && (size_t)k == end - b ? cp : -1;
}

static int is_word_char(int32_t c) {
  if (c < 0) return 0;
  if (c < 128) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return 0; /* non-ASCII letters: see single_word_ok */
}

/* single_word: the match must not touch a word character on either side. */
static int single_word_ok(const unsigned char *s, size_t n, size_t start, size_t end) {
  int len;
  int32_t before = start > 0 ? char_before(s, 0, start, &len) : -1, after = -1;
  if (end < n) tok_utf8_decode(s + end, n - end, &after);
  return !is_word_char(before) && !is_word_char(after);
}

/* Leftmost-longest raw match at or after pos among tokens of the given class. */
static const tok_added *raw_match(const mr_tokenizer *t, const unsigned char *s, size_t n, size_t pos,
                                  int normalized, size_t *at) {
  const uint8_t *first = t->added_first[normalized ? 1 : 0];
  for (size_t i = pos; i < n; i++) {
    if (!first[s[i]]) continue;
    for (int k = 0; k < t->n_added; k++) {
      const tok_added *a = &t->added[k];
      if ((a->normalized != 0) == (normalized != 0) && a->len <= n - i && !memcmp(s + i, t->bytes.buf + a->off, a->len)) {
        *at = i;
        return a;
      }
    }
  }
  return NULL;
}

int tok_added_find(const mr_tokenizer *t, const unsigned char *s, size_t n, size_t from, int normalized,
                   int parse_special, size_t *start, size_t *end, int32_t *id) {
  size_t pos = from, at;
  const tok_added *a;
  while ((a = raw_match(t, s, n, pos, normalized, &at))) {
    size_t b = at, e = at + a->len;
    pos = e;
    if ((a->special && !parse_special) || (a->single_word && !single_word_ok(s, n, b, e))) continue;
    int len;
    int32_t cp;
    while (a->lstrip && b > from && is_space(char_before(s, from, b, &len))) b -= (size_t)len;
    while (a->rstrip && e < n && (len = tok_utf8_decode(s + e, n - e, &cp)) > 0 && is_space(cp)) e += (size_t)len;
    *start = b;
    *end = e;
    *id = a->id;
    return 1;
  }
  return 0;
}
