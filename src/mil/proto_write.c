/* proto_write.c — the IR of a program and its metadata as a Core ML Model message: the inverse of
 * proto_read.c. Messages are built in an arena and encoded once. Values go to the TensorValue
 * field Core ML reads for their element type (MIL.proto); the description is made from the
 * program's own signatures, so it cannot disagree with it, and the metadata (author, version,
 * user-defined keys, an input's enumerated shapes) comes from metadata.json. */
#include "mil/proto_write.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mil/blob_writer.h"
#include "mil/pb.h"
#include "mil/proto_types.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/fp16.h"

typedef struct wr {
  util_arena a;
  const mil_program *p;
  mr_error *err;
  cJSON *md_json; /* metadata.json as given, or NULL */
  int failed; /* out of memory: checked once at the end */
} wr;

static void *mk(wr *w, size_t size) {
  void *p = util_arena_alloc(&w->a, size);
  if (!p) w->failed = 1;
  return p;
}
#define NEW(w, T, ...) new_msg(w, sizeof(T), &(T)__VA_ARGS__)
static void *new_msg(wr *w, size_t size, const void *init) {
  void *p = mk(w, size);
  if (p) memcpy(p, init, size);
  return p;
}
static void **arr(wr *w, size_t n) { return mk(w, (n ? n : 1) * sizeof(void *)); }
static char *str(wr *w, const char *s) {
  char *d = util_arena_strndup(&w->a, s ? s : "", s ? strlen(s) : 0);
  if (!d) w->failed = 1;
  return d ? d : (char *)"";
}

