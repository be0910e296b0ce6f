/* equal.c — structural comparison of two IR programs (ir.h), for round-trip checks of the printer
 * and of other serialisations of the same IR. The first difference is described by its path. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mil/ir.h"

typedef struct cmp {
  int flags; /* MIL_EQUAL_* */
  char *why;
  size_t size;
  char path[256];
} cmp;

static int differ(cmp *C, const char *fmt, ...) MR_PRINTF(2, 3);
static int differ(cmp *C, const char *fmt, ...) {
  if (C->why && C->size) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(C->why, C->size, "%s%s%s", C->path, C->path[0] ? ": " : "", what);
  }
  return 0;
}

/* Extend the path for a nested comparison; returns the old length to restore. */
static size_t push(cmp *C, const char *fmt, ...) MR_PRINTF(2, 3);
static size_t push(cmp *C, const char *fmt, ...) {
  size_t old = strlen(C->path);
  if (old + 3 >= sizeof C->path) return old;
  if (old) memcpy(C->path + old, ": ", 3);
  size_t at = old ? old + 2 : 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(C->path + at, sizeof C->path - at, fmt, ap);
  va_end(ap);
  return old;
}

static int pop(cmp *C, size_t old, int ok) {
  C->path[old] = 0;
  return ok;
}

static int str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static int type_eq(const mil_type *a, const mil_type *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind) return 0;
  switch (a->kind) {
  case MIL_TYPE_TENSOR:
    return a->dtype == b->dtype && a->rank == b->rank &&
           (a->rank == 0 || memcmp(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims) == 0);
  case MIL_TYPE_STATE: return type_eq(a->elem, b->elem);
  case MIL_TYPE_LIST: return a->list_len == b->list_len && type_eq(a->elem, b->elem);
  case MIL_TYPE_DICT: return type_eq(a->elem, b->elem) && type_eq(a->value, b->value);
  case MIL_TYPE_TUPLE:
    if (a->n_members != b->n_members) return 0;
    for (int i = 0; i < a->n_members; i++)
      if (!type_eq(a->members[i], b->members[i])) return 0;
    return 1;
  }
  return 0;
}

static int value_eq(const mil_value *a, const mil_value *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || !type_eq(a->type, b->type)) return 0;
  if (a->kind == MIL_VALUE_BLOB) return str_eq(a->blob_path, b->blob_path) && a->blob_offset == b->blob_offset;
  if (a->kind == MIL_VALUE_COMPOSITE) {
    if (a->n_items != b->n_items) return 0;
    for (int i = 0; i < a->n_items; i++)
      if (!value_eq(a->items[i], b->items[i])) return 0;
    return 1;
  }
  if (a->count != b->count || !a->strs != !b->strs) return 0;
  for (int64_t i = 0; i < a->count; i++) {
    if (a->strs ? !str_eq(a->strs[i], b->strs[i]) : memcmp(&a->nums[i], &b->nums[i], sizeof(double)) != 0)
      return 0; /* numbers bit for bit: -0 and the sign of nan count */
  }
  return 1;
}

static int args_eq(cmp *C, const mil_arg *a, int na, const mil_arg *b, int nb) {
  if (na != nb) return differ(C, "%d arguments, %d in the other", na, nb);
  for (int i = 0; i < na; i++) {
    const mil_arg *x = &a[i], *y = &b[i];
    if (!str_eq(x->name, y->name)) return differ(C, "argument %d is %s, %s in the other", i, x->name, y->name);
    int tuple_differs = x->is_tuple != y->is_tuple && !(C->flags & MIL_EQUAL_PROTOBUF && x->n_items == 1);
    if (x->n_items != y->n_items || tuple_differs || (x->is_attr != 0) != (y->is_attr != 0))
      return differ(C, "argument %s differs in form", x->name);
    for (int k = 0; k < x->n_items; k++)
      if (!str_eq(x->items[k].var, y->items[k].var) || !value_eq(x->items[k].value, y->items[k].value))
        return differ(C, "argument %s, item %d differs", x->name, k);
  }
  return 1;
}

