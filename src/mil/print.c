/* print.c — IR to model.mil text in the layout of Apple's compiler: functions indented 4, ops 12
 * (nested blocks 4 more), arguments in (...) and attributes in [...], numbers of float tensors as
 * exact hex floats, no newline after the final '}'. program(1.0) spells scalar types
 * `tensor<fp16, []>`, later versions `fp16` (both parse to the same type). Comments of the source
 * text are not part of the IR and are not printed. */
#include "mil/print.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct printer {
  util_sb *sb;
  int long_scalars; /* program(1.0) */
} printer;

static void put(printer *P, const char *s) { util_sb_puts(P->sb, s); }

static void put_type(printer *P, const mil_type *t) { mil_type_print(P->sb, t, P->long_scalars); }

static void put_string(printer *P, const char *s) {
  util_sb_putc(P->sb, '"');
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') {
      util_sb_putc(P->sb, '\\');
      util_sb_putc(P->sb, (char)*c);
    } else if (*c < 32 || *c == 127) {
      util_sb_printf(P->sb, "\\x%02x", *c);
    } else {
      util_sb_putc(P->sb, (char)*c);
    }
  }
  util_sb_putc(P->sb, '"');
}

static void put_number(printer *P, mil_dtype d, double x) {
  if (d == MIL_BOOL) put(P, x != 0 ? "true" : "false");
  else if (!mil_dtype_is_float(d) && fabs(x) < 0x1p63) util_sb_printf(P->sb, "%lld", (long long)x);
  else if (!mil_dtype_is_float(d)) util_sb_printf(P->sb, "%.0f", x); /* uint64 beyond int64 */
  else if (isnan(x)) put(P, signbit(x) ? "-nan" : "nan");
  else if (isinf(x)) put(P, x < 0 ? "-inf" : "inf");
  else util_sb_printf(P->sb, "%a", x); /* exact: the parser decodes hex floats with one rounding */
}

static void put_elem(printer *P, const mil_value *v, int64_t i) {
  if (v->type->dtype == MIL_STRING) put_string(P, v->strs[i]);
  else put_number(P, v->type->dtype, v->nums[i]);
}

/* Elements [*i, *i + dims[0] * ...) nested one bracket level per dim. */
static void put_nested(printer *P, const mil_value *v, const int64_t *dims, int rank, int64_t *i) {
  put(P, "[");
  for (int64_t k = 0; k < dims[0]; k++) {
    if (k) put(P, ", ");
    if (rank > 1) put_nested(P, v, dims + 1, rank - 1, i);
    else put_elem(P, v, (*i)++);
  }
  put(P, "]");
}

static void put_tensor_literal(printer *P, const mil_value *v) {
  const mil_type *t = v->type;
  if (t->rank == 0 && v->count == 1) {
    put_elem(P, v, 0);
    return;
  }
  if (mil_type_count(t) == v->count && t->rank > 0) { /* nested as the shape says */
    int64_t i = 0;
    put_nested(P, v, t->dims, t->rank, &i);
    return;
  }
  put(P, "["); /* unknown dims: flat */
  for (int64_t i = 0; i < v->count; i++) {
    if (i) put(P, ", ");
    put_elem(P, v, i);
  }
  put(P, "]");
}

static void put_literal(printer *P, const mil_value *v) {
  if (v->kind == MIL_VALUE_TENSOR) {
    put_tensor_literal(P, v);
    return;
  }
  const mil_type *t = v->type;
  const char *open = t->kind == MIL_TYPE_TUPLE ? "(" : t->kind == MIL_TYPE_LIST ? "[" : "{";
  const char *close = t->kind == MIL_TYPE_TUPLE ? ")" : t->kind == MIL_TYPE_LIST ? "]" : "}";
  int dict = t->kind == MIL_TYPE_DICT;
  put(P, open);
  for (int i = 0; i < v->n_items; i += dict ? 2 : 1) {
    if (i) put(P, ", ");
    if (dict) put(P, "{");
    put_literal(P, v->items[i]);
    if (dict && i + 1 < v->n_items) {
      put(P, ", ");
      put_literal(P, v->items[i + 1]);
    }
    if (dict) put(P, "}");
  }
  put(P, close);
}

/* A scalar of BLOBFILE in the program's spelling: string("...") or uint64(N). */
static void put_blob_scalar(printer *P, mil_dtype d) {
  mil_type t = {.kind = MIL_TYPE_TENSOR, .dtype = d};
  put_type(P, &t);
  put(P, "(");
}