static int unsup(wr *w, const char *fmt, ...) MR_PRINTF(2, 3);
static int unsup(wr *w, const char *fmt, ...) {
  char msg[MR_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return util_err(w->err, MR_ENOTSUP, "%s: %s", w->p->filename, msg);
}

/* ---- types ---- */

static pb_dim *dim(wr *w, int64_t d) {
  pb_dim *x = NEW(w, pb_dim, CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__INIT);
  if (!x) return NULL;
  if (d >= 0) {
    x->dimension_case = CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_CONSTANT;
    x->constant = NEW(w, pb_dim_const, CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__CONSTANT_DIMENSION__INIT);
    if (x->constant) x->constant->size = (uint64_t)d;
  } else {
    x->dimension_case = CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_UNKNOWN;
    x->unknown = NEW(w, pb_dim_unknown, CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__UNKNOWN_DIMENSION__INIT);
  }
  return x;
}

static pb_type *type(wr *w, const mil_type *t) {
  pb_type *x = NEW(w, pb_type, CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__INIT);
  if (!x || !t) return x;
  switch (t->kind) {
  case MIL_TYPE_TENSOR: {
    pb_tensor_type *tt = NEW(w, pb_tensor_type, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_TYPE__INIT);
    if (!tt) return x;
    x->type_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_TENSOR_TYPE;
    x->tensortype = tt;
    tt->datatype = (CoreML__Specification__MILSpec__DataType)mil_proto_dtype_code(t->dtype);
    tt->rank = t->rank;
    tt->n_dimensions = (size_t)t->rank;
    tt->dimensions = (pb_dim **)arr(w, (size_t)t->rank);
    for (int i = 0; tt->dimensions && i < t->rank; i++) tt->dimensions[i] = dim(w, t->dims[i]);
    break;
  }
  case MIL_TYPE_STATE:
    x->type_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_STATE_TYPE;
    x->statetype = NEW(w, pb_state, CORE_ML__SPECIFICATION__MILSPEC__STATE_TYPE__INIT);
    if (x->statetype) x->statetype->wrappedtype = type(w, t->elem);
    break;
  case MIL_TYPE_LIST:
    x->type_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_LIST_TYPE;
    x->listtype = NEW(w, pb_list_type, CORE_ML__SPECIFICATION__MILSPEC__LIST_TYPE__INIT);
    if (x->listtype) {
      x->listtype->type = type(w, t->elem);
      x->listtype->length = dim(w, t->list_len);
    }
    break;
  case MIL_TYPE_TUPLE:
    x->type_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_TUPLE_TYPE;
    x->tupletype = NEW(w, pb_tuple_type, CORE_ML__SPECIFICATION__MILSPEC__TUPLE_TYPE__INIT);
    if (!x->tupletype || !(x->tupletype->types = (pb_type **)arr(w, (size_t)t->n_members))) break;
    x->tupletype->n_types = (size_t)t->n_members;
    for (int i = 0; i < t->n_members; i++) x->tupletype->types[i] = type(w, t->members[i]);
    break;
  case MIL_TYPE_DICT:
    x->type_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_DICTIONARY_TYPE;
    x->dictionarytype = NEW(w, pb_dict_type, CORE_ML__SPECIFICATION__MILSPEC__DICTIONARY_TYPE__INIT);
    if (x->dictionarytype) {
      x->dictionarytype->keytype = type(w, t->elem);
      x->dictionarytype->valuetype = type(w, t->value);
    }
    break;
  }
  return x;
}

/* ---- values ---- */

static void put_raw(uint8_t *b, int64_t i, mil_dtype d, double v) {
  uint16_t h;
  switch (d) {
  case MIL_UINT32:
    for (int k = 0; k < 4; k++) b[4 * i + k] = (uint8_t)((uint32_t)v >> (8 * k));
    return;
  case MIL_INT8: b[i] = (uint8_t)(int8_t)v; return;
  case MIL_UINT8: b[i] = (uint8_t)v; return;
  case MIL_FP16: h = util_f32_to_f16((float)v); break;
  case MIL_BF16: h = util_f32_to_bf16((float)v); break;
  case MIL_INT16: h = (uint16_t)(int16_t)v; break;
  default: h = (uint16_t)v; break; /* UINT16 */
  }
  b[2 * i] = (uint8_t)h;
  b[2 * i + 1] = (uint8_t)(h >> 8);
}

/* fp16, bf16, uint32 and the 8-bit and sub-byte types as raw little-endian bytes (coremltools'
 * IMMEDIATE_VALUE_TYPES_IN_BYTES: Core ML reads them from there). */
static void tensor_bytes(wr *w, pb_tensor_value *tv, const mil_value *v) {
  mil_dtype d = v->type->dtype;
  int bits = mil_dtype_bits(d);
  size_t n = (size_t)(((uint64_t)v->count * (uint64_t)bits + 7) / 8);
  uint8_t *b = mk(w, n ? n : 1);
  if (!b) return;
  if (bits < 8) {
    uint8_t *u = mk(w, (size_t)v->count + 1);
    if (!u) return;
    for (int64_t i = 0; i < v->count; i++) u[i] = (uint8_t)((int)v->nums[i] & ((1 << bits) - 1));
    mil_bits_pack(u, v->count, bits, b);
  } else {
    for (int64_t i = 0; i < v->count; i++) put_raw(b, i, d, v->nums[i]);
  }
  tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES;
  tv->bytes = NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedBytes,
                  CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_BYTES__INIT);
  if (tv->bytes) {
    tv->bytes->values.data = b;
    tv->bytes->values.len = n;
  }
}

#define REPEATED(w, tv, CASE, field, T, ctype, conv, ...)                   \
  do {                                                                        \
    (tv)->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_##CASE; \
    T *rep_ = (tv)->field = NEW(w, T, __VA_ARGS__);                                  \
    ctype *vals_ = mk(w, sizeof(ctype) * (size_t)(v->count ? v->count : 1));  \
    if (!rep_ || !vals_) break;                                               \
    for (int64_t i = 0; i < v->count; i++) vals_[i] = conv(v->nums[i]);       \
    rep_->values = vals_;                                                     \
    rep_->n_values = (size_t)v->count;                                        \
  } while (0)
#define AS_F32(x) ((float)(x))
#define AS_F64(x) (x)
#define AS_I32(x) ((int32_t)(x))
#define AS_I64(x) ((int64_t)(x))
#define AS_BOOL(x) ((x) != 0)

