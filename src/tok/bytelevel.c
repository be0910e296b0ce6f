/* bytelevel.c — GPT-2's byte <-> character mapping, and the UTF-8 coding the tokenizer relies on.
 *
 * Byte-level BPE vocabularies store every token as a string of 256 "byte characters": the
 * printable bytes ! .. ~, ¡ .. ¬ and ® .. ÿ stand for themselves, the other 68 bytes become
 * U+0100.. in byte order (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A). milrun converts the
 * vocabulary back to raw bytes when it loads, so encoding never builds these strings. */
#include "tok/tok.h"

static int printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

/* The 68 other bytes are 0..32, 127..160 and 173, numbered in that order from U+0100. */
uint32_t tok_byte_to_char(uint8_t b) {
  if (printable(b)) return b;
  if (b <= 32) return 256u + b;
  if (b <= 160) return 256u + 33u + (b - 127u);
  return 256u + 67u; /* 173 */
}

int tok_char_to_byte(uint32_t cp) {
  if (cp < 256) return printable(cp) ? (int)cp : -1;
  if (cp < 256 + 33) return (int)(cp - 256);
  if (cp < 256 + 67) return (int)(cp - 256 - 33 + 127);
  return cp == 256 + 67 ? 173 : -1;
}

int tok_utf8_decode(const unsigned char *s, size_t n, int32_t *cp) {
  unsigned c = s[0];
  *cp = -1;
  if (c < 0x80) {
    *cp = (int32_t)c;
    return 1;
  }
  int len;
  uint32_t v;
  unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07;
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* > U+10FFFF */
  } else return -1;
  for (int i = 1; i < len; i++) {
    if ((size_t)i >= n) return -i; /* truncated: the whole valid prefix is one invalid chunk */
    unsigned d = s[i];
    if (d < (i == 1 ? lo : 0x80) || d > (i == 1 ? hi : 0xBF)) return -i;
    v = (v << 6) | (d & 0x3F);
  }
  *cp = (int32_t)v;
  return len;
}

int tok_utf8_encode(uint32_t cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

int tok_bytelevel_decode(const char *s, size_t n, util_sb *out) {
  size_t start = out->len;
  for (size_t i = 0; i < n;) {
    int32_t cp;
    int k = tok_utf8_decode((const unsigned char *)s + i, n - i, &cp);
    int b = k > 0 ? tok_char_to_byte((uint32_t)cp) : -1;
    if (b < 0) {
      out->len = start < out->len ? start : out->len; /* drop the partial result */
      if (out->buf) out->buf[out->len] = 0;
      return -1;
    }
    util_sb_putc(out, (char)b);
    i += (size_t)k;
  }
  return 0;
}

void tok_bytelevel_encode(const unsigned char *s, size_t n, util_sb *out) {
  char u[4];
  for (size_t i = 0; i < n; i++) util_sb_append(out, u, (size_t)tok_utf8_encode(tok_byte_to_char(s[i]), u));
}
