/* bundle.c — the public bundle API (milrun.h): open a .mlmodelc, describe its functions, create
 * states, predict. A bundle owns its program (IR), metadata, constants and one plan per function. */
#include <stdio.h>
#include <string.h>

#include "exec/consts.h"
#include "exec/bundle.h"
#include "exec/plan.h"
#include "mil/metadata.h"
#include "mil/package.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/fp16.h"

/* What mr_bundle_inputs/outputs/states return: copied once at open, so that the pointers stay
 * valid while a flexible function is planned again for other shapes. */
typedef struct io_desc {
  mr_io_info *inputs, *outputs, *states;
  int n_inputs, n_outputs, n_states;
} io_desc;

struct mr_bundle {
  char *path;
  char *mil_path;
  mil_program *prog;
  mil_metadata md;
  int has_md;
  exec_consts consts;
  exec_function *funcs; /* one per program function, same order */
  int n_funcs;
  const char *default_fn;
  int described_only;   /* opened by exec_bundle_describe: cannot run */
  io_desc *io;          /* per function, same order as funcs */
  util_arena io_arena;
  mr_error err;
};

struct mr_state {
  char *name;
  mil_dtype dtype;
  int rank;
  int64_t shape[MR_MAX_RANK];
  int64_t count;
  float *data;
};

/* metadata.json is optional, but when present its I/O must agree with model.mil. */
static int check_metadata(mr_bundle *b, mr_error *err) {
  for (int i = 0; i < b->n_funcs; i++) {
    const exec_function *f = &b->funcs[i];
    const mil_meta_function *mf = mil_metadata_function(&b->md, b->md.n_funcs > 1 ? f->fn->name : NULL);
    if (!mf) continue;
    for (int k = 0; k < mf->n_inputs; k++) {
      int found = 0;
      for (int j = 0; j < f->n_inputs; j++) found |= !strcmp(f->input_info[j].name, mf->inputs[k].name);
      for (int j = 0; j < f->n_states; j++) found |= !strcmp(f->state_info[j].name, mf->inputs[k].name);
      if (!found && b->md.n_funcs > 1)
        return util_err(err, MR_EFORMAT, "%s/metadata.json: input '%s' of function '%s' is not in model.mil", b->path,
                        mf->inputs[k].name, f->fn->name);
    }
  }
  return MR_OK;
}

static mr_io_info *copy_info(util_arena *a, const mr_io_info *src, int n) {
  mr_io_info *d = util_arena_alloc(a, sizeof *d * (size_t)(n + 1));
  if (d && n) memcpy(d, src, sizeof *d * (size_t)n);
  return d;
}

static int copy_io(mr_bundle *b, mr_error *err) {
  b->io = util_arena_alloc(&b->io_arena, sizeof *b->io * (size_t)b->n_funcs);
  if (!b->io) return util_err_nomem(err, b->path);
  for (int i = 0; i < b->n_funcs; i++) {
    const exec_function *f = &b->funcs[i];
    io_desc *d = &b->io[i];
    d->inputs = copy_info(&b->io_arena, f->input_info, d->n_inputs = f->n_inputs);
    d->outputs = copy_info(&b->io_arena, f->output_info, d->n_outputs = f->n_outputs);
    d->states = copy_info(&b->io_arena, f->state_info, d->n_states = f->n_states);
    if (!d->inputs || !d->outputs || !d->states) return util_err_nomem(err, b->path);
  }
  return MR_OK;
}

/* A compiled bundle: model.mil and the optional metadata.json; @model_path is the bundle. */
static int load_compiled(mr_bundle *b, mr_error *err) {
  int rc = mil_parse_file(b->mil_path, &b->prog, err);
  if (rc) return rc;
  char *md_path = util_path_join(b->path, "metadata.json");
  if (!md_path) return util_err_nomem(err, b->path);
  mr_error merr = {0};
  rc = mil_metadata_read(md_path, &b->md, &merr);
  mr_free(md_path);
  if (rc == MR_OK) b->has_md = 1;
  else if (rc != MR_ENOTFOUND) {
    *err = merr;
    return rc;
  }
  return exec_consts_init(&b->consts, b->path, err);
}

/* A Core ML package (.mlpackage or .mlmodel): the program and description from protobuf. */
static int load_package(mr_bundle *b, mr_error *err) {
  char *root = NULL;
  int rc = mil_package_load(b->path, &b->prog, &b->md, &root, err);
  if (rc) return rc;
  b->has_md = 1;
  rc = exec_consts_init(&b->consts, root, err);
  mr_free(root);
  return rc;
}

