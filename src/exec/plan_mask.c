/* plan_mask.c — attention scores that the causal mask hides.
 *
 * A decoder's attention computes scores = Q . K^T over every position of the cache, scales them,
 * adds the causal mask (-inf after the current position) and takes a softmax over positions:
 *   matmul -> [mul/real_div by a constant scalar | reshape keeping the last dim]* -> add(mask)
 *   -> softmax over the last axis.
 * A column of the scores that is -inf in every row of the mask ends as -inf whatever the matmul
 * wrote there (a finite score scaled is finite, and finite + -inf = -inf), so the matmul may skip
 * it. The planner only points the matmul at the mask (exec_node.hidden_by); the matmul reads it on
 * each run, when the mask's values are known. Every value on the way must have that one reader,
 * so nothing else sees the skipped scores. */
#include "exec/ops/ops.h"
#include "exec/planner.h"

/* The one op step reading t, or -1 when none or several read it (or one reads it twice). */
static int only_reader(const exec_function *f, const exec_tensor *t, int *param) {
  int k = next_reader(f, t, -1, param), again;
  if (k < 0 || *param < 0 || next_reader(f, t, k, &again) >= 0) return -1;
  for (int i = *param + 1; i < EXEC_MAX_PARAMS; i++) /* a second slot of the same op */
    for (int j = 0; f->steps[k].node.in[i] && j < f->steps[k].node.n_items[i]; j++)
      if (f->steps[k].node.in[i][j] == t) return -1;
  return k;
}

static int is_binary(const exec_node *n, int variant) { return n->def->run == exec_binary_run && n->def->variant == variant; }

static int is_const_scalar(const exec_tensor *t) { return t && t->is_const && t->count == 1 && t->storage == EXEC_F32; }

/* Whether n is a softmax over the last axis of its input. */
static int softmax_last_axis(const exec_node *n) {
  const exec_tensor *x = exec_in(n, P_softmax_x), *a = exec_in(n, P_softmax_axis);
  if (n->def->run != exec_softmax_run) return 0;
  int64_t axis = a ? (int64_t)exec_get(a, 0) : -1;
  return (!a || (a->is_const && a->count == 1)) && (axis == -1 || axis == x->rank - 1);
}

/* The mask that hides columns of matmul step k's output, or NULL. */
static const exec_tensor *mask_after(const planner *p, int k) {
  const exec_function *f = p->f;
  const exec_tensor *t = f->steps[k].node.out[0];
  int64_t cols = t->rank ? t->shape[t->rank - 1] : 0;
  for (int hops = 0; hops < 8; hops++) {
    int v = value_index(p, t), param, r = only_reader(f, t, &param);
    if (v < 0 || p->vals[v].keep || r < 0) return NULL;
    const exec_node *n = &f->steps[r].node;
    const exec_tensor *out = n->out[0], *other = exec_in(n, param == P_binary_x ? P_binary_y : P_binary_x);
    if (n->n_out != 1 || !out->rank || out->shape[out->rank - 1] != cols) return NULL;
    if ((is_binary(n, B_MUL) || (is_binary(n, B_DIV) && param == P_binary_x)) && is_const_scalar(other)) {
      t = out;
    } else if (n->def->run == exec_reshape_run && n->def->variant == RS_RESHAPE) {
      t = out;
    } else if (is_binary(n, B_ADD) && other->storage == EXEC_F32 && other->rank && other->shape[other->rank - 1] == cols) {
      int vo = value_index(p, out), sp, s = only_reader(f, out, &sp);
      return vo >= 0 && !p->vals[vo].keep && s >= 0 && softmax_last_axis(&f->steps[s].node) ? other : NULL;
    } else {
      return NULL;
    }
  }
  return NULL;
}

void plan_mark_masked_scores(planner *p) {
  exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    exec_step *st = &f->steps[k];
    if (st->kind == EXEC_STEP_OP && st->node.def->run == exec_matmul_run && !st->in_place && st->node.n_out == 1)
      st->node.hidden_by = mask_after(p, k);
  }
}
