/* param.c — the helpers every op uses in plan() and run(): errors that name the op, reading const
 * params with their defaults, axes, broadcasting, and setting the output shape against the one
 * declared in model.mil. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exec/kernels/kernels.h"
#include "exec/ops/ops.h"
#include "util/error.h"
#include "util/fp16.h"

/* The op's `name` attribute (a string literal), for ops that have no outputs to name them by.
 * Looked up here rather than through mil_op_name so that exec tests need no parser. */
static const char *op_name_attr(const mil_op *op) {
  for (int i = 0; i < op->n_args; i++) {
    const mil_arg *a = &op->args[i];
    if (strcmp(a->name, "name") != 0 || a->n_items != 1 || !a->items[0].value) continue;
    const mil_value *v = a->items[0].value;
    if (v->kind == MIL_VALUE_TENSOR && v->strs && v->count == 1) return v->strs[0];
  }
  return NULL;
}

int exec_node_err(const exec_node *n, mr_error *err, int code, const char *fmt, ...) {
  char msg[MR_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const mil_op *op = n->op;
  const char *type = op ? op->type : n->def ? n->def->name : "?";
  const char *name = !op ? NULL : op->n_outputs > 0 ? op->outputs[0].name : op_name_attr(op);
  char where[512] = "";
  if (op) snprintf(where, sizeof where, "%s:%d:%d: ", n->filename ? n->filename : "model.mil", op->line, op->col);
  if (name) return util_err(err, code, "%sop '%s' (%s): %s", where, type, name, msg);
  return util_err(err, code, "%sop '%s': %s", where, type, msg);
}

const char *exec_dtype_name(mil_dtype t) {
  /* Same spelling as model.mil; kept here so that op errors need nothing from the parser. */
  static const char *const names[MIL_DTYPE_COUNT] = {
      "bool", "string", "fp16", "fp32", "fp64", "bf16", "int4", "int8", "int16", "int32", "int64",
      "uint1", "uint2", "uint3", "uint4", "uint6", "uint8", "uint16", "uint32", "uint64",
      "fp8e4m3fn", "fp8e5m2"};
  return (unsigned)t < MIL_DTYPE_COUNT ? names[t] : "?";
}

static const char *storage_name(exec_storage s) {
  switch (s) {
  case EXEC_F32: return "float";
  case EXEC_I32: return "int";
  case EXEC_U8: return "bool";
  case EXEC_STR: return "string";
  default: return "packed";
  }
}

/* A const scalar param of storage `want` (F32 also accepts I32 values), or NULL after an error. */
static const exec_tensor *const_scalar(const exec_node *n, int i, exec_storage want, const char *kind,
                                       mr_error *err) {
  const exec_tensor *t = exec_in(n, i);
  const char *pname = n->def->params[i];
  if (!t->is_const) {
    exec_node_err(n, err, MR_ENOTSUP, "parameter '%s' must be a constant", pname);
    return NULL;
  }
  int ok = t->storage == want || (want == EXEC_F32 && t->storage == EXEC_I32);
  if (!ok || t->count != 1 || (want == EXEC_STR && !t->str)) {
    char buf[96];
    exec_node_err(n, err, MR_ESHAPE, "parameter '%s' must be %s scalar, got %s %s", pname, kind,
                  storage_name(t->storage), exec_shape_str(t->rank, t->shape, buf, sizeof buf));
    return NULL;
  }
  return t;
}

int exec_param_int(const exec_node *n, int i, int64_t dflt, int64_t *out, mr_error *err) {
  if (!exec_in(n, i)) return *out = dflt, MR_OK;
  const exec_tensor *t = const_scalar(n, i, EXEC_I32, "an int", err);
  if (!t) return err->code;
  *out = exec_i32(t)[0];
  return MR_OK;
}

int exec_param_float(const exec_node *n, int i, double dflt, double *out, mr_error *err) {
  if (!exec_in(n, i)) return *out = dflt, MR_OK;
  const exec_tensor *t = const_scalar(n, i, EXEC_F32, "a float", err);
  if (!t) return err->code;
  *out = t->storage == EXEC_F32 ? exec_f32(t)[0] : exec_i32(t)[0];
  return MR_OK;
}

int exec_param_bool(const exec_node *n, int i, int dflt, int *out, mr_error *err) {
  if (!exec_in(n, i)) return *out = dflt, MR_OK;
  const exec_tensor *t = const_scalar(n, i, EXEC_U8, "a bool", err);
  if (!t) return err->code;
  *out = exec_u8(t)[0] != 0;
  return MR_OK;
}

int exec_param_str(const exec_node *n, int i, const char *dflt, const char **out, mr_error *err) {
  if (!exec_in(n, i)) return *out = dflt, MR_OK;
  const exec_tensor *t = const_scalar(n, i, EXEC_STR, "a string", err);
  if (!t) return err->code;
  *out = t->str;
  return MR_OK;
}

int exec_param_ints(const exec_node *n, int i, int64_t *out, int max, int *count, mr_error *err) {
  const exec_tensor *t = exec_in(n, i);
  const char *pname = n->def->params[i];
  if (!t) return *count = -1, MR_OK;
  if (!t->is_const) return exec_node_err(n, err, MR_ENOTSUP, "parameter '%s' must be a constant", pname);
  if (t->storage != EXEC_I32) {
    char buf[96];
    return exec_node_err(n, err, MR_ESHAPE, "parameter '%s' must be an int tensor, got %s %s", pname,
                         storage_name(t->storage), exec_shape_str(t->rank, t->shape, buf, sizeof buf));
  }
  if (t->count > max)
    return exec_node_err(n, err, MR_ESHAPE, "parameter '%s' has %lld values, at most %d allowed", pname,
                         (long long)t->count, max);
  *count = exec_read_ints(t, out, max);
  return MR_OK;
}

int exec_axis(const exec_node *n, int64_t axis, int rank, int *out, mr_error *err) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return exec_node_err(n, err, MR_ESHAPE, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)a;
  return MR_OK;
}

