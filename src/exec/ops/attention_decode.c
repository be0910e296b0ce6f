/* attention_decode.c — a decode step's attention over the KV cache in one job (exec_attention,
 * found by plan_attention.c).
 *
 * As separate steps, the scores matmul, each scaling, the mask's add and the softmax each run over
 * every position of the cache (512 in a 512-context model) and round their whole output, although
 * the mask hides all positions after the current one. Here each kv head's scores are computed,
 * scaled, masked and normalised on the visible positions only, in the thread that then multiplies
 * them by V, while they are still in its cache.
 *
 * The results are the steps' own, bit for bit, because the same kernels do the same operations on
 * the same values: the scores through f16_gemv, the stages through the kernel table's binary,
 * round_f16 and softmax, the product through f16_gemv_t over the columns exec_used_cols gives. The
 * positions left out are those after the last visible one (exec_visible_cols), whose masked score
 * is -inf: they add exactly 0 to every softmax's max and sum (each table's softmax keeps element i
 * in lane i mod its width, so a shorter row changes no lane's sum) and their probability is 0,
 * which exec_used_cols would skip anyway. */
#include <string.h>

#include "exec/kernels/kernels.h"
#include "exec/ops/ops.h"

typedef struct attention_job {
  int64_t visible; /* score columns computed */
  int64_t len;     /* score columns the stages run over: visible, or all when none is visible */
} attention_job;

/* The stages on m rows of len scores (rows len apart). */
static void stages(const exec_attention *at, float *rows, int64_t m, int64_t len) {
  const exec_kernel_table *kt = exec_kernels();
  int64_t count = m * len;
  if (at->round_scores) kt->round_f16(rows, count);
  for (int s = 0; s < at->n_stages; s++) {
    int kind = at->stage[s].kind;
    if (kind == EXEC_ATT_MUL || kind == EXEC_ATT_DIV)
      kt->binary(kind == EXEC_ATT_MUL ? EXEC_BIN_MUL : EXEC_BIN_DIV, rows, 1, &at->stage[s].value, 0, rows, count);
    for (int64_t i = 0; i < m && kind == EXEC_ATT_MASK; i++)
      kt->binary(EXEC_BIN_ADD, rows + i * len, 1, exec_f32(at->mask), 1, rows + i * len, len);
    for (int64_t i = 0; i < m && kind == EXEC_ATT_SOFTMAX; i++) kt->softmax(rows + i * len, rows + i * len, len);
    if (at->stage[s].round) kt->round_f16(rows, count);
  }
}

/* Batches (kv heads) split between threads; each thread's scratch holds its batch's m score rows. */
static void attention_part(const exec_node *n, void *ctx, int ith, int nth) {
  const attention_job *j = ctx;
  const exec_attention *at = n->attention;
  const exec_mm_plan *ps = at->scores->priv, *pv = n->priv;
  const exec_kernel_table *kt = exec_kernels();
  const float *q = exec_f32(exec_in(at->scores, P_matmul_x));
  const uint8_t *kc = (const uint8_t *)exec_f16(exec_in(at->scores, P_matmul_y));
  const uint8_t *vc = (const uint8_t *)exec_f16(exec_in(n, P_matmul_y));
  int64_t m = ps->m, e = ps->k, len = j->len, ev = pv->n, lo, hi;
  float *rows = exec_scratch(n, ith);
  exec_split(ps->batch, 1, ith, nth, &lo, &hi);
  for (int64_t b = lo; b < hi; b++) {
    int64_t qoff, koff, poff, voff;
    exec_matmul_batch(ps, b, &qoff, &koff);
    exec_matmul_batch(pv, b, &poff, &voff);
    for (int64_t i = 0; i < m; i++) {
      float *r = rows + i * len;
      if (j->visible < len) memset(r + j->visible, 0, (size_t)(len - j->visible) * sizeof *r);
      kt->f16_gemv(kc + 2 * koff, 2 * e, j->visible, q + qoff + i * e, e, r);
    }
    stages(at, rows, m, len);
    int64_t used = exec_used_cols(rows, m, len);
    float *c = exec_f32(n->out[0]) + b * m * ev;
    memset(c, 0, (size_t)(m * ev) * sizeof *c);
    for (int64_t i = 0; i < m; i++) kt->f16_gemv_t(vc + 2 * voff, 2 * ev, used, rows + i * len, ev, c + i * ev);
  }
}

void exec_attention_decode(const exec_node *n) {
  const exec_attention *at = n->attention;
  const exec_mm_plan *ps = at->scores->priv;
  attention_job j = {exec_visible_cols(at->mask, ps->n), ps->n};
  if (j.visible) j.len = j.visible;
  exec_parallel(n, 2 * ps->batch * ps->m * j.visible * ps->k, attention_part, &j);
}
