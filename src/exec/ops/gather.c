/* gather.c — indexed reads and writes (docs/formats.md §4.8): gather (embedding lookup: x may stay
 * packed and each row is decoded straight into the output), gather_along_axis, scatter,
 * scatter_along_axis and one_hot. Negative indices wrap (iOS15/16 behaviour; harmless for iOS17
 * programs, whose converters wrap explicitly); an index still out of range is a run-time error. */
#include <string.h>

#include "exec/kernels/matmul.h"
#include "exec/ops/ops.h"

/* Index v wrapped into [0, size), or an error naming it. */
static int wrap_index(const exec_node *n, int64_t v, int64_t size, int64_t *out, mr_error *err) {
  int64_t w = v < 0 ? v + size : v;
  if (w < 0 || w >= size)
    return exec_node_err(n, err, MR_ESHAPE, "index %lld is out of range for a dim of size %lld", (long long)v,
                         (long long)size);
  *out = w;
  return MR_OK;
}

static int need_int_indices(const exec_node *n, const exec_tensor *t, mr_error *err) {
  return t->storage == EXEC_I32 ? MR_OK : exec_err_storage(n, err, "indices", t);
}

static size_t esize(const exec_tensor *t) { return exec_storage_size(t->storage); }

/* ---- gather -------------------------------------------------------------------------------- */

typedef struct gather_plan {
  int axis;
  int64_t outer, dim, inner, nbatch, per_batch, nidx; /* per_batch: outer blocks per index batch */
} gather_plan;

int exec_gather_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_gather_x, err), axis;
  if (rc || (rc = exec_need(n, P_gather_indices, err))) return rc;
  const exec_tensor *x = exec_in(n, P_gather_x), *ix = exec_in(n, P_gather_indices);
  exec_storage os = n->out[0]->storage;
  if ((rc = need_int_indices(n, ix, err))) return rc;
  if (x->storage == EXEC_STR || (x->storage == EXEC_PACKED ? os != EXEC_F32 : os != x->storage))
    return exec_node_err(n, err, MR_ESHAPE, "output is declared %s but x is %s", exec_dtype_name(n->out[0]->dtype),
                         exec_dtype_name(x->dtype));
  int64_t a, bd;
  if ((rc = exec_param_int(n, P_gather_axis, 0, &a, err)) || (rc = exec_param_int(n, P_gather_batch_dims, 0, &bd, err))) return rc;
  if ((rc = exec_axis(n, a, x->rank, &axis, err))) return rc;
  if (bd < 0) bd += ix->rank;
  if (bd < 0 || bd > axis || bd > ix->rank)
    return exec_node_err(n, err, MR_ESHAPE, "batch_dims %lld must be between 0 and min(axis %d, indices rank %d)",
                         (long long)bd, axis, ix->rank);
  gather_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  int64_t shape[2 * MR_MAX_RANK];
  int r = 0;
  p->axis = axis, p->outer = p->inner = p->nbatch = p->nidx = 1, p->dim = x->shape[axis];
  for (int d = 0; d < (int)bd; d++) {
    if (ix->shape[d] != x->shape[d])
      return exec_node_err(n, err, MR_ESHAPE, "batch dim %d differs between x (%lld) and indices (%lld)", d,
                           (long long)x->shape[d], (long long)ix->shape[d]);
    p->nbatch *= x->shape[d];
  }
  for (int d = 0; d < axis; d++) shape[r++] = x->shape[d], p->outer *= x->shape[d];
  for (int d = (int)bd; d < ix->rank; d++) shape[r++] = ix->shape[d], p->nidx *= ix->shape[d];
  for (int d = axis + 1; d < x->rank; d++) shape[r++] = x->shape[d], p->inner *= x->shape[d];
  p->per_batch = p->nbatch ? p->outer / p->nbatch : 0;
  if (r > MR_MAX_RANK) return exec_node_err(n, err, MR_ESHAPE, "result rank %d is over %d", r, MR_MAX_RANK);
  return exec_set_out_shape(n, 0, r, shape, err);
}

