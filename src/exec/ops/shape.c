/* shape.c — ops that move elements without computing on them (docs/formats.md §4.8): reshape and
 * its relatives (expand_dims, squeeze, flatten2d, identity: same bytes, new shape), transpose,
 * shape, concat (incl. interleave), split, stack, tile and pad. Elements are 4 bytes (float/int)
 * or 1 byte (bool); every copy goes through exec_copy_strided. A shape that depends on a run-time
 * param (reshape.shape, tile.reps, pad.pad) is computed again in run() and checked against the
 * planned output. */
#include <string.h>

#include "exec/ops/ops.h"

static size_t esize(const exec_tensor *t) { return exec_storage_size(t->storage); }

static int need_data(const exec_node *n, const exec_tensor *x, mr_error *err) {
  if (esize(x) == 0) return exec_err_storage(n, err, "x", x);
  return exec_same_storage(n, 0, x, err);
}

/* ---- reshape, expand_dims, squeeze, flatten2d, identity -------------------------------------- */

/* reshape's target: -1 inferred (at most one), 0 copies x's dim aligned from the right (iOS17
 * rule; for len(shape) == rank it is also the iOS15 rule), a 0 with no counterpart means 1. */
static int reshape_target(const exec_node *n, const exec_tensor *x, const exec_tensor *st, int *rank,
                          int64_t *shape, mr_error *err) {
  int r = exec_read_ints(st, shape, MR_MAX_RANK), infer = -1;
  char sx[128], ss[128];
  if (r < 0 || st->rank > 1) return exec_node_err(n, err, MR_ESHAPE, "shape must be a 1-d int tensor of at most %d values", MR_MAX_RANK);
  int64_t known = 1;
  for (int i = 0; i < r; i++) {
    int j = i - (r - x->rank);
    if (shape[i] == 0) shape[i] = j >= 0 ? x->shape[j] : 1;
    if (shape[i] == -1) {
      if (infer >= 0) return exec_node_err(n, err, MR_ESHAPE, "shape has more than one -1");
      infer = i;
    } else if (shape[i] < 0) {
      return exec_node_err(n, err, MR_ESHAPE, "shape has a negative dim %lld", (long long)shape[i]);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) shape[infer] = known ? x->count / known : 0;
  int64_t total = 1;
  for (int i = 0; i < r; i++) total *= shape[i];
  if (total != x->count)
    return exec_node_err(n, err, MR_ESHAPE, "cannot reshape %s (%lld elements) into %s",
                         exec_shape_str(x->rank, x->shape, sx, sizeof sx), (long long)x->count,
                         exec_shape_str(r, shape, ss, sizeof ss));
  *rank = r;
  return MR_OK;
}

/* expand_dims: axes index the output (rank r + len); a 1 is inserted at each. */
static int expand_target(exec_node *n, const exec_tensor *x, int *rank, int64_t *shape, mr_error *err) {
  int64_t axes[MR_MAX_RANK];
  int count, rc;
  if ((rc = exec_param_ints(n, P_reshape_axes, axes, MR_MAX_RANK, &count, err))) return rc;
  if (count < 0) return exec_need(n, P_reshape_axes, err);
  int r = x->rank + count;
  if (r > MR_MAX_RANK) return exec_node_err(n, err, MR_ESHAPE, "result rank %d is over %d", r, MR_MAX_RANK);
  uint8_t ins[MR_MAX_RANK] = {0};
  for (int i = 0; i < count; i++) {
    int a;
    if ((rc = exec_axis(n, axes[i], r, &a, err))) return rc;
    if (ins[a]) return exec_node_err(n, err, MR_ESHAPE, "axis %lld is repeated", (long long)axes[i]);
    ins[a] = 1;
  }
  for (int i = 0, j = 0; i < r; i++) shape[i] = ins[i] ? 1 : x->shape[j++];
  *rank = r;
  return MR_OK;
}

/* squeeze: the given axes (or all size-1 dims); an axis whose size is not 1 stays. */
static int squeeze_target(exec_node *n, const exec_tensor *x, int *rank, int64_t *shape, mr_error *err) {
  int64_t axes[MR_MAX_RANK];
  int count, rc, r = 0;
  uint8_t drop[MR_MAX_RANK] = {0};
  if ((rc = exec_param_ints(n, P_reshape_axes, axes, MR_MAX_RANK, &count, err))) return rc;
  for (int i = 0; i < count; i++) {
    int a;
    if ((rc = exec_axis(n, axes[i], x->rank, &a, err))) return rc;
    drop[a] = x->shape[a] == 1;
  }
  for (int d = 0; d < x->rank; d++) {
    if (count < 0) drop[d] = x->shape[d] == 1;
    if (!drop[d]) shape[r++] = x->shape[d];
  }
  *rank = r;
  return MR_OK;
}

static int flatten_target(exec_node *n, const exec_tensor *x, int *rank, int64_t *shape, mr_error *err) {
  int64_t axis;
  int rc = exec_param_int(n, P_reshape_axis, 1, &axis, err);
  if (rc) return rc;
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis > x->rank)
    return exec_node_err(n, err, MR_ESHAPE, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
  shape[0] = shape[1] = 1;
  for (int d = 0; d < x->rank; d++) shape[d >= axis] *= x->shape[d];
  *rank = 2;
  return MR_OK;
}

int exec_reshape_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_reshape_x, err), rank = 0;
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_reshape_x);
  if ((rc = need_data(n, x, err))) return rc;
  int64_t shape[MR_MAX_RANK];
  switch (n->def->variant) {
  case RS_RESHAPE: {
    const exec_tensor *st = exec_in(n, P_reshape_shape);
    if ((rc = exec_need(n, P_reshape_shape, err))) return rc;
    if (!st->is_const) return exec_keep_declared(n, 0, err); /* checked in run() */
    rc = reshape_target(n, x, st, &rank, shape, err);
    break;
  }
  case RS_EXPAND_DIMS: rc = expand_target(n, x, &rank, shape, err); break;
  case RS_SQUEEZE: rc = squeeze_target(n, x, &rank, shape, err); break;
  case RS_FLATTEN2D: rc = flatten_target(n, x, &rank, shape, err); break;
  default: /* identity */
    rank = x->rank;
    memcpy(shape, x->shape, sizeof shape);
  }
  if (rc) return rc;
  n->view_of = P_reshape_x + 1;
  return exec_set_out_shape(n, 0, rank, shape, err);
}

