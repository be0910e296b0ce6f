/* coreml.c — the Core ML executor's bundles: open (compile a package once, load one MLModel per
 * function with its compute units), predict (inputs as MLMultiArrays over the caller's buffers,
 * fixed-shape outputs written by Core ML straight into milrun's buffers through output backings,
 * the rest copied), close. Every NSError becomes the text of a milrun error. */
#include <string.h>
#include <sys/stat.h>

#include "exec/coreml/marshal.h"
#include "exec/coreml/types.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/fp16.h"

static const struct {
  const char *name;
  long units; /* MLComputeUnits */
} k_units[] = {{"cpu-and-ne", 3}, {"all", 2}, {"cpu-and-gpu", 1}, {"cpu", 0}};

static int units_index(const char *name) {
  if (!name) name = k_units[0].name;
  for (size_t i = 0; i < sizeof k_units / sizeof *k_units; i++)
    if (!strcmp(name, k_units[i].name)) return (int)i;
  return -1;
}

long cm_compute_units(const char *name) {
  int i = units_index(name);
  return i < 0 ? -1 : k_units[i].units;
}

static size_t bytes_of(mr_dtype t, int rank, const int64_t *shape) {
  size_t n = mr_dtype_size(t);
  for (int d = 0; d < rank; d++) n *= (size_t)shape[d];
  return n;
}

static int fixed_shape(const mr_io_info *info) {
  for (int d = 0; d < info->rank; d++)
    if (info->shape[d] < 0) return 0;
  return 1;
}

static void function_free(cm_function *f) {
  for (int i = 0; f->d && i < f->d->n_inputs; i++) {
    if (f->in_names) oc_release(f->in_names[i]);
    if (f->in) oc_release(f->in[i].array), mr_free(f->in[i].conv);
  }
  for (int i = 0; f->d && i < f->d->n_outputs; i++) {
    if (f->out_names) oc_release(f->out_names[i]);
    if (f->out) oc_release(f->out[i].backing), mr_free(f->out[i].buf);
  }
  mr_free(f->in_names), mr_free(f->out_names), mr_free(f->in), mr_free(f->out);
  mr_free(f->scratch_values), mr_free(f->scratch_keys);
  oc_release(f->provider);
  oc_release(f->options);
  oc_release(f->model);
}

static void cm_close(void *impl) {
  cm_bundle *cb = impl;
  id pool = oc_pool_push();
  for (int i = 0; cb->f && i < cb->n; i++) function_free(&cb->f[i]);
  oc_pool_pop(pool);
  mr_free(cb->f);
  mr_free(cb->compiled);
  mr_free(cb);
}

/* What this OS's Core ML must offer for the model: one function of several, states. */
static int check_os(const mil_model *m, mr_error *err) {
  int states = 0;
  for (int i = 0; i < m->n_funcs; i++) {
    states |= m->funcs[i].n_states > 0;
    if (m->funcs[i].n_states > 1)
      return util_err(err, MR_ENOTSUP, "%s: function '%s' has %d states; the Core ML executor runs functions with one",
                      m->path, m->funcs[i].fn->name, m->funcs[i].n_states);
  }
  if (m->n_funcs > 1 && !oc_responds(oc_class("MLModelConfiguration"), "setFunctionName:"))
    return util_err(err, MR_ENOTSUP,
                    "%s: a model with %d functions needs MLModelConfiguration.functionName (macOS 15 / iOS 18); "
                    "this OS's Core ML is older (use --backend cpu)", m->path, m->n_funcs);
  if (states && !(oc_class("MLState") && oc_responds(oc_class("MLModel"), "newState")))
    return util_err(err, MR_ENOTSUP, "%s: stateful models need MLState (macOS 15 / iOS 18); this OS's Core ML is older "
                    "(use --backend cpu)", m->path);
  return MR_OK;
}

