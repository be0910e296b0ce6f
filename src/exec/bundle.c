/* bundle.c — the public bundle API (milrun.h): a bundle is a format-layer model (mil/model.h) run
 * by one executor (executor.h). Everything a caller can get wrong — names, dtypes, shapes, missing
 * bindings, a state of another executor — is checked here, so executors see only valid calls. */
#include <string.h>

#include "exec/executor.h"
#include "exec/tensor.h"
#ifndef MILRUN_COREML
#define MILRUN_COREML 0 /* 1 on Apple: the Core ML executor is built in (CMakeLists.txt) */
#endif
#if MILRUN_COREML
#include "exec/coreml/coreml.h"
#endif
#include "util/alloc.h"
#include "util/error.h"

struct mr_bundle {
  mil_model *m;
  const exec_backend *be;
  void *impl;
};

struct mr_call {
  mr_bundle *b;
  const mil_model_function *d;
  mr_tensor *inputs;   /* bound descriptors, declaration order; data NULL until bound */
  mr_state **states;
  mr_tensor *outputs;
  exec_call call;
  int ran;             /* outputs hold a run's results */
};

/* ---- executors ---------------------------------------------------------------------------- */

#define MAX_BACKENDS 16
#if MILRUN_COREML
static const exec_backend *g_backends[MAX_BACKENDS] = {&exec_cpu_backend, &exec_coreml_backend};
static int g_n_backends = 2;
#else
static const exec_backend *g_backends[MAX_BACKENDS] = {&exec_cpu_backend};
static int g_n_backends = 1;
#endif

int exec_backend_register(const exec_backend *be) {
  for (int i = 0; i < g_n_backends; i++)
    if (!strcmp(g_backends[i]->name, be->name)) {
      g_backends[i] = be;
      return MR_OK;
    }
  if (g_n_backends == MAX_BACKENDS) return MR_EINVAL;
  g_backends[g_n_backends++] = be;
  return MR_OK;
}

const exec_backend *exec_backend_find(const char *name) {
  if (!name) name = "cpu";
  for (int i = 0; i < g_n_backends; i++)
    if (!strcmp(g_backends[i]->name, name)) return g_backends[i];
  return NULL;
}

const exec_backend *exec_backend_default(const mil_model *m) {
  const exec_backend *coreml = exec_backend_find("coreml");
  return MILRUN_COREML && coreml && mil_model_coreml_loadable(m) ? coreml : &exec_cpu_backend;
}

/* ---- bundles ------------------------------------------------------------------------------ */

int mr_bundle_open(const char *path, const mr_bundle_options *opts, mr_bundle **out, mr_error *err) {
  static const mr_bundle_options defaults;
  if (!opts) opts = &defaults;
  *out = NULL;
  const exec_backend *be = opts->backend ? exec_backend_find(opts->backend) : NULL;
  if (opts->backend && !be)
    return util_err(err, MR_ENOTFOUND, "%s: no executor named '%s'%s", path, opts->backend,
                    strcmp(opts->backend, "coreml") ? "" : " (Core ML is built in on Apple systems only)");
  mr_bundle *b = util_calloc(1, sizeof *b);
  if (!b) return util_err_nomem(err, path);
  mr_error local;
  if (!err) err = &local;
  int rc = mil_model_load(path, 0, &b->m, err);
  b->be = be ? be : rc ? &exec_cpu_backend : exec_backend_default(b->m);
  if (!rc) rc = b->be->open(b->m, opts, &b->impl, err);
  if (rc) {
    mr_bundle_close(b);
    return rc;
  }
  *out = b;
  return MR_OK;
}

void mr_bundle_close(mr_bundle *b) {
  if (!b) return;
  if (b->impl) b->be->close(b->impl);
  mil_model_free(b->m);
  mr_free(b);
}

const char *mr_bundle_backend(const mr_bundle *b) { return b->be->name; }
const char *mr_bundle_compute_units(const mr_bundle *b) {
  return b->be->compute_units ? b->be->compute_units(b->impl) : NULL;
}
int mr_bundle_function_count(const mr_bundle *b) { return b->m->n_funcs; }
const char *mr_bundle_function_name(const mr_bundle *b, int i) {
  return i >= 0 && i < b->m->n_funcs ? b->m->funcs[i].fn->name : NULL;
}
const char *mr_bundle_default_function(const mr_bundle *b) { return b->m->funcs[b->m->default_fn].fn->name; }

