/* proto_read.c — a Core ML Model message (model.mlmodel) to the IR of ir.h and the description to
 * mil_metadata, so that a package runs exactly like the model.mil of a compiled bundle. Every count
 * the message states is checked against what it holds (a tensor's values against its type, a
 * tensor type's dimensions against its rank); errors name the message and field. */
#include "mil/proto_read.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mil/blob.h"
#include "mil/pb.h"
#include "mil/proto_types.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"
#include "util/strbuf.h"

typedef struct rd {
  mil_program *p;
  util_arena *a;
  const char *path;
  mr_error *err;
} rd;

static int bad(rd *r, const char *fmt, ...) MR_PRINTF(2, 3);
static int bad(rd *r, const char *fmt, ...) {
  char msg[MR_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return util_err(r->err, MR_EFORMAT, "%s: %s", r->path, msg);
}

static int nomem(rd *r) { return util_err_nomem(r->err, r->path); }

static void *alloc(rd *r, size_t n, size_t size) {
  if (n && size > SIZE_MAX / n) return NULL;
  return util_arena_alloc(r->a, n && size ? n * size : 1);
}

static const char *dup(rd *r, const char *s) { return util_arena_strndup(r->a, s, strlen(s)); }

/* ---- types ---- */

static int read_type(rd *r, const pb_type *pt, const char *field, mil_type **out);

static int read_tensor_type(rd *r, const pb_tensor_type *tt, const char *field, mil_type **out) {
  mil_dtype d;
  if (mil_proto_dtype_from_code(tt->datatype, &d))
    return bad(r, "%s: TensorType.dataType %d is not a MIL element type", field, (int)tt->datatype);
  if (tt->rank < 0 || tt->rank > MR_MAX_RANK * 4)
    return bad(r, "%s: TensorType.rank %lld out of range", field, (long long)tt->rank);
  if ((int64_t)tt->n_dimensions != tt->rank)
    return bad(r, "%s: TensorType has %zu dimensions for rank %lld", field, tt->n_dimensions,
               (long long)tt->rank);
  int64_t dims[MR_MAX_RANK * 4];
  for (int i = 0; i < (int)tt->rank; i++) {
    const pb_dim *dm = tt->dimensions[i];
    if (dm->dimension_case == CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_CONSTANT) {
      if (dm->constant->size > (uint64_t)INT32_MAX * 64)
        return bad(r, "%s: TensorType.dimensions[%d] = %llu is too large", field, i,
                   (unsigned long long)dm->constant->size);
      dims[i] = (int64_t)dm->constant->size;
    } else if (dm->dimension_case == CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_UNKNOWN) {
      dims[i] = -1;
    } else {
      return bad(r, "%s: TensorType.dimensions[%d] is neither constant nor unknown", field, i);
    }
  }
  *out = mil_type_new_tensor(r->a, d, (int)tt->rank, dims);
  if (!*out) return nomem(r);
  /* the element count must fit: the parser refuses such types too */
  int64_t n = 1;
  for (int i = 0; i < (int)tt->rank; i++)
    if (dims[i] > 0) {
      if (n > INT64_MAX / 64 / dims[i]) return bad(r, "%s: TensorType has too many elements", field);
      n *= dims[i];
    }
  return MR_OK;
}

static int read_type(rd *r, const pb_type *pt, const char *field, mil_type **out) {
  *out = NULL;
  if (!pt) return bad(r, "%s: missing ValueType", field);
  mil_type *t;
  int rc;
  switch (pt->type_case) {
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_TENSOR_TYPE:
    return read_tensor_type(r, pt->tensortype, field, out);
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_STATE_TYPE:
    if (!(t = mil_type_new(r->a, MIL_TYPE_STATE))) return nomem(r);
    if ((rc = read_type(r, pt->statetype->wrappedtype, field, &t->elem))) return rc;
    if (t->elem->kind != MIL_TYPE_TENSOR) return bad(r, "%s: StateType.wrappedType is not a tensor", field);
    break;
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_LIST_TYPE: {
    const pb_list_type *lt = pt->listtype;
    if (!(t = mil_type_new(r->a, MIL_TYPE_LIST))) return nomem(r);
    if ((rc = read_type(r, lt->type, field, &t->elem))) return rc;
    if (lt->length && lt->length->dimension_case == CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_CONSTANT) {
      if (lt->length->constant->size > INT32_MAX) return bad(r, "%s: ListType.length too large", field);
      t->list_len = (int64_t)lt->length->constant->size;
    }
    break;
  }
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_TUPLE_TYPE: {
    const pb_tuple_type *tt = pt->tupletype;
    if (!(t = mil_type_new(r->a, MIL_TYPE_TUPLE))) return nomem(r);
    if (tt->n_types > INT32_MAX) return bad(r, "%s: TupleType.types: too many", field);
    t->n_members = (int)tt->n_types;
    if (!(t->members = alloc(r, tt->n_types, sizeof *t->members))) return nomem(r);
    for (size_t i = 0; i < tt->n_types; i++)
      if ((rc = read_type(r, tt->types[i], field, &t->members[i]))) return rc;
    break;
  }
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_DICTIONARY_TYPE:
    if (!(t = mil_type_new(r->a, MIL_TYPE_DICT))) return nomem(r);
    if ((rc = read_type(r, pt->dictionarytype->keytype, field, &t->elem))) return rc;
    if ((rc = read_type(r, pt->dictionarytype->valuetype, field, &t->value))) return rc;
    break;
  default:
    return bad(r, "%s: ValueType holds no type", field);
  }
  *out = t;
  return MR_OK;
}

/* ---- values ---- */

/* Element i of little-endian raw bytes of dtype d (TensorValue.bytes). */
static double raw_elem(const uint8_t *b, int64_t i, mil_dtype d) {
  int bits = mil_dtype_bits(d);
  if (bits < 8) {
    unsigned u = mil_bits_get(b, i, bits);
    return d == MIL_INT4 ? (double)((int)(u ^ 8u) - 8) : (double)u;
  }
  const uint8_t *p = b + i * (bits / 8);
  switch (d) {
  case MIL_INT8: return (double)(int8_t)p[0];
  case MIL_UINT8: return p[0];
  case MIL_FP16: return util_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
  case MIL_BF16: return util_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
  case MIL_INT16: return (double)(int16_t)(p[0] | p[1] << 8);
  case MIL_UINT16: return (double)(uint16_t)(p[0] | p[1] << 8);
  case MIL_UINT32: return (double)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
  default: return 0;
  }
}

/* n values arrived for type t: they must be as many as t holds; a type with unknown dimensions
 * (a literal inside a function attribute, `tensor<int32, [?]>`) takes as many as there are. */
static int take_count(rd *r, const char *field, const char *what, size_t n, mil_value *v) {
  int64_t need = mil_type_count(v->type);
  if (need < 0 || (int64_t)n == need) {
    if (n > (size_t)INT32_MAX * 64) return bad(r, "%s: TensorValue.%s: too many values", field, what);
    v->count = (int64_t)n;
    return MR_OK;
  }
  char tb[256];
  return bad(r, "%s: TensorValue.%s holds %zu values, type %s needs %lld", field, what, n,
             mil_type_str(v->type, tb, sizeof tb), (long long)need);
}

#define TAKE(what, rep, conv)                                                   \
  do {                                                                          \
    int rc_ = take_count(r, field, what, (rep)->n_values, v);                   \
    if (rc_) return rc_;                                                        \
    if (!(v->nums = alloc(r, (rep)->n_values, sizeof *v->nums))) return nomem(r); \
    for (size_t i = 0; i < (rep)->n_values; i++) v->nums[i] = conv((rep)->values[i]); \
    return MR_OK;                                                               \
  } while (0)
#define AS_DOUBLE(x) ((double)(x))
#define AS_BIT(x) ((x) ? 1.0 : 0.0)

static int read_bytes_value(rd *r, const ProtobufCBinaryData *b, const char *field, mil_value *v) {
  mil_dtype d = v->type->dtype;
  int bits = mil_dtype_bits(d);
  int raw_ok = bits < 8 || d == MIL_INT8 || d == MIL_UINT8 || bits == 16 || d == MIL_UINT32;
  if (!raw_ok) return bad(r, "%s: TensorValue.bytes cannot hold %s values", field, mil_dtype_name(d));
  int64_t need = mil_type_count(v->type);
  if (need < 0 && bits < 8) return bad(r, "%s: packed %s values of a type with unknown dimensions", field, mil_dtype_name(d));
  uint64_t n = need >= 0 ? (uint64_t)need : b->len * 8 / (uint64_t)bits;
  uint64_t want = (n * (uint64_t)bits + 7) / 8;
  if (b->len != want)
    return bad(r, "%s: TensorValue.bytes holds %zu bytes, %llu %s values need %llu", field, b->len,
               (unsigned long long)n, mil_dtype_name(d), (unsigned long long)want);
  v->count = (int64_t)n;
  if (!(v->nums = alloc(r, (size_t)n, sizeof *v->nums))) return nomem(r);
  for (uint64_t i = 0; i < n; i++) v->nums[i] = raw_elem(b->data, (int64_t)i, d);
  return MR_OK;
}

static int read_tensor_value(rd *r, const pb_tensor_value *tv, const char *field, mil_value *v) {
  if (v->type->dtype == MIL_STRING) {
    if (tv->value_case != CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS)
      return bad(r, "%s: a string tensor's values are not in TensorValue.strings", field);
    int rc = take_count(r, field, "strings", tv->strings->n_values, v);
    if (rc) return rc;
    if (!(v->strs = alloc(r, tv->strings->n_values, sizeof *v->strs))) return nomem(r);
    for (size_t i = 0; i < tv->strings->n_values; i++)
      if (!(v->strs[i] = (char *)dup(r, tv->strings->values[i]))) return nomem(r);
    return MR_OK;
  }
  switch (tv->value_case) {
  case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_FLOATS: TAKE("floats", tv->floats, AS_DOUBLE);
  case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_DOUBLES: TAKE("doubles", tv->doubles, AS_DOUBLE);
  case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS: TAKE("ints", tv->ints, AS_DOUBLE);
  case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_LONG_INTS: TAKE("longInts", tv->longints, AS_DOUBLE);
  case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BOOLS: TAKE("bools", tv->bools, AS_BIT);
  case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES: return read_bytes_value(r, &tv->bytes->values, field, v);
  default: return bad(r, "%s: TensorValue holds no values", field);
  }
}

static int read_value(rd *r, const pb_value *pv, const char *field, int depth, mil_value **out);

static int read_items(rd *r, pb_value **vals, size_t n, const char *field, int depth, mil_value *v) {
  if (n > INT32_MAX) return bad(r, "%s: too many items", field);
  v->n_items = (int)n;
  if (!(v->items = alloc(r, n, sizeof *v->items))) return nomem(r);
  for (size_t i = 0; i < n; i++) {
    int rc = read_value(r, vals[i], field, depth + 1, &v->items[i]);
    if (rc) return rc;
  }
  return MR_OK;
}

static int read_composite(rd *r, const pb_immediate *iv, const char *field, int depth, mil_value *v) {
  const mil_type *t = v->type;
  int rc;
  switch (iv->value_case) {
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TUPLE:
    if (t->kind != MIL_TYPE_TUPLE) return bad(r, "%s: a tuple value of a non-tuple type", field);
    if ((rc = read_items(r, iv->tuple->values, iv->tuple->n_values, field, depth, v))) return rc;
    if (v->n_items != t->n_members)
      return bad(r, "%s: TupleValue holds %d items, its type %d", field, v->n_items, t->n_members);
    return MR_OK;
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_LIST:
    if (t->kind != MIL_TYPE_LIST) return bad(r, "%s: a list value of a non-list type", field);
    if ((rc = read_items(r, iv->list->values, iv->list->n_values, field, depth, v))) return rc;
    if (t->list_len >= 0 && v->n_items != t->list_len)
      return bad(r, "%s: ListValue holds %d items, its type %lld", field, v->n_items, (long long)t->list_len);
    return MR_OK;
  case CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_DICTIONARY: {
    const pb_dict_value *dv = iv->dictionary;
    if (t->kind != MIL_TYPE_DICT) return bad(r, "%s: a dictionary value of a non-dictionary type", field);
    if (dv->n_values > INT32_MAX / 2) return bad(r, "%s: DictionaryValue: too many pairs", field);
    v->n_items = (int)dv->n_values * 2;
    if (!(v->items = alloc(r, (size_t)v->n_items, sizeof *v->items))) return nomem(r);
    for (size_t i = 0; i < dv->n_values; i++) {
      if ((rc = read_value(r, dv->values[i]->key, field, depth + 1, &v->items[2 * i]))) return rc;
      if ((rc = read_value(r, dv->values[i]->value, field, depth + 1, &v->items[2 * i + 1]))) return rc;
    }
    return MR_OK;
  }
  default:
    return bad(r, "%s: ImmediateValue holds no value", field);
  }
}

static int read_value(rd *r, const pb_value *pv, const char *field, int depth, mil_value **out) {
  if (!pv) return bad(r, "%s: missing Value", field);
  if (depth > MIL_PB_MAX_DEPTH) return bad(r, "%s: values nested too deep", field);
  mil_type *t;
  int rc = read_type(r, pv->type, field, &t);
  if (rc) return rc;
  if (pv->value_case == CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_BLOB_FILE_VALUE) {
    if (t->kind != MIL_TYPE_TENSOR) return bad(r, "%s: BlobFileValue of a non-tensor type", field);
    if (!(*out = mil_value_new(r->a, MIL_VALUE_BLOB, t))) return nomem(r);
    if (!((*out)->blob_path = dup(r, pv->blobfilevalue->filename))) return nomem(r);
    (*out)->blob_offset = pv->blobfilevalue->offset;
    return MR_OK;
  }
  if (pv->value_case != CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_IMMEDIATE_VALUE)
    return bad(r, "%s: Value holds neither an immediate value nor a blob reference", field);
  const pb_immediate *iv = pv->immediatevalue;
  int is_tensor = iv->value_case == CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TENSOR;
  if (is_tensor != (t->kind == MIL_TYPE_TENSOR))
    return bad(r, "%s: ImmediateValue does not match its type", field);
  if (!(*out = mil_value_new(r->a, is_tensor ? MIL_VALUE_TENSOR : MIL_VALUE_COMPOSITE, t))) return nomem(r);
  return is_tensor ? read_tensor_value(r, iv->tensor, field, *out) : read_composite(r, iv, field, depth, *out);
}

/* ---- program ---- */

static int read_var(rd *r, const pb_named_type *nt, const char *field, mil_var *v) {
  if (!nt->name[0]) return bad(r, "%s: NamedValueType without a name", field);
  if (!(v->name = dup(r, nt->name))) return nomem(r);
  return read_type(r, nt->type, field, &v->type);
}

static int read_vars(rd *r, pb_named_type **nts, size_t n, const char *field, mil_var **out, int *n_out) {
  if (n > INT32_MAX) return bad(r, "%s: too many", field);
  *n_out = (int)n;
  if (!(*out = alloc(r, n, sizeof **out))) return nomem(r);
  for (size_t i = 0; i < n; i++) {
    int rc = read_var(r, nts[i], field, &(*out)[i]);
    if (rc) return rc;
  }
  return MR_OK;
}

/* An attribute map (map<string, Value>) as attribute arguments. */
static int read_attr(rd *r, const char *key, const pb_value *val, const char *field, mil_arg *a) {
  if (!(a->name = dup(r, key))) return nomem(r);
  a->is_attr = 1;
  a->n_items = 1;
  if (!(a->items = alloc(r, 1, sizeof *a->items))) return nomem(r);
  return read_value(r, val, field, 0, &a->items[0].value);
}

static int read_input(rd *r, const pb_input_entry *e, const char *op, mil_arg *a) {
  if (!e->value) return bad(r, "op '%s': Operation.inputs['%s'] has no Argument", op, e->key);
  if (!(a->name = dup(r, e->key))) return nomem(r);
  size_t n = e->value->n_arguments;
  if (n > INT32_MAX) return bad(r, "op '%s': Operation.inputs['%s']: too many bindings", op, e->key);
  a->n_items = (int)n;
  a->is_tuple = n != 1;
  if (!(a->items = alloc(r, n, sizeof *a->items))) return nomem(r);
  for (size_t i = 0; i < n; i++) {
    const pb_binding *b = e->value->arguments[i];
    if (b->binding_case == CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_NAME) {
      if (!(a->items[i].var = dup(r, b->name))) return nomem(r);
    } else if (b->binding_case == CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_VALUE) {
      int rc = read_value(r, b->value, "Operation.inputs", 0, &a->items[i].value);
      if (rc) return util_err_prefix(r->err, "op '%s' input '%s': ", op, e->key);
    } else {
      return bad(r, "op '%s': Operation.inputs['%s'] binding %zu is empty", op, e->key, i);
    }
  }
  return MR_OK;
}

static int read_block(rd *r, const pb_block *pb, int depth, mil_block *b);

static int read_op(rd *r, const pb_op *po, int depth, mil_op *op) {
  if (!po->type[0]) return bad(r, "Operation without a type");
  if (!(op->type = dup(r, po->type))) return nomem(r);
  size_t na = po->n_inputs + po->n_attributes;
  if (na > INT32_MAX || po->n_blocks > INT32_MAX) return bad(r, "op '%s': too many inputs", po->type);
  op->n_args = (int)na;
  if (!(op->args = alloc(r, na, sizeof *op->args))) return nomem(r);
  int rc;
  for (size_t i = 0; i < po->n_inputs; i++)
    if ((rc = read_input(r, po->inputs[i], po->type, &op->args[i]))) return rc;
  for (size_t i = 0; i < po->n_attributes; i++)
    if ((rc = read_attr(r, po->attributes[i]->key, po->attributes[i]->value, "Operation.attributes",
                        &op->args[po->n_inputs + i])))
      return util_err_prefix(r->err, "op '%s': ", po->type);
  if ((rc = read_vars(r, po->outputs, po->n_outputs, "Operation.outputs", &op->outputs, &op->n_outputs))) return rc;
  op->n_blocks = (int)po->n_blocks;
  if (!(op->blocks = alloc(r, po->n_blocks, sizeof *op->blocks))) return nomem(r);
  for (size_t i = 0; i < po->n_blocks; i++)
    if ((rc = read_block(r, po->blocks[i], depth + 1, &op->blocks[i]))) return rc;
  return MR_OK;
}

static int read_block(rd *r, const pb_block *pb, int depth, mil_block *b) {
  if (depth > MIL_PB_MAX_DEPTH) return bad(r, "blocks nested too deep");
  if (pb->n_operations > INT32_MAX || pb->n_outputs > INT32_MAX) return bad(r, "Block: too many operations");
  int rc = read_vars(r, pb->inputs, pb->n_inputs, "Block.inputs", &b->inputs, &b->n_inputs);
  if (rc) return rc;
  b->n_ops = (int)pb->n_operations;
  if (!(b->ops = alloc(r, pb->n_operations, sizeof *b->ops))) return nomem(r);
  for (size_t i = 0; i < pb->n_operations; i++)
    if ((rc = read_op(r, pb->operations[i], depth, &b->ops[i]))) return rc;
  b->n_outputs = (int)pb->n_outputs;
  if (!(b->outputs = alloc(r, pb->n_outputs, sizeof *b->outputs))) return nomem(r);
  for (size_t i = 0; i < pb->n_outputs; i++)
    if (!(b->outputs[i] = dup(r, pb->outputs[i]))) return nomem(r);
  return MR_OK;
}

static int read_attrs(rd *r, size_t n, const char *field, mil_arg **out, int *n_out,
                      const char *(*key)(const void *, size_t), const pb_value *(*val)(const void *, size_t),
                      const void *entries) {
  if (n > INT32_MAX) return bad(r, "%s: too many", field);
  *n_out = (int)n;
  if (!(*out = alloc(r, n, sizeof **out))) return nomem(r);
  for (size_t i = 0; i < n; i++) {
    int rc = read_attr(r, key(entries, i), val(entries, i), field, &(*out)[i]);
    if (rc) return rc;
  }
  return MR_OK;
}

static const char *func_attr_key(const void *e, size_t i) { return ((pb_func_attr *const *)e)[i]->key; }
static const pb_value *func_attr_val(const void *e, size_t i) { return ((pb_func_attr *const *)e)[i]->value; }
static const char *prog_attr_key(const void *e, size_t i) { return ((pb_prog_attr *const *)e)[i]->key; }
static const pb_value *prog_attr_val(const void *e, size_t i) { return ((pb_prog_attr *const *)e)[i]->value; }

static int read_function(rd *r, const pb_func_entry *e, mil_function *f) {
  const pb_function *pf = e->value;
  if (!pf || !e->key[0]) return bad(r, "Program.functions: an entry without a name or function");
  if (!(f->name = dup(r, e->key))) return nomem(r);
  const char *opset = mil_proto_opset_text(pf->opset);
  if (!opset) return bad(r, "function '%s': Function.opset '%s' is not a known opset", e->key, pf->opset);
  f->opset = opset;
  const pb_block *body = NULL;
  for (size_t i = 0; i < pf->n_block_specializations; i++)
    if (!strcmp(pf->block_specializations[i]->key, pf->opset)) body = pf->block_specializations[i]->value;
  if (!body)
    return bad(r, "function '%s': Function.block_specializations has no block for opset '%s'", e->key, pf->opset);
  int rc = read_vars(r, pf->inputs, pf->n_inputs, "Function.inputs", &f->params, &f->n_params);
  if (!rc) rc = read_attrs(r, pf->n_attributes, "Function.attributes", &f->attrs, &f->n_attrs, func_attr_key,
                           func_attr_val, pf->attributes);
  if (!rc) rc = read_block(r, body, 0, &f->body);
  if (rc) return rc;
  if (body->n_inputs) return bad(r, "function '%s': its Block has inputs (a function's inputs are its own)", e->key);
  return MR_OK;
}

static int read_program(rd *r, const pb_program *pp) {
  if (pp->version != 1) return bad(r, "Program.version %lld is not 1", (long long)pp->version);
  if (!pp->n_functions) return bad(r, "Program.functions is empty");
  if (pp->n_functions > INT32_MAX) return bad(r, "Program.functions: too many");
  mil_program *p = r->p;
  p->n_funcs = (int)pp->n_functions;
  if (!(p->funcs = alloc(r, pp->n_functions, sizeof *p->funcs))) return nomem(r);
  /* The message has no text version ("program(1.3)"); compilers that know iOS18 write 1.3, older
   * ones 1.0, so an iOS18 program reads as 1.3 and any other as 1.0. */
  p->version = "1.0";
  for (size_t i = 0; i < pp->n_functions; i++) {
    for (size_t j = 0; j < i; j++)
      if (!strcmp(pp->functions[i]->key, pp->functions[j]->key))
        return bad(r, "Program.functions: '%s' twice", pp->functions[i]->key);
    int rc = read_function(r, pp->functions[i], &p->funcs[i]);
    if (rc) return rc;
    if (mil_proto_spec_version(p->funcs[i].opset) >= 9) p->version = "1.3";
  }
  return read_attrs(r, pp->n_attributes, "Program.attributes", &p->attrs, &p->n_attrs, prog_attr_key,
                    prog_attr_val, pp->attributes);
}

/* ---- description -> metadata.json form ---- */

static int add_str(cJSON *o, const char *k, const char *v) { return cJSON_AddStringToObject(o, k, v) ? 0 : -1; }

/* An input's enumerated shapes in metadata.json's spelling, "[[1, 1], [1, 64]]". */
static int enumerated_json(rd *r, const pb_enum_shapes *es, const char *field, const char *name, cJSON *o) {
  util_sb sb = {0};
  util_sb_append(&sb, "[", 1);
  for (size_t i = 0; i < es->n_shapes; i++) {
    const pb_shape *s = es->shapes[i];
    if (s->n_shape > MR_MAX_RANK) {
      util_sb_free(&sb);
      return bad(r, "%s '%s': EnumeratedShapes.shapes[%zu] has %zu dimensions", field, name, i, s->n_shape);
    }
    util_sb_append(&sb, i ? ", [" : "[", i ? 3 : 1);
    for (size_t k = 0; k < s->n_shape; k++) util_sb_printf(&sb, "%s%lld", k ? ", " : "", (long long)s->shape[k]);
    util_sb_append(&sb, "]", 1);
  }
  util_sb_append(&sb, "]", 1);
  int rc = util_sb_failed(&sb) || add_str(o, "enumeratedShapes", util_sb_cstr(&sb)) ? nomem(r) : MR_OK;
  util_sb_free(&sb);
  return rc;
}

static int feature_json(rd *r, const pb_feature *fd, const char *field, cJSON *arr) {
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddItemToArray(arr, o)) {
    cJSON_Delete(o);
    return nomem(r);
  }
  const pb_ftype *ft = fd->type;
  const pb_array_type *at = NULL;
  const char *kind = NULL;
  if (ft && ft->type_case == CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_MULTI_ARRAY_TYPE) {
    at = ft->multiarraytype;
    kind = "MultiArray";
  } else if (ft && ft->type_case == CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_STATE_TYPE &&
             ft->statetype->type_case == CORE_ML__SPECIFICATION__STATE_FEATURE_TYPE__TYPE_ARRAY_TYPE) {
    at = ft->statetype->arraytype;
    kind = "State";
  } else if (ft && ft->type_case == CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_INT64_TYPE) {
    kind = "Int64";
  } else if (ft && ft->type_case == CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_DOUBLE_TYPE) {
    kind = "Double";
  } else if (ft && ft->type_case == CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_STRING_TYPE) {
    kind = "String";
  } else {
    return util_err(r->err, MR_ENOTSUP, "%s: %s '%s': a feature type milrun does not support", r->path, field,
                    fd->name);
  }
  if (add_str(o, "name", fd->name) || add_str(o, "type", kind) ||
      add_str(o, "shortDescription", fd->shortdescription) || add_str(o, "isOptional", ft->isoptional ? "1" : "0"))
    return nomem(r);
  if (!at) return add_str(o, "dataType", "") ? nomem(r) : MR_OK;
  const char *dt = mil_proto_array_dtype_name(at->datatype);
  if (!dt) return bad(r, "%s '%s': ArrayFeatureType.dataType %d is unknown", field, fd->name, (int)at->datatype);
  if (at->n_shape > MR_MAX_RANK)
    return bad(r, "%s '%s': ArrayFeatureType.shape has %zu dimensions", field, fd->name, at->n_shape);
  char shape[MR_MAX_RANK * 24 + 4];
  size_t len = (size_t)snprintf(shape, sizeof shape, "[");
  for (size_t i = 0; i < at->n_shape; i++) {
    if (at->shape[i] < 0) return bad(r, "%s '%s': ArrayFeatureType.shape[%zu] is negative", field, fd->name, i);
    len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%lld", i ? ", " : "", (long long)at->shape[i]);
  }
  snprintf(shape + len, sizeof shape - len, "]");
  int flexible = at->shape_flexibility_case != CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__SHAPE_FLEXIBILITY__NOT_SET;
  if (add_str(o, "dataType", dt) || add_str(o, "shape", shape) ||
      add_str(o, "hasShapeFlexibility", flexible ? "1" : "0"))
    return nomem(r);
  if (at->shape_flexibility_case == CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__SHAPE_FLEXIBILITY_ENUMERATED_SHAPES &&
      at->enumeratedshapes)
    return enumerated_json(r, at->enumeratedshapes, field, fd->name, o);
  return MR_OK;
}

