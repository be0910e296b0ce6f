/* bpe.c — byte-pair merging of one pre-token, HF's algorithm: start from one symbol per byte, then
 * repeatedly merge the adjacent pair with the lowest merge rank (the leftmost one on ties) until no
 * pair has a merge.
 *
 * The merging uses a binary heap of candidate pairs ordered by (rank, position) with lazy deletion:
 * a popped pair is applied only if both symbols still hold the ids it was pushed with. That is
 * O(n log n) per word, so a 1 MB run of letters (one pre-token) does not take quadratic time. Most
 * words repeat, so results for words up to CACHE_WORD bytes are cached by their bytes. */
#include <string.h>

#include "tok/tok.h"
#include "util/alloc.h"

#define CACHE_WORD 64       /* longest word cached */
#define CACHE_SLOTS 65536   /* slots of the cache table (power of two) */
#define CACHE_MAX 32768     /* entries before the cache is cleared */

void tok_ids_push(tok_ids *ids, int32_t id) {
  if (ids->len == ids->cap) {
    size_t cap = ids->cap ? ids->cap * 2 : 256;
    int32_t *v = ids->failed ? NULL : mr_realloc(ids->v, cap * sizeof *v);
    if (!v) {
      ids->failed = 1;
      return;
    }
    ids->v = v;
    ids->cap = cap;
  }
  ids->v[ids->len++] = id;
}

static int grow_work(tok_work *w, size_t n) {
  if (n <= w->sym_cap) return MR_OK;
  size_t cap = w->sym_cap ? w->sym_cap : 64;
  while (cap < n) cap *= 2;
  int32_t *a = mr_realloc(w->sym_id, cap * sizeof *a);
  if (a) w->sym_id = a;
  int32_t *b = a ? mr_realloc(w->sym_prev, cap * sizeof *b) : NULL;
  if (b) w->sym_prev = b;
  int32_t *c = b ? mr_realloc(w->sym_next, cap * sizeof *c) : NULL;
  if (c) w->sym_next = c;
  tok_heap_item *h = c ? mr_realloc(w->heap, cap * sizeof *h) : NULL;
  if (h) w->heap = h;
  if (!h) return MR_ENOMEM;
  w->sym_cap = w->heap_cap = cap;
  return MR_OK;
}

static int before(const tok_heap_item *x, const tok_heap_item *y) {
  return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

/* Push the pair (l, r) if it has a merge. */
static void push_pair(const mr_tokenizer *t, tok_work *w, int32_t l, int32_t r) {
  const tok_merge *m = tok_pairmap_get(&t->merges, w->sym_id[l], w->sym_id[r]);
  if (!m) return;
  tok_heap_item it = {m->rank, l, r, w->sym_id[l], w->sym_id[r], m->id};
  size_t i = w->heap_len++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&it, &w->heap[p])) break;
    w->heap[i] = w->heap[p];
    i = p;
  }
  w->heap[i] = it;
}

static tok_heap_item pop(tok_work *w) {
  tok_heap_item top = w->heap[0], last = w->heap[--w->heap_len];
  size_t i = 0, n = w->heap_len;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && before(&w->heap[c + 1], &w->heap[c])) c++;
    if (!before(&w->heap[c], &last)) break;
    w->heap[i] = w->heap[c];
    i = c;
  }
  if (n) w->heap[i] = last;
  return top;
}

/* Merge s[0..n) and append the ids. */
static int merge_word(const mr_tokenizer *t, tok_work *w, const unsigned char *s, size_t n, tok_ids *out) {
  /* n symbols, n-1 initial pairs, at most 2 pushes per merge (n-1 merges): < 3n heap entries */
  if (grow_work(w, 3 * n + 4)) return MR_ENOMEM;
  int32_t m = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t id = t->byte_id[s[i]];
    if (id < 0) continue; /* a byte the vocabulary lacks is dropped, as HF does without unk_token */
    w->sym_id[m] = id;
    w->sym_prev[m] = m - 1;
    w->sym_next[m] = m + 1;
    m++;
  }
  if (!m) return MR_OK;
  w->sym_next[m - 1] = -1;
  w->heap_len = 0;
  for (int32_t i = 0; i + 1 < m; i++) push_pair(t, w, i, i + 1);
  while (w->heap_len) {
    tok_heap_item it = pop(w);
    if (w->sym_id[it.pos] != it.a || w->sym_next[it.pos] != it.right || w->sym_id[it.right] != it.b) continue;
    int32_t nx = w->sym_next[it.right];
    w->sym_id[it.pos] = it.id;
    w->sym_id[it.right] = -1; /* dead */
    w->sym_next[it.pos] = nx;
    if (nx >= 0) w->sym_prev[nx] = it.pos;
    if (w->sym_prev[it.pos] >= 0) push_pair(t, w, w->sym_prev[it.pos], it.pos);
    if (nx >= 0) push_pair(t, w, it.pos, nx);
  }
  for (int32_t i = 0; i >= 0; i = w->sym_next[i]) tok_ids_push(out, w->sym_id[i]);
  return out->failed ? MR_ENOMEM : MR_OK;
}