static int tensor_value(wr *w, pb_tensor_value *tv, const mil_value *v) {
  mil_dtype d = v->type->dtype;
  int bits = mil_dtype_bits(d);
  switch (d) {
  case MIL_STRING: {
    tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS;
    tv->strings = NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedStrings,
                      CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_STRINGS__INIT);
    char **s = (char **)arr(w, (size_t)v->count);
    if (!tv->strings || !s) return MR_OK;
    for (int64_t i = 0; i < v->count; i++) s[i] = str(w, v->strs[i]);
    tv->strings->values = s;
    tv->strings->n_values = (size_t)v->count;
    return MR_OK;
  }
  case MIL_FP32:
    REPEATED(w, tv, FLOATS, floats, CoreML__Specification__MILSpec__TensorValue__RepeatedFloats, float, AS_F32,
             CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_FLOATS__INIT);
    return MR_OK;
  case MIL_FP64:
    REPEATED(w, tv, DOUBLES, doubles, CoreML__Specification__MILSpec__TensorValue__RepeatedDoubles, double, AS_F64,
             CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_DOUBLES__INIT);
    return MR_OK;
  case MIL_INT64:
  case MIL_UINT64:
    REPEATED(w, tv, LONG_INTS, longints, CoreML__Specification__MILSpec__TensorValue__RepeatedLongInts, int64_t, AS_I64,
             CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_LONG_INTS__INIT);
    return MR_OK;
  case MIL_BOOL:
    REPEATED(w, tv, BOOLS, bools, CoreML__Specification__MILSpec__TensorValue__RepeatedBools, protobuf_c_boolean, AS_BOOL,
             CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_BOOLS__INIT);
    return MR_OK;
  case MIL_INT32:
  case MIL_INT16:
  case MIL_UINT16:
    /* coremltools writes 16-bit integers to ints and reads them from there */
    REPEATED(w, tv, INTS, ints, CoreML__Specification__MILSpec__TensorValue__RepeatedInts, int32_t, AS_I32,
             CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_INTS__INIT);
    return MR_OK;
  default:
    if (bits <= 8 || d == MIL_FP16 || d == MIL_BF16 || d == MIL_UINT32) {
      tensor_bytes(w, tv, v);
      return MR_OK;
    }
    return unsup(w, "immediate %s values have no protobuf form", mil_dtype_name(d));
  }
}

static int value(wr *w, const mil_value *v, pb_value **out);

static int items(wr *w, const mil_value *v, pb_value ***out, size_t *n) {
  *out = (pb_value **)arr(w, (size_t)v->n_items);
  *n = *out ? (size_t)v->n_items : 0;
  for (size_t i = 0; i < *n; i++) {
    int rc = value(w, v->items[i], &(*out)[i]);
    if (rc) return rc;
  }
  return MR_OK;
}

static int composite(wr *w, const mil_value *v, pb_immediate *iv) {
  int rc = MR_OK;
  switch (v->type->kind) {
  case MIL_TYPE_TUPLE:
    iv->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TUPLE;
    iv->tuple = NEW(w, pb_tuple_value, CORE_ML__SPECIFICATION__MILSPEC__TUPLE_VALUE__INIT);
    if (iv->tuple) rc = items(w, v, &iv->tuple->values, &iv->tuple->n_values);
    return rc;
  case MIL_TYPE_LIST:
    iv->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_LIST;
    iv->list = NEW(w, pb_list_value, CORE_ML__SPECIFICATION__MILSPEC__LIST_VALUE__INIT);
    if (iv->list) rc = items(w, v, &iv->list->values, &iv->list->n_values);
    return rc;
  case MIL_TYPE_DICT: {
    iv->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_DICTIONARY;
    pb_dict_value *dv = iv->dictionary = NEW(w, pb_dict_value, CORE_ML__SPECIFICATION__MILSPEC__DICTIONARY_VALUE__INIT);
    size_t n = (size_t)v->n_items / 2;
    if (!dv || !(dv->values = (pb_dict_pair **)arr(w, n))) return MR_OK;
    dv->n_values = n;
    for (size_t i = 0; i < n && !rc; i++) {
      pb_dict_pair *kv = dv->values[i] =
          NEW(w, pb_dict_pair, CORE_ML__SPECIFICATION__MILSPEC__DICTIONARY_VALUE__KEY_VALUE_PAIR__INIT);
      if (!kv) return MR_OK;
      rc = value(w, v->items[2 * i], &kv->key);
      if (!rc) rc = value(w, v->items[2 * i + 1], &kv->value);
    }
    return rc;
  }
  default:
    return unsup(w, "a composite value of a non-composite type");
  }
}

