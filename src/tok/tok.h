/* tok.h — the tokenizer's internal state (struct mr_tokenizer) and the functions its files share.
 *
 * Pipeline of an encode, one file per stage:
 *   added.c     split the raw text on added tokens (<|im_start|>, <think>, ...), leftmost-longest
 *   pretok.c    NFC-normalise each remaining span (utf8proc) and cut it with the Split regex (PCRE2)
 *   bpe.c       map each piece's bytes to byte tokens and merge pairs by rank (with a word cache)
 * and of a decode: decode.c (ids -> bytes -> UTF-8, and the streaming decoder).
 * load.c reads tokenizer.json (json_scan.c for the 11 MB vocab/merges, cJSON for the small parts),
 * vocab.c holds the hash tables, bytelevel.c the GPT-2 byte <-> character mapping, template.c the
 * chat templates. */
#ifndef TOK_TOK_H
#define TOK_TOK_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "milrun.h"
#include "util/strbuf.h"

/* ---- bytelevel.c: GPT-2's reversible byte <-> printable character mapping ---------------- */
/* The code point that stands for byte b in vocabulary strings ('Ġ' = U+0120 for ' '). */
uint32_t tok_byte_to_char(uint8_t b);
/* The byte a code point stands for, or -1 if it is not one of the 256 mapped characters. */
int tok_char_to_byte(uint32_t cp);
/* Decode one UTF-8 sequence at s[0..n): returns its length (1..4) and sets *cp, or returns -(the
 * length of the maximal invalid prefix, 1..3) when the bytes are not valid UTF-8 (Unicode's
 * "maximal subpart" rule, as Rust's from_utf8_lossy and Python use). *cp = -1 then. A truncated but
 * so-far-valid sequence at the end of the buffer counts as invalid with its whole length. */
int tok_utf8_decode(const unsigned char *s, size_t n, int32_t *cp);
/* Encode a code point as UTF-8 into out (4 bytes room); returns the length. */
int tok_utf8_encode(uint32_t cp, char *out);
/* Vocabulary string (byte-level form) -> raw bytes appended to out. Returns 0, or -1 when some
 * character is not a byte-level character (then nothing is appended). */
int tok_bytelevel_decode(const char *s, size_t n, util_sb *out);
/* Raw bytes -> byte-level form, appended to out. */
void tok_bytelevel_encode(const unsigned char *s, size_t n, util_sb *out);

/* ---- vocab.c: hash tables -------------------------------------------------------------- */
uint64_t tok_hash(const void *p, size_t n);

/* Byte string -> id. The keys live in the tokenizer's byte pool (tok_token.off/len). */
typedef struct tok_strmap {
  uint32_t *slots; /* (8 bits of the key's hash) << 24 | id, or ~0 when empty: the hash bits rule
                      out most wrong slots without touching the token table; 4 bytes a slot keep
                      the table small, which matters because loading is bound by cache misses */
  uint32_t mask;  /* capacity - 1 (capacity a power of two) */
  uint32_t count;
} tok_strmap;

/* Pair of ids -> merge rank and merged id. */
typedef struct tok_merge {
  uint64_t key; /* (a << 32 | b) + 1; 0 = empty */
  int32_t rank, id;
} tok_merge;
typedef struct tok_pairmap {
  tok_merge *slots;
  uint32_t mask, count;
} tok_pairmap;

/* One entry of the id table. Each id has the bytes that decoding emits and the string that HF
 * calls its token (the vocabulary key, in byte-level form for model tokens). */
enum { TOK_F_PRESENT = 1, TOK_F_ADDED = 2, TOK_F_SPECIAL = 4, TOK_F_ENCODABLE = 8 };
typedef struct tok_token {
  uint32_t off, len;         /* decoded bytes in t->bytes */
  uint32_t str_off, str_len; /* token string in t->strs (NUL-terminated there) */
  uint32_t key_off, key_len; /* model tokens: the bytes BPE produces, the key of t->vocab */
  uint32_t flags;
} tok_token;

/* An added token: matched in the raw text before anything else. */
typedef struct tok_added {
  int32_t id;
  uint32_t off, len; /* content bytes in t->bytes */
  uint8_t special, normalized, lstrip, rstrip, single_word;
} tok_added;

/* ---- bpe.c: per-tokenizer scratch for merging one word, and the word cache ---------------- */
typedef struct tok_heap_item {
  int32_t rank, pos, right, a, b, id;
} tok_heap_item;

typedef struct tok_cache_entry {
  uint64_t hash;
  uint32_t key_off, key_len, ids_off, n_ids; /* in cache_bytes / cache_ids */
} tok_cache_entry;

typedef struct tok_work {
  int32_t *sym_id, *sym_prev, *sym_next; /* one per byte of the word being merged */
  size_t sym_cap;
  tok_heap_item *heap;
  size_t heap_len, heap_cap;
  /* cache: open addressing over entries; cleared whole when it fills */
  tok_cache_entry *cache;
  uint32_t cache_mask, cache_count;
  util_sb cache_bytes;
  int32_t *cache_ids;
  size_t cache_ids_len, cache_ids_cap;
  /* NFC scratch (code points) and normalised text */
  int32_t *nfc_cp;
  size_t nfc_cap;
  util_sb nfc_out;
} tok_work;

