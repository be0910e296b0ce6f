/* plan.c — turning one MIL function into a runnable plan.
 *
 * Walks the ops in program order: `const` and constexpr_* ops become constants (consts.c), state
 * reads and writes become copy steps, every other op is bound to its table entry (op.h) by name and
 * planned. Ops whose inputs are all constant are run once here (constant folding). Activation
 * buffers are then assigned by liveness: a value's buffer returns to the pool after its last use,
 * so a deep network needs a few buffers, not one per value. */
#include "exec/plan.h"

#include <stdio.h>
#include <string.h>

#include "exec/consts.h"
#include "exec/weights.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"
#include "util/pool.h"

typedef struct value_info {
  exec_tensor *t;
  int producer;   /* step index, -1 for params and constants */
  int last_use;   /* last step reading it, -1 if none */
  int keep;       /* function output or param: never recycled */
  int buf;        /* assigned buffer, -1 if none */
  int alias;      /* state slot whose buffer this value is, -1 if none */
} value_info;

typedef struct planner {
  exec_function *f;
  const mr_io_info *shapes; /* concrete shapes of flexible inputs, or NULL */
  exec_consts *consts;
  util_strmap names;  /* variable name -> index in vals; states are stored as -(slot + 1) */
  value_info *vals;
  int n_vals, cap_vals;
  mr_error *err;
  char where[512];
} planner;

static const char *where(planner *p, int line, int col) {
  snprintf(p->where, sizeof p->where, "%s:%d:%d", p->f->filename, line, col);
  return p->where;
}

static int add_value(planner *p, const char *name, exec_tensor *t, int producer, int line, int col) {
  int64_t old;
  if (util_strmap_get(&p->names, name, strlen(name), &old))
    return util_err(p->err, MR_EFORMAT, "%s: '%s' is defined twice", where(p, line, col), name);
  if (p->n_vals == p->cap_vals) {
    int cap = p->cap_vals ? p->cap_vals * 2 : 256;
    value_info *nv = mr_realloc(p->vals, (size_t)cap * sizeof *nv);
    if (!nv) return util_err_nomem(p->err, "plan");
    p->vals = nv;
    p->cap_vals = cap;
  }
  p->vals[p->n_vals] = (value_info){t, producer, -1, 0, -1, -1};
  if (util_strmap_put(&p->names, name, strlen(name), p->n_vals)) return util_err_nomem(p->err, "plan");
  p->n_vals++;
  return MR_OK;
}

/* Look up a variable: *vi = value index, or *state = slot for a state parameter. */
static int lookup(planner *p, const char *name, int line, int col, int *vi, int *state) {
  int64_t v;
  *vi = *state = -1;
  if (!util_strmap_get(&p->names, name, strlen(name), &v))
    return util_err(p->err, MR_EFORMAT, "%s: undefined variable '%s'", where(p, line, col), name);
  *vi = v >= 0 ? (int)v : -1;
  *state = v < 0 ? (int)(-v - 1) : -1;
  return MR_OK;
}

static exec_tensor *new_tensor(exec_function *f, const mil_type *ty) {
  exec_tensor *t = util_arena_alloc(&f->arena, sizeof *t);
  if (!t) return NULL;
  t->dtype = ty->dtype;
  t->storage = exec_storage_for(ty->dtype);
  t->rank = ty->rank;
  t->count = 1;
  for (int i = 0; i < ty->rank; i++) {
    t->shape[i] = ty->dims[i];
    t->count *= ty->dims[i] < 0 ? 1 : ty->dims[i];
  }
  return t;
}

static int tensor_type_ok(planner *p, const mil_type *ty, const char *name, int line, int col) {
  if (ty->kind != MIL_TYPE_TENSOR)
    return util_err(p->err, MR_ENOTSUP, "%s: '%s': only tensor values are supported here", where(p, line, col), name);
  if (ty->rank > MR_MAX_RANK)
    return util_err(p->err, MR_ENOTSUP, "%s: '%s' has rank %d; at most %d is supported", where(p, line, col), name,
                    ty->rank, MR_MAX_RANK);
  return MR_OK;
}

