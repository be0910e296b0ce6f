/* ir.c — the IR's small services: the dtype table, constructors that allocate IR nodes in a
 * program's arena (the parser builds IR only through these), type counting and printing, and
 * lookups of functions and op arguments. */
#include "mil/ir.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strbuf.h"

/* ORDER mil_dtype. The fp8 spellings were never seen in text (docs/formats.md §2.3, [U]). */
static const struct {
  const char *name;
  int bits;
  int is_float;
} dtypes[MIL_DTYPE_COUNT] = {
    {"bool", 8, 0},     {"string", 0, 0},   {"fp16", 16, 1},     {"fp32", 32, 1},
    {"fp64", 64, 1},    {"bf16", 16, 1},    {"int4", 4, 0},      {"int8", 8, 0},
    {"int16", 16, 0},   {"int32", 32, 0},   {"int64", 64, 0},    {"uint1", 1, 0},
    {"uint2", 2, 0},    {"uint3", 3, 0},    {"uint4", 4, 0},     {"uint6", 6, 0},
    {"uint8", 8, 0},    {"uint16", 16, 0},  {"uint32", 32, 0},   {"uint64", 64, 0},
    {"fp8e4m3fn", 8, 1}, {"fp8e5m2", 8, 1},
};

const char *mil_dtype_name(mil_dtype t) {
  return (unsigned)t < MIL_DTYPE_COUNT ? dtypes[t].name : "?";
}

int mil_dtype_bits(mil_dtype t) { return (unsigned)t < MIL_DTYPE_COUNT ? dtypes[t].bits : 0; }

int mil_dtype_is_float(mil_dtype t) { return (unsigned)t < MIL_DTYPE_COUNT && dtypes[t].is_float; }

int mil_dtype_parse(const char *s, size_t n, mil_dtype *out) {
  if (n == 0 || n > 9) return -1;
  for (int i = 0; i < MIL_DTYPE_COUNT; i++) {
    /* The first-letter test keeps this cheap: the parser asks it about every identifier. */
    if (dtypes[i].name[0] == s[0] && strlen(dtypes[i].name) == n && memcmp(dtypes[i].name, s, n) == 0) {
      *out = (mil_dtype)i;
      return 0;
    }
  }
  return -1;
}

/* ---- constructors ------------------------------------------------------------------------- */

mil_program *mil_program_new(const char *filename) {
  mil_program *p = mr_alloc(sizeof *p);
  if (!p) return NULL;
  memset(p, 0, sizeof *p);
  p->filename = util_arena_strndup(&p->arena, filename, strlen(filename));
  if (!p->filename) {
    mil_program_free(p);
    return NULL;
  }
  return p;
}

void mil_program_free(mil_program *p) {
  if (!p) return;
  /* The program struct is outside its arena: freeing the arena must not free the arena itself. */
  util_arena_free(&p->arena);
  mr_free(p);
}

mil_type *mil_type_new(util_arena *a, mil_type_kind kind) {
  mil_type *t = util_arena_alloc(a, sizeof *t);
  if (t) {
    t->kind = kind;
    t->list_len = -1;
  }
  return t;
}

mil_type *mil_type_new_tensor(util_arena *a, mil_dtype dtype, int rank, const int64_t *dims) {
  mil_type *t = mil_type_new(a, MIL_TYPE_TENSOR);
  if (!t) return NULL;
  t->dtype = dtype;
  t->rank = rank;
  if (rank > 0) {
    t->dims = util_arena_alloc(a, (size_t)rank * sizeof *t->dims);
    if (!t->dims) return NULL;
    memcpy(t->dims, dims, (size_t)rank * sizeof *t->dims);
  }
  return t;
}

mil_value *mil_value_new(util_arena *a, mil_value_kind kind, mil_type *type) {
  mil_value *v = util_arena_alloc(a, sizeof *v);
  if (v) {
    v->kind = kind;
    v->type = type;
  }
  return v;
}

/* ---- queries ------------------------------------------------------------------------------ */

int64_t mil_type_count(const mil_type *t) {
  if (t && t->kind == MIL_TYPE_STATE) t = t->elem;
  if (!t || t->kind != MIL_TYPE_TENSOR) return -1;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] != 0 && n > INT64_MAX / t->dims[i]) return -1; /* parser refuses such types */
    n *= t->dims[i];
  }
  return n;
}

