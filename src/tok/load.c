/* load.c — reading tokenizer.json (and tokenizer_config.json) into an mr_tokenizer.
 *
 * tokenizer.json is 11 MB for Qwen, almost all of it model.vocab and model.merges. Those two are
 * read with the pull reader of json_scan.c straight into the id table and hash tables; the small
 * members (added_tokens, normalizer, pre_tokenizer, decoder) are cut out as text and parsed with
 * cJSON. Anything the encoder would not reproduce exactly (another model type, normaliser or
 * pre-tokenizer) is refused with MR_ENOTSUP rather than approximated. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "tok/json_scan.h"
#include "tok/tok.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

#define TOK_MAX_ID ((1 << 24) - 1) /* 16M ids is far beyond any vocabulary; vocab.c packs ids in 24 bits */

/* Spans of the members read in a second step. */
typedef struct spans {
  const char *vocab[2], *merges[2], *added[2], *normalizer[2], *pretok[2], *decoder[2], *model_type[2];
  const char *ignore_merges[2], *byte_fallback[2], *prefix[2], *suffix[2], *dropout[2];
  int vocab_done, merges_done; /* read in the first pass already */
} spans;

static int ensure_tokens(mr_tokenizer *t, int32_t id, mr_error *err) {
  if (id >= t->tokens_cap) {
    int32_t n = t->tokens_cap ? t->tokens_cap : 1024;
    while (n <= id) n *= 2;
    tok_token *nt = mr_realloc(t->tokens, (size_t)n * sizeof *nt);
    if (!nt) return util_err_nomem(err, t->path);
    memset(nt + t->tokens_cap, 0, (size_t)(n - t->tokens_cap) * sizeof *nt);
    t->tokens = nt;
    t->tokens_cap = n;
  }
  if (id >= t->n_tokens) t->n_tokens = id + 1;
  return MR_OK;
}

/* Record id's string and the bytes decoding emits: the byte-level decoding when every character
 * is a byte character, else the string itself (HF's ByteLevel decoder does the same). */
int tok_add_token_string(mr_tokenizer *t, int32_t id, const char *s, size_t n, uint32_t flags, mr_error *err) {
  int rc = ensure_tokens(t, id, err);
  if (rc) return rc;
  tok_token *k = &t->tokens[id];
  k->str_off = (uint32_t)t->strs.len;
  k->str_len = (uint32_t)n;
  util_sb_append(&t->strs, s, n);
  util_sb_putc(&t->strs, 0);
  k->off = (uint32_t)t->bytes.len;
  int bytelevel = tok_bytelevel_decode(s, n, &t->bytes) == 0;
  if (!bytelevel) util_sb_append(&t->bytes, s, n);
  k->len = (uint32_t)(t->bytes.len - k->off);
  if (!(flags & TOK_F_ADDED)) { /* a model token: its bytes are what BPE produces */
    k->key_off = k->off;
    k->key_len = k->len;
    if (bytelevel) flags |= TOK_F_ENCODABLE;
  }
  k->flags = (k->flags & TOK_F_ENCODABLE) | flags | TOK_F_PRESENT;
  if (util_sb_failed(&t->strs) || util_sb_failed(&t->bytes) || t->bytes.len > 0xFFFFFFF0u || t->strs.len > 0xFFFFFFF0u)
    return util_err_nomem(err, t->path);
  return MR_OK;
}

/* model.vocab: {"token": id, ...} */
static int read_vocab(mr_tokenizer *t, tok_json *j) {
  util_sb tmp = {0};
  int rc = tok_json_expect(j, '{', "model.vocab: expected '{'");
  int first = 1;
  while (!rc) {
    const char *key;
    size_t klen;
    long long id;
    rc = tok_json_member(j, &first, &tmp, &key, &klen);
    if (rc <= 0) break;
    tok_json_peek(j);
    const char *at = j->p;
    rc = tok_json_int(j, &id);
    if (rc) break;
    if (id < 0 || id >= TOK_MAX_ID) {
      j->p = at;
      rc = tok_json_fail(j, "model.vocab: token id out of range");
    } else if (id < t->n_tokens && (t->tokens[id].flags & TOK_F_PRESENT)) {
      j->p = at;
      rc = tok_json_fail(j, "model.vocab: token id used twice");
    } else rc = tok_add_token_string(t, (int32_t)id, key, klen, 0, j->err);
  }
  util_sb_free(&tmp);
  return rc < 0 ? rc : MR_OK;
}

