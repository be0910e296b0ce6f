/* model.c — loading a bundle into a mil_model (see model.h): a .mlmodelc folder (parse model.mil,
 * read metadata.json when present) or a Core ML package (mil/package.c); then check the metadata
 * against the program and describe every function from its declared types. No weight is read
 * here: executors resolve BLOBFILEs against weights_root. */
#include "mil/model.h"

#include <string.h>

#include "mil/package.h"
#include "mil/print.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

#define PROGRAM_FILE "model.mil"
#define METADATA_FILE "metadata.json"

mr_dtype mil_dtype_public(mil_dtype t) {
  switch (t) {
  case MIL_FP16: return MR_FLOAT16;
  case MIL_BOOL: return MR_BOOL;
  default: return mil_dtype_is_float(t) ? MR_FLOAT32 : MR_INT32;
  }
}

static int type_ok(const mil_model *m, const mil_type *ty, const char *name, int line, int col, mr_error *err) {
  if (ty->kind != MIL_TYPE_TENSOR)
    return util_err(err, MR_ENOTSUP, "%s:%d:%d: '%s': only tensor values are supported here", m->program_file, line,
                    col, name);
  if (ty->rank > MR_MAX_RANK)
    return util_err(err, MR_ENOTSUP, "%s:%d:%d: '%s' has rank %d; at most %d is supported", m->program_file, line, col,
                    name, ty->rank, MR_MAX_RANK);
  return MR_OK;
}

static void fill_info(mr_io_info *info, const char *name, const mil_type *ty) {
  info->name = name;
  info->dtype = mil_dtype_public(ty->dtype);
  info->rank = ty->rank;
  for (int i = 0; i < ty->rank; i++) info->shape[i] = ty->dims[i];
}

static int describe_params(mil_model *m, mil_model_function *d, mr_error *err) {
  const mil_function *fn = d->fn;
  d->inputs = util_arena_alloc(&m->arena, sizeof *d->inputs * (size_t)(fn->n_params + 1));
  d->states = util_arena_alloc(&m->arena, sizeof *d->states * (size_t)(fn->n_params + 1));
  if (!d->inputs || !d->states) return util_err_nomem(err, m->program_file);
  for (int i = 0; i < fn->n_params; i++) {
    const mil_var *v = &fn->params[i];
    int is_state = v->type->kind == MIL_TYPE_STATE;
    const mil_type *ty = is_state ? v->type->elem : v->type;
    int rc = type_ok(m, ty, v->name, v->line, v->col, err);
    if (rc) return rc;
    for (int k = 0; is_state && k < ty->rank; k++)
      if (ty->dims[k] < 0)
        return util_err(err, MR_ENOTSUP, "%s:%d:%d: state '%s' must have a fixed shape", m->program_file, v->line,
                        v->col, v->name);
    if (is_state) fill_info(&d->states[d->n_states++], v->name, ty);
    else fill_info(&d->inputs[d->n_inputs++], v->name, ty);
  }
  return MR_OK;
}

static int describe_outputs(mil_model *m, mil_model_function *d, mr_error *err) {
  const mil_block *body = &d->fn->body;
  d->outputs = util_arena_alloc(&m->arena, sizeof *d->outputs * (size_t)(body->n_outputs + 1));
  if (!d->outputs) return util_err_nomem(err, m->program_file);
  for (int i = 0; i < body->n_outputs; i++) {
    const mil_type *ty = mil_function_var_type(d->fn, body->outputs[i]);
    if (!ty)
      return util_err(err, MR_EFORMAT, "%s:%d:%d: undefined variable '%s'", m->program_file, body->line, body->col,
                      body->outputs[i]);
    int rc = type_ok(m, ty, body->outputs[i], body->line, body->col, err);
    if (rc) return rc;
    fill_info(&d->outputs[d->n_outputs++], body->outputs[i], ty);
  }
  return MR_OK;
}

static int has_param(const mil_model_function *d, const char *name) {
  for (int j = 0; j < d->n_inputs; j++)
    if (!strcmp(d->inputs[j].name, name)) return 1;
  for (int j = 0; j < d->n_states; j++)
    if (!strcmp(d->states[j].name, name)) return 1;
  return 0;
}