int mr_bundle_inputs(const mr_bundle *b, const char *function, const mr_io_info **info) {
  const mil_model_function *d = mil_model_function_find(b->m, function);
  if (!d) return MR_ENOTFOUND;
  *info = d->inputs;
  return d->n_inputs;
}

int mr_bundle_outputs(const mr_bundle *b, const char *function, const mr_io_info **info) {
  const mil_model_function *d = mil_model_function_find(b->m, function);
  if (!d) return MR_ENOTFOUND;
  *info = d->outputs;
  return d->n_outputs;
}

int mr_bundle_states(const mr_bundle *b, const char *function, const mr_io_info **info) {
  const mil_model_function *d = mil_model_function_find(b->m, function);
  if (!d) return MR_ENOTFOUND;
  *info = d->states;
  return d->n_states;
}

size_t mr_bundle_weight_bytes(const mr_bundle *b) { return b->be->weight_bytes(b->impl); }

/* ---- states ------------------------------------------------------------------------------- */

int mr_state_new(mr_bundle *b, const char *name, mr_state **out, mr_error *err) {
  *out = NULL;
  for (int i = 0; i < b->m->n_funcs; i++)
    for (int k = 0; k < b->m->funcs[i].n_states; k++)
      if (!strcmp(b->m->funcs[i].states[k].name, name)) return b->be->state_new(b->impl, &b->m->funcs[i].states[k], out, err);
  return util_err(err, MR_ENOTFOUND, "%s: no function declares a state named '%s'", b->m->path, name);
}

void mr_state_free(mr_state *s) {
  if (s) s->be->state_free(s);
}

void mr_state_view(mr_state *s, mr_tensor *view) {
  if (s->be->state_view) s->be->state_view(s);
  memset(view, 0, sizeof *view);
  view->dtype = s->dtype;
  view->rank = s->rank;
  memcpy(view->shape, s->shape, sizeof view->shape);
  view->data = s->data;
}

void mr_state_reset(mr_state *s) {
  if (s->be->state_reset) s->be->state_reset(s);
  else memset(s->data, 0, (size_t)s->count * mr_dtype_size(s->dtype));
}

int exec_state_alloc(const exec_backend *be, const mr_io_info *info, mr_state **out, mr_error *err) {
  mr_state *s = util_calloc(1, sizeof *s);
  if (!s) return util_err_nomem(err, "state");
  s->be = be;
  s->dtype = info->dtype;
  s->rank = info->rank;
  s->count = 1;
  for (int d = 0; d < info->rank; d++) s->count *= s->shape[d] = info->shape[d];
  s->name = util_strdup(info->name);
  s->data = util_calloc((size_t)s->count + 1, mr_dtype_size(s->dtype));
  if (!s->name || !s->data) {
    exec_state_release(s);
    return util_err_nomem(err, "state");
  }
  *out = s;
  return MR_OK;
}

void exec_state_release(mr_state *s) {
  if (!s) return;
  mr_free(s->name);
  mr_free(s->data);
  mr_free(s);
}

/* ---- calls -------------------------------------------------------------------------------- */

int mr_call_new(mr_bundle *b, const char *function, mr_call **out, mr_error *err) {
  *out = NULL;
  const mil_model_function *d = mil_model_function_find(b->m, function);
  if (!d) return util_err(err, MR_ENOTFOUND, "%s: no function named '%s'", b->m->path, function);
  mr_call *c = util_calloc(1, sizeof *c);
  if (!c) return util_err_nomem(err, "call");
  c->b = b;
  c->d = d;
  c->inputs = util_calloc((size_t)d->n_inputs + 1, sizeof *c->inputs);
  c->states = util_calloc((size_t)d->n_states + 1, sizeof *c->states);
  c->outputs = util_calloc((size_t)d->n_outputs + 1, sizeof *c->outputs);
  if (!c->inputs || !c->states || !c->outputs) {
    mr_call_free(c);
    return util_err_nomem(err, "call");
  }
  c->call = (exec_call){(int)(d - b->m->funcs), c->inputs, d->n_inputs, c->states, d->n_states, c->outputs, d->n_outputs};
  *out = c;
  return MR_OK;
}