static mr_dtype public_dtype(mil_dtype t) {
  switch (t) {
  case MIL_FP16: return MR_FLOAT16;
  case MIL_BOOL: return MR_BOOL;
  default: return mil_dtype_is_float(t) ? MR_FLOAT32 : MR_INT32;
  }
}

static void fill_info(mr_io_info *info, const char *name, mil_dtype dtype, int rank, const int64_t *shape) {
  info->name = name;
  info->dtype = public_dtype(dtype);
  info->rank = rank;
  for (int i = 0; i < rank; i++) info->shape[i] = shape[i];
}

/* ---- parameters --------------------------------------------------------------------------- */

static int plan_params(planner *p) {
  exec_function *f = p->f;
  const mil_function *fn = f->fn;
  f->inputs = util_arena_alloc(&f->arena, sizeof *f->inputs * (size_t)(fn->n_params + 1));
  f->input_info = util_arena_alloc(&f->arena, sizeof *f->input_info * (size_t)(fn->n_params + 1));
  f->states = util_arena_alloc(&f->arena, sizeof *f->states * (size_t)(fn->n_params + 1));
  f->state_info = util_arena_alloc(&f->arena, sizeof *f->state_info * (size_t)(fn->n_params + 1));
  if (!f->inputs || !f->input_info || !f->states || !f->state_info) return util_err_nomem(p->err, "plan");
  for (int i = 0; i < fn->n_params; i++) {
    const mil_var *v = &fn->params[i];
    if (v->type->kind == MIL_TYPE_STATE) {
      const mil_type *ty = v->type->elem;
      int rc = tensor_type_ok(p, ty, v->name, v->line, v->col);
      if (rc) return rc;
      exec_state_slot *s = &f->states[f->n_states];
      s->name = v->name;
      s->dtype = ty->dtype;
      s->rank = ty->rank;
      s->count = 1;
      for (int d = 0; d < ty->rank; d++) {
        if (ty->dims[d] < 0)
          return util_err(p->err, MR_ENOTSUP, "%s: state '%s' must have a fixed shape", where(p, v->line, v->col), v->name);
        s->shape[d] = ty->dims[d];
        s->count *= ty->dims[d];
      }
      fill_info(&f->state_info[f->n_states], v->name, ty->dtype, ty->rank, s->shape);
      if (util_strmap_put(&p->names, v->name, strlen(v->name), -(int64_t)(f->n_states + 1)))
        return util_err_nomem(p->err, "plan");
      f->n_states++;
      continue;
    }
    int rc = tensor_type_ok(p, v->type, v->name, v->line, v->col);
    if (rc) return rc;
    exec_tensor *t = new_tensor(f, v->type);
    if (!t) return util_err_nomem(p->err, "plan");
    for (int d = 0; d < t->rank; d++) {
      if (t->shape[d] >= 0) continue;
      f->flexible = 1;
      if (p->shapes) t->shape[d] = p->shapes[f->n_inputs].shape[d];
    }
    if (exec_tensor_set_shape(t, t->rank, t->shape) != 0 && !f->flexible)
      return util_err(p->err, MR_ESHAPE, "%s: input '%s' is too large", where(p, v->line, v->col), v->name);
    if (t->storage == EXEC_STR || t->storage == EXEC_PACKED)
      return util_err(p->err, MR_ENOTSUP, "%s: input '%s' of type %s is not supported", where(p, v->line, v->col),
                      v->name, mil_dtype_name(t->dtype));
    t->data = util_arena_alloc(&f->arena, (size_t)t->count * exec_storage_size(t->storage) + 1);
    if (!t->data) return util_err_nomem(p->err, "plan");
    f->activation_bytes += (size_t)t->count * exec_storage_size(t->storage);
    fill_info(&f->input_info[f->n_inputs], v->name, t->dtype, v->type->rank, v->type->dims);
    f->inputs[f->n_inputs++] = t;
    rc = add_value(p, v->name, t, -1, v->line, v->col);
    if (rc) return rc;
    p->vals[p->n_vals - 1].keep = 1;
  }
  return MR_OK;
}

