/* slice.c — slice_by_index, slice_by_size and slice_update (docs/formats.md §4.8). A slice is a
 * base offset plus, per kept dim, a length and a (possibly negative) stride in x, computed with
 * Python slice rules; slice_update writes `update` through the same view of a copy of x (how KV
 * caches are written). begin/end/size may be run-time tensors: then the slice is computed again
 * in run() and must give the planned output shape. */
#include <string.h>

#include "exec/ops/ops.h"

typedef struct slice_view {
  int64_t base;                         /* offset of the first element in x */
  int rank;                             /* kept dims */
  int64_t shape[MR_MAX_RANK], stride[MR_MAX_RANK];
  int64_t full[MR_MAX_RANK];            /* shape with squeezed dims as 1 (rank of x) */
} slice_view;

/* Per-dim options of slice_by_index: const stride and masks. */
typedef struct slice_opts {
  int64_t stride[MR_MAX_RANK];
  int bmask[MR_MAX_RANK], emask[MR_MAX_RANK], smask[MR_MAX_RANK];
} slice_opts;

static int bool_vec(exec_node *n, int pi, int rank, int *out, mr_error *err) {
  const exec_tensor *t = exec_in(n, pi);
  const char *name = n->def->params[pi];
  memset(out, 0, sizeof(int) * MR_MAX_RANK);
  if (!t) return MR_OK;
  if (!t->is_const) return exec_node_err(n, err, MR_ENOTSUP, "parameter '%s' must be a constant", name);
  if (t->storage != EXEC_U8 || t->count != rank)
    return exec_node_err(n, err, MR_ESHAPE, "%s must be %d bools", name, rank);
  for (int i = 0; i < rank; i++) out[i] = exec_u8(t)[i];
  return MR_OK;
}

static int slice_opts_init(exec_node *n, int rank, slice_opts *o, mr_error *err) {
  int rc, count;
  if ((rc = exec_param_ints(n, P_slice_stride, o->stride, MR_MAX_RANK, &count, err))) return rc;
  if (count >= 0 && count != rank) return exec_node_err(n, err, MR_ESHAPE, "stride has %d values for rank %d", count, rank);
  for (int i = 0; i < rank; i++) {
    if (count < 0) o->stride[i] = 1;
    if (o->stride[i] == 0) return exec_node_err(n, err, MR_ESHAPE, "stride must not be 0");
  }
  if ((rc = bool_vec(n, P_slice_begin_mask, rank, o->bmask, err)) || (rc = bool_vec(n, P_slice_end_mask, rank, o->emask, err)))
    return rc;
  return bool_vec(n, P_slice_squeeze_mask, rank, o->smask, err);
}

/* begin/end as ints of x's rank. */
static int read_vec(const exec_node *n, int i, int rank, int64_t *v, mr_error *err) {
  const exec_tensor *t = exec_in(n, i);
  const char *name = n->def->params[i];
  if (!t) return exec_node_err(n, err, MR_EINVAL, "missing required parameter '%s'", name);
  if (exec_read_ints(t, v, MR_MAX_RANK) != rank)
    return exec_node_err(n, err, MR_ESHAPE, "%s must have %d int values", name, rank);
  return MR_OK;
}

/* Python slice of one dim of size d: sets first index and length. */
static void py_slice(int64_t d, int64_t b, int64_t e, int64_t s, int bm, int em, int64_t *first, int64_t *len) {
  if (b < 0) b += d;
  if (e < 0) e += d;
  if (s > 0) {
    b = bm ? 0 : b < 0 ? 0 : b > d ? d : b;
    e = em ? d : e < 0 ? 0 : e > d ? d : e;
    *len = e > b ? (e - b + s - 1) / s : 0;
  } else {
    b = bm ? d - 1 : b < -1 ? -1 : b > d - 1 ? d - 1 : b;
    e = em ? -1 : e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    *len = b > e ? (b - e + (-s) - 1) / (-s) : 0;
  }
  *first = b;
}

