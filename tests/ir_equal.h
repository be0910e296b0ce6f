/* ir_equal.h — structural equality of two programs, for round-trip tests. Ignored: source
 * positions, the program's version string and whether a one-binding argument was written as a
 * tuple, which the protobuf form does not carry. On a difference, `why` says where. */
#ifndef TESTS_IR_EQUAL_H
#define TESTS_IR_EQUAL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mil/ir.h"

static int ireq_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static int ireq_type(const mil_type *a, const mil_type *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind) return 0;
  switch (a->kind) {
  case MIL_TYPE_TENSOR:
    if (a->dtype != b->dtype || a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
      if (a->dims[i] != b->dims[i]) return 0;
    return 1;
  case MIL_TYPE_STATE: return ireq_type(a->elem, b->elem);
  case MIL_TYPE_LIST: return a->list_len == b->list_len && ireq_type(a->elem, b->elem);
  case MIL_TYPE_DICT: return ireq_type(a->elem, b->elem) && ireq_type(a->value, b->value);
  case MIL_TYPE_TUPLE:
    if (a->n_members != b->n_members) return 0;
    for (int i = 0; i < a->n_members; i++)
      if (!ireq_type(a->members[i], b->members[i])) return 0;
    return 1;
  }
  return 0;
}

static int ireq_num(double a, double b) {
  return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

static int ireq_value(const mil_value *a, const mil_value *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || !ireq_type(a->type, b->type)) return 0;
  if (a->kind == MIL_VALUE_BLOB) return ireq_str(a->blob_path, b->blob_path) && a->blob_offset == b->blob_offset;
  if (a->kind == MIL_VALUE_COMPOSITE) {
    if (a->n_items != b->n_items) return 0;
    for (int i = 0; i < a->n_items; i++)
      if (!ireq_value(a->items[i], b->items[i])) return 0;
    return 1;
  }
  if (a->count != b->count) return 0;
  for (int64_t i = 0; i < a->count; i++)
    if (a->strs ? !ireq_str(a->strs[i], b->strs ? b->strs[i] : NULL) : !ireq_num(a->nums[i], b->nums[i])) return 0;
  return 1;
}

static int ireq_args(const mil_arg *a, int na, const mil_arg *b, int nb) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++) {
    if (!ireq_str(a[i].name, b[i].name) || a[i].is_attr != b[i].is_attr || a[i].n_items != b[i].n_items) return 0;
    if (a[i].n_items != 1 && a[i].is_tuple != b[i].is_tuple) return 0;
    for (int k = 0; k < a[i].n_items; k++)
      if (!ireq_str(a[i].items[k].var, b[i].items[k].var) || !ireq_value(a[i].items[k].value, b[i].items[k].value))
        return 0;
  }
  return 1;
}

static int ireq_vars(const mil_var *a, int na, const mil_var *b, int nb) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (!ireq_str(a[i].name, b[i].name) || !ireq_type(a[i].type, b[i].type)) return 0;
  return 1;
}

static int ireq_block(const mil_block *a, const mil_block *b, char *why, size_t n) {
  if (!ireq_vars(a->inputs, a->n_inputs, b->inputs, b->n_inputs) || a->n_ops != b->n_ops ||
      a->n_outputs != b->n_outputs) {
    snprintf(why, n, "block shape differs");
    return 0;
  }
  for (int i = 0; i < a->n_outputs; i++)
    if (!ireq_str(a->outputs[i], b->outputs[i])) return snprintf(why, n, "block output %d", i), 0;
  for (int i = 0; i < a->n_ops; i++) {
    const mil_op *x = &a->ops[i], *y = &b->ops[i];
    const char *nm = mil_op_name(x);
    if (!ireq_str(x->type, y->type) || !ireq_str(x->opset, y->opset) || !ireq_args(x->args, x->n_args, y->args, y->n_args) ||
        !ireq_vars(x->outputs, x->n_outputs, y->outputs, y->n_outputs) || x->n_blocks != y->n_blocks)
      return snprintf(why, n, "op %d (%s '%s') differs", i, x->type, nm ? nm : ""), 0;
    for (int k = 0; k < x->n_blocks; k++)
      if (!ireq_block(&x->blocks[k], &y->blocks[k], why, n)) return 0;
  }
  return 1;
}

static int ir_equal(const mil_program *a, const mil_program *b, char *why, size_t n) {
  if (a->n_funcs != b->n_funcs) return snprintf(why, n, "function count"), 0;
  if (!ireq_args(a->attrs, a->n_attrs, b->attrs, b->n_attrs)) return snprintf(why, n, "program attributes"), 0;
  for (int i = 0; i < a->n_funcs; i++) {
    const mil_function *f = &a->funcs[i], *g = &b->funcs[i];
    if (!ireq_str(f->name, g->name) || !ireq_str(f->opset, g->opset) ||
        !ireq_vars(f->params, f->n_params, g->params, g->n_params) || !ireq_args(f->attrs, f->n_attrs, g->attrs, g->n_attrs))
      return snprintf(why, n, "function %d ('%s') signature", i, f->name), 0;
    if (!ireq_block(&f->body, &g->body, why, n)) return 0;
  }
  return 1;
}

#endif