int exec_reshape_run(exec_node *n, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_reshape_x);
  exec_tensor *o = n->out[0];
  if (n->def->variant == RS_RESHAPE && !exec_in(n, P_reshape_shape)->is_const) {
    int rank, rc;
    int64_t shape[MR_MAX_RANK];
    if ((rc = reshape_target(n, x, exec_in(n, P_reshape_shape), &rank, shape, err))) return rc;
    if ((rc = exec_check_run_shape(n, 0, rank, shape, err))) return rc;
  }
  if (o->data != x->data && o->count) memcpy(o->data, x->data, (size_t)o->count * esize(x));
  return MR_OK;
}

/* ---- transpose ----------------------------------------------------------------------------- */

typedef struct perm_plan {
  int perm[MR_MAX_RANK];
  int same_order; /* only dims of size 1 move: the bytes stay in order */
} perm_plan;

int exec_transpose_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_transpose_x, err), count;
  if (rc || (rc = exec_need(n, P_transpose_perm, err))) return rc;
  const exec_tensor *x = exec_in(n, P_transpose_x);
  if ((rc = need_data(n, x, err))) return rc;
  int64_t perm[MR_MAX_RANK], shape[MR_MAX_RANK];
  if ((rc = exec_param_ints(n, P_transpose_perm, perm, MR_MAX_RANK, &count, err))) return rc;
  perm_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  uint8_t seen[MR_MAX_RANK] = {0};
  if (count != x->rank) return exec_node_err(n, err, MR_ESHAPE, "perm has %d values for rank %d", count, x->rank);
  for (int i = 0; i < count; i++) {
    if ((rc = exec_axis(n, perm[i], x->rank, &p->perm[i], err))) return rc;
    if (seen[p->perm[i]]++) return exec_node_err(n, err, MR_ESHAPE, "perm is not a permutation");
    shape[i] = x->shape[p->perm[i]];
  }
  /* moving only dims of size 1 keeps every byte in place: [1, 16, 128, 1] -> [1, 16, 1, 128] */
  int last = -1, moves = 0;
  for (int i = 0; i < count; i++)
    if (shape[i] > 1) moves |= p->perm[i] < last, last = p->perm[i];
  p->same_order = !moves;
  if (p->same_order) n->view_of = P_transpose_x + 1;
  return exec_set_out_shape(n, 0, x->rank, shape, err);
}

