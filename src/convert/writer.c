/* writer.c — the IR program and weight.bin of one converted component (see writer.h). Weights are
 * converted one tensor (or one LM-head part) at a time from the mapped checkpoint straight to fp16
 * or LUT form, so that the converter never holds more than one tensor's fp16 copy. */
#include "convert/writer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convert/kmeans.h"
#include "mil/build.h"
#include "mil/print.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"

#define BLOB_PATH "@model_path/weights/weight.bin"

/* A weight written once and declared again by every function that uses it. */
struct conv_wentry {
  char *key;
  mil_value *data; /* fp16 blob (const) or the LUT indices (constexpr_lut_to_dense) */
  mil_value *lut;  /* NULL for fp16 */
};

/* Sticky out-of-memory: returns 1 (and records the error once) when ok is 0. */
static int nomem(conv_writer *w, int ok) {
  if (!ok && !w->rc) w->rc = util_err_nomem(w->err, "convert");
  return !ok;
}

static int build_program(conv_writer *w) {
  mil_program *p = w->prog = mil_program_new("model.mil");
  if (nomem(w, p != NULL) || nomem(w, mil_set_version(p, "1.3") == 0)) return w->rc;
  static const char *const info[4] = {"coremlc-component-MIL", "milrun", "coremltools-source-dialect", "milrun convert"};
  mil_type *str = mil_type_new_tensor(&p->arena, MIL_STRING, 0, NULL);
  mil_value *items[4];
  for (int i = 0; i < 4; i++) items[i] = mil_value_string(p, info[i]);
  mil_value *dict = mil_value_composite(p, mil_type_dict(p, str, str), items, 4);
  mil_arg *a = dict ? mil_add_arg(p, &p->attrs, &p->n_attrs, "buildInfo", 1) : NULL;
  nomem(w, a && mil_bind_value(p, a, dict) == 0);
  return w->rc;
}

int conv_w_open(conv_writer *w, const char *dir, const conv_st *st, int dry_run, mr_error *err) {
  memset(w, 0, sizeof *w);
  w->st = st;
  w->dry_run = dry_run;
  w->dry_pos = 64;
  w->err = err;
  int rc = build_program(w);
  if (rc || dry_run) {
    if (rc) conv_w_abort(w);
    return rc;
  }
  char *wdir = util_path_join(dir, "weights"), *path = util_path_join(dir, "weights/weight.bin");
  rc = !wdir || !path ? util_err_nomem(err, "convert") : util_mkdirs(wdir, err);
  if (!rc) rc = mil_blob_writer_open(&w->blob, path, err);
  mr_free(wdir);
  mr_free(path);
  if (rc) conv_w_abort(w);
  return rc;
}

static void free_entries(conv_writer *w) {
  for (int i = 0; i < w->n_weights; i++) mr_free(w->weights[i].key);
  mr_free(w->weights);
  w->weights = NULL;
  w->n_weights = 0;
}

int conv_w_finish_after(conv_writer *w, const char *dir, int rc) {
  if (rc && !w->rc) w->rc = rc;
  return conv_w_finish(w, dir);
}

void conv_w_abort(conv_writer *w) {
  if (w->blob.f) mil_blob_writer_abort(&w->blob);
  mil_program_free(w->prog);
  w->prog = NULL;
  free_entries(w);
}

int conv_w_finish(conv_writer *w, const char *dir) {
  util_sb text = {0};
  if (!w->rc) mil_print(w->prog, &text);
  if (!w->rc && util_sb_failed(&text)) w->rc = util_err_nomem(w->err, "model.mil");
  if (!w->rc && !w->dry_run) w->rc = mil_blob_writer_close(&w->blob, w->err);
  if (!w->rc) {
    char *path = util_path_join(dir, "model.mil");
    w->rc = path ? util_write_file_atomic(path, text.buf, text.len, w->err) : util_err_nomem(w->err, "convert");
    mr_free(path);
  }
  util_sb_free(&text);
  if (!w->rc && w->on_program) w->rc = w->on_program(w->prog, dir, w->on_program_ctx, w->err);
  int rc = w->rc;
  conv_w_abort(w);
  return rc;
}

/* The function being built (the last one). */
static mil_function *current(conv_writer *w) { return &w->prog->funcs[w->prog->n_funcs - 1]; }

void conv_w_function(conv_writer *w, const char *name) {
  if (!w->rc) nomem(w, mil_add_function(w->prog, name, "ios18") != NULL);
}