static int features_json(rd *r, pb_feature **fds, size_t n, const char *field, cJSON *o, const char *key) {
  cJSON *arr = cJSON_AddArrayToObject(o, key);
  if (!arr) return nomem(r);
  for (size_t i = 0; i < n; i++) {
    int rc = feature_json(r, fds[i], field, arr);
    if (rc) return rc;
  }
  return MR_OK;
}

static int schemas_json(rd *r, cJSON *o, pb_feature **in, size_t nin, pb_feature **out, size_t nout,
                        pb_feature **st, size_t nst) {
  int rc = features_json(r, in, nin, "input", o, "inputSchema");
  if (!rc) rc = features_json(r, out, nout, "output", o, "outputSchema");
  if (!rc) rc = features_json(r, st, nst, "state", o, "stateSchema");
  return rc;
}

static int description_json(rd *r, const pb_model *m, cJSON *o) {
  const pb_desc *d = m->description;
  if (!cJSON_AddNumberToObject(o, "specificationVersion", m->specificationversion)) return nomem(r);
  if (!d) return MR_OK;
  int rc = schemas_json(r, o, d->input, d->n_input, d->output, d->n_output, d->state, d->n_state);
  if (rc) return rc;
  if (d->n_functions) {
    cJSON *fa = cJSON_AddArrayToObject(o, "functions");
    if (!fa) return nomem(r);
    for (size_t i = 0; i < d->n_functions; i++) {
      const pb_fdesc *fd = d->functions[i];
      cJSON *fo = cJSON_CreateObject();
      if (!fo || !cJSON_AddItemToArray(fa, fo)) {
        cJSON_Delete(fo);
        return nomem(r);
      }
      if (!fd->name[0]) return bad(r, "ModelDescription.functions[%zu] has no name", i);
      if (add_str(fo, "name", fd->name)) return nomem(r);
      if ((rc = schemas_json(r, fo, fd->input, fd->n_input, fd->output, fd->n_output, fd->state, fd->n_state)))
        return rc;
    }
  }
  if (d->defaultfunctionname[0] && add_str(o, "defaultFunctionName", d->defaultfunctionname)) return nomem(r);
  const pb_metadata *md = d->metadata;
  if (!md) return MR_OK;
  if (add_str(o, "shortDescription", md->shortdescription) || add_str(o, "version", md->versionstring) ||
      add_str(o, "author", md->author) || add_str(o, "license", md->license))
    return nomem(r);
  cJSON *user = cJSON_AddObjectToObject(o, "userDefinedMetadata");
  if (!user) return nomem(r);
  for (size_t i = 0; i < md->n_userdefined; i++)
    if (add_str(user, md->userdefined[i]->key, md->userdefined[i]->value)) return nomem(r);
  return MR_OK;
}