void mr_call_free(mr_call *c) {
  if (!c) return;
  mr_free(c->inputs);
  mr_free(c->states);
  mr_free(c->outputs);
  mr_free(c);
}

static int find_info(const mr_io_info *info, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(info[i].name, name)) return i;
  return -1;
}

static int input_fits(const mr_io_info *info, const mr_tensor *t) {
  int ok = t->data && t->rank == info->rank;
  for (int d = 0; ok && d < t->rank; d++) ok = info->shape[d] < 0 ? t->shape[d] >= 0 : t->shape[d] == info->shape[d];
  int float_pair = (info->dtype == MR_FLOAT16 || info->dtype == MR_FLOAT32) &&
                   (t->dtype == MR_FLOAT16 || t->dtype == MR_FLOAT32);
  return ok && (t->dtype == info->dtype || float_pair);
}

int mr_call_set_input(mr_call *c, const char *name, const mr_tensor *t, mr_error *err) {
  const mil_model_function *d = c->d;
  int i = find_info(d->inputs, d->n_inputs, name);
  if (i < 0) return util_err(err, MR_ENOTFOUND, "%s: function '%s' has no input named '%s'", c->b->m->path, d->fn->name, name);
  if (!input_fits(&d->inputs[i], t)) {
    char a[128], s[128];
    return util_err(err, MR_ESHAPE, "%s: function '%s': input '%s' must be %s %s, got %s %s", c->b->m->path, d->fn->name,
                    name, mr_dtype_name(d->inputs[i].dtype), exec_shape_str(d->inputs[i].rank, d->inputs[i].shape, a, sizeof a),
                    mr_dtype_name(t->dtype), exec_shape_str(t->rank, t->shape, s, sizeof s));
  }
  c->inputs[i] = *t;
  return MR_OK;
}

int mr_call_set_state(mr_call *c, const char *name, mr_state *s, mr_error *err) {
  const mil_model_function *d = c->d;
  int i = find_info(d->states, d->n_states, name);
  if (i < 0) return util_err(err, MR_ENOTFOUND, "%s: function '%s' has no state named '%s'", c->b->m->path, d->fn->name, name);
  const mr_io_info *info = &d->states[i];
  int ok = s && s->be == c->b->be && s->rank == info->rank && s->dtype == info->dtype;
  for (int k = 0; ok && k < s->rank; k++) ok = s->shape[k] == info->shape[k];
  if (!ok)
    return util_err(err, MR_ESHAPE, "%s: function '%s': state '%s' has another type or executor than the one given",
                    c->b->m->path, d->fn->name, name);
  c->states[i] = s;
  return MR_OK;
}

int mr_call_run(mr_call *c, mr_error *err) {
  const mil_model_function *d = c->d;
  const char *path = c->b->m->path;
  c->ran = 0;
  for (int i = 0; i < d->n_inputs; i++)
    if (!c->inputs[i].data)
      return util_err(err, MR_EINVAL, "%s: function '%s': input '%s' is missing", path, d->fn->name, d->inputs[i].name);
  for (int i = 0; i < d->n_states; i++)
    if (!c->states[i])
      return util_err(err, MR_EINVAL, "%s: function '%s': state '%s' is missing (create it with mr_state_new)", path,
                      d->fn->name, d->states[i].name);
  mr_error local;
  int rc = c->b->be->predict(c->b->impl, &c->call, err ? err : &local);
  c->ran = rc == MR_OK;
  return rc;
}

int mr_call_output_count(const mr_call *c) { return c->d->n_outputs; }

int mr_call_output(const mr_call *c, int i, mr_tensor *out) {
  if (!c->ran || i < 0 || i >= c->d->n_outputs) return MR_EINVAL;
  *out = c->outputs[i];
  return MR_OK;
}

int mr_call_output_by_name(const mr_call *c, const char *name, mr_tensor *out, mr_error *err) {
  int i = find_info(c->d->outputs, c->d->n_outputs, name);
  if (i < 0)
    return util_err(err, MR_ENOTFOUND, "%s: function '%s' has no output named '%s'", c->b->m->path, c->d->fn->name, name);
  if (!c->ran) return util_err(err, MR_EINVAL, "%s: function '%s' has not run yet", c->b->m->path, c->d->fn->name);
  *out = c->outputs[i];
  return MR_OK;
}