static int open_parts(mr_bundle *b, int describe_only, mr_error *err) {
  int rc = mil_package_is(b->path) ? load_package(b, err) : load_compiled(b, err);
  if (rc) return rc;
  b->funcs = util_calloc((size_t)b->prog->n_funcs + 1, sizeof *b->funcs);
  if (!b->funcs) return util_err_nomem(err, b->path);
  for (int i = 0; i < b->prog->n_funcs; i++) {
    rc = describe_only ? exec_function_describe(&b->funcs[i], &b->prog->funcs[i], b->mil_path, err)
                       : exec_function_plan(&b->funcs[i], b->prog, &b->prog->funcs[i], b->mil_path, &b->consts, NULL, err);
    if (rc) return rc;
    b->n_funcs = i + 1;
  }
  if (!b->n_funcs) return util_err(err, MR_EFORMAT, "%s: the program has no functions", b->mil_path);
  rc = copy_io(b, err);
  if (rc) return rc;
  b->default_fn = b->funcs[0].fn->name;
  if (b->has_md && b->md.default_function) {
    int found = 0;
    for (int i = 0; i < b->n_funcs; i++)
      if (!strcmp(b->funcs[i].fn->name, b->md.default_function)) {
        b->default_fn = b->funcs[i].fn->name;
        found = 1;
      }
    if (!found)
      return util_err(err, MR_EFORMAT, "%s/metadata.json: default function '%s' is not in model.mil", b->path,
                      b->md.default_function);
  } else {
    for (int i = 0; i < b->n_funcs; i++)
      if (!strcmp(b->funcs[i].fn->name, "main")) b->default_fn = b->funcs[i].fn->name;
  }
  return b->has_md ? check_metadata(b, err) : MR_OK;
}

static int open_bundle(const char *path, int describe_only, mr_bundle **out, mr_error *err) {
  *out = NULL;
  if (!util_is_dir(path) && !mil_package_is(path))
    return util_err(err, util_exists(path) ? MR_EINVAL : MR_ENOTFOUND,
                    "%s: not a .mlmodelc directory or a Core ML package", path);
  mr_bundle *b = util_calloc(1, sizeof *b);
  if (!b) return util_err_nomem(err, path);
  b->path = util_strdup(path);
  b->mil_path = !b->path ? NULL : mil_package_is(path) ? util_strdup(path) : util_path_join(path, "model.mil");
  int rc = b->mil_path ? open_parts(b, describe_only, err) : util_err_nomem(err, path);
  if (rc) {
    mr_bundle_close(b);
    return rc;
  }
  b->described_only = describe_only;
  *out = b;
  return MR_OK;
}

int mr_bundle_open(const char *path, mr_bundle **out, mr_error *err) { return open_bundle(path, 0, out, err); }

int exec_bundle_describe(const char *path, mr_bundle **out, mr_error *err) { return open_bundle(path, 1, out, err); }

void mr_bundle_close(mr_bundle *b) {
  if (!b) return;
  for (int i = 0; i < b->n_funcs; i++) exec_function_free(&b->funcs[i]);
  mr_free(b->funcs);
  util_arena_free(&b->io_arena);
  exec_consts_free(&b->consts);
  if (b->has_md) mil_metadata_free(&b->md);
  mil_program_free(b->prog);
  mr_free(b->mil_path);
  mr_free(b->path);
  mr_free(b);
}

const char *mr_bundle_errmsg(const mr_bundle *b) {
  if (!b) return "no bundle";
  return b->err.code ? b->err.msg : mr_strerror(MR_OK);
}

int mr_bundle_function_count(const mr_bundle *b) { return b->n_funcs; }
const char *mr_bundle_function_name(const mr_bundle *b, int i) {
  return i >= 0 && i < b->n_funcs ? b->funcs[i].fn->name : NULL;
}
const char *mr_bundle_default_function(const mr_bundle *b) { return b->default_fn; }

static exec_function *find_function(const mr_bundle *b, const char *name) {
  if (!name) name = b->default_fn;
  for (int i = 0; i < b->n_funcs; i++)
    if (!strcmp(b->funcs[i].fn->name, name)) return &b->funcs[i];
  return NULL;
}

static const io_desc *find_io(const mr_bundle *b, const char *function) {
  exec_function *f = find_function(b, function);
  return f ? &b->io[f - b->funcs] : NULL;
}

int mr_bundle_inputs(const mr_bundle *b, const char *function, const mr_io_info **info) {
  const io_desc *d = find_io(b, function);
  if (!d) return MR_ENOTFOUND;
  *info = d->inputs;
  return d->n_inputs;
}

int mr_bundle_outputs(const mr_bundle *b, const char *function, const mr_io_info **info) {
  const io_desc *d = find_io(b, function);
  if (!d) return MR_ENOTFOUND;
  *info = d->outputs;
  return d->n_outputs;
}