void exec_broadcast_strides(const exec_tensor *t, int ro, const int64_t *oshape, int64_t *st) {
  int64_t s = 1;
  for (int i = ro - 1; i >= 0; i--) {
    int j = i - (ro - t->rank);
    int64_t d = j >= 0 ? t->shape[j] : 1;
    st[i] = (d == 1 && oshape[i] != 1) ? 0 : s;
    s *= d;
  }
}

int exec_broadcast(const exec_node *n, int ra, const int64_t *a, int rb, const int64_t *b, int *rout,
                   int64_t *out, mr_error *err) {
  int r = ra > rb ? ra : rb;
  int64_t tmp[MR_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - ra), ib = i - (r - rb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[128], sb[128];
      return exec_node_err(n, err, MR_ESHAPE, "shapes %s and %s cannot be broadcast together",
                           exec_shape_str(ra, a, sa, sizeof sa), exec_shape_str(rb, b, sb, sizeof sb));
    }
    tmp[i] = da == 1 ? db : da;
  }
  memcpy(out, tmp, (size_t)r * sizeof *out);
  *rout = r;
  return MR_OK;
}

int exec_set_out_shape(const exec_node *n, int i, int rank, const int64_t *shape, mr_error *err) {
  exec_tensor *o = n->out[i];
  int ok = o->rank == rank;
  int64_t merged[MR_MAX_RANK];
  for (int d = 0; ok && d < rank; d++) {
    if (o->shape[d] >= 0 && o->shape[d] != shape[d]) ok = 0;
    merged[d] = shape[d];
  }
  if (!ok) {
    char sd[128], sc[128];
    return exec_node_err(n, err, MR_ESHAPE, "output %d is declared %s but the inputs give %s", i,
                         exec_shape_str(o->rank, o->shape, sd, sizeof sd),
                         exec_shape_str(rank, shape, sc, sizeof sc));
  }
  if (exec_tensor_set_shape(o, rank, merged) != 0)
    return exec_node_err(n, err, MR_ESHAPE, "output %d is too large", i);
  return MR_OK;
}

int exec_check_run_shape(const exec_node *n, int i, int rank, const int64_t *shape, mr_error *err) {
  const exec_tensor *o = n->out[i];
  if (exec_shape_equal(o, rank, shape)) return MR_OK;
  char sa[128], sc[128];
  return exec_node_err(n, err, MR_ESHAPE, "run-time shape %s differs from the planned output shape %s",
                       exec_shape_str(rank, shape, sc, sizeof sc),
                       exec_shape_str(o->rank, o->shape, sa, sizeof sa));
}

