/* plan_alias.c — KV-cache writes in place.
 *
 * A stateful LLM updates its cache as read_state -> slice_update -> write_state -> read_state, each
 * a copy of the whole cache (tens of MB per layer group) in a literal reading. When nothing can
 * observe the difference, the values are made the state's own buffer instead: a read_state whose
 * value is not used after the next write of that state reads nothing; a slice_update of such a
 * value, whose result is the next thing written to the state, updates the state in place; and the
 * write of the state's own buffer copies nothing. Which ops may update an input in place is the
 * op table's to say (exec_op_def.in_place). */
#include "exec/ops/ops.h"
#include "exec/ops/params.h"
#include "exec/planner.h"

/* The next step after `from` that reads or writes state `s`, or n_steps. */
static int next_state_step(const exec_function *f, int from, int s) {
  for (int k = from + 1; k < f->n_steps; k++)
    if (f->steps[k].kind != EXEC_STEP_OP && f->steps[k].state == s) return k;
  return f->n_steps;
}

static int alias_live_after(const planner *p, int s, int step, int except) {
  for (int i = 0; i < p->n_vals; i++)
    if (i != except && p->vals[i].alias == s && p->vals[i].last_use > step) return 1;
  return 0;
}

/* An fp16 state stays fp16 in memory, so a value that is its buffer holds fp16 (EXEC_F16), which
 * only ops with EXEC_OP_READS_F16_X read (the slices, through x; writes of state values convert).
 * When any other op would read such a value, the state is copied instead (converted to fp32 by its
 * read_state): correct, just not in place. */
static int reads_f16(const exec_node *n, int param) {
  return (n->def->props & EXEC_OP_READS_F16_X) && param == P_slice_x;
}

/* Whether t is a value aliased to state s; only tensors of the state's size can be (a cheap test
 * that spares the search through the values for nearly every input). */
static int is_alias_of(const planner *p, const exec_tensor *t, int s) {
  if (t->is_const || t->count != p->f->states[s].count) return 0;
  int v = value_index(p, t);
  return v >= 0 && p->vals[v].alias == s;
}

static int alias_read_elsewhere(const planner *p, int s) {
  const exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    const exec_node *n = &f->steps[k].node;
    for (int i = 0; f->steps[k].kind == EXEC_STEP_OP && i < EXEC_MAX_PARAMS; i++)
      for (int j = 0; n->in[i] && j < n->n_items[i]; j++)
        if (!reads_f16(n, i) && is_alias_of(p, n->in[i][j], s)) return 1;
  }
  return 0;
}

static void keep_f16_aliases_readable(planner *p) {
  exec_function *f = p->f;
  for (int s = 0; s < f->n_states; s++) {
    if (f->states[s].dtype != MIL_FP16) continue;
    int un_alias = alias_read_elsewhere(p, s);
    for (int v = 0; v < p->n_vals; v++) {
      if (p->vals[v].alias != s) continue;
      if (un_alias) p->vals[v].alias = -1;
      else p->vals[v].t->storage = EXEC_F16;
    }
    for (int k = 0; un_alias && k < f->n_steps; k++)
      if (f->steps[k].kind == EXEC_STEP_READ_STATE && f->steps[k].state == s) f->steps[k].in_place = 0;
  }
}

/* Whether state s changes at a step in (from, to]: written, or updated in place. */
static int state_changes(const planner *p, int s, int from, int to) {
  const exec_function *f = p->f;
  for (int k = from + 1; k <= to && k < f->n_steps; k++) {
    const exec_step *st = &f->steps[k];
    if (st->kind == EXEC_STEP_WRITE_STATE && st->state == s) return 1;
    if (st->kind == EXEC_STEP_OP && !st->in_place) {
      int v = value_index(p, st->node.out[0]);
      if (v >= 0 && p->vals[v].alias == s) return 1;
    }
  }
  return 0;
}

/* Whether every reader of value v reads it through a param that takes an fp16 state view. */
static int read_only_as_f16_view(const planner *p, int v) {
  int param;
  for (int k = next_reader(p->f, p->vals[v].t, -1, &param); k >= 0; k = next_reader(p->f, p->vals[v].t, k, &param))
    if (param != P_matmul_y || !(p->f->steps[k].node.def->props & EXEC_OP_READS_F16_Y)) return 0;
  return 1;
}

/* The attention of an Anemll decoder slices K and V out of the fp16 cache it just updated and
 * multiplies them: a fixed contiguous slice read only by such matmuls, with the state unchanged
 * until its last use, becomes a view of the state (fp16, nothing copied or converted). */