/* metadata.json is optional, but when it lists functions their inputs must be in model.mil. */
static int check_metadata(const mil_model *m, mr_error *err) {
  for (int i = 0; i < m->n_funcs && m->md.n_funcs > 1; i++) {
    const mil_model_function *d = &m->funcs[i];
    const mil_meta_function *mf = mil_metadata_function(&m->md, d->fn->name);
    for (int k = 0; mf && k < mf->n_inputs; k++)
      if (!has_param(d, mf->inputs[k].name))
        return util_err(err, MR_EFORMAT, "%s: input '%s' of function '%s' is not in the program", m->metadata_file,
                        mf->inputs[k].name, d->fn->name);
  }
  return MR_OK;
}

static int find_default(mil_model *m, mr_error *err) {
  const char *want = m->has_md && m->md.default_function ? m->md.default_function : NULL;
  m->default_fn = 0;
  for (int i = 0; i < m->n_funcs; i++)
    if (!strcmp(m->funcs[i].fn->name, want ? want : "main")) {
      m->default_fn = i;
      return MR_OK;
    }
  if (want)
    return util_err(err, MR_EFORMAT, "%s: default function '%s' is not in the program", m->metadata_file, want);
  return MR_OK;
}

static int read_metadata(mil_model *m, mr_error *err) {
  mr_error merr = {0};
  int rc = mil_metadata_read(m->metadata_file, &m->md, &merr);
  if (rc == MR_OK) m->has_md = 1;
  else if (rc != MR_ENOTFOUND) {
    if (err) *err = merr;
    return rc;
  }
  return MR_OK;
}

int mil_blob_path_resolve(const char *root, const char *ref, char **path) {
  const char *rel = ref;
  *path = NULL;
  if (!strncmp(rel, "@model_path/", 12)) rel += 12;
  if (rel[0] == '/' || strstr(rel, "..") || !rel[0]) return MR_EFORMAT;
  *path = util_path_join(root, rel);
  return *path ? MR_OK : MR_ENOMEM;
}

static int add_weight_file(mil_model *m, const char *ref, mr_error *err) {
  char *path;
  int rc = mil_blob_path_resolve(m->weights_root, ref, &path);
  if (rc == MR_EFORMAT) return MR_OK; /* reported by the executor that reads it, with the op's line */
  if (rc) return util_err_nomem(err, m->path);
  for (int i = 0; i < m->n_weight_files; i++)
    if (!strcmp(m->weight_files[i], path)) {
      mr_free(path);
      return MR_OK;
    }
  char **nf = mr_realloc(m->weight_files, sizeof *nf * (size_t)(m->n_weight_files + 1));
  if (!nf) {
    mr_free(path);
    return util_err_nomem(err, m->path);
  }
  m->weight_files = nf;
  m->weight_files[m->n_weight_files++] = path;
  return MR_OK;
}

static int list_weight_files(mil_model *m, const mil_block *b, mr_error *err) {
  for (int k = 0; k < b->n_ops; k++) {
    const mil_op *op = &b->ops[k];
    for (int a = 0; a < op->n_args; a++)
      for (int i = 0; i < op->args[a].n_items; i++) {
        const mil_value *v = op->args[a].items[i].value;
        int rc = v && v->kind == MIL_VALUE_BLOB ? add_weight_file(m, v->blob_path, err) : MR_OK;
        if (rc) return rc;
      }
    for (int i = 0; i < op->n_blocks; i++) {
      int rc = list_weight_files(m, &op->blocks[i], err);
      if (rc) return rc;
    }
  }
  return MR_OK;
}

/* A .mlmodelc folder: model.mil, metadata.json when present; @model_path is the folder. */
static int load_compiled(mil_model *m, mr_error *err) {
  m->format = MIL_MODEL_COMPILED;
  m->weights_root = util_strdup(m->path);
  m->program_file = util_path_join(m->path, PROGRAM_FILE);
  m->metadata_file = util_path_join(m->path, METADATA_FILE);
  if (!m->weights_root || !m->program_file || !m->metadata_file) return util_err_nomem(err, m->path);
  int rc = mil_parse_file(m->program_file, &m->prog, err);
  return rc ? rc : read_metadata(m, err);
}

