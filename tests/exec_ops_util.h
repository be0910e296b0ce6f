/* exec_ops_util.h — building one op node by hand for the op tests (tests/test_exec_ops_*.c):
 * tensors with data, params bound by name, declared outputs, then plan + allocate + run as the
 * planner would. Also a seeded random generator and float64 helpers shared by the references. */
#ifndef TEST_EXEC_OPS_UTIL_H
#define TEST_EXEC_OPS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/op.h"
#include "exec/weights.h"
#include "util/fp16.h"
#include "milrun.h"
#include "util/alloc.h"

#define SH(...) ((const int64_t[]){__VA_ARGS__})
#define TN_MAX_OWN 64

typedef struct tnode {
  exec_node n;
  mil_op op;
  mil_var outs[8];
  exec_tensor *items[EXEC_MAX_PARAMS][32];
  exec_tensor *outp[8];
  exec_tensor *own[TN_MAX_OWN];
  int n_own;
  void *blobs[16]; /* other memory freed by tn_free */
  int n_blobs;
  util_arena arena;
  mr_error err;
} tnode;

static inline void tn_init(tnode *t, const char *opname, int n_out) {
  static const char *const out_names[8] = {"y0", "y1", "y2", "y3", "y4", "y5", "y6", "y7"};
  memset(t, 0, sizeof *t);
  t->n.def = exec_op_find(opname);
  t->op.type = opname;
  t->op.line = 7, t->op.col = 3;
  t->op.outputs = t->outs;
  t->op.n_outputs = n_out;
  for (int i = 0; i < n_out; i++) t->outs[i].name = out_names[i];
  t->n.op = &t->op;
  t->n.filename = "m.mil";
  t->n.out = t->outp;
  t->n.n_out = n_out;
  t->n.arena = &t->arena;
}

static inline exec_tensor *tt_new(tnode *t, mil_dtype dt, int rank, const int64_t *shape) {
  exec_tensor *x = util_calloc(1, sizeof *x);
  x->dtype = dt;
  x->storage = exec_storage_for(dt);
  x->is_const = 1;
  exec_tensor_set_shape(x, rank, shape);
  size_t es = exec_storage_size(x->storage);
  if (es) x->data = util_calloc((size_t)(x->count ? x->count : 1), es);
  t->own[t->n_own++] = x;
  return x;
}

static inline exec_tensor *tt_f32(tnode *t, int rank, const int64_t *shape, const float *v) {
  exec_tensor *x = tt_new(t, MIL_FP32, rank, shape);
  if (v) memcpy(x->data, v, (size_t)x->count * 4);
  return x;
}

static inline exec_tensor *tt_i32(tnode *t, int rank, const int64_t *shape, const int32_t *v) {
  exec_tensor *x = tt_new(t, MIL_INT32, rank, shape);
  if (v) memcpy(x->data, v, (size_t)x->count * 4);
  return x;
}

static inline exec_tensor *tt_u8(tnode *t, int rank, const int64_t *shape, const uint8_t *v) {
  exec_tensor *x = tt_new(t, MIL_BOOL, rank, shape);
  if (v) memcpy(x->data, v, (size_t)x->count);
  return x;
}

static inline exec_tensor *tt_str(tnode *t, const char *s) {
  exec_tensor *x = tt_new(t, MIL_STRING, 0, NULL);
  x->str = s;
  return x;
}

static inline exec_tensor *tt_sf(tnode *t, float v) { return tt_f32(t, 0, NULL, &v); }
static inline exec_tensor *tt_si(tnode *t, int32_t v) { return tt_i32(t, 0, NULL, &v); }
static inline exec_tensor *tt_sb(tnode *t, int v) {
  uint8_t b = (uint8_t)(v != 0);
  return tt_u8(t, 0, NULL, &b);
}

/* A packed fp16 copy of float values (rounded), shape given; the values the executor will see are
 * written back into v. */
static inline exec_tensor *tt_packed_f16(tnode *t, int rank, const int64_t *shape, float *v) {
  exec_tensor *x = tt_new(t, MIL_FP16, rank, shape);
  x->storage = EXEC_PACKED;
  exec_packed *p = util_calloc(1, sizeof *p);
  uint8_t *bytes = util_calloc((size_t)x->count * 2 + 1, 1);
  for (int64_t i = 0; i < x->count; i++) {
    uint16_t h = util_f32_to_f16(v[i]);
    bytes[2 * i] = (uint8_t)(h & 255), bytes[2 * i + 1] = (uint8_t)(h >> 8);
    v[i] = util_f16_to_f32(h);
  }
  p->kind = EXEC_PACK_F16;
  p->data = bytes;
  p->n_groups = 1;
  mr_free(x->data);
  x->data = bytes; /* freed with the tensor */
  x->packed = p;
  t->blobs[t->n_blobs++] = p;
  return x;
}

