/* writer.h — one converted component as an IR program (mil/ir.h) plus its weights/weight.bin.
 * Builders describe each function, value (dtype and shape) and op; the writer names the values,
 * appends the ops to the program, streams weights out of the checkpoint into the blob file (fp16
 * or LUT-palettized) and shares a weight between the functions of a bundle. conv_w_finish prints
 * the program as model.mil through mil/print.c and hands it to on_program. Errors are sticky: after the first failure every
 * call does nothing and conv_w_finish reports it. */
#ifndef CONVERT_WRITER_H
#define CONVERT_WRITER_H

#include <stdint.h>

#include "convert/safetensors.h"
#include "mil/blob_writer.h"
#include "mil/ir.h"

typedef struct conv_lut {
  int bits;  /* 0: none (fp16) */
  int group; /* rows (output channels) per LUT; 0: one LUT per tensor */
} conv_lut;

typedef struct conv_val {
  char name[64];
  mil_dtype dt;
  int rank;
  int64_t shape[6]; /* -1: flexible ('?') */
} conv_val;

/* One argument of an op, written with the CA_* macros below. */
typedef enum conv_arg_kind { CONV_A_VAR, CONV_A_INTS, CONV_A_I32, CONV_A_F16, CONV_A_BOOL, CONV_A_STR, CONV_A_TUPLE } conv_arg_kind;
typedef struct conv_arg conv_arg;
struct conv_arg {
  const char *name;      /* NULL for the items of a tuple */
  conv_arg_kind kind;
  const char *s;         /* VAR: variable name; STR: the string */
  int n;                 /* INTS, TUPLE: number of items */
  const int64_t *ints;   /* INTS: an int32 [n] tensor */
  double x;              /* I32, F16 (rounded to fp16), BOOL */
  const conv_arg *items; /* TUPLE */
};

#define CONV_NARGS(...) (int)(sizeof((const conv_arg[]){__VA_ARGS__}) / sizeof(conv_arg))
/* The argument list of conv_op / conv_emit: a count and an array. */
#define CONV_ARGS(...) CONV_NARGS(__VA_ARGS__), (const conv_arg[]){__VA_ARGS__}
#define CA_VAR(nm, var) ((conv_arg){.name = (nm), .kind = CONV_A_VAR, .s = (var)})
#define CA_INTS(nm, count, v) ((conv_arg){.name = (nm), .kind = CONV_A_INTS, .n = (count), .ints = (v)})
#define CA_I32(nm, v) ((conv_arg){.name = (nm), .kind = CONV_A_I32, .x = (v)})
#define CA_F16(nm, v) ((conv_arg){.name = (nm), .kind = CONV_A_F16, .x = (v)})
#define CA_BOOL(nm, v) ((conv_arg){.name = (nm), .kind = CONV_A_BOOL, .x = (v)})
#define CA_STR(nm, v) ((conv_arg){.name = (nm), .kind = CONV_A_STR, .s = (v)})
#define CA_TUPLE_N(nm, count, its) ((conv_arg){.name = (nm), .kind = CONV_A_TUPLE, .n = (count), .items = (its)})
#define CA_TUPLE(nm, ...) CA_TUPLE_N(nm, CONV_NARGS(__VA_ARGS__), ((const conv_arg[]){__VA_ARGS__}))

/* Anemll's 1x1 conv (after an optional bias argument) and its row gather, as argument lists. */
#define CONV_CONV_ARGS(wt, xv)                                                                                \
  CA_INTS("dilations", 2, ((const int64_t[]){1, 1})), CA_I32("groups", 1),                                    \
      CA_INTS("pad", 4, ((const int64_t[]){0, 0, 0, 0})), CA_STR("pad_type", "valid"),                         \
      CA_INTS("strides", 2, ((const int64_t[]){1, 1})), CA_VAR("weight", wt), CA_VAR("x", xv)
#define CONV_GATHER_ARGS(ind, xv)                                                                             \
  CA_I32("axis", 0), CA_I32("batch_dims", 0), CA_VAR("indices", ind), CA_BOOL("validate_indices", 0), CA_VAR("x", xv)

typedef struct conv_wentry conv_wentry;

typedef struct conv_writer {
  mil_program *prog;
  mil_blob_writer blob;
  int dry_run;       /* no weight file: offsets are computed as if it were written */
  uint64_t dry_pos;
  int seq;
  const conv_st *st;
  conv_wentry *weights;
  int n_weights;
  int verbose;       /* print each LUT tensor's error on stderr */
  double lut_err2, lut_ref2; /* totals over the palettized tensors */
  /* Called with the finished program once dir is complete (model.mil, weights, and metadata.json
   * when the builder wrote it first): other serialisations of the same IR (packages), tests. A
   * non-zero return (with err filled) fails the component. */
  int (*on_program)(const mil_program *prog, const char *dir, void *ctx, mr_error *err);
  void *on_program_ctx;
  int rc;
  mr_error *err;
} conv_writer;

/* Start a bundle directory's writer; the blob goes to dir/weights/weight.bin (none in dry run). */
int conv_w_open(conv_writer *w, const char *dir, const conv_st *st, int dry_run, mr_error *err);
/* Print model.mil from the program, close weight.bin, then call on_program; returns the first
 * error. Always releases w. */
int conv_w_finish(conv_writer *w, const char *dir);
/* conv_w_finish, unless rc (an error of the caller's, e.g. writing metadata.json) says to abort. */
int conv_w_finish_after(conv_writer *w, const char *dir, int rc);
void conv_w_abort(conv_writer *w);

/* Start function `name` (opset ios18); later ops go into its body. */
void conv_w_function(conv_writer *w, const char *name);
/* A parameter of the current function: the tensor v, or with `state` a state<tensor> of it. */
void conv_w_param(conv_writer *w, const conv_val *v, int state);
/* A name after the current function's `->`. */
void conv_w_return(conv_writer *w, const char *name);

/* A new value named hint_N. */
conv_val conv_new(conv_writer *w, const char *hint, mil_dtype dt, int rank, const int64_t *shape);
/* Append `out = op(args)[name = out]`; out NULL: an op without outputs, named `name`. */
void conv_op(conv_writer *w, const conv_val *out, const char *op, int n, const conv_arg *args);
void conv_op_named(conv_writer *w, const char *name, const char *op, int n, const conv_arg *args);
/* New value + op in one call. */
conv_val conv_emit(conv_writer *w, const char *hint, mil_dtype dt, int rank, const int64_t *shape, const char *op,
                   int n, const conv_arg *args);

/* A weight: rows [row0, row0 + rows) of checkpoint tensor `t` (2-D, or 1-D with rows = its length),
 * reshaped to `shape`, stored as fp16 or palettized with `lut` along axis 0. `key` identifies the
 * slice so that a second function gets the same blob. The value's name is derived from key. */
conv_val conv_weight(conv_writer *w, const char *key, const conv_st_tensor *t, int64_t row0, int64_t rows, int rank,
                     const int64_t *shape, conv_lut lut);
/* A constant fp16 tensor computed by the converter (RoPE tables), stored in the blob. */
conv_val conv_const_f16(conv_writer *w, const char *key, const float *data, int rank, const int64_t *shape);

#endif