static int value(wr *w, const mil_value *v, pb_value **out) {
  pb_value *x = *out = NEW(w, pb_value, CORE_ML__SPECIFICATION__MILSPEC__VALUE__INIT);
  if (!x) return MR_OK;
  x->type = type(w, v->type);
  if (v->kind == MIL_VALUE_BLOB) {
    x->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_BLOB_FILE_VALUE;
    x->blobfilevalue = NEW(w, pb_blob_value, CORE_ML__SPECIFICATION__MILSPEC__VALUE__BLOB_FILE_VALUE__INIT);
    if (x->blobfilevalue) {
      x->blobfilevalue->filename = str(w, v->blob_path);
      x->blobfilevalue->offset = v->blob_offset;
    }
    return MR_OK;
  }
  x->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_IMMEDIATE_VALUE;
  pb_immediate *iv = x->immediatevalue =
      NEW(w, pb_immediate, CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__INIT);
  if (!iv) return MR_OK;
  if (v->kind == MIL_VALUE_COMPOSITE) return composite(w, v, iv);
  iv->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TENSOR;
  iv->tensor = NEW(w, pb_tensor_value, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__INIT);
  return iv->tensor ? tensor_value(w, iv->tensor, v) : MR_OK;
}

/* ---- program ---- */

static pb_named_type **vars(wr *w, const mil_var *v, int n) {
  pb_named_type **x = (pb_named_type **)arr(w, (size_t)n);
  for (int i = 0; x && i < n; i++) {
    x[i] = NEW(w, pb_named_type, CORE_ML__SPECIFICATION__MILSPEC__NAMED_VALUE_TYPE__INIT);
    if (!x[i]) return x;
    x[i]->name = str(w, v[i].name);
    x[i]->type = type(w, v[i].type);
  }
  return x;
}

/* An attribute (map<string, Value>) holds one inline value. */
static int attr_value(wr *w, const mil_arg *a, const char *where, pb_value **out) {
  if (a->n_items != 1 || a->is_tuple || !a->items[0].value)
    return unsup(w, "%s: attribute '%s' is not one inline value", where, a->name);
  return value(w, a->items[0].value, out);
}

static int input(wr *w, const mil_arg *a, pb_input_entry **out) {
  pb_input_entry *e = *out = NEW(w, pb_input_entry, CORE_ML__SPECIFICATION__MILSPEC__OPERATION__INPUTS_ENTRY__INIT);
  pb_argument *arg = NEW(w, pb_argument, CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__INIT);
  pb_binding **b = (pb_binding **)arr(w, (size_t)a->n_items);
  if (!e || !arg || !b) return MR_OK;
  e->key = str(w, a->name);
  e->value = arg;
  arg->arguments = b;
  arg->n_arguments = (size_t)a->n_items;
  for (int i = 0; i < a->n_items; i++) {
    if (!(b[i] = NEW(w, pb_binding, CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__INIT))) return MR_OK;
    if (a->items[i].var) {
      b[i]->binding_case = CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_NAME;
      b[i]->name = str(w, a->items[i].var);
    } else {
      b[i]->binding_case = CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_VALUE;
      int rc = value(w, a->items[i].value, &b[i]->value);
      if (rc) return rc;
    }
  }
  return MR_OK;
}

static int block(wr *w, const mil_block *b, pb_block **out);

static int op(wr *w, const mil_op *o, pb_op **out) {
  pb_op *x = *out = NEW(w, pb_op, CORE_ML__SPECIFICATION__MILSPEC__OPERATION__INIT);
  if (!x) return MR_OK;
  const char *name = mil_op_name(o);
  if (o->opset) return unsup(w, "op '%s' (%s): a per-op opset has no protobuf form", name ? name : "", o->type);
  x->type = str(w, o->type);
  int n_attr = 0;
  for (int i = 0; i < o->n_args; i++) n_attr += o->args[i].is_attr;
  x->inputs = (pb_input_entry **)arr(w, (size_t)(o->n_args - n_attr));
  x->attributes = (pb_op_attr **)arr(w, (size_t)n_attr);
  if (!x->inputs || !x->attributes) return MR_OK;
  for (int i = 0; i < o->n_args; i++) {
    const mil_arg *a = &o->args[i];
    int rc;
    if (a->is_attr) {
      pb_op_attr *e = x->attributes[x->n_attributes++] =
          NEW(w, pb_op_attr, CORE_ML__SPECIFICATION__MILSPEC__OPERATION__ATTRIBUTES_ENTRY__INIT);
      if (!e) return MR_OK;
      e->key = str(w, a->name);
      rc = attr_value(w, a, o->type, &e->value);
    } else {
      rc = input(w, a, &x->inputs[x->n_inputs++]);
    }
    if (rc) return rc;
  }
  x->outputs = vars(w, o->outputs, o->n_outputs);
  x->n_outputs = (size_t)o->n_outputs;
  x->blocks = (pb_block **)arr(w, (size_t)o->n_blocks);
  if (!x->blocks) return MR_OK;
  x->n_blocks = (size_t)o->n_blocks;
  for (int i = 0; i < o->n_blocks; i++) {
    int rc = block(w, &o->blocks[i], &x->blocks[i]);
    if (rc) return rc;
  }
  return MR_OK;
}