/* Output buffers for fixed shapes, handed to Core ML as output backings when the OS has them. */
static int prepare_outputs(cm_function *f, mr_error *err) {
  const mil_model_function *d = f->d;
  id *backed = f->scratch_values, *keys = f->scratch_keys;
  unsigned long n_backed = 0;
  for (int i = 0; i < d->n_outputs; i++) {
    const mr_io_info *o = &d->outputs[i];
    if (!fixed_shape(o) || cm_dtype(o->dtype) < 0) continue;
    f->out[i].cap = bytes_of(o->dtype, o->rank, o->shape);
    if (!(f->out[i].buf = util_calloc(1, f->out[i].cap + 1))) return util_err_nomem(err, "Core ML output");
    id nserr = nil;
    f->out[i].backing = cm_array_over(f->out[i].buf, o->dtype, o->rank, o->shape, &nserr);
    if (!f->out[i].backing)
      return util_err(err, MR_EINVAL, "output '%s': Core ML refused an array over milrun's buffer: %s", o->name,
                      oc_error_text(nserr, "no reason given"));
    backed[n_backed] = f->out[i].backing, keys[n_backed++] = f->out_names[i];
  }
  f->options = oc_msg(oc_class("MLPredictionOptions"), "new");
  if (n_backed && oc_responds(oc_class("MLPredictionOptions"), "setOutputBackings:"))
    oc_set_id(f->options, "setOutputBackings:", oc_dictionary(backed, keys, n_backed));
  return MR_OK;
}

static int load_function(cm_bundle *cb, int i, mr_error *err) {
  const mil_model *m = cb->m;
  cm_function *f = &cb->f[i];
  f->d = &m->funcs[i];
  f->in_names = util_calloc((size_t)f->d->n_inputs + 1, sizeof *f->in_names);
  f->out_names = util_calloc((size_t)f->d->n_outputs + 1, sizeof *f->out_names);
  f->in = util_calloc((size_t)f->d->n_inputs + 1, sizeof *f->in);
  f->out = util_calloc((size_t)f->d->n_outputs + 1, sizeof *f->out);
  size_t most = (size_t)(f->d->n_inputs > f->d->n_outputs ? f->d->n_inputs : f->d->n_outputs) + 1;
  f->scratch_values = util_calloc(most, sizeof *f->scratch_values);
  f->scratch_keys = util_calloc(most, sizeof *f->scratch_keys);
  if (!f->in_names || !f->out_names || !f->in || !f->out || !f->scratch_values || !f->scratch_keys)
    return util_err_nomem(err, m->path);
  for (int k = 0; k < f->d->n_inputs; k++) f->in_names[k] = oc_retain(oc_string(f->d->inputs[k].name));
  for (int k = 0; k < f->d->n_outputs; k++) f->out_names[k] = oc_retain(oc_string(f->d->outputs[k].name));
  id cfg = oc_msg(oc_class("MLModelConfiguration"), "new");
  oc_set_long(cfg, "setComputeUnits:", cb->units);
  if (m->n_funcs > 1) oc_set_id(cfg, "setFunctionName:", oc_string(f->d->fn->name));
  id nserr = nil;
  id model = OC_SEND(id, (id, SEL, id, id, id *), oc_class("MLModel"), "modelWithContentsOfURL:configuration:error:",
                     oc_file_url(cb->compiled), cfg, &nserr);
  oc_release(cfg);
  if (!model)
    return util_err(err, MR_EFORMAT, "%s: Core ML cannot load function '%s': %s", m->path, f->d->fn->name,
                    oc_error_text(nserr, "no reason given"));
  f->model = oc_retain(model);
  int rc = prepare_outputs(f, err);
  return rc ? util_err_prefix(err, "%s: function '%s'", m->path, f->d->fn->name) : MR_OK;
}

static int compiled_path(const mil_model *m, char **out, mr_error *err) {
  if (mil_path_is_mlmodelc(m->path)) {
    *out = util_strdup(m->path);
    return *out ? MR_OK : util_err_nomem(err, m->path);
  }
  return cm_compiled_model(m->path, out, err);
}

static int cm_open(const mil_model *m, const mr_bundle_options *o, void **impl, mr_error *err) {
  int units = units_index(o->compute_units);
  if (units < 0)
    return util_err(err, MR_EINVAL, "%s: unknown compute units '%s' (all, cpu-and-ne, cpu-and-gpu or cpu)", m->path,
                    o->compute_units);
  if (!oc_class("MLModel")) return util_err(err, MR_ENOTSUP, "%s: Core ML is not available in this process", m->path);
  cm_bundle *cb = util_calloc(1, sizeof *cb);
  if (!cb) return util_err_nomem(err, m->path);
  cb->m = m;
  cb->units = k_units[units].units;
  cb->units_name = k_units[units].name;
  id pool = oc_pool_push();
  int rc = check_os(m, err);
  if (!rc) rc = compiled_path(m, &cb->compiled, err);
  if (!rc && !(cb->f = util_calloc((size_t)m->n_funcs + 1, sizeof *cb->f))) rc = util_err_nomem(err, m->path);
  for (int i = 0; !rc && i < m->n_funcs; i++) {
    cb->n = i + 1;
    rc = load_function(cb, i, err);
  }
  oc_pool_pop(pool);
  if (rc) {
    cm_close(cb);
    return rc;
  }
  *impl = cb;
  return MR_OK;
}