/* One merge "a b" or ["a", "b"]: its two strings into out (cleared first), one after the other. */
static int merge_parts(tok_json *j, util_sb *tmp, util_sb *out, size_t *na, size_t *nb) {
  tok_json_peek(j);
  const char *at = j->p, *s;
  size_t n;
  out->len = 0;
  int rc;
  if (tok_json_peek(j) == '[') {
    j->p++;
    rc = tok_json_string(j, tmp, &s, &n);
    if (!rc) util_sb_append(out, s, n), *na = n;
    if (!rc) rc = tok_json_expect(j, ',', "model.merges: expected ','");
    if (!rc) rc = tok_json_string(j, tmp, &s, &n);
    if (!rc) util_sb_append(out, s, n), *nb = n;
    if (!rc) rc = tok_json_expect(j, ']', "model.merges: expected ']' after a pair");
    return rc;
  }
  rc = tok_json_string(j, tmp, &s, &n);
  if (rc) return rc;
  const char *sp = memchr(s, ' ', n);
  if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s))) {
    j->p = at;
    return tok_json_fail(j, "model.merges: a merge string must be two tokens separated by one space");
  }
  *na = (size_t)(sp - s);
  *nb = n - *na - 1;
  util_sb_append(out, s, *na);
  util_sb_append(out, sp + 1, *nb);
  return MR_OK;
}

/* Merges are resolved a few behind the parser: loading is bound by cache misses in the vocabulary
 * table (three random lookups per merge, 150k merges), so each merge's slots are prefetched when it
 * is parsed and looked up RING merges later, when they have arrived. */
#define RING 8

typedef struct pending {
  const char *at; /* where the merge starts in the text, for messages */
  int32_t rank;
  util_sb str;    /* a, b as written (byte-level form), one after the other */
  size_t sa, sb;  /* their lengths */
  util_sb raw;    /* their bytes, one after the other: a, b and a+b are spans of it */
  size_t na, nb;
  int bad;        /* a or b is not a byte-level string: not in the vocabulary */
  uint64_t h[3];
} pending;

static int resolve(mr_tokenizer *t, tok_json *j, pending *m) {
  const char *raw = util_sb_cstr(&m->raw);
  const size_t off[3] = {0, m->na, 0}, len[3] = {m->na, m->nb, m->na + m->nb};
  int32_t ids[3];
  for (int i = 0; i < 3; i++) {
    ids[i] = m->bad ? -1 : tok_strmap_get_hashed(t, raw + off[i], len[i], m->h[i]);
    if (ids[i] < 0) {
      const char *str = util_sb_cstr(&m->str);
      int n = (int)(i == 0 ? m->sa : i == 1 ? m->sb : m->sa + m->sb);
      char msg[200];
      snprintf(msg, sizeof msg, "model.merges: merge #%d: token '%.*s' is not in the vocabulary", (int)m->rank,
               n > 80 ? 80 : n, str + (i == 1 ? m->sa : 0));
      j->p = m->at;
      return tok_json_fail(j, msg);
    }
  }
  return tok_pairmap_put(&t->merges, ids[0], ids[1], m->rank, ids[2]) ? util_err_nomem(j->err, t->path) : MR_OK;
}

/* Parse one merge into m and start fetching its table slots. */
static int parse_merge(mr_tokenizer *t, tok_json *j, int32_t rank, util_sb *tmp, pending *m) {
  tok_json_peek(j);
  m->at = j->p;
  m->rank = rank;
  int rc = merge_parts(j, tmp, &m->str, &m->sa, &m->sb);
  if (rc) return rc;
  if (util_sb_failed(&m->str)) return util_err_nomem(j->err, t->path);
  const char *str = util_sb_cstr(&m->str);
  m->raw.len = 0;
  m->bad = tok_bytelevel_decode(str, m->sa, &m->raw) != 0;
  m->na = m->raw.len;
  m->bad |= tok_bytelevel_decode(str + m->sa, m->sb, &m->raw) != 0;
  m->nb = m->raw.len - m->na;
  if (util_sb_failed(&m->raw)) return util_err_nomem(j->err, t->path);
  if (m->bad) return MR_OK;
  const char *raw = util_sb_cstr(&m->raw);
  m->h[0] = tok_hash(raw, m->na);
  m->h[1] = tok_hash(raw + m->na, m->nb);
  m->h[2] = tok_hash(raw, m->na + m->nb);
  for (int i = 0; i < 3; i++) tok_strmap_prefetch(t, m->h[i]);
  return MR_OK;
}