static int index_view(const exec_node *n, const exec_tensor *x, const slice_opts *o, slice_view *v, mr_error *err) {
  int64_t begin[MR_MAX_RANK], end[MR_MAX_RANK], xs[MR_MAX_RANK];
  int rc;
  if ((rc = read_vec(n, P_slice_begin, x->rank, begin, err)) || (rc = read_vec(n, P_slice_end, x->rank, end, err))) return rc;
  exec_strides(x->rank, x->shape, xs);
  v->base = 0, v->rank = 0;
  for (int d = 0; d < x->rank; d++) {
    int64_t first, len;
    if (o->smask[d]) {
      first = begin[d] < 0 ? begin[d] + x->shape[d] : begin[d];
      if (first < 0 || first >= x->shape[d])
        return exec_node_err(n, err, MR_ESHAPE, "index %lld is out of range for dim %d of size %lld",
                             (long long)begin[d], d, (long long)x->shape[d]);
      v->base += first * xs[d];
      v->full[d] = 1;
      continue;
    }
    py_slice(x->shape[d], begin[d], end[d], o->stride[d], o->bmask[d], o->emask[d], &first, &len);
    v->base += len ? first * xs[d] : 0;
    v->shape[v->rank] = v->full[d] = len;
    v->stride[v->rank++] = o->stride[d] * xs[d];
  }
  return MR_OK;
}

static int size_view(const exec_node *n, const exec_tensor *x, slice_view *v, mr_error *err) {
  int64_t begin[MR_MAX_RANK], size[MR_MAX_RANK], xs[MR_MAX_RANK];
  int rc;
  if ((rc = read_vec(n, P_slice_begin, x->rank, begin, err)) || (rc = read_vec(n, P_slice_size, x->rank, size, err))) return rc;
  exec_strides(x->rank, x->shape, xs);
  v->base = 0, v->rank = x->rank;
  for (int d = 0; d < x->rank; d++) {
    int64_t b = begin[d] < 0 ? begin[d] + x->shape[d] : begin[d];
    int64_t len = size[d] == -1 ? x->shape[d] - b : size[d];
    if (b < 0 || len < 0 || b + len > x->shape[d])
      return exec_node_err(n, err, MR_ESHAPE, "begin %lld size %lld is out of range for dim %d of size %lld",
                           (long long)begin[d], (long long)size[d], d, (long long)x->shape[d]);
    v->base += b * xs[d];
    v->shape[d] = v->full[d] = len;
    v->stride[d] = xs[d];
  }
  return MR_OK;
}

typedef struct slice_plan {
  int by_size, dynamic;
  slice_opts o;
  slice_view v;
} slice_plan;

static int slice_view_of(const exec_node *n, const slice_plan *p, slice_view *v, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_slice_x);
  return p->by_size ? size_view(n, x, v, err) : index_view(n, x, &p->o, v, err);
}

static int slice_plan_init(exec_node *n, slice_plan **out, mr_error *err) {
  int rc = exec_need(n, P_slice_x, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_slice_x);
  if (!exec_storage_size(x->storage)) return exec_err_storage(n, err, "x", x);
  if ((rc = exec_same_storage(n, 0, x, err))) return rc;
  slice_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->by_size = (n->def->accepts & EXEC_PBIT(slice, size)) != 0;
  if (!p->by_size && (rc = slice_opts_init(n, x->rank, &p->o, err))) return rc;
  const exec_tensor *b = exec_in(n, P_slice_begin), *e = exec_in(n, p->by_size ? P_slice_size : P_slice_end);
  p->dynamic = (b && !b->is_const) || (e && !e->is_const);
  *out = p;
  return p->dynamic ? MR_OK : slice_view_of(n, p, &p->v, err);
}

int exec_slice_by_index_plan(exec_node *n, mr_error *err) {
  slice_plan *p = NULL;
  int rc = slice_plan_init(n, &p, err);
  if (rc) return rc;
  if (p->dynamic) return exec_keep_declared(n, 0, err);
  return exec_set_out_shape(n, 0, p->v.rank, p->v.shape, err);
}

int exec_slice_by_size_plan(exec_node *n, mr_error *err) { return exec_slice_by_index_plan(n, err); }

