/* build.h — building an IR program in code (the converter, and readers of other serialisations of
 * the same program). Everything is allocated in the program's arena and strings are copied.
 *
 * Lists (functions, parameters, ops, arguments, bindings, outputs) grow by appending. Every list
 * of a program, parsed or built, has room for mil_list_cap(n) items, so an append is amortised
 * O(1); a pointer into a list stays valid until the next append to that same list. Each function
 * returns NULL (or -1) when out of memory and leaves the program consistent. */
#ifndef MIL_BUILD_H
#define MIL_BUILD_H

#include <stdint.h>

#include "mil/ir.h"

/* Items a list of n items has room for: 0, then 4, 8, 16, ... */
size_t mil_list_cap(size_t n);

/* The program: mil_program_new (ir.h), then version and attributes. */
int mil_set_version(mil_program *p, const char *version);

mil_function *mil_add_function(mil_program *p, const char *name, const char *opset);
/* A parameter (input or state<...>) of f, in declaration order. */
mil_var *mil_add_param(mil_program *p, mil_function *f, const char *name, mil_type *t);
/* An op appended to block b; its opset suffix stays NULL. */
mil_op *mil_add_op(mil_program *p, mil_block *b, const char *type);
mil_var *mil_add_output(mil_program *p, mil_op *op, const char *name, mil_type *t);
/* A name after the block's `->`. */
int mil_add_block_output(mil_program *p, mil_block *b, const char *name);

/* An argument (is_attr = 0) or attribute (1) appended to a list: &op->args/&op->n_args,
 * &f->attrs/&f->n_attrs or &p->attrs/&p->n_attrs. Bind it with mil_bind_*; is_tuple marks `(a, b)`. */
mil_arg *mil_add_arg(mil_program *p, mil_arg **list, int *n, const char *name, int is_attr);
int mil_bind_var(mil_program *p, mil_arg *a, const char *var);
int mil_bind_value(mil_program *p, mil_arg *a, mil_value *v);
/* Shorthands for an op: `name = var`, `name = value`, and the attribute `name = string(op_name)`. */
int mil_op_arg_var(mil_program *p, mil_op *op, const char *name, const char *var);
int mil_op_arg_value(mil_program *p, mil_op *op, const char *name, mil_value *v);
int mil_op_set_name(mil_program *p, mil_op *op, const char *op_name);

/* Values. mil_value_tensor copies count numbers (count = the type's element count);
 * mil_value_scalar is a rank-0 number or bool of dtype dt; mil_value_ints an int32 [n] tensor. */
mil_value *mil_value_scalar(mil_program *p, mil_dtype dt, double x);
mil_value *mil_value_string(mil_program *p, const char *s);
mil_value *mil_value_tensor(mil_program *p, mil_type *t, const double *nums, int64_t count);
mil_value *mil_value_ints(mil_program *p, int n, const int64_t *v);
mil_value *mil_value_strings(mil_program *p, mil_type *t, const char *const *strs, int64_t count);
mil_value *mil_value_blob(mil_program *p, mil_type *t, const char *path, uint64_t offset);
/* A list, tuple or dict literal (dict: key, value, key, ...); items are referenced, not copied. */
mil_value *mil_value_composite(mil_program *p, mil_type *t, mil_value *const *items, int n);

/* Types beyond mil_type_new_tensor (ir.h): state<elem>, list<elem, len>, tuple<...>, dict<k, v>. */
mil_type *mil_type_state(mil_program *p, mil_type *elem);
mil_type *mil_type_list(mil_program *p, mil_type *elem, int64_t len);
mil_type *mil_type_tuple(mil_program *p, mil_type *const *members, int n);
mil_type *mil_type_dict(mil_program *p, mil_type *key, mil_type *value);

#endif
