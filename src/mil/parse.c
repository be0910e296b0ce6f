/* parse.c — recursive-descent parser from model.mil text to the IR of ir.h (grammar:
 * docs/formats.md §2.2). Errors are raised with longjmp to mil_parse, the one entry point, which
 * drops the program's arena (docs/style.md §6); the message names file:line:col, what was expected
 * and what was found, and for an unclosed bracket where it was opened. Recursion (types, nested
 * literals, tuple arguments, nested blocks) is bounded by MAX_DEPTH so no input can exhaust the
 * stack. Everything is linear in the input: lists grow geometrically in the arena. */
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mil/build.h"
#include "mil/ir.h"
#include "mil/lex.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

#define MAX_DEPTH 64

typedef struct parser {
  mil_lexer lx;
  mil_token tok;  /* current token */
  mil_token next; /* one token of lookahead, valid when has_next */
  int has_next;
  util_arena *a;  /* the program's arena */
  const char *file;
  mr_error *err;
  int code;       /* error code carried across the longjmp */
  int depth;
  unsigned char *scratch; /* stack of lists being collected (mr_realloc'd, freed by mil_parse) */
  size_t top, cap;
  jmp_buf jb;
} parser;

/* A list being collected on the parser's scratch stack (items are pushed only once parsed, so
 * nested lists come and go above it); vec_close copies it, exactly sized, into the arena. */
typedef struct vec {
  size_t restore; /* scratch top before the list (start is aligned up from it) */
  size_t start, n;
  void *data;     /* after vec_close: the arena copy, NULL if empty */
} vec;

/* {==== errors ==== */

#if defined(__GNUC__)
#define NORETURN __attribute__((noreturn))
#else
#define NORETURN _Noreturn
#endif

/* Quote a token for a message: 'text' (shortened, non-printable bytes as \xNN) or end of file. */
static const char *describe(const mil_token *t, char *buf, size_t size) {
  if (t->kind == MIL_TK_EOF) return "end of file";
  size_t k = 0, lim = t->n < 40 ? t->n : 40;
  buf[k++] = '\'';
  for (size_t i = 0; i < lim && k + 8 < size; i++) {
    unsigned char c = (unsigned char)t->p[i];
    if (c >= 32 && c < 127) buf[k++] = (char)c;
    else k += (size_t)snprintf(buf + k, size - k, "\\x%02x", c);
  }
  if (t->n > lim && k + 4 < size) {
    memcpy(buf + k, "...", 3);
    k += 3;
  }
  buf[k++] = '\'';
  buf[k] = 0;
  return buf;
}

static NORETURN void fail_code_at(parser *P, int code, int line, int col, const char *fmt, ...)
    MR_PRINTF(5, 6);