/* A growable id array (encode output). */
typedef struct tok_ids {
  int32_t *v;
  size_t len, cap;
  int failed;
} tok_ids;
void tok_ids_push(tok_ids *ids, int32_t id);

/* ---- the tokenizer ---------------------------------------------------------------------- */
enum { TOK_NORM_NONE = 0, TOK_NORM_NFC = 1 };
enum { TOK_CHAT_NONE = 0, TOK_CHAT_QWEN3, TOK_CHAT_QWEN25, TOK_CHAT_LLAMA3 };

struct mr_tokenizer {
  char *path; /* tokenizer.json, for messages */
  tok_token *tokens;
  int32_t n_tokens;   /* 1 + the largest id defined by tokenizer.json */
  int32_t tokens_cap; /* allocated entries of tokens */
  int32_t vocab_size; /* >= n_tokens: the model's embedding rows (ids past n_tokens decode to "") */
  util_sb bytes;      /* pool of decoded bytes of every token */
  util_sb strs;       /* pool of token strings */
  tok_strmap vocab;   /* raw bytes -> id, model tokens only */
  tok_pairmap merges;
  int32_t byte_id[256]; /* the token of each single byte, -1 if the vocabulary lacks it */
  int ignore_merges;    /* a whole word found in the vocabulary is one token (Llama-3) */
  int naive;            /* benchmark baseline: tok_bpe_word_naive, no cache */
  tok_added *added;     /* sorted by content length, longest first */
  int n_added;
  uint8_t added_first[2][256]; /* [normalized][byte]: some added token of that class starts with it */
  int normalizer;       /* TOK_NORM_* */
  int add_prefix_space; /* ByteLevel pre-tokenizer option */
  pcre2_general_context *gctx;
  pcre2_code *re; /* the Split pattern, NULL when there is none */
  pcre2_match_data *md;
  /* chat */
  char *chat_template;
  char *bos_token, *eos_token;
  int chat_family;
  tok_work work;
};

/* load.c */
int tok_load_json(mr_tokenizer *t, const char *path, mr_error *err);
/* The same from text in memory; messages name t->path. */
int tok_load_text(mr_tokenizer *t, const char *text, size_t size, mr_error *err);
/* A tokenizer from tokenizer.json text alone (no config): for the fuzzer and tests. */
int tok_open_text(const char *name, const char *text, size_t size, mr_tokenizer **out, mr_error *err);
int tok_load_config(mr_tokenizer *t, const char *dir, mr_error *err);
int tok_add_token_string(mr_tokenizer *t, int32_t id, const char *s, size_t n, uint32_t flags, mr_error *err);

/* vocab.c */
int tok_strmap_init(tok_strmap *m, size_t n);
void tok_strmap_free(tok_strmap *m);
/* Insert id under its key bytes (t->tokens[id].key_*); an existing key keeps its first id. */
void tok_strmap_put(mr_tokenizer *t, int32_t id);
int32_t tok_strmap_get(const mr_tokenizer *t, const void *s, size_t n);
/* The same with the key's tok_hash already computed, and a hint to fetch its slot early. */
int32_t tok_strmap_get_hashed(const mr_tokenizer *t, const void *s, size_t n, uint64_t h);
void tok_strmap_prefetch(const mr_tokenizer *t, uint64_t h);
int tok_pairmap_init(tok_pairmap *m, size_t n);
void tok_pairmap_free(tok_pairmap *m);
int tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id);
const tok_merge *tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b);

/* added.c: find the next added token in s[0..n) at or after `from`. Returns 1 and the match
 * (start..end, including stripped whitespace, and the token) or 0. `normalized` selects the
 * tokens matched after normalisation; parse_special = 0 leaves special tokens as text. */
int tok_added_find(const mr_tokenizer *t, const unsigned char *s, size_t n, size_t from, int normalized,
                   int parse_special, size_t *start, size_t *end, int32_t *id);
void tok_added_sort(mr_tokenizer *t);

/* pretok.c */
/* Rewrite an Oniguruma split pattern for PCRE2: \s and \S become explicit White_Space classes.
 * Returns 0, or -1 for a construct with no PCRE2 equivalent here (\S inside a class). */
int tok_regex_translate(const char *pattern, util_sb *out);
int tok_pretok_compile(mr_tokenizer *t, const char *pattern, mr_error *err);
/* The GPT-2 pattern that a ByteLevel pre-tokenizer with use_regex = true applies. */
extern const char tok_gpt2_pattern[];
/* Normalise, split and BPE-encode one span of text (no added tokens inside), appending ids. */
int tok_encode_span(mr_tokenizer *t, const unsigned char *s, size_t n, int parse_special, tok_ids *out,
                    mr_error *err);

/* bpe.c: encode one pre-token (raw bytes) and append its ids. */
int tok_bpe_word(mr_tokenizer *t, const unsigned char *s, size_t n, tok_ids *out);
void tok_work_free(tok_work *w);
/* The naive reference: repeatedly merge the lowest-ranked (leftmost) pair, O(n^2), no cache.
 * Used by the tests and as the benchmark's baseline. */
int tok_bpe_word_naive(const mr_tokenizer *t, const unsigned char *s, size_t n, tok_ids *out);
/* Make encode use the naive reference (1) or the fast path (0). */
void tok_set_naive(mr_tokenizer *t, int naive);

/* template.c */
int tok_chat_detect(const char *template_text);
const char *tok_chat_family_name(int family);

#endif