static int read_merges(mr_tokenizer *t, tok_json *j, size_t approx) {
  pending ring[RING];
  memset(ring, 0, sizeof ring);
  util_sb tmp = {0};
  int rc = tok_pairmap_init(&t->merges, approx);
  if (rc) return util_err_nomem(j->err, t->path);
  rc = tok_json_expect(j, '[', "model.merges: expected '['");
  int first = 1;
  int32_t rank = 0;
  while (!rc) {
    rc = tok_json_element(j, &first);
    if (rc <= 0) break;
    pending *m = &ring[rank % RING];
    if (rank >= RING && (rc = resolve(t, j, m))) break; /* the merge parsed RING ago */
    if (rank == TOK_MAX_ID) rc = tok_json_fail(j, "model.merges: too many merges");
    else rc = parse_merge(t, j, rank++, &tmp, m);
  }
  if (!rc) { /* the last ones */
    const char *end = j->p;
    for (int32_t r = rank > RING ? rank - RING : 0; !rc && r < rank; r++) rc = resolve(t, j, &ring[r % RING]);
    if (!rc) j->p = end;
  }
  int failed = util_sb_failed(&tmp);
  util_sb_free(&tmp);
  for (int i = 0; i < RING; i++) util_sb_free(&ring[i].str), util_sb_free(&ring[i].raw);
  if (rc < 0) return rc;
  return failed ? util_err_nomem(j->err, t->path) : MR_OK;
}

static int index_vocab(mr_tokenizer *t, mr_error *err);

/* Record where each member of `model` lies. vocab and merges are read on the way when they come
 * in that order (they do in every HF file): one pass over the 11 MB instead of two. */
static int scan_model(mr_tokenizer *t, tok_json *j, spans *sp) {
  util_sb tmp = {0};
  int rc = tok_json_expect(j, '{', "model: expected '{'"), first = 1;
  while (!rc) {
    const char *key;
    size_t n;
    rc = tok_json_member(j, &first, &tmp, &key, &n);
    if (rc <= 0) break;
    const char **dst = NULL;
#define M(name, field) else if (n == strlen(name) && !memcmp(key, name, n)) dst = sp->field
    if (0) {}
    M("vocab", vocab); M("merges", merges); M("type", model_type); M("ignore_merges", ignore_merges);
    M("byte_fallback", byte_fallback); M("continuing_subword_prefix", prefix);
    M("end_of_word_suffix", suffix); M("dropout", dropout);
#undef M
    if (dst == sp->vocab && !sp->vocab_done) {
      tok_json_peek(j);
      sp->vocab[0] = j->p;
      rc = read_vocab(t, j);
      if (!rc) rc = index_vocab(t, j->err);
      sp->vocab[1] = j->p;
      sp->vocab_done = 1;
    } else if (dst == sp->merges && sp->vocab_done && !sp->merges_done) {
      tok_json_peek(j);
      sp->merges[0] = j->p;
      rc = read_merges(t, j, (size_t)t->vocab.count + 16);
      sp->merges[1] = j->p;
      sp->merges_done = 1;
    } else rc = tok_json_skip(j, dst ? &dst[0] : NULL, dst ? &dst[1] : NULL);
  }
  util_sb_free(&tmp);
  return rc < 0 ? rc : MR_OK;
}

