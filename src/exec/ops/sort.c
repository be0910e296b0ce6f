/* sort.c — topk, argsort and cumsum along one axis (docs/formats.md §4.8). Rows along the axis are
 * (outer, inner) pairs with stride `inner`. Sorting copies a row into scratch as (value, index)
 * pairs and heapsorts them there (no allocation) with ties broken by the lower index, so results
 * are deterministic. */
#include <string.h>

#include "exec/ops/ops.h"

typedef struct sort_item {
  float v;
  int32_t i;
} sort_item;

/* a comes before b in the result: by value (descending unless asc), ties by the lower index. The
 * order is total, so the unstable heapsort below still gives one deterministic answer. */
static int before(const sort_item *a, const sort_item *b, int asc) {
  if (a->v != b->v) return asc ? a->v < b->v : a->v > b->v;
  return a->i < b->i;
}

static void sift_down(sort_item *h, int64_t root, int64_t n, int asc) {
  for (int64_t child; (child = 2 * root + 1) < n; root = child) {
    if (child + 1 < n && before(&h[child], &h[child + 1], asc)) child++;
    if (!before(&h[root], &h[child], asc)) return;
    sort_item t = h[root];
    h[root] = h[child], h[child] = t;
  }
}

/* In-place heapsort: no allocation (qsort may call malloc), O(n log n). */
static void heap_sort(sort_item *h, int64_t n, int asc) {
  for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(h, i, n, asc);
  for (int64_t end = n - 1; end > 0; end--) {
    sort_item t = h[0];
    h[0] = h[end], h[end] = t;
    sift_down(h, 0, end, asc);
  }
}

typedef struct sort_plan {
  int x, axis, ascending; /* x: the index of param x (topk and argsort have different lists) */
  int64_t outer, len, inner, k;
} sort_plan;

static int sort_plan_init(exec_node *n, int x_idx, int axis_idx, int asc_idx, sort_plan **out, mr_error *err) {
  int rc = exec_need(n, x_idx, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, x_idx);
  if (x->storage != EXEC_F32 && x->storage != EXEC_I32) return exec_err_storage(n, err, "x", x);
  if (x->rank < 1) return exec_node_err(n, err, MR_ESHAPE, "x must have rank >= 1");
  sort_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->x = x_idx;
  int64_t a;
  if ((rc = exec_param_int(n, axis_idx, -1, &a, err)) || (rc = exec_param_bool(n, asc_idx, 0, &p->ascending, err))) return rc;
  if ((rc = exec_axis(n, a, x->rank, &p->axis, err))) return rc;
  p->outer = p->inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < p->axis) p->outer *= x->shape[d];
    if (d > p->axis) p->inner *= x->shape[d];
  }
  p->len = p->k = x->shape[p->axis];
  *out = p;
  return MR_OK;
}

size_t exec_sort_scratch(const exec_node *n) {
  const sort_plan *p = n->priv;
  return (size_t)p->len * (sizeof(sort_item) / sizeof(float));
}

/* Sort row (o, i) into items; returns items. */
static sort_item *sort_row(const exec_node *n, const sort_plan *p, int64_t o, int64_t i) {
  const exec_tensor *x = exec_in(n, p->x);
  sort_item *items = (sort_item *)(void *)n->scratch;
  for (int64_t j = 0; j < p->len; j++) {
    items[j].v = (float)exec_get(x, (o * p->len + j) * p->inner + i);
    items[j].i = (int32_t)j;
  }
  heap_sort(items, p->len, p->ascending);
  return items;
}