int exec_err_storage(const exec_node *n, mr_error *err, const char *what, const exec_tensor *t) {
  return exec_node_err(n, err, MR_ESHAPE, "%s has unsupported dtype %s", what, exec_dtype_name(t->dtype));
}

int exec_need(const exec_node *n, int i, mr_error *err) {
  if (exec_in(n, i)) return MR_OK;
  return exec_node_err(n, err, MR_EINVAL, "missing required parameter '%s'", n->def->params[i]);
}

int exec_same_storage(const exec_node *n, int i, const exec_tensor *t, mr_error *err) {
  if (n->out[i]->storage == t->storage) return MR_OK;
  return exec_node_err(n, err, MR_ESHAPE, "output %d is declared %s but the input is %s", i,
                       exec_dtype_name(n->out[i]->dtype), exec_dtype_name(t->dtype));
}

void exec_strides(int rank, const int64_t *shape, int64_t *strides) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
}

/* One row of a strided copy: n elements from s (stride si) to d (stride di). */
typedef void (*copy_row_fn)(size_t esize, int64_t n, const char *s, int64_t si, char *d, int64_t di);

static void copy_row(size_t esize, int64_t n, const char *s, int64_t si, char *d, int64_t di) {
  if (si == 1 && di == 1) memcpy(d, s, (size_t)n * esize);
  else if (esize == 4)
    for (int64_t k = 0; k < n; k++) memcpy(d + k * di * 4, s + k * si * 4, 4);
  else if (esize == 2)
    for (int64_t k = 0; k < n; k++) memcpy(d + k * di * 2, s + k * si * 2, 2);
  else
    for (int64_t k = 0; k < n; k++) d[k * di] = s[k * si];
}

static void row_f16_to_f32(size_t esize, int64_t n, const char *s, int64_t si, char *d, int64_t di) {
  (void)esize;
  for (int64_t k = 0; k < n; k++) {
    uint16_t h;
    memcpy(&h, s + k * si * 2, 2);
    float f = util_f16_to_f32(h);
    memcpy(d + k * di * 4, &f, 4);
  }
}

static void row_f32_to_f16(size_t esize, int64_t n, const char *s, int64_t si, char *d, int64_t di) {
  (void)esize;
  if (si == 1 && di == 1) { /* a KV-cache write: the SIMD conversion */
    exec_kernels()->f16_encode((const float *)(const void *)s, n, (uint8_t *)d);
    return;
  }
  for (int64_t k = 0; k < n; k++) {
    float f;
    memcpy(&f, s + k * si * 4, 4);
    uint16_t h = util_f32_to_f16(f);
    memcpy(d + k * di * 2, &h, 2);
  }
}

/* The odometer over the outer dims; row() moves the innermost one. Offsets are in elements of the
 * source (ssize bytes) and of the destination (dsize bytes). */
static void copy_rows(copy_row_fn row, size_t ssize, size_t dsize, int rank, const int64_t *shape, const void *src,
                      const int64_t *sstr, void *dst, const int64_t *dstr) {
  int64_t total = 1;
  for (int i = 0; i < rank; i++) total *= shape[i];
  if (total == 0) return;
  if (rank == 0) {
    row(ssize, 1, src, 1, dst, 1);
    return;
  }
  int64_t c[2 * MR_MAX_RANK] = {0}, inner = shape[rank - 1], so = 0, doff = 0;
  const char *s = src;
  char *d = dst;
  for (int64_t done = 0; done < total; done += inner) {
    row(ssize, inner, s + so * (int64_t)ssize, sstr[rank - 1], d + doff * (int64_t)dsize, dstr[rank - 1]);
    for (int j = rank - 2; j >= 0; j--) {
      so += sstr[j], doff += dstr[j];
      if (++c[j] < shape[j]) break;
      so -= sstr[j] * shape[j], doff -= dstr[j] * shape[j];
      c[j] = 0;
    }
  }
}

void exec_copy_strided(size_t esize, int rank, const int64_t *shape, const void *src,
                       const int64_t *sstr, void *dst, const int64_t *dstr) {
  copy_rows(copy_row, esize, esize, rank, shape, src, sstr, dst, dstr);
}