static mil_type *val_type(conv_writer *w, const conv_val *v) {
  return mil_type_new_tensor(&w->prog->arena, v->dt, v->rank, v->shape);
}

void conv_w_param(conv_writer *w, const conv_val *v, int state) {
  if (w->rc) return;
  mil_type *t = val_type(w, v);
  if (state) t = mil_type_state(w->prog, t);
  nomem(w, t && mil_add_param(w->prog, current(w), v->name, t));
}

void conv_w_return(conv_writer *w, const char *name) {
  if (!w->rc) nomem(w, mil_add_block_output(w->prog, &current(w)->body, name) == 0);
}

conv_val conv_new(conv_writer *w, const char *hint, mil_dtype dt, int rank, const int64_t *shape) {
  conv_val v;
  memset(&v, 0, sizeof v);
  snprintf(v.name, sizeof v.name, "%s_%d", hint, w->seq++);
  v.dt = dt;
  v.rank = rank;
  for (int i = 0; i < rank; i++) v.shape[i] = shape[i];
  return v;
}

/* The IR value of a literal argument. */
static mil_value *arg_value(conv_writer *w, const conv_arg *a) {
  mil_program *p = w->prog;
  switch (a->kind) {
  case CONV_A_INTS: return mil_value_ints(p, a->n, a->ints);
  case CONV_A_I32: return mil_value_scalar(p, MIL_INT32, a->x);
  case CONV_A_F16: return mil_value_scalar(p, MIL_FP16, util_round_f16((float)a->x));
  case CONV_A_BOOL: return mil_value_scalar(p, MIL_BOOL, a->x != 0);
  case CONV_A_STR: return mil_value_string(p, a->s);
  default: return NULL;
  }
}

static int bind(conv_writer *w, mil_arg *m, const conv_arg *a) {
  if (a->kind == CONV_A_VAR) return mil_bind_var(w->prog, m, a->s);
  return mil_bind_value(w->prog, m, arg_value(w, a));
}

static int add_args(conv_writer *w, mil_op *op, int n, const conv_arg *args) {
  for (int i = 0; i < n; i++) {
    const conv_arg *a = &args[i];
    mil_arg *m = mil_add_arg(w->prog, &op->args, &op->n_args, a->name, 0);
    if (!m) return -1;
    m->is_tuple = a->kind == CONV_A_TUPLE;
    if (!m->is_tuple && bind(w, m, a)) return -1;
    for (int k = 0; m->is_tuple && k < a->n; k++)
      if (bind(w, m, &a->items[k])) return -1;
  }
  return 0;
}

/* Append `[out =] type(args)[name = name]`; the op, or NULL after an error. */
static mil_op *append_op(conv_writer *w, const conv_val *out, const char *name, const char *type, int n, const conv_arg *args) {
  if (w->rc) return NULL;
  mil_op *op = mil_add_op(w->prog, &current(w)->body, type);
  int ok = op && add_args(w, op, n, args) == 0;
  if (ok && out) {
    mil_type *t = val_type(w, out);
    ok = t && mil_add_output(w->prog, op, out->name, t);
  }
  ok = ok && mil_op_set_name(w->prog, op, out ? out->name : name) == 0;
  return nomem(w, ok) ? NULL : op;
}

void conv_op(conv_writer *w, const conv_val *out, const char *op, int n, const conv_arg *args) {
  append_op(w, out, NULL, op, n, args);
}

void conv_op_named(conv_writer *w, const char *name, const char *op, int n, const conv_arg *args) {
  append_op(w, NULL, name, op, n, args);
}

conv_val conv_emit(conv_writer *w, const char *hint, mil_dtype dt, int rank, const int64_t *shape, const char *op,
                   int n, const conv_arg *args) {
  conv_val v = conv_new(w, hint, dt, rank, shape);
  conv_op(w, &v, op, n, args);
  return v;
}

/* Append a blob (or account for it in a dry run); returns its offset. */
static uint64_t add_blob(conv_writer *w, mil_dtype dt, const void *data, int64_t count) {
  uint64_t off = 0;
  if (w->rc) return 0;
  if (w->dry_run) {
    w->dry_pos = (w->dry_pos + 63) / 64 * 64;
    off = w->dry_pos;
    w->dry_pos += 64 + ((uint64_t)count * (uint64_t)mil_dtype_bits(dt) + 7) / 8;
    return off;
  }
  w->rc = mil_blob_writer_add(&w->blob, dt, data, count, &off, w->err);
  return off;
}