static int scan_top(mr_tokenizer *t, tok_json *j, spans *sp) {
  util_sb tmp = {0};
  int rc = tok_json_expect(j, '{', "expected '{' at the start of the file"), first = 1;
  while (!rc) {
    const char *key;
    size_t n;
    rc = tok_json_member(j, &first, &tmp, &key, &n);
    if (rc <= 0) break;
    const char **dst = NULL;
    if (n == 5 && !memcmp(key, "model", 5)) {
      rc = scan_model(t, j, sp);
      continue;
    }
#define M(name, field) else if (n == strlen(name) && !memcmp(key, name, n)) dst = sp->field
    if (0) {}
    M("added_tokens", added); M("normalizer", normalizer); M("pre_tokenizer", pretok); M("decoder", decoder);
#undef M
    rc = tok_json_skip(j, dst ? &dst[0] : NULL, dst ? &dst[1] : NULL);
  }
  util_sb_free(&tmp);
  if (rc < 0) return rc;
  if (tok_json_peek(j) != -1) return tok_json_fail(j, "expected the end of the file");
  return MR_OK;
}

static cJSON *parse_span(const char *const span[2]) {
  return span[0] ? cJSON_ParseWithLength(span[0], (size_t)(span[1] - span[0])) : NULL;
}

static int is_type(const cJSON *o, const char *type) {
  const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
  return cJSON_IsString(ty) && !strcmp(ty->valuestring, type);
}

static const char *type_of(const cJSON *o) {
  const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
  return cJSON_IsString(ty) ? ty->valuestring : "?";
}

/* model.type must be BPE, and the options that change its output must be off. */
static int check_model(mr_tokenizer *t, const spans *sp, mr_error *err) {
  cJSON *v = parse_span(sp->model_type);
  int ok = v && cJSON_IsString(v) && !strcmp(v->valuestring, "BPE");
  cJSON_Delete(v);
  if (!sp->model_type[0]) return util_err(err, MR_EFORMAT, "%s: model.type is missing", t->path);
  if (!ok) return util_err(err, MR_ENOTSUP, "%s: model type %.*s is not supported (only BPE)", t->path,
                           (int)(sp->model_type[1] - sp->model_type[0]), sp->model_type[0]);
  v = parse_span(sp->ignore_merges);
  t->ignore_merges = cJSON_IsTrue(v);
  cJSON_Delete(v);
  v = parse_span(sp->byte_fallback);
  int bad = cJSON_IsTrue(v);
  cJSON_Delete(v);
  if (bad) return util_err(err, MR_ENOTSUP, "%s: model.byte_fallback is not supported", t->path);
  const char *const *opt[] = {sp->prefix, sp->suffix, sp->dropout};
  const char *names[] = {"continuing_subword_prefix", "end_of_word_suffix", "dropout"};
  for (int i = 0; i < 3; i++) {
    v = parse_span(opt[i]);
    bad = v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && !v->valuestring[0]) &&
          !(cJSON_IsNumber(v) && v->valuedouble == 0);
    cJSON_Delete(v);
    if (bad) return util_err(err, MR_ENOTSUP, "%s: model.%s is not supported", t->path, names[i]);
  }
  if (!sp->vocab[0]) return util_err(err, MR_EFORMAT, "%s: model.vocab is missing", t->path);
  return MR_OK;
}

static int read_normalizer(mr_tokenizer *t, const spans *sp, mr_error *err) {
  cJSON *n = parse_span(sp->normalizer);
  int rc = MR_OK;
  if (!n || cJSON_IsNull(n)) t->normalizer = TOK_NORM_NONE;
  else if (is_type(n, "NFC")) t->normalizer = TOK_NORM_NFC;
  else if (is_type(n, "Sequence")) {
    const cJSON *e, *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
    cJSON_ArrayForEach(e, list) {
      if (!is_type(e, "NFC")) {
        rc = util_err(err, MR_ENOTSUP, "%s: normalizer %s is not supported (only NFC)", t->path, type_of(e));
        break;
      }
      t->normalizer = TOK_NORM_NFC;
    }
  } else rc = util_err(err, MR_ENOTSUP, "%s: normalizer %s is not supported (only NFC)", t->path, type_of(n));
  cJSON_Delete(n);
  return rc;
}

