/* vocab.c — the tokenizer's two hash tables: token bytes -> id, and (id, id) -> merge.
 *
 * Both use open addressing with linear probing at a load factor of at most 1/2, sized once at
 * load time (the vocabulary does not change afterwards). The byte table stores only ids; keys are
 * compared against the token's bytes in the tokenizer's pool, so the table costs 4 bytes a slot. */
#include <string.h>

#include "tok/tok.h"
#include "util/alloc.h"

#if defined(__GNUC__) || defined(__clang__)
#define TOK_PREFETCH(p) __builtin_prefetch(p)
#else
#define TOK_PREFETCH(p) ((void)(p))
#endif

/* A fast 64-bit hash over 8-byte words; quality only matters for probe lengths. */
uint64_t tok_hash(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    s += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, s, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 32;
  return h;
}

static uint32_t capacity_for(size_t n) {
  uint32_t cap = 16;
  while (cap < 2 * n + 2) cap *= 2;
  return cap;
}

int tok_strmap_init(tok_strmap *m, size_t n) {
  uint32_t cap = capacity_for(n);
  m->slots = mr_alloc(cap * sizeof *m->slots);
  if (!m->slots) return MR_ENOMEM;
  memset(m->slots, 0xFF, cap * sizeof *m->slots); /* all EMPTY */
  m->mask = cap - 1;
  m->count = 0;
  return MR_OK;
}

void tok_strmap_free(tok_strmap *m) {
  mr_free(m->slots);
  memset(m, 0, sizeof *m);
}

static int same_key(const mr_tokenizer *t, int32_t id, const void *s, size_t n) {
  const tok_token *k = &t->tokens[id];
  return k->key_len == n && memcmp(t->bytes.buf + k->key_off, s, n) == 0;
}

#define EMPTY UINT32_MAX
#define ID_MASK 0xFFFFFFu /* ids are < 2^24 (load.c: TOK_MAX_ID) */

void tok_strmap_put(mr_tokenizer *t, int32_t id) {
  tok_strmap *m = &t->vocab;
  const tok_token *k = &t->tokens[id];
  const char *s = t->bytes.buf + k->key_off;
  uint64_t h = tok_hash(s, k->key_len);
  uint32_t tag = (uint32_t)(h >> 56) << 24;
  for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
    uint32_t v = m->slots[i];
    if (v == EMPTY) {
      m->slots[i] = tag | (uint32_t)id;
      m->count++;
      return;
    }
    if ((v & ~ID_MASK) == tag && same_key(t, (int32_t)(v & ID_MASK), s, k->key_len)) return;
  }
}

int32_t tok_strmap_get_hashed(const mr_tokenizer *t, const void *s, size_t n, uint64_t h) {
  const tok_strmap *m = &t->vocab;
  if (!m->slots) return -1;
  uint32_t tag = (uint32_t)(h >> 56) << 24;
  for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
    uint32_t v = m->slots[i];
    if (v == EMPTY) return -1;
    if ((v & ~ID_MASK) == tag && same_key(t, (int32_t)(v & ID_MASK), s, n)) return (int32_t)(v & ID_MASK);
  }
}

int32_t tok_strmap_get(const mr_tokenizer *t, const void *s, size_t n) {
  return tok_strmap_get_hashed(t, s, n, tok_hash(s, n));
}

void tok_strmap_prefetch(const mr_tokenizer *t, uint64_t h) {
  if (t->vocab.slots) TOK_PREFETCH(&t->vocab.slots[(uint32_t)h & t->vocab.mask]);
}

int tok_pairmap_init(tok_pairmap *m, size_t n) {
  uint32_t cap = capacity_for(n);
  m->slots = util_calloc(cap, sizeof *m->slots);
  if (!m->slots) return MR_ENOMEM;
  m->mask = cap - 1;
  m->count = 0;
  return MR_OK;
}

void tok_pairmap_free(tok_pairmap *m) {
  mr_free(m->slots);
  memset(m, 0, sizeof *m);
}

static uint32_t pair_slot(uint64_t key) {
  key *= 0x9E3779B97F4A7C15ull;
  return (uint32_t)(key >> 32);
}

static void pair_insert(tok_pairmap *m, uint64_t key, int32_t rank, int32_t id) {
  for (uint32_t i = pair_slot(key) & m->mask;; i = (i + 1) & m->mask) {
    if (!m->slots[i].key) {
      m->slots[i] = (tok_merge){key, rank, id};
      m->count++;
      return;
    }
    if (m->slots[i].key == key) { /* a later merge of the same pair replaces the earlier one, as
                                     HF's map (collected from the merges in order) does */
      m->slots[i].rank = rank;
      m->slots[i].id = id;
      return;
    }
  }
}

/* Doubles the table when it is half full, so any number of merges fits. */
int tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id) {
  if (2 * (m->count + 1) > m->mask + 1) {
    tok_pairmap bigger;
    if (tok_pairmap_init(&bigger, (size_t)m->mask + 1)) return MR_ENOMEM;
    for (uint32_t i = 0; i <= m->mask; i++)
      if (m->slots[i].key) pair_insert(&bigger, m->slots[i].key, m->slots[i].rank, m->slots[i].id);
    tok_pairmap_free(m);
    *m = bigger;
  }
  pair_insert(m, ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1, rank, id);
  return MR_OK;
}

const tok_merge *tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b) {
  if (!m->slots) return NULL;
  uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
  for (uint32_t i = pair_slot(key) & m->mask;; i = (i + 1) & m->mask) {
    if (m->slots[i].key == key) return &m->slots[i];
    if (!m->slots[i].key) return NULL;
  }
}
