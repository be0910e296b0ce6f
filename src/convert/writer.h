/* writer.h — emitting one component's model.mil in Apple's program(1.3) spelling together with its
 * weights/weight.bin. Builders describe each value (dtype and shape) and op; the writer names the
 * values, prints the statements, streams weights out of the checkpoint into the blob file (fp16 or
 * LUT-palettized) and shares a weight between the functions of a bundle. Errors are sticky: after
 * the first failure every call does nothing and conv_w_finish reports it. */
#ifndef CONVERT_WRITER_H
#define CONVERT_WRITER_H

#include <stdint.h>

#include "convert/safetensors.h"
#include "mil/blob_writer.h"
#include "mil/ir.h"
#include "util/strbuf.h"

typedef struct conv_lut {
  int bits;  /* 0: none (fp16) */
  int group; /* rows (output channels) per LUT; 0: one LUT per tensor */
} conv_lut;

typedef struct conv_val {
  char name[64];
  mil_dtype dt;
  int rank;
  int64_t shape[6];
} conv_val;

typedef struct conv_wentry conv_wentry;

typedef struct conv_writer {
  util_sb text;
  mil_blob_writer blob;
  int dry_run;       /* no weight file: offsets are computed as if it were written */
  uint64_t dry_pos;
  int seq;
  const conv_st *st;
  conv_wentry *weights;
  int n_weights;
  int verbose;       /* print each LUT tensor's error on stderr */
  double lut_err2, lut_ref2; /* totals over the palettized tensors */
  int rc;
  mr_error *err;
  char ring[8][512];
  int ring_i;
} conv_writer;

/* Start a bundle directory's writer; the blob goes to dir/weights/weight.bin (none in dry run). */
int conv_w_open(conv_writer *w, const char *dir, const conv_st *st, int dry_run, mr_error *err);
/* Write model.mil and close weight.bin; returns the first error. Always releases w. */
int conv_w_finish(conv_writer *w, const char *dir);
void conv_w_abort(conv_writer *w);

/* Text helpers returning strings from a small ring (valid for the next few calls). */
const char *conv_ints(conv_writer *w, int n, const int64_t *v);   /* tensor<int32, [n]>([..]) */
const char *conv_type(conv_writer *w, const conv_val *v);          /* tensor<fp16, [1, 2]> */
const char *conv_f16(conv_writer *w, double x);                    /* fp16(0x1p+0) */

/* Print raw text (function headers). */
void conv_w_printf(conv_writer *w, const char *fmt, ...) MR_PRINTF(2, 3);

/* A new value named hint_N. */
conv_val conv_new(conv_writer *w, const char *hint, mil_dtype dt, int rank, const int64_t *shape);
/* Emit `out = op(args)[name = ...]`. */
void conv_op(conv_writer *w, const conv_val *out, const char *op, const char *args_fmt, ...) MR_PRINTF(4, 5);
/* New value + op in one call. */
conv_val conv_emit(conv_writer *w, const char *hint, mil_dtype dt, int rank, const int64_t *shape, const char *op,
                   const char *args_fmt, ...) MR_PRINTF(7, 8);

/* A weight: rows [row0, row0 + rows) of checkpoint tensor `t` (2-D, or 1-D with rows = its length),
 * reshaped to `shape`, stored as fp16 or palettized with `lut` along axis 0. `key` identifies the
 * slice so that a second function gets the same blob. The value's name is derived from key. */
conv_val conv_weight(conv_writer *w, const char *key, const conv_st_tensor *t, int64_t row0, int64_t rows, int rank,
                     const int64_t *shape, conv_lut lut);
/* A constant fp16 tensor computed by the converter (RoPE tables), stored in the blob. */
conv_val conv_const_f16(conv_writer *w, const char *key, const float *data, int rank, const int64_t *shape);

#endif
