/* norm.c — layer_norm, batch_norm, instance_norm and l2_norm (docs/formats.md §4.6). Statistics are
 * computed in double with two passes (mean, then the biased variance), so fp16 models that
 * normalise rows of large values (Anemll's concat([x, -x]) trick) do not lose precision. */
#include <math.h>
#include <string.h>

#include "exec/kernels/kernels.h"
#include "exec/ops/ops.h"

/* Optional per-channel/per-feature vector: F32 with `count` values, else an error. */
static int check_vec(exec_node *n, const char *pname, const exec_tensor *t, int rank, const int64_t *shape,
                     mr_error *err) {
  if (!t) return MR_OK;
  if (t->storage == EXEC_F32 && exec_shape_equal(t, rank, shape)) return MR_OK;
  if (t->storage == EXEC_F32 && rank == 1 && t->count == shape[0]) return MR_OK;
  char sg[128], sw[128];
  return exec_node_err(n, err, MR_ESHAPE, "%s %s %s must be float %s", pname, exec_dtype_name(t->dtype),
                       exec_shape_str(t->rank, t->shape, sg, sizeof sg), exec_shape_str(rank, shape, sw, sizeof sw));
}

static int need_float(exec_node *n, const exec_tensor *x, mr_error *err) {
  if (x->storage == EXEC_F32 && n->out[0]->storage == EXEC_F32) return MR_OK;
  return exec_node_err(n, err, MR_ESHAPE, "input and output must be float, got %s -> %s",
                       exec_dtype_name(x->dtype), exec_dtype_name(n->out[0]->dtype));
}

/* ---- layer_norm ---------------------------------------------------------------------------- */

typedef struct ln_plan {
  exec_red_geom g;
  float eps;
} ln_plan;

int exec_layer_norm_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_layer_norm_x, err), count;
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_layer_norm_x);
  if ((rc = need_float(n, x, err))) return rc;
  ln_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  int64_t axes[MR_MAX_RANK + 1];
  double eps;
  if ((rc = exec_param_ints(n, P_layer_norm_axes, axes, MR_MAX_RANK + 1, &count, err))) return rc;
  if ((rc = exec_param_float(n, P_layer_norm_epsilon, 1e-5, &eps, err))) return rc;
  if ((rc = exec_red_geom_init(n, x, axes, count, &p->g, err))) return rc;
  p->eps = (float)eps;
  if ((rc = check_vec(n, "gamma", exec_in(n, P_layer_norm_gamma), p->g.nr, p->g.rshape, err))) return rc;
  if ((rc = check_vec(n, "beta", exec_in(n, P_layer_norm_beta), p->g.nr, p->g.rshape, err))) return rc;
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

/* Contiguous rows split between threads, each normalised by the kernel table. */
static void ln_rows_part(const exec_node *n, void *ctx, int ith, int nth) {
  const ln_plan *p = n->priv;
  const exec_red_geom *g = &p->g;
  const float *x = exec_f32(exec_in(n, P_layer_norm_x));
  const exec_tensor *gt = exec_in(n, P_layer_norm_gamma), *bt = exec_in(n, P_layer_norm_beta);
  float *y = exec_f32(n->out[0]);
  int64_t lo, hi;
  (void)ctx;
  exec_split(g->kcount, 1, ith, nth, &lo, &hi);
  for (int64_t k = lo; k < hi; k++) {
    int64_t base = exec_red_kept(g, k);
    exec_kernels()->layer_norm(x + base, g->rcount, p->eps, gt ? exec_f32(gt) : NULL, bt ? exec_f32(bt) : NULL,
                               y + base);
  }
}

int exec_layer_norm_run(exec_node *n, mr_error *err) {
  const ln_plan *p = n->priv;
  const exec_red_geom *g = &p->g;
  const float *x = exec_f32(exec_in(n, P_layer_norm_x));
  const exec_tensor *gt = exec_in(n, P_layer_norm_gamma), *bt = exec_in(n, P_layer_norm_beta);
  float *y = exec_f32(n->out[0]);
  if (g->nr == 1 && g->rstride[0] == 1) { /* contiguous rows (the last axes, as in every transformer) */
    exec_parallel(n, 4 * g->kcount * g->rcount, ln_rows_part, NULL);
    return MR_OK;
  }
  for (int64_t k = 0; k < g->kcount; k++) {
    int64_t base = exec_red_kept(g, k);
    double mean = 0, var = 0;
    for (int64_t r = 0; r < g->rcount; r++) mean += x[base + exec_red_item(g, r)];
    mean /= (double)(g->rcount ? g->rcount : 1);
    for (int64_t r = 0; r < g->rcount; r++) {
      double d = x[base + exec_red_item(g, r)] - mean;
      var += d * d;
    }
    var /= (double)(g->rcount ? g->rcount : 1);
    double inv = 1.0 / sqrt(var + p->eps);
    for (int64_t r = 0; r < g->rcount; r++) {
      int64_t i = base + exec_red_item(g, r);
      double v = (x[i] - mean) * inv;
      if (gt) v *= exec_f32(gt)[r];
      if (bt) v += exec_f32(bt)[r];
      y[i] = (float)v;
    }
  }
  return MR_OK;
}

/* ---- batch_norm / instance_norm: per channel (axis 1) --------------------------------------- */

typedef struct chan_plan {
  int64_t batch, channels, inner;
  float eps;
} chan_plan;

