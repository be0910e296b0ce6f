/* ir.h — the in-memory form of a model.mil program (docs/formats.md §2): program -> functions ->
 * blocks -> ops, with typed values. Everything of one program lives in its arena and is freed by
 * mil_program_free. The parser (parse.c) builds it only through the constructors in ir.c.
 * The IR says nothing about execution (that is exec/). */
#ifndef MIL_IR_H
#define MIL_IR_H

#include <stddef.h>
#include <stdint.h>

#include "milrun.h"
#include "util/arena.h"
#include "util/strbuf.h"

/* Element types, in the text spelling of docs/formats.md §2.3 (ORDER: mil_dtype_names in ir.c). */
typedef enum mil_dtype {
  MIL_BOOL,
  MIL_STRING,
  MIL_FP16,
  MIL_FP32,
  MIL_FP64,
  MIL_BF16,
  MIL_INT4,
  MIL_INT8,
  MIL_INT16,
  MIL_INT32,
  MIL_INT64,
  MIL_UINT1,
  MIL_UINT2,
  MIL_UINT3,
  MIL_UINT4,
  MIL_UINT6,
  MIL_UINT8,
  MIL_UINT16,
  MIL_UINT32,
  MIL_UINT64,
  MIL_FP8E4M3FN,
  MIL_FP8E5M2,
  MIL_DTYPE_COUNT
} mil_dtype;

const char *mil_dtype_name(mil_dtype t);
/* Storage bits per element (1..64); 0 for string. */
int mil_dtype_bits(mil_dtype t);
/* Look up a text spelling ("fp16", "uint4", ...); returns 0 and sets *out, or -1. */
int mil_dtype_parse(const char *s, size_t n, mil_dtype *out);
int mil_dtype_is_float(mil_dtype t);

typedef enum mil_type_kind {
  MIL_TYPE_TENSOR, /* tensor<dtype, [dims]> or a bare scalar dtype (rank 0) */
  MIL_TYPE_STATE,  /* state<tensor<...>>: elem is the tensor type */
  MIL_TYPE_LIST,   /* list<elem, len>: len = -1 for '?' */
  MIL_TYPE_TUPLE,  /* tuple<members...> */
  MIL_TYPE_DICT    /* dict<elem (key), value> */
} mil_type_kind;

typedef struct mil_type mil_type;
struct mil_type {
  mil_type_kind kind;
  mil_dtype dtype;      /* TENSOR */
  int rank;             /* TENSOR; 0 = scalar (both `tensor<int32, []>` and `int32` spellings) */
  int64_t *dims;        /* TENSOR: rank entries, -1 = '?' */
  mil_type *elem;       /* STATE, LIST: element type; DICT: key type */
  mil_type *value;      /* DICT: value type */
  int64_t list_len;     /* LIST: length, -1 = '?' */
  mil_type **members;   /* TUPLE */
  int n_members;
};

/* Number of elements of a tensor type (1 for rank 0); -1 if a dim is unknown. */
int64_t mil_type_count(const mil_type *t);

typedef enum mil_value_kind {
  MIL_VALUE_TENSOR,    /* literal tensor or scalar: nums[] (numbers and bools) or strs[] (strings) */
  MIL_VALUE_BLOB,      /* BLOBFILE(path = ..., offset = ...) */
  MIL_VALUE_COMPOSITE  /* literal of a list, tuple or dict type: items[] (dict: key, value, key, ...) */
} mil_value_kind;

/* A typed constant written in the text: `type(literal)`. */
typedef struct mil_value mil_value;
struct mil_value {
  mil_value_kind kind;
  mil_type *type;
  /* TENSOR: count elements in row-major order, flattened from nested [...] lists. Integers, floats
   * (hex floats decoded exactly), inf/-inf/nan and bools (1/0) are in nums; strings in strs. */
  int64_t count;
  double *nums;
  char **strs;
  /* BLOB */
  const char *blob_path;  /* as written, e.g. "@model_path/weights/weight.bin" */
  uint64_t blob_offset;   /* offset of the blob's metadata record (docs/formats.md §3.4) */
  /* COMPOSITE */
  mil_value **items;
  int n_items;
};

/* One binding of an argument: a variable reference or an inline value. */
typedef struct mil_binding {
  const char *var;   /* name of a variable, or NULL */
  mil_value *value;  /* inline value when var == NULL */
} mil_binding;

/* A named parameter of an op: from the argument list `op(name = ...)` or from the attribute block
 * `[name = ...]`. Executors treat both alike (docs/formats.md §2.2). */