static const conv_wentry *find_entry(const conv_writer *w, const char *key) {
  for (int i = 0; i < w->n_weights; i++)
    if (!strcmp(w->weights[i].key, key)) return &w->weights[i];
  return NULL;
}

static void put_entry(conv_writer *w, const char *key, mil_value *data, mil_value *lut) {
  if (w->rc) return;
  conv_wentry *ne = mr_realloc(w->weights, (size_t)(w->n_weights + 1) * sizeof *ne);
  if (nomem(w, ne != NULL)) return;
  w->weights = ne;
  ne[w->n_weights] = (conv_wentry){util_strdup(key), data, lut};
  if (!nomem(w, ne[w->n_weights].key != NULL)) w->n_weights++;
}

static conv_val weight_val(const char *key, int rank, const int64_t *shape) {
  conv_val v;
  memset(&v, 0, sizeof v);
  size_t i = 0;
  for (; key[i] && i + 1 < sizeof v.name; i++) v.name[i] = (key[i] == '.' || key[i] == '-') ? '_' : key[i];
  v.name[i] = 0;
  v.dt = MIL_FP16;
  v.rank = rank;
  for (int d = 0; d < rank; d++) v.shape[d] = shape[d];
  return v;
}

/* The fp16 bits of rows [row0, row0 + rows) of t. */
static uint16_t *read_rows_f16(conv_writer *w, const conv_st_tensor *t, int64_t row0, int64_t rows, int64_t cols) {
  uint16_t *h = mr_alloc((size_t)(rows * cols) * 2 + 1);
  float *tmp = mr_alloc((size_t)cols * 4 + 4);
  if (!h || !tmp) {
    mr_free(h);
    mr_free(tmp);
    w->rc = util_err_nomem(w->err, "convert weights");
    return NULL;
  }
  int64_t done = 0; /* rows whose mapped pages were already dropped */
  for (int64_t r = 0; r < rows; r++) {
    conv_st_read_f32(t, (row0 + r) * cols, cols, tmp);
    util_f32_to_f16_array(tmp, h + r * cols, cols);
    if ((r + 1) * cols - done * cols >= (1 << 20) || r + 1 == rows) { /* every ~1M elements */
      conv_st_release(w->st, t, (row0 + done) * cols, (r + 1 - done) * cols);
      done = r + 1;
    }
  }
  mr_free(tmp);
  return h;
}

/* A tensor<dt, [dims]> stored in the blob at offset. */
static mil_value *blob_value(conv_writer *w, mil_dtype dt, int rank, const int64_t *dims, uint64_t offset) {
  mil_type *t = mil_type_new_tensor(&w->prog->arena, dt, rank, dims);
  mil_value *v = t ? mil_value_blob(w->prog, t, BLOB_PATH, offset) : NULL;
  nomem(w, v != NULL);
  return v;
}

/* Palettize h and store indices and LUT: the entry's indices and lut values. */
static void lut_values(conv_writer *w, const char *key, const uint16_t *h, int64_t rows, int64_t cols, const conv_val *v,
                       conv_lut lut, conv_wentry *e) {
  int k = 1 << lut.bits;
  int64_t groups = lut.group ? rows / lut.group : 1;
  uint64_t off_i = 0, off_l = 0;
  mil_dtype idt = lut.bits == 8 ? MIL_UINT8 : lut.bits == 6 ? MIL_UINT6 : lut.bits == 4 ? MIL_UINT4
                : lut.bits == 3 ? MIL_UINT3 : lut.bits == 2 ? MIL_UINT2 : MIL_UINT1;
  if (w->dry_run) {
    off_i = add_blob(w, idt, NULL, rows * cols);
    off_l = add_blob(w, MIL_FP16, NULL, groups * k);
  } else {
    uint16_t *lv = mr_alloc((size_t)(groups * k) * 2);
    uint8_t *idx = mr_alloc((size_t)(rows * cols));
    uint8_t *packed = mr_alloc((size_t)((rows * cols * lut.bits + 7) / 8) + 1);
    double e2 = 0, r2 = 0;
    if (!lv || !idx || !packed) w->rc = util_err_nomem(w->err, "convert LUT");
    if (!w->rc) w->rc = conv_kmeans_palettize(h, rows, cols, lut.bits, lut.group, lv, idx, &e2, &r2, w->err);
    if (!w->rc) {
      mil_bits_pack(idx, rows * cols, lut.bits, packed);
      off_i = add_blob(w, idt, packed, rows * cols);
      off_l = add_blob(w, MIL_FP16, lv, groups * k);
      w->lut_err2 += e2;
      w->lut_ref2 += r2;
      if (w->verbose)
        fprintf(stderr, "  LUT%d %-48s rel. error %.3e\n", lut.bits, key, r2 > 0 ? sqrt(e2 / r2) : 0.0);
    }
    mr_free(lv);
    mr_free(idx);
    mr_free(packed);
  }
  /* lut: [groups, 1, ..., 1, k, 1] (one palette per group of rows, fp16 scalars) */
  int64_t ldims[8] = {groups};
  for (int d = 1; d < v->rank; d++) ldims[d] = 1;
  ldims[v->rank] = k;
  ldims[v->rank + 1] = 1;
  e->data = blob_value(w, idt, v->rank, v->shape, off_i);
  e->lut = blob_value(w, MIL_FP16, v->rank + 2, ldims, off_l);
}