int exec_transpose_run(exec_node *n, mr_error *err) {
  const perm_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_transpose_x);
  exec_tensor *o = n->out[0];
  int64_t xs[MR_MAX_RANK], src[MR_MAX_RANK], dst[MR_MAX_RANK];
  if (p->same_order) {
    if (o->data != x->data && o->count) memcpy(o->data, x->data, (size_t)o->count * esize(x));
    return MR_OK;
  }
  exec_strides(x->rank, x->shape, xs);
  exec_strides(o->rank, o->shape, dst);
  for (int i = 0; i < x->rank; i++) src[i] = xs[p->perm[i]];
  exec_copy_strided_par(n, x->storage, o->storage, o->rank, o->shape, x->data, src, o->data, dst);
  return MR_OK;
}

/* ---- shape --------------------------------------------------------------------------------- */

int exec_shape_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_shape_x, err);
  if (rc) return rc;
  if (n->out[0]->storage != EXEC_I32)
    return exec_node_err(n, err, MR_ESHAPE, "output must be int32, declared %s", exec_dtype_name(n->out[0]->dtype));
  int64_t r = exec_in(n, P_shape_x)->rank;
  return exec_set_out_shape(n, 0, 1, &r, err);
}

int exec_shape_run(exec_node *n, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_shape_x);
  for (int d = 0; d < x->rank; d++) exec_i32(n->out[0])[d] = (int32_t)x->shape[d];
  return MR_OK;
}

/* ---- concat / stack: inputs of one shape (except the concat axis) laid side by side --------- */

typedef struct cat_plan {
  int axis, interleave;
} cat_plan;

/* All members of tuple param `values` must have x0's storage and rank, and x0's dims except on
 * `skip` (-1: none). */
static int check_members(exec_node *n, int values, int skip, mr_error *err) {
  const exec_tensor *x0 = n->in[values][0];
  char s0[128], si[128];
  for (int i = 0; i < n->n_items[values]; i++) {
    const exec_tensor *xi = n->in[values][i];
    int ok = xi->storage == x0->storage && xi->rank == x0->rank && esize(xi);
    for (int d = 0; ok && d < x0->rank; d++) ok = d == skip || xi->shape[d] == x0->shape[d];
    if (!ok)
      return exec_node_err(n, err, MR_ESHAPE, "values[%d] %s %s does not match values[0] %s %s", i,
                           exec_dtype_name(xi->dtype), exec_shape_str(xi->rank, xi->shape, si, sizeof si),
                           exec_dtype_name(x0->dtype), exec_shape_str(x0->rank, x0->shape, s0, sizeof s0));
  }
  return exec_same_storage(n, 0, x0, err);
}

int exec_concat_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_concat_values, err), axis, inter;
  if (rc) return rc;
  const exec_tensor *x0 = n->in[P_concat_values][0];
  int64_t a;
  if ((rc = exec_param_int(n, P_concat_axis, 0, &a, err)) || (rc = exec_param_bool(n, P_concat_interleave, 0, &inter, err))) return rc;
  if (!exec_in(n, P_concat_axis)) return exec_need(n, P_concat_axis, err);
  if ((rc = exec_axis(n, a, x0->rank, &axis, err))) return rc;
  if ((rc = check_members(n, P_concat_values, inter ? -1 : axis, err))) return rc;
  cat_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->axis = axis, p->interleave = inter;
  int64_t shape[MR_MAX_RANK];
  memcpy(shape, x0->shape, sizeof shape);
  shape[axis] = 0;
  for (int i = 0; i < n->n_items[P_concat_values]; i++) shape[axis] += n->in[P_concat_values][i]->shape[axis];
  return exec_set_out_shape(n, 0, x0->rank, shape, err);
}