static int block(wr *w, const mil_block *b, pb_block **out) {
  pb_block *x = *out = NEW(w, pb_block, CORE_ML__SPECIFICATION__MILSPEC__BLOCK__INIT);
  if (!x) return MR_OK;
  x->inputs = vars(w, b->inputs, b->n_inputs);
  x->n_inputs = (size_t)b->n_inputs;
  x->outputs = (char **)arr(w, (size_t)b->n_outputs);
  x->operations = (pb_op **)arr(w, (size_t)b->n_ops);
  if (!x->outputs || !x->operations) return MR_OK;
  x->n_outputs = (size_t)b->n_outputs;
  for (int i = 0; i < b->n_outputs; i++) x->outputs[i] = str(w, b->outputs[i]);
  x->n_operations = (size_t)b->n_ops;
  for (int i = 0; i < b->n_ops; i++) {
    int rc = op(w, &b->ops[i], &x->operations[i]);
    if (rc) return rc;
  }
  return MR_OK;
}

static int function(wr *w, const mil_function *f, pb_func_entry **out) {
  const char *opset = mil_proto_opset_name(f->opset);
  if (!opset) return unsup(w, "function '%s': opset '%s' has no Core ML name", f->name, f->opset);
  pb_func_entry *e = *out = NEW(w, pb_func_entry, CORE_ML__SPECIFICATION__MILSPEC__PROGRAM__FUNCTIONS_ENTRY__INIT);
  pb_function *x = NEW(w, pb_function, CORE_ML__SPECIFICATION__MILSPEC__FUNCTION__INIT);
  pb_block_entry *be = NEW(w, pb_block_entry, CORE_ML__SPECIFICATION__MILSPEC__FUNCTION__BLOCK_SPECIALIZATIONS_ENTRY__INIT);
  pb_block_entry **bes = (pb_block_entry **)arr(w, 1);
  pb_func_attr **attrs = (pb_func_attr **)arr(w, (size_t)f->n_attrs);
  if (!e || !x || !be || !bes || !attrs) return MR_OK;
  e->key = str(w, f->name);
  e->value = x;
  x->opset = str(w, opset);
  x->inputs = vars(w, f->params, f->n_params);
  x->n_inputs = (size_t)f->n_params;
  bes[0] = be;
  x->block_specializations = bes;
  x->n_block_specializations = 1;
  be->key = x->opset;
  x->attributes = attrs;
  for (int i = 0; i < f->n_attrs; i++) {
    pb_func_attr *a = attrs[x->n_attributes++] =
        NEW(w, pb_func_attr, CORE_ML__SPECIFICATION__MILSPEC__FUNCTION__ATTRIBUTES_ENTRY__INIT);
    if (!a) return MR_OK;
    a->key = str(w, f->attrs[i].name);
    int rc = attr_value(w, &f->attrs[i], f->name, &a->value);
    if (rc) return rc;
  }
  return block(w, &f->body, &be->value);
}