/* ---- predict ------------------------------------------------------------------------------- */

/* Input i as an MLMultiArray: the one made last time when the caller's buffer, dtype and shape are
 * the same (Core ML reads the buffer at each prediction), else a new one. The other float type is
 * converted into the declared one at every run. */
static int bind_input(cm_function *f, int i, const mr_tensor *t, mr_error *err) {
  cm_input *in = &f->in[i];
  mr_dtype want = f->d->inputs[i].dtype;
  if (cm_dtype(want) < 0)
    return util_err(err, MR_ENOTSUP, "input '%s': Core ML has no %s arrays", f->d->inputs[i].name, mr_dtype_name(want));
  int same = in->array && in->bound == t->data && in->given == t->dtype && in->rank == t->rank &&
             !memcmp(in->shape, t->shape, sizeof(int64_t) * (size_t)t->rank);
  size_t need = bytes_of(want, t->rank, t->shape);
  if (want != t->dtype && need > in->conv_cap) {
    void *bigger = mr_realloc(in->conv, need);
    if (!bigger) return util_err_nomem(err, "Core ML input");
    in->conv = bigger, in->conv_cap = need, same = 0;
  }
  if (want != t->dtype) {
    cm_layout dst = {in->conv, want, {0}}, src = {t->data, t->dtype, {0}};
    cm_dense_strides(t->rank, t->shape, dst.strides);
    memcpy(src.strides, dst.strides, sizeof src.strides);
    cm_copy(&dst, &src, t->rank, t->shape);
  }
  if (same) return MR_OK;
  oc_release(in->array);
  oc_release(f->provider);
  f->provider = nil;
  id nserr = nil;
  in->array = cm_array_over(want != t->dtype ? in->conv : t->data, want, t->rank, t->shape, &nserr);
  if (!in->array)
    return util_err(err, MR_EINVAL, "input '%s': Core ML refused the array: %s", f->d->inputs[i].name,
                    oc_error_text(nserr, "no reason given"));
  in->bound = t->data, in->given = t->dtype, in->rank = t->rank;
  memcpy(in->shape, t->shape, sizeof in->shape);
  return MR_OK;
}

static int bind_inputs(cm_function *f, const exec_call *call, mr_error *err) {
  int rc = MR_OK;
  for (int i = 0; !rc && i < call->n_inputs; i++) rc = bind_input(f, i, &call->inputs[i], err);
  if (rc || f->provider) return rc;
  id *values = f->scratch_values;
  int n = call->n_inputs;
  for (int i = 0; i < n; i++) values[i] = oc_msg_id(oc_class("MLFeatureValue"), "featureValueWithMultiArray:", f->in[i].array);
  id nserr = nil, fresh = oc_msg(oc_class("MLDictionaryFeatureProvider"), "alloc");
  f->provider = OC_SEND(id, (id, SEL, id, id *), fresh, "initWithDictionary:error:", oc_dictionary(values, f->in_names, (unsigned long)n), &nserr);
  if (!f->provider)
    return util_err(err, MR_EINVAL, "Core ML refused the inputs: %s", oc_error_text(nserr, "no reason given"));
  return MR_OK;
}

typedef struct read_ctx {
  cm_layout src, dst;
  int rank;
  const int64_t *shape;
  int ok;
} read_ctx;

static void read_bytes(oc_block *blk, const void *bytes, long size) {
  read_ctx *r = blk->ctx;
  r->src.data = (void *)bytes;
  r->ok = cm_layout_fits(&r->src, r->rank, r->shape, size);
  int same = bytes == r->dst.data && r->src.dtype == r->dst.dtype &&
             !memcmp(r->src.strides, r->dst.strides, sizeof(int64_t) * (size_t)r->rank);
  if (r->ok && !same) cm_copy(&r->dst, &r->src, r->rank, r->shape); /* a backing Core ML copied into */
}

static const oc_block_descriptor k_read_desc = OC_BLOCK_DESCRIPTOR("v24@?0r^v8q16");

