/* fill.c — ops that make values rather than move them (docs/formats.md §4.2, §4.8): select (with
 * three-way broadcasting), band_part, range_1d, fill, fill_like and cast. */
#include <math.h>
#include <string.h>

#include "exec/ops/ops.h"

/* ---- select: cond ? a : b ------------------------------------------------------------------ */

typedef struct select_plan {
  int rank;
  int64_t shape[MR_MAX_RANK], st[3][MR_MAX_RANK];
} select_plan;

int exec_select_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_select_cond, err);
  if (rc || (rc = exec_need(n, P_select_a, err)) || (rc = exec_need(n, P_select_b, err))) return rc;
  const exec_tensor *c = exec_in(n, P_select_cond), *a = exec_in(n, P_select_a), *b = exec_in(n, P_select_b);
  if (!exec_storage_size(c->storage)) return exec_err_storage(n, err, "cond", c);
  if (a->storage != b->storage || !exec_storage_size(a->storage))
    return exec_node_err(n, err, MR_ESHAPE, "a (%s) and b (%s) must have one type", exec_dtype_name(a->dtype),
                         exec_dtype_name(b->dtype));
  if ((rc = exec_same_storage(n, 0, a, err))) return rc;
  select_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  if ((rc = exec_broadcast(n, a->rank, a->shape, b->rank, b->shape, &p->rank, p->shape, err))) return rc;
  if ((rc = exec_broadcast(n, c->rank, c->shape, p->rank, p->shape, &p->rank, p->shape, err))) return rc;
  exec_broadcast_strides(c, p->rank, p->shape, p->st[0]);
  exec_broadcast_strides(a, p->rank, p->shape, p->st[1]);
  exec_broadcast_strides(b, p->rank, p->shape, p->st[2]);
  return exec_set_out_shape(n, 0, p->rank, p->shape, err);
}

int exec_select_run(exec_node *n, mr_error *err) {
  const select_plan *p = n->priv;
  const exec_tensor *c = exec_in(n, P_select_cond), *a = exec_in(n, P_select_a), *b = exec_in(n, P_select_b);
  exec_tensor *o = n->out[0];
  size_t es = exec_storage_size(o->storage);
  int64_t co[MR_MAX_RANK] = {0}, off[3] = {0, 0, 0};
  for (int64_t i = 0; i < o->count; i++) {
    const exec_tensor *src = exec_get(c, off[0]) != 0 ? a : b;
    int64_t so = src == a ? off[1] : off[2];
    memcpy((char *)o->data + (size_t)i * es, (const char *)src->data + (size_t)so * es, es);
    for (int d = p->rank - 1; d >= 0; d--) {
      for (int k = 0; k < 3; k++) off[k] += p->st[k][d];
      if (++co[d] < p->shape[d]) break;
      for (int k = 0; k < 3; k++) off[k] -= p->st[k][d] * p->shape[d];
      co[d] = 0;
    }
  }
  return MR_OK;
}

/* ---- band_part ----------------------------------------------------------------------------- */

typedef struct band_plan {
  int64_t lower, upper;
} band_plan;

int exec_band_part_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_band_part_x, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_band_part_x);
  char sx[128];
  if (!exec_storage_size(x->storage)) return exec_err_storage(n, err, "x", x);
  if ((rc = exec_same_storage(n, 0, x, err))) return rc;
  if (x->rank < 2) return exec_node_err(n, err, MR_ESHAPE, "x %s must have rank >= 2", exec_shape_str(x->rank, x->shape, sx, sizeof sx));
  band_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  if ((rc = exec_param_int(n, P_band_part_lower, -1, &p->lower, err)) || (rc = exec_param_int(n, P_band_part_upper, -1, &p->upper, err))) return rc;
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

int exec_band_part_run(exec_node *n, mr_error *err) {
  const band_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_band_part_x);
  exec_tensor *o = n->out[0];
  int64_t rows = x->shape[x->rank - 2], cols = x->shape[x->rank - 1];
  size_t es = exec_storage_size(x->storage);
  for (int64_t i = 0; i < o->count; i++) {
    int64_t m = (i / cols) % rows, k = i % cols;
    int keep = (p->lower < 0 || m - k <= p->lower) && (p->upper < 0 || k - m <= p->upper);
    if (keep) memcpy((char *)o->data + (size_t)i * es, (const char *)x->data + (size_t)i * es, es);
    else memset((char *)o->data + (size_t)i * es, 0, es);
  }
  return MR_OK;
}