/* Where a type is written: a fixed buffer (truncating, kept NUL-terminated) or, with sb, a growing
 * string. long_scalars spells rank 0 as program(1.0) does, `tensor<fp16, []>`. */
typedef struct tbuf {
  char *p;
  size_t size, len;
  util_sb *sb;
  int long_scalars;
} tbuf;

static void put(tbuf *b, const char *s) {
  if (b->sb) {
    util_sb_puts(b->sb, s);
    return;
  }
  size_t n = strlen(s);
  if (b->len + 1 >= b->size) return;
  size_t room = b->size - 1 - b->len;
  if (n > room) n = room;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void put_type(tbuf *b, const mil_type *t, int depth) {
  char num[32];
  if (!t || depth > 100) {
    put(b, "?");
    return;
  }
  switch (t->kind) {
  case MIL_TYPE_TENSOR:
    /* Rank 0: both spellings are the same type; messages use the program(1.3) one. */
    if (t->rank == 0 && !b->long_scalars) {
      put(b, mil_dtype_name(t->dtype));
      return;
    }
    put(b, "tensor<");
    put(b, mil_dtype_name(t->dtype));
    put(b, ", [");
    for (int i = 0; i < t->rank; i++) {
      if (i) put(b, ", ");
      if (t->dims[i] < 0) put(b, "?");
      else {
        snprintf(num, sizeof num, "%lld", (long long)t->dims[i]);
        put(b, num);
      }
    }
    put(b, "]>");
    return;
  case MIL_TYPE_STATE:
    put(b, "state<");
    put_type(b, t->elem, depth + 1);
    put(b, ">");
    return;
  case MIL_TYPE_LIST:
    put(b, "list<");
    put_type(b, t->elem, depth + 1);
    if (t->list_len < 0) put(b, ", ?>");
    else {
      snprintf(num, sizeof num, ", %lld>", (long long)t->list_len);
      put(b, num);
    }
    return;
  case MIL_TYPE_TUPLE:
    put(b, "tuple<");
    for (int i = 0; i < t->n_members; i++) {
      if (i) put(b, ", ");
      put_type(b, t->members[i], depth + 1);
    }
    put(b, ">");
    return;
  case MIL_TYPE_DICT:
    put(b, "dict<");
    put_type(b, t->elem, depth + 1);
    put(b, ", ");
    put_type(b, t->value, depth + 1);
    put(b, ">");
    return;
  }
}

char *mil_type_str(const mil_type *t, char *buf, size_t size) {
  if (!size) return buf;
  tbuf b = {buf, size, 0, NULL, 0};
  buf[0] = 0;
  put_type(&b, t, 0);
  return buf;
}

void mil_type_print(util_sb *sb, const mil_type *t, int long_scalars) {
  tbuf b = {NULL, 0, 0, sb, long_scalars};
  put_type(&b, t, 0);
}

const mil_function *mil_program_function(const mil_program *p, const char *name) {
  if (!p) return NULL;
  if (!name) return p->n_funcs ? &p->funcs[0] : NULL;
  for (int i = 0; i < p->n_funcs; i++)
    if (strcmp(p->funcs[i].name, name) == 0) return &p->funcs[i];
  return NULL;
}

const mil_type *mil_function_var_type(const mil_function *fn, const char *name) {
  for (int k = 0; k < fn->n_params; k++)
    if (!strcmp(fn->params[k].name, name)) return fn->params[k].type;
  for (int k = 0; k < fn->body.n_ops; k++)
    for (int o = 0; o < fn->body.ops[k].n_outputs; o++)
      if (!strcmp(fn->body.ops[k].outputs[o].name, name)) return fn->body.ops[k].outputs[o].type;
  return NULL;
}

const mil_arg *mil_op_arg(const mil_op *op, const char *name) {
  for (int i = 0; i < op->n_args; i++)
    if (strcmp(op->args[i].name, name) == 0) return &op->args[i];
  return NULL;
}

const char *mil_op_name(const mil_op *op) {
  const mil_arg *a = mil_op_arg(op, "name");
  if (!a || a->n_items != 1 || !a->items[0].value) return NULL;
  const mil_value *v = a->items[0].value;
  if (v->kind != MIL_VALUE_TENSOR || !v->strs || v->count != 1) return NULL;
  return v->strs[0];
}
