/* plan_bind.c — one op of the body bound and planned: `const` and constexpr_* ops become
 * constants (consts.c); every other op is bound to its table entry (op.h) by name, its named
 * arguments to the entry's params by name, and planned. Ops whose inputs are all constant are run
 * once here (constant folding). */
#include <string.h>

#include "exec/consts.h"
#include "exec/planner.h"
#include "exec/weights.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"

/* Check that a folded constant agrees with the type the text declares for it. */
static int check_declared(planner *p, const mil_op *op, const exec_tensor *t) {
  const mil_type *ty = op->outputs[0].type;
  int rc = tensor_type_ok(p, ty, op->outputs[0].name, op->line, op->col);
  if (rc) return rc;
  int ok = ty->rank == t->rank;
  for (int i = 0; ok && i < t->rank; i++) ok = ty->dims[i] < 0 || ty->dims[i] == t->shape[i];
  if (!ok) {
    char a[128], b[128];
    mil_type_str(ty, a, sizeof a);
    return util_err(p->err, MR_ESHAPE, "%s: op '%s' (%s): value has shape %s, declared %s", where(p, op->line, op->col),
                    op->type, op->outputs[0].name, exec_shape_str(t->rank, t->shape, b, sizeof b), a);
  }
  return MR_OK;
}

int plan_const(planner *p, const mil_op *op) {
  const mil_arg *val = mil_op_arg(op, "val");
  if (op->n_outputs != 1 || !val || val->n_items != 1 || val->items[0].var)
    return util_err(p->err, MR_EFORMAT, "%s: const needs one output and an inline 'val'", where(p, op->line, op->col));
  exec_tensor *t;
  int rc = exec_const_value(p->consts, val->items[0].value, where(p, val->line, val->col), &t, p->err);
  if (!rc && t->storage != EXEC_STR) rc = check_declared(p, op, t);
  if (!rc) rc = bind_outputs(p, op, &t, -1);
  return rc;
}

int plan_constexpr(planner *p, const mil_op *op) {
  exec_tensor *params[EXEC_MAX_PARAMS];
  const char *names[EXEC_MAX_PARAMS];
  int n = 0;
  for (int i = 0; i < op->n_args; i++) {
    const mil_arg *a = &op->args[i];
    if (!strcmp(a->name, "name")) continue;
    if (n == EXEC_MAX_PARAMS || a->n_items != 1)
      return util_err(p->err, MR_EFORMAT, "%s: op '%s': unexpected parameter '%s'", where(p, a->line, a->col), op->type, a->name);
    int vi, rc = binding_tensor(p, op, a, &a->items[0], &params[n], &vi);
    if (rc) return rc;
    if (!params[n]->is_const)
      return util_err(p->err, MR_EFORMAT, "%s: op '%s': parameter '%s' must be a constant", where(p, a->line, a->col), op->type, a->name);
    names[n++] = a->name;
  }
  exec_tensor *t;
  int rc = exec_const_constexpr(p->consts, op, where(p, op->line, op->col), params, names, n, &t, p->err);
  if (!rc) rc = check_declared(p, op, t);
  if (!rc) rc = bind_outputs(p, op, &t, -1);
  return rc;
}

static int bind_params(planner *p, const mil_op *op, exec_node *n, int step, int *all_const) {
  *all_const = 1;
  for (int i = 0; i < op->n_args; i++) {
    const mil_arg *a = &op->args[i];
    if (!strcmp(a->name, "name")) continue;
    int pi = exec_op_param(n->def, a->name);
    if (pi < 0)
      return util_err(p->err, MR_ENOTSUP, "%s: op '%s' has no parameter '%s'", where(p, a->line, a->col), op->type, a->name);
    if (n->in[pi])
      return util_err(p->err, MR_EFORMAT, "%s: op '%s': parameter '%s' given twice", where(p, a->line, a->col), op->type, a->name);
    n->in[pi] = util_arena_alloc(&p->f->arena, sizeof(exec_tensor *) * (size_t)(a->n_items + 1));
    if (!n->in[pi]) return util_err_nomem(p->err, "plan");
    n->n_items[pi] = a->n_items;
    for (int k = 0; k < a->n_items; k++) {
      exec_tensor *t;
      int vi, rc = binding_tensor(p, op, a, &a->items[k], &t, &vi);
      if (rc) return rc;
      if (t->storage == EXEC_PACKED && !(n->def->packed_ok & (1u << pi))) {
        rc = exec_const_dense(p->consts, t, &t, p->err);
        if (rc) return rc;
      }
      if (!t->is_const) *all_const = 0;
      note_use(p, vi, step);
      n->in[pi][k] = t;
    }
  }
  return MR_OK;
}