static void fail_code_at(parser *P, int code, int line, int col, const char *fmt, ...) {
  char msg[MR_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  util_err(P->err, code, "%s:%d:%d: %s", P->file, line, col, msg);
  P->code = code;
  longjmp(P->jb, 1);
}

#define fail_at(P, t, ...) fail_code_at(P, MR_EFORMAT, (t)->line, (t)->col, __VA_ARGS__)
#define fail(P, ...) fail_at(P, &(P)->tok, __VA_ARGS__)

static NORETURN void fail_nomem(parser *P) {
  util_err_nomem(P->err, P->file);
  P->code = MR_ENOMEM;
  longjmp(P->jb, 1);
}

/* "expected X, found Y", plus "(to close 'c' at l:c)" when `open` is given. */
static NORETURN void fail_expected(parser *P, const char *what, const mil_token *open) {
  char b[200];
  const char *found = describe(&P->tok, b, sizeof b);
  if (open)
    fail(P, "expected %s, found %s (to close '%c' at %d:%d)", what, found, open->punct, open->line,
         open->col);
  fail(P, "expected %s, found %s", what, found);
}

/* }==== */

/* {==== tokens ==== */

static NORETURN void fail_bad(parser *P, const mil_token *t) {
  char b[200];
  fail_at(P, t, "%s %s", t->bad, describe(t, b, sizeof b));
}

static void advance(parser *P) {
  if (P->has_next) {
    P->tok = P->next;
    P->has_next = 0;
  } else {
    mil_lex_next(&P->lx, &P->tok);
  }
  if (P->tok.kind == MIL_TK_BAD) fail_bad(P, &P->tok);
}

static const mil_token *lookahead(parser *P) {
  if (!P->has_next) {
    mil_lex_next(&P->lx, &P->next);
    P->has_next = 1;
    if (P->next.kind == MIL_TK_BAD) fail_bad(P, &P->next);
  }
  return &P->next;
}

static int is_punct(const mil_token *t, char c) { return t->kind == MIL_TK_PUNCT && t->punct == c; }

static int is_word(const mil_token *t, const char *w) {
  size_t n = strlen(w);
  return t->kind == MIL_TK_IDENT && t->n == n && memcmp(t->p, w, n) == 0;
}

static void expect(parser *P, char c) {
  if (!is_punct(&P->tok, c)) {
    char what[4] = {'\'', c, '\'', 0};
    fail_expected(P, what, NULL);
  }
  advance(P);
}

/* Consume an opening bracket and return it (for the "to close" note of a later error). */
static mil_token open_bracket(parser *P, char c) {
  mil_token t = P->tok;
  expect(P, c);
  return t;
}

static void expect_close(parser *P, char c, const mil_token *open) {
  if (!is_punct(&P->tok, c)) {
    char what[4] = {'\'', c, '\'', 0};
    fail_expected(P, what, open);
  }
  advance(P);
}

/* After an item of a bracketed list: 1 if ',' announces another item, 0 at the closer. */
static int list_more(parser *P, char close, const mil_token *open) {
  if (is_punct(&P->tok, ',')) {
    advance(P);
    return 1;
  }
  if (is_punct(&P->tok, close)) {
    advance(P);
    return 0;
  }
  char what[16];
  snprintf(what, sizeof what, "',' or '%c'", close);
  fail_expected(P, what, open);
}

/* An empty list: the closer right after the opener. */
static int list_empty(parser *P, char close) {
  if (!is_punct(&P->tok, close)) return 0;
  advance(P);
  return 1;
}

static void enter(parser *P) {
  if (++P->depth > MAX_DEPTH) fail(P, "nesting deeper than %d levels", MAX_DEPTH);
}

static void leave(parser *P) { P->depth--; }

/* }==== */

/* {==== memory ==== */

static void *alloc(parser *P, size_t size) {
  void *p = util_arena_alloc(P->a, size);
  if (!p) fail_nomem(P);
  return p;
}

static char *ident(parser *P, const mil_token *t) {
  char *s = util_arena_strndup(P->a, t->p, t->n);
  if (!s) fail_nomem(P);
  return s;
}

static vec vec_open(parser *P) {
  vec v = {P->top, (P->top + 15) & ~(size_t)15, 0, NULL};
  return v;
}

/* Push one item of `size` bytes; the list must be the top one on the scratch stack. */
static void vec_add(parser *P, vec *v, const void *item, size_t size) {
  size_t end = v->start + v->n * size;
  if (end + size > P->cap) {
    size_t cap = P->cap ? P->cap * 2 : 4096;
    while (cap < end + size) cap *= 2;
    unsigned char *b = mr_realloc(P->scratch, cap);
    if (!b) fail_nomem(P);
    P->scratch = b;
    P->cap = cap;
  }
  memcpy(P->scratch + end, item, size);
  v->n++;
  P->top = end + size;
}

/* Move the list into the arena (v->data, v->n) and pop it from the scratch stack. The arena copy
 * has room for mil_list_cap(n) items, the invariant that lets build.h append to any list. */
static void *vec_close(parser *P, vec *v, size_t size) {
  if (v->n > (size_t)INT_MAX) fail(P, "too many items in a list");
  v->data = NULL;
  if (v->n) {
    v->data = alloc(P, mil_list_cap(v->n) * size);
    memcpy(v->data, P->scratch + v->start, v->n * size);
  }
  P->top = v->restore;
  return v->data;
}

/* }==== */

/* {==== types ==== */

static int is_dtype_word(const mil_token *t) {
  mil_dtype d;
  return t->kind == MIL_TK_IDENT && mil_dtype_parse(t->p, t->n, &d) == 0;
}

static int is_type_word(const mil_token *t) {
  return is_dtype_word(t) || is_word(t, "tensor") || is_word(t, "state") || is_word(t, "list") ||
         is_word(t, "tuple") || is_word(t, "dict");
}

static mil_dtype parse_dtype(parser *P) {
  mil_dtype d;
  char b[200];
  if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "a dtype", NULL);
  if (mil_dtype_parse(P->tok.p, P->tok.n, &d) != 0)
    fail(P, "unknown dtype %s", describe(&P->tok, b, sizeof b));
  advance(P);
  return d;
}