int exec_concat_run(exec_node *n, mr_error *err) {
  const cat_plan *p = n->priv;
  exec_tensor *o = n->out[0];
  int64_t dst[MR_MAX_RANK], src[MR_MAX_RANK], at = 0, cnt = n->n_items[P_concat_values];
  size_t es = esize(o);
  exec_strides(o->rank, o->shape, dst);
  int64_t step = dst[p->axis];
  if (p->interleave) dst[p->axis] *= cnt; /* input i lands at positions j * cnt + i */
  for (int i = 0; i < cnt; i++) {
    const exec_tensor *xi = n->in[P_concat_values][i];
    exec_strides(xi->rank, xi->shape, src);
    char *base = (char *)o->data + (size_t)(p->interleave ? i * step : at * step) * es;
    exec_copy_strided_par(n, xi->storage, o->storage, xi->rank, xi->shape, xi->data, src, base, dst);
    at += xi->shape[p->axis];
  }
  return MR_OK;
}

int exec_stack_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_stack_values, err), axis;
  if (rc) return rc;
  const exec_tensor *x0 = n->in[P_stack_values][0];
  int64_t a;
  if ((rc = exec_param_int(n, P_stack_axis, 0, &a, err))) return rc;
  if (x0->rank + 1 > MR_MAX_RANK) return exec_node_err(n, err, MR_ESHAPE, "result rank is over %d", MR_MAX_RANK);
  if ((rc = exec_axis(n, a, x0->rank + 1, &axis, err))) return rc;
  if ((rc = check_members(n, P_stack_values, -1, err))) return rc;
  cat_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->axis = axis;
  int64_t shape[MR_MAX_RANK];
  for (int d = 0, j = 0; d <= x0->rank; d++) shape[d] = d == axis ? n->n_items[P_stack_values] : x0->shape[j++];
  return exec_set_out_shape(n, 0, x0->rank + 1, shape, err);
}

int exec_stack_run(exec_node *n, mr_error *err) {
  const cat_plan *p = n->priv;
  exec_tensor *o = n->out[0];
  int64_t ost[MR_MAX_RANK], dst[MR_MAX_RANK], src[MR_MAX_RANK];
  size_t es = esize(o);
  exec_strides(o->rank, o->shape, ost);
  for (int d = 0, j = 0; d < o->rank; d++)
    if (d != p->axis) dst[j++] = ost[d];
  for (int i = 0; i < n->n_items[P_stack_values]; i++) {
    const exec_tensor *xi = n->in[P_stack_values][i];
    exec_strides(xi->rank, xi->shape, src);
    exec_copy_strided(es, xi->rank, xi->shape, xi->data, src, (char *)o->data + (size_t)(i * ost[p->axis]) * es, dst);
  }
  return MR_OK;
}

/* ---- split --------------------------------------------------------------------------------- */

typedef struct split_plan {
  int axis;
} split_plan;

int exec_split_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_split_x, err), axis, count;
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_split_x);
  int64_t a, num, sizes[256];
  if ((rc = exec_param_int(n, P_split_axis, 0, &a, err)) || (rc = exec_param_int(n, P_split_num_splits, n->n_out, &num, err))) return rc;
  if ((rc = exec_param_ints(n, P_split_split_sizes, sizes, 256, &count, err))) return rc;
  if ((rc = exec_axis(n, a, x->rank, &axis, err))) return rc;
  int64_t dim = x->shape[axis], total = 0;
  if (count < 0) {
    if (num != n->n_out || num <= 0 || dim % num)
      return exec_node_err(n, err, MR_ESHAPE, "cannot split a dim of %lld into %lld equal parts for %d outputs",
                           (long long)dim, (long long)num, n->n_out);
    for (int i = 0; i < n->n_out; i++) sizes[i] = dim / num;
  } else if (count != n->n_out) {
    return exec_node_err(n, err, MR_ESHAPE, "split_sizes has %d values for %d outputs", count, n->n_out);
  }
  for (int i = 0; i < n->n_out; i++) total += sizes[i] < 0 ? -1000000000 : sizes[i];
  if (total != dim)
    return exec_node_err(n, err, MR_ESHAPE, "split_sizes do not add up to the dim %lld", (long long)dim);
  split_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->axis = axis;
  for (int i = 0; i < n->n_out; i++) {
    int64_t shape[MR_MAX_RANK];
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = sizes[i];
    if ((rc = exec_same_storage(n, i, x, err)) || (rc = exec_set_out_shape(n, i, x->rank, shape, err))) return rc;
  }
  return esize(x) ? MR_OK : exec_err_storage(n, err, "x", x);
}