/* A Split pre-tokenizer: its pattern as a PCRE2 pattern (a String pattern is quoted). */
static int split_pattern(mr_tokenizer *t, const cJSON *s, util_sb *pat, mr_error *err) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(s, "pattern");
  const cJSON *re = cJSON_GetObjectItemCaseSensitive(p, "Regex"), *str = cJSON_GetObjectItemCaseSensitive(p, "String");
  const cJSON *beh = cJSON_GetObjectItemCaseSensitive(s, "behavior");
  if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "invert")))
    return util_err(err, MR_ENOTSUP, "%s: Split pre-tokenizer: only behavior Isolated without invert is supported", t->path);
  if (cJSON_IsString(re)) util_sb_puts(pat, re->valuestring);
  else if (cJSON_IsString(str)) {
    for (const char *c = str->valuestring; *c; c++) {
      if (strchr("\\^$.|?*+()[]{}", *c)) util_sb_putc(pat, '\\');
      util_sb_putc(pat, *c);
    }
  } else return util_err(err, MR_EFORMAT, "%s: Split pre-tokenizer without a pattern", t->path);
  return MR_OK;
}

/* Supported: [Split(Isolated)] + ByteLevel(use_regex false), or ByteLevel(use_regex true) alone. */
static int read_pretok(mr_tokenizer *t, const spans *sp, mr_error *err) {
  cJSON *root = parse_span(sp->pretok);
  const cJSON *items[8], *e;
  int n_items = 0;
  if (is_type(root, "Sequence")) {
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "pretokenizers")) {
      if (n_items == 8) break;
      items[n_items++] = e;
    }
  } else if (root && !cJSON_IsNull(root)) items[n_items++] = root;
  util_sb pat = {0};
  int rc = MR_OK, bytelevel = 0, splits = 0;
  for (int i = 0; i < n_items; i++) {
    e = items[i];
    if (is_type(e, "Split") && !splits++) rc = split_pattern(t, e, &pat, err);
    else if (is_type(e, "ByteLevel") && !bytelevel++) {
      /* add_prefix_space applies to each piece the ByteLevel step receives: the whole span when it
       * runs the regex itself (1), each piece of a preceding Split otherwise (2). */
      int prefix = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "add_prefix_space"));
      t->add_prefix_space = prefix ? (splits ? 2 : 1) : 0;
      const cJSON *ur = cJSON_GetObjectItemCaseSensitive(e, "use_regex");
      if (!cJSON_IsFalse(ur)) { /* default true */
        if (splits) rc = util_err(err, MR_ENOTSUP, "%s: a Split followed by ByteLevel with use_regex is not supported", t->path);
        else util_sb_puts(&pat, tok_gpt2_pattern), splits++;
      } else if (prefix && !splits) t->add_prefix_space = 2;
    } else rc = util_err(err, MR_ENOTSUP, "%s: pre-tokenizer %s is not supported here (supported: one Split, then ByteLevel)", t->path, type_of(e));
    if (rc) break;
  }
  if (!rc && !bytelevel) rc = util_err(err, MR_ENOTSUP, "%s: only byte-level BPE tokenizers are supported (no ByteLevel pre-tokenizer)", t->path);
  if (!rc && util_sb_failed(&pat)) rc = util_err_nomem(err, t->path);
  if (!rc && splits) rc = tok_pretok_compile(t, util_sb_cstr(&pat), err);
  util_sb_free(&pat);
  cJSON_Delete(root);
  if (rc) return rc;
  cJSON *dec = parse_span(sp->decoder);
  int ok = is_type(dec, "ByteLevel");
  if (is_type(dec, "Sequence")) { /* a ByteLevel decoder, possibly with no-op members */
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(dec, "decoders")) ok |= is_type(e, "ByteLevel");
  }
  cJSON_Delete(dec);
  return ok ? MR_OK : util_err(err, MR_ENOTSUP, "%s: only the ByteLevel decoder is supported", t->path);
}

static int flag(const cJSON *o, const char *name) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name)); }