/* Parse an unsigned decimal INT token into *out; 0 if it does not fit in 64 bits. */
static int tok_u64(const mil_token *t, uint64_t *out) {
  uint64_t v = 0;
  for (size_t i = 0; i < t->n; i++) {
    unsigned d = (unsigned)(t->p[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

/* dim = INT | "?" (a non-negative size that fits int64) */
static int64_t parse_dim(parser *P) {
  uint64_t v;
  char b[200];
  if (is_punct(&P->tok, '?')) {
    advance(P);
    return -1;
  }
  if (P->tok.kind != MIL_TK_INT) fail_expected(P, "a dimension", NULL);
  if (P->tok.p[0] == '-' || !tok_u64(&P->tok, &v) || v > INT64_MAX)
    fail(P, "invalid dimension %s", describe(&P->tok, b, sizeof b));
  advance(P);
  return (int64_t)v;
}

/* "tensor" "<" DTYPE "," "[" [ dim { "," dim } ] "]" ">" — the word `tensor` already consumed */
static mil_type *parse_tensor_type(parser *P, const mil_token *start, const mil_token *lt) {
  mil_dtype d = parse_dtype(P);
  expect(P, ',');
  mil_token sq = open_bracket(P, '[');
  vec dims = vec_open(P);
  if (!list_empty(P, ']')) {
    do {
      int64_t d1 = parse_dim(P);
      vec_add(P, &dims, &d1, sizeof d1);
    } while (list_more(P, ']', &sq));
  }
  expect_close(P, '>', lt);
  vec_close(P, &dims, sizeof(int64_t));
  mil_type *t = mil_type_new_tensor(P->a, d, (int)dims.n, dims.data);
  if (!t) fail_nomem(P);
  /* Known sizes must have a product that fits int64, so mil_type_count never overflows. */
  int64_t n = 1;
  for (size_t i = 0; i < dims.n; i++) {
    int64_t k = t->dims[i];
    if (k < 0) continue;
    if (k && n > INT64_MAX / k) fail_at(P, start, "tensor type has too many elements");
    n *= k;
  }
  return t;
}

/* type = DTYPE | "tensor" "<" ... ">" | "state" "<" type ">" | "list" "<" type "," (INT|"?") ">"
 *      | "tuple" "<" type { "," type } ">" | "dict" "<" type "," type ">" */
static mil_type *parse_type(parser *P) {
  mil_token start = P->tok;
  char b[200];
  if (start.kind != MIL_TK_IDENT) fail_expected(P, "a type", NULL);
  mil_dtype d;
  if (mil_dtype_parse(start.p, start.n, &d) == 0) { /* program(1.3) scalar spelling */
    advance(P);
    mil_type *t = mil_type_new_tensor(P->a, d, 0, NULL);
    if (!t) fail_nomem(P);
    return t;
  }
  mil_type_kind kind;
  if (is_word(&start, "tensor")) kind = MIL_TYPE_TENSOR;
  else if (is_word(&start, "state")) kind = MIL_TYPE_STATE;
  else if (is_word(&start, "list")) kind = MIL_TYPE_LIST;
  else if (is_word(&start, "tuple")) kind = MIL_TYPE_TUPLE;
  else if (is_word(&start, "dict")) kind = MIL_TYPE_DICT;
  else fail(P, "unknown type %s", describe(&start, b, sizeof b));
  enter(P);
  advance(P);
  mil_token lt = open_bracket(P, '<');
  if (kind == MIL_TYPE_TENSOR) {
    mil_type *t = parse_tensor_type(P, &start, &lt);
    leave(P);
    return t;
  }
  mil_type *t = mil_type_new(P->a, kind);
  if (!t) fail_nomem(P);
  if (kind == MIL_TYPE_TUPLE) {
    vec m = vec_open(P);
    do {
      mil_type *mt = parse_type(P);
      vec_add(P, &m, &mt, sizeof mt);
    } while (list_more(P, '>', &lt));
    t->members = vec_close(P, &m, sizeof(mil_type *));
    t->n_members = (int)m.n;
    leave(P);
    return t;
  }
  t->elem = parse_type(P);
  if (kind == MIL_TYPE_STATE && (t->elem->kind != MIL_TYPE_TENSOR))
    fail_at(P, &start, "state<...> must hold a tensor type");
  if (kind == MIL_TYPE_LIST) {
    expect(P, ',');
    t->list_len = parse_dim(P);
  } else if (kind == MIL_TYPE_DICT) {
    expect(P, ',');
    t->value = parse_type(P);
  }
  expect_close(P, '>', &lt);
  leave(P);
  return t;
}

/* }==== */

/* {==== literals ==== */

/* Elements of a tensor literal, flattened row-major. When the type's count is known and could
 * fit in the rest of the input, the arrays are sized once; otherwise they grow. Past a known
 * count, elements are only counted, for the error message. */
typedef struct elems {
  mil_dtype dtype;
  double *nums;  /* fixed: the arena array of `cap` numbers (or strs for strings) */
  char **strs;
  int64_t cap;   /* -1: growing on the scratch stack in `list` */
  vec list;
  int64_t count; /* elements seen */
} elems;

static NORETURN void fail_scalar(parser *P, mil_dtype d) {
  char what[64];
  if (d == MIL_STRING) snprintf(what, sizeof what, "a string");
  else if (d == MIL_BOOL) snprintf(what, sizeof what, "true or false");
  else if (mil_dtype_is_float(d)) snprintf(what, sizeof what, "a number for %s", mil_dtype_name(d));
  else snprintf(what, sizeof what, "an integer for %s", mil_dtype_name(d));
  fail_expected(P, what, NULL);
}

/* INT token checked against the range of integer dtype d. */
static double int_value(parser *P, mil_dtype d) {
  const mil_token *t = &P->tok;
  char b[200];
  int neg = t->p[0] == '-';
  mil_token digits = *t;
  digits.p += neg;
  digits.n -= (size_t)neg;
  uint64_t mag;
  int bits = mil_dtype_bits(d);
  int is_signed = d == MIL_INT4 || d == MIL_INT8 || d == MIL_INT16 || d == MIL_INT32 || d == MIL_INT64;
  int ok = tok_u64(&digits, &mag);
  if (ok && is_signed) ok = neg ? mag <= (UINT64_C(1) << (bits - 1)) : mag < (UINT64_C(1) << (bits - 1));
  else if (ok) ok = neg ? mag == 0 : (bits == 64 || mag < (UINT64_C(1) << bits));
  if (!ok) fail(P, "integer %s out of range for %s", describe(t, b, sizeof b), mil_dtype_name(d));
  return neg ? -(double)mag : (double)mag;
}

static int hex_digit(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

/* A hex float token, -?0x H+ [. H*] [p [+-] D+] (the lexer checked the form). Decoded here rather
 * than by strtod, whose decimal point follows the process locale. Exact (one rounding) while the
 * significand fits 60 bits, i.e. always for compiler output (fp16/fp32 need at most 7 digits);
 * longer ones keep a sticky bit. */
static double hex_float(const mil_token *t) {
  size_t i = 0;
  int neg = t->p[0] == '-', frac = 0, sticky = 0;
  uint64_t m = 0;
  long e = 0, pe = 0;
  for (i = (size_t)neg + 2; i < t->n && (t->p[i] | 0x20) != 'p'; i++) {
    if (t->p[i] == '.') {
      frac = 1;
    } else if (m >> 56) { /* no room: drop the digit */
      e += frac ? 0 : 4;
      sticky |= t->p[i] != '0';
    } else {
      m = m * 16 + (uint64_t)hex_digit(t->p[i]);
      e -= frac ? 4 : 0;
    }
  }
  if (i < t->n) {
    int eneg = t->p[++i] == '-';
    if (t->p[i] == '-' || t->p[i] == '+') i++;
    for (; i < t->n; i++)
      if (pe < 100000) pe = pe * 10 + (t->p[i] - '0'); /* beyond: over/underflows anyway */
    pe = eneg ? -pe : pe;
  }
  double r = ldexp((double)(m | (uint64_t)sticky), (int)(e + pe));
  return neg ? -r : r;
}

/* A decimal float with strtod, translating '.' to the locale's decimal point. */
static double dec_float(parser *P, const mil_token *t) {
  char buf[512];
  if (t->n >= sizeof buf) fail(P, "number too long (%zu characters)", t->n);
  memcpy(buf, t->p, t->n);
  buf[t->n] = 0;
  char *dot = memchr(buf, '.', t->n), point = localeconv()->decimal_point[0];
  if (dot && point && point != '.') *dot = point;
  return strtod(buf, NULL);
}

/* A number token of a float dtype: decimal or hex float, integer, inf, -inf, nan, -nan. */
static double float_value(parser *P, mil_dtype d) {
  const mil_token *t = &P->tok;
  if (t->kind == MIL_TK_IDENT) {
    if (is_word(t, "inf")) return INFINITY;
    if (is_word(t, "nan")) return NAN;
    fail_scalar(P, d);
  }
  if (t->kind == MIL_TK_FLOAT && t->n == 4 && t->p[0] == '-' && (t->p[1] == 'i' || t->p[1] == 'n'))
    return t->p[1] == 'i' ? -INFINITY : -NAN;
  size_t h = t->p[0] == '-';
  if (t->n > h + 1 && (t->p[h + 1] | 0x20) == 'x') return hex_float(t);
  return dec_float(P, t);
}

static void push_num(parser *P, elems *e, double v) {
  if (e->cap < 0) vec_add(P, &e->list, &v, sizeof v);
  else if (e->count < e->cap) e->nums[e->count] = v; /* beyond cap: only counted */
}

/* scalar = INT | HEXFLOAT | DECFLOAT | inf | -inf | nan | true | false | STRING, checked against
 * the literal's dtype */
static void parse_scalar(parser *P, elems *e) {
  const mil_token *t = &P->tok;
  mil_dtype d = e->dtype;
  if (d == MIL_STRING) {
    if (t->kind != MIL_TK_STRING) fail_scalar(P, d);
    if (e->cap < 0 || e->count < e->cap) {
      char *s = alloc(P, t->n);
      long n = mil_lex_unescape(t, s);
      if (n < 0) fail(P, "invalid escape in string");
      s[n] = 0;
      if (e->cap < 0) vec_add(P, &e->list, &s, sizeof s);
      else e->strs[e->count] = s;
    }
  } else if (d == MIL_BOOL) {
    if (!is_word(t, "true") && !is_word(t, "false")) fail_scalar(P, d);
    push_num(P, e, is_word(t, "true"));
  } else if (mil_dtype_is_float(d)) {
    if (t->kind != MIL_TK_INT && t->kind != MIL_TK_FLOAT && t->kind != MIL_TK_IDENT) fail_scalar(P, d);
    push_num(P, e, float_value(P, d));
  } else {
    if (t->kind != MIL_TK_INT) fail_scalar(P, d);
    push_num(P, e, int_value(P, d));
  }
  e->count++;
  advance(P);
}

/* literal = scalar | "[" [ literal { "," literal } ] "]" (tensor: nesting flattened) */
static void parse_tensor_elems(parser *P, elems *e) {
  if (!is_punct(&P->tok, '[')) {
    parse_scalar(P, e);
    return;
  }
  enter(P);
  mil_token sq = open_bracket(P, '[');
  if (!list_empty(P, ']')) {
    do parse_tensor_elems(P, e);
    while (list_more(P, ']', &sq));
  }
  leave(P);
}

static const char *plural(int64_t n, const char *word, char *buf, size_t size) {
  snprintf(buf, size, "%lld %s%s", (long long)n, word, n == 1 ? "" : "s");
  return buf;
}

static mil_value *parse_tensor_literal(parser *P, mil_type *t) {
  mil_token start = P->tok;
  elems e = {.dtype = t->dtype, .cap = -1};
  int64_t need = mil_type_count(t);
  size_t elem = t->dtype == MIL_STRING ? sizeof(char *) : sizeof(double);
  /* Each element takes at least one byte of text, so a larger count cannot match: grow instead. */
  if (need >= 0 && (uint64_t)need <= P->lx.len - (size_t)(P->tok.p - P->lx.src)) {
    e.cap = need;
    void *d = need ? alloc(P, (size_t)need * elem) : NULL;
    if (t->dtype == MIL_STRING) e.strs = d;
    else e.nums = d;
  } else {
    e.list = vec_open(P);
  }
  parse_tensor_elems(P, &e);
  if (e.cap < 0) {
    void *d = vec_close(P, &e.list, elem);
    if (t->dtype == MIL_STRING) e.strs = d;
    else e.nums = d;
  }
  if (need >= 0 && e.count != need) {
    char tb[256], h[64];
    fail_at(P, &start, "literal has %s, type %s needs %lld", plural(e.count, "element", h, sizeof h),
            mil_type_str(t, tb, sizeof tb), (long long)need);
  }
  mil_value *v = mil_value_new(P->a, MIL_VALUE_TENSOR, t);
  if (!v) fail_nomem(P);
  v->count = e.count;
  v->strs = e.strs;
  v->nums = e.nums;
  return v;
}

static mil_value *parse_literal(parser *P, mil_type *t);

static mil_value *composite(parser *P, mil_type *t, vec *items) {
  mil_value *v = mil_value_new(P->a, MIL_VALUE_COMPOSITE, t);
  if (!v) fail_nomem(P);
  v->items = vec_close(P, items, sizeof(mil_value *));
  v->n_items = (int)items->n;
  return v;
}

static void push_item(parser *P, vec *items, mil_value *v) { vec_add(P, items, &v, sizeof v); }

/* tuple literal = "(" literal { "," literal } ")", one per member */
static mil_value *parse_tuple_literal(parser *P, mil_type *t) {
  mil_token start = P->tok;
  char tb[256], h[64];
  mil_token open = open_bracket(P, '(');
  vec items = vec_open(P);
  do {
    if ((int)items.n == t->n_members)
      fail(P, "too many items in literal of type %s", mil_type_str(t, tb, sizeof tb));
    push_item(P, &items, parse_literal(P, t->members[items.n]));
  } while (list_more(P, ')', &open));
  if ((int)items.n != t->n_members)
    fail_at(P, &start, "literal has %s, type %s needs %d", plural((int64_t)items.n, "item", h, sizeof h),
            mil_type_str(t, tb, sizeof tb), t->n_members);
  return composite(P, t, &items);
}

/* list literal = "[" [ literal { "," literal } ] "]" */
static mil_value *parse_list_literal(parser *P, mil_type *t) {
  mil_token start = P->tok;
  char tb[256], h[64];
  mil_token open = open_bracket(P, '[');
  vec items = vec_open(P);
  if (!list_empty(P, ']')) {
    do push_item(P, &items, parse_literal(P, t->elem));
    while (list_more(P, ']', &open));
  }
  if (t->list_len >= 0 && (int64_t)items.n != t->list_len)
    fail_at(P, &start, "literal has %s, type %s needs %lld", plural((int64_t)items.n, "item", h, sizeof h),
            mil_type_str(t, tb, sizeof tb), (long long)t->list_len);
  return composite(P, t, &items);
}

/* dict literal = "{" [ pair { "," pair } ] "}" ; pair = "{" literal "," literal "}" */
static mil_value *parse_dict_literal(parser *P, mil_type *t) {
  mil_token open = open_bracket(P, '{');
  vec items = vec_open(P);
  if (!list_empty(P, '}')) {
    do {
      enter(P);
      mil_token po = open_bracket(P, '{');
      push_item(P, &items, parse_literal(P, t->elem));
      expect(P, ',');
      push_item(P, &items, parse_literal(P, t->value));
      expect_close(P, '}', &po);
      leave(P);
    } while (list_more(P, '}', &open));
  }
  return composite(P, t, &items);
}

/* A literal of type t: the form follows the type (tensor, tuple, list or dict). */
static mil_value *parse_literal(parser *P, mil_type *t) {
  mil_value *v;
  enter(P);
  switch (t->kind) {
  case MIL_TYPE_TENSOR: v = parse_tensor_literal(P, t); break;
  case MIL_TYPE_TUPLE: v = parse_tuple_literal(P, t); break;
  case MIL_TYPE_LIST: v = parse_list_literal(P, t); break;
  case MIL_TYPE_DICT: v = parse_dict_literal(P, t); break;
  default: fail(P, "a state type has no literal value");
  }
  leave(P);
  return v;
}

/* Scalar parts of BLOBFILE: type "(" token ")" where the type must be a rank-0 tensor. */
static mil_type *blob_part_type(parser *P, const char *what, int want_string) {
  mil_token at = P->tok;
  mil_type *t = parse_type(P);
  int ok = t->kind == MIL_TYPE_TENSOR && t->rank == 0;
  if (want_string) ok = ok && t->dtype == MIL_STRING;
  else ok = ok && !mil_dtype_is_float(t->dtype) && t->dtype != MIL_STRING && t->dtype != MIL_BOOL;
  if (!ok) fail_at(P, &at, "BLOBFILE %s must be %s", what, want_string ? "a string" : "an integer");
  return t;
}

/* blobfile = "BLOBFILE" "(" "path" "=" value "," "offset" "=" value ")"  (value: either scalar
 * spelling; the offset is read as an exact uint64) */
static mil_value *parse_blobfile(parser *P, mil_type *t, const mil_token *type_at) {
  char tb[256];
  if (t->kind != MIL_TYPE_TENSOR)
    fail_at(P, type_at, "BLOBFILE needs a tensor type, not %s", mil_type_str(t, tb, sizeof tb));
  mil_value *v = mil_value_new(P->a, MIL_VALUE_BLOB, t);
  if (!v) fail_nomem(P);
  advance(P);
  mil_token open = open_bracket(P, '(');
  if (!is_word(&P->tok, "path")) fail_expected(P, "'path'", NULL);
  advance(P);
  expect(P, '=');
  mil_type *pt = blob_part_type(P, "path", 1);
  mil_token pp = open_bracket(P, '(');
  v->blob_path = parse_literal(P, pt)->strs[0];
  expect_close(P, ')', &pp);
  expect(P, ',');
  if (!is_word(&P->tok, "offset")) fail_expected(P, "'offset'", NULL);
  advance(P);
  expect(P, '=');
  blob_part_type(P, "offset", 0);
  mil_token po = open_bracket(P, '(');
  uint64_t off;
  if (P->tok.kind != MIL_TK_INT) fail_expected(P, "an offset", NULL);
  if (P->tok.p[0] == '-' || !tok_u64(&P->tok, &off))
    fail(P, "invalid BLOBFILE offset %s", describe(&P->tok, tb, sizeof tb));
  v->blob_offset = off;
  advance(P);
  expect_close(P, ')', &po);
  expect_close(P, ')', &open);
  return v;
}

/* value = type "(" ( literal | blobfile ) ")" */
static mil_value *parse_value(parser *P) {
  mil_token type_at = P->tok;
  mil_type *t = parse_type(P);
  mil_token open = open_bracket(P, '(');
  mil_value *v = is_word(&P->tok, "BLOBFILE") ? parse_blobfile(P, t, &type_at) : parse_literal(P, t);
  expect_close(P, ')', &open);
  return v;
}

/* }==== */

/* {==== statements ==== */

/* binding = IDENT (a variable) | value; an IDENT followed by '<' or '(' starts a typed value */
static mil_binding parse_binding(parser *P) {
  mil_binding b = {0};
  if (P->tok.kind == MIL_TK_IDENT) {
    const mil_token *n = lookahead(P);
    if (!is_punct(n, '<') && !is_punct(n, '(')) {
      b.var = ident(P, &P->tok);
      advance(P);
      return b;
    }
  } else {
    fail_expected(P, "a name or a typed value", NULL);
  }
  b.value = parse_value(P);
  return b;
}

/* arg = IDENT "=" argval ; argval = binding | "(" binding { "," binding } ")" */
static void parse_arg(parser *P, mil_arg *arg, int is_attr) {
  if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "a parameter name", NULL);
  arg->name = ident(P, &P->tok);
  arg->line = P->tok.line;
  arg->col = P->tok.col;
  arg->is_attr = is_attr;
  advance(P);
  expect(P, '=');
  vec items = vec_open(P);
  mil_binding b;
  if (is_punct(&P->tok, '(')) {
    enter(P);
    mil_token open = open_bracket(P, '(');
    arg->is_tuple = 1;
    if (!list_empty(P, ')')) {
      do {
        b = parse_binding(P);
        vec_add(P, &items, &b, sizeof b);
      } while (list_more(P, ')', &open));
    }
    leave(P);
  } else {
    b = parse_binding(P);
    vec_add(P, &items, &b, sizeof b);
  }
  arg->items = vec_close(P, &items, sizeof(mil_binding));
  arg->n_items = (int)items.n;
}

/* attr_block = "[" attr { "," attr } "]" ; args = "(" [ arg { "," arg } ] ")" */
static void parse_args(parser *P, vec *args, char open_c, char close_c, int is_attr) {
  mil_token open = open_bracket(P, open_c);
  if (list_empty(P, close_c)) return;
  do {
    mil_arg a1 = {0};
    parse_arg(P, &a1, is_attr);
    vec_add(P, args, &a1, sizeof a1);
  } while (list_more(P, close_c, &open));
}

static void parse_body(parser *P, mil_block *blk);

/* call = IDENT [ "<" OPSET ">" ] "(" [ arg { "," arg } ] ")" [ attr_block ] { body } */
static void parse_call(parser *P, mil_op *op) {
  if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "an op name", NULL);
  op->type = ident(P, &P->tok);
  advance(P);
  if (is_punct(&P->tok, '<')) {
    mil_token lt = open_bracket(P, '<');
    if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "an opset name", NULL);
    op->opset = ident(P, &P->tok);
    advance(P);
    expect_close(P, '>', &lt);
  }
  vec args = vec_open(P);
  parse_args(P, &args, '(', ')', 0);
  if (is_punct(&P->tok, '[')) parse_args(P, &args, '[', ']', 1);
  op->args = vec_close(P, &args, sizeof(mil_arg));
  op->n_args = (int)args.n;
  vec blocks = vec_open(P);
  while (is_punct(&P->tok, '{')) {
    mil_block blk = {0};
    enter(P);
    parse_body(P, &blk);
    leave(P);
    vec_add(P, &blocks, &blk, sizeof blk);
  }
  op->blocks = vec_close(P, &blocks, sizeof(mil_block));
  op->n_blocks = (int)blocks.n;
}

/* var = type IDENT */
static void parse_var(parser *P, mil_var *v) {
  v->type = parse_type(P);
  if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "a name", NULL);
  v->name = ident(P, &P->tok);
  v->line = P->tok.line;
  v->col = P->tok.col;
  advance(P);
}

/* Does the statement start with outputs (a type) rather than a call? `x(` and `op<opset>(`
 * are calls; type words and `word word` (an unknown type, reported by parse_type) are outputs. */
static int starts_outputs(parser *P) {
  const mil_token *n = lookahead(P);
  if (is_punct(n, '(')) return 0;
  return is_type_word(&P->tok) || n->kind == MIL_TK_IDENT;
}

/* statement = [ var { "," var } "=" ] call ";" */
static void parse_statement(parser *P, mil_op *op) {
  op->line = P->tok.line;
  op->col = P->tok.col;
  if (starts_outputs(P)) {
    vec outs = vec_open(P);
    for (;;) {
      mil_var v = {0};
      parse_var(P, &v);
      vec_add(P, &outs, &v, sizeof v);
      if (is_punct(&P->tok, '=')) break;
      if (!is_punct(&P->tok, ',')) fail_expected(P, "',' or '='", NULL);
      advance(P);
    }
    advance(P);
    op->outputs = vec_close(P, &outs, sizeof(mil_var));
    op->n_outputs = (int)outs.n;
  }
  parse_call(P, op);
  expect(P, ';');
}

/* body = "{" { statement } "}" "->" "(" [ IDENT { "," IDENT } ] ")" */
static void parse_body(parser *P, mil_block *blk) {
  blk->line = P->tok.line;
  blk->col = P->tok.col;
  mil_token open = open_bracket(P, '{');
  vec ops = vec_open(P);
  while (!is_punct(&P->tok, '}')) {
    if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "a statement or '}'", &open);
    mil_op op = {0};
    parse_statement(P, &op);
    vec_add(P, &ops, &op, sizeof op);
  }
  advance(P);
  blk->ops = vec_close(P, &ops, sizeof(mil_op));
  blk->n_ops = (int)ops.n;
  if (P->tok.kind != MIL_TK_ARROW) fail_expected(P, "'->'", NULL);
  advance(P);
  mil_token po = open_bracket(P, '(');
  vec outs = vec_open(P);
  if (!list_empty(P, ')')) {
    do {
      if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "an output name", NULL);
      const char *name = ident(P, &P->tok);
      vec_add(P, &outs, &name, sizeof name);
      advance(P);
    } while (list_more(P, ')', &po));
  }
  blk->outputs = vec_close(P, &outs, sizeof(char *));
  blk->n_outputs = (int)outs.n;
}