static int read_description(rd *r, const pb_model *m, mil_metadata *md) {
  cJSON *root = cJSON_CreateArray(), *o = cJSON_CreateObject();
  if (!root || !o || !cJSON_AddItemToArray(root, o)) {
    cJSON_Delete(root);
    cJSON_Delete(o);
    return nomem(r);
  }
  int rc = description_json(r, m, o);
  char *text = rc ? NULL : cJSON_Print(root);
  cJSON_Delete(root);
  if (rc) return rc;
  if (!text) return nomem(r);
  rc = mil_metadata_parse(text, r->path, md, r->err);
  cJSON_free(text);
  return rc;
}

/* The description must name what the program has: every function it describes exists, and the
 * default function too. */
static int check_description(rd *r, const mil_metadata *md) {
  for (int i = 1; i < md->n_funcs; i++)
    if (!mil_program_function(r->p, md->funcs[i].name))
      return bad(r, "ModelDescription.functions names '%s', which Program.functions lacks", md->funcs[i].name);
  if (md->default_function && !mil_program_function(r->p, md->default_function))
    return bad(r, "ModelDescription.defaultFunctionName '%s' is not in Program.functions", md->default_function);
  return MR_OK;
}

int mil_proto_read(const uint8_t *data, size_t len, const char *path, mil_program **prog, mil_metadata *md,
                   mr_error *err) {
  *prog = NULL;
  memset(md, 0, sizeof *md);
  pb_model *m;
  int rc = mil_pb_decode_model(data, len, path, &m, err);
  if (rc) return rc;
  if (m->type_case == CORE_ML__SPECIFICATION__MODEL__TYPE_NEURAL_NETWORK) {
    rc = util_err(err, MR_ENOTSUP, "%s: not an ML Program (NeuralNetwork models are not supported)", path);
  } else if (m->type_case != CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM) {
    rc = util_err(err, MR_ENOTSUP, "%s: not an ML Program (Model holds no mlProgram)", path);
  }
  rd r = {mil_program_new(path), NULL, path, err};
  if (!rc && !r.p) rc = util_err_nomem(err, path);
  if (!rc) {
    r.a = &r.p->arena;
    rc = read_program(&r, m->mlprogram);
  }
  if (!rc) rc = read_description(&r, m, md);
  if (!rc && (rc = check_description(&r, md))) mil_metadata_free(md);
  mil_pb_free(m);
  if (rc) {
    mil_program_free(r.p);
    return rc;
  }
  *prog = r.p;
  return MR_OK;
}
