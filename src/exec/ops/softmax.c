/* softmax.c — softmax along one axis (docs/formats.md §4.4): exp(x - max) / sum. The axis splits x
 * into outer x len x inner; each (outer, inner) pair is one row with stride `inner`. A row of all
 * -inf has max -inf, so x - max is NaN and the whole row is NaN, as the spec says. */
#include <math.h>

#include "exec/kernels/kernels.h"
#include "exec/ops/ops.h"

typedef struct softmax_plan {
  int64_t outer, len, inner;
} softmax_plan;

int exec_softmax_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_softmax_x, err), axis;
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_softmax_x);
  if (x->storage != EXEC_F32 || n->out[0]->storage != EXEC_F32)
    return exec_node_err(n, err, MR_ESHAPE, "input and output must be float, got %s -> %s",
                         exec_dtype_name(x->dtype), exec_dtype_name(n->out[0]->dtype));
  int64_t a;
  if ((rc = exec_param_int(n, P_softmax_axis, -1, &a, err))) return rc;
  if ((rc = exec_axis(n, a, x->rank, &axis, err))) return rc;
  softmax_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->outer = p->inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < axis) p->outer *= x->shape[d];
    if (d > axis) p->inner *= x->shape[d];
  }
  p->len = x->shape[axis];
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

static void softmax_row(const float *x, float *y, int64_t len, int64_t st) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < len; i++) mx = x[i * st] > mx ? x[i * st] : mx;
  float sum = 0;
  for (int64_t i = 0; i < len; i++) sum += (y[i * st] = expf(x[i * st] - mx));
  float inv = 1.0f / sum;
  for (int64_t i = 0; i < len; i++) y[i * st] *= inv;
}

/* Rows split between threads; contiguous rows (the last axis) go to the kernel table. */
static void softmax_part(const exec_node *n, void *ctx, int ith, int nth) {
  const softmax_plan *p = n->priv;
  const float *x = exec_f32(exec_in(n, P_softmax_x));
  float *y = exec_f32(n->out[0]);
  int64_t lo, hi;
  (void)ctx;
  exec_split(p->outer * p->inner, 1, ith, nth, &lo, &hi);
  for (int64_t r = lo; r < hi; r++) {
    int64_t o = r / p->inner, i = r % p->inner, base = o * p->len * p->inner + i;
    if (p->inner == 1) exec_kernels()->softmax(x + base, y + base, p->len);
    else softmax_row(x + base, y + base, p->len, p->inner);
  }
}

int exec_softmax_run(exec_node *n, mr_error *err) {
  const softmax_plan *p = n->priv;
  (void)err;
  exec_parallel(n, 8 * p->outer * p->inner * p->len, softmax_part, NULL); /* work: an exp is ~8 multiply-adds */
  return MR_OK;
}
