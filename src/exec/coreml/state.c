/* state.c — milrun states on Core ML: one MLState per mr_state, made by the function that Anemll
 * makes it from (the bundle's "prefill" when it declares the state, else the first that does), and
 * usable by every function and bundle of this executor that declares the same state. Core ML keeps
 * the buffer itself and lends it only inside a handler (MLState getMultiArrayForStateNamed:), so
 * mr_state_view hands out a copy that is written back before the state's next prediction. */
#include <string.h>

#include "exec/coreml/marshal.h"
#include "exec/coreml/types.h"
#include "util/alloc.h"
#include "util/error.h"

static const cm_function *maker_of(const cm_bundle *cb, const char *name) {
  const cm_function *first = NULL;
  for (int i = 0; i < cb->n; i++)
    for (int k = 0; k < cb->f[i].d->n_states; k++)
      if (!strcmp(cb->f[i].d->states[k].name, name)) {
        if (!strcmp(cb->f[i].d->fn->name, "prefill")) return &cb->f[i];
        if (!first) first = &cb->f[i];
      }
  return first;
}

int cm_state_new(void *impl, const mr_io_info *info, mr_state **out, mr_error *err) {
  cm_bundle *cb = impl;
  const cm_function *f = maker_of(cb, info->name);
  cm_state *s = util_calloc(1, sizeof *s);
  if (!s || !(s->base.name = util_strdup(info->name))) {
    mr_free(s);
    return util_err_nomem(err, "state");
  }
  s->base.be = &exec_coreml_backend;
  s->base.dtype = info->dtype;
  s->base.rank = info->rank;
  s->base.count = 1;
  for (int d = 0; d < info->rank; d++) s->base.count *= s->base.shape[d] = info->shape[d];
  pthread_mutex_init(&s->lock, NULL);
  id pool = oc_pool_push();
  s->name = oc_retain(oc_string(info->name));
  s->state = f ? oc_msg(f->model, "newState") : nil;
  oc_pool_pop(pool);
  if (!s->state) {
    cm_state_free(&s->base);
    return util_err(err, MR_EINVAL, "%s: Core ML made no state '%s'", cb->m->path, info->name);
  }
  *out = &s->base;
  return MR_OK;
}

void cm_state_free(mr_state *base) {
  cm_state *s = (cm_state *)base;
  oc_release(s->state);
  oc_release(s->name);
  pthread_mutex_destroy(&s->lock);
  mr_free(base->data);
  mr_free(base->name);
  mr_free(s);
}

/* ---- the state's buffer, inside Core ML's handlers ----------------------------------------- */

typedef enum { TO_COPY, FROM_COPY, ZERO } transfer;

typedef struct access_ctx {
  cm_state *s;
  transfer how;
  int ok;
} access_ctx;

static void with_bytes(oc_block *blk, void *bytes, long size, id strides) {
  access_ctx *a = blk->ctx;
  mr_state *b = &a->s->base;
  cm_layout state = {bytes, b->dtype, {0}}, copy = {b->data, b->dtype, {0}};
  cm_dense_strides(b->rank, b->shape, copy.strides);
  a->ok = cm_dims(strides, state.strides) == b->rank && cm_layout_fits(&state, b->rank, b->shape, size);
  if (!a->ok) return;
  if (a->how == ZERO) memset(bytes, 0, (size_t)size);
  else if (a->how == TO_COPY) cm_copy(&copy, &state, b->rank, b->shape);
  else cm_copy(&state, &copy, b->rank, b->shape);
}

static const oc_block_descriptor k_bytes_desc = OC_BLOCK_DESCRIPTOR("v32@?0^v8q16@24");

static void with_array(oc_block *blk, id array) {
  oc_block inner = oc_block_make((void (*)(void))with_bytes, &k_bytes_desc, blk->ctx);
  OC_SEND(void, (id, SEL, void *), array, "getMutableBytesWithHandler:", &inner);
}

static const oc_block_descriptor k_array_desc = OC_BLOCK_DESCRIPTOR("v16@?0@8");

static int transfer_state(cm_state *s, transfer how) {
  access_ctx a = {s, how, 0};
  oc_block blk = oc_block_make((void (*)(void))with_array, &k_array_desc, &a);
  id pool = oc_pool_push();
  OC_SEND(void, (id, SEL, id, void *), s->state, "getMultiArrayForStateNamed:handler:", s->name, &blk);
  oc_pool_pop(pool);
  return a.ok;
}

void cm_state_view(mr_state *base) {
  cm_state *s = (cm_state *)base;
  pthread_mutex_lock(&s->lock);
  cm_state_write_back(s, NULL); /* the last view's writes first */
  if (!base->data) base->data = mr_alloc((size_t)base->count * mr_dtype_size(base->dtype) + 1);
  if (base->data && transfer_state(s, TO_COPY)) s->view_pending = 1;
  pthread_mutex_unlock(&s->lock);
}

void cm_state_reset(mr_state *base) {
  cm_state *s = (cm_state *)base;
  pthread_mutex_lock(&s->lock);
  transfer_state(s, ZERO);
  if (base->data) memset(base->data, 0, (size_t)base->count * mr_dtype_size(base->dtype));
  s->view_pending = 0;
  pthread_mutex_unlock(&s->lock);
}

int cm_state_write_back(cm_state *s, mr_error *err) {
  if (!s->view_pending) return MR_OK;
  s->view_pending = 0;
  return transfer_state(s, FROM_COPY) ? MR_OK
                                      : util_err(err, MR_EFORMAT, "state '%s': Core ML's buffer does not match its shape",
                                                 s->base.name);
}