/* ---- range_1d ------------------------------------------------------------------------------ */

static int range_len(const exec_node *n, double *start, double *step, int64_t *len, mr_error *err) {
  const exec_tensor *e = exec_in(n, P_range_1d_end), *s = exec_in(n, P_range_1d_start), *st = exec_in(n, P_range_1d_step);
  double end = exec_get(e, 0);
  *start = exec_get(s, 0), *step = exec_get(st, 0);
  if (*step == 0) return exec_node_err(n, err, MR_ESHAPE, "step must not be 0");
  double l = ceil((end - *start) / *step);
  if (!(l < 1e12)) return exec_node_err(n, err, MR_ESHAPE, "range of %g values is too long", l);
  *len = l > 0 ? (int64_t)l : 0;
  return MR_OK;
}

int exec_range_1d_plan(exec_node *n, mr_error *err) {
  int rc = 0;
  for (int i = 0; i < P_range_1d_COUNT && !rc; i++) { /* end, start, step */
    const exec_tensor *t = exec_in(n, i);
    if ((rc = exec_need(n, i, err))) return rc;
    if ((t->storage != EXEC_F32 && t->storage != EXEC_I32) || t->count != 1)
      return exec_node_err(n, err, MR_ESHAPE, "%s must be a number scalar", n->def->params[i]);
  }
  if (n->out[0]->storage != EXEC_F32 && n->out[0]->storage != EXEC_I32)
    return exec_node_err(n, err, MR_ESHAPE, "output must be a number, declared %s", exec_dtype_name(n->out[0]->dtype));
  if (!exec_in(n, P_range_1d_end)->is_const || !exec_in(n, P_range_1d_start)->is_const || !exec_in(n, P_range_1d_step)->is_const)
    return exec_keep_declared(n, 0, err);
  double start, step;
  int64_t len;
  if ((rc = range_len(n, &start, &step, &len, err))) return rc;
  return exec_set_out_shape(n, 0, 1, &len, err);
}

int exec_range_1d_run(exec_node *n, mr_error *err) {
  double start, step;
  int64_t len;
  int rc = range_len(n, &start, &step, &len, err);
  if (rc || (rc = exec_check_run_shape(n, 0, 1, &len, err))) return rc;
  for (int64_t i = 0; i < len; i++) exec_put(n->out[0], i, start + (double)i * step);
  return MR_OK;
}

/* ---- fill / fill_like ---------------------------------------------------------------------- */

static int fill_shape(const exec_node *n, int *rank, int64_t *shape, mr_error *err) {
  const exec_tensor *s = exec_in(n, P_fill_shape);
  int r = exec_read_ints(s, shape, MR_MAX_RANK);
  if (r < 0 || s->rank != 1) return exec_node_err(n, err, MR_ESHAPE, "shape must be a 1-d int tensor of at most %d values", MR_MAX_RANK);
  for (int d = 0; d < r; d++)
    if (shape[d] < 0) return exec_node_err(n, err, MR_ESHAPE, "shape has a negative dim %lld", (long long)shape[d]);
  *rank = r;
  return MR_OK;
}

static int fill_common(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_fill_shape, err);
  double v;
  if (rc || (rc = exec_param_float(n, P_fill_value, 0, &v, err))) return rc;
  exec_storage s = n->out[0]->storage;
  if (s != EXEC_F32 && s != EXEC_I32 && s != EXEC_U8)
    return exec_node_err(n, err, MR_ESHAPE, "output must be a number or bool, declared %s", exec_dtype_name(n->out[0]->dtype));
  double *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  *p = v;
  return MR_OK;
}