/* A package: program and description from its protobuf model file. */
static int load_package(mil_model *m, mr_error *err) {
  m->format = MIL_MODEL_PACKAGE;
  int rc = mil_package_load(m->path, &m->prog, &m->md, &m->program_file, &m->weights_root, err);
  if (rc) return rc;
  m->has_md = 1;
  m->metadata_file = util_strdup(m->program_file);
  return m->metadata_file ? MR_OK : util_err_nomem(err, m->path);
}

static int load_parts(mil_model *m, mr_error *err) {
  int rc = mil_package_is(m->path) ? load_package(m, err) : load_compiled(m, err);
  if (rc) return rc;
  if (!m->prog->n_funcs) return util_err(err, MR_EFORMAT, "%s: the program has no functions", m->program_file);
  m->funcs = util_arena_alloc(&m->arena, sizeof *m->funcs * (size_t)m->prog->n_funcs);
  if (!m->funcs) return util_err_nomem(err, m->path);
  for (int i = 0; i < m->prog->n_funcs; i++) {
    m->funcs[i].fn = &m->prog->funcs[i];
    m->n_funcs = i + 1;
    if ((rc = describe_params(m, &m->funcs[i], err)) || (rc = describe_outputs(m, &m->funcs[i], err)) ||
        (rc = list_weight_files(m, &m->prog->funcs[i].body, err)))
      return rc;
  }
  if ((rc = find_default(m, err))) return rc;
  return m->has_md ? check_metadata(m, err) : MR_OK;
}

int mil_model_load(const char *path, int flags, mil_model **out, mr_error *err) {
  (void)flags;
  *out = NULL;
  if (!util_is_dir(path) && !mil_package_is(path))
    return util_err(err, util_exists(path) ? MR_EINVAL : MR_ENOTFOUND,
                    "%s: not a .mlmodelc directory or a Core ML package", path);
  mil_model *m = util_calloc(1, sizeof *m);
  if (!m) return util_err_nomem(err, path);
  m->path = util_strdup(path);
  int rc = m->path ? load_parts(m, err) : util_err_nomem(err, path);
  if (rc) {
    mil_model_free(m);
    return rc;
  }
  *out = m;
  return MR_OK;
}

void mil_model_free(mil_model *m) {
  if (!m) return;
  if (m->has_md) mil_metadata_free(&m->md);
  for (int i = 0; i < m->n_weight_files; i++) mr_free(m->weight_files[i]);
  mr_free(m->weight_files);
  mil_program_free(m->prog);
  util_arena_free(&m->arena);
  mr_free(m->program_file);
  mr_free(m->metadata_file);
  mr_free(m->weights_root);
  mr_free(m->path);
  mr_free(m);
}

static int write_text(const char *dir, const char *name, const char *text, size_t len, mr_error *err) {
  char *path = util_path_join(dir, name);
  int rc = path ? util_write_file_atomic(path, text, len, err) : util_err_nomem(err, dir);
  mr_free(path);
  return rc;
}

static int write_compiled(const mil_program *p, const mil_metadata *md, const char *weights_root, const char *out,
                          mr_error *err) {
  util_sb text = {0};
  mil_print(p, &text);
  int rc = util_sb_failed(&text) ? util_err_nomem(err, out) : util_mkdirs(out, err);
  if (!rc) rc = write_text(out, PROGRAM_FILE, text.buf, text.len, err);
  util_sb_free(&text);
  if (!rc && md && md->text) rc = write_text(out, METADATA_FILE, md->text, strlen(md->text), err);
  if (!rc && weights_root) rc = mil_weight_files_link(p, weights_root, out, err);
  return rc;
}

int mil_model_write(const mil_program *p, const mil_metadata *md, const char *weights_root, mil_model_format format,
                    const char *out, mr_error *err) {
  if (format == MIL_MODEL_PACKAGE) return mil_package_write(out, p, md, weights_root, err);
  return write_compiled(p, md, weights_root, out, err);
}

const mil_model_function *mil_model_function_find(const mil_model *m, const char *name) {
  if (!name) return &m->funcs[m->default_fn];
  for (int i = 0; i < m->n_funcs; i++)
    if (!strcmp(m->funcs[i].fn->name, name)) return &m->funcs[i];
  return NULL;
}
