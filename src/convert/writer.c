/* writer.c — model.mil text and weight.bin of one converted component (see writer.h). Weights are
 * converted one tensor (or one LM-head part) at a time from the mapped checkpoint straight to fp16
 * or LUT form, so that the converter never holds more than one tensor's fp16 copy. */
#include "convert/writer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "convert/kmeans.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"

#define BLOB_PATH "string(\"@model_path/weights/weight.bin\")"

struct conv_wentry {
  char *key;
  char *expr; /* the right-hand side after the type, shared by every function */
};

int conv_w_open(conv_writer *w, const char *dir, const conv_st *st, int dry_run, mr_error *err) {
  memset(w, 0, sizeof *w);
  w->st = st;
  w->dry_run = dry_run;
  w->dry_pos = 64;
  w->err = err;
  util_sb_puts(&w->text, "program(1.3)\n[buildInfo = dict<string, string>({{\"coremlc-component-MIL\", \"milrun\"}, "
                         "{\"coremltools-source-dialect\", \"milrun convert\"}})]\n{\n");
  if (dry_run) return MR_OK;
  char *wdir = util_path_join(dir, "weights"), *path = util_path_join(dir, "weights/weight.bin");
  int rc = !wdir || !path ? util_err_nomem(err, "convert") : util_mkdirs(wdir, err);
  if (!rc) rc = mil_blob_writer_open(&w->blob, path, err);
  mr_free(wdir);
  mr_free(path);
  if (rc) conv_w_abort(w);
  return rc;
}

static void free_entries(conv_writer *w) {
  for (int i = 0; i < w->n_weights; i++) {
    mr_free(w->weights[i].key);
    mr_free(w->weights[i].expr);
  }
  mr_free(w->weights);
  w->weights = NULL;
  w->n_weights = 0;
}

void conv_w_abort(conv_writer *w) {
  if (w->blob.f) mil_blob_writer_abort(&w->blob);
  util_sb_free(&w->text);
  free_entries(w);
}

int conv_w_finish(conv_writer *w, const char *dir) {
  util_sb_puts(&w->text, "}\n");
  if (!w->rc && util_sb_failed(&w->text)) w->rc = util_err_nomem(w->err, "model.mil");
  if (!w->rc && !w->dry_run) w->rc = mil_blob_writer_close(&w->blob, w->err);
  if (!w->rc) {
    char *path = util_path_join(dir, "model.mil");
    w->rc = path ? util_write_file_atomic(path, w->text.buf, w->text.len, w->err) : util_err_nomem(w->err, "convert");
    mr_free(path);
  }
  int rc = w->rc;
  conv_w_abort(w);
  return rc;
}

static char *ring(conv_writer *w) {
  char *b = w->ring[w->ring_i];
  w->ring_i = (w->ring_i + 1) % 8;
  return b;
}

/* "1, 64"; with `flex`, -1 is a flexible dim '?' */
static size_t list(char *b, size_t size, int n, const int64_t *v, int flex) {
  size_t o = 0;
  for (int i = 0; i < n && o < size; i++) {
    if (flex && v[i] < 0) o += (size_t)snprintf(b + o, size - o, i ? ", ?" : "?");
    else o += (size_t)snprintf(b + o, size - o, i ? ", %lld" : "%lld", (long long)v[i]);
  }
  return o;
}

const char *conv_ints(conv_writer *w, int n, const int64_t *v) {
  char *b = ring(w);
  size_t o = (size_t)snprintf(b, 512, "tensor<int32, [%d]>([", n);
  o += list(b + o, 512 - o, n, v, 0);
  snprintf(b + o, 512 - o, "])");
  return b;
}

const char *conv_type(conv_writer *w, const conv_val *v) {
  char *b = ring(w);
  if (v->rank == 0) {
    snprintf(b, 512, "%s", mil_dtype_name(v->dt));
    return b;
  }
  size_t o = (size_t)snprintf(b, 512, "tensor<%s, [", mil_dtype_name(v->dt));
  o += list(b + o, 512 - o, v->rank, v->shape, 1);
  snprintf(b + o, 512 - o, "]>");
  return b;
}

const char *conv_f16(conv_writer *w, double x) {
  char *b = ring(w);
  float f = util_round_f16((float)x);
  if (f == -1.0f / 0.0f) snprintf(b, 512, "fp16(-inf)");
  else snprintf(b, 512, "fp16(%a)", (double)f);
  return b;
}

void conv_w_printf(conv_writer *w, const char *fmt, ...) {
  if (w->rc) return;
  va_list ap;
  va_start(ap, fmt);
  char buf[4096];
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof buf) w->rc = util_err(w->err, MR_EINTERNAL, "convert: statement too long");
  else util_sb_append(&w->text, buf, (size_t)n);
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

static void vop(conv_writer *w, const conv_val *out, const char *op, const char *fmt, va_list ap) {
  if (w->rc) return;
  char args[4096];
  int n = vsnprintf(args, sizeof args, fmt, ap);
  if (n < 0 || (size_t)n >= sizeof args) {
    w->rc = util_err(w->err, MR_EINTERNAL, "convert: op arguments too long");
    return;
  }
  conv_w_printf(w, "            %s %s = %s(%s)[name = string(\"%s\")];\n", conv_type(w, out), out->name, op, args,
                out->name);
}