/* Declare the weight v: const (fp16 blob) or constexpr_lut_to_dense (indices, lut). */
static void emit_weight(conv_writer *w, const conv_val *v, const conv_wentry *e) {
  if (w->rc) return;
  mil_program *p = w->prog;
  mil_op *op = mil_add_op(p, &current(w)->body, e->lut ? "constexpr_lut_to_dense" : "const");
  mil_type *t = val_type(w, v);
  int ok = op && t && mil_add_output(p, op, v->name, t);
  if (ok && e->lut) {
    ok = !mil_op_arg_value(p, op, "indices", e->data) && !mil_op_arg_value(p, op, "lut", e->lut) && !mil_op_set_name(p, op, v->name);
  } else if (ok) {
    mil_arg *val = mil_op_set_name(p, op, v->name) ? NULL : mil_add_arg(p, &op->args, &op->n_args, "val", 1);
    ok = val && !mil_bind_value(p, val, e->data);
  }
  nomem(w, ok);
}

/* A weight written before under `key` (the other function of a chunk uses the same one): declare
 * it again and return 1; 0 when it must be written. */
static int reuse_weight(conv_writer *w, const char *key, const conv_val *v) {
  if (w->rc) return 1;
  const conv_wentry *e = find_entry(w, key);
  if (e) emit_weight(w, v, e);
  return e != NULL;
}

static int64_t element_count(int rank, const int64_t *shape) {
  int64_t count = 1;
  for (int d = 0; d < rank; d++) count *= shape[d];
  return count;
}

/* Store fp16 data (NULL in a dry run) as a new weight `key` and declare it. */
static void new_weight(conv_writer *w, const char *key, const conv_val *v, conv_wentry *e) {
  put_entry(w, key, e->data, e->lut);
  if (!w->rc) emit_weight(w, v, e);
}

conv_val conv_weight(conv_writer *w, const char *key, const conv_st_tensor *t, int64_t row0, int64_t rows, int rank,
                     const int64_t *shape, conv_lut lut) {
  conv_val v = weight_val(key, rank, shape);
  if (reuse_weight(w, key, &v)) return v;
  int64_t count = element_count(rank, shape);
  int64_t cols = count / rows;
  int use_lut = lut.bits > 0 && count > 2048 && (lut.group == 0 || rows % lut.group == 0);
  uint16_t *h = NULL;
  if (!w->dry_run) {
    h = read_rows_f16(w, t, row0, rows, cols);
    if (!h) return v;
  }
  conv_wentry e = {0};
  if (use_lut) lut_values(w, key, h, rows, cols, &v, lut, &e);
  else e.data = blob_value(w, MIL_FP16, rank, shape, add_blob(w, MIL_FP16, h, count));
  mr_free(h);
  new_weight(w, key, &v, &e);
  return v;
}

conv_val conv_const_f16(conv_writer *w, const char *key, const float *data, int rank, const int64_t *shape) {
  conv_val v = weight_val(key, rank, shape);
  if (reuse_weight(w, key, &v)) return v;
  int64_t count = element_count(rank, shape);
  uint16_t *h = mr_alloc((size_t)count * 2 + 1);
  if (nomem(w, h != NULL)) return v;
  util_f32_to_f16_array(data, h, count);
  conv_wentry e = {0};
  e.data = blob_value(w, MIL_FP16, rank, shape, add_blob(w, MIL_FP16, h, count));
  mr_free(h);
  new_weight(w, key, &v, &e);
  return v;
}
