/* cpu.c — the CPU executor (executor.h): every function of the model planned once at open
 * (plan.c), constants shared between functions (consts.c); a predict copies the inputs into the
 * plan's input tensors, points the state slots at the caller's states and runs the steps. */
#include <string.h>

#include "exec/consts.h"
#include "exec/executor.h"
#include "exec/kernels/kernels.h"
#include "exec/plan.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/pool.h"

typedef struct cpu_bundle {
  const mil_model *m;
  exec_consts consts;
  exec_function *funcs; /* one per model function, same order */
  int n_funcs;
  int max_threads;      /* mr_bundle_options.threads: 0 = no cap */
} cpu_bundle;

static void cpu_close(void *impl) {
  cpu_bundle *cb = impl;
  for (int i = 0; i < cb->n_funcs; i++) exec_function_free(&cb->funcs[i]);
  mr_free(cb->funcs);
  exec_consts_free(&cb->consts);
  mr_free(cb);
}

static int cpu_open(const mil_model *m, const mr_bundle_options *opts, void **impl, mr_error *err) {
  cpu_bundle *cb = util_calloc(1, sizeof *cb);
  if (!cb) return util_err_nomem(err, m->path);
  cb->m = m;
  cb->max_threads = opts->threads > 0 ? opts->threads : 0;
  int rc = exec_consts_init(&cb->consts, m->weights_root, err);
  cb->funcs = rc ? NULL : util_calloc((size_t)m->n_funcs + 1, sizeof *cb->funcs);
  if (!rc && !cb->funcs) rc = util_err_nomem(err, m->path);
  for (int i = 0; !rc && i < m->n_funcs; i++) {
    rc = exec_function_plan(&cb->funcs[i], m->prog, m->funcs[i].fn, m->program_file, &cb->consts, NULL, err);
    if (!rc) cb->n_funcs = i + 1;
  }
  if (rc) {
    cpu_close(cb);
    return rc;
  }
  *impl = cb;
  return MR_OK;
}

static int cpu_state_new(void *impl, const mr_io_info *info, mr_state **out, mr_error *err) {
  (void)impl;
  return exec_state_alloc(&exec_cpu_backend, info, out, err);
}

static size_t cpu_weight_bytes(void *impl) { return exec_consts_bytes(&((cpu_bundle *)impl)->consts); }

/* A function with flexible inputs is planned for the shapes of this call's inputs (again when they
 * change); constants are shared, so re-planning costs only the walk over the ops. */
static int plan_for_inputs(cpu_bundle *cb, exec_function *f, const exec_call *call, mr_error *err) {
  if (!f->flexible) return MR_OK;
  int same = f->planned;
  for (int i = 0; same && i < f->n_inputs; i++) same = exec_shape_equal(f->inputs[i], call->inputs[i].rank, call->inputs[i].shape);
  if (same) return MR_OK;
  mr_io_info *shapes = mr_alloc(sizeof *shapes * (size_t)(f->n_inputs + 1));
  if (!shapes) return util_err_nomem(err, "plan");
  for (int i = 0; i < f->n_inputs; i++) {
    shapes[i] = f->input_info[i];
    memcpy(shapes[i].shape, call->inputs[i].shape, sizeof shapes[i].shape);
  }
  const mil_function *fn = f->fn;
  exec_function_free(f);
  int rc = exec_function_plan(f, cb->m->prog, fn, cb->m->program_file, &cb->consts, shapes, err);
  if (rc) { /* keep the function described so that later calls can try other shapes */
    mr_error ignored;
    exec_function_plan(f, cb->m->prog, fn, cb->m->program_file, &cb->consts, NULL, &ignored);
  }
  mr_free(shapes);
  return rc;
}

/* The pool's size now (mr_set_threads may have changed it since the plan), capped by the bundle. */
static int threads_wanted(const cpu_bundle *cb) {
  int n = util_pool_size(util_pool_default());
  return cb->max_threads && cb->max_threads < n ? cb->max_threads : n;
}

/* Conversions through the kernel table (exact, bit for bit the scalar ones): an LM head's outputs
 * are 150K fp16 values a token, a third of a millisecond one at a time. */
static void copy_input(exec_tensor *t, const mr_tensor *in) {
  int64_t n = t->count;
  if (in->dtype == MR_FLOAT16) {
    exec_kernels()->f16_decode(in->data, n, exec_f32(t));
  } else if (in->dtype == MR_FLOAT32) {
    memcpy(t->data, in->data, (size_t)n * sizeof(float));
    if (t->dtype == MIL_FP16) exec_kernels()->round_f16(exec_f32(t), n);
  } else {
    memcpy(t->data, in->data, (size_t)n * mr_dtype_size(in->dtype));
  }
}

static void export_output(exec_function *f, int i, mr_tensor *out) {
  const exec_tensor *t = f->outputs[i];
  memset(out, 0, sizeof *out);
  out->dtype = f->output_info[i].dtype;
  out->rank = t->rank;
  memcpy(out->shape, t->shape, sizeof out->shape);
  if (out->dtype == MR_FLOAT16) {
    exec_kernels()->f16_encode(exec_f32(t), t->count, (uint8_t *)f->output_f16[i]);
    out->data = f->output_f16[i];
  } else {
    out->data = t->data;
  }
}

static int cpu_predict(void *impl, const exec_call *call, mr_error *err) {
  cpu_bundle *cb = impl;
  exec_function *f = &cb->funcs[call->function];
  int rc = plan_for_inputs(cb, f, call, err);
  if (!rc && f->nth != threads_wanted(cb)) rc = exec_function_set_threads(f, threads_wanted(cb), err);
  if (rc) return rc;
  for (int i = 0; i < f->n_inputs; i++) copy_input(f->inputs[i], &call->inputs[i]);
  for (int i = 0; i < f->n_states; i++) f->states[i].data = call->states[i]->data;
  rc = exec_function_run(f, err);
  for (int i = 0; !rc && i < call->n_outputs; i++) export_output(f, i, &call->outputs[i]);
  return rc;
}

const exec_backend exec_cpu_backend = {
  .name = "cpu",
  .open = cpu_open,
  .close = cpu_close,
  .state_new = cpu_state_new,
  .state_free = exec_state_release,
  .predict = cpu_predict,
  .weight_bytes = cpu_weight_bytes,
};