int exec_split_run(exec_node *n, mr_error *err) {
  const split_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_split_x);
  int64_t xs[MR_MAX_RANK], dst[MR_MAX_RANK], at = 0;
  exec_strides(x->rank, x->shape, xs);
  for (int i = 0; i < n->n_out; i++) {
    exec_tensor *o = n->out[i];
    exec_strides(o->rank, o->shape, dst);
    exec_copy_strided(esize(x), o->rank, o->shape, (const char *)x->data + (size_t)(at * xs[p->axis]) * esize(x), xs,
                      o->data, dst);
    at += o->shape[p->axis];
  }
  return MR_OK;
}

/* ---- tile ---------------------------------------------------------------------------------- */

/* reps may be shorter than x's rank (leading 1s); all > 0. */
static int tile_reps(const exec_node *n, const exec_tensor *x, int64_t *reps, int64_t *shape, mr_error *err) {
  int64_t r[MR_MAX_RANK];
  int count = exec_read_ints(exec_in(n, P_tile_reps), r, MR_MAX_RANK);
  if (count < 0 || count > x->rank)
    return exec_node_err(n, err, MR_ESHAPE, "reps must be an int tensor of at most %d values", x->rank);
  for (int d = 0; d < x->rank; d++) {
    int j = d - (x->rank - count);
    reps[d] = j >= 0 ? r[j] : 1;
    if (reps[d] < 0) return exec_node_err(n, err, MR_ESHAPE, "reps must be >= 0, got %lld", (long long)reps[d]);
    shape[d] = x->shape[d] * reps[d];
  }
  return MR_OK;
}

int exec_tile_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_tile_x, err);
  if (rc || (rc = exec_need(n, P_tile_reps, err))) return rc;
  const exec_tensor *x = exec_in(n, P_tile_x);
  if ((rc = need_data(n, x, err))) return rc;
  if (!exec_in(n, P_tile_reps)->is_const) return exec_keep_declared(n, 0, err);
  int64_t reps[MR_MAX_RANK], shape[MR_MAX_RANK];
  if ((rc = tile_reps(n, x, reps, shape, err))) return rc;
  return exec_set_out_shape(n, 0, x->rank, shape, err);
}

int exec_tile_run(exec_node *n, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_tile_x);
  exec_tensor *o = n->out[0];
  int64_t reps[MR_MAX_RANK], shape[MR_MAX_RANK], xs[MR_MAX_RANK], os[MR_MAX_RANK];
  int rc = tile_reps(n, x, reps, shape, err);
  if (rc || (rc = exec_check_run_shape(n, 0, x->rank, shape, err))) return rc;
  /* View the output as [reps0, d0, reps1, d1, ...]: source stride 0 on the reps dims. */
  int64_t vshape[2 * MR_MAX_RANK], vsrc[2 * MR_MAX_RANK], vdst[2 * MR_MAX_RANK];
  exec_strides(x->rank, x->shape, xs);
  exec_strides(o->rank, o->shape, os);
  for (int d = 0; d < x->rank; d++) {
    vshape[2 * d] = reps[d], vsrc[2 * d] = 0, vdst[2 * d] = os[d] * x->shape[d];
    vshape[2 * d + 1] = x->shape[d], vsrc[2 * d + 1] = xs[d], vdst[2 * d + 1] = os[d];
  }
  exec_copy_strided(esize(x), 2 * x->rank, vshape, x->data, vsrc, o->data, vdst);
  return MR_OK;
}

/* ---- pad ----------------------------------------------------------------------------------- */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_REPLICATE };

typedef struct pad_plan {
  int mode;
  float value;
} pad_plan;

