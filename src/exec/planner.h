/* planner.h — what the parts of the planner share while one function is planned (plan.c: values,
 * params, states, outputs and the entry points; plan_bind.c: ops bound to the op table and constant
 * folding; plan_alias.c: KV-cache updates in place; plan_buffers.c: activation buffers by liveness).
 * Nothing outside src/exec/plan*.c includes this. */
#ifndef EXEC_PLANNER_H
#define EXEC_PLANNER_H

#include "exec/plan.h"
#include "util/strmap.h"

typedef struct value_info {
  exec_tensor *t;
  int producer;   /* step index, -1 for params and constants */
  int last_use;   /* last step reading it, -1 if none */
  int keep;       /* function output or param: never recycled */
  int buf;        /* assigned buffer, -1 if none */
  int alias;      /* state slot whose buffer this value is, -1 if none */
  int64_t alias_offset; /* elements into that state: a view of part of it (plan_alias.c) */
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

/* ---- values (plan.c) ---- */
/* "model.mil:line:col" for messages (valid until the next call). */
const char *plan_where(planner *p, int line, int col);
/* Define variable `name` as tensor t produced by step `producer` (-1: param or constant). */
int plan_add_value(planner *p, const char *name, exec_tensor *t, int producer, int line, int col);
/* Look up a variable: *vi = value index, or *state = slot for a state parameter. */
int plan_lookup(planner *p, const char *name, int line, int col, int *vi, int *state);
exec_tensor *plan_new_tensor(exec_function *f, const mil_type *ty);
int plan_tensor_type_ok(planner *p, const mil_type *ty, const char *name, int line, int col);

/* ---- binding (plan_bind.c) ---- */
/* The tensor of one binding; *vi receives the value index for liveness (-1 for constants). */
int plan_binding_tensor(planner *p, const mil_op *op, const mil_arg *a, const mil_binding *b, exec_tensor **out,
                        int *vi);
/* Value vi (-1: none) is read by step `step`. */
void plan_note_use(planner *p, int vi, int step);
/* Define op's outputs as the values outs, produced by `step` (-1: constants). */
int plan_bind_outputs(planner *p, const mil_op *op, exec_tensor **outs, int step);
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
/* Activation buffers by liveness, and the shared scratch (plan_buffers.c). */
int plan_assign_buffers(planner *p);

#endif