/* }==== */

/* {==== program ==== */

/* function = "func" IDENT "<" OPSET ">" "(" [ param { "," param } ] ")" [ attr_block ] body ";" */
static void parse_function(parser *P, mil_function *f) {
  f->line = P->tok.line;
  f->col = P->tok.col;
  advance(P); /* func */
  if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "a function name", NULL);
  f->name = ident(P, &P->tok);
  advance(P);
  mil_token lt = open_bracket(P, '<');
  if (P->tok.kind != MIL_TK_IDENT) fail_expected(P, "an opset name", NULL);
  f->opset = ident(P, &P->tok);
  advance(P);
  expect_close(P, '>', &lt);
  mil_token open = open_bracket(P, '(');
  vec params = vec_open(P);
  if (!list_empty(P, ')')) {
    do {
      mil_var v = {0};
      parse_var(P, &v);
      vec_add(P, &params, &v, sizeof v);
    } while (list_more(P, ')', &open));
  }
  f->params = vec_close(P, &params, sizeof(mil_var));
  f->n_params = (int)params.n;
  vec attrs = vec_open(P);
  if (is_punct(&P->tok, '[')) parse_args(P, &attrs, '[', ']', 1);
  f->attrs = vec_close(P, &attrs, sizeof(mil_arg));
  f->n_attrs = (int)attrs.n;
  parse_body(P, &f->body);
  expect(P, ';');
}