int mr_bundle_states(const mr_bundle *b, const char *function, const mr_io_info **info) {
  const io_desc *d = find_io(b, function);
  if (!d) return MR_ENOTFOUND;
  *info = d->states;
  return d->n_states;
}

size_t mr_bundle_weight_bytes(const mr_bundle *b) { return exec_consts_bytes(&b->consts); }

/* ---- states ------------------------------------------------------------------------------- */

int mr_state_new(mr_bundle *b, const char *name, mr_state **out) {
  *out = NULL;
  for (int i = 0; i < b->n_funcs; i++) {
    for (int k = 0; k < b->funcs[i].n_states; k++) {
      const exec_state_slot *s = &b->funcs[i].states[k];
      if (strcmp(s->name, name)) continue;
      mr_state *st = util_calloc(1, sizeof *st);
      if (st) {
        st->name = util_strdup(name);
        st->data = util_calloc((size_t)s->count + 1, sizeof(float));
      }
      if (!st || !st->name || !st->data) {
        mr_state_free(st);
        return util_err_nomem(&b->err, "state");
      }
      st->dtype = s->dtype;
      st->rank = s->rank;
      st->count = s->count;
      memcpy(st->shape, s->shape, sizeof st->shape);
      *out = st;
      return MR_OK;
    }
  }
  return util_err(&b->err, MR_ENOTFOUND, "%s: no function declares a state named '%s'", b->path, name);
}

void mr_state_free(mr_state *s) {
  if (!s) return;
  mr_free(s->name);
  mr_free(s->data);
  mr_free(s);
}

void mr_state_view(mr_state *s, mr_tensor *view) {
  memset(view, 0, sizeof *view);
  view->dtype = MR_FLOAT32;
  view->rank = s->rank;
  memcpy(view->shape, s->shape, sizeof view->shape);
  view->data = s->data;
}

void mr_state_reset(mr_state *s) { memset(s->data, 0, (size_t)s->count * sizeof(float)); }

/* ---- predict ------------------------------------------------------------------------------ */

static int bind_input(mr_bundle *b, exec_function *f, const char *name, const mr_tensor *in) {
  for (int i = 0; i < f->n_inputs; i++) {
    if (strcmp(f->input_info[i].name, name)) continue;
    exec_tensor *t = f->inputs[i];
    const mr_io_info *info = &f->input_info[i];
    int ok = in->rank == t->rank;
    for (int d = 0; ok && d < t->rank; d++) ok = in->shape[d] == t->shape[d];
    int dt_ok = in->dtype == info->dtype || (info->dtype == MR_FLOAT16 && in->dtype == MR_FLOAT32) ||
                (info->dtype == MR_FLOAT32 && in->dtype == MR_FLOAT16);
    if (!ok || !dt_ok || !in->data) {
      char a[128], c[128];
      return util_err(&b->err, MR_ESHAPE, "%s: function '%s': input '%s' must be %s %s, got %s %s", b->path,
                      f->fn->name, name, mr_dtype_name(info->dtype), exec_shape_str(info->rank, info->shape, a, sizeof a),
                      mr_dtype_name(in->dtype), exec_shape_str(in->rank, in->shape, c, sizeof c));
    }
    int64_t n = t->count;
    if (in->dtype == MR_FLOAT16) {
      const uint16_t *s = in->data;
      for (int64_t k = 0; k < n; k++) exec_f32(t)[k] = util_f16_to_f32(s[k]);
    } else if (in->dtype == MR_FLOAT32) {
      const float *s = in->data;
      for (int64_t k = 0; k < n; k++) exec_f32(t)[k] = t->dtype == MIL_FP16 ? util_round_f16(s[k]) : s[k];
    } else {
      memcpy(t->data, in->data, (size_t)n * mr_dtype_size(in->dtype));
    }
    return MR_OK;
  }
  return util_err(&b->err, MR_ENOTFOUND, "%s: function '%s' has no input named '%s'", b->path, f->fn->name, name);
}

static int bind_state(mr_bundle *b, exec_function *f, const char *name, mr_state *s) {
  for (int i = 0; i < f->n_states; i++) {
    exec_state_slot *slot = &f->states[i];
    if (strcmp(slot->name, name)) continue;
    int ok = s && s->rank == slot->rank && s->dtype == slot->dtype;
    for (int d = 0; ok && d < slot->rank; d++) ok = s->shape[d] == slot->shape[d];
    if (!ok)
      return util_err(&b->err, MR_ESHAPE, "%s: function '%s': state '%s' has another type than the one given",
                      b->path, f->fn->name, name);
    slot->data = s->data;
    return MR_OK;
  }
  return util_err(&b->err, MR_ENOTFOUND, "%s: function '%s' has no state named '%s'", b->path, f->fn->name, name);
}

