/* executor.h — the seam between a bundle and what runs it. A bundle (bundle.c, the public API) is
 * a format-layer model (mil/model.h: program, description, metadata) plus one executor chosen by
 * name at open. An executor implements this table; the CPU executor (cpu.c, over plan.c) is the
 * first, and tests register their own. The bundle layer checks every argument (names, dtypes,
 * shapes, missing bindings) before an executor sees it. */
#ifndef EXEC_EXECUTOR_H
#define EXEC_EXECUTOR_H

#include "mil/model.h"
#include "milrun.h"

typedef struct exec_backend exec_backend;

/* A state: storage in its declared dtype, made by one executor (data may be its own memory). */
struct mr_state {
  const exec_backend *be;
  char *name;
  mr_dtype dtype;
  int rank;
  int64_t shape[MR_MAX_RANK];
  int64_t count;
  void *data;      /* count elements of dtype */
};

/* One run of function `function` (index into the model's functions). inputs[i] is the tensor bound
 * to the function's input i (declaration order; fp16 and fp32 data may stand for each other),
 * states[i] the state bound to state parameter i. The executor fills outputs[i] (declaration order):
 * dtype as declared, actual shape, data it owns until its next predict or close. */
typedef struct exec_call {
  int function;
  const mr_tensor *inputs;
  int n_inputs;
  mr_state *const *states;
  int n_states;
  mr_tensor *outputs;
  int n_outputs;
} exec_call;

struct exec_backend {
  const char *name;
  /* Prepare every function of m for running (m outlives impl). */
  int (*open)(const mil_model *m, const mr_bundle_options *opts, void **impl, mr_error *err);
  void (*close)(void *impl);
  /* A new zero-filled state as described by info (a state parameter of one of the functions). */
  int (*state_new)(void *impl, const mr_io_info *info, mr_state **out, mr_error *err);
  void (*state_free)(mr_state *s);
  /* Run; must allocate nothing unless the shapes of flexible inputs changed since the last run. */
  int (*predict)(void *impl, const exec_call *call, mr_error *err);
  size_t (*weight_bytes)(void *impl);
  /* Optional, for executors whose states live in memory of their own (NULL: s->data is the state).
   * state_view makes s->data hold the state's contents now (mr_state_view); state_reset zeroes it. */
  void (*state_view)(mr_state *s);
  void (*state_reset)(mr_state *s);
  /* Optional: the compute units the bundle was loaded with ("cpu-and-ne"), for --verbose. */
  const char *(*compute_units)(void *impl);
};

/* Add an executor (internal: tests register theirs). The table must outlive every bundle using it;
 * a second executor of the same name replaces the first. MR_EINVAL when the table is full. */
int exec_backend_register(const exec_backend *be);
/* The executor called name (NULL: "cpu"), or NULL. */
const exec_backend *exec_backend_find(const char *name);
/* The executor a bundle gets when mr_bundle_options.backend is NULL: "coreml" where it is built in
 * (Apple) for what Core ML can load (packages, .mlmodelc compiled by Apple's tools), else "cpu". */
const exec_backend *exec_backend_default(const mil_model *m);

/* Helpers for executors: a plain heap state (data zeroed, count elements of info->dtype), and
 * freeing one. */
int exec_state_alloc(const exec_backend *be, const mr_io_info *info, mr_state **out, mr_error *err);
void exec_state_release(mr_state *s);

/* The CPU executor (cpu.c). */
extern const exec_backend exec_cpu_backend;

#endif