typedef struct mil_arg {
  const char *name;
  mil_binding *items; /* one item, or several for a parenthesised tuple `(a, b, c)` */
  int n_items;
  int is_tuple;       /* written as ( ... ) */
  int is_attr;        /* came from the [ ... ] block */
  int line, col;
} mil_arg;

/* A named, typed variable: function parameter or op output. */
typedef struct mil_var {
  const char *name;
  mil_type *type;
  int line, col;
} mil_var;

typedef struct mil_block mil_block;
typedef struct mil_op {
  const char *type;    /* op name: "conv", "const", "write_state", ... */
  const char *opset;   /* per-op opset suffix `op<ios17>(...)`, usually NULL */
  mil_arg *args;       /* arguments then attributes, in text order */
  int n_args;
  mil_var *outputs;    /* zero (write_state) or more */
  int n_outputs;
  mil_block *blocks;   /* nested blocks (cond/while_loop), usually none */
  int n_blocks;
  int line, col;       /* of the statement's first token */
} mil_op;

struct mil_block {
  mil_var *inputs;     /* nested blocks only */
  int n_inputs;
  mil_op *ops;
  int n_ops;
  const char **outputs; /* names after `->` */
  int n_outputs;
  int line, col;
};

typedef struct mil_function {
  const char *name;
  const char *opset;   /* "ios15".."ios18", or any newer identifier */
  mil_var *params;     /* inputs and state<...> parameters, in declaration order */
  int n_params;
  mil_arg *attrs;      /* function attribute block, e.g. FlexibleShapeInformation */
  int n_attrs;
  mil_block body;
  int line, col;
} mil_function;

typedef struct mil_program {
  util_arena arena;    /* owns everything below */
  const char *filename;/* for messages */
  const char *version; /* "1.0", "1.3" */
  mil_arg *attrs;      /* e.g. buildInfo */
  int n_attrs;
  mil_function *funcs;
  int n_funcs;
} mil_program;

/* Parse model.mil text. `filename` is used in messages ("model.mil:12:34: expected ')', found
 * 'x'"). Lines starting with '#' are comments. On success *out owns a new program; on failure *out
 * is NULL and err holds the first error. Never reads outside text[0..len). */
int mil_parse(const char *text, size_t len, const char *filename, mil_program **out, mr_error *err);
int mil_parse_file(const char *path, mil_program **out, mr_error *err);
void mil_program_free(mil_program *p);

/* The function called `name` (NULL: the first one), or NULL. */
const mil_function *mil_program_function(const mil_program *p, const char *name);
/* The declared type of variable `name` of fn (a parameter or an output of a top-level op), or NULL. */
const mil_type *mil_function_var_type(const mil_function *fn, const char *name);
/* The argument or attribute `name` of op, or NULL. */
const mil_arg *mil_op_arg(const mil_op *op, const char *name);
/* The op's `name` attribute as a string, or NULL. */
const char *mil_op_name(const mil_op *op);
/* Write a type as text ("tensor<fp16, [1, 64]>"; rank 0 as the bare dtype, "fp16") into buf,
 * truncated to size; returns buf. */
char *mil_type_str(const mil_type *t, char *buf, size_t size);
/* Append a type to sb, rank 0 as `tensor<fp16, []>` with long_scalars (program(1.0)), else "fp16". */
void mil_type_print(util_sb *sb, const mil_type *t, int long_scalars);

/* Structural equality of two programs (names, types, values, blob references, attributes, block
 * and op order; source positions and filenames are ignored). Returns 1 when equal; otherwise 0 and,
 * when why is given, a description of the first difference ("func infer: op 12 (conv): arg x"). */
int mil_program_equal(const mil_program *a, const mil_program *b, char *why, size_t size);
/* The same, with flags: MIL_EQUAL_PROTOBUF ignores what a Core ML model file cannot carry (the
 * program's version text, and whether a one-item argument was written as a tuple). */
enum { MIL_EQUAL_PROTOBUF = 1 };
int mil_program_equal_as(const mil_program *a, const mil_program *b, int flags, char *why, size_t size);

/* Constructors (ir.c), used by the parser. mil_program_new returns an empty program whose arena
 * holds a copy of filename (NULL if out of memory); the others allocate zeroed nodes in `a` and
 * return NULL if out of memory. mil_type_new sets list_len = -1; mil_type_new_tensor copies `dims`
 * (rank entries). */
mil_program *mil_program_new(const char *filename);
mil_type *mil_type_new(util_arena *a, mil_type_kind kind);
mil_type *mil_type_new_tensor(util_arena *a, mil_dtype dtype, int rank, const int64_t *dims);
mil_value *mil_value_new(util_arena *a, mil_value_kind kind, mil_type *type);

#endif
