/* plan_buffers.c — activation buffers assigned by liveness: a value's buffer returns to the pool
 * after its last use, so a deep network needs a few buffers, not one per value. A reshape's result
 * (exec_node.view_of) is its input's buffer, kept busy until the last use of either. */
#include <string.h>

#include "exec/planner.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/pool.h"

typedef struct pool_buf {
  size_t cap;
  int busy;
} pool_buf;

static int take_buffer(pool_buf **pool, int *n, size_t need) {
  int best = -1;
  for (int i = 0; i < *n; i++) {
    if ((*pool)[i].busy) continue;
    if (best < 0) best = i;
    else {
      size_t cb = (*pool)[best].cap, ci = (*pool)[i].cap;
      /* smallest that fits; else the largest, which grows least */
      if ((ci >= need && (cb < need || ci < cb)) || (cb < need && ci > cb)) best = i;
    }
  }
  if (best < 0) {
    pool_buf *np = mr_realloc(*pool, sizeof *np * (size_t)(*n + 1));
    if (!np) return -1;
    *pool = np;
    best = (*n)++;
    (*pool)[best].cap = 0;
  }
  if ((*pool)[best].cap < need) (*pool)[best].cap = need;
  (*pool)[best].busy = 1;
  return best;
}

/* The value whose buffer the output of step s may share (a view: exec_node.view_of), following
 * views to the value that owns the buffer; -1 when it must have its own. */
static int view_owner(const planner *p, int s, const value_info *out) {
  const exec_step *st = &p->f->steps[s];
  const exec_node *n = &st->node;
  if (st->kind != EXEC_STEP_OP || !n->view_of || n->n_out != 1 || out->alias >= 0) return -1;
  const exec_tensor *x = n->in[n->view_of - 1] ? n->in[n->view_of - 1][0] : NULL;
  int v = x ? value_index(p, x) : -1;
  while (v >= 0 && p->vals[v].view_of >= 0) v = p->vals[v].view_of;
  if (v < 0 || p->vals[v].buf < 0 || x->storage != out->t->storage || x->count != out->t->count) return -1;
  return v;
}

int plan_assign_buffers(planner *p) {
  exec_function *f = p->f;
  pool_buf *pool = NULL;
  int n_pool = 0;
  /* values by producer (a counting sort): vals are appended in program order, but a product
   * grouped into an earlier one's job (plan_gemv.c) is produced by that earlier step. The values
   * step s produces are order[first[s] .. first[s + 1]). */
  int *order = mr_alloc(sizeof *order * (size_t)(p->n_vals + 1)), *first = mr_alloc(sizeof *first * (size_t)(f->n_steps + 2));
  if (!order || !first) {
    mr_free(order), mr_free(first);
    return util_err_nomem(p->err, "activation buffers");
  }
  memset(first, 0, sizeof *first * (size_t)(f->n_steps + 2));
  for (int k = 0; k < p->n_vals; k++)
    if (p->vals[k].producer >= 0) first[p->vals[k].producer + 2]++;
  for (int s = 2; s <= f->n_steps + 1; s++) first[s] += first[s - 1];
  for (int k = 0; k < p->n_vals; k++) /* first[s + 1] runs through step s's places */
    if (p->vals[k].producer >= 0) order[first[p->vals[k].producer + 1]++] = k;
  for (int s = 0; s < f->n_steps; s++) {
    for (int i = first[s]; i < first[s + 1]; i++) {
      value_info *vi = &p->vals[order[i]];
      if (vi->alias >= 0) continue;
      int owner = view_owner(p, s, vi);
      if (owner >= 0) { /* the owner's buffer stays busy as long as the view is used */
        value_info *o = &p->vals[owner];
        vi->view_of = owner;
        o->keep |= vi->keep;
        if (vi->last_use > o->last_use) o->last_use = vi->last_use;
        continue;
      }
      size_t need = (size_t)vi->t->count * exec_storage_size(vi->t->storage);
      vi->buf = take_buffer(&pool, &n_pool, need ? need : 1);
      if (vi->buf < 0) {
        mr_free(pool), mr_free(order), mr_free(first);
        return util_err_nomem(p->err, "activation buffers");
      }
    }
    for (int k = 0; k < p->n_vals; k++) { /* release values whose last use is this step */
      value_info *vi = &p->vals[k];
      if (vi->buf < 0 || vi->keep) continue;
      if (vi->last_use == s || (vi->last_use < 0 && vi->producer == s)) pool[vi->buf].busy = 0;
    }
  }
  mr_free(order), mr_free(first);
  f->buffers = util_arena_alloc(&f->arena, sizeof(void *) * (size_t)(n_pool + 1));
  int rc = f->buffers ? MR_OK : util_err_nomem(p->err, "activation buffers");
  for (int i = 0; !rc && i < n_pool; i++) {
    f->buffers[i] = mr_alloc(pool[i].cap);
    if (!f->buffers[i]) rc = util_err_nomem(p->err, "activation buffers");
    else {
      memset(f->buffers[i], 0, pool[i].cap);
      f->n_buffers = i + 1;
      f->activation_bytes += pool[i].cap;
    }
  }
  mr_free(pool);
  if (rc) return rc;
  rc = exec_function_set_threads(f, util_pool_size(util_pool_default()), p->err);
  if (rc) return rc;
  for (int k = 0; k < p->n_vals; k++)
    if (p->vals[k].buf >= 0) p->vals[k].t->data = f->buffers[p->vals[k].buf];
  for (int k = 0; k < p->n_vals; k++)
    if (p->vals[k].view_of >= 0) p->vals[k].t->data = p->vals[p->vals[k].view_of].t->data;
  return MR_OK;
}