static int program(wr *w, pb_program **out) {
  const mil_program *p = w->p;
  pb_program *x = *out = NEW(w, pb_program, CORE_ML__SPECIFICATION__MILSPEC__PROGRAM__INIT);
  if (!x) return MR_OK;
  x->version = 1;
  x->functions = (pb_func_entry **)arr(w, (size_t)p->n_funcs);
  x->attributes = (pb_prog_attr **)arr(w, (size_t)p->n_attrs);
  if (!x->functions || !x->attributes) return MR_OK;
  for (int i = 0; i < p->n_funcs; i++) {
    int rc = function(w, &p->funcs[i], &x->functions[x->n_functions++]);
    if (rc) return rc;
  }
  for (int i = 0; i < p->n_attrs; i++) {
    pb_prog_attr *a = x->attributes[x->n_attributes++] =
        NEW(w, pb_prog_attr, CORE_ML__SPECIFICATION__MILSPEC__PROGRAM__ATTRIBUTES_ENTRY__INIT);
    if (!a) return MR_OK;
    a->key = str(w, p->attrs[i].name);
    int rc = attr_value(w, &p->attrs[i], "program", &a->value);
    if (rc) return rc;
  }
  return MR_OK;
}

/* ---- description ---- */

static const char *json_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* The metadata.json inputSchema entry of input `name` of function fn, or NULL. */
static const cJSON *input_entry(const wr *w, const char *fn, const char *name) {
  const cJSON *o = cJSON_IsArray(w->md_json) ? cJSON_GetArrayItem(w->md_json, 0) : w->md_json, *f, *e;
  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(o, "functions")) {
    if (!strcmp(json_str(f, "name"), fn)) {
      o = f;
      break;
    }
  }
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "inputSchema")) {
    if (!strcmp(json_str(e, "name"), name)) return e;
  }
  return NULL;
}

/* A shape written as JSON ([1, 64]) into s when it fits the declared type t. */
static int shape_of(const cJSON *j, const mil_type *t, int64_t *s) {
  if (cJSON_GetArraySize(j) != t->rank) return 0;
  for (int i = 0; i < t->rank; i++) {
    const cJSON *d = cJSON_GetArrayItem(j, i);
    if (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > 1e15 ||
        (t->dims[i] >= 0 && d->valuedouble != (double)t->dims[i]))
      return 0;
    s[i] = (int64_t)d->valuedouble;
  }
  return 1;
}

/* The enumerated shapes metadata.json gives for a flexible input ("[[1, 1], [1, 64]]"), each
 * fitting its declared type; the first is the default shape, as in Anemll's. */
static int enumerated(wr *w, pb_array_type *at, const mil_type *t, const cJSON *entry) {
  cJSON *list = entry ? cJSON_Parse(json_str(entry, "enumeratedShapes")) : NULL;
  int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0, ok = n > 0;
  pb_enum_shapes *es = ok ? NEW(w, pb_enum_shapes, CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__ENUMERATED_SHAPES__INIT)
                          : NULL;
  pb_shape **shapes = ok ? (pb_shape **)arr(w, (size_t)n) : NULL;
  for (int i = 0; ok && es && shapes && i < n; i++) {
    pb_shape *s = shapes[i] = NEW(w, pb_shape, CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__SHAPE__INIT);
    int64_t *dims = mk(w, sizeof *dims * (size_t)(t->rank + 1));
    if (!s || !dims) break;
    ok = shape_of(cJSON_GetArrayItem(list, i), t, dims);
    s->shape = dims;
    s->n_shape = (size_t)t->rank;
  }
  cJSON_Delete(list);
  if (!ok || !es || !shapes) return 0;
  es->shapes = shapes;
  es->n_shapes = (size_t)n;
  at->shape_flexibility_case = CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__SHAPE_FLEXIBILITY_ENUMERATED_SHAPES;
  at->enumeratedshapes = es;
  memcpy(at->shape, shapes[0]->shape, sizeof *at->shape * (size_t)t->rank);
  return 1;
}

/* Every size from 1 up for each flexible dimension, the declared size for the others. */
static void shape_range(wr *w, pb_array_type *at, const mil_type *t) {
  pb_shape_range *r = NEW(w, pb_shape_range, CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__SHAPE_RANGE__INIT);
  pb_size_range **sizes = (pb_size_range **)arr(w, (size_t)t->rank);
  if (!r || !sizes) return;
  for (int i = 0; i < t->rank; i++) {
    pb_size_range *s = sizes[i] = NEW(w, pb_size_range, CORE_ML__SPECIFICATION__SIZE_RANGE__INIT);
    if (!s) return;
    s->lowerbound = t->dims[i] < 0 ? 1 : (uint64_t)t->dims[i];
    s->upperbound = t->dims[i] < 0 ? -1 : t->dims[i];
  }
  r->sizeranges = sizes;
  r->n_sizeranges = (size_t)t->rank;
  at->shape_flexibility_case = CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__SHAPE_FLEXIBILITY_SHAPE_RANGE;
  at->shaperange = r;
}