int exec_gather_run(exec_node *n, mr_error *err) {
  const gather_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_gather_x), *ix = exec_in(n, P_gather_indices);
  exec_tensor *o = n->out[0];
  size_t es = x->storage == EXEC_PACKED ? 4 : esize(x);
  for (int64_t ob = 0; ob < p->outer; ob++) {
    const int32_t *idx = exec_i32(ix) + (p->per_batch ? ob / p->per_batch : 0) * p->nidx;
    for (int64_t j = 0; j < p->nidx; j++) {
      int64_t w = 0;
      int rc = wrap_index(n, idx[j], p->dim, &w, err);
      if (rc) return rc;
      int64_t src = (ob * p->dim + w) * p->inner, dst = (ob * p->nidx + j) * p->inner;
      if (x->storage == EXEC_PACKED) exec_kernel_read(x, src, p->inner, exec_f32(o) + dst);
      else memcpy((char *)o->data + (size_t)dst * es, (const char *)x->data + (size_t)src * es, (size_t)p->inner * es);
    }
  }
  return MR_OK;
}

/* ---- gather_along_axis / scatter_along_axis ------------------------------------------------- */

typedef struct along_plan {
  int axis, mode;
} along_plan;

enum { SC_UPDATE, SC_ADD, SC_SUB, SC_MUL, SC_DIV, SC_MAX, SC_MIN };

static int scatter_mode(exec_node *n, int idx, int *mode, mr_error *err) {
  static const char *const names[] = {"update", "add", "sub", "mul", "div", "max", "min"};
  const char *m;
  int rc = exec_param_str(n, idx, "add", &m, err);
  if (rc) return rc;
  for (int i = 0; i < 7; i++)
    if (!strcmp(m, names[i])) return *mode = i, MR_OK;
  return exec_node_err(n, err, MR_EINVAL, "unknown scatter mode '%s'", m);
}

/* indices of x's rank, equal to x's dims except on axis (gather) or everywhere (scatter). */
static int along_check(exec_node *n, const exec_tensor *x, const exec_tensor *ix, int axis, int exact, mr_error *err) {
  int ok = ix->rank == x->rank;
  for (int d = 0; ok && d < x->rank; d++) ok = (!exact && d == axis) || ix->shape[d] == x->shape[d];
  if (ok) return MR_OK;
  char sx[128], si[128];
  return exec_node_err(n, err, MR_ESHAPE, "indices %s do not fit x %s on axis %d",
                       exec_shape_str(ix->rank, ix->shape, si, sizeof si), exec_shape_str(x->rank, x->shape, sx, sizeof sx), axis);
}

int exec_gather_along_axis_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_gather_along_axis_x, err), axis;
  if (rc || (rc = exec_need(n, P_gather_along_axis_indices, err))) return rc;
  const exec_tensor *x = exec_in(n, P_gather_along_axis_x), *ix = exec_in(n, P_gather_along_axis_indices);
  int64_t a;
  if ((rc = need_int_indices(n, ix, err)) || (rc = exec_param_int(n, P_gather_along_axis_axis, 0, &a, err))) return rc;
  if (!esize(x)) return exec_err_storage(n, err, "x", x);
  if ((rc = exec_same_storage(n, 0, x, err)) || (rc = exec_axis(n, a, x->rank, &axis, err))) return rc;
  if ((rc = along_check(n, x, ix, axis, 0, err))) return rc;
  along_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->axis = axis;
  return exec_set_out_shape(n, 0, ix->rank, ix->shape, err);
}

/* Flat offset in x of indices element i with its axis coordinate replaced by w. */
static int64_t along_offset(const exec_tensor *x, const exec_tensor *ix, int axis, int64_t i, int64_t w) {
  int64_t off = 0, rem = i, mul = 1;
  for (int d = ix->rank - 1; d >= 0; d--) {
    int64_t c = rem % ix->shape[d];
    rem /= ix->shape[d];
    off += (d == axis ? w : c) * mul;
    mul *= x->shape[d];
  }
  return off;
}

