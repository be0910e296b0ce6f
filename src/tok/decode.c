/* decode.c — ids -> bytes -> UTF-8, whole (mr_tokenizer_decode) or streaming (mr_detok).
 *
 * Every id maps to a fixed byte string (load.c worked it out: the byte-level decoding of the token,
 * or an added token's text). Tokens may end inside a multi-byte character, so text is only valid
 * once bytes are joined. Invalid sequences become U+FFFD, one per "maximal subpart" (the rule of
 * Unicode §3.9 that Rust's String::from_utf8_lossy, and so HF, follow). The streaming decoder holds
 * back a trailing sequence that is still incomplete, so a character is printed once, whole. */
#include <string.h>

#include "tok/tok.h"
#include "util/alloc.h"
#include "util/error.h"

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Append the bytes of id, or fail for an id outside [0, vocab_size). */
static int id_bytes(const mr_tokenizer *t, int32_t id, int flags, util_sb *out, mr_error *err) {
  if (id < 0 || id >= t->vocab_size)
    return util_err(err, MR_EINVAL, "token id %d is out of range (vocabulary size %d)", (int)id, (int)t->vocab_size);
  if (id >= t->n_tokens) return MR_OK; /* padding rows of the model's embedding: no text */
  const tok_token *k = &t->tokens[id];
  if ((flags & MR_TOK_SKIP_SPECIAL) && (k->flags & TOK_F_SPECIAL)) return MR_OK;
  util_sb_append(out, t->bytes.buf + k->off, k->len);
  return MR_OK;
}

size_t mr_tokenizer_token_bytes(const mr_tokenizer *t, int32_t id, const char **bytes) {
  *bytes = "";
  if (id < 0 || id >= t->n_tokens) return 0;
  *bytes = t->bytes.buf + t->tokens[id].off;
  return t->tokens[id].len;
}

static int is_lead(unsigned c) { return c >= 0xC2 && c <= 0xF4; }

/* Append s[0..n) to out with invalid sequences replaced. If keep_tail, a trailing sequence that is
 * incomplete but could still become valid is not consumed; returns the bytes consumed. */
static size_t lossy(const unsigned char *s, size_t n, int keep_tail, util_sb *out) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] < 0x80) j++; /* ASCII run */
    if (j > i) util_sb_append(out, (const char *)s + i, j - i);
    i = j;
    if (i == n) break;
    int32_t cp;
    int k = tok_utf8_decode(s + i, n - i, &cp);
    if (k > 0) {
      util_sb_append(out, (const char *)s + i, (size_t)k);
      i += (size_t)k;
    } else if (keep_tail && is_lead(s[i]) && (size_t)-k == n - i) {
      break; /* incomplete: wait for more bytes */
    } else {
      util_sb_append(out, REPLACEMENT, 3);
      i += (size_t)-k;
    }
  }
  return i;
}

int mr_tokenizer_decode(const mr_tokenizer *t, const int32_t *ids, size_t n, int flags, char **text, size_t *len,
                        mr_error *err) {
  *text = NULL;
  if (len) *len = 0;
  if (!t || (!ids && n)) return util_err(err, MR_EINVAL, "mr_tokenizer_decode: no tokenizer or ids");
  util_sb raw = {0}, out = {0};
  int rc = MR_OK;
  for (size_t i = 0; i < n && !rc; i++) rc = id_bytes(t, ids[i], flags, &raw, err);
  if (!rc) lossy((const unsigned char *)raw.buf, raw.len, 0, &out);
  util_sb_free(&raw);
  if (!rc && util_sb_failed(&out)) rc = util_err_nomem(err, "decode");
  if (rc) {
    util_sb_free(&out);
    return rc;
  }
  size_t olen = out.len;
  *text = util_sb_take(&out);
  if (!*text) return util_err_nomem(err, "decode");
  if (len) *len = olen;
  return MR_OK;
}

/* ---- streaming ----------------------------------------------------------------------------- */
struct mr_detok {
  const mr_tokenizer *t;
  int flags;
  util_sb pending; /* bytes not yet returned: an incomplete trailing sequence (< 4 bytes) */
  util_sb out;     /* the text returned by the last call */
};

int mr_detok_new(const mr_tokenizer *t, int flags, mr_detok **out, mr_error *err) {
  *out = NULL;
  if (!t) return util_err(err, MR_EINVAL, "mr_detok_new: no tokenizer");
  mr_detok *d = util_calloc(1, sizeof *d);
  if (!d) return util_err_nomem(err, "decoder");
  d->t = t;
  d->flags = flags;
  *out = d;
  return MR_OK;
}

int mr_detok_push(mr_detok *d, int32_t id, const char **text, size_t *len, mr_error *err) {
  *text = "";
  *len = 0;
  int rc = id_bytes(d->t, id, d->flags, &d->pending, err);
  if (rc) return rc;
  d->out.len = 0;
  if (d->out.buf) d->out.buf[0] = 0;
  size_t used = lossy((const unsigned char *)d->pending.buf, d->pending.len, 1, &d->out);
  if (util_sb_failed(&d->pending) || util_sb_failed(&d->out)) {
    util_sb_free(&d->pending);
    util_sb_free(&d->out);
    return util_err_nomem(err, "decoder");
  }
  memmove(d->pending.buf, d->pending.buf + used, d->pending.len - used);
  d->pending.len -= used;
  *text = util_sb_cstr(&d->out);
  *len = d->out.len;
  return MR_OK;
}

void mr_detok_flush(mr_detok *d, const char **text, size_t *len) {
  d->out.len = 0;
  if (d->out.buf) d->out.buf[0] = 0;
  if (d->pending.len) lossy((const unsigned char *)d->pending.buf, d->pending.len, 0, &d->out);
  d->pending.len = 0;
  *text = util_sb_cstr(&d->out);
  *len = util_sb_failed(&d->out) ? 0 : d->out.len;
}

void mr_detok_free(mr_detok *d) {
  if (!d) return;
  util_sb_free(&d->pending);
  util_sb_free(&d->out);
  mr_free(d);
}