/* A flexible input (a dimension declared '?') tells Core ML which shapes it takes: the enumerated
 * shapes metadata.json lists for it (Anemll's embeddings: [1, 1] and [1, B]), else a range. */
static void flexibility(wr *w, pb_array_type *at, const mil_type *t, const char *fn, const char *name) {
  int flexible = 0;
  for (int i = 0; i < t->rank; i++) flexible |= t->dims[i] < 0;
  if (flexible && !enumerated(w, at, t, input_entry(w, fn, name))) shape_range(w, at, t);
}

static int feature(wr *w, const char *fn, const char *name, const mil_type *t, int is_input, pb_feature **out) {
  int is_state = t && t->kind == MIL_TYPE_STATE;
  const mil_type *tt = is_state ? t->elem : t;
  if (!tt || tt->kind != MIL_TYPE_TENSOR || !mil_proto_array_dtype(tt->dtype))
    return unsup(w, "function '%s': '%s' is not a multi-array Core ML can describe", fn, name);
  pb_feature *x = *out = NEW(w, pb_feature, CORE_ML__SPECIFICATION__FEATURE_DESCRIPTION__INIT);
  pb_ftype *ft = NEW(w, pb_ftype, CORE_ML__SPECIFICATION__FEATURE_TYPE__INIT);
  pb_array_type *at = NEW(w, pb_array_type, CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__INIT);
  int64_t *shape = mk(w, sizeof *shape * (size_t)(tt->rank + 1));
  if (!x || !ft || !at || !shape) return MR_OK;
  x->name = str(w, name);
  x->type = ft;
  at->datatype = (CoreML__Specification__ArrayFeatureType__ArrayDataType)mil_proto_array_dtype(tt->dtype);
  /* a flexible dimension is described by its smallest size (1); its range stays in the program */
  for (int i = 0; i < tt->rank; i++) shape[i] = tt->dims[i] < 0 ? 1 : tt->dims[i];
  at->shape = shape;
  at->n_shape = (size_t)tt->rank;
  if (is_input) flexibility(w, at, tt, fn, name);
  if (is_state) {
    ft->type_case = CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_STATE_TYPE;
    ft->statetype = NEW(w, pb_state_type, CORE_ML__SPECIFICATION__STATE_FEATURE_TYPE__INIT);
    if (ft->statetype) {
      ft->statetype->type_case = CORE_ML__SPECIFICATION__STATE_FEATURE_TYPE__TYPE_ARRAY_TYPE;
      ft->statetype->arraytype = at;
    }
  } else {
    ft->type_case = CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_MULTI_ARRAY_TYPE;
    ft->multiarraytype = at;
  }
  return MR_OK;
}

typedef struct schemas {
  pb_feature **in, **out, **st;
  size_t n_in, n_out, n_st;
} schemas;

static int function_schemas(wr *w, const mil_function *f, schemas *s) {
  s->in = (pb_feature **)arr(w, (size_t)f->n_params);
  s->st = (pb_feature **)arr(w, (size_t)f->n_params);
  s->out = (pb_feature **)arr(w, (size_t)f->body.n_outputs);
  if (!s->in || !s->st || !s->out) return MR_OK;
  for (int i = 0; i < f->n_params; i++) {
    const mil_var *v = &f->params[i];
    int st = v->type && v->type->kind == MIL_TYPE_STATE;
    int rc = feature(w, f->name, v->name, v->type, !st, st ? &s->st[s->n_st++] : &s->in[s->n_in++]);
    if (rc) return rc;
  }
  for (int i = 0; i < f->body.n_outputs; i++) {
    int rc = feature(w, f->name, f->body.outputs[i], mil_function_var_type(f, f->body.outputs[i]), 0, &s->out[s->n_out++]);
    if (rc) return rc;
  }
  return MR_OK;
}

