/* op.h — how an op is implemented (docs/style.md §11): one table entry {name, params, plan, run}.
 *
 * The planner (plan_bind.c) binds each MIL op to its exec_op_def by name, binds every named argument
 * to the param of the same name (params[] order, given by ops/params.h: ops read n->in[] through the
 * P_<list>_<name> constants, never by number; an absent optional param is NULL), sets each output
 * tensor's dtype and shape from the type declared in model.mil, and calls plan(). plan() checks
 * dtypes, ranks and shapes of the inputs and the values of const params, computes the output shape
 * and compares it with the declared one (a '?' dim in the declaration is filled in), and may store
 * precomputed data in n->priv (allocated from n->arena). All errors are reported from plan() with
 * exec_node_err(), which names the op, its output and the model.mil line. run() computes; it only
 * fails for conditions that depend on run-time values (an index out of range, a run-time shape that
 * disagrees with the declared one). Ops compute in fp32; the executor rounds fp16 outputs.
 */
#ifndef EXEC_OP_H
#define EXEC_OP_H

#include "exec/tensor.h"
#include "util/arena.h"
#include "util/error.h"

#define EXEC_MAX_PARAMS 16
#define EXEC_GEMV_GROUP 4 /* decode products of one x computed together (plan_gemv.c) */

typedef struct exec_op_def exec_op_def;
typedef struct exec_node exec_node;

/* A decode attention that one step computes whole (plan_attention.c, ops/attention_decode.c): the
 * scores matmul Q . K^T, then its stages in order (scalings, the mask, the softmax, each result
 * rounded to fp16 where its step's would be), then the probabilities times V, the matmul that
 * holds this. K and V are views of an fp16 KV cache; only the positions the mask leaves visible
 * are computed, and the results are the steps' own bit for bit. */
#define EXEC_ATTENTION_STAGES 8
enum { EXEC_ATT_MUL, EXEC_ATT_DIV, EXEC_ATT_MASK, EXEC_ATT_SOFTMAX };
typedef struct exec_attention {
  const exec_node *scores;  /* the Q . K^T matmul (its step is skipped) */
  const exec_tensor *mask;  /* one row of the scores' length, added to every row */
  int round_scores;         /* the scores are rounded to fp16 */
  int n_stages;
  struct {
    int kind;               /* EXEC_ATT_* */
    float value;            /* MUL, DIV: the constant */
    int round;              /* the stage's result is rounded to fp16 */
  } stage[EXEC_ATTENTION_STAGES];
} exec_attention;

struct exec_node {
  const exec_op_def *def;
  const mil_op *op;                     /* source op: type, outputs' names, line:col */
  const char *filename;                 /* model.mil path, for messages */
  exec_tensor **in[EXEC_MAX_PARAMS];    /* per param: bound tensors, or NULL when absent */
  int n_items[EXEC_MAX_PARAMS];         /* number of tensors bound (tuple params: >= 1) */
  exec_tensor **out;                    /* outputs in declaration order */
  int n_out;
  void *priv;                           /* op plan data */
  util_arena *arena;                    /* plan arena for priv */
  float *scratch;                       /* per thread: scratch_floats() floats at exec_scratch() */
  size_t scratch_stride;                /* floats between two threads' scratch */
  int nth;                              /* threads the scratch was planned for (>= 1) */
  /* matmul: a mask added to its result before a softmax over the last axis (plan_attention.c); output
   * columns that are -inf in every row of it are never seen and may be left 0. NULL: none. */
  const exec_tensor *hidden_by;
  /* Set by plan when out[0] holds the same bytes in the same order as the tensor bound to param
   * view_of - 1 (reshapes; transposes that only move dims of size 1): the planner may then give
   * both one buffer (plan_buffers.c) and run must not copy onto itself. 0: no such param. */
  int view_of;
  /* A decode product that also computes the next steps' products of the same x (plan_gemv.c),
   * in one job; those steps are then skipped. */
  struct exec_node *fused[EXEC_GEMV_GROUP - 1];
  int n_fused;
  /* matmul: the probabilities x V of a decode attention whose earlier steps it computes too
   * (plan_attention.c); NULL: none. */
  const exec_attention *attention;
};

/* Op properties the planner asks for (exec_op_def.props). */
enum {
  /* Every output element is a copy of an input element (or of a param's constant), so fp16 inputs
   * give fp16-exact outputs that need no rounding. */
  EXEC_OP_MOVES_DATA = 1u << 0,
  /* Its x param (P_slice_x) may be an fp16 state's own buffer (EXEC_F16 storage) and is read as
   * such, so an fp16 KV cache can be sliced and updated in place. */
  EXEC_OP_READS_F16_X = 1u << 1,
  /* Its y param (P_matmul_y) may be an fp16 state's own buffer, a view of the KV cache made by
   * the planner from a contiguous slice (plan_alias.c), and is read as such. */
  EXEC_OP_READS_F16_Y = 1u << 2,
};

