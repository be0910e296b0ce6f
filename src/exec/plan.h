/* plan.h — a function of a bundle made ready to run: every MIL op bound to its implementation,
 * constants folded (packed weights stay packed), buffers assigned, states as slots. */
#ifndef EXEC_PLAN_H
#define EXEC_PLAN_H

#include "exec/op.h"
#include "mil/blob.h"
#include "mil/ir.h"
#include "util/strmap.h"

typedef struct exec_consts exec_consts; /* consts.h */

typedef enum exec_step_kind { EXEC_STEP_OP, EXEC_STEP_READ_STATE, EXEC_STEP_WRITE_STATE } exec_step_kind;

typedef struct exec_step {
  exec_step_kind kind;
  exec_node node;      /* EXEC_STEP_OP */
  int state;           /* state slot (READ/WRITE) */
  exec_tensor *value;  /* READ: the output; WRITE: the data written */
  int in_place;        /* READ/WRITE: the value is the state's own buffer, nothing to copy;
                          OP: its output is a view of a state (plan_alias.c), nothing to run */
  int no_round;        /* OP: only moves fp16 values, so its fp16 outputs need no rounding */
  int fused;           /* OP: computed (and rounded) by another step: an earlier product's job
                          (plan_gemv.c) or the decode attention's last matmul (plan_attention.c) */
} exec_step;

/* Whether output i of op step st is rounded to fp16 after the op runs (exec_function_run): an fp16
 * value held in fp32 by a step that does not only move fp16 values. */
static inline int exec_step_rounds(const exec_step *st, int i) {
  const exec_tensor *o = st->node.out[i];
  return !st->no_round && o->dtype == MIL_FP16 && o->storage == EXEC_F32;
}

/* A value that is a state's buffer itself (see plan_alias.c): its data pointer is set
 * when the state is bound. */
typedef struct exec_state_alias {
  exec_tensor *t;
  int state;
  int64_t offset; /* elements into the state: a view of part of it */
} exec_state_alias;

typedef struct exec_state_slot {
  const char *name;
  mil_dtype dtype;
  int rank;
  int64_t shape[MR_MAX_RANK];
  int64_t count;
  void *data;          /* bound at predict time to the caller's state: count elements, fp16 states
                          as uint16_t, other float states as float */
} exec_state_slot;

typedef struct exec_function {
  const mil_function *fn;
  const char *filename;       /* ".../model.mil" for messages */
  util_arena arena;           /* tensors, nodes, op plan data */
  exec_tensor **inputs;       /* tensor params, declaration order */
  mr_io_info *input_info;
  int n_inputs;
  exec_state_slot *states;
  mr_io_info *state_info;
  int n_states;
  exec_tensor **outputs;      /* function outputs, declaration order */
  mr_io_info *output_info;
  uint16_t **output_f16;      /* conversion buffers for fp16 outputs (NULL for others) */
  int n_outputs;
  exec_step *steps;
  int n_steps;
  exec_state_alias *aliases;
  int n_aliases;
  void **buffers;             /* activation buffers, reused across values by liveness */
  int n_buffers;
  float *scratch;             /* shared by the ops during run: the largest scratch_floats() */
  size_t scratch_floats;      /* per thread */
  int nth;                    /* threads the scratch is sized for */
  size_t activation_bytes;
  int flexible;               /* some input has a '?' dim: planned per call for the shapes given */
  int planned;                /* steps and buffers exist (always, unless flexible and not yet run) */
} exec_function;

/* Plan function `fn` of `prog`. consts is shared by all functions of the bundle so that a weight
 * referenced by several functions is decoded once. shapes (NULL, or one mr_io_info per tensor
 * parameter in declaration order) give the shapes of flexible inputs; without them a function with
 * flexible inputs is only described (f->flexible set, no steps) until it is planned with shapes. */
int exec_function_plan(exec_function *f, const mil_program *prog, const mil_function *fn,
                       const char *filename, exec_consts *consts, const mr_io_info *shapes,
                       mr_error *err);
/* Describe `fn` (inputs, states, outputs from their declared types) without planning its body: no
 * constants are read, so a bundle without weights can be described. */
int exec_function_describe(exec_function *f, const mil_function *fn, const char *filename, mr_error *err);
void exec_function_free(exec_function *f);

/* Size the scratch for nth threads (>= 1) and let the ops use that many. */
int exec_function_set_threads(exec_function *f, int nth, mr_error *err);

/* Run the planned function. Inputs are already copied into f->inputs; state slots bound. */
int exec_function_run(exec_function *f, mr_error *err);

#endif