/* Author, version, description, license and user-defined keys of metadata.json. */
static void metadata(wr *w, const mil_metadata *md, pb_desc *d) {
  pb_metadata *x = d->metadata = NEW(w, pb_metadata, CORE_ML__SPECIFICATION__METADATA__INIT);
  if (!x || !md) return;
  const cJSON *o = cJSON_IsArray(w->md_json) ? cJSON_GetArrayItem(w->md_json, 0) : w->md_json;
  x->shortdescription = str(w, json_str(o, "shortDescription"));
  x->versionstring = str(w, json_str(o, "version"));
  x->author = str(w, json_str(o, "author"));
  x->license = str(w, json_str(o, "license"));
  x->userdefined = (pb_user_entry **)arr(w, (size_t)md->n_user);
  for (int i = 0; x->userdefined && i < md->n_user; i++) {
    pb_user_entry *e = x->userdefined[x->n_userdefined++] =
        NEW(w, pb_user_entry, CORE_ML__SPECIFICATION__METADATA__USER_DEFINED_ENTRY__INIT);
    if (!e) return;
    e->key = str(w, md->user_keys[i]);
    e->value = str(w, md->user_values[i]);
  }
}

static int uses_states(const mil_program *p) {
  for (int i = 0; i < p->n_funcs; i++)
    for (int k = 0; k < p->funcs[i].n_params; k++)
      if (p->funcs[i].params[k].type && p->funcs[i].params[k].type->kind == MIL_TYPE_STATE) return 1;
  return 0;
}

static int description(wr *w, const mil_metadata *md, pb_desc **out) {
  const mil_program *p = w->p;
  pb_desc *d = *out = NEW(w, pb_desc, CORE_ML__SPECIFICATION__MODEL_DESCRIPTION__INIT);
  if (!d) return MR_OK;
  metadata(w, md, d);
  if (p->n_funcs == 1) {
    schemas s = {0};
    int rc = function_schemas(w, &p->funcs[0], &s);
    d->input = s.in, d->n_input = s.n_in, d->output = s.out, d->n_output = s.n_out;
    d->state = s.st, d->n_state = s.n_st;
    return rc;
  }
  /* several functions: one FunctionDescription each and a default (Core ML's multifunction form) */
  const char *def = md && md->default_function ? md->default_function : p->funcs[0].name;
  if (!mil_program_function(p, def)) return unsup(w, "default function '%s' is not in the program", def);
  d->defaultfunctionname = str(w, def);
  d->functions = (pb_fdesc **)arr(w, (size_t)p->n_funcs);
  for (int i = 0; d->functions && i < p->n_funcs; i++) {
    pb_fdesc *fd = d->functions[d->n_functions++] =
        NEW(w, pb_fdesc, CORE_ML__SPECIFICATION__FUNCTION_DESCRIPTION__INIT);
    if (!fd) return MR_OK;
    fd->name = str(w, p->funcs[i].name);
    schemas s = {0};
    int rc = function_schemas(w, &p->funcs[i], &s);
    fd->input = s.in, fd->n_input = s.n_in, fd->output = s.out, fd->n_output = s.n_out;
    fd->state = s.st, fd->n_state = s.n_st;
    if (rc) return rc;
  }
  return MR_OK;
}

int mil_proto_spec_version_of(const mil_program *p) {
  int v = 0;
  for (int i = 0; i < p->n_funcs; i++) {
    int fv = mil_proto_spec_version(p->funcs[i].opset);
    if (fv > v) v = fv;
  }
  if ((p->n_funcs > 1 || uses_states(p)) && v < 9) v = 9; /* iOS18: states, multifunction */
  return v;
}

int mil_proto_write(const mil_program *p, const mil_metadata *md, uint8_t **out, size_t *len, mr_error *err) {
  *out = NULL;
  *len = 0;
  wr w = {.p = p, .err = err, .md_json = md && md->text ? cJSON_Parse(md->text) : NULL};
  pb_model *m = NEW(&w, pb_model, CORE_ML__SPECIFICATION__MODEL__INIT);
  int rc = MR_OK;
  if (m) {
    m->specificationversion = mil_proto_spec_version_of(p);
    m->type_case = CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM;
    rc = program(&w, &m->mlprogram);
    if (!rc) rc = description(&w, md, &m->description);
  }
  if (!rc && w.failed) rc = util_err_nomem(err, p->filename);
  if (!rc) rc = mil_pb_encode_model(m, out, len, err);
  util_arena_free(&w.a);
  cJSON_Delete(w.md_json);
  return rc;
}
