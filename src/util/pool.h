/* pool.h — one persistent thread pool (docs/style.md §13). util_pool_run(pool, fn, ctx) runs
 * fn(ctx, ith, nth) on every thread of the pool, the caller being thread 0, and returns when all
 * are done; the work is split by (ith, nth) inside fn. Workers sleep between runs. */
#ifndef UTIL_POOL_H
#define UTIL_POOL_H

typedef struct util_pool util_pool;
typedef void (*util_pool_fn)(void *ctx, int ith, int nth);

/* n_threads >= 1 (1: no extra threads). Returns NULL when out of memory or threads cannot start. */
util_pool *util_pool_new(int n_threads);
void util_pool_free(util_pool *p);
int util_pool_size(const util_pool *p);
void util_pool_run(util_pool *p, util_pool_fn fn, void *ctx);

/* The process-wide pool used by the executor: created on first use with the thread count set by
 * util_pool_set_default (or $MILRUN_THREADS, else the number of online CPUs, at most 64). Never
 * NULL: falls back to a single-threaded pool. Not thread-safe against concurrent first use. */
util_pool *util_pool_default(void);
/* Change the default pool's thread count (0 = automatic); takes effect at once. */
void util_pool_set_default(int n_threads);

#endif