/* file = "program" "(" VERSION ")" [ attr_block ] "{" { function } "}" EOF */
static void parse_program(parser *P, mil_program *prog) {
  advance(P);
  if (!is_word(&P->tok, "program")) fail_expected(P, "'program'", NULL);
  advance(P);
  mil_token open = open_bracket(P, '(');
  if (P->tok.kind != MIL_TK_FLOAT && P->tok.kind != MIL_TK_INT) fail_expected(P, "a version number", NULL);
  prog->version = ident(P, &P->tok);
  advance(P);
  expect_close(P, ')', &open);
  vec attrs = vec_open(P);
  if (is_punct(&P->tok, '[')) parse_args(P, &attrs, '[', ']', 1);
  prog->attrs = vec_close(P, &attrs, sizeof(mil_arg));
  prog->n_attrs = (int)attrs.n;
  mil_token brace = open_bracket(P, '{');
  vec funcs = vec_open(P);
  while (!is_punct(&P->tok, '}')) {
    if (!is_word(&P->tok, "func")) fail_expected(P, "'func' or '}'", &brace);
    mil_function f = {0};
    parse_function(P, &f);
    vec_add(P, &funcs, &f, sizeof f);
  }
  advance(P);
  prog->funcs = vec_close(P, &funcs, sizeof(mil_function));
  prog->n_funcs = (int)funcs.n;
  if (P->tok.kind != MIL_TK_EOF) fail_expected(P, "end of file", NULL);
}

int mil_parse(const char *text, size_t len, const char *filename, mil_program **out, mr_error *err) {
  *out = NULL;
  if (!filename) filename = "model.mil";
  mil_program *prog = mil_program_new(filename);
  if (!prog) return util_err_nomem(err, filename);
  parser P;
  memset(&P, 0, sizeof P);
  mil_lex_init(&P.lx, text, len);
  P.a = &prog->arena;
  P.file = prog->filename;
  P.err = err;
  if (setjmp(P.jb)) {
    mr_free(P.scratch);
    mil_program_free(prog);
    return P.code;
  }
  parse_program(&P, prog);
  mr_free(P.scratch);
  *out = prog;
  return MR_OK;
}

/* }==== */

int mil_parse_file(const char *path, mil_program **out, mr_error *err) {
  util_map m;
  *out = NULL;
  int rc = util_map_open(&m, path, err);
  if (rc != MR_OK) return rc;
  rc = mil_parse((const char *)m.data, m.size, path, out, err);
  util_map_close(&m);
  return rc;
}
