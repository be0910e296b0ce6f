/* plan.c — turning one MIL function into a runnable plan.
 *
 * Walks the ops in program order: params become input tensors or state slots, state reads and
 * writes become copy steps, every other op is bound and planned (plan_bind.c). Then KV-cache
 * updates are made in place where nothing can tell (plan_alias.c), attention scores that the causal
 * mask hides are marked so that they are not computed (plan_attention.c), decode products of one
 * input are grouped into one job (plan_gemv.c), a decode step's attention becomes one step
 * (plan_attention.c), and activation buffers are assigned by liveness (plan_buffers.c). This file
 * keeps params, states, outputs and the entry points of plan.h; planner.h holds the values table
 * all parts share. */
#include "exec/plan.h"

#include <stdio.h>
#include <string.h>

#include "exec/consts.h"
#include "exec/kernels/kernels.h"
#include "exec/ops/ops.h"
#include "exec/planner.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"

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

/* ---- outputs ------------------------------------------------------------------------------ */

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
    plan_alias_states(&p);
    plan_mark_masked_scores(&p);
    plan_group_gemv(&p);
    plan_mark_no_round(f);
    plan_fuse_decode_attention(&p);
    rc = plan_assign_buffers(&p);
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

int exec_function_set_threads(exec_function *f, int nth, mr_error *err) {
  size_t old = f->scratch ? f->scratch_floats * sizeof(float) * (size_t)f->nth : 0;
  float *scratch = mr_alloc(f->scratch_floats * sizeof(float) * (size_t)nth + 1);
  if (!scratch) return util_err_nomem(err, "scratch");
  mr_free(f->scratch);
  f->scratch = scratch;
  f->nth = nth;
  f->activation_bytes += f->scratch_floats * sizeof(float) * (size_t)nth - old;
  for (int s = 0; s < f->n_steps; s++) {
    f->steps[s].node.scratch = f->scratch;
    f->steps[s].node.scratch_stride = f->scratch_floats;
    f->steps[s].node.nth = nth;
  }
  return MR_OK;
}

void exec_function_free(exec_function *f) {
  for (int i = 0; i < f->n_buffers; i++) mr_free(f->buffers[i]);
  mr_free(f->scratch);
  util_arena_free(&f->arena);
  memset(f, 0, sizeof *f);
}

/* How a state slot's data is stored: fp16 states as fp16, other float states as float. */
static exec_storage slot_storage(const exec_state_slot *slot) { return slot->dtype == MIL_FP16 ? EXEC_F16 : EXEC_F32; }

/* Copy n values between a state and a value (fp16 <-> fp32 converting; to fp16 rounds). */
static void copy_values(void *dst, exec_storage to, const void *src, exec_storage from, int64_t n) {
  int64_t one = 1;
  exec_copy_strided_as(from, to, 1, &n, src, &one, dst, &one);
}

int exec_function_run(exec_function *f, mr_error *err) {
  for (int a = 0; a < f->n_aliases; a++) {
    const exec_state_alias *al = &f->aliases[a];
    const exec_state_slot *slot = &f->states[al->state];
    al->t->data = (char *)slot->data + (size_t)al->offset * exec_storage_size(slot_storage(slot));
  }
  for (int s = 0; s < f->n_steps; s++) {
    exec_step *st = &f->steps[s];
    exec_state_slot *slot = &f->states[st->state];
    switch (st->kind) {
    case EXEC_STEP_OP: {
      exec_node *n = &st->node;
      if (st->in_place || st->fused) break;
      int rc = n->def->run(n, err);
      if (rc) return rc;
      for (int i = 0; i < n->n_out; i++)
        if (exec_step_rounds(st, i)) /* SIMD, bit for bit util_round_f16_array */
          exec_kernels()->round_f16(exec_f32(n->out[i]), n->out[i]->count);
      break;
    }
    case EXEC_STEP_READ_STATE:
      if (!st->in_place) copy_values(st->value->data, st->value->storage, slot->data, slot_storage(slot), slot->count);
      break;
    case EXEC_STEP_WRITE_STATE:
      if (!st->in_place) copy_values(slot->data, slot_storage(slot), st->value->data, st->value->storage, slot->count);
      break;
    }
  }
  return MR_OK;
}