/* ---- the word cache ---------------------------------------------------------------------- */
static void cache_clear(tok_work *w) {
  if (w->cache) memset(w->cache, 0, CACHE_SLOTS * sizeof *w->cache);
  w->cache_count = 0;
  w->cache_bytes.len = 0;
  w->cache_ids_len = 0;
}

static tok_cache_entry *cache_slot(tok_work *w, uint64_t h, const unsigned char *s, size_t n) {
  for (uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
    tok_cache_entry *e = &w->cache[i];
    if (!e->key_len) return e; /* empty (keys are never empty) */
    if (e->hash == h && e->key_len == n && !memcmp(w->cache_bytes.buf + e->key_off, s, n)) return e;
  }
}

static void cache_put(tok_work *w, tok_cache_entry *e, uint64_t h, const unsigned char *s, size_t n,
                      const int32_t *ids, size_t k) {
  if (w->cache_ids_len + k > w->cache_ids_cap || !w->cache_ids) {
    size_t cap = w->cache_ids_cap ? w->cache_ids_cap * 2 : 4096;
    while (cap < w->cache_ids_len + k) cap *= 2;
    int32_t *v = mr_realloc(w->cache_ids, cap * sizeof *v);
    if (!v) return; /* the cache is an optimisation: skip it when memory is short */
    w->cache_ids = v;
    w->cache_ids_cap = cap;
  }
  size_t off = w->cache_bytes.len;
  util_sb_append(&w->cache_bytes, (const char *)s, n);
  if (util_sb_failed(&w->cache_bytes)) { /* drop everything: entries point into the pool */
    util_sb_free(&w->cache_bytes);
    cache_clear(w);
    return;
  }
  if (k) memcpy(w->cache_ids + w->cache_ids_len, ids, k * sizeof *ids); /* k = 0: no byte had a token */
  *e = (tok_cache_entry){h, (uint32_t)off, (uint32_t)n, (uint32_t)w->cache_ids_len, (uint32_t)k};
  w->cache_ids_len += k;
  w->cache_count++;
}

void tok_set_naive(mr_tokenizer *t, int naive) { t->naive = naive; }

int tok_bpe_word(mr_tokenizer *t, const unsigned char *s, size_t n, tok_ids *out) {
  if (t->naive) return tok_bpe_word_naive(t, s, n, out);
  if (t->ignore_merges) { /* Llama-3: a word in the vocabulary is taken whole */
    int32_t id = tok_strmap_get(t, s, n);
    if (id >= 0) {
      tok_ids_push(out, id);
      return out->failed ? MR_ENOMEM : MR_OK;
    }
  }
  tok_work *w = &t->work;
  if (n > CACHE_WORD) return merge_word(t, w, s, n, out);
  if (!w->cache) {
    w->cache = util_calloc(CACHE_SLOTS, sizeof *w->cache);
    if (!w->cache) return merge_word(t, w, s, n, out);
  }
  uint64_t h = tok_hash(s, n);
  tok_cache_entry *e = cache_slot(w, h, s, n);
  if (e->key_len) {
    for (uint32_t i = 0; i < e->n_ids; i++) tok_ids_push(out, w->cache_ids[e->ids_off + i]);
    return out->failed ? MR_ENOMEM : MR_OK;
  }
  size_t start = out->len;
  int rc = merge_word(t, w, s, n, out);
  if (rc) return rc;
  if (w->cache_count >= CACHE_MAX) {
    cache_clear(w);
    e = cache_slot(w, h, s, n);
  }
  cache_put(w, e, h, s, n, out->len > start ? out->v + start : NULL, out->len - start);
  return MR_OK;
}

void tok_work_free(tok_work *w) {
  mr_free(w->sym_id);
  mr_free(w->sym_prev);
  mr_free(w->sym_next);
  mr_free(w->heap);
  mr_free(w->cache);
  util_sb_free(&w->cache_bytes);
  mr_free(w->cache_ids);
  mr_free(w->nfc_cp);
  util_sb_free(&w->nfc_out);
  memset(w, 0, sizeof *w);
}

/* ---- the naive reference ------------------------------------------------------------------- */
int tok_bpe_word_naive(const mr_tokenizer *t, const unsigned char *s, size_t n, tok_ids *out) {
  if (t->ignore_merges) {
    int32_t id = tok_strmap_get(t, s, n);
    if (id >= 0) {
      tok_ids_push(out, id);
      return out->failed ? MR_ENOMEM : MR_OK;
    }
  }
  int32_t *sym = mr_alloc((n + 1) * sizeof *sym);
  if (!sym) return MR_ENOMEM;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (t->byte_id[s[i]] >= 0) sym[m++] = t->byte_id[s[i]];
  for (;;) {
    const tok_merge *best = NULL;
    size_t at = 0;
    for (size_t i = 0; i + 1 < m; i++) {
      const tok_merge *g = tok_pairmap_get(&t->merges, sym[i], sym[i + 1]);
      if (g && (!best || g->rank < best->rank)) best = g, at = i;
    }
    if (!best) break;
    sym[at] = best->id;
    memmove(sym + at + 1, sym + at + 2, (m - at - 2) * sizeof *sym);
    m--;
  }
  for (size_t i = 0; i < m; i++) tok_ids_push(out, sym[i]);
  mr_free(sym);
  return out->failed ? MR_ENOMEM : MR_OK;
}
