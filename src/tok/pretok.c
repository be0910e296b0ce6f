/* pretok.c — the text stages between added tokens and BPE: NFC normalisation (utf8proc) and the
 * Split pre-tokenizer's regex (PCRE2 with Unicode properties and JIT).
 *
 * HF runs the split regex with Oniguruma. PCRE2 agrees with it on \p{L}, \p{N}, (?i:...) and
 * lookahead, but not exactly on \s: Oniguruma's \s is Unicode White_Space, while PCRE2 10.42's \s
 * in UCP mode also matches U+180E MONGOLIAN VOWEL SEPARATOR (White_Space until Unicode 6.3).
 * tok_regex_translate() therefore rewrites \s and \S into explicit White_Space classes. Invalid UTF-8 cannot reach HF (its input is a Rust &str); milrun defines it:
 * each byte of an invalid sequence becomes its own byte token, and the valid text around it is
 * normalised and split on its own. */
#include <string.h>
#include <utf8proc.h>

#include "tok/tok.h"
#include "util/alloc.h"
#include "util/error.h"

const char tok_gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

#define WS_CLASS "\\t-\\r\\x{85}\\p{Z}" /* Unicode White_Space */

/* Rewrite \s and \S (see the file comment). \S inside a class has no class form: refuse it. */
int tok_regex_translate(const char *pat, util_sb *out) {
  int in_class = 0;
  for (const char *p = pat; *p; p++) {
    if (*p == '\\' && p[1]) {
      p++;
      if (*p == 's') util_sb_puts(out, in_class ? WS_CLASS : "[" WS_CLASS "]");
      else if (*p == 'S' && !in_class) util_sb_puts(out, "[^" WS_CLASS "]");
      else if (*p == 'S') return -1;
      else util_sb_putc(out, '\\'), util_sb_putc(out, *p);
    } else if (*p == '[' && !in_class) {
      in_class = 1;
      util_sb_putc(out, *p);
      if (p[1] == '^') util_sb_putc(out, *++p);
      if (p[1] == ']') util_sb_putc(out, *++p); /* a leading ']' is a literal */
    } else if (*p == '[' && p[1] == ':') { /* POSIX class inside a class: copy through ":]" */
      const char *e = strstr(p, ":]");
      size_t n = e ? (size_t)(e + 2 - p) : strlen(p);
      util_sb_append(out, p, n);
      p += n - 1;
    } else {
      if (*p == ']') in_class = 0;
      util_sb_putc(out, *p);
    }
  }
  return 0;
}

static void *pcre_alloc(PCRE2_SIZE n, void *ud) {
  (void)ud;
  return mr_alloc(n);
}
static void pcre_free(void *p, void *ud) {
  (void)ud;
  mr_free(p);
}

int tok_pretok_compile(mr_tokenizer *t, const char *pattern, mr_error *err) {
  util_sb pat = {0};
  if (tok_regex_translate(pattern, &pat)) {
    util_sb_free(&pat);
    return util_err(err, MR_ENOTSUP, "%s: split pattern uses \\S inside a character class", t->path);
  }
  if (util_sb_failed(&pat)) {
    util_sb_free(&pat);
    return util_err_nomem(err, t->path);
  }
  if (!t->gctx) t->gctx = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
  pcre2_compile_context *cc = t->gctx ? pcre2_compile_context_create(t->gctx) : NULL;
  int code = 0;
  PCRE2_SIZE off = 0;
  if (cc) t->re = pcre2_compile((PCRE2_SPTR)pat.buf, pat.len, PCRE2_UTF | PCRE2_UCP, &code, &off, cc);
  pcre2_compile_context_free(cc);
  util_sb_free(&pat);
  if (!cc) return util_err_nomem(err, t->path);
  if (!t->re) {
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(code, msg, sizeof msg);
    return util_err(err, MR_EFORMAT, "%s: split pattern: %s (at offset %zu of the translated pattern)", t->path,
                    (const char *)msg, (size_t)off);
  }
  pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* optional: without JIT the interpreter runs */
  t->md = pcre2_match_data_create_from_pattern(t->re, t->gctx);
  return t->md ? MR_OK : util_err_nomem(err, t->path);
}

/* NFC of the valid UTF-8 s[0..n) into w->nfc_out. ASCII is its own NFC, and so is most text. */
static int nfc(tok_work *w, const unsigned char *s, size_t n, const unsigned char **res, size_t *rn) {
  size_t i = 0;
  while (i < n && s[i] < 0x80) i++;
  if (i == n) {
    *res = s, *rn = n;
    return MR_OK;
  }
  const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  for (;;) {
    utf8proc_ssize_t got = utf8proc_decompose_custom(s, (utf8proc_ssize_t)n, w->nfc_cp, (utf8proc_ssize_t)w->nfc_cap,
                                                     opt, NULL, NULL);
    if (got < 0) return MR_EINTERNAL; /* the caller passes only valid UTF-8 */
    if ((size_t)got <= w->nfc_cap) {
      got = utf8proc_reencode(w->nfc_cp, got, opt); /* composes, then writes UTF-8 in place */
      if (got < 0) return MR_EINTERNAL;
      w->nfc_out.len = 0;
      util_sb_append(&w->nfc_out, (const char *)w->nfc_cp, (size_t)got);
      if (util_sb_failed(&w->nfc_out)) return MR_ENOMEM;
      *res = (const unsigned char *)w->nfc_out.buf, *rn = (size_t)got;
      return MR_OK;
    }
    size_t cap = (size_t)got + 64;
    int32_t *b = mr_realloc(w->nfc_cp, cap * sizeof *b);
    if (!b) return MR_ENOMEM;
    w->nfc_cp = b, w->nfc_cap = cap;
  }
}

