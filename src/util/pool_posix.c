/* pool_posix.c — the thread pool over POSIX threads: a generation counter under one mutex wakes
 * the workers, a pending count tells the caller when the last one is done. (A Windows build would
 * provide the same functions in pool_win32.c.) */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/alloc.h"
#include "milrun.h"
#include "util/pool.h"

typedef struct worker_arg {
  struct util_pool *p;
  int ith;
} worker_arg;

struct util_pool {
  int n;                      /* threads including the caller */
  pthread_t *threads;         /* n - 1 workers */
  worker_arg *args;           /* their arguments, owned by the pool (workers allocate nothing) */
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  unsigned long generation;   /* bumped for each run */
  int pending;                /* workers still running the current job */
  int stop;
  util_pool_fn fn;
  void *ctx;
};

static void *worker(void *arg) {
  const worker_arg *wa = arg;
  util_pool *p = wa->p;
  int ith = wa->ith;
  unsigned long seen = 0;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->stop) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    seen = p->generation;
    util_pool_fn fn = p->fn;
    void *ctx = p->ctx;
    pthread_mutex_unlock(&p->mu);
    fn(ctx, ith, p->n);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->mu);
  }
}

util_pool *util_pool_new(int n_threads) {
  if (n_threads < 1) n_threads = 1;
  util_pool *p = mr_alloc(sizeof *p);
  if (!p) return NULL;
  p->n = 1;
  p->generation = 0;
  p->pending = 0;
  p->stop = 0;
  p->threads = mr_alloc(sizeof *p->threads * (size_t)n_threads);
  p->args = mr_alloc(sizeof *p->args * (size_t)n_threads);
  if (!p->threads || !p->args || pthread_mutex_init(&p->mu, NULL)) {
    mr_free(p->threads);
    mr_free(p->args);
    mr_free(p);
    return NULL;
  }
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  for (int i = 1; i < n_threads; i++) {
    p->args[i] = (worker_arg){p, i};
    if (pthread_create(&p->threads[i - 1], NULL, worker, &p->args[i])) break;
    p->n = i + 1;
  }
  return p;
}

void util_pool_free(util_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->n; i++) pthread_join(p->threads[i - 1], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  mr_free(p->threads);
  mr_free(p->args);
  mr_free(p);
}

int util_pool_size(const util_pool *p) { return p->n; }

void util_pool_run(util_pool *p, util_pool_fn fn, void *ctx) {
  if (p->n == 1) {
    fn(ctx, 0, 1);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->pending = p->n - 1;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  fn(ctx, 0, p->n);
  pthread_mutex_lock(&p->mu);
  while (p->pending) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

static util_pool *g_pool;
static int g_threads; /* 0 = automatic */

static void free_default(void) { util_pool_free(g_pool); }

util_pool *util_pool_default(void) {
  if (g_pool) return g_pool;
  int n = g_threads;
  if (n <= 0) {
    const char *env = getenv("MILRUN_THREADS");
    n = env ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  }
  if (n < 1) n = 1;
  if (n > 64) n = 64;
  g_pool = util_pool_new(n);
  if (!g_pool) g_pool = util_pool_new(1);
  static int registered;
  if (g_pool && !registered) registered = !atexit(free_default);
  return g_pool;
}

void util_pool_set_default(int n_threads) {
  util_pool_free(g_pool);
  g_pool = NULL;
  g_threads = n_threads;
}

void mr_set_threads(int n) { util_pool_set_default(n); }