static void put_value(printer *P, const mil_value *v) {
  put_type(P, v->type);
  put(P, "(");
  if (v->kind == MIL_VALUE_BLOB) {
    put(P, "BLOBFILE(path = ");
    put_blob_scalar(P, MIL_STRING);
    put_string(P, v->blob_path);
    put(P, "), offset = ");
    put_blob_scalar(P, MIL_UINT64);
    util_sb_printf(P->sb, "%llu", (unsigned long long)v->blob_offset);
    put(P, "))");
  } else {
    put_literal(P, v);
  }
  put(P, ")");
}

static void put_binding(printer *P, const mil_binding *b) {
  if (b->var) put(P, b->var);
  else put_value(P, b->value);
}

/* `name = binding` or `name = (b1, b2)` for every argument whose is_attr equals attrs (-1: all). */
static void put_args(printer *P, const mil_arg *args, int n, int attrs) {
  int first = 1;
  for (int i = 0; i < n; i++) {
    const mil_arg *a = &args[i];
    if (attrs >= 0 && (a->is_attr != 0) != attrs) continue;
    if (!first) put(P, ", ");
    first = 0;
    put(P, a->name);
    put(P, " = ");
    if (a->is_tuple) put(P, "(");
    for (int k = 0; k < a->n_items; k++) {
      if (k) put(P, ", ");
      put_binding(P, &a->items[k]);
    }
    if (a->is_tuple) put(P, ")");
  }
}

static int count_attrs(const mil_arg *args, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += args[i].is_attr != 0;
  return k;
}

static void put_attr_block(printer *P, const mil_arg *args, int n, int attrs) {
  put(P, "[");
  put_args(P, args, n, attrs);
  put(P, "]");
}

static void put_var(printer *P, const mil_var *v) {
  put_type(P, v->type);
  put(P, " ");
  put(P, v->name);
}

static void put_indent(printer *P, int n) { util_sb_printf(P->sb, "%*s", n, ""); }

static void put_block(printer *P, const mil_block *b, int indent);

static void put_op(printer *P, const mil_op *op, int indent) {
  put_indent(P, indent);
  for (int i = 0; i < op->n_outputs; i++) {
    if (i) put(P, ", ");
    put_var(P, &op->outputs[i]);
  }
  if (op->n_outputs) put(P, " = ");
  put(P, op->type);
  if (op->opset) {
    put(P, "<");
    put(P, op->opset);
    put(P, ">");
  }
  put(P, "(");
  put_args(P, op->args, op->n_args, 0);
  put(P, ")");
  if (count_attrs(op->args, op->n_args)) put_attr_block(P, op->args, op->n_args, 1);
  for (int i = 0; i < op->n_blocks; i++) {
    put(P, " ");
    put_block(P, &op->blocks[i], indent);
  }
  put(P, ";\n");
}

/* "{\n" ops "} -> (outputs)": ops at indent + 4, the closing brace at indent. */
static void put_block(printer *P, const mil_block *b, int indent) {
  put(P, "{\n");
  for (int i = 0; i < b->n_ops; i++) put_op(P, &b->ops[i], indent + 4);
  put_indent(P, indent);
  put(P, "} -> (");
  for (int i = 0; i < b->n_outputs; i++) {
    if (i) put(P, ", ");
    put(P, b->outputs[i]);
  }
  put(P, ")");
}

static void put_function(printer *P, const mil_function *f) {
  util_sb_printf(P->sb, "    func %s<%s>(", f->name, f->opset);
  for (int i = 0; i < f->n_params; i++) {
    if (i) put(P, ", ");
    put_var(P, &f->params[i]);
  }
  put(P, ") ");
  if (f->n_attrs) {
    put_attr_block(P, f->attrs, f->n_attrs, -1);
    put(P, " ");
  }
  put_block(P, &f->body, 8);
  put(P, ";\n");
}

void mil_print(const mil_program *p, util_sb *sb) {
  printer P = {sb, strcmp(p->version, "1.0") == 0};
  util_sb_printf(sb, "program(%s)\n", p->version);
  if (p->n_attrs) {
    put_attr_block(&P, p->attrs, p->n_attrs, -1);
    put(&P, "\n");
  }
  put(&P, "{\n");
  for (int i = 0; i < p->n_funcs; i++) put_function(&P, &p->funcs[i]);
  put(&P, "}");
}