int exec_fill_plan(exec_node *n, mr_error *err) {
  int rc = fill_common(n, err), rank;
  if (rc) return rc;
  if (!exec_in(n, P_fill_shape)->is_const) return exec_keep_declared(n, 0, err);
  int64_t shape[MR_MAX_RANK];
  if ((rc = fill_shape(n, &rank, shape, err))) return rc;
  return exec_set_out_shape(n, 0, rank, shape, err);
}

static void fill_all(exec_tensor *o, double v) {
  for (int64_t i = 0; i < o->count; i++) exec_put(o, i, v);
}

int exec_fill_run(exec_node *n, mr_error *err) {
  int rank, rc;
  int64_t shape[MR_MAX_RANK];
  if (!exec_in(n, P_fill_shape)->is_const) {
    if ((rc = fill_shape(n, &rank, shape, err)) || (rc = exec_check_run_shape(n, 0, rank, shape, err))) return rc;
  }
  fill_all(n->out[0], *(const double *)n->priv);
  return MR_OK;
}

int exec_fill_like_plan(exec_node *n, mr_error *err) {
  int rc = fill_common(n, err);
  if (rc) return rc;
  const exec_tensor *r = exec_in(n, P_fill_like_ref_tensor);
  return exec_set_out_shape(n, 0, r->rank, r->shape, err);
}

int exec_fill_like_run(exec_node *n, mr_error *err) {
  fill_all(n->out[0], *(const double *)n->priv);
  return MR_OK;
}

/* ---- cast ---------------------------------------------------------------------------------- */

/* Target ranges of narrow integer casts (wrap like a C conversion to the narrow type). */
typedef struct cast_plan {
  int bits, is_signed; /* 0 bits: no narrowing */
} cast_plan;

int exec_cast_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_cast_x, err);
  const char *dt;
  if (rc || (rc = exec_need(n, P_cast_dtype, err)) || (rc = exec_param_str(n, P_cast_dtype, NULL, &dt, err))) return rc;
  const exec_tensor *x = exec_in(n, P_cast_x);
  if (x->storage != EXEC_F32 && x->storage != EXEC_I32 && x->storage != EXEC_U8) return exec_err_storage(n, err, "x", x);
  static const struct { const char *name; int bits, is_signed; exec_storage s; } types[] = {
      {"fp16", 0, 0, EXEC_F32}, {"fp32", 0, 0, EXEC_F32}, {"fp64", 0, 0, EXEC_F32}, {"bool", 0, 0, EXEC_U8},
      {"int32", 0, 1, EXEC_I32}, {"int64", 0, 1, EXEC_I32}, {"int8", 8, 1, EXEC_I32}, {"uint8", 8, 0, EXEC_I32},
      {"int16", 16, 1, EXEC_I32}, {"uint16", 16, 0, EXEC_I32}};
  cast_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  size_t i = 0;
  while (i < sizeof types / sizeof *types && strcmp(types[i].name, dt) != 0) i++;
  if (i == sizeof types / sizeof *types) return exec_node_err(n, err, MR_ENOTSUP, "unsupported cast dtype '%s'", dt);
  if (types[i].s != n->out[0]->storage)
    return exec_node_err(n, err, MR_ESHAPE, "dtype '%s' does not match the declared output %s", dt,
                         exec_dtype_name(n->out[0]->dtype));
  p->bits = types[i].bits, p->is_signed = types[i].is_signed;
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

int exec_cast_run(exec_node *n, mr_error *err) {
  const cast_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_cast_x);
  exec_tensor *o = n->out[0];
  if (x->storage == EXEC_F32 && o->storage == EXEC_F32) {
    if (o->data != x->data) memcpy(o->data, x->data, (size_t)o->count * 4);
    return MR_OK;
  }
  for (int64_t i = 0; i < o->count; i++) {
    exec_put(o, i, exec_get(x, i)); /* float -> int: truncates toward zero, wraps to int32 */
    if (!p->bits) continue;
    uint32_t u = (uint32_t)exec_i32(o)[i] & ((1u << p->bits) - 1);
    int64_t v = (int64_t)u;
    if (p->is_signed && (u >> (p->bits - 1))) v -= (int64_t)1 << p->bits;
    exec_i32(o)[i] = (int32_t)v;
  }
  return MR_OK;
}