/* ---- binding arguments ---------------------------------------------------------------------- */

/* The tensor of one binding; *vi receives the value index for liveness (-1 for constants). */
static int binding_tensor(planner *p, const mil_op *op, const mil_arg *a, const mil_binding *b,
                          exec_tensor **out, int *vi) {
  *vi = -1;
  if (!b->var) return exec_const_value(p->consts, b->value, where(p, a->line, a->col), out, p->err);
  int state = -1;
  int rc = lookup(p, b->var, a->line, a->col, vi, &state);
  if (rc) return rc;
  if (state >= 0)
    return util_err(p->err, MR_EFORMAT, "%s: op '%s': state '%s' can only be used by read_state and write_state",
                    where(p, a->line, a->col), op->type, b->var);
  *out = p->vals[*vi].t;
  return MR_OK;
}

static void note_use(planner *p, int vi, int step) {
  if (vi >= 0 && p->vals[vi].last_use < step) p->vals[vi].last_use = step;
}

static int bind_outputs(planner *p, const mil_op *op, exec_tensor **outs, int step) {
  for (int i = 0; i < op->n_outputs; i++) {
    int rc = add_value(p, op->outputs[i].name, outs[i], outs[i]->is_const ? -1 : step, op->outputs[i].line,
                       op->outputs[i].col);
    if (rc) return rc;
  }
  return MR_OK;
}

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

static int plan_const(planner *p, const mil_op *op) {
  const mil_arg *val = mil_op_arg(op, "val");
  if (op->n_outputs != 1 || !val || val->n_items != 1 || val->items[0].var)
    return util_err(p->err, MR_EFORMAT, "%s: const needs one output and an inline 'val'", where(p, op->line, op->col));
  exec_tensor *t;
  int rc = exec_const_value(p->consts, val->items[0].value, where(p, val->line, val->col), &t, p->err);
  if (!rc && t->storage != EXEC_STR) rc = check_declared(p, op, t);
  if (!rc) rc = bind_outputs(p, op, &t, -1);
  return rc;
}