static void view_state_slices(planner *p) {
  exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    exec_step *st = &f->steps[k];
    int64_t base;
    if (st->kind != EXEC_STEP_OP || !(st->node.def->props & EXEC_OP_READS_F16_X) || st->node.def->in_place >= 0) continue;
    const exec_tensor *x = exec_in(&st->node, P_slice_x);
    int xv = value_index(p, x), yv = value_index(p, st->node.out[0]);
    if (xv < 0 || yv < 0 || p->vals[xv].alias < 0 || x->storage != EXEC_F16 || p->vals[yv].keep) continue;
    int s = p->vals[xv].alias;
    if (!exec_slice_contiguous(&st->node, &base) || !read_only_as_f16_view(p, yv) ||
        state_changes(p, s, k, p->vals[yv].last_use))
      continue;
    p->vals[yv].alias = s;
    p->vals[yv].alias_offset = p->vals[xv].alias_offset + base;
    st->node.out[0]->storage = EXEC_F16;
    st->in_place = 1;
  }
}

void plan_alias_states(planner *p) {
  exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    exec_step *st = &f->steps[k];
    if (st->kind == EXEC_STEP_READ_STATE) {
      int v = value_index(p, st->value), nx = next_state_step(f, k, st->state);
      /* alive only until the next access of the state, and that access is not a write while the
       * value is still needed */
      if (v < 0 || p->vals[v].keep) continue;
      if (nx < f->n_steps && f->steps[nx].kind == EXEC_STEP_WRITE_STATE && p->vals[v].last_use > nx) continue;
      if (nx < f->n_steps && f->steps[nx].kind == EXEC_STEP_READ_STATE) { /* fine: reads share */ }
      int later_write = 0;
      for (int j = k + 1; j < f->n_steps && j <= p->vals[v].last_use; j++)
        later_write |= f->steps[j].kind == EXEC_STEP_WRITE_STATE && f->steps[j].state == st->state;
      if (later_write) continue;
      p->vals[v].alias = st->state;
      st->in_place = 1;
    } else if (st->kind == EXEC_STEP_OP && st->node.def->in_place >= 0 && st->node.n_out == 1) {
      /* In place when x (the param the op may update in place) is the state's buffer and dead
       * after this op, no other view of the state is alive, and the state's next access is a
       * write: either of this result, or of another value after this result's last use (K then V
       * updates chain through two slice_updates). */
      exec_node *n = &st->node;
      const exec_tensor *x = exec_in(n, n->def->in_place);
      int xv = x ? value_index(p, x) : -1, yv = value_index(p, n->out[0]);
      if (xv < 0 || yv < 0 || p->vals[xv].alias < 0 || p->vals[xv].last_use != k || p->vals[yv].keep) continue;
      int s = p->vals[xv].alias, nx = next_state_step(f, k, s);
      if (alias_live_after(p, s, k, xv) || nx >= f->n_steps || f->steps[nx].kind != EXEC_STEP_WRITE_STATE ||
          n->out[0]->dtype != x->dtype)
        continue;
      if (f->steps[nx].value != n->out[0] && p->vals[yv].last_use >= nx) continue;
      int nx2 = next_state_step(f, nx, s); /* y must not outlive the state's next change */
      if (nx2 < f->n_steps && f->steps[nx2].kind == EXEC_STEP_WRITE_STATE && p->vals[yv].last_use > nx2) continue;
      p->vals[yv].alias = s;
    }
  }
  keep_f16_aliases_readable(p);
  view_state_slices(p);
  for (int k = 0; k < f->n_steps; k++) { /* a write of the state's own buffer copies nothing */
    exec_step *st = &f->steps[k];
    if (st->kind != EXEC_STEP_WRITE_STATE) continue;
    int v = value_index(p, st->value);
    if (v >= 0 && p->vals[v].alias == st->state) st->in_place = 1;
  }
  int n = 0;
  for (int i = 0; i < p->n_vals; i++) n += p->vals[i].alias >= 0;
  f->aliases = util_arena_alloc(&f->arena, sizeof *f->aliases * (size_t)(n + 1));
  if (!f->aliases) return; /* no aliasing: everything is copied, which is still correct */
  for (int i = 0; i < p->n_vals; i++)
    if (p->vals[i].alias >= 0) f->aliases[f->n_aliases++] = (exec_state_alias){p->vals[i].t, p->vals[i].alias, p->vals[i].alias_offset};
}
