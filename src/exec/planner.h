/* planner.h — what the parts of the planner share while one function is planned: the planner and
 * its values table (here), used by plan.c (params, states, outputs, the entry points), plan_bind.c
 * (ops bound to the op table, constant folding), plan_alias.c (KV-cache updates in place, cache
 * views), plan_attention.c (attention scores the causal mask hides, decode attention in one
 * step), plan_gemv.c (decode products of one input together) and plan_buffers.c (activation
 * buffers by liveness).
 * Nothing outside src/exec/plan*.c includes this. */
#ifndef EXEC_PLANNER_H
#define EXEC_PLANNER_H

#include <stdio.h>
#include <string.h>

#include "exec/consts.h"
#include "exec/plan.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/strmap.h"

typedef struct value_info {
  exec_tensor *t;
  int producer;   /* step index, -1 for params and constants */
  int last_use;   /* last step reading it, -1 if none */
  int keep;       /* function output or param: never recycled */
  int buf;        /* assigned buffer, -1 if none */
  int alias;      /* state slot whose buffer this value is, -1 if none */
  int64_t alias_offset; /* elements into that state: a view of part of it (plan_alias.c) */
  int view_of;    /* value whose buffer this one is (a reshape's result, plan_buffers.c), -1 if none */
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

/* ---- the values table ----
 * Small, and called from every part; static inline so that they keep the short names the state
 * code in plan.c has always called them by. */
/* "model.mil:line:col" for messages (valid until the next call). */
static inline const char *where(planner *p, int line, int col) {
  snprintf(p->where, sizeof p->where, "%s:%d:%d", p->f->filename, line, col);
  return p->where;
}

/* Define variable `name` as tensor t produced by step `producer` (-1: param or constant). */
static inline int add_value(planner *p, const char *name, exec_tensor *t, int producer, int line, int col) {
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
  p->vals[p->n_vals] = (value_info){t, producer, -1, 0, -1, -1, 0, -1};
  if (util_strmap_put(&p->names, name, strlen(name), p->n_vals)) return util_err_nomem(p->err, "plan");
  p->n_vals++;
  return MR_OK;
}

/* Look up a variable: *vi = value index, or *state = slot for a state parameter. */
static inline int lookup(planner *p, const char *name, int line, int col, int *vi, int *state) {
  int64_t v;
  *vi = *state = -1;
  if (!util_strmap_get(&p->names, name, strlen(name), &v))
    return util_err(p->err, MR_EFORMAT, "%s: undefined variable '%s'", where(p, line, col), name);
  *vi = v >= 0 ? (int)v : -1;
  *state = v < 0 ? (int)(-v - 1) : -1;
  return MR_OK;
}

static inline exec_tensor *new_tensor(exec_function *f, const mil_type *ty) {
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

static inline int tensor_type_ok(planner *p, const mil_type *ty, const char *name, int line, int col) {
  if (ty->kind != MIL_TYPE_TENSOR)
    return util_err(p->err, MR_ENOTSUP, "%s: '%s': only tensor values are supported here", where(p, line, col), name);
  if (ty->rank > MR_MAX_RANK)
    return util_err(p->err, MR_ENOTSUP, "%s: '%s' has rank %d; at most %d is supported", where(p, line, col), name,
                    ty->rank, MR_MAX_RANK);
  return MR_OK;
}

/* The tensor of one binding; *vi receives the value index for liveness (-1 for constants). */
static inline int binding_tensor(planner *p, const mil_op *op, const mil_arg *a, const mil_binding *b,
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

/* Value vi (-1: none) is read by step `step`. */
static inline void note_use(planner *p, int vi, int step) {
  if (vi >= 0 && p->vals[vi].last_use < step) p->vals[vi].last_use = step;
}

/* Define op's outputs as the values outs, produced by `step` (-1: constants). */
static inline int bind_outputs(planner *p, const mil_op *op, exec_tensor **outs, int step) {
  for (int i = 0; i < op->n_outputs; i++) {
    int rc = add_value(p, op->outputs[i].name, outs[i], outs[i]->is_const ? -1 : step, op->outputs[i].line,
                       op->outputs[i].col);
    if (rc) return rc;
  }
  return MR_OK;
}

/* ---- binding (plan_bind.c) ---- */
int plan_const(planner *p, const mil_op *op);
int plan_constexpr(planner *p, const mil_op *op);
/* An op of the table: bound, planned, and run now when all its inputs are constant. */
int plan_op(planner *p, const mil_op *op);
/* Mark the steps whose fp16 outputs need no rounding. */
void plan_mark_no_round(exec_function *f);

/* ---- after the body is planned ---- */
/* Make state reads, in-place updates and writes the state's own buffer where nothing can observe
 * the difference (plan_alias.c). */
void plan_alias_states(planner *p);
/* The value whose tensor is t, or -1. */
static inline int value_index(const planner *p, const exec_tensor *t) {
  for (int i = p->n_vals - 1; i >= 0; i--)
    if (p->vals[i].t == t) return i;
  return -1;
}
/* The first step after `from` that reads tensor t: an op (*param its param slot) or a write_state
 * (*param -1); -1 when none does. */
static inline int next_reader(const exec_function *f, const exec_tensor *t, int from, int *param) {
  for (int k = from + 1; k < f->n_steps; k++) {
    const exec_step *st = &f->steps[k];
    if (st->kind == EXEC_STEP_WRITE_STATE && st->value == t) return *param = -1, k;
    for (int i = 0; st->kind == EXEC_STEP_OP && i < EXEC_MAX_PARAMS; i++)
      for (int j = 0; st->node.in[i] && j < st->node.n_items[i]; j++)
        if (st->node.in[i][j] == t) return *param = i, k;
  }
  return -1;
}
/* Point the matmuls whose result columns a causal mask hides at that mask (plan_attention.c). */
void plan_mark_masked_scores(planner *p);
/* Let each decode attention's probabilities x V matmul compute the steps from its scores matmul
 * on, which are then skipped (plan_attention.c). After plan_mark_no_round: it copies the steps'
 * rounding. */
void plan_fuse_decode_attention(planner *p);
/* Consecutive decode products of the same input computed in one job (plan_gemv.c). */
void plan_group_gemv(planner *p);
/* Activation buffers by liveness, and the shared scratch (plan_buffers.c). */
int plan_assign_buffers(planner *p);

#endif