static int plan_constexpr(planner *p, const mil_op *op) {
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

static int state_arg(planner *p, const mil_op *op, const char *name, int *slot) {
  const mil_arg *a = mil_op_arg(op, name);
  if (!a || a->n_items != 1 || !a->items[0].var)
    return util_err(p->err, MR_EFORMAT, "%s: %s needs '%s' naming a state", where(p, op->line, op->col), op->type, name);
  int vi = -1, rc = lookup(p, a->items[0].var, a->line, a->col, &vi, slot);
  if (rc) return rc;
  if (*slot < 0)
    return util_err(p->err, MR_EFORMAT, "%s: %s: '%s' is not a state", where(p, a->line, a->col), op->type, a->items[0].var);
  return MR_OK;
}

static int same_shape_as_state(planner *p, const mil_op *op, const exec_state_slot *s, const exec_tensor *t) {
  if (exec_shape_equal(t, s->rank, s->shape)) return MR_OK;
  char a[128], b[128];
  return util_err(p->err, MR_ESHAPE, "%s: %s: value of shape %s does not fit state '%s' of shape %s",
                  where(p, op->line, op->col), op->type, exec_shape_str(t->rank, t->shape, a, sizeof a), s->name,
                  exec_shape_str(s->rank, s->shape, b, sizeof b));
}

static int plan_state_op(planner *p, const mil_op *op, int is_write) {
  exec_function *f = p->f;
  exec_step *st = &f->steps[f->n_steps];
  int rc = state_arg(p, op, "input", &st->state);
  if (rc) return rc;
  const exec_state_slot *s = &f->states[st->state];
  if (is_write) {
    const mil_arg *a = mil_op_arg(op, "data");
    if (!a || a->n_items != 1)
      return util_err(p->err, MR_EFORMAT, "%s: write_state needs 'data'", where(p, op->line, op->col));
    int vi;
    rc = binding_tensor(p, op, a, &a->items[0], &st->value, &vi);
    if (!rc) rc = same_shape_as_state(p, op, s, st->value);
    if (rc) return rc;
    if (st->value->storage != EXEC_F32)
      return util_err(p->err, MR_ENOTSUP, "%s: write_state: only float states are supported", where(p, op->line, op->col));
    note_use(p, vi, f->n_steps);
    st->kind = EXEC_STEP_WRITE_STATE;
  } else {
    if (op->n_outputs != 1)
      return util_err(p->err, MR_EFORMAT, "%s: read_state needs one output", where(p, op->line, op->col));
    rc = tensor_type_ok(p, op->outputs[0].type, op->outputs[0].name, op->line, op->col);
    if (rc) return rc;
    st->value = new_tensor(f, op->outputs[0].type);
    if (!st->value) return util_err_nomem(p->err, "plan");
    rc = same_shape_as_state(p, op, s, st->value);
    if (!rc && st->value->storage != EXEC_F32)
      rc = util_err(p->err, MR_ENOTSUP, "%s: read_state: only float states are supported", where(p, op->line, op->col));
    if (!rc) rc = bind_outputs(p, op, &st->value, f->n_steps);
    if (rc) return rc;
    st->kind = EXEC_STEP_READ_STATE;
  }
  f->n_steps++;
  return MR_OK;
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

static int plan_op(planner *p, const mil_op *op) {
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
        for (int64_t k = 0; k < n->out[i]->count; k++) exec_f32(n->out[i])[k] = util_round_f16(exec_f32(n->out[i])[k]);
    memset(st, 0, sizeof *st);
    return bind_outputs(p, op, n->out, -1);
  }
  rc = bind_outputs(p, op, n->out, f->n_steps);
  if (rc) return rc;
  if (scratch > f->scratch_floats) f->scratch_floats = scratch;
  f->n_steps++;
  return MR_OK;
}

/* ---- outputs and buffers ------------------------------------------------------------------ */

static int plan_outputs(planner *p) {
  exec_function *f = p->f;
  const mil_block *body = &f->fn->body;
  int n = body->n_outputs;
  f->outputs = util_arena_alloc(&f->arena, sizeof *f->outputs * (size_t)(n + 1));
  f->output_info = util_arena_alloc(&f->arena, sizeof *f->output_info * (size_t)(n + 1));
  f->output_f16 = util_arena_alloc(&f->arena, sizeof *f->output_f16 * (size_t)(n + 1));
  if (!f->outputs || !f->output_info || !f->output_f16) return util_err_nomem(p->err, "plan");
  for (int i = 0; i < n; i++) {
    int vi = -1, state = -1, rc = lookup(p, body->outputs[i], body->line, body->col, &vi, &state);
    if (rc) return rc;
    if (state >= 0)
      return util_err(p->err, MR_EFORMAT, "%s: output '%s' is a state", where(p, body->line, body->col), body->outputs[i]);
    exec_tensor *t = p->vals[vi].t;
    if (t->storage == EXEC_PACKED) {
      rc = exec_const_dense(p->consts, t, &t, p->err);
      if (rc) return rc;
    }
    if (t->storage == EXEC_STR)
      return util_err(p->err, MR_ENOTSUP, "%s: string output '%s' is not supported", where(p, body->line, body->col), body->outputs[i]);
    p->vals[vi].keep = 1;
    f->outputs[i] = t;
    fill_info(&f->output_info[i], body->outputs[i], t->dtype, t->rank, t->shape);
    if (t->dtype == MIL_FP16) {
      f->output_f16[i] = util_arena_alloc(&f->arena, (size_t)t->count * 2 + 2);
      if (!f->output_f16[i]) return util_err_nomem(p->err, "plan");
    }
  }
  f->n_outputs = n;
  return MR_OK;
}

/* Output descriptions from the declared types alone, for a function not planned yet. */
static int describe_outputs(planner *p) {
  exec_function *f = p->f;
  const mil_block *body = &f->fn->body;
  f->output_info = util_arena_alloc(&f->arena, sizeof *f->output_info * (size_t)(body->n_outputs + 1));
  if (!f->output_info) return util_err_nomem(p->err, "plan");
  for (int i = 0; i < body->n_outputs; i++) {
    const mil_type *ty = NULL;
    for (int k = 0; k < f->fn->n_params && !ty; k++)
      if (!strcmp(f->fn->params[k].name, body->outputs[i])) ty = f->fn->params[k].type;
    for (int k = 0; k < body->n_ops && !ty; k++)
      for (int o = 0; o < body->ops[k].n_outputs; o++)
        if (!strcmp(body->ops[k].outputs[o].name, body->outputs[i])) ty = body->ops[k].outputs[o].type;
    if (!ty)
      return util_err(p->err, MR_EFORMAT, "%s: undefined variable '%s'", where(p, body->line, body->col), body->outputs[i]);
    int rc = tensor_type_ok(p, ty, body->outputs[i], body->line, body->col);
    if (rc) return rc;
    fill_info(&f->output_info[i], body->outputs[i], ty->dtype, ty->rank, ty->dims);
  }
  f->n_outputs = body->n_outputs;
  return MR_OK;
}

/* ---- KV-cache writes in place ---------------------------------------------------------------
 * A stateful LLM updates its cache as read_state -> slice_update -> write_state -> read_state, each
 * a copy of the whole cache (tens of MB per layer group) in a literal reading. When nothing can
 * observe the difference, the values are made the state's own buffer instead: a read_state whose
 * value is not used after the next write of that state reads nothing; a slice_update of such a
 * value, whose result is the next thing written to the state, updates the state in place; and the
 * write of the state's own buffer copies nothing. */

static int value_of(const planner *p, const exec_tensor *t) {
  for (int i = p->n_vals - 1; i >= 0; i--)
    if (p->vals[i].t == t) return i;
  return -1;
}

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

static void alias_states(planner *p) {
  exec_function *f = p->f;
  for (int k = 0; k < f->n_steps; k++) {
    exec_step *st = &f->steps[k];
    if (st->kind == EXEC_STEP_READ_STATE) {
      int v = value_of(p, st->value), nx = next_state_step(f, k, st->state);
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
      int xv = x ? value_of(p, x) : -1, yv = value_of(p, n->out[0]);
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
  for (int k = 0; k < f->n_steps; k++) { /* a write of the state's own buffer copies nothing */
    exec_step *st = &f->steps[k];
    if (st->kind != EXEC_STEP_WRITE_STATE) continue;
    int v = value_of(p, st->value);
    if (v >= 0 && p->vals[v].alias == st->state) st->in_place = 1;
  }
  int n = 0;
  for (int i = 0; i < p->n_vals; i++) n += p->vals[i].alias >= 0;
  f->aliases = util_arena_alloc(&f->arena, sizeof *f->aliases * (size_t)(n + 1));
  if (!f->aliases) return; /* no aliasing: everything is copied, which is still correct */
  for (int i = 0; i < p->n_vals; i++)
    if (p->vals[i].alias >= 0) f->aliases[f->n_aliases++] = (exec_state_alias){p->vals[i].t, p->vals[i].alias};
}

/* Ops that only move values around (EXEC_OP_MOVES_DATA): fp16 inputs give fp16-exact outputs, no
 * rounding needed. */
static void mark_no_round(exec_function *f) {
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

typedef struct pool_buf {
  size_t cap;
  int busy;
} pool_buf;

static int take_buffer(pool_buf **pool, int *n, size_t need) {
  int best = -1;
  for (int i = 0; i < *n; i++) {
    if ((*pool)[i].busy) continue;
    if (best < 0) best = i;
    else {
      size_t cb = (*pool)[best].cap, ci = (*pool)[i].cap;
      /* smallest that fits; else the largest, which grows least */
      if ((ci >= need && (cb < need || ci < cb)) || (cb < need && ci > cb)) best = i;
    }
  }
  if (best < 0) {
    pool_buf *np = mr_realloc(*pool, sizeof *np * (size_t)(*n + 1));
    if (!np) return -1;
    *pool = np;
    best = (*n)++;
    (*pool)[best].cap = 0;
  }
  if ((*pool)[best].cap < need) (*pool)[best].cap = need;
  (*pool)[best].busy = 1;
  return best;
}

static int assign_buffers(planner *p) {
  exec_function *f = p->f;
  pool_buf *pool = NULL;
  int n_pool = 0;
  /* values produced by each step, in step order: vals are appended in program order */
  int v = 0;
  for (int s = 0; s < f->n_steps; s++) {
    for (; v < p->n_vals && p->vals[v].producer <= s; v++) {
      value_info *vi = &p->vals[v];
      if (vi->producer != s || vi->alias >= 0) continue;
      size_t need = (size_t)vi->t->count * exec_storage_size(vi->t->storage);
      vi->buf = take_buffer(&pool, &n_pool, need ? need : 1);
      if (vi->buf < 0) {
        mr_free(pool);
        return util_err_nomem(p->err, "activation buffers");
      }
    }
    for (int k = 0; k < p->n_vals; k++) { /* release values whose last use is this step */
      value_info *vi = &p->vals[k];
      if (vi->buf < 0 || vi->keep) continue;
      if (vi->last_use == s || (vi->last_use < 0 && vi->producer == s)) pool[vi->buf].busy = 0;
    }
  }
  f->buffers = util_arena_alloc(&f->arena, sizeof(void *) * (size_t)(n_pool + 1));
  int rc = f->buffers ? MR_OK : util_err_nomem(p->err, "activation buffers");
  for (int i = 0; !rc && i < n_pool; i++) {
    f->buffers[i] = mr_alloc(pool[i].cap);
    if (!f->buffers[i]) rc = util_err_nomem(p->err, "activation buffers");
    else {
      memset(f->buffers[i], 0, pool[i].cap);
      f->n_buffers = i + 1;
      f->activation_bytes += pool[i].cap;
    }
  }
  mr_free(pool);
  if (rc) return rc;
  int nth = util_pool_size(util_pool_default());
  f->scratch = mr_alloc(f->scratch_floats * sizeof(float) * (size_t)nth + 1);
  if (!f->scratch) return util_err_nomem(p->err, "scratch");
  f->activation_bytes += f->scratch_floats * sizeof(float) * (size_t)nth;
  for (int s = 0; s < f->n_steps; s++) {
    f->steps[s].node.scratch = f->scratch;
    f->steps[s].node.scratch_stride = f->scratch_floats;
    f->steps[s].node.nth = nth;
  }
  for (int k = 0; k < p->n_vals; k++)
    if (p->vals[k].buf >= 0) p->vals[k].t->data = f->buffers[p->vals[k].buf];
  return MR_OK;
}

static int plan_body(planner *p) {
  exec_function *f = p->f;
  const mil_block *body = &f->fn->body;
  f->steps = util_arena_alloc(&f->arena, sizeof *f->steps * (size_t)(body->n_ops + 1));
  if (!f->steps) return util_err_nomem(p->err, "plan");
  for (int i = 0; i < body->n_ops; i++) {
    const mil_op *op = &body->ops[i];
    int rc;
    if (!strcmp(op->type, "const")) rc = plan_const(p, op);
    else if (!strncmp(op->type, "constexpr_", 10)) rc = plan_constexpr(p, op);
    else if (!strcmp(op->type, "read_state")) rc = plan_state_op(p, op, 0);
    else if (!strcmp(op->type, "write_state")) rc = plan_state_op(p, op, 1);
    else rc = plan_op(p, op);
    if (rc) return rc;
  }
  return MR_OK;
}

int exec_function_plan(exec_function *f, const mil_program *prog, const mil_function *fn,
                       const char *filename, exec_consts *consts, const mr_io_info *shapes,
                       mr_error *err) {
  (void)prog;
  memset(f, 0, sizeof *f);
  f->fn = fn;
  f->filename = filename;
  planner p = {0};
  p.f = f;
  p.consts = consts;
  p.shapes = shapes;
  p.err = err;
  int rc = plan_params(&p);
  if (!rc && f->flexible && !shapes) { /* described only: planned on the first call */
    util_strmap_free(&p.names);
    mr_free(p.vals);
    exec_function_free(f);
    return exec_function_describe(f, fn, filename, err);
  }
  if (!rc) rc = plan_body(&p);
  if (!rc) rc = plan_outputs(&p);
  if (!rc) {
    alias_states(&p);
    mark_no_round(f);
    rc = assign_buffers(&p);
  }
  if (!rc) f->planned = 1;
  util_strmap_free(&p.names);
  mr_free(p.vals);
  if (rc) exec_function_free(f);
  return rc;
}

int exec_function_describe(exec_function *f, const mil_function *fn, const char *filename, mr_error *err) {
  memset(f, 0, sizeof *f);
  f->fn = fn;
  f->filename = filename;
  planner p = {0};
  p.f = f;
  p.err = err;
  int rc = plan_params(&p);
  if (!rc) rc = describe_outputs(&p);
  util_strmap_free(&p.names);
  mr_free(p.vals);
  if (rc) exec_function_free(f);
  return rc;
}

void exec_function_free(exec_function *f) {
  for (int i = 0; i < f->n_buffers; i++) mr_free(f->buffers[i]);
  mr_free(f->scratch);
  util_arena_free(&f->arena);
  memset(f, 0, sizeof *f);
}

static void round_f16(exec_tensor *t) {
  float *x = exec_f32(t);
  for (int64_t i = 0; i < t->count; i++) x[i] = util_round_f16(x[i]);
}

int exec_function_run(exec_function *f, mr_error *err) {
  for (int a = 0; a < f->n_aliases; a++) f->aliases[a].t->data = f->states[f->aliases[a].state].data;
  for (int s = 0; s < f->n_steps; s++) {
    exec_step *st = &f->steps[s];
    exec_state_slot *slot = &f->states[st->state];
    switch (st->kind) {
    case EXEC_STEP_OP: {
      exec_node *n = &st->node;
      int rc = n->def->run(n, err);
      if (rc) return rc;
      for (int i = 0; i < n->n_out && !st->no_round; i++)
        if (n->out[i]->dtype == MIL_FP16 && n->out[i]->storage == EXEC_F32) round_f16(n->out[i]);
      break;
    }
    case EXEC_STEP_READ_STATE:
      if (!st->in_place) memcpy(st->value->data, slot->data, (size_t)slot->count * sizeof(float));
      break;
    case EXEC_STEP_WRITE_STATE:
      if (st->in_place) break;
      memcpy(slot->data, st->value->data, (size_t)slot->count * sizeof(float));
      if (slot->dtype == MIL_FP16)
        for (int64_t i = 0; i < slot->count; i++) slot->data[i] = util_round_f16(slot->data[i]);
      break;
    }
  }
  return MR_OK;
}
