/* plan_attention.c — the attention pattern of decoders: scores the causal mask hides, and a decode
 * step's attention computed in one step.
 *
 * A decoder's attention computes scores = Q . K^T over every position of the cache, scales them,
 * adds the causal mask (-inf after the current position) and takes a softmax over positions:
 *   matmul -> [mul/real_div by a constant scalar | reshape keeping the last dim]* -> add(mask)
 *   -> softmax over the last axis -> [reshape keeping the last dim]* -> matmul(probabilities, V).
 *
 * Hidden scores. A column of the scores that is -inf in every row of the mask ends as -inf
 * whatever the matmul wrote there (a finite score scaled is finite, and finite + -inf = -inf), so
 * the matmul may skip it. The planner only points the matmul at the mask (exec_node.hidden_by);
 * the matmul reads it on each run, when the mask's values are known. Every value on the way must
 * have that one reader, so nothing else sees the skipped scores.
 *
 * Decode attention. When the query has a few rows (a decode step), K and V are views of an fp16
 * cache, the mask is one row for all heads and nothing else runs between the two matmuls, the
 * second matmul computes the whole chain (exec_node.attention, ops/attention_decode.c) and the
 * steps before it are skipped. */
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

/* The step that alone reads the value t and is not a function output, or -1. */
static int sole_reader(const planner *p, const exec_tensor *t, int *param) {
  int v = value_index(p, t);
  return v >= 0 && !p->vals[v].keep ? only_reader(p->f, t, param) : -1;
}

static int is_binary(const exec_node *n, int variant) { return n->def->run == exec_binary_run && n->def->variant == variant; }

static int is_reshape(const exec_node *n) { return n->def->run == exec_reshape_run && n->def->variant == RS_RESHAPE; }

static int is_const_scalar(const exec_tensor *t) { return t && t->is_const && t->count == 1 && t->storage == EXEC_F32; }

/* Whether n is a softmax over the last axis of its input. */
static int softmax_last_axis(const exec_node *n) {
  const exec_tensor *x = exec_in(n, P_softmax_x), *a = exec_in(n, P_softmax_axis);
  if (n->def->run != exec_softmax_run) return 0;
  int64_t axis = a ? (int64_t)exec_get(a, 0) : -1;
  return (!a || (a->is_const && a->count == 1)) && (axis == -1 || axis == x->rank - 1);
}

/* The steps from a scores matmul to its softmax. */
typedef struct score_chain {
  const exec_tensor *mask;
  int steps[8], n; /* after the matmul, in order; the last one is the softmax */
} score_chain;

/* The chain after matmul step k up to its softmax; 0 when its result does not go that way. */
static int chain_after(const planner *p, int k, score_chain *c) {
  const exec_function *f = p->f;
  const exec_tensor *t = f->steps[k].node.out[0];
  int64_t cols = t->rank ? t->shape[t->rank - 1] : 0;
  c->n = 0;
  while (c->n < 7) {
    int param, r = sole_reader(p, t, &param);
    if (r < 0) return 0;
    const exec_node *n = &f->steps[r].node;
    const exec_tensor *out = n->out[0], *other = exec_in(n, param == P_binary_x ? P_binary_y : P_binary_x);
    if (n->n_out != 1 || !out->rank || out->shape[out->rank - 1] != cols) return 0;
    c->steps[c->n++] = r;
    if ((is_binary(n, B_MUL) || (is_binary(n, B_DIV) && param == P_binary_x)) && is_const_scalar(other)) {
      t = out;
    } else if (is_reshape(n)) {
      t = out;
    } else if (is_binary(n, B_ADD) && other->storage == EXEC_F32 && other->rank && other->shape[other->rank - 1] == cols) {
      int s = sole_reader(p, out, &param);
      if (s < 0 || !softmax_last_axis(&f->steps[s].node)) return 0;
      c->mask = other;
      c->steps[c->n++] = s;
      return 1;
    } else {
      return 0;
    }
  }
  return 0;
}

void plan_mark_masked_scores(planner *p) {
  exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    exec_step *st = &f->steps[k];
    score_chain c;
    if (st->kind == EXEC_STEP_OP && st->node.def->run == exec_matmul_run && !st->in_place && st->node.n_out == 1)
      st->node.hidden_by = chain_after(p, k, &c) ? c.mask : NULL;
  }
}

/* ---- decode attention ---- */