static int vars_eq(cmp *C, const char *what, const mil_var *a, int na, const mil_var *b, int nb) {
  if (na != nb) return differ(C, "%d %s, %d in the other", na, what, nb);
  for (int i = 0; i < na; i++)
    if (!str_eq(a[i].name, b[i].name) || !type_eq(a[i].type, b[i].type))
      return differ(C, "%s %d (%s) differs", what, i, a[i].name);
  return 1;
}

static int block_eq(cmp *C, const mil_block *a, const mil_block *b);

static int op_eq(cmp *C, const mil_op *a, const mil_op *b) {
  if (!str_eq(a->type, b->type) || !str_eq(a->opset, b->opset)) return differ(C, "type or opset differs");
  if (!vars_eq(C, "outputs", a->outputs, a->n_outputs, b->outputs, b->n_outputs)) return 0;
  if (!args_eq(C, a->args, a->n_args, b->args, b->n_args)) return 0;
  if (a->n_blocks != b->n_blocks) return differ(C, "%d blocks, %d in the other", a->n_blocks, b->n_blocks);
  for (int i = 0; i < a->n_blocks; i++) {
    size_t old = push(C, "block %d", i);
    if (!pop(C, old, block_eq(C, &a->blocks[i], &b->blocks[i]))) return 0;
  }
  return 1;
}

static int block_eq(cmp *C, const mil_block *a, const mil_block *b) {
  if (!vars_eq(C, "block inputs", a->inputs, a->n_inputs, b->inputs, b->n_inputs)) return 0;
  if (a->n_ops != b->n_ops) return differ(C, "%d ops, %d in the other", a->n_ops, b->n_ops);
  for (int i = 0; i < a->n_ops; i++) {
    size_t old = push(C, "op %d (%s)", i, a->ops[i].type);
    if (!pop(C, old, op_eq(C, &a->ops[i], &b->ops[i]))) return 0;
  }
  if (a->n_outputs != b->n_outputs) return differ(C, "%d block outputs, %d in the other", a->n_outputs, b->n_outputs);
  for (int i = 0; i < a->n_outputs; i++)
    if (!str_eq(a->outputs[i], b->outputs[i])) return differ(C, "block output %d differs", i);
  return 1;
}

static int function_eq(cmp *C, const mil_function *a, const mil_function *b) {
  if (!str_eq(a->name, b->name) || !str_eq(a->opset, b->opset)) return differ(C, "name or opset differs");
  if (!vars_eq(C, "parameters", a->params, a->n_params, b->params, b->n_params)) return 0;
  if (!args_eq(C, a->attrs, a->n_attrs, b->attrs, b->n_attrs)) return 0;
  return block_eq(C, &a->body, &b->body);
}

int mil_program_equal(const mil_program *a, const mil_program *b, char *why, size_t size) {
  return mil_program_equal_as(a, b, 0, why, size);
}

int mil_program_equal_as(const mil_program *a, const mil_program *b, int flags, char *why, size_t size) {
  cmp C = {flags, why, size, ""};
  if (why && size) why[0] = 0;
  if (!(flags & MIL_EQUAL_PROTOBUF) && !str_eq(a->version, b->version)) return differ(&C, "program version %s, %s in the other", a->version, b->version);
  if (!args_eq(&C, a->attrs, a->n_attrs, b->attrs, b->n_attrs)) return 0;
  if (a->n_funcs != b->n_funcs) return differ(&C, "%d functions, %d in the other", a->n_funcs, b->n_funcs);
  for (int i = 0; i < a->n_funcs; i++) {
    size_t old = push(&C, "func %s", a->funcs[i].name);
    if (!pop(&C, old, function_eq(&C, &a->funcs[i], &b->funcs[i]))) return 0;
  }
  return 1;
}