void exec_copy_strided_as(exec_storage from, exec_storage to, int rank, const int64_t *shape, const void *src,
                          const int64_t *sstr, void *dst, const int64_t *dstr) {
  copy_row_fn row = from == to ? copy_row : from == EXEC_F16 ? row_f16_to_f32 : row_f32_to_f16;
  copy_rows(row, exec_storage_size(from), exec_storage_size(to), rank, shape, src, sstr, dst, dstr);
}

/* exec_copy_strided_as split between threads along the first dim longer than 1. */
typedef struct par_copy {
  exec_storage from, to;
  int rank, d;
  const int64_t *shape, *sstr, *dstr;
  const char *src;
  char *dst;
} par_copy;

static void par_copy_part(const exec_node *n, void *ctx, int ith, int nth) {
  const par_copy *c = ctx;
  int64_t lo, hi, shape[2 * MR_MAX_RANK];
  (void)n;
  exec_split(c->shape[c->d], 1, ith, nth, &lo, &hi);
  if (lo >= hi) return;
  memcpy(shape, c->shape, sizeof(int64_t) * (size_t)c->rank);
  shape[c->d] = hi - lo;
  exec_copy_strided_as(c->from, c->to, c->rank, shape, c->src + lo * c->sstr[c->d] * (int64_t)exec_storage_size(c->from),
                       c->sstr, c->dst + lo * c->dstr[c->d] * (int64_t)exec_storage_size(c->to), c->dstr);
}

void exec_copy_strided_par(const exec_node *n, exec_storage from, exec_storage to, int rank, const int64_t *shape,
                           const void *src, const int64_t *sstr, void *dst, const int64_t *dstr) {
  int64_t total = 1;
  int d = 0;
  for (int i = 0; i < rank; i++) total *= shape[i];
  while (d < rank - 1 && shape[d] == 1) d++;
  par_copy c = {from, to, rank, d, shape, sstr, dstr, src, dst};
  if (rank == 0 || total < 4096) { /* not worth waking the pool */
    exec_copy_strided_as(from, to, rank, shape, src, sstr, dst, dstr);
    return;
  }
  exec_parallel(n, 4 * total, par_copy_part, &c); /* work: a strided element ~ a few multiply-adds */
}

double exec_get(const exec_tensor *t, int64_t i) {
  switch (t->storage) {
  case EXEC_F32: return exec_f32(t)[i];
  case EXEC_I32: return exec_i32(t)[i];
  case EXEC_U8: return exec_u8(t)[i];
  default: return 0;
  }
}

/* Truncate toward zero and wrap into int32 the way a two's-complement cast does (NaN -> 0). */
static int32_t wrap_i32(double v) {
  if (!isfinite(v)) return 0; /* NaN and inf have no integer value */
  double t = v < 0 ? -floor(-v) : floor(v);
  double m = fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  uint32_t u = (uint32_t)m;
  int32_t r;
  memcpy(&r, &u, 4);
  return r;
}

void exec_put(exec_tensor *t, int64_t i, double v) {
  switch (t->storage) {
  case EXEC_F32: exec_f32(t)[i] = (float)v; break;
  case EXEC_I32: exec_i32(t)[i] = wrap_i32(v); break;
  case EXEC_U8: exec_u8(t)[i] = v != 0; break;
  default: break;
  }
}

int exec_read_ints(const exec_tensor *t, int64_t *out, int max) {
  if (t->count > max || (t->storage != EXEC_I32 && t->storage != EXEC_U8)) return -1;
  for (int64_t k = 0; k < t->count; k++) out[k] = (int64_t)exec_get(t, k);
  return (int)t->count;
}

void *exec_priv(exec_node *n, size_t size, mr_error *err) {
  void *p = util_arena_alloc(n->arena, size);
  if (!p) exec_node_err(n, err, MR_ENOMEM, "out of memory for plan data");
  n->priv = p;
  return p;
}

int exec_keep_declared(const exec_node *n, int i, mr_error *err) {
  const exec_tensor *o = n->out[i];
  for (int d = 0; d < o->rank; d++)
    if (o->shape[d] < 0) return MR_OK; /* known only at run time: the planner decides */
  return exec_set_out_shape(n, i, o->rank, o->shape, err);
}