/* One pre-token: optional prefix space (ByteLevel add_prefix_space), then BPE. */
static int piece(mr_tokenizer *t, const unsigned char *s, size_t n, int prefix, tok_ids *out) {
  if (!n) return MR_OK;
  if (!prefix || s[0] == ' ') return tok_bpe_word(t, s, n, out);
  unsigned char small[256];
  unsigned char *buf = n < sizeof small ? small : mr_alloc(n + 1);
  if (!buf) return MR_ENOMEM;
  buf[0] = ' ';
  memcpy(buf + 1, s, n);
  int rc = tok_bpe_word(t, buf, n + 1, out);
  if (buf != small) mr_free(buf);
  return rc;
}

/* The regex split (behaviour Isolated: matches and the gaps between them are pieces). */
static int split_pieces(mr_tokenizer *t, const unsigned char *s, size_t n, tok_ids *out, mr_error *err) {
  int each = t->add_prefix_space == 2;
  if (!t->re) return piece(t, s, n, each, out);
  size_t pos = 0;
  while (pos < n) {
    int rc = pcre2_match(t->re, s, n, pos, PCRE2_NO_UTF_CHECK, t->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[160];
      pcre2_get_error_message(rc, msg, sizeof msg);
      return util_err(err, MR_ENOTSUP, "%s: split pattern failed on the input: %s", t->path, (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
    size_t b = ov[0], e = ov[1];
    if (e == b) { /* an empty match splits nothing: step over one character */
      int32_t cp;
      int k = tok_utf8_decode(s + b, n - b, &cp);
      e = b + (size_t)(k > 0 ? k : 1);
      if ((rc = piece(t, s + pos, e - pos, each, out))) return rc;
    } else if ((rc = piece(t, s + pos, b - pos, each, out)) || (rc = piece(t, s + b, e - b, each, out))) return rc;
    pos = e;
  }
  return piece(t, s + pos, n - pos, each, out);
}

/* piece() fails only for lack of memory; give that failure its message. */
static int split(mr_tokenizer *t, const unsigned char *s, size_t n, tok_ids *out, mr_error *err) {
  int rc = split_pieces(t, s, n, out, err);
  return rc == MR_ENOMEM ? util_err_nomem(err, "encode") : rc;
}

/* A valid UTF-8 run: normalise, take out normalized added tokens, split the rest. */
static int valid_run(mr_tokenizer *t, const unsigned char *s, size_t n, int parse_special, tok_ids *out,
                     mr_error *err) {
  int rc = MR_OK;
  if (t->normalizer == TOK_NORM_NFC && (rc = nfc(&t->work, s, n, &s, &n)))
    return rc == MR_ENOMEM ? util_err_nomem(err, "tokenizer") : util_err(err, rc, "NFC normalisation failed");
  size_t pos = 0, b, e;
  int32_t id;
  while (!rc && tok_added_find(t, s, n, pos, 1, parse_special, &b, &e, &id)) {
    rc = split(t, s + pos, b - pos, out, err);
    tok_ids_push(out, id);
    pos = e;
  }
  return rc ? rc : split(t, s + pos, n - pos, out, err);
}

int tok_encode_span(mr_tokenizer *t, const unsigned char *s, size_t n, int parse_special, tok_ids *out,
                    mr_error *err) {
  if (t->add_prefix_space == 1 && n && s[0] != ' ') { /* GPT-2 style: one space before the span */
    unsigned char *buf = mr_alloc(n + 1);
    if (!buf) return util_err_nomem(err, "tokenizer");
    buf[0] = ' ';
    memcpy(buf + 1, s, n);
    int saved = t->add_prefix_space, rc;
    t->add_prefix_space = 0;
    rc = tok_encode_span(t, buf, n + 1, parse_special, out, err);
    t->add_prefix_space = saved;
    mr_free(buf);
    return rc;
  }
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    int32_t cp;
    int k = 0;
    while (j < n && (k = tok_utf8_decode(s + j, n - j, &cp)) > 0) j += (size_t)k;
    int rc = j > i ? valid_run(t, s + i, j - i, parse_special, out, err) : MR_OK;
    if (rc) return rc;
    if (j < n) { /* one invalid byte: its byte token */
      if (t->byte_id[s[j]] >= 0) tok_ids_push(out, t->byte_id[s[j]]);
      j++;
    }
    i = j;
  }
  return out->failed ? util_err_nomem(err, "tokenizer") : MR_OK;
}