int exec_gather_along_axis_run(exec_node *n, mr_error *err) {
  const along_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_gather_along_axis_x), *ix = exec_in(n, P_gather_along_axis_indices);
  exec_tensor *o = n->out[0];
  size_t es = esize(x);
  for (int64_t i = 0; i < ix->count; i++) {
    int64_t w = 0;
    int rc = wrap_index(n, exec_i32(ix)[i], x->shape[p->axis], &w, err);
    if (rc) return rc;
    memcpy((char *)o->data + i * (int64_t)es, (const char *)x->data + along_offset(x, ix, p->axis, i, w) * (int64_t)es, es);
  }
  return MR_OK;
}

static double combine(int mode, double old, double v) {
  switch (mode) {
  case SC_ADD: return old + v;
  case SC_SUB: return old - v;
  case SC_MUL: return old * v;
  case SC_DIV: return old / v;
  case SC_MAX: return old > v ? old : v;
  case SC_MIN: return old < v ? old : v;
  default: return v;
  }
}

static int scatter_common(exec_node *n, int *axis, mr_error *err) {
  int rc = exec_need(n, P_scatter_data, err);
  if (rc || (rc = exec_need(n, P_scatter_indices, err)) || (rc = exec_need(n, P_scatter_updates, err))) return rc;
  const exec_tensor *x = exec_in(n, P_scatter_data), *ix = exec_in(n, P_scatter_indices), *u = exec_in(n, P_scatter_updates);
  int64_t a;
  if ((rc = need_int_indices(n, ix, err)) || (rc = exec_param_int(n, P_scatter_axis, 0, &a, err))) return rc;
  if ((x->storage != EXEC_F32 && x->storage != EXEC_I32) || u->storage != x->storage)
    return exec_node_err(n, err, MR_ESHAPE, "data and updates must be numbers of one type, got %s and %s",
                         exec_dtype_name(x->dtype), exec_dtype_name(u->dtype));
  if ((rc = exec_same_storage(n, 0, x, err)) || (rc = exec_axis(n, a, x->rank, axis, err))) return rc;
  along_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->axis = *axis;
  if ((rc = scatter_mode(n, P_scatter_mode, &p->mode, err))) return rc;
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

int exec_scatter_along_axis_plan(exec_node *n, mr_error *err) {
  int axis, rc = scatter_common(n, &axis, err);
  if (rc || (rc = along_check(n, exec_in(n, P_scatter_data), exec_in(n, P_scatter_indices), axis, 0, err))) return rc;
  const exec_tensor *ix = exec_in(n, P_scatter_indices), *u = exec_in(n, P_scatter_updates);
  if (exec_shape_equal(u, ix->rank, ix->shape)) return MR_OK;
  char su[128], si[128];
  return exec_node_err(n, err, MR_ESHAPE, "updates %s must have the shape of indices %s",
                       exec_shape_str(u->rank, u->shape, su, sizeof su), exec_shape_str(ix->rank, ix->shape, si, sizeof si));
}

int exec_scatter_along_axis_run(exec_node *n, mr_error *err) {
  const along_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_scatter_data), *ix = exec_in(n, P_scatter_indices), *u = exec_in(n, P_scatter_updates);
  exec_tensor *o = n->out[0];
  if (o->data != x->data) memcpy(o->data, x->data, (size_t)o->count * esize(x));
  for (int64_t i = 0; i < ix->count; i++) {
    int64_t w = 0;
    int rc = wrap_index(n, exec_i32(ix)[i], x->shape[p->axis], &w, err);
    if (rc) return rc;
    int64_t off = along_offset(x, ix, p->axis, i, w);
    exec_put(o, off, combine(p->mode, exec_get(o, off), exec_get(u, i)));
  }
  return MR_OK;
}

/* ---- scatter: whole slices along axis, updates = data.shape[:axis] + indices.shape + rest ---- */

int exec_scatter_plan(exec_node *n, mr_error *err) {
  int axis, rc = scatter_common(n, &axis, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_scatter_data), *ix = exec_in(n, P_scatter_indices), *u = exec_in(n, P_scatter_updates);
  int64_t want[2 * MR_MAX_RANK];
  int r = 0;
  for (int d = 0; d < axis; d++) want[r++] = x->shape[d];
  for (int d = 0; d < ix->rank; d++) want[r++] = ix->shape[d];
  for (int d = axis + 1; d < x->rank; d++) want[r++] = x->shape[d];
  if (r <= MR_MAX_RANK && exec_shape_equal(u, r, want)) return MR_OK;
  char su[128], sw[128];
  return exec_node_err(n, err, MR_ESHAPE, "updates %s must have shape %s", exec_shape_str(u->rank, u->shape, su, sizeof su),
                       exec_shape_str(r, want, sw, sizeof sw));
}