void conv_op(conv_writer *w, const conv_val *out, const char *op, const char *args_fmt, ...) {
  va_list ap;
  va_start(ap, args_fmt);
  vop(w, out, op, args_fmt, ap);
  va_end(ap);
}

conv_val conv_emit(conv_writer *w, const char *hint, mil_dtype dt, int rank, const int64_t *shape, const char *op,
                   const char *args_fmt, ...) {
  conv_val v = conv_new(w, hint, dt, rank, shape);
  va_list ap;
  va_start(ap, args_fmt);
  vop(w, &v, op, args_fmt, ap);
  va_end(ap);
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

static void put_entry(conv_writer *w, const char *key, const char *expr) {
  if (w->rc) return;
  conv_wentry *ne = mr_realloc(w->weights, (size_t)(w->n_weights + 1) * sizeof *ne);
  if (!ne) {
    w->rc = util_err_nomem(w->err, "convert");
    return;
  }
  w->weights = ne;
  ne[w->n_weights].key = util_strdup(key);
  ne[w->n_weights].expr = util_strdup(expr);
  if (!ne[w->n_weights].key || !ne[w->n_weights].expr) {
    mr_free(ne[w->n_weights].key);
    mr_free(ne[w->n_weights].expr);
    w->rc = util_err_nomem(w->err, "convert");
    return;
  }
  w->n_weights++;
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
    for (int64_t c = 0; c < cols; c++) h[r * cols + c] = util_f32_to_f16(tmp[c]);
    if ((r + 1) * cols - done * cols >= (1 << 20) || r + 1 == rows) { /* every ~1M elements */
      conv_st_release(w->st, t, (row0 + done) * cols, (r + 1 - done) * cols);
      done = r + 1;
    }
  }
  mr_free(tmp);
  return h;
}

/* Palettize h and store indices and LUT; returns the constexpr expression. */
static void lut_expr(conv_writer *w, const char *key, const uint16_t *h, int64_t rows, int64_t cols, const conv_val *v,
                     conv_lut lut, char *expr, size_t size) {
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
  char vdims[256], ldims[256];
  list(vdims, sizeof vdims, v->rank, v->shape, 1);
  size_t o = (size_t)snprintf(ldims, sizeof ldims, "%lld", (long long)groups);
  for (int d = 1; d < v->rank; d++) o += (size_t)snprintf(ldims + o, sizeof ldims - o, ", 1");
  snprintf(ldims + o, sizeof ldims - o, ", %d, 1", k);
  snprintf(expr, size,
           "constexpr_lut_to_dense(indices = tensor<%s, [%s]>(BLOBFILE(path = " BLOB_PATH ", offset = uint64(%llu))), "
           "lut = tensor<fp16, [%s]>(BLOBFILE(path = " BLOB_PATH ", offset = uint64(%llu))))",
           mil_dtype_name(idt), vdims, (unsigned long long)off_i, ldims, (unsigned long long)off_l);
}

static void emit_weight(conv_writer *w, const conv_val *v, const char *expr) {
  if (!strncmp(expr, "const", 5) && strncmp(expr, "constexpr", 9))
    conv_w_printf(w, "            %s %s = const()[name = string(\"%s\"), val = %s];\n", conv_type(w, v), v->name,
                  v->name, expr + 6);
  else
    conv_w_printf(w, "            %s %s = %s[name = string(\"%s\")];\n", conv_type(w, v), v->name, expr, v->name);
}

static void fp16_expr(conv_writer *w, const uint16_t *h, int64_t count, const conv_val *v, char *expr, size_t size) {
  uint64_t off = add_blob(w, MIL_FP16, h, count);
  /* "const " + the value; emit_weight turns it into const()[val = ...] */
  snprintf(expr, size, "const %s(BLOBFILE(path = " BLOB_PATH ", offset = uint64(%llu)))", conv_type(w, v),
           (unsigned long long)off);
}

/* A weight written before under `key` (the other function of a chunk uses the same one): declare
 * it again from its recorded expression and return 1; 0 when it must be written. */
static int reuse_weight(conv_writer *w, const char *key, const conv_val *v) {
  if (w->rc) return 1;
  const conv_wentry *e = find_entry(w, key);
  if (e) emit_weight(w, v, e->expr);
  return e != NULL;
}

static int64_t element_count(int rank, const int64_t *shape) {
  int64_t count = 1;
  for (int d = 0; d < rank; d++) count *= shape[d];
  return count;
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
  char expr[1024];
  if (use_lut) lut_expr(w, key, h, rows, cols, &v, lut, expr, sizeof expr);
  else fp16_expr(w, h, count, &v, expr, sizeof expr);
  mr_free(h);
  put_entry(w, key, expr);
  emit_weight(w, &v, expr);
  return v;
}

conv_val conv_const_f16(conv_writer *w, const char *key, const float *data, int rank, const int64_t *shape) {
  conv_val v = weight_val(key, rank, shape);
  if (reuse_weight(w, key, &v)) return v;
  int64_t count = element_count(rank, shape);
  uint16_t *h = mr_alloc((size_t)count * 2 + 1);
  if (!h) {
    w->rc = util_err_nomem(w->err, "convert");
    return v;
  }
  for (int64_t i = 0; i < count; i++) h[i] = util_f32_to_f16(data[i]);
  char expr[1024];
  fp16_expr(w, h, count, &v, expr, sizeof expr);
  mr_free(h);
  put_entry(w, key, expr);
  emit_weight(w, &v, expr);
  return v;
}