/* Before/after amounts for every dim of x (pad covers the last len/2 dims). */
static int pad_amounts(const exec_node *n, const exec_tensor *x, int mode, int64_t *before, int64_t *shape,
                       mr_error *err) {
  int64_t pad[2 * MR_MAX_RANK];
  int count = exec_read_ints(exec_in(n, P_pad_pad), pad, 2 * MR_MAX_RANK);
  if (count < 0 || count % 2 || count / 2 > x->rank)
    return exec_node_err(n, err, MR_ESHAPE, "pad must have an even number of values, at most %d", 2 * x->rank);
  int first = x->rank - count / 2;
  for (int d = 0; d < x->rank; d++) {
    int64_t b = d >= first ? pad[2 * (d - first)] : 0, a = d >= first ? pad[2 * (d - first) + 1] : 0;
    if (b < 0 || a < 0) return exec_node_err(n, err, MR_ESHAPE, "pad values must be >= 0");
    if (mode == PAD_REFLECT && (b > x->shape[d] - 1 || a > x->shape[d] - 1))
      return exec_node_err(n, err, MR_ESHAPE, "reflect padding of %lld needs a dim larger than %lld",
                           (long long)(b > a ? b : a), (long long)x->shape[d]);
    if (mode == PAD_REPLICATE && x->shape[d] == 0 && (a || b))
      return exec_node_err(n, err, MR_ESHAPE, "cannot replicate-pad an empty dim");
    before[d] = b;
    shape[d] = x->shape[d] + a + b;
  }
  return MR_OK;
}

int exec_pad_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_pad_x, err);
  if (rc || (rc = exec_need(n, P_pad_pad, err))) return rc;
  const exec_tensor *x = exec_in(n, P_pad_x);
  if ((rc = need_data(n, x, err))) return rc;
  pad_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  const char *mode;
  double value;
  if ((rc = exec_param_str(n, P_pad_mode, "constant", &mode, err)) || (rc = exec_param_float(n, P_pad_constant_val, 0, &value, err))) return rc;
  if (!strcmp(mode, "constant")) p->mode = PAD_CONSTANT;
  else if (!strcmp(mode, "reflect")) p->mode = PAD_REFLECT;
  else if (!strcmp(mode, "replicate")) p->mode = PAD_REPLICATE;
  else return exec_node_err(n, err, MR_EINVAL, "unknown pad mode '%s'", mode);
  p->value = (float)value;
  if (!exec_in(n, P_pad_pad)->is_const) return exec_keep_declared(n, 0, err);
  int64_t before[MR_MAX_RANK], shape[MR_MAX_RANK];
  if ((rc = pad_amounts(n, x, p->mode, before, shape, err))) return rc;
  return exec_set_out_shape(n, 0, x->rank, shape, err);
}

/* Source index of output index i on a dim of size d padded by b before, or -1 (constant). */
static int64_t pad_src(int mode, int64_t i, int64_t b, int64_t d) {
  int64_t s = i - b;
  if (s >= 0 && s < d) return s;
  if (mode == PAD_CONSTANT) return -1;
  if (mode == PAD_REPLICATE) return s < 0 ? 0 : d - 1;
  return s < 0 ? -s : 2 * (d - 1) - s;
}

int exec_pad_run(exec_node *n, mr_error *err) {
  const pad_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_pad_x);
  exec_tensor *o = n->out[0];
  int64_t before[MR_MAX_RANK], shape[MR_MAX_RANK], c[MR_MAX_RANK] = {0};
  int rc = pad_amounts(n, x, p->mode, before, shape, err);
  if (rc || (rc = exec_check_run_shape(n, 0, x->rank, shape, err))) return rc;
  for (int64_t i = 0; i < o->count; i++) {
    int64_t src = 0;
    for (int d = 0; d < x->rank && src >= 0; d++) {
      int64_t s = pad_src(p->mode, c[d], before[d], x->shape[d]);
      src = s < 0 ? -1 : src * x->shape[d] + s;
    }
    if (src < 0) exec_put(o, i, p->value);
    else if (esize(x) == 4) memcpy((char *)o->data + 4 * i, (const char *)x->data + 4 * src, 4);
    else exec_u8(o)[i] = exec_u8(x)[src];
    for (int d = x->rank - 1; d >= 0 && ++c[d] == shape[d]; d--) c[d] = 0;
  }
  return MR_OK;
}
