/* plan_gemv.c — decode products of one input computed together.
 *
 * An attention's q, k and v projections (and an MLP's gate and up, an LM head's parts) are 1x1
 * convs of the same activation row, one after the other or nearly. Run one after the other, each
 * is a job of its own: the pool is handed work, both threads start fresh streams through DRAM, and
 * the first to finish waits for the other (a 2 MB fp16 product streamed at about three quarters of
 * the rate of long ones on the development machine). Grouped, the threads claim runs of rows
 * across all of them in one job (exec_wmat_gemv_claim). The products are the same, row by row. */
#include "exec/ops/ops.h"
#include "exec/planner.h"

/* Whether step k is a decode product whose result is an activation (not a state's buffer) and
 * whose bias, if any, exists before step `from`. */
static int groupable(const planner *p, int k, int from, exec_wmat *m) {
  const exec_step *st = &p->f->steps[k];
  if (st->kind != EXEC_STEP_OP || st->in_place || st->fused || st->node.n_out != 1 || !exec_conv_decode_rows(&st->node, m))
    return 0;
  const exec_tensor *b = exec_in(&st->node, P_conv_bias);
  int v = value_index(p, st->node.out[0]), vb = b && !b->is_const ? value_index(p, b) : -1;
  return v >= 0 && p->vals[v].alias < 0 && (vb < 0 || p->vals[vb].producer < from);
}

/* How many steps after a group's last product a later product of the same x may still join it. */
#define GROUP_REACH 4

void plan_group_gemv(planner *p) {
  exec_function *f = p->f;
  for (int k0 = 0; k0 < f->n_steps; k0++) {
    exec_wmat m, mj;
    if (f->steps[k0].fused || !groupable(p, k0, k0, &m)) continue;
    exec_node *lead = &f->steps[k0].node;
    const exec_tensor *x = exec_in(lead, P_conv_x);
    /* later products of the same x with a bias from before the leader: computed when the leader
     * runs, which changes nothing, as every value is written once (the steps between cannot read
     * a result defined after them; the look stops at a state's read, write or in-place update)
     * and their results' buffers are taken when the leader runs. An LM head's parts come each
     * with its squeeze and transpose in between. */
    for (int k = k0 + 1, last = k0; lead->n_fused < EXEC_GEMV_GROUP - 1 && k < f->n_steps && k - last <= GROUP_REACH; k++) {
      const exec_step *st = &f->steps[k];
      if (st->kind != EXEC_STEP_OP || st->in_place) break; /* a state changes here: x might be a view of it */
      if (!groupable(p, k, k0, &mj) || exec_in(&st->node, P_conv_x) != x || mj.cols != m.cols) continue;
      lead->fused[lead->n_fused++] = &f->steps[k].node;
      f->steps[k].fused = 1;
      p->vals[value_index(p, f->steps[k].node.out[0])].producer = k0;
      last = k;
    }
  }
}
