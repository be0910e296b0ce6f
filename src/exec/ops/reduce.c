/* reduce.c — reductions over a set of axes (reduce_sum, _mean, _max, ...) and the arg-reductions
 * reduce_argmax/reduce_argmin (docs/formats.md §4.5), plus the reduction geometry that layer_norm
 * shares. Accumulation is in double: these are small next to the matmuls, and it makes
 * reduce_sum over long rows as exact as fp32 output allows. */
#include <math.h>
#include <string.h>

#include "exec/ops/ops.h"

int exec_red_geom_init(const exec_node *n, const exec_tensor *x, const int64_t *axes, int count,
                       exec_red_geom *g, mr_error *err) {
  memset(g, 0, sizeof *g);
  int order[MR_MAX_RANK], nr = 0, rc;
  if (count < 0) {
    for (int d = 0; d < x->rank; d++) order[nr++] = d;
  } else {
    if (count > x->rank)
      return exec_node_err(n, err, MR_ESHAPE, "%d axes given for rank %d", count, x->rank);
    for (int i = 0; i < count; i++) {
      int a;
      if ((rc = exec_axis(n, axes[i], x->rank, &a, err))) return rc;
      if (g->reduced[a]) return exec_node_err(n, err, MR_ESHAPE, "axis %lld is repeated", (long long)axes[i]);
      g->reduced[a] = 1;
      order[nr++] = a;
    }
  }
  for (int i = 0; i < nr; i++) g->reduced[order[i]] = 1;
  int64_t st[MR_MAX_RANK];
  exec_strides(x->rank, x->shape, st);
  g->kcount = g->rcount = 1;
  for (int d = 0; d < x->rank; d++) {
    if (g->reduced[d]) continue;
    g->kshape[g->nk] = x->shape[d], g->kstride[g->nk++] = st[d];
    g->kcount *= x->shape[d];
  }
  for (int i = 0; i < nr; i++) {
    g->rshape[i] = x->shape[order[i]], g->rstride[i] = st[order[i]];
    g->rcount *= x->shape[order[i]];
  }
  g->nr = nr;
  return MR_OK;
}

static int64_t offset_of(int64_t i, int rank, const int64_t *shape, const int64_t *stride) {
  int64_t off = 0;
  for (int d = rank - 1; d >= 0; d--) {
    off += (i % shape[d]) * stride[d];
    i /= shape[d];
  }
  return off;
}

int64_t exec_red_kept(const exec_red_geom *g, int64_t k) { return offset_of(k, g->nk, g->kshape, g->kstride); }

int64_t exec_red_item(const exec_red_geom *g, int64_t r) {
  return g->nr == 1 ? r * g->rstride[0] : offset_of(r, g->nr, g->rshape, g->rstride);
}


typedef struct red_plan {
  int op;
  exec_red_geom g;
} red_plan;

/* The output shape: x's shape without the reduced dims, or with them as 1. */
static int set_reduced_shape(const exec_node *n, const exec_tensor *x, const exec_red_geom *g, int keep,
                             mr_error *err) {
  int64_t shape[MR_MAX_RANK];
  int r = 0;
  for (int d = 0; d < x->rank; d++)
    if (!g->reduced[d]) shape[r++] = x->shape[d];
    else if (keep) shape[r++] = 1;
  return exec_set_out_shape(n, 0, r, shape, err);
}

int exec_reduce_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_reduce_x, err), count, keep;
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_reduce_x);
  if (x->storage != EXEC_F32 && x->storage != EXEC_I32) return exec_err_storage(n, err, "x", x);
  red_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->op = n->def->variant;
  int64_t axes[MR_MAX_RANK + 1];
  if ((rc = exec_param_ints(n, P_reduce_axes, axes, MR_MAX_RANK + 1, &count, err))) return rc;
  if ((rc = exec_param_bool(n, P_reduce_keep_dims, 0, &keep, err))) return rc;
  if ((rc = exec_red_geom_init(n, x, axes, count, &p->g, err))) return rc;
  return set_reduced_shape(n, x, &p->g, keep, err);
}

static double reduce_one(int op, const exec_tensor *x, const exec_red_geom *g, int64_t base) {
  int64_t cnt = g->rcount;
  double acc = op == R_PROD ? 1 : op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : 0, mx = -INFINITY;
  if (op == R_LOGSUMEXP) /* subtract the max so that exp cannot overflow */
    for (int64_t r = 0; r < cnt; r++) mx = fmax(mx, exec_get(x, base + exec_red_item(g, r)));
  for (int64_t r = 0; r < cnt; r++) {
    double v = exec_get(x, base + exec_red_item(g, r));
    switch (op) {
    case R_MAX: acc = v > acc || isnan(v) ? v : acc; break;
    case R_MIN: acc = v < acc || isnan(v) ? v : acc; break;
    case R_PROD: acc *= v; break;
    case R_L1: acc += fabs(v); break;
    case R_L2: case R_SUMSQ: acc += v * v; break;
    case R_LOGSUMEXP: acc += exp(v - mx); break;
    default: acc += v; break;
    }
  }
  switch (op) {
  case R_MEAN: return cnt ? acc / (double)cnt : NAN;
  case R_L2: return sqrt(acc);
  case R_LOGSUM: return log(acc);
  case R_LOGSUMEXP: return isinf(mx) ? mx : mx + log(acc);
  default: return acc;
  }
}

int exec_reduce_run(exec_node *n, mr_error *err) {
  const red_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_reduce_x);
  exec_tensor *o = n->out[0];
  for (int64_t k = 0; k < p->g.kcount; k++) exec_put(o, k, reduce_one(p->op, x, &p->g, exec_red_kept(&p->g, k)));
  return MR_OK;
}

typedef struct argred_plan {
  int is_min;
  exec_red_geom g;
} argred_plan;

int exec_argreduce_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_argreduce_x, err), keep;
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_argreduce_x);
  if (x->storage != EXEC_F32 && x->storage != EXEC_I32) return exec_err_storage(n, err, "x", x);
  if (n->out[0]->storage != EXEC_I32)
    return exec_node_err(n, err, MR_ESHAPE, "output must be an integer type, declared %s",
                         exec_dtype_name(n->out[0]->dtype));
  argred_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->is_min = n->def->variant == ARG_MIN;
  int64_t axis;
  if ((rc = exec_param_int(n, P_argreduce_axis, -1, &axis, err)) || (rc = exec_param_bool(n, P_argreduce_keep_dims, 0, &keep, err))) return rc;
  if ((rc = exec_red_geom_init(n, x, &axis, 1, &p->g, err))) return rc;
  return set_reduced_shape(n, x, &p->g, keep, err);
}

int exec_argreduce_run(exec_node *n, mr_error *err) {
  const argred_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_argreduce_x);
  for (int64_t k = 0; k < p->g.kcount; k++) {
    int64_t base = exec_red_kept(&p->g, k), best = 0;
    double bv = 0;
    for (int64_t r = 0; r < p->g.rcount; r++) { /* first index wins ties */
      double v = exec_get(x, base + r * p->g.rstride[0]);
      if (r == 0 || (p->is_min ? v < bv : v > bv)) bv = v, best = r;
    }
    exec_i32(n->out[0])[k] = (int32_t)best;
  }
  return MR_OK;
}
