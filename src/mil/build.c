/* build.c — appending to an IR program (see build.h). Lists live in the arena and are moved to a
 * block twice the size when full; the old block stays in the arena until the program is freed,
 * which at most doubles the memory of the lists (not of the values they point to). */
#include "mil/build.h"

#include <string.h>

size_t mil_list_cap(size_t n) {
  if (n == 0) return 0;
  size_t c = 4;
  while (c < n) c *= 2;
  return c;
}

/* Room for one more item in *list (n items of size bytes); NULL when out of memory. */
static void *append(mil_program *p, void *list, int n, size_t size) {
  unsigned char *items = list;
  if ((size_t)n == mil_list_cap((size_t)n)) {
    unsigned char *grown = util_arena_alloc(&p->arena, mil_list_cap((size_t)n + 1) * size);
    if (!grown) return NULL;
    if (n) memcpy(grown, items, (size_t)n * size);
    items = grown;
  }
  return items;
}

#define APPEND(p, list, n)                                                                         \
  do {                                                                                             \
    void *grown_ = append(p, list, n, sizeof *(list));                                            \
    if (!grown_) return NULL;                                                                      \
    (list) = grown_;                                                                               \
  } while (0)

static const char *copy(mil_program *p, const char *s) { return util_arena_strndup(&p->arena, s, strlen(s)); }

int mil_set_version(mil_program *p, const char *version) {
  const char *v = copy(p, version);
  if (!v) return -1;
  p->version = v;
  return 0;
}

mil_function *mil_add_function(mil_program *p, const char *name, const char *opset) {
  const char *n = copy(p, name), *o = copy(p, opset);
  if (!n || !o) return NULL;
  APPEND(p, p->funcs, p->n_funcs);
  mil_function *f = &p->funcs[p->n_funcs++];
  memset(f, 0, sizeof *f);
  f->name = n;
  f->opset = o;
  return f;
}

static mil_var *add_var(mil_program *p, mil_var **list, int *n, const char *name, mil_type *t) {
  const char *nm = copy(p, name);
  if (!nm) return NULL;
  APPEND(p, *list, *n);
  mil_var *v = &(*list)[(*n)++];
  memset(v, 0, sizeof *v);
  v->name = nm;
  v->type = t;
  return v;
}

mil_var *mil_add_param(mil_program *p, mil_function *f, const char *name, mil_type *t) {
  return add_var(p, &f->params, &f->n_params, name, t);
}

mil_var *mil_add_output(mil_program *p, mil_op *op, const char *name, mil_type *t) {
  return add_var(p, &op->outputs, &op->n_outputs, name, t);
}

mil_op *mil_add_op(mil_program *p, mil_block *b, const char *type) {
  const char *t = copy(p, type);
  if (!t) return NULL;
  APPEND(p, b->ops, b->n_ops);
  mil_op *op = &b->ops[b->n_ops++];
  memset(op, 0, sizeof *op);
  op->type = t;
  return op;
}

static const char **add_name(mil_program *p, const char ***list, int *n, const char *name) {
  const char *nm = copy(p, name);
  if (!nm) return NULL;
  APPEND(p, *list, *n);
  (*list)[*n] = nm;
  return &(*list)[(*n)++];
}

int mil_add_block_output(mil_program *p, mil_block *b, const char *name) {
  return add_name(p, &b->outputs, &b->n_outputs, name) ? 0 : -1;
}

mil_arg *mil_add_arg(mil_program *p, mil_arg **list, int *n, const char *name, int is_attr) {
  const char *nm = copy(p, name);
  if (!nm) return NULL;
  APPEND(p, *list, *n);
  mil_arg *a = &(*list)[(*n)++];
  memset(a, 0, sizeof *a);
  a->name = nm;
  a->is_attr = is_attr;
  return a;
}

static mil_binding *add_binding(mil_program *p, mil_arg *a) {
  APPEND(p, a->items, a->n_items);
  mil_binding *b = &a->items[a->n_items++];
  memset(b, 0, sizeof *b);
  return b;
}

int mil_bind_var(mil_program *p, mil_arg *a, const char *var) {
  const char *v = copy(p, var);
  mil_binding *b = v ? add_binding(p, a) : NULL;
  if (!b) return -1;
  b->var = v;
  return 0;
}

int mil_bind_value(mil_program *p, mil_arg *a, mil_value *v) {
  mil_binding *b = v ? add_binding(p, a) : NULL;
  if (!b) return -1;
  b->value = v;
  return 0;
}

int mil_op_arg_var(mil_program *p, mil_op *op, const char *name, const char *var) {
  mil_arg *a = mil_add_arg(p, &op->args, &op->n_args, name, 0);
  return a ? mil_bind_var(p, a, var) : -1;
}

int mil_op_arg_value(mil_program *p, mil_op *op, const char *name, mil_value *v) {
  mil_arg *a = v ? mil_add_arg(p, &op->args, &op->n_args, name, 0) : NULL;
  return a ? mil_bind_value(p, a, v) : -1;
}