static int chan_plan_init(exec_node *n, int x_idx, int eps_idx, chan_plan **out, mr_error *err) {
  int rc = exec_need(n, x_idx, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, x_idx);
  char sx[128];
  if ((rc = need_float(n, x, err))) return rc;
  if (x->rank < 2)
    return exec_node_err(n, err, MR_ESHAPE, "x %s must be [N, C, ...]", exec_shape_str(x->rank, x->shape, sx, sizeof sx));
  chan_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  double eps;
  if ((rc = exec_param_float(n, eps_idx, 1e-5, &eps, err))) return rc;
  p->eps = (float)eps;
  p->batch = x->shape[0], p->channels = x->shape[1], p->inner = 1;
  for (int d = 2; d < x->rank; d++) p->inner *= x->shape[d];
  *out = p;
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

static float vec_or(const exec_tensor *t, int64_t c, float dflt) { return t ? exec_f32(t)[c] : dflt; }

int exec_batch_norm_plan(exec_node *n, mr_error *err) {
  chan_plan *p = NULL;
  int rc = chan_plan_init(n, P_batch_norm_x, P_batch_norm_epsilon, &p, err);
  if (rc || (rc = exec_need(n, P_batch_norm_mean, err)) || (rc = exec_need(n, P_batch_norm_variance, err))) return rc;
  const int vecs[4] = {P_batch_norm_mean, P_batch_norm_variance, P_batch_norm_gamma, P_batch_norm_beta};
  for (int i = 0; i < 4; i++)
    if ((rc = check_vec(n, n->def->params[vecs[i]], exec_in(n, vecs[i]), 1, &p->channels, err))) return rc;
  return MR_OK;
}

int exec_batch_norm_run(exec_node *n, mr_error *err) {
  const chan_plan *p = n->priv;
  const float *x = exec_f32(exec_in(n, P_batch_norm_x));
  float *y = exec_f32(n->out[0]);
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t c = 0; c < p->channels; c++) {
      float mean = exec_f32(exec_in(n, P_batch_norm_mean))[c], var = exec_f32(exec_in(n, P_batch_norm_variance))[c];
      float scale = vec_or(exec_in(n, P_batch_norm_gamma), c, 1) / sqrtf(var + p->eps), shift = vec_or(exec_in(n, P_batch_norm_beta), c, 0);
      int64_t off = (b * p->channels + c) * p->inner;
      for (int64_t i = 0; i < p->inner; i++) y[off + i] = (x[off + i] - mean) * scale + shift;
    }
  return MR_OK;
}

int exec_instance_norm_plan(exec_node *n, mr_error *err) {
  chan_plan *p = NULL;
  int rc = chan_plan_init(n, P_instance_norm_x, P_instance_norm_epsilon, &p, err);
  if (rc || (rc = check_vec(n, "gamma", exec_in(n, P_instance_norm_gamma), 1, &p->channels, err))) return rc;
  return check_vec(n, "beta", exec_in(n, P_instance_norm_beta), 1, &p->channels, err);
}

int exec_instance_norm_run(exec_node *n, mr_error *err) {
  const chan_plan *p = n->priv;
  const float *x = exec_f32(exec_in(n, P_instance_norm_x));
  float *y = exec_f32(n->out[0]);
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t c = 0; c < p->channels; c++) {
      int64_t off = (b * p->channels + c) * p->inner;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < p->inner; i++) mean += x[off + i];
      mean /= (double)(p->inner ? p->inner : 1);
      for (int64_t i = 0; i < p->inner; i++) var += (x[off + i] - mean) * (x[off + i] - mean);
      var /= (double)(p->inner ? p->inner : 1);
      double scale = vec_or(exec_in(n, P_instance_norm_gamma), c, 1) / sqrt(var + p->eps), shift = vec_or(exec_in(n, P_instance_norm_beta), c, 0);
      for (int64_t i = 0; i < p->inner; i++) y[off + i] = (float)((x[off + i] - mean) * scale + shift);
    }
  return MR_OK;
}

/* ---- l2_norm: x / sqrt(sum of squares over the last 3 dims + eps) ---------------------------- */

int exec_l2_norm_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_l2_norm_x, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_l2_norm_x);
  char sx[128];
  if ((rc = need_float(n, x, err))) return rc;
  if (x->rank < 3)
    return exec_node_err(n, err, MR_ESHAPE, "x %s must have rank >= 3", exec_shape_str(x->rank, x->shape, sx, sizeof sx));
  chan_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  double eps;
  if ((rc = exec_param_float(n, P_l2_norm_epsilon, 1e-6, &eps, err))) return rc;
  p->eps = (float)eps;
  p->inner = x->shape[x->rank - 1] * x->shape[x->rank - 2] * x->shape[x->rank - 3];
  p->batch = p->inner ? x->count / p->inner : 0;
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

int exec_l2_norm_run(exec_node *n, mr_error *err) {
  const chan_plan *p = n->priv;
  const float *x = exec_f32(exec_in(n, P_l2_norm_x));
  float *y = exec_f32(n->out[0]);
  for (int64_t b = 0; b < p->batch; b++) {
    const float *xb = x + b * p->inner;
    double ss = 0;
    for (int64_t i = 0; i < p->inner; i++) ss += (double)xb[i] * xb[i];
    double inv = 1.0 / sqrt(ss + p->eps);
    for (int64_t i = 0; i < p->inner; i++) y[b * p->inner + i] = (float)(xb[i] * inv);
  }
  return MR_OK;
}