/* A packed 4-bit LUT tensor with one 16-entry palette; v receives the decoded values. */
static inline exec_tensor *tt_packed_lut4(tnode *t, int rank, const int64_t *shape, float *v) {
  exec_tensor *x = tt_new(t, MIL_FP32, rank, shape);
  x->storage = EXEC_PACKED;
  exec_packed *p = util_calloc(1, sizeof *p);
  float *pal = util_calloc(16, sizeof(float));
  uint8_t *bytes = util_calloc((size_t)x->count / 2 + 1, 1);
  for (int i = 0; i < 16; i++) pal[i] = (float)(i - 7) * 0.125f;
  for (int64_t i = 0; i < x->count; i++) {
    unsigned idx = (unsigned)((i * 7 + 3) % 16);
    bytes[i / 2] |= (uint8_t)(idx << (4 * (i % 2)));
    v[i] = pal[idx];
  }
  p->kind = EXEC_PACK_LUT;
  p->data = bytes;
  p->bits = 4;
  p->pal16 = NULL;
  p->palettes = pal;
  p->palette = 16;
  p->vec = 1;
  p->n_groups = 1;
  p->rows_only = 1;
  mr_free(x->data);
  x->data = bytes;
  x->packed = p;
  t->blobs[t->n_blobs++] = p;
  t->blobs[t->n_blobs++] = pal;
  return x;
}

/* Bind tensors to the param `name` (several = a tuple). Returns 0, or -1 if the op lacks it. */
static inline int tn_bind(tnode *t, const char *name, int count, exec_tensor **xs) {
  int i = exec_op_param(t->n.def, name); /* as the planner binds: by name, only params the op takes */
  if (i < 0) {
    fprintf(stderr, "  op %s has no param %s\n", t->n.def->name, name);
    return -1;
  }
  for (int k = 0; k < count; k++) t->items[i][k] = xs[k];
  t->n.in[i] = t->items[i];
  t->n.n_items[i] = count;
  return 0;
}

static inline void tn_in(tnode *t, const char *name, exec_tensor *x) { tn_bind(t, name, 1, &x); }

/* Declare output i (shape entries -1 = '?'). */
static inline exec_tensor *tn_out(tnode *t, int i, mil_dtype dt, int rank, const int64_t *shape) {
  exec_tensor *x = util_calloc(1, sizeof *x);
  x->dtype = dt;
  x->storage = exec_storage_for(dt);
  x->rank = rank;
  for (int d = 0; d < rank; d++) x->shape[d] = shape[d];
  t->outp[i] = x;
  t->own[t->n_own++] = x;
  return x;
}

static inline int tn_plan(tnode *t) {
  memset(&t->err, 0, sizeof t->err);
  return t->n.def->plan(&t->n, &t->err);
}

/* Allocate outputs and scratch as the planner does, then run. */
static inline int tn_exec(tnode *t) {
  for (int i = 0; i < t->n.n_out; i++) {
    exec_tensor *o = t->outp[i];
    size_t es = exec_storage_size(o->storage);
    if (!o->data && es) o->data = util_calloc((size_t)(o->count ? o->count : 1), es);
  }
  size_t sf = t->n.def->scratch_floats ? t->n.def->scratch_floats(&t->n) : 0;
  t->n.scratch = util_calloc(sf ? sf : 1, sizeof(float));
  int rc = t->n.def->run(&t->n, &t->err);
  mr_free(t->n.scratch);
  t->n.scratch = NULL;
  return rc;
}

static inline int tn_run(tnode *t) {
  int rc = tn_plan(t);
  return rc ? rc : tn_exec(t);
}

static inline void tn_free(tnode *t) {
  for (int i = 0; i < t->n_own; i++) {
    mr_free(t->own[i]->data);
    mr_free(t->own[i]);
  }
  for (int i = 0; i < t->n_blobs; i++) mr_free(t->blobs[i]);
  util_arena_free(&t->arena);
  t->n_own = t->n_blobs = 0;
}

/* Deterministic uniform values in [-1, 1). */
static inline float tu_rand(void) {
  static uint64_t s = 0x9e3779b97f4a7c15ull;
  s = s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

static inline void tu_fill(exec_tensor *x) {
  for (int64_t i = 0; i < x->count; i++) {
    if (x->storage == EXEC_F32) exec_f32(x)[i] = tu_rand();
    else if (x->storage == EXEC_I32) exec_i32(x)[i] = (int32_t)(tu_rand() * 10);
    else if (x->storage == EXEC_U8) exec_u8(x)[i] = tu_rand() > 0;
  }
}

/* Element i as double, written independently of the executor's own accessor. */
static inline double tu_get(const exec_tensor *x, int64_t i) {
  return x->storage == EXEC_F32 ? exec_f32(x)[i] : x->storage == EXEC_I32 ? exec_i32(x)[i] : exec_u8(x)[i];
}

/* Row-major coordinates of flat index i. */
static inline void tu_unravel(int64_t i, int rank, const int64_t *shape, int64_t *c) {
  for (int d = rank - 1; d >= 0; d--) {
    c[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
}

/* Flat index of coordinates c (last `rank` of a broadcast shape) into a tensor of that shape,
 * treating size-1 dims as broadcast. */
static inline int64_t tu_bindex(const int64_t *c, int crank, int rank, const int64_t *shape) {
  int64_t idx = 0;
  for (int d = 0; d < rank; d++) {
    int64_t cd = c[crank - rank + d];
    idx = idx * shape[d] + (shape[d] == 1 ? 0 : cd);
  }
  return idx;
}

#endif