int exec_topk_plan(exec_node *n, mr_error *err) {
  sort_plan *p = NULL;
  int rc = sort_plan_init(n, P_topk_x, P_topk_axis, P_topk_ascending, &p, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_topk_x);
  int64_t k;
  if ((rc = exec_param_int(n, P_topk_k, 1, &k, err))) return rc;
  if (k < 0 || k > p->len)
    return exec_node_err(n, err, MR_ESHAPE, "k = %lld is out of range for a dim of size %lld", (long long)k, (long long)p->len);
  p->k = k;
  int64_t shape[MR_MAX_RANK];
  memcpy(shape, x->shape, sizeof shape);
  shape[p->axis] = k;
  if ((rc = exec_same_storage(n, 0, x, err)) || (rc = exec_set_out_shape(n, 0, x->rank, shape, err))) return rc;
  if (n->n_out > 1 && n->out[1]->storage != EXEC_I32)
    return exec_node_err(n, err, MR_ESHAPE, "indices output must be an integer type, declared %s", exec_dtype_name(n->out[1]->dtype));
  return n->n_out > 1 ? exec_set_out_shape(n, 1, x->rank, shape, err) : MR_OK;
}

int exec_topk_run(exec_node *n, mr_error *err) {
  const sort_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_topk_x);
  for (int64_t o = 0; o < p->outer; o++)
    for (int64_t i = 0; i < p->inner; i++) {
      const sort_item *items = sort_row(n, p, o, i);
      for (int64_t j = 0; j < p->k; j++) {
        int64_t dst = (o * p->k + j) * p->inner + i;
        exec_put(n->out[0], dst, exec_get(x, (o * p->len + items[j].i) * p->inner + i));
        if (n->n_out > 1) exec_i32(n->out[1])[dst] = items[j].i;
      }
    }
  return MR_OK;
}

int exec_argsort_plan(exec_node *n, mr_error *err) {
  sort_plan *p = NULL;
  int rc = sort_plan_init(n, P_argsort_x, P_argsort_axis, P_argsort_ascending, &p, err);
  if (rc) return rc;
  if (n->out[0]->storage != EXEC_I32)
    return exec_node_err(n, err, MR_ESHAPE, "output must be an integer type, declared %s", exec_dtype_name(n->out[0]->dtype));
  const exec_tensor *x = exec_in(n, P_argsort_x);
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

int exec_argsort_run(exec_node *n, mr_error *err) {
  const sort_plan *p = n->priv;
  for (int64_t o = 0; o < p->outer; o++)
    for (int64_t i = 0; i < p->inner; i++) {
      const sort_item *items = sort_row(n, p, o, i);
      for (int64_t j = 0; j < p->len; j++) exec_i32(n->out[0])[(o * p->len + j) * p->inner + i] = items[j].i;
    }
  return MR_OK;
}

/* ---- cumsum -------------------------------------------------------------------------------- */

typedef struct cumsum_plan {
  sort_plan g; /* geometry only */
  int exclusive, reverse;
} cumsum_plan;

int exec_cumsum_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_cumsum_x, err), axis;
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_cumsum_x);
  if (x->storage != EXEC_F32 && x->storage != EXEC_I32) return exec_err_storage(n, err, "x", x);
  if ((rc = exec_same_storage(n, 0, x, err))) return rc;
  cumsum_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  int64_t a;
  if ((rc = exec_param_int(n, P_cumsum_axis, 0, &a, err)) || (rc = exec_param_bool(n, P_cumsum_exclusive, 0, &p->exclusive, err)) ||
      (rc = exec_param_bool(n, P_cumsum_reverse, 0, &p->reverse, err)))
    return rc;
  if ((rc = exec_axis(n, a, x->rank, &axis, err))) return rc;
  p->g.outer = p->g.inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < axis) p->g.outer *= x->shape[d];
    if (d > axis) p->g.inner *= x->shape[d];
  }
  p->g.len = x->shape[axis];
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

int exec_cumsum_run(exec_node *n, mr_error *err) {
  const cumsum_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_cumsum_x);
  for (int64_t o = 0; o < p->g.outer; o++)
    for (int64_t i = 0; i < p->g.inner; i++) {
      double acc = 0;
      for (int64_t s = 0; s < p->g.len; s++) {
        int64_t j = p->reverse ? p->g.len - 1 - s : s, at = (o * p->g.len + j) * p->g.inner + i;
        double v = exec_get(x, at);
        if (!p->exclusive) acc += v;
        exec_put(n->out[0], at, acc);
        if (p->exclusive) acc += v;
      }
    }
  return MR_OK;
}
