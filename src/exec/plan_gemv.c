/* plan_gemv.c — decode products of one input computed together.
 *
 * An attention's q, k and v projections (and an MLP's gate and up) are consecutive 1x1 convs of the
 * same activation row. Run one after the other, each is a job of its own: the pool is handed work,
 * both threads start fresh streams through DRAM, and the first to finish waits for the other (a
 * 2 MB fp16 product streamed at about three quarters of the rate of long ones on the development
 * machine). Grouped, the threads claim runs of rows across all of them in one job
 * (exec_wmat_gemv_claim). The products are the same, row by row. */
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

void plan_group_gemv(planner *p) {
  exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    exec_wmat m, mj;
    if (!groupable(p, k, k, &m)) continue;
    int k0 = k;
    exec_node *lead = &f->steps[k0].node;
    const exec_tensor *x = exec_in(lead, P_conv_x);
    /* the next steps read the same x and a bias from before the leader, so none reads another's
     * result; their results' buffers are taken when the leader runs */
    while (lead->n_fused < EXEC_GEMV_GROUP - 1 && k + 1 < f->n_steps && groupable(p, k + 1, k0, &mj) &&
           exec_in(&f->steps[k + 1].node, P_conv_x) == x && mj.cols == m.cols) {
      k++;
      lead->fused[lead->n_fused++] = &f->steps[k].node;
      f->steps[k].fused = 1;
      p->vals[value_index(p, f->steps[k].node.out[0])].producer = k0;
    }
  }
}