static int read_added(mr_tokenizer *t, const spans *sp, mr_error *err) {
  if (!sp->added[0]) return MR_OK;
  cJSON *list = parse_span(sp->added), *e;
  if (!cJSON_IsArray(list)) {
    cJSON_Delete(list);
    return util_err(err, MR_EFORMAT, "%s: added_tokens is not an array of tokens", t->path);
  }
  int n = cJSON_GetArraySize(list), rc = MR_OK, i = 0;
  t->added = util_calloc((size_t)n + 1, sizeof *t->added);
  if (!t->added) rc = util_err_nomem(err, t->path);
  cJSON_ArrayForEach(e, list) {
    if (rc) break;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id"), *c = cJSON_GetObjectItemCaseSensitive(e, "content");
    if (!cJSON_IsNumber(id) || !cJSON_IsString(c) || id->valuedouble < 0 || id->valuedouble >= TOK_MAX_ID ||
        id->valuedouble != (double)(int32_t)id->valuedouble || !c->valuestring[0]) {
      rc = util_err(err, MR_EFORMAT, "%s: added_tokens[%d]: needs an integer id and a non-empty content", t->path, i);
      break;
    }
    tok_added *a = &t->added[t->n_added++];
    a->id = (int32_t)id->valuedouble;
    a->special = (uint8_t)flag(e, "special");
    a->normalized = (uint8_t)flag(e, "normalized");
    a->lstrip = (uint8_t)flag(e, "lstrip");
    a->rstrip = (uint8_t)flag(e, "rstrip");
    a->single_word = (uint8_t)flag(e, "single_word");
    a->len = (uint32_t)strlen(c->valuestring);
    rc = tok_add_token_string(t, a->id, c->valuestring, a->len, TOK_F_ADDED | (a->special ? TOK_F_SPECIAL : 0), err);
    a->off = (uint32_t)t->bytes.len; /* the content as raw bytes, for matching */
    util_sb_append(&t->bytes, c->valuestring, a->len);
    i++;
  }
  cJSON_Delete(list);
  if (!rc && util_sb_failed(&t->bytes)) rc = util_err_nomem(err, t->path);
  if (!rc) tok_added_sort(t);
  return rc;
}

static int count_tokens(const mr_tokenizer *t) {
  int n = 0;
  for (int32_t i = 0; i < t->n_tokens; i++) n += (t->tokens[i].flags & TOK_F_ENCODABLE) != 0;
  return n;
}

/* The hash table of model tokens, once the vocabulary is read. */
static int index_vocab(mr_tokenizer *t, mr_error *err) {
  if (tok_strmap_init(&t->vocab, (size_t)count_tokens(t))) return util_err_nomem(err, t->path);
  for (int32_t i = 0; i < t->n_tokens; i++)
    if (t->tokens[i].flags & TOK_F_ENCODABLE) tok_strmap_put(t, i);
  return MR_OK;
}

/* Second step: vocab and merges unless the first pass read them (merges need the vocabulary),
 * then everything else. */
static int build(mr_tokenizer *t, tok_json *j, const spans *sp) {
  int rc = check_model(t, sp, j->err);
  tok_json sub = *j;
  if (!rc && !sp->vocab_done) {
    sub.p = sp->vocab[0], sub.end = sp->vocab[1];
    rc = read_vocab(t, &sub);
    if (!rc) rc = index_vocab(t, j->err);
  }
  if (!rc && !sp->merges_done) {
    size_t approx = sp->merges[0] ? (size_t)(t->vocab.count + 16) : 16;
    sub.p = sp->merges[0] ? sp->merges[0] : "[]";
    sub.end = sp->merges[0] ? sp->merges[1] : sub.p + 2;
    if (!sp->merges[0]) sub.start = sub.p;
    rc = read_merges(t, &sub, approx);
  }
  if (!rc) rc = read_added(t, sp, j->err);
  if (!rc) rc = read_normalizer(t, sp, j->err);
  if (!rc) rc = read_pretok(t, sp, j->err);
  for (int b = 0; !rc && b < 256; b++) {
    unsigned char c = (unsigned char)b;
    t->byte_id[b] = tok_strmap_get(t, &c, 1);
  }
  t->vocab_size = t->n_tokens;
  return rc;
}

int tok_load_text(mr_tokenizer *t, const char *text, size_t size, mr_error *err) {
  tok_json j = {text, text, text + size, t->path, err};
  spans sp;
  memset(&sp, 0, sizeof sp);
  int rc = scan_top(t, &j, &sp);
  return rc ? rc : build(t, &j, &sp);
}

int tok_load_json(mr_tokenizer *t, const char *path, mr_error *err) {
  util_map m;
  int rc = util_map_open(&m, path, err);
  if (rc) return rc;
  rc = tok_load_text(t, (const char *)m.data, m.size, err);
  util_map_close(&m);
  return rc;
}
