/* parallel.c — running an op's work on the executor's thread pool (util/pool.h). */
#include <stdatomic.h>

#include "exec/op.h"
#include "util/pool.h"

typedef struct task {
  const exec_node *n;
  exec_task_fn fn;
  void *ctx;
  int nth;
} task;

static void trampoline(void *arg, int ith, int nth_pool) {
  const task *t = arg;
  (void)nth_pool;
  if (ith < t->nth) t->fn(t->n, t->ctx, ith, t->nth);
}

/* Below this many multiply-adds a job runs on one thread: handing a job to the pool's spinning
 * workers costs about a microsecond, what one core does with some 64K multiply-adds. */
static int64_t g_min_work = 1 << 16;

void exec_parallel_min_work(int64_t work) { g_min_work = work; }

/* The most threads one job ran on since the last exec_parallel_most_threads (atomic: bundles may
 * run on several threads at once). */
static atomic_int g_most_threads;

int exec_parallel_most_threads(void) { return atomic_exchange(&g_most_threads, 0); }

void exec_parallel(const exec_node *n, int64_t work, exec_task_fn fn, void *ctx) {
  util_pool *pool = n->nth > 1 && work >= g_min_work ? util_pool_default() : NULL;
  int nth = pool ? util_pool_size(pool) : 1;
  if (nth > n->nth) nth = n->nth;
  if (nth > atomic_load_explicit(&g_most_threads, memory_order_relaxed))
    atomic_store_explicit(&g_most_threads, nth, memory_order_relaxed);
  if (nth <= 1) {
    fn(n, ctx, 0, 1);
    return;
  }
  task t = {n, fn, ctx, nth};
  util_pool_run(pool, trampoline, &t);
}