static void export_output(exec_function *f, int i, mr_tensor *out) {
  const exec_tensor *t = f->outputs[i];
  memset(out, 0, sizeof *out);
  out->dtype = f->output_info[i].dtype;
  out->rank = t->rank;
  memcpy(out->shape, t->shape, sizeof out->shape);
  if (out->dtype == MR_FLOAT16) {
    for (int64_t k = 0; k < t->count; k++) f->output_f16[i][k] = util_f32_to_f16(exec_f32(t)[k]);
    out->data = f->output_f16[i];
  } else {
    out->data = t->data;
  }
}

/* A function with flexible inputs is planned for the shapes of this call's inputs (again when they
 * change); constants are shared, so re-planning costs only the walk over the ops. */
static int plan_for_inputs(mr_bundle *b, exec_function *f, int n_inputs, const char *const *names,
                           const mr_tensor *inputs) {
  if (!f->flexible) return MR_OK;
  mr_io_info shapes[64];
  int n = f->n_inputs < 64 ? f->n_inputs : 64, same = f->planned;
  for (int i = 0; i < n; i++) {
    shapes[i] = f->input_info[i];
    for (int k = 0; k < n_inputs; k++) {
      if (strcmp(names[k], shapes[i].name)) continue;
      if (inputs[k].rank != shapes[i].rank) break; /* reported by bind_input */
      for (int d = 0; d < shapes[i].rank; d++)
        if (shapes[i].shape[d] < 0) shapes[i].shape[d] = inputs[k].shape[d];
    }
    for (int d = 0; d < shapes[i].rank; d++) {
      if (shapes[i].shape[d] < 0) shapes[i].shape[d] = 1;
      same = same && f->inputs[i]->shape[d] == shapes[i].shape[d];
    }
  }
  if (same) return MR_OK;
  const mil_function *fn = f->fn;
  const char *filename = f->filename;
  exec_function_free(f);
  int rc = exec_function_plan(f, b->prog, fn, filename, &b->consts, shapes, &b->err);
  if (rc) { /* keep the function described so that later calls can try other shapes */
    mr_error keep = b->err;
    exec_function_plan(f, b->prog, fn, filename, &b->consts, NULL, &b->err);
    b->err = keep;
  }
  return rc;
}

int mr_bundle_predict(mr_bundle *b, const char *function,
                      int n_inputs, const char *const *input_names, const mr_tensor *inputs,
                      int n_states, const char *const *state_names, mr_state *const *states,
                      int n_outputs, mr_tensor *outputs) {
  memset(&b->err, 0, sizeof b->err);
  exec_function *f = find_function(b, function);
  if (!f) return util_err(&b->err, MR_ENOTFOUND, "%s: no function named '%s'", b->path, function ? function : "(default)");
  if (b->described_only) return util_err(&b->err, MR_EINVAL, "%s: the bundle was opened to be described, not run", b->path);
  for (int i = 0; i < f->n_inputs; i++) {
    int given = 0;
    for (int k = 0; k < n_inputs; k++) given |= !strcmp(input_names[k], f->input_info[i].name);
    if (!given)
      return util_err(&b->err, MR_EINVAL, "%s: function '%s': input '%s' is missing", b->path, f->fn->name,
                      f->input_info[i].name);
  }
  int rc = plan_for_inputs(b, f, n_inputs, input_names, inputs);
  if (rc) return rc;
  for (int i = 0; i < f->n_states; i++) f->states[i].data = NULL;
  for (int k = 0; k < n_inputs; k++) {
    rc = bind_input(b, f, input_names[k], &inputs[k]);
    if (rc) return rc;
  }
  for (int k = 0; k < n_states; k++) {
    rc = bind_state(b, f, state_names[k], states[k]);
    if (rc) return rc;
  }
  for (int i = 0; i < f->n_states; i++)
    if (!f->states[i].data)
      return util_err(&b->err, MR_EINVAL, "%s: function '%s': state '%s' is missing (create it with mr_state_new)",
                      b->path, f->fn->name, f->states[i].name);
  rc = exec_function_run(f, &b->err);
  if (rc) return rc;
  for (int i = 0; i < n_outputs && i < f->n_outputs; i++) export_output(f, i, &outputs[i]);
  return MR_OK;
}

const mil_program *exec_bundle_program(const mr_bundle *b) { return b->prog; }
const mil_metadata *exec_bundle_metadata(const mr_bundle *b) { return b->has_md ? &b->md : NULL; }
const char *exec_bundle_path(const mr_bundle *b) { return b->path; }
const struct exec_function *exec_bundle_function(const mr_bundle *b, const char *name) {
  return find_function(b, name);
}