struct exec_op_def {
  const char *name;
  const char *params[EXEC_MAX_PARAMS]; /* its param list's names, NULL-terminated (ops/params.h) */
  unsigned accepts;                    /* bit i: the op takes params[i] (others are refused) */
  unsigned packed_ok;                  /* bit i: params[i] may be an EXEC_PACKED weight */
  int variant;                         /* which op of a family that shares plan/run (ops/ops.h) */
  unsigned props;                      /* EXEC_OP_* */
  /* >= 0: output 0 is this param with some elements replaced, and run() is correct when output 0
   * is that param's own buffer (the planner may update a state in place); -1: never. */
  int in_place;
  int min_outputs, max_outputs;        /* number of outputs the op may declare */
  int (*plan)(exec_node *n, mr_error *err);
  int (*run)(exec_node *n, mr_error *err);
  /* Floats of shared scratch the op needs during run (set by plan into n->priv-derived size).
   * Optional: return 0 when none is needed. */
  size_t (*scratch_floats)(const exec_node *n);
};

/* ---- parallel runs (parallel.c) ----
 * exec_parallel runs fn(n, ctx, ith, nth) on up to n->nth threads of the executor's pool and
 * returns when all are done. fn splits its work by (ith, nth) so that every output element is
 * computed by one thread in the same order whatever nth is: results do not depend on the thread
 * count. Each thread has its own scratch, exec_scratch(n, ith). */
typedef void (*exec_task_fn)(const exec_node *n, void *ctx, int ith, int nth);
/* `work` estimates the multiply-adds: small jobs run on the calling thread, where waking the pool
 * would cost more than it saves. */
void exec_parallel(const exec_node *n, int64_t work, exec_task_fn fn, void *ctx);
/* Tests: the smallest `work` that goes to the pool (default 1M). */
void exec_parallel_min_work(int64_t work);
/* Tests: the most threads one job ran on since the last call (then back to 0). */
int exec_parallel_most_threads(void);
static inline float *exec_scratch(const exec_node *n, int ith) { return n->scratch + (size_t)ith * n->scratch_stride; }
/* Part ith of nth of [0, count), in whole multiples of `unit` (the last part takes the rest). */
static inline void exec_split(int64_t count, int64_t unit, int ith, int nth, int64_t *lo, int64_t *hi) {
  int64_t units = (count + unit - 1) / unit;
  *lo = units * ith / nth * unit;
  *hi = units * (ith + 1) / nth * unit;
  if (*lo > count) *lo = count;
  if (*hi > count) *hi = count;
}

/* The op table (ops/registry.c): NULL if the op is unknown. */
const exec_op_def *exec_op_find(const char *name);
/* The index of param `name` in def->params if the op takes it, else -1. */
int exec_op_param(const exec_op_def *def, const char *name);
/* Every op name in the table, NULL-terminated (for tests and `milrun inspect`). */
const char *const *exec_op_names(void);

/* Helpers for plan()/run() (ops/param.c). `i` is the param index. */
static inline const exec_tensor *exec_in(const exec_node *n, int i) { return n->in[i] ? n->in[i][0] : NULL; }
/* Error naming the op: "model.mil:12:5: op 'matmul' (var_42): <message>". Returns code. */
int exec_node_err(const exec_node *n, mr_error *err, int code, const char *fmt, ...) MR_PRINTF(4, 5);
/* Const scalar/vector params; absent params give the default. Error if the param is not const or
 * has the wrong kind. */
int exec_param_int(const exec_node *n, int i, int64_t dflt, int64_t *out, mr_error *err);
int exec_param_float(const exec_node *n, int i, double dflt, double *out, mr_error *err);
int exec_param_bool(const exec_node *n, int i, int dflt, int *out, mr_error *err);
int exec_param_str(const exec_node *n, int i, const char *dflt, const char **out, mr_error *err);
/* Int vector (any rank, flattened); *count receives the length; max is the capacity. When absent,
 * *count = -1. */
int exec_param_ints(const exec_node *n, int i, int64_t *out, int max, int *count, mr_error *err);
/* Normalise a possibly negative axis against rank; error if out of range. */
int exec_axis(const exec_node *n, int64_t axis, int rank, int *out, mr_error *err);
/* NumPy broadcast of two shapes into out (rank = max); error if incompatible. */
int exec_broadcast(const exec_node *n, int ra, const int64_t *a, int rb, const int64_t *b,
                   int *rout, int64_t *out, mr_error *err);
/* Check/fill the declared output shape: a declared '?' (-1) dim takes the computed one; any other
 * difference is an error. */
int exec_set_out_shape(const exec_node *n, int i, int rank, const int64_t *shape, mr_error *err);

#endif