int exec_scatter_run(exec_node *n, mr_error *err) {
  const along_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_scatter_data), *ix = exec_in(n, P_scatter_indices), *u = exec_in(n, P_scatter_updates);
  exec_tensor *o = n->out[0];
  int64_t outer = 1, inner = 1, dim = x->shape[p->axis], ni = ix->count;
  for (int d = 0; d < p->axis; d++) outer *= x->shape[d];
  for (int d = p->axis + 1; d < x->rank; d++) inner *= x->shape[d];
  if (o->data != x->data) memcpy(o->data, x->data, (size_t)o->count * esize(x));
  for (int64_t ob = 0; ob < outer; ob++)
    for (int64_t j = 0; j < ni; j++) {
      int64_t w = 0;
      int rc = wrap_index(n, exec_i32(ix)[j], dim, &w, err);
      if (rc) return rc;
      for (int64_t k = 0; k < inner; k++) {
        int64_t dst = (ob * dim + w) * inner + k;
        exec_put(o, dst, combine(p->mode, exec_get(o, dst), exec_get(u, (ob * ni + j) * inner + k)));
      }
    }
  return MR_OK;
}

/* ---- one_hot ------------------------------------------------------------------------------- */

typedef struct onehot_plan {
  int axis;
  int64_t depth;
  double on, off;
} onehot_plan;

int exec_one_hot_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_one_hot_indices, err), axis;
  if (rc || (rc = exec_need(n, P_one_hot_one_hot_vector_size, err))) return rc;
  const exec_tensor *ix = exec_in(n, P_one_hot_indices);
  if ((rc = need_int_indices(n, ix, err))) return rc;
  onehot_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  int64_t a;
  if ((rc = exec_param_int(n, P_one_hot_one_hot_vector_size, 0, &p->depth, err)) || (rc = exec_param_int(n, P_one_hot_axis, -1, &a, err))) return rc;
  if ((rc = exec_param_float(n, P_one_hot_on_value, 1, &p->on, err)) || (rc = exec_param_float(n, P_one_hot_off_value, 0, &p->off, err))) return rc;
  if (p->depth < 0) return exec_node_err(n, err, MR_ESHAPE, "one_hot_vector_size must be >= 0");
  if (ix->rank + 1 > MR_MAX_RANK) return exec_node_err(n, err, MR_ESHAPE, "result rank is over %d", MR_MAX_RANK);
  if ((rc = exec_axis(n, a, ix->rank + 1, &axis, err))) return rc;
  if (n->out[0]->storage != EXEC_F32 && n->out[0]->storage != EXEC_I32)
    return exec_node_err(n, err, MR_ESHAPE, "output must be a number, declared %s", exec_dtype_name(n->out[0]->dtype));
  p->axis = axis;
  int64_t shape[MR_MAX_RANK];
  for (int d = 0, j = 0; d <= ix->rank; d++) shape[d] = d == axis ? p->depth : ix->shape[j++];
  return exec_set_out_shape(n, 0, ix->rank + 1, shape, err);
}

int exec_one_hot_run(exec_node *n, mr_error *err) {
  const onehot_plan *p = n->priv;
  const exec_tensor *ix = exec_in(n, P_one_hot_indices);
  exec_tensor *o = n->out[0];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < p->axis; d++) outer *= ix->shape[d];
  for (int d = p->axis; d < ix->rank; d++) inner *= ix->shape[d];
  for (int64_t ob = 0; ob < outer; ob++)
    for (int64_t k = 0; k < p->depth; k++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t v = exec_i32(ix)[ob * inner + i];
        if (v < 0) v += p->depth; /* out-of-range indices give an all-off vector */
        exec_put(o, (ob * p->depth + k) * inner + i, v == k ? p->on : p->off);
      }
  return MR_OK;
}
