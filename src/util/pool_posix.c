/* pool_posix.c — the thread pool over POSIX threads. A decode step runs ~1000 small ops, each
 * split between the threads, so waking a sleeping worker through the kernel for each (tens of
 * microseconds) cost a quarter of the step: workers and the caller spin on atomics for a short
 * while (SPIN_NS) before they sleep on a condition variable, so back-to-back runs never enter the
 * kernel and an idle pool costs nothing. A pool with more threads than CPUs does not spin. (A Windows build would provide the same functions in
 * pool_win32.c.) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "milrun.h"
#include "util/pool.h"

/* How long a thread spins for the next run (worker) or for the workers to finish (caller). */
#define SPIN_NS 200000

typedef struct worker_arg {
  struct util_pool *p;
  int ith;
} worker_arg;

struct util_pool {
  int n;                      /* threads including the caller */
  int64_t spin_ns;            /* SPIN_NS, or 0 when there are more threads than CPUs */
  pthread_t *threads;         /* n - 1 workers */
  worker_arg *args;           /* their arguments, owned by the pool (workers allocate nothing) */
  pthread_mutex_t run_mu;     /* one run at a time (callers on several threads take turns) */
  pthread_mutex_t mu;         /* guards sleeping on wake / done */
  pthread_cond_t wake, done;
  atomic_ulong generation;    /* bumped (under mu) for each run; fn and ctx are set before */
  atomic_int pending;         /* workers still running the current job */
  atomic_int stop;
  util_pool_fn fn;
  void *ctx;
};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Spin until done(p, arg) or p->spin_ns pass; returns whether it became true. */
static int spin_until(util_pool *p, int (*done)(util_pool *, unsigned long), unsigned long arg) {
  int64_t start = 0;
  for (unsigned i = 0;; i++) {
    if (done(p, arg)) return 1;
    if (!p->spin_ns) return 0;
    cpu_relax();
    if ((i & 255) == 255) { /* the clock is read now and then: it costs more than a pause */
      int64_t t = now_ns();
      if (!start) start = t;
      else if (t - start > p->spin_ns) return 0;
    }
  }
}

static int new_run(util_pool *p, unsigned long seen) {
  return atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
         atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static int all_done(util_pool *p, unsigned long unused) {
  (void)unused;
  return atomic_load_explicit(&p->pending, memory_order_acquire) == 0;
}

static void *worker(void *arg) {
  const worker_arg *wa = arg;
  util_pool *p = wa->p;
  int ith = wa->ith;
  unsigned long seen = 0;
  for (;;) {
    if (!spin_until(p, new_run, seen)) {
      pthread_mutex_lock(&p->mu);
      while (!new_run(p, seen)) pthread_cond_wait(&p->wake, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->stop)) return NULL;
    seen = atomic_load_explicit(&p->generation, memory_order_acquire);
    p->fn(p->ctx, ith, p->n);
    if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->mu); /* the caller may be asleep: it checks pending under mu */
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

util_pool *util_pool_new(int n_threads) {
  if (n_threads < 1) n_threads = 1;
  util_pool *p = mr_alloc(sizeof *p);
  if (!p) return NULL;
  p->n = 1;
  atomic_init(&p->generation, 0);
  atomic_init(&p->pending, 0);
  atomic_init(&p->stop, 0);
  /* a spinning thread with no CPU of its own takes the time of one that has work */
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  p->spin_ns = cpus > 0 && n_threads > cpus ? 0 : SPIN_NS;
  p->threads = mr_alloc(sizeof *p->threads * (size_t)n_threads);
  p->args = mr_alloc(sizeof *p->args * (size_t)n_threads);
  if (!p->threads || !p->args || pthread_mutex_init(&p->mu, NULL) || pthread_mutex_init(&p->run_mu, NULL)) {
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
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->n; i++) pthread_join(p->threads[i - 1], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->run_mu);
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
  pthread_mutex_lock(&p->run_mu);
  p->fn = fn;
  p->ctx = ctx;
  atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
  pthread_mutex_lock(&p->mu); /* a worker about to sleep checks the generation under mu */
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  fn(ctx, 0, p->n);
  if (!spin_until(p, all_done, 0)) {
    pthread_mutex_lock(&p->mu);
    while (!all_done(p, 0)) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
  pthread_mutex_unlock(&p->run_mu);
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