int plan_op(planner *p, const mil_op *op) {
  exec_function *f = p->f;
  const exec_op_def *def = exec_op_find(op->type);
  if (!def) return util_err(p->err, MR_ENOTSUP, "%s: unknown op '%s'", where(p, op->line, op->col), op->type);
  if (op->n_outputs < def->min_outputs || op->n_outputs > def->max_outputs)
    return util_err(p->err, MR_EFORMAT, "%s: op '%s' declares %d outputs, it has %d to %d", where(p, op->line, op->col),
                    op->type, op->n_outputs, def->min_outputs, def->max_outputs);
  if (op->n_blocks)
    return util_err(p->err, MR_ENOTSUP, "%s: op '%s' with nested blocks is not supported", where(p, op->line, op->col), op->type);
  exec_step *st = &f->steps[f->n_steps];
  exec_node *n = &st->node;
  st->kind = EXEC_STEP_OP;
  n->def = def;
  n->op = op;
  n->filename = f->filename;
  n->arena = &f->arena;
  int all_const, rc = bind_params(p, op, n, f->n_steps, &all_const);
  if (rc) return rc;
  n->n_out = op->n_outputs;
  n->out = util_arena_alloc(&f->arena, sizeof(exec_tensor *) * (size_t)(op->n_outputs + 1));
  if (!n->out) return util_err_nomem(p->err, "plan");
  for (int i = 0; i < op->n_outputs; i++) {
    rc = tensor_type_ok(p, op->outputs[i].type, op->outputs[i].name, op->line, op->col);
    if (rc) return rc;
    n->out[i] = new_tensor(f, op->outputs[i].type);
    if (!n->out[i]) return util_err_nomem(p->err, "plan");
  }
  rc = def->plan(n, p->err);
  if (rc) return rc;
  for (int i = 0; i < n->n_out; i++) {
    exec_tensor *t = n->out[i];
    if (exec_tensor_set_shape(t, t->rank, t->shape) != 0)
      return util_err(p->err, MR_ESHAPE, "%s: op '%s' (%s): output shape is unknown or too large",
                      where(p, op->line, op->col), op->type, op->outputs[i].name);
  }
  size_t scratch = def->scratch_floats ? def->scratch_floats(n) : 0;
  if (all_const) { /* constant folding: run once now, keep the result */
    n->scratch = util_arena_alloc(&f->arena, scratch * sizeof(float) + 1);
    if (!n->scratch) return util_err_nomem(p->err, "plan");
    n->scratch_stride = scratch;
    n->nth = 1;
    for (int i = 0; i < n->n_out; i++) {
      exec_tensor *t = n->out[i];
      t->data = util_arena_alloc(&f->arena, (size_t)t->count * exec_storage_size(t->storage) + 1);
      if (!t->data) return util_err_nomem(p->err, "plan");
      t->is_const = 1;
    }
    rc = def->run(n, p->err);
    if (rc) return rc;
    for (int i = 0; i < n->n_out; i++)
      if (n->out[i]->dtype == MIL_FP16 && n->out[i]->storage == EXEC_F32)
        util_round_f16_array(exec_f32(n->out[i]), n->out[i]->count);
    exec_tensor **outs = n->out; /* n is part of the step, which is given back */
    memset(st, 0, sizeof *st);
    return bind_outputs(p, op, outs, -1);
  }
  rc = bind_outputs(p, op, n->out, f->n_steps);
  if (rc) return rc;
  if (scratch > f->scratch_floats) f->scratch_floats = scratch;
  f->n_steps++;
  return MR_OK;
}
/* Ops that only move values around (EXEC_OP_MOVES_DATA): fp16 inputs give fp16-exact outputs, no
 * rounding needed. */
void plan_mark_no_round(exec_function *f) {
  for (int k = 0; k < f->n_steps; k++) {
    exec_step *st = &f->steps[k];
    if (st->kind != EXEC_STEP_OP) continue;
    int mover = (st->node.def->props & EXEC_OP_MOVES_DATA) != 0;
    for (int i = 0; mover && i < EXEC_MAX_PARAMS; i++)
      for (int j = 0; st->node.in[i] && j < st->node.n_items[i]; j++) {
        const exec_tensor *t = st->node.in[i][j];
        if (t->storage == EXEC_F32 && t->dtype != MIL_FP16) mover = 0;
        if (t->storage == EXEC_PACKED && t->packed->kind != EXEC_PACK_F16) mover = 0;
      }
    st->no_round = mover;
  }
}