/* Whether matmul node n runs one matrix-vector product per row against an fp16 cache view y, with
 * x as stored: the path whose kernels the fused attention calls. */
static int decode_matmul(const exec_node *n, int ty) {
  const exec_mm_plan *mp = n->priv;
  return mp->tx == 0 && mp->ty == ty && mp->m < EXEC_MATMUL_GEMM_ROWS && exec_in(n, P_matmul_x)->storage == EXEC_F32 &&
         exec_in(n, P_matmul_y)->storage == EXEC_F16;
}

/* The attention step k (a scores matmul with its chain c) leads to, made whole: returns the step of
 * its probabilities x V matmul, or -1 when the pattern does not hold. */
static int fuse_attention(planner *p, int k, const score_chain *c) {
  exec_function *f = p->f;
  const exec_node *sn = &f->steps[k].node;
  const exec_mm_plan *sp = sn->priv;
  if (!decode_matmul(sn, 1) || c->mask->count != sp->n) return -1;
  const exec_tensor *t = f->steps[c->steps[c->n - 1]].node.out[0];
  int param, a, reshapes = 0;
  while ((a = sole_reader(p, t, &param)) >= 0 && is_reshape(&f->steps[a].node) && reshapes < 8)
    t = f->steps[a].node.out[0], reshapes++;
  if (a < 0 || param != P_matmul_x || f->steps[a].node.def->run != exec_matmul_run) return -1;
  exec_node *an = &f->steps[a].node;
  const exec_mm_plan *ap = an->priv;
  if (!decode_matmul(an, 0) || an->hidden_by || f->steps[a].in_place || ap->m != sp->m || ap->k != sp->n ||
      ap->batch != sp->batch || exec_in(an, P_matmul_x)->count != ap->batch * ap->m * ap->k)
    return -1;
  /* nothing else runs between the two matmuls (each step of the chain comes after the one it
   * reads, so the steps between are the chain's exactly when there are as many): Q, K and the mask
   * are then as the scores step saw them */
  if (a - k - 1 != c->n + reshapes) return -1;
  for (int s = k + 1; s < a; s++)
    if (f->steps[s].kind != EXEC_STEP_OP || f->steps[s].in_place || f->steps[s].fused) return -1;
  exec_attention *at = util_arena_alloc(&f->arena, sizeof *at);
  if (!at) return -1; /* left as steps */
  *at = (exec_attention){sn, c->mask, exec_step_rounds(&f->steps[k], 0), 0, {{0}}};
  for (int i = 0; i < c->n; i++) {
    const exec_step *st = &f->steps[c->steps[i]];
    const exec_node *n = &st->node;
    int kind = is_binary(n, B_MUL) ? EXEC_ATT_MUL : is_binary(n, B_DIV) ? EXEC_ATT_DIV
             : is_binary(n, B_ADD) ? EXEC_ATT_MASK : n->def->run == exec_softmax_run ? EXEC_ATT_SOFTMAX : -1;
    if (kind < 0) continue; /* a reshape: moves nothing in memory */
    /* a scaling's constant: y for real_div (the chain divides the scores), either side for mul */
    const exec_tensor *s = is_const_scalar(exec_in(n, P_binary_y)) ? exec_in(n, P_binary_y) : exec_in(n, P_binary_x);
    at->stage[at->n_stages].kind = kind;
    at->stage[at->n_stages].value = kind <= EXEC_ATT_DIV ? exec_f32(s)[0] : 0;
    at->stage[at->n_stages++].round = exec_step_rounds(st, 0);
  }
  /* its scratch (exec_matmul_scratch: 2 m k floats, k the scores' n) holds a kv head's m score rows */
  an->attention = at;
  for (int s = k; s < a; s++) f->steps[s].fused = 1;
  /* the matmul now reads Q, K and the mask: keep them alive until it runs */
  note_use(p, value_index(p, exec_in(sn, P_matmul_x)), a);
  note_use(p, value_index(p, exec_in(sn, P_matmul_y)), a);
  note_use(p, value_index(p, c->mask), a);
  return a;
}

void plan_fuse_decode_attention(planner *p) {
  exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    const exec_step *st = &f->steps[k];
    score_chain c;
    if (st->kind != EXEC_STEP_OP || st->fused || !st->node.hidden_by || !chain_after(p, k, &c)) continue;
    int a = fuse_attention(p, k, &c);
    if (a > k) k = a;
  }
}