int mil_op_set_name(mil_program *p, mil_op *op, const char *op_name) {
  mil_value *v = mil_value_string(p, op_name);
  mil_arg *a = v ? mil_add_arg(p, &op->args, &op->n_args, "name", 1) : NULL;
  return a ? mil_bind_value(p, a, v) : -1;
}

/* ---- values --------------------------------------------------------------------------------- */

mil_value *mil_value_tensor(mil_program *p, mil_type *t, const double *nums, int64_t count) {
  mil_value *v = t ? mil_value_new(&p->arena, MIL_VALUE_TENSOR, t) : NULL;
  if (!v) return NULL;
  v->count = count;
  if (count) {
    v->nums = util_arena_alloc(&p->arena, (size_t)count * sizeof *v->nums);
    if (!v->nums) return NULL;
    memcpy(v->nums, nums, (size_t)count * sizeof *v->nums);
  }
  return v;
}

mil_value *mil_value_scalar(mil_program *p, mil_dtype dt, double x) {
  return mil_value_tensor(p, mil_type_new_tensor(&p->arena, dt, 0, NULL), &x, 1);
}

mil_value *mil_value_ints(mil_program *p, int n, const int64_t *ints) {
  int64_t dim = n;
  mil_type *t = mil_type_new_tensor(&p->arena, MIL_INT32, 1, &dim);
  mil_value *v = mil_value_tensor(p, t, NULL, 0);
  if (!v || !n) return v;
  v->nums = util_arena_alloc(&p->arena, (size_t)n * sizeof *v->nums);
  if (!v->nums) return NULL;
  for (int i = 0; i < n; i++) v->nums[i] = (double)ints[i];
  v->count = n;
  return v;
}

mil_value *mil_value_strings(mil_program *p, mil_type *t, const char *const *strs, int64_t count) {
  mil_value *v = t ? mil_value_new(&p->arena, MIL_VALUE_TENSOR, t) : NULL;
  if (!v) return NULL;
  v->strs = util_arena_alloc(&p->arena, (size_t)(count ? count : 1) * sizeof *v->strs);
  if (!v->strs) return NULL;
  for (int64_t i = 0; i < count; i++)
    if (!(v->strs[i] = (char *)copy(p, strs[i]))) return NULL;
  v->count = count;
  return v;
}

mil_value *mil_value_string(mil_program *p, const char *s) {
  return mil_value_strings(p, mil_type_new_tensor(&p->arena, MIL_STRING, 0, NULL), &s, 1);
}

mil_value *mil_value_blob(mil_program *p, mil_type *t, const char *path, uint64_t offset) {
  const char *path_copy = copy(p, path);
  mil_value *v = t && path_copy ? mil_value_new(&p->arena, MIL_VALUE_BLOB, t) : NULL;
  if (!v) return NULL;
  v->blob_path = path_copy;
  v->blob_offset = offset;
  return v;
}

/* An arena copy of n pointers, none of them NULL (a failed constructor's result); NULL otherwise
 * (and for n = 0, where *ok tells the two apart). */
static void **copy_ptrs(mil_program *p, void *const *src, int n, int *ok) {
  *ok = 0;
  for (int i = 0; i < n; i++)
    if (!src[i]) return NULL;
  void **dst = n ? util_arena_alloc(&p->arena, (size_t)n * sizeof *dst) : NULL;
  if (n && !dst) return NULL;
  if (n) memcpy(dst, src, (size_t)n * sizeof *dst);
  *ok = 1;
  return dst;
}

mil_value *mil_value_composite(mil_program *p, mil_type *t, mil_value *const *items, int n) {
  mil_value *v = t ? mil_value_new(&p->arena, MIL_VALUE_COMPOSITE, t) : NULL;
  int ok = 0;
  if (v) v->items = (mil_value **)copy_ptrs(p, (void *const *)items, n, &ok);
  if (!ok) return NULL;
  v->n_items = n;
  return v;
}

/* ---- types ---------------------------------------------------------------------------------- */

mil_type *mil_type_state(mil_program *p, mil_type *elem) {
  mil_type *t = elem ? mil_type_new(&p->arena, MIL_TYPE_STATE) : NULL;
  if (t) t->elem = elem;
  return t;
}

mil_type *mil_type_list(mil_program *p, mil_type *elem, int64_t len) {
  mil_type *t = elem ? mil_type_new(&p->arena, MIL_TYPE_LIST) : NULL;
  if (t) {
    t->elem = elem;
    t->list_len = len;
  }
  return t;
}

mil_type *mil_type_tuple(mil_program *p, mil_type *const *members, int n) {
  mil_type *t = mil_type_new(&p->arena, MIL_TYPE_TUPLE);
  int ok = 0;
  if (t) t->members = (mil_type **)copy_ptrs(p, (void *const *)members, n, &ok);
  if (!ok) return NULL;
  t->n_members = n;
  return t;
}

mil_type *mil_type_dict(mil_program *p, mil_type *key, mil_type *value) {
  mil_type *t = key && value ? mil_type_new(&p->arena, MIL_TYPE_DICT) : NULL;
  if (t) {
    t->elem = key;
    t->value = value;
  }
  return t;
}