/* Output i from an array Core ML made (flexible shapes, or no output backings on this OS). */
static int copy_output(cm_output *o, const mr_io_info *info, id arr, mr_tensor *t, mr_error *err) {
  mr_dtype dt;
  int rank = cm_dims(oc_msg(arr, "shape"), t->shape);
  read_ctx r = {{NULL, MR_FLOAT32, {0}}, {NULL, info->dtype, {0}}, rank, t->shape, 0};
  if (rank != info->rank || cm_dims(oc_msg(arr, "strides"), r.src.strides) != rank ||
      cm_dtype_from(oc_msg_long(arr, "dataType"), &dt) || (dt != info->dtype && (dt == MR_INT32 || info->dtype == MR_INT32)))
    return util_err(err, MR_EFORMAT, "output '%s': Core ML returned an array of another rank or type", info->name);
  r.src.dtype = dt;
  size_t need = bytes_of(info->dtype, rank, t->shape);
  if (need > o->cap) {
    void *bigger = mr_realloc(o->buf, need);
    if (!bigger) return util_err_nomem(err, "Core ML output");
    o->buf = bigger, o->cap = need;
  }
  r.dst.data = o->buf;
  cm_dense_strides(rank, t->shape, r.dst.strides);
  oc_block blk = oc_block_make((void (*)(void))read_bytes, &k_read_desc, &r);
  OC_SEND(void, (id, SEL, void *), arr, "getBytesWithHandler:", &blk);
  if (!r.ok) return util_err(err, MR_EFORMAT, "output '%s': Core ML's array is smaller than its shape", info->name);
  t->data = o->buf;
  return MR_OK;
}

static int read_outputs(cm_function *f, id result, const exec_call *call, mr_error *err) {
  for (int i = 0; i < call->n_outputs; i++) {
    const mr_io_info *info = &f->d->outputs[i];
    mr_tensor *t = &call->outputs[i];
    memset(t, 0, sizeof *t);
    t->dtype = info->dtype;
    t->rank = info->rank;
    id arr = oc_msg(oc_msg_id(result, "featureValueForName:", f->out_names[i]), "multiArrayValue");
    if (!arr) return util_err(err, MR_EFORMAT, "output '%s': Core ML returned no array", info->name);
    if (arr == f->out[i].backing) { /* Core ML wrote into milrun's buffer */
      memcpy(t->shape, info->shape, sizeof t->shape);
      t->data = f->out[i].buf;
      continue;
    }
    int rc = copy_output(&f->out[i], info, arr, t, err);
    if (rc) return rc;
  }
  return MR_OK;
}

static id run_model(cm_function *f, const exec_call *call, id *nserr, mr_error *err, int *rc) {
  if (!call->n_states)
    return OC_SEND(id, (id, SEL, id, id, id *), f->model, "predictionFromFeatures:options:error:", f->provider,
                   f->options, nserr);
  cm_state *s = (cm_state *)call->states[0];
  pthread_mutex_lock(&s->lock);
  id out = nil;
  *rc = cm_state_write_back(s, err);
  if (!*rc)
    out = OC_SEND(id, (id, SEL, id, id, id, id *), f->model, "predictionFromFeatures:usingState:options:error:",
                  f->provider, s->state, f->options, nserr);
  pthread_mutex_unlock(&s->lock);
  return out;
}

static int cm_predict(void *impl, const exec_call *call, mr_error *err) {
  cm_bundle *cb = impl;
  cm_function *f = &cb->f[call->function];
  id pool = oc_pool_push();
  int rc = bind_inputs(f, call, err);
  id nserr = nil, result = rc ? nil : run_model(f, call, &nserr, err, &rc);
  if (!rc && !result) rc = util_err(err, MR_EINVAL, "Core ML rejected the prediction: %s", oc_error_text(nserr, "no reason given"));
  if (!rc) rc = read_outputs(f, result, call, err);
  oc_pool_pop(pool);
  return rc ? util_err_prefix(err, "%s: function '%s'", cb->m->path, f->d->fn->name) : MR_OK;
}

/* Core ML holds the weights itself: report the weight files it was given. */
static size_t cm_weight_bytes(void *impl) {
  const mil_model *m = ((cm_bundle *)impl)->m;
  size_t n = 0;
  struct stat st;
  for (int i = 0; i < m->n_weight_files; i++)
    if (!stat(m->weight_files[i], &st)) n += (size_t)st.st_size;
  return n;
}

static const char *cm_units_name(void *impl) { return ((cm_bundle *)impl)->units_name; }

const exec_backend exec_coreml_backend = {
  .name = "coreml",
  .open = cm_open,
  .close = cm_close,
  .state_new = cm_state_new,
  .state_free = cm_state_free,
  .predict = cm_predict,
  .weight_bytes = cm_weight_bytes,
  .state_view = cm_state_view,
  .state_reset = cm_state_reset,
  .compute_units = cm_units_name,
};