int exec_slice_contiguous(const exec_node *n, int64_t *base) {
  const slice_plan *p = n->priv;
  if (!p || p->dynamic) return 0;
  int64_t want = 1;
  for (int d = p->v.rank - 1; d >= 0; d--) {
    if (p->v.shape[d] == 1) continue; /* any stride: one element */
    if (p->v.stride[d] != want) return 0;
    want *= p->v.shape[d];
  }
  *base = p->v.base;
  return 1;
}

/* The view to use in run(): the planned one, or one computed now and checked against the output. */
static int run_view(const exec_node *n, slice_view *v, mr_error *err) {
  const slice_plan *p = n->priv;
  int rc;
  *v = p->v;
  if (!p->dynamic) return MR_OK;
  if ((rc = slice_view_of(n, p, v, err))) return rc;
  return exec_check_run_shape(n, 0, v->rank, v->shape, err);
}

int exec_slice_by_index_run(exec_node *n, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_slice_x);
  exec_tensor *o = n->out[0];
  slice_view v;
  int rc = run_view(n, &v, err);
  if (rc) return rc;
  size_t es = exec_storage_size(x->storage);
  int64_t dst[MR_MAX_RANK];
  exec_strides(v.rank, v.shape, dst);
  exec_copy_strided_par(n, x->storage, o->storage, v.rank, v.shape, (const char *)x->data + (size_t)v.base * es,
                        v.stride, o->data, dst);
  return MR_OK;
}

int exec_slice_by_size_run(exec_node *n, mr_error *err) { return exec_slice_by_index_run(n, err); }

/* ---- slice_update -------------------------------------------------------------------------- */

/* update must have the slice's shape, with or without the squeezed dims. */
static int update_fits(const exec_tensor *u, const exec_tensor *x, const slice_view *v) {
  return exec_shape_equal(u, v->rank, v->shape) || exec_shape_equal(u, x->rank, v->full);
}

int exec_slice_update_plan(exec_node *n, mr_error *err) {
  slice_plan *p = NULL;
  int rc = slice_plan_init(n, &p, err);
  if (rc || (rc = exec_need(n, P_slice_update, err))) return rc;
  const exec_tensor *x = exec_in(n, P_slice_x), *u = exec_in(n, P_slice_update);
  if (u->storage != x->storage) return exec_node_err(n, err, MR_ESHAPE, "update is %s but x is %s",
                                                     exec_dtype_name(u->dtype), exec_dtype_name(x->dtype));
  if (!p->dynamic && !update_fits(u, x, &p->v)) {
    char su[128], sv[128];
    return exec_node_err(n, err, MR_ESHAPE, "update %s does not match the slice %s",
                         exec_shape_str(u->rank, u->shape, su, sizeof su),
                         exec_shape_str(p->v.rank, p->v.shape, sv, sizeof sv));
  }
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

int exec_slice_update_run(exec_node *n, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_slice_x), *u = exec_in(n, P_slice_update);
  exec_tensor *o = n->out[0];
  const slice_plan *p = n->priv;
  slice_view v = p->v;
  int rc;
  if (p->dynamic) {
    if ((rc = slice_view_of(n, p, &v, err))) return rc;
    if (!update_fits(u, x, &v)) {
      char su[128], sv[128];
      return exec_node_err(n, err, MR_ESHAPE, "run-time slice %s does not match update %s",
                           exec_shape_str(v.rank, v.shape, sv, sizeof sv), exec_shape_str(u->rank, u->shape, su, sizeof su));
    }
  }
  /* x or o may be an fp16 state's own buffer (EXEC_F16, see plan.c); o == x when updated in place */
  int64_t one = 1, src[MR_MAX_RANK];
  if (o->data != x->data && o->count) exec_copy_strided_as(x->storage, o->storage, 1, &o->count, x->data, &one, o->data, &one);
  exec_strides(v.rank, v.shape, src);
  exec_copy_strided_par(n, u->storage, o->storage, v.rank, v.shape, u->data, src,
                        (char *)o->data + (size_t)v.base * exec_storage_size(o->storage), v.stride);
  return MR_OK;
}
